/* crypto.h - the few cryptographic helpers agentjail needs, on libsodium:
 * random hex tokens, HMAC-SHA-256, SHA-256 (one-shot and incremental),
 * constant-time comparison and standard base64 (RFC 4648 section 4,
 * padded: what Proto3 JSON and MCP use for bytes). */
#ifndef AJ_UTIL_CRYPTO_H
#define AJ_UTIL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include <sodium.h>

#include "util/err.h"

#define AJ_SHA256_HEX_LEN 64 /* plus the NUL: char out[65] */

/* Initialise libsodium: 0, or -1 if it cannot be.  Idempotent and
 * thread-safe; aj_random_hex calls it too, so calling it early is only a
 * way to fail early. */
int aj_crypto_init(void);

/* nbytes random bytes as lowercase hex: out must hold 2 * nbytes + 1. */
void aj_random_hex(char *out, size_t nbytes);

/* n random bytes (for keys that never leave the process). */
void aj_random_bytes(void *out, size_t n);

#define AJ_MAC_KEY_LEN 32
/* HMAC-SHA-256 of msg under key, its first nbytes (<= 32) as lowercase
 * hex: out must hold 2 * nbytes + 1. */
void aj_mac_hex(const unsigned char key[AJ_MAC_KEY_LEN], const void *msg,
		size_t len, char *out, size_t nbytes);

/* SHA-256 of data as 64 lowercase hex digits. */
void aj_sha256_hex(const void *data, size_t len,
		   char out[AJ_SHA256_HEX_LEN + 1]);

/* Incremental SHA-256, for hashing a record piece by piece. */
struct aj_sha256 {
	crypto_hash_sha256_state s;
};
void aj_sha256_init(struct aj_sha256 *h);
void aj_sha256_update(struct aj_sha256 *h, const void *data, size_t len);
void aj_sha256_final_hex(struct aj_sha256 *h, char out[AJ_SHA256_HEX_LEN + 1]);

/* true if the n bytes at a and b are equal; the time taken depends only
 * on n, never on where they differ. */
bool aj_ct_equal(const void *a, const void *b, size_t n);

/* Size of the buffer aj_base64_encode needs for n bytes, NUL included. */
size_t aj_base64_encoded_size(size_t n);
/* Encode n bytes; out holds aj_base64_encoded_size(n) bytes.  Returns out. */
char *aj_base64_encode(const void *in, size_t n, char *out);

/* Largest number of bytes len characters of base64 can decode to. */
size_t aj_base64_decoded_max(size_t len);
/* Decode exactly len characters of standard padded base64 into out (cap
 * bytes).  Anything else - wrong alphabet, missing or misplaced padding,
 * non-zero unused bits, whitespace, trailing data - is AJ_EINVAL. */
int aj_base64_decode(const char *in, size_t len, void *out, size_t cap,
		     size_t *outlen, struct aj_err *e);

#endif
