/* mcp.c - `agentjail mcp`: an MCP server on stdin/stdout for one local
 * client (Claude Desktop, an IDE, an agent framework).  The local user who
 * starts it owns it: it acts as an admin of tenant "local", with its own
 * state directory.  Logs go to stderr only; stdout carries the protocol. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box.h"
#include "cli/cli.h"
#include "mcp/mcp.h"
#include "mcp/transport.h"

static const char usage_text[] =
	"usage: agentjail mcp [--state DIR]\n"
	"\n"
	"Serve the Model Context Protocol on stdin/stdout (one JSON-RPC message\n"
	"per line) for a local MCP client.  Tools: run_code, run_command,\n"
	"write_file, read_file, list_files, create_sandbox, destroy_sandbox.\n"
	"Exits at end of input or on SIGTERM, destroying its sandboxes.\n"
	"\n"
	"options:\n"
	"  --state DIR  state directory (default $XDG_STATE_HOME/agentjail/mcp,\n"
	"               or ~/.local/state/agentjail/mcp); one process at a time\n"
	"  --help       this text\n";

/* The write end of the self-pipe SIGTERM/SIGINT wake the reader with. */
static int stop_pipe_w = -1;

static void on_stop_signal(int sig)
{
	(void)sig;
	int saved = errno;
	if (write(stop_pipe_w, "x", 1) < 0) {
		/* full pipe: a wake-up is already pending */
	}
	errno = saved;
}

static int default_state_dir(char *out, size_t n)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int len;
	if (xdg && xdg[0] == '/')
		len = snprintf(out, n, "%s/agentjail/mcp", xdg);
	else if (home && home[0] == '/')
		len = snprintf(out, n, "%s/.local/state/agentjail/mcp", home);
	else
		return -1;
	return len > 0 && (size_t)len < n ? 0 : -1;
}

/* mkdir -p; directories it creates are private to the user. */
static int make_dirs(const char *path)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Keep the protocol on private descriptors and point 0 and 1 elsewhere, so
 * nothing else in the process (or a child) can read our input or write
 * into the protocol stream. */
static int take_stdio(int *in, int *out)
{
	*in = fcntl(0, F_DUPFD_CLOEXEC, 3);
	*out = fcntl(1, F_DUPFD_CLOEXEC, 3);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (*in < 0 || *out < 0 || null < 0 || dup2(null, 0) < 0 || dup2(2, 1) < 0) {
		fprintf(stderr, "agentjail mcp: cannot set up stdio: %s\n",
			strerror(errno));
		return -1;
	}
	close(null);
	return 0;
}

static int install_signals(int *stop_r)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	stop_pipe_w = p[1];
	*stop_r = p[0];
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int parse(int argc, char **argv, const char **state)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 's') {
			*state = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			fprintf(stderr, "agentjail mcp: bad option '%s'\n%s",
				argv[optind - 1], usage_text);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agentjail mcp: unexpected argument '%s'\n%s",
			argv[optind], usage_text);
		return 2;
	}
	return -1;
}

/* Open the manager (before any thread), then serve until EOF or signal. */
static int serve(const char *state, int in, int out)
{
	struct box_config cfg;
	struct box_mgr *mgr;
	struct mcp_server *srv;
	struct aj_err e;
	box_config_defaults(&cfg);
	cfg.state_dir = state;
	if (box_mgr_open(&cfg, &mgr, &e) < 0) {
		fprintf(stderr, "agentjail mcp: %s\n", e.msg);
		return 1;
	}
	cli_host_warnings(box_mgr_host(mgr));
	int stop_r = -1;
	struct mcp_server_config mc;
	mcp_server_config_defaults(&mc);
	mc.mgr = mgr;
	if (install_signals(&stop_r) < 0 || mcp_server_new(&mc, &srv, &e) < 0) {
		fprintf(stderr, "agentjail mcp: cannot start: %s\n", e.msg);
		box_mgr_close(mgr);
		return 1;
	}
	struct box_caller local = { .key_id = "local", .tenant = "local",
				    .role = ROLE_ADMIN, .keyless = true };
	fprintf(stderr, "agentjail mcp: serving on stdio (state %s)\n", state);
	int rc = mcp_stdio_run(srv, &local, in, out, stop_r);
	mcp_server_free(srv);
	box_mgr_close(mgr);
	return rc == 0 ? 0 : 1;
}

int cmd_mcp(int argc, char **argv)
{
	const char *state = NULL;
	char dflt[PATH_MAX];
	int rc = parse(argc, argv, &state);
	if (rc >= 0)
		return rc;
	if (!state) {
		if (default_state_dir(dflt, sizeof(dflt)) < 0) {
			fprintf(stderr, "agentjail mcp: set HOME or XDG_STATE_HOME, "
				"or pass --state DIR\n");
			return 1;
		}
		state = dflt;
	}
	if (make_dirs(state) < 0) {
		fprintf(stderr, "agentjail mcp: cannot create %s: %s\n", state,
			strerror(errno));
		return 1;
	}
	int in, out;
	if (take_stdio(&in, &out) < 0)
		return 1;
	/* the manager refuses a state dir another agentjail is using */
	return serve(state, in, out);
}
