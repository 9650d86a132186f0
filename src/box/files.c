/* files.c - the files API: read, write, list, stat, mkdir, rename, remove
 * inside a sandbox, from the server's side.
 *
 * Every client path is resolved with openat2(RESOLVE_IN_ROOT) against the
 * sandbox root pinned at create (an O_PATH fd of /proc/<supervisor>/root):
 * "..", absolute symlinks and a symlink swapped in mid-request all stay
 * inside.  Operations then work on the resolved parent directory fd and a
 * single name, never on a joined path.
 *
 * While it touches a sandbox, the calling thread acts as the sandbox user:
 * filesystem uid/gid set to the sandbox's host ids (so files it creates
 * belong to the sandbox user and permission checks are the user's) and no
 * effective capabilities.  Both are per-thread on Linux.  proc, sysfs and
 * device files are refused outright.
 */
#include "box/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box/path.h"
#include "util/crypto.h"

#define MAX_LIST_ENTRIES 10000
#define MAX_LIST_DEPTH 32

/* ---- acting as the sandbox user --------------------------------------------- */

struct creds {
	bool changed;
	uid_t fsuid;
	gid_t fsgid;
	struct __user_cap_data_struct caps[2];
};

static int capget_self(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	return (int)syscall(SYS_capget, &h, d);
}

static int capset_self(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	return (int)syscall(SYS_capset, &h, d);
}

static void creds_enter(const struct sandbox *sb, struct creds *c)
{
	c->changed = false;
	if (geteuid() != 0)
		return; /* unprivileged server: the sandbox user is us */
	if (capget_self(c->caps) < 0)
		return;
	c->fsgid = (gid_t)setfsgid(sb->jail.host_gid);
	c->fsuid = (uid_t)setfsuid(sb->jail.host_uid);
	struct __user_cap_data_struct none[2];
	memcpy(none, c->caps, sizeof(none));
	none[0].effective = none[1].effective = 0;
	capset_self(none);
	c->changed = true;
}

static void creds_leave(struct creds *c)
{
	if (!c->changed)
		return;
	capset_self(c->caps);
	setfsuid(c->fsuid);
	setfsgid(c->fsgid);
	c->changed = false;
}

/* ---- paths ------------------------------------------------------------------ */

/* Split "/a/b/c" into parent "/a/b" and name "c" (in place). */
static int split(char *path, const char **parent, const char **name,
		 struct aj_err *e)
{
	char *slash = strrchr(path, '/');
	if (strcmp(path, "/") == 0)
		return aj_err_set(e, AJ_EINVAL, 0, "not allowed on the root directory");
	*name = slash + 1;
	*slash = '\0';
	*parent = slash == path ? "/" : path;
	return 0;
}

static enum aj_code errno_code(int err)
{
	switch (err) {
	case ENOENT: return AJ_ENOTFOUND;
	case EEXIST: case ENOTEMPTY: return AJ_EEXIST;
	case EACCES: case EPERM: case EROFS: return AJ_EFORBIDDEN;
	case ENOSPC: case EDQUOT: case EFBIG: return AJ_ENOSPC;
	case ENAMETOOLONG: case ENOTDIR: case EISDIR: case ELOOP: case EINVAL:
	case EXDEV:
		return AJ_EINVAL;
	default: return AJ_EINTERNAL;
	}
}

static int fs_err(struct aj_err *e, int err, const char *what, const char *path)
{
	return aj_err_set(e, errno_code(err), err, "%s '%s': %s", what, path,
			  strerror(err));
}

/* Not through the files API: kernel interfaces and devices. */
static int check_fs(int fd, const char *path, struct aj_err *e)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return fs_err(e, errno, "cannot inspect", path);
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case DEVPTS_SUPER_MAGIC:
	case CGROUP_SUPER_MAGIC: case CGROUP2_SUPER_MAGIC: case SECURITYFS_MAGIC:
	case DEBUGFS_MAGIC: case TRACEFS_MAGIC: case BPF_FS_MAGIC:
		return aj_err_set(e, AJ_EFORBIDDEN, 0,
				  "'%s' is a kernel interface, not a file the API serves", path);
	}
	return 0;
}

