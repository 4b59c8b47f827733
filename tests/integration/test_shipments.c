/*
 * Shipments over the wire: the real `bangsoleh serve` and the real
 * `bangsoleh-sandbox` (payments, and its Biteship-like courier API) on
 * loopback. Each test starts both (world_start): the sandbox with its
 * courier webhooks pointed at the server (`?token=`) and, unless a test
 * says otherwise, no automatic steps (--ship-step-ms 0: the test moves a
 * parcel with POST /simulate/shipment/{id}); the server with the test clock
 * and the courier module under test (`sandbox`, or `local` with a tariff of
 * its own), its store in a folder of the test's own so `bangsoleh ledger
 * verify` runs after it stopped. Users: an admin made with `bangsoleh user
 * add`, the others by the admin: shoppers ani (the buyer) and citra,
 * merchants siti (store A) and dedi (store B), couriers kurir and ojek, an
 * auditor. Every wait polls with a bound.
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
#define COURIER_TOKEN SANDBOXTEST_COURIER_TOKEN
#define COURIER_HOOK "/api/v1/webhooks/couriers/sandbox"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define ID_MAX 65
#define PATH_MAX_LEN 512
#define BODY_MAX 8192
#define WAIT_MS 30000             /* longest wait for something asynchronous to show */
#define WAIT_STEP_MS 50
#define RATE_TTL_S 1800           /* a rate token's life (SHIPMENTS_RATE_TTL_S) */
#define RETRY_MAX_S 601           /* past the longest backoff of a create (10 minutes) */
#define PIN_TRIES 5
#define SHIP_TO_POSTAL "40115"    /* the buyer's; the stores are at 40111 */
#define STORE_PHONE "+6281234567890"
#define BUYER_PHONE "+6281200001111"
/* The city's tariff the local tests set, and its arithmetic. */
#define LOCAL_FLAT 7000
#define LOCAL_PER_KM 1500
#define LOCAL_PER_KG 2500

enum who { NOBODY, ANI, CITRA, SITI, DEDI, KURIR, OJEK, AUDITOR, ADMIN, WHO_N };

struct world {
	struct sandboxtest_pair p;             /* the sandbox, the server, the store's folder */
	char tok[WHO_N][TOKEN_MAX];
	uint64_t uid[WHO_N];
	uint64_t store_a, store_b;
	unsigned keys;                       /* Idempotency-Keys handed out */
};

/* One line of a cart. */
struct line {
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

static void refused(const struct world *w, enum who who, const char *method, const char *path, const char *body,
		    int status, const char *code, const char *part)
{
	apitest_expect_error(w->p.srv, as(w, who), method, path, body, status, code, part);
}

/* A string member of a JSON document that may be absent: "" then. */
static const char *str_or_empty(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* A condition to wait for (arg lent); true when met. */
typedef bool (*cond_fn)(const struct world *w, const void *arg);

/* Polls cond until it holds, at most WAIT_MS; fails the test naming what it waited for. */
static void wait_until(const struct world *w, cond_fn cond, const void *arg, const char *what)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	while (!cond(w, arg)) {
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("waited %d ms in vain for %s", WAIT_MS, what);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/* What a condition looks for: in the document at path (the server's, as the admin), a member and a value. */
struct expect {
	const char *path, *key, *value;
};

/* The string member is the value. */
static bool member_is(const struct world *w, const void *arg)
{
	const struct expect *e = arg;
	json_t *doc = apitest_call(w->p.srv, w->tok[ADMIN], "GET", e->path, NULL, 200);
	bool met = strcmp(str_or_empty(doc, e->key), e->value) == 0;
	json_decref(doc);
	return met;
}

/* The string member holds the value. */
static bool member_holds(const struct world *w, const void *arg)
{
	const struct expect *e = arg;
	json_t *doc = apitest_call(w->p.srv, w->tok[ADMIN], "GET", e->path, NULL, 200);
	bool met = strstr(str_or_empty(doc, e->key), e->value) != NULL;
	json_decref(doc);
	return met;
}

/* An event of the timeline has its member key holding the value. */
static bool event_holds(const struct world *w, const void *arg)
{
	const struct expect *e = arg;
	json_t *doc = apitest_call(w->p.srv, w->tok[ADMIN], "GET", e->path, NULL, 200), *ev;
	bool met = false;
	size_t i;
	json_array_foreach(json_object_get(doc, "timeline"), i, ev) {
		met = met || strstr(str_or_empty(ev, e->key), e->value) != NULL;
	}
	json_decref(doc);
	return met;
}

/* Waits until GET path (as the admin) has its member key equal to want. */
static void wait_member(const struct world *w, const char *path, const char *key, const char *want)
{
	const struct expect e = { path, key, want };
	char what[PATH_MAX_LEN + 64];
	snprintf(what, sizeof(what), "%s of %s to be %s", key, path, want);
	wait_until(w, member_is, &e, what);
}

static void order_path(char *path, uint64_t id, const char *what)
{
	snprintf(path, PATH_MAX_LEN, "/api/v1/orders/%llu%s", (unsigned long long)id, what);
}

static json_t *order_get(const struct world *w, enum who who, uint64_t id)
{
	char path[PATH_MAX_LEN];
	order_path(path, id, "");
	return call(w, who, "GET", path, NULL, 200);
}

/* Waits until the order is in `state`; returns it. */
static json_t *wait_order(const struct world *w, uint64_t id, const char *state)
{
	char path[PATH_MAX_LEN];
	order_path(path, id, "");
	wait_member(w, path, "state", state);
	return order_get(w, ADMIN, id);
}

static void expect_order(const struct world *w, uint64_t id, const char *state)
{
	json_t *doc = order_get(w, ADMIN, id);
	assert_string_equal(apitest_str(doc, "state"), state);
	json_decref(doc);
}

/* POST /api/v1/orders/{id}/{action} as who; the order's state after it. */
static void order_act(const struct world *w, enum who who, uint64_t id, const char *action, const char *state)
{
	char path[PATH_MAX_LEN];
	json_t *doc;
	order_path(path, id, "/");
	strncat(path, action, PATH_MAX_LEN - strlen(path) - 1);
	doc = call(w, who, "POST", path, NULL, 200);
	assert_string_equal(apitest_str(doc, "state"), state);
	json_decref(doc);
}

static void shipment_path(char *path, const char *id, const char *what)
{
	snprintf(path, PATH_MAX_LEN, "/api/v1/shipments/%s%s", id, what);
}

static json_t *shipment_get(const struct world *w, const char *id)
{
	char path[PATH_MAX_LEN];
	shipment_path(path, id, "");
	return call(w, ADMIN, "GET", path, NULL, 200);
}

static void expect_shipment(const struct world *w, const char *id, const char *state)
{
	json_t *doc = shipment_get(w, id);
	assert_string_equal(apitest_str(doc, "state"), state);
	json_decref(doc);
}

/* The order's shipment id. OUT: id (ID_MAX). */
static void order_shipment(const struct world *w, uint64_t order, char *id)
{
	json_t *doc = order_get(w, ADMIN, order);
	snprintf(id, ID_MAX, "%s", apitest_str(doc, "shipment_id"));
	json_decref(doc);
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

static void expect_no_account(const struct world *w, const char *name)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/%s", name);
	json_decref(call(w, AUDITOR, "GET", path, NULL, 404));
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

/* --- the sandbox, with its courier side pointed at the server --- */

/* How many shipments the sandbox holds for our reference. */
static size_t sandbox_count(const struct world *w, const char *reference)
{
	json_t *doc = sandboxtest_call(&w->p.sb, "GET", "/simulate/shipments", NULL, 200), *s;
	size_t i, n = 0;
	json_array_foreach(json_object_get(doc, "shipments"), i, s) {
		n += strcmp(str_or_empty(s, "reference_id"), reference) == 0;
	}
	json_decref(doc);
	return n;
}

static bool sandbox_has(const struct world *w, const void *reference)
{
	return sandbox_count(w, reference) > 0;
}

/* The sandbox's view of the shipment whose reference_id is ours (its id), once it is there. */
static json_t *sandbox_shipment(const struct world *w, const char *reference)
{
	json_t *doc, *s, *found = NULL;
	size_t i;
	wait_until(w, sandbox_has, reference, "the sandbox to hold the shipment");
	doc = sandboxtest_call(&w->p.sb, "GET", "/simulate/shipments", NULL, 200);
	json_array_foreach(json_object_get(doc, "shipments"), i, s) {
		if (strcmp(str_or_empty(s, "reference_id"), reference) == 0)
			found = json_incref(s);
	}
	json_decref(doc);
	return found;
}

/* The sandbox has sent every webhook of the shipment (provider id): none queued or held. */
static bool sandbox_idle(const struct world *w, const void *provider_id)
{
	char path[PATH_MAX_LEN];
	json_t *doc;
	const json_t *n;
	bool idle;
	snprintf(path, sizeof(path), "/simulate/shipments/%s", (const char *)provider_id);
	doc = sandboxtest_call(&w->p.sb, "GET", path, NULL, 200);
	n = json_object_get(doc, "notifications");
	idle = apitest_int(n, "queued") == 0 && apitest_int(n, "held") == 0;
	json_decref(doc);
	return idle;
}

static void sandbox_settled(const struct world *w, const char *provider_id)
{
	wait_until(w, sandbox_idle, provider_id, "the sandbox to send its webhooks");
}

/* The parcel (provider id) moves to a Biteship status at the sandbox, which tells the server. */
static void sandbox_step(const struct world *w, const char *provider_id, const char *status)
{
	char path[PATH_MAX_LEN], body[64];
	snprintf(path, sizeof(path), "/simulate/shipment/%s", provider_id);
	snprintf(body, sizeof(body), "{\"status\":\"%s\"}", status);
	json_decref(sandboxtest_call(&w->p.sb, "POST", path, body, 200));
}

/* The shipment's state once the server has it. */
static void wait_shipment(const struct world *w, const char *id, const char *state)
{
	char path[PATH_MAX_LEN];
	shipment_path(path, id, "");
	wait_member(w, path, "state", state);
}

/*
 * Waits until the server has the shipment's create answered (the courier's
 * link kept) and the sandbox holds it. OUT: provider_id (ID_MAX).
 */
static void wait_sent(const struct world *w, const char *shipment, char *provider_id)
{
	char path[PATH_MAX_LEN];
	json_t *s = sandbox_shipment(w, shipment);
	const struct expect sent = { path, "link", provider_id };
	snprintf(provider_id, ID_MAX, "%s", apitest_str(s, "id"));
	json_decref(s);
	shipment_path(path, shipment, "");
	wait_until(w, member_holds, &sent, "the shipment to be sent to the courier");
	sandbox_settled(w, provider_id);
}

/* --- the world --- */

/* The admin makes a user; OUT: its sign-in. Returns its id. */
static uint64_t user_add(struct world *w, enum who who, const char *role, const char *username)
{
	json_t *doc = apitest_call_json(w->p.srv, w->tok[ADMIN], "POST", "/api/v1/users",
					json_pack("{s:s, s:s, s:s}", "username", username, "password", PASSWORD,
						  "role", role),
					201);
	w->uid[who] = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	apitest_login(w->p.srv, username, PASSWORD, w->tok[who]);
	return w->uid[who];
}

/* A store with an address and a phone (couriers need them), verified at once. */
static uint64_t store_add(const struct world *w, const char *name, enum who owner)
{
	json_t *doc = apitest_call_json(
		w->p.srv, w->tok[ADMIN], "POST", "/api/v1/admin/merchants",
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "name", name, "city", "BANDUNG", "postal_code",
			  "40111", "criteria", "UMI", "nmid", "ID1020021181745", "address", "Jl. Braga 12", "phone",
			  STORE_PHONE, "owner_user_id", (json_int_t)w->uid[owner]),
		201);
	uint64_t id = (uint64_t)apitest_int(doc, "id");
	assert_string_equal(apitest_str(doc, "status"), "verified");
	json_decref(doc);
	return id;
}

/*
 * Starts the sandbox and a server with the courier module `gateway`
 * ("sandbox" or "local") and, when `extra` is not NULL, one more setting
 * ("name=value").
 */
static void world_start_with(struct world *w, const char *gateway, int step_ms, const char *extra)
{
	char module[48], flat[48], per_km[48], per_kg[48], step[16];
	const char *env[] = { COST_ENV, NULL };
	const char *sandbox_args[] = { "--ship-step-ms", step, NULL };
	const char *args[] = { "--set", "test.clock_control=1", "--set", module, "--set", flat, "--set", per_km,
			       "--set", per_kg, extra ? "--set" : NULL, extra, NULL };
	struct testsrv at;

	snprintf(step, sizeof(step), "%d", step_ms);
	snprintf(module, sizeof(module), "courier.gateway=%s", gateway);
	snprintf(flat, sizeof(flat), "courier.local_flat=%d", LOCAL_FLAT);
	snprintf(per_km, sizeof(per_km), "courier.local_per_km=%d", LOCAL_PER_KM);
	snprintf(per_kg, sizeof(per_kg), "courier.local_per_kg=%d", LOCAL_PER_KG);
	sandboxtest_pair_start(&w->p, sandbox_args, args, env);
	at = *w->p.srv;
	snprintf(at.data_dir, sizeof(at.data_dir), "%s", w->p.data);
	apitest_user_add_cli(&at, env, "admin", "admin", PASSWORD);
	apitest_login(w->p.srv, "admin", PASSWORD, w->tok[ADMIN]);
	user_add(w, ANI, "shopper", "ani");
	user_add(w, CITRA, "shopper", "citra");
	user_add(w, SITI, "merchant", "siti");
	user_add(w, DEDI, "merchant", "dedi");
	user_add(w, KURIR, "courier", "kurir");
	user_add(w, OJEK, "courier", "ojek");
	user_add(w, AUDITOR, "auditor", "auditor");
	w->store_a = store_add(w, "Warung Bu Siti", SITI);
	w->store_b = store_add(w, "Toko Dedi", DEDI);
}

static void world_start(struct world *w, const char *gateway, int step_ms)
{
	world_start_with(w, gateway, step_ms, NULL);
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

/* --- goods, rates, checkouts --- */

static uint64_t product_add(const struct world *w, enum who who, uint64_t store, const char *title, int64_t price,
			    int64_t weight_g, int64_t stock)
{
	char path[PATH_MAX_LEN], body[BODY_MAX];
	json_t *p;
	uint64_t id;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)store);
	snprintf(body, sizeof(body),
		 "{\"title\":\"%s\",\"description\":\"Oleh-oleh\",\"price\":%lld,\"stock\":%lld,\"weight_g\":%lld,"
		 "\"category\":\"makanan\"}",
		 title, (long long)price, (long long)stock, (long long)weight_g);
	p = call(w, who, "POST", path, body, 201);
	id = (uint64_t)apitest_int(p, "id");
	json_decref(p);
	return id;
}

static json_t *items_json(const struct line *lines, size_t n)
{
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:I, s:I}", "product_id", (json_int_t)lines[i].product_id,
						       "quantity", (json_int_t)lines[i].qty));
	return items;
}

