/* pct.h - percent-decoding of URL parts. */
#ifndef AJ_UTIL_PCT_H
#define AJ_UTIL_PCT_H

#include <stdbool.h>
#include <stddef.h>

/* Decode n bytes of s ('+' is a space when plus) into a malloc'd string.
 * NULL on a malformed escape or an encoded NUL (errno EINVAL), which would
 * silently cut the string short, or when out of memory (ENOMEM). */
char *aj_pct_decode(const char *s, size_t n, bool plus);

#endif
