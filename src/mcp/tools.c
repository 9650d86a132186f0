/* tools.c - the tool handlers: turn checked arguments into manager calls
 * and the manager's answers into structured results.  Each runs on its
 * call's own thread and reports every failure as a result (is_error). */
#include "mcp/tools.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box/box.h"
#include "mcp/call.h"
#include "mcp/text.h"
#include "util/crypto.h"

#define LIST_MAX 1000
#define READ_DEFAULT (1 << 20)

/* ---- small helpers ------------------------------------------------------------ */

static const char *arg_str(json_t *args, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(args, key));
	return v ? v : dflt;
}

static int64_t arg_int(json_t *args, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(args, key);
	return json_is_number(v) ? (int64_t)json_number_value(v) : dflt;
}

/* A manager failure, in words that tell the model what to do next. */
static int box_fail(struct tool_out *out, const struct aj_err *e)
{
	if (e->code == AJ_ENOTFOUND && strncmp(e->msg, "sandbox ", 8) == 0)
		return tool_fail(out, "%s: it may have expired or been destroyed; "
				 "omit sandbox_id to use this session's own sandbox",
				 e->msg);
	if (e->code == AJ_ENOSPC)
		return tool_fail(out, "%s: the sandbox's disk quota is full; delete "
				 "files or create a sandbox with a larger disk_mb",
				 e->msg);
	return tool_fail(out, "%s", e->msg[0] ? e->msg : aj_code_name(e->code));
}

/* A JSON object of strings as box_kv pairs pointing into it (borrowed). */
static struct box_kv *kv_from(json_t *obj, size_t *n)
{
	*n = json_object_size(obj);
	if (!*n)
		return NULL;
	struct box_kv *kv = calloc(*n, sizeof(*kv));
	const char *k;
	json_t *v;
	size_t i = 0;
	if (!kv) {
		*n = 0;
		return NULL;
	}
	json_object_foreach(obj, k, v) {
		kv[i].key = (char *)k;
		kv[i].value = (char *)json_string_value(v);
		i++;
	}
	return kv;
}

static void set_output(json_t *r, const char *name, char *data, size_t len,
		       bool truncated)
{
	char key[32];
	json_object_set_new(r, name, text_json(data ? data : "", data ? len : 0));
	snprintf(key, sizeof(key), "%s_truncated", name);
	if (truncated)
		json_object_set_new(r, key, json_true());
}

/* ---- run_command ------------------------------------------------------------------ */

struct cmd_ctx {
	struct mcp_call *call;
	const char *box;
};

static int cmd_on_start(void *ctx, pid_t pid)
{
	struct cmd_ctx *x = ctx;
	call_set_pid(x->call, x->box, pid);
	return call_cancelled(x->call);
}

static int cmd_on_output(void *ctx, enum box_stream s, const char *data,
			 size_t len)
{
	struct cmd_ctx *x = ctx;
	(void)data;
	call_output(x->call, s == BOX_STDOUT ? "stdout" : "stderr", len);
	return call_cancelled(x->call);
}

static json_t *exec_json(const struct box_exec_result *r)
{
	json_t *j = json_pack("{s:i,s:b,s:b,s:I}", "exit_code", r->exit_code,
			      "timed_out", r->timed_out, "oom_killed", r->oom_killed,
			      "wall_ms", (json_int_t)r->wall_ms);
	if (r->signal)
		json_object_set_new(j, "signal", json_integer(r->signal));
	set_output(j, "stdout", r->out[0], r->out_len[0], r->truncated[0]);
	set_output(j, "stderr", r->out[1], r->out_len[1], r->truncated[1]);
	return j;
}