/* The body of a rates request for a store's lines to a postal code. The caller frees it. */
static char *rates_body(uint64_t store, const struct line *lines, size_t n, const char *postal)
{
	json_t *b = json_pack("{s:I, s:o, s:{s:s, s:s}}", "merchant_id", (json_int_t)store, "items",
			      items_json(lines, n), "ship_to", "postal_code", postal, "address", "Jl. Merdeka 5");
	char *text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	assert_non_null(text);
	return text;
}

/* The rates of a store's lines to postal: {"rates": [...]} (public: no sign-in). */
static json_t *rates(const struct world *w, uint64_t store, const struct line *lines, size_t n, const char *postal)
{
	char *body = rates_body(store, lines, n, postal);
	json_t *doc = call(w, NOBODY, "POST", "/api/v1/shipping/rates", body, 200);
	free(body);
	assert_int_equal(apitest_int(doc, "merchant_id"), store);
	assert_int_equal(apitest_int(doc, "valid_for_s"), RATE_TTL_S);
	return doc;
}

/* The rate of courier/service in a rates answer (lent by it); fails the test without one. */
static const json_t *rate_of(const json_t *doc, const char *courier, const char *service)
{
	const json_t *r;
	size_t i;
	json_array_foreach(json_object_get(doc, "rates"), i, r) {
		if (strcmp(apitest_str(r, "courier_code"), courier) == 0 &&
		    strcmp(apitest_str(r, "service_code"), service) == 0)
			return r;
	}
	fail_msg("no rate for %s %s", courier, service);
	return NULL;
}

/* A checkout body: lines to SHIP_TO_POSTAL (or postal), shipping {store: token} when token is not NULL. */
static char *checkout_body(const struct line *lines, size_t n, const char *postal, uint64_t store, const char *token)
{
	json_t *b = json_pack("{s:o, s:{s:s, s:s, s:s, s:s, s:s}}", "items", items_json(lines, n), "ship_to", "name",
			      "Ani Lestari", "phone", BUYER_PHONE, "address", "Jl. Merdeka 5", "city", "Bandung",
			      "postal_code", postal);
	char key[32], *text;
	if (token) {
		snprintf(key, sizeof(key), "%llu", (unsigned long long)store);
		json_object_set_new(b, "shipping", json_pack("{s:s}", key, token));
	}
	text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	assert_non_null(text);
	return text;
}

/* A checkout by ani answering status (and, for an error, code); returns the body. */
static json_t *checkout(struct world *w, const char *body, int status, const char *code)
{
	char key[32];
	json_t *doc;
	snprintf(key, sizeof(key), "ship-key-%u", ++w->keys);
	doc = apitest_call_keyed(w->p.srv, w->tok[ANI], "POST", "/api/v1/checkout", key, body, status);
	if (code)
		assert_string_equal(apitest_str(json_object_get(doc, "error"), "code"), code);
	return doc;
}

/* A checkout with a courier's rate that must be refused 422 invalid_rate. */
static void checkout_bad_rate(struct world *w, const struct line *lines, size_t n, const char *postal, uint64_t store,
			      const char *token)
{
	char *body = checkout_body(lines, n, postal, store, token);
	json_decref(checkout(w, body, 422, "invalid_rate"));
	free(body);
}

/*
 * Ani buys the lines of one store with the rate `token` (priced `fee`) and
 * pays; the order, its fee and total checked. OUT: payment (ID_MAX).
 * Returns the order's id.
 */
static uint64_t buy_shipped(struct world *w, const struct line *lines, size_t n, uint64_t store, const char *token,
			    int64_t goods, int64_t fee, char *payment)
{
	char *body = checkout_body(lines, n, SHIP_TO_POSTAL, store, token);
	json_t *g = checkout(w, body, 201, NULL), *doc;
	const json_t *ord = json_array_get(json_object_get(g, "orders"), 0);
	uint64_t id = (uint64_t)apitest_int(ord, "id");
	free(body);
	assert_int_equal(apitest_int(ord, "subtotal"), goods);
	assert_int_equal(apitest_int(ord, "shipping_fee"), fee);
	assert_int_equal(apitest_int(ord, "total"), goods + fee);
	assert_int_equal(apitest_int(g, "total"), goods + fee);
	assert_int_equal(apitest_int(json_object_get(g, "payment"), "amount"), goods + fee);
	assert_true(json_is_null(json_object_get(ord, "shipment_id")));
	snprintf(payment, ID_MAX, "%s", apitest_str(g, "payment_id"));
	json_decref(g);
	sandboxtest_pay(&w->p.sb, payment, 0);
	doc = wait_order(w, id, "paid");
	json_decref(doc);
	return id;
}

