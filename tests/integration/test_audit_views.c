/*
 * The auditors' views over the wire (docs/api.md, "Audit views"): the real
 * `bangsoleh serve` and the real `bangsoleh-sandbox` on loopback, the
 * server delivering through the city's couriers (courier.gateway=local, a
 * flat COURIER_FEE) with audit.refund_ratio_bps=RATIO_BPS.
 *
 * test_views drives two stores of different categories — warung (UMI,
 * "makanan", siti's) and toko (UKE, a category that needs CSV quoting,
 * budi's) — through an online order delivered by a courier and completed,
 * an in-store charge and its partial refund, a payout, a late payment the
 * server refunds, a payment of the wrong amount (flagged) and a two-store
 * order completed without any delivery event. It takes three marks of the
 * wall clock between the phases, then checks that every journal filter
 * gives exactly the entries it should, the daily and monthly reports'
 * figures to the rupiah (JSON and CSV), and each finding in the ranges where
 * it belongs and only there. Nothing asserts on the time of day: a report's
 * figures are summed over its periods, which may be two if the test crosses
 * a WIB midnight.
 *
 * test_refusals: bad inputs are a clear 400 (or 404 for an unknown
 * account or store), and only auditors and admins may read.
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
#include <time.h>

#include <jansson.h>

#include "apitest.h"
#include "crypto.h"
#include "sandboxtest.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define LOCAL_ENV "BANGSOLEH_COURIER_GATEWAY=local"
#define FEE_ENV "BANGSOLEH_COURIER_LOCAL_FLAT=15000"
#define COURIER_FEE 15000
#define RATIO_BPS 2500
#define SANDBOX_KEY "SB-Mid-server-bangsoleh-sandbox"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define ID_MAX 65
#define PATH_MAX_LEN 1024
#define TIME_MAX 64
#define WAIT_MS 30000             /* longest wait for something asynchronous to show */
#define WAIT_STEP_MS 50
#define MARK_GAP_MS 20            /* quiet time on each side of a mark, so no entry shares its millisecond */
#define ENTRIES_MAX 64

enum who { NOBODY, ADMIN, AUDITOR, SITI, BUDI, SHOPPER, COURIER, WHO_N };

struct world {
	struct sandboxtest_pair p;
	char tok[WHO_N][TOKEN_MAX];
	uint64_t courier_id, warung, toko;
	unsigned keys;
};

/* --- HTTP --- */

static json_t *call(const struct world *w, enum who who, const char *method, const char *path, const char *body,
		    int status)
{
	return apitest_call(w->p.srv, who == NOBODY ? NULL : w->tok[who], method, path, body, status);
}

static void expect_error(const struct world *w, enum who who, const char *path, int status, const char *code)
{
	apitest_expect_error(w->p.srv, who == NOBODY ? NULL : w->tok[who], "GET", path, NULL, status, code, NULL);
}

/* Polls GET path as the admin until member `key` is the string `want`; returns the body. */
static json_t *wait_for(const struct world *w, const char *path, const char *key, const char *want)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		json_t *doc = call(w, ADMIN, "GET", path, NULL, 200);
		if (strcmp(apitest_str(doc, key), want) == 0)
			return doc;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("%s: %s is %s, want %s", path, key, apitest_str(doc, key), want);
		json_decref(doc);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

static void wait_order(const struct world *w, uint64_t id, const char *state)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/orders/%llu", (unsigned long long)id);
	json_decref(wait_for(w, path, "state", state));
}

static void wait_payment(const struct world *w, const char *id, const char *status)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/payments/%s", id);
	json_decref(wait_for(w, path, "status", status));
}

static void order_act(const struct world *w, enum who who, uint64_t id, const char *action)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/%s", (unsigned long long)id, action);
	json_decref(call(w, who, "POST", path, NULL, 200));
}

/* The wall clock now, as RFC 3339 UTC with milliseconds, with quiet time around it. */
static void mark(char out[TIME_MAX])
{
	struct timespec ts;
	struct tm tm;
	sandboxtest_sleep_ms(MARK_GAP_MS);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
	sandboxtest_sleep_ms(MARK_GAP_MS);
}

/* --- the world --- */

static uint64_t user_add(struct world *w, const char *role, const char *username, enum who who)
{
	json_t *doc = apitest_call_json(w->p.srv, w->tok[ADMIN], "POST", "/api/v1/users",
					json_pack("{s:s, s:s, s:s}", "username", username, "password", PASSWORD,
						  "role", role),
					201);
	uint64_t id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	apitest_login(w->p.srv, username, PASSWORD, w->tok[who]);
	return id;
}

static uint64_t store_add(const struct world *w, const char *name, uint64_t owner, const char *criteria,
			  const char *category, const char *account)
{
	json_t *doc = apitest_call_json(
		w->p.srv, w->tok[ADMIN], "POST", "/api/v1/admin/merchants",
		json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "owner_user_id",
			  (json_int_t)owner, "city", "PAYAKUMBUH", "postal_code", "26211", "criteria", criteria, "nmid",
			  "ID1020021181745", "phone", "0812345678", "address", "Jl. Sudirman 12", "category", category,
			  "bank_code", "BRI", "bank_account", account, "bank_name", name),
		201);
	uint64_t id = (uint64_t)apitest_int(doc, "id");
	assert_string_equal(apitest_str(doc, "category"), category);
	json_decref(doc);
	return id;
}

