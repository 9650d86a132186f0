/* run.c - `agentjail run [options] -- CMD [ARGS...]`: one command in a
 * fresh sandbox, the way bwrap or nsjail would be used by a local agent.
 *
 * Exit status: the command's own, 128+N if it was killed by signal N;
 * 2 for bad usage; 125 if the sandbox could not be set up. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/run.h"
#include "util/parse.h"

#define EXIT_USAGE 2
#define EXIT_SETUP 125

static void usage(FILE *f)
{
	fprintf(f,
"usage: agentjail run [options] -- CMD [ARGS...]\n"
"\n"
"Run CMD in a new sandbox: own user, pid, mount, network, ipc, uts and\n"
"cgroup namespaces; read-only host /usr and a few /etc files; no\n"
"capabilities, no_new_privs, seccomp, Landlock; cgroup and rlimit limits.\n"
"It runs as uid 1000 ('user', HOME=/workspace) with a clean environment.\n"
"Output is streamed through; the exit status is CMD's (128+N if killed by\n"
"signal N), 2 for bad usage, 125 if the sandbox could not be set up.\n"
"\n"
"options (defaults in brackets; 0 means no limit where a limit is optional):\n"
"  --memory SIZE       memory limit, cgroup [512M]\n"
"  --pids N            process/thread limit, cgroup [256]\n"
"  --cpus X            CPU quota in CPUs, e.g. 0.5 [1.0]\n"
"  --timeout DUR       wall clock, then every process is killed [30s]\n"
"  --cpu-time DUR      CPU time per process, RLIMIT_CPU (rounded up to s) [none]\n"
"  --fsize SIZE        largest file a process may write [64M]\n"
"  --nofile N          open files per process [256]\n"
"  --output-limit SIZE stdout and stderr are each cut after SIZE [1M]\n"
"  --workspace DIR     bind host DIR read-write at /workspace\n"
"                      [a fresh tmpfs, part of the --disk quota]\n"
"  --disk SIZE[:FILES] quota of the writable tmpfs holding /workspace, /tmp\n"
"                      and /dev/shm: bytes and number of files [1G:65536].\n"
"                      tmpfs is RAM: it also counts against --memory\n"
"  --ro-bind SRC[:DST] bind host path SRC read-only at DST [DST=SRC]\n"
"  --bind SRC[:DST]    the same, read-write\n"
"  --env NAME=VALUE    add to the environment (repeatable)\n"
"  --cwd DIR           working directory inside [/workspace]\n"
"  --net none|host     none: own network namespace, loopback only [none]\n"
"  --json              print one JSON object instead of the output:\n"
"                      exit_code, signal, timed_out, oom_killed, wall_ms,\n"
"                      cpu_ms, max_rss_kb, stdout, stderr, stdout_truncated,\n"
"                      stderr_truncated\n"
"  --require LIST      refuse to run (status 125) unless the host offers\n"
"                      each protection named: userns, landlock,\n"
"                      cgroup-memory, cgroup-pids, cgroup-cpu, huge-tmpfs,\n"
"                      or all [none: run with what there is, and warn]\n"
"  -h, --help          this text\n"
"\n"
"Run as root, the sandbox user is host uid %u (never root); run as an\n"
"ordinary user, it is that user, and limits that need cgroup privileges\n"
"are reported on stderr as not applied.\n",
		JAIL_DEFAULT_HOST_ID);
}

enum {
	OPT_MEMORY = 256, OPT_PIDS, OPT_CPUS, OPT_TIMEOUT, OPT_CPU_TIME,
	OPT_FSIZE, OPT_NOFILE, OPT_OUTPUT, OPT_WORKSPACE, OPT_DISK,
	OPT_RO_BIND, OPT_BIND, OPT_ENV, OPT_CWD, OPT_NET, OPT_JSON, OPT_REQUIRE,
};

static const struct option long_opts[] = {
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "pids", required_argument, NULL, OPT_PIDS },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "cpu-time", required_argument, NULL, OPT_CPU_TIME },
	{ "fsize", required_argument, NULL, OPT_FSIZE },
	{ "nofile", required_argument, NULL, OPT_NOFILE },
	{ "output-limit", required_argument, NULL, OPT_OUTPUT },
	{ "workspace", required_argument, NULL, OPT_WORKSPACE },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "ro-bind", required_argument, NULL, OPT_RO_BIND },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "cwd", required_argument, NULL, OPT_CWD },
	{ "net", required_argument, NULL, OPT_NET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "require", required_argument, NULL, OPT_REQUIRE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* "SRC[:DST]" into an owned bind. */
