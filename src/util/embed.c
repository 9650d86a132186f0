#include "util/embed.h"

#include <string.h>

const struct aj_embedded *aj_embedded_find(const char *name)
{
	for (const struct aj_embedded *f = aj_embedded; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}
