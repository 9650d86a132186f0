/* httphead_authority.c - "host[:port]" as it appears in a Host header, a
 * CONNECT target and an absolute URI (RFC 3986 3.2.2-3.2.3), held to what
 * the egress policy can judge: a host name (net/name.h), an IPv4 address
 * in four decimal parts, or an IPv6 address in brackets; a port of 1 to
 * 65535 without leading zeros. */
#include <string.h>

#include "net/httphead_int.h"

static int port_of(const char *s, size_t n, uint16_t *port, struct aj_err *e)
{
	unsigned v = 0;
	if (n == 0 || n > 5 || s[0] == '0')
		return aj_err_set(e, AJ_EINVAL, 0, "bad port");
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return aj_err_set(e, AJ_EINVAL, 0, "bad port");
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return aj_err_set(e, AJ_EINVAL, 0, "bad port");
	*port = (uint16_t)v;
	return 0;
}

static int v6_host(const char *s, size_t n, struct hh_authority *a,
		   size_t *used, struct aj_err *e)
{
	const char *close = memchr(s, ']', n);
	if (!close || net_addr_parse(s + 1, (size_t)(close - s) - 1, &a->addr) < 0 ||
	    a->addr.family != AF_INET6)
		return aj_err_set(e, AJ_EINVAL, 0, "bad [IPv6] host");
	*used = (size_t)(close - s) + 1;
	return 0;
}

static int plain_host(const char *s, size_t n, struct hh_authority *a,
		      struct aj_err *e)
{
	if (net_addr_parse(s, n, &a->addr) == 0)
		return a->addr.family == AF_INET ? 0
			: aj_err_set(e, AJ_EINVAL, 0, "IPv6 host without brackets");
	a->is_addr = false;
	return net_name_normalize(s, n, a->host, e);
}

int hh_authority_parse(const char *s, size_t n, struct hh_authority *a,
		       struct aj_err *e)
{
	memset(a, 0, sizeof(*a));
	size_t hlen = n;
	a->is_addr = true;
	if (n > 0 && s[0] == '[') {
		if (v6_host(s, n, a, &hlen, e) < 0)
			return -1;
		if (hlen < n && s[hlen] != ':')
			return aj_err_set(e, AJ_EINVAL, 0, "junk after ']'");
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon)
			hlen = (size_t)(colon - s);
		if (hlen == 0)
			return aj_err_set(e, AJ_EINVAL, 0, "empty host");
		if (plain_host(s, hlen, a, e) < 0)
			return -1;
	}
	if (a->is_addr)
		net_addr_format(&a->addr, a->host);
	if (hlen == n)
		return 0;
	return port_of(s + hlen + 1, n - hlen - 1, &a->port, e);
}
