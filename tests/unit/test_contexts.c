/* Code contexts through the manager, inside real sandboxes: state across
 * cells, results, errors, interrupts, crash and restart, figures, node and
 * bash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "box/box.h"
#include "util/crypto.h"
#include "box_fixture.h"

static int setup(void **state)
{
	return (*state = fixture_open(NULL, true)) ? 0 : -1;
}

static int teardown(void **state)
{
	return fixture_close(*state);
}

static void cell(struct fixture *f, enum box_lang lang, const char *code,
		 int64_t timeout_ms, struct box_code_result *r)
{
	struct box_code req = { .code = code, .language = lang, .timeout_ms = timeout_ms };
	struct aj_err e;
	if (box_code_run(f->m, &f->me, f->id, &req, NULL, r, &e) < 0)
		fail_msg("cell '%s': %s", code, e.msg);
}

static const char *fmt(const struct box_code_result *r, const char *key, bool main_only)
{
	for (size_t i = 0; i < r->nresults; i++) {
		if (main_only && !r->results[i].is_main)
			continue;
		for (size_t k = 0; k < r->results[i].nformats; k++)
			if (strcmp(r->results[i].formats[k].key, key) == 0)
				return r->results[i].formats[k].value;
	}
	return NULL;
}

static void python_state_and_result(void **state)
{
	struct fixture *f = *state;
	struct box_code_result r;
	cell(f, BOX_LANG_PYTHON, "x = 41\nimport os\nprint('hi')", 0, &r);
	assert_string_equal(r.out[0], "hi\n");
	assert_null(r.error);
	assert_int_equal(r.nresults, 0);
	box_code_result_free(&r);
	cell(f, BOX_LANG_PYTHON, "x + 1", 0, &r);
	assert_string_equal(fmt(&r, "text", true), "42");
	assert_int_equal(r.execution_count, 2);
	box_code_result_free(&r);
	cell(f, BOX_LANG_PYTHON, "import sys; print('e', file=sys.stderr); os.getcwd()", 0, &r);
	assert_string_equal(r.out[1], "e\n");
	assert_string_equal(fmt(&r, "text", true), "'/workspace'");
	box_code_result_free(&r);
}

static void python_error_then_recovery(void **state)
{
	struct fixture *f = *state;
	struct box_code_result r;
	cell(f, BOX_LANG_PYTHON, "y = 7\n1/0", 0, &r);
	assert_non_null(r.error);
	assert_string_equal(r.error->name, "ZeroDivisionError");
	assert_string_equal(r.error->value, "division by zero");
	assert_non_null(strstr(r.error->traceback, "ZeroDivisionError"));
	box_code_result_free(&r);
	cell(f, BOX_LANG_PYTHON, "y * 6", 0, &r);
	assert_null(r.error);
	assert_string_equal(fmt(&r, "text", true), "42");
	box_code_result_free(&r);
}

static void python_timeout_keeps_state(void **state)
{
	struct fixture *f = *state;
	struct box_code_result r;
	cell(f, BOX_LANG_PYTHON, "kept = 'yes'", 0, &r);
	box_code_result_free(&r);
	cell(f, BOX_LANG_PYTHON, "import time\ntime.sleep(30)", 500, &r);
	assert_true(r.timed_out);
	assert_non_null(r.error);
	assert_string_equal(r.error->name, "KeyboardInterrupt");
	box_code_result_free(&r);
	cell(f, BOX_LANG_PYTHON, "kept", 0, &r);
	assert_string_equal(fmt(&r, "text", true), "'yes'");
	assert_false(r.restarted);
	box_code_result_free(&r);
}

static void *cancel_later(void *arg)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 300 * 1000000L };
	nanosleep(&ts, NULL);
	atomic_store((atomic_bool *)arg, true);
	return NULL;
}

static int flag_set(void *ctx)
{
	return atomic_load((atomic_bool *)ctx);
}

/* A silent cell is interrupted once the sink's is_cancelled says so (here
 * 300 ms into the cell, as when a client leaves), well before its timeout. */
static void python_cancel_silent_cell(void **state)
{
	struct fixture *f = *state;
	struct box_code_result r;
	struct aj_err e;
	atomic_bool cancel = false;
	pthread_t t;
	struct box_code req = { .code = "import time\ntime.sleep(30)",
				.language = BOX_LANG_PYTHON, .timeout_ms = 20000 };
	struct box_code_sink sink = { .is_cancelled = flag_set, .ctx = &cancel };
	assert_int_equal(pthread_create(&t, NULL, cancel_later, &cancel), 0);
	assert_int_equal(box_code_run(f->m, &f->me, f->id, &req, &sink, &r, &e), 0);
	pthread_join(t, NULL);
	assert_false(r.timed_out);
	assert_true(r.wall_ms < 5000);
	assert_non_null(r.error);
	assert_string_equal(r.error->name, "KeyboardInterrupt");
	box_code_result_free(&r);
}

