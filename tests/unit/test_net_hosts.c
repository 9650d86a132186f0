/* Unit tests for the hosts-file reader (src/net/hosts.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/hosts.h"

static struct net_hosts *parse(const char *text)
{
	struct net_hosts *h;
	struct aj_err e = { 0 };
	if (net_hosts_parse(text, strlen(text), &h, &e) < 0)
		fail_msg("%s", e.msg);
	return h;
}

static void expect(const struct net_hosts *h, const char *name, const char *want)
{
	struct net_addr a[8];
	size_t n = net_hosts_lookup(h, name, a, 8);
	char got[400] = "", t[NET_ADDR_STRLEN];
	for (size_t i = 0; i < n && i < 8; i++) {
		net_addr_format(&a[i], t);
		strcat(got, i ? " " : "");
		strcat(got, t);
	}
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", name, got, want);
}

static void basics(void **state)
{
	(void)state;
	struct net_hosts *h = parse(
		"# test servers\n"
		"127.0.0.1\tlocalhost api.test  # trailing comment\n"
		"::1 localhost ip6-localhost\r\n"
		"\n"
		"   \t \n"
		"10.0.0.5 Mixed.Case.Test. api.test\n"
		"127.0.0.1 api.test\n"              /* duplicate pair: dropped */
		"2001:db8::5 api.test\n"
		"192.0.2.1 last.test");             /* no final newline */
	expect(h, "localhost", "127.0.0.1 ::1");
	expect(h, "LOCALHOST.", "127.0.0.1 ::1");
	expect(h, "api.test", "127.0.0.1 10.0.0.5 2001:db8::5");
	expect(h, "mixed.case.test", "10.0.0.5");
	expect(h, "ip6-localhost", "::1");
	expect(h, "last.test", "192.0.2.1");
	expect(h, "test", "");
	expect(h, "other.test", "");
	expect(h, "", "");
	expect(h, "bad name", "");
	assert_int_equal(net_hosts_count(h), 8);
	struct net_addr one;
	assert_int_equal(net_hosts_lookup(h, "api.test", &one, 1), 3);
	assert_int_equal(net_hosts_lookup(h, "api.test", NULL, 0), 3);
	net_hosts_free(h);
	net_hosts_free(NULL);
	h = parse("");
	expect(h, "localhost", "");
	assert_int_equal(net_hosts_count(h), 0);
	net_hosts_free(h);
	h = parse("# only a comment");
	net_hosts_free(h);
}

static void errors(void **state)
{
	(void)state;
	const struct { const char *text, *msg; } c[] = {
		{ "127.0.0.1\n", "hosts line 1: an address without a name" },
		{ "# x\n127.1 a.test\n", "hosts line 2: not an IP address" },
		{ "0x7f.0.0.1 a.test\n", "hosts line 1: not an IP address" },
		{ "fe80::1%eth0 a.test\n", "hosts line 1: not an IP address" },
		{ "a.test 127.0.0.1\n", "hosts line 1: not an IP address" },
		{ "127.0.0.1 a..test\n", "hosts line 1: empty label" },
		{ "127.0.0.1 *.test\n", "hosts line 1: character 0x2a not allowed in a host "
					"name (letters, digits, '-', '_'; IDNA as xn--)" },
		{ "127.0.0.1 10.0.0.1\n", "hosts line 1: looks like a numeric IPv4 address; "
					  "write addresses as four decimal parts" },
		{ "\n\n127.0.0.1 a\x01" "b\n", "hosts line 3: control byte 0x01" },
		{ "127.0.0.1 a\rb\n", "hosts line 1: control byte 0x0d" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct net_hosts *h = (struct net_hosts *)1;
		struct aj_err e = { 0 };
		assert_int_equal(net_hosts_parse(c[i].text, strlen(c[i].text), &h, &e), -1);
		assert_null(h);
		assert_string_equal(e.msg, c[i].msg);
	}
	struct net_hosts *h;
	struct aj_err e;
	assert_int_equal(net_hosts_parse("127.0.0.1 a\0b\n", 14, &h, &e), -1);
	assert_string_equal(e.msg, "hosts line 1: control byte 0x00");
}

static void limits(void **state)
{
	(void)state;
	/* many names for one address, and many addresses for one name */
	size_t cap = 3u << 20, n = 0;
	char *t = malloc(cap);
	for (int i = 0; i < NET_HOSTS_MAX_ENTRIES / 2; i++)
		n += (size_t)snprintf(t + n, cap - n, "10.%d.%d.%d same.test n%d.test\n",
				      (i >> 16) & 255, (i >> 8) & 255, i & 255, i);
	struct net_hosts *h;
	struct aj_err e;
	assert_int_equal(net_hosts_parse(t, n, &h, &e), 0);
	assert_int_equal(net_hosts_count(h), NET_HOSTS_MAX_ENTRIES);
	struct net_addr a[2];
	assert_int_equal(net_hosts_lookup(h, "same.test", a, 2), NET_HOSTS_MAX_ENTRIES / 2);
	char s[NET_ADDR_STRLEN];
	net_addr_format(&a[1], s);
	assert_string_equal(s, "10.0.0.1");
	assert_int_equal(net_hosts_lookup(h, "n49999.test", a, 2), 1);
	net_hosts_free(h);
	n += (size_t)snprintf(t + n, cap - n, "10.9.9.9 one.more\n");
	assert_int_equal(net_hosts_parse(t, n, &h, &e), -1);
	assert_int_equal(e.code, AJ_ETOOBIG);
	free(t);
	assert_int_equal(net_hosts_parse("", NET_HOSTS_MAX_BYTES + 1, &h, &e), -1);
	assert_int_equal(e.code, AJ_ETOOBIG);
}

static void load(void **state)
{
	(void)state;
	char path[] = "/tmp/aj-hosts-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "127.0.0.1 web.test\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct net_hosts *h;
	struct aj_err e;
	assert_int_equal(net_hosts_load(path, &h, &e), 0);
	expect(h, "web.test", "127.0.0.1");
	net_hosts_free(h);
	unlink(path);
	assert_int_equal(net_hosts_load(path, &h, &e), -1);
	assert_non_null(strstr(e.msg, path));
	assert_int_equal(net_hosts_load("/tmp", &h, &e), -1);
	assert_null(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basics), cmocka_unit_test(errors),
		cmocka_unit_test(limits), cmocka_unit_test(load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
