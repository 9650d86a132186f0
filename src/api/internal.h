/* internal.h - shared by the files of src/api only: the server and request
 * objects and the native route handlers. */
#ifndef AJ_API_INTERNAL_H
#define AJ_API_INTERNAL_H

#include <pthread.h>
#include <time.h>

#include "api/api.h"
#include "api/guard.h"
#include "api/http.h"
#include "util/buf.h"

#define API_MAX_PARAMS 4
#define API_MAX_QUERY 64

/* A command a request waits for (a plain exec blocks its connection's
 * thread in box_exec), so api_stop can end it: libmicrohttpd waits for
 * every connection thread before it lets go. */
struct api_running {
	struct api_running *next;
	struct api_server *srv;
	const struct box_caller *caller;
	const char *sandbox_id;
	pid_t pid; /* 0 until started */
};

struct api_server {
	struct api_config cfg; /* the one configuration; mounts borrowed */
	struct box_mgr *mgr;
	struct MHD_Daemon *daemon;
	struct api_guard *guard;
	uint16_t port;
	pthread_mutex_t lock;  /* guards what follows */
	bool stopping;
	struct api_running *running;
};

/* server.c: register x (caller and sandbox_id must outlive it); -1 with
 * AJ_EUNAVAIL if the server is stopping. */
int running_begin(struct api_server *s, struct api_running *x,
		  const struct box_caller *c, const char *sandbox_id,
		  struct aj_err *e);
/* Its pid is known: kill it at once if the server began stopping. */
void running_started(struct api_running *x, pid_t pid);
void running_end(struct api_running *x);

struct api_qarg {
	char *name;
	char *value;
};

struct api_req {
	struct api_server *srv;
	struct MHD_Connection *conn;
	struct guard_conn *gc; /* its connection's entry, or NULL */
	char *uri;      /* request target as sent, owned */
	char *path;     /* decoded path, owned */
	const char *method;
	const struct api_route *route;
	void *mount_data;   /* of the mount the route came from */
	const char *param_names[API_MAX_PARAMS];
	size_t param_name_len[API_MAX_PARAMS];
	char *params[API_MAX_PARAMS];
	size_t nparams;
	struct api_qarg query[API_MAX_QUERY];
	size_t nquery;
	struct box_caller caller;
	bool begun;      /* the first call (headers) is done */
	bool answered;   /* a response is queued */
	unsigned status; /* for the log */
	struct aj_buf body;
	uint64_t body_seen;  /* bytes received, kept or not */
	bool failed;         /* err is to be answered once the body is in */
	struct aj_err err;
	void *ctx;
	void (*ctx_free)(void *ctx);
	struct timespec t0;
};

/* request.c: split the request target into path and query (AJ_EINVAL for
 * a malformed escape or an encoded NUL). */
int req_parse_target(struct api_req *r, struct aj_err *e);
/* One path segment percent-decoded (malloc'd); NULL if malformed. */
char *req_decode_segment(const char *s, size_t n);
/* router.c: find the route of r (fills route and params).  Returns 0,
 * or the HTTP status to answer (404, 405) with allow set for 405. */
unsigned router_match(struct api_req *r, char *allow, size_t allowlen);
/* router.c: the access handler's three steps. */
enum MHD_Result router_begin(struct api_req *r);
enum MHD_Result router_body(struct api_req *r, const char *data, size_t len);
enum MHD_Result router_finish(struct api_req *r);
void req_free(struct api_req *r);
/* render.c: an error body with an explicit status and code name, for the
 * router's answers that have no aj_code (405); allow: the Allow header. */
enum MHD_Result api_reply_error_as(struct api_req *r, unsigned status,
				   const char *code, const char *msg,
				   const char *allow);

/* The native routes (routes.c). */
extern const struct api_route api_native_routes[];
extern const size_t api_native_nroutes;

/* handlers */
enum MHD_Result h_healthz(struct api_req *r);
enum MHD_Result h_metrics(struct api_req *r);
enum MHD_Result h_sandbox_create(struct api_req *r);
enum MHD_Result h_sandbox_list(struct api_req *r);
enum MHD_Result h_sandbox_get(struct api_req *r);
enum MHD_Result h_sandbox_delete(struct api_req *r);
enum MHD_Result h_sandbox_timeout(struct api_req *r);
enum MHD_Result h_exec(struct api_req *r);
enum MHD_Result h_proc_list(struct api_req *r);
enum MHD_Result h_proc_kill_all(struct api_req *r);
enum MHD_Result h_proc_get(struct api_req *r);
enum MHD_Result h_proc_signal(struct api_req *r);
enum MHD_Result h_proc_stdin(struct api_req *r);
int h_file_put_begin(struct api_req *r, struct aj_err *e);
int h_file_put_chunk(struct api_req *r, const char *data, size_t len,
		     struct aj_err *e);
enum MHD_Result h_file_put(struct api_req *r);
enum MHD_Result h_file_get(struct api_req *r);
enum MHD_Result h_file_delete(struct api_req *r);
enum MHD_Result h_file_mkdir(struct api_req *r);
enum MHD_Result h_file_rename(struct api_req *r);
enum MHD_Result h_audit_list(struct api_req *r);
enum MHD_Result h_key_create(struct api_req *r);
enum MHD_Result h_key_list(struct api_req *r);
enum MHD_Result h_key_revoke(struct api_req *r);
enum MHD_Result h_code(struct api_req *r);
enum MHD_Result h_ctx_create(struct api_req *r);
enum MHD_Result h_ctx_list(struct api_req *r);
enum MHD_Result h_ctx_restart(struct api_req *r);
enum MHD_Result h_ctx_delete(struct api_req *r);

/* sandboxes.c: the Idempotency-Key header (*out NULL if absent); -1 if
 * it is empty or too long. */
int api_idempotency_key(struct api_req *r, const char **out, struct aj_err *e);

/* exec.c: a parsed exec request.  body owns the strings req points to. */
struct exec_args {
	json_t *body;
	struct box_exec req;
	char **argv;        /* the array only */
	struct box_kv *env; /* the array only */
	char *stdin_buf;
	char *idem_key;
	char *sandbox_id;
};
void exec_args_free(struct exec_args *a);
/* The result object; with_output false leaves out stdout and stderr (the
 * final event of a stream, whose output went out as it came). */
json_t *exec_result_json(const struct box_exec_result *res, bool with_output);

/* exec_stream.c: answer an exec with a stream of events (ndjson or SSE).
 * Takes over *a (and zeroes it) whatever happens. */
enum MHD_Result exec_stream(struct api_req *r, struct exec_args *a, bool sse);

/* code.c: a parsed cell request; body owns the strings req points to. */
struct code_args {
	json_t *body;
	struct box_code req;
	struct box_kv *env; /* the array only */
	char *sandbox_id;
};
int code_args_parse(struct api_req *r, struct code_args *a, struct aj_err *e);
void code_args_free(struct code_args *a);
json_t *code_item_json(const struct box_cell_item *it);
json_t *code_error_json(const struct box_cell_error *err);
json_t *code_result_json(const struct box_code_result *res, bool with_output);
/* code_stream.c: takes over *a. */
enum MHD_Result code_stream(struct api_req *r, struct code_args *a, bool sse);

#endif
