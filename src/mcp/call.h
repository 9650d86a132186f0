/* call.h - what a tool handler may ask of the tools/call it serves: the
 * manager and caller, the sandbox to act on, cancellation, progress and
 * log messages.  Implemented by session.c. */
#ifndef AJ_MCP_CALL_H
#define AJ_MCP_CALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "box/box.h"

struct mcp_call;

enum mcp_log_level {
	MCP_LOG_DEBUG, MCP_LOG_INFO, MCP_LOG_NOTICE, MCP_LOG_WARNING,
	MCP_LOG_ERROR, MCP_LOG_CRITICAL, MCP_LOG_ALERT, MCP_LOG_EMERGENCY,
};
const char *mcp_log_level_name(enum mcp_log_level l);
int mcp_log_level_parse(const char *s, enum mcp_log_level *out);

struct box_mgr *call_mgr(struct mcp_call *c);
const struct box_caller *call_caller(struct mcp_call *c);
int64_t call_sandbox_timeout_s(struct mcp_call *c);

/* The sandbox this call acts on: args' sandbox_id, or else the session's
 * own (created on first use, renewed before it expires).  id receives it;
 * the result will name it. */
int call_sandbox(struct mcp_call *c, json_t *args, char id[40],
		 struct aj_err *e);
/* The session owns sandboxes made by create_sandbox: they end with it. */
void call_adopt_sandbox(struct mcp_call *c, const char *id);
/* A sandbox was destroyed through a tool: forget it. */
void call_forget_sandbox(struct mcp_call *c, const char *id);

/* True once the client cancelled this request (or the session ends). */
bool call_cancelled(struct mcp_call *c);
/* A foreground command runs as pid in sandbox_id: cancellation kills it. */
void call_set_pid(struct mcp_call *c, const char *sandbox_id, pid_t pid);
/* n bytes of output appeared: may send a progress notification. */
void call_output(struct mcp_call *c, const char *what, size_t n);
/* A notifications/message to the client, if at or above its level. */
void call_log(struct mcp_call *c, enum mcp_log_level l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
