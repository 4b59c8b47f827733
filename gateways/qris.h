/*
 * qris: the QRIS payload (EMVCo Merchant-Presented Mode, Indonesian
 * profile): a strict TLV decoder and encoder, CRC-16/CCITT-FALSE, the
 * static-to-dynamic conversion, and the decoded fields as JSON.
 *
 * A payload is at most QRIS_PAYLOAD_MAX characters of printable ASCII. Every
 * data object is a 2-digit id, a 2-digit length and that many characters;
 * templates (26-51, 62, 64, 80-99) hold nested objects encoded the same way.
 * `00` comes first and `63` (the CRC, 4 uppercase hex digits over everything
 * before its value) last; no id appears twice at one level. Invalid input
 * gets an error that names the tag and the rule; nothing reads past the end.
 */
#ifndef BANGSOLEH_QRIS_H
#define BANGSOLEH_QRIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define QRIS_PAYLOAD_MAX 512
#define QRIS_VALUE_MAX 99
#define QRIS_OBJECTS_MAX 64          /* objects at one level (ids 00-99, bounded by length) */
#define QRIS_AMOUNT_MAX 10000000     /* rupiah per payment (Bank Indonesia) */

#define QRIS_OK 0
#define QRIS_EINVAL (-1)     /* the payload breaks a rule; qris_error says which */
#define QRIS_ESPACE (-2)     /* output buffer too small */

struct qris_error {
	char tag[8];         /* "54", "26.01", "-" when not about one tag */
	char rule[160];      /* what is wrong, in words */
};

/* One data object: id 0..99 and its value (NUL-terminated, len <= 99). */
struct qris_object {
	uint8_t id;
	uint8_t len;
	char value[QRIS_VALUE_MAX + 1];
};

/* The objects of one level, in payload order. */
struct qris_tlv {
	size_t n;
	struct qris_object objects[QRIS_OBJECTS_MAX];
};

/* A decoded payload: the root objects and the fields a payment needs. */
struct qris {
	struct qris_tlv root;
	bool dynamic;                    /* 01 = 12 */
	int64_t amount;                  /* 54 in whole rupiah, 0 when absent */
	char merchant_name[26];          /* 59 */
	char merchant_city[16];          /* 60 */
	char postal_code[11];            /* 61 */
	char mcc[5];                     /* 52 */
	char nmid[16];                   /* 51.02, "" when absent */
	char criteria[4];                /* 51.03 or the first 26-45 .03; "URE" when absent */
};

/* CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor). */
uint16_t qris_crc16(const void *data, size_t len);

/*
 * Splits one level of TLV (no QRIS rules beyond TLV framing, unique ids and
 * bounds). OUT: *out. Returns 0 or QRIS_EINVAL with *err filled (err may be
 * NULL).
 */
int qris_tlv_parse(const char *s, size_t len, struct qris_tlv *out, struct qris_error *err);

/* The object with this id in a level, or NULL. */
const struct qris_object *qris_tlv_find(const struct qris_tlv *t, uint8_t id);

/*
 * Decodes and validates a whole payload: TLV framing, `00` first with value
 * 01 and `63` last, the CRC, every mandatory tag (52, 53 = 360, 58 = ID, 59,
 * 60, 61, one of 26-51, 51 when static), lengths and character rules, the
 * nested templates, the amount format (digits, no leading zero, optional '.'
 * with at most 2 decimals that must be zero for rupiah, > 0, <=
 * QRIS_AMOUNT_MAX) and the fee tags 55/56/57. OUT: *out. Returns 0 or
 * QRIS_EINVAL with *err filled.
 */
int qris_decode(const char *payload, size_t len, struct qris *out, struct qris_error *err);

/*
 * Serialises root objects (in their order, `63` excluded: it is appended
 * with the computed CRC). OUT: out (NUL-terminated), *len. Returns 0,
 * QRIS_EINVAL (a value over 99 characters, a duplicate id, an id over 99,
 * or the result over QRIS_PAYLOAD_MAX) or QRIS_ESPACE.
 */
int qris_encode(const struct qris_tlv *root, char *out, size_t cap, size_t *len);

/*
 * Serialises one level's objects (63 excluded, no CRC added): the value of
 * a template such as 26 or 62. Fails as qris_encode, with `max` in place of
 * the payload limit (QRIS_VALUE_MAX for a template).
 */
int qris_tlv_text(const struct qris_tlv *t, size_t max, char *out, size_t cap, size_t *len);

enum qris_fee { QRIS_FEE_NONE = 0, QRIS_FEE_FIXED, QRIS_FEE_PERCENT };

/*
 * Static (or dynamic) payload to a dynamic one on the parsed TLV: checks the
 * input as qris_decode does, drops 54-57 and 63, sets 01 to 12, puts 54 =
 * amount (and 55/56 or 55/57 for a fee) just before 58, and recomputes the
 * CRC. fee_fixed in rupiah; fee_percent as "NN.NN" text (00.01..99.99).
 * OUT: out, *len. Returns 0, QRIS_EINVAL (err filled) or QRIS_ESPACE.
 */
int qris_to_dynamic(const char *payload, size_t len, int64_t amount, enum qris_fee fee, int64_t fee_fixed,
		    const char *fee_percent, char *out, size_t cap, size_t *out_len, struct qris_error *err);

/* The decoded payload as JSON (a new reference; NULL when out of memory). */
json_t *qris_json(const struct qris *q);

/*
 * `bangsoleh qris decode PAYLOAD` and `bangsoleh qris dynamic PAYLOAD
 * --amount N [--fee-fixed N | --fee-percent P]`; argv[0] is the subcommand.
 * Returns the exit status: 0, 1 (invalid payload), 2 (bad usage).
 */
int qris_main(int argc, char **argv);

#endif