/* Waits until the order is refunded in full (amount) at the server and at the sandbox. */
static void wait_refunded(const struct world *w, uint64_t id, const char *payment, int64_t amount)
{
	json_t *doc = wait_order(w, id, "refunded"), *c;
	assert_int_equal(apitest_int(doc, "refunded"), amount);
	assert_int_equal(apitest_int(doc, "refund_pending"), 0);
	json_decref(doc);
	c = sandboxtest_charge(&w->p.sb, payment);
	assert_int_equal(apitest_int(c, "refunded_amount"), amount);
	json_decref(c);
}

/* --- webhooks sent by the test itself --- */

/* POSTs a raw courier webhook to path (query included); OUT: *status. Returns the body as JSON (or NULL). */
static json_t *hook_raw(const struct world *w, const char *path, const char *body, int *status)
{
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct testsrv_response resp;
	json_t *doc;
	assert_int_equal(testsrv_request(w->p.srv, "POST", path, headers, body, &resp), 0);
	*status = resp.status;
	doc = json_loadb(resp.body, resp.body_len, 0, NULL);
	testsrv_response_free(&resp);
	return doc;
}

/* An order.status webhook for the provider's order, as the company sends it; answers `result`. */
static void hook_status(const struct world *w, const char *provider_id, const char *status, const char *result)
{
	char body[BODY_MAX];
	int got;
	json_t *doc;
	snprintf(body, sizeof(body),
		 "{\"event\":\"order.status\",\"order_id\":\"%s\",\"courier_tracking_id\":\"trk-1\","
		 "\"courier_waybill_id\":\"WYB-1001\",\"courier_company\":\"jne\",\"courier_type\":\"reg\","
		 "\"courier_driver_name\":\"Uda Rizal\",\"courier_driver_phone\":\"08127770001\","
		 "\"courier_driver_plate_number\":\"BA 1234 XY\",\"order_price\":18010,\"status\":\"%s\"}",
		 provider_id, status);
	doc = hook_raw(w, COURIER_HOOK "?token=" COURIER_TOKEN, body, &got);
	if (got != 200 || strcmp(str_or_empty(doc, "result"), result) != 0)
		fail_msg("webhook %s %s: status %d result \"%s\", want 200 \"%s\"", provider_id, status, got,
			 str_or_empty(doc, "result"), result);
	json_decref(doc);
}

static void hook_refused(const struct world *w, const char *path, const char *body, int status, const char *code)
{
	int got;
	json_t *doc = hook_raw(w, path, body, &got);
	if (got != status || strcmp(str_or_empty(json_object_get(doc, "error"), "code"), code) != 0)
		fail_msg("webhook to %s: status %d, want %d %s", path, got, status, code);
	json_decref(doc);
}

/* --- 1. a courier company's journey --- */

/*
 * Store A ships through the sandbox's couriers: rates, checkout with one,
 * the fee in the order and the payment; confirm sends the shipment; the
 * company's statuses move the order; completion pays the courier's fee.
 */
static void test_company_journey(void **state)
{
	struct world *w = *state;
	/* 2 x 600 g + 300 g = 1.5 kg: 2 started kg; 40111 to 40115: 1 km (the sandbox's own arithmetic). */
	const int64_t goods = 2 * 85000 + 25000, fee = 9000 + 10 * 1 + 9000 * (2 - 1);
	char payment[ID_MAX], shipment[ID_MAX], provider[ID_MAX], path[PATH_MAX_LEN], name[64];
	uint64_t p1, p2, id;
	json_t *doc, *sb;
	const json_t *r;
	size_t i;

	world_start(w, "sandbox", 0);
	p1 = product_add(w, SITI, w->store_a, "Rendang Daging", 85000, 600, 10);
	p2 = product_add(w, SITI, w->store_a, "Keripik Balado", 25000, 300, 10);
	const struct line cart[] = { { p1, 2 }, { p2, 1 } };
	doc = rates(w, w->store_a, cart, 2, SHIP_TO_POSTAL);
	assert_true(json_array_size(json_object_get(doc, "rates")) >= 2);
	json_array_foreach(json_object_get(doc, "rates"), i, r) {
		assert_true(apitest_int(r, "price") > 0);
		assert_true(strlen(apitest_str(r, "rate_token")) > 0);
		assert_true(strlen(apitest_str(r, "courier_name")) > 0);
	}
	/* Gojek's instant service needs coordinates, which neither place has. */
	assert_true(apitest_int(rate_of(doc, "sicepat", "reg"), "price") > 0);
	r = rate_of(doc, "jne", "reg");
	assert_int_equal(apitest_int(r, "price"), fee);
	id = buy_shipped(w, cart, 2, w->store_a, apitest_str(r, "rate_token"), goods, fee, payment);
	json_decref(doc);
	doc = order_get(w, ANI, id);
	assert_string_equal(apitest_str(json_object_get(doc, "courier"), "courier_code"), "jne");
	assert_true(json_object_get(doc, "delivery_pin") == NULL);
	json_decref(doc);

	/* Confirm makes the shipment; the sweep sends it with reference_id = its id. */
	order_act(w, SITI, id, "confirm", "confirmed");
	order_shipment(w, id, shipment);
	assert_int_equal(strlen(shipment), 32);
	wait_sent(w, shipment, provider);
	assert_int_equal(sandbox_count(w, shipment), 1);
	sb = sandbox_shipment(w, shipment);
	assert_string_equal(apitest_str(sb, "courier_company"), "jne");
	assert_string_equal(apitest_str(sb, "courier_type"), "reg");
	assert_int_equal(apitest_int(sb, "price"), fee);
	json_decref(sb);
	order_path(path, id, "/tracking");
	doc = call(w, ANI, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(doc, "state"), "confirmed");
	assert_string_equal(apitest_str(json_object_get(doc, "shipment"), "id"), shipment);
	assert_string_equal(apitest_str(json_object_get(doc, "shipment"), "state"), "pending");
	assert_int_equal(apitest_int(json_object_get(doc, "shipment"), "fee"), fee);
	assert_int_equal(apitest_int(json_object_get(doc, "shipment"), "weight_g"), 1500);
	assert_true(json_object_get(doc, "delivery_pin") == NULL);
	json_decref(doc);

	/* The company's statuses: allocated, picking_up, picked (shipped), dropping_off, delivered. */
	sandbox_step(w, provider, "allocated");
	wait_shipment(w, shipment, "allocated");
	sandbox_step(w, provider, "picking_up");
	wait_shipment(w, shipment, "picking_up");
	expect_order(w, id, "confirmed");
	sandbox_step(w, provider, "picked");
	json_decref(wait_order(w, id, "shipped"));
	expect_shipment(w, shipment, "picked");
	sandbox_step(w, provider, "dropping_off");
	wait_shipment(w, shipment, "in_transit");
	expect_order(w, id, "shipped");
	sandbox_step(w, provider, "delivered");
	json_decref(wait_order(w, id, "delivered"));
	sandbox_settled(w, provider);
	doc = call(w, SITI, "GET", path, NULL, 200);
	r = json_object_get(doc, "shipment");
	assert_string_equal(apitest_str(r, "state"), "delivered");
	assert_string_equal(apitest_str(r, "driver_name"), "Budi Santoso");
	assert_string_equal(apitest_str(r, "plate"), "BA 1234 XY");
	assert_true(strncmp(apitest_str(r, "waybill"), "SBX", 3) == 0);
	json_decref(doc);

	/* Nothing is released before the buyer has the goods; then each share exactly. */
	expect_account(w, "escrow", goods + fee, 0);
	expect_no_account(w, "courier:sandbox:payable");
	order_act(w, ANI, id, "receive", "completed");
	snprintf(name, sizeof(name), "merchant:%llu:payable", (unsigned long long)w->store_a);
	expect_account(w, name, goods - commission(goods), 0);
	expect_account(w, "platform:fees", commission(goods), 0);
	expect_account(w, "courier:sandbox:payable", fee, 0);
	expect_account(w, "escrow", goods + fee, goods + fee);
	assert_int_equal(stock_of(w, p1), 8);
	assert_int_equal(stock_of(w, p2), 9);
	world_finish(w);
}

/* --- 2. the city's couriers --- */

/* Two couriers accept the job at once: both requests are sent before either answer is read. */
static void accept_race(const struct world *w, const char *shipment)
{
	const enum who racers[2] = { KURIR, OJEK };
	int fds[2], taken = 0, won = 0;
	for (int i = 0; i < 2; i++) {
		char req[1024];
		int n = snprintf(req, sizeof(req),
				 "POST /api/v1/shipments/%s/accept HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
				 "Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n",
				 shipment, w->tok[racers[i]]);
		assert_true(n > 0 && n < (int)sizeof(req));
		assert_int_equal(testsrv_connect(w->p.srv, &fds[i]), 0);
		assert_int_equal(testsrv_send(fds[i], req, (size_t)n), 0);
	}
	for (int i = 0; i < 2; i++) {
		struct testsrv_response resp;
		json_t *doc;
		assert_int_equal(testsrv_read_response(fds[i], &resp), 0);
		close(fds[i]);
		doc = json_loadb(resp.body, resp.body_len, 0, NULL);
		if (resp.status == 200) {
			won++;
			assert_string_equal(apitest_str(doc, "state"), "allocated");
		} else if (resp.status == 409 && testsrv_error_is(&resp, "job_taken")) {
			taken++;
		} else {
			fail_msg("accept by courier %d: status %d: %.300s", i, resp.status, resp.body);
		}
		json_decref(doc);
		testsrv_response_free(&resp);
	}
	assert_int_equal(won, 1);
	assert_int_equal(taken, 1);
}

/* The courier's status update answers 200 and leaves the shipment in `state`. */
static void courier_move(const struct world *w, enum who who, const char *shipment, const char *body,
			 const char *state)
{
	char path[PATH_MAX_LEN];
	json_t *doc;
	shipment_path(path, shipment, "/status");
	doc = call(w, who, "POST", path, body, 200);
	assert_string_equal(apitest_str(doc, "state"), state);
	json_decref(doc);
}

