/* Unit tests for the streaming multipart/form-data parser of E2B uploads
 * (src/e2b/multipart.c): parts whole or cut anywhere, the header block
 * and padding limits, and the bytes it holds back between feeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "e2b/internal.h"

/* What the callbacks saw: "name=data;" per part. */
struct seen {
	struct aj_buf log;
};

static int on_begin(void *ctx, const char *filename, struct aj_err *e)
{
	struct seen *s = ctx;
	if (!filename)
		return aj_err_set(e, AJ_EINVAL, 0, "no filename");
	aj_buf_append(&s->log, filename, strlen(filename));
	aj_buf_append(&s->log, "=", 1);
	return 0;
}

static int on_data(void *ctx, const char *p, size_t n, struct aj_err *e)
{
	struct seen *s = ctx;
	(void)e;
	aj_buf_append(&s->log, p, n);
	return 0;
}

static int on_end(void *ctx, struct aj_err *e)
{
	struct seen *s = ctx;
	(void)e;
	aj_buf_append(&s->log, ";", 1);
	return 0;
}

static const struct mp_callbacks cbs = { on_begin, on_data, on_end };

#define CT "multipart/form-data; boundary=XyZ"
#define PART(name, data) \
	"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" name \
	"\"\r\nContent-Type: application/octet-stream\r\n\r\n" data "\r\n"

/* Parse body fed in chunks of step bytes (0: at once); 0 or -1, and the
 * log in *log (malloc'd), the error in e. */
static int parse(const char *body, size_t len, size_t step, char **log, struct aj_err *e)
{
	struct seen s = { 0 };
	struct mp_parser *p = mp_new(CT, &cbs, &s, e);
	assert_non_null(p);
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0;) {
		size_t n = step && step < len - off ? step : len - off;
		rc = mp_feed(p, body + off, n, e);
		off += n;
	}
	if (rc == 0)
		rc = mp_finish(p, e);
	mp_free(p);
	*log = aj_buf_steal(&s.log);
	return rc;
}

static void parts_cut_anywhere(void **state)
{
	(void)state;
	static const char body[] = "preamble\r\n" PART("a.txt", "A\r\n--Xy\r\n-XyZ--xyz")
		PART("b %22c%22.txt", "") PART("bin", "\r\n\r\n") "--XyZ--\r\nepilogue";
	for (size_t step = 0; step < 40; step++) {
		char *log;
		struct aj_err e = { 0 };
		assert_int_equal(parse(body, sizeof(body) - 1, step, &log, &e), 0);
		assert_string_equal(log, "a.txt=A\r\n--Xy\r\n-XyZ--xyz;b \"c\".txt=;bin=\r\n\r\n;");
		free(log);
	}
}

static void refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		PART("a", "no closing delimiter"),
		"--XyZjunk\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"nofile\"\r\n\r\nx\r\n--XyZ--",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *log;
		struct aj_err e = { 0 };
		assert_int_equal(parse(bad[i], strlen(bad[i]), 0, &log, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
		free(log);
	}
	struct aj_err e = { 0 };
	assert_null(mp_new("multipart/form-data", &cbs, NULL, &e));
	assert_int_equal(e.code, AJ_EINVAL);
}

/* The header block limit holds however the body is cut: before, a block
 * over it that came in one feed was taken. */
static void header_block_limit(void **state)
{
	(void)state;
	for (size_t pad = (16u << 10) - 200; pad < (16u << 10) + 200; pad += 100) {
		struct aj_buf b = { 0 };
		aj_buf_append(&b, "--XyZ\r\nX-Pad: ", 14);
		for (size_t i = 0; i < pad; i++)
			aj_buf_append(&b, "h", 1);
		/* the block: "X-Pad: " pad CRLF and the disposition line */
		const char *cd = "\r\nContent-Disposition: form-data; filename=\"f\"";
		size_t block = 7 + pad + strlen(cd);
		aj_buf_append(&b, cd, strlen(cd));
		aj_buf_append(&b, "\r\n\r\nF\r\n--XyZ--", 14);
		int want = block <= (16u << 10) ? 0 : -1;
		for (size_t step = 0; step <= 4096; step = step ? step * 8 : 1) {
			char *log;
			struct aj_err e = { 0 };
			assert_int_equal(parse(b.data, b.len, step, &log, &e), want);
			if (want == 0)
				assert_string_equal(log, "f=F;");
			else
				assert_string_equal(e.msg, "multipart part headers too long");
			free(log);
		}
		aj_buf_free(&b);
	}
}

/* Transport padding after a delimiter is bounded: before, any amount was
 * held, so a client could make the server hold all it cared to send. */
static void padding_is_bounded(void **state)
{
	(void)state;
	static const char rest[] = "\t\r\nContent-Disposition: form-data; filename=\"p\"\r\n\r\n"
				   "P\r\n--XyZ  \t--";
	char spaces[1100];
	memset(spaces, ' ', sizeof(spaces));
	for (size_t pad = 1023; pad <= 1024; pad++) { /* and rest's tab */
		struct aj_buf b = { 0 };
		aj_buf_append(&b, "--XyZ", 5);
		aj_buf_append(&b, spaces, pad);
		aj_buf_append(&b, rest, sizeof(rest) - 1);
		for (size_t step = 0; step <= 4096; step = step ? step * 8 : 1) {
			char *log;
			struct aj_err e = { 0 };
			int rc = parse(b.data, b.len, step, &log, &e);
			if (pad == 1023) {
				assert_int_equal(rc, 0);
				assert_string_equal(log, "p=P;");
			} else {
				assert_int_equal(rc, -1);
				assert_string_equal(e.msg, "multipart delimiter padding over 1024 bytes");
			}
			free(log);
		}
		aj_buf_free(&b);
	}
	struct seen s = { 0 };
	struct aj_err e = { 0 };
	struct mp_parser *p = mp_new(CT, &cbs, &s, &e);
	assert_non_null(p);
	assert_int_equal(mp_feed(p, "--XyZ", 5, &e), 0);
	int rc = 0;
	for (int i = 0; i < 4096 && rc == 0; i++) {
		rc = mp_feed(p, spaces, 256, &e);
		if (rc == 0)
			assert_true(mp_held(p) <= MP_MAX_HELD);
	}
	assert_int_equal(rc, -1);
	assert_int_equal(e.code, AJ_EINVAL);
	mp_free(p);
	aj_buf_free(&s.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parts_cut_anywhere),
		cmocka_unit_test(refused),
		cmocka_unit_test(header_block_limit),
		cmocka_unit_test(padding_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