static void exec_verdict(const struct box_exec_result *r, json_t *j,
			 int64_t timeout_ms, struct tool_out *out)
{
	char msg[256] = "";
	if (r->error)
		snprintf(msg, sizeof(msg), "the command could not start: %s", r->error);
	else if (r->timed_out)
		snprintf(msg, sizeof(msg), "the command was killed after timeout_ms "
			 "(%lld ms)", (long long)timeout_ms);
	else if (r->oom_killed)
		snprintf(msg, sizeof(msg), "the command ran out of memory and was "
			 "killed; create a sandbox with a larger memory_mb");
	else if (r->signal)
		snprintf(msg, sizeof(msg), "the command was killed by signal %d",
			 r->signal);
	else if (r->exit_code != 0)
		snprintf(msg, sizeof(msg), "the command exited with status %d",
			 r->exit_code);
	if (msg[0])
		json_object_set_new(j, "error", json_string(msg));
	out->structured = j;
	out->is_error = msg[0] != '\0';
}

int tool_run_command(struct mcp_call *c, json_t *args, struct tool_out *out)
{
	char box[40];
	struct aj_err e;
	if (call_sandbox(c, args, box, &e) < 0)
		return box_fail(out, &e);
	size_t nenv;
	struct box_kv *env = kv_from(json_object_get(args, "env"), &nenv);
	const char *in = arg_str(args, "stdin", NULL);
	int64_t timeout = arg_int(args, "timeout_ms", 60000);
	struct box_exec req = {
		.command = arg_str(args, "command", ""),
		.env = env,
		.nenv = nenv,
		.cwd = arg_str(args, "cwd", NULL),
		.stdin_data = in,
		.stdin_len = in ? strlen(in) : 0,
		.timeout_ms = timeout,
	};
	struct cmd_ctx x = { c, box };
	struct box_sink sink = { cmd_on_start, cmd_on_output, &x };
	struct box_exec_result r;
	int rc = box_exec(call_mgr(c), call_caller(c), box, &req, &sink, &r, &e);
	call_set_pid(c, box, 0);
	free(env);
	if (rc < 0)
		return box_fail(out, &e);
	exec_verdict(&r, exec_json(&r), timeout, out);
	box_exec_result_free(&r);
	return 0;
}

/* ---- run_code ------------------------------------------------------------------------ */

static int code_on_output(void *ctx, enum box_stream s, const char *data,
			  size_t len)
{
	struct mcp_call *c = ctx;
	(void)data;
	call_output(c, s == BOX_STDOUT ? "stdout" : "stderr", len);
	return call_cancelled(c);
}

static int code_on_result(void *ctx, const struct box_cell_item *item)
{
	(void)item;
	return call_cancelled(ctx);
}

static int code_on_error(void *ctx, const struct box_cell_error *err)
{
	(void)err;
	return call_cancelled(ctx);
}

/* One rich result: every format as a string, except PNG, which becomes
 * image content (index given) so the model sees the picture. */
static json_t *cell_item_json(const struct box_cell_item *it, json_t *images)
{
	json_t *j = json_pack("{s:b}", "is_main_result", it->is_main);
	for (size_t k = 0; k < it->nformats; k++) {
		const struct box_kv *f = &it->formats[k];
		if (strcmp(f->key, "png") == 0) {
			json_object_set_new(j, "image_index",
					    json_integer((json_int_t)json_array_size(images)));
			json_array_append_new(images, json_pack("{s:s,s:s,s:s}",
				"type", "image", "data", f->value, "mimeType", "image/png"));
		} else if (strcmp(f->key, "is_main_result") != 0 &&
			   strcmp(f->key, "image_index") != 0) {
			json_object_set_new(j, f->key,
					    text_json(f->value, strlen(f->value)));
		}
	}
	return j;
}

static json_t *code_json(const struct box_code_result *r, enum box_lang lang,
			 json_t *images)
{
	json_t *j = json_pack("{s:s,s:i,s:I,s:b}", "language", box_lang_name(lang),
			      "execution_count", r->execution_count,
			      "wall_ms", (json_int_t)r->wall_ms, "timed_out", r->timed_out);
	set_output(j, "stdout", r->out[0], r->out_len[0], r->truncated[0]);
	set_output(j, "stderr", r->out[1], r->out_len[1], r->truncated[1]);
	json_t *results = json_array();
	for (size_t i = 0; i < r->nresults; i++)
		json_array_append_new(results, cell_item_json(&r->results[i], images));
	json_object_set_new(j, "results", results);
	if (r->restarted)
		json_object_set_new(j, "context_restarted", json_true());
	if (r->notice)
		json_object_set_new(j, "notice", json_string(r->notice));
	return j;
}

