/* internal.h - shared by the files of src/e2b only.  The wire format they
 * implement is described in docs: ../shared/reference/e2b-wire.md is what
 * the SDKs send and expect; the real SDK is the judge (tests/e2b). */
#ifndef AJ_E2B_INTERNAL_H
#define AJ_E2B_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "api/http.h"
#include "api/stream.h"
#include "e2b/e2b.h"
#include "util/buf.h"

/* The envd version create and connect advertise.  It decides what the SDK
 * sends: >= 0.4.0 no Basic auth, >= 0.5.2 closeStdin, >= 0.5.7
 * octet-stream uploads.  Below 0.6.2, so the SDK itself refuses file
 * metadata (which we do not store) with a clear TemplateError. */
#define E2B_ENVD_VERSION "0.5.7"

/* ---- common.c: credentials and E2B's REST error body ------------------- */

/* Who a sandbox-scoped request (envd, interpreter) acts as. */
struct e2b_who {
	struct box_caller caller;
	char id[40];
};

/* Control plane: the X-API-KEY header (native or e2b_ form). */
int e2b_auth_key(struct api_req *r, struct box_caller *c, struct aj_err *e);
/* envd: E2b-Sandbox-Id + X-Access-Token.  Interpreter (interp true):
 * E2B-Traffic-Access-Token, or else X-Access-Token as an envd token. */
int e2b_auth_sandbox(struct api_req *r, bool interp, struct e2b_who *w,
		     struct aj_err *e);
/* Status for a failure of a sandbox-scoped request: a sandbox that is not
 * running is 502, as E2B's proxy answers (the SDKs read it as "sandbox
 * timed out / not running"). */
unsigned e2b_sandbox_status(const struct aj_err *e);

/* {"code": status, "message": msg} with that status. */
enum MHD_Result e2b_reply_error(struct api_req *r, unsigned status,
				const char *msg);