/* The local job of the order: offered, listed for couriers, taken by one of two; returns who took it. */
static enum who local_take(const struct world *w, uint64_t order, char *shipment)
{
	char path[PATH_MAX_LEN];
	const json_t *job;
	json_t *doc;
	size_t i;
	bool listed = false;
	order_act(w, SITI, order, "confirm", "confirmed");
	order_shipment(w, order, shipment);
	expect_shipment(w, shipment, "pending");
	doc = call(w, KURIR, "GET", "/api/v1/courier/jobs?lat_e6=-6917464&lng_e6=107619123", NULL, 200);
	json_array_foreach(json_object_get(doc, "jobs"), i, job) {
		if (strcmp(apitest_str(job, "id"), shipment) == 0) {
			listed = true;
			assert_string_equal(apitest_str(job, "module"), "local");
			/* Neither the store nor the buyer has coordinates: the distance is unknown. */
			assert_true(json_is_null(json_object_get(job, "distance_m")));
		}
	}
	assert_true(listed);
	json_decref(doc);
	accept_race(w, shipment);
	doc = shipment_get(w, shipment);
	assert_string_equal(apitest_str(doc, "state"), "allocated");
	enum who taker = (uint64_t)apitest_int(doc, "courier_user_id") == w->uid[KURIR] ? KURIR : OJEK;
	assert_int_equal(apitest_int(doc, "courier_user_id"), w->uid[taker]);
	json_decref(doc);
	/* Taken jobs leave the list. */
	doc = call(w, OJEK, "GET", "/api/v1/courier/jobs", NULL, 200);
	json_array_foreach(json_object_get(doc, "jobs"), i, job) {
		assert_string_not_equal(apitest_str(job, "id"), shipment);
	}
	json_decref(doc);
	shipment_path(path, shipment, "/accept");
	refused(w, taker == KURIR ? OJEK : KURIR, "POST", path, NULL, 409, "job_taken", NULL);
	return taker;
}

/* The buyer's PIN of the order, shown to the buyer alone (order and tracking). OUT: pin (7). */
static void buyer_pin(const struct world *w, uint64_t order, char *pin)
{
	char path[PATH_MAX_LEN];
	json_t *doc = order_get(w, ANI, order);
	snprintf(pin, 7, "%s", apitest_str(doc, "delivery_pin"));
	assert_int_equal(strlen(pin), 6);
	json_decref(doc);
	order_path(path, order, "/tracking");
	doc = call(w, ANI, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(doc, "delivery_pin"), pin);
	json_decref(doc);
	for (size_t i = 0; i < 3; i++) {
		const enum who others[3] = { SITI, AUDITOR, ADMIN };
		doc = order_get(w, others[i], order);
		assert_null(json_object_get(doc, "delivery_pin"));
		json_decref(doc);
		doc = call(w, others[i], "GET", path, NULL, 200);
		assert_null(json_object_get(doc, "delivery_pin"));
		json_decref(doc);
	}
}

/*
 * courier.gateway=local: the rate is the city's tariff; confirm offers the
 * job; one of two couriers racing gets it; pickup ships the order; PINs;
 * on hold after five wrong ones; the admin moves it on; delivery with the
 * right PIN; completion pays the courier who delivered.
 */
static void test_local_journey(void **state)
{
	struct world *w = *state;
	/* 2 x 1200 g + 700 g = 3.1 kg: 3 started kg beyond the first; no coordinates: no distance. */
	const int64_t goods = 2 * 40000 + 15000, fee = LOCAL_FLAT + 3 * LOCAL_PER_KG;
	char payment[ID_MAX], shipment[ID_MAX], path[PATH_MAX_LEN], body[128], pin[7], wrong[7], name[64];
	uint64_t p1, p2, id;
	enum who taker, other;
	const json_t *r;
	json_t *doc;

	world_start(w, "local", 0);
	p1 = product_add(w, SITI, w->store_a, "Bika Ambon", 40000, 1200, 10);
	p2 = product_add(w, SITI, w->store_a, "Kue Balok", 15000, 700, 10);
	const struct line cart[] = { { p1, 2 }, { p2, 1 } };
	doc = rates(w, w->store_a, cart, 2, SHIP_TO_POSTAL);
	assert_int_equal(json_array_size(json_object_get(doc, "rates")), 1);
	r = rate_of(doc, "local", "ojek");
	assert_int_equal(apitest_int(r, "price"), fee);
	id = buy_shipped(w, cart, 2, w->store_a, apitest_str(r, "rate_token"), goods, fee, payment);
	json_decref(doc);

	taker = local_take(w, id, shipment);
	other = taker == KURIR ? OJEK : KURIR;
	shipment_path(path, shipment, "/status");
	courier_move(w, taker, shipment, "{\"status\":\"picking_up\"}", "picking_up");
	refused(w, other, "POST", path, "{\"status\":\"picked\"}", 403, "forbidden", NULL);
	expect_order(w, id, "confirmed");
	courier_move(w, taker, shipment, "{\"status\":\"picked\",\"note\":\"diambil\"}", "picked");
	expect_order(w, id, "shipped");
	courier_move(w, taker, shipment, "{\"status\":\"in_transit\"}", "in_transit");
	/* Forward only. */
	refused(w, taker, "POST", path, "{\"status\":\"picking_up\"}", 409, "invalid_state", NULL);

	buyer_pin(w, id, pin);
	snprintf(wrong, sizeof(wrong), "%c%s", pin[0] == '9' ? '0' : pin[0] + 1, pin + 1);
	snprintf(body, sizeof(body), "{\"status\":\"delivered\",\"pin\":\"%s\"}", wrong);
	for (int i = 1; i < PIN_TRIES; i++) {
		char left[32];
		snprintf(left, sizeof(left), "%d tries left", PIN_TRIES - i);
		refused(w, taker, "POST", path, body, 422, "wrong_pin", left);
		expect_shipment(w, shipment, "in_transit");
	}
	refused(w, taker, "POST", path, body, 409, "on_hold", NULL);
	expect_shipment(w, shipment, "on_hold");
	expect_order(w, id, "shipped");
	/* On hold, even the right PIN does not deliver: an admin moves it on first. */
	snprintf(body, sizeof(body), "{\"status\":\"delivered\",\"pin\":\"%s\"}", pin);
	refused(w, taker, "POST", path, body, 409, "on_hold", NULL);
	courier_move(w, ADMIN, shipment, "{\"status\":\"in_transit\",\"note\":\"buyer called\"}", "in_transit");
	courier_move(w, taker, shipment, body, "delivered");
	doc = wait_order(w, id, "delivered");
	json_decref(doc);

	snprintf(name, sizeof(name), "courier:%llu:payable", (unsigned long long)w->uid[taker]);
	expect_no_account(w, name);
	order_act(w, ANI, id, "receive", "completed");
	expect_account(w, name, fee, 0);
	snprintf(name, sizeof(name), "courier:%llu:payable", (unsigned long long)w->uid[other]);
	expect_no_account(w, name);
	snprintf(name, sizeof(name), "merchant:%llu:payable", (unsigned long long)w->store_a);
	expect_account(w, name, goods - commission(goods), 0);
	expect_account(w, "platform:fees", commission(goods), 0);
	expect_account(w, "escrow", goods + fee, goods + fee);
	world_finish(w);
}

/* --- 3. faults --- */

/* An order of store A with a jne/reg courier: its ids and sums. */
struct sent_order {
	uint64_t id, product;
	int64_t goods, fee;
	char payment[ID_MAX], shipment[ID_MAX], provider[ID_MAX];
};

/* A store's order of one product with the jne/reg courier, paid, not confirmed. OUT: its ids and sums. */
static void paid_order(struct world *w, const char *title, struct sent_order *o)
{
	json_t *doc;
	const json_t *r;
	o->product = product_add(w, SITI, w->store_a, title, 30000, 500, 5);
	const struct line cart[] = { { o->product, 1 } };
	doc = rates(w, w->store_a, cart, 1, SHIP_TO_POSTAL);
	r = rate_of(doc, "jne", "reg");
	o->goods = 30000;
	o->fee = apitest_int(r, "price");
	o->id = buy_shipped(w, cart, 1, w->store_a, apitest_str(r, "rate_token"), o->goods, o->fee, o->payment);
	json_decref(doc);
}

/* A paid and confirmed order, sent to the sandbox. OUT: its ids. */
static void sent_order(struct world *w, const char *title, struct sent_order *o)
{
	paid_order(w, title, o);
	order_act(w, SITI, o->id, "confirm", "confirmed");
	order_shipment(w, o->id, o->shipment);
	wait_sent(w, o->shipment, o->provider);
	assert_int_equal(stock_of(w, o->product), 4);
}

/* The shipment's timeline_total now. */
static int64_t events_of(const struct world *w, const char *shipment)
{
	json_t *doc = shipment_get(w, shipment);
	int64_t n = apitest_int(doc, "timeline_total");
	json_decref(doc);
	return n;
}

/* Waits until the shipment's timeline holds an event whose member key (note, source) holds part. */
static void wait_event(const struct world *w, const char *shipment, const char *key, const char *part)
{
	char path[PATH_MAX_LEN];
	const struct expect e = { path, key, part };
	shipment_path(path, shipment, "");
	wait_until(w, event_holds, &e, part);
}

