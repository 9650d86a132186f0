/* contexts.c - stateful code contexts: a long-lived interpreter inside the
 * sandbox (python, node or bash) driven by one of the drivers embedded in
 * the binary (src/box/drivers, protocol in docs/drivers.md).
 *
 * The driver is an internal background process: requests go to its stdin,
 * the cell's output comes on its stdout/stderr, and its events (result,
 * error, end) as JSON lines on fd 3.  One cell runs at a time per context.
 * A cell past its timeout gets SIGINT (the context survives; the bash
 * driver itself gets SIGURG instead, see interrupt()); a driver that
 * died (crash, OOM, os._exit) is restarted on the next cell and the reply
 * says that earlier state is lost.
 */
#include "box/sandbox.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/crypto.h"
#include "util/embed.h"

#define READY_WAIT_MS 20000
#define INTERRUPT_GRACE_MS 3000
#define INTERRUPT_REPEAT_MS 250
#define MAX_CONTEXTS 16

struct box_ctx {
	struct box_ctx *next;
	atomic_int refs;
	pthread_mutex_t run; /* one cell at a time; guards the fields below */
	char id[40];
	enum box_lang lang;
	char cwd[256];
	bool is_default;
	bool deleted;
	struct proc *drv;    /* the interpreter, NULL until started */
	int intr_sig;        /* what the driver gets for an interrupt while
			      * the rest of its group gets SIGINT; 0: SIGINT
			      * to the whole group (its ready event says) */
	int execution_count;
	uint64_t next_id;
	bool lost;           /* it died: the next cell says so */
	char lost_why[160];
};

static const char *const lang_names[] = { "python", "javascript", "bash" };

const char *box_lang_name(enum box_lang l)
{
	return (unsigned)l < 3 ? lang_names[l] : "python";
}

int box_lang_parse(const char *s, enum box_lang *out)
{
	if (!s)
		return -1;
	if (!strcmp(s, "python") || !strcmp(s, "python3") || !strcmp(s, "py"))
		*out = BOX_LANG_PYTHON;
	else if (!strcmp(s, "javascript") || !strcmp(s, "js") || !strcmp(s, "node") ||
		 !strcmp(s, "nodejs"))
		*out = BOX_LANG_JAVASCRIPT;
	else if (!strcmp(s, "bash") || !strcmp(s, "sh") || !strcmp(s, "shell"))
		*out = BOX_LANG_BASH;
	else
		return -1;
	return 0;
}

/* ---- objects --------------------------------------------------------------- */

static void ctx_unref(struct box_ctx *x)
{
	if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
		return;
	proc_unref(x->drv);
	pthread_mutex_destroy(&x->run);
	free(x);
}

void sb_free_contexts(struct sandbox *sb)
{
	struct box_ctx *x = sb->ctxs;
	sb->ctxs = NULL;
	while (x) {
		struct box_ctx *next = x->next;
		ctx_unref(x);
		x = next;
	}
}

static struct box_ctx *ctx_new(enum box_lang lang, const char *cwd, bool is_default)
{
	struct box_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	atomic_init(&x->refs, 1);
	pthread_mutex_init(&x->run, NULL);
	memcpy(x->id, "ctx", 3);
	aj_random_hex(x->id + 3, 8);
	x->lang = lang;
	x->is_default = is_default;
	snprintf(x->cwd, sizeof(x->cwd), "%s", cwd && *cwd ? cwd : "/workspace");
	return x;
}

static size_t ctx_count(struct sandbox *sb)
{
	size_t n = 0;
	for (struct box_ctx *x = sb->ctxs; x; x = x->next)
		n++;
	return n;
}

/* The context by id, or the default one of lang (created on first use);
 * with a reference. */
static int ctx_find(struct sandbox *sb, const char *ctx_id, enum box_lang lang,
		    struct box_ctx **out, struct aj_err *e)
{
	pthread_mutex_lock(&sb->lock);
	struct box_ctx *x = sb->ctxs;
	for (; x; x = x->next)
		if (ctx_id ? strcmp(x->id, ctx_id) == 0 : (x->is_default && x->lang == lang))
			break;
	if (!x && !ctx_id && ctx_count(sb) < MAX_CONTEXTS &&
	    (x = ctx_new(lang, NULL, true))) {
		x->next = sb->ctxs;
		sb->ctxs = x;
	}
	if (x)
		atomic_fetch_add(&x->refs, 1);
	pthread_mutex_unlock(&sb->lock);
	if (!x)
		return ctx_id ? aj_err_set(e, AJ_ENOTFOUND, 0, "no code context '%.40s'", ctx_id)
			      : aj_err_set(e, AJ_EQUOTA, 0, "too many code contexts");
	*out = x;
	return 0;
}

