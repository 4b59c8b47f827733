/*
 * Integration tests of the stores (merchants) endpoints: the real `bangsoleh
 * serve` on loopback with one user of every role (two merchants), signed in
 * over HTTP. Registration, verification, suspension and reinstatement with
 * what each caller then sees; every endpoint with every role; bad input;
 * Idempotency-Key replays; the city's featured stores.
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

#include "apitest.h"
#include "record.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define PATH_LEN 128

#define STORE_BODY \
	"{\"name\":\"Warung Siti\",\"city\":\"PAYAKUMBUH\",\"postal_code\":\"26211\",\"criteria\":\"UMI\"," \
	"\"nmid\":\"ID1020021181745\",\"category\":\"makanan\",\"phone\":\"+6281234567890\"," \
	"\"description\":\"Rendang daging, dimasak dengan kayu bakar.\",\"hours\":\"08.00-21.00\"," \
	"\"bank_code\":\"BNI\",\"bank_account\":\"0123456789\",\"bank_name\":\"Siti Aminah\"}"

struct world {
	struct testsrv *srv;
	char admin[TOKEN_MAX], auditor[TOKEN_MAX], courier[TOKEN_MAX], shopper[TOKEN_MAX];
	char siti[TOKEN_MAX], budi[TOKEN_MAX];     /* two merchants */
	int64_t siti_id;
	char moved[TESTSRV_PATH_MAX];              /* where a restarted server's data went, removed at the end */
};

static int world_setup(void **state)
{
	const char *const env[] = { COST_ENV, NULL };
	static const struct {
		const char *role, *name;
		size_t offset;
	} users[] = {
		{ "admin", "admin", offsetof(struct world, admin) },
		{ "auditor", "auditor", offsetof(struct world, auditor) },
		{ "courier", "courier", offsetof(struct world, courier) },
		{ "shopper", "shopper", offsetof(struct world, shopper) },
		{ "merchant", "siti", offsetof(struct world, siti) },
		{ "merchant", "budi", offsetof(struct world, budi) },
	};
	struct world *w = calloc(1, sizeof(*w));
	json_t *me;
	if (!w)
		return -1;
	*state = w;
	w->srv = testsrv_new(NULL, env);
	if (!w->srv)
		return -1;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		apitest_user_add_cli(w->srv, env, users[i].role, users[i].name, PASSWORD);
		apitest_login(w->srv, users[i].name, PASSWORD, (char *)w + users[i].offset);
	}
	me = apitest_call(w->srv, w->siti, "GET", "/api/v1/me", NULL, 200);
	w->siti_id = apitest_int(me, "id");
	json_decref(me);
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	if (w)
		testsrv_free(w->srv);
	if (w && w->moved[0])
		testsrv_rmtree(w->moved);
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

/* Siti registers her store; returns its id. */
static int64_t register_store(struct world *w)
{
	json_t *st = apitest_call(w->srv, w->siti, "POST", "/api/v1/merchants", STORE_BODY, 201);
	int64_t id = apitest_int(st, "id");
	assert_string_equal(apitest_str(st, "status"), "pending");
	assert_int_equal(apitest_int(st, "owner_user_id"), w->siti_id);
	assert_string_equal(apitest_str(st, "bank_account"), "0123456789");
	json_decref(st);
	return id;
}

static void path_of(char *out, int64_t id, const char *suffix)
{
	snprintf(out, PATH_LEN, "/api/v1/merchants/%lld%s", (long long)id, suffix);
}

/*
 * How many stores of a list carry `id`, walking every page of 1: the public
 * list (token NULL, query ""), or the city officer's (`query` "status=..."
 * or "all"). Only the officer's shows what only owners and admins see.
 */
static int listed_in(struct world *w, const char *token, const char *query, int64_t id)
{
	const char *base = token ? "/api/v1/admin/merchants" : "/api/v1/merchants";
	const char *filter = strcmp(query, "all") == 0 ? "" : query;
	char path[PATH_LEN];
	int found = 0;
	snprintf(path, sizeof(path), "%s?limit=1&%s", base, filter);
	for (int pages = 0; pages < 100; pages++) {
		json_t *page = apitest_call(w->srv, token, "GET", path, NULL, 200);
		json_t *items = json_object_get(page, "items"), *next = json_object_get(page, "next_cursor"), *it;
		size_t i;
		json_array_foreach(items, i, it) {
			if (apitest_int(it, "id") == id)
				found++;
			assert_true((json_object_get(it, "nmid") != NULL) == (token != NULL));
		}
		if (!json_is_string(next)) {
			json_decref(page);
			return found;
		}
		snprintf(path, sizeof(path), "%s?limit=1&%s&cursor=%s", base, filter, json_string_value(next));
		json_decref(page);
	}
	fail_msg("the store list did not end");
	return -1;
}