/* Webhooks that repeat, come late, are forged, go to another provider or do not parse. */
static void test_webhook_faults(void **state)
{
	struct world *w = *state;
	struct sent_order o;
	char path[PATH_MAX_LEN];
	int64_t before;

	world_start(w, "sandbox", 0);
	sent_order(w, "Sate Padang", &o);

	/* The sandbox sends each of this parcel's webhooks three times: the copies change nothing. */
	sandboxtest_fault(&w->p.sb, o.provider, "\"duplicates\":2");
	before = events_of(w, o.shipment);
	sandbox_step(w, o.provider, "allocated");
	sandbox_settled(w, o.provider);
	wait_shipment(w, o.shipment, "allocated");
	/* allocated and the waybill: two events, whatever the copies. */
	assert_int_equal(events_of(w, o.shipment), before + 2);
	sandboxtest_fault(&w->p.sb, o.provider, "\"duplicates\":0");

	/* Our own copies: applied once, then duplicate. */
	hook_status(w, o.provider, "picked", "applied");
	json_decref(wait_order(w, o.id, "shipped"));
	before = events_of(w, o.shipment);
	hook_status(w, o.provider, "picked", "duplicate");
	hook_status(w, o.provider, "picked", "duplicate");
	assert_int_equal(events_of(w, o.shipment), before);
	/* Skipping dropping_off is allowed: forward is forward. */
	hook_status(w, o.provider, "delivered", "applied");
	json_decref(wait_order(w, o.id, "delivered"));
	/* A late report is kept in the timeline and moves nothing. */
	hook_status(w, o.provider, "dropping_off", "recorded");
	hook_status(w, o.provider, "allocated", "duplicate");
	expect_shipment(w, o.shipment, "delivered");
	expect_order(w, o.id, "delivered");
	wait_event(w, o.shipment, "note", "in_transit reported; stays delivered");

	/* Forged, another provider, unknown parcel, malformed: nothing recorded. */
	before = events_of(w, o.shipment);
	snprintf(path, sizeof(path), "{\"event\":\"order.status\",\"order_id\":\"%s\",\"status\":\"returned\"}",
		 o.provider);
	hook_refused(w, COURIER_HOOK "?token=not-" COURIER_TOKEN, path, 401, "invalid_token");
	hook_refused(w, COURIER_HOOK, path, 401, "invalid_token");
	hook_refused(w, "/api/v1/webhooks/couriers/biteship?token=" COURIER_TOKEN, path, 404, "not_found");
	hook_refused(w, COURIER_HOOK "?token=" COURIER_TOKEN,
		     "{\"event\":\"order.status\",\"order_id\":\"000000000000000000000000\",\"status\":\"picked\"}", 404,
		     "not_found");
	hook_refused(w, COURIER_HOOK "?token=" COURIER_TOKEN, "{\"event\":\"order.status\",", 400,
		     "invalid_notification");
	hook_refused(w, COURIER_HOOK "?token=" COURIER_TOKEN,
		     "{\"event\":\"order.status\",\"order_id\":\"abc\",\"status\":\"teleported\"}", 400,
		     "invalid_notification");
	hook_refused(w, COURIER_HOOK "?token=" COURIER_TOKEN, "[1,2]", 400, "invalid_notification");
	assert_int_equal(events_of(w, o.shipment), before);
	expect_shipment(w, o.shipment, "delivered");
	/* A verified empty body is the company's installation test. */
	{
		int got;
		json_t *doc = hook_raw(w, COURIER_HOOK "?token=" COURIER_TOKEN, "", &got);
		assert_int_equal(got, 200);
		assert_string_equal(apitest_str(doc, "result"), "ignored");
		json_decref(doc);
	}
	order_act(w, ANI, o.id, "receive", "completed");
	expect_account(w, "courier:sandbox:payable", o.fee, 0);
	world_finish(w);
}

/*
 * The courier company is down when the shipment is to be made: the order
 * stays confirmed and the shipment pending; once it is back, the sweep's
 * next try makes it, once.
 */
static void test_company_down(void **state)
{
	struct world *w = *state;
	char payment[ID_MAX], shipment[ID_MAX], provider[ID_MAX];
	const json_t *r;
	json_t *doc;
	uint64_t p, id;

	world_start(w, "sandbox", 0);
	p = product_add(w, SITI, w->store_a, "Dendeng Batokok", 60000, 400, 5);
	const struct line cart[] = { { p, 1 } };
	doc = rates(w, w->store_a, cart, 1, SHIP_TO_POSTAL);
	r = rate_of(doc, "sicepat", "reg");
	id = buy_shipped(w, cart, 1, w->store_a, apitest_str(r, "rate_token"), 60000, apitest_int(r, "price"), payment);
	json_decref(doc);
	/* Every API call answers 500 from now on (retries included) until the fault is cleared. */
	sandboxtest_fault(&w->p.sb, "global", "\"http_500\":1000");
	order_act(w, SITI, id, "confirm", "confirmed");
	order_shipment(w, id, shipment);
	wait_event(w, shipment, "note", "courier did not answer (try 1)");
	expect_shipment(w, shipment, "pending");
	expect_order(w, id, "confirmed");
	assert_int_equal(sandbox_count(w, shipment), 0);
	json_decref(sandboxtest_call(&w->p.sb, "DELETE", "/simulate/faults", NULL, 200));
	/* The next try is due after a backoff on the server's clock. */
	clock_advance(w, RETRY_MAX_S);
	wait_sent(w, shipment, provider);
	wait_event(w, shipment, "note", "sent to the courier");
	assert_int_equal(sandbox_count(w, shipment), 1);
	expect_shipment(w, shipment, "pending");
	expect_order(w, id, "confirmed");
	sandbox_step(w, provider, "picked");
	json_decref(wait_order(w, id, "shipped"));
	/* Later sweeps (polls) make nothing twice. */
	clock_advance(w, RETRY_MAX_S);
	wait_event(w, shipment, "source", "poll");
	assert_int_equal(sandbox_count(w, shipment), 1);
	world_finish(w);
}

/* Parcels that come back or find no courier: the order is cancelled and refunded in full, the stock back. */
static void test_returned_and_failed(void **state)
{
	struct world *w = *state;
	struct sent_order back, none;

	world_start(w, "sandbox", 0);
	sent_order(w, "Galamai", &back);
	sent_order(w, "Kipang Kacang", &none);

	/* Picked up, then returned to the store. */
	sandbox_step(w, back.provider, "picked");
	json_decref(wait_order(w, back.id, "shipped"));
	sandbox_step(w, back.provider, "return_in_transit");
	wait_shipment(w, back.shipment, "returning");
	expect_order(w, back.id, "shipped");
	/* Held on the way back, it is never out again: a report of delivery would release the escrow. */
	sandbox_step(w, back.provider, "on_hold");
	wait_shipment(w, back.shipment, "on_hold");
	hook_status(w, back.provider, "dropping_off", "recorded");
	hook_status(w, back.provider, "delivered", "recorded");
	hook_status(w, back.provider, "picked", "duplicate");
	expect_shipment(w, back.shipment, "on_hold");
	expect_order(w, back.id, "shipped");
	/* Off hold it goes on back, though that status was told before the hold. */
	hook_status(w, back.provider, "return_in_transit", "applied");
	hook_status(w, back.provider, "return_in_transit", "duplicate");
	expect_shipment(w, back.shipment, "returning");
	sandbox_step(w, back.provider, "returned");
	wait_shipment(w, back.shipment, "returned");
	wait_refunded(w, back.id, back.payment, back.goods + back.fee);
	assert_int_equal(stock_of(w, back.product), 5);

	/* No courier found before pickup. */
	sandbox_step(w, none.provider, "courier_not_found");
	wait_shipment(w, none.shipment, "failed");
	wait_refunded(w, none.id, none.payment, none.goods + none.fee);
	assert_int_equal(stock_of(w, none.product), 5);
	/* A report after the end changes nothing. */
	hook_status(w, none.provider, "delivered", "recorded");
	expect_shipment(w, none.shipment, "failed");
	expect_order(w, none.id, "refunded");

	/* Both were refunded in full from escrow: nothing was released, nobody was paid. */
	expect_account(w, "escrow", back.goods + back.fee + none.goods + none.fee,
		       back.goods + back.fee + none.goods + none.fee);
	expect_no_account(w, "courier:sandbox:payable");
	world_finish(w);
}

/*
 * Webhooks held by the sandbox and released newest first (delivered before
 * picked), and webhooks sent late with copies: the shipment and the order
 * end delivered, each step applied once.
 */
static void test_webhook_order_faults(void **state)
{
	static const char *const walk[] = { "allocated", "picking_up", "picked", "dropping_off", "delivered" };
	struct world *w = *state;
	struct sent_order late, held;
	char body[PATH_MAX_LEN];
	json_t *doc;
	int64_t before;

	world_start(w, "sandbox", 0);
	sent_order(w, "Bika Ambon", &held);
	sent_order(w, "Lamang Tapai", &late);

	sandboxtest_fault(&w->p.sb, held.provider, "\"out_of_order\":true");
	for (size_t i = 0; i < sizeof(walk) / sizeof(walk[0]); i++)
		sandbox_step(w, held.provider, walk[i]);
	/* Held: the server has heard nothing yet. */
	expect_shipment(w, held.shipment, "pending");
	expect_order(w, held.id, "confirmed");
	snprintf(body, sizeof(body), "{\"scope\":\"%s\"}", held.provider);
	doc = sandboxtest_call(&w->p.sb, "POST", "/simulate/faults/release", body, 200);
	assert_true(apitest_int(doc, "released") >= (int64_t)(sizeof(walk) / sizeof(walk[0])));
	json_decref(doc);
	sandbox_settled(w, held.provider);
	json_decref(wait_order(w, held.id, "delivered"));
	expect_shipment(w, held.shipment, "delivered");
	/* The older steps came after and moved nothing. */
	wait_event(w, held.shipment, "note", "picked reported; stays delivered");
	wait_event(w, held.shipment, "note", "allocated reported; stays delivered");

	/* Each webhook sent late and twice: one step each. */
	sandboxtest_fault(&w->p.sb, late.provider, "\"delay_ms\":300,\"duplicates\":1");
	before = events_of(w, late.shipment);
	sandbox_step(w, late.provider, "picked");
	sandbox_settled(w, late.provider);
	json_decref(wait_order(w, late.id, "shipped"));
	/* picked and the waybill: two events, whatever the copies. */
	assert_int_equal(events_of(w, late.shipment), before + 2);
	sandbox_step(w, late.provider, "delivered");
	sandbox_settled(w, late.provider);
	json_decref(wait_order(w, late.id, "delivered"));
	expect_shipment(w, late.shipment, "delivered");
	assert_int_equal(events_of(w, late.shipment), before + 3);

	order_act(w, ANI, held.id, "receive", "completed");
	order_act(w, ANI, late.id, "receive", "completed");
	expect_account(w, "courier:sandbox:payable", held.fee + late.fee, 0);
	world_finish(w);
}

