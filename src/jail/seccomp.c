/* seccomp.c - the syscall policy: compiled once with libseccomp in the
 * parent, loaded as raw BPF in every jail's child (no libseccomp calls
 * after the clone).
 *
 * Two filters, because libseccomp cannot express "allow this syscall
 * except for these argument values" unambiguously in one filter (an
 * unconditional rule swallows conditional ones of another action):
 *
 *   1. allowlist   default ERRNO(ENOSYS) so syscalls newer than this list
 *                  look unimplemented and libraries fall back; an explicit
 *                  EPERM for the dangerous families; other ABIs (i386 via
 *                  int 0x80, x32 numbers) kill the process.
 *   2. arguments   default ALLOW; denies particular argument values of
 *                  syscalls the allowlist lets through (TIOCSTI, clone with
 *                  namespace flags, socket families, personality changes).
 *
 * The kernel runs every loaded filter and applies the most restrictive
 * verdict, so a syscall passes only if both allow it.  The reference for
 * the allowlist is Docker's default profile, trimmed to what we need and
 * decided independently.
 *
 * Compiling takes 2-5 ms (and 8 ms with the binary-tree layout that
 * makes the kernel's per-syscall walk short), which would dominate a
 * one-shot run.  So the programs are compiled ahead of time into
 * seccomp_bpf.c (generated, committed) and jail_policy_build() just
 * points at them; libseccomp compiles at run time only on an architecture
 * without a precompiled program.  tests/unit/test_jail_seccomp.c compiles
 * the rules below with libseccomp and merges the two programs into one: a
 * binary search over syscall-number ranges, then for each of the few
 * syscalls whose arguments matter a short hand-written check (libseccomp
 * needs 63 rules for the personality rule alone).  That is 208
 * instructions instead of 466 + 282, and loading costs the kernel about
 * 0.45 us per instruction (measured: 443 -> 223 us).  The test checks
 * that the precompiled program gives the kernel's combined verdict of
 * the two for every syscall number, both ABIs, every argument value the
 * rules look at and a million random ones, so it cannot silently drift.
 * After editing the rules (an argument rule: also its block in the
 * test), regenerate with:
 *
 *   make build/tests/test_jail_seccomp &&
 *   AJ_SECCOMP_EMIT=src/jail/seccomp_bpf.c build/tests/test_jail_seccomp
 *
 * Policy decisions worth knowing:
 * - prlimit64 works on the caller only (pid 0) when it sets limits: the
 *   sandboxed code shares its uid with PID 1 and could wedge it.
 * - ptrace and process_vm_readv/writev are allowed: the pid namespace shows
 *   only the sandbox's own processes, the supervisor/init is non-dumpable,
 *   and debuggers inside the sandbox (strace, gdb, py-spy) then work.
 * - clone3 returns ENOSYS: its flags live in memory seccomp cannot read,
 *   and libc then falls back to clone, whose flags we can check.
 * - ioctl and socket arguments are checked on their low 32 bits where the
 *   kernel truncates to int, so high garbage bits cannot sneak past. */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "jail/internal.h"

/* A syscall name and, for calls newer than the libseccomp we may be built
 * against, its x86_64 number (-1: rely on libseccomp knowing it). */
struct sc {
	const char *name;
	int nr_x86_64;
};

