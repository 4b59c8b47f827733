/*
 * Unit tests for core/record: round trips of every field type, version and
 * field-count checks, type and length checks on every getter, and hostile
 * input (truncations, trailing bytes, huge announced sizes, random bytes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define GUARD 0xA5

/* Copies a writer's bytes into a fresh heap buffer and frees the writer. */
static uint8_t *take_bytes(struct record_writer *w, size_t *len)
{
	const void *data = record_data(w, len);
	uint8_t *copy;

	assert_non_null(data);
	copy = malloc(*len);
	assert_non_null(copy);
	memcpy(copy, data, *len);
	record_writer_free(w);
	return copy;
}

/* A version-2 record of every field type, used by several tests. */
static uint8_t *sample_record(size_t *len)
{
	struct record_writer w;
	uint8_t key[32];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	record_writer_init(&w, 2, 13);
	record_put_i64(&w, INT64_MIN);
	record_put_i64(&w, -1);
	record_put_i64(&w, 0);
	record_put_i64(&w, INT64_MAX);
	record_put_u64(&w, 0);
	record_put_u64(&w, UINT64_MAX);
	record_put_bool(&w, true);
	record_put_bool(&w, false);
	record_put_str(&w, "Warung Bu Sri", 13);
	record_put_str(&w, NULL, 0);
	record_put_bin(&w, key, sizeof(key));
	record_put_bin(&w, NULL, 0);
	record_put_nil(&w);
	return take_bytes(&w, len);
}

static void test_roundtrip_all_types(void **state)
{
	struct record_reader r;
	size_t len;
	uint8_t *data = sample_record(&len);
	int64_t i;
	uint64_t u;
	bool b;
	char s[32];
	size_t slen;
	uint8_t key[32];
	uint8_t nothing[1] = { GUARD };

	(void)state;
	assert_int_equal(record_reader_open(&r, data, len, 2, 13), RECORD_OK);
	/* The reader holds its own copy: scribble over and free the input now. */
	memset(data, 0xee, len);
	free(data);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.count, 13);
	assert_int_equal(record_get_i64(&r, &i), RECORD_OK);
	assert_true(i == INT64_MIN);
	assert_int_equal(record_get_i64(&r, &i), RECORD_OK);
	assert_true(i == -1);
	assert_int_equal(record_get_i64(&r, &i), RECORD_OK);
	assert_true(i == 0);
	assert_int_equal(record_get_i64(&r, &i), RECORD_OK);
	assert_true(i == INT64_MAX);
	assert_int_equal(record_get_u64(&r, &u), RECORD_OK);
	assert_true(u == 0);
	assert_int_equal(record_get_u64(&r, &u), RECORD_OK);
	assert_true(u == UINT64_MAX);
	assert_int_equal(record_get_bool(&r, &b), RECORD_OK);
	assert_true(b);
	assert_int_equal(record_get_bool(&r, &b), RECORD_OK);
	assert_false(b);
	assert_int_equal(record_get_str(&r, s, sizeof(s), &slen), RECORD_OK);
	assert_int_equal(slen, 13);
	assert_string_equal(s, "Warung Bu Sri");
	assert_int_equal(record_get_str(&r, s, 1, &slen), RECORD_OK);
	assert_int_equal(slen, 0);
	assert_string_equal(s, "");
	assert_int_equal(record_get_bin_exact(&r, key, sizeof(key)), RECORD_OK);
	for (size_t k = 0; k < sizeof(key); k++)
		assert_int_equal(key[k], k);
	assert_int_equal(record_get_bin_exact(&r, nothing, 0), RECORD_OK);
	assert_int_equal(nothing[0], GUARD);
	assert_int_equal(record_skip(&r), RECORD_OK);
	/* Past the last field. */
	assert_int_equal(record_skip(&r), RECORD_ECORRUPT);
	assert_int_equal(record_get_i64(&r, &i), RECORD_ECORRUPT);
	assert_int_equal(record_get_str(&r, s, sizeof(s), NULL), RECORD_ECORRUPT);
	record_reader_free(&r);
}

