/* box.h - the sandbox manager: what every front end (REST, MCP, E2B, CLI)
 * calls.  It knows nothing of HTTP, MCP or E2B.
 *
 * A sandbox is a jail held open with a supervisor as its PID 1; commands,
 * background processes and code contexts run inside it until it is
 * destroyed or expires.  Every call takes the caller's identity: the
 * manager scopes lookups to the caller's tenant (another tenant's sandbox
 * is "not found"), checks the role, and writes the audit log.
 *
 * All functions are thread-safe.  Errors come back in an aj_err.
 */
#ifndef AJ_BOX_H
#define AJ_BOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "box/store.h"
#include "jail/jail.h"
#include "util/err.h"

struct box_mgr;

struct box_shape {
	uint64_t memory_bytes;
	uint32_t cpu_millis;
	uint64_t pids;
	uint64_t disk_bytes;
	uint64_t disk_inodes;
	bool net_host; /* false: no network (the only choice the API offers) */
};

struct box_config {
	const char *state_dir;
	struct box_shape default_shape;
	struct box_shape max_shape;      /* upper bounds a caller may ask for */
	int64_t default_timeout_s;       /* sandbox lifetime (300) */
	int64_t max_timeout_s;           /* operator's cap (86400) */
	int64_t max_sandboxes_per_tenant;
	uint64_t default_output_limit;   /* per stream, per command (1M) */
	uint64_t max_output_limit;
	int64_t default_exec_timeout_ms; /* 60000 */
	enum store_durability durability; /* of acknowledged writes (process) */
	int pool_size;                   /* warm sandboxes of default shape */
	bool python_warm;                /* warm a python context in pooled ones */
	unsigned require;                /* protections (1u << JAIL_PROT_x) the
					    host must offer, or open fails */
};
void box_config_defaults(struct box_config *c);

/* Must be called before the process starts any thread: it forks the
 * single-threaded launcher that builds jails.  Marks sandboxes left from a
 * previous run as terminated and sweeps their leftovers.  Looks at what
 * the host offers first (jail_host_check): AJ_EUNSUPPORTED if a
 * protection of cfg->require is missing. */
int box_mgr_open(const struct box_config *cfg, struct box_mgr **out,
		 struct aj_err *e);
/* What the host offered when the manager opened. */
const struct jail_host *box_mgr_host(struct box_mgr *m);
/* Destroys every sandbox (reason "server stopped") and frees everything. */
void box_mgr_close(struct box_mgr *m);
struct store *box_mgr_store(struct box_mgr *m);

struct box_caller {
	char key_id[KEY_ID_LEN + 1];
	char tenant[65];
	enum role role;
	/* Not a stored API key: the --no-auth caller, the local MCP server.
	 * Access tokens it obtains are not checked against the key store. */
	bool keyless;
};
/* Authenticate an API key secret (native or E2B form).  Reads the key
 * store every time: a key revoked by any process fails at once. */
int box_auth(struct box_mgr *m, const char *secret, struct box_caller *out,
	     struct aj_err *e);
/* Is the caller's key still active?  Keyless callers always are.  For
 * holders of a caller copy (sessions) that must notice a revocation. */
bool box_caller_active(struct box_mgr *m, const struct box_caller *c);
/* How many keys were ever revoked (by this process or any other), or -1
 * if the store cannot say now: a cheap poll that tells holders of caller
 * copies when to ask box_caller_active. */
int64_t box_key_revocations(struct box_mgr *m);

/* ---- access tokens ---------------------------------------------------- */
/* Per-sandbox access tokens (E2B's envd and traffic tokens) stand in for
 * an API key on the sandbox-scoped routes.  Each is bound to the key that
 * obtained it: it acts with that key's identity, tenant and role, the
 * audit log names that key, and it stops working the moment the key is
 * revoked (checked against the key store on every use).  Only user and
 * admin keys of the sandbox's own tenant obtain tokens; the same key
 * always gets the same tokens for a sandbox, and they die with it.
 * Tokens are derived (HMAC under a per-sandbox random key that never
 * leaves the manager's memory), never stored. */
