/* sandbox.h - the manager's in-memory objects, shared by the files of
 * src/box.  Not for front ends: they see box.h only.
 *
 * Ownership and locking:
 *   - mgr->lock guards the sandbox table and the counters.
 *   - sb->lock guards everything mutable in a sandbox and its procs.
 *   - sandboxes and procs are reference counted; the table, the pump's
 *     registrations and every caller in flight each hold a reference.
 *   - Never take mgr->lock while holding an sb->lock.
 */
#ifndef AJ_BOX_SANDBOX_H
#define AJ_BOX_SANDBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "box/box.h"
#include "box/launcher.h"
#include "util/json.h"
#include "util/buf.h"

struct pump;
struct pool;

enum proc_state { P_STARTING, P_RUNNING, P_EXITED, P_FAILED };

/* Output streams of a process: stdout, stderr and, for code-context
 * drivers, their event channel on fd 3. */
enum { PS_OUT = 0, PS_ERR = 1, PS_EVT = 2, PS_N = 3 };

struct pstream {
	int fd;             /* our read end, -1 once closed */
	struct aj_buf data; /* retained output */
	uint64_t total;     /* bytes produced, retained or not */
	bool truncated;     /* some output was dropped at the limit */
};

struct proc {
	struct proc *next;
	struct sandbox *sb;
	atomic_int refs;
	pthread_cond_t cond; /* any change; waits use sb->lock */

	uint64_t req_id;
	char exec_id[40];
	char tag[64];
	char *cmd;          /* for listings and traces */
	char **argv;
	char *cwd;
	struct box_kv *env;
	size_t nenv;
	bool background;
	bool consume;       /* a driver: the reader takes data away */
	bool internal;      /* ours (a code-context driver): not listed */
	bool unlisted;      /* out of sb->procs: nobody reads it any more */

	enum proc_state state;
	pid_t pid;
	int start_err;
	int status;
	int64_t cpu_ms, maxrss_kb;
	int64_t started_mono, ended_mono; /* ms */
	int64_t started_ms;               /* wall clock */
	int64_t deadline_mono;            /* 0 = none */
	bool timed_out;
	bool oom_killed;
	bool oom_checked;
	int stdin_fd;
	pthread_mutex_t stdin_lock; /* held to write, close or clear stdin_fd */
	uint64_t limit;     /* per stream, retained bytes */
	struct pstream s[PS_N];
};

struct sandbox {
	struct box_mgr *mgr;
	atomic_int refs;

	/* fixed at creation */
	char id[40];
	char tenant[65];
	char key_id[KEY_ID_LEN + 1];
	char template_id[64];
	struct box_shape shape;
	struct box_kv *env;
	size_t nenv;
	struct box_kv *metadata;
	size_t nmeta;
	int64_t created_ms;
	unsigned char token_key[32]; /* MAC key of its access tokens (tokens.c) */
	struct launched jail;  /* pid, ctl_fd, host ids */
	int root_fd;           /* O_PATH of the sandbox's / */
	unsigned slot;         /* host id slot (has_slot) */
	bool has_slot;
	atomic_bool visible;   /* created and recorded: callers may see it */

	pthread_mutex_t lock;
	/* guarded by lock */
	int64_t expires_ms;
	bool dead;             /* supervisor gone or being destroyed */
	bool killed;           /* its jail was torn down (sb_discard) */
	uint64_t next_req;
	struct proc *procs;
	uint64_t oom_kills_seen;
	uint64_t retained;     /* output bytes kept by listed procs */
	struct box_ctx *ctxs;  /* code contexts, see contexts.c */
	bool ctx_warm;         /* pool: a python context was started early */
	struct sb_grant *grants; /* keys that obtained access tokens */
	size_t ngrants;
};

/* A key that obtained access tokens for a sandbox, as it was then; the
 * store has the last word on every use unless it is keyless. */
struct sb_grant {
	struct box_caller who;
};

struct box_mgr {
	struct box_config cfg;
	char *state_dir;
	int lock_fd;           /* flock on <state>/lock: one manager per dir */
	struct store *store;
	struct launcher *launcher;
	struct pump *pump;

	pthread_mutex_t lock;
	pthread_cond_t cond;   /* wakes the reaper */
	struct idem_flight *flights; /* idempotent requests in flight */
	pthread_cond_t idem_cond;    /* one of them ended */
	struct sandbox **boxes;
	size_t nboxes, capboxes;
	unsigned char *slots;  /* host id slots in use */
	bool stopping;
	pthread_t reaper;
	struct box_metrics metrics;
	struct pool *pool;
	struct jail_host host; /* what the host offers, looked at once */
};

/* Output of a sandbox's commands kept in the server's memory, at most:
 * past it, output is counted and dropped (marked truncated), so no sandbox
 * can grow the server without bound whatever limits its client asked. */
#define SB_RETAIN_MAX (128u << 20)

/* time */
int64_t now_ms(void);   /* wall clock, ms since the epoch */
int64_t mono_ms(void);  /* monotonic */

