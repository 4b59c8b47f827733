/*
 * Integration tests of the audit endpoints (docs/api.md, "Audit"): the real
 * `bangsoleh serve` with entries posted over HTTP in several calls; every
 * inclusion and consistency proof it serves verifies, with the pure
 * verification functions alone, against the roots it serves; bad parameters
 * are 400, sizes beyond the tree 404; the tree's head, the key,
 * checkpoints and proofs are public, the journal stays the auditors'.
 * Signed checkpoints: one made on demand after the transfers
 * verifies with the served public key and carries the served root; the
 * consistency proof between two checkpoints verifies; only admins may ask
 * for one; the schedule makes one by itself when the tree grew.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "apitest.h"
#include "audittest.h"
#include "crypto.h"
#include "ledger.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define PATH_LEN 160
#define ID_TEXT 33
/* Entries posted: calls of 1, 2, 3, 4, 5 and 6 transfers. */
#define CALLS 6
#define ENTRIES 21

struct world {
	struct testsrv *srv;
	char admin[APITEST_TOKEN_MAX];
	char auditor[APITEST_TOKEN_MAX];
	char shopper[APITEST_TOKEN_MAX];
};

static void id_text(uint64_t v, char out[ID_TEXT])
{
	struct ledger_id id = ledger_id_from_u64(v);
	ledger_id_hex(&id, out, ID_TEXT);
}

static void post(const struct world *w, const char *list, json_t *events)
{
	char path[PATH_LEN];
	json_t *doc;
	snprintf(path, sizeof(path), "/api/v1/ledger/%s", list);
	doc = apitest_call_json(w->srv, w->admin, "POST", path, json_pack("{s:o}", list, events), 200);
	json_decref(doc);
}

/* A server with `env`, three users and the ENTRIES transfers. */
static int world_setup_env(void **state, const char *const *env)
{
	const char *const roles[3] = { "admin", "auditor", "shopper" };
	struct world *w = calloc(1, sizeof(*w));
	char *tokens[3];
	char a[ID_TEXT], b[ID_TEXT];
	uint64_t id = 1000;
	if (!w)
		return -1;
	*state = w;
	w->srv = testsrv_new(NULL, env);
	if (!w->srv)
		return -1;
	tokens[0] = w->admin;
	tokens[1] = w->auditor;
	tokens[2] = w->shopper;
	for (int i = 0; i < 3; i++) {
		apitest_user_add_cli(w->srv, env, roles[i], roles[i], PASSWORD);
		apitest_login(w->srv, roles[i], PASSWORD, tokens[i]);
	}
	id_text(0x100, a);
	id_text(0x200, b);
	post(w, "accounts", json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:i}]", "id", a, "name", "test:a", "code", 2,
				      "id", b, "name", "test:b", "code", 1));
	for (int call = 1; call <= CALLS; call++) {
		json_t *events = json_array();
		for (int i = 0; i < call; i++) {
			char t[ID_TEXT];
			id_text(id++, t);
			json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:i, s:i}", "id", t, "debit_account_id",
								b, "credit_account_id", a, "amount", 100, "code", 9));
		}
		post(w, "transfers", events);
	}
	return 0;
}

static int world_setup(void **state)
{
	const char *const env[] = { COST_ENV, NULL };
	return world_setup_env(state, env);
}

/* The schedule at its shortest, so a checkpoint follows the transfers within seconds. */
static int world_setup_schedule(void **state)
{
	const char *const env[] = { COST_ENV, "BANGSOLEH_AUDIT_CHECKPOINT_INTERVAL=1", NULL };
	return world_setup_env(state, env);
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	if (w) {
		assert_true(testsrv_stopped_cleanly(w->srv));
		testsrv_free(w->srv);
	}
	free(w);
	return 0;
}

static void tree_root(const struct world *w, uint64_t size, uint8_t root[LEDGER_HASH_LEN])
{
	char path[PATH_LEN];
	json_t *doc;
	snprintf(path, sizeof(path), "/api/v1/audit/proofs/consistency?from=%llu&to=%llu", (unsigned long long)size,
		 (unsigned long long)size);
	doc = apitest_call(w->srv, w->auditor, "GET", path, NULL, 200);
	audittest_hash_of(doc, "to_root", root);
	json_decref(doc);
}

