/* Unit tests for the MCP core's JSON-RPC handling: envelopes, lifecycle,
 * errors, and tools/call argument checking - everything that answers
 * before a tool would reach the manager (none is opened here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/jsonrpc.h"
#include "mcp/mcp.h"

/* ---- jr_classify ------------------------------------------------------------ */

static struct jr_msg classify(const char *text)
{
	json_t *root;
	struct jr_msg m;
	jr_parse(text, strlen(text), &root, &m);
	json_decref(root); /* m's borrowed pointers are not used after this */
	m.id = NULL;
	m.params = NULL;
	m.method = NULL;
	return m;
}

static void envelopes(void **state)
{
	(void)state;
	assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}").kind,
			 JR_REQUEST);
	assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\"}").kind,
			 JR_REQUEST);
	assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}").kind,
			 JR_NOTIFICATION);
	assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}").kind,
			 JR_RESPONSE);
	assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":1,\"message\":\"x\"}}").kind,
			 JR_RESPONSE);
}

static void bad_envelopes(void **state)
{
	(void)state;
	struct { const char *text; int code; } cases[] = {
		{ "{", JR_PARSE_ERROR },
		{ "", JR_PARSE_ERROR },
		{ "{\"a\":1,\"a\":2}", JR_PARSE_ERROR },            /* duplicate key */
		{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", JR_INVALID_REQUEST },
		{ "[]", JR_INVALID_REQUEST },
		{ "42", JR_INVALID_REQUEST },
		{ "{\"id\":1,\"method\":\"ping\"}", JR_INVALID_REQUEST },            /* no jsonrpc */
		{ "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", JR_INVALID_REQUEST },
		{ "{\"jsonrpc\":2,\"id\":1,\"method\":\"ping\"}", JR_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", JR_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", JR_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", JR_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":3}", JR_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[1]}", JR_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":\"s\"}", JR_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", JR_INVALID_REQUEST },  /* neither */
		{ "{\"jsonrpc\":\"2.0\",\"result\":{}}", JR_INVALID_REQUEST }, /* no id */
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", JR_INVALID_REQUEST },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jr_msg m = classify(cases[i].text);
		if (m.kind != JR_INVALID || m.err_code != cases[i].code)
			fail_msg("'%s': kind %d code %d", cases[i].text, m.kind, m.err_code);
		assert_true(strlen(m.err_msg) > 0);
	}
}

static void builders(void **state)
{
	(void)state;
	json_t *id = json_integer(9);
	json_t *m = jr_error(id, JR_METHOD_NOT_FOUND, "nope");
	char *s = jr_dump(m);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32601,\"message\":\"nope\"}}");
	free(s);
	json_decref(m);
	m = jr_error(NULL, JR_PARSE_ERROR, "x");
	assert_true(json_is_null(json_object_get(m, "id")));
	json_decref(m);
	m = jr_result(id, json_pack("{s:s}", "k", "line\nbreak"));
	s = jr_dump(m);
	assert_null(strchr(s, '\n')); /* one message per line, always */
	free(s);
	json_decref(m);
	json_decref(id);
}

/* ---- a session without a manager ---------------------------------------------------- */

struct capture {
	pthread_mutex_t lock;
	char *msgs[16];
	bool final[16];
	int n;
};

static void capture_send(void *ctx, const char *json, bool final)
{
	struct capture *c = ctx;
	pthread_mutex_lock(&c->lock);
	if (c->n < 16) {
		c->msgs[c->n] = json ? strdup(json) : NULL;
		c->final[c->n] = final;
		c->n++;
	}
	pthread_mutex_unlock(&c->lock);
}

struct fixture {
	struct mcp_server *srv;
	struct mcp_session *s;
	struct capture cap;
	struct mcp_out out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mcp_server_config cfg;
	struct aj_err e;
	mcp_server_config_defaults(&cfg);
	if (!f || mcp_server_new(&cfg, &f->srv, &e) < 0)
		return -1;
	struct box_caller c = { .key_id = "k", .tenant = "t", .role = ROLE_ADMIN };
	pthread_mutex_init(&f->cap.lock, NULL);
	f->out = (struct mcp_out){ capture_send, &f->cap };
	f->s = mcp_session_new(f->srv, &c, NULL);
	*state = f;
	return f->s ? 0 : -1;
}