/* sandbox references (manager.c) */
void sb_ref(struct sandbox *sb);
void sb_unref(struct sandbox *sb);
/* Look up a running sandbox the caller may see; takes a reference. */
int sb_lookup(struct box_mgr *m, const struct box_caller *c, const char *id,
	      struct sandbox **out, struct aj_err *e);
/* env or metadata from a caller: count, key and value sizes, and (env)
 * no '=' in names. */
int box_kv_validate(const char *what, const struct box_kv *kv, size_t n,
		    bool env, struct aj_err *e);
/* Role check: AJ_EFORBIDDEN if the caller's role is below min. */
int box_require(const struct box_caller *c, enum role min, struct aj_err *e);
/* Audit one action (outcome from e, or "ok" when e is NULL).  detail (a
 * JSON object, or NULL) is stolen: details are built with jansson only,
 * strings from clients with aj_json_text, so no input can add a field. */
void box_audit(struct box_mgr *m, const struct box_caller *c,
	       const char *action, const char *sandbox_id,
	       const struct aj_err *e, json_t *detail);

/* Record c as the holder of s's access tokens (sb->lock held): 0, 1 if
 * it is new, -1 out of memory.  (tokens.c) */
int sb_grant_add(struct sandbox *sb, const struct box_caller *c);

/* procs (exec.c) */
void proc_ref(struct proc *p);
void proc_unref(struct proc *p);

/* The pump (pump.c): one thread reading every supervisor socket and every
 * process pipe, feeding procs and waking their waiters. */
int pump_start(struct box_mgr *m, struct pump **out, struct aj_err *e);
void pump_stop(struct pump *pu);
int pump_add_sandbox(struct pump *pu, struct sandbox *sb, struct aj_err *e);
int pump_add_proc(struct pump *pu, struct proc *p, struct aj_err *e);

/* Send a message to a sandbox's supervisor (sb->lock held or not). */
int sb_send(struct sandbox *sb, const void *msg, size_t len, const int *fds,
	    int nfds, struct aj_err *e);
/* Kill a process group inside the sandbox (fire and forget). */
void sb_kill_group(struct sandbox *sb, pid_t pid, int sig);
/* Signal the process group pid but for pid itself, which gets lead first
 * (fire and forget; members that join after are missed). */
void sb_signal_rest_of_group(struct sandbox *sb, pid_t pid, int lead, int sig);

/* Start a process (exec.c); returns with a reference the caller drops. */
struct proc_start {
	char *const *argv;
	const struct box_kv *env;   /* request env, on top of sandbox env */
	size_t nenv;
	const char *cwd;
	bool want_stdin;
	bool want_events;           /* fd 3 event pipe (drivers) */
	bool background;
	bool consume;
	bool internal;
	int64_t timeout_ms;         /* <= 0: none */
	uint64_t limit;
	const char *cmd;
	const char *tag;
};
int proc_start(struct sandbox *sb, const struct proc_start *ps,
	       struct proc **out, struct aj_err *e);
/* Fill figures of a finished proc into res (not the output). */
void proc_fill_result(struct proc *p, struct box_exec_result *res);
/* Read the cgroup OOM counter once after a SIGKILL death. */
void proc_check_oom(struct proc *p);
/* Done: EXITED/FAILED and all pipes closed, or sandbox dead. */
bool proc_done(const struct proc *p);
void sb_remove_proc(struct sandbox *sb, struct proc *p);
/* Make room for need more bytes of retained output by forgetting the
 * oldest finished background processes (sb->lock held). */
void sb_evict_finished(struct sandbox *sb, uint64_t need);

/* A new sandbox object with a fresh id and tokens, not yet started. */
struct sandbox *sb_alloc(struct box_mgr *m, const char *tenant,
			 const struct box_shape *shape);
/* Build its jail through the launcher, pin its root, hand its socket to
 * the pump. */
int sb_spawn(struct box_mgr *m, struct sandbox *sb, struct aj_err *e);
/* Tear its jail down and release its host id; it stays allocated for the
 * references still held.  For sandboxes outside the table (pool). */
void sb_discard(struct box_mgr *m, struct sandbox *sb);
void box_shape_limits(const struct box_shape *s, struct jail_limits *lim);

/* Code contexts (contexts.c): free the list when the sandbox goes. */
void sb_free_contexts(struct sandbox *sb);
/* Stop and forget every context (a pooled sandbox given a custom env). */
void sb_drop_contexts(struct sandbox *sb);
/* Start the default python context ahead of the first cell (pool). */
int sb_warm_python(struct sandbox *sb, struct aj_err *e);

/* Idempotency keys (idem.c).  idem_begin: *found with the stored answer
 * in *body (caller frees), or the key is now ours until idem_end, which
 * stores body (if not NULL: NULL means the request failed and a retry may
 * run) and lets waiting retries go. */
int idem_begin(struct box_mgr *m, const char *tenant, const char *key,
	       const char *scope, char **body, bool *found, struct aj_err *e);
void idem_end(struct box_mgr *m, const char *tenant, const char *key,
	      const char *scope, int status, const char *body);

/* Destroy a sandbox: kill its jail, end its row, audit it (manager.c). */
void sb_destroy(struct box_mgr *m, struct sandbox *sb, const char *reason);

#endif
