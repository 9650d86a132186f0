/* origin.h - DNS-rebinding protection for the HTTP transport: which
 * Origin and Host headers a request may carry.  Pure. */
#ifndef AJ_MCP_ORIGIN_H
#define AJ_MCP_ORIGIN_H

#include <stdbool.h>

/* Whether the server listens on a loopback address (127/8, ::1) or the
 * name "localhost". */
bool mcp_host_is_loopback(const char *listen_host);

/* An Origin header ("http://localhost:3000") is allowed if its scheme is
 * http or https and its host is localhost, 127.0.0.1, [::1] or the
 * address the server listens on (unless that is a wildcard). */
bool mcp_origin_allowed(const char *origin, const char *listen_host);

/* A Host header ("127.0.0.1:8080") is allowed if it names localhost,
 * 127.0.0.1, [::1] or the listen address.  Only meaningful for a server
 * on loopback: elsewhere the name clients use is not known. */
bool mcp_host_allowed(const char *host, const char *listen_host);

#endif
