/* origin.c - Origin and Host checks against DNS rebinding: a web page on
 * evil.example whose name resolves to 127.0.0.1 must not reach a local
 * server.  Browsers always send Origin on such requests and the Host
 * header carries the attacker's name, so either check stops it. */
#include "mcp/origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Copy the host part of "host", "host:port", "[v6]" or "[v6]:port" into
 * out (brackets kept for IPv6); false if malformed or too long. */
static bool host_part(const char *s, size_t len, char *out, size_t n)
{
	size_t end;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return false;
		end = (size_t)(close - s) + 1;
		if (end < len && s[end] != ':')
			return false;
	} else {
		const char *colon = memchr(s, ':', len);
		end = colon ? (size_t)(colon - s) : len;
	}
	if (end == 0 || end >= n)
		return false;
	memcpy(out, s, end);
	out[end] = '\0';
	return true;
}

static bool same_host(const char *a, const char *listen)
{
	if (!listen || !*listen)
		return false;
	if (strcasecmp(a, listen) == 0)
		return true;
	/* the listen host is given bare ("::1"); headers bracket IPv6 */
	size_t n = strlen(listen);
	size_t an = strlen(a);
	return an == n + 2 && a[0] == '[' && a[an - 1] == ']' &&
	       strncasecmp(a + 1, listen, n) == 0;
}

static bool local_name(const char *h)
{
	return strcasecmp(h, "localhost") == 0 || strcmp(h, "127.0.0.1") == 0 ||
	       strcmp(h, "[::1]") == 0;
}

static bool wildcard(const char *listen)
{
	return !listen || !*listen || strcmp(listen, "0.0.0.0") == 0 ||
	       strcmp(listen, "::") == 0;
}

bool mcp_host_is_loopback(const char *listen)
{
	return listen && (strncmp(listen, "127.", 4) == 0 ||
			  strcmp(listen, "::1") == 0 ||
			  strcasecmp(listen, "localhost") == 0);
}

static bool host_ok(const char *h, const char *listen)
{
	return local_name(h) || (!wildcard(listen) && same_host(h, listen));
}

bool mcp_origin_allowed(const char *origin, const char *listen)
{
	const char *rest;
	char host[256];
	if (!origin)
		return false;
	if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return false; /* includes "null" (sandboxed frames, file:) */
	size_t len = strcspn(rest, "/");
	if (rest[len] == '/' && rest[len + 1] != '\0')
		return false; /* an Origin has no path */
	return host_part(rest, len, host, sizeof(host)) && host_ok(host, listen);
}

bool mcp_host_allowed(const char *hosthdr, const char *listen)
{
	char host[256];
	return hosthdr && host_part(hosthdr, strlen(hosthdr), host, sizeof(host)) &&
	       host_ok(host, listen);
}