static int listed(struct world *w, int64_t id)
{
	return listed_in(w, NULL, "", id);
}

/* The city officer finds the store under `status` and nowhere else, and in the list of every state. */
static void expect_admin_listed(struct world *w, int64_t id, const char *status)
{
	static const char *const all[] = { "pending", "verified", "suspended" };
	char query[32];
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		snprintf(query, sizeof(query), "status=%s", all[i]);
		assert_int_equal(listed_in(w, w->admin, query, id), strcmp(all[i], status) == 0);
	}
	assert_int_equal(listed_in(w, w->admin, "all", id), 1);
}

static void expect_status(struct world *w, const char *token, int64_t id, const char *status)
{
	char path[PATH_LEN];
	json_t *st;
	path_of(path, id, "");
	st = apitest_call(w->srv, token, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(st, "status"), status);
	json_decref(st);
}

/*
 * A status change takes no fields: a body, when sent, must be a JSON object
 * without members, or it is refused before anything changes.
 */
static void expect_bad_change_bodies(struct world *w, int64_t id)
{
	static const char *const actions[] = { "verify", "suspend", "reinstate" };
	static const struct {
		const char *body, *code, *part;
	} cases[] = {
		{ "{\"reason\":\"dokumen lengkap\"}", "unknown_field", "reason" },
		{ "{\"status\":\"verified\"}", "unknown_field", "status" },
		{ "[1]", "invalid_json", NULL },
		{ "{\"a\":", "invalid_json", NULL },
		{ "null", "invalid_json", NULL },
	};
	char action[PATH_LEN], auth[TOKEN_MAX + 32];
	const char *text_body[] = { auth, "Content-Type: text/plain", NULL };
	struct testsrv_response resp;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->admin);
	for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
		snprintf(action, sizeof(action), "/api/v1/admin/merchants/%lld/%s", (long long)id, actions[a]);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			apitest_expect_error(w->srv, w->admin, "POST", action, cases[i].body, 400, cases[i].code,
					     cases[i].part);
		assert_int_equal(testsrv_request(w->srv, "POST", action, text_body, "ok", &resp), 0);
		assert_int_equal(resp.status, 415);
		assert_true(testsrv_error_is(&resp, "unsupported_media_type"));
		testsrv_response_free(&resp);
	}
}

/* Pending until verified; suspended disappears and keeps its record; reinstated returns. */
static void test_life_of_a_store(void **state)
{
	struct world *w = *state;
	char path[PATH_LEN], action[PATH_LEN];
	int64_t id = register_store(w);
	json_t *st, *mine;

	path_of(path, id, "");
	apitest_expect_error(w->srv, NULL, "GET", path, NULL, 404, "not_found", NULL);
	apitest_expect_error(w->srv, w->budi, "GET", path, NULL, 404, "not_found", NULL);
	expect_status(w, w->siti, id, "pending");
	expect_status(w, w->admin, id, "pending");
	assert_int_equal(listed(w, id), 0);
	expect_admin_listed(w, id, "pending");
	apitest_expect_error(w->srv, w->admin, "GET", "/api/v1/admin/merchants?status=closed", NULL, 400,
			     "invalid_field", "status");
	apitest_expect_error(w->srv, w->siti, "GET", "/api/v1/admin/merchants", NULL, 403, "forbidden", NULL);
	/* The auditor reads the city officer's list (full view) and changes nothing. */
	assert_int_equal(listed_in(w, w->auditor, "status=pending", id), 1);
	assert_int_equal(listed_in(w, w->auditor, "all", id), 1);
	mine = apitest_call(w->srv, w->siti, "GET", "/api/v1/me/merchants", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(mine, "items")), 1);
	json_decref(mine);

	expect_bad_change_bodies(w, id);
	expect_status(w, w->admin, id, "pending");
	snprintf(action, sizeof(action), "/api/v1/admin/merchants/%lld/verify", (long long)id);
	json_decref(apitest_call(w->srv, w->admin, "POST", action, "{}", 200));
	apitest_expect_error(w->srv, w->admin, "POST", action, NULL, 409, "invalid_state", "verified");
	st = apitest_call(w->srv, NULL, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(st, "status"), "verified");
	assert_string_equal(apitest_str(st, "whatsapp"), "+6281234567890");
	assert_null(json_object_get(st, "bank_account"));
	assert_true(json_is_null(json_object_get(json_object_get(st, "rating"), "average")));
	json_decref(st);
	assert_int_equal(listed(w, id), 1);
	expect_admin_listed(w, id, "verified");

	snprintf(action, sizeof(action), "/api/v1/admin/merchants/%lld/suspend", (long long)id);
	json_decref(apitest_call(w->srv, w->admin, "POST", action, NULL, 200));
	apitest_expect_error(w->srv, w->admin, "POST", action, NULL, 409, "invalid_state", "suspended");
	apitest_expect_error(w->srv, NULL, "GET", path, NULL, 404, "not_found", NULL);
	expect_status(w, w->siti, id, "suspended");
	assert_int_equal(listed(w, id), 0);
	expect_admin_listed(w, id, "suspended");

	snprintf(action, sizeof(action), "/api/v1/admin/merchants/%lld/reinstate", (long long)id);
	json_decref(apitest_call(w->srv, w->admin, "POST", action, NULL, 200));
	apitest_expect_error(w->srv, w->admin, "POST", action, NULL, 409, "invalid_state", "verified");
	expect_status(w, NULL, id, "verified");
	assert_int_equal(listed(w, id), 1);
	apitest_expect_error(w->srv, w->admin, "POST", "/api/v1/admin/merchants/999/verify", NULL, 404, "not_found",
			     NULL);
	world_finish(w);
}

