/* store_idem.c - idempotency records: the first response to a request
 * carrying an Idempotency-Key, kept 24 hours per (tenant, key).  Expired
 * records are ignored by lookups and deleted by the next store_idem_put. */
#include "box/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IDEM_TTL_MS (24LL * 3600 * 1000)
#define IDEM_KEY_MAX 255
#define IDEM_SCOPE_MAX 255

static int check_args(const char *tenant, const char *key, const char *scope,
		      struct aj_err *e)
{
	if (!store_tenant_valid(tenant))
		return aj_err_set(e, AJ_EINVAL, 0, "invalid tenant");
	if (!key || !key[0] || !store_fits(key, IDEM_KEY_MAX + 1))
		return aj_err_set(e, AJ_EINVAL, 0,
				  "idempotency key must be 1-%d bytes",
				  IDEM_KEY_MAX);
	if (!scope || !scope[0] || !store_fits(scope, IDEM_SCOPE_MAX + 1))
		return aj_err_set(e, AJ_EINVAL, 0, "invalid idempotency scope");
	return 0;
}

static const char sql_get[] =
	"SELECT scope, status, body FROM idempotency"
	" WHERE tenant = ?1 AND key = ?2 AND created_ms >= ?3";

/* From the row in s: AJ_ECONFLICT if its scope is not ours, else the
 * stored response. */
static int read_hit(sqlite3_stmt *s, const char *scope, int *status,
		    char **body, struct aj_err *e)
{
	const char *stored = (const char *)sqlite3_column_text(s, 0);
	if (!stored || strcmp(stored, scope) != 0)
		return aj_err_set(e, AJ_ECONFLICT, 0,
				  "idempotency key already used for another "
				  "request");
	bool oom = false;
	*body = store_col_dup(s, 2, &oom);
	if (oom || !*body)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	*status = sqlite3_column_int(s, 1);
	return 0;
}

int store_idem_get(struct store *st, const char *tenant, const char *key,
		   const char *scope, int *status, char **body, bool *found,
		   struct aj_err *e)
{
	*found = false;
	*body = NULL;
	if (check_args(tenant, key, scope, e) != 0)
		return -1;
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql_get, e);
	if (s) {
		int rc = store_bind_text(s, 1, tenant);
		if (rc == SQLITE_OK)
			rc = store_bind_text(s, 2, key);
		if (rc == SQLITE_OK)
			rc = store_bind_int(s, 3, store_now_ms() - IDEM_TTL_MS);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			ret = read_hit(s, scope, status, body, e);
			*found = ret == 0;
		} else if (rc == SQLITE_DONE) {
			ret = 0;
		} else {
			store_fail(st, rc, "read idempotency record", e);
		}
		store_release(s);
	}
	store_unlock(st);
	return ret;
}

static const char sql_expire[] =
	"DELETE FROM idempotency WHERE created_ms < ?1";
static const char sql_put[] =
	"INSERT INTO idempotency (tenant, key, scope, status, body, created_ms)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static int expire_old(struct store *st, int64_t now, struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_expire, e);
	if (!s)
		return -1;
	int rc = store_bind_int(s, 1, now - IDEM_TTL_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		store_fail(st, rc, "expire idempotency records", e);
	store_release(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int insert(struct store *st, const char *const text[4], int status,
		  int64_t now, struct aj_err *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_put, e);
	if (!s)
		return -1;
	int rc = SQLITE_OK;
	for (int i = 0; i < 3 && rc == SQLITE_OK; i++)
		rc = store_bind_text(s, 1 + i, text[i]);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 4, status);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 5, text[3]);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 6, now);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		aj_err_set(e, AJ_EEXIST, 0, "idempotency key already stored");
	else if (rc != SQLITE_DONE)
		store_fail(st, rc, "store idempotency record", e);
	store_release(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* AJ_EEXIST if a live record for (tenant, key) exists already (a
 * concurrent first request got there first).  body NULL is stored as "". */
int store_idem_put(struct store *st, const char *tenant, const char *key,
		   const char *scope, int status, const char *body,
		   struct aj_err *e)
{
	if (check_args(tenant, key, scope, e) != 0)
		return -1;
	const char *text[] = { tenant, key, scope, body ? body : "" };
	int64_t now = store_now_ms();
	store_lock(st);
	int ret = store_begin(st, e);
	if (ret == 0 && (expire_old(st, now, e) != 0 ||
			 insert(st, text, status, now, e) != 0)) {
		store_rollback(st);
		ret = -1;
	}
	if (ret == 0)
		ret = store_commit(st, e);
	store_unlock(st);
	return ret;
}
