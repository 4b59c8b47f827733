/*
 * The catalogue's text handling, query parsing and cursors, and its indexes
 * on a real LMDB store in a temporary folder: every sort order paged to the
 * end without duplicates or gaps, filters, prefix search (also on words
 * too common for the token index's bound), removal, and the scan bound;
 * the rendered-page cache: pages only at their own counter and
 * query, within its bounds, least recently used out first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "store.h"
#include "testsrv.h"

#define MIB ((size_t)1 << 20)
#define N_PRODUCTS 240
#define TITLE_MAX 64

struct fixture {
	char dir[64];
	char path[96];
	struct store *s;
	struct catalogue *c;
	char titles[N_PRODUCTS + 1][TITLE_MAX];   /* by id; [0] unused */
	int64_t prices[N_PRODUCTS + 1];
	const char *categories[N_PRODUCTS + 1];
	uint64_t merchants[N_PRODUCTS + 1];
	bool removed[N_PRODUCTS + 1];
};

/* A store job: index (or remove) products first..last of the fixture. */
struct index_job {
	struct fixture *f;
	uint64_t first, last;
	bool remove;
};

static int setup(void **state)
{
	static const char *const words[] = { "Rendang", "Keripik", "Kopi", "Sambal", "Dendeng", "Kue" };
	static const char *const cats[] = { "makanan", "minuman", "kerajinan" };
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_config cfg = { .map_size = 64 * MIB, .map_max = 256 * MIB, .group_commit = true };
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test-catalogue-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/data", f->dir);
	cfg.path = f->path;
	if (store_open(&cfg, &f->s) != 0 || catalogue_open(f->s, &f->c) != 0)
		return -1;
	for (uint64_t id = 1; id <= N_PRODUCTS; id++) {
		/* Ties on price and title on purpose: the id breaks them. */
		snprintf(f->titles[id], TITLE_MAX, "%s %s nomor %u", words[id % 6], id % 4 ? "Balado" : "Sapi",
			 (unsigned)(id % 17));
		f->prices[id] = 1000 * (int64_t)(id % 13) + 500;
		f->categories[id] = cats[id % 3];
		f->merchants[id] = 1 + id % 2;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	catalogue_free(f->c);
	store_close(f->s);
	testsrv_rmtree(f->dir);
	free(f);
	return 0;
}

/* The fixture's product behind id: ids above N_PRODUCTS repeat them (for volume). */
static uint64_t src_of(uint64_t id)
{
	return (id - 1) % N_PRODUCTS + 1;
}

static void entry_of(const struct fixture *f, uint64_t id, struct catalogue_entry *e)
{
	uint64_t src = src_of(id);
	e->id = id;
	e->merchant_id = f->merchants[src];
	e->price = f->prices[src];
	e->category = f->categories[src];
	e->title = f->titles[src];
	e->description = "Oleh-oleh khas Minang, pedas";
}

static int index_apply(MDB_txn *txn, void *arg)
{
	struct index_job *j = arg;
	int rc = 0;
	for (uint64_t id = j->first; id <= j->last && rc == 0; id++) {
		struct catalogue_entry e;
		entry_of(j->f, id, &e);
		rc = j->remove ? catalogue_remove(j->f->c, txn, &e) : catalogue_add(j->f->c, txn, &e);
	}
	return rc == 0 ? catalogue_bump(j->f->c, txn) : rc;
}

static void index_range(struct fixture *f, uint64_t first, uint64_t last, bool remove)
{
	struct index_job j = { f, first, last, remove };
	assert_int_equal(store_run(f->s, index_apply, &j), 0);
	for (uint64_t id = first; id <= last && id <= N_PRODUCTS; id++)
		f->removed[id] = remove;
}

static void parse_ok(const struct catalogue_params *p, struct catalogue_query *q)
{
	const char *bad = "unset";
	assert_int_equal(catalogue_query_parse(p, q, &bad), 0);
	assert_null(bad);
}

static void parse_bad(const struct catalogue_params *p, const char *field)
{
	struct catalogue_query q;
	const char *bad = NULL;
	assert_int_equal(catalogue_query_parse(p, &q, &bad), -1);
	assert_non_null(bad);
	assert_string_equal(bad, field);
}

/* Runs q page by page to the end. OUT: ids (cap n_max) and *n. Fails on a page over the limit. */
static void find_all(struct fixture *f, struct catalogue_params p, uint64_t *ids, size_t n_max, size_t *n)
{
	struct catalogue_query q;
	struct catalogue_page page;
	char cursor[CATALOGUE_CURSOR_MAX];
	MDB_txn *txn;
	*n = 0;
	for (int pages = 0;; pages++) {
		assert_true(pages < 1000);
		parse_ok(&p, &q);
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		assert_int_equal(catalogue_find(f->c, txn, &q, &page), 0);
		store_read_end(f->s, txn);
		assert_true(page.n <= q.limit);
		for (size_t i = 0; i < page.n; i++) {
			assert_true(*n < n_max);
			ids[(*n)++] = page.ids[i];
		}
		if (!page.next_cursor[0])
			break;
		strcpy(cursor, page.next_cursor);
		p.cursor = cursor;
	}
}

static void assert_distinct(const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_true(ids[i] != ids[j]);
}

static const char *const sort_names[] = { "newest", "price_asc", "price_desc", "name" };

/* True when product a comes before b in sort_names[s] (ties by id, so never both ways). */
static bool before(const struct fixture *f, size_t s, uint64_t a, uint64_t b)
{
	int64_t pa = f->prices[src_of(a)], pb = f->prices[src_of(b)];
	uint8_t ka[CATALOGUE_NAMEKEY], kb[CATALOGUE_NAMEKEY];
	int cmp;
	if (s == 0)
		return a > b;
	if (s == 1)
		return pa < pb || (pa == pb && a < b);
	if (s == 2)
		return pa > pb || (pa == pb && a > b);
	catalogue_name_key(f->titles[src_of(a)], ka);
	catalogue_name_key(f->titles[src_of(b)], kb);
	cmp = memcmp(ka, kb, CATALOGUE_NAMEKEY);
	return cmp < 0 || (cmp == 0 && a < b);
}

/* Each id strictly after the one before it in sort_names[s]: in order and each once. */
static void assert_in_order(const struct fixture *f, size_t s, const uint64_t *ids, size_t n)
{
	for (size_t i = 1; i < n; i++)
		assert_true(before(f, s, ids[i - 1], ids[i]));
}

/* --- text --- */

static void test_tokenize(void **state)
{
	char toks[8][CATALOGUE_TOKEN_MAX + 1];
	char longword[64];
	size_t n = 0;
	(void)state;
	catalogue_tokenize("Rendang SAPI, rendang-sapi\tAyam! 2kg", toks, 8, &n);
	assert_int_equal(n, 4);
	assert_string_equal(toks[0], "rendang");
	assert_string_equal(toks[1], "sapi");
	assert_string_equal(toks[2], "ayam");
	assert_string_equal(toks[3], "2kg");
	/* UTF-8 letters stay inside words; only ASCII is folded. */
	n = 0;
	catalogue_tokenize("Kue L\xc3\x89GIT", toks, 8, &n);
	assert_int_equal(n, 2);
	assert_string_equal(toks[1], "l\xc3\x89git");
	/* A long word is cut at 32 bytes, never inside a character. */
	n = 0;
	memset(longword, 'A', 31);
	strcpy(longword + 31, "\xc3\xa9xyz");
	catalogue_tokenize(longword, toks, 8, &n);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(toks[0]), 31);
	/* The cap: later words are dropped. */
	n = 0;
	catalogue_tokenize("a b c d e f g h i j", toks, 3, &n);
	assert_int_equal(n, 3);
	assert_string_equal(toks[2], "c");
	n = 0;
	catalogue_tokenize(" ,.!? ", toks, 8, &n);
	assert_int_equal(n, 0);
}

