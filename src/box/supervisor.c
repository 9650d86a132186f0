/* supervisor.c - PID 1 of every sandbox.
 *
 * Runs inside the finished jail (user namespace, no capabilities, seccomp,
 * Landlock, cgroup).  It waits on the socket it shares with the manager;
 * for each SUP_EXEC it starts a child that wires the descriptors it was
 * sent onto 0-2 (and 3) and execs, and reports the pid once the exec is
 * done; when a child ends it reports the wait status and rusage.  As PID 1
 * it also reaps orphans.  When the manager closes the socket it returns,
 * and the kernel kills everything left in the pid namespace.
 *
 * It never waits for anything the sandbox can hold up: nothing the code
 * inside can do to a child (stop it, say) may block it (see "starting a
 * command").  It never reads command output: the manager holds the other
 * ends of the pipes.  Being inside and confined, a compromised supervisor
 * gains nothing the sandboxed code does not already have.
 */
#include "box/proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* A command we started and still owe an SUP_EXITED for.  Until it has
 * exec'd (or failed to) we also owe its SUP_STARTED: errfd is then the read
 * end of its start pipe and sp the memory it runs on (see spawn_child). */
struct child {
	pid_t pid;
	uint64_t req_id;
	int errfd;        /* -1 once SUP_STARTED was sent */
	struct spawn *sp; /* NULL once SUP_STARTED was sent */
};

struct sup {
	int ctl;
	int sigfd;
	char *msg; /* receive buffer, SUP_MAX_MSG */
	struct child *kids;
	size_t nkids, capkids;
	struct pollfd *pfd; /* ctl, sigfd, then one per start pending */
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

static int remember(struct sup *s, const struct child *k)
{
	if (s->nkids == s->capkids) {
		size_t cap = s->capkids ? s->capkids * 2 : 16;
		struct child *v = realloc(s->kids, cap * sizeof(*v));
		if (!v)
			return -1;
		s->kids = v;
		struct pollfd *p = realloc(s->pfd, (cap + 2) * sizeof(*p));
		if (!p)
			return -1;
		s->pfd = p;
		s->capkids = cap;
	}
	s->kids[s->nkids++] = *k;
	return 0;
}

/* ---- starting a command ------------------------------------------------
 *
 * Code in the sandbox runs as the same user as a command's child before it
 * execs, and pids are easy to guess: it can stop that child (SIGSTOP).  A
 * supervisor that waits for the exec - as vfork and posix_spawn do - then
 * waits for ever, and every later command of the sandbox with it.  So we
 * never wait: the child reports through a close-on-exec pipe that the main
 * loop watches (end-of-file: it exec'd; an int: it failed), and a stopped
 * child delays only its own start.
 *
 * fork() would copy our page tables, and exec would then tear the copy
 * down: about 1 ms more per command on the VM we measure on, a new mm
 * being that dear there.  So the child shares our memory (CLONE_VM, as
 * with vfork) while we run on beside it, which asks three things of it:
 *   - everything it reads is its own (struct spawn: a copy of the strings
 *     of the message, the descriptors, a stack), freed only when its pipe
 *     says it has left our memory (exec switches to a new mm, and exit
 *     releases it, before the descriptors are closed);
 *   - it writes nothing of ours but that: no libc call that sets errno,
 *     which lives in our thread's TLS and so is shared.  It makes raw
 *     system calls (sys6 below) and calls pure string functions only;
 *   - it never returns into our code: it execs or exits.
 * Where we have no raw system calls (sys6 is written for x86-64 and arm64)
 * the child is a plain fork: slower, and the rules then cost nothing.  So
 * it is under ThreadSanitizer, whose interceptors (strlen...) keep state
 * in the calling thread's TLS. */

#define CHILD_STACK (64 * 1024)

#if defined(__SANITIZE_THREAD__)
#define AJ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AJ_TSAN 1
#endif
#endif

#if (defined(__x86_64__) || defined(__aarch64__)) && !defined(AJ_TSAN)
#define SHARED_SPAWN 1
/* A system call that touches no memory of ours: -errno on failure. */
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
#else
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
#endif
}
#else
#define SHARED_SPAWN 0
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);
	return r < 0 ? -errno : r;
}
#endif