static void world_start(struct world *w)
{
	const char *env[] = { COST_ENV, LOCAL_ENV, FEE_ENV, NULL };
	char ratio[64];
	const char *args[] = { "--set", ratio, NULL };
	struct testsrv at;
	uint64_t siti, budi;
	snprintf(ratio, sizeof(ratio), "audit.refund_ratio_bps=%d", RATIO_BPS);
	sandboxtest_pair_start(&w->p, NULL, args, env);
	at = *w->p.srv;
	snprintf(at.data_dir, sizeof(at.data_dir), "%s", w->p.data);
	apitest_user_add_cli(&at, env, "admin", "admin", PASSWORD);
	apitest_login(w->p.srv, "admin", PASSWORD, w->tok[ADMIN]);
	user_add(w, "auditor", "auditor", AUDITOR);
	siti = user_add(w, "merchant", "siti", SITI);
	budi = user_add(w, "merchant", "budi", BUDI);
	user_add(w, "shopper", "shopper", SHOPPER);
	w->courier_id = user_add(w, "courier", "courier", COURIER);
	w->warung = store_add(w, "Warung Bu Siti", siti, "UMI", "makanan", "1234567890");
	w->toko = store_add(w, "Toko Budi", budi, "UKE", "kerajinan, \"asli\"", "2345678901");
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

/* --- money --- */

static uint64_t product_add(const struct world *w, enum who who, uint64_t store, const char *title, int64_t price)
{
	char path[PATH_MAX_LEN], body[256];
	json_t *doc;
	uint64_t id;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)store);
	snprintf(body, sizeof(body),
		 "{\"title\":\"%s\",\"description\":\"Oleh-oleh\",\"price\":%lld,\"stock\":5,\"weight_g\":250,"
		 "\"category\":\"makanan\"}",
		 title, (long long)price);
	doc = call(w, who, "POST", path, body, 201);
	id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	return id;
}

/* A checkout (body lent) by the shopper under a fresh key, paid at the sandbox. Returns the group (decref it). */
static json_t *checkout_paid(struct world *w, json_t *body)
{
	char key[32], *text = json_dumps(body, JSON_COMPACT);
	json_t *g;
	assert_non_null(text);
	snprintf(key, sizeof(key), "audit-%u", ++w->keys);
	g = apitest_call_keyed(w->p.srv, w->tok[SHOPPER], "POST", "/api/v1/checkout", key, text, 201);
	free(text);
	sandboxtest_pay(&w->p.sb, apitest_str(g, "payment_id"), 0);
	for (size_t i = 0; i < json_array_size(json_object_get(g, "orders")); i++)
		wait_order(w, (uint64_t)apitest_int(json_array_get(json_object_get(g, "orders"), i), "id"), "paid");
	return g;
}

static void shipment_move(const struct world *w, const char *sid, const char *to, const char *pin)
{
	char path[PATH_MAX_LEN], body[128];
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/status", sid);
	snprintf(body, sizeof(body), "{\"status\":\"%s\"%s%s%s}", to, pin ? ",\"pin\":\"" : "", pin ? pin : "",
		 pin ? "\"" : "");
	json_decref(call(w, COURIER, "POST", path, body, 200));
}

/*
 * The shopper's order of one product of warung (price), delivered by the
 * city's courier with the buyer's PIN and received: completed. Returns its id.
 */
static uint64_t courier_journey(struct world *w, int64_t price)
{
	char path[PATH_MAX_LEN], sid[ID_MAX], pin[8], store[24];
	uint64_t product = product_add(w, SITI, w->warung, "Rendang", price), order;
	json_t *doc, *g, *body;
	doc = apitest_call_json(w->p.srv, NULL, "POST", "/api/v1/shipping/rates",
				json_pack("{s:I, s:[{s:I, s:i}], s:{s:s}}", "merchant_id", (json_int_t)w->warung, "items",
					  "product_id", (json_int_t)product, "quantity", 1, "ship_to", "postal_code",
					  "26211"),
				200);
	assert_int_equal(apitest_int(json_array_get(json_object_get(doc, "rates"), 0), "price"), COURIER_FEE);
	snprintf(store, sizeof(store), "%llu", (unsigned long long)w->warung);
	body = json_pack("{s:[{s:I, s:i}], s:{s:s, s:s, s:s, s:s, s:s}, s:{s:O}}", "items", "product_id",
			 (json_int_t)product, "quantity", 1, "ship_to", "name", "Ani", "phone", "081200001111", "address",
			 "Jl. Merdeka 5", "city", "Payakumbuh", "postal_code", "26211", "shipping", store,
			 json_object_get(json_array_get(json_object_get(doc, "rates"), 0), "rate_token"));
	json_decref(doc);
	g = checkout_paid(w, body);
	json_decref(body);
	assert_int_equal(apitest_int(g, "total"), price + COURIER_FEE);
	order = (uint64_t)apitest_int(json_array_get(json_object_get(g, "orders"), 0), "id");
	json_decref(g);
	order_act(w, SITI, order, "confirm");
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/tracking", (unsigned long long)order);
	doc = call(w, SHOPPER, "GET", path, NULL, 200);
	snprintf(sid, sizeof(sid), "%s", apitest_str(json_object_get(doc, "shipment"), "id"));
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/shipments/%s/accept", sid);
	json_decref(call(w, COURIER, "POST", path, NULL, 200));
	shipment_move(w, sid, "picked", NULL);
	shipment_move(w, sid, "in_transit", NULL);
	snprintf(path, sizeof(path), "/api/v1/orders/%llu", (unsigned long long)order);
	doc = call(w, SHOPPER, "GET", path, NULL, 200);
	snprintf(pin, sizeof(pin), "%s", apitest_str(doc, "delivery_pin"));
	json_decref(doc);
	shipment_move(w, sid, "delivered", pin);
	wait_order(w, order, "delivered");
	order_act(w, SHOPPER, order, "receive");
	wait_order(w, order, "completed");
	return order;
}

/* An in-store charge of store m by its owner. OUT: id. */
static void charge(const struct world *w, enum who owner, uint64_t m, int64_t amount, char id[ID_MAX])
{
	char path[PATH_MAX_LEN], body[64];
	json_t *doc;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/charges", (unsigned long long)m);
	snprintf(body, sizeof(body), "{\"amount\":%lld}", (long long)amount);
	doc = call(w, owner, "POST", path, body, 201);
	snprintf(id, ID_MAX, "%s", apitest_str(doc, "id"));
	json_decref(doc);
}