static void test_name_key_and_category(void **state)
{
	uint8_t key[CATALOGUE_NAMEKEY], zero[CATALOGUE_NAMEKEY] = { 0 };
	(void)state;
	catalogue_name_key("Kopi GAYO", key);
	assert_memory_equal(key, "kopi gayo", 9);
	assert_memory_equal(key + 9, zero, CATALOGUE_NAMEKEY - 9);
	catalogue_name_key("A very long title that goes on and on", key);
	assert_memory_equal(key, "a very long title that g", CATALOGUE_NAMEKEY);
	assert_true(catalogue_category_ok("makanan-ringan"));
	assert_true(catalogue_category_ok("a"));
	assert_false(catalogue_category_ok(""));
	assert_false(catalogue_category_ok("Makanan"));
	assert_false(catalogue_category_ok("makanan ringan"));
	assert_false(catalogue_category_ok("abcdefghijklmnopqrstuvwxyz0123456"));
}

static void test_query_parse(void **state)
{
	struct catalogue_query q;
	(void)state;
	parse_ok(&(struct catalogue_params){ 0 }, &q);
	assert_int_equal(q.limit, CATALOGUE_LIMIT_DEFAULT);
	assert_int_equal(q.sort, CATALOGUE_NEWEST);
	assert_int_equal(q.max_price, INT64_MAX);
	parse_ok(&(struct catalogue_params){ .q = "Rend SAPI", .category = "makanan", .merchant_id = "7",
					     .min_price = "0", .max_price = "5000", .sort = "price_desc",
					     .limit = "100" },
		 &q);
	assert_int_equal(q.nwords, 2);
	assert_string_equal(q.words[0], "rend");
	assert_int_equal(q.merchant_id, 7);
	assert_int_equal(q.max_price, 5000);
	assert_int_equal(q.sort, CATALOGUE_PRICE_DESC);
	parse_bad(&(struct catalogue_params){ .limit = "0" }, "limit");
	parse_bad(&(struct catalogue_params){ .limit = "101" }, "limit");
	parse_bad(&(struct catalogue_params){ .limit = "-1" }, "limit");
	parse_bad(&(struct catalogue_params){ .limit = "01" }, "limit");
	parse_bad(&(struct catalogue_params){ .limit = "" }, "limit");
	parse_bad(&(struct catalogue_params){ .sort = "cheapest" }, "sort");
	parse_bad(&(struct catalogue_params){ .min_price = "1x" }, "min_price");
	parse_bad(&(struct catalogue_params){ .max_price = "99999999999999999999" }, "max_price");
	parse_bad(&(struct catalogue_params){ .min_price = "10", .max_price = "9" }, "max_price");
	parse_bad(&(struct catalogue_params){ .merchant_id = "0" }, "merchant_id");
	parse_bad(&(struct catalogue_params){ .category = "Makanan" }, "category");
	parse_bad(&(struct catalogue_params){ .q = "a b c d e f g h i" }, "q");
	parse_bad(&(struct catalogue_params){ .cursor = "zz" }, "cursor");
	parse_bad(&(struct catalogue_params){ .cursor = "" }, "cursor");
}

