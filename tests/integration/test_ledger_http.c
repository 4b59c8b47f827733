/*
 * Integration tests of the ledger's HTTP endpoints: the real `bangsoleh
 * serve` on loopback, with an admin, an auditor and a shopper created by
 * `bangsoleh user add` and signed in over HTTP. Each test gets its own
 * server holding three accounts of its own (test:escrow, test:merchant:1:payable,
 * test:gateway:clearing) and ends by proving a clean exit.
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

#include "crypto.h"
#include "internal.h"
#include "apitest.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define ID_TEXT 33
#define PATH_MAX_LEN 512
#define INT64_MAX_TEXT "9223372036854775807"

#define CODE_ASSET 1
#define CODE_LIABILITY 2

struct world {
	struct testsrv *srv;
	char admin[TOKEN_MAX];
	char auditor[TOKEN_MAX];
	char shopper[TOKEN_MAX];
	char escrow[ID_TEXT];
	char merchant[ID_TEXT];
	char clearing[ID_TEXT];
};

/* --- HTTP helpers: the apitest ones, on this world's server --- */

static json_t *call(const struct world *w, const char *token, const char *method, const char *path,
		    const char *body, int status)
{
	return apitest_call(w->srv, token, method, path, body, status);
}

static json_t *call_json(const struct world *w, const char *token, const char *method, const char *path,
			 json_t *body, int status)
{
	return apitest_call_json(w->srv, token, method, path, body, status);
}

/* The request fails with status and error code, and the message contains `part`. */
static void expect_error(const struct world *w, const char *token, const char *method, const char *path,
			 const char *body, int status, const char *code, const char *part)
{
	apitest_expect_error(w->srv, token, method, path, body, status, code, part);
}

/* --- users and sign-in --- */

static void user_add(const struct world *w, const char *role, const char *username)
{
	const char *env[] = { COST_ENV, NULL };
	apitest_user_add_cli(w->srv, env, role, username, PASSWORD);
}

static void login(const struct world *w, const char *username, char *token)
{
	apitest_login(w->srv, username, PASSWORD, token);
}

/* --- ids --- */

static void id_text(uint64_t v, char out[ID_TEXT])
{
	struct ledger_id id = ledger_id_from_u64(v);
	ledger_id_hex(&id, out, ID_TEXT);
}

/* --- posting --- */

/* One account event. */
static json_t *account(const char *id, const char *name, int code, const char *flag)
{
	json_t *a = json_pack("{s:s, s:s, s:i}", "id", id, "name", name, "code", code);
	if (flag)
		json_object_set_new(a, "flags", json_pack("[s]", flag));
	return a;
}

/* One transfer event; flag NULL for none, pending NULL for no pending_id. */
static json_t *transfer(const char *id, const char *debit, const char *credit, int64_t amount, int code,
			const char *flag, const char *pending)
{
	json_t *t = json_pack("{s:s, s:s, s:s, s:I, s:i}", "id", id, "debit_account_id", debit,
			      "credit_account_id", credit, "amount", (json_int_t)amount, "code", code);
	if (flag)
		json_object_set_new(t, "flags", json_pack("[s]", flag));
	if (pending)
		json_object_set_new(t, "pending_id", json_string(pending));
	return t;
}

/* POSTs events (stolen) under `list` as admin; returns the results array's owner document. */
static json_t *post_events(const struct world *w, const char *list, json_t *events)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/ledger/%s", list);
	return call_json(w, w->admin, "POST", path, json_pack("{s:o}", list, events), 200);
}

/* Each result in doc names its index and the wanted result, in order. */
static void expect_results(const json_t *doc, const char *const *want, size_t n)
{
	const json_t *results = json_object_get(doc, "results");
	assert_int_equal(json_array_size(results), n);
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(results, i);
		assert_int_equal(apitest_int(r, "index"), i);
		if (strcmp(apitest_str(r, "result"), want[i]) != 0)
			fail_msg("results[%zu] is %s, want %s", i, apitest_str(r, "result"), want[i]);
	}
}

/* The account (by id or name) has these balances. */
static void expect_balances(const struct world *w, const char *ref, int64_t dp, int64_t dpo, int64_t cp,
			    int64_t cpo)
{
	char path[PATH_MAX_LEN];
	json_t *a;
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/%s", ref);
	a = call(w, w->auditor, "GET", path, NULL, 200);
	if (apitest_int(a, "debits_pending") != dp || apitest_int(a, "debits_posted") != dpo ||
	    apitest_int(a, "credits_pending") != cp || apitest_int(a, "credits_posted") != cpo)
		fail_msg("%s: balances %lld/%lld/%lld/%lld, want %lld/%lld/%lld/%lld", ref,
			 (long long)apitest_int(a, "debits_pending"), (long long)apitest_int(a, "debits_posted"),
			 (long long)apitest_int(a, "credits_pending"), (long long)apitest_int(a, "credits_posted"),
			 (long long)dp, (long long)dpo, (long long)cp, (long long)cpo);
	json_decref(a);
}

