/* store_int.h - what the store_*.c files share; not for the rest of the
 * program, which uses store.h.
 *
 * Locking discipline: every public store function takes st->mu for its
 * whole duration, so the one connection and its cached statements are
 * only ever used by one thread at a time.  Statements come from
 * store_stmt() and go back with store_release() before the mutex is let
 * go, so no statement keeps a read transaction (and an old snapshot) open
 * between calls. */
#ifndef AJ_BOX_STORE_INT_H
#define AJ_BOX_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "box/store.h"

#define STORE_STMT_CACHE 64

struct store_cached {
	const char *sql; /* identity is the pointer: each SQL text is a static */
	sqlite3_stmt *stmt;
};

struct store {
	pthread_mutex_t mu;
	sqlite3 *db;
	struct store_cached cache[STORE_STMT_CACHE];
	size_t ncached;
};

void store_lock(struct store *st);
void store_unlock(struct store *st);

/* The prepared statement for sql (a static string), prepared on first use
 * and cached.  NULL and *e filled on failure. */
sqlite3_stmt *store_stmt(struct store *st, const char *sql, struct aj_err *e);
/* Reset a statement from store_stmt and drop its bindings. */
void store_release(sqlite3_stmt *s);

/* Fill *e from a SQLite result code and the connection's message:
 * SQLITE_FULL -> AJ_ENOSPC, SQLITE_BUSY/LOCKED -> AJ_EUNAVAIL (another
 * process held the database longer than the busy timeout), anything else
 * AJ_EINTERNAL.  Returns -1. */
int store_fail(struct store *st, int rc, const char *what, struct aj_err *e);

/* BEGIN IMMEDIATE (the write lock up front, so a read-then-write
 * transaction cannot fail half way with SQLITE_BUSY), COMMIT, ROLLBACK. */
int store_begin(struct store *st, struct aj_err *e);
/* BEGIN (deferred): several reads from one snapshot; end it with
 * store_rollback. */
int store_begin_read(struct store *st, struct aj_err *e);
int store_commit(struct store *st, struct aj_err *e);
void store_rollback(struct store *st);

/* Bind helpers: text NULL binds SQL NULL.  The text must stay valid until
 * store_release (it is bound without a copy).  Return a SQLite code. */
int store_bind_text(sqlite3_stmt *s, int idx, const char *v);
/* An UPDATE of row id changed nothing: say why (lock held).  exists_sql
 * selects the row by ?1.  AJ_ECONFLICT "<what> <id> <conflict>" if it is
 * there, AJ_ENOTFOUND "no <what> <id>" if not.  Returns -1. */
int store_explain_unchanged(struct store *st, const char *exists_sql,
			    const char *what, const char *id,
			    const char *conflict, struct aj_err *e);
int store_bind_int(sqlite3_stmt *s, int idx, int64_t v);

/* Column helpers.  store_col_copy truncates to cap - 1 bytes; the store
 * validates lengths on the way in, so that never happens for its rows. */
void store_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap);
/* malloc'd copy of a text column; NULL for SQL NULL.  *oom set on failure. */
char *store_col_dup(sqlite3_stmt *s, int col, bool *oom);

/* Wall clock in milliseconds since the epoch. */
int64_t store_now_ms(void);

/* true if s is NUL-terminated within cap bytes (so it fits a char[cap]). */
bool store_fits(const char *s, size_t cap);
/* Tenant names: 1-64 of [A-Za-z0-9_.-]. */
bool store_tenant_valid(const char *t);

#endif
