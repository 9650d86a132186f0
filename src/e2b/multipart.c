/* multipart.c - a streaming multipart/form-data parser (RFC 7578), for
 * uploads: part bodies go to the callbacks as they arrive, whatever the
 * size, and only a delimiter's worth of bytes is ever held back, or a
 * part's header block (MP_MAX_HELD).
 *
 * The body is parsed as if it began with CRLF, so the first delimiter
 * looks like every other one: CRLF "--" boundary. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "e2b/internal.h"

#define MAX_BOUNDARY 200
#define MAX_HEADERS (MP_MAX_HELD - 3) /* a part's header block */
#define MAX_PADDING 1024u             /* spaces and tabs after a delimiter */

enum mp_state { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_BODY, MP_DONE };

struct mp_parser {
	enum mp_state state;
	char delim[MAX_BOUNDARY + 5]; /* CRLF -- boundary */
	size_t dlen;
	struct aj_buf buf;            /* received, not yet handled */
	const struct mp_callbacks *cb;
	void *ctx;
};

/* ---- header parameters ------------------------------------------------------- */

/* Parse "name=value" parameters after the first ';' of a header value;
 * the value of want (quotes and backslash escapes undone), malloc'd, or
 * NULL if absent. */
static char *param(const char *v, const char *want)
{
	const char *p = strchr(v, ';');
	while (p && *p) {
		p += strspn(p, "; \t");
		size_t nl = strcspn(p, "=; \t");
		const char *name = p;
		p += nl;
		p += strspn(p, " \t");
		if (*p != '=')
			continue;
		p++;
		p += strspn(p, " \t");
		struct aj_buf val = { 0 };
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				aj_buf_append(&val, p, 1);
			}
			if (*p == '"')
				p++;
		} else {
			size_t vl = strcspn(p, "; \t");
			aj_buf_append(&val, p, vl);
			p += vl;
		}
		if (nl == strlen(want) && strncasecmp(name, want, nl) == 0) {
			char *s = aj_buf_steal(&val);
			return s;
		}
		aj_buf_free(&val);
	}
	return NULL;
}

/* Browsers and undici escape '"', CR and LF in filenames as %22, %0D and
 * %0A (and nothing else, so nothing else is undone). */
