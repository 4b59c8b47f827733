/*
 * The catalogue over the wire: the real `bangsoleh serve`, one server for
 * the whole group. Users of every role are made with `bangsoleh user add`;
 * an admin registers `warung` (run by siti) and `toko` (run by budi), both
 * verified. Each test works in its own category or store so the tests do
 * not see each other's products.
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
#include <strings.h>

#include <jansson.h>

#include "apitest.h"
#include "catalogue.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define PATH_MAX_LEN 512
#define BODY_MAX 2048
#define HEADER_MAX 256
#define IDS_MAX 256

enum who { PUBLIC, SHOPPER, SITI, BUDI, COURIER, AUDITOR, ADMIN, N_WHO };
static const char *const who_names[N_WHO] = { "public", "shopper", "siti", "budi", "courier", "auditor", "admin" };

struct world {
	struct testsrv *srv;
	char tokens[N_WHO][TOKEN_MAX];
	uint64_t warung, toko;   /* siti's and budi's stores */
};

static const char *tok(const struct world *w, enum who who)
{
	return who == PUBLIC ? NULL : w->tokens[who];
}

static uint64_t user_id(const struct world *w, enum who who)
{
	json_t *me = apitest_call(w->srv, tok(w, who), "GET", "/api/v1/me", NULL, 200);
	uint64_t id = (uint64_t)apitest_int(me, "id");
	json_decref(me);
	return id;
}

/* Registers a store as an admin (verified). Returns its id. */
static uint64_t store_add(const struct world *w, const char *name, enum who owner)
{
	char body[BODY_MAX];
	json_t *mc;
	uint64_t id;
	snprintf(body, sizeof(body),
		 "{\"name\":\"%s\",\"owner_user_id\":%llu,\"city\":\"BANDUNG\",\"postal_code\":\"40111\","
		 "\"criteria\":\"UMI\",\"nmid\":\"ID1020021181745\"}",
		 name, (unsigned long long)user_id(w, owner));
	mc = apitest_call(w->srv, tok(w, ADMIN), "POST", "/api/v1/admin/merchants", body, 201);
	id = (uint64_t)apitest_int(mc, "id");
	json_decref(mc);
	return id;
}

static int world_setup(void **state)
{
	static const char *const roles[N_WHO] = { NULL, "shopper", "merchant", "merchant", "courier", "auditor", "admin" };
	const char *const env[] = { COST_ENV, NULL };
	struct world *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	*state = w;
	w->srv = testsrv_new(NULL, env);
	if (!w->srv)
		return -1;
	for (int i = SHOPPER; i < N_WHO; i++) {
		apitest_user_add_cli(w->srv, env, roles[i], who_names[i], PASSWORD);
		apitest_login(w->srv, who_names[i], PASSWORD, w->tokens[i]);
	}
	w->warung = store_add(w, "Warung Bu Siti", SITI);
	w->toko = store_add(w, "Toko Pak Budi", BUDI);
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

/* --- helpers --- */

static json_t *call(const struct world *w, enum who who, const char *method, const char *path, const char *body,
		    int status)
{
	return apitest_call(w->srv, tok(w, who), method, path, body, status);
}

static void expect_status(const struct world *w, enum who who, const char *method, const char *path,
			  const char *body, int status)
{
	json_decref(call(w, who, method, path, body, status));
}

/* Creates a product with this description in store `store` as `who`. Returns its id. */
static uint64_t product_add_text(const struct world *w, enum who who, uint64_t store, const char *title,
				 int64_t price, const char *category, const char *description)
{
	char path[PATH_MAX_LEN], body[BODY_MAX];
	json_t *p;
	uint64_t id;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)store);
	assert_true((size_t)snprintf(body, sizeof(body),
				     "{\"title\":\"%s\",\"price\":%lld,\"category\":\"%s\",\"stock\":10,"
				     "\"weight_g\":250,\"description\":\"%s\","
				     "\"images\":[\"https://img.example/1.jpg\"]}",
				     title, (long long)price, category, description) < sizeof(body));
	p = call(w, who, "POST", path, body, 201);
	id = (uint64_t)apitest_int(p, "id");
	assert_int_equal(apitest_int(p, "price"), price);
	assert_string_equal(apitest_str(p, "title"), title);
	json_decref(p);
	return id;
}

/* Creates a product in store `store` as `who`. Returns its id. */
static uint64_t product_add(const struct world *w, enum who who, uint64_t store, const char *title, int64_t price,
			    const char *category)
{
	return product_add_text(w, who, store, title, price, category, "Oleh-oleh khas Bandung");
}

/* Follows a listing's cursors to the end. OUT: ids, *n. */
static void list_all(const struct world *w, const char *query, uint64_t *ids, size_t *n)
{
	char path[2 * PATH_MAX_LEN], cursor[PATH_MAX_LEN] = "";  /* path: query, cursor and their glue */
	*n = 0;
	for (int pages = 0;; pages++) {
		json_t *doc, *list, *item, *next;
		size_t i;
		assert_true(pages < 50);
		snprintf(path, sizeof(path), "/api/v1/products?%s%s%s", query, cursor[0] ? "&cursor=" : "", cursor);
		doc = call(w, PUBLIC, "GET", path, NULL, 200);
		list = json_object_get(doc, "products");
		assert_true(json_is_array(list));
		json_array_foreach(list, i, item) {
			assert_true(*n < IDS_MAX);
			ids[(*n)++] = (uint64_t)apitest_int(item, "id");
		}
		next = json_object_get(doc, "next_cursor");
		if (json_is_null(next)) {
			json_decref(doc);
			return;
		}
		assert_true(json_is_string(next));
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(doc);
	}
}

