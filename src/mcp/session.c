/* session.c - the MCP server core: lifecycle, dispatch of requests and
 * notifications, tool calls on their own threads, cancellation, progress,
 * logging, and the sandboxes a session owns.
 *
 * Locks, always taken in this order: server lock -> session sb_lock ->
 * session lock -> call lock.  An mcp_out's send may run under a call lock
 * (that is what orders a call's progress before its response), so a send
 * must never call back into this file. */
#include "mcp/mcp.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/call.h"
#include "mcp/jsonrpc.h"
#include "mcp/schema.h"
#include "mcp/tools.h"

static const char *const versions[] = { "2025-11-25", "2025-06-18",
					"2025-03-26" };

struct mcp_server {
	struct mcp_server_config cfg;
	json_t *tool_list;          /* the "tools" array of tools/list */
	json_t **inputs;            /* full input schema, by table index */
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* wakes the ticker to stop */
	struct mcp_session *sessions;
	bool stopping;
	pthread_t ticker;
};

struct mcp_call {
	struct mcp_session *s;
	struct mcp_call *next;
	json_t *id;                 /* request id (own reference) */
	json_t *token;              /* progressToken, or NULL */
	const struct mcp_tool *tool;
	json_t *args;
	struct mcp_out out;
	pthread_mutex_t lock;       /* guards the fields below and sends */
	bool cancelled;
	bool finished;              /* the final message went out */
	int64_t started_ms;
	int64_t last_progress_ms;
	uint64_t nprogress;
	uint64_t out_bytes;
	char sandbox_id[40];        /* what the call acts on, once known */
	char pid_box[40];           /* sandbox of the running command */
	pid_t pid;                  /* running foreground command, or 0 */
	char notice[256];           /* said in the result, if set */
};

struct mcp_session {
	struct mcp_server *srv;
	struct mcp_session *next;   /* in srv->sessions */
	struct box_caller caller;
	struct mcp_out notify;
	pthread_mutex_t sb_lock;    /* serializes the own sandbox's creation */
	char own_id[40];            /* the session's sandbox, "" until used */
	pthread_mutex_t lock;
	pthread_cond_t idle;        /* signalled as calls end */
	bool initialized;
	bool closing;
	char version[16];
	enum mcp_log_level log_level;
	struct mcp_call *calls;
	int ncalls;
	char (*adopted)[40];        /* made by create_sandbox */
	size_t nadopted;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool mcp_version_supported(const char *v)
{
	for (size_t i = 0; v && i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(v, versions[i]) == 0)
			return true;
	return false;
}

/* ---- log levels ----------------------------------------------------------- */

static const char *const level_names[] = { "debug", "info", "notice",
	"warning", "error", "critical", "alert", "emergency" };

const char *mcp_log_level_name(enum mcp_log_level l)
{
	return level_names[l];
}

int mcp_log_level_parse(const char *s, enum mcp_log_level *out)
{
	for (int i = 0; s && i <= MCP_LOG_EMERGENCY; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum mcp_log_level)i;
			return 0;
		}
	return -1;
}

/* ---- sending ---------------------------------------------------------------- */

static void send_json(const struct mcp_out *out, json_t *msg, bool final)
{
	char *text = msg ? jr_dump(msg) : NULL;
	if (out->send)
		out->send(out->ctx, text, final);
	free(text);
	json_decref(msg);
}

static int reply(const struct mcp_out *out, json_t *id, json_t *result)
{
	send_json(out, jr_result(id, result), true);
	return 1;
}

