/*
 * crypto: OpenSSL 3 EVP behind the small API of crypto.h.
 *
 * Algorithms are fetched once (explicit fetching avoids OpenSSL 3's per-call
 * implicit lookup) and kept for the life of the process. Every failure path
 * clears the thread's OpenSSL error queue so no OpenSSL state leaks out.
 *
 * SHA-256 alone uses the low-level SHA256_* calls, deprecated in OpenSSL 3
 * but kept by it: their context lives on the stack, where EVP_Digest
 * allocates and frees one per call and counts references on the shared
 * EVP_MD (two threads hashing contend for that cache line). For the
 * ledger's short messages (65 to 201 bytes) that was 40 to 45% of each
 * hash's time (docs/benchmarks.md, "Merkle tree").
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/* Fetched algorithms; NULL when the provider lacks one (calls then fail). */
struct crypto_algs {
	EVP_MD *sha512;
	EVP_MAC *hmac;
	EVP_KDF *scrypt;
};

static struct crypto_algs algs;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void algs_fetch(void)
{
	algs.sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
	algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	algs.scrypt = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	ERR_clear_error();
}

static const struct crypto_algs *algs_get(void)
{
	pthread_once(&algs_once, algs_fetch);
	return &algs;
}

/* The one place OpenSSL failures are turned into CRYPTO_EFAIL. */
static int ossl_fail(void)
{
	ERR_clear_error();
	return CRYPTO_EFAIL;
}

/* Stands in for a NULL pointer of zero length, which some EVP calls refuse. */
static const uint8_t empty_input[1];

static const void *nonnull(const void *p)
{
	return p != NULL ? p : empty_input;
}

static int digest(const EVP_MD *md, const void *data, size_t len, uint8_t *out, unsigned out_len)
{
	unsigned got = 0;

	if (md == NULL || EVP_Digest(nonnull(data), len, out, &got, md, NULL) != 1 || got != out_len)
		return ossl_fail();
	return CRYPTO_OK;
}

int crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	const struct crypto_part part = { data, len };
	return crypto_sha256_parts(&part, 1, out);
}

int crypto_sha256_parts(const struct crypto_part *parts, size_t n, uint8_t out[CRYPTO_SHA256_LEN])
{
	SHA256_CTX ctx;
	int ok = SHA256_Init(&ctx);
	for (size_t i = 0; i < n && ok; i++)
		ok = SHA256_Update(&ctx, nonnull(parts[i].data), parts[i].len);
	ok = SHA256_Final(out, &ctx) && ok;
	return ok ? CRYPTO_OK : ossl_fail();
}

int crypto_sha512(const void *data, size_t len, uint8_t out[CRYPTO_SHA512_LEN])
{
	return digest(algs_get()->sha512, data, len, out, CRYPTO_SHA512_LEN);
}

static int hmac(const char *md_name, const void *key, size_t key_len, const void *data, size_t len,
		uint8_t *out, size_t out_len)
{
	EVP_MAC *mac = algs_get()->hmac;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	size_t got = 0;
	int ret = CRYPTO_OK;

	if (mac == NULL)
		return ossl_fail();
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		return ossl_fail();
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md_name, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* A NULL key would mean "keep the previous key", so an empty key is passed as a pointer. */
	if (EVP_MAC_init(ctx, nonnull(key), key_len, params) != 1 ||
	    EVP_MAC_update(ctx, nonnull(data), len) != 1 ||
	    EVP_MAC_final(ctx, out, &got, out_len) != 1 || got != out_len)
		ret = ossl_fail();
	EVP_MAC_CTX_free(ctx);
	return ret;
}

int crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		       uint8_t out[CRYPTO_SHA256_LEN])
{
	return hmac("SHA2-256", key, key_len, data, len, out, CRYPTO_SHA256_LEN);
}

int crypto_hmac_sha512(const void *key, size_t key_len, const void *data, size_t len,
		       uint8_t out[CRYPTO_SHA512_LEN])
{
	return hmac("SHA2-512", key, key_len, data, len, out, CRYPTO_SHA512_LEN);
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return len == 0 || CRYPTO_memcmp(a, b, len) == 0;
}

