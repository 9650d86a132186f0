/* policy_ceiling.c - a tenant's ceiling: the most its keys may ask for
 * (policy.h, net_policy_within). */
#include <stdlib.h>
#include <string.h>

#include "net/policy.h"

/* Does every destination `inner` matches also match `outer`? */
static bool entry_covers(const struct net_entry *outer,
			 const struct net_entry *inner)
{
	if (outer->port != 0 && outer->port != inner->port)
		return false;
	switch (outer->kind) {
	case NET_ENTRY_NAME:
		return inner->kind == NET_ENTRY_NAME &&
		       strcmp(outer->name, inner->name) == 0;
	case NET_ENTRY_WILDCARD:
		if (inner->kind == NET_ENTRY_NAME)
			return net_name_under(inner->name, outer->name, true);
		return inner->kind == NET_ENTRY_WILDCARD &&
		       net_name_under(inner->name, outer->name, false);
	case NET_ENTRY_CIDR:
		return inner->kind == NET_ENTRY_CIDR &&
		       net_cidr_covers(&outer->cidr, &inner->cidr);
	}
	return false;
}

static bool covered(const struct net_policy *ceiling,
		    const struct net_entry *en)
{
	for (size_t i = 0; i < ceiling->nallow; i++)
		if (entry_covers(&ceiling->allow[i], en))
			return true;
	return false;
}

int net_policy_within(const struct net_policy *ceiling,
		      const struct net_policy *req, struct aj_err *e)
{
	if (req->mode > ceiling->mode)
		return aj_err_set(e, AJ_EFORBIDDEN, 0,
				  "egress '%s' is above this tenant's ceiling "
				  "'%s'", net_mode_name(req->mode),
				  net_mode_name(ceiling->mode));
	if (req->mode != NET_MODE_ALLOW || ceiling->mode == NET_MODE_OPEN)
		return 0;
	for (size_t i = 0; i < req->nallow; i++) {
		if (covered(ceiling, &req->allow[i]))
			continue;
		char t[NET_ENTRY_STRLEN];
		net_entry_format(&req->allow[i], t);
		return aj_err_set(e, AJ_EFORBIDDEN, 0,
				  "allow_out '%s' is outside this tenant's "
				  "ceiling", t);
	}
	return 0;
}

int net_policy_clamp(const struct net_policy *ceiling,
		     const struct net_policy *req, struct net_policy *out,
		     struct aj_err *e)
{
	memset(out, 0, sizeof(*out));
	if (net_policy_within(ceiling, req, e) < 0 ||
	    net_policy_copy(req, out, e) < 0)
		return -1;
	if (ceiling->ndeny == 0)
		return 0;
	size_t n = out->ndeny + ceiling->ndeny;
	struct net_entry *d = realloc(out->deny, n * sizeof(*d));
	if (!d) {
		net_policy_free(out);
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	}
	memcpy(d + out->ndeny, ceiling->deny, ceiling->ndeny * sizeof(*d));
	out->deny = d;
	out->ndeny = n;
	return 0;
}
