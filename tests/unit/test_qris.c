/*
 * Unit tests for gateways/qris and gateways/qr: the published reference
 * vectors (qris.md section 9), CRC check values, every decoder rule broken
 * once, truncation and random input (run under ASan with exact-size heap
 * copies, so any over-read is caught), the static-to-dynamic conversion,
 * JSON, the `qris` subcommand and the QR SVG (scanned back with zbarimg when
 * rsvg-convert and zbarimg are installed).
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
#include <unistd.h>

#include <qrencode.h>

#include "qr.h"
#include "qris.h"

/* qris.md 9.1 and 9.2: the same merchant, static and dynamic (1337, fixed fee 666). */
static const char S91[] =
	"00020101021126630016COM.MEMBASUH.WWW0118936000091100004515021004893710810303UMI51440014ID.CO.QRIS.WWW"
	"0215ID20200340731930303UKE5204482953033605802ID5912Sintas Store6015Kota Yogyakarta61055500062070703A01"
	"63049FB7";
static const char D92[] =
	"00020101021226630016COM.MEMBASUH.WWW0118936000091100004515021004893710810303UMI51440014ID.CO.QRIS.WWW"
	"0215ID20200340731930303UKE5204482953033605404133755020256036665802ID5912Sintas Store6015Kota Yogyakarta"
	"61055500062070703A016304F98B";
/* qris.md 6.2: valid TLV and CRC 00C9 (two leading zeros), but not a complete QRIS. */
static const char ZERO_PAD[] = "00020101021152045812530336054032685802ID630400C9";

/* Deterministic xorshift64, so a failing random case can be replayed. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Decodes an exact-size heap copy (no NUL after it) so ASan sees any over-read. */
static int decode_copy(const char *payload, size_t len, struct qris *q, struct qris_error *err)
{
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, payload, len);
	rc = qris_decode(copy, len, q, err);
	free(copy);
	return rc;
}

static void assert_decode_fails(const char *payload, size_t len, const char *tag)
{
	struct qris q;
	struct qris_error err;

	assert_int_equal(decode_copy(payload, len, &q, &err), QRIS_EINVAL);
	assert_string_equal(err.tag, tag);
	assert_true(strlen(err.rule) > 0);
}

static void decode_ok(const char *payload, struct qris *q)
{
	struct qris_error err;
	int rc = decode_copy(payload, strlen(payload), q, &err);

	if (rc != QRIS_OK)
		fail_msg("decode failed: tag %s: %s", err.tag, err.rule);
}

/* The root objects of 9.1. */
static void base_root(struct qris_tlv *t)
{
	struct qris q;

	decode_ok(S91, &q);
	*t = q.root;
}

/* Sets id to value in place, appends it when absent; value NULL removes it. */
static void tlv_set(struct qris_tlv *t, uint8_t id, const char *value)
{
	size_t i = 0;

	while (i < t->n && t->objects[i].id != id)
		i++;
	if (value == NULL) {
		assert_true(i < t->n);
		memmove(&t->objects[i], &t->objects[i + 1], (t->n - i - 1) * sizeof(t->objects[0]));
		t->n--;
		return;
	}
	assert_true(strlen(value) <= QRIS_VALUE_MAX);
	if (i == t->n) {
		assert_true(t->n < QRIS_OBJECTS_MAX);
		t->n++;
	}
	t->objects[i].id = id;
	t->objects[i].len = (uint8_t)strlen(value);
	memcpy(t->objects[i].value, value, strlen(value) + 1);
}

static void encode_ok(const struct qris_tlv *t, char *out, size_t cap)
{
	size_t len;

	assert_int_equal(qris_encode(t, out, cap, &len), QRIS_OK);
	assert_int_equal(len, strlen(out));
}

/* body + "6304" + its CRC. */
static void with_crc(const char *body, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s6304", body);

	assert_true(n > 0 && (size_t)n + 4 < cap);
	snprintf(out + n, cap - (size_t)n, "%04X", (unsigned)qris_crc16(out, (size_t)n));
}

struct edit {
	uint8_t id;
	const char *value;       /* NULL removes the object */
};

#define REMOVE NULL

/* 9.1 with the edits applied (and a correct CRC) fails naming tag; tag NULL: decodes. */
static void expect_edits(const struct edit *edits, size_t n, const char *tag)
{
	struct qris_tlv t;
	char payload[QRIS_PAYLOAD_MAX + 1];
	struct qris q;

	base_root(&t);
	for (size_t i = 0; i < n; i++)
		tlv_set(&t, edits[i].id, edits[i].value);
	encode_ok(&t, payload, sizeof(payload));
	if (tag != NULL)
		assert_decode_fails(payload, strlen(payload), tag);
	else
		decode_ok(payload, &q);
}

/* One cmocka test per rule: the edits break exactly that rule. */
#define RULE(name, tag, ...) \
	static void name(void **state) \
	{ \
		const struct edit e[] = { __VA_ARGS__ }; \
		(void)state; \
		expect_edits(e, sizeof(e) / sizeof(e[0]), tag); \
	}

/* Valid variations that must keep decoding. */
#define ACCEPT(name, ...) RULE(name, NULL, __VA_ARGS__)

RULE(rule_00_value, "00", { 0, "02" })
RULE(rule_01_value, "01", { 1, "13" })
RULE(rule_account_missing, "02-51", { 26, REMOVE }, { 51, REMOVE }, { 1, "12" })
RULE(rule_51_mandatory_when_static, "51", { 51, REMOVE })
RULE(rule_26_guid_missing, "26.00", { 26, "0118936000091100004515021004893710810303UMI" })
RULE(rule_26_guid_long, "26.00", { 26, "0033COM.MEMBASUH.WWW.EXAMPLE.LONGXYZA0118936000091100004515021004893710810303UMI" })
RULE(rule_26_pan_digits, "26.01", { 26, "0016COM.MEMBASUH.WWW011893600009110000451X021004893710810303UMI" })
RULE(rule_26_pan_long, "26.01", { 26, "0016COM.MEMBASUH.WWW012093600009110000451500021004893710810303UMI" })
RULE(rule_26_merchant_id_long, "26.02",
     { 26, "0016COM.MEMBASUH.WWW011893600009110000451502160489371081ABCDEF0303UMI" })