/* The server's view of a sandbox log: the sandbox's request lines, for testsrv_log_find. */
static void sandbox_log(const struct world *w, struct testsrv *view)
{
	memset(view, 0, sizeof(*view));
	snprintf(view->log_path, sizeof(view->log_path), "%s", w->p.sb.log_path);
}

/*
 * A parcel whose webhooks are lost (dropped by the sandbox) still moves: the
 * server's poll asks GET /v1/trackings/{the courier's tracking id}.
 */
static void test_poll_tracks(void **state)
{
	struct world *w = *state;
	struct sent_order o;
	struct testsrv view;
	char path[PATH_MAX_LEN];
	json_t *sb, *line;
	size_t n;

	world_start(w, "sandbox", 0);
	sent_order(w, "Rendang Telur", &o);
	sb = sandbox_shipment(w, o.shipment);
	snprintf(path, sizeof(path), "/v1/trackings/%s", apitest_str(sb, "tracking_id"));
	assert_true(strlen(path) > strlen("/v1/trackings/"));
	json_decref(sb);
	sandboxtest_fault(&w->p.sb, o.provider, "\"drop\":true");
	sandbox_step(w, o.provider, "dropping_off");
	sandbox_settled(w, o.provider);
	expect_shipment(w, o.shipment, "pending");
	/* The next poll is due within 10 minutes of the server's clock. */
	clock_advance(w, RETRY_MAX_S);
	wait_shipment(w, o.shipment, "in_transit");
	json_decref(wait_order(w, o.id, "shipped"));
	wait_event(w, o.shipment, "source", "poll");
	sandbox_log(w, &view);
	assert_int_equal(testsrv_log_find(&view, "path", path, &line, &n), 0);
	assert_string_equal(apitest_str(line, "method"), "GET");
	assert_int_equal(apitest_int(line, "status"), 200);
	json_decref(line);
	world_finish(w);
}

/* The global `timeout` fault's counter at the sandbox now (0 once every held call was taken; -1: not set). */
static int64_t sandbox_timeouts_left(const struct world *w)
{
	json_t *doc = sandboxtest_call(&w->p.sb, "GET", "/simulate/faults", NULL, 200), *f;
	int64_t left = -1;
	size_t i;
	json_array_foreach(json_object_get(doc, "faults"), i, f) {
		if (strcmp(str_or_empty(f, "scope"), "global") == 0 && json_is_integer(json_object_get(f, "timeout")))
			left = apitest_int(f, "timeout");
	}
	json_decref(doc);
	return left;
}

static bool sandbox_holding(const struct world *w, const void *arg)
{
	(void)arg;
	return sandbox_timeouts_left(w) == 0;
}

/*
 * A world whose server gives up a call to a provider after `timeout`
 * ("outbound.timeout_ms=N"), and an order paid, then confirmed while the
 * sandbox holds its next `held` API calls unanswered. OUT: o.
 */
static void confirm_while_held(struct world *w, const char *timeout, int held, struct sent_order *o)
{
	char fault[32];
	world_start_with(w, "sandbox", 0, timeout);
	paid_order(w, "Kalamai", o);
	snprintf(fault, sizeof(fault), "\"timeout\":%d", held);
	sandboxtest_fault(&w->p.sb, "global", fault);
	order_act(w, SITI, o->id, "confirm", "confirmed");
	order_shipment(w, o->id, o->shipment);
}

/*
 * The company does not answer the create at all (every attempt held until
 * the server gives up): the order stays confirmed, the shipment pending,
 * nothing is refunded; the next try makes it, once.
 */
static void test_create_timeout(void **state)
{
	struct world *w = *state;
	struct sent_order o;

	/* outbound.max_attempts (3) calls, each held. */
	confirm_while_held(w, "outbound.timeout_ms=500", 3, &o);
	wait_event(w, o.shipment, "note", "courier did not answer (try 1)");
	expect_shipment(w, o.shipment, "pending");
	expect_order(w, o.id, "confirmed");
	assert_int_equal(sandbox_count(w, o.shipment), 0);
	clock_advance(w, RETRY_MAX_S);
	wait_sent(w, o.shipment, o.provider);
	assert_int_equal(sandbox_count(w, o.shipment), 1);
	expect_shipment(w, o.shipment, "pending");
	expect_order(w, o.id, "confirmed");
	expect_account(w, "escrow", o.goods + o.fee, 0);
	sandbox_step(w, o.provider, "delivered");
	json_decref(wait_order(w, o.id, "delivered"));
	assert_int_equal(sandbox_count(w, o.shipment), 1);
	world_finish(w);
}

/* True when the sandbox's shipment of our reference is cancelled. */
static bool sandbox_cancelled(const struct world *w, const void *reference)
{
	json_t *s = sandbox_shipment(w, reference);
	bool met = strcmp(str_or_empty(s, "status"), "cancelled") == 0;
	json_decref(s);
	return met;
}

/*
 * The order is cancelled while the create is on its way (its first attempt
 * held by the sandbox; the retry makes the order there): when the answer
 * comes, the company is told to cancel it too.
 */
static void test_cancel_during_create(void **state)
{
	struct world *w = *state;
	struct sent_order o;

	confirm_while_held(w, "outbound.timeout_ms=5000", 1, &o);
	/* The create is held at the sandbox now: cancel before it is answered. */
	wait_until(w, sandbox_holding, NULL, "the sandbox to hold the create");
	order_act(w, ADMIN, o.id, "cancel", "cancelled");
	expect_shipment(w, o.shipment, "cancelled");
	wait_until(w, sandbox_cancelled, o.shipment, "the sandbox's order to be cancelled");
	assert_int_equal(sandbox_count(w, o.shipment), 1);
	wait_event(w, o.shipment, "note", "sent to the courier after it was cancelled");
	expect_shipment(w, o.shipment, "cancelled");
	wait_refunded(w, o.id, o.payment, o.goods + o.fee);
	world_finish(w);
}

/* --- 4. bad input and roles --- */

/* A rates request that must be refused (status, code, and a part of its message, or NULL). */
static void rates_refused(const struct world *w, const char *body, int status, const char *code, const char *part)
{
	refused(w, NOBODY, "POST", "/api/v1/shipping/rates", body, status, code, part);
}

/* Bad rates requests, and rate tokens the checkout must refuse. */
static void test_bad_rates(void **state)
{
	struct world *w = *state;
	char *body, token[BODY_MAX], tampered[BODY_MAX];
	uint64_t pa, pa2, pb;
	json_t *doc;

	world_start(w, "sandbox", 0);
	pa = product_add(w, SITI, w->store_a, "Rendang", 85000, 600, 10);
	pa2 = product_add(w, SITI, w->store_a, "Keripik", 25000, 300, 10);
	pb = product_add(w, DEDI, w->store_b, "Bolu", 45000, 500, 10);
	const struct line a[] = { { pa, 1 } }, a2[] = { { pa, 2 } }, ab[] = { { pa, 1 }, { pb, 1 } },
			  both_a[] = { { pa, 1 }, { pa2, 1 } }, b[] = { { pb, 1 } };

	/* /shipping/rates */
	rates_refused(w, "{\"merchant_id\":1,\"items\":[{\"product_id\":1,\"quantity\":1}],"
		      "\"ship_to\":{\"postal_code\":\"40111\"},\"coupon\":\"GRATIS\"}", 400, "unknown_field", "coupon");
	rates_refused(w, "{\"merchant_id\":1,\"items\":[{\"product_id\":1,\"quantity\":1}],"
		      "\"ship_to\":{\"postal_code\":\"40111\",\"floor\":3}}", 400, "unknown_field", "floor");
	rates_refused(w, "{\"merchant_id\":1,\"items\":[{\"product_id\":1,\"quantity\":1,\"gift\":true}],"
		      "\"ship_to\":{\"postal_code\":\"40111\"}}", 400, "unknown_field", "gift");
	body = rates_body(w->store_a, a, 1, "40A11");
	rates_refused(w, body, 400, "invalid_field", "postal_code");
	free(body);
	body = rates_body(w->store_a, a, 1, "401");
	rates_refused(w, body, 400, "invalid_field", "postal_code");
	free(body);
	rates_refused(w, "{\"merchant_id\":1,\"items\":[{\"product_id\":1,\"quantity\":1}]}", 400, "invalid_field",
		      "ship_to");
	rates_refused(w, "{\"merchant_id\":1,\"items\":[],\"ship_to\":{\"postal_code\":\"40111\"}}", 400,
		      "invalid_field", "items");
	rates_refused(w, "{\"merchant_id\":1,\"items\":[{\"product_id\":1,\"quantity\":0}],"
		      "\"ship_to\":{\"postal_code\":\"40111\"}}", 400, "invalid_field", "quantity");
	rates_refused(w, "not json", 400, "invalid_json", NULL);
	body = rates_body(w->store_a, ab, 2, SHIP_TO_POSTAL);
	rates_refused(w, body, 422, "product_unavailable", NULL);
	free(body);
	body = rates_body(w->store_b + 1000, a, 1, SHIP_TO_POSTAL);
	rates_refused(w, body, 404, "not_found", NULL);
	free(body);

	/* Tokens the checkout refuses: for another store, tampered with, other goods, another address. */
	doc = rates(w, w->store_a, a, 1, SHIP_TO_POSTAL);
	snprintf(token, sizeof(token), "%s", apitest_str(rate_of(doc, "jne", "reg"), "rate_token"));
	json_decref(doc);
	checkout_bad_rate(w, ab, 2, SHIP_TO_POSTAL, w->store_b, token);
	checkout_bad_rate(w, b, 1, SHIP_TO_POSTAL, w->store_b, token);
	checkout_bad_rate(w, b, 1, SHIP_TO_POSTAL, w->store_a, token);
	/* The claims' first character changed (base64url of '{'), then the signature's last. */
	snprintf(tampered, sizeof(tampered), "%c%s", token[0] == 'e' ? 'f' : 'e', token + 1);
	checkout_bad_rate(w, a, 1, SHIP_TO_POSTAL, w->store_a, tampered);
	snprintf(tampered, sizeof(tampered), "%s", token);
	tampered[strlen(tampered) - 1] = tampered[strlen(tampered) - 1] == 'A' ? 'B' : 'A';
	checkout_bad_rate(w, a, 1, SHIP_TO_POSTAL, w->store_a, tampered);
	checkout_bad_rate(w, a, 1, SHIP_TO_POSTAL, w->store_a, "not-a-token");
	checkout_bad_rate(w, a2, 1, SHIP_TO_POSTAL, w->store_a, token);
	checkout_bad_rate(w, both_a, 2, SHIP_TO_POSTAL, w->store_a, token);
	checkout_bad_rate(w, a, 1, "40116", w->store_a, token);
	/* The shipping map's shape. */
	body = checkout_body(a, 1, SHIP_TO_POSTAL, w->store_a, token);
	{
		char *bad = strstr(body, "\"shipping\":{\"");
		assert_non_null(bad);
		bad[strlen("\"shipping\":{\"")] = 'x';
		json_decref(checkout(w, body, 400, "invalid_field"));
	}
	free(body);
	json_decref(checkout(w,
			     "{\"items\":[{\"product_id\":1,\"quantity\":1}],\"shipping\":{\"1\":5},"
			     "\"ship_to\":{\"name\":\"Ani\",\"phone\":\"0812345678\",\"address\":\"Jl. A\",\"city\":\"B\","
			     "\"postal_code\":\"40115\"}}",
			     400, "invalid_field"));
	/* Nothing was taken by the refusals. */
	assert_int_equal(stock_of(w, pa), 10);
	assert_int_equal(stock_of(w, pb), 10);
	/* The token still buys what it was quoted for ... */
	{
		char payment[ID_MAX];
		int64_t fee;
		doc = rates(w, w->store_a, a, 1, SHIP_TO_POSTAL);
		fee = apitest_int(rate_of(doc, "jne", "reg"), "price");
		json_decref(doc);
		json_decref(order_get(w, ANI, buy_shipped(w, a, 1, w->store_a, token, 85000, fee, payment)));
	}
	/* ... but not after its half hour (the test clock). */
	clock_advance(w, RATE_TTL_S + 1);
	checkout_bad_rate(w, a, 1, SHIP_TO_POSTAL, w->store_a, token);
	assert_int_equal(stock_of(w, pa), 9);
	world_finish(w);
}

