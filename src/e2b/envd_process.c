/* envd_process.c - process.Process over Connect: Start and Connect (server
 * streams of start / data / keepalive / end events), List, SendInput,
 * SendSignal, CloseStdin.
 *
 * As in E2B's envd, a command belongs to the sandbox, not to the request
 * that started it: it is started as a background process of the manager,
 * so it stays visible to List, SendSignal and Connect while it runs, and
 * a client that goes away (handle.disconnect(), a dropped connection)
 * does not kill it.  Connect-Timeout-Ms is its deadline, as envd has it;
 * without the header it has none. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2b/internal.h"
#include "util/crypto.h"

/* Output a command may produce per stream: the manager keeps what it
 * streams (and drops what goes past), while envd only passes it on.  The
 * operator's cap wins if it is lower. */
#define OUTPUT_LIMIT (16u << 20)

/* The keepalive event as one envelope. */
static const char keepalive_frame[] = "\0\0\0\0\x1a{\"event\":{\"keepalive\":{}}}";
_Static_assert(sizeof(keepalive_frame) - 1 == 5 + 0x1a, "keepalive envelope length");

/* What a stream's worker needs: the request's pieces outlive it here. */
struct proc_job {
	struct box_mgr *m;
	struct e2b_who who;
	json_t *msg;             /* the request message (owns the strings) */
	struct box_exec req;     /* Start only */
	char **argv;
	struct box_kv *env;
	pid_t pid;               /* Connect: the process to follow */
	struct api_stream *st;
	struct aj_buf out;       /* frames being built */
};

static void job_free(void *arg)
{
	struct proc_job *j = arg;
	json_decref(j->msg);
	free(j->argv);
	free(j->env);
	aj_buf_free(&j->out);
	free(j);
}

/* ---- events ------------------------------------------------------------------- */

static int send_event(struct proc_job *j, json_t *event)
{
	if (cn_frame(&j->out, json_pack("{s:o}", "event", event)) < 0)
		return -1;
	return api_stream_write_buf(j->st, &j->out);
}

static int send_start(struct proc_job *j, pid_t pid)
{
	return send_event(j, json_pack("{s:{s:i}}", "start", "pid", (int)pid));
}

static int send_data(struct proc_job *j, enum box_stream s, const char *p, size_t n)
{
	char *b64 = malloc(aj_base64_encoded_size(n));
	if (!b64)
		return -1;
	aj_base64_encode(p, n, b64);
	int rc = send_event(j, json_pack("{s:{s:s}}", "data",
					 s == BOX_STDOUT ? "stdout" : "stderr", b64));
	free(b64);
	return rc;
}

/* The end event as envd reports it (Go's ProcessState): an exit status,
 * or exitCode -1 and "signal: killed" for a process ended by a signal. */
static int send_end(struct proc_job *j, const struct box_exec_result *res)
{
	char status[96];
	bool exited = res->signal == 0;
	if (exited) {
		snprintf(status, sizeof(status), "exit status %d", res->exit_code);
	} else {
		char name[64];
		e2b_signal_name(res->signal, name, sizeof(name));
		snprintf(status, sizeof(status), "signal: %s", name);
	}
	json_t *end = json_pack("{s:i,s:b,s:s}", "exitCode", exited ? res->exit_code : -1,
				"exited", exited, "status", status);
	if (end && (!exited || res->exit_code != 0))
		json_object_set_new(end, "error", json_string(status));
	return send_event(j, json_pack("{s:o}", "end", end));
}

static void send_end_stream(struct proc_job *j, const char *code, const char *msg)
{
	if (cn_end_frame(&j->out, code, msg) == 0)
		api_stream_write_buf(j->st, &j->out);
}

/* ---- following -------------------------------------------------------------------- */

static int on_output(void *ctx, enum box_stream s, const char *data, size_t len)
{
	return send_data(ctx, s, data, len);
}

