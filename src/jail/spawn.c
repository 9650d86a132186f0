/* spawn.c - jail_start: the whole confinement sequence, top to bottom.
 *
 *  parent                                  child (clone: new user, pid,
 *  ------                                  mount, ipc, uts [, net] ns)
 *  seccomp policy (precompiled)            -----
 *  clone, euid = the namespace's owner -->  PDEATHSIG=SIGKILL, default signals
 *  (as root: "Whose counters" below)
 *  write uid_map/gid_map (1000 -> host id)  wait for "ids"
 *  "ids" -------------------------------->  setresgid/setgroups/setresuid 1000,
 *                                           PDEATHSIG again (the uid change
 *  look up /usr, /etc entries on the host   cleared it), hostname, loopback
 *  (fsplan.c)                               up, tmpfs root, pivot_root
 *  the plan ----------------------------->  mirror what it says, /dev, /proc,
 *  create cgroups, write limits, open       our /etc files, detach the host
 *  their `tasks` files; sweep leftovers     tree, root read-only
 *  "cgroups" + the tasks fds ----------->   enter cgroups (write "0"),
 *                                           unshare cgroup ns,
 *                                           rlimits, fds 0-2 /dev/null, 3 ctl,
 *                                           drop caps, no_new_privs,
 *                                           Landlock, seccomp
 *  read reports: OK / WARN / ERR <-------   report OK, close other fds
 *  return                                   fn(3, arg) as PID 1, _exit
 *
 * Parent and child talk over one SOCK_SEQPACKET pair: whole messages,
 * descriptors attached, and EOF if the other side dies.  Whatever can be
 * done on the host's side runs in the parent while the child works: the
 * lookups behind the filesystem plan while the child starts and makes its
 * root, the cgroups while it builds its filesystem (both take about a
 * millisecond; on two cores they overlap) rather than before the clone,
 * and the child moves itself in (see cgroup.c for why); either way it is
 * in them, limits set, before any code we do not control runs.
 *
 * The child is a fork-like copy of a single-threaded caller: it uses
 * syscalls and simple libc (snprintf, malloc) only, never returns into the
 * caller's code, and reports failure as an aj_err over the socket.
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
#include <linux/securebits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jail/internal.h"
#include "util/fdpass.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* One report, child to parent (one seqpacket message each). */
struct report {
	int kind; /* REPORT_* */
	int code; /* enum aj_code for REPORT_ERR */
	int sys_errno;
	char text[244];
};
enum { REPORT_OK, REPORT_WARN, REPORT_ERR };

/* Parent to child: the release steps.  GO_IDS_NET is GO_IDS saying that
 * the parent has brought the child's loopback device up as well. */
enum { GO_IDS = 'i', GO_IDS_NET = 'n', GO_CGROUPS = 'c' };

