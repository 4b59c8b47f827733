/*
 * Orders over the wire: the real `bangsoleh serve` and the real
 * `bangsoleh-sandbox` provider on loopback. Each test starts both
 * (world_start): the server with the test clock (test.clock_control=1) and
 * short rules (ORDER_CONFIRM_S, ORDER_COMPLETE_S, PAYMENT_EXPIRY_S), its
 * store in a folder of the test's own so `bangsoleh ledger verify` runs
 * after the server stopped. Users: an admin made with `bangsoleh user add`,
 * the others by the admin: shoppers ani (the buyer) and citra, merchants
 * siti (store A, which she registers herself, pending until the admin
 * verifies it; with a bank account), dedi (store B, registered by the admin)
 * and eko (runs no store of these), a courier and an auditor. Payments are
 * paid at the sandbox; every wait polls with a bound.
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
#include <unistd.h>

#include <jansson.h>

#include "apitest.h"
#include "sandboxtest.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define ID_MAX 65
#define PATH_MAX_LEN 512
#define BODY_MAX 8192
#define WAIT_MS 30000             /* longest wait for something asynchronous to show */
#define WAIT_STEP_MS 50
#define ORDER_CONFIRM_S 3600      /* order.confirm_within */
#define ORDER_COMPLETE_S 7200     /* order.complete_after */
#define PAYMENT_EXPIRY_S 900      /* payment.expiry */
#define RACE_CLIENTS 100
#define RACE_SHOPPERS 5
#define LIST_ORDERS 7             /* orders the listing test pages through */

enum who { NOBODY, ANI, CITRA, SITI, DEDI, EKO, COURIER, AUDITOR, ADMIN, WHO_N };

struct world {
	struct sandboxtest_pair p;             /* the sandbox, the server, the store's folder */
	char tok[WHO_N][TOKEN_MAX];
	uint64_t store_a, store_b;
	uint64_t eko;                         /* eko's user id */
	unsigned keys;                       /* Idempotency-Keys handed out */
};

/* One line of a cart. */
struct cart_line {
	uint64_t product_id;
	int64_t qty;
};

/* --- HTTP --- */

static const char *as(const struct world *w, enum who who)
{
	return who == NOBODY ? NULL : w->tok[who];
}

static json_t *call(const struct world *w, enum who who, const char *method, const char *path, const char *body,
		    int status)
{
	return apitest_call(w->p.srv, as(w, who), method, path, body, status);
}

/* As call, the body given as JSON (reference stolen). */
static json_t *call_json(const struct world *w, enum who who, const char *method, const char *path, json_t *body,
			 int status)
{
	return apitest_call_json(w->p.srv, as(w, who), method, path, body, status);
}

static void expect_error(const struct world *w, enum who who, const char *method, const char *path, const char *body,
			 int status, const char *code, const char *part)
{
	apitest_expect_error(w->p.srv, as(w, who), method, path, body, status, code, part);
}

/*
 * A request as who with an optional Content-Type and Idempotency-Key
 * (NULL: none). OUT: *status. Returns the body as JSON (NULL when it is not).
 */
static json_t *send_req(const struct world *w, enum who who, const char *method, const char *path, const char *ctype,
			const char *key, const char *body, int *status)
{
	char auth[TOKEN_MAX + 32], type[128], idem[128];
	const char *headers[4];
	size_t n = 0;
	struct testsrv_response resp;
	json_t *doc;
	if (who != NOBODY) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->tok[who]);
		headers[n++] = auth;
	}
	if (ctype) {
		snprintf(type, sizeof(type), "Content-Type: %s", ctype);
		headers[n++] = type;
	}
	if (key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
		headers[n++] = idem;
	}
	headers[n] = NULL;
	assert_int_equal(testsrv_request(w->p.srv, method, path, headers, body, &resp), 0);
	*status = resp.status;
	doc = json_loadb(resp.body, resp.body_len, 0, NULL);
	testsrv_response_free(&resp);
	return doc;
}

/* The error code of an error body, "" when there is none. */
static const char *error_code(const json_t *doc)
{
	const char *code = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
	return code ? code : "";
}

static const char *error_message(const json_t *doc)
{
	const char *m = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
	return m ? m : "";
}

/* A checkout with this key and body answers status (and, on an error, code naming part). Returns the body. */
static json_t *checkout_raw(const struct world *w, enum who who, const char *key, const char *body, int status,
			    const char *code, const char *part)
{
	int got;
	json_t *doc = send_req(w, who, "POST", "/api/v1/checkout", "application/json", key, body, &got);
	if (got != status || (code && strcmp(error_code(doc), code) != 0) ||
	    (part && !strstr(error_message(doc), part))) {
		char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		fail_msg("checkout %.300s: status %d %s, want %d %s naming \"%s\"", body, got, text ? text : "",
			 status, code ? code : "", part ? part : "");
	}
	return doc;
}

/* A cart's body with a valid address. The caller frees it. */
static char *cart_body(const struct cart_line *lines, size_t n)
{
	json_t *items = json_array(), *body;
	char *text;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:I, s:I}", "product_id", (json_int_t)lines[i].product_id,
						       "quantity", (json_int_t)lines[i].qty));
	body = json_pack("{s:o, s:{s:s, s:s, s:s, s:s, s:s}}", "items", items, "ship_to", "name", "Ani Lestari", "phone",
			 "+6281200001111", "address", "Jl. Merdeka 5", "city", "Bandung", "postal_code", "40111");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	assert_non_null(text);
	return text;
}

/* A checkout that must fail with status and code (under a fresh key). */
static void checkout_refused(struct world *w, enum who who, const struct cart_line *lines, size_t n, int status,
			     const char *code)
{
	char key[32], *body = cart_body(lines, n);
	snprintf(key, sizeof(key), "key-%u", ++w->keys);
	json_decref(checkout_raw(w, who, key, body, status, code, NULL));
	free(body);
}

/* A checkout that must succeed (under a fresh key): the group, its orders awaiting payment. */
static json_t *buy(struct world *w, enum who who, const struct cart_line *lines, size_t n)
{
	char key[32], *body = cart_body(lines, n);
	json_t *g;
	snprintf(key, sizeof(key), "key-%u", ++w->keys);
	g = checkout_raw(w, who, key, body, 201, NULL, NULL);
	free(body);
	assert_string_equal(apitest_str(json_object_get(g, "payment"), "status"), "pending");
	assert_int_equal(apitest_int(json_object_get(g, "payment"), "amount"), apitest_int(g, "total"));
	return g;
}

/* The id of the group's i-th order. */
static uint64_t group_order(const json_t *g, size_t i)
{
	const json_t *o = json_array_get(json_object_get(g, "orders"), i);
	assert_non_null(o);
	return (uint64_t)apitest_int(o, "id");
}

/* --- orders, products, money --- */

static json_t *order_get(const struct world *w, uint64_t id)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/orders/%llu", (unsigned long long)id);
	return call(w, ADMIN, "GET", path, NULL, 200);
}

/* Waits until the order is in `state`; returns it. */
static json_t *wait_state(const struct world *w, uint64_t id, const char *state)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		json_t *doc = order_get(w, id);
		if (strcmp(apitest_str(doc, "state"), state) == 0)
			return doc;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("order %llu is %s, want %s", (unsigned long long)id, apitest_str(doc, "state"), state);
		json_decref(doc);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/* Pays the group's payment at the sandbox and waits until all its orders are paid. */
static void pay(const struct world *w, const json_t *g)
{
	sandboxtest_pay(&w->p.sb, apitest_str(g, "payment_id"), 0);
	for (size_t i = 0; i < json_array_size(json_object_get(g, "orders")); i++)
		json_decref(wait_state(w, group_order(g, i), "paid"));
}

/* A paid order of qty units of one product, bought by who. OUT: payment_id (NULL: not wanted). Returns its id. */
static uint64_t buy_paid(struct world *w, enum who who, uint64_t product, int64_t qty, char *payment_id)
{
	const struct cart_line cart[] = { { product, qty } };
	json_t *g = buy(w, who, cart, 1);
	uint64_t id = group_order(g, 0);
	pay(w, g);
	if (payment_id)
		snprintf(payment_id, ID_MAX, "%s", apitest_str(g, "payment_id"));
	json_decref(g);
	return id;
}

/* POST /api/v1/orders/{id}/{action} as who; returns the body. */
static json_t *act(const struct world *w, enum who who, uint64_t id, const char *action, const char *body, int status)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/%s", (unsigned long long)id, action);
	return call(w, who, "POST", path, body, status);
}

/* The action succeeds and leaves the order in `state`. */
static void act_ok(const struct world *w, enum who who, uint64_t id, const char *action, const char *body,
		   const char *state)
{
	json_t *doc = act(w, who, id, action, body, 200);
	assert_string_equal(apitest_str(doc, "state"), state);
	json_decref(doc);
}

static void act_refused(const struct world *w, enum who who, uint64_t id, const char *action, const char *body,
			int status, const char *code, const char *part)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/%s", (unsigned long long)id, action);
	expect_error(w, who, "POST", path, body, status, code, part);
}

/* The action is refused 409 invalid_state; the error names the order's state, in its message and as "state". */
static void act_conflict(const struct world *w, enum who who, uint64_t id, const char *action, const char *body,
			 const char *state)
{
	json_t *doc = act(w, who, id, action, body, 409);
	const json_t *e = json_object_get(doc, "error");
	assert_string_equal(apitest_str(e, "code"), "invalid_state");
	assert_string_equal(apitest_str(e, "state"), state);
	assert_non_null(strstr(apitest_str(e, "message"), state));
	json_decref(doc);
}

