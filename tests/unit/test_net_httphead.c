/* Unit tests for the HTTP/1.x request head parser and header splicing
 * (src/net/httphead.h): heads of real clients (the fuzz seeds, captured
 * from curl, git, pip, Python, Node on a local listener), every split,
 * smuggling-shaped heads, Host confusion, rewriting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/httpbody.h"
#include "net/httphead.h"

#define CORPUS "tests/fuzz/corpus/fuzz_net_httphead/"

static struct hh_request req; /* large: not on the stack */

static size_t load(const char *name, char *buf, size_t cap)
{
	char path[256];
	snprintf(path, sizeof(path), CORPUS "%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repository root)", path);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static enum hh_result parse_n(const char *s, size_t n)
{
	struct aj_err e = { 0 };
	enum hh_result r = hh_parse(s, n, HH_MAX_HEAD, &req, &e);
	if (r == HH_MALFORMED || r == HH_TOO_LARGE)
		assert_true(e.msg[0] != '\0');
	return r;
}

static enum hh_result parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static bool span_is(const char *buf, struct hh_span s, const char *want)
{
	return s.len == strlen(want) && memcmp(buf + s.off, want, s.len) == 0;
}

static void real_clients(void **state)
{
	(void)state;
	const struct {
		const char *file, *method, *host;
		uint16_t port;
		enum hh_form form;
	} c[] = {
		{ "curl-get", "GET", "pypi.org", 33203, HH_FORM_ORIGIN },
		{ "curl-proxy-absolute", "GET", "example.com", 0, HH_FORM_ABSOLUTE },
		{ "curl-connect", "CONNECT", "api.github.com", 443, HH_FORM_AUTHORITY },
		{ "curl-post", "POST", "127.0.0.1", 33203, HH_FORM_ORIGIN },
		{ "curl-chunked", "POST", "127.0.0.1", 33203, HH_FORM_ORIGIN },
		{ "git-ls-remote", "GET", "127.0.0.1", 33203, HH_FORM_ORIGIN },
		{ "node-fetch", "GET", "127.0.0.1", 33203, HH_FORM_ORIGIN },
		{ "pip-index", "GET", "127.0.0.1", 33203, HH_FORM_ORIGIN },
		{ "python-urllib", "GET", "127.0.0.1", 33203, HH_FORM_ORIGIN },
		{ "python-http10", "GET", "", 0, HH_FORM_ORIGIN },
		{ "python-ws-upgrade", "GET", "127.0.0.1", 33203, HH_FORM_ORIGIN },
	};
	static char buf[HH_MAX_HEAD];
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = load(c[i].file, buf, sizeof(buf));
		if (parse_n(buf, n) != HH_OK)
			fail_msg("%s", c[i].file);
		assert_true(span_is(buf, req.method, c[i].method));
		assert_string_equal(req.host, c[i].host);
		assert_int_equal(req.has_host, c[i].host[0] != '\0');
		assert_int_equal(req.port, c[i].port);
		assert_int_equal(req.form, c[i].form);
		assert_true(req.head_len <= n);
		assert_memory_equal(buf + req.head_len - 4, "\r\n\r\n", 4);
		size_t head = req.head_len;
		for (size_t k = 0; k < head; k++)
			if (parse_n(buf, k) != HH_NEED_MORE)
				fail_msg("%s: prefix %zu", c[i].file, k);
	}
	load("curl-post", buf, sizeof(buf));
	assert_int_equal(parse(buf), HH_OK);
	assert_true(req.has_length);
	assert_int_equal(req.content_length, 7);
	assert_int_equal(hh_find(buf, &req, "AUTHORIZATION", 0), 3);
	assert_true(span_is(buf, req.headers[3].value, "Bearer x"));
	size_t n = load("curl-chunked", buf, sizeof(buf));
	assert_int_equal(parse_n(buf, n), HH_OK);
	assert_true(req.chunked);
	assert_false(req.has_length);
	n = load("curl-proxy-absolute", buf, sizeof(buf));
	assert_int_equal(parse_n(buf, n), HH_OK);
	assert_true(span_is(buf, req.path, "/a?b=c"));
	assert_false(req.https);
	assert_int_equal(req.minor, 1);
	n = load("python-http10", buf, sizeof(buf));
	assert_int_equal(parse_n(buf, n), HH_OK);
	assert_int_equal(req.minor, 0);
	assert_int_equal(req.nheaders, 0);
}

