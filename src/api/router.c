/* router.c - method + path -> route, authentication, and the three steps
 * of a request (headers, body chunks, complete) described in http.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"

/* ---- matching ------------------------------------------------------------ */

static int capture(struct api_req *r, const char *name, size_t nlen,
		   const char *val, size_t vlen)
{
	if (r->nparams == API_MAX_PARAMS)
		return -1;
	char *v = req_decode_segment(val, vlen);
	if (!v)
		return -1;
	r->param_names[r->nparams] = name;
	r->param_name_len[r->nparams] = nlen;
	r->params[r->nparams++] = v;
	return 0;
}

/* Does the (raw) path match the pattern?  With r, capture the params. */
static bool match(const char *pat, const char *path, struct api_req *r)
{
	while (*pat == '/') {
		pat++;
		if (strcmp(pat, "*") == 0) {
			const char *rest = *path == '/' ? path + 1 : path;
			if (*path && *path != '/')
				return false;
			return !r || capture(r, "*", 1, rest, strlen(rest)) == 0;
		}
		if (*path != '/')
			return false;
		path++;
		size_t pl = strcspn(pat, "/"), sl = strcspn(path, "/");
		if (pl > 2 && pat[0] == '{' && pat[pl - 1] == '}') {
			if (sl == 0 || (r && capture(r, pat + 1, pl - 2, path, sl) < 0))
				return false;
		} else if (pl != sl || memcmp(pat, path, pl) != 0) {
			return false;
		}
		pat += pl;
		path += sl;
	}
	return *pat == '\0' && *path == '\0';
}

/* Mounted tables first, then the native one. */
static const struct api_route *route_at(const struct api_server *s, size_t t,
					size_t *n)
{
	if (t < s->cfg.nmounts) {
		*n = s->cfg.mounts[t].nroutes;
		return s->cfg.mounts[t].routes;
	}
	if (t == s->cfg.nmounts) {
		*n = api_native_nroutes;
		return api_native_routes;
	}
	return NULL;
}

unsigned router_match(struct api_req *r, char *allow, size_t allowlen)
{
	const struct api_route *tab;
	size_t n, used = 0;
	allow[0] = '\0';
	for (size_t t = 0; (tab = route_at(r->srv, t, &n)); t++) {
		for (size_t i = 0; i < n; i++) {
			if (!match(tab[i].pattern, r->path, NULL))
				continue;
			if (strcmp(tab[i].method, r->method) == 0) {
				r->route = &tab[i];
				r->mount_data = t < r->srv->cfg.nmounts
							? r->srv->cfg.mounts[t].data : NULL;
				return match(tab[i].pattern, r->path, r) ? 0 : MHD_HTTP_BAD_REQUEST;
			}
			int k = snprintf(allow + used, allowlen - used, "%s%s",
					 used ? ", " : "", tab[i].method);
			if (k > 0 && (size_t)k < allowlen - used)
				used += (size_t)k;
		}
	}
	return used ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
}

/* ---- authentication ---------------------------------------------------------- */

void api_noauth_caller(struct box_caller *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->key_id, sizeof(c->key_id), "no-auth");
	snprintf(c->tenant, sizeof(c->tenant), "default");
	c->role = ROLE_ADMIN;
	c->keyless = true;
}

int api_auth_key(struct api_req *r, const char *secret, struct aj_err *e)
{
	if (r->srv->cfg.no_auth) {
		api_noauth_caller(&r->caller);
		api_authenticated(r);
		return 0;
	}
	if (!secret)
		return aj_err_set(e, AJ_EAUTH, 0, "no API key");
	if (box_auth(r->srv->mgr, secret, &r->caller, e) < 0)
		return -1;
	api_authenticated(r);
	return 0;
}

void api_authenticated(struct api_req *r)
{
	guard_trust(r->gc);
}

static int authenticate(struct api_req *r, struct aj_err *e)
{
	if (r->srv->cfg.no_auth)
		return api_auth_key(r, NULL, e);
	const char *h = api_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h)
		return aj_err_set(e, AJ_EAUTH, 0,
				  "missing 'Authorization: Bearer <key>' header");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return aj_err_set(e, AJ_EAUTH, 0,
				  "the Authorization header must be 'Bearer <key>'");
	h += 7;
	return api_auth_key(r, h + strspn(h, " "), e);
}

/* ---- the three steps ------------------------------------------------------------ */