static int resolve(const struct sandbox *sb, const char *path, int flags,
		   mode_t mode, struct aj_err *e)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = mode,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, sb->root_fd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0)
		return fs_err(e, errno, "cannot open", path);
	if (check_fs(fd, path, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int resolve_dir(const struct sandbox *sb, const char *path, struct aj_err *e)
{
	return resolve(sb, path, O_PATH | O_DIRECTORY, 0, e);
}

/* ---- entries --------------------------------------------------------------- */

static enum box_ftype ftype(mode_t m)
{
	if (S_ISREG(m))
		return BOX_FT_FILE;
	if (S_ISDIR(m))
		return BOX_FT_DIR;
	if (S_ISLNK(m))
		return BOX_FT_SYMLINK;
	return BOX_FT_OTHER;
}

static void fill_entry(const struct sandbox *sb, const struct stat *st,
		       const char *dir, const char *name, int dirfd,
		       struct box_entry *en)
{
	memset(en, 0, sizeof(*en));
	en->name = strdup(name);
	size_t n = strlen(dir) + strlen(name) + 2;
	en->path = malloc(n);
	if (en->path)
		snprintf(en->path, n, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
	en->type = ftype(st->st_mode);
	en->size = (uint64_t)st->st_size;
	en->mode = st->st_mode & 07777;
	en->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	en->uid = st->st_uid == sb->jail.host_uid ? JAIL_USER_ID : 65534;
	en->gid = st->st_gid == sb->jail.host_gid ? JAIL_USER_ID : 65534;
	if (en->type == BOX_FT_SYMLINK && dirfd >= 0) {
		char target[PATH_MAX];
		ssize_t k = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (k >= 0) {
			target[k] = '\0';
			en->symlink_target = strdup(target);
		}
	}
}

void box_entry_free(struct box_entry *en)
{
	if (!en)
		return;
	free(en->name);
	free(en->path);
	free(en->symlink_target);
	memset(en, 0, sizeof(*en));
}

void box_entries_free(struct box_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		box_entry_free(&v[i]);
	free(v);
}

/* Stat path (not following a final symlink) into *out. */
static int stat_path(const struct sandbox *sb, const char *path,
		     struct box_entry *out, struct aj_err *e)
{
	char buf[PATH_MAX];
	const char *parent, *name;
	struct stat st;
	snprintf(buf, sizeof(buf), "%s", path);
	if (strcmp(buf, "/") == 0) {
		if (fstat(sb->root_fd, &st) < 0)
			return fs_err(e, errno, "cannot stat", path);
		fill_entry(sb, &st, "/", "", -1, out);
		free(out->path);
		out->path = strdup("/");
		return 0;
	}
	if (split(buf, &parent, &name, e) < 0)
		return -1;
	int dfd = resolve_dir(sb, parent, e);
	if (dfd < 0)
		return -1;
	int rc = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
	if (rc < 0)
		rc = fs_err(e, errno, "cannot stat", path);
	else
		fill_entry(sb, &st, parent, name, dfd, out);
	close(dfd);
	return rc;
}

/* ---- the calls ---------------------------------------------------------------- */

/* Every call: find the sandbox, check the role, normalize the path, act as
 * the sandbox user.  fn does the work. */
typedef int (*file_fn)(struct sandbox *sb, const char *path, void *arg,
		       struct aj_err *e);

static int with_sandbox(struct box_mgr *m, const struct box_caller *c,
			const char *id, const char *path, enum role min,
			file_fn fn, void *arg, struct aj_err *e)
{
	struct sandbox *sb;
	char norm[PATH_MAX];
	struct creds cr;
	if (box_require(c, min, e) < 0 || box_path_norm(path, norm, e) < 0 ||
	    sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	creds_enter(sb, &cr);
	int rc = fn(sb, norm, arg, e);
	creds_leave(&cr);
	sb_unref(sb);
	return rc;
}

struct read_arg {
	int fd;
	uint64_t size;
};

static int do_open_read(struct sandbox *sb, const char *path, void *arg,
			struct aj_err *e)
{
	struct read_arg *a = arg;
	struct stat st;
	/* O_NONBLOCK: a FIFO planted by the sandbox must not hang us. */
	int fd = resolve(sb, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, e);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode)
			       ? aj_err_set(e, AJ_EINVAL, EISDIR, "'%s' is a directory", path)
			       : aj_err_set(e, AJ_EINVAL, 0, "'%s' is not a regular file", path);
	}
	fcntl(fd, F_SETFL, 0);
	a->fd = fd;
	a->size = (uint64_t)st.st_size;
	return 0;
}

int box_file_open_read(struct box_mgr *m, const struct box_caller *c,
		       const char *id, const char *path, int *fd,
		       uint64_t *size, struct aj_err *e)
{
	struct read_arg a = { -1, 0 };
	if (with_sandbox(m, c, id, path, ROLE_VIEWER, do_open_read, &a, e) < 0)
		return -1;
	*fd = a.fd;
	*size = a.size;
	return 0;
}

static int do_stat(struct sandbox *sb, const char *path, void *arg,
		   struct aj_err *e)
{
	return stat_path(sb, path, arg, e);
}

int box_file_stat(struct box_mgr *m, const struct box_caller *c,
		  const char *id, const char *path, struct box_entry *out,
		  struct aj_err *e)
{
	memset(out, 0, sizeof(*out));
	return with_sandbox(m, c, id, path, ROLE_VIEWER, do_stat, out, e);
}

/* ---- mkdir ------------------------------------------------------------------------ */

static int mkdir_one(struct sandbox *sb, char *path, struct aj_err *e)
{
	const char *parent, *name;
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	if (split(buf, &parent, &name, e) < 0)
		return -1;
	int dfd = resolve_dir(sb, parent, e);
	if (dfd < 0)
		return -1;
	int rc = mkdirat(dfd, name, 0755);
	int err = errno;
	close(dfd);
	if (rc < 0)
		return fs_err(e, err, "cannot create directory", path);
	return 0;
}

/* Create each missing directory along path. */
static int mkdir_parents(struct sandbox *sb, const char *path, struct aj_err *e)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		int fd = resolve_dir(sb, buf, NULL);
		if (fd >= 0)
			close(fd);
		else if (mkdir_one(sb, buf, e) < 0 && e->code != AJ_EEXIST)
			return -1;
		*p = saved;
		if (!saved)
			return 0;
	}
}