/* Each caller's status on path (0: not tried); 401 and 403 must say unauthorized / forbidden. */
static void expect_statuses(const struct world *w, const char *method, const char *path, const char *body,
			    const int want[WHO_N])
{
	for (int who = NOBODY; who < WHO_N; who++) {
		if (want[who] == 401 || want[who] == 403)
			refused(w, (enum who)who, method, path, body, want[who],
				want[who] == 401 ? "unauthorized" : "forbidden", NULL);
		else if (want[who])
			json_decref(call(w, (enum who)who, method, path, body, want[who]));
	}
}

/*
 * The couriers' endpoints with every role (local module), bad coordinates,
 * and orders with a courier that people may not ship or deliver.
 */
static void test_local_roles(void **state)
{
	struct world *w = *state;
	char payment[ID_MAX], shipment[ID_MAX], path[PATH_MAX_LEN], other[PATH_MAX_LEN];
	uint64_t p, id, id2;
	const json_t *r;
	json_t *doc;

	world_start(w, "local", 0);
	p = product_add(w, SITI, w->store_a, "Lamang", 20000, 900, 10);
	const struct line cart[] = { { p, 1 } };
	doc = rates(w, w->store_a, cart, 1, SHIP_TO_POSTAL);
	r = rate_of(doc, "local", "ojek");
	/* 900 g: within the first kg; no coordinates: the flat fee alone. */
	assert_int_equal(apitest_int(r, "price"), LOCAL_FLAT);
	id = buy_shipped(w, cart, 1, w->store_a, apitest_str(r, "rate_token"), 20000, LOCAL_FLAT, payment);
	id2 = buy_shipped(w, cart, 1, w->store_a, apitest_str(r, "rate_token"), 20000, LOCAL_FLAT, payment);
	json_decref(doc);
	order_act(w, SITI, id, "confirm", "confirmed");
	order_shipment(w, id, shipment);

	/* Bad coordinates. */
	refused(w, KURIR, "GET", "/api/v1/courier/jobs?lat_e6=abc&lng_e6=1", NULL, 400, "invalid_field", "lat_e6");
	refused(w, KURIR, "GET", "/api/v1/courier/jobs?lat_e6=1&lng_e6=180000001", NULL, 400, "invalid_field",
		"lng_e6");
	refused(w, KURIR, "GET", "/api/v1/courier/jobs?lat_e6=-6.9&lng_e6=107", NULL, 400, "invalid_field", NULL);
	refused(w, KURIR, "GET", "/api/v1/courier/jobs?lat_e6=&lng_e6=107", NULL, 400, "invalid_field", NULL);

	{
		/*                          NOBODY ANI  CITRA SITI DEDI KURIR OJEK AUDITOR ADMIN */
		const int jobs[WHO_N] = { 401, 403, 403, 403, 403, 200, 200, 200, 200 };
		const int open_job[WHO_N] = { 401, 403, 403, 403, 403, 200, 200, 200, 200 };
		const int accept[WHO_N] = { 401, 403, 403, 403, 403, 0, 0, 403, 403 };
		const int status[WHO_N] = { 401, 403, 403, 403, 403, 0, 0, 403, 0 };
		expect_statuses(w, "GET", "/api/v1/courier/jobs", NULL, jobs);
		shipment_path(path, shipment, "");
		expect_statuses(w, "GET", path, NULL, open_job);
		shipment_path(path, shipment, "/accept");
		expect_statuses(w, "POST", path, NULL, accept);
		shipment_path(path, shipment, "/status");
		expect_statuses(w, "POST", path, "{\"status\":\"picking_up\"}", status);
	}
	/* Nobody has it yet: a courier may not move it before taking it. */
	refused(w, KURIR, "POST", path, "{\"status\":\"picking_up\"}", 403, "forbidden", NULL);
	shipment_path(path, shipment, "/accept");
	doc = call(w, KURIR, "POST", path, NULL, 200);
	assert_int_equal(apitest_int(doc, "courier_user_id"), w->uid[KURIR]);
	json_decref(doc);
	{
		/*                          NOBODY ANI  CITRA SITI DEDI KURIR OJEK AUDITOR ADMIN */
		const int taken[WHO_N] = { 401, 403, 403, 403, 403, 200, 403, 200, 200 };
		const int status[WHO_N] = { 401, 403, 403, 403, 403, 200, 403, 403, 0 };
		shipment_path(path, shipment, "");
		expect_statuses(w, "GET", path, NULL, taken);
		shipment_path(path, shipment, "/status");
		expect_statuses(w, "POST", path, "{\"status\":\"picking_up\"}", status);
	}
	/* Bad status bodies. */
	refused(w, KURIR, "POST", path, "{\"status\":\"teleported\"}", 400, "invalid_field", "status");
	refused(w, KURIR, "POST", path, "{\"status\":\"allocated\"}", 400, "invalid_field", "status");
	refused(w, KURIR, "POST", path, "{\"status\":\"picked\",\"speed\":80}", 400, "unknown_field", "speed");
	refused(w, KURIR, "POST", path, "{\"status\":\"delivered\"}", 400, "invalid_field", "pin");
	refused(w, KURIR, "POST", path, "{\"status\":\"delivered\",\"pin\":\"12345\"}", 400, "invalid_field", "pin");
	refused(w, KURIR, "POST", path, "{}", 400, "invalid_field", "status");
	refused(w, KURIR, "POST", "/api/v1/shipments/zz/status", "{\"status\":\"picked\"}", 404, "not_found", NULL);
	refused(w, KURIR, "POST", "/api/v1/shipments/00000000000000000000000000000001/accept", NULL, 404, "not_found",
		NULL);
	refused(w, ADMIN, "GET", "/api/v1/shipments/00000000000000000000000000000001", NULL, 404, "not_found", NULL);

	/* People may not ship or deliver an order that has a courier. */
	order_path(other, id, "/ship");
	refused(w, SITI, "POST", other, NULL, 409, "invalid_state", "courier");
	refused(w, ADMIN, "POST", other, NULL, 409, "invalid_state", "courier");
	courier_move(w, KURIR, shipment, "{\"status\":\"picked\"}", "picked");
	expect_order(w, id, "shipped");
	order_path(other, id, "/deliver");
	refused(w, ADMIN, "POST", other, NULL, 409, "invalid_state", "courier");
	/* The other order, not yet confirmed, has no shipment: its tracking says so. */
	order_path(other, id2, "/tracking");
	doc = call(w, ANI, "GET", other, NULL, 200);
	assert_true(json_is_null(json_object_get(doc, "shipment")));
	assert_null(json_object_get(doc, "delivery_pin"));
	json_decref(doc);
	{
		/*                          NOBODY ANI  CITRA SITI DEDI KURIR OJEK AUDITOR ADMIN */
		const int tracking[WHO_N] = { 401, 200, 403, 200, 403, 403, 403, 200, 200 };
		order_path(other, id, "/tracking");
		expect_statuses(w, "GET", other, NULL, tracking);
	}
	world_finish(w);
}

/* A company's shipment is not a job for the city's couriers. */
static void test_company_not_local(void **state)
{
	struct world *w = *state;
	struct sent_order o;
	char path[PATH_MAX_LEN];
	json_t *doc;

	world_start(w, "sandbox", 0);
	sent_order(w, "Pinyaram", &o);
	doc = call(w, KURIR, "GET", "/api/v1/courier/jobs", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "jobs")), 0);
	json_decref(doc);
	shipment_path(path, o.shipment, "/accept");
	refused(w, KURIR, "POST", path, NULL, 409, "not_local", NULL);
	shipment_path(path, o.shipment, "/status");
	refused(w, ADMIN, "POST", path, "{\"status\":\"picked\"}", 409, "not_local", NULL);
	shipment_path(path, o.shipment, "");
	refused(w, KURIR, "GET", path, NULL, 403, "forbidden", NULL);
	order_path(path, o.id, "/ship");
	refused(w, SITI, "POST", path, NULL, 409, "invalid_state", "courier");
	expect_order(w, o.id, "confirmed");
	world_finish(w);
}