int crypto_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	/* RAND_bytes takes an int count, so larger requests go in chunks. */
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, chunk) != 1)
			return ossl_fail();
		p += chunk;
		len -= (size_t)chunk;
	}
	return CRYPTO_OK;
}

/* ---- hex ---- */

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int crypto_hex_encode(const void *in, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = in;

	if (len > (SIZE_MAX - 1) / 2 || cap < 2 * len + 1)
		return CRYPTO_ESPACE;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return CRYPTO_OK;
}

int crypto_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
	if (in_len % 2 != 0)
		return CRYPTO_EINVAL;
	/* Validate everything first so a bad input leaves out untouched. */
	for (size_t i = 0; i < in_len; i++)
		if (hex_value((unsigned char)in[i]) < 0)
			return CRYPTO_EINVAL;
	if (in_len / 2 > cap)
		return CRYPTO_ESPACE;
	for (size_t i = 0; i < in_len / 2; i++)
		out[i] = (uint8_t)(hex_value((unsigned char)in[2 * i]) << 4 |
				   hex_value((unsigned char)in[2 * i + 1]));
	*out_len = in_len / 2;
	return CRYPTO_OK;
}

/* ---- base64 (RFC 4648 sections 4 and 5) ---- */

/* What a base64 input may use; a single input never mixes the two alphabets. */
enum {
	B64_STD = 1,  /* '+' '/' */
	B64_URL = 2,  /* '-' '_' */
	B64_PAD = 4,  /* trailing '=' */
};

/* Value of one base64 character, or -1; records the alphabet of '+/-_'. */
static int b64_value(unsigned char c, unsigned *seen)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '/') {
		*seen |= B64_STD;
		return c == '+' ? 62 : 63;
	}
	if (c == '-' || c == '_') {
		*seen |= B64_URL;
		return c == '-' ? 62 : 63;
	}
	return -1;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encodes with `alphabet` (64 characters), padded or not, NUL-terminated. */
static int b64_encode(const void *in, size_t len, const char *alphabet, bool pad, char *out,
		      size_t cap)
{
	const uint8_t *p = in;
	size_t rem = len % 3;
	size_t need;
	size_t o = 0;
	size_t i;

	if (len / 3 > (SIZE_MAX - 5) / 4)
		return CRYPTO_ESPACE;
	need = len / 3 * 4 + (rem == 0 ? 0 : pad ? 4 : rem + 1) + 1;
	if (cap < need)
		return CRYPTO_ESPACE;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 0x3f];
		out[o++] = alphabet[(v >> 6) & 0x3f];
		out[o++] = alphabet[v & 0x3f];
	}
	if (rem > 0) {
		uint32_t v = (uint32_t)p[i] << 16 | (rem == 2 ? (uint32_t)p[i + 1] << 8 : 0);

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 0x3f];
		if (rem == 2)
			out[o++] = alphabet[(v >> 6) & 0x3f];
		if (pad) {
			out[o++] = '=';
			if (rem == 1)
				out[o++] = '=';
		}
	}
	out[o] = '\0';
	return CRYPTO_OK;
}

int crypto_base64_encode(const void *in, size_t len, bool url_safe, char *out, size_t cap)
{
	return b64_encode(in, len, url_safe ? b64_url : b64_std, !url_safe, out, cap);
}

/*
 * Decodes base64 in the alphabets and padding that `allow` permits. Strict:
 * padding only as the last one or two characters of a multiple of four, no
 * dangling single character, and the unused low bits of the last character
 * must be zero, so every byte string has exactly one accepted encoding per
 * alphabet and padding choice. Nothing is written unless the whole input is
 * valid and fits in cap.
 */
