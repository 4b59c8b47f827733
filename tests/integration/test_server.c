/*
 * Integration tests of the HTTP server as a whole: the real `bangsoleh serve`
 * on loopback, driven over raw HTTP/1.1. Each test starts its own server and
 * ends by stopping it, so every test also proves a clean exit (status 0,
 * and under the sanitizers: no leak, no undefined behaviour).
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

#include "build_config.h"
#include "testsrv.h"

#define JSON_TYPE "application/json; charset=utf-8"
#define OUTPUT_MAX 8192
#define REQUEST_ID_LEN 32

static int server_setup(void **state)
{
	*state = testsrv_new(NULL, NULL);
	return *state ? 0 : -1;
}

static int server_teardown(void **state)
{
	testsrv_free(*state);
	return 0;
}

/* The body as JSON; fails the test when it is not. Caller json_decref's. */
static json_t *body_json(const struct testsrv_response *resp)
{
	json_error_t err;
	json_t *doc = json_loadb(resp->body, resp->body_len, 0, &err);
	if (!doc)
		fail_msg("body is not JSON (%s): %.256s", err.text, resp->body);
	return doc;
}

static void assert_json_type(const struct testsrv_response *resp)
{
	const char *ctype = testsrv_header(resp, "Content-Type");
	assert_non_null(ctype);
	assert_string_equal(ctype, JSON_TYPE);
}

static void get(const struct testsrv *srv, const char *path, const char *const *headers,
		struct testsrv_response *resp)
{
	assert_int_equal(testsrv_request(srv, "GET", path, headers, NULL, resp), 0);
}

