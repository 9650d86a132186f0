/* Unit tests for the seccomp policy, run through a small classic-BPF
 * interpreter (no sandbox needed):
 * - the precompiled programs (src/jail/seccomp_bpf.c) give the same
 *   verdict as a fresh libseccomp compile of the rules, for every syscall
 *   number and every argument value the rules look at;
 * - the combined verdict is what the policy promises (TIOCSTI with high
 *   bits, namespace clone flags, socket families, personality values,
 *   other ABIs killed).
 *
 * With AJ_SECCOMP_EMIT=<path> it also writes the precompiled programs
 * (the generator of src/jail/seccomp_bpf.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "jail/internal.h"

/* ---- a classic BPF interpreter for seccomp programs -------------------- */

static uint32_t load_word(const struct seccomp_data *d, uint32_t off)
{
	uint32_t w;
	assert_true(off + 4 <= sizeof(*d) && off % 4 == 0);
	memcpy(&w, (const char *)d + off, 4);
	return w;
}

static uint32_t run_bpf(const struct sock_fprog *p, const struct seccomp_data *d)
{
	uint32_t A = 0, X = 0, mem[BPF_MEMWORDS] = { 0 };
	for (unsigned pc = 0; pc < p->len; pc++) {
		const struct sock_filter *f = &p->filter[pc];
		uint32_t k = f->k;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS: A = load_word(d, k); break;
		case BPF_LD | BPF_MEM: A = mem[k % BPF_MEMWORDS]; break;
		case BPF_LDX | BPF_MEM: X = mem[k % BPF_MEMWORDS]; break;
		case BPF_ST: mem[k % BPF_MEMWORDS] = A; break;
		case BPF_STX: mem[k % BPF_MEMWORDS] = X; break;
		case BPF_ALU | BPF_AND | BPF_K: A &= k; break;
		case BPF_ALU | BPF_OR | BPF_K: A |= k; break;
		case BPF_MISC | BPF_TAX: X = A; break;
		case BPF_MISC | BPF_TXA: A = X; break;
		case BPF_JMP | BPF_JA: pc += k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += A == k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: pc += A > k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += A >= k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (A & k) ? f->jt : f->jf; break;
		case BPF_RET | BPF_K: return k;
		case BPF_RET | BPF_A: return A;
		default:
			fail_msg("unhandled BPF opcode 0x%x at %u", f->code, pc);
		}
	}
	fail_msg("BPF program fell off its end");
	return 0;
}

/* The kernel's rule for several filters: the most restrictive action
 * wins (actions compared as signed), ties go to the filter loaded last. */
static uint32_t verdict(const struct jail_policy *p, const struct seccomp_data *d)
{
	uint32_t best = SECCOMP_RET_ALLOW;
	for (int i = 1; i >= 0; i--) {
		uint32_t r = run_bpf(&p->prog[i], d);
		if ((int32_t)(r & SECCOMP_RET_ACTION_FULL) <
		    (int32_t)(best & SECCOMP_RET_ACTION_FULL))
			best = r;
	}
	return best;
}

static struct seccomp_data call(int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct seccomp_data d;
	memset(&d, 0, sizeof(d));
	d.nr = nr;
	d.arch = AUDIT_ARCH_X86_64;
	d.args[0] = a0;
	d.args[1] = a1;
	d.args[2] = a2;
	return d;
}

#define ERRNO(e) (SECCOMP_RET_ERRNO | (uint32_t)(e))

static struct jail_policy *fresh, *pre;

