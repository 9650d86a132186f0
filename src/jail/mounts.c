/* mounts.c - the sandbox's filesystem, built in its own mount namespace.
 *
 * Runs in the child, inside the new user+mount+pid namespaces, as the
 * sandbox user (uid 1000) still holding every capability of its user
 * namespace.  Layout of the new root (one tmpfs, size = disk quota):
 *
 *   /usr /bin /lib* /sbin   host's, read-only (symlinks on merged-usr hosts)
 *   /etc                    a few host files read-only + synthetic passwd,
 *                           group, hosts, hostname
 *   /proc                   fresh, for the new pid namespace; sensitive
 *                           entries masked, the host's boot facts replaced
 *   /dev                    null zero full random urandom tty bound from the
 *                           host, a private devpts, shm, fd symlinks
 *   /tmp /workspace /dev/shm  writable directories of the root tmpfs (or
 *                           a host dir at /workspace)
 *   user binds              read-only unless asked otherwise
 *
 * /tmp, /workspace and /dev/shm are directories of the root tmpfs bound
 * onto themselves: they stay writable after the root mount is made
 * read-only, and all three draw on the one tmpfs superblock, so one
 * size= and nr_inodes= is the sandbox's whole disk quota.  Note that tmpfs
 * is RAM: its pages are charged to the jail's memory cgroup, so the
 * effective disk quota is min(disk, memory - what processes use).
 *
 * /dev is a plain directory of that root, read-only like it: nobody
 * inside needs to create device files, and it saves a mount.
 *
 * Nothing here is visible to the host: the first step makes every mount
 * private, and the whole tree dies with the namespace. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/internal.h"

/* Where the old root stays reachable while we build (then detached). */
#define OLD "/oldroot"
/* Any existing directory of the host tree to mount the new root on
 * before pivoting; after pivot_root the tmpfs has moved away from it and
 * the host's contents there are reachable again under OLD. */
#define STAGE "/tmp"

/* ---- helpers ----------------------------------------------------------- */

/* MS_* flags a bind remount must repeat: inside a user namespace the
 * kernel locks the flags a host mount had (nosuid, nodev, noexec, atime
 * options) and refuses a remount that would clear them. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long fl = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		fl |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		fl |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		fl |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		fl |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		fl |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		fl |= MS_RELATIME;
	return fl;
}

/* Bind src (with everything mounted below it) onto dst, then set attrs
 * (MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC) on the whole bound subtree.
 * mount_setattr(AT_RECURSIVE) reaches submounts, which a classic
 * read-only remount would leave writable; it also only adds flags, so
 * the locked ones are kept by construction.  Kernels before 5.12 get the
 * classic remount of the top mount. */
static int bind_mount(const char *src, const char *dst, uint64_t attrs,
		      struct aj_err *e)
{
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "bind %s on %s", src, dst);
	if (!attrs)
		return 0;
	struct mount_attr ma = { .attr_set = attrs };
	if (mount_setattr(AT_FDCWD, dst, AT_RECURSIVE, &ma, sizeof(ma)) == 0)
		return 0;
	if (errno != ENOSYS)
		return aj_err_sys(e, AJ_EINTERNAL, "set attributes of %s", dst);
	unsigned long fl = MS_BIND | MS_REMOUNT | locked_flags(dst);
	if (attrs & MOUNT_ATTR_RDONLY)
		fl |= MS_RDONLY;
	if (attrs & MOUNT_ATTR_NOSUID)
		fl |= MS_NOSUID;
	if (attrs & MOUNT_ATTR_NODEV)
		fl |= MS_NODEV;
	if (attrs & MOUNT_ATTR_NOEXEC)
		fl |= MS_NOEXEC;
	if (mount(NULL, dst, NULL, fl, NULL) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "remount %s", dst);
	return 0;
}

#define RO (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define RW (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

/* An empty file to bind a non-directory onto. */
static int make_file(const char *path, struct aj_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "create %s", path);
	close(fd);
	return 0;
}

