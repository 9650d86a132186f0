/* exec_stream.c - an exec answered as a stream of events while it runs
 * (on stream.c and events.c).
 *
 * Events (one JSON object per line, or per SSE frame "event: T"):
 *   {"type":"start","pid":N}
 *   {"type":"stdout","data":"..."}  / "data_b64" when not UTF-8 text
 *   {"type":"stderr",...}
 *   {"type":"exit", ...the result object without stdout/stderr}
 *   {"type":"error","error":{"code","message"}}  (failed after start)
 * If the client leaves, the command is killed.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api/events.h"
#include "api/internal.h"

struct exec_job {
	struct api_events ev;
	struct box_mgr *m;
	struct box_caller caller;
	struct exec_args args;
	pthread_mutex_t lock; /* pid, started: read by on_cancel */
	pid_t pid;
	bool started;
	size_t seen[2]; /* bytes of each stream the sink gave us */
};

static void kill_command(struct exec_job *j)
{
	pthread_mutex_lock(&j->lock);
	pid_t pid = j->started ? j->pid : 0;
	pthread_mutex_unlock(&j->lock);
	struct aj_err e;
	if (pid > 0)
		box_proc_signal(j->m, &j->caller, j->args.sandbox_id, pid, SIGKILL, &e);
}

static void cancel_job(void *arg)
{
	kill_command(arg);
}

static int on_start(void *ctx, pid_t pid)
{
	struct exec_job *j = ctx;
	pthread_mutex_lock(&j->lock);
	j->started = true;
	j->pid = pid;
	pthread_mutex_unlock(&j->lock);
	return api_events_emit(&j->ev, "start", json_pack("{s:i}", "pid", (int)pid)) < 0;
}

static int on_output(void *ctx, enum box_stream s, const char *data, size_t len)
{
	struct exec_job *j = ctx;
	j->seen[s] += len;
	return api_events_output(&j->ev, (int)s, data, len, false) < 0;
}

static void produce(struct api_stream *s, void *arg)
{
	struct exec_job *j = arg;
	struct box_sink sink = { on_start, on_output, j };
	struct box_exec_result res;
	struct aj_err e = { 0 };
	j->ev.s = s;
	int rc = box_exec(j->m, &j->caller, j->args.sandbox_id, &j->args.req, &sink,
			  &res, &e);
	if (rc < 0 && !j->started) {
		api_stream_fail(s, &e);
		return;
	}
	/* a replayed result never went through the sink: start first */
	if (rc == 0 && !j->started && !res.error && res.pid > 0)
		api_events_emit(&j->ev, "start", json_pack("{s:i}", "pid", (int)res.pid));
	/* the sink saw a prefix of the output the result holds (all of it,
	 * or none for a replay): send the rest and any held-back tail */
	for (int i = 0; i < 2; i++) {
		size_t rest = rc == 0 && res.out[i] && res.out_len[i] > j->seen[i]
				      ? res.out_len[i] - j->seen[i] : 0;
		api_events_output(&j->ev, i, rest ? res.out[i] + j->seen[i] : NULL, rest, true);
	}
	if (rc == 0)
		api_events_emit(&j->ev, "exit", exec_result_json(&res, false));
	else
		api_events_emit(&j->ev, "error",
				json_pack("{s:{s:s,s:o}}", "error", "code", aj_code_name(e.code),
					  "message", api_json_str(e.msg)));
	box_exec_result_free(&res);
}

static void job_free(void *arg)
{
	struct exec_job *j = arg;
	exec_args_free(&j->args);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

enum MHD_Result exec_stream(struct api_req *r, struct exec_args *a, bool sse)
{
	struct exec_job *j = calloc(1, sizeof(*j));
	if (!j) {
		exec_args_free(a);
		return api_reply_errf(r, AJ_EINTERNAL, "out of memory");
	}
	pthread_mutex_init(&j->lock, NULL);
	j->ev.sse = sse;
	j->m = api_mgr(r);
	j->caller = *api_caller(r);
	j->args = *a;
	memset(a, 0, sizeof(*a));
	return api_events_run(r, sse ? API_EVENTS_SSE : API_EVENTS_NDJSON, produce,
			      cancel_job, job_free, j);
}
