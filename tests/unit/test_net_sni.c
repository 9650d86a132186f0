/* Unit tests for the TLS ClientHello reader (src/net/sni.h): hellos of
 * real clients (the fuzz seeds, captured from curl, Python, Node, git and
 * openssl s_client against a local listener), every split across reads
 * and records, and hellos that lie about their lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/sni.h"

#define CORPUS "tests/fuzz/corpus/fuzz_net_sni/"

static size_t load(const char *name, uint8_t *buf, size_t cap)
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

static enum sni_result parse(const uint8_t *b, size_t n, struct sni_info *info)
{
	struct aj_err e = { 0 };
	enum sni_result r = sni_parse(b, n, info, &e);
	if (r == SNI_NOT_TLS || r == SNI_INVALID || r == SNI_TOO_LARGE)
		assert_true(e.msg[0] != '\0');
	return r;
}

static void real_clients(void **state)
{
	(void)state;
	const struct { const char *file, *name; enum sni_result r; } c[] = {
		{ "curl-pypi.org", "pypi.org", SNI_FOUND },
		{ "python-files.pythonhosted.org", "files.pythonhosted.org", SNI_FOUND },
		{ "node-registry.npmjs.org", "registry.npmjs.org", SNI_FOUND },
		{ "openssl-api.github.com", "api.github.com", SNI_FOUND },
		{ "openssl-tls12-Example.COM", "example.com", SNI_FOUND },
		{ "openssl-nosni", "", SNI_ABSENT },
		{ "git-ip", "", SNI_ABSENT },     /* https://127.0.0.1: no SNI */
		{ "python-ip", "", SNI_ABSENT },
	};
	static uint8_t buf[SNI_MAX_INPUT];
	struct sni_info info;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = load(c[i].file, buf, sizeof(buf));
		assert_int_equal(parse(buf, n, &info), c[i].r);
		assert_string_equal(info.name, c[i].name);
		assert_int_equal(info.hello_end, n);
		assert_false(info.ech);
		/* every shorter read: need more */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(parse(buf, k, &info), SNI_NEED_MORE);
	}
}

/* ---- building hellos ---- */

static size_t put(uint8_t *p, const void *s, size_t n)
{
	if (n) /* (s may be NULL then) */
		memcpy(p, s, n);
	return n;
}

static size_t put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* server_name extension for one host_name */
static size_t sni_ext(uint8_t *p, const char *name, size_t nlen)
{
	size_t o = put16(p, 0);
	o += put16(p + o, nlen + 5);
	o += put16(p + o, nlen + 3);
	p[o++] = 0;
	o += put16(p + o, nlen);
	return o + put(p + o, name, nlen);
}

/* Handshake message: ClientHello with the extension block ext[0..elen)
 * (elen == (size_t)-1: no extension block at all). */
static size_t hello(uint8_t *out, const uint8_t *ext, size_t elen)
{
	uint8_t *b = out + 4;
	size_t o = put16(b, 0x0303);
	memset(b + o, 0x11, 32);
	o += 32;
	b[o++] = 32;
	memset(b + o, 0x22, 32);
	o += 32;
	o += put16(b + o, 4);
	o += put(b + o, "\x13\x01\x13\x02", 4);
	o += put(b + o, "\x01\x00", 2);
	if (elen != (size_t)-1) {
		o += put16(b + o, elen);
		o += put(b + o, ext, elen);
	}
	out[0] = 1;
	out[1] = (uint8_t)(o >> 16);
	out[2] = (uint8_t)(o >> 8);
	out[3] = (uint8_t)o;
	return o + 4;
}

/* The handshake bytes in records of at most `chunk` payload bytes. */
static size_t records(uint8_t *out, const uint8_t *hs, size_t n, size_t chunk)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += chunk) {
		size_t l = n - i < chunk ? n - i : chunk;
		o += put(out + o, "\x16\x03\x01", 3);
		o += put16(out + o, l);
		o += put(out + o, hs + i, l);
	}
	return o;
}

