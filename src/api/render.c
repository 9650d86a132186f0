/* render.c - answering: JSON and error responses, and the one mapping from
 * an aj_code to an HTTP status.  Also the small renderers every handler
 * shares: times and byte strings that may not be UTF-8. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "util/crypto.h"
#include "util/json.h"

unsigned api_http_status(enum aj_code code)
{
	switch (code) {
	case AJ_OK: return MHD_HTTP_OK;
	case AJ_EINVAL: return MHD_HTTP_BAD_REQUEST;
	case AJ_EAUTH: return MHD_HTTP_UNAUTHORIZED;
	case AJ_EFORBIDDEN: return MHD_HTTP_FORBIDDEN;
	case AJ_ENOTFOUND: return MHD_HTTP_NOT_FOUND;
	case AJ_EEXIST: return MHD_HTTP_CONFLICT;
	case AJ_ECONFLICT: return MHD_HTTP_CONFLICT;
	case AJ_ETOOBIG: return MHD_HTTP_CONTENT_TOO_LARGE;
	case AJ_EQUOTA: return MHD_HTTP_TOO_MANY_REQUESTS;
	case AJ_ENOSPC: return MHD_HTTP_INSUFFICIENT_STORAGE;
	case AJ_ETIMEOUT: return MHD_HTTP_GATEWAY_TIMEOUT;
	case AJ_EUNAVAIL: return MHD_HTTP_SERVICE_UNAVAILABLE;
	case AJ_EUNSUPPORTED: return MHD_HTTP_NOT_IMPLEMENTED;
	case AJ_EINTERNAL: return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- responses -------------------------------------------------------------- */

enum MHD_Result api_reply(struct api_req *r, unsigned status,
			  struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO; /* out of memory: libmicrohttpd closes */
	if (r->answered) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (rc == MHD_YES) {
		r->answered = true;
		r->status = status;
	}
	return rc;
}

enum MHD_Result api_reply_json(struct api_req *r, unsigned status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	size_t n = s ? strlen(s) : 0;
	char *t = s ? realloc(s, n + 2) : NULL;
	if (!t) {
		free(s);
		return MHD_NO;
	}
	t[n++] = '\n'; /* friendlier to terminals; still one JSON value */
	t[n] = '\0';
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(n, t, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(t);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return api_reply(r, status, resp);
}

enum MHD_Result api_reply_empty(struct api_req *r, unsigned status)
{
	return api_reply(r, status,
			 MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

/* An error body with an explicit status and code name (the router's 404
 * and 405 use it directly; everything else goes through an aj_code). */
enum MHD_Result api_reply_error_as(struct api_req *r, unsigned status,
				   const char *code, const char *msg,
				   const char *allow)
{
	json_t *b = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!s)
		return MHD_NO;
	size_t n = strlen(s);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	return api_reply(r, status, resp);
}

enum MHD_Result api_reply_err(struct api_req *r, const struct aj_err *e)
{
	/* A message must never be invalid UTF-8 in JSON: it may quote a
	 * client path. */
	char msg[sizeof(e->msg)];
	size_t n = strnlen(e->msg, sizeof(e->msg) - 1);
	memcpy(msg, e->msg, n);
	msg[api_utf8_valid_len(msg, n)] = '\0';
	return api_reply_error_as(r, api_http_status(e->code), aj_code_name(e->code),
				  msg, NULL);
}

enum MHD_Result api_reply_errf(struct api_req *r, enum aj_code code,
			       const char *fmt, ...)
{
	struct aj_err e = { .code = code };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	return api_reply_err(r, &e);
}

/* ---- times -------------------------------------------------------------------- */

void api_rfc3339(int64_t ms, char out[32])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

json_t *api_json_time(int64_t ms)
{
	char buf[32];
	if (ms <= 0)
		return json_null();
	api_rfc3339(ms, buf);
	return json_string(buf);
}

/* Exactly n digits at s into *v. */
static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* "2026-01-02T03:04:05[.fff...](Z|+hh:mm|-hh:mm)" */
static int parse_rfc3339(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, frac = 0;
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		int scale = 100, nd = 0;
		for (p++; isdigit((unsigned char)*p); p++, nd++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
		if (nd == 0)
			return -1;
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	*ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
	return 0;
}

int api_parse_time(const char *s, int64_t *ms)
{
	if (!s || !*s)
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		if (strlen(s) > 15)
			return -1;
		*ms = strtoll(s, NULL, 10);
		return 0;
	}
	return parse_rfc3339(s, ms);
}

/* ---- bytes as JSON text -------------------------------------------------------- */

size_t api_utf8_valid_len(const char *s, size_t n)
{
	return aj_utf8_valid_len(s, n);
}

json_t *api_json_str(const char *s)
{
	if (!s)
		return json_null();
	return json_stringn(s, api_utf8_valid_len(s, strlen(s)));
}

/* The text with each byte that is not part of valid UTF-8 as U+FFFD. */
static json_t *lossy_string(const char *data, size_t len)
{
	struct aj_buf b = { 0 };
	size_t i = 0;
	while (i < len) {
		size_t k = api_utf8_valid_len(data + i, len - i);
		if (aj_buf_append(&b, data + i, k) < 0)
			break;
		i += k;
		if (i < len) {
			if (aj_buf_append(&b, "\xEF\xBF\xBD", 3) < 0)
				break;
			i++;
		}
	}
	json_t *s = json_stringn(b.data ? b.data : "", b.len);
	aj_buf_free(&b);
	return s;
}

void api_json_set_bytes(json_t *o, const char *name, const char *data,
			size_t len)
{
	if (!data)
		data = "";
	if (api_utf8_valid_len(data, len) == len) {
		json_object_set_new(o, name, json_stringn(data, len));
		return;
	}
	json_object_set_new(o, name, lossy_string(data, len));
	char *enc = malloc(aj_base64_encoded_size(len));
	char b64name[64];
	snprintf(b64name, sizeof(b64name), "%s_b64", name);
	if (enc) {
		aj_base64_encode(data, len, enc);
		json_object_set_new(o, b64name, json_string(enc));
		free(enc);
	}
}