static int b64_decode(const char *in, size_t in_len, unsigned allow, uint8_t *out, size_t cap,
		      size_t *out_len)
{
	size_t data_len = in_len;
	size_t pad = 0;
	unsigned seen = 0;
	int last = 0;
	size_t rem;
	size_t need;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	while (pad < 2 && data_len > 0 && in[data_len - 1] == '=') {
		data_len--;
		pad++;
	}
	if (pad > 0 && (!(allow & B64_PAD) || in_len % 4 != 0))
		return CRYPTO_EINVAL;
	rem = data_len % 4;
	if (rem == 1)
		return CRYPTO_EINVAL;
	for (size_t i = 0; i < data_len; i++) {
		last = b64_value((unsigned char)in[i], &seen);
		if (last < 0)
			return CRYPTO_EINVAL;
	}
	if ((seen & ~allow) != 0 || seen == (B64_STD | B64_URL))
		return CRYPTO_EINVAL;
	if ((rem == 2 && (last & 0x0f) != 0) || (rem == 3 && (last & 0x03) != 0))
		return CRYPTO_EINVAL;
	need = data_len / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	if (need > cap)
		return CRYPTO_ESPACE;
	for (size_t i = 0; i < data_len; i++) {
		acc = (acc << 6 | (uint32_t)b64_value((unsigned char)in[i], &seen)) & 0xffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out_len = o;
	return CRYPTO_OK;
}

int crypto_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
	return b64_decode(in, in_len, B64_STD | B64_URL | B64_PAD, out, cap, out_len);
}

/* ---- Ed25519 (RFC 8032) ---- */

int crypto_ed25519_generate(uint8_t priv[CRYPTO_ED25519_KEY_LEN], uint8_t pub[CRYPTO_ED25519_KEY_LEN])
{
	/* An Ed25519 private key is 32 random bytes; the public key follows from it. */
	int ret = crypto_random(priv, CRYPTO_ED25519_KEY_LEN);

	if (ret == CRYPTO_OK)
		ret = crypto_ed25519_public(priv, pub);
	if (ret != CRYPTO_OK)
		OPENSSL_cleanse(priv, CRYPTO_ED25519_KEY_LEN);
	return ret;
}

int crypto_ed25519_public(const uint8_t priv[CRYPTO_ED25519_KEY_LEN], uint8_t pub[CRYPTO_ED25519_KEY_LEN])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, CRYPTO_ED25519_KEY_LEN);
	size_t got = CRYPTO_ED25519_KEY_LEN;
	int ret = CRYPTO_OK;

	if (pkey == NULL)
		return ossl_fail();
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &got) != 1 || got != CRYPTO_ED25519_KEY_LEN)
		ret = ossl_fail();
	EVP_PKEY_free(pkey);
	return ret;
}

int crypto_ed25519_sign(const uint8_t priv[CRYPTO_ED25519_KEY_LEN], const void *msg, size_t len,
			uint8_t sig[CRYPTO_ED25519_SIG_LEN])
{
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx;
	size_t got = CRYPTO_ED25519_SIG_LEN;
	int ret = CRYPTO_OK;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, CRYPTO_ED25519_KEY_LEN);
	if (pkey == NULL)
		return ossl_fail();
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		ret = ossl_fail();
		goto free_pkey;
	}
	/* Ed25519 hashes internally: no digest is named. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &got, nonnull(msg), len) != 1 || got != CRYPTO_ED25519_SIG_LEN)
		ret = ossl_fail();
	EVP_MD_CTX_free(ctx);
free_pkey:
	EVP_PKEY_free(pkey);
	return ret;
}

bool crypto_ed25519_verify(const uint8_t pub[CRYPTO_ED25519_KEY_LEN], const void *msg, size_t len,
			   const uint8_t sig[CRYPTO_ED25519_SIG_LEN])
{
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx;
	bool ok = false;

	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, CRYPTO_ED25519_KEY_LEN);
	if (pkey == NULL)
		goto clear_errors;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto free_pkey;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, CRYPTO_ED25519_SIG_LEN, nonnull(msg), len) == 1;
	EVP_MD_CTX_free(ctx);
free_pkey:
	EVP_PKEY_free(pkey);
clear_errors:
	/* A bad signature or key may leave errors queued; they are not ours to hand on. */
	ERR_clear_error();
	return ok;
}

