/* store.c - opening the state database, its schema and migrations, and the
 * helpers the other store_*.c files share.
 *
 * The database is <state>/agentjail.db: WAL mode (readers never block the
 * writer, so `agentjail keys list` works beside a busy server),
 * synchronous=FULL (every commit is on disk before the call returns) unless
 * the owner chose process durability (store_set_durability), a
 * busy timeout for the moments another process holds the write lock, and
 * foreign keys on.  PRAGMA user_version is the schema version: migrations[i]
 * takes a database from version i to i + 1. */
#include "box/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/crypto.h"

#define DB_NAME "agentjail.db"
#define BUSY_TIMEOUT_MS 5000

/* Version 1.  STRICT tables, so a value of the wrong type can never be
 * stored (by us or by hand).  Audit records and exec traces are described
 * in store_audit.c; audit_head holds the seq and hash of the newest record,
 * so that a deleted tail of the log is noticed too. */
static const char schema_v1[] =
	"CREATE TABLE keys ("
	" id TEXT PRIMARY KEY,"
	" secret_hash TEXT NOT NULL UNIQUE,"
	" tenant TEXT NOT NULL,"
	" role INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" revoked_ms INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE TABLE sandboxes ("
	" id TEXT PRIMARY KEY,"
	" tenant TEXT NOT NULL,"
	" key_id TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" template_id TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" ended_ms INTEGER NOT NULL DEFAULT 0,"
	" end_reason TEXT NOT NULL DEFAULT '',"
	" spec_json TEXT,"
	" metadata_json TEXT"
	") STRICT;"
	"CREATE INDEX sandboxes_by_tenant ON sandboxes(tenant, state);"
	"CREATE INDEX sandboxes_by_state ON sandboxes(state);"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY,"
	" ts_ms INTEGER NOT NULL,"
	" key_id TEXT NOT NULL,"
	" tenant TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" sandbox_id TEXT NOT NULL,"
	" outcome TEXT NOT NULL,"
	" detail TEXT,"
	" prev_hash TEXT NOT NULL,"
	" hash TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX audit_by_sandbox ON audit(sandbox_id, seq);"
	"CREATE INDEX audit_by_tenant ON audit(tenant, seq);"
	"CREATE TABLE audit_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL,"
	" hash TEXT NOT NULL"
	") STRICT;"
	"CREATE TABLE exec_traces ("
	" exec_id TEXT PRIMARY KEY,"
	" audit_seq INTEGER NOT NULL UNIQUE REFERENCES audit(seq),"
	" sandbox_id TEXT NOT NULL,"
	" tenant TEXT NOT NULL,"
	" key_id TEXT NOT NULL,"
	" command TEXT,"
	" started_ms INTEGER NOT NULL,"
	" exit_code INTEGER NOT NULL,"
	" signal INTEGER NOT NULL,"
	" wall_ms INTEGER NOT NULL,"
	" cpu_ms INTEGER NOT NULL,"
	" max_rss_kb INTEGER NOT NULL,"
	" stdout_bytes INTEGER NOT NULL,"
	" stderr_bytes INTEGER NOT NULL,"
	" stdout_truncated INTEGER NOT NULL,"
	" stderr_truncated INTEGER NOT NULL,"
	" timed_out INTEGER NOT NULL,"
	" oom_killed INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX exec_traces_by_sandbox"
	" ON exec_traces(sandbox_id, started_ms);"
	"CREATE TABLE idempotency ("
	" tenant TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" scope TEXT NOT NULL,"
	" status INTEGER NOT NULL,"
	" body TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" PRIMARY KEY (tenant, key)"
	") STRICT;"
	"CREATE INDEX idempotency_by_age ON idempotency(created_ms);";

static const char *const migrations[] = { schema_v1 };
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- shared helpers ------------------------------------------------- */

void store_lock(struct store *st)
{
	pthread_mutex_lock(&st->mu);
}

void store_unlock(struct store *st)
{
	pthread_mutex_unlock(&st->mu);
}

int store_fail(struct store *st, int rc, const char *what, struct aj_err *e)
{
	enum aj_code code = AJ_EINTERNAL;
	switch (rc & 0xff) {
	case SQLITE_FULL: code = AJ_ENOSPC; break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: code = AJ_EUNAVAIL; break;
	}
	return aj_err_set(e, code, sqlite3_system_errno(st->db), "%s: %s", what,
			  sqlite3_errmsg(st->db));
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql, struct aj_err *e)
{
	for (size_t i = 0; i < st->ncached; i++)
		if (st->cache[i].sql == sql)
			return st->cache[i].stmt;
	if (st->ncached == STORE_STMT_CACHE) {
		aj_err_set(e, AJ_EINTERNAL, 0, "store: statement cache full");
		return NULL;
	}
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				    &s, NULL);
	if (rc != SQLITE_OK) {
		store_fail(st, rc, "prepare", e);
		return NULL;
	}
	st->cache[st->ncached].sql = sql;
	st->cache[st->ncached].stmt = s;
	st->ncached++;
	return s;
}

