/*
 * Integration tests with hostile or broken clients: oversized bodies and
 * headers, malformed JSON, wrong media types, ambiguous framing, garbage and
 * slow clients. After every bad input the server must still answer
 * /healthz, and each test ends with a clean exit (status 0; under the
 * sanitizers no leak or undefined behaviour on any of these paths).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testsrv.h"

#define MAX_BODY 1024
#define LOGIN "/api/v1/auth/login"
#define SLOW_CLIENTS 8
#define SLOW_BYTES 15
#define NORMAL_REQUESTS 20
#define TRICKLE_MS 200

static int server_setup(void **state)
{
	const char *const env[] = { "BANGSOLEH_HTTP_MAX_BODY=1024", "BANGSOLEH_HTTP_MAX_HEADERS=2K",
				    NULL };
	*state = testsrv_new(NULL, env);
	return *state ? 0 : -1;
}

static int server_teardown(void **state)
{
	testsrv_free(*state);
	return 0;
}

/* A status an HTTP server may use to refuse an oversized header block. */
static bool is_header_refusal(int status)
{
	return status == 400 || status == 413 || status == 431;
}

/* Sends bytes on a new connection; expects a refusal status or a close. */
static void assert_refused(const struct testsrv *srv, const char *bytes, size_t len,
			   bool (*acceptable)(int status))
{
	struct testsrv_response resp;
	int rc = testsrv_raw(srv, bytes, len, &resp);
	if (rc == TESTSRV_ECLOSED)
		return;
	assert_int_equal(rc, 0);
	if (!acceptable(resp.status))
		fail_msg("unexpected status %d", resp.status);
	testsrv_response_free(&resp);
}

/* POSTs a JSON body of len bytes to the login endpoint; returns the status. */
static int post_login(const struct testsrv *srv, size_t len)
{
	int status;
	assert_int_equal(testsrv_post_json_size(srv, LOGIN, len, &status), 0);
	return status;
}

/* http.max_body (1024 here, from the environment) is the exact limit. */
static void test_body_over_max_is_413(void **state)
{
	struct testsrv *srv = *state;

	assert_int_equal(post_login(srv, 4 * MAX_BODY), 413);
	assert_true(testsrv_healthy(srv));
	assert_int_equal(post_login(srv, MAX_BODY + 1), 413);
	assert_true(testsrv_healthy(srv));
	assert_int_not_equal(post_login(srv, MAX_BODY), 413);
	assert_true(testsrv_healthy(srv));
	assert_true(testsrv_stopped_cleanly(srv));
}

/* Builds a GET whose header block is about `size` bytes in `count` lines. */
static char *big_header_request(size_t size, size_t count)
{
	size_t line = size / count, cap = size + count * 32 + 128, len;
	char *req = malloc(cap);
	assert_non_null(req);
	len = (size_t)snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
	for (size_t i = 0; i < count; i++) {
		len += (size_t)snprintf(req + len, cap - len, "X-Fill-%zu: ", i);
		memset(req + len, 'a', line);
		len += line;
		memcpy(req + len, "\r\n", 2);
		len += 2;
	}
	snprintf(req + len, cap - len, "\r\n");
	return req;
}

static void test_headers_over_max_refused(void **state)
{
	struct testsrv *srv = *state;
	/* Over http.max_headers (2K here): one long line, then many short ones. */
	char *one_line = big_header_request(8 * 1024, 1);
	char *many_lines = big_header_request(64 * 1024, 2048);

	assert_refused(srv, one_line, strlen(one_line), is_header_refusal);
	assert_true(testsrv_healthy(srv));
	assert_refused(srv, many_lines, strlen(many_lines), is_header_refusal);
	assert_true(testsrv_healthy(srv));
	free(one_line);
	free(many_lines);
	assert_true(testsrv_stopped_cleanly(srv));
}

static void test_login_malformed_json_is_400(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	const char *const headers[] = { "Content-Type: application/json", NULL };
	static const char *const bodies[] = { "{\"email\": \"a@example.com\",", "not json", "[1, 2",
					      "{\"email\": \"\xff\xfe\"}" };

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(testsrv_request(srv, "POST", LOGIN, headers, bodies[i], &resp), 0);
		if (resp.status != 400)
			fail_msg("body %zu: status %d, want 400", i, resp.status);
		assert_true(testsrv_error_is(&resp, "invalid_json"));
		testsrv_response_free(&resp);
		assert_true(testsrv_healthy(srv));
	}
	assert_true(testsrv_stopped_cleanly(srv));
}

