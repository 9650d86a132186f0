/* transport.h - the stdio transport: newline-delimited JSON-RPC. */
#ifndef AJ_MCP_TRANSPORT_H
#define AJ_MCP_TRANSPORT_H

#include "mcp/mcp.h"

/* Serve one session: read messages from in_fd (one JSON object per line),
 * write every reply and notification to out_fd, one per line.  Returns 0
 * when in_fd reaches end of file or stop_fd becomes readable (a signal
 * handler writes to it; -1 = none), after the session's calls have been
 * cancelled and its sandboxes destroyed; -1 on a read error. */
int mcp_stdio_run(struct mcp_server *srv, const struct box_caller *caller,
		  int in_fd, int out_fd, int stop_fd);

#endif
