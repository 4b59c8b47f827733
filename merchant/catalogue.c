#include "catalogue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define CAT_CURSOR_VERSION 1
#define CAT_SCOPE_MAX (1 + CATALOGUE_CATEGORY_MAX + 1)   /* 'C' category NUL is the longest */
#define CAT_KEY_MAX (CAT_SCOPE_MAX + 1 + CATALOGUE_SUFFIX_MAX)
#define CAT_VALUE_MAX (8 + 8 + CATALOGUE_NAMEKEY + 1 + CATALOGUE_CATEGORY_MAX)
#define CAT_TOKEN_KEY_MAX (CATALOGUE_TOKEN_MAX + 1 + 8)
#define CAT_PRICE_DIGITS 19                              /* INT64_MAX */
#define CAT_FNV_BASIS 0xcbf29ce484222325ull              /* FNV-1a 64's offset basis */

static const char cat_version_key[] = "version";

struct catalogue {
	struct store *store;
	MDB_dbi sort, tokens, words, categories, meta;
};

/* The sort indexes each listed product is in. */
static const uint8_t cat_sorts[] = { 'N', 'P', 'T' };

/* What a sort or token index value says of a product, for filtering without the record. */
struct cat_value {
	uint64_t merchant_id;
	int64_t price;
	const uint8_t *name_key;   /* token index only */
	const char *category;      /* not NUL-terminated */
	size_t category_len;
};

/* One search hit: the product's position in the requested order. */
struct cat_hit {
	uint8_t suffix[CATALOGUE_SUFFIX_MAX];
	uint64_t id;
};

void catalogue_put_u64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

