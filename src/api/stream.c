/* stream.c - see stream.h. */
#include "api/stream.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

#define QUEUE_MAX (1u << 20)  /* bytes waiting for the client */
#define WATCH_MS 250          /* how often an idle puller checks the client */
#define BLOCK_SIZE (32u << 10)

struct api_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* anything changed */
	struct aj_buf q;      /* bytes not yet sent */
	bool begun, failed, done, cancel_called;
	atomic_bool cancelled;
	bool written;         /* bytes were queued: keepalives may follow */
	struct timespec last; /* bytes last handed to the client */
	struct aj_err err;
	int sockfd;           /* the client's, to notice it leaving */
	struct api_stream_spec spec;
	pthread_t worker;
};

static void stream_free(struct api_stream *s)
{
	if (s->spec.free_arg)
		s->spec.free_arg(s->spec.arg);
	aj_buf_free(&s->q);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Mark cancelled (lock held); true if the hook is now the caller's to
 * run (once). */
static bool cancel_locked(struct api_stream *s)
{
	atomic_store(&s->cancelled, true);
	pthread_cond_broadcast(&s->cond);
	if (s->cancel_called || s->done)
		return false;
	s->cancel_called = true;
	return s->spec.on_cancel != NULL;
}

void api_stream_cancel(struct api_stream *s)
{
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->cancelled, true);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

bool api_stream_cancelled(struct api_stream *s)
{
	return atomic_load(&s->cancelled);
}

const atomic_bool *api_stream_cancel_flag(struct api_stream *s)
{
	return &s->cancelled;
}

void api_stream_begin(struct api_stream *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->failed)
		s->begun = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void api_stream_fail(struct api_stream *s, const struct aj_err *e)
{
	pthread_mutex_lock(&s->lock);
	if (!s->begun) {
		s->failed = true;
		s->err = *e;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int api_stream_write(struct api_stream *s, const void *data, size_t len)
{
	pthread_mutex_lock(&s->lock);
	s->begun = !s->failed;
	while (!atomic_load(&s->cancelled) && s->q.len >= QUEUE_MAX)
		pthread_cond_wait(&s->cond, &s->lock);
	int rc = atomic_load(&s->cancelled) || s->failed ? -1 : 0;
	if (rc == 0 && len && aj_buf_append(&s->q, data, len) < 0)
		rc = -1;
	if (rc == 0 && len)
		s->written = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int api_stream_write_buf(struct api_stream *s, struct aj_buf *b)
{
	int rc = api_stream_write(s, b->data, b->len);
	aj_buf_consume(b, b->len);
	return rc;
}

static void *worker_main(void *arg)
{
	struct api_stream *s = arg;
	s->spec.produce(s, s->spec.arg);
	pthread_mutex_lock(&s->lock);
	if (!s->begun && !s->failed) {
		s->failed = true;
		aj_err_set(&s->err, AJ_EINTERNAL, 0, "the stream produced nothing");
	}
	s->done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd < 0 ||
	       (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)));
}

static void wait_a_little(struct api_stream *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += WATCH_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

static int64_t ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Idle long enough after the first bytes: queue a keepalive (lock held). */
static void maybe_keepalive(struct api_stream *s)
{
	if (s->spec.keepalive_ms > 0 && s->written &&
	    ms_since(&s->last) >= s->spec.keepalive_ms)
		aj_buf_append(&s->q, s->spec.keepalive, s->spec.keepalive_len);
}

static ssize_t puller(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_stream *s = cls;
	(void)pos;
	pthread_mutex_lock(&s->lock);
	while (s->q.len == 0 && !s->done) {
		wait_a_little(s);
		if (s->q.len == 0 && !s->done && client_gone(s->sockfd)) {
			bool hook = cancel_locked(s);
			pthread_mutex_unlock(&s->lock);
			if (hook)
				s->spec.on_cancel(s->spec.arg);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (s->q.len == 0)
			maybe_keepalive(s);
	}
	size_t n = s->q.len < max ? s->q.len : max;
	if (n) {
		memcpy(buf, s->q.data, n);
		aj_buf_consume(&s->q, n);
		clock_gettime(CLOCK_MONOTONIC, &s->last);
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

/* The response is done with (sent, failed or the client left): cancel
 * what still runs, wait for the worker, free. */
static void stream_end(void *cls)
{
	struct api_stream *s = cls;
	pthread_mutex_lock(&s->lock);
	bool hook = cancel_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (hook)
		s->spec.on_cancel(s->spec.arg);
	pthread_join(s->worker, NULL);
	stream_free(s);
}

enum MHD_Result api_stream_run(struct api_req *r, const struct api_stream_spec *spec)
{
	struct api_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		if (spec->free_arg)
			spec->free_arg(spec->arg);
		return api_reply_errf(r, AJ_EINTERNAL, "out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->spec = *spec;
	atomic_init(&s->cancelled, false);
	s->begun = spec->begin_now;
	clock_gettime(CLOCK_MONOTONIC, &s->last);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(api_conn(r), MHD_CONNECTION_INFO_CONNECTION_FD);
	s->sockfd = ci ? ci->connect_fd : -1;
	if (pthread_create(&s->worker, NULL, worker_main, s) != 0) {
		stream_free(s);
		return api_reply_errf(r, AJ_EUNAVAIL, "cannot start a thread for the stream");
	}
	pthread_mutex_lock(&s->lock);
	while (!s->begun && !s->failed)
		pthread_cond_wait(&s->cond, &s->lock);
	bool failed = s->failed;
	pthread_mutex_unlock(&s->lock);
	if (failed) {
		pthread_join(s->worker, NULL);
		enum MHD_Result rc = api_reply_err(r, &s->err);
		stream_free(s);
		return rc;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, BLOCK_SIZE, puller, s, stream_end);
	if (!resp) {
		stream_end(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, spec->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	for (const char *const *h = spec->headers; h && h[0] && h[1]; h += 2)
		MHD_add_response_header(resp, h[0], h[1]);
	return api_reply(r, spec->status ? spec->status : MHD_HTTP_OK, resp);
}

enum api_events_format api_events_wanted(struct api_req *r)
{
	const char *acc = api_header(r, MHD_HTTP_HEADER_ACCEPT);
	if (!acc)
		return API_EVENTS_NONE;
	if (strstr(acc, "application/x-ndjson"))
		return API_EVENTS_NDJSON;
	return strstr(acc, "text/event-stream") ? API_EVENTS_SSE : API_EVENTS_NONE;
}

enum MHD_Result api_events_run(struct api_req *r, enum api_events_format kind,
			       void (*produce)(struct api_stream *s, void *arg),
			       void (*on_cancel)(void *arg),
			       void (*free_arg)(void *arg), void *arg)
{
	struct api_stream_spec spec = {
		.content_type = kind == API_EVENTS_SSE ? "text/event-stream"
						       : "application/x-ndjson",
		.produce = produce,
		.on_cancel = on_cancel,
		.free_arg = free_arg,
		.arg = arg,
	};
	return api_stream_run(r, &spec);
}
