/*
 * Integration tests of the auditor's ledger views over HTTP on the real
 * `bangsoleh serve`: account statements with opening, closing and running
 * balances over a period given by sequences or by times, the trial balance
 * as of a sequence or a time (per ledger totals, balanced, paged, CSV), every
 * bad input answered 400 or 404, and the roles: admin and auditor read,
 * merchant and shopper get 403.
 *
 * Each test has its own server with three accounts and seven entries:
 *   1 clearing -> escrow 150000            5 escrow -> merchant 2000, pending (P2)
 *   2 escrow -> merchant 100000, pending P  6 void P2
 *   3 post P, 60000 of it                   7 escrow -> clearing 1000
 *   4 clearing -> escrow 5000
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

#include "internal.h"
#include "apitest.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define ID_TEXT 33
#define PATH_LEN 512
#define ENTRIES 7
#define NS_PER_MS UINT64_C(1000000)
#define CODE_ASSET 1
#define CODE_LIABILITY 2

struct world {
	struct testsrv *srv;
	char admin[TOKEN_MAX], auditor[TOKEN_MAX], shopper[TOKEN_MAX], merchant_user[TOKEN_MAX];
	char escrow[ID_TEXT], merchant[ID_TEXT], clearing[ID_TEXT];
	uint64_t ts[ENTRIES + 1];            /* ts[seq], from the journal */
	char created_at[ENTRIES + 1][40];    /* created_at[seq] */
};

/* Four balances, in the order debits_pending, debits_posted, credits_pending, credits_posted. */
struct bal {
	int64_t dp, dpo, cp, cpo;
};

/* Escrow after each entry 0..7 (by the table of docs/ledger.md). */
static const struct bal escrow_after[ENTRIES + 1] = {
	{ 0, 0, 0, 0 },           { 0, 0, 0, 150000 },      { 100000, 0, 0, 150000 },
	{ 0, 60000, 0, 150000 },  { 0, 60000, 0, 155000 },  { 2000, 60000, 0, 155000 },
	{ 0, 60000, 0, 155000 },  { 0, 61000, 0, 155000 },
};

static json_t *get(const struct world *w, const char *token, const char *path, int status)
{
	return apitest_call(w->srv, token, "GET", path, NULL, status);
}

static void expect_error(const struct world *w, const char *path, int status, const char *code, const char *part)
{
	apitest_expect_error(w->srv, w->auditor, "GET", path, NULL, status, code, part);
}

static void id_text(uint64_t v, char out[ID_TEXT])
{
	struct ledger_id id = ledger_id_from_u64(v);
	ledger_id_hex(&id, out, ID_TEXT);
}

static json_t *transfer(uint64_t id, const char *debit, const char *credit, int64_t amount, const char *flag,
			uint64_t pending)
{
	char idt[ID_TEXT], pt[ID_TEXT];
	json_t *t;
	id_text(id, idt);
	t = json_pack("{s:s, s:I, s:i}", "id", idt, "amount", (json_int_t)amount, "code", 1);
	if (debit)
		json_object_set_new(t, "debit_account_id", json_string(debit));
	if (credit)
		json_object_set_new(t, "credit_account_id", json_string(credit));
	if (flag)
		json_object_set_new(t, "flags", json_pack("[s]", flag));
	if (pending) {
		id_text(pending, pt);
		json_object_set_new(t, "pending_id", json_string(pt));
	}
	return t;
}

/* POSTs one transfer as admin; it must be `ok`. */
static void post(const struct world *w, json_t *t)
{
	json_t *doc = apitest_call_json(w->srv, w->admin, "POST", "/api/v1/ledger/transfers",
					json_pack("{s:[o]}", "transfers", t), 200);
	assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "results"), 0), "result"), "ok");
	json_decref(doc);
}

static void make_account(const struct world *w, const char *id, const char *name, int code)
{
	json_t *doc = apitest_call_json(w->srv, w->admin, "POST", "/api/v1/ledger/accounts",
					json_pack("{s:[{s:s, s:s, s:i}]}", "accounts", "id", id, "name", name, "code",
						  code),
					200);
	assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "results"), 0), "result"), "ok");
	json_decref(doc);
}

