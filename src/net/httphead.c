/* httphead.c - parse an HTTP/1.x request head (see httphead.h).
 *
 * 1. lines: CRLF-terminated, up to the empty line (or NEED_MORE /
 *    TOO_LARGE; a first line that cannot become a request line is
 *    MALFORMED at once, so non-HTTP bytes are told early);
 * 2. the request line, then each header line, checked byte by byte;
 * 3. the whole: the target's form and host, Host, and body framing. */
#include <string.h>

#include "net/httphead_int.h"

static enum hh_result bad(struct aj_err *e, const char *why)
{
	aj_err_set(e, AJ_EINVAL, 0, "%s", why);
	return HH_MALFORMED;
}

bool hh_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool hh_span_is(const char *buf, struct hh_span s, const char *lower_name)
{
	if (strlen(lower_name) != s.len)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (lower(buf[s.off + i]) != lower_name[i])
			return false;
	return true;
}

/* ---- 2. lines ---- */

static bool target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '#';
}

/* A first line without its CRLF yet: could it still become a request
 * line?  (Method token, SP, target bytes, SP, "HTTP/1.x" prefix.) */
static enum hh_result partial_first(const char *s, size_t n, struct aj_err *e)
{
	size_t i = 0;
	while (i < n && hh_tchar((unsigned char)s[i]))
		i++;
	if (i == n)
		return HH_NEED_MORE;
	if (i == 0 || s[i] != ' ')
		return bad(e, "not an HTTP request line");
	for (i++; i < n && target_char((unsigned char)s[i]); i++)
		;
	if (i == n)
		return HH_NEED_MORE;
	if (s[i] != ' ')
		return bad(e, "bad byte in the request target");
	size_t v = n - i - 1;
	if (v > 8)
		v = 8;
	if (memcmp(s + i + 1, "HTTP/1.1", v) != 0 && memcmp(s + i + 1, "HTTP/1.0", v) != 0)
		return bad(e, "not HTTP/1.0 or HTTP/1.1");
	if (n - i - 1 > 8 && s[i + 9] != '\r')
		return bad(e, "junk after the version");
	/* a CR with something after it, and no LF yet: a bare CR */
	return n - i - 1 > 9 ? bad(e, "line not ended by CRLF") : HH_NEED_MORE;
}

static enum hh_result request_line(const char *buf, size_t start, size_t end,
				   struct hh_request *r, struct aj_err *e)
{
	size_t i = start;
	while (i < end && hh_tchar((unsigned char)buf[i]))
		i++;
	if (i == start || i == end || buf[i] != ' ')
		return bad(e, "bad method");
	r->method = (struct hh_span){ start, i - start };
	size_t t = ++i;
	while (i < end && target_char((unsigned char)buf[i]))
		i++;
	if (i == t || i == end || buf[i] != ' ')
		return bad(e, "bad request target");
	r->target = (struct hh_span){ t, i - t };
	i++;
	if (end - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0 ||
	    (buf[i + 7] != '0' && buf[i + 7] != '1'))
		return bad(e, "not HTTP/1.0 or HTTP/1.1");
	r->minor = buf[i + 7] - '0';
	return HH_OK;
}

/* HTAB, SP, visible ASCII, and obs-text (0x80..0xff): no other control. */
static bool value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static enum hh_result header_line(const char *buf, size_t start, size_t end,
				  struct hh_request *r, struct aj_err *e)
{
	if (buf[start] == ' ' || buf[start] == '\t')
		return bad(e, "folded header line (obs-fold)");
	size_t i = start;
	while (i < end && hh_tchar((unsigned char)buf[i]))
		i++;
	if (i == start || i == end || buf[i] != ':')
		return bad(e, "bad header name (or space before ':')");
	if (r->nheaders == HH_MAX_HEADERS) {
		aj_err_set(e, AJ_ETOOBIG, 0, "more than %d headers", HH_MAX_HEADERS);
		return HH_TOO_LARGE;
	}
	struct hh_header *h = &r->headers[r->nheaders++];
	h->line = (struct hh_span){ start, end + 2 - start };
	h->name = (struct hh_span){ start, i - start };
	for (size_t k = i + 1; k < end; k++)
		if (!value_char((unsigned char)buf[k]))
			return bad(e, "control byte in a header value");
	size_t v = i + 1, w = end;
	while (v < w && (buf[v] == ' ' || buf[v] == '\t'))
		v++;
	while (w > v && (buf[w - 1] == ' ' || buf[w - 1] == '\t'))
		w--;
	h->value = (struct hh_span){ v, w - v };
	return HH_OK;
}