static enum sni_result with_ext(const uint8_t *ext, size_t elen, struct sni_info *info)
{
	static uint8_t hs[70000], rec[80000];
	size_t n = hello(hs, ext, elen);
	return parse(rec, records(rec, hs, n, 16384), info);
}

static enum sni_result with_name(const char *name, size_t nlen, struct sni_info *info)
{
	uint8_t ext[400];
	return with_ext(ext, sni_ext(ext, name, nlen), info);
}

static void fragmented(void **state)
{
	(void)state;
	static uint8_t hs[1000], rec[8000];
	uint8_t ext[300];
	struct sni_info info;
	size_t elen = sni_ext(ext, "Api.GitHub.com.", 15);
	elen += put(ext + elen, "\x00\x2b\x00\x03\x02\x03\x04", 7); /* versions */
	size_t n = hello(hs, ext, elen);
	for (size_t chunk = 1; chunk <= n; chunk++) {
		size_t r = records(rec, hs, n, chunk);
		assert_int_equal(parse(rec, r, &info), SNI_FOUND);
		assert_string_equal(info.name, "api.github.com");
		assert_int_equal(info.hello_end, r);
		if (chunk > 3 && chunk != 50 && chunk != n)
			continue;
		for (size_t k = 0; k < r; k++)
			assert_int_equal(parse(rec, k, &info), SNI_NEED_MORE);
	}
	/* bytes after the record that completed it are not looked at */
	size_t r = records(rec, hs, n, 100);
	memcpy(rec + r, "\x17\x03\x03\x00\x01X", 6);
	assert_int_equal(parse(rec, r + 6, &info), SNI_FOUND);
	assert_int_equal(info.hello_end, r);
	/* a record with bytes past the hello's end is fine */
	memcpy(hs + n, "junk", 4);
	r = records(rec, hs, n + 4, 16384);
	assert_int_equal(parse(rec, r, &info), SNI_FOUND);
}

static void not_tls(void **state)
{
	(void)state;
	struct sni_info info;
	const struct { const char *b; size_t n; enum sni_result r; } c[] = {
		{ "", 0, SNI_NEED_MORE },
		{ "\x16", 1, SNI_NEED_MORE },
		{ "\x16\x03", 2, SNI_NEED_MORE },
		{ "\x16\x03\x01\x02", 4, SNI_NEED_MORE },
		{ "GET / HTTP/1.1\r\n", 16, SNI_NOT_TLS },
		{ "SSH-2.0-OpenSSH_9.2\r\n", 21, SNI_NOT_TLS },
		{ "\x80\x2e\x01\x03\x01", 5, SNI_NOT_TLS },   /* SSLv2 hello */
		{ "\x16\x02", 2, SNI_NOT_TLS },
		{ "\x16\x03\x05", 3, SNI_NOT_TLS },
		{ "\x17\x03\x03\x00\x10", 5, SNI_NOT_TLS },
		{ "\x16\x03\x01\x00\x00", 5, SNI_INVALID },   /* empty record */
		{ "\x16\x03\x01\x40\x01", 5, SNI_INVALID },   /* 16385 */
		{ "\x16\x03\x01\x00\x01\x02", 6, SNI_INVALID }, /* ServerHello */
		{ "\x16\x03\x01\x00\x04\x01\x00\x40\x01", 9, SNI_TOO_LARGE },
		{ "\x16\x03\x01\x00\x04\x01\xff\xff\xff", 9, SNI_TOO_LARGE },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (parse((const uint8_t *)c[i].b, c[i].n, &info) != c[i].r)
			fail_msg("case %zu", i);
	}
	/* a hello split into a handshake record and then an alert */
	static uint8_t hs[1000], rec[2000];
	uint8_t ext[100];
	size_t n = hello(hs, ext, sni_ext(ext, "x.com", 5));
	size_t r = records(rec, hs, 10, 10);
	memcpy(rec + r, "\x15\x03\x01\x00\x02\x02\x28", 7);
	assert_int_equal(parse(rec, r + 7, &info), SNI_INVALID);
	assert_true(n > 10);
}

