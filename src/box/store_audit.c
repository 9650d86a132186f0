/* store_audit.c - the hash-chained audit log and the exec traces.
 *
 * Every audit record stores hash = SHA-256(prev_hash || canonical), where
 * prev_hash is the 64 lowercase hex digits of the previous record's hash
 * (64 '0' for seq 1) and canonical is this exact byte string:
 *
 *   canonical = "ajaudit1" 25 * field
 *   field     = "~"                              if the value is NULL
 *             | <decimal byte length> ":" <bytes> ","   otherwise
 *
 * Each field is a netstring (or "~", which cannot start one), so the
 * encoding is prefix-free and two different records never serialize to the
 * same bytes.  Integers are written in decimal ('-' if negative, no leading
 * zeros, as SQLite prints them), booleans as 0 or 1.  The fields, in order:
 *
 *   1-8    the record: seq, ts_ms, key_id, tenant, action, sandbox_id,
 *          outcome, detail (NULL if none)
 *   9-25   its exec trace, all NULL if it has none: exec_id, sandbox_id,
 *          tenant, key_id, command (NULL if none), started_ms, exit_code,
 *          signal, wall_ms, cpu_ms, max_rss_kb, stdout_bytes, stderr_bytes,
 *          stdout_truncated, stderr_truncated, timed_out, oom_killed
 *
 * So a trace is covered by its record's hash: altering or deleting it
 * breaks the chain at that record.  audit_head holds the newest seq and
 * hash; appends continue from it, so deleting the newest records leaves a
 * gap that verification reports.  (Anyone able to write the database can
 * still recompute every hash after an edit: the chain detects tampering
 * by hand, it does not authenticate.) */
#include "box/store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"

#define CANON_TAG "ajaudit1"
#define CANON_FIELDS 25
#define GENESIS_HASH                                                        \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* The canonical fields of one record, as (pointer, length) pairs; a NULL
 * pointer is a NULL value.  num holds the text of integers. */
struct canon {
	const char *p[CANON_FIELDS];
	size_t n[CANON_FIELDS];
	char num[CANON_FIELDS][24];
};

static void canon_text(struct canon *c, int i, const char *s)
{
	c->p[i] = s;
	c->n[i] = s ? strlen(s) : 0;
}

static void canon_int(struct canon *c, int i, int64_t v)
{
	snprintf(c->num[i], sizeof(c->num[i]), "%" PRId64, v);
	canon_text(c, i, c->num[i]);
}

static void canon_hash(const char *prev_hash, const struct canon *c,
		       char out[AJ_SHA256_HEX_LEN + 1])
{
	struct aj_sha256 h;
	aj_sha256_init(&h);
	aj_sha256_update(&h, prev_hash, AJ_SHA256_HEX_LEN);
	aj_sha256_update(&h, CANON_TAG, strlen(CANON_TAG));
	for (int i = 0; i < CANON_FIELDS; i++) {
		if (!c->p[i]) {
			aj_sha256_update(&h, "~", 1);
			continue;
		}
		char len[24];
		int k = snprintf(len, sizeof(len), "%zu:", c->n[i]);
		aj_sha256_update(&h, len, (size_t)k);
		aj_sha256_update(&h, c->p[i], c->n[i]);
		aj_sha256_update(&h, ",", 1);
	}
	aj_sha256_final_hex(&h, out);
}

