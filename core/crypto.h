/*
 * crypto: the OpenSSL 3 (EVP) calls Bang Soleh needs, behind one small API.
 * No OpenSSL type or error code leaves this file; every function returns 0
 * on success and CRYPTO_E* on failure. Thread-safe.
 */
#ifndef BANGSOLEH_CRYPTO_H
#define BANGSOLEH_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_OK 0
#define CRYPTO_EINVAL (-1)   /* bad argument or malformed input */
#define CRYPTO_ESPACE (-2)   /* output buffer too small */
#define CRYPTO_EFAIL (-3)    /* OpenSSL failed (out of memory, no entropy) */

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA512_LEN 64
#define CRYPTO_ED25519_KEY_LEN 32
#define CRYPTO_ED25519_SIG_LEN 64
/* "$scrypt$ln=NN,r=8,p=1$" + 22 base64 salt + "$" + 43 base64 hash + NUL, rounded up. */
#define CRYPTO_PASSWORD_HASH_MAX 128
#define CRYPTO_PASSWORD_MAX 1024

int crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
/* One piece of a message for crypto_sha256_parts; data may be NULL when len is 0. */
struct crypto_part {
	const void *data;
	size_t len;
};
/*
 * SHA-256 of the concatenation of parts[0..n) (parts may be NULL when n is
 * 0), without copying them together and without allocating: for the hot
 * paths that hash millions of short messages (the ledger's hash chain and
 * Merkle tree).
 */
int crypto_sha256_parts(const struct crypto_part *parts, size_t n, uint8_t out[CRYPTO_SHA256_LEN]);
int crypto_sha512(const void *data, size_t len, uint8_t out[CRYPTO_SHA512_LEN]);
int crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		       uint8_t out[CRYPTO_SHA256_LEN]);
int crypto_hmac_sha512(const void *key, size_t key_len, const void *data, size_t len,
		       uint8_t out[CRYPTO_SHA512_LEN]);

/* Constant-time comparison of two buffers of the same length. */
bool crypto_equal(const void *a, const void *b, size_t len);
/* Fills buf with len bytes from the CSPRNG. */
int crypto_random(void *buf, size_t len);

/* Lower-case hex of `len` bytes, NUL-terminated; needs cap >= 2*len+1. */
int crypto_hex_encode(const void *in, size_t len, char *out, size_t cap);
/* Decodes an even-length hex string (either case). OUT: *out_len bytes. */
int crypto_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len);
/* Standard base64 with padding (url_safe: '-' '_' and no padding), NUL-terminated. */
int crypto_base64_encode(const void *in, size_t len, bool url_safe, char *out, size_t cap);
/* Decodes either alphabet, padding optional; rejects any other character. */
int crypto_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len);

/* A new Ed25519 key pair: 32-byte private seed and public key. */
int crypto_ed25519_generate(uint8_t priv[CRYPTO_ED25519_KEY_LEN], uint8_t pub[CRYPTO_ED25519_KEY_LEN]);
int crypto_ed25519_public(const uint8_t priv[CRYPTO_ED25519_KEY_LEN], uint8_t pub[CRYPTO_ED25519_KEY_LEN]);
int crypto_ed25519_sign(const uint8_t priv[CRYPTO_ED25519_KEY_LEN], const void *msg, size_t len,
			uint8_t sig[CRYPTO_ED25519_SIG_LEN]);
/* True only for a valid signature of msg by pub. */
bool crypto_ed25519_verify(const uint8_t pub[CRYPTO_ED25519_KEY_LEN], const void *msg, size_t len,
			   const uint8_t sig[CRYPTO_ED25519_SIG_LEN]);

/*
 * A secret key kept in a file: reads its `len` bytes, or, when the file does
 * not exist, makes it once (O_EXCL, mode 0600) with len random bytes and
 * fsyncs it. A file of another length is CRYPTO_EINVAL; I/O failures are
 * CRYPTO_EFAIL. Keys are made at first start, so a restart keeps them.
 */
int crypto_key_file(const char *path, uint8_t *key, size_t len);

/*
 * Hashes a password with scrypt (N = 2^log2_n, r = 8, p = 1, 16-byte random
 * salt, 32-byte key) into "$scrypt$ln=<log2_n>,r=8,p=1$<salt b64>$<key b64>"
 * (standard alphabet, no padding). log2_n in [10, 20]; passwords of at most
 * CRYPTO_PASSWORD_MAX bytes. CPU-heavy (about 100 ms at 15 here): never on the loop
 * thread.
 */
int crypto_password_hash(const char *password, size_t len, unsigned log2_n,
			 char *out, size_t cap);
/*
 * Checks a password against an encoded hash, with the parameters stored in
 * it. OUT: *ok. Returns CRYPTO_EINVAL for a malformed encoding.
 */
int crypto_password_verify(const char *password, size_t len, const char *encoded, bool *ok);

#endif
