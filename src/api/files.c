/* files.c - the files of a sandbox: upload (streamed to disk as it
 * arrives), download (sent from the file descriptor, no copy), list,
 * stat, mkdir, rename, remove.  Paths are resolved by the manager, inside
 * the sandbox; here they are only carried. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/internal.h"

static const char *const type_names[] = {
	[BOX_FT_FILE] = "file", [BOX_FT_DIR] = "dir",
	[BOX_FT_SYMLINK] = "symlink", [BOX_FT_OTHER] = "other",
};

static json_t *entry_json(const struct box_entry *en)
{
	json_t *o = json_pack("{s:o,s:o,s:s,s:I,s:i,s:o}",
			      "name", api_json_str(en->name),
			      "path", api_json_str(en->path),
			      "type", type_names[en->type],
			      "size", (json_int_t)en->size,
			      "mode", (int)en->mode,
			      "mtime", api_json_time(en->mtime_ms));
	if (o && en->symlink_target)
		json_object_set_new(o, "symlink_target", api_json_str(en->symlink_target));
	return o;
}

static enum MHD_Result reply_entry(struct api_req *r, unsigned status,
				   struct box_entry *en)
{
	json_t *o = entry_json(en);
	box_entry_free(en);
	return api_reply_json(r, status, o);
}

static int path_arg(struct api_req *r, const char **path, struct aj_err *e)
{
	*path = api_query(r, "path");
	if (!*path || !**path)
		return aj_err_set(e, AJ_EINVAL, 0, "query argument 'path' is required");
	return 0;
}

static bool flag_arg(struct api_req *r, const char *name)
{
	const char *v = api_query(r, name);
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* ---- upload --------------------------------------------------------------------- */

static void upload_abort(void *ctx)
{
	box_upload_abort(ctx);
}

int h_file_put_begin(struct api_req *r, struct aj_err *e)
{
	const char *path;
	struct box_upload *u;
	if (path_arg(r, &path, e) < 0 ||
	    box_upload_begin(api_mgr(r), api_caller(r), api_param(r, "id"), path, &u, e) < 0)
		return -1;
	api_set_ctx(r, u, upload_abort);
	return 0;
}

int h_file_put_chunk(struct api_req *r, const char *data, size_t len,
		     struct aj_err *e)
{
	if (box_upload_write(api_ctx(r), data, len, e) == 0)
		return 0;
	/* Give back the space now; the rest of the body is dropped. */
	box_upload_abort(api_ctx(r));
	api_set_ctx(r, NULL, NULL);
	return -1;
}

enum MHD_Result h_file_put(struct api_req *r)
{
	struct box_upload *u = api_ctx(r);
	struct box_entry en = { 0 };
	struct aj_err e;
	api_set_ctx(r, NULL, NULL); /* commit frees it, success or not */
	if (box_upload_commit(u, &en, &e) < 0)
		return api_reply_err(r, &e);
	return reply_entry(r, MHD_HTTP_CREATED, &en);
}

/* ---- download, list, stat ---------------------------------------------------------- */

static enum MHD_Result list(struct api_req *r, const char *path)
{
	const char *ds = api_query(r, "depth");
	struct box_entry *v;
	size_t n;
	struct aj_err e;
	char *end = NULL;
	long depth = ds ? strtol(ds, &end, 10) : 1;
	if (ds && (!*ds || *end || depth < 1 || depth > 1000))
		return api_reply_errf(r, AJ_EINVAL, "depth must be a positive integer");
	if (box_file_list(api_mgr(r), api_caller(r), api_param(r, "id"), path,
			  (int)depth, &v, &n, &e) < 0)
		return api_reply_err(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, entry_json(&v[i]));
	box_entries_free(v, n);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "entries", arr));
}

static enum MHD_Result download(struct api_req *r, const char *path)
{
	int fd;
	uint64_t size;
	struct aj_err e;
	if (box_file_open_read(api_mgr(r), api_caller(r), api_param(r, "id"), path,
			       &fd, &size, &e) < 0)
		return api_reply_err(r, &e);
	/* libmicrohttpd owns fd from here (sendfile where it can). */
	struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/octet-stream");
	return api_reply(r, MHD_HTTP_OK, resp);
}

enum MHD_Result h_file_get(struct api_req *r)
{
	const char *path;
	struct box_entry en = { 0 };
	struct aj_err e;
	if (path_arg(r, &path, &e) < 0)
		return api_reply_err(r, &e);
	if (flag_arg(r, "list"))
		return list(r, path);
	if (!flag_arg(r, "stat"))
		return download(r, path);
	if (box_file_stat(api_mgr(r), api_caller(r), api_param(r, "id"), path, &en, &e) < 0)
		return api_reply_err(r, &e);
	return reply_entry(r, MHD_HTTP_OK, &en);
}

/* ---- changes -------------------------------------------------------------------------- */

enum MHD_Result h_file_delete(struct api_req *r)
{
	const char *path;
	struct aj_err e;
	if (path_arg(r, &path, &e) < 0 ||
	    box_file_remove(api_mgr(r), api_caller(r), api_param(r, "id"), path, &e) < 0)
		return api_reply_err(r, &e);
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* A required string field of the body. */
static int need_string(json_t *b, const char *name, const char **out,
		       struct aj_err *e)
{
	int rc = jf_string(b, name, out, e);
	if (rc == 0 || (rc == 1 && !**out))
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' is required", name);
	return rc < 0 ? -1 : 0;
}

enum MHD_Result h_file_mkdir(struct api_req *r)
{
	json_t *b = NULL;
	const char *path;
	bool parents = false;
	struct box_entry en = { 0 };
	struct aj_err e;
	int rc = api_body_json(r, &b, &e);
	if (rc == 0 && (need_string(b, "path", &path, &e) < 0 ||
			jf_bool(b, "parents", &parents, &e) < 0))
		rc = -1;
	if (rc == 0)
		rc = box_file_mkdir(api_mgr(r), api_caller(r), api_param(r, "id"), path,
				    parents, &en, &e);
	json_decref(b);
	if (rc < 0)
		return api_reply_err(r, &e);
	return reply_entry(r, MHD_HTTP_CREATED, &en);
}

enum MHD_Result h_file_rename(struct api_req *r)
{
	json_t *b = NULL;
	const char *from, *to;
	struct box_entry en = { 0 };
	struct aj_err e;
	int rc = api_body_json(r, &b, &e);
	if (rc == 0 && (need_string(b, "from", &from, &e) < 0 ||
			need_string(b, "to", &to, &e) < 0))
		rc = -1;
	if (rc == 0)
		rc = box_file_rename(api_mgr(r), api_caller(r), api_param(r, "id"), from,
				     to, &en, &e);
	json_decref(b);
	if (rc < 0)
		return api_reply_err(r, &e);
	return reply_entry(r, MHD_HTTP_OK, &en);
}
