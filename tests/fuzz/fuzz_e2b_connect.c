/* fuzz_e2b_connect.c - libFuzzer harness: the body of an E2B Connect
 * server-stream request (process.Process/Start and Connect, filesystem
 * WatchDir) as cn_envelope_message reads it: one envelope, a flag byte,
 * a 4-byte big-endian length, a JSON object.  Checks that an accepted
 * body is exactly one envelope without flags holding an object, that
 * the object framed again (cn_frame) reads back equal, and that a refusal
 * is an invalid_argument whose end-stream frame (cn_end_frame, what the
 * client is answered) is one well-formed envelope, as is the end-stream
 * frame of the input taken as a message.  Seeds: the SDK's own requests,
 * captured by tests/e2b/capture.mjs, and hand-made edge cases. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2b/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t be32(const uint8_t *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

/* b is exactly one end-stream envelope of {"error":{code,message}}, or
 * of {} when code is NULL. */
static void check_end_frame(const struct aj_buf *b, const char *code)
{
	if (b->len < 5 || (uint8_t)b->data[0] != 0x02 ||
	    be32((const uint8_t *)b->data + 1) != b->len - 5)
		abort();
	json_t *o = json_loadb(b->data + 5, b->len - 5, JSON_REJECT_DUPLICATES, NULL);
	json_t *err = json_object_get(o, "error");
	if (!json_is_object(o) || (code ? json_object_size(o) != 1 || !err
				       : json_object_size(o) != 0))
		abort();
	if (code && (strcmp(json_string_value(json_object_get(err, "code")), code) != 0 ||
		     !json_is_string(json_object_get(err, "message"))))
		abort();
	json_decref(o);
}

static void end_frame(const char *code, const char *msg)
{
	struct aj_buf b = { 0 };
	if (cn_end_frame(&b, code, msg) == 0)
		check_end_frame(&b, code);
	aj_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *msg = (json_t *)1;
	struct aj_err e = { 0 };
	if (cn_envelope_message((const char *)data, size, &msg, &e) < 0) {
		if (msg || e.code != AJ_EINVAL || !e.msg[0])
			abort();
		/* as cn_reply_stream_error answers it */
		end_frame(cn_code(e.code), e.msg);
	} else {
		if (!json_is_object(msg) || size < 5 || data[0] != 0 ||
		    be32(data + 1) != size - 5)
			abort();
		struct aj_buf b = { 0 };
		json_t *again = NULL;
		if (cn_frame(&b, json_incref(msg)) == 0) {
			if (cn_envelope_message(b.data, b.len, &again, &e) < 0 ||
			    !json_equal(msg, again))
				abort();
		}
		json_decref(again);
		aj_buf_free(&b);
		json_decref(msg);
	}
	/* the input as the message of an error, and the clean end */
	char *s = strndup((const char *)data, size);
	if (s)
		end_frame("invalid_argument", s);
	free(s);
	end_frame(NULL, NULL);
	return 0;
}