/* A paid order of store A through to delivered: confirmed and shipped by owner, delivered by the admin. */
static void deliver(const struct world *w, enum who owner, uint64_t id)
{
	act_ok(w, owner, id, "confirm", NULL, "confirmed");
	act_ok(w, owner, id, "ship", NULL, "shipped");
	act_ok(w, ADMIN, id, "deliver", NULL, "delivered");
}

static uint64_t product_add(const struct world *w, enum who who, uint64_t store, const char *title, int64_t price,
			    int64_t stock)
{
	char path[PATH_MAX_LEN], body[BODY_MAX];
	json_t *p;
	uint64_t id;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)store);
	snprintf(body, sizeof(body),
		 "{\"title\":\"%s\",\"description\":\"Oleh-oleh\",\"price\":%lld,\"stock\":%lld,\"weight_g\":250,"
		 "\"category\":\"makanan\"}",
		 title, (long long)price, (long long)stock);
	p = call(w, who, "POST", path, body, 201);
	id = (uint64_t)apitest_int(p, "id");
	assert_int_equal(apitest_int(p, "stock"), stock);
	json_decref(p);
	return id;
}

static int64_t stock_of(const struct world *w, uint64_t product)
{
	char path[PATH_MAX_LEN];
	json_t *p;
	int64_t stock;
	snprintf(path, sizeof(path), "/api/v1/products/%llu", (unsigned long long)product);
	p = call(w, ADMIN, "GET", path, NULL, 200);
	stock = apitest_int(p, "stock");
	json_decref(p);
	return stock;
}

/* The ledger account `name` has exactly these posted totals. */
static void expect_account(const struct world *w, const char *name, int64_t credits, int64_t debits)
{
	char path[PATH_MAX_LEN];
	json_t *a;
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/%s", name);
	a = call(w, AUDITOR, "GET", path, NULL, 200);
	if (apitest_int(a, "credits_posted") != credits || apitest_int(a, "debits_posted") != debits)
		fail_msg("%s: credits %lld debits %lld, want %lld %lld", name, (long long)apitest_int(a, "credits_posted"),
			 (long long)apitest_int(a, "debits_posted"), (long long)credits, (long long)debits);
	json_decref(a);
}

static void expect_payable(const struct world *w, uint64_t store, int64_t credits, int64_t debits)
{
	char name[64];
	snprintf(name, sizeof(name), "merchant:%llu:payable", (unsigned long long)store);
	expect_account(w, name, credits, debits);
}

/* The payment (by id) has this status and refunded total, here and at the sandbox. */
static void expect_payment(const struct world *w, const char *id, const char *status, int64_t refunded)
{
	char path[PATH_MAX_LEN];
	json_t *p;
	snprintf(path, sizeof(path), "/api/v1/payments/%s", id);
	p = call(w, ADMIN, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(p, "status"), status);
	assert_int_equal(apitest_int(p, "refunded"), refunded);
	json_decref(p);
	p = sandboxtest_charge(&w->p.sb, id);
	assert_int_equal(apitest_int(p, "refunded_amount"), refunded);
	json_decref(p);
}

/* Waits until the order is refunded in full: amount on the order, on its payment (payment_id) and at the sandbox. */
static void wait_refunded(const struct world *w, uint64_t id, const char *payment_id, int64_t amount)
{
	json_t *doc = wait_state(w, id, "refunded");
	assert_int_equal(apitest_int(doc, "refunded"), amount);
	assert_int_equal(apitest_int(doc, "refund_pending"), 0);
	json_decref(doc);
	expect_payment(w, payment_id, "refunded", amount);
}

/* The platform's commission on goods: 3% rounded half up (the test's own arithmetic). */
static int64_t commission(int64_t goods)
{
	return (goods * 300 + 5000) / 10000;
}

static void clock_advance(const struct world *w, int64_t seconds)
{
	char body[64];
	snprintf(body, sizeof(body), "{\"advance_s\":%lld}", (long long)seconds);
	json_decref(call(w, ADMIN, "POST", "/api/v1/test/clock", body, 200));
}

/* The order's newest timeline event is `state` by the system (no actor). */
static void expect_system_event(const json_t *ord, const char *state)
{
	const json_t *tl = json_object_get(ord, "timeline");
	const json_t *last = json_array_get(tl, json_array_size(tl) - 1);
	assert_non_null(last);
	assert_string_equal(apitest_str(last, "state"), state);
	assert_true(json_is_null(json_object_get(last, "actor_user_id")));
}

/* --- the world --- */

/* The admin makes a user; OUT: token, its sign-in. Returns its id. */
static uint64_t user_add(const struct world *w, const char *role, const char *username, char token[TOKEN_MAX])
{
	json_t *doc = apitest_call_json(w->p.srv, w->tok[ADMIN], "POST", "/api/v1/users",
					json_pack("{s:s, s:s, s:s}", "username", username, "password", PASSWORD,
						  "role", role),
					201);
	uint64_t id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	apitest_login(w->p.srv, username, PASSWORD, token);
	return id;
}

/* A store's fields (with a bank account); the caller adds or sends it. */
static json_t *store_fields(const char *name)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "city", "BANDUNG", "postal_code",
			 "40111", "criteria", "UMI", "nmid", "ID1020021181745", "bank_code", "BRI", "bank_account",
			 "1234567890", "bank_name", name);
}

/* A store the admin registers for owner: verified at once. */
static uint64_t store_by_admin(const struct world *w, const char *name, uint64_t owner)
{
	json_t *body = store_fields(name), *doc;
	uint64_t id;
	json_object_set_new(body, "owner_user_id", json_integer((json_int_t)owner));
	doc = apitest_call_json(w->p.srv, w->tok[ADMIN], "POST", "/api/v1/admin/merchants", body, 201);
	assert_string_equal(apitest_str(doc, "status"), "verified");
	id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	return id;
}

/* A store a merchant registers: pending. */
static uint64_t store_by_merchant(const struct world *w, enum who who, const char *name)
{
	json_t *doc = apitest_call_json(w->p.srv, w->tok[who], "POST", "/api/v1/merchants", store_fields(name), 201);
	uint64_t id;
	assert_string_equal(apitest_str(doc, "status"), "pending");
	id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	return id;
}

static void world_start(struct world *w)
{
	char confirm[64], complete[64], expiry[64];
	const char *env[] = { COST_ENV, NULL };
	const char *args[] = { "--set", "test.clock_control=1", "--set", confirm, "--set", complete, "--set", expiry,
			       NULL };
	struct testsrv at;
	char path[PATH_MAX_LEN];
	uint64_t dedi;
	json_t *doc;

	snprintf(confirm, sizeof(confirm), "order.confirm_within=%d", ORDER_CONFIRM_S);
	snprintf(complete, sizeof(complete), "order.complete_after=%d", ORDER_COMPLETE_S);
	snprintf(expiry, sizeof(expiry), "payment.expiry=%d", PAYMENT_EXPIRY_S);
	sandboxtest_pair_start(&w->p, NULL, args, env);
	/* The store is in w->p.data, not the server's temp folder: the CLI is pointed there. */
	at = *w->p.srv;
	snprintf(at.data_dir, sizeof(at.data_dir), "%s", w->p.data);
	apitest_user_add_cli(&at, env, "admin", "admin", PASSWORD);
	apitest_login(w->p.srv, "admin", PASSWORD, w->tok[ADMIN]);
	user_add(w, "shopper", "ani", w->tok[ANI]);
	user_add(w, "shopper", "citra", w->tok[CITRA]);
	user_add(w, "merchant", "siti", w->tok[SITI]);
	dedi = user_add(w, "merchant", "dedi", w->tok[DEDI]);
	w->eko = user_add(w, "merchant", "eko", w->tok[EKO]);
	user_add(w, "courier", "kurir", w->tok[COURIER]);
	user_add(w, "auditor", "auditor", w->tok[AUDITOR]);
	/* Store A: siti registers it, pending until the admin verifies it. */
	w->store_a = store_by_merchant(w, SITI, "Warung Bu Siti");
	snprintf(path, sizeof(path), "/api/v1/admin/merchants/%llu/verify", (unsigned long long)w->store_a);
	doc = call(w, ADMIN, "POST", path, NULL, 200);
	assert_string_equal(apitest_str(doc, "status"), "verified");
	json_decref(doc);
	w->store_b = store_by_admin(w, "Toko Dedi", dedi);
}

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	sandboxtest_pair_init(&w->p);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	if (w)
		sandboxtest_pair_free(&w->p);
	free(w);
	return 0;
}

/* Ends a test: both programs stop with status 0, and the books of the closed store verify. */
static void world_finish(struct world *w)
{
	sandboxtest_pair_finish(&w->p);
}

/* --- 1. the whole journey --- */

