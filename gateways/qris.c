/*
 * qris: strict decoder and encoder of QRIS payloads (EMVCo MPM, Indonesian
 * profile), CRC-16/CCITT-FALSE, static-to-dynamic conversion and JSON.
 *
 * Everything works on fixed-size structures (struct qris_tlv holds at most
 * QRIS_OBJECTS_MAX objects of at most QRIS_VALUE_MAX characters), so nothing
 * is allocated except by qris_json. Every length read from the input is
 * checked against the characters that remain before it is used.
 */
#include "qris.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ID_COUNT 100                  /* ids are two decimal digits */
#define ROOT (-1)                     /* parent of root objects in error tags */
#define NO_ID (-1)                    /* error not about a single object */
#define AMOUNT_TEXT_MAX 13            /* 54 and 56 */
#define PERCENT_TEXT_MAX 5            /* 57 */
#define GUID_MAX 32
#define PAN_MAX 19
#define MERCHANT_ID_MAX 15
#define CRITERIA_LEN 3
#define NAME_MAX_LEN 25
#define CITY_MAX_LEN 15
#define POSTAL_MAX_LEN 10
#define ADDITIONAL_TEXT_MAX 25        /* 62.01-62.08 */

/* Root ids with a meaning of their own. */
enum {
	ID_FORMAT = 0,
	ID_INITIATION = 1,
	ID_ACCOUNT_FIRST = 2,
	ID_TEMPLATE_FIRST = 26,       /* 26-51 are templates */
	ID_DOMESTIC_LAST = 45,        /* 26-45: acquirer (PJSP) templates */
	ID_REPOSITORY = 51,           /* national repository (QRIS switching) */
	ID_MCC = 52,
	ID_CURRENCY = 53,
	ID_AMOUNT = 54,
	ID_FEE_INDICATOR = 55,
	ID_FEE_FIXED = 56,
	ID_FEE_PERCENT = 57,
	ID_COUNTRY = 58,
	ID_NAME = 59,
	ID_CITY = 60,
	ID_POSTAL = 61,
	ID_ADDITIONAL = 62,
	ID_CRC = 63,
	ID_LANGUAGE = 64,
	ID_UNRESERVED_FIRST = 80,     /* 80-99: templates, framing only */
};

/* Sub-ids of the merchant account templates (26-51). */
enum { SUB_GUID = 0, SUB_PAN = 1, SUB_MERCHANT_ID = 2, SUB_CRITERIA = 3 };

/* Sub-ids of 62. */
enum { SUB_BILL = 1, SUB_PURPOSE = 8, SUB_CONSUMER_REQUEST = 9 };

static const char *const criteria_values[] = { "UMI", "UKE", "UME", "UBE", "URE", "PSO", "BLU" };

/*
 * Fills *err (when given): the tag is "-" without an id, "PP" for a root
 * object or a template as a whole, "PP.II" inside template PP.
 */
static void err_set(struct qris_error *err, int parent, int id, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	if (parent == ROOT && id == NO_ID)
		snprintf(err->tag, sizeof(err->tag), "-");
	else if (parent == ROOT)
		snprintf(err->tag, sizeof(err->tag), "%02u", (unsigned)id % ID_COUNT);
	else if (id == NO_ID)
		snprintf(err->tag, sizeof(err->tag), "%02u", (unsigned)parent % ID_COUNT);
	else
		snprintf(err->tag, sizeof(err->tag), "%02u.%02u", (unsigned)parent % ID_COUNT,
			 (unsigned)id % ID_COUNT);
	va_start(ap, fmt);
	vsnprintf(err->rule, sizeof(err->rule), fmt, ap);
	va_end(ap);
}

