/* fuzz_e2b_multipart.c - libFuzzer harness: an E2B upload (POST /files,
 * multipart/form-data) as the streaming parser of src/e2b/multipart.c
 * reads it.  The input is the Content-Type header value, a newline, then
 * the body.  The body is parsed three times: in one piece, one byte at a
 * time (small bodies) and in pseudo-random chunks; the callbacks must
 * come in order (begin, data..., end), each part's data must be bytes of
 * the body, and all three runs must give the same parts, the same
 * result and the same error, however the body was cut, and the parser
 * must never hold more than MP_MAX_HELD bytes between feeds.  As in the
 * product (files_http.c), a part without a filename is refused at its
 * start, and here a filename starting with '!' fails at the part's end.
 * Seeds: the SDK's own uploads, captured by tests/e2b/capture.mjs, and
 * hand-made edge cases. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2b/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trace {
	struct aj_buf log;  /* what the callbacks saw, in order */
	struct aj_buf part; /* the data of the open part */
	const char *body;
	size_t body_len;
	char *name;         /* of the open part */
	bool open, failed;
};

static int on_begin(void *ctx, const char *filename, struct aj_err *e)
{
	struct trace *t = ctx;
	if (t->open || t->failed)
		abort();
	aj_buf_append(&t->log, "B", 1);
	if (!filename || !*filename) {
		t->failed = true;
		aj_buf_append(&t->log, "-", 2); /* with its NUL, as a name */
		return aj_err_set(e, AJ_EINVAL, 0, "a file part needs a filename");
	}
	aj_buf_append(&t->log, filename, strlen(filename) + 1);
	t->name = strdup(filename);
	t->open = true;
	return 0;
}

static int on_data(void *ctx, const char *p, size_t n, struct aj_err *e)
{
	struct trace *t = ctx;
	(void)e;
	if (!t->open || t->failed || n == 0)
		abort();
	aj_buf_append(&t->part, p, n);
	return 0;
}

static int on_end(void *ctx, struct aj_err *e)
{
	struct trace *t = ctx;
	if (!t->open || t->failed)
		abort();
	/* a part's data is bytes of the body, as they came */
	if (t->part.len && (t->part.len > t->body_len ||
			    !memmem(t->body, t->body_len, t->part.data, t->part.len)))
		abort();
	size_t n = t->part.len;
	aj_buf_append(&t->log, "E", 1);
	aj_buf_append(&t->log, &n, sizeof(n));
	aj_buf_append(&t->log, t->part.data, n);
	aj_buf_free(&t->part);
	t->open = false;
	bool fail = t->name[0] == '!';
	free(t->name);
	t->name = NULL;
	if (fail) {
		t->failed = true;
		return aj_err_set(e, AJ_EINTERNAL, 0, "the part's commit failed");
	}
	return 0;
}

static const struct mp_callbacks cbs = { on_begin, on_data, on_end };

/* Parse body in chunks (cut(i) gives the size of the i-th chunk, 0: all
 * at once) as files_http.c does: feed until an error, then finish.  The
 * trace's log ends with the result. */
static void run(const char *ct, const char *body, size_t len,
		size_t (*cut)(size_t i, void *arg), void *arg, struct aj_buf *out)
{
	struct trace t = { .body = body, .body_len = len };
	struct aj_err e = { 0 };
	struct mp_parser *p = mp_new(ct, &cbs, &t, &e);
	int rc = -1;
	if (p) {
		rc = 0;
		for (size_t off = 0, i = 0; off < len && rc == 0; i++) {
			size_t n = cut ? cut(i, arg) : len;
			if (n > len - off)
				n = len - off;
			rc = mp_feed(p, body + off, n, &e);
			if (rc == 0 && mp_held(p) > MP_MAX_HELD)
				abort(); /* it holds back no more than it says */
			off += n;
		}
		if (rc == 0)
			rc = mp_finish(p, &e) < 0 ? -2 : 0;
		mp_free(p);
	}
	if (rc < 0 && !e.msg[0])
		abort();
	if (t.open) { /* the data a part got before the body broke off */
		aj_buf_append(&t.log, "P", 1);
		aj_buf_append(&t.log, t.part.data, t.part.len);
	}
	aj_buf_append(&t.log, "R", 1);
	aj_buf_append(&t.log, &rc, sizeof(rc));
	aj_buf_append(&t.log, e.msg, strlen(e.msg));
	aj_buf_free(&t.part);
	free(t.name);
	*out = t.log;
}

static size_t one_byte(size_t i, void *arg)
{
	(void)i;
	(void)arg;
	return 1;
}

/* 1..64 bytes, from a xorshift seeded with a hash of the input: cuts that
 * fall inside delimiters, CRLFs and header blocks. */
static size_t random_cut(size_t i, void *arg)
{
	uint64_t *s = arg;
	(void)i;
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return 1 + (size_t)(*s % 64);
}

static void same(const struct aj_buf *a, const struct aj_buf *b)
{
	if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	size_t ctlen = nl ? (size_t)(nl - in) : size;
	char *ct = strndup(in, ctlen);
	if (!ct)
		return 0;
	const char *body = nl ? nl + 1 : in + size;
	size_t len = size - (size_t)(body - in);

	struct aj_buf whole, bytes, chunks;
	run(ct, body, len, NULL, NULL, &whole);
	if (len <= 4096) {
		run(ct, body, len, one_byte, NULL, &bytes);
		same(&whole, &bytes);
		aj_buf_free(&bytes);
	}
	uint64_t seed = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	seed |= 1;
	run(ct, body, len, random_cut, &seed, &chunks);
	same(&whole, &chunks);
	aj_buf_free(&chunks);
	aj_buf_free(&whole);
	free(ct);
	return 0;
}
