/*
 * Payouts, balances and statements over the wire: the real `bangsoleh
 * serve` and the real `bangsoleh-sandbox` provider on loopback. Each test
 * starts both (world_start): an admin made with `bangsoleh user add`, the
 * other users made by the admin over HTTP, and stores registered by the
 * admin: warung (UMI, run by siti, with a bank account), toko (UKE, run by
 * budi, without one) and rusak (UMI, run by siti, with an account number the
 * sandbox always refuses). Money reaches a store as an in-store charge paid
 * at the sandbox. The server delivers through the city's own couriers
 * (courier.gateway=local, a flat COURIER_FEE): a courier earns their fee by
 * delivering a shopper's order (courier_journey). Every test ends with
 * `bangsoleh ledger verify` and a clean exit of both programs.
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

#include <jansson.h>

#include "crypto.h"
#include "apitest.h"
#include "sandboxtest.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define RETRY_ENV "BANGSOLEH_PAYMENT_RECONCILE_AFTER=1"
#define LOCAL_ENV "BANGSOLEH_COURIER_GATEWAY=local"
#define COURIER_FEE 15000         /* courier.local_flat: the fee of a delivery under 1 kg without coordinates */
#define FEE_ENV "BANGSOLEH_COURIER_LOCAL_FLAT=15000"
#define SANDBOX_KEY "SB-Mid-server-bangsoleh-sandbox"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define ID_MAX 65
#define PATH_MAX_LEN 512
#define LINE_MAX_LEN 1200
#define WAIT_MS 30000             /* longest wait for something asynchronous to show */
#define WAIT_STEP_MS 50

struct world {
	struct sandboxtest sb;
	struct testsrv *srv;
	int port;
	char data[TESTSRV_PATH_MAX + 16];   /* where the store is (it moves on a restart) */
	char moved[TESTSRV_PATH_MAX];       /* the folder it moved to, removed at the end */
	char admin[TOKEN_MAX], auditor[TOKEN_MAX], shopper[TOKEN_MAX], courier[TOKEN_MAX];
	char siti[TOKEN_MAX], budi[TOKEN_MAX];
	uint64_t warung, toko, rusak;
	uint64_t siti_id, courier_id;
};

/* --- HTTP helpers --- */

static json_t *call(const struct world *w, const char *token, const char *method, const char *path,
		    const char *body, int status)
{
	return apitest_call(w->srv, token, method, path, body, status);
}

static void expect_error(const struct world *w, const char *token, const char *method, const char *path,
			 const char *body, int status, const char *code)
{
	apitest_expect_error(w->srv, token, method, path, body, status, code, NULL);
}

/* A store's endpoints: "/api/v1/merchants/<m>" (OUT: prefix, PATH_MAX_LEN bytes). */
static const char *store_prefix(uint64_t m, char *prefix)
{
	snprintf(prefix, PATH_MAX_LEN, "/api/v1/merchants/%llu", (unsigned long long)m);
	return prefix;
}

/*
 * POSTs a payout request to prefix/payouts as token with an optional
 * Idempotency-Key. OUT: *status. Returns the body as JSON (NULL when it is not).
 */
static json_t *payout_post_at(const struct world *w, const char *token, const char *prefix, const char *body,
			      const char *key, int *status)
{
	char path[PATH_MAX_LEN + 16], auth[TOKEN_MAX + 32], idem[128];
	const char *headers[4] = { "Content-Type: application/json", NULL, NULL, NULL };
	struct testsrv_response resp;
	size_t n = 1;
	json_t *doc;
	snprintf(path, sizeof(path), "%s/payouts", prefix);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[n++] = auth;
	}
	if (key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
		headers[n++] = idem;
	}
	assert_int_equal(testsrv_request(w->srv, "POST", path, headers, body, &resp), 0);
	*status = resp.status;
	doc = json_loadb(resp.body, resp.body_len, 0, NULL);
	testsrv_response_free(&resp);
	return doc;
}

static json_t *payout_post(const struct world *w, const char *token, uint64_t m, const char *body, const char *key,
			   int *status)
{
	char prefix[PATH_MAX_LEN];
	return payout_post_at(w, token, store_prefix(m, prefix), body, key, status);
}

/* A payout of amount at prefix that must be accepted (201, processing). OUT: id. Returns it. */
static json_t *payout_at(const struct world *w, const char *token, const char *prefix, int64_t amount,
			 char id[ID_MAX])
{
	char body[64];
	int status;
	json_t *doc;
	snprintf(body, sizeof(body), "{\"amount\":%lld}", (long long)amount);
	doc = payout_post_at(w, token, prefix, body, NULL, &status);
	if (status != 201)
		fail_msg("payout of %lld: status %d", (long long)amount, status);
	assert_string_equal(apitest_str(doc, "status"), "processing");
	assert_int_equal(apitest_int(doc, "amount"), amount);
	snprintf(id, ID_MAX, "%s", apitest_str(doc, "id"));
	assert_int_equal(strlen(id), 32);
	return doc;
}

/* A store's payout of amount that must be accepted. OUT: id. */
static void payout(const struct world *w, const char *token, uint64_t m, int64_t amount, char id[ID_MAX])
{
	char prefix[PATH_MAX_LEN];
	json_t *doc = payout_at(w, token, store_prefix(m, prefix), amount, id);
	assert_string_equal(apitest_str(doc, "payee"), "merchant");
	assert_int_equal(apitest_int(doc, "merchant_id"), m);
	json_decref(doc);
}

/* The payout request to prefix/payouts fails with status and code. */
static void payout_refused_at(const struct world *w, const char *token, const char *prefix, const char *body,
			      int status, const char *code)
{
	char path[PATH_MAX_LEN + 16];
	snprintf(path, sizeof(path), "%s/payouts", prefix);
	expect_error(w, token, "POST", path, body, status, code);
}

static void payout_refused(const struct world *w, const char *token, uint64_t m, const char *body, int status,
			   const char *code)
{
	char prefix[PATH_MAX_LEN];
	payout_refused_at(w, token, store_prefix(m, prefix), body, status, code);
}

static json_t *payout_get(const struct world *w, const char *id)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/payouts/%s", id);
	return call(w, w->auditor, "GET", path, NULL, 200);
}

/* Waits until the payout has this status; returns it. */
static json_t *wait_payout(const struct world *w, const char *id, const char *status)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		json_t *doc = payout_get(w, id);
		if (strcmp(apitest_str(doc, "status"), status) == 0)
			return doc;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("payout %s is %s, want %s", id, apitest_str(doc, "status"), status);
		json_decref(doc);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/*
 * Finishes a payout the sandbox holds (payout_manual) with `result`. The
 * server answers a payout before it sends the disbursement, so this first
 * waits until the payout records the sandbox's answer (its provider_ref).
 */
static void sandbox_finish(const struct world *w, const char *id, const char *result)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	char path[PATH_MAX_LEN], body[64];
	for (;;) {
		json_t *doc = payout_get(w, id);
		bool sent = apitest_str(doc, "provider_ref")[0] != '\0';
		json_decref(doc);
		if (sent)
			break;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("payout %s never reached the sandbox", id);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
	snprintf(path, sizeof(path), "/simulate/payout/%s", id);
	snprintf(body, sizeof(body), "{\"result\":\"%s\"}", result);
	json_decref(sandboxtest_call(&w->sb, "POST", path, body, 200));
}

/* --- users, stores, money --- */

static uint64_t user_add(const struct world *w, const char *role, const char *username)
{
	json_t *doc = apitest_call_json(w->srv, w->admin, "POST", "/api/v1/users",
					json_pack("{s:s, s:s, s:s}", "username", username, "password", PASSWORD,
						  "role", role),
					201);
	uint64_t id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	return id;
}