RULE(rule_26_criteria, "26.03", { 26, "0016COM.MEMBASUH.WWW0118936000091100004515021004893710810303XYZ" })
RULE(rule_26_nested_framing, "26.01", { 26, "0016COM.MEMBASUH.WWW0118936" })
RULE(rule_26_nested_duplicate, "26.00", { 26, "0016COM.MEMBASUH.WWW0016COM.MEMBASUH.WWW" })
RULE(rule_26_nested_empty, "26.00", { 26, "0016COM.MEMBASUH.WWW0000" })
RULE(rule_51_guid_missing, "51.00", { 51, "0215ID20200340731930303UKE" })
RULE(rule_51_nmid_missing, "51.02", { 51, "0014ID.CO.QRIS.WWW0303UKE" })
RULE(rule_51_nmid_long, "51.02", { 51, "0014ID.CO.QRIS.WWW0216ID2020034073193X0303UKE" })
RULE(rule_51_criteria, "51.03", { 51, "0014ID.CO.QRIS.WWW0215ID20200340731930303ABC" })
RULE(rule_52_digits, "52", { 52, "48A9" })
RULE(rule_52_length, "52", { 52, "482" })
RULE(rule_52_missing, "52", { 52, REMOVE })
RULE(rule_53_value, "53", { 53, "840" })
RULE(rule_53_missing, "53", { 53, REMOVE })
RULE(rule_54_format, "54", { 54, "1.000" })
RULE(rule_55_value, "55", { 55, "04" })
RULE(rule_56_without_55, "56", { 56, "666" })
RULE(rule_56_missing, "56", { 55, "02" })
RULE(rule_56_format, "56", { 55, "02" }, { 56, "0" })
RULE(rule_57_without_55, "57", { 57, "1.5" })
RULE(rule_57_missing, "57", { 55, "03" })
RULE(rule_57_over_99_99, "57", { 55, "03" }, { 57, "100" })
RULE(rule_57_zero, "57", { 55, "03" }, { 57, "00.00" })
RULE(rule_57_decimals, "57", { 55, "03" }, { 57, "1.234" })
RULE(rule_58_value, "58", { 58, "SG" })
RULE(rule_58_missing, "58", { 58, REMOVE })
RULE(rule_59_long, "59", { 59, "Sintas Store Yogyakarta 12" })
RULE(rule_59_pipe, "59", { 59, "Sintas|Store" })
RULE(rule_59_empty, "59", { 59, "" })
RULE(rule_59_missing, "59", { 59, REMOVE })
RULE(rule_60_long, "60", { 60, "Kota Yogyakarta1" })
RULE(rule_60_pipe, "60", { 60, "Kota|Yogyakarta" })
RULE(rule_60_missing, "60", { 60, REMOVE })
RULE(rule_61_long, "61", { 61, "55000550005" })
RULE(rule_61_missing, "61", { 61, REMOVE })
RULE(rule_62_text_long, "62.01", { 62, "0126AAAAAAAAAAAAAAAAAAAAAAAAAA" })
RULE(rule_62_consumer_long, "62.09", { 62, "0904AMEA" })
RULE(rule_62_consumer_repeat, "62.09", { 62, "0902AA" })
RULE(rule_62_consumer_letter, "62.09", { 62, "0901X" })
RULE(rule_62_nested_framing, "62.07", { 62, "0703A0" })
RULE(rule_64_nested_framing, "64", { 64, "0" })
RULE(rule_80_nested_framing, "80.01", { 80, "0199" })
RULE(rule_47_nested_framing, "47.00", { 47, "00X1" })

ACCEPT(accept_51_without_criteria, { 51, "0014ID.CO.QRIS.WWW0215ID2020034073193" })
ACCEPT(accept_dynamic_without_51, { 51, REMOVE }, { 1, "12" })
ACCEPT(accept_no_initiation_without_51, { 51, REMOVE }, { 1, REMOVE })
ACCEPT(accept_primitive_account_only, { 26, REMOVE }, { 51, REMOVE }, { 1, "12" }, { 4, "5204123412341234" })
ACCEPT(accept_rfu_and_unreserved, { 65, "opaque|value" }, { 80, "0003abc9901z" }, { 64, "0002ID0106Sintas" })
ACCEPT(accept_62_prompt_and_consumer, { 62, "0503***0903EMA" })
ACCEPT(accept_tip_prompt, { 55, "01" })
ACCEPT(accept_percent_fee, { 55, "03" }, { 57, "05.50" })

/* Framing rules that need a hand-made payload. */
static void rule_printable(void **state)
{
	char body[QRIS_PAYLOAD_MAX + 1], payload[QRIS_PAYLOAD_MAX + 1];
	char *s;

	(void)state;
	snprintf(body, sizeof(body), "%.*s", (int)(sizeof(S91) - 9), S91);
	s = strstr(body, "Sintas");
	s[0] = '\x01';
	with_crc(body, payload, sizeof(payload));
	assert_decode_fails(payload, strlen(payload), "-");
	s[0] = (char)0xC3;
	with_crc(body, payload, sizeof(payload));
	assert_decode_fails(payload, strlen(payload), "-");
}

static void rule_empty_payload(void **state)
{
	(void)state;
	assert_decode_fails("", 0, "-");
}

static void rule_payload_max(void **state)
{
	char body[600], payload[600];
	struct qris q;
	int n;

	(void)state;
	/* Three opaque 90-character objects make 9.1 493 characters long (valid), a fourth too long. */
	n = snprintf(body, sizeof(body), "%.*s", (int)(sizeof(S91) - 9), S91);
	for (int id = 65; id <= 68; id++) {
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%02d90%090d", id, id);
		with_crc(body, payload, sizeof(payload));
		if (id < 68) {
			decode_ok(payload, &q);
		} else {
			assert_true(strlen(payload) > QRIS_PAYLOAD_MAX);
			assert_decode_fails(payload, strlen(payload), "-");
		}
	}
}

static void rule_id_digits(void **state)
{
	char payload[QRIS_PAYLOAD_MAX + 1];

	(void)state;
	with_crc("0002010102115X044829", payload, sizeof(payload));
	assert_decode_fails(payload, strlen(payload), "-");
}

static void rule_length_digits(void **state)
{
	char payload[QRIS_PAYLOAD_MAX + 1];

	(void)state;
	with_crc("0002010102115204482953O3360", payload, sizeof(payload));
	assert_decode_fails(payload, strlen(payload), "53");
}

static void rule_value_past_end(void **state)
{
	char payload[sizeof(S91)];

	(void)state;
	memcpy(payload, S91, sizeof(S91));
	memcpy(strstr(payload, "610555000"), "6199", 4);
	assert_decode_fails(payload, strlen(payload), "61");
}

static void rule_duplicate_id(void **state)
{
	char body[QRIS_PAYLOAD_MAX + 1], payload[QRIS_PAYLOAD_MAX + 1];

	(void)state;
	snprintf(body, sizeof(body), "%.*s5303360", (int)(sizeof(S91) - 9), S91);
	with_crc(body, payload, sizeof(payload));
	assert_decode_fails(payload, strlen(payload), "53");
}

