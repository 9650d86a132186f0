/* buf.h - a growable byte buffer, always NUL-terminated. */
#ifndef AJ_UTIL_BUF_H
#define AJ_UTIL_BUF_H

#include <stddef.h>

struct aj_buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
};

/* 0, or -1 if out of memory (the buffer is left as it was). */
int aj_buf_append(struct aj_buf *b, const void *p, size_t n);
int aj_buf_appendf(struct aj_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void aj_buf_consume(struct aj_buf *b, size_t n);
/* Hand the contents to the caller (malloc'd, NUL-terminated, never NULL
 * unless out of memory) and reset the buffer. */
char *aj_buf_steal(struct aj_buf *b);
void aj_buf_free(struct aj_buf *b);

#endif
