/* exec.h - exec with a PATH search in the command's own environment. */
#ifndef AJ_UTIL_EXEC_H
#define AJ_UTIL_EXEC_H

/* execve() argv[0], searched like execvpe() does but in the PATH of env
 * (execvpe would use the caller's), falling back to the usual system
 * directories.  Allocates nothing, so it may run in a vfork-style child
 * that shares its parent's memory.  Returns only on failure, with the
 * errno to report (EACCES wins over ENOENT, as in a shell). */
int aj_exec_path(char *const argv[], char *const env[]);

/* The same search with execve done by fn, which returns only on failure,
 * with the errno (positive) instead of setting errno: for a child that
 * shares its parent's memory while the parent runs on, and so must not
 * write the parent's errno (see src/box/supervisor.c).  The search itself
 * calls only pure string functions. */
typedef int (*aj_execve_fn)(const char *path, char *const argv[],
			    char *const env[]);
int aj_exec_path_with(aj_execve_fn fn, char *const argv[], char *const env[]);

#endif
