/* Integration tests of the sandbox manager against real jails: lifecycle,
 * commands, background processes, files.  Needs root (or user namespaces)
 * like the server itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "box/box.h"
#include "box_fixture.h"

static void tweak(struct box_config *cfg)
{
	cfg->default_shape.disk_bytes = 32 << 20;
}

static int setup(void **state)
{
	return (*state = fixture_open(tweak, true)) ? 0 : -1;
}

static int teardown(void **state)
{
	return fixture_close(*state);
}

static void run_sh(struct fixture *f, const char *sh, struct box_exec_result *r)
{
	struct box_exec req = { .command = sh };
	struct aj_err e;
	int rc = box_exec(f->m, &f->me, f->id, &req, NULL, r, &e);
	if (rc < 0)
		fail_msg("exec '%s': %s", sh, e.msg);
}

static void exec_basic(void **state)
{
	struct fixture *f = *state;
	struct box_exec_result r;
	run_sh(f, "echo out; echo err >&2; id -u; hostname; exit 3", &r);
	assert_int_equal(r.exit_code, 3);
	assert_string_equal(r.out[0], "out\n1000\nsandbox\n");
	assert_string_equal(r.out[1], "err\n");
	assert_false(r.timed_out);
	assert_null(r.error);
	assert_true(r.exec_id[0] != '\0');
	box_exec_result_free(&r);
}

static void exec_argv_and_env(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "printenv", "GREETING", NULL };
	struct box_kv env[] = { { "GREETING", "hello" } };
	struct box_exec req = { .argv = argv, .env = env, .nenv = 1 };
	struct box_exec_result r;
	struct aj_err e;
	assert_int_equal(box_exec(f->m, &f->me, f->id, &req, NULL, &r, &e), 0);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(r.out[0], "hello\n");
	box_exec_result_free(&r);

	char *missing[] = { "no-such-program", NULL };
	struct box_exec bad = { .argv = missing };
	assert_int_equal(box_exec(f->m, &f->me, f->id, &bad, NULL, &r, &e), 0);
	assert_int_equal(r.exit_code, 127);
	assert_non_null(r.error);
	box_exec_result_free(&r);
}

static void exec_stdin(void **state)
{
	struct fixture *f = *state;
	struct box_exec req = { .command = "tr a-z A-Z", .stdin_data = "shout\n",
				.stdin_len = 6 };
	struct box_exec_result r;
	struct aj_err e;
	assert_int_equal(box_exec(f->m, &f->me, f->id, &req, NULL, &r, &e), 0);
	assert_string_equal(r.out[0], "SHOUT\n");
	box_exec_result_free(&r);
}

static void exec_timeout_and_signal(void **state)
{
	struct fixture *f = *state;
	struct box_exec req = { .command = "sleep 30", .timeout_ms = 300 };
	struct box_exec_result r;
	struct aj_err e;
	assert_int_equal(box_exec(f->m, &f->me, f->id, &req, NULL, &r, &e), 0);
	assert_true(r.timed_out);
	assert_int_equal(r.signal, SIGKILL);
	assert_int_equal(r.exit_code, 128 + SIGKILL);
	box_exec_result_free(&r);
}

static void exec_output_limit(void **state)
{
	struct fixture *f = *state;
	struct box_exec req = { .command = "head -c 100000 /dev/zero", .output_limit = 1000 };
	struct box_exec_result r;
	struct aj_err e;
	assert_int_equal(box_exec(f->m, &f->me, f->id, &req, NULL, &r, &e), 0);
	assert_int_equal(r.out_len[0], 1000);
	assert_true(r.truncated[0]);
	assert_int_equal(r.exit_code, 0);
	box_exec_result_free(&r);
}

static void state_persists(void **state)
{
	struct fixture *f = *state;
	struct box_exec_result r;
	run_sh(f, "echo kept > /workspace/note; cd /tmp && echo t > t", &r);
	assert_int_equal(r.exit_code, 0);
	box_exec_result_free(&r);
	run_sh(f, "cat /workspace/note /tmp/t", &r);
	assert_string_equal(r.out[0], "kept\nt\n");
	box_exec_result_free(&r);
}

static void background_process(void **state)
{
	struct fixture *f = *state;
	struct box_exec req = { .command = "echo started; read line; echo got $line; exit 5",
				.background = true, .keep_stdin = true };
	struct box_exec_result r;
	struct box_proc_info pi;
	struct aj_err e;
	assert_int_equal(box_exec(f->m, &f->me, f->id, &req, NULL, &r, &e), 0);
	pid_t pid = r.pid;
	assert_true(pid > 1);
	box_exec_result_free(&r);
	assert_int_equal(box_proc_write_stdin(f->m, &f->me, f->id, pid, "hi\n", 3, &e), 0);
	assert_int_equal(box_proc_follow(f->m, &f->me, f->id, pid, true, NULL, NULL, &r, &e), 0);
	assert_int_equal(r.exit_code, 5);
	box_exec_result_free(&r);
	assert_int_equal(box_proc_get(f->m, &f->me, f->id, pid, &pi, &e), 0);
	assert_false(pi.running);
	assert_int_equal(pi.exit_code, 5);
	assert_string_equal(pi.out[0], "started\ngot hi\n");
	box_proc_info_free(&pi);

	struct box_exec sl = { .command = "sleep 60", .background = true, .timeout_ms = -1 };
	assert_int_equal(box_exec(f->m, &f->me, f->id, &sl, NULL, &r, &e), 0);
	pid = r.pid;
	box_exec_result_free(&r);
	assert_int_equal(box_proc_signal(f->m, &f->me, f->id, pid, SIGTERM, &e), 0);
	assert_int_equal(box_proc_follow(f->m, &f->me, f->id, pid, false, NULL, NULL, &r, &e), 0);
	assert_int_equal(r.signal, SIGTERM);
	box_exec_result_free(&r);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A follower of a silent process stops when its cancel flag is set; the
 * process runs on. */
