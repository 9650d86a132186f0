/* Unit tests for the DNS query parser and reply builder (src/net/dns.h):
 * real stub-resolver queries, every truncation, hostile names and
 * records, replies checked byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "net/dns.h"

/* glibc getaddrinfo("pypi.org"), captured on a local UDP socket */
static const uint8_t gai_pypi[] = {
	0x53, 0x73, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 'p', 'y', 'p', 'i', 0x03, 'o', 'r', 'g', 0x00, 0x00, 0x01, 0x00, 0x01,
};
/* glibc with "options edns0", Files.PythonHosted.org */
static const uint8_t gai_edns[] = {
	0x20, 0x73, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x05, 'F', 'i', 'l', 'e', 's', 0x0c, 'P', 'y', 't', 'h', 'o', 'n', 'H',
	'o', 's', 't', 'e', 'd', 0x03, 'o', 'r', 'g', 0x00, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x04, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* A query from parts: header counts, then raw body bytes. */
static size_t mkq(uint8_t *out, unsigned flags, unsigned qd, unsigned an,
		  unsigned ns, unsigned ar, const void *body, size_t blen)
{
	uint8_t h[12] = { 0xab, 0xcd, (uint8_t)(flags >> 8), (uint8_t)flags,
			  0, (uint8_t)qd, 0, (uint8_t)an, 0, (uint8_t)ns, 0, (uint8_t)ar };
	memcpy(out, h, 12);
	memcpy(out + 12, body, blen);
	return 12 + blen;
}

static enum dns_parse parse(const void *m, size_t n, struct dns_query *q)
{
	struct aj_err e = { 0 };
	enum dns_parse r = dns_parse_query(m, n, q, &e);
	if (r != DNS_PARSE_OK)
		assert_true(e.msg[0] != '\0');
	return r;
}

static void real_queries(void **state)
{
	(void)state;
	struct dns_query q;
	assert_int_equal(parse(gai_pypi, sizeof(gai_pypi), &q), DNS_PARSE_OK);
	assert_int_equal(q.id, 0x5373);
	assert_true(q.rd);
	assert_false(q.edns);
	assert_string_equal(q.name, "pypi.org");
	assert_int_equal(q.qtype, DNS_T_A);
	assert_int_equal(q.qwire_len, sizeof(gai_pypi) - 12);

	assert_int_equal(parse(gai_edns, sizeof(gai_edns), &q), DNS_PARSE_OK);
	assert_string_equal(q.name, "files.pythonhosted.org");
	assert_memory_equal(q.qwire, gai_edns + 12, q.qwire_len); /* case kept */
	assert_true(q.edns);
	assert_int_equal(q.edns_size, 1200);
	assert_int_equal(dns_reply_limit(&q, false), 1200);
	assert_int_equal(dns_reply_limit(&q, true), 65535);
}

static void truncations(void **state)
{
	(void)state;
	struct dns_query q;
	for (size_t n = 0; n < sizeof(gai_edns); n++) {
		enum dns_parse r = parse(gai_edns, n, &q);
		assert_int_equal(r, n < 12 ? DNS_PARSE_DROP : DNS_PARSE_ERROR);
		if (r == DNS_PARSE_ERROR)
			assert_int_equal(q.rcode, DNS_FORMERR);
	}
	uint8_t m[sizeof(gai_edns) + 1];
	memcpy(m, gai_edns, sizeof(gai_edns));
	m[sizeof(gai_edns)] = 0;
	assert_int_equal(parse(m, sizeof(m), &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_FORMERR);
}

static void headers(void **state)
{
	(void)state;
	struct dns_query q;
	uint8_t m[600];
	const uint8_t body[] = { 1, 'x', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1 };
	size_t n = mkq(m, 0x8100, 1, 0, 0, 0, body, sizeof(body));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_DROP); /* a response */
	n = mkq(m, 0x2800, 1, 0, 0, 0, body, sizeof(body)); /* UPDATE */
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_NOTIMP);
	assert_int_equal(q.opcode, 5);
	unsigned counts[][3] = { { 0, 0, 0 }, { 2, 0, 0 }, { 1, 1, 0 }, { 1, 0, 1 } };
	for (int i = 0; i < 4; i++) {
		n = mkq(m, 0x0100, counts[i][0], counts[i][1], counts[i][2], 0, body,
			sizeof(body));
		assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
		assert_int_equal(q.rcode, DNS_FORMERR);
	}
	n = mkq(m, 0x0010, 1, 0, 0, 0, body, sizeof(body)); /* CD, no RD */
	assert_int_equal(parse(m, n, &q), DNS_PARSE_OK);
	assert_true(q.cd);
	assert_false(q.rd);
}

