/*
 * fuzz_qris: libFuzzer harness for the QRIS codec.
 *
 * Each input is decoded as it is and, when it ends in "6304" and four more
 * characters, once more with those four replaced by the right CRC, so that
 * mutations get past the checksum into the field rules. Whatever decodes
 * must re-encode byte for byte, render as JSON and convert to a dynamic
 * payload that decodes again with the amount asked for. A broken invariant
 * aborts, which libFuzzer (and the replay test) report as a crash. No state
 * is kept between inputs; the only allocation (the JSON) is freed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qris.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* The conversion either succeeds and decodes again, or fails on the output limits ("-"). */
static void check_dynamic(const char *p, size_t len, int64_t amount, enum qris_fee fee, const char *percent)
{
	char out[QRIS_PAYLOAD_MAX + 1];
	size_t out_len = 0;
	struct qris_error err;
	struct qris d;
	int rc = qris_to_dynamic(p, len, amount, fee, 666, percent, out, sizeof(out), &out_len, &err);

	if (rc != QRIS_OK) {
		check(rc == QRIS_EINVAL && strcmp(err.tag, "-") == 0);
		return;
	}
	check(out_len == strlen(out) && qris_decode(out, out_len, &d, &err) == QRIS_OK);
	check(d.dynamic && d.amount == amount);
}

static void check_payload(const char *p, size_t len)
{
	char out[QRIS_PAYLOAD_MAX + 1];
	size_t out_len = 0;
	struct qris_error err;
	struct qris q;
	json_t *j;

	if (qris_decode(p, len, &q, &err) != QRIS_OK) {
		check(err.tag[0] != '\0' && err.rule[0] != '\0');
		return;
	}
	check(qris_encode(&q.root, out, sizeof(out), &out_len) == QRIS_OK);
	check(out_len == len && memcmp(out, p, len) == 0);
	j = qris_json(&q);
	check(j != NULL);
	json_decref(j);
	check_dynamic(p, len, 1337, QRIS_FEE_FIXED, NULL);
	check_dynamic(p, len, QRIS_AMOUNT_MAX, QRIS_FEE_PERCENT, "2.5");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char fixed[QRIS_PAYLOAD_MAX];
	char crc[5];

	check_payload((const char *)data, size);
	if (size >= 8 && size <= sizeof(fixed) && memcmp(data + size - 8, "6304", 4) == 0) {
		memcpy(fixed, data, size);
		snprintf(crc, sizeof(crc), "%04X", (unsigned)qris_crc16(fixed, size - 4));
		memcpy(fixed + size - 4, crc, 4);
		check_payload(fixed, size);
	}
	return 0;
}
