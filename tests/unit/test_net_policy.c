/* Unit tests for the egress policy building blocks: host names, addresses
 * and ranges, policy entries and lists, the decisions, tenant ceilings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/policy.h"
#include "net/reserved.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct net_addr A(const char *s)
{
	struct net_addr a;
	assert_int_equal(net_addr_parse(s, strlen(s), &a), 0);
	return a;
}

static void names(void **state)
{
	(void)state;
	char out[NET_NAME_MAX + 1];
	struct aj_err e;
	const char *good[][2] = {
		{ "api.github.com", "api.github.com" },
		{ "API.GitHub.COM", "api.github.com" },
		{ "evil.com.", "evil.com" },
		{ "localhost", "localhost" },
		{ "_dmarc.x-y.example", "_dmarc.x-y.example" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "a1.b2.c3", "a1.b2.c3" },
		{ "host.0x7g", "host.0x7g" },
	};
	for (size_t i = 0; i < N(good); i++) {
		assert_int_equal(net_name_normalize(good[i][0], strlen(good[i][0]),
						    out, &e), 0);
		assert_string_equal(out, good[i][1]);
	}
	const char *bad[] = {
		"", ".", "..", "a..b", ".a", "a.b..", "-a.com", "a-.com",
		"a b.com", "a/b", "a:80", "b\xc3\xbc" "cher.de", "*.x.com",
		"127.1", "0x7f.1", "2130706433", "0x7f000001", "0177.0.0.1",
		"1.2.3.4", "1.2.3.4.5", "a.0x", "a.0X1F", "host.123",
	};
	for (size_t i = 0; i < N(bad); i++) {
		out[0] = 'x';
		assert_int_equal(net_name_normalize(bad[i], strlen(bad[i]), out, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
		assert_string_equal(out, "");
	}
	/* an embedded NUL is a bad character, not the end */
	assert_int_equal(net_name_normalize("a.com\0.evil", 11, out, &e), -1);
}

static void name_lengths(void **state)
{
	(void)state;
	char out[NET_NAME_MAX + 1], in[400];
	struct aj_err e;
	memset(in, 'a', 63);
	memcpy(in + 63, ".com", 5);
	assert_int_equal(net_name_normalize(in, strlen(in), out, &e), 0);
	memset(in, 'a', 64);
	memcpy(in + 64, ".com", 5);
	assert_int_equal(net_name_normalize(in, strlen(in), out, &e), -1);
	/* 4 x 63 + 3 dots = 255: too long; 253 fits, with a trailing dot too */
	for (int i = 0; i < 4; i++) {
		memset(in + i * 64, 'b', 63);
		in[i * 64 + 63] = '.';
	}
	in[255] = '\0';
	assert_int_equal(net_name_normalize(in, 255, out, &e), -1);
	in[253] = '\0'; /* last label 61 bytes */
	assert_int_equal(net_name_normalize(in, 253, out, &e), 0);
	in[253] = '.';
	assert_int_equal(net_name_normalize(in, 254, out, &e), 0);
	assert_int_equal(strlen(out), 253);
	assert_int_equal(net_name_normalize(in, 255, out, &e), -1);
}

static void name_under(void **state)
{
	(void)state;
	assert_true(net_name_under("a.pypi.org", "pypi.org", true));
	assert_true(net_name_under("a.b.pypi.org", "pypi.org", true));
	assert_false(net_name_under("pypi.org", "pypi.org", true));
	assert_true(net_name_under("pypi.org", "pypi.org", false));
	assert_false(net_name_under("notpypi.org", "pypi.org", false));
	assert_false(net_name_under("org", "pypi.org", false));
}