static void rule_objects_max(void **state)
{
	char body[QRIS_PAYLOAD_MAX + 1], payload[QRIS_PAYLOAD_MAX + 1], tag[3];
	int n = 0, count = 0, id;

	(void)state;
	/* 65 short objects at one level: the 65th is named. */
	for (id = 0; count <= QRIS_OBJECTS_MAX; id++, count++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%02d01%d", id, id % 10);
	with_crc(body, payload, sizeof(payload));
	snprintf(tag, sizeof(tag), "%02d", (id - 1) % 100);
	assert_decode_fails(payload, strlen(payload), tag);
}

static void rule_00_first(void **state)
{
	char body[QRIS_PAYLOAD_MAX + 1], payload[QRIS_PAYLOAD_MAX + 1];

	(void)state;
	snprintf(body, sizeof(body), "010211000201%.*s", (int)(sizeof(S91) - 9 - 12), S91 + 12);
	with_crc(body, payload, sizeof(payload));
	assert_decode_fails(payload, strlen(payload), "00");
}

static void rule_63_last(void **state)
{
	char payload[QRIS_PAYLOAD_MAX + 1];

	(void)state;
	snprintf(payload, sizeof(payload), "%s9902AB", S91);
	assert_decode_fails(payload, strlen(payload), "63");
}

static void rule_63_length(void **state)
{
	char payload[QRIS_PAYLOAD_MAX + 1];

	(void)state;
	snprintf(payload, sizeof(payload), "%.*s63059FB70", (int)(sizeof(S91) - 9), S91);
	assert_decode_fails(payload, strlen(payload), "63");
}

static void rule_63_uppercase_hex(void **state)
{
	char payload[sizeof(S91)];

	(void)state;
	memcpy(payload, S91, sizeof(S91));
	memcpy(payload + sizeof(S91) - 5, "9fb7", 4);
	assert_decode_fails(payload, strlen(payload), "63");
}

static void rule_63_mismatch(void **state)
{
	char payload[sizeof(S91)];

	(void)state;
	memcpy(payload, S91, sizeof(S91));
	payload[sizeof(S91) - 2] = '8';
	assert_decode_fails(payload, strlen(payload), "63");
}

static void test_crc_check_values(void **state)
{
	(void)state;
	assert_int_equal(qris_crc16("123456789", 9), 0x29B1);
	assert_int_equal(qris_crc16("HELLO", 5), 0x49D6);
	assert_int_equal(qris_crc16("abcdef", 6), 0x34ED);
	assert_int_equal(qris_crc16("", 0), 0xFFFF);
	assert_int_equal(qris_crc16(S91, strlen(S91) - 4), 0x9FB7);
	assert_int_equal(qris_crc16(D92, strlen(D92) - 4), 0xF98B);
}

/* CRC 00C9 keeps its leading zeros when encoded; the CRC verifies; the payload lacks merchant data. */
static void test_crc_zero_padding(void **state)
{
	struct qris_tlv t;
	char out[QRIS_PAYLOAD_MAX + 1];

	(void)state;
	assert_int_equal(qris_crc16(ZERO_PAD, strlen(ZERO_PAD) - 4), 0x00C9);
	assert_int_equal(qris_tlv_parse(ZERO_PAD, strlen(ZERO_PAD), &t, NULL), QRIS_OK);
	assert_int_equal(t.n, 7);
	assert_string_equal(t.objects[4].value, "268");
	encode_ok(&t, out, sizeof(out));
	assert_string_equal(out, ZERO_PAD);
	assert_decode_fails(ZERO_PAD, strlen(ZERO_PAD), "02-51");
}

static void test_decode_static_vector(void **state)
{
	static const uint8_t ids[] = { 0, 1, 26, 51, 52, 53, 58, 59, 60, 61, 62, 63 };
	struct qris q;

	(void)state;
	decode_ok(S91, &q);
	assert_int_equal(q.root.n, sizeof(ids));
	for (size_t i = 0; i < sizeof(ids); i++)
		assert_int_equal(q.root.objects[i].id, ids[i]);
	assert_false(q.dynamic);
	assert_int_equal(q.amount, 0);
	assert_string_equal(q.merchant_name, "Sintas Store");
	assert_string_equal(q.merchant_city, "Kota Yogyakarta");
	assert_string_equal(q.postal_code, "55000");
	assert_string_equal(q.mcc, "4829");
	assert_string_equal(q.nmid, "ID2020034073193");
	/* 51.03 wins over 26.03 (UMI). */
	assert_string_equal(q.criteria, "UKE");
	assert_string_equal(qris_tlv_find(&q.root, 26)->value,
			    "0016COM.MEMBASUH.WWW0118936000091100004515021004893710810303UMI");
	assert_int_equal(qris_tlv_find(&q.root, 51)->len, 44);
	assert_string_equal(qris_tlv_find(&q.root, 62)->value, "0703A01");
	assert_string_equal(qris_tlv_find(&q.root, 63)->value, "9FB7");
	assert_null(qris_tlv_find(&q.root, 54));
}

static void test_decode_dynamic_vector(void **state)
{
	struct qris q;

	(void)state;
	decode_ok(D92, &q);
	assert_true(q.dynamic);
	assert_int_equal(q.amount, 1337);
	assert_string_equal(qris_tlv_find(&q.root, 55)->value, "02");
	assert_string_equal(qris_tlv_find(&q.root, 56)->value, "666");
	assert_string_equal(q.merchant_name, "Sintas Store");
}

/* Criteria: 51.03 wherever 51 stands; else the first 26-45 .03; else URE. */
static void test_decode_criteria_default(void **state)
{
	struct qris_tlv t;
	struct qris_object account;
	char payload[QRIS_PAYLOAD_MAX + 1];
	struct qris q;

	(void)state;
	base_root(&t);
	account = t.objects[2];
	t.objects[2] = t.objects[3];
	t.objects[3] = account;
	encode_ok(&t, payload, sizeof(payload));
	decode_ok(payload, &q);
	assert_int_equal(q.root.objects[3].id, 26);
	assert_string_equal(q.criteria, "UKE");
	base_root(&t);
	tlv_set(&t, 27, "0011ID.DANA.WWW0303UBE");
	tlv_set(&t, 51, "0014ID.CO.QRIS.WWW0215ID2020034073193");
	encode_ok(&t, payload, sizeof(payload));
	decode_ok(payload, &q);
	assert_string_equal(q.criteria, "UMI");
	tlv_set(&t, 26, "0016COM.MEMBASUH.WWW0118936000091100004515");
	encode_ok(&t, payload, sizeof(payload));
	decode_ok(payload, &q);
	assert_string_equal(q.criteria, "UBE");
	tlv_set(&t, 27, REMOVE);
	encode_ok(&t, payload, sizeof(payload));
	decode_ok(payload, &q);
	assert_string_equal(q.criteria, "URE");
}

static void test_static_to_dynamic_reference(void **state)
{
	char out[QRIS_PAYLOAD_MAX + 1];
	size_t len = 0;
	struct qris_error err;

	(void)state;
	assert_int_equal(qris_to_dynamic(S91, strlen(S91), 1337, QRIS_FEE_FIXED, 666, NULL, out, sizeof(out), &len,
					 &err), QRIS_OK);
	assert_string_equal(out, D92);
	assert_int_equal(len, 232);
	/* Converting the dynamic payload again with the same figures changes nothing. */
	assert_int_equal(qris_to_dynamic(D92, strlen(D92), 1337, QRIS_FEE_FIXED, 666, NULL, out, sizeof(out), &len,
					 &err), QRIS_OK);
	assert_string_equal(out, D92);
}

static void to_dynamic_ok(const char *payload, int64_t amount, enum qris_fee fee, int64_t fixed, const char *pct,
			  char *out, struct qris *q)
{
	size_t len;
	struct qris_error err;
	int rc = qris_to_dynamic(payload, strlen(payload), amount, fee, fixed, pct, out, QRIS_PAYLOAD_MAX + 1, &len,
				 &err);

	if (rc != QRIS_OK)
		fail_msg("to_dynamic failed: tag %s: %s", err.tag, err.rule);
	assert_int_equal(len, strlen(out));
	decode_ok(out, q);
	assert_true(q->dynamic);
	assert_int_equal(q->amount, amount);
}

static void test_fee_variants(void **state)
{
	char out[QRIS_PAYLOAD_MAX + 1];
	struct qris q;

	(void)state;
	to_dynamic_ok(S91, 50000, QRIS_FEE_NONE, 0, NULL, out, &q);
	assert_null(qris_tlv_find(&q.root, 55));
	assert_non_null(strstr(out, "5405500005802ID"));
	to_dynamic_ok(S91, 50000, QRIS_FEE_FIXED, 2500, NULL, out, &q);
	assert_non_null(strstr(out, "540550000550202560425005802ID"));
	to_dynamic_ok(S91, 50000, QRIS_FEE_PERCENT, 0, "1.5", out, &q);
	assert_non_null(strstr(out, "54055000055020357031.55802ID"));
	assert_null(qris_tlv_find(&q.root, 56));
	/* An old fee goes away with the old amount. */
	to_dynamic_ok(D92, 7000, QRIS_FEE_NONE, 0, NULL, out, &q);
	assert_null(qris_tlv_find(&q.root, 55));
	assert_null(qris_tlv_find(&q.root, 56));
	assert_non_null(strstr(out, "540470005802ID"));
	to_dynamic_ok(S91, QRIS_AMOUNT_MAX, QRIS_FEE_PERCENT, 0, "99.99", out, &q);
	to_dynamic_ok(S91, 1, QRIS_FEE_PERCENT, 0, "00.01", out, &q);
}

static void expect_dynamic_error(int64_t amount, enum qris_fee fee, int64_t fixed, const char *pct, const char *tag)
{
	char out[QRIS_PAYLOAD_MAX + 1];
	size_t len;
	struct qris_error err;

	assert_int_equal(qris_to_dynamic(S91, strlen(S91), amount, fee, fixed, pct, out, sizeof(out), &len, &err),
			 QRIS_EINVAL);
	assert_string_equal(err.tag, tag);
	assert_string_equal(out, "");
}

static void test_dynamic_argument_errors(void **state)
{
	static const char *const bad_percent[] = { "0", "00.00", "100", "1.234", "1,5", "", "abc", "123456", "-1",
						   ".5", "5.5.", "1 5" };

	(void)state;
	expect_dynamic_error(0, QRIS_FEE_NONE, 0, NULL, "54");
	expect_dynamic_error(-1337, QRIS_FEE_NONE, 0, NULL, "54");
	expect_dynamic_error(QRIS_AMOUNT_MAX + 1, QRIS_FEE_NONE, 0, NULL, "54");
	expect_dynamic_error(1337, QRIS_FEE_FIXED, 0, NULL, "56");
	expect_dynamic_error(1337, QRIS_FEE_FIXED, -5, NULL, "56");
	expect_dynamic_error(1337, QRIS_FEE_FIXED, QRIS_AMOUNT_MAX + 1, NULL, "56");
	expect_dynamic_error(1337, QRIS_FEE_PERCENT, 0, NULL, "57");
	for (size_t i = 0; i < sizeof(bad_percent) / sizeof(bad_percent[0]); i++)
		expect_dynamic_error(1337, QRIS_FEE_PERCENT, 0, bad_percent[i], "57");
	expect_dynamic_error(1337, (enum qris_fee)7, 0, NULL, "55");
}

static void test_dynamic_payload_errors(void **state)
{
	char payload[sizeof(S91)], out[QRIS_PAYLOAD_MAX + 1];
	size_t len;
	struct qris_error err;

	(void)state;
	memcpy(payload, S91, sizeof(S91));
	payload[sizeof(S91) - 2] = '0';
	assert_int_equal(qris_to_dynamic(payload, strlen(payload), 1337, QRIS_FEE_NONE, 0, NULL, out, sizeof(out), &len,
					 &err), QRIS_EINVAL);
	assert_string_equal(err.tag, "63");
	assert_int_equal(qris_to_dynamic(S91, strlen(S91), 1337, QRIS_FEE_NONE, 0, NULL, out, 100, &len, &err),
			 QRIS_ESPACE);
	assert_int_equal(qris_to_dynamic(S91, strlen(S91), 1337, QRIS_FEE_NONE, 0, NULL, NULL, 0, &len, &err),
			 QRIS_EINVAL);
}

/* A payload without 01 gets 01 = 12 right after 00. */
static void test_dynamic_adds_initiation(void **state)
{
	struct qris_tlv t;
	char payload[QRIS_PAYLOAD_MAX + 1], out[QRIS_PAYLOAD_MAX + 1];
	struct qris q;

	(void)state;
	base_root(&t);
	tlv_set(&t, 1, REMOVE);
	encode_ok(&t, payload, sizeof(payload));
	to_dynamic_ok(payload, 1337, QRIS_FEE_FIXED, 666, NULL, out, &q);
	assert_string_equal(out, D92);
}

/* The result of a valid payload can still break the 512-character and 64-object limits. */
static void test_dynamic_limits(void **state)
{
	char body[QRIS_PAYLOAD_MAX + 1], payload[QRIS_PAYLOAD_MAX + 1], out[QRIS_PAYLOAD_MAX + 1];
	size_t len;
	struct qris_error err;
	struct qris q;
	int n;

	(void)state;
	n = snprintf(body, sizeof(body), "%.*s", (int)(sizeof(S91) - 9), S91);
	for (int id = 65; id <= 67; id++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%02d90%090d", id, id);
	with_crc(body, payload, sizeof(payload));
	decode_ok(payload, &q);
	assert_int_equal(qris_to_dynamic(payload, strlen(payload), QRIS_AMOUNT_MAX, QRIS_FEE_FIXED, QRIS_AMOUNT_MAX,
					 NULL, out, sizeof(out), &len, &err), QRIS_EINVAL);
	assert_string_equal(err.tag, "-");

	/* 64 objects without 01 (7 mandatory, 02-25, 65-79, templates 80-96, 63): adding 01 and 54 makes 66. */
	n = snprintf(body, sizeof(body), "000201520448295303360" "5802ID5906Sintas6004Kota610555000");
	for (int id = 2; id <= 79; id = id == 25 ? 65 : id + 1)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%02d01%d", id, id % 10);
	for (int id = 80; id <= 96; id++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%02d050001a", id);
	with_crc(body, payload, sizeof(payload));
	decode_ok(payload, &q);
	assert_int_equal(q.root.n, QRIS_OBJECTS_MAX);
	assert_int_equal(qris_to_dynamic(payload, strlen(payload), 1337, QRIS_FEE_NONE, 0, NULL, out, sizeof(out), &len,
					 &err), QRIS_EINVAL);
	assert_string_equal(err.tag, "-");
}

static void decode_amount(const char *text, int64_t expected)
{
	const struct edit e[] = { { 54, text } };

	if (expected > 0) {
		struct qris_tlv t;
		char payload[QRIS_PAYLOAD_MAX + 1];
		struct qris q;

		base_root(&t);
		tlv_set(&t, 54, text);
		encode_ok(&t, payload, sizeof(payload));
		decode_ok(payload, &q);
		assert_int_equal(q.amount, expected);
	} else {
		expect_edits(e, 1, "54");
	}
}

static void test_amount_format(void **state)
{
	(void)state;
	decode_amount("1000", 1000);
	decode_amount("1000.00", 1000);
	decode_amount("1000.0", 1000);
	decode_amount("1000.", 1000);
	decode_amount("1", 1);
	decode_amount("10000000", QRIS_AMOUNT_MAX);
	decode_amount("10000000.00", QRIS_AMOUNT_MAX);
	decode_amount("1000.50", 0);
	decode_amount("1000.05", 0);
	decode_amount("1000.000", 0);
	decode_amount("0", 0);
	decode_amount("0.00", 0);
	decode_amount("-500", 0);
	decode_amount("01000", 0);
	decode_amount("1.000", 0);
	decode_amount("1000,00", 0);
	decode_amount("1 000", 0);
	decode_amount(".50", 0);
	decode_amount("10000001", 0);
	decode_amount("1000000000000", 0);
	decode_amount("10000000.0000", 0);
	decode_amount("12345678901234", 0);
}

static void test_round_trip(void **state)
{
	const char *const payloads[] = { S91, D92 };
	char out[QRIS_PAYLOAD_MAX + 1], dyn[QRIS_PAYLOAD_MAX + 1];
	struct qris q;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		decode_ok(payloads[i], &q);
		encode_ok(&q.root, out, sizeof(out));
		assert_string_equal(out, payloads[i]);
	}
	for (int64_t amount = 1; amount <= QRIS_AMOUNT_MAX; amount = amount * 7 + 3) {
		to_dynamic_ok(S91, amount, QRIS_FEE_FIXED, amount % 1000 + 1, NULL, dyn, &q);
		encode_ok(&q.root, out, sizeof(out));
		assert_string_equal(out, dyn);
	}
}

static void test_tlv_parse_find(void **state)
{
	struct qris_tlv t;
	struct qris_error err;

	(void)state;
	assert_int_equal(qris_tlv_parse("0002010102AB9900", 16, &t, &err), QRIS_OK);
	assert_int_equal(t.n, 3);
	assert_string_equal(qris_tlv_find(&t, 1)->value, "AB");
	assert_int_equal(qris_tlv_find(&t, 99)->len, 0);
	assert_null(qris_tlv_find(&t, 2));
	assert_null(qris_tlv_find(NULL, 0));
	assert_int_equal(qris_tlv_parse("", 0, &t, &err), QRIS_OK);
	assert_int_equal(t.n, 0);
	assert_int_equal(qris_tlv_parse("0002010", 7, &t, &err), QRIS_EINVAL);
	assert_string_equal(err.tag, "-");
	assert_int_equal(qris_tlv_parse("00020101", 8, &t, &err), QRIS_EINVAL);
	assert_string_equal(err.tag, "01");
	assert_int_equal(qris_tlv_parse("0002010002", 10, &t, NULL), QRIS_EINVAL);
	assert_int_equal(qris_tlv_parse(NULL, 4, &t, &err), QRIS_EINVAL);
}

/* A template's text: objects in order, no CRC; its own limit and the buffer's. */
static void test_tlv_text(void **state)
{
	struct qris_tlv t = { 0 };
	char out[128];
	size_t len;
	(void)state;
	t.objects[0].id = 0;
	t.objects[0].len = 14;
	strcpy(t.objects[0].value, "ID.CO.QRIS.WWW");
	t.objects[1].id = 3;
	t.objects[1].len = 3;
	strcpy(t.objects[1].value, "UMI");
	t.n = 2;
	assert_int_equal(qris_tlv_text(&t, QRIS_VALUE_MAX, out, sizeof(out), &len), QRIS_OK);
	assert_string_equal(out, "0014ID.CO.QRIS.WWW0303UMI");
	assert_int_equal(len, 25);
	assert_int_equal(qris_tlv_text(&t, 24, out, sizeof(out), &len), QRIS_EINVAL);
	assert_int_equal(qris_tlv_text(&t, QRIS_VALUE_MAX, out, 25, &len), QRIS_ESPACE);
	t.objects[1].id = 0;
	assert_int_equal(qris_tlv_text(&t, QRIS_VALUE_MAX, out, sizeof(out), &len), QRIS_EINVAL);
}

static void test_encode_errors(void **state)
{
	struct qris_tlv t;
	char out[QRIS_PAYLOAD_MAX + 1], long_value[QRIS_VALUE_MAX + 1];
	size_t len;

	(void)state;
	base_root(&t);
	assert_int_equal(qris_encode(&t, out, strlen(S91), &len), QRIS_ESPACE);
	assert_int_equal(qris_encode(&t, out, strlen(S91) + 1, &len), QRIS_OK);
	assert_string_equal(out, S91);
	t.objects[7].len = QRIS_VALUE_MAX + 1;
	assert_int_equal(qris_encode(&t, out, sizeof(out), &len), QRIS_EINVAL);
	base_root(&t);
	t.objects[7].id = 60;
	assert_int_equal(qris_encode(&t, out, sizeof(out), &len), QRIS_EINVAL);
	base_root(&t);
	t.objects[7].id = 100;
	assert_int_equal(qris_encode(&t, out, sizeof(out), &len), QRIS_EINVAL);
	base_root(&t);
	memset(long_value, '9', QRIS_VALUE_MAX);
	long_value[QRIS_VALUE_MAX] = '\0';
	for (uint8_t id = 65; id <= 67; id++)
		tlv_set(&t, id, long_value);
	assert_int_equal(qris_encode(&t, out, sizeof(out), &len), QRIS_EINVAL);
	assert_int_equal(qris_encode(NULL, out, sizeof(out), &len), QRIS_EINVAL);
}

/* Every prefix of a valid payload fails, without reading past its end. */
static void test_truncation(void **state)
{
	const char *const payloads[] = { S91, D92 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		for (size_t len = 0; len < strlen(payloads[i]); len++) {
			struct qris q;
			struct qris_error err;

			assert_int_equal(decode_copy(payloads[i], len, &q, &err), QRIS_EINVAL);
			assert_true(strlen(err.tag) > 0 && strlen(err.rule) > 0);
		}
	}
}

static void test_random_bytes(void **state)
{
	unsigned char buf[QRIS_PAYLOAD_MAX + 64];
	size_t accepted = 0;

	(void)state;
	for (int i = 0; i < 5000; i++) {
		size_t len = (size_t)(rng() % sizeof(buf));
		struct qris q;
		struct qris_error err;

		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)(i % 2 == 0 ? rng() : '0' + rng() % 10);
		if (decode_copy((const char *)buf, len, &q, &err) == QRIS_OK)
			accepted++;
		else
			assert_true(strlen(err.tag) > 0 && strlen(err.rule) > 0);
	}
	assert_int_equal(accepted, 0);
}

/* Mutations of the vectors (CRC fixed up half the time): no crash; whatever decodes re-encodes identically. */
static void test_mutations(void **state)
{
	const char *const seeds[] = { S91, D92 };
	size_t accepted = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		char buf[QRIS_PAYLOAD_MAX + 16], out[QRIS_PAYLOAD_MAX + 1];
		const char *seed = seeds[i % 2];
		size_t len = strlen(seed);
		struct qris q;
		struct qris_error err;

		memcpy(buf, seed, len);
		for (int m = 0; m < 1 + (int)(rng() % 3); m++) {
			size_t at = (size_t)(rng() % len);

			switch (rng() % 3) {
			case 0:
				buf[at] = (char)(0x20 + rng() % 95);
				break;
			case 1:
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			default:
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (char)('0' + rng() % 10);
				len++;
				break;
			}
		}
		if (i % 4 < 2 && len >= 8) {
			char crc[5];

			snprintf(crc, sizeof(crc), "%04X", (unsigned)qris_crc16(buf, len - 4));
			memcpy(buf + len - 4, crc, 4);
		}
		if (decode_copy(buf, len, &q, &err) != QRIS_OK)
			continue;
		accepted++;
		encode_ok(&q.root, out, sizeof(out));
		assert_int_equal(strlen(out), len);
		assert_memory_equal(out, buf, len);
	}
	/* The CRC fix-up lets some mutations through, so the accept path is exercised too. */
	assert_true(accepted > 0);
}