static void names(void **state)
{
	(void)state;
	struct dns_query q;
	uint8_t m[600], b[600];
	/* compression pointer in the question, incl. to itself */
	const uint8_t ptr[] = { 0xc0, 0x0c, 0, 1, 0, 1 };
	size_t n = mkq(m, 0x0100, 1, 0, 0, 0, ptr, sizeof(ptr));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_FORMERR);
	assert_false(q.has_question);
	const uint8_t ptr2[] = { 1, 'a', 0xc0, 0x0c, 0, 1, 0, 1 };
	n = mkq(m, 0x0100, 1, 0, 0, 0, ptr2, sizeof(ptr2));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	const uint8_t ext[] = { 0x41, 'a', 0, 0, 1, 0, 1 }; /* label type 01 */
	n = mkq(m, 0x0100, 1, 0, 0, 0, ext, sizeof(ext));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_FORMERR);

	/* 255 bytes of wire name is the most: 3 x 63 + 61 */
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		size_t l = i < 3 ? 63 : 61;
		b[o++] = (uint8_t)l;
		memset(b + o, 'a' + i, l);
		o += l;
	}
	b[o++] = 0;
	assert_int_equal(o, 255);
	memcpy(b + o, "\0\1\0\1", 4);
	n = mkq(m, 0x0100, 1, 0, 0, 0, b, o + 4);
	assert_int_equal(parse(m, n, &q), DNS_PARSE_OK);
	assert_int_equal(strlen(q.name), 253);
	/* 256: one more byte in the last label */
	b[192] = 62;
	memset(b + 193, 'd', 62);
	b[255] = 0;
	memcpy(b + 256, "\0\1\0\1", 4);
	n = mkq(m, 0x0100, 1, 0, 0, 0, b, 260);
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_FORMERR);
	/* a 64-byte label */
	b[0] = 64;
	memset(b + 1, 'a', 64);
	memcpy(b + 65, "\0\0\1\0\1", 5);
	n = mkq(m, 0x0100, 1, 0, 0, 0, b, 70);
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);

	/* well-formed DNS, but not host names: REFUSED, question echoed */
	const char *bad[] = { "\x08" "evil.com" "\x03" "net", "\x03" "a b" "\x03" "com",
			      "\x03" "127\x01" "0\x01" "0\x01" "1", "\x05" "a\0com",
			      "\x02" "\xc3\xbc" "\x02" "de", "" };
	size_t badlen[] = { 13, 8, 10, 6, 6, 0 };
	for (int i = 0; i < 6; i++) {
		memcpy(b, bad[i], badlen[i]);
		memcpy(b + badlen[i], "\0\0\1\0\1", 5);
		n = mkq(m, 0x0100, 1, 0, 0, 0, b, badlen[i] + 5);
		assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
		assert_int_equal(q.rcode, DNS_REFUSED);
		assert_true(q.has_question);
		assert_string_equal(q.name, "");
	}
	const uint8_t chaos[] = { 7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 4, 'b', 'i',
				  'n', 'd', 0, 0, 16, 0, 3 };
	n = mkq(m, 0x0100, 1, 0, 0, 0, chaos, sizeof(chaos));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_REFUSED);
}

static void additional(void **state)
{
	(void)state;
	struct dns_query q;
	uint8_t m[600];
	/* an EDNS cookie option, then a record whose name is a pointer to
	 * itself: skipped, never followed */
	const uint8_t body[] = {
		1, 'x', 3, 'c', 'o', 'm', 0, 0, 28, 0, 1,
		0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
		0xc0, 46, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0,
	};
	size_t n = mkq(m, 0x0100, 1, 0, 0, 2, body, sizeof(body));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_OK);
	assert_true(q.edns);
	assert_int_equal(q.edns_size, 4096);
	assert_int_equal(q.qtype, DNS_T_AAAA);
	assert_int_equal(dns_reply_limit(&q, false), DNS_EDNS_LIMIT);

	/* OPT owned by a pointer, two OPTs, a record running past the end */
	const uint8_t optptr[] = { 1, 'x', 0, 0, 1, 0, 1, 0xc0, 12, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0 };
	n = mkq(m, 0x0100, 1, 0, 0, 1, optptr, sizeof(optptr));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_FORMERR);
	assert_false(q.edns);
	const uint8_t two[] = { 1, 'x', 0, 0, 1, 0, 1, 0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0,
				0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0 };
	n = mkq(m, 0x0100, 1, 0, 0, 2, two, sizeof(two));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_FORMERR);
	const uint8_t past[] = { 1, 'x', 0, 0, 1, 0, 1, 0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 9, 1 };
	n = mkq(m, 0x0100, 1, 0, 0, 1, past, sizeof(past));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	/* arcount says more records than there are */
	n = mkq(m, 0x0100, 1, 0, 0, 3, two, sizeof(two));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	/* a small EDNS size is 512 */
	const uint8_t small[] = { 1, 'x', 0, 0, 1, 0, 1, 0, 0, 41, 0, 100, 0, 0, 0, 0, 0, 0 };
	n = mkq(m, 0x0100, 1, 0, 0, 1, small, sizeof(small));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_OK);
	assert_int_equal(dns_reply_limit(&q, false), 512);
	/* EDNS version 1: BADVERS */
	const uint8_t v1[] = { 1, 'x', 0, 0, 1, 0, 1, 0, 0, 41, 2, 0, 0, 1, 0, 0, 0, 0 };
	n = mkq(m, 0x0100, 1, 0, 0, 1, v1, sizeof(v1));
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(q.rcode, DNS_BADVERS);
	uint8_t out[512];
	size_t olen;
	struct aj_err e;
	assert_int_equal(dns_build_reply(&q, q.rcode, NULL, 0, 0, 512, out, sizeof(out),
					 &olen, &e), 0);
	assert_int_equal(out[3] & 0xf, 0);           /* low rcode bits */
	assert_int_equal(out[olen - 6], 1);          /* extended rcode 16 >> 4 */
	assert_int_equal(out[11], 1);                /* OPT present */
}

