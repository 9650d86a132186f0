/* jsonrpc.c - classify incoming JSON-RPC 2.0 messages, build replies. */
#include "mcp/jsonrpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void invalid(struct jr_msg *m, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void invalid(struct jr_msg *m, int code, const char *fmt, ...)
{
	va_list ap;
	m->kind = JR_INVALID;
	m->err_code = code;
	va_start(ap, fmt);
	vsnprintf(m->err_msg, sizeof(m->err_msg), fmt, ap);
	va_end(ap);
}

/* MCP ids are strings or integers, never null (and we refuse fractions so
 * an id always round-trips exactly). */
static json_t *usable_id(json_t *id)
{
	if (json_is_string(id) || json_is_integer(id))
		return id;
	return NULL;
}

static void classify_response(json_t *root, struct jr_msg *m)
{
	json_t *result = json_object_get(root, "result");
	json_t *error = json_object_get(root, "error");
	if (!m->id)
		return invalid(m, JR_INVALID_REQUEST, "a response needs an id");
	if ((result != NULL) == (error != NULL))
		return invalid(m, JR_INVALID_REQUEST,
			       "a response carries exactly one of result and error");
	m->kind = JR_RESPONSE;
}

void jr_classify(json_t *root, struct jr_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (json_is_array(root))
		return invalid(m, JR_INVALID_REQUEST,
			       "batch requests are not supported: send one message at a time");
	if (!json_is_object(root))
		return invalid(m, JR_INVALID_REQUEST, "a message must be a JSON object");
	json_t *id = json_object_get(root, "id");
	m->id = usable_id(id);
	const char *ver = json_string_value(json_object_get(root, "jsonrpc"));
	if (!ver || strcmp(ver, "2.0") != 0)
		return invalid(m, JR_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
	if (id && !m->id)
		return invalid(m, JR_INVALID_REQUEST,
			       "\"id\" must be a string or an integer");
	json_t *method = json_object_get(root, "method");
	if (!method)
		return classify_response(root, m);
	if (!json_is_string(method))
		return invalid(m, JR_INVALID_REQUEST, "\"method\" must be a string");
	m->method = json_string_value(method);
	m->kind = m->id ? JR_REQUEST : JR_NOTIFICATION;
	json_t *params = json_object_get(root, "params");
	if (params && !json_is_object(params))
		return invalid(m, JR_INVALID_PARAMS, "\"params\" must be an object");
	m->params = params;
}

void jr_parse(const char *text, size_t len, json_t **root, struct jr_msg *out)
{
	json_error_t err;
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (!*root) {
		memset(out, 0, sizeof(*out));
		invalid(out, JR_PARSE_ERROR, "parse error: %s", err.text);
		return;
	}
	jr_classify(*root, out);
}

static json_t *envelope(json_t *id)
{
	json_t *m = json_object();
	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set(m, "id", id ? id : json_null());
	return m;
}

json_t *jr_result(json_t *id, json_t *result)
{
	json_t *m = envelope(id);
	json_object_set_new(m, "result", result ? result : json_object());
	return m;
}

json_t *jr_error(json_t *id, int code, const char *message)
{
	json_t *m = envelope(id);
	json_object_set_new(m, "error", json_pack("{s:i,s:s}", "code", code,
						  "message", message));
	return m;
}

json_t *jr_notification(const char *method, json_t *params)
{
	json_t *m = json_object();
	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set_new(m, "method", json_string(method));
	if (params)
		json_object_set_new(m, "params", params);
	return m;
}

char *jr_dump(const json_t *msg)
{
	/* JSON_COMPACT never emits a raw newline: strings escape theirs. */
	return json_dumps(msg, JSON_COMPACT);
}
