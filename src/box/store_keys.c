/* store_keys.c - API keys.
 *
 * A secret is "aj_" + 40 lowercase hex digits (20 random bytes); the same
 * digits behind "e2b_" are the same key.  Only sha256(the 40 hex digits,
 * as text) is stored.  Authentication looks the hash up by its index and
 * then compares it again in constant time, so the answer never depends on
 * how much of a stored hash a guess matched. */
#include "box/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"

#define SECRET_HEX 40
#define ID_HEX 12
#define MAX_ID_TRIES 4

const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_VIEWER: return "viewer";
	case ROLE_USER: return "user";
	case ROLE_ADMIN: return "admin";
	}
	return "unknown";
}

int role_parse(const char *s, enum role *out)
{
	static const enum role all[] = { ROLE_VIEWER, ROLE_USER, ROLE_ADMIN };
	for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, role_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

static bool role_valid(int r)
{
	return r == ROLE_VIEWER || r == ROLE_USER || r == ROLE_ADMIN;
}

/* The 40 hex digits of a secret in either form, or NULL if it is not
 * well-formed. */
static const char *secret_digits(const char *secret)
{
	const char *d;
	if (!secret)
		return NULL;
	if (strncmp(secret, "aj_", 3) == 0)
		d = secret + 3;
	else if (strncmp(secret, "e2b_", 4) == 0)
		d = secret + 4;
	else
		return NULL;
	if (strnlen(d, SECRET_HEX + 1) != SECRET_HEX ||
	    strspn(d, "0123456789abcdef") != SECRET_HEX)
		return NULL;
	return d;
}

static void read_key(sqlite3_stmt *s, struct key_info *k)
{
	store_col_copy(s, 0, k->id, sizeof(k->id));
	store_col_copy(s, 1, k->tenant, sizeof(k->tenant));
	int r = sqlite3_column_int(s, 2);
	k->role = role_valid(r) ? (enum role)r : ROLE_VIEWER;
	k->created_ms = sqlite3_column_int64(s, 3);
	k->revoked_ms = sqlite3_column_int64(s, 4);
}

static const char sql_key_insert[] =
	"INSERT INTO keys (id, secret_hash, tenant, role, created_ms)"
	" VALUES (?1, ?2, ?3, ?4, ?5)";

/* One attempt with a fresh id and secret: 0, 1 if the id (or, absurdly,
 * the secret) collided with an existing one, -1 on error. */
static int try_insert(struct store *st, struct key_info *k, char *secret,
		      struct aj_err *e)
{
	char digits[SECRET_HEX + 1], hash[AJ_SHA256_HEX_LEN + 1];
	memcpy(k->id, "key_", 4);
	aj_random_hex(k->id + 4, ID_HEX / 2);
	aj_random_hex(digits, SECRET_HEX / 2);
	aj_sha256_hex(digits, SECRET_HEX, hash);
	sqlite3_stmt *s = store_stmt(st, sql_key_insert, e);
	if (!s)
		return -1;
	int rc = store_bind_text(s, 1, k->id);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 2, hash);
	if (rc == SQLITE_OK)
		rc = store_bind_text(s, 3, k->tenant);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 4, k->role);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 5, k->created_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	int ret = 0;
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		ret = 1;
	else if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, "insert key", e);
	store_release(s);
	if (ret == 0)
		snprintf(secret, 48, "aj_%s", digits);
	sodium_memzero(digits, sizeof(digits));
	return ret;
}

int store_key_create(struct store *st, const char *tenant, enum role role,
		     char secret_out[48], struct key_info *out,
		     struct aj_err *e)
{
	if (!store_tenant_valid(tenant))
		return aj_err_set(e, AJ_EINVAL, 0,
				  "tenant must be 1-64 characters of "
				  "[A-Za-z0-9_.-]");
	if (!role_valid((int)role))
		return aj_err_set(e, AJ_EINVAL, 0, "unknown role");
	struct key_info k = { .role = role, .created_ms = store_now_ms() };
	memcpy(k.tenant, tenant, strlen(tenant) + 1);
	int rc = 1;
	store_lock(st);
	for (int i = 0; i < MAX_ID_TRIES && rc == 1; i++)
		rc = try_insert(st, &k, secret_out, e);
	store_unlock(st);
	if (rc == 1)
		return aj_err_set(e, AJ_EINTERNAL, 0, "key id collisions");
	if (rc == 0)
		*out = k;
	return rc;
}

static const char sql_key_by_hash[] =
	"SELECT id, tenant, role, created_ms, revoked_ms, secret_hash"
	" FROM keys WHERE secret_hash = ?1";

