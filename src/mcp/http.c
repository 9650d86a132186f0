/* http.c - the Streamable HTTP transport (see http.h).
 *
 * Each POST hands its message to the session core with a stream object
 * as the mcp_out: the core (from the connection thread, or later from a
 * tool-call thread) pushes messages into it; libmicrohttpd pulls them
 * through a content reader on the connection's own thread (the API server
 * runs one thread per connection, so the reader may block).  The stream
 * is reference-counted: the core drops its reference with the final
 * message, the response drops the other when libmicrohttpd is done, so
 * either side may finish first (a client that leaves does not cancel its
 * request, as the spec says; the result is dropped).
 */
#include "mcp/http.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/http.h"
#include "mcp/jsonrpc.h"
#include "mcp/mcp.h"
#include "mcp/origin.h"
#include "util/buf.h"
#include "util/crypto.h"

#define BODY_MAX (16u << 20)   /* a write_file of a few MiB in base64 fits */
#define WATCH_MS 250           /* how often a waiting reader checks the client */
#define KEEPALIVE_MS 15000     /* SSE comment after this much silence */
#define JANITOR_MS 1000        /* revocations are noticed this fast */
#define SESSION_ID_BYTES 16    /* 128 random bits, as 32 hex digits */

struct hsess {
	char id[2 * SESSION_ID_BYTES + 1];
	char key_id[KEY_ID_LEN + 1];   /* the key that created it */
	struct mcp_session *s;
	int64_t last_used_ms;
	int refs;                      /* requests inside the core right now */
};

struct mcp_http {
	struct mcp_http_config cfg;
	char listen[256];
	struct mcp_server *srv;
	struct api_mount mount;
	pthread_mutex_t lock;          /* the table and stopping */
	pthread_cond_t cond;           /* refs dropped; janitor wake-up */
	struct hsess **v;
	size_t n;
	bool stopping;
	int64_t revocations;           /* box_key_revocations at the last look */
	pthread_t janitor;
};

/* The route handlers get no pointer of their own from the router, so the
 * one transport of the process is found here.  Set by mcp_http_start,
 * cleared by mcp_http_stop. */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* ---- streams --------------------------------------------------------------------- */

struct hstream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct aj_buf q;        /* SSE frames not yet read */
	char *final;            /* the response, for a JSON answer */
	size_t final_off;       /* how much of it was read */
	bool done;              /* the core sent its final message */
	int nsent;              /* messages the core sent, final included */
	bool sse;
	int refs;
	int sockfd;             /* the client's, to notice it leaving */
	int64_t last_write_ms;
};

static struct hstream *stream_new(struct api_req *r)
{
	struct hstream *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cond, &ca);
	pthread_condattr_destroy(&ca);
	st->refs = 2; /* the core's and the response's */
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(api_conn(r), MHD_CONNECTION_INFO_CONNECTION_FD);
	st->sockfd = ci ? ci->connect_fd : -1;
	st->last_write_ms = mono_ms();
	return st;
}

static void stream_unref(void *cls)
{
	struct hstream *st = cls;
	pthread_mutex_lock(&st->lock);
	bool last = --st->refs == 0;
	pthread_mutex_unlock(&st->lock);
	if (!last)
		return;
	aj_buf_free(&st->q);
	free(st->final);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* mcp_out.send: called by the core, from any thread. */
static void stream_send(void *ctx, const char *json, bool final)
{
	struct hstream *st = ctx;
	pthread_mutex_lock(&st->lock);
	if (json) {
		aj_buf_appendf(&st->q, "event: message\ndata: %s\n\n", json);
		st->nsent++;
	}
	if (final) {
		st->final = json ? strdup(json) : NULL;
		st->done = true;
	}
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	if (final)
		stream_unref(st);
}

static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd < 0 || (poll(&p, 1, 0) > 0 &&
			  (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)));
}

/* Wait (lock held) until ready() or the client leaves; false if it left. */
static bool wait_for(struct hstream *st, bool (*ready)(struct hstream *))
{
	while (!ready(st)) {
		struct timespec ts;
		deadline_in(&ts, WATCH_MS);
		pthread_cond_timedwait(&st->cond, &st->lock, &ts);
		if (!ready(st) && client_gone(st->sockfd))
			return false;
		if (st->sse && !ready(st) &&
		    mono_ms() - st->last_write_ms >= KEEPALIVE_MS) {
			aj_buf_append(&st->q, ": keepalive\n\n", 13);
		}
	}
	return true;
}