/* Stream the process's output until it ends (then the end event and the
 * end of the stream) or the client leaves (then nothing: it runs on). */
static void follow(struct proc_job *j, pid_t pid, bool from_start)
{
	struct box_sink sink = { .on_output = on_output, .ctx = j };
	struct box_exec_result res;
	struct aj_err e;
	if (box_proc_follow(j->m, &j->who.caller, j->who.id, pid, from_start, &sink,
			    api_stream_cancel_flag(j->st), &res, &e) < 0) {
		send_end_stream(j, cn_code(e.code), e.msg);
		return;
	}
	bool ended = res.exit_code != -1 || res.signal != 0;
	if (ended && !atomic_load(api_stream_cancel_flag(j->st)) && send_end(j, &res) == 0)
		send_end_stream(j, NULL, NULL);
	box_exec_result_free(&res);
}

/* ---- Start ------------------------------------------------------------------------- */

/* A command over before the manager saw it running comes back whole. */
static void replay(struct proc_job *j, const struct box_exec_result *res)
{
	if (send_start(j, res->pid) != 0)
		return;
	for (int s = 0; s < 2; s++)
		if (res->out_len[s] && send_data(j, (enum box_stream)s, res->out[s],
						  res->out_len[s]) != 0)
			return;
	if (send_end(j, res) == 0)
		send_end_stream(j, NULL, NULL);
}

/* A background exec that is still running comes back with its pid and
 * nothing else (box.h); one that was over at once comes back with its
 * whole result, output included. */
static bool running(const struct box_exec_result *res)
{
	return !res->out[0] && !res->out[1] && !res->error;
}

static void start_work(struct api_stream *st, void *arg)
{
	struct proc_job *j = arg;
	struct box_exec_result res;
	struct aj_err e;
	j->st = st;
	int rc = box_exec(j->m, &j->who.caller, j->who.id, &j->req, NULL, &res, &e);
	if (rc < 0 && e.code == AJ_EINVAL && j->req.output_limit) {
		/* over the operator's cap (checked before anything runs) */
		j->req.output_limit = 0;
		rc = box_exec(j->m, &j->who.caller, j->who.id, &j->req, NULL, &res, &e);
	}
	if (rc < 0) {
		send_end_stream(j, cn_code(e.code), e.msg);
		return;
	}
	if (res.error)
		send_end_stream(j, "invalid_argument", res.error);
	else if (!running(&res))
		replay(j, &res);
	else if (send_start(j, res.pid) == 0)
		follow(j, res.pid, true);
	box_exec_result_free(&res);
}

/* argv, env and the rest of the exec from a StartRequest. */
static int parse_start(struct api_req *r, struct proc_job *j, struct aj_err *e)
{
	json_t *proc = json_object_get(j->msg, "process");
	const char *cmd = json_string_value(json_object_get(proc, "cmd"));
	json_t *args = json_object_get(proc, "args");
	size_t na = json_array_size(args);
	if (json_object_get(j->msg, "pty"))
		return aj_err_set(e, AJ_EUNSUPPORTED, 0, "agentjail does not support PTYs");
	if (!cmd || !*cmd)
		return aj_err_set(e, AJ_EINVAL, 0, "process.cmd is required");
	if (!(j->argv = calloc(na + 2, sizeof(char *))))
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	j->argv[0] = (char *)cmd;
	for (size_t i = 0; i < na; i++)
		if (!(j->argv[i + 1] = (char *)json_string_value(json_array_get(args, i))))
			return aj_err_set(e, AJ_EINVAL, 0, "process.args must be strings");
	if (jf_kv(proc, "envs", &j->env, &j->req.nenv, e) < 0 ||
	    jf_string(proc, "cwd", &j->req.cwd, e) < 0 ||
	    jf_string(j->msg, "tag", &j->req.tag, e) < 0 ||
	    jf_bool(j->msg, "stdin", &j->req.keep_stdin, e) < 0)
		return -1;
	int64_t deadline = cn_timeout_ms(r);
	j->req.argv = j->argv;
	j->req.env = j->env;
	j->req.background = true;
	j->req.timeout_ms = deadline > 0 ? deadline : -1;
	j->req.output_limit = OUTPUT_LIMIT;
	return 0;
}

