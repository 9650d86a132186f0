/* The warm pool: create is a hand-over, and a pooled sandbox is
 * indistinguishable from a fresh one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box/box.h"
#include "box_fixture.h"

static void wait_full(struct box_mgr *m, int n)
{
	for (int i = 0; i < 600 && box_pool_ready(m) < n; i++)
		usleep(50000);
	assert_int_equal(box_pool_ready(m), n);
}

static void tweak(struct box_config *cfg)
{
	cfg->pool_size = 2;
	cfg->python_warm = true;
}

static int setup(void **state)
{
	return (*state = fixture_open(tweak, false)) ? 0 : -1;
}

static int teardown(void **state)
{
	return fixture_close(*state);
}

static void sh(struct fixture *f, const char *id, const char *cmd, const char *want)
{
	struct box_exec req = { .command = cmd };
	struct box_exec_result r;
	struct aj_err e;
	if (box_exec(f->m, &f->me, id, &req, NULL, &r, &e) < 0)
		fail_msg("exec: %s", e.msg);
	assert_string_equal(r.out[0], want);
	box_exec_result_free(&r);
}

static void handover_is_fresh(void **state)
{
	struct fixture *f = *state;
	struct box_info a, b;
	struct box_metrics mt;
	struct aj_err e;
	struct box_create req = { 0 };

	wait_full(f->m, 2);
	assert_int_equal(box_create(f->m, &f->me, &req, &a, &e), 0);
	box_metrics_get(f->m, &mt);
	assert_int_equal(mt.pool_hits, 1);
	/* the previous user leaves a file and a process behind ... */
	sh(f, a.id, "echo secret > /workspace/s; echo tmp > /tmp/t; (sleep 100 &) ; ls /workspace", "s\n");
	assert_int_equal(box_destroy(f->m, &f->me, a.id, &e), 0);
	wait_full(f->m, 2);
	/* ... and the next sandbox from the pool sees none of it */
	assert_int_equal(box_create(f->m, &f->me, &req, &b, &e), 0);
	assert_string_not_equal(a.id, b.id);
	sh(f, b.id, "ls -A /workspace /tmp; ps -e -o comm= | grep -c sleep", "/tmp:\n\n/workspace:\n0\n");
	/* the warm python context is the sandbox's default one */
	struct box_code code = { .code = "6 * 7", .language = BOX_LANG_PYTHON };
	struct box_code_result r;
	assert_int_equal(box_code_run(f->m, &f->me, b.id, &code, NULL, &r, &e), 0);
	assert_int_equal(r.execution_count, 1);
	assert_false(r.restarted);
	assert_string_equal(r.results[0].formats[0].value, "42");
	box_code_result_free(&r);
	box_info_free(&a);
	box_info_free(&b);
}

static void custom_env_reaches_python(void **state)
{
	struct fixture *f = *state;
	struct box_info a;
	struct aj_err e;
	struct box_kv env[] = { { "MY_SETTING", "on" } };
	struct box_create req = { .env = env, .nenv = 1 };
	wait_full(f->m, 2);
	assert_int_equal(box_create(f->m, &f->me, &req, &a, &e), 0);
	struct box_code code = { .code = "import os; os.environ.get('MY_SETTING')",
				 .language = BOX_LANG_PYTHON };
	struct box_code_result r;
	assert_int_equal(box_code_run(f->m, &f->me, a.id, &code, NULL, &r, &e), 0);
	assert_int_equal(r.nresults, 1);
	assert_string_equal(r.results[0].formats[0].value, "'on'");
	box_code_result_free(&r);
	box_info_free(&a);
}

static void other_shape_misses(void **state)
{
	struct fixture *f = *state;
	struct box_info a;
	struct box_metrics before, after;
	struct aj_err e;
	struct box_create req = { .has_shape = { [BOX_SHAPE_MEMORY] = true },
				  .shape = { .memory_bytes = 256 << 20 } };
	box_metrics_get(f->m, &before);
	assert_int_equal(box_create(f->m, &f->me, &req, &a, &e), 0);
	box_metrics_get(f->m, &after);
	assert_int_equal(after.pool_misses, before.pool_misses + 1);
	assert_int_equal(after.pool_hits, before.pool_hits);
	assert_int_equal(a.shape.memory_bytes, 256 << 20);
	box_info_free(&a);
}

/* A burst takes the whole pool and then misses; afterwards the pool
 * fills up again by itself (the quiet-time rule only delays refills). */
static void burst_drains_then_refills(void **state)
{
	struct fixture *f = *state;
	struct box_info a[3];
	struct box_metrics before, after;
	struct aj_err e;
	struct box_create req = { 0 };
	wait_full(f->m, 2);
	box_metrics_get(f->m, &before);
	for (int i = 0; i < 3; i++)
		assert_int_equal(box_create(f->m, &f->me, &req, &a[i], &e), 0);
	box_metrics_get(f->m, &after);
	assert_true(after.pool_hits >= before.pool_hits + 2);
	assert_int_equal(after.pool_hits + after.pool_misses,
			 before.pool_hits + before.pool_misses + 3);
	wait_full(f->m, 2);
	for (int i = 0; i < 3; i++) {
		sh(f, a[i].id, "echo ok", "ok\n");
		assert_int_equal(box_destroy(f->m, &f->me, a[i].id, &e), 0);
		box_info_free(&a[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handover_is_fresh),
		cmocka_unit_test(custom_env_reaches_python),
		cmocka_unit_test(other_shape_misses),
		cmocka_unit_test(burst_drains_then_refills),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