/* Two stores in one checkout, one payment, both orders through to completed; exact money; a payout. */
static void test_journey(void **state)
{
	struct world *w = *state;
	const int64_t goods_a = 2 * 12525, goods_b = 33333;
	const int64_t fee_a = 752, fee_b = 1000; /* 751.5 and 999.99 rounded half up */
	char path[PATH_MAX_LEN], payment[ID_MAX], payout[ID_MAX];
	uint64_t pa, pb, oa, ob;
	json_t *g, *doc;
	int64_t deadline;

	world_start(w);
	assert_int_equal(commission(goods_a), fee_a);
	assert_int_equal(commission(goods_b), fee_b);
	pa = product_add(w, SITI, w->store_a, "Rendang Daging", 12525, 10);
	pb = product_add(w, DEDI, w->store_b, "Keripik Balado", 33333, 5);
	{
		const struct cart_line cart[] = { { pa, 2 }, { pb, 1 } };
		g = buy(w, ANI, cart, 2);
	}
	assert_int_equal(apitest_int(g, "total"), goods_a + goods_b);
	assert_int_equal(json_array_size(json_object_get(g, "orders")), 2);
	oa = group_order(g, 0);
	ob = group_order(g, 1);
	{
		const json_t *a = json_array_get(json_object_get(g, "orders"), 0);
		const json_t *b = json_array_get(json_object_get(g, "orders"), 1);
		assert_int_equal(apitest_int(a, "merchant_id"), w->store_a);
		assert_int_equal(apitest_int(a, "subtotal"), goods_a);
		assert_int_equal(apitest_int(a, "commission"), fee_a);
		assert_int_equal(apitest_int(a, "commission_bps"), 300);
		assert_int_equal(apitest_int(a, "total"), goods_a);
		assert_string_equal(apitest_str(a, "state"), "awaiting_payment");
		assert_int_equal(apitest_int(b, "merchant_id"), w->store_b);
		assert_int_equal(apitest_int(b, "subtotal"), goods_b);
		assert_int_equal(apitest_int(b, "commission"), fee_b);
	}
	assert_int_equal(stock_of(w, pa), 8);
	assert_int_equal(stock_of(w, pb), 4);
	snprintf(payment, sizeof(payment), "%s", apitest_str(g, "payment_id"));
	pay(w, g);
	json_decref(g);
	expect_account(w, "escrow", goods_a + goods_b, 0);
	expect_account(w, "gateway:sandbox:clearing", 0, goods_a + goods_b);

	act_ok(w, SITI, oa, "confirm", NULL, "confirmed");
	act_ok(w, DEDI, ob, "confirm", NULL, "confirmed");
	act_ok(w, SITI, oa, "ship", NULL, "shipped");
	act_ok(w, DEDI, ob, "ship", NULL, "shipped");
	act_ok(w, ADMIN, oa, "deliver", NULL, "delivered");
	act_ok(w, ADMIN, ob, "deliver", NULL, "delivered");
	/* Nothing is released before the buyer has the goods. */
	expect_payable(w, w->store_a, 0, 0);
	act_ok(w, ANI, oa, "receive", NULL, "completed");
	expect_payable(w, w->store_a, goods_a - fee_a, 0);
	expect_payable(w, w->store_b, 0, 0);
	expect_account(w, "platform:fees", fee_a, 0);

	/* B completes by itself once the complaint window has passed. */
	clock_advance(w, ORDER_COMPLETE_S + 1);
	doc = wait_state(w, ob, "completed");
	expect_system_event(doc, "completed");
	json_decref(doc);
	expect_payable(w, w->store_b, goods_b - fee_b, 0);
	expect_payable(w, w->store_a, goods_a - fee_a, 0);
	expect_account(w, "platform:fees", fee_a + fee_b, 0);
	expect_account(w, "escrow", goods_a + goods_b, goods_a + goods_b);
	expect_payment(w, payment, "paid", 0);
	assert_int_equal(stock_of(w, pa), 8);
	assert_int_equal(stock_of(w, pb), 4);

	/* Siti takes her money out. */
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/balance", (unsigned long long)w->store_a);
	doc = call(w, SITI, "GET", path, NULL, 200);
	assert_int_equal(apitest_int(doc, "available"), goods_a - fee_a);
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/payouts", (unsigned long long)w->store_a);
	{
		char body[64];
		snprintf(body, sizeof(body), "{\"amount\":%lld}", (long long)(goods_a - fee_a));
		doc = call(w, SITI, "POST", path, body, 201);
	}
	snprintf(payout, sizeof(payout), "%s", apitest_str(doc, "id"));
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/payouts/%s", payout);
	deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		bool done;
		doc = call(w, AUDITOR, "GET", path, NULL, 200);
		done = strcmp(apitest_str(doc, "status"), "completed") == 0;
		if (!done && sandboxtest_now_ms() >= deadline)
			fail_msg("payout %s is %s", payout, apitest_str(doc, "status"));
		json_decref(doc);
		if (done)
			break;
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
	expect_payable(w, w->store_a, goods_a - fee_a, goods_a - fee_a);
	world_finish(w);
}

/* --- 2. the rules on timers --- */

/* An unpaid checkout ends with its payment: every order cancelled, the stock back exactly, no money moved. */
static void test_rule_unpaid_expires(void **state)
{
	struct world *w = *state;
	uint64_t pa, pb;
	json_t *g, *doc;
	world_start(w);
	pa = product_add(w, SITI, w->store_a, "Dodol", 15000, 3);
	pb = product_add(w, DEDI, w->store_b, "Kopi", 40000, 7);
	{
		const struct cart_line cart[] = { { pa, 2 }, { pb, 7 } };
		g = buy(w, ANI, cart, 2);
	}
	assert_int_equal(stock_of(w, pa), 1);
	assert_int_equal(stock_of(w, pb), 0);
	clock_advance(w, PAYMENT_EXPIRY_S + 1);
	for (size_t i = 0; i < 2; i++) {
		doc = wait_state(w, group_order(g, i), "cancelled");
		expect_system_event(doc, "cancelled");
		assert_int_equal(apitest_int(doc, "refunded"), 0);
		assert_int_equal(apitest_int(doc, "refund_pending"), 0);
		json_decref(doc);
	}
	assert_int_equal(stock_of(w, pa), 3);
	assert_int_equal(stock_of(w, pb), 7);
	{
		char path[PATH_MAX_LEN];
		snprintf(path, sizeof(path), "/api/v1/payments/%s", apitest_str(g, "payment_id"));
		doc = call(w, ADMIN, "GET", path, NULL, 200);
		assert_string_equal(apitest_str(doc, "status"), "expired");
		json_decref(doc);
	}
	expect_account(w, "escrow", 0, 0);
	/* A cancelled order stays cancelled. */
	act_conflict(w, SITI, group_order(g, 0), "confirm", NULL, "cancelled");
	json_decref(g);
	world_finish(w);
}

/* A paid order nobody confirmed in time is cancelled and refunded; a confirmed one is left alone. */
static void test_rule_unconfirmed_refunds(void **state)
{
	struct world *w = *state;
	uint64_t p, late, kept;
	char payment[ID_MAX];
	json_t *doc;
	bool saw_cancel = false;
	size_t i;
	const json_t *e;
	world_start(w);
	p = product_add(w, SITI, w->store_a, "Bika Ambon", 20000, 10);
	late = buy_paid(w, ANI, p, 2, payment);
	kept = buy_paid(w, CITRA, p, 2, NULL);
	act_ok(w, SITI, kept, "confirm", NULL, "confirmed");
	assert_int_equal(stock_of(w, p), 6);
	expect_account(w, "escrow", 80000, 0);

	clock_advance(w, ORDER_CONFIRM_S + 1);
	doc = wait_state(w, late, "refunded");
	assert_int_equal(apitest_int(doc, "refunded"), 40000);
	assert_int_equal(apitest_int(doc, "refund_pending"), 0);
	expect_system_event(doc, "refunded");
	json_array_foreach(json_object_get(doc, "timeline"), i, e) {
		if (strcmp(apitest_str(e, "state"), "cancelled") == 0) {
			saw_cancel = true;
			assert_non_null(strstr(apitest_str(e, "note"), "not confirmed in time"));
			assert_true(json_is_null(json_object_get(e, "actor_user_id")));
		}
	}
	assert_true(saw_cancel);
	json_decref(doc);
	assert_int_equal(stock_of(w, p), 8);
	expect_account(w, "escrow", 80000, 40000);
	expect_account(w, "gateway:sandbox:clearing", 40000, 80000);
	expect_payable(w, w->store_a, 0, 0);
	expect_payment(w, payment, "refunded", 40000);
	doc = order_get(w, kept);
	assert_string_equal(apitest_str(doc, "state"), "confirmed");
	json_decref(doc);
	world_finish(w);
}

/* A delivered order completes by itself after the window and releases its money; a complaint then is too late. */
static void test_rule_auto_complete(void **state)
{
	struct world *w = *state;
	const int64_t goods = 3 * 17250, fee = commission(3 * 17250);
	uint64_t p, id;
	json_t *doc;
	world_start(w);
	p = product_add(w, DEDI, w->store_b, "Batik Tulis", 17250, 3);
	id = buy_paid(w, ANI, p, 3, NULL);
	deliver(w, DEDI, id);
	expect_payable(w, w->store_b, 0, 0);
	clock_advance(w, ORDER_COMPLETE_S + 1);
	/* Past the window: refused whether the rule has run yet or not. */
	act_refused(w, ANI, id, "complaint", "{\"reason\":\"terlambat\"}", 409, "invalid_state", NULL);
	doc = wait_state(w, id, "completed");
	expect_system_event(doc, "completed");
	assert_true(json_is_null(json_object_get(doc, "complaint")));
	json_decref(doc);
	act_conflict(w, ANI, id, "complaint", "{\"reason\":\"terlambat\"}", "completed");
	expect_payable(w, w->store_b, goods - fee, 0);
	expect_account(w, "platform:fees", fee, 0);
	expect_account(w, "escrow", goods, goods);
	world_finish(w);
}

