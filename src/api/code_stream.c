/* code_stream.c - a cell answered as a stream of events while it runs:
 *   {"type":"stdout","data":"..."} / {"type":"stderr",...}
 *   {"type":"result", "text"?, "html"?, "png"?, ..., "is_main_result"}
 *   {"type":"error","name","value","traceback"}
 *   {"type":"end", ...the result object without stdout/stderr}
 * If the client leaves, the cell is interrupted. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/events.h"
#include "api/internal.h"

struct code_job {
	struct api_events ev;
	struct box_mgr *m;
	struct box_caller caller;
	struct code_args args;
	atomic_bool cancelled;
};

static int on_output(void *ctx, enum box_stream s, const char *data, size_t len)
{
	struct code_job *j = ctx;
	return api_events_output(&j->ev, (int)s, data, len, false) < 0;
}

static int on_result(void *ctx, const struct box_cell_item *it)
{
	struct code_job *j = ctx;
	return api_events_emit(&j->ev, "result", code_item_json(it)) < 0;
}

static int on_error(void *ctx, const struct box_cell_error *err)
{
	struct code_job *j = ctx;
	return api_events_emit(&j->ev, "error", code_error_json(err)) < 0;
}

static int is_cancelled(void *ctx)
{
	struct code_job *j = ctx;
	return atomic_load(&j->cancelled);
}

static void produce(struct api_stream *s, void *arg)
{
	struct code_job *j = arg;
	struct box_code_sink sink = { on_output, on_result, on_error, is_cancelled, j };
	struct box_code_result res;
	struct aj_err e;
	j->ev.s = s;
	if (box_code_run(j->m, &j->caller, j->args.sandbox_id, &j->args.req, &sink,
			 &res, &e) < 0) {
		api_stream_fail(s, &e);
		return;
	}
	api_events_output(&j->ev, 0, NULL, 0, true);
	api_events_output(&j->ev, 1, NULL, 0, true);
	json_t *end = code_result_json(&res, false);
	json_object_del(end, "results"); /* already sent one by one */
	json_object_del(end, "error");
	api_events_emit(&j->ev, "end", end);
	box_code_result_free(&res);
}

static void cancel(void *arg)
{
	struct code_job *j = arg;
	atomic_store(&j->cancelled, true);
}

static void job_free(void *arg)
{
	struct code_job *j = arg;
	code_args_free(&j->args);
	free(j);
}

enum MHD_Result code_stream(struct api_req *r, struct code_args *a, bool sse)
{
	struct code_job *j = calloc(1, sizeof(*j));
	if (!j) {
		code_args_free(a);
		return api_reply_errf(r, AJ_EINTERNAL, "out of memory");
	}
	j->ev.sse = sse;
	j->m = api_mgr(r);
	j->caller = *api_caller(r);
	j->args = *a;
	memset(a, 0, sizeof(*a));
	return api_events_run(r, sse ? API_EVENTS_SSE : API_EVENTS_NDJSON, produce,
			      cancel, job_free, j);
}
