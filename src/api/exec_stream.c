/* exec_stream.c - an exec answered as a stream of events while it runs.
 *
 * box_exec pushes (through a sink, from a worker thread of ours);
 * libmicrohttpd pulls (a content reader called on the connection's own
 * thread).  Between them a bounded queue of encoded events: when it is
 * full the sink waits, so a slow client slows the exec's reader, never
 * our memory.  While the queue is empty the reader watches the client's
 * socket: if the client is gone (or the server stops), the stream is
 * cancelled, the sink says stop and the command is killed.
 *
 * Events (one JSON object per line, or per SSE frame "event: T"):
 *   {"type":"start","pid":N}
 *   {"type":"stdout","data":"..."}  / "data_b64" when not UTF-8 text
 *   {"type":"stderr",...}
 *   {"type":"exit", ...the result object without stdout/stderr}
 *   {"type":"error","error":{"code","message"}}  (failed after start)
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "util/crypto.h"

#define QUEUE_MAX (1u << 20)  /* encoded bytes waiting for the client */
#define WATCH_MS 250          /* how often an idle reader checks the client */
#define BLOCK_SIZE (32u << 10)

struct stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* anything changed */
	struct aj_buf q;         /* encoded events not yet sent */
	char tail[2][4];         /* a UTF-8 character cut by a chunk boundary */
	size_t ntail[2];
	bool sse;
	bool started, done, cancelled;
	bool output_seen;        /* the sink got output */
	pid_t pid;
	int rc;                  /* box_exec's */
	struct aj_err err;
	struct box_exec_result res;

	int sockfd;              /* the client's, to notice it leaving */
	struct box_mgr *m;
	struct box_caller caller;
	struct exec_args args;
	pthread_t worker;
};

/* ---- encoding (lock held) ----------------------------------------------------- */

static void emit(struct stream *st, const char *type, json_t *ev)
{
	json_t *o = json_pack("{s:s}", "type", type);
	if (o && ev)
		json_object_update(o, ev);
	json_decref(ev);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return;
	if (st->sse)
		aj_buf_appendf(&st->q, "event: %s\ndata: %s\n\n", type, s);
	else
		aj_buf_appendf(&st->q, "%s\n", s);
	free(s);
}

/* Is p[0..n) the start of a UTF-8 sequence that needs more bytes? */
static bool incomplete_utf8(const unsigned char *p, size_t n)
{
	size_t need = p[0] >= 0xC2 && p[0] <= 0xDF ? 2
		    : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
		    : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
	if (need <= n)
		return false;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return false;
	return true;
}

static void emit_chunk(struct stream *st, const char *type, const char *p,
		       size_t n, bool text)
{
	if (!n)
		return;
	json_t *ev;
	if (text) {
		ev = json_pack("{s:s%}", "data", p, n);
	} else {
		char *b = malloc(aj_base64_encoded_size(n));
		ev = b ? json_pack("{s:s}", "data_b64", aj_base64_encode(p, n, b)) : NULL;
		free(b);
	}
	if (ev)
		emit(st, type, ev);
}

/* Output of stream s: text while it is UTF-8 (holding back a character
 * cut at the end of the chunk unless final), base64 otherwise. */
static void emit_output(struct stream *st, int s, const char *data, size_t len,
			bool final)
{
	const char *type = s == BOX_STDOUT ? "stdout" : "stderr";
	size_t n = st->ntail[s] + len;
	char *buf = malloc(n ? n : 1);
	if (!buf)
		return;
	memcpy(buf, st->tail[s], st->ntail[s]);
	if (len)
		memcpy(buf + st->ntail[s], data, len);
	st->ntail[s] = 0;
	size_t valid = api_utf8_valid_len(buf, n);
	if (valid == n) {
		emit_chunk(st, type, buf, n, true);
	} else if (!final && n - valid < 4 &&
		   incomplete_utf8((unsigned char *)buf + valid, n - valid)) {
		emit_chunk(st, type, buf, valid, true);
		memcpy(st->tail[s], buf + valid, n - valid);
		st->ntail[s] = n - valid;
	} else {
		emit_chunk(st, type, buf, n, false);
	}
	free(buf);
}

/* ---- the sink (worker thread) ---------------------------------------------------- */

static void kill_command(struct stream *st, pid_t pid)
{
	struct aj_err e;
	box_proc_signal(st->m, &st->caller, st->args.sandbox_id, pid, SIGKILL, &e);
}

static int on_start(void *ctx, pid_t pid)
{
	struct stream *st = ctx;
	pthread_mutex_lock(&st->lock);
	st->started = true;
	st->pid = pid;
	emit(st, "start", json_pack("{s:i}", "pid", (int)pid));
	bool kill = st->cancelled;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	if (kill)
		kill_command(st, pid);
	return 0;
}