/* --- 4. a courier's own shipments --- */

#define MINE_MAX 8                /* shipments one courier's list holds in these tests, at most */

/* The place's phone is shown (want: the number) or absent (want NULL). */
static void expect_phone(const json_t *shipment, const char *place, const char *want)
{
	const json_t *phone = json_object_get(json_object_get(shipment, place), "phone");
	if (want)
		assert_string_equal(json_string_value(phone), want);
	else
		assert_null(phone);
}

static void expect_phones(const json_t *shipment, bool shown)
{
	expect_phone(shipment, "pickup", shown ? STORE_PHONE : NULL);
	expect_phone(shipment, "drop", shown ? BUYER_PHONE : NULL);
}

/*
 * GET /api/v1/courier/shipments`query` as who, each listed with its phones.
 * OUT: ids (ID_MAX each, at most max), next (the next cursor, "" at the end).
 * Returns how many were listed.
 */
static size_t mine(const struct world *w, enum who who, const char *query, char (*ids)[ID_MAX], size_t max,
		   char *next)
{
	char path[PATH_MAX_LEN];
	json_t *doc, *s;
	const json_t *cursor;
	size_t i, n = 0;
	snprintf(path, sizeof(path), "/api/v1/courier/shipments%s", query);
	doc = call(w, who, "GET", path, NULL, 200);
	json_array_foreach(json_object_get(doc, "shipments"), i, s) {
		assert_true(n < max);
		expect_phones(s, true);
		snprintf(ids[n++], ID_MAX, "%s", apitest_str(s, "id"));
	}
	cursor = json_object_get(doc, "next_cursor");
	assert_true(json_is_null(cursor) || json_is_string(cursor));
	snprintf(next, ID_MAX, "%s", json_is_string(cursor) ? json_string_value(cursor) : "");
	json_decref(doc);
	return n;
}

/*
 * The list (mine's) holds exactly the shipments sid[want[0]], sid[want[1]] ...
 * (n), in that order. OUT: next as mine's.
 */
static void expect_mine(const struct world *w, enum who who, const char *query, char (*sid)[ID_MAX],
			const size_t *want, size_t n, char *next)
{
	char got[MINE_MAX][ID_MAX];
	assert_int_equal(mine(w, who, query, got, MINE_MAX, next), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], sid[want[i]]);
}

/*
 * Two couriers take five jobs: each lists only their own, newest first,
 * paged; a delivered one leaves the active list and stays in all; phones
 * show to the courier who took a job and the order's parties, never in the
 * open jobs; bad queries and other roles are refused.
 */
static void test_courier_shipments(void **state)
{
	enum { NJOBS = 5 };
	struct world *w = *state;
	char payment[ID_MAX], path[PATH_MAX_LEN], next[ID_MAX], pin[7], body[64], query[PATH_MAX_LEN];
	char sid[NJOBS][ID_MAX];
	uint64_t p, order[NJOBS];
	const json_t *r, *job;
	json_t *doc;
	size_t i;

	world_start(w, "local", 0);
	p = product_add(w, SITI, w->store_a, "Rendang", 20000, 900, 20);
	const struct line cart[] = { { p, 1 } };
	doc = rates(w, w->store_a, cart, 1, SHIP_TO_POSTAL);
	r = rate_of(doc, "local", "ojek");
	for (i = 0; i < NJOBS; i++) {
		/* A second apart: a courier's list is newest first by the orders' time. */
		clock_advance(w, 1);
		order[i] = buy_shipped(w, cart, 1, w->store_a, apitest_str(r, "rate_token"), 20000, LOCAL_FLAT, payment);
		order_act(w, SITI, order[i], "confirm", "confirmed");
		order_shipment(w, order[i], sid[i]);
	}
	json_decref(doc);

	/* Open jobs carry no phones, not even to a courier opening one. */
	doc = call(w, KURIR, "GET", "/api/v1/courier/jobs", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "jobs")), NJOBS);
	json_array_foreach(json_object_get(doc, "jobs"), i, job) {
		expect_phones(job, false);
	}
	json_decref(doc);
	shipment_path(path, sid[0], "");
	doc = call(w, OJEK, "GET", path, NULL, 200);
	expect_phones(doc, false);
	json_decref(doc);
	expect_mine(w, KURIR, "", sid, NULL, 0, next);
	assert_string_equal(next, "");

	/* Kurir takes jobs 0, 2, 4; ojek 1 and 3. The taker sees the phones at once. */
	for (i = 0; i < NJOBS; i++) {
		shipment_path(path, sid[i], "/accept");
		doc = call(w, i % 2 ? OJEK : KURIR, "POST", path, NULL, 200);
		expect_phones(doc, true);
		json_decref(doc);
	}
	shipment_path(path, sid[0], "");
	doc = call(w, KURIR, "GET", path, NULL, 200);
	expect_phones(doc, true);
	json_decref(doc);
	doc = call(w, ADMIN, "GET", path, NULL, 200);
	expect_phones(doc, true);
	json_decref(doc);
	refused(w, OJEK, "GET", path, NULL, 403, "forbidden", NULL);
	/* The order's buyer and store see them in its tracking. */
	order_path(path, order[0], "/tracking");
	for (i = 0; i < 2; i++) {
		doc = call(w, i ? SITI : ANI, "GET", path, NULL, 200);
		expect_phones(json_object_get(doc, "shipment"), true);
		json_decref(doc);
	}

	/* Each courier sees their own, newest first: kurir 4, 2, 0; ojek 3, 1. */
	{
		const size_t kurir[] = { 4, 2, 0 }, ojek[] = { 3, 1 };
		expect_mine(w, KURIR, "", sid, kurir, 3, next);
		assert_string_equal(next, "");
		expect_mine(w, KURIR, "?state=all&limit=100", sid, kurir, 3, next);
		snprintf(query, sizeof(query), "?courier=%llu", (unsigned long long)w->uid[KURIR]);
		expect_mine(w, KURIR, query, sid, kurir, 3, next);
		expect_mine(w, ADMIN, query, sid, kurir, 3, next);
		expect_mine(w, OJEK, "?state=active", sid, ojek, 2, next);
		/* Pages of two: 4, 2, then 0 and the end. */
		expect_mine(w, KURIR, "?limit=2", sid, kurir, 2, next);
		assert_string_not_equal(next, "");
		snprintf(query, sizeof(query), "?limit=2&cursor=%s", next);
		expect_mine(w, KURIR, query, sid, kurir + 2, 1, next);
		assert_string_equal(next, "");
	}

	/* Kurir delivers job 2: it leaves the active list and stays in all. */
	buyer_pin(w, order[2], pin);
	courier_move(w, KURIR, sid[2], "{\"status\":\"picking_up\"}", "picking_up");
	courier_move(w, KURIR, sid[2], "{\"status\":\"picked\"}", "picked");
	courier_move(w, KURIR, sid[2], "{\"status\":\"in_transit\"}", "in_transit");
	snprintf(body, sizeof(body), "{\"status\":\"delivered\",\"pin\":\"%s\"}", pin);
	courier_move(w, KURIR, sid[2], body, "delivered");
	{
		const size_t active[] = { 4, 0 }, all[] = { 4, 2, 0 };
		expect_mine(w, KURIR, "?state=active", sid, active, 2, next);
		expect_mine(w, KURIR, "?state=all&limit=1", sid, all, 1, next);
		snprintf(query, sizeof(query), "?state=all&limit=1&cursor=%s", next);
		expect_mine(w, KURIR, query, sid, all + 1, 1, next);
	}
	/* Ojek's cancelled job (the store rejects the order before pickup) is over too. */
	order_act(w, SITI, order[1], "reject", "cancelled");
	{
		const size_t active[] = { 3 }, all[] = { 3, 1 };
		expect_mine(w, OJEK, "", sid, active, 1, next);
		expect_mine(w, OJEK, "?state=all", sid, all, 2, next);
	}

	/* Bad queries. */
	refused(w, KURIR, "GET", "/api/v1/courier/shipments?state=done", NULL, 400, "invalid_field", "state");
	refused(w, KURIR, "GET", "/api/v1/courier/shipments?limit=0", NULL, 400, "invalid_field", "limit");
	refused(w, KURIR, "GET", "/api/v1/courier/shipments?limit=101", NULL, 400, "invalid_field", "limit");
	refused(w, KURIR, "GET", "/api/v1/courier/shipments?limit=ten", NULL, 400, "invalid_field", "limit");
	refused(w, KURIR, "GET", "/api/v1/courier/shipments?cursor=zz", NULL, 400, "invalid_field", "cursor");
	refused(w, ADMIN, "GET", "/api/v1/courier/shipments", NULL, 400, "invalid_field", "courier");
	refused(w, ADMIN, "GET", "/api/v1/courier/shipments?courier=0", NULL, 400, "invalid_field", "courier");
	snprintf(path, sizeof(path), "/api/v1/courier/shipments?courier=%llu", (unsigned long long)w->uid[OJEK]);
	refused(w, KURIR, "GET", path, NULL, 403, "forbidden", NULL);
	{
		/* Ojek's list:               NOBODY ANI  CITRA SITI DEDI KURIR OJEK AUDITOR ADMIN */
		const int list[WHO_N] = { 401, 403, 403, 403, 403, 403, 200, 200, 200 };
		expect_statuses(w, "GET", path, NULL, list);
	}
	world_finish(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_company_journey, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_local_journey, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_webhook_faults, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_company_down, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_webhook_order_faults, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_poll_tracks, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_create_timeout, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_during_create, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_returned_and_failed, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_bad_rates, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_local_roles, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_company_not_local, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_courier_shipments, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