/* A verified store (with the phone and address a courier's pickup needs); account NULL: without bank details. */
static uint64_t merchant_add(const struct world *w, const char *name, uint64_t owner, const char *criteria,
			     const char *account)
{
	json_t *body = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "owner_user_id",
				 (json_int_t)owner, "city", "BANDUNG", "postal_code", "40111", "criteria", criteria,
				 "nmid", "ID1020021181745", "phone", "0812345678", "address", "Jl. Sudirman 12");
	json_t *doc;
	uint64_t id;
	if (account) {
		json_object_set_new(body, "bank_code", json_string("BRI"));
		json_object_set_new(body, "bank_account", json_string(account));
		json_object_set_new(body, "bank_name", json_string(name));
	}
	doc = apitest_call_json(w->srv, w->admin, "POST", "/api/v1/admin/merchants", body, 201);
	id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	return id;
}

/* Money for store m: an in-store charge of amount, paid at the sandbox. UMI stores pay no MDR up to 500,000. */
static void fund(const struct world *w, const char *token, uint64_t m, int64_t amount)
{
	char path[PATH_MAX_LEN], body[64], id[ID_MAX];
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	json_t *doc;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/charges", (unsigned long long)m);
	snprintf(body, sizeof(body), "{\"amount\":%lld}", (long long)amount);
	doc = call(w, token, "POST", path, body, 201);
	snprintf(id, sizeof(id), "%s", apitest_str(doc, "id"));
	json_decref(doc);
	snprintf(path, sizeof(path), "/simulate/pay/%s", id);
	json_decref(sandboxtest_call(&w->sb, "POST", path, "{}", 200));
	snprintf(path, sizeof(path), "/api/v1/payments/%s", id);
	for (;;) {
		bool paid;
		doc = call(w, w->admin, "GET", path, NULL, 200);
		paid = strcmp(apitest_str(doc, "status"), "paid") == 0;
		json_decref(doc);
		if (paid)
			return;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("payment %s was not paid", id);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/* The balance at prefix/balance (read by the auditor) is exactly this. */
static void expect_balance_at(const struct world *w, const char *prefix, int64_t credits, int64_t debits,
			      int64_t pending, int64_t available)
{
	char path[PATH_MAX_LEN + 16];
	json_t *doc;
	snprintf(path, sizeof(path), "%s/balance", prefix);
	doc = call(w, w->auditor, "GET", path, NULL, 200);
	if (apitest_int(doc, "credits_posted") != credits || apitest_int(doc, "debits_posted") != debits ||
	    apitest_int(doc, "debits_pending") != pending || apitest_int(doc, "available") != available ||
	    apitest_int(doc, "balance") != credits - debits || apitest_int(doc, "pending") != pending)
		fail_msg("balance of %s: credits %lld debits %lld pending %lld available %lld; want %lld %lld %lld %lld",
			 prefix, (long long)apitest_int(doc, "credits_posted"),
			 (long long)apitest_int(doc, "debits_posted"), (long long)apitest_int(doc, "debits_pending"),
			 (long long)apitest_int(doc, "available"), (long long)credits, (long long)debits,
			 (long long)pending, (long long)available);
	json_decref(doc);
}

static void expect_balance(const struct world *w, uint64_t m, int64_t credits, int64_t debits, int64_t pending,
			   int64_t available)
{
	char prefix[PATH_MAX_LEN];
	expect_balance_at(w, store_prefix(m, prefix), credits, debits, pending, available);
}

/* --- payout notifications made by the test, signed as the sandbox signs them --- */

/* POSTs a payout notification; returns the status, OUT: result ("" when none). */
static int payout_note(const struct world *w, const char *payout_id, const char *ref, const char *status,
		       int64_t amount, const char *key, char *result, size_t cap)
{
	const char *headers[] = { "Content-Type: application/json", NULL };
	char text[LINE_MAX_LEN], amount_text[32], sig[2 * CRYPTO_SHA512_LEN + 1];
	uint8_t digest[CRYPTO_SHA512_LEN];
	struct testsrv_response resp;
	json_t *doc;
	char *body;
	int n, code;
	snprintf(amount_text, sizeof(amount_text), "%lld.00", (long long)amount);
	n = snprintf(text, sizeof(text), "%s%s%s%s", payout_id, status, amount_text, key);
	assert_int_equal(crypto_sha512(text, (size_t)n, digest), CRYPTO_OK);
	assert_int_equal(crypto_hex_encode(digest, sizeof(digest), sig, sizeof(sig)), CRYPTO_OK);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "event", "payout", "payout_id", payout_id, "id", ref,
			"amount", amount_text, "status", status, "signature_key", sig);
	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_int_equal(testsrv_request(w->srv, "POST", SANDBOXTEST_WEBHOOK_PATH, headers, body, &resp), 0);
	free(body);
	code = resp.status;
	doc = json_loadb(resp.body, resp.body_len, 0, NULL);
	snprintf(result, cap, "%s", json_is_string(json_object_get(doc, "result")) ?
					    json_string_value(json_object_get(doc, "result")) : "");
	json_decref(doc);
	testsrv_response_free(&resp);
	return code;
}

static void expect_note(const struct world *w, const char *payout_id, const char *ref, const char *status,
			int64_t amount, int want_status, const char *want_result)
{
	char got[32];
	int code = payout_note(w, payout_id, ref, status, amount, SANDBOX_KEY, got, sizeof(got));
	if (code != want_status || strcmp(got, want_result) != 0)
		fail_msg("%s %s: status %d result \"%s\", want %d \"%s\"", status, payout_id, code, got, want_status,
			 want_result);
}

/* --- the world --- */

static void server_start(struct world *w, const char *const *env, const char *data)
{
	char listen[32];
	const char *args[] = { "--listen", listen, data ? "--data" : NULL, data, NULL };
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", w->port);
	w->srv = testsrv_new(args, env);
	assert_non_null(w->srv);
	snprintf(w->data, sizeof(w->data), "%s", data ? data : w->srv->data_dir);
}

static void world_start(struct world *w)
{
	char base_url[64];
	const char *env[] = { COST_ENV, RETRY_ENV, LOCAL_ENV, FEE_ENV, base_url, NULL };
	const char *cli_env[] = { COST_ENV, NULL };
	uint64_t siti, budi;
	w->port = sandboxtest_free_port();
	assert_int_equal(sandboxtest_start(&w->sb, w->port), 0);
	snprintf(base_url, sizeof(base_url), "BANGSOLEH_PAYMENT_BASE_URL=http://127.0.0.1:%d", w->sb.port);
	server_start(w, env, NULL);
	apitest_user_add_cli(w->srv, cli_env, "admin", "admin", PASSWORD);
	apitest_login(w->srv, "admin", PASSWORD, w->admin);
	siti = w->siti_id = user_add(w, "merchant", "siti");
	budi = user_add(w, "merchant", "budi");
	user_add(w, "shopper", "shopper");
	user_add(w, "auditor", "auditor");
	w->courier_id = user_add(w, "courier", "courier");
	apitest_login(w->srv, "siti", PASSWORD, w->siti);
	apitest_login(w->srv, "budi", PASSWORD, w->budi);
	apitest_login(w->srv, "shopper", PASSWORD, w->shopper);
	apitest_login(w->srv, "auditor", PASSWORD, w->auditor);
	apitest_login(w->srv, "courier", PASSWORD, w->courier);
	w->warung = merchant_add(w, "Warung Bu Siti", siti, "UMI", "1234567890");
	w->toko = merchant_add(w, "Toko Budi", budi, "UKE", NULL);
	w->rusak = merchant_add(w, "Kios Siti", siti, "UMI", "0001234567");
}

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	sandboxtest_init(&w->sb);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	if (w) {
		testsrv_free(w->srv);
		sandboxtest_stop(&w->sb);
		if (w->moved[0])
			testsrv_rmtree(w->moved);
	}
	free(w);
	return 0;
}

/* Ends a test: the books verify, and both programs stop with status 0. */
static void world_finish(struct world *w)
{
	sandboxtest_ledger_verify(w->data);
	assert_true(testsrv_stopped_cleanly(w->srv));
	testsrv_free(w->srv);
	w->srv = NULL;
	assert_int_equal(sandboxtest_stop(&w->sb), 0);
}

