/* kill.c - jail_kill_others: kill every process of a jail but its PID 1,
 * from outside, without asking PID 1.
 *
 * PID 1 could do it with kill(-1), but PID 1 runs inside, as the same user
 * as the code it supervises: it may be stopped, stuck or lying.  So the
 * host kills by pid, and three things make that safe:
 *
 *   1. freeze the cgroup (a v1 freezer leaf, or the v2 leaf), and wait
 *      until every member is frozen (FREEZE_WAIT_MS at most): from then on
 *      nothing forks, nothing exits, and so no pid is reused;
 *   2. list the members (cgroup.procs: zombies are not there) and SIGKILL
 *      each but PID 1 - safe by pid, as they are all frozen;
 *   3. thaw: the killed die (a frozen task acts on SIGKILL once thawed, a
 *      stopped one too), PID 1 goes on as it was (stopped if it was).
 *
 * Then wait until PID 1 is alone (KILL_WAIT_MS at most), killing again
 * whatever is still listed.  Those later rounds, and every round where
 * there is no freezer (or the freeze did not complete, or there is no
 * cgroup at all and the members come from a scan of /proc), run unfrozen:
 * a listed pid may have died and been reused, so each is opened as a
 * pidfd first and killed only if it is still in the jail's pid namespace.
 * Without the freeze a fork bomb can outrun a round, not the rounds: a
 * killed process forks no more, and the pids limit bounds the rest. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jail/internal.h"

#define FREEZE_WAIT_MS 1000
#define KILL_WAIT_MS 5000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };
	nanosleep(&ts, NULL);
}

/* Inode of the pid namespace pid lives in; 0 if it is gone. */
static ino_t pidns_of(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* A zombie (dead, not yet reaped: its parent may be a stopped PID 1) or
 * gone?  cgroup.procs leaves those out; a scan of /proc must too. */
static bool dead(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* "pid (comm) S ..." */
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X' || p[2] == '\0';
}

/* Every live process in the pid namespace ns (slow: all of /proc). */
static int scan_pidns(ino_t ns, pid_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pidns_of((pid_t)pid) != ns || dead((pid_t)pid))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			pid_t *v = realloc(*out, cap * sizeof(**out));
			if (!v) {
				free(*out);
				*out = NULL;
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			*out = v;
		}
		(*out)[(*n)++] = (pid_t)pid;
	}
	closedir(d);
	return 0;
}

/* SIGKILL pid if it is (still) a process of the namespace ns: through a
 * pidfd, so a pid reused in between is never hit. */
static void kill_checked(pid_t pid, ino_t ns)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return;
	/* The pidfd is the process that had this pid when it was opened; if
	 * the pid was in the namespace after that, so was that process, or
	 * it is gone and the signal finds nobody. */
	if (pidns_of(pid) == ns)
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
}

int jail_kill_others(const struct jail *j, struct aj_err *e)
{
	if (j->pid <= 0)
		return 0;
	/* PID 1 is our child and we have not reaped it: its pid is its own */
	ino_t ns = pidns_of(j->pid);
	if (!ns)
		return 0; /* PID 1 is gone, and everything with it */

	bool frozen = false;
	if (jail_cgroup_freeze(j->cg, true) == 0) {
		int64_t until = mono_ms() + FREEZE_WAIT_MS;
		int st;
		while ((st = jail_cgroup_frozen(j->cg)) == 0 && mono_ms() < until)
			pause_ms(1);
		frozen = st == 1;
	}

	size_t left = 0;
	int rc = 0;
	int64_t until = mono_ms() + KILL_WAIT_MS;
	for (int round = 0;; round++) {
		pid_t *pids;
		size_t n;
		rc = j->cg ? jail_cgroup_procs(j->cg, &pids, &n) : -1;
		if (rc < 0)
			rc = scan_pidns(ns, &pids, &n);
		if (rc < 0) {
			aj_err_sys(e, AJ_EINTERNAL, "list the processes of the sandbox");
			break;
		}
		left = 0;
		for (size_t i = 0; i < n; i++) {
			if (pids[i] == j->pid)
				continue;
			left++;
			if (frozen)
				kill(pids[i], SIGKILL);
			else
				kill_checked(pids[i], ns);
		}
		free(pids);
		if (frozen) {
			/* the killed die once thawed; later rounds run unfrozen */
			jail_cgroup_freeze(j->cg, false);
			frozen = false;
			continue;
		}
		if (left == 0)
			break;
		if (mono_ms() >= until) {
			rc = aj_err_set(e, AJ_EUNAVAIL, 0,
					"%zu processes of the sandbox did not die", left);
			break;
		}
		pause_ms(round < 10 ? 1 : 10);
	}
	if (frozen)
		jail_cgroup_freeze(j->cg, false);
	return rc;
}
