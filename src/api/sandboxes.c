/* sandboxes.c - create, list, get, destroy, extend sandboxes. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

#define MAX_MB (1LL << 24)            /* 16 TiB: the manager checks the real bounds */
#define MAX_COUNT (1LL << 32)
#define MAX_TIMEOUT_S (100LL * 365 * 86400)
#define MAX_IDEM_KEY 255

static json_t *kv_object(const struct box_kv *kv, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, kv[i].key, json_string(kv[i].value));
	return o;
}

static json_t *limits_json(const struct box_shape *s)
{
	return json_pack("{s:I,s:f,s:I,s:I,s:I,s:s}",
			 "memory_mb", (json_int_t)(s->memory_bytes >> 20),
			 "cpus", s->cpu_millis / 1000.0,
			 "pids", (json_int_t)s->pids,
			 "disk_mb", (json_int_t)(s->disk_bytes >> 20),
			 "disk_inodes", (json_int_t)s->disk_inodes,
			 "network", s->net_host ? "host" : "none");
}

/* The sandbox object.  Env values are never shown: they may be secrets. */
static json_t *sandbox_json(const struct box_info *i)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "id", i->id,
			      "tenant", i->tenant, "state", i->state,
			      "created_at", api_json_time(i->created_ms),
			      "expires_at", api_json_time(i->expires_ms),
			      "template", api_json_str(i->template_id));
	if (!o)
		return NULL;
	if (i->ended_ms > 0)
		json_object_set_new(o, "ended_at", api_json_time(i->ended_ms));
	if (i->end_reason[0])
		json_object_set_new(o, "end_reason", api_json_str(i->end_reason));
	json_object_set_new(o, "limits", limits_json(&i->shape));
	json_object_set_new(o, "metadata", kv_object(i->metadata, i->nmeta));
	json_t *keys = json_array();
	for (size_t k = 0; k < i->nenv; k++)
		json_array_append_new(keys, json_string(i->env[k].key));
	json_object_set_new(o, "env_keys", keys);
	return o;
}

int api_idempotency_key(struct api_req *r, const char **out, struct aj_err *e)
{
	const char *k = api_header(r, "Idempotency-Key");
	*out = NULL;
	if (!k)
		return 0;
	if (!*k || strlen(k) > MAX_IDEM_KEY)
		return aj_err_set(e, AJ_EINVAL, 0, "Idempotency-Key must be 1-%d characters",
				  MAX_IDEM_KEY);
	*out = k;
	return 0;
}

/* ---- create ------------------------------------------------------------------- */

struct create_args {
	struct box_create req;
	struct box_kv *env, *meta;
};

static int shape_field(json_t *b, const char *name, int which, int64_t max,
		       uint64_t unit, struct box_create *req, struct aj_err *e)
{
	int64_t v;
	int rc = jf_int(b, name, 0, max, &v, e);
	if (rc <= 0)
		return rc;
	req->has_shape[which] = true;
	uint64_t x = (uint64_t)v * unit;
	switch (which) {
	case BOX_SHAPE_MEMORY: req->shape.memory_bytes = x; break;
	case BOX_SHAPE_PIDS: req->shape.pids = x; break;
	case BOX_SHAPE_DISK: req->shape.disk_bytes = x; break;
	case BOX_SHAPE_INODES: req->shape.disk_inodes = x; break;
	}
	return 0;
}

static int parse_create(json_t *b, struct create_args *a, struct aj_err *e)
{
	struct box_create *req = &a->req;
	double cpus;
	int64_t t;
	int rc;
	if (shape_field(b, "memory_mb", BOX_SHAPE_MEMORY, MAX_MB, 1u << 20, req, e) < 0 ||
	    shape_field(b, "pids", BOX_SHAPE_PIDS, MAX_COUNT, 1, req, e) < 0 ||
	    shape_field(b, "disk_mb", BOX_SHAPE_DISK, MAX_MB, 1u << 20, req, e) < 0 ||
	    shape_field(b, "disk_inodes", BOX_SHAPE_INODES, MAX_COUNT, 1, req, e) < 0)
		return -1;
	if ((rc = jf_number(b, "cpus", 0, 1024, &cpus, e)) < 0)
		return -1;
	if (rc) {
		req->has_shape[BOX_SHAPE_CPUS] = true;
		req->shape.cpu_millis = (uint32_t)(cpus * 1000 + 0.5);
	}
	if ((rc = jf_int(b, "timeout_s", 1, MAX_TIMEOUT_S, &t, e)) < 0)
		return -1;
	if (rc)
		req->timeout_s = t;
	if (jf_kv(b, "env", &a->env, &req->nenv, e) < 0 ||
	    jf_kv(b, "metadata", &a->meta, &req->nmeta, e) < 0 ||
	    jf_string(b, "template", &req->template_id, e) < 0)
		return -1;
	req->env = a->env;
	req->metadata = a->meta;
	return 0;
}