static void cap_clear(struct capture *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->msgs[i]);
	c->n = 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	mcp_session_close(f->s);
	mcp_server_free(f->srv);
	cap_clear(&f->cap);
	pthread_mutex_destroy(&f->cap.lock);
	free(f);
	return 0;
}

/* Send text, expect exactly one final reply; return it parsed. */
static json_t *ask(struct fixture *f, const char *text)
{
	cap_clear(&f->cap);
	assert_int_equal(mcp_session_handle_text(f->s, text, strlen(text), &f->out), 1);
	assert_int_equal(f->cap.n, 1);
	assert_true(f->cap.final[0]);
	assert_non_null(f->cap.msgs[0]);
	json_t *j = json_loads(f->cap.msgs[0], 0, NULL);
	assert_non_null(j);
	return j;
}

static int error_code(json_t *reply)
{
	return (int)json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static void init(struct fixture *f, const char *version, const char *expect)
{
	char text[256];
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
		 "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{},"
		 "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}", version);
	json_t *r = ask(f, text);
	json_t *res = json_object_get(r, "result");
	assert_string_equal(json_string_value(json_object_get(res, "protocolVersion")), expect);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(res, "serverInfo"), "name")), "agentjail");
	json_t *caps = json_object_get(res, "capabilities");
	assert_true(json_is_false(json_object_get(json_object_get(caps, "tools"), "listChanged")));
	assert_true(json_is_object(json_object_get(caps, "logging")));
	json_decref(r);
	assert_string_equal(mcp_session_version(f->s), expect);
}

static void negotiation(void **state)
{
	struct fixture *f = *state;
	init(f, "2025-06-18", "2025-06-18");
	/* a second initialize is refused */
	json_t *r = ask(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\","
			   "\"params\":{\"protocolVersion\":\"2025-11-25\"}}");
	assert_int_equal(error_code(r), JR_INVALID_REQUEST);
	json_decref(r);
	assert_true(mcp_version_supported("2025-11-25"));
	assert_true(mcp_version_supported("2025-03-26"));
	assert_false(mcp_version_supported("2024-11-05"));
	assert_false(mcp_version_supported(NULL));
}

static void unknown_version(void **state)
{
	init(*state, "1999-01-01", "2025-11-25");
}

static void before_initialize(void **state)
{
	struct fixture *f = *state;
	json_t *r = ask(f, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}");
	assert_true(json_is_object(json_object_get(r, "result")));
	json_decref(r);
	r = ask(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}");
	assert_int_equal(error_code(r), JR_INVALID_REQUEST);
	json_decref(r);
	r = ask(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\",\"params\":{}}");
	assert_int_equal(error_code(r), JR_INVALID_PARAMS); /* no protocolVersion */
	json_decref(r);
	assert_string_equal(mcp_session_version(f->s), "");
}

static void errors(void **state)
{
	struct fixture *f = *state;
	init(f, "2025-11-25", "2025-11-25");
	struct { const char *text; int code; json_int_t id; } cases[] = {
		{ "not json", JR_PARSE_ERROR, -1 },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}]", JR_INVALID_REQUEST, -1 },
		{ "{\"jsonrpc\":\"2.1\",\"id\":5,\"method\":\"ping\"}", JR_INVALID_REQUEST, 5 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/list\"}", JR_METHOD_NOT_FOUND, 6 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":[]}", JR_INVALID_PARAMS, 7 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{}}", JR_INVALID_PARAMS, 8 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"rm_rf\"}}", JR_INVALID_PARAMS, 9 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{\"name\":\"run_code\",\"arguments\":[1]}}", JR_INVALID_PARAMS, 10 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"loud\"}}", JR_INVALID_PARAMS, 11 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = ask(f, cases[i].text);
		json_t *id = json_object_get(r, "id");
		if (error_code(r) != cases[i].code)
			fail_msg("'%s': code %d", cases[i].text, error_code(r));
		if (cases[i].id < 0)
			assert_true(json_is_null(id));
		else
			assert_int_equal(json_integer_value(id), cases[i].id);
		json_decref(r);
	}
}

