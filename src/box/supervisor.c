/* supervisor.c - PID 1 of every sandbox.
 *
 * Runs inside the finished jail (user namespace, no capabilities, seccomp,
 * Landlock, cgroup).  It waits on the socket it shares with the manager;
 * for each SUP_EXEC it forks, wires the descriptors it was sent onto 0-2
 * (and 3), execs, and reports the pid; when a child ends it reports the
 * wait status and rusage.  As PID 1 it also reaps orphans.  When the
 * manager closes the socket it returns, and the kernel kills everything
 * left in the pid namespace.
 *
 * It never reads command output: the manager holds the other ends of the
 * pipes.  Being inside and confined, a compromised supervisor gains nothing
 * the sandboxed code does not already have.
 */
#include "box/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/exec.h"
#include "util/fdpass.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* A command we started and still owe an SUP_EXITED for. */
struct child {
	pid_t pid;
	uint64_t req_id;
};

/* The stack a command's child runs on until it execs (see spawn_child). */
#define CHILD_STACK (64 * 1024)

struct sup {
	int ctl;
	int sigfd;
	char *msg; /* receive buffer, SUP_MAX_MSG */
	char *stack; /* CHILD_STACK bytes */
	struct child *kids;
	size_t nkids, capkids;
};

static int send_all(int fd, const void *p, size_t len)
{
	return aj_send_msg(fd, p, len, NULL, 0);
}

static void send_started(struct sup *s, uint64_t req_id, pid_t pid, int err)
{
	struct sup_started m = { .h = { SUP_STARTED, sizeof(m), req_id },
				 .pid = pid, .err = err };
	send_all(s->ctl, &m, sizeof(m));
}

static int remember(struct sup *s, pid_t pid, uint64_t req_id)
{
	if (s->nkids == s->capkids) {
		size_t cap = s->capkids ? s->capkids * 2 : 16;
		struct child *k = realloc(s->kids, cap * sizeof(*k));
		if (!k)
			return -1;
		s->kids = k;
		s->capkids = cap;
	}
	s->kids[s->nkids++] = (struct child){ pid, req_id };
	return 0;
}

/* What the child of spawn_child needs, and where it leaves its error.
 * Shared memory: the child runs in our address space until it execs. */
struct spawn_args {
	const int *fds;
	uint32_t flags;
	char **argv;
	char **env;
	const char *cwd;
	volatile int err; /* errno | stage << 16; 0 if it exec'd */
};

/* In the child: descriptors onto 0-3, new session, cwd, exec.  On failure
 * the error goes to a->err before it exits. */
