/* exec.c - commands in a sandbox: start one through the supervisor, follow
 * its output, wait for it, and the background process table.
 *
 * A process's output is read by the pump into its streams; whoever follows
 * it (a foreground exec, a streaming client) waits on the proc's condition
 * and takes what is new.  Deadlines are enforced by the reaper thread.
 */
#include "box/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box/proto.h"
#include "util/crypto.h"
#include "util/fdpass.h"

#define START_WAIT_MS 10000
#define EXIT_GRACE_MS 100   /* output still held open by a daemon child */
#define MAX_FINISHED_BG 64  /* finished background procs kept for GET */
#define STDIN_WRITE_MS 10000

/* What every command sees before the sandbox's and the request's env. */
static const char *const base_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/workspace",
	"USER=user",
	"LOGNAME=user",
	"SHELL=/bin/bash",
	"TERM=xterm",
	"LANG=C.UTF-8",
	"TZ=UTC",
	"HOSTNAME=sandbox",
};

/* ---- references ---------------------------------------------------------- */

void proc_ref(struct proc *p)
{
	atomic_fetch_add(&p->refs, 1);
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
}

void proc_unref(struct proc *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	for (int i = 0; i < PS_N; i++) {
		if (p->s[i].fd >= 0)
			close(p->s[i].fd);
		aj_buf_free(&p->s[i].data);
	}
	if (p->stdin_fd >= 0)
		close(p->stdin_fd);
	free(p->cmd);
	free(p->cwd);
	free_strv(p->argv);
	for (size_t i = 0; i < p->nenv; i++) {
		free(p->env[i].key);
		free(p->env[i].value);
	}
	free(p->env);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->stdin_lock);
	free(p);
}

/* ---- talking to the supervisor ------------------------------------------- */

int sb_send(struct sandbox *sb, const void *msg, size_t len, const int *fds,
	    int nfds, struct aj_err *e)
{
	for (int tries = 0; tries < 50; tries++) {
		if (aj_send_msg(sb->jail.ctl_fd, msg, len, fds, nfds) == 0)
			return 0;
		if (errno != EAGAIN)
			return aj_err_sys(e, AJ_EUNAVAIL, "sandbox '%s' is not running", sb->id);
		struct pollfd p = { .fd = sb->jail.ctl_fd, .events = POLLOUT };
		poll(&p, 1, 100);
	}
	return aj_err_set(e, AJ_EUNAVAIL, EAGAIN, "sandbox '%s' does not respond", sb->id);
}

void sb_kill_group(struct sandbox *sb, pid_t pid, int sig)
{
	struct sup_signal m = { .h = { SUP_SIGNAL, sizeof(m), 0 },
				.pid = pid, .sig = sig, .group = SUP_SIG_GROUP };
	sb_send(sb, &m, sizeof(m), NULL, 0, NULL);
}

void sb_signal_rest_of_group(struct sandbox *sb, pid_t pid, int lead, int sig)
{
	struct sup_signal m = { .h = { SUP_SIGNAL, sizeof(m), 0 }, .pid = pid,
				.sig = sig, .group = SUP_SIG_REST, .lead = lead };
	sb_send(sb, &m, sizeof(m), NULL, 0, NULL);
}

/* ---- waiting -------------------------------------------------------------- */

static void cond_wait_until(pthread_cond_t *c, pthread_mutex_t *l, int64_t mono)
{
	struct timespec ts = { .tv_sec = mono / 1000,
			       .tv_nsec = (mono % 1000) * 1000000 };
	pthread_cond_timedwait(c, l, &ts);
}

static bool pipes_closed(const struct proc *p)
{
	for (int i = 0; i < PS_N; i++)
		if (p->s[i].fd >= 0)
			return false;
	return true;
}

bool proc_done(const struct proc *p)
{
	return (p->state == P_EXITED || p->state == P_FAILED) && pipes_closed(p);
}

/* ---- environment and messages --------------------------------------------- */

static int env_set(char **env, size_t *n, const char *k, const char *v)
{
	size_t kl = strlen(k);
	char *s = malloc(kl + strlen(v) + 2);
	if (!s)
		return -1;
	sprintf(s, "%s=%s", k, v);
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(env[i], s, kl + 1) == 0) {
			free(env[i]);
			env[i] = s;
			return 0;
		}
	}
	env[(*n)++] = s;
	return 0;
}

/* base, then the sandbox's env, then the request's: later wins. */
static char **build_env(const struct sandbox *sb, const struct box_kv *req,
			size_t nreq)
{
	size_t nbase = sizeof(base_env) / sizeof(base_env[0]);
	size_t cap = nbase + sb->nenv + nreq + 1;
	char **env = calloc(cap, sizeof(char *));
	size_t n = 0;
	if (!env)
		return NULL;
	for (size_t i = 0; i < nbase; i++)
		if (!(env[n++] = strdup(base_env[i])))
			goto fail;
	for (size_t i = 0; i < sb->nenv; i++)
		if (env_set(env, &n, sb->env[i].key, sb->env[i].value) < 0)
			goto fail;
	for (size_t i = 0; i < nreq; i++)
		if (env_set(env, &n, req[i].key, req[i].value) < 0)
			goto fail;
	return env;
fail:
	free_strv(env);
	return NULL;
}