static void canon_from_rec(struct canon *c, const struct audit_rec *r,
			   const struct exec_trace *t)
{
	memset(c->p, 0, sizeof(c->p));
	canon_int(c, 0, r->seq);
	canon_int(c, 1, r->ts_ms);
	canon_text(c, 2, r->key_id);
	canon_text(c, 3, r->tenant);
	canon_text(c, 4, r->action);
	canon_text(c, 5, r->sandbox_id);
	canon_text(c, 6, r->outcome);
	canon_text(c, 7, r->detail);
	if (!t)
		return;
	canon_text(c, 8, t->exec_id);
	canon_text(c, 9, t->sandbox_id);
	canon_text(c, 10, t->tenant);
	canon_text(c, 11, t->key_id);
	canon_text(c, 12, t->command);
	const int64_t nums[] = {
		t->started_ms, t->exit_code, t->signal, t->wall_ms, t->cpu_ms,
		t->max_rss_kb, t->stdout_bytes, t->stderr_bytes,
		t->stdout_truncated, t->stderr_truncated, t->timed_out,
		t->oom_killed,
	};
	for (int i = 0; i < 12; i++)
		canon_int(c, 13 + i, nums[i]);
}

/* Columns 0..24 of s are the canonical fields, read as SQLite's text of
 * whatever is stored, so no edit of a value can go unnoticed. */
static void canon_from_row(struct canon *c, sqlite3_stmt *s)
{
	for (int i = 0; i < CANON_FIELDS; i++) {
		c->p[i] = (const char *)sqlite3_column_text(s, i);
		c->n[i] = (size_t)sqlite3_column_bytes(s, i);
	}
}

/* ---- appending ------------------------------------------------------ */

static bool rec_valid(const struct audit_rec *r)
{
	return store_fits(r->key_id, sizeof(r->key_id)) &&
	       store_fits(r->tenant, sizeof(r->tenant)) &&
	       r->action[0] && store_fits(r->action, sizeof(r->action)) &&
	       store_fits(r->sandbox_id, sizeof(r->sandbox_id)) &&
	       r->outcome[0] && store_fits(r->outcome, sizeof(r->outcome));
}

static bool trace_valid(const struct exec_trace *t)
{
	return t->exec_id[0] && store_fits(t->exec_id, sizeof(t->exec_id)) &&
	       store_fits(t->sandbox_id, sizeof(t->sandbox_id)) &&
	       store_fits(t->tenant, sizeof(t->tenant)) &&
	       store_fits(t->key_id, sizeof(t->key_id));
}

/* The newest record: audit_head, or (if that row is gone) the last row. */
static const char sql_head[] =
	"SELECT seq, hash FROM audit_head WHERE id = 1"
	" UNION ALL SELECT * FROM"
	" (SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1)"
	" LIMIT 1";

