/* control.c - E2B's control plane: create, list, get, kill, set timeout,
 * connect.  Authenticated by the X-API-KEY header; errors in E2B's shape
 * {"code": <status>, "message": "..."} (the SDK keys off code 404 to make
 * kill() return false and getInfo() throw SandboxNotFoundError).
 *
 * Sandboxes are never paused here: "running" is the only state a live
 * sandbox has, and a terminated one is gone (404), as in E2B. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2b/internal.h"

#define CLIENT_ID "agentjail"
#define DEFAULT_TEMPLATE "base"
#define PAGE_DEFAULT 100
#define PAGE_MAX 100
#define MAX_TIMEOUT_S (100LL * 365 * 86400)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- rendering ------------------------------------------------------------------- */

static json_t *kv_object(const struct box_kv *kv, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, kv[i].key, api_json_str(kv[i].value));
	return o;
}

static const char *template_of(const struct box_info *i)
{
	return i->template_id[0] ? i->template_id : DEFAULT_TEMPLATE;
}

/* A list item (ListedSandbox); detail adds what GET /sandboxes/{id} has,
 * with the caller's envd token if it may have one (tok not NULL). */
static json_t *sandbox_json(const struct box_info *i, bool detail,
			    const struct box_tokens *tok)
{
	uint32_t cpus = (i->shape.cpu_millis + 999) / 1000;
	json_t *o = json_pack("{s:o,s:s,s:s,s:o,s:o,s:s,s:i,s:I,s:I,s:o,s:s}",
			      "templateID", api_json_str(template_of(i)),
			      "sandboxID", i->id, "clientID", CLIENT_ID,
			      "startedAt", api_json_time(i->created_ms),
			      "endAt", api_json_time(i->expires_ms),
			      "envdVersion", E2B_ENVD_VERSION,
			      "cpuCount", cpus ? (int)cpus : 1,
			      "memoryMB", (json_int_t)(i->shape.memory_bytes >> 20),
			      "diskSizeMB", (json_int_t)(i->shape.disk_bytes >> 20),
			      "metadata", kv_object(i->metadata, i->nmeta),
			      "state", "running");
	if (o && detail) {
		if (tok)
			json_object_set_new(o, "envdAccessToken", json_string(tok->envd));
		json_object_set_new(o, "domain", json_null());
		json_object_set_new(o, "allowInternetAccess", json_false());
	}
	return o;
}

/* What create and connect answer: the SDK's handle on the sandbox, with
 * the caller's own access tokens. */
static json_t *handle_json(const struct box_info *i, const struct box_tokens *tok)
{
	return json_pack("{s:s,s:o,s:s,s:s,s:s,s:s,s:n}", "sandboxID", i->id,
			 "templateID", api_json_str(template_of(i)), "clientID", CLIENT_ID,
			 "envdVersion", E2B_ENVD_VERSION, "envdAccessToken", tok->envd,
			 "trafficAccessToken", tok->traffic, "domain");
}

static enum MHD_Result reply_with_header(struct api_req *r, unsigned status, json_t *body,
					 const char *hname, const char *hvalue)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!s)
		return MHD_NO;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (hname && hvalue)
		MHD_add_response_header(resp, hname, hvalue);
	return api_reply(r, status, resp);
}

/* A running sandbox of the caller, else 404 with code 404. */
static int get_running(struct api_req *r, const struct box_caller *c, struct box_info *i,
		       struct aj_err *e)
{
	const char *id = api_param(r, "id");
	if (box_get(api_mgr(r), c, id, i, e) < 0)
		return -1;
	if (strcmp(i->state, "running") != 0) {
		box_info_free(i);
		return aj_err_set(e, AJ_ENOTFOUND, 0, "sandbox '%.40s' not found", id);
	}
	return 0;
}

/* ---- create ------------------------------------------------------------------------ */

/* Options E2B has and agentjail does not: refused rather than ignored. */
static int refuse_unsupported(json_t *b, struct aj_err *e)
{
	json_t *net = json_object_get(b, "network");
	json_t *resume = json_object_get(b, "autoResume");
	if (json_is_true(json_object_get(b, "autoPause")) ||
	    json_is_true(json_object_get(resume, "enabled")))
		return aj_err_set(e, AJ_EINVAL, 0, "agentjail does not support pausing sandboxes");
	if (json_is_true(json_object_get(b, "allow_internet_access")) ||
	    json_array_size(json_object_get(net, "allowOut")) > 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "agentjail sandboxes have no network access");
	if (json_array_size(json_object_get(b, "volumeMounts")) > 0)
		return aj_err_set(e, AJ_EINVAL, 0, "agentjail does not support volumes");
	if (json_object_size(json_object_get(b, "mcp")) > 0)
		return aj_err_set(e, AJ_EINVAL, 0, "agentjail does not run the E2B MCP gateway");
	return 0;
}