static void hosts(void **state)
{
	(void)state;
	const struct { const char *head, *host; uint16_t port; bool addr; } ok[] = {
		{ "GET / HTTP/1.1\r\nHost: EVIL.com.\r\n\r\n", "evil.com", 0, false },
		{ "GET / HTTP/1.1\r\nHost:x.com:8080 \r\n\r\n", "x.com", 8080, false },
		{ "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "::1", 80, true },
		{ "GET / HTTP/1.1\r\nHost: [::FFFF:127.0.0.1]\r\n\r\n", "::ffff:127.0.0.1", 0, true },
		{ "GET / HTTP/1.1\r\nhOsT: 10.0.0.1\r\n\r\n", "10.0.0.1", 0, true },
		{ "GET http://a.com/ HTTP/1.1\r\nHost: a.com:80\r\n\r\n", "a.com", 0, false },
		{ "GET http://a.com:80/ HTTP/1.1\r\nHost: a.com\r\n\r\n", "a.com", 80, false },
		{ "GET HTTPS://A.com/x HTTP/1.1\r\nHost: a.com:443\r\n\r\n", "a.com", 0, false },
		{ "GET http://a.com HTTP/1.1\r\nHost: a.com\r\n\r\n", "a.com", 0, false },
		{ "GET http://a.com?q HTTP/1.1\r\nHost: a.com\r\n\r\n", "a.com", 0, false },
		{ "GET http://a.com/ HTTP/1.0\r\n\r\n", "a.com", 0, false },
		{ "CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:443\r\n\r\n", "a.com", 443, false },
		{ "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n",
		  "2001:db8::1", 443, true },
		{ "CONNECT a.com:22 HTTP/1.0\r\n\r\n", "a.com", 22, false },
		{ "OPTIONS * HTTP/1.1\r\nHost: a.com\r\n\r\n", "a.com", 0, false },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse(ok[i].head) != HH_OK)
			fail_msg("%zu: %s", i, ok[i].head);
		assert_string_equal(req.host, ok[i].host);
		assert_int_equal(req.port, ok[i].port);
		assert_int_equal(req.host_is_addr, ok[i].addr);
	}
	parse("GET HTTPS://A.com/x HTTP/1.1\r\nHost: a.com:443\r\n\r\n");
	assert_true(req.https);
	parse("GET http://a.com HTTP/1.1\r\nHost: a.com\r\n\r\n");
	assert_int_equal(req.path.len, 0);
	parse("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
	assert_int_equal(req.addr.family, AF_INET6);

	const char *bad[] = {
		"GET / HTTP/1.1\r\n\r\n",                                  /* no Host */
		"GET / HTTP/1.1\r\nHost: a.com\r\nHost: a.com\r\n\r\n",    /* twice */
		"GET / HTTP/1.1\r\nHost: a.com\r\nhost: b.com\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a.com, b.com\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: 127.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: 0x7f.0.0.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: 2130706433\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: ::1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: [10.0.0.1]\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a.com:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a.com:0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a.com:080\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a.com:65536\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a.com:80:80\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a%2ecom\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: user@a.com\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \xc3\xa9.com\r\n\r\n",
		/* absolute-form that disagrees with Host, or hides the host */
		"GET http://allowed.com/ HTTP/1.1\r\nHost: denied.com\r\n\r\n",
		"GET http://a.com/ HTTP/1.1\r\nHost: a.com:8080\r\n\r\n",
		"GET https://a.com/ HTTP/1.1\r\nHost: a.com:80\r\n\r\n",
		"GET http://allowed.com@denied.com/ HTTP/1.1\r\nHost: denied.com\r\n\r\n",
		"GET http://denied.com/ HTTP/1.1\r\n\r\n",
		"GET ftp://a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"GET http:/a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"GET http:// HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"GET a.com:80 HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"GET /#frag HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: a.com\r\n\r\n",
		/* CONNECT */
		"CONNECT a.com HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"CONNECT a.com:443 HTTP/1.1\r\nHost: b.com:443\r\n\r\n",
		"CONNECT a.com:443 HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"CONNECT /x HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"CONNECT http://a.com:443/ HTTP/1.1\r\nHost: a.com:443\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i]) != HH_MALFORMED)
			fail_msg("accepted: %s", bad[i]);
		assert_false(req.has_host);
		assert_string_equal(req.host, "");
	}
}

static void lines(void **state)
{
	(void)state;
	const char *bad[] = {
		"GET / HTTP/1.1\nHost: a\r\n\r\n",          /* bare LF */
		"GET / HTTP/1.1\r\nHost: a\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\n",
		"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",  /* bare CR */
		"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",       /* two spaces */
		"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
		"GET /\tx HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
		"GET / http/1.1\r\nHost: a\r\n\r\n",
		"GET /\r\n\r\n",                            /* HTTP/0.9 */
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",    /* leading empty line */
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",       /* space before colon */
		"GET / HTTP/1.1\r\nHost: a\r\n X: folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\tX: folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-Y\r\n\r\n",  /* no colon */
		"GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n",  /* empty name */
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f" "b\r\n\r\n",
		"GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != HH_MALFORMED)
			fail_msg("accepted %zu: %s", i, bad[i]);
	const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	assert_int_equal(parse_n(nul, sizeof(nul) - 1), HH_MALFORMED);
	/* obs-text and tabs in values are fine, and trimmed */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX:\t caf\xc3\xa9 \t\r\n\r\n"), HH_OK);
	assert_int_equal(req.headers[1].value.len, 5);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n"), HH_OK);
	assert_int_equal(req.headers[1].value.len, 0);
	assert_int_equal(req.headers[1].line.len, 10);
}

static void early(void **state)
{
	(void)state;
	/* what cannot become a request line is told before the head ends */
	const char *bad[] = { "\x16\x03\x01\x02\x00\x01", "SSH-2.0-OpenSSH\r", " GET",
			      "GET /x\x01", "GET / HTTP/2", "GET / HTTP/1.1x",
			      "GET / FTP", "GET\t/", "GET / HTTP/1.1\rX" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != HH_MALFORMED)
			fail_msg("not told early: %zu", i);
	const char *more[] = { "", "G", "GET", "GET ", "GET /a", "GET /a ", "GET /a HTTP/1.",
			       "GET /a HTTP/1.1", "GET /a HTTP/1.1\r", "GET /a HTTP/1.1\r\nHo",
			       "GET /a HTTP/1.1\r\nHost: a\r\n", "GET /a HTTP/1.1\r\nHost: a\r\n\r" };
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		if (parse(more[i]) != HH_NEED_MORE)
			fail_msg("not need-more: %s", more[i]);
}

static void limits(void **state)
{
	(void)state;
	static char buf[HH_MAX_HEAD * 2];
	struct aj_err e;
	int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(buf + n, 'v', 40000);
	assert_int_equal(hh_parse(buf, (size_t)n + 100, 1000, &req, &e), HH_NEED_MORE);
	assert_int_equal(hh_parse(buf, (size_t)n + 40000, HH_MAX_HEAD, &req, &e), HH_TOO_LARGE);
	assert_int_equal(e.code, AJ_ETOOBIG);
	/* exactly at the limit: fine */
	memcpy(buf + n + 100, "\r\n\r\n", 4);
	assert_int_equal(hh_parse(buf, (size_t)n + 104, (size_t)n + 104, &req, &e), HH_OK);
	assert_int_equal(hh_parse(buf, (size_t)n + 104, (size_t)n + 103, &req, &e), HH_TOO_LARGE);
	/* header count */
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 1; i < HH_MAX_HEADERS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X%d: y\r\n", i);
	memcpy(buf + n, "\r\n", 3);
	assert_int_equal(parse(buf), HH_OK);
	assert_int_equal(req.nheaders, HH_MAX_HEADERS);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Z: y\r\n\r\n");
	assert_int_equal(parse(buf), HH_TOO_LARGE);
}

static void framing(void **state)
{
	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), HH_OK);
	assert_true(req.has_length);
	assert_int_equal(req.content_length, 0);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
			       "999999999999999999\r\n\r\n"), HH_OK);
	assert_int_equal(req.content_length, 999999999999999999ULL);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n"),
			 HH_OK);
	assert_true(req.chunked);
	const char *bad[] = {
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != HH_MALFORMED)
			fail_msg("accepted %zu: %s", i, bad[i]);
}

