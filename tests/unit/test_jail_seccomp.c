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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "jail/internal.h"

/* ---- a classic BPF interpreter for seccomp programs -------------------- */

/* Set when a program read a syscall argument (its verdict may depend on
 * the arguments, not only on the syscall number and arch). */
static int touched_args;

static uint32_t load_word(const struct seccomp_data *d, uint32_t off)
{
	uint32_t w;
	assert_true(off + 4 <= sizeof(*d) && off % 4 == 0);
	if (off >= offsetof(struct seccomp_data, args))
		touched_args = 1;
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
		if (!p->prog[i].len)
			continue;
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

/* A syscall number the rules single out, or a boundary of a range. */
static int cmp_constants(const struct sock_fprog *p, uint64_t *out, int max)
{
	int n = 0;
	for (unsigned i = 0; i < p->len && n + 2 <= max; i++) {
		uint16_t c = p->filter[i].code;
		if (BPF_CLASS(c) == BPF_JMP && BPF_OP(c) != BPF_JA) {
			out[n++] = p->filter[i].k;
			out[n++] = (uint64_t)p->filter[i].k + 1;
		}
	}
	return n;
}

static void precompiled_matches_libseccomp(void **state)
{
	(void)state;
	if (!jail_bpf_precompiled.len[0])
		skip(); /* nothing precompiled for this architecture */
	/* every syscall number, the x32 range and every constant the
	 * programs compare with (and the value after it) */
	static uint64_t nrs[4096];
	int nn = 0;
	for (int nr = 0; nr < 1024; nr++)
		nrs[nn++] = (uint64_t)nr;
	for (int f = 0; f < 2; f++)
		nn += cmp_constants(&fresh->prog[f], nrs + nn, 4096 - nn);
	nrs[nn++] = 0x40000000;
	nrs[nn++] = 0x40000000 | SYS_getpid;
	nrs[nn++] = 0xfffffffe;
	nrs[nn++] = 0xffffffff;
	const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0 };
	long checked = 0;
	for (int a = 0; a < 3; a++)
		for (int x = 0; x < nn; x++) {
			if (nrs[x] > 0xffffffff)
				continue;
			int nr = (int)(uint32_t)nrs[x];
			int argful = nr == SYS_ioctl || nr == SYS_socket ||
				     nr == SYS_socketpair || nr == SYS_clone ||
				     nr == SYS_personality || nr == SYS_prlimit64;
			for (size_t i = 0; i < (argful ? NI : 1); i++)
				for (size_t j = 0; j < (argful ? NI : 1); j++) {
					struct seccomp_data d = call(nr, interesting[i],
								     interesting[j],
								     interesting[(i + j) % NI]);
					d.arch = arches[a];
					uint32_t want = verdict(fresh, &d);
					uint32_t got = verdict(pre, &d);
					if (want != got)
						fail_msg("arch %x, nr %d, args %llx %llx: "
							 "libseccomp %x, precompiled %x "
							 "(regenerate seccomp_bpf.c, see seccomp.c)",
							 d.arch, nr,
							 (unsigned long long)d.args[0],
							 (unsigned long long)d.args[1], want, got);
					checked++;
				}
		}
	assert_true(checked > 10000);
}

/* The argument blocks against program 2 on random arguments: any bits
 * anywhere, and values near the ones the rules name. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd64(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t rnd_arg(void)
{
	uint64_t x = rnd64();
	switch (x & 7) {
	case 0: return interesting[(x >> 3) % NI];
	case 1: return interesting[(x >> 3) % NI] ^ (1ULL << ((x >> 16) & 63));
	case 2: return (x >> 3) & 0x1f;                 /* small: families */
	case 3: return (x >> 3) & 0xffffffff;           /* low word only */
	default: return x;
	}
}