/* ---- the driver process ------------------------------------------------------ */

static void drv_stop(struct sandbox *sb, struct box_ctx *x)
{
	if (!x->drv)
		return;
	pthread_mutex_lock(&sb->lock);
	bool running = x->drv->state == P_RUNNING;
	pid_t pid = x->drv->pid;
	pthread_mutex_unlock(&sb->lock);
	if (running)
		sb_kill_group(sb, pid, SIGKILL);
	sb_remove_proc(sb, x->drv);
	proc_unref(x->drv);
	x->drv = NULL;
}

/* Take one complete line from the event stream (sb->lock held).  Returns a
 * malloc'd line without the newline, or NULL if none is complete. */
static char *take_line(struct pstream *s)
{
	char *nl = s->data.len ? memchr(s->data.data, '\n', s->data.len) : NULL;
	if (!nl)
		return NULL;
	size_t n = (size_t)(nl - s->data.data);
	char *line = malloc(n + 1);
	if (line) {
		memcpy(line, s->data.data, n);
		line[n] = '\0';
	}
	aj_buf_consume(&s->data, n + 1);
	return line;
}

static void cond_wait_ms(struct proc *p, int64_t until_mono)
{
	struct timespec ts = { .tv_sec = until_mono / 1000,
			       .tv_nsec = (until_mono % 1000) * 1000000 };
	pthread_cond_timedwait(&p->cond, &p->sb->lock, &ts);
}

static void describe_death(struct proc *p, char *buf, size_t n)
{
	if (p->state == P_FAILED)
		snprintf(buf, n, "could not start (%s)", strerror(p->start_err & 0xffff));
	else if (p->state == P_EXITED && WIFSIGNALED(p->status))
		snprintf(buf, n, "was killed by signal %d%s", WTERMSIG(p->status),
			 WTERMSIG(p->status) == SIGKILL ? " (out of memory, or killed)" : "");
	else if (p->state == P_EXITED)
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(p->status));
	else
		snprintf(buf, n, "stopped responding");
}

static int drv_start(struct sandbox *sb, struct box_ctx *x, struct aj_err *e)
{
	static const char *const files[] = { "python_driver.py", "node_driver.js",
					     "bash_driver.sh" };
	const struct aj_embedded *src = aj_embedded_find(files[x->lang]);
	if (!src)
		return aj_err_set(e, AJ_EINTERNAL, 0, "driver %s is not built in", files[x->lang]);
	char *py[] = { "/usr/bin/python3", "-u", "-c", (char *)src->data, NULL };
	char *js[] = { "/usr/bin/node", "-e", (char *)src->data, NULL };
	char *sh[] = { "/bin/bash", "--noprofile", "--norc", "-c", (char *)src->data, NULL };
	char **argv[] = { py, js, sh };
	struct box_kv env[] = {
		{ "MPLBACKEND", "Agg" },
		{ "PYTHONDONTWRITEBYTECODE", "1" },
	};
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "[%s context %s]", box_lang_name(x->lang), x->id);
	struct proc_start ps = {
		.argv = argv[x->lang],
		.env = env,
		.nenv = 2,
		.cwd = x->cwd,
		.want_stdin = true,
		.want_events = true,
		.background = true,
		.consume = true,
		.internal = true,
		.timeout_ms = -1,
		.limit = sb->mgr->cfg.max_output_limit,
		.cmd = cmd,
		.tag = x->id,
	};
	struct proc *p;
	if (proc_start(sb, &ps, &p, e) < 0)
		return -1;
	/* wait for {"type":"ready"} */
	int64_t until = mono_ms() + READY_WAIT_MS;
	char *line = NULL;
	pthread_mutex_lock(&sb->lock);
	while (!(line = take_line(&p->s[PS_EVT])) && !proc_done(p) &&
	       p->state != P_FAILED && mono_ms() < until)
		cond_wait_ms(p, until);
	char why[128];
	describe_death(p, why, sizeof(why));
	pthread_mutex_unlock(&sb->lock);
	json_t *ev = line ? json_loads(line, 0, NULL) : NULL;
	free(line);
	const char *type = json_string_value(json_object_get(ev, "type"));
	bool ready = type && strcmp(type, "ready") == 0;
	/* the one alternative we know: bash 5.2 can hang for good on a SIGINT
	 * of its own (docs/drivers.md, "Interrupt") */
	const char *isig = json_string_value(json_object_get(ev, "interrupt_signal"));
	x->intr_sig = isig && strcmp(isig, "SIGURG") == 0 ? SIGURG : 0;
	json_decref(ev);
	x->drv = p;
	if (!ready) {
		drv_stop(sb, x);
		return aj_err_set(e, AJ_EUNAVAIL, 0, "the %s interpreter %s",
				  box_lang_name(x->lang), why);
	}
	x->execution_count = 0;
	return 0;
}