static void test_healthz_ok(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	json_t *doc;

	get(srv, "/healthz", NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_json_type(&resp);
	doc = body_json(&resp);
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
	json_decref(doc);
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
}

static void test_ping(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	json_t *doc, *want = json_pack("{s:b}", "ok", 1);

	get(srv, "/api/v1/ping", NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_json_type(&resp);
	doc = body_json(&resp);
	assert_true(json_equal(doc, want));
	json_decref(doc);
	json_decref(want);
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
}

/* True when text has a line starting with prefix that also contains part. */
static bool has_line(const char *text, const char *prefix, const char *part)
{
	const char *line = text;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (strncmp(line, prefix, strlen(prefix)) == 0) {
			char *copy = strndup(line, len);
			bool found = copy && strstr(copy, part);
			free(copy);
			if (found)
				return true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

static void test_metrics_count_requests_by_route(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	const char *ctype;

	get(srv, "/healthz", NULL, &resp);
	assert_int_equal(resp.status, 200);
	testsrv_response_free(&resp);

	get(srv, "/metrics", NULL, &resp);
	assert_int_equal(resp.status, 200);
	ctype = testsrv_header(&resp, "Content-Type");
	assert_non_null(ctype);
	assert_true(strncmp(ctype, "text/plain", 10) == 0);
	assert_non_null(strstr(resp.body, "bangsoleh_http_requests_total"));
	if (!has_line(resp.body, "bangsoleh_http_requests_total{", "route=\"/healthz\""))
		fail_msg("no requests_total series for /healthz in:\n%s", resp.body);
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
}

/* The request with this id has one access-log line, with the documented fields. */
static void assert_access_line(const struct testsrv *srv, const char *request_id,
			       const char *route, int status, size_t body_len)
{
	json_t *line;
	size_t matches;
	assert_int_equal(testsrv_log_find(srv, "request_id", request_id, &line, &matches), 0);
	assert_int_equal(matches, 1);
	assert_string_equal(json_string_value(json_object_get(line, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(line, "route")), route);
	assert_true(json_is_integer(json_object_get(line, "status")));
	assert_int_equal(json_integer_value(json_object_get(line, "status")), status);
	assert_true(json_is_integer(json_object_get(line, "bytes")));
	assert_int_equal(json_integer_value(json_object_get(line, "bytes")), body_len);
	assert_true(json_is_integer(json_object_get(line, "duration_us")));
	assert_true(json_integer_value(json_object_get(line, "duration_us")) >= 0);
	json_decref(line);
}

static void test_request_id_echoed_and_logged(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	const char *const headers[] = { "X-Request-Id: abc-123", NULL };
	const char *id;

	get(srv, "/healthz", headers, &resp);
	assert_int_equal(resp.status, 200);
	id = testsrv_header(&resp, "X-Request-Id");
	assert_non_null(id);
	assert_string_equal(id, "abc-123");
	assert_access_line(srv, "abc-123", "/healthz", 200, resp.body_len);
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
}

static bool is_generated_id(const char *id)
{
	if (!id || strlen(id) != REQUEST_ID_LEN)
		return false;
	for (size_t i = 0; i < REQUEST_ID_LEN; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	}
	return true;
}

static void test_request_id_generated_when_absent(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response first, second;
	const char *id1, *id2;

	get(srv, "/healthz", NULL, &first);
	get(srv, "/no/such/path", NULL, &second);
	id1 = testsrv_header(&first, "X-Request-Id");
	id2 = testsrv_header(&second, "X-Request-Id");
	if (!is_generated_id(id1) || !is_generated_id(id2))
		fail_msg("not 32 lowercase hex: \"%s\", \"%s\"", id1 ? id1 : "(none)",
			 id2 ? id2 : "(none)");
	assert_string_not_equal(id1, id2);
	assert_access_line(srv, id1, "/healthz", 200, first.body_len);
	testsrv_response_free(&first);
	testsrv_response_free(&second);
	assert_true(testsrv_stopped_cleanly(srv));
}

static void test_unknown_path_is_404(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;

	get(srv, "/no/such/path", NULL, &resp);
	assert_int_equal(resp.status, 404);
	assert_json_type(&resp);
	assert_true(testsrv_error_is(&resp, "not_found"));
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
}

static void test_wrong_method_is_405_with_allow(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	const char *allow;

	assert_int_equal(testsrv_request(srv, "DELETE", "/healthz", NULL, NULL, &resp), 0);
	assert_int_equal(resp.status, 405);
	allow = testsrv_header(&resp, "Allow");
	assert_non_null(allow);
	assert_non_null(strstr(allow, "GET"));
	assert_true(testsrv_error_is(&resp, "method_not_allowed"));
	testsrv_response_free(&resp);
	/* Counted under the path's route, not as an unknown path. */
	get(srv, "/metrics", NULL, &resp);
	assert_int_equal(resp.status, 200);
	if (!has_line(resp.body, "bangsoleh_http_requests_total{", "route=\"/healthz\",status=\"405\""))
		fail_msg("no 405 series for /healthz in:\n%s", resp.body);
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
}

/* SIGTERM ends the server with status 0 even with a keep-alive client still connected. */
static void test_sigterm_with_idle_client_exits_zero(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	int fd;

	assert_int_equal(testsrv_connect(srv, &fd), 0);
	assert_int_equal(testsrv_send(fd, req, sizeof(req) - 1), 0);
	assert_int_equal(testsrv_read_response(fd, &resp), 0);
	assert_int_equal(resp.status, 200);
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
	close(fd);
}

static void test_version(void **state)
{
	char out[OUTPUT_MAX];
	int code;
	(void)state;
	assert_int_equal(testsrv_exec((const char *[]){ "version", NULL }, NULL, &code, out,
				      sizeof(out)),
			 0);
	assert_int_equal(code, 0);
	if (!strstr(out, BANGSOLEH_VERSION))
		fail_msg("version output lacks %s: %s", BANGSOLEH_VERSION, out);
}

/*
 * Runs `serve ARGS... --data TMP` with env, expecting exit status 2 and a
 * message naming `needle`.
 */
static void assert_serve_refused(const char *const *args, const char *const *env,
				 const char *needle)
{
	const char *argv[TESTSRV_ARGS_MAX + 1];
	char dir[TESTSRV_PATH_MAX], out[OUTPUT_MAX];
	size_t n = 0;
	int code, rc;

	assert_int_equal(testsrv_tmpdir(dir, sizeof(dir)), 0);
	argv[n++] = "serve";
	while (*args && n < TESTSRV_ARGS_MAX - 2)
		argv[n++] = *args++;
	argv[n++] = "--data";
	argv[n++] = dir;
	argv[n] = NULL;
	rc = testsrv_exec(argv, env, &code, out, sizeof(out));
	testsrv_rmtree(dir);
	assert_int_equal(rc, 0);
	if (code != 2 || !strstr(out, needle))
		fail_msg("expected exit 2 naming \"%s\", got %d: %s", needle, code, out);
}

/*
 * A second server on a folder another one serves would write balances
 * behind the first one's cache: it must refuse, and the first go on.
 */
static void test_second_server_on_folder_refused(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	char out[OUTPUT_MAX];
	int code;

	assert_int_equal(testsrv_exec((const char *[]){ "serve", "--listen", "127.0.0.1:0", "--data",
							srv->data_dir, NULL },
				      NULL, &code, out, sizeof(out)),
			 0);
	if (code != 1 || !strstr(out, "in use by another process"))
		fail_msg("expected exit 1 saying the folder is in use, got %d: %s", code, out);
	get(srv, "/healthz", NULL, &resp);
	assert_int_equal(resp.status, 200);
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
}

static void test_bad_listen_exits_2(void **state)
{
	(void)state;
	assert_serve_refused((const char *[]){ "--listen", "nonsense", NULL }, NULL, "listen");
}

static void test_bad_env_value_exits_2(void **state)
{
	(void)state;
	assert_serve_refused((const char *[]){ "--listen", "127.0.0.1:0", NULL },
			     (const char *[]){ "BANGSOLEH_HTTP_MAX_BODY=abc", NULL },
			     "http.max_body");
}

/* A real provider with the sandbox's public secrets would take forged notifications. */
static void test_real_provider_needs_own_secrets(void **state)
{
	(void)state;
	assert_serve_refused((const char *[]){ "--listen", "127.0.0.1:0", NULL },
			     (const char *[]){ "BANGSOLEH_PAYMENT_GATEWAY=midtrans", NULL }, "payment.server_key");
	assert_serve_refused((const char *[]){ "--listen", "127.0.0.1:0", NULL },
			     (const char *[]){ "BANGSOLEH_PAYMENT_GATEWAY=xendit",
					       "BANGSOLEH_PAYMENT_SERVER_KEY=xnd_production_own", NULL },
			     "payment.callback_token");
	assert_serve_refused((const char *[]){ "--listen", "127.0.0.1:0", NULL },
			     (const char *[]){ "BANGSOLEH_COURIER_GATEWAY=biteship",
					       "BANGSOLEH_COURIER_API_KEY=biteship_live.own", NULL },
			     "courier.webhook_token");
}

/*
 * http.max_body is exactly `limit`: a body of limit bytes gets past it (the
 * route answers whatever it answers, not 413), one byte more is 413.
 */
static void assert_max_body(const struct testsrv *srv, size_t limit)
{
	int status;
	assert_int_equal(testsrv_post_json_size(srv, "/api/v1/ping", limit, &status), 0);
	if (status == 413)
		fail_msg("a body of %zu bytes got 413", limit);
	assert_int_equal(testsrv_post_json_size(srv, "/api/v1/ping", limit + 1, &status), 0);
	if (status != 413)
		fail_msg("a body of %zu bytes got %d, want 413", limit + 1, status);
}

/*
 * Starts a server with a config file setting http.max_body to 2048, plus the
 * given --set flag and environment entry, and checks the limit in force.
 * The server is left in *state for the teardown.
 */
static void assert_config_max_body(void **state, const char *flag, const char *env,
				   size_t want)
{
	char dir[TESTSRV_PATH_MAX], path[TESTSRV_PATH_MAX + 16];
	const char *args[] = { "--config", path, flag ? "--set" : NULL, flag, NULL };
	const char *envv[] = { env, NULL };
	struct testsrv *srv;

	assert_int_equal(testsrv_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/bangsoleh.conf", dir);
	assert_int_equal(testsrv_write_file(path, "# limits for this test\n"
						  "\n"
						  "  # bytes\n"
						  "http.max_body = 2048\n"),
			 0);
	srv = testsrv_new(args, envv);
	*state = srv;
	testsrv_rmtree(dir);
	assert_non_null(srv);
	assert_max_body(srv, want);
	assert_true(testsrv_stopped_cleanly(srv));
}

static void test_config_file_sets_max_body(void **state)
{
	assert_config_max_body(state, NULL, NULL, 2048);
}

static void test_env_beats_config_file(void **state)
{
	assert_config_max_body(state, NULL, "BANGSOLEH_HTTP_MAX_BODY=4096", 4096);
}

static void test_flag_beats_env(void **state)
{
	assert_config_max_body(state, "http.max_body=8192", "BANGSOLEH_HTTP_MAX_BODY=4096", 8192);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_healthz_ok, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_ping, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_metrics_count_requests_by_route, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_request_id_echoed_and_logged, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_request_id_generated_when_absent, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_path_is_404, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_method_is_405_with_allow, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_with_idle_client_exits_zero,
						server_setup, server_teardown),
		cmocka_unit_test(test_version),
		cmocka_unit_test_setup_teardown(test_second_server_on_folder_refused, server_setup,
						server_teardown),
		cmocka_unit_test(test_bad_listen_exits_2),
		cmocka_unit_test(test_bad_env_value_exits_2),
		cmocka_unit_test(test_real_provider_needs_own_secrets),
		cmocka_unit_test_teardown(test_config_file_sets_max_body, server_teardown),
		cmocka_unit_test_teardown(test_env_beats_config_file, server_teardown),
		cmocka_unit_test_teardown(test_flag_beats_env, server_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
