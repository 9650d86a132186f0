/* fuzz_target.c - libFuzzer harness: the request target of the REST API
 * (req_parse_target: path and query, percent-decoded) and the router's
 * match of it against every route (router_match), as the access handler
 * does when the headers are in.  First byte: the method; the rest: the
 * target as libmicrohttpd hands it over (a C string). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static struct api_server srv; /* no mounts: the native routes */
	struct api_req *r = calloc(1, sizeof(*r));
	if (!r)
		return 0;
	r->srv = &srv;
	r->method = methods[data[0] % 5];
	r->uri = strndup((const char *)data + 1, size - 1);
	if (!r->uri) {
		free(r);
		return 0;
	}
	struct aj_err e = { 0 };
	if (req_parse_target(r, &e) == 0) {
		char allow[96];
		unsigned st = router_match(r, allow, sizeof(allow));
		if (st == 0) {
			if (!r->route)
				abort();
			for (size_t i = 0; i < r->nparams; i++)
				if (!r->params[i] ||
				    (r->params[i][0] == '\0' && r->param_names[i][0] != '*'))
					abort();
		} else if (st != 404 && st != 405 && st != 400) {
			abort();
		}
		for (size_t i = 0; i < r->nquery; i++) {
			const char *n, *v;
			if (!api_query_at(r, i, &n, &v) || !n || !v)
				abort();
		}
	} else if (e.code != AJ_EINVAL && e.code != AJ_EINTERNAL) {
		abort();
	}
	req_free(r);
	return 0;
}