static uint64_t head_seq(const struct world *w)
{
	json_t *doc = call(w, w->auditor, "GET", "/api/v1/ledger/journal?limit=1", NULL, 200);
	uint64_t head = (uint64_t)apitest_int(doc, "head_seq");
	json_decref(doc);
	return head;
}

/* --- fixtures --- */

static json_t *base_accounts(const struct world *w)
{
	return json_pack("[o, o, o]", account(w->escrow, "test:escrow", CODE_LIABILITY, NULL),
			 account(w->merchant, "test:merchant:1:payable", CODE_LIABILITY, "debits_must_not_exceed_credits"),
			 account(w->clearing, "test:gateway:clearing", CODE_ASSET, NULL));
}

static int world_setup(void **state)
{
	const char *const env[] = { COST_ENV, NULL };
	static const char *const ok3[] = { "ok", "ok", "ok" };
	struct world *w = calloc(1, sizeof(*w));
	json_t *doc;
	if (!w)
		return -1;
	*state = w;
	w->srv = testsrv_new(NULL, env);
	if (!w->srv)
		return -1;
	user_add(w, "admin", "admin");
	user_add(w, "auditor", "auditor");
	user_add(w, "shopper", "shopper");
	login(w, "admin", w->admin);
	login(w, "auditor", w->auditor);
	login(w, "shopper", w->shopper);
	id_text(0x100, w->escrow);
	id_text(0x200, w->merchant);
	id_text(0x300, w->clearing);
	doc = post_events(w, "accounts", base_accounts(w));
	expect_results(doc, ok3, 3);
	json_decref(doc);
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	if (w)
		testsrv_free(w->srv);
	free(w);
	return 0;
}

/* Ends a test: the server stops with status 0 (and, under the sanitizers, clean). */
static void world_finish(struct world *w)
{
	assert_true(testsrv_stopped_cleanly(w->srv));
	testsrv_free(w->srv);
	w->srv = NULL;
}

/* --- tests --- */

/* Accounts read back by id and by name with every documented field; a replay is `exists`. */
static void test_accounts_create_get_replay(void **state)
{
	struct world *w = *state;
	static const char *const exists3[] = { "exists", "exists", "exists" };
	static const char *const ok1[] = { "ok" };
	char path[PATH_MAX_LEN];
	json_t *a, *b, *doc;
	const char *new_id;

	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/%s", w->merchant);
	a = call(w, w->admin, "GET", path, NULL, 200);
	b = call(w, w->admin, "GET", "/api/v1/ledger/accounts/test:merchant:1:payable", NULL, 200);
	assert_true(json_equal(a, b));
	assert_string_equal(apitest_str(a, "id"), w->merchant);
	assert_string_equal(apitest_str(a, "name"), "test:merchant:1:payable");
	assert_int_equal(apitest_int(a, "ledger"), 360);
	assert_int_equal(apitest_int(a, "code"), CODE_LIABILITY);
	assert_int_equal(json_array_size(json_object_get(a, "flags")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "flags"), 0)),
			    "debits_must_not_exceed_credits");
	assert_string_equal(apitest_str(a, "user_data_128"), "00000000000000000000000000000000");
	assert_int_equal(apitest_int(a, "user_data_64"), 0);
	assert_int_equal(apitest_int(a, "user_data_32"), 0);
	assert_int_equal(apitest_int(a, "last_seq"), 0);
	assert_true(apitest_int(a, "timestamp") > 0);
	assert_int_equal(strlen(apitest_str(a, "created_at")), 30);
	assert_int_equal(apitest_str(a, "created_at")[29], 'Z');
	json_decref(a);
	json_decref(b);
	expect_balances(w, "test:escrow", 0, 0, 0, 0);

	doc = post_events(w, "accounts", base_accounts(w));
	expect_results(doc, exists3, 3);
	assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "results"), 1), "id"), w->merchant);
	json_decref(doc);

	/* Without an id the server makes a time-ordered one, and the account is there under it. */
	doc = post_events(w, "accounts", json_pack("[{s:s, s:i, s:I, s:i}]", "name", "test:promotions", "code",
						   CODE_ASSET, "user_data_64", (json_int_t)77, "user_data_32", 5));
	expect_results(doc, ok1, 1);
	new_id = apitest_str(json_array_get(json_object_get(doc, "results"), 0), "id");
	assert_int_equal(strlen(new_id), 32);
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/%s", new_id);
	a = call(w, w->auditor, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(a, "name"), "test:promotions");
	assert_int_equal(apitest_int(a, "user_data_64"), 77);
	assert_int_equal(apitest_int(a, "user_data_32"), 5);
	assert_int_equal(json_array_size(json_object_get(a, "flags")), 0);
	json_decref(a);
	json_decref(doc);
	world_finish(w);
}