/* --- indexes --- */

static void test_sorted_pages(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[N_PRODUCTS + 1];
	size_t n;
	index_range(f, 1, N_PRODUCTS, false);
	for (size_t s = 0; s < 4; s++) {
		find_all(f, (struct catalogue_params){ .sort = sort_names[s], .limit = "7" }, ids, N_PRODUCTS, &n);
		assert_int_equal(n, N_PRODUCTS);
		assert_in_order(f, s, ids, n);
	}
}

static void test_filters(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[N_PRODUCTS + 1];
	size_t n, want = 0;
	index_range(f, 1, N_PRODUCTS, false);
	for (uint64_t id = 1; id <= N_PRODUCTS; id++)
		want += strcmp(f->categories[id], "minuman") == 0 && f->merchants[id] == 2 && f->prices[id] >= 3000 &&
			f->prices[id] <= 9000;
	for (int sort = 0; sort < 2; sort++) {
		find_all(f, (struct catalogue_params){ .category = "minuman", .merchant_id = "2", .min_price = "3000",
						       .max_price = "9000", .limit = "4",
						       .sort = sort ? "price_desc" : "newest" },
			 ids, N_PRODUCTS, &n);
		assert_true(want > 4);
		assert_int_equal(n, want);
		assert_distinct(ids, n);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(f->categories[ids[i]], "minuman");
			assert_int_equal(f->merchants[ids[i]], 2);
		}
	}
	find_all(f, (struct catalogue_params){ .category = "mainan" }, ids, N_PRODUCTS, &n);
	assert_int_equal(n, 0);
}