static void test_large_fields(void **state)
{
	struct record_writer w;
	struct record_reader r;
	size_t big_len = 200000;
	uint8_t *big = malloc(big_len);
	uint8_t *back = malloc(big_len);
	char *text = malloc(70001);
	char *text_back = malloc(70001);
	uint8_t *data;
	size_t len;
	size_t slen;

	(void)state;
	assert_non_null(big);
	assert_non_null(back);
	assert_non_null(text);
	assert_non_null(text_back);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 7);
	memset(text, 'k', 70000);
	text[70000] = '\0';
	/* Sizes past 65535 use the 32-bit length forms and grow the buffer several times. */
	record_writer_init(&w, 1, 2);
	record_put_bin(&w, big, big_len);
	record_put_str(&w, text, 70000);
	data = take_bytes(&w, &len);
	assert_int_equal(record_reader_open(&r, data, len, 1, 2), RECORD_OK);
	free(data);
	assert_int_equal(record_get_bin_exact(&r, back, big_len), RECORD_OK);
	assert_memory_equal(back, big, big_len);
	assert_int_equal(record_get_str(&r, text_back, 70001, &slen), RECORD_OK);
	assert_int_equal(slen, 70000);
	assert_string_equal(text_back, text);
	record_reader_free(&r);
	free(big);
	free(back);
	free(text);
	free(text_back);
}

static void test_versions(void **state)
{
	struct record_writer w;
	struct record_reader r;
	size_t len;
	uint8_t *data = sample_record(&len);
	/* Hand-made arrays: [0, 1], [-1, 1], ["1", 1], [2^32, 1]. */
	static const uint8_t v0[] = { 0x92, 0x00, 0x01 };
	static const uint8_t vneg[] = { 0x92, 0xff, 0x01 };
	static const uint8_t vstr[] = { 0x92, 0xa1, '1', 0x01 };
	static const uint8_t vbig[] = { 0x92, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0x01 };
	static const uint8_t v1[] = { 0x92, 0x01, 0x01 };
	int64_t i;

	(void)state;
	/* The sample is version 2. */
	assert_int_equal(record_reader_open(&r, data, len, 1, 0), RECORD_EVERSION);
	assert_int_equal(record_reader_open(&r, data, len, 0, 0), RECORD_EVERSION);
	assert_int_equal(record_reader_open(&r, data, len, 3, 13), RECORD_OK);
	assert_int_equal(r.version, 2);
	record_reader_free(&r);
	free(data);

	assert_int_equal(record_reader_open(&r, v0, sizeof(v0), 5, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, vneg, sizeof(vneg), 5, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, vstr, sizeof(vstr), 5, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, vbig, sizeof(vbig), UINT32_MAX, 0), RECORD_EVERSION);
	assert_int_equal(record_reader_open(&r, v1, sizeof(v1), 1, 1), RECORD_OK);
	assert_int_equal(record_get_i64(&r, &i), RECORD_OK);
	assert_true(i == 1);
	record_reader_free(&r);

	/* The writer refuses version 0: no bytes to store. */
	record_writer_init(&w, 0, 1);
	record_put_i64(&w, 1);
	assert_null(record_data(&w, &len));
	assert_int_equal(len, 0);
	record_writer_free(&w);
}

static void test_field_counts(void **state)
{
	struct record_writer w;
	struct record_reader r;
	size_t len;
	uint8_t *data = sample_record(&len);
	static const uint8_t empty_array[] = { 0x90 };
	uint8_t *short_rec;
	int64_t i;

	(void)state;
	assert_int_equal(record_reader_open(&r, data, len, 2, 14), RECORD_ECORRUPT);
	/* A newer writer may append fields; an older reader reads its prefix. */
	assert_int_equal(record_reader_open(&r, data, len, 2, 4), RECORD_OK);
	assert_int_equal(r.count, 13);
	record_reader_free(&r);
	free(data);
	assert_int_equal(record_reader_open(&r, empty_array, 1, 1, 0), RECORD_ECORRUPT);

	/* A writer that puts fewer fields than announced produces no valid record. */
	record_writer_init(&w, 1, 2);
	record_put_i64(&w, 5);
	short_rec = take_bytes(&w, &len);
	assert_int_equal(record_reader_open(&r, short_rec, len, 1, 1), RECORD_ECORRUPT);
	free(short_rec);

	/* Zero fields is a valid record. */
	record_writer_init(&w, 1, 0);
	data = take_bytes(&w, &len);
	assert_int_equal(record_reader_open(&r, data, len, 1, 0), RECORD_OK);
	assert_int_equal(r.count, 0);
	assert_int_equal(record_get_i64(&r, &i), RECORD_ECORRUPT);
	record_reader_free(&r);
	free(data);
}