/* Transfer results in order, with seq/timestamp for ok and exists; the same again is all `exists`. */
static void expect_replayed(const json_t *first, const json_t *again)
{
	const json_t *r1 = json_object_get(first, "results"), *r2 = json_object_get(again, "results");
	assert_int_equal(json_array_size(r1), json_array_size(r2));
	for (size_t i = 0; i < json_array_size(r1); i++) {
		const json_t *a = json_array_get(r1, i), *b = json_array_get(r2, i);
		assert_string_equal(apitest_str(a, "result"), "ok");
		assert_string_equal(apitest_str(b, "result"), "exists");
		assert_string_equal(apitest_str(a, "id"), apitest_str(b, "id"));
		assert_int_equal(apitest_int(a, "seq"), apitest_int(b, "seq"));
		assert_int_equal(apitest_int(a, "timestamp"), apitest_int(b, "timestamp"));
	}
}

/*
 * A payment, a linked release-and-payout pair and a pending release, then
 * a partial post; a failing linked pair changes nothing; replays are
 * `exists` with the first seq; balances follow each step.
 */
static void test_transfers_balances_replay(void **state)
{
	struct world *w = *state;
	static const char *const failed_pair[] = { "linked_event_failed", "exceeds_credits" };
	char t1[ID_TEXT], l1[ID_TEXT], l2[ID_TEXT], l3[ID_TEXT], l4[ID_TEXT], p1[ID_TEXT], p2[ID_TEXT];
	json_t *first, *again, *doc;
	const json_t *results;
	uint64_t head;
	char path[PATH_MAX_LEN];

	id_text(0x1001, t1);
	id_text(0x1002, l1);
	id_text(0x1003, l2);
	id_text(0x1004, l3);
	id_text(0x1005, l4);
	id_text(0x1006, p1);
	id_text(0x1007, p2);

	/* Payment 100000 into escrow, release 60000 linked with a payout of 10000, pending release 20000. */
	first = post_events(w, "transfers",
			    json_pack("[o, o, o, o]",
				      transfer(t1, w->clearing, w->escrow, 100000, LEDGER_CODE_PAYMENT, NULL, NULL),
				      transfer(l3, w->escrow, w->merchant, 60000, LEDGER_CODE_RELEASE, "linked", NULL),
				      transfer(l4, w->merchant, w->clearing, 10000, LEDGER_CODE_PAYOUT, NULL, NULL),
				      transfer(p1, w->escrow, w->merchant, 20000, LEDGER_CODE_RELEASE, "pending", NULL)));
	results = json_object_get(first, "results");
	assert_int_equal(json_array_size(results), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(apitest_str(json_array_get(results, i), "result"), "ok");
		if (i > 0)
			assert_int_equal(apitest_int(json_array_get(results, i), "seq"),
					 apitest_int(json_array_get(results, i - 1), "seq") + 1);
	}
	expect_balances(w, "test:gateway:clearing", 0, 100000, 0, 10000);
	expect_balances(w, "test:escrow", 20000, 60000, 0, 100000);
	expect_balances(w, "test:merchant:1:payable", 0, 10000, 20000, 60000);

	/* The merchant has 60000 of credits: a 70000 payout fails and takes its linked partner with it. */
	head = head_seq(w);
	doc = post_events(w, "transfers",
			  json_pack("[o, o]",
				    transfer(l1, w->escrow, w->merchant, 1000, LEDGER_CODE_RELEASE, "linked", NULL),
				    transfer(l2, w->merchant, w->clearing, 70000, LEDGER_CODE_PAYOUT, NULL, NULL)));
	expect_results(doc, failed_pair, 2);
	assert_null(json_object_get(json_array_get(json_object_get(doc, "results"), 0), "seq"));
	json_decref(doc);
	assert_int_equal(head_seq(w), head);
	snprintf(path, sizeof(path), "/api/v1/ledger/transfers/%s", l1);
	json_decref(call(w, w->auditor, "GET", path, NULL, 404));
	expect_balances(w, "test:merchant:1:payable", 0, 10000, 20000, 60000);

	/* Post 15000 of the 20000 pending: the whole reservation goes, 15000 is posted. */
	doc = post_events(w, "transfers",
			  json_pack("[o]", transfer(p2, w->escrow, w->merchant, 15000, LEDGER_CODE_RELEASE,
						    "post_pending_transfer", p1)));
	again = post_events(w, "transfers",
			    json_pack("[o]", transfer(p2, w->escrow, w->merchant, 15000, LEDGER_CODE_RELEASE,
						      "post_pending_transfer", p1)));
	expect_replayed(doc, again);
	json_decref(doc);
	json_decref(again);
	expect_balances(w, "test:escrow", 0, 75000, 0, 100000);
	expect_balances(w, w->merchant, 0, 10000, 0, 75000);

	/* The first batch again: every event `exists` with its first seq and timestamp; nothing new. */
	head = head_seq(w);
	again = post_events(w, "transfers",
			    json_pack("[o, o, o, o]",
				      transfer(t1, w->clearing, w->escrow, 100000, LEDGER_CODE_PAYMENT, NULL, NULL),
				      transfer(l3, w->escrow, w->merchant, 60000, LEDGER_CODE_RELEASE, "linked", NULL),
				      transfer(l4, w->merchant, w->clearing, 10000, LEDGER_CODE_PAYOUT, NULL, NULL),
				      transfer(p1, w->escrow, w->merchant, 20000, LEDGER_CODE_RELEASE, "pending", NULL)));
	expect_replayed(first, again);
	assert_int_equal(head_seq(w), head);
	expect_balances(w, "test:escrow", 0, 75000, 0, 100000);
	json_decref(first);
	json_decref(again);
	world_finish(w);
}