/* True when product id has a word starting with each of the (lower-case) prefixes. */
static bool has_prefixes(const struct fixture *f, uint64_t id, const char *const *prefixes, size_t np)
{
	char toks[16][CATALOGUE_TOKEN_MAX + 1];
	size_t n = 0, hit = 0;
	catalogue_tokenize(f->titles[src_of(id)], toks, 16, &n);
	catalogue_tokenize("Oleh-oleh khas Minang, pedas", toks, 16, &n);
	for (size_t p = 0; p < np; p++)
		for (size_t i = 0; i < n; i++)
			if (strncmp(toks[i], prefixes[p], strlen(prefixes[p])) == 0) {
				hit++;
				break;
			}
	return hit == np;
}

/* How many indexed products of the fixture have a word starting with each of the prefixes. */
static size_t count_matching(const struct fixture *f, const char *const *prefixes, size_t np)
{
	size_t want = 0;
	for (uint64_t id = 1; id <= N_PRODUCTS; id++)
		want += !f->removed[id] && has_prefixes(f, id, prefixes, np);
	return want;
}

static void test_search(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[N_PRODUCTS + 1];
	size_t n;
	index_range(f, 1, N_PRODUCTS, false);
	/* "rend" finds "Rendang", in any case; not "Dendeng". */
	find_all(f, (struct catalogue_params){ .q = "rEnD", .limit = "3" }, ids, N_PRODUCTS, &n);
	assert_int_equal(n, count_matching(f, (const char *const[]){ "rend" }, 1));
	assert_true(n > 3);
	assert_distinct(ids, n);
	for (size_t i = 0; i < n; i++) {
		assert_true(strncmp(f->titles[ids[i]], "Rendang", 7) == 0);
		if (i)
			assert_true(ids[i - 1] > ids[i]);
	}
	/* Every word must match; the description counts. */
	find_all(f, (struct catalogue_params){ .q = "kop SAPI minang", .sort = "price_asc", .limit = "2" }, ids,
		 N_PRODUCTS, &n);
	assert_int_equal(n, count_matching(f, (const char *const[]){ "kop", "sapi", "minang" }, 3));
	assert_true(n > 2);
	assert_distinct(ids, n);
	for (size_t i = 1; i < n; i++)
		assert_true(f->prices[ids[i - 1]] <= f->prices[ids[i]]);
	/* A word that starts several tokens of a product ("k": keripik and khas) finds it once. */
	find_all(f, (struct catalogue_params){ .q = "k", .sort = "name", .limit = "9" }, ids, N_PRODUCTS, &n);
	assert_int_equal(n, N_PRODUCTS);
	assert_distinct(ids, n);
	find_all(f, (struct catalogue_params){ .q = "rendangx" }, ids, N_PRODUCTS, &n);
	assert_int_equal(n, 0);
}

static void count_category(const char *name, uint64_t count, void *ctx)
{
	uint64_t *total = ctx;
	assert_true(catalogue_category_ok(name));
	*total += count;
}

static void test_remove_and_categories(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[N_PRODUCTS + 1], version = 0, count = 0;
	size_t n;
	MDB_txn *txn;
	index_range(f, 1, N_PRODUCTS, false);
	index_range(f, 1, 120, true);
	find_all(f, (struct catalogue_params){ .q = "rendang" }, ids, N_PRODUCTS, &n);
	assert_int_equal(n, count_matching(f, (const char *const[]){ "rendang" }, 1));
	for (size_t i = 0; i < n; i++)
		assert_true(ids[i] > 120);
	find_all(f, (struct catalogue_params){ .sort = "name" }, ids, N_PRODUCTS, &n);
	assert_int_equal(n, N_PRODUCTS - 120);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(catalogue_version(f->c, txn, &version), 0);
	store_read_end(f->s, txn);
	assert_int_equal(version, 2);
	index_range(f, 121, N_PRODUCTS, true);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(catalogue_categories(f->c, txn, count_category, &count), 0);
	store_read_end(f->s, txn);
	assert_int_equal(count, 0);
}

static void test_category_counts(void **state)
{
	struct fixture *f = *state;
	uint64_t total = 0;
	MDB_txn *txn;
	index_range(f, 1, N_PRODUCTS, false);
	index_range(f, 1, 10, true);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(catalogue_categories(f->c, txn, count_category, &total), 0);
	store_read_end(f->s, txn);
	assert_int_equal(total, N_PRODUCTS - 10);
}