uint64_t catalogue_get_u64(const uint8_t in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

static bool cat_word_byte(unsigned char ch)
{
	return ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static unsigned char cat_fold(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

void catalogue_tokenize(const char *text, char (*toks)[CATALOGUE_TOKEN_MAX + 1], size_t max, size_t *n)
{
	const unsigned char *s = (const unsigned char *)text;
	while (*s) {
		char word[CATALOGUE_TOKEN_MAX + 1];
		size_t len = 0, i;
		while (*s && !cat_word_byte(*s))
			s++;
		if (!*s)
			break;
		for (; *s && cat_word_byte(*s); s++)
			if (len < CATALOGUE_TOKEN_MAX)
				word[len++] = (char)cat_fold(*s);
		/* A cut word ends on a character boundary: drop a partial UTF-8 sequence. */
		if (len == CATALOGUE_TOKEN_MAX && ((unsigned char)word[len - 1] & 0x80)) {
			size_t lead = len;
			while (lead > 0 && ((unsigned char)word[lead - 1] & 0xc0) == 0x80)
				lead--;
			if (lead > 0 && ((unsigned char)word[lead - 1] & 0xc0) == 0xc0) {
				unsigned char b = (unsigned char)word[lead - 1];
				size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
				if (len - (lead - 1) < need)
					len = lead - 1;
			}
		}
		word[len] = '\0';
		if (len == 0)
			continue;
		for (i = 0; i < *n && strcmp(toks[i], word) != 0; i++)
			;
		if (i == *n && *n < max)
			memcpy(toks[(*n)++], word, len + 1);
	}
}

void catalogue_name_key(const char *title, uint8_t out[CATALOGUE_NAMEKEY])
{
	size_t i = 0;
	for (; title[i] && i < CATALOGUE_NAMEKEY; i++)
		out[i] = cat_fold((unsigned char)title[i]);
	memset(out + i, 0, CATALOGUE_NAMEKEY - i);
}

bool catalogue_category_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return false;
	return n >= 1 && n <= CATALOGUE_CATEGORY_MAX;
}

int catalogue_open(struct store *store, struct catalogue **out)
{
	struct catalogue *c = calloc(1, sizeof(*c));
	int rc;
	if (!c)
		return STORE_ENOMEM;
	c->store = store;
	if ((rc = store_dbi_open(store, "catalogue_sort", 0, &c->sort)) != STORE_OK ||
	    (rc = store_dbi_open(store, "catalogue_tokens", 0, &c->tokens)) != STORE_OK ||
	    (rc = store_dbi_open(store, "catalogue_words", 0, &c->words)) != STORE_OK ||
	    (rc = store_dbi_open(store, "catalogue_categories", 0, &c->categories)) != STORE_OK ||
	    (rc = store_dbi_open(store, "catalogue_meta", 0, &c->meta)) != STORE_OK) {
		free(c);
		return rc;
	}
	*out = c;
	return STORE_OK;
}

void catalogue_free(struct catalogue *c)
{
	free(c);
}

/* --- keys and values --- */

/* Writes scope `kind` ('A', 'C', 'S') of a product or query. Returns its length. */
static size_t cat_scope(uint8_t *out, uint8_t kind, const char *category, uint64_t merchant_id)
{
	size_t n = 0;
	out[n++] = kind;
	if (kind == 'C') {
		size_t len = strlen(category);
		memcpy(out + n, category, len);
		n += len;
		out[n++] = 0;
	} else if (kind == 'S') {
		catalogue_put_u64(out + n, merchant_id);
		n += 8;
	}
	return n;
}

static size_t cat_suffix_len(uint8_t sort_index)
{
	return sort_index == 'N' ? 8 : sort_index == 'P' ? 16 : CATALOGUE_NAMEKEY + 8;
}

/* Writes a product's sort value and id for one sort index. Returns the length. */
static size_t cat_suffix(uint8_t *out, uint8_t sort_index, uint64_t id, int64_t price, const uint8_t *name_key)
{
	size_t n = 0;
	if (sort_index == 'P') {
		catalogue_put_u64(out, (uint64_t)price);
		n = 8;
	} else if (sort_index == 'T') {
		memcpy(out, name_key, CATALOGUE_NAMEKEY);
		n = CATALOGUE_NAMEKEY;
	}
	catalogue_put_u64(out + n, id);
	return n + 8;
}

/* merchant 8 | price 8 | [name key] | category length 1 | category. Returns the length. */
static size_t cat_value(uint8_t *out, const struct catalogue_entry *e, const uint8_t *name_key)
{
	size_t n = 16, clen = strlen(e->category);
	catalogue_put_u64(out, e->merchant_id);
	catalogue_put_u64(out + 8, (uint64_t)e->price);
	if (name_key) {
		memcpy(out + n, name_key, CATALOGUE_NAMEKEY);
		n += CATALOGUE_NAMEKEY;
	}
	out[n++] = (uint8_t)clen;
	memcpy(out + n, e->category, clen);
	return n + clen;
}

/* Reads a value written by cat_value. Returns 0 or STORE_ECORRUPT. */
static int cat_value_read(const MDB_val *v, bool has_name_key, struct cat_value *out)
{
	const uint8_t *p = v->mv_data;
	size_t n = 16 + (has_name_key ? CATALOGUE_NAMEKEY : 0);
	if (v->mv_size < n + 1 || v->mv_size != n + 1 + p[n])
		return STORE_ECORRUPT;
	out->merchant_id = catalogue_get_u64(p);
	out->price = (int64_t)catalogue_get_u64(p + 8);
	out->name_key = has_name_key ? p + 16 : NULL;
	out->category_len = p[n];
	out->category = (const char *)p + n + 1;
	return STORE_OK;
}

static int cat_count_category(struct catalogue *c, MDB_txn *txn, const char *category, int64_t delta)
{
	MDB_val k = { strlen(category), (void *)category }, v;
	uint8_t buf[8];
	uint64_t count = 0;
	int rc = mdb_get(txn, c->categories, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		count = catalogue_get_u64(v.mv_data);
	else if (rc != MDB_NOTFOUND)
		return rc ? store_status_from_mdb(rc) : STORE_ECORRUPT;
	count = delta < 0 && count == 0 ? 0 : count + (uint64_t)delta;
	if (count == 0) {
		rc = mdb_del(txn, c->categories, &k, NULL);
		return rc == MDB_NOTFOUND ? STORE_OK : store_status_from_mdb(rc);
	}
	catalogue_put_u64(buf, count);
	v.mv_size = 8;
	v.mv_data = buf;
	return store_status_from_mdb(mdb_put(txn, c->categories, &k, &v, 0));
}

/* Puts (add) or deletes every sort index entry of e. */
static int cat_sort_entries(struct catalogue *c, MDB_txn *txn, const struct catalogue_entry *e, bool add)
{
	static const uint8_t scopes[] = { 'A', 'C', 'S' };
	uint8_t key[CAT_KEY_MAX], value[CAT_VALUE_MAX], name_key[CATALOGUE_NAMEKEY];
	MDB_val k, v = { cat_value(value, e, NULL), value };
	int rc = 0;
	catalogue_name_key(e->title, name_key);
	for (size_t s = 0; s < sizeof(scopes) && rc == 0; s++) {
		size_t n = cat_scope(key, scopes[s], e->category, e->merchant_id);
		for (size_t i = 0; i < sizeof(cat_sorts) && rc == 0; i++) {
			key[n] = cat_sorts[i];
			k.mv_size = n + 1 + cat_suffix(key + n + 1, cat_sorts[i], e->id, e->price, name_key);
			k.mv_data = key;
			rc = add ? mdb_put(txn, c->sort, &k, &v, 0) : mdb_del(txn, c->sort, &k, NULL);
			if (rc == MDB_NOTFOUND && !add)
				rc = 0;
		}
	}
	return store_status_from_mdb(rc);
}

/* [token][NUL][id 8]. Returns the length. */
static size_t cat_token_key(uint8_t *out, const char *token, size_t len, uint64_t id)
{
	memcpy(out, token, len);
	out[len] = 0;
	catalogue_put_u64(out + len + 1, id);
	return len + 9;
}

int catalogue_add(struct catalogue *c, MDB_txn *txn, const struct catalogue_entry *e)
{
	char toks[CATALOGUE_TOKENS_MAX][CATALOGUE_TOKEN_MAX + 1];
	uint8_t tkey[CAT_TOKEN_KEY_MAX], wkey[8 + CATALOGUE_TOKEN_MAX], value[CAT_VALUE_MAX];
	uint8_t name_key[CATALOGUE_NAMEKEY];
	MDB_val k, v, empty = { 0, NULL };
	size_t ntoks = 0;
	int rc;

	if ((rc = cat_sort_entries(c, txn, e, true)) != STORE_OK)
		return rc;
	catalogue_name_key(e->title, name_key);
	v.mv_size = cat_value(value, e, name_key);
	v.mv_data = value;
	catalogue_tokenize(e->title, toks, CATALOGUE_TOKENS_MAX, &ntoks);
	catalogue_tokenize(e->description, toks, CATALOGUE_TOKENS_MAX, &ntoks);
	catalogue_put_u64(wkey, e->id);
	for (size_t i = 0; i < ntoks; i++) {
		size_t len = strlen(toks[i]);
		k.mv_size = cat_token_key(tkey, toks[i], len, e->id);
		k.mv_data = tkey;
		if ((rc = mdb_put(txn, c->tokens, &k, &v, 0)) != 0)
			return store_status_from_mdb(rc);
		memcpy(wkey + 8, toks[i], len);
		k.mv_size = 8 + len;
		k.mv_data = wkey;
		if ((rc = mdb_put(txn, c->words, &k, &empty, 0)) != 0)
			return store_status_from_mdb(rc);
	}
	return cat_count_category(c, txn, e->category, 1);
}

int catalogue_remove(struct catalogue *c, MDB_txn *txn, const struct catalogue_entry *e)
{
	uint8_t id8[8], tkey[CAT_TOKEN_KEY_MAX];
	MDB_cursor *cur;
	MDB_val k = { 8, id8 }, v;
	int rc;

	if ((rc = cat_sort_entries(c, txn, e, false)) != STORE_OK)
		return rc;
	catalogue_put_u64(id8, e->id);
	if ((rc = mdb_cursor_open(txn, c->words, &cur)) != 0)
		return store_status_from_mdb(rc);
	/* The product's words say which token entries are its own. */
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > 8 && k.mv_size <= 8 + CATALOGUE_TOKEN_MAX && memcmp(k.mv_data, id8, 8) == 0) {
		MDB_val tk;
		tk.mv_size = cat_token_key(tkey, (const char *)k.mv_data + 8, k.mv_size - 8, e->id);
		tk.mv_data = tkey;
		rc = mdb_del(txn, c->tokens, &tk, NULL);
		if (rc == 0 || rc == MDB_NOTFOUND)
			rc = mdb_cursor_del(cur, 0);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
		if (rc == EINVAL)   /* deleted the last entry of the DBI */
			rc = MDB_NOTFOUND;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND && rc != 0)
		return store_status_from_mdb(rc);
	return cat_count_category(c, txn, e->category, -1);
}

int catalogue_bump(struct catalogue *c, MDB_txn *txn)
{
	uint64_t version;
	uint8_t buf[8];
	MDB_val k = { sizeof(cat_version_key) - 1, (void *)cat_version_key }, v = { 8, buf };
	int rc = catalogue_version(c, txn, &version);
	if (rc != STORE_OK)
		return rc;
	catalogue_put_u64(buf, version + 1);
	return store_status_from_mdb(mdb_put(txn, c->meta, &k, &v, 0));
}

int catalogue_version(struct catalogue *c, MDB_txn *txn, uint64_t *out)
{
	MDB_val k = { sizeof(cat_version_key) - 1, (void *)cat_version_key }, v;
	int rc = mdb_get(txn, c->meta, &k, &v);
	*out = 0;
	if (rc == MDB_NOTFOUND)
		return STORE_OK;
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (v.mv_size != 8)
		return STORE_ECORRUPT;
	*out = catalogue_get_u64(v.mv_data);
	return STORE_OK;
}

/* --- queries --- */

static uint8_t cat_sort_index(enum catalogue_sort s)
{
	return s == CATALOGUE_NEWEST ? 'N' : s == CATALOGUE_NAME ? 'T' : 'P';
}

static bool cat_sort_desc(enum catalogue_sort s)
{
	return s == CATALOGUE_NEWEST || s == CATALOGUE_PRICE_DESC;
}

static uint64_t cat_fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

uint64_t catalogue_query_hash(const struct catalogue_query *q, bool with_page)
{
	uint8_t num[8 * 4 + 1];
	uint64_t h = CAT_FNV_BASIS;
	for (size_t i = 0; i < q->nwords; i++)
		h = cat_fnv(h, q->words[i], strlen(q->words[i]) + 1);
	h = cat_fnv(h, q->category, strlen(q->category) + 1);
	catalogue_put_u64(num, q->merchant_id);
	catalogue_put_u64(num + 8, (uint64_t)q->min_price);
	catalogue_put_u64(num + 16, (uint64_t)q->max_price);
	catalogue_put_u64(num + 24, q->limit);
	num[32] = (uint8_t)q->sort;
	h = cat_fnv(h, num, 24);
	h = cat_fnv(h, num + 32, 1);
	if (with_page) {
		h = cat_fnv(h, num + 24, 8);
		h = cat_fnv(h, &q->has_cursor, 1);
		h = cat_fnv(h, q->after, q->after_len);
	}
	return h;
}

static const char cat_hex[] = "0123456789abcdef";

static void cat_cursor_encode(const struct catalogue_query *q, const uint8_t *suffix, char *out)
{
	uint8_t raw[1 + 4 + CATALOGUE_SUFFIX_MAX];
	size_t slen = cat_suffix_len(cat_sort_index(q->sort)), n = 0;
	uint32_t h = (uint32_t)catalogue_query_hash(q, false);
	raw[n++] = CAT_CURSOR_VERSION;
	for (int i = 3; i >= 0; i--)
		raw[n++] = (uint8_t)(h >> (8 * i));
	memcpy(raw + n, suffix, slen);
	n += slen;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = cat_hex[raw[i] >> 4];
		out[2 * i + 1] = cat_hex[raw[i] & 15];
	}
	out[2 * n] = '\0';
}

static int cat_hex_digit(char ch)
{
	const char *p = ch ? strchr(cat_hex, ch) : NULL;
	return p ? (int)(p - cat_hex) : -1;
}

/* Reads a cursor of q's query (q's other fields already set). Returns 0 or -1. */
static int cat_cursor_decode(const char *text, struct catalogue_query *q)
{
	uint8_t raw[1 + 4 + CATALOGUE_SUFFIX_MAX];
	size_t len = strlen(text), n = len / 2, slen = cat_suffix_len(cat_sort_index(q->sort));
	uint32_t h = (uint32_t)catalogue_query_hash(q, false), got = 0;
	if (len % 2 || n != 1 + 4 + slen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = cat_hex_digit(text[2 * i]), lo = cat_hex_digit(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	for (size_t i = 1; i < 5; i++)
		got = got << 8 | raw[i];
	if (raw[0] != CAT_CURSOR_VERSION || got != h)
		return -1;
	memcpy(q->after, raw + 5, slen);
	q->after_len = slen;
	q->has_cursor = true;
	return 0;
}

/* A whole number of 1..19 digits without sign or leading zero, within [min, max]. Returns 0 or -1. */
static int cat_parse_int(const char *text, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = 0;
	size_t n = strlen(text);
	if (n == 0 || n > CAT_PRICE_DIGITS || (text[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d = text[i] - '0';
		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int catalogue_query_parse(const struct catalogue_params *p, struct catalogue_query *q, const char **bad_field)
{
	static const char *const sorts[] = { "newest", "price_asc", "price_desc", "name" };
	int64_t v;
	memset(q, 0, sizeof(*q));
	q->max_price = INT64_MAX;
	q->limit = CATALOGUE_LIMIT_DEFAULT;
	if (p->q) {
		char toks[CATALOGUE_WORDS_MAX + 1][CATALOGUE_TOKEN_MAX + 1];
		size_t n = 0;
		*bad_field = "q";
		if (strlen(p->q) > CATALOGUE_Q_MAX)
			return -1;
		catalogue_tokenize(p->q, toks, CATALOGUE_WORDS_MAX + 1, &n);
		if (n > CATALOGUE_WORDS_MAX)
			return -1;
		memcpy(q->words, toks, n * sizeof(toks[0]));
		q->nwords = n;
	}
	*bad_field = "category";
	if (p->category) {
		if (!catalogue_category_ok(p->category))
			return -1;
		strcpy(q->category, p->category);
	}
	*bad_field = "merchant_id";
	if (p->merchant_id) {
		if (cat_parse_int(p->merchant_id, 1, INT64_MAX, &v) != 0)
			return -1;
		q->merchant_id = (uint64_t)v;
	}
	*bad_field = "min_price";
	if (p->min_price && cat_parse_int(p->min_price, 0, INT64_MAX, &q->min_price) != 0)
		return -1;
	*bad_field = "max_price";
	if (p->max_price && (cat_parse_int(p->max_price, 0, INT64_MAX, &q->max_price) != 0 ||
			     q->max_price < q->min_price))
		return -1;
	*bad_field = "sort";
	if (p->sort) {
		size_t i = 0;
		while (i < 4 && strcmp(p->sort, sorts[i]) != 0)
			i++;
		if (i == 4)
			return -1;
		q->sort = (enum catalogue_sort)i;
	}
	*bad_field = "limit";
	if (p->limit) {
		if (cat_parse_int(p->limit, 1, CATALOGUE_LIMIT_MAX, &v) != 0)
			return -1;
		q->limit = (unsigned)v;
	}
	*bad_field = "cursor";
	if (p->cursor && cat_cursor_decode(p->cursor, q) != 0)
		return -1;
	*bad_field = NULL;
	return 0;
}

/* True when a product with value x passes the query's filters. */
static bool cat_filter(const struct catalogue_query *q, const struct cat_value *x)
{
	return (!q->merchant_id || x->merchant_id == q->merchant_id) && x->price >= q->min_price &&
	       x->price <= q->max_price &&
	       (!q->category[0] || (x->category_len == strlen(q->category) &&
				    memcmp(x->category, q->category, x->category_len) == 0));
}

/* True when suffix a comes before b in the query's order. */
static bool cat_before(const struct catalogue_query *q, const uint8_t *a, const uint8_t *b, size_t len)
{
	int cmp = memcmp(a, b, len);
	return cat_sort_desc(q->sort) ? cmp > 0 : cmp < 0;
}

/*
 * Places cur on the first entry after position pos (exclusive) in the
 * direction of the query's order. Returns 0 or an LMDB code.
 */
static int cat_seek_after(MDB_cursor *cur, bool desc, const uint8_t *pos, size_t len, MDB_val *k, MDB_val *v)
{
	int rc;
	k->mv_size = len;
	k->mv_data = (void *)pos;
	rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (desc)
		return mdb_cursor_get(cur, k, v, rc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
	if (rc == 0 && k->mv_size == len && memcmp(k->mv_data, pos, len) == 0)
		rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
	return rc;
}

/* True when product id has a token that starts with word (its words, in order, make one seek enough). */
static bool cat_has_word(MDB_cursor *words, uint64_t id, const char *word)
{
	uint8_t key[8 + CATALOGUE_TOKEN_MAX];
	size_t len = strlen(word);
	MDB_val k = { 8 + len, key }, v;
	catalogue_put_u64(key, id);
	memcpy(key + 8, word, len);
	return mdb_cursor_get(words, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size >= 8 + len &&
	       memcmp(k.mv_data, key, 8 + len) == 0;
}

/* True when product id has a token starting with each of q's words but words[skip] (CATALOGUE_WORDS_MAX: none). */
static bool cat_has_words(MDB_cursor *words, uint64_t id, const struct catalogue_query *q, size_t skip)
{
	for (size_t i = 0; i < q->nwords; i++)
		if (i != skip && !cat_has_word(words, id, q->words[i]))
			return false;
	return true;
}

/*
 * Walks the narrowest sort index in order from the cursor, at most
 * CATALOGUE_SCAN_MAX entries: a listing, or a search whose words are too
 * common for the token index (each entry that passes the filters is then
 * checked against every word in catalogue_words, one seek a word).
 */
static int cat_find_sorted(struct catalogue *c, MDB_txn *txn, const struct catalogue_query *q,
			   struct catalogue_page *page)
{
	uint8_t pos[CAT_KEY_MAX], last[CATALOGUE_SUFFIX_MAX];
	uint8_t sort_index = cat_sort_index(q->sort);
	bool desc = cat_sort_desc(q->sort);
	size_t plen, slen = cat_suffix_len(sort_index), scanned = 0;
	MDB_cursor *cur = NULL, *words = NULL;
	MDB_val k, v;
	int rc;

	plen = cat_scope(pos, q->merchant_id ? 'S' : q->category[0] ? 'C' : 'A', q->category, q->merchant_id);
	pos[plen++] = sort_index;
	if (q->has_cursor)
		memcpy(pos + plen, q->after, slen);
	else if (q->sort == CATALOGUE_PRICE_ASC)
		cat_suffix(pos + plen, 'P', 0, q->min_price, NULL);
	else if (q->sort == CATALOGUE_PRICE_DESC)
		cat_suffix(pos + plen, 'P', UINT64_MAX, q->max_price, NULL);
	else
		memset(pos + plen, desc ? 0xff : 0, slen);
	if ((rc = mdb_cursor_open(txn, c->sort, &cur)) != 0)
		goto close_cursors;
	if (q->nwords && (rc = mdb_cursor_open(txn, c->words, &words)) != 0)
		goto close_cursors;
	rc = cat_seek_after(cur, desc, pos, plen + slen, &k, &v);
	while (rc == 0 && k.mv_size == plen + slen && memcmp(k.mv_data, pos, plen) == 0) {
		const uint8_t *suffix = (const uint8_t *)k.mv_data + plen;
		struct cat_value x;
		uint64_t id;
		if (scanned++ == CATALOGUE_SCAN_MAX) {
			/* The bound: a short page, and the next one starts where this scan stopped. */
			cat_cursor_encode(q, last, page->next_cursor);
			break;
		}
		if ((rc = cat_value_read(&v, false, &x)) != STORE_OK)
			break;
		if ((q->sort == CATALOGUE_PRICE_ASC && x.price > q->max_price) ||
		    (q->sort == CATALOGUE_PRICE_DESC && x.price < q->min_price))
			break;
		id = catalogue_get_u64(suffix + slen - 8);
		if (cat_filter(q, &x) && (!words || cat_has_words(words, id, q, CATALOGUE_WORDS_MAX))) {
			if (page->n == q->limit) {
				cat_cursor_encode(q, last, page->next_cursor);
				break;
			}
			page->ids[page->n++] = id;
		}
		memcpy(last, suffix, slen);
		rc = mdb_cursor_get(cur, &k, &v, desc ? MDB_PREV : MDB_NEXT);
	}
close_cursors:
	if (words)
		mdb_cursor_close(words);
	if (cur)
		mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? STORE_OK : store_status_from_mdb(rc);
}

/* True when hits[0..n) holds id. */
static bool cat_hits_have(const struct cat_hit *hits, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (hits[i].id == id)
			return true;
	return false;
}

/*
 * Inserts a hit into hits (n of cap kept, in the query's order), dropping
 * the last one when full.
 */
static void cat_hits_insert(const struct catalogue_query *q, struct cat_hit *hits, size_t *n, size_t cap,
			    const struct cat_hit *h, size_t slen)
{
	size_t at = *n;
	while (at > 0 && cat_before(q, h->suffix, hits[at - 1].suffix, slen))
		at--;
	if (at == cap)
		return;
	if (*n == cap)
		(*n)--;
	memmove(hits + at + 1, hits + at, (*n - at) * sizeof(*hits));
	hits[at] = *h;
	(*n)++;
}

/*
 * A keyword search by the token index: reads the prefix range of the
 * longest word, keeps the best limit + 1 hits after the cursor that pass
 * the filters and have the other words too. A range of more than
 * CATALOGUE_TOKEN_SCAN_MAX entries is not read to its end: *broad is set
 * and the page is left to cat_find_sorted, since the best hits may lie
 * beyond any bound of this range (it is in id order, not the query's).
 */
static int cat_find_words(struct catalogue *c, MDB_txn *txn, const struct catalogue_query *q,
			  struct catalogue_page *page, bool *broad)
{
	struct cat_hit hits[CATALOGUE_LIMIT_MAX + 1];
	uint8_t sort_index = cat_sort_index(q->sort);
	size_t slen = cat_suffix_len(sort_index), nhits = 0, cap = q->limit + 1, driver = 0, dlen, scanned = 0;
	MDB_cursor *tokens = NULL, *words = NULL;
	MDB_val k, v;
	int rc;

	for (size_t i = 1; i < q->nwords; i++)
		if (strlen(q->words[i]) > strlen(q->words[driver]))
			driver = i;
	dlen = strlen(q->words[driver]);
	if ((rc = mdb_cursor_open(txn, c->tokens, &tokens)) != 0)
		goto close_cursors;
	if ((rc = mdb_cursor_open(txn, c->words, &words)) != 0)
		goto close_cursors;
	k.mv_size = dlen;
	k.mv_data = (void *)q->words[driver];
	rc = mdb_cursor_get(tokens, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > dlen + 8 && memcmp(k.mv_data, q->words[driver], dlen) == 0) {
		const uint8_t *key = k.mv_data;
		struct cat_value x;
		struct cat_hit h;
		if (scanned++ == CATALOGUE_TOKEN_SCAN_MAX) {
			*broad = true;
			goto close_cursors;
		}
		if ((rc = cat_value_read(&v, true, &x)) != STORE_OK)
			goto close_cursors;
		h.id = catalogue_get_u64(key + k.mv_size - 8);
		cat_suffix(h.suffix, sort_index, h.id, x.price, x.name_key);
		if (cat_filter(q, &x) && (!q->has_cursor || cat_before(q, q->after, h.suffix, slen)) &&
		    (nhits < cap || cat_before(q, h.suffix, hits[nhits - 1].suffix, slen)) &&
		    !cat_hits_have(hits, nhits, h.id) && cat_has_words(words, h.id, q, driver))
			cat_hits_insert(q, hits, &nhits, cap, &h, slen);
		rc = mdb_cursor_get(tokens, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND || rc == 0)
		rc = STORE_OK;
	for (size_t i = 0; i < nhits && i < q->limit; i++)
		page->ids[page->n++] = hits[i].id;
	if (nhits > q->limit)
		cat_cursor_encode(q, hits[q->limit - 1].suffix, page->next_cursor);
close_cursors:
	if (words)
		mdb_cursor_close(words);
	if (tokens)
		mdb_cursor_close(tokens);
	return store_status_from_mdb(rc);
}

int catalogue_find(struct catalogue *c, MDB_txn *txn, const struct catalogue_query *q,
		   struct catalogue_page *page)
{
	bool broad = false;
	int rc;
	memset(page, 0, sizeof(*page));
	if (q->nwords && ((rc = cat_find_words(c, txn, q, page, &broad)) != STORE_OK || !broad))
		return rc;
	return cat_find_sorted(c, txn, q, page);
}

int catalogue_categories(struct catalogue *c, MDB_txn *txn, catalogue_category_fn fn, void *ctx)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc = mdb_cursor_open(txn, c->categories, &cur);
	if (rc != 0)
		return store_status_from_mdb(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	for (; rc == 0 && n < CATALOGUE_CATEGORIES_MAX; n++) {
		char name[CATALOGUE_CATEGORY_MAX + 1];
		if (k.mv_size > CATALOGUE_CATEGORY_MAX || v.mv_size != 8) {
			rc = STORE_ECORRUPT;
			break;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		fn(name, catalogue_get_u64(v.mv_data), ctx);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? STORE_OK : store_status_from_mdb(rc);
}

/* --- the rendered-page cache --- */

struct cat_page {
	uint64_t used;                         /* the cache's clock at the last hit, for LRU */
	size_t key_len, len;
	uint8_t key[CATALOGUE_QUERY_KEY_MAX];
	char *body;
};

struct catalogue_cache {
	size_t cap, bytes_max, n, bytes;
	uint64_t version, clock;
	uint64_t *hashes;                      /* of pages[i]'s key, scanned first */
	struct cat_page *pages;
};

/* Writes q's canonical bytes (every field that selects, orders or pages). Returns the length. */
static size_t cat_query_key(const struct catalogue_query *q, uint8_t out[CATALOGUE_QUERY_KEY_MAX])
{
	size_t n = 0, len;
	out[n++] = (uint8_t)q->nwords;
	for (size_t i = 0; i < q->nwords; i++) {
		len = strlen(q->words[i]) + 1;
		memcpy(out + n, q->words[i], len);
		n += len;
	}
	len = strlen(q->category) + 1;
	memcpy(out + n, q->category, len);
	n += len;
	catalogue_put_u64(out + n, q->merchant_id);
	catalogue_put_u64(out + n + 8, (uint64_t)q->min_price);
	catalogue_put_u64(out + n + 16, (uint64_t)q->max_price);
	n += 24;
	out[n++] = (uint8_t)q->sort;
	out[n++] = (uint8_t)q->limit;
	out[n++] = q->has_cursor;
	out[n++] = (uint8_t)q->after_len;
	memcpy(out + n, q->after, q->after_len);
	return n + q->after_len;
}

int catalogue_cache_new(size_t entries, size_t bytes, struct catalogue_cache **out)
{
	struct catalogue_cache *cc;
	if (entries == 0 || bytes == 0)
		return STORE_EINVAL;
	cc = calloc(1, sizeof(*cc));
	if (cc) {
		cc->hashes = calloc(entries, sizeof(*cc->hashes));
		cc->pages = calloc(entries, sizeof(*cc->pages));
	}
	if (!cc || !cc->hashes || !cc->pages) {
		catalogue_cache_free(cc);
		return STORE_ENOMEM;
	}
	cc->cap = entries;
	cc->bytes_max = bytes;
	*out = cc;
	return STORE_OK;
}

static void cat_cache_drop(struct catalogue_cache *cc, size_t i)
{
	cc->bytes -= cc->pages[i].len;
	free(cc->pages[i].body);
	cc->n--;
	cc->pages[i] = cc->pages[cc->n];
	cc->hashes[i] = cc->hashes[cc->n];
}

/* Empties the cache when it holds pages of another counter. */
static void cat_cache_at(struct catalogue_cache *cc, uint64_t version)
{
	if (cc->version == version)
		return;
	while (cc->n)
		cat_cache_drop(cc, cc->n - 1);
	cc->version = version;
}

/* The index of the page with this key, or cc->n. */
static size_t cat_cache_find(const struct catalogue_cache *cc, uint64_t hash, const uint8_t *key, size_t len)
{
	size_t i = 0;
	for (; i < cc->n; i++)
		if (cc->hashes[i] == hash && cc->pages[i].key_len == len && memcmp(cc->pages[i].key, key, len) == 0)
			break;
	return i;
}

void catalogue_cache_free(struct catalogue_cache *cc)
{
	if (!cc)
		return;
	while (cc->n)
		cat_cache_drop(cc, cc->n - 1);
	free(cc->hashes);
	free(cc->pages);
	free(cc);
}

int catalogue_cache_get(struct catalogue_cache *cc, uint64_t version, const struct catalogue_query *q,
			const char **body, size_t *len)
{
	uint8_t key[CATALOGUE_QUERY_KEY_MAX];
	size_t klen = cat_query_key(q, key), i;
	cat_cache_at(cc, version);
	i = cat_cache_find(cc, cat_fnv(CAT_FNV_BASIS, key, klen), key, klen);
	if (i == cc->n)
		return STORE_ENOTFOUND;
	cc->pages[i].used = ++cc->clock;
	*body = cc->pages[i].body;
	*len = cc->pages[i].len;
	return STORE_OK;
}

int catalogue_cache_put(struct catalogue_cache *cc, uint64_t version, const struct catalogue_query *q,
			const char *body, size_t len)
{
	struct cat_page *p;
	uint8_t key[CATALOGUE_QUERY_KEY_MAX];
	size_t klen = cat_query_key(q, key), i;
	uint64_t hash = cat_fnv(CAT_FNV_BASIS, key, klen);
	char *copy;
	cat_cache_at(cc, version);
	if ((i = cat_cache_find(cc, hash, key, klen)) < cc->n)
		cat_cache_drop(cc, i);
	if (len > cc->bytes_max / CATALOGUE_CACHE_BODY_SHARE)
		return STORE_OK;
	if (!(copy = malloc(len ? len : 1)))
		return STORE_ENOMEM;
	memcpy(copy, body, len);
	while (cc->n == cc->cap || cc->bytes + len > cc->bytes_max) {
		size_t lru = 0;
		for (i = 1; i < cc->n; i++)
			if (cc->pages[i].used < cc->pages[lru].used)
				lru = i;
		cat_cache_drop(cc, lru);
	}
	p = &cc->pages[cc->n];
	p->used = ++cc->clock;
	p->key_len = klen;
	memcpy(p->key, key, klen);
	p->body = copy;
	p->len = len;
	cc->hashes[cc->n++] = hash;
	cc->bytes += len;
	return STORE_OK;
}

void catalogue_cache_usage(const struct catalogue_cache *cc, size_t *pages, size_t *bytes)
{
	*pages = cc->n;
	*bytes = cc->bytes;
}