static int read_head(struct store *st, int64_t *seq, char hash[65],
		     struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_head, e);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	*seq = 0;
	memcpy(hash, GENESIS_HASH, AJ_SHA256_HEX_LEN + 1);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		store_col_copy(s, 1, hash, AJ_SHA256_HEX_LEN + 1);
	} else if (rc != SQLITE_DONE) {
		store_fail(st, rc, "read audit head", e);
	}
	store_release(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static const char sql_insert_rec[] =
	"INSERT INTO audit (seq, ts_ms, key_id, tenant, action, sandbox_id,"
	" outcome, detail, prev_hash, hash)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

static int insert_rec(struct store *st, const struct audit_rec *r,
		      const char *prev, struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_insert_rec, e);
	if (!s)
		return -1;
	int rc = store_bind_int(s, 1, r->seq);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, r->ts_ms);
	const char *text[] = { r->key_id, r->tenant, r->action, r->sandbox_id,
			       r->outcome, r->detail, prev, r->hash };
	for (int i = 0; i < 8 && rc == SQLITE_OK; i++)
		rc = store_bind_text(s, 3 + i, text[i]);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		store_fail(st, rc, "insert audit record", e);
	store_release(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char sql_insert_trace[] =
	"INSERT INTO exec_traces (exec_id, audit_seq, sandbox_id, tenant,"
	" key_id, command, started_ms, exit_code, signal, wall_ms, cpu_ms,"
	" max_rss_kb, stdout_bytes, stderr_bytes, stdout_truncated,"
	" stderr_truncated, timed_out, oom_killed) VALUES (?1, ?2, ?3, ?4,"
	" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

static int insert_trace(struct store *st, const struct exec_trace *t,
			int64_t seq, struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_insert_trace, e);
	if (!s)
		return -1;
	const char *text[] = { t->exec_id, NULL, t->sandbox_id, t->tenant,
			       t->key_id, t->command };
	const int64_t nums[] = {
		t->started_ms, t->exit_code, t->signal, t->wall_ms, t->cpu_ms,
		t->max_rss_kb, t->stdout_bytes, t->stderr_bytes,
		t->stdout_truncated, t->stderr_truncated, t->timed_out,
		t->oom_killed,
	};
	int rc = store_bind_int(s, 2, seq);
	for (int i = 0; i < 6 && rc == SQLITE_OK; i++)
		if (i != 1)
			rc = store_bind_text(s, 1 + i, text[i]);
	for (int i = 0; i < 12 && rc == SQLITE_OK; i++)
		rc = store_bind_int(s, 7 + i, nums[i]);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		aj_err_set(e, AJ_EEXIST, 0, "exec %s already recorded",
			   t->exec_id);
	else if (rc != SQLITE_DONE)
		store_fail(st, rc, "insert exec trace", e);
	store_release(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char sql_set_head[] =
	"INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)"
	" ON CONFLICT (id) DO UPDATE SET seq = excluded.seq,"
	" hash = excluded.hash";

static int set_head(struct store *st, const struct audit_rec *r,
		    struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_set_head, e);
	if (!s)
		return -1;
	int rc = store_bind_int(s, 1, r->seq);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 2, r->hash);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		store_fail(st, rc, "update audit head", e);
	store_release(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Inside the write transaction: link rec to the newest record and write
 * it, its trace and the new head. */
static int append_locked(struct store *st, struct audit_rec *rec,
			 const struct exec_trace *trace, struct aj_err *e)
{
	int64_t last;
	char prev[AJ_SHA256_HEX_LEN + 1];
	if (read_head(st, &last, prev, e) != 0)
		return -1;
	rec->seq = last + 1;
	struct canon c;
	canon_from_rec(&c, rec, trace);
	canon_hash(prev, &c, rec->hash);
	if (insert_rec(st, rec, prev, e) != 0 ||
	    (trace && insert_trace(st, trace, rec->seq, e) != 0) ||
	    set_head(st, rec, e) != 0)
		return -1;
	return 0;
}

/* rec->ts_ms 0 means now.  On failure nothing is written and rec->seq and
 * rec->hash are left as they were. */
int store_audit_append(struct store *st, struct audit_rec *rec,
		       const struct exec_trace *trace, struct aj_err *e)
{
	if (!rec_valid(rec) || (trace && !trace_valid(trace)))
		return aj_err_set(e, AJ_EINVAL, 0, "invalid audit record");
	struct audit_rec r = *rec;
	if (r.ts_ms == 0)
		r.ts_ms = store_now_ms();
	store_lock(st);
	int ret = store_begin(st, e);
	if (ret == 0 && append_locked(st, &r, trace, e) != 0) {
		store_rollback(st);
		ret = -1;
	}
	if (ret == 0)
		ret = store_commit(st, e);
	store_unlock(st);
	if (ret == 0)
		*rec = r;
	return ret;
}

/* ---- reading -------------------------------------------------------- */

#define AUDIT_COLS                                                          \
	"seq, ts_ms, key_id, tenant, action, sandbox_id, outcome, detail, hash"
#define AUDIT_PAGE " AND seq > ?3 AND ts_ms >= ?4 ORDER BY seq LIMIT ?5"

/* Indexed by (tenant ? 1 : 0) | (sandbox ? 2 : 0); each can use its
 * index. */
static const char *const sql_list[] = {
	"SELECT " AUDIT_COLS " FROM audit WHERE 1" AUDIT_PAGE,
	"SELECT " AUDIT_COLS " FROM audit WHERE tenant = ?1" AUDIT_PAGE,
	"SELECT " AUDIT_COLS " FROM audit WHERE sandbox_id = ?2" AUDIT_PAGE,
	"SELECT " AUDIT_COLS " FROM audit WHERE tenant = ?1"
	" AND sandbox_id = ?2" AUDIT_PAGE,
};

static int clamp_limit(int limit)
{
	return limit <= 0 ? 100 : limit > 1000 ? 1000 : limit;
}

static int read_rec(sqlite3_stmt *s, struct audit_rec *r, struct aj_err *e)
{
	bool oom = false;
	memset(r, 0, sizeof(*r));
	r->seq = sqlite3_column_int64(s, 0);
	r->ts_ms = sqlite3_column_int64(s, 1);
	store_col_copy(s, 2, r->key_id, sizeof(r->key_id));
	store_col_copy(s, 3, r->tenant, sizeof(r->tenant));
	store_col_copy(s, 4, r->action, sizeof(r->action));
	store_col_copy(s, 5, r->sandbox_id, sizeof(r->sandbox_id));
	store_col_copy(s, 6, r->outcome, sizeof(r->outcome));
	r->detail = store_col_dup(s, 7, &oom);
	store_col_copy(s, 8, r->hash, sizeof(r->hash));
	return oom ? aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory") : 0;
}

static int bind_filter(sqlite3_stmt *s, const struct audit_filter *f)
{
	int rc = store_bind_text(s, 1, f->tenant);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 2, f->sandbox_id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 3, f->after_seq);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 4, f->since_ms);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 5, clamp_limit(f->limit));
	return rc;
}

