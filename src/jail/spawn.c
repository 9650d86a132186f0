/* spawn.c - jail_start: the whole confinement sequence, top to bottom.
 *
 *  parent                                  child (clone: new user, pid,
 *                                          mount, ipc, uts [, net] ns)
 *  ------                                  -----
 *  compile seccomp policy (if not given)
 *  create cgroups, write limits,
 *  open their `tasks` files
 *  clone ------------------------------->  PDEATHSIG=SIGKILL, default signals
 *                                          enter cgroups (write "0")
 *  write uid_map/gid_map (1000 -> host id)  wait for "go"
 *  "go" -------------------------------->  setresgid/setgroups/setresuid 1000
 *                                          unshare cgroup ns, hostname
 *                                          build the root fs, pivot, ro
 *                                          rlimits, fds 0-2 /dev/null, 3 ctl
 *                                          drop caps, no_new_privs,
 *                                          Landlock, seccomp
 *  read report: OK / WARN / ERR  <-------  report OK, close other fds
 *  return                                  fn(3, arg) as PID 1, _exit
 *
 * The child is a fork-like copy of a single-threaded caller: it uses
 * syscalls and simple libc (snprintf, malloc) only, never returns into the
 * caller's code, and reports failure as an aj_err over the report pipe.
 *
 * Why each namespace: user - everything below works without host
 * privileges, and "root" inside is nobody outside; pid - the sandbox
 * sees only its own processes and dies as a whole with its PID 1; mount -
 * its own filesystem tree; net - only a loopback device; ipc - System V
 * and POSIX queues are its own; uts - its own hostname; cgroup - its
 * /proc/self/cgroup shows "/" rather than host paths. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jail/internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* One record on the report pipe: far below PIPE_BUF, so each write is
 * atomic and each read gets exactly one. */
struct report {
	int kind; /* REPORT_* */
	int code; /* enum aj_code for REPORT_ERR */
	int sys_errno;
	char text[244];
};
enum { REPORT_OK, REPORT_WARN, REPORT_ERR };

struct child_ctx {
	const struct jail_spec *spec;
	const struct jail_policy *policy;
	struct jail_cgroup *cg;
	jail_init_fn fn;
	void *arg;
	int ctl_fd;
	int go_fd;     /* read end: the parent wrote our id maps */
	int report_fd; /* write end: report records */
	int may_setgroups; /* parent is root: we may (and must) drop groups */
};

/* ---- child ------------------------------------------------------------- */

static void report(int fd, int kind, enum aj_code code, int err, const char *text)
{
	struct report r = { .kind = kind, .code = (int)code, .sys_errno = err };
	snprintf(r.text, sizeof(r.text), "%s", text ? text : "");
	ssize_t n = write(fd, &r, sizeof(r));
	(void)n; /* nothing else to tell anyone if the parent is gone */
}

static _Noreturn void child_fail(const struct child_ctx *c, const struct aj_err *e)
{
	report(c->report_fd, REPORT_ERR, e->code, e->sys_errno, e->msg);
	_exit(127);
}

/* The caller's handlers point into code that must not run here, and an
 * ignored SIGPIPE would be inherited across exec: start from defaults. */
static void reset_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int set_rlimits(const struct jail_limits *l, struct aj_err *e)
{
	struct rlimit rl = { 0, 0 };
	/* No core dumps: they would land in the sandbox's quota and nobody
	 * reads them. */
	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "RLIMIT_CORE");
	if (l->fsize_bytes) {
		rl.rlim_cur = rl.rlim_max = l->fsize_bytes;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			return aj_err_sys(e, AJ_EINTERNAL, "RLIMIT_FSIZE");
	}
	if (l->nofile) {
		/* Raising the hard limit needs privilege in the initial user
		 * namespace; never ask for more than we have. */
		struct rlimit cur;
		getrlimit(RLIMIT_NOFILE, &cur);
		rl.rlim_cur = rl.rlim_max = l->nofile < cur.rlim_max ? l->nofile : cur.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return aj_err_sys(e, AJ_EINTERNAL, "RLIMIT_NOFILE");
	}
	if (l->cpu_time_s) {
		/* SIGXCPU at the limit, SIGKILL a second later if ignored. */
		rl.rlim_cur = l->cpu_time_s;
		rl.rlim_max = l->cpu_time_s + 1;
		if (setrlimit(RLIMIT_CPU, &rl) < 0)
			return aj_err_sys(e, AJ_EINTERNAL, "RLIMIT_CPU");
	}
	return 0;
}

