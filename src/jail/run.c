/* run.c - jail_run: one command in a fresh jail, output relayed or
 * collected, wall clock enforced, outcome reported.
 *
 * Inside, PID 1 is run_init below: it receives the write ends of our
 * stdout/stderr pipes over the control socket (fd 3), forks the command
 * (new session, fds 0-2 only), reaps every process that ends up its
 * child, and when the command exits sends its raw wait status and exits
 * itself - the kernel then kills whatever is left in the pid namespace,
 * double-forked daemons included.
 *
 * Outside, we poll the two pipes, the control socket and PID 1's pidfd.
 * Output beyond the limit is read and dropped, so the command never
 * blocks on a full pipe and our memory never grows past the limit.  At
 * the deadline we SIGKILL PID 1, which takes the whole namespace with
 * it.  CPU time and peak RSS come from wait4() on PID 1, whose rusage
 * includes every process it reaped, i.e. the whole tree. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jail/internal.h"
#include "util/exec.h"
#include "util/fdpass.h"

/* After PID 1 is gone every writer of the pipes is gone too; this only
 * bounds the wait if a descriptor lingers in a unix socket being
 * garbage-collected. */
#define DRAIN_GRACE_MS 2000

struct init_arg {
	char *const *argv;
	char *const *envp;
};

/* What PID 1 sends when the command has exited. */
struct init_result {
	int status;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- inside: PID 1 ----------------------------------------------------- */

/* The command's process, started the way posix_spawn does - sharing our
 * memory (CLONE_VM) on a small stack of its own while we wait
 * (CLONE_VFORK) until it has exec'd - but without posix_spawn's reset of
 * every signal (two syscalls per signal, on the critical path of every
 * run): our handlers are the defaults already and our mask is empty
 * (spawn.c starts us that way).  The child gets a session of its own (no
 * controlling terminal, a process group that is not ours), our pipes as
 * stdout/stderr, nothing above fd 2, and the sandbox's PATH for the
 * search. */
#define SPAWN_STACK 32768

struct spawn_arg {
	char *const *argv;
	char *const *envp;
	const int *fds; /* stdout, stderr */
	volatile int err; /* set by the child if it could not exec */
};

static int spawn_cmd(void *p)
{
	struct spawn_arg *sa = p;
	int err;
	if (setsid() < 0 || dup2(sa->fds[0], 1) < 0 || dup2(sa->fds[1], 2) < 0 ||
	    syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		err = errno;
	else
		err = aj_exec_path(sa->argv, sa->envp);
	sa->err = err ? err : EINVAL;
	_exit(127);
}

static int run_init(int ctl, void *p)
{
	const struct init_arg *a = p;

	/* Nothing in the sandbox may ptrace us, read our memory or open our
	 * fds through /proc (we are the same uid as the code we run). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	char m;
	int fds[2], nfds = 2;
	if (aj_recv_msg(ctl, &m, 1, fds, &nfds) != 1 || nfds != 2)
		return 126;
	struct spawn_arg sa = { a->argv, a->envp, fds, 0 };
	char stack[SPAWN_STACK] __attribute__((aligned(16)));
	pid_t cmd = (pid_t)clone(spawn_cmd, stack + sizeof(stack),
				 CLONE_VM | CLONE_VFORK | SIGCHLD, &sa);
	int err = cmd < 0 ? errno : sa.err;
	struct init_result r = { 0 };
	if (err) {
		/* What a shell says and returns when it cannot run a command. */
		dprintf(fds[1], "agentjail: %s: %s\n", a->argv[0], strerror(err));
		r.status = (err == ENOENT ? 127 : 126) << 8;
		if (cmd > 0)
			waitpid(cmd, NULL, 0); /* it has _exited */
		cmd = -1;
	}
	close(fds[0]);
	close(fds[1]);

	/* As PID 1 we inherit every orphan: reap them all until the command
	 * itself exits. */
	while (cmd > 0) {
		int st;
		pid_t w = waitpid(-1, &st, 0);
		if (w == cmd) {
			r.status = st;
			break;
		}
		if (w < 0 && errno != EINTR)
			return 126; /* cannot happen: cmd is our child */
	}
	ssize_t n = write(ctl, &r, sizeof(r));
	return n == (ssize_t)sizeof(r) ? 0 : 126;
}

/* ---- outside ----------------------------------------------------------- */

struct stream {
	int fd;            /* read end, -1 once at EOF */
	int pass_fd;       /* PASS mode: where to copy, -1 if not/broken */
	int collect;
	char *buf;
	size_t len, cap;
	uint64_t limit;    /* 0 = unlimited */
	uint64_t seen;
	bool truncated;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { fd, POLLOUT, 0 };
			poll(&pf, 1, 100);
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Keep what fits under the limit; count and drop the rest. */
static int take(struct stream *s, const char *data, size_t n, struct aj_err *e)
{
	size_t keep = n;
	if (s->limit) {
		uint64_t room = s->seen >= s->limit ? 0 : s->limit - s->seen;
		if (keep > room) {
			keep = (size_t)room;
			s->truncated = true;
		}
	}
	s->seen += n;
	if (keep == 0)
		return 0;
	if (s->pass_fd >= 0 && write_all(s->pass_fd, data, keep) < 0)
		s->pass_fd = -1; /* our reader went away: keep draining */
	if (s->collect) {
		if (s->len + keep + 1 > s->cap) {
			size_t cap = s->cap ? s->cap : 4096;
			while (cap < s->len + keep + 1)
				cap *= 2;
			if (s->limit && cap > s->limit + 1)
				cap = (size_t)s->limit + 1;
			char *nb = realloc(s->buf, cap);
			if (!nb)
				return aj_err_sys(e, AJ_EINTERNAL, "collect output");
			s->buf = nb;
			s->cap = cap;
		}
		memcpy(s->buf + s->len, data, keep);
		s->len += keep;
		s->buf[s->len] = '\0';
	}
	return 0;
}

static void drain_once(struct stream *s, char *chunk, size_t size,
		       struct aj_err *e, int *failed)
{
	ssize_t n = read(s->fd, chunk, size);
	if (n > 0) {
		if (take(s, chunk, (size_t)n, e) < 0)
			*failed = 1;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(s->fd);
		s->fd = -1;
	}
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

/* Poll until PID 1 is reaped and both pipes are at EOF.  Fills the
 * timing, status and output fields of res. */
static int supervise(struct jail *j, int ctl, struct stream st[2],
		     uint64_t t0, uint64_t timeout_ms, struct jail_result *res,
		     struct aj_err *e)
{
	uint64_t deadline = timeout_ms ? t0 + timeout_ms : 0;
	uint64_t drain_until = 0;
	int pid1_done = 0, got_result = 0, killed = 0, failed = 0;
	int pid1_status = 0;
	struct init_result result = { 0 };
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	char *chunk = malloc(65536);
	if (!chunk)
		return aj_err_sys(e, AJ_EINTERNAL, "output buffer");