/*
 * The provider's signed "expire" notification of a charge (a Midtrans
 * notification signed with the sandbox's key): the payment ends expired.
 */
static void expire_by_provider(const struct world *w, const char *id, int64_t amount)
{
	const char *headers[] = { "Content-Type: application/json", NULL };
	char path[PATH_MAX_LEN], gross[32], text[512], sig[2 * CRYPTO_SHA512_LEN + 1], *body;
	uint8_t digest[CRYPTO_SHA512_LEN];
	struct testsrv_response resp;
	json_t *doc, *note;
	int n;
	snprintf(path, sizeof(path), "/api/v1/payments/%s", id);
	doc = call(w, ADMIN, "GET", path, NULL, 200);
	snprintf(gross, sizeof(gross), "%lld.00", (long long)amount);
	n = snprintf(text, sizeof(text), "%s%s%s%s", id, "202", gross, SANDBOX_KEY);
	assert_int_equal(crypto_sha512(text, (size_t)n, digest), CRYPTO_OK);
	assert_int_equal(crypto_hex_encode(digest, sizeof(digest), sig, sizeof(sig)), CRYPTO_OK);
	note = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "transaction_time",
			 "2026-11-28 10:00:00", "transaction_status", "expire", "transaction_id",
			 apitest_str(doc, "provider_ref"), "status_code", "202", "signature_key", sig, "order_id", id,
			 "gross_amount", gross, "currency", "IDR", "payment_type", "qris", "fraud_status", "accept");
	json_decref(doc);
	body = json_dumps(note, JSON_COMPACT);
	json_decref(note);
	assert_non_null(body);
	assert_int_equal(testsrv_request(w->p.srv, "POST", SANDBOXTEST_WEBHOOK_PATH, headers, body, &resp), 0);
	free(body);
	assert_int_equal(resp.status, 200);
	testsrv_response_free(&resp);
	wait_payment(w, id, "expired");
}

/* --- the journal --- */

/*
 * Every entry GET /api/v1/audit/journal?<query> gives, following its
 * cursor with pages of `limit`, as "reason:amount" in order (OUT: got, at
 * most ENTRIES_MAX). The auditor reads. Returns how many; *last is the
 * last entry (a new reference, or NULL) for closer checks.
 */
static size_t journal(const struct world *w, const char *query, int limit, char got[][48], json_t **last)
{
	char path[PATH_MAX_LEN], cursor[32] = "";
	size_t n = 0;
	if (last)
		*last = NULL;
	for (int page = 0; page < ENTRIES_MAX; page++) {
		json_t *doc, *e, *next;
		size_t i;
		snprintf(path, sizeof(path), "/api/v1/audit/journal?limit=%d%s%s%s%s", limit, query[0] ? "&" : "", query,
			 cursor[0] ? "&cursor=" : "", cursor);
		doc = call(w, AUDITOR, "GET", path, NULL, 200);
		assert_true(apitest_int(doc, "scanned") <= apitest_int(doc, "scan_max"));
		assert_true(json_array_size(json_object_get(doc, "entries")) <= (size_t)limit);
		json_array_foreach(json_object_get(doc, "entries"), i, e) {
			assert_true(n < ENTRIES_MAX);
			snprintf(got[n++], 48, "%s:%lld", apitest_str(e, "reason"), (long long)apitest_int(e, "amount"));
			if (last) {
				json_decref(*last);
				*last = json_incref(e);
			}
		}
		next = json_object_get(doc, "next_cursor");
		if (json_is_null(next)) {
			json_decref(doc);
			return n;
		}
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(doc);
	}
	fail_msg("the journal of %s never ended", query);
	return n;
}

/* The journal of `query` is exactly want[0..n), read whole and one entry per page. */
static void expect_journal(const struct world *w, const char *query, const char *const *want, size_t n)
{
	char got[ENTRIES_MAX][48];
	int limits[] = { 500, 1 };
	for (size_t l = 0; l < 2; l++) {
		size_t k = journal(w, query, limits[l], got, NULL);
		bool same = k == n;
		for (size_t i = 0; same && i < n; i++)
			same = strcmp(got[i], want[i]) == 0;
		if (!same) {
			fprintf(stderr, "journal %s (limit %d): got %zu entries\n", query, limits[l], k);
			for (size_t i = 0; i < k; i++)
				fprintf(stderr, "  %s%s\n", got[i], i < n && strcmp(got[i], want[i]) == 0 ? "" : "  <--");
			fail_msg("journal %s differs", query);
		}
	}
}

/* The entry names the account of its `side` ("debit" or "credit") as the ledger names it. */
static void expect_account_name(const struct world *w, const json_t *e, const char *side)
{
	char key[32], path[PATH_MAX_LEN];
	json_t *account;
	snprintf(key, sizeof(key), "%s_account_id", side);
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/%s", apitest_str(e, key));
	account = call(w, AUDITOR, "GET", path, NULL, 200);
	snprintf(key, sizeof(key), "%s_account_name", side);
	assert_string_equal(apitest_str(e, key), apitest_str(account, "name"));
	json_decref(account);
}

/* The attribution of the only entry the query gives, whose accounts it names. Returns it (a new reference). */
static json_t *only_attribution(const struct world *w, const char *query)
{
	char got[ENTRIES_MAX][48];
	json_t *e, *attr;
	assert_int_equal(journal(w, query, 10, got, &e), 1);
	expect_account_name(w, e, "debit");
	expect_account_name(w, e, "credit");
	attr = json_incref(json_object_get(e, "attribution"));
	json_decref(e);
	return attr;
}