/* The owner edits the given fields only; another merchant may not. */
static void test_edit(void **state)
{
	struct world *w = *state;
	char path[PATH_LEN];
	int64_t id = register_store(w);
	json_t *st;
	path_of(path, id, "");
	st = apitest_call(w->srv, w->siti, "PUT", path, "{\"hours\":\"07.00-22.00\",\"bank_account\":\"999\"}", 200);
	assert_string_equal(apitest_str(st, "hours"), "07.00-22.00");
	assert_string_equal(apitest_str(st, "bank_account"), "999");
	assert_string_equal(apitest_str(st, "name"), "Warung Siti");
	json_decref(st);
	json_decref(apitest_call(w->srv, w->admin, "PUT", path, "{\"name\":\"Warung Siti Baru\"}", 200));
	expect_status(w, w->siti, id, "pending");
	apitest_expect_error(w->srv, w->budi, "PUT", path, "{\"hours\":\"x\"}", 403, "forbidden", NULL);
	apitest_expect_error(w->srv, w->siti, "PUT", path, "{\"opening\":\"x\"}", 400, "unknown_field", "opening");
	apitest_expect_error(w->srv, w->siti, "PUT", path, "{\"criteria\":\"XYZ\"}", 400, "invalid_field",
			     "criteria");
	apitest_expect_error(w->srv, w->siti, "PUT", "/api/v1/merchants/999", "{}", 404, "not_found", NULL);
	st = apitest_call(w->srv, w->siti, "GET", path, NULL, 200);
	assert_string_equal(apitest_str(st, "name"), "Warung Siti Baru");
	assert_string_equal(apitest_str(st, "hours"), "07.00-22.00");
	json_decref(st);
	world_finish(w);
}