enum box_token { BOX_TOKEN_ENVD, BOX_TOKEN_TRAFFIC };
#define BOX_TOKEN_SIZE 64 /* "<key id>.<40 hex>" and the NUL fit */
struct box_tokens {
	char envd[BOX_TOKEN_SIZE];
	char traffic[BOX_TOKEN_SIZE];
};
/* AJ_EFORBIDDEN for a viewer or a key of another tenant (an admin of
 * another tenant sees the sandbox but gets no tokens); AJ_ENOTFOUND if
 * the caller cannot see a running sandbox of that id. */
int box_token_issue(struct box_mgr *m, const struct box_caller *c,
		    const char *id, struct box_tokens *out, struct aj_err *e);
/* The caller a token acts as.  Constant-time; AJ_EAUTH if the token is
 * wrong or its key was revoked, AJ_ENOTFOUND if there is no such running
 * sandbox. */
int box_auth_sandbox(struct box_mgr *m, const char *id, enum box_token kind,
		     const char *token, struct box_caller *out,
		     struct aj_err *e);

/* ---- sandboxes ------------------------------------------------------ */

struct box_kv {
	char *key;
	char *value;
};

struct box_create {
	bool has_shape[5];             /* which fields of shape were given */
	struct box_shape shape;        /* order: memory, cpus, pids, disk, inodes */
	int64_t timeout_s;             /* 0 = default */
	const struct box_kv *env;      /* applied to every command */
	size_t nenv;
	const struct box_kv *metadata;
	size_t nmeta;
	const char *template_id;       /* recorded, informational */
	const char *idempotency_key;   /* NULL = none */
};
enum { BOX_SHAPE_MEMORY, BOX_SHAPE_CPUS, BOX_SHAPE_PIDS, BOX_SHAPE_DISK,
       BOX_SHAPE_INODES };

struct box_info {
	char id[40];
	char tenant[65];
	char state[16];          /* "running" | "terminated" */
	char template_id[64];
	int64_t created_ms;
	int64_t expires_ms;
	int64_t ended_ms;
	char end_reason[128];
	struct box_shape shape;
	struct box_kv *metadata; /* owned; free with box_info_free */
	size_t nmeta;
	struct box_kv *env;
	size_t nenv;
};
void box_info_free(struct box_info *i);
void box_infos_free(struct box_info *v, size_t n);

int box_create(struct box_mgr *m, const struct box_caller *c,
	       const struct box_create *req, struct box_info *out,
	       struct aj_err *e);
int box_get(struct box_mgr *m, const struct box_caller *c, const char *id,
	    struct box_info *out, struct aj_err *e);
/* What a running sandbox uses now, read from its cgroups by the server
 * (figures the sandbox cannot forge): memory now and at its peak, CPU
 * time, processes, OOM kills.  AJ_ENOTFOUND unless running and visible
 * to c; AJ_EUNSUPPORTED where the host gave it no cgroup. */
int box_usage(struct box_mgr *m, const struct box_caller *c, const char *id,
	      struct jail_stats *out, struct aj_err *e);

struct box_filter {
	const char *state;            /* NULL = running only; "all" = any */
	const struct box_kv *metadata; /* every pair must match */
	size_t nmeta;
};
int box_list(struct box_mgr *m, const struct box_caller *c,
	     const struct box_filter *f, struct box_info **out, size_t *n,
	     struct aj_err *e);
int box_destroy(struct box_mgr *m, const struct box_caller *c, const char *id,
		struct aj_err *e);
/* New lifetime from now, capped at the operator's maximum. */
int box_set_timeout(struct box_mgr *m, const struct box_caller *c,
		    const char *id, int64_t timeout_s, struct box_info *out,
		    struct aj_err *e);

/* ---- commands --------------------------------------------------------- */

struct box_exec {
	char *const *argv;       /* either argv ... */
	const char *command;     /* ... or a shell string run by /bin/bash -c */
	const struct box_kv *env;
	size_t nenv;
	const char *cwd;         /* NULL = /workspace */
	const char *stdin_data;  /* NULL = /dev/null (unless keep_stdin) */
	size_t stdin_len;
	bool keep_stdin;         /* background: leave a stdin pipe open */
	int64_t timeout_ms;      /* 0 = default; < 0 = none (background only) */
	uint64_t output_limit;   /* 0 = default */
	bool background;
	const char *tag;         /* free-form label (E2B) */
	const char *idempotency_key;
};