/* --- 3. the oversell race --- */

/*
 * One unit left and RACE_CLIENTS checkouts for it from RACE_SHOPPERS
 * shoppers, all sent before any answer is read: exactly one gets it.
 */
static void test_oversell_race(void **state)
{
	struct world *w = *state;
	char tokens[RACE_SHOPPERS][TOKEN_MAX], name[32], path[PATH_MAX_LEN];
	int fds[RACE_CLIENTS], created = 0, sold_out = 0;
	uint64_t p, winner = 0;
	char *body;
	json_t *doc;
	world_start(w);
	p = product_add(w, SITI, w->store_a, "Lemang Tapai", 25000, 1);
	for (int i = 0; i < RACE_SHOPPERS; i++) {
		snprintf(name, sizeof(name), "pembeli%d", i);
		user_add(w, "shopper", name, tokens[i]);
	}
	{
		const struct cart_line cart[] = { { p, 1 } };
		body = cart_body(cart, 1);
	}
	for (int i = 0; i < RACE_CLIENTS; i++) {
		char req[BODY_MAX];
		int n = snprintf(req, sizeof(req),
				 "POST /api/v1/checkout HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
				 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
				 "Idempotency-Key: race-%d\r\nContent-Length: %zu\r\n\r\n%s",
				 tokens[i % RACE_SHOPPERS], i, strlen(body), body);
		assert_true(n > 0 && n < (int)sizeof(req));
		assert_int_equal(testsrv_connect(w->p.srv, &fds[i]), 0);
		assert_int_equal(testsrv_send(fds[i], req, (size_t)n), 0);
	}
	free(body);
	for (int i = 0; i < RACE_CLIENTS; i++) {
		struct testsrv_response resp;
		assert_int_equal(testsrv_read_response(fds[i], &resp), 0);
		close(fds[i]);
		doc = json_loadb(resp.body, resp.body_len, 0, NULL);
		if (resp.status == 201) {
			created++;
			winner = group_order(doc, 0);
		} else if (resp.status == 409 && strcmp(error_code(doc), "insufficient_stock") == 0) {
			sold_out++;
		} else {
			fail_msg("checkout %d: status %d: %.300s", i, resp.status, resp.body);
		}
		json_decref(doc);
		testsrv_response_free(&resp);
	}
	assert_int_equal(created, 1);
	assert_int_equal(sold_out, RACE_CLIENTS - 1);
	assert_int_equal(stock_of(w, p), 0);
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/orders?limit=100", (unsigned long long)w->store_a);
	doc = call(w, SITI, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "items")), 1);
	assert_int_equal(apitest_int(json_array_get(json_object_get(doc, "items"), 0), "id"), winner);
	json_decref(doc);
	world_finish(w);
}

/* --- 4. complaints --- */

/*
 * Complaints resolved each way, with the money of each exact, and the
 * resolutions the state refuses. A complaint freezes the escrow: the clock
 * moved past the window completes the undisputed order by the rule and
 * leaves the disputed ones, and their money, where they are.
 */
static void test_complaints(void **state)
{
	struct world *w = *state;
	const int64_t goods = 50000, part = 20000;
	const int64_t fee = commission(goods), part_fee = commission(goods - part);
	uint64_t p, ids[4];
	char payments[4][ID_MAX];
	json_t *doc;
	world_start(w);
	p = product_add(w, SITI, w->store_a, "Songket", goods, 10);
	for (int i = 0; i < 4; i++) {
		ids[i] = buy_paid(w, ANI, p, 1, payments[i]);
		deliver(w, SITI, ids[i]);
	}
	/* Only the buyer complains, with a reason; only the admin resolves, and only a dispute. */
	act_refused(w, CITRA, ids[0], "complaint", "{\"reason\":\"rusak\"}", 403, "forbidden", NULL);
	act_refused(w, ANI, ids[0], "complaint", "{}", 400, "invalid_field", "reason");
	act_conflict(w, ADMIN, ids[3], "resolve", "{\"outcome\":\"release\"}", "delivered");

	/* Three complaints, each within its window. */
	doc = act(w, ANI, ids[0], "complaint", "{\"reason\":\"warna pudar\"}", 200);
	assert_string_equal(apitest_str(doc, "state"), "disputed");
	assert_string_equal(apitest_str(doc, "complaint"), "warna pudar");
	json_decref(doc);
	act_ok(w, ANI, ids[1], "complaint", "{\"reason\":\"kurang satu\"}", "disputed");
	act_ok(w, ANI, ids[2], "complaint", "{\"reason\":\"salah kirim\"}", "disputed");
	/* The city officer's list across stores holds the disputes, and only them. */
	doc = call(w, ADMIN, "GET", "/api/v1/admin/orders?state=disputed", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "items")), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(apitest_int(json_array_get(json_object_get(doc, "items"), i), "id"), ids[i]);
	assert_true(json_is_null(json_object_get(doc, "next_cursor")));
	json_decref(doc);
	doc = call(w, ADMIN, "GET", "/api/v1/admin/orders?limit=1", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "items")), 1);
	assert_true(json_is_string(json_object_get(doc, "next_cursor")));
	json_decref(doc);
	expect_error(w, SITI, "GET", "/api/v1/admin/orders?state=disputed", NULL, 403, "forbidden", NULL);
	expect_error(w, ADMIN, "GET", "/api/v1/admin/orders?state=lost", NULL, 400, "invalid_field", "state");

	/*
	 * Past the window: the undisputed order completes by the rule. It was
	 * delivered last, so its time is the latest of the four: once it has
	 * completed, the sweep has passed the disputed ones' times too.
	 */
	clock_advance(w, ORDER_COMPLETE_S + 1);
	doc = wait_state(w, ids[3], "completed");
	expect_system_event(doc, "completed");
	json_decref(doc);
	for (int i = 0; i < 3; i++) {
		doc = order_get(w, ids[i]);
		assert_string_equal(apitest_str(doc, "state"), "disputed");
		json_decref(doc);
	}
	expect_payable(w, w->store_a, goods - fee, 0);
	expect_account(w, "platform:fees", fee, 0);
	expect_account(w, "escrow", 4 * goods, goods);

	/* Release: the merchant is paid in full, less the commission. */
	act_ok(w, ADMIN, ids[0], "resolve", "{\"outcome\":\"release\"}", "completed");
	expect_payable(w, w->store_a, 2 * (goods - fee), 0);
	expect_account(w, "platform:fees", 2 * fee, 0);
	act_conflict(w, ADMIN, ids[0], "resolve", "{\"outcome\":\"release\"}", "completed");

	/* Partial refund: R back to the buyer, the rest released with the commission on the rest. */
	act_refused(w, ADMIN, ids[1], "resolve", "{\"outcome\":\"partial_refund\",\"refund_amount\":50000}", 422,
		    "exceeds_refundable", "50000");
	act_refused(w, ADMIN, ids[1], "resolve", "{\"outcome\":\"partial_refund\",\"refund_amount\":50001}", 422,
		    "exceeds_refundable", "refund_amount");
	doc = act(w, ADMIN, ids[1], "resolve", "{\"outcome\":\"partial_refund\",\"refund_amount\":20000}", 200);
	assert_int_equal(apitest_int(doc, "refunded") + apitest_int(doc, "refund_pending"), part);
	json_decref(doc);
	doc = wait_state(w, ids[1], "completed");
	assert_int_equal(apitest_int(doc, "refunded"), part);
	assert_int_equal(apitest_int(doc, "refund_pending"), 0);
	json_decref(doc);
	expect_payment(w, payments[1], "partially_refunded", part);
	expect_payable(w, w->store_a, 2 * (goods - fee) + (goods - part - part_fee), 0);
	expect_account(w, "platform:fees", 2 * fee + part_fee, 0);

	/* Full refund: everything back, nothing released. */
	act_ok(w, ADMIN, ids[2], "resolve", "{\"outcome\":\"full_refund\",\"reason\":\"dikembalikan\"}", "disputed");
	wait_refunded(w, ids[2], payments[2], goods);
	act_conflict(w, ADMIN, ids[2], "resolve", "{\"outcome\":\"release\"}", "refunded");

	/* Escrow is empty: every rupiah went somewhere exactly once. */
	expect_payable(w, w->store_a, 2 * (goods - fee) + (goods - part - part_fee), 0);
	expect_account(w, "platform:fees", 2 * fee + part_fee, 0);
	expect_account(w, "escrow", 4 * goods, 4 * goods);
	expect_account(w, "gateway:sandbox:clearing", part + goods, 4 * goods);
	assert_int_equal(stock_of(w, p), 6);
	world_finish(w);
}

/* --- 5. cancellations --- */

