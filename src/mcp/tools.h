/* tools.h - the tools agentjail offers, in one table that feeds MCP
 * tools/list and tools/call and `agentjail tools --format ...`. */
#ifndef AJ_MCP_TOOLS_H
#define AJ_MCP_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct mcp_call;

/* What a tool produced.  structured must be set (an object matching the
 * tool's outputSchema); images is NULL or an array of MCP content blocks
 * appended after the text block. */
struct tool_out {
	json_t *structured;
	bool is_error;
	json_t *images;
};

/* Runs on the call's own thread.  args were checked against the input
 * schema.  Returns 0; every failure is a result with is_error. */
typedef int (*mcp_tool_fn)(struct mcp_call *call, json_t *args,
			   struct tool_out *out);

struct mcp_tool {
	const char *name;
	const char *title;
	const char *description;
	const char *input_schema;  /* JSON; sandbox_id is added if takes_sandbox */
	const char *output_schema; /* JSON; sandbox_id and error are added */
	bool takes_sandbox;
	bool read_only;
	bool destructive;
	bool idempotent;
	mcp_tool_fn run;
};

extern const struct mcp_tool mcp_tools[];
extern const size_t mcp_ntools;

const struct mcp_tool *mcp_tool_find(const char *name);

/* The tool's full input and output schemas (new references). */
json_t *mcp_tool_input_schema(const struct mcp_tool *t);
json_t *mcp_tool_output_schema(const struct mcp_tool *t);
/* The MCP Tool object of tools/list (new reference). */
json_t *mcp_tool_json(const struct mcp_tool *t);

/* Every definition in a framework's function-calling format: "mcp"
 * ({"tools":[...]} as tools/list returns it), "openai" (Chat Completions
 * "tools" array) or "anthropic" (Messages API "tools" array).  NULL if
 * the format is unknown. */
json_t *mcp_tools_render(const char *format);

/* Set out to a failure: {"error": message}, is_error.  Returns 0. */
int tool_fail(struct tool_out *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The handlers (tools.c). */
int tool_run_code(struct mcp_call *c, json_t *args, struct tool_out *out);
int tool_run_command(struct mcp_call *c, json_t *args, struct tool_out *out);
int tool_write_file(struct mcp_call *c, json_t *args, struct tool_out *out);
int tool_read_file(struct mcp_call *c, json_t *args, struct tool_out *out);
int tool_list_files(struct mcp_call *c, json_t *args, struct tool_out *out);
int tool_create_sandbox(struct mcp_call *c, json_t *args, struct tool_out *out);
int tool_destroy_sandbox(struct mcp_call *c, json_t *args, struct tool_out *out);

#endif
