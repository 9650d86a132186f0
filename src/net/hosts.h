/* hosts.h - the hosts-file format for `serve --egress-hosts FILE`: names
 * the egress resolver answers from before it asks DNS (how tests name
 * local servers, and how operators pin names).
 *
 *   # comment (from '#' to the end of the line, anywhere)
 *   ADDR NAME [ALIAS...]      fields separated by spaces or tabs
 *
 * ADDR is an IPv4 or IPv6 address in its strict form (net/addr.h; no
 * "%zone"); each NAME a host name (net/name.h; looked up case-insensitively,
 * trailing dot ignored).  A name on several lines gets every address, in
 * file order, duplicates dropped.  Unlike /etc/hosts, a bad line is an
 * error naming the line, not skipped: the operator should know.  Limits:
 * NET_HOSTS_MAX_BYTES of text, NET_HOSTS_MAX_ENTRIES name/address pairs. */
#ifndef AJ_NET_HOSTS_H
#define AJ_NET_HOSTS_H

#include <stddef.h>

#include "net/addr.h"
#include "util/err.h"

#define NET_HOSTS_MAX_BYTES (4u << 20)
#define NET_HOSTS_MAX_ENTRIES 100000

struct net_hosts;

/* Parse text[0..len) (need not be NUL-terminated). */
int net_hosts_parse(const char *text, size_t len, struct net_hosts **out,
		    struct aj_err *e);
/* Read and parse the file at path. */
int net_hosts_load(const char *path, struct net_hosts **out, struct aj_err *e);
void net_hosts_free(struct net_hosts *h);

/* The addresses of `name` (raw text: canonicalised here): fills out[0..max)
 * and returns how many there are in all (0: not in the file). */
size_t net_hosts_lookup(const struct net_hosts *h, const char *name,
			struct net_addr *out, size_t max);
/* Name/address pairs held. */
size_t net_hosts_count(const struct net_hosts *h);

#endif
