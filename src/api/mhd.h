/* mhd.h - libmicrohttpd, loaded when a server starts rather than when the
 * program does.
 *
 * libmicrohttpd brings GnuTLS and nine more libraries (p11-kit, nettle,
 * gmp, libidn2 ...), whose loading, relocation and constructors cost
 * `agentjail run` - which never serves HTTP - about 5 ms of a 10 ms start
 * on a loaded two-core VM.  So the binary does not link it: api_mhd_load()
 * dlopens it (api_start does that), and the MHD_* names used by the front
 * ends below are redirected to the function pointers it fills.  The
 * launcher and the sandboxes' supervisors are forked before that, so they
 * never map those libraries either.
 *
 * Include this instead of <microhttpd.h>.  Another MHD function: add it to
 * API_MHD_FUNCS and give it a #define below. */
#ifndef AJ_API_MHD_H
#define AJ_API_MHD_H

#include <microhttpd.h>

#include "util/err.h"

#define API_MHD_FUNCS(X)                                                     \
	X(start_daemon) X(stop_daemon) X(quiesce_daemon) X(get_daemon_info)  \
	X(get_connection_info) X(lookup_connection_value) X(queue_response)  \
	X(create_response_from_buffer) X(create_response_from_callback)      \
	X(create_response_from_fd64) X(add_response_header)                  \
	X(destroy_response)

#define API_MHD_FIELD(name) __typeof__(&MHD_##name) name;
struct api_mhd {
	API_MHD_FUNCS(API_MHD_FIELD)
};
#undef API_MHD_FIELD
extern struct api_mhd api_mhd;

/* Load libmicrohttpd once (thread-safe); 0, or -1 with e filled. */
int api_mhd_load(struct aj_err *e);

/* (cppcheck reads the calls as the library's own functions, which take
 * ownership of what they are given; through a pointer it could not tell.) */
#if !defined(API_MHD_IMPL) && !defined(__CPPCHECK__)
#define MHD_start_daemon (*api_mhd.start_daemon)
#define MHD_stop_daemon (*api_mhd.stop_daemon)
#define MHD_quiesce_daemon (*api_mhd.quiesce_daemon)
#define MHD_get_daemon_info (*api_mhd.get_daemon_info)
#define MHD_get_connection_info (*api_mhd.get_connection_info)
#define MHD_lookup_connection_value (*api_mhd.lookup_connection_value)
#define MHD_queue_response (*api_mhd.queue_response)
#define MHD_create_response_from_buffer (*api_mhd.create_response_from_buffer)
#define MHD_create_response_from_callback (*api_mhd.create_response_from_callback)
#define MHD_create_response_from_fd64 (*api_mhd.create_response_from_fd64)
#define MHD_add_response_header (*api_mhd.add_response_header)
#define MHD_destroy_response (*api_mhd.destroy_response)
#endif

#endif