/* ---- passwords (scrypt, RFC 7914) ---- */

#define SCRYPT_PREFIX "$scrypt$ln="
#define SCRYPT_SALT_LEN 16
#define SCRYPT_KEY_LEN 32
#define SCRYPT_SALT_B64 22  /* unpadded base64 of 16 bytes */
#define SCRYPT_KEY_B64 43   /* unpadded base64 of 32 bytes */
#define SCRYPT_LN_MIN 10
#define SCRYPT_LN_MAX 20
#define SCRYPT_R 8
#define SCRYPT_P 1
/*
 * Bounds on what a stored hash may ask for, so a tampered record cannot make
 * verification take unbounded memory or time: r * 2^ln is at most what the
 * largest hash we write needs (1 GiB), p at most 4.
 */
#define SCRYPT_R_MAX 16
#define SCRYPT_P_MAX 4
#define SCRYPT_COST_MAX ((uint64_t)SCRYPT_R << SCRYPT_LN_MAX)

static int scrypt_derive(const char *password, size_t len, const uint8_t salt[SCRYPT_SALT_LEN],
			 unsigned log2_n, uint32_t r, uint32_t p, uint8_t key[SCRYPT_KEY_LEN])
{
	EVP_KDF *kdf = algs_get()->scrypt;
	EVP_KDF_CTX *ctx;
	uint64_t n = (uint64_t)1 << log2_n;
	/* Exactly what OpenSSL's scrypt allocates (B and V), so the default cap never refuses. */
	uint64_t maxmem = 128 * (uint64_t)r * (n + 2) + 128 * (uint64_t)r * p;
	OSSL_PARAM params[7];
	int ret = CRYPTO_OK;

	if (kdf == NULL)
		return ossl_fail();
	ctx = EVP_KDF_CTX_new(kdf);
	if (ctx == NULL)
		return ossl_fail();
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
						      (void *)nonnull(password), len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
						      SCRYPT_SALT_LEN);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key, SCRYPT_KEY_LEN, params) != 1)
		ret = ossl_fail();
	/* Frees the context's copy of the password after wiping it. */
	EVP_KDF_CTX_free(ctx);
	return ret;
}

int crypto_password_hash(const char *password, size_t len, unsigned log2_n, char *out, size_t cap)
{
	uint8_t salt[SCRYPT_SALT_LEN];
	uint8_t key[SCRYPT_KEY_LEN];
	char prefix[48];
	int prefix_len;
	size_t o;
	int ret;

	if (len > CRYPTO_PASSWORD_MAX || log2_n < SCRYPT_LN_MIN || log2_n > SCRYPT_LN_MAX)
		return CRYPTO_EINVAL;
	prefix_len = snprintf(prefix, sizeof(prefix), SCRYPT_PREFIX "%u,r=%u,p=%u$", log2_n,
			      SCRYPT_R, SCRYPT_P);
	/* Refuse a short buffer before spending the CPU. */
	if (cap < (size_t)prefix_len + SCRYPT_SALT_B64 + 1 + SCRYPT_KEY_B64 + 1)
		return CRYPTO_ESPACE;
	ret = crypto_random(salt, sizeof(salt));
	if (ret != CRYPTO_OK)
		return ret;
	ret = scrypt_derive(password, len, salt, log2_n, SCRYPT_R, SCRYPT_P, key);
	if (ret != CRYPTO_OK)
		goto wipe_key;
	memcpy(out, prefix, (size_t)prefix_len);
	o = (size_t)prefix_len;
	ret = b64_encode(salt, sizeof(salt), b64_std, false, out + o, cap - o);
	if (ret != CRYPTO_OK)
		goto wipe_key;
	o += SCRYPT_SALT_B64;
	out[o++] = '$';
	ret = b64_encode(key, sizeof(key), b64_std, false, out + o, cap - o);
wipe_key:
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

/* Consumes `lit` at s[*pos]; s is NUL-terminated so the comparison stops there. */
static bool parse_literal(const char *s, size_t *pos, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(s + *pos, lit, n) != 0)
		return false;
	*pos += n;
	return true;
}

