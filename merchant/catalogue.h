/*
 * catalogue: the indexes that list and search the products, kept in LMDB so
 * that no request scans the products themselves.
 *
 * Only *listed* products are indexed: active, of a store that sells
 * (verified). products.c adds a product with catalogue_add when it becomes
 * listed and removes it with catalogue_remove (given what was indexed) when
 * it stops being listed or before it is re-indexed after an edit.
 *
 * DBIs owned:
 *   catalogue_sort    [scope][sort][sort value][id 8] -> merchant 8 | price 8 | category
 *                     scope: 'A' (all), 'C' category NUL, 'S' merchant 8;
 *                     sort: 'N' (id, newest), 'P' (price 8), 'T' (name key, 24)
 *   catalogue_tokens  [token][NUL][id 8] -> merchant 8 | price 8 | name key 24 | category
 *   catalogue_words   [id 8][token] -> empty (a product's tokens: the AND of
 *                     several words, and what to remove)
 *   catalogue_categories  category -> count 8 (listed products)
 *   catalogue_meta    "version" -> 8: bumped by every write that changes products
 *
 * Text: words are runs of ASCII letters and digits and of bytes >= 0x80 (so
 * UTF-8 letters stay inside words); ASCII is folded to lower case; a word is
 * cut at CATALOGUE_TOKEN_MAX bytes on a UTF-8 boundary. A query word matches
 * every token it is a prefix of ("rend" finds "Rendang").
 *
 * Bounds per request: a listing reads at most CATALOGUE_SCAN_MAX sort index
 * entries (when they run out before the page fills, the page is short and
 * carries a next cursor). A keyword search first reads its longest word's
 * prefix range of the token index; when that range holds at most
 * CATALOGUE_TOKEN_SCAN_MAX entries it answers from them. Otherwise (a
 * common word: its matches are dense) it walks the sort index as a listing
 * does, at most CATALOGUE_SCAN_MAX entries, with one catalogue_words seek
 * per query word for each entry that passes the filters. So a search reads
 * at most CATALOGUE_TOKEN_SCAN_MAX + CATALOGUE_SCAN_MAX index entries and
 * CATALOGUE_SCAN_MAX * CATALOGUE_WORDS_MAX word seeks. Either way no
 * matching product is skipped and pages come in the query's order, though
 * a page on the walk may be short, even empty, with a next cursor; both
 * kinds of page carry the same cursor (a position in the sort order).
 */
#ifndef BANGSOLEH_CATALOGUE_H
#define BANGSOLEH_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

struct store;
struct catalogue;

#define CATALOGUE_TOKEN_MAX 32          /* bytes kept of one word */
#define CATALOGUE_TOKENS_MAX 128        /* distinct words indexed per product; later ones are not searchable */
#define CATALOGUE_CATEGORY_MAX 32
#define CATALOGUE_NAMEKEY 24            /* bytes of the folded title that order by name */
#define CATALOGUE_WORDS_MAX 8           /* words of one query */
#define CATALOGUE_Q_MAX 200             /* bytes of the query text */
#define CATALOGUE_SCAN_MAX 5000         /* index entries one listing reads */
#define CATALOGUE_TOKEN_SCAN_MAX 10000  /* token entries one search reads */
#define CATALOGUE_LIMIT_MAX 100
#define CATALOGUE_LIMIT_DEFAULT 20
#define CATALOGUE_SUFFIX_MAX (CATALOGUE_NAMEKEY + 8)
#define CATALOGUE_CURSOR_MAX (2 * (1 + 4 + CATALOGUE_SUFFIX_MAX) + 1)  /* hex, with the NUL */
#define CATALOGUE_CATEGORIES_MAX 1000   /* categories one answer lists */

enum catalogue_sort { CATALOGUE_NEWEST = 0, CATALOGUE_PRICE_ASC, CATALOGUE_PRICE_DESC, CATALOGUE_NAME };

/* What the indexes hold of one listed product. Strings are lent for the call. */
struct catalogue_entry {
	uint64_t id;
	uint64_t merchant_id;
	int64_t price;
	const char *category;      /* <= CATALOGUE_CATEGORY_MAX bytes, no NUL inside */
	const char *title;
	const char *description;
};

/* A parsed listing request. */
struct catalogue_query {
	char words[CATALOGUE_WORDS_MAX][CATALOGUE_TOKEN_MAX + 1];
	size_t nwords;
	char category[CATALOGUE_CATEGORY_MAX + 1];   /* "" when not filtered */
	uint64_t merchant_id;                        /* 0 when not filtered */
	int64_t min_price, max_price;                /* 0 and INT64_MAX when not given */
	enum catalogue_sort sort;
	unsigned limit;
	bool has_cursor;
	uint8_t after[CATALOGUE_SUFFIX_MAX];         /* the cursor: sort value and id */
	size_t after_len;
};

/* The raw query parameters (NULL when absent), lent for the call. */
struct catalogue_params {
	const char *q, *category, *merchant_id, *min_price, *max_price, *sort, *cursor, *limit;
};

/* One page of ids in order. */
struct catalogue_page {
	uint64_t ids[CATALOGUE_LIMIT_MAX];
	size_t n;
	char next_cursor[CATALOGUE_CURSOR_MAX];  /* "" on the last page */
};

/* Opens the DBIs (before store_start); store is lent. OUT: *out. Returns 0 or a STORE_* status. */
int catalogue_open(struct store *store, struct catalogue **out);
void catalogue_free(struct catalogue *c);