/* fds 0-2 on /dev/null, the control fd on 3, the report fd moved high
 * (closed with everything else once it has said OK). */
static int arrange_fds(struct child_ctx *c, struct aj_err *e)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ctl = c->ctl_fd >= 0 ? fcntl(c->ctl_fd, F_DUPFD_CLOEXEC, 10) : -1;
	int rep = fcntl(c->report_fd, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || rep < 0 || (c->ctl_fd >= 0 && ctl < 0))
		return aj_err_sys(e, AJ_EINTERNAL, "arrange fds");
	c->report_fd = rep;
	for (int fd = 0; fd < 3; fd++)
		if (dup2(null, fd) < 0)
			return aj_err_sys(e, AJ_EINTERNAL, "dup2 /dev/null");
	if (ctl >= 0 && dup2(ctl, 3) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "dup2 control fd");
	if (ctl < 0)
		close(3);
	close(null);
	if (ctl >= 0)
		close(ctl);
	return 0;
}

static _Noreturn void child_main(struct child_ctx *c)
{
	const struct jail_spec *spec = c->spec;
	struct aj_err e = { 0 };

	/* 1. Die with the process that created us (PID 1 dying then takes
	 *    the whole pid namespace).  If the parent died before this
	 *    line, the read of "go" below sees EOF and we leave. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	reset_signals();

	/* 2. Into the jail's cgroups before anything else, so every byte
	 *    and process from here on is accounted and limited. */
	if (jail_cgroup_enter(c->cg, &e) < 0)
		child_fail(c, &e);

	/* 3. Wait until the parent has written our uid/gid maps. */
	char go;
	if (read(c->go_fd, &go, 1) != 1)
		_exit(127);
	close(c->go_fd);

	/* 4. Become the sandbox user.  We keep our user-namespace
	 *    capabilities (the namespace's uid 0 is unmapped, so this is not
	 *    a root->non-root transition); files created from here on
	 *    belong to uid 1000.  As root's child we also drop the host's
	 *    supplementary groups, which would otherwise keep granting group
	 *    access on the host's files. */
	if (setresgid(JAIL_USER_ID, JAIL_USER_ID, JAIL_USER_ID) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "setresgid");
		child_fail(c, &e);
	}
	if (c->may_setgroups && setgroups(0, NULL) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "setgroups");
		child_fail(c, &e);
	}
	if (setresuid(JAIL_USER_ID, JAIL_USER_ID, JAIL_USER_ID) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "setresuid");
		child_fail(c, &e);
	}
	umask(022);

	/* 5. A cgroup namespace rooted at the jail's cgroup (now that we are
	 *    in it), and the hostname of the new uts namespace. */
	if (unshare(CLONE_NEWCGROUP) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "unshare cgroup namespace");
		child_fail(c, &e);
	}
	if (sethostname(JAIL_HOSTNAME, strlen(JAIL_HOSTNAME)) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "sethostname");
		child_fail(c, &e);
	}

	/* 6. The filesystem (mounts.c): private propagation, tmpfs root,
	 *    pivot_root, binds, /proc, /dev, read-only root, chdir. */
	if (jail_fs_build(spec, &e) < 0)
		child_fail(c, &e);

	/* 7. Resource limits the kernel enforces per process. */
	if (set_rlimits(&spec->limits, &e) < 0 || arrange_fds(c, &e) < 0)
		child_fail(c, &e);

	/* 8. Privileges, in minijail's order: ids are already final; drop
	 *    capabilities; no_new_privs (nothing exec'd can gain any:
	 *    setuid bits, file caps); Landlock; seccomp last, so that the
	 *    steps before may use syscalls the policy forbids. */
	if (jail_caps_drop(&e) < 0)
		child_fail(c, &e);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "no_new_privs");
		child_fail(c, &e);
	}
	const char *rw[3 + 16];
	size_t nrw = 0;
	rw[nrw++] = JAIL_HOME;
	rw[nrw++] = "/tmp";
	rw[nrw++] = "/dev/shm";
	for (size_t i = 0; i < spec->nbinds && nrw < sizeof(rw) / sizeof(*rw); i++)
		if (spec->binds[i].writable)
			rw[nrw++] = spec->binds[i].dst;
	char why[200];
	int ll = jail_landlock_apply(rw, nrw, why, sizeof(why), &e);
	if (ll < 0)
		child_fail(c, &e);
	if (ll > 0)
		report(c->report_fd, REPORT_WARN, AJ_OK, 0, why);
	if (jail_seccomp_load(c->policy, &e) < 0)
		child_fail(c, &e);

	/* 9. Done: tell the parent, keep only fds 0-3, run the caller's
	 *    init as PID 1. */
	report(c->report_fd, REPORT_OK, AJ_OK, 0, NULL);
	syscall(SYS_close_range, 4U, ~0U, 0U);
	_exit(c->fn(3, c->arg));
}