static const struct sc allowed[] = {
	/* files and directories */
	{ "read", -1 }, { "write", -1 }, { "readv", -1 }, { "writev", -1 },
	{ "pread64", -1 }, { "pwrite64", -1 }, { "preadv", -1 },
	{ "pwritev", -1 }, { "preadv2", -1 }, { "pwritev2", -1 },
	{ "open", -1 }, { "openat", -1 }, { "openat2", -1 }, { "creat", -1 },
	{ "close", -1 }, { "close_range", -1 }, { "lseek", -1 }, { "dup", -1 },
	{ "dup2", -1 }, { "dup3", -1 }, { "fcntl", -1 }, { "flock", -1 },
	{ "fsync", -1 }, { "fdatasync", -1 }, { "sync", -1 }, { "syncfs", -1 },
	{ "sync_file_range", -1 }, { "truncate", -1 }, { "ftruncate", -1 },
	{ "fallocate", -1 }, { "fadvise64", -1 }, { "readahead", -1 },
	{ "sendfile", -1 }, { "splice", -1 }, { "tee", -1 },
	{ "vmsplice", -1 }, { "copy_file_range", -1 }, { "stat", -1 },
	{ "fstat", -1 }, { "lstat", -1 }, { "newfstatat", -1 }, { "statx", -1 },
	{ "statfs", -1 }, { "fstatfs", -1 }, { "access", -1 },
	{ "faccessat", -1 }, { "faccessat2", -1 }, { "readlink", -1 },
	{ "readlinkat", -1 }, { "getdents", -1 }, { "getdents64", -1 },
	{ "getcwd", -1 }, { "chdir", -1 }, { "fchdir", -1 }, { "mkdir", -1 },
	{ "mkdirat", -1 }, { "rmdir", -1 }, { "unlink", -1 },
	{ "unlinkat", -1 }, { "rename", -1 }, { "renameat", -1 },
	{ "renameat2", -1 }, { "link", -1 }, { "linkat", -1 },
	{ "symlink", -1 }, { "symlinkat", -1 }, { "mknod", -1 },
	{ "mknodat", -1 }, { "chmod", -1 }, { "fchmod", -1 },
	{ "fchmodat", -1 }, { "fchmodat2", 452 }, { "chown", -1 },
	{ "fchown", -1 }, { "lchown", -1 }, { "fchownat", -1 }, { "umask", -1 },
	{ "utime", -1 }, { "utimes", -1 }, { "utimensat", -1 },
	{ "futimesat", -1 }, { "getxattr", -1 }, { "lgetxattr", -1 },
	{ "fgetxattr", -1 }, { "setxattr", -1 }, { "lsetxattr", -1 },
	{ "fsetxattr", -1 }, { "listxattr", -1 }, { "llistxattr", -1 },
	{ "flistxattr", -1 }, { "removexattr", -1 }, { "lremovexattr", -1 },
	{ "fremovexattr", -1 }, { "setxattrat", 463 }, { "getxattrat", 464 },
	{ "listxattrat", 465 }, { "removexattrat", 466 },
	{ "inotify_init", -1 }, { "inotify_init1", -1 },
	{ "inotify_add_watch", -1 }, { "inotify_rm_watch", -1 },
	{ "memfd_create", -1 }, { "cachestat", 451 },
	/* memory */
	{ "brk", -1 }, { "mmap", -1 }, { "munmap", -1 }, { "mremap", -1 },
	{ "mprotect", -1 }, { "madvise", -1 }, { "mincore", -1 },
	{ "mlock", -1 }, { "mlock2", -1 }, { "munlock", -1 },
	{ "mlockall", -1 }, { "munlockall", -1 }, { "msync", -1 },
	{ "remap_file_pages", -1 }, { "pkey_alloc", -1 }, { "pkey_free", -1 },
	{ "pkey_mprotect", -1 }, { "membarrier", -1 }, { "mseal", 462 },
	{ "map_shadow_stack", 453 }, { "get_mempolicy", -1 },
	{ "set_mempolicy", -1 }, { "mbind", -1 },
	/* processes (clone and personality: arguments checked in filter 2) */
	{ "fork", -1 }, { "vfork", -1 }, { "clone", -1 }, { "execve", -1 },
	{ "execveat", -1 }, { "exit", -1 }, { "exit_group", -1 },
	{ "wait4", -1 }, { "waitid", -1 }, { "kill", -1 }, { "tkill", -1 },
	{ "tgkill", -1 }, { "getpid", -1 }, { "getppid", -1 }, { "gettid", -1 },
	{ "getpgid", -1 }, { "setpgid", -1 }, { "getpgrp", -1 },
	{ "getsid", -1 }, { "setsid", -1 }, { "getuid", -1 }, { "geteuid", -1 },
	{ "getgid", -1 }, { "getegid", -1 }, { "getresuid", -1 },
	{ "getresgid", -1 }, { "getgroups", -1 }, { "setuid", -1 },
	{ "setgid", -1 }, { "setreuid", -1 }, { "setregid", -1 },
	{ "setresuid", -1 }, { "setresgid", -1 }, { "setgroups", -1 },
	{ "setfsuid", -1 }, { "setfsgid", -1 }, { "capget", -1 },
	{ "capset", -1 }, { "prctl", -1 }, { "arch_prctl", -1 },
	{ "set_tid_address", -1 }, { "set_robust_list", -1 },
	{ "get_robust_list", -1 }, { "rseq", -1 }, { "set_thread_area", -1 },
	{ "get_thread_area", -1 }, { "getrlimit", -1 }, { "setrlimit", -1 },
	{ "prlimit64", -1 }, { "getrusage", -1 }, { "times", -1 },
	{ "getpriority", -1 }, { "setpriority", -1 }, { "sched_yield", -1 },
	{ "sched_getaffinity", -1 }, { "sched_setaffinity", -1 },
	{ "sched_getparam", -1 }, { "sched_setparam", -1 },
	{ "sched_getscheduler", -1 }, { "sched_setscheduler", -1 },
	{ "sched_get_priority_max", -1 }, { "sched_get_priority_min", -1 },
	{ "sched_rr_get_interval", -1 }, { "sched_getattr", -1 },
	{ "sched_setattr", -1 }, { "ioprio_get", -1 }, { "ioprio_set", -1 },
	{ "personality", -1 }, { "uname", -1 }, { "sysinfo", -1 },
	{ "getcpu", -1 }, { "getrandom", -1 }, { "ptrace", -1 },
	{ "process_vm_readv", -1 }, { "process_vm_writev", -1 },
	{ "kcmp", -1 }, { "pidfd_open", -1 }, { "pidfd_send_signal", -1 },
	{ "pidfd_getfd", -1 }, { "process_madvise", -1 },
	{ "process_mrelease", -1 }, { "seccomp", -1 },
	{ "landlock_create_ruleset", -1 }, { "landlock_add_rule", -1 },
	{ "landlock_restrict_self", -1 },
	/* signals */
	{ "rt_sigaction", -1 }, { "rt_sigprocmask", -1 },
	{ "rt_sigreturn", -1 }, { "rt_sigpending", -1 },
	{ "rt_sigtimedwait", -1 }, { "rt_sigqueueinfo", -1 },
	{ "rt_tgsigqueueinfo", -1 }, { "rt_sigsuspend", -1 },
	{ "sigaltstack", -1 }, { "signalfd", -1 }, { "signalfd4", -1 },
	{ "pause", -1 }, { "alarm", -1 }, { "restart_syscall", -1 },
	/* time */
	{ "clock_gettime", -1 }, { "clock_getres", -1 },
	{ "clock_nanosleep", -1 }, { "nanosleep", -1 },
	{ "gettimeofday", -1 }, { "time", -1 }, { "getitimer", -1 },
	{ "setitimer", -1 }, { "timer_create", -1 }, { "timer_settime", -1 },
	{ "timer_gettime", -1 }, { "timer_getoverrun", -1 },
	{ "timer_delete", -1 }, { "timerfd_create", -1 },
	{ "timerfd_settime", -1 }, { "timerfd_gettime", -1 },
	/* waiting, IPC (the ipc namespace is the sandbox's own) */
	{ "futex", -1 }, { "futex_waitv", -1 }, { "futex_wake", 454 },
	{ "futex_wait", 455 }, { "futex_requeue", 456 }, { "eventfd", -1 },
	{ "eventfd2", -1 }, { "epoll_create", -1 }, { "epoll_create1", -1 },
	{ "epoll_ctl", -1 }, { "epoll_wait", -1 }, { "epoll_pwait", -1 },
	{ "epoll_pwait2", -1 }, { "poll", -1 }, { "ppoll", -1 },
	{ "select", -1 }, { "pselect6", -1 }, { "pipe", -1 }, { "pipe2", -1 },
	{ "shmget", -1 }, { "shmat", -1 }, { "shmdt", -1 }, { "shmctl", -1 },
	{ "semget", -1 }, { "semop", -1 }, { "semtimedop", -1 },
	{ "semctl", -1 }, { "msgget", -1 }, { "msgsnd", -1 }, { "msgrcv", -1 },
	{ "msgctl", -1 }, { "mq_open", -1 }, { "mq_unlink", -1 },
	{ "mq_timedsend", -1 }, { "mq_timedreceive", -1 }, { "mq_notify", -1 },
	{ "mq_getsetattr", -1 }, { "io_setup", -1 }, { "io_destroy", -1 },
	{ "io_submit", -1 }, { "io_cancel", -1 }, { "io_getevents", -1 },
	{ "io_pgetevents", -1 }, { "ioctl", -1 },
	/* network (socket and socketpair: arguments checked in filter 2) */
	{ "socket", -1 }, { "socketpair", -1 }, { "bind", -1 },
	{ "connect", -1 }, { "listen", -1 }, { "accept", -1 },
	{ "accept4", -1 }, { "getsockname", -1 }, { "getpeername", -1 },
	{ "sendto", -1 }, { "recvfrom", -1 }, { "sendmsg", -1 },
	{ "recvmsg", -1 }, { "sendmmsg", -1 }, { "recvmmsg", -1 },
	{ "shutdown", -1 }, { "setsockopt", -1 }, { "getsockopt", -1 },
};

