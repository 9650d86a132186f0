/* routes.c - every E2B endpoint in one table.  All routes check their own
 * credentials (API_NOAUTH): the control plane's X-API-KEY, the sandbox
 * tokens of envd and the interpreter - never the native Bearer key.
 * Within the table the first route that matches wins, so the catch-alls
 * for what agentjail lacks come after the real routes. */
#include "e2b/internal.h"

#define NA API_NOAUTH
#define RAW (API_NOAUTH | API_RAW_BODY)
#define SB "/sandboxes/{id}"
#define PROC "/process.Process/"
#define FS "/filesystem.Filesystem/"

/* One row per method for a path agentjail answers "not supported". */
#define UNSUPPORTED(path, fn)                                   \
	{ "GET", path, fn, NA, NULL, NULL },                    \
	{ "POST", path, fn, NA, NULL, NULL },                   \
	{ "PUT", path, fn, NA, NULL, NULL },                    \
	{ "PATCH", path, fn, NA, NULL, NULL },                  \
	{ "DELETE", path, fn, NA, NULL, NULL }

static const struct api_route routes[] = {
	/* control plane */
	{ "POST", "/v2/sandboxes", eh_create, NA, NULL, NULL },
	{ "POST", "/sandboxes", eh_create, NA, NULL, NULL },
	{ "GET", "/v2/sandboxes", eh_list, NA, NULL, NULL },
	{ "GET", "/sandboxes", eh_list, NA, NULL, NULL },
	{ "GET", SB, eh_get, NA, NULL, NULL },
	{ "DELETE", SB, eh_kill, NA, NULL, NULL },
	{ "POST", SB "/timeout", eh_set_timeout, NA, NULL, NULL },
	{ "POST", SB "/refreshes", eh_refresh, NA, NULL, NULL },
	{ "POST", "/v2/sandboxes/{id}/connect", eh_connect, NA, NULL, NULL },
	{ "POST", SB "/connect", eh_connect, NA, NULL, NULL },
	{ "POST", SB "/resume", eh_resume, NA, NULL, NULL },
	UNSUPPORTED(SB "/*", eh_sandbox_unsupported),
	UNSUPPORTED("/v2/sandboxes/{id}/*", eh_sandbox_unsupported),
	UNSUPPORTED("/templates/*", eh_unsupported),
	UNSUPPORTED("/v2/templates/*", eh_unsupported),
	UNSUPPORTED("/v3/templates/*", eh_unsupported),
	UNSUPPORTED("/snapshots/*", eh_unsupported),
	UNSUPPORTED("/volumes/*", eh_unsupported),
	UNSUPPORTED("/volumecontent/*", eh_unsupported),
	UNSUPPORTED("/secrets/*", eh_unsupported),

	/* envd */
	{ "GET", "/health", eh_health, NA, NULL, NULL },
	{ "GET", "/files", eh_files_get, NA, NULL, NULL },
	{ "POST", "/files", eh_files_post, RAW, eh_files_post_begin, eh_files_post_chunk },
	{ "POST", PROC "Start", eh_proc_start, RAW, cn_body_begin, cn_body_chunk },
	{ "POST", PROC "Connect", eh_proc_connect, RAW, cn_body_begin, cn_body_chunk },
	{ "POST", PROC "List", eh_proc_list, NA, NULL, NULL },
	{ "POST", PROC "SendInput", eh_proc_input, NA, NULL, NULL },
	{ "POST", PROC "SendSignal", eh_proc_signal, NA, NULL, NULL },
	{ "POST", PROC "CloseStdin", eh_proc_close_stdin, NA, NULL, NULL },
	{ "POST", PROC "*", eh_cn_unimplemented, NA, NULL, NULL },
	{ "POST", FS "Stat", eh_fs_stat, NA, NULL, NULL },
	{ "POST", FS "MakeDir", eh_fs_mkdir, NA, NULL, NULL },
	{ "POST", FS "Move", eh_fs_move, NA, NULL, NULL },
	{ "POST", FS "ListDir", eh_fs_list, NA, NULL, NULL },
	{ "POST", FS "Remove", eh_fs_remove, NA, NULL, NULL },
	{ "POST", FS "WatchDir", eh_fs_watch, RAW, cn_body_begin, cn_body_chunk },
	{ "POST", FS "*", eh_cn_unimplemented, NA, NULL, NULL },

	/* code interpreter */
	{ "POST", "/execute", eh_execute, NA, NULL, NULL },
	{ "POST", "/contexts", eh_ctx_create, NA, NULL, NULL },
	{ "GET", "/contexts", eh_ctx_list, NA, NULL, NULL },
	{ "DELETE", "/contexts/{id}", eh_ctx_delete, NA, NULL, NULL },
	{ "POST", "/contexts/{id}/restart", eh_ctx_restart, NA, NULL, NULL },
};

const struct api_mount e2b_mount = {
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
};