static void addresses(void **state)
{
	(void)state;
	struct net_addr a;
	const char *bad[] = { "127.1", "0x7f.0.0.1", "0x7f000001", "2130706433",
			      "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.256",
			      "fe80::1%lo", "[::1]", "::1/128", "", "1.2.3.4.5",
			      "::ffff:1.2.3", "1:2:3:4:5:6:7:8:9" };
	for (size_t i = 0; i < N(bad); i++)
		assert_int_equal(net_addr_parse(bad[i], strlen(bad[i]), &a), -1);
	assert_int_equal(net_addr_parse("1.2.3.4\0x", 9, &a), -1);
	a = A("10.1.2.3");
	assert_int_equal(a.family, AF_INET);
	char t[NET_ADDR_STRLEN];
	struct net_addr c;
	const char *canon[][2] = {
		{ "::ffff:127.0.0.1", "127.0.0.1" },
		{ "::FFFF:7f00:1", "127.0.0.1" },
		{ "64:ff9b::a9fe:a9fe", "169.254.169.254" },
		{ "64:ff9b::1.2.3.4", "1.2.3.4" },
		{ "64:ff9b:1::1.2.3.4", "64:ff9b:1::102:304" },
		{ "::127.0.0.1", "::127.0.0.1" },
		{ "2001:DB8::1", "2001:db8::1" },
	};
	for (size_t i = 0; i < N(canon); i++) {
		a = A(canon[i][0]);
		net_addr_canon(&a, &c);
		net_addr_format(&c, t);
		assert_string_equal(t, canon[i][1]);
	}
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	inet_pton(AF_INET6, "::1", &sa6.sin6_addr);
	uint16_t port;
	assert_int_equal(net_addr_from_sockaddr((struct sockaddr *)&sa6, sizeof(sa6),
						&a, &port), 0);
	assert_int_equal(port, 443);
	assert_true(net_addr_equal(&a, &(struct net_addr){ 0 }) == false);
	assert_int_equal(net_addr_from_sockaddr((struct sockaddr *)&sa6, 8, &a,
						&port), -1);
}

static void cidrs(void **state)
{
	(void)state;
	struct net_cidr c, d;
	struct aj_err e;
	char t[NET_CIDR_STRLEN];
	const char *good[][2] = {
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "1.2.3.4/32", "1.2.3.4" },
		{ "1.2.3.4", "1.2.3.4" },
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "::/0", "::/0" },
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8" },
		{ "::ffff:0:0/96", "0.0.0.0/0" },
		{ "::ffff:127.0.0.1", "127.0.0.1" },
		{ "64:ff9b::/96", "0.0.0.0/0" },
		{ "::/8", "::/8" },
	};
	for (size_t i = 0; i < N(good); i++) {
		assert_int_equal(net_cidr_parse(good[i][0], strlen(good[i][0]), &c, &e), 0);
		net_cidr_format(&c, t);
		assert_string_equal(t, good[i][1]);
	}
	const char *bad[] = { "10.1.0.0/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08",
			      "10.0.0.0/-1", "10.0.0.0/8/8", "::/129", "x/8", "/8",
			      "10.0.0.0/1000", "10.0.0.0/ 8", "10/8" };
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(net_cidr_parse(bad[i], strlen(bad[i]), &c, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
	}
	assert_int_equal(net_cidr_parse("10.0.0.0/8", 10, &c, &e), 0);
	struct net_addr a = A("10.255.1.2");
	assert_true(net_cidr_contains(&c, &a));
	a = A("11.0.0.0");
	assert_false(net_cidr_contains(&c, &a));
	a = A("::ffff:10.0.0.1"); /* not canonical: no match */
	assert_false(net_cidr_contains(&c, &a));
	assert_int_equal(net_cidr_parse("10.1.0.0/16", 11, &d, &e), 0);
	assert_true(net_cidr_covers(&c, &d));
	assert_false(net_cidr_covers(&d, &c));
	assert_int_equal(net_cidr_parse("100.64.0.0/10", 13, &c, &e), 0);
	a = A("100.127.255.255");
	assert_true(net_cidr_contains(&c, &a));
	a = A("100.128.0.0");
	assert_false(net_cidr_contains(&c, &a));
}