/* True when the listing doc holds product id. */
static bool has_id(const json_t *doc, uint64_t id)
{
	json_t *item;
	size_t i;
	json_array_foreach(json_object_get(doc, "products"), i, item)
		if ((uint64_t)apitest_int(item, "id") == id)
			return true;
	return false;
}

static void assert_distinct(const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_true(ids[i] != ids[j]);
}

/* Sends a request with extra header lines and a JSON body. OUT: *resp (freed by the caller). */
static void request(const struct world *w, enum who who, const char *method, const char *path,
		    const char *extra, const char *body, struct testsrv_response *resp)
{
	char auth[HEADER_MAX];
	const char *headers[4] = { "Content-Type: application/json", NULL, NULL, NULL };
	size_t nh = 1;
	if (who != PUBLIC) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok(w, who));
		headers[nh++] = auth;
	}
	if (extra)
		headers[nh++] = extra;
	assert_int_equal(testsrv_request(w->srv, method, path, headers, body, resp), 0);
}

/* --- tests --- */

static void test_roles(void **state)
{
	struct world *w = *state;
	static const int create[N_WHO] = { 401, 403, 201, 403, 403, 403, 201 };
	static const int edit[N_WHO] = { 401, 403, 200, 403, 403, 403, 200 };
	static const int see_hidden[N_WHO] = { 404, 404, 200, 404, 404, 404, 200 };
	char path[PATH_MAX_LEN], ppath[PATH_MAX_LEN], hidden[PATH_MAX_LEN], pending_path[PATH_MAX_LEN];
	uint64_t pid = product_add(w, SITI, w->warung, "Bakso Urat", 15000, "roles");
	uint64_t hid = product_add(w, ADMIN, w->warung, "Bakso Rahasia", 15000, "roles");
	json_t *mine;
	uint64_t pending;

	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)w->warung);
	snprintf(ppath, sizeof(ppath), "/api/v1/products/%llu", (unsigned long long)pid);
	snprintf(hidden, sizeof(hidden), "/api/v1/products/%llu", (unsigned long long)hid);
	expect_status(w, SITI, "PUT", hidden, "{\"active\":false}", 200);
	for (int i = 0; i < N_WHO; i++) {
		print_message("role %s\n", who_names[i]);
		expect_status(w, (enum who)i, "POST", path, "{\"title\":\"Es Teh\",\"price\":3000,\"category\":\"roles\"}",
			      create[i]);
		expect_status(w, (enum who)i, "PUT", ppath, "{\"stock\":7}", edit[i]);
		expect_status(w, (enum who)i, "GET", ppath, NULL, 200);
		expect_status(w, (enum who)i, "GET", hidden, NULL, see_hidden[i]);
		expect_status(w, (enum who)i, "GET", "/api/v1/products?category=roles", NULL, 200);
		expect_status(w, (enum who)i, "GET", path, NULL, 200);
		expect_status(w, (enum who)i, "GET", "/api/v1/categories", NULL, 200);
	}
	/* Only the owner and admins see an inactive product in the store's list. */
	for (int i = 0; i < N_WHO; i++) {
		mine = call(w, (enum who)i, "GET", path, NULL, 200);
		assert_int_equal(has_id(mine, hid), see_hidden[i] == 200);
		assert_true(has_id(mine, pid));
		json_decref(mine);
	}

	/* A pending store: its page is the owner's and admins' only; unknown ids are 404. */
	mine = call(w, BUDI, "POST", "/api/v1/merchants",
		    "{\"name\":\"Toko Baru\",\"city\":\"BANDUNG\",\"postal_code\":\"40111\",\"criteria\":\"UMI\","
		    "\"nmid\":\"ID1020021181746\"}",
		    201);
	pending = (uint64_t)apitest_int(mine, "id");
	json_decref(mine);
	product_add(w, BUDI, pending, "Pisang Goreng", 2000, "roles-pending");
	snprintf(pending_path, sizeof(pending_path), "/api/v1/merchants/%llu/products", (unsigned long long)pending);
	expect_status(w, PUBLIC, "GET", pending_path, NULL, 404);
	expect_status(w, SITI, "GET", pending_path, NULL, 404);
	expect_status(w, BUDI, "GET", pending_path, NULL, 200);
	expect_status(w, ADMIN, "GET", pending_path, NULL, 200);
	expect_status(w, PUBLIC, "GET", "/api/v1/products?category=roles-pending", NULL, 200);
	mine = call(w, PUBLIC, "GET", "/api/v1/products?category=roles-pending", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(mine, "products")), 0);
	json_decref(mine);
	expect_status(w, ADMIN, "POST", "/api/v1/merchants/999999/products",
		      "{\"title\":\"X\",\"price\":1,\"category\":\"roles\"}", 404);
	expect_status(w, ADMIN, "PUT", "/api/v1/products/999999", "{\"stock\":1}", 404);
	expect_status(w, PUBLIC, "GET", "/api/v1/products/999999", NULL, 404);
	expect_status(w, PUBLIC, "GET", "/api/v1/products/abc", NULL, 404);
	expect_status(w, PUBLIC, "GET", "/api/v1/merchants/999999/products", NULL, 404);
}