/* Every way a registration can be wrong is 400 naming the field, and nothing is made. */
static void test_bad_registrations(void **state)
{
	struct world *w = *state;
	static const struct {
		const char *body, *code, *part;
	} cases[] = {
		{ "{\"name\":\"A\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"UMI\"}", "invalid_field", "nmid" },
		{ "{\"name\":\"A|B\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"UMI\",\"nmid\":\"N\"}",
		  "invalid_field", "name" },
		{ "{\"name\":\"A\",\"city\":\"P\",\"postal_code\":\"12a\",\"criteria\":\"UMI\",\"nmid\":\"N\"}",
		  "invalid_field", "postal_code" },
		{ "{\"name\":\"A\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"BIG\",\"nmid\":\"N\"}",
		  "invalid_field", "criteria" },
		{ "{\"name\":\"A\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"UMI\",\"nmid\":\"N\",\"phone\":\"08-12\"}",
		  "invalid_field", "phone" },
		{ "{\"name\":\"A\",\"city\":\"PAYAKUMBUH-KOTA-X\",\"postal_code\":\"1\",\"criteria\":\"UMI\",\"nmid\":\"N\"}",
		  "invalid_field", "city" },
		{ "{\"name\":\"A\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"UMI\",\"nmid\":\"N\",\"mcc\":12}",
		  "invalid_field", "mcc" },
		{ "{\"name\":\"A\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"UMI\",\"nmid\":\"N\",\"owner_user_id\":1}",
		  "unknown_field", "owner_user_id" },
		{ "{\"name\":\"A\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"UMI\",\"nmid\":\"N\",\"desc\":\"x\"}",
		  "unknown_field", "desc" },
		{ "[1]", "invalid_json", NULL },
		{ "{\"name\":", "invalid_json", NULL },
	};
	json_t *mine;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		apitest_expect_error(w->srv, w->siti, "POST", "/api/v1/merchants", cases[i].body, 400, cases[i].code,
				     cases[i].part);
	/* The admin's form needs an owner. */
	apitest_expect_error(w->srv, w->admin, "POST", "/api/v1/admin/merchants", STORE_BODY, 400, "invalid_field",
			     "owner_user_id");
	{
		/* ... who is a merchant's account: not a shopper's, not one that does not exist. */
		json_t *me = apitest_call(w->srv, w->shopper, "GET", "/api/v1/me", NULL, 200);
		const char *fmt = "{\"owner_user_id\":%lld,\"name\":\"Toko\",\"city\":\"P\",\"postal_code\":\"1\","
				  "\"criteria\":\"UMI\",\"nmid\":\"N\"}";
		char body[256];
		snprintf(body, sizeof(body), fmt, (long long)apitest_int(me, "id"));
		json_decref(me);
		apitest_expect_error(w->srv, w->admin, "POST", "/api/v1/admin/merchants", body, 422,
				     "owner_not_merchant", NULL);
		snprintf(body, sizeof(body), fmt, 999LL);
		apitest_expect_error(w->srv, w->admin, "POST", "/api/v1/admin/merchants", body, 422,
				     "owner_not_merchant", "999");
	}
	mine = apitest_call(w->srv, w->siti, "GET", "/api/v1/me/merchants", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(mine, "items")), 0);
	json_decref(mine);
	apitest_expect_error(w->srv, NULL, "GET", "/api/v1/merchants?limit=0", NULL, 400, "invalid_field", "limit");
	apitest_expect_error(w->srv, NULL, "GET", "/api/v1/merchants?cursor=-1", NULL, 400, "invalid_field",
			     "cursor");
	world_finish(w);
}

/*
 * GET path as token (NULL: none) answers status: on 200 an SVG image, else
 * the error unauthorized (401) or forbidden (403).
 */
static void expect_svg(struct world *w, const char *token, const char *path, int status)
{
	char auth[TOKEN_MAX + 32];
	const char *headers[] = { auth, NULL };
	struct testsrv_response resp;
	const char *type;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	assert_int_equal(testsrv_request(w->srv, "GET", path, token ? headers : NULL, NULL, &resp), 0);
	if (resp.status != status)
		fail_msg("GET %s: status %d, want %d: %.200s", path, resp.status, status, resp.body);
	if (status == 200) {
		type = testsrv_header(&resp, "Content-Type");
		assert_non_null(type);
		assert_int_equal(strncmp(type, "image/svg+xml", strlen("image/svg+xml")), 0);
		assert_non_null(strstr(resp.body, "<svg"));
		assert_non_null(strstr(resp.body, "</svg>"));
	} else {
		assert_true(testsrv_error_is(&resp, status == 401 ? "unauthorized" : "forbidden"));
	}
	testsrv_response_free(&resp);
}

