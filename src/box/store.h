/* store.h - the sandbox manager's durable state: one SQLite database in WAL
 * mode under the state dir.  Sandboxes, API keys, exec traces, the
 * hash-chained audit log and idempotency records.
 *
 * Thread-safe: one connection behind a mutex.  Every write is committed
 * before returning, so what a client saw acknowledged survives kill -9
 * (and, with STORE_DURABLE_POWER, a power loss too).  Other processes (the
 * `keys` and `audit` commands) may open the same database while the
 * server runs.
 */
#ifndef AJ_BOX_STORE_H
#define AJ_BOX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct store;

int store_open(const char *state_dir, struct store **out, struct aj_err *e);
void store_close(struct store *st);

/* What a returned write survives.  Both commit into the write-ahead log
 * before returning, so a killed process (kill -9, a crash) loses nothing
 * acknowledged:
 *   PROCESS  synchronous=NORMAL: no fsync per commit (the WAL is synced at
 *            checkpoints); an OS crash or power loss may lose the last
 *            commits, never consistency.
 *   POWER    synchronous=FULL: the WAL is fsynced at every commit (costs
 *            an fdatasync, 0.3-1 ms here, per write).
 * store_open starts at POWER (the CLI tools write rarely); the server
 * chooses with --durability. */
enum store_durability { STORE_DURABLE_PROCESS, STORE_DURABLE_POWER };
int store_set_durability(struct store *st, enum store_durability d,
			 struct aj_err *e);
const char *store_durability_name(enum store_durability d);
int store_durability_parse(const char *s, enum store_durability *out);

/* ---- API keys ------------------------------------------------------- */

enum role { ROLE_VIEWER = 0, ROLE_USER = 1, ROLE_ADMIN = 2 };
const char *role_name(enum role r);
int role_parse(const char *s, enum role *out); /* 0 or -1 */

#define KEY_ID_LEN 16     /* "key_" + 12 hex */
#define KEY_SECRET_LEN 44 /* "aj_" + 40 hex + NUL fits in 48 */

struct key_info {
	char id[KEY_ID_LEN + 1];
	char tenant[65];
	enum role role;
	int64_t created_ms;
	int64_t revoked_ms; /* 0 = active */
};

/* Create a key.  The secret ("aj_" + 40 lowercase hex) is returned once in
 * secret_out and stored only as a hash.  The same key is also accepted in
 * E2B form: "e2b_" + the same 40 hex (the E2B SDKs require ^e2b_[0-9a-f]+$).
 * Tenant: 1-64 chars of [A-Za-z0-9_.-]. */
int store_key_create(struct store *st, const char *tenant, enum role role,
		     char secret_out[48], struct key_info *out,
		     struct aj_err *e);

/* Look up an active key by its secret (either form).  Constant-time
 * comparison of the stored hash.  AJ_EAUTH if unknown or revoked. */
int store_key_auth(struct store *st, const char *secret, struct key_info *out,
		   struct aj_err *e);

/* A key by its id, active or revoked (see revoked_ms).  AJ_ENOTFOUND if
 * there is no such key.  Reads the database every time, so a revocation
 * by another process (`agentjail keys revoke`) is seen at once. */
int store_key_get(struct store *st, const char *id, struct key_info *out,
		  struct aj_err *e);

/* All keys (active and revoked), newest first; caller frees *out. */
int store_key_list(struct store *st, struct key_info **out, size_t *n,
		   struct aj_err *e);
int store_key_revoke(struct store *st, const char *id, struct aj_err *e);
int store_key_count(struct store *st, int64_t *n, struct aj_err *e);
/* Revoked keys so far: it only grows (a key is never un-revoked or
 * deleted), so a change tells a poller that some key was revoked, by any
 * process. */
int store_key_revoked_count(struct store *st, int64_t *n, struct aj_err *e);

/* ---- sandboxes ------------------------------------------------------ */

struct sandbox_row {
	char id[40];
	char tenant[65];
	char key_id[KEY_ID_LEN + 1];
	char state[16];        /* "running", "terminated" */
	char template_id[64];
	int64_t created_ms;
	int64_t expires_ms;
	int64_t ended_ms;      /* 0 while running */
	char end_reason[128];  /* "destroyed", "expired", "server restarted" ... */
	char *spec_json;       /* limits, env, network: opaque to the store */
	char *metadata_json;   /* {"k":"v"} */
};
void sandbox_row_free(struct sandbox_row *r); /* frees the strings only */