static int parse_create(json_t *b, struct box_create *req, struct box_kv **env,
			struct box_kv **meta, struct aj_err *e)
{
	int64_t t;
	int rc;
	if (refuse_unsupported(b, e) < 0 ||
	    jf_string(b, "templateID", &req->template_id, e) < 0 ||
	    jf_kv(b, "metadata", meta, &req->nmeta, e) < 0 ||
	    jf_kv(b, "envVars", env, &req->nenv, e) < 0 ||
	    (rc = jf_int(b, "timeout", 0, MAX_TIMEOUT_S, &t, e)) < 0)
		return -1;
	if (rc && t > 0)
		req->timeout_s = t;
	req->metadata = *meta;
	req->env = *env;
	return 0;
}

enum MHD_Result eh_create(struct api_req *r)
{
	struct box_caller c;
	struct box_create req;
	struct box_info info;
	struct box_kv *env = NULL, *meta = NULL;
	struct aj_err e;
	json_t *b = NULL;
	memset(&req, 0, sizeof(req));
	int rc = e2b_auth_key(r, &c, &e);
	if (rc == 0)
		rc = api_body_json(r, &b, &e);
	if (rc == 0)
		rc = parse_create(b, &req, &env, &meta, &e);
	if (rc == 0 && !req.template_id)
		req.template_id = DEFAULT_TEMPLATE;
	if (rc == 0)
		rc = box_create(api_mgr(r), &c, &req, &info, &e);
	free(env);
	free(meta);
	json_decref(b);
	if (rc < 0)
		return e2b_reply_aj(r, &e);
	struct box_tokens tok;
	if (box_token_issue(api_mgr(r), &c, info.id, &tok, &e) < 0) {
		box_destroy(api_mgr(r), &c, info.id, NULL);
		box_info_free(&info);
		return e2b_reply_aj(r, &e);
	}
	json_t *o = handle_json(&info, &tok);
	box_info_free(&info);
	return api_reply_json(r, MHD_HTTP_CREATED, o);
}

/* ---- list --------------------------------------------------------------------------- */

struct list_query {
	struct box_filter f;
	struct box_kv *meta;
	size_t nmeta;
	bool running;          /* the state filter lets running sandboxes in */
	const char *tmpl;
	int64_t after_ms;
	bool asc;
	size_t limit;
	int64_t tok_ms;        /* the page starts after this (ms, id) */
	char tok_id[40];
};

/* nextToken is "<created ms>_<sandbox id>" (what we hand out). */
static int parse_token(const char *tok, struct list_query *q)
{
	char *end;
	errno = 0;
	long long ms = strtoll(tok, &end, 10);
	if (errno || end == tok || *end != '_' || ms < 0)
		return -1;
	const char *id = end + 1;
	size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
	if (n == 0 || id[n] || n >= sizeof(q->tok_id))
		return -1;
	q->tok_ms = ms;
	memcpy(q->tok_id, id, n + 1);
	return 0;
}

static bool has_state(const char *list, const char *want)
{
	size_t n = strlen(want);
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		if (l == n && strncmp(p, want, n) == 0)
			return true;
		p += l;
		p += *p == ',';
	}
	return false;
}

static int parse_list(struct api_req *r, struct list_query *q, struct aj_err *e)
{
	const char *state = api_query(r, "state"), *meta = api_query(r, "metadata");
	const char *lim = api_query(r, "limit"), *after = api_query(r, "startedAfter");
	const char *order = api_query(r, "order"), *tok = api_query(r, "nextToken");
	q->running = !state || has_state(state, "running");
	q->tmpl = api_query(r, "template");
	q->asc = order && strcmp(order, "asc") == 0;
	q->limit = PAGE_DEFAULT;
	if (lim) {
		char *end;
		long v = strtol(lim, &end, 10);
		if (!*lim || *end || v < 1 || v > PAGE_MAX)
			return aj_err_set(e, AJ_EINVAL, 0, "limit must be 1-%d", PAGE_MAX);
		q->limit = (size_t)v;
	}
	if (after && api_parse_time(after, &q->after_ms) < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "startedAfter must be an RFC 3339 time");
	if (tok && parse_token(tok, q) < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "malformed nextToken");
	if (meta && e2b_metadata_query(meta, &q->meta, &q->nmeta, e) < 0)
		return -1;
	q->f.metadata = q->meta;
	q->f.nmeta = q->nmeta;
	return 0;
}

