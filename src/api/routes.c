/* routes.c - the native REST API: every endpoint in one table. */
#include "api/internal.h"

#define SB "/v1/sandboxes/{id}"

const struct api_route api_native_routes[] = {
	{ "GET", "/healthz", h_healthz, API_NOAUTH, NULL, NULL },
	{ "GET", "/metrics", h_metrics, 0, NULL, NULL },

	{ "POST", "/v1/sandboxes", h_sandbox_create, 0, NULL, NULL },
	{ "GET", "/v1/sandboxes", h_sandbox_list, 0, NULL, NULL },
	{ "GET", SB, h_sandbox_get, 0, NULL, NULL },
	{ "DELETE", SB, h_sandbox_delete, 0, NULL, NULL },
	{ "POST", SB "/timeout", h_sandbox_timeout, 0, NULL, NULL },

	{ "POST", SB "/exec", h_exec, 0, NULL, NULL },
	{ "GET", SB "/processes", h_proc_list, 0, NULL, NULL },
	{ "DELETE", SB "/processes", h_proc_kill_all, 0, NULL, NULL },
	{ "GET", SB "/processes/{pid}", h_proc_get, 0, NULL, NULL },
	{ "POST", SB "/processes/{pid}/signal", h_proc_signal, 0, NULL, NULL },
	{ "POST", SB "/processes/{pid}/stdin", h_proc_stdin, 0, NULL, NULL },

	{ "PUT", SB "/files", h_file_put, API_RAW_BODY, h_file_put_begin,
	  h_file_put_chunk },
	{ "GET", SB "/files", h_file_get, 0, NULL, NULL },
	{ "DELETE", SB "/files", h_file_delete, 0, NULL, NULL },
	{ "POST", SB "/files/mkdir", h_file_mkdir, 0, NULL, NULL },
	{ "POST", SB "/files/rename", h_file_rename, 0, NULL, NULL },

	{ "POST", SB "/code", h_code, 0, NULL, NULL },
	{ "POST", SB "/contexts", h_ctx_create, 0, NULL, NULL },
	{ "GET", SB "/contexts", h_ctx_list, 0, NULL, NULL },
	{ "POST", SB "/contexts/{cid}/restart", h_ctx_restart, 0, NULL, NULL },
	{ "DELETE", SB "/contexts/{cid}", h_ctx_delete, 0, NULL, NULL },

	{ "GET", "/v1/audit", h_audit_list, 0, NULL, NULL },
	{ "POST", "/v1/keys", h_key_create, 0, NULL, NULL },
	{ "GET", "/v1/keys", h_key_list, 0, NULL, NULL },
	{ "DELETE", "/v1/keys/{id}", h_key_revoke, 0, NULL, NULL },
};

const size_t api_native_nroutes =
	sizeof(api_native_routes) / sizeof(api_native_routes[0]);
