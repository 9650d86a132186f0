/* jail.h - the isolation core: turn a spec into a confined process tree.
 *
 * One job only.  No HTTP, no JSON, no SQL here; errors come back as an
 * aj_err, nothing below prints or exits.
 *
 * Two ways in:
 *   jail_run()   one-shot: run argv confined, collect or pass through its
 *                output, enforce the wall clock, report the outcome.
 *   jail_start() long-lived: build the confinement and run a caller-given
 *                function as PID 1 inside it (the sandbox manager's
 *                supervisor).  jail_destroy() tears it all down.
 *
 * Both must be called from a single-threaded process (the CLI, or the
 * manager's launcher process), because setting up a jail forks and the
 * child keeps running code of ours without exec.
 */
#ifndef AJ_JAIL_H
#define AJ_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/* Uid/gid of the unprivileged user the sandboxed code runs as. */
#define JAIL_USER_ID 1000
#define JAIL_USER_NAME "user"
#define JAIL_HOME "/workspace"
#define JAIL_HOSTNAME "sandbox"

struct jail_limits {
	uint64_t memory_bytes; /* cgroup memory limit (0 = unlimited) */
	uint64_t pids;         /* cgroup pids limit (0 = unlimited) */
	uint32_t cpu_millis;   /* cgroup CPU quota, 1000 = one CPU (0 = none) */
	uint64_t disk_bytes;   /* size of the writable tmpfs (/workspace, /tmp) */
	uint64_t disk_inodes;  /* number of files in it */
	uint64_t fsize_bytes;  /* RLIMIT_FSIZE */
	uint64_t nofile;       /* RLIMIT_NOFILE */
	uint64_t cpu_time_s;   /* RLIMIT_CPU (0 = unlimited) */
	uint64_t timeout_ms;   /* wall clock, jail_run only (0 = none) */
	uint64_t output_bytes; /* per stream, jail_run only (0 = unlimited) */
};

struct jail_bind {
	const char *src; /* host path */
	const char *dst; /* path inside the sandbox */
	bool writable;
};

enum jail_net {
	JAIL_NET_NONE, /* own network namespace with loopback only */
	JAIL_NET_HOST, /* share the host's network */
};

/* A compiled seccomp program.  Build it once per network policy and reuse
 * it for every jail: compiling is the expensive part. */
struct jail_policy;

int jail_policy_build(enum jail_net net, struct jail_policy **out,
		      struct aj_err *e);
void jail_policy_free(struct jail_policy *p);

/* What a sandbox's root mirrors from the host (/usr, the top-level links
 * into it, a few entries of /etc with the small files' contents), looked
 * up once and shared by many jails.  Without one, each jail looks it up
 * while it starts.  A shared plan is a snapshot: rebuild it now and then
 * to follow changes on the host. */
struct jail_fs_plan;

int jail_fs_plan_new(struct jail_fs_plan **out, struct aj_err *e);
void jail_fs_plan_delete(struct jail_fs_plan *p);

struct jail_spec {
	struct jail_limits limits;
	const char *workspace;        /* host dir bound rw at /workspace,
					 NULL = fresh tmpfs of disk_bytes */
	const struct jail_bind *binds; /* extra binds, read-only unless
					  writable */
	size_t nbinds;
	const char *const *env;       /* "K=V" added to the clean base env */
	size_t nenv;
	const char *cwd;              /* default JAIL_HOME */
	enum jail_net net;
	const struct jail_policy *policy; /* NULL: built for this jail */
	const struct jail_fs_plan *fs_plan; /* NULL: looked up for this jail */
	const char *name;             /* cgroup leaf name; NULL = generated */
	bool cpu_usage;               /* where CPU accounting is a cgroup
					 hierarchy of its own (v1 cpuacct),
					 keep one for jail_stats' cpu_usage_ms
					 (default true; jail_run takes CPU from
					 rusage and skips it) */
	bool freezer;                 /* where the freezer is a cgroup hierarchy
					 of its own (v1), keep one for
					 jail_kill_others (default true;
					 jail_run skips it: its PID 1 takes
					 everything along when it ends) */
	uid_t host_id;                /* host uid and gid the sandbox user maps
					 to when we are root; 0 = default
					 JAIL_DEFAULT_HOST_ID.  Ignored when not
					 root (then it is the caller's own id). */
	uid_t owner_id;               /* host uid that owns the sandbox's user
					 namespace when we are root: unique per
					 live jail, never host_id; 0 = ours, from
					 our pid (JAIL_OWNER_RUN_BASE + pid).
					 Ignored when not root. */
};

