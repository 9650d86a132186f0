/* reserved.c - the always-denied address ranges (see reserved.h). */
#include "net/reserved.h"

#include <netinet/in.h>

#define V4(a, b, c, d, p) { { AF_INET, { a, b, c, d } }, p }
#define V6(p, ...) { { AF_INET6, { __VA_ARGS__ } }, p }

static const struct {
	struct net_cidr range;
	const char *what;
} reserved[] = {
	{ V4(0, 0, 0, 0, 8), "this network 0.0.0.0/8" },
	{ V4(10, 0, 0, 0, 8), "private 10.0.0.0/8" },
	{ V4(100, 64, 0, 0, 10), "shared (CGNAT) 100.64.0.0/10" },
	{ V4(127, 0, 0, 0, 8), "loopback 127.0.0.0/8" },
	{ V4(169, 254, 0, 0, 16), "link-local (cloud metadata) 169.254.0.0/16" },
	{ V4(172, 16, 0, 0, 12), "private 172.16.0.0/12" },
	{ V4(192, 0, 0, 0, 24), "IETF protocol assignments 192.0.0.0/24" },
	{ V4(192, 0, 2, 0, 24), "documentation 192.0.2.0/24" },
	{ V4(192, 88, 99, 0, 24), "6to4 relay 192.88.99.0/24" },
	{ V4(192, 168, 0, 0, 16), "private 192.168.0.0/16" },
	{ V4(198, 18, 0, 0, 15), "benchmarking 198.18.0.0/15" },
	{ V4(198, 51, 100, 0, 24), "documentation 198.51.100.0/24" },
	{ V4(203, 0, 113, 0, 24), "documentation 203.0.113.0/24" },
	{ V4(224, 0, 0, 0, 4), "multicast 224.0.0.0/4" },
	{ V4(240, 0, 0, 0, 4), "reserved and broadcast 240.0.0.0/4" },
	{ V6(128, [15] = 1), "loopback ::1" },
	{ V6(128, 0), "unspecified ::" },
	{ V6(48, 0, 0x64, 0xff, 0x9b, 0, 1), "local-use NAT64 64:ff9b:1::/48" },
	{ V6(8, 0), "reserved ::/8" },
	{ V6(64, 0x01, 0x00), "discard 100::/64" },
	{ V6(32, 0x20, 0x01, 0x0d, 0xb8), "documentation 2001:db8::/32" },
	{ V6(32, 0x20, 0x01), "Teredo 2001::/32" },
	{ V6(16, 0x20, 0x02), "6to4 2002::/16" },
	{ V6(20, 0x3f, 0xff), "documentation 3fff::/20" },
	{ V6(7, 0xfc), "unique local fc00::/7" },
	{ V6(10, 0xfe, 0x80), "link-local fe80::/10" },
	{ V6(10, 0xfe, 0xc0), "site-local fec0::/10" },
	{ V6(8, 0xff), "multicast ff00::/8" },
};

const char *net_reserved(const struct net_addr *a, struct net_cidr *range)
{
	struct net_addr c;
	net_addr_canon(a, &c);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (net_cidr_contains(&reserved[i].range, &c)) {
			if (range)
				*range = reserved[i].range;
			return reserved[i].what;
		}
	return NULL;
}
