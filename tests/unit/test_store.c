/* Unit tests for the state database (src/box/store*.c), each against a
 * fresh state directory under /tmp.  Tampering tests edit the database
 * with a second, plain SQLite connection, as someone with a shell would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/store.h"
#include "box/store_int.h"
#include "util/crypto.h"

struct fx {
	char root[64];  /* mkdtemp directory */
	char dir[96];   /* the state dir inside it, created by store_open */
	char db[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->root, "/tmp/aj-store-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/state", f->root);
	snprintf(f->db, sizeof(f->db), "%s/agentjail.db", f->dir);
	struct aj_err e;
	if (store_open(f->dir, &f->st, &e) != 0) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static void rm_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	char p[512];
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (unlink(p) != 0)
			rm_dir(p);
	}
	closedir(d);
	rmdir(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->st);
	rm_dir(f->root);
	free(f);
	return 0;
}

/* Run SQL on the database through a connection of our own. */
static void sql(const struct fx *f, const char *text)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", text, msg);
	sqlite3_close(db);
}

/* The first column of the first row of a query, as an integer. */
static int64_t sql_int(const struct fx *f, const char *text)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* ---- opening -------------------------------------------------------- */

static void open_private_wal(void **state)
{
	struct fx *f = *state;
	struct stat sb;
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(f->db, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	struct audit_rec r = { .action = "test.write", .outcome = "ok" };
	struct aj_err e;
	assert_int_equal(store_audit_append(f->st, &r, NULL, &e), 0);
	char wal[160];
	snprintf(wal, sizeof(wal), "%s-wal", f->db);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);

	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 1);
}

static void open_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	sql(f, "PRAGMA user_version = 99");
	struct store *st2 = NULL;
	struct aj_err e;
	assert_int_equal(store_open(f->dir, &st2, &e), -1);
	assert_null(st2);
	assert_int_equal(e.code, AJ_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "99"));
}

static void open_not_a_directory(void **state)
{
	struct fx *f = *state;
	struct store *st2 = NULL;
	struct aj_err e;
	assert_int_equal(store_open(f->db, &st2, &e), -1);
	assert_null(st2);
	assert_int_equal(e.code, AJ_EINVAL);
}

/* ---- keys ----------------------------------------------------------- */

static void keys_create_auth(void **state)
{
	struct fx *f = *state;
	char secret[48];
	struct key_info k, got;
	struct aj_err e;
	assert_int_equal(store_key_create(f->st, "acme", ROLE_ADMIN, secret, &k,
					  &e), 0);
	assert_int_equal(strlen(secret), KEY_SECRET_LEN - 1);
	assert_memory_equal(secret, "aj_", 3);
	assert_int_equal(strspn(secret + 3, "0123456789abcdef"), 40);
	assert_int_equal(strlen(k.id), KEY_ID_LEN);
	assert_memory_equal(k.id, "key_", 4);
	assert_int_equal(strspn(k.id + 4, "0123456789abcdef"), 12);
	assert_string_equal(k.tenant, "acme");
	assert_int_equal(k.role, ROLE_ADMIN);
	assert_true(k.created_ms > 0);
	assert_int_equal(k.revoked_ms, 0);

	memset(&got, 0, sizeof(got));
	assert_int_equal(store_key_auth(f->st, secret, &got, &e), 0);
	assert_string_equal(got.id, k.id);
	assert_string_equal(got.tenant, "acme");
	assert_int_equal(got.role, ROLE_ADMIN);
	assert_int_equal(got.created_ms, k.created_ms);

	char e2b[64];
	snprintf(e2b, sizeof(e2b), "e2b_%s", secret + 3);
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_key_auth(f->st, e2b, &got, &e), 0);
	assert_string_equal(got.id, k.id);

	/* Only the hash of the digits is stored. */
	char hash[65], q[160];
	aj_sha256_hex(secret + 3, 40, hash);
	snprintf(q, sizeof(q),
		 "SELECT count(*) FROM keys WHERE secret_hash = '%s'", hash);
	assert_int_equal(sql_int(f, q), 1);
	snprintf(q, sizeof(q),
		 "SELECT count(*) FROM keys WHERE secret_hash LIKE '%%%.40s%%'",
		 secret + 3);
	assert_int_equal(sql_int(f, q), 0);
}

