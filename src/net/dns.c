/* dns.c - parse a DNS query (see dns.h).  Every read is bounds-checked
 * against the message length through the cursor below. */
#include "net/dns.h"

#include <string.h>

struct cur {
	const uint8_t *p;
	size_t len, off;
};

static bool get16(struct cur *c, uint16_t *v)
{
	if (c->len - c->off < 2)
		return false;
	*v = (uint16_t)(c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return true;
}

static bool skip(struct cur *c, size_t n)
{
	if (c->len - c->off < n)
		return false;
	c->off += n;
	return true;
}

/* Set the answer for a query we will not serve and say why. */
static enum dns_parse refuse(struct dns_query *q, unsigned rcode,
			     struct aj_err *e, const char *why)
{
	q->rcode = (uint8_t)rcode;
	aj_err_set(e, AJ_EINVAL, 0, "%s", why);
	return DNS_PARSE_ERROR;
}

/* The question name: uncompressed labels up to the root, written as
 * dotted text to txt (labels only, no bytes checked yet).  Returns NULL
 * or why it is malformed. */
static const char *read_qname(struct cur *c, char *txt, size_t *tlen,
			      bool *dot_in_label)
{
	size_t start = c->off, t = 0;
	*dot_in_label = false;
	for (;;) {
		if (c->off >= c->len)
			return "question name runs past the end";
		uint8_t n = c->p[c->off++];
		if (n == 0)
			break;
		if (n & 0xc0)
			return (n & 0xc0) == 0xc0 ? "compression pointer in the question"
						  : "unknown label type";
		if (c->off - start + n >= DNS_NAME_WIRE_MAX)
			return "question name longer than 255 bytes";
		if (c->len - c->off < n)
			return "question name runs past the end";
		if (t)
			txt[t++] = '.';
		memcpy(txt + t, c->p + c->off, n);
		*dot_in_label |= memchr(c->p + c->off, '.', n) != NULL;
		t += n;
		c->off += n;
	}
	*tlen = t;
	return NULL;
}

/* Skip a name in another record: labels up to the root or a pointer
 * (which ends a name; never followed, so never looped). */
static bool skip_name(struct cur *c, bool *root)
{
	size_t start = c->off;
	for (;;) {
		if (c->off >= c->len)
			return false;
		uint8_t n = c->p[c->off];
		if (n == 0) {
			*root = c->off == start;
			return skip(c, 1);
		}
		if ((n & 0xc0) == 0xc0) {
			*root = false;
			return skip(c, 2);
		}
		if ((n & 0xc0) || !skip(c, 1u + n) || c->off - start > DNS_NAME_WIRE_MAX)
			return false;
	}
}

static enum dns_parse parse_question(struct cur *c, struct dns_query *q,
				     struct aj_err *e)
{
	char txt[DNS_NAME_WIRE_MAX + 1];
	size_t tlen = 0, start = c->off;
	bool dot;
	const char *bad = read_qname(c, txt, &tlen, &dot);
	if (bad)
		return refuse(q, DNS_FORMERR, e, bad);
	if (!get16(c, &q->qtype) || !get16(c, &q->qclass))
		return refuse(q, DNS_FORMERR, e, "question type or class cut short");
	q->qwire_len = c->off - start;
	memcpy(q->qwire, c->p + start, q->qwire_len);
	q->has_question = true;
	if (q->qclass != DNS_C_IN)
		return refuse(q, DNS_REFUSED, e, "question class is not IN");
	if (dot)
		return refuse(q, DNS_REFUSED, e, "name: '.' inside a label");
	struct aj_err ne = { 0 };
	if (net_name_normalize(txt, tlen, q->name, &ne) < 0) {
		aj_err_set(e, AJ_EINVAL, 0, "name: %s", ne.msg);
		q->rcode = DNS_REFUSED;
		return DNS_PARSE_ERROR;
	}
	return DNS_PARSE_OK;
}

/* One additional record; an OPT one fills q's EDNS fields. */
static const char *parse_additional(struct cur *c, struct dns_query *q)
{
	bool root;
	uint16_t type, class, ttl_hi, ttl_lo, rdlen;
	if (!skip_name(c, &root) || !get16(c, &type) || !get16(c, &class) ||
	    !get16(c, &ttl_hi) || !get16(c, &ttl_lo) || !get16(c, &rdlen) ||
	    !skip(c, rdlen))
		return "additional record cut short";
	if (type != DNS_T_OPT)
		return NULL;
	if (q->edns)
		return "more than one OPT record";
	if (!root)
		return "OPT record not owned by the root";
	q->edns = true;
	q->edns_size = class;
	q->edns_version = (uint8_t)(ttl_hi & 0xff);
	return NULL;
}

enum dns_parse dns_parse_query(const uint8_t *msg, size_t len,
			       struct dns_query *q, struct aj_err *e)
{
	memset(q, 0, sizeof(*q));
	struct cur c = { msg, len, 0 };
	uint16_t flags, qd, an, ns, ar;
	if (!get16(&c, &q->id) || !get16(&c, &flags) || !get16(&c, &qd) ||
	    !get16(&c, &an) || !get16(&c, &ns) || !get16(&c, &ar)) {
		aj_err_set(e, AJ_EINVAL, 0, "shorter than a DNS header");
		return DNS_PARSE_DROP;
	}
	if (flags & 0x8000) {
		aj_err_set(e, AJ_EINVAL, 0, "a response, not a query");
		return DNS_PARSE_DROP;
	}
	q->opcode = (flags >> 11) & 0xf;
	q->rd = flags & 0x0100;
	q->cd = flags & 0x0010;
	if (q->opcode != 0)
		return refuse(q, DNS_NOTIMP, e, "opcode is not QUERY");
	if (qd != 1 || an != 0 || ns != 0)
		return refuse(q, DNS_FORMERR, e,
			      "not one question without answers");
	enum dns_parse r = parse_question(&c, q, e);
	if (r != DNS_PARSE_OK && q->rcode == DNS_FORMERR)
		return r;
	for (unsigned i = 0; i < ar; i++) {
		const char *bad = parse_additional(&c, q);
		if (bad) {
			q->edns = false; /* no OPT in a FORMERR */
			return refuse(q, DNS_FORMERR, e, bad);
		}
	}
	if (c.off != len)
		return refuse(q, DNS_FORMERR, e, "bytes after the last record");
	if (q->edns && q->edns_version != 0)
		return refuse(q, DNS_BADVERS, e, "EDNS version above 0");
	return r;
}

int dns_tcp_frame(const uint8_t *buf, size_t len, const uint8_t **msg,
		  size_t *msglen, size_t *used)
{
	if (len < 2)
		return 0;
	size_t n = (size_t)buf[0] << 8 | buf[1];
	if (n < DNS_HEADER_LEN)
		return -1;
	if (len - 2 < n)
		return 0;
	*msg = buf + 2;
	*msglen = n;
	*used = n + 2;
	return 1;
}

void dns_tcp_prefix(uint8_t out[2], size_t msglen)
{
	out[0] = (uint8_t)(msglen >> 8);
	out[1] = (uint8_t)msglen;
}