static void test_login_wrong_content_type_is_415(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	const char *const headers[] = { "Content-Type: text/plain", NULL };

	assert_int_equal(testsrv_request(srv, "POST", LOGIN, headers,
					 "{\"email\":\"a@example.com\",\"password\":\"x\"}", &resp),
			 0);
	assert_int_equal(resp.status, 415);
	assert_true(testsrv_error_is(&resp, "unsupported_media_type"));
	testsrv_response_free(&resp);
	assert_true(testsrv_healthy(srv));
	assert_true(testsrv_stopped_cleanly(srv));
}

/*
 * Content-Length together with Transfer-Encoding is refused with 400 and the
 * connection closed, so the request smuggled behind the chunked body is
 * never answered.
 */
static void test_content_length_with_transfer_encoding_is_400(void **state)
{
	struct testsrv *srv = *state;
	struct testsrv_response resp;
	static const char req[] = "POST " LOGIN " HTTP/1.1\r\n"
				  "Host: 127.0.0.1\r\n"
				  "Content-Type: application/json\r\n"
				  "Content-Length: 5\r\n"
				  "Transfer-Encoding: chunked\r\n"
				  "\r\n"
				  "0\r\n\r\n"
				  "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	int fd;

	assert_int_equal(testsrv_connect(srv, &fd), 0);
	assert_int_equal(testsrv_send(fd, req, sizeof(req) - 1), 0);
	assert_int_equal(testsrv_read_response(fd, &resp), 0);
	assert_int_equal(resp.status, 400);
	assert_int_equal(resp.trailing, 0);
	assert_true(testsrv_peer_closed(fd));
	close(fd);
	testsrv_response_free(&resp);
	assert_true(testsrv_healthy(srv));
	assert_true(testsrv_stopped_cleanly(srv));
}

static bool is_400(int status)
{
	return status == 400;
}

static void test_garbage_request_line(void **state)
{
	struct testsrv *srv = *state;
	static const char *const lines[] = {
		"NOT A REQUEST\r\n\r\n",
		"GET\r\n\r\n",
		"\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n",
	};
	char noise[1024 + 4];
	unsigned int seed = 12345;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_refused(srv, lines[i], strlen(lines[i]), is_400);
		assert_true(testsrv_healthy(srv));
	}
	/* Binary noise (fixed seed, no line breaks inside) ended by a blank line. */
	for (size_t i = 0; i < sizeof(noise) - 4; i++) {
		seed = seed * 1103515245u + 12345u;
		noise[i] = (char)(seed >> 16);
		if (noise[i] == '\r' || noise[i] == '\n')
			noise[i] = 'x';
	}
	memcpy(noise + sizeof(noise) - 4, "\r\n\r\n", 4);
	assert_refused(srv, noise, sizeof(noise), is_400);
	assert_true(testsrv_healthy(srv));
	assert_true(testsrv_stopped_cleanly(srv));
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * Slow clients that trickle a request head one byte at a time do not hold
 * up anyone else: all normal requests made meanwhile succeed.
 */
static void test_slow_clients_do_not_block_others(void **state)
{
	struct testsrv *srv = *state;
	static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	int slow[SLOW_CLIENTS];
	int ok = 0;

	_Static_assert(sizeof(head) - 1 >= SLOW_BYTES, "head shorter than the trickle");
	for (size_t c = 0; c < SLOW_CLIENTS; c++)
		assert_int_equal(testsrv_connect(srv, &slow[c]), 0);
	for (size_t i = 0; i < NORMAL_REQUESTS; i++) {
		/* The server may drop a slow client; that is its right, so send errors are ignored. */
		for (size_t c = 0; c < SLOW_CLIENTS && i < SLOW_BYTES; c++)
			(void)testsrv_send(slow[c], head + i, 1);
		ok += testsrv_healthy(srv);
		sleep_ms(TRICKLE_MS);
	}
	assert_int_equal(ok, NORMAL_REQUESTS);
	for (size_t c = 0; c < SLOW_CLIENTS; c++)
		close(slow[c]);
	assert_true(testsrv_healthy(srv));
	assert_true(testsrv_stopped_cleanly(srv));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_body_over_max_is_413, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_headers_over_max_refused, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_login_malformed_json_is_400, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_login_wrong_content_type_is_415, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_content_length_with_transfer_encoding_is_400,
						server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_request_line, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_slow_clients_do_not_block_others,
						server_setup, server_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
