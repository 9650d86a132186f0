/* dns_reply.c - build the reply to a parsed DNS query (see dns.h).
 *
 * Layout: header, the question echoed as received, the answers (each
 * owned by a pointer to the question's name at offset 12), then the OPT
 * record if the query had one.  Answers that do not fit the limit are
 * left out and TC is set. */
#include <string.h>

#include "net/dns.h"

#define OPT_LEN 11
#define NAME_PTR 0xc00c /* the question name, right after the header */

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

size_t dns_reply_limit(const struct dns_query *q, bool tcp)
{
	if (tcp)
		return DNS_TCP_LIMIT;
	if (!q->edns || q->edns_size <= DNS_UDP_LIMIT)
		return DNS_UDP_LIMIT;
	return q->edns_size < DNS_EDNS_LIMIT ? q->edns_size : DNS_EDNS_LIMIT;
}

/* Does (canonical) a answer qtype? */
static bool wanted(uint16_t qtype, const struct net_addr *a)
{
	if (qtype == DNS_T_ANY)
		return true;
	return qtype == (a->family == AF_INET ? DNS_T_A : DNS_T_AAAA);
}

static size_t put_answer(uint8_t *p, const struct net_addr *a, uint32_t ttl)
{
	size_t alen = a->family == AF_INET ? 4 : 16;
	put16(p, NAME_PTR);
	put16(p + 2, alen == 4 ? DNS_T_A : DNS_T_AAAA);
	put16(p + 4, DNS_C_IN);
	put32(p + 6, ttl);
	put16(p + 10, (unsigned)alen);
	memcpy(p + 12, a->b, alen);
	return 12 + alen;
}

static void put_opt(uint8_t *p, unsigned rcode)
{
	p[0] = 0;                      /* root */
	put16(p + 1, DNS_T_OPT);
	put16(p + 3, DNS_EDNS_LIMIT);  /* our UDP payload size */
	p[5] = (uint8_t)(rcode >> 4);  /* extended rcode, version 0, no DO */
	p[6] = 0;
	put16(p + 7, 0);
	put16(p + 9, 0);               /* no options */
}

/* Answers from addrs into out[off..limit); returns the new offset and
 * counts them in *count; *truncated if one did not fit. */
static size_t put_answers(const struct dns_query *q, const struct net_addr *addrs,
			  size_t n, uint32_t ttl, uint8_t *out, size_t off,
			  size_t limit, unsigned *count, bool *truncated)
{
	for (size_t i = 0; i < n && *count < 0xffff; i++) {
		struct net_addr a;
		net_addr_canon(&addrs[i], &a);
		if (!wanted(q->qtype, &a))
			continue;
		if (off + 12 + (a.family == AF_INET ? 4 : 16) > limit) {
			*truncated = true;
			break;
		}
		off += put_answer(out + off, &a, ttl);
		(*count)++;
	}
	return off;
}

int dns_build_reply(const struct dns_query *q, unsigned rcode,
		    const struct net_addr *addrs, size_t n, uint32_t ttl,
		    size_t limit, uint8_t *out, size_t cap, size_t *outlen,
		    struct aj_err *e)
{
	bool edns = q->edns;
	if (rcode > 0xf && !edns)
		rcode = DNS_SERVFAIL; /* an extended rcode needs OPT */
	size_t qlen = q->has_question ? q->qwire_len : 0;
	size_t opt = edns ? OPT_LEN : 0;
	if (limit > cap)
		limit = cap;
	if (DNS_HEADER_LEN + qlen + opt > limit)
		return aj_err_set(e, AJ_ETOOBIG, 0, "no room for a DNS reply");
	size_t off = DNS_HEADER_LEN;
	memcpy(out + off, q->qwire, qlen);
	off += qlen;
	unsigned count = 0;
	bool tc = false;
	if (rcode == DNS_NOERROR && q->has_question)
		off = put_answers(q, addrs, n, ttl, out, off, limit - opt, &count, &tc);
	if (edns)
		put_opt(out + off, rcode);
	off += opt;
	unsigned flags = 0x8000 | (unsigned)q->opcode << 11 | 0x0080 /* RA */ |
			 (q->rd ? 0x0100 : 0) | (q->cd ? 0x0010 : 0) |
			 (tc ? 0x0200 : 0) | (rcode & 0xf);
	put16(out, q->id);
	put16(out + 2, flags);
	put16(out + 4, q->has_question ? 1 : 0);
	put16(out + 6, count);
	put16(out + 8, 0);
	put16(out + 10, edns ? 1 : 0);
	*outlen = off;
	return 0;
}
