/* interp.c - the code interpreter of @e2b/code-interpreter (port 49999 in
 * E2B): POST /execute answered with newline-delimited JSON events, and
 * /contexts, all on agentjail's code contexts.
 *
 * Every line is one JSON object - the SDK JSON.parses each line, so a
 * blank one would break it - written with non-ASCII escaped, because the
 * SDK decodes each network chunk on its own and a character cut between
 * two chunks would come out garbled.  The SDK's timeout is on its side
 * only: it drops the connection, and the cell is interrupted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "e2b/internal.h"

#define CELL_TIMEOUT_MS (24LL * 3600 * 1000) /* the client decides */

/* A reply for the interpreter's routes, whose errors the SDK reads as
 * text (404) or by status alone. */
static enum MHD_Result fail(struct api_req *r, const struct aj_err *e)
{
	return e2b_reply_error(r, e2b_sandbox_status(e), e->msg);
}

/* ---- output text ------------------------------------------------------------------- */

/* A UTF-8 sequence cut at the end of a chunk waits for the next one. */
struct tail {
	char b[4];
	size_t n;
};

/* The text of t's held bytes and data: invalid bytes become U+FFFD, an
 * incomplete last character is held back (unless final). */
static json_t *take_text(struct tail *t, const char *data, size_t len, bool final)
{
	struct aj_buf in = { 0 }, out = { 0 };
	aj_buf_append(&in, t->b, t->n);
	aj_buf_append(&in, data, len);
	t->n = 0;
	size_t i = 0, n = in.len;
	while (i < n) {
		size_t k = api_utf8_valid_len(in.data + i, n - i);
		aj_buf_append(&out, in.data + i, k);
		i += k;
		if (i == n)
			break;
		if (!final && n - i < 4 && api_utf8_incomplete((unsigned char *)in.data + i, n - i)) {
			memcpy(t->b, in.data + i, n - i);
			t->n = n - i;
			break;
		}
		aj_buf_append(&out, "\xEF\xBF\xBD", 3);
		i++;
	}
	json_t *s = json_stringn(out.data ? out.data : "", out.len);
	aj_buf_free(&in);
	aj_buf_free(&out);
	return s;
}

/* ---- /execute ------------------------------------------------------------------------ */

struct cell_job {
	struct box_mgr *m;
	struct e2b_who who;
	json_t *body;        /* owns the strings req points to */
	struct box_code req;
	struct box_kv *env;
	struct api_stream *st;
	struct tail tails[2];
};

static void cell_free(void *arg)
{
	struct cell_job *j = arg;
	json_decref(j->body);
	free(j->env);
	free(j);
}

/* One event line.  Steals ev; non-zero once the client is gone. */
static int emit(struct cell_job *j, json_t *ev)
{
	char *s = ev ? json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(ev);
	if (!s)
		return 0;
	size_t n = strlen(s);
	s[n] = '\n'; /* the NUL becomes the line's end */
	int rc = api_stream_write(j->st, s, n + 1);
	free(s);
	return rc;
}

static int emit_text(struct cell_job *j, enum box_stream s, const char *p, size_t n,
		     bool final)
{
	json_t *text = take_text(&j->tails[s], p, n, final);
	if (json_string_length(text) == 0) {
		json_decref(text);
		return 0;
	}
	return emit(j, json_pack("{s:s,s:o}", "type", s == BOX_STDOUT ? "stdout" : "stderr",
				 "text", text));
}

static int on_output(void *ctx, enum box_stream s, const char *data, size_t len)
{
	return emit_text(ctx, s, data, len, false);
}

/* Formats whose value is JSON itself (the manager hands them over as JSON
 * text); every other format is a string. */
static bool json_valued(const char *key)
{
	return !strcmp(key, "json") || !strcmp(key, "data") || !strcmp(key, "chart");
}

static int on_result(void *ctx, const struct box_cell_item *it)
{
	json_t *ev = json_pack("{s:s,s:b}", "type", "result", "is_main_result", it->is_main);
	for (size_t i = 0; ev && i < it->nformats; i++) {
		const struct box_kv *f = &it->formats[i];
		json_t *v = json_valued(f->key) ? json_loads(f->value, JSON_DECODE_ANY, NULL) : NULL;
		json_object_set_new(ev, f->key, v ? v : api_json_str(f->value));
	}
	return emit(ctx, ev);
}

static int on_error(void *ctx, const struct box_cell_error *err)
{
	return emit(ctx, json_pack("{s:s,s:o,s:o,s:o}", "type", "error",
				   "name", api_json_str(err->name),
				   "value", api_json_str(err->value),
				   "traceback", api_json_str(err->traceback)));
}

/* Polled while the cell is silent: the client (the SDK's timeout) left. */
static int is_cancelled(void *ctx)
{
	struct cell_job *j = ctx;
	return atomic_load(api_stream_cancel_flag(j->st));
}

