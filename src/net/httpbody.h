/* httpbody.h - where the body of an HTTP/1.x request ends, so that the
 * egress engine can find the next request on a kept-alive connection (and
 * check and rewrite its head too) while relaying the body untouched.
 *
 * Framing comes from the parsed head (net/httphead.h): Content-Length
 * bytes, or chunked coding (RFC 9112 7.1), or no body at all.  Chunked is
 * read strictly: hex sizes without leading spaces or "0x", at most 15
 * digits; an extension only after ';' and without control bytes; CRLF
 * after every size line and every chunk; trailer lines without control
 * bytes, ended by an empty line.  A size line may be 4 KiB, trailers
 * 8 KiB in all. */
#ifndef AJ_NET_HTTPBODY_H
#define AJ_NET_HTTPBODY_H

#include <stddef.h>
#include <stdint.h>

#include "net/httphead.h"

enum hb_result {
	HB_NEED_MORE, /* all of buf is body: feed the next bytes */
	HB_DONE,      /* the body ends after *used bytes of buf */
	HB_MALFORMED, /* bad chunked coding */
};

struct hh_body {
	int state;
	uint64_t left;  /* data bytes left (whole body, or this chunk) */
	size_t line;    /* bytes of the current size or trailer line */
	size_t trailer; /* trailer bytes so far */
	unsigned digits;
};

/* Start reading the body of the request r heads. */
void hh_body_init(struct hh_body *b, const struct hh_request *r);

/* Consume body bytes from buf[0..len): *used is how many belong to the
 * body (all of them with NEED_MORE).  After DONE or MALFORMED, feeding
 * more returns the same. */
enum hb_result hh_body_feed(struct hh_body *b, const char *buf, size_t len,
			    size_t *used, struct aj_err *e);

#endif
