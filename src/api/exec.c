/* exec.c - POST /v1/sandboxes/{id}/exec: run a command to completion and
 * answer with its result, start it in the background (202), or hand it
 * to exec_stream.c when the client accepts a stream. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/stream.h"

#define MAX_TIMEOUT_MS (100LL * 365 * 86400 * 1000)
#define MAX_OUTPUT_LIMIT (1LL << 40)

void exec_args_free(struct exec_args *a)
{
	json_decref(a->body);
	free(a->argv);
	free(a->env);
	free(a->stdin_buf);
	free(a->idem_key);
	free(a->sandbox_id);
	memset(a, 0, sizeof(*a));
}

/* Fields of the body that choose what runs and how. */
static int parse_fields(json_t *o, struct exec_args *a, struct aj_err *e)
{
	struct box_exec *q = &a->req;
	int64_t v;
	int rc;
	if (jf_strv(o, "cmd", &a->argv, e) < 0 ||
	    jf_string(o, "command", &q->command, e) < 0 ||
	    jf_kv(o, "env", &a->env, &q->nenv, e) < 0 ||
	    jf_string(o, "cwd", &q->cwd, e) < 0 ||
	    jf_string(o, "tag", &q->tag, e) < 0 ||
	    jf_bool(o, "background", &q->background, e) < 0 ||
	    jf_bytes(o, "stdin", &a->stdin_buf, &q->stdin_len, e) < 0)
		return -1;
	q->argv = a->argv;
	q->env = a->env;
	q->stdin_data = a->stdin_buf;
	/* A background process lives as long as its sandbox unless told. */
	if ((rc = jf_int(o, "timeout_ms", 0, MAX_TIMEOUT_MS, &v, e)) < 0)
		return -1;
	q->timeout_ms = rc ? v : (q->background ? -1 : 0);
	if ((rc = jf_int(o, "output_limit", 1, MAX_OUTPUT_LIMIT, &v, e)) < 0)
		return -1;
	if (rc)
		q->output_limit = (uint64_t)v;
	/* Background: stdin stays open for POST .../stdin unless told. */
	q->keep_stdin = q->background;
	if (jf_bool(o, "keep_stdin", &q->keep_stdin, e) < 0)
		return -1;
	q->keep_stdin = q->keep_stdin && q->background;
	return 0;
}

/* Parse the request into a, which then owns everything it points to
 * (a stream outlives the request's own memory). */
static int parse_exec(struct api_req *r, struct exec_args *a, struct aj_err *e)
{
	const char *key;
	if (api_body_json(r, &a->body, e) < 0 || parse_fields(a->body, a, e) < 0 ||
	    api_idempotency_key(r, &key, e) < 0)
		return -1;
	a->sandbox_id = strdup(api_param(r, "id"));
	a->idem_key = key ? strdup(key) : NULL;
	if (!a->sandbox_id || (key && !a->idem_key))
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	a->req.idempotency_key = a->idem_key;
	return 0;
}

json_t *exec_result_json(const struct box_exec_result *res, bool with_output)
{
	json_t *o = json_pack("{s:s,s:i,s:i,s:i}", "exec_id", res->exec_id,
			      "pid", (int)res->pid, "exit_code", res->exit_code,
			      "signal", res->signal);
	if (!o)
		return NULL;
	if (with_output) {
		api_json_set_bytes(o, "stdout", res->out[0], res->out_len[0]);
		api_json_set_bytes(o, "stderr", res->out[1], res->out_len[1]);
	}
	json_object_set_new(o, "stdout_truncated", json_boolean(res->truncated[0]));
	json_object_set_new(o, "stderr_truncated", json_boolean(res->truncated[1]));
	json_object_set_new(o, "timed_out", json_boolean(res->timed_out));
	json_object_set_new(o, "oom_killed", json_boolean(res->oom_killed));
	json_object_set_new(o, "wall_ms", json_integer(res->wall_ms));
	json_object_set_new(o, "cpu_ms", json_integer(res->cpu_ms));
	json_object_set_new(o, "max_rss_kb", json_integer(res->max_rss_kb));
	if (res->error)
		json_object_set_new(o, "error", api_json_str(res->error));
	return o;
}

static int fg_started(void *ctx, pid_t pid)
{
	running_started(ctx, pid);
	return 0;
}

/* Run to the end, registered so that a stopping server can end it. */
static int run_plain(struct api_req *r, struct exec_args *a,
		     struct box_exec_result *res, struct aj_err *e)
{
	struct api_running x;
	if (running_begin(r->srv, &x, api_caller(r), a->sandbox_id, e) < 0)
		return -1;
	struct box_sink sink = { .on_start = fg_started, .ctx = &x };
	int rc = box_exec(api_mgr(r), api_caller(r), a->sandbox_id, &a->req, &sink, res, e);
	running_end(&x);
	return rc;
}

enum MHD_Result h_exec(struct api_req *r)
{
	struct exec_args a;
	struct box_exec_result res;
	struct aj_err e;
	memset(&a, 0, sizeof(a));
	if (parse_exec(r, &a, &e) < 0) {
		exec_args_free(&a);
		return api_reply_err(r, &e);
	}
	enum api_events_format kind = api_events_wanted(r);
	if (kind != API_EVENTS_NONE && !a.req.background)
		return exec_stream(r, &a, kind == API_EVENTS_SSE);
	int rc = run_plain(r, &a, &res, &e);
	bool background = a.req.background;
	exec_args_free(&a);
	if (rc < 0)
		return api_reply_err(r, &e);
	json_t *o;
	unsigned status = MHD_HTTP_OK;
	if (background && !res.error) {
		o = json_pack("{s:i,s:s}", "pid", (int)res.pid, "exec_id", res.exec_id);
		status = MHD_HTTP_ACCEPTED;
	} else {
		o = exec_result_json(&res, true);
	}
	box_exec_result_free(&res);
	return api_reply_json(r, status, o);
}