static char *pack_exec(uint64_t req_id, uint32_t flags, char *const *argv,
		       char *const *env, const char *cwd, size_t *len,
		       struct aj_err *e)
{
	size_t total = sizeof(struct sup_exec), argc = 0, envc = 0;
	for (; argv[argc]; argc++)
		total += strlen(argv[argc]) + 1;
	for (; env[envc]; envc++)
		total += strlen(env[envc]) + 1;
	total += strlen(cwd) + 1;
	if (total > SUP_MAX_MSG) {
		aj_err_set(e, AJ_ETOOBIG, 0,
			   "command, environment and cwd take %zu bytes; the limit is %d",
			   total, SUP_MAX_MSG);
		return NULL;
	}
	char *buf = malloc(total);
	if (!buf) {
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		return NULL;
	}
	struct sup_exec *x = (struct sup_exec *)buf;
	*x = (struct sup_exec){ .h = { SUP_EXEC, (uint32_t)total, req_id },
				.flags = flags, .argc = (uint32_t)argc,
				.envc = (uint32_t)envc };
	char *p = buf + sizeof(*x);
	for (size_t i = 0; i < argc; i++)
		p = stpcpy(p, argv[i]) + 1;
	for (size_t i = 0; i < envc; i++)
		p = stpcpy(p, env[i]) + 1;
	strcpy(p, cwd);
	*len = total;
	return buf;
}

static char **strv_dup(char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	char **d = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; d && i < n; i++)
		if (!(d[i] = strdup(v[i]))) {
			free_strv(d);
			return NULL;
		}
	return d;
}

/* Relative cwd is taken from /workspace. */
static char *resolve_cwd(const char *cwd)
{
	if (!cwd || !*cwd)
		return strdup("/workspace");
	if (cwd[0] == '/')
		return strdup(cwd);
	char *s = malloc(strlen(cwd) + 12);
	if (s)
		sprintf(s, "/workspace/%s", cwd);
	return s;
}

/* ---- starting ------------------------------------------------------------- */

static struct proc *proc_new(const struct proc_start *ps)
{
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&p->stdin_lock, NULL);
	p->stdin_fd = -1;
	for (int i = 0; i < PS_N; i++)
		p->s[i].fd = -1;
	memcpy(p->exec_id, "ex", 2);
	aj_random_hex(p->exec_id + 2, 9);
	snprintf(p->tag, sizeof(p->tag), "%s", ps->tag ? ps->tag : "");
	p->background = ps->background;
	p->consume = ps->consume;
	p->internal = ps->internal;
	p->limit = ps->limit;
	p->started_ms = now_ms();
	p->started_mono = mono_ms();
	p->cmd = strdup(ps->cmd ? ps->cmd : ps->argv[0]);
	p->argv = strv_dup(ps->argv);
	p->cwd = resolve_cwd(ps->cwd);
	if (ps->nenv) {
		p->env = calloc(ps->nenv, sizeof(*p->env));
		for (size_t i = 0; p->env && i < ps->nenv; i++) {
			p->env[i].key = strdup(ps->env[i].key);
			p->env[i].value = strdup(ps->env[i].value);
			p->nenv = i + 1;
		}
	}
	if (!p->cmd || !p->argv || !p->cwd || (ps->nenv && !p->env)) {
		proc_unref(p);
		return NULL;
	}
	return p;
}

static void close_pair(int *fds)
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* The pipes: ours read (or, for stdin, write); the others go to the
 * supervisor in the order SUP_EXEC expects. */
static int make_pipes(struct proc *p, const struct proc_start *ps, int theirs[4],
		      int *ntheirs, uint32_t *flags, struct aj_err *e)
{
	int pp[4][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 } };
	bool want[4] = { true, true, ps->want_stdin, ps->want_events };
	for (int i = 0; i < 4; i++) {
		if (want[i] && pipe2(pp[i], O_CLOEXEC) < 0) {
			for (int j = 0; j < 4; j++)
				close_pair(pp[j]);
			return aj_err_sys(e, AJ_EINTERNAL, "pipe");
		}
	}
	p->s[PS_OUT].fd = pp[0][0];
	p->s[PS_ERR].fd = pp[1][0];
	p->s[PS_EVT].fd = pp[3][0];
	p->stdin_fd = pp[2][1];
	/* Writes to a process that does not read must never block us. */
	if (p->stdin_fd >= 0)
		fcntl(p->stdin_fd, F_SETFL, O_NONBLOCK);
	*flags = 0;
	*ntheirs = 0;
	theirs[(*ntheirs)++] = pp[0][1];
	theirs[(*ntheirs)++] = pp[1][1];
	if (ps->want_stdin) {
		theirs[(*ntheirs)++] = pp[2][0];
		*flags |= SUP_F_STDIN;
	}
	if (ps->want_events) {
		theirs[(*ntheirs)++] = pp[3][1];
		*flags |= SUP_F_FD3;
	}
	return 0;
}

static void unlink_proc(struct sandbox *sb, struct proc *p)
{
	for (struct proc **pp = &sb->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			p->next = NULL;
			p->unlisted = true;
			if (!p->consume) {
				uint64_t kept = p->s[0].data.len + p->s[1].data.len;
				sb->retained -= kept < sb->retained ? kept : sb->retained;
			}
			proc_unref(p);
			return;
		}
	}
}

void sb_remove_proc(struct sandbox *sb, struct proc *p)
{
	pthread_mutex_lock(&sb->lock);
	unlink_proc(sb, p);
	pthread_mutex_unlock(&sb->lock);
}

void sb_evict_finished(struct sandbox *sb, uint64_t need)
{
	while (sb->retained + need > SB_RETAIN_MAX) {
		struct proc *oldest = NULL;
		for (struct proc *p = sb->procs; p; p = p->next)
			if (p->background && !p->internal && proc_done(p))
				oldest = p; /* the list is newest first */
		if (!oldest)
			return;
		unlink_proc(sb, oldest);
	}
}