/* Indexes a listed product within a write txn. Returns 0 or a STORE_* status. */
int catalogue_add(struct catalogue *c, MDB_txn *txn, const struct catalogue_entry *e);
/* Removes what catalogue_add indexed for e (the same fields). Returns 0 or a STORE_* status. */
int catalogue_remove(struct catalogue *c, MDB_txn *txn, const struct catalogue_entry *e);
/* Counts one more change of the products. Returns 0 or a STORE_* status. */
int catalogue_bump(struct catalogue *c, MDB_txn *txn);
/* The change counter (0 before the first change). Returns 0 or a STORE_* status. */
int catalogue_version(struct catalogue *c, MDB_txn *txn, uint64_t *out);

/*
 * Parses and checks a listing request. OUT: *q. Returns 0, or -1 with
 * *bad_field naming the parameter that is wrong (a static string).
 */
int catalogue_query_parse(const struct catalogue_params *p, struct catalogue_query *q, const char **bad_field);

/*
 * A hash of what the query selects and orders (with_page: also its cursor
 * and limit). Cursors carry the first kind, so one query's cursor does not
 * page another; ETags use the second.
 */
uint64_t catalogue_query_hash(const struct catalogue_query *q, bool with_page);

/* Runs a query within txn. OUT: *page. Returns 0 or a STORE_* status. */
int catalogue_find(struct catalogue *c, MDB_txn *txn, const struct catalogue_query *q,
		   struct catalogue_page *page);

typedef void (*catalogue_category_fn)(const char *name, uint64_t count, void *ctx);
/* Calls fn for each category in use, by name, at most CATALOGUE_CATEGORIES_MAX. Returns 0 or a STORE_* status. */
int catalogue_categories(struct catalogue *c, MDB_txn *txn, catalogue_category_fn fn, void *ctx);

/*
 * Splits text into distinct folded tokens, appended to toks[*n..max-1]
 * (each CATALOGUE_TOKEN_MAX + 1 bytes); words that are already there or do
 * not fit are skipped. OUT: *n grows.
 */
void catalogue_tokenize(const char *text, char (*toks)[CATALOGUE_TOKEN_MAX + 1], size_t max, size_t *n);

/* The name key of a title: folded, cut to CATALOGUE_NAMEKEY bytes, zero-padded. */
void catalogue_name_key(const char *title, uint8_t out[CATALOGUE_NAMEKEY]);

/* Big-endian 8-byte keys (ids, prices), so that key order is number order. */
void catalogue_put_u64(uint8_t out[8], uint64_t v);
uint64_t catalogue_get_u64(const uint8_t in[8]);

/* True for a category name: 1..CATALOGUE_CATEGORY_MAX of [a-z0-9-]. */
bool catalogue_category_ok(const char *s);

/*
 * The rendered-page cache: reply bodies of public listings, keyed by the
 * catalogue's change counter and the whole parsed query (compared byte for
 * byte, so a hash collision never serves another query's page). Every
 * change a listing shows bumps the counter in the same commit, so a page is
 * valid exactly while the counter it was rendered at is the current one: a
 * look-up or a store at another counter first empties the cache.
 *
 * Bounds (given to catalogue_cache_new): at most `entries` pages and
 * `bytes` of bodies; a body over bytes / CATALOGUE_CACHE_BODY_SHARE is not
 * kept, so one page never flushes the rest; the least recently used page
 * makes room. A look-up scans the pages' hashes (2 KiB at 256 pages):
 * hits ran as fast as /healthz (docs/benchmarks.md), so no hash table.
 * Loop thread only: no locks.
 */
#define CATALOGUE_CACHE_ENTRIES 256
#define CATALOGUE_CACHE_BYTES ((size_t)16 << 20)
#define CATALOGUE_CACHE_BODY_SHARE 16
/* The canonical bytes of a query: word count, words and category NUL-ended, numbers, cursor. */
#define CATALOGUE_QUERY_KEY_MAX \
	(1 + CATALOGUE_WORDS_MAX * (CATALOGUE_TOKEN_MAX + 1) + CATALOGUE_CATEGORY_MAX + 1 + 3 * 8 + 4 + \
	 CATALOGUE_SUFFIX_MAX)

struct catalogue_cache;

/* OUT: *out, freed with catalogue_cache_free. Returns 0, STORE_EINVAL (a bound of 0) or STORE_ENOMEM. */
int catalogue_cache_new(size_t entries, size_t bytes, struct catalogue_cache **out);
/* NULL is allowed. */
void catalogue_cache_free(struct catalogue_cache *cc);

/*
 * The page of q rendered at counter `version`. OUT: *body and *len, lent
 * until the next call on cc. Returns 0, or STORE_ENOTFOUND.
 */
int catalogue_cache_get(struct catalogue_cache *cc, uint64_t version, const struct catalogue_query *q,
			const char **body, size_t *len);

/*
 * Keeps a copy of the page of q rendered at counter `version` (replacing
 * one of the same query), evicting the least recently used pages to stay
 * within the bounds. Returns 0, or STORE_ENOMEM (nothing kept); a body over
 * the per-page bound is not kept and returns 0.
 */
int catalogue_cache_put(struct catalogue_cache *cc, uint64_t version, const struct catalogue_query *q,
			const char *body, size_t len);

/* What the cache holds. OUT: *pages, *bytes (of bodies). */
void catalogue_cache_usage(const struct catalogue_cache *cc, size_t *pages, size_t *bytes);

#endif
