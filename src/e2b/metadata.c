/* metadata.c - the metadata filter of the sandbox list, encoded three
 * times by the SDK: each key and value goes through encodeURIComponent,
 * the pairs are joined as a query string (URLSearchParams: '+' for space,
 * '%' escaped again), and that string is one query argument.  The router
 * undid the outer layer; here the other two. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "e2b/internal.h"
#include "util/pct.h"

#define MAX_PAIRS 64

/* Both layers: the query-string one, then decodeURIComponent. */
static char *decode_twice(const char *s, size_t n)
{
	char *once = aj_pct_decode(s, n, true);
	char *twice = once ? aj_pct_decode(once, strlen(once), false) : NULL;
	free(once);
	return twice;
}

int e2b_metadata_query(const char *q, struct box_kv **out, size_t *n,
		       struct aj_err *e)
{
	struct box_kv *kv = calloc(MAX_PAIRS, sizeof(*kv));
	size_t k = 0;
	*out = NULL;
	*n = 0;
	if (!kv)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	while (*q) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		if (len && (!eq || k == MAX_PAIRS)) {
			e2b_kv_free(kv, k);
			return aj_err_set(e, AJ_EINVAL, 0,
					  eq ? "at most %d metadata filters"
					     : "metadata filter pairs are key=value (%d at most)",
					  MAX_PAIRS);
		}
		if (len) {
			kv[k].key = decode_twice(q, (size_t)(eq - q));
			kv[k].value = decode_twice(eq + 1, len - (size_t)(eq - q) - 1);
			k++;
			if (!kv[k - 1].key || !kv[k - 1].value) {
				e2b_kv_free(kv, k);
				return aj_err_set(e, AJ_EINVAL, 0, "malformed metadata filter");
			}
		}
		q += len;
		if (*q == '&')
			q++;
	}
	*out = kv;
	*n = k;
	return 0;
}
