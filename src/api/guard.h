/* guard.h - who may hold one of the server's connections, and for how
 * long, so that clients who never finish a request cannot lock out those
 * who do.
 *
 * libmicrohttpd's own idle timeout starts again with every byte, so a
 * client that trickles one header byte a second holds its connection (and,
 * here, a thread) forever; a few hundred of them fill the connection limit.
 * The guard follows every connection from accept to close and, from a
 * watchdog thread, ends (shutdown(2), which wakes its thread) one that
 *   - has not sent a complete request head within header_timeout_s of
 *     being accepted or of its previous request ending (idle_timeout_s for
 *     a connection that has authenticated before: a kept-alive client);
 *   - sends a request body slower than min_body_rate bytes/s, averaged
 *     over each header_timeout_s the server spends waiting for it (time
 *     our handler spends on a chunk does not count; nor does anything
 *     after the body: waiting for a long command, reading a stream).
 * And it keeps room for clients that prove who they are.  Call a
 * connection unauthenticated while no request on it has authenticated
 * and it is not being answered (its head or body still coming):
 *   - one address (one /64 for IPv6) may have at most max_per_addr of
 *     them; a new connection from it past that is refused at once;
 *   - all of them together may hold at most max_unauth of the max_conns
 *     places; a new connection past that (or past max_conns) ends the
 *     unauthenticated one that has waited longest, rather than being
 *     refused, so a client who sends its request at once gets in and a
 *     slow one never takes a place from an authenticated one.
 *
 * Hooks: guard_accept is libmicrohttpd's accept policy callback,
 * guard_notify its MHD_OPTION_NOTIFY_CONNECTION; the access handler
 * reports the phases of each request.
 *
 * Locking: one mutex guards the list and every entry.  An entry lives
 * from NOTIFY_STARTED to NOTIFY_CLOSED, which libmicrohttpd calls before
 * it closes the socket, so the watchdog never shuts down a descriptor
 * number that has been reused. */
#ifndef AJ_API_GUARD_H
#define AJ_API_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "api/mhd.h"
#include "util/err.h"

struct guard_config {
	unsigned max_conns;        /* every connection */
	unsigned max_unauth;       /* of them, not authenticated nor answered */
	unsigned max_per_addr;     /* of those, from one address */
	unsigned header_timeout_s; /* request head complete within */
	unsigned idle_timeout_s;   /* ... on an authenticated connection */
	unsigned min_body_rate;    /* bytes/s; 0: no rule */
};

struct guard_stats {
	uint64_t head_timeouts; /* head not complete in time */
	uint64_t slow_bodies;   /* body under the minimum rate */
	uint64_t shed;          /* ended to make room for a new connection */
	uint64_t refused;       /* refused: its address had too many */
	unsigned open;          /* connections now (not counting ended ones) */
	unsigned unauth;        /* of them, unauthenticated */
};

struct api_guard;
struct guard_conn;

/* Start the watchdog; 0, or -1 with e filled. */
int guard_start(const struct guard_config *cfg, struct api_guard **out,
		struct aj_err *e);
/* After the daemon has stopped (no connection left). */
void guard_stop(struct api_guard *g);
void guard_stats_get(struct api_guard *g, struct guard_stats *out);

/* libmicrohttpd's accept policy callback (cls: the guard). */
enum MHD_Result guard_accept(void *cls, const struct sockaddr *addr, socklen_t len);
/* MHD_OPTION_NOTIFY_CONNECTION (cls: the guard). */
void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		  enum MHD_ConnectionNotificationCode code);
/* The entry of a connection (NULL if it is not followed: out of memory,
 * then it was ended at once). */
struct guard_conn *guard_of(struct MHD_Connection *conn);

/* The phases of a request, from the access handler; gc may be NULL.
 * guard_head_in and guard_body_in return false if the guard has ended the
 * connection meanwhile (a head complete just at its deadline, a body
 * whose last bytes came after the connection made room for another):
 * the request must not run, nobody would get its answer. */
bool guard_head_in(struct guard_conn *gc);   /* head complete */
void guard_chunk_begin(struct guard_conn *gc, size_t n); /* body bytes in */
void guard_chunk_end(struct guard_conn *gc); /* handled, waiting again */
bool guard_body_in(struct guard_conn *gc);   /* body complete: answering */
void guard_request_end(struct guard_conn *gc);
/* The request authenticated: the connection is no longer limited as an
 * unauthenticated one. */
void guard_trust(struct guard_conn *gc);

#endif