static bool sse_ready(struct hstream *st)
{
	return st->q.len > 0 || st->done;
}

static bool json_ready(struct hstream *st)
{
	return st->done;
}

static ssize_t copy_out(const char *src, size_t len, char *buf, size_t max)
{
	size_t n = len < max ? len : max;
	memcpy(buf, src, n);
	return (ssize_t)n;
}

/* Content reader: SSE frames as they come, or the one JSON response. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct hstream *st = cls;
	ssize_t n = MHD_CONTENT_READER_END_OF_STREAM;
	(void)pos;
	pthread_mutex_lock(&st->lock);
	if (!wait_for(st, st->sse ? sse_ready : json_ready)) {
		n = MHD_CONTENT_READER_END_WITH_ERROR;
	} else if (st->sse && st->q.len) {
		n = copy_out(st->q.data, st->q.len, buf, max);
		aj_buf_consume(&st->q, (size_t)n);
		st->last_write_ms = mono_ms();
	} else if (!st->sse && st->final && st->final_off < strlen(st->final)) {
		n = copy_out(st->final + st->final_off,
			     strlen(st->final) - st->final_off, buf, max);
		st->final_off += (size_t)n;
	}
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* ---- responses -------------------------------------------------------------------- */

static enum MHD_Result reply_body(struct api_req *r, unsigned status,
				  const char *body, const char *session_id)
{
	size_t n = body ? strlen(body) : 0;
	char *copy = malloc(n + 1);
	if (!copy)
		return MHD_NO;
	memcpy(copy, body ? body : "", n + 1);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(n, copy, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(copy);
		return MHD_NO;
	}
	if (n)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	if (session_id)
		MHD_add_response_header(resp, "Mcp-Session-Id", session_id);
	return api_reply(r, status, resp);
}

/* A transport-level refusal: the HTTP status says what went wrong, the
 * body is a JSON-RPC error for clients that show it. */
static enum MHD_Result reply_rpc_error(struct api_req *r, unsigned status,
				       int code, const char *msg)
{
	json_t *m = jr_error(NULL, code, msg);
	char *s = jr_dump(m);
	json_decref(m);
	enum MHD_Result rc = reply_body(r, status, s, NULL);
	free(s);
	return rc;
}

static enum MHD_Result reply_stream(struct api_req *r, struct hstream *st,
				    bool sse)
{
	/* A call that is over already is answered with plain JSON, unless
	 * it also sent notifications (logs, progress): a client that takes
	 * SSE then gets them before the answer. */
	pthread_mutex_lock(&st->lock);
	bool done = st->done;
	bool json_only = done && (!sse || st->nsent <= 1);
	st->sse = sse && !json_only;
	pthread_mutex_unlock(&st->lock);
	if (json_only) { /* answered already: a plain JSON body */
		enum MHD_Result rc = reply_body(r, MHD_HTTP_OK, st->final, NULL);
		stream_unref(st);
		return rc;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 32 << 10, stream_read, st, stream_unref);
	if (!resp) {
		stream_unref(st);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				sse ? "text/event-stream" : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return api_reply(r, MHD_HTTP_OK, resp);
}

/* ---- the session table ------------------------------------------------------------ */

/* Find and hold a session of this caller (lock not held). */
static struct hsess *sess_get(struct mcp_http *h, const char *id,
			      const struct box_caller *c)
{
	struct hsess *found = NULL;
	size_t idlen = strlen(id);
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n && !found; i++) {
		struct hsess *x = h->v[i];
		if (idlen == strlen(x->id) && aj_ct_equal(x->id, id, idlen) &&
		    strcmp(x->key_id, c->key_id) == 0)
			found = x;
	}
	if (found) {
		found->refs++;
		found->last_used_ms = mono_ms();
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}

static void sess_put(struct mcp_http *h, struct hsess *x)
{
	pthread_mutex_lock(&h->lock);
	x->refs--;
	x->last_used_ms = mono_ms();
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Take x out of the table (lock held); the caller closes it. */
static void sess_remove_locked(struct mcp_http *h, struct hsess *x)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i] == x) {
			h->v[i] = h->v[--h->n];
			break;
		}
}

/* Close a removed session once no request is inside it (lock held on
 * entry, released on return). */
