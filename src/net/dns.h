/* dns.h - the sandbox-facing side of the egress resolver: parse one DNS
 * query (RFC 1035, EDNS0 of RFC 6891) and build the reply.
 *
 * Queries are held to what stub resolvers send: opcode QUERY, exactly one
 * question, no answer or authority records, nothing after the additional
 * records.  The question's name may not use compression (a query has
 * nothing before it to point at); names in additional records are skipped
 * without following pointers, so no loop is possible.  A name is at most
 * 255 bytes in wire form, a label 63.  The question is echoed byte for
 * byte (case preserved, as DNS-0x20 resolvers check), and its canonical
 * text (net/name.h) is what the policy sees.
 *
 * Replies: NOERROR with A and/or AAAA records (one TTL), NOERROR without
 * data (the name exists but has no address of the asked type), NXDOMAIN,
 * REFUSED, SERVFAIL, FORMERR, NOTIMP, and BADVERS for EDNS versions above
 * 0.  No SOA is added to negative answers (stub resolvers then do not
 * cache them).  Over UDP a reply is at most 512 bytes, or the EDNS size
 * the query offered (clamped to 512..1232); what does not fit is left out
 * and TC set, so the client retries over TCP (65535 bytes). */
#ifndef AJ_NET_DNS_H
#define AJ_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"
#include "net/name.h"
#include "util/err.h"

#define DNS_HEADER_LEN 12
#define DNS_NAME_WIRE_MAX 255
#define DNS_UDP_LIMIT 512
#define DNS_EDNS_LIMIT 1232 /* the EDNS payload size we offer and honour */
#define DNS_TCP_LIMIT 65535

enum { DNS_T_A = 1, DNS_T_AAAA = 28, DNS_T_OPT = 41, DNS_T_ANY = 255 };
enum { DNS_C_IN = 1 };
enum {
	DNS_NOERROR = 0,
	DNS_FORMERR = 1,
	DNS_SERVFAIL = 2,
	DNS_NXDOMAIN = 3,
	DNS_NOTIMP = 4,
	DNS_REFUSED = 5,
	DNS_BADVERS = 16, /* EDNS extended rcode */
};

struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd, cd;            /* recursion desired, checking disabled */
	bool has_question;      /* qwire, qtype, qclass are valid */
	uint16_t qtype, qclass;
	uint8_t qwire[DNS_NAME_WIRE_MAX + 4]; /* the question as received */
	size_t qwire_len;
	char name[NET_NAME_MAX + 1]; /* canonical; "" if not a host name */
	bool edns;
	uint16_t edns_size;     /* the client's UDP payload size */
	uint8_t edns_version;
	uint8_t rcode;          /* with DNS_PARSE_ERROR: what to answer */
};

enum dns_parse {
	DNS_PARSE_OK,    /* q->name, qtype: decide and answer */
	DNS_PARSE_ERROR, /* answer dns_build_reply(q, q->rcode, ...) */
	DNS_PARSE_DROP,  /* not a query (too short, or a response): ignore */
};

/* Parse msg[0..len).  e (may be NULL) says why for ERROR and DROP. */
enum dns_parse dns_parse_query(const uint8_t *msg, size_t len,
			       struct dns_query *q, struct aj_err *e);

/* The most bytes a reply to q may have: DNS_TCP_LIMIT over TCP, else 512
 * or the query's EDNS size clamped to 512..DNS_EDNS_LIMIT. */
size_t dns_reply_limit(const struct dns_query *q, bool tcp);

/* Build the reply to q in out[0..cap), at most `limit` bytes, length in
 * *outlen.  With DNS_NOERROR, the addresses of addrs[0..n) that match
 * the question (IPv4 for A, IPv6 for AAAA, both for ANY; canonical forms,
 * so ::ffff:a.b.c.d counts as IPv4) become answers with `ttl`; none
 * matching is NOERROR without data.  Other rcodes carry no answers.
 * -1 only if cap or limit cannot hold even the header and question. */
int dns_build_reply(const struct dns_query *q, unsigned rcode,
		    const struct net_addr *addrs, size_t n, uint32_t ttl,
		    size_t limit, uint8_t *out, size_t cap, size_t *outlen,
		    struct aj_err *e);

/* DNS over TCP frames each message with a 2-byte big-endian length.
 * Returns 1 with *msg, *msglen and *used (bytes including the prefix)
 * when buf holds a whole message, 0 if it needs more bytes, -1 if the
 * frame is impossible (shorter than a DNS header). */
int dns_tcp_frame(const uint8_t *buf, size_t len, const uint8_t **msg,
		  size_t *msglen, size_t *used);
void dns_tcp_prefix(uint8_t out[2], size_t msglen);

#endif