static void test_cursor_belongs_to_query(void **state)
{
	struct fixture *f = *state;
	struct catalogue_query q;
	struct catalogue_page page;
	char cursor[CATALOGUE_CURSOR_MAX];
	MDB_txn *txn;
	index_range(f, 1, N_PRODUCTS, false);
	parse_ok(&(struct catalogue_params){ .sort = "price_asc", .limit = "5" }, &q);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(catalogue_find(f->c, txn, &q, &page), 0);
	store_read_end(f->s, txn);
	assert_true(page.next_cursor[0]);
	strcpy(cursor, page.next_cursor);
	/* Another filter or order may not reuse it; another limit may. */
	parse_bad(&(struct catalogue_params){ .sort = "price_asc", .category = "makanan", .cursor = cursor }, "cursor");
	parse_bad(&(struct catalogue_params){ .sort = "name", .cursor = cursor }, "cursor");
	parse_ok(&(struct catalogue_params){ .sort = "price_asc", .limit = "50", .cursor = cursor }, &q);
	cursor[3] = cursor[3] == '0' ? '1' : '0';
	parse_bad(&(struct catalogue_params){ .sort = "price_asc", .cursor = cursor }, "cursor");
}

/* More products than one search may read of a word's token entries. */
#define N_BROAD 12000
_Static_assert(N_BROAD > CATALOGUE_TOKEN_SCAN_MAX, "the broad tests need more products than the token bound");

/* Pages p to its end, every page empty. Returns the number of pages. */
static int empty_pages(struct fixture *f, struct catalogue_params p)
{
	struct catalogue_query q;
	struct catalogue_page page;
	char cursor[CATALOGUE_CURSOR_MAX];
	MDB_txn *txn;
	int pages = 0;
	for (;;) {
		parse_ok(&p, &q);
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		assert_int_equal(catalogue_find(f->c, txn, &q, &page), 0);
		store_read_end(f->s, txn);
		assert_int_equal(page.n, 0);
		pages++;
		if (!page.next_cursor[0])
			return pages;
		assert_true(pages < 10);
		strcpy(cursor, page.next_cursor);
		p.cursor = cursor;
	}
}

/*
 * More entries than one request may read, none matching: short pages that
 * still reach the end, for a listing and for a search of a word every
 * product has. Newest first: the price filter cannot shorten the walk.
 */
static void test_scan_bound(void **state)
{
	struct fixture *f = *state;
	index_range(f, 1, N_BROAD, false);
	assert_int_equal(empty_pages(f, (struct catalogue_params){ .min_price = "1000000" }),
			 (N_BROAD + CATALOGUE_SCAN_MAX - 1) / CATALOGUE_SCAN_MAX);
	assert_int_equal(empty_pages(f, (struct catalogue_params){ .q = "minang", .min_price = "1000000" }),
			 (N_BROAD + CATALOGUE_SCAN_MAX - 1) / CATALOGUE_SCAN_MAX);
}

/*
 * Words too common for the token index's bound ("minang" and "pedas" are in
 * every description): every page of every order is complete and in order,
 * for such a word alone, with a rarer word, and with filters; the rarer
 * word alone (answered from the token index) finds the same products in
 * the same order.
 */
