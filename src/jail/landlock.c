/* landlock.c - a second, independent fence around the filesystem.
 *
 * The mount setup already makes everything but /workspace, /tmp and
 * /dev/shm read-only; Landlock repeats that rule in the LSM so one mistake
 * in the mount code (or a kernel bug in it) is not enough to write
 * elsewhere.  Since ABI 6 it also scopes abstract unix sockets and
 * signals to the sandbox: with --net host the abstract socket namespace is
 * the host's, and without the scope sandboxed code could connect to host
 * daemons listening on abstract addresses.
 *
 * We negotiate: ask the kernel for its ABI, handle every right that ABI
 * knows, and skip cleanly (with a warning) where Landlock is absent.  The
 * constants are defined here because the installed uapi headers may
 * predate the running kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/internal.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

/* Filesystem rights, by the ABI that introduced them. */
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_ABI1 ((1ULL << 13) - 1)
#define LL_FS_REFER (1ULL << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */

/* Scopes (ABI 6). */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* Rights that make sense on a non-directory; the kernel rejects a rule
 * on a file that names any other. */
#define LL_FS_FILE_RIGHTS \
	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | \
	 LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

/* Newest layout; an older kernel accepts it as long as the fields it
 * does not know are zero. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static uint64_t fs_rights_for_abi(int abi)
{
	uint64_t r = LL_FS_ABI1;
	if (abi >= 2)
		r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

/* Allow `access` beneath `path` (restricted to what is handled and, for
 * files, to file rights).  A missing path is not an error: nothing to
 * allow there. */
static int add_rule(int ruleset, const char *path, uint64_t access,
		    uint64_t handled, struct aj_err *e)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return aj_err_sys(e, AJ_EINTERNAL, "landlock: open %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return aj_err_sys(e, AJ_EINTERNAL, "landlock: stat %s", path);
	}
	access &= handled;
	if (!S_ISDIR(st.st_mode))
		access &= LL_FS_FILE_RIGHTS;
	struct ll_path_beneath_attr pb = {
		.allowed_access = access,
		.parent_fd = fd,
	};
	long rc = syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH,
			  &pb, 0);
	int saved = errno;
	close(fd);
	if (rc < 0) {
		errno = saved;
		return aj_err_sys(e, AJ_EINTERNAL, "landlock: rule for %s", path);
	}
	return 0;
}

int jail_landlock_abi(void)
{
	return (int)syscall(__NR_landlock_create_ruleset, NULL, 0,
			    LL_CREATE_RULESET_VERSION);
}

int jail_landlock_apply(const char *const *rw_dirs, size_t nrw,
			char *why, size_t whylen, struct aj_err *e)
{
	long abi = jail_landlock_abi();
	if (abi < 0) {
		/* ENOSYS: not built in; EOPNOTSUPP: built but disabled. */
		snprintf(why, whylen,
			 "Landlock unavailable (%s): filesystem writes are "
			 "fenced by read-only mounts only",
			 strerror(errno));
		return 1;
	}

	uint64_t handled = fs_rights_for_abi((int)abi);
	struct ll_ruleset_attr attr = {
		.handled_access_fs = handled,
		.scoped = abi >= 6 ? (LL_SCOPE_ABSTRACT_UNIX_SOCKET |
				      LL_SCOPE_SIGNAL)
				   : 0,
	};
	int rs = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr),
			      0);
	if (rs < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "landlock: create ruleset");

	const uint64_t read_exec = LL_FS_READ_FILE | LL_FS_READ_DIR |
				   LL_FS_EXECUTE;
	const uint64_t dev_rw = LL_FS_READ_FILE | LL_FS_WRITE_FILE |
				LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
	/* The device nodes programs write to, in one rule for /dev: it holds
	 * only the harmless nodes the mount setup bound there, the private
	 * devpts (ptmx and every pty it hands out) and shm (a rw dir below),
	 * and being on the read-only root nothing can be added to it.  One
	 * rule rather than one per node: each costs four syscalls. */
	int rc = add_rule(rs, "/", read_exec, handled, e);
	if (rc == 0)
		rc = add_rule(rs, "/dev", dev_rw | LL_FS_READ_DIR, handled, e);
	for (size_t i = 0; rc == 0 && i < nrw; i++)
		rc = add_rule(rs, rw_dirs[i], handled, handled, e);
	if (rc == 0 && syscall(__NR_landlock_restrict_self, rs, 0) < 0)
		rc = aj_err_sys(e, AJ_EINTERNAL, "landlock: restrict self");
	close(rs);
	return rc;
}