static struct proc_job *job_new(struct api_req *r, const struct e2b_who *w, json_t *msg)
{
	struct proc_job *j = calloc(1, sizeof(*j));
	if (!j) {
		json_decref(msg);
		return NULL;
	}
	j->m = api_mgr(r);
	j->who = *w;
	j->msg = msg;
	return j;
}

static enum MHD_Result stream(struct api_req *r, void (*fn)(struct api_stream *, void *), struct proc_job *j)
{
	struct api_stream_spec spec = {
		.content_type = "application/connect+json",
		.produce = fn,
		.free_arg = job_free,
		.arg = j,
		.begin_now = true,
		.keepalive_ms = cn_keepalive_ms(r),
		.keepalive = keepalive_frame,
		.keepalive_len = sizeof(keepalive_frame) - 1,
	};
	return api_stream_run(r, &spec);
}

enum MHD_Result eh_proc_start(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	json_t *msg;
	enum MHD_Result rc;
	if (cn_begin(r, true, &w, &msg, &rc) < 0)
		return rc;
	struct proc_job *j = job_new(r, &w, msg);
	if (!j)
		return MHD_NO;
	if (parse_start(r, j, &e) < 0) {
		job_free(j);
		return cn_reply_stream_error(r, cn_code(e.code), e.msg);
	}
	return stream(r, start_work, j);
}

/* ---- Connect ------------------------------------------------------------------------ */

static void connect_work(struct api_stream *st, void *arg)
{
	struct proc_job *j = arg;
	j->st = st;
	if (send_start(j, j->pid) == 0)
		follow(j, j->pid, false);
}

/* The pid of a selector, if that process is running. */
static int running_pid(struct api_req *r, const struct e2b_who *w, json_t *msg,
		       pid_t *pid, struct aj_err *e)
{
	struct box_proc_info pi;
	if (cn_selector_pid(r, w, msg, pid, e) < 0 ||
	    box_proc_get(api_mgr(r), &w->caller, w->id, *pid, &pi, e) < 0)
		return -1;
	bool running = pi.running;
	box_proc_info_free(&pi);
	if (!running)
		return aj_err_set(e, AJ_ENOTFOUND, 0, "process %d has exited", (int)*pid);
	return 0;
}

enum MHD_Result eh_proc_connect(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	json_t *msg;
	pid_t pid;
	enum MHD_Result rc;
	if (cn_begin(r, true, &w, &msg, &rc) < 0)
		return rc;
	if (running_pid(r, &w, msg, &pid, &e) < 0) {
		json_decref(msg);
		return cn_reply_stream_error(r, cn_code(e.code), e.msg);
	}
	struct proc_job *j = job_new(r, &w, msg);
	if (!j)
		return MHD_NO;
	j->pid = pid;
	return stream(r, connect_work, j);
}

/* ---- unary calls --------------------------------------------------------------------- */

static json_t *process_json(const struct box_proc_info *p)
{
	json_t *args = json_array(), *envs = json_object();
	for (size_t i = 1; p->argv && p->argv[0] && p->argv[i]; i++)
		json_array_append_new(args, api_json_str(p->argv[i]));
	for (size_t i = 0; i < p->nenv; i++)
		json_object_set_new(envs, p->env[i].key, api_json_str(p->env[i].value));
	json_t *o = json_pack("{s:i,s:{s:o,s:o,s:o,s:o}}", "pid", (int)p->pid, "config",
			      "cmd", api_json_str(p->argv && p->argv[0] ? p->argv[0] : p->cmd),
			      "args", args, "envs", envs, "cwd", api_json_str(p->cwd));
	if (o && p->tag[0])
		json_object_set_new(o, "tag", api_json_str(p->tag));
	return o;
}

