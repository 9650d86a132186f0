/* cgroup.c - one cgroup per jail for memory, pids and CPU limits, and the
 * figures the host can trust (usage, peak, OOM kills, CPU time).
 *
 * Each controller may live on cgroup v1 or v2 (hybrid hosts exist: on
 * ours memory/pids/cpu are v1 while an empty cgroup2 is mounted too), so
 * we look each one up: a v1 hierarchy mounted with that controller, else
 * the v2 hierarchy if our cgroup there offers it.  The jail's cgroup is
 * created under OUR OWN cgroup of each hierarchy, as
 * <ours>/agentjail/<name>, so agentjail works wherever it is started
 * (inside a container, under a service manager) and never touches
 * cgroups it does not own.
 *
 * Entering: the parent opens the leaf's `tasks` (v1) or `cgroup.procs`
 * (v2) file, passes the descriptor to the child, and the CHILD writes "0"
 * (itself) into it before it runs anything it does not control.  Writing another process's pid into cgroup.procs takes the
 * global cgroup_threadgroup_rwsem for writing, which waits for an RCU
 * grace period when nobody migrated a task recently: measured here at
 * 14-26 ms per cold run, against 0.3 ms when a single-threaded process
 * moves itself through `tasks` (the kernel skips that lock for a thread
 * moving itself).
 *
 * The parent directory <ours>/agentjail is left in place: it is shared by
 * concurrent jails and removing it would race with their creation.
 *
 * Delegation on v2: a cgroup other than the root cannot both hold
 * processes and hand controllers to its children ("no internal
 * processes": enabling them fails with EBUSY).  A service manager gives
 * agentjail a cgroup of its own with nothing else in it (systemd:
 * Delegate=yes), and agentjail itself is in it; so on EBUSY we move OUR
 * OWN processes aside, into the leaf <ours>/agentjail/.self (the calling
 * process, and the jail being built when there is one; never anyone
 * else's), and enable again.  Discovery reads that leaf as <ours>.  If
 * other processes share our cgroup, v2 cannot delegate: the limits are
 * not applied and the warning says why. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jail/internal.h"

enum { C_MEMORY, C_PIDS, C_CPU, C_CPUACCT, C_FREEZER, C_N };
static const char *const ctrl_name[C_N] = { "memory", "pids", "cpu", "cpuacct",
					    "freezer" };
/* Controllers v2 has no switch for: CPU usage is in cpu.stat there, and
 * every v2 cgroup can be frozen (cgroup.freeze). */
#define V2_BUILTIN ((1u << C_CPUACCT) | (1u << C_FREEZER))

#define PARENT_DIR "agentjail"
/* Where we move ourselves on v2 (see the top); '.': no jail has that name,
 * sweeping passes it over. */
#define SELF_LEAF ".self"

struct hier {
	int version;      /* 1 or 2 */
	unsigned ctrls;   /* bit (1 << C_x) per controller hosted here */
	char dir[PATH_MAX]; /* our own cgroup (discovery) or the leaf */
	int enter_fd;     /* tasks / cgroup.procs of the leaf, -1 if closed */
};

struct jail_cgroup {
	int n;
	struct hier h[C_N];
};

struct layout {
	int n;
	struct hier h[C_N];
};

/* ---- small file helpers ------------------------------------------------ */

static int write_str(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(val);
	ssize_t n = write(fd, val, len);
	int saved = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? saved : EIO;
		return -1;
	}
	return 0;
}

static int write_u64(const char *dir, const char *file, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return write_str(dir, file, buf);
}

/* Read a small file into buf (NUL-terminated). */
static int read_small(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	int saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

static int read_u64(const char *dir, const char *file, uint64_t *v)
{
	char buf[64];
	if (read_small(dir, file, buf, sizeof(buf)) < 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0) {
		*v = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -1;
	*v = x;
	return 0;
}

/* Value of "key N" in a flat keyed file (memory.events, cpu.stat...). */
static int read_key(const char *dir, const char *file, const char *key,
		    uint64_t *v)
{
	char buf[4096];
	if (read_small(dir, file, buf, sizeof(buf)) < 0)
		return -1;
	size_t klen = strlen(key);
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*v = strtoull(line + klen + 1, NULL, 10);
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	errno = ENOENT;
	return -1;
}

/* ---- discovery --------------------------------------------------------- */

/* Does the comma-separated list contain word? */
static int has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == wl && strncmp(p, word, wl) == 0)
			return 1;
		p = c ? c + 1 : NULL;
	}
	return 0;
}