static void unescape_filename(char *s)
{
	static const struct { const char *esc; char c; } map[] = {
		{ "%22", '"' }, { "%0D", '\r' }, { "%0A", '\n' },
		{ "%0d", '\r' }, { "%0a", '\n' },
	};
	char *w = s;
	for (char *r = s; *r;) {
		size_t i;
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strncmp(r, map[i].esc, 3) == 0)
				break;
		if (i < sizeof(map) / sizeof(map[0])) {
			*w++ = map[i].c;
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* The filename of a part's header block (NUL-terminated), or NULL. */
static char *part_filename(char *headers)
{
	for (char *line = headers; line && *line;) {
		char *end = strstr(line, "\r\n");
		if (end)
			*end = '\0';
		if (strncasecmp(line, "Content-Disposition:", 20) == 0) {
			char *f = param(line + 20, "filename");
			if (f)
				unescape_filename(f);
			return f;
		}
		line = end ? end + 2 : NULL;
	}
	return NULL;
}

/* ---- the parser ------------------------------------------------------------------ */

struct mp_parser *mp_new(const char *content_type, const struct mp_callbacks *cb,
			 void *ctx, struct aj_err *e)
{
	char *b = content_type ? param(content_type, "boundary") : NULL;
	if (!b || !*b || strlen(b) > MAX_BOUNDARY) {
		free(b);
		aj_err_set(e, AJ_EINVAL, 0, "multipart/form-data without a usable boundary");
		return NULL;
	}
	struct mp_parser *p = calloc(1, sizeof(*p));
	if (!p) {
		free(b);
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		return NULL;
	}
	p->dlen = (size_t)snprintf(p->delim, sizeof(p->delim), "\r\n--%s", b);
	free(b);
	p->cb = cb;
	p->ctx = ctx;
	if (aj_buf_append(&p->buf, "\r\n", 2) < 0) {
		free(p);
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		return NULL;
	}
	return p;
}

/* Where the delimiter starts in the buffer, or -1. */
static ssize_t find_delim(const struct mp_parser *p)
{
	const char *hit = memmem(p->buf.data, p->buf.len, p->delim, p->dlen);
	return hit ? hit - p->buf.data : -1;
}

/* One step of the state machine; 1 if it made progress, 0 if it needs
 * more bytes, -1 on error. */
static int step(struct mp_parser *p, struct aj_err *e)
{
	struct aj_buf *b = &p->buf;
	ssize_t at;
	switch (p->state) {
	case MP_PREAMBLE:
		if ((at = find_delim(p)) < 0) {
			if (b->len >= p->dlen)
				aj_buf_consume(b, b->len - p->dlen + 1);
			return 0;
		}
		aj_buf_consume(b, (size_t)at + p->dlen);
		p->state = MP_AFTER_DELIM;
		return 1;
	case MP_AFTER_DELIM: {
		/* transport padding: bounded, or all of it would be held */
		size_t ws = 0;
		while (ws < b->len && (b->data[ws] == ' ' || b->data[ws] == '\t'))
			ws++;
		if (ws > MAX_PADDING)
			return aj_err_set(e, AJ_EINVAL, 0,
					  "multipart delimiter padding over %u bytes", MAX_PADDING);
		if (b->len < ws + 2)
			return 0;
		if (memcmp(b->data + ws, "--", 2) == 0) {
			p->state = MP_DONE;
			aj_buf_consume(b, b->len);
			return 1;
		}
		if (memcmp(b->data + ws, "\r\n", 2) != 0)
			return aj_err_set(e, AJ_EINVAL, 0, "malformed multipart delimiter");
		aj_buf_consume(b, ws + 2);
		p->state = MP_HEADERS;
		return 1;
	}
	case MP_HEADERS: {
		const char *end = b->len >= 2 && memcmp(b->data, "\r\n", 2) == 0
					  ? b->data
					  : memmem(b->data, b->len, "\r\n\r\n", 4);
		/* Refused by the block's length, however the body was cut: a
		 * terminator yet to come starts at len - 3 at the earliest. */
		if (end ? (size_t)(end - b->data) > MAX_HEADERS : b->len > MAX_HEADERS + 3)
			return aj_err_set(e, AJ_EINVAL, 0, "multipart part headers too long");
		if (!end)
			return 0;
		size_t hl = (size_t)(end - b->data);
		char *h = strndup(b->data, hl);
		if (!h)
			return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		char *fname = part_filename(h);
		free(h);
		aj_buf_consume(b, hl + (hl ? 4 : 2));
		int rc = p->cb->part_begin(p->ctx, fname, e);
		free(fname);
		if (rc < 0)
			return -1;
		p->state = MP_BODY;
		return 1;
	}
	case MP_BODY:
		if ((at = find_delim(p)) < 0) {
			/* all but what could be the start of a delimiter */
			size_t safe = b->len >= p->dlen ? b->len - p->dlen + 1 : 0;
			if (!safe)
				return 0;
			if (p->cb->part_data(p->ctx, b->data, safe, e) < 0)
				return -1;
			aj_buf_consume(b, safe);
			return 0;
		}
		if ((at && p->cb->part_data(p->ctx, b->data, (size_t)at, e) < 0) ||
		    p->cb->part_end(p->ctx, e) < 0)
			return -1;
		aj_buf_consume(b, (size_t)at + p->dlen);
		p->state = MP_AFTER_DELIM;
		return 1;
	case MP_DONE:
		aj_buf_consume(b, b->len); /* the epilogue is ignored */
		return 0;
	}
	return 0;
}

int mp_feed(struct mp_parser *p, const char *data, size_t n, struct aj_err *e)
{
	if (p->state == MP_DONE)
		return 0;
	if (aj_buf_append(&p->buf, data, n) < 0)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	int rc;
	while ((rc = step(p, e)) > 0)
		;
	return rc < 0 ? -1 : 0;
}

int mp_finish(struct mp_parser *p, struct aj_err *e)
{
	if (p->state != MP_DONE)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "the multipart body ends before its closing delimiter");
	return 0;
}

size_t mp_held(const struct mp_parser *p)
{
	return p->buf.len;
}

void mp_free(struct mp_parser *p)
{
	if (!p)
		return;
	aj_buf_free(&p->buf);
	free(p);
}