struct mkdir_arg {
	bool parents;
	struct box_entry *out;
};

static int do_mkdir(struct sandbox *sb, const char *path, void *arg,
		    struct aj_err *e)
{
	struct mkdir_arg *a = arg;
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	if (a->parents) {
		const char *parent, *name;
		char pbuf[PATH_MAX];
		snprintf(pbuf, sizeof(pbuf), "%s", path);
		if (split(pbuf, &parent, &name, e) < 0 || mkdir_parents(sb, parent, e) < 0)
			return -1;
	}
	if (mkdir_one(sb, buf, e) < 0)
		return -1;
	return a->out ? stat_path(sb, path, a->out, e) : 0;
}

int box_file_mkdir(struct box_mgr *m, const struct box_caller *c,
		   const char *id, const char *path, bool parents,
		   struct box_entry *out, struct aj_err *e)
{
	struct mkdir_arg a = { parents, out };
	if (out)
		memset(out, 0, sizeof(*out));
	int rc = with_sandbox(m, c, id, path, ROLE_USER, do_mkdir, &a, e);
	box_audit(m, c, "file.mkdir", id, rc ? e : NULL, NULL);
	return rc;
}

/* ---- list ---------------------------------------------------------------------------- */

struct list_arg {
	int depth;
	struct box_entry *v;
	size_t n, cap;
};

static int list_dir(struct sandbox *sb, int dfd, const char *dir, int depth,
		    struct list_arg *a, struct aj_err *e)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return fs_err(e, errno, "cannot list", dir);
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished meanwhile */
		if (a->n >= MAX_LIST_ENTRIES) {
			rc = aj_err_set(e, AJ_ETOOBIG, 0, "more than %d entries; list a smaller tree",
					MAX_LIST_ENTRIES);
			break;
		}
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 64;
			struct box_entry *v = realloc(a->v, cap * sizeof(*v));
			if (!v) {
				rc = aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
				break;
			}
			a->v = v;
			a->cap = cap;
		}
		struct box_entry *en = &a->v[a->n++];
		fill_entry(sb, &st, dir, de->d_name, dirfd(d), en);
		if (depth > 1 && S_ISDIR(st.st_mode) && en->path) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				char *p = strdup(en->path);
				rc = p ? list_dir(sb, sub, p, depth - 1, a, e)
				       : aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
				free(p);
			}
		}
	}
	closedir(d);
	return rc;
}

