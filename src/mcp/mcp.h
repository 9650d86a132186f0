/* mcp.h - the Model Context Protocol server core, shared by the stdio and
 * Streamable HTTP transports.  It speaks JSON-RPC 2.0 (jsonrpc.h), serves
 * the tools of tools.h on top of the sandbox manager (box.h), and knows
 * nothing of how bytes travel.
 *
 * A transport creates one mcp_server per manager and one mcp_session per
 * client connection (stdio: the process; HTTP: an Mcp-Session-Id), then
 * hands each message to mcp_session_handle with an mcp_out saying where
 * the messages about that request go.  tools/call runs on a thread of its
 * own, so a long command never blocks ping or cancellation.
 */
#ifndef AJ_MCP_MCP_H
#define AJ_MCP_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "box/box.h"

#define MCP_SERVER_NAME "agentjail"
#define MCP_SERVER_VERSION "0.1.0"
#define MCP_LATEST_VERSION "2025-11-25"

struct mcp_server;
struct mcp_session;

struct mcp_server_config {
	struct box_mgr *mgr;
	int max_calls_per_session;   /* concurrent tools/call (default 8) */
	int64_t sandbox_timeout_s;   /* lifetime of a session's sandboxes (1800) */
	int64_t progress_interval_ms; /* periodic progress for silent calls (1000) */
};
void mcp_server_config_defaults(struct mcp_server_config *c);

/* Where the server's messages about one client request go.  send() gets
 * one line of JSON (no newline) and whether it is the final message: the
 * response.  json is NULL on a final call when no response is owed (the
 * request was cancelled).  It may be called from any thread, before or
 * after mcp_session_handle returns, never again after the final call. */
struct mcp_out {
	void (*send)(void *ctx, const char *json, bool final);
	void *ctx;
};

/* Starts the progress thread: call after box_mgr_open. */
int mcp_server_new(const struct mcp_server_config *cfg,
		   struct mcp_server **out, struct aj_err *e);
/* Every session must have been closed first. */
void mcp_server_free(struct mcp_server *s);

/* notify receives messages that belong to no request (log messages while
 * no call is running); send NULL drops them. */
struct mcp_session *mcp_session_new(struct mcp_server *srv,
				    const struct box_caller *caller,
				    const struct mcp_out *notify);
/* Cancel running calls (their commands are killed), wait for them, destroy
 * the session's sandboxes and free it. */
void mcp_session_close(struct mcp_session *s);
/* The same for a session whose API key was revoked, except that its
 * sandboxes are left running until they expire, as every sandbox of a
 * revoked key is (the tenant's other keys may still use them). */
void mcp_session_close_revoked(struct mcp_session *s);

/* Wait up to timeout_ms for the session's running calls to end; true if
 * none is left. */
bool mcp_session_wait_idle(struct mcp_session *s, int64_t timeout_ms);

/* Handle one message.  Returns 1 if a reply is owed and will be sent
 * through out (exactly one final send), 0 if none (a notification, a
 * response, or an invalid notification, which is dropped). */
int mcp_session_handle(struct mcp_session *s, json_t *msg,
		       const struct mcp_out *out);
/* Same, from text; a parse error is answered through out (returns 1). */
int mcp_session_handle_text(struct mcp_session *s, const char *text,
			    size_t len, const struct mcp_out *out);

/* What the session negotiated ("" before initialize). */
const char *mcp_session_version(struct mcp_session *s);
const struct box_caller *mcp_session_caller(struct mcp_session *s);

/* The protocol revisions we speak, newest first; and whether v is one. */
bool mcp_version_supported(const char *v);

#endif