static int reply_error(const struct mcp_out *out, json_t *id, int code,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int reply_error(const struct mcp_out *out, json_t *id, int code,
		       const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	send_json(out, jr_error(id, code, msg), true);
	return 1;
}

/* A notification about a running call; caller holds c->lock. */
static void call_notify_locked(struct mcp_call *c, json_t *msg)
{
	if (c->finished)
		json_decref(msg);
	else
		send_json(&c->out, msg, false);
}

static void progress_locked(struct mcp_call *c, int64_t now)
{
	if (!c->token || c->finished)
		return;
	char text[128];
	snprintf(text, sizeof(text), "running for %lld s, %llu bytes of output",
		 (long long)((now - c->started_ms) / 1000),
		 (unsigned long long)c->out_bytes);
	c->last_progress_ms = now;
	c->nprogress++;
	call_notify_locked(c, jr_notification("notifications/progress",
		json_pack("{s:O,s:I,s:s}", "progressToken", c->token,
			  "progress", (json_int_t)c->nprogress, "message", text)));
}

/* ---- the ticker: progress for calls that stay silent ------------------------- */

static void tick_session(struct mcp_session *s, int64_t now, int64_t every)
{
	pthread_mutex_lock(&s->lock);
	for (struct mcp_call *c = s->calls; c; c = c->next) {
		pthread_mutex_lock(&c->lock);
		if (now - c->last_progress_ms >= every)
			progress_locked(c, now);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&s->lock);
}

static void *ticker_main(void *arg)
{
	struct mcp_server *srv = arg;
	int64_t every = srv->cfg.progress_interval_ms;
	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += every / 1000;
		ts.tv_nsec += (every % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&srv->cond, &srv->lock, &ts);
		int64_t now = mono_ms();
		for (struct mcp_session *s = srv->sessions; s && !srv->stopping; s = s->next)
			tick_session(s, now, every);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* ---- server ------------------------------------------------------------------- */

void mcp_server_config_defaults(struct mcp_server_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_calls_per_session = 8;
	c->sandbox_timeout_s = 1800;
	c->progress_interval_ms = 1000;
}

static void server_free_parts(struct mcp_server *srv)
{
	for (size_t i = 0; srv->inputs && i < mcp_ntools; i++)
		json_decref(srv->inputs[i]);
	free(srv->inputs);
	json_decref(srv->tool_list);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

int mcp_server_new(const struct mcp_server_config *cfg,
		   struct mcp_server **out, struct aj_err *e)
{
	struct mcp_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	srv->cfg = *cfg;
	if (srv->cfg.progress_interval_ms <= 0)
		srv->cfg.progress_interval_ms = 1000;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cond, &ca);
	pthread_condattr_destroy(&ca);
	srv->tool_list = json_array();
	srv->inputs = calloc(mcp_ntools, sizeof(*srv->inputs));
	if (!srv->tool_list || !srv->inputs) {
		server_free_parts(srv);
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < mcp_ntools; i++) {
		json_array_append_new(srv->tool_list, mcp_tool_json(&mcp_tools[i]));
		srv->inputs[i] = mcp_tool_input_schema(&mcp_tools[i]);
	}
	if (pthread_create(&srv->ticker, NULL, ticker_main, srv) != 0) {
		server_free_parts(srv);
		return aj_err_set(e, AJ_EINTERNAL, errno, "cannot start a thread");
	}
	*out = srv;
	return 0;
}

void mcp_server_free(struct mcp_server *srv)
{
	if (!srv)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	pthread_join(srv->ticker, NULL);
	server_free_parts(srv);
}

/* ---- sessions ------------------------------------------------------------------ */

struct mcp_session *mcp_session_new(struct mcp_server *srv,
				    const struct box_caller *caller,
				    const struct mcp_out *notify)
{
	struct mcp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->srv = srv;
	s->caller = *caller;
	if (notify)
		s->notify = *notify;
	s->log_level = MCP_LOG_INFO;
	pthread_mutex_init(&s->sb_lock, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	pthread_mutex_lock(&srv->lock);
	s->next = srv->sessions;
	srv->sessions = s;
	pthread_mutex_unlock(&srv->lock);
	return s;
}

static void unlink_session(struct mcp_session *s)
{
	struct mcp_server *srv = s->srv;
	pthread_mutex_lock(&srv->lock);
	for (struct mcp_session **p = &srv->sessions; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	pthread_mutex_unlock(&srv->lock);
}

static void kill_call_command(struct mcp_session *s, const char *box, pid_t pid)
{
	if (pid > 0 && box[0])
		box_proc_signal(s->srv->cfg.mgr, &s->caller, box, pid, SIGKILL,
				NULL);
}

/* Mark every call cancelled and kill the commands they run. */
static void cancel_all(struct mcp_session *s)
{
	for (;;) {
		char box[40] = "";
		pid_t pid = 0;
		pthread_mutex_lock(&s->lock);
		s->closing = true;
		for (struct mcp_call *c = s->calls; c && !pid; c = c->next) {
			pthread_mutex_lock(&c->lock);
			c->cancelled = true;
			if (c->pid > 0) {
				pid = c->pid;
				memcpy(box, c->pid_box, sizeof(box));
				c->pid = 0;
			}
			pthread_mutex_unlock(&c->lock);
		}
		pthread_mutex_unlock(&s->lock);
		if (!pid)
			return;
		kill_call_command(s, box, pid);
	}
}

/* Destroy the sandboxes this session owns: its own and create_sandbox's.
 * Calls still using them then fail fast instead of running on.  Without
 * destroy, only forget them (they run on to their expiry). */
static void destroy_owned(struct mcp_session *s, bool destroy)
{
	struct box_mgr *m = s->srv->cfg.mgr;
	pthread_mutex_lock(&s->sb_lock);
	if (s->own_id[0] && destroy)
		box_destroy(m, &s->caller, s->own_id, NULL);
	s->own_id[0] = '\0';
	pthread_mutex_unlock(&s->sb_lock);
	pthread_mutex_lock(&s->lock);
	char (*list)[40] = s->adopted;
	size_t n = s->nadopted;
	s->adopted = NULL;
	s->nadopted = 0;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n && destroy; i++)
		box_destroy(m, &s->caller, list[i], NULL);
	free(list);
}

static void session_close(struct mcp_session *s, bool destroy)
{
	if (!s)
		return;
	unlink_session(s);
	cancel_all(s);
	destroy_owned(s, destroy);
	pthread_mutex_lock(&s->lock);
	while (s->ncalls > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	/* a call that raced the close may have made a sandbox meanwhile */
	destroy_owned(s, destroy);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->sb_lock);
	free(s);
}

void mcp_session_close(struct mcp_session *s)
{
	session_close(s, true);
}

void mcp_session_close_revoked(struct mcp_session *s)
{
	session_close(s, false);
}

bool mcp_session_wait_idle(struct mcp_session *s, int64_t timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->lock);
	while (s->ncalls > 0)
		if (pthread_cond_timedwait(&s->idle, &s->lock, &ts) == ETIMEDOUT)
			break;
	bool idle = s->ncalls == 0;
	pthread_mutex_unlock(&s->lock);
	return idle;
}

const char *mcp_session_version(struct mcp_session *s)
{
	return s->version;
}

const struct box_caller *mcp_session_caller(struct mcp_session *s)
{
	return &s->caller;
}

/* ---- what tool handlers may ask (call.h) ------------------------------------------ */

struct box_mgr *call_mgr(struct mcp_call *c)
{
	return c->s->srv->cfg.mgr;
}

const struct box_caller *call_caller(struct mcp_call *c)
{
	return &c->s->caller;
}

int64_t call_sandbox_timeout_s(struct mcp_call *c)
{
	return c->s->srv->cfg.sandbox_timeout_s;
}

bool call_cancelled(struct mcp_call *c)
{
	pthread_mutex_lock(&c->lock);
	bool r = c->cancelled;
	pthread_mutex_unlock(&c->lock);
	return r;
}

void call_set_pid(struct mcp_call *c, const char *sandbox_id, pid_t pid)
{
	pthread_mutex_lock(&c->lock);
	bool kill_now = c->cancelled && pid > 0;
	c->pid = kill_now ? 0 : pid;
	snprintf(c->pid_box, sizeof(c->pid_box), "%s", sandbox_id);
	pthread_mutex_unlock(&c->lock);
	if (kill_now) /* cancelled before it even started */
		kill_call_command(c->s, sandbox_id, pid);
}

void call_output(struct mcp_call *c, const char *what, size_t n)
{
	(void)what;
	int64_t now = mono_ms();
	pthread_mutex_lock(&c->lock);
	c->out_bytes += n;
	if (now - c->last_progress_ms >= 250)
		progress_locked(c, now);
	pthread_mutex_unlock(&c->lock);
}

void call_log(struct mcp_call *c, enum mcp_log_level l, const char *fmt, ...)
{
	pthread_mutex_lock(&c->s->lock);
	bool wanted = l >= c->s->log_level;
	pthread_mutex_unlock(&c->s->lock);
	if (!wanted)
		return;
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_t *msg = jr_notification("notifications/message",
		json_pack("{s:s,s:s,s:s}", "level", mcp_log_level_name(l),
			  "logger", MCP_SERVER_NAME, "data", text));
	pthread_mutex_lock(&c->lock);
	call_notify_locked(c, msg);
	pthread_mutex_unlock(&c->lock);
}

static void set_notice(struct mcp_call *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_notice(struct mcp_call *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->notice, sizeof(c->notice), fmt, ap);
	va_end(ap);
}

static bool session_closing(struct mcp_session *s)
{
	pthread_mutex_lock(&s->lock);
	bool r = s->closing;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* The own sandbox is still usable: renew its lifetime once half is gone,
 * so an active session never loses it. */
static bool own_alive(struct mcp_call *c, char reason[128])
{
	struct mcp_session *s = c->s;
	struct box_mgr *m = call_mgr(c);
	struct box_info info;
	int64_t life = call_sandbox_timeout_s(c);
	if (box_get(m, &s->caller, s->own_id, &info, NULL) < 0) {
		snprintf(reason, 128, "it no longer exists");
		return false;
	}
	bool running = strcmp(info.state, "running") == 0;
	if (!running)
		snprintf(reason, 128, "%s", info.end_reason[0] ? info.end_reason
								: info.state);
	else if (info.expires_ms - wall_ms() < life * 500)
		box_set_timeout(m, &s->caller, s->own_id, life, NULL, NULL);
	box_info_free(&info);
	return running;
}

static int own_create(struct mcp_call *c, struct aj_err *e)
{
	struct mcp_session *s = c->s;
	struct box_kv meta[] = { { "created_by", "mcp" } };
	struct box_create req = {
		.timeout_s = call_sandbox_timeout_s(c),
		.metadata = meta,
		.nmeta = 1,
	};
	struct box_info info;
	if (box_create(call_mgr(c), &s->caller, &req, &info, e) < 0)
		return -1;
	snprintf(s->own_id, sizeof(s->own_id), "%s", info.id);
	box_info_free(&info);
	call_log(c, MCP_LOG_INFO, "created sandbox %s for this session", s->own_id);
	return 0;
}

static int own_sandbox(struct mcp_call *c, char id[40], struct aj_err *e)
{
	struct mcp_session *s = c->s;
	char reason[128];
	int rc = 0;
	pthread_mutex_lock(&s->sb_lock);
	if (session_closing(s))
		rc = aj_err_set(e, AJ_EUNAVAIL, 0, "the MCP session is ending");
	else if (s->own_id[0] && !own_alive(c, reason)) {
		set_notice(c, "This session's previous sandbox %s ended (%s); a new "
			   "one was started: earlier files and state are lost.",
			   s->own_id, reason);
		call_log(c, MCP_LOG_WARNING, "%s", c->notice);
		s->own_id[0] = '\0';
	}
	if (rc == 0 && !s->own_id[0])
		rc = own_create(c, e);
	if (rc == 0)
		memcpy(id, s->own_id, 40);
	pthread_mutex_unlock(&s->sb_lock);
	return rc;
}

int call_sandbox(struct mcp_call *c, json_t *args, char id[40],
		 struct aj_err *e)
{
	const char *given = json_string_value(json_object_get(args, "sandbox_id"));
	if (given) {
		if (strlen(given) >= 40)
			return aj_err_set(e, AJ_ENOTFOUND, 0,
					  "sandbox '%.40s' not found", given);
		memcpy(id, given, strlen(given) + 1);
	} else if (own_sandbox(c, id, e) < 0) {
		return -1;
	}
	memcpy(c->sandbox_id, id, 40);
	return 0;
}

void call_adopt_sandbox(struct mcp_call *c, const char *id)
{
	struct mcp_session *s = c->s;
	pthread_mutex_lock(&s->lock);
	char (*v)[40] = realloc(s->adopted, (s->nadopted + 1) * sizeof(*v));
	if (v) {
		s->adopted = v;
		snprintf(v[s->nadopted++], 40, "%s", id);
	}
	pthread_mutex_unlock(&s->lock);
}

void call_forget_sandbox(struct mcp_call *c, const char *id)
{
	struct mcp_session *s = c->s;
	pthread_mutex_lock(&s->sb_lock);
	if (strcmp(s->own_id, id) == 0)
		s->own_id[0] = '\0';
	pthread_mutex_unlock(&s->sb_lock);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nadopted; i++)
		if (strcmp(s->adopted[i], id) == 0) {
			memmove(s->adopted[i], s->adopted[s->nadopted - 1], 40);
			s->nadopted--;
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

/* ---- tool calls ---------------------------------------------------------------- */

/* {content:[text, images...], structuredContent, isError}: the text block
 * is the structured JSON itself, for clients that only read text. */
static json_t *tool_result(struct mcp_call *c, struct tool_out *o)
{
	if (!o->structured || !json_is_object(o->structured))
		tool_fail(o, "internal error: the tool returned no result");
	if (c->sandbox_id[0] && !json_object_get(o->structured, "sandbox_id"))
		json_object_set_new(o->structured, "sandbox_id",
				    json_string(c->sandbox_id));
	if (c->notice[0] && !json_object_get(o->structured, "notice"))
		json_object_set_new(o->structured, "notice", json_string(c->notice));
	char *text = json_dumps(o->structured, JSON_COMPACT);
	json_t *content = json_array();
	json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text",
						 "text", text ? text : "{}"));
	free(text);
	if (o->images)
		json_array_extend(content, o->images);
	json_decref(o->images);
	return json_pack("{s:o,s:o,s:b}", "content", content,
			 "structuredContent", o->structured, "isError", o->is_error);
}

static void call_free(struct mcp_call *c)
{
	json_decref(c->id);
	json_decref(c->token);
	json_decref(c->args);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Send the response (none if cancelled), then leave the session. */
static void call_finish(struct mcp_call *c, json_t *result)
{
	struct mcp_session *s = c->s;
	pthread_mutex_lock(&c->lock);
	if (c->cancelled) {
		json_decref(result);
		send_json(&c->out, NULL, true);
	} else {
		send_json(&c->out, jr_result(c->id, result), true);
	}
	c->finished = true;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&s->lock);
	for (struct mcp_call **p = &s->calls; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	s->ncalls--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	call_free(c);
}

static void *call_main(void *arg)
{
	struct mcp_call *c = arg;
	struct tool_out o = { 0 };
	c->tool->run(c, c->args, &o);
	call_finish(c, tool_result(c, &o));
	return NULL;
}

static bool id_in_use(struct mcp_session *s, json_t *id)
{
	for (struct mcp_call *c = s->calls; c; c = c->next)
		if (json_equal(c->id, id))
			return true;
	return false;
}

/* Answer at once with a failed tool result (bad arguments, too busy):
 * the model reads these and can act on them. */
static int reply_tool_error(const struct mcp_out *out, json_t *id,
			    const char *msg)
{
	struct mcp_call dummy = { 0 };
	struct tool_out o = { 0 };
	tool_fail(&o, "%s", msg);
	return reply(out, id, tool_result(&dummy, &o));
}

static struct mcp_call *call_new(struct mcp_session *s, json_t *id,
				 const struct mcp_tool *t, json_t *args,
				 json_t *token, const struct mcp_out *out)
{
	struct mcp_call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->s = s;
	c->id = json_incref(id);
	c->tool = t;
	c->args = json_incref(args);
	c->token = json_incref(token);
	c->out = *out;
	c->started_ms = c->last_progress_ms = mono_ms();
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

/* Admit the call into the session and start its thread; 0, or -1 with
 * msg set (nothing was sent). */
static int call_start(struct mcp_session *s, struct mcp_call *c, char *msg,
		      size_t len)
{
	pthread_mutex_lock(&s->lock);
	if (s->closing)
		snprintf(msg, len, "the MCP session is ending");
	else if (id_in_use(s, c->id))
		snprintf(msg, len, "request id is already in use by a running call");
	else if (s->ncalls >= s->srv->cfg.max_calls_per_session)
		snprintf(msg, len, "too many tool calls are running in this session "
			 "(%d at most); wait for one to finish",
			 s->srv->cfg.max_calls_per_session);
	if (msg[0]) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	pthread_attr_t attr;
	pthread_t th;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	c->next = s->calls;
	s->calls = c;
	s->ncalls++;
	int rc = pthread_create(&th, &attr, call_main, c);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		s->calls = c->next;
		s->ncalls--;
		snprintf(msg, len, "cannot start a thread for the call; try again");
	}
	pthread_mutex_unlock(&s->lock);
	return rc ? -1 : 0;
}

static int on_tools_call(struct mcp_session *s, json_t *id, json_t *params,
			 const struct mcp_out *out)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	if (!name)
		return reply_error(out, id, JR_INVALID_PARAMS,
				   "tools/call needs params.name (a string)");
	const struct mcp_tool *t = mcp_tool_find(name);
	if (!t)
		return reply_error(out, id, JR_INVALID_PARAMS, "Unknown tool: %s", name);
	json_t *args = json_object_get(params, "arguments");
	if (args && !json_is_object(args))
		return reply_error(out, id, JR_INVALID_PARAMS,
				   "params.arguments must be an object");
	json_t *meta = json_object_get(params, "_meta");
	json_t *token = json_object_get(meta, "progressToken");
	if (token && !json_is_string(token) && !json_is_integer(token))
		token = NULL;
	char msg[300];
	json_t *own_args = args ? json_incref(args) : json_object();
	if (schema_check(s->srv->inputs[t - mcp_tools], own_args, msg, sizeof(msg)) < 0) {
		json_decref(own_args);
		return reply_tool_error(out, id, msg);
	}
	struct mcp_call *c = call_new(s, id, t, own_args, token, out);
	json_decref(own_args);
	if (!c)
		return reply_error(out, id, JR_INTERNAL_ERROR, "out of memory");
	msg[0] = '\0';
	if (call_start(s, c, msg, sizeof(msg)) < 0) {
		call_free(c);
		return reply_tool_error(out, id, msg);
	}
	return 1;
}

/* ---- requests and notifications ------------------------------------------------ */

static json_t *capabilities(void)
{
	return json_pack("{s:{s:b},s:{}}", "tools", "listChanged", 0, "logging");
}

static const char instructions[] =
	"agentjail runs code in isolated Linux sandboxes without network "
	"access. Use run_code for Python (numpy, pandas, matplotlib), "
	"JavaScript or Bash whose state persists between calls, run_command "
	"for one-off shell commands, and read_file/write_file/list_files for "
	"files under /workspace. Without sandbox_id every tool uses this "
	"session's own sandbox.";

static int on_initialize(struct mcp_session *s, json_t *id, json_t *params,
			 const struct mcp_out *out)
{
	const char *want = json_string_value(json_object_get(params, "protocolVersion"));
	if (!want)
		return reply_error(out, id, JR_INVALID_PARAMS,
				   "initialize needs params.protocolVersion");
	const char *v = mcp_version_supported(want) ? want : MCP_LATEST_VERSION;
	pthread_mutex_lock(&s->lock);
	bool again = s->initialized;
	if (!again) {
		s->initialized = true;
		snprintf(s->version, sizeof(s->version), "%s", v);
	}
	pthread_mutex_unlock(&s->lock);
	if (again)
		return reply_error(out, id, JR_INVALID_REQUEST,
				   "the session is already initialized");
	return reply(out, id, json_pack("{s:s,s:o,s:{s:s,s:s,s:s},s:s}",
		"protocolVersion", v, "capabilities", capabilities(),
		"serverInfo", "name", MCP_SERVER_NAME, "title", "agentjail sandboxes",
		"version", MCP_SERVER_VERSION, "instructions", instructions));
}

static int on_set_level(struct mcp_session *s, json_t *id, json_t *params,
			const struct mcp_out *out)
{
	const char *name = json_string_value(json_object_get(params, "level"));
	enum mcp_log_level l;
	if (mcp_log_level_parse(name, &l) < 0)
		return reply_error(out, id, JR_INVALID_PARAMS,
				   "params.level must be one of debug, info, notice, "
				   "warning, error, critical, alert, emergency");
	pthread_mutex_lock(&s->lock);
	s->log_level = l;
	pthread_mutex_unlock(&s->lock);
	return reply(out, id, json_object());
}

static bool initialized(struct mcp_session *s)
{
	pthread_mutex_lock(&s->lock);
	bool r = s->initialized;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int on_request(struct mcp_session *s, const struct jr_msg *m,
		      const struct mcp_out *out)
{
	const char *method = m->method;
	if (strcmp(method, "initialize") == 0)
		return on_initialize(s, m->id, m->params, out);
	if (strcmp(method, "ping") == 0)
		return reply(out, m->id, json_object());
	if (!initialized(s))
		return reply_error(out, m->id, JR_INVALID_REQUEST,
				   "the session is not initialized: send initialize first");
	if (strcmp(method, "tools/list") == 0)
		return reply(out, m->id, json_pack("{s:O}", "tools", s->srv->tool_list));
	if (strcmp(method, "tools/call") == 0)
		return on_tools_call(s, m->id, m->params, out);
	if (strcmp(method, "logging/setLevel") == 0)
		return on_set_level(s, m->id, m->params, out);
	return reply_error(out, m->id, JR_METHOD_NOT_FOUND,
			   "Method not found: %s", method);
}

/* notifications/cancelled: the call's result is dropped and its command
 * killed.  An unknown or finished id is ignored, as the spec asks. */
static void on_cancelled(struct mcp_session *s, json_t *params)
{
	json_t *rid = json_object_get(params, "requestId");
	char box[40] = "";
	pid_t pid = 0;
	if (!rid)
		return;
	pthread_mutex_lock(&s->lock);
	for (struct mcp_call *c = s->calls; c; c = c->next) {
		if (!json_equal(c->id, rid))
			continue;
		pthread_mutex_lock(&c->lock);
		c->cancelled = true;
		pid = c->pid;
		memcpy(box, c->pid_box, sizeof(box));
		c->pid = 0;
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&s->lock);
	kill_call_command(s, box, pid);
}

static void on_notification(struct mcp_session *s, const struct jr_msg *m)
{
	if (strcmp(m->method, "notifications/cancelled") == 0)
		on_cancelled(s, m->params);
	/* notifications/initialized and anything unknown: nothing to do */
}

int mcp_session_handle(struct mcp_session *s, json_t *msg,
		       const struct mcp_out *out)
{
	struct jr_msg m;
	jr_classify(msg, &m);
	switch (m.kind) {
	case JR_REQUEST:
		return on_request(s, &m, out);
	case JR_NOTIFICATION:
		on_notification(s, &m);
		return 0;
	case JR_RESPONSE:
		return 0; /* we send no requests, so nothing waits for one */
	case JR_INVALID:
		break;
	}
	/* a notification with bad params has no id to answer: drop it */
	if (m.method && !json_object_get(msg, "id"))
		return 0;
	return reply_error(out, m.id, m.err_code, "%s", m.err_msg);
}

int mcp_session_handle_text(struct mcp_session *s, const char *text,
			    size_t len, const struct mcp_out *out)
{
	json_t *root;
	struct jr_msg m;
	jr_parse(text, len, &root, &m);
	if (!root)
		return reply_error(out, NULL, m.err_code, "%s", m.err_msg);
	int rc = mcp_session_handle(s, root, out);
	json_decref(root);
	return rc;
}