static void code_verdict(const struct box_code_result *r, json_t *j,
			 int64_t timeout_ms)
{
	const struct box_cell_error *x = r->error;
	char msg[512] = "";
	if (x) {
		json_object_set_new(j, "exception", json_pack("{s:s,s:s,s:s}",
			"name", x->name ? x->name : "", "value", x->value ? x->value : "",
			"traceback", x->traceback ? x->traceback : ""));
		snprintf(msg, sizeof(msg), "%s: %s", x->name ? x->name : "error",
			 x->value ? x->value : "");
	}
	if (r->timed_out)
		snprintf(msg, sizeof(msg), "the cell was interrupted after timeout_ms "
			 "(%lld ms); earlier state is kept", (long long)timeout_ms);
	if (msg[0])
		json_object_set_new(j, "error", json_string(msg));
}

/* Polled while the cell is silent: a cancelled call interrupts it. */
static int code_is_cancelled(void *ctx)
{
	return call_cancelled(ctx);
}

int tool_run_code(struct mcp_call *c, json_t *args, struct tool_out *out)
{
	char box[40];
	struct aj_err e;
	enum box_lang lang;
	if (box_lang_parse(arg_str(args, "language", "python"), &lang) < 0)
		return tool_fail(out, "language must be python, javascript or bash");
	if (call_sandbox(c, args, box, &e) < 0)
		return box_fail(out, &e);
	int64_t timeout = arg_int(args, "timeout_ms", 60000);
	struct box_code req = {
		.code = arg_str(args, "code", ""),
		.language = lang,
		.timeout_ms = timeout,
	};
	struct box_code_sink sink = { code_on_output, code_on_result,
				      code_on_error, code_is_cancelled, c };
	struct box_code_result r;
	memset(&r, 0, sizeof(r));
	if (box_code_run(call_mgr(c), call_caller(c), box, &req, &sink, &r, &e) < 0) {
		box_code_result_free(&r);
		return box_fail(out, &e);
	}
	json_t *images = json_array();
	json_t *j = code_json(&r, lang, images);
	code_verdict(&r, j, timeout);
	out->is_error = json_object_get(j, "error") != NULL;
	out->structured = j;
	out->images = images;
	box_code_result_free(&r);
	return 0;
}

/* ---- files --------------------------------------------------------------------------- */

static int decode_content(json_t *args, char **data, size_t *len,
			  struct tool_out *out)
{
	json_t *content = json_object_get(args, "content");
	const char *text = json_string_value(content);
	size_t n = json_string_length(content);
	*data = NULL;
	if (strcmp(arg_str(args, "encoding", "utf8"), "base64") != 0) {
		*len = n;
		return 0;
	}
	struct aj_err e;
	size_t cap = aj_base64_decoded_max(n);
	*data = malloc(cap ? cap : 1);
	if (!*data)
		return tool_fail(out, "out of memory"), -1;
	if (aj_base64_decode(text, n, *data, cap, len, &e) < 0) {
		free(*data);
		*data = NULL;
		tool_fail(out, "content is not valid base64 (standard alphabet, "
			  "padded, no whitespace): %s", e.msg);
		return -1;
	}
	return 0;
}

static int upload(struct mcp_call *c, const char *box, const char *path,
		  const char *data, size_t len, struct box_entry *ent,
		  struct aj_err *e)
{
	struct box_upload *u;
	if (box_upload_begin(call_mgr(c), call_caller(c), box, path, &u, e) < 0)
		return -1;
	if (box_upload_write(u, data, len, e) < 0) {
		box_upload_abort(u);
		return -1;
	}
	return box_upload_commit(u, ent, e);
}

