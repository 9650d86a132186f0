/* tooldefs.c - the one table of tool definitions: descriptions written for
 * a model, input and output schemas, annotations, and the handler.  MCP
 * tools/list, tools/call and `agentjail tools` all read it. */
#include "mcp/tools.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NO_NET "The sandbox has no network access. "

const struct mcp_tool mcp_tools[] = {
{
	.name = "run_code",
	.title = "Run code",
	.description =
	"Run a cell of Python (default), JavaScript (Node.js) or Bash code in a "
	"persistent interpreter inside an isolated Linux sandbox, like a "
	"notebook: variables, imports, functions and the working directory "
	"persist between run_code calls in the same sandbox and language. The "
	"value of a last bare expression is returned as a result. Python has "
	"numpy, pandas and matplotlib; matplotlib figures (plt.show() or left "
	"open) come back as PNG images, and DataFrames also as HTML. The sandbox has no network access, so "
	"installing packages fails. Files are shared with run_command, "
	"read_file and write_file; the working directory starts at /workspace. "
	"A cell running longer than timeout_ms (default 60000) is interrupted "
	"(Python sees KeyboardInterrupt) and earlier state is kept. An "
	"exception is returned with isError and its traceback; the interpreter "
	"stays usable.",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
		"\"code\":{\"type\":\"string\",\"description\":\"The code to run.\"},"
		"\"language\":{\"type\":\"string\",\"enum\":[\"python\",\"javascript\",\"bash\"],"
			"\"default\":\"python\",\"description\":\"Interpreter; each language has its own persistent state.\"},"
		"\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000,"
			"\"default\":60000,\"description\":\"Interrupt the cell after this many milliseconds.\"}},"
		"\"required\":[\"code\"],\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"properties\":{"
		"\"language\":{\"type\":\"string\"},"
		"\"stdout\":{\"type\":\"string\"},"
		"\"stderr\":{\"type\":\"string\"},"
		"\"stdout_truncated\":{\"type\":\"boolean\"},"
		"\"stderr_truncated\":{\"type\":\"boolean\"},"
		"\"results\":{\"type\":\"array\",\"description\":\"Rich results: each has one "
			"field per format (text, html, markdown, svg, latex, json, ...); a PNG is "
			"returned as image content and image_index tells which.\","
			"\"items\":{\"type\":\"object\",\"properties\":{"
				"\"is_main_result\":{\"type\":\"boolean\"},"
				"\"image_index\":{\"type\":\"integer\"}},"
			"\"additionalProperties\":{\"type\":\"string\"}}},"
		"\"exception\":{\"type\":\"object\",\"properties\":{"
			"\"name\":{\"type\":\"string\"},\"value\":{\"type\":\"string\"},"
			"\"traceback\":{\"type\":\"string\"}}},"
		"\"execution_count\":{\"type\":\"integer\"},"
		"\"wall_ms\":{\"type\":\"integer\"},"
		"\"timed_out\":{\"type\":\"boolean\"},"
		"\"context_restarted\":{\"type\":\"boolean\",\"description\":\"The interpreter "
			"had died and was restarted: earlier state is lost.\"},"
		"\"notice\":{\"type\":\"string\"}}}",
	.takes_sandbox = true,
	.destructive = true,
	.run = tool_run_code,
},
{
	.name = "run_command",
	.title = "Run a shell command",
	.description =
	"Run a shell command with /bin/bash -c in an isolated Linux sandbox "
	"(Debian userland: coreutils, python3, node, ...) and return its exit "
	"code, stdout and stderr. It runs in /workspace unless cwd is given. "
	NO_NET "Each call is a new process: cd and shell variables do not "
	"persist between calls (files do; run_code with language bash keeps a "
	"persistent shell). The command is killed after timeout_ms (default "
	"60000); output beyond 1 MiB per stream is cut off. A non-zero exit "
	"status is reported with isError.",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
		"\"command\":{\"type\":\"string\",\"description\":\"Shell command line, run by /bin/bash -c.\"},"
		"\"cwd\":{\"type\":\"string\",\"description\":\"Working directory, absolute or "
			"relative to /workspace (default /workspace).\"},"
		"\"env\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},"
			"\"description\":\"Extra environment variables.\"},"
		"\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3600000,"
			"\"default\":60000,\"description\":\"Kill the command after this many milliseconds.\"},"
		"\"stdin\":{\"type\":\"string\",\"description\":\"Text fed to the command's "
			"standard input (default: empty).\"}},"
		"\"required\":[\"command\"],\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"properties\":{"
		"\"exit_code\":{\"type\":\"integer\",\"description\":\"Exit status, or "
			"128+signal if killed; -1 if it never started.\"},"
		"\"signal\":{\"type\":\"integer\"},"
		"\"stdout\":{\"type\":\"string\"},"
		"\"stderr\":{\"type\":\"string\"},"
		"\"stdout_truncated\":{\"type\":\"boolean\"},"
		"\"stderr_truncated\":{\"type\":\"boolean\"},"
		"\"timed_out\":{\"type\":\"boolean\"},"
		"\"oom_killed\":{\"type\":\"boolean\"},"
		"\"wall_ms\":{\"type\":\"integer\"}}}",
	.takes_sandbox = true,
	.destructive = true,
	.run = tool_run_command,
},
{
	.name = "write_file",
	.title = "Write a file",
	.description =
	"Write a file in the sandbox, creating missing parent directories and "
	"replacing an existing file atomically. path is absolute or relative "
	"to /workspace. content is text (encoding utf8, the default) or base64 "
	"for binary data. Files count against the sandbox's disk quota.",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
		"\"path\":{\"type\":\"string\",\"description\":\"Absolute, or relative to /workspace.\"},"
		"\"content\":{\"type\":\"string\",\"description\":\"File content, as text or base64.\"},"
		"\"encoding\":{\"type\":\"string\",\"enum\":[\"utf8\",\"base64\"],\"default\":\"utf8\"}},"
		"\"required\":[\"path\",\"content\"],\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"properties\":{"
		"\"path\":{\"type\":\"string\",\"description\":\"Absolute path written.\"},"
		"\"size\":{\"type\":\"integer\"}}}",
	.takes_sandbox = true,
	.destructive = true,
	.idempotent = true,
	.run = tool_write_file,
},
{
	.name = "read_file",
	.title = "Read a file",
	.description =
	"Read a file from the sandbox. path is absolute or relative to "
	"/workspace. Returns text by default (encoding utf8); read binary files "
	"with encoding base64 (PNG, JPEG, GIF and WebP images then also come "
	"back as image content). Reads at most max_bytes (default 1048576) and "
	"says whether the content was truncated.",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
		"\"path\":{\"type\":\"string\",\"description\":\"Absolute, or relative to /workspace.\"},"
		"\"encoding\":{\"type\":\"string\",\"enum\":[\"utf8\",\"base64\"],\"default\":\"utf8\"},"
		"\"max_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10485760,"
			"\"default\":1048576}},"
		"\"required\":[\"path\"],\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"properties\":{"
		"\"path\":{\"type\":\"string\"},"
		"\"size\":{\"type\":\"integer\",\"description\":\"Size of the whole file.\"},"
		"\"encoding\":{\"type\":\"string\"},"
		"\"content\":{\"type\":\"string\"},"
		"\"truncated\":{\"type\":\"boolean\"}}}",
	.takes_sandbox = true,
	.read_only = true,
	.idempotent = true,
	.run = tool_read_file,
},
{
	.name = "list_files",
	.title = "List files",
	.description =
	"List a directory in the sandbox: name, path, type (file, dir, "
	"symlink, other), size and modification time of each entry. path "
	"defaults to /workspace; depth 1 lists the directory itself, larger "
	"depths (up to 5) descend into subdirectories. At most 1000 entries.",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
		"\"path\":{\"type\":\"string\",\"default\":\"/workspace\","
			"\"description\":\"Directory, absolute or relative to /workspace.\"},"
		"\"depth\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5,\"default\":1}},"
		"\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"properties\":{"
		"\"path\":{\"type\":\"string\"},"
		"\"entries\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
			"\"name\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},"
			"\"type\":{\"type\":\"string\",\"enum\":[\"file\",\"dir\",\"symlink\",\"other\"]},"
			"\"size\":{\"type\":\"integer\"},\"mtime_ms\":{\"type\":\"integer\"},"
			"\"symlink_target\":{\"type\":\"string\"}}}},"
		"\"truncated\":{\"type\":\"boolean\"}}}",
	.takes_sandbox = true,
	.read_only = true,
	.idempotent = true,
	.run = tool_list_files,
},
{
	.name = "create_sandbox",
	.title = "Create a sandbox",
	.description =
	"Create an additional isolated Linux sandbox and return its "
	"sandbox_id; pass it to the other tools to work in it. Usually "
	"unnecessary: called without sandbox_id, every tool uses this "
	"session's own sandbox, created on first use. Create one for more "
	"memory or CPU, a longer lifetime, or a clean environment. It ends "
	"after timeout_s (default 1800), on destroy_sandbox, or when this MCP "
	"session ends. " NO_NET,
	.input_schema = "{\"type\":\"object\",\"properties\":{"
		"\"memory_mb\":{\"type\":\"integer\",\"minimum\":16,\"maximum\":1048576,"
			"\"description\":\"Memory limit in MiB (default 512).\"},"
		"\"cpus\":{\"type\":\"number\",\"minimum\":0.01,\"maximum\":1024,"
			"\"description\":\"CPU limit in CPUs, e.g. 0.5 or 2 (default 1).\"},"
		"\"disk_mb\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":16777216,"
			"\"description\":\"Disk quota in MiB (default 1024).\"},"
		"\"timeout_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":86400,"
			"\"description\":\"Lifetime in seconds (default 1800).\"},"
		"\"env\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},"
			"\"description\":\"Environment variables for every command.\"},"
		"\"metadata\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},"
			"\"description\":\"Free-form labels.\"}},"
		"\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"properties\":{"
		"\"memory_mb\":{\"type\":\"integer\"},"
		"\"cpus\":{\"type\":\"number\"},"
		"\"disk_mb\":{\"type\":\"integer\"},"
		"\"expires_at_ms\":{\"type\":\"integer\",\"description\":\"Unix time in ms.\"}}}",
	.run = tool_create_sandbox,
},
{
	.name = "destroy_sandbox",
	.title = "Destroy a sandbox",
	.description =
	"Destroy a sandbox and everything in it: processes, files and "
	"interpreter state. Destroying this session's own sandbox is allowed: "
	"the next call without sandbox_id starts a fresh one.",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
		"\"sandbox_id\":{\"type\":\"string\",\"description\":\"The sandbox to destroy.\"}},"
		"\"required\":[\"sandbox_id\"],\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"properties\":{"
		"\"destroyed\":{\"type\":\"boolean\"}}}",
	.destructive = true,
	.idempotent = true,
	.run = tool_destroy_sandbox,
},
};

