/* Unit tests for the owner of a jail's user namespace (src/jail/spawn.c,
 * "Whose counters"): as root, jail_start creates the namespace under a
 * reserved host uid of the jail's own, and gives the caller back exactly
 * the credentials and process flags it had (euid, dumpable, parent-death
 * signal, securebits): the launcher depends on its parent-death signal to
 * die with the server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/nsfs.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jail/jail.h"

/* PID 1 of the test jails: wait until the test closes its end. */
static int wait_for_eof(int ctl, void *arg)
{
	(void)arg;
	char c;
	while (read(ctl, &c, 1) > 0)
		;
	return 0;
}

/* Start a jail owned by owner (0: the default), return the host uid that
 * owns its user namespace; check the caller's flags came back. */
static uid_t owner_of_jail(uid_t owner)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	struct jail_spec spec;
	jail_spec_init(&spec);
	spec.owner_id = owner;
	spec.cpu_usage = false;
	struct jail j;
	struct aj_err e = { 0 };
	int rc = jail_start(&spec, wait_for_eof, NULL, sv[1], &j, &e);
	close(sv[1]);
	if (rc < 0)
		fail_msg("jail_start: %s", e.msg);

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)j.pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	uid_t got = (uid_t)-1;
	assert_int_equal(ioctl(fd, NS_GET_OWNER_UID, &got), 0);
	close(fd);

	close(sv[0]);
	jail_destroy(&j);
	return got;
}

static void namespace_owned_by_its_own_uid(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root creates it as another uid */
	assert_int_equal(owner_of_jail(JAIL_OWNER_BOX_BASE + 7), JAIL_OWNER_BOX_BASE + 7);
	assert_int_equal(owner_of_jail(0), JAIL_OWNER_RUN_BASE + (uid_t)getpid());
}

static void caller_keeps_its_ids_and_flags(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	/* What the launcher has: a parent-death signal, dumpable, and
	 * (here) no securebits; the euid change resets the first two. */
	assert_int_equal(prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0), 0);
	assert_int_equal(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
	int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);

	owner_of_jail(JAIL_OWNER_BOX_BASE + 8);

	uid_t r, eu, s;
	assert_int_equal(getresuid(&r, &eu, &s), 0);
	assert_int_equal(r, 0);
	assert_int_equal(eu, 0);
	assert_int_equal(s, 0);
	assert_int_equal(getegid(), 0);
	int sig = 0;
	assert_int_equal(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	assert_int_equal(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0), bits);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
}

static void owner_must_not_be_the_sandbox_user(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	struct jail_spec spec;
	jail_spec_init(&spec);
	spec.host_id = JAIL_DEFAULT_HOST_ID + 5;
	spec.owner_id = spec.host_id;
	struct jail j;
	struct aj_err e = { 0 };
	assert_int_equal(jail_start(&spec, wait_for_eof, NULL, -1, &j, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(namespace_owned_by_its_own_uid),
		cmocka_unit_test(caller_keeps_its_ids_and_flags),
		cmocka_unit_test(owner_must_not_be_the_sandbox_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
