/* http.h - what a route handler sees: the request (path parameters, query,
 * headers, caller, body) and the one way to answer it.
 *
 * The native REST routes (src/api) are written against this header;
 * so can the routes another front end mounts on the same daemon (MCP, the
 * E2B API: see api_config.mounts in api.h).  Every route gets the same
 * body limits, the same error rendering and the same request log.
 *
 * A request goes through the router in three steps, matching how
 * libmicrohttpd delivers it:
 *   1. headers in: the path is matched, the caller authenticated (unless
 *      API_NOAUTH), a declared Content-Length over the limit refused, and
 *      body_begin called for API_RAW_BODY routes.  An error here is
 *      answered before the client sends its body.
 *   2. body chunks: buffered (up to API_MAX_JSON_BODY) or handed to
 *      body_chunk.  After an error the rest of the body is read and
 *      dropped, then the error is answered (libmicrohttpd cannot answer in
 *      the middle of a body); past API_DRAIN_MAX the connection is closed.
 *   3. body complete: run() answers, with exactly one api_reply_* call.
 */
#ifndef AJ_API_HTTP_H
#define AJ_API_HTTP_H

#include <jansson.h>
#include "api/mhd.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "box/box.h"
#include "util/err.h"

#define API_MAX_JSON_BODY (8u << 20) /* JSON request bodies */
#define API_DRAIN_MAX (64u << 20)    /* body dropped after an error, at most */

struct api_req;

enum api_route_flags {
	API_NOAUTH = 1u,   /* no Bearer key needed (or the route checks its own) */
	API_RAW_BODY = 2u, /* body goes to body_chunk instead of a buffer */
};

struct api_route {
	const char *method;  /* "GET", "POST", ... */
	/* "/v1/sandboxes/{id}/exec": {name} matches one path segment; a
	 * final "*" matches whatever is left (also nothing). */
	const char *pattern;
	enum MHD_Result (*run)(struct api_req *r);
	unsigned flags;
	/* API_RAW_BODY only.  Return 0, or -1 with e filled: that error is
	 * answered and the rest of the body dropped. */
	int (*body_begin)(struct api_req *r, struct aj_err *e);
	int (*body_chunk)(struct api_req *r, const char *data, size_t len,
			  struct aj_err *e);
};

/* ---- the request -------------------------------------------------------- */

struct box_mgr *api_mgr(const struct api_req *r);
const struct box_caller *api_caller(const struct api_req *r);
struct MHD_Connection *api_conn(const struct api_req *r);
const char *api_method(const struct api_req *r);
/* The data pointer of the mount whose route matched (NULL for native
 * routes). */
void *api_mount_data(const struct api_req *r);

/* A {name} of the route's pattern, percent-decoded (never NULL when the
 * pattern has it; "*" names the rest of the path). */
const char *api_param(const struct api_req *r, const char *name);
/* Query arguments, percent-decoded ('+' is a space).  api_query: the first
 * value of name, or NULL.  api_query_at: the i-th argument (any name) or
 * false past the end, for repeated or prefixed names. */
const char *api_query(const struct api_req *r, const char *name);
bool api_query_at(const struct api_req *r, size_t i, const char **name,
		  const char **value);
/* A request header (case-insensitive name), or NULL. */
const char *api_header(const struct api_req *r, const char *name);

/* For API_NOAUTH routes that take their key another way (an X-API-Key
 * header, a token in the body): authenticate secret and make it the
 * request's caller (under --no-auth: the no-auth caller, whatever secret
 * is).  AJ_EAUTH if it is not a valid key. */
int api_auth_key(struct api_req *r, const char *secret, struct aj_err *e);
/* The request proved who sent it some other way (a sandbox token): its
 * connection no longer counts as an unauthenticated one, whose places and
 * header deadline are limited (see --max-unauth-connections).  Native
 * keys and api_auth_key do this themselves. */
