/* Unit tests for the filesystem plan (src/jail/fsplan.c): what the parent
 * looks up on the host for the sandbox root, checked against the host
 * itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail/internal.h"

struct rec {
	int kind;
	const char *path;
	const char *data;
	size_t data_len;
};

/* Walk the plan; fail on a malformed record.  Returns the count. */
static int walk(const struct jail_fs_plan *p, struct rec *out, int max)
{
	size_t off = 0;
	int n = 0;
	assert_true(p->len > 0 && p->len <= JAIL_PLAN_MAX); /* one message */
	while (off < p->len) {
		struct jail_plan_rec r;
		assert_true(p->len - off >= sizeof(r));
		memcpy(&r, p->buf + off, sizeof(r));
		const char *path = p->buf + off + sizeof(r);
		assert_true(p->len - off - sizeof(r) >= (size_t)r.path_len + r.data_len);
		assert_true(r.path_len >= 2 && path[r.path_len - 1] == '\0');
		assert_int_equal(path[0], '/');
		assert_true(n < max);
		out[n++] = (struct rec){ r.kind, path, path + r.path_len, r.data_len };
		off += sizeof(r) + r.path_len + r.data_len;
	}
	return n;
}

/* One plan for all the tests, walked once (group setup). */
static struct jail_fs_plan plan;
static struct rec recs[256];
static int nrecs;

static int setup(void **state)
{
	(void)state;
	struct aj_err e;
	if (jail_fs_plan_build(&plan, &e) < 0) {
		fprintf(stderr, "plan: %s\n", e.msg);
		return -1;
	}
	nrecs = walk(&plan, recs, 256);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	jail_fs_plan_free(&plan);
	return 0;
}

static const struct rec *find(const struct rec *v, int n, const char *path)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i].path, path) == 0)
			return &v[i];
	return NULL;
}

static void plan_mirrors_usr_and_top_level_links(void **state)
{
	(void)state;
	const struct rec *usr = find(recs, nrecs, "/usr");
	assert_non_null(usr);
	assert_int_equal(usr->kind, JAIL_PLAN_BIND_DIR);
	struct stat st;
	if (lstat("/bin", &st) == 0 && S_ISLNK(st.st_mode)) {
		char target[256];
		ssize_t len = readlink("/bin", target, sizeof(target) - 1);
		assert_true(len > 0);
		target[len] = '\0';
		const struct rec *bin = find(recs, nrecs, "/bin");
		assert_non_null(bin);
		assert_int_equal(bin->kind, JAIL_PLAN_SYMLINK);
		assert_string_equal(bin->data, target);
	}
}

static void plan_takes_only_wanted_etc_entries(void **state)
{
	(void)state;
	/* accounts, keys and host identity never come from the host */
	static const char *const never[] = {
		"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow",
		"/etc/hostname", "/etc/hosts", "/etc/machine-id", "/etc/ssh",
		"/etc/sudoers", "/etc/resolv.conf",
	};
	for (size_t i = 0; i < sizeof(never) / sizeof(*never); i++)
		assert_null(find(recs, nrecs, never[i]));
	for (int i = 0; i < nrecs; i++)
		assert_true(strncmp(recs[i].path, "/etc/", 5) != 0 ||
			    strchr(recs[i].path + 5, '/') == NULL); /* no deeper paths */
	/* the loader's cache is there whenever the host has one */
	if (access("/etc/ld.so.cache", F_OK) == 0)
		assert_non_null(find(recs, nrecs, "/etc/ld.so.cache"));
}

static void small_files_are_copied_verbatim(void **state)
{
	(void)state;
	int copies = 0;
	for (int i = 0; i < nrecs; i++) {
		if (recs[i].kind != JAIL_PLAN_COPY)
			continue;
		copies++;
		assert_true(recs[i].data_len <= 16384);
		char buf[16384 + 1];
		int fd = open(recs[i].path, O_RDONLY);
		assert_true(fd >= 0);
		ssize_t got = read(fd, buf, sizeof(buf));
		close(fd);
		assert_int_equal((size_t)got, recs[i].data_len);
		assert_memory_equal(buf, recs[i].data, recs[i].data_len);
	}
	/* a Debian host has several small wanted files (profile, ...) */
	if (access("/etc/profile", F_OK) == 0)
		assert_true(copies > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_mirrors_usr_and_top_level_links),
		cmocka_unit_test(plan_takes_only_wanted_etc_entries),
		cmocka_unit_test(small_files_are_copied_verbatim),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
