/*
 * The pure parts shared by the auditors' export and its verifier: the
 * RFC 9162 compact range, the replay of balances entry by entry, and the
 * readable lines of an entry (docs/audit.md, "Export").
 */
#include "audit_export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "internal.h"
#include "store.h"

#define REPLAY_HEX 33                /* 32 hex characters and NUL */

/* --- the compact range --- */

void ledger_compact_init(struct ledger_compact *c)
{
	c->size = 0;
	c->n = 0;
}

int ledger_compact_set(struct ledger_compact *c, uint64_t size, const uint8_t (*hash)[LEDGER_HASH_LEN], unsigned n)
{
	unsigned bits = 0;
	for (uint64_t s = size; s != 0; s &= s - 1)
		bits++;
	if (bits != n)
		return LEDGER_EINVAL;
	memcpy(c->hash, hash, (size_t)n * LEDGER_HASH_LEN);
	c->size = size;
	c->n = n;
	return LEDGER_OK;
}

int ledger_compact_append(struct ledger_compact *c, const uint8_t leaf[LEDGER_HASH_LEN])
{
	if (c->size == UINT64_MAX)
		return LEDGER_EINVAL;
	memcpy(c->hash[c->n++], leaf, LEDGER_HASH_LEN);
	/* Like a binary counter: each trailing 1 bit of the old size is a merge. */
	for (uint64_t s = c->size; s & 1; s >>= 1) {
		if (ledger_merkle_node_hash(c->hash[c->n - 2], c->hash[c->n - 1], c->hash[c->n - 2]) != LEDGER_OK)
			return LEDGER_ENOMEM;
		c->n--;
	}
	c->size++;
	return LEDGER_OK;
}

int ledger_compact_root(const struct ledger_compact *c, uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t r[LEDGER_HASH_LEN];
	if (c->n == 0)
		return crypto_sha256(NULL, 0, out) == CRYPTO_OK ? LEDGER_OK : LEDGER_ENOMEM;
	memcpy(r, c->hash[c->n - 1], LEDGER_HASH_LEN);
	for (unsigned i = c->n - 1; i-- > 0;)
		if (ledger_merkle_node_hash(c->hash[i], r, r) != LEDGER_OK)
			return LEDGER_ENOMEM;
	memcpy(out, r, LEDGER_HASH_LEN);
	return LEDGER_OK;
}

/* --- the replay's maps (ledger_idmap) --- */

/* A new zeroed value under id (not yet there, not zero). OUT: *out. */
static int map_add(struct ledger_idmap *m, const struct ledger_id *id, void **out)
{
	bool added;
	if (ledger_id_is_zero(id) || ledger_idmap_reserve(m, 1) != LEDGER_OK)
		return LEDGER_ENOMEM;
	*out = ledger_idmap_put(m, id, &added);
	return LEDGER_OK;
}

/* The values in id order. OUT: *out (malloc'd, NULL when empty), *n. */
static int map_sorted(const struct ledger_idmap *m, void **out, size_t *n,
		      int (*cmp)(const void *, const void *))
{
	uint8_t *list;
	const void *v;
	size_t k = 0;
	*out = NULL;
	*n = 0;
	if (m->len == 0)
		return LEDGER_OK;
	list = malloc(m->len * m->slot_size);
	if (!list)
		return LEDGER_ENOMEM;
	for (size_t pos = 0; (v = ledger_idmap_next(m, &pos)) != NULL;)
		memcpy(list + k++ * m->slot_size, v, m->slot_size);
	qsort(list, k, m->slot_size, cmp);
	*out = list;
	*n = k;
	return LEDGER_OK;
}

/* --- replay --- */

struct ledger_replay {
	struct ledger_idmap accounts;    /* struct ledger_balance */
	struct ledger_idmap pending;     /* struct ledger_open_pending */
};

int ledger_replay_new(struct ledger_replay **out)
{
	struct ledger_replay *r = calloc(1, sizeof(*r));
	if (!r)
		return LEDGER_ENOMEM;
	if (ledger_idmap_init(&r->accounts, sizeof(struct ledger_balance), 0) != LEDGER_OK ||
	    ledger_idmap_init(&r->pending, sizeof(struct ledger_open_pending), 0) != LEDGER_OK) {
		ledger_replay_free(r);
		return LEDGER_ENOMEM;
	}
	*out = r;
	return LEDGER_OK;
}

