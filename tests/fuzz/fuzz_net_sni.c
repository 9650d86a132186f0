/* fuzz_net_sni.c - libFuzzer harness: the TLS ClientHello reader
 * (src/net/sni.c) on the first bytes a sandboxed client sends through the
 * egress listener.  Besides "no crash, no sanitizer report": a name found
 * is canonical; an answer other than NEED_MORE for a prefix of the input
 * is the same answer (and name) for the whole input, since more bytes
 * never change a decision already made. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sni_info all, part;
	struct aj_err e = { 0 };
	enum sni_result r = sni_parse(data, size, &all, &e);
	if (r == SNI_FOUND) {
		char again[NET_NAME_MAX + 1];
		if (net_name_normalize(all.name, strlen(all.name), again, &e) < 0 ||
		    strcmp(again, all.name) != 0)
			abort();
	}
	if ((r == SNI_FOUND || r == SNI_ABSENT) && (all.hello_end > size || all.hello_end < 9))
		abort();
	if (r != SNI_FOUND && all.name[0])
		abort();
	if ((r == SNI_NOT_TLS || r == SNI_INVALID || r == SNI_TOO_LARGE) && !e.msg[0])
		abort();
	size_t cuts[] = { size / 2, size / 3, size > 5 ? size - 5 : 0 };
	for (size_t i = 0; i < 3; i++) {
		enum sni_result p = sni_parse(data, cuts[i], &part, &e);
		if (p == SNI_NEED_MORE)
			continue;
		if (p != r || strcmp(part.name, all.name) != 0)
			abort();
	}
	return 0;
}