static int setup(void **state)
{
	(void)state;
	struct aj_err e;
	if (jail_policy_compile(JAIL_NET_NONE, &fresh, &e) < 0 ||
	    jail_policy_build(JAIL_NET_NONE, &pre, &e) < 0) {
		fprintf(stderr, "policy: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	jail_policy_free(fresh);
	jail_policy_free(pre);
	return 0;
}

/* ---- precompiled == compiled ------------------------------------------- */

/* What pthread_create passes to clone. */
#define THREAD_FLAGS                                                    \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
	 CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |               \
	 CLONE_CHILD_CLEARTID)

/* Argument values worth trying for every syscall: zeros, and everything
 * the argument rules distinguish, plus high-bit variants. */
static const uint64_t interesting[] = {
	0, 1, 2, 3, 8, 9, 10, 16, 17, 40, 0x7fffffff, 0x80000000,
	0xfffffffe, 0xffffffff, 1ULL << 32, 0xffffffffffffffffULL,
	TIOCSTI, TIOCLINUX, TCGETS, (1ULL << 32) | TIOCSTI,
	0xffffffff00000000ULL | TIOCLINUX, SIGCHLD, CLONE_NEWUSER | SIGCHLD,
	CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
	CLONE_NEWCGROUP, THREAD_FLAGS, PER_LINUX32, ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC,
};
#define NI (sizeof(interesting) / sizeof(*interesting))

static void precompiled_matches_libseccomp(void **state)
{
	(void)state;
	if (!jail_bpf_precompiled.len[0])
		skip(); /* nothing precompiled for this architecture */
	const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0 };
	long checked = 0;
	for (int a = 0; a < 3; a++)
		for (int nr = 0; nr < 600; nr++) {
			for (size_t i = 0; i < NI; i++)
				for (size_t j = 0; j < NI; j += (nr == SYS_ioctl || nr == SYS_socket) ? 1 : NI) {
					struct seccomp_data d = call(nr, interesting[i],
								     interesting[j],
								     interesting[(i + j) % NI]);
					d.arch = arches[a];
					for (int f = 0; f < 2; f++) {
						uint32_t x = run_bpf(&fresh->prog[f], &d);
						uint32_t y = run_bpf(&pre->prog[f], &d);
						if (x != y)
							fail_msg("filter %d, arch %x, nr %d, args %llx %llx: "
								 "compiled %x, precompiled %x (regenerate "
								 "seccomp_bpf.c, see seccomp.c)",
								 f + 1, d.arch, nr,
								 (unsigned long long)d.args[0],
								 (unsigned long long)d.args[1], x, y);
						checked++;
					}
				}
			/* x32 numbers */
			struct seccomp_data d = call(nr | 0x40000000, 0, 0, 0);
			for (int f = 0; f < 2; f++)
				assert_int_equal(run_bpf(&fresh->prog[f], &d),
						 run_bpf(&pre->prog[f], &d));
		}
	assert_true(checked > 100000);
}

/* ---- the policy's promises --------------------------------------------- */

static void allowlist_basics(void **state)
{
	(void)state;
	struct seccomp_data d;
	d = call(SYS_read, 0, 0, 0);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_execve, 0, 0, 0);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_mount, 0, 0, 0);
	assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
	d = call(SYS_bpf, 0, 0, 0);
	assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
	d = call(SYS_io_uring_setup, 0, 0, 0);
	assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
	d = call(SYS_clone3, 0, 0, 0);
	assert_int_equal(verdict(pre, &d), ERRNO(ENOSYS));
	d = call(461 /* lsm_list_modules: newer than the list */, 0, 0, 0);
	assert_int_equal(verdict(pre, &d), ERRNO(ENOSYS));
}

static void other_abis_are_killed(void **state)
{
	(void)state;
	struct seccomp_data d = call(SYS_getpid, 0, 0, 0);
	d.arch = AUDIT_ARCH_I386;
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_KILL_PROCESS);
	d = call(0x40000000 | SYS_getpid, 0, 0, 0); /* x32 */
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_KILL_PROCESS);
}

static void ioctl_tiocsti_any_high_bits(void **state)
{
	(void)state;
	const uint64_t high[] = { 0, 1ULL << 32, 0xffffffff00000000ULL, 0x123400000000ULL };
	for (size_t i = 0; i < 4; i++) {
		struct seccomp_data d = call(SYS_ioctl, 0, high[i] | TIOCSTI, 0);
		assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
		d = call(SYS_ioctl, 0, high[i] | TIOCLINUX, 0);
		assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
		d = call(SYS_ioctl, 0, high[i] | TCGETS, 0);
		assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);
	}
}

static void clone_namespace_flags(void **state)
{
	(void)state;
	const uint64_t ns[] = { CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS,
				CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
				CLONE_NEWNET };
	for (size_t i = 0; i < 7; i++) {
		struct seccomp_data d = call(SYS_clone, ns[i] | SIGCHLD, 0, 0);
		assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
	}
	struct seccomp_data d = call(SYS_clone, SIGCHLD, 0, 0);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_clone, THREAD_FLAGS, 0, 0);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_unshare, CLONE_NEWUSER, 0, 0);
	assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
}

