/* audit.c - `agentjail audit verify|list`: check the hash chain of the
 * audit log and print its records.  Safe while a server has the database
 * open: both read one snapshot while the server keeps writing. */
#include <getopt.h>
#include <inttypes.h>
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
#include "util/parse.h"

#define PAGE 1000 /* store_audit_list's cap per call */

static const char usage_text[] =
	"usage: agentjail audit verify [--state DIR]\n"
	"       agentjail audit list [--state DIR] [--sandbox ID] "
	"[--tenant T] [--after SEQ] [--limit N] [--json]\n"
	"\n"
	"verify walks the whole hash chain of the audit log and reports the\n"
	"first record that was altered or removed (exit status 1), or that\n"
	"the chain is intact (0).  list prints records oldest first.\n"
	"\n"
	"options:\n"
	"  --state DIR   state directory (default ./var)\n"
	"  --sandbox ID  only records about this sandbox\n"
	"  --tenant T    only records of this tenant\n"
	"  --after SEQ   only records after this sequence number\n"
	"  --limit N     at most N records (default 100)\n"
	"  --json        a JSON array instead of a table\n"
	"  --help        this text\n";

struct opts {
	const char *state;
	const char *sandbox;
	const char *tenant;
	uint64_t after;
	uint64_t limit;
	bool json;
	bool help;
	bool filters; /* any list-only option given */
	int nargs;
	char *const *args;
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "agentjail audit: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'agentjail audit --help'.\n");
	va_end(ap);
	return 2;
}

static int number(const char *name, const char *s, uint64_t max,
		  uint64_t *out)
{
	struct aj_err e;
	if (aj_parse_uint(s, max, out, &e) != 0)
		return usage_error("bad %s '%s'", name, s);
	return 0;
}

/* One option into o: 0, or 2 after a usage message. */
static int apply(int c, const char *arg, const char *opt, struct opts *o)
{
	if (c == 'x' || c == 't' || c == 'a' || c == 'l' || c == 'j')
		o->filters = true;
	switch (c) {
	case 's': o->state = arg; return 0;
	case 'x': o->sandbox = arg; return 0;
	case 't': o->tenant = arg; return 0;
	case 'a': return number("--after", arg, INT64_MAX, &o->after);
	case 'l': return number("--limit", arg, 100000000, &o->limit);
	case 'j': o->json = true; return 0;
	case 'h': o->help = true; return 0;
	case ':': return usage_error("option '%s' needs a value", opt);
	default: return usage_error("unknown option '%s'", opt);
	}
}

/* argv[0] is the subcommand.  Returns 0, or 2 after a usage message. */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "sandbox", required_argument, NULL, 'x' },
		{ "tenant", required_argument, NULL, 't' },
		{ "after", required_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ .state = "./var", .limit = 100 };
	optind = 0; /* glibc: start afresh */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
		if (apply(c, optarg, argv[optind - 1], o) != 0)
			return 2;
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs > 0)
		return usage_error("unexpected argument '%s'", o->args[0]);
	if (o->limit == 0)
		return usage_error("--limit must be at least 1");
	return 0;
}

/* Never create a state dir here: a typo would look like an empty log. */
static struct store *open_state(const char *dir)
{
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		fprintf(stderr, "agentjail audit: no state directory '%s'\n",
			dir);
		return NULL;
	}
	struct store *st;
	struct aj_err e;
	if (store_open(dir, &st, &e) != 0) {
		fprintf(stderr, "agentjail audit: %s\n", e.msg);
		return NULL;
	}
	return st;
}

static int audit_verify(const struct opts *o)
{
	if (o->filters)
		return usage_error("verify takes only --state");
	struct store *st = open_state(o->state);
	if (!st)
		return 1;
	int64_t checked, bad;
	char why[128];
	struct aj_err e;
	int rc = store_audit_verify(st, &checked, &bad, why, &e);
	store_close(st);
	if (rc != 0) {
		fprintf(stderr, "agentjail audit verify: %s\n", e.msg);
		return 1;
	}
	if (bad != 0) {
		printf("audit chain broken at record %" PRId64 ": %s\n", bad,
		       why);
		return 1;
	}
	printf("audit chain intact: %" PRId64 " records\n", checked);
	return 0;
}

static void format_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* The detail as JSON if it is JSON, else as a string (or null). */
static json_t *detail_json(const char *detail)
{
	if (!detail)
		return json_null();
	json_t *v = json_loads(detail, JSON_DECODE_ANY, NULL);
	return v ? v : json_string(detail);
}

static void print_json(const struct audit_rec *r, bool first)
{
	char ts[32];
	format_time(r->ts_ms, ts);
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o,"
			      " s:s}",
			      "seq", (json_int_t)r->seq, "ts_ms",
			      (json_int_t)r->ts_ms, "time", ts, "key_id",
			      r->key_id, "tenant", r->tenant, "action",
			      r->action, "sandbox_id", r->sandbox_id,
			      "outcome", r->outcome, "detail",
			      detail_json(r->detail), "hash", r->hash);
	fputs(first ? "\n  " : ",\n  ", stdout);
	if (o)
		json_dumpf(o, stdout, JSON_COMPACT);
	json_decref(o);
}

static void print_text(const struct audit_rec *r)
{
	char ts[32];
	format_time(r->ts_ms, ts);
	printf("%-6" PRId64 "  %-24s  %-16s  %-10s  %-12s  %-16s  %-16s  %s\n",
	       r->seq, ts, r->action, r->outcome, r->tenant,
	       r->key_id[0] ? r->key_id : "-",
	       r->sandbox_id[0] ? r->sandbox_id : "-",
	       r->detail ? r->detail : "");
}

/* Page through the log until o->limit records are printed or none are
 * left.  *count = records printed. */
static int list_pages(struct store *st, const struct opts *o, size_t *count,
		      struct aj_err *e)
{
	struct audit_filter f = { .tenant = o->tenant,
				  .sandbox_id = o->sandbox,
				  .after_seq = (int64_t)o->after };
	uint64_t left = o->limit;
	while (left > 0) {
		f.limit = left < PAGE ? (int)left : PAGE;
		struct audit_rec *recs;
		size_t n;
		if (store_audit_list(st, &f, &recs, &n, e) != 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (o->json)
				print_json(&recs[i], *count == 0);
			else
				print_text(&recs[i]);
			(*count)++;
		}
		if (n > 0)
			f.after_seq = recs[n - 1].seq;
		audit_recs_free(recs, n);
		if (n < (size_t)f.limit)
			break;
		left -= n;
	}
	return 0;
}

static int audit_list(const struct opts *o)
{
	struct store *st = open_state(o->state);
	if (!st)
		return 1;
	if (o->json)
		fputs("[", stdout);
	else
		printf("%-6s  %-24s  %-16s  %-10s  %-12s  %-16s  %-16s  %s\n",
		       "SEQ", "TIME", "ACTION", "OUTCOME", "TENANT", "KEY",
		       "SANDBOX", "DETAIL");
	size_t count = 0;
	struct aj_err e;
	int rc = list_pages(st, o, &count, &e);
	store_close(st);
	if (o->json)
		puts(count ? "\n]" : "]");
	if (rc != 0) {
		fprintf(stderr, "agentjail audit list: %s\n", e.msg);
		return 1;
	}
	return 0;
}

int cmd_audit(int argc, char **argv)
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
	if (strcmp(sub, "verify") == 0)
		return audit_verify(&o);
	if (strcmp(sub, "list") == 0)
		return audit_list(&o);
	return usage_error("unknown subcommand '%s'", sub);
}
