#include "util/parse.h"

#include <ctype.h>
#include <string.h>

/* Parse "<digits>[.<digits>]" into an integer part and a fraction scaled to
 * 1e9, advancing *p.  Returns -1 if there are no digits or on overflow. */
static int parse_decimal(const char **p, uint64_t *whole, uint64_t *frac_1e9)
{
	const char *s = *p;
	uint64_t w = 0, f = 0, scale = 100000000;
	int digits = 0;

	while (isdigit((unsigned char)*s)) {
		unsigned d = (unsigned)(*s - '0');
		if (w > (UINT64_MAX - d) / 10)
			return -1;
		w = w * 10 + d;
		s++;
		digits++;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			f += (uint64_t)(*s - '0') * scale;
			scale /= 10;
			s++;
			digits++;
		}
	}
	if (digits == 0)
		return -1;
	*p = s;
	*whole = w;
	*frac_1e9 = f;
	return 0;
}

/* whole.frac * mult, with overflow checks. */
static int scale_value(uint64_t whole, uint64_t frac_1e9, uint64_t mult,
		       uint64_t *out)
{
	if (mult != 0 && whole > UINT64_MAX / mult)
		return -1;
	uint64_t v = whole * mult;
	uint64_t add = (uint64_t)(((unsigned __int128)frac_1e9 * mult) / 1000000000u);
	if (v > UINT64_MAX - add)
		return -1;
	*out = v + add;
	return 0;
}

int aj_parse_size(const char *s, uint64_t *out, struct aj_err *e)
{
	const char *p = s;
	uint64_t whole, frac, mult = 1;

	if (!s || parse_decimal(&p, &whole, &frac) < 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "invalid size '%s' (expected e.g. 512M, 1G)",
				  s ? s : "");
	switch (toupper((unsigned char)*p)) {
	case '\0': break;
	case 'K': mult = 1ULL << 10; p++; break;
	case 'M': mult = 1ULL << 20; p++; break;
	case 'G': mult = 1ULL << 30; p++; break;
	case 'T': mult = 1ULL << 40; p++; break;
	case 'B': break;
	default:
		return aj_err_set(e, AJ_EINVAL, 0, "invalid size '%s': unknown unit", s);
	}
	if (mult > 1 && (*p == 'i' || *p == 'I'))
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return aj_err_set(e, AJ_EINVAL, 0, "invalid size '%s': trailing characters", s);
	if (mult == 1 && frac != 0)
		return aj_err_set(e, AJ_EINVAL, 0, "invalid size '%s': fractional bytes", s);
	if (scale_value(whole, frac, mult, out) < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "size '%s' is too large", s);
	return 0;
}

int aj_parse_duration_ms(const char *s, uint64_t *out, struct aj_err *e)
{
	const char *p = s;
	uint64_t whole, frac, mult;

	if (!s || parse_decimal(&p, &whole, &frac) < 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "invalid duration '%s' (expected e.g. 30s, 500ms, 5m)",
				  s ? s : "");
	if (strcmp(p, "") == 0 || strcmp(p, "s") == 0)
		mult = 1000;
	else if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		mult = 3600 * 1000;
	else
		return aj_err_set(e, AJ_EINVAL, 0, "invalid duration '%s': unknown unit", s);
	if (scale_value(whole, frac, mult, out) < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "duration '%s' is too large", s);
	return 0;
}

int aj_parse_cpus(const char *s, uint32_t *millis, struct aj_err *e)
{
	const char *p = s;
	uint64_t whole, frac, v;

	if (!s || parse_decimal(&p, &whole, &frac) < 0 || *p != '\0')
		return aj_err_set(e, AJ_EINVAL, 0,
				  "invalid CPU count '%s' (expected e.g. 1, 0.5)",
				  s ? s : "");
	if (scale_value(whole, frac, 1000, &v) < 0 || v > 1024 * 1000)
		return aj_err_set(e, AJ_EINVAL, 0, "CPU count '%s' is too large", s);
	if (v == 0)
		return aj_err_set(e, AJ_EINVAL, 0, "CPU count '%s' must be above 0.001", s);
	*millis = (uint32_t)v;
	return 0;
}

int aj_parse_uint(const char *s, uint64_t max, uint64_t *out, struct aj_err *e)
{
	const char *p = s;
	uint64_t v = 0;

	if (!s || !isdigit((unsigned char)*p))
		return aj_err_set(e, AJ_EINVAL, 0, "invalid number '%s'", s ? s : "");
	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return aj_err_set(e, AJ_EINVAL, 0, "number '%s' is too large", s);
		v = v * 10 + d;
		p++;
	}
	if (*p != '\0')
		return aj_err_set(e, AJ_EINVAL, 0, "invalid number '%s'", s);
	if (v > max)
		return aj_err_set(e, AJ_EINVAL, 0, "number '%s' is above the maximum %llu",
				  s, (unsigned long long)max);
	*out = v;
	return 0;
}