static void sess_close_unlock(struct mcp_http *h, struct hsess *x)
{
	while (x->refs > 0)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
	mcp_session_close(x->s);
	free(x);
}

static int sess_add(struct mcp_http *h, struct hsess *x)
{
	pthread_mutex_lock(&h->lock);
	struct hsess **v = NULL;
	if (h->n < (size_t)h->cfg.max_sessions)
		v = realloc(h->v, (h->n + 1) * sizeof(*v));
	if (v) {
		h->v = v;
		v[h->n++] = x;
	}
	pthread_mutex_unlock(&h->lock);
	return v ? 0 : -1;
}

/* One idle session past its time, removed from the table, or NULL. */
static struct hsess *take_expired(struct mcp_http *h, int64_t now)
{
	int64_t idle = h->cfg.idle_timeout_s * 1000;
	for (size_t i = 0; i < h->n; i++) {
		struct hsess *x = h->v[i];
		if (x->refs == 0 && now - x->last_used_ms >= idle &&
		    mcp_session_wait_idle(x->s, 0)) {
			sess_remove_locked(h, x);
			return x;
		}
	}
	return NULL;
}

/* One session whose key was revoked, removed from the table, or NULL.
 * Lock held on entry and on return, let go while the store is asked. */
static struct hsess *take_revoked(struct mcp_http *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct box_caller c = *mcp_session_caller(h->v[i]->s);
		struct hsess *x = h->v[i];
		x->refs++; /* stays in memory while unlocked */
		pthread_mutex_unlock(&h->lock);
		bool active = box_caller_active(h->cfg.mgr, &c);
		pthread_mutex_lock(&h->lock);
		x->refs--;
		pthread_cond_broadcast(&h->cond);
		if (active)
			continue;
		for (size_t k = 0; k < h->n; k++)
			if (h->v[k] == x) {
				sess_remove_locked(h, x);
				return x;
			}
		/* closed by someone else meanwhile; the table changed: rescan */
		i = (size_t)-1;
	}
	return NULL;
}

/* Sessions of a key revoked since the last look end at once: their calls
 * are cancelled (commands killed); their sandboxes run on to expiry.  The
 * per-request check (every request authenticates) already refuses the
 * key; this ends what it had in flight.  Lock held. */
static void close_revoked(struct mcp_http *h)
{
	int64_t n = box_key_revocations(h->cfg.mgr);
	if (n < 0 || n == h->revocations)
		return;
	struct hsess *x;
	while ((x = take_revoked(h))) {
		fprintf(stderr, "agentjail: MCP session %.8s... ended: its key %s "
			"was revoked\n", x->id, x->key_id);
		while (x->refs > 0)
			pthread_cond_wait(&h->cond, &h->lock);
		pthread_mutex_unlock(&h->lock);
		mcp_session_close_revoked(x->s);
		free(x);
		pthread_mutex_lock(&h->lock);
	}
	h->revocations = n;
}