static int collect_recs(struct store *st, sqlite3_stmt *s,
			struct audit_rec *recs, size_t *n, struct aj_err *e)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (read_rec(s, &recs[*n], e) != 0)
			return -1;
		(*n)++;
	}
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "list audit", e);
}

int store_audit_list(struct store *st, const struct audit_filter *f,
		     struct audit_rec **out, size_t *n, struct aj_err *e)
{
	*out = NULL;
	*n = 0;
	/* At most limit rows: allocate them up front. */
	struct audit_rec *recs = calloc((size_t)clamp_limit(f->limit),
					sizeof(*recs));
	if (!recs)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql_list[(f->tenant ? 1 : 0) |
						  (f->sandbox_id ? 2 : 0)], e);
	if (s) {
		int rc = bind_filter(s, f);
		ret = rc == SQLITE_OK ? collect_recs(st, s, recs, n, e)
				      : store_fail(st, rc, "list audit", e);
		store_release(s);
	}
	store_unlock(st);
	if (ret != 0) {
		audit_recs_free(recs, *n);
		*n = 0;
		return -1;
	}
	*out = recs;
	return 0;
}

void audit_recs_free(struct audit_rec *recs, size_t n)
{
	if (!recs)
		return;
	for (size_t i = 0; i < n; i++)
		free(recs[i].detail);
	free(recs);
}

/* ---- verification --------------------------------------------------- */

/* Columns 0-24: the canonical fields; 25: prev_hash; 26: hash. */
static const char sql_walk[] =
	"SELECT a.seq, a.ts_ms, a.key_id, a.tenant, a.action, a.sandbox_id,"
	" a.outcome, a.detail, t.exec_id, t.sandbox_id, t.tenant, t.key_id,"
	" t.command, t.started_ms, t.exit_code, t.signal, t.wall_ms,"
	" t.cpu_ms, t.max_rss_kb, t.stdout_bytes, t.stderr_bytes,"
	" t.stdout_truncated, t.stderr_truncated, t.timed_out, t.oom_killed,"
	" a.prev_hash, a.hash"
	" FROM audit a LEFT JOIN exec_traces t ON t.audit_seq = a.seq"
	" ORDER BY a.seq";
static const char sql_head_only[] =
	"SELECT seq, hash FROM audit_head WHERE id = 1";

/* Where the walk is: the seq expected next and the hash it must link to. */
struct walk {
	int64_t next_seq;
	char prev[AJ_SHA256_HEX_LEN + 1];
	int64_t checked;
	int64_t bad_seq;
	char *why;
};