#define SYS1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define SYS3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* What a command's child reads until it execs; the argv and env pointers
 * and the strings follow it, its stack precedes it (see spawn_new). */
struct spawn {
	int fds[AJ_MAX_PASS_FDS];
	uint32_t flags;
	int errfd; /* write end of the start pipe */
	char **argv;
	char **env;
	const char *cwd;
	char *block; /* the allocation: CHILD_STACK bytes of stack first */
};

static int child_execve(const char *path, char *const argv[], char *const env[])
{
	return (int)-SYS3(SYS_execve, path, argv, env);
}

/* In the child: descriptors onto 0-3, new session, cwd, exec; on failure
 * errno | stage << 16 into the start pipe.  Raw system calls only (see
 * above). */
static int child_main(void *arg)
{
	const struct spawn *a = arg;
	const int *fds = a->fds;
	uint32_t flags = a->flags;
	uint64_t none = 0; /* the kernel's sigset_t: 64 signals */
	SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
	/* Own session and process group: no controlling terminal, and the
	 * manager can signal the command together with its children. */
	SYS1(SYS_setsid, 0);
	int stage = SUP_STAGE_SETUP;
	int nfd = 2 + !!(flags & SUP_F_STDIN);
	long rc = 0;
	/* dup3: fds[] are all above 3, never equal to the target */
	if ((flags & SUP_F_STDIN) && (rc = SYS3(SYS_dup3, fds[2], 0, 0)) < 0)
		goto fail;
	if ((rc = SYS3(SYS_dup3, fds[0], 1, 0)) < 0 ||
	    (rc = SYS3(SYS_dup3, fds[1], 2, 0)) < 0)
		goto fail;
	if (flags & SUP_F_FD3)
		rc = SYS3(SYS_dup3, fds[nfd], 3, 0);
	else
		rc = SYS1(SYS_close, 3); /* the control socket */
	if (rc < 0)
		goto fail;
	/* Everything else goes at exec (our descriptor table is a copy). */
	if ((rc = SYS3(SYS_close_range, 4, ~0U, CLOSE_RANGE_CLOEXEC)) < 0)
		goto fail;
	stage = SUP_STAGE_CWD;
	if ((rc = SYS1(SYS_chdir, a->cwd)) < 0)
		goto fail;
	stage = SUP_STAGE_EXEC;
	rc = -aj_exec_path_with(child_execve, a->argv, a->env);
fail:;
	int err = (rc < 0 ? (int)-rc : EINVAL) | stage << 16;
	SYS3(SYS_write, a->errfd, &err, sizeof(err));
	SYS1(SYS_exit_group, 127);
	return 127; /* not reached (clone's caller would _exit with it) */
}

/* Copy what the child needs out of a SUP_EXEC: its strings (p, len bytes:
 * argv, env, cwd) and descriptors.  NULL if malformed or out of memory. */