/* Started and alive, or restarted with the loss recorded. */
static int drv_ensure(struct sandbox *sb, struct box_ctx *x, struct aj_err *e)
{
	if (x->drv) {
		pthread_mutex_lock(&sb->lock);
		bool alive = x->drv->state == P_RUNNING && x->drv->s[PS_EVT].fd >= 0;
		if (!alive && !x->lost) {
			x->lost = true;
			describe_death(x->drv, x->lost_why, sizeof(x->lost_why));
		}
		pthread_mutex_unlock(&sb->lock);
		if (alive)
			return 0;
		drv_stop(sb, x);
	}
	return drv_start(sb, x, e);
}

/* ---- requests ----------------------------------------------------------------- */

static int put_field(struct aj_buf *b, const char *s)
{
	return aj_buf_append(b, s, strlen(s) + 1);
}

/* JSON line for python and node; NUL-separated fields for bash. */
static char *encode_request(enum box_lang lang, uint64_t id, const struct box_code *req,
			    size_t *len)
{
	if (lang == BOX_LANG_BASH) {
		struct aj_buf b = { 0 };
		char num[32];
		snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
		int rc = put_field(&b, num);
		snprintf(num, sizeof(num), "%zu", req->nenv);
		rc |= put_field(&b, num);
		for (size_t i = 0; i < req->nenv; i++)
			rc |= put_field(&b, req->env[i].key) | put_field(&b, req->env[i].value);
		rc |= put_field(&b, req->code);
		if (rc) {
			aj_buf_free(&b);
			return NULL;
		}
		*len = b.len;
		return aj_buf_steal(&b);
	}
	json_t *env = json_object();
	for (size_t i = 0; i < req->nenv; i++)
		json_object_set_new(env, req->env[i].key, json_string(req->env[i].value));
	json_t *o = json_pack("{s:I,s:s,s:o}", "id", (json_int_t)id, "code", req->code,
			      "env", env);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

static int send_request(struct box_ctx *x, const char *buf, size_t len, struct aj_err *e)
{
	struct proc *p = x->drv;
	size_t off = 0;
	int64_t until = mono_ms() + 10000;
	pthread_mutex_lock(&p->stdin_lock);
	while (off < len && p->stdin_fd >= 0) {
		ssize_t w = write(p->stdin_fd, buf + off, len - off);
		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EAGAIN && mono_ms() < until) {
			struct pollfd pf = { .fd = p->stdin_fd, .events = POLLOUT };
			poll(&pf, 1, 100);
		} else if (!(w < 0 && errno == EINTR)) {
			break;
		}
	}
	pthread_mutex_unlock(&p->stdin_lock);
	if (off < len)
		return aj_err_set(e, AJ_EUNAVAIL, errno, "the %s interpreter does not take input",
				  box_lang_name(x->lang));
	return 0;
}

/* ---- a cell ------------------------------------------------------------------- */

struct cell {
	struct sandbox *sb;
	struct box_ctx *x;
	const struct box_code_sink *sink;
	struct box_code_result *res;
	uint64_t id;
	uint64_t limit;
	struct aj_buf out[2];
	bool cancel;
	bool ended;
};

static void drop_output(struct proc *p)
{
	for (int i = 0; i < PS_N; i++)
		aj_buf_consume(&p->s[i].data, p->s[i].data.len);
}

/* Move new stdout/stderr into the result and the sink (sb->lock held; it
 * is released around the sink). */