static void test_cancellations(void **state)
{
	struct world *w = *state;
	char payments[3][ID_MAX];
	uint64_t p, ids[3];
	json_t *doc;
	world_start(w);
	p = product_add(w, SITI, w->store_a, "Kerupuk Jangek", 30000, 10);
	for (int i = 0; i < 3; i++)
		ids[i] = buy_paid(w, ANI, p, i == 0 ? 2 : 1, payments[i]);
	assert_int_equal(stock_of(w, p), 6);

	/* The store rejects a paid order: cancelled, refunded, stock back. */
	act_ok(w, SITI, ids[0], "reject", "{\"reason\":\"stok habis\"}", "cancelled");
	wait_refunded(w, ids[0], payments[0], 60000);
	assert_int_equal(stock_of(w, p), 8);

	/* The buyer cancels before the store confirmed. */
	act_ok(w, ANI, ids[1], "cancel", NULL, "cancelled");
	wait_refunded(w, ids[1], payments[1], 30000);
	assert_int_equal(stock_of(w, p), 9);

	/* ... but not after: the refusal names the state. */
	act_ok(w, SITI, ids[2], "confirm", NULL, "confirmed");
	act_refused(w, ANI, ids[2], "cancel", NULL, 409, "invalid_state", "(the order is confirmed)");
	act_conflict(w, ANI, ids[2], "cancel", NULL, "confirmed");
	act_conflict(w, SITI, ids[1], "reject", NULL, "refunded");
	doc = order_get(w, ids[2]);
	assert_string_equal(apitest_str(doc, "state"), "confirmed");
	json_decref(doc);
	assert_int_equal(stock_of(w, p), 9);
	expect_payment(w, payments[2], "paid", 0);
	expect_account(w, "escrow", 120000, 90000);
	expect_account(w, "gateway:sandbox:clearing", 90000, 120000);
	expect_payable(w, w->store_a, 0, 0);
	world_finish(w);
}

/*
 * A group of two stores refunds per store: store A rejects its order, store
 * B's goes through to completed. Only A's total goes back, at the sandbox
 * and in the ledger; the payment ends partially refunded; B is paid.
 */
static void test_group_refund_per_store(void **state)
{
	struct world *w = *state;
	const int64_t goods_a = 3 * 11000, goods_b = 2 * 27500, fee_b = commission(2 * 27500);
	char payment[ID_MAX];
	uint64_t pa, pb, oa, ob;
	json_t *g, *doc;
	world_start(w);
	pa = product_add(w, SITI, w->store_a, "Kue Bolu", 11000, 5);
	pb = product_add(w, DEDI, w->store_b, "Kopi Solok", 27500, 5);
	{
		const struct cart_line cart[] = { { pa, 3 }, { pb, 2 } };
		g = buy(w, ANI, cart, 2);
	}
	oa = group_order(g, 0);
	ob = group_order(g, 1);
	assert_int_equal(apitest_int(json_array_get(json_object_get(g, "orders"), 0), "merchant_id"), w->store_a);
	assert_int_equal(apitest_int(g, "total"), goods_a + goods_b);
	snprintf(payment, sizeof(payment), "%s", apitest_str(g, "payment_id"));
	pay(w, g);
	json_decref(g);
	expect_account(w, "escrow", goods_a + goods_b, 0);

	act_ok(w, SITI, oa, "reject", "{\"reason\":\"stok habis\"}", "cancelled");
	doc = wait_state(w, oa, "refunded");
	assert_int_equal(apitest_int(doc, "refunded"), goods_a);
	assert_int_equal(apitest_int(doc, "refund_pending"), 0);
	json_decref(doc);
	/* B's order is untouched by A's refund. */
	doc = order_get(w, ob);
	assert_string_equal(apitest_str(doc, "state"), "paid");
	assert_int_equal(apitest_int(doc, "refunded"), 0);
	assert_int_equal(apitest_int(doc, "refund_pending"), 0);
	json_decref(doc);
	expect_payment(w, payment, "partially_refunded", goods_a);
	expect_account(w, "escrow", goods_a + goods_b, goods_a);
	expect_account(w, "gateway:sandbox:clearing", goods_a, goods_a + goods_b);
	assert_int_equal(stock_of(w, pa), 5);
	assert_int_equal(stock_of(w, pb), 3);

	deliver(w, DEDI, ob);
	act_ok(w, ANI, ob, "receive", NULL, "completed");
	expect_payment(w, payment, "partially_refunded", goods_a);
	expect_payable(w, w->store_a, 0, 0);
	expect_payable(w, w->store_b, goods_b - fee_b, 0);
	expect_account(w, "platform:fees", fee_b, 0);
	expect_account(w, "escrow", goods_a + goods_b, goods_a + goods_b);
	expect_account(w, "gateway:sandbox:clearing", goods_a, goods_a + goods_b);
	world_finish(w);
}

/* An admin cancels an order before its payment came; money that still comes goes back. */
static void test_paid_after_cancel(void **state)
{
	struct world *w = *state;
	struct cart_line line = { 0, 2 };
	json_t *g, *doc;
	uint64_t id;
	world_start(w);
	line.product_id = product_add(w, SITI, w->store_a, "Galamai", 20000, 5);
	g = buy(w, ANI, &line, 1);
	id = group_order(g, 0);
	act_ok(w, ADMIN, id, "cancel", "{\"reason\":\"alamat di luar kota\"}", "cancelled");
	assert_int_equal(stock_of(w, line.product_id), 5);
	sandboxtest_pay(&w->p.sb, apitest_str(g, "payment_id"), 0);
	wait_refunded(w, id, apitest_str(g, "payment_id"), 40000);
	doc = order_get(w, id);
	expect_system_event(doc, "refunded");
	json_decref(doc);
	expect_account(w, "escrow", 40000, 40000);
	expect_payable(w, w->store_a, 0, 0);
	json_decref(g);
	world_finish(w);
}

/* --- 6. Idempotency-Key --- */

static void test_idempotency(void **state)
{
	struct world *w = *state;
	const char *bad_keys[] = { "has space", "tab\tkey",
				   "0123456789012345678901234567890123456789012345678901234567890123X" };
	char group[ID_MAX], *body, *other;
	uint64_t p;
	json_t *doc;
	world_start(w);
	p = product_add(w, SITI, w->store_a, "Galamai", 10000, 5);
	{
		const struct cart_line cart[] = { { p, 1 } }, cart2[] = { { p, 2 } };
		body = cart_body(cart, 1);
		other = cart_body(cart2, 1);
	}
	json_decref(checkout_raw(w, ANI, NULL, body, 400, "idempotency_key_required", NULL));
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
		json_decref(checkout_raw(w, ANI, bad_keys[i], body, 400, "invalid_idempotency_key", NULL));
	assert_int_equal(stock_of(w, p), 5);

	doc = checkout_raw(w, ANI, "beli-1", body, 201, NULL, NULL);
	snprintf(group, sizeof(group), "%s", apitest_str(doc, "id"));
	json_decref(doc);
	assert_int_equal(stock_of(w, p), 4);
	/* The same again: the same group, 201 again, nothing taken twice. */
	for (int i = 0; i < 2; i++) {
		doc = checkout_raw(w, ANI, "beli-1", body, 201, NULL, NULL);
		assert_string_equal(apitest_str(doc, "id"), group);
		json_decref(doc);
	}
	assert_int_equal(stock_of(w, p), 4);
	json_decref(checkout_raw(w, ANI, "beli-1", other, 409, "idempotency_key_reused", NULL));
	assert_int_equal(stock_of(w, p), 4);
	doc = call(w, ANI, "GET", "/api/v1/orders", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "items")), 1);
	json_decref(doc);
	/* Keys are per user: another shopper's beli-1 is her own checkout. */
	doc = checkout_raw(w, CITRA, "beli-1", body, 201, NULL, NULL);
	assert_string_not_equal(apitest_str(doc, "id"), group);
	json_decref(doc);
	assert_int_equal(stock_of(w, p), 3);
	free(body);
	free(other);
	world_finish(w);
}

/* --- 7. who may do what --- */

/* Each caller's status on path (0: not tried here); denials must say unauthorized / forbidden. */
static void expect_statuses(const struct world *w, const char *method, const char *path, const char *body,
			    const int want[WHO_N])
{
	for (int who = NOBODY; who < WHO_N; who++) {
		if (want[who] == 401 || want[who] == 403)
			expect_error(w, (enum who)who, method, path, body, want[who],
				     want[who] == 401 ? "unauthorized" : "forbidden", NULL);
		else if (want[who])
			json_decref(call(w, (enum who)who, method, path, body, want[who]));
	}
}

/* The number of items of a listing as who. */
static size_t listed(const struct world *w, enum who who, const char *path)
{
	json_t *doc = call(w, who, "GET", path, NULL, 200);
	size_t n = json_array_size(json_object_get(doc, "items"));
	json_decref(doc);
	return n;
}