static json_t *json_of(const char *payload)
{
	struct qris q;
	json_t *j;

	decode_ok(payload, &q);
	j = qris_json(&q);
	assert_non_null(j);
	return j;
}

static void test_json(void **state)
{
	json_t *j, *acc, *fee;
	struct qris_tlv t;
	char payload[QRIS_PAYLOAD_MAX + 1];

	(void)state;
	j = json_of(D92);
	assert_true(json_is_true(json_object_get(j, "dynamic")));
	assert_int_equal(json_integer_value(json_object_get(j, "amount")), 1337);
	fee = json_object_get(j, "fee");
	assert_string_equal(json_string_value(json_object_get(fee, "type")), "fixed");
	assert_int_equal(json_integer_value(json_object_get(fee, "amount")), 666);
	assert_string_equal(json_string_value(json_object_get(j, "merchant_name")), "Sintas Store");
	assert_string_equal(json_string_value(json_object_get(j, "merchant_city")), "Kota Yogyakarta");
	assert_string_equal(json_string_value(json_object_get(j, "postal_code")), "55000");
	assert_string_equal(json_string_value(json_object_get(j, "mcc")), "4829");
	assert_string_equal(json_string_value(json_object_get(j, "nmid")), "ID2020034073193");
	assert_string_equal(json_string_value(json_object_get(j, "criteria")), "UKE");
	assert_string_equal(json_string_value(json_object_get(j, "crc")), "F98B");
	acc = json_object_get(j, "merchant_accounts");
	assert_int_equal(json_array_size(acc), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(acc, 0), "tag")), "26");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acc, 0), "guid")), "COM.MEMBASUH.WWW");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acc, 0), "pan")), "936000091100004515");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acc, 0), "merchant_id")), "0489371081");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acc, 1), "nmid")), "ID2020034073193");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "additional_data"),
							       "terminal_label")), "A01");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "objects"), "54")), "1337");
	assert_int_equal(json_object_size(json_object_get(j, "objects")), 15);
	json_decref(j);

	j = json_of(S91);
	assert_true(json_is_false(json_object_get(j, "dynamic")));
	assert_true(json_is_null(json_object_get(j, "amount")));
	assert_true(json_is_null(json_object_get(j, "fee")));
	json_decref(j);

	base_root(&t);
	tlv_set(&t, 55, "03");
	tlv_set(&t, 57, "2.5");
	tlv_set(&t, 4, "5204123412341234");
	encode_ok(&t, payload, sizeof(payload));
	j = json_of(payload);
	fee = json_object_get(j, "fee");
	assert_string_equal(json_string_value(json_object_get(fee, "type")), "percent");
	assert_string_equal(json_string_value(json_object_get(fee, "percent")), "2.5");
	acc = json_object_get(j, "merchant_accounts");
	assert_int_equal(json_array_size(acc), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(acc, 2), "value")), "5204123412341234");
	json_decref(j);

	tlv_set(&t, 55, "01");
	tlv_set(&t, 57, REMOVE);
	encode_ok(&t, payload, sizeof(payload));
	j = json_of(payload);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "fee"), "type")), "prompt");
	json_decref(j);
	assert_null(qris_json(NULL));
}

