/* connect.c - the Connect protocol as envd speaks it, JSON codec only.
 *
 * Unary: POST with a JSON body; 200 application/json with the message, or
 * the code's HTTP status with {"code":"not_found","message":...}.  The SDK
 * acts on the code string (not_found -> false from exists(), kill() ...).
 *
 * Server streams: the request body is one envelope (flag byte, 4-byte
 * big-endian length, JSON); the response is 200 application/connect+json,
 * a sequence of envelopes ending with the end-stream frame (flag 0x02,
 * {} or {"error":{...}}), which the client requires. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2b/internal.h"

#define CT_JSON "application/json"
#define CT_STREAM "application/connect+json"
#define FLAG_COMPRESSED 0x01
#define FLAG_END 0x02

/* ---- codes ------------------------------------------------------------------ */

const char *cn_code(enum aj_code c)
{
	switch (c) {
	case AJ_OK: return "ok";
	case AJ_EINVAL: return "invalid_argument";
	case AJ_ENOTFOUND: return "not_found";
	case AJ_EEXIST: return "already_exists";
	case AJ_ECONFLICT: return "failed_precondition";
	case AJ_EAUTH: return "unauthenticated";
	case AJ_EFORBIDDEN: return "permission_denied";
	case AJ_EQUOTA: return "resource_exhausted";
	case AJ_ETOOBIG: return "invalid_argument";
	case AJ_ENOSPC: return "resource_exhausted";
	case AJ_ETIMEOUT: return "deadline_exceeded";
	case AJ_EUNAVAIL: return "unavailable";
	case AJ_EUNSUPPORTED: return "unimplemented";
	case AJ_EINTERNAL: return "internal";
	}
	return "unknown";
}

/* The HTTP status the Connect spec gives a code. */
static unsigned code_status(const char *code)
{
	static const struct { const char *code; unsigned status; } map[] = {
		{ "canceled", 499 }, { "invalid_argument", 400 },
		{ "deadline_exceeded", 504 }, { "not_found", 404 },
		{ "already_exists", 409 }, { "permission_denied", 403 },
		{ "resource_exhausted", 429 }, { "failed_precondition", 400 },
		{ "aborted", 409 }, { "out_of_range", 400 },
		{ "unimplemented", 501 }, { "unavailable", 503 },
		{ "unauthenticated", 401 },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].code, code) == 0)
			return map[i].status;
	return 500;
}

/* ---- unary ------------------------------------------------------------------- */

static enum MHD_Result reply_body(struct api_req *r, unsigned status,
				  const char *ctype, char *data, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return api_reply(r, status, resp);
}

static enum MHD_Result reply_json(struct api_req *r, unsigned status, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return MHD_NO;
	return reply_body(r, status, CT_JSON, s, strlen(s));
}

enum MHD_Result cn_reply(struct api_req *r, json_t *msg)
{
	return reply_json(r, MHD_HTTP_OK, msg);
}

enum MHD_Result cn_reply_error(struct api_req *r, const char *code,
			       const char *msg)
{
	json_t *o = json_pack("{s:s,s:o}", "code", code, "message", api_json_str(msg));
	return reply_json(r, code_status(code), o);
}

enum MHD_Result cn_reply_aj(struct api_req *r, const struct aj_err *e)
{
	return cn_reply_error(r, cn_code(e->code), e->msg);
}

enum MHD_Result cn_reply_stream_error(struct api_req *r, const char *code,
				      const char *msg)
{
	struct aj_buf b = { 0 };
	if (cn_end_frame(&b, code, msg) < 0) {
		aj_buf_free(&b);
		return MHD_NO;
	}
	size_t n = b.len;
	return reply_body(r, MHD_HTTP_OK, CT_STREAM, aj_buf_steal(&b), n);
}

/* ---- envelopes ------------------------------------------------------------------ */

static int frame(struct aj_buf *b, unsigned flags, json_t *msg)
{
	char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!s)
		return -1;
	size_t n = strlen(s);
	unsigned char h[5] = { (unsigned char)flags, (unsigned char)(n >> 24),
			       (unsigned char)(n >> 16), (unsigned char)(n >> 8),
			       (unsigned char)n };
	int rc = aj_buf_append(b, h, sizeof(h)) < 0 || aj_buf_append(b, s, n) < 0 ? -1 : 0;
	free(s);
	return rc;
}

int cn_frame(struct aj_buf *b, json_t *msg)
{
	return frame(b, 0, msg);
}

int cn_end_frame(struct aj_buf *b, const char *code, const char *msg)
{
	json_t *o = code ? json_pack("{s:{s:s,s:o}}", "error", "code", code, "message",
				     api_json_str(msg ? msg : ""))
			 : json_object();
	return frame(b, FLAG_END, o);
}

/* The one message of a server-stream request body: one envelope with no
 * flag (a client does not compress, and the end-stream flag is the
 * server's), its length all the rest of the body, and a JSON object. */