static void pass_output(struct cell *c)
{
	struct proc *p = c->x->drv;
	for (int i = 0; i < 2; i++) {
		struct pstream *s = &p->s[i];
		if (!s->data.len)
			continue;
		size_t n = s->data.len;
		char *chunk = malloc(n);
		if (!chunk)
			return;
		memcpy(chunk, s->data.data, n);
		aj_buf_consume(&s->data, n);
		size_t room = c->out[i].len < c->limit ? c->limit - c->out[i].len : 0;
		if (n > room)
			c->res->truncated[i] = true;
		aj_buf_append(&c->out[i], chunk, n < room ? n : room);
		if (c->sink && c->sink->on_output) {
			pthread_mutex_unlock(&c->sb->lock);
			if (c->sink->on_output(c->sink->ctx, (enum box_stream)i, chunk, n))
				c->cancel = true;
			pthread_mutex_lock(&c->sb->lock);
		}
		free(chunk);
	}
}

static char *dup_value(json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void on_result(struct cell *c, json_t *ev)
{
	struct box_code_result *r = c->res;
	struct box_cell_item *v = realloc(r->results, (r->nresults + 1) * sizeof(*v));
	if (!v)
		return;
	r->results = v;
	struct box_cell_item *it = &v[r->nresults++];
	memset(it, 0, sizeof(*it));
	it->is_main = json_is_true(json_object_get(ev, "is_main_result"));
	it->formats = calloc(json_object_size(ev) + 1, sizeof(struct box_kv));
	const char *k;
	json_t *val;
	json_object_foreach(ev, k, val) {
		if (!it->formats || !strcmp(k, "id") || !strcmp(k, "type") ||
		    !strcmp(k, "is_main_result") || json_is_null(val))
			continue;
		struct box_kv *kv = &it->formats[it->nformats];
		kv->key = strdup(k);
		kv->value = dup_value(val);
		if (kv->key && kv->value)
			it->nformats++;
		else {
			free(kv->key);
			free(kv->value);
		}
	}
	if (c->sink && c->sink->on_result) {
		pthread_mutex_unlock(&c->sb->lock);
		if (c->sink->on_result(c->sink->ctx, it))
			c->cancel = true;
		pthread_mutex_lock(&c->sb->lock);
	}
}

static void set_error(struct cell *c, const char *name, const char *value,
		      const char *tb)
{
	struct box_code_result *r = c->res;
	if (r->error)
		return;
	r->error = calloc(1, sizeof(*r->error));
	if (!r->error)
		return;
	r->error->name = strdup(name ? name : "Error");
	r->error->value = strdup(value ? value : "");
	r->error->traceback = strdup(tb ? tb : "");
	if (c->sink && c->sink->on_error) {
		pthread_mutex_unlock(&c->sb->lock);
		c->sink->on_error(c->sink->ctx, r->error);
		pthread_mutex_lock(&c->sb->lock);
	}
}

static void on_event(struct cell *c, const char *line)
{
	json_t *ev = json_loads(line, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *id = json_object_get(ev, "id");
	if (!type || !json_is_integer(id) || (uint64_t)json_integer_value(id) != c->id) {
		json_decref(ev);
		return; /* a late event of an earlier, abandoned cell */
	}
	if (!strcmp(type, "result")) {
		on_result(c, ev);
	} else if (!strcmp(type, "error")) {
		set_error(c, json_string_value(json_object_get(ev, "name")),
			  json_string_value(json_object_get(ev, "value")),
			  json_string_value(json_object_get(ev, "traceback")));
	} else if (!strcmp(type, "end")) {
		c->ended = true;
		c->res->execution_count = (int)json_integer_value(json_object_get(ev, "execution_count"));
		c->x->execution_count = c->res->execution_count;
	}
	json_decref(ev);
}

/* The driver flushed stdout/stderr before "end", but the pump may not have
 * read the pipes yet: wait until they are empty (sb->lock held). */
static void settle_output(struct cell *c)
{
	struct proc *p = c->x->drv;
	int64_t until = mono_ms() + 200;
	for (;;) {
		int pending = 0;
		for (int i = 0; i < 2; i++) {
			int n = 0;
			if (p->s[i].fd >= 0 && ioctl(p->s[i].fd, FIONREAD, &n) == 0)
				pending += n;
		}
		if (!pending || mono_ms() >= until)
			break;
		cond_wait_ms(p, mono_ms() + 2);
	}
	pass_output(c);
}

static void interrupt(struct cell *c, int sig)
{
	struct proc *p = c->x->drv;
	if (p->state != P_RUNNING)
		return;
	if (sig == SIGINT && c->x->intr_sig)
		sb_signal_rest_of_group(c->sb, p->pid, c->x->intr_sig, SIGINT);
	else
		sb_kill_group(c->sb, p->pid, sig);
}

/* Run the cell to its end event, its timeout, or the driver's death. */
static void run_cell(struct cell *c, int64_t timeout_ms)
{
	struct proc *p = c->x->drv;
	int64_t start = mono_ms();
	int64_t deadline = start + timeout_ms;
	int64_t hard = 0; /* after SIGINT: SIGKILL at this time */
	int64_t resend = 0; /* after SIGINT: the next SIGINT */
	pthread_mutex_lock(&c->sb->lock);
	while (!c->ended) {
		pass_output(c);
		char *line;
		while (!c->ended && (line = take_line(&p->s[PS_EVT]))) {
			on_event(c, line);
			free(line);
		}
		if (c->ended)
			break;
		if (p->s[PS_EVT].fd < 0 || p->state != P_RUNNING) {
			/* its events pipe closed: give the exit report a moment to
			 * arrive so the reply can say how it died */
			int64_t until = mono_ms() + 1000;
			while (p->state == P_RUNNING && mono_ms() < until)
				cond_wait_ms(p, until);
			c->x->lost = true;
			describe_death(p, c->x->lost_why, sizeof(c->x->lost_why));
			break;
		}
		if (c->sink && c->sink->is_cancelled && c->sink->is_cancelled(c->sink->ctx))
			c->cancel = true;
		int64_t now = mono_ms();
		if (!hard && (now >= deadline || c->cancel)) {
			c->res->timed_out = !c->cancel;
			interrupt(c, SIGINT);
			hard = now + INTERRUPT_GRACE_MS;
		} else if (hard && now >= hard) {
			interrupt(c, SIGKILL); /* ignored the interrupt */
			hard = now + 60000;
		} else if (hard && now >= resend) {
			/* a SIGINT that landed before the driver began the cell
			 * is ignored as stale: say it again until it ends */
			interrupt(c, SIGINT);
		}
		if (hard && now >= resend)
			resend = now + INTERRUPT_REPEAT_MS;
		int64_t until = hard ? (resend < hard ? resend : hard) : deadline;
		cond_wait_ms(p, until < now + 1000 ? until : now + 1000);
	}
	if (c->ended)
		settle_output(c);
	pthread_mutex_unlock(&c->sb->lock);
	c->res->wall_ms = mono_ms() - start;
}

static void finish_result(struct cell *c)
{
	struct box_code_result *r = c->res;
	for (int i = 0; i < 2; i++) {
		r->out_len[i] = c->out[i].len;
		r->out[i] = aj_buf_steal(&c->out[i]);
	}
	if (!c->ended && c->x->lost) {
		char msg[400];
		snprintf(msg, sizeof(msg),
			 "The %s interpreter %s while running this cell. Its state is "
			 "lost; the next cell starts a fresh one.",
			 box_lang_name(c->x->lang), c->x->lost_why);
		set_error(c, "ContextDied", msg, "");
	}
}

static void cell_audit(struct box_mgr *m, const struct box_caller *caller,
		       struct sandbox *sb, struct box_ctx *x,
		       const struct box_code_result *r, const struct aj_err *e)
{
	json_t *d = json_pack("{s:s,s:s,s:i,s:I,s:b,s:o?}", "context_id", x->id,
			      "language", box_lang_name(x->lang), "execution_count",
			      r->execution_count, "wall_ms", (json_int_t)r->wall_ms,
			      "timed_out", r->timed_out, "error",
			      r->error ? aj_json_text(r->error->name) : NULL);
	box_audit(m, caller, "sandbox.code", sb->id, e, d);
}

int box_code_run(struct box_mgr *m, const struct box_caller *caller,
		 const char *id, const struct box_code *req,
		 const struct box_code_sink *sink, struct box_code_result *res,
		 struct aj_err *e)
{
	struct sandbox *sb;
	struct box_ctx *x;
	memset(res, 0, sizeof(*res));
	if (!req->code)
		return aj_err_set(e, AJ_EINVAL, 0, "code is required");
	if (req->timeout_ms < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "timeout_ms must not be negative");
	if (box_require(caller, ROLE_USER, e) < 0 || sb_lookup(m, caller, id, &sb, e) < 0)
		return -1;
	if (ctx_find(sb, req->context_id, req->language, &x, e) < 0) {
		sb_unref(sb);
		return -1;
	}
	pthread_mutex_lock(&x->run);
	int rc = x->deleted ? aj_err_set(e, AJ_ENOTFOUND, 0, "code context was deleted")
			    : drv_ensure(sb, x, e);
	if (rc == 0) {
		snprintf(res->context_id, sizeof(res->context_id), "%s", x->id);
		if (x->lost) {
			char msg[400];
			res->restarted = true;
			snprintf(msg, sizeof(msg),
				 "The previous %s interpreter of this context %s; a fresh one "
				 "was started, so variables and imports from earlier cells are gone.",
				 box_lang_name(x->lang), x->lost_why);
			res->notice = strdup(msg);
			x->lost = false;
		}
		struct cell c = { .sb = sb, .x = x, .sink = sink, .res = res,
				  .id = ++x->next_id, .limit = m->cfg.default_output_limit };
		size_t len;
		char *buf = encode_request(x->lang, c.id, req, &len);
		pthread_mutex_lock(&sb->lock);
		drop_output(x->drv);
		pthread_mutex_unlock(&sb->lock);
		rc = buf ? send_request(x, buf, len, e)
			 : aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		free(buf);
		if (rc == 0) {
			run_cell(&c, req->timeout_ms ? req->timeout_ms
						     : m->cfg.default_exec_timeout_ms);
			finish_result(&c);
		}
		aj_buf_free(&c.out[0]);
		aj_buf_free(&c.out[1]);
	}
	cell_audit(m, caller, sb, x, res, rc ? e : NULL);
	pthread_mutex_unlock(&x->run);
	ctx_unref(x);
	sb_unref(sb);
	return rc;
}

void box_code_result_free(struct box_code_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nresults; i++) {
		for (size_t k = 0; k < r->results[i].nformats; k++) {
			free(r->results[i].formats[k].key);
			free(r->results[i].formats[k].value);
		}
		free(r->results[i].formats);
	}
	free(r->results);
	free(r->out[0]);
	free(r->out[1]);
	if (r->error) {
		free(r->error->name);
		free(r->error->value);
		free(r->error->traceback);
		free(r->error);
	}
	free(r->notice);
	memset(r, 0, sizeof(*r));
}

/* ---- context management -------------------------------------------------------- */

static void info_of(struct box_ctx *x, struct box_ctx_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, x->id, sizeof(out->id));
	out->language = x->lang;
	memcpy(out->cwd, x->cwd, sizeof(out->cwd));
	out->is_default = x->is_default;
	out->execution_count = x->execution_count;
}