/* qris_main with stdout and stderr captured through pipes. */
struct cli_run {
	int rc;
	char out[8192];
	char err[2048];
};

static void read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

static void cli(struct cli_run *r, int argc, char **argv)
{
	int out_pipe[2], err_pipe[2], saved_out, saved_err;

	assert_int_equal(pipe(out_pipe), 0);
	assert_int_equal(pipe(err_pipe), 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	dup2(out_pipe[1], STDOUT_FILENO);
	dup2(err_pipe[1], STDERR_FILENO);
	close(out_pipe[1]);
	close(err_pipe[1]);
	r->rc = qris_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	read_all(out_pipe[0], r->out, sizeof(r->out));
	read_all(err_pipe[0], r->err, sizeof(r->err));
}

#define CLI(r, ...) \
	do { \
		char *argv_[] = { __VA_ARGS__ }; \
		cli((r), (int)(sizeof(argv_) / sizeof(argv_[0])), argv_); \
	} while (0)

static void test_cli_decode(void **state)
{
	struct cli_run r;
	char bad[sizeof(S91)];
	json_t *j;

	(void)state;
	CLI(&r, "decode", (char *)S91);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "merchant_name")), "Sintas Store");
	assert_string_equal(json_string_value(json_object_get(j, "crc")), "9FB7");
	json_decref(j);
	/* Pretty: one key per line. */
	assert_non_null(strstr(r.out, "\n  \"merchant_name\": \"Sintas Store\",\n"));

	memcpy(bad, S91, sizeof(S91));
	bad[sizeof(S91) - 2] = '8';
	CLI(&r, "decode", bad);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_true(strncmp(r.err, "invalid QRIS: tag 63: ", 22) == 0);

	CLI(&r, "decode");
	assert_int_equal(r.rc, 2);
	CLI(&r, "decode", (char *)S91, (char *)S91);
	assert_int_equal(r.rc, 2);
	CLI(&r, "encode", (char *)S91);
	assert_int_equal(r.rc, 2);
	cli(&r, 0, NULL);
	assert_int_equal(r.rc, 2);
}