static void cidr_lists(void **state)
{
	(void)state;
	struct net_cidr *v;
	size_t n;
	struct aj_err e;
	char t[NET_CIDR_STRLEN];
	assert_int_equal(net_cidr_list_parse("127.0.0.1, 10.0.0.0/8 ,::1,fd00::/8", &v, &n, &e), 0);
	assert_int_equal(n, 4);
	net_cidr_format(&v[1], t);
	assert_string_equal(t, "10.0.0.0/8");
	net_cidr_format(&v[3], t);
	assert_string_equal(t, "fd00::/8");
	free(v);
	assert_int_equal(net_cidr_list_parse("10.0.0.0/8", &v, &n, &e), 0);
	assert_int_equal(n, 1);
	free(v);
	const struct { const char *s, *msg; } bad[] = {
		{ "", "range 1 '': empty range" },
		{ "10.0.0.0/8,", "range 2 '': empty range" },
		{ "10.0.0.0/8,,::1", "range 2 '': empty range" },
		{ "10.0.0.0/8, 127.1", "range 2 '127.1': not an IP address" },
		{ "10.1.0.0/8", "range 1 '10.1.0.0/8': address has bits set below the /8 prefix" },
	};
	for (size_t i = 0; i < N(bad); i++) {
		v = (struct net_cidr *)1;
		assert_int_equal(net_cidr_list_parse(bad[i].s, &v, &n, &e), -1);
		assert_null(v);
		assert_string_equal(e.msg, bad[i].msg);
	}
	char many[257 * 4 + 1] = "";
	for (int i = 0; i < 257; i++)
		strcat(many, i ? ",::1" : "::1");
	assert_int_equal(net_cidr_list_parse(many, &v, &n, &e), -1);
	assert_non_null(strstr(e.msg, "more than 256"));
	many[strlen(many) - 4] = '\0';
	assert_int_equal(net_cidr_list_parse(many, &v, &n, &e), 0);
	assert_int_equal(n, 256);
	free(v);
}