/* Which statuses each role gets from each endpoint. */
static void test_authorization_matrix(void **state)
{
	struct world *w = *state;
	int64_t id = register_store(w);
	char one[PATH_LEN], qris[PATH_LEN], qris_svg[PATH_LEN], action[PATH_LEN];
	const char *tokens[] = { NULL, w->shopper, w->courier, w->auditor, w->budi, w->siti, w->admin };
	/* public, shopper, courier, auditor, other merchant, owner, admin */
	static const int post_store[] = { 401, 403, 403, 403, 201, 201, 403 };
	static const int get_pending[] = { 404, 404, 404, 404, 404, 200, 200 };
	static const int put_store[] = { 401, 403, 403, 403, 403, 200, 200 };
	static const int mine[] = { 401, 403, 403, 403, 200, 200, 403 };
	static const int admin_post[] = { 401, 403, 403, 403, 403, 403, 201 };
	static const int admin_list[] = { 401, 403, 403, 200, 403, 403, 200 };
	static const int get_qris[] = { 401, 403, 403, 403, 403, 200, 200 };
	static const int admin_only[] = { 401, 403, 403, 403, 403, 403, 200 };
	/* In this order each one's admin call succeeds: pending -> verified -> suspended -> verified, featured. */
	static const struct {
		const char *action, *body, *status;
	} changes[] = {
		{ "verify", NULL, "verified" },
		{ "suspend", NULL, "suspended" },
		{ "reinstate", NULL, "verified" },
		{ "feature", "{\"featured\":true}", "verified" },
	};
	char admin_body[512];
	path_of(one, id, "");
	path_of(qris, id, "/qris");
	path_of(qris_svg, id, "/qris.svg");
	snprintf(admin_body, sizeof(admin_body),
		 "{\"owner_user_id\":%lld,\"name\":\"Toko B\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"UKE\","
		 "\"nmid\":\"N1\"}",
		 (long long)w->siti_id);
	for (size_t r = 0; r < sizeof(tokens) / sizeof(tokens[0]); r++) {
		json_decref(apitest_call(w->srv, tokens[r], "POST", "/api/v1/merchants", STORE_BODY, post_store[r]));
		json_decref(apitest_call(w->srv, tokens[r], "GET", one, NULL, get_pending[r]));
		json_decref(apitest_call(w->srv, tokens[r], "PUT", one, "{\"hours\":\"24 jam\"}", put_store[r]));
		json_decref(apitest_call(w->srv, tokens[r], "GET", "/api/v1/me/merchants", NULL, mine[r]));
		json_decref(apitest_call(w->srv, tokens[r], "POST", "/api/v1/admin/merchants", admin_body, admin_post[r]));
		json_decref(apitest_call(w->srv, tokens[r], "GET", qris, NULL, get_qris[r]));
		expect_svg(w, tokens[r], qris_svg, get_qris[r]);
		json_decref(apitest_call(w->srv, tokens[r], "GET", "/api/v1/merchants", NULL, 200));
		json_decref(apitest_call(w->srv, tokens[r], "GET", "/api/v1/admin/merchants", NULL, admin_list[r]));
	}
	/* Each change refused to every other role leaves the store as it was; the admin's (last) makes it. */
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		snprintf(action, sizeof(action), "/api/v1/admin/merchants/%lld/%s", (long long)id, changes[i].action);
		for (size_t r = 0; r < sizeof(tokens) / sizeof(tokens[0]); r++) {
			json_t *st = apitest_call(w->srv, tokens[r], "POST", action, changes[i].body, admin_only[r]);
			if (admin_only[r] == 200) {
				assert_string_equal(apitest_str(st, "status"), changes[i].status);
				assert_true(!changes[i].body || json_is_true(json_object_get(st, "featured")));
			} else {
				expect_status(w, w->admin, id, i == 0 ? "pending" : changes[i - 1].status);
			}
			json_decref(st);
		}
	}
	world_finish(w);
}

/* A keyed registration by Siti: the new store's id (0 for an expected error). */
static int64_t keyed_id(struct world *w, const char *key, const char *body, int status)
{
	json_t *doc = apitest_call_keyed(w->srv, w->siti, "POST", "/api/v1/merchants", key, body, status);
	int64_t id = status == 201 ? apitest_int(doc, "id") : 0;
	if (status != 201)
		assert_non_null(json_object_get(doc, "error"));
	json_decref(doc);
	return id;
}

/* The same key and body make one store; another body is 409; a bad key is 400. */
static void test_idempotency(void **state)
{
	struct world *w = *state;
	int64_t first = keyed_id(w, "reg-1", STORE_BODY, 201);
	json_t *mine;
	assert_int_equal(keyed_id(w, "reg-1", STORE_BODY, 201), first);
	keyed_id(w, "reg-1", "{\"name\":\"Lain\",\"city\":\"P\",\"postal_code\":\"1\",\"criteria\":\"UMI\",\"nmid\":\"N\"}",
		 409);
	keyed_id(w, "has space", STORE_BODY, 400);
	assert_int_not_equal(keyed_id(w, "reg-2", STORE_BODY, 201), first);
	mine = apitest_call(w->srv, w->siti, "GET", "/api/v1/me/merchants", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(mine, "items")), 2);
	json_decref(mine);
	world_finish(w);
}