static int add_bind(struct run_opts *o, const char *arg, bool writable,
		    struct aj_err *e)
{
	const char *colon = strchr(arg, ':');
	size_t sl = colon ? (size_t)(colon - arg) : strlen(arg);
	const char *dst = colon ? colon + 1 : arg;
	if (sl == 0 || arg[0] != '/' || dst[0] != '/')
		return aj_err_set(e, AJ_EINVAL, 0,
				  "--%s %s: expected absolute SRC[:DST]",
				  writable ? "bind" : "ro-bind", arg);
	struct jail_bind *nb = realloc(o->binds, (o->spec.nbinds + 1) * sizeof(*nb));
	if (!nb)
		return aj_err_sys(e, AJ_EINTERNAL, "bind");
	o->binds = nb;
	char *src = strndup(arg, sl);
	char *d = strdup(dst);
	if (!src || !d) {
		free(src);
		free(d);
		return aj_err_sys(e, AJ_EINTERNAL, "bind");
	}
	struct jail_bind *b = &nb[o->spec.nbinds++];
	b->src = src;
	b->dst = d;
	b->writable = writable;
	o->spec.binds = nb;
	return 0;
}

static int add_env(struct run_opts *o, const char *kv, struct aj_err *e)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return aj_err_set(e, AJ_EINVAL, 0, "--env %s: expected NAME=VALUE", kv);
	const char **ne = realloc(o->env, (o->spec.nenv + 1) * sizeof(*ne));
	if (!ne)
		return aj_err_sys(e, AJ_EINTERNAL, "env");
	o->env = ne;
	ne[o->spec.nenv++] = kv;
	o->spec.env = ne;
	return 0;
}

/* "1G" or "1G:100000". */
static int parse_disk(const char *arg, struct jail_limits *l, struct aj_err *e)
{
	char size[64];
	const char *colon = strchr(arg, ':');
	size_t sl = colon ? (size_t)(colon - arg) : strlen(arg);
	if (sl >= sizeof(size))
		return aj_err_set(e, AJ_EINVAL, 0, "--disk %s: too long", arg);
	memcpy(size, arg, sl);
	size[sl] = '\0';
	if (aj_parse_size(size, &l->disk_bytes, e) < 0)
		return aj_err_wrap(e, "--disk");
	if (l->disk_bytes == 0)
		return aj_err_set(e, AJ_EINVAL, 0, "--disk must be more than 0");
	if (colon && (aj_parse_uint(colon + 1, UINT32_MAX, &l->disk_inodes, e) < 0 ||
		      l->disk_inodes == 0))
		return aj_err_set(e, AJ_EINVAL, 0,
				  "--disk %s: FILES must be a number above 0", arg);
	return 0;
}

