/* jsonrpc.h - JSON-RPC 2.0 envelopes as MCP uses them: classify what a
 * client sent, and build responses, errors and notifications.  Pure: no
 * I/O, no threads, no manager. */
#ifndef AJ_MCP_JSONRPC_H
#define AJ_MCP_JSONRPC_H

#include <jansson.h>
#include <stddef.h>

enum {
	JR_PARSE_ERROR = -32700,
	JR_INVALID_REQUEST = -32600,
	JR_METHOD_NOT_FOUND = -32601,
	JR_INVALID_PARAMS = -32602,
	JR_INTERNAL_ERROR = -32603,
	JR_SERVER_BUSY = -32000,     /* implementation-defined range */
	JR_REQUEST_CANCELLED = -32800,
};

enum jr_kind {
	JR_REQUEST,       /* method + id: a reply is owed */
	JR_NOTIFICATION,  /* method, no id */
	JR_RESPONSE,      /* result or error for a request we sent */
	JR_INVALID,       /* err_code / err_msg say why; id may be set */
};

/* A classified message.  id, method and params point into the json_t the
 * message was parsed from (borrowed). */
struct jr_msg {
	enum jr_kind kind;
	json_t *id;          /* string or integer; NULL if absent/unusable */
	const char *method;
	json_t *params;      /* object, or NULL if absent */
	int err_code;
	char err_msg[160];
};

/* Classify one parsed message (a single object; batches are refused). */
void jr_classify(json_t *root, struct jr_msg *out);

/* Parse text and classify it.  *root receives the parsed JSON (caller
 * decrefs; NULL on a parse error, in which case out->kind is JR_INVALID
 * with JR_PARSE_ERROR). */
void jr_parse(const char *text, size_t len, json_t **root, struct jr_msg *out);

/* {"jsonrpc":"2.0","id":id,"result":result}; steals result. */
json_t *jr_result(json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":id|null,"error":{code,message}}. */
json_t *jr_error(json_t *id, int code, const char *message);
/* {"jsonrpc":"2.0","method":method,"params":params}; steals params. */
json_t *jr_notification(const char *method, json_t *params);

/* Serialize compactly on one line (no embedded newline); caller frees. */
char *jr_dump(const json_t *msg);

#endif