static void keys_wrong_secrets(void **state)
{
	struct fx *f = *state;
	char secret[48];
	struct key_info k;
	struct aj_err e;
	assert_int_equal(store_key_create(f->st, "acme", ROLE_USER, secret, &k,
					  &e), 0);
	char wrong[48];
	strcpy(wrong, secret);
	wrong[42] = wrong[42] == '0' ? '1' : '0';
	char upper[48];
	strcpy(upper, secret);
	for (char *p = upper + 3; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	char longer[64];
	snprintf(longer, sizeof(longer), "%s0", secret);
	char nopfx[64];
	snprintf(nopfx, sizeof(nopfx), "%s", secret + 3);
	char other[64];
	snprintf(other, sizeof(other), "xx_%s", secret + 3);
	const char *bad[] = { wrong, longer, nopfx, other, "", "aj_",
			      "e2b_", secret + 1, NULL };
	for (int i = 0; bad[i]; i++) {
		e.code = AJ_OK;
		assert_int_equal(store_key_auth(f->st, bad[i], &k, &e), -1);
		assert_int_equal(e.code, AJ_EAUTH);
	}
	if (strcmp(upper, secret) != 0) {
		assert_int_equal(store_key_auth(f->st, upper, &k, &e), -1);
		assert_int_equal(e.code, AJ_EAUTH);
	}
	assert_int_equal(store_key_auth(f->st, NULL, &k, &e), -1);
	assert_int_equal(e.code, AJ_EAUTH);
}

static void keys_list_revoke(void **state)
{
	struct fx *f = *state;
	char secret[3][48];
	struct key_info k[3];
	struct aj_err e;
	const char *tenants[] = { "t1", "t2", "t3" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_key_create(f->st, tenants[i],
						  (enum role)i, secret[i],
						  &k[i], &e), 0);
	int64_t n;
	assert_int_equal(store_key_count(f->st, &n, &e), 0);
	assert_int_equal(n, 3);

	assert_int_equal(store_key_revoke(f->st, k[1].id, &e), 0);
	struct key_info got;
	assert_int_equal(store_key_auth(f->st, secret[1], &got, &e), -1);
	assert_int_equal(e.code, AJ_EAUTH);
	assert_int_equal(store_key_auth(f->st, secret[0], &got, &e), 0);
	assert_int_equal(store_key_revoke(f->st, k[1].id, &e), -1);
	assert_int_equal(e.code, AJ_ECONFLICT);
	assert_int_equal(store_key_revoke(f->st, "key_000000000000", &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
	assert_int_equal(store_key_revoke(f->st, "x", &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
	assert_int_equal(store_key_count(f->st, &n, &e), 0);
	assert_int_equal(n, 2);

	struct key_info *list;
	size_t len;
	assert_int_equal(store_key_list(f->st, &list, &len, &e), 0);
	assert_int_equal(len, 3);
	/* Newest first. */
	for (int i = 0; i < 3; i++) {
		assert_string_equal(list[i].id, k[2 - i].id);
		assert_string_equal(list[i].tenant, tenants[2 - i]);
		assert_int_equal(list[i].role, (enum role)(2 - i));
		assert_int_equal(list[i].revoked_ms != 0, i == 1);
	}
	free(list);
}

static void keys_validation(void **state)
{
	struct fx *f = *state;
	char secret[48];
	struct key_info k;
	struct aj_err e;
	char t64[65], t65[66];
	memset(t64, 'a', 64);
	t64[64] = '\0';
	memset(t65, 'a', 65);
	t65[65] = '\0';
	const char *bad[] = { "", t65, "a b", "a/b", "caf\xc3\xa9", "a\nb",
			      "a;b", NULL };
	for (int i = 0; bad[i]; i++) {
		e.code = AJ_OK;
		assert_int_equal(store_key_create(f->st, bad[i], ROLE_USER,
						  secret, &k, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
	}
	assert_int_equal(store_key_create(f->st, NULL, ROLE_USER, secret, &k,
					  &e), -1);
	assert_int_equal(store_key_create(f->st, "ok", (enum role)7, secret,
					  &k, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
	int64_t n;
	assert_int_equal(store_key_count(f->st, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_key_create(f->st, t64, ROLE_USER, secret, &k,
					  &e), 0);
	assert_string_equal(k.tenant, t64);
	assert_int_equal(store_key_create(f->st, "A-z_0.9", ROLE_VIEWER,
					  secret, &k, &e), 0);

	enum role r;
	assert_int_equal(role_parse("admin", &r), 0);
	assert_int_equal(r, ROLE_ADMIN);
	assert_int_equal(role_parse("user", &r), 0);
	assert_int_equal(r, ROLE_USER);
	assert_int_equal(role_parse("viewer", &r), 0);
	assert_int_equal(r, ROLE_VIEWER);
	assert_int_equal(role_parse("root", &r), -1);
	assert_int_equal(role_parse("Admin", &r), -1);
	assert_string_equal(role_name(ROLE_USER), "user");
}

/* ---- sandboxes ------------------------------------------------------ */

static void put_sandbox(struct fx *f, const char *id, const char *tenant,
			int64_t created)
{
	struct sandbox_row r = { .created_ms = created,
				 .expires_ms = created + 300000,
				 .spec_json = "{\"memory\":268435456}" };
	strcpy(r.id, id);
	strcpy(r.tenant, tenant);
	strcpy(r.key_id, "key_0123456789ab");
	strcpy(r.state, "running");
	strcpy(r.template_id, "base");
	struct aj_err e;
	assert_int_equal(store_sandbox_insert(f->st, &r, &e), 0);
}

static void sandboxes_crud(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	put_sandbox(f, "sb_1", "a", 1000);
	put_sandbox(f, "sb_2", "a", 2000);
	put_sandbox(f, "sb_3", "b", 3000);

	struct sandbox_row r;
	assert_int_equal(store_sandbox_get(f->st, "sb_2", &r, &e), 0);
	assert_string_equal(r.id, "sb_2");
	assert_string_equal(r.tenant, "a");
	assert_string_equal(r.key_id, "key_0123456789ab");
	assert_string_equal(r.state, "running");
	assert_string_equal(r.template_id, "base");
	assert_int_equal(r.created_ms, 2000);
	assert_int_equal(r.expires_ms, 302000);
	assert_int_equal(r.ended_ms, 0);
	assert_string_equal(r.end_reason, "");
	assert_string_equal(r.spec_json, "{\"memory\":268435456}");
	assert_null(r.metadata_json);
	sandbox_row_free(&r);

	assert_int_equal(store_sandbox_get(f->st, "nope", &r, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);

	struct sandbox_row dup = { 0 };
	strcpy(dup.id, "sb_1");
	strcpy(dup.tenant, "c");
	strcpy(dup.state, "running");
	assert_int_equal(store_sandbox_insert(f->st, &dup, &e), -1);
	assert_int_equal(e.code, AJ_EEXIST);
	strcpy(dup.id, "sb_9");
	strcpy(dup.tenant, "bad tenant");
	assert_int_equal(store_sandbox_insert(f->st, &dup, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
	strcpy(dup.tenant, "c");
	dup.state[0] = '\0';
	assert_int_equal(store_sandbox_insert(f->st, &dup, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
	strcpy(dup.state, "running");
	dup.id[0] = '\0';
	assert_int_equal(store_sandbox_insert(f->st, &dup, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
}

static void expect_list(struct fx *f, const char *tenant, const char *st,
			const char *const *ids)
{
	struct sandbox_row *rows;
	size_t n, want = 0;
	struct aj_err e;
	while (ids[want])
		want++;
	assert_int_equal(store_sandbox_list(f->st, tenant, st, &rows, &n, &e),
			 0);
	assert_int_equal(n, want);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(rows[i].id, ids[i]);
		sandbox_row_free(&rows[i]);
	}
	free(rows);
}

static void sandboxes_list_end(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	put_sandbox(f, "sb_1", "a", 1000);
	put_sandbox(f, "sb_2", "a", 2000);
	put_sandbox(f, "sb_3", "b", 3000);

	expect_list(f, NULL, NULL,
		    (const char *const[]){ "sb_3", "sb_2", "sb_1", NULL });
	expect_list(f, "a", NULL, (const char *const[]){ "sb_2", "sb_1", NULL });
	expect_list(f, "zzz", NULL, (const char *const[]){ NULL });

	assert_int_equal(store_sandbox_end(f->st, "sb_2", 5000, "destroyed",
					   &e), 0);
	struct sandbox_row r;
	assert_int_equal(store_sandbox_get(f->st, "sb_2", &r, &e), 0);
	assert_string_equal(r.state, "terminated");
	assert_int_equal(r.ended_ms, 5000);
	assert_string_equal(r.end_reason, "destroyed");
	sandbox_row_free(&r);

	expect_list(f, NULL, "running",
		    (const char *const[]){ "sb_3", "sb_1", NULL });
	expect_list(f, NULL, "terminated", (const char *const[]){ "sb_2", NULL });
	expect_list(f, "a", "running", (const char *const[]){ "sb_1", NULL });
	expect_list(f, "b", "terminated", (const char *const[]){ NULL });

	int64_t n;
	assert_int_equal(store_sandbox_count_running(f->st, NULL, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_sandbox_count_running(f->st, "a", &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_sandbox_count_running(f->st, "c", &n, &e), 0);
	assert_int_equal(n, 0);

	assert_int_equal(store_sandbox_end(f->st, "sb_2", 6000, "expired", &e),
			 -1);
	assert_int_equal(e.code, AJ_ECONFLICT);
	assert_int_equal(store_sandbox_end(f->st, "nope", 6000, "expired", &e),
			 -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
}

static void sandboxes_expiry(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	put_sandbox(f, "sb_1", "a", 1000);
	assert_int_equal(store_sandbox_set_expiry(f->st, "sb_1", 99000, &e), 0);
	struct sandbox_row r;
	assert_int_equal(store_sandbox_get(f->st, "sb_1", &r, &e), 0);
	assert_int_equal(r.expires_ms, 99000);
	sandbox_row_free(&r);
	assert_int_equal(store_sandbox_set_expiry(f->st, "nope", 1, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
	assert_int_equal(store_sandbox_end(f->st, "sb_1", 2000, "destroyed",
					   &e), 0);
	assert_int_equal(store_sandbox_set_expiry(f->st, "sb_1", 1, &e), -1);
	assert_int_equal(e.code, AJ_ECONFLICT);
	assert_int_equal(store_sandbox_get(f->st, "sb_1", &r, &e), 0);
	assert_int_equal(r.expires_ms, 99000);
	sandbox_row_free(&r);
}

/* ---- audit ---------------------------------------------------------- */

static void append(struct fx *f, int i, const char *sandbox)
{
	struct audit_rec r = { .ts_ms = 1700000000000 + i };
	char detail[64];
	snprintf(detail, sizeof(detail), "{\"i\":%d}", i);
	strcpy(r.key_id, "key_0123456789ab");
	strcpy(r.tenant, "acme");
	strcpy(r.action, i % 2 ? "sandbox.exec" : "sandbox.create");
	snprintf(r.sandbox_id, sizeof(r.sandbox_id), "%s", sandbox);
	strcpy(r.outcome, "ok");
	r.detail = i % 3 ? detail : NULL;
	struct aj_err e;
	if (store_audit_append(f->st, &r, NULL, &e) != 0)
		fail_msg("append: %s", e.msg);
	assert_true(r.seq > 0);
	assert_int_equal(strlen(r.hash), 64);
}

static void append_n(struct fx *f, int n)
{
	for (int i = 1; i <= n; i++)
		append(f, i, i % 4 == 0 ? "sb_four" : "sb_other");
}

static void expect_verify(struct fx *f, int64_t checked, int64_t bad,
			  const char *why_part)
{
	int64_t c = -1, b = -1;
	char why[128];
	struct aj_err e;
	assert_int_equal(store_audit_verify(f->st, &c, &b, why, &e), 0);
	assert_int_equal(b, bad);
	assert_int_equal(c, checked);
	if (why_part && !strstr(why, why_part))
		fail_msg("why '%s' lacks '%s'", why, why_part);
	if (!why_part)
		assert_string_equal(why, "");
}

static void audit_intact_and_list(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	expect_verify(f, 0, 0, NULL);
	append_n(f, 30);
	expect_verify(f, 30, 0, NULL);

	struct audit_rec *recs;
	size_t n;
	struct audit_filter all = { 0 };
	assert_int_equal(store_audit_list(f->st, &all, &recs, &n, &e), 0);
	assert_int_equal(n, 30);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(recs[i].seq, (int64_t)i + 1);
		assert_int_equal(recs[i].ts_ms, 1700000000000 + (int64_t)i + 1);
		assert_int_equal(recs[i].detail == NULL, (i + 1) % 3 == 0);
		assert_string_equal(recs[i].tenant, "acme");
	}
	if (recs[0].detail)
		assert_string_equal(recs[0].detail, "{\"i\":1}");
	audit_recs_free(recs, n);

	struct audit_filter sb = { .sandbox_id = "sb_four", .after_seq = 8,
				   .limit = 2 };
	assert_int_equal(store_audit_list(f->st, &sb, &recs, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(recs[0].seq, 12);
	assert_int_equal(recs[1].seq, 16);
	audit_recs_free(recs, n);

	struct audit_filter since = { .tenant = "acme",
				      .since_ms = 1700000000000 + 25 };
	assert_int_equal(store_audit_list(f->st, &since, &recs, &n, &e), 0);
	assert_int_equal(n, 6);
	assert_int_equal(recs[0].seq, 25);
	audit_recs_free(recs, n);

	struct audit_filter other = { .tenant = "other" };
	assert_int_equal(store_audit_list(f->st, &other, &recs, &n, &e), 0);
	assert_int_equal(n, 0);
	audit_recs_free(recs, n);
}

static void audit_reopen_continues(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	append_n(f, 5);
	store_close(f->st);
	assert_int_equal(store_open(f->dir, &f->st, &e), 0);
	append(f, 6, "sb");
	expect_verify(f, 6, 0, NULL);
}

static void audit_invalid_rejected(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	struct audit_rec r = { .outcome = "ok" };
	assert_int_equal(store_audit_append(f->st, &r, NULL, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
	struct audit_rec r2 = { .action = "x" };
	assert_int_equal(store_audit_append(f->st, &r2, NULL, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
	struct audit_rec r3 = { .action = "x", .outcome = "ok" };
	struct exec_trace t = { 0 }; /* no exec_id */
	assert_int_equal(store_audit_append(f->st, &r3, &t, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
	assert_int_equal(r3.seq, 0);
	expect_verify(f, 0, 0, NULL);
}

static void audit_tamper_detail(void **state)
{
	struct fx *f = *state;
	append_n(f, 20);
	sql(f, "UPDATE audit SET detail = '{\"i\":0}' WHERE seq = 7");
	expect_verify(f, 6, 7, "hash mismatch");
}

static void audit_tamper_null_detail(void **state)
{
	struct fx *f = *state;
	append_n(f, 20);
	/* Record 9 has no detail: an empty one is a change too. */
	sql(f, "UPDATE audit SET detail = '' WHERE seq = 9");
	expect_verify(f, 8, 9, "hash mismatch");
}

static void audit_tamper_timestamp(void **state)
{
	struct fx *f = *state;
	append_n(f, 10);
	sql(f, "UPDATE audit SET ts_ms = ts_ms + 1 WHERE seq = 3");
	expect_verify(f, 2, 3, "hash mismatch");
}

static void audit_tamper_delete(void **state)
{
	struct fx *f = *state;
	append_n(f, 20);
	sql(f, "DELETE FROM audit WHERE seq = 12");
	expect_verify(f, 11, 12, "missing");
}

static void audit_tamper_delete_first(void **state)
{
	struct fx *f = *state;
	append_n(f, 5);
	sql(f, "DELETE FROM audit WHERE seq = 1");
	expect_verify(f, 0, 1, "missing");
}

static void audit_tamper_delete_tail(void **state)
{
	struct fx *f = *state;
	append_n(f, 20);
	sql(f, "DELETE FROM audit WHERE seq >= 19");
	expect_verify(f, 18, 19, "missing");
	/* Appending afterwards does not paper over the gap. */
	append(f, 21, "sb");
	expect_verify(f, 18, 19, "missing");
}

static void audit_tamper_relink(void **state)
{
	struct fx *f = *state;
	append_n(f, 10);
	/* Record 5 given the previous record's hash as its own. */
	sql(f, "UPDATE audit SET hash = (SELECT hash FROM audit WHERE seq = 4)"
	       " WHERE seq = 5");
	expect_verify(f, 4, 5, "hash mismatch");
}

static void audit_tamper_prev(void **state)
{
	struct fx *f = *state;
	append_n(f, 10);
	sql(f, "UPDATE audit SET prev_hash = "
	       "'0000000000000000000000000000000000000000000000000000000000000000'"
	       " WHERE seq = 9");
	expect_verify(f, 8, 9, "link broken");
}

static void audit_second_handle(void **state)
{
	struct fx *f = *state;
	struct store *other;
	struct aj_err e;
	/* Another process (the CLI) appending while the server runs. */
	assert_int_equal(store_open(f->dir, &other, &e), 0);
	for (int i = 1; i <= 10; i++) {
		struct audit_rec r = { .action = "x", .outcome = "ok" };
		struct store *st = i % 2 ? f->st : other;
		assert_int_equal(store_audit_append(st, &r, NULL, &e), 0);
		assert_int_equal(r.seq, i);
	}
	store_close(other);
	expect_verify(f, 10, 0, NULL);
}

#define THREADS 4
#define PER_THREAD 40

struct worker {
	struct store *st;
	int id;
	int failures;
};

static void *appender(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		struct audit_rec r = { 0 };
		char detail[32];
		snprintf(detail, sizeof(detail), "{\"t\":%d,\"i\":%d}", w->id, i);
		snprintf(r.action, sizeof(r.action), "thread.%d", w->id);
		strcpy(r.outcome, "ok");
		r.detail = detail;
		struct aj_err e;
		if (store_audit_append(w->st, &r, NULL, &e) != 0)
			w->failures++;
	}
	return NULL;
}

static void audit_concurrent(void **state)
{
	struct fx *f = *state;
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .st = f->st, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, appender, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	expect_verify(f, THREADS * PER_THREAD, 0, NULL);
	assert_int_equal(sql_int(f, "SELECT count(DISTINCT detail) FROM audit"),
			 THREADS * PER_THREAD);
	assert_int_equal(sql_int(f, "SELECT max(seq) FROM audit"),
			 THREADS * PER_THREAD);
}

/* ---- exec traces ---------------------------------------------------- */

static void append_exec(struct fx *f, const char *exec_id, int code,
			int64_t started)
{
	struct audit_rec r = { .ts_ms = started };
	strcpy(r.action, "sandbox.exec");
	strcpy(r.sandbox_id, "sb_x");
	strcpy(r.tenant, "acme");
	strcpy(r.outcome, "ok");
	r.detail = "{\"cmd\":\"echo hi\"}";
	struct exec_trace t = {
		.command = "echo hi", .started_ms = started, .exit_code = code,
		.signal = 0, .wall_ms = 12, .cpu_ms = 3, .max_rss_kb = 2048,
		.stdout_bytes = 3, .stderr_bytes = 0, .stdout_truncated = true,
		.oom_killed = true,
	};
	strcpy(t.exec_id, exec_id);
	strcpy(t.sandbox_id, "sb_x");
	strcpy(t.tenant, "acme");
	strcpy(t.key_id, "key_0123456789ab");
	struct aj_err e;
	assert_int_equal(store_audit_append(f->st, &r, &t, &e), 0);
}

static void exec_traces(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	append_n(f, 2);
	append_exec(f, "ex_1", 0, 5000);
	append_exec(f, "ex_2", 7, 6000);
	append(f, 5, "sb");
	expect_verify(f, 5, 0, NULL);
	assert_int_equal(sql_int(f, "SELECT audit_seq FROM exec_traces"
				    " WHERE exec_id = 'ex_2'"), 4);

	struct exec_trace *t;
	char **cmds;
	size_t n;
	assert_int_equal(store_exec_list(f->st, "sb_x", 0, &t, &cmds, &n, &e),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(t[0].exec_id, "ex_2"); /* newest first */
	assert_int_equal(t[0].exit_code, 7);
	assert_string_equal(t[0].command, "echo hi");
	assert_ptr_equal(t[0].command, cmds[0]);
	assert_string_equal(t[0].key_id, "key_0123456789ab");
	assert_int_equal(t[0].max_rss_kb, 2048);
	assert_int_equal(t[0].wall_ms, 12);
	assert_true(t[0].stdout_truncated);
	assert_false(t[0].stderr_truncated);
	assert_false(t[0].timed_out);
	assert_true(t[0].oom_killed);
	assert_string_equal(t[1].exec_id, "ex_1");
	for (size_t i = 0; i < n; i++)
		free(cmds[i]);
	free(cmds);
	free(t);

	assert_int_equal(store_exec_list(f->st, "sb_x", 1, &t, &cmds, &n, &e),
			 0);
	assert_int_equal(n, 1);
	free(cmds[0]);
	free(cmds);
	free(t);

	/* A duplicate exec id fails as a whole: no audit record either. */
	struct audit_rec r = { .action = "sandbox.exec", .outcome = "ok" };
	struct exec_trace dup = { .exec_id = "ex_1" };
	assert_int_equal(store_audit_append(f->st, &r, &dup, &e), -1);
	assert_int_equal(e.code, AJ_EEXIST);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit"), 5);
	expect_verify(f, 5, 0, NULL);
}

static void exec_trace_tamper(void **state)
{
	struct fx *f = *state;
	append_n(f, 2);
	append_exec(f, "ex_1", 1, 5000);
	append_n(f, 2);
	sql(f, "UPDATE exec_traces SET exit_code = 0 WHERE exec_id = 'ex_1'");
	expect_verify(f, 2, 3, "hash mismatch");
}

static void exec_trace_delete(void **state)
{
	struct fx *f = *state;
	append_exec(f, "ex_1", 1, 5000);
	append_exec(f, "ex_2", 1, 5001);
	sql(f, "DELETE FROM exec_traces WHERE exec_id = 'ex_2'");
	expect_verify(f, 1, 2, "hash mismatch");
}

/* ---- idempotency ---------------------------------------------------- */

static void idempotency(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	int status = 0;
	char *body = NULL;
	bool found = true;
	assert_int_equal(store_idem_get(f->st, "acme", "k1", "create", &status,
					&body, &found, &e), 0);
	assert_false(found);
	assert_int_equal(store_idem_put(f->st, "acme", "k1", "create", 201,
					"{\"id\":\"sb_1\"}", &e), 0);
	assert_int_equal(store_idem_get(f->st, "acme", "k1", "create", &status,
					&body, &found, &e), 0);
	assert_true(found);
	assert_int_equal(status, 201);
	assert_string_equal(body, "{\"id\":\"sb_1\"}");
	free(body);

	/* Same key, another operation. */
	assert_int_equal(store_idem_get(f->st, "acme", "k1", "exec:sb_1",
					&status, &body, &found, &e), -1);
	assert_int_equal(e.code, AJ_ECONFLICT);
	assert_false(found);
	/* Stored once. */
	assert_int_equal(store_idem_put(f->st, "acme", "k1", "create", 500,
					"x", &e), -1);
	assert_int_equal(e.code, AJ_EEXIST);
	/* Keys are per tenant. */
	assert_int_equal(store_idem_get(f->st, "other", "k1", "create", &status,
					&body, &found, &e), 0);
	assert_false(found);
	/* Bad arguments. */
	assert_int_equal(store_idem_put(f->st, "acme", "", "create", 1, "",
					&e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
	assert_int_equal(store_idem_get(f->st, "a b", "k", "create", &status,
					&body, &found, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
}

static void idempotency_expiry(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	int status;
	char *body;
	bool found;
	assert_int_equal(store_idem_put(f->st, "acme", "old", "create", 201,
					"first", &e), 0);
	assert_int_equal(store_idem_put(f->st, "acme", "new", "create", 201,
					NULL, &e), 0);
	sql(f, "UPDATE idempotency SET created_ms = created_ms - 90000000"
	       " WHERE key = 'old'");
	assert_int_equal(store_idem_get(f->st, "acme", "old", "create", &status,
					&body, &found, &e), 0);
	assert_false(found);
	assert_int_equal(store_idem_get(f->st, "acme", "new", "create", &status,
					&body, &found, &e), 0);
	assert_true(found);
	assert_string_equal(body, "");
	free(body);
	/* The expired record is deleted by the next put and can be reused. */
	assert_int_equal(store_idem_put(f->st, "acme", "old", "exec:sb", 200,
					"second", &e), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM idempotency"), 2);
	assert_int_equal(store_idem_get(f->st, "acme", "old", "exec:sb",
					&status, &body, &found, &e), 0);
	assert_true(found);
	assert_string_equal(body, "second");
	free(body);
}

/* PRAGMA synchronous of the store's own connection. */
static int synchronous(struct store *st)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(st->db, "PRAGMA synchronous", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Power durability syncs every commit (FULL = 2); process durability
 * commits into the WAL without a sync (NORMAL = 1).  A fresh store starts
 * at power. */
static void durability_levels(void **state)
{
	struct fx *f = *state;
	struct aj_err e;
	enum store_durability d;
	assert_int_equal(synchronous(f->st), 2);
	assert_int_equal(store_set_durability(f->st, STORE_DURABLE_PROCESS, &e), 0);
	assert_int_equal(synchronous(f->st), 1);
	assert_int_equal(store_set_durability(f->st, STORE_DURABLE_POWER, &e), 0);
	assert_int_equal(synchronous(f->st), 2);
	assert_int_equal(store_durability_parse("process", &d), 0);
	assert_int_equal(d, STORE_DURABLE_PROCESS);
	assert_string_equal(store_durability_name(d), "process");
	assert_int_equal(store_durability_parse("power", &d), 0);
	assert_int_equal(d, STORE_DURABLE_POWER);
	assert_string_equal(store_durability_name(d), "power");
	assert_int_equal(store_durability_parse("never", &d), -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(open_private_wal),
		T(open_newer_schema_refused),
		T(open_not_a_directory),
		T(keys_create_auth),
		T(keys_wrong_secrets),
		T(keys_list_revoke),
		T(keys_validation),
		T(sandboxes_crud),
		T(sandboxes_list_end),
		T(sandboxes_expiry),
		T(audit_intact_and_list),
		T(audit_reopen_continues),
		T(audit_invalid_rejected),
		T(audit_tamper_detail),
		T(audit_tamper_null_detail),
		T(audit_tamper_timestamp),
		T(audit_tamper_delete),
		T(audit_tamper_delete_first),
		T(audit_tamper_delete_tail),
		T(audit_tamper_relink),
		T(audit_tamper_prev),
		T(audit_second_handle),
		T(audit_concurrent),
		T(exec_traces),
		T(exec_trace_tamper),
		T(exec_trace_delete),
		T(idempotency),
		T(idempotency_expiry),
		T(durability_levels),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