/* attr's stores are exactly a (and b, when not 0), in any order. */
static void expect_stores(const json_t *attr, uint64_t a, uint64_t b)
{
	const json_t *stores = json_object_get(attr, "stores");
	size_t n = b ? 2 : 1, i;
	const json_t *s;
	assert_int_equal(json_array_size(stores), n);
	json_array_foreach(stores, i, s)
		assert_true((uint64_t)json_integer_value(s) == a || (b && (uint64_t)json_integer_value(s) == b));
}

/* --- reports --- */

enum fig { PAYMENTS, PAYMENTS_VALUE, IN_STORE, IN_STORE_VALUE, ONLINE, ONLINE_VALUE, REFUNDS, REFUNDS_VALUE, MDR,
	   COMMISSION, FEES, PAYOUTS, PAYOUTS_VALUE, FIG_N };
static const char *const fig_names[FIG_N] = {
	"payments", "payments_value", "in_store", "in_store_value", "online", "online_value", "refunds",
	"refunds_value", "mdr", "commission", "fees", "payouts", "payouts_value",
};

/*
 * The figures of a scope summed over the report's periods: the totals
 * (store 0, category NULL), a store's, or a category's.
 */
static void report_sum(const json_t *report, uint64_t store, const char *category, int64_t out[FIG_N])
{
	size_t i;
	const json_t *p;
	memset(out, 0, FIG_N * sizeof(out[0]));
	json_array_foreach(json_object_get(report, "periods"), i, p) {
		const json_t *figs = NULL, *row;
		size_t j;
		if (!store && !category)
			figs = json_object_get(p, "totals");
		json_array_foreach(json_object_get(p, store ? "stores" : "categories"), j, row) {
			if ((store && (uint64_t)apitest_int(row, "store_id") == store) ||
			    (category && strcmp(apitest_str(row, "category"), category) == 0))
				figs = row;
		}
		for (int f = 0; figs && f < FIG_N; f++)
			out[f] += apitest_int(figs, fig_names[f]);
	}
}

static void expect_figs(const json_t *report, uint64_t store, const char *category, const int64_t want[FIG_N])
{
	int64_t got[FIG_N];
	report_sum(report, store, category, got);
	for (int f = 0; f < FIG_N; f++)
		if (got[f] != want[f])
			fail_msg("report %s (store %llu, category %s): %s is %lld, want %lld",
				 apitest_str(report, "period"), (unsigned long long)store, category ? category : "-",
				 fig_names[f], (long long)got[f], (long long)want[f]);
}

/* --- findings --- */

/* GET /api/v1/audit/findings for [from, to) as the auditor; checks the counts. Returns the body. */
static json_t *findings(const struct world *w, const char *from, const char *to, int mismatch, int late, int ratio,
			int undelivered, int payouts)
{
	static const char *const kinds[] = { "amount_mismatch", "late_payment_refunded", "refund_ratio",
					     "completed_without_delivery", "payouts_over_sales" };
	int want[] = { mismatch, late, ratio, undelivered, payouts };
	char path[PATH_MAX_LEN];
	json_t *doc;
	snprintf(path, sizeof(path), "/api/v1/audit/findings?from=%s&to=%s", from, to);
	doc = call(w, AUDITOR, "GET", path, NULL, 200);
	assert_int_equal(apitest_int(doc, "refund_ratio_bps"), RATIO_BPS);
	for (size_t k = 0; k < 5; k++) {
		size_t i, n = 0;
		const json_t *f;
		json_array_foreach(json_object_get(doc, "findings"), i, f)
			n += strcmp(apitest_str(f, "kind"), kinds[k]) == 0;
		if ((int)n != want[k] || apitest_int(json_object_get(doc, "counts"), kinds[k]) != want[k])
			fail_msg("findings %s..%s: %zu %s, want %d: %s", from, to, n, kinds[k], want[k],
				 json_dumps(json_object_get(doc, "findings"), JSON_COMPACT));
	}
	return doc;
}

/* The finding of `kind` whose member `key` is `value` (there must be one). */
static const json_t *finding(const json_t *doc, const char *kind, const char *key, int64_t value)
{
	size_t i;
	const json_t *f;
	json_array_foreach(json_object_get(doc, "findings"), i, f)
		if (strcmp(apitest_str(f, "kind"), kind) == 0 && apitest_int(f, key) == value)
			return f;
	fail_msg("no %s finding with %s %lld", kind, key, (long long)value);
	return NULL;
}

static const json_t *payment_finding(const json_t *doc, const char *kind, const char *id)
{
	size_t i;
	const json_t *f;
	json_array_foreach(json_object_get(doc, "findings"), i, f)
		if (strcmp(apitest_str(f, "kind"), kind) == 0 && strcmp(apitest_str(f, "payment_id"), id) == 0)
			return f;
	fail_msg("no %s finding of payment %s", kind, id);
	return NULL;
}

/* --- tests --- */

