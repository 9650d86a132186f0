/* internal.h - what the files of src/jail share with each other and with
 * nobody else.  The setup sequence itself is spelled out in spawn.c; each
 * step lives in its own file:
 *
 *   cgroup.c   per-jail cgroups (v1 or v2 per controller), limits, stats
 *   mounts.c   the new root filesystem, pivot_root, read-only remount
 *   caps.c     capability bounding/ambient/permitted sets, securebits
 *   landlock.c filesystem write allowlist and IPC scoping
 *   seccomp.c  compiled syscall policy (parent) and its loading (child)
 *   env.c      the command's environment
 *   run.c      jail_run: a tiny init as PID 1 and the outer I/O loop
 *
 * Functions marked "child" run in the freshly cloned process between
 * clone() and the caller's init function: they may only use syscalls and
 * libc functions that are safe in a forked copy of a single-threaded
 * process, and they report failure through an aj_err (spawn.c sends it to
 * the parent) instead of printing. */
#ifndef AJ_JAIL_INTERNAL_H
#define AJ_JAIL_INTERNAL_H

#include <linux/filter.h>

#include "jail/jail.h"

/* Append a warning (silently dropped past the 8th). */
void jail_warn(struct jail_warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- seccomp.c --------------------------------------------------------- */

/* Two classic BPF programs, loaded in this order.  The first is the
 * allowlist (default ENOSYS); the second only inspects the arguments of a
 * few allowed syscalls (ioctl, clone, socket, personality) and defaults to
 * ALLOW.  The kernel applies the most restrictive verdict of all loaded
 * filters, so splitting keeps each one unambiguous. */
struct jail_policy {
	enum jail_net net;
	struct sock_fprog prog[2];
};

/* child: load both programs (needs no_new_privs). */
int jail_seccomp_load(const struct jail_policy *p, struct aj_err *e);

/* ---- landlock.c -------------------------------------------------------- */

/* child: read/execute everywhere, write only beneath the given directories
 * and on the usual /dev nodes; scope abstract unix sockets and signals
 * where the ABI has it.  Returns 0 when enforced, 1 when the kernel has no
 * Landlock (*why says so; the caller records a warning), -1 on error. */
int jail_landlock_apply(const char *const *rw_dirs, size_t nrw,
			char *why, size_t whylen, struct aj_err *e);

/* ---- caps.c ------------------------------------------------------------ */

/* child: lock securebits, empty the bounding and ambient sets, then the
 * effective/permitted/inheritable sets. */
int jail_caps_drop(struct aj_err *e);

/* ---- mounts.c ---------------------------------------------------------- */

/* child: from the copied host mount namespace to the finished, read-only
 * sandbox root with the working directory set.  Must run after the pid
 * namespace exists (it mounts /proc) and after the uid switch (files it
 * creates must belong to the sandbox user). */
int jail_fs_build(const struct jail_spec *spec, struct aj_err *e);

/* ---- cgroup.c ---------------------------------------------------------- */

/* parent: create the jail's cgroup in every hierarchy that has one of our
 * controllers and write the limits.  Whatever cannot be done becomes a
 * warning; *out is NULL if no hierarchy could be used.  Fails only on
 * invalid input or a name clash. */
int jail_cgroup_create(const char *name, const struct jail_limits *l,
		       struct jail_cgroup **out, struct jail_warnings *w,
		       struct aj_err *e);

/* child: move the calling process into the cgroups (through descriptors
 * the parent opened), then close them. */
int jail_cgroup_enter(struct jail_cgroup *cg, struct aj_err *e);

/* parent: close the descriptors jail_cgroup_enter would have used. */
void jail_cgroup_close_fds(struct jail_cgroup *cg);

/* Kill everything still in the cgroups, remove them, free cg. */
void jail_cgroup_destroy(struct jail_cgroup *cg);

int jail_cgroup_stats(const struct jail_cgroup *cg, struct jail_stats *st,
		      struct aj_err *e);

/* ---- env.c ------------------------------------------------------------- */

/* The command's environment: the fixed base plus spec->env (which
 * overrides base entries with the same name).  NULL-terminated, one
 * allocation; free() it. */
char **jail_env_build(const struct jail_spec *spec, struct aj_err *e);

#endif
