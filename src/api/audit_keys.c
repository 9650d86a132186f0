/* audit_keys.c - the audit log (read) and API keys (admin). */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "util/crypto.h"

static json_t *audit_json(const struct audit_rec *a)
{
	json_t *o = json_pack("{s:I,s:o,s:I,s:s,s:s,s:s,s:s,s:s}",
			      "seq", (json_int_t)a->seq,
			      "time", api_json_time(a->ts_ms),
			      "ts_ms", (json_int_t)a->ts_ms,
			      "key_id", a->key_id, "tenant", a->tenant,
			      "action", a->action, "outcome", a->outcome,
			      "hash", a->hash);
	if (!o)
		return NULL;
	json_object_set_new(o, "sandbox_id", a->sandbox_id[0] ? json_string(a->sandbox_id)
							      : json_null());
	/* detail is JSON text written by the manager; shown as such. */
	json_t *d = a->detail ? json_loads(a->detail, 0, NULL) : NULL;
	if (!d && a->detail)
		d = api_json_str(a->detail);
	json_object_set_new(o, "detail", d ? d : json_null());
	return o;
}

/* A non-negative integer query argument (absent: leave *out). */
static int int_arg(struct api_req *r, const char *name, int64_t max,
		   int64_t *out, struct aj_err *e)
{
	const char *s = api_query(r, name);
	char *end;
	if (!s)
		return 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || s[0] == '-' || s[0] == '+' || v > max)
		return aj_err_set(e, AJ_EINVAL, 0, "'%s' must be an integer between 0 and %lld",
				  name, (long long)max);
	*out = v;
	return 0;
}

enum MHD_Result h_audit_list(struct api_req *r)
{
	struct audit_filter f = { .sandbox_id = api_query(r, "sandbox"),
				  .tenant = api_query(r, "tenant") };
	const char *since = api_query(r, "since");
	int64_t limit = 100;
	struct audit_rec *v;
	size_t n;
	struct aj_err e;
	if (since && api_parse_time(since, &f.since_ms) < 0)
		return api_reply_errf(r, AJ_EINVAL,
				      "'since' must be milliseconds since the epoch or RFC 3339");
	if (int_arg(r, "after", INT64_MAX, &f.after_seq, &e) < 0 ||
	    int_arg(r, "limit", 1000, &limit, &e) < 0)
		return api_reply_err(r, &e);
	if (limit < 1)
		return api_reply_errf(r, AJ_EINVAL, "'limit' must be between 1 and 1000");
	f.limit = (int)limit;
	if (box_audit_list(api_mgr(r), api_caller(r), &f, &v, &n, &e) < 0)
		return api_reply_err(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, audit_json(&v[i]));
	audit_recs_free(v, n);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "records", arr));
}

/* ---- keys ------------------------------------------------------------------------- */

static json_t *key_json(const struct key_info *k)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "id", k->id, "tenant", k->tenant,
			      "role", role_name(k->role),
			      "created_at", api_json_time(k->created_ms));
	if (o && k->revoked_ms)
		json_object_set_new(o, "revoked_at", api_json_time(k->revoked_ms));
	return o;
}

enum MHD_Result h_key_create(struct api_req *r)
{
	json_t *b = NULL;
	const char *tenant = api_caller(r)->tenant, *rs = "user";
	enum role role;
	char secret[48];
	struct key_info k;
	struct aj_err e;
	int rc = api_body_json(r, &b, &e);
	if (rc == 0 && (jf_string(b, "tenant", &tenant, &e) < 0 ||
			jf_string(b, "role", &rs, &e) < 0))
		rc = -1;
	if (rc == 0 && role_parse(rs, &role) < 0)
		rc = aj_err_set(&e, AJ_EINVAL, 0, "field 'role' must be admin, user or viewer");
	if (rc == 0)
		rc = box_key_create(api_mgr(r), api_caller(r), tenant, role, secret, &k, &e);
	json_decref(b);
	if (rc < 0)
		return api_reply_err(r, &e);
	json_t *o = key_json(&k);
	json_object_set_new(o, "secret", json_string(secret));
	sodium_memzero(secret, sizeof(secret));
	return api_reply_json(r, MHD_HTTP_CREATED, o);
}

enum MHD_Result h_key_list(struct api_req *r)
{
	struct key_info *v;
	size_t n;
	struct aj_err e;
	if (box_key_list(api_mgr(r), api_caller(r), &v, &n, &e) < 0)
		return api_reply_err(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, key_json(&v[i]));
	free(v);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "keys", arr));
}

enum MHD_Result h_key_revoke(struct api_req *r)
{
	struct aj_err e;
	if (box_key_revoke(api_mgr(r), api_caller(r), api_param(r, "id"), &e) < 0)
		return api_reply_err(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
