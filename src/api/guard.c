/* guard.c - see guard.h.
 *
 * A connection's life, as the guard sees it:
 *   WAIT  accepted, or its previous request ended: its next request head
 *         must be complete by since + header_timeout_s (idle_timeout_s
 *         once it has authenticated).
 *   BODY  head in, body coming: judged by the rate of the bytes that
 *         arrive while the server waits for them (busy: a handler is
 *         working on a chunk, the clock stops).
 *   WORK  body in: the request is being answered; never ended by us.
 * Unauthenticated connections in WAIT or BODY are the ones the places
 * for unauthenticated clients count. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api/guard.h"

#define TICK_MS 200 /* how often the watchdog looks */

enum phase { G_WAIT, G_BODY, G_WORK };

/* An address as the per-address limit counts it: IPv4 (also mapped into
 * IPv6) whole, IPv6 by its /64 (a host usually has a whole /64). */
struct addr_key {
	int family; /* 0: not an IP address, all such share one */
	unsigned char a[8];
};

struct guard_conn {
	struct guard_conn *prev, *next;
	struct api_guard *g;
	int fd;
	struct addr_key addr;
	enum phase phase;
	bool trusted; /* a request on it authenticated */
	bool ended;   /* shut down by us; closing */
	bool busy;    /* BODY: a handler has a chunk */
	int64_t since_ms;     /* WAIT: since when; BODY: head in at */
	uint64_t bytes;       /* BODY: received */
	int64_t waited_ms;    /* BODY: spent waiting for the client ... */
	int64_t wait_from_ms; /* ... plus now - this when not busy */
	uint64_t mark_bytes;  /* bytes and waited_ms when the current */
	int64_t mark_ms;      /* rate window began */
};

struct api_guard {
	struct guard_config cfg;
	pthread_mutex_t lock; /* guards everything below and every entry */
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;
	struct guard_conn *head, *tail; /* in the order accepted */
	struct guard_stats stats;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void addr_key_of(const struct sockaddr *sa, struct addr_key *k)
{
	memset(k, 0, sizeof(*k));
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		k->family = AF_INET;
		memcpy(k->a, &in->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			k->family = AF_INET;
			memcpy(k->a, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			k->family = AF_INET6;
			memcpy(k->a, in6->sin6_addr.s6_addr, 8);
		}
	}
}

static bool same_addr(const struct addr_key *a, const struct addr_key *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

/* Counted among the unauthenticated (lock held). */
static bool unproven(const struct guard_conn *c)
{
	return !c->ended && !c->trusted && c->phase != G_WORK;
}

/* End c: its thread wakes to a closed socket and closes the connection
 * (lock held, so c and its descriptor are still libmicrohttpd's). */
static void end_conn(struct guard_conn *c)
{
	c->ended = true;
	shutdown(c->fd, SHUT_RDWR);
}

/* ---- places ----------------------------------------------------------------- */

/* The per-address limit, before libmicrohttpd makes anything of a new
 * connection (no thread yet): refused if its address already has
 * max_per_addr unauthenticated connections.  Refusing rather than making
 * room is what keeps one address from churning the places of others. */
enum MHD_Result guard_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct api_guard *g = cls;
	struct addr_key k;
	(void)len;
	addr_key_of(addr, &k);
	pthread_mutex_lock(&g->lock);
	unsigned same = 0;
	for (struct guard_conn *c = g->head; c; c = c->next)
		if (unproven(c) && same_addr(&c->addr, &k))
			same++;
	bool ok = same < g->cfg.max_per_addr;
	if (!ok)
		g->stats.refused++;
	pthread_mutex_unlock(&g->lock);
	return ok ? MHD_YES : MHD_NO;
}

/* Make room for nc (lock held): while unauthenticated connections hold
 * more than their share, or there are more connections than places, end
 * the unauthenticated one that has waited longest (nc, the newest, only
 * if it is the only one).  A client that sends its request at once is
 * past its head long before it could be the oldest. */
static void admit(struct api_guard *g, struct guard_conn *nc)
{
	const struct guard_config *cfg = &g->cfg;
	for (;;) {
		size_t live = 0, unauth = 0;
		struct guard_conn *oldest = NULL;
		for (struct guard_conn *c = g->head; c; c = c->next) {
			if (c->ended)
				continue;
			live++;
			if (!unproven(c))
				continue;
			unauth++;
			if (!oldest || c->since_ms < oldest->since_ms)
				oldest = c;
		}
		if (unauth <= cfg->max_unauth && live <= cfg->max_conns)
			return;
		end_conn(oldest ? oldest : nc);
		g->stats.shed++;
	}
}

/* ---- the watchdog ------------------------------------------------------------- */

static int64_t waited(const struct guard_conn *c, int64_t now)
{
	return c->waited_ms + (c->busy ? 0 : now - c->wait_from_ms);
}

/* Lock held. */
static void judge(struct api_guard *g, struct guard_conn *c, int64_t now)
{
	const struct guard_config *cfg = &g->cfg;
	int64_t window = (int64_t)cfg->header_timeout_s * 1000;
	if (c->phase == G_WAIT) {
		int64_t limit = c->trusted ? (int64_t)cfg->idle_timeout_s * 1000 : window;
		if (now - c->since_ms >= limit) {
			end_conn(c);
			g->stats.head_timeouts++;
		}
	} else if (c->phase == G_BODY && cfg->min_body_rate && !c->busy) {
		int64_t w = waited(c, now);
		if (w - c->mark_ms < window)
			return;
		uint64_t need = (uint64_t)cfg->min_body_rate * cfg->header_timeout_s;
		if (c->bytes - c->mark_bytes < need) {
			end_conn(c);
			g->stats.slow_bodies++;
		} else {
			c->mark_ms = w;
			c->mark_bytes = c->bytes;
		}
	}
}

static void *watch(void *arg)
{
	struct api_guard *g = arg;
	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		if (!g->head) {
			pthread_cond_wait(&g->wake, &g->lock);
			continue;
		}
		int64_t now = now_ms();
		for (struct guard_conn *c = g->head; c; c = c->next)
			if (!c->ended)
				judge(g, c, now);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* ---- start / stop ------------------------------------------------------------- */

int guard_start(const struct guard_config *cfg, struct api_guard **out,
		struct aj_err *e)
{
	struct api_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	g->cfg = *cfg;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&g->lock, NULL);
	int rc = pthread_create(&g->thread, NULL, watch, g);
	if (rc != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return aj_err_set(e, AJ_EINTERNAL, rc, "cannot start the connection watchdog: %s",
				  strerror(rc));
	}
	*out = g;
	return 0;
}

void guard_stop(struct api_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	/* The daemon has stopped: every entry went with NOTIFY_CLOSED. */
	while (g->head) {
		struct guard_conn *c = g->head;
		g->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void guard_stats_get(struct api_guard *g, struct guard_stats *out)
{
	pthread_mutex_lock(&g->lock);
	*out = g->stats;
	out->open = out->unauth = 0;
	for (const struct guard_conn *c = g->head; c; c = c->next) {
		out->open += !c->ended;
		out->unauth += unproven(c);
	}
	pthread_mutex_unlock(&g->lock);
}

/* ---- hooks ---------------------------------------------------------------------- */

static void started(struct api_guard *g, struct MHD_Connection *conn,
		    void **socket_context)
{
	const union MHD_ConnectionInfo *fi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!fi)
		return;
	struct guard_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		/* Not followed, so not kept: it could never be ended. */
		shutdown(fi->connect_fd, SHUT_RDWR);
		return;
	}
	c->g = g;
	c->fd = fi->connect_fd;
	addr_key_of(ai ? ai->client_addr : NULL, &c->addr);
	c->phase = G_WAIT;
	c->since_ms = now_ms();
	pthread_mutex_lock(&g->lock);
	c->prev = g->tail;
	if (g->tail)
		g->tail->next = c;
	else
		g->head = c;
	g->tail = c;
	admit(g, c);
	if (!c->prev)
		pthread_cond_signal(&g->wake); /* the watchdog slept */
	pthread_mutex_unlock(&g->lock);
	*socket_context = c;
}

static void closed(struct api_guard *g, void **socket_context)
{
	struct guard_conn *c = *socket_context;
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		g->tail = c->prev;
	pthread_mutex_unlock(&g->lock);
	free(c);
	*socket_context = NULL;
}

void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		  enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		started(cls, conn, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		closed(cls, socket_context);
}

struct guard_conn *guard_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return i ? i->socket_context : NULL;
}