static void *janitor_main(void *arg)
{
	struct mcp_http *h = arg;
	pthread_mutex_lock(&h->lock);
	while (!h->stopping) {
		close_revoked(h);
		struct hsess *x = take_expired(h, mono_ms());
		if (x) {
			fprintf(stderr, "agentjail: MCP session %.8s... expired\n", x->id);
			sess_close_unlock(h, x);
			pthread_mutex_lock(&h->lock);
			continue;
		}
		struct timespec ts;
		deadline_in(&ts, JANITOR_MS);
		pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- request checks ------------------------------------------------------------------ */

/* DNS rebinding: 403 for a foreign Origin, or a foreign Host on a server
 * that listens on loopback.  0 if the request may go on. */
static int check_origin(struct api_req *r, struct mcp_http *h,
			enum MHD_Result *rc)
{
	const char *origin = api_header(r, "Origin");
	const char *host = api_header(r, "Host");
	const char *why = NULL;
	if (origin && !mcp_origin_allowed(origin, h->listen))
		why = "Origin not allowed";
	else if (mcp_host_is_loopback(h->listen) && host &&
		 !mcp_host_allowed(host, h->listen))
		why = "Host not allowed";
	if (!why)
		return 0;
	*rc = reply_rpc_error(r, MHD_HTTP_FORBIDDEN, JR_SERVER_BUSY, why);
	return -1;
}

static bool accepts(const char *accept, const char *type)
{
	return accept && strcasestr(accept, type) != NULL;
}

static int check_post_headers(struct api_req *r, enum MHD_Result *rc)
{
	const char *accept = api_header(r, "Accept");
	const char *ctype = api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *ver = api_header(r, "MCP-Protocol-Version");
	if (accept && !accepts(accept, "application/json") &&
	    !accepts(accept, "text/event-stream") && !accepts(accept, "*/*"))
		*rc = reply_rpc_error(r, MHD_HTTP_NOT_ACCEPTABLE, JR_SERVER_BUSY,
				      "Not Acceptable: accept application/json "
				      "and text/event-stream");
	else if (!ctype || strncasecmp(ctype, "application/json", 16) != 0)
		*rc = reply_rpc_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
				      JR_SERVER_BUSY,
				      "Content-Type must be application/json");
	else if (ver && !mcp_version_supported(ver))
		*rc = reply_rpc_error(r, MHD_HTTP_BAD_REQUEST, JR_SERVER_BUSY,
				      "Bad Request: unsupported MCP-Protocol-Version");
	else
		return 0;
	return -1;
}

/* The session named by Mcp-Session-Id: 400 without one, 404 if unknown
 * (or another key's). */
static struct hsess *session_of(struct api_req *r, struct mcp_http *h,
				enum MHD_Result *rc)
{
	const char *id = api_header(r, "Mcp-Session-Id");
	if (!id) {
		*rc = reply_rpc_error(r, MHD_HTTP_BAD_REQUEST, JR_SERVER_BUSY,
				      "Bad Request: Mcp-Session-Id header is required");
		return NULL;
	}
	struct hsess *x = sess_get(h, id, api_caller(r));
	if (!x)
		*rc = reply_rpc_error(r, MHD_HTTP_NOT_FOUND, JR_SERVER_BUSY,
				      "Session not found (expired or ended): "
				      "initialize a new one");
	return x;
}

/* ---- POST ---------------------------------------------------------------------------- */

static void body_free(void *p)
{
	aj_buf_free(p);
	free(p);
}

static int post_begin(struct api_req *r, struct aj_err *e)
{
	struct aj_buf *b = calloc(1, sizeof(*b));
	if (!b)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	api_set_ctx(r, b, body_free);
	return 0;
}

static int post_chunk(struct api_req *r, const char *data, size_t len,
		      struct aj_err *e)
{
	struct aj_buf *b = api_ctx(r);
	if (b->len + len > BODY_MAX)
		return aj_err_set(e, AJ_ETOOBIG, 0, "MCP message over %u bytes",
				  BODY_MAX);
	if (aj_buf_append(b, data, len) < 0)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	return 0;
}

/* initialize: a new session, whose id goes back in Mcp-Session-Id if the
 * handshake succeeded. */
static enum MHD_Result post_initialize(struct api_req *r, struct mcp_http *h,
				       json_t *msg)
{
	struct hsess *x = calloc(1, sizeof(*x));
	struct hstream *st = stream_new(r);
	if (!x || !st) {
		free(x);
		free(st);
		return reply_rpc_error(r, 500, JR_INTERNAL_ERROR, "out of memory");
	}
	const struct box_caller *c = api_caller(r);
	x->s = mcp_session_new(h->srv, c, NULL);
	aj_random_hex(x->id, SESSION_ID_BYTES);
	memcpy(x->key_id, c->key_id, sizeof(x->key_id));
	x->last_used_ms = mono_ms();
	struct mcp_out out = { stream_send, st };
	mcp_session_handle(x->s, msg, &out); /* answers at once */
	bool ok = mcp_session_version(x->s)[0] != '\0';
	if (ok && sess_add(h, x) < 0) {
		stream_unref(st);
		mcp_session_close(x->s);
		free(x);
		return reply_rpc_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
				       JR_SERVER_BUSY, "too many MCP sessions");
	}
	enum MHD_Result rc = reply_body(r, MHD_HTTP_OK, st->final,
					ok ? x->id : NULL);
	stream_unref(st);
	if (!ok) {
		mcp_session_close(x->s);
		free(x);
	}
	return rc;
}

