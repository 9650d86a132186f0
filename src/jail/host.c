/* host.c - what the host offers the jails: user namespaces, Landlock, the
 * cgroup controllers, huge pages for tmpfs.  Looked at once by a caller
 * that runs many jails (the server says what is missing when it starts,
 * /metrics shows it, --require refuses to run without it); each jail
 * still warns about what it could not apply. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail/internal.h"

static const char *const prot_name[JAIL_PROT_N] = {
	[JAIL_PROT_USERNS] = "userns",
	[JAIL_PROT_LANDLOCK] = "landlock",
	[JAIL_PROT_CGROUP_MEMORY] = "cgroup-memory",
	[JAIL_PROT_CGROUP_PIDS] = "cgroup-pids",
	[JAIL_PROT_CGROUP_CPU] = "cgroup-cpu",
	[JAIL_PROT_HUGE_TMPFS] = "huge-tmpfs",
};

/* What a jail does without it. */
static const char *const prot_cost[JAIL_PROT_N] = {
	[JAIL_PROT_USERNS] = "no sandbox can start",
	[JAIL_PROT_LANDLOCK] = "writes fenced by read-only mounts only",
	[JAIL_PROT_CGROUP_MEMORY] = "no memory limit",
	[JAIL_PROT_CGROUP_PIDS] = "no process limit",
	[JAIL_PROT_CGROUP_CPU] = "no CPU quota",
	[JAIL_PROT_HUGE_TMPFS] = "slower big files",
};

const char *jail_prot_name(enum jail_prot p)
{
	return p >= 0 && p < JAIL_PROT_N ? prot_name[p] : "?";
}

int jail_prot_parse(const char *list, unsigned *mask, struct aj_err *e)
{
	*mask = 0;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		int found = -1;
		if (n == 3 && strncmp(p, "all", 3) == 0) {
			*mask |= (1u << JAIL_PROT_N) - 1;
			found = JAIL_PROT_N;
		}
		for (int i = 0; found < 0 && i < JAIL_PROT_N; i++)
			if (strlen(prot_name[i]) == n && strncmp(p, prot_name[i], n) == 0)
				found = i;
		if (found < 0)
			return aj_err_set(e, AJ_EINVAL, 0,
					  "unknown protection '%.*s' (userns, landlock, "
					  "cgroup-memory, cgroup-pids, cgroup-cpu, "
					  "huge-tmpfs or all)", (int)(n > 40 ? 40 : n), p);
		if (found < JAIL_PROT_N)
			*mask |= 1u << found;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Can a child of ours make a user namespace?  (Kernels can forbid it:
 * user.max_user_namespaces = 0, Debian's unprivileged_userns_clone for
 * non-root callers, AppArmor's restriction of unprivileged ones.) */
static int userns(char *why, size_t len)
{
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, len, "cannot fork to try (%s)", strerror(errno));
		return 0;
	}
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : (errno & 0x7f) + 1);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 1;
	snprintf(why, len, "user namespaces refused (%s)",
		 WIFEXITED(st) ? strerror(WEXITSTATUS(st) - 1) : "child died");
	return 0;
}

static void set(struct jail_host *h, enum jail_prot p, bool ok, const char *why)
{
	if (ok) {
		h->have |= 1u << p;
		h->why[p][0] = '\0';
	} else {
		snprintf(h->why[p], sizeof(h->why[p]), "%s: %s", why, prot_cost[p]);
	}
}

void jail_host_check(struct jail_host *h)
{
	memset(h, 0, sizeof(*h));
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);

	char why[96];
	set(h, JAIL_PROT_USERNS, userns(why, sizeof(why)), why);

	int abi = jail_landlock_abi();
	h->landlock_abi = abi > 0 ? abi : 0;
	snprintf(why, sizeof(why), "no Landlock in this kernel (%s)",
		 abi > 0 ? "" : strerror(errno));
	set(h, JAIL_PROT_LANDLOCK, abi > 0, why);

	bool ok[3];
	char cwhy[3][96];
	jail_cgroup_check(ok, cwhy, &h->cgroup_version);
	set(h, JAIL_PROT_CGROUP_MEMORY, ok[0], cwhy[0]);
	set(h, JAIL_PROT_CGROUP_PIDS, ok[1], cwhy[1]);
	set(h, JAIL_PROT_CGROUP_CPU, ok[2], cwhy[2]);

	/* tmpfs takes huge= only with transparent huge pages built in */
	set(h, JAIL_PROT_HUGE_TMPFS,
	    access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0,
	    "no transparent huge pages in this kernel");
}

int jail_host_missing(const struct jail_host *h, unsigned mask)
{
	for (int i = 0; i < JAIL_PROT_N; i++)
		if ((mask & (1u << i)) && !(h->have & (1u << i)))
			return i;
	return -1;
}
