/* fuzz_net_hosts.c - libFuzzer harness: the hosts-file reader
 * (src/net/hosts.c) behind `serve --egress-hosts`.  The input is the
 * file.  Besides "no crash, no sanitizer report": a refusal says why and
 * which line; after a success every field of the text that is a valid
 * name looks up the same in any case, never more than the entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/hosts.h"
#include "net/name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(const struct net_hosts *h, const char *text, size_t size)
{
	size_t i = 0, looked = 0;
	while (i < size && looked < 64) {
		while (i < size && strchr(" \t\r\n#", text[i]))
			i++;
		size_t s = i;
		while (i < size && !strchr(" \t\r\n#", text[i]))
			i++;
		char name[300], canon[NET_NAME_MAX + 1], upper[NET_NAME_MAX + 1];
		if (i - s == 0 || i - s >= sizeof(name))
			continue;
		memcpy(name, text + s, i - s);
		name[i - s] = '\0';
		looked++;
		struct net_addr a[4], b[4];
		size_t n = net_hosts_lookup(h, name, a, 4);
		if (n > net_hosts_count(h))
			abort();
		if (net_name_normalize(name, strlen(name), canon, NULL) < 0) {
			if (n != 0)
				abort();
			continue;
		}
		for (size_t k = 0; canon[k]; k++)
			upper[k] = (canon[k] >= 'a' && canon[k] <= 'z') ? canon[k] - 32 : canon[k];
		upper[strlen(canon)] = '\0';
		if (net_hosts_lookup(h, upper, b, 4) != n ||
		    memcmp(a, b, (n < 4 ? n : 4) * sizeof(a[0])) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* for strchr in lookups only; parse gets size */
	struct net_hosts *h;
	struct aj_err e = { 0 };
	if (net_hosts_parse(text, size, &h, &e) == 0) {
		lookups(h, text, size);
		net_hosts_free(h);
	} else if (h || (e.code == AJ_EINVAL && strncmp(e.msg, "hosts line ", 11) != 0)) {
		abort();
	}
	free(text);
	return 0;
}