static void random_arguments_match_libseccomp(void **state)
{
	(void)state;
	if (!jail_bpf_precompiled.len[0])
		skip();
	static const int nrs[] = { SYS_ioctl, SYS_clone, SYS_socket,
				   SYS_socketpair, SYS_prlimit64, SYS_personality };
	for (size_t k = 0; k < sizeof(nrs) / sizeof(*nrs); k++)
		for (int i = 0; i < 200000; i++) {
			struct seccomp_data d = call(nrs[k], rnd_arg(), rnd_arg(), rnd_arg());
			uint32_t want = verdict(fresh, &d), got = verdict(pre, &d);
			if (want != got)
				fail_msg("nr %d, args %llx %llx %llx: libseccomp %x, "
					 "precompiled %x", nrs[k],
					 (unsigned long long)d.args[0],
					 (unsigned long long)d.args[1],
					 (unsigned long long)d.args[2], want, got);
		}
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

static void prlimit_of_others(void **state)
{
	(void)state;
	struct seccomp_data d = call(SYS_prlimit64, 0, RLIMIT_NOFILE, 0x1000);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);    /* setrlimit */
	d = call(SYS_prlimit64, 1, RLIMIT_NOFILE, 0);
	assert_int_equal(verdict(pre, &d), SECCOMP_RET_ALLOW);    /* reading */
	const uint64_t pids[] = { 1, 2, 0x7fffffff, 0xffffffff, (1ULL << 32) | 1,
				  1ULL << 32 };
	for (size_t i = 0; i < sizeof(pids) / sizeof(*pids); i++) {
		d = call(SYS_prlimit64, pids[i], RLIMIT_NOFILE, 0x1000);
		assert_int_equal(verdict(pre, &d), ERRNO(EPERM));
	}
}

/* ---- generator ----------------------------------------------------------- */

/* The precompiled program is ONE filter equivalent to the kernel's
 * combination of the two libseccomp programs, smaller and cheaper to load
 * (the kernel JITs every instruction and evaluates the filter for every
 * syscall number when it is attached):
 *
 *   arch check                      (other ABIs: the verdict both give)
 *   binary search on the syscall number over the ranges where program 1
 *   gives one constant verdict  ->  RET verdict, or a jump to
 *   program 2, verbatim             (for syscalls whose arguments matter)
 *
 * The ranges come from evaluating program 1 at every constant it compares
 * with, so they are exact for all 2^32 numbers, not a sample.  Anything
 * this construction cannot express makes generation fail instead of
 * emitting something different; precompiled_matches_libseccomp checks the
 * result against the two programs. */
struct range {
	uint32_t start;
	int to_prog2;     /* 1: evaluate program 2 */
	uint32_t verdict; /* otherwise */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int stronger(uint32_t a, uint32_t b)
{
	return (int32_t)(a & SECCOMP_RET_ACTION_FULL) <
	       (int32_t)(b & SECCOMP_RET_ACTION_FULL);
}

/* Emit a binary search over r[lo, hi) into out at *n.  Leaves that need
 * the argument checks become jumps, patched by merge: fix[] holds where
 * they are, fixr[] their range. */
static int emit_tree(const struct range *r, int lo, int hi,
		     struct sock_filter *out, int *n, int *fix, int *fixr, int *nfix)
{
	if (hi - lo == 1) {
		if (r[lo].to_prog2) {
			fix[*nfix] = *n;
			fixr[(*nfix)++] = lo;
			out[(*n)++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0);
		} else {
			out[(*n)++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
								    r[lo].verdict);
		}
		return 0;
	}
	int mid = (lo + hi) / 2;
	int at = (*n)++;
	if (emit_tree(r, lo, mid, out, n, fix, fixr, nfix) < 0)
		return -1;
	int left = *n - at - 1;
	if (left > 255)
		return -1; /* jump too far for a conditional jump */
	out[at] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
					       r[mid].start, (uint8_t)left, 0);
	return emit_tree(r, mid, hi, out, n, fix, fixr, nfix);
}

/* The argument checks of program 2, written out by hand per syscall.
 * libseccomp compares one argument with one value per rule, so "a
 * persona other than 0 and 0xffffffff" alone is 63 rules (about 190
 * instructions), and every instruction costs a jail's start about
 * 0.45 us when the kernel loads the filter (measured: 443 instructions
 * 223 us, one instruction 27 us).  Each block decides its syscall as
 * program 2 does - precompiled_matches_libseccomp and
 * random_arguments_match_libseccomp hold them to it - so after editing
 * an argument rule in seccomp.c, edit its block here too (or delete the
 * block: that syscall then jumps into program 2, appended verbatim).
 * x86_64 is little-endian: an argument's low word comes first. */
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define ARG_HI(i) (ARG_LO(i) + 4)
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGT(k, t, f) BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (k), (t), (f))
#define JSET(k, t, f) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ALLOW SECCOMP_RET_ALLOW
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
		  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

