/* request.c - reading a request: the request target (path and query,
 * percent-decoded by us so an encoded NUL is refused instead of silently
 * cutting a string short), headers, the JSON body and its fields. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "util/crypto.h"
#include "util/pct.h"

/* ---- the request target ------------------------------------------------- */

char *req_decode_segment(const char *s, size_t n)
{
	return aj_pct_decode(s, n, false);
}

static int add_query_arg(struct api_req *r, const char *s, size_t n,
			 struct aj_err *e)
{
	if (n == 0)
		return 0; /* "a=1&&b=2" */
	if (r->nquery == API_MAX_QUERY)
		return aj_err_set(e, AJ_EINVAL, 0, "more than %d query arguments",
				  API_MAX_QUERY);
	const char *eq = memchr(s, '=', n);
	size_t kl = eq ? (size_t)(eq - s) : n;
	struct api_qarg *q = &r->query[r->nquery];
	q->name = aj_pct_decode(s, kl, true);
	q->value = q->name ? aj_pct_decode(eq ? eq + 1 : s + n, eq ? n - kl - 1 : 0, true)
			   : NULL;
	if (!q->name || !q->value) {
		int err = errno;
		free(q->name);
		free(q->value);
		q->name = q->value = NULL;
		return err == ENOMEM
			       ? aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory")
			       : aj_err_set(e, AJ_EINVAL, 0,
					    "malformed or NUL escape in the query string");
	}
	r->nquery++;
	return 0;
}

int req_parse_target(struct api_req *r, struct aj_err *e)
{
	const char *q = strchr(r->uri, '?');
	size_t plen = q ? (size_t)(q - r->uri) : strlen(r->uri);
	r->path = strndup(r->uri, plen);
	if (!r->path)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	/* The path is decoded segment by segment when matched; refuse a bad
	 * escape here already so every route sees the same answer. */
	char *check = aj_pct_decode(r->path, plen, false);
	if (!check)
		return aj_err_set(e, AJ_EINVAL, 0, "malformed or NUL escape in the path");
	free(check);
	if (!q)
		return 0;
	const char *s = q + 1;
	size_t qlen = strcspn(s, "#");
	while (qlen) {
		size_t n = strcspn(s, "&");
		if (n > qlen)
			n = qlen;
		if (add_query_arg(r, s, n, e) < 0)
			return -1;
		s += n;
		qlen -= n;
		if (qlen) {
			s++;
			qlen--;
		}
	}
	return 0;
}

/* ---- accessors --------------------------------------------------------------- */

struct box_mgr *api_mgr(const struct api_req *r) { return r->srv->mgr; }
const struct box_caller *api_caller(const struct api_req *r) { return &r->caller; }
struct MHD_Connection *api_conn(const struct api_req *r) { return r->conn; }
const char *api_method(const struct api_req *r) { return r->method; }
void *api_mount_data(const struct api_req *r) { return r->mount_data; }
void *api_ctx(const struct api_req *r) { return r->ctx; }

void api_set_ctx(struct api_req *r, void *ctx, void (*fn)(void *ctx))
{
	r->ctx = ctx;
	r->ctx_free = fn;
}

const char *api_param(const struct api_req *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->nparams; i++)
		if (r->param_name_len[i] == n &&
		    memcmp(r->param_names[i], name, n) == 0)
			return r->params[i];
	return NULL;
}

const char *api_query(const struct api_req *r, const char *name)
{
	for (size_t i = 0; i < r->nquery; i++)
		if (strcmp(r->query[i].name, name) == 0)
			return r->query[i].value;
	return NULL;
}

bool api_query_at(const struct api_req *r, size_t i, const char **name,
		  const char **value)
{
	if (i >= r->nquery)
		return false;
	*name = r->query[i].name;
	*value = r->query[i].value;
	return true;
}