struct box_exec_result {
	char exec_id[40];
	pid_t pid;               /* inside the sandbox */
	int exit_code;           /* status, or 128+signal; -1 if it never ran */
	int signal;
	bool timed_out;
	bool oom_killed;
	int64_t wall_ms;
	int64_t cpu_ms;
	int64_t max_rss_kb;
	char *out[2];            /* stdout, stderr (malloc'd, NUL-terminated) */
	size_t out_len[2];
	bool truncated[2];
	char *error;             /* start failure ("no such file"), or NULL */
};
void box_exec_result_free(struct box_exec_result *r);

enum box_stream { BOX_STDOUT = 0, BOX_STDERR = 1 };

/* Streaming: called from the exec's own thread as output is produced.
 * Return non-zero to stop listening (the command keeps running unless the
 * caller also signals it). */
struct box_sink {
	int (*on_start)(void *ctx, pid_t pid);
	int (*on_output)(void *ctx, enum box_stream s, const char *data,
			 size_t len);
	void *ctx;
};

/* Foreground: run to completion (or timeout) and fill *res.  With
 * req->background, return as soon as the process started (res->pid set,
 * nothing else) and let it run; see box_proc_*.  A client-visible result
 * (even a failing command) returns 0; -1 means the request itself failed. */
int box_exec(struct box_mgr *m, const struct box_caller *c, const char *id,
	     const struct box_exec *req, const struct box_sink *sink,
	     struct box_exec_result *res, struct aj_err *e);

/* ---- background processes ----------------------------------------------- */

struct box_proc_info {
	pid_t pid;
	char exec_id[40];
	char tag[64];
	char *cmd;                /* command line as given (owned) */
	char **argv;              /* owned, NULL-terminated */
	char *cwd;                /* owned */
	struct box_kv *env;       /* owned */
	size_t nenv;
	bool running;
	int exit_code;
	int signal;
	bool timed_out;
	bool oom_killed;
	int64_t started_ms;
	int64_t wall_ms;
	char *out[2];             /* output so far (owned) */
	size_t out_len[2];
	bool truncated[2];
};
void box_proc_info_free(struct box_proc_info *p);
void box_proc_infos_free(struct box_proc_info *v, size_t n);

/* Processes started through the manager that are still running, plus
 * finished background ones not yet collected (with_output: copy output). */
int box_proc_list(struct box_mgr *m, const struct box_caller *c,
		  const char *id, struct box_proc_info **out, size_t *n,
		  struct aj_err *e);
int box_proc_get(struct box_mgr *m, const struct box_caller *c,
		 const char *id, pid_t pid, struct box_proc_info *out,
		 struct aj_err *e);
/* sig: a signal number; the whole process group gets it. */
int box_proc_signal(struct box_mgr *m, const struct box_caller *c,
		    const char *id, pid_t pid, int sig, struct aj_err *e);
/* SIGKILL every process of the sandbox except its supervisor: background
 * processes, daemons, code-context interpreters (their next cell starts a
 * fresh one).  The way out of a fork bomb's leftovers holding the pids
 * limit.  Done from outside the sandbox (the launcher freezes its cgroup
 * and kills the members): it works when the supervisor does not answer,
 * and fails (AJ_EUNAVAIL) rather than report a kill that did not happen. */
int box_proc_kill_all(struct box_mgr *m, const struct box_caller *c,
		      const char *id, struct aj_err *e);
int box_proc_write_stdin(struct box_mgr *m, const struct box_caller *c,
			 const char *id, pid_t pid, const void *data,
			 size_t len, struct aj_err *e);
int box_proc_close_stdin(struct box_mgr *m, const struct box_caller *c,
			 const char *id, pid_t pid, struct aj_err *e);
/* Follow a process: sink gets output produced from now on (from_start:
 * everything retained since it started), returns when it exits (with the
 * final figures in *res), the sink asks to stop, or *cancel (if not NULL)
 * becomes true - polled at least once a second, so a follower whose client
 * left notices even while the process is silent.  The process runs on. */