static void follow_cancel(void **state)
{
	struct fixture *f = *state;
	struct box_exec sl = { .command = "sleep 60", .background = true, .timeout_ms = -1 };
	struct box_exec_result r;
	struct box_proc_info pi;
	struct aj_err e;
	atomic_bool cancel = true;
	assert_int_equal(box_exec(f->m, &f->me, f->id, &sl, NULL, &r, &e), 0);
	pid_t pid = r.pid;
	box_exec_result_free(&r);
	int64_t t0 = now_ms();
	assert_int_equal(box_proc_follow(f->m, &f->me, f->id, pid, true, NULL, &cancel,
					 &r, &e), 0);
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(r.exit_code, -1);
	box_exec_result_free(&r);
	assert_int_equal(box_proc_get(f->m, &f->me, f->id, pid, &pi, &e), 0);
	assert_true(pi.running);
	box_proc_info_free(&pi);
	assert_int_equal(box_proc_signal(f->m, &f->me, f->id, pid, SIGKILL, &e), 0);
}

static void tenant_isolation(void **state)
{
	struct fixture *f = *state;
	struct box_exec req = { .command = "true" };
	struct box_exec_result r;
	struct box_info info;
	struct aj_err e;
	assert_int_equal(box_exec(f->m, &f->other, f->id, &req, NULL, &r, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
	assert_int_equal(box_get(f->m, &f->other, f->id, &info, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
	assert_int_equal(box_destroy(f->m, &f->other, f->id, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
	struct box_caller viewer = f->me;
	viewer.role = ROLE_VIEWER;
	assert_int_equal(box_exec(f->m, &viewer, f->id, &req, NULL, &r, &e), -1);
	assert_int_equal(e.code, AJ_EFORBIDDEN);
}

/* Access tokens: only user/admin keys of the tenant get them; a token is
 * its key's (identity, role), read from the store on every use: it dies
 * with the key, and a caller that is not a stored key gets nothing from
 * its token unless it is keyless. */
static void access_tokens(void **state)
{
	struct fixture *f = *state;
	struct store *st = box_mgr_store(f->m);
	struct aj_err e;
	char secret[48];
	struct key_info k;
	assert_int_equal(store_key_create(st, "acme", ROLE_USER, secret, &k, &e), 0);
	struct box_caller u = { .role = ROLE_USER };
	strcpy(u.key_id, k.id);
	strcpy(u.tenant, "acme");

	struct box_tokens t, t2;
	struct box_caller who;
	assert_int_equal(box_token_issue(f->m, &u, f->id, &t, &e), 0);
	assert_int_equal(box_token_issue(f->m, &u, f->id, &t2, &e), 0);
	assert_string_equal(t.envd, t2.envd);
	assert_string_not_equal(t.envd, t.traffic);
	assert_int_equal(box_auth_sandbox(f->m, f->id, BOX_TOKEN_ENVD, t.envd, &who, &e), 0);
	assert_string_equal(who.key_id, k.id);
	assert_string_equal(who.tenant, "acme");
	assert_int_equal(who.role, ROLE_USER);
	assert_int_equal(box_auth_sandbox(f->m, f->id, BOX_TOKEN_TRAFFIC, t.traffic, &who, &e), 0);
	/* the kinds do not mix; a changed character fails */
	assert_int_equal(box_auth_sandbox(f->m, f->id, BOX_TOKEN_ENVD, t.traffic, &who, &e), -1);
	assert_int_equal(e.code, AJ_EAUTH);
	t2.envd[strlen(t2.envd) - 1] ^= 1;
	assert_int_equal(box_auth_sandbox(f->m, f->id, BOX_TOKEN_ENVD, t2.envd, &who, &e), -1);
	assert_int_equal(e.code, AJ_EAUTH);
	assert_int_equal(box_auth_sandbox(f->m, f->id, BOX_TOKEN_ENVD, NULL, &who, &e), -1);
	assert_int_equal(e.code, AJ_EAUTH);

	/* who gets none */
	struct box_caller viewer = u, admin_other = u;
	viewer.role = ROLE_VIEWER;
	admin_other.role = ROLE_ADMIN;
	strcpy(admin_other.tenant, "other");
	assert_int_equal(box_token_issue(f->m, &viewer, f->id, &t2, &e), -1);
	assert_int_equal(e.code, AJ_EFORBIDDEN);
	assert_int_equal(box_token_issue(f->m, &admin_other, f->id, &t2, &e), -1);
	assert_int_equal(e.code, AJ_EFORBIDDEN);
	assert_int_equal(box_token_issue(f->m, &f->other, f->id, &t2, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);

	/* the fixture's caller is no stored key: its token is refused */
	assert_int_equal(box_token_issue(f->m, &f->me, f->id, &t2, &e), 0);
	assert_int_equal(box_auth_sandbox(f->m, f->id, BOX_TOKEN_ENVD, t2.envd, &who, &e), -1);
	assert_int_equal(e.code, AJ_EAUTH);
	/* a keyless one (--no-auth) is taken as it was */
	struct box_caller noauth = { .key_id = "no-auth", .tenant = "acme",
				     .role = ROLE_ADMIN, .keyless = true };
	assert_int_equal(box_token_issue(f->m, &noauth, f->id, &t2, &e), 0);
	assert_int_equal(box_auth_sandbox(f->m, f->id, BOX_TOKEN_ENVD, t2.envd, &who, &e), 0);
	assert_string_equal(who.key_id, "no-auth");
	assert_int_equal(who.role, ROLE_ADMIN);

	/* revoked: the token dies at once */
	int64_t before = box_key_revocations(f->m);
	assert_true(box_caller_active(f->m, &u));
	assert_int_equal(store_key_revoke(st, k.id, &e), 0);
	assert_int_equal(box_key_revocations(f->m), before + 1);
	assert_false(box_caller_active(f->m, &u));
	assert_int_equal(box_auth_sandbox(f->m, f->id, BOX_TOKEN_ENVD, t.envd, &who, &e), -1);
	assert_int_equal(e.code, AJ_EAUTH);
	assert_int_equal(box_auth_sandbox(f->m, "sbnosuchbox", BOX_TOKEN_ENVD, t.envd, &who, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
}

static void upload(struct fixture *f, const char *path, const char *data)
{
	struct box_upload *u;
	struct box_entry en;
	struct aj_err e;
	if (box_upload_begin(f->m, &f->me, f->id, path, &u, &e) < 0)
		fail_msg("upload %s: %s", path, e.msg);
	assert_int_equal(box_upload_write(u, data, strlen(data), &e), 0);
	assert_int_equal(box_upload_commit(u, &en, &e), 0);
	assert_int_equal(en.type, BOX_FT_FILE);
	assert_int_equal(en.size, strlen(data));
	assert_int_equal(en.uid, 1000);
	box_entry_free(&en);
}

static char *download(struct fixture *f, const char *path, struct aj_err *e)
{
	int fd;
	uint64_t size;
	if (box_file_open_read(f->m, &f->me, f->id, path, &fd, &size, e) < 0)
		return NULL;
	char *buf = calloc(1, size + 1);
	assert_int_equal(read(fd, buf, size), (ssize_t)size);
	close(fd);
	return buf;
}

static void files_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct aj_err e;
	struct box_exec_result r;
	upload(f, "dir/sub/hello.txt", "hello world");
	char *s = download(f, "/workspace/dir/sub/hello.txt", &e);
	assert_non_null(s);
	assert_string_equal(s, "hello world");
	free(s);
	/* the sandbox sees it, owned by its user */
	run_sh(f, "stat -c '%u %s' /workspace/dir/sub/hello.txt", &r);
	assert_string_equal(r.out[0], "1000 11\n");
	box_exec_result_free(&r);

	struct box_entry *v;
	size_t n;
	assert_int_equal(box_file_list(f->m, &f->me, f->id, "/workspace/dir", 2, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	box_entries_free(v, n);

	assert_int_equal(box_file_rename(f->m, &f->me, f->id, "dir/sub/hello.txt",
					 "/workspace/moved.txt", NULL, &e), 0);
	s = download(f, "moved.txt", &e);
	assert_string_equal(s, "hello world");
	free(s);
	assert_int_equal(box_file_mkdir(f->m, &f->me, f->id, "a/b/c", true, NULL, &e), 0);
	assert_int_equal(box_file_mkdir(f->m, &f->me, f->id, "a/b/c", false, NULL, &e), -1);
	assert_int_equal(e.code, AJ_EEXIST);
	assert_int_equal(box_file_remove(f->m, &f->me, f->id, "/workspace/dir", &e), 0);
	assert_null(download(f, "dir/sub/hello.txt", &e));
	assert_int_equal(e.code, AJ_ENOTFOUND);
}

static void files_stay_inside(void **state)
{
	struct fixture *f = *state;
	struct aj_err e;
	struct box_exec_result r;
	/* a symlink to the host's /etc/hostname would be the host file if the
	 * path were joined on the host; inside it is the sandbox's own */
	run_sh(f, "ln -sf /etc/hostname /workspace/link; ln -sf ../../../../../etc/hostname /workspace/rel", &r);
	box_exec_result_free(&r);
	char *s = download(f, "/workspace/link", &e);
	assert_non_null(s);
	assert_string_equal(s, "sandbox\n");
	free(s);
	s = download(f, "rel", &e);
	assert_string_equal(s, "sandbox\n");
	free(s);
	s = download(f, "../../../../etc/hostname", &e);
	assert_string_equal(s, "sandbox\n");
	free(s);
	/* kernel interfaces are refused */
	assert_null(download(f, "/proc/1/environ", &e));
	assert_int_equal(e.code, AJ_EFORBIDDEN);
	assert_null(download(f, "/dev/zero", &e));
	assert_int_equal(e.code, AJ_EINVAL);
	/* read-only system directories stay read-only */
	struct box_upload *u;
	assert_int_equal(box_upload_begin(f->m, &f->me, f->id, "/usr/bin/evil", &u, &e), -1);
	assert_int_equal(e.code, AJ_EFORBIDDEN);
	/* an upload through a symlinked name replaces the link, not its target */
	run_sh(f, "ln -sf /tmp/target /workspace/swap; echo orig > /tmp/target", &r);
	box_exec_result_free(&r);
	upload(f, "swap", "new");
	run_sh(f, "cat /tmp/target; test -L /workspace/swap || echo notlink", &r);
	assert_string_equal(r.out[0], "orig\nnotlink\n");
	box_exec_result_free(&r);
}

static void disk_quota(void **state)
{
	struct fixture *f = *state;
	struct box_upload *u;
	struct aj_err e;
	char *chunk = calloc(1, 1 << 20);
	int rc = 0;
	upload(f, "keep.txt", "intact");
	assert_int_equal(box_upload_begin(f->m, &f->me, f->id, "keep.txt", &u, &e), 0);
	for (int i = 0; i < 64 && rc == 0; i++)
		rc = box_upload_write(u, chunk, 1 << 20, &e);
	assert_int_equal(rc, -1);
	assert_int_equal(e.code, AJ_ENOSPC);
	box_upload_abort(u);
	free(chunk);
	char *s = download(f, "keep.txt", &e);
	assert_string_equal(s, "intact");
	free(s);
}

/* However large the limits clients ask for, a sandbox's retained output
 * stays under the manager's budget (128 MiB): new output makes room by
 * forgetting the oldest finished background processes. */
static void retained_output_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct box_exec req = { .command = "head -c 60M /dev/zero", .background = true,
				.timeout_ms = -1, .output_limit = 64 << 20 };
	struct box_exec_result r;
	struct box_proc_info pi;
	struct aj_err e;
	pid_t pids[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(box_exec(f->m, &f->me, f->id, &req, NULL, &r, &e), 0);
		pids[i] = r.pid;
		box_exec_result_free(&r);
		assert_int_equal(box_proc_follow(f->m, &f->me, f->id, pids[i], false, NULL,
						 NULL, &r, &e), 0);
		box_exec_result_free(&r);
	}
	uint64_t kept = 0;
	int gone = 0;
	for (int i = 0; i < 3; i++) {
		if (box_proc_get(f->m, &f->me, f->id, pids[i], &pi, &e) < 0) {
			assert_int_equal(e.code, AJ_ENOTFOUND);
			gone++;
			continue;
		}
		kept += pi.out_len[0];
		if (i == 2) { /* the newest is whole */
			assert_int_equal(pi.out_len[0], 60u << 20);
			assert_false(pi.truncated[0]);
		}
		box_proc_info_free(&pi);
	}
	assert_true(kept <= 128u << 20);
	assert_int_equal(gone, 1);
	/* a command after them still gets its whole output */
	struct box_exec big = { .command = "head -c 30M /dev/zero", .output_limit = 64 << 20 };
	assert_int_equal(box_exec(f->m, &f->me, f->id, &big, NULL, &r, &e), 0);
	assert_int_equal(r.out_len[0], 30u << 20);
	assert_false(r.truncated[0]);
	box_exec_result_free(&r);
}

struct retry {
	struct fixture *f;
	struct box_exec_result r;
	int rc;
};

static void *send_exec(void *arg)
{
	struct retry *t = arg;
	struct box_exec req = { .command = "echo x >> /workspace/runs; sleep 0.5; echo done",
				.idempotency_key = "same-key" };
	struct aj_err e;
	t->rc = box_exec(t->f->m, &t->f->me, t->f->id, &req, NULL, &t->r, &e);
	return NULL;
}

/* A retry that arrives while the first request still runs waits for it
 * and gets its answer: the command runs once. */
static void idempotent_retry_in_flight(void **state)
{
	struct fixture *f = *state;
	struct retry t[3] = { { .f = f }, { .f = f }, { .f = f } };
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, send_exec, &t[i]), 0);
		usleep(50000);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t[i].rc, 0);
		assert_string_equal(t[i].r.out[0], "done\n");
		assert_string_equal(t[i].r.exec_id, t[0].r.exec_id);
		box_exec_result_free(&t[i].r);
	}
	struct box_exec_result r;
	run_sh(f, "wc -l < /workspace/runs", &r);
	assert_string_equal(r.out[0], "1\n");
	box_exec_result_free(&r);
}

/* Leftover processes holding the pids limit make the sandbox unable to
 * start anything; killing them all gives it back. */
static void kill_all_frees_a_full_sandbox(void **state)
{
	struct fixture *f = *state;
	/* a background shell forks sleepers until the limit stops it, and
	 * stays: every pid of the sandbox is taken */
	/* (python, not a shell loop: bash gives up, and exits, when a fork
	 * keeps failing) */
	struct box_exec fill = {
		.command = "exec python3 -c 'import os, time\n"
			   "try:\n"
			   "    while True:\n"
			   "        if os.fork() == 0:\n"
			   "            time.sleep(1000); os._exit(0)\n"
			   "except OSError:\n"
			   "    print(\"full\", flush=True)\n"
			   "time.sleep(1000)'",
		.background = true, .timeout_ms = -1 };
	struct box_exec_result r;
	struct box_proc_info pi;
	struct aj_err e;
	assert_int_equal(box_exec(f->m, &f->me, f->id, &fill, NULL, &r, &e), 0);
	pid_t filler = r.pid;
	box_exec_result_free(&r);
	/* wait for the condition (a loaded machine forks slowly); the bound
	 * only keeps a broken build from hanging the suite */
	bool full = false;
	for (int i = 0; i < 12000 && !full; i++) {
		assert_int_equal(box_proc_get(f->m, &f->me, f->id, filler, &pi, &e), 0);
		full = pi.out[0] && strstr(pi.out[0], "full");
		box_proc_info_free(&pi);
		if (!full)
			usleep(10000);
	}
	assert_true(full);
	struct box_exec probe = { .command = "echo up" };
	assert_int_equal(box_exec(f->m, &f->me, f->id, &probe, NULL, &r, &e), 0);
	assert_int_equal(r.exit_code, 126);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "process limit"));
	box_exec_result_free(&r);
	assert_int_equal(box_proc_kill_all(f->m, &f->me, f->id, &e), 0);
	int ok = 0;
	for (int i = 0; i < 3000 && !ok; i++) { /* the kernel reaps them shortly */
		assert_int_equal(box_exec(f->m, &f->me, f->id, &probe, NULL, &r, &e), 0);
		ok = r.exit_code == 0 && strcmp(r.out[0], "up\n") == 0;
		box_exec_result_free(&r);
		if (!ok)
			usleep(20000);
	}
	assert_true(ok);
	run_sh(f, "ps -e -o comm= | grep -c python3", &r);
	assert_string_equal(r.out[0], "0\n");
	box_exec_result_free(&r);
}

static void state_dir_has_one_owner(void **state)
{
	struct fixture *f = *state;
	struct box_config cfg;
	struct box_mgr *second = NULL;
	struct aj_err e;
	box_config_defaults(&cfg);
	cfg.state_dir = f->dir;
	assert_int_equal(box_mgr_open(&cfg, &second, &e), -1);
	assert_int_equal(e.code, AJ_ECONFLICT);
	assert_null(second);
	/* and the first one's sandbox was not ended by the attempt */
	struct box_exec_result r;
	run_sh(f, "echo alive", &r);
	assert_string_equal(r.out[0], "alive\n");
	box_exec_result_free(&r);
}

static void destroy_cleans_up(void **state)
{
	struct fixture *f = *state;
	struct box_info info;
	struct box_exec_result r;
	struct aj_err e;
	assert_int_equal(box_destroy(f->m, &f->me, f->id, &e), 0);
	struct box_exec req = { .command = "true" };
	assert_int_equal(box_exec(f->m, &f->me, f->id, &req, NULL, &r, &e), -1);
	assert_int_equal(e.code, AJ_ENOTFOUND);
	assert_int_equal(box_get(f->m, &f->me, f->id, &info, &e), 0);
	assert_string_equal(info.state, "terminated");
	assert_string_equal(info.end_reason, "destroyed");
	box_info_free(&info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exec_basic),
		cmocka_unit_test(exec_argv_and_env),
		cmocka_unit_test(exec_stdin),
		cmocka_unit_test(exec_timeout_and_signal),
		cmocka_unit_test(exec_output_limit),
		cmocka_unit_test(state_persists),
		cmocka_unit_test(background_process),
		cmocka_unit_test(follow_cancel),
		cmocka_unit_test(tenant_isolation),
		cmocka_unit_test(access_tokens),
		cmocka_unit_test(files_roundtrip),
		cmocka_unit_test(files_stay_inside),
		cmocka_unit_test(disk_quota),
		cmocka_unit_test(retained_output_is_bounded),
		cmocka_unit_test(idempotent_retry_in_flight),
		cmocka_unit_test(kill_all_frees_a_full_sandbox),
		cmocka_unit_test(state_dir_has_one_owner),
		cmocka_unit_test(destroy_cleans_up),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