__attribute__((format(printf, 3, 4)))
static bool walk_fail(struct walk *w, int64_t seq, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	w->bad_seq = seq;
	vsnprintf(w->why, 128, fmt, ap);
	va_end(ap);
	return false;
}

/* Check one row; false (and w->bad_seq set) at the first fault. */
static bool walk_row(struct walk *w, sqlite3_stmt *s)
{
	int64_t seq = sqlite3_column_int64(s, 0);
	if (seq != w->next_seq)
		return walk_fail(w, w->next_seq,
				 "record missing (next record is %" PRId64 ")",
				 seq);
	const char *prev = (const char *)sqlite3_column_text(s, 25);
	if (!prev || sqlite3_column_bytes(s, 25) != AJ_SHA256_HEX_LEN ||
	    memcmp(prev, w->prev, AJ_SHA256_HEX_LEN) != 0)
		return walk_fail(w, seq,
				 "link broken: prev_hash is not the hash of "
				 "record %" PRId64, seq - 1);
	struct canon c;
	canon_from_row(&c, s);
	char want[AJ_SHA256_HEX_LEN + 1];
	canon_hash(w->prev, &c, want);
	const char *hash = (const char *)sqlite3_column_text(s, 26);
	if (!hash || sqlite3_column_bytes(s, 26) != AJ_SHA256_HEX_LEN ||
	    memcmp(hash, want, AJ_SHA256_HEX_LEN) != 0)
		return walk_fail(w, seq, "hash mismatch: record %" PRId64
				 " or its exec trace was altered", seq);
	memcpy(w->prev, hash, AJ_SHA256_HEX_LEN);
	w->next_seq = seq + 1;
	w->checked++;
	return true;
}

static int walk_chain(struct store *st, struct walk *w, struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_walk, e);
	if (!s)
		return -1;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (!walk_row(w, s))
			break;
	int ret = 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, rc, "read audit log", e);
	store_release(s);
	return ret;
}