static void test_bad_input(void **state)
{
	struct world *w = *state;
	static const struct {
		const char *body, *code, *part;
	} bad[] = {
		{ "{\"title\":\"A\",\"price\":1,\"category\":\"bad\",\"colour\":\"red\"}", "unknown_field", "colour" },
		{ "{\"price\":1,\"category\":\"bad\"}", "invalid_field", "title" },
		{ "{\"title\":\"\",\"price\":1,\"category\":\"bad\"}", "invalid_field", "title" },
		{ "{\"title\":\"A\\u0001\",\"price\":1,\"category\":\"bad\"}", "invalid_field", "title" },
		{ "{\"title\":\"A\",\"price\":0,\"category\":\"bad\"}", "invalid_field", "price" },
		{ "{\"title\":\"A\",\"price\":10000001,\"category\":\"bad\"}", "invalid_field", "price" },
		{ "{\"title\":\"A\",\"price\":\"5000\",\"category\":\"bad\"}", "invalid_field", "price" },
		{ "{\"title\":\"A\",\"price\":1.5,\"category\":\"bad\"}", "invalid_field", "price" },
		{ "{\"title\":\"A\",\"price\":1,\"category\":\"bad\",\"stock\":-1}", "invalid_field", "stock" },
		{ "{\"title\":\"A\",\"price\":1,\"category\":\"bad\",\"weight_g\":1000001}", "invalid_field", "weight_g" },
		{ "{\"title\":\"A\",\"price\":1,\"category\":\"Makanan\"}", "invalid_field", "category" },
		{ "{\"title\":\"A\",\"price\":1}", "invalid_field", "category" },
		{ "{\"title\":\"A\",\"price\":1,\"category\":\"bad\",\"images\":\"x\"}", "invalid_field", "images" },
		{ "{\"title\":\"A\",\"price\":1,\"category\":\"bad\",\"images\":[\"ftp://x\"]}", "invalid_field", "images" },
		{ "{\"title\":\"A\",\"price\":1,\"category\":\"bad\",\"images\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\","
		  "\"g\",\"h\",\"i\"]}", "invalid_field", "images" },
		{ "{\"title\":\"A\",\"price\":1,\"category\":\"bad\",\"active\":\"yes\"}", "invalid_field", "active" },
		{ "[1]", "invalid_json", NULL },
		{ "{\"title\":", "invalid_json", NULL },
	};
	static const char *const queries[] = { "limit=0", "limit=101", "limit=x", "sort=cheap", "min_price=-1",
					       "min_price=10&max_price=9", "max_price=1e3", "merchant_id=0",
					       "category=Bad", "cursor=zz", "cursor=0123" };
	char path[PATH_MAX_LEN], ppath[PATH_MAX_LEN];
	uint64_t pid = product_add(w, SITI, w->warung, "Cireng", 5000, "bad");
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)w->warung);
	snprintf(ppath, sizeof(ppath), "/api/v1/products/%llu", (unsigned long long)pid);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("body %s\n", bad[i].body);
		apitest_expect_error(w->srv, tok(w, SITI), "POST", path, bad[i].body, 400, bad[i].code, bad[i].part);
	}
	apitest_expect_error(w->srv, tok(w, SITI), "PUT", ppath, "{\"merchant_id\":2}", 400, "unknown_field",
			     "merchant_id");
	apitest_expect_error(w->srv, tok(w, SITI), "PUT", ppath, "{\"price\":-5}", 400, "invalid_field", "price");
	apitest_expect_error(w->srv, tok(w, SITI), "PUT", ppath, "{\"title\":null}", 400, "invalid_field", "title");
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		char q[PATH_MAX_LEN], field[64];
		snprintf(q, sizeof(q), "/api/v1/products?%s", queries[i]);
		size_t n = strcspn(queries[i], "=");
		/* The parameter's name: what the error must name. */
		n = n < sizeof(field) ? n : sizeof(field) - 1;
		memcpy(field, queries[i], n);
		field[n] = '\0';
		if (strchr(queries[i], '&'))
			snprintf(field, sizeof(field), "max_price");
		apitest_expect_error(w->srv, NULL, "GET", q, NULL, 400, "invalid_field", field);
	}
	apitest_expect_error(w->srv, tok(w, SITI), "GET", "/api/v1/merchants/1/products?limit=0", NULL, 400,
			     "invalid_field", "limit");
	/* Nothing of the rejected bodies was stored: the one good product is all there is. */
	{
		uint64_t ids[IDS_MAX];
		size_t n;
		list_all(w, "category=bad", ids, &n);
		assert_int_equal(n, 1);
		assert_int_equal(ids[0], pid);
	}
}