static void test_views(void **state)
{
	struct world *w = *state;
	char t0[TIME_MAX], t_mid[TIME_MAX], t_mid2[TIME_MAX], t_end[TIME_MAX], q[PATH_MAX_LEN];
	char instore[ID_MAX], late[ID_MAX], flagged[ID_MAX], path[PATH_MAX_LEN], body[64];
	uint64_t journey, group_w, group_t;
	json_t *doc;

	world_start(w);
	mark(t0);
	/* Phase 1, nothing to remark on: a delivered online order, an in-store charge. */
	journey = courier_journey(w, 50000);
	charge(w, BUDI, w->toko, 200000, instore);
	sandboxtest_pay(&w->p.sb, instore, 0);
	wait_payment(w, instore, "paid");
	mark(t_mid);
	json_decref(findings(w, t0, t_mid, 0, 0, 0, 0, 0));

	/* Phase 2: a quarter of the charge refunded; warung pays out what the order earned it. */
	snprintf(path, sizeof(path), "/api/v1/payments/%s/refund", instore);
	json_decref(apitest_call_keyed(w->p.srv, w->tok[ADMIN], "POST", path, "refund-quarter", "{\"amount\":50000}",
				       200));
	wait_payment(w, instore, "partially_refunded");
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/payouts", (unsigned long long)w->warung);
	snprintf(body, sizeof(body), "{\"amount\":%d}", 50000 - 1500);
	doc = call(w, SITI, "POST", path, body, 201);
	snprintf(path, sizeof(path), "/api/v1/payouts/%s", apitest_str(doc, "id"));
	json_decref(doc);
	json_decref(wait_for(w, path, "status", "completed"));
	mark(t_mid2);

	/* Phase 3: a late payment (refunded by the server), a wrong amount (flagged), an order never delivered. */
	charge(w, SITI, w->warung, 40000, late);
	expire_by_provider(w, late, 40000);
	sandboxtest_pay(&w->p.sb, late, 0);
	wait_payment(w, late, "refunded");
	charge(w, SITI, w->warung, 30000, flagged);
	sandboxtest_pay(&w->p.sb, flagged, 29000);
	{
		int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
		snprintf(path, sizeof(path), "/api/v1/payments/%s", flagged);
		for (;;) {
			bool held;
			doc = call(w, ADMIN, "GET", path, NULL, 200);
			held = json_is_true(json_object_get(doc, "flagged"));
			json_decref(doc);
			if (held)
				break;
			if (sandboxtest_now_ms() >= deadline)
				fail_msg("payment %s was never flagged", flagged);
			sandboxtest_sleep_ms(WAIT_STEP_MS);
		}
	}
	{
		uint64_t pw = product_add(w, SITI, w->warung, "Kerupuk", 20000);
		uint64_t pt = product_add(w, BUDI, w->toko, "Songket", 25000);
		json_t *cart = json_pack("{s:[{s:I, s:i}, {s:I, s:i}], s:{s:s, s:s, s:s, s:s, s:s}}", "items", "product_id",
					 (json_int_t)pw, "quantity", 1, "product_id", (json_int_t)pt, "quantity", 1,
					 "ship_to", "name", "Ani", "phone", "081200001111", "address", "Jl. Merdeka 5",
					 "city", "Payakumbuh", "postal_code", "26211");
		json_t *g = checkout_paid(w, cart);
		json_decref(cart);
		assert_int_equal(apitest_int(g, "total"), 45000);
		group_w = (uint64_t)apitest_int(json_array_get(json_object_get(g, "orders"), 0), "id");
		group_t = (uint64_t)apitest_int(json_array_get(json_object_get(g, "orders"), 1), "id");
		assert_int_equal(apitest_int(json_array_get(json_object_get(g, "orders"), 0), "merchant_id"), w->warung);
		json_decref(g);
		order_act(w, SITI, group_w, "confirm");
		order_act(w, SITI, group_w, "ship");
		order_act(w, ADMIN, group_w, "deliver");
		order_act(w, SHOPPER, group_w, "receive");
		wait_order(w, group_w, "completed");
		order_act(w, BUDI, group_t, "confirm");
		order_act(w, BUDI, group_t, "ship");
		order_act(w, ADMIN, group_t, "deliver");
		order_act(w, SHOPPER, group_t, "receive");
		wait_order(w, group_t, "completed");
	}
	mark(t_end);

	/* --- the journal: each filter gives exactly its entries, in sequence order --- */
	{
		static const char *const all[] = {
			"payment:65000",  "release:48500", "commission:1500", "shipping:15000", "payment:198600",
			"commission:1400", "refund:49650",  "refund:350",      "payout:48500",   "payout:48500",
			"payment:40000",  "refund:40000",  "payment:45000",   "release:19400",  "commission:600",
			"release:24250",  "commission:750",
		};
		static const char *const warung[] = { "payment:65000", "release:48500", "commission:1500", "shipping:15000",
						      "payout:48500",  "payout:48500",  "payment:40000",   "refund:40000",
						      "payment:45000", "release:19400", "commission:600" };
		static const char *const toko[] = { "payment:198600", "commission:1400", "refund:49650", "refund:350",
						    "payment:45000",  "release:24250",   "commission:750" };
		static const char *const warung_payable[] = { "release:48500", "payout:48500", "payout:48500",
							      "payment:40000", "refund:40000", "release:19400" };
		static const char *const toko_payable[] = { "payment:198600", "refund:49650", "release:24250" };
		static const char *const fees[] = { "commission:1500", "commission:1400", "refund:350", "commission:600",
						    "commission:750" };
		static const char *const sandbox[] = { "payment:65000", "payment:198600", "commission:1400",
						       "refund:49650",  "refund:350",     "payment:40000",
						       "refund:40000",  "payment:45000" };
		static const char *const refunds[] = { "refund:49650", "refund:350", "refund:40000" };
		static const char *const payouts[] = { "payout:48500", "payout:48500" };
		static const char *const warung_payments[] = { "payment:65000", "payment:40000", "payment:45000" };
		static const char *const courier[] = { "shipping:15000" };
		char id[33];
		json_t *attr;

		snprintf(q, sizeof(q), "from=%s&to=%s", t0, t_end);
		expect_journal(w, q, all, 17);
		expect_journal(w, "", all, 17);
		snprintf(q, sizeof(q), "to=%s", t_mid);
		expect_journal(w, q, all, 6);
		snprintf(q, sizeof(q), "from=%s", t_mid);
		expect_journal(w, q, all + 6, 11);
		snprintf(q, sizeof(q), "from=%s&to=%s", t_mid, t_mid2);
		expect_journal(w, q, all + 6, 4);
		snprintf(q, sizeof(q), "from=%s&to=%s", t_end, t_end);
		expect_error(w, AUDITOR, "/api/v1/audit/journal?from=2026-01-02&to=2026-01-01", 400, "invalid_range");
		snprintf(q, sizeof(q), "from=%s", t_end);
		expect_journal(w, q, NULL, 0);
		snprintf(q, sizeof(q), "store=%llu", (unsigned long long)w->warung);
		expect_journal(w, q, warung, 11);
		snprintf(q, sizeof(q), "store=%llu&from=%s", (unsigned long long)w->toko, t0);
		expect_journal(w, q, toko, 7);
		snprintf(q, sizeof(q), "account=merchant:%llu:payable", (unsigned long long)w->warung);
		expect_journal(w, q, warung_payable, 6);
		/* By id: the toko's payable account as the ledger names it. */
		snprintf(path, sizeof(path), "/api/v1/ledger/accounts/merchant:%llu:payable", (unsigned long long)w->toko);
		doc = call(w, AUDITOR, "GET", path, NULL, 200);
		snprintf(id, sizeof(id), "%s", apitest_str(doc, "id"));
		json_decref(doc);
		snprintf(q, sizeof(q), "account=%s", id);
		expect_journal(w, q, toko_payable, 3);
		expect_journal(w, "account=platform:fees", fees, 5);
		expect_journal(w, "provider=sandbox", sandbox, 8);
		expect_journal(w, "provider=xendit", NULL, 0);
		expect_journal(w, "reason=refund", refunds, 3);
		expect_journal(w, "reason=payout", payouts, 2);
		expect_journal(w, "reason=settlement", NULL, 0);
		snprintf(q, sizeof(q), "store=%llu&reason=payment", (unsigned long long)w->warung);
		expect_journal(w, q, warung_payments, 3);
		snprintf(q, sizeof(q), "courier=%llu", (unsigned long long)w->courier_id);
		expect_journal(w, q, courier, 1);
		expect_journal(w, "courier=jne", NULL, 0);

		/* What each entry is about. */
		snprintf(q, sizeof(q), "courier=%llu", (unsigned long long)w->courier_id);
		attr = only_attribution(w, q);
		assert_string_equal(apitest_str(attr, "kind"), "order");
		assert_int_equal(apitest_int(attr, "order_id"), journey);
		snprintf(id, sizeof(id), "%llu", (unsigned long long)w->courier_id);
		assert_string_equal(apitest_str(attr, "courier"), id);
		expect_stores(attr, w->warung, 0);
		json_decref(attr);
		snprintf(q, sizeof(q), "reason=payment&from=%s&to=%s&store=%llu", t_mid2, t_end, (unsigned long long)w->toko);
		attr = only_attribution(w, q);
		assert_string_equal(apitest_str(attr, "kind"), "payment");
		assert_string_equal(apitest_str(attr, "payment_kind"), "online");
		assert_string_equal(apitest_str(attr, "provider"), "sandbox");
		expect_stores(attr, w->warung, w->toko);
		json_decref(attr);
		snprintf(q, sizeof(q), "reason=payment&to=%s&store=%llu", t_mid, (unsigned long long)w->toko);
		attr = only_attribution(w, q);
		assert_string_equal(apitest_str(attr, "payment_kind"), "in_store");
		expect_stores(attr, w->toko, 0);
		json_decref(attr);
	}

	/* --- reports: whole WIB days and months holding the range, to the rupiah --- */
	{
		/* 4 captures; MDR 0.7% of 200,000 = 1,400, less the refund's share 350; commission 3% of each order's goods. */
		static const int64_t totals[FIG_N] = { 4, 350000, 2, 240000, 2, 110000, 2, 90000, 1050, 2850, 3900, 1, 48500 };
		static const int64_t warung[FIG_N] = { 3, 125000, 1, 40000, 2, 85000, 1, 40000, 0, 2100, 2100, 1, 48500 };
		static const int64_t toko[FIG_N] = { 2, 225000, 1, 200000, 1, 25000, 1, 50000, 1050, 750, 1800, 0, 0 };
		const char *periods[] = { "day", "month" };
		for (size_t i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "/api/v1/audit/reports?period=%s&from=%s&to=%s", periods[i], t0, t_end);
			doc = call(w, AUDITOR, "GET", path, NULL, 200);
			assert_string_equal(apitest_str(doc, "period"), periods[i]);
			assert_true(json_array_size(json_object_get(doc, "periods")) >= 1);
			expect_figs(doc, 0, NULL, totals);
			expect_figs(doc, w->warung, NULL, warung);
			expect_figs(doc, w->toko, NULL, toko);
			expect_figs(doc, 0, "makanan", warung);
			expect_figs(doc, 0, "kerajinan, \"asli\"", toko);
			json_decref(doc);
		}
		/* A day before anything happened: periods with nothing in them. */
		doc = call(w, ADMIN, "GET", "/api/v1/audit/reports?period=day&from=2026-01-01&to=2026-01-03", NULL, 200);
		assert_int_equal(json_array_size(json_object_get(doc, "periods")), 2);
		assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "periods"), 0), "period"), "2026-01-01");
		assert_string_equal(apitest_str(json_array_get(json_object_get(doc, "periods"), 1), "start"),
				    "2026-01-02T00:00:00.000+07:00");
		{
			static const int64_t none[FIG_N] = { 0 };
			expect_figs(doc, 0, NULL, none);
		}
		json_decref(doc);
	}

	/* --- the CSV form: a header, RFC 4180 quoting, the same figures --- */
	{
		const char *headers[] = { NULL, NULL };
		char auth[TOKEN_MAX + 32];
		struct testsrv_response resp;
		char *line, *save = NULL;
		int64_t sum[FIG_N] = { 0 };
		size_t lines = 0, store_rows = 0;
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->tok[AUDITOR]);
		headers[0] = auth;
		snprintf(path, sizeof(path), "/api/v1/audit/reports?period=day&from=%s&to=%s&format=csv", t0, t_end);
		assert_int_equal(testsrv_request(w->p.srv, "GET", path, headers, NULL, &resp), 0);
		assert_int_equal(resp.status, 200);
		assert_non_null(strstr(testsrv_header(&resp, "Content-Type"), "text/csv"));
		assert_non_null(strstr(testsrv_header(&resp, "Content-Disposition"), "audit-report-day-"));
		assert_non_null(strstr(resp.body, "\r\n"));
		for (line = strtok_r(resp.body, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save), lines++) {
			if (lines == 0) {
				assert_string_equal(line, "period,scope,store_id,store_name,category,payments,payments_value,"
							  "in_store,in_store_value,online,online_value,refunds,refunds_value,"
							  "mdr,commission,fees,payouts,payouts_value");
				continue;
			}
			if (strstr(line, ",all,,,,") == line + 10) {
				char *p = line + 10 + strlen(",all,,,,");
				for (int f = 0; f < FIG_N; f++) {
					sum[f] += strtoll(p, &p, 10);
					if (*p == ',')
						p++;
				}
			}
			if (strstr(line, ",store,")) {
				store_rows++;
				if (strstr(line, "Toko Budi"))
					assert_non_null(strstr(line, ",Toko Budi,\"kerajinan, \"\"asli\"\"\",2,225000,"));
			}
		}
		testsrv_response_free(&resp);
		assert_true(store_rows >= 2);
		assert_int_equal(sum[PAYMENTS_VALUE], 350000);
		assert_int_equal(sum[REFUNDS_VALUE], 90000);
		assert_int_equal(sum[FEES], 3900);
		assert_int_equal(sum[PAYOUTS_VALUE], 48500);
	}

	/* --- findings: each where it belongs, and only there --- */
	{
		const json_t *f;
		doc = findings(w, t0, t_end, 1, 1, 1, 2, 0);
		f = payment_finding(doc, "amount_mismatch", flagged);
		assert_int_equal(apitest_int(f, "amount"), 30000);
		assert_int_equal(apitest_int(f, "reported"), 29000);
		assert_int_equal(apitest_int(f, "merchant_id"), w->warung);
		f = payment_finding(doc, "late_payment_refunded", late);
		assert_int_equal(apitest_int(f, "refunded"), 40000);
		/* warung: 40,000 of 125,000 is 32%; toko's 50,000 of 225,000 (22.22%) is under 25%. */
		f = finding(doc, "refund_ratio", "merchant_id", (int64_t)w->warung);
		assert_int_equal(apitest_int(f, "ratio_bps"), 3200);
		assert_int_equal(apitest_int(f, "payments_value"), 125000);
		assert_int_equal(apitest_int(f, "refunds_value"), 40000);
		f = finding(doc, "completed_without_delivery", "order_id", (int64_t)group_w);
		assert_int_equal(apitest_int(f, "merchant_id"), w->warung);
		f = finding(doc, "completed_without_delivery", "order_id", (int64_t)group_t);
		assert_int_equal(apitest_int(f, "merchant_id"), w->toko);
		json_decref(doc);

		/* Phase 2 alone: no sales, a refund and a payout. */
		doc = findings(w, t_mid, t_mid2, 0, 0, 1, 0, 1);
		f = finding(doc, "refund_ratio", "merchant_id", (int64_t)w->toko);
		assert_true(json_is_null(json_object_get(f, "ratio_bps")));
		f = finding(doc, "payouts_over_sales", "merchant_id", (int64_t)w->warung);
		assert_int_equal(apitest_int(f, "payouts_value"), 48500);
		assert_int_equal(apitest_int(f, "sales_value"), 0);
		json_decref(doc);
		json_decref(findings(w, t_mid2, t_end, 1, 1, 1, 2, 0));
	}
	sandboxtest_pair_finish(&w->p);
}