static void test_broad_search(void **state)
{
	static const char *const rend[] = { "rend", "minang" }, *const pedas_sapi[] = { "pedas", "sapi" };
	struct fixture *f = *state;
	uint64_t ids[N_BROAD], narrow[N_BROAD];
	size_t n, m, want = 0;
	index_range(f, 1, N_BROAD, false);
	for (uint64_t id = 1; id <= N_BROAD; id++)
		want += has_prefixes(f, id, rend, 2);
	assert_true(want > 7);
	for (size_t s = 0; s < 4; s++) {
		find_all(f, (struct catalogue_params){ .q = "MINANG", .sort = sort_names[s], .limit = "100" }, ids,
			 N_BROAD, &n);
		assert_int_equal(n, N_BROAD);
		assert_in_order(f, s, ids, n);
		find_all(f, (struct catalogue_params){ .q = "rend minang", .sort = sort_names[s], .limit = "7" }, ids,
			 N_BROAD, &n);
		assert_int_equal(n, want);
		assert_in_order(f, s, ids, n);
		find_all(f, (struct catalogue_params){ .q = "rend", .sort = sort_names[s], .limit = "7" }, narrow,
			 N_BROAD, &m);
		assert_int_equal(m, n);
		assert_memory_equal(narrow, ids, n * sizeof(ids[0]));
	}
	want = 0;
	for (uint64_t id = 1; id <= N_BROAD; id++) {
		uint64_t src = src_of(id);
		want += has_prefixes(f, id, pedas_sapi, 2) && strcmp(f->categories[src], "minuman") == 0 &&
			f->merchants[src] == 1 && f->prices[src] >= 3000 && f->prices[src] <= 9000;
	}
	assert_true(want > 5);
	for (size_t s = 0; s < 4; s++) {
		find_all(f, (struct catalogue_params){ .q = "pedas sapi", .category = "minuman", .merchant_id = "1",
						       .min_price = "3000", .max_price = "9000", .sort = sort_names[s],
						       .limit = "5" },
			 ids, N_BROAD, &n);
		assert_int_equal(n, want);
		assert_in_order(f, s, ids, n);
		for (size_t i = 0; i < n; i++)
			assert_true(has_prefixes(f, ids[i], pedas_sapi, 2));
	}
	/* The category's own index, with a word and a price range. */
	want = 0;
	for (uint64_t id = 1; id <= N_BROAD; id++)
		want += strcmp(f->categories[src_of(id)], "kerajinan") == 0 && f->prices[src_of(id)] <= 4500;
	find_all(f, (struct catalogue_params){ .q = "pedas", .category = "kerajinan", .max_price = "4500",
					       .sort = "price_desc", .limit = "100" },
		 ids, N_BROAD, &n);
	assert_int_equal(n, want);
	assert_in_order(f, 2, ids, n);
}

/* --- the rendered-page cache --- */

/* The query of params p. */
static struct catalogue_query query_of(struct catalogue_params p)
{
	struct catalogue_query q;
	parse_ok(&p, &q);
	return q;
}

