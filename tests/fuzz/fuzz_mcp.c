/* fuzz_mcp.c - libFuzzer harness: MCP JSON-RPC messages.  The input is
 * one or more lines, each a message for one fresh session of a server
 * with no sandbox manager: jr_parse/jr_classify, the envelope builders,
 * then mcp_session_handle_text (lifecycle, ping, tools/list, errors, and
 * tools/call argument checking).  A tools/call whose arguments pass the
 * tool's input schema would go on to the manager, which this harness
 * does not have, so those are classified and schema-checked only. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/jsonrpc.h"
#include "mcp/mcp.h"
#include "mcp/schema.h"
#include "mcp/tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mcp_server *srv;
static int replies;

static void on_send(void *ctx, const char *json, bool final)
{
	(void)ctx;
	if (json) {
		json_t *j = json_loads(json, 0, NULL);
		if (!j || strchr(json, '\n'))
			abort(); /* every message we send is one line of JSON */
		json_decref(j);
	}
	if (final)
		__atomic_add_fetch(&replies, 1, __ATOMIC_SEQ_CST);
}

/* Would the session hand this message to a tool (and so the manager)? */
static bool reaches_manager(const struct jr_msg *m)
{
	if (m->kind != JR_REQUEST || strcmp(m->method, "tools/call") != 0 || !m->params)
		return false;
	const char *name = json_string_value(json_object_get(m->params, "name"));
	const struct mcp_tool *t = name ? mcp_tool_find(name) : NULL;
	if (!t)
		return false;
	json_t *args = json_object_get(m->params, "arguments");
	json_t *schema = mcp_tool_input_schema(t);
	char msg[256];
	bool pass = !args || schema_check(schema, args, msg, sizeof(msg)) == 0;
	json_decref(schema);
	return pass;
}

static void one(struct mcp_session *s, const char *text, size_t len)
{
	json_t *root;
	struct jr_msg m;
	jr_parse(text, len, &root, &m);
	if (m.kind == JR_INVALID && !m.err_msg[0])
		abort();
	json_t *reply = m.kind == JR_REQUEST ? jr_result(m.id, json_object())
					     : jr_error(m.id, m.err_code ? m.err_code : -1, m.err_msg);
	char *line = jr_dump(reply);
	if (!line || strchr(line, '\n'))
		abort();
	free(line);
	json_decref(reply);
	bool skip = reaches_manager(&m);
	json_decref(root);
	if (skip)
		return;
	struct mcp_out out = { on_send, NULL };
	int before = __atomic_load_n(&replies, __ATOMIC_SEQ_CST);
	int owed = mcp_session_handle_text(s, text, len, &out);
	if (owed && __atomic_load_n(&replies, __ATOMIC_SEQ_CST) != before + 1)
		abort(); /* without a manager, every owed reply comes at once */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv) {
		struct mcp_server_config cfg;
		struct aj_err e;
		mcp_server_config_defaults(&cfg);
		if (mcp_server_new(&cfg, &srv, &e) < 0)
			abort();
	}
	struct box_caller c = { .key_id = "k", .tenant = "t", .role = ROLE_ADMIN };
	struct mcp_session *s = mcp_session_new(srv, &c, NULL);
	if (!s)
		return 0;
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		one(s, p, len);
		p += len + 1;
	}
	mcp_session_close(s);
	return 0;
}
