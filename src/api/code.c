/* code.c - stateful code cells and their contexts:
 *   POST   /v1/sandboxes/{id}/code                 run a cell
 *   POST   /v1/sandboxes/{id}/contexts             create a context
 *   GET    /v1/sandboxes/{id}/contexts             list them
 *   POST   /v1/sandboxes/{id}/contexts/{cid}/restart
 *   DELETE /v1/sandboxes/{id}/contexts/{cid}
 * A cell answers {results:[{text?, html?, png?, ..., is_main_result}],
 * stdout, stderr, error?, execution_count, wall_ms, context_id, ...};
 * with Accept: application/x-ndjson the events stream (code_stream.c). */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/stream.h"

#define MAX_CELL_TIMEOUT_MS (24LL * 3600 * 1000)

void code_args_free(struct code_args *a)
{
	json_decref(a->body);
	free(a->env);
	free(a->sandbox_id);
	memset(a, 0, sizeof(*a));
}

int code_args_parse(struct api_req *r, struct code_args *a, struct aj_err *e)
{
	const char *lang = NULL;
	int64_t t;
	int rc;
	struct box_code *q = &a->req;
	if (api_body_json(r, &a->body, e) < 0 ||
	    jf_string(a->body, "code", &q->code, e) < 0 ||
	    jf_string(a->body, "language", &lang, e) < 0 ||
	    jf_string(a->body, "context_id", &q->context_id, e) < 0 ||
	    jf_kv(a->body, "env", &a->env, &q->nenv, e) < 0 ||
	    (rc = jf_int(a->body, "timeout_ms", 1, MAX_CELL_TIMEOUT_MS, &t, e)) < 0)
		return -1;
	if (!q->code)
		return aj_err_set(e, AJ_EINVAL, 0, "field 'code' is required");
	if (lang && box_lang_parse(lang, &q->language) < 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "field 'language' must be python, javascript or bash");
	q->env = a->env;
	q->timeout_ms = rc ? t : 0;
	a->sandbox_id = strdup(api_param(r, "id"));
	if (!a->sandbox_id)
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	return 0;
}

json_t *code_item_json(const struct box_cell_item *it)
{
	json_t *o = json_object();
	for (size_t k = 0; k < it->nformats; k++)
		json_object_set_new(o, it->formats[k].key,
				    api_json_str(it->formats[k].value));
	json_object_set_new(o, "is_main_result", json_boolean(it->is_main));
	return o;
}

json_t *code_error_json(const struct box_cell_error *err)
{
	return json_pack("{s:o,s:o,s:o}", "name", api_json_str(err->name), "value",
			 api_json_str(err->value), "traceback",
			 api_json_str(err->traceback));
}

/* The result; with_output false for a stream's final event. */
json_t *code_result_json(const struct box_code_result *res, bool with_output)
{
	json_t *items = json_array();
	for (size_t i = 0; i < res->nresults; i++)
		json_array_append_new(items, code_item_json(&res->results[i]));
	json_t *o = json_pack("{s:s,s:o,s:i,s:I,s:b,s:b}", "context_id",
			      res->context_id, "results", items, "execution_count",
			      res->execution_count, "wall_ms", (json_int_t)res->wall_ms,
			      "timed_out", res->timed_out, "context_restarted",
			      res->restarted);
	if (!o)
		return NULL;
	if (with_output) {
		api_json_set_bytes(o, "stdout", res->out[0], res->out_len[0]);
		api_json_set_bytes(o, "stderr", res->out[1], res->out_len[1]);
		json_object_set_new(o, "stdout_truncated", json_boolean(res->truncated[0]));
		json_object_set_new(o, "stderr_truncated", json_boolean(res->truncated[1]));
	}
	json_object_set_new(o, "error", res->error ? code_error_json(res->error) : json_null());
	if (res->notice)
		json_object_set_new(o, "notice", api_json_str(res->notice));
	return o;
}

enum MHD_Result h_code(struct api_req *r)
{
	struct code_args a = { 0 };
	struct box_code_result res;
	struct aj_err e;
	if (code_args_parse(r, &a, &e) < 0) {
		code_args_free(&a);
		return api_reply_err(r, &e);
	}
	enum api_events_format kind = api_events_wanted(r);
	if (kind != API_EVENTS_NONE)
		return code_stream(r, &a, kind == API_EVENTS_SSE);
	int rc = box_code_run(api_mgr(r), api_caller(r), a.sandbox_id, &a.req, NULL,
			      &res, &e);
	code_args_free(&a);
	if (rc < 0)
		return api_reply_err(r, &e);
	json_t *o = code_result_json(&res, true);
	box_code_result_free(&res);
	return api_reply_json(r, MHD_HTTP_OK, o);
}

static json_t *ctx_json(const struct box_ctx_info *c)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:i}", "id", c->id, "language",
			 box_lang_name(c->language), "cwd", c->cwd, "is_default",
			 c->is_default, "execution_count", c->execution_count);
}

enum MHD_Result h_ctx_create(struct api_req *r)
{
	json_t *b = NULL;
	const char *lang = NULL, *cwd = NULL;
	enum box_lang l = BOX_LANG_PYTHON;
	struct box_ctx_info info;
	struct aj_err e;
	int rc = api_body_json(r, &b, &e);
	if (rc == 0 && (jf_string(b, "language", &lang, &e) < 0 ||
			jf_string(b, "cwd", &cwd, &e) < 0))
		rc = -1;
	if (rc == 0 && lang && box_lang_parse(lang, &l) < 0)
		rc = aj_err_set(&e, AJ_EINVAL, 0,
				"field 'language' must be python, javascript or bash");
	if (rc == 0)
		rc = box_ctx_create(api_mgr(r), api_caller(r), api_param(r, "id"), l, cwd,
				    &info, &e);
	json_decref(b);
	if (rc < 0)
		return api_reply_err(r, &e);
	return api_reply_json(r, MHD_HTTP_CREATED, ctx_json(&info));
}

enum MHD_Result h_ctx_list(struct api_req *r)
{
	struct box_ctx_info *v;
	size_t n;
	struct aj_err e;
	if (box_ctx_list(api_mgr(r), api_caller(r), api_param(r, "id"), &v, &n, &e) < 0)
		return api_reply_err(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, ctx_json(&v[i]));
	free(v);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "contexts", arr));
}

enum MHD_Result h_ctx_restart(struct api_req *r)
{
	struct aj_err e;
	if (box_ctx_restart(api_mgr(r), api_caller(r), api_param(r, "id"),
			    api_param(r, "cid"), &e) < 0)
		return api_reply_err(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result h_ctx_delete(struct api_req *r)
{
	struct aj_err e;
	if (box_ctx_delete(api_mgr(r), api_caller(r), api_param(r, "id"),
			   api_param(r, "cid"), &e) < 0)
		return api_reply_err(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
