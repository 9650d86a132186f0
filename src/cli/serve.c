/* serve.c - `agentjail serve`: the sandbox manager behind the HTTP API.
 *
 * The order matters: the manager forks its launcher while the process has
 * one thread, so it opens before anything starts a thread; SIGINT and
 * SIGTERM are blocked before that, so every thread inherits the mask and
 * only sigwait() here sees them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "box/box.h"
#include "cli/cli.h"
#include "e2b/e2b.h"
#include "mcp/http.h"
#include "util/crypto.h"
#include "util/parse.h"

struct serve_opts {
	char host[256];
	uint16_t port;
	const char *state;
	struct box_config box;
	bool no_auth;
	bool quiet;
	struct api_config conns; /* the connection limits only */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: agentjail serve [options]\n"
		"\n"
		"Serve the sandbox API (REST under /v1, /healthz, /metrics), MCP at\n"
		"/mcp and the E2B-compatible API (point E2B_API_URL and\n"
		"E2B_SANDBOX_URL here).\n"
		"\n"
		"  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080;\n"
		"                       port 0 picks a free one; [::1]:PORT for IPv6)\n"
		"  --state DIR          state directory (default ./var)\n"
		"  --pool N             warm sandboxes of the default shape kept ready,\n"
		"                       so that create is a hand-over (default 2)\n"
		"  --pool-python        also start the python interpreter of each pooled\n"
		"                       sandbox, so its first python cell is warm (about\n"
		"                       10 MiB more per pooled sandbox)\n"
		"  --max-timeout S      longest sandbox lifetime a client may ask for\n"
		"                       (seconds, or 30m, 2h ...; default 24h)\n"
		"  --tenant-quota N     live sandboxes per tenant (default 100)\n"
		"  --durability D       what an acknowledged audit record or exec trace\n"
		"                       survives: process (kill -9 or a crash of the\n"
		"                       server; the default) or power (also a power\n"
		"                       loss or OS crash: one fsync per write)\n"
		"  --no-auth            no API keys: every request acts as an admin of\n"
		"                       tenant \"default\" (loopback addresses only)\n"
		"  --max-connections N  open connections at most (default 512)\n"
		"  --max-unauth-connections N\n"
		"                       of them, connections that have not authenticated\n"
		"                       and are still sending a request (default 3/4 of\n"
		"                       --max-connections): the rest is kept for clients\n"
		"                       with a key; past it the oldest is closed\n"
		"  --max-per-address N  of those, from one client address (an IPv6 /64;\n"
		"                       default 128)\n"
		"  --header-timeout S   a request's headers must be in within S seconds of\n"
		"                       the connection or the previous request (default\n"
		"                       10; 120 on a connection that has authenticated)\n"
		"  --min-body-rate B    a request body must come at B bytes/s or more,\n"
		"                       over each --header-timeout spent waiting for it\n"
		"                       (default 1024; 0: any rate)\n"
		"  --quiet              no request log on stderr\n"
		"  --require LIST       refuse to start unless the host offers each\n"
		"                       protection named: userns, landlock,\n"
		"                       cgroup-memory, cgroup-pids, cgroup-cpu,\n"
		"                       huge-tmpfs, or all (what is missing is said at\n"
		"                       start either way, and shown in /metrics)\n"
		"  --help               this text\n"
		"\n"
		"On first start (no keys yet) an admin key for tenant \"default\" is\n"
		"created, printed once and written to DIR/admin.key (mode 0600).\n");
}

/* "host:port", "[v6]:port" or ":port" (all addresses). */
static int split_listen(const char *s, struct serve_opts *o)
{
	const char *colon = strrchr(s, ':');
	struct aj_err e;
	uint64_t port;
	if (!colon || aj_parse_uint(colon + 1, 65535, &port, &e) < 0)
		return -1;
	size_t hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(o->host))
		return -1;
	memcpy(o->host, s, hl);
	o->host[hl] = '\0';
	if (!hl)
		strcpy(o->host, "0.0.0.0");
	o->port = (uint16_t)port;
	return 0;
}

static int parse_number(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	struct aj_err e;
	if (aj_parse_uint(s, max, out, &e) == 0)
		return 0;
	fprintf(stderr, "agentjail serve: %s: %s\n", opt, e.msg);
	return -1;
}