static int world_setup(void **state)
{
	const char *const env[] = { COST_ENV, NULL };
	static const char *const roles[] = { "admin", "auditor", "shopper", "merchant" };
	struct world *w = calloc(1, sizeof(*w));
	char *tokens[4];
	json_t *doc;
	if (!w)
		return -1;
	*state = w;
	if (!(w->srv = testsrv_new(NULL, env)))
		return -1;
	tokens[0] = w->admin;
	tokens[1] = w->auditor;
	tokens[2] = w->shopper;
	tokens[3] = w->merchant_user;
	for (size_t i = 0; i < 4; i++) {
		apitest_user_add_cli(w->srv, env, roles[i], roles[i], PASSWORD);
		apitest_login(w->srv, roles[i], PASSWORD, tokens[i]);
	}
	id_text(0x100, w->escrow);
	id_text(0x200, w->merchant);
	id_text(0x300, w->clearing);
	make_account(w, w->escrow, "test:escrow", CODE_LIABILITY);
	make_account(w, w->merchant, "test:merchant:1:payable", CODE_LIABILITY);
	make_account(w, w->clearing, "test:gateway:clearing", CODE_ASSET);
	post(w, transfer(1, w->clearing, w->escrow, 150000, NULL, 0));
	post(w, transfer(2, w->escrow, w->merchant, 100000, "pending", 0));
	post(w, transfer(3, NULL, NULL, 60000, "post_pending_transfer", 2));
	post(w, transfer(4, w->clearing, w->escrow, 5000, NULL, 0));
	post(w, transfer(5, w->escrow, w->merchant, 2000, "pending", 0));
	post(w, transfer(6, NULL, NULL, 0, "void_pending_transfer", 5));
	post(w, transfer(7, w->escrow, w->clearing, 1000, NULL, 0));
	doc = get(w, w->auditor, "/api/v1/ledger/journal", 200);
	assert_int_equal(apitest_int(doc, "head_seq"), ENTRIES);
	for (size_t i = 0; i < ENTRIES; i++) {
		const json_t *e = json_array_get(json_object_get(doc, "entries"), i);
		w->ts[i + 1] = (uint64_t)apitest_int(e, "timestamp");
		snprintf(w->created_at[i + 1], sizeof(w->created_at[0]), "%s", apitest_str(e, "created_at"));
	}
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

static void world_finish(struct world *w)
{
	assert_true(testsrv_stopped_cleanly(w->srv));
	testsrv_free(w->srv);
	w->srv = NULL;
}

/* --- checks --- */

static void expect_bal(const json_t *obj, const struct bal *want, const char *what)
{
	if (!json_is_object(obj) || apitest_int(obj, "debits_pending") != want->dp ||
	    apitest_int(obj, "debits_posted") != want->dpo || apitest_int(obj, "credits_pending") != want->cp ||
	    apitest_int(obj, "credits_posted") != want->cpo)
		fail_msg("%s: balances %lld/%lld/%lld/%lld, want %lld/%lld/%lld/%lld", what,
			 (long long)apitest_int(obj, "debits_pending"), (long long)apitest_int(obj, "debits_posted"),
			 (long long)apitest_int(obj, "credits_pending"), (long long)apitest_int(obj, "credits_posted"),
			 (long long)want->dp, (long long)want->dpo, (long long)want->cp, (long long)want->cpo);
}

/* The first sequence at or after `ms` (what a time `from` starts at), by the journal's timestamps. */
static uint64_t first_at(const struct world *w, uint64_t ms)
{
	uint64_t seq = 1;
	while (seq <= ENTRIES && w->ts[seq] < ms * NS_PER_MS)
		seq++;
	return seq;
}

/* An entry's created_at cut to milliseconds, as clock_parse_time reads it. */
static uint64_t ms_of(const struct world *w, uint64_t seq)
{
	return w->ts[seq] / NS_PER_MS;
}

/* --- statements --- */

/* doc's entries are escrow's n entries from `first` on, each with escrow's balances after it. */
static const json_t *expect_escrow_page(const json_t *doc, uint64_t first, size_t n)
{
	const json_t *entries = json_object_get(doc, "entries");
	assert_int_equal(json_array_size(entries), n);
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(entries, i);
		assert_int_equal(apitest_int(e, "seq"), first + i);
		expect_bal(json_object_get(e, "balances"), &escrow_after[first + i], "running");
	}
	return entries;
}