enum MHD_Result h_sandbox_create(struct api_req *r)
{
	struct create_args a;
	struct box_info info;
	struct aj_err e;
	json_t *b = NULL;
	memset(&a, 0, sizeof(a));
	int rc = api_body_json(r, &b, &e);
	if (rc == 0)
		rc = parse_create(b, &a, &e);
	if (rc == 0)
		rc = api_idempotency_key(r, &a.req.idempotency_key, &e);
	if (rc == 0)
		rc = box_create(api_mgr(r), api_caller(r), &a.req, &info, &e);
	free(a.env);
	free(a.meta);
	json_decref(b);
	if (rc < 0)
		return api_reply_err(r, &e);
	json_t *o = sandbox_json(&info);
	box_info_free(&info);
	return api_reply_json(r, MHD_HTTP_CREATED, o);
}

/* ---- list / get --------------------------------------------------------------- */

/* metadata=k=v (repeated) and metadata.k=v; -1 for a pair without '='.
 * The strings are malloc'd: the caller frees kv[0..*n). */
static int metadata_filter(struct api_req *r, struct box_kv *kv, size_t cap,
			   size_t *n, struct aj_err *e)
{
	const char *name, *value;
	*n = 0;
	for (size_t i = 0; *n < cap && api_query_at(r, i, &name, &value); i++) {
		const char *eq = strchr(value, '=');
		struct box_kv *p = &kv[*n];
		if (strcmp(name, "metadata") == 0) {
			if (!eq)
				return aj_err_set(e, AJ_EINVAL, 0,
						  "metadata filters are metadata=key=value");
			p->key = strndup(value, (size_t)(eq - value));
			p->value = strdup(eq + 1);
		} else if (strncmp(name, "metadata.", 9) == 0 && name[9]) {
			p->key = strdup(name + 9);
			p->value = strdup(value);
		} else {
			continue;
		}
		(*n)++;
		if (!p->key || !p->value)
			return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	}
	return 0;
}

enum MHD_Result h_sandbox_list(struct api_req *r)
{
	struct box_kv kv[API_MAX_QUERY];
	struct box_filter f = { .state = api_query(r, "state") };
	struct box_info *v = NULL;
	size_t n = 0;
	struct aj_err e;
	memset(kv, 0, sizeof(kv));
	f.metadata = kv;
	int rc = metadata_filter(r, kv, API_MAX_QUERY, &f.nmeta, &e);
	if (rc == 0)
		rc = box_list(api_mgr(r), api_caller(r), &f, &v, &n, &e);
	for (size_t i = 0; i < f.nmeta; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	if (rc < 0)
		return api_reply_err(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, sandbox_json(&v[i]));
	box_infos_free(v, n);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "sandboxes", arr));
}

enum MHD_Result h_sandbox_get(struct api_req *r)
{
	struct box_info info;
	struct aj_err e;
	if (box_get(api_mgr(r), api_caller(r), api_param(r, "id"), &info, &e) < 0)
		return api_reply_err(r, &e);
	json_t *o = sandbox_json(&info);
	/* a running sandbox: what it uses, from its cgroups */
	struct jail_stats st;
	if (o && strcmp(info.state, "running") == 0 &&
	    box_usage(api_mgr(r), api_caller(r), info.id, &st, NULL) == 0)
		json_object_set_new(o, "usage", json_pack(
			"{s:I,s:I,s:I,s:I,s:I}",
			"memory_bytes", (json_int_t)st.memory_bytes,
			"memory_peak_bytes", (json_int_t)st.memory_peak_bytes,
			"cpu_ms", (json_int_t)st.cpu_usage_ms,
			"pids", (json_int_t)st.pids,
			"oom_kills", (json_int_t)st.oom_kills));
	box_info_free(&info);
	return api_reply_json(r, MHD_HTTP_OK, o);
}

/* ---- destroy / timeout ---------------------------------------------------------- */

enum MHD_Result h_sandbox_delete(struct api_req *r)
{
	struct aj_err e;
	if (box_destroy(api_mgr(r), api_caller(r), api_param(r, "id"), &e) < 0)
		return api_reply_err(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result h_sandbox_timeout(struct api_req *r)
{
	struct box_info info;
	struct aj_err e;
	json_t *b = NULL;
	int64_t t = 0;
	int rc = api_body_json(r, &b, &e);
	if (rc == 0 && (rc = jf_int(b, "timeout_s", 1, MAX_TIMEOUT_S, &t, &e)) == 0)
		rc = aj_err_set(&e, AJ_EINVAL, 0, "field 'timeout_s' is required");
	json_decref(b);
	if (rc < 0 || box_set_timeout(api_mgr(r), api_caller(r), api_param(r, "id"),
				      t, &info, &e) < 0)
		return api_reply_err(r, &e);
	json_t *o = sandbox_json(&info);
	/* a running sandbox: what it uses, from its cgroups */
	struct jail_stats st;
	if (o && strcmp(info.state, "running") == 0 &&
	    box_usage(api_mgr(r), api_caller(r), info.id, &st, NULL) == 0)
		json_object_set_new(o, "usage", json_pack(
			"{s:I,s:I,s:I,s:I,s:I}",
			"memory_bytes", (json_int_t)st.memory_bytes,
			"memory_peak_bytes", (json_int_t)st.memory_peak_bytes,
			"cpu_ms", (json_int_t)st.cpu_usage_ms,
			"pids", (json_int_t)st.pids,
			"oom_kills", (json_int_t)st.oom_kills));
	box_info_free(&info);
	return api_reply_json(r, MHD_HTTP_OK, o);
}
