/* reserved.h - the address ranges no sandbox reaches unless the operator
 * says so (`serve --egress-allow-private`), whatever its policy says.
 *
 * They are the ranges that lead back into the host, its networks or
 * nowhere on the public internet (IANA special-purpose registries,
 * RFC 6890 and successors):
 *   IPv4  0/8 this network, 10/8, 172.16/12, 192.168/16 private (RFC 1918),
 *         100.64/10 shared (CGNAT), 127/8 loopback, 169.254/16 link-local
 *         (incl. cloud metadata 169.254.169.254), 192.0.0/24 IETF protocol
 *         assignments, 192.0.2/24, 198.51.100/24, 203.0.113/24
 *         documentation, 192.88.99/24 6to4 relay, 198.18/15 benchmarking,
 *         224/4 multicast, 240/4 reserved and 255.255.255.255 broadcast;
 *   IPv6  ::/8 (unspecified, loopback, IPv4-compatible and -translated;
 *         the NAT64 64:ff9b::/96 is judged as IPv4 first, see below),
 *         64:ff9b:1::/48 local-use NAT64, 100::/64 discard, 2001::/32
 *         Teredo and 2002::/16 6to4 (tunnels to an IPv4 address we could
 *         not judge), 2001:db8::/32 and 3fff::/20 documentation, fc00::/7
 *         unique local, fe80::/10 link-local, fec0::/10 site-local,
 *         ff00::/8 multicast.
 * IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses are
 * judged as the IPv4 address inside (net/addr.h), so ::ffff:127.0.0.1 is
 * loopback and 64:ff9b::a9fe:a9fe is the metadata address. */
#ifndef AJ_NET_RESERVED_H
#define AJ_NET_RESERVED_H

#include "net/addr.h"

/* NULL if a (any form) is in no reserved range, else what the range is:
 * "loopback 127.0.0.0/8".  *range (may be NULL) gets the range. */
const char *net_reserved(const struct net_addr *a, struct net_cidr *range);

#endif
