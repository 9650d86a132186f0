/* fuzz_path.c - libFuzzer harness: files-API path normalization
 * (box_path_norm), with its promises checked: the result is absolute, has
 * no empty, "." or ".." segment, no trailing slash (but "/"), fits, and
 * normalizing it again changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "box/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const char *p)
{
	size_t n = strlen(p);
	if (p[0] != '/' || n >= PATH_MAX)
		abort();
	if (n > 1 && p[n - 1] == '/')
		abort();
	if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
		abort();
	if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	static char out[PATH_MAX], again[PATH_MAX];
	struct aj_err e = { 0 };
	if (box_path_norm(in, out, &e) == 0) {
		check_clean(out);
		if (box_path_norm(out, again, &e) != 0 || strcmp(out, again) != 0)
			abort();
	} else if (e.code != AJ_EINVAL) {
		abort();
	}
	free(in);
	return 0;
}