/* Opening, closing and running balances over sequences 3..6, in pages of two, by id and by name. */
static void test_statement_by_seq(void **state)
{
	struct world *w = *state;
	char path[PATH_LEN];
	const json_t *entries;
	json_t *doc, *again;

	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/%s/statement?from_seq=3&to_seq=6&limit=2", w->escrow);
	doc = get(w, w->auditor, path, 200);
	assert_string_equal(apitest_str(json_object_get(doc, "account"), "name"), "test:escrow");
	assert_int_equal(apitest_int(doc, "from_seq"), 3);
	assert_int_equal(apitest_int(doc, "to_seq"), 6);
	assert_int_equal(apitest_int(doc, "head_seq"), ENTRIES);
	expect_bal(json_object_get(doc, "opening"), &escrow_after[2], "opening");
	expect_bal(json_object_get(doc, "closing"), &escrow_after[6], "closing");
	entries = expect_escrow_page(doc, 3, 2);
	/* The post shows what it posted; the reservation it released is in the running balances. */
	assert_int_equal(apitest_int(json_array_get(entries, 0), "amount"), 60000);
	assert_string_equal(apitest_str(doc, "next_cursor"), "5");
	json_decref(doc);

	doc = get(w, w->auditor,
		  "/api/v1/ledger/accounts/test:escrow/statement?from_seq=3&to_seq=6&limit=2&cursor=5", 200);
	expect_escrow_page(doc, 5, 2);
	assert_true(json_is_null(json_object_get(doc, "next_cursor")));
	expect_bal(json_object_get(doc, "opening"), &escrow_after[2], "opening, page 2");
	json_decref(doc);

	/* Without bounds: the whole ledger, opening at zero, closing at the account's balances now. */
	doc = get(w, w->admin, "/api/v1/ledger/accounts/test:escrow/statement", 200);
	assert_int_equal(apitest_int(doc, "from_seq"), 1);
	assert_int_equal(apitest_int(doc, "to_seq"), ENTRIES);
	expect_bal(json_object_get(doc, "opening"), &escrow_after[0], "opening, all");
	expect_bal(json_object_get(doc, "closing"), &escrow_after[ENTRIES], "closing, all");
	expect_bal(json_object_get(doc, "account"), &escrow_after[ENTRIES], "account now");
	/* Escrow is in every entry. */
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), ENTRIES);
	json_decref(doc);

	/* The merchant's account is in entries 2, 3, 5, 6 only. */
	doc = get(w, w->auditor, "/api/v1/ledger/accounts/test:merchant:1:payable/statement?from_seq=4", 200);
	entries = json_object_get(doc, "entries");
	assert_int_equal(json_array_size(entries), 2);
	assert_int_equal(apitest_int(json_array_get(entries, 0), "seq"), 5);
	assert_int_equal(apitest_int(json_array_get(entries, 1), "seq"), 6);
	expect_bal(json_object_get(doc, "opening"), &(struct bal){ 0, 0, 0, 60000 }, "merchant opening");
	expect_bal(json_object_get(json_array_get(entries, 0), "balances"), &(struct bal){ 0, 0, 2000, 60000 },
		   "merchant after 5");
	json_decref(doc);

	/* An empty period (from_seq = to_seq + 1) opens and closes at the same balances. */
	doc = get(w, w->auditor, "/api/v1/ledger/accounts/test:escrow/statement?from_seq=5&to_seq=4", 200);
	expect_bal(json_object_get(doc, "opening"), &escrow_after[4], "empty opening");
	expect_bal(json_object_get(doc, "closing"), &escrow_after[4], "empty closing");
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), 0);
	again = get(w, w->auditor, "/api/v1/ledger/accounts/test:escrow/statement?from_seq=5&to_seq=4&limit=1", 200);
	assert_true(json_equal(doc, again));
	json_decref(again);
	json_decref(doc);
	world_finish(w);
}