static void notifications_get_no_reply(void **state)
{
	struct fixture *f = *state;
	const char *quiet[] = {
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":99}}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":[1]}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"made/up\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}",
	};
	cap_clear(&f->cap);
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		assert_int_equal(mcp_session_handle_text(f->s, quiet[i], strlen(quiet[i]),
							 &f->out), 0);
	assert_int_equal(f->cap.n, 0);
}

static void tools_list_and_levels(void **state)
{
	struct fixture *f = *state;
	init(f, "2025-11-25", "2025-11-25");
	json_t *r = ask(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{}}");
	json_t *tools = json_object_get(json_object_get(r, "result"), "tools");
	assert_int_equal(json_array_size(tools), 7);
	json_decref(r);
	const char *levels[] = { "debug", "info", "notice", "warning", "error",
				 "critical", "alert", "emergency" };
	for (size_t i = 0; i < 8; i++) {
		char text[160];
		snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
			 "\"logging/setLevel\",\"params\":{\"level\":\"%s\"}}", levels[i]);
		r = ask(f, text);
		json_t *res = json_object_get(r, "result");
		assert_true(json_is_object(res) && json_object_size(res) == 0);
		json_decref(r);
	}
}

/* Arguments of the wrong shape are tool errors (isError with a message
 * naming the argument and an outputSchema-shaped structuredContent), not
 * protocol errors, so the model can correct itself. */
static void bad_arguments(void **state)
{
	struct fixture *f = *state;
	init(f, "2025-11-25", "2025-11-25");
	struct { const char *args; const char *tool; const char *want; } cases[] = {
		{ "{\"command\":5}", "run_command", "'command' must be a string" },
		{ "{}", "run_command", "'command' is required" },
		{ "{\"code\":\"1\",\"language\":\"cobol\"}", "run_code", "'language' must be one of" },
		{ "{\"code\":\"1\",\"timeout_ms\":0}", "run_code", "'timeout_ms' must be at least 1" },
		{ "{\"code\":\"1\",\"timeout_ms\":\"5\"}", "run_code", "'timeout_ms' must be an integer" },
		{ "{\"code\":\"1\",\"timeout_ms\":2.5}", "run_code", "'timeout_ms' must be an integer" },
		{ "{\"command\":\"x\",\"env\":{\"A\":1}}", "run_command", "'env.A' must be a string" },
		{ "{\"command\":\"x\",\"shell\":\"zsh\"}", "run_command", "'shell' is not known" },
		{ "{\"path\":\"/x\",\"depth\":9}", "list_files", "'depth' must be at most 5" },
		{ "{}", "destroy_sandbox", "'sandbox_id' is required" },
		{ "{\"sandbox_id\":\"x\"}", "create_sandbox", "'sandbox_id' is not known" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[400];
		snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":"
			 "\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
			 i + 100, cases[i].tool, cases[i].args);
		json_t *r = ask(f, text);
		json_t *res = json_object_get(r, "result");
		assert_true(json_is_true(json_object_get(res, "isError")));
		const char *err = json_string_value(json_object_get(
			json_object_get(res, "structuredContent"), "error"));
		if (!err || !strstr(err, cases[i].want))
			fail_msg("%s %s: got '%s', want '%s'", cases[i].tool, cases[i].args,
				 err ? err : "(none)", cases[i].want);
		/* the text block is the structured content as JSON */
		json_t *text0 = json_array_get(json_object_get(res, "content"), 0);
		json_t *parsed = json_loads(json_string_value(json_object_get(text0, "text")), 0, NULL);
		assert_true(json_equal(parsed, json_object_get(res, "structuredContent")));
		json_decref(parsed);
		json_decref(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelopes),
		cmocka_unit_test(bad_envelopes),
		cmocka_unit_test(builders),
		cmocka_unit_test_setup_teardown(negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_version, setup, teardown),
		cmocka_unit_test_setup_teardown(before_initialize, setup, teardown),
		cmocka_unit_test_setup_teardown(errors, setup, teardown),
		cmocka_unit_test_setup_teardown(notifications_get_no_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(tools_list_and_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