int tool_write_file(struct mcp_call *c, json_t *args, struct tool_out *out)
{
	char box[40];
	struct aj_err e;
	char *decoded;
	size_t len;
	if (decode_content(args, &decoded, &len, out) < 0)
		return 0;
	const char *data = decoded ? decoded
				   : json_string_value(json_object_get(args, "content"));
	struct box_entry ent = { 0 };
	int rc = call_sandbox(c, args, box, &e);
	if (rc == 0)
		rc = upload(c, box, arg_str(args, "path", ""), data, len, &ent, &e);
	free(decoded);
	if (rc < 0)
		return box_fail(out, &e);
	out->structured = json_pack("{s:s,s:I}", "path", ent.path,
				    "size", (json_int_t)ent.size);
	box_entry_free(&ent);
	return 0;
}

static ssize_t read_full(int fd, char *buf, size_t want)
{
	size_t got = 0;
	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static const char *image_type(const unsigned char *p, size_t n)
{
	if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 3 && memcmp(p, "\xff\xd8\xff", 3) == 0)
		return "image/jpeg";
	if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

/* Content as the caller asked: UTF-8 text or base64 (plus image content
 * for a whole image file). */
static int render_content(json_t *j, const char *buf, size_t n, bool whole,
			  bool b64, struct tool_out *out)
{
	if (!b64) {
		size_t ok = whole ? n : utf8_complete_prefix(buf, n);
		if (!utf8_valid(buf, ok))
			return tool_fail(out, "the file is not UTF-8 text; read it "
					 "again with encoding \"base64\"");
		json_object_set_new(j, "content", json_stringn(buf, ok));
		return 0;
	}
	char *enc = malloc(aj_base64_encoded_size(n));
	if (!enc)
		return tool_fail(out, "out of memory");
	aj_base64_encode(buf, n, enc);
	json_object_set_new(j, "content", json_string(enc));
	const char *mime = whole ? image_type((const unsigned char *)buf, n) : NULL;
	if (mime)
		out->images = json_pack("[{s:s,s:s,s:s}]", "type", "image",
					"data", enc, "mimeType", mime);
	free(enc);
	return 0;
}

int tool_read_file(struct mcp_call *c, json_t *args, struct tool_out *out)
{
	char box[40];
	struct aj_err e;
	int fd;
	uint64_t size;
	const char *path = arg_str(args, "path", "");
	bool b64 = strcmp(arg_str(args, "encoding", "utf8"), "base64") == 0;
	size_t max = (size_t)arg_int(args, "max_bytes", READ_DEFAULT);
	if (call_sandbox(c, args, box, &e) < 0 ||
	    box_file_open_read(call_mgr(c), call_caller(c), box, path, &fd, &size, &e) < 0)
		return box_fail(out, &e);
	size_t want = size < max ? (size_t)size : max;
	char *buf = malloc(want + 1);
	ssize_t n = buf ? read_full(fd, buf, want) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return tool_fail(out, "cannot read %s: %s", path, strerror(errno));
	}
	bool whole = (uint64_t)n >= size;
	json_t *j = json_pack("{s:s,s:I,s:s,s:b}", "path", path, "size",
			      (json_int_t)size, "encoding", b64 ? "base64" : "utf8",
			      "truncated", !whole);
	out->structured = j;
	render_content(j, buf, (size_t)n, whole, b64, out);
	free(buf);
	return 0;
}

static const char *ftype_name(enum box_ftype t)
{
	switch (t) {
	case BOX_FT_FILE: return "file";
	case BOX_FT_DIR: return "dir";
	case BOX_FT_SYMLINK: return "symlink";
	default: return "other";
	}
}