/* --- statements --- */

struct line {
	const char *kind;        /* transfer, held, posted, voided */
	const char *reason;
	const char *direction;
	int64_t amount, balance, available;
	const char *counterparty;
};

/*
 * The statement, newest first, is exactly `want`: read whole by the auditor
 * at prefix, and again one entry per page by its owner (token) at
 * owner_prefix.
 */
static void expect_statement_at(const struct world *w, const char *prefix, const char *token,
				const char *owner_prefix, const struct line *want, size_t n)
{
	char path[PATH_MAX_LEN + 64], cursor[32] = "";
	json_t *doc, *e;
	size_t i;
	snprintf(path, sizeof(path), "%s/statement?limit=200", prefix);
	doc = call(w, w->auditor, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), n);
	assert_true(json_is_null(json_object_get(doc, "next_cursor")));
	json_decref(doc);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/statement?limit=1%s%s", owner_prefix, cursor[0] ? "&cursor=" : "",
			 cursor);
		doc = call(w, token, "GET", path, NULL, 200);
		assert_int_equal(json_array_size(json_object_get(doc, "entries")), 1);
		e = json_array_get(json_object_get(doc, "entries"), 0);
		if (strcmp(apitest_str(e, "kind"), want[i].kind) != 0 || strcmp(apitest_str(e, "reason"), want[i].reason) != 0 ||
		    strcmp(apitest_str(e, "direction"), want[i].direction) != 0 ||
		    strcmp(apitest_str(e, "counterparty"), want[i].counterparty) != 0 ||
		    apitest_int(e, "amount") != want[i].amount || apitest_int(e, "balance") != want[i].balance ||
		    apitest_int(e, "available") != want[i].available)
			fail_msg("statement line %zu: %s", i, json_dumps(e, JSON_COMPACT));
		if (i + 1 < n)
			snprintf(cursor, sizeof(cursor), "%s", apitest_str(doc, "next_cursor"));
		else
			assert_true(json_is_null(json_object_get(doc, "next_cursor")));
		json_decref(doc);
	}
}

/* A store of siti's: its statement. */
static void expect_statement(const struct world *w, uint64_t m, const struct line *want, size_t n)
{
	char prefix[PATH_MAX_LEN];
	expect_statement_at(w, store_prefix(m, prefix), w->siti, prefix, want, n);
}

/* --- tests --- */

/* Money in, a payout out: completed, exact balances, statement, duplicates change nothing. */
static void test_payout_completes(void **state)
{
	struct world *w = *state;
	char id[ID_MAX], ref[ID_MAX], path[PATH_MAX_LEN];
	json_t *doc;
	world_start(w);
	fund(w, w->siti, w->warung, 200000);
	expect_balance(w, w->warung, 200000, 0, 0, 200000);
	payout(w, w->siti, w->warung, 150000, id);
	doc = wait_payout(w, id, "completed");
	snprintf(ref, sizeof(ref), "%s", apitest_str(doc, "provider_ref"));
	assert_true(ref[0] != '\0');
	assert_string_equal(apitest_str(doc, "bank_account"), "1234567890");
	assert_string_equal(apitest_str(doc, "bank_code"), "BRI");
	json_decref(doc);
	expect_balance(w, w->warung, 200000, 150000, 0, 50000);

	/* The provider's notifications again, and a late contradicting one: nothing moves. */
	for (int i = 0; i < 3; i++)
		expect_note(w, id, ref, "COMPLETED", 150000, 200, "duplicate");
	expect_note(w, id, ref, "FAILED", 150000, 200, "recorded");
	expect_note(w, "0123456789abcdef0123456789abcdef", "po_x", "COMPLETED", 150000, 404, "");
	{
		char got[32];
		assert_int_equal(payout_note(w, id, ref, "COMPLETED", 150000, "not-the-key", got, sizeof(got)), 401);
	}
	doc = payout_get(w, id);
	assert_string_equal(apitest_str(doc, "status"), "completed");
	assert_true(json_is_null(json_object_get(doc, "failure_reason")));
	json_decref(doc);
	expect_balance(w, w->warung, 200000, 150000, 0, 50000);

	{
		const struct line want[] = {
			{ "posted", "payout", "debit", 150000, 50000, 50000, "bank:settlement" },
			{ "held", "payout", "debit", 150000, 200000, 50000, "bank:settlement" },
			{ "transfer", "payment", "credit", 200000, 200000, 200000, "gateway:sandbox:clearing" },
		};
		expect_statement(w, w->warung, want, 3);
	}
	/* The list, newest first, paged. */
	payout_refused(w, w->siti, w->warung, "{\"amount\":50001}", 422, "insufficient_balance");
	{
		char second[ID_MAX];
		payout(w, w->siti, w->warung, 50000, second);
		json_decref(wait_payout(w, second, "completed"));
		expect_balance(w, w->warung, 200000, 200000, 0, 0);
		snprintf(path, sizeof(path), "/api/v1/merchants/%llu/payouts?limit=1", (unsigned long long)w->warung);
		doc = call(w, w->siti, "GET", path, NULL, 200);
		assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "payouts"), 0), "id"), second);
		snprintf(path, sizeof(path), "/api/v1/merchants/%llu/payouts?limit=1&cursor=%s",
			 (unsigned long long)w->warung, apitest_str(doc, "next_cursor"));
		json_decref(doc);
		doc = call(w, w->admin, "GET", path, NULL, 200);
		assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "payouts"), 0), "id"), id);
		assert_true(json_is_null(json_object_get(doc, "next_cursor")));
		json_decref(doc);
	}
	world_finish(w);
}

/* The sandbox refuses the account: the hold is voided, the balance is back, and a new payout may follow. */
static void test_payout_fails(void **state)
{
	struct world *w = *state;
	char id[ID_MAX];
	json_t *doc;
	world_start(w);
	fund(w, w->siti, w->rusak, 100000);
	payout(w, w->siti, w->rusak, 60000, id);
	doc = wait_payout(w, id, "failed");
	assert_true(apitest_str(doc, "failure_reason")[0] != '\0');
	json_decref(doc);
	expect_balance(w, w->rusak, 100000, 0, 0, 100000);
	{
		const struct line want[] = {
			{ "voided", "payout", "debit", 60000, 100000, 100000, "bank:settlement" },
			{ "held", "payout", "debit", 60000, 100000, 40000, "bank:settlement" },
			{ "transfer", "payment", "credit", 100000, 100000, 100000, "gateway:sandbox:clearing" },
		};
		expect_statement(w, w->rusak, want, 3);
	}
	/* Forward only: a completion after the failure changes nothing. */
	doc = payout_get(w, id);
	expect_note(w, id, apitest_str(doc, "provider_ref"), "COMPLETED", 60000, 200, "recorded");
	json_decref(doc);
	expect_balance(w, w->rusak, 100000, 0, 0, 100000);
	/* Not open any more: the next payout is taken (and fails the same way). */
	payout(w, w->siti, w->rusak, 100000, id);
	json_decref(wait_payout(w, id, "failed"));
	expect_balance(w, w->rusak, 100000, 0, 0, 100000);
	world_finish(w);
}