static int parse_one(struct run_opts *o, int opt, const char *arg,
		     struct aj_err *e)
{
	struct jail_limits *l = &o->spec.limits;
	uint64_t v;
	switch (opt) {
	case OPT_MEMORY:
		return aj_parse_size(arg, &l->memory_bytes, e) < 0 ? aj_err_wrap(e, "--memory") : 0;
	case OPT_PIDS:
		return aj_parse_uint(arg, 1u << 22, &l->pids, e) < 0 ? aj_err_wrap(e, "--pids") : 0;
	case OPT_CPUS:
		return aj_parse_cpus(arg, &l->cpu_millis, e) < 0 ? aj_err_wrap(e, "--cpus") : 0;
	case OPT_TIMEOUT:
		return aj_parse_duration_ms(arg, &l->timeout_ms, e) < 0 ? aj_err_wrap(e, "--timeout") : 0;
	case OPT_CPU_TIME:
		if (aj_parse_duration_ms(arg, &v, e) < 0)
			return aj_err_wrap(e, "--cpu-time");
		l->cpu_time_s = (v + 999) / 1000;
		return 0;
	case OPT_FSIZE:
		return aj_parse_size(arg, &l->fsize_bytes, e) < 0 ? aj_err_wrap(e, "--fsize") : 0;
	case OPT_NOFILE:
		if (aj_parse_uint(arg, 1u << 20, &l->nofile, e) < 0)
			return aj_err_wrap(e, "--nofile");
		if (l->nofile < 4)
			return aj_err_set(e, AJ_EINVAL, 0, "--nofile must be at least 4");
		return 0;
	case OPT_OUTPUT:
		return aj_parse_size(arg, &l->output_bytes, e) < 0 ? aj_err_wrap(e, "--output-limit") : 0;
	case OPT_WORKSPACE:
		if (arg[0] != '/')
			return aj_err_set(e, AJ_EINVAL, 0, "--workspace %s: must be an absolute path", arg);
		o->spec.workspace = arg;
		return 0;
	case OPT_DISK:
		return parse_disk(arg, l, e);
	case OPT_RO_BIND:
	case OPT_BIND:
		return add_bind(o, arg, opt == OPT_BIND, e);
	case OPT_ENV:
		return add_env(o, arg, e);
	case OPT_CWD:
		if (arg[0] != '/')
			return aj_err_set(e, AJ_EINVAL, 0, "--cwd %s: must be an absolute path", arg);
		o->spec.cwd = arg;
		return 0;
	case OPT_NET:
		if (strcmp(arg, "none") == 0)
			o->spec.net = JAIL_NET_NONE;
		else if (strcmp(arg, "host") == 0)
			o->spec.net = JAIL_NET_HOST;
		else
			return aj_err_set(e, AJ_EINVAL, 0, "--net %s: expected none or host", arg);
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_REQUIRE:
		return jail_prot_parse(arg, &o->require, e) < 0 ? aj_err_wrap(e, "--require") : 0;
	}
	return aj_err_set(e, AJ_EINVAL, 0, "unhandled option");
}

int run_opts_parse(int argc, char **argv, struct run_opts *o, struct aj_err *e)
{
	memset(o, 0, sizeof(*o));
	jail_spec_init(&o->spec);
	optind = 0; /* full re-initialisation (glibc), for repeated calls */
	opterr = 0;
	for (;;) {
		int idx = -1;
		/* '+': stop at the first non-option (the command); ':':
		 * report a missing argument as ':' */
		int opt = getopt_long(argc, argv, "+:h", long_opts, &idx);
		if (opt == -1)
			break;
		if (opt == 'h') {
			o->help = true;
			return 0;
		}
		if (opt == '?')
			return aj_err_set(e, AJ_EINVAL, 0, "unknown option '%s'",
					  argv[optind - 1]);
		if (opt == ':')
			return aj_err_set(e, AJ_EINVAL, 0, "option '%s' needs a value",
					  argv[optind - 1]);
		if (parse_one(o, opt, optarg, e) < 0)
			return -1;
	}
	if (optind >= argc)
		return aj_err_set(e, AJ_EINVAL, 0, "no command given (agentjail run [options] -- CMD [ARGS...])");
	o->cmd = argv + optind;
	return 0;
}

void run_opts_free(struct run_opts *o)
{
	for (size_t i = 0; i < o->spec.nbinds; i++) {
		free((char *)o->binds[i].src);
		free((char *)o->binds[i].dst);
	}
	free(o->binds);
	free(o->env);
	o->binds = NULL;
	o->env = NULL;
	o->spec.nbinds = o->spec.nenv = 0;
}

/* ---- JSON -------------------------------------------------------------- */

/* Copy of buf as valid UTF-8: each byte that does not start a valid,
 * shortest-form sequence of a scalar value becomes U+FFFD. */