static void test_cli_dynamic(void **state)
{
	struct cli_run r;
	char expected[sizeof(D92) + 1];
	char bad[sizeof(S91)];

	(void)state;
	snprintf(expected, sizeof(expected), "%s\n", D92);
	CLI(&r, "dynamic", (char *)S91, "--amount", "1337", "--fee-fixed", "666");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, expected);
	CLI(&r, "dynamic", "--amount", "1337", (char *)S91, "--fee-fixed", "666");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, expected);
	CLI(&r, "dynamic", (char *)S91, "--amount", "50000", "--fee-percent", "1.5");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "54055000055020357031.55802ID"));

	memcpy(bad, S91, sizeof(S91));
	bad[sizeof(S91) - 2] = '8';
	CLI(&r, "dynamic", bad, "--amount", "1337");
	assert_int_equal(r.rc, 1);
	assert_true(strncmp(r.err, "invalid QRIS: tag 63: ", 22) == 0);
	assert_string_equal(r.out, "");

	CLI(&r, "dynamic", (char *)S91);
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", "--amount", "1337");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "abc");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "-5");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "0");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "10000001");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "1000.00");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "1337", "--fee-fixed", "666", "--fee-percent", "1");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "1337", "--fee-percent", "1.234");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "1337", "--fee-fixed", "0");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "1337", "--tip", "5");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, "--amount", "1", "--amount", "2");
	assert_int_equal(r.rc, 2);
	CLI(&r, "dynamic", (char *)S91, (char *)S91, "--amount", "1337");
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.out, "");
}

