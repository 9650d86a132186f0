/* httphead_int.h - shared between the httphead_*.c files only. */
#ifndef AJ_NET_HTTPHEAD_INT_H
#define AJ_NET_HTTPHEAD_INT_H

#include "net/httphead.h"

struct hh_authority {
	char host[NET_NAME_MAX + 1]; /* canonical name or address text */
	bool is_addr;
	struct net_addr addr;
	uint16_t port; /* 0: none given */
};

/* s[0..n) as host[:port]; -1 with e saying what is wrong. */
int hh_authority_parse(const char *s, size_t n, struct hh_authority *a,
		       struct aj_err *e);

/* RFC 9110 tchar: the bytes of a method or header name. */
bool hh_tchar(unsigned char c);

/* Case-insensitive comparison of buf's span with a lowercase name. */
bool hh_span_is(const char *buf, struct hh_span s, const char *lower);

#endif