static int on_output(void *ctx, enum box_stream s, const char *data, size_t len)
{
	struct stream *st = ctx;
	pthread_mutex_lock(&st->lock);
	while (!st->cancelled && st->q.len >= QUEUE_MAX)
		pthread_cond_wait(&st->cond, &st->lock);
	int stop = st->cancelled;
	if (!stop) {
		st->output_seen = true;
		emit_output(st, s, data, len, false);
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return stop;
}

/* The exec ended without on_start: a replayed result, or a command that
 * was over before its start was reported.  Nobody has read the queue yet
 * (the handler waits for the start or the end), so the start event can
 * still go first; output goes out from the result unless the sink had it. */
static void finish_unstarted(struct stream *st)
{
	struct aj_buf sent = st->q;
	memset(&st->q, 0, sizeof(st->q));
	if (!st->res.error && st->res.pid > 0)
		emit(st, "start", json_pack("{s:i}", "pid", (int)st->res.pid));
	if (sent.len)
		aj_buf_append(&st->q, sent.data, sent.len);
	aj_buf_free(&sent);
	if (!st->output_seen) {
		emit_output(st, BOX_STDOUT, st->res.out[0], st->res.out_len[0], true);
		emit_output(st, BOX_STDERR, st->res.out[1], st->res.out_len[1], true);
	}
}

static void *worker_main(void *arg)
{
	struct stream *st = arg;
	struct box_sink sink = { on_start, on_output, st };
	struct aj_err e = { 0 };
	int rc = box_exec(st->m, &st->caller, st->args.sandbox_id, &st->args.req,
			  &sink, &st->res, &e);
	pthread_mutex_lock(&st->lock);
	st->rc = rc;
	st->err = e;
	if (rc == 0 && !st->started)
		finish_unstarted(st);
	emit_output(st, BOX_STDOUT, NULL, 0, true); /* a held-back tail */
	emit_output(st, BOX_STDERR, NULL, 0, true);
	if (rc == 0)
		emit(st, "exit", exec_result_json(&st->res, false));
	else if (st->started)
		emit(st, "error", json_pack("{s:{s:s,s:o}}", "error", "code",
					    aj_code_name(e.code), "message",
					    api_json_str(e.msg)));
	st->done = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* ---- the reader (connection thread) ------------------------------------------------ */

static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd < 0 ||
	       (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)));
}

static void wait_a_little(struct stream *st)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += WATCH_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&st->cond, &st->lock, &ts);
}

/* Mark the stream cancelled (lock held); true if its command must be
 * killed by the caller (it started and has not finished). */
static bool cancel_locked(struct stream *st)
{
	bool kill = st->started && !st->done && !st->cancelled;
	st->cancelled = true;
	pthread_cond_broadcast(&st->cond);
	return kill;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	(void)pos;
	pthread_mutex_lock(&st->lock);
	while (st->q.len == 0 && !st->done) {
		wait_a_little(st);
		if (st->q.len == 0 && !st->done && client_gone(st->sockfd)) {
			bool kill = cancel_locked(st);
			pid_t pid = st->pid;
			pthread_mutex_unlock(&st->lock);
			if (kill)
				kill_command(st, pid);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	size_t n = st->q.len < max ? st->q.len : max;
	if (n) {
		memcpy(buf, st->q.data, n);
		aj_buf_consume(&st->q, n);
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(struct stream *st)
{
	box_exec_result_free(&st->res);
	exec_args_free(&st->args);
	aj_buf_free(&st->q);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The response is done with (sent, failed or the client left): stop the
 * command if it still runs, wait for the worker, free. */
static void stream_end(void *cls)
{
	struct stream *st = cls;
	pthread_mutex_lock(&st->lock);
	bool kill = cancel_locked(st);
	pid_t pid = st->pid;
	pthread_mutex_unlock(&st->lock);
	if (kill)
		kill_command(st, pid);
	pthread_join(st->worker, NULL);
	stream_free(st);
}

/* ---- the handler ------------------------------------------------------------------ */

static struct stream *stream_new(struct api_req *r, struct exec_args *a, bool sse)
{
	struct stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cond, &ca);
	pthread_condattr_destroy(&ca);
	st->sse = sse;
	st->m = api_mgr(r);
	st->caller = *api_caller(r);
	st->args = *a;
	memset(a, 0, sizeof(*a));
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(api_conn(r), MHD_CONNECTION_INFO_CONNECTION_FD);
	st->sockfd = ci ? ci->connect_fd : -1;
	return st;
}

enum MHD_Result exec_stream(struct api_req *r, struct exec_args *a, bool sse)
{
	struct stream *st = stream_new(r, a, sse);
	if (!st) {
		exec_args_free(a);
		return api_reply_errf(r, AJ_EINTERNAL, "out of memory");
	}
	if (pthread_create(&st->worker, NULL, worker_main, st) != 0) {
		stream_free(st);
		return api_reply_errf(r, AJ_EUNAVAIL, "cannot start a thread for the stream");
	}
	/* Wait until it started (or failed): a request that fails before
	 * anything ran gets a plain error status, not a 200 stream. */
	pthread_mutex_lock(&st->lock);
	while (!st->started && !st->done)
		pthread_cond_wait(&st->cond, &st->lock);
	bool failed = st->done && st->rc < 0;
	pthread_mutex_unlock(&st->lock);
	if (failed) {
		pthread_join(st->worker, NULL);
		enum MHD_Result rc = api_reply_err(r, &st->err);
		stream_free(st);
		return rc;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, BLOCK_SIZE, reader, st, stream_end);
	if (!resp) {
		stream_end(st);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				sse ? "text/event-stream" : "application/x-ndjson");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return api_reply(r, MHD_HTTP_OK, resp);
}