/* Minimum, one open payout, balance, bank account, bodies, Idempotency-Key. */
static void test_rules_and_idempotency(void **state)
{
	struct world *w = *state;
	char id[ID_MAX];
	json_t *doc;
	int status;
	world_start(w);
	fund(w, w->siti, w->warung, 100000);
	fund(w, w->budi, w->toko, 100000);

	payout_refused(w, w->siti, w->warung, "{\"amount\":9999}", 422, "below_minimum");
	payout_refused(w, w->siti, w->warung, "{\"amount\":100001}", 422, "insufficient_balance");
	payout_refused(w, w->budi, w->toko, "{\"amount\":10000}", 409, "no_bank_account");
	payout_refused(w, w->siti, w->warung, "{\"amount\":10000,\"note\":\"x\"}", 400, "unknown_field");
	payout_refused(w, w->siti, w->warung, "{\"amount\":\"10000\"}", 400, "invalid_field");
	payout_refused(w, w->siti, w->warung, "{\"amount\":0}", 400, "invalid_field");
	payout_refused(w, w->siti, w->warung, "{\"amount\":1.5}", 400, "invalid_field");
	payout_refused(w, w->siti, w->warung, "{\"amount\":10000000000}", 400, "invalid_field");
	payout_refused(w, w->siti, w->warung, "{}", 400, "invalid_field");
	payout_refused(w, w->siti, w->warung, "[1]", 400, "invalid_json");
	payout_refused(w, w->siti, w->warung, "{\"amount\":", 400, "invalid_json");
	expect_balance(w, w->warung, 100000, 0, 0, 100000);

	/* The sandbox keeps payouts processing: the store has one open payout. */
	sandboxtest_fault(&w->sb, "global", "\"payout_manual\":true");
	doc = payout_post(w, w->siti, w->warung, "{\"amount\":30000}", "key-1", &status);
	assert_int_equal(status, 201);
	snprintf(id, sizeof(id), "%s", apitest_str(doc, "id"));
	json_decref(doc);
	expect_balance(w, w->warung, 100000, 0, 30000, 70000);
	/* The same key and body: the same payout, nothing held twice. */
	doc = payout_post(w, w->siti, w->warung, "{\"amount\":30000}", "key-1", &status);
	assert_int_equal(status, 201);
	assert_string_equal(apitest_str(doc, "id"), id);
	json_decref(doc);
	doc = payout_post(w, w->siti, w->warung, "{\"amount\":30001}", "key-1", &status);
	assert_int_equal(status, 409);
	assert_string_equal(apitest_str(json_object_get(doc, "error"), "code"), "idempotency_key_reused");
	json_decref(doc);
	payout_refused(w, w->siti, w->warung, "{\"amount\":10000}", 409, "payout_open");
	expect_balance(w, w->warung, 100000, 0, 30000, 70000);

	/* The provider finishes it; the store may ask again. */
	sandbox_finish(w, id, "completed");
	json_decref(wait_payout(w, id, "completed"));
	expect_balance(w, w->warung, 100000, 30000, 0, 70000);
	doc = payout_post(w, w->siti, w->warung, "{\"amount\":30000}", "key-1", &status);
	assert_int_equal(status, 201);
	assert_string_equal(apitest_str(doc, "id"), id);
	assert_string_equal(apitest_str(doc, "status"), "completed");
	json_decref(doc);
	payout(w, w->siti, w->warung, 70000, id);
	sandbox_finish(w, id, "failed");
	json_decref(wait_payout(w, id, "failed"));
	expect_balance(w, w->warung, 100000, 30000, 0, 70000);
	world_finish(w);
}

/* Every endpoint with every role. */
static void test_authorization(void **state)
{
	struct world *w = *state;
	char id[ID_MAX], paths[5][PATH_MAX_LEN], missing[PATH_MAX_LEN + 32];
	world_start(w);
	fund(w, w->siti, w->warung, 50000);
	payout(w, w->siti, w->warung, 20000, id);
	json_decref(wait_payout(w, id, "completed"));
	snprintf(paths[0], PATH_MAX_LEN, "/api/v1/merchants/%llu/payouts", (unsigned long long)w->warung);
	snprintf(paths[1], PATH_MAX_LEN, "/api/v1/merchants/%llu/payouts", (unsigned long long)w->warung);
	snprintf(paths[2], PATH_MAX_LEN, "/api/v1/payouts/%s", id);
	snprintf(paths[3], PATH_MAX_LEN, "/api/v1/merchants/%llu/balance", (unsigned long long)w->warung);
	snprintf(paths[4], PATH_MAX_LEN, "/api/v1/merchants/%llu/statement", (unsigned long long)w->warung);
	for (int i = 0; i < 5; i++) {
		const char *method = i == 0 ? "POST" : "GET";
		const char *body = i == 0 ? "{\"amount\":10000}" : NULL;
		expect_error(w, NULL, method, paths[i], body, 401, "unauthorized");
		expect_error(w, w->shopper, method, paths[i], body, 403, "forbidden");
		expect_error(w, w->courier, method, paths[i], body, 403, "forbidden");
		expect_error(w, w->budi, method, paths[i], body, 403, "forbidden");
		if (i == 0) {
			expect_error(w, w->auditor, method, paths[i], body, 403, "forbidden");
			expect_error(w, w->admin, method, paths[i], body, 403, "forbidden");
			continue;
		}
		json_decref(call(w, w->siti, method, paths[i], NULL, 200));
		json_decref(call(w, w->auditor, method, paths[i], NULL, 200));
		json_decref(call(w, w->admin, method, paths[i], NULL, 200));
	}
	/* Unknown ids and bad parameters. */
	expect_error(w, w->admin, "GET", "/api/v1/payouts/0123456789abcdef0123456789abcdef", NULL, 404, "not_found");
	expect_error(w, w->admin, "GET", "/api/v1/payouts/nope", NULL, 404, "not_found");
	expect_error(w, w->admin, "GET", "/api/v1/merchants/999999/balance", NULL, 404, "not_found");
	expect_error(w, w->admin, "GET", "/api/v1/merchants/999999/statement", NULL, 404, "not_found");
	expect_error(w, w->admin, "GET", "/api/v1/merchants/999999/payouts", NULL, 404, "not_found");
	expect_error(w, w->siti, "POST", "/api/v1/merchants/999999/payouts", "{\"amount\":10000}", 404, "not_found");
	snprintf(missing, sizeof(missing), "%s?limit=0", paths[4]);
	expect_error(w, w->admin, "GET", missing, NULL, 400, "invalid_field");
	snprintf(missing, sizeof(missing), "%s?cursor=999999", paths[4]);
	expect_error(w, w->admin, "GET", missing, NULL, 400, "invalid_field");
	snprintf(missing, sizeof(missing), "%s?cursor=xyz", paths[1]);
	expect_error(w, w->admin, "GET", missing, NULL, 400, "invalid_field");
	snprintf(missing, sizeof(missing), "%s?limit=101", paths[1]);
	expect_error(w, w->admin, "GET", missing, NULL, 400, "invalid_field");
	world_finish(w);
}

/*
 * The server dies while the disbursement is on its way (the sandbox holds
 * the call and does nothing): after a restart the sweep sends it again and
 * the payout completes, once.
 */
static void test_restart_sweep(void **state)
{
	struct world *w = *state;
	char base_url[64], id[ID_MAX];
	const char *env[] = { COST_ENV, RETRY_ENV, LOCAL_ENV, FEE_ENV, base_url, NULL };
	json_t *doc;
	world_start(w);
	fund(w, w->siti, w->warung, 80000);
	sandboxtest_fault(&w->sb, "global", "\"timeout\":1");
	payout(w, w->siti, w->warung, 80000, id);
	sandboxtest_sleep_ms(300);
	expect_balance(w, w->warung, 80000, 0, 80000, 0);
	assert_int_equal(testsrv_crash_keep_data(w->srv, w->moved, sizeof(w->moved), w->data, sizeof(w->data)), 0);
	testsrv_free(w->srv);
	snprintf(base_url, sizeof(base_url), "BANGSOLEH_PAYMENT_BASE_URL=http://127.0.0.1:%d", w->sb.port);
	{
		char data[sizeof(w->data)];
		snprintf(data, sizeof(data), "%s", w->data);
		server_start(w, env, data);
	}
	apitest_login(w->srv, "auditor", PASSWORD, w->auditor);
	doc = wait_payout(w, id, "completed");
	json_decref(doc);
	expect_balance(w, w->warung, 80000, 80000, 0, 0);
	doc = sandboxtest_call(&w->sb, "GET", "/simulate/charges", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "payouts")), 1);
	json_decref(doc);
	world_finish(w);
}

