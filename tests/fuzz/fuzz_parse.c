/* fuzz_parse.c - libFuzzer harness: the size, duration, CPU and integer
 * parsers of src/util/parse.c (command-line options of `agentjail run`
 * and `serve`).  The input is one NUL-terminated string.  Besides "no
 * crash, no sanitizer report": a success fills the output, a failure
 * leaves a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct aj_err e = { 0 };
	uint64_t v;
	uint32_t m;
	if (aj_parse_size(s, &v, &e) < 0 && !e.msg[0])
		abort();
	e.msg[0] = '\0';
	if (aj_parse_duration_ms(s, &v, &e) < 0 && !e.msg[0])
		abort();
	e.msg[0] = '\0';
	if (aj_parse_cpus(s, &m, &e) < 0 && !e.msg[0])
		abort();
	e.msg[0] = '\0';
	if (aj_parse_uint(s, 1000, &v, &e) == 0 && v > 1000)
		abort();
	free(s);
	return 0;
}