static void entries(void **state)
{
	(void)state;
	struct net_entry en, back;
	struct aj_err e;
	char t[NET_ENTRY_STRLEN];
	const char *good[][2] = {
		{ "api.github.com", "api.github.com" },
		{ "API.github.com.", "api.github.com" },
		{ "*.pypi.org", "*.pypi.org" },
		{ "*.PyPI.org.:443", "*.pypi.org:443" },
		{ "api.github.com:443", "api.github.com:443" },
		{ "140.82.112.3", "140.82.112.3" },
		{ "140.82.112.3:22", "140.82.112.3:22" },
		{ "10.0.0.0/8:5432", "10.0.0.0/8:5432" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "[2001:db8::1]", "2001:db8::1" },
		{ "[2001:db8::1]:443", "[2001:db8::1]:443" },
		{ "[2001:db8::/32]:443", "[2001:db8::/32]:443" },
		{ "::ffff:127.0.0.1", "127.0.0.1" },
		{ "[::ffff:127.0.0.1]:80", "127.0.0.1:80" },
		{ "x:65535", "x:65535" },
		{ "*.com", "*.com" },
	};
	for (size_t i = 0; i < N(good); i++) {
		assert_int_equal(net_entry_parse(good[i][0], &en, &e), 0);
		net_entry_format(&en, t);
		assert_string_equal(t, good[i][1]);
		assert_int_equal(net_entry_parse(t, &back, &e), 0);
		assert_memory_equal(&en, &back, sizeof(en));
	}
	const char *bad[] = {
		"", "*", "*.", "*.*.x.com", "**.x.com", "*x.com", "a.*.com", "x.com*",
		"*.1.2.3.4", "127.1", "0x7f.1", "2130706433", "x:0", "x:65536", "x:080",
		"x:", ":80", "x:8a", "[x.com]:80", "[10.0.0.0/8]", "[::1", "[::1]80",
		"[::1]:", "10.1.0.0/8", "fe80::1%eth0", "http://x.com", "x.com/path",
		"a b", "x.com:80:90",
	};
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(net_entry_parse(bad[i], &en, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
		assert_true(e.msg[0] != '\0');
	}
	char longer[NET_ENTRY_MAX_LEN + 2];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(net_entry_parse(longer, &en, &e), -1);
	assert_non_null(strstr(e.msg, "longer than"));
}

static void policy_lists(void **state)
{
	(void)state;
	struct net_policy p;
	struct aj_err e;
	enum net_mode m;
	assert_int_equal(net_mode_parse("allow", &m, &e), 0);
	assert_int_equal(m, NET_MODE_ALLOW);
	assert_int_equal(net_mode_parse("ALLOW", &m, &e), -1);
	assert_int_equal(net_mode_parse("all\x01", &m, &e), -1);
	assert_non_null(strstr(e.msg, "'all?'"));
	assert_string_equal(net_mode_name(NET_MODE_OPEN), "open");

	const char *allow[] = { "pypi.org", "*.foo", "bad entry!" };
	assert_int_equal(net_policy_parse(NET_MODE_ALLOW, allow, 3, NULL, 0, &p, &e), -1);
	assert_string_equal(e.msg, "allow_out[2] 'bad entry!': character 0x20 not "
			    "allowed in a host name (letters, digits, '-', '_'; IDNA as xn--)");
	assert_null(p.allow);
	const char *deny[] = { "10.0.0.0/8", "\xff\xfe" };
	assert_int_equal(net_policy_parse(NET_MODE_OPEN, NULL, 0, deny, 2, &p, &e), -1);
	assert_non_null(strstr(e.msg, "deny_out[1] '?\?'"));
	assert_int_equal(net_policy_parse(NET_MODE_OPEN, allow, 1, NULL, 0, &p, &e), -1);
	assert_non_null(strstr(e.msg, "allow_out needs egress 'allow'"));
	assert_int_equal(net_policy_parse(NET_MODE_NONE, allow, 1, NULL, 0, &p, &e), -1);
	assert_int_equal(net_policy_parse(NET_MODE_NONE, NULL, 0, deny, 1, &p, &e), 0);
	assert_int_equal(p.ndeny, 1);
	net_policy_free(&p);
	assert_int_equal(net_policy_parse(NET_MODE_ALLOW, allow, 2, deny, 1, &p, &e), 0);
	assert_int_equal(p.nallow, 2);
	assert_int_equal(p.allow[1].kind, NET_ENTRY_WILDCARD);
	assert_string_equal(p.allow[1].name, "foo");
	struct net_policy q;
	assert_int_equal(net_policy_copy(&p, &q, &e), 0);
	assert_int_equal(q.nallow, 2);
	assert_memory_equal(q.allow, p.allow, 2 * sizeof(*p.allow));
	net_policy_free(&q);
	net_policy_free(&p);
	net_policy_free(&p); /* twice is harmless */

	static const char *many[NET_POLICY_MAX_ENTRIES + 1];
	for (size_t i = 0; i < N(many); i++)
		many[i] = "x.com";
	assert_int_equal(net_policy_parse(NET_MODE_ALLOW, many, N(many), NULL, 0, &p, &e), -1);
	assert_non_null(strstr(e.msg, "more than"));
	assert_int_equal(net_policy_parse(NET_MODE_ALLOW, many, N(many) - 1, NULL, 0, &p, &e), 0);
	net_policy_free(&p);
	assert_int_equal(net_policy_parse((enum net_mode)7, NULL, 0, NULL, 0, &p, &e), -1);
}

/* A policy from literals; fails the test on a parse error. */
static struct net_policy P(enum net_mode m, const char *allow, const char *deny)
{
	const char *a[16], *d[16];
	static char abuf[512], dbuf[512];
	size_t na = 0, nd = 0;
	snprintf(abuf, sizeof(abuf), "%s", allow ? allow : "");
	snprintf(dbuf, sizeof(dbuf), "%s", deny ? deny : "");
	for (char *s = strtok(abuf, " "); s; s = strtok(NULL, " "))
		a[na++] = s;
	for (char *s = strtok(dbuf, " "); s; s = strtok(NULL, " "))
		d[nd++] = s;
	struct net_policy p;
	struct aj_err e = { 0 };
	int rc = net_policy_parse(m, a, na, d, nd, &p, &e);
	if (rc < 0)
		fail_msg("policy: %s", e.msg);
	return p;
}

static void expect_name(const struct net_policy *p, const char *name,
			uint16_t port, bool allow, const char *rule)
{
	struct net_verdict v;
	net_check_name(p, name, port, &v);
	if (v.allow != allow || strcmp(v.rule, rule) != 0)
		fail_msg("%s:%u -> %s '%s', expected %s '%s'", name, port,
			 v.allow ? "allow" : "deny", v.rule, allow ? "allow" : "deny", rule);
}

static void expect_addr(const struct net_policy *p, const struct net_ops *ops,
			const char *name, const char *addr, uint16_t port,
			bool allow, const char *rule)
{
	struct net_verdict v;
	struct net_addr a = A(addr);
	net_check_addr(p, ops, name, &a, port, &v);
	if (v.allow != allow || strcmp(v.rule, rule) != 0)
		fail_msg("%s (%s):%u -> %s '%s', expected %s '%s'", addr,
			 name ? name : "-", port, v.allow ? "allow" : "deny", v.rule,
			 allow ? "allow" : "deny", rule);
}

static void check_names(void **state)
{
	(void)state;
	struct net_policy p = P(NET_MODE_ALLOW, "*.evil.com pypi.org *.pypi.org "
				"api.github.com:443", "bad.evil.com x.pypi.org:80");
	expect_name(&p, "a.evil.com", 443, true, "allow_out *.evil.com");
	expect_name(&p, "A.B.EVIL.COM.", 443, true, "allow_out *.evil.com");
	expect_name(&p, "evil.com", 443, false, "no allow_out entry matches");
	expect_name(&p, "notevil.com", 443, false, "no allow_out entry matches");
	expect_name(&p, "evil.com.attacker.net", 443, false, "no allow_out entry matches");
	expect_name(&p, "bad.evil.com", 443, false, "deny_out bad.evil.com");
	expect_name(&p, "BAD.evil.com.", 0, false, "deny_out bad.evil.com");
	expect_name(&p, "x.bad.evil.com", 443, true, "allow_out *.evil.com");
	expect_name(&p, "PyPI.org.", 443, true, "allow_out pypi.org");
	expect_name(&p, "files.pypi.org", 443, true, "allow_out *.pypi.org");
	/* a deny with a port: denies that port, does not stop resolving */
	expect_name(&p, "x.pypi.org", 80, false, "deny_out x.pypi.org:80");
	expect_name(&p, "x.pypi.org", 443, true, "allow_out *.pypi.org");
	expect_name(&p, "x.pypi.org", 0, true, "allow_out *.pypi.org");
	/* an allow with a port: only that port, but the name resolves */
	expect_name(&p, "api.github.com", 443, true, "allow_out api.github.com:443");
	expect_name(&p, "api.github.com", 22, false, "no allow_out entry matches");
	expect_name(&p, "api.github.com", 0, true, "allow_out api.github.com:443");
	expect_name(&p, "127.1", 0, false,
		    "invalid name: looks like a numeric IPv4 address; write "
		    "addresses as four decimal parts");
	expect_name(&p, "0x7f.1", 0, false,
		    "invalid name: looks like a numeric IPv4 address; write "
		    "addresses as four decimal parts");
	expect_name(&p, "", 0, false, "invalid name: empty name");
	net_policy_free(&p);

	p = P(NET_MODE_NONE, NULL, NULL);
	expect_name(&p, "pypi.org", 443, false, "egress none");
	net_policy_free(&p);
	p = P(NET_MODE_OPEN, NULL, "*.evil.com evil.com");
	expect_name(&p, "pypi.org", 443, true, "egress open");
	expect_name(&p, "EVIL.COM.", 443, false, "deny_out evil.com");
	expect_name(&p, "x.evil.com", 443, false, "deny_out *.evil.com");
	expect_name(&p, "notevil.com", 443, true, "egress open");
	net_policy_free(&p);
}

static void check_reserved(void **state)
{
	(void)state;
	struct net_policy open = P(NET_MODE_OPEN, NULL, NULL);
	struct { const char *addr, *what; } r[] = {
		{ "127.0.0.1", "loopback 127.0.0.0/8" },
		{ "127.255.255.254", "loopback 127.0.0.0/8" },
		{ "::ffff:127.0.0.1", "loopback 127.0.0.0/8" },
		{ "::ffff:7f00:2", "loopback 127.0.0.0/8" },
		{ "64:ff9b::127.0.0.1", "loopback 127.0.0.0/8" },
		{ "::1", "loopback ::1" },
		{ "0.0.0.0", "this network 0.0.0.0/8" },
		{ "::", "unspecified ::" },
		{ "::127.0.0.1", "reserved ::/8" },
		{ "::ffff:0:127.0.0.1", "reserved ::/8" },
		{ "10.0.0.1", "private 10.0.0.0/8" },
		{ "172.16.0.1", "private 172.16.0.0/12" },
		{ "172.31.255.255", "private 172.16.0.0/12" },
		{ "192.168.1.1", "private 192.168.0.0/16" },
		{ "100.64.0.1", "shared (CGNAT) 100.64.0.0/10" },
		{ "169.254.169.254", "link-local (cloud metadata) 169.254.0.0/16" },
		{ "::ffff:169.254.169.254", "link-local (cloud metadata) 169.254.0.0/16" },
		{ "64:ff9b::a9fe:a9fe", "link-local (cloud metadata) 169.254.0.0/16" },
		{ "fe80::1", "link-local fe80::/10" },
		{ "febf::1", "link-local fe80::/10" },
		{ "fec0::1", "site-local fec0::/10" },
		{ "fc00::1", "unique local fc00::/7" },
		{ "fd12:3456::1", "unique local fc00::/7" },
		{ "224.0.0.1", "multicast 224.0.0.0/4" },
		{ "239.255.255.250", "multicast 224.0.0.0/4" },
		{ "ff02::1", "multicast ff00::/8" },
		{ "240.0.0.1", "reserved and broadcast 240.0.0.0/4" },
		{ "255.255.255.255", "reserved and broadcast 240.0.0.0/4" },
		{ "192.0.0.170", "IETF protocol assignments 192.0.0.0/24" },
		{ "192.0.2.1", "documentation 192.0.2.0/24" },
		{ "198.51.100.1", "documentation 198.51.100.0/24" },
		{ "203.0.113.1", "documentation 203.0.113.0/24" },
		{ "198.19.0.1", "benchmarking 198.18.0.0/15" },
		{ "192.88.99.1", "6to4 relay 192.88.99.0/24" },
		{ "2001:db8::1", "documentation 2001:db8::/32" },
		{ "3fff::1", "documentation 3fff::/20" },
		{ "2001::1", "Teredo 2001::/32" },
		{ "2002:7f00:1::1", "6to4 2002::/16" },
		{ "64:ff9b:1::1", "local-use NAT64 64:ff9b:1::/48" },
		{ "100::1", "discard 100::/64" },
	};
	char rule[NET_RULE_STRLEN];
	for (size_t i = 0; i < N(r); i++) {
		snprintf(rule, sizeof(rule), "always denied: %s", r[i].what);
		expect_addr(&open, NULL, NULL, r[i].addr, 443, false, rule);
	}
	const char *public[] = { "1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.0",
				 "172.15.255.255", "172.32.0.0", "169.253.255.255",
				 "223.255.255.255", "11.0.0.0", "2606:4700::1111",
				 "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2001:4860::8888",
				 "198.20.0.0", "192.0.1.1", "126.255.255.255", "128.0.0.1" };
	for (size_t i = 0; i < N(public); i++) {
		struct net_addr a = A(public[i]);
		assert_null(net_reserved(&a, NULL));
		expect_addr(&open, NULL, NULL, public[i], 443, true, "egress open");
	}
	net_policy_free(&open);
}

static void check_addrs(void **state)
{
	(void)state;
	struct net_policy p = P(NET_MODE_ALLOW, "api.github.com 1.2.3.4 5.6.0.0/16:22 "
				"127.0.0.1 10.1.0.0/16 2606:4700::/32",
				"5.6.7.8 *.evil.com 2606:4700:1::/48");
	/* names pass with any non-reserved address, unless a deny range matches */
	expect_addr(&p, NULL, "api.github.com", "140.82.112.3", 443, true,
		    "allow_out api.github.com");
	expect_addr(&p, NULL, "API.GITHUB.COM.", "140.82.112.3", 443, true,
		    "allow_out api.github.com");
	expect_addr(&p, NULL, "other.com", "140.82.112.3", 443, false,
		    "no allow_out entry matches");
	expect_addr(&p, NULL, NULL, "140.82.112.3", 443, false, "no allow_out entry matches");
	expect_addr(&p, NULL, "api.github.com", "5.6.7.8", 443, false, "deny_out 5.6.7.8");
	expect_addr(&p, NULL, "api.github.com", "::ffff:5.6.7.8", 443, false,
		    "deny_out 5.6.7.8");
	expect_addr(&p, NULL, "api.github.com", "64:ff9b::5.6.7.8", 443, false,
		    "deny_out 5.6.7.8");
	expect_addr(&p, NULL, "a.evil.com", "1.2.3.4", 443, false, "deny_out *.evil.com");
	expect_addr(&p, NULL, "a.b", "1.2.3.4", 443, true, "allow_out 1.2.3.4");
	expect_addr(&p, NULL, NULL, "::ffff:1.2.3.4", 80, true, "allow_out 1.2.3.4");
	expect_addr(&p, NULL, NULL, "5.6.9.9", 22, true, "allow_out 5.6.0.0/16:22");
	expect_addr(&p, NULL, NULL, "5.6.9.9", 23, false, "no allow_out entry matches");
	expect_addr(&p, NULL, NULL, "2606:4700::1111", 443, true,
		    "allow_out 2606:4700::/32");
	expect_addr(&p, NULL, NULL, "2606:4700:1::1", 443, false,
		    "deny_out 2606:4700:1::/48");
	expect_addr(&p, NULL, "bad..name", "1.2.3.4", 443, false,
		    "invalid name: empty label");

	/* an allow entry naming a reserved address is not enough ... */
	expect_addr(&p, NULL, NULL, "127.0.0.1", 80, false,
		    "always denied: loopback 127.0.0.0/8");
	expect_addr(&p, NULL, "api.github.com", "10.1.2.3", 443, false,
		    "always denied: private 10.0.0.0/8");
	/* ... the operator must cover it too, and then the policy decides */
	struct net_cidr ok[2];
	struct aj_err e;
	assert_int_equal(net_cidr_parse("127.0.0.1", 9, &ok[0], &e), 0);
	assert_int_equal(net_cidr_parse("10.0.0.0/8", 10, &ok[1], &e), 0);
	struct net_addr self[] = { A("203.0.113.7"), A("::ffff:8.8.4.4") };
	struct net_ops ops = { ok, 2, self, 2 };
	expect_addr(&p, &ops, NULL, "127.0.0.1", 80, true, "allow_out 127.0.0.1");
	expect_addr(&p, &ops, NULL, "::ffff:127.0.0.1", 80, true, "allow_out 127.0.0.1");
	expect_addr(&p, &ops, NULL, "127.0.0.2", 80, false,
		    "always denied: loopback 127.0.0.0/8");
	expect_addr(&p, &ops, NULL, "10.1.2.3", 80, true, "allow_out 10.1.0.0/16");
	expect_addr(&p, &ops, NULL, "10.2.2.3", 80, false, "no allow_out entry matches");
	expect_addr(&p, &ops, "api.github.com", "10.2.2.3", 80, true,
		    "allow_out api.github.com");
	expect_addr(&p, &ops, NULL, "169.254.169.254", 80, false,
		    "always denied: link-local (cloud metadata) 169.254.0.0/16");
	/* the host's own addresses, in any form */
	expect_addr(&p, &ops, "api.github.com", "8.8.4.4", 443, false,
		    "always denied: host address 8.8.4.4");
	expect_addr(&p, &ops, "api.github.com", "::ffff:8.8.4.4", 443, false,
		    "always denied: host address 8.8.4.4");
	expect_addr(&p, &ops, "api.github.com", "203.0.113.7", 443, false,
		    "always denied: documentation 203.0.113.0/24");
	net_policy_free(&p);

	p = P(NET_MODE_OPEN, NULL, "9.9.9.9");
	expect_addr(&p, &ops, NULL, "10.9.9.9", 443, true, "egress open");
	expect_addr(&p, NULL, NULL, "10.9.9.9", 443, false,
		    "always denied: private 10.0.0.0/8");
	expect_addr(&p, &ops, NULL, "9.9.9.9", 443, false, "deny_out 9.9.9.9");
	net_policy_free(&p);
	p = P(NET_MODE_NONE, NULL, NULL);
	expect_addr(&p, &ops, NULL, "127.0.0.1", 443, false, "egress none");
	expect_addr(&p, &ops, "x.com", "8.8.8.8", 443, false, "egress none");
	net_policy_free(&p);

	struct net_verdict v;
	struct net_addr a = A("127.0.0.1");
	p = P(NET_MODE_OPEN, NULL, NULL);
	net_check_addr(&p, NULL, NULL, &a, 1, &v);
	assert_int_equal(v.reason, NET_R_RESERVED);
	assert_string_equal(net_reason_name(v.reason), "reserved");
	assert_string_equal(net_reason_name(NET_R_HOST_ADDR), "host_address");
	net_policy_free(&p);
}

static void expect_within(const struct net_policy *ceil,
			  const struct net_policy *req, const char *err)
{
	struct aj_err e = { 0 };
	int rc = net_policy_within(ceil, req, &e);
	if (!err && rc != 0)
		fail_msg("unexpected: %s", e.msg);
	if (err && (rc != -1 || strcmp(e.msg, err) != 0 || e.code != AJ_EFORBIDDEN))
		fail_msg("expected '%s', got rc %d '%s'", err, rc, e.msg);
}

static void ceilings(void **state)
{
	(void)state;
	struct net_policy none = P(NET_MODE_NONE, NULL, NULL);
	struct net_policy open = P(NET_MODE_OPEN, NULL, "1.1.1.1");
	struct net_policy ceil = P(NET_MODE_ALLOW, "*.github.com pypi.org 10.0.0.0/8 "
				   "x.com:443 [2001:db8::/32]:22", "bad.github.com");
	struct net_policy ok = P(NET_MODE_ALLOW, "api.github.com *.github.com "
				 "*.api.github.com pypi.org 10.1.0.0/16 10.2.3.4 "
				 "x.com:443 [2001:db8:1::/48]:22", NULL);
	expect_within(&ceil, &ok, NULL);
	expect_within(&open, &ok, NULL);
	expect_within(&open, &open, NULL);
	expect_within(&ceil, &none, NULL);
	expect_within(&none, &none, NULL);
	expect_within(&ceil, &open, "egress 'open' is above this tenant's ceiling 'allow'");
	expect_within(&none, &ok, "egress 'allow' is above this tenant's ceiling 'none'");
	const char *excess[][2] = {
		{ "github.com", "allow_out 'github.com' is outside this tenant's ceiling" },
		{ "*.pypi.org", "allow_out '*.pypi.org' is outside this tenant's ceiling" },
		{ "*.com", "allow_out '*.com' is outside this tenant's ceiling" },
		{ "x.com", "allow_out 'x.com' is outside this tenant's ceiling" },
		{ "x.com:80", "allow_out 'x.com:80' is outside this tenant's ceiling" },
		{ "0.0.0.0/0", "allow_out '0.0.0.0/0' is outside this tenant's ceiling" },
		{ "10.0.0.0/7", "allow_out '10.0.0.0/7' is outside this tenant's ceiling" },
		{ "11.0.0.1", "allow_out '11.0.0.1' is outside this tenant's ceiling" },
		{ "2001:db8::1", "allow_out '2001:db8::1' is outside this tenant's ceiling" },
		{ "notgithub.com", "allow_out 'notgithub.com' is outside this tenant's ceiling" },
	};
	for (size_t i = 0; i < N(excess); i++) {
		struct net_policy r = P(NET_MODE_ALLOW, excess[i][0], NULL);
		expect_within(&ceil, &r, excess[i][1]);
		net_policy_free(&r);
	}

	/* clamp: the ceiling's deny entries come along */
	struct net_policy eff;
	struct aj_err e;
	assert_int_equal(net_policy_clamp(&ceil, &ok, &eff, &e), 0);
	assert_int_equal(eff.nallow, ok.nallow);
	assert_int_equal(eff.ndeny, 1);
	expect_name(&eff, "api.github.com", 443, true, "allow_out api.github.com");
	expect_name(&eff, "bad.github.com", 443, false, "deny_out bad.github.com");
	net_policy_free(&eff);
	struct net_policy req = P(NET_MODE_OPEN, NULL, "2.2.2.2");
	assert_int_equal(net_policy_clamp(&open, &req, &eff, &e), 0);
	assert_int_equal(eff.ndeny, 2);
	expect_addr(&eff, NULL, NULL, "1.1.1.1", 443, false, "deny_out 1.1.1.1");
	expect_addr(&eff, NULL, NULL, "2.2.2.2", 443, false, "deny_out 2.2.2.2");
	expect_addr(&eff, NULL, NULL, "3.3.3.3", 443, true, "egress open");
	net_policy_free(&eff);
	assert_int_equal(net_policy_clamp(&ceil, &req, &eff, &e), -1);
	assert_null(eff.deny);
	net_policy_free(&req);
	net_policy_free(&none);
	net_policy_free(&open);
	net_policy_free(&ceil);
	net_policy_free(&ok);
}

static void quote(void **state)
{
	(void)state;
	char q[8];
	assert_string_equal(net_text_quote(q, sizeof(q), "abc", 3), "abc");
	assert_string_equal(net_text_quote(q, sizeof(q), "a\nb\x80", 4), "a?b?");
	assert_string_equal(net_text_quote(q, sizeof(q), "abcdefghij", 10), "abcd...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),         cmocka_unit_test(name_lengths),
		cmocka_unit_test(name_under),    cmocka_unit_test(addresses),
		cmocka_unit_test(cidrs),         cmocka_unit_test(cidr_lists),
		cmocka_unit_test(entries),
		cmocka_unit_test(policy_lists),  cmocka_unit_test(check_names),
		cmocka_unit_test(check_reserved), cmocka_unit_test(check_addrs),
		cmocka_unit_test(ceilings),      cmocka_unit_test(quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