/* One transfer read back: every field, the chain fields and the names of code and flags. */
static void test_transfer_get(void **state)
{
	struct world *w = *state;
	char t1[ID_TEXT], p1[ID_TEXT], v1[ID_TEXT], path[PATH_MAX_LEN];
	json_t *doc, *e;
	int64_t seq1;

	id_text(0x2001, t1);
	id_text(0x2002, p1);
	id_text(0x2003, v1);
	doc = post_events(w, "transfers",
			  json_pack("[o, o, o]",
				    transfer(t1, w->clearing, w->escrow, 5000, LEDGER_CODE_PAYMENT, NULL, NULL),
				    json_pack("{s:s, s:s, s:s, s:I, s:i, s:[s], s:i, s:s, s:I, s:i}", "id", p1,
					      "debit_account_id", w->escrow, "credit_account_id", w->merchant,
					      "amount", (json_int_t)3000, "code", LEDGER_CODE_RELEASE, "flags",
					      "pending", "timeout", 3600, "user_data_128",
					      "0123456789abcdef0123456789ABCDEF", "user_data_64", (json_int_t)42,
					      "user_data_32", 7),
				    transfer(v1, w->escrow, w->merchant, 3000, LEDGER_CODE_RELEASE,
					     "void_pending_transfer", p1)));
	seq1 = apitest_int(json_array_get(json_object_get(doc, "results"), 0), "seq");
	json_decref(doc);

	snprintf(path, sizeof(path), "/api/v1/ledger/transfers/%s", p1);
	e = call(w, w->auditor, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(e, "id"), p1);
	assert_string_equal(apitest_str(e, "debit_account_id"), w->escrow);
	assert_string_equal(apitest_str(e, "credit_account_id"), w->merchant);
	assert_int_equal(apitest_int(e, "amount"), 3000);
	assert_true(json_is_null(json_object_get(e, "pending_id")));
	assert_string_equal(apitest_str(e, "user_data_128"), "0123456789abcdef0123456789abcdef");
	assert_int_equal(apitest_int(e, "user_data_64"), 42);
	assert_int_equal(apitest_int(e, "user_data_32"), 7);
	assert_int_equal(apitest_int(e, "timeout"), 3600);
	assert_int_equal(apitest_int(e, "ledger"), 360);
	assert_int_equal(apitest_int(e, "code"), LEDGER_CODE_RELEASE);
	assert_string_equal(apitest_str(e, "reason"), "release");
	assert_int_equal(json_array_size(json_object_get(e, "flags")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(e, "flags"), 0)), "pending");
	assert_int_equal(apitest_int(e, "seq"), seq1 + 1);
	/* The escrow's previous entry is the payment; the merchant had none. */
	assert_int_equal(apitest_int(e, "debit_prev_seq"), seq1);
	assert_int_equal(apitest_int(e, "credit_prev_seq"), 0);
	assert_int_equal(strlen(apitest_str(e, "hash")), 2 * LEDGER_HASH_LEN);
	assert_int_equal(strlen(apitest_str(e, "created_at")), 30);
	assert_true(apitest_int(e, "timestamp") > 0);
	json_decref(e);

	snprintf(path, sizeof(path), "/api/v1/ledger/transfers/%s", v1);
	e = call(w, w->admin, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(e, "pending_id"), p1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(e, "flags"), 0)),
			    "void_pending_transfer");
	assert_int_equal(apitest_int(e, "debit_prev_seq"), seq1 + 1);
	assert_int_equal(apitest_int(e, "credit_prev_seq"), seq1 + 1);
	json_decref(e);
	/* The void gave the reservation back. */
	expect_balances(w, "test:escrow", 0, 0, 0, 5000);
	expect_balances(w, "test:merchant:1:payable", 0, 0, 0, 0);
	world_finish(w);
}

/* Every ledger path, its method, and whether it is a write. */
struct endpoint {
	const char *method;
	const char *path;
	const char *body;
	bool write;
};