/* The declared body length, or -1 if none (none or chunked). */
static int64_t content_length(struct api_req *r)
{
	const char *cl = api_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	return errno || *end || n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

static bool has_body(struct api_req *r)
{
	return content_length(r) > 0 ||
	       api_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* An error known from the headers alone.  Answered at once when the
 * client has not sent a body yet (no body, or it waits for "100
 * Continue") or when the body is too big to be worth reading; otherwise
 * answered after the body has been read and dropped, because most
 * clients send the whole body before they read anything, and an answer
 * followed by a closed connection reaches them as a broken pipe. */
static enum MHD_Result refuse(struct api_req *r, const struct aj_err *e)
{
	const char *expect = api_header(r, MHD_HTTP_HEADER_EXPECT);
	bool waits = expect && strcasecmp(expect, "100-continue") == 0;
	if (!has_body(r) || waits || content_length(r) > (int64_t)API_DRAIN_MAX)
		return api_reply_err(r, e);
	r->err = *e;
	r->failed = true;
	return MHD_YES;
}

enum MHD_Result router_begin(struct api_req *r)
{
	struct aj_err e = { 0 };
	char allow[96];
	pthread_mutex_lock(&r->srv->lock);
	bool stopping = r->srv->stopping;
	pthread_mutex_unlock(&r->srv->lock);
	if (stopping)
		return api_reply_errf(r, AJ_EUNAVAIL, "the server is stopping");
	if (req_parse_target(r, &e) < 0)
		return refuse(r, &e);
	switch (router_match(r, allow, sizeof(allow))) {
	case 0:
		break;
	case MHD_HTTP_METHOD_NOT_ALLOWED:
		return api_reply_error_as(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
					  "method not allowed on this path", allow);
	case MHD_HTTP_NOT_FOUND:
		aj_err_set(&e, AJ_ENOTFOUND, 0, "no such endpoint");
		return refuse(r, &e);
	default:
		aj_err_set(&e, AJ_EINVAL, 0, "malformed path");
		return refuse(r, &e);
	}
	if (!(r->route->flags & API_NOAUTH) && authenticate(r, &e) < 0)
		return refuse(r, &e);
	if (!(r->route->flags & API_RAW_BODY) &&
	    content_length(r) > (int64_t)API_MAX_JSON_BODY) {
		aj_err_set(&e, AJ_ETOOBIG, 0, "request body over %u bytes", API_MAX_JSON_BODY);
		return refuse(r, &e);
	}
	if ((r->route->flags & API_RAW_BODY) && r->route->body_begin &&
	    r->route->body_begin(r, &e) < 0)
		return refuse(r, &e);
	return MHD_YES;
}

enum MHD_Result router_body(struct api_req *r, const char *data, size_t len)
{
	r->body_seen += len;
	if (r->failed)
		return r->body_seen > API_DRAIN_MAX ? MHD_NO : MHD_YES;
	if (r->route->flags & API_RAW_BODY) {
		if (r->route->body_chunk &&
		    r->route->body_chunk(r, data, len, &r->err) < 0)
			r->failed = true;
	} else if (r->body.len + len > API_MAX_JSON_BODY) {
		aj_err_set(&r->err, AJ_ETOOBIG, 0, "request body over %u bytes",
			   API_MAX_JSON_BODY);
		aj_buf_free(&r->body);
		r->failed = true;
	} else if (aj_buf_append(&r->body, data, len) < 0) {
		aj_err_set(&r->err, AJ_EINTERNAL, ENOMEM, "out of memory");
		r->failed = true;
	}
	if (r->failed)
		r->body_seen = 0; /* from now on, counts what is dropped */
	return MHD_YES;
}

enum MHD_Result router_finish(struct api_req *r)
{
	if (r->failed)
		return api_reply_err(r, &r->err);
	enum MHD_Result rc = r->route->run(r);
	if (rc == MHD_YES && !r->answered)
		rc = api_reply_errf(r, AJ_EINTERNAL, "the handler gave no answer");
	return rc;
}

void req_free(struct api_req *r)
{
	if (!r)
		return;
	if (r->ctx_free)
		r->ctx_free(r->ctx);
	for (size_t i = 0; i < r->nparams; i++)
		free(r->params[i]);
	for (size_t i = 0; i < r->nquery; i++) {
		free(r->query[i].name);
		free(r->query[i].value);
	}
	aj_buf_free(&r->body);
	free(r->path);
	free(r->uri);
	free(r);
}