int box_proc_follow(struct box_mgr *m, const struct box_caller *c,
		    const char *id, pid_t pid, bool from_start,
		    const struct box_sink *sink, const atomic_bool *cancel,
		    struct box_exec_result *res, struct aj_err *e);

/* ---- files ---------------------------------------------------------------- */
/* Paths are absolute or relative to /workspace, always resolved inside the
 * sandbox root (openat2 RESOLVE_IN_ROOT): no ".." or symlink escapes. */

enum box_ftype { BOX_FT_FILE, BOX_FT_DIR, BOX_FT_SYMLINK, BOX_FT_OTHER };

struct box_entry {
	char *name;           /* basename */
	char *path;           /* absolute path inside the sandbox */
	enum box_ftype type;
	uint64_t size;
	uint32_t mode;        /* permission bits */
	int64_t mtime_ms;
	char *symlink_target; /* NULL unless a symlink */
	uint32_t uid, gid;    /* as seen inside the sandbox */
};
void box_entry_free(struct box_entry *en);
void box_entries_free(struct box_entry *v, size_t n);

/* Open a regular file for reading: *fd (caller closes), *size. */
int box_file_open_read(struct box_mgr *m, const struct box_caller *c,
		       const char *id, const char *path, int *fd,
		       uint64_t *size, struct aj_err *e);

/* Streaming upload: open a temporary file beside path (creating missing
 * parent directories), write the body with box_upload_write, then
 * box_upload_commit renames it into place atomically (or _abort).  Writes
 * past the sandbox's disk quota fail with AJ_ENOSPC. */
struct box_upload;
int box_upload_begin(struct box_mgr *m, const struct box_caller *c,
		     const char *id, const char *path, struct box_upload **out,
		     struct aj_err *e);
int box_upload_write(struct box_upload *u, const void *data, size_t len,
		     struct aj_err *e);
int box_upload_commit(struct box_upload *u, struct box_entry *out,
		      struct aj_err *e); /* frees u */
void box_upload_abort(struct box_upload *u);   /* frees u */

int box_file_stat(struct box_mgr *m, const struct box_caller *c,
		  const char *id, const char *path, struct box_entry *out,
		  struct aj_err *e);
/* depth >= 1: entries of dir and, for depth > 1, of its subdirectories. */
int box_file_list(struct box_mgr *m, const struct box_caller *c,
		  const char *id, const char *dir, int depth,
		  struct box_entry **out, size_t *n, struct aj_err *e);
/* parents: create missing parents; AJ_EEXIST if it already exists. */
int box_file_mkdir(struct box_mgr *m, const struct box_caller *c,
		   const char *id, const char *path, bool parents,
		   struct box_entry *out, struct aj_err *e);
int box_file_rename(struct box_mgr *m, const struct box_caller *c,
		    const char *id, const char *from, const char *to,
		    struct box_entry *out, struct aj_err *e);
/* Removes files, symlinks and directory trees. */
int box_file_remove(struct box_mgr *m, const struct box_caller *c,
		    const char *id, const char *path, struct aj_err *e);

/* ---- code contexts ------------------------------------------------------------ */
/* A context is a long-lived interpreter inside the sandbox (python, node or
 * bash) whose state persists between cells.  Each sandbox has a default
 * context per language, created on first use. */

enum box_lang { BOX_LANG_PYTHON, BOX_LANG_JAVASCRIPT, BOX_LANG_BASH };
const char *box_lang_name(enum box_lang l);
int box_lang_parse(const char *s, enum box_lang *out); /* also "js", "sh" */

struct box_ctx_info {
	char id[40];
	enum box_lang language;
	char cwd[256];
	bool is_default;
	int execution_count;
};

int box_ctx_create(struct box_mgr *m, const struct box_caller *c,
		   const char *id, enum box_lang lang, const char *cwd,
		   struct box_ctx_info *out, struct aj_err *e);
int box_ctx_list(struct box_mgr *m, const struct box_caller *c,
		 const char *id, struct box_ctx_info **out, size_t *n,
		 struct aj_err *e);
/* Kill the interpreter and start a fresh one (state is lost). */
int box_ctx_restart(struct box_mgr *m, const struct box_caller *c,
		    const char *id, const char *ctx_id, struct aj_err *e);
