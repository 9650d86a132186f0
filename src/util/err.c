#include "util/err.h"

/* (err.h tells the static analyzer these return -1 with macros) */
#undef aj_err_set
#undef aj_err_sys
#undef aj_err_wrap

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vfill(struct aj_err *e, enum aj_code code, int sys_errno,
		  const char *fmt, va_list ap)
{
	e->code = code;
	e->sys_errno = sys_errno;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int aj_err_set(struct aj_err *e, enum aj_code code, int sys_errno,
	       const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vfill(e, code, sys_errno, fmt, ap);
	va_end(ap);
	return -1;
}

int aj_err_sys(struct aj_err *e, enum aj_code code, const char *fmt, ...)
{
	int saved = errno;
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vfill(e, code, saved, fmt, ap);
	va_end(ap);
	size_t len = strlen(e->msg);
	snprintf(e->msg + len, sizeof(e->msg) - len, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int aj_err_wrap(struct aj_err *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	char prefix[128];
	char old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	size_t n = strlen(prefix);
	if (n > sizeof(e->msg) - 3)
		n = sizeof(e->msg) - 3;
	memcpy(e->msg, prefix, n);
	memcpy(e->msg + n, ": ", 2);
	size_t room = sizeof(e->msg) - n - 3;
	size_t olen = strnlen(old, room);
	memcpy(e->msg + n + 2, old, olen);
	e->msg[n + 2 + olen] = '\0';
	return -1;
}

void aj_err_clear(struct aj_err *e)
{
	if (!e)
		return;
	e->code = AJ_OK;
	e->sys_errno = 0;
	e->msg[0] = '\0';
}

const char *aj_code_name(enum aj_code code)
{
	switch (code) {
	case AJ_OK: return "ok";
	case AJ_EINVAL: return "invalid_argument";
	case AJ_ENOTFOUND: return "not_found";
	case AJ_EEXIST: return "already_exists";
	case AJ_ECONFLICT: return "conflict";
	case AJ_EAUTH: return "unauthenticated";
	case AJ_EFORBIDDEN: return "forbidden";
	case AJ_EQUOTA: return "quota_exceeded";
	case AJ_ETOOBIG: return "too_large";
	case AJ_ENOSPC: return "no_space";
	case AJ_ETIMEOUT: return "timeout";
	case AJ_EUNAVAIL: return "unavailable";
	case AJ_EUNSUPPORTED: return "unsupported";
	case AJ_EINTERNAL: return "internal";
	}
	return "internal";
}