void ledger_replay_free(struct ledger_replay *r)
{
	if (!r)
		return;
	ledger_idmap_free(&r->accounts);
	ledger_idmap_free(&r->pending);
	free(r);
}

int ledger_replay_add_account(struct ledger_replay *r, const struct ledger_balance *b)
{
	void *v;
	if (ledger_id_is_zero(&b->id) || ledger_idmap_find(&r->accounts, &b->id) || b->debits_pending < 0 ||
	    b->debits_posted < 0 || b->credits_pending < 0 || b->credits_posted < 0)
		return LEDGER_EINVAL;
	if (map_add(&r->accounts, &b->id, &v) != LEDGER_OK)
		return LEDGER_ENOMEM;
	memcpy(v, b, sizeof(*b));
	return LEDGER_OK;
}

int ledger_replay_add_pending(struct ledger_replay *r, const struct ledger_open_pending *p)
{
	void *v;
	if (ledger_id_is_zero(&p->id) || ledger_idmap_find(&r->pending, &p->id) || p->amount <= 0)
		return LEDGER_EINVAL;
	if (map_add(&r->pending, &p->id, &v) != LEDGER_OK)
		return LEDGER_ENOMEM;
	memcpy(v, p, sizeof(*p));
	return LEDGER_OK;
}

/* The entry's account on `side` ("debit"/"credit"), made at zero on first sight. */
static int replay_account(struct ledger_replay *r, const struct ledger_id *id, uint32_t ledger, const char *side,
			  struct ledger_balance **out, char *msg, size_t cap)
{
	char hex[REPLAY_HEX];
	void *v = ledger_idmap_find(&r->accounts, id);
	if (!v && ledger_id_is_zero(id)) {
		snprintf(msg, cap, "has a zero %s account", side);
		return LEDGER_ECORRUPT;
	}
	if (!v) {
		if (map_add(&r->accounts, id, &v) != LEDGER_OK)
			return LEDGER_ENOMEM;
		((struct ledger_balance *)v)->ledger = ledger;
	}
	*out = v;
	if ((*out)->ledger == ledger)
		return LEDGER_OK;
	ledger_id_hex(id, hex, sizeof(hex));
	snprintf(msg, cap, "the %s account %s is on ledger %" PRIu32 ", the entry on ledger %" PRIu32, side, hex,
		 (*out)->ledger, ledger);
	return LEDGER_ECORRUPT;
}

/* *v += d (d may be negative); false when the result would overflow or go below 0. */
static bool replay_add(int64_t *v, int64_t d)
{
	int64_t s;
	if (__builtin_add_overflow(*v, d, &s) || s < 0)
		return false;
	*v = s;
	return true;
}

/* The pending transfer a post or void resolves: open, same accounts. OUT: *out. */
static int replay_resolve(struct ledger_replay *r, const struct ledger_entry *e, struct ledger_open_pending **out,
			  char *msg, size_t cap)
{
	const struct ledger_transfer *t = &e->t;
	const char *verb = (t->flags & LEDGER_POST_PENDING) ? "posts" : "voids";
	char hex[REPLAY_HEX];
	struct ledger_open_pending *p = ledger_idmap_find(&r->pending, &t->pending_id);
	ledger_id_hex(&t->pending_id, hex, sizeof(hex));
	if (!p) {
		snprintf(msg, cap, "%s pending transfer %s, which is not open", verb, hex);
		return LEDGER_ECORRUPT;
	}
	if (memcmp(&p->debit_account_id, &t->debit_account_id, sizeof(p->debit_account_id)) != 0 ||
	    memcmp(&p->credit_account_id, &t->credit_account_id, sizeof(p->credit_account_id)) != 0 ||
	    p->ledger != t->ledger) {
		snprintf(msg, cap, "%s pending transfer %s with other accounts or ledger", verb, hex);
		return LEDGER_ECORRUPT;
	}
	if ((t->flags & LEDGER_POST_PENDING) ? t->amount > p->amount : t->amount != p->amount) {
		snprintf(msg, cap, "%s pending transfer %s of %" PRId64 " with amount %" PRId64, verb, hex, p->amount,
			 t->amount);
		return LEDGER_ECORRUPT;
	}
	*out = p;
	return LEDGER_OK;
}

