/*
 * Auth through the real HTTP server in this process: a store in a
 * temporary folder, the work pool, httpd on 127.0.0.1 with an ephemeral
 * port, and libevent's HTTP client on the same loop.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "auth.h"
#include "httpd.h"
#include "metrics.h"
#include "role.h"
#include "store.h"
#include "workq.h"

struct env {
	char dir[64];
	struct event_base *base;
	struct store *store;
	struct workq *workq;
	struct httpd *httpd;
	struct auth *auth;
	uint16_t port;
};

struct reply {
	int status;
	json_t *body;
	char retry_after[16];
	bool done;
};

static int env_start(void **state, int64_t token_ttl_s, unsigned max_account, unsigned max_address)
{
	struct env *e = calloc(1, sizeof(*e));
	struct store_config sc = { .map_size = 8 << 20, .map_max = 64 << 20, .group_commit = true };
	struct auth_config ac = { .token_ttl_s = token_ttl_s, .password_cost = 10, .login_window_s = 60,
				  .login_max_account = max_account, .login_max_address = max_address };
	struct httpd_config hc = { .host = "127.0.0.1", .max_body = 65536, .max_headers = 8192,
				   .timeout_s = 5, .shutdown_grace_s = 1 };
	if (!e)
		return -1;
	strcpy(e->dir, "/tmp/bangsoleh-auth-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	sc.path = e->dir;
	metrics_init();
	e->base = event_base_new();
	if (!e->base || store_open(&sc, &e->store) || auth_open(e->store, &ac, &e->auth) ||
	    store_start(e->store, e->base) || workq_new(e->base, 1, 16, &e->workq) ||
	    httpd_new(e->base, &hc, &e->httpd) || auth_attach(e->auth, e->httpd, e->workq) ||
	    httpd_listen(e->httpd, &e->port))
		return -1;
	*state = e;
	return 0;
}

static int setup(void **state)
{
	return env_start(state, 3600, 3, 1000);
}

static int setup_expired(void **state)
{
	/* A token that is already expired when issued. */
	return env_start(state, 0, 3, 1000);
}

static int setup_address_limit(void **state)
{
	return env_start(state, 3600, 1000, 4);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct env *e = *state;
	workq_free(e->workq);
	store_stop(e->store);
	httpd_free(e->httpd);
	auth_free(e->auth);
	store_close(e->store);
	event_base_free(e->base);
	nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct reply *r = arg;
	r->done = true;
	if (!req)
		return;
	r->status = evhttp_request_get_response_code(req);
	{
		struct evbuffer *buf = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(buf);
		const char *ra = evhttp_find_header(evhttp_request_get_input_headers(req), "Retry-After");
		if (ra)
			snprintf(r->retry_after, sizeof(r->retry_after), "%s", ra);
		if (len)
			r->body = json_loadb((const char *)evbuffer_pullup(buf, -1), len, 0, NULL);
	}
}

/* One request over a fresh connection; runs the loop until the reply. */
static struct reply call(struct env *e, enum evhttp_cmd_type method, const char *path, const char *token,
			 const char *body)
{
	struct reply r = { 0 };
	struct evhttp_connection *conn = evhttp_connection_base_new(e->base, NULL, "127.0.0.1", e->port);
	struct evhttp_request *req = evhttp_request_new(on_reply, &r);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char auth[128];
	evhttp_add_header(h, "Host", "127.0.0.1");
	if (token) {
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		evhttp_add_header(h, "Authorization", auth);
	}
	if (body) {
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	}
	evhttp_make_request(conn, req, method, path);
	while (!r.done)
		event_base_loop(e->base, EVLOOP_ONCE);
	evhttp_connection_free(conn);
	return r;
}

static const char *error_code(const struct reply *r)
{
	return json_string_value(json_object_get(json_object_get(r->body, "error"), "code"));
}

static void expect(struct reply r, int status, const char *code)
{
	if (r.status != status)
		fail_msg("status %d, wanted %d (%s)", r.status, status, error_code(&r) ? error_code(&r) : "-");
	if (code)
		assert_string_equal(error_code(&r), code);
	json_decref(r.body);
}

static void reg(struct env *e, const char *user, const char *password)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL, body), 201, NULL);
}

/* Logs in and copies the token into out (cap 64); returns the status. */
static int login(struct env *e, const char *user, const char *password, char *out)
{
	char body[256];
	struct reply r;
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
	r = call(e, EVHTTP_REQ_POST, "/api/v1/auth/login", NULL, body);
	if (r.status == 200) {
		const char *t = json_string_value(json_object_get(r.body, "token"));
		assert_non_null(t);
		assert_int_equal(strlen(t), 43);
		strcpy(out, t);
	}
	json_decref(r.body);
	return r.status;
}

static void test_register_login_me_logout(void **state)
{
	struct env *e = *state;
	uint64_t dropped;
	char token[64];
	struct reply r;
	r = call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL,
		 "{\"username\":\"siti\",\"password\":\"rendang-enak\"}");
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(r.body, "role")), "shopper");
	json_decref(r.body);
	assert_int_equal(login(e, "siti", "rendang-enak", token), 200);
	/* Usernames are case-insensitive at sign-in. */
	assert_int_equal(login(e, "SITI", "rendang-enak", token), 200);
	/* Tokens within their time are not the purge's. */
	assert_int_equal(auth_purge(e->auth, &dropped), 0);
	assert_int_equal(dropped, 0);
	r = call(e, EVHTTP_REQ_GET, "/api/v1/me", token, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.body, "username")), "siti");
	json_decref(r.body);
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/logout", token, NULL), 204, NULL);
	expect(call(e, EVHTTP_REQ_GET, "/api/v1/me", token, NULL), 401, "unauthorized");
}

