/* httphead.h - the head of an HTTP/1.x request a sandbox sends through
 * the egress listener: request line, header lines, and what the policy
 * needs from them (the host asked for), plus header splicing for the
 * secrets-injection step.
 *
 * Strict on purpose (RFC 9112; anything two parsers could read two ways
 * is refused, so the upstream server can never see a different request
 * than we checked): lines end in CRLF (a bare LF or CR is malformed), one
 * SP between the request-line parts, HTTP/1.0 or 1.1 only, no whitespace
 * before a header's colon, no obs-fold continuation lines, no control
 * bytes in values, exactly one Host header (required in 1.1), and
 * message framing without ambiguity: Content-Length digits only and at
 * most once, Transfer-Encoding only "chunked", only in 1.1, never with
 * Content-Length.
 *
 * The host: from an absolute-form target ("GET http://x/ HTTP/1.1") or a
 * CONNECT target ("CONNECT x:443 HTTP/1.1"), which must then agree with
 * the Host header if there is one (same host, same port, a missing port
 * being the scheme's default); otherwise from Host.  A name is returned
 * canonical (net/name.h), an address as an address ("[::1]" or
 * "10.0.0.1"; "127.1" and other inet_aton forms are malformed).
 * userinfo ("http://a@b/") and fragments are malformed. */
#ifndef AJ_NET_HTTPHEAD_H
#define AJ_NET_HTTPHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"
#include "net/name.h"
#include "util/buf.h"
#include "util/err.h"

#define HH_MAX_HEAD 32768 /* a sensible `max` for hh_parse */
#define HH_MAX_HEADERS 128

enum hh_result {
	HH_NEED_MORE, /* a valid prefix of a head: read more */
	HH_OK,        /* r->head_len bytes are the whole head */
	HH_TOO_LARGE, /* no end of head within max, or too many headers */
	HH_MALFORMED, /* not an HTTP/1.x request head we accept */
};

enum hh_form {
	HH_FORM_ORIGIN,    /* GET /path HTTP/1.1 */
	HH_FORM_ABSOLUTE,  /* GET http://host/path HTTP/1.1 (a proxy request) */
	HH_FORM_AUTHORITY, /* CONNECT host:port HTTP/1.1 */
	HH_FORM_ASTERISK,  /* OPTIONS * HTTP/1.1 */
};

struct hh_span {
	size_t off, len; /* into the caller's buffer */
};

struct hh_header {
	struct hh_span line;  /* the whole line including its CRLF */
	struct hh_span name;  /* as sent (compare case-insensitively) */
	struct hh_span value; /* without surrounding spaces/tabs */
};

struct hh_request {
	size_t head_len;        /* bytes up to and including the empty line */
	struct hh_span method;  /* case-sensitive token */
	struct hh_span target;
	int minor;              /* HTTP/1.<minor>: 0 or 1 */
	enum hh_form form;
	bool https;             /* absolute-form with the https scheme */
	struct hh_span path;    /* absolute-form: the target after its
				 * authority ("/p?q", "?q", or empty for
				 * "GET http://x HTTP/1.1": "/" to a server) */
	bool has_host;          /* host/port below are set */
	char host[NET_NAME_MAX + 1]; /* canonical name, or the address */
	bool host_is_addr;
	struct net_addr addr;   /* with host_is_addr */
	uint16_t port;          /* the port given (target or Host), 0 if none */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool has_length;        /* Content-Length given */
	uint64_t content_length;
	size_t nheaders;
	struct hh_header headers[HH_MAX_HEADERS];
};

/* Parse the head at the start of buf[0..len), looking at most at `max`
 * bytes.  e (may be NULL) says why for TOO_LARGE and MALFORMED.  A
 * MALFORMED answer can come before the head is whole (the first bytes
 * are not a request line). */
enum hh_result hh_parse(const char *buf, size_t len, size_t max,
			struct hh_request *r, struct aj_err *e);

const char *hh_result_name(enum hh_result res);

/* ---- splicing (httphead_edit.c) ---- */

/* Index of the first header at or after `from` named `name` (any case),
 * or -1. */
int hh_find(const char *buf, const struct hh_request *r, const char *name,
	    size_t from);

struct hh_set {
	const char *name;  /* a token */
	const char *value; /* NULL: remove the header */
};

/* Append to out a copy of the head with every header named in sets[]
 * removed and, for each set with a value, "name: value" added at the end
 * of the headers.  Names must be tokens and values must not hold CR, LF,
 * NUL or other controls; Host, Content-Length, Transfer-Encoding,
 * Connection and Upgrade cannot be set or removed (they decide what is
 * checked and how the message is framed).  The body (buf from r->head_len on) is the
 * caller's to send after it. */
int hh_rewrite(const char *buf, const struct hh_request *r,
	       const struct hh_set *sets, size_t n, struct aj_buf *out,
	       struct aj_err *e);

#endif
