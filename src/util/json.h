/* json.h - JSON helpers shared by every layer (on jansson). */
#ifndef AJ_UTIL_JSON_H
#define AJ_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>

/* Length of the longest prefix of s[0..n) that is valid UTF-8 (no
 * overlongs, surrogates or code points past U+10FFFF). */
size_t aj_utf8_valid_len(const char *s, size_t n);

/* A JSON string of any C string: each byte that is not part of valid
 * UTF-8 becomes U+FFFD, so text from a client (an id from a URL, a
 * command line) always makes a string, escaped by jansson.  NULL gives
 * JSON null.  NULL only when out of memory. */
json_t *aj_json_text(const char *s);

#endif