struct child_ctx {
	const struct jail_spec *spec;
	const struct jail_policy *policy;
	jail_init_fn fn;
	void *arg;
	int ctl_fd;
	int sock;          /* our end of the seqpacket pair */
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

__attribute__((noreturn)) static void child_fail(const struct child_ctx *c, const struct aj_err *e)
{
	report(c->sock, REPORT_ERR, e->code, e->sys_errno, e->msg);
	_exit(127);
}

/* Wait for release step `step`; take up to *nfds descriptors with it.
 * EOF (the parent died) or anything unexpected: leave quietly. */
static void await(const struct child_ctx *c, char step, int *fds, int *nfds)
{
	char m = 0;
	int none = 0;
	if (aj_recv_msg(c->sock, &m, 1, fds, nfds ? nfds : &none) != 1 || m != step)
		_exit(127);
}

/* Wait for the first release; true if it says the loopback is up. */
static bool await_ids(const struct child_ctx *c)
{
	char m = 0;
	int none = 0;
	if (aj_recv_msg(c->sock, &m, 1, NULL, &none) != 1 ||
	    (m != GO_IDS && m != GO_IDS_NET))
		_exit(127);
	return m == GO_IDS_NET;
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
	/* Per sandbox now (see "Whose counters" below), and bounded the same
	 * whatever the caller's own limits: queued signals (and POSIX
	 * timers, which hold one each) and bytes of POSIX message queues.
	 * Lowering only: a hard limit cannot be raised in here. */
	static const struct { int res; rlim_t max; const char *name; } fixed[] = {
		{ RLIMIT_SIGPENDING, JAIL_SIGPENDING, "RLIMIT_SIGPENDING" },
		{ RLIMIT_MSGQUEUE, JAIL_MSGQUEUE_BYTES, "RLIMIT_MSGQUEUE" },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++) {
		struct rlimit cur;
		if (getrlimit(fixed[i].res, &cur) < 0)
			return aj_err_sys(e, AJ_EINTERNAL, "%s", fixed[i].name);
		rl.rlim_cur = rl.rlim_max = fixed[i].max < cur.rlim_max ? fixed[i].max
									 : cur.rlim_max;
		if (setrlimit(fixed[i].res, &rl) < 0)
			return aj_err_sys(e, AJ_EINTERNAL, "%s", fixed[i].name);
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

/* Close every fd >= first (close_range is Linux 5.9+; before that, walk
 * up to the fd limit). */
static void close_from(int first)
{
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0U) == 0)
		return;
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < 65536
			  ? (int)rl.rlim_max : 65536;
	for (int fd = first; fd < max; fd++)
		close(fd);
}

/* A new network namespace starts with its loopback device down; bring it
 * up so that programs talking to localhost (test servers, language
 * servers, notebooks) work.  Needs CAP_NET_ADMIN in the namespace, which
 * we still have here. */
static int loopback_up(struct aj_err *e)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "loopback: socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (rc < 0)
		aj_err_sys(e, AJ_EINTERNAL, "bring loopback up");
	close(s);
	return rc;
}

/* parent: the same from here, in the child's network namespace
 * (entered through its pidfd and left again at once), while the child is
 * still starting - on its own it would do it on the critical path.
 * Entering needs CAP_SYS_ADMIN over our namespace and the child's, so
 * only a root parent can.  Returns 1 if the loopback is up, 0 if the
 * child must do it, -1 if this thread could not return to its own
 * namespace (cannot happen for a root caller; the error says so). */
static int loopback_up_from_parent(int pidfd, struct aj_err *e)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return 0;
	int rc = 0;
	if (setns(pidfd, CLONE_NEWNET) == 0) {
		struct aj_err ignored;
		rc = loopback_up(&ignored) == 0;
		if (setns(self, CLONE_NEWNET) < 0)
			rc = aj_err_sys(e, AJ_EINTERNAL,
					"cannot return to our network namespace");
	}
	close(self);
	return rc;
}

/* fds 0-2 on /dev/null, the control fd on 3, our socket moved high
 * (closed with everything else once it has said OK). */
