/*
 * Integration tests of the audit endpoints (docs/api.md, "Audit"): the real
 * `bangsoleh serve` with entries posted over HTTP in several calls; every
 * inclusion and consistency proof it serves verifies, with the pure
 * verification functions alone, against the roots it serves; bad parameters
 * are 400, sizes beyond the tree 404; auditors and admins read, shoppers
 * get 403.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apitest.h"
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

static int world_setup(void **state)
{
	const char *const env[] = { COST_ENV, NULL };
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

static void hash_of(const json_t *obj, const char *key, uint8_t out[LEDGER_HASH_LEN])
{
	const char *hex = apitest_str(obj, key);
	size_t n;
	assert_int_equal(crypto_hex_decode(hex, strlen(hex), out, LEDGER_HASH_LEN, &n), 0);
	assert_int_equal(n, LEDGER_HASH_LEN);
}

/* The proof list of doc, as consecutive hashes. OUT: *n elements. */
static void proof_of(const json_t *doc, uint8_t (*out)[LEDGER_HASH_LEN], size_t *n)
{
	const json_t *list = json_object_get(doc, "proof");
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

static void tree_root(const struct world *w, uint64_t size, uint8_t root[LEDGER_HASH_LEN])
{
	char path[PATH_LEN];
	json_t *doc;
	snprintf(path, sizeof(path), "/api/v1/audit/proofs/consistency?from=%llu&to=%llu", (unsigned long long)size,
		 (unsigned long long)size);
	doc = apitest_call(w->srv, w->auditor, "GET", path, NULL, 200);
	hash_of(doc, "to_root", root);
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
	hash_of(doc, "root", root);
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
			hash_of(doc, "leaf_hash", leaf);
			hash_of(doc, "root", served);
			assert_memory_equal(served, roots[size], LEDGER_HASH_LEN);
			proof_of(doc, proof, &n);
			assert_true(ledger_merkle_verify_inclusion(leaf, seq - 1, size, proof[0], n, roots[size]));
			json_decref(doc);
		}
	for (uint64_t to = 0; to <= ENTRIES; to++)
		for (uint64_t from = 0; from <= to; from++) {
			snprintf(path, sizeof(path), "/api/v1/audit/proofs/consistency?from=%llu&to=%llu",
				 (unsigned long long)from, (unsigned long long)to);
			doc = apitest_call(w->srv, w->admin, "GET", path, NULL, 200);
			proof_of(doc, proof, &n);
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

static void test_roles(void **state)
{
	struct world *w = *state;
	static const char *const paths[] = {
		"/api/v1/audit/tree",
		"/api/v1/audit/proofs/inclusion?seq=1",
		"/api/v1/audit/proofs/consistency?from=1&to=2",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		json_t *doc = apitest_call(w->srv, w->admin, "GET", paths[i], NULL, 200);
		json_decref(doc);
		doc = apitest_call(w->srv, w->shopper, "GET", paths[i], NULL, 403);
		json_decref(doc);
		doc = apitest_call(w->srv, NULL, "GET", paths[i], NULL, 401);
		json_decref(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_proofs_verify, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_roles, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
