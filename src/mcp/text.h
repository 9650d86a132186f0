/* text.h - UTF-8 helpers for putting program output into JSON strings,
 * which must be valid UTF-8.  Pure. */
#ifndef AJ_MCP_TEXT_H
#define AJ_MCP_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether p[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *p, size_t n);
/* Length of p[0..n) without a multi-byte sequence cut off at its end. */
size_t utf8_complete_prefix(const char *p, size_t n);
/* A JSON string of p[0..n); ill-formed bytes become U+FFFD. */
json_t *text_json(const char *p, size_t n);

#endif
