/* Unit tests for the pure parts of the MCP front end: the tool table and
 * its renderings, the argument schema checker, UTF-8 repair, and the
 * Origin/Host checks of the HTTP transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mcp/origin.h"
#include "mcp/schema.h"
#include "mcp/text.h"
#include "mcp/tools.h"

/* ---- the tool table --------------------------------------------------------- */

static void table_is_sound(void **state)
{
	(void)state;
	assert_int_equal(mcp_ntools, 7);
	for (size_t i = 0; i < mcp_ntools; i++) {
		const struct mcp_tool *t = &mcp_tools[i];
		json_error_t err;
		json_t *in = json_loads(t->input_schema, 0, &err);
		if (!in)
			fail_msg("%s: input schema: %s", t->name, err.text);
		json_t *out = json_loads(t->output_schema, 0, &err);
		if (!out)
			fail_msg("%s: output schema: %s", t->name, err.text);
		assert_string_equal(json_string_value(json_object_get(in, "type")), "object");
		assert_true(json_is_false(json_object_get(in, "additionalProperties")));
		json_decref(in);
		json_decref(out);
		assert_ptr_equal(mcp_tool_find(t->name), t);
		assert_non_null(t->run);
		assert_true(strlen(t->description) > 100);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(mcp_tools[j].name, t->name);
	}
	assert_null(mcp_tool_find("nope"));
	assert_null(mcp_tool_find(NULL));
}

static void common_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < mcp_ntools; i++) {
		const struct mcp_tool *t = &mcp_tools[i];
		json_t *in = mcp_tool_input_schema(t);
		json_t *sid = json_object_get(json_object_get(in, "properties"), "sandbox_id");
		bool takes = strcmp(t->name, "create_sandbox") != 0;
		assert_int_equal(sid != NULL, takes);
		json_decref(in);
		/* every output can carry an error and names its sandbox: error
		 * results must fit the schema too */
		json_t *out = mcp_tool_output_schema(t);
		json_t *props = json_object_get(out, "properties");
		assert_non_null(json_object_get(props, "error"));
		assert_non_null(json_object_get(props, "sandbox_id"));
		assert_null(json_object_get(out, "required"));
		json_t *err = json_pack("{s:s}", "error", "x");
		char msg[200];
		assert_int_equal(schema_check(out, err, msg, sizeof(msg)), 0);
		json_decref(err);
		json_decref(out);
	}
}

static void renderings(void **state)
{
	(void)state;
	json_t *mcp = mcp_tools_render("mcp");
	json_t *tools = json_object_get(mcp, "tools");
	assert_int_equal(json_array_size(tools), mcp_ntools);
	json_t *t0 = json_array_get(tools, 0);
	assert_non_null(json_object_get(t0, "inputSchema"));
	assert_non_null(json_object_get(t0, "outputSchema"));
	json_t *ann = json_object_get(t0, "annotations");
	assert_true(json_is_false(json_object_get(ann, "openWorldHint")));
	assert_true(json_is_boolean(json_object_get(ann, "readOnlyHint")));
	json_decref(mcp);

	json_t *oa = mcp_tools_render("openai");
	assert_int_equal(json_array_size(oa), mcp_ntools);
	json_t *f = json_object_get(json_array_get(oa, 1), "function");
	assert_string_equal(json_string_value(json_object_get(json_array_get(oa, 1), "type")),
			    "function");
	assert_string_equal(json_string_value(json_object_get(f, "name")), mcp_tools[1].name);
	assert_non_null(json_object_get(f, "parameters"));
	json_decref(oa);

	json_t *an = mcp_tools_render("anthropic");
	json_t *a2 = json_array_get(an, 2);
	assert_string_equal(json_string_value(json_object_get(a2, "name")), mcp_tools[2].name);
	assert_non_null(json_object_get(a2, "input_schema"));
	assert_null(json_object_get(a2, "inputSchema"));
	json_decref(an);

	assert_null(mcp_tools_render("langchain"));
	assert_null(mcp_tools_render(NULL));
}

/* ---- schema_check -------------------------------------------------------------- */

static int check_text(const char *schema, const char *value, char *msg, size_t n)
{
	json_t *s = json_loads(schema, 0, NULL);
	json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
	assert_non_null(s);
	assert_non_null(v);
	int rc = schema_check(s, v, msg, n);
	json_decref(s);
	json_decref(v);
	return rc;
}

static void schema_accepts(void **state)
{
	(void)state;
	char msg[200];
	const char *s = "{\"type\":\"object\",\"properties\":{"
		"\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
		"\"x\":{\"type\":\"number\"},\"b\":{\"type\":\"boolean\"},"
		"\"e\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},"
		"\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
		"\"l\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}},"
		"\"required\":[\"n\"],\"additionalProperties\":false}";
	assert_int_equal(check_text(s, "{\"n\":1}", msg, sizeof(msg)), 0);
	assert_int_equal(check_text(s, "{\"n\":10.0,\"x\":2,\"b\":true,\"e\":\"b\","
				    "\"m\":{\"k\":\"v\"},\"l\":[1,2]}", msg, sizeof(msg)), 0);
}