/* Denied with EPERM: they reach kernel surface a sandbox has no business
 * with (mounts, namespaces, keyrings, BPF, perf, io_uring, modules, the
 * clock, the machine) or escape paths (open_by_handle_at). */
static const struct sc denied[] = {
	{ "mount", -1 }, { "umount2", -1 }, { "pivot_root", -1 },
	{ "move_mount", -1 }, { "open_tree", -1 }, { "fsopen", -1 },
	{ "fsconfig", -1 }, { "fsmount", -1 }, { "fspick", -1 },
	{ "mount_setattr", -1 }, { "open_tree_attr", 467 },
	{ "statmount", 457 }, { "listmount", 458 }, { "unshare", -1 },
	{ "setns", -1 }, { "keyctl", -1 }, { "add_key", -1 },
	{ "request_key", -1 }, { "bpf", -1 }, { "perf_event_open", -1 },
	{ "userfaultfd", -1 }, { "io_uring_setup", -1 },
	{ "io_uring_enter", -1 }, { "io_uring_register", -1 },
	{ "kexec_load", -1 }, { "kexec_file_load", -1 },
	{ "init_module", -1 }, { "finit_module", -1 },
	{ "delete_module", -1 }, { "create_module", -1 }, { "reboot", -1 },
	{ "swapon", -1 }, { "swapoff", -1 }, { "acct", -1 },
	{ "quotactl", -1 }, { "quotactl_fd", -1 },
	{ "open_by_handle_at", -1 }, { "name_to_handle_at", -1 },
	{ "chroot", -1 }, { "syslog", -1 }, { "vhangup", -1 },
	{ "settimeofday", -1 }, { "clock_settime", -1 },
	{ "clock_adjtime", -1 }, { "adjtimex", -1 }, { "sethostname", -1 },
	{ "setdomainname", -1 }, { "iopl", -1 }, { "ioperm", -1 },
	{ "modify_ldt", -1 }, { "lookup_dcookie", -1 }, { "nfsservctl", -1 },
	{ "uselib", -1 }, { "ustat", -1 }, { "sysfs", -1 }, { "_sysctl", -1 },
	{ "fanotify_init", -1 }, { "fanotify_mark", -1 },
};