static void err_clear(struct qris_error *err)
{
	if (err != NULL) {
		snprintf(err->tag, sizeof(err->tag), "-");
		err->rule[0] = '\0';
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

static bool value_is(const struct qris_object *o, const char *text)
{
	return o->len == strlen(text) && memcmp(o->value, text, o->len) == 0;
}

uint16_t qris_crc16(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int bit = 0; bit < 8; bit++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

/* One level of TLV; `parent` is the template id (ROOT at the top) for error tags. */
static int tlv_parse(const char *s, size_t len, int parent, struct qris_tlv *out, struct qris_error *err)
{
	bool seen[ID_COUNT] = { false };
	size_t pos = 0;

	out->n = 0;
	while (pos < len) {
		size_t left = len - pos;
		const char *p = s + pos;
		unsigned id, vlen;

		if (left < 2 || !all_digits(p, 2)) {
			err_set(err, parent, NO_ID, "object at offset %zu: id must be 2 digits", pos);
			return QRIS_EINVAL;
		}
		id = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
		if (left < 4) {
			err_set(err, parent, (int)id, "input ends before the 2-digit length");
			return QRIS_EINVAL;
		}
		if (!all_digits(p + 2, 2)) {
			err_set(err, parent, (int)id, "length must be 2 digits");
			return QRIS_EINVAL;
		}
		vlen = (unsigned)(p[2] - '0') * 10 + (unsigned)(p[3] - '0');
		if (vlen > left - 4) {
			err_set(err, parent, (int)id, "length %u runs past the end of the input (%zu characters left)",
				vlen, left - 4);
			return QRIS_EINVAL;
		}
		if (seen[id]) {
			err_set(err, parent, (int)id, "id appears twice at one level");
			return QRIS_EINVAL;
		}
		if (out->n == QRIS_OBJECTS_MAX) {
			err_set(err, parent, (int)id, "more than %d objects at one level", QRIS_OBJECTS_MAX);
			return QRIS_EINVAL;
		}
		seen[id] = true;
		out->objects[out->n].id = (uint8_t)id;
		out->objects[out->n].len = (uint8_t)vlen;
		memcpy(out->objects[out->n].value, p + 4, vlen);
		out->objects[out->n].value[vlen] = '\0';
		out->n++;
		pos += 4 + vlen;
	}
	return QRIS_OK;
}

int qris_tlv_parse(const char *s, size_t len, struct qris_tlv *out, struct qris_error *err)
{
	err_clear(err);
	if (out == NULL || (s == NULL && len > 0)) {
		err_set(err, ROOT, NO_ID, "no input or no output");
		return QRIS_EINVAL;
	}
	return tlv_parse(s, len, ROOT, out, err);
}

const struct qris_object *qris_tlv_find(const struct qris_tlv *t, uint8_t id)
{
	if (t == NULL)
		return NULL;
	for (size_t i = 0; i < t->n && i < QRIS_OBJECTS_MAX; i++)
		if (t->objects[i].id == id)
			return &t->objects[i];
	return NULL;
}

/*
 * Amount text (54, 56): digits without a leading zero, optionally '.' and at
 * most 2 decimals; the decimals must be zero because payments are whole
 * rupiah; the value is 1..QRIS_AMOUNT_MAX. OUT: *rupiah. Returns NULL or the
 * broken rule.
 */
static const char *amount_parse(const char *s, size_t len, int64_t *rupiah)
{
	int64_t v = 0;
	size_t i = 0;

	if (len > AMOUNT_TEXT_MAX)
		return "amount is longer than 13 characters";
	for (; i < len && is_digit(s[i]); i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0)
		return "amount must start with a digit (no sign, no separators)";
	if (i > 1 && s[0] == '0')
		return "amount has a leading zero";
	if (i < len) {
		size_t decimals = len - i - 1;

		if (s[i] != '.' || !all_digits(s + i + 1, decimals))
			return "amount may hold only digits and one '.' as decimal separator";
		if (decimals > 2)
			return "amount has more than 2 decimals";
		for (size_t d = i + 1; d < len; d++)
			if (s[d] != '0')
				return "amount has non-zero decimals (whole rupiah only)";
	}
	if (v == 0)
		return "amount must be greater than zero";
	if (v > QRIS_AMOUNT_MAX)
		return "amount exceeds 10000000 rupiah";
	*rupiah = v;
	return NULL;
}

/* Percentage text (57): 1-2 digits, optionally '.' and at most 2 decimals, 00.01..99.99. */
static const char *percent_check(const char *s, size_t len)
{
	size_t i = 0;
	bool nonzero = false;

	if (len == 0 || len > PERCENT_TEXT_MAX)
		return "percentage must be 1 to 5 characters";
	for (; i < len && is_digit(s[i]); i++)
		nonzero = nonzero || s[i] != '0';
	if (i == 0 || i > 2)
		return "percentage must have 1 or 2 integer digits (00.01 to 99.99)";
	if (i < len) {
		size_t decimals = len - i - 1;

		if (s[i] != '.' || decimals > 2 || !all_digits(s + i + 1, decimals))
			return "percentage may hold only digits, one '.' and at most 2 decimals";
		for (size_t d = i + 1; d < len; d++)
			nonzero = nonzero || s[d] != '0';
	}
	if (!nonzero)
		return "percentage must be greater than zero";
	return NULL;
}

static bool has_pipe(const struct qris_object *o)
{
	return memchr(o->value, '|', o->len) != NULL;
}

/* Copies a value whose length the caller has checked against cap; cut to cap - 1 regardless. */
static void copy_value(char *dst, size_t cap, const struct qris_object *o)
{
	size_t n = o->len < cap ? o->len : cap - 1;

	memcpy(dst, o->value, n);
	dst[n] = '\0';
}

static bool criteria_valid(const struct qris_object *o)
{
	for (size_t i = 0; i < sizeof(criteria_values) / sizeof(criteria_values[0]); i++)
		if (value_is(o, criteria_values[i]))
			return true;
	return false;
}

/* A template's nested objects, each at least one character long. OUT: *sub. */
static int template_parse(const struct qris_object *o, struct qris_tlv *sub, struct qris_error *err)
{
	if (tlv_parse(o->value, o->len, o->id, sub, err) != QRIS_OK)
		return QRIS_EINVAL;
	for (size_t i = 0; i < sub->n; i++) {
		if (sub->objects[i].len == 0) {
			err_set(err, o->id, sub->objects[i].id, "value is empty (lengths run 01-99)");
			return QRIS_EINVAL;
		}
	}
	return QRIS_OK;
}

/*
 * Merchant account template 26-45 (acquirer) or 51 (repository): 00 GUID
 * mandatory, 01 PAN digits (26-45), 02 merchant ID or NMID (mandatory in
 * 51), 03 criteria. Sets q->nmid and q->criteria (51.03 wins over the first
 * 26-45 .03).
 */
static int account_check(const struct qris_object *o, struct qris *q, struct qris_error *err)
{
	struct qris_tlv sub;
	const struct qris_object *guid, *pan, *mid, *crit;
	bool repository = o->id == ID_REPOSITORY;
	int rc = template_parse(o, &sub, err);

	if (rc != QRIS_OK)
		return rc;
	guid = qris_tlv_find(&sub, SUB_GUID);
	pan = qris_tlv_find(&sub, SUB_PAN);
	mid = qris_tlv_find(&sub, SUB_MERCHANT_ID);
	crit = qris_tlv_find(&sub, SUB_CRITERIA);
	if (guid == NULL) {
		err_set(err, o->id, SUB_GUID, "GUID is mandatory");
		return QRIS_EINVAL;
	}
	if (guid->len > GUID_MAX) {
		err_set(err, o->id, SUB_GUID, "GUID is longer than %d characters", GUID_MAX);
		return QRIS_EINVAL;
	}
	if (!repository && pan != NULL && (pan->len > PAN_MAX || !all_digits(pan->value, pan->len))) {
		err_set(err, o->id, SUB_PAN, "merchant PAN must be 1 to %d digits", PAN_MAX);
		return QRIS_EINVAL;
	}
	if (repository && mid == NULL) {
		err_set(err, o->id, SUB_MERCHANT_ID, "NMID is mandatory");
		return QRIS_EINVAL;
	}
	if (mid != NULL && mid->len > MERCHANT_ID_MAX) {
		err_set(err, o->id, SUB_MERCHANT_ID, "%s is longer than %d characters",
			repository ? "NMID" : "merchant ID", MERCHANT_ID_MAX);
		return QRIS_EINVAL;
	}
	if (crit != NULL && !criteria_valid(crit)) {
		err_set(err, o->id, SUB_CRITERIA, "merchant criteria must be one of UMI UKE UME UBE URE PSO BLU");
		return QRIS_EINVAL;
	}
	if (repository)
		copy_value(q->nmid, sizeof(q->nmid), mid);
	if (crit != NULL && (repository || q->criteria[0] == '\0'))
		copy_value(q->criteria, sizeof(q->criteria), crit);
	return QRIS_OK;
}

/* 62: 01-08 are 1-25 characters, 09 a combination of A, M and E. */
static int additional_check(const struct qris_object *o, struct qris_error *err)
{
	struct qris_tlv sub;
	int rc = template_parse(o, &sub, err);

	if (rc != QRIS_OK)
		return rc;
	for (size_t i = 0; i < sub.n; i++) {
		const struct qris_object *s = &sub.objects[i];

		if (s->id >= SUB_BILL && s->id <= SUB_PURPOSE && s->len > ADDITIONAL_TEXT_MAX) {
			err_set(err, o->id, s->id, "value is longer than %d characters", ADDITIONAL_TEXT_MAX);
			return QRIS_EINVAL;
		}
		if (s->id == SUB_CONSUMER_REQUEST) {
			bool ok = true;

			/* Each of A, M, E at most once, hence at most 3 characters. */
			for (size_t c = 0; ok && c < s->len; c++)
				ok = memchr("AME", s->value[c], 3) != NULL && memchr(s->value, s->value[c], c) == NULL;
			if (!ok) {
				err_set(err, o->id, s->id, "consumer data request must combine A, M and E, each once");
				return QRIS_EINVAL;
			}
		}
	}
	return QRIS_OK;
}

/* A primitive of at most max characters, optionally without '|', copied into dst when given. */
static int text_check(const struct qris_object *o, size_t max, bool no_pipe, char *dst, size_t cap,
		      struct qris_error *err)
{
	if (o->len > max) {
		err_set(err, ROOT, o->id, "value is longer than %zu characters", max);
		return QRIS_EINVAL;
	}
	if (no_pipe && has_pipe(o)) {
		err_set(err, ROOT, o->id, "value must not contain '|'");
		return QRIS_EINVAL;
	}
	if (dst != NULL)
		copy_value(dst, cap, o);
	return QRIS_OK;
}

static int fixed_check(const struct qris_object *o, const char *expected, const char *what, struct qris_error *err)
{
	if (!value_is(o, expected)) {
		err_set(err, ROOT, o->id, "%s must be %s", what, expected);
		return QRIS_EINVAL;
	}
	return QRIS_OK;
}

/* The rules of one root object; fills the matching fields of *q. */
static int object_check(const struct qris_object *o, struct qris *q, struct qris_error *err)
{
	const char *rule = NULL;
	int64_t fee;

	if (o->len == 0) {
		err_set(err, ROOT, o->id, "value is empty (lengths run 01-99)");
		return QRIS_EINVAL;
	}
	if (o->id >= ID_TEMPLATE_FIRST && o->id <= ID_DOMESTIC_LAST)
		return account_check(o, q, err);
	if ((o->id > ID_DOMESTIC_LAST && o->id < ID_REPOSITORY) || o->id == ID_LANGUAGE ||
	    o->id >= ID_UNRESERVED_FIRST) {
		struct qris_tlv sub;

		return template_parse(o, &sub, err);
	}
	switch (o->id) {
	case ID_INITIATION:
		if (!value_is(o, "11") && !value_is(o, "12"))
			rule = "point of initiation must be 11 (static) or 12 (dynamic)";
		q->dynamic = value_is(o, "12");
		break;
	case ID_REPOSITORY:
		return account_check(o, q, err);
	case ID_MCC:
		if (o->len != 4 || !all_digits(o->value, o->len))
			rule = "merchant category code must be 4 digits";
		else
			copy_value(q->mcc, sizeof(q->mcc), o);
		break;
	case ID_CURRENCY:
		return fixed_check(o, "360", "currency", err);
	case ID_AMOUNT:
		rule = amount_parse(o->value, o->len, &q->amount);
		break;
	case ID_FEE_INDICATOR:
		if (!value_is(o, "01") && !value_is(o, "02") && !value_is(o, "03"))
			rule = "tip or convenience indicator must be 01, 02 or 03";
		break;
	case ID_FEE_FIXED:
		rule = amount_parse(o->value, o->len, &fee);
		break;
	case ID_FEE_PERCENT:
		rule = percent_check(o->value, o->len);
		break;
	case ID_COUNTRY:
		return fixed_check(o, "ID", "country code", err);
	case ID_NAME:
		return text_check(o, NAME_MAX_LEN, true, q->merchant_name, sizeof(q->merchant_name), err);
	case ID_CITY:
		return text_check(o, CITY_MAX_LEN, true, q->merchant_city, sizeof(q->merchant_city), err);
	case ID_POSTAL:
		return text_check(o, POSTAL_MAX_LEN, false, q->postal_code, sizeof(q->postal_code), err);
	case ID_ADDITIONAL:
		return additional_check(o, err);
	default:
		/* 00 and 63 are checked with the framing; 02-25 and 65-79 are opaque. */
		break;
	}
	if (rule != NULL) {
		err_set(err, ROOT, o->id, "%s", rule);
		return QRIS_EINVAL;
	}
	return QRIS_OK;
}

/* 00 first with value 01; 63 last, 4 uppercase hex digits equal to the CRC. */
static int frame_check(const char *payload, size_t len, const struct qris_tlv *root, struct qris_error *err)
{
	const struct qris_object *first = &root->objects[0];
	const struct qris_object *last = &root->objects[root->n - 1];
	char expected[5];

	if (first->id != ID_FORMAT) {
		err_set(err, ROOT, ID_FORMAT, "payload format indicator must be the first object");
		return QRIS_EINVAL;
	}
	if (!value_is(first, "01")) {
		err_set(err, ROOT, ID_FORMAT, "payload format indicator must be 01");
		return QRIS_EINVAL;
	}
	if (last->id != ID_CRC) {
		err_set(err, ROOT, ID_CRC, "CRC must be the last object");
		return QRIS_EINVAL;
	}
	if (last->len != 4) {
		err_set(err, ROOT, ID_CRC, "CRC length must be 04");
		return QRIS_EINVAL;
	}
	for (size_t i = 0; i < 4; i++) {
		char c = last->value[i];

		if (!is_digit(c) && !(c >= 'A' && c <= 'F')) {
			err_set(err, ROOT, ID_CRC, "CRC must be 4 uppercase hex digits");
			return QRIS_EINVAL;
		}
	}
	/* The CRC covers everything up to and including "6304", i.e. all but its value. */
	snprintf(expected, sizeof(expected), "%04X", (unsigned)qris_crc16(payload, len - 4));
	if (memcmp(expected, last->value, 4) != 0) {
		err_set(err, ROOT, ID_CRC, "CRC mismatch: payload says %s, computed %s", last->value, expected);
		return QRIS_EINVAL;
	}
	return QRIS_OK;
}

static bool has(const struct qris_tlv *root, uint8_t id)
{
	return qris_tlv_find(root, id) != NULL;
}

/* Rules between objects: presence, 51 for static payloads, fee tags. */
static int presence_check(const struct qris *q, struct qris_error *err)
{
	static const uint8_t mandatory[] = { ID_MCC, ID_CURRENCY, ID_COUNTRY, ID_NAME, ID_CITY, ID_POSTAL };
	const struct qris_tlv *root = &q->root;
	const struct qris_object *initiation = qris_tlv_find(root, ID_INITIATION);
	const struct qris_object *indicator = qris_tlv_find(root, ID_FEE_INDICATOR);
	bool account = false;

	for (size_t i = 0; i < root->n; i++)
		account = account || (root->objects[i].id >= ID_ACCOUNT_FIRST && root->objects[i].id <= ID_REPOSITORY);
	if (!account) {
		snprintf(err->tag, sizeof(err->tag), "02-51");
		snprintf(err->rule, sizeof(err->rule), "at least one merchant account (02-51) is mandatory");
		return QRIS_EINVAL;
	}
	if (initiation != NULL && value_is(initiation, "11") && !has(root, ID_REPOSITORY)) {
		err_set(err, ROOT, ID_REPOSITORY, "national repository template is mandatory when 01 = 11");
		return QRIS_EINVAL;
	}
	for (size_t i = 0; i < sizeof(mandatory); i++) {
		if (!has(root, mandatory[i])) {
			err_set(err, ROOT, mandatory[i], "object is mandatory and missing");
			return QRIS_EINVAL;
		}
	}
	if (has(root, ID_FEE_FIXED) != (indicator != NULL && value_is(indicator, "02"))) {
		err_set(err, ROOT, ID_FEE_FIXED, "fixed convenience fee is present if and only if 55 = 02");
		return QRIS_EINVAL;
	}
	if (has(root, ID_FEE_PERCENT) != (indicator != NULL && value_is(indicator, "03"))) {
		err_set(err, ROOT, ID_FEE_PERCENT, "percentage convenience fee is present if and only if 55 = 03");
		return QRIS_EINVAL;
	}
	return QRIS_OK;
}

int qris_decode(const char *payload, size_t len, struct qris *out, struct qris_error *err)
{
	struct qris_error scratch;
	int rc;

	/* Callers may pass no err; the checks below always have one to fill. */
	if (err == NULL)
		err = &scratch;
	err_clear(err);
	if (out == NULL) {
		err_set(err, ROOT, NO_ID, "no output");
		return QRIS_EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (payload == NULL || len == 0) {
		err_set(err, ROOT, NO_ID, "payload is empty");
		return QRIS_EINVAL;
	}
	if (len > QRIS_PAYLOAD_MAX) {
		err_set(err, ROOT, NO_ID, "payload is longer than %d characters", QRIS_PAYLOAD_MAX);
		return QRIS_EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (payload[i] < 0x20 || payload[i] > 0x7E) {
			err_set(err, ROOT, NO_ID, "character at offset %zu is not printable ASCII", i);
			return QRIS_EINVAL;
		}
	}
	rc = tlv_parse(payload, len, ROOT, &out->root, err);
	if (rc == QRIS_OK)
		rc = frame_check(payload, len, &out->root, err);
	for (size_t i = 0; rc == QRIS_OK && i < out->root.n; i++)
		rc = object_check(&out->root.objects[i], out, err);
	if (rc == QRIS_OK)
		rc = presence_check(out, err);
	if (rc == QRIS_OK && out->criteria[0] == '\0')
		snprintf(out->criteria, sizeof(out->criteria), "URE");
	return rc;
}

int qris_tlv_text(const struct qris_tlv *t, size_t max, char *out, size_t cap, size_t *len)
{
	bool seen[ID_COUNT] = { false };
	size_t total = 0;
	size_t pos = 0;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (t == NULL || out == NULL || len == NULL || t->n > QRIS_OBJECTS_MAX)
		return QRIS_EINVAL;
	for (size_t i = 0; i < t->n; i++) {
		const struct qris_object *o = &t->objects[i];

		if (o->id >= ID_COUNT || o->len > QRIS_VALUE_MAX || seen[o->id])
			return QRIS_EINVAL;
		seen[o->id] = true;
		if (o->id != ID_CRC)
			total += 4 + o->len;
	}
	if (total > max)
		return QRIS_EINVAL;
	if (total >= cap)
		return QRIS_ESPACE;
	for (size_t i = 0; i < t->n; i++) {
		const struct qris_object *o = &t->objects[i];

		if (o->id == ID_CRC)
			continue;
		snprintf(out + pos, cap - pos, "%02u%02u", (unsigned)o->id, (unsigned)o->len);
		memcpy(out + pos + 4, o->value, o->len);
		pos += 4 + o->len;
	}
	out[pos] = '\0';
	*len = total;
	return QRIS_OK;
}

int qris_encode(const struct qris_tlv *root, char *out, size_t cap, size_t *len)
{
	/* The objects, then "6304" and the CRC over everything before it. */
	int rc = qris_tlv_text(root, QRIS_PAYLOAD_MAX - 8, out, cap > 8 ? cap - 8 : 0, len);
	if (rc != QRIS_OK)
		return rc;
	memcpy(out + *len, "6304", 4);
	snprintf(out + *len + 4, cap - *len - 4, "%04X", (unsigned)qris_crc16(out, *len + 4));
	*len += 8;
	return QRIS_OK;
}

/* Appends one object to t; value is at most QRIS_VALUE_MAX characters. */
static int tlv_push(struct qris_tlv *t, uint8_t id, const char *value, size_t len, struct qris_error *err)
{
	if (t->n == QRIS_OBJECTS_MAX) {
		err_set(err, ROOT, NO_ID, "the dynamic payload would hold more than %d objects", QRIS_OBJECTS_MAX);
		return QRIS_EINVAL;
	}
	t->objects[t->n].id = id;
	t->objects[t->n].len = (uint8_t)len;
	memcpy(t->objects[t->n].value, value, len);
	t->objects[t->n].value[len] = '\0';
	t->n++;
	return QRIS_OK;
}

static int tlv_push_text(struct qris_tlv *t, uint8_t id, const char *text, struct qris_error *err)
{
	return tlv_push(t, id, text, strlen(text), err);
}

/* The objects that go before 58: 54 and the fee (55 with 56 or 57). */
static int dynamic_tail(struct qris_tlv *t, int64_t amount, enum qris_fee fee, int64_t fee_fixed,
			const char *fee_percent, struct qris_error *err)
{
	char text[24];
	int rc;

	snprintf(text, sizeof(text), "%" PRId64, amount);
	rc = tlv_push_text(t, ID_AMOUNT, text, err);
	if (rc == QRIS_OK && fee == QRIS_FEE_FIXED) {
		snprintf(text, sizeof(text), "%" PRId64, fee_fixed);
		rc = tlv_push_text(t, ID_FEE_INDICATOR, "02", err);
		if (rc == QRIS_OK)
			rc = tlv_push_text(t, ID_FEE_FIXED, text, err);
	} else if (rc == QRIS_OK && fee == QRIS_FEE_PERCENT) {
		rc = tlv_push_text(t, ID_FEE_INDICATOR, "03", err);
		if (rc == QRIS_OK)
			rc = tlv_push_text(t, ID_FEE_PERCENT, fee_percent, err);
	}
	return rc;
}

/* The amount and fee arguments of qris_to_dynamic. */
static int dynamic_args_check(int64_t amount, enum qris_fee fee, int64_t fee_fixed, const char *fee_percent,
			      struct qris_error *err)
{
	const char *rule;

	if (amount < 1 || amount > QRIS_AMOUNT_MAX) {
		err_set(err, ROOT, ID_AMOUNT, "amount must be 1 to %d rupiah", QRIS_AMOUNT_MAX);
		return QRIS_EINVAL;
	}
	switch (fee) {
	case QRIS_FEE_NONE:
		return QRIS_OK;
	case QRIS_FEE_FIXED:
		if (fee_fixed < 1 || fee_fixed > QRIS_AMOUNT_MAX) {
			err_set(err, ROOT, ID_FEE_FIXED, "fixed fee must be 1 to %d rupiah", QRIS_AMOUNT_MAX);
			return QRIS_EINVAL;
		}
		return QRIS_OK;
	case QRIS_FEE_PERCENT:
		rule = fee_percent == NULL ? "percentage fee is missing"
			: percent_check(fee_percent, strnlen(fee_percent, PERCENT_TEXT_MAX + 1));
		if (rule != NULL) {
			err_set(err, ROOT, ID_FEE_PERCENT, "%s", rule);
			return QRIS_EINVAL;
		}
		return QRIS_OK;
	}
	err_set(err, ROOT, ID_FEE_INDICATOR, "unknown fee kind");
	return QRIS_EINVAL;
}

int qris_to_dynamic(const char *payload, size_t len, int64_t amount, enum qris_fee fee, int64_t fee_fixed,
		    const char *fee_percent, char *out, size_t cap, size_t *out_len, struct qris_error *err)
{
	struct qris q;
	struct qris_tlv dyn;
	bool has_initiation;
	int rc;

	err_clear(err);
	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (out == NULL || out_len == NULL) {
		err_set(err, ROOT, NO_ID, "no output");
		return QRIS_EINVAL;
	}
	rc = qris_decode(payload, len, &q, err);
	if (rc == QRIS_OK)
		rc = dynamic_args_check(amount, fee, fee_fixed, fee_percent, err);
	if (rc != QRIS_OK)
		return rc;
	has_initiation = has(&q.root, ID_INITIATION);
	dyn.n = 0;
	for (size_t i = 0; rc == QRIS_OK && i < q.root.n; i++) {
		const struct qris_object *o = &q.root.objects[i];

		if ((o->id >= ID_AMOUNT && o->id <= ID_FEE_PERCENT) || o->id == ID_CRC)
			continue;
		if (o->id == ID_COUNTRY)
			rc = dynamic_tail(&dyn, amount, fee, fee_fixed, fee_percent, err);
		if (rc != QRIS_OK)
			break;
		if (o->id == ID_INITIATION)
			rc = tlv_push_text(&dyn, ID_INITIATION, "12", err);
		else
			rc = tlv_push(&dyn, o->id, o->value, o->len, err);
		/* A payload without 01 gets it right after 00. */
		if (rc == QRIS_OK && o->id == ID_FORMAT && !has_initiation)
			rc = tlv_push_text(&dyn, ID_INITIATION, "12", err);
	}
	if (rc != QRIS_OK)
		return rc;
	rc = qris_encode(&dyn, out, cap, out_len);
	if (rc == QRIS_EINVAL)
		err_set(err, ROOT, NO_ID, "the dynamic payload would be longer than %d characters", QRIS_PAYLOAD_MAX);
	else if (rc == QRIS_ESPACE)
		err_set(err, ROOT, NO_ID, "output buffer too small");
	return rc;
}

/*
 * qris_json may get a struct not made by qris_decode: lengths, counts and
 * strings are clamped to their arrays.
 */
static size_t stored_len(const struct qris_object *o)
{
	return o->len <= QRIS_VALUE_MAX ? o->len : QRIS_VALUE_MAX;
}

static size_t stored_count(const struct qris_tlv *t)
{
	return t->n <= QRIS_OBJECTS_MAX ? t->n : QRIS_OBJECTS_MAX;
}

static json_t *json_field(const char *s, size_t cap)
{
	return json_stringn(s, strnlen(s, cap));
}

/* Sets key to val (a new reference, NULL when out of memory); returns -1 on failure. */
static int jset(json_t *obj, const char *key, json_t *val)
{
	return json_object_set_new(obj, key, val) == 0 ? 0 : -1;
}

static int jset_sub(json_t *obj, const char *key, const struct qris_tlv *sub, uint8_t id)
{
	const struct qris_object *o = qris_tlv_find(sub, id);

	return o == NULL ? 0 : jset(obj, key, json_stringn(o->value, stored_len(o)));
}

/* The merchant account objects 02-51: templates broken into named fields. */
static json_t *accounts_json(const struct qris_tlv *root)
{
	json_t *list = json_array();
	int rc = list == NULL ? -1 : 0;

	for (size_t i = 0; rc == 0 && i < stored_count(root); i++) {
		const struct qris_object *o = &root->objects[i];
		struct qris_tlv sub;
		char tag[3];
		json_t *acc;

		if (o->id < ID_ACCOUNT_FIRST || o->id > ID_REPOSITORY)
			continue;
		acc = json_object();
		snprintf(tag, sizeof(tag), "%02u", (unsigned)o->id % ID_COUNT);
		rc = json_array_append_new(list, acc) == 0 && acc != NULL ? 0 : -1;
		if (rc == 0)
			rc = jset(acc, "tag", json_string(tag));
		if (rc == 0 && o->id < ID_TEMPLATE_FIRST) {
			rc = jset(acc, "value", json_stringn(o->value, stored_len(o)));
			continue;
		}
		if (rc != 0 || tlv_parse(o->value, stored_len(o), o->id, &sub, NULL) != QRIS_OK)
			continue;
		rc |= jset_sub(acc, "guid", &sub, SUB_GUID);
		rc |= jset_sub(acc, "pan", &sub, SUB_PAN);
		rc |= jset_sub(acc, o->id == ID_REPOSITORY ? "nmid" : "merchant_id", &sub, SUB_MERCHANT_ID);
		rc |= jset_sub(acc, "criteria", &sub, SUB_CRITERIA);
	}
	if (rc != 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* 62 with its sub-objects named; an empty object when absent. */
static json_t *additional_json(const struct qris_tlv *root)
{
	static const char *const names[] = {
		NULL, "bill_number", "mobile_number", "store_label", "loyalty_number", "reference_label",
		"customer_label", "terminal_label", "purpose", "consumer_data_request",
	};
	const struct qris_object *o = qris_tlv_find(root, ID_ADDITIONAL);
	json_t *obj = json_object();
	struct qris_tlv sub;
	int rc = obj == NULL ? -1 : 0;

	if (rc == 0 && o != NULL && tlv_parse(o->value, stored_len(o), o->id, &sub, NULL) == QRIS_OK)
		for (uint8_t id = SUB_BILL; id <= SUB_CONSUMER_REQUEST; id++)
			rc |= jset_sub(obj, names[id], &sub, id);
	if (rc != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* The convenience fee (55-57), or JSON null. */
static json_t *fee_json(const struct qris_tlv *root)
{
	const struct qris_object *ind = qris_tlv_find(root, ID_FEE_INDICATOR);
	const struct qris_object *fixed = qris_tlv_find(root, ID_FEE_FIXED);
	const struct qris_object *pct = qris_tlv_find(root, ID_FEE_PERCENT);
	int64_t rupiah = 0;

	if (ind == NULL)
		return json_null();
	if (value_is(ind, "02") && fixed != NULL && amount_parse(fixed->value, stored_len(fixed), &rupiah) == NULL)
		return json_pack("{s:s, s:I}", "type", "fixed", "amount", (json_int_t)rupiah);
	if (value_is(ind, "03") && pct != NULL)
		return json_pack("{s:s, s:s#}", "type", "percent", "percent", pct->value, (int)stored_len(pct));
	return json_pack("{s:s}", "type", "prompt");
}

json_t *qris_json(const struct qris *q)
{
	const struct qris_object *crc;
	json_t *j, *objects;
	int rc;

	if (q == NULL)
		return NULL;
	j = json_object();
	objects = json_object();
	crc = qris_tlv_find(&q->root, ID_CRC);
	rc = j != NULL && objects != NULL ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < stored_count(&q->root); i++) {
		const struct qris_object *o = &q->root.objects[i];
		char id[3];

		snprintf(id, sizeof(id), "%02u", (unsigned)o->id % ID_COUNT);
		rc = jset(objects, id, json_stringn(o->value, stored_len(o)));
	}
	if (rc == 0) {
		rc |= jset(j, "dynamic", json_boolean(q->dynamic));
		rc |= jset(j, "amount", q->amount > 0 ? json_integer(q->amount) : json_null());
		rc |= jset(j, "fee", fee_json(&q->root));
		rc |= jset(j, "merchant_name", json_field(q->merchant_name, sizeof(q->merchant_name)));
		rc |= jset(j, "merchant_city", json_field(q->merchant_city, sizeof(q->merchant_city)));
		rc |= jset(j, "postal_code", json_field(q->postal_code, sizeof(q->postal_code)));
		rc |= jset(j, "mcc", json_field(q->mcc, sizeof(q->mcc)));
		rc |= jset(j, "nmid", json_field(q->nmid, sizeof(q->nmid)));
		rc |= jset(j, "criteria", json_field(q->criteria, sizeof(q->criteria)));
		rc |= jset(j, "merchant_accounts", accounts_json(&q->root));
		rc |= jset(j, "additional_data", additional_json(&q->root));
		rc |= jset(j, "crc", crc != NULL ? json_stringn(crc->value, stored_len(crc)) : json_null());
		rc |= jset(j, "objects", objects);
		objects = NULL;
	}
	json_decref(objects);
	if (rc != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}
