/*
 * Reading the audit's JSON as an outside verifier would (integration tests
 * only): hashes, proofs and byte fields decoded with cmocka's checks, and a
 * checkpoint document rebuilt and its signature verified.
 */
#ifndef BANGSOLEH_AUDITTEST_H
#define BANGSOLEH_AUDITTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ledger.h"

/* obj[key], 64 hex characters, as a hash. */
void audittest_hash_of(const json_t *obj, const char *key, uint8_t out[LEDGER_HASH_LEN]);
/* obj[key], a list of hashes, as consecutive hashes. OUT: *n <= LEDGER_PROOF_MAX elements. */
void audittest_proof_of(const json_t *obj, const char *key, uint8_t (*out)[LEDGER_HASH_LEN], size_t *n);
/* obj[key], base64 or hex text, decoded into out (cap bytes). OUT: *n. */
void audittest_bytes_of(const json_t *obj, const char *key, bool base64, uint8_t *out, size_t cap, size_t *n);
/*
 * A checkpoint document: its fields rebuild the signed text it carries, and
 * the signature over that text verifies with `pub`. OUT: the checkpoint.
 */
void audittest_checkpoint_of(const json_t *doc, const uint8_t pub[LEDGER_KEY_LEN], struct ledger_checkpoint *c);

#endif
