/*
 * Record formats of the ledger. Every record is a msgpack array whose first
 * element is its schema version, with each field at a fixed width (uint64 as
 * 0xcf, uint32 as 0xce, uint16 as 0xcd, 128-bit ids as bin8 of 16), so that
 * the canonical bytes of an entry are the same on every machine and their
 * length is fixed. docs/ledger.md gives the byte layout.
 */
#include "internal.h"

#include <string.h>

#include "crypto.h"

/* A bounded cursor for writing; every caller's buffer is sized for its record. */
struct codec_out {
	uint8_t *p;
};

struct codec_in {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
};

static void out_u8(struct codec_out *o, uint8_t v)
{
	*o->p++ = v;
}

static void out_be(struct codec_out *o, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		*o->p++ = (uint8_t)(v >> (8 * i));
}

static void out_u64(struct codec_out *o, uint64_t v)
{
	out_u8(o, 0xcf);
	out_be(o, v, 8);
}

static void out_u32(struct codec_out *o, uint32_t v)
{
	out_u8(o, 0xce);
	out_be(o, v, 4);
}

static void out_u16(struct codec_out *o, uint16_t v)
{
	out_u8(o, 0xcd);
	out_be(o, v, 2);
}

static void out_bin(struct codec_out *o, const void *b, uint8_t len)
{
	out_u8(o, 0xc4);
	out_u8(o, len);
	memcpy(o->p, b, len);
	o->p += len;
}

static void out_id(struct codec_out *o, const struct ledger_id *id)
{
	out_bin(o, id->b, 16);
}

static const uint8_t *in_take(struct codec_in *in, size_t n)
{
	const uint8_t *p = in->p;
	if (in->bad || (size_t)(in->end - in->p) < n) {
		in->bad = true;
		return NULL;
	}
	in->p += n;
	return p;
}