const char *api_header(const struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- the body ------------------------------------------------------------------ */

int api_body_json(const struct api_req *r, json_t **out, struct aj_err *e)
{
	json_error_t je;
	*out = NULL;
	if (r->body.len == 0) {
		*out = json_object();
		return *out ? 0 : aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	}
	json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return aj_err_set(e, AJ_EINVAL, 0, "invalid JSON body (line %d, column %d): %s",
				  je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return aj_err_set(e, AJ_EINVAL, 0, "the body must be a JSON object");
	}
	*out = j;
	return 0;
}

/* ---- fields ---------------------------------------------------------------------- */

static json_t *field(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_null(v) ? NULL : v;
}

int jf_string(json_t *o, const char *name, const char **out, struct aj_err *e)
{
	json_t *v = field(o, name);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be a string", name);
	*out = json_string_value(v);
	return 1;
}

int jf_int(json_t *o, const char *name, int64_t min, int64_t max,
	   int64_t *out, struct aj_err *e)
{
	json_t *v = field(o, name);
	if (!v)
		return 0;
	/* 3.0 is an integer; 3.5 and 1e300 are not. */
	double d = json_is_real(v) ? json_real_value(v) : 0;
	if (json_is_real(v) && (d > 9e15 || d < -9e15 || d != (double)(int64_t)d))
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be an integer", name);
	if (!json_is_integer(v) && !json_is_real(v))
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be an integer", name);
	int64_t x = json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)d;
	if (x < min || x > max)
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be between %lld and %lld",
				  name, (long long)min, (long long)max);
	*out = x;
	return 1;
}

int jf_number(json_t *o, const char *name, double min, double max,
	      double *out, struct aj_err *e)
{
	json_t *v = field(o, name);
	if (!v)
		return 0;
	if (!json_is_number(v))
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be a number", name);
	double d = json_number_value(v);
	if (!isfinite(d) || d < min || d > max)
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be between %g and %g",
				  name, min, max);
	*out = d;
	return 1;
}

int jf_bool(json_t *o, const char *name, bool *out, struct aj_err *e)
{
	json_t *v = field(o, name);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be true or false", name);
	*out = json_is_true(v);
	return 1;
}

int jf_kv(json_t *o, const char *name, struct box_kv **out, size_t *n,
	  struct aj_err *e)
{
	json_t *v = field(o, name);
	if (!v)
		return 0;
	if (!json_is_object(v))
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be an object of strings", name);
	size_t cnt = json_object_size(v), i = 0;
	struct box_kv *kv = calloc(cnt ? cnt : 1, sizeof(*kv));
	if (!kv)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	const char *k;
	json_t *x;
	json_object_foreach(v, k, x) {
		if (!json_is_string(x)) {
			free(kv);
			return aj_err_set(e, AJ_EINVAL, 0, "field '%s': value of '%.64s' must be a string",
					  name, k);
		}
		kv[i].key = (char *)k;
		kv[i].value = (char *)json_string_value(x);
		i++;
	}
	*out = kv;
	*n = i;
	return 1;
}

int jf_strv(json_t *o, const char *name, char ***out, struct aj_err *e)
{
	json_t *v = field(o, name);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' must be an array of strings", name);
	size_t cnt = json_array_size(v);
	char **sv = calloc(cnt + 1, sizeof(char *));
	if (!sv)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		json_t *x = json_array_get(v, i);
		if (!json_is_string(x)) {
			free(sv);
			return aj_err_set(e, AJ_EINVAL, 0, "field '%s': element %zu must be a string",
					  name, i);
		}
		sv[i] = (char *)json_string_value(x);
	}
	*out = sv;
	return 1;
}

int jf_bytes(json_t *o, const char *name, char **out, size_t *len,
	     struct aj_err *e)
{
	char b64name[64];
	const char *text = NULL, *b64 = NULL;
	snprintf(b64name, sizeof(b64name), "%s_b64", name);
	int ht = jf_string(o, name, &text, e);
	int hb = ht < 0 ? -1 : jf_string(o, b64name, &b64, e);
	if (ht < 0 || hb < 0)
		return -1;
	if (ht && hb)
		return aj_err_set(e, AJ_EINVAL, 0, "give '%s' or '%s', not both", name, b64name);
	if (!ht && !hb)
		return 0;
	size_t n = ht ? json_string_length(field(o, name))
		      : aj_base64_decoded_max(strlen(b64));
	char *buf = malloc(n + 1);
	if (!buf)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	if (ht) {
		memcpy(buf, text, n);
	} else if (aj_base64_decode(b64, strlen(b64), buf, n, &n, e) < 0) {
		free(buf);
		return aj_err_wrap(e, "field '%s'", b64name);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 1;
}
