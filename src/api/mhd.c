/* mhd.c - see mhd.h. */
#define API_MHD_IMPL
#include "api/mhd.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

struct api_mhd api_mhd;

/* The library's ABI name (its SONAME), then the development link. */
static const char *const names[] = { "libmicrohttpd.so.12", "libmicrohttpd.so" };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char failure[256]; /* why not, if not */

static void load(void)
{
	void *h = NULL;
	for (size_t i = 0; !h && i < sizeof(names) / sizeof(names[0]); i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(failure, sizeof(failure), "cannot load libmicrohttpd: %s",
			 dlerror());
		return;
	}
	/* Never dlclosed: the server may run until the process ends. */
#define API_MHD_SYM(name)                                                    \
	api_mhd.name = (__typeof__(api_mhd.name))dlsym(h, "MHD_" #name);     \
	if (!api_mhd.name) {                                                 \
		snprintf(failure, sizeof(failure),                           \
			 "libmicrohttpd has no MHD_" #name);                 \
		return;                                                      \
	}
	API_MHD_FUNCS(API_MHD_SYM)
#undef API_MHD_SYM
	loaded = true;
}

int api_mhd_load(struct aj_err *e)
{
	pthread_once(&once, load);
	if (!loaded)
		return aj_err_set(e, AJ_EUNSUPPORTED, 0, "%s", failure);
	return 0;
}
