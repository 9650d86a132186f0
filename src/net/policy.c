/* policy.c - egress policy entries and lists: parse, format, copy, free.
 * The decisions are in policy_check.c, tenant ceilings in
 * policy_ceiling.c. */
#include "net/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = { "none", "allow", "open" };

int net_mode_parse(const char *s, enum net_mode *m, struct aj_err *e)
{
	for (int i = 0; i < 3; i++)
		if (s && strcmp(s, mode_names[i]) == 0) {
			*m = (enum net_mode)i;
			return 0;
		}
	char q[40];
	return aj_err_set(e, AJ_EINVAL, 0,
			  "egress mode '%s' is not none, allow or open",
			  net_text_quote(q, sizeof(q), s ? s : "", s ? strlen(s) : 0));
}

const char *net_mode_name(enum net_mode m)
{
	return (unsigned)m < 3 ? mode_names[m] : "?";
}

/* "443" -> 443; 1..65535, decimal, no leading zero. */
static int parse_port(const char *s, size_t len, uint16_t *port,
		      struct aj_err *e)
{
	unsigned v = 0;
	if (len == 0 || len > 5 || s[0] == '0')
		return aj_err_set(e, AJ_EINVAL, 0, "bad port (1..65535)");
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return aj_err_set(e, AJ_EINVAL, 0, "bad port (1..65535)");
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return aj_err_set(e, AJ_EINVAL, 0, "bad port (1..65535)");
	*port = (uint16_t)v;
	return 0;
}

/* Split "HOST[:PORT]" / "[V6[/N]][:PORT]" into the host part and port. */
static int split_port(const char *s, size_t len, const char **host,
		      size_t *hlen, uint16_t *port, struct aj_err *e)
{
	*port = 0;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return aj_err_set(e, AJ_EINVAL, 0, "'[' without ']'");
		*host = s + 1;
		*hlen = (size_t)(close - s) - 1;
		size_t rest = len - (size_t)(close - s) - 1;
		if (memchr(*host, ':', *hlen) == NULL)
			return aj_err_set(e, AJ_EINVAL, 0,
					  "brackets are for IPv6 addresses only");
		if (rest == 0)
			return 0;
		if (close[1] != ':')
			return aj_err_set(e, AJ_EINVAL, 0, "junk after ']'");
		return parse_port(close + 2, rest - 1, port, e);
	}
	*host = s;
	*hlen = len;
	const char *colon = memchr(s, ':', len);
	if (!colon || memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
		return 0; /* no port, or an IPv6 address without brackets */
	*hlen = (size_t)(colon - s);
	return parse_port(colon + 1, len - *hlen - 1, port, e);
}

static int parse_host(const char *h, size_t len, struct net_entry *out,
		      struct aj_err *e)
{
	if (len >= 2 && h[0] == '*' && h[1] == '.') {
		out->kind = NET_ENTRY_WILDCARD;
		return net_name_normalize(h + 2, len - 2, out->name, e);
	}
	if (memchr(h, '*', len))
		return aj_err_set(e, AJ_EINVAL, 0,
				  "'*' only as a leading '*.' (use egress "
				  "open for everything)");
	if (memchr(h, '/', len) || net_addr_parse(h, len, &out->cidr.addr) == 0) {
		out->kind = NET_ENTRY_CIDR;
		return net_cidr_parse(h, len, &out->cidr, e);
	}
	out->kind = NET_ENTRY_NAME;
	return net_name_normalize(h, len, out->name, e);
}

int net_entry_parse(const char *s, struct net_entry *out, struct aj_err *e)
{
	memset(out, 0, sizeof(*out));
	size_t len = s ? strlen(s) : 0;
	if (len == 0)
		return aj_err_set(e, AJ_EINVAL, 0, "empty entry");
	if (len > NET_ENTRY_MAX_LEN)
		return aj_err_set(e, AJ_EINVAL, 0, "longer than %d bytes",
				  NET_ENTRY_MAX_LEN);
	const char *host = s;
	size_t hlen = 0;
	if (split_port(s, len, &host, &hlen, &out->port, e) < 0)
		return -1;
	if (hlen == 0)
		return aj_err_set(e, AJ_EINVAL, 0, "no host before the port");
	return parse_host(host, hlen, out, e);
}