/* ---- parent ------------------------------------------------------------ */

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

/* Map ONLY the sandbox user to one host id: nothing else in the
 * namespace has a host identity, in particular not host root. */
static int write_id_maps(pid_t pid, uid_t hu, gid_t hg, int root,
			 struct aj_err *e)
{
	char map[64];
	/* Unprivileged writers must deny setgroups before writing gid_map
	 * (otherwise the child could drop a group that was denying it
	 * access). */
	if (!root && write_proc(pid, "setgroups", "deny") < 0 && errno != ENOENT)
		return aj_err_sys(e, AJ_EINTERNAL, "write setgroups");
	snprintf(map, sizeof(map), "%u %u 1\n", JAIL_USER_ID, (unsigned)hu);
	if (write_proc(pid, "uid_map", map) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "write uid_map");
	snprintf(map, sizeof(map), "%u %u 1\n", JAIL_USER_ID, (unsigned)hg);
	if (write_proc(pid, "gid_map", map) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "write gid_map");
	return 0;
}

/* Read the child's reports until it says OK or fails.  Returns 0 on OK. */
static int read_reports(int fd, struct jail_warnings *w, struct aj_err *e)
{
	for (;;) {
		struct report r;
		ssize_t n = read(fd, &r, sizeof(r));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(r))
			return aj_err_set(e, AJ_EINTERNAL, 0,
					  "jail setup: child died without a report");
		r.text[sizeof(r.text) - 1] = '\0';
		if (r.kind == REPORT_OK)
			return 0;
		if (r.kind == REPORT_WARN) {
			jail_warn(w, "%s", r.text);
			continue;
		}
		return aj_err_set(e, r.code ? (enum aj_code)r.code : AJ_EINTERNAL,
				  r.sys_errno, "jail setup: %s", r.text);
	}
}

static void warn_workspace(const struct jail_spec *spec, uid_t hu, gid_t hg,
			   struct jail_warnings *w)
{
	struct stat st;
	if (!spec->workspace || stat(spec->workspace, &st) < 0)
		return; /* a missing dir is reported by the bind itself */
	int writable = (st.st_uid == hu && (st.st_mode & S_IWUSR)) ||
		       (st.st_gid == hg && (st.st_mode & S_IWGRP)) ||
		       (st.st_mode & S_IWOTH);
	if (!writable)
		jail_warn(w, "workspace %s is not writable by the sandbox user "
			  "(host uid %u): chown it to make it writable",
			  spec->workspace, (unsigned)hu);
}