/* Bad inputs are a clear 400 (unknown account or store: 404); only auditors and admins read. */
static void test_refusals(void **state)
{
	static const char *const bad[][2] = {
		{ "/api/v1/audit/journal?from=yesterday", "invalid_field" },
		{ "/api/v1/audit/journal?to=2026-13-01", "invalid_field" },
		{ "/api/v1/audit/journal?from=2026-11-28T10:00:00", "invalid_field" },
		{ "/api/v1/audit/journal?from=2026-11-28&to=2026-11-28", "invalid_range" },
		{ "/api/v1/audit/journal?from=2026-11-28&to=2026-11-27T16:59:59Z", "invalid_range" },
		{ "/api/v1/audit/journal?reason=gift", "invalid_field" },
		{ "/api/v1/audit/journal?cursor=abc", "invalid_field" },
		{ "/api/v1/audit/journal?cursor=0", "invalid_field" },
		{ "/api/v1/audit/journal?cursor=-1", "invalid_field" },
		{ "/api/v1/audit/journal?cursor=999999", "invalid_field" },
		{ "/api/v1/audit/journal?limit=0", "invalid_field" },
		{ "/api/v1/audit/journal?limit=501", "invalid_field" },
		{ "/api/v1/audit/journal?limit=1x", "invalid_field" },
		{ "/api/v1/audit/journal?store=abc", "invalid_field" },
		{ "/api/v1/audit/journal?courier=Kurir%201", "invalid_field" },
		{ "/api/v1/audit/journal?provider=Sandbox", "invalid_field" },
		{ "/api/v1/audit/reports?from=2026-11-01&to=2026-11-02", "invalid_field" },
		{ "/api/v1/audit/reports?period=week&from=2026-11-01&to=2026-11-02", "invalid_field" },
		{ "/api/v1/audit/reports?period=day&to=2026-11-02", "invalid_field" },
		{ "/api/v1/audit/reports?period=day&from=2026-11-01", "invalid_field" },
		{ "/api/v1/audit/reports?period=day&from=2026-11-02&to=2026-11-01", "invalid_range" },
		{ "/api/v1/audit/reports?period=day&from=2026-11-01&to=2026-11-02&format=xml", "invalid_field" },
		{ "/api/v1/audit/reports?period=day&from=2025-01-01&to=2026-01-03", "invalid_range" },
		{ "/api/v1/audit/reports?period=month&from=2024-01-01&to=2026-01-02", "invalid_range" },
		{ "/api/v1/audit/findings?from=2026-11-01", "invalid_field" },
		{ "/api/v1/audit/findings?from=2026-11-01&to=2026-10-01", "invalid_range" },
		{ "/api/v1/audit/findings?from=2025-01-01&to=2026-01-03", "invalid_range" },
	};
	static const char *const paths[] = { "/api/v1/audit/journal",
					     "/api/v1/audit/reports?period=day&from=2026-11-01&to=2026-11-02",
					     "/api/v1/audit/findings?from=2026-11-01&to=2026-11-02" };
	struct world *w = *state;
	world_start(w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(w, AUDITOR, bad[i][0], 400, bad[i][1]);
	expect_error(w, AUDITOR, "/api/v1/audit/journal?account=merchant:999:payable", 404, "not_found");
	expect_error(w, AUDITOR, "/api/v1/audit/journal?account=0123456789abcdef0123456789abcdef", 404, "not_found");
	expect_error(w, AUDITOR, "/api/v1/audit/journal?store=999", 404, "not_found");
	/* Limits at their edges are fine; a range of exactly 366 days and 24 months too. */
	json_decref(call(w, AUDITOR, "GET", "/api/v1/audit/journal?limit=500&cursor=1", NULL, 200));
	json_decref(call(w, AUDITOR, "GET", "/api/v1/audit/reports?period=day&from=2025-01-01&to=2026-01-02", NULL, 200));
	json_decref(call(w, AUDITOR, "GET", "/api/v1/audit/reports?period=month&from=2024-01-01&to=2025-12-31", NULL,
			 200));
	/* Months are WIB's: the middle of December to the first of February holds December and January. */
	{
		json_t *doc = call(w, AUDITOR, "GET", "/api/v1/audit/reports?period=month&from=2025-12-15&to=2026-02-01",
				   NULL, 200);
		const json_t *p = json_object_get(doc, "periods");
		assert_int_equal(json_array_size(p), 2);
		assert_string_equal(apitest_str(json_array_get(p, 0), "period"), "2025-12");
		assert_string_equal(apitest_str(json_array_get(p, 0), "start"), "2025-12-01T00:00:00.000+07:00");
		assert_string_equal(apitest_str(json_array_get(p, 1), "end"), "2026-02-01T00:00:00.000+07:00");
		assert_string_equal(apitest_str(doc, "from"), "2025-12-01T00:00:00.000+07:00");
		json_decref(doc);
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		json_decref(call(w, AUDITOR, "GET", paths[i], NULL, 200));
		json_decref(call(w, ADMIN, "GET", paths[i], NULL, 200));
		expect_error(w, SHOPPER, paths[i], 403, "forbidden");
		expect_error(w, SITI, paths[i], 403, "forbidden");
		expect_error(w, COURIER, paths[i], 403, "forbidden");
		expect_error(w, NOBODY, paths[i], 401, "unauthorized");
	}
	sandboxtest_pair_finish(&w->p);
}

/* POSTs n transfers of Rp 1 from test:a to test:b with `code`, ids from first on, in one request. */
static void transfers_add(const struct world *w, uint64_t first, size_t n, int code)
{
	json_t *list = json_array(), *body;
	char id[33];
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%032llx", (unsigned long long)(first + i));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:i}", "id", id, "debit_account_id",
						      "000000000000000000000000000000a1", "credit_account_id",
						      "000000000000000000000000000000b2", "amount", 1, "code", code));
	}
	body = json_pack("{s:o}", "transfers", list);
	json_decref(apitest_call_json(w->p.srv, w->tok[ADMIN], "POST", "/api/v1/ledger/transfers", body, 200));
}