static int child_exec(void *arg)
{
	struct spawn_args *a = arg;
	const int *fds = a->fds;
	uint32_t flags = a->flags;
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Own session and process group: no controlling terminal, and the
	 * manager can signal the command together with its children. */
	setsid();
	int stage = SUP_STAGE_SETUP;
	int in = (flags & SUP_F_STDIN) ? fds[2] : 0;
	int nfd = 2 + !!(flags & SUP_F_STDIN);
	if ((in != 0 && dup2(in, 0) < 0) || dup2(fds[0], 1) < 0 ||
	    dup2(fds[1], 2) < 0)
		goto fail;
	if (flags & SUP_F_FD3) {
		if (dup2(fds[nfd], 3) < 0)
			goto fail;
	} else {
		close(3); /* the control socket */
	}
	/* Everything else goes at exec (our descriptor table is a copy). */
	if (syscall(SYS_close_range, 4, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		goto fail;
	stage = SUP_STAGE_CWD;
	if (chdir(a->cwd) < 0)
		goto fail;
	stage = SUP_STAGE_EXEC;
	errno = aj_exec_path(a->argv, a->env);
fail:
	a->err = (errno ? errno : EINVAL) | stage << 16;
	_exit(127);
}

/* Start a command the way posix_spawn does: a child that shares our
 * memory (CLONE_VM) on its own small stack, while we wait (CLONE_VFORK)
 * until it has exec'd or failed.  Nothing is copied - no page tables, no
 * copy-on-write faults afterwards - which is most of what a fork costs.
 * The child touches only its stack, a->err and errno (our errno: we are
 * suspended meanwhile, and look at a->err instead).  Returns the pid, or
 * -1 with *err set (errno | stage << 16). */
static pid_t spawn_child(struct sup *s, struct spawn_args *a, int *err)
{
	a->err = 0;
	pid_t pid = clone(child_exec, s->stack + CHILD_STACK,
			  CLONE_VM | CLONE_VFORK | SIGCHLD, a);
	if (pid < 0) {
		*err = errno | SUP_STAGE_SETUP << 16;
		return -1;
	}
	if (a->err) {
		*err = a->err;
		waitpid(pid, NULL, 0); /* it has _exited */
		return -1;
	}
	return pid;
}

/* Split the packed strings of a SUP_EXEC into argv, env and cwd. */
static int unpack_exec(const char *p, size_t len, const struct sup_exec *x,
		       char ***argv, char ***env, const char **cwd)
{
	size_t need = (size_t)x->argc + x->envc + 1;
	if (x->argc == 0 || x->argc > 65536 || x->envc > 65536)
		return -1;
	char **v = calloc(need + 2, sizeof(char *));
	if (!v)
		return -1;
	size_t off = 0, i = 0;
	for (; i < need; i++) {
		const char *end = off < len ? memchr(p + off, '\0', len - off)
					    : NULL;
		if (!end) {
			free(v);
			return -1;
		}
		v[i + (i >= x->argc)] = (char *)p + off;
		off = (size_t)(end - p) + 1;
	}
	/* v: argv[0..argc-1], NULL, env[0..envc-1], cwd -> split it up */
	*cwd = v[x->argc + 1 + x->envc];
	v[x->argc + 1 + x->envc] = NULL;
	*argv = v;
	*env = v + x->argc + 1;
	return 0;
}

static void handle_exec(struct sup *s, size_t len, int *fds, int nfds)
{
	const struct sup_exec *x = (const struct sup_exec *)s->msg;
	uint64_t req = x->h.req_id;
	int want = 2 + !!(x->flags & SUP_F_STDIN) + !!(x->flags & SUP_F_FD3);
	struct spawn_args a = { .fds = fds, .flags = x->flags };
	int err = 0;
	pid_t pid = 0;

	if (len < sizeof(*x) || nfds != want ||
	    unpack_exec(s->msg + sizeof(*x), len - sizeof(*x), x, &a.argv,
			&a.env, &a.cwd) < 0) {
		err = EINVAL;
		goto out;
	}
	pid = spawn_child(s, &a, &err);
	if (pid < 0) {
		pid = 0;
	} else if (remember(s, pid, req) < 0) {
		/* cannot track it: do not let it run unaccounted */
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = 0;
		err = ENOMEM;
	}
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(a.argv);
	send_started(s, req, pid, err);
}

static void handle_signal(struct sup *s, size_t len)
{
	const struct sup_signal *m = (const struct sup_signal *)s->msg;
	struct sup_ack ack = { .h = { SUP_ACK, sizeof(ack), m->h.req_id } };
	if (len < sizeof(*m) || m->sig < 0 || m->sig >= 65)
		ack.err = EINVAL;
	else if (m->group == SUP_SIGNAL_ALL)
		/* As PID 1, kill(-1) reaches every other process of the
		 * sandbox (and nothing outside its pid namespace). */
		ack.err = kill(-1, m->sig) < 0 ? errno : 0;
	else if (m->pid <= 1)
		ack.err = EINVAL;
	else if (kill(m->group ? -m->pid : m->pid, m->sig) < 0)
		ack.err = errno;
	send_all(s->ctl, &ack, sizeof(ack));
}

/* Reap every child that ended; report the ones the manager started. */
static void reap(struct sup *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	for (;;) {
		int status;
		struct rusage ru;
		pid_t pid = wait4(-1, &status, WNOHANG, &ru);
		if (pid <= 0)
			return;
		for (size_t i = 0; i < s->nkids; i++) {
			if (s->kids[i].pid != pid)
				continue;
			struct sup_exited m = {
				.h = { SUP_EXITED, sizeof(m), s->kids[i].req_id },
				.pid = pid,
				.status = status,
				.utime_us = (int64_t)ru.ru_utime.tv_sec * 1000000 +
					    ru.ru_utime.tv_usec,
				.stime_us = (int64_t)ru.ru_stime.tv_sec * 1000000 +
					    ru.ru_stime.tv_usec,
				.maxrss_kb = ru.ru_maxrss,
			};
			s->kids[i] = s->kids[--s->nkids];
			send_all(s->ctl, &m, sizeof(m));
			break;
		}
	}
}

/* Returns 0 to keep going, -1 when the manager is gone. */
static int handle_ctl(struct sup *s)
{
	int fds[AJ_MAX_PASS_FDS];
	int nfds = AJ_MAX_PASS_FDS;
	ssize_t n = aj_recv_msg(s->ctl, s->msg, SUP_MAX_MSG, fds, &nfds);
	if (n == 0)
		return -1;
	if (n < 0)
		return (errno == EMSGSIZE || errno == EAGAIN) ? 0 : -1;
	const struct sup_hdr *h = (const struct sup_hdr *)s->msg;
	if ((size_t)n >= sizeof(*h) && h->type == SUP_EXEC) {
		handle_exec(s, (size_t)n, fds, nfds);
		return 0;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if ((size_t)n >= sizeof(*h) && h->type == SUP_SIGNAL)
		handle_signal(s, (size_t)n);
	return 0;
}

int supervisor_main(int ctl_fd, void *arg)
{
	(void)arg;
	struct sup s = { .ctl = ctl_fd, .sigfd = -1 };

	/* Not dumpable: code in the sandbox (same uid) cannot ptrace us, read
	 * our memory or open our descriptors through /proc. */
	prctl(PR_SET_DUMPABLE, 0);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	s.sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	s.msg = malloc(SUP_MAX_MSG);
	s.stack = malloc(CHILD_STACK);
	if (s.sigfd < 0 || !s.msg || !s.stack) {
		free(s.msg);
		free(s.stack);
		return 1;
	}

	struct pollfd p[2] = { { .fd = s.ctl, .events = POLLIN },
			       { .fd = s.sigfd, .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			reap(&s);
		if (p[0].revents && handle_ctl(&s) < 0)
			break;
	}
	free(s.msg);
	free(s.stack);
	free(s.kids);
	close(s.sigfd);
	return 0;
}