static int cmp_asc(const void *a, const void *b)
{
	const struct box_info *x = a, *y = b;
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int cmp_desc(const void *a, const void *b)
{
	return cmp_asc(b, a);
}

/* Is i past the page token in the list's order? */
static bool after_token(const struct list_query *q, const struct box_info *i)
{
	struct box_info t;
	if (!q->tok_id[0])
		return true;
	t.created_ms = q->tok_ms;
	snprintf(t.id, sizeof(t.id), "%s", q->tok_id);
	return (q->asc ? cmp_asc(i, &t) : cmp_desc(i, &t)) > 0;
}

static bool wanted(const struct list_query *q, const struct box_info *i)
{
	return (!q->tmpl || strcmp(template_of(i), q->tmpl) == 0) &&
	       i->created_ms >= q->after_ms && after_token(q, i);
}

static enum MHD_Result render_page(struct api_req *r, const struct list_query *q,
				   struct box_info *v, size_t n)
{
	json_t *arr = json_array();
	char next[80] = "";
	size_t taken = 0;
	if (n)
		qsort(v, n, sizeof(*v), q->asc ? cmp_asc : cmp_desc);
	for (size_t i = 0; i < n; i++) {
		if (!wanted(q, &v[i]))
			continue;
		if (taken == q->limit) {
			const struct box_info *last = &v[i - 1];
			for (size_t k = i; k-- > 0;)
				if (wanted(q, &v[k])) {
					last = &v[k];
					break;
				}
			snprintf(next, sizeof(next), "%lld_%s", (long long)last->created_ms,
				 last->id);
			break;
		}
		json_array_append_new(arr, sandbox_json(&v[i], false, NULL));
		taken++;
	}
	return reply_with_header(r, MHD_HTTP_OK, arr, "x-next-token", next[0] ? next : NULL);
}

enum MHD_Result eh_list(struct api_req *r)
{
	struct box_caller c;
	struct list_query q;
	struct box_info *v = NULL;
	size_t n = 0;
	struct aj_err e;
	memset(&q, 0, sizeof(q));
	int rc = e2b_auth_key(r, &c, &e);
	if (rc == 0)
		rc = parse_list(r, &q, &e);
	if (rc == 0 && q.running)
		rc = box_list(api_mgr(r), &c, &q.f, &v, &n, &e);
	e2b_kv_free(q.meta, q.nmeta);
	if (rc < 0)
		return e2b_reply_aj(r, &e);
	enum MHD_Result res = render_page(r, &q, v, n);
	box_infos_free(v, n);
	return res;
}

/* ---- one sandbox ------------------------------------------------------------------------ */

/* A viewer, or an admin of another tenant, gets the sandbox without its
 * envdAccessToken (the SDK's getInfo takes it as optional). */
enum MHD_Result eh_get(struct api_req *r)
{
	struct box_caller c;
	struct box_info info;
	struct box_tokens tok;
	struct aj_err e;
	if (e2b_auth_key(r, &c, &e) < 0 || get_running(r, &c, &info, &e) < 0)
		return e2b_reply_aj(r, &e);
	int rc = box_token_issue(api_mgr(r), &c, info.id, &tok, &e);
	if (rc < 0 && e.code != AJ_EFORBIDDEN) {
		box_info_free(&info);
		return e2b_reply_aj(r, &e);
	}
	json_t *o = sandbox_json(&info, true, rc == 0 ? &tok : NULL);
	box_info_free(&info);
	return api_reply_json(r, MHD_HTTP_OK, o);
}

enum MHD_Result eh_kill(struct api_req *r)
{
	struct box_caller c;
	struct aj_err e;
	if (e2b_auth_key(r, &c, &e) < 0 ||
	    box_destroy(api_mgr(r), &c, api_param(r, "id"), &e) < 0)
		return e2b_reply_aj(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* A field of seconds from the body: 1 if present, 0 if absent. */
static int seconds(struct api_req *r, const char *name, int64_t *out, struct aj_err *e)
{
	json_t *b = NULL;
	if (api_body_json(r, &b, e) < 0)
		return -1;
	int rc = jf_int(b, name, 0, MAX_TIMEOUT_S, out, e);
	json_decref(b);
	return rc;
}

/* Extend (never shorten) the lifetime to now + s. */
static int extend(struct api_req *r, const struct box_caller *c, const struct box_info *i,
		  int64_t s, struct aj_err *e)
{
	struct box_info out;
	if (s <= 0 || now_ms() + s * 1000 <= i->expires_ms)
		return 0;
	if (box_set_timeout(api_mgr(r), c, i->id, s, &out, e) < 0)
		return -1;
	box_info_free(&out);
	return 0;
}

enum MHD_Result eh_set_timeout(struct api_req *r)
{
	struct box_caller c;
	struct box_info out;
	struct aj_err e;
	int64_t s = 0;
	int rc = e2b_auth_key(r, &c, &e);
	if (rc == 0 && (rc = seconds(r, "timeout", &s, &e)) == 0)
		rc = aj_err_set(&e, AJ_EINVAL, 0, "field 'timeout' is required");
	if (rc >= 0 && s <= 0)
		rc = aj_err_set(&e, AJ_EINVAL, 0, "timeout must be a positive number of seconds");
	if (rc >= 0)
		rc = box_set_timeout(api_mgr(r), &c, api_param(r, "id"), s, &out, &e);
	if (rc < 0)
		return e2b_reply_aj(r, &e);
	box_info_free(&out);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* POST /sandboxes/{id}/refreshes {"duration": s}: keep it alive that long. */
enum MHD_Result eh_refresh(struct api_req *r)
{
	struct box_caller c;
	struct box_info info;
	struct aj_err e;
	int64_t s = 0;
	if (e2b_auth_key(r, &c, &e) < 0 || seconds(r, "duration", &s, &e) < 0 ||
	    get_running(r, &c, &info, &e) < 0)
		return e2b_reply_aj(r, &e);
	int rc = extend(r, &c, &info, s, &e);
	box_info_free(&info);
	return rc < 0 ? e2b_reply_aj(r, &e) : api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result eh_connect(struct api_req *r)
{
	struct box_caller c;
	struct box_info info;
	struct aj_err e;
	int64_t s = 0;
	struct box_tokens tok;
	if (e2b_auth_key(r, &c, &e) < 0 || seconds(r, "timeout", &s, &e) < 0 ||
	    get_running(r, &c, &info, &e) < 0)
		return e2b_reply_aj(r, &e);
	/* connecting is for using the sandbox: 403 for whoever gets no tokens */
	int rc = box_token_issue(api_mgr(r), &c, info.id, &tok, &e);
	if (rc == 0)
		rc = extend(r, &c, &info, s, &e);
	json_t *o = rc < 0 ? NULL : handle_json(&info, &tok);
	box_info_free(&info);
	return rc < 0 ? e2b_reply_aj(r, &e) : api_reply_json(r, MHD_HTTP_OK, o);
}

/* The old resume call: a running sandbox answers 409, as E2B does. */
enum MHD_Result eh_resume(struct api_req *r)
{
	struct box_caller c;
	struct box_info info;
	struct aj_err e;
	if (e2b_auth_key(r, &c, &e) < 0 || get_running(r, &c, &info, &e) < 0)
		return e2b_reply_aj(r, &e);
	box_info_free(&info);
	return e2b_reply_errorf(r, MHD_HTTP_CONFLICT, "sandbox '%s' is already running",
				api_param(r, "id"));
}

/* ---- what agentjail does not have ------------------------------------------------------- */

/* A call about one sandbox: 404 if there is no such sandbox (the SDK
 * reports SandboxNotFoundError), else 501 naming what is missing. */
enum MHD_Result eh_sandbox_unsupported(struct api_req *r)
{
	struct box_caller c;
	struct box_info info;
	struct aj_err e;
	if (e2b_auth_key(r, &c, &e) < 0 || get_running(r, &c, &info, &e) < 0)
		return e2b_reply_aj(r, &e);
	box_info_free(&info);
	return e2b_reply_errorf(r, MHD_HTTP_NOT_IMPLEMENTED,
				"agentjail does not support %s %s on sandboxes (no pause, "
				"snapshots, forks, metrics, logs or network rules)",
				api_method(r), api_param(r, "*"));
}

enum MHD_Result eh_unsupported(struct api_req *r)
{
	struct box_caller c;
	struct aj_err e;
	if (e2b_auth_key(r, &c, &e) < 0)
		return e2b_reply_aj(r, &e);
	return e2b_reply_error(r, MHD_HTTP_NOT_IMPLEMENTED,
			       "agentjail does not support this E2B API (templates, "
			       "snapshots, volumes, secrets)");
}
