/* fuzz_net_dns.c - libFuzzer harness: the egress resolver's DNS query
 * parser and reply builder (src/net/dns.c, dns_reply.c), on bytes a
 * sandbox sends to its DNS port.  The input is one UDP datagram; it is
 * also read as a TCP stream of length-prefixed messages.  Besides "no
 * crash, no sanitizer report": a parsed name is canonical, and every
 * reply fits its limit and echoes the id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct net_addr addrs[] = {
	{ AF_INET, { 1, 2, 3, 4 } },
	{ AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
	{ AF_INET, { 5, 6, 7, 8 } },
	{ AF_INET6, { [10] = 0xff, [11] = 0xff, 9, 9, 9, 9 } },
};

static void reply(const struct dns_query *q, unsigned rcode, bool tcp)
{
	static uint8_t out[DNS_TCP_LIMIT];
	size_t limit = dns_reply_limit(q, tcp), n = 0;
	struct aj_err e = { 0 };
	if (limit < DNS_UDP_LIMIT || limit > DNS_TCP_LIMIT)
		abort();
	/* up to 40 answers: enough to truncate at 512 */
	struct net_addr many[40];
	for (size_t i = 0; i < 40; i++)
		many[i] = addrs[i % 4];
	if (dns_build_reply(q, rcode, many, 40, 60, limit, out, sizeof(out), &n,
			    &e) < 0) {
		if (!e.msg[0])
			abort();
		return;
	}
	if (n < DNS_HEADER_LEN || n > limit ||
	    out[0] != (q->id >> 8) || out[1] != (q->id & 0xff) || !(out[2] & 0x80))
		abort();
}

static void one(const uint8_t *msg, size_t len)
{
	struct dns_query q;
	struct aj_err e = { 0 };
	enum dns_parse r = dns_parse_query(msg, len, &q, &e);
	if (r == DNS_PARSE_DROP)
		return;
	if (r == DNS_PARSE_OK) {
		char again[NET_NAME_MAX + 1];
		if (net_name_normalize(q.name, strlen(q.name), again, &e) < 0 ||
		    strcmp(again, q.name) != 0 || !q.has_question)
			abort();
		reply(&q, DNS_NOERROR, false);
		reply(&q, DNS_NOERROR, true);
		reply(&q, DNS_NXDOMAIN, false);
		return;
	}
	if (!e.msg[0] || q.rcode == DNS_NOERROR)
		abort();
	reply(&q, q.rcode, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size);
	const uint8_t *msg;
	size_t len, used;
	while (dns_tcp_frame(data, size, &msg, &len, &used) == 1) {
		if (used > size || len + 2 != used)
			abort();
		one(msg, len);
		data += used;
		size -= used;
	}
	return 0;
}