static void socket_families(void **state)
{
	(void)state;
	for (uint64_t dom = 0; dom < 64; dom++) {
		struct seccomp_data d = call(SYS_socket, dom, SOCK_STREAM, 0);
		uint32_t want = (dom == AF_UNIX || dom == AF_INET ||
				 dom == AF_INET6 || dom == AF_NETLINK)
					? SECCOMP_RET_ALLOW
					: ERRNO(EAFNOSUPPORT);
		assert_int_equal(verdict(pre, &d), want);
	}
	struct seccomp_data d = call(SYS_socket, (1ULL << 32) | AF_INET, SOCK_STREAM, 0);
	assert_int_equal(verdict(pre, &d), ERRNO(EAFNOSUPPORT));
	d = call(SYS_socket, AF_NETLINK, SOCK_RAW, 9 /* audit */);
	assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
	d = call(SYS_socketpair, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(verdict(pre, &d), ERRNO(EAFNOSUPPORT));
	d = call(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);
}

static void personality_values(void **state)
{
	(void)state;
	struct seccomp_data d = call(SYS_personality, 0, 0, 0);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_personality, 0xffffffff, 0, 0);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);
	/* every other single bit, each adjacent pair, and some others */
	for (int b = 0; b < 64; b++) {
		d = call(SYS_personality, 1ULL << b, 0, 0);
		assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
		d = call(SYS_personality, 0xffffffffULL & ~(1ULL << b), 0, 0);
		if (b < 32)
			assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
	}
	const uint64_t others[] = { PER_LINUX32, ADDR_NO_RANDOMIZE,
				    READ_IMPLIES_EXEC, 0x7fffffff, 0x80000000,
				    0xfffffffe, 0x1ffffffffULL,
				    0xffffffffffffffffULL };
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++) {
		d = call(SYS_personality, others[i], 0, 0);
		assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
	}
}

/* ---- generator ----------------------------------------------------------- */

static int emit(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	const struct scmp_version *v = seccomp_version();
	fprintf(f,
		"/* seccomp_bpf.c - GENERATED by tests/unit/test_jail_seccomp.c from the\n"
		" * rules in seccomp.c (libseccomp %u.%u.%u); do not edit.  See seccomp.c\n"
		" * for why the programs are precompiled and how to regenerate them. */\n"
		"#include \"jail/internal.h\"\n\n#if defined(__x86_64__)\n",
		v->major, v->minor, v->micro);
	for (int i = 0; i < 2; i++) {
		fprintf(f, "static const struct sock_filter prog%d[%u] = {\n", i,
			fresh->prog[i].len);
		for (unsigned k = 0; k < fresh->prog[i].len; k++) {
			const struct sock_filter *s = &fresh->prog[i].filter[k];
			fprintf(f, "\t{ 0x%02x, %u, %u, 0x%08x },\n", s->code, s->jt,
				s->jf, s->k);
		}
		fprintf(f, "};\n\n");
	}
	fprintf(f,
		"const struct jail_bpf jail_bpf_precompiled = {\n"
		"\t{ prog0, prog1 },\n\t{ %u, %u },\n\t\"%u.%u.%u\",\n};\n"
		"#else\n"
		"const struct jail_bpf jail_bpf_precompiled = { { 0, 0 }, { 0, 0 }, \"\" };\n"
		"#endif\n",
		fresh->prog[0].len, fresh->prog[1].len, v->major, v->minor, v->micro);
	return fclose(f);
}

int main(void)
{
	const char *out = getenv("AJ_SECCOMP_EMIT");
	if (out) {
		if (setup(NULL) < 0 || emit(out) < 0) {
			perror(out);
			return 1;
		}
		printf("wrote %s\n", out);
		return teardown(NULL);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(precompiled_matches_libseccomp),
		cmocka_unit_test(allowlist_basics),
		cmocka_unit_test(other_abis_are_killed),
		cmocka_unit_test(ioctl_tiocsti_any_high_bits),
		cmocka_unit_test(clone_namespace_flags),
		cmocka_unit_test(socket_families),
		cmocka_unit_test(personality_values),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