/* The syscall number for the native arch, or -1 if unknown here. */
static int sc_number(const struct sc *s)
{
	int nr = seccomp_syscall_resolve_name(s->name);
	if (nr != __NR_SCMP_ERROR && nr >= 0)
		return nr;
#if defined(__x86_64__)
	return s->nr_x86_64;
#else
	return -1;
#endif
}

static int add_list(scmp_filter_ctx ctx, const struct sc *list, size_t n,
		    uint32_t action, struct aj_err *e)
{
	for (size_t i = 0; i < n; i++) {
		int nr = sc_number(&list[i]);
		if (nr < 0)
			continue; /* not on this arch/kernel: default applies */
		int rc = seccomp_rule_add(ctx, action, nr, 0);
		if (rc < 0)
			return aj_err_set(e, AJ_EINTERNAL, -rc,
					  "seccomp rule for %s: %s",
					  list[i].name, strerror(-rc));
	}
	return 0;
}

#define RULE(ctx, act, name, ...)                                         \
	do {                                                              \
		int rc_ = seccomp_rule_add(ctx, act, SCMP_SYS(name),      \
					   __VA_ARGS__);                   \
		if (rc_ < 0)                                              \
			return aj_err_set(e, AJ_EINTERNAL, -rc_,          \
					  "seccomp rule for %s: %s",      \
					  #name, strerror(-rc_));          \
	} while (0)

static int build_allowlist(scmp_filter_ctx ctx, struct aj_err *e)
{
	if (add_list(ctx, allowed, sizeof(allowed) / sizeof(*allowed),
		     SCMP_ACT_ALLOW, e) < 0 ||
	    add_list(ctx, denied, sizeof(denied) / sizeof(*denied),
		     SCMP_ACT_ERRNO(EPERM), e) < 0)
		return -1;
	/* clone3 is deliberately in neither list: the default ENOSYS makes
	 * libc fall back to clone. */
	return 0;
}

static int build_argument_checks(scmp_filter_ctx ctx, struct aj_err *e)
{
	/* ioctl(fd, cmd): the kernel takes cmd as unsigned int, so compare
	 * only its low 32 bits.  TIOCSTI pushes input into a terminal
	 * (classic escape through an inherited tty), TIOCLINUX can do the
	 * same on a virtual console. */
	RULE(ctx, SCMP_ACT_ERRNO(EPERM), ioctl, 1,
	     SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffULL, TIOCSTI));
	RULE(ctx, SCMP_ACT_ERRNO(EPERM), ioctl, 1,
	     SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffULL, TIOCLINUX));

	/* clone(flags, ...): no new namespaces (a nested user namespace
	 * would give back every capability inside it). */
	static const unsigned long ns_flags[] = {
		CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
		CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	};
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(*ns_flags); i++)
		RULE(ctx, SCMP_ACT_ERRNO(EPERM), clone, 1,
		     SCMP_A0_64(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));

	/* socket(domain, type, protocol): unix, inet, inet6, and netlink
	 * route only (getaddrinfo and `ip addr` need it).  Everything else
	 * (packet, vsock, bluetooth, alg, other netlink families...) fails
	 * as unsupported.  A domain with high bits set is refused too. */
	for (int dom = 0; dom <= AF_NETLINK; dom++) {
		if (dom == AF_UNIX || dom == AF_INET || dom == AF_INET6 ||
		    dom == AF_NETLINK)
			continue;
		RULE(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), socket, 1,
		     SCMP_A0_64(SCMP_CMP_EQ, (uint64_t)dom));
	}
	RULE(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), socket, 1,
	     SCMP_A0_64(SCMP_CMP_GT, (uint64_t)AF_NETLINK));
	RULE(ctx, SCMP_ACT_ERRNO(EPERM), socket, 2,
	     SCMP_A0_64(SCMP_CMP_EQ, (uint64_t)AF_NETLINK),
	     SCMP_A2_64(SCMP_CMP_NE, 0 /* NETLINK_ROUTE */));
	RULE(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), socketpair, 1,
	     SCMP_A0_64(SCMP_CMP_NE, (uint64_t)AF_UNIX));

	/* prlimit64(pid, resource, new, old): setting the limits of another
	 * process is refused.  The code runs as the same user as PID 1 (the
	 * sandbox's supervisor, or init of a one-shot run), which has no
	 * other protection against it: lowering PID 1's RLIMIT_NOFILE or
	 * RLIMIT_NPROC would wedge it.  Reading (new == NULL) and pid 0
	 * (ourselves: setrlimit, `ulimit`) stay allowed.  The kernel takes
	 * pid as an int; comparing all 64 bits with 0 refuses every other
	 * pid (and, harmlessly, pid 0 with high garbage bits). */
	RULE(ctx, SCMP_ACT_ERRNO(EPERM), prlimit64, 2,
	     SCMP_A0_64(SCMP_CMP_NE, 0), SCMP_A2_64(SCMP_CMP_NE, 0));

	/* personality(persona): only the default persona (0) and the query
	 * (0xffffffff).  Others (READ_IMPLIES_EXEC, MMAP_PAGE_ZERO,
	 * ADDR_NO_RANDOMIZE, ...) weaken memory protections.  libseccomp
	 * allows one comparison per argument per rule, so "low 32 bits
	 * neither all zeros nor all ones" is written as "some two adjacent
	 * bits differ": one rule per bit pair and order.  Any high bit set
	 * is refused by the first rule. */
	RULE(ctx, SCMP_ACT_ERRNO(EPERM), personality, 1,
	     SCMP_A0_64(SCMP_CMP_GT, 0xffffffffULL));
	for (int b = 0; b < 31; b++) {
		uint64_t mask = 0xffffffff00000000ULL | (3ULL << b);
		RULE(ctx, SCMP_ACT_ERRNO(EPERM), personality, 1,
		     SCMP_A0_64(SCMP_CMP_MASKED_EQ, mask, 1ULL << b));
		RULE(ctx, SCMP_ACT_ERRNO(EPERM), personality, 1,
		     SCMP_A0_64(SCMP_CMP_MASKED_EQ, mask, 2ULL << b));
	}
	return 0;
}

