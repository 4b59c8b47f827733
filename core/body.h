/*
 * body: reading validated fields from a parsed JSON request body.
 *
 * A handler checks every field it takes through a struct body_check: each
 * getter records the first failure (which field, what is wrong) and later
 * getters become no-ops, so the handler reads all its fields and checks
 * `failed` once, answering 400 with the recorded field and reason.
 * Strings must be valid UTF-8 (jansson guarantees it) without NUL bytes.
 */
#ifndef BANGSOLEH_BODY_H
#define BANGSOLEH_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define BODY_FIELD_MAX 64
#define BODY_REASON_MAX 160

struct body_check {
	bool failed;
	bool unknown;             /* the failure is a field the endpoint does not take */
	char field[BODY_FIELD_MAX];
	char reason[BODY_REASON_MAX];
};

/*
 * A string of min_len..max_len bytes. Returns it (borrowed from obj), or
 * NULL when absent and not required, or on failure.
 */
const char *body_str(struct body_check *c, const json_t *obj, const char *key, bool required,
		     size_t min_len, size_t max_len);

/* An integer in [min, max]; `def` when absent and not required. */
int64_t body_int(struct body_check *c, const json_t *obj, const char *key, bool required,
		 int64_t min, int64_t max, int64_t def);

/* A boolean; `def` when absent and not required. */
bool body_bool(struct body_check *c, const json_t *obj, const char *key, bool required, bool def);

/*
 * Fails on the first member of obj not named in keys (a NULL-terminated
 * list), for endpoints that refuse unknown fields. Returns false then.
 */
bool body_only(struct body_check *c, const json_t *obj, const char *const *keys);

/* The error code of a failed check: "unknown_field" or "invalid_field". */
const char *body_error_code(const struct body_check *c);

/* Records a failure found by the handler itself (first one wins). */
void body_fail(struct body_check *c, const char *key, const char *reason);

#endif