/* A period given by times: `from` starts at the first entry at or after it, `to` ends before it. */
static void test_statement_by_time(void **state)
{
	struct world *w = *state;
	char path[PATH_LEN];
	uint64_t from_seq = first_at(w, ms_of(w, 3)), to_seq = first_at(w, ms_of(w, 7)) - 1;
	json_t *doc, *by_seq;

	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/test:escrow/statement?from=%s&to=%s", w->created_at[3],
		 w->created_at[7]);
	doc = get(w, w->auditor, path, 200);
	assert_int_equal(apitest_int(doc, "from_seq"), from_seq);
	assert_int_equal(apitest_int(doc, "to_seq"), to_seq);
	assert_true(from_seq <= 3 && to_seq <= 6);
	expect_bal(json_object_get(doc, "opening"), &escrow_after[from_seq - 1], "opening by time");
	expect_bal(json_object_get(doc, "closing"), &escrow_after[to_seq], "closing by time");
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/test:escrow/statement?from_seq=%llu&to_seq=%llu",
		 (unsigned long long)from_seq, (unsigned long long)to_seq);
	by_seq = get(w, w->auditor, path, 200);
	assert_true(json_equal(json_object_get(doc, "entries"), json_object_get(by_seq, "entries")));
	json_decref(by_seq);
	json_decref(doc);

	/* Bare dates are midnight WIB: these take in everything. */
	doc = get(w, w->auditor, "/api/v1/ledger/accounts/test:escrow/statement?from=2000-01-01&to=2200-01-01", 200);
	assert_int_equal(apitest_int(doc, "from_seq"), 1);
	assert_int_equal(apitest_int(doc, "to_seq"), ENTRIES);
	json_decref(doc);
	/* A period before the first entry is empty and all zero; from equal to to is empty too. */
	doc = get(w, w->auditor, "/api/v1/ledger/accounts/test:escrow/statement?from=2000-01-01&to=2000-01-02", 200);
	assert_int_equal(apitest_int(doc, "from_seq"), 1);
	assert_int_equal(apitest_int(doc, "to_seq"), 0);
	expect_bal(json_object_get(doc, "closing"), &escrow_after[0], "before the ledger");
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/test:escrow/statement?from=%s&to=%s", w->created_at[4],
		 w->created_at[4]);
	doc = get(w, w->auditor, path, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), 0);
	json_decref(doc);
	world_finish(w);
}

/* --- the trial balance --- */

/*
 * The one ledger's totals in doc equal these, balanced, over every account
 * doc lists (the server's own platform accounts, all zero here, besides the
 * test's).
 */
static void expect_totals(const json_t *doc, const struct bal *debits_credits)
{
	const json_t *g = json_array_get(json_object_get(doc, "ledgers"), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "ledgers")), 1);
	assert_int_equal(apitest_int(g, "ledger"), 360);
	assert_int_equal(apitest_int(g, "accounts"), json_array_size(json_object_get(doc, "accounts")));
	expect_bal(g, debits_credits, "totals");
	assert_true(json_is_true(json_object_get(g, "balanced")));
	assert_true(json_is_true(json_object_get(doc, "balanced")));
}

/* The row of account `id` in doc's accounts, NULL when it is not listed. */
static const json_t *row_find(const json_t *doc, const char *id)
{
	const json_t *rows = json_object_get(doc, "accounts");
	for (size_t i = 0; i < json_array_size(rows); i++)
		if (strcmp(apitest_str(json_array_get(rows, i), "id"), id) == 0)
			return json_array_get(rows, i);
	return NULL;
}

static const json_t *row_of(const json_t *doc, const char *id)
{
	const json_t *row = row_find(doc, id);
	if (!row)
		fail_msg("account %s is not listed", id);
	return row;
}

