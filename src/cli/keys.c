/* keys.c - `agentjail keys create|list|revoke`: API keys in the state
 * database.  Safe while a server has the same database open (WAL mode,
 * busy timeout).  Creating and revoking are audited like API actions, with
 * an empty key id: the actor is whoever can write the state dir. */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "box/store.h"
#include "cli/cli.h"

static const char usage_text[] =
	"usage: agentjail keys create --tenant T --role admin|user|viewer "
	"[--state DIR] [--json]\n"
	"       agentjail keys list [--state DIR] [--json]\n"
	"       agentjail keys revoke ID [--state DIR]\n"
	"\n"
	"Manage API keys.  A new key's secret is printed once and stored only\n"
	"as a hash; it is accepted as aj_<hex> and, by E2B clients, as\n"
	"e2b_<hex>.  Roles: admin manages keys and sees every tenant, user\n"
	"creates and uses its tenant's sandboxes, viewer only reads.\n"
	"\n"
	"options:\n"
	"  --tenant T   tenant of the new key: 1-64 of [A-Za-z0-9_.-]\n"
	"  --role R     admin, user or viewer\n"
	"  --state DIR  state directory (default ./var)\n"
	"  --json       machine-readable output\n"
	"  --help       this text\n";

struct opts {
	const char *state;
	const char *tenant;
	const char *role;
	bool json;
	bool help;
	char *const *args; /* positional arguments after the subcommand */
	int nargs;
};

/* Print a usage error and return the exit status for it. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "agentjail keys: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'agentjail keys --help'.\n");
	va_end(ap);
	return 2;
}

/* argv[0] is the subcommand.  Returns 0, or 2 after a usage message. */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "tenant", required_argument, NULL, 't' },
		{ "role", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ .state = "./var" };
	optind = 0; /* glibc: start afresh */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->state = optarg; break;
		case 't': o->tenant = optarg; break;
		case 'r': o->role = optarg; break;
		case 'j': o->json = true; break;
		case 'h': o->help = true; break;
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	return 0;
}

/* Open the store.  Commands that only read or change existing state
 * refuse a state dir that does not exist rather than create an empty
 * one (a typo would otherwise look like "no keys"). */
static struct store *open_state(const char *dir, bool create)
{
	struct stat sb;
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): never NULL */
	if (!create && stat(dir, &sb) != 0) {
		fprintf(stderr, "agentjail keys: no state directory '%s'\n",
			dir);
		return NULL;
	}
	struct store *st;
	struct aj_err e;
	if (store_open(dir, &st, &e) != 0) {
		fprintf(stderr, "agentjail keys: %s\n", e.msg);
		return NULL;
	}
	return st;
}

static void format_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Audit a key change made from the command line. */
static int audit_key(struct store *st, const char *action,
		     const struct key_info *k)
{
	json_t *d = json_pack("{s:s, s:s, s:s}", "key", k->id, "role",
			      role_name(k->role), "via", "cli");
	char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	struct audit_rec r = { .detail = detail };
	snprintf(r.tenant, sizeof(r.tenant), "%s", k->tenant);
	snprintf(r.action, sizeof(r.action), "%s", action);
	snprintf(r.outcome, sizeof(r.outcome), "ok");
	struct aj_err e;
	int rc = detail ? store_audit_append(st, &r, NULL, &e) : -1;
	if (rc != 0)
		fprintf(stderr, "agentjail keys: could not audit %s: %s\n",
			action, detail ? e.msg : "out of memory");
	free(detail);
	return rc;
}

static void print_created(const struct key_info *k, const char *secret,
			  bool json)
{
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s+, s:I}",
				      "id", k->id, "tenant", k->tenant, "role",
				      role_name(k->role), "secret", secret,
				      "e2b_secret", "e2b_", secret + 3,
				      "created_ms", (json_int_t)k->created_ms);
		if (o)
			json_dumpf(o, stdout, JSON_INDENT(2));
		json_decref(o);
		putchar('\n');
		return;
	}
	printf("created key %s (tenant %s, role %s)\n"
	       "secret: %s\n"
	       "e2b form: e2b_%s\n"
	       "The secret is shown only this once: store it now.\n",
	       k->id, k->tenant, role_name(k->role), secret, secret + 3);
}

