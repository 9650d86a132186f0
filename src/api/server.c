/* server.c - the libmicrohttpd daemon: one thread per connection (at most
 * max_connections of them, shared out by the guard: guard.h), idle
 * clients dropped after idle_timeout_s, poll() rather than select() so
 * descriptor numbers past 1024 (sandboxes hold many) are fine.  Each
 * request is an api_req created when its request line arrives and freed
 * when it completes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/internal.h"

#define DEFAULT_MAX_CONNECTIONS 512
#define DEFAULT_MAX_PER_ADDRESS 128
#define DEFAULT_HEADER_TIMEOUT_S 10
#define DEFAULT_MIN_BODY_RATE 1024
#define DEFAULT_IDLE_TIMEOUT_S 120
/* Connections the guard has ended but whose threads have not yet closed
 * them still count for libmicrohttpd: its own limit is this much higher
 * than ours, so that they never keep a new client out. */
#define ENDING_SLACK(max) (16 + (max) / 8)
/* Per connection: headers, and the buffer a request body is read into.
 * libmicrohttpd's 32 KiB default meant a recv (and a TCP window update)
 * per 16-32 KiB of an upload: 100 MB went in at ~0.6 GB/s, ~0.9 GB/s with
 * 256 KiB.  Pages a connection never fills are never touched. */
#define CONNECTION_MEMORY (256u << 10)

/* Called with the request target as sent (before any decoding): the
 * request object starts here. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct api_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->srv = cls;
	r->conn = conn;
	r->gc = guard_of(conn);
	r->uri = strdup(uri);
	if (!r->uri) {
		free(r);
		return NULL;
	}
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	(void)cls;
	(void)conn;
	(void)url;
	(void)version;
	struct api_req *r = *con_cls;
	if (!r)
		return MHD_NO; /* out of memory at on_uri */
	enum MHD_Result rc;
	if (!r->begun) {
		r->begun = true;
		r->method = method;
		if (!guard_head_in(r->gc))
			return MHD_NO; /* ended at its deadline */
		rc = router_begin(r);
		if (r->answered)
			guard_body_in(r->gc);
		else
			guard_chunk_end(r->gc);
		return rc;
	}
	if (*size) {
		size_t n = *size;
		*size = 0;
		guard_chunk_begin(r->gc, n);
		rc = router_body(r, data, n);
		guard_chunk_end(r->gc);
		return rc;
	}
	if (!guard_body_in(r->gc))
		return MHD_NO; /* ended meanwhile: nobody to answer */
	return router_finish(r);
}

static void log_request(const struct api_req *r,
			enum MHD_RequestTerminationCode how)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - r->t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e6;
	int plen = (int)strcspn(r->uri, "?");
	if (r->answered)
		fprintf(stderr, "%s %.*s %u %.1fms%s\n", r->method ? r->method : "-",
			plen, r->uri, r->status, ms,
			how == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (cut)");
	else
		fprintf(stderr, "%s %.*s - %.1fms (client gone)\n",
			r->method ? r->method : "-", plen, r->uri, ms);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode how)
{
	struct api_server *s = cls;
	struct api_req *r = *con_cls;
	guard_request_end(r ? r->gc : guard_of(conn));
	if (!r)
		return;
	if (s->cfg.log_requests)
		log_request(r, how);
	req_free(r);
	*con_cls = NULL;
}

/* ---- listening address -------------------------------------------------------- */

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
	return false;
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
		   struct aj_err *e)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", (unsigned)port);
	int rc = getaddrinfo(host && *host ? host : NULL, ps, &hints, &res);
	if (rc != 0)
		return aj_err_set(e, AJ_EINVAL, 0, "cannot resolve '%s': %s",
				  host, gai_strerror(rc));
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* ---- commands in flight ---------------------------------------------------------- */

int running_begin(struct api_server *s, struct api_running *x,
		  const struct box_caller *c, const char *sandbox_id,
		  struct aj_err *e)
{
	*x = (struct api_running){ .srv = s, .caller = c, .sandbox_id = sandbox_id };
	pthread_mutex_lock(&s->lock);
	bool stopping = s->stopping;
	if (!stopping) {
		x->next = s->running;
		s->running = x;
	}
	pthread_mutex_unlock(&s->lock);
	return stopping ? aj_err_set(e, AJ_EUNAVAIL, 0, "the server is stopping") : 0;
}

static void kill_running(struct api_server *s, const struct box_caller *c,
			 const char *id, pid_t pid)
{
	struct aj_err e;
	box_proc_signal(s->mgr, c, id, pid, SIGKILL, &e);
}

void running_started(struct api_running *x, pid_t pid)
{
	pthread_mutex_lock(&x->srv->lock);
	x->pid = pid;
	bool kill = x->srv->stopping;
	pthread_mutex_unlock(&x->srv->lock);
	if (kill)
		kill_running(x->srv, x->caller, x->sandbox_id, pid);
}