static void test_pages_and_sorts(void **state)
{
	struct world *w = *state;
	static const char *const sorts[] = { "newest", "price_asc", "price_desc", "name" };
	static const char *const names[] = { "Apem", "bolu", "Cakwe", "dodol", "Enting", "getuk" };
	uint64_t made[23], ids[IDS_MAX];
	int64_t price[IDS_MAX * 8] = { 0 };
	char title[64], query[128];
	size_t n;
	for (size_t i = 0; i < 23; i++) {
		snprintf(title, sizeof(title), "%s %zu", names[i % 6], i);
		made[i] = product_add(w, i % 2 ? SITI : ADMIN, w->warung, title, 1000 + (int64_t)(i % 5) * 250, "pages");
		price[made[i]] = 1000 + (int64_t)(i % 5) * 250;
	}
	for (size_t s = 0; s < 4; s++) {
		snprintf(query, sizeof(query), "category=pages&limit=4&sort=%s", sorts[s]);
		list_all(w, query, ids, &n);
		assert_int_equal(n, 23);
		assert_distinct(ids, n);
		for (size_t i = 1; i < n; i++) {
			if (s == 0)
				assert_true(ids[i - 1] > ids[i]);
			if (s == 1)
				assert_true(price[ids[i - 1]] <= price[ids[i]]);
			if (s == 2)
				assert_true(price[ids[i - 1]] >= price[ids[i]]);
		}
	}
	/* By name, folded: Apem, bolu, Cakwe, ... */
	list_all(w, "category=pages&sort=name&limit=100", ids, &n);
	assert_int_equal(n, 23);
	assert_true(ids[0] == made[0] || ids[0] == made[6] || ids[0] == made[12] || ids[0] == made[18]);
	/* The default limit is 20. */
	{
		json_t *doc = call(w, PUBLIC, "GET", "/api/v1/products?category=pages", NULL, 200);
		assert_int_equal(json_array_size(json_object_get(doc, "products")), 20);
		json_decref(doc);
	}
	/* A cursor does not page another query. */
	{
		json_t *doc = call(w, PUBLIC, "GET", "/api/v1/products?category=pages&limit=2", NULL, 200);
		char q[PATH_MAX_LEN];
		snprintf(q, sizeof(q), "/api/v1/products?category=pages&sort=name&cursor=%s",
			 apitest_str(doc, "next_cursor"));
		apitest_expect_error(w->srv, NULL, "GET", q, NULL, 400, "invalid_field", "cursor");
		json_decref(doc);
	}
}

static void test_search_and_filters(void **state)
{
	struct world *w = *state;
	uint64_t ids[IDS_MAX], a, b, c, d;
	size_t n;
	char query[128];
	a = product_add(w, SITI, w->warung, "Rendang Sapi Padang", 45000, "lauk");
	b = product_add(w, BUDI, w->toko, "rendang AYAM", 30000, "lauk");
	c = product_add(w, SITI, w->warung, "Dendeng Balado", 40000, "lauk");
	d = product_add(w, BUDI, w->toko, "Kue Rendang-rendang", 8000, "kue");
	list_all(w, "q=REND", ids, &n);
	assert_int_equal(n, 3);
	assert_distinct(ids, n);
	assert_int_equal(ids[0], d);   /* newest first */
	assert_int_equal(ids[2], a);
	list_all(w, "q=rEnDaNg%20sap", ids, &n);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], a);
	list_all(w, "q=rend&category=lauk&sort=price_asc", ids, &n);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], b);
	assert_int_equal(ids[1], a);
	snprintf(query, sizeof(query), "q=rend&merchant_id=%llu", (unsigned long long)w->toko);
	list_all(w, query, ids, &n);
	assert_int_equal(n, 2);
	list_all(w, "q=rend&min_price=9000&max_price=44999", ids, &n);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], b);
	list_all(w, "category=lauk&min_price=35000&sort=price_desc", ids, &n);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], a);
	assert_int_equal(ids[1], c);
	/* The description is searched too; a word that is no prefix finds nothing. */
	list_all(w, "q=oleh%20bandung&category=kue", ids, &n);
	assert_int_equal(n, 1);
	list_all(w, "q=endang", ids, &n);
	assert_int_equal(n, 0);
	/* The store page and the categories. */
	{
		char path[PATH_MAX_LEN];
		json_t *doc, *cats, *item;
		size_t i;
		bool seen = false;
		snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products?q=rend", (unsigned long long)w->toko);
		doc = call(w, SHOPPER, "GET", path, NULL, 200);
		assert_int_equal(json_array_size(json_object_get(doc, "products")), 2);
		json_decref(doc);
		doc = call(w, PUBLIC, "GET", "/api/v1/categories", NULL, 200);
		cats = json_object_get(doc, "categories");
		json_array_foreach(cats, i, item) {
			if (strcmp(apitest_str(item, "category"), "lauk") == 0) {
				assert_int_equal(apitest_int(item, "count"), 3);
				seen = true;
			}
		}
		assert_true(seen);
		json_decref(doc);
	}
}