/* --- the city's couriers --- */

static const char COURIER_SELF[] = "/api/v1/courier";

/* An admin's or auditor's way to a courier's endpoints: "/api/v1/couriers/<id>" (OUT: prefix, PATH_MAX_LEN). */
static const char *courier_prefix(uint64_t user_id, char *prefix)
{
	snprintf(prefix, PATH_MAX_LEN, "/api/v1/couriers/%llu", (unsigned long long)user_id);
	return prefix;
}

/* The order's state, read by the admin, becomes `state` (polled with a bound). */
static void wait_order(const struct world *w, uint64_t id, const char *state)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/orders/%llu", (unsigned long long)id);
	for (;;) {
		json_t *doc = call(w, w->admin, "GET", path, NULL, 200);
		bool there = strcmp(apitest_str(doc, "state"), state) == 0;
		json_decref(doc);
		if (there)
			return;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("order %llu never became %s", (unsigned long long)id, state);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/* The courier (token) moves shipment sid on to `to`, giving the delivery PIN when not NULL. */
static void shipment_move(const struct world *w, const char *token, const char *sid, const char *to, const char *pin)
{
	char path[PATH_MAX_LEN], body[128];
	json_t *doc;
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/status", sid);
	snprintf(body, sizeof(body), "{\"status\":\"%s\"%s%s%s}", to, pin ? ",\"pin\":\"" : "", pin ? pin : "",
		 pin ? "\"" : "");
	doc = call(w, token, "POST", path, body, 200);
	assert_string_equal(apitest_str(doc, "state"), to);
	json_decref(doc);
}

/*
 * The shopper's order of one product of warung, delivered by the city's
 * courier `token`: local rates, checkout with the rate's token, payment at
 * the sandbox, siti confirms, the courier accepts the job, picks it up,
 * rides, and delivers with the buyer's PIN; the buyer confirms receipt, so
 * the fee reaches the courier's payable. Returns the order's id.
 */
static uint64_t courier_journey(const struct world *w, const char *token, const char *key)
{
	char path[PATH_MAX_LEN], sid[ID_MAX], pin[8], *text;
	json_t *doc, *rate, *body;
	uint64_t product, order;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)w->warung);
	doc = call(w, w->siti, "POST", path,
		   "{\"title\":\"Rendang\",\"description\":\"Oleh-oleh\",\"price\":50000,\"stock\":5,\"weight_g\":250,"
		   "\"category\":\"makanan\"}",
		   201);
	product = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);

	doc = apitest_call_json(w->srv, NULL, "POST", "/api/v1/shipping/rates",
				json_pack("{s:I, s:[{s:I, s:i}], s:{s:s}}", "merchant_id", (json_int_t)w->warung, "items",
					  "product_id", (json_int_t)product, "quantity", 1, "ship_to", "postal_code",
					  "40111"),
				200);
	rate = json_array_get(json_object_get(doc, "rates"), 0);
	assert_non_null(rate);
	assert_int_equal(apitest_int(rate, "price"), COURIER_FEE);
	/* "shipping": {"<store id>": rate_token} */
	snprintf(path, sizeof(path), "%llu", (unsigned long long)w->warung);
	body = json_pack("{s:[{s:I, s:i}], s:{s:s, s:s, s:s, s:s, s:s}, s:{s:O}}", "items", "product_id",
			 (json_int_t)product, "quantity", 1, "ship_to", "name", "Ani", "phone", "081200001111", "address",
			 "Jl. Merdeka 5", "city", "Bandung", "postal_code", "40111", "shipping", path,
			 json_object_get(rate, "rate_token"));
	json_decref(doc);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	doc = apitest_call_keyed(w->srv, w->shopper, "POST", "/api/v1/checkout", key, text, 201);
	free(text);
	assert_int_equal(apitest_int(doc, "total"), 50000 + COURIER_FEE);
	order = (uint64_t)apitest_int(json_array_get(json_object_get(doc, "orders"), 0), "id");
	sandboxtest_pay(&w->sb, apitest_str(doc, "payment_id"), 0);
	json_decref(doc);
	wait_order(w, order, "paid");

	snprintf(path, sizeof(path), "/api/v1/orders/%llu/confirm", (unsigned long long)order);
	json_decref(call(w, w->siti, "POST", path, NULL, 200));
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/tracking", (unsigned long long)order);
	doc = call(w, w->shopper, "GET", path, NULL, 200);
	snprintf(sid, sizeof(sid), "%s", apitest_str(json_object_get(doc, "shipment"), "id"));
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/accept", sid);
	json_decref(call(w, token, "POST", path, NULL, 200));
	shipment_move(w, token, sid, "picked", NULL);
	shipment_move(w, token, sid, "in_transit", NULL);
	snprintf(path, sizeof(path), "/api/v1/orders/%llu", (unsigned long long)order);
	doc = call(w, w->shopper, "GET", path, NULL, 200);
	snprintf(pin, sizeof(pin), "%s", apitest_str(doc, "delivery_pin"));
	json_decref(doc);
	shipment_move(w, token, sid, "delivered", pin);
	wait_order(w, order, "delivered");
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/receive", (unsigned long long)order);
	json_decref(call(w, w->shopper, "POST", path, NULL, 200));
	wait_order(w, order, "completed");
	return order;
}

/* The order's tracking, as its buyer sees it, shows this courier. */
static void expect_driver(const struct world *w, uint64_t order, const char *name, const char *phone,
			  const char *plate)
{
	char path[PATH_MAX_LEN];
	json_t *doc, *sh;
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/tracking", (unsigned long long)order);
	doc = call(w, w->shopper, "GET", path, NULL, 200);
	sh = json_object_get(doc, "shipment");
	assert_string_equal(apitest_str(sh, "driver_name"), name);
	assert_string_equal(apitest_str(sh, "driver_phone"), phone);
	assert_string_equal(apitest_str(sh, "plate"), plate);
	json_decref(doc);
}

/* PUT /api/v1/courier/profile as token answers status; returns the profile. */
static json_t *profile_put(const struct world *w, const char *token, const char *body, int status)
{
	return call(w, token, "PUT", "/api/v1/courier/profile", body, status);
}

/*
 * A courier earns a delivery's fee and sends it to their bank: exact
 * balance and statement, the bank details of their profile, the tracking
 * showing them, one open payout, Idempotency-Key, and who reads a payout.
 */
