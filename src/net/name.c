/* name.c - validate and canonicalise host names (see name.h). */
#include "net/name.h"

#include <string.h>

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* All digits, or "0x" and hex digits: what inet_aton reads as a number. */
static bool numeric_label(const char *l, size_t n)
{
	size_t i = 0;
	if (n >= 2 && l[0] == '0' && l[1] == 'x') {
		for (i = 2; i < n; i++)
			if (!((l[i] >= '0' && l[i] <= '9') ||
			      (l[i] >= 'a' && l[i] <= 'f')))
				return false;
		return true;
	}
	for (i = 0; i < n; i++)
		if (l[i] < '0' || l[i] > '9')
			return false;
	return true;
}

/* Check the label out[start..end) (already lowercase). */
static int check_label(const char *out, size_t start, size_t end,
		       struct aj_err *e)
{
	size_t n = end - start;
	if (n == 0)
		return aj_err_set(e, AJ_EINVAL, 0, "empty label");
	if (n > NET_LABEL_MAX)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "label longer than %d bytes", NET_LABEL_MAX);
	if (out[start] == '-' || out[end - 1] == '-')
		return aj_err_set(e, AJ_EINVAL, 0,
				  "label starts or ends with '-'");
	return 0;
}

static int normalize(const char *s, size_t len, char *out, struct aj_err *e)
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return aj_err_set(e, AJ_EINVAL, 0, "empty name");
	if (len > NET_NAME_MAX)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "name longer than %d bytes", NET_NAME_MAX);
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = lower(s[i]);
		if (c == '.') {
			if (check_label(out, label, i, e) < 0)
				return -1;
			label = i + 1;
		} else if (!name_char(c)) {
			return aj_err_set(e, AJ_EINVAL, 0,
					  "character 0x%02x not allowed in a "
					  "host name (letters, digits, '-', "
					  "'_'; IDNA as xn--)",
					  (unsigned char)s[i]);
		}
		out[i] = c;
	}
	out[len] = '\0';
	if (check_label(out, label, len, e) < 0)
		return -1;
	if (numeric_label(out + label, len - label))
		return aj_err_set(e, AJ_EINVAL, 0,
				  "looks like a numeric IPv4 address; write "
				  "addresses as four decimal parts");
	return 0;
}

int net_name_normalize(const char *s, size_t len, char out[NET_NAME_MAX + 1],
		       struct aj_err *e)
{
	if (normalize(s, len, out, e) == 0)
		return 0;
	out[0] = '\0'; /* never half a name */
	return -1;
}

bool net_name_under(const char *name, const char *parent, bool strict)
{
	size_t n = strlen(name), p = strlen(parent);
	if (n == p)
		return !strict && memcmp(name, parent, n) == 0;
	return n > p && name[n - p - 1] == '.' &&
	       memcmp(name + n - p, parent, p) == 0;
}

char *net_text_quote(char *out, size_t cap, const char *s, size_t len)
{
	if (cap == 0)
		return out;
	size_t n = len < cap - 1 ? len : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n < len && n >= 3)
		memcpy(out + n - 3, "...", 3);
	out[n] = '\0';
	return out;
}