static void test_etag(void **state)
{
	struct world *w = *state;
	struct testsrv_response r = { 0 };
	char etag[128], inm[HEADER_MAX], ppath[PATH_MAX_LEN];
	const char *path = "/api/v1/products?category=etag";
	uint64_t pid = product_add(w, SITI, w->warung, "Serabi", 4000, "etag");
	snprintf(ppath, sizeof(ppath), "/api/v1/products/%llu", (unsigned long long)pid);
	request(w, PUBLIC, "GET", path, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(testsrv_header(&r, "ETag"));
	snprintf(etag, sizeof(etag), "%s", testsrv_header(&r, "ETag"));
	testsrv_response_free(&r);
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	request(w, PUBLIC, "GET", path, inm, NULL, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	testsrv_response_free(&r);
	/* Another query has another tag. */
	request(w, PUBLIC, "GET", "/api/v1/products?category=etag&sort=name", inm, NULL, &r);
	assert_int_equal(r.status, 200);
	testsrv_response_free(&r);
	/* An edit changes it. */
	expect_status(w, SITI, "PUT", ppath, "{\"price\":4500}", 200);
	request(w, PUBLIC, "GET", path, inm, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_not_equal(testsrv_header(&r, "ETag"), etag);
	assert_non_null(strstr(r.body, "4500"));
	testsrv_response_free(&r);
	request(w, PUBLIC, "GET", "/api/v1/categories", NULL, NULL, &r);
	assert_non_null(testsrv_header(&r, "ETag"));
	testsrv_response_free(&r);
}

static void test_suspended_store(void **state)
{
	struct world *w = *state;
	char ppath[PATH_MAX_LEN], spath[PATH_MAX_LEN], query[128];
	uint64_t store = store_add(w, "Kedai Sementara", BUDI), ids[IDS_MAX];
	uint64_t pid = product_add(w, BUDI, store, "Martabak Manis", 25000, "suspend");
	size_t n;
	snprintf(ppath, sizeof(ppath), "/api/v1/products/%llu", (unsigned long long)pid);
	snprintf(spath, sizeof(spath), "/api/v1/admin/merchants/%llu/suspend", (unsigned long long)store);
	snprintf(query, sizeof(query), "merchant_id=%llu", (unsigned long long)store);
	list_all(w, "q=martabak", ids, &n);
	assert_int_equal(n, 1);
	expect_status(w, ADMIN, "POST", spath, "{}", 200);
	list_all(w, "q=martabak", ids, &n);
	assert_int_equal(n, 0);
	list_all(w, "category=suspend", ids, &n);
	assert_int_equal(n, 0);
	list_all(w, query, ids, &n);
	assert_int_equal(n, 0);
	expect_status(w, PUBLIC, "GET", ppath, NULL, 404);
	expect_status(w, SHOPPER, "GET", ppath, NULL, 404);
	expect_status(w, BUDI, "GET", ppath, NULL, 200);
	/* An edit while suspended keeps it out of the catalogue. */
	expect_status(w, BUDI, "PUT", ppath, "{\"title\":\"Martabak Telur\"}", 200);
	list_all(w, "q=martabak", ids, &n);
	assert_int_equal(n, 0);
	snprintf(spath, sizeof(spath), "/api/v1/admin/merchants/%llu/reinstate", (unsigned long long)store);
	expect_status(w, ADMIN, "POST", spath, "{}", 200);
	list_all(w, "q=telur", ids, &n);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], pid);
	list_all(w, "q=manis", ids, &n);
	assert_int_equal(n, 0);
	expect_status(w, PUBLIC, "GET", ppath, NULL, 200);
}

static void test_idempotency(void **state)
{
	struct world *w = *state;
	struct testsrv_response r = { 0 };
	char path[PATH_MAX_LEN];
	const char *body = "{\"title\":\"Tahu Sumedang\",\"price\":12000,\"category\":\"idem\"}";
	json_t *first, *again;
	uint64_t ids[IDS_MAX];
	size_t n;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)w->warung);
	request(w, SITI, "POST", path, "Idempotency-Key: tahu-1", body, &r);
	assert_int_equal(r.status, 201);
	first = json_loads(r.body, 0, NULL);
	testsrv_response_free(&r);
	request(w, SITI, "POST", path, "Idempotency-Key: tahu-1", body, &r);
	assert_int_equal(r.status, 201);
	again = json_loads(r.body, 0, NULL);
	testsrv_response_free(&r);
	assert_non_null(first);
	assert_non_null(again);
	assert_int_equal(apitest_int(first, "id"), apitest_int(again, "id"));
	request(w, SITI, "POST", path, "Idempotency-Key: tahu-1",
		"{\"title\":\"Tahu Sumedang\",\"price\":13000,\"category\":\"idem\"}", &r);
	assert_int_equal(r.status, 409);
	assert_true(testsrv_error_is(&r, "idempotency_key_reused"));
	testsrv_response_free(&r);
	request(w, SITI, "POST", path, "Idempotency-Key: tahu-2", body, &r);
	assert_int_equal(r.status, 201);
	testsrv_response_free(&r);
	list_all(w, "category=idem", ids, &n);
	assert_int_equal(n, 2);
	json_decref(first);
	json_decref(again);
}

/* The first product of a public listing (the caller frees *doc), or NULL when it is empty. */
static json_t *first_product(const struct world *w, const char *path, json_t **doc)
{
	*doc = call(w, PUBLIC, "GET", path, NULL, 200);
	return json_array_get(json_object_get(*doc, "products"), 0);
}

/*
 * Listings read again come from the rendered-page cache until something
 * changes; every change a listing shows is in the very next read (no
 * If-None-Match: the server's own cache is what is tested).
 */