/* Reads a tag byte that must be `tag`, then `bytes` big-endian bytes. */
static uint64_t in_be(struct codec_in *in, uint8_t tag, int bytes)
{
	const uint8_t *p = in_take(in, 1 + (size_t)bytes);
	uint64_t v = 0;
	if (!p || p[0] != tag) {
		in->bad = true;
		return 0;
	}
	for (int i = 1; i <= bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t in_u64(struct codec_in *in)
{
	return in_be(in, 0xcf, 8);
}

static uint32_t in_u32(struct codec_in *in)
{
	return (uint32_t)in_be(in, 0xce, 4);
}

static uint16_t in_u16(struct codec_in *in)
{
	return (uint16_t)in_be(in, 0xcd, 2);
}

/* Amounts and balances are stored as uint64 and must fit int64. */
static int64_t in_amount(struct codec_in *in)
{
	uint64_t v = in_u64(in);
	if (v > INT64_MAX)
		in->bad = true;
	return (int64_t)v;
}

static void in_bin(struct codec_in *in, void *out, uint8_t len)
{
	const uint8_t *p = in_take(in, 2 + (size_t)len);
	if (!p || p[0] != 0xc4 || p[1] != len) {
		in->bad = true;
		return;
	}
	memcpy(out, p + 2, len);
}

static void in_id(struct codec_in *in, struct ledger_id *id)
{
	in_bin(in, id->b, 16);
}

/* Checks the array header and the version; `hdr` is the expected header bytes. */
static void in_header(struct codec_in *in, const uint8_t *hdr, size_t hdr_len, uint8_t version)
{
	const uint8_t *p = in_take(in, hdr_len + 1);
	if (!p || memcmp(p, hdr, hdr_len) != 0 || p[hdr_len] != version)
		in->bad = true;
}

static int in_finish(const struct codec_in *in)
{
	return in->bad || in->p != in->end ? LEDGER_ECORRUPT : LEDGER_OK;
}

/* Big-endian on the wire whatever the machine: these run for every key and hash. */
void ledger_put_u64(uint8_t out[8], uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(out, &v, 8);
}

uint64_t ledger_get_u64(const uint8_t in[8])
{
	uint64_t v;
	memcpy(&v, in, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* --- entries --- */

static const uint8_t entry_header[] = { 0xdc, 0x00, 0x11 };   /* array16 of 17 */

void ledger_entry_encode(const struct ledger_entry *e, uint8_t out[LEDGER_CANONICAL_LEN])
{
	struct codec_out o = { out };
	const struct ledger_transfer *t = &e->t;
	memcpy(o.p, entry_header, sizeof(entry_header));
	o.p += sizeof(entry_header);
	out_u8(&o, LEDGER_ENTRY_VERSION);
	out_u64(&o, t->seq);
	out_u64(&o, t->timestamp);
	out_id(&o, &t->id);
	out_id(&o, &t->debit_account_id);
	out_id(&o, &t->credit_account_id);
	out_u64(&o, (uint64_t)t->amount);
	out_id(&o, &t->pending_id);
	out_id(&o, &t->user_data_128);
	out_u64(&o, t->user_data_64);
	out_u32(&o, t->user_data_32);
	out_u32(&o, t->timeout);
	out_u32(&o, t->ledger);
	out_u16(&o, t->code);
	out_u16(&o, t->flags);
	out_u64(&o, e->debit_prev_seq);
	out_u64(&o, e->credit_prev_seq);
}

int ledger_entry_decode(const void *data, size_t len, struct ledger_entry *out)
{
	struct codec_in in = { data, (const uint8_t *)data + len, false };
	struct ledger_transfer *t = &out->t;
	if (len != LEDGER_STORED_LEN)
		return LEDGER_ECORRUPT;
	in.end -= LEDGER_HASH_LEN;
	in_header(&in, entry_header, sizeof(entry_header), LEDGER_ENTRY_VERSION);
	t->seq = in_u64(&in);
	t->timestamp = in_u64(&in);
	in_id(&in, &t->id);
	in_id(&in, &t->debit_account_id);
	in_id(&in, &t->credit_account_id);
	t->amount = in_amount(&in);
	in_id(&in, &t->pending_id);
	in_id(&in, &t->user_data_128);
	t->user_data_64 = in_u64(&in);
	t->user_data_32 = in_u32(&in);
	t->timeout = in_u32(&in);
	t->ledger = in_u32(&in);
	t->code = in_u16(&in);
	t->flags = in_u16(&in);
	out->debit_prev_seq = in_u64(&in);
	out->credit_prev_seq = in_u64(&in);
	memcpy(out->hash, (const uint8_t *)data + LEDGER_CANONICAL_LEN, LEDGER_HASH_LEN);
	return in_finish(&in);
}

void ledger_chain(const uint8_t prev[LEDGER_HASH_LEN], const uint8_t canonical[LEDGER_CANONICAL_LEN],
		  uint8_t next[LEDGER_HASH_LEN])
{
	uint8_t buf[LEDGER_HASH_LEN + LEDGER_CANONICAL_LEN];
	memcpy(buf, prev, LEDGER_HASH_LEN);
	memcpy(buf + LEDGER_HASH_LEN, canonical, LEDGER_CANONICAL_LEN);
	crypto_sha256(buf, sizeof(buf), next);
}

/* --- accounts --- */

static const uint8_t account_header[] = { 0x9a };  /* fixarray of 10 */
static const uint8_t balances_header[] = { 0x96 };  /* fixarray of 6 */

size_t ledger_account_encode(const struct ledger_account *a, uint8_t *out)
{
	struct codec_out o = { out };
	size_t name_len = strnlen(a->name, LEDGER_NAME_MAX);
	memcpy(o.p, account_header, sizeof(account_header));
	o.p += sizeof(account_header);
	out_u8(&o, LEDGER_ACCOUNT_VERSION);
	out_id(&o, &a->id);
	out_u8(&o, 0xd9);   /* str8 */
	out_u8(&o, (uint8_t)name_len);
	memcpy(o.p, a->name, name_len);
	o.p += name_len;
	out_u32(&o, a->ledger);
	out_u16(&o, a->code);
	out_u16(&o, a->flags);
	out_id(&o, &a->user_data_128);
	out_u64(&o, a->user_data_64);
	out_u32(&o, a->user_data_32);
	out_u64(&o, a->timestamp);
	return (size_t)(o.p - out);
}

void ledger_balances_encode(const struct ledger_account *a, uint8_t out[LEDGER_BALANCES_RECORD_LEN])
{
	struct codec_out o = { out };
	out_u8(&o, balances_header[0]);
	out_u8(&o, LEDGER_BALANCES_VERSION);
	out_u64(&o, (uint64_t)a->debits_pending);
	out_u64(&o, (uint64_t)a->debits_posted);
	out_u64(&o, (uint64_t)a->credits_pending);
	out_u64(&o, (uint64_t)a->credits_posted);
	out_u64(&o, a->last_seq);
}

int ledger_balances_decode(const void *data, size_t len, struct ledger_account *out)
{
	struct codec_in in = { data, (const uint8_t *)data + len, false };
	in_header(&in, balances_header, sizeof(balances_header), LEDGER_BALANCES_VERSION);
	out->debits_pending = in_amount(&in);
	out->debits_posted = in_amount(&in);
	out->credits_pending = in_amount(&in);
	out->credits_posted = in_amount(&in);
	out->last_seq = in_u64(&in);
	return in_finish(&in);
}

int ledger_account_decode(const void *data, size_t len, struct ledger_account *out)
{
	struct codec_in in = { data, (const uint8_t *)data + len, false };
	const uint8_t *p;
	in_header(&in, account_header, sizeof(account_header), LEDGER_ACCOUNT_VERSION);
	in_id(&in, &out->id);
	p = in_take(&in, 2);
	if (!p || p[0] != 0xd9 || p[1] == 0 || p[1] > LEDGER_NAME_MAX)
		return LEDGER_ECORRUPT;
	p = in_take(&in, p[1]);
	if (!p)
		return LEDGER_ECORRUPT;
	memcpy(out->name, p, p[-1]);
	out->name[p[-1]] = '\0';
	out->ledger = in_u32(&in);
	out->code = in_u16(&in);
	out->flags = in_u16(&in);
	in_id(&in, &out->user_data_128);
	out->user_data_64 = in_u64(&in);
	out->user_data_32 = in_u32(&in);
	out->timestamp = in_u64(&in);
	return in_finish(&in);
}

/* --- pending transfers --- */

static const uint8_t pending_header[] = { 0x9a };  /* fixarray of 10 */

void ledger_pending_encode(const struct ledger_pending *p, uint8_t out[LEDGER_PENDING_RECORD_LEN])
{
	struct codec_out o = { out };
	out_u8(&o, pending_header[0]);
	out_u8(&o, LEDGER_PENDING_VERSION);
	out_id(&o, &p->id);
	out_id(&o, &p->debit_account_id);
	out_id(&o, &p->credit_account_id);
	out_u64(&o, (uint64_t)p->amount);
	out_u32(&o, p->ledger);
	out_u16(&o, p->code);
	out_u8(&o, p->status);    /* positive fixint */
	out_u64(&o, p->seq);
	out_u64(&o, p->expires_at);
}

int ledger_pending_decode(const void *data, size_t len, struct ledger_pending *out)
{
	struct codec_in in = { data, (const uint8_t *)data + len, false };
	const uint8_t *status;
	in_header(&in, pending_header, sizeof(pending_header), LEDGER_PENDING_VERSION);
	in_id(&in, &out->id);
	in_id(&in, &out->debit_account_id);
	in_id(&in, &out->credit_account_id);
	out->amount = in_amount(&in);
	out->ledger = in_u32(&in);
	out->code = in_u16(&in);
	status = in_take(&in, 1);
	out->status = status ? *status : 0;
	if (out->status < LEDGER_PENDING_OPEN || out->status > LEDGER_PENDING_EXPIRED)
		in.bad = true;
	out->seq = in_u64(&in);
	out->expires_at = in_u64(&in);
	return in_finish(&in);
}

/* --- meta and batches --- */

static const uint8_t meta_header[] = { 0x95 };   /* fixarray of 5 */

void ledger_meta_encode(const struct ledger_meta *m, uint8_t out[LEDGER_META_RECORD_LEN])
{
	struct codec_out o = { out };
	out_u8(&o, meta_header[0]);
	out_u8(&o, LEDGER_META_VERSION);
	out_u64(&o, m->head_seq);
	out_bin(&o, m->head_hash, LEDGER_HASH_LEN);
	out_u64(&o, m->clock);
	out_u64(&o, m->batches);
}

int ledger_meta_decode(const void *data, size_t len, struct ledger_meta *out)
{
	struct codec_in in = { data, (const uint8_t *)data + len, false };
	in_header(&in, meta_header, sizeof(meta_header), LEDGER_META_VERSION);
	out->head_seq = in_u64(&in);
	in_bin(&in, out->head_hash, LEDGER_HASH_LEN);
	out->clock = in_u64(&in);
	out->batches = in_u64(&in);
	return in_finish(&in);
}

static const uint8_t batch_header[] = { 0x95 };  /* fixarray of 5 */

void ledger_batch_encode(const struct ledger_batch *b, uint8_t out[LEDGER_BATCH_RECORD_LEN])
{
	struct codec_out o = { out };
	out_u8(&o, batch_header[0]);
	out_u8(&o, LEDGER_BATCH_VERSION);
	out_u64(&o, b->first_seq);
	out_u64(&o, b->last_seq);
	out_bin(&o, b->head_hash, LEDGER_HASH_LEN);
	out_u64(&o, b->timestamp);
}

int ledger_batch_decode(const void *data, size_t len, struct ledger_batch *out)
{
	struct codec_in in = { data, (const uint8_t *)data + len, false };
	in_header(&in, batch_header, sizeof(batch_header), LEDGER_BATCH_VERSION);
	out->first_seq = in_u64(&in);
	out->last_seq = in_u64(&in);
	in_bin(&in, out->head_hash, LEDGER_HASH_LEN);
	out->timestamp = in_u64(&in);
	return in_finish(&in);
}