static void python_crash_restarts(void **state)
{
	struct fixture *f = *state;
	struct box_code_result r;
	cell(f, BOX_LANG_PYTHON, "lost = 1\nimport os\nos._exit(3)", 0, &r);
	assert_non_null(r.error);
	assert_string_equal(r.error->name, "ContextDied");
	assert_non_null(strstr(r.error->value, "exited with status 3"));
	box_code_result_free(&r);
	cell(f, BOX_LANG_PYTHON, "'lost' in globals()", 0, &r);
	assert_true(r.restarted);
	assert_non_null(r.notice);
	assert_string_equal(fmt(&r, "text", true), "False");
	assert_int_equal(r.execution_count, 1);
	box_code_result_free(&r);
}

static void python_figure_and_html(void **state)
{
	struct fixture *f = *state;
	struct box_code_result r;
	cell(f, BOX_LANG_PYTHON,
	     "import matplotlib.pyplot as plt\nplt.plot([1,2,3],[1,4,9])\nplt.show()", 0, &r);
	if (r.error)
		fail_msg("%s: %s\n%s", r.error->name, r.error->value, r.error->traceback);
	const char *png = fmt(&r, "png", false);
	assert_non_null(png);
	unsigned char raw[32];
	size_t n = 0;
	char head[25];
	snprintf(head, sizeof(head), "%.24s", png);
	assert_int_equal(aj_base64_decode(head, strlen(head), raw, sizeof(raw), &n, NULL), 0);
	assert_memory_equal(raw, "\x89PNG\r\n\x1a\n", 8);
	box_code_result_free(&r);
	cell(f, BOX_LANG_PYTHON, "import pandas as pd\npd.DataFrame({'a':[1,2]})", 0, &r);
	assert_null(r.error);
	assert_non_null(strstr(fmt(&r, "html", true), "<table"));
	assert_non_null(fmt(&r, "text", true));
	box_code_result_free(&r);
}

static void node_and_bash(void **state)
{
	struct fixture *f = *state;
	struct box_code_result r;
	cell(f, BOX_LANG_JAVASCRIPT, "let n = 20; const add = (a) => a + n;", 0, &r);
	assert_null(r.error);
	box_code_result_free(&r);
	cell(f, BOX_LANG_JAVASCRIPT, "await Promise.resolve(add(22))", 0, &r);
	assert_null(r.error);
	assert_string_equal(fmt(&r, "text", true), "42");
	box_code_result_free(&r);
	cell(f, BOX_LANG_BASH, "cd /tmp; export V=7; f() { echo fn$1; }", 0, &r);
	box_code_result_free(&r);
	cell(f, BOX_LANG_BASH, "pwd; echo $V; f 1", 0, &r);
	assert_string_equal(r.out[0], "/tmp\n7\nfn1\n");
	box_code_result_free(&r);
}

static void contexts_are_separate(void **state)
{
	struct fixture *f = *state;
	struct box_ctx_info a;
	struct box_code_result r;
	struct aj_err e;
	assert_int_equal(box_ctx_create(f->m, &f->me, f->id, BOX_LANG_PYTHON, "/tmp", &a, &e), 0);
	struct box_code req = { .code = "import os\nz = os.getcwd()\nz", .context_id = a.id };
	assert_int_equal(box_code_run(f->m, &f->me, f->id, &req, NULL, &r, &e), 0);
	assert_string_equal(fmt(&r, "text", true), "'/tmp'");
	box_code_result_free(&r);
	cell(f, BOX_LANG_PYTHON, "'z' in globals()", 0, &r);
	assert_string_equal(fmt(&r, "text", true), "False");
	box_code_result_free(&r);
	struct box_ctx_info *v;
	size_t n;
	assert_int_equal(box_ctx_list(f->m, &f->me, f->id, &v, &n, &e), 0);
	assert_true(n >= 2);
	free(v);
	assert_int_equal(box_ctx_restart(f->m, &f->me, f->id, a.id, &e), 0);
	assert_int_equal(box_code_run(f->m, &f->me, f->id, &req, NULL, &r, &e), 0);
	assert_int_equal(r.execution_count, 1);
	box_code_result_free(&r);
	assert_int_equal(box_ctx_delete(f->m, &f->me, f->id, a.id, &e), 0);
	assert_int_equal(box_code_run(f->m, &f->me, f->id, &req, NULL, &r, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
	/* drivers are not user processes */
	struct box_proc_info *pv;
	assert_int_equal(box_proc_list(f->m, &f->me, f->id, &pv, &n, &e), 0);
	assert_int_equal(n, 0);
	box_proc_infos_free(pv, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(python_state_and_result),
		cmocka_unit_test(python_error_then_recovery),
		cmocka_unit_test(python_timeout_keeps_state),
		cmocka_unit_test(python_cancel_silent_cell),
		cmocka_unit_test(python_crash_restarts),
		cmocka_unit_test(python_figure_and_html),
		cmocka_unit_test(node_and_bash),
		cmocka_unit_test(contexts_are_separate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