static void test_cache_fresh(void **state)
{
	struct world *w = *state;
	static const struct {
		const char *edit, *field;
		long long want;        /* a number, or -1: the field is a string */
		const char *text;
	} edits[] = {
		{ "{\"price\":6500}", "price", 6500, NULL },
		{ "{\"stock\":3}", "stock", 3, NULL },
		{ "{\"weight_g\":400}", "weight_g", 400, NULL },
		{ "{\"title\":\"Bolu Kukus Pandan\"}", "title", -1, "Bolu Kukus Pandan" },
		{ "{\"description\":\"Lembut\"}", "title", -1, "Bolu Kukus Pandan" },
	};
	const char *path = "/api/v1/products?category=fresh";
	char ppath[PATH_MAX_LEN], spath[PATH_MAX_LEN], mpath[PATH_MAX_LEN];
	uint64_t store = store_add(w, "Kedai Segar", BUDI);
	uint64_t pid = product_add(w, BUDI, store, "Bolu Kukus", 6000, "fresh");
	json_t *doc, *again, *item;

	snprintf(ppath, sizeof(ppath), "/api/v1/products/%llu", (unsigned long long)pid);
	snprintf(mpath, sizeof(mpath), "/api/v1/merchants/%llu/products", (unsigned long long)store);
	doc = call(w, PUBLIC, "GET", path, NULL, 200);
	again = call(w, PUBLIC, "GET", path, NULL, 200);
	assert_true(json_equal(doc, again));
	json_decref(doc);
	json_decref(again);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		print_message("edit %s\n", edits[i].edit);
		expect_status(w, BUDI, "PUT", ppath, edits[i].edit, 200);
		for (int view = 0; view < 2; view++) {
			item = first_product(w, view ? mpath : path, &doc);
			assert_non_null(item);
			if (edits[i].want >= 0)
				assert_int_equal(apitest_int(item, edits[i].field), edits[i].want);
			else
				assert_string_equal(apitest_str(item, edits[i].field), edits[i].text);
			json_decref(doc);
		}
	}
	/* Out of the catalogue and back: inactive, then its store suspended. */
	expect_status(w, BUDI, "PUT", ppath, "{\"active\":false}", 200);
	assert_null(first_product(w, path, &doc));
	json_decref(doc);
	expect_status(w, BUDI, "PUT", ppath, "{\"active\":true}", 200);
	assert_non_null(first_product(w, path, &doc));
	json_decref(doc);
	snprintf(spath, sizeof(spath), "/api/v1/admin/merchants/%llu/suspend", (unsigned long long)store);
	expect_status(w, ADMIN, "POST", spath, "{}", 200);
	assert_null(first_product(w, path, &doc));
	json_decref(doc);
	snprintf(spath, sizeof(spath), "/api/v1/admin/merchants/%llu/reinstate", (unsigned long long)store);
	expect_status(w, ADMIN, "POST", spath, "{}", 200);
	item = first_product(w, mpath, &doc);
	assert_non_null(item);
	assert_int_equal(apitest_int(item, "id"), pid);
	json_decref(doc);
}

/* A listing's product is the product's page without the description, text escaped both ways alike. */
static void test_listing_shape(void **state)
{
	struct world *w = *state;
	const char *title = "Kue \\\"Lapis\\\" \\\\ Legit \\u2013 \\u00d1am\\tenak";
	char path[PATH_MAX_LEN], body[BODY_MAX], ppath[PATH_MAX_LEN];
	json_t *created, *doc, *item, *one;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)w->warung);
	snprintf(body, sizeof(body),
		 "{\"title\":\"Kue Lapis\",\"price\":7000,\"category\":\"shape\",\"stock\":5,\"weight_g\":120,"
		 "\"description\":\"Baris satu\\nbaris \\\"dua\\\"\\t\","
		 "\"images\":[\"https://img.example/a\\\"b\\\\c.jpg\",\"http://img.example/2.png\"]}");
	/* A title with a tab is refused; the rest of the title's characters come back as sent. */
	created = call(w, SITI, "POST", path, body, 201);
	snprintf(ppath, sizeof(ppath), "/api/v1/products/%llu", (unsigned long long)apitest_int(created, "id"));
	json_decref(created);
	apitest_expect_error(w->srv, tok(w, SITI), "PUT", ppath, "{\"title\":\"a\\tb\"}", 400, "invalid_field",
			     "title");
	snprintf(body, sizeof(body), "{\"title\":\"%.*s\"}", (int)(strlen(title) - strlen("\\tenak")), title);
	expect_status(w, SITI, "PUT", ppath, body, 200);
	one = call(w, PUBLIC, "GET", ppath, NULL, 200);
	assert_string_equal(apitest_str(one, "title"), "Kue \"Lapis\" \\ Legit \xe2\x80\x93 \xc3\x91" "am");
	assert_string_equal(apitest_str(one, "description"), "Baris satu\nbaris \"dua\"\t");
	assert_string_equal(json_string_value(json_array_get(json_object_get(one, "images"), 0)),
			    "https://img.example/a\"b\\c.jpg");
	item = first_product(w, "/api/v1/products?category=shape", &doc);
	assert_non_null(item);
	assert_null(json_object_get(item, "description"));
	assert_int_equal(json_object_del(one, "description"), 0);
	assert_true(json_equal(item, one));
	assert_int_equal(json_object_size(item), 12);
	assert_true(json_is_null(json_object_get(doc, "next_cursor")));
	assert_int_equal(json_object_size(doc), 2);   /* products and next_cursor */
	json_decref(doc);
	json_decref(one);
}