/* ---- 1. the lines of the head ---- */

static enum hh_result lines(const char *buf, size_t len, size_t max,
			    struct hh_request *r, struct aj_err *e)
{
	size_t limit = len < max ? len : max, p = 0;
	for (;;) {
		const char *nl = memchr(buf + p, '\n', limit - p);
		if (!nl) {
			if (p == 0 && partial_first(buf, limit, e) == HH_MALFORMED)
				return HH_MALFORMED;
			if (limit < max)
				return HH_NEED_MORE;
			aj_err_set(e, AJ_ETOOBIG, 0, "request head longer than %zu bytes", max);
			return HH_TOO_LARGE;
		}
		size_t end = (size_t)(nl - buf);
		if (end == p || buf[end - 1] != '\r')
			return bad(e, "line not ended by CRLF");
		end--;
		if (memchr(buf + p, '\r', end - p))
			return bad(e, "bare CR in a line");
		enum hh_result res;
		if (p == 0)
			res = request_line(buf, 0, end, r, e);
		else if (end == p) {
			r->head_len = end + 2;
			return HH_OK;
		} else
			res = header_line(buf, p, end, r, e);
		if (res != HH_OK)
			return res;
		p = end + 2;
	}
}

/* ---- 3. target, Host, framing ---- */

static enum hh_result absolute(const char *buf, struct hh_request *r,
			       struct hh_authority *a, struct aj_err *e)
{
	const char *t = buf + r->target.off;
	size_t n = r->target.len, s;
	const char *sep = memchr(t, ':', n);
	if (!sep || n - (size_t)(sep - t) < 3 || memcmp(sep, "://", 3) != 0)
		return bad(e, "request target is not /path, an absolute URI or *");
	s = (size_t)(sep - t);
	struct hh_span scheme = { r->target.off, s };
	r->https = hh_span_is(buf, scheme, "https");
	if (!r->https && !hh_span_is(buf, scheme, "http"))
		return bad(e, "absolute target is not http:// or https://");
	size_t as = s + 3, ae = as;
	while (ae < n && t[ae] != '/' && t[ae] != '?')
		ae++;
	if (memchr(t + as, '@', ae - as))
		return bad(e, "userinfo in the request target");
	r->form = HH_FORM_ABSOLUTE;
	r->path = (struct hh_span){ r->target.off + ae, n - ae };
	struct aj_err ae_err = { 0 };
	if (hh_authority_parse(t + as, ae - as, a, &ae_err) < 0) {
		aj_err_set(e, AJ_EINVAL, 0, "request target host: %s", ae_err.msg);
		return HH_MALFORMED;
	}
	return HH_OK;
}

/* The target's form, and its authority into *a (has: whether it has one). */
static enum hh_result target(const char *buf, struct hh_request *r,
			     struct hh_authority *a, bool *has, struct aj_err *e)
{
	bool connect = r->method.len == 7 && memcmp(buf + r->method.off, "CONNECT", 7) == 0;
	bool options = r->method.len == 7 && memcmp(buf + r->method.off, "OPTIONS", 7) == 0;
	const char *t = buf + r->target.off;
	*has = false;
	if (connect) {
		struct aj_err ce = { 0 };
		r->form = HH_FORM_AUTHORITY;
		if (hh_authority_parse(t, r->target.len, a, &ce) < 0 || a->port == 0) {
			aj_err_set(e, AJ_EINVAL, 0, "CONNECT target is not host:port%s%s",
				   ce.msg[0] ? ": " : "", ce.msg);
			return HH_MALFORMED;
		}
		*has = true;
		return HH_OK;
	}
	if (t[0] == '/') {
		r->form = HH_FORM_ORIGIN;
		return HH_OK;
	}
	if (r->target.len == 1 && t[0] == '*') {
		r->form = HH_FORM_ASTERISK;
		return options ? HH_OK : bad(e, "'*' target without OPTIONS");
	}
	*has = true;
	return absolute(buf, r, a, e);
}