/*
 * A journal request looks at AUDIT_JOURNAL_SCAN_MAX (5,000) entries at
 * most: a filter that matches nothing among more entries than that answers
 * with no entries and a cursor to go on, and the next page finds the match.
 */
static void test_scan_bound(void **state)
{
	struct world *w = *state;
	char path[PATH_MAX_LEN];
	const json_t *e;
	json_t *doc;
	world_start(w);
	json_decref(call(w, ADMIN, "POST", "/api/v1/ledger/accounts",
			 "{\"accounts\": [{\"id\": \"000000000000000000000000000000a1\", \"name\": \"test:a\", \"code\": 9},"
			 "{\"id\": \"000000000000000000000000000000b2\", \"name\": \"test:b\", \"code\": 9}]}",
			 200));
	transfers_add(w, 0x1000, 2600, 9);
	transfers_add(w, 0x2000, 2600, 9);
	transfers_add(w, 0x3000, 1, 7);
	doc = call(w, AUDITOR, "GET", "/api/v1/audit/journal?reason=settlement", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), 0);
	assert_int_equal(apitest_int(doc, "scanned"), 5000);
	assert_string_equal(apitest_str(doc, "next_cursor"), "5001");
	json_decref(doc);
	doc = call(w, AUDITOR, "GET", "/api/v1/audit/journal?reason=settlement&cursor=5001", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), 1);
	assert_int_equal(apitest_int(doc, "scanned"), 201);
	assert_true(json_is_null(json_object_get(doc, "next_cursor")));
	e = json_array_get(json_object_get(doc, "entries"), 0);
	assert_string_equal(apitest_str(e, "reason"), "settlement");
	assert_string_equal(apitest_str(json_object_get(e, "attribution"), "kind"), "other");
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/audit/journal?account=test:b&limit=500&cursor=%d", 5201);
	doc = call(w, AUDITOR, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), 1);
	json_decref(doc);
	sandboxtest_pair_finish(&w->p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_views, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_scan_bound, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