static int do_list(struct sandbox *sb, const char *path, void *arg,
		   struct aj_err *e)
{
	struct list_arg *a = arg;
	int fd = resolve(sb, path, O_RDONLY | O_DIRECTORY, 0, e);
	if (fd < 0)
		return -1;
	return list_dir(sb, fd, path, a->depth, a, e);
}

int box_file_list(struct box_mgr *m, const struct box_caller *c,
		  const char *id, const char *dir, int depth,
		  struct box_entry **out, size_t *n, struct aj_err *e)
{
	struct list_arg a = { .depth = depth };
	*out = NULL;
	*n = 0;
	if (depth < 1 || depth > MAX_LIST_DEPTH)
		return aj_err_set(e, AJ_EINVAL, 0, "depth must be between 1 and %d",
				  MAX_LIST_DEPTH);
	if (with_sandbox(m, c, id, dir, ROLE_VIEWER, do_list, &a, e) < 0) {
		box_entries_free(a.v, a.n);
		return -1;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

/* ---- rename / remove ------------------------------------------------------------------ */

struct rename_arg {
	const char *to;
	struct box_entry *out;
};

static int do_rename(struct sandbox *sb, const char *from, void *arg,
		     struct aj_err *e)
{
	struct rename_arg *a = arg;
	char fbuf[PATH_MAX], tbuf[PATH_MAX], tnorm[PATH_MAX];
	const char *fparent, *fname, *tparent, *tname;
	if (box_path_norm(a->to, tnorm, e) < 0)
		return -1;
	snprintf(fbuf, sizeof(fbuf), "%s", from);
	snprintf(tbuf, sizeof(tbuf), "%s", tnorm);
	if (split(fbuf, &fparent, &fname, e) < 0 || split(tbuf, &tparent, &tname, e) < 0)
		return -1;
	int fd1 = resolve_dir(sb, fparent, e);
	if (fd1 < 0)
		return -1;
	int fd2 = resolve_dir(sb, tparent, e);
	if (fd2 < 0) {
		close(fd1);
		return -1;
	}
	int rc = renameat(fd1, fname, fd2, tname);
	int err = errno;
	close(fd1);
	close(fd2);
	if (rc < 0)
		return fs_err(e, err, "cannot rename", from);
	return a->out ? stat_path(sb, tnorm, a->out, e) : 0;
}

int box_file_rename(struct box_mgr *m, const struct box_caller *c,
		    const char *id, const char *from, const char *to,
		    struct box_entry *out, struct aj_err *e)
{
	struct rename_arg a = { to, out };
	if (out)
		memset(out, 0, sizeof(*out));
	int rc = with_sandbox(m, c, id, from, ROLE_USER, do_rename, &a, e);
	box_audit(m, c, "file.rename", id, rc ? e : NULL, NULL);
	return rc;
}

/* Remove everything inside the directory dfd (closed here). */
static int remove_tree(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = -1;
			continue;
		}
		int sub = openat(dirfd(d), de->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || depth > 256 || remove_tree(sub, depth + 1) < 0 ||
		    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

static int do_remove(struct sandbox *sb, const char *path, void *arg,
		     struct aj_err *e)
{
	(void)arg;
	char buf[PATH_MAX];
	const char *parent, *name;
	struct stat st;
	snprintf(buf, sizeof(buf), "%s", path);
	if (split(buf, &parent, &name, e) < 0)
		return -1;
	int dfd = resolve_dir(sb, parent, e);
	if (dfd < 0)
		return -1;
	int rc = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = fs_err(e, errno, "cannot remove", path);
	} else if (S_ISDIR(st.st_mode)) {
		int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || remove_tree(sub, 0) < 0 ||
		    unlinkat(dfd, name, AT_REMOVEDIR) < 0)
			rc = fs_err(e, errno, "cannot remove", path);
	} else if (unlinkat(dfd, name, 0) < 0) {
		rc = fs_err(e, errno, "cannot remove", path);
	}
	close(dfd);
	return rc;
}

int box_file_remove(struct box_mgr *m, const struct box_caller *c,
		    const char *id, const char *path, struct aj_err *e)
{
	int rc = with_sandbox(m, c, id, path, ROLE_USER, do_remove, NULL, e);
	box_audit(m, c, "file.remove", id, rc ? e : NULL, NULL);
	return rc;
}

/* ---- uploads ---------------------------------------------------------------------------- */

struct box_upload {
	struct box_mgr *m;
	struct box_caller caller;
	struct sandbox *sb;
	int dirfd;
	int fd;
	char tmp[32];
	char name[NAME_MAX + 1];
	char path[PATH_MAX];
	uint64_t written;
};

static int do_upload_begin(struct sandbox *sb, const char *path, void *arg,
			   struct aj_err *e)
{
	struct box_upload *u = arg;
	char buf[PATH_MAX];
	const char *parent, *name;
	snprintf(buf, sizeof(buf), "%s", path);
	if (split(buf, &parent, &name, e) < 0 || mkdir_parents(sb, parent, e) < 0)
		return -1;
	u->dirfd = resolve_dir(sb, parent, e);
	if (u->dirfd < 0)
		return -1;
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->path, sizeof(u->path), "%s", path);
	/* A fresh name beside the target: the body lands there and is renamed
	 * into place only when complete, so a failed upload leaves the old
	 * file intact and nothing is ever written through a symlink. */
	memcpy(u->tmp, ".aj-upload-", 11);
	aj_random_hex(u->tmp + 11, 8);
	u->fd = openat(u->dirfd, u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0644);
	if (u->fd < 0) {
		int err = errno;
		close(u->dirfd);
		u->dirfd = -1;
		return fs_err(e, err, "cannot create", path);
	}
	return 0;
}