/* The symbol libqrencode makes for text, for checking the SVG against. */
static QRcode *symbol(const char *text)
{
	QRcode *qr = QRcode_encodeData((int)strlen(text), (const unsigned char *)text, 0, QR_ECLEVEL_M);

	assert_non_null(qr);
	return qr;
}

/* The SVG has the right size, one background and one path whose runs cover exactly the dark modules. */
static void test_qr_svg(void **state)
{
	const unsigned module = 4, quiet = 4;
	QRcode *qr = symbol(S91);
	unsigned size = ((unsigned)qr->width + 2 * quiet) * module;
	char expect[160], *svg = NULL, *d;
	size_t len = 0, dark = 0, drawn = 0;
	unsigned x, y, w, v, h;
	int used;

	(void)state;
	assert_int_equal(qr_svg(S91, module, quiet, &svg, &len), QR_OK);
	assert_int_equal(len, strlen(svg));
	assert_true(strncmp(svg, "<svg", 4) == 0);
	snprintf(expect, sizeof(expect), "width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\"", size, size, size, size);
	assert_non_null(strstr(svg, expect));
	assert_non_null(strstr(svg, "shape-rendering=\"crispEdges\""));
	snprintf(expect, sizeof(expect), "<rect width=\"%u\" height=\"%u\" fill=\"#fff\"/>", size, size);
	assert_non_null(strstr(svg, expect));
	d = strstr(svg, "<path fill=\"#000\" d=\"");
	assert_non_null(d);
	assert_null(strstr(d + 1, "<path"));
	assert_true(strcmp(svg + len - 7, "</svg>\n") == 0);

	for (int i = 0; i < qr->width * qr->width; i++)
		dark += qr->data[i] & 1;
	d += strlen("<path fill=\"#000\" d=\"");
	while (sscanf(d, "M%u %uh%uv%uh-%uz%n", &x, &y, &w, &v, &h, &used) == 5) {
		/* Each run: on the module grid, inside the symbol, one module tall, dark all along. */
		assert_int_equal(v, module);
		assert_int_equal(w, h);
		assert_int_equal(x % module, 0);
		assert_int_equal(y % module, 0);
		for (unsigned k = 0; k < w / module; k++) {
			unsigned mx = x / module - quiet + k, my = y / module - quiet;

			assert_true(mx < (unsigned)qr->width && my < (unsigned)qr->width);
			assert_true(qr->data[my * (unsigned)qr->width + mx] & 1);
		}
		drawn += w / module;
		d += used;
	}
	assert_true(strncmp(d, "\"/></svg>", 9) == 0);
	assert_int_equal(drawn, dark);
	QRcode_free(qr);
	free(svg);
}

static void test_qr_svg_errors(void **state)
{
	static char sentinel;
	char *big = malloc(2955), *svg = &sentinel;
	size_t len;

	(void)state;
	assert_non_null(big);
	assert_int_equal(qr_svg("", 4, 4, &svg, &len), QR_EINVAL);
	assert_null(svg);
	memset(big, 'a', 2954);
	big[2954] = '\0';
	assert_int_equal(qr_svg(big, 4, 4, &svg, &len), QR_EINVAL);
	assert_int_equal(qr_svg(NULL, 4, 4, &svg, &len), QR_EINVAL);
	assert_int_equal(qr_svg(S91, 0, 4, &svg, &len), QR_EINVAL);
	assert_int_equal(qr_svg(S91, 65, 4, &svg, &len), QR_EINVAL);
	assert_int_equal(qr_svg(S91, 4, 17, &svg, &len), QR_EINVAL);
	assert_int_equal(qr_svg(S91, 4, 4, NULL, &len), QR_EINVAL);
	/* Level M holds at most 2331 bytes (version 40); more is refused, not downgraded. */
	big[2332] = '\0';
	assert_int_equal(qr_svg(big, 1, 0, &svg, &len), QR_EINVAL);
	big[2331] = '\0';
	assert_int_equal(qr_svg(big, 1, 0, &svg, &len), QR_OK);
	assert_non_null(strstr(svg, "viewBox=\"0 0 177 177\""));
	free(svg);
	free(big);
}