int box_ctx_create(struct box_mgr *m, const struct box_caller *c,
		   const char *id, enum box_lang lang, const char *cwd,
		   struct box_ctx_info *out, struct aj_err *e)
{
	struct sandbox *sb;
	if ((unsigned)lang > BOX_LANG_BASH)
		return aj_err_set(e, AJ_EINVAL, 0, "unknown language");
	if (cwd && (strlen(cwd) >= 256 || cwd[0] != '/'))
		return aj_err_set(e, AJ_EINVAL, 0, "cwd must be an absolute path under 256 bytes");
	if (box_require(c, ROLE_USER, e) < 0 || sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	struct box_ctx *x = ctx_new(lang, cwd, false);
	if (!x) {
		sb_unref(sb);
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&sb->lock);
	bool full = ctx_count(sb) >= MAX_CONTEXTS;
	if (!full) {
		x->next = sb->ctxs;
		sb->ctxs = x;
		atomic_fetch_add(&x->refs, 1);
	}
	pthread_mutex_unlock(&sb->lock);
	int rc = 0;
	if (full) {
		rc = aj_err_set(e, AJ_EQUOTA, 0, "a sandbox has at most %d code contexts",
				MAX_CONTEXTS);
	} else {
		/* start it now so a bad cwd or a broken interpreter shows here */
		pthread_mutex_lock(&x->run);
		rc = drv_start(sb, x, e);
		pthread_mutex_unlock(&x->run);
		if (rc < 0)
			box_ctx_delete(m, c, id, x->id, NULL);
		else
			info_of(x, out);
	}
	box_audit(m, c, "context.create", id, rc ? e : NULL, NULL);
	ctx_unref(x);
	sb_unref(sb);
	return rc;
}

int box_ctx_list(struct box_mgr *m, const struct box_caller *c,
		 const char *id, struct box_ctx_info **out, size_t *n,
		 struct aj_err *e)
{
	struct sandbox *sb;
	*out = NULL;
	*n = 0;
	if (box_require(c, ROLE_VIEWER, e) < 0 || sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	pthread_mutex_lock(&sb->lock);
	size_t cnt = ctx_count(sb), k = 0;
	struct box_ctx_info *v = calloc(cnt ? cnt : 1, sizeof(*v));
	for (struct box_ctx *x = sb->ctxs; v && x; x = x->next)
		info_of(x, &v[k++]);
	pthread_mutex_unlock(&sb->lock);
	sb_unref(sb);
	if (!v)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	*out = v;
	*n = k;
	return 0;
}

int box_ctx_restart(struct box_mgr *m, const struct box_caller *c,
		    const char *id, const char *ctx_id, struct aj_err *e)
{
	struct sandbox *sb;
	struct box_ctx *x;
	if (box_require(c, ROLE_USER, e) < 0 || sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	if (ctx_find(sb, ctx_id, BOX_LANG_PYTHON, &x, e) < 0) {
		sb_unref(sb);
		return -1;
	}
	/* interrupt a running cell first so the restart does not wait for it */
	pthread_mutex_lock(&sb->lock);
	if (x->drv && x->drv->state == P_RUNNING)
		sb_kill_group(sb, x->drv->pid, SIGKILL);
	pthread_mutex_unlock(&sb->lock);
	pthread_mutex_lock(&x->run);
	drv_stop(sb, x);
	x->lost = false;
	int rc = drv_start(sb, x, e);
	pthread_mutex_unlock(&x->run);
	box_audit(m, c, "context.restart", id, rc ? e : NULL, NULL);
	ctx_unref(x);
	sb_unref(sb);
	return rc;
}

int box_ctx_delete(struct box_mgr *m, const struct box_caller *c,
		   const char *id, const char *ctx_id, struct aj_err *e)
{
	struct sandbox *sb;
	if (box_require(c, ROLE_USER, e) < 0 || sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	struct box_ctx *x = NULL;
	pthread_mutex_lock(&sb->lock);
	for (struct box_ctx **pp = &sb->ctxs; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, ctx_id) == 0) {
			x = *pp;
			*pp = x->next;
			x->next = NULL;
			break;
		}
	}
	if (x && x->drv && x->drv->state == P_RUNNING)
		sb_kill_group(sb, x->drv->pid, SIGKILL);
	pthread_mutex_unlock(&sb->lock);
	int rc = 0;
	if (!x) {
		rc = aj_err_set(e, AJ_ENOTFOUND, 0, "no code context '%.40s'", ctx_id);
	} else {
		pthread_mutex_lock(&x->run);
		x->deleted = true;
		drv_stop(sb, x);
		pthread_mutex_unlock(&x->run);
		ctx_unref(x); /* the list's reference */
	}
	box_audit(m, c, "context.delete", id, rc ? e : NULL, NULL);
	sb_unref(sb);
	return rc;
}

void sb_drop_contexts(struct sandbox *sb)
{
	for (;;) {
		pthread_mutex_lock(&sb->lock);
		struct box_ctx *x = sb->ctxs;
		if (x)
			sb->ctxs = x->next;
		pthread_mutex_unlock(&sb->lock);
		if (!x)
			return;
		pthread_mutex_lock(&x->run);
		x->deleted = true;
		drv_stop(sb, x);
		pthread_mutex_unlock(&x->run);
		ctx_unref(x);
	}
}

int sb_warm_python(struct sandbox *sb, struct aj_err *e)
{
	struct box_ctx *x;
	if (ctx_find(sb, NULL, BOX_LANG_PYTHON, &x, e) < 0)
		return -1;
	pthread_mutex_lock(&x->run);
	int rc = x->drv ? 0 : drv_start(sb, x, e);
	pthread_mutex_unlock(&x->run);
	ctx_unref(x);
	return rc;
}
