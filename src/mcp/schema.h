/* schema.h - check tool arguments against the subset of JSON Schema our
 * tool definitions use: type (object, string, integer, number, boolean,
 * array), properties, required, additionalProperties (false or a schema),
 * enum, minimum, maximum, maxLength, items.  Pure. */
#ifndef AJ_MCP_SCHEMA_H
#define AJ_MCP_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* 0 if value satisfies schema; else -1 with a sentence a model can act on
 * in msg ("argument 'timeout_ms' must be an integer"). */
int schema_check(const json_t *schema, const json_t *value, char *msg,
		 size_t msglen);

#endif