/* Keep at most MAX_FINISHED_BG finished background procs (sb->lock held). */
static void trim_finished(struct sandbox *sb)
{
	size_t n = 0;
	struct proc *oldest = NULL;
	for (struct proc *p = sb->procs; p; p = p->next) {
		if (p->background && proc_done(p)) {
			n++;
			oldest = p; /* the list is newest first */
		}
	}
	if (n > MAX_FINISHED_BG && oldest)
		unlink_proc(sb, oldest);
}

static void wake_reaper(struct box_mgr *m)
{
	pthread_mutex_lock(&m->lock);
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

int proc_start(struct sandbox *sb, const struct proc_start *ps,
	       struct proc **out, struct aj_err *e)
{
	int theirs[4];
	int nt = 0;
	uint32_t flags = 0;
	char **env = NULL;
	char *msg = NULL;
	size_t len;
	struct proc *p = proc_new(ps);
	if (!p)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	p->sb = sb;
	if (make_pipes(p, ps, theirs, &nt, &flags, e) < 0)
		goto fail;
	if (!(env = build_env(sb, ps->env, ps->nenv))) {
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		goto fail;
	}
	pthread_mutex_lock(&sb->lock);
	if (sb->dead) {
		pthread_mutex_unlock(&sb->lock);
		aj_err_set(e, AJ_EUNAVAIL, 0, "sandbox '%s' is not running", sb->id);
		goto fail;
	}
	p->req_id = ++sb->next_req;
	if (ps->timeout_ms > 0)
		p->deadline_mono = p->started_mono + ps->timeout_ms;
	msg = pack_exec(p->req_id, flags, p->argv, env, p->cwd, &len, e);
	if (!msg) {
		pthread_mutex_unlock(&sb->lock);
		goto fail;
	}
	proc_ref(p); /* the list's reference */
	p->next = sb->procs;
	sb->procs = p;
	trim_finished(sb);
	pthread_mutex_unlock(&sb->lock);

	int rc = sb_send(sb, msg, len, theirs, nt, e);
	for (int i = 0; i < nt; i++)
		close(theirs[i]);
	nt = 0;
	if (rc < 0 || pump_add_proc(sb->mgr->pump, p, e) < 0) {
		sb_remove_proc(sb, p);
		goto fail;
	}
	pthread_mutex_lock(&sb->lock);
	int64_t until = mono_ms() + START_WAIT_MS;
	while (p->state == P_STARTING && !sb->dead && mono_ms() < until)
		cond_wait_until(&p->cond, &sb->lock, until);
	if (p->state == P_STARTING) {
		/* never answered: treat as failed (the supervisor is stuck, or
		 * the child was stopped before it could exec; should it start
		 * after all, the pump kills it) */
		p->state = P_FAILED;
		p->start_err = ETIMEDOUT;
	}
	pthread_mutex_unlock(&sb->lock);
	if (p->deadline_mono)
		wake_reaper(sb->mgr);
	free(msg);
	free_strv(env);
	*out = p;
	return 0;
fail:
	for (int i = 0; i < nt; i++)
		close(theirs[i]);
	free(msg);
	free_strv(env);
	proc_unref(p);
	return -1;
}

/* ---- results -------------------------------------------------------------- */

void proc_check_oom(struct proc *p)
{
	struct sandbox *sb = p->sb;
	struct jail_stats st;
	if (p->oom_checked || p->state != P_EXITED || !WIFSIGNALED(p->status) ||
	    WTERMSIG(p->status) != SIGKILL)
		return;
	p->oom_checked = true;
	if (launcher_stats(sb->mgr->launcher, sb->id, &st, NULL) < 0)
		return;
	pthread_mutex_lock(&sb->lock);
	if (st.oom_kills > sb->oom_kills_seen) {
		sb->oom_kills_seen = st.oom_kills;
		p->oom_killed = !p->timed_out;
	}
	pthread_mutex_unlock(&sb->lock);
}

static void start_error(const struct proc *p, struct box_exec_result *res)
{
	int err = p->start_err & 0xffff;
	int stage = p->start_err >> 16;
	char buf[512];
	if (stage == SUP_STAGE_CWD)
		snprintf(buf, sizeof(buf), "cannot change to directory '%s': %s",
			 p->cwd, strerror(err));
	else if (stage == SUP_STAGE_EXEC)
		snprintf(buf, sizeof(buf), "cannot run '%s': %s", p->argv[0],
			 strerror(err));
	else if (err == EAGAIN)
		snprintf(buf, sizeof(buf), "cannot start the command: the sandbox is at "
			 "its process limit; end some of its processes, or kill them all");
	else if (err == ETIMEDOUT)
		snprintf(buf, sizeof(buf), "cannot start the command: the sandbox does not "
			 "answer (its supervisor is stuck, or something in the sandbox "
			 "stopped the command before it could run); kill its processes "
			 "or destroy it");
	else
		snprintf(buf, sizeof(buf), "cannot start the command: %s",
			 strerror(err));
	res->error = strdup(buf);
	res->exit_code = (stage == SUP_STAGE_EXEC && err == ENOENT) ? 127 : 126;
}

void proc_fill_result(struct proc *p, struct box_exec_result *res)
{
	memcpy(res->exec_id, p->exec_id, sizeof(res->exec_id));
	res->pid = p->pid;
	res->timed_out = p->timed_out;
	res->oom_killed = p->oom_killed;
	int64_t end = p->ended_mono ? p->ended_mono : mono_ms();
	res->wall_ms = end - p->started_mono;
	res->cpu_ms = p->cpu_ms;
	res->max_rss_kb = p->maxrss_kb;
	if (p->state == P_FAILED) {
		start_error(p, res);
		return;
	}
	if (p->state == P_EXITED && WIFSIGNALED(p->status)) {
		res->signal = WTERMSIG(p->status);
		res->exit_code = 128 + res->signal;
	} else if (p->state == P_EXITED) {
		res->exit_code = WEXITSTATUS(p->status);
	} else {
		res->exit_code = -1;
	}
}

static void copy_output(struct proc *p, struct box_exec_result *res)
{
	for (int i = 0; i < 2; i++) {
		res->out[i] = malloc(p->s[i].data.len + 1);
		if (!res->out[i])
			continue;
		if (p->s[i].data.len)
			memcpy(res->out[i], p->s[i].data.data, p->s[i].data.len);
		res->out[i][p->s[i].data.len] = '\0';
		res->out_len[i] = p->s[i].data.len;
		res->truncated[i] = p->s[i].truncated;
	}
}

void box_exec_result_free(struct box_exec_result *r)
{
	if (!r)
		return;
	free(r->out[0]);
	free(r->out[1]);
	free(r->error);
	r->out[0] = r->out[1] = r->error = NULL;
}

/* ---- following ------------------------------------------------------------- */

/* stdin_fd is written and closed only under stdin_lock: a POST .../stdin
 * or its eof may run beside the exec that feeds the process, and a write
 * or close through a number another thread closed meanwhile would hit
 * whatever took that number next (another process's stdin, a client's
 * socket, the database). */
static void close_stdin(struct proc *p)
{
	pthread_mutex_lock(&p->stdin_lock);
	if (p->stdin_fd >= 0) {
		close(p->stdin_fd);
		p->stdin_fd = -1;
	}
	pthread_mutex_unlock(&p->stdin_lock);
}

/* One non-blocking write of what is left of in (*off bytes are done);
 * stdin is closed once all is written or the process closed its end.
 * Returns false when there is no more to do (stdin closed, by us or by
 * someone else); true to come back, also when another writer holds the
 * lock: we never wait for one. */
static bool feed_stdin(struct proc *p, const char *in, size_t inlen, size_t *off)
{
	if (pthread_mutex_trylock(&p->stdin_lock) != 0)
		return true;
	bool more = p->stdin_fd >= 0;
	if (more) {
		ssize_t w = *off < inlen ? write(p->stdin_fd, in + *off, inlen - *off) : 0;
		if (w > 0)
			*off += (size_t)w;
		if (*off >= inlen || (w < 0 && errno != EAGAIN && errno != EINTR)) {
			close(p->stdin_fd);
			p->stdin_fd = -1;
			more = false;
		}
	}
	pthread_mutex_unlock(&p->stdin_lock);
	return more;
}

/* Hand new output to the sink and wait until the process is done (or, if
 * it exited, until a child holding its pipes has had EXIT_GRACE_MS).
 * Returns 1 if the sink asked to stop, else 0.  stdin data, if any, is
 * written as the process reads it. */
static int follow(struct proc *p, const struct box_sink *sink, size_t sent[2],
		  const char *in, size_t inlen, const atomic_bool *cancel)
{
	struct sandbox *sb = p->sb;
	size_t inoff = 0;
	int stop = 0;
	bool feeding = in != NULL;
	if (!in && !p->background)
		close_stdin(p);
	pthread_mutex_lock(&sb->lock);
	for (;;) {
		/* Decided before sending: output that arrives while the sink
		 * runs (the lock is dropped for it) still goes out this round. */
		bool last = proc_done(p) ||
			    ((p->state == P_EXITED || p->state == P_FAILED) &&
			     mono_ms() >= p->ended_mono + EXIT_GRACE_MS);
		for (int i = 0; i < 2 && !stop; i++) {
			struct pstream *s = &p->s[i];
			while (sink && sink->on_output && sent[i] < s->data.len && !stop) {
				size_t n = s->data.len - sent[i];
				if (n > 65536)
					n = 65536;
				char *chunk = malloc(n);
				if (!chunk)
					break;
				memcpy(chunk, s->data.data + sent[i], n);
				sent[i] += n;
				pthread_mutex_unlock(&sb->lock);
				stop = sink->on_output(sink->ctx, (enum box_stream)i, chunk, n);
				free(chunk);
				pthread_mutex_lock(&sb->lock);
			}
		}
		if (!stop && cancel && atomic_load(cancel))
			stop = 1;
		if (stop || last)
			break;
		int64_t now = mono_ms();
		int64_t until = now + 1000;
		if (p->state == P_EXITED || p->state == P_FAILED)
			until = p->ended_mono + EXIT_GRACE_MS;
		if (feeding) {
			pthread_mutex_unlock(&sb->lock);
			feeding = feed_stdin(p, in, inlen, &inoff);
			pthread_mutex_lock(&sb->lock);
			if (feeding && until > now + 10)
				until = now + 10;
		}
		cond_wait_until(&p->cond, &sb->lock, until);
	}
	pthread_mutex_unlock(&sb->lock);
	return stop;
}

/* ---- box_exec ------------------------------------------------------------------ */

static char *join_argv(char *const *argv)
{
	struct aj_buf b = { 0 };
	for (size_t i = 0; argv[i]; i++)
		if ((i && aj_buf_append(&b, " ", 1) < 0) ||
		    aj_buf_append(&b, argv[i], strlen(argv[i])) < 0) {
			aj_buf_free(&b);
			return NULL;
		}
	return aj_buf_steal(&b);
}

/* Output is stored as base64: bytes that are not UTF-8 text (or are NUL)
 * cannot be JSON strings, and a result that failed to encode was not
 * stored at all, so a retry ran the command again. */
static const char *const out_b64[2] = { "stdout_b64", "stderr_b64" };

static char *result_json(const struct box_exec_result *r)
{
	json_t *o = json_pack("{s:s,s:i,s:i,s:i,s:b,s:b,s:I,s:I,s:I,s:b,s:b}",
		"exec_id", r->exec_id, "pid", (int)r->pid, "exit_code", r->exit_code,
		"signal", r->signal, "timed_out", r->timed_out, "oom_killed", r->oom_killed,
		"wall_ms", (json_int_t)r->wall_ms, "cpu_ms", (json_int_t)r->cpu_ms,
		"max_rss_kb", (json_int_t)r->max_rss_kb,
		"stdout_truncated", r->truncated[0], "stderr_truncated", r->truncated[1]);
	for (int i = 0; o && i < 2; i++) {
		size_t n = r->out[i] ? r->out_len[i] : 0;
		char *enc = malloc(aj_base64_encoded_size(n));
		if (!enc || json_object_set_new(o, out_b64[i], json_string(
				aj_base64_encode(r->out[i] ? r->out[i] : "", n, enc))) < 0) {
			json_decref(o);
			o = NULL;
		}
		free(enc);
	}
	if (o && r->error)
		json_object_set_new(o, "error", json_string(r->error));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* One stream of a stored result: base64, or text (stored before base64). */
static void stored_output(json_t *o, int i, struct box_exec_result *r)
{
	static const char *const text[2] = { "stdout", "stderr" };
	json_t *b = json_object_get(o, out_b64[i]);
	json_t *t = json_object_get(o, text[i]);
	size_t len = json_is_string(b) ? json_string_length(b) : json_string_length(t);
	size_t cap = json_is_string(b) ? aj_base64_decoded_max(len) : len;
	size_t n = 0;
	r->out[i] = malloc(cap + 1);
	if (!r->out[i])
		return;
	if (json_is_string(b)) {
		if (aj_base64_decode(json_string_value(b), len, r->out[i], cap, &n, NULL) < 0)
			n = 0;
	} else if (json_is_string(t)) {
		memcpy(r->out[i], json_string_value(t), len);
		n = len;
	}
	r->out[i][n] = '\0';
	r->out_len[i] = n;
}

static int result_from_json(const char *text, struct box_exec_result *r)
{
	json_t *o = json_loads(text, 0, NULL);
	if (!o)
		return -1;
	memset(r, 0, sizeof(*r));
	snprintf(r->exec_id, sizeof(r->exec_id), "%s",
		 json_string_value(json_object_get(o, "exec_id")) ?: "");
	r->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	r->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
	r->signal = (int)json_integer_value(json_object_get(o, "signal"));
	r->timed_out = json_is_true(json_object_get(o, "timed_out"));
	r->oom_killed = json_is_true(json_object_get(o, "oom_killed"));
	r->wall_ms = json_integer_value(json_object_get(o, "wall_ms"));
	r->cpu_ms = json_integer_value(json_object_get(o, "cpu_ms"));
	r->max_rss_kb = json_integer_value(json_object_get(o, "max_rss_kb"));
	const char *tr[2] = { "stdout_truncated", "stderr_truncated" };
	for (int i = 0; i < 2; i++) {
		stored_output(o, i, r);
		r->truncated[i] = json_is_true(json_object_get(o, tr[i]));
	}
	json_t *err = json_object_get(o, "error");
	if (json_is_string(err))
		r->error = strdup(json_string_value(err));
	json_decref(o);
	return 0;
}

/* Audit record and trace of a command, committed before anyone hears of
 * it.  -1 (e says why: AJ_ENOSPC when the state dir is full) if they
 * could not be written: the caller must not acknowledge the command. */
static int record_exec(struct box_mgr *m, const struct box_caller *c,
		       struct sandbox *sb, const struct proc *p,
		       const struct box_exec_result *res, struct aj_err *e)
{
	struct exec_trace t;
	memset(&t, 0, sizeof(t));
	memcpy(t.exec_id, p->exec_id, sizeof(t.exec_id));
	snprintf(t.sandbox_id, sizeof(t.sandbox_id), "%s", sb->id);
	snprintf(t.tenant, sizeof(t.tenant), "%s", c->tenant);
	snprintf(t.key_id, sizeof(t.key_id), "%s", c->key_id);
	t.command = p->cmd;
	t.started_ms = p->started_ms;
	t.exit_code = res->exit_code;
	t.signal = res->signal;
	t.wall_ms = res->wall_ms;
	t.cpu_ms = res->cpu_ms;
	t.max_rss_kb = res->max_rss_kb;
	t.stdout_bytes = (int64_t)p->s[0].total;
	t.stderr_bytes = (int64_t)p->s[1].total;
	t.stdout_truncated = res->truncated[0];
	t.stderr_truncated = res->truncated[1];
	t.timed_out = res->timed_out;
	t.oom_killed = res->oom_killed;

	struct audit_rec r;
	memset(&r, 0, sizeof(r));
	r.ts_ms = now_ms();
	memcpy(r.key_id, c->key_id, sizeof(r.key_id));
	memcpy(r.tenant, c->tenant, sizeof(r.tenant));
	snprintf(r.action, sizeof(r.action), "%s",
		 p->background ? "sandbox.exec_background" : "sandbox.exec");
	snprintf(r.sandbox_id, sizeof(r.sandbox_id), "%s", sb->id);
	/* a command that could not start (no such program, bad cwd) is the
	 * caller's mistake; one that ran is "ok" whatever its exit status */
	snprintf(r.outcome, sizeof(r.outcome), "%s",
		 aj_code_name(res->error ? AJ_EINVAL : AJ_OK));
	json_t *d = json_pack("{s:s,s:o,s:i}", "exec_id", p->exec_id,
			      "command", aj_json_text(p->cmd), "exit_code", res->exit_code);
	r.detail = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	int rc = store_audit_append(m->store, &r, &t, e);
	if (rc < 0) {
		fprintf(stderr, "agentjail: recording exec %s failed: %s\n",
			p->exec_id, e->msg);
		aj_err_wrap(e, "the command ran but its record could not be written");
	}
	free(r.detail);

	pthread_mutex_lock(&m->lock);
	if (res->error)
		m->metrics.execs_error++;
	else if (res->timed_out)
		m->metrics.execs_timed_out++;
	else if (res->oom_killed)
		m->metrics.execs_oom++;
	else if (res->exit_code == 0)
		m->metrics.execs_ok++;
	else
		m->metrics.execs_failed++;
	if (!p->background) {
		double ms = (double)res->wall_ms;
		struct box_histogram *h = &m->metrics.exec_latency;
		h->count++;
		h->sum_ms += ms;
		for (int i = 0; i < BOX_LAT_BUCKETS; i++)
			if (ms <= box_lat_bounds_ms[i])
				h->buckets[i]++;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int exec_validate(const struct box_config *cfg, const struct box_exec *r,
			 struct aj_err *e)
{
	if (!!r->argv == !!r->command)
		return aj_err_set(e, AJ_EINVAL, 0, "give either cmd (an argv array) or command (a shell string)");
	if (r->argv && (!r->argv[0] || !r->argv[0][0]))
		return aj_err_set(e, AJ_EINVAL, 0, "cmd must be a non-empty array whose first element names the program");
	if (r->command && !*r->command)
		return aj_err_set(e, AJ_EINVAL, 0, "command must not be empty");
	if (r->output_limit > cfg->max_output_limit)
		return aj_err_set(e, AJ_EINVAL, 0, "output limit is at most %llu bytes",
				  (unsigned long long)cfg->max_output_limit);
	if (r->timeout_ms < 0 && !r->background)
		return aj_err_set(e, AJ_EINVAL, 0, "timeout_ms must not be negative");
	if (r->cwd && strlen(r->cwd) > 4096)
		return aj_err_set(e, AJ_EINVAL, 0, "cwd is too long");
	return box_kv_validate("env", r->env, r->nenv, true, e);
}

static int exec_run(struct box_mgr *m, const struct box_caller *c,
		    struct sandbox *sb, const struct box_exec *req,
		    const struct box_sink *sink, struct box_exec_result *res,
		    struct aj_err *e)
{
	char *shell[] = { "/bin/bash", "-c", (char *)req->command, NULL };
	struct proc_start ps = {
		.argv = req->argv ? req->argv : shell,
		.env = req->env,
		.nenv = req->nenv,
		.cwd = req->cwd,
		.want_stdin = req->stdin_data != NULL || req->keep_stdin,
		.background = req->background,
		.timeout_ms = req->timeout_ms == 0 ? m->cfg.default_exec_timeout_ms
						    : req->timeout_ms,
		.limit = req->output_limit ? req->output_limit : m->cfg.default_output_limit,
		.cmd = req->command,
		.tag = req->tag,
	};
	char *joined = NULL;
	if (!ps.cmd)
		ps.cmd = joined = join_argv(req->argv);
	struct proc *p;
	int rc = proc_start(sb, &ps, &p, e);
	free(joined);
	if (rc < 0)
		return -1;
	memset(res, 0, sizeof(*res));
	/* Started (even if already over): the sink hears it before any output. */
	if (p->pid > 0 && sink && sink->on_start)
		sink->on_start(sink->ctx, p->pid);
	if (req->background && p->state == P_RUNNING) {
		memcpy(res->exec_id, p->exec_id, sizeof(res->exec_id));
		res->pid = p->pid;
		if (req->stdin_data) {
			/* these check stdin_fd under its lock */
			box_proc_write_stdin(m, c, sb->id, p->pid, req->stdin_data,
					     req->stdin_len, NULL);
			if (!req->keep_stdin)
				box_proc_close_stdin(m, c, sb->id, p->pid, NULL);
		}
		if (record_exec(m, c, sb, p, res, e) < 0) {
			/* never a process nobody can find in the log */
			sb_kill_group(sb, p->pid, SIGKILL);
			proc_unref(p);
			memset(res, 0, sizeof(*res));
			return -1;
		}
		proc_unref(p);
		return 0;
	}
	size_t sent[2] = { 0, 0 };
	if (follow(p, sink, sent, req->stdin_data, req->stdin_len, NULL) &&
	    p->state == P_RUNNING) {
		/* the client went away: a foreground command goes with it */
		sb_kill_group(sb, p->pid, SIGKILL);
	}
	proc_check_oom(p);
	pthread_mutex_lock(&sb->lock);
	proc_fill_result(p, res);
	copy_output(p, res);
	pthread_mutex_unlock(&sb->lock);
	sb_remove_proc(sb, p);
	rc = record_exec(m, c, sb, p, res, e);
	proc_unref(p);
	if (rc < 0)
		box_exec_result_free(res);
	return rc;
}

int box_exec(struct box_mgr *m, const struct box_caller *c, const char *id,
	     const struct box_exec *req, const struct box_sink *sink,
	     struct box_exec_result *res, struct aj_err *e)
{
	struct sandbox *sb;
	memset(res, 0, sizeof(*res));
	if (box_require(c, ROLE_USER, e) < 0 || exec_validate(&m->cfg, req, e) < 0)
		return -1;
	/* A retry gets the first answer even when the sandbox has ended since
	 * (destroyed, expired, or the server restarted): look the key up
	 * before the sandbox.  Keys are per tenant, so this reveals nothing
	 * of another tenant's sandboxes. */
	const char *key = req->idempotency_key && *req->idempotency_key
				  ? req->idempotency_key : NULL;
	char scope[64];
	snprintf(scope, sizeof(scope), "exec:%.50s", id);
	if (key) {
		char *body;
		bool found;
		int rc = idem_begin(m, c->tenant, key, scope, &body, &found, e);
		if (rc == 0 && found)
			rc = result_from_json(body, res) < 0
				     ? aj_err_set(e, AJ_EINTERNAL, 0, "stored result unreadable")
				     : 0;
		free(body);
		if (rc < 0 || found)
			return rc;
	}
	int rc = sb_lookup(m, c, id, &sb, e);
	if (rc == 0) {
		rc = exec_run(m, c, sb, req, sink, res, e);
		sb_unref(sb);
	}
	if (key) {
		char *body = rc == 0 ? result_json(res) : NULL;
		idem_end(m, c->tenant, key, scope, 200, body);
		free(body);
	}
	return rc;
}

/* ---- the process table ------------------------------------------------------- */

/* The most recent proc with this pid (sb->lock held); NULL if none. */
static struct proc *find_pid(struct sandbox *sb, pid_t pid)
{
	for (struct proc *p = sb->procs; p; p = p->next)
		if (p->pid == pid && p->state != P_FAILED && !p->internal)
			return p;
	return NULL;
}

static int lookup_proc(struct box_mgr *m, const struct box_caller *c,
		       const char *id, pid_t pid, enum role min,
		       struct sandbox **sbo, struct proc **po, struct aj_err *e)
{
	struct sandbox *sb;
	if (box_require(c, min, e) < 0 || sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	pthread_mutex_lock(&sb->lock);
	struct proc *p = find_pid(sb, pid);
	if (p)
		proc_ref(p);
	pthread_mutex_unlock(&sb->lock);
	if (!p) {
		sb_unref(sb);
		return aj_err_set(e, AJ_ENOTFOUND, 0, "no process %d in sandbox '%s'",
				  (int)pid, id);
	}
	*sbo = sb;
	*po = p;
	return 0;
}

static void proc_info(struct proc *p, bool output, struct box_proc_info *out)
{
	struct box_exec_result r;
	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	out->pid = p->pid;
	memcpy(out->exec_id, p->exec_id, sizeof(out->exec_id));
	memcpy(out->tag, p->tag, sizeof(out->tag));
	out->cmd = strdup(p->cmd);
	out->argv = strv_dup(p->argv);
	out->cwd = strdup(p->cwd);
	if (p->nenv && (out->env = calloc(p->nenv, sizeof(*out->env)))) {
		for (size_t i = 0; i < p->nenv; i++) {
			out->env[i].key = strdup(p->env[i].key);
			out->env[i].value = strdup(p->env[i].value);
		}
		out->nenv = p->nenv;
	}
	out->running = p->state == P_RUNNING;
	proc_fill_result(p, &r);
	out->exit_code = out->running ? 0 : r.exit_code;
	out->signal = r.signal;
	out->timed_out = r.timed_out;
	out->oom_killed = r.oom_killed;
	out->wall_ms = r.wall_ms;
	out->started_ms = p->started_ms;
	free(r.error);
	if (output) {
		copy_output(p, &r);
		for (int i = 0; i < 2; i++) {
			out->out[i] = r.out[i];
			out->out_len[i] = r.out_len[i];
			out->truncated[i] = r.truncated[i];
		}
	}
}

/* Running processes and finished background ones; never our drivers. */
static bool listed(const struct proc *p)
{
	return !p->internal &&
	       (p->state == P_RUNNING || (p->background && p->state == P_EXITED));
}

int box_proc_list(struct box_mgr *m, const struct box_caller *c,
		  const char *id, struct box_proc_info **out, size_t *n,
		  struct aj_err *e)
{
	struct sandbox *sb;
	*out = NULL;
	*n = 0;
	if (box_require(c, ROLE_VIEWER, e) < 0 || sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	pthread_mutex_lock(&sb->lock);
	size_t cnt = 0;
	for (struct proc *p = sb->procs; p; p = p->next)
		if (listed(p))
			cnt++;
	struct box_proc_info *v = calloc(cnt ? cnt : 1, sizeof(*v));
	size_t k = 0;
	for (struct proc *p = sb->procs; v && p; p = p->next)
		if (listed(p))
			proc_info(p, false, &v[k++]);
	pthread_mutex_unlock(&sb->lock);
	sb_unref(sb);
	if (!v)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	*out = v;
	*n = k;
	return 0;
}

int box_proc_get(struct box_mgr *m, const struct box_caller *c,
		 const char *id, pid_t pid, struct box_proc_info *out,
		 struct aj_err *e)
{
	struct sandbox *sb;
	struct proc *p;
	if (lookup_proc(m, c, id, pid, ROLE_VIEWER, &sb, &p, e) < 0)
		return -1;
	proc_check_oom(p);
	pthread_mutex_lock(&sb->lock);
	proc_info(p, true, out);
	pthread_mutex_unlock(&sb->lock);
	proc_unref(p);
	sb_unref(sb);
	return 0;
}

int box_proc_signal(struct box_mgr *m, const struct box_caller *c,
		    const char *id, pid_t pid, int sig, struct aj_err *e)
{
	struct sandbox *sb;
	struct proc *p;
	if (sig < 1 || sig > 64)
		return aj_err_set(e, AJ_EINVAL, 0, "signal must be 1-64");
	if (lookup_proc(m, c, id, pid, ROLE_USER, &sb, &p, e) < 0)
		return -1;
	pthread_mutex_lock(&sb->lock);
	bool running = p->state == P_RUNNING;
	pthread_mutex_unlock(&sb->lock);
	int rc = 0;
	if (running)
		sb_kill_group(sb, pid, sig);
	else
		rc = aj_err_set(e, AJ_ENOTFOUND, 0, "process %d has already exited", (int)pid);
	box_audit(m, c, "process.signal", id, rc ? e : NULL,
		  json_pack("{s:i,s:i}", "pid", (int)pid, "signal", sig));
	proc_unref(p);
	sb_unref(sb);
	return rc;
}

int box_proc_kill_all(struct box_mgr *m, const struct box_caller *c,
		      const char *id, struct aj_err *e)
{
	struct sandbox *sb;
	if (box_require(c, ROLE_USER, e) < 0 || sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	/* From outside: the supervisor is not asked, so a stopped or stuck
	 * one cannot turn this into a no-op. */
	int rc = launcher_kill_others(m->launcher, sb->id, e);
	box_audit(m, c, "process.kill_all", id, rc ? e : NULL, NULL);
	sb_unref(sb);
	return rc;
}

int box_proc_write_stdin(struct box_mgr *m, const struct box_caller *c,
			 const char *id, pid_t pid, const void *data,
			 size_t len, struct aj_err *e)
{
	struct sandbox *sb;
	struct proc *p;
	if (lookup_proc(m, c, id, pid, ROLE_USER, &sb, &p, e) < 0)
		return -1;
	int rc = 0;
	size_t off = 0;
	int64_t until = mono_ms() + STDIN_WRITE_MS;
	pthread_mutex_lock(&p->stdin_lock);
	if (p->stdin_fd < 0)
		rc = aj_err_set(e, AJ_ECONFLICT, 0, "process %d has no open stdin", (int)pid);
	while (rc == 0 && off < len) {
		ssize_t w = write(p->stdin_fd, (const char *)data + off, len - off);
		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EAGAIN && mono_ms() < until) {
			struct pollfd pf = { .fd = p->stdin_fd, .events = POLLOUT };
			poll(&pf, 1, 100);
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else {
			rc = errno == EPIPE
				     ? aj_err_set(e, AJ_ECONFLICT, EPIPE, "process %d closed its stdin", (int)pid)
				     : aj_err_set(e, AJ_ETIMEOUT, errno, "process %d does not read its stdin", (int)pid);
		}
	}
	pthread_mutex_unlock(&p->stdin_lock);
	proc_unref(p);
	sb_unref(sb);
	return rc;
}

int box_proc_close_stdin(struct box_mgr *m, const struct box_caller *c,
			 const char *id, pid_t pid, struct aj_err *e)
{
	struct sandbox *sb;
	struct proc *p;
	if (lookup_proc(m, c, id, pid, ROLE_USER, &sb, &p, e) < 0)
		return -1;
	pthread_mutex_lock(&p->stdin_lock);
	if (p->stdin_fd >= 0) {
		close(p->stdin_fd);
		p->stdin_fd = -1;
	}
	pthread_mutex_unlock(&p->stdin_lock);
	proc_unref(p);
	sb_unref(sb);
	return 0;
}

int box_proc_follow(struct box_mgr *m, const struct box_caller *c,
		    const char *id, pid_t pid, bool from_start,
		    const struct box_sink *sink, const atomic_bool *cancel,
		    struct box_exec_result *res, struct aj_err *e)
{
	struct sandbox *sb;
	struct proc *p;
	memset(res, 0, sizeof(*res));
	if (lookup_proc(m, c, id, pid, ROLE_VIEWER, &sb, &p, e) < 0)
		return -1;
	size_t sent[2] = { 0, 0 };
	if (!from_start) {
		pthread_mutex_lock(&sb->lock);
		sent[0] = p->s[0].data.len;
		sent[1] = p->s[1].data.len;
		pthread_mutex_unlock(&sb->lock);
	}
	follow(p, sink, sent, NULL, 0, cancel);
	proc_check_oom(p);
	pthread_mutex_lock(&sb->lock);
	proc_fill_result(p, res);
	if (p->state == P_RUNNING)
		res->exit_code = -1;
	pthread_mutex_unlock(&sb->lock);
	proc_unref(p);
	sb_unref(sb);
	return 0;
}

void box_proc_info_free(struct box_proc_info *p)
{
	if (!p)
		return;
	free(p->cmd);
	free(p->cwd);
	free_strv(p->argv);
	for (size_t i = 0; i < p->nenv; i++) {
		free(p->env[i].key);
		free(p->env[i].value);
	}
	free(p->env);
	free(p->out[0]);
	free(p->out[1]);
	memset(p, 0, sizeof(*p));
}

void box_proc_infos_free(struct box_proc_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		box_proc_info_free(&v[i]);
	free(v);
}
