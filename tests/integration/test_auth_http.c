/*
 * Sign-in against the real server: users made from the command line while
 * it runs, roles enforced over HTTP, secrets kept out of the log, limits,
 * and a store that runs out of room answering 503 while reads go on.
 */
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testsrv.h"

static const char *const fast_env[] = { "BANGSOLEH_AUTH_PASSWORD_COST=10", NULL };

/* Stops the server, frees it, and insists it exited 0. */
static void stop(struct testsrv *srv)
{
	bool clean = testsrv_stopped_cleanly(srv);
	testsrv_free(srv);
	assert_true(clean);
}

/*
 * Runs `$BANGSOLEH_BIN user add ...` with `input` on its standard input.
 * OUT: out (stdout and stderr, cap bytes). Returns the exit status.
 */
static int user_add(const char *data_dir, const char *role, const char *username, const char *input,
		    char *out, size_t cap)
{
	int in[2], res[2];
	size_t n = 0;
	int status;
	pid_t pid;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(res), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(res[1], 1);
		dup2(res[1], 2);
		close(in[1]);
		close(res[0]);
		setenv("BANGSOLEH_AUTH_PASSWORD_COST", "10", 1);
		execl(getenv("BANGSOLEH_BIN"), "bangsoleh", "user", "add", "--role", role, "--username", username,
		      "--data", data_dir, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(res[1]);
	assert_int_equal(write(in[1], input, strlen(input)), (ssize_t)strlen(input));
	close(in[1]);
	for (;;) {
		struct pollfd p = { res[0], POLLIN, 0 };
		ssize_t r;
		assert_true(poll(&p, 1, TESTSRV_EXIT_TIMEOUT_MS) > 0);
		r = read(res[0], out + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	close(res[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* POSTs a JSON body (with an optional bearer token). OUT: *resp. */
static void post(const struct testsrv *srv, const char *path, const char *token, const char *body,
		 struct testsrv_response *resp)
{
	char auth[128];
	const char *headers[3] = { "Content-Type: application/json", NULL, NULL };
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[1] = auth;
	}
	assert_int_equal(testsrv_request(srv, "POST", path, headers, body, resp), 0);
}

static int get_status(const struct testsrv *srv, const char *path, const char *token)
{
	struct testsrv_response r = { 0 };
	char auth[128];
	const char *headers[2] = { auth, NULL };
	int status;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	assert_int_equal(testsrv_request(srv, "GET", path, token ? headers : NULL, NULL, &r), 0);
	status = r.status;
	testsrv_response_free(&r);
	return status;
}

/* Logs in; copies the token into out (cap 64). Returns the status. */
static int login(const struct testsrv *srv, const char *user, const char *password, char *out)
{
	struct testsrv_response r = { 0 };
	char body[256];
	int status;
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
	post(srv, "/api/v1/auth/login", NULL, body, &r);
	status = r.status;
	if (status == 200) {
		json_t *j = json_loads(r.body, 0, NULL);
		const char *t = json_string_value(json_object_get(j, "token"));
		assert_non_null(t);
		snprintf(out, 64, "%s", t);
		json_decref(j);
	}
	testsrv_response_free(&r);
	return status;
}

static int reg(const struct testsrv *srv, const char *user, const char *password)
{
	struct testsrv_response r = { 0 };
	char body[256];
	int status;
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
	post(srv, "/api/v1/auth/register", NULL, body, &r);
	status = r.status;
	if (status == 503)
		assert_non_null(testsrv_header(&r, "Retry-After"));
	testsrv_response_free(&r);
	return status;
}

static void test_admin_from_command_line(void **state)
{
	struct testsrv *srv = testsrv_new(NULL, fast_env);
	struct testsrv_response r = { 0 };
	char out[4096];
	char token[64];
	(void)state;
	assert_non_null(srv);
	/* The command line writes while the server runs: LMDB lets both. */
	assert_int_equal(user_add(srv->data_dir, "admin", "kota-admin", "admin-password\n", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"role\":\"admin\""));
	assert_int_equal(user_add(srv->data_dir, "admin", "kota-admin", "admin-password\n", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "taken"));
	assert_int_equal(user_add(srv->data_dir, "pilot", "x-user", "admin-password\n", out, sizeof(out)), 2);
	assert_int_equal(user_add(srv->data_dir, "auditor", "audit", "short\n", out, sizeof(out)), 2);
	assert_int_equal(user_add(srv->data_dir, "auditor", "Bad Name", "long-enough\n", out, sizeof(out)), 2);
	assert_int_equal(user_add(srv->data_dir, "auditor", "audit", "", out, sizeof(out)), 2);

	assert_int_equal(login(srv, "kota-admin", "admin-password", token), 200);
	post(srv, "/api/v1/users", token, "{\"username\":\"kurir-1\",\"password\":\"kurir-pass\",\"role\":\"courier\"}", &r);
	assert_int_equal(r.status, 201);
	testsrv_response_free(&r);
	assert_int_equal(login(srv, "kurir-1", "kurir-pass", token), 200);
	assert_int_equal(get_status(srv, "/api/v1/me", token), 200);
	stop(srv);
}

static void test_roles_and_logout(void **state)
{
	struct testsrv *srv = testsrv_new(NULL, fast_env);
	struct testsrv_response r = { 0 };
	char token[64];
	(void)state;
	assert_non_null(srv);
	assert_int_equal(reg(srv, "siti", "rendang-enak"), 201);
	assert_int_equal(reg(srv, "siti", "rendang-enak"), 409);
	/* A misspelt field is refused, not dropped. */
	post(srv, "/api/v1/auth/register", NULL, "{\"username\":\"ani\",\"password\":\"rendang-enak\",\"rol\":\"merchant\"}",
	     &r);
	assert_int_equal(r.status, 400);
	assert_true(testsrv_error_is(&r, "unknown_field"));
	testsrv_response_free(&r);
	post(srv, "/api/v1/auth/login", NULL, "{\"username\":\"siti\",\"password\":\"rendang-enak\",\"otp\":1}", &r);
	assert_int_equal(r.status, 400);
	assert_true(testsrv_error_is(&r, "unknown_field"));
	testsrv_response_free(&r);
	assert_int_equal(login(srv, "siti", "wrong-password", token), 401);
	assert_int_equal(login(srv, "siti", "rendang-enak", token), 200);
	assert_int_equal(get_status(srv, "/api/v1/me", token), 200);
	assert_int_equal(get_status(srv, "/api/v1/me", NULL), 401);
	assert_int_equal(get_status(srv, "/api/v1/me", "forged-token"), 401);
	post(srv, "/api/v1/users", token, "{\"username\":\"x-admin\",\"password\":\"password-1\",\"role\":\"admin\"}", &r);
	assert_int_equal(r.status, 403);
	assert_true(testsrv_error_is(&r, "forbidden"));
	testsrv_response_free(&r);
	post(srv, "/api/v1/auth/logout", token, NULL, &r);
	assert_int_equal(r.status, 204);
	testsrv_response_free(&r);
	assert_int_equal(get_status(srv, "/api/v1/me", token), 401);
	stop(srv);
}

/* Reads the whole server log. */
static char *read_log(const struct testsrv *srv)
{
	FILE *f = fopen(srv->log_path, "r");
	char *text = calloc(1, TESTSRV_LOG_MAX + 1);
	assert_non_null(f);
	assert_non_null(text);
	fread(text, 1, TESTSRV_LOG_MAX, f);
	fclose(f);
	return text;
}

static void test_secrets_stay_out_of_the_log(void **state)
{
	const char *const env[] = { "BANGSOLEH_AUTH_PASSWORD_COST=10", "BANGSOLEH_LOG_LEVEL=debug", NULL };
	struct testsrv *srv = testsrv_new(NULL, env);
	char token[64];
	char *log;
	(void)state;
	assert_non_null(srv);
	assert_int_equal(reg(srv, "dewi", "sangat-rahasia-99"), 201);
	assert_int_equal(login(srv, "dewi", "sangat-rahasia-99", token), 200);
	assert_int_equal(login(srv, "dewi", "salah-tebak-77", token), 401);
	assert_int_equal(get_status(srv, "/api/v1/me", token), 200);
	log = read_log(srv);
	assert_non_null(strstr(log, "/api/v1/auth/login"));
	assert_null(strstr(log, "sangat-rahasia-99"));
	assert_null(strstr(log, "salah-tebak-77"));
	assert_null(strstr(log, token));
	free(log);
	stop(srv);
}

static void test_address_limit(void **state)
{
	const char *const env[] = { "BANGSOLEH_AUTH_PASSWORD_COST=10", "BANGSOLEH_AUTH_LOGIN_MAX_ADDRESS=3", NULL };
	struct testsrv *srv = testsrv_new(NULL, env);
	struct testsrv_response r = { 0 };
	char token[64];
	(void)state;
	assert_non_null(srv);
	assert_int_equal(reg(srv, "eka", "password-1"), 201);
	for (int i = 0; i < 3; i++)
		assert_int_equal(login(srv, i == 1 ? "eka" : "nobody", "password-1", token), i == 1 ? 200 : 401);
	post(srv, "/api/v1/auth/login", NULL, "{\"username\":\"eka\",\"password\":\"password-1\"}", &r);
	assert_int_equal(r.status, 429);
	assert_true(testsrv_error_is(&r, "too_many_attempts"));
	assert_non_null(testsrv_header(&r, "Retry-After"));
	testsrv_response_free(&r);
	stop(srv);
}

/*
 * A map that cannot grow: sign-ups fill it, then answer 503 with
 * Retry-After; the server stays up, reads and sign-in checks still work,
 * and what was written before is all there.
 */
static void test_full_store_answers_503(void **state)
{
	const char *const env[] = { "BANGSOLEH_AUTH_PASSWORD_COST=10", "BANGSOLEH_STORE_MAP_SIZE=1M",
				    "BANGSOLEH_STORE_MAP_MAX=1M", "BANGSOLEH_LOG_LEVEL=warn", NULL };
	struct testsrv *srv = testsrv_new(NULL, env);
	char token[64];
	char name[32];
	int status = 0, made = 0;
	(void)state;
	assert_non_null(srv);
	assert_int_equal(reg(srv, "first-user", "password-1"), 201);
	assert_int_equal(login(srv, "first-user", "password-1", token), 200);
	for (int i = 0; i < 50000; i++) {
		snprintf(name, sizeof(name), "filler-%06d", i);
		status = reg(srv, name, "password-1");
		if (status != 201)
			break;
		made++;
	}
	assert_int_equal(status, 503);
	assert_true(made > 100);
	assert_true(testsrv_healthy(srv));
	assert_int_equal(get_status(srv, "/api/v1/me", token), 200);
	/* Every user made before the map filled is there, the last one included. */
	snprintf(name, sizeof(name), "filler-%06d", made - 1);
	assert_int_equal(login(srv, name, "wrong-password", token), 401);
	assert_int_equal(reg(srv, name, "password-1"), 409);
	stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_from_command_line),
		cmocka_unit_test(test_roles_and_logout),
		cmocka_unit_test(test_secrets_stay_out_of_the_log),
		cmocka_unit_test(test_address_limit),
		cmocka_unit_test(test_full_store_answers_503),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
