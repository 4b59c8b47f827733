#include "body.h"

#include <stdio.h>
#include <string.h>

void body_fail(struct body_check *c, const char *key, const char *reason)
{
	if (c->failed)
		return;
	c->failed = true;
	snprintf(c->field, sizeof(c->field), "%s", key);
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

/* The field's value, or NULL; records "required" when it must be there. */
static const json_t *body_get(struct body_check *c, const json_t *obj, const char *key, bool required)
{
	const json_t *v;
	if (c->failed)
		return NULL;
	v = json_object_get(obj, key);
	if ((!v || json_is_null(v)) && required)
		body_fail(c, key, "is required");
	return json_is_null(v) ? NULL : v;
}

const char *body_str(struct body_check *c, const json_t *obj, const char *key, bool required,
		     size_t min_len, size_t max_len)
{
	const json_t *v = body_get(c, obj, key, required);
	char reason[BODY_REASON_MAX];
	size_t len;
	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		body_fail(c, key, "must be a string");
		return NULL;
	}
	len = json_string_length(v);
	if (memchr(json_string_value(v), '\0', len)) {
		body_fail(c, key, "must not contain NUL characters");
		return NULL;
	}
	if (len < min_len || len > max_len) {
		snprintf(reason, sizeof(reason), "must be %zu to %zu bytes long", min_len, max_len);
		body_fail(c, key, reason);
		return NULL;
	}
	return json_string_value(v);
}

int64_t body_int(struct body_check *c, const json_t *obj, const char *key, bool required,
		 int64_t min, int64_t max, int64_t def)
{
	const json_t *v = body_get(c, obj, key, required);
	char reason[BODY_REASON_MAX];
	json_int_t n;
	if (!v)
		return def;
	/* Reals (1.5, 1e3) are refused: amounts and counts are whole numbers. */
	if (!json_is_integer(v)) {
		body_fail(c, key, "must be a whole number");
		return def;
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		snprintf(reason, sizeof(reason), "must be between %lld and %lld", (long long)min,
			 (long long)max);
		body_fail(c, key, reason);
		return def;
	}
	return (int64_t)n;
}

bool body_bool(struct body_check *c, const json_t *obj, const char *key, bool required, bool def)
{
	const json_t *v = body_get(c, obj, key, required);
	if (!v)
		return def;
	if (!json_is_boolean(v)) {
		body_fail(c, key, "must be true or false");
		return def;
	}
	return json_is_true(v);
}

bool body_only(struct body_check *c, const json_t *obj, const char *const *keys)
{
	const char *key;
	json_t *val;
	if (c->failed)
		return false;
	json_object_foreach((json_t *)obj, key, val) {
		size_t i;
		(void)val;
		for (i = 0; keys[i] && strcmp(keys[i], key) != 0; i++)
			;
		if (!keys[i]) {
			body_fail(c, key, "is not a field of this request");
			c->unknown = true;
			return false;
		}
	}
	return true;
}

const char *body_error_code(const struct body_check *c)
{
	return c->unknown ? "unknown_field" : "invalid_field";
}
