/*
 * record: msgpack arrays [version, field...] written with an sbuffer and read
 * with msgpack_unpack_next over a private copy of the input.
 */
#include "record.h"

#include <stdlib.h>
#include <string.h>

/* ---- writer ---- */

/*
 * The packer's callback after a failed write: it refuses everything, so the
 * writer's failure is sticky and record_data can tell (no header field is
 * needed for it).
 */
static int writer_failed(void *data, const char *buf, size_t len)
{
	(void)data;
	(void)buf;
	(void)len;
	return -1;
}

/* Drops what was written and makes every later write fail. */
static void writer_fail(struct record_writer *w)
{
	msgpack_sbuffer_destroy(&w->buf);
	msgpack_sbuffer_init(&w->buf);
	w->pk.callback = writer_failed;
}

/* The packer's callback: appends to the sbuffer, failing for good on ENOMEM. */
static int writer_append(void *data, const char *buf, size_t len)
{
	struct record_writer *w = data;

	if (msgpack_sbuffer_write(&w->buf, buf, len) == 0)
		return 0;
	writer_fail(w);
	return -1;
}

static bool writer_ok(const struct record_writer *w)
{
	return w->pk.callback != writer_failed;
}

void record_writer_init(struct record_writer *w, uint32_t version, uint32_t nfields)
{
	msgpack_sbuffer_init(&w->buf);
	/* The packer points back at the writer, so the writer must not be moved. */
	msgpack_packer_init(&w->pk, w, writer_append);
	/* Version 0 is not a record, and nfields + 1 must fit the 32-bit array header. */
	if (version == 0 || nfields == UINT32_MAX) {
		writer_fail(w);
		return;
	}
	msgpack_pack_array(&w->pk, (size_t)nfields + 1);
	msgpack_pack_uint32(&w->pk, version);
}

void record_writer_free(struct record_writer *w)
{
	msgpack_sbuffer_destroy(&w->buf);
	msgpack_sbuffer_init(&w->buf);
}

void record_put_i64(struct record_writer *w, int64_t v)
{
	msgpack_pack_int64(&w->pk, v);
}

void record_put_u64(struct record_writer *w, uint64_t v)
{
	msgpack_pack_uint64(&w->pk, v);
}

void record_put_bool(struct record_writer *w, bool v)
{
	if (v)
		msgpack_pack_true(&w->pk);
	else
		msgpack_pack_false(&w->pk);
}

void record_put_str(struct record_writer *w, const char *s, size_t len)
{
	/* msgpack lengths are 32-bit; a longer string would be silently cut. */
	if (len > UINT32_MAX) {
		writer_fail(w);
		return;
	}
	msgpack_pack_str(&w->pk, len);
	msgpack_pack_str_body(&w->pk, s, len);
}

void record_put_bin(struct record_writer *w, const void *p, size_t len)
{
	if (len > UINT32_MAX) {
		writer_fail(w);
		return;
	}
	msgpack_pack_bin(&w->pk, len);
	msgpack_pack_bin_body(&w->pk, p, len);
}

void record_put_nil(struct record_writer *w)
{
	msgpack_pack_nil(&w->pk);
}

/*
 * NULL (and *len 0) once any write failed: out of memory, a string or bin
 * over 4 GiB, version 0 or nfields UINT32_MAX at init.
 */
const void *record_data(const struct record_writer *w, size_t *len)
{
	if (!writer_ok(w)) {
		*len = 0;
		return NULL;
	}
	*len = w->buf.size;
	return w->buf.data;
}

/* ---- reader ---- */

/* Reads an n-byte big-endian unsigned integer at p[*pos], if all n bytes are there. */
static bool read_be(const uint8_t *p, size_t len, size_t *pos, unsigned n, uint64_t *out)
{
	uint64_t v = 0;

	if (n > len - *pos)
		return false;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[*pos + i];
	*pos += n;
	*out = v;
	return true;
}

/* msgpack-c's parser refuses to open a container when this many are open. */
#define RECORD_MAX_DEPTH 32