/* The phases.  Each takes the lock, as the watchdog reads them. */

bool guard_head_in(struct guard_conn *c)
{
	if (!c)
		return true;
	pthread_mutex_lock(&c->g->lock);
	bool ended = c->ended;
	c->phase = G_BODY;
	c->since_ms = now_ms();
	c->busy = true; /* until the head's handler returns */
	c->bytes = c->mark_bytes = 0;
	c->waited_ms = c->mark_ms = 0;
	pthread_mutex_unlock(&c->g->lock);
	return !ended;
}

void guard_chunk_begin(struct guard_conn *c, size_t n)
{
	if (!c)
		return;
	int64_t now = now_ms();
	pthread_mutex_lock(&c->g->lock);
	if (!c->busy)
		c->waited_ms += now - c->wait_from_ms;
	c->busy = true;
	c->bytes += n;
	pthread_mutex_unlock(&c->g->lock);
}

void guard_chunk_end(struct guard_conn *c)
{
	if (!c)
		return;
	int64_t now = now_ms();
	pthread_mutex_lock(&c->g->lock);
	c->busy = false;
	c->wait_from_ms = now;
	pthread_mutex_unlock(&c->g->lock);
}

bool guard_body_in(struct guard_conn *c)
{
	if (!c)
		return true;
	pthread_mutex_lock(&c->g->lock);
	bool ended = c->ended;
	c->phase = G_WORK;
	c->busy = false;
	pthread_mutex_unlock(&c->g->lock);
	return !ended;
}

void guard_request_end(struct guard_conn *c)
{
	if (!c)
		return;
	int64_t now = now_ms();
	pthread_mutex_lock(&c->g->lock);
	c->phase = G_WAIT;
	c->since_ms = now;
	c->busy = false;
	pthread_mutex_unlock(&c->g->lock);
}

void guard_trust(struct guard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->g->lock);
	c->trusted = true;
	pthread_mutex_unlock(&c->g->lock);
}
