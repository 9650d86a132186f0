/* spec.c - defaults of a jail spec and the warnings list. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jail/internal.h"

void jail_spec_init(struct jail_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->limits.memory_bytes = 512ULL << 20;
	spec->limits.pids = 256;
	spec->limits.cpu_millis = 1000;
	spec->limits.disk_bytes = 1ULL << 30;
	spec->limits.disk_inodes = 65536;
	spec->limits.fsize_bytes = 64ULL << 20;
	spec->limits.nofile = 256;
	spec->limits.cpu_time_s = 0;
	spec->limits.timeout_ms = 30000;
	spec->limits.output_bytes = 1ULL << 20;
	spec->cwd = JAIL_HOME;
	spec->net = JAIL_NET_NONE;
	spec->cpu_usage = true;
	spec->freezer = true;
}

void jail_warn(struct jail_warnings *w, const char *fmt, ...)
{
	int max = (int)(sizeof(w->msg) / sizeof(w->msg[0]));
	if (w->n >= max)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->msg[w->n], sizeof(w->msg[0]), fmt, ap);
	va_end(ap);
	w->n++;
}