int box_ctx_delete(struct box_mgr *m, const struct box_caller *c,
		   const char *id, const char *ctx_id, struct aj_err *e);

/* One rich result of a cell: a set of representations keyed by format
 * ("text", "html", "png" (base64), "svg", "markdown", "latex", "json",
 * "javascript", or anything else the driver reports). */
struct box_cell_item {
	struct box_kv *formats;
	size_t nformats;
	bool is_main;
};

struct box_cell_error {
	char *name;      /* "ZeroDivisionError", "KeyboardInterrupt" ... */
	char *value;
	char *traceback;
};

struct box_code {
	const char *code;
	enum box_lang language;   /* used when context_id is NULL */
	const char *context_id;   /* NULL: the sandbox's default for language */
	int64_t timeout_ms;       /* 0 = default; interrupts the cell */
	const struct box_kv *env; /* for this cell only */
	size_t nenv;
};

struct box_code_result {
	char context_id[40];
	struct box_cell_item *results;
	size_t nresults;
	char *out[2];             /* stdout, stderr of the cell */
	size_t out_len[2];
	bool truncated[2];
	struct box_cell_error *error; /* NULL if the cell succeeded */
	int execution_count;
	int64_t wall_ms;
	bool timed_out;           /* interrupted at the timeout */
	bool restarted;           /* the interpreter had died and was restarted:
				     earlier state is lost (see notice) */
	char *notice;             /* human sentence for the reply, or NULL */
};
void box_code_result_free(struct box_code_result *r);

/* Streaming; each returns non-zero to cancel (interrupt) the cell.
 * is_cancelled (optional) is polled while the cell is silent, so a
 * client that left is noticed within about a second. */
struct box_code_sink {
	int (*on_output)(void *ctx, enum box_stream s, const char *data,
			 size_t len);
	int (*on_result)(void *ctx, const struct box_cell_item *item);
	int (*on_error)(void *ctx, const struct box_cell_error *err);
	int (*is_cancelled)(void *ctx);
	void *ctx;
};

int box_code_run(struct box_mgr *m, const struct box_caller *c,
		 const char *id, const struct box_code *req,
		 const struct box_code_sink *sink, struct box_code_result *res,
		 struct aj_err *e);

/* ---- keys and audit (through the manager, so roles and the audit log
 * apply the same way to every front end) ---------------------------------- */

/* admin only.  secret_out receives the new key once. */
int box_key_create(struct box_mgr *m, const struct box_caller *c,
		   const char *tenant, enum role role, char secret_out[48],
		   struct key_info *out, struct aj_err *e);
int box_key_list(struct box_mgr *m, const struct box_caller *c,
		 struct key_info **out, size_t *n, struct aj_err *e);
int box_key_revoke(struct box_mgr *m, const struct box_caller *c,
		   const char *key_id, struct aj_err *e);
/* Any role; non-admins see their own tenant only (f->tenant is forced). */
int box_audit_list(struct box_mgr *m, const struct box_caller *c,
		   const struct audit_filter *f, struct audit_rec **out,
		   size_t *n, struct aj_err *e);

/* ---- metrics -------------------------------------------------------------- */

#define BOX_LAT_BUCKETS 12
extern const double box_lat_bounds_ms[BOX_LAT_BUCKETS]; /* upper bounds */

struct box_histogram {
	uint64_t count;
	double sum_ms;
	uint64_t buckets[BOX_LAT_BUCKETS]; /* cumulative, Prometheus style */
};

struct box_metrics {
	uint64_t sandboxes_active;
	uint64_t sandboxes_created;
	uint64_t sandboxes_destroyed;
	uint64_t sandboxes_expired;
	uint64_t execs_ok;        /* exit 0 */
	uint64_t execs_failed;    /* non-zero exit or signal */
	uint64_t execs_timed_out;
	uint64_t execs_oom;
	uint64_t execs_error;     /* could not start */
	uint64_t pool_hits;
	uint64_t pool_misses;
	struct box_histogram create_latency;
	struct box_histogram exec_latency;
};
void box_metrics_get(struct box_mgr *m, struct box_metrics *out);
/* Warm sandboxes ready in the pool now. */
int box_pool_ready(struct box_mgr *m);

#endif
