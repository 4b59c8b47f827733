/*
 * Unit tests for core/crypto: published known-answer vectors (FIPS 180-2
 * examples, RFC 4231, RFC 8032, RFC 4648), strict decoding, output bounds,
 * and the scrypt password format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "crypto.h"

#define GUARD 0xA5

/* Test-local hex parser, so known answers do not depend on the code under test. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + (size_t)j];

			v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		out[i] = (uint8_t)v;
	}
	return n;
}

static void assert_bytes_hex(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[128];

	assert_int_equal(unhex(hex, want, sizeof(want)), len);
	assert_memory_equal(got, want, len);
}

/* ---- digests and MACs ---- */

static void test_sha256_kat(void **state)
{
	uint8_t out[CRYPTO_SHA256_LEN];

	(void)state;
	assert_int_equal(crypto_sha256("abc", 3, out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(crypto_sha256("", 0, out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* A NULL pointer with length 0 is the empty message. */
	assert_int_equal(crypto_sha256(NULL, 0, out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Pieces hash as their concatenation, empty (NULL) pieces and no pieces included. */
static void test_sha256_parts(void **state)
{
	static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	const struct crypto_part abc[] = { { "a", 1 }, { NULL, 0 }, { "bc", 2 } };
	const struct crypto_part two[] = { { msg, 1 }, { msg + 1, 40 }, { msg + 41, 15 } };
	uint8_t out[CRYPTO_SHA256_LEN];

	(void)state;
	assert_int_equal(crypto_sha256_parts(abc, 3, out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(crypto_sha256_parts(two, 3, out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_int_equal(crypto_sha256_parts(NULL, 0, out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha512_kat(void **state)
{
	uint8_t out[CRYPTO_SHA512_LEN];

	(void)state;
	assert_int_equal(crypto_sha512("abc", 3, out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			 "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

static const char rfc4231_key2[] = "Jefe";
static const char rfc4231_data2[] = "what do ya want for nothing?";

static void test_hmac_sha256_kat(void **state)
{
	uint8_t out[CRYPTO_SHA256_LEN];

	(void)state;
	assert_int_equal(crypto_hmac_sha256(rfc4231_key2, strlen(rfc4231_key2), rfc4231_data2,
					    strlen(rfc4231_data2), out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Empty key and empty message: a NULL key must not mean "no key". */
	assert_int_equal(crypto_hmac_sha256(NULL, 0, NULL, 0, out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_hmac_sha512_kat(void **state)
{
	uint8_t out[CRYPTO_SHA512_LEN];

	(void)state;
	assert_int_equal(crypto_hmac_sha512(rfc4231_key2, strlen(rfc4231_key2), rfc4231_data2,
					    strlen(rfc4231_data2), out), CRYPTO_OK);
	assert_bytes_hex(out, sizeof(out),
			 "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
			 "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

static void test_equal(void **state)
{
	uint8_t a[33];
	uint8_t b[33];

	(void)state;
	memset(a, 7, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(crypto_equal(a, b, sizeof(a)));
	assert_true(crypto_equal(a, b, 0));
	b[0] ^= 1;
	assert_false(crypto_equal(a, b, sizeof(a)));
	b[0] ^= 1;
	b[32] ^= 0x80;
	assert_false(crypto_equal(a, b, sizeof(a)));
	/* Only the first len bytes count. */
	assert_true(crypto_equal(a, b, 32));
}

static void test_random(void **state)
{
	uint8_t a[32];
	uint8_t b[32];
	uint8_t buf[65];

	(void)state;
	assert_int_equal(crypto_random(a, sizeof(a)), CRYPTO_OK);
	assert_int_equal(crypto_random(b, sizeof(b)), CRYPTO_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	for (size_t len = 0; len <= 64; len++) {
		memset(buf, GUARD, sizeof(buf));
		assert_int_equal(crypto_random(buf, len), CRYPTO_OK);
		assert_int_equal(buf[len], GUARD);
	}
}

/* ---- Ed25519 ---- */

static const char rfc8032_t1_priv[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc8032_t1_pub[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc8032_t1_sig[] =
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

static void test_ed25519_rfc8032_test1(void **state)
{
	uint8_t priv[CRYPTO_ED25519_KEY_LEN];
	uint8_t pub[CRYPTO_ED25519_KEY_LEN];
	uint8_t want_pub[CRYPTO_ED25519_KEY_LEN];
	uint8_t sig[CRYPTO_ED25519_SIG_LEN];
	uint8_t want_sig[CRYPTO_ED25519_SIG_LEN];

	(void)state;
	unhex(rfc8032_t1_priv, priv, sizeof(priv));
	unhex(rfc8032_t1_pub, want_pub, sizeof(want_pub));
	unhex(rfc8032_t1_sig, want_sig, sizeof(want_sig));
	assert_int_equal(crypto_ed25519_public(priv, pub), CRYPTO_OK);
	assert_memory_equal(pub, want_pub, sizeof(pub));
	assert_int_equal(crypto_ed25519_sign(priv, NULL, 0, sig), CRYPTO_OK);
	assert_memory_equal(sig, want_sig, sizeof(sig));
	assert_true(crypto_ed25519_verify(want_pub, NULL, 0, want_sig));
	assert_true(crypto_ed25519_verify(want_pub, "", 0, want_sig));
}

static void test_ed25519_rejects_tampering(void **state)
{
	uint8_t priv[CRYPTO_ED25519_KEY_LEN];
	uint8_t pub[CRYPTO_ED25519_KEY_LEN];
	uint8_t sig[CRYPTO_ED25519_SIG_LEN];
	uint8_t msg[] = "transfer 15000 IDR from escrow to merchant:42:payable";
	size_t msg_len = sizeof(msg) - 1;

	(void)state;
	unhex(rfc8032_t1_priv, priv, sizeof(priv));
	unhex(rfc8032_t1_pub, pub, sizeof(pub));
	assert_int_equal(crypto_ed25519_sign(priv, msg, msg_len, sig), CRYPTO_OK);
	assert_true(crypto_ed25519_verify(pub, msg, msg_len, sig));
	for (size_t i = 0; i < sizeof(sig) * 8; i += 13) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(crypto_ed25519_verify(pub, msg, msg_len, sig));
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (size_t i = 0; i < msg_len * 8; i += 11) {
		msg[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(crypto_ed25519_verify(pub, msg, msg_len, sig));
		msg[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (size_t i = 0; i < sizeof(pub) * 8; i += 7) {
		pub[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(crypto_ed25519_verify(pub, msg, msg_len, sig));
		pub[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* A shorter message (a prefix) is a different message. */
	assert_false(crypto_ed25519_verify(pub, msg, msg_len - 1, sig));
	/* Everything restored: still valid, so the rejections above were the flips. */
	assert_true(crypto_ed25519_verify(pub, msg, msg_len, sig));
}

static void test_ed25519_generate_roundtrip(void **state)
{
	uint8_t priv[CRYPTO_ED25519_KEY_LEN];
	uint8_t pub[CRYPTO_ED25519_KEY_LEN];
	uint8_t priv2[CRYPTO_ED25519_KEY_LEN];
	uint8_t pub2[CRYPTO_ED25519_KEY_LEN];
	uint8_t derived[CRYPTO_ED25519_KEY_LEN];
	uint8_t sig[CRYPTO_ED25519_SIG_LEN];
	static const char msg[] = "signed tree head 1024";

	(void)state;
	assert_int_equal(crypto_ed25519_generate(priv, pub), CRYPTO_OK);
	assert_int_equal(crypto_ed25519_generate(priv2, pub2), CRYPTO_OK);
	assert_memory_not_equal(priv, priv2, sizeof(priv));
	assert_memory_not_equal(pub, pub2, sizeof(pub));
	assert_int_equal(crypto_ed25519_public(priv, derived), CRYPTO_OK);
	assert_memory_equal(derived, pub, sizeof(pub));
	assert_int_equal(crypto_ed25519_sign(priv, msg, strlen(msg), sig), CRYPTO_OK);
	assert_true(crypto_ed25519_verify(pub, msg, strlen(msg), sig));
	assert_false(crypto_ed25519_verify(pub2, msg, strlen(msg), sig));
}

/* ---- hex ---- */

static void test_hex_known(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char text[13];
	uint8_t out[6];
	size_t out_len = 99;

	(void)state;
	assert_int_equal(crypto_hex_encode(bytes, sizeof(bytes), text, sizeof(text)), CRYPTO_OK);
	assert_string_equal(text, "00017f80abff");
	assert_int_equal(crypto_hex_decode("00017F80ABff", 12, out, sizeof(out), &out_len), CRYPTO_OK);
	assert_int_equal(out_len, sizeof(bytes));
	assert_memory_equal(out, bytes, sizeof(bytes));
	assert_int_equal(crypto_hex_decode("", 0, out, 0, &out_len), CRYPTO_OK);
	assert_int_equal(out_len, 0);
}

static void test_hex_roundtrip(void **state)
{
	uint8_t in[64];
	char text[2 * 64 + 1];
	uint8_t back[64];
	size_t back_len;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(in); len++) {
		assert_int_equal(crypto_hex_encode(in, len, text, 2 * len + 1), CRYPTO_OK);
		assert_int_equal(strlen(text), 2 * len);
		assert_int_equal(crypto_hex_decode(text, 2 * len, back, len, &back_len), CRYPTO_OK);
		assert_int_equal(back_len, len);
		assert_memory_equal(back, in, len);
	}
}

static void test_hex_rejects(void **state)
{
	uint8_t out[8];
	size_t out_len = 0;
	static const char *const bad[] = { "0", "abc", "0g", "g0", " 0", "0x00", "-1", "zz" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(crypto_hex_decode(bad[i], strlen(bad[i]), out, sizeof(out), &out_len),
				 CRYPTO_EINVAL);
	/* An embedded NUL inside in_len is a non-hex character, not the end. */
	assert_int_equal(crypto_hex_decode("00\0000", 4, out, sizeof(out), &out_len), CRYPTO_EINVAL);
}

static void test_hex_space(void **state)
{
	static const uint8_t bytes[] = { 1, 2, 3 };
	char text[8];
	uint8_t out[4];
	size_t out_len = 0;

	(void)state;
	memset(text, GUARD, sizeof(text));
	/* Needs 7 bytes (six digits and the NUL). */
	assert_int_equal(crypto_hex_encode(bytes, 3, text, 6), CRYPTO_ESPACE);
	assert_int_equal((uint8_t)text[6], GUARD);
	assert_int_equal(crypto_hex_encode(bytes, 3, text, 7), CRYPTO_OK);
	assert_int_equal((uint8_t)text[7], GUARD);
	memset(out, GUARD, sizeof(out));
	assert_int_equal(crypto_hex_decode("010203", 6, out, 2, &out_len), CRYPTO_ESPACE);
	assert_int_equal(out[2], GUARD);
	assert_int_equal(crypto_hex_decode("010203", 6, out, 3, &out_len), CRYPTO_OK);
	assert_int_equal(out[3], GUARD);
}

/* ---- base64 ---- */

static void test_base64_rfc4648(void **state)
{
	/* RFC 4648 section 10. */
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char text[16];
	uint8_t out[8];
	size_t out_len;

	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		const char *plain = vec[i][0];
		const char *enc = vec[i][1];
		size_t unpadded = strcspn(enc, "=");

		assert_int_equal(crypto_base64_encode(plain, strlen(plain), false, text, sizeof(text)),
				 CRYPTO_OK);
		assert_string_equal(text, enc);
		/* Url-safe output is the same without padding (no '+' or '/' in these). */
		assert_int_equal(crypto_base64_encode(plain, strlen(plain), true, text, sizeof(text)),
				 CRYPTO_OK);
		assert_int_equal(strlen(text), unpadded);
		assert_memory_equal(text, enc, unpadded);
		out_len = 99;
		assert_int_equal(crypto_base64_decode(enc, strlen(enc), out, sizeof(out), &out_len),
				 CRYPTO_OK);
		assert_int_equal(out_len, strlen(plain));
		assert_memory_equal(out, plain, out_len);
		/* Padding is optional on input. */
		out_len = 99;
		assert_int_equal(crypto_base64_decode(enc, unpadded, out, sizeof(out), &out_len),
				 CRYPTO_OK);
		assert_int_equal(out_len, strlen(plain));
		assert_memory_equal(out, plain, out_len);
	}
}

static void test_base64_url_alphabet(void **state)
{
	static const uint8_t bytes[] = { 0xfb, 0xff, 0xbf };
	char text[8];
	uint8_t out[4];
	size_t out_len;

	(void)state;
	assert_int_equal(crypto_base64_encode(bytes, 3, false, text, sizeof(text)), CRYPTO_OK);
	assert_string_equal(text, "+/+/");
	assert_int_equal(crypto_base64_encode(bytes, 3, true, text, sizeof(text)), CRYPTO_OK);
	assert_string_equal(text, "-_-_");
	assert_int_equal(crypto_base64_encode(bytes, 2, false, text, sizeof(text)), CRYPTO_OK);
	assert_string_equal(text, "+/8=");
	assert_int_equal(crypto_base64_encode(bytes, 2, true, text, sizeof(text)), CRYPTO_OK);
	assert_string_equal(text, "-_8");
	assert_int_equal(crypto_base64_decode("-_-_", 4, out, sizeof(out), &out_len), CRYPTO_OK);
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, bytes, 3);
	assert_int_equal(crypto_base64_decode("-_8", 3, out, sizeof(out), &out_len), CRYPTO_OK);
	assert_int_equal(out_len, 2);
	assert_memory_equal(out, bytes, 2);
	assert_int_equal(crypto_base64_decode("+/8=", 4, out, sizeof(out), &out_len), CRYPTO_OK);
	assert_int_equal(out_len, 2);
	assert_memory_equal(out, bytes, 2);
}

static void test_base64_roundtrip(void **state)
{
	uint8_t in[64];
	char text[90];
	uint8_t back[64];
	size_t back_len;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(255 - i * 29);
	for (size_t len = 0; len <= sizeof(in); len++) {
		for (int url = 0; url <= 1; url++) {
			assert_int_equal(crypto_base64_encode(in, len, url, text, sizeof(text)), CRYPTO_OK);
			assert_int_equal(strlen(text), url ? (len * 4 + 2) / 3 : (len + 2) / 3 * 4);
			memset(back, GUARD, sizeof(back));
			assert_int_equal(crypto_base64_decode(text, strlen(text), back, len, &back_len),
					 CRYPTO_OK);
			assert_int_equal(back_len, len);
			assert_memory_equal(back, in, len);
		}
	}
}

static void test_base64_rejects(void **state)
{
	static const char *const bad[] = {
		"Zg=",      /* padding that does not complete a quantum */
		"Z===",     /* three pad characters */
		"Zm9v=",    /* padding after a full quantum */
		"Zg==Zg==", /* padding in the middle */
		"=",
		"====",
		"Z",        /* a lone character carries no whole byte */
		"Zm9vY",
		"Zm 9v",    /* whitespace */
		"Zm9v\n",
		"Zm.v",
		"Zm9v*A==",
		"+/-_",     /* both alphabets in one input */
		"Zh==",     /* non-zero unused bits: not the canonical encoding of "f" */
		"Zm9=",
		"Zh",
	};
	uint8_t out[16];
	size_t out_len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(crypto_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &out_len),
				 CRYPTO_EINVAL);
	assert_int_equal(crypto_base64_decode("Zm\0v", 4, out, sizeof(out), &out_len), CRYPTO_EINVAL);
	/* 8-bit characters are outside the alphabet too. */
	assert_int_equal(crypto_base64_decode("Zm9\xc3", 4, out, sizeof(out), &out_len), CRYPTO_EINVAL);
}

static void test_base64_space(void **state)
{
	char text[10];
	uint8_t out[8];
	size_t out_len = 0;

	(void)state;
	/* "foob" needs 8 characters and the NUL padded, 6 and the NUL unpadded. */
	memset(text, GUARD, sizeof(text));
	assert_int_equal(crypto_base64_encode("foob", 4, false, text, 8), CRYPTO_ESPACE);
	assert_int_equal((uint8_t)text[8], GUARD);
	assert_int_equal(crypto_base64_encode("foob", 4, false, text, 9), CRYPTO_OK);
	assert_int_equal((uint8_t)text[9], GUARD);
	memset(text, GUARD, sizeof(text));
	assert_int_equal(crypto_base64_encode("foob", 4, true, text, 6), CRYPTO_ESPACE);
	assert_int_equal(crypto_base64_encode("foob", 4, true, text, 7), CRYPTO_OK);
	assert_string_equal(text, "Zm9vYg");
	assert_int_equal((uint8_t)text[7], GUARD);
	assert_int_equal(crypto_base64_encode("", 0, false, text, 0), CRYPTO_ESPACE);

	memset(out, GUARD, sizeof(out));
	assert_int_equal(crypto_base64_decode("Zm9vYmFy", 8, out, 5, &out_len), CRYPTO_ESPACE);
	assert_int_equal(out[5], GUARD);
	assert_int_equal(crypto_base64_decode("Zm9vYmE", 7, out, 4, &out_len), CRYPTO_ESPACE);
	assert_int_equal(out[4], GUARD);
	assert_int_equal(crypto_base64_decode("Zm9vYmE", 7, out, 5, &out_len), CRYPTO_OK);
	assert_int_equal(out_len, 5);
	assert_int_equal(out[5], GUARD);
}

/* ---- passwords ---- */

/* Made with an independent scrypt (Python hashlib): salt 00 01 .. 0f, N = 2^10. */
static const char known_hash_r8p1[] =
	"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU";
static const char known_hash_r4p2[] =
	"$scrypt$ln=10,r=4,p=2$AAECAwQFBgcICQoLDA0ODw$D7onDztpvQrFnPjxZx8IoIheyiv1i65eheldc62GUjE";
static const char known_password[] = "correct horse battery staple";

static void test_password_roundtrip(void **state)
{
	static const char pw[] = "s3cret pasar malam";
	char h1[CRYPTO_PASSWORD_HASH_MAX];
	char h2[CRYPTO_PASSWORD_HASH_MAX];
	bool ok = false;

	(void)state;
	assert_int_equal(crypto_password_hash(pw, strlen(pw), 10, h1, sizeof(h1)), CRYPTO_OK);
	assert_true(strlen(h1) < CRYPTO_PASSWORD_HASH_MAX);
	assert_int_equal(strncmp(h1, "$scrypt$ln=10,r=8,p=1$", 22), 0);
	assert_int_equal(strlen(h1), 22 + 22 + 1 + 43);
	assert_int_equal(crypto_password_verify(pw, strlen(pw), h1, &ok), CRYPTO_OK);
	assert_true(ok);
	assert_int_equal(crypto_password_verify(pw, strlen(pw) - 1, h1, &ok), CRYPTO_OK);
	assert_false(ok);
	assert_int_equal(crypto_password_verify("S3cret pasar malam", strlen(pw), h1, &ok), CRYPTO_OK);
	assert_false(ok);
	/* Fresh salt every time. */
	assert_int_equal(crypto_password_hash(pw, strlen(pw), 10, h2, sizeof(h2)), CRYPTO_OK);
	assert_string_not_equal(h1, h2);
	assert_int_equal(crypto_password_verify(pw, strlen(pw), h2, &ok), CRYPTO_OK);
	assert_true(ok);
	/* The empty password is still a password. */
	assert_int_equal(crypto_password_hash("", 0, 10, h1, sizeof(h1)), CRYPTO_OK);
	assert_int_equal(crypto_password_verify("", 0, h1, &ok), CRYPTO_OK);
	assert_true(ok);
	assert_int_equal(crypto_password_verify("x", 1, h1, &ok), CRYPTO_OK);
	assert_false(ok);
}

static void test_password_known_hash(void **state)
{
	char altered[sizeof(known_hash_r8p1)];
	bool ok = false;

	(void)state;
	assert_int_equal(crypto_password_verify(known_password, strlen(known_password), known_hash_r8p1,
						&ok), CRYPTO_OK);
	assert_true(ok);
	/* Parameters come from the encoding, not from the hashing defaults. */
	assert_int_equal(crypto_password_verify(known_password, strlen(known_password), known_hash_r4p2,
						&ok), CRYPTO_OK);
	assert_true(ok);
	assert_int_equal(crypto_password_verify("correct horse battery stapler", 29, known_hash_r8p1,
						&ok), CRYPTO_OK);
	assert_false(ok);
	/* A stored key differing in its first or its last byte does not match. */
	memcpy(altered, known_hash_r8p1, sizeof(altered));
	altered[45] = 'n';
	assert_int_equal(crypto_password_verify(known_password, strlen(known_password), altered, &ok),
			 CRYPTO_OK);
	assert_false(ok);
	memcpy(altered, known_hash_r8p1, sizeof(altered));
	altered[sizeof(altered) - 2] = 'Y';
	assert_int_equal(crypto_password_verify(known_password, strlen(known_password), altered, &ok),
			 CRYPTO_OK);
	assert_false(ok);
	/* So does another salt. */
	memcpy(altered, known_hash_r8p1, sizeof(altered));
	altered[22] = 'B';
	assert_int_equal(crypto_password_verify(known_password, strlen(known_password), altered, &ok),
			 CRYPTO_OK);
	assert_false(ok);
}

static void test_password_ln15(void **state)
{
	static const char pw[] = "kopi susu";
	char h[CRYPTO_PASSWORD_HASH_MAX];
	bool ok = false;

	(void)state;
	assert_int_equal(crypto_password_hash(pw, strlen(pw), 15, h, sizeof(h)), CRYPTO_OK);
	assert_int_equal(strncmp(h, "$scrypt$ln=15,r=8,p=1$", 22), 0);
	assert_int_equal(crypto_password_verify(pw, strlen(pw), h, &ok), CRYPTO_OK);
	assert_true(ok);
}

static void test_password_tampered(void **state)
{
	static const char *const bad[] = {
		"",
		"$scrypt$",
		"$bcrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=99,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=9,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=21,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=010,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=100,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=-1,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=0,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=17,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=8,p=5$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=8,p=0$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		/* Within each bound but over the memory cap: r=16 at ln=20 would need 2 GiB. */
		"$scrypt$ln=20,r=16,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,p=1,r=8$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0OD$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlR",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRUU",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU=",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0O*w$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S_AXJlRU",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU$",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw",
		"$scrypt$ln=10,r=8,p=1$$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
		"$scrypt$ln=10,r=8,p=1 $AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU",
	};
	char truncated[sizeof(known_hash_r8p1)];
	char too_long[CRYPTO_PASSWORD_HASH_MAX + 8];
	bool ok = true;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok = true;
		assert_int_equal(crypto_password_verify(known_password, strlen(known_password), bad[i], &ok),
				 CRYPTO_EINVAL);
		assert_false(ok);
	}
	/* Every proper prefix of a valid encoding is malformed. */
	for (size_t len = 0; len < strlen(known_hash_r8p1); len++) {
		memcpy(truncated, known_hash_r8p1, len);
		truncated[len] = '\0';
		assert_int_equal(crypto_password_verify(known_password, strlen(known_password), truncated,
							&ok), CRYPTO_EINVAL);
	}
	/* An encoding with no NUL within the bound is refused without reading past it. */
	memset(too_long, 'A', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_int_equal(crypto_password_verify("x", 1, too_long, &ok), CRYPTO_EINVAL);
}

static void test_password_bounds(void **state)
{
	static char big[CRYPTO_PASSWORD_MAX + 1];
	char h[CRYPTO_PASSWORD_HASH_MAX];
	bool ok = true;

	(void)state;
	memset(big, 'p', sizeof(big));
	assert_int_equal(crypto_password_hash("pw", 2, 9, h, sizeof(h)), CRYPTO_EINVAL);
	assert_int_equal(crypto_password_hash("pw", 2, 21, h, sizeof(h)), CRYPTO_EINVAL);
	assert_int_equal(crypto_password_hash(big, CRYPTO_PASSWORD_MAX + 1, 10, h, sizeof(h)),
			 CRYPTO_EINVAL);
	assert_int_equal(crypto_password_verify(big, CRYPTO_PASSWORD_MAX + 1, known_hash_r8p1, &ok),
			 CRYPTO_EINVAL);
	assert_false(ok);
	/* A password of exactly the maximum is accepted. */
	assert_int_equal(crypto_password_hash(big, CRYPTO_PASSWORD_MAX, 10, h, sizeof(h)), CRYPTO_OK);
	assert_int_equal(crypto_password_verify(big, CRYPTO_PASSWORD_MAX, h, &ok), CRYPTO_OK);
	assert_true(ok);
	/* The output must hold all 88 characters and the NUL. */
	memset(h, GUARD, sizeof(h));
	assert_int_equal(crypto_password_hash("pw", 2, 10, h, 88), CRYPTO_ESPACE);
	assert_int_equal((uint8_t)h[0], GUARD);
	assert_int_equal(crypto_password_hash("pw", 2, 10, h, 89), CRYPTO_OK);
	assert_int_equal(strlen(h), 88);
	assert_int_equal((uint8_t)h[89], GUARD);
}

/* ---- threads ---- */

#define THREADS 4
#define THREAD_ROUNDS 200

/* Expected values, decoded on the main thread: cmocka asserts only there. */
struct kat_expect {
	uint8_t priv[CRYPTO_ED25519_KEY_LEN];
	uint8_t mac[CRYPTO_SHA256_LEN];
	uint8_t sig[CRYPTO_ED25519_SIG_LEN];
};

/* Known answers computed on several threads at once; returns how many were wrong. */
static void *kat_worker(void *arg)
{
	const struct kat_expect *want = arg;
	uintptr_t wrong = 0;
	uint8_t mac[CRYPTO_SHA256_LEN];
	uint8_t sig[CRYPTO_ED25519_SIG_LEN];

	for (int i = 0; i < THREAD_ROUNDS; i++) {
		if (crypto_hmac_sha256(rfc4231_key2, strlen(rfc4231_key2), rfc4231_data2,
				       strlen(rfc4231_data2), mac) != CRYPTO_OK ||
		    memcmp(mac, want->mac, sizeof(mac)) != 0)
			wrong++;
		if (crypto_ed25519_sign(want->priv, NULL, 0, sig) != CRYPTO_OK ||
		    memcmp(sig, want->sig, sizeof(sig)) != 0)
			wrong++;
	}
	return (void *)wrong;
}

/* Runs first, so the one-time algorithm fetch also happens under contention. */
static void test_threads_first_use(void **state)
{
	pthread_t threads[THREADS];
	struct kat_expect want;

	(void)state;
	unhex(rfc8032_t1_priv, want.priv, sizeof(want.priv));
	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want.mac,
	      sizeof(want.mac));
	unhex(rfc8032_t1_sig, want.sig, sizeof(want.sig));
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, kat_worker, &want), 0);
	for (int i = 0; i < THREADS; i++) {
		void *wrong = NULL;

		assert_int_equal(pthread_join(threads[i], &wrong), 0);
		assert_int_equal((uintptr_t)wrong, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_first_use),
		cmocka_unit_test(test_sha256_kat),
		cmocka_unit_test(test_sha256_parts),
		cmocka_unit_test(test_sha512_kat),
		cmocka_unit_test(test_hmac_sha256_kat),
		cmocka_unit_test(test_hmac_sha512_kat),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_ed25519_rfc8032_test1),
		cmocka_unit_test(test_ed25519_rejects_tampering),
		cmocka_unit_test(test_ed25519_generate_roundtrip),
		cmocka_unit_test(test_hex_known),
		cmocka_unit_test(test_hex_roundtrip),
		cmocka_unit_test(test_hex_rejects),
		cmocka_unit_test(test_hex_space),
		cmocka_unit_test(test_base64_rfc4648),
		cmocka_unit_test(test_base64_url_alphabet),
		cmocka_unit_test(test_base64_roundtrip),
		cmocka_unit_test(test_base64_rejects),
		cmocka_unit_test(test_base64_space),
		cmocka_unit_test(test_password_roundtrip),
		cmocka_unit_test(test_password_known_hash),
		cmocka_unit_test(test_password_ln15),
		cmocka_unit_test(test_password_tampered),
		cmocka_unit_test(test_password_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
