/* proto.h - messages between the manager and a sandbox's supervisor.
 *
 * One SOCK_SEQPACKET socket per sandbox; every message is one packet that
 * starts with struct sup_hdr.  The manager's side trusts nothing it reads:
 * the supervisor lives inside the sandbox, so a compromised one can send
 * anything, and its messages are fixed-size and checked field by field.
 *
 *   manager -> supervisor
 *     SUP_EXEC    sup_exec + strings, fds: stdout, stderr [, stdin] [, fd3]
 *     SUP_SIGNAL  sup_signal
 *   supervisor -> manager
 *     SUP_STARTED sup_started   (answers SUP_EXEC, same req_id)
 *     SUP_EXITED  sup_exited    (req_id of the SUP_EXEC that started it)
 *     SUP_ACK     sup_ack       (answers SUP_SIGNAL)
 */
#ifndef AJ_BOX_PROTO_H
#define AJ_BOX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SUP_MAX_MSG (192 * 1024) /* fits the default socket buffer */

enum sup_type {
	SUP_EXEC = 1,
	SUP_SIGNAL = 2,
	SUP_STARTED = 101,
	SUP_EXITED = 102,
	SUP_ACK = 103,
};

struct sup_hdr {
	uint32_t type;
	uint32_t len; /* whole message, header included */
	uint64_t req_id;
};

/* Flags of SUP_EXEC: which optional descriptors follow stdout and stderr. */
#define SUP_F_STDIN 1u /* a stdin pipe (else /dev/null) */
#define SUP_F_FD3 2u   /* an extra descriptor placed at fd 3 */

/* Followed by argc argv strings, envc "K=V" strings and the cwd, each
 * NUL-terminated, packed back to back. */
struct sup_exec {
	struct sup_hdr h;
	uint32_t flags;
	uint32_t argc;
	uint32_t envc;
	uint32_t pad;
};

/* Who gets a SUP_SIGNAL's sig. */
enum sup_sig_to {
	SUP_SIG_PROC = 0,  /* pid */
	SUP_SIG_GROUP = 1, /* the process group pid */
	SUP_SIG_REST = 2,  /* the other members of the process group pid: a
			    * driver that must not get sig itself (a bash
			    * driver and SIGINT, docs/drivers.md) gets lead
			    * first, so it knows before its commands die */
};

struct sup_signal {
	struct sup_hdr h;
	int32_t pid;
	int32_t sig;
	int32_t group; /* enum sup_sig_to */
	int32_t lead;  /* SUP_SIG_REST: the signal for pid itself, 0 for none */
};

struct sup_started {
	struct sup_hdr h;
	int32_t pid; /* inside the sandbox; 0 on failure */
	int32_t err; /* failed start: errno | stage << 16 */
};

/* Where a start failed, in the high half of sup_started.err. */
enum sup_stage { SUP_STAGE_SETUP = 1, SUP_STAGE_CWD = 2, SUP_STAGE_EXEC = 3 };

struct sup_exited {
	struct sup_hdr h;
	int32_t pid;
	int32_t status; /* as from wait4 */
	int64_t utime_us;
	int64_t stime_us;
	int64_t maxrss_kb;
};

struct sup_ack {
	struct sup_hdr h;
	int32_t err;
	int32_t pad;
};

/* The supervisor's main loop: runs as PID 1 of a sandbox (a jail_init_fn).
 * Returns when the manager closes the socket. */
int supervisor_main(int ctl_fd, void *arg);

#endif