/* Every order endpoint with every role: ani buys from store A (siti's); eko and dedi are other merchants. */
static void test_authorization(void **state)
{
	struct world *w = *state;
	/*                         NOBODY ANI  CITRA SITI DEDI EKO  COURIER AUDITOR ADMIN */
	const int group_r[WHO_N] = { 401, 200, 403, 403, 403, 403, 403, 200, 200 };
	const int mine_r[WHO_N] = { 401, 200, 200, 403, 403, 403, 403, 403, 403 };
	const int admin_r[WHO_N] = { 401, 403, 403, 403, 403, 403, 403, 200, 200 };
	/* Shoppers pass the role check and reach the checkout, which asks for its key (keyed below). */
	const int checkout_w[WHO_N] = { 401, 400, 400, 403, 403, 403, 403, 403, 403 };
	const int store_r[WHO_N] = { 401, 403, 403, 200, 403, 403, 403, 200, 200 };
	const int order_r[WHO_N] = { 401, 200, 403, 200, 403, 403, 403, 200, 200 };
	const int owner_a[WHO_N] = { 401, 403, 403, 0, 403, 403, 403, 403, 0 };
	const int cancel_a[WHO_N] = { 401, 0, 403, 403, 403, 403, 403, 403, 0 };
	const int admin_a[WHO_N] = { 401, 403, 403, 403, 403, 403, 403, 403, 0 };
	const int buyer_a[WHO_N] = { 401, 0, 403, 403, 403, 403, 403, 403, 403 };
	const struct {
		const char *action, *body;
		const int *want;
	} actions[] = {
		{ "confirm", NULL, owner_a },   { "reject", NULL, owner_a },
		{ "ship", NULL, owner_a },      { "cancel", NULL, cancel_a },
		{ "deliver", NULL, admin_a },   { "receive", NULL, buyer_a },
		{ "complaint", "{\"reason\":\"rusak\"}", buyer_a },
		{ "resolve", "{\"outcome\":\"release\"}", admin_a },
	};
	char path[PATH_MAX_LEN], *cart;
	uint64_t p, ids[6];
	json_t *doc;
	world_start(w);
	p = product_add(w, SITI, w->store_a, "Sate Padang", 20000, 20);
	for (int i = 0; i < 6; i++)
		ids[i] = buy_paid(w, ANI, p, 1, NULL);
	{
		const struct cart_line line[] = { { p, 1 } };
		cart = cart_body(line, 1);
	}
	expect_statuses(w, "POST", "/api/v1/checkout", cart, checkout_w);
	free(cart);
	/* ... and with a key: only a shopper's checkout is made, and no refusal took stock. */
	for (int who = NOBODY; who < WHO_N; who++) {
		const struct cart_line line[] = { { p, 1 } };
		if (who != ANI && who != CITRA)
			checkout_refused(w, (enum who)who, line, 1, checkout_w[who],
					 who == NOBODY ? "unauthorized" : "forbidden");
	}
	assert_int_equal(stock_of(w, p), 14);
	expect_statuses(w, "GET", "/api/v1/admin/orders", NULL, admin_r);
	assert_int_equal(listed(w, AUDITOR, "/api/v1/admin/orders?limit=100"), 6);
	doc = order_get(w, ids[0]);
	snprintf(path, sizeof(path), "/api/v1/order-groups/%s", apitest_str(doc, "group_id"));
	json_decref(doc);
	expect_statuses(w, "GET", path, NULL, group_r);
	expect_statuses(w, "GET", "/api/v1/orders", NULL, mine_r);
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/orders", (unsigned long long)w->store_a);
	expect_statuses(w, "GET", path, NULL, store_r);
	snprintf(path, sizeof(path), "/api/v1/orders/%llu", (unsigned long long)ids[0]);
	expect_statuses(w, "GET", path, NULL, order_r);
	/* Denials change nothing: the order is still paid after all of them. */
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/orders/%llu/%s", (unsigned long long)ids[0], actions[i].action);
		expect_statuses(w, "POST", path, actions[i].body, actions[i].want);
	}
	doc = order_get(w, ids[0]);
	assert_string_equal(apitest_str(doc, "state"), "paid");
	json_decref(doc);

	/* Nobody sees another's orders. */
	assert_int_equal(listed(w, ANI, "/api/v1/orders"), 6);
	assert_int_equal(listed(w, CITRA, "/api/v1/orders"), 0);
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/orders", (unsigned long long)w->store_b);
	assert_int_equal(listed(w, DEDI, path), 0);
	expect_error(w, SITI, "GET", path, NULL, 403, "forbidden", NULL);

	/* The allowed ones, each as every one of its callers. */
	act_ok(w, SITI, ids[0], "confirm", NULL, "confirmed");
	act_ok(w, ADMIN, ids[1], "confirm", NULL, "confirmed");
	act_ok(w, SITI, ids[0], "ship", NULL, "shipped");
	act_ok(w, ADMIN, ids[1], "ship", NULL, "shipped");
	act_ok(w, ADMIN, ids[0], "deliver", NULL, "delivered");
	act_ok(w, ADMIN, ids[1], "deliver", NULL, "delivered");
	act_ok(w, ANI, ids[0], "receive", NULL, "completed");
	act_ok(w, ANI, ids[1], "complaint", "{\"reason\":\"rusak\"}", "disputed");
	act_ok(w, ADMIN, ids[1], "resolve", "{\"outcome\":\"release\"}", "completed");
	act_ok(w, SITI, ids[2], "reject", NULL, "cancelled");
	act_ok(w, ADMIN, ids[3], "reject", NULL, "cancelled");
	act_ok(w, ANI, ids[4], "cancel", NULL, "cancelled");
	act_ok(w, ADMIN, ids[5], "cancel", NULL, "cancelled");
	for (int i = 2; i < 6; i++)
		json_decref(wait_state(w, ids[i], "refunded"));
	expect_payable(w, w->store_a, 2 * (20000 - commission(20000)), 0);
	expect_account(w, "escrow", 6 * 20000, 6 * 20000);
	/* Every shopper may check out. */
	{
		const struct cart_line line[] = { { p, 1 } };
		json_decref(buy(w, CITRA, line, 1));
	}
	assert_int_equal(listed(w, CITRA, "/api/v1/orders"), 1);
	world_finish(w);
}

/* --- 8. what the auditor reads --- */

/* A paid order of one unit of product of store A with the sandbox courier's first rate. Returns its id. */
static uint64_t buy_with_courier(struct world *w, uint64_t product)
{
	const struct cart_line line[] = { { product, 1 } };
	char key[32], *text = cart_body(line, 1), store[24];
	json_t *rates, *cart = json_loads(text, 0, NULL), *g;
	const char *token;
	uint64_t id;
	free(text);
	assert_non_null(cart);
	rates = call_json(w, NOBODY, "POST", "/api/v1/shipping/rates",
			  json_pack("{s:I, s:O, s:{s:s, s:s}}", "merchant_id", (json_int_t)w->store_a, "items",
				    json_object_get(cart, "items"), "ship_to", "postal_code", "40111", "address",
				    "Jl. Merdeka 5"),
			  200);
	token = apitest_str(json_array_get(json_object_get(rates, "rates"), 0), "rate_token");
	snprintf(store, sizeof(store), "%llu", (unsigned long long)w->store_a);
	json_object_set_new(cart, "shipping", json_pack("{s:s}", store, token));
	json_decref(rates);
	text = json_dumps(cart, JSON_COMPACT);
	json_decref(cart);
	assert_non_null(text);
	snprintf(key, sizeof(key), "key-%u", ++w->keys);
	g = checkout_raw(w, ANI, key, text, 201, NULL, NULL);
	free(text);
	id = group_order(g, 0);
	assert_true(json_is_object(json_object_get(json_array_get(json_object_get(g, "orders"), 0), "courier")));
	pay(w, g);
	json_decref(g);
	return id;
}

/*
 * The auditor sees everything and changes nothing: any shipment (with the
 * phones), the open jobs, any courier's shipments; a shipment's writes stay
 * refused to it.
 */
static void test_auditor_reads(void **state)
{
	struct world *w = *state;
	/*                            NOBODY ANI  CITRA SITI DEDI EKO  COURIER AUDITOR ADMIN */
	const int shipment_r[WHO_N] = { 401, 403, 403, 403, 403, 403, 403, 200, 200 };
	const int courier_r[WHO_N] = { 401, 403, 403, 403, 403, 403, 200, 200, 200 };
	char path[PATH_MAX_LEN], shipment[ID_MAX];
	uint64_t id, courier;
	json_t *doc;
	world_start(w);
	/* A courier company picks up at the store's address and phone. */
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu", (unsigned long long)w->store_a);
	json_decref(call(w, SITI, "PUT", path, "{\"address\":\"Jl. Braga 12\",\"phone\":\"081234567890\"}", 200));
	id = buy_with_courier(w, product_add(w, SITI, w->store_a, "Rendang", 50000, 5));
	act_ok(w, SITI, id, "confirm", NULL, "confirmed");
	doc = order_get(w, id);
	snprintf(shipment, sizeof(shipment), "%s", apitest_str(doc, "shipment_id"));
	json_decref(doc);

	snprintf(path, sizeof(path), "/api/v1/shipments/%s", shipment);
	expect_statuses(w, "GET", path, NULL, shipment_r);
	doc = call(w, AUDITOR, "GET", path, NULL, 200);
	assert_int_equal(apitest_int(doc, "order_id"), id);
	assert_string_equal(apitest_str(json_object_get(doc, "drop"), "phone"), "+6281200001111");
	json_decref(doc);
	expect_statuses(w, "GET", "/api/v1/courier/jobs", NULL, courier_r);
	doc = call(w, COURIER, "GET", "/api/v1/me", NULL, 200);
	courier = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/courier/shipments?courier=%llu", (unsigned long long)courier);
	expect_statuses(w, "GET", path, NULL, courier_r);
	expect_error(w, AUDITOR, "GET", "/api/v1/courier/shipments", NULL, 400, "invalid_field", "courier");

	snprintf(path, sizeof(path), "/api/v1/shipments/%s/status", shipment);
	expect_error(w, AUDITOR, "POST", path, "{\"status\":\"picked\"}", 403, "forbidden", NULL);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/accept", shipment);
	expect_error(w, AUDITOR, "POST", path, NULL, 403, "forbidden", NULL);
	world_finish(w);
}