/* After an intact walk: the head must name the last record walked. */
static int check_head(struct store *st, struct walk *w, struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_head_only, e);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	int64_t last = w->next_seq - 1;
	if (rc == SQLITE_ROW) {
		int64_t head = sqlite3_column_int64(s, 0);
		const char *h = (const char *)sqlite3_column_text(s, 1);
		if (head > last)
			walk_fail(w, last + 1, "record missing (the log "
				  "reached record %" PRId64 ")", head);
		else if (head < last)
			walk_fail(w, head + 1, "record added after the chain "
				  "head (record %" PRId64 ")", head);
		else if (!h || strcmp(h, w->prev) != 0)
			walk_fail(w, last, "chain head does not match record "
				  "%" PRId64, last);
	} else if (rc == SQLITE_DONE && last > 0) {
		walk_fail(w, last, "chain head missing after record %" PRId64,
			  last);
	} else if (rc != SQLITE_DONE) {
		store_fail(st, rc, "read audit head", e);
	}
	store_release(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Returns 0 whether or not the chain is intact (see *bad_seq); -1 only if
 * it could not be read.  Streams the log in one read transaction, so it
 * checks one consistent snapshot; other processes keep writing meanwhile,
 * but this connection is busy (st's mutex held) until the walk ends. */
int store_audit_verify(struct store *st, int64_t *checked, int64_t *bad_seq,
		       char why[128], struct aj_err *e)
{
	struct walk w = { .next_seq = 1, .why = why };
	memcpy(w.prev, GENESIS_HASH, sizeof(w.prev));
	why[0] = '\0';
	store_lock(st);
	int ret = store_begin_read(st, e);
	if (ret == 0) {
		ret = walk_chain(st, &w, e);
		if (ret == 0 && w.bad_seq == 0)
			ret = check_head(st, &w, e);
		store_rollback(st);
	}
	store_unlock(st);
	*checked = w.checked;
	*bad_seq = w.bad_seq;
	return ret;
}

/* ---- exec traces ---------------------------------------------------- */

static const char sql_exec_list[] =
	"SELECT exec_id, sandbox_id, tenant, key_id, command, started_ms,"
	" exit_code, signal, wall_ms, cpu_ms, max_rss_kb, stdout_bytes,"
	" stderr_bytes, stdout_truncated, stderr_truncated, timed_out,"
	" oom_killed FROM exec_traces WHERE sandbox_id = ?1"
	" ORDER BY started_ms DESC, audit_seq DESC LIMIT ?2";

/* One row into t; its command (malloc'd, or NULL) into *cmd. */
static int read_trace(sqlite3_stmt *s, struct exec_trace *t, char **cmd,
		      struct aj_err *e)
{
	bool oom = false;
	memset(t, 0, sizeof(*t));
	store_col_copy(s, 0, t->exec_id, sizeof(t->exec_id));
	store_col_copy(s, 1, t->sandbox_id, sizeof(t->sandbox_id));
	store_col_copy(s, 2, t->tenant, sizeof(t->tenant));
	store_col_copy(s, 3, t->key_id, sizeof(t->key_id));
	*cmd = store_col_dup(s, 4, &oom);
	t->command = *cmd;
	t->started_ms = sqlite3_column_int64(s, 5);
	t->exit_code = sqlite3_column_int(s, 6);
	t->signal = sqlite3_column_int(s, 7);
	t->wall_ms = sqlite3_column_int64(s, 8);
	t->cpu_ms = sqlite3_column_int64(s, 9);
	t->max_rss_kb = sqlite3_column_int64(s, 10);
	t->stdout_bytes = sqlite3_column_int64(s, 11);
	t->stderr_bytes = sqlite3_column_int64(s, 12);
	t->stdout_truncated = sqlite3_column_int(s, 13) != 0;
	t->stderr_truncated = sqlite3_column_int(s, 14) != 0;
	t->timed_out = sqlite3_column_int(s, 15) != 0;
	t->oom_killed = sqlite3_column_int(s, 16) != 0;
	return oom ? aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory") : 0;
}

static int collect_traces(struct store *st, sqlite3_stmt *s,
			  struct exec_trace *t, char **cmds, size_t *n,
			  struct aj_err *e)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (read_trace(s, &t[*n], &cmds[*n], e) != 0)
			return -1;
		(*n)++;
	}
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "list execs", e);
}

/* limit <= 0: 100; capped at 1000.  (*out)[i].command points at
 * (*commands)[i] (NULL if none).  The caller frees every (*commands)[i],
 * then *commands and *out. */
int store_exec_list(struct store *st, const char *sandbox_id, int limit,
		    struct exec_trace **out, char ***commands, size_t *n,
		    struct aj_err *e)
{
	*out = NULL;
	*commands = NULL;
	*n = 0;
	size_t max = (size_t)clamp_limit(limit);
	struct exec_trace *t = calloc(max, sizeof(*t));
	char **cmds = calloc(max, sizeof(*cmds));
	int ret = -1;
	if (!t || !cmds) {
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		goto out;
	}
	store_lock(st);
	sqlite3_stmt *s = store_stmt(st, sql_exec_list, e);
	if (s) {
		int rc = store_bind_text(s, 1, sandbox_id);
		if (rc == SQLITE_OK)
			rc = store_bind_int(s, 2, (int64_t)max);
		ret = rc == SQLITE_OK
			      ? collect_traces(st, s, t, cmds, n, e)
			      : store_fail(st, rc, "list execs", e);
		store_release(s);
	}
	store_unlock(st);
out:
	if (ret != 0) {
		for (size_t i = 0; cmds && i < max; i++)
			free(cmds[i]);
		free(cmds);
		free(t);
		*n = 0;
		return -1;
	}
	*out = t;
	*commands = cmds;
	return 0;
}
