/*
 * record: msgpack encoding of stored records.
 *
 * Every record is a msgpack array whose first element is its schema version
 * (a positive integer), then its fields in a fixed order. Readers check the
 * version and the field count before reading, and every string read has a
 * caller-stated bound, so a corrupt or foreign record is an error, never an
 * over-read.
 */
#ifndef BANGSOLEH_RECORD_H
#define BANGSOLEH_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define RECORD_OK 0
#define RECORD_ENOMEM (-1)
#define RECORD_ECORRUPT (-2)  /* not a record, wrong type, or too long */
#define RECORD_EVERSION (-3)  /* schema version not supported by the reader */

/*
 * 8-byte big-endian numbers, for LMDB keys: the default byte-wise key order is
 * then the numbers' order.
 */
void record_be64_put(uint8_t out[8], uint64_t v);
uint64_t record_be64_get(const uint8_t in[8]);

struct record_writer {
	msgpack_sbuffer buf;
	msgpack_packer pk;
};

/* Starts a record of `nfields` fields after the version. Free with record_writer_free. */
void record_writer_init(struct record_writer *w, uint32_t version, uint32_t nfields);
void record_writer_free(struct record_writer *w);
void record_put_i64(struct record_writer *w, int64_t v);
void record_put_u64(struct record_writer *w, uint64_t v);
void record_put_bool(struct record_writer *w, bool v);
void record_put_str(struct record_writer *w, const char *s, size_t len);
void record_put_bin(struct record_writer *w, const void *p, size_t len);
void record_put_nil(struct record_writer *w);
/* Bytes written so far, lent until the writer is freed or written again. */
const void *record_data(const struct record_writer *w, size_t *len);

struct record_reader {
	msgpack_unpacked up;
	const msgpack_object *items;
	uint32_t count;    /* fields after the version */
	uint32_t next;
	uint32_t version;
};

/*
 * Opens a record for reading. The reader copies what it needs, so data may
 * be freed (or its LMDB transaction ended) afterwards. Returns
 * RECORD_ECORRUPT unless it is an array starting with a version in
 * [1, max_version] followed by at least `min_fields` fields;
 * RECORD_EVERSION when the version is above max_version.
 */
int record_reader_open(struct record_reader *r, const void *data, size_t len,
		       uint32_t max_version, uint32_t min_fields);
void record_reader_free(struct record_reader *r);
int record_get_i64(struct record_reader *r, int64_t *out);
int record_get_u64(struct record_reader *r, uint64_t *out);
int record_get_bool(struct record_reader *r, bool *out);
/* Copies a string of at most cap-1 bytes and NUL-terminates it. */
int record_get_str(struct record_reader *r, char *out, size_t cap, size_t *len);
/* Copies exactly `len` bytes of a bin field of that length. */
int record_get_bin_exact(struct record_reader *r, void *out, size_t len);
/* Copies a bin field of at most cap bytes. OUT: *len. */
int record_get_bin(struct record_reader *r, void *out, size_t cap, size_t *len);
/* Skips one field, whatever it holds. */
int record_skip(struct record_reader *r);

#endif
