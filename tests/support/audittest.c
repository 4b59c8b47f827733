#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "audittest.h"

#include "apitest.h"
#include "crypto.h"

void audittest_hash_of(const json_t *obj, const char *key, uint8_t out[LEDGER_HASH_LEN])
{
	size_t n;
	audittest_bytes_of(obj, key, false, out, LEDGER_HASH_LEN, &n);
	assert_int_equal(n, LEDGER_HASH_LEN);
}

void audittest_proof_of(const json_t *obj, const char *key, uint8_t (*out)[LEDGER_HASH_LEN], size_t *n)
{
	const json_t *list = json_object_get(obj, key);
	assert_true(json_is_array(list));
	*n = json_array_size(list);
	assert_true(*n <= LEDGER_PROOF_MAX);
	for (size_t i = 0; i < *n; i++) {
		const char *hex = json_string_value(json_array_get(list, i));
		size_t len;
		assert_non_null(hex);
		assert_int_equal(crypto_hex_decode(hex, strlen(hex), out[i], LEDGER_HASH_LEN, &len), 0);
		assert_int_equal(len, LEDGER_HASH_LEN);
	}
}

void audittest_bytes_of(const json_t *obj, const char *key, bool base64, uint8_t *out, size_t cap, size_t *n)
{
	const char *text = apitest_str(obj, key);
	if (base64)
		assert_int_equal(crypto_base64_decode(text, strlen(text), out, cap, n), 0);
	else
		assert_int_equal(crypto_hex_decode(text, strlen(text), out, cap, n), 0);
}

void audittest_checkpoint_of(const json_t *doc, const uint8_t pub[LEDGER_KEY_LEN], struct ledger_checkpoint *c)
{
	uint8_t served[LEDGER_CHECKPOINT_TEXT_MAX], key[LEDGER_KEY_LEN];
	char text[LEDGER_CHECKPOINT_TEXT_MAX];
	size_t n, len;
	memset(c, 0, sizeof(*c));
	c->number = (uint64_t)apitest_int(doc, "number");
	c->tree_size = (uint64_t)apitest_int(doc, "tree_size");
	c->time_ms = (uint64_t)apitest_int(doc, "time");
	audittest_hash_of(doc, "root", c->root);
	audittest_bytes_of(doc, "signature", true, c->signature, sizeof(c->signature), &n);
	assert_int_equal(n, LEDGER_SIGNATURE_LEN);
	audittest_bytes_of(doc, "public_key", false, key, sizeof(key), &n);
	assert_memory_equal(key, pub, LEDGER_KEY_LEN);
	audittest_bytes_of(doc, "signed", true, served, sizeof(served), &n);
	assert_int_equal(ledger_checkpoint_text(c, text, sizeof(text), &len), LEDGER_OK);
	assert_int_equal(n, len);
	assert_memory_equal(served, text, len);
	assert_true(crypto_ed25519_verify(pub, served, n, c->signature));
	assert_true(ledger_checkpoint_verify(pub, c));
}
