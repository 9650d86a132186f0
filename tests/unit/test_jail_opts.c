/* Unit tests for `agentjail run` option parsing (src/cli/run.c) and the
 * jail spec defaults it starts from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cli/run.h"

#define ARGV(...) ((char *[]){ "run", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, e, ...) run_opts_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), o, e)

static void defaults(void **state)
{
	(void)state;
	struct run_opts o;
	struct aj_err e;
	assert_int_equal(PARSE(&o, &e, "--", "/bin/true"), 0);
	const struct jail_limits *l = &o.spec.limits;
	assert_int_equal(l->memory_bytes, 512ULL << 20);
	assert_int_equal(l->pids, 256);
	assert_int_equal(l->cpu_millis, 1000);
	assert_int_equal(l->timeout_ms, 30000);
	assert_int_equal(l->cpu_time_s, 0);
	assert_int_equal(l->fsize_bytes, 64ULL << 20);
	assert_int_equal(l->nofile, 256);
	assert_int_equal(l->output_bytes, 1ULL << 20);
	assert_int_equal(l->disk_bytes, 1ULL << 30);
	assert_int_equal(l->disk_inodes, 65536);
	assert_int_equal(o.spec.net, JAIL_NET_NONE);
	assert_null(o.spec.workspace);
	assert_string_equal(o.spec.cwd, "/workspace");
	assert_int_equal(o.spec.nbinds, 0);
	assert_int_equal(o.spec.nenv, 0);
	assert_false(o.json);
	assert_string_equal(o.cmd[0], "/bin/true");
	assert_null(o.cmd[1]);
	run_opts_free(&o);
}

static void every_option(void **state)
{
	(void)state;
	struct run_opts o;
	struct aj_err e;
	int rc = PARSE(&o, &e, "--memory", "1G", "--pids", "64", "--cpus", "0.5",
		       "--timeout", "2m", "--cpu-time", "1500ms", "--fsize", "1M",
		       "--nofile", "64", "--output-limit", "10K", "--workspace",
		       "/srv/ws", "--disk", "2G:1000", "--ro-bind", "/opt/a",
		       "--bind", "/srv/b:/data", "--env", "A=1", "--env", "B=x=y",
		       "--cwd", "/tmp", "--net", "host", "--json", "--", "python3",
		       "-c", "1");
	assert_int_equal(rc, 0);
	const struct jail_limits *l = &o.spec.limits;
	assert_int_equal(l->memory_bytes, 1ULL << 30);
	assert_int_equal(l->pids, 64);
	assert_int_equal(l->cpu_millis, 500);
	assert_int_equal(l->timeout_ms, 120000);
	assert_int_equal(l->cpu_time_s, 2); /* rounded up */
	assert_int_equal(l->fsize_bytes, 1ULL << 20);
	assert_int_equal(l->nofile, 64);
	assert_int_equal(l->output_bytes, 10240);
	assert_int_equal(l->disk_bytes, 2ULL << 30);
	assert_int_equal(l->disk_inodes, 1000);
	assert_string_equal(o.spec.workspace, "/srv/ws");
	assert_int_equal(o.spec.nbinds, 2);
	assert_string_equal(o.spec.binds[0].src, "/opt/a");
	assert_string_equal(o.spec.binds[0].dst, "/opt/a");
	assert_false(o.spec.binds[0].writable);
	assert_string_equal(o.spec.binds[1].src, "/srv/b");
	assert_string_equal(o.spec.binds[1].dst, "/data");
	assert_true(o.spec.binds[1].writable);
	assert_int_equal(o.spec.nenv, 2);
	assert_string_equal(o.spec.env[0], "A=1");
	assert_string_equal(o.spec.env[1], "B=x=y");
	assert_string_equal(o.spec.cwd, "/tmp");
	assert_int_equal(o.spec.net, JAIL_NET_HOST);
	assert_true(o.json);
	assert_string_equal(o.cmd[0], "python3");
	assert_string_equal(o.cmd[2], "1");
	run_opts_free(&o);
}

static void command_without_dashes_and_its_own_options(void **state)
{
	(void)state;
	struct run_opts o;
	struct aj_err e;
	/* options after the command belong to the command */
	assert_int_equal(PARSE(&o, &e, "--pids", "5", "ls", "--memory", "-l"), 0);
	assert_int_equal(o.spec.limits.pids, 5);
	assert_int_equal(o.spec.limits.memory_bytes, 512ULL << 20);
	assert_string_equal(o.cmd[0], "ls");
	assert_string_equal(o.cmd[1], "--memory");
	run_opts_free(&o);
	assert_int_equal(PARSE(&o, &e, "--help"), 0);
	assert_true(o.help);
	run_opts_free(&o);
	/* zero disables the optional limits */
	assert_int_equal(PARSE(&o, &e, "--memory", "0", "--timeout", "0", "x"), 0);
	assert_int_equal(o.spec.limits.memory_bytes, 0);
	assert_int_equal(o.spec.limits.timeout_ms, 0);
	run_opts_free(&o);
}

static void errors(void **state)
{
	(void)state;
	struct {
		char *argv[6];
		const char *word;
	} bad[] = {
		{ { "run", "--memory", "lots", "x" }, "--memory" },
		{ { "run", "--pids", "-1", "x" }, "--pids" },
		{ { "run", "--cpus", "two", "x" }, "--cpus" },
		{ { "run", "--timeout", "1y", "x" }, "--timeout" },
		{ { "run", "--cpu-time", "", "x" }, "--cpu-time" },
		{ { "run", "--fsize", "1Q", "x" }, "--fsize" },
		{ { "run", "--nofile", "2", "x" }, "--nofile" },
		{ { "run", "--output-limit", "x", "x" }, "--output-limit" },
		{ { "run", "--workspace", "rel", "x" }, "--workspace" },
		{ { "run", "--disk", "0", "x" }, "--disk" },
		{ { "run", "--disk", "1G:abc", "x" }, "--disk" },
		{ { "run", "--ro-bind", "rel", "x" }, "--ro-bind" },
		{ { "run", "--bind", "/a:rel", "x" }, "--bind" },
		{ { "run", "--env", "=v", "x" }, "--env" },
		{ { "run", "--cwd", "tmp", "x" }, "--cwd" },
		{ { "run", "--net", "bridge", "x" }, "--net" },
		{ { "run", "--frobnicate", "x" }, "--frobnicate" },
		{ { "run", "--memory" }, "--memory" },
		{ { "run", "--json" }, "no command" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;
		while (bad[i].argv[argc])
			argc++;
		struct run_opts o;
		struct aj_err e = { 0 };
		assert_int_equal(run_opts_parse(argc, bad[i].argv, &o, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
		if (!strstr(e.msg, bad[i].word))
			fail_msg("case %zu: '%s' does not mention %s", i, e.msg,
				 bad[i].word);
		run_opts_free(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(every_option),
		cmocka_unit_test(command_without_dashes_and_its_own_options),
		cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