static void test_wrong_types(void **state)
{
	struct record_reader r;
	size_t len;
	uint8_t *data = sample_record(&len);
	int64_t i;
	uint64_t u;
	bool b;
	char s[32];
	uint8_t key[32];

	(void)state;
	assert_int_equal(record_reader_open(&r, data, len, 2, 13), RECORD_OK);
	free(data);
	/* Field 0 is INT64_MIN: no u64, bool, str or bin; a failed get does not consume it. */
	assert_int_equal(record_get_u64(&r, &u), RECORD_ECORRUPT);
	assert_int_equal(record_get_bool(&r, &b), RECORD_ECORRUPT);
	assert_int_equal(record_get_str(&r, s, sizeof(s), NULL), RECORD_ECORRUPT);
	assert_int_equal(record_get_bin_exact(&r, key, 8), RECORD_ECORRUPT);
	assert_int_equal(record_get_i64(&r, &i), RECORD_OK);
	assert_true(i == INT64_MIN);
	assert_int_equal(record_skip(&r), RECORD_OK);
	assert_int_equal(record_skip(&r), RECORD_OK);
	assert_int_equal(record_skip(&r), RECORD_OK);
	assert_int_equal(record_skip(&r), RECORD_OK);
	/* Field 5 is UINT64_MAX: out of range for i64. */
	assert_int_equal(record_get_i64(&r, &i), RECORD_ECORRUPT);
	assert_int_equal(record_get_bool(&r, &b), RECORD_ECORRUPT);
	assert_int_equal(record_get_u64(&r, &u), RECORD_OK);
	/* Field 6 is a bool, not an integer. */
	assert_int_equal(record_get_i64(&r, &i), RECORD_ECORRUPT);
	assert_int_equal(record_get_u64(&r, &u), RECORD_ECORRUPT);
	assert_int_equal(record_skip(&r), RECORD_OK);
	assert_int_equal(record_skip(&r), RECORD_OK);
	/* Field 8 is a str: not a bin. */
	assert_int_equal(record_get_bin_exact(&r, key, 13), RECORD_ECORRUPT);
	assert_int_equal(record_skip(&r), RECORD_OK);
	assert_int_equal(record_skip(&r), RECORD_OK);
	/* Field 10 is a 32-byte bin: not a str, and not of any other length. */
	assert_int_equal(record_get_str(&r, s, sizeof(s), NULL), RECORD_ECORRUPT);
	assert_int_equal(record_get_bin_exact(&r, key, 31), RECORD_ECORRUPT);
	assert_int_equal(record_get_bin_exact(&r, key, 33), RECORD_ECORRUPT);
	assert_int_equal(record_get_bin_exact(&r, key, 32), RECORD_OK);
	assert_int_equal(record_skip(&r), RECORD_OK);
	/* Field 12 is nil: nothing but skip accepts it. */
	assert_int_equal(record_get_i64(&r, &i), RECORD_ECORRUPT);
	assert_int_equal(record_get_bool(&r, &b), RECORD_ECORRUPT);
	assert_int_equal(record_get_str(&r, s, sizeof(s), NULL), RECORD_ECORRUPT);
	assert_int_equal(record_get_bin_exact(&r, key, 0), RECORD_ECORRUPT);
	assert_int_equal(record_skip(&r), RECORD_OK);
	record_reader_free(&r);
}

static void test_negative_is_not_u64(void **state)
{
	struct record_writer w;
	struct record_reader r;
	size_t len;
	uint8_t *data;
	uint64_t u;
	int64_t i;

	(void)state;
	record_writer_init(&w, 1, 1);
	record_put_i64(&w, -5);
	data = take_bytes(&w, &len);
	assert_int_equal(record_reader_open(&r, data, len, 1, 1), RECORD_OK);
	free(data);
	assert_int_equal(record_get_u64(&r, &u), RECORD_ECORRUPT);
	assert_int_equal(record_get_i64(&r, &i), RECORD_OK);
	assert_true(i == -5);
	record_reader_free(&r);
}

static void test_string_bounds(void **state)
{
	struct record_writer w;
	struct record_reader r;
	size_t len;
	uint8_t *data;
	char s[16];
	size_t slen = 99;

	(void)state;
	record_writer_init(&w, 1, 1);
	record_put_str(&w, "0123456789", 10);
	data = take_bytes(&w, &len);
	assert_int_equal(record_reader_open(&r, data, len, 1, 1), RECORD_OK);
	free(data);
	/* Ten bytes need a cap of 11; smaller caps fail without writing anything. */
	memset(s, GUARD, sizeof(s));
	assert_int_equal(record_get_str(&r, s, 10, &slen), RECORD_ECORRUPT);
	assert_int_equal(record_get_str(&r, s, 0, &slen), RECORD_ECORRUPT);
	assert_int_equal((uint8_t)s[0], GUARD);
	assert_int_equal(slen, 99);
	assert_int_equal(record_get_str(&r, s, 11, &slen), RECORD_OK);
	assert_string_equal(s, "0123456789");
	assert_int_equal(slen, 10);
	assert_int_equal((uint8_t)s[11], GUARD);
	record_reader_free(&r);
}