/* Export ctx as raw BPF into *prog (malloc'd). */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog,
		      struct aj_err *e)
{
	int fd = memfd_create("agentjail-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "seccomp: memfd_create");
	int rc = seccomp_export_bpf(ctx, fd);
	struct stat st;
	if (rc < 0) {
		close(fd);
		return aj_err_set(e, AJ_EINTERNAL, -rc, "seccomp export: %s",
				  strerror(-rc));
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		close(fd);
		return aj_err_set(e, AJ_EINTERNAL, 0,
				  "seccomp export: unexpected program size");
	}
	struct sock_filter *insns = malloc((size_t)st.st_size);
	if (!insns) {
		close(fd);
		return aj_err_sys(e, AJ_EINTERNAL, "seccomp export");
	}
	ssize_t n = pread(fd, insns, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		free(insns);
		return aj_err_set(e, AJ_EINTERNAL, 0, "seccomp export: short read");
	}
	prog->filter = insns;
	prog->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	return 0;
}

typedef int (*build_fn)(scmp_filter_ctx, struct aj_err *);

static int compile(uint32_t def_action, build_fn build, struct sock_fprog *out,
		   struct aj_err *e)
{
	scmp_filter_ctx ctx = seccomp_init(def_action);
	if (!ctx)
		return aj_err_set(e, AJ_EINTERNAL, 0, "seccomp_init failed");
	int rc = 0;
	/* Any other ABI (i386 through int 0x80, x32 syscall numbers on
	 * x86_64) kills: libseccomp adds the arch check and the x32 bit
	 * check ahead of our rules.  We load the program ourselves after
	 * setting no_new_privs.  Syscalls are dispatched through a binary
	 * tree: the kernel evaluates the program for each syscall number
	 * when it is loaded (to cache constant verdicts), and a linear
	 * chain of 300 comparisons makes that slow. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			     SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
		rc = aj_err_set(e, AJ_EINTERNAL, 0, "seccomp attributes");
	if (rc == 0)
		rc = build(ctx, e);
	if (rc == 0)
		rc = export_bpf(ctx, out, e);
	seccomp_release(ctx);
	return rc;
}

int jail_policy_compile(enum jail_net net, struct jail_policy **out,
			struct aj_err *e)
{
	struct jail_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return aj_err_sys(e, AJ_EINTERNAL, "seccomp policy");
	p->net = net;
	p->owned = 1;
	if (compile(SCMP_ACT_ERRNO(ENOSYS), build_allowlist, &p->prog[0], e) < 0 ||
	    compile(SCMP_ACT_ALLOW, build_argument_checks, &p->prog[1], e) < 0) {
		jail_policy_free(p);
		return aj_err_wrap(e, "seccomp policy");
	}
	*out = p;
	return 0;
}

int jail_policy_build(enum jail_net net, struct jail_policy **out,
		      struct aj_err *e)
{
	if (!jail_bpf_precompiled.len[0])
		return jail_policy_compile(net, out, e);
	struct jail_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return aj_err_sys(e, AJ_EINTERNAL, "seccomp policy");
	/* Both network modes share one program today; the mode is kept so
	 * a jail refuses a policy built for the other one. */
	p->net = net;
	for (int i = 0; i < 2; i++) {
		p->prog[i].filter = (struct sock_filter *)jail_bpf_precompiled.insns[i];
		p->prog[i].len = jail_bpf_precompiled.len[i];
	}
	*out = p;
	return 0;
}

void jail_policy_free(struct jail_policy *p)
{
	if (!p)
		return;
	if (p->owned) {
		free(p->prog[0].filter);
		free(p->prog[1].filter);
	}
	free(p);
}

int jail_seccomp_load(const struct jail_policy *p, struct aj_err *e)
{
	for (int i = 0; i < 2; i++) {
		if (p->prog[i].len == 0)
			continue; /* precompiled: one merged program */
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0,
			    &p->prog[i]) < 0)
			return aj_err_sys(e, AJ_EINTERNAL,
					  "load seccomp filter %d", i + 1);
	}
	return 0;
}