int ledger_replay_apply(struct ledger_replay *r, const struct ledger_entry *e, char *msg, size_t cap)
{
	const struct ledger_transfer *t = &e->t;
	const uint16_t kinds = LEDGER_PENDING | LEDGER_POST_PENDING | LEDGER_VOID_PENDING;
	uint16_t kind = t->flags & kinds;
	struct ledger_balance *d, *c;
	struct ledger_open_pending *p = NULL;
	int64_t pending, posted;
	size_t accounts;
	int rc;

	if (ledger_id_is_zero(&t->id) || t->amount <= 0 || (kind & (kind - 1)) != 0 ||
	    memcmp(&t->debit_account_id, &t->credit_account_id, sizeof(t->debit_account_id)) == 0) {
		snprintf(msg, cap, "is not a valid transfer (id, amount, flags or accounts)");
		return LEDGER_ECORRUPT;
	}
	if ((kind == LEDGER_POST_PENDING || kind == LEDGER_VOID_PENDING) &&
	    (rc = replay_resolve(r, e, &p, msg, cap)) != LEDGER_OK)
		return rc;
	if (ledger_entry_move(t, p ? p->amount : 0, &pending, &posted) != LEDGER_OK) {
		snprintf(msg, cap, "is not a valid transfer (flags)");
		return LEDGER_ECORRUPT;
	}
	rc = replay_account(r, &t->debit_account_id, t->ledger, "debit", &d, msg, cap);
	accounts = r->accounts.len;
	if (rc == LEDGER_OK)
		rc = replay_account(r, &t->credit_account_id, t->ledger, "credit", &c, msg, cap);
	if (rc != LEDGER_OK)
		return rc;
	/* Adding the credit account may have moved the debit one. */
	if (r->accounts.len != accounts)
		d = ledger_idmap_find(&r->accounts, &t->debit_account_id);
	if (!replay_add(&d->debits_pending, pending) || !replay_add(&c->credits_pending, pending) ||
	    !replay_add(&d->debits_posted, posted) || !replay_add(&c->credits_posted, posted)) {
		snprintf(msg, cap, "makes a balance overflow or go below zero");
		return LEDGER_ECORRUPT;
	}
	if (p) {
		ledger_idmap_remove(&r->pending, p);
	} else if (kind == LEDGER_PENDING) {
		struct ledger_open_pending open = { t->id, t->debit_account_id, t->credit_account_id, t->amount,
						    t->ledger, t->code };
		if (ledger_replay_add_pending(r, &open) != LEDGER_OK) {
			if (ledger_idmap_find(&r->pending, &t->id)) {
				snprintf(msg, cap, "reuses the id of a pending transfer still open");
				return LEDGER_ECORRUPT;
			}
			return LEDGER_ENOMEM;
		}
	}
	return LEDGER_OK;
}

static int replay_cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ledger_id));
}

int ledger_replay_accounts(const struct ledger_replay *r, struct ledger_balance **out, size_t *n)
{
	void *list;
	int rc = map_sorted(&r->accounts, &list, n, replay_cmp_id);
	*out = list;
	return rc;
}

int ledger_replay_pendings(const struct ledger_replay *r, struct ledger_open_pending **out, size_t *n)
{
	void *list;
	int rc = map_sorted(&r->pending, &list, n, replay_cmp_id);
	*out = list;
	return rc;
}

size_t ledger_replay_account_count(const struct ledger_replay *r)
{
	return r->accounts.len;
}