int store_sandbox_insert(struct store *st, const struct sandbox_row *r,
			 struct aj_err *e);
int store_sandbox_get(struct store *st, const char *id, struct sandbox_row *out,
		      struct aj_err *e); /* AJ_ENOTFOUND */
int store_sandbox_set_expiry(struct store *st, const char *id,
			     int64_t expires_ms, struct aj_err *e);
int store_sandbox_end(struct store *st, const char *id, int64_t ended_ms,
		      const char *reason, struct aj_err *e);
/* tenant NULL = all tenants; state NULL = any state. */
int store_sandbox_list(struct store *st, const char *tenant, const char *state,
		       struct sandbox_row **out, size_t *n, struct aj_err *e);
int store_sandbox_count_running(struct store *st, const char *tenant,
				int64_t *n, struct aj_err *e);

/* ---- exec traces ---------------------------------------------------- */

struct exec_trace {
	char exec_id[40];
	char sandbox_id[40];
	char tenant[65];
	char key_id[KEY_ID_LEN + 1];
	const char *command;   /* as given (argv joined or the shell string) */
	int64_t started_ms;
	int exit_code;
	int signal;
	int64_t wall_ms;
	int64_t cpu_ms;
	int64_t max_rss_kb;
	int64_t stdout_bytes;
	int64_t stderr_bytes;
	bool stdout_truncated;
	bool stderr_truncated;
	bool timed_out;
	bool oom_killed;
};

/* ---- audit log ------------------------------------------------------ */

struct audit_rec {
	int64_t seq;           /* assigned by the store */
	int64_t ts_ms;
	char key_id[KEY_ID_LEN + 1];
	char tenant[65];
	char action[48];       /* "sandbox.create", "sandbox.exec", "key.revoke" */
	char sandbox_id[40];
	char outcome[32];      /* "ok" or an error code name */
	char *detail;          /* JSON text, may be NULL; owned by caller */
	char hash[65];         /* hex sha256(prev_hash || canonical record) */
};

/* Append one audit record, and (if trace is not NULL) the exec trace, in
 * one synchronous transaction.  rec->seq and rec->hash are filled in. */
int store_audit_append(struct store *st, struct audit_rec *rec,
		       const struct exec_trace *trace, struct aj_err *e);

struct audit_filter {
	const char *tenant;     /* NULL = all */
	const char *sandbox_id; /* NULL = all */
	int64_t since_ms;       /* 0 = from the start */
	int64_t after_seq;      /* 0 = from the start */
	int limit;              /* <= 0: 100; capped at 1000 */
};
/* Oldest first.  Caller frees with audit_recs_free. */
int store_audit_list(struct store *st, const struct audit_filter *f,
		     struct audit_rec **out, size_t *n, struct aj_err *e);
void audit_recs_free(struct audit_rec *recs, size_t n);

/* Walk the chain.  Returns 0 and *bad_seq = 0 if intact, else *bad_seq is
 * the first record whose hash or link does not verify (or the first gap in
 * the sequence) and why describes it.  *checked = records walked. */
int store_audit_verify(struct store *st, int64_t *checked, int64_t *bad_seq,
		       char why[128], struct aj_err *e);

/* Exec traces of a sandbox, newest first (for GET .../execs). */
int store_exec_list(struct store *st, const char *sandbox_id, int limit,
		    struct exec_trace **out, char ***commands, size_t *n,
		    struct aj_err *e);

/* ---- idempotency ---------------------------------------------------- */

/* A retried request with the same (tenant, key) returns the stored first
 * response.  scope names the operation ("create", "exec:<sandbox>") so a
 * key reused for a different operation is a conflict. */
int store_idem_get(struct store *st, const char *tenant, const char *key,
		   const char *scope, int *status, char **body, bool *found,
		   struct aj_err *e); /* AJ_ECONFLICT if scope differs */
int store_idem_put(struct store *st, const char *tenant, const char *key,
		   const char *scope, int status, const char *body,
		   struct aj_err *e);

#endif
