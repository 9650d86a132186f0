/* store_sandbox.c - the sandboxes table: one row per sandbox ever created,
 * kept after it ends (state "terminated", with when and why) so that its
 * audit records and exec traces still name something. */
#include "box/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SANDBOX_COLS                                                        \
	"id, tenant, key_id, state, template_id, created_ms, expires_ms,"  \
	" ended_ms, end_reason, spec_json, metadata_json"

void sandbox_row_free(struct sandbox_row *r)
{
	if (!r)
		return;
	free(r->spec_json);
	free(r->metadata_json);
	r->spec_json = NULL;
	r->metadata_json = NULL;
}

static bool row_valid(const struct sandbox_row *r)
{
	return r->id[0] != '\0' && store_fits(r->id, sizeof(r->id)) &&
	       store_tenant_valid(r->tenant) &&
	       store_fits(r->key_id, sizeof(r->key_id)) &&
	       r->state[0] != '\0' && store_fits(r->state, sizeof(r->state)) &&
	       store_fits(r->template_id, sizeof(r->template_id)) &&
	       store_fits(r->end_reason, sizeof(r->end_reason));
}

/* Fill *r from a row of SANDBOX_COLS.  -1 if out of memory. */
static int read_row(sqlite3_stmt *s, struct sandbox_row *r, struct aj_err *e)
{
	bool oom = false;
	memset(r, 0, sizeof(*r));
	store_col_copy(s, 0, r->id, sizeof(r->id));
	store_col_copy(s, 1, r->tenant, sizeof(r->tenant));
	store_col_copy(s, 2, r->key_id, sizeof(r->key_id));
	store_col_copy(s, 3, r->state, sizeof(r->state));
	store_col_copy(s, 4, r->template_id, sizeof(r->template_id));
	r->created_ms = sqlite3_column_int64(s, 5);
	r->expires_ms = sqlite3_column_int64(s, 6);
	r->ended_ms = sqlite3_column_int64(s, 7);
	store_col_copy(s, 8, r->end_reason, sizeof(r->end_reason));
	r->spec_json = store_col_dup(s, 9, &oom);
	r->metadata_json = store_col_dup(s, 10, &oom);
	if (!oom)
		return 0;
	sandbox_row_free(r);
	return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
}

static const char sql_insert[] =
	"INSERT INTO sandboxes (" SANDBOX_COLS ")"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

static int bind_row(sqlite3_stmt *s, const struct sandbox_row *r)
{
	int rc = store_bind_text(s, 1, r->id);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 2, r->tenant);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 3, r->key_id);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 4, r->state);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 5, r->template_id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 6, r->created_ms);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 7, r->expires_ms);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 8, r->ended_ms);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 9, r->end_reason);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 10, r->spec_json);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 11, r->metadata_json);
	return rc;
}

int store_sandbox_insert(struct store *st, const struct sandbox_row *r,
			 struct aj_err *e)
{
	if (!row_valid(r))
		return aj_err_set(e, AJ_EINVAL, 0, "invalid sandbox row");
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql_insert, e);
	if (s) {
		int rc = bind_row(s, r);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			ret = 0;
		else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			aj_err_set(e, AJ_EEXIST, 0, "sandbox %s exists", r->id);
		else
			store_fail(st, rc, "insert sandbox", e);
		store_release(s);
	}
	store_unlock(st);
	return ret;
}

static const char sql_get[] =
	"SELECT " SANDBOX_COLS " FROM sandboxes WHERE id = ?1";

int store_sandbox_get(struct store *st, const char *id, struct sandbox_row *out,
		      struct aj_err *e)
{
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql_get, e);
	if (s) {
		int rc = store_bind_text(s, 1, id);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			ret = read_row(s, out, e);
		else if (rc == SQLITE_DONE)
			aj_err_set(e, AJ_ENOTFOUND, 0, "no sandbox %s", id);
		else
			store_fail(st, rc, "get sandbox", e);
		store_release(s);
	}
	store_unlock(st);
	return ret;
}

static const char sql_exists[] = "SELECT 1 FROM sandboxes WHERE id = ?1";

/* Run an UPDATE of one live sandbox (?1 = id, then ?2, ?3 as given).
 * AJ_ENOTFOUND if there is no such sandbox, AJ_ECONFLICT if it ended. */