static struct spawn *spawn_new(const struct sup_exec *x, const char *p,
			       size_t len, const int *fds, int nfds)
{
	size_t need = (size_t)x->argc + x->envc + 1;
	if (x->argc == 0 || x->argc > 65536 || x->envc > 65536 || need > len ||
	    nfds > AJ_MAX_PASS_FDS)
		return NULL;
	/* One block: the stack (growing down, away from the rest), this
	 * struct, argv and env (each NULL-terminated), the strings. */
	size_t ptrs = (need + 1) * sizeof(char *);
	char *blk = malloc(CHILD_STACK + sizeof(struct spawn) + ptrs + len);
	if (!blk)
		return NULL;
	struct spawn *sp = (struct spawn *)(blk + CHILD_STACK);
	char **v = (char **)(sp + 1);
	char *str = (char *)v + ptrs;
	memcpy(str, p, len);
	/* v: argv[0..argc-1], NULL, env[0..envc-1], NULL; then the cwd */
	size_t off = 0;
	for (size_t i = 0; i < need; i++) {
		const char *end = off < len ? memchr(str + off, '\0', len - off) : NULL;
		if (!end) {
			free(blk);
			return NULL;
		}
		if (i < need - 1)
			v[i + (i >= x->argc)] = str + off;
		else
			sp->cwd = str + off;
		off = (size_t)(end - str) + 1;
	}
	v[x->argc] = NULL;
	v[need] = NULL;
	sp->argv = v;
	sp->env = v + x->argc + 1;
	sp->flags = x->flags;
	sp->errfd = -1;
	memcpy(sp->fds, fds, (size_t)nfds * sizeof(int));
	sp->block = blk;
	return sp;
}

static void spawn_free(struct spawn *sp)
{
	if (sp)
		free(sp->block);
}

/* Start a command (see above).  Returns the pid with k filled in, or -1
 * with *err set (errno | stage << 16). */
static pid_t spawn_child(struct spawn *sp, struct child *k, int *err)
{
	int ep[2];
	if (pipe2(ep, O_CLOEXEC | O_NONBLOCK) < 0) {
		*err = errno | SUP_STAGE_SETUP << 16;
		return -1;
	}
	sp->errfd = ep[1];
#if SHARED_SPAWN
	pid_t pid = clone(child_main, sp->block + CHILD_STACK, CLONE_VM | SIGCHLD, sp);
#else
	pid_t pid = fork();
	if (pid == 0)
		child_main(sp);
#endif
	int saved = errno;
	close(ep[1]);
	if (pid < 0) {
		close(ep[0]);
		*err = saved | SUP_STAGE_SETUP << 16;
		return -1;
	}
	*k = (struct child){ .pid = pid, .errfd = ep[0], .sp = sp };
	return pid;
}

static void handle_exec(struct sup *s, size_t len, int *fds, int nfds)
{
	const struct sup_exec *x = (const struct sup_exec *)s->msg;
	uint64_t req = x->h.req_id;
	int want = 2 + !!(x->flags & SUP_F_STDIN) + !!(x->flags & SUP_F_FD3);
	struct spawn *sp = NULL;
	struct child k;
	int err = EINVAL;
	pid_t pid = -1;

	if (len >= sizeof(*x) && nfds == want)
		sp = spawn_new(x, s->msg + sizeof(*x), len - sizeof(*x), fds, nfds);
	if (sp)
		pid = spawn_child(sp, &k, &err);
	if (pid > 0) {
		k.req_id = req;
		if (remember(s, &k) < 0) {
			/* cannot track it: do not let it run unaccounted */
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(k.errfd);
			pid = -1;
			err = ENOMEM;
		}
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	/* A child we track is reported once its start pipe says how it went
	 * (see start_done); until then it may be reading sp. */
	if (pid < 0) {
		spawn_free(sp);
		send_started(s, req, 0, err);
	}
}

/* The process group of pid, -1 if it is gone or a zombie. */
static pid_t pgrp_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold anything but the
	 * last ')' ends it */
	const char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || p[2] == 'Z' || p[2] == 'X' || p[3] != ' ')
		return -1;
	char *end;
	strtol(p + 4, &end, 10); /* ppid */
	long pgrp = strtol(end, &end, 10);
	return *end == ' ' && pgrp > 0 ? (pid_t)pgrp : -1;
}

/* sig to every member of process group pgrp but pgrp itself.  Each pid
 * listed in /proc is opened as a pidfd and signalled only if it is still
 * in the group: while the process the pidfd holds lives, its pid is its
 * own, so a pid reused since the listing is never hit.  A process that
 * joins the group after the listing is not signalled. */
