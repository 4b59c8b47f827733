/*
 * Unit tests of signed checkpoints (ledger/checkpoint.c): the signed text is
 * byte for byte the example of docs/audit.md, with its signature (Ed25519 is
 * deterministic); a signature verifies with the signer's public key, and
 * fails when any byte of the text or signature changes, or with another key;
 * the key file is made once, 0600, and read back the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "ledger.h"

/* The example of docs/audit.md: seed 00 01 .. 1f, root 20 21 .. 3f, 7 leaves, 2026-01-01T00:00:00Z. */
static const char example_text[] = "bangsoleh.payakumbuh/ledger\n7\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n"
				   "time 1767225600000\n";
/* Checked with `openssl pkeyutl -sign -rawin` on the same seed and text. */
static const char example_pub[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char example_sig[] = "286f98ed4f4b620852af87d16c7f6ad82bb01475af91578ae132cdb77a4efa76"
				  "2b8c8362ee702f2dffaade0ec9b2b7622e943f05cc0f2abc6f567f6036992d0f";

static void example(uint8_t seed[LEDGER_KEY_LEN], struct ledger_checkpoint *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < LEDGER_KEY_LEN; i++)
		seed[i] = (uint8_t)i;
	for (int i = 0; i < LEDGER_HASH_LEN; i++)
		c->root[i] = (uint8_t)(0x20 + i);
	c->number = 1;
	c->tree_size = 7;
	c->time_ms = 1767225600000u;
}

static void test_text_and_signature(void **state)
{
	uint8_t seed[LEDGER_KEY_LEN], pub[LEDGER_KEY_LEN];
	struct ledger_checkpoint c;
	char text[LEDGER_CHECKPOINT_TEXT_MAX], hex[2 * LEDGER_SIGNATURE_LEN + 1];
	size_t len;
	(void)state;
	example(seed, &c);
	assert_int_equal(ledger_checkpoint_text(&c, text, sizeof(text), &len), LEDGER_OK);
	assert_int_equal(len, strlen(example_text));
	assert_string_equal(text, example_text);
	/* Too small a buffer is refused, not cut. */
	assert_int_equal(ledger_checkpoint_text(&c, text, len, &len), LEDGER_EINVAL);
	assert_int_equal(ledger_checkpoint_sign(seed, &c), LEDGER_OK);
	assert_int_equal(crypto_hex_encode(c.signature, LEDGER_SIGNATURE_LEN, hex, sizeof(hex)), CRYPTO_OK);
	assert_string_equal(hex, example_sig);
	assert_int_equal(crypto_ed25519_public(seed, pub), CRYPTO_OK);
	assert_int_equal(crypto_hex_encode(pub, LEDGER_KEY_LEN, hex, sizeof(hex)), CRYPTO_OK);
	assert_string_equal(hex, example_pub);
}

static void test_verify(void **state)
{
	uint8_t seed[LEDGER_KEY_LEN], pub[LEDGER_KEY_LEN], other_seed[LEDGER_KEY_LEN], other_pub[LEDGER_KEY_LEN];
	struct ledger_checkpoint c, bad;
	(void)state;
	example(seed, &c);
	assert_int_equal(crypto_ed25519_public(seed, pub), CRYPTO_OK);
	assert_int_equal(ledger_checkpoint_sign(seed, &c), LEDGER_OK);
	assert_true(ledger_checkpoint_verify(pub, &c));
	/* The number is not signed (it is the server's index), everything else is. */
	bad = c;
	bad.number = 2;
	assert_true(ledger_checkpoint_verify(pub, &bad));
	bad = c;
	bad.tree_size = 8;
	assert_false(ledger_checkpoint_verify(pub, &bad));
	bad = c;
	bad.time_ms++;
	assert_false(ledger_checkpoint_verify(pub, &bad));
	for (size_t i = 0; i < LEDGER_HASH_LEN; i++) {
		bad = c;
		bad.root[i] ^= 0x01;
		assert_false(ledger_checkpoint_verify(pub, &bad));
	}
	for (size_t i = 0; i < LEDGER_SIGNATURE_LEN; i++) {
		bad = c;
		bad.signature[i] ^= 0x80;
		assert_false(ledger_checkpoint_verify(pub, &bad));
	}
	/* Another key neither verifies this signature nor makes the same one. */
	assert_int_equal(crypto_ed25519_generate(other_seed, other_pub), CRYPTO_OK);
	assert_false(ledger_checkpoint_verify(other_pub, &c));
	bad = c;
	assert_int_equal(ledger_checkpoint_sign(other_seed, &bad), LEDGER_OK);
	assert_false(ledger_checkpoint_verify(pub, &bad));
	assert_true(ledger_checkpoint_verify(other_pub, &bad));
}

static void test_key_file(void **state)
{
	char dir[] = "/tmp/test_checkpoint.XXXXXX", path[64];
	uint8_t a[LEDGER_KEY_LEN], b[LEDGER_KEY_LEN];
	struct stat st;
	FILE *f;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.key", dir);
	assert_int_equal(crypto_key_file(path, a, sizeof(a)), CRYPTO_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, LEDGER_KEY_LEN);
	assert_int_equal(crypto_key_file(path, b, sizeof(b)), CRYPTO_OK);
	assert_memory_equal(a, b, sizeof(a));
	/* A file of another length is not taken for the key. */
	f = fopen(path, "ab");
	assert_non_null(f);
	fputc('x', f);
	fclose(f);
	assert_int_equal(crypto_key_file(path, b, sizeof(b)), CRYPTO_EINVAL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_and_signature),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_key_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