static int keys_create(const struct opts *o)
{
	enum role role;
	if (o->nargs != 0)
		return usage_error("unexpected argument '%s'", o->args[0]);
	if (!o->tenant)
		return usage_error("create needs --tenant");
	if (!o->role || role_parse(o->role, &role) != 0)
		return usage_error("%s",
				   "create needs --role admin|user|viewer");
	struct store *st = open_state(o->state, true);
	if (!st)
		return 1;
	char secret[48];
	struct key_info k;
	struct aj_err e;
	int rc = store_key_create(st, o->tenant, role, secret, &k, &e);
	if (rc != 0) {
		fprintf(stderr, "agentjail keys create: %s\n", e.msg);
		store_close(st);
		return e.code == AJ_EINVAL ? 2 : 1;
	}
	/* The secret is printed even if auditing fails: the key exists. */
	rc = audit_key(st, "key.create", &k);
	print_created(&k, secret, o->json);
	store_close(st);
	return rc == 0 ? 0 : 1;
}

static json_t *key_json(const struct key_info *k)
{
	char created[32], revoked[32];
	format_time(k->created_ms, created);
	format_time(k->revoked_ms, revoked);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:b, s:o}", "id", k->id,
			 "tenant", k->tenant, "role", role_name(k->role),
			 "created_ms", (json_int_t)k->created_ms, "created_at",
			 created, "active", k->revoked_ms == 0, "revoked_at",
			 k->revoked_ms ? json_string(revoked) : json_null());
}

static int print_list_json(const struct key_info *keys, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, key_json(&keys[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	if (!a) {
		fprintf(stderr, "agentjail keys list: out of memory\n");
		return 1;
	}
	json_dumpf(a, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(a);
	return 0;
}

static void print_list_text(const struct key_info *keys, size_t n)
{
	printf("%-16s  %-16s  %-6s  %-20s  %s\n", "ID", "TENANT", "ROLE",
	       "CREATED", "STATUS");
	for (size_t i = 0; i < n; i++) {
		char created[32], revoked[32];
		format_time(keys[i].created_ms, created);
		format_time(keys[i].revoked_ms, revoked);
		printf("%-16s  %-16s  %-6s  %-20s  %s%s\n", keys[i].id,
		       keys[i].tenant, role_name(keys[i].role), created,
		       keys[i].revoked_ms ? "revoked " : "active",
		       keys[i].revoked_ms ? revoked : "");
	}
}

static int keys_list(const struct opts *o)
{
	if (o->nargs != 0)
		return usage_error("unexpected argument '%s'", o->args[0]);
	if (o->tenant || o->role)
		return usage_error("list takes no --tenant or --role");
	struct store *st = open_state(o->state, false);
	if (!st)
		return 1;
	struct key_info *keys;
	size_t n;
	struct aj_err e;
	int rc = store_key_list(st, &keys, &n, &e);
	store_close(st);
	if (rc != 0) {
		fprintf(stderr, "agentjail keys list: %s\n", e.msg);
		return 1;
	}
	if (o->json)
		rc = print_list_json(keys, n);
	else
		print_list_text(keys, n);
	free(keys);
	return rc;
}

static int keys_revoke(const struct opts *o)
{
	if (o->nargs != 1)
		return usage_error("revoke needs exactly one key ID");
	if (o->tenant || o->role || o->json)
		return usage_error("revoke takes only ID and --state");
	const char *id = o->args[0];
	struct store *st = open_state(o->state, false);
	if (!st)
		return 1;
	struct aj_err e;
	if (store_key_revoke(st, id, &e) != 0) {
		fprintf(stderr, "agentjail keys revoke: %s\n", e.msg);
		store_close(st);
		return 1;
	}
	struct key_info k = { 0 };
	int rc = store_key_get(st, id, &k, NULL) == 0 ? audit_key(st, "key.revoke", &k) : -1;
	store_close(st);
	printf("revoked %s\n", id);
	return rc == 0 ? 0 : 1;
}

int cmd_keys(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	const char *sub = argv[1];
	struct opts o;
	if (parse(argc - 1, argv + 1, &o) != 0)
		return 2;
	if (o.help || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(sub, "create") == 0)
		return keys_create(&o);
	if (strcmp(sub, "list") == 0)
		return keys_list(&o);
	if (strcmp(sub, "revoke") == 0)
		return keys_revoke(&o);
	return usage_error("unknown subcommand '%s'", sub);
}
