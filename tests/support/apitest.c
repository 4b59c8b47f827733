#include "apitest.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>
#include <msgpack.h>

#include "record.h"

json_t *apitest_call_keyed(const struct testsrv *srv, const char *token, const char *method, const char *path,
			   const char *key, const char *body, int status)
{
	char auth[APITEST_TOKEN_MAX + 32], idem[APITEST_KEY_MAX + 32];
	const char *headers[4];
	size_t nh = 0;
	struct testsrv_response resp;
	json_error_t err;
	json_t *doc = NULL;

	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[nh++] = auth;
	}
	if (key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
		headers[nh++] = idem;
	}
	if (body)
		headers[nh++] = "Content-Type: application/json";
	headers[nh] = NULL;
	assert_int_equal(testsrv_request(srv, method, path, headers, body, &resp), 0);
	if (resp.status != status)
		fail_msg("%s %s: status %d, want %d: %.512s", method, path, resp.status, status, resp.body);
	if (resp.body_len) {
		doc = json_loadb(resp.body, resp.body_len, 0, &err);
		if (!doc)
			fail_msg("%s %s: body is not JSON (%s): %.256s", method, path, err.text, resp.body);
	}
	testsrv_response_free(&resp);
	return doc;
}

json_t *apitest_call(const struct testsrv *srv, const char *token, const char *method, const char *path,
		     const char *body, int status)
{
	return apitest_call_keyed(srv, token, method, path, NULL, body, status);
}

json_t *apitest_call_json(const struct testsrv *srv, const char *token, const char *method,
			  const char *path, json_t *body, int status)
{
	char *text;
	json_t *doc;
	assert_non_null(body);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	assert_non_null(text);
	doc = apitest_call(srv, token, method, path, text, status);
	free(text);
	return doc;
}

void apitest_expect_error(const struct testsrv *srv, const char *token, const char *method,
			  const char *path, const char *body, int status, const char *code, const char *part)
{
	json_t *doc = apitest_call(srv, token, method, path, body, status);
	const json_t *error = json_object_get(doc, "error");
	const char *got_code = json_string_value(json_object_get(error, "code"));
	const char *message = json_string_value(json_object_get(error, "message"));
	if (!got_code || strcmp(got_code, code) != 0 || !message || (part && !strstr(message, part)))
		fail_msg("%s %s %.200s: want %s naming \"%s\", got %s: %s", method, path, body ? body : "", code,
			 part ? part : "", got_code ? got_code : "(none)", message ? message : "(none)");
	json_decref(doc);
}

int64_t apitest_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return (int64_t)json_integer_value(v);
}

const char *apitest_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (!s)
		fail_msg("%s is not a string", key);
	/* fail_msg does not return; the compiler does not know that. */
	return s ? s : "";
}

void apitest_user_add_cli(const struct testsrv *srv, const char *const *env, const char *role,
			  const char *username, const char *password)
{
	const char *args[] = { "user", "add", "--role", role, "--username", username, "--data",
			       srv->data_dir, NULL };
	char out[APITEST_OUTPUT_MAX];
	size_t len = strlen(password);
	int pipefd[2], saved, code = -1, rc;

	/* The password and its newline fit the pipe's buffer: the write cannot block. */
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], password, len), (ssize_t)len);
	assert_int_equal(write(pipefd[1], "\n", 1), 1);
	close(pipefd[1]);
	saved = dup(STDIN_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(pipefd[0], STDIN_FILENO), STDIN_FILENO);
	close(pipefd[0]);
	rc = testsrv_exec(args, env, &code, out, sizeof(out));
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	if (rc != 0 || code != 0)
		fail_msg("user add %s: rc %d, exit %d: %s", username, rc, code, out);
}

void apitest_login(const struct testsrv *srv, const char *username, const char *password, char *token)
{
	json_t *doc = apitest_call_json(srv, NULL, "POST", "/api/v1/auth/login",
					json_pack("{s:s, s:s}", "username", username, "password", password), 200);
	snprintf(token, APITEST_TOKEN_MAX, "%s", apitest_str(doc, "token"));
	json_decref(doc);
}

void apitest_record_older(const char *data, const char *dbi, const void *key, size_t key_len, uint32_t from)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi d;
	MDB_val k = { key_len, (void *)key }, v;
	struct record_reader r;
	msgpack_sbuffer buf;
	msgpack_packer pk;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
	assert_int_equal(mdb_env_open(env, data, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, dbi, 0, &d), 0);
	assert_int_equal(mdb_get(txn, d, &k, &v), 0);
	assert_int_equal(record_reader_open(&r, v.mv_data, v.mv_size, from, 1), RECORD_OK);
	assert_int_equal(r.version, from);
	msgpack_sbuffer_init(&buf);
	msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
	/* The version and every field but the last. */
	msgpack_pack_array(&pk, r.count);
	msgpack_pack_uint32(&pk, from - 1);
	for (uint32_t i = 0; i + 1 < r.count; i++)
		assert_int_equal(msgpack_pack_object(&pk, r.items[i]), 0);
	record_reader_free(&r);
	v.mv_data = buf.data;
	v.mv_size = buf.size;
	assert_int_equal(mdb_put(txn, d, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	msgpack_sbuffer_destroy(&buf);
	mdb_env_close(env);
}