static void test_trial_balance(void **state)
{
	struct world *w = *state;
	char path[PATH_LEN], late[ID_TEXT];
	uint64_t as_of_seq = first_at(w, ms_of(w, 4)) - 1;
	size_t accounts, paged = 0;
	json_t *doc, *page, *by_seq;

	doc = get(w, w->auditor, "/api/v1/ledger/trial-balance?as_of_seq=2", 200);
	assert_int_equal(apitest_int(doc, "as_of_seq"), 2);
	assert_int_equal(apitest_int(doc, "head_seq"), ENTRIES);
	assert_true(json_is_null(json_object_get(doc, "as_of")));
	expect_totals(doc, &(struct bal){ 100000, 150000, 100000, 150000 });
	accounts = json_array_size(json_object_get(doc, "accounts"));
	expect_bal(row_of(doc, w->escrow), &escrow_after[2], "escrow as of 2");
	expect_bal(row_of(doc, w->merchant), &(struct bal){ 0, 0, 100000, 0 }, "merchant as of 2");
	expect_bal(row_of(doc, w->clearing), &(struct bal){ 0, 150000, 0, 0 }, "clearing as of 2");
	assert_string_equal(apitest_str(row_of(doc, w->escrow), "name"), "test:escrow");
	json_decref(doc);

	/* Now (the head): the totals of every account's stored balances. */
	doc = get(w, w->auditor, "/api/v1/ledger/trial-balance", 200);
	assert_int_equal(apitest_int(doc, "as_of_seq"), ENTRIES);
	expect_totals(doc, &(struct bal){ 0, 216000, 0, 216000 });
	expect_bal(row_of(doc, w->escrow), &escrow_after[ENTRIES], "escrow now");
	json_decref(doc);
	doc = get(w, w->auditor, "/api/v1/ledger/trial-balance?as_of_seq=0", 200);
	expect_totals(doc, &(struct bal){ 0, 0, 0, 0 });
	json_decref(doc);

	/* As of a time: after the last entry before it; the same as that sequence. */
	snprintf(path, sizeof(path), "/api/v1/ledger/trial-balance?as_of=%s", w->created_at[4]);
	doc = get(w, w->auditor, path, 200);
	assert_int_equal(apitest_int(doc, "as_of_seq"), as_of_seq);
	assert_int_equal(strlen(apitest_str(doc, "as_of")), 29);
	expect_bal(row_of(doc, w->escrow), &escrow_after[as_of_seq], "escrow as of a time");
	snprintf(path, sizeof(path), "/api/v1/ledger/trial-balance?as_of_seq=%llu", (unsigned long long)as_of_seq);
	by_seq = get(w, w->auditor, path, 200);
	assert_true(json_equal(json_object_get(doc, "accounts"), json_object_get(by_seq, "accounts")));
	assert_true(json_equal(json_object_get(doc, "ledgers"), json_object_get(by_seq, "ledgers")));
	json_decref(by_seq);
	json_decref(doc);

	/* An account made after entry 7 is listed now, not as of entry 6 (made before 7), but as of 7. */
	id_text(0x400, late);
	make_account(w, late, "test:late", CODE_ASSET);
	doc = get(w, w->auditor, "/api/v1/ledger/trial-balance", 200);
	expect_totals(doc, &(struct bal){ 0, 216000, 0, 216000 });
	assert_non_null(row_find(doc, late));
	assert_int_equal(json_array_size(json_object_get(doc, "accounts")), accounts + 1);
	json_decref(doc);
	doc = get(w, w->auditor, "/api/v1/ledger/trial-balance?as_of_seq=6", 200);
	expect_totals(doc, &(struct bal){ 0, 215000, 0, 215000 });
	assert_null(row_find(doc, late));
	json_decref(doc);
	post(w, transfer(8, late, w->escrow, 10, NULL, 0));
	doc = get(w, w->auditor, "/api/v1/ledger/trial-balance?as_of_seq=7", 200);
	expect_totals(doc, &(struct bal){ 0, 216000, 0, 216000 });
	assert_non_null(row_find(doc, late));
	json_decref(doc);

	/* Pages of accounts in id order, together all of them; every page states the whole totals. */
	doc = get(w, w->auditor, "/api/v1/ledger/trial-balance?as_of_seq=2&limit=2", 200);
	assert_int_equal(json_array_size(json_object_get(doc, "accounts")), 2);
	assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "accounts"), 0), "id"), w->escrow);
	assert_string_equal(apitest_str(doc, "next_cursor"), w->merchant);
	page = json_incref(doc);
	while (!json_is_null(json_object_get(page, "next_cursor"))) {
		json_t *next;
		paged += json_array_size(json_object_get(page, "accounts"));
		snprintf(path, sizeof(path), "/api/v1/ledger/trial-balance?as_of_seq=2&limit=2&cursor=%s",
			 apitest_str(page, "next_cursor"));
		next = get(w, w->auditor, path, 200);
		assert_true(json_equal(json_object_get(doc, "ledgers"), json_object_get(next, "ledgers")));
		json_decref(page);
		page = next;
	}
	paged += json_array_size(json_object_get(page, "accounts"));
	assert_int_equal(paged, accounts);
	json_decref(page);
	json_decref(doc);
	world_finish(w);
}