static int arrange_fds(struct child_ctx *c, struct aj_err *e)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ctl = c->ctl_fd >= 0 ? fcntl(c->ctl_fd, F_DUPFD_CLOEXEC, 10) : -1;
	int rep = fcntl(c->sock, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || rep < 0 || (c->ctl_fd >= 0 && ctl < 0))
		return aj_err_sys(e, AJ_EINTERNAL, "arrange fds");
	c->sock = rep;
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
	 *    line, the wait below sees EOF and we leave. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	reset_signals();

	/* 2. Wait until the parent has written our uid/gid maps. */
	bool lo_up = await_ids(c);

	/* 3. Become the sandbox user.  We keep our user-namespace
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
	/* Changing the euid cleared the parent-death signal: arm it again.
	 * Should the parent have died in between, the wait for "cgroups"
	 * below sees EOF and we leave. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	umask(022);

	/* 4. The hostname of the new uts namespace, and the loopback device
	 *    of the new network namespace (unless the parent did it). */
	if (sethostname(JAIL_HOSTNAME, strlen(JAIL_HOSTNAME)) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "sethostname");
		child_fail(c, &e);
	}
	if (spec->net == JAIL_NET_NONE && !lo_up && loopback_up(&e) < 0)
		child_fail(c, &e);

	/* 5. The filesystem (mounts.c): private propagation, tmpfs root,
	 *    pivot_root; then what the parent's plan mirrors from the host
	 *    (it looked that up meanwhile), /proc, /dev, read-only root,
	 *    chdir. */
	if (jail_fs_enter(spec, &e) < 0)
		child_fail(c, &e);
	char *plan = malloc(JAIL_PLAN_MAX);
	ssize_t plan_len = plan ? aj_recv_msg(c->sock, plan, JAIL_PLAN_MAX, NULL, NULL) : -1;
	if (plan_len <= 0)
		_exit(127); /* the parent is gone */
	if (jail_fs_build(spec, plan, (size_t)plan_len, &e) < 0)
		child_fail(c, &e);
	free(plan);

	/* 6. Into the jail's cgroups (the parent made them meanwhile), then
	 *    a cgroup namespace rooted there, so /proc/self/cgroup shows
	 *    "/" instead of host paths. */
	int cgfds[AJ_MAX_PASS_FDS], ncg = AJ_MAX_PASS_FDS;
	await(c, GO_CGROUPS, cgfds, &ncg);
	if (jail_cgroup_enter(cgfds, ncg, &e) < 0)
		child_fail(c, &e);
	if (unshare(CLONE_NEWCGROUP) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "unshare cgroup namespace");
		child_fail(c, &e);
	}

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
	const char **rw = malloc((3 + spec->nbinds) * sizeof(*rw));
	if (!rw) {
		aj_err_sys(&e, AJ_EINTERNAL, "landlock paths");
		child_fail(c, &e);
	}
	size_t nrw = 0;
	rw[nrw++] = JAIL_HOME;
	rw[nrw++] = "/tmp";
	rw[nrw++] = "/dev/shm";
	for (size_t i = 0; i < spec->nbinds; i++)
		if (spec->binds[i].writable)
			rw[nrw++] = spec->binds[i].dst;
	char why[200];
	int ll = jail_landlock_apply(rw, nrw, why, sizeof(why), &e);
	free(rw);
	if (ll < 0)
		child_fail(c, &e);
	if (ll > 0)
		report(c->sock, REPORT_WARN, AJ_OK, 0, why);
	if (jail_seccomp_load(c->policy, &e) < 0)
		child_fail(c, &e);

	/* 9. Done: tell the parent, keep only fds 0-3, run the caller's
	 *    init as PID 1. */
	report(c->sock, REPORT_OK, AJ_OK, 0, NULL);
	close_from(4);
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

/* Whose counters.  The kernel keeps a user's inotify instances and
 * watches, queued signals (RLIMIT_SIGPENDING), POSIX queue bytes,
 * namespaces and the like per (user namespace, uid), and charges each
 * one up the chain of namespaces: a namespace's share at the level
 * above belongs to its owner, the euid of whoever created it
 * (kernel/ucount.c).  Created by root, every sandbox would spend host
 * root's own budget: one of them holding 128 inotify instances or every
 * pending signal breaks inotify_init1 and timer_create for the host and
 * for all other sandboxes.  So as root we create the namespace as its
 * own owner, a reserved host uid (jail.h) for just the clone: the
 * sandbox then draws on that uid's budget, the host's per-user limits
 * (fs.inotify.max_user_*, our RLIMIT_SIGPENDING) apply to it alone, and
 * root's is untouched.  The uid its files belong to does not change.
 *
 * Only this thread's euid changes (a raw syscall, not glibc's
 * all-threads setresuid), and back to 0 right after the clone: the real
 * and saved uid stay 0.  With SECBIT_NO_SETUID_FIXUP we keep our
 * capabilities meanwhile, so that kernels allowing user namespaces to
 * CAP_SYS_ADMIN only (Debian's unprivileged_userns_clone=0, Ubuntu's
 * AppArmor restriction) still let us.  An euid change also resets the
 * dumpable flag and the parent-death signal: restored afterwards. */
struct as_owner {
	int securebits; /* before, or -1 */
	int dumpable;
	int pdeathsig;
	pid_t ppid;
};