/* Auditors read everything and write nothing; shoppers get 403 everywhere; no token is 401. */
static void test_roles(void **state)
{
	struct world *w = *state;
	char acct[PATH_MAX_LEN], stmt[PATH_MAX_LEN], xfer[PATH_MAX_LEN], t1[ID_TEXT], body[PATH_MAX_LEN];
	json_t *doc;

	id_text(0x3001, t1);
	snprintf(body, sizeof(body),
		 "{\"transfers\":[{\"id\":\"%s\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\","
		 "\"amount\":1,\"code\":1}]}", t1, w->clearing, w->escrow);
	doc = call(w, w->admin, "POST", "/api/v1/ledger/transfers", body, 200);
	json_decref(doc);
	snprintf(acct, sizeof(acct), "/api/v1/ledger/accounts/%s", w->escrow);
	snprintf(stmt, sizeof(stmt), "/api/v1/ledger/accounts/%s/transfers", w->escrow);
	snprintf(xfer, sizeof(xfer), "/api/v1/ledger/transfers/%s", t1);
	{
		const struct endpoint endpoints[] = {
			{ "GET", acct, NULL, false },
			{ "GET", stmt, NULL, false },
			{ "GET", xfer, NULL, false },
			{ "GET", "/api/v1/ledger/journal", NULL, false },
			{ "POST", "/api/v1/ledger/accounts", "{\"accounts\":[{\"name\":\"x\",\"code\":1}]}", true },
			{ "POST", "/api/v1/ledger/transfers", body, true },
		};
		for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
			const struct endpoint *ep = &endpoints[i];
			if (ep->write)
				expect_error(w, w->auditor, ep->method, ep->path, ep->body, 403, "forbidden", NULL);
			else
				json_decref(call(w, w->auditor, ep->method, ep->path, NULL, 200));
			expect_error(w, w->shopper, ep->method, ep->path, ep->body, 403, "forbidden", NULL);
			expect_error(w, NULL, ep->method, ep->path, ep->body, 401, "unauthorized", NULL);
		}
	}
	/* The refused writes wrote nothing: the one transfer is all there is. */
	assert_int_equal(head_seq(w), 1);
	json_decref(call(w, w->auditor, "GET", "/api/v1/ledger/accounts/x", NULL, 404));
	world_finish(w);
}

/* A body of `count` copies of `item` under `list`, for the too-many test. Caller frees. */
static char *repeated_body(const char *list, const char *item, size_t count)
{
	size_t item_len = strlen(item), cap = strlen(list) + 16 + count * (item_len + 1);
	char *body = malloc(cap), *p = body;
	if (!body) {
		fail_msg("out of memory");
		return NULL;
	}
	p += sprintf(p, "{\"%s\":[", list);
	for (size_t i = 0; i < count; i++) {
		memcpy(p, item, item_len);
		p += item_len;
		*p++ = i + 1 < count ? ',' : ']';
	}
	strcpy(p, "}");
	return body;
}

