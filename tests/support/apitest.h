/*
 * apitest: cmocka-asserting helpers for integration tests that speak the
 * JSON API of a server started with testsrv. Every helper fails the running
 * test (fail_msg) on an unexpected answer instead of returning an error.
 *
 * Bounds: bearer tokens up to APITEST_TOKEN_MAX - 1 characters; command
 * output up to APITEST_OUTPUT_MAX bytes; Idempotency-Keys up to APITEST_KEY_MAX.
 */
#ifndef BANGSOLEH_APITEST_H
#define BANGSOLEH_APITEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "testsrv.h"

#define APITEST_TOKEN_MAX 128
#define APITEST_OUTPUT_MAX 4096
#define APITEST_KEY_MAX 128

/*
 * Sends a request to srv as `token` (NULL: none) with a JSON body (NULL:
 * none), checks the status and returns the body as JSON (NULL when empty; a
 * body that is not JSON fails the test). The caller json_decref's.
 */
json_t *apitest_call(const struct testsrv *srv, const char *token, const char *method, const char *path,
		     const char *body, int status);

/* As apitest_call, with `Idempotency-Key: key` (up to APITEST_KEY_MAX bytes; NULL: none). */
json_t *apitest_call_keyed(const struct testsrv *srv, const char *token, const char *method, const char *path,
			   const char *key, const char *body, int status);

/* As apitest_call, the body given as JSON (reference stolen). */
json_t *apitest_call_json(const struct testsrv *srv, const char *token, const char *method,
			  const char *path, json_t *body, int status);

/*
 * The request fails with status and error code `code`; when `part` is not
 * NULL, the error message contains it.
 */
void apitest_expect_error(const struct testsrv *srv, const char *token, const char *method,
			  const char *path, const char *body, int status, const char *code, const char *part);

/* The member `key` of obj, which must be an integer / a string (lent by obj). */
int64_t apitest_int(const json_t *obj, const char *key);
const char *apitest_str(const json_t *obj, const char *key);

/*
 * `bangsoleh user add --role role --username username` against srv's data
 * folder, the password given on stdin; `env` as for testsrv_exec.
 */
void apitest_user_add_cli(const struct testsrv *srv, const char *const *env, const char *role,
			  const char *username, const char *password);

/* Signs in over HTTP; OUT: token (APITEST_TOKEN_MAX bytes). */
void apitest_login(const struct testsrv *srv, const char *username, const char *password, char *token);

/*
 * Writes one stored record back as an earlier build wrote it: in the data
 * folder `data` (no server running on it), the record under key in DBI
 * `dbi`, now of version `from`, becomes version `from` - 1 without its last
 * field (how records grow: one field at the end per version).
 */
void apitest_record_older(const char *data, const char *dbi, const void *key, size_t key_len, uint32_t from);

#endif