/* --- 9. bad input --- */

/* A ship_to object as JSON text, `more` members appended. */
#define SHIP_TO(name, phone, postal, more)                                                                   \
	"{\"name\":\"" name "\",\"phone\":\"" phone "\",\"address\":\"x\",\"city\":\"y\",\"postal_code\":\"" postal \
	"\"" more "}"

/* A checkout body that must be refused with 400 `code` naming `part`. */
static void bad_cart(struct world *w, const char *body, const char *code, const char *part)
{
	char key[32];
	snprintf(key, sizeof(key), "key-%u", ++w->keys);
	json_decref(checkout_raw(w, ANI, key, body, 400, code, part));
}

/* Follows a listing page by page (limit per page) to its end. OUT: ids as listed, *n. */
static void list_all(const struct world *w, enum who who, const char *path, int limit, uint64_t *ids, size_t *n)
{
	char page[PATH_MAX_LEN + 64], cursor[64] = "";
	*n = 0;
	for (int pages = 0;; pages++) {
		json_t *doc, *item;
		size_t i;
		assert_true(pages <= 2 * LIST_ORDERS);
		snprintf(page, sizeof(page), "%s%climit=%d%s%s", path, strchr(path, '?') ? '&' : '?', limit,
			 cursor[0] ? "&cursor=" : "", cursor);
		doc = call(w, who, "GET", page, NULL, 200);
		assert_true(json_array_size(json_object_get(doc, "items")) <= (size_t)limit);
		json_array_foreach(json_object_get(doc, "items"), i, item) {
			assert_true(*n < LIST_ORDERS);
			ids[(*n)++] = (uint64_t)apitest_int(item, "id");
		}
		if (json_is_null(json_object_get(doc, "next_cursor"))) {
			json_decref(doc);
			return;
		}
		snprintf(cursor, sizeof(cursor), "%s", apitest_str(doc, "next_cursor"));
		json_decref(doc);
	}
}

/* ids[0..n) hold exactly the want[0..nwant) in any order, each once. */
static void expect_same_ids(const uint64_t *ids, size_t n, const uint64_t *want, size_t nwant)
{
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < nwant; i++) {
		size_t seen = 0;
		for (size_t j = 0; j < n; j++)
			seen += ids[j] == want[i];
		if (seen != 1)
			fail_msg("order %llu listed %zu times", (unsigned long long)want[i], seen);
	}
}

/* desc[0..n) is asc[0..nasc) backwards. */
static void expect_reversed(const uint64_t *desc, size_t n, const uint64_t *asc, size_t nasc)
{
	assert_int_equal(n, nasc);
	for (size_t i = 0; i < n; i++)
		if (desc[i] != asc[n - 1 - i])
			fail_msg("order=desc lists %llu at %zu, order=asc %llu at %zu", (unsigned long long)desc[i], i,
				 (unsigned long long)asc[n - 1 - i], n - 1 - i);
}

/* Pages through path (a query may be in it) both ways with limit; newest first is oldest first backwards. */
static void expect_desc_reverses(const struct world *w, enum who who, const char *path, int limit, size_t want)
{
	char desc[PATH_MAX_LEN + 32];
	uint64_t up[LIST_ORDERS], down[LIST_ORDERS];
	size_t nup, ndown;
	snprintf(desc, sizeof(desc), "%s%corder=desc", path, strchr(path, '?') ? '&' : '?');
	list_all(w, who, path, limit, up, &nup);
	list_all(w, who, desc, limit, down, &ndown);
	assert_int_equal(nup, want);
	expect_reversed(down, ndown, up, nup);
}

/* The first page's next_cursor of path (with limit=1), which must have one. */
static void first_cursor(const struct world *w, enum who who, const char *path, char *out, size_t cap)
{
	char page[PATH_MAX_LEN + 32];
	json_t *doc;
	snprintf(page, sizeof(page), "%s%climit=1", path, strchr(path, '?') ? '&' : '?');
	doc = call(w, who, "GET", page, NULL, 200);
	snprintf(out, cap, "%s", apitest_str(doc, "next_cursor"));
	json_decref(doc);
}

