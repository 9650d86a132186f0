/* path.h - client paths of the files API made absolute and normalized,
 * before anything resolves them (always inside the sandbox root, see
 * files.c).  Pure string work: no filesystem, no sandbox; a parser of
 * outside input with a fuzz harness of its own (tests/fuzz). */
#ifndef AJ_BOX_PATH_H
#define AJ_BOX_PATH_H

#include <limits.h>

#include "util/err.h"

/* A client path made absolute (relative ones start at /workspace) with "."
 * and ".." applied lexically: the result starts with '/', has no empty,
 * "." or ".." segment and no trailing '/' (but "/" itself).  AJ_EINVAL if
 * in is empty, too long, or has a segment over NAME_MAX. */
int box_path_norm(const char *in, char out[PATH_MAX], struct aj_err *e);

#endif