static const struct sock_filter blk_ioctl[] = {
	LD(ARG_LO(1)),                 /* cmd: the kernel's unsigned int */
	JEQ(TIOCSTI, 2, 0),
	JEQ(TIOCLINUX, 1, 0),
	RET(ALLOW),
	RET(ERRNO(EPERM)),
};
static const struct sock_filter blk_clone[] = {
	LD(ARG_LO(0)),                 /* every namespace flag is a low bit */
	JSET(NS_FLAGS, 1, 0),
	RET(ALLOW),
	RET(ERRNO(EPERM)),
};
static const struct sock_filter blk_socket[] = {
	LD(ARG_HI(0)),                 /* 0 */
	JEQ(0, 0, 11),                 /* high bits: > AF_NETLINK */
	LD(ARG_LO(0)),                 /* 2 */
	JGT(AF_NETLINK, 9, 0),
	JEQ(AF_UNIX, 7, 0),
	JEQ(AF_INET, 6, 0),
	JEQ(AF_INET6, 5, 0),
	JEQ(AF_NETLINK, 0, 5),         /* 7: any other family */
	LD(ARG_HI(2)),                 /* netlink: protocol 0 (route) only */
	JEQ(0, 0, 4),
	LD(ARG_LO(2)),                 /* 10 */
	JEQ(0, 0, 2),
	RET(ALLOW),                    /* 12 */
	RET(ERRNO(EAFNOSUPPORT)),      /* 13 */
	RET(ERRNO(EPERM)),             /* 14 */
};
static const struct sock_filter blk_socketpair[] = {
	LD(ARG_HI(0)),
	JEQ(0, 0, 3),
	LD(ARG_LO(0)),
	JEQ(AF_UNIX, 0, 1),
	RET(ALLOW),
	RET(ERRNO(EAFNOSUPPORT)),
};
static const struct sock_filter blk_prlimit64[] = {
	LD(ARG_HI(0)),                 /* pid 0 (ourselves): allowed */
	JEQ(0, 0, 2),
	LD(ARG_LO(0)),
	JEQ(0, 4, 0),
	LD(ARG_HI(2)),                 /* 4: another pid: reading only */
	JEQ(0, 0, 3),
	LD(ARG_LO(2)),
	JEQ(0, 0, 1),
	RET(ALLOW),                    /* 8 */
	RET(ERRNO(EPERM)),
};
static const struct sock_filter blk_personality[] = {
	LD(ARG_HI(0)),                 /* only 0 and the query 0xffffffff */
	JEQ(0, 0, 4),
	LD(ARG_LO(0)),
	JEQ(0, 1, 0),
	JEQ(0xffffffff, 0, 1),
	RET(ALLOW),
	RET(ERRNO(EPERM)),
};

static const struct arg_block {
	int nr;
	const struct sock_filter *code;
	int len;
} arg_blocks[] = {
#define BLOCK(name) { SYS_##name, blk_##name, (int)(sizeof(blk_##name) / sizeof(*blk_##name)) }
	BLOCK(ioctl), BLOCK(clone), BLOCK(socket), BLOCK(socketpair),
	BLOCK(prlimit64), BLOCK(personality),
#undef BLOCK
};

static const struct arg_block *block_for(const struct range *r, int k, int nr)
{
	if (k + 1 >= nr || r[k + 1].start != r[k].start + 1)
		return NULL; /* not a single syscall */
	for (size_t i = 0; i < sizeof(arg_blocks) / sizeof(*arg_blocks); i++)
		if ((uint32_t)arg_blocks[i].nr == r[k].start)
			return &arg_blocks[i];
	return NULL;
}

