/* parse.h - strict parsers for the numbers users type: sizes, durations,
 * CPU counts.  They reject trailing junk, negatives and overflow. */
#ifndef AJ_UTIL_PARSE_H
#define AJ_UTIL_PARSE_H

#include <stdint.h>

#include "util/err.h"

/* "4096", "64k", "512M", "1G", "1.5G", "2T", "10MiB", "10MB".
 * Binary multiples: K = 1024.  Fractions are allowed with a suffix. */
int aj_parse_size(const char *s, uint64_t *out, struct aj_err *e);

/* "30" (seconds), "250ms", "30s", "5m", "2h".  Result in milliseconds. */
int aj_parse_duration_ms(const char *s, uint64_t *out, struct aj_err *e);

/* "1", "0.5", "2.25": CPUs as thousandths of a CPU (1.0 -> 1000). */
int aj_parse_cpus(const char *s, uint32_t *millis, struct aj_err *e);

/* Plain non-negative decimal integer in [0, max]. */
int aj_parse_uint(const char *s, uint64_t max, uint64_t *out,
		  struct aj_err *e);

#endif