/* Consumes a decimal of one or two digits without a leading zero, in [min, max]. */
static bool parse_small(const char *s, size_t *pos, unsigned min, unsigned max, unsigned *out)
{
	const char *p = s + *pos;
	unsigned v;
	size_t n = 0;

	if (p[0] < '1' || p[0] > '9')
		return false;
	v = (unsigned)(p[0] - '0');
	n = 1;
	if (p[1] >= '0' && p[1] <= '9') {
		v = v * 10 + (unsigned)(p[1] - '0');
		n = 2;
	}
	if (v < min || v > max)
		return false;
	*pos += n;
	*out = v;
	return true;
}

/* Consumes exactly `chars` characters of unpadded standard base64 decoding to `len` bytes. */
static bool parse_b64(const char *s, size_t *pos, size_t chars, uint8_t *out, size_t len)
{
	size_t got = 0;

	if (strnlen(s + *pos, chars) != chars ||
	    b64_decode(s + *pos, chars, B64_STD, out, len, &got) != CRYPTO_OK || got != len)
		return false;
	*pos += chars;
	return true;
}

int crypto_password_verify(const char *password, size_t len, const char *encoded, bool *ok)
{
	uint8_t salt[SCRYPT_SALT_LEN];
	uint8_t stored[SCRYPT_KEY_LEN];
	uint8_t key[SCRYPT_KEY_LEN];
	unsigned ln = 0;
	unsigned r = 0;
	unsigned p = 0;
	size_t pos = 0;
	int ret;

	*ok = false;
	if (len > CRYPTO_PASSWORD_MAX || strnlen(encoded, CRYPTO_PASSWORD_HASH_MAX) == CRYPTO_PASSWORD_HASH_MAX)
		return CRYPTO_EINVAL;
	if (!parse_literal(encoded, &pos, SCRYPT_PREFIX) ||
	    !parse_small(encoded, &pos, SCRYPT_LN_MIN, SCRYPT_LN_MAX, &ln) ||
	    !parse_literal(encoded, &pos, ",r=") ||
	    !parse_small(encoded, &pos, 1, SCRYPT_R_MAX, &r) ||
	    !parse_literal(encoded, &pos, ",p=") ||
	    !parse_small(encoded, &pos, 1, SCRYPT_P_MAX, &p) ||
	    !parse_literal(encoded, &pos, "$") ||
	    !parse_b64(encoded, &pos, SCRYPT_SALT_B64, salt, sizeof(salt)) ||
	    !parse_literal(encoded, &pos, "$") ||
	    !parse_b64(encoded, &pos, SCRYPT_KEY_B64, stored, sizeof(stored)) ||
	    encoded[pos] != '\0' ||
	    ((uint64_t)r << ln) > SCRYPT_COST_MAX)
		return CRYPTO_EINVAL;
	ret = scrypt_derive(password, len, salt, ln, r, p, key);
	if (ret == CRYPTO_OK)
		*ok = CRYPTO_memcmp(key, stored, sizeof(key)) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

/* --- key files --- */

int crypto_key_file(const char *path, uint8_t *key, size_t len)
{
	uint8_t extra;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* O_EXCL: two processes starting at once cannot both make a key. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || crypto_random(key, len) != CRYPTO_OK || write(fd, key, len) != (ssize_t)len ||
		    fsync(fd) != 0) {
			if (fd >= 0)
				close(fd);
			return CRYPTO_EFAIL;
		}
		close(fd);
		return CRYPTO_OK;
	}
	if (fd < 0)
		return CRYPTO_EFAIL;
	n = read(fd, key, len);
	/* A longer file is not this key: refuse it rather than use a prefix. */
	if (n == (ssize_t)len && read(fd, &extra, 1) != 0)
		n = -1;
	close(fd);
	return n == (ssize_t)len ? CRYPTO_OK : CRYPTO_EINVAL;
}