/* GET /api/v1/products?ids=<ids> as who: the products' ids in order (OUT: got, *n) and the missing ones (OUT: gone, *ngone). */
static void batch_read(const struct world *w, enum who who, const char *ids, uint64_t *got, size_t *n, uint64_t *gone,
		       size_t *ngone)
{
	char path[2 * PATH_MAX_LEN];
	json_t *doc, *item;
	size_t i;
	snprintf(path, sizeof(path), "/api/v1/products?ids=%s", ids);
	doc = call(w, who, "GET", path, NULL, 200);
	*n = *ngone = 0;
	json_array_foreach(json_object_get(doc, "products"), i, item) {
		assert_true(*n < IDS_MAX);
		got[(*n)++] = (uint64_t)apitest_int(item, "id");
		assert_non_null(json_object_get(item, "price"));
		assert_null(json_object_get(item, "description"));
	}
	json_array_foreach(json_object_get(doc, "missing"), i, item) {
		assert_true(*ngone < IDS_MAX && json_is_integer(item));
		gone[(*ngone)++] = (uint64_t)json_integer_value(item);
	}
	assert_int_equal(json_object_size(doc), 2);
	json_decref(doc);
}

/*
 * The cart's batch read: the products the caller sees, in the order asked,
 * each once; the rest (unknown, or another store's unlisted product) under
 * "missing"; at most 50 ids, each a positive number, and no other parameter.
 */
static void test_batch_ids(void **state)
{
	struct world *w = *state;
	static const char *const junk[] = { "ids=", "ids=0", "ids=-1", "ids=1,,2", "ids=1,", "ids=,1", "ids=1%2B2",
					    "ids=x", "ids=1.5", "ids=18446744073709551616", "ids=18446744073709551615",
					    "ids=9223372036854775808", "ids=1&limit=5",
					    "ids=1&q=kopi", "ids=1&category=batch", "ids=1&cursor=ab" };
	uint64_t p1 = product_add(w, SITI, w->warung, "Kopi Aren", 12000, "batch");
	uint64_t p2 = product_add(w, SITI, w->warung, "Teh Tarik", 9000, "batch");
	uint64_t hidden = product_add(w, BUDI, w->toko, "Kopi Rahasia", 30000, "batch");
	uint64_t got[IDS_MAX], gone[IDS_MAX];
	char ids[PATH_MAX_LEN], path[2 * PATH_MAX_LEN];
	size_t n, ngone, len = 0;

	snprintf(path, sizeof(path), "/api/v1/products/%llu", (unsigned long long)hidden);
	expect_status(w, BUDI, "PUT", path, "{\"active\":false}", 200);
	snprintf(ids, sizeof(ids), "%llu,999999,%llu,%llu,%llu", (unsigned long long)p2, (unsigned long long)hidden,
		 (unsigned long long)p1, (unsigned long long)p2);
	batch_read(w, PUBLIC, ids, got, &n, gone, &ngone);
	assert_int_equal(n, 2);
	assert_int_equal(got[0], p2);
	assert_int_equal(got[1], p1);
	assert_int_equal(ngone, 2);
	assert_int_equal(gone[0], 999999);
	assert_int_equal(gone[1], hidden);
	/* Another merchant does not see it either; its owner and admins do. */
	batch_read(w, SITI, ids, got, &n, gone, &ngone);
	assert_int_equal(n, 2);
	assert_int_equal(ngone, 2);
	for (enum who who = BUDI; who <= ADMIN; who += ADMIN - BUDI) {
		batch_read(w, who, ids, got, &n, gone, &ngone);
		assert_int_equal(n, 3);
		assert_int_equal(got[1], hidden);
		assert_int_equal(ngone, 1);
	}

	/* 50 ids are answered; 51 are refused, as is anything that is not a list of positive numbers. */
	for (int i = 1; i <= 50; i++)
		len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%d", i > 1 ? "," : "", 1000000 + i);
	batch_read(w, PUBLIC, ids, got, &n, gone, &ngone);
	assert_int_equal(n, 0);
	assert_int_equal(ngone, 50);
	snprintf(ids + len, sizeof(ids) - len, ",%llu", (unsigned long long)p1);
	snprintf(path, sizeof(path), "/api/v1/products?ids=%s", ids);
	apitest_expect_error(w->srv, NULL, "GET", path, NULL, 400, "invalid_field", "ids");
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		print_message("query %s\n", junk[i]);
		snprintf(path, sizeof(path), "/api/v1/products?%s", junk[i]);
		apitest_expect_error(w->srv, NULL, "GET", path, NULL, 400, "invalid_field", "ids");
	}
}

/*
 * A search word too common for the token index's bound. Each "songket"
 * product's description holds BROAD_WORDS words starting with "tenun"
 * (tenunaa .. tenundz), so BROAD_FILLERS of them put more than
 * CATALOGUE_TOKEN_SCAN_MAX entries in the prefix range of "tenun" before
 * the "ulos" products' one word "tenunzz": a search that read only the
 * bound of that range would never see an ulos product.
 */
#define BROAD_WORDS 104
#define BROAD_FILLERS (CATALOGUE_TOKEN_SCAN_MAX / BROAD_WORDS + 1)
#define BROAD_ULOS 24
#define BROAD_N (BROAD_FILLERS + BROAD_ULOS)
#define BROAD_TITLE_MAX 16
_Static_assert(BROAD_N <= IDS_MAX, "list_all holds every product of the broad test");

struct broad_product {
	uint64_t id, store;
	int64_t price;
	char title[BROAD_TITLE_MAX];   /* distinct, lower case after the first letter */
	const char *category;
	bool ulos;
};

/* True when a comes before b in sort s (0 newest, 1 price_asc, 2 price_desc, 3 name; ties by id). */
static bool broad_before(const struct broad_product *a, const struct broad_product *b, size_t s)
{
	if (s == 0)
		return a->id > b->id;
	if (s == 1)
		return a->price < b->price || (a->price == b->price && a->id < b->id);
	if (s == 2)
		return a->price > b->price || (a->price == b->price && a->id > b->id);
	return strcasecmp(a->title, b->title) < 0;
}