static void test_writer_failure_is_sticky(void **state)
{
	struct record_writer w;
	size_t len = 99;
	static const uint8_t small[4];
	const uint8_t *data;

	(void)state;
	/* nfields + 1 would not fit the 32-bit array header. */
	record_writer_init(&w, 1, UINT32_MAX);
	record_put_i64(&w, 1);
	assert_null(record_data(&w, &len));
	assert_int_equal(len, 0);
	record_writer_free(&w);
#if SIZE_MAX > UINT32_MAX
	/*
	 * A length msgpack cannot represent fails the writer before any byte is
	 * read from the source; later puts do not bring it back.
	 */
	record_writer_init(&w, 1, 3);
	record_put_i64(&w, 1);
	record_put_bin(&w, small, (size_t)UINT32_MAX + 1);
	record_put_i64(&w, 2);
	assert_null(record_data(&w, &len));
	record_writer_free(&w);
	record_writer_init(&w, 1, 1);
	record_put_str(&w, (const char *)small, (size_t)UINT32_MAX + 1);
	assert_null(record_data(&w, &len));
	record_writer_free(&w);
#endif
	/* A healthy writer of no fields holds just [1]. */
	record_writer_init(&w, 1, 0);
	data = record_data(&w, &len);
	assert_non_null(data);
	assert_int_equal(len, 2);
	assert_int_equal(data[0], 0x91);
	assert_int_equal(data[1], 0x01);
	record_writer_free(&w);
}

static void test_truncated(void **state)
{
	struct record_reader r;
	size_t len;
	uint8_t *data = sample_record(&len);

	(void)state;
	/* Each prefix in its own exact-size allocation, so ASan sees any over-read. */
	for (size_t n = 0; n < len; n++) {
		uint8_t *prefix = malloc(n > 0 ? n : 1);

		assert_non_null(prefix);
		memcpy(prefix, data, n);
		assert_int_equal(record_reader_open(&r, prefix, n, 2, 0), RECORD_ECORRUPT);
		free(prefix);
	}
	free(data);
}

static void test_trailing_bytes(void **state)
{
	struct record_reader r;
	size_t len;
	uint8_t *data = sample_record(&len);
	uint8_t *longer = malloc(2 * len);

	(void)state;
	assert_non_null(longer);
	memcpy(longer, data, len);
	longer[len] = 0x00;
	assert_int_equal(record_reader_open(&r, longer, len + 1, 2, 0), RECORD_ECORRUPT);
	/* Two records back to back are not one record. */
	memcpy(longer + len, data, len);
	assert_int_equal(record_reader_open(&r, longer, 2 * len, 2, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, longer, len, 2, 0), RECORD_OK);
	record_reader_free(&r);
	free(longer);
	free(data);
}

static void test_not_an_array(void **state)
{
	struct record_reader r;
	static const uint8_t as_int[] = { 0x01 };
	static const uint8_t as_map[] = { 0x81, 0x01, 0x01 };
	static const uint8_t as_str[] = { 0xa2, 'h', 'i' };
	static const uint8_t reserved[] = { 0x92, 0x01, 0xc1 };

	(void)state;
	assert_int_equal(record_reader_open(&r, as_int, sizeof(as_int), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, as_map, sizeof(as_map), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, as_str, sizeof(as_str), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, reserved, sizeof(reserved), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, NULL, 0, 1, 0), RECORD_ECORRUPT);
	/* A failed open leaves nothing to free, and freeing anyway is harmless. */
	record_reader_free(&r);
}