void store_release(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int exec_cached(struct store *st, const char *sql, const char *what,
		       struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql, e);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		store_fail(st, rc, what, e);
	store_release(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_begin_read[] = "BEGIN";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

int store_begin(struct store *st, struct aj_err *e)
{
	return exec_cached(st, sql_begin, "begin transaction", e);
}

int store_begin_read(struct store *st, struct aj_err *e)
{
	return exec_cached(st, sql_begin_read, "begin transaction", e);
}

int store_commit(struct store *st, struct aj_err *e)
{
	if (exec_cached(st, sql_commit, "commit", e) == 0)
		return 0;
	store_rollback(st);
	return -1;
}

void store_rollback(struct store *st)
{
	/* Nothing useful to report if this fails: SQLite has then already
	 * rolled the transaction back itself. */
	if (!sqlite3_get_autocommit(st->db))
		exec_cached(st, sql_rollback, "rollback", NULL);
}

int store_bind_text(sqlite3_stmt *s, int idx, const char *v)
{
	if (!v)
		return sqlite3_bind_null(s, idx);
	return sqlite3_bind_text(s, idx, v, -1, SQLITE_STATIC);
}

int store_bind_int(sqlite3_stmt *s, int idx, int64_t v)
{
	return sqlite3_bind_int64(s, idx, v);
}

void store_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
	const unsigned char *v = sqlite3_column_text(s, col);
	size_t n = v ? (size_t)sqlite3_column_bytes(s, col) : 0;
	if (n >= cap)
		n = cap - 1;
	if (v && n)
		memcpy(dst, v, n);
	dst[n] = '\0';
}

char *store_col_dup(sqlite3_stmt *s, int col, bool *oom)
{
	const unsigned char *v = sqlite3_column_text(s, col);
	if (!v) {
		/* NULL is SQL NULL, or SQLite out of memory converting. */
		if (sqlite3_column_type(s, col) != SQLITE_NULL)
			*oom = true;
		return NULL;
	}
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	char *d = malloc(n + 1);
	if (!d) {
		*oom = true;
		return NULL;
	}
	memcpy(d, v, n);
	d[n] = '\0';
	return d;
}

int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool store_fits(const char *s, size_t cap)
{
	return s && strnlen(s, cap) < cap;
}

bool store_tenant_valid(const char *t)
{
	size_t n = t ? strnlen(t, 65) : 0;
	if (n < 1 || n > 64)
		return false;
	return strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") == n;
}

/* ---- opening -------------------------------------------------------- */

/* mkdir -p with mode 0700 for what it creates; an existing directory is
 * left as it is. */
static int make_dirs(const char *dir, struct aj_err *e)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return aj_err_set(e, AJ_EINVAL, 0, "bad state directory");
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return aj_err_sys(e, AJ_EINTERNAL, "mkdir %s", path);
		path[i] = c;
	}
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return aj_err_sys(e, AJ_EINTERNAL, "%s", dir);
	if (!S_ISDIR(sb.st_mode))
		return aj_err_set(e, AJ_EINVAL, ENOTDIR, "%s: not a directory",
				  dir);
	return 0;
}

/* Create the database file with mode 0600 before SQLite opens it (SQLite
 * would use 0644); its -wal and -shm files inherit the mode. */
static int create_db_file(const char *path, struct aj_err *e)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "open %s", path);
	close(fd);
	return 0;
}

static const char sql_wal[] = "PRAGMA journal_mode=WAL";
static const char sql_settings[] = "PRAGMA synchronous=FULL;"
				   "PRAGMA foreign_keys=ON;";

/* Switching a new database to WAL needs an exclusive lock, and SQLite
 * reports SQLITE_BUSY for it without calling the busy handler when
 * another process is opening the same new database; so retry here, for
 * as long as the busy timeout would have waited. */
static int step_retrying(sqlite3_stmt *s)
{
	const struct timespec pause = { 0, 10 * 1000 * 1000 };
	int rc = sqlite3_step(s);
	for (int i = 0; i < BUSY_TIMEOUT_MS / 10; i++) {
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
		sqlite3_reset(s);
		nanosleep(&pause, NULL);
		rc = sqlite3_step(s);
	}
	return rc;
}

