/* name.h - host names as the egress policy sees them.
 *
 * One canonical form for every name that reaches a policy decision (a
 * policy entry, a DNS question, a TLS SNI, an HTTP Host): ASCII lowercase,
 * no trailing dot, labels of letters, digits, '-' and '_' (LDH plus the
 * underscore of _service names), 1..63 bytes each, 253 in all.  IDNA is
 * the caller's business: pass the punycode ("xn--...") form.
 *
 * A name whose last label looks like a number ("127.1", "0x7f.1",
 * "2130706433", "1.2.3.4.5") is refused: inet_aton() and therefore
 * getaddrinfo() would take most of these as an IPv4 address, so a "name"
 * could smuggle 127.0.0.1 past the address rules.  Addresses are written
 * as addresses (net/addr.h), in the strict inet_pton forms only. */
#ifndef AJ_NET_NAME_H
#define AJ_NET_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define NET_NAME_MAX 253 /* without the trailing dot */
#define NET_LABEL_MAX 63

/* Validate s[0..len) (need not be NUL-terminated) and write its canonical
 * form to out (NUL-terminated).  One trailing dot is tolerated and
 * dropped.  0, or -1 with e saying what is wrong (AJ_EINVAL). */
int net_name_normalize(const char *s, size_t len, char out[NET_NAME_MAX + 1],
		       struct aj_err *e);

/* Is the canonical name `name` equal to `parent` or below it (a label
 * boundary: "a.b.com" is below "b.com", "ab.com" is not)?  `strict`
 * excludes equality.  Both must be canonical. */
bool net_name_under(const char *name, const char *parent, bool strict);

/* Copy s[0..len) to out (cap bytes, NUL-terminated) for an error message
 * or a log line: bytes outside printable ASCII become '?', and a text
 * longer than fits ends in "...".  Returns out. */
char *net_text_quote(char *out, size_t cap, const char *s, size_t len);

#endif