/*
 * Checks that p[0..len) is exactly one msgpack object, nested no deeper than
 * msgpack-c parses, whose containers announce no more elements than bytes
 * remain. msgpack-c allocates a container's elements from its announced count
 * before reading them, so without this a five-byte record could ask for
 * gigabytes; and it reports too deep a nesting as out of memory, which would
 * hide a corrupt record behind RECORD_ENOMEM.
 */
static bool well_formed(const uint8_t *p, size_t len)
{
	uint64_t left[RECORD_MAX_DEPTH];  /* elements still to read in each open container */
	unsigned depth = 0;
	uint64_t owed = 1;                /* objects announced but not yet read */
	size_t pos = 0;

	for (;;) {
		uint8_t b;
		uint64_t body = 0;   /* payload bytes to skip */
		uint64_t items = 0;  /* objects this one contains */
		bool container = false;

		if (pos >= len)
			return false;
		b = p[pos++];
		owed--;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, negative fixint, nil, false, true */
		} else if (b <= 0x8f) {
			items = 2 * (uint64_t)(b & 0x0f);
			container = true;
		} else if (b <= 0x9f) {
			items = b & 0x0f;
			container = true;
		} else if (b <= 0xbf) {
			body = b & 0x1f;
		} else if (b == 0xc1) {
			return false;
		} else if (b <= 0xc6) {            /* bin 8/16/32 */
			if (!read_be(p, len, &pos, 1u << (b - 0xc4), &body))
				return false;
		} else if (b <= 0xc9) {            /* ext 8/16/32: length, then a type byte */
			if (!read_be(p, len, &pos, 1u << (b - 0xc7), &body))
				return false;
			body += 1;
		} else if (b <= 0xcb) {            /* float 32/64 */
			body = b == 0xca ? 4 : 8;
		} else if (b <= 0xd3) {            /* uint and int 8/16/32/64 */
			body = 1u << ((b - 0xcc) & 3);
		} else if (b <= 0xd8) {            /* fixext 1/2/4/8/16 plus the type byte */
			body = (1u << (b - 0xd4)) + 1;
		} else if (b <= 0xdb) {            /* str 8/16/32 */
			if (!read_be(p, len, &pos, 1u << (b - 0xd9), &body))
				return false;
		} else {                           /* array 16/32, map 16/32 */
			uint64_t n;

			if (!read_be(p, len, &pos, (b & 1) ? 4 : 2, &n))
				return false;
			items = b <= 0xdd ? n : 2 * n;
			container = true;
		}
		if (body > len - pos)
			return false;
		pos += body;
		owed += items;
		/* Every object takes at least one byte. */
		if (owed > len - pos)
			return false;
		if (container && depth == RECORD_MAX_DEPTH)
			return false;
		if (items > 0) {
			left[depth++] = items;
			continue;
		}
		/* This object is complete, and so is every container it completes. */
		while (depth > 0 && --left[depth - 1] == 0)
			depth--;
		if (depth == 0)
			return pos == len;
	}
}

