/* test_jail_kill.c - jail_kill_others against a real jail: every process
 * but PID 1 dies, a fork loop included, PID 1 is neither asked nor hurt;
 * through the frozen cgroup and, with the cgroup hidden, through the scan
 * of /proc (where the zombies PID 1 has not reaped must not count). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jail/jail.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* In the jail: five sleepers and a loop that forks up to the pids limit. */
static void spawn_some(void)
{
	for (int i = 0; i < 5; i++)
		if (fork() == 0)
			for (;;)
				pause();
	if (fork() == 0) {
		for (;;) {
			pid_t c = fork();
			if (c == 0)
				for (;;)
					pause();
			if (c < 0)
				sleep_ms(1);
		}
	}
}

/* PID 1: for each byte on the socket, reap what died since, start a set,
 * answer.  In between it reaps nothing: the killed stay zombies. */
static int init_fn(int ctl, void *arg)
{
	(void)arg;
	char c;
	while (read(ctl, &c, 1) == 1) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		spawn_some();
		if (write(ctl, "r", 1) != 1)
			break;
	}
	return 0;
}

static ino_t ns_of(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static char state_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 'X';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 'X';
}

/* Live processes of the jail's pid namespace but PID 1; zombies counted
 * apart. */
static size_t others(const struct jail *j, size_t *zombies)
{
	ino_t ns = ns_of(j->pid);
	size_t n = 0;
	*zombies = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == j->pid || ns_of((pid_t)pid) != ns)
			continue;
		char s = state_of((pid_t)pid);
		if (s == 'Z')
			(*zombies)++;
		else if (s != 'X')
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void kills_all_but_pid1_with_and_without_the_cgroup(void **state)
{
	(void)state;
	struct jail_spec spec;
	struct jail j;
	struct aj_err e;
	char name[64];
	int sv[2];
	jail_spec_init(&spec);
	snprintf(name, sizeof(name), "ajtest-kill-%d", (int)getpid());
	spec.name = name;
	spec.limits.pids = 48;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(jail_start(&spec, init_fn, NULL, sv[1], &j, &e), 0);
	close(sv[1]);
	for (int round = 0; round < 2; round++) {
		char c = 'g';
		size_t z, live = 0;
		assert_int_equal(write(sv[0], &c, 1), 1);
		assert_int_equal(read(sv[0], &c, 1), 1);
		/* wait for the loop to be forking (a condition, not a time; the
		 * bound only keeps a broken build from hanging the suite) */
		for (int i = 0; i < 60000 && (live = others(&j, &z)) < 12; i++)
			sleep_ms(1);
		assert_true(live >= 12);
		struct jail k = j;
		if (round == 1)
			k.cg = NULL; /* no cgroup: the members come from /proc */
		assert_int_equal(jail_kill_others(&k, &e), 0);
		assert_int_equal(others(&j, &z), 0);
		assert_true(z > 0); /* the killed wait for PID 1, which is alive */
		assert_int_equal(kill(j.pid, 0), 0);
		assert_int_equal(state_of(j.pid) == 'Z', 0);
	}
	close(sv[0]);
	jail_destroy(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kills_all_but_pid1_with_and_without_the_cgroup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
