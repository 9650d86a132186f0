/* envd_fs.c - filesystem.Filesystem over Connect: Stat, MakeDir, Move,
 * ListDir, Remove (WatchDir is envd_watch.c).  Paths are resolved by the
 * manager, inside the sandbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2b/internal.h"

#define MAX_DEPTH 32 /* the deepest listing the manager makes */

/* ---- EntryInfo ------------------------------------------------------------------- */

static const char *type_name(enum box_ftype t)
{
	switch (t) {
	case BOX_FT_FILE: return "FILE_TYPE_FILE";
	case BOX_FT_DIR: return "FILE_TYPE_DIRECTORY";
	case BOX_FT_SYMLINK: return "FILE_TYPE_SYMLINK";
	default: return "FILE_TYPE_UNSPECIFIED";
	}
}

/* "drwxr-xr-x" as Go's FileMode.String() prints it ('L' for a symlink). */
static void permissions(const struct box_entry *en, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	out[0] = en->type == BOX_FT_DIR ? 'd' : en->type == BOX_FT_SYMLINK ? 'L' : '-';
	for (int i = 0; i < 9; i++)
		out[i + 1] = (en->mode >> (8 - i)) & 1 ? rwx[i] : '-';
	out[10] = '\0';
}

/* Names as the sandbox's /etc/passwd has them. */
static void owner_name(uint32_t id, char *out, size_t len)
{
	if (id == 0)
		snprintf(out, len, "root");
	else if (id == 1000)
		snprintf(out, len, "user");
	else
		snprintf(out, len, "%u", id);
}

json_t *e2b_entry_json(const struct box_entry *en)
{
	char perm[11], size[24], owner[16], group[16];
	permissions(en, perm);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)en->size);
	owner_name(en->uid, owner, sizeof(owner));
	owner_name(en->gid, group, sizeof(group));
	json_t *o = json_pack("{s:o,s:s,s:o,s:s,s:i,s:s,s:s,s:s,s:o}",
			      "name", api_json_str(en->name),
			      "type", type_name(en->type),
			      "path", api_json_str(en->path),
			      "size", size, "mode", (int)(en->mode & 07777),
			      "permissions", perm, "owner", owner, "group", group,
			      "modifiedTime", api_json_time(en->mtime_ms > 0 ? en->mtime_ms : 1));
	if (o && en->symlink_target)
		json_object_set_new(o, "symlinkTarget", api_json_str(en->symlink_target));
	return o;
}

static enum MHD_Result reply_entry(struct api_req *r, struct box_entry *en)
{
	json_t *o = json_pack("{s:o}", "entry", e2b_entry_json(en));
	box_entry_free(en);
	return cn_reply(r, o);
}

/* A required non-empty string field. */
static int need(json_t *msg, const char *name, const char **out, struct aj_err *e)
{
	*out = json_string_value(json_object_get(msg, name));
	if (!*out || !**out)
		return aj_err_set(e, AJ_EINVAL, 0, "field '%s' is required", name);
	return 0;
}

/* ---- unary calls -------------------------------------------------------------------- */

enum MHD_Result eh_fs_stat(struct api_req *r)
{
	struct e2b_who w;
	struct box_entry en = { 0 };
	struct aj_err e;
	json_t *msg;
	const char *path;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	int st = need(msg, "path", &path, &e);
	if (st == 0)
		st = box_file_stat(api_mgr(r), &w.caller, w.id, path, &en, &e);
	json_decref(msg);
	return st < 0 ? cn_reply_aj(r, &e) : reply_entry(r, &en);
}

enum MHD_Result eh_fs_mkdir(struct api_req *r)
{
	struct e2b_who w;
	struct box_entry en = { 0 };
	struct aj_err e;
	json_t *msg;
	const char *path;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	/* E2B creates the missing parents; an existing one is already_exists. */
	int st = need(msg, "path", &path, &e);
	if (st == 0)
		st = box_file_mkdir(api_mgr(r), &w.caller, w.id, path, true, &en, &e);
	json_decref(msg);
	return st < 0 ? cn_reply_aj(r, &e) : reply_entry(r, &en);
}

enum MHD_Result eh_fs_move(struct api_req *r)
{
	struct e2b_who w;
	struct box_entry en = { 0 };
	struct aj_err e;
	json_t *msg;
	const char *from, *to;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	int st = need(msg, "source", &from, &e);
	if (st == 0)
		st = need(msg, "destination", &to, &e);
	if (st == 0)
		st = box_file_rename(api_mgr(r), &w.caller, w.id, from, to, &en, &e);
	json_decref(msg);
	return st < 0 ? cn_reply_aj(r, &e) : reply_entry(r, &en);
}

enum MHD_Result eh_fs_list(struct api_req *r)
{
	struct e2b_who w;
	struct box_entry *v = NULL;
	size_t n = 0;
	struct aj_err e;
	json_t *msg;
	const char *path;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	json_int_t depth = json_integer_value(json_object_get(msg, "depth"));
	if (depth <= 0)
		depth = 1;
	int st = need(msg, "path", &path, &e);
	if (st == 0)
		st = box_file_list(api_mgr(r), &w.caller, w.id, path,
				   depth > MAX_DEPTH ? MAX_DEPTH : (int)depth, &v, &n, &e);
	json_decref(msg);
	if (st < 0)
		return cn_reply_aj(r, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, e2b_entry_json(&v[i]));
	box_entries_free(v, n);
	return cn_reply(r, json_pack("{s:o}", "entries", arr));
}

enum MHD_Result eh_fs_remove(struct api_req *r)
{
	struct e2b_who w;
	struct aj_err e;
	json_t *msg;
	const char *path;
	enum MHD_Result rc;
	if (cn_begin(r, false, &w, &msg, &rc) < 0)
		return rc;
	int st = need(msg, "path", &path, &e);
	if (st == 0)
		st = box_file_remove(api_mgr(r), &w.caller, w.id, path, &e);
	json_decref(msg);
	return st < 0 ? cn_reply_aj(r, &e) : cn_reply(r, json_object());
}