static void assert_cached(struct catalogue_cache *cc, uint64_t version, const struct catalogue_query *q,
			  const char *want)
{
	const char *body = NULL;
	size_t len = 0;
	assert_int_equal(catalogue_cache_get(cc, version, q, &body, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(body, want, len);
}

static void assert_not_cached(struct catalogue_cache *cc, uint64_t version, const struct catalogue_query *q)
{
	const char *body;
	size_t len;
	assert_int_equal(catalogue_cache_get(cc, version, q, &body, &len), STORE_ENOTFOUND);
}

/* A page is served only at the counter it was rendered at, and only for its own query. */
static void test_cache_versions(void **state)
{
	struct fixture *f = *state;
	struct catalogue_cache *cc;
	struct catalogue_query plain = query_of((struct catalogue_params){ 0 });
	struct catalogue_query other[] = {
		query_of((struct catalogue_params){ .limit = "21" }),
		query_of((struct catalogue_params){ .sort = "name" }),
		query_of((struct catalogue_params){ .category = "makanan" }),
		query_of((struct catalogue_params){ .min_price = "1" }),
		query_of((struct catalogue_params){ .merchant_id = "1" }),
		query_of((struct catalogue_params){ .q = "rend" }),
		query_of((struct catalogue_params){ .q = "rend sapi" }),
	};
	uint64_t v0, v1;
	MDB_txn *txn;

	assert_int_equal(catalogue_cache_new(CATALOGUE_CACHE_ENTRIES, CATALOGUE_CACHE_BYTES, &cc), 0);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(catalogue_version(f->c, txn, &v0), 0);
	store_read_end(f->s, txn);
	assert_not_cached(cc, v0, &plain);
	assert_int_equal(catalogue_cache_put(cc, v0, &plain, "page zero", 9), 0);
	assert_cached(cc, v0, &plain, "page zero");
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_not_cached(cc, v0, &other[i]);
	/* The same query parsed again (same meaning, other spelling) is the same page. */
	{
		struct catalogue_query again = query_of((struct catalogue_params){ .limit = "20", .sort = "newest" });
		assert_cached(cc, v0, &again, "page zero");
	}
	/* A cursor pages: the next page is another entry. */
	{
		struct catalogue_page page;
		struct catalogue_query next;
		index_range(f, 1, 30, false);
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		assert_int_equal(catalogue_find(f->c, txn, &plain, &page), 0);
		store_read_end(f->s, txn);
		next = query_of((struct catalogue_params){ .cursor = page.next_cursor });
		assert_not_cached(cc, v0, &next);
	}
	/* Any write moves the counter; the page of the old counter is gone for good. */
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(catalogue_version(f->c, txn, &v1), 0);
	store_read_end(f->s, txn);
	assert_true(v1 != v0);
	assert_not_cached(cc, v1, &plain);
	assert_not_cached(cc, v0, &plain);
	assert_int_equal(catalogue_cache_put(cc, v1, &plain, "page one", 8), 0);
	assert_cached(cc, v1, &plain, "page one");
	/* Storing a query again replaces its page. */
	assert_int_equal(catalogue_cache_put(cc, v1, &plain, "page one, again", 15), 0);
	assert_cached(cc, v1, &plain, "page one, again");
	{
		size_t pages, bytes;
		catalogue_cache_usage(cc, &pages, &bytes);
		assert_int_equal(pages, 1);
		assert_int_equal(bytes, 15);
	}
	catalogue_cache_free(cc);
}

/* The bounds hold whatever is stored, and the least recently used page goes first. */
static void test_cache_bounds(void **state)
{
	enum { ENTRIES = 4, BYTES = 1600, BODY = BYTES / CATALOGUE_CACHE_BODY_SHARE };
	struct catalogue_cache *cc;
	struct catalogue_query q[40];
	char num[40][8], body[BODY + 2];
	size_t pages, bytes;
	(void)state;

	assert_int_equal(catalogue_cache_new(0, BYTES, &cc), STORE_EINVAL);
	memset(body, 'x', sizeof(body));
	for (size_t i = 0; i < 40; i++) {
		snprintf(num[i], sizeof(num[i]), "%zu", i);
		q[i] = query_of((struct catalogue_params){ .min_price = num[i] });
	}
	/* By count: 4 pages at most; touching page 0 keeps it, page 1 goes. */
	assert_int_equal(catalogue_cache_new(ENTRIES, BYTES, &cc), 0);
	for (size_t i = 0; i < ENTRIES; i++)
		assert_int_equal(catalogue_cache_put(cc, 1, &q[i], body, 10), 0);
	assert_int_equal(catalogue_cache_get(cc, 1, &q[0], &(const char *){ NULL }, &(size_t){ 0 }), 0);
	assert_int_equal(catalogue_cache_put(cc, 1, &q[ENTRIES], body, 10), 0);
	catalogue_cache_usage(cc, &pages, &bytes);
	assert_int_equal(pages, ENTRIES);
	assert_int_equal(bytes, ENTRIES * 10);
	assert_cached(cc, 1, &q[0], "xxxxxxxxxx");
	assert_not_cached(cc, 1, &q[1]);
	assert_cached(cc, 1, &q[ENTRIES], "xxxxxxxxxx");
	for (size_t i = 0; i < 40; i++) {
		assert_int_equal(catalogue_cache_put(cc, 1, &q[i], body, 1 + i % 10), 0);
		catalogue_cache_usage(cc, &pages, &bytes);
		assert_true(pages <= ENTRIES);
	}
	catalogue_cache_free(cc);

	/* By bytes: pages of BODY bytes fit BYTES / BODY at a time; a bigger body is not kept. */
	assert_int_equal(catalogue_cache_new(64, BYTES, &cc), 0);
	for (size_t i = 0; i < 40; i++) {
		assert_int_equal(catalogue_cache_put(cc, 1, &q[i], body, BODY), 0);
		catalogue_cache_usage(cc, &pages, &bytes);
		assert_true(bytes <= BYTES);
		assert_int_equal(pages, i + 1 < CATALOGUE_CACHE_BODY_SHARE ? i + 1 : CATALOGUE_CACHE_BODY_SHARE);
	}
	body[BODY] = '\0';
	assert_cached(cc, 1, &q[39], body);
	assert_int_equal(catalogue_cache_put(cc, 1, &q[0], body, BODY + 1), 0);
	assert_not_cached(cc, 1, &q[0]);
	catalogue_cache_free(cc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokenize),
		cmocka_unit_test(test_name_key_and_category),
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test_setup_teardown(test_sorted_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_and_categories, setup, teardown),
		cmocka_unit_test_setup_teardown(test_category_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_belongs_to_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broad_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_versions, setup, teardown),
		cmocka_unit_test(test_cache_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