/* Host uids agentjail takes for itself when run as root (README, "Host
 * ids"); no account or other program on the host may use them: the
 * owner of a user namespace holds every capability over it.
 *
 *   JAIL_DEFAULT_HOST_ID            the sandbox user of `agentjail run`
 *   JAIL_DEFAULT_HOST_ID + 1 + n    the server's sandbox users (box/)
 *   JAIL_OWNER_RUN_BASE + pid       owner of an `agentjail run`'s user
 *                                   namespace (pids stay below 2^22)
 *   JAIL_OWNER_BOX_BASE + n         owners of the server's sandboxes'
 *                                   user namespaces
 *
 * n < JAIL_BOX_IDS, a live sandbox's slot.  Why an owner of its own:
 * spawn.c, "Whose counters". */
#define JAIL_DEFAULT_HOST_ID 2000000000u
#define JAIL_OWNER_RUN_BASE 2001000000u
#define JAIL_OWNER_BOX_BASE 2006000000u
#define JAIL_BOX_IDS 65536u

/* Fixed limits of every jail: signals queued at once (POSIX timers hold
 * one each) and bytes of POSIX message queues, counted for the whole
 * sandbox (its user). */
#define JAIL_SIGPENDING 4096
#define JAIL_MSGQUEUE_BYTES (800u << 10)

/* Defaults: 512M memory, 256 pids, 1 CPU, 1G/65536-file disk, 64M fsize,
 * 256 files, 30 s timeout, 1M output per stream, no network. */
void jail_spec_init(struct jail_spec *spec);

/* What could not be applied (unprivileged caller: no cgroups, ...).
 * Each entry is a short human sentence; jail_run/jail_start fill it. */
struct jail_warnings {
	char msg[8][128];
	int n;
};

/* ---- one-shot -------------------------------------------------------- */

enum jail_output_mode {
	JAIL_OUTPUT_PASS,    /* copy to our stdout/stderr as produced */
	JAIL_OUTPUT_COLLECT, /* keep in memory (up to output_bytes) */
};

struct jail_result {
	int exit_code;      /* exit status, or 128+signal */
	int signal;         /* signal that killed the command, 0 if none */
	bool timed_out;
	bool oom_killed;
	uint64_t wall_ms;
	uint64_t cpu_ms;
	uint64_t max_rss_kb;
	char *out[2];       /* collected stdout/stderr (COLLECT mode), NUL-
			       terminated, malloc'd; free with jail_result_free */
	size_t out_len[2];
	bool truncated[2];
	struct jail_warnings warnings;
};

int jail_run(const struct jail_spec *spec, char *const argv[],
	     enum jail_output_mode mode, struct jail_result *res,
	     struct aj_err *e);
void jail_result_free(struct jail_result *res);

/* ---- long-lived ------------------------------------------------------ */

/* Runs as PID 1 inside the finished jail: every namespace, mount, limit,
 * capability drop, Landlock and seccomp already applied.  fd 0-2 are
 * /dev/null, fd 3 is ctl_fd from jail_start.  Its return value is the
 * exit status of the jail. */
typedef int (*jail_init_fn)(int ctl_fd, void *arg);

struct jail_cgroup; /* private to cgroup.c */

struct jail {
	pid_t pid;              /* host pid of the jail's PID 1 */
	int pidfd;              /* pidfd of PID 1 (race-free kill and wait;
				   poll it to learn that the jail ended);
				   -1 once jail_destroy closed it */
	uid_t host_uid;         /* host uid/gid the sandbox user maps to */
	gid_t host_gid;
	struct jail_cgroup *cg; /* NULL if cgroups were unavailable */
	struct jail_warnings warnings;
};