static void test_nested_fields_skip(void **state)
{
	struct record_reader r;
	/* [1, [1, "ab", {2: nil}], 7, ext(type 5, 2 bytes), 1.5] */
	static const uint8_t rec[] = {
		0x95, 0x01,
		0x93, 0x01, 0xa2, 'a', 'b', 0x81, 0x02, 0xc0,
		0x07,
		0xd5, 0x05, 0xaa, 0xbb,
		0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
	};
	uint8_t deep[40];
	int64_t i;

	(void)state;
	assert_int_equal(record_reader_open(&r, rec, sizeof(rec), 1, 4), RECORD_OK);
	assert_int_equal(record_get_i64(&r, &i), RECORD_ECORRUPT);
	assert_int_equal(record_skip(&r), RECORD_OK);
	assert_int_equal(record_get_i64(&r, &i), RECORD_OK);
	assert_true(i == 7);
	assert_int_equal(record_skip(&r), RECORD_OK);
	assert_int_equal(record_get_i64(&r, &i), RECORD_ECORRUPT);
	assert_int_equal(record_skip(&r), RECORD_OK);
	assert_int_equal(record_skip(&r), RECORD_ECORRUPT);
	record_reader_free(&r);

	/* [1, [[[...]]]] nested deeper than the parser's stack: refused, not overflowed. */
	deep[0] = 0x92;
	deep[1] = 0x01;
	for (size_t k = 2; k < sizeof(deep) - 1; k++)
		deep[k] = 0x91;
	deep[sizeof(deep) - 1] = 0x90;
	assert_int_equal(record_reader_open(&r, deep, sizeof(deep), 1, 1), RECORD_ECORRUPT);
}

static void test_huge_announced_sizes(void **state)
{
	struct record_reader r;
	/* Headers that announce up to 4 G elements or bytes in a handful of bytes. */
	static const uint8_t arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t map32[] = { 0x92, 0x01, 0xdf, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t arr16[] = { 0x92, 0x01, 0xdc, 0xff, 0xff, 0x01 };
	static const uint8_t str32[] = { 0x92, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x' };
	static const uint8_t bin32[] = { 0x92, 0x01, 0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00 };
	static const uint8_t ext32[] = { 0x92, 0x01, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00 };
	/* Claims two fields but holds one. */
	static const uint8_t arr_short[] = { 0x93, 0x01, 0x01 };

	(void)state;
	assert_int_equal(record_reader_open(&r, arr32, sizeof(arr32), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, map32, sizeof(map32), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, arr16, sizeof(arr16), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, str32, sizeof(str32), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, bin32, sizeof(bin32), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, ext32, sizeof(ext32), 1, 0), RECORD_ECORRUPT);
	assert_int_equal(record_reader_open(&r, arr_short, sizeof(arr_short), 1, 0), RECORD_ECORRUPT);
}

/* Deterministic generator (xorshift64) so a failure can be replayed. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Reads every field with each getter in turn; only checks nothing crashes. */
static void read_everything(struct record_reader *r)
{
	char s[8];
	uint8_t bin[8];
	int64_t i;
	uint64_t u;
	bool b;

	while (r->next < r->count) {
		(void)record_get_i64(r, &i);
		(void)record_get_u64(r, &u);
		(void)record_get_bool(r, &b);
		(void)record_get_str(r, s, sizeof(s), NULL);
		(void)record_get_bin_exact(r, bin, 4);
		(void)record_skip(r);
	}
}

static void test_random_bytes(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15u;
	size_t sample_len;
	uint8_t *sample = sample_record(&sample_len);
	unsigned opened = 0;

	(void)state;
	for (int round = 0; round < 6000; round++) {
		size_t len = (size_t)(next_random(&seed) % 48) + 1;
		uint8_t *buf = malloc(len);
		struct record_reader r;
		int ret;

		assert_non_null(buf);
		if (round % 3 == 0) {
			/* Mutate a valid record so the parse gets past the first byte. */
			len = sample_len;
			free(buf);
			buf = malloc(len);
			assert_non_null(buf);
			memcpy(buf, sample, len);
			for (int k = 0; k < 3; k++)
				buf[next_random(&seed) % len] = (uint8_t)next_random(&seed);
		} else {
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)next_random(&seed);
			if (round % 3 == 1)
				buf[0] = (uint8_t)(0x90 | (buf[0] & 0x0f));
		}
		ret = record_reader_open(&r, buf, len, UINT32_MAX, 0);
		assert_true(ret == RECORD_OK || ret == RECORD_ECORRUPT || ret == RECORD_EVERSION);
		if (ret == RECORD_OK) {
			opened++;
			read_everything(&r);
			record_reader_free(&r);
		}
		free(buf);
	}
	/* The mutations must have produced some readable records, or nothing was exercised. */
	assert_true(opened > 0);
	free(sample);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_large_fields),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_field_counts),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_negative_is_not_u64),
		cmocka_unit_test(test_string_bounds),
		cmocka_unit_test(test_writer_failure_is_sticky),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_not_an_array),
		cmocka_unit_test(test_nested_fields_skip),
		cmocka_unit_test(test_huge_announced_sizes),
		cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
