#include "util/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

size_t aj_utf8_valid_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned c = u[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (len > n - i)
			return i;
		for (size_t k = 1; k < len; k++) {
			if ((u[i + k] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (u[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += len;
	}
	return n;
}

json_t *aj_json_text(const char *s)
{
	if (!s)
		return json_null();
	size_t n = strlen(s), ok = aj_utf8_valid_len(s, n);
	if (ok == n)
		return json_stringn(s, n);
	struct aj_buf b = { 0 };
	size_t i = 0;
	while (i < n) {
		size_t k = aj_utf8_valid_len(s + i, n - i);
		if (aj_buf_append(&b, s + i, k) < 0)
			break;
		i += k;
		if (i < n) {
			if (aj_buf_append(&b, "\xEF\xBF\xBD", 3) < 0)
				break;
			i++;
		}
	}
	json_t *j = i == n ? json_stringn(b.data ? b.data : "", b.len) : NULL;
	aj_buf_free(&b);
	return j;
}
