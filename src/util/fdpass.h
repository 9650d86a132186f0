/* fdpass.h - whole messages with file descriptors over a SOCK_SEQPACKET
 * unix socket (SCM_RIGHTS). */
#ifndef AJ_UTIL_FDPASS_H
#define AJ_UTIL_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define AJ_MAX_PASS_FDS 8

/* Send one message with nfds descriptors.  Returns 0 or -1 (errno set). */
int aj_send_msg(int sock, const void *buf, size_t len, const int *fds,
		int nfds);

/* Receive one message into buf (at most cap bytes) and up to *nfds
 * descriptors (received close-on-exec).  Returns the message length, 0 on
 * EOF, -1 on error (errno set; EMSGSIZE if the message or its descriptors
 * were cut, in which case any received descriptors are closed). */
ssize_t aj_recv_msg(int sock, void *buf, size_t cap, int *fds, int *nfds);

#endif