int store_key_auth(struct store *st, const char *secret, struct key_info *out,
		   struct aj_err *e)
{
	const char *d = secret_digits(secret);
	if (!d)
		return aj_err_set(e, AJ_EAUTH, 0, "malformed API key");
	char hash[AJ_SHA256_HEX_LEN + 1];
	aj_sha256_hex(d, SECRET_HEX, hash);
	store_lock(st);
	sqlite3_stmt *s = store_stmt(st, sql_key_by_hash, e);
	int ret = -1;
	if (!s)
		goto out;
	int rc = store_bind_text(s, 1, hash);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		char stored[AJ_SHA256_HEX_LEN + 1];
		store_col_copy(s, 5, stored, sizeof(stored));
		read_key(s, out);
		bool same = aj_ct_equal(stored, hash, sizeof(hash));
		if (!same || out->revoked_ms != 0)
			aj_err_set(e, AJ_EAUTH, 0, "%s API key",
				   same ? "revoked" : "unknown");
		else
			ret = 0;
	} else if (rc == SQLITE_DONE) {
		aj_err_set(e, AJ_EAUTH, 0, "unknown API key");
	} else {
		store_fail(st, rc, "look up key", e);
	}
	store_release(s);
out:
	store_unlock(st);
	return ret;
}

static const char sql_key_by_id[] =
	"SELECT id, tenant, role, created_ms, revoked_ms FROM keys WHERE id = ?1";

int store_key_get(struct store *st, const char *id, struct key_info *out,
		  struct aj_err *e)
{
	if (!store_fits(id, KEY_ID_LEN + 1))
		return aj_err_set(e, AJ_ENOTFOUND, 0, "no such key");
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql_key_by_id, e);
	if (!s)
		goto out;
	int rc = store_bind_text(s, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		read_key(s, out);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		aj_err_set(e, AJ_ENOTFOUND, 0, "no such key");
	} else {
		store_fail(st, rc, "look up key", e);
	}
	store_release(s);
out:
	store_unlock(st);
	return ret;
}

static const char sql_key_list[] =
	"SELECT id, tenant, role, created_ms, revoked_ms FROM keys"
	" ORDER BY created_ms DESC, rowid DESC";

/* Step s to the end, appending a key_info per row to *out. */
static int collect_keys(struct store *st, sqlite3_stmt *s,
			struct key_info **out, size_t *n, struct aj_err *e)
{
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct key_info *p = realloc(*out, ncap * sizeof(*p));
			if (!p)
				return aj_err_set(e, AJ_EINTERNAL, ENOMEM,
						  "out of memory");
			*out = p;
			cap = ncap;
		}
		read_key(s, &(*out)[(*n)++]);
	}
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "list keys", e);
}

int store_key_list(struct store *st, struct key_info **out, size_t *n,
		   struct aj_err *e)
{
	*out = NULL;
	*n = 0;
	store_lock(st);
	sqlite3_stmt *s = store_stmt(st, sql_key_list, e);
	int ret = s ? collect_keys(st, s, out, n, e) : -1;
	if (s)
		store_release(s);
	store_unlock(st);
	if (ret != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

static const char sql_key_revoke[] =
	"UPDATE keys SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms = 0";
static const char sql_key_exists[] = "SELECT 1 FROM keys WHERE id = ?1";

int store_key_revoke(struct store *st, const char *id, struct aj_err *e)
{
	if (!store_fits(id, KEY_ID_LEN + 1))
		return aj_err_set(e, AJ_ENOTFOUND, 0, "no such key");
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql_key_revoke, e);
	if (!s)
		goto out;
	int rc = store_bind_text(s, 1, id);
	if (rc == SQLITE_OK)
		rc = store_bind_int(s, 2, store_now_ms());
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		store_fail(st, rc, "revoke key", e);
	else if (sqlite3_changes(st->db) == 1)
		ret = 0;
	store_release(s);
	if (rc == SQLITE_DONE && ret != 0)
		store_explain_unchanged(st, sql_key_exists, "key", id, "is already revoked", e);
out:
	store_unlock(st);
	return ret;
}

static int count_of(struct store *st, const char *sql, int64_t *n,
		    struct aj_err *e)
{
	store_lock(st);
	int ret = -1;
	sqlite3_stmt *s = store_stmt(st, sql, e);
	if (s) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*n = sqlite3_column_int64(s, 0);
			ret = 0;
		} else {
			store_fail(st, rc, "count keys", e);
		}
		store_release(s);
	}
	store_unlock(st);
	return ret;
}

static const char sql_key_count[] =
	"SELECT count(*) FROM keys WHERE revoked_ms = 0";

/* Active keys only: a server whose keys were all revoked is as locked
 * out as one that never had any, and may make a new admin key. */
int store_key_count(struct store *st, int64_t *n, struct aj_err *e)
{
	return count_of(st, sql_key_count, n, e);
}

static const char sql_key_revoked_count[] =
	"SELECT count(*) FROM keys WHERE revoked_ms != 0";

int store_key_revoked_count(struct store *st, int64_t *n, struct aj_err *e)
{
	return count_of(st, sql_key_revoked_count, n, e);
}