void net_entry_format(const struct net_entry *en, char out[NET_ENTRY_STRLEN])
{
	char host[NET_ENTRY_STRLEN];
	bool v6 = false;
	if (en->kind == NET_ENTRY_CIDR) {
		net_cidr_format(&en->cidr, host);
		v6 = en->cidr.addr.family != AF_INET;
	} else {
		snprintf(host, sizeof(host), "%s%s",
			 en->kind == NET_ENTRY_WILDCARD ? "*." : "", en->name);
	}
	if (en->port == 0)
		snprintf(out, NET_ENTRY_STRLEN, "%s", host);
	else
		snprintf(out, NET_ENTRY_STRLEN, v6 ? "[%s]:%u" : "%s:%u", host,
			 en->port);
}

/* Parse n entries of the list called `what` into a malloc'd array. */
static int parse_list(const char *what, const char *const *in, size_t n,
		      struct net_entry **out, struct aj_err *e)
{
	*out = NULL;
	if (n == 0)
		return 0;
	if (n > NET_POLICY_MAX_ENTRIES)
		return aj_err_set(e, AJ_EINVAL, 0, "%s: more than %d entries",
				  what, NET_POLICY_MAX_ENTRIES);
	struct net_entry *v = calloc(n, sizeof(*v));
	if (!v)
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (net_entry_parse(in[i], &v[i], e) == 0)
			continue;
		char q[72];
		const char *s = in[i] ? in[i] : "";
		aj_err_wrap(e, "%s[%zu] '%s'", what, i,
			    net_text_quote(q, sizeof(q), s, strlen(s)));
		free(v);
		return -1;
	}
	*out = v;
	return 0;
}

int net_policy_parse(enum net_mode mode, const char *const *allow,
		     size_t nallow, const char *const *deny, size_t ndeny,
		     struct net_policy *out, struct aj_err *e)
{
	memset(out, 0, sizeof(*out));
	if ((unsigned)mode > NET_MODE_OPEN)
		return aj_err_set(e, AJ_EINVAL, 0, "bad egress mode");
	if (nallow > 0 && mode != NET_MODE_ALLOW)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "allow_out needs egress 'allow' (with '%s' "
				  "it would have no effect)",
				  net_mode_name(mode));
	out->mode = mode;
	if (parse_list("allow_out", allow, nallow, &out->allow, e) < 0 ||
	    parse_list("deny_out", deny, ndeny, &out->deny, e) < 0) {
		net_policy_free(out);
		return -1;
	}
	out->nallow = nallow;
	out->ndeny = ndeny;
	return 0;
}

static int copy_list(const struct net_entry *in, size_t n,
		     struct net_entry **out, struct aj_err *e)
{
	*out = NULL;
	if (n == 0)
		return 0;
	*out = malloc(n * sizeof(*in));
	if (!*out)
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	memcpy(*out, in, n * sizeof(*in));
	return 0;
}

int net_policy_copy(const struct net_policy *p, struct net_policy *out,
		    struct aj_err *e)
{
	memset(out, 0, sizeof(*out));
	out->mode = p->mode;
	if (copy_list(p->allow, p->nallow, &out->allow, e) < 0 ||
	    copy_list(p->deny, p->ndeny, &out->deny, e) < 0) {
		net_policy_free(out);
		return -1;
	}
	out->nallow = p->nallow;
	out->ndeny = p->ndeny;
	return 0;
}

void net_policy_free(struct net_policy *p)
{
	free(p->allow);
	free(p->deny);
	memset(p, 0, sizeof(*p));
}
