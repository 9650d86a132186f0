/* api.h - the HTTP server of `agentjail serve`: the native REST API under
 * /v1, /healthz and /metrics, on libmicrohttpd with one thread per
 * connection (bounded), so a long exec or a slow client never holds up
 * the others.
 *
 * Other front ends join the same daemon through api_config.mounts: route
 * tables (see http.h) consulted, in order, before the native routes.
 */
#ifndef AJ_API_API_H
#define AJ_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "box/box.h"
#include "util/err.h"

struct api_route;

struct api_mount {
	const struct api_route *routes;
	size_t nroutes;
	void *data; /* the front end's own state: api_mount_data() */
};

struct api_config {
	const char *host;          /* numeric address or name to listen on */
	uint16_t port;             /* 0: any free port (see api_port) */
	bool no_auth;              /* every request is an admin of "default" */
	/* Connections (see guard.h); 0 for each: the default. */
	unsigned max_connections;  /* 0: 512 */
	unsigned max_unauth;       /* not authenticated yet; 0: 3/4 of them */
	unsigned max_per_address;  /* ... from one address; 0: 128 */
	unsigned header_timeout_s; /* a request head complete within; 0: 10 */
	long min_body_rate;        /* bytes/s a body comes at; 0: 1024, -1: any */
	unsigned idle_timeout_s;   /* idle client dropped after; 0: 120 */
	bool log_requests;         /* "METHOD /path status ms" on stderr */
	const struct api_mount *mounts;
	size_t nmounts;
};

struct api_server;

/* The checks api_start makes before listening (the address resolves; no
 * --no-auth off loopback), for a caller that wants to fail early. */
int api_check_config(const struct api_config *cfg, struct aj_err *e);

/* Listen and serve.  m must outlive the server.  With no_auth the host
 * must be a loopback address (AJ_EINVAL otherwise). */
int api_start(struct box_mgr *m, const struct api_config *cfg,
	      struct api_server **out, struct aj_err *e);
/* The port actually bound. */
uint16_t api_port(const struct api_server *s);
/* Stop accepting, end every connection (streams are cut, their commands
 * killed), wait for handlers to return, free. */
void api_stop(struct api_server *s);

/* The caller every request acts as under no_auth. */
void api_noauth_caller(struct box_caller *c);

#endif
