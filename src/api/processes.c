/* processes.c - background processes of a sandbox: list, status with
 * output so far, signal, write to stdin. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"

static json_t *proc_json(const struct box_proc_info *p, bool with_output)
{
	json_t *o = json_pack("{s:i,s:s,s:o,s:b}", "pid", (int)p->pid,
			      "exec_id", p->exec_id, "cmd", api_json_str(p->cmd),
			      "running", p->running);
	if (!o)
		return NULL;
	if (p->tag[0])
		json_object_set_new(o, "tag", api_json_str(p->tag));
	json_t *argv = json_array();
	for (char **a = p->argv; a && *a; a++)
		json_array_append_new(argv, api_json_str(*a));
	json_object_set_new(o, "argv", argv);
	json_object_set_new(o, "cwd", api_json_str(p->cwd));
	json_t *keys = json_array();
	for (size_t i = 0; i < p->nenv; i++)
		json_array_append_new(keys, api_json_str(p->env[i].key));
	json_object_set_new(o, "env_keys", keys);
	json_object_set_new(o, "exit_code",
			    p->running ? json_null() : json_integer(p->exit_code));
	json_object_set_new(o, "signal", json_integer(p->signal));
	json_object_set_new(o, "timed_out", json_boolean(p->timed_out));
	json_object_set_new(o, "oom_killed", json_boolean(p->oom_killed));
	json_object_set_new(o, "started_at", api_json_time(p->started_ms));
	json_object_set_new(o, "wall_ms", json_integer(p->wall_ms));
	if (with_output) {
		api_json_set_bytes(o, "stdout", p->out[0], p->out_len[0]);
		api_json_set_bytes(o, "stderr", p->out[1], p->out_len[1]);
		json_object_set_new(o, "stdout_truncated", json_boolean(p->truncated[0]));
		json_object_set_new(o, "stderr_truncated", json_boolean(p->truncated[1]));
	}
	return o;
}

/* The {pid} of the path. */
static int pid_param(struct api_req *r, pid_t *pid, struct aj_err *e)
{
	const char *s = api_param(r, "pid");
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || s[0] == '-' || s[0] == '+' || v < 1 || v > 0x7fffffffL)
		return aj_err_set(e, AJ_EINVAL, 0, "pid must be a positive integer");
	*pid = (pid_t)v;
	return 0;
}

enum MHD_Result h_proc_list(struct api_req *r)
{
	struct box_proc_info *v;
	size_t n;
	struct aj_err e;
	if (box_proc_list(api_mgr(r), api_caller(r), api_param(r, "id"), &v, &n, &e) < 0)
		return api_reply_err(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, proc_json(&v[i], false));
	box_proc_infos_free(v, n);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "processes", arr));
}

enum MHD_Result h_proc_get(struct api_req *r)
{
	struct box_proc_info p;
	pid_t pid;
	struct aj_err e;
	if (pid_param(r, &pid, &e) < 0 ||
	    box_proc_get(api_mgr(r), api_caller(r), api_param(r, "id"), pid, &p, &e) < 0)
		return api_reply_err(r, &e);
	json_t *o = proc_json(&p, true);
	box_proc_info_free(&p);
	return api_reply_json(r, MHD_HTTP_OK, o);
}

/* 15, "15", "SIGTERM" or "TERM". */
static int parse_signal(json_t *b, int *sig, struct aj_err *e)
{
	json_t *v = json_object_get(b, "signal");
	int64_t n;
	*sig = SIGTERM;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		if (jf_int(b, "signal", 1, 64, &n, e) < 0)
			return -1;
		*sig = (int)n;
		return 0;
	}
	if (!json_is_string(v))
		return aj_err_set(e, AJ_EINVAL, 0, "field 'signal' must be a name or a number");
	const char *s = json_string_value(v);
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int i = 1; i < 32; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && strcasecmp(abbrev, s) == 0) {
			*sig = i;
			return 0;
		}
	}
	return aj_err_set(e, AJ_EINVAL, 0, "field 'signal': unknown signal '%.32s'",
			  json_string_value(v));
}

enum MHD_Result h_proc_signal(struct api_req *r)
{
	json_t *b = NULL;
	pid_t pid;
	int sig = SIGTERM;
	struct aj_err e;
	int rc = pid_param(r, &pid, &e);
	if (rc == 0)
		rc = api_body_json(r, &b, &e);
	if (rc == 0)
		rc = parse_signal(b, &sig, &e);
	json_decref(b);
	if (rc < 0 || box_proc_signal(api_mgr(r), api_caller(r), api_param(r, "id"),
				      pid, sig, &e) < 0)
		return api_reply_err(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* {data | data_b64, eof}: write, then close stdin if eof. */
enum MHD_Result h_proc_stdin(struct api_req *r)
{
	json_t *b = NULL;
	char *data = NULL;
	size_t len = 0;
	bool eof = false;
	pid_t pid;
	struct aj_err e;
	struct box_mgr *m = api_mgr(r);
	const char *id = api_param(r, "id");
	int rc = pid_param(r, &pid, &e);
	if (rc == 0)
		rc = api_body_json(r, &b, &e);
	if (rc == 0 && (jf_bytes(b, "data", &data, &len, &e) < 0 ||
			jf_bool(b, "eof", &eof, &e) < 0))
		rc = -1;
	json_decref(b);
	if (rc == 0 && !data && !eof)
		rc = aj_err_set(&e, AJ_EINVAL, 0, "give 'data', 'data_b64' or 'eof': true");
	if (rc == 0 && data)
		rc = box_proc_write_stdin(m, api_caller(r), id, pid, data, len, &e);
	if (rc == 0 && eof)
		rc = box_proc_close_stdin(m, api_caller(r), id, pid, &e);
	free(data);
	if (rc < 0)
		return api_reply_err(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* DELETE /v1/sandboxes/{id}/processes: kill every process of the sandbox. */
enum MHD_Result h_proc_kill_all(struct api_req *r)
{
	struct aj_err e;
	if (box_proc_kill_all(api_mgr(r), api_caller(r), api_param(r, "id"), &e) < 0)
		return api_reply_err(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