enum MHD_Result eh_proc_list(struct api_req *r)
{
	struct e2b_who w;
	struct box_proc_info *v;
	size_t n;
	struct aj_err e;
	json_t *msg;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	json_decref(msg);
	if (box_proc_list(api_mgr(r), &w.caller, w.id, &v, &n, &e) < 0)
		return cn_reply_aj(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		if (v[i].running) /* envd lists live processes only */
			json_array_append_new(arr, process_json(&v[i]));
	box_proc_infos_free(v, n);
	return cn_reply(r, json_pack("{s:o}", "processes", arr));
}

/* "SIGNAL_SIGKILL" or 9; SIGKILL and SIGTERM are what the proto has. */
static int parse_signal(json_t *v, int *sig, struct aj_err *e)
{
	const char *s = json_string_value(v);
	if (json_is_integer(v))
		*sig = (int)json_integer_value(v);
	else if (s && strcmp(s, "SIGNAL_SIGKILL") == 0)
		*sig = SIGKILL;
	else if (s && strcmp(s, "SIGNAL_SIGTERM") == 0)
		*sig = SIGTERM;
	else
		return aj_err_set(e, AJ_EINVAL, 0, "signal must be SIGNAL_SIGKILL or SIGNAL_SIGTERM");
	if (*sig != SIGKILL && *sig != SIGTERM)
		return aj_err_set(e, AJ_EINVAL, 0, "signal must be SIGNAL_SIGKILL or SIGNAL_SIGTERM");
	return 0;
}

enum MHD_Result eh_proc_signal(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	json_t *msg;
	pid_t pid = 0;
	int sig = 0;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	int st = cn_selector_pid(r, &w, msg, &pid, &e);
	if (st == 0)
		st = parse_signal(json_object_get(msg, "signal"), &sig, &e);
	if (st == 0)
		st = box_proc_signal(api_mgr(r), &w.caller, w.id, pid, sig, &e);
	json_decref(msg);
	return st < 0 ? cn_reply_aj(r, &e) : cn_reply(r, json_object());
}

enum MHD_Result eh_proc_input(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	json_t *msg;
	pid_t pid;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	json_t *input = json_object_get(msg, "input");
	const char *b64 = json_string_value(json_object_get(input, "stdin"));
	size_t n = b64 ? strlen(b64) : 0, len = 0;
	char *data = malloc(aj_base64_decoded_max(n) + 1);
	int st = cn_selector_pid(r, &w, msg, &pid, &e);
	if (st == 0 && json_object_get(input, "pty"))
		st = aj_err_set(&e, AJ_EUNSUPPORTED, 0, "agentjail does not support PTYs");
	else if (st == 0 && !b64)
		st = aj_err_set(&e, AJ_EINVAL, 0, "input.stdin is required");
	else if (st == 0 && !data)
		st = aj_err_set(&e, AJ_EINTERNAL, 0, "out of memory");
	if (st == 0)
		st = aj_base64_decode(b64, n, data, aj_base64_decoded_max(n) + 1, &len, &e);
	if (st == 0)
		st = box_proc_write_stdin(api_mgr(r), &w.caller, w.id, pid, data, len, &e);
	free(data);
	json_decref(msg);
	return st < 0 ? cn_reply_aj(r, &e) : cn_reply(r, json_object());
}

enum MHD_Result eh_proc_close_stdin(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	json_t *msg;
	pid_t pid;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	int st = cn_selector_pid(r, &w, msg, &pid, &e);
	if (st == 0)
		st = box_proc_close_stdin(api_mgr(r), &w.caller, w.id, pid, &e);
	json_decref(msg);
	return st < 0 ? cn_reply_aj(r, &e) : cn_reply(r, json_object());
}
