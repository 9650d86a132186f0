/* addr.h - IP addresses and CIDR ranges for the egress policy.
 *
 * Text forms are the strict inet_pton ones: IPv4 as exactly four decimal
 * parts without leading zeros ("127.0.0.1"; never "127.1", "0x7f.1",
 * "0177.0.0.1" or "2130706433"), IPv6 without a zone ("fe80::1%eth0" is
 * refused).
 *
 * Canonical form: an IPv6 address that carries an IPv4 address the
 * packets really go to is judged as that IPv4 address: IPv4-mapped
 * ::ffff:a.b.c.d (a dual-stack socket sends IPv4) and the NAT64
 * well-known prefix 64:ff9b::a.b.c.d (RFC 6052: a NAT64 gateway sends
 * IPv4).  Every address and range is canonicalised before it is compared,
 * so "::ffff:127.0.0.1" is 127.0.0.1 for every rule. */
#ifndef AJ_NET_ADDR_H
#define AJ_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/err.h"

struct net_addr {
	int family;     /* AF_INET (bytes b[0..4)) or AF_INET6 */
	uint8_t b[16];  /* network byte order */
};

struct net_cidr {
	struct net_addr addr; /* host bits zero */
	unsigned prefix;      /* 0..32 or 0..128 */
};

#define NET_ADDR_STRLEN 46  /* INET6_ADDRSTRLEN */
#define NET_CIDR_STRLEN 50

/* Parse s[0..len) as an address (no brackets, no prefix).  0, or -1 if
 * it is not one (no message: callers usually try a name next). */
int net_addr_parse(const char *s, size_t len, struct net_addr *a);

/* From a sockaddr_in / sockaddr_in6 (port in host order, may be NULL). */
int net_addr_from_sockaddr(const struct sockaddr *sa, socklen_t salen,
			   struct net_addr *a, uint16_t *port);

/* The canonical form of a (see above); a and out may be the same. */
void net_addr_canon(const struct net_addr *a, struct net_addr *out);

bool net_addr_equal(const struct net_addr *x, const struct net_addr *y);
void net_addr_format(const struct net_addr *a, char out[NET_ADDR_STRLEN]);

/* "ADDR/PREFIX" or a bare address (a full-length prefix).  Host bits set
 * below the prefix are an error ("10.1.0.0/8": did you mean 10.0.0.0/8?).
 * The result is canonical: ::ffff:10.0.0.0/104 becomes 10.0.0.0/8. */
int net_cidr_parse(const char *s, size_t len, struct net_cidr *c,
		   struct aj_err *e);

/* "CIDR[,CIDR...]" (spaces around commas allowed), as for
 * `serve --egress-allow-private`: a malloc'd array in *out (free() it),
 * count in *n.  At most 256 ranges; errors name the bad one. */
int net_cidr_list_parse(const char *s, struct net_cidr **out, size_t *n,
			struct aj_err *e);

/* Does c contain a?  Both canonical; families must match. */
bool net_cidr_contains(const struct net_cidr *c, const struct net_addr *a);
/* Does outer contain every address of inner? */
bool net_cidr_covers(const struct net_cidr *outer, const struct net_cidr *inner);
/* "10.0.0.0/8"; a full-length prefix is written as the bare address. */
void net_cidr_format(const struct net_cidr *c, char out[NET_CIDR_STRLEN]);

#endif