/* Bad bodies and queries get 400 naming the field, and write nothing. */
static void test_bad_inputs(void **state)
{
	struct world *w = *state;
	char good[PATH_MAX_LEN], body[4 * PATH_MAX_LEN], t1[ID_TEXT], auth[TOKEN_MAX + 32];
	const char *const xfers = "/api/v1/ledger/transfers";
	const char *const accts = "/api/v1/ledger/accounts";
	char *big;
	uint64_t head = head_seq(w);

	id_text(0x4001, t1);
	/* A valid event, to put in front of the bad one so the index is checked. */
	snprintf(good, sizeof(good), "{\"id\":\"%s\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\","
		 "\"amount\":1,\"code\":1}", t1, w->clearing, w->escrow);
	expect_error(w, w->admin, "POST", xfers, "{\"transfers\": [", 400, "invalid_json", NULL);
	expect_error(w, w->admin, "POST", xfers, "[1]", 400, "invalid_json", NULL);
	expect_error(w, w->admin, "POST", xfers, "{}", 400, "invalid_field", "transfers must be an array");
	expect_error(w, w->admin, "POST", xfers, "{\"transfers\":{}}", 400, "invalid_field", "transfers must");
	expect_error(w, w->admin, "POST", xfers, "{\"transfers\":[]}", 400, "invalid_field", "1 to 8189");
	expect_error(w, w->admin, "POST", accts, "{\"accounts\":[]}", 400, "invalid_field", "1 to 1000");
	snprintf(body, sizeof(body), "{\"transfers\":[%s, 7]}", good);
	expect_error(w, w->admin, "POST", xfers, body, 400, "invalid_field", "transfers[1] must be an object");
	/* A misspelt field is refused, not dropped: at the top and in an event. */
	snprintf(body, sizeof(body), "{\"transfers\":[%s],\"transfer\":[]}", good);
	expect_error(w, w->admin, "POST", xfers, body, 400, "unknown_field", "transfer is not a field");
	snprintf(body, sizeof(body), "{\"transfers\":[%s,{\"id\":\"%s\",\"ammount\":1}]}", good, t1);
	expect_error(w, w->admin, "POST", xfers, body, 400, "unknown_field", "transfers[1].ammount");
	expect_error(w, w->admin, "POST", accts, "{\"accounts\":[{\"name\":\"x\",\"code\":1,\"flag\":[]}]}", 400,
		     "unknown_field", "accounts[0].flag");

	{
		/* Each bad event goes second: the message names index 1 and the field. */
		static const struct {
			const char *event;
			const char *field;
		} bad[] = {
			{ "{\"id\":\"xyz\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":1}",
			  "transfers[1].id must be 32 hex" },
			{ "{\"id\":\"0000000000000000000000000000100g\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":1}",
			  "transfers[1].id" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s1\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":1}",
			  "transfers[1].debit_account_id" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":-5,\"code\":1}",
			  "transfers[1].amount must be between 0" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1.5,\"code\":1}",
			  "transfers[1].amount must be a whole number" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":\"100\",\"code\":1}",
			  "transfers[1].amount must be a whole number" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"code\":1}",
			  "transfers[1].amount is required" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1}",
			  "transfers[1].code is required" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":65536}",
			  "transfers[1].code" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":1,\"user_data_32\":4294967296}",
			  "transfers[1].user_data_32" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":1,\"flags\":[\"pendingx\"]}",
			  "transfers[1].flags may hold only" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":1,\"flags\":[\"expiry\"]}",
			  "transfers[1].flags" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":1,\"flags\":\"pending\"}",
			  "transfers[1].flags must be an array" },
			{ "{\"id\":\"00000000000000000000000000001002\",\"debit_account_id\":\"%s\",\"credit_account_id\":\"%s\",\"amount\":1,\"code\":1,\"pending_id\":5}",
			  "transfers[1].pending_id must be a string" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char event[PATH_MAX_LEN];
			snprintf(event, sizeof(event), bad[i].event, w->clearing, w->escrow);
			snprintf(body, sizeof(body), "{\"transfers\":[%s,%s]}", good, event);
			expect_error(w, w->admin, "POST", xfers, body, 400, "invalid_field", bad[i].field);
		}
	}
	expect_error(w, w->admin, "POST", accts, "{\"accounts\":[{\"code\":1}]}", 400, "invalid_field",
		     "accounts[0].name is required");
	expect_error(w, w->admin, "POST", accts,
		     "{\"accounts\":[{\"name\":\"a\",\"code\":1},{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"code\":1}]}",
		     400, "invalid_field", "accounts[1].name");
	expect_error(w, w->admin, "POST", accts, "{\"accounts\":[{\"name\":\"a\",\"code\":1,\"flags\":[\"pending\"]}]}",
		     400, "invalid_field", "accounts[0].flags");
	expect_error(w, w->admin, "POST", accts, "{\"accounts\":[{\"name\":\"a\",\"code\":1,\"id\":\"12\"}]}", 400,
		     "invalid_field", "accounts[0].id");

	/* One over each list's bound. */
	big = repeated_body("transfers", "{}", LEDGER_BATCH_MAX + 1);
	expect_error(w, w->admin, "POST", xfers, big, 400, "invalid_field", "1 to 8189");
	free(big);
	big = repeated_body("accounts", "{}", 1001);
	expect_error(w, w->admin, "POST", accts, big, 400, "invalid_field", "1 to 1000");
	free(big);
	/* Over the 1 MiB body limit the HTTP layer answers first. */
	big = repeated_body("transfers", good, 1024 * 1024 / strlen(good) + 1);
	{
		const char *const headers[] = { "Content-Type: application/json", auth, NULL };
		struct testsrv_response resp;
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->admin);
		assert_int_equal(testsrv_request(w->srv, "POST", xfers, headers, big, &resp), 0);
		assert_int_equal(resp.status, 413);
		testsrv_response_free(&resp);
	}
	free(big);

	/* Queries and path ids. */
	{
		static const char *const bad_queries[] = {
			"/api/v1/ledger/journal?limit=0", "/api/v1/ledger/journal?limit=1001",
			"/api/v1/ledger/journal?limit=-1", "/api/v1/ledger/journal?limit=ten",
			"/api/v1/ledger/journal?from_seq=0", "/api/v1/ledger/journal?from_seq=%2B1",
			"/api/v1/ledger/journal?from_seq=99999999999999999999999",
			"/api/v1/ledger/accounts/test:escrow/transfers?limit=201",
			"/api/v1/ledger/accounts/test:escrow/transfers?cursor=abc",
			"/api/v1/ledger/accounts/test:escrow/transfers?cursor=0",
			"/api/v1/ledger/transfers/xyz",
			"/api/v1/ledger/transfers/0000000000000000000000000000100",
		};
		for (size_t i = 0; i < sizeof(bad_queries) / sizeof(bad_queries[0]); i++)
			expect_error(w, w->auditor, "GET", bad_queries[i], NULL, 400, "invalid_field", NULL);
	}
	assert_int_equal(head_seq(w), head);
	expect_balances(w, "test:escrow", 0, 0, 0, 0);
	world_finish(w);
}