static int owner_enter(uid_t owner, struct as_owner *s, struct aj_err *e)
{
	s->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	s->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	s->pdeathsig = 0;
	prctl(PR_GET_PDEATHSIG, &s->pdeathsig, 0, 0, 0);
	s->ppid = getppid();
	/* Locked securebits (a container runtime's) are no reason to fail:
	 * the clone then needs no capability or fails on its own. */
	if (s->securebits >= 0 && !(s->securebits & SECBIT_NO_SETUID_FIXUP) &&
	    prctl(PR_SET_SECUREBITS, (unsigned long)s->securebits | SECBIT_NO_SETUID_FIXUP,
		  0, 0, 0) < 0)
		s->securebits = -1;
	if (syscall(SYS_setresuid, -1, owner, -1) == 0)
		return 0;
	int saved = errno;
	if (s->securebits >= 0)
		prctl(PR_SET_SECUREBITS, (unsigned long)s->securebits, 0, 0, 0);
	errno = saved;
	return aj_err_sys(e, AJ_EUNSUPPORTED,
			  "cannot act as host uid %u to own the sandbox's user namespace",
			  (unsigned)owner);
}

static int owner_leave(const struct as_owner *s, struct aj_err *e)
{
	if (syscall(SYS_setresuid, -1, 0, -1) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "cannot return to euid 0");
	if (s->securebits >= 0)
		prctl(PR_SET_SECUREBITS, (unsigned long)s->securebits, 0, 0, 0);
	if (s->dumpable == 0 || s->dumpable == 1)
		prctl(PR_SET_DUMPABLE, s->dumpable, 0, 0, 0);
	if (s->pdeathsig) {
		prctl(PR_SET_PDEATHSIG, s->pdeathsig, 0, 0, 0);
		/* Our parent died while the signal was off: deliver it. */
		if (getppid() != s->ppid)
			kill(getpid(), s->pdeathsig);
	}
	return 0;
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
	snprintf(map, sizeof(map), "%d %u 1\n", JAIL_USER_ID, (unsigned)hu);
	if (write_proc(pid, "uid_map", map) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "write uid_map");
	snprintf(map, sizeof(map), "%d %u 1\n", JAIL_USER_ID, (unsigned)hg);
	if (write_proc(pid, "gid_map", map) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "write gid_map");
	return 0;
}

/* Read the child's reports until it says OK or fails.  Returns 0 on OK,
 * -1 with the child's error in e, REPORTS_DIED if it died silently. */