int cn_envelope_message(const char *p, size_t n, json_t **out, struct aj_err *e)
{
	const unsigned char *u = (const unsigned char *)p;
	json_error_t je;
	*out = NULL;
	if (n < 5)
		return aj_err_set(e, AJ_EINVAL, 0, "the request is not a Connect envelope");
	size_t len = (size_t)u[1] << 24 | (size_t)u[2] << 16 | (size_t)u[3] << 8 | u[4];
	if (u[0] & FLAG_COMPRESSED)
		return aj_err_set(e, AJ_EINVAL, 0, "compressed messages are not supported");
	if (u[0])
		return aj_err_set(e, AJ_EINVAL, 0,
				  "a request envelope has no flags (got 0x%02x)", u[0]);
	if (len != n - 5)
		return aj_err_set(e, AJ_EINVAL, 0, "the request must be exactly one message");
	*out = json_loadb(p + 5, len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return aj_err_set(e, AJ_EINVAL, 0, "invalid JSON message: %s", je.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return aj_err_set(e, AJ_EINVAL, 0, "the message must be a JSON object");
	}
	return 0;
}

/* The body of a streaming call, collected by the route's body hooks
 * (http.h hands raw bytes only to API_RAW_BODY routes). */
struct cn_body {
	struct aj_buf b;
	bool too_big;
};

static void body_free(void *ctx)
{
	struct cn_body *cb = ctx;
	if (cb)
		aj_buf_free(&cb->b);
	free(cb);
}

int cn_body_begin(struct api_req *r, struct aj_err *e)
{
	struct cn_body *cb = calloc(1, sizeof(*cb));
	if (!cb)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	api_set_ctx(r, cb, body_free);
	return 0;
}

/* Errors wait for run(), which answers them in the Connect shape. */
int cn_body_chunk(struct api_req *r, const char *data, size_t len,
		  struct aj_err *e)
{
	struct cn_body *cb = api_ctx(r);
	(void)e;
	if (cb->too_big || cb->b.len + len > API_MAX_JSON_BODY) {
		cb->too_big = true;
		aj_buf_free(&cb->b);
		return 0;
	}
	if (aj_buf_append(&cb->b, data, len) < 0)
		cb->too_big = true;
	return 0;
}

static int stream_message(struct api_req *r, json_t **out, struct aj_err *e)
{
	struct cn_body *cb = api_ctx(r);
	const char *ct = api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct && strncmp(ct, CT_STREAM, strlen(CT_STREAM)) != 0)
		return aj_err_set(e, AJ_EINVAL, 0, "a streaming call wants %s", CT_STREAM);
	if (!cb || cb->too_big)
		return aj_err_set(e, AJ_EINVAL, 0, "request over %u bytes", API_MAX_JSON_BODY);
	return cn_envelope_message(cb->b.data, cb->b.len, out, e);
}

int cn_begin(struct api_req *r, bool stream, struct e2b_who *w, json_t **msg,
	     enum MHD_Result *rc)
{
	struct aj_err e = { 0 };
	*msg = NULL;
	int st = e2b_auth_sandbox(r, false, w, &e);
	if (st == 0)
		st = stream ? stream_message(r, msg, &e) : api_body_json(r, msg, &e);
	if (st == 0)
		return 0;
	*rc = stream ? cn_reply_stream_error(r, cn_code(e.code), e.msg) : cn_reply_aj(r, &e);
	return -1;
}

/* ---- headers and selectors ---------------------------------------------------------- */

static int64_t header_int(struct api_req *r, const char *name, int64_t max)
{
	const char *v = api_header(r, name);
	char *end;
	if (!v || !*v)
		return 0;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || *end || n <= 0)
		return 0;
	return n > max ? max : n;
}

int64_t cn_timeout_ms(struct api_req *r)
{
	/* The protocol allows up to 10 digits. */
	return header_int(r, "Connect-Timeout-Ms", 9999999999LL);
}

int64_t cn_keepalive_ms(struct api_req *r)
{
	return header_int(r, "Keepalive-Ping-Interval", 86400) * 1000;
}

/* The running process with this tag. */
static int pid_of_tag(struct api_req *r, const struct e2b_who *w, const char *tag,
		      pid_t *pid, struct aj_err *e)
{
	struct box_proc_info *v;
	size_t n;
	if (box_proc_list(api_mgr(r), &w->caller, w->id, &v, &n, e) < 0)
		return -1;
	int rc = aj_err_set(e, AJ_ENOTFOUND, 0, "no running process tagged '%.64s'", tag);
	for (size_t i = 0; i < n; i++) {
		if (v[i].running && strcmp(v[i].tag, tag) == 0) {
			*pid = v[i].pid;
			rc = 0;
			break;
		}
	}
	box_proc_infos_free(v, n);
	return rc;
}

int cn_selector_pid(struct api_req *r, const struct e2b_who *w, json_t *msg,
		    pid_t *pid, struct aj_err *e)
{
	json_t *sel = json_object_get(msg, "process");
	json_t *p = json_object_get(sel, "pid");
	const char *tag = json_string_value(json_object_get(sel, "tag"));
	if (json_is_integer(p) && json_integer_value(p) > 0 &&
	    json_integer_value(p) < INT32_MAX) {
		*pid = (pid_t)json_integer_value(p);
		return 0;
	}
	if (tag)
		return pid_of_tag(r, w, tag, pid, e);
	return aj_err_set(e, AJ_EINVAL, 0, "process selector needs a pid or a tag");
}

enum MHD_Result eh_cn_unimplemented(struct api_req *r)
{
	const char *ct = api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *what = api_param(r, "*");
	char msg[160];
	snprintf(msg, sizeof(msg), "agentjail does not implement this call (%.100s)",
		 what ? what : "watching directories");
	if (ct && strncmp(ct, CT_STREAM, strlen(CT_STREAM)) == 0)
		return cn_reply_stream_error(r, "unimplemented", msg);
	return cn_reply_error(r, "unimplemented", msg);
}
