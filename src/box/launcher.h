/* launcher.h - the process that builds jails for the manager.
 *
 * Building a jail forks and keeps running our code in the child, which is
 * only safe from a single-threaded process.  The server is threaded, so
 * box_mgr_open forks this launcher before any thread exists; it lives as
 * long as the server (and dies with it), builds each sandbox's jail with
 * the supervisor as PID 1, and tears jails down on request.  Supervisors
 * are its children, so they die with it too: nothing outlives the server.
 */
#ifndef AJ_BOX_LAUNCHER_H
#define AJ_BOX_LAUNCHER_H

#include <stdbool.h>
#include <sys/types.h>

#include "jail/jail.h"
#include "util/err.h"

struct launcher;

int launcher_start(struct launcher **out, struct aj_err *e);
/* Kills every jail it holds, then the launcher itself. */
void launcher_stop(struct launcher *l);

struct launched {
	pid_t pid;      /* host pid of the supervisor */
	int ctl_fd;     /* manager's end of the supervisor socket */
	uid_t host_uid; /* what the sandbox user is on the host */
	gid_t host_gid;
	char warnings[256];
};

/* name: unique, [A-Za-z0-9_-], also the cgroup leaf.  host_id: the
 * sandbox user's host uid and gid; owner_id: the host uid owning its
 * user namespace (both unique per live sandbox: jail.h). */
int launcher_spawn(struct launcher *l, const char *name,
		   const struct jail_limits *lim, bool net_host, uid_t host_id,
		   uid_t owner_id, struct launched *out, struct aj_err *e);
int launcher_destroy(struct launcher *l, const char *name, struct aj_err *e);
int launcher_stats(struct launcher *l, const char *name,
		   struct jail_stats *st, struct aj_err *e);
/* Kill every process of the jail but its supervisor, from outside (the
 * supervisor is not asked: see jail_kill_others). */
int launcher_kill_others(struct launcher *l, const char *name, struct aj_err *e);

#endif