/* One user may run at most 50 stores. */
static void test_store_limit(void **state)
{
	struct world *w = *state;
	for (int i = 0; i < 50; i++)
		json_decref(apitest_call(w->srv, w->budi, "POST", "/api/v1/merchants", STORE_BODY, 201));
	apitest_expect_error(w->srv, w->budi, "POST", "/api/v1/merchants", STORE_BODY, 409, "too_many_stores", "50");
	json_decref(apitest_call(w->srv, w->siti, "POST", "/api/v1/merchants", STORE_BODY, 201));
	world_finish(w);
}

/* Siti's store, verified by the admin; returns its id. */
static int64_t verified_store(struct world *w)
{
	char action[PATH_LEN];
	int64_t id = register_store(w);
	snprintf(action, sizeof(action), "/api/v1/admin/merchants/%lld/verify", (long long)id);
	json_decref(apitest_call(w->srv, w->admin, "POST", action, NULL, 200));
	return id;
}

/* POSTs {"featured": on} for store id as token, expecting status (on 200, the store says so). */
static void feature(struct world *w, const char *token, int64_t id, bool on, int status)
{
	char path[PATH_LEN];
	json_t *st;
	snprintf(path, sizeof(path), "/api/v1/admin/merchants/%lld/feature", (long long)id);
	st = apitest_call(w->srv, token, "POST", path, on ? "{\"featured\":true}" : "{\"featured\":false}", status);
	if (status == 200)
		assert_true(json_is_true(json_object_get(st, "featured")) == on);
	json_decref(st);
}

/* The public featured list is exactly want[0..n), in one page and walked a page of one at a time. */
static void expect_featured(struct world *w, const int64_t *want, size_t n)
{
	char path[PATH_LEN] = "/api/v1/merchants?featured=true";
	json_t *doc = apitest_call(w->srv, NULL, "GET", path, NULL, 200), *items = json_object_get(doc, "items"), *it;
	size_t i, got = 0;
	assert_int_equal(json_array_size(items), n);
	json_array_foreach(items, i, it) {
		assert_int_equal(apitest_int(it, "id"), want[i]);
		assert_true(json_is_true(json_object_get(it, "featured")));
		assert_null(json_object_get(it, "nmid"));
	}
	json_decref(doc);
	snprintf(path, sizeof(path), "/api/v1/merchants?featured=true&limit=1");
	for (;;) {
		json_t *next;
		doc = apitest_call(w->srv, NULL, "GET", path, NULL, 200);
		items = json_object_get(doc, "items");
		assert_true(json_array_size(items) <= 1);
		json_array_foreach(items, i, it) {
			assert_true(got < n);
			assert_int_equal(apitest_int(it, "id"), want[got++]);
		}
		next = json_object_get(doc, "next_cursor");
		if (!json_is_string(next)) {
			json_decref(doc);
			break;
		}
		snprintf(path, sizeof(path), "/api/v1/merchants?featured=true&limit=1&cursor=%s", json_string_value(next));
		json_decref(doc);
	}
	assert_int_equal(got, n);
}

/* Whether the store's page (read by its owner) says it is featured. */
static bool is_featured(struct world *w, int64_t id)
{
	char path[PATH_LEN];
	json_t *st;
	bool featured;
	path_of(path, id, "");
	st = apitest_call(w->srv, w->siti, "GET", path, NULL, 200);
	assert_true(json_is_boolean(json_object_get(st, "featured")));
	featured = json_is_true(json_object_get(st, "featured"));
	json_decref(st);
	return featured;
}

/*
 * Kills the server and starts another on its data (moved out of the dead
 * one's folder), store `old` written back as version 3 in between; the admin
 * and Siti sign in again.
 */
static void restart(struct world *w, int64_t old)
{
	char data[TESTSRV_PATH_MAX + 8];
	const char *const env[] = { COST_ENV, NULL };
	const char *args[] = { "--data", data, NULL };
	uint8_t key[8];
	assert_int_equal(testsrv_crash_keep_data(w->srv, w->moved, sizeof(w->moved), data, sizeof(data)), 0);
	testsrv_free(w->srv);
	/* Version 4 added the featured place, its last field. */
	record_be64_put(key, (uint64_t)old);
	apitest_record_older(data, "merchants", key, sizeof(key), 4);
	w->srv = testsrv_new(args, env);
	assert_non_null(w->srv);
	apitest_login(w->srv, "admin", PASSWORD, w->admin);
	apitest_login(w->srv, "siti", PASSWORD, w->siti);
}

