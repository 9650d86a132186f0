/* exec.c - see exec.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/exec.h"

int aj_exec_path_with(aj_execve_fn fn, char *const argv[], char *const env[])
{
	if (strchr(argv[0], '/'))
		return fn(argv[0], argv, env);
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	for (char *const *e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	int err = ENOENT;
	char buf[4096];
	size_t alen = strlen(argv[0]);
	while (*path) {
		const char *end = strchrnul(path, ':');
		size_t dlen = (size_t)(end - path);
		if (dlen + 1 + alen + 1 <= sizeof(buf)) {
			memcpy(buf, path, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, argv[0], alen + 1);
			int e = fn(buf, argv, env);
			if (e == EACCES)
				err = EACCES;
			else if (e != ENOENT && e != ENOTDIR)
				return e;
		}
		path = *end ? end + 1 : end;
	}
	return err;
}

static int libc_execve(const char *path, char *const argv[], char *const env[])
{
	execve(path, argv, env);
	return errno;
}

int aj_exec_path(char *const argv[], char *const env[])
{
	return aj_exec_path_with(libc_execve, argv, env);
}