static void schema_refuses(void **state)
{
	(void)state;
	char msg[200];
	const char *s = "{\"type\":\"object\",\"properties\":{"
		"\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
		"\"e\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},"
		"\"t\":{\"type\":\"string\",\"maxLength\":3},"
		"\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
		"\"l\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}},"
		"\"required\":[\"n\"],\"additionalProperties\":false}";
	struct { const char *v; const char *want; } cases[] = {
		{ "[]", "arguments must be an object, not an array" },
		{ "{}", "argument 'n' is required" },
		{ "{\"n\":\"3\"}", "argument 'n' must be an integer, not a string" },
		{ "{\"n\":3.5}", "argument 'n' must be an integer, not a number" },
		{ "{\"n\":0}", "argument 'n' must be at least 1" },
		{ "{\"n\":11}", "argument 'n' must be at most 10" },
		{ "{\"n\":1,\"e\":\"c\"}", "argument 'e' must be one of \"a\", \"b\"" },
		{ "{\"n\":1,\"t\":\"abcd\"}", "argument 't' is longer than 3 bytes" },
		{ "{\"n\":1,\"m\":{\"k\":null}}", "argument 'm.k' must be a string, not null" },
		{ "{\"n\":1,\"l\":[1,\"2\"]}", "argument 'l[1]' must be an integer" },
		{ "{\"n\":1,\"zz\":1}", "argument 'zz' is not known; the arguments are: n, e, t, m, l" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(check_text(s, cases[i].v, msg, sizeof(msg)), -1);
		if (strncmp(msg, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("%s: got '%s', want '%s'", cases[i].v, msg, cases[i].want);
	}
}

/* ---- UTF-8 ---------------------------------------------------------------------- */

static void utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	assert_false(utf8_valid("\xc3", 1));            /* cut */
	assert_false(utf8_valid("\xc0\xaf", 2));        /* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));    /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(utf8_valid("\xff", 1));
	assert_true(utf8_valid("", 0));
	assert_int_equal(utf8_complete_prefix("ab\xc3", 3), 2);
	assert_int_equal(utf8_complete_prefix("ab\xe2\x82", 4), 2);
	assert_int_equal(utf8_complete_prefix("ab\xe2\x82\xac", 5), 5);
	assert_int_equal(utf8_complete_prefix("abc", 3), 3);
	json_t *j = text_json("a\xff" "b\0c", 5);
	assert_int_equal(json_string_length(j), 7); /* a U+FFFD b NUL c */
	assert_memory_equal(json_string_value(j), "a\xef\xbf\xbd" "b\0c", 7);
	json_decref(j);
}

/* ---- Origin and Host ------------------------------------------------------------ */

static void origins(void **state)
{
	(void)state;
	const char *ok[] = { "http://localhost", "http://localhost:3000",
			     "https://127.0.0.1:8080", "http://[::1]:9", "HTTP://LOCALHOST",
			     "http://localhost/" };
	const char *bad[] = { "http://evil.example.com", "http://localhost.evil.com",
			      "http://127.0.0.1.nip.io", "null", "file://", "ftp://localhost",
			      "http://", "http://[::1", "http://localhost/path", "localhost",
			      "http://10.0.0.5:8080" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!mcp_origin_allowed(ok[i], "127.0.0.1"))
			fail_msg("refused %s", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mcp_origin_allowed(bad[i], "127.0.0.1"))
			fail_msg("allowed %s", bad[i]);
	assert_false(mcp_origin_allowed(NULL, "127.0.0.1"));
	/* the listen address itself, but never a wildcard */
	assert_true(mcp_origin_allowed("http://10.0.0.5:8080", "10.0.0.5"));
	assert_true(mcp_origin_allowed("http://[fd00::1]:8080", "fd00::1"));
	assert_false(mcp_origin_allowed("http://0.0.0.0:8080", "0.0.0.0"));
}

static void hosts(void **state)
{
	(void)state;
	assert_true(mcp_host_allowed("127.0.0.1:8080", "127.0.0.1"));
	assert_true(mcp_host_allowed("localhost", "127.0.0.1"));
	assert_true(mcp_host_allowed("[::1]:80", "::1"));
	assert_false(mcp_host_allowed("evil.example.com", "127.0.0.1"));
	assert_false(mcp_host_allowed("evil.example.com:8080", "127.0.0.1"));
	assert_false(mcp_host_allowed("", "127.0.0.1"));
	assert_false(mcp_host_allowed(NULL, "127.0.0.1"));
	assert_true(mcp_host_is_loopback("127.0.0.1"));
	assert_true(mcp_host_is_loopback("127.1.2.3"));
	assert_true(mcp_host_is_loopback("::1"));
	assert_true(mcp_host_is_loopback("localhost"));
	assert_false(mcp_host_is_loopback("0.0.0.0"));
	assert_false(mcp_host_is_loopback("10.0.0.5"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_is_sound),
		cmocka_unit_test(common_fields),
		cmocka_unit_test(renderings),
		cmocka_unit_test(schema_accepts),
		cmocka_unit_test(schema_refuses),
		cmocka_unit_test(utf8),
		cmocka_unit_test(origins),
		cmocka_unit_test(hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