static void test_courier_payout(void **state)
{
	struct world *w = *state;
	char by_id[PATH_MAX_LEN], id[ID_MAX], other[TOKEN_MAX], path[PATH_MAX_LEN + 32];
	uint64_t order;
	json_t *doc;
	int status;
	world_start(w);
	courier_prefix(w->courier_id, by_id);
	user_add(w, "courier", "kurir2");
	apitest_login(w->srv, "kurir2", PASSWORD, other);

	/* Nothing earned, no profile: an empty account that does not exist yet. */
	expect_error(w, w->courier, "GET", "/api/v1/courier/profile", NULL, 404, "not_found");
	expect_balance_at(w, by_id, 0, 0, 0, 0);
	expect_statement_at(w, by_id, w->courier, COURIER_SELF, NULL, 0);

	/* A profile without bank details; a second PUT changes only what it names. */
	doc = profile_put(w, w->courier, "{\"name\":\"Uda Rizal\",\"phone\":\"0812\",\"plate\":\"BA 1234 XY\"}", 201);
	assert_int_equal(apitest_int(doc, "user_id"), w->courier_id);
	assert_string_equal(apitest_str(doc, "bank_account"), "");
	json_decref(doc);
	doc = profile_put(w, w->courier, "{\"phone\":\"08127770001\"}", 200);
	assert_string_equal(apitest_str(doc, "name"), "Uda Rizal");
	assert_string_equal(apitest_str(doc, "phone"), "08127770001");
	json_decref(doc);

	order = courier_journey(w, w->courier, "journey-1");
	expect_driver(w, order, "Uda Rizal", "08127770001", "BA 1234 XY");
	expect_balance_at(w, by_id, COURIER_FEE, 0, 0, COURIER_FEE);
	doc = call(w, w->courier, "GET", "/api/v1/courier/balance", NULL, 200);
	assert_int_equal(apitest_int(doc, "courier_user_id"), w->courier_id);
	snprintf(path, sizeof(path), "courier:%llu:payable", (unsigned long long)w->courier_id);
	assert_string_equal(apitest_str(doc, "account"), path);
	json_decref(doc);
	{
		const struct line want[] = {
			{ "transfer", "shipping", "credit", COURIER_FEE, COURIER_FEE, COURIER_FEE, "escrow" },
		};
		expect_statement_at(w, by_id, w->courier, COURIER_SELF, want, 1);
	}

	/* No bank details yet; then the rules as for stores. */
	payout_refused_at(w, w->courier, COURIER_SELF, "{\"amount\":10000}", 409, "no_bank_account");
	json_decref(profile_put(w, w->courier, "{\"bank_code\":\"BRI\",\"bank_account\":\"9876543210\","
					       "\"bank_name\":\"Rizal\"}", 200));
	payout_refused_at(w, w->courier, COURIER_SELF, "{\"amount\":9999}", 422, "below_minimum");
	payout_refused_at(w, w->courier, COURIER_SELF, "{\"amount\":15001}", 422, "insufficient_balance");

	sandboxtest_fault(&w->sb, "global", "\"payout_manual\":true");
	doc = payout_post_at(w, w->courier, COURIER_SELF, "{\"amount\":10000}", "c-1", &status);
	assert_int_equal(status, 201);
	snprintf(id, sizeof(id), "%s", apitest_str(doc, "id"));
	assert_string_equal(apitest_str(doc, "payee"), "courier");
	assert_int_equal(apitest_int(doc, "courier_user_id"), w->courier_id);
	assert_true(json_is_null(json_object_get(doc, "merchant_id")));
	assert_string_equal(apitest_str(doc, "bank_account"), "9876543210");
	json_decref(doc);
	doc = payout_post_at(w, w->courier, COURIER_SELF, "{\"amount\":10000}", "c-1", &status);
	assert_int_equal(status, 201);
	assert_string_equal(apitest_str(doc, "id"), id);
	json_decref(doc);
	doc = payout_post_at(w, w->courier, COURIER_SELF, "{\"amount\":10001}", "c-1", &status);
	assert_int_equal(status, 409);
	assert_string_equal(apitest_str(json_object_get(doc, "error"), "code"), "idempotency_key_reused");
	json_decref(doc);
	payout_refused_at(w, w->courier, COURIER_SELF, "{\"amount\":10000}", 409, "payout_open");
	expect_balance_at(w, by_id, COURIER_FEE, 0, 10000, COURIER_FEE - 10000);

	sandbox_finish(w, id, "completed");
	json_decref(wait_payout(w, id, "completed"));
	expect_balance_at(w, by_id, COURIER_FEE, 10000, 0, COURIER_FEE - 10000);
	{
		const struct line want[] = {
			{ "posted", "payout", "debit", 10000, 5000, 5000, "bank:settlement" },
			{ "held", "payout", "debit", 10000, COURIER_FEE, 5000, "bank:settlement" },
			{ "transfer", "shipping", "credit", COURIER_FEE, COURIER_FEE, COURIER_FEE, "escrow" },
		};
		expect_statement_at(w, by_id, w->courier, COURIER_SELF, want, 3);
	}

	/* The lists, and who reads the payout. */
	doc = call(w, w->courier, "GET", "/api/v1/courier/payouts", NULL, 200);
	assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "payouts"), 0), "id"), id);
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/payouts", by_id);
	doc = call(w, w->admin, "GET", path, NULL, 200);
	assert_int_equal(apitest_int(doc, "courier_user_id"), w->courier_id);
	assert_int_equal(json_array_size(json_object_get(doc, "payouts")), 1);
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/payouts/%s", id);
	json_decref(call(w, w->courier, "GET", path, NULL, 200));
	json_decref(call(w, w->admin, "GET", path, NULL, 200));
	expect_error(w, other, "GET", path, NULL, 403, "forbidden");
	expect_error(w, w->siti, "GET", path, NULL, 403, "forbidden");
	expect_error(w, w->shopper, "GET", path, NULL, 403, "forbidden");
	world_finish(w);
}

/*
 * The couriers' endpoints with every role, their bodies, a courier who has
 * earned nothing, and a job taken by a courier without a profile.
 */
static void test_courier_authorization(void **state)
{
	struct world *w = *state;
	char other[TOKEN_MAX], by_id[PATH_MAX_LEN], path[PATH_MAX_LEN + 32];
	static const char *const own[] = { "/api/v1/courier/payouts", "/api/v1/courier/balance",
					   "/api/v1/courier/statement", "/api/v1/courier/profile" };
	static const char *const suffixes[] = { "/payouts", "/balance", "/statement" };
	static const char *const bad_profiles[][2] = {
		{ "{\"name\":\"Rizal\",\"vehicle\":\"motor\"}", "unknown_field" },
		{ "{\"name\":\"\"}", "invalid_field" },
		{ "{\"name\":\"0123456789012345678901234567890123456789012345678901234567890123X\"}", "invalid_field" },
		{ "{\"name\":5}", "invalid_field" },
		{ "{\"name\":\"Rizal\\u0001\"}", "invalid_field" },
		{ "{\"plate\":\"ba 1234 xy\"}", "invalid_field" },
		{ "{\"plate\":\"BA 1234 XYZ 56789\"}", "invalid_field" },
		{ "{\"phone\":\"0812-777\"}", "invalid_field" },
		{ "{\"phone\":\"+\"}", "invalid_field" },
		{ "{\"bank_code\":\"B|RI\"}", "invalid_field" },
		{ "{\"bank_account\":\"12ab\"}", "invalid_field" },
		{ "[1]", "invalid_json" },
		{ "{\"name\":", "invalid_json" },
	};
	const char *const outsiders[] = { w->shopper, w->siti, w->auditor, w->admin };
	uint64_t other_id, order;
	json_t *doc;
	world_start(w);
	other_id = user_add(w, "courier", "kurir2");
	apitest_login(w->srv, "kurir2", PASSWORD, other);
	courier_prefix(w->courier_id, by_id);

	/* Their own: couriers only. */
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		expect_error(w, NULL, "GET", own[i], NULL, 401, "unauthorized");
		for (size_t j = 0; j < sizeof(outsiders) / sizeof(outsiders[0]); j++)
			expect_error(w, outsiders[j], "GET", own[i], NULL, 403, "forbidden");
	}
	expect_error(w, NULL, "POST", own[0], "{\"amount\":10000}", 401, "unauthorized");
	expect_error(w, NULL, "PUT", own[3], "{}", 401, "unauthorized");
	for (size_t j = 0; j < sizeof(outsiders) / sizeof(outsiders[0]); j++) {
		expect_error(w, outsiders[j], "POST", own[0], "{\"amount\":10000}", 403, "forbidden");
		expect_error(w, outsiders[j], "PUT", own[3], "{}", 403, "forbidden");
	}
	/* Any courier's by id: admins and auditors only; a user who is not a courier is not found. */
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", by_id, suffixes[i]);
		expect_error(w, NULL, "GET", path, NULL, 401, "unauthorized");
		expect_error(w, w->shopper, "GET", path, NULL, 403, "forbidden");
		expect_error(w, w->siti, "GET", path, NULL, 403, "forbidden");
		expect_error(w, w->courier, "GET", path, NULL, 403, "forbidden");
		expect_error(w, other, "GET", path, NULL, 403, "forbidden");
		json_decref(call(w, w->auditor, "GET", path, NULL, 200));
		json_decref(call(w, w->admin, "GET", path, NULL, 200));
		snprintf(path, sizeof(path), "/api/v1/couriers/%llu%s", (unsigned long long)w->siti_id, suffixes[i]);
		expect_error(w, w->admin, "GET", path, NULL, 404, "not_found");
		snprintf(path, sizeof(path), "/api/v1/couriers/999999%s", suffixes[i]);
		expect_error(w, w->auditor, "GET", path, NULL, 404, "not_found");
	}
	expect_error(w, w->admin, "POST", "/api/v1/couriers/1/payouts", "{\"amount\":10000}", 405, "method_not_allowed");

	/* Bodies: nothing is made by a refused one. */
	for (size_t i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]); i++)
		expect_error(w, w->courier, "PUT", own[3], bad_profiles[i][0], 400, bad_profiles[i][1]);
	expect_error(w, w->courier, "GET", own[3], NULL, 404, "not_found");
	payout_refused_at(w, w->courier, COURIER_SELF, "{\"amount\":10000,\"note\":\"x\"}", 400, "unknown_field");
	payout_refused_at(w, w->courier, COURIER_SELF, "{\"amount\":\"10000\"}", 400, "invalid_field");
	payout_refused_at(w, w->courier, COURIER_SELF, "{}", 400, "invalid_field");
	payout_refused_at(w, w->courier, COURIER_SELF, "[1]", 400, "invalid_json");

	/* An empty PUT makes a profile named after the user; with bank details but nothing earned, nothing to pay. */
	doc = profile_put(w, w->courier, "{}", 201);
	assert_string_equal(apitest_str(doc, "name"), "courier");
	json_decref(doc);
	json_decref(profile_put(w, w->courier, "{\"bank_code\":\"BRI\",\"bank_account\":\"1234\",\"bank_name\":\"K\"}", 200));
	payout_refused_at(w, w->courier, COURIER_SELF, "{\"amount\":10000}", 422, "insufficient_balance");
	expect_balance_at(w, by_id, 0, 0, 0, 0);
	snprintf(path, sizeof(path), "%s/statement?cursor=5", by_id);
	expect_error(w, w->admin, "GET", path, NULL, 400, "invalid_field");

	/* A courier without a profile takes a job: the buyer sees their username. */
	order = courier_journey(w, other, "journey-2");
	expect_driver(w, order, "kurir2", "", "");
	expect_balance_at(w, courier_prefix(other_id, by_id), COURIER_FEE, 0, 0, COURIER_FEE);
	doc = call(w, other, "GET", "/api/v1/courier/balance", NULL, 200);
	assert_int_equal(apitest_int(doc, "available"), COURIER_FEE);
	json_decref(doc);
	payout_refused_at(w, other, COURIER_SELF, "{\"amount\":10000}", 409, "no_bank_account");
	world_finish(w);
}

