/* stream.c - a response body written by a worker thread while the
 * connection's thread sends it: Connect server streams (process output)
 * and the interpreter's NDJSON.
 *
 * The worker pushes; libmicrohttpd pulls (a content reader on the
 * connection's thread).  Between them a bounded queue: when it is full the
 * worker waits, so a slow client slows the producer, never our memory.
 * While the queue is empty the reader watches the client's socket: when
 * the client is gone (or the server stops) the stream is cancelled; the
 * worker sees it in e2b_stream_write's result and in the cancel flag it
 * hands to the manager, and wraps up.  What that means for the work
 * (a process runs on, a cell is interrupted) is the worker's business.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2b/internal.h"

#define QUEUE_MAX (1u << 20) /* bytes waiting for the client */
#define WATCH_MS 250         /* how often an idle reader checks the client */
#define BLOCK_SIZE (32u << 10)

struct e2b_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* anything changed */
	struct aj_buf q;
	bool done;             /* the worker returned */
	bool written;          /* something was queued (keepalives may follow) */
	atomic_bool cancelled;
	struct timespec last;  /* last time bytes were handed to the client */
	struct e2b_stream_cfg cfg;
	int sockfd;
	e2b_work_fn fn;
	void *arg;
	void (*arg_free)(void *);
	pthread_t worker;
};

/* ---- the worker's side --------------------------------------------------------- */

int e2b_stream_write(struct e2b_stream *st, const void *p, size_t n)
{
	pthread_mutex_lock(&st->lock);
	while (!atomic_load(&st->cancelled) && st->q.len >= QUEUE_MAX)
		pthread_cond_wait(&st->cond, &st->lock);
	int gone = atomic_load(&st->cancelled);
	if (!gone && n) {
		gone = aj_buf_append(&st->q, p, n) < 0;
		st->written = true;
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return gone;
}

int e2b_stream_write_buf(struct e2b_stream *st, struct aj_buf *b)
{
	int rc = e2b_stream_write(st, b->data, b->len);
	aj_buf_consume(b, b->len);
	return rc;
}

const atomic_bool *e2b_stream_cancel(struct e2b_stream *st)
{
	return &st->cancelled;
}

static void *worker_main(void *arg)
{
	struct e2b_stream *st = arg;
	st->fn(st, st->arg);
	pthread_mutex_lock(&st->lock);
	st->done = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* ---- the reader (connection thread) -------------------------------------------- */

static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd < 0 ||
	       (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)));
}

static int64_t ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void wait_a_little(struct e2b_stream *st)
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

static void cancel_locked(struct e2b_stream *st)
{
	atomic_store(&st->cancelled, true);
	pthread_cond_broadcast(&st->cond);
}

/* Idle long enough after the first message: queue a keepalive. */
static void maybe_keepalive(struct e2b_stream *st)
{
	if (st->cfg.keepalive_ms > 0 && st->written &&
	    ms_since(&st->last) >= st->cfg.keepalive_ms)
		aj_buf_append(&st->q, st->cfg.keepalive, st->cfg.keepalive_len);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct e2b_stream *st = cls;
	(void)pos;
	pthread_mutex_lock(&st->lock);
	while (st->q.len == 0 && !st->done) {
		wait_a_little(st);
		if (st->q.len == 0 && !st->done && client_gone(st->sockfd)) {
			cancel_locked(st);
			pthread_mutex_unlock(&st->lock);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (st->q.len == 0)
			maybe_keepalive(st);
	}
	size_t n = st->q.len < max ? st->q.len : max;
	if (n) {
		memcpy(buf, st->q.data, n);
		aj_buf_consume(&st->q, n);
		clock_gettime(CLOCK_MONOTONIC, &st->last);
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(struct e2b_stream *st)
{
	if (st->arg_free)
		st->arg_free(st->arg);
	aj_buf_free(&st->q);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The response is done with (sent, failed, or the client left): cancel,
 * wait for the worker (the manager polls the cancel flag at least once a
 * second, so this is short), free. */
static void stream_end(void *cls)
{
	struct e2b_stream *st = cls;
	pthread_mutex_lock(&st->lock);
	cancel_locked(st);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->worker, NULL);
	stream_free(st);
}

/* ---- starting ---------------------------------------------------------------------- */

static struct e2b_stream *stream_new(struct api_req *r, const struct e2b_stream_cfg *cfg)
{
	struct e2b_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&st->cancelled, false);
	clock_gettime(CLOCK_MONOTONIC, &st->last);
	st->cfg = *cfg;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(api_conn(r), MHD_CONNECTION_INFO_CONNECTION_FD);
	st->sockfd = ci ? ci->connect_fd : -1;
	return st;
}

enum MHD_Result e2b_stream_start(struct api_req *r,
				 const struct e2b_stream_cfg *cfg,
				 e2b_work_fn fn, void *arg,
				 void (*arg_free)(void *))
{
	struct e2b_stream *st = stream_new(r, cfg);
	if (!st) {
		if (arg_free)
			arg_free(arg);
		return MHD_NO;
	}
	st->fn = fn;
	st->arg = arg;
	st->arg_free = arg_free;
	if (pthread_create(&st->worker, NULL, worker_main, st) != 0) {
		stream_free(st);
		return MHD_NO;
	}
	/* From here stream_end (the response's free callback) owns st. */
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, BLOCK_SIZE, reader, st, stream_end);
	if (!resp) {
		stream_end(st);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, cfg->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return api_reply(r, MHD_HTTP_OK, resp);
}
