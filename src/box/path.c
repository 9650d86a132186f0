/* path.c - see path.h. */
#include "box/path.h"

#include <stdio.h>
#include <string.h>

int box_path_norm(const char *in, char out[PATH_MAX], struct aj_err *e)
{
	char tmp[PATH_MAX];
	if (!in || !*in)
		return aj_err_set(e, AJ_EINVAL, 0, "path is empty");
	/* The limit is on the absolute form, so that whatever comes out (and
	 * is shown to clients as an entry's path) is accepted back in. */
	const char *prefix = in[0] == '/' ? "" : "/workspace/";
	if (strlen(prefix) + strlen(in) >= PATH_MAX - 12)
		return aj_err_set(e, AJ_EINVAL, 0, "path is too long");
	snprintf(tmp, sizeof(tmp), "%s%s", prefix, in);
	size_t len = 0;
	out[0] = '\0';
	for (char *save = NULL, *seg = strtok_r(tmp, "/", &save); seg;
	     seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			char *slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		size_t sl = strlen(seg);
		if (sl > NAME_MAX)
			return aj_err_set(e, AJ_EINVAL, 0, "a path component is over %d bytes", NAME_MAX);
		out[len++] = '/';
		memcpy(out + len, seg, sl + 1);
		len += sl;
	}
	if (len == 0)
		strcpy(out, "/");
	return 0;
}