int box_upload_begin(struct box_mgr *m, const struct box_caller *c,
		     const char *id, const char *path, struct box_upload **out,
		     struct aj_err *e)
{
	struct box_upload *u = calloc(1, sizeof(*u));
	if (!u)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	u->dirfd = u->fd = -1;
	u->m = m;
	u->caller = *c;
	if (with_sandbox(m, c, id, path, ROLE_USER, do_upload_begin, u, e) < 0) {
		free(u);
		return -1;
	}
	/* keep the sandbox (and its pinned root) alive until commit/abort */
	if (sb_lookup(m, c, id, &u->sb, e) < 0) {
		unlinkat(u->dirfd, u->tmp, 0);
		close(u->fd);
		close(u->dirfd);
		free(u);
		return -1;
	}
	*out = u;
	return 0;
}

int box_upload_write(struct box_upload *u, const void *data, size_t len,
		     struct aj_err *e)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(u->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == ENOSPC || errno == EDQUOT || errno == EFBIG
				       ? aj_err_set(e, AJ_ENOSPC, errno,
						    "sandbox disk quota exhausted writing '%s'", u->path)
				       : fs_err(e, errno, "cannot write", u->path);
		p += w;
		len -= (size_t)w;
		u->written += (uint64_t)w;
	}
	return 0;
}

static void upload_free(struct box_upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	if (u->dirfd >= 0)
		close(u->dirfd);
	sb_unref(u->sb);
	free(u);
}

void box_upload_abort(struct box_upload *u)
{
	if (!u)
		return;
	struct creds cr;
	creds_enter(u->sb, &cr);
	unlinkat(u->dirfd, u->tmp, 0);
	creds_leave(&cr);
	upload_free(u);
}

int box_upload_commit(struct box_upload *u, struct box_entry *out,
		      struct aj_err *e)
{
	struct creds cr;
	int rc = 0;
	if (close(u->fd) < 0)
		rc = fs_err(e, errno, "cannot write", u->path);
	u->fd = -1;
	creds_enter(u->sb, &cr);
	if (rc == 0 && renameat(u->dirfd, u->tmp, u->dirfd, u->name) < 0)
		rc = fs_err(e, errno, "cannot write", u->path);
	if (rc < 0)
		unlinkat(u->dirfd, u->tmp, 0);
	else if (out)
		rc = stat_path(u->sb, u->path, out, e);
	creds_leave(&cr);
	box_audit(u->m, &u->caller, "file.write", u->sb->id, rc ? e : NULL,
		  json_pack("{s:I}", "bytes", (json_int_t)u->written));
	upload_free(u);
	return rc;
}