static int make_dir(const char *path, mode_t mode, struct aj_err *e)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return aj_err_sys(e, AJ_EINTERNAL, "mkdir %s", path);
	/* mkdir applies the umask; the sticky world-writable ones need an
	 * explicit chmod. */
	if ((mode & 07000) && chmod(path, mode) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "chmod %s", path);
	return 0;
}

/* mkdir -p for user bind destinations. */
static int make_parents(const char *path, struct aj_err *e)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return aj_err_set(e, AJ_EINVAL, ENAMETOOLONG, "path too long: %s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = make_dir(buf, 0755, e);
		*p = '/';
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int write_file(const char *path, const char *text, struct aj_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "create %s", path);
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	close(fd);
	if (n != (ssize_t)len)
		return aj_err_sys(e, AJ_EINTERNAL, "write %s", path);
	return 0;
}

/* ---- the steps --------------------------------------------------------- */

/* What the plan says (fsplan.c, looked up on the host by the parent):
 * /usr and the top-level directories, which on a merged-usr host are
 * symlinks into it, and the wanted entries of /etc.  Symlinks are
 * recreated (their targets resolve inside the sandbox too, into the
 * bound /usr), directories and large files bound read-only from the old
 * root, small files written from the copy the plan carries. */
static int apply_plan(const char *plan, size_t len, struct aj_err *e)
{
	if (make_dir("/etc", 0755, e) < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		struct jail_plan_rec r;
		if (len - off < sizeof(r))
			return aj_err_set(e, AJ_EINTERNAL, 0, "bad filesystem plan");
		memcpy(&r, plan + off, sizeof(r));
		const char *path = plan + off + sizeof(r);
		const char *data = path + r.path_len;
		if (r.path_len < 2 || len - off - sizeof(r) < (size_t)r.path_len + r.data_len ||
		    path[0] != '/' || path[r.path_len - 1] != '\0')
			return aj_err_set(e, AJ_EINTERNAL, 0, "bad filesystem plan");
		off += sizeof(r) + r.path_len + r.data_len;
		char host[PATH_MAX];
		snprintf(host, sizeof(host), OLD "%s", path);
		int rc = 0;
		switch (r.kind) {
		case JAIL_PLAN_SYMLINK:
			if (r.data_len < 2 || data[r.data_len - 1] != '\0')
				return aj_err_set(e, AJ_EINTERNAL, 0, "bad filesystem plan");
			if (symlink(data, path) < 0)
				rc = aj_err_sys(e, AJ_EINTERNAL, "symlink %s", path);
			break;
		case JAIL_PLAN_BIND_DIR:
			rc = make_dir(path, 0755, e);
			if (rc == 0)
				rc = bind_mount(host, path, RO, e);
			break;
		case JAIL_PLAN_BIND_FILE:
			rc = make_file(path, e);
			if (rc == 0)
				rc = bind_mount(host, path, RO, e);
			break;
		case JAIL_PLAN_COPY: {
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
			if (fd < 0)
				return aj_err_sys(e, AJ_EINTERNAL, "create %s", path);
			ssize_t w = r.data_len ? write(fd, data, r.data_len) : 0;
			close(fd);
			if (w != (ssize_t)r.data_len)
				rc = aj_err_sys(e, AJ_EINTERNAL, "write %s", path);
			break;
		}
		default:
			return aj_err_set(e, AJ_EINTERNAL, 0, "bad filesystem plan");
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The files of /etc that are not the host's. */
static int etc(const struct jail_spec *spec, struct aj_err *e)
{

	/* Synthetic account and host files: the sandbox user exists by
	 * name, and nothing about the host's accounts leaks in. */
	if (write_file("/etc/passwd",
		       "root:x:0:0:root:/root:/bin/bash\n"
		       JAIL_USER_NAME ":x:1000:1000:" JAIL_USER_NAME ":" JAIL_HOME ":/bin/bash\n"
		       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", e) < 0 ||
	    write_file("/etc/group",
		       "root:x:0:\n" JAIL_USER_NAME ":x:1000:\nnogroup:x:65534:\n", e) < 0 ||
	    write_file("/etc/hostname", JAIL_HOSTNAME "\n", e) < 0 ||
	    write_file("/etc/hosts",
		       "127.0.0.1\tlocalhost\n"
		       "127.0.1.1\t" JAIL_HOSTNAME "\n"
		       "::1\tlocalhost ip6-localhost ip6-loopback\n", e) < 0)
		return -1;

	/* With the host network, name resolution needs the host's resolver
	 * config (often a symlink into /run: bind what it points to). */
	if (spec->net == JAIL_NET_HOST && access(OLD "/etc/resolv.conf", R_OK) == 0) {
		if (make_file("/etc/resolv.conf", e) < 0 ||
		    bind_mount(OLD "/etc/resolv.conf", "/etc/resolv.conf", RO, e) < 0)
			return -1;
	}
	return 0;
}

/* A minimal /dev: the harmless character devices from the host (a bind
 * of the node keeps it working without creating device files, which a
 * user namespace cannot do), a private devpts instance so ptys work but
 * no host terminal is reachable, and the usual symlinks. */
static int dev(struct aj_err *e)
{
	static const char *const nodes[] = {
		"null", "zero", "full", "random", "urandom", "tty",
	};
	if (make_dir("/dev", 0755, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(*nodes); i++) {
		char path[32], host[48];
		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		snprintf(host, sizeof(host), OLD "/dev/%s", nodes[i]);
		if (make_file(path, e) < 0)
			return -1;
		/* No attributes: nodev would break the device itself. */
		if (mount(host, path, NULL, MS_BIND, NULL) < 0)
			return aj_err_sys(e, AJ_EINTERNAL, "bind %s", host);
	}
	if (make_dir("/dev/pts", 0755, e) < 0)
		return -1;
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "mount devpts");
	if (symlink("pts/ptmx", "/dev/ptmx") < 0 ||
	    symlink("/proc/self/fd", "/dev/fd") < 0 ||
	    symlink("/proc/self/fd/0", "/dev/stdin") < 0 ||
	    symlink("/proc/self/fd/1", "/dev/stdout") < 0 ||
	    symlink("/proc/self/fd/2", "/dev/stderr") < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "/dev symlinks");
	return make_dir("/dev/shm", 01777, e);
}

/* What /proc says about the host's boot, replaced by the sandbox's own:
 * the kernel command line by a neutral one, boot_id by a random UUID of
 * this sandbox (a program that keys state on it sees a fresh machine
 * per sandbox, and no two sandboxes - nor the host - share one). */
#define PROC_CMDLINE "quiet\n"

static int random_uuid(char out[37], struct aj_err *e)
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return aj_err_sys(e, AJ_EINTERNAL, "getrandom");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[b[i] >> 4];
		*o++ = hex[b[i] & 15];
	}
	*o = '\0';
	return 0;
}

/* A fresh procfs shows only the sandbox's pid namespace.  Entries that
 * expose the kernel or the machine are masked: files by binding
 * /dev/null over them, directories (host-wide pressure stall figures
 * among them) by an empty directory; the boot facts above are replaced;
 * and /proc/sys is made read-only (programs read it: overcommit,
 * somaxconn...).  The empty directory and the replacement files live in
 * one small read-only tmpfs, staged at FACTS, bound where they go, then
 * detached from FACTS: one superblock for all, none of the sandbox's
 * disk quota. */
#define FACTS "/.aj-proc"

static int proc(struct aj_err *e)
{
	static const char *const files[] = {
		"kcore", "kmsg", "kallsyms", "kpagecount", "kpageflags",
		"kpagecgroup", "keys", "key-users", "latency_stats",
		"sched_debug", "sysrq-trigger", "timer_list", "timer_stats",
		"config.gz", "vmallocinfo", "pagetypeinfo", "slabinfo",
	};
	static const char *const dirs[] = {
		"acpi", "asound", "bus", "driver", "fs", "irq", "scsi", "pressure",
	};
	static const struct { const char *name, *target; } facts[] = {
		{ FACTS "/cmdline", "/proc/cmdline" },
		{ FACTS "/boot_id", "/proc/sys/kernel/random/boot_id" },
	};
	if (make_dir("/proc", 0555, e) < 0)
		return -1;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "mount /proc");
	char path[64];
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		snprintf(path, sizeof(path), "/proc/%s", files[i]);
		if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0 && errno != ENOENT)
			return aj_err_sys(e, AJ_EINTERNAL, "mask %s", path);
	}

	char uuid[37], boot_id[38];
	if (random_uuid(uuid, e) < 0)
		return -1;
	snprintf(boot_id, sizeof(boot_id), "%s\n", uuid);
	if (make_dir(FACTS, 0700, e) < 0)
		return -1;
	if (mount("tmpfs", FACTS, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0555,size=16k,nr_inodes=8") < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "mount %s", FACTS);
	if (write_file(facts[0].name, PROC_CMDLINE, e) < 0 ||
	    write_file(facts[1].name, boot_id, e) < 0 ||
	    make_dir(FACTS "/empty", 0555, e) < 0)
		return -1;
	/* Read-only from here; every bind of it inherits that. */
	if (mount(NULL, FACTS, NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "remount %s read-only", FACTS);
	for (size_t i = 0; i < sizeof(facts) / sizeof(*facts); i++)
		if (mount(facts[i].name, facts[i].target, NULL, MS_BIND, NULL) < 0 &&
		    errno != ENOENT)
			return aj_err_sys(e, AJ_EINTERNAL, "replace %s", facts[i].target);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		snprintf(path, sizeof(path), "/proc/%s", dirs[i]);
		if (mount(FACTS "/empty", path, NULL, MS_BIND, NULL) < 0 && errno != ENOENT)
			return aj_err_sys(e, AJ_EINTERNAL, "mask %s", path);
	}
	if (umount2(FACTS, MNT_DETACH) < 0 || rmdir(FACTS) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "detach %s", FACTS);
	return bind_mount("/proc/sys", "/proc/sys", RO | MOUNT_ATTR_NOEXEC, e);
}

/* A user-requested bind: SRC on the host, DST in the sandbox. */
static int user_bind(const struct jail_bind *b, struct aj_err *e)
{
	if (!b->src || b->src[0] != '/' || !b->dst || b->dst[0] != '/' ||
	    strcmp(b->dst, "/") == 0 || strstr(b->dst, "/..") ||
	    strncmp(b->dst, OLD, strlen(OLD)) == 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "bind %s:%s: paths must be absolute, without '..'",
				  b->src ? b->src : "", b->dst ? b->dst : "");
	char host[PATH_MAX];
	if (snprintf(host, sizeof(host), OLD "%s", b->src) >= (int)sizeof(host))
		return aj_err_set(e, AJ_EINVAL, 0, "bind %s: path too long", b->src);
	struct stat st;
	if (stat(host, &st) < 0)
		return aj_err_sys(e, AJ_EINVAL, "bind source %s", b->src);
	if (make_parents(b->dst, e) < 0)
		return aj_err_wrap(e, "bind %s", b->dst);
	if (S_ISDIR(st.st_mode) ? make_dir(b->dst, 0755, e) : make_file(b->dst, e))
		return aj_err_wrap(e, "bind %s", b->dst);
	return bind_mount(host, b->dst, b->writable ? RW : RO, e);
}

int jail_fs_enter(const struct jail_spec *spec, struct aj_err *e)
{
	/* 1. Our mount namespace started as a copy of the host's, in the
	 *    host's propagation groups.  Make every mount private first, or
	 *    what we mount could propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "make / private");

	/* 2. The new root: one tmpfs whose size and inode count are the
	 *    sandbox's disk quota.  nosuid/nodev: no setuid binaries or
	 *    device nodes can ever be created in it. */
	char opts[128] = "mode=0755";
	size_t ol = strlen(opts);
	if (spec->limits.disk_bytes)
		ol += (size_t)snprintf(opts + ol, sizeof(opts) - ol, ",size=%" PRIu64,
				       spec->limits.disk_bytes);
	if (spec->limits.disk_inodes)
		ol += (size_t)snprintf(opts + ol, sizeof(opts) - ol, ",nr_inodes=%" PRIu64,
				       spec->limits.disk_inodes);
	/* Huge pages for the parts of files that fill them (2 MiB and up):
	 * writing a big file costs a third of the page allocations and
	 * charges (measured: 256 KiB writes 1.3 -> 3-4 GB/s); small files
	 * are unaffected.  A kernel without transparent huge pages refuses
	 * the option: then without it. */
	size_t plain = ol;
	snprintf(opts + ol, sizeof(opts) - ol, ",huge=within_size");
	int rc = mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, opts);
	if (rc < 0 && errno == EINVAL) {
		opts[plain] = '\0';
		rc = mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, opts);
	}
	if (rc < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "mount root tmpfs");

	/* 3. Swap roots now rather than at the end: the host tree stays
	 *    reachable under OLD for the binds (including whatever STAGE
	 *    itself hid), and every path below is simply absolute. */
	if (chdir(STAGE) < 0 || mkdir("oldroot", 0700) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "prepare new root");
	if (syscall(SYS_pivot_root, ".", "oldroot") < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "pivot_root");
	if (chdir("/") < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "chdir /");
	return 0;
}

