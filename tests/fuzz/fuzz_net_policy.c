/* fuzz_net_policy.c - libFuzzer harness: egress policy entries and the
 * decisions (src/net/policy*.c, addr.c, name.c, reserved.c), on the
 * strings a caller puts in allow_out / deny_out.  Each input line is one
 * entry.  Besides "no crash, no sanitizer report": an entry's canonical
 * text reads back as the same entry; a policy is within itself; a name or
 * address an allow entry names is allowed by an allow policy of those
 * entries unless reserved; and deny always beats allow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/policy.h"
#include "net/reserved.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXL 64

static void roundtrip(const char *s)
{
	struct net_entry a, b;
	struct aj_err e = { 0 };
	if (net_entry_parse(s, &a, &e) < 0) {
		if (!e.msg[0])
			abort();
		return;
	}
	char t[NET_ENTRY_STRLEN];
	net_entry_format(&a, t);
	if (net_entry_parse(t, &b, &e) < 0 || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
}

/* Every entry of p names something p allows, and the same policy with
 * all of them denied allows none of it. */
static void decisions(const struct net_policy *p, const struct net_policy *d)
{
	for (size_t i = 0; i < p->nallow; i++) {
		const struct net_entry *en = &p->allow[i];
		struct net_verdict v, w;
		uint16_t port = en->port ? en->port : 443;
		if (en->kind == NET_ENTRY_CIDR) {
			net_check_addr(p, NULL, NULL, &en->cidr.addr, port, &v);
			net_check_addr(d, NULL, NULL, &en->cidr.addr, port, &w);
			bool reserved = net_reserved(&en->cidr.addr, NULL) != NULL;
			if (v.allow == reserved || w.allow)
				abort();
			continue;
		}
		char name[NET_NAME_MAX + 3];
		strcpy(name, en->kind == NET_ENTRY_WILDCARD ? "x." : "");
		strcat(name, en->name);
		if (strlen(name) > NET_NAME_MAX)
			continue;
		net_check_name(p, name, port, &v);
		net_check_name(d, name, port, &w);
		if (!v.allow || w.allow || w.reason != NET_R_DENY_ENTRY)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *lines[MAXL];
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	size_t n = 0;
	for (char *s = text, *nl; n < MAXL && s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		lines[n++] = s;
		roundtrip(s);
	}
	struct net_policy p, d, c;
	struct aj_err e = { 0 };
	if (net_policy_parse(NET_MODE_ALLOW, (const char *const *)lines, n, NULL, 0, &p, &e) == 0) {
		if (net_policy_parse(NET_MODE_ALLOW, (const char *const *)lines, n,
				     (const char *const *)lines, n, &d, &e) < 0)
			abort();
		if (net_policy_within(&p, &p, &e) < 0 || net_policy_clamp(&d, &p, &c, &e) < 0)
			abort();
		decisions(&p, &d);
		decisions(&p, &c);
		net_policy_free(&c);
		net_policy_free(&d);
		net_policy_free(&p);
	} else if (!e.msg[0]) {
		abort();
	}
	free(text);
	return 0;
}