static void lying_lengths(void **state)
{
	(void)state;
	static uint8_t hs[1000], rec[2000];
	uint8_t ext[100];
	struct sni_info info;
	size_t elen = sni_ext(ext, "x.com", 5);
	size_t n = hello(hs, ext, elen);
	/* offsets in hs: 4 version, 6 random, 38 sid len, 71 ciphers len,
	 * 73 ciphers, 77 comp len, 79 ext len, 81 server_name type, 83 its
	 * length, 85 list length, 87 name type, 88 name length, 90 name */
	const struct { size_t off; uint8_t v; } pokes[] = {
		{ 4, 2 },          /* version 2.3 */
		{ 38, 33 },        /* session id longer than 32 */
		{ 38, 200 },       /* session id past the end */
		{ 72, 3 },         /* odd cipher suite length */
		{ 72, 0 },         /* no cipher suites */
		{ 71, 0xff },      /* cipher suites past the end */
		{ 77, 0 },         /* no compression methods */
		{ 80, (uint8_t)(elen + 1) }, /* extensions longer than the hello */
		{ 80, (uint8_t)(elen - 1) }, /* shorter: trailing byte */
		{ 84, 0xff },      /* extension data past its list */
		{ 86, 9 },         /* server_name list longer than the extension */
		{ 86, 7 },         /* shorter */
		{ 87, 1 },         /* name type 1 */
		{ 89, 6 },         /* name longer than the list */
		{ 89, 4 },         /* shorter */
		{ 3, (uint8_t)(n - 4 + 1) }, /* handshake longer than sent: need more */
	};
	for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		uint8_t save = hs[pokes[i].off];
		hs[pokes[i].off] = pokes[i].v;
		size_t r = records(rec, hs, n, 16384);
		enum sni_result got = parse(rec, r, &info);
		enum sni_result want = i == 15 ? SNI_NEED_MORE : SNI_INVALID;
		if (got != want)
			fail_msg("poke %zu: %s", i, sni_result_name(got));
		assert_string_equal(info.name, "");
		hs[pokes[i].off] = save;
	}
	/* handshake shorter than its content: the rest is not extensions */
	hs[3] = (uint8_t)(n - 4 - 1);
	size_t r = records(rec, hs, n - 1, 16384);
	assert_int_equal(parse(rec, r, &info), SNI_INVALID);
}

static void names(void **state)
{
	(void)state;
	struct sni_info info;
	assert_int_equal(with_name("EXAMPLE.com.", 12, &info), SNI_FOUND);
	assert_string_equal(info.name, "example.com");
	assert_int_equal(with_name("_x-y.a1.io", 10, &info), SNI_FOUND);
	const char *bad[] = { "a b.com", "evil.com\0.good.com", "1.2.3.4", "127.1",
			      "x.com:443", "", ".", "a..b", "-a.com", "\xc3\xa9t\xc3\xa9.fr",
			      "*.x.com", "a/b" };
	size_t len[] = { 7, 18, 7, 5, 9, 0, 1, 4, 6, 8, 7, 3 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(with_name(bad[i], len[i], &info), SNI_INVALID);
		assert_string_equal(info.name, "");
	}
	char longname[300];
	memset(longname, 'a', 64);
	memcpy(longname + 64, ".com", 4);
	assert_int_equal(with_name(longname, 68, &info), SNI_INVALID);
	memset(longname, 'a', 260);
	for (int i = 63; i < 260; i += 64)
		longname[i] = '.';
	assert_int_equal(with_name(longname, 260, &info), SNI_INVALID);

	/* two names in one list, two server_name extensions */
	uint8_t ext[200];
	size_t o = put(ext, "\x00\x00\x00\x0e\x00\x0c\x00\x00\x03" "a.b" "\x00\x00\x03" "c.d", 18);
	assert_int_equal(with_ext(ext, o, &info), SNI_INVALID);
	o = sni_ext(ext, "a.com", 5);
	o += sni_ext(ext + o, "b.com", 5);
	assert_int_equal(with_ext(ext, o, &info), SNI_INVALID);
	/* an empty server_name extension (what servers send back) */
	assert_int_equal(with_ext((const uint8_t *)"\0\0\0\0", 4, &info), SNI_INVALID);
}

