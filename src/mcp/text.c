/* text.c - UTF-8 validation and repair for program output. */
#include "mcp/text.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed sequence at p (n bytes left), or 0. */
static size_t seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_valid(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		size_t l = seq_len(u + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

size_t utf8_complete_prefix(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	/* step back over at most 3 continuation bytes to the last lead byte */
	size_t i = n;
	for (int k = 0; k < 4 && i > 0; k++) {
		i--;
		if ((u[i] & 0xc0) != 0x80)
			break;
	}
	if (i < n && u[i] >= 0xc0) {
		size_t want = u[i] >= 0xf0 ? 4 : u[i] >= 0xe0 ? 3 : 2;
		if (n - i < want)
			return i;
	}
	return n;
}

json_t *text_json(const char *p, size_t n)
{
	if (utf8_valid(p, n))
		return json_stringn(p, n);
	/* worst case: every byte becomes the 3 bytes of U+FFFD */
	char *fixed = malloc(n * 3 + 1);
	if (!fixed)
		return json_string("");
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, o = 0;
	while (i < n) {
		size_t l = seq_len(u + i, n - i);
		if (l) {
			memcpy(fixed + o, p + i, l);
			o += l;
			i += l;
		} else {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	json_t *j = json_stringn(fixed, o);
	free(fixed);
	return j;
}
