/* stream.h - answering a request with a body produced while it runs (a
 * command's output, a cell's events, Connect server streams).
 *
 * The producer runs in a worker thread of ours and pushes bytes;
 * libmicrohttpd pulls them on the connection's thread.  Between them a
 * bounded queue: when it is full the producer waits, so a slow client
 * slows the producer, never grows our memory.  While the queue is empty
 * the puller watches the client's socket: when the client leaves (or the
 * stream is otherwise cut), the stream is cancelled, api_stream_write
 * returns -1 from then on, and the on_cancel hook runs once (to kill the
 * command that may be blocked without output).
 *
 * Until the producer calls api_stream_begin, nothing has been answered:
 * it may still fail with api_stream_fail, which answers a plain error
 * status instead of a 200 stream.
 */
#ifndef AJ_API_STREAM_H
#define AJ_API_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "util/buf.h"

struct api_stream;

struct api_stream_spec {
	const char *content_type;
	/* Runs in the worker thread; must end with the stream begun or
	 * failed (if it does neither, an internal error is answered). */
	void (*produce)(struct api_stream *s, void *arg);
	/* The client went away: called once, from whatever thread noticed. */
	void (*on_cancel)(void *arg);
	void (*free_arg)(void *arg);
	void *arg;
	unsigned status; /* of the stream response; 0 = 200 */
	/* extra response headers, NULL-terminated name/value pairs */
	const char *const *headers;
	/* Answer 200 at once instead of waiting for api_stream_begin (the
	 * producer can then never fail with a plain status). */
	bool begin_now;
	/* Idle this long after the first bytes: queue these (0 ms: never). */
	int64_t keepalive_ms;
	const char *keepalive;
	size_t keepalive_len;
};

/* Starts the worker and waits until it begins or fails.  Takes over
 * spec->arg whatever happens (free_arg is called at the end). */
enum MHD_Result api_stream_run(struct api_req *r, const struct api_stream_spec *spec);

/* What a request's Accept header asks of a command or a cell: events as
 * ndjson, as SSE, or neither (one JSON answer at the end). */
enum api_events_format { API_EVENTS_NONE, API_EVENTS_NDJSON, API_EVENTS_SSE };
enum api_events_format api_events_wanted(struct api_req *r);

/* api_stream_run for such an event stream, with its content type. */
enum MHD_Result api_events_run(struct api_req *r, enum api_events_format kind,
			       void (*produce)(struct api_stream *s, void *arg),
			       void (*on_cancel)(void *arg),
			       void (*free_arg)(void *arg), void *arg);

/* Commit to the stream response (idempotent). */
void api_stream_begin(struct api_stream *s);
/* Before begin: answer e instead of a stream. */
void api_stream_fail(struct api_stream *s, const struct aj_err *e);
/* Queue bytes (implicitly begins).  0, or -1 once cancelled. */
int api_stream_write(struct api_stream *s, const void *data, size_t len);
/* The same for a buffer, which is emptied. */
int api_stream_write_buf(struct api_stream *s, struct aj_buf *b);
bool api_stream_cancelled(struct api_stream *s);
/* The flag itself, for the manager calls that poll one (box_proc_follow). */
const atomic_bool *api_stream_cancel_flag(struct api_stream *s);
/* Cancel from the producer's side (it decided to stop). */
void api_stream_cancel(struct api_stream *s);

#endif