/* --- statements over a period --- */

#define NEVER_BEFORE "2000-01-01T00:00:00.000Z"   /* before every entry, in the statement's time format */
#define NEVER_AFTER "2100-01-01T00:00:00.000Z"    /* after every entry */

/* A statement's two figures. */
struct figs {
	int64_t balance, available;
};

static struct figs figs_of(const json_t *o)
{
	return (struct figs){ apitest_int(o, "balance"), apitest_int(o, "available") };
}

static void expect_figs(const json_t *o, const char *what, int64_t balance, int64_t available)
{
	struct figs f = figs_of(json_object_get(o, what));
	if (f.balance != balance || f.available != available)
		fail_msg("%s: balance %lld available %lld, want %lld %lld", what, (long long)f.balance,
			 (long long)f.available, (long long)balance, (long long)available);
}

/* What an entry did to the two figures (docs/api.md; web/js/money.js's effect). */
static struct figs entry_effect(const json_t *e)
{
	const char *kind = apitest_str(e, "kind");
	int64_t a = apitest_int(e, "amount");
	if (strcmp(apitest_str(e, "direction"), "debit") == 0)
		a = -a;
	if (strcmp(kind, "transfer") == 0)
		return (struct figs){ a, a };
	if (strcmp(kind, "held") == 0)
		return (struct figs){ 0, a };
	if (strcmp(kind, "posted") == 0)
		return (struct figs){ a, 0 };
	assert_true(strcmp(kind, "voided") == 0 || strcmp(kind, "expired") == 0);
	return (struct figs){ 0, -a };
}

/*
 * GET prefix/statement as token for the period from..to (NULL: open) with
 * `extra` query members, each after an "&" ("" for none; limit=200 unless
 * they give one).
 */
static json_t *statement_get(const struct world *w, const char *token, const char *prefix, const char *from,
			     const char *to, const char *extra, int status)
{
	char path[PATH_MAX_LEN + 160], query[160];
	/* Each member after an "&" (extra's too); the query is never empty. */
	snprintf(query, sizeof(query), "%s%s%s%s%s%s", strstr(extra, "limit=") ? "" : "&limit=200", from ? "&from=" : "",
		 from ? from : "", to ? "&to=" : "", to ? to : "", extra);
	snprintf(path, sizeof(path), "%s/statement?%s", prefix, query + 1);
	return call(w, token, "GET", path, NULL, status);
}

/*
 * The statement of the period [from, to) (NULL: open) at prefix, read as
 * token, agrees with `all`, the whole statement: its entries are those of
 * `all` whose time is within the period, newest first; its opening and
 * closing are the figures after the newest entry before the period's start
 * and before its end (zeros when none); the opening plus the entries'
 * effects, oldest first, gives each entry's figures and then the closing,
 * for both figures. Read again one entry a page, the same entries. Returns
 * how many there are.
 */
static size_t expect_period(const struct world *w, const char *token, const char *prefix, const json_t *all,
			    const char *from, const char *to)
{
	const json_t *whole = json_object_get(all, "entries");
	json_t *doc = statement_get(w, token, prefix, from, to, "", 200);
	json_t *entries = json_object_get(doc, "entries");
	struct figs open = { 0, 0 }, close = { 0, 0 }, run;
	bool open_found = false, close_found = false;
	char cursor[32] = "", extra[64];
	size_t n = 0, i;
	for (i = 0; i < json_array_size(whole); i++) {
		const json_t *e = json_array_get(whole, i);
		const char *at = apitest_str(e, "at");
		bool before_end = !to || strcmp(at, to) < 0, before_start = from && strcmp(at, from) < 0;
		if (before_end && !close_found) {
			close = figs_of(e);
			close_found = true;
		}
		if (before_start && !open_found) {
			open = figs_of(e);
			open_found = true;
		}
		if (!before_end || before_start)
			continue;
		if (n >= json_array_size(entries) || apitest_int(json_array_get(entries, n), "seq") != apitest_int(e, "seq"))
			fail_msg("period %s..%s: entry %zu is not seq %lld", from ? from : "", to ? to : "", n,
				 (long long)apitest_int(e, "seq"));
		n++;
	}
	assert_int_equal(json_array_size(entries), n);
	expect_figs(doc, "opening", open.balance, open.available);
	expect_figs(doc, "closing", close.balance, close.available);
	run = open;
	for (i = n; i-- > 0;) {
		const json_t *e = json_array_get(entries, i);
		struct figs d = entry_effect(e), after = figs_of(e);
		run.balance += d.balance;
		run.available += d.available;
		if (after.balance != run.balance || after.available != run.available)
			fail_msg("entry seq %lld does not add up", (long long)apitest_int(e, "seq"));
	}
	assert_int_equal(run.balance, close.balance);
	assert_int_equal(run.available, close.available);
	/* Today's figures whatever the period. */
	assert_int_equal(apitest_int(doc, "balance"), apitest_int(all, "balance"));
	assert_int_equal(apitest_int(doc, "available"), apitest_int(all, "available"));
	assert_true(json_is_null(json_object_get(doc, "next_cursor")));
	for (i = 0; i < n; i++) {
		json_t *page;
		snprintf(extra, sizeof(extra), "&limit=1%s%s", cursor[0] ? "&cursor=" : "", cursor);
		page = statement_get(w, token, prefix, from, to, extra, 200);
		assert_int_equal(json_array_size(json_object_get(page, "entries")), 1);
		assert_int_equal(apitest_int(json_array_get(json_object_get(page, "entries"), 0), "seq"),
				 apitest_int(json_array_get(entries, i), "seq"));
		assert_true(json_equal(json_object_get(page, "opening"), json_object_get(doc, "opening")));
		assert_true(json_equal(json_object_get(page, "closing"), json_object_get(doc, "closing")));
		if (i + 1 < n)
			snprintf(cursor, sizeof(cursor), "%s", apitest_str(page, "next_cursor"));
		else
			assert_true(json_is_null(json_object_get(page, "next_cursor")));
		json_decref(page);
	}
	json_decref(doc);
	return n;
}