/* A connection limit: 1 to 100000. */
static int parse_limit(const char *opt, const char *s, unsigned *out)
{
	uint64_t v;
	if (parse_number(opt, s, 100000, &v) < 0)
		return -1;
	if (v == 0) {
		fprintf(stderr, "agentjail serve: %s: at least 1\n", opt);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* 0 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, struct serve_opts *o)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, 's' },
		{ "pool", required_argument, NULL, 'p' },
		{ "max-timeout", required_argument, NULL, 't' },
		{ "tenant-quota", required_argument, NULL, 'q' },
		{ "durability", required_argument, NULL, 'd' },
		{ "pool-python", no_argument, NULL, 'y' },
		{ "no-auth", no_argument, NULL, 'n' },
		{ "max-connections", required_argument, NULL, 'C' },
		{ "max-unauth-connections", required_argument, NULL, 'U' },
		{ "max-per-address", required_argument, NULL, 'A' },
		{ "header-timeout", required_argument, NULL, 'H' },
		{ "min-body-rate", required_argument, NULL, 'B' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "require", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	struct aj_err e;
	int c;
	split_listen("127.0.0.1:8080", o);
	o->state = "./var";
	box_config_defaults(&o->box);
	/* A warm pool makes create a hand-over (0.7 ms instead of 6 ms here)
	 * for about half a MiB and one idle process per pooled sandbox. */
	o->box.pool_size = 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (split_listen(optarg, o) < 0) {
				fprintf(stderr, "agentjail serve: --listen wants HOST:PORT, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 's': o->state = optarg; break;
		case 'p':
			if (parse_number("--pool", optarg, 1024, &v) < 0)
				return 2;
			o->box.pool_size = (int)v;
			break;
		case 't':
			if (aj_parse_duration_ms(optarg, &v, &e) < 0 ||
			    (v < 1000 && aj_err_set(&e, AJ_EINVAL, 0, "at least 1 s") < 0)) {
				fprintf(stderr, "agentjail serve: --max-timeout: %s\n", e.msg);
				return 2;
			}
			o->box.max_timeout_s = (int64_t)(v / 1000);
			if (o->box.default_timeout_s > o->box.max_timeout_s)
				o->box.default_timeout_s = o->box.max_timeout_s;
			break;
		case 'q':
			if (parse_number("--tenant-quota", optarg, 1000000, &v) < 0)
				return 2;
			o->box.max_sandboxes_per_tenant = (int64_t)v;
			break;
		case 'd':
			if (store_durability_parse(optarg, &o->box.durability) < 0) {
				fprintf(stderr, "agentjail serve: --durability is process or power, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'C':
			if (parse_limit("--max-connections", optarg, &o->conns.max_connections) < 0)
				return 2;
			break;
		case 'U':
			if (parse_limit("--max-unauth-connections", optarg, &o->conns.max_unauth) < 0)
				return 2;
			break;
		case 'A':
			if (parse_limit("--max-per-address", optarg, &o->conns.max_per_address) < 0)
				return 2;
			break;
		case 'H':
			if (aj_parse_duration_ms(optarg, &v, &e) < 0 ||
			    ((v < 1000 || v > 3600 * 1000) &&
			     aj_err_set(&e, AJ_EINVAL, 0, "1 s to 1 h") < 0)) {
				fprintf(stderr, "agentjail serve: --header-timeout: %s\n", e.msg);
				return 2;
			}
			o->conns.header_timeout_s = (unsigned)(v / 1000);
			break;
		case 'B':
			if (aj_parse_size(optarg, &v, &e) < 0 ||
			    (v > (1u << 30) && aj_err_set(&e, AJ_EINVAL, 0, "at most 1G") < 0)) {
				fprintf(stderr, "agentjail serve: --min-body-rate: %s\n", e.msg);
				return 2;
			}
			o->conns.min_body_rate = v ? (long)v : -1;
			break;
		case 'y': o->box.python_warm = true; break;
		case 'n': o->no_auth = true; break;
		case 'Q': o->quiet = true; break;
		case 'r':
			if (jail_prot_parse(optarg, &o->box.require, &e) < 0) {
				fprintf(stderr, "agentjail serve: --require: %s\n", e.msg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agentjail serve: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	o->box.state_dir = o->state;
	return 0;
}

/* ---- the first admin key ---------------------------------------------------------- */

/* Write secret to <state>/admin.key, mode 0600, replacing a stale one. */
static int write_key_file(const char *state, const char *secret)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/admin.key", state);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t n = strlen(secret);
	bool ok = write(fd, secret, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
		  fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* No key at all (first start): create an admin key of tenant "default". */
static int bootstrap_key(struct box_mgr *m, const char *state)
{
	struct box_caller boot = { .tenant = "default", .role = ROLE_ADMIN,
				   .keyless = true };
	struct key_info *keys = NULL, k;
	size_t n = 0;
	char secret[48];
	struct aj_err e;
	if (box_key_list(m, &boot, &keys, &n, &e) < 0) {
		fprintf(stderr, "agentjail serve: cannot list keys: %s\n", e.msg);
		return -1;
	}
	free(keys);
	if (n > 0)
		return 0;
	if (box_key_create(m, &boot, "default", ROLE_ADMIN, secret, &k, &e) < 0) {
		fprintf(stderr, "agentjail serve: cannot create the admin key: %s\n", e.msg);
		return -1;
	}
	if (write_key_file(state, secret) < 0)
		fprintf(stderr, "agentjail serve: cannot write %s/admin.key: %s\n", state,
			strerror(errno));
	printf("agentjail: created admin key %s for tenant \"default\" (shown once,\n"
	       "           also in %s/admin.key):\n%s\n", k.id, state, secret);
	fflush(stdout);
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

/* ---- the command ------------------------------------------------------------------- */

void cli_host_warnings(const struct jail_host *h)
{
	for (int i = 0; i < JAIL_PROT_N; i++)
		if (!(h->have & (1u << i)))
			fprintf(stderr, "agentjail: warning: %s unavailable on this host "
				"(kernel %s): %s\n", jail_prot_name(i), h->kernel, h->why[i]);
}

static int run_server(struct box_mgr *m, const struct api_config *base,
		      const sigset_t *stop)
{
	struct api_server *srv;
	struct aj_err e;
	/* MCP (Streamable HTTP) at /mcp, on the same daemon and keys */
	struct mcp_http *mcp;
	struct mcp_http_config mc = { .mgr = m, .listen_host = base->host };
	if (mcp_http_start(&mc, &mcp, &e) < 0) {
		fprintf(stderr, "agentjail serve: %s\n", e.msg);
		return 1;
	}
	/* ... and the E2B-compatible API, told apart by its paths */
	struct api_mount mounts[2] = { *mcp_http_mount(mcp), e2b_mount };
	struct api_config cfg = *base;
	cfg.mounts = mounts;
	cfg.nmounts = 2;
	const struct api_config *ac = &cfg;
	if (api_start(m, ac, &srv, &e) < 0) {
		fprintf(stderr, "agentjail serve: %s\n", e.msg);
		mcp_http_stop(mcp);
		return 1;
	}
	bool v6 = strchr(ac->host, ':') != NULL;
	fprintf(stderr, "agentjail: listening on http://%s%s%s:%u\n", v6 ? "[" : "",
		ac->host, v6 ? "]" : "", (unsigned)api_port(srv));
	if (ac->no_auth)
		fprintf(stderr,
			"agentjail: WARNING: --no-auth: every request acts as an ADMIN of\n"
			"agentjail: WARNING: tenant \"default\" without any key.  Anyone who\n"
			"agentjail: WARNING: can reach %s can run code and read every sandbox.\n",
			ac->host);
	int sig = 0;
	sigwait(stop, &sig);
	fprintf(stderr, "agentjail: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
	api_stop(srv);
	mcp_http_stop(mcp);
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;
	struct aj_err e;
	memset(&o, 0, sizeof(o));
	int rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct api_config ac = o.conns;
	ac.host = o.host;
	ac.port = o.port;
	ac.no_auth = o.no_auth;
	ac.log_requests = !o.quiet;
	if (api_check_config(&ac, &e) < 0) {
		fprintf(stderr, "agentjail serve: %s\n", e.msg);
		return 2;
	}
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	struct box_mgr *m;
	if (box_mgr_open(&o.box, &m, &e) < 0) {
		fprintf(stderr, "agentjail serve: %s\n", e.msg);
		return 1;
	}
	cli_host_warnings(box_mgr_host(m));
	rc = bootstrap_key(m, o.state) < 0 ? 1 : run_server(m, &ac, &stop);
	box_mgr_close(m);
	return rc;
}