static void rewrite(void **state)
{
	(void)state;
	static char buf[HH_MAX_HEAD];
	struct aj_buf out = { 0 };
	struct aj_err e;
	size_t n = load("curl-post", buf, sizeof(buf));
	assert_int_equal(parse_n(buf, n), HH_OK);
	struct hh_set sets[] = { { "authorization", "Bearer s3cret" }, { "User-Agent", NULL },
				 { "X-Added", "1" } };
	assert_int_equal(hh_rewrite(buf, &req, sets, 3, &out, &e), 0);
	assert_string_equal(out.data,
			    "POST /v1/post HTTP/1.1\r\n"
			    "Host: 127.0.0.1:33203\r\n"
			    "Accept: */*\r\n"
			    "Content-Length: 7\r\n"
			    "Content-Type: application/x-www-form-urlencoded\r\n"
			    "authorization: Bearer s3cret\r\n"
			    "X-Added: 1\r\n\r\n");
	/* the result parses, and the body follows unchanged */
	char *again = malloc(out.len + 7);
	memcpy(again, out.data, out.len);
	memcpy(again + out.len, buf + req.head_len, n - req.head_len);
	size_t alen = out.len + n - req.head_len;
	assert_int_equal(parse_n(again, alen), HH_OK);
	assert_int_equal(req.content_length, 7);
	assert_memory_equal(again + req.head_len, "a=1&b=2", 7);
	free(again);
	aj_buf_free(&out);

	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n"), HH_OK);
	struct hh_set one = { "X-Token", "t" };
	assert_int_equal(hh_rewrite("GET / HTTP/1.0\r\n\r\n", &req, &one, 1, &out, &e), 0);
	assert_string_equal(out.data, "GET / HTTP/1.0\r\nX-Token: t\r\n\r\n");
	aj_buf_free(&out);

	const char *head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	assert_int_equal(parse(head), HH_OK);
	const struct hh_set bad[] = {
		{ "Host", "b" }, { "content-length", "1" }, { "Transfer-Encoding", NULL },
		{ "Connection", "close" }, { "upgrade", "h2c" }, { "X Y", "1" }, { "", "1" },
		{ NULL, "1" }, { "X", "a\r\nHost: evil" }, { "X", "a\nb" }, { "X", "\x7f" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hh_rewrite(head, &req, &bad[i], 1, &out, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
		assert_int_equal(out.len, 0);
	}
	struct hh_request empty = { 0 };
	assert_int_equal(hh_rewrite(head, &empty, &one, 1, &out, &e), -1);
	assert_int_equal(hh_find(head, &req, "host", 1), -1);
	assert_int_equal(hh_find(head, &req, "HoSt", 0), 0);
	assert_string_equal(hh_result_name(HH_MALFORMED), "malformed");
}

/* Feed body[0..n) at once and byte by byte: same answer, same length. */
static enum hb_result body(const char *head, const char *b, size_t n, size_t *used)
{
	struct hh_body x, y;
	struct aj_err e;
	assert_int_equal(parse(head), HH_OK);
	hh_body_init(&x, &req);
	hh_body_init(&y, &req);
	enum hb_result all = hh_body_feed(&x, b, n, used, &e), one = HB_NEED_MORE;
	size_t total = 0, u;
	for (size_t i = 0; i < n && one == HB_NEED_MORE; i++) {
		one = hh_body_feed(&y, b + i, 1, &u, &e);
		total += u;
	}
	assert_int_equal(all, one);
	if (all != HB_MALFORMED)
		assert_int_equal(total, *used);
	return all;
}

#define CHUNKED "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

static void bodies(void **state)
{
	(void)state;
	size_t used;
	assert_int_equal(body("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n",
			      "a=1&b=2GET / ", 13, &used), HB_DONE);
	assert_int_equal(used, 7);
	assert_int_equal(body("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n",
			      "a=1&b", 5, &used), HB_NEED_MORE);
	assert_int_equal(used, 5);
	assert_int_equal(body("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET /", 5, &used), HB_DONE);
	assert_int_equal(used, 0);
	assert_int_equal(body("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "x", 1,
			      &used), HB_DONE);
	assert_int_equal(used, 0);
	const struct { const char *b; size_t used; } ok[] = {
		{ "5\r\nhello\r\n0\r\n\r\n", 15 },
		{ "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 15 },
		{ "A\r\n0123456789\r\n0\r\n\r\n", 20 },
		{ "a;name=val;x=\"q s\"\r\n0123456789\r\n000\r\n\r\n", 39 },
		{ "0\r\nX-Trailer: 1\r\nY: \t2\r\n\r\n", 26 },
		{ "1\r\n\r\r\n1\r\n\n\r\n0\r\n\r\n", 17 },
		{ "000000000000001\r\nx\r\n0\r\n\r\n", 25 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (body(CHUNKED, ok[i].b, strlen(ok[i].b), &used) != HB_DONE)
			fail_msg("refused %zu", i);
		assert_int_equal(used, ok[i].used);
	}
	const char *bad[] = {
		"5 \r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n0\r\n\r\n", "0x5\r\nhello\r\n",
		"5\nhello\r\n", "5\r\nhelloX\r\n", "5\r\nhello\n0\r\n", "g\r\n", "\r\n",
		";x\r\n", "-1\r\n", "+1\r\n", "1000000000000000\r\n", "5;a\x01\r\n",
		"5\r\r\n", "0\r\nX\x01\r\n\r\n", "0\r\n X: folded\r\n\r\n",
		"0\r\nX: 1\n\r\n", "0\r\n\n", "0\r\n\r\r",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (body(CHUNKED, bad[i], strlen(bad[i]), &used) != HB_MALFORMED)
			fail_msg("accepted %zu", i);
	static char big[20000];
	memset(big, 'x', sizeof(big));
	memcpy(big, "5;", 2);
	assert_int_equal(body(CHUNKED, big, 4096, &used), HB_NEED_MORE);
	assert_int_equal(body(CHUNKED, big, 4097, &used), HB_MALFORMED);
	memcpy(big, "0\r\n", 3);
	for (size_t i = 3; i + 6 < sizeof(big); i += 6)
		memcpy(big + i, "X: 1\r\n", 6);
	assert_int_equal(body(CHUNKED, big, 8192 + 3, &used), HB_NEED_MORE);
	assert_int_equal(body(CHUNKED, big, 8192 + 4, &used), HB_MALFORMED);
	/* done stays done, malformed stays malformed */
	struct hh_body b;
	struct aj_err e;
	assert_int_equal(parse(CHUNKED), HH_OK);
	hh_body_init(&b, &req);
	assert_int_equal(hh_body_feed(&b, "0\r\n\r\n", 5, &used, &e), HB_DONE);
	assert_int_equal(hh_body_feed(&b, "5\r\n", 3, &used, &e), HB_DONE);
	assert_int_equal(used, 0);
	hh_body_init(&b, &req);
	assert_int_equal(hh_body_feed(&b, "x", 1, &used, &e), HB_MALFORMED);
	assert_int_equal(hh_body_feed(&b, "0\r\n\r\n", 5, &used, &e), HB_MALFORMED);
}

static void pipelined(void **state)
{
	(void)state;
	/* two requests on one connection: the second Host is seen too */
	const char *s = "POST /a HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\n\r\n"
			"3\r\nabc\r\n0\r\n\r\n"
			"GET /b HTTP/1.1\r\nHost: denied.test\r\n\r\n";
	size_t n = strlen(s), used;
	struct hh_body b;
	struct aj_err e;
	assert_int_equal(parse_n(s, n), HH_OK);
	assert_string_equal(req.host, "allowed.test");
	size_t off = req.head_len;
	hh_body_init(&b, &req);
	assert_int_equal(hh_body_feed(&b, s + off, n - off, &used, &e), HB_DONE);
	off += used;
	assert_int_equal(parse_n(s + off, n - off), HH_OK);
	assert_string_equal(req.host, "denied.test");
	assert_int_equal(off + req.head_len, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_clients), cmocka_unit_test(hosts),
		cmocka_unit_test(lines),        cmocka_unit_test(early),
		cmocka_unit_test(limits),       cmocka_unit_test(framing),
		cmocka_unit_test(rewrite),      cmocka_unit_test(bodies),
		cmocka_unit_test(pipelined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
