/* httphead_edit.c - find and splice headers of a parsed request head
 * (see httphead.h): how the secrets step adds or replaces a header. */
#include <string.h>
#include <strings.h>

#include "net/httphead_int.h"

int hh_find(const char *buf, const struct hh_request *r, const char *name,
	    size_t from)
{
	char low[64];
	size_t n = strlen(name);
	if (n >= sizeof(low))
		return -1;
	for (size_t i = 0; i <= n; i++)
		low[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
	for (size_t i = from; i < r->nheaders; i++)
		if (hh_span_is(buf, r->headers[i].name, low))
			return (int)i;
	return -1;
}

static const char *const fixed[] = { "host", "content-length", "transfer-encoding",
				     "connection", "upgrade" };

static bool is_fixed(const char *name)
{
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcasecmp(name, fixed[i]) == 0)
			return true;
	return false;
}

static int check_set(const struct hh_set *s, struct aj_err *e)
{
	size_t n = s->name ? strlen(s->name) : 0;
	if (n == 0 || n >= 64)
		return aj_err_set(e, AJ_EINVAL, 0, "bad header name");
	for (size_t i = 0; i < n; i++)
		if (!hh_tchar((unsigned char)s->name[i]))
			return aj_err_set(e, AJ_EINVAL, 0, "bad header name");
	if (is_fixed(s->name))
		return aj_err_set(e, AJ_EINVAL, 0, "header %s cannot be changed", s->name);
	for (const char *v = s->value; v && *v; v++)
		if ((unsigned char)*v < 0x20 ? *v != '\t' : *v == 0x7f)
			return aj_err_set(e, AJ_EINVAL, 0, "control byte in the value of %s",
					  s->name);
	return 0;
}

static bool named(const char *buf, const struct hh_header *h,
		  const struct hh_set *sets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h->name.len == strlen(sets[i].name) &&
		    strncasecmp(buf + h->name.off, sets[i].name, h->name.len) == 0)
			return true;
	return false;
}

static int emit(struct aj_buf *out, const char *buf, const struct hh_request *r,
		const struct hh_set *sets, size_t n)
{
	size_t line1 = r->nheaders ? r->headers[0].line.off : r->head_len - 2;
	if (aj_buf_append(out, buf, line1) < 0)
		return -1;
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct hh_header *h = &r->headers[i];
		if (!named(buf, h, sets, n) &&
		    aj_buf_append(out, buf + h->line.off, h->line.len) < 0)
			return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (sets[i].value &&
		    aj_buf_appendf(out, "%s: %s\r\n", sets[i].name, sets[i].value) < 0)
			return -1;
	return aj_buf_append(out, "\r\n", 2);
}

int hh_rewrite(const char *buf, const struct hh_request *r,
	       const struct hh_set *sets, size_t n, struct aj_buf *out,
	       struct aj_err *e)
{
	if (r->head_len == 0)
		return aj_err_set(e, AJ_EINVAL, 0, "no parsed request head");
	for (size_t i = 0; i < n; i++)
		if (check_set(&sets[i], e) < 0)
			return -1;
	size_t before = out->len;
	if (emit(out, buf, r, sets, n) == 0)
		return 0;
	out->len = before;
	if (out->data)
		out->data[before] = '\0';
	return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
}
