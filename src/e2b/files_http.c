/* files_http.c - envd's plain HTTP endpoints: GET /files (raw bytes),
 * POST /files (multipart/form-data with one part per file, or, since envd
 * 0.5.7, one raw application/octet-stream body), and GET /health.
 *
 * Uploads stream into the manager's uploads as they arrive.  Errors met
 * while the body comes in are kept and answered once it is all read, in
 * E2B's shape {"code": N, "message": "..."}, which the SDK reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "e2b/internal.h"

#define CT_MULTIPART "multipart/form-data"
#define CT_OCTET "application/octet-stream"

enum MHD_Result eh_health(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	if (e2b_auth_sandbox(r, false, &w, &e) < 0)
		return e2b_reply_error(r, e2b_sandbox_status(&e), e.msg);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* ---- download -------------------------------------------------------------------- */

enum MHD_Result eh_files_get(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	const char *path = api_query(r, "path");
	int fd;
	uint64_t size;
	if (e2b_auth_sandbox(r, false, &w, &e) < 0)
		return e2b_reply_error(r, e2b_sandbox_status(&e), e.msg);
	if (!path || !*path)
		return e2b_reply_error(r, MHD_HTTP_BAD_REQUEST, "query argument 'path' is required");
	if (box_file_open_read(api_mgr(r), &w.caller, w.id, path, &fd, &size, &e) < 0)
		return e2b_reply_error(r, e2b_sandbox_status(&e), e.msg);
	/* libmicrohttpd owns fd from here; an empty file gets Content-Length: 0,
	 * which is how the SDK knows not to parse a body. */
	struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_OCTET);
	return api_reply(r, MHD_HTTP_OK, resp);
}

/* ---- upload ------------------------------------------------------------------------ */

struct upload {
	struct e2b_who who;
	struct box_mgr *m;
	const char *path;           /* the query's, or NULL */
	struct mp_parser *mp;       /* NULL for an octet-stream body */
	struct box_upload *cur;     /* the file being written */
	json_t *written;            /* [{name,type,path}] */
	bool failed;
	unsigned status;
	struct aj_err err;
};

static void upload_free(void *ctx)
{
	struct upload *u = ctx;
	if (!u)
		return;
	if (u->cur)
		box_upload_abort(u->cur);
	mp_free(u->mp);
	json_decref(u->written);
	free(u);
}

/* Keep the first error (status from its code) and drop the rest of the
 * body; the file being written is given up. */
static int fail(struct upload *u, const struct aj_err *e)
{
	if (!u->failed) {
		u->failed = true;
		u->err = *e;
		u->status = e2b_sandbox_status(e);
	}
	if (u->cur) {
		box_upload_abort(u->cur);
		u->cur = NULL;
	}
	return -1;
}

static int file_begin(void *ctx, const char *filename, struct aj_err *e)
{
	struct upload *u = ctx;
	const char *path = u->path ? u->path : filename;
	if (!path || !*path)
		return aj_err_set(e, AJ_EINVAL, 0, "a file part needs a filename or ?path=");
	return box_upload_begin(u->m, &u->who.caller, u->who.id, path, &u->cur, e);
}

static int file_data(void *ctx, const char *p, size_t n, struct aj_err *e)
{
	struct upload *u = ctx;
	return box_upload_write(u->cur, p, n, e);
}

static int file_end(void *ctx, struct aj_err *e)
{
	struct upload *u = ctx;
	struct box_entry en = { 0 };
	struct box_upload *cur = u->cur;
	u->cur = NULL; /* commit frees it, success or not */
	if (box_upload_commit(cur, &en, e) < 0)
		return -1;
	json_array_append_new(u->written,
			      json_pack("{s:o,s:s,s:o}", "name", api_json_str(en.name),
					"type", "file", "path", api_json_str(en.path)));
	box_entry_free(&en);
	return 0;
}

static const struct mp_callbacks file_parts = { file_begin, file_data, file_end };

static bool is_type(const char *ct, const char *want)
{
	size_t n = strlen(want);
	return ct && strncasecmp(ct, want, n) == 0 && (!ct[n] || ct[n] == ';' || ct[n] == ' ');
}

/* Headers in: who, which kind of body, and for a raw body the file. */
static int begin(struct api_req *r, struct upload *u, struct aj_err *e)
{
	const char *ct = api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *enc = api_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING);
	u->m = api_mgr(r);
	u->path = api_query(r, "path");
	if (u->path && !*u->path)
		u->path = NULL;
	if (e2b_auth_sandbox(r, false, &u->who, e) < 0)
		return -1;
	if (enc && strcasecmp(enc, "identity") != 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "agentjail does not take %s-encoded uploads; write without gzip",
				  enc);
	if (is_type(ct, CT_MULTIPART)) {
		u->mp = mp_new(ct, &file_parts, u, e);
		return u->mp ? 0 : -1;
	}
	if (!u->path)
		return aj_err_set(e, AJ_EINVAL, 0, "a raw upload needs ?path=");
	return box_upload_begin(u->m, &u->who.caller, u->who.id, u->path, &u->cur, e);
}

int eh_files_post_begin(struct api_req *r, struct aj_err *e)
{
	struct upload *u = calloc(1, sizeof(*u));
	struct aj_err err = { 0 };
	if (!u || !(u->written = json_array())) {
		free(u);
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	}
	api_set_ctx(r, u, upload_free);
	if (begin(r, u, &err) < 0)
		fail(u, &err);
	return 0;
}

int eh_files_post_chunk(struct api_req *r, const char *data, size_t len,
		       struct aj_err *e)
{
	struct upload *u = api_ctx(r);
	struct aj_err err = { 0 };
	(void)e;
	if (u->failed)
		return 0;
	int rc = u->mp ? mp_feed(u->mp, data, len, &err)
		       : box_upload_write(u->cur, data, len, &err);
	if (rc < 0)
		fail(u, &err);
	return 0;
}

enum MHD_Result eh_files_post(struct api_req *r)
{
	struct upload *u = api_ctx(r);
	struct aj_err err = { 0 };
	if (!u->failed && u->mp && mp_finish(u->mp, &err) < 0)
		fail(u, &err);
	if (!u->failed && !u->mp && file_end(u, &err) < 0)
		fail(u, &err);
	if (!u->failed && json_array_size(u->written) == 0) {
		aj_err_set(&err, AJ_EINVAL, 0, "the upload has no file part");
		fail(u, &err);
	}
	if (u->failed)
		return e2b_reply_error(r, u->status, u->err.msg);
	json_t *out = json_incref(u->written);
	return api_reply_json(r, MHD_HTTP_OK, out);
}