static int configure(struct store *st, struct aj_err *e)
{
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* Hand-edited schemas (writable_schema and the like) are refused. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_stmt *s = store_stmt(st, sql_wal, e);
	if (!s)
		return -1;
	int rc = step_retrying(s);
	bool wal = rc == SQLITE_ROW &&
		   sqlite3_stricmp((const char *)sqlite3_column_text(s, 0),
				   "wal") == 0;
	if (rc != SQLITE_ROW)
		store_fail(st, rc, "journal_mode", e);
	else if (!wal)
		aj_err_set(e, AJ_EINTERNAL, 0, "cannot use WAL mode here");
	store_release(s);
	if (!wal)
		return -1;
	rc = sqlite3_exec(st->db, sql_settings, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, "settings", e);
	return 0;
}

static const char sql_user_version[] = "PRAGMA user_version";

static int read_version(struct store *st, int *v, struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_user_version, e);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(s, 0);
	else
		store_fail(st, rc, "read schema version", e);
	store_release(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Apply the migrations from version `from` on, inside the caller's
 * transaction. */
static int apply_migrations(struct store *st, int from, struct aj_err *e)
{
	for (int v = from; v < SCHEMA_VERSION; v++) {
		int rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return store_fail(st, rc, "schema migration", e);
	}
	/* PRAGMA takes no parameters; the number is our own constant. */
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", SCHEMA_VERSION);
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, "set schema version", e);
	return 0;
}

static int migrate(struct store *st, struct aj_err *e)
{
	int v;
	if (read_version(st, &v, e) != 0)
		return -1;
	if (v == SCHEMA_VERSION)
		return 0;
	/* Under the write lock, read again: another process may have
	 * migrated between the two reads. */
	if (store_begin(st, e) != 0)
		return -1;
	if (read_version(st, &v, e) != 0)
		goto fail;
	if (v > SCHEMA_VERSION) {
		aj_err_set(e, AJ_EUNSUPPORTED, 0,
			   "database schema version %d is newer than this "
			   "program's (%d)", v, SCHEMA_VERSION);
		goto fail;
	}
	if (apply_migrations(st, v, e) != 0)
		goto fail;
	return store_commit(st, e);
fail:
	store_rollback(st);
	return -1;
}

static int open_db(struct store *st, const char *state_dir, struct aj_err *e)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", state_dir, DB_NAME) >=
	    (int)sizeof(path))
		return aj_err_set(e, AJ_EINVAL, 0, "state path too long");
	if (make_dirs(state_dir, e) != 0 || create_db_file(path, e) != 0)
		return -1;
	int rc = sqlite3_open_v2(path, &st->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		if (!st->db)
			return aj_err_set(e, AJ_EINTERNAL, 0,
					  "open %s: out of memory", path);
		store_fail(st, rc, path, e);
		return -1;
	}
	if (configure(st, e) != 0 || migrate(st, e) != 0)
		return aj_err_wrap(e, "%s", path);
	return 0;
}

int store_open(const char *state_dir, struct store **out, struct aj_err *e)
{
	*out = NULL;
	if (aj_crypto_init() != 0)
		return aj_err_set(e, AJ_EINTERNAL, 0, "libsodium init failed");
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	pthread_mutex_init(&st->mu, NULL);
	if (open_db(st, state_dir, e) != 0) {
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

int store_set_durability(struct store *st, enum store_durability d,
			 struct aj_err *e)
{
	static const char sql_normal[] = "PRAGMA synchronous=NORMAL";
	static const char sql_full[] = "PRAGMA synchronous=FULL";
	store_lock(st);
	int rc = sqlite3_exec(st->db, d == STORE_DURABLE_POWER ? sql_full : sql_normal,
			      NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		store_fail(st, rc, "synchronous", e);
	store_unlock(st);
	return rc == SQLITE_OK ? 0 : -1;
}

const char *store_durability_name(enum store_durability d)
{
	return d == STORE_DURABLE_POWER ? "power" : "process";
}

int store_durability_parse(const char *s, enum store_durability *out)
{
	if (strcmp(s, "process") == 0)
		*out = STORE_DURABLE_PROCESS;
	else if (strcmp(s, "power") == 0)
		*out = STORE_DURABLE_POWER;
	else
		return -1;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->ncached; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

int store_explain_unchanged(struct store *st, const char *exists_sql,
			    const char *what, const char *id,
			    const char *conflict, struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, exists_sql, e);
	if (!s)
		return -1;
	int rc = store_bind_text(s, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		aj_err_set(e, AJ_ECONFLICT, 0, "%s %s %s", what, id, conflict);
	else if (rc == SQLITE_DONE)
		aj_err_set(e, AJ_ENOTFOUND, 0, "no %s %s", what, id);
	else
		store_fail(st, rc, "look up a row", e);
	store_release(s);
	return -1;
}