	while (!(pid1_done && st[0].fd < 0 && st[1].fd < 0 && ctl < 0)) {
		struct pollfd pf[4];
		int idx[4], n = 0;
		for (int i = 0; i < 2; i++)
			if (st[i].fd >= 0) {
				pf[n] = (struct pollfd){ st[i].fd, POLLIN, 0 };
				idx[n++] = i;
			}
		if (ctl >= 0) {
			pf[n] = (struct pollfd){ ctl, POLLIN, 0 };
			idx[n++] = 2;
		}
		if (!pid1_done) {
			pf[n] = (struct pollfd){ j->pidfd, POLLIN, 0 };
			idx[n++] = 3;
		}

		/* The deadline is checked on every pass, not only when poll
		 * times out: a command flooding its output keeps poll busy. */
		uint64_t now = now_ms();
		if (!pid1_done && deadline && !killed && now >= deadline) {
			jail_kill(j);
			killed = 1;
		}
		int wait_ms = -1;
		if (!pid1_done && deadline && !killed)
			wait_ms = deadline > now ? (int)(deadline - now) : 0;
		if (pid1_done) {
			if (!drain_until)
				drain_until = now + DRAIN_GRACE_MS;
			if (now >= drain_until)
				break;
			wait_ms = (int)(drain_until - now);
		}

		int rc = poll(pf, (nfds_t)n, wait_ms);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			failed = aj_err_sys(e, AJ_EINTERNAL, "poll");
			jail_kill(j);
			killed = 1;
			continue;
		}
		if (rc == 0)
			continue; /* deadline or drain grace: checked above */
		for (int k = 0; k < n; k++) {
			if (!pf[k].revents)
				continue;
			if (idx[k] < 2) {
				drain_once(&st[idx[k]], chunk, 65536, e, &failed);
			} else if (idx[k] == 2) {
				struct init_result r;
				ssize_t got = recv(ctl, &r, sizeof(r), MSG_DONTWAIT);
				if (got == (ssize_t)sizeof(r)) {
					result = r;
					got_result = 1;
				} else if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
					close(ctl);
					ctl = -1;
				}
			} else {
				pid_t w = wait4(j->pid, &pid1_status, 0, &ru);
				/* ECHILD: the caller ignores SIGCHLD and the
				 * kernel reaped it; the status is then lost. */
				if (w == j->pid || (w < 0 && errno == ECHILD))
					pid1_done = 1;
			}
		}
	}
	free(chunk);
	if (ctl >= 0)
		close(ctl);

