/* schema.c - a small JSON Schema checker for tool arguments.  It reports
 * the first problem in words a model can act on, naming the argument. */
#include "mcp/schema.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int check(const json_t *schema, const json_t *v, const char *path,
		 char *msg, size_t len);

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static const char *article(const char *type)
{
	if (strcmp(type, "object") == 0 || strcmp(type, "array") == 0 ||
	    strcmp(type, "integer") == 0)
		return "an";
	return "a";
}

/* A real with no fraction counts as an integer: JSON does not tell 3 from
 * 3.0, and some clients send every number as a double. */
static bool is_type(const json_t *v, const char *type)
{
	if (strcmp(type, "object") == 0) return json_is_object(v);
	if (strcmp(type, "array") == 0) return json_is_array(v);
	if (strcmp(type, "string") == 0) return json_is_string(v);
	if (strcmp(type, "boolean") == 0) return json_is_boolean(v);
	if (strcmp(type, "number") == 0) return json_is_number(v);
	if (strcmp(type, "integer") == 0) {
		if (json_is_integer(v))
			return true;
		double d = json_real_value(v);
		return json_is_real(v) && d > -9e15 && d < 9e15 &&
		       d == (double)(long long)d;
	}
	return true; /* a type we do not use: accept */
}

static int fail(char *msg, size_t len, const char *path, const char *what)
{
	if (*path)
		snprintf(msg, len, "argument '%s' %s", path, what);
	else
		snprintf(msg, len, "arguments %s", what);
	return -1;
}

static int check_enum(const json_t *en, const json_t *v, const char *path,
		      char *msg, size_t len)
{
	size_t i;
	const json_t *opt;
	json_array_foreach(en, i, opt)
		if (json_equal(opt, v))
			return 0;
	char list[200] = "";
	size_t used = 0;
	json_array_foreach(en, i, opt) {
		char *s = json_dumps(opt, JSON_ENCODE_ANY | JSON_COMPACT);
		if (s && used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "%s%s", i ? ", " : "", s);
		free(s);
	}
	char what[256];
	snprintf(what, sizeof(what), "must be one of %s", list);
	return fail(msg, len, path, what);
}

static int check_range(const json_t *schema, const json_t *v,
		       const char *path, char *msg, size_t len)
{
	const json_t *min = json_object_get(schema, "minimum");
	const json_t *max = json_object_get(schema, "maximum");
	double d = json_number_value(v);
	char what[128];
	if (min && d < json_number_value(min)) {
		snprintf(what, sizeof(what), "must be at least %g", json_number_value(min));
		return fail(msg, len, path, what);
	}
	if (max && d > json_number_value(max)) {
		snprintf(what, sizeof(what), "must be at most %g", json_number_value(max));
		return fail(msg, len, path, what);
	}
	return 0;
}

static int check_string(const json_t *schema, const json_t *v,
			const char *path, char *msg, size_t len)
{
	const json_t *max = json_object_get(schema, "maxLength");
	/* jansson strings are UTF-8; count bytes: a conservative bound */
	if (max && json_string_length(v) > (size_t)json_integer_value(max)) {
		char what[128];
		snprintf(what, sizeof(what), "is longer than %lld bytes",
			 (long long)json_integer_value(max));
		return fail(msg, len, path, what);
	}
	return 0;
}

static void join_path(char *out, size_t n, const char *base, const char *key)
{
	if (*base)
		snprintf(out, n, "%s.%s", base, key);
	else
		snprintf(out, n, "%s", key);
}

static int check_required(const json_t *schema, const json_t *v,
			  const char *path, char *msg, size_t len)
{
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(schema, "required"), i, r) {
		const char *key = json_string_value(r);
		if (key && !json_object_get(v, key)) {
			char sub[128];
			join_path(sub, sizeof(sub), path, key);
			return fail(msg, len, sub, "is required");
		}
	}
	return 0;
}

/* Names of the properties the schema allows, for "unknown argument". */
static void allowed_list(const json_t *props, char *out, size_t n)
{
	const char *k;
	const json_t *unused;
	size_t used = 0;
	out[0] = '\0';
	json_object_foreach((json_t *)props, k, unused) {
		if (used >= n)
			break;
		used += (size_t)snprintf(out + used, n - used, "%s%s",
					 used ? ", " : "", k);
	}
}

static int check_object(const json_t *schema, const json_t *v,
			const char *path, char *msg, size_t len)
{
	if (check_required(schema, v, path, msg, len) < 0)
		return -1;
	const json_t *props = json_object_get(schema, "properties");
	const json_t *extra = json_object_get(schema, "additionalProperties");
	const char *key;
	const json_t *val;
	json_object_foreach((json_t *)v, key, val) {
		char sub[128];
		join_path(sub, sizeof(sub), path, key);
		const json_t *ps = json_object_get(props, key);
		if (!ps && json_is_false(extra)) {
			char allowed[160], what[220];
			allowed_list(props, allowed, sizeof(allowed));
			snprintf(what, sizeof(what),
				 "is not known; the arguments are: %s", allowed);
			return fail(msg, len, sub, what);
		}
		if (!ps && json_is_object(extra))
			ps = extra;
		if (ps && check(ps, val, sub, msg, len) < 0)
			return -1;
	}
	return 0;
}

static int check_array(const json_t *schema, const json_t *v,
		       const char *path, char *msg, size_t len)
{
	const json_t *items = json_object_get(schema, "items");
	size_t i;
	const json_t *el;
	if (!items)
		return 0;
	json_array_foreach(v, i, el) {
		char sub[128];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (check(items, el, sub, msg, len) < 0)
			return -1;
	}
	return 0;
}

static int check(const json_t *schema, const json_t *v, const char *path,
		 char *msg, size_t len)
{
	const char *type = json_string_value(json_object_get(schema, "type"));
	if (type && !is_type(v, type)) {
		char what[128];
		snprintf(what, sizeof(what), "must be %s %s, not %s",
			 article(type), type, type_name(v));
		return fail(msg, len, path, what);
	}
	const json_t *en = json_object_get(schema, "enum");
	if (en && check_enum(en, v, path, msg, len) < 0)
		return -1;
	if (json_is_number(v))
		return check_range(schema, v, path, msg, len);
	if (json_is_string(v))
		return check_string(schema, v, path, msg, len);
	if (json_is_object(v))
		return check_object(schema, v, path, msg, len);
	if (json_is_array(v))
		return check_array(schema, v, path, msg, len);
	return 0;
}

int schema_check(const json_t *schema, const json_t *value, char *msg,
		 size_t msglen)
{
	if (msglen)
		msg[0] = '\0';
	return check(schema, value, "", msg, msglen);
}