/*
 * The city's featured stores: only admins feature, only verified stores,
 * newest featured first; featuring again keeps a store's place; suspending
 * takes a store off the list for good; the list survives a restart, and a
 * store record from before featuring (version 3) still reads.
 */
static void test_featured(void **state)
{
	struct world *w = *state;
	const char *tokens[] = { NULL, w->shopper, w->courier, w->auditor, w->budi, w->siti };
	static const int denied[] = { 401, 403, 403, 403, 403, 403 };
	int64_t a = verified_store(w), b = verified_store(w), c = verified_store(w), pending = register_store(w);
	char path[PATH_LEN], action[PATH_LEN];

	expect_featured(w, NULL, 0);
	for (size_t r = 0; r < sizeof(tokens) / sizeof(tokens[0]); r++)
		feature(w, tokens[r], a, true, denied[r]);
	expect_featured(w, NULL, 0);
	snprintf(path, sizeof(path), "/api/v1/admin/merchants/%lld/feature", (long long)pending);
	apitest_expect_error(w->srv, w->admin, "POST", path, "{\"featured\":true}", 409, "invalid_state", "pending");
	apitest_expect_error(w->srv, w->admin, "POST", path, "{}", 400, "invalid_field", "featured");
	apitest_expect_error(w->srv, w->admin, "POST", path, "{\"featured\":1}", 400, "invalid_field", "featured");
	apitest_expect_error(w->srv, w->admin, "POST", path, "{\"featured\":true,\"top\":1}", 400, "unknown_field",
			     "top");
	apitest_expect_error(w->srv, w->admin, "POST", "/api/v1/admin/merchants/999/feature", "{\"featured\":true}",
			     404, "not_found", NULL);
	apitest_expect_error(w->srv, NULL, "GET", "/api/v1/merchants?featured=yes", NULL, 400, "invalid_field",
			     "featured");
	feature(w, w->admin, pending, false, 200);
	assert_false(is_featured(w, pending));

	feature(w, w->admin, a, true, 200);
	feature(w, w->admin, c, true, 200);
	feature(w, w->admin, b, true, 200);
	expect_featured(w, (const int64_t[]){ b, c, a }, 3);
	feature(w, w->admin, a, true, 200);
	expect_featured(w, (const int64_t[]){ b, c, a }, 3);
	assert_true(is_featured(w, a));
	assert_int_equal(listed(w, pending), 0);
	assert_int_equal(listed_in(w, NULL, "featured=false", a), 1);
	assert_int_equal(listed_in(w, NULL, "featured=false", pending), 0);

	feature(w, w->admin, c, false, 200);
	feature(w, w->admin, c, false, 200);
	expect_featured(w, (const int64_t[]){ b, a }, 2);
	assert_false(is_featured(w, c));

	snprintf(action, sizeof(action), "/api/v1/admin/merchants/%lld/suspend", (long long)b);
	json_decref(apitest_call(w->srv, w->admin, "POST", action, NULL, 200));
	expect_featured(w, (const int64_t[]){ a }, 1);
	feature(w, w->admin, b, true, 409);
	snprintf(action, sizeof(action), "/api/v1/admin/merchants/%lld/reinstate", (long long)b);
	json_decref(apitest_call(w->srv, w->admin, "POST", action, NULL, 200));
	assert_false(is_featured(w, b));
	expect_featured(w, (const int64_t[]){ a }, 1);

	feature(w, w->admin, c, true, 200);
	expect_featured(w, (const int64_t[]){ c, a }, 2);
	/* b's record from before featuring: read as never featured, and featured like any other. */
	restart(w, b);
	expect_featured(w, (const int64_t[]){ c, a }, 2);
	assert_true(is_featured(w, c));
	assert_false(is_featured(w, b));
	expect_status(w, NULL, b, "verified");
	feature(w, w->admin, b, true, 200);
	expect_featured(w, (const int64_t[]){ b, c, a }, 3);
	world_finish(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_life_of_a_store, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_edit, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_bad_registrations, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_authorization_matrix, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_idempotency, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_store_limit, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_featured, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