void running_end(struct api_running *x)
{
	pthread_mutex_lock(&x->srv->lock);
	for (struct api_running **p = &x->srv->running; *p; p = &(*p)->next) {
		if (*p == x) {
			*p = x->next;
			break;
		}
	}
	pthread_mutex_unlock(&x->srv->lock);
}

/* Kill every command a request waits for.  Called with s->stopping set:
 * none can be added, and one that starts later kills itself.  Killing
 * under the lock keeps each entry alive while it is used (running_end
 * waits for the lock); box_proc_signal only sends a message. */
static void kill_all_running(struct api_server *s)
{
	pthread_mutex_lock(&s->lock);
	for (struct api_running *x = s->running; x; x = x->next)
		if (x->pid > 0)
			kill_running(s, x->caller, x->sandbox_id, x->pid);
	pthread_mutex_unlock(&s->lock);
}

/* ---- start / stop ------------------------------------------------------------ */

/* The guard's limits: cfg's, with defaults for what it leaves at 0. */
static void guard_config_of(const struct api_config *cfg, struct guard_config *g)
{
	memset(g, 0, sizeof(*g));
	g->max_conns = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;
	g->max_unauth = cfg->max_unauth ? cfg->max_unauth : g->max_conns - g->max_conns / 4;
	g->max_per_addr = cfg->max_per_address ? cfg->max_per_address : DEFAULT_MAX_PER_ADDRESS;
	if (!cfg->max_per_address && g->max_per_addr > g->max_unauth)
		g->max_per_addr = g->max_unauth;
	g->header_timeout_s = cfg->header_timeout_s ? cfg->header_timeout_s
						    : DEFAULT_HEADER_TIMEOUT_S;
	g->idle_timeout_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : DEFAULT_IDLE_TIMEOUT_S;
	if (cfg->min_body_rate > 0)
		g->min_body_rate = (unsigned)cfg->min_body_rate;
	else if (cfg->min_body_rate == 0)
		g->min_body_rate = DEFAULT_MIN_BODY_RATE;
}

static int check(const struct api_config *cfg, struct sockaddr_storage *ss,
		 struct aj_err *e)
{
	if (resolve(cfg->host, cfg->port, ss, e) < 0)
		return -1;
	if (cfg->no_auth && !is_loopback(ss))
		return aj_err_set(e, AJ_EINVAL, 0,
				  "--no-auth is only allowed on a loopback address, not '%s'",
				  cfg->host);
	struct guard_config g;
	guard_config_of(cfg, &g);
	if (g.max_unauth > g.max_conns)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "unauthenticated connections (%u) over the connection limit (%u)",
				  g.max_unauth, g.max_conns);
	if (g.max_per_addr > g.max_unauth)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "unauthenticated connections per address (%u) over those "
				  "of all addresses (%u)", g.max_per_addr, g.max_unauth);
	return 0;
}

int api_check_config(const struct api_config *cfg, struct aj_err *e)
{
	struct sockaddr_storage ss;
	return check(cfg, &ss, e);
}

int api_start(struct box_mgr *m, const struct api_config *cfg,
	      struct api_server **out, struct aj_err *e)
{
	struct sockaddr_storage ss;
	if (check(cfg, &ss, e) < 0 || api_mhd_load(e) < 0)
		return -1;
	struct api_server *s = calloc(1, sizeof(*s));
	if (!s)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	s->cfg = *cfg;
	s->mgr = m;
	struct guard_config gc;
	guard_config_of(cfg, &gc);
	s->cfg.max_connections = gc.max_conns;
	s->cfg.idle_timeout_s = gc.idle_timeout_s;
	if (guard_start(&gc, &s->guard, e) < 0) {
		free(s);
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
	/* A client that vanishes mid-response, or a command that closes its
	 * stdin while we write to it, must give EPIPE, never kill us. */
	signal(SIGPIPE, SIG_IGN);
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->daemon = MHD_start_daemon(
		flags, cfg->port, guard_accept, s->guard, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT,
		s->cfg.max_connections + ENDING_SLACK(s->cfg.max_connections),
		MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.idle_timeout_s,
		MHD_OPTION_NOTIFY_CONNECTION, guard_notify, s->guard,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_END);
	if (!s->daemon) {
		int err = errno;
		guard_stop(s->guard);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return aj_err_set(e, AJ_EUNAVAIL, err, "cannot listen on %s:%u: %s",
				  cfg->host, (unsigned)cfg->port, strerror(err));
	}
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : cfg->port;
	*out = s;
	return 0;
}

uint16_t api_port(const struct api_server *s)
{
	return s->port;
}

void api_stop(struct api_server *s)
{
	if (!s)
		return;
	/* No new connections; requests on open ones get 503 from now on.
	 * The listening socket becomes ours, to close after the stop. */
	MHD_socket ls = MHD_quiesce_daemon(s->daemon);
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	kill_all_running(s);
	/* Returns once every connection thread has ended; a streaming
	 * response notices its socket shut down and ends too. */
	MHD_stop_daemon(s->daemon);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	guard_stop(s->guard);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