/* GET path with token; the raw response. */
static void raw_get(const struct world *w, const char *token, const char *path, struct testsrv_response *resp)
{
	char auth[TOKEN_MAX + 32];
	const char *headers[] = { auth, NULL };
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	assert_int_equal(testsrv_request(w->srv, "GET", path, headers, NULL, resp), 0);
}

static void test_trial_balance_csv(void **state)
{
	struct world *w = *state;
	static const char total[] = "2,total,360,,,,100000,150000,100000,150000,true\r\n";
	struct testsrv_response a, b, c;
	char want[1024];

	raw_get(w, w->auditor, "/api/v1/ledger/trial-balance.csv?as_of_seq=2", &a);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(testsrv_header(&a, "Content-Type"), "text/csv"));
	assert_non_null(strstr(testsrv_header(&a, "Content-Disposition"), "trial-balance-2.csv"));
	snprintf(want, sizeof(want),
		 "as_of_seq,kind,ledger,account_id,name,code,debits_pending,debits_posted,credits_pending,"
		 "credits_posted,balanced\r\n"
		 "2,account,360,%s,test:escrow,2,100000,0,0,150000,\r\n"
		 "2,account,360,%s,test:merchant:1:payable,2,0,0,100000,0,\r\n"
		 "2,account,360,%s,test:gateway:clearing,1,0,150000,0,0,\r\n",
		 w->escrow, w->merchant, w->clearing);
	/* The test's accounts have the lowest ids, so they come first; the server's own follow, all zero. */
	assert_memory_equal(a.body, want, strlen(want));
	assert_int_equal(strcmp(a.body + a.body_len - strlen(total), total), 0);
	for (const char *line = a.body + strlen(want); line < a.body + a.body_len - strlen(total);
	     line = strchr(line, '\n') + 1)
		assert_non_null(strstr(line, ",0,0,0,0,\r\n"));
	raw_get(w, w->admin, "/api/v1/ledger/trial-balance?as_of_seq=2&format=csv", &b);
	assert_int_equal(b.status, 200);
	assert_string_equal(a.body, b.body);
	/* Paged like the JSON, the next cursor in a header. */
	raw_get(w, w->auditor, "/api/v1/ledger/trial-balance.csv?as_of_seq=2&limit=1", &c);
	assert_int_equal(c.status, 200);
	assert_string_equal(testsrv_header(&c, "X-Next-Cursor"), w->escrow);
	assert_non_null(strstr(c.body, total));
	assert_null(strstr(c.body, "test:merchant"));
	testsrv_response_free(&a);
	testsrv_response_free(&b);
	testsrv_response_free(&c);
	world_finish(w);
}

/* --- bad input and roles --- */

#define STATEMENT "/api/v1/ledger/accounts/test:escrow/statement?"
#define TRIAL "/api/v1/ledger/trial-balance?"