static struct net_addr addr(const char *s)
{
	struct net_addr a;
	assert_int_equal(net_addr_parse(s, strlen(s), &a), 0);
	return a;
}

static unsigned u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void replies(void **state)
{
	(void)state;
	struct dns_query q;
	uint8_t out[2048];
	size_t n;
	struct aj_err e;
	struct net_addr a[] = { addr("1.2.3.4"), addr("2001:db8::1"), addr("5.6.7.8"),
				addr("::ffff:9.9.9.9") };
	assert_int_equal(parse(gai_pypi, sizeof(gai_pypi), &q), DNS_PARSE_OK);
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, a, 4, 300, 512, out,
					 sizeof(out), &n, &e), 0);
	assert_int_equal(u16(out), 0x5373);
	assert_int_equal(u16(out + 2), 0x8180);  /* QR RD RA, NOERROR */
	assert_int_equal(u16(out + 4), 1);
	assert_int_equal(u16(out + 6), 3);       /* three IPv4 answers */
	assert_int_equal(u16(out + 10), 0);
	assert_memory_equal(out + 12, gai_pypi + 12, sizeof(gai_pypi) - 12);
	const uint8_t *r = out + sizeof(gai_pypi);
	assert_int_equal(u16(r), 0xc00c);
	assert_int_equal(u16(r + 2), DNS_T_A);
	assert_int_equal(u16(r + 4), 1);
	assert_int_equal(u16(r + 6) << 16 | u16(r + 8), 300);
	assert_int_equal(u16(r + 10), 4);
	assert_memory_equal(r + 12, "\1\2\3\4", 4);
	assert_memory_equal(r + 32 + 12, "\x09\x09\x09\x09", 4);
	assert_int_equal(n, sizeof(gai_pypi) + 3 * 16);

	q.qtype = DNS_T_AAAA;
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, a, 4, 60, 512, out,
					 sizeof(out), &n, &e), 0);
	assert_int_equal(u16(out + 6), 1);
	assert_int_equal(n, sizeof(gai_pypi) + 28);
	q.qtype = DNS_T_ANY;
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, a, 4, 60, 512, out,
					 sizeof(out), &n, &e), 0);
	assert_int_equal(u16(out + 6), 4);
	q.qtype = 15; /* MX: NOERROR, no data */
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, a, 4, 60, 512, out,
					 sizeof(out), &n, &e), 0);
	assert_int_equal(u16(out + 2) & 0xf, 0);
	assert_int_equal(u16(out + 6), 0);
	assert_int_equal(n, sizeof(gai_pypi));
	unsigned rcodes[] = { DNS_NXDOMAIN, DNS_REFUSED, DNS_SERVFAIL };
	for (int i = 0; i < 3; i++) {
		q.qtype = DNS_T_A;
		assert_int_equal(dns_build_reply(&q, rcodes[i], a, 4, 60, 512, out,
						 sizeof(out), &n, &e), 0);
		assert_int_equal(u16(out + 2), 0x8180 | rcodes[i]);
		assert_int_equal(u16(out + 6), 0);
		assert_int_equal(n, sizeof(gai_pypi));
	}
	/* BADVERS without EDNS cannot be said: SERVFAIL */
	assert_int_equal(dns_build_reply(&q, DNS_BADVERS, NULL, 0, 0, 512, out,
					 sizeof(out), &n, &e), 0);
	assert_int_equal(u16(out + 2) & 0xf, DNS_SERVFAIL);
	/* no room even for the question */
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, a, 4, 0, 20, out,
					 sizeof(out), &n, &e), -1);
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, a, 4, 0, 512, out, 20, &n, &e), -1);
}

