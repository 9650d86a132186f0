/* err.h - the error object every layer below a front end returns.
 *
 * Nothing under src/jail or src/box prints or exits on failure: it fills an
 * aj_err and returns -1 (or NULL).  Each front end maps the code to its own
 * vocabulary (HTTP status, JSON-RPC error, exit status) in one place. */
#ifndef AJ_UTIL_ERR_H
#define AJ_UTIL_ERR_H

enum aj_code {
	AJ_OK = 0,
	AJ_EINVAL,       /* bad argument from the caller */
	AJ_ENOTFOUND,    /* no such sandbox, file, process, key ... */
	AJ_EEXIST,       /* already exists */
	AJ_ECONFLICT,    /* wrong state for the operation */
	AJ_EAUTH,        /* missing or wrong credentials */
	AJ_EFORBIDDEN,   /* credentials fine, role does not allow it */
	AJ_EQUOTA,       /* a quota or rate limit was reached */
	AJ_ETOOBIG,      /* request or payload over its size limit */
	AJ_ENOSPC,       /* sandbox disk quota exhausted */
	AJ_ETIMEOUT,     /* deadline passed */
	AJ_EUNAVAIL,     /* sandbox not running / service busy */
	AJ_EUNSUPPORTED, /* not implemented here */
	AJ_EINTERNAL,    /* our bug or a host failure */
};

struct aj_err {
	enum aj_code code;
	int sys_errno; /* errno behind the failure, 0 if none */
	char msg[256];
};

/* Fill *e (if e is not NULL) and return -1, so callers can write
 * `return aj_err_set(e, AJ_EINVAL, 0, "bad size '%s'", s);` */
int aj_err_set(struct aj_err *e, enum aj_code code, int sys_errno,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Like aj_err_set with sys_errno = errno, and ": strerror" appended. */
int aj_err_sys(struct aj_err *e, enum aj_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message with context ("create sandbox: ..."). */
int aj_err_wrap(struct aj_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void aj_err_clear(struct aj_err *e);

/* The three above always return -1.  Say so to clang's static analyzer
 * (tests/static.sh), which does not look into other files: otherwise
 * every `return aj_err_set(...)` looks like it might return success. */
#ifdef __clang_analyzer__
#define aj_err_set(...) (aj_err_set(__VA_ARGS__), -1)
#define aj_err_sys(...) (aj_err_sys(__VA_ARGS__), -1)
#define aj_err_wrap(...) (aj_err_wrap(__VA_ARGS__), -1)
#endif

/* Stable snake_case name of a code, used in API error bodies. */
const char *aj_code_name(enum aj_code code);

#endif
