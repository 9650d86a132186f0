/* env.c - the environment a sandboxed command starts with.
 *
 * Built from nothing: the caller's environment (API keys, SSH agent
 * sockets, tokens) never reaches the sandbox.  Only this fixed base plus
 * what the spec adds explicitly. */
#include <stdlib.h>
#include <string.h>

#include "jail/internal.h"

static const char *const base_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=" JAIL_HOME,
	"USER=" JAIL_USER_NAME,
	"LOGNAME=" JAIL_USER_NAME,
	"SHELL=/bin/bash",
	"TERM=dumb",
	"LANG=C.UTF-8",
	/* The sandbox sees the host's /etc/localtime; the leading colon
	 * makes libc read that file instead of probing for TZ files. */
	"TZ=:/etc/localtime",
};
#define NBASE (sizeof(base_env) / sizeof(base_env[0]))

/* Length of the name part of "K=V" (up to '='), or 0 if malformed. */
static size_t name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq && eq != kv ? (size_t)(eq - kv) : 0;
}

static int same_name(const char *a, const char *b)
{
	size_t n = name_len(a);
	return n && n == name_len(b) && memcmp(a, b, n) == 0;
}

char **jail_env_build(const struct jail_spec *spec, struct aj_err *e)
{
	size_t n = NBASE + spec->nenv;
	size_t bytes = (n + 1) * sizeof(char *);

	for (size_t i = 0; i < spec->nenv; i++) {
		const char *kv = spec->env[i];
		if (!kv || !name_len(kv)) {
			aj_err_set(e, AJ_EINVAL, 0,
				   "environment entry '%s' is not NAME=VALUE",
				   kv ? kv : "(null)");
			return NULL;
		}
	}
	/* One block: the pointer array followed by nothing else; the strings
	 * stay where they are (base table and the caller's spec), which
	 * outlive the exec. */
	char **env = calloc(1, bytes);
	if (!env) {
		aj_err_sys(e, AJ_EINTERNAL, "environment");
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < NBASE; i++) {
		int overridden = 0;
		for (size_t j = 0; j < spec->nenv; j++)
			overridden |= same_name(base_env[i], spec->env[j]);
		if (!overridden)
			env[k++] = (char *)base_env[i];
	}
	for (size_t j = 0; j < spec->nenv; j++) {
		/* A later --env of the same name wins over an earlier one. */
		int later = 0;
		for (size_t l = j + 1; l < spec->nenv; l++)
			later |= same_name(spec->env[j], spec->env[l]);
		if (!later)
			env[k++] = (char *)spec->env[j];
	}
	env[k] = NULL;
	return env;
}
