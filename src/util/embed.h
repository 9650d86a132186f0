/* embed.h - files compiled into the binary (see scripts/embed.sh). */
#ifndef AJ_UTIL_EMBED_H
#define AJ_UTIL_EMBED_H

#include <stddef.h>

struct aj_embedded {
	const char *name; /* basename of the source file */
	const char *data; /* NUL-terminated contents */
	size_t len;
};

/* Terminated by an entry whose name is NULL. */
extern const struct aj_embedded aj_embedded[];

/* Look up an embedded file by basename; NULL if absent. */
const struct aj_embedded *aj_embedded_find(const char *name);

#endif