static int update_live(struct store *st, const char *sql, const char *id,
		       int64_t v2, const char *v3, struct aj_err *e)
{
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql, e);
	if (!s)
		goto out;
	int rc = store_bind_text(s, 1, id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, v2);
	if (rc == SQLITE_OK && v3)
		rc = store_bind_text(s, 3, v3);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		store_fail(st, rc, "update sandbox", e);
	else if (sqlite3_changes(st->db) == 1)
		ret = 0;
	store_release(s);
	if (rc == SQLITE_DONE && ret != 0)
		store_explain_unchanged(st, sql_exists, "sandbox", id, "has ended", e);
out:
	store_unlock(st);
	return ret;
}

static const char sql_set_expiry[] =
	"UPDATE sandboxes SET expires_ms = ?2"
	" WHERE id = ?1 AND state <> 'terminated'";

int store_sandbox_set_expiry(struct store *st, const char *id,
			     int64_t expires_ms, struct aj_err *e)
{
	return update_live(st, sql_set_expiry, id, expires_ms, NULL, e);
}

static const char sql_end[] =
	"UPDATE sandboxes SET state = 'terminated', ended_ms = ?2,"
	" end_reason = ?3 WHERE id = ?1 AND state <> 'terminated'";

int store_sandbox_end(struct store *st, const char *id, int64_t ended_ms,
		      const char *reason, struct aj_err *e)
{
	if (!reason || !store_fits(reason, sizeof(((struct sandbox_row *)0)
							 ->end_reason)))
		return aj_err_set(e, AJ_EINVAL, 0, "bad end reason");
	return update_live(st, sql_end, id, ended_ms, reason, e);
}

/* One statement per filter combination, so each can use its index;
 * indexed by (tenant ? 1 : 0) | (state ? 2 : 0). */
static const char *const sql_list[] = {
	"SELECT " SANDBOX_COLS " FROM sandboxes"
	" ORDER BY created_ms DESC, rowid DESC",
	"SELECT " SANDBOX_COLS " FROM sandboxes WHERE tenant = ?1"
	" ORDER BY created_ms DESC, rowid DESC",
	"SELECT " SANDBOX_COLS " FROM sandboxes WHERE state = ?2"
	" ORDER BY created_ms DESC, rowid DESC",
	"SELECT " SANDBOX_COLS " FROM sandboxes"
	" WHERE tenant = ?1 AND state = ?2"
	" ORDER BY created_ms DESC, rowid DESC",
};

static int collect_rows(struct store *st, sqlite3_stmt *s,
			struct sandbox_row **out, size_t *n, struct aj_err *e)
{
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct sandbox_row *p = realloc(*out, ncap * sizeof(*p));
			if (!p)
				return aj_err_set(e, AJ_EINTERNAL, ENOMEM,
						  "out of memory");
			*out = p;
			cap = ncap;
		}
		if (read_row(s, &(*out)[*n], e) != 0)
			return -1;
		(*n)++;
	}
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "list sandboxes", e);
}

static void free_rows(struct sandbox_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sandbox_row_free(&rows[i]);
	free(rows);
}

/* Newest first.  The caller frees each row with sandbox_row_free and then
 * the array with free(). */
int store_sandbox_list(struct store *st, const char *tenant, const char *state,
		       struct sandbox_row **out, size_t *n, struct aj_err *e)
{
	*out = NULL;
	*n = 0;
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql_list[(tenant ? 1 : 0) |
						  (state ? 2 : 0)], e);
	if (s) {
		/* Only the parameters the chosen statement has. */
		int rc = tenant ? store_bind_text(s, 1, tenant) : SQLITE_OK;
		if (rc == SQLITE_OK && state)
			rc = store_bind_text(s, 2, state);
		ret = rc == SQLITE_OK ? collect_rows(st, s, out, n, e)
				      : store_fail(st, rc, "list sandboxes", e);
		store_release(s);
	}
	store_unlock(st);
	if (ret != 0) {
		free_rows(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

static const char sql_count_running[] =
	"SELECT count(*) FROM sandboxes"
	" WHERE state = 'running' AND (?1 IS NULL OR tenant = ?1)";

int store_sandbox_count_running(struct store *st, const char *tenant,
				int64_t *n, struct aj_err *e)
{
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql_count_running, e);
	if (s) {
		int rc = store_bind_text(s, 1, tenant);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*n = sqlite3_column_int64(s, 0);
			ret = 0;
		} else {
			store_fail(st, rc, "count sandboxes", e);
		}
		store_release(s);
	}
	store_unlock(st);
	return ret;
}
