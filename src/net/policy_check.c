/* policy_check.c - the decisions of an egress policy (policy.h has the
 * order: reserved / host addresses, deny, mode, allow). */
#include <stdio.h>
#include <string.h>

#include "net/policy.h"
#include "net/reserved.h"

static const char *const reason_names[] = {
	[NET_R_ALLOW_ENTRY] = "allow_entry", [NET_R_OPEN] = "open",
	[NET_R_DENY_ENTRY] = "deny_entry",   [NET_R_RESERVED] = "reserved",
	[NET_R_HOST_ADDR] = "host_address",  [NET_R_NONE] = "none",
	[NET_R_NOT_ALLOWED] = "not_allowed", [NET_R_BAD_NAME] = "bad_name",
};

const char *net_reason_name(enum net_reason r)
{
	return (unsigned)r <= NET_R_BAD_NAME ? reason_names[r] : "?";
}

static void verdict(struct net_verdict *v, enum net_reason r, const char *rule)
{
	v->allow = r == NET_R_ALLOW_ENTRY || r == NET_R_OPEN;
	v->reason = r;
	snprintf(v->rule, sizeof(v->rule), "%s", rule);
}

static void verdict_entry(struct net_verdict *v, enum net_reason r,
			  const char *list, const struct net_entry *en)
{
	char t[NET_ENTRY_STRLEN];
	net_entry_format(en, t);
	v->allow = r == NET_R_ALLOW_ENTRY;
	v->reason = r;
	snprintf(v->rule, sizeof(v->rule), "%s %s", list, t);
}

/* Port 0 in a question means "any": an entry with a port matches it only
 * for allowing (some port may be reached), never for denying. */
static bool port_matches(const struct net_entry *en, uint16_t port, bool deny)
{
	if (en->port == 0)
		return true;
	return port == 0 ? !deny : en->port == port;
}

static bool name_matches(const struct net_entry *en, const char *name)
{
	if (en->kind == NET_ENTRY_NAME)
		return strcmp(en->name, name) == 0;
	return en->kind == NET_ENTRY_WILDCARD &&
	       net_name_under(name, en->name, true);
}

/* The first entry of list[0..n) matching name (may be NULL) or addr (may
 * be NULL, canonical). */
static const struct net_entry *find(const struct net_entry *list, size_t n,
				    const char *name,
				    const struct net_addr *addr,
				    uint16_t port, bool deny)
{
	for (size_t i = 0; i < n; i++) {
		const struct net_entry *en = &list[i];
		if (!port_matches(en, port, deny))
			continue;
		if (en->kind == NET_ENTRY_CIDR ? addr && net_cidr_contains(&en->cidr, addr)
					       : name && name_matches(en, name))
			return en;
	}
	return NULL;
}

/* Steps 2-4 of policy.h for a canonical name (or NULL) and address (or
 * NULL). */
static void decide(const struct net_policy *p, const char *name,
		   const struct net_addr *addr, uint16_t port,
		   struct net_verdict *v)
{
	const struct net_entry *en = find(p->deny, p->ndeny, name, addr, port, true);
	if (en) {
		verdict_entry(v, NET_R_DENY_ENTRY, "deny_out", en);
		return;
	}
	if (p->mode != NET_MODE_ALLOW) {
		bool open = p->mode == NET_MODE_OPEN;
		verdict(v, open ? NET_R_OPEN : NET_R_NONE,
			open ? "egress open" : "egress none");
		return;
	}
	en = find(p->allow, p->nallow, name, addr, port, false);
	if (en) {
		verdict_entry(v, NET_R_ALLOW_ENTRY, "allow_out", en);
		return;
	}
	verdict(v, NET_R_NOT_ALLOWED, "no allow_out entry matches");
}

static bool canon_name(const char *name, char out[NET_NAME_MAX + 1],
		       struct net_verdict *v)
{
	struct aj_err e = { 0 };
	if (net_name_normalize(name, strlen(name), out, &e) == 0)
		return true;
	v->allow = false;
	v->reason = NET_R_BAD_NAME;
	snprintf(v->rule, sizeof(v->rule), "invalid name: %s", e.msg);
	return false;
}

void net_check_name(const struct net_policy *p, const char *name,
		    uint16_t port, struct net_verdict *v)
{
	char c[NET_NAME_MAX + 1];
	if (canon_name(name, c, v))
		decide(p, c, NULL, port, v);
}

static bool in_cidrs(const struct net_cidr *list, size_t n,
		     const struct net_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (net_cidr_contains(&list[i], a))
			return true;
	return false;
}

/* Step 1: is a reserved or the host's, and no operator range covers it? */
static bool off_limits(const struct net_ops *ops, const struct net_addr *a,
		       struct net_verdict *v)
{
	if (ops && in_cidrs(ops->private_ok, ops->nprivate_ok, a))
		return false;
	const char *what = net_reserved(a, NULL);
	if (what) {
		v->allow = false;
		v->reason = NET_R_RESERVED;
		snprintf(v->rule, sizeof(v->rule), "always denied: %s", what);
		return true;
	}
	for (size_t i = 0; ops && i < ops->nself; i++) {
		struct net_addr s;
		net_addr_canon(&ops->self[i], &s);
		if (!net_addr_equal(&s, a))
			continue;
		char t[NET_ADDR_STRLEN];
		net_addr_format(a, t);
		v->allow = false;
		v->reason = NET_R_HOST_ADDR;
		snprintf(v->rule, sizeof(v->rule), "always denied: host address %s", t);
		return true;
	}
	return false;
}

void net_check_addr(const struct net_policy *p, const struct net_ops *ops,
		    const char *name, const struct net_addr *a, uint16_t port,
		    struct net_verdict *v)
{
	struct net_addr c;
	net_addr_canon(a, &c);
	if (off_limits(ops, &c, v))
		return;
	char cn[NET_NAME_MAX + 1];
	if (name && !canon_name(name, cn, v))
		return;
	decide(p, name ? cn : NULL, &c, port, v);
}