static json_t *entry_json(const struct box_entry *en)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:I}", "name", en->name,
			      "path", en->path, "type", ftype_name(en->type),
			      "size", (json_int_t)en->size,
			      "mtime_ms", (json_int_t)en->mtime_ms);
	if (en->symlink_target)
		json_object_set_new(j, "symlink_target", json_string(en->symlink_target));
	return j;
}

int tool_list_files(struct mcp_call *c, json_t *args, struct tool_out *out)
{
	char box[40];
	struct aj_err e;
	struct box_entry *v;
	size_t n;
	const char *path = arg_str(args, "path", "/workspace");
	int depth = (int)arg_int(args, "depth", 1);
	if (call_sandbox(c, args, box, &e) < 0 ||
	    box_file_list(call_mgr(c), call_caller(c), box, path, depth, &v, &n, &e) < 0)
		return box_fail(out, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n && i < LIST_MAX; i++)
		json_array_append_new(arr, entry_json(&v[i]));
	out->structured = json_pack("{s:s,s:o,s:b}", "path", path, "entries", arr,
				    "truncated", n > LIST_MAX);
	box_entries_free(v, n);
	return 0;
}

/* ---- sandboxes ------------------------------------------------------------------------ */

static void shape_from_args(json_t *args, struct box_create *req)
{
	if (json_object_get(args, "memory_mb")) {
		req->has_shape[BOX_SHAPE_MEMORY] = true;
		req->shape.memory_bytes = (uint64_t)arg_int(args, "memory_mb", 0) << 20;
	}
	if (json_object_get(args, "cpus")) {
		req->has_shape[BOX_SHAPE_CPUS] = true;
		double cpus = json_number_value(json_object_get(args, "cpus"));
		req->shape.cpu_millis = (uint32_t)(cpus * 1000 + 0.5);
	}
	if (json_object_get(args, "disk_mb")) {
		req->has_shape[BOX_SHAPE_DISK] = true;
		req->shape.disk_bytes = (uint64_t)arg_int(args, "disk_mb", 0) << 20;
	}
}

int tool_create_sandbox(struct mcp_call *c, json_t *args, struct tool_out *out)
{
	struct box_create req;
	struct box_info info;
	struct aj_err e;
	size_t nenv, nmeta;
	memset(&req, 0, sizeof(req));
	shape_from_args(args, &req);
	req.timeout_s = arg_int(args, "timeout_s", call_sandbox_timeout_s(c));
	struct box_kv *env = kv_from(json_object_get(args, "env"), &nenv);
	struct box_kv *meta = kv_from(json_object_get(args, "metadata"), &nmeta);
	req.env = env;
	req.nenv = nenv;
	req.metadata = meta;
	req.nmeta = nmeta;
	int rc = box_create(call_mgr(c), call_caller(c), &req, &info, &e);
	free(env);
	free(meta);
	if (rc < 0)
		return box_fail(out, &e);
	call_adopt_sandbox(c, info.id);
	call_log(c, MCP_LOG_INFO, "created sandbox %s", info.id);
	out->structured = json_pack("{s:s,s:I,s:f,s:I,s:I}", "sandbox_id", info.id,
		"memory_mb", (json_int_t)(info.shape.memory_bytes >> 20),
		"cpus", info.shape.cpu_millis / 1000.0,
		"disk_mb", (json_int_t)(info.shape.disk_bytes >> 20),
		"expires_at_ms", (json_int_t)info.expires_ms);
	box_info_free(&info);
	return 0;
}

int tool_destroy_sandbox(struct mcp_call *c, json_t *args, struct tool_out *out)
{
	struct aj_err e;
	const char *id = arg_str(args, "sandbox_id", "");
	if (box_destroy(call_mgr(c), call_caller(c), id, &e) < 0) {
		box_fail(out, &e);
		json_object_set_new(out->structured, "destroyed", json_false());
		return 0;
	}
	call_forget_sandbox(c, id);
	call_log(c, MCP_LOG_INFO, "destroyed sandbox %s", id);
	out->structured = json_pack("{s:s,s:b}", "sandbox_id", id, "destroyed", 1);
	return 0;
}