/* Any other message: into its session; 202 if no reply is owed. */
static enum MHD_Result post_message(struct api_req *r, struct mcp_http *h,
				    json_t *msg)
{
	enum MHD_Result rc = MHD_NO;
	struct hsess *x = session_of(r, h, &rc);
	if (!x)
		return rc;
	struct hstream *st = stream_new(r);
	if (!st) {
		sess_put(h, x);
		return reply_rpc_error(r, 500, JR_INTERNAL_ERROR, "out of memory");
	}
	struct mcp_out out = { stream_send, st };
	int owed = mcp_session_handle(x->s, msg, &out);
	sess_put(h, x);
	if (!owed) {
		stream_unref(st); /* the core's reference: it will not send */
		stream_unref(st); /* NOLINT(clang-analyzer-unix.Malloc): refs was 2 */
		return reply_body(r, MHD_HTTP_ACCEPTED, NULL, NULL);
	}
	return reply_stream(r, st, accepts(api_header(r, "Accept"),
					   "text/event-stream"));
}

static enum MHD_Result post_run(struct api_req *r)
{
	struct mcp_http *h = api_mount_data(r);
	struct aj_buf *b = api_ctx(r);
	enum MHD_Result rc = MHD_NO;
	if (check_origin(r, h, &rc) < 0 || check_post_headers(r, &rc) < 0)
		return rc;
	json_t *root;
	struct jr_msg m;
	jr_parse(b->data ? b->data : "", b->len, &root, &m);
	if (!root)
		return reply_rpc_error(r, MHD_HTTP_BAD_REQUEST, m.err_code, m.err_msg);
	if (m.kind == JR_REQUEST && strcmp(m.method, "initialize") == 0)
		rc = post_initialize(r, h, root);
	else
		rc = post_message(r, h, root);
	json_decref(root);
	return rc;
}

/* ---- GET and DELETE --------------------------------------------------------------------- */

static enum MHD_Result get_run(struct api_req *r)
{
	enum MHD_Result rc = MHD_NO;
	if (check_origin(r, api_mount_data(r), &rc) < 0)
		return rc;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST, DELETE");
	return api_reply(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

static enum MHD_Result delete_run(struct api_req *r)
{
	struct mcp_http *h = api_mount_data(r);
	enum MHD_Result rc = MHD_NO;
	if (check_origin(r, h, &rc) < 0)
		return rc;
	struct hsess *x = session_of(r, h, &rc);
	if (!x)
		return rc;
	pthread_mutex_lock(&h->lock);
	x->refs--;                  /* sess_get's hold */
	sess_remove_locked(h, x);   /* later lookups miss it */
	sess_close_unlock(h, x);
	return reply_body(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
}

static const struct api_route routes[] = {
	{ "POST", "/mcp", post_run, API_RAW_BODY, post_begin, post_chunk },
	{ "GET", "/mcp", get_run, 0, NULL, NULL },
	{ "DELETE", "/mcp", delete_run, 0, NULL, NULL },
};

/* ---- start / stop ------------------------------------------------------------------------ */

int mcp_http_start(const struct mcp_http_config *cfg, struct mcp_http **out,
		   struct aj_err *e)
{
	struct mcp_http *h = calloc(1, sizeof(*h));
	if (!h)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	h->cfg = *cfg;
	if (h->cfg.idle_timeout_s <= 0)
		h->cfg.idle_timeout_s = 1800;
	if (h->cfg.max_sessions <= 0)
		h->cfg.max_sessions = 256;
	snprintf(h->listen, sizeof(h->listen), "%s", cfg->listen_host ? cfg->listen_host : "");
	h->mount.routes = routes;
	h->mount.nroutes = sizeof(routes) / sizeof(routes[0]);
	h->mount.data = h;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	struct mcp_server_config sc;
	mcp_server_config_defaults(&sc);
	sc.mgr = cfg->mgr;
	if (mcp_server_new(&sc, &h->srv, e) < 0 ||
	    pthread_create(&h->janitor, NULL, janitor_main, h) != 0) {
		if (h->srv)
			aj_err_set(e, AJ_EINTERNAL, errno, "cannot start a thread");
		mcp_server_free(h->srv);
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

const struct api_mount *mcp_http_mount(struct mcp_http *h)
{
	return &h->mount;
}

void mcp_http_stop(struct mcp_http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->janitor, NULL);
	pthread_mutex_lock(&h->lock);
	while (h->n > 0) {
		struct hsess *x = h->v[0];
		sess_remove_locked(h, x);
		sess_close_unlock(h, x);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	mcp_server_free(h->srv);
	free(h->v);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