/* Unknown accounts and transfers are 404, by id and by name. */
static void test_not_found(void **state)
{
	struct world *w = *state;
	static const char *const paths[] = {
		"/api/v1/ledger/accounts/00000000000000000000000000000999",
		"/api/v1/ledger/accounts/merchant:2:payable",
		"/api/v1/ledger/accounts/NOT%20A%20NAME",
		"/api/v1/ledger/accounts/00000000000000000000000000000999/transfers",
		"/api/v1/ledger/accounts/nobody/transfers",
		"/api/v1/ledger/transfers/00000000000000000000000000000999",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		expect_error(w, w->admin, "GET", paths[i], NULL, 404, "not_found", NULL);
	world_finish(w);
}

#define PAGE_TRANSFERS 7

/* Walking an account's statement by cursor returns each of its entries once, newest first. */
static void test_statement_pages(void **state)
{
	struct world *w = *state;
	char ids[PAGE_TRANSFERS][ID_TEXT], extra[ID_TEXT], path[PATH_MAX_LEN], cursor[64] = "";
	bool seen[PAGE_TRANSFERS] = { false };
	json_t *events = json_array(), *doc;
	int64_t last = INT64_MAX, newest = 0;
	size_t total = 0, pages = 0;

	/* Escrow is in all seven, the merchant in none: its statement stays empty. */
	for (size_t i = 0; i < PAGE_TRANSFERS; i++) {
		id_text(0x5000 + i, ids[i]);
		json_array_append_new(events, transfer(ids[i], i % 2 ? w->escrow : w->clearing,
						       i % 2 ? w->clearing : w->escrow, 100 + (int64_t)i,
						       LEDGER_CODE_ADJUSTMENT, NULL, NULL));
	}
	doc = post_events(w, "transfers", events);
	newest = apitest_int(json_array_get(json_object_get(doc, "results"), PAGE_TRANSFERS - 1), "seq");
	json_decref(doc);

	for (;;) {
		const json_t *list, *next;
		snprintf(path, sizeof(path), "/api/v1/ledger/accounts/test:escrow/transfers?limit=3%s%s",
			 cursor[0] ? "&cursor=" : "", cursor);
		doc = call(w, w->auditor, "GET", path, NULL, 200);
		assert_string_equal(apitest_str(doc, "account_id"), w->escrow);
		list = json_object_get(doc, "transfers");
		assert_true(json_array_size(list) <= 3);
		for (size_t i = 0; i < json_array_size(list); i++) {
			const json_t *e = json_array_get(list, i);
			size_t k;
			int64_t seq = apitest_int(e, "seq");
			if (total == 0)
				assert_int_equal(seq, newest);
			assert_true(seq < last);
			last = seq;
			for (k = 0; k < PAGE_TRANSFERS && strcmp(ids[k], apitest_str(e, "id")) != 0; k++)
				;
			assert_true(k < PAGE_TRANSFERS);
			assert_false(seen[k]);
			seen[k] = true;
			total++;
		}
		pages++;
		next = json_object_get(doc, "next_cursor");
		if (json_is_null(next)) {
			json_decref(doc);
			break;
		}
		assert_true(json_is_string(next));
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(doc);
		assert_true(pages < 10);
	}
	assert_int_equal(total, PAGE_TRANSFERS);
	assert_true(pages >= 3);

	doc = call(w, w->auditor, "GET", "/api/v1/ledger/accounts/test:merchant:1:payable/transfers", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "transfers")), 0);
	assert_true(json_is_null(json_object_get(doc, "next_cursor")));
	json_decref(doc);

	/* Cursors that are numbers but not this account's: past its newest entry, or another's entry. */
	id_text(0x5100, extra);
	json_decref(post_events(w, "transfers", json_pack("[o]", transfer(extra, w->clearing, w->merchant, 1,
									 LEDGER_CODE_ADJUSTMENT, NULL, NULL))));
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/test:escrow/transfers?cursor=%lld", (long long)newest + 1);
	expect_error(w, w->auditor, "GET", path, NULL, 400, "invalid_field", "cursor");
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/test:merchant:1:payable/transfers?cursor=%lld",
		 (long long)newest);
	expect_error(w, w->auditor, "GET", path, NULL, 400, "invalid_field", "cursor");
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/test:merchant:1:payable/transfers?cursor=%lld",
		 (long long)newest + 1);
	doc = call(w, w->auditor, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "transfers")), 1);
	assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "transfers"), 0), "id"), extra);
	json_decref(doc);
	world_finish(w);
}

/* --- the journal, checked against the chain --- */

static void id_of(const json_t *obj, const char *key, struct ledger_id *out)
{
	const json_t *v = json_object_get(obj, key);
	if (json_is_null(v)) {
		memset(out, 0, sizeof(*out));
		return;
	}
	assert_int_equal(ledger_id_parse(apitest_str(obj, key), out), LEDGER_OK);
}

static uint16_t transfer_flags_of(const json_t *obj)
{
	static const struct {
		const char *name;
		uint16_t bit;
	} names[] = {
		{ "linked", LEDGER_LINKED },
		{ "pending", LEDGER_PENDING },
		{ "post_pending_transfer", LEDGER_POST_PENDING },
		{ "void_pending_transfer", LEDGER_VOID_PENDING },
		{ "expiry", LEDGER_EXPIRY },
	};
	const json_t *flags = json_object_get(obj, "flags"), *item;
	uint16_t bits = 0;
	size_t i;
	json_array_foreach(flags, i, item) {
		size_t k;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(json_string_value(item), names[k].name) == 0)
				break;
		assert_true(k < sizeof(names) / sizeof(names[0]));
		bits |= names[k].bit;
	}
	return bits;
}