static char *utf8_clean(const char *buf, size_t n, size_t *outlen)
{
	char *out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	const unsigned char *s = (const unsigned char *)buf;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		int ok = len > 0 && i + len <= n;
		unsigned cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
		for (size_t k = 1; ok && k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				ok = 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
			   (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
			   (cp >= 0xd800 && cp <= 0xdfff)))
			ok = 0;
		if (ok) {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static json_t *text(const char *buf, size_t n)
{
	size_t len;
	char *clean = utf8_clean(buf ? buf : "", buf ? n : 0, &len);
	json_t *j = clean ? json_stringn_nocheck(clean, len) : NULL;
	free(clean);
	return j;
}

static int print_json(const struct jail_result *r)
{
	json_t *o = json_object();
	json_t *out = text(r->out[0], r->out_len[0]);
	json_t *err = text(r->out[1], r->out_len[1]);
	if (!o || !out || !err) {
		json_decref(o);
		json_decref(out);
		json_decref(err);
		return -1;
	}
	json_object_set_new(o, "exit_code", json_integer(r->exit_code));
	json_object_set_new(o, "signal", json_integer(r->signal));
	json_object_set_new(o, "timed_out", json_boolean(r->timed_out));
	json_object_set_new(o, "oom_killed", json_boolean(r->oom_killed));
	json_object_set_new(o, "wall_ms", json_integer((json_int_t)r->wall_ms));
	json_object_set_new(o, "cpu_ms", json_integer((json_int_t)r->cpu_ms));
	json_object_set_new(o, "max_rss_kb", json_integer((json_int_t)r->max_rss_kb));
	json_object_set_new(o, "stdout", out);
	json_object_set_new(o, "stderr", err);
	json_object_set_new(o, "stdout_truncated", json_boolean(r->truncated[0]));
	json_object_set_new(o, "stderr_truncated", json_boolean(r->truncated[1]));
	int rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF &&
			 fflush(stdout) == 0 ? 0 : -1;
	json_decref(o);
	return rc;
}

/* ---- the command ------------------------------------------------------- */

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct aj_err e = { 0 };
	if (run_opts_parse(argc, argv, &o, &e) < 0) {
		fprintf(stderr, "agentjail run: %s\nTry 'agentjail run --help'.\n", e.msg);
		run_opts_free(&o);
		return EXIT_USAGE;
	}
	if (o.help) {
		usage(stdout);
		run_opts_free(&o);
		return 0;
	}

	/* A closed stdout must not kill us mid-run (the sandbox would die
	 * with us); the jail resets signals for the command itself. */
	signal(SIGPIPE, SIG_IGN);

	/* Only when asked: the check costs a fork (each run warns anyway
	 * about what it could not apply). */
	if (o.require) {
		struct jail_host h;
		jail_host_check(&h);
		int lacking = jail_host_missing(&h, o.require);
		if (lacking >= 0) {
			fprintf(stderr, "agentjail run: required protection %s is missing "
				"(kernel %s): %s\n", jail_prot_name(lacking), h.kernel,
				h.why[lacking]);
			run_opts_free(&o);
			return EXIT_SETUP;
		}
	}

	struct jail_result r;
	int rc = jail_run(&o.spec, o.cmd,
			  o.json ? JAIL_OUTPUT_COLLECT : JAIL_OUTPUT_PASS, &r, &e);
	for (int i = 0; i < r.warnings.n; i++)
		fprintf(stderr, "agentjail run: warning: %s\n", r.warnings.msg[i]);
	if (rc < 0) {
		fprintf(stderr, "agentjail run: %s\n", e.msg);
		jail_result_free(&r);
		run_opts_free(&o);
		return e.code == AJ_EINVAL ? EXIT_USAGE : EXIT_SETUP;
	}
	int status = r.exit_code;
	if (o.json && print_json(&r) < 0) {
		fprintf(stderr, "agentjail run: cannot write the JSON record\n");
		status = EXIT_SETUP;
	}
	jail_result_free(&r);
	run_opts_free(&o);
	return status;
}