#define REPORTS_DIED (-2)
static int read_reports(int sock, struct jail_warnings *w, struct aj_err *e)
{
	for (;;) {
		struct report r;
		ssize_t n = aj_recv_msg(sock, &r, sizeof(r), NULL, NULL);
		/* A child that exits with our last message unread in its queue
		 * leaves ECONNRESET pending on our end; the error is reported
		 * (and cleared) once, before the reports it sent are read. */
		if (n < 0 && errno == ECONNRESET)
			n = aj_recv_msg(sock, &r, sizeof(r), NULL, NULL);
		if (n != (ssize_t)sizeof(r)) {
			aj_err_set(e, AJ_EINTERNAL, 0,
				   "jail setup: child died without a report");
			return REPORTS_DIED;
		}
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
	uid_t owner = spec->owner_id ? spec->owner_id
				     : JAIL_OWNER_RUN_BASE + (uid_t)getpid();
	if (root && hu == 0) {
		jail_policy_free(own);
		return aj_err_set(e, AJ_EINVAL, 0, "refusing to map the sandbox to host root");
	}
	if (root && (owner == hu || owner == (uid_t)-1)) {
		jail_policy_free(own);
		return aj_err_set(e, AJ_EINVAL, 0,
				  "the user namespace's owner must not be the sandbox user");
	}
	if (root)
		warn_workspace(spec, hu, hg, &out->warnings);

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

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		jail_policy_free(own);
		return aj_err_sys(e, AJ_EINTERNAL, "socketpair");
	}

	/* Raw clone with fork semantics (no separate stack: the child
	 * continues on a copy of ours), all namespaces at once, and a pidfd
	 * so that killing and waiting can never hit a recycled pid. */
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS |
			      CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
	if (spec->net == JAIL_NET_NONE)
		flags |= CLONE_NEWNET;
	int pidfd = -1;
	struct as_owner as = { 0 };
	if (root && owner_enter(owner, &as, e) < 0) {
		close(sv[0]);
		close(sv[1]);
		jail_policy_free(own);
		return -1;
	}
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, &pidfd, NULL, NULL);
	int clone_err = errno;
	if (pid != 0 && root && owner_leave(&as, e) < 0) {
		if (pid > 0) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			waitpid(pid, NULL, 0);
			close(pidfd);
		}
		close(sv[0]);
		close(sv[1]);
		jail_policy_free(own);
		return -1;
	}
	if (pid < 0) {
		errno = clone_err;
		aj_err_sys(e, errno == EPERM || errno == ENOSPC ? AJ_EUNSUPPORTED
								 : AJ_EINTERNAL,
			   "clone (user namespaces available?)");
		close(sv[0]);
		close(sv[1]);
		jail_policy_free(own);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		struct child_ctx c = {
			.spec = spec, .policy = pol, .fn = fn, .arg = arg,
			.ctl_fd = ctl_fd, .sock = sv[1], .may_setgroups = root,
		};
		child_main(&c);
	}
	close(sv[1]);
	out->pid = pid;
	out->pidfd = pidfd;
	out->host_uid = hu;
	out->host_gid = hg;

	/* Release the child into its identity, look up what it is to mirror
	 * from the host while it makes its new root, send it that plan, then
	 * make the cgroups while it builds its filesystem, and hand them
	 * over. */
	char step = GO_IDS;
	struct jail_fs_plan plan;
	int rc = write_id_maps(pid, hu, hg, root, e);
	if (rc == 0 && root && spec->net == JAIL_NET_NONE) {
		rc = loopback_up_from_parent(pidfd, e);
		if (rc == 1)
			step = GO_IDS_NET;
		rc = rc < 0 ? -1 : 0;
	}
	if (rc == 0 && aj_send_msg(sv[0], &step, 1, NULL, 0) < 0)
		rc = aj_err_sys(e, AJ_EINTERNAL, "release child");
	const struct jail_fs_plan *shared = spec->fs_plan;
	if (rc == 0 && !shared && jail_fs_plan_build(&plan, e) < 0)
		rc = -1;
	if (rc == 0) {
		const struct jail_fs_plan *p = shared ? shared : &plan;
		if (aj_send_msg(sv[0], p->buf, p->len, NULL, 0) < 0)
			rc = aj_err_sys(e, AJ_EINTERNAL, "send the filesystem plan");
		if (!shared)
			jail_fs_plan_free(&plan);
	}
	if (rc == 0)
		rc = jail_cgroup_create(name, &spec->limits, spec->cpu_usage,
					spec->freezer, pid, &out->cg,
					&out->warnings, e);
	if (rc == 0) {
		int fds[AJ_MAX_PASS_FDS];
		int n = jail_cgroup_enter_fds(out->cg, fds, AJ_MAX_PASS_FDS);
		step = GO_CGROUPS;
		int send_err = aj_send_msg(sv[0], &step, 1, fds, n) < 0 ? errno : 0;
		jail_cgroup_close_fds(out->cg);
		/* Leftovers of jails whose creator was killed outright. */
		jail_cgroup_sweep_siblings(out->cg, spec->name == NULL);
		if (send_err) {
			/* Most likely the child failed while building its
			 * filesystem and its report is waiting for us; make
			 * sure it is not still waiting, then prefer its
			 * account of what went wrong. */
			jail_kill(out);
			if (read_reports(sv[0], &out->warnings, e) == -1)
				rc = -1; /* the child's own error */
			else
				rc = aj_err_set(e, AJ_EINTERNAL, send_err,
						"pass cgroups to child: %s",
						strerror(send_err));
		}
	}
	if (rc == 0)
		rc = read_reports(sv[0], &out->warnings, e);
	close(sv[0]);
	jail_policy_free(own);
	if (rc < 0) {
		jail_destroy(out);
		return -1;
	}
	return 0;
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