/* The time of entry i (newest first) of a statement. OUT: at (32 bytes). */
static const char *entry_at(const json_t *doc, size_t i, char at[32])
{
	snprintf(at, 32, "%s", apitest_str(json_array_get(json_object_get(doc, "entries"), i), "at"));
	return at;
}

/* The period from..to (NULL: open) at prefix, read as token, opens and closes at these figures. */
static void expect_ends(const struct world *w, const char *token, const char *prefix, const char *from, const char *to,
			const struct figs opening, const struct figs closing)
{
	json_t *doc = statement_get(w, token, prefix, from, to, "", 200);
	expect_figs(doc, "opening", opening.balance, opening.available);
	expect_figs(doc, "closing", closing.balance, closing.available);
	json_decref(doc);
}

/* The sandbox completes payout id; returns the whole statement at prefix read as token, which has n entries. */
static json_t *completed_statement(const struct world *w, const char *id, const char *token, const char *prefix,
				   size_t n)
{
	json_t *all;
	sandboxtest_sleep_ms(5);
	sandbox_finish(w, id, "completed");
	json_decref(wait_payout(w, id, "completed"));
	all = statement_get(w, token, prefix, NULL, NULL, "", 200);
	assert_int_equal(json_array_size(json_object_get(all, "entries")), n);
	return all;
}

/*
 * Statements over a period, a store's and a courier's: periods that cut
 * through the entries, a payout's hold seen in `available` only, empty
 * periods, paging within a period, and the refusals.
 */
static void test_statement_periods(void **state)
{
	struct world *w = *state;
	char prefix[PATH_MAX_LEN], id[ID_MAX], at_t1[32], at_hold[32], at_t2[32], at_post[32], extra[64];
	json_t *all, *doc;
	world_start(w);
	store_prefix(w->warung, prefix);
	sandboxtest_fault(&w->sb, "global", "\"payout_manual\":true");
	/* Each step a few milliseconds after the one before, so no two entries share a statement time. */
	fund(w, w->siti, w->warung, 200000);
	sandboxtest_sleep_ms(5);
	payout(w, w->siti, w->warung, 150000, id);
	sandboxtest_sleep_ms(5);
	fund(w, w->siti, w->warung, 30000);
	all = completed_statement(w, id, w->siti, prefix, 4);
	entry_at(all, 0, at_post);
	entry_at(all, 1, at_t2);
	entry_at(all, 2, at_hold);
	entry_at(all, 3, at_t1);
	/* No period: from the start (zeros) to now. */
	expect_figs(all, "opening", 0, 0);
	expect_figs(all, "closing", 80000, 80000);
	assert_int_equal(expect_period(w, w->siti, prefix, all, NULL, NULL), 4);

	/* From the hold to before the post: the hold took from what is available, not from the balance. */
	assert_int_equal(expect_period(w, w->siti, prefix, all, at_hold, at_post), 2);
	expect_ends(w, w->auditor, prefix, at_hold, at_post, (struct figs){ 200000, 200000 }, (struct figs){ 230000, 80000 });
	assert_int_equal(expect_period(w, w->siti, prefix, all, at_t2, NULL), 2);
	assert_int_equal(expect_period(w, w->siti, prefix, all, NULL, at_hold), 1);
	assert_int_equal(expect_period(w, w->siti, prefix, all, at_t1, at_t2), 2);
	/* Empty periods: the figures stand still. */
	assert_int_equal(expect_period(w, w->siti, prefix, all, at_t2, at_t2), 0);
	expect_ends(w, w->siti, prefix, at_t2, at_t2, (struct figs){ 200000, 50000 }, (struct figs){ 200000, 50000 });
	assert_int_equal(expect_period(w, w->siti, prefix, all, NEVER_AFTER, NULL), 0);
	assert_int_equal(expect_period(w, w->siti, prefix, all, NULL, NEVER_BEFORE), 0);
	/* A bare date is midnight WIB. */
	doc = statement_get(w, w->siti, prefix, "2000-01-01", "2100-01-01", "", 200);
	assert_true(json_equal(doc, all));
	json_decref(doc);

	/* Refusals. */
	json_decref(statement_get(w, w->siti, prefix, at_post, at_hold, "", 400));
	json_decref(statement_get(w, w->siti, prefix, "yesterday", NULL, "", 400));
	json_decref(statement_get(w, w->siti, prefix, NULL, "2026-13-01", "", 400));
	json_decref(statement_get(w, w->siti, prefix, "2026-11-28T25:00:00Z", NULL, "", 400));
	json_decref(statement_get(w, w->siti, prefix, "1969-12-31T00:00:00Z", NULL, "", 400));
	snprintf(extra, sizeof(extra), "&cursor=%lld",
		 (long long)apitest_int(json_array_get(json_object_get(all, "entries"), 3), "seq"));
	json_decref(statement_get(w, w->siti, prefix, at_hold, at_post, extra, 400));
	json_decref(statement_get(w, w->budi, prefix, at_hold, at_post, "", 403));
	json_decref(statement_get(w, w->courier, prefix, at_hold, NULL, "", 403));
	json_decref(all);

	/* A courier's: the fee, then a payout held and posted. */
	json_decref(profile_put(w, w->courier, "{\"bank_code\":\"BRI\",\"bank_account\":\"9876543210\","
					       "\"bank_name\":\"Rizal\"}", 201));
	expect_ends(w, w->courier, COURIER_SELF, NEVER_BEFORE, NULL, (struct figs){ 0, 0 }, (struct figs){ 0, 0 });
	courier_journey(w, w->courier, "journey-p");
	sandboxtest_sleep_ms(5);
	json_decref(payout_at(w, w->courier, COURIER_SELF, 10000, id));
	all = statement_get(w, w->courier, COURIER_SELF, NULL, NULL, "", 200);
	assert_int_equal(json_array_size(json_object_get(all, "entries")), 2);
	entry_at(all, 0, at_hold);
	expect_ends(w, w->courier, COURIER_SELF, at_hold, NULL, (struct figs){ COURIER_FEE, COURIER_FEE },
		    (struct figs){ COURIER_FEE, COURIER_FEE - 10000 });
	json_decref(all);
	all = completed_statement(w, id, w->courier, COURIER_SELF, 3);
	entry_at(all, 0, at_post);
	entry_at(all, 2, at_t1);
	assert_int_equal(expect_period(w, w->courier, COURIER_SELF, all, at_hold, at_post), 1);
	assert_int_equal(expect_period(w, w->courier, COURIER_SELF, all, at_hold, NULL), 2);
	assert_int_equal(expect_period(w, w->courier, COURIER_SELF, all, at_t1, at_hold), 1);
	assert_int_equal(expect_period(w, w->courier, COURIER_SELF, all, at_post, at_post), 0);
	json_decref(statement_get(w, w->courier, COURIER_SELF, at_post, at_t1, "", 400));
	json_decref(statement_get(w, w->courier, COURIER_SELF, "2026-11-31", NULL, "", 400));
	json_decref(statement_get(w, w->siti, COURIER_SELF, at_t1, NULL, "", 403));
	json_decref(all);
	world_finish(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_payout_completes, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_payout_fails, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_rules_and_idempotency, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_authorization, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_restart_sweep, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_courier_payout, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_courier_authorization, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_statement_periods, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