static bool have_tool(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Renders the SVG to PNG and reads it back as a phone would (zbarimg); skipped without the tools. */
static void test_qr_scan(void **state)
{
	char dir[] = "/tmp/qris-scan-XXXXXX", svg_path[64], png_path[64], cmd[256], got[600];
	const char *const texts[] = { S91, D92 };
	FILE *f;

	(void)state;
	if (!have_tool("rsvg-convert") || !have_tool("zbarimg"))
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(svg_path, sizeof(svg_path), "%s/qr.svg", dir);
	snprintf(png_path, sizeof(png_path), "%s/qr.png", dir);
	for (size_t i = 0; i < 2; i++) {
		char *svg;
		size_t len, n;

		assert_int_equal(qr_svg(texts[i], 4, 4, &svg, &len), QR_OK);
		f = fopen(svg_path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(svg, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
		free(svg);
		snprintf(cmd, sizeof(cmd), "rsvg-convert -o %s %s", png_path, svg_path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "zbarimg --quiet --raw %s 2>/dev/null", png_path);
		f = popen(cmd, "r");
		assert_non_null(f);
		n = fread(got, 1, sizeof(got) - 1, f);
		got[n] = '\0';
		assert_int_equal(pclose(f), 0);
		if (n > 0 && got[n - 1] == '\n')
			got[n - 1] = '\0';
		assert_string_equal(got, texts[i]);
	}
	unlink(svg_path);
	unlink(png_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_check_values),
		cmocka_unit_test(test_crc_zero_padding),
		cmocka_unit_test(test_decode_static_vector),
		cmocka_unit_test(test_decode_dynamic_vector),
		cmocka_unit_test(test_decode_criteria_default),
		cmocka_unit_test(test_static_to_dynamic_reference),
		cmocka_unit_test(test_fee_variants),
		cmocka_unit_test(test_dynamic_argument_errors),
		cmocka_unit_test(test_dynamic_payload_errors),
		cmocka_unit_test(test_dynamic_adds_initiation),
		cmocka_unit_test(test_dynamic_limits),
		cmocka_unit_test(test_amount_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tlv_parse_find),
		cmocka_unit_test(test_tlv_text),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_cli_decode),
		cmocka_unit_test(test_cli_dynamic),
		cmocka_unit_test(test_qr_svg),
		cmocka_unit_test(test_qr_svg_errors),
		cmocka_unit_test(test_qr_scan),
		cmocka_unit_test(rule_printable),
		cmocka_unit_test(rule_empty_payload),
		cmocka_unit_test(rule_payload_max),
		cmocka_unit_test(rule_id_digits),
		cmocka_unit_test(rule_length_digits),
		cmocka_unit_test(rule_value_past_end),
		cmocka_unit_test(rule_duplicate_id),
		cmocka_unit_test(rule_objects_max),
		cmocka_unit_test(rule_00_first),
		cmocka_unit_test(rule_00_value),
		cmocka_unit_test(rule_63_last),
		cmocka_unit_test(rule_63_length),
		cmocka_unit_test(rule_63_uppercase_hex),
		cmocka_unit_test(rule_63_mismatch),
		cmocka_unit_test(rule_01_value),
		cmocka_unit_test(rule_account_missing),
		cmocka_unit_test(rule_51_mandatory_when_static),
		cmocka_unit_test(rule_26_guid_missing),
		cmocka_unit_test(rule_26_guid_long),
		cmocka_unit_test(rule_26_pan_digits),
		cmocka_unit_test(rule_26_pan_long),
		cmocka_unit_test(rule_26_merchant_id_long),
		cmocka_unit_test(rule_26_criteria),
		cmocka_unit_test(rule_26_nested_framing),
		cmocka_unit_test(rule_26_nested_duplicate),
		cmocka_unit_test(rule_26_nested_empty),
		cmocka_unit_test(rule_51_guid_missing),
		cmocka_unit_test(rule_51_nmid_missing),
		cmocka_unit_test(rule_51_nmid_long),
		cmocka_unit_test(rule_51_criteria),
		cmocka_unit_test(rule_52_digits),
		cmocka_unit_test(rule_52_length),
		cmocka_unit_test(rule_52_missing),
		cmocka_unit_test(rule_53_value),
		cmocka_unit_test(rule_53_missing),
		cmocka_unit_test(rule_54_format),
		cmocka_unit_test(rule_55_value),
		cmocka_unit_test(rule_56_without_55),
		cmocka_unit_test(rule_56_missing),
		cmocka_unit_test(rule_56_format),
		cmocka_unit_test(rule_57_without_55),
		cmocka_unit_test(rule_57_missing),
		cmocka_unit_test(rule_57_over_99_99),
		cmocka_unit_test(rule_57_zero),
		cmocka_unit_test(rule_57_decimals),
		cmocka_unit_test(rule_58_value),
		cmocka_unit_test(rule_58_missing),
		cmocka_unit_test(rule_59_long),
		cmocka_unit_test(rule_59_pipe),
		cmocka_unit_test(rule_59_empty),
		cmocka_unit_test(rule_59_missing),
		cmocka_unit_test(rule_60_long),
		cmocka_unit_test(rule_60_pipe),
		cmocka_unit_test(rule_60_missing),
		cmocka_unit_test(rule_61_long),
		cmocka_unit_test(rule_61_missing),
		cmocka_unit_test(rule_62_text_long),
		cmocka_unit_test(rule_62_consumer_long),
		cmocka_unit_test(rule_62_consumer_repeat),
		cmocka_unit_test(rule_62_consumer_letter),
		cmocka_unit_test(rule_62_nested_framing),
		cmocka_unit_test(rule_64_nested_framing),
		cmocka_unit_test(rule_80_nested_framing),
		cmocka_unit_test(rule_47_nested_framing),
		cmocka_unit_test(accept_51_without_criteria),
		cmocka_unit_test(accept_dynamic_without_51),
		cmocka_unit_test(accept_no_initiation_without_51),
		cmocka_unit_test(accept_primitive_account_only),
		cmocka_unit_test(accept_rfu_and_unreserved),
		cmocka_unit_test(accept_62_prompt_and_consumer),
		cmocka_unit_test(accept_tip_prompt),
		cmocka_unit_test(accept_percent_fee),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