static enum hh_result host_header(const char *buf, struct hh_request *r,
				  struct hh_authority *h, bool *has, struct aj_err *e)
{
	int i = hh_find(buf, r, "host", 0);
	*has = i >= 0;
	if (i < 0)
		return r->minor == 1 ? bad(e, "HTTP/1.1 request without Host") : HH_OK;
	if (hh_find(buf, r, "host", (size_t)i + 1) >= 0)
		return bad(e, "more than one Host header");
	struct hh_span v = r->headers[i].value;
	struct aj_err he = { 0 };
	if (hh_authority_parse(buf + v.off, v.len, h, &he) < 0) {
		aj_err_set(e, AJ_EINVAL, 0, "Host: %s", he.msg);
		return HH_MALFORMED;
	}
	return HH_OK;
}

static uint16_t effective_port(const struct hh_request *r, uint16_t port)
{
	return port ? port : r->https ? 443 : 80;
}

static enum hh_result hosts(const char *buf, struct hh_request *r, struct aj_err *e)
{
	struct hh_authority t, h;
	bool has_t, has_h;
	enum hh_result res = target(buf, r, &t, &has_t, e);
	if (res == HH_OK)
		res = host_header(buf, r, &h, &has_h, e);
	if (res != HH_OK)
		return res;
	if (has_t && has_h &&
	    (strcmp(t.host, h.host) != 0 ||
	     effective_port(r, t.port) != effective_port(r, h.port)))
		return bad(e, "Host does not match the request target");
	const struct hh_authority *a = has_t ? &t : has_h ? &h : NULL;
	if (!a)
		return HH_OK;
	r->has_host = true;
	memcpy(r->host, a->host, sizeof(r->host));
	r->host_is_addr = a->is_addr;
	r->addr = a->addr;
	r->port = a->port;
	return HH_OK;
}

static enum hh_result content_length(const char *buf, struct hh_request *r,
				     int i, struct aj_err *e)
{
	struct hh_span v = r->headers[i].value;
	uint64_t n = 0;
	if (v.len == 0 || v.len > 18)
		return bad(e, "bad Content-Length");
	for (size_t k = 0; k < v.len; k++) {
		char c = buf[v.off + k];
		if (c < '0' || c > '9')
			return bad(e, "bad Content-Length");
		n = n * 10 + (uint64_t)(c - '0');
	}
	r->has_length = true;
	r->content_length = n;
	return HH_OK;
}

static enum hh_result framing(const char *buf, struct hh_request *r, struct aj_err *e)
{
	int cl = hh_find(buf, r, "content-length", 0);
	int te = hh_find(buf, r, "transfer-encoding", 0);
	if (cl >= 0 && hh_find(buf, r, "content-length", (size_t)cl + 1) >= 0)
		return bad(e, "more than one Content-Length");
	if (te >= 0 && hh_find(buf, r, "transfer-encoding", (size_t)te + 1) >= 0)
		return bad(e, "more than one Transfer-Encoding");
	if (te >= 0 && cl >= 0)
		return bad(e, "both Transfer-Encoding and Content-Length");
	if (te >= 0 && r->minor == 0)
		return bad(e, "Transfer-Encoding in HTTP/1.0");
	if (te >= 0 && !hh_span_is(buf, r->headers[te].value, "chunked"))
		return bad(e, "Transfer-Encoding other than chunked");
	r->chunked = te >= 0;
	return cl >= 0 ? content_length(buf, r, cl, e) : HH_OK;
}

enum hh_result hh_parse(const char *buf, size_t len, size_t max,
			struct hh_request *r, struct aj_err *e)
{
	memset(r, 0, offsetof(struct hh_request, headers));
	enum hh_result res = lines(buf, len, max, r, e);
	if (res == HH_OK)
		res = hosts(buf, r, e);
	if (res == HH_OK)
		res = framing(buf, r, e);
	if (res != HH_OK) {
		r->head_len = 0;
		r->has_host = false;
		r->host[0] = '\0';
	}
	return res;
}

const char *hh_result_name(enum hh_result res)
{
	static const char *const names[] = { "need_more", "ok", "too_large", "malformed" };
	return (unsigned)res <= HH_MALFORMED ? names[res] : "?";
}