int record_reader_open(struct record_reader *r, const void *data, size_t len,
		       uint32_t max_version, uint32_t min_fields)
{
	const msgpack_object *root;
	const msgpack_object *version;
	size_t off = 0;
	char *copy;
	int ret;

	msgpack_unpacked_init(&r->up);
	r->items = NULL;
	r->count = 0;
	r->next = 0;
	r->version = 0;
	if (len == 0 || !well_formed(data, len))
		return RECORD_ECORRUPT;
	/* msgpack objects point into the bytes they were parsed from: parse a private copy. */
	copy = malloc(len);
	if (copy == NULL)
		return RECORD_ENOMEM;
	memcpy(copy, data, len);
	switch (msgpack_unpack_next(&r->up, copy, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		ret = RECORD_ENOMEM;
		goto free_copy;
	default:
		ret = RECORD_ECORRUPT;
		goto free_copy;
	}
	root = &r->up.data;
	if (off != len || root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size == 0) {
		ret = RECORD_ECORRUPT;
		goto free_copy;
	}
	/* An array always has a zone (it holds the elements); the zone now owns the copy. */
	if (!msgpack_zone_push_finalizer(r->up.zone, free, copy)) {
		ret = RECORD_ENOMEM;
		goto free_copy;
	}
	version = &root->via.array.ptr[0];
	if (version->type != MSGPACK_OBJECT_POSITIVE_INTEGER || version->via.u64 == 0) {
		ret = RECORD_ECORRUPT;
		goto free_unpacked;
	}
	if (version->via.u64 > max_version) {
		ret = RECORD_EVERSION;
		goto free_unpacked;
	}
	if (root->via.array.size - 1 < min_fields) {
		ret = RECORD_ECORRUPT;
		goto free_unpacked;
	}
	r->items = root->via.array.ptr + 1;
	r->count = root->via.array.size - 1;
	r->version = (uint32_t)version->via.u64;
	return RECORD_OK;

free_copy:
	free(copy);
free_unpacked:
	msgpack_unpacked_destroy(&r->up);
	msgpack_unpacked_init(&r->up);
	return ret;
}

void record_reader_free(struct record_reader *r)
{
	msgpack_unpacked_destroy(&r->up);
	msgpack_unpacked_init(&r->up);
	r->items = NULL;
	r->count = 0;
	r->next = 0;
}

/*
 * The next field if it has type `type`, else NULL. The field is consumed by
 * the caller (r->next++) only once it has been read successfully.
 */
static const msgpack_object *field(const struct record_reader *r, msgpack_object_type type)
{
	const msgpack_object *o;

	if (r->next >= r->count)
		return NULL;
	o = &r->items[r->next];
	return o->type == type ? o : NULL;
}

int record_get_i64(struct record_reader *r, int64_t *out)
{
	const msgpack_object *o = field(r, MSGPACK_OBJECT_POSITIVE_INTEGER);

	if (o != NULL) {
		if (o->via.u64 > INT64_MAX)
			return RECORD_ECORRUPT;
		*out = (int64_t)o->via.u64;
	} else {
		o = field(r, MSGPACK_OBJECT_NEGATIVE_INTEGER);
		if (o == NULL)
			return RECORD_ECORRUPT;
		*out = o->via.i64;
	}
	r->next++;
	return RECORD_OK;
}

int record_get_u64(struct record_reader *r, uint64_t *out)
{
	const msgpack_object *o = field(r, MSGPACK_OBJECT_POSITIVE_INTEGER);

	if (o == NULL)
		return RECORD_ECORRUPT;
	*out = o->via.u64;
	r->next++;
	return RECORD_OK;
}

int record_get_bool(struct record_reader *r, bool *out)
{
	const msgpack_object *o = field(r, MSGPACK_OBJECT_BOOLEAN);

	if (o == NULL)
		return RECORD_ECORRUPT;
	*out = o->via.boolean;
	r->next++;
	return RECORD_OK;
}

int record_get_str(struct record_reader *r, char *out, size_t cap, size_t *len)
{
	const msgpack_object *o = field(r, MSGPACK_OBJECT_STR);

	/* Too long for out is an error, never a truncated copy. */
	if (o == NULL || cap == 0 || o->via.str.size > cap - 1)
		return RECORD_ECORRUPT;
	if (o->via.str.size > 0)
		memcpy(out, o->via.str.ptr, o->via.str.size);
	out[o->via.str.size] = '\0';
	if (len != NULL)
		*len = o->via.str.size;
	r->next++;
	return RECORD_OK;
}

int record_get_bin_exact(struct record_reader *r, void *out, size_t len)
{
	const msgpack_object *o = field(r, MSGPACK_OBJECT_BIN);

	if (o == NULL || o->via.bin.size != len)
		return RECORD_ECORRUPT;
	if (len > 0)
		memcpy(out, o->via.bin.ptr, len);
	r->next++;
	return RECORD_OK;
}

int record_get_bin(struct record_reader *r, void *out, size_t cap, size_t *len)
{
	const msgpack_object *o = field(r, MSGPACK_OBJECT_BIN);

	if (o == NULL || o->via.bin.size > cap)
		return RECORD_ECORRUPT;
	if (o->via.bin.size > 0)
		memcpy(out, o->via.bin.ptr, o->via.bin.size);
	*len = o->via.bin.size;
	r->next++;
	return RECORD_OK;
}

int record_skip(struct record_reader *r)
{
	if (r->next >= r->count)
		return RECORD_ECORRUPT;
	r->next++;
	return RECORD_OK;
}

void record_be64_put(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

uint64_t record_be64_get(const uint8_t in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}
