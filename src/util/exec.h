/* exec.h - exec with a PATH search in the command's own environment. */
#ifndef AJ_UTIL_EXEC_H
#define AJ_UTIL_EXEC_H

/* execve() argv[0], searched like execvpe() does but in the PATH of env
 * (execvpe would use the caller's), falling back to the usual system
 * directories.  Allocates nothing, so it may run in a vfork-style child
 * that shares its parent's memory.  Returns only on failure, with the
 * errno to report (EACCES wins over ENOENT, as in a shell). */
int aj_exec_path(char *const argv[], char *const env[]);

#endif