int ledger_replay_trial(const struct ledger_replay *r, struct ledger_trial_total *out, size_t *n)
{
	const struct ledger_balance *b;
	*n = 0;
	for (size_t pos = 0; (b = ledger_idmap_next(&r->accounts, &pos)) != NULL;) {
		struct ledger_trial_total *t = NULL;
		size_t k;
		for (k = 0; k < *n && out[k].ledger < b->ledger; k++)
			;
		if (k < *n && out[k].ledger == b->ledger) {
			t = &out[k];
		} else {
			if (*n == LEDGER_TRIAL_LEDGERS_MAX)
				return LEDGER_EINVAL;
			memmove(&out[k + 1], &out[k], (*n - k) * sizeof(*out));
			(*n)++;
			t = &out[k];
			memset(t, 0, sizeof(*t));
			t->ledger = b->ledger;
		}
		t->accounts++;
		ledger_sum_add(&t->debits_pending, b->debits_pending);
		ledger_sum_add(&t->debits_posted, b->debits_posted);
		ledger_sum_add(&t->credits_pending, b->credits_pending);
		ledger_sum_add(&t->credits_posted, b->credits_posted);
	}
	for (size_t k = 0; k < *n; k++)
		out[k].balanced = ledger_sum_equal(&out[k].debits_pending, &out[k].credits_pending) &&
				  ledger_sum_equal(&out[k].debits_posted, &out[k].credits_posted);
	return LEDGER_OK;
}

/* --- readable lines --- */

const char ledger_export_csv_header[] =
	"seq,timestamp,time,id,debit_account_id,credit_account_id,amount,pending_id,user_data_128,"
	"user_data_64,user_data_32,timeout,ledger,code,reason,flags,debit_prev_seq,credit_prev_seq,hash\r\n";

/*
 * The lines are built by hand, not with snprintf: the verifier rebuilds
 * every line to compare, and formatting is most of its work.
 */
struct line_out {
	char *p, *end;                   /* end: one byte is kept for the NUL */
	bool json;
	bool first;                      /* no separator before the next field */
};