const size_t mcp_ntools = sizeof(mcp_tools) / sizeof(mcp_tools[0]);

const struct mcp_tool *mcp_tool_find(const char *name)
{
	for (size_t i = 0; name && i < mcp_ntools; i++)
		if (strcmp(mcp_tools[i].name, name) == 0)
			return &mcp_tools[i];
	return NULL;
}

/* The table's JSON is ours: failing to parse it is a bug caught by the
 * unit tests, so an empty object stands in rather than a NULL. */
static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	return j ? j : json_object();
}

static const char sandbox_id_desc[] =
	"Sandbox to use, as returned by create_sandbox. Omit it to use this "
	"session's own sandbox (created on first use).";

json_t *mcp_tool_input_schema(const struct mcp_tool *t)
{
	json_t *s = parse(t->input_schema);
	if (t->takes_sandbox)
		json_object_set_new(json_object_get(s, "properties"), "sandbox_id",
				    json_pack("{s:s,s:s}", "type", "string",
					      "description", sandbox_id_desc));
	return s;
}

/* Every result names its sandbox, and every failure - bad arguments, a
 * missing file, a failing cell - carries "error", so error results match
 * the schema too (clients validate them). */
json_t *mcp_tool_output_schema(const struct mcp_tool *t)
{
	json_t *s = parse(t->output_schema);
	json_t *props = json_object_get(s, "properties");
	json_object_set_new(props, "sandbox_id",
			    json_pack("{s:s}", "type", "string"));
	json_object_set_new(props, "error",
			    json_pack("{s:s,s:s}", "type", "string", "description",
				      "Why the call failed; absent on success."));
	return s;
}