static void test_duplicate_and_bad_fields(void **state)
{
	struct env *e = *state;
	reg(e, "budi", "password-1");
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL,
		    "{\"username\":\"budi\",\"password\":\"password-2\"}"), 409, "username_taken");
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL,
		    "{\"username\":\"Budi!\",\"password\":\"password-2\"}"), 400, "invalid_field");
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL,
		    "{\"username\":\"ani\",\"password\":\"short\"}"), 400, "invalid_field");
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL,
		    "{\"username\":\"ani\",\"password\":12345678}"), 400, "invalid_field");
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL,
		    "{\"username\":\"ani\",\"password\":\"password-2\",\"role\":\"admin\"}"), 400, "invalid_field");
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL, "{\"username\":"), 400, "invalid_json");
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL, "[1,2]"), 400, "invalid_json");
	/* A merchant may sign up as one. */
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/auth/register", NULL,
		    "{\"username\":\"warung-ani\",\"password\":\"password-2\",\"role\":\"merchant\"}"), 201, NULL);
}

static void test_wrong_password(void **state)
{
	struct env *e = *state;
	char token[64];
	reg(e, "dewi", "correct-horse");
	assert_int_equal(login(e, "dewi", "wrong-horse", token), 401);
	assert_int_equal(login(e, "nobody", "correct-horse", token), 401);
	assert_int_equal(login(e, "dewi", "correct-horse", token), 200);
}

static void test_bad_tokens(void **state)
{
	struct env *e = *state;
	expect(call(e, EVHTTP_REQ_GET, "/api/v1/me", NULL, NULL), 401, "unauthorized");
	expect(call(e, EVHTTP_REQ_GET, "/api/v1/me", "not-a-token", NULL), 401, "unauthorized");
	expect(call(e, EVHTTP_REQ_GET, "/api/v1/me", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL), 401,
	       "unauthorized");
}

static void test_expired_token(void **state)
{
	struct env *e = *state;
	uint64_t dropped;
	char token[64];
	reg(e, "eka", "password-1");
	assert_int_equal(login(e, "eka", "password-1", token), 200);
	expect(call(e, EVHTTP_REQ_GET, "/api/v1/me", token, NULL), 401, "unauthorized");
	/* The purge drops the refused token, once. */
	assert_int_equal(auth_purge(e->auth, &dropped), 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(auth_purge(e->auth, &dropped), 0);
	assert_int_equal(dropped, 0);
	expect(call(e, EVHTTP_REQ_GET, "/api/v1/me", token, NULL), 401, "unauthorized");
}

static void test_wrong_role(void **state)
{
	struct env *e = *state;
	char token[64];
	uint64_t id;
	const char *body = "{\"username\":\"kurir1\",\"password\":\"password-1\",\"role\":\"courier\"}";
	reg(e, "fajar", "password-1");
	assert_int_equal(login(e, "fajar", "password-1", token), 200);
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/users", token, body), 403, "forbidden");
	assert_int_equal(auth_user_add(e->auth, "kota-admin", "admin-password", ROLE_ADMIN, &id), AUTH_OK);
	assert_int_equal(auth_user_add(e->auth, "kota-admin", "admin-password", ROLE_ADMIN, &id), AUTH_EEXISTS);
	assert_int_equal(auth_user_add(e->auth, "x", "admin-password", ROLE_ADMIN, &id), AUTH_EINVAL);
	assert_int_equal(login(e, "kota-admin", "admin-password", token), 200);
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/users", token, body), 201, NULL);
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/users", token,
		    "{\"username\":\"kurir2\",\"password\":\"password-1\",\"role\":\"pilot\"}"), 400, "invalid_field");
	expect(call(e, EVHTTP_REQ_POST, "/api/v1/users", token,
		    "{\"username\":\"kurir2\",\"password\":\"password-1\"}"), 400, "invalid_field");
	assert_int_equal(login(e, "kurir1", "password-1", token), 200);
}

static void test_account_rate_limit(void **state)
{
	struct env *e = *state;
	char token[64];
	struct reply r;
	reg(e, "gita", "password-1");
	for (int i = 0; i < 3; i++)
		assert_int_equal(login(e, "gita", "wrong-password", token), 401);
	/* Now even the right password waits, and says how long. */
	r = call(e, EVHTTP_REQ_POST, "/api/v1/auth/login", NULL,
		 "{\"username\":\"gita\",\"password\":\"password-1\"}");
	assert_int_equal(r.status, 429);
	assert_string_equal(error_code(&r), "too_many_attempts");
	assert_true(atoi(r.retry_after) >= 1 && atoi(r.retry_after) <= 60);
	json_decref(r.body);
	/* Another account is not affected. */
	reg(e, "hadi", "password-1");
	assert_int_equal(login(e, "hadi", "password-1", token), 200);
}

static void test_address_rate_limit(void **state)
{
	struct env *e = *state;
	char token[64];
	reg(e, "indah", "password-1");
	for (int i = 0; i < 4; i++)
		assert_int_equal(login(e, "indah", i % 2 ? "password-1" : "wrong-password", token),
				 i % 2 ? 200 : 401);
	assert_int_equal(login(e, "indah", "password-1", token), 429);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_login_me_logout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_and_bad_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_token, setup_expired, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_role, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_rate_limit, setup_address_limit, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
