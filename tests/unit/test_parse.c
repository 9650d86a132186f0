/* Unit tests for the size, duration and CPU parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/parse.h"

static void sizes(void **state)
{
	(void)state;
	uint64_t v;
	struct aj_err e;
	assert_int_equal(aj_parse_size("4096", &v, &e), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(aj_parse_size("64k", &v, &e), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(aj_parse_size("512M", &v, &e), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(aj_parse_size("1G", &v, &e), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(aj_parse_size("1.5G", &v, &e), 0);
	assert_int_equal(v, 3ULL << 29);
	assert_int_equal(aj_parse_size("10MiB", &v, &e), 0);
	assert_int_equal(v, 10ULL << 20);
	assert_int_equal(aj_parse_size("2T", &v, &e), 0);
	assert_int_equal(v, 2ULL << 40);
}

static void bad_sizes(void **state)
{
	(void)state;
	uint64_t v = 7;
	struct aj_err e;
	const char *bad[] = { "", "M", "-1", "12Q", "1.5", "1G2", " 1G",
			      "99999999999999999999", "20000000000T", NULL };
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(aj_parse_size(bad[i], &v, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
	}
	assert_int_equal(v, 7);
}

static void durations(void **state)
{
	(void)state;
	uint64_t v;
	struct aj_err e;
	assert_int_equal(aj_parse_duration_ms("30", &v, &e), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(aj_parse_duration_ms("30s", &v, &e), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(aj_parse_duration_ms("250ms", &v, &e), 0);
	assert_int_equal(v, 250);
	assert_int_equal(aj_parse_duration_ms("1.5s", &v, &e), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(aj_parse_duration_ms("5m", &v, &e), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(aj_parse_duration_ms("2h", &v, &e), 0);
	assert_int_equal(v, 7200000);
	assert_int_equal(aj_parse_duration_ms("5d", &v, &e), -1);
	assert_int_equal(aj_parse_duration_ms("s", &v, &e), -1);
	assert_int_equal(aj_parse_duration_ms("-3s", &v, &e), -1);
}

static void cpus(void **state)
{
	(void)state;
	uint32_t m;
	struct aj_err e;
	assert_int_equal(aj_parse_cpus("1", &m, &e), 0);
	assert_int_equal(m, 1000);
	assert_int_equal(aj_parse_cpus("1.0", &m, &e), 0);
	assert_int_equal(m, 1000);
	assert_int_equal(aj_parse_cpus("0.25", &m, &e), 0);
	assert_int_equal(m, 250);
	assert_int_equal(aj_parse_cpus("0", &m, &e), -1);
	assert_int_equal(aj_parse_cpus("two", &m, &e), -1);
	assert_int_equal(aj_parse_cpus("1.5x", &m, &e), -1);
}

static void uints(void **state)
{
	(void)state;
	uint64_t v;
	struct aj_err e;
	assert_int_equal(aj_parse_uint("256", 1000, &v, &e), 0);
	assert_int_equal(v, 256);
	assert_int_equal(aj_parse_uint("1001", 1000, &v, &e), -1);
	assert_int_equal(aj_parse_uint("12a", 1000, &v, &e), -1);
	assert_int_equal(aj_parse_uint("", 1000, &v, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),     cmocka_unit_test(bad_sizes),
		cmocka_unit_test(durations), cmocka_unit_test(cpus),
		cmocka_unit_test(uints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