enum MHD_Result e2b_reply_errorf(struct api_req *r, unsigned status,
				 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for an aj_err, status from api_http_status. */
enum MHD_Result e2b_reply_aj(struct api_req *r, const struct aj_err *e);
/* A JSON object of strings (or null/absent): borrowed pairs as jf_kv. */
void e2b_kv_free(struct box_kv *kv, size_t n); /* malloc'd keys, values, array */
/* The lowercase description of a signal as Go prints it ("killed"). */
void e2b_signal_name(int sig, char *out, size_t len);

/* ---- connect.c: the Connect protocol, JSON codec ---------------------------- */

/* The Connect code string of an aj_code ("not_found", ...). */
const char *cn_code(enum aj_code c);
/* Unary success: 200 application/json.  Steals msg. */
enum MHD_Result cn_reply(struct api_req *r, json_t *msg);
/* Unary error: the code's HTTP status, {"code","message"}. */
enum MHD_Result cn_reply_error(struct api_req *r, const char *code,
			       const char *msg);
enum MHD_Result cn_reply_aj(struct api_req *r, const struct aj_err *e);
/* A stream that failed before its first message: 200 with one end-stream
 * frame carrying the error (the client reads the code from it; a non-200
 * status would only give it a code derived from the status). */
enum MHD_Result cn_reply_stream_error(struct api_req *r, const char *code,
				      const char *msg);
/* Body hooks of the streaming routes (API_RAW_BODY): collect the body. */
int cn_body_begin(struct api_req *r, struct aj_err *e);
int cn_body_chunk(struct api_req *r, const char *data, size_t len,
		  struct aj_err *e);
/* The one message of a server-stream request body (one envelope with no
 * flags, a JSON object): 0 and *out (a new reference), or -1 with e.
 * Bytes in, nothing else (tests/fuzz/fuzz_e2b_connect.c). */
int cn_envelope_message(const char *p, size_t n, json_t **out, struct aj_err *e);
/* Authenticate an envd RPC and read its message (stream: one envelope).
 * 0, or -1 after answering the error (*rc is what to return). */
int cn_begin(struct api_req *r, bool stream, struct e2b_who *w, json_t **msg,
	     enum MHD_Result *rc);
/* Append an envelope: flag 0 and msg (stolen), or the end-stream frame
 * (flag 2) with {} or {"error":{code,message}} when code is not NULL. */
int cn_frame(struct aj_buf *b, json_t *msg);
int cn_end_frame(struct aj_buf *b, const char *code, const char *msg);
/* Connect-Timeout-Ms, or 0 when absent (no deadline). */
int64_t cn_timeout_ms(struct api_req *r);
/* Keepalive-Ping-Interval (seconds) in ms, or 0. */
int64_t cn_keepalive_ms(struct api_req *r);
/* The "process" selector {pid} / {tag} of a request as a pid (by tag:
 * the running process with that tag).  -1 with e on failure. */
int cn_selector_pid(struct api_req *r, const struct e2b_who *w, json_t *msg,
		    pid_t *pid, struct aj_err *e);
enum MHD_Result eh_cn_unimplemented(struct api_req *r);

/* ---- metadata.c ------------------------------------------------------------- */

/* The list filter's metadata value (already query-decoded once):
 * a query string of encodeURIComponent'ed pairs.  malloc'd pairs. */
int e2b_metadata_query(const char *q, struct box_kv **out, size_t *n,
		       struct aj_err *e);

/* ---- multipart.c: multipart/form-data, streamed ------------------------------ */

struct mp_callbacks {
	int (*part_begin)(void *ctx, const char *filename, struct aj_err *e);
	int (*part_data)(void *ctx, const char *p, size_t n, struct aj_err *e);
	int (*part_end)(void *ctx, struct aj_err *e);
};
struct mp_parser;
/* content_type: the request's, with its boundary parameter. */
struct mp_parser *mp_new(const char *content_type, const struct mp_callbacks *cb,
			 void *ctx, struct aj_err *e);
int mp_feed(struct mp_parser *p, const char *data, size_t n, struct aj_err *e);
/* The body is over: -1 unless the closing boundary was seen. */
int mp_finish(struct mp_parser *p, struct aj_err *e);
/* The bytes fed and not yet handled: at most MP_MAX_HELD after a feed
 * that succeeded (a header block of 16 KiB, and its terminator's first
 * three bytes), whatever the body. */
#define MP_MAX_HELD ((16u << 10) + 3)
size_t mp_held(const struct mp_parser *p);
void mp_free(struct mp_parser *p);

/* ---- entries (envd_fs.c), shared with /files ------------------------------------ */

json_t *e2b_entry_json(const struct box_entry *en);

/* ---- handlers ------------------------------------------------------------------- */

/* control.c */
enum MHD_Result eh_create(struct api_req *r);
enum MHD_Result eh_list(struct api_req *r);
enum MHD_Result eh_get(struct api_req *r);
enum MHD_Result eh_kill(struct api_req *r);
enum MHD_Result eh_set_timeout(struct api_req *r);
enum MHD_Result eh_refresh(struct api_req *r);
enum MHD_Result eh_connect(struct api_req *r);
enum MHD_Result eh_resume(struct api_req *r);
enum MHD_Result eh_sandbox_unsupported(struct api_req *r);
enum MHD_Result eh_unsupported(struct api_req *r);

/* envd_process.c */
enum MHD_Result eh_proc_start(struct api_req *r);
enum MHD_Result eh_proc_connect(struct api_req *r);
enum MHD_Result eh_proc_list(struct api_req *r);
enum MHD_Result eh_proc_input(struct api_req *r);
enum MHD_Result eh_proc_signal(struct api_req *r);
enum MHD_Result eh_proc_close_stdin(struct api_req *r);

/* envd_fs.c */
enum MHD_Result eh_fs_stat(struct api_req *r);
enum MHD_Result eh_fs_mkdir(struct api_req *r);
enum MHD_Result eh_fs_move(struct api_req *r);
enum MHD_Result eh_fs_list(struct api_req *r);
enum MHD_Result eh_fs_remove(struct api_req *r);

/* envd_watch.c */
enum MHD_Result eh_fs_watch(struct api_req *r);

/* files_http.c */
enum MHD_Result eh_health(struct api_req *r);
enum MHD_Result eh_files_get(struct api_req *r);
int eh_files_post_begin(struct api_req *r, struct aj_err *e);
int eh_files_post_chunk(struct api_req *r, const char *data, size_t len,
		       struct aj_err *e);
enum MHD_Result eh_files_post(struct api_req *r);

/* interp.c */
enum MHD_Result eh_execute(struct api_req *r);
enum MHD_Result eh_ctx_create(struct api_req *r);
enum MHD_Result eh_ctx_list(struct api_req *r);
enum MHD_Result eh_ctx_delete(struct api_req *r);
enum MHD_Result eh_ctx_restart(struct api_req *r);

#endif