static void absent_and_ech(void **state)
{
	(void)state;
	struct sni_info info;
	assert_int_equal(with_ext(NULL, (size_t)-1, &info), SNI_ABSENT);
	assert_int_equal(with_ext(NULL, 0, &info), SNI_ABSENT);
	assert_int_equal(with_ext((const uint8_t *)"\x00\x0b\x00\x02\x01\x00", 6, &info),
			 SNI_ABSENT);
	uint8_t ext[200];
	size_t o = sni_ext(ext, "public.example", 14);
	o += put(ext + o, "\xfe\x0d\x00\x03\x01\x02\x03", 7);
	assert_int_equal(with_ext(ext, o, &info), SNI_FOUND);
	assert_true(info.ech);
	assert_string_equal(info.name, "public.example");
	o += put(ext + o, "\xfe\x0d\x00\x00", 4);
	assert_int_equal(with_ext(ext, o, &info), SNI_INVALID);
	assert_int_equal(info.version, 0x0303);
}

static void too_large(void **state)
{
	(void)state;
	static uint8_t ext[20000], hs[20000], rec[130000];
	struct sni_info info;
	/* padding extension to ~10 KiB, name at the end */
	size_t o = put(ext, "\x00\x15", 2);
	o += put16(ext + o, 10000);
	memset(ext + o, 0, 10000);
	o += 10000;
	o += sni_ext(ext + o, "late.example", 12);
	size_t n = hello(hs, ext, o);
	size_t r = records(rec, hs, n, 16384);
	assert_int_equal(parse(rec, r, &info), SNI_FOUND);
	assert_string_equal(info.name, "late.example");
	/* the same in 10-byte records: 15 KiB of input, fine */
	r = records(rec, hs, n, 10);
	assert_true(r < SNI_MAX_INPUT);
	assert_int_equal(parse(rec, r, &info), SNI_FOUND);
	/* in 1-byte records: 60 KiB, more than we look at */
	r = records(rec, hs, n, 1);
	assert_true(r > SNI_MAX_INPUT);
	assert_int_equal(parse(rec, SNI_MAX_INPUT, &info), SNI_NEED_MORE);
	assert_int_equal(parse(rec, SNI_MAX_INPUT + 1, &info), SNI_TOO_LARGE);
	assert_int_equal(parse(rec, r, &info), SNI_TOO_LARGE);
	/* 16 KiB of hello is the most */
	o = put(ext, "\x00\x15", 2);
	o += put16(ext + o, 16000);
	memset(ext + o, 0, 16000);
	o += 16000;
	n = hello(hs, ext, o);
	assert_true(n - 4 <= SNI_MAX_HELLO);
	assert_int_equal(parse(rec, records(rec, hs, n, 16384), &info), SNI_ABSENT);
	o = put(ext, "\x00\x15", 2);
	o += put16(ext + o, 16384);
	memset(ext + o, 0, 16384);
	o += 16384;
	n = hello(hs, ext, o);
	assert_true(n - 4 > SNI_MAX_HELLO);
	assert_int_equal(parse(rec, records(rec, hs, n, 16384), &info), SNI_TOO_LARGE);
	assert_string_equal(sni_result_name(SNI_TOO_LARGE), "too_large");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_clients), cmocka_unit_test(fragmented),
		cmocka_unit_test(not_tls),      cmocka_unit_test(lying_lengths),
		cmocka_unit_test(names),        cmocka_unit_test(absent_and_ech),
		cmocka_unit_test(too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
