/* sni.h - the server name a TLS client asks for, from the first bytes it
 * sends (the ClientHello of RFC 8446 4.1.2 / RFC 5246 7.4.1.2, its
 * server_name extension of RFC 6066 3).
 *
 * The caller passes everything the client has sent so far; the answer is
 * one of the results below.  A ClientHello may be split over several
 * handshake records and over many reads: NEED_MORE until it is whole.
 * The caller never needs more than SNI_MAX_INPUT bytes: with that many
 * and still no whole ClientHello the answer is TOO_LARGE.  Lengths are
 * checked strictly at every level (record, handshake, each vector,
 * extensions ending exactly where the ClientHello ends), and the name
 * must be a valid host name (net/name.h): an IP literal, bytes outside
 * letters/digits/-/_, or a second name is INVALID, never "no SNI".
 * SSLv2-format hellos are NOT_TLS. */
#ifndef AJ_NET_SNI_H
#define AJ_NET_SNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/name.h"
#include "util/err.h"

#define SNI_MAX_HELLO 16384 /* ClientHello body we accept (post-quantum ~1.8 KiB) */
#define SNI_MAX_INPUT 32768 /* input bytes we look at */

enum sni_result {
	SNI_NEED_MORE, /* a valid prefix of a ClientHello: read more */
	SNI_FOUND,     /* TLS with a server name: info->name */
	SNI_ABSENT,    /* TLS, well formed, no server_name extension */
	SNI_NOT_TLS,   /* the first bytes are not a TLS handshake record */
	SNI_INVALID,   /* TLS-looking but malformed, or a bad server name */
	SNI_TOO_LARGE, /* ClientHello above SNI_MAX_HELLO / SNI_MAX_INPUT */
};

struct sni_info {
	char name[NET_NAME_MAX + 1]; /* canonical, with SNI_FOUND */
	uint16_t version;            /* legacy_version of the ClientHello */
	bool ech;                    /* has encrypted_client_hello: the real
				      * name is hidden behind `name` */
	size_t hello_end;            /* with FOUND/ABSENT: input bytes up to
				      * the end of the record that completed it */
};

/* e (may be NULL) says why for NOT_TLS, INVALID and TOO_LARGE. */
enum sni_result sni_parse(const uint8_t *buf, size_t len, struct sni_info *info,
			  struct aj_err *e);

const char *sni_result_name(enum sni_result r);

#endif
