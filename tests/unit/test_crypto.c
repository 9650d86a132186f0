/* Unit tests for the crypto helpers: known SHA-256 and base64 vectors,
 * strict base64 decoding, random hex and constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"

static void sha256_vectors(void **state)
{
	(void)state;
	char hex[AJ_SHA256_HEX_LEN + 1];
	/* FIPS 180-2 examples and the empty string. */
	aj_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
				 "27ae41e4649b934ca495991b7852b855");
	aj_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	aj_sha256_hex(two, strlen(two), hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
				 "a33ce45964ff2167f6ecedd419db06c1");
}

static void sha256_incremental(void **state)
{
	(void)state;
	char hex[AJ_SHA256_HEX_LEN + 1];
	char chunk[1000];
	memset(chunk, 'a', sizeof(chunk));
	struct aj_sha256 h;
	aj_sha256_init(&h);
	for (int i = 0; i < 1000; i++)
		aj_sha256_update(&h, chunk, sizeof(chunk));
	aj_sha256_final_hex(&h, hex);
	/* One million 'a' (FIPS 180-2, third example). */
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
				 "f1809a48a497200e046d39ccc7112cd0");

	/* Split updates give the one-shot result. */
	char one[AJ_SHA256_HEX_LEN + 1];
	aj_sha256_hex("abc", 3, one);
	aj_sha256_init(&h);
	aj_sha256_update(&h, "a", 1);
	aj_sha256_update(&h, "", 0);
	aj_sha256_update(&h, "bc", 2);
	aj_sha256_final_hex(&h, hex);
	assert_string_equal(hex, one);
}

/* RFC 4231 test case 2: a key shorter than the block is zero-padded, so
 * "Jefe" and "Jefe" + 28 zero bytes are the same HMAC key. */
static void mac_vector(void **state)
{
	(void)state;
	unsigned char key[AJ_MAC_KEY_LEN] = { 'J', 'e', 'f', 'e' };
	const char *msg = "what do ya want for nothing?";
	char hex[65];
	aj_mac_hex(key, msg, strlen(msg), hex, 32);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
				 "5a003f089d2739839dec58b964ec3843");
	aj_mac_hex(key, msg, strlen(msg), hex, 20);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f08");
}

static void random_hex(void **state)
{
	(void)state;
	assert_int_equal(aj_crypto_init(), 0);
	assert_int_equal(aj_crypto_init(), 0); /* idempotent */
	char a[201], b[201];
	memset(a, 'X', sizeof(a));
	aj_random_hex(a, 100); /* more than one internal chunk */
	assert_int_equal(strlen(a), 200);
	assert_int_equal(strspn(a, "0123456789abcdef"), 200);
	aj_random_hex(b, 100);
	assert_string_not_equal(a, b);
	aj_random_hex(a, 0);
	assert_string_equal(a, "");
	aj_random_hex(a, 20);
	assert_int_equal(strlen(a), 40);
}

static void ct_equal(void **state)
{
	(void)state;
	assert_true(aj_ct_equal("abcdef", "abcdef", 6));
	assert_false(aj_ct_equal("abcdef", "Xbcdef", 6));
	assert_false(aj_ct_equal("abcdef", "abcdeX", 6));
	assert_true(aj_ct_equal("abcdef", "abcXXX", 3));
	assert_true(aj_ct_equal("", "", 0));
}

struct b64 {
	const char *raw;
	size_t len;
	const char *enc;
};

static const struct b64 vectors[] = {
	/* RFC 4648 section 10 */
	{ "", 0, "" },
	{ "f", 1, "Zg==" },
	{ "fo", 2, "Zm8=" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg==" },
	{ "fooba", 5, "Zm9vYmE=" },
	{ "foobar", 6, "Zm9vYmFy" },
	/* the two characters the URL-safe alphabet changes, and a NUL */
	{ "\xfb\xff\xbf", 3, "+/+/" },
	{ "\0\0", 2, "AAA=" },
};

static void base64_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct b64 *v = &vectors[i];
		char enc[32];
		assert_int_equal(aj_base64_encoded_size(v->len),
				 strlen(v->enc) + 1);
		assert_ptr_equal(aj_base64_encode(v->raw, v->len, enc), enc);
		assert_string_equal(enc, v->enc);

		unsigned char dec[16];
		size_t n = 99;
		struct aj_err e;
		assert_true(aj_base64_decoded_max(strlen(v->enc)) >= v->len);
		assert_int_equal(aj_base64_decode(v->enc, strlen(v->enc), dec,
						  sizeof(dec), &n, &e), 0);
		assert_int_equal(n, v->len);
		assert_memory_equal(dec, v->raw, v->len);
	}
}

static void base64_rejects(void **state)
{
	(void)state;
	const char *bad[] = {
		"Zg=",      /* short */
		"Zg",       /* padding missing */
		"Zm9vYg",   /* padding missing */
		"Zh==",     /* unused bits set */
		"Zm9=",     /* unused bits set */
		"Zm9v\n",   /* whitespace */
		" Zm9",     /* whitespace */
		"Zm9v====", /* padding alone */
		"Zg==Zg==", /* data after padding */
		"Zm-v",     /* URL-safe alphabet */
		"Zm_v",
		"=Zm9",
		"Z===",
		"Zm9vYg=a",
		"Zm9v\x80\x80\x80\x80", /* bytes libsodium 1.0.18 accepts */
		"\xbf\xff\xfe\xc0",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		unsigned char out[16];
		size_t n = 0;
		struct aj_err e = { 0 };
		assert_int_equal(aj_base64_decode(bad[i], strlen(bad[i]), out,
						  sizeof(out), &n, &e), -1);
		assert_int_equal(e.code, AJ_EINVAL);
	}
	/* The length given is what is decoded: an embedded NUL is junk. */
	unsigned char out[16];
	size_t n;
	struct aj_err e;
	assert_int_equal(aj_base64_decode("Zm9v\0AAA", 8, out, sizeof(out), &n,
					  &e), -1);
	/* Too small an output buffer is an error, not an overflow. */
	assert_int_equal(aj_base64_decode("Zm9vYmFy", 8, out, 5, &n, &e), -1);
	assert_int_equal(e.code, AJ_EINVAL);
	assert_int_equal(aj_base64_decode("Zm9vYmE=", 8, out, 5, &n, &e), 0);
	assert_int_equal(n, 5);
}

static void base64_roundtrip(void **state)
{
	(void)state;
	unsigned char raw[300];
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(raw); len += 37) {
		char *enc = malloc(aj_base64_encoded_size(len));
		assert_non_null(enc);
		aj_base64_encode(raw, len, enc);
		assert_int_equal(strlen(enc) % 4, 0);
		unsigned char back[300];
		size_t n;
		struct aj_err e;
		assert_int_equal(aj_base64_decode(enc, strlen(enc), back,
						  sizeof(back), &n, &e), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, raw, len);
		free(enc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_vectors),
		cmocka_unit_test(sha256_incremental),
		cmocka_unit_test(mac_vector),
		cmocka_unit_test(random_hex),
		cmocka_unit_test(ct_equal),
		cmocka_unit_test(base64_vectors),
		cmocka_unit_test(base64_rejects),
		cmocka_unit_test(base64_roundtrip),
	};
	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