/* Our cgroup path in the hierarchy whose controller field (in the text
 * of /proc/self/cgroup) contains ctrl (v1), or in the v2 hierarchy
 * (ctrl == NULL). */
static int own_path(const char *procs, const char *ctrl, char *out, size_t size)
{
	for (const char *line = procs; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *c1 = memchr(line, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			char ctrls[256];
			size_t cl = (size_t)(c2 - c1 - 1);
			int match = 0;
			if (cl < sizeof(ctrls)) {
				memcpy(ctrls, c1 + 1, cl);
				ctrls[cl] = '\0';
				match = ctrl ? has_word(ctrls, ctrl)
					     : (c1 - line == 1 && line[0] == '0' && cl == 0);
			}
			size_t pl = len - (size_t)(c2 + 1 - line);
			if (match && pl < size) {
				memcpy(out, c2 + 1, pl);
				out[pl] = '\0';
				return 0;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

/* mountinfo escapes spaces etc. as \ooo; undo it in place. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && isdigit((unsigned char)r[1]) &&
		    isdigit((unsigned char)r[2]) && isdigit((unsigned char)r[3])) {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Join mount point, and our cgroup path seen from the mount's root. */
static int join_dir(const char *mnt, const char *root, const char *cgpath,
		    char *out, size_t size)
{
	size_t rl = strlen(root);
	if (strcmp(root, "/") == 0)
		rl = 0;
	else if (strncmp(cgpath, root, rl) != 0 ||
		 (cgpath[rl] != '/' && cgpath[rl] != '\0'))
		return -1; /* our cgroup is not visible through this mount */
	const char *rest = cgpath + rl;
	if (strcmp(rest, "/") == 0)
		rest = "";
	return snprintf(out, size, "%s%s", mnt, rest) < (int)size ? 0 : -1;
}

/* Our v2 cgroup as the jails see it: <ours>, also once we moved ourselves
 * into <ours>/agentjail/.self. */
static void unclaimed(char *cgpath)
{
	static const char tail[] = "/" PARENT_DIR "/" SELF_LEAF;
	size_t n = strlen(cgpath), t = sizeof(tail) - 1;
	if (n >= t && strcmp(cgpath + n - t, tail) == 0) {
		if (n == t)
			strcpy(cgpath, "/");
		else
			cgpath[n - t] = '\0';
	}
}

static int discover(struct layout *lay)
{
	memset(lay, 0, sizeof(*lay));
	char procs[4096];
	if (read_small("/proc/self", "cgroup", procs, sizeof(procs)) < 0)
		return -1;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[8192];
	unsigned assigned = 0;
	char v2_mnt[PATH_MAX] = "", v2_root[PATH_MAX] = "";
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - type source superopts */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		char type[32], source[256], super[1024];
		if (sscanf(sep + 3, "%31s %255s %1023s", type, source, super) != 3)
			continue;
		char root[PATH_MAX], mnt[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
			continue;
		unescape(root);
		unescape(mnt);
		if (strcmp(type, "cgroup2") == 0) {
			if (!v2_mnt[0]) {
				snprintf(v2_mnt, sizeof(v2_mnt), "%s", mnt);
				snprintf(v2_root, sizeof(v2_root), "%s", root);
			}
			continue;
		}
		if (strcmp(type, "cgroup") != 0)
			continue;
		unsigned here = 0;
		for (int c = 0; c < C_N; c++)
			if (!(assigned & (1u << c)) && has_word(super, ctrl_name[c]))
				here |= 1u << c;
		if (!here)
			continue;
		char cgpath[PATH_MAX];
		int first = __builtin_ctz(here);
		if (own_path(procs, ctrl_name[first], cgpath, sizeof(cgpath)) < 0)
			continue;
		struct hier *h = &lay->h[lay->n];
		if (join_dir(mnt, root, cgpath, h->dir, sizeof(h->dir)) < 0)
			continue;
		h->version = 1;
		h->ctrls = here;
		h->enter_fd = -1;
		assigned |= here;
		lay->n++;
	}
	fclose(f);

	/* Controllers not found on v1: the v2 hierarchy, if our cgroup there
	 * has them (cpu.stat carries the usage there, so no cpuacct). */
	unsigned missing = ((1u << C_N) - 1) & ~assigned & ~V2_BUILTIN;
	char cgpath[PATH_MAX];
	if (missing && v2_mnt[0] && own_path(procs, NULL, cgpath, sizeof(cgpath)) == 0) {
		unclaimed(cgpath);
		struct hier *h = &lay->h[lay->n];
		char avail[512];
		if (join_dir(v2_mnt, v2_root, cgpath, h->dir, sizeof(h->dir)) == 0 &&
		    read_small(h->dir, "cgroup.controllers", avail, sizeof(avail)) == 0) {
			avail[strcspn(avail, "\n")] = '\0';
			unsigned here = 0;
			for (int c = 0; c < C_N; c++) {
				if (!(missing & (1u << c)))
					continue;
				/* space-separated list */
				char *s = avail;
				size_t wl = strlen(ctrl_name[c]);
				while ((s = strstr(s, ctrl_name[c]))) {
					if ((s == avail || s[-1] == ' ') &&
					    (s[wl] == ' ' || s[wl] == '\0')) {
						here |= 1u << c;
						break;
					}
					s += wl;
				}
			}
			if (here) {
				h->version = 2;
				h->ctrls = here;
				h->enter_fd = -1;
				lay->n++;
			}
		}
	}
	return 0;
}

/* ---- create / enter / destroy ------------------------------------------ */

static void warn_ctrls(struct jail_warnings *w, unsigned ctrls,
		       const char *why)
{
	char names[64] = "";
	for (int c = 0; c < C_N; c++) {
		if (!(ctrls & (1u << c)) || (V2_BUILTIN & (1u << c)))
			continue;
		if (names[0])
			strncat(names, "/", sizeof(names) - strlen(names) - 1);
		strncat(names, ctrl_name[c], sizeof(names) - strlen(names) - 1);
	}
	if (names[0])
		jail_warn(w, "%s limit not applied: %s", names, why);
}

/* v2 only: let children of dir use the controllers. */
static int enable_v2(const char *dir, unsigned ctrls)
{
	char buf[64] = "";
	for (int c = 0; c < C_N; c++)
		if (ctrls & (1u << c) && !(V2_BUILTIN & (1u << c))) {
			strncat(buf, buf[0] ? " +" : "+", sizeof(buf) - strlen(buf) - 1);
			strncat(buf, ctrl_name[c], sizeof(buf) - strlen(buf) - 1);
		}
	return write_str(dir, "cgroup.subtree_control", buf);
}

/* v2: move our own processes (the caller, and child if > 0) into
 * <ours>/agentjail/.self (see the top). */
static int claim_v2(const char *ours, pid_t child)
{
	char base[PATH_MAX], self[PATH_MAX];
	if (snprintf(base, sizeof(base), "%s/" PARENT_DIR, ours) >= (int)sizeof(base) ||
	    snprintf(self, sizeof(self), "%s/" SELF_LEAF, base) >= (int)sizeof(self)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((mkdir(base, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(self, 0755) < 0 && errno != EEXIST) ||
	    write_str(self, "cgroup.procs", "0") < 0)
		return -1;
	if (child > 0 && write_u64(self, "cgroup.procs", (uint64_t)child) < 0)
		return -1;
	return 0;
}

/* v2: let the children of our own cgroup use the controllers, moving our
 * processes aside if they are in the way.  On failure, why says so. */
static int enable_ours_v2(const struct hier *h, pid_t child, char *why,
			  size_t whylen)
{
	if (enable_v2(h->dir, h->ctrls) == 0)
		return 0;
	if (errno == EBUSY && claim_v2(h->dir, child) == 0 &&
	    enable_v2(h->dir, h->ctrls) == 0)
		return 0;
	if (errno == EBUSY)
		snprintf(why, whylen, "cgroup v2 will not delegate: other processes "
			 "share our cgroup (give agentjail its own)");
	else
		snprintf(why, whylen, "cgroup v2 will not delegate controllers "
			 "here (%s)", strerror(errno));
	return -1;
}

/* Make <ours>/agentjail ready to hold jails' cgroups (v2: claim if
 * needed); on v2, got = the controllers it hands down.  0, or -1 with
 * msg saying why not. */
static int ready_base(const struct hier *h, char *got, size_t gotlen,
		      char *msg, size_t msglen)
{
	char base[PATH_MAX];
	if (snprintf(base, sizeof(base), "%s/" PARENT_DIR, h->dir) >= (int)sizeof(base)) {
		snprintf(msg, msglen, "cgroup path too long");
		return -1;
	}
	if (h->version == 2 && enable_ours_v2(h, 0, msg, msglen) < 0)
		return -1;
	if ((mkdir(base, 0755) < 0 && errno != EEXIST) ||
	    (h->version == 1 && access(base, W_OK) < 0)) {
		snprintf(msg, msglen, "cannot create a cgroup (%s)", strerror(errno));
		return -1;
	}
	if (h->version == 2 &&
	    (enable_v2(base, h->ctrls) < 0 ||
	     read_small(base, "cgroup.subtree_control", got, gotlen) < 0)) {
		snprintf(msg, msglen, "cgroup v2 will not delegate controllers "
			 "here (%s)", strerror(errno));
		return -1;
	}
	return 0;
}

/* For jail_host_check: make our cgroups ready to hold jails' (v2: claim
 * if needed) and say, for memory, pids and cpu (in that order), whether a
 * jail's cgroup will have it, and if not why. */
void jail_cgroup_check(bool ok[3], char why[3][96], int *mem_version)
{
	static const int want[3] = { C_MEMORY, C_PIDS, C_CPU };
	struct layout *lay = calloc(1, sizeof(*lay));
	*mem_version = 0;
	for (int i = 0; i < 3; i++) {
		ok[i] = false;
		snprintf(why[i], sizeof(why[i]), "no %s controller for our cgroup",
			 ctrl_name[want[i]]);
	}
	if (!lay || discover(lay) < 0) {
		for (int i = 0; i < 3; i++)
			snprintf(why[i], sizeof(why[i]), "cannot read our cgroups (%s)",
				 strerror(errno));
		free(lay);
		return;
	}
	for (int k = 0; k < lay->n; k++) {
		const struct hier *h = &lay->h[k];
		char msg[96] = "", got[512] = "";
		ready_base(h, got, sizeof(got), msg, sizeof(msg));
		for (int i = 0; i < 3; i++) {
			if (!(h->ctrls & (1u << want[i])))
				continue;
			bool yes = !msg[0];
			if (yes && h->version == 2) {
				/* space-separated names */
				got[strcspn(got, "\n")] = '\0';
				char pad[520];
				snprintf(pad, sizeof(pad), " %s ", got);
				char word[16];
				snprintf(word, sizeof(word), " %s ", ctrl_name[want[i]]);
				yes = strstr(pad, word) != NULL;
			}
			ok[i] = yes;
			if (!yes)
				snprintf(why[i], sizeof(why[i]), "%s",
					 msg[0] ? msg : "cgroup v2 did not delegate it");
			if (yes && want[i] == C_MEMORY)
				*mem_version = h->version;
		}
	}
	free(lay);
}

/* Write the limits of the controllers this hierarchy hosts. */
static void set_limits(const struct hier *h, const struct jail_limits *l,
		       struct jail_warnings *w)
{
	char buf[64];
	if ((h->ctrls & (1u << C_MEMORY)) && l->memory_bytes) {
		const char *f = h->version == 1 ? "memory.limit_in_bytes" : "memory.max";
		if (write_u64(h->dir, f, l->memory_bytes) < 0)
			jail_warn(w, "memory limit not applied: %s: %s", f, strerror(errno));
		/* No swap beyond the memory limit (absent without swap
		 * accounting: then there is nothing to limit). */
		f = h->version == 1 ? "memory.memsw.limit_in_bytes" : "memory.swap.max";
		uint64_t sw = h->version == 1 ? l->memory_bytes : 0;
		if (write_u64(h->dir, f, sw) < 0 && errno != ENOENT)
			jail_warn(w, "swap limit not applied: %s: %s", f, strerror(errno));
	}
	if ((h->ctrls & (1u << C_PIDS)) && l->pids) {
		if (write_u64(h->dir, "pids.max", l->pids) < 0)
			jail_warn(w, "pids limit not applied: %s", strerror(errno));
	}
	if ((h->ctrls & (1u << C_CPU)) && l->cpu_millis) {
		const uint64_t period = 100000; /* us */
		uint64_t quota = (uint64_t)l->cpu_millis * period / 1000;
		int rc;
		if (h->version == 1) {
			/* A new v1 cgroup starts with this period: only the
			 * quota needs writing. */
			rc = write_u64(h->dir, "cpu.cfs_quota_us", quota);
		} else {
			snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, quota, period);
			rc = write_str(h->dir, "cpu.max", buf);
		}
		if (rc < 0)
			jail_warn(w, "cpu limit not applied: %s", strerror(errno));
	}
}

static int valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return 0;
	return 1;
}

int jail_cgroup_create(const char *name, const struct jail_limits *l,
		       bool cpu_usage, bool freezer, pid_t child, struct jail_cgroup **out,
		       struct jail_warnings *w, struct aj_err *e)
{
	*out = NULL;
	if (!valid_name(name))
		return aj_err_set(e, AJ_EINVAL, 0, "invalid jail name '%s'", name);

	struct jail_cgroup *cg = calloc(1, sizeof(*cg));
	struct layout *lay = calloc(1, sizeof(*lay));
	if (!cg || !lay) {
		free(cg);
		free(lay);
		return aj_err_sys(e, AJ_EINTERNAL, "cgroup");
	}
	if (discover(lay) < 0) {
		jail_warn(w, "memory/pids/cpu limit not applied: cannot read "
			  "/proc/self/mountinfo: %s", strerror(errno));
		lay->n = 0;
	}
	unsigned found = 0;
	for (int i = 0; i < lay->n; i++)
		found |= lay->h[i].ctrls;
	unsigned wanted = (l->memory_bytes ? 1u << C_MEMORY : 0) |
			  (l->pids ? 1u << C_PIDS : 0) |
			  (l->cpu_millis ? 1u << C_CPU : 0);
	warn_ctrls(w, wanted & ~found, "no such cgroup controller here");

	int rc = 0;
	for (int i = 0; i < lay->n && rc == 0; i++) {
		const struct hier *src = &lay->h[i];
		/* a hierarchy that only accounts CPU: a mkdir, an enter and an
		 * rmdir for a figure nobody asked for */
		if (!cpu_usage && src->ctrls == (1u << C_CPUACCT))
			continue;
		/* likewise a v1 freezer nobody will use */
		if (!freezer && src->ctrls == (1u << C_FREEZER))
			continue;
		struct hier *h = &cg->h[cg->n];
		char base[PATH_MAX];
		if (snprintf(base, sizeof(base), "%s/" PARENT_DIR, src->dir) >= (int)sizeof(base) ||
		    snprintf(h->dir, sizeof(h->dir), "%s/%s", base, name) >= (int)sizeof(h->dir)) {
			warn_ctrls(w, src->ctrls, "cgroup path too long");
			continue;
		}
		char why[96];
		if (src->version == 2 &&
		    enable_ours_v2(src, child, why, sizeof(why)) < 0) {
			warn_ctrls(w, src->ctrls, why);
			continue;
		}
		/* The shared parent exists after the first jail: on v1 try the
		 * leaf first and make the parent only when it is missing; v2
		 * must (re)enable the controllers in the parent every time. */
		int made = src->version == 1 ? mkdir(h->dir, 0755) : -1;
		if (made < 0 && (src->version == 2 || errno == ENOENT)) {
			if (mkdir(base, 0755) < 0 && errno != EEXIST) {
				snprintf(why, sizeof(why), "cannot create a cgroup (%s)",
					 strerror(errno));
				warn_ctrls(w, src->ctrls, why);
				continue;
			}
			if (src->version == 2)
				enable_v2(base, src->ctrls);
			made = mkdir(h->dir, 0755);
		}
		if (made < 0) {
			if (errno == EEXIST) {
				rc = aj_err_set(e, AJ_EEXIST, EEXIST,
						"cgroup %s already exists", h->dir);
				break;
			}
			snprintf(why, sizeof(why), "cannot create a cgroup (%s)",
				 strerror(errno));
			warn_ctrls(w, src->ctrls, why);
			continue;
		}
		h->version = src->version;
		h->ctrls = src->ctrls;
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/%s", h->dir,
			 h->version == 1 ? "tasks" : "cgroup.procs");
		h->enter_fd = open(path, O_WRONLY | O_CLOEXEC);
		if (h->enter_fd < 0) {
			snprintf(why, sizeof(why), "cannot open the cgroup (%s)",
				 strerror(errno));
			warn_ctrls(w, src->ctrls, why);
			rmdir(h->dir);
			continue;
		}
		set_limits(h, l, w);
		cg->n++;
	}
	free(lay);
	if (rc < 0 || cg->n == 0) {
		jail_cgroup_destroy(cg);
		return rc;
	}
	*out = cg;
	return 0;
}

int jail_cgroup_enter_fds(const struct jail_cgroup *cg, int *fds, int max)
{
	int n = 0;
	for (int i = 0; cg && i < cg->n && n < max; i++)
		if (cg->h[i].enter_fd >= 0)
			fds[n++] = cg->h[i].enter_fd;
	return n;
}

int jail_cgroup_enter(const int *fds, int n, struct aj_err *e)
{
	int rc = 0;
	for (int i = 0; i < n; i++) {
		if (rc == 0 && write(fds[i], "0", 1) != 1)
			rc = aj_err_sys(e, AJ_EINTERNAL, "enter cgroup");
		close(fds[i]);
	}
	return rc;
}

void jail_cgroup_close_fds(struct jail_cgroup *cg)
{
	for (int i = 0; cg && i < cg->n; i++) {
		if (cg->h[i].enter_fd >= 0)
			close(cg->h[i].enter_fd);
		cg->h[i].enter_fd = -1;
	}
}

/* SIGKILL every process listed in the leaf (used only if rmdir finds it
 * busy, which the pid namespace should make impossible).  Thawed first: a
 * v1-frozen task acts on SIGKILL only once thawed (a leaf left frozen by a
 * launcher that died inside jail_kill_others). */
static void kill_members(const struct hier *h)
{
	if (h->version == 1 && (h->ctrls & (1u << C_FREEZER)))
		write_str(h->dir, "freezer.state", "THAWED");
	if (h->version == 2)
		write_str(h->dir, "cgroup.freeze", "0");
	if (h->version == 2 && write_str(h->dir, "cgroup.kill", "1") == 0)
		return;
	char buf[4096];
	if (read_small(h->dir, "cgroup.procs", buf, sizeof(buf)) < 0)
		return;
	for (char *p = buf; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
		p = end;
		while (*p == '\n')
			p++;
	}
}

static void remove_leaf(const struct hier *h)
{
	const struct timespec ms = { 0, 1000000 };
	for (int tries = 0; tries < 2000; tries++) {
		if (rmdir(h->dir) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		kill_members(h);
		nanosleep(&ms, NULL);
	}
}

void jail_cgroup_destroy(struct jail_cgroup *cg)
{
	if (!cg)
		return;
	jail_cgroup_close_fds(cg);
	for (int i = 0; i < cg->n; i++)
		remove_leaf(&cg->h[i]);
	free(cg);
}

int jail_cgroup_stats(const struct jail_cgroup *cg, struct jail_stats *st,
		      struct aj_err *e)
{
	memset(st, 0, sizeof(*st));
	if (!cg)
		return aj_err_set(e, AJ_EUNSUPPORTED, 0, "jail has no cgroup");
	for (int i = 0; i < cg->n; i++) {
		const struct hier *h = &cg->h[i];
		uint64_t v;
		if (h->ctrls & (1u << C_MEMORY)) {
			if (h->version == 1) {
				if (read_u64(h->dir, "memory.usage_in_bytes", &v) == 0)
					st->memory_bytes = v;
				if (read_u64(h->dir, "memory.max_usage_in_bytes", &v) == 0)
					st->memory_peak_bytes = v;
				if (read_key(h->dir, "memory.oom_control", "oom_kill", &v) == 0)
					st->oom_kills = v;
			} else {
				if (read_u64(h->dir, "memory.current", &v) == 0)
					st->memory_bytes = v;
				if (read_u64(h->dir, "memory.peak", &v) == 0)
					st->memory_peak_bytes = v;
				if (read_key(h->dir, "memory.events", "oom_kill", &v) == 0)
					st->oom_kills = v;
			}
		}
		if ((h->ctrls & (1u << C_PIDS)) &&
		    read_u64(h->dir, "pids.current", &v) == 0)
			st->pids = v;
		if (h->version == 1 && (h->ctrls & (1u << C_CPUACCT)) &&
		    read_u64(h->dir, "cpuacct.usage", &v) == 0)
			st->cpu_usage_ms = v / 1000000;
		if (h->version == 2 && (h->ctrls & (1u << C_CPU)) &&
		    read_key(h->dir, "cpu.stat", "usage_usec", &v) == 0)
			st->cpu_usage_ms = v / 1000;
	}
	return 0;
}

/* Only the OOM kill count: what a one-shot run reports, one read
 * instead of the four of jail_cgroup_stats. */
int jail_cgroup_oom_kills(const struct jail_cgroup *cg, uint64_t *kills)
{
	*kills = 0;
	for (int i = 0; cg && i < cg->n; i++) {
		const struct hier *h = &cg->h[i];
		if (h->ctrls & (1u << C_MEMORY))
			return h->version == 1
				? read_key(h->dir, "memory.oom_control", "oom_kill", kills)
				: read_key(h->dir, "memory.events", "oom_kill", kills);
	}
	errno = ENOENT;
	return -1;
}

/* ---- freezing and members ---------------------------------------------- */

/* The leaf that can freeze the jail: one on a v1 hierarchy with the
 * freezer, else the v2 one (every v2 cgroup but the root can freeze). */
static const struct hier *freezer_leaf(const struct jail_cgroup *cg)
{
	for (int i = 0; cg && i < cg->n; i++)
		if (cg->h[i].version == 1 && (cg->h[i].ctrls & (1u << C_FREEZER)))
			return &cg->h[i];
	for (int i = 0; cg && i < cg->n; i++)
		if (cg->h[i].version == 2)
			return &cg->h[i];
	return NULL;
}

int jail_cgroup_freeze(const struct jail_cgroup *cg, bool freeze)
{
	const struct hier *h = freezer_leaf(cg);
	if (!h) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (h->version == 1)
		return write_str(h->dir, "freezer.state", freeze ? "FROZEN" : "THAWED");
	return write_str(h->dir, "cgroup.freeze", freeze ? "1" : "0");
}

int jail_cgroup_frozen(const struct jail_cgroup *cg)
{
	const struct hier *h = freezer_leaf(cg);
	char buf[32];
	uint64_t v;
	if (!h) {
		errno = EOPNOTSUPP;
		return -1;
	}
	/* v1 says FREEZING until every member is frozen (reading it is what
	 * checks); v2 says "frozen 1" in cgroup.events */
	if (h->version == 1)
		return read_small(h->dir, "freezer.state", buf, sizeof(buf)) < 0
			       ? -1 : strncmp(buf, "FROZEN", 6) == 0;
	return read_key(h->dir, "cgroup.events", "frozen", &v) < 0 ? -1 : v == 1;
}

int jail_cgroup_procs(const struct jail_cgroup *cg, pid_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const struct hier *h = freezer_leaf(cg);
	if (!h && cg && cg->n)
		h = &cg->h[0]; /* every member is in every leaf */
	if (!h) {
		errno = EOPNOTSUPP;
		return -1;
	}
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/cgroup.procs", h->dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t cap = 0, llen = 0;
	pid_t *v = NULL;
	char *line = NULL;
	while (getline(&line, &llen, f) > 0) {
		char *end;
		long pid = strtol(line, &end, 10);
		if (end == line || pid <= 0 || pid > INT_MAX)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			pid_t *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				free(line);
				fclose(f);
				*n = 0;
				errno = ENOMEM;
				return -1;
			}
			v = nv;
		}
		v[(*n)++] = (pid_t)pid;
	}
	free(line);
	fclose(f);
	*out = v;
	return 0;
}

/* ---- sweeping ---------------------------------------------------------- */

/* A leftover may be removed if nothing runs in it and its creator is gone:
 * one-shot names carry the creating pid ("run-<pid>-..."); other names
 * are left alone for a few seconds after creation, so a jail being set up
 * right now is not swept from under its creator. */
static int stale(const char *leaf, const char *name)
{
	char *end;
	long pid = strncmp(name, "run-", 4) == 0 ? strtol(name + 4, &end, 10) : 0;
	if (pid > 0 && pid <= INT_MAX && *end == '-') {
		if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
			return 0;
	} else {
		struct stat st;
		if (stat(leaf, &st) < 0 || time(NULL) - st.st_ctime < 10)
			return 0;
	}
	char buf[16];
	return read_small(leaf, "cgroup.procs", buf, sizeof(buf)) == 0 && buf[0] == '\0';
}

/* Remove the stale leaves of one agentjail/ directory (except `keep`;
 * with runs_only, only one-shot leaves: "run-<pid>-..."). */
static int sweep_base(const char *base, const char *keep, bool runs_only)
{
	/* The link count of a cgroup directory is 2 + its subdirectories:
	 * one stat tells whether there is anything but `keep` to look at,
	 * which is the usual case (one-shot runs pay for every syscall). */
	struct stat st;
	if (stat(base, &st) == 0 && st.st_nlink <= 2u + (keep != NULL))
		return 0;
	DIR *d = opendir(base);
	if (!d)
		return 0;
	int removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    (keep && strcmp(de->d_name, keep) == 0) ||
		    (runs_only && strncmp(de->d_name, "run-", 4) != 0))
			continue;
		char leaf[PATH_MAX];
		if (snprintf(leaf, sizeof(leaf), "%s/%s", base, de->d_name) >= (int)sizeof(leaf))
			continue;
		if (stale(leaf, de->d_name) && rmdir(leaf) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

/* Checking a leaf that is not a dead one-shot's costs a stat and a read
 * of its cgroup.procs; next to a thousand live sandboxes, doing that for
 * every one at every create made creating N sandboxes O(N^2) (about
 * 16,000 syscalls per create at N = 1000).  So the full sweep runs at
 * most every FULL_SWEEP_S per process; in between, and always for
 * one-shot jails (a process each, short-lived), only dead one-shots'
 * leaves are looked at, by name and pid.  Servers also sweep everything
 * when they start (jail_sweep_stale). */
#define FULL_SWEEP_S 30

int jail_cgroup_sweep_siblings(const struct jail_cgroup *cg, bool one_shot)
{
	static time_t last_full; /* callers are single-threaded */
	time_t now = time(NULL);
	bool runs_only = one_shot || (last_full && now - last_full < FULL_SWEEP_S);
	if (!runs_only)
		last_full = now;
	int removed = 0;
	for (int i = 0; cg && i < cg->n; i++) {
		char base[PATH_MAX];
		snprintf(base, sizeof(base), "%s", cg->h[i].dir);
		char *slash = strrchr(base, '/');
		if (!slash)
			continue;
		*slash = '\0';
		int here = sweep_base(base, slash + 1, runs_only);
		if (here > removed)
			removed = here;
	}
	return removed;
}

int jail_sweep_stale(struct aj_err *e)
{
	struct layout *lay = calloc(1, sizeof(*lay));
	if (!lay)
		return aj_err_sys(e, AJ_EINTERNAL, "sweep cgroups");
	if (discover(lay) < 0) {
		free(lay);
		return aj_err_sys(e, AJ_EINTERNAL, "sweep cgroups: mountinfo");
	}
	int removed = 0;
	for (int i = 0; i < lay->n; i++) {
		char base[PATH_MAX];
		if (snprintf(base, sizeof(base), "%s/" PARENT_DIR, lay->h[i].dir) >= (int)sizeof(base))
			continue;
		int here = sweep_base(base, NULL, false);
		if (here > removed)
			removed = here;
	}
	free(lay);
	return removed;
}

int jail_remove_named(const char *name, struct aj_err *e)
{
	struct layout *lay = calloc(1, sizeof(*lay));
	if (!lay)
		return aj_err_sys(e, AJ_EINTERNAL, "remove cgroup");
	if (discover(lay) < 0) {
		free(lay);
		return aj_err_sys(e, AJ_EINTERNAL, "remove cgroup: mountinfo");
	}
	int removed = 0;
	for (int i = 0; i < lay->n; i++) {
		struct hier h = lay->h[i];
		if (snprintf(h.dir, sizeof(h.dir), "%s/" PARENT_DIR "/%s", lay->h[i].dir,
			     name) >= (int)sizeof(h.dir))
			continue;
		struct stat st;
		if (stat(h.dir, &st) < 0)
			continue;
		remove_leaf(&h);
		removed += stat(h.dir, &st) < 0;
	}
	free(lay);
	return removed;
}