static void test_proofs_verify(void **state)
{
	struct world *w = *state;
	uint8_t roots[ENTRIES + 1][LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	char path[PATH_LEN];
	size_t n;
	json_t *doc = apitest_call(w->srv, w->auditor, "GET", "/api/v1/audit/tree", NULL, 200);
	assert_int_equal(apitest_int(doc, "size"), ENTRIES);
	audittest_hash_of(doc, "root", root);
	json_decref(doc);
	for (uint64_t size = 0; size <= ENTRIES; size++)
		tree_root(w, size, roots[size]);
	assert_memory_equal(roots[ENTRIES], root, LEDGER_HASH_LEN);
	for (uint64_t size = 1; size <= ENTRIES; size++)
		for (uint64_t seq = 1; seq <= size; seq++) {
			uint8_t leaf[LEDGER_HASH_LEN], served[LEDGER_HASH_LEN];
			snprintf(path, sizeof(path), "/api/v1/audit/proofs/inclusion?seq=%llu&tree_size=%llu",
				 (unsigned long long)seq, (unsigned long long)size);
			doc = apitest_call(w->srv, w->auditor, "GET", path, NULL, 200);
			assert_int_equal(apitest_int(doc, "seq"), seq);
			audittest_hash_of(doc, "leaf_hash", leaf);
			audittest_hash_of(doc, "root", served);
			assert_memory_equal(served, roots[size], LEDGER_HASH_LEN);
			audittest_proof_of(doc, "proof", proof, &n);
			assert_true(ledger_merkle_verify_inclusion(leaf, seq - 1, size, proof[0], n, roots[size]));
			json_decref(doc);
		}
	for (uint64_t to = 0; to <= ENTRIES; to++)
		for (uint64_t from = 0; from <= to; from++) {
			snprintf(path, sizeof(path), "/api/v1/audit/proofs/consistency?from=%llu&to=%llu",
				 (unsigned long long)from, (unsigned long long)to);
			doc = apitest_call(w->srv, w->admin, "GET", path, NULL, 200);
			audittest_proof_of(doc, "proof", proof, &n);
			assert_true(ledger_merkle_verify_consistency(from, to, roots[from], roots[to], proof[0], n));
			json_decref(doc);
		}
	/* Without tree_size / to: the current tree. */
	doc = apitest_call(w->srv, w->auditor, "GET", "/api/v1/audit/proofs/inclusion?seq=7", NULL, 200);
	assert_int_equal(apitest_int(doc, "tree_size"), ENTRIES);
	json_decref(doc);
	doc = apitest_call(w->srv, w->auditor, "GET", "/api/v1/audit/proofs/consistency?from=5", NULL, 200);
	assert_int_equal(apitest_int(doc, "to"), ENTRIES);
	json_decref(doc);
}

static void test_bad_requests(void **state)
{
	struct world *w = *state;
	static const char *const bad[] = {
		"/api/v1/audit/proofs/inclusion",
		"/api/v1/audit/proofs/inclusion?seq=0",
		"/api/v1/audit/proofs/inclusion?seq=x",
		"/api/v1/audit/proofs/inclusion?seq=-1",
		"/api/v1/audit/proofs/inclusion?seq=5&tree_size=4",
		"/api/v1/audit/proofs/inclusion?seq=1&tree_size=0",
		"/api/v1/audit/proofs/consistency",
		"/api/v1/audit/proofs/consistency?from=5&to=4",
		"/api/v1/audit/proofs/consistency?from=1&to=+3",
	};
	static const char *const beyond[] = {
		"/api/v1/audit/proofs/inclusion?seq=22",
		"/api/v1/audit/proofs/inclusion?seq=1&tree_size=22",
		"/api/v1/audit/proofs/inclusion?seq=30&tree_size=30",
		"/api/v1/audit/proofs/consistency?from=1&to=22",
		"/api/v1/audit/proofs/consistency?from=22",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		apitest_expect_error(w->srv, w->auditor, "GET", bad[i], NULL, 400, "invalid_field", NULL);
	for (size_t i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++)
		apitest_expect_error(w->srv, w->auditor, "GET", beyond[i], NULL, 404, "not_found", NULL);
}

/*
 * The tree's head, the key, the checkpoints and the proofs (hashes, sizes
 * and signatures only) are for anyone, signed in or not, so that a receipt
 * can be checked; the journal stays the auditors'.
 */
static void test_roles(void **state)
{
	struct world *w = *state;
	static const char *const public[] = {
		"/api/v1/audit/tree",
		"/api/v1/audit/public-key",
		"/api/v1/audit/checkpoints/latest",
		"/api/v1/audit/checkpoints",
		"/api/v1/audit/checkpoints?from=1&limit=1",
		"/api/v1/audit/proofs/inclusion?seq=1",
		"/api/v1/audit/proofs/consistency?from=1&to=2",
	};
	uint8_t leaf[LEDGER_HASH_LEN], proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	json_t *doc;
	size_t n;
	json_decref(apitest_call(w->srv, w->admin, "GET", "/api/v1/ledger/journal", NULL, 200));
	json_decref(apitest_call(w->srv, w->auditor, "GET", "/api/v1/ledger/journal", NULL, 200));
	json_decref(apitest_call(w->srv, w->shopper, "GET", "/api/v1/ledger/journal", NULL, 403));
	json_decref(apitest_call(w->srv, NULL, "GET", "/api/v1/ledger/journal", NULL, 401));
	json_decref(apitest_call(w->srv, w->admin, "POST", "/api/v1/audit/checkpoints", NULL, 201));
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
		json_decref(apitest_call(w->srv, NULL, "GET", public[i], NULL, 200));
		json_decref(apitest_call(w->srv, w->shopper, "GET", public[i], NULL, 200));
		json_decref(apitest_call(w->srv, w->auditor, "GET", public[i], NULL, 200));
	}
	/*
	 * Why inclusion proofs may be public: the consistency proof from 4 to 5
	 * leaves already ends with leaf 4's hash, which the inclusion proof of
	 * entry 5 gives.
	 */
	doc = apitest_call(w->srv, NULL, "GET", "/api/v1/audit/proofs/inclusion?seq=5&tree_size=5", NULL, 200);
	audittest_bytes_of(doc, "leaf_hash", false, leaf, sizeof(leaf), &n);
	json_decref(doc);
	doc = apitest_call(w->srv, NULL, "GET", "/api/v1/audit/proofs/consistency?from=4&to=5", NULL, 200);
	audittest_proof_of(doc, "proof", proof, &n);
	json_decref(doc);
	assert_true(n > 0);
	assert_memory_equal(proof[n - 1], leaf, LEDGER_HASH_LEN);
	/* Public reads, not writes: making a checkpoint stays the admin's. */
	json_decref(apitest_call(w->srv, NULL, "POST", "/api/v1/audit/checkpoints", NULL, 401));
	json_decref(apitest_call(w->srv, w->shopper, "POST", "/api/v1/audit/checkpoints", NULL, 403));
}

/* --- signed checkpoints --- */

static void public_key(const struct world *w, uint8_t pub[LEDGER_KEY_LEN])
{
	json_t *doc = apitest_call(w->srv, w->auditor, "GET", "/api/v1/audit/public-key", NULL, 200);
	size_t n;
	assert_string_equal(apitest_str(doc, "algorithm"), "ed25519");
	audittest_bytes_of(doc, "public_key", false, pub, LEDGER_KEY_LEN, &n);
	assert_int_equal(n, LEDGER_KEY_LEN);
	json_decref(doc);
}

/* POSTs a checkpoint as admin, expecting `status`. */
static void checkpoint_post(const struct world *w, int status, const uint8_t pub[LEDGER_KEY_LEN],
			    struct ledger_checkpoint *c)
{
	json_t *doc = apitest_call(w->srv, w->admin, "POST", "/api/v1/audit/checkpoints", NULL, status);
	audittest_checkpoint_of(doc, pub, c);
	json_decref(doc);
}

static void test_checkpoints(void **state)
{
	struct world *w = *state;
	uint8_t pub[LEDGER_KEY_LEN], root[LEDGER_HASH_LEN], proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	struct ledger_checkpoint first, again, second, c;
	char a[ID_TEXT], b[ID_TEXT], t[ID_TEXT], path[PATH_LEN];
	json_t *doc, *list;
	size_t n;
	public_key(w, pub);
	apitest_expect_error(w->srv, w->auditor, "GET", "/api/v1/audit/checkpoints/latest", NULL, 404, "not_found",
			     NULL);
	/* Auditors read checkpoints but may not make them. */
	json_decref(apitest_call(w->srv, w->auditor, "POST", "/api/v1/audit/checkpoints", NULL, 403));

	checkpoint_post(w, 201, pub, &first);
	assert_int_equal(first.number, 1);
	assert_int_equal(first.tree_size, ENTRIES);
	tree_root(w, ENTRIES, root);
	assert_memory_equal(first.root, root, LEDGER_HASH_LEN);
	/* The tree has not grown: the same checkpoint, 200. */
	checkpoint_post(w, 200, pub, &again);
	assert_memory_equal(&again, &first, sizeof(first));

	id_text(0x100, a);
	id_text(0x200, b);
	id_text(5000, t);
	post(w, "transfers", json_pack("[{s:s, s:s, s:s, s:i, s:i}]", "id", t, "debit_account_id", b,
				       "credit_account_id", a, "amount", 100, "code", 9));
	checkpoint_post(w, 201, pub, &second);
	assert_int_equal(second.number, 2);
	assert_int_equal(second.tree_size, ENTRIES + 1);
	assert_true(second.time_ms >= first.time_ms);

	/* The two signed heads are one history: the served proof verifies with the pure functions. */
	snprintf(path, sizeof(path), "/api/v1/audit/proofs/consistency?from=%llu&to=%llu",
		 (unsigned long long)first.tree_size, (unsigned long long)second.tree_size);
	doc = apitest_call(w->srv, w->auditor, "GET", path, NULL, 200);
	audittest_proof_of(doc, "proof", proof, &n);
	json_decref(doc);
	assert_true(ledger_merkle_verify_consistency(first.tree_size, second.tree_size, first.root, second.root,
						     &proof[0][0], n));
	assert_false(ledger_merkle_verify_consistency(first.tree_size, second.tree_size, second.root, first.root,
						      &proof[0][0], n));

	doc = apitest_call(w->srv, w->auditor, "GET", "/api/v1/audit/checkpoints/latest", NULL, 200);
	audittest_checkpoint_of(doc, pub, &c);
	assert_memory_equal(&c, &second, sizeof(c));
	json_decref(doc);
	doc = apitest_call(w->srv, w->auditor, "GET", "/api/v1/audit/checkpoints?from=1", NULL, 200);
	list = json_object_get(doc, "checkpoints");
	assert_int_equal(json_array_size(list), 2);
	audittest_checkpoint_of(json_array_get(list, 0), pub, &c);
	assert_memory_equal(&c, &first, sizeof(c));
	json_decref(doc);
	doc = apitest_call(w->srv, w->admin, "GET", "/api/v1/audit/checkpoints?from=2&limit=1", NULL, 200);
	list = json_object_get(doc, "checkpoints");
	assert_int_equal(json_array_size(list), 1);
	audittest_checkpoint_of(json_array_get(list, 0), pub, &c);
	assert_int_equal(c.number, 2);
	json_decref(doc);
	apitest_expect_error(w->srv, w->auditor, "GET", "/api/v1/audit/checkpoints?from=0", NULL, 400,
			     "invalid_field", NULL);
}

static void test_checkpoint_schedule(void **state)
{
	struct world *w = *state;
	uint8_t pub[LEDGER_KEY_LEN], root[LEDGER_HASH_LEN];
	struct ledger_checkpoint c = { 0 };
	public_key(w, pub);
	/*
	 * Interval 1 s: poll until the timer has signed the whole tree. It may first have signed a
	 * smaller one while the set-up was still posting, so every try waits, whatever the list
	 * holds; the 150 tries only bound a server that never signs, the loop ends on the condition.
	 */
	for (int tries = 0; tries < 150 && c.tree_size != ENTRIES; tries++) {
		usleep(100 * 1000);
		json_t *doc = apitest_call(w->srv, w->auditor, "GET", "/api/v1/audit/checkpoints", NULL, 200);
		const json_t *list = json_object_get(doc, "checkpoints");
		if (json_array_size(list) > 0)
			audittest_checkpoint_of(json_array_get(list, json_array_size(list) - 1), pub, &c);
		json_decref(doc);
	}
	/* Not necessarily the first: the timer may have signed the tree while the set-up was still posting. */
	assert_int_equal(c.tree_size, ENTRIES);
	assert_true(c.number >= 1);
	tree_root(w, ENTRIES, root);
	assert_memory_equal(c.root, root, LEDGER_HASH_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_proofs_verify, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_roles, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_schedule, world_setup_schedule, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
