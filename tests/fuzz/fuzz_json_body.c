/* fuzz_json_body.c - libFuzzer harness: a JSON request body as the REST
 * API reads it (api_body_json) and every field reader (jf_*) applied to
 * every member of the object, with the ranges the routes use.  The
 * request object is built directly: api_body_json only looks at the
 * buffered body, so no connection is needed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_fields(json_t *o, const char *name)
{
	struct aj_err e = { 0 };
	const char *s;
	int64_t i;
	double d;
	bool b;
	struct box_kv *kv;
	size_t n;
	char **sv;
	char *bytes;
	size_t blen;
	if (jf_string(o, name, &s, &e) == 1 && !s)
		abort();
	jf_int(o, name, 0, 1LL << 40, &i, &e);
	jf_int(o, name, INT64_MIN, INT64_MAX, &i, &e);
	jf_number(o, name, 0, 1024, &d, &e);
	jf_bool(o, name, &b, &e);
	if (jf_kv(o, name, &kv, &n, &e) == 1) {
		for (size_t k = 0; k < n; k++)
			if (!kv[k].key || !kv[k].value)
				abort();
		free(kv);
	}
	if (jf_strv(o, name, &sv, &e) == 1) {
		for (size_t k = 0; sv[k]; k++)
			(void)strlen(sv[k]);
		free(sv);
	}
	/* "x_b64" members make jf_bytes(o, "x") decode base64 */
	char base[64];
	size_t l = strlen(name);
	if (l > 4 && l - 4 < sizeof(base) && strcmp(name + l - 4, "_b64") == 0) {
		memcpy(base, name, l - 4);
		base[l - 4] = '\0';
		name = base;
	}
	if (jf_bytes(o, name, &bytes, &blen, &e) == 1) {
		if (bytes[blen] != '\0')
			abort();
		free(bytes);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > API_MAX_JSON_BODY)
		return 0;
	struct api_req r;
	memset(&r, 0, sizeof(r));
	r.body.data = (char *)data;
	r.body.len = size;
	json_t *o;
	struct aj_err e = { 0 };
	if (api_body_json(&r, &o, &e) < 0) {
		if (e.code != AJ_EINVAL || !e.msg[0])
			abort();
		return 0;
	}
	if (!json_is_object(o))
		abort();
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		read_fields(o, k);
	}
	read_fields(o, "absent");
	json_decref(o);
	return 0;
}
