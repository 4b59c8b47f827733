/*
 * products: what the stores sell — title, description, price, stock,
 * weight, category, images, active flag — and the public catalogue over
 * them (listing, keyword search, categories; catalogue.h keeps the indexes).
 *
 * A product is *listed* (in the catalogue, sold) when it is active and its
 * store sells (merchants_is_selling: verified). A store's status change
 * lists or unlists all its products in the same write transaction (through
 * the merchants' status listener). Stock is not part of any index: orders
 * take and give back stock with products_reserve / products_release inside
 * their own write transaction. Every change a listing shows (stock too)
 * bumps the catalogue's change counter in that same transaction: public
 * listings are answered from pages kept per counter and query
 * (catalogue_cache_*), and their ETags carry the counter.
 *
 * DBIs owned: products (id, 8 bytes big-endian -> record), product_store
 * (merchant id 8 | product id 8 -> empty: every product of a store, listed
 * or not), and the catalogue's (catalogue.h).
 * Endpoints: see products_attach and docs/api.md, "Catalogue".
 */
#ifndef BANGSOLEH_PRODUCTS_H
#define BANGSOLEH_PRODUCTS_H

#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "catalogue.h"

struct httpd;
struct idem;
struct merchants;
struct store;
struct products;

#define PRODUCT_TITLE_MAX 120
#define PRODUCT_DESCRIPTION_MAX 2000
#define PRODUCT_CATEGORY_MAX CATALOGUE_CATEGORY_MAX
#define PRODUCT_IMAGES_MAX 8
#define PRODUCT_IMAGE_URL_MAX 500
#define PRODUCT_STOCK_MAX 1000000000    /* units */
#define PRODUCT_WEIGHT_MAX 1000000      /* grams: one tonne */

/* Status codes: 0 is success; STORE_* codes pass through. */
#define PRODUCTS_OK 0
#define PRODUCTS_EINSUFFICIENT (-80)    /* stock below the quantity asked for */
#define PRODUCTS_ENOTSOLD (-81)         /* inactive, or its store does not sell */
#define PRODUCTS_EINVAL (-82)           /* a quantity outside 1..PRODUCT_STOCK_MAX */

struct product {
	uint64_t id;
	uint64_t merchant_id;
	char title[PRODUCT_TITLE_MAX + 1];
	char description[PRODUCT_DESCRIPTION_MAX + 1];
	int64_t price;                          /* whole rupiah, 1..QRIS_AMOUNT_MAX */
	int64_t stock;                          /* 0..PRODUCT_STOCK_MAX */
	int64_t weight_g;                       /* 0..PRODUCT_WEIGHT_MAX */
	char category[PRODUCT_CATEGORY_MAX + 1];
	bool active;
	int64_t created_ms, updated_ms;         /* UTC */
	uint8_t nimages;
	char images[PRODUCT_IMAGES_MAX][PRODUCT_IMAGE_URL_MAX + 1];
};

/*
 * Opens the DBIs and registers the merchants' status listener (before
 * store_start). store, merchants and idem are lent for the module's life.
 * OUT: *out, freed with products_free. Returns 0 or a STORE_* status.
 */
int products_open(struct store *store, struct merchants *merchants, struct idem *idem, struct products **out);
void products_free(struct products *pr);

/*
 * Registers the endpoints on h (lent):
 *   POST /api/v1/merchants/{id}/products  owner, admin (Idempotency-Key)
 *   GET  /api/v1/merchants/{id}/products  public (verified store); owner, admin see all
 *   GET  /api/v1/products                 public: listing and search, ETag; ids=: a batch read
 *   GET  /api/v1/products/{id}            public when listed; owner, admin always
 *   PUT  /api/v1/products/{id}            owner, admin: partial update
 *   GET  /api/v1/categories               public
 */
int products_attach(struct products *pr, struct httpd *h);

/* Reads a product within txn. OUT: *out. Returns 0, STORE_ENOTFOUND or another STORE_* status. */
int products_get(struct products *pr, MDB_txn *txn, uint64_t product_id, struct product *out);

/*
 * Takes qty (1..PRODUCT_STOCK_MAX) off the stock within a write txn.
 * OUT: *out, the product after (may be NULL). Returns 0, PRODUCTS_EINSUFFICIENT,
 * PRODUCTS_ENOTSOLD, PRODUCTS_EINVAL, STORE_ENOTFOUND or another STORE_* status;
 * nothing changes unless it returns 0.
 */
int products_reserve(struct products *pr, MDB_txn *txn, uint64_t product_id, int64_t qty, struct product *out);

/*
 * Gives qty back to the stock within a write txn (also for inactive or
 * unlisted products; the stock stops at PRODUCT_STOCK_MAX). Returns 0,
 * PRODUCTS_EINVAL, STORE_ENOTFOUND or another STORE_* status.
 */
int products_release(struct products *pr, MDB_txn *txn, uint64_t product_id, int64_t qty);

/* True when the product is in the catalogue: active and its store sells. Reads the store within txn. */
bool products_is_listed(struct products *pr, MDB_txn *txn, const struct product *p);

#endif