int jail_fs_build(const struct jail_spec *spec, const char *plan, size_t plan_len,
		  struct aj_err *e)
{
	/* 4. Host software and configuration, read-only, then our own
	 *    files of /etc. */
	if (apply_plan(plan, plan_len, e) < 0 || etc(spec, e) < 0)
		return -1;

	/* 5. Devices, then the writable directories: bound onto themselves
	 *    so they keep a writable mount when / turns read-only. */
	if (dev(e) < 0 || make_dir("/tmp", 01777, e) < 0 ||
	    make_dir(JAIL_HOME, 0755, e) < 0 || make_dir("/home", 0755, e) < 0)
		return -1;
	/* Programs written for other sandboxes expect the user's home at
	 * /home/user (E2B's default cwd): the same place as /workspace. */
	if (symlink(JAIL_HOME, "/home/" JAIL_USER_NAME) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "/home/" JAIL_USER_NAME);
	if (mount("/tmp", "/tmp", NULL, MS_BIND, NULL) < 0 ||
	    mount("/dev/shm", "/dev/shm", NULL, MS_BIND, NULL) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "bind writable dirs");
	if (spec->workspace) {
		struct jail_bind ws = { spec->workspace, JAIL_HOME, true };
		if (user_bind(&ws, e) < 0)
			return aj_err_wrap(e, "workspace");
	} else if (mount(JAIL_HOME, JAIL_HOME, NULL, MS_BIND, NULL) < 0) {
		return aj_err_sys(e, AJ_EINTERNAL, "bind %s", JAIL_HOME);
	}

	/* 6. procfs of the new pid namespace (we are its PID 1 already). */
	if (proc(e) < 0)
		return -1;

	/* 7. What the caller asked for, last, so it may cover our defaults. */
	for (size_t i = 0; i < spec->nbinds; i++)
		if (user_bind(&spec->binds[i], e) < 0)
			return -1;

	/* 8. Let go of the host tree: detach it (lazily, as processes of
	 *    ours may still hold parts of it) and remove the mount point. */
	if (umount2(OLD, MNT_DETACH) < 0 || rmdir(OLD) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "detach old root");

	/* 9. The root itself read-only: only the self-bound directories and
	 *    writable binds remain writable. */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "remount / read-only");

	const char *cwd = spec->cwd ? spec->cwd : JAIL_HOME;
	if (chdir(cwd) < 0)
		return aj_err_sys(e, AJ_EINVAL, "working directory %s", cwd);
	return 0;
}