int jail_start(const struct jail_spec *spec, jail_init_fn fn, void *arg,
	       int ctl_fd, struct jail *out, struct aj_err *e)
{
	memset(out, 0, sizeof(*out));
	out->pid = -1;
	out->pidfd = -1;
	if (!spec || !fn)
		return aj_err_set(e, AJ_EINVAL, 0, "jail_start: no spec or init");

	/* The seccomp program: the caller's, or compiled for this jail. */
	struct jail_policy *own = NULL;
	const struct jail_policy *pol = spec->policy;
	if (!pol) {
		if (jail_policy_build(spec->net, &own, e) < 0)
			return -1;
		pol = own;
	} else if (pol->net != spec->net) {
		return aj_err_set(e, AJ_EINVAL, 0,
				  "seccomp policy built for another network mode");
	}

	/* Whose host id the sandbox user is: as root an unprivileged id far
	 * from everything (never 0); otherwise our own, the only one an
	 * unprivileged process may map. */
	int root = geteuid() == 0;
	uid_t hu = root ? (spec->host_id ? spec->host_id : JAIL_DEFAULT_HOST_ID) : getuid();
	gid_t hg = root ? (gid_t)hu : getgid();
	if (root && hu == 0) {
		jail_policy_free(own);
		return aj_err_set(e, AJ_EINVAL, 0, "refusing to map the sandbox to host root");
	}
	if (root)
		warn_workspace(spec, hu, hg, &out->warnings);

	/* cgroups first: limits must be in place before the child runs. */
	char name[64];
	if (spec->name) {
		snprintf(name, sizeof(name), "%s", spec->name);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(name, sizeof(name), "run-%d-%llx", (int)getpid(),
			 (unsigned long long)ts.tv_sec * 1000000000ULL +
				 (unsigned long long)ts.tv_nsec);
	}
	struct jail_cgroup *cg = NULL;
	if (jail_cgroup_create(name, &spec->limits, &cg, &out->warnings, e) < 0) {
		jail_policy_free(own);
		return -1;
	}

	int go[2] = { -1, -1 }, rep[2] = { -1, -1 };
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		aj_err_sys(e, AJ_EINTERNAL, "pipe");
		goto fail_pipes;
	}

	/* Raw clone with fork semantics (no separate stack: the child
	 * continues on a copy of ours), all namespaces at once, and a pidfd
	 * so that killing and waiting can never hit a recycled pid. */
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS |
			      CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
	if (spec->net == JAIL_NET_NONE)
		flags |= CLONE_NEWNET;
	int pidfd = -1;
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, &pidfd, NULL, NULL);
	if (pid < 0) {
		aj_err_sys(e, errno == EPERM || errno == ENOSPC ? AJ_EUNSUPPORTED
								 : AJ_EINTERNAL,
			   "clone (user namespaces available?)");
		goto fail_pipes;
	}
	if (pid == 0) {
		close(go[1]);
		close(rep[0]);
		struct child_ctx c = {
			.spec = spec, .policy = pol, .cg = cg, .fn = fn,
			.arg = arg, .ctl_fd = ctl_fd, .go_fd = go[0],
			.report_fd = rep[1], .may_setgroups = root,
		};
		child_main(&c);
	}

	close(go[0]);
	close(rep[1]);
	jail_cgroup_close_fds(cg);
	int rc = write_id_maps(pid, hu, hg, root, e);
	if (rc == 0 && write(go[1], "g", 1) != 1)
		rc = aj_err_sys(e, AJ_EINTERNAL, "release child");
	close(go[1]);
	if (rc == 0)
		rc = read_reports(rep[0], &out->warnings, e);
	close(rep[0]);
	jail_policy_free(own);

	out->pid = pid;
	out->pidfd = pidfd;
	out->host_uid = hu;
	out->host_gid = hg;
	out->cg = cg;
	if (rc < 0) {
		jail_destroy(out);
		return -1;
	}
	return 0;

fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (rep[i] >= 0)
			close(rep[i]);
	}
	jail_cgroup_destroy(cg);
	jail_policy_free(own);
	return -1;
}

void jail_kill(struct jail *j)
{
	/* SIGKILL to PID 1: the kernel then kills every other process of
	 * the pid namespace.  Through the pidfd, so a recycled pid can never
	 * be hit; ESRCH just means it is already gone. */
	if (j->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
	else if (j->pid > 0)
		kill(j->pid, SIGKILL);
}

void jail_destroy(struct jail *j)
{
	jail_kill(j);
	if (j->pidfd >= 0) {
		siginfo_t si;
		/* ECHILD: the caller reaped PID 1 already. */
		while (waitid((idtype_t)P_PIDFD, (id_t)j->pidfd, &si, WEXITED) < 0 &&
		       errno == EINTR)
			;
		close(j->pidfd);
		j->pidfd = -1;
	}
	/* Removing the cgroup also kills stragglers, should any exist. */
	jail_cgroup_destroy(j->cg);
	j->cg = NULL;
	j->pid = -1;
}

int jail_stats(const struct jail *j, struct jail_stats *st, struct aj_err *e)
{
	return jail_cgroup_stats(j->cg, st, e);
}