void api_authenticated(struct api_req *r);

/* The buffered body as a JSON object; an empty body is {}.  Strings with
 * \u0000 and duplicate keys are refused.  AJ_EINVAL with the parser's
 * message otherwise.  The caller owns *out. */
int api_body_json(const struct api_req *r, json_t **out, struct aj_err *e);

/* Per-request state of a handler, freed (by fn) when the request ends,
 * whether or not it was answered. */
void api_set_ctx(struct api_req *r, void *ctx, void (*fn)(void *ctx));
void *api_ctx(const struct api_req *r);

/* ---- answering -------------------------------------------------------------- */

/* The one mapping from error code to HTTP status. */
unsigned api_http_status(enum aj_code code);

/* Each queues the response and returns what the access handler returns.
 * api_reply takes over resp (drops our reference). */
enum MHD_Result api_reply(struct api_req *r, unsigned status,
			  struct MHD_Response *resp);
enum MHD_Result api_reply_json(struct api_req *r, unsigned status,
			       json_t *body); /* steals body */
enum MHD_Result api_reply_empty(struct api_req *r, unsigned status);
/* {"error":{"code":aj_code_name,"message":...}} with its status. */
enum MHD_Result api_reply_err(struct api_req *r, const struct aj_err *e);
enum MHD_Result api_reply_errf(struct api_req *r, enum aj_code code,
			       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- JSON fields -------------------------------------------------------------- */
/* Readers of one optional field of an object.  They return 1 if present,
 * 0 if absent or null (out untouched), -1 with e = AJ_EINVAL naming the
 * field if it has the wrong type or range.  Strings are borrowed from o. */
int jf_string(json_t *o, const char *name, const char **out, struct aj_err *e);
int jf_int(json_t *o, const char *name, int64_t min, int64_t max,
	   int64_t *out, struct aj_err *e);
int jf_number(json_t *o, const char *name, double min, double max,
	      double *out, struct aj_err *e);
int jf_bool(json_t *o, const char *name, bool *out, struct aj_err *e);
/* An object of strings.  *out is a malloc'd array pointing into o: free
 * the array only (free(*out)). */
int jf_kv(json_t *o, const char *name, struct box_kv **out, size_t *n,
	  struct aj_err *e);
/* An array of strings, NULL-terminated; same ownership as jf_kv. */
int jf_strv(json_t *o, const char *name, char ***out, struct aj_err *e);
/* Bytes given either as text (field name) or base64 (field name_b64);
 * both is an error.  *out is malloc'd (NUL-terminated), caller frees. */
int jf_bytes(json_t *o, const char *name, char **out, size_t *len,
	     struct aj_err *e);

/* ---- rendering helpers ---------------------------------------------------------- */

/* RFC 3339 UTC with milliseconds: "2026-01-02T03:04:05.678Z". */
void api_rfc3339(int64_t ms, char out[32]);
/* That as a JSON string (or JSON null for ms <= 0). */
json_t *api_json_time(int64_t ms);
/* "1700000000000" (ms since the epoch) or RFC 3339 -> ms. */
int api_parse_time(const char *s, int64_t *ms);
/* A string from the manager as JSON, cut before any invalid UTF-8 (fixed
 * buffers there may have cut a character in two). */
json_t *api_json_str(const char *s);
/* Set o[name] to the bytes as text; if they are not valid UTF-8, the text
 * has U+FFFD for the bad bytes and o[name + "_b64"] holds them exactly. */
void api_json_set_bytes(json_t *o, const char *name, const char *data,
			size_t len);
/* Length of the longest prefix of s that is valid UTF-8 (RFC 3629). */
size_t api_utf8_valid_len(const char *s, size_t n);
/* Is p[0..n) the start of a UTF-8 character that needs more bytes (one
 * cut at the end of an output chunk)? */
bool api_utf8_incomplete(const unsigned char *p, size_t n);

#endif