static int merge(const struct jail_policy *two, struct sock_filter *out, int max)
{
	const struct sock_fprog *p1 = &two->prog[0], *p2 = &two->prog[1];
	static uint64_t bp[4096];
	int nb = 0;
	bp[nb++] = 0;
	nb += cmp_constants(p1, bp + nb, 2048);
	nb += cmp_constants(p2, bp + nb, 2048);
	qsort(bp, (size_t)nb, sizeof(*bp), cmp_u64);

	static struct range r[4096];
	int nr = 0;
	for (int i = 0; i < nb; i++) {
		if (bp[i] > 0xffffffff || (i && bp[i] == bp[i - 1]))
			continue;
		struct seccomp_data d = call((int)(uint32_t)bp[i], 0, 0, 0);
		touched_args = 0;
		uint32_t v1 = run_bpf(p1, &d);
		if (touched_args)
			return -1; /* program 1 looks at arguments */
		uint32_t v2 = run_bpf(p2, &d);
		int args2 = touched_args;
		struct range cur = { (uint32_t)bp[i], 0, v1 };
		if (v1 == SECCOMP_RET_ALLOW && (args2 || v2 != SECCOMP_RET_ALLOW))
			cur.to_prog2 = 1;
		else if (args2)
			return -1; /* both would matter: not expressible */
		else if (stronger(v2, v1))
			cur.verdict = v2;
		if (nr && r[nr - 1].to_prog2 == cur.to_prog2 &&
		    (cur.to_prog2 || r[nr - 1].verdict == cur.verdict))
			continue; /* same as the range before */
		r[nr++] = cur;
	}

	/* Other ABIs: both programs must agree on one constant verdict. */
	struct seccomp_data d = call(0, 0, 0, 0);
	d.arch = AUDIT_ARCH_I386;
	uint32_t other = run_bpf(p1, &d);
	if (run_bpf(p2, &d) != other)
		return -1;

	static int fix[4096], fixr[4096], target[4096];
	int n = 0, nfix = 0;
	out[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						offsetof(struct seccomp_data, arch));
	out[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						AUDIT_ARCH_X86_64, 1, 0);
	out[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, other);
	out[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						offsetof(struct seccomp_data, nr));
	if (emit_tree(r, 0, nr, out, &n, fix, fixr, &nfix) < 0)
		return -1;
	/* each jump's target: its syscall's block (once), else program 2 */
	int need_p2 = 0;
	for (int i = 0; i < nfix; i++) {
		const struct arg_block *b = block_for(r, fixr[i], nr);
		target[i] = -1;
		if (!b) {
			need_p2 = 1;
			continue;
		}
		for (int j = 0; j < i; j++)
			if (block_for(r, fixr[j], nr) == b)
				target[i] = target[j];
		if (target[i] >= 0)
			continue;
		if (n + b->len > max)
			return -1;
		target[i] = n;
		memcpy(out + n, b->code, (size_t)b->len * sizeof(*out));
		n += b->len;
	}
	int p2_at = n;
	if (need_p2) {
		if (n + p2->len > max)
			return -1;
		memcpy(out + n, p2->filter, p2->len * sizeof(*out));
		n += p2->len;
	}
	for (int i = 0; i < nfix; i++)
		out[fix[i]].k = (uint32_t)((target[i] >= 0 ? target[i] : p2_at) - fix[i] - 1);
	return n;
}

static int emit(const char *path)
{
	static struct sock_filter prog[BPF_MAXINSNS];
	int len = merge(fresh, prog, BPF_MAXINSNS);
	if (len < 0) {
		fprintf(stderr, "cannot merge the two programs\n");
		return -1;
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	const struct scmp_version *v = seccomp_version();
	fprintf(f,
		"/* seccomp_bpf.c - GENERATED by tests/unit/test_jail_seccomp.c from the\n"
		" * rules in seccomp.c (libseccomp %u.%u.%u; the two programs merged\n"
		" * into one, %u + %u -> %d instructions); do not edit.  See seccomp.c\n"
		" * for why the programs are precompiled and how to regenerate them. */\n"
		"#include \"jail/internal.h\"\n\n#if defined(__x86_64__)\n",
		v->major, v->minor, v->micro, fresh->prog[0].len,
		fresh->prog[1].len, len);
	fprintf(f, "static const struct sock_filter prog[%d] = {\n", len);
	for (int k = 0; k < len; k++)
		fprintf(f, "\t{ 0x%02x, %u, %u, 0x%08x },\n", prog[k].code,
			prog[k].jt, prog[k].jf, prog[k].k);
	fprintf(f,
		"};\n\n"
		"const struct jail_bpf jail_bpf_precompiled = {\n"
		"\t{ prog, NULL },\n\t{ %d, 0 },\n\t\"%u.%u.%u\",\n};\n"
		"#else\n"
		"const struct jail_bpf jail_bpf_precompiled = { { 0, 0 }, { 0, 0 }, \"\" };\n"
		"#endif\n",
		len, v->major, v->minor, v->micro);
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
		cmocka_unit_test(random_arguments_match_libseccomp),
		cmocka_unit_test(allowlist_basics),
		cmocka_unit_test(other_abis_are_killed),
		cmocka_unit_test(ioctl_tiocsti_any_high_bits),
		cmocka_unit_test(clone_namespace_flags),
		cmocka_unit_test(socket_families),
		cmocka_unit_test(personality_values),
		cmocka_unit_test(prlimit_of_others),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