/* What a query selects of the broad test's products (every one matches "tenun"). */
struct broad_filter {
	bool ulos;              /* only the ulos products ("ulos" is in the query) */
	const char *category;   /* NULL: any */
	int64_t min_price, max_price;
	uint64_t store;         /* 0: any */
};

static bool broad_pass(const struct broad_product *p, const struct broad_filter *f)
{
	return (!f->ulos || p->ulos) && (!f->category || strcmp(p->category, f->category) == 0) &&
	       p->price >= f->min_price && p->price <= f->max_price && (!f->store || p->store == f->store);
}

/* The ids of the products that pass f in sort s: what the listing must answer. OUT: ids, *n. */
static void broad_expect(const struct broad_product *all, size_t s, const struct broad_filter *f, uint64_t *ids,
			 size_t *n)
{
	const struct broad_product *sel[BROAD_N];
	*n = 0;
	for (size_t i = 0; i < BROAD_N; i++) {
		size_t at;
		if (!broad_pass(&all[i], f))
			continue;
		for (at = (*n)++; at > 0 && broad_before(&all[i], sel[at - 1], s); at--)
			sel[at] = sel[at - 1];
		sel[at] = &all[i];
	}
	for (size_t i = 0; i < *n; i++)
		ids[i] = sel[i]->id;
}

/* Lists query in sort s to the end and checks it against broad_expect. */
static void broad_check(const struct world *w, const struct broad_product *all, const char *query, size_t s,
			const struct broad_filter *f, size_t want_min)
{
	static const char *const sorts[] = { "newest", "price_asc", "price_desc", "name" };
	uint64_t ids[IDS_MAX], want[BROAD_N];
	char full[PATH_MAX_LEN];
	size_t n, nwant;
	print_message("%s sort=%s\n", query, sorts[s]);
	snprintf(full, sizeof(full), "%s&sort=%s", query, sorts[s]);
	broad_expect(all, s, f, want, &nwant);
	assert_true(nwant >= want_min);
	list_all(w, full, ids, &n);
	assert_int_equal(n, nwant);
	assert_memory_equal(ids, want, n * sizeof(ids[0]));
}

/*
 * Every page of a search on a common word, alone, with a rarer word and
 * with filters, in every order: each matching product exactly once, in the
 * order of the sort. The rarer word alone (answered from the token index)
 * gives the same pages.
 */
static void test_broad_search(void **state)
{
	struct world *w = *state;
	static struct broad_product all[BROAD_N];
	char fillers[BROAD_WORDS * 8 + 1], query[PATH_MAX_LEN];
	size_t len = 0, filler = 0, ulos = 0;
	uint64_t store = store_add(w, "Galeri Tenun", SITI);
	const struct broad_filter any = { .max_price = INT64_MAX }, only_ulos = { .ulos = true, .max_price = INT64_MAX },
				  ikat = { .category = "ikat", .min_price = 2000, .max_price = 5000 },
				  galeri_ulos = { .ulos = true, .max_price = INT64_MAX, .store = store };
	for (int i = 0; i < BROAD_WORDS; i++)
		len += (size_t)snprintf(fillers + len, sizeof(fillers) - len, "%stenun%c%c", i ? " " : "",
					'a' + i / 26, 'a' + i % 26);
	/* One ulos after every fourth songket, so each order mixes them. */
	for (size_t i = 0; i < BROAD_N; i++) {
		struct broad_product *p = &all[i];
		p->ulos = ulos < BROAD_ULOS && (i % 5 == 4 || filler == BROAD_FILLERS);
		p->store = i % 3 ? w->warung : store;
		p->price = 1000 + (int64_t)(i % 7) * 1000;
		p->category = i % 2 ? "ikat" : "tenun";
		snprintf(p->title, sizeof(p->title), "%s %03zu", p->ulos ? "Ulos" : "Songket", p->ulos ? ulos++ : filler++);
		p->id = product_add_text(w, SITI, p->store, p->title, p->price, p->category,
					 p->ulos ? "Kain tenunzz asli" : fillers);
	}
	assert_int_equal(filler, BROAD_FILLERS);
	assert_int_equal(ulos, BROAD_ULOS);
	snprintf(query, sizeof(query), "q=tenun%%20ulos&merchant_id=%llu&limit=3", (unsigned long long)store);
	for (size_t s = 0; s < 4; s++) {
		broad_check(w, all, "q=TENUN&limit=9", s, &any, BROAD_N);
		broad_check(w, all, "q=tenun%20ulos&limit=5", s, &only_ulos, BROAD_ULOS);
		broad_check(w, all, "q=ulos&limit=5", s, &only_ulos, BROAD_ULOS);
		broad_check(w, all, "q=tenun&category=ikat&min_price=2000&max_price=5000&limit=4", s, &ikat, 5);
		broad_check(w, all, query, s, &galeri_ulos, 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_pages_and_sorts),
		cmocka_unit_test(test_search_and_filters),
		cmocka_unit_test(test_etag),
		cmocka_unit_test(test_suspended_store),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_cache_fresh),
		cmocka_unit_test(test_listing_shape),
		cmocka_unit_test(test_batch_ids),
		cmocka_unit_test(test_broad_search),
	};
	return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