static int signal_rest_of_group(pid_t pgrp, int sig)
{
	DIR *d = opendir("/proc");
	if (!d)
		return errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 1 || pid == pgrp || pgrp_of((pid_t)pid) != pgrp)
			continue;
		int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (fd < 0)
			continue; /* gone */
		if (pgrp_of((pid_t)pid) == pgrp)
			syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
		close(fd);
	}
	closedir(d);
	return 0;
}

static void handle_signal(struct sup *s, size_t len)
{
	const struct sup_signal *m = (const struct sup_signal *)s->msg;
	struct sup_ack ack = { .h = { SUP_ACK, sizeof(ack), m->h.req_id } };
	if (len < sizeof(*m) || m->sig < 0 || m->sig >= 65 || m->lead < 0 || m->lead >= 65)
		ack.err = EINVAL;
	else if (m->pid <= 1)
		ack.err = EINVAL;
	else if (m->group == SUP_SIG_REST) {
		/* the leader first: it must know before its commands die */
		if (m->lead && kill(m->pid, m->lead) < 0)
			ack.err = errno;
		else
			ack.err = signal_rest_of_group(m->pid, m->sig);
	} else if (kill(m->group ? -m->pid : m->pid, m->sig) < 0)
		ack.err = errno;
	send_all(s->ctl, &ack, sizeof(ack));
}

/* The start pipe of kids[i] is readable (or the child is gone): report
 * how the start went.  A child that failed is forgotten (it exits; reap
 * ignores it).  Returns false if it was. */
static bool start_done(struct sup *s, size_t i)
{
	struct child *k = &s->kids[i];
	int err = 0;
	ssize_t n;
	while ((n = read(k->errfd, &err, sizeof(err))) < 0 && errno == EINTR)
		;
	if (n < 0 && errno == EAGAIN)
		return true; /* not yet */
	/* Data or end-of-file: the child has left our memory (see above). */
	close(k->errfd);
	k->errfd = -1;
	spawn_free(k->sp);
	k->sp = NULL;
	if (n == (ssize_t)sizeof(err) && err) {
		send_started(s, k->req_id, 0, err);
		*k = s->kids[--s->nkids];
		return false;
	}
	/* End-of-file: it exec'd, or died on a signal before it could. */
	send_started(s, k->req_id, k->pid, 0);
	return true;
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
			/* its start first: the manager hears them in order */
			if (s->kids[i].errfd >= 0 && !start_done(s, i))
				break;
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
	s.pfd = malloc(2 * sizeof(*s.pfd));
	if (s.sigfd < 0 || !s.msg || !s.pfd) {
		free(s.msg);
		free(s.pfd);
		return 1;
	}

	for (;;) {
		/* the control socket, children that ended, starts pending */
		struct pollfd *p = s.pfd;
		size_t np = 2;
		p[0] = (struct pollfd){ .fd = s.ctl, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = s.sigfd, .events = POLLIN };
		for (size_t i = 0; i < s.nkids; i++)
			if (s.kids[i].errfd >= 0)
				p[np++] = (struct pollfd){ .fd = s.kids[i].errfd,
							   .events = POLLIN };
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t j = 2; j < np; j++) {
			if (!p[j].revents)
				continue;
			for (size_t i = 0; i < s.nkids; i++)
				if (s.kids[i].errfd == p[j].fd) {
					start_done(&s, i);
					break;
				}
		}
		if (p[1].revents)
			reap(&s);
		if (p[0].revents && handle_ctl(&s) < 0)
			break;
	}
	/* A child still starting may be reading its spawn block: that stays
	 * until we exit, which kills it (we are PID 1). */
	for (size_t i = 0; i < s.nkids; i++)
		if (s.kids[i].errfd >= 0)
			close(s.kids[i].errfd);
	free(s.msg);
	free(s.pfd);
	free(s.kids);
	close(s.sigfd);
	return 0;
}