static void truncation(void **state)
{
	(void)state;
	struct dns_query q;
	struct net_addr many[100];
	for (int i = 0; i < 100; i++) {
		many[i].family = AF_INET;
		memcpy(many[i].b, (uint8_t[]){ 8, 8, 0, (uint8_t)i }, 4);
	}
	uint8_t out[DNS_TCP_LIMIT];
	size_t n;
	struct aj_err e;
	assert_int_equal(parse(gai_pypi, sizeof(gai_pypi), &q), DNS_PARSE_OK);
	size_t lim = dns_reply_limit(&q, false);
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, many, 100, 5, lim, out,
					 sizeof(out), &n, &e), 0);
	assert_true(n <= 512);
	assert_true(u16(out + 2) & 0x0200); /* TC */
	assert_int_equal(u16(out + 6), (512 - sizeof(gai_pypi)) / 16);
	assert_int_equal(n, sizeof(gai_pypi) + 16 * u16(out + 6));
	/* over TCP all of them */
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, many, 100, 5,
					 dns_reply_limit(&q, true), out, sizeof(out), &n, &e), 0);
	assert_false(u16(out + 2) & 0x0200);
	assert_int_equal(u16(out + 6), 100);
	/* EDNS: up to 1200 here, and the OPT record is kept */
	assert_int_equal(parse(gai_edns, sizeof(gai_edns), &q), DNS_PARSE_OK);
	assert_int_equal(dns_build_reply(&q, DNS_NOERROR, many, 100, 5,
					 dns_reply_limit(&q, false), out, sizeof(out), &n, &e), 0);
	assert_true(n <= 1200);
	assert_true(u16(out + 2) & 0x0200);
	assert_int_equal(u16(out + 10), 1);
	size_t qlen = sizeof(gai_edns) - 12 - 11;
	assert_int_equal(u16(out + 6), (1200 - 12 - qlen - 11) / 16);
	const uint8_t *opt = out + n - 11;
	assert_int_equal(opt[0], 0);
	assert_int_equal(u16(opt + 1), DNS_T_OPT);
	assert_int_equal(u16(opt + 3), DNS_EDNS_LIMIT);
}

static void errors_without_question(void **state)
{
	(void)state;
	struct dns_query q;
	uint8_t m[64], out[64];
	size_t n;
	struct aj_err e;
	const uint8_t body[] = { 1, 'x', 0, 0, 1, 0, 1 };
	n = mkq(m, 0x2100, 1, 0, 0, 0, body, sizeof(body)); /* opcode 4 NOTIFY, RD */
	assert_int_equal(parse(m, n, &q), DNS_PARSE_ERROR);
	assert_int_equal(dns_build_reply(&q, q.rcode, NULL, 0, 0, 512, out, sizeof(out),
					 &n, &e), 0);
	assert_int_equal(n, 12);
	assert_int_equal(u16(out), 0xabcd);
	assert_int_equal(u16(out + 2), 0x8000 | 4 << 11 | 0x0100 | 0x80 | DNS_NOTIMP);
	assert_int_equal(u16(out + 4), 0);
}

static void tcp_frames(void **state)
{
	(void)state;
	uint8_t buf[100];
	const uint8_t *msg;
	size_t len, used;
	dns_tcp_prefix(buf, sizeof(gai_pypi));
	memcpy(buf + 2, gai_pypi, sizeof(gai_pypi));
	memcpy(buf + 2 + sizeof(gai_pypi), "\0\x20", 2);
	for (size_t n = 0; n < 2 + sizeof(gai_pypi); n++)
		assert_int_equal(dns_tcp_frame(buf, n, &msg, &len, &used), 0);
	assert_int_equal(dns_tcp_frame(buf, sizeof(buf), &msg, &len, &used), 1);
	assert_ptr_equal(msg, buf + 2);
	assert_int_equal(len, sizeof(gai_pypi));
	assert_int_equal(used, 2 + sizeof(gai_pypi));
	assert_int_equal(dns_tcp_frame(buf + used, 2, &msg, &len, &used), 0);
	assert_int_equal(dns_tcp_frame((const uint8_t *)"\0\x0b", 2, &msg, &len, &used), -1);
	assert_int_equal(dns_tcp_frame((const uint8_t *)"\0\0", 2, &msg, &len, &used), -1);
	dns_tcp_prefix(buf, 0x1234);
	assert_int_equal(u16(buf), 0x1234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_queries), cmocka_unit_test(truncations),
		cmocka_unit_test(headers),      cmocka_unit_test(names),
		cmocka_unit_test(additional),   cmocka_unit_test(replies),
		cmocka_unit_test(truncation),   cmocka_unit_test(errors_without_question),
		cmocka_unit_test(tcp_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