static void test_bad_input(void **state)
{
	struct world *w = *state;
	char body[BODY_MAX], path[PATH_MAX_LEN];
	uint64_t p, dear, pending_p, suspended_store, suspended_p, ids[LIST_ORDERS], listed_ids[LIST_ORDERS];
	uint64_t paid[LIST_ORDERS];
	size_t n, npaid = 0;
	int status;
	json_t *doc;
	world_start(w);
	p = product_add(w, SITI, w->store_a, "Teh Talua", 12000, 5);
	dear = product_add(w, SITI, w->store_a, "Emas", 10000000, 5);

	/* The body itself. */
	doc = send_req(w, ANI, "POST", "/api/v1/checkout", "application/json", "k-json", "{\"items\":", &status);
	assert_int_equal(status, 400);
	assert_string_equal(error_code(doc), "invalid_json");
	json_decref(doc);
	doc = send_req(w, ANI, "POST", "/api/v1/checkout", "text/plain", "k-type", "{}", &status);
	assert_int_equal(status, 415);
	assert_string_equal(error_code(doc), "unsupported_media_type");
	json_decref(doc);
	bad_cart(w, "[1]", "invalid_json", NULL);

	/* Fields: unknown, missing, of the wrong kind; quantities; lines. %llu is the product. */
	{
		static const char one[] = "[{\"product_id\":%llu,\"quantity\":1}]";
		static const char ship[] = SHIP_TO("A", "0812345", "40111", "");
		static const struct {
			const char *items, *ship_to, *extra, *code, *part;
		} bad[] = {
			{ one, ship, ",\"coupon\":\"x\"", "unknown_field", "coupon" },
			{ "[{\"product_id\":%llu,\"quantity\":1,\"price\":1}]", ship, "", "unknown_field", "price" },
			{ one, SHIP_TO("A", "0812345", "40111", ",\"floor\":2"), "", "unknown_field", "floor" },
			{ NULL, ship, "", "invalid_field", "items" },
			{ one, NULL, "", "invalid_field", "ship_to" },
			{ "[]", ship, "", "invalid_field", "items" },
			{ "{}", ship, "", "invalid_field", "items" },
			{ "[7]", ship, "", "invalid_field", "items" },
			{ "[{\"quantity\":1}]", ship, "", "invalid_field", "product_id" },
			{ "[{\"product_id\":\"%llu\",\"quantity\":1}]", ship, "", "invalid_field", "product_id" },
			{ "[{\"product_id\":%llu,\"quantity\":1.5}]", ship, "", "invalid_field", "quantity" },
			{ "[{\"product_id\":%llu,\"quantity\":0}]", ship, "", "invalid_field", "quantity" },
			{ "[{\"product_id\":%llu,\"quantity\":1001}]", ship, "", "invalid_field", "quantity" },
			{ "[{\"product_id\":%llu,\"quantity\":1},{\"product_id\":%llu,\"quantity\":2}]", ship, "",
			  "invalid_field", "once" },
			{ one, SHIP_TO("A", "08abc123", "40111", ""), "", "invalid_field", "phone" },
			{ one, SHIP_TO("A", "08123", "40111", ""), "", "invalid_field", "phone" },
			{ one, SHIP_TO("A", "0812345", "4O111", ""), "", "invalid_field", "postal_code" },
			{ one, SHIP_TO("", "0812345", "40111", ""), "", "invalid_field", "name" },
			{ one, "\"Jl. Merdeka\"", "", "invalid_field", "ship_to" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char items[256] = "";
			size_t len = 0;
			if (bad[i].items)
				snprintf(items, sizeof(items), bad[i].items, (unsigned long long)p, (unsigned long long)p);
			len += (size_t)snprintf(body + len, sizeof(body) - len, "{");
			if (bad[i].items)
				len += (size_t)snprintf(body + len, sizeof(body) - len, "\"items\":%s%s", items,
							bad[i].ship_to ? "," : "");
			if (bad[i].ship_to)
				len += (size_t)snprintf(body + len, sizeof(body) - len, "\"ship_to\":%s", bad[i].ship_to);
			snprintf(body + len, sizeof(body) - len, "%s}", bad[i].extra);
			bad_cart(w, body, bad[i].code, bad[i].part);
		}
	}
	/* One line over ORDER_ITEMS_MAX (50), each of its own product. */
	{
		struct cart_line many[51];
		char *text;
		for (int i = 0; i < 51; i++)
			many[i] = (struct cart_line){ p + 1000 + (uint64_t)i, 1 };
		text = cart_body(many, 51);
		bad_cart(w, text, "invalid_field", "items");
		free(text);
	}
	assert_int_equal(stock_of(w, p), 5);

	/* Products that are not for sale, a total beyond a QRIS payment, stock short on a later line. */
	pending_p = product_add(w, EKO, store_by_merchant(w, EKO, "Kios Eko"), "Pisang Sale", 8000, 5);
	suspended_store = store_by_admin(w, "Lapak Eko", w->eko);
	suspended_p = product_add(w, EKO, suspended_store, "Kacang Tojin", 9000, 5);
	snprintf(path, sizeof(path), "/api/v1/admin/merchants/%llu/suspend", (unsigned long long)suspended_store);
	json_decref(call(w, ADMIN, "POST", path, NULL, 200));
	{
		const struct cart_line pend[] = { { p, 1 }, { pending_p, 1 } }, susp[] = { { suspended_p, 1 } },
				       unknown[] = { { 999999, 1 } }, big[] = { { dear, 1 }, { p, 1 } },
				       short_stock[] = { { p, 2 }, { dear, 6 } };
		checkout_refused(w, ANI, pend, 2, 422, "product_unavailable");
		checkout_refused(w, ANI, susp, 1, 422, "product_unavailable");
		checkout_refused(w, ANI, unknown, 1, 422, "product_unavailable");
		checkout_refused(w, ANI, big, 2, 422, "amount_too_large");
		checkout_refused(w, ANI, short_stock, 2, 409, "insufficient_stock");
	}
	/* A refused checkout takes nothing. */
	assert_int_equal(stock_of(w, p), 5);
	assert_int_equal(stock_of(w, dear), 5);
	assert_int_equal(stock_of(w, pending_p), 5);
	assert_int_equal(listed(w, ANI, "/api/v1/orders"), 0);

	/* Actions: bodies, unknown orders. */
	p = product_add(w, DEDI, w->store_b, "Kopi Kawa", 15000, 50);
	for (int i = 0; i < LIST_ORDERS; i++) {
		const struct cart_line cart[] = { { p, 1 } };
		json_t *g = buy(w, ANI, cart, 1);
		ids[i] = group_order(g, 0);
		if (i % 3 == 0) {
			pay(w, g);
			paid[npaid++] = ids[i];
		}
		json_decref(g);
	}
	act_refused(w, ADMIN, ids[0], "resolve", "{\"outcome\":\"keep\"}", 400, "invalid_field", "outcome");
	act_refused(w, ADMIN, ids[0], "resolve", "{\"outcome\":\"partial_refund\"}", 400, "invalid_field",
		    "refund_amount");
	act_refused(w, ADMIN, ids[0], "resolve", "{\"outcome\":\"release\",\"refund_amount\":5}", 400,
		    "invalid_field", "refund_amount");
	act_refused(w, ADMIN, ids[0], "resolve", "{\"outcome\":\"partial_refund\",\"refund_amount\":0}", 400,
		    "invalid_field", "refund_amount");
	act_refused(w, ADMIN, ids[0], "resolve", "{\"outcome\":\"release\",\"why\":1}", 400, "unknown_field", "why");
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/resolve", (unsigned long long)ids[0]);
	doc = send_req(w, ADMIN, "POST", path, "application/json", NULL, "", &status);
	assert_int_equal(status, 400);
	assert_string_equal(error_code(doc), "invalid_json");
	json_decref(doc);
	act_refused(w, ANI, ids[0], "complaint", "{\"reason\":\"\"}", 400, "invalid_field", "reason");
	act_refused(w, ANI, ids[0], "complaint", "{\"reason\":\"a\\u0001b\"}", 400, "invalid_field", "reason");
	act_refused(w, DEDI, ids[0], "confirm", "{\"reason\":", 400, "invalid_json", NULL);
	act_refused(w, DEDI, ids[0], "confirm", "{\"note\":\"x\"}", 400, "unknown_field", "note");
	doc = send_req(w, DEDI, "POST", "/api/v1/orders/1/confirm", "text/plain", NULL, "{}", &status);
	assert_int_equal(status, 415);
	json_decref(doc);
	act_refused(w, DEDI, 999999, "confirm", NULL, 404, "not_found", NULL);
	expect_error(w, DEDI, "POST", "/api/v1/orders/abc/confirm", NULL, 404, "not_found", NULL);
	expect_error(w, ADMIN, "GET", "/api/v1/orders/999999", NULL, 404, "not_found", NULL);
	expect_error(w, ADMIN, "GET", "/api/v1/orders/-1", NULL, 404, "not_found", NULL);
	expect_error(w, ADMIN, "GET", "/api/v1/order-groups/nope", NULL, 404, "not_found", NULL);
	expect_error(w, ADMIN, "GET", "/api/v1/order-groups/0123456789abcdef0123456789abcdef", NULL, 404, "not_found",
		     NULL);
	expect_error(w, ADMIN, "GET", "/api/v1/merchants/999999/orders", NULL, 404, "not_found", NULL);
	doc = order_get(w, ids[0]);
	assert_string_equal(apitest_str(doc, "state"), "paid");
	json_decref(doc);

	/* Listings: bad parameters, then paging through without gaps or duplicates. */
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/orders", (unsigned long long)w->store_b);
	{
		const char *bad[] = { "state=lost", "state=", "cursor=abc", "cursor=1", "cursor=1.2x", "cursor=-1.2",
				      "cursor=256.1", "limit=0", "limit=101", "limit=x", "limit=5x", "limit=-1" };
		char url[PATH_MAX_LEN + 64];
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(url, sizeof(url), "/api/v1/orders?%s", bad[i]);
			expect_error(w, ANI, "GET", url, NULL, 400, "invalid_field", NULL);
			snprintf(url, sizeof(url), "%s?%s", path, bad[i]);
			expect_error(w, DEDI, "GET", url, NULL, 400, "invalid_field", NULL);
		}
	}
	for (int limit = 1; limit <= 3; limit++) {
		list_all(w, ANI, "/api/v1/orders", limit, listed_ids, &n);
		expect_same_ids(listed_ids, n, ids, LIST_ORDERS);
		list_all(w, DEDI, path, limit, listed_ids, &n);
		expect_same_ids(listed_ids, n, ids, LIST_ORDERS);
		list_all(w, ANI, "/api/v1/orders?state=paid", limit, listed_ids, &n);
		expect_same_ids(listed_ids, n, paid, npaid);
		{
			char filtered[PATH_MAX_LEN + 32];
			snprintf(filtered, sizeof(filtered), "%s?state=paid", path);
			list_all(w, AUDITOR, filtered, limit, listed_ids, &n);
			expect_same_ids(listed_ids, n, paid, npaid);
			snprintf(filtered, sizeof(filtered), "%s?state=awaiting_payment", path);
			list_all(w, ADMIN, filtered, limit, listed_ids, &n);
			assert_int_equal(n, LIST_ORDERS - npaid);
		}
	}

	/* Newest first: the same entries as oldest first, backwards, page by page; with a state too. */
	for (int limit = 1; limit <= 3; limit++) {
		char filtered[PATH_MAX_LEN + 32];
		expect_desc_reverses(w, ANI, "/api/v1/orders", limit, LIST_ORDERS);
		expect_desc_reverses(w, ANI, "/api/v1/orders?state=paid", limit, npaid);
		expect_desc_reverses(w, ADMIN, "/api/v1/admin/orders", limit, LIST_ORDERS);
		expect_desc_reverses(w, ADMIN, "/api/v1/admin/orders?state=awaiting_payment", limit, LIST_ORDERS - npaid);
		expect_desc_reverses(w, DEDI, path, limit, LIST_ORDERS);
		snprintf(filtered, sizeof(filtered), "%s?state=paid", path);
		expect_desc_reverses(w, AUDITOR, filtered, limit, npaid);
	}
	list_all(w, ANI, "/api/v1/orders?order=desc", 2, listed_ids, &n);
	assert_int_equal(listed_ids[0], ids[LIST_ORDERS - 1]);
	/* A cursor goes only the way it was given; `order` is asc or desc. */
	{
		const char *lists[] = { "/api/v1/orders", "/api/v1/admin/orders", path };
		const enum who callers[] = { ANI, ADMIN, DEDI };
		char cursor[64], url[PATH_MAX_LEN + 128];
		for (size_t i = 0; i < 3; i++) {
			first_cursor(w, callers[i], lists[i], cursor, sizeof(cursor));
			snprintf(url, sizeof(url), "%s?order=desc&cursor=%s", lists[i], cursor);
			expect_error(w, callers[i], "GET", url, NULL, 400, "invalid_field", "order=asc");
			snprintf(url, sizeof(url), "%s?order=desc", lists[i]);
			first_cursor(w, callers[i], url, cursor, sizeof(cursor));
			snprintf(url, sizeof(url), "%s?cursor=%s", lists[i], cursor);
			expect_error(w, callers[i], "GET", url, NULL, 400, "invalid_field", "order=desc");
			snprintf(url, sizeof(url), "%s?order=asc&cursor=%s", lists[i], cursor);
			expect_error(w, callers[i], "GET", url, NULL, 400, "invalid_field", "order=desc");
			snprintf(url, sizeof(url), "%s?order=newest", lists[i]);
			expect_error(w, callers[i], "GET", url, NULL, 400, "invalid_field", "order");
			snprintf(url, sizeof(url), "%s?order=", lists[i]);
			expect_error(w, callers[i], "GET", url, NULL, 400, "invalid_field", "order");
			snprintf(url, sizeof(url), "%s?order=desc&cursor=d1.x", lists[i]);
			expect_error(w, callers[i], "GET", url, NULL, 400, "invalid_field", "cursor");
		}
	}
	world_finish(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journey, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_rule_unpaid_expires, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_rule_unconfirmed_refunds, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_rule_auto_complete, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_oversell_race, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_complaints, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_cancellations, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_group_refund_per_store, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_paid_after_cancel, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_idempotency, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_authorization, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_auditor_reads, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