	res->wall_ms = now_ms() - t0;
	res->cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		      (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	res->max_rss_kb = (uint64_t)ru.ru_maxrss;
	/* The command's own status if PID 1 lived to report it, otherwise
	 * PID 1's (killed at the deadline, or by the OOM killer). */
	int status = got_result ? result.status : pid1_status;
	if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
		res->exit_code = 128 + res->signal;
	} else {
		res->exit_code = WEXITSTATUS(status);
	}
	res->timed_out = killed && !got_result && !failed;
	return failed ? -1 : 0;
}

int jail_run(const struct jail_spec *spec, char *const argv[],
	     enum jail_output_mode mode, struct jail_result *res,
	     struct aj_err *e)
{
	memset(res, 0, sizeof(*res));
	if (!spec || !argv || !argv[0] || !argv[0][0])
		return aj_err_set(e, AJ_EINVAL, 0, "no command to run");
	char **envp = jail_env_build(spec, e);
	if (!envp)
		return -1;

	uint64_t t0 = now_ms();
	int sv[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		aj_err_sys(e, AJ_EINTERNAL, "jail_run: pipes");
		goto fail;
	}
	/* The init receives the pipes as soon as it starts; once they are
	 * in flight our copies of the write ends must go, or we would never
	 * see EOF. */
	int wends[2] = { outp[1], errp[1] };
	if (aj_send_msg(sv[0], "p", 1, wends, 2) < 0) {
		aj_err_sys(e, AJ_EINTERNAL, "pass output pipes");
		goto fail;
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	struct init_arg ia = { argv, envp };
	struct jail j;
	/* CPU time comes from PID 1's rusage, which covers the whole tree:
	 * no CPU-accounting cgroup needed. */
	struct jail_spec own = *spec;
	own.cpu_usage = false;
	own.freezer = false;
	int rc = jail_start(&own, run_init, &ia, sv[1], &j, e);
	close(sv[1]);
	sv[1] = -1;
	res->warnings = j.warnings;
	if (rc < 0)
		goto fail;
	free(envp);
	envp = NULL;

	struct stream st[2];
	for (int i = 0; i < 2; i++) {
		st[i] = (struct stream){
			.fd = i == 0 ? outp[0] : errp[0],
			.pass_fd = mode == JAIL_OUTPUT_PASS ? i + 1 : -1,
			.collect = mode == JAIL_OUTPUT_COLLECT,
			.limit = spec->limits.output_bytes,
		};
		fcntl(st[i].fd, F_SETFL, O_NONBLOCK);
	}
	outp[0] = errp[0] = -1;
	rc = supervise(&j, sv[0], st, t0, spec->limits.timeout_ms, res, e);
	sv[0] = -1;

	uint64_t kills;
	if (jail_cgroup_oom_kills(j.cg, &kills) == 0)
		res->oom_killed = kills > 0;
	jail_destroy(&j);

	for (int i = 0; i < 2; i++) {
		if (st[i].fd >= 0)
			close(st[i].fd);
		res->truncated[i] = st[i].truncated;
		if (st[i].collect) {
			if (!st[i].buf)
				st[i].buf = calloc(1, 1);
			res->out[i] = st[i].buf;
			res->out_len[i] = st[i].len;
		}
	}
	if (mode == JAIL_OUTPUT_COLLECT && (!res->out[0] || !res->out[1]) && rc == 0)
		rc = aj_err_sys(e, AJ_EINTERNAL, "collect output");
	return rc;

fail:
	close_pair(sv);
	close_pair(outp);
	close_pair(errp);
	free(envp);
	return -1;
}

void jail_result_free(struct jail_result *res)
{
	for (int i = 0; i < 2; i++) {
		free(res->out[i]);
		res->out[i] = NULL;
		res->out_len[i] = 0;
	}
}
