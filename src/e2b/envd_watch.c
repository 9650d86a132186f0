/* envd_watch.c - filesystem.Filesystem/WatchDir: a server stream of
 * create / write / remove / chmod events under a directory.
 *
 * There is no inotify across the sandbox boundary, so the directory is
 * listed a few times a second and each listing compared with the one
 * before.  What that cannot see: a file created and removed between two
 * looks, and a rename, which shows as a remove and a create (envd has
 * rename events).  A new non-empty file gives create then write, as
 * inotify would. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2b/internal.h"

#define POLL_MS 200
#define MAX_DEPTH 32 /* the deepest listing the manager makes */

static const char keepalive_frame[] = "\0\0\0\0\x10{\"keepalive\":{}}";
_Static_assert(sizeof(keepalive_frame) - 1 == 5 + 0x10, "keepalive envelope length");

struct watch {
	struct box_mgr *m;
	struct e2b_who who;
	char *dir;             /* absolute, as the manager resolved it */
	int depth;
	int64_t deadline_ms;   /* monotonic; 0 = none */
	struct api_stream *st;
	struct aj_buf out;
	struct box_entry *snap;
	size_t nsnap;
};

static void watch_free(void *arg)
{
	struct watch *w = arg;
	free(w->dir);
	box_entries_free(w->snap, w->nsnap);
	aj_buf_free(&w->out);
	free(w);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct box_entry *)a)->path, ((const struct box_entry *)b)->path);
}

static int list(struct watch *w, struct box_entry **v, size_t *n, struct aj_err *e)
{
	if (box_file_list(w->m, &w->who.caller, w->who.id, w->dir, w->depth, v, n, e) < 0)
		return -1;
	if (*n)
		qsort(*v, *n, sizeof(**v), by_path);
	return 0;
}

/* ---- events ------------------------------------------------------------------- */

static int send_msg(struct watch *w, json_t *msg)
{
	if (cn_frame(&w->out, msg) < 0)
		return -1;
	return api_stream_write_buf(w->st, &w->out);
}

/* One event; its name is the path below the watched directory. */
static int event(struct watch *w, const struct box_entry *en, const char *type)
{
	size_t dl = strlen(w->dir);
	const char *name = en->path;
	if (strncmp(name, w->dir, dl) == 0 && name[dl] == '/')
		name += dl + 1;
	else if (dl == 1 && name[0] == '/')
		name += 1;
	return send_msg(w, json_pack("{s:{s:o,s:s}}", "filesystem", "name", api_json_str(name),
				 "type", type));
}

static bool modified(const struct box_entry *a, const struct box_entry *b)
{
	return a->type == BOX_FT_FILE && (a->size != b->size || a->mtime_ms != b->mtime_ms);
}

/* Walk two path-sorted listings together and report the differences. */
static int diff(struct watch *w, const struct box_entry *old, size_t no,
		const struct box_entry *cur, size_t nc)
{
	size_t i = 0, k = 0;
	int rc = 0;
	while (rc == 0 && (i < no || k < nc)) {
		int c = i == no ? 1 : k == nc ? -1 : strcmp(old[i].path, cur[k].path);
		if (c < 0) {
			rc = event(w, &old[i++], "EVENT_TYPE_REMOVE");
		} else if (c > 0) {
			rc = event(w, &cur[k], "EVENT_TYPE_CREATE");
			if (rc == 0 && cur[k].type == BOX_FT_FILE && cur[k].size > 0)
				rc = event(w, &cur[k], "EVENT_TYPE_WRITE");
			k++;
		} else {
			if (modified(&old[i], &cur[k]))
				rc = event(w, &cur[k], "EVENT_TYPE_WRITE");
			if (rc == 0 && old[i].mode != cur[k].mode)
				rc = event(w, &cur[k], "EVENT_TYPE_CHMOD");
			i++;
			k++;
		}
	}
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
	nanosleep(&ts, NULL);
}

static void watch_work(struct api_stream *st, void *arg)
{
	struct watch *w = arg;
	struct aj_err e;
	w->st = st;
	if (send_msg(w, json_pack("{s:{}}", "start")) != 0)
		return;
	while (!atomic_load(api_stream_cancel_flag(st))) {
		if (w->deadline_ms && mono_ms() >= w->deadline_ms) {
			if (cn_end_frame(&w->out, "deadline_exceeded", "the watch reached its timeout") == 0)
				api_stream_write_buf(st, &w->out);
			return;
		}
		sleep_ms(POLL_MS);
		struct box_entry *cur;
		size_t nc;
		if (list(w, &cur, &nc, &e) < 0) {
			/* the directory (or the sandbox) is gone */
			if (cn_end_frame(&w->out, cn_code(e.code), e.msg) == 0)
				api_stream_write_buf(st, &w->out);
			return;
		}
		int rc = diff(w, w->snap, w->nsnap, cur, nc);
		box_entries_free(w->snap, w->nsnap);
		w->snap = cur;
		w->nsnap = nc;
		if (rc != 0)
			return;
	}
}

/* ---- the call ---------------------------------------------------------------------- */

static int watch_open(struct api_req *r, struct watch *w, json_t *msg, struct aj_err *e)
{
	const char *path = json_string_value(json_object_get(msg, "path"));
	struct box_entry en = { 0 };
	if (!path || !*path)
		return aj_err_set(e, AJ_EINVAL, 0, "field 'path' is required");
	if (box_file_stat(w->m, &w->who.caller, w->who.id, path, &en, e) < 0)
		return -1;
	bool dir = en.type == BOX_FT_DIR;
	w->dir = en.path ? strdup(en.path) : NULL;
	box_entry_free(&en);
	if (!dir)
		return aj_err_set(e, AJ_EINVAL, 0, "'%.200s' is not a directory", path);
	if (!w->dir)
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	w->depth = json_is_true(json_object_get(msg, "recursive")) ? MAX_DEPTH : 1;
	int64_t t = cn_timeout_ms(r);
	w->deadline_ms = t > 0 ? mono_ms() + t : 0;
	return list(w, &w->snap, &w->nsnap, e);
}

enum MHD_Result eh_fs_watch(struct api_req *r)
{
	struct e2b_who who;
	struct aj_err e;
	json_t *msg;
	enum MHD_Result rc;
	if (cn_begin(r, true, &who, &msg, &rc) < 0)
		return rc;
	struct watch *w = calloc(1, sizeof(*w));
	if (!w) {
		json_decref(msg);
		return MHD_NO;
	}
	w->m = api_mgr(r);
	w->who = who;
	int st = watch_open(r, w, msg, &e);
	json_decref(msg);
	if (st < 0) {
		watch_free(w);
		return cn_reply_stream_error(r, cn_code(e.code), e.msg);
	}
	struct api_stream_spec spec = {
		.content_type = "application/connect+json",
		.produce = watch_work,
		.free_arg = watch_free,
		.arg = w,
		.begin_now = true,
		.keepalive_ms = cn_keepalive_ms(r),
		.keepalive = keepalive_frame,
		.keepalive_len = sizeof(keepalive_frame) - 1,
	};
	return api_stream_run(r, &spec);
}