static json_t *annotations(const struct mcp_tool *t)
{
	return json_pack("{s:s,s:b,s:b,s:b,s:b}", "title", t->title,
			 "readOnlyHint", t->read_only,
			 "destructiveHint", t->destructive,
			 "idempotentHint", t->idempotent,
			 "openWorldHint", 0);
}

json_t *mcp_tool_json(const struct mcp_tool *t)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "name", t->name,
			 "title", t->title, "description", t->description,
			 "inputSchema", mcp_tool_input_schema(t),
			 "outputSchema", mcp_tool_output_schema(t),
			 "annotations", annotations(t));
}

static json_t *render_one(const struct mcp_tool *t, const char *format)
{
	if (strcmp(format, "mcp") == 0)
		return mcp_tool_json(t);
	if (strcmp(format, "openai") == 0)
		return json_pack("{s:s,s:{s:s,s:s,s:o}}", "type", "function",
				 "function", "name", t->name, "description",
				 t->description, "parameters",
				 mcp_tool_input_schema(t));
	if (strcmp(format, "anthropic") == 0)
		return json_pack("{s:s,s:s,s:o}", "name", t->name, "description",
				 t->description, "input_schema",
				 mcp_tool_input_schema(t));
	return NULL;
}

json_t *mcp_tools_render(const char *format)
{
	if (!format || (strcmp(format, "mcp") != 0 &&
			strcmp(format, "openai") != 0 &&
			strcmp(format, "anthropic") != 0))
		return NULL;
	json_t *arr = json_array();
	for (size_t i = 0; i < mcp_ntools; i++)
		json_array_append_new(arr, render_one(&mcp_tools[i], format));
	if (strcmp(format, "mcp") == 0)
		return json_pack("{s:o}", "tools", arr);
	return arr;
}

int tool_fail(struct tool_out *out, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(out->structured);
	json_decref(out->images);
	out->structured = json_pack("{s:s}", "error", msg);
	out->images = NULL;
	out->is_error = true;
	return 0;
}