static void test_bad_input(void **state)
{
	struct world *w = *state;
	static const struct {
		const char *path;
		int status;
		const char *part;
	} cases[] = {
		{ STATEMENT "from=yesterday", 400, "from must be an RFC 3339 time" },
		{ STATEMENT "to=2026-13-01", 400, "to must be an RFC 3339 time" },
		{ STATEMENT "from=2026-11-28T08:00:00", 400, "from must be" },
		{ STATEMENT "from=1969-12-31", 400, "from must be" },
		{ STATEMENT "from=2026-11-28&to=2026-11-27", 400, "to is before from" },
		{ STATEMENT "from=2026-11-28&from_seq=1", 400, "give from or from_seq, not both" },
		{ STATEMENT "to=2026-11-28&to_seq=1", 400, "give to or to_seq, not both" },
		{ STATEMENT "from_seq=0", 400, "from_seq must be a whole number from 1" },
		{ STATEMENT "from_seq=-1", 400, "from_seq must be a whole number from 1" },
		{ STATEMENT "to_seq=x", 400, "to_seq must be a whole number from 0" },
		{ STATEMENT "from_seq=5&to_seq=3", 400, "the period ends (seq 3) before it starts (seq 5)" },
		{ STATEMENT "to_seq=8", 404, "to_seq is beyond the ledger's head (7)" },
		{ STATEMENT "from_seq=9", 404, "from_seq is beyond the ledger's head (7)" },
		{ STATEMENT "limit=0", 400, "limit must be a whole number from 1 to 200" },
		{ STATEMENT "limit=201", 400, "limit must be" },
		{ STATEMENT "cursor=abc", 400, "cursor must be a next_cursor" },
		{ STATEMENT "cursor=0", 400, "cursor must be a next_cursor" },
		{ STATEMENT "from_seq=3&to_seq=5&cursor=6", 400, "cursor is not within the period" },
		{ STATEMENT "from_seq=3&to_seq=5&cursor=2", 400, "cursor is not within the period" },
		{ "/api/v1/ledger/accounts/test:nobody/statement", 404, "no such ledger account" },
		{ "/api/v1/ledger/accounts/00000000000000000000000000000999/statement", 404, "no such ledger account" },
		{ TRIAL "as_of=soon", 400, "as_of must be an RFC 3339 time" },
		{ TRIAL "as_of=2026-02-30", 400, "as_of must be" },
		{ TRIAL "as_of_seq=8", 404, "as_of_seq is beyond the ledger's head (7)" },
		{ TRIAL "as_of_seq=-2", 400, "as_of_seq must be a whole number" },
		{ TRIAL "as_of=2026-11-28&as_of_seq=1", 400, "give as_of or as_of_seq, not both" },
		{ TRIAL "cursor=zz", 400, "cursor must be a next_cursor" },
		{ TRIAL "cursor=000000000000000000000000000001", 400, "cursor must be" },
		{ TRIAL "limit=0", 400, "limit must be a whole number from 1 to 1000" },
		{ TRIAL "limit=1001", 400, "limit must be" },
		{ TRIAL "format=xml", 400, "format must be json or csv" },
		{ "/api/v1/ledger/trial-balance.csv?limit=10001", 400, "limit must be a whole number from 1 to 10000" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(w, cases[i].path, cases[i].status, cases[i].status == 404 ? "not_found" : "invalid_field",
			     cases[i].part);
	world_finish(w);
}

static void test_roles(void **state)
{
	struct world *w = *state;
	static const char *const paths[] = {
		"/api/v1/ledger/accounts/test:escrow/statement",
		"/api/v1/ledger/trial-balance",
		"/api/v1/ledger/trial-balance.csv",
	};
	struct testsrv_response resp;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *readers[] = { w->auditor, w->admin };
		const char *others[] = { w->merchant_user, w->shopper };
		for (size_t k = 0; k < 2; k++) {
			raw_get(w, readers[k], paths[i], &resp);
			assert_int_equal(resp.status, 200);
			testsrv_response_free(&resp);
			raw_get(w, others[k], paths[i], &resp);
			assert_int_equal(resp.status, 403);
			assert_true(testsrv_error_is(&resp, "forbidden"));
			testsrv_response_free(&resp);
		}
		apitest_expect_error(w->srv, NULL, "GET", paths[i], NULL, 401, "unauthorized", "");
		/* Reading only: no other method is served there. */
		apitest_expect_error(w->srv, w->auditor, "POST", paths[i], "{}", 405, "method_not_allowed", "");
	}
	world_finish(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_statement_by_seq, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_statement_by_time, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_trial_balance, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_trial_balance_csv, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_roles, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