/* Build the jail and start fn in it.  ctl_fd is handed to fn as fd 3 (and
 * closed in the caller's process only if the caller closes it). */
int jail_start(const struct jail_spec *spec, jail_init_fn fn, void *arg,
	       int ctl_fd, struct jail *out, struct aj_err *e);

/* Kill every process of the jail (PID 1 first: the kernel then kills the
 * rest of the pid namespace; the cgroup is swept too). */
void jail_kill(struct jail *j);

/* Kill, reap PID 1 (if it is our child), remove the cgroup.  Safe to call
 * after jail_kill or after PID 1 already died. */
void jail_destroy(struct jail *j);

/* Kill every process of the jail but PID 1, from outside: PID 1 is not
 * asked, so it may be stopped, stuck or lying.  The cgroup is frozen while
 * its members are listed and killed, so nothing forks past the kill (see
 * kill.c).  Returns 0 once PID 1 is alone, -1 if some could not be killed
 * (e says why). */
int jail_kill_others(const struct jail *j, struct aj_err *e);

/* Figures the host can trust, read from the cgroup. */
struct jail_stats {
	uint64_t memory_bytes;      /* current usage */
	uint64_t memory_peak_bytes; /* high-water mark */
	uint64_t oom_kills;         /* processes killed by the OOM killer */
	uint64_t cpu_usage_ms;      /* total CPU time */
	uint64_t pids;              /* processes now */
};
int jail_stats(const struct jail *j, struct jail_stats *st, struct aj_err *e);

/* ---- what the host offers ------------------------------------------ */

/* The protections a host may lack.  Without one, jails still run, weaker
 * (without user namespaces they cannot start at all); each jail warns
 * about what it could not apply.  A long-lived caller checks once at
 * start, says so, and may refuse to run without some (serve --require). */
enum jail_prot {
	JAIL_PROT_USERNS,        /* user namespaces: every jail needs them */
	JAIL_PROT_LANDLOCK,      /* the second filesystem fence, IPC scoping */
	JAIL_PROT_CGROUP_MEMORY, /* memory limit, OOM kill reports */
	JAIL_PROT_CGROUP_PIDS,   /* process limit */
	JAIL_PROT_CGROUP_CPU,    /* CPU quota */
	JAIL_PROT_HUGE_TMPFS,    /* huge pages in sandbox tmpfs: speed only */
	JAIL_PROT_N
};

struct jail_host {
	unsigned have;              /* bit (1u << JAIL_PROT_x) per protection */
	char why[JAIL_PROT_N][160]; /* for a missing one: why, and what it costs */
	int landlock_abi;           /* 0: none */
	int cgroup_version;         /* of the memory controller; 0: none */
	char kernel[65];            /* release, as uname -r */
};

/* "userns", "landlock", "cgroup-memory", "cgroup-pids", "cgroup-cpu",
 * "huge-tmpfs". */
const char *jail_prot_name(enum jail_prot p);

/* A comma-separated list of those names (or "all") -> a mask of bits
 * (1u << JAIL_PROT_x); AJ_EINVAL naming an unknown one. */
int jail_prot_parse(const char *list, unsigned *mask, struct aj_err *e);

/* What this host offers the jails this process will build.  On cgroup v2
 * it also readies our own cgroup to hold theirs, which may move the
 * calling process into a leaf of it: call it before forking what builds
 * jails (see cgroup.c).  Costs a fork and a few file operations. */
void jail_host_check(struct jail_host *h);

/* The first protection of mask the host lacks, or -1 if none. */
int jail_host_missing(const struct jail_host *h, unsigned mask);

/* Remove leftover cgroups of jails whose processes are gone (after a
 * crash).  Returns the number removed. */
int jail_sweep_stale(struct aj_err *e);

/* Kill whatever still runs in the cgroups of the jail called name (a
 * jail of a previous run, known by name) and remove them, whatever their
 * age.  Returns how many hierarchies' leaves were removed. */
int jail_remove_named(const char *name, struct aj_err *e);

#endif