static void line_put(struct line_out *o, const char *s, size_t n)
{
	if (o->p > o->end || (size_t)(o->end - o->p) < n) {
		o->p = o->end + 1;       /* marks it too long; nothing more fits */
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

/*
 * The separator and, in JSON, the field's key: `key` is the whole text
 * before the value ("\"seq\":", or "\"time\":\"" before a string), n its length.
 */
static void line_key(struct line_out *o, const char *key, size_t n)
{
	if (!o->first)
		line_put(o, ",", 1);
	o->first = false;
	if (o->json)
		line_put(o, key, n);
}

/* "00" .. "99": two digits per division. */
static const char line_pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				 "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				 "8081828384858687888990919293949596979899";

static void line_u64(struct line_out *o, const char *name, size_t n, uint64_t v)
{
	char digits[20];
	size_t at = sizeof(digits);
	line_key(o, name, n);
	while (v >= 100) {
		at -= 2;
		memcpy(digits + at, line_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		at -= 2;
		memcpy(digits + at, line_pairs + 2 * v, 2);
	} else {
		digits[--at] = (char)('0' + v);
	}
	line_put(o, digits + at, sizeof(digits) - at);
}

static void line_text(struct line_out *o, const char *name, size_t n, const char *text, size_t len)
{
	line_key(o, name, n);
	line_put(o, text, len);
	if (o->json)
		line_put(o, "\"", 1);
}

/* "00" .. "ff": a byte's two hex digits at once. */
static const char line_hex_pairs[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
	"303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
	"909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static void line_hex(struct line_out *o, const char *name, size_t n, const uint8_t *b, size_t len)
{
	char hex[2 * LEDGER_HASH_LEN];
	for (size_t i = 0; i < len; i++)
		memcpy(hex + 2 * i, line_hex_pairs + 2 * b[i], 2);
	line_text(o, name, n, hex, 2 * len);
}

/* The JSON key before a number or a string, made at compile time. */
#define LINE_NUMBER_KEY(name) "\"" name "\":"
#define LINE_STRING_KEY(name) "\"" name "\":\""
#define LINE_U64(o, name, v) line_u64(o, LINE_NUMBER_KEY(name), sizeof(LINE_NUMBER_KEY(name)) - 1, v)
#define LINE_TEXT(o, name, t, len) line_text(o, LINE_STRING_KEY(name), sizeof(LINE_STRING_KEY(name)) - 1, t, len)
#define LINE_HEX(o, name, b, len) line_hex(o, LINE_STRING_KEY(name), sizeof(LINE_STRING_KEY(name)) - 1, b, len)

/*
 * The WIB text of a millisecond: entries come a few thousand to the
 * millisecond, so the last one is kept (per thread: the verifier and a
 * server's export may run at once).
 */
static int line_time(uint64_t ts, const char **text, size_t *len)
{
	static _Thread_local struct {
		int64_t ms;
		size_t len;
		char text[CLOCK_TIME_MAX];
	} last = { -1, 0, "" };
	int64_t ms = (int64_t)(ts / 1000000u);
	if (ms != last.ms) {
		if (clock_format_wib(ms, last.text, sizeof(last.text)) != 0)
			return LEDGER_EINVAL;
		last.ms = ms;
		last.len = strlen(last.text);
	}
	*text = last.text;
	*len = last.len;
	return LEDGER_OK;
}

/* One entry as a JSON object or a CSV record: the same fields in the same order. */
static int export_line(const struct ledger_entry *e, bool json, char *out, size_t cap, size_t *len)
{
	const struct ledger_transfer *t = &e->t;
	struct line_out o = { out, out + cap - 1, json, true };
	const char *reason = ledger_code_name(t->code) ? ledger_code_name(t->code) : "";
	const char *time;
	size_t time_len;

	if (cap == 0 || line_time(t->timestamp, &time, &time_len) != LEDGER_OK)
		return LEDGER_EINVAL;
	if (json)
		line_put(&o, "{", 1);
	LINE_U64(&o, "seq", t->seq);
	LINE_U64(&o, "timestamp", t->timestamp);
	LINE_TEXT(&o, "time", time, time_len);
	LINE_HEX(&o, "id", t->id.b, sizeof(t->id.b));
	LINE_HEX(&o, "debit_account_id", t->debit_account_id.b, sizeof(t->debit_account_id.b));
	LINE_HEX(&o, "credit_account_id", t->credit_account_id.b, sizeof(t->credit_account_id.b));
	LINE_U64(&o, "amount", (uint64_t)t->amount);
	LINE_HEX(&o, "pending_id", t->pending_id.b, sizeof(t->pending_id.b));
	LINE_HEX(&o, "user_data_128", t->user_data_128.b, sizeof(t->user_data_128.b));
	LINE_U64(&o, "user_data_64", t->user_data_64);
	LINE_U64(&o, "user_data_32", t->user_data_32);
	LINE_U64(&o, "timeout", t->timeout);
	LINE_U64(&o, "ledger", t->ledger);
	LINE_U64(&o, "code", t->code);
	LINE_TEXT(&o, "reason", reason, strlen(reason));
	LINE_U64(&o, "flags", t->flags);
	LINE_U64(&o, "debit_prev_seq", e->debit_prev_seq);
	LINE_U64(&o, "credit_prev_seq", e->credit_prev_seq);
	LINE_HEX(&o, "hash", e->hash, LEDGER_HASH_LEN);
	/* No CSV field can hold a comma, a quote or a line break, so none needs RFC 4180 quotes. */
	line_put(&o, json ? "}\n" : "\r\n", 2);
	if (o.p > o.end)
		return LEDGER_EINVAL;
	*o.p = '\0';
	*len = (size_t)(o.p - out);
	return LEDGER_OK;
}

int ledger_export_jsonl_line(const struct ledger_entry *e, char *out, size_t cap, size_t *len)
{
	return export_line(e, true, out, cap, len);
}

int ledger_export_csv_line(const struct ledger_entry *e, char *out, size_t cap, size_t *len)
{
	return export_line(e, false, out, cap, len);
}

/* --- files --- */

int ledger_export_map(const char *path, struct ledger_export_map *m)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = STORE_EIO;

	m->data = NULL;
	m->len = 0;
	if (fd < 0)
		return errno == ENOENT ? STORE_ENOTFOUND : STORE_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > SIZE_MAX)
		goto close_fd;
	if (st.st_size > 0) {
		/* Read whole, once or twice, front to back: fault it in at once. */
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (p == MAP_FAILED)
			goto close_fd;
		m->data = p;
		m->len = (size_t)st.st_size;
	}
	rc = LEDGER_OK;
close_fd:
	close(fd);
	return rc;
}

void ledger_export_unmap(struct ledger_export_map *m)
{
	if (m->data)
		munmap((void *)(uintptr_t)m->data, m->len);
	m->data = NULL;
	m->len = 0;
}
