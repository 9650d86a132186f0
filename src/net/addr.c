/* addr.c - strict address and CIDR parsing, canonical forms, matching. */
#include "net/addr.h"
#include "net/name.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const uint8_t nat64_prefix[12] = { 0, 0x64, 0xff, 0x9b };

static unsigned addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

int net_addr_parse(const char *s, size_t len, struct net_addr *a)
{
	char tmp[NET_ADDR_STRLEN];
	if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, tmp, a->b) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, a->b) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

int net_addr_from_sockaddr(const struct sockaddr *sa, socklen_t salen,
			   struct net_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		a->family = AF_INET;
		memcpy(a->b, &in->sin_addr, 4);
		if (port)
			*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		a->family = AF_INET6;
		memcpy(a->b, &in6->sin6_addr, 16);
		if (port)
			*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -1;
}

void net_addr_canon(const struct net_addr *a, struct net_addr *out)
{
	struct net_addr r = *a;
	if (a->family == AF_INET6 &&
	    (memcmp(a->b, mapped_prefix, 12) == 0 ||
	     memcmp(a->b, nat64_prefix, 12) == 0)) {
		memset(&r, 0, sizeof(r));
		r.family = AF_INET;
		memcpy(r.b, a->b + 12, 4);
	}
	if (r.family == AF_INET)
		memset(r.b + 4, 0, 12);
	*out = r;
}

bool net_addr_equal(const struct net_addr *x, const struct net_addr *y)
{
	return x->family == y->family &&
	       memcmp(x->b, y->b, x->family == AF_INET ? 4 : 16) == 0;
}

void net_addr_format(const struct net_addr *a, char out[NET_ADDR_STRLEN])
{
	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->b, out,
		       NET_ADDR_STRLEN))
		snprintf(out, NET_ADDR_STRLEN, "?");
}

/* Do x and y agree on their first `bits` bits? */
static bool prefix_equal(const uint8_t *x, const uint8_t *y, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(x, y, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (x[whole] & mask) == (y[whole] & mask);
}

static bool host_bits_zero(const struct net_addr *a, unsigned prefix)
{
	unsigned bits = addr_bits(a->family);
	for (unsigned i = prefix; i < bits; i++)
		if (a->b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* A v6 range inside ::ffff:0:0/96 or 64:ff9b::/96 becomes the v4 range. */
static void cidr_canon(struct net_cidr *c)
{
	if (c->addr.family != AF_INET6 || c->prefix < 96)
		return;
	struct net_addr v4;
	net_addr_canon(&c->addr, &v4);
	if (v4.family == AF_INET) {
		c->addr = v4;
		c->prefix -= 96;
	}
}

static int parse_prefix(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int net_cidr_parse(const char *s, size_t len, struct net_cidr *c,
		   struct aj_err *e)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	if (net_addr_parse(s, alen, &c->addr) < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "not an IP address");
	unsigned max = addr_bits(c->addr.family);
	c->prefix = max;
	if (slash && parse_prefix(slash + 1, len - alen - 1, max, &c->prefix) < 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "bad prefix length (0..%u, no leading zeros)", max);
	if (!host_bits_zero(&c->addr, c->prefix))
		return aj_err_set(e, AJ_EINVAL, 0,
				  "address has bits set below the /%u prefix",
				  c->prefix);
	cidr_canon(c);
	return 0;
}

bool net_cidr_contains(const struct net_cidr *c, const struct net_addr *a)
{
	return c->addr.family == a->family &&
	       prefix_equal(c->addr.b, a->b, c->prefix);
}

bool net_cidr_covers(const struct net_cidr *outer, const struct net_cidr *inner)
{
	return outer->addr.family == inner->addr.family &&
	       outer->prefix <= inner->prefix &&
	       prefix_equal(outer->addr.b, inner->addr.b, outer->prefix);
}

void net_cidr_format(const struct net_cidr *c, char out[NET_CIDR_STRLEN])
{
	char a[NET_ADDR_STRLEN];
	net_addr_format(&c->addr, a);
	if (c->prefix == addr_bits(c->addr.family))
		snprintf(out, NET_CIDR_STRLEN, "%s", a);
	else
		snprintf(out, NET_CIDR_STRLEN, "%s/%u", a, c->prefix);
}

#define CIDR_LIST_MAX 256

static const char *trim(const char *s, size_t *len)
{
	while (*len && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

int net_cidr_list_parse(const char *s, struct net_cidr **out, size_t *n,
			struct aj_err *e)
{
	*out = NULL;
	*n = 0;
	struct net_cidr *v = calloc(CIDR_LIST_MAX, sizeof(*v));
	if (!v)
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	size_t k = 0;
	for (const char *p = s ? s : "";; k++) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *item = trim(p, &len);
		if (k == CIDR_LIST_MAX) {
			free(v);
			return aj_err_set(e, AJ_EINVAL, 0, "more than %d ranges", CIDR_LIST_MAX);
		}
		if (len == 0 || net_cidr_parse(item, len, &v[k], e) < 0) {
			if (len == 0)
				aj_err_set(e, AJ_EINVAL, 0, "empty range");
			free(v);
			char q[64];
			return aj_err_wrap(e, "range %zu '%s'", k + 1,
					   net_text_quote(q, sizeof(q), item, len));
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = v;
	*n = k + 1;
	return 0;
}
