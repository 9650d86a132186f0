#include "util/crypto.h"

#include <stdlib.h>
#include <string.h>

int aj_crypto_init(void)
{
	/* 0 = initialised now, 1 = already was, -1 = failure. */
	return sodium_init() < 0 ? -1 : 0;
}

void aj_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];

	/* A key made from a PRNG that could not be seeded would be
	 * guessable: refusing to continue is the only safe answer. */
	if (aj_crypto_init() < 0)
		abort();
	while (nbytes > 0) {
		size_t n = nbytes < sizeof(raw) ? nbytes : sizeof(raw);
		randombytes_buf(raw, n);
		sodium_bin2hex(out, 2 * n + 1, raw, n);
		out += 2 * n;
		nbytes -= n;
	}
	*out = '\0';
	sodium_memzero(raw, sizeof(raw));
}

void aj_random_bytes(void *out, size_t n)
{
	if (aj_crypto_init() < 0)
		abort();
	randombytes_buf(out, n);
}

void aj_mac_hex(const unsigned char key[AJ_MAC_KEY_LEN], const void *msg,
		size_t len, char *out, size_t nbytes)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	if (nbytes > sizeof(mac))
		nbytes = sizeof(mac);
	crypto_auth_hmacsha256(mac, msg, len, key);
	sodium_bin2hex(out, 2 * nbytes + 1, mac, nbytes);
	sodium_memzero(mac, sizeof(mac));
}

void aj_sha256_hex(const void *data, size_t len,
		   char out[AJ_SHA256_HEX_LEN + 1])
{
	struct aj_sha256 h;
	aj_sha256_init(&h);
	aj_sha256_update(&h, data, len);
	aj_sha256_final_hex(&h, out);
}

void aj_sha256_init(struct aj_sha256 *h)
{
	crypto_hash_sha256_init(&h->s);
}

void aj_sha256_update(struct aj_sha256 *h, const void *data, size_t len)
{
	crypto_hash_sha256_update(&h->s, data, len);
}

void aj_sha256_final_hex(struct aj_sha256 *h, char out[AJ_SHA256_HEX_LEN + 1])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&h->s, md);
	sodium_bin2hex(out, AJ_SHA256_HEX_LEN + 1, md, sizeof(md));
}

bool aj_ct_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

size_t aj_base64_encoded_size(size_t n)
{
	return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
}

char *aj_base64_encode(const void *in, size_t n, char *out)
{
	return sodium_bin2base64(out, aj_base64_encoded_size(n), in, n,
				 sodium_base64_VARIANT_ORIGINAL);
}

size_t aj_base64_decoded_max(size_t len)
{
	return (len + 3) / 4 * 3;
}

/* libsodium 1.0.18 maps some bytes >= 0x80 to base64 digits, so the
 * alphabet is checked here first. */
static bool in_alphabet(const char *s, size_t n)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || !strchr(digits, s[i]))
			return false;
	return true;
}

int aj_base64_decode(const char *in, size_t len, void *out, size_t cap,
		     size_t *outlen, struct aj_err *e)
{
	if (len % 4 != 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "invalid base64: length %zu is not a "
				  "multiple of 4", len);
	size_t pad = 0;
	while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
		pad++;
	if (!in_alphabet(in, len - pad))
		return aj_err_set(e, AJ_EINVAL, 0,
				  "invalid base64: unexpected character");
	if (cap < len / 4 * 3 - pad)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "base64: output buffer too small");
	/* No characters to ignore and a NULL end pointer: libsodium then
	 * checks the padding and the unused bits, and fails on anything but
	 * one complete, canonical encoding. */
	if (sodium_base642bin(out, cap, in, len, NULL, outlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return aj_err_set(e, AJ_EINVAL, 0, "invalid base64");
	return 0;
}