/* An entry rebuilt from its JSON alone. */
static void entry_of(const json_t *obj, struct ledger_entry *e)
{
	size_t len;
	memset(e, 0, sizeof(*e));
	id_of(obj, "id", &e->t.id);
	id_of(obj, "debit_account_id", &e->t.debit_account_id);
	id_of(obj, "credit_account_id", &e->t.credit_account_id);
	id_of(obj, "pending_id", &e->t.pending_id);
	id_of(obj, "user_data_128", &e->t.user_data_128);
	e->t.amount = apitest_int(obj, "amount");
	e->t.user_data_64 = (uint64_t)apitest_int(obj, "user_data_64");
	e->t.user_data_32 = (uint32_t)apitest_int(obj, "user_data_32");
	e->t.timeout = (uint32_t)apitest_int(obj, "timeout");
	e->t.ledger = (uint32_t)apitest_int(obj, "ledger");
	e->t.code = (uint16_t)apitest_int(obj, "code");
	e->t.flags = transfer_flags_of(obj);
	e->t.timestamp = (uint64_t)apitest_int(obj, "timestamp");
	e->t.seq = (uint64_t)apitest_int(obj, "seq");
	e->debit_prev_seq = (uint64_t)apitest_int(obj, "debit_prev_seq");
	e->credit_prev_seq = (uint64_t)apitest_int(obj, "credit_prev_seq");
	assert_int_equal(crypto_hex_decode(apitest_str(obj, "hash"), 2 * LEDGER_HASH_LEN, e->hash, sizeof(e->hash),
					   &len), CRYPTO_OK);
	assert_int_equal(len, LEDGER_HASH_LEN);
}

/*
 * Walking the journal two entries a page returns seq 1..head once each,
 * and the JSON of every entry is complete and exact: its canonical bytes,
 * rebuilt from the JSON alone, chain to the hash the server gives.
 */
static void test_journal_pages_and_chain(void **state)
{
	struct world *w = *state;
	char ids[5][ID_TEXT], path[PATH_MAX_LEN];
	uint8_t prev[LEDGER_HASH_LEN] = { 0 }, canonical[LEDGER_CANONICAL_LEN], hash[LEDGER_HASH_LEN];
	json_t *events = json_array(), *doc;
	uint64_t from = 1, expect_seq = 1, head;

	for (size_t i = 0; i < 5; i++)
		id_text(0x6000 + i, ids[i]);
	json_array_append_new(events, transfer(ids[0], w->clearing, w->escrow, 9000, LEDGER_CODE_PAYMENT, NULL, NULL));
	json_array_append_new(events, transfer(ids[1], w->escrow, w->merchant, 4000, LEDGER_CODE_RELEASE, "pending", NULL));
	json_array_append_new(events, transfer(ids[2], w->escrow, w->merchant, INT64_MAX, LEDGER_CODE_RELEASE,
					       "post_pending_transfer", ids[1]));
	json_array_append_new(events, transfer(ids[3], w->merchant, w->clearing, 1000, LEDGER_CODE_PAYOUT, "linked", NULL));
	json_array_append_new(events, transfer(ids[4], w->escrow, w->clearing, 500, LEDGER_CODE_REFUND, NULL, NULL));
	json_decref(post_events(w, "transfers", events));
	/* Posting INT64_MAX posts the whole pending amount. */
	expect_balances(w, "test:merchant:1:payable", 0, 1000, 0, 4000);

	head = head_seq(w);
	assert_int_equal(head, 5);
	for (;;) {
		const json_t *list, *next;
		snprintf(path, sizeof(path), "/api/v1/ledger/journal?from_seq=%llu&limit=2", (unsigned long long)from);
		doc = call(w, w->auditor, "GET", path, NULL, 200);
		assert_int_equal(apitest_int(doc, "head_seq"), head);
		list = json_object_get(doc, "entries");
		assert_true(json_array_size(list) >= 1 && json_array_size(list) <= 2);
		for (size_t i = 0; i < json_array_size(list); i++) {
			struct ledger_entry e;
			entry_of(json_array_get(list, i), &e);
			assert_int_equal(e.t.seq, expect_seq);
			ledger_entry_encode(&e, canonical);
			ledger_chain(prev, canonical, hash);
			assert_memory_equal(hash, e.hash, LEDGER_HASH_LEN);
			memcpy(prev, hash, LEDGER_HASH_LEN);
			expect_seq++;
		}
		next = json_object_get(doc, "next_from_seq");
		if (json_is_null(next)) {
			json_decref(doc);
			break;
		}
		from = (uint64_t)json_integer_value(next);
		assert_int_equal(from, expect_seq);
		json_decref(doc);
	}
	assert_int_equal(expect_seq, head + 1);

	/* Past the head: nothing, and no next page. */
	doc = call(w, w->auditor, "GET", "/api/v1/ledger/journal?from_seq=6", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), 0);
	assert_true(json_is_null(json_object_get(doc, "next_from_seq")));
	json_decref(doc);
	world_finish(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accounts_create_get_replay, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_transfers_balances_replay, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_transfer_get, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_roles, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_bad_inputs, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_not_found, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_statement_pages, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_journal_pages_and_chain, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
