/* http.h - MCP over Streamable HTTP at /mcp, mounted on the API server of
 * `agentjail serve` (api_config.mounts), so it shares its daemon, body
 * limits, request log and API keys.
 *
 *   POST /mcp    one JSON-RPC message.  A request is answered with JSON,
 *                or with an SSE stream when it is a tools/call and the
 *                client accepts text/event-stream (progress and log
 *                messages go out on it before the response); a
 *                notification or response gets 202.  initialize creates a
 *                session and returns its Mcp-Session-Id, which every later
 *                request must carry (400 without, 404 if unknown/expired).
 *   GET /mcp     405: there is no server-initiated stream.
 *   DELETE /mcp  ends the session and destroys its sandboxes (204).
 *
 * A present Origin that is not local (or the listen address) gets 403;
 * on a loopback listener the Host header must be local too.  Sessions
 * idle for idle_timeout_s are closed and their sandboxes destroyed.
 */
#ifndef AJ_MCP_HTTP_H
#define AJ_MCP_HTTP_H

#include <stdint.h>

#include "api/api.h"
#include "box/box.h"

struct mcp_http;

struct mcp_http_config {
	struct box_mgr *mgr;
	const char *listen_host;   /* the API server's --listen host */
	int64_t idle_timeout_s;    /* 0: 1800 */
	int max_sessions;          /* 0: 256 */
};

/* Starts threads: call after box_mgr_open.  One per process. */
int mcp_http_start(const struct mcp_http_config *cfg, struct mcp_http **out,
		   struct aj_err *e);
/* The routes to give api_config.mounts. */
const struct api_mount *mcp_http_mount(struct mcp_http *h);
/* After api_stop: closes every session (destroying its sandboxes). */
void mcp_http_stop(struct mcp_http *h);

#endif
