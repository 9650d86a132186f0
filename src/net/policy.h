/* policy.h - a sandbox's egress policy and the decisions it makes.
 *
 * Language (docs/network.md has the user's version):
 *   mode   none  - nothing leaves the sandbox (the default);
 *          allow - only destinations an allow entry matches;
 *          open  - everything but the deny entries.
 *   entry  api.github.com      exactly that name (any case, trailing dot ok)
 *          *.pypi.org          names below pypi.org at any depth, NOT
 *                              pypi.org itself (list both for both)
 *          140.82.112.3, 2001:db8::1          one address
 *          10.0.0.0/8, 2001:db8::/32          a range (host bits must be 0)
 *          any of those + ":PORT"             only that TCP port; IPv6 in
 *                                             brackets: [2001:db8::1]:443
 * Decisions, in order (the first that applies wins):
 *   1. an always-denied address (net/reserved.h: loopback, RFC 1918, CGNAT,
 *      link-local and cloud metadata, ULA, multicast, reserved ...) or one
 *      of the host's own addresses is denied, whatever the policy says,
 *      unless an operator range (`serve --egress-allow-private`) covers it;
 *   2. a deny entry that matches denies (deny beats allow);
 *   3. none denies; open allows;
 *   4. allow allows if an allow entry matches, and denies otherwise.
 * An operator range only lifts step 1: the address must still pass 2-4.
 *
 * A connection is matched by name (TLS SNI, HTTP Host, or the name the
 * sandbox resolved through our DNS) AND by its final address: a name entry
 * matches the name, an address entry the address; deny entries of both
 * kinds apply.  The DNS step asks net_check_name with port 0 ("any
 * port"): an allow entry with a port still lets the name resolve, a deny
 * entry with a port does not stop it from resolving. */
#ifndef AJ_NET_POLICY_H
#define AJ_NET_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"
#include "net/name.h"
#include "util/err.h"

enum net_mode { NET_MODE_NONE, NET_MODE_ALLOW, NET_MODE_OPEN };

enum net_entry_kind {
	NET_ENTRY_NAME,     /* name: exactly this name */
	NET_ENTRY_WILDCARD, /* name: the parent; matches names strictly below */
	NET_ENTRY_CIDR,     /* cidr (a single address is a full-length prefix) */
};

struct net_entry {
	enum net_entry_kind kind;
	uint16_t port; /* 0: any port */
	char name[NET_NAME_MAX + 1];
	struct net_cidr cidr;
};

#define NET_POLICY_MAX_ENTRIES 1024 /* per list */
#define NET_ENTRY_MAX_LEN 300       /* bytes of one entry's text */
#define NET_ENTRY_STRLEN (NET_NAME_MAX + 16)

struct net_policy {
	enum net_mode mode;
	struct net_entry *allow; /* malloc'd; only in mode allow */
	size_t nallow;
	struct net_entry *deny;  /* malloc'd; any mode */
	size_t ndeny;
};

/* "none", "allow", "open". */
int net_mode_parse(const char *s, enum net_mode *m, struct aj_err *e);
const char *net_mode_name(enum net_mode m);

/* One entry from its text (NUL-terminated). */
int net_entry_parse(const char *s, struct net_entry *out, struct aj_err *e);
/* Its canonical text ("*.pypi.org", "10.0.0.0/8", "[2001:db8::1]:443"),
 * which net_entry_parse reads back as the same entry. */
void net_entry_format(const struct net_entry *en, char out[NET_ENTRY_STRLEN]);

/* Build *out (free with net_policy_free).  allow entries are refused
 * unless mode is allow (in none and open they could only mislead); deny
 * entries are kept in every mode.  Errors name the list, the index and
 * the entry: "allow_out[2] '*foo.com': ...". */
int net_policy_parse(enum net_mode mode, const char *const *allow,
		     size_t nallow, const char *const *deny, size_t ndeny,
		     struct net_policy *out, struct aj_err *e);
int net_policy_copy(const struct net_policy *p, struct net_policy *out,
		    struct aj_err *e);
void net_policy_free(struct net_policy *p);

/* ---- decisions (policy_check.c) ---- */

/* What the operator adds to every decision: ranges that step 1 may let
 * through, and the host's own addresses (denied like the reserved
 * ranges).  Addresses are canonicalised when compared. */
struct net_ops {
	const struct net_cidr *private_ok;
	size_t nprivate_ok;
	const struct net_addr *self;
	size_t nself;
};

enum net_reason {
	NET_R_ALLOW_ENTRY, /* allowed by an allow entry (rule: the entry) */
	NET_R_OPEN,        /* allowed: mode open */
	NET_R_DENY_ENTRY,  /* denied by a deny entry */
	NET_R_RESERVED,    /* denied: always-denied range */
	NET_R_HOST_ADDR,   /* denied: one of the host's own addresses */
	NET_R_NONE,        /* denied: mode none */
	NET_R_NOT_ALLOWED, /* denied: mode allow and no allow entry matched */
	NET_R_BAD_NAME,    /* denied: the name is not a valid host name */
};

#define NET_RULE_STRLEN (NET_ENTRY_STRLEN + 48)

struct net_verdict {
	bool allow;
	enum net_reason reason;
	char rule[NET_RULE_STRLEN]; /* for logs: "deny_out *.evil.com" */
};

/* May `name` be resolved (port 0) or connected to by name (port != 0)?
 * name is raw text; it is validated and canonicalised here. */
void net_check_name(const struct net_policy *p, const char *name,
		    uint16_t port, struct net_verdict *v);

/* The decision for a connection to address a, port `port`, known by
 * `name` (NULL if it has none).  The engine runs it on the final address,
 * the one it is about to connect to.  ops may be NULL (no operator ranges,
 * no host addresses). */
void net_check_addr(const struct net_policy *p, const struct net_ops *ops,
		    const char *name, const struct net_addr *a, uint16_t port,
		    struct net_verdict *v);

/* Stable snake_case name of a reason, for metrics and audit. */
const char *net_reason_name(enum net_reason r);

/* ---- tenant ceilings (policy_ceiling.c) ---- */

/* Does `req` ask for no more than `ceiling`?  Modes are ordered none <
 * allow < open, and req's mode may not be above ceiling's.  If both are
 * allow, every allow entry of req must be covered by one of ceiling's
 * (same name; a name or wildcard below a ceiling wildcard; a range inside
 * a ceiling range; and a ceiling entry with a port covers only that
 * port).  Ceiling deny entries are not compared: net_policy_clamp adds
 * them to the result instead.  0, or -1 naming the first excess. */
int net_policy_within(const struct net_policy *ceiling,
		      const struct net_policy *req, struct aj_err *e);

/* net_policy_within, then *out = req plus ceiling's deny entries: the
 * policy to enforce. */
int net_policy_clamp(const struct net_policy *ceiling,
		     const struct net_policy *req, struct net_policy *out,
		     struct aj_err *e);

#endif