static void cell_work(struct api_stream *st, void *arg)
{
	struct cell_job *j = arg;
	struct box_code_sink sink = { .on_output = on_output, .on_result = on_result,
				      .on_error = on_error, .is_cancelled = is_cancelled,
				      .ctx = j };
	struct box_code_result res;
	struct aj_err e;
	j->st = st;
	int rc = box_code_run(j->m, &j->who.caller, j->who.id, &j->req, &sink, &res, &e);
	emit_text(j, BOX_STDOUT, NULL, 0, true);
	emit_text(j, BOX_STDERR, NULL, 0, true);
	if (rc < 0) {
		emit(j, json_pack("{s:s,s:s,s:o,s:s}", "type", "error", "name",
				  aj_code_name(e.code), "value", api_json_str(e.msg),
				  "traceback", ""));
	} else {
		if (res.notice)
			emit(j, json_pack("{s:s,s:o}", "type", "stderr", "text",
					  api_json_str(res.notice)));
		emit(j, json_pack("{s:s,s:i}", "type", "number_of_executions",
				  "execution_count", res.execution_count));
	}
	emit(j, json_pack("{s:s}", "type", "end_of_execution"));
	box_code_result_free(&res);
}

/* The cell's language and context, checked before the stream starts so
 * that a wrong one is a plain 400 / 404. */
static int parse_cell(struct api_req *r, struct cell_job *j, struct aj_err *e)
{
	const char *lang = NULL;
	if (api_body_json(r, &j->body, e) < 0 ||
	    jf_string(j->body, "code", &j->req.code, e) < 0 ||
	    jf_string(j->body, "context_id", &j->req.context_id, e) < 0 ||
	    jf_string(j->body, "language", &lang, e) < 0 ||
	    jf_kv(j->body, "env_vars", &j->env, &j->req.nenv, e) < 0)
		return -1;
	if (!j->req.code)
		return aj_err_set(e, AJ_EINVAL, 0, "field 'code' is required");
	if (lang && box_lang_parse(lang, &j->req.language) < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "agentjail runs python, javascript and bash, not '%.40s'",
				  lang);
	j->req.env = j->env;
	j->req.timeout_ms = CELL_TIMEOUT_MS;
	if (!j->req.context_id)
		return 0;
	struct box_ctx_info *v;
	size_t n;
	if (box_ctx_list(j->m, &j->who.caller, j->who.id, &v, &n, e) < 0)
		return -1;
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found = found || strcmp(v[i].id, j->req.context_id) == 0;
	free(v);
	return found ? 0 : aj_err_set(e, AJ_ENOTFOUND, 0, "context '%.40s' not found",
				      j->req.context_id);
}

enum MHD_Result eh_execute(struct api_req *r)
{
	struct aj_err e;
	struct cell_job *j = calloc(1, sizeof(*j));
	if (!j)
		return MHD_NO;
	j->m = api_mgr(r);
	if (e2b_auth_sandbox(r, true, &j->who, &e) < 0 || parse_cell(r, j, &e) < 0) {
		cell_free(j);
		return fail(r, &e);
	}
	struct api_stream_spec spec = {
		.content_type = "application/x-ndjson",
		.produce = cell_work,
		.free_arg = cell_free,
		.arg = j,
		.begin_now = true,
	};
	return api_stream_run(r, &spec);
}

/* ---- /contexts ------------------------------------------------------------------------ */

static json_t *context_json(const struct box_ctx_info *c)
{
	return json_pack("{s:s,s:s,s:o}", "id", c->id, "language", box_lang_name(c->language),
			 "cwd", api_json_str(c->cwd));
}

enum MHD_Result eh_ctx_create(struct api_req *r)
{
	struct e2b_who w;
	struct box_ctx_info info;
	struct aj_err e;
	json_t *b = NULL;
	const char *lang = NULL, *cwd = NULL;
	enum box_lang l = BOX_LANG_PYTHON;
	int rc = e2b_auth_sandbox(r, true, &w, &e);
	if (rc == 0 && (api_body_json(r, &b, &e) < 0 || jf_string(b, "language", &lang, &e) < 0 ||
			jf_string(b, "cwd", &cwd, &e) < 0))
		rc = -1;
	if (rc == 0 && lang && box_lang_parse(lang, &l) < 0)
		rc = aj_err_set(&e, AJ_EINVAL, 0,
				"agentjail runs python, javascript and bash, not '%.40s'", lang);
	if (rc == 0)
		rc = box_ctx_create(api_mgr(r), &w.caller, w.id, l, cwd, &info, &e);
	json_decref(b);
	if (rc < 0)
		return fail(r, &e);
	return api_reply_json(r, MHD_HTTP_OK, context_json(&info));
}

enum MHD_Result eh_ctx_list(struct api_req *r)
{
	struct e2b_who w;
	struct box_ctx_info *v;
	size_t n;
	struct aj_err e;
	if (e2b_auth_sandbox(r, true, &w, &e) < 0 ||
	    box_ctx_list(api_mgr(r), &w.caller, w.id, &v, &n, &e) < 0)
		return fail(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, context_json(&v[i]));
	free(v);
	return api_reply_json(r, MHD_HTTP_OK, arr);
}

enum MHD_Result eh_ctx_delete(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	if (e2b_auth_sandbox(r, true, &w, &e) < 0 ||
	    box_ctx_delete(api_mgr(r), &w.caller, w.id, api_param(r, "id"), &e) < 0)
		return fail(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result eh_ctx_restart(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	if (e2b_auth_sandbox(r, true, &w, &e) < 0 ||
	    box_ctx_restart(api_mgr(r), &w.caller, w.id, api_param(r, "id"), &e) < 0)
		return fail(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
