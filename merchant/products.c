#include "products.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "clock.h"
#include "httpd.h"
#include "idem.h"
#include "merchants.h"
#include "qris.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define PRODUCT_VERSION 1
#define PRODUCT_FIELDS 11               /* before the image URLs */
#define PRODUCT_ETAG_MAX 40             /* "version hash" in quotes, with the NUL */
#define PRODUCT_ID_CURSOR 16            /* hex digits of the owner's view cursor */
#define PRODUCT_IDEM_SCOPE "products.create"
#define PRODUCT_JSON_TYPE "application/json; charset=utf-8"   /* what httpd_reply_json sends */
#define PRODUCT_TEXT_FIRST 4096         /* bytes a reply body starts with: a page of 20 takes two doublings */
#define PRODUCT_IDS_MAX 50              /* ids one batch read takes: a cart's lines at most */

/* Fields of a create or update body, as bits of struct product_op.fields. */
enum product_field {
	PF_TITLE = 1 << 0,
	PF_DESCRIPTION = 1 << 1,
	PF_PRICE = 1 << 2,
	PF_STOCK = 1 << 3,
	PF_WEIGHT = 1 << 4,
	PF_CATEGORY = 1 << 5,
	PF_IMAGES = 1 << 6,
	PF_ACTIVE = 1 << 7,
};

static const char *const product_field_names[] = { "title", "description", "price", "stock",
						   "weight_g", "category", "images", "active" };
#define PRODUCT_NFIELDS (sizeof(product_field_names) / sizeof(product_field_names[0]))

struct products {
	struct store *store;
	struct merchants *merchants;
	struct idem *idem;
	struct catalogue *cat;
	struct catalogue_cache *pages;   /* rendered public listings (catalogue.h); loop thread */
	MDB_dbi products, by_store;
};

/* A create or an update in flight. */
struct product_op {
	struct products *pr;
	struct httpd_req *req;
	struct idem_req idem;
	unsigned fields;           /* which fields of `in` came (enum product_field) */
	struct product in;         /* the fields given; for a create, with the defaults */
	struct product out;        /* the product after the job */
	int http_status;           /* 201, 200, or a replay's first status */
};

/* --- records --- */

static void product_key(uint8_t key[8], uint64_t id)
{
	catalogue_put_u64(key, id);
}

int products_get(struct products *pr, MDB_txn *txn, uint64_t product_id, struct product *out)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	struct record_reader r;
	uint64_t nimages = 0;
	int rc;
	product_key(key, product_id);
	rc = mdb_get(txn, pr->products, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, PRODUCT_VERSION, PRODUCT_FIELDS) != RECORD_OK)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->id = product_id;
	if (record_get_u64(&r, &out->merchant_id) || record_get_str(&r, out->title, sizeof(out->title), NULL) ||
	    record_get_str(&r, out->description, sizeof(out->description), NULL) ||
	    record_get_i64(&r, &out->price) || record_get_i64(&r, &out->stock) ||
	    record_get_i64(&r, &out->weight_g) || record_get_str(&r, out->category, sizeof(out->category), NULL) ||
	    record_get_bool(&r, &out->active) || record_get_i64(&r, &out->created_ms) ||
	    record_get_i64(&r, &out->updated_ms) || record_get_u64(&r, &nimages) || nimages > PRODUCT_IMAGES_MAX ||
	    r.count != PRODUCT_FIELDS + nimages)
		rc = STORE_ECORRUPT;
	for (uint64_t i = 0; rc == 0 && i < nimages; i++)
		if (record_get_str(&r, out->images[i], sizeof(out->images[i]), NULL))
			rc = STORE_ECORRUPT;
	out->nimages = (uint8_t)nimages;
	record_reader_free(&r);
	return rc;
}

/* Writes p's record (flags as mdb_put). Returns 0 or a STORE_* status. */
static int product_put(struct products *pr, MDB_txn *txn, const struct product *p, unsigned flags)
{
	struct record_writer w;
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	size_t len;
	int rc;
	record_writer_init(&w, PRODUCT_VERSION, PRODUCT_FIELDS + p->nimages);
	record_put_u64(&w, p->merchant_id);
	record_put_str(&w, p->title, strlen(p->title));
	record_put_str(&w, p->description, strlen(p->description));
	record_put_i64(&w, p->price);
	record_put_i64(&w, p->stock);
	record_put_i64(&w, p->weight_g);
	record_put_str(&w, p->category, strlen(p->category));
	record_put_bool(&w, p->active);
	record_put_i64(&w, p->created_ms);
	record_put_i64(&w, p->updated_ms);
	record_put_u64(&w, p->nimages);
	for (uint8_t i = 0; i < p->nimages; i++)
		record_put_str(&w, p->images[i], strlen(p->images[i]));
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	product_key(key, p->id);
	rc = v.mv_data ? store_status_from_mdb(mdb_put(txn, pr->products, &k, &v, flags)) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

/* True when the store sells; a store that cannot be read does not. */
static bool product_store_sells(struct products *pr, MDB_txn *txn, uint64_t merchant_id)
{
	struct merchant mc;
	return merchants_get(pr->merchants, txn, merchant_id, &mc) == STORE_OK && merchants_is_selling(&mc);
}

bool products_is_listed(struct products *pr, MDB_txn *txn, const struct product *p)
{
	return p->active && product_store_sells(pr, txn, p->merchant_id);
}

static void product_entry(const struct product *p, struct catalogue_entry *e)
{
	e->id = p->id;
	e->merchant_id = p->merchant_id;
	e->price = p->price;
	e->category = p->category;
	e->title = p->title;
	e->description = p->description;
}

/* True when the catalogue's entries of a and b are the same. */
static bool product_same_entry(const struct product *a, const struct product *b)
{
	return a->price == b->price && strcmp(a->category, b->category) == 0 && strcmp(a->title, b->title) == 0 &&
	       strcmp(a->description, b->description) == 0;
}

/*
 * Brings the catalogue from `before` (NULL: not indexed) to `after` (NULL:
 * not listed), and counts the change. Returns 0 or a STORE_* status.
 */
static int product_reindex(struct products *pr, MDB_txn *txn, const struct product *before,
			   const struct product *after)
{
	struct catalogue_entry e;
	int rc = STORE_OK;
	if (!(before && after && product_same_entry(before, after))) {
		if (before) {
			product_entry(before, &e);
			rc = catalogue_remove(pr->cat, txn, &e);
		}
		if (rc == STORE_OK && after) {
			product_entry(after, &e);
			rc = catalogue_add(pr->cat, txn, &e);
		}
	}
	return rc == STORE_OK ? catalogue_bump(pr->cat, txn) : rc;
}

/* The merchants' status listener: lists or unlists the store's active products. */
static int product_on_status(MDB_txn *txn, const struct merchant *mc, uint8_t was, void *ctx)
{
	struct products *pr = ctx;
	struct merchant before = *mc;
	struct product *p;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t key[16];
	bool now;
	int rc;

	before.status = was;
	now = merchants_is_selling(mc);
	if (merchants_is_selling(&before) == now)
		return STORE_OK;
	p = malloc(sizeof(*p));
	if (!p)
		return STORE_ENOMEM;
	if ((rc = mdb_cursor_open(txn, pr->by_store, &cur)) != 0) {
		rc = store_status_from_mdb(rc);
		goto free_product;
	}
	catalogue_put_u64(key, mc->id);
	catalogue_put_u64(key + 8, 0);
	k.mv_size = sizeof(key);
	k.mv_data = key;
	/* Every product of the store, in one transaction: bounded by what the store sells. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == 16 && memcmp(k.mv_data, key, 8) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((rc = products_get(pr, txn, catalogue_get_u64((const uint8_t *)k.mv_data + 8), p)) != STORE_OK)
			break;
		if (p->active && (rc = product_reindex(pr, txn, now ? NULL : p, now ? p : NULL)) != STORE_OK)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND || rc == 0)
		rc = catalogue_bump(pr->cat, txn);
free_product:
	free(p);
	return store_status_from_mdb(rc);
}

/* Changes the stock by delta within txn, keeping it in 0..PRODUCT_STOCK_MAX. */
static int product_move_stock(struct products *pr, MDB_txn *txn, uint64_t id, int64_t qty, bool take,
			      struct product *out)
{
	struct product *p = malloc(sizeof(*p));
	int rc;
	if (!p)
		return STORE_ENOMEM;
	if (qty < 1 || qty > PRODUCT_STOCK_MAX)
		rc = PRODUCTS_EINVAL;
	else
		rc = products_get(pr, txn, id, p);
	if (rc != STORE_OK)
		goto free_product;
	if (take && !products_is_listed(pr, txn, p))
		rc = PRODUCTS_ENOTSOLD;
	else if (take && p->stock < qty)
		rc = PRODUCTS_EINSUFFICIENT;
	if (rc != STORE_OK)
		goto free_product;
	p->stock = take ? p->stock - qty : (p->stock > PRODUCT_STOCK_MAX - qty ? PRODUCT_STOCK_MAX : p->stock + qty);
	p->updated_ms = clock_now_ms();
	/* Stock is in no index; the counter still moves because listings show it. */
	if ((rc = product_put(pr, txn, p, 0)) == STORE_OK)
		rc = catalogue_bump(pr->cat, txn);
	if (rc == STORE_OK && out)
		*out = *p;
free_product:
	free(p);
	return rc;
}

int products_reserve(struct products *pr, MDB_txn *txn, uint64_t product_id, int64_t qty, struct product *out)
{
	return product_move_stock(pr, txn, product_id, qty, true, out);
}

int products_release(struct products *pr, MDB_txn *txn, uint64_t product_id, int64_t qty)
{
	return product_move_stock(pr, txn, product_id, qty, false, NULL);
}

/* --- JSON --- */

/*
 * Product JSON written straight into a buffer: the bytes json_pack and
 * json_dumps (compact, keys in order) would print, without a tree of
 * allocations per field (that tree cost a listing most of its time).
 * `failed` sticks after an allocation failure. The buffer grows with what
 * is written: a listed product is at most about 9 KiB (8 image URLs of 500
 * bytes, where only quotes and backslashes take two), a page of
 * CATALOGUE_LIMIT_MAX of them under 1 MiB; a full product adds the
 * description (2,000 bytes, control characters six each).
 */
struct product_text {
	char *data;
	size_t len, cap;
	bool failed;
};

static void text_put(struct product_text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->cap - t->len < n) {
		size_t cap = t->cap ? t->cap : PRODUCT_TEXT_FIRST;
		char *data;
		while (cap - t->len < n)
			cap *= 2;
		if (!(data = realloc(t->data, cap))) {
			t->failed = true;
			return;
		}
		t->data = data;
		t->cap = cap;
	}
	memcpy(t->data + t->len, s, n);
	t->len += n;
}

static void text_lit(struct product_text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

static void text_int(struct product_text *t, int64_t v)
{
	char digits[24];
	size_t n = sizeof(digits);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do
		digits[--n] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		digits[--n] = '-';
	text_put(t, digits + n, sizeof(digits) - n);
}

/*
 * A JSON string. Stored text came through jansson's UTF-8 check on the way
 * in, so bytes >= 0x80 go out as they are; escapes are jansson's.
 */
static void text_str(struct product_text *t, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run = s;
	text_put(t, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
		size_t n = 2;
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		text_put(t, run, (size_t)(s - run));
		run = s + 1;
		if (ch == '"' || ch == '\\')
			esc[1] = (char)ch;
		else if (ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' || ch == '\t')
			esc[1] = ch == '\b' ? 'b' : ch == '\f' ? 'f' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't';
		else
			n = 6;
		text_put(t, esc, n);
	}
	text_put(t, run, (size_t)(s - run));
	text_put(t, "\"", 1);
}

/* A product as JSON; `full` adds the description (listings leave it out). */
static void product_render(struct product_text *t, const struct product *p, bool full, bool listed)
{
	text_lit(t, "{\"id\":");
	text_int(t, (int64_t)p->id);
	text_lit(t, ",\"merchant_id\":");
	text_int(t, (int64_t)p->merchant_id);
	text_lit(t, ",\"title\":");
	text_str(t, p->title);
	text_lit(t, ",\"price\":");
	text_int(t, p->price);
	text_lit(t, ",\"stock\":");
	text_int(t, p->stock);
	text_lit(t, ",\"weight_g\":");
	text_int(t, p->weight_g);
	text_lit(t, ",\"category\":");
	text_str(t, p->category);
	text_lit(t, ",\"images\":[");
	for (uint8_t i = 0; i < p->nimages; i++) {
		if (i)
			text_put(t, ",", 1);
		text_str(t, p->images[i]);
	}
	text_lit(t, p->active ? "],\"active\":true" : "],\"active\":false");
	text_lit(t, listed ? ",\"listed\":true" : ",\"listed\":false");
	text_lit(t, ",\"created_ms\":");
	text_int(t, p->created_ms);
	text_lit(t, ",\"updated_ms\":");
	text_int(t, p->updated_ms);
	if (full) {
		text_lit(t, ",\"description\":");
		text_str(t, p->description);
	}
	text_put(t, "}", 1);
}

/* Replies with t's bytes (500 when writing them failed) and frees them. */
static void product_reply_text(struct httpd_req *req, int status, struct product_text *t)
{
	if (t->failed)
		httpd_reply_error(req, 500, "internal", "out of memory");
	else
		httpd_reply_raw(req, status, PRODUCT_JSON_TYPE, t->data, t->len);
	free(t->data);
	*t = (struct product_text){ 0 };
}

/* Replies with one product in full. */
static void product_reply(struct httpd_req *req, int status, const struct product *p, bool listed)
{
	struct product_text t = { 0 };
	product_render(&t, p, true, listed);
	product_reply_text(req, status, &t);
}

/* --- request bodies --- */

/* True when every byte is a character of a one-line text (no control characters). */
static bool product_text_ok(const char *s, bool multiline)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch < 0x20 && !(multiline && (ch == '\n' || ch == '\r' || ch == '\t'))) || ch == 0x7f)
			return false;
	}
	return true;
}

/* An image URL: http(s)://, printable ASCII without blanks. */
static bool product_url_ok(const char *s)
{
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

static void product_read_images(struct body_check *c, const json_t *list, struct product *out)
{
	size_t i;
	json_t *item;
	if (!json_is_array(list) || json_array_size(list) > PRODUCT_IMAGES_MAX) {
		body_fail(c, "images", "must be a list of at most 8 URLs");
		return;
	}
	json_array_foreach(list, i, item) {
		const char *url = json_string_value(item);
		if (!url || strlen(url) > PRODUCT_IMAGE_URL_MAX || !product_url_ok(url)) {
			body_fail(c, "images", "must hold http:// or https:// URLs of at most 500 bytes");
			return;
		}
		strcpy(out->images[i], url);
	}
	out->nimages = (uint8_t)json_array_size(list);
}

/*
 * Reads a create (every required field) or an update (any field) body into
 * op->in and op->fields; a field that is present must be valid (null is
 * not a value). Replies 400 and returns -1 when something is wrong or
 * unknown.
 */
static int product_read_body(struct httpd_req *req, const json_t *body, bool create, struct product_op *op)
{
	struct body_check c = { 0 };
	struct product *in = &op->in;
	const char *key, *s;
	json_t *value;
	json_object_foreach((json_t *)body, key, value) {
		size_t i = 0;
		while (i < PRODUCT_NFIELDS && strcmp(key, product_field_names[i]) != 0)
			i++;
		if (i == PRODUCT_NFIELDS) {
			httpd_reply_error(req, 400, "unknown_field", "%.64s is not a field of a product", key);
			return -1;
		}
		op->fields |= 1u << i;
	}
	if ((s = body_str(&c, body, "title", create || (op->fields & PF_TITLE), 1, PRODUCT_TITLE_MAX)))
		strcpy(in->title, s);
	if (s && !product_text_ok(s, false))
		body_fail(&c, "title", "must not hold control characters");
	if ((s = body_str(&c, body, "description", op->fields & PF_DESCRIPTION, 0, PRODUCT_DESCRIPTION_MAX)))
		strcpy(in->description, s);
	if (s && !product_text_ok(s, true))
		body_fail(&c, "description", "must not hold control characters other than line breaks and tabs");
	in->price = body_int(&c, body, "price", create || (op->fields & PF_PRICE), 1, QRIS_AMOUNT_MAX, 0);
	in->stock = body_int(&c, body, "stock", op->fields & PF_STOCK, 0, PRODUCT_STOCK_MAX, 0);
	in->weight_g = body_int(&c, body, "weight_g", op->fields & PF_WEIGHT, 0, PRODUCT_WEIGHT_MAX, 0);
	if ((s = body_str(&c, body, "category", create || (op->fields & PF_CATEGORY), 1, PRODUCT_CATEGORY_MAX)))
		strcpy(in->category, s);
	if (s && !catalogue_category_ok(s))
		body_fail(&c, "category", "must be 1 to 32 of a-z, 0-9 and -");
	if (!c.failed && (op->fields & PF_IMAGES))
		product_read_images(&c, json_object_get(body, "images"), in);
	in->active = body_bool(&c, body, "active", op->fields & PF_ACTIVE, true);
	if (c.failed) {
		httpd_reply_error(req, 400, "invalid_field", "%s %s", c.field, c.reason);
		return -1;
	}
	return 0;
}

/* Copies the fields that came from `in` into p. */
static void product_patch(struct product *p, const struct product *in, unsigned fields)
{
	if (fields & PF_TITLE)
		strcpy(p->title, in->title);
	if (fields & PF_DESCRIPTION)
		strcpy(p->description, in->description);
	if (fields & PF_PRICE)
		p->price = in->price;
	if (fields & PF_STOCK)
		p->stock = in->stock;
	if (fields & PF_WEIGHT)
		p->weight_g = in->weight_g;
	if (fields & PF_CATEGORY)
		strcpy(p->category, in->category);
	if (fields & PF_IMAGES) {
		memcpy(p->images, in->images, sizeof(p->images));
		p->nimages = in->nimages;
	}
	if (fields & PF_ACTIVE)
		p->active = in->active;
}

/* --- write jobs --- */

static int product_apply_create(MDB_txn *txn, void *arg)
{
	struct product_op *op = arg;
	struct products *pr = op->pr;
	struct idem_entry e;
	struct merchant mc;
	MDB_cursor *cur;
	MDB_val k, v, empty = { 0, NULL };
	uint8_t key[16];
	int rc = idem_lookup(pr->idem, txn, &op->idem, &e);

	op->http_status = 201;
	if (rc == IDEM_REPLAY) {
		/* A twin committed first: answer as it did, with the product as it is now. */
		op->http_status = e.status;
		return e.ref_len == 8 ? products_get(pr, txn, catalogue_get_u64(e.ref), &op->out) : STORE_ECORRUPT;
	}
	if (rc == IDEM_CONFLICT)
		return rc;
	if (rc != IDEM_NEW)
		return rc;
	if ((rc = merchants_get(pr->merchants, txn, op->in.merchant_id, &mc)) != STORE_OK)
		return rc;
	op->out = op->in;
	if ((rc = mdb_cursor_open(txn, pr->products, &cur)) != 0)
		return store_status_from_mdb(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		op->out.id = 1;
	else if (rc == 0 && k.mv_size == 8)
		op->out.id = catalogue_get_u64(k.mv_data) + 1;
	else
		return rc ? store_status_from_mdb(rc) : STORE_ECORRUPT;
	op->out.created_ms = op->out.updated_ms = clock_now_ms();
	if ((rc = product_put(pr, txn, &op->out, MDB_APPEND)) != STORE_OK)
		return rc;
	catalogue_put_u64(key, op->out.merchant_id);
	catalogue_put_u64(key + 8, op->out.id);
	k.mv_size = sizeof(key);
	k.mv_data = key;
	if ((rc = mdb_put(txn, pr->by_store, &k, &empty, 0)) != 0)
		return store_status_from_mdb(rc);
	rc = product_reindex(pr, txn, NULL, op->out.active && merchants_is_selling(&mc) ? &op->out : NULL);
	if (rc != STORE_OK)
		return rc;
	return idem_save(pr->idem, txn, &op->idem, 201, key + 8, 8, op->out.created_ms);
}

static int product_apply_update(MDB_txn *txn, void *arg)
{
	struct product_op *op = arg;
	struct products *pr = op->pr;
	struct product *before = malloc(sizeof(*before));
	bool was, now;
	int rc;

	op->http_status = 200;
	if (!before)
		return STORE_ENOMEM;
	if ((rc = products_get(pr, txn, op->in.id, before)) != STORE_OK)
		goto free_before;
	op->out = *before;
	product_patch(&op->out, &op->in, op->fields);
	op->out.updated_ms = clock_now_ms();
	was = products_is_listed(pr, txn, before);
	now = products_is_listed(pr, txn, &op->out);
	if ((rc = product_put(pr, txn, &op->out, 0)) == STORE_OK)
		rc = product_reindex(pr, txn, was ? before : NULL, now ? &op->out : NULL);
free_before:
	free(before);
	return rc;
}

static void product_op_done(int status, void *arg)
{
	struct product_op *op = arg;
	MDB_txn *txn;
	bool listed = false;
	if (status == IDEM_CONFLICT)
		idem_reply_conflict(op->req);
	else if (status == STORE_ENOTFOUND)
		httpd_reply_error(op->req, 404, "not_found", "no such product or store");
	else if (status != STORE_OK)
		httpd_reply_store_error(op->req, status);
	else {
		if (store_read_begin(op->pr->store, &txn) == STORE_OK) {
			listed = products_is_listed(op->pr, txn, &op->out);
			store_read_end(op->pr->store, txn);
		}
		product_reply(op->req, op->http_status, &op->out, listed);
	}
	free(op);
}

/* --- handlers --- */

/* Loads the store named by {id}. Replies 404 and returns -1 when there is none. */
static int product_load_store(struct products *pr, struct httpd_req *req, MDB_txn *txn, struct merchant *mc)
{
	uint64_t id;
	int rc = httpd_param_u64(req, "id", &id) == 0 ? merchants_get(pr->merchants, txn, id, mc) : STORE_ENOTFOUND;
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such store");
	else if (rc != STORE_OK)
		httpd_reply_store_error(req, rc);
	return rc == STORE_OK ? 0 : -1;
}

static struct product_op *product_op_new(struct products *pr, struct httpd_req *req)
{
	struct product_op *op = calloc(1, sizeof(*op));
	if (!op) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	op->pr = pr;
	op->req = req;
	return op;
}

static void product_submit(struct product_op *op, store_apply_fn apply)
{
	int rc = store_submit(op->pr->store, apply, product_op_done, op);
	if (rc != STORE_OK) {
		httpd_reply_store_error(op->req, rc);
		free(op);
	}
}

/*
 * Checks a create against the store and the Idempotency-Key in one read
 * transaction. Returns 0 when the job should run; otherwise it replied
 * (404, 403, a replay, 409) and returns -1.
 */
static int product_create_check(struct products *pr, struct httpd_req *req, struct product_op *op)
{
	struct merchant mc;
	struct idem_entry e;
	bool replay = false, listed = false;
	MDB_txn *txn;
	int rc = store_read_begin(pr->store, &txn);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	if (product_load_store(pr, req, txn, &mc) != 0) {
		store_read_end(pr->store, txn);
		return -1;
	}
	op->in.merchant_id = mc.id;
	rc = idem_lookup(pr->idem, txn, &op->idem, &e);
	if (rc == IDEM_REPLAY) {
		rc = e.ref_len == 8 ? products_get(pr, txn, catalogue_get_u64(e.ref), &op->out) : STORE_ECORRUPT;
		replay = rc == STORE_OK;
		listed = replay && products_is_listed(pr, txn, &op->out);
	}
	store_read_end(pr->store, txn);
	if (!merchants_may_manage(&mc, httpd_principal(req)))
		httpd_reply_error(req, 403, "forbidden", "not your store");
	else if (replay)
		product_reply(req, e.status, &op->out, listed);
	else if (rc == IDEM_CONFLICT)
		idem_reply_conflict(req);
	else if (rc != IDEM_NEW)
		httpd_reply_store_error(req, rc);
	else
		return 0;
	return -1;
}

static void product_handle_create(struct httpd_req *req, void *ctx)
{
	struct products *pr = ctx;
	struct product_op *op;
	json_t *body;

	if (!(op = product_op_new(pr, req)))
		return;
	if (idem_begin(req, PRODUCT_IDEM_SCOPE, &op->idem) != 0 || httpd_json_body(req, &body) != 0)
		goto free_op;
	if (product_read_body(req, body, true, op) != 0 || product_create_check(pr, req, op) != 0)
		goto free_op;
	product_submit(op, product_apply_create);
	return;
free_op:
	free(op);
}

/*
 * What the caller is to p: a manager (owner, admin: sees every product), and
 * whether p is listed (everyone sees it). A product whose store cannot be
 * found is neither. OUT: *manager, *listed. Returns 0 or a STORE_* status.
 */
static int product_visibility(struct products *pr, MDB_txn *txn, const struct product *p,
			      const struct httpd_principal *who, bool *manager, bool *listed)
{
	struct merchant mc;
	int rc = merchants_get(pr->merchants, txn, p->merchant_id, &mc);
	*manager = rc == STORE_OK && merchants_may_manage(&mc, who);
	*listed = rc == STORE_OK && p->active && merchants_is_selling(&mc);
	return rc == STORE_ENOTFOUND ? STORE_OK : rc;
}

/*
 * Loads the product named by {id} for the caller: managers (owner, admin)
 * see every product, others only listed ones. Replies 404 and returns -1
 * otherwise. OUT: *p, *manager, *listed.
 */
static int product_for_caller(struct products *pr, struct httpd_req *req, struct product *p, bool *manager,
			      bool *listed)
{
	uint64_t id;
	MDB_txn *txn;
	int rc;
	if (httpd_param_u64(req, "id", &id) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such product");
		return -1;
	}
	if ((rc = store_read_begin(pr->store, &txn)) != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	*manager = *listed = false;
	rc = products_get(pr, txn, id, p);
	if (rc == STORE_OK)
		rc = product_visibility(pr, txn, p, httpd_principal(req), manager, listed);
	store_read_end(pr->store, txn);
	if (rc != STORE_OK && rc != STORE_ENOTFOUND) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	if (!*manager && !*listed) {
		httpd_reply_error(req, 404, "not_found", "no such product");
		return -1;
	}
	return 0;
}

static void product_handle_get(struct httpd_req *req, void *ctx)
{
	struct product *p = malloc(sizeof(*p));
	bool manager, listed;
	if (!p) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (product_for_caller(ctx, req, p, &manager, &listed) == 0)
		product_reply(req, 200, p, listed);
	free(p);
}

static void product_handle_update(struct httpd_req *req, void *ctx)
{
	struct products *pr = ctx;
	struct product_op *op;
	bool manager, listed;
	json_t *body;

	if (!(op = product_op_new(pr, req)))
		return;
	if (httpd_json_body(req, &body) != 0)
		goto free_op;
	if (product_read_body(req, body, false, op) != 0 || product_for_caller(pr, req, &op->out, &manager, &listed) != 0)
		goto free_op;
	if (!manager) {
		httpd_reply_error(req, 403, "forbidden", "not your store");
		goto free_op;
	}
	op->in.id = op->out.id;
	product_submit(op, product_apply_update);
	return;
free_op:
	free(op);
}

/* --- listings --- */

/*
 * Sets the ETag of a listing: the catalogue's change counter and a hash of
 * the request. True when the client already has it (the caller answers 304
 * once its read transaction ended).
 */
static bool product_etag(struct httpd_req *req, uint64_t version, uint64_t hash)
{
	char etag[PRODUCT_ETAG_MAX];
	const char *have = httpd_header(req, "If-None-Match");
	snprintf(etag, sizeof(etag), "\"%016" PRIx64 "%016" PRIx64 "\"", version, hash);
	httpd_set_header(req, "ETag", etag);
	httpd_set_header(req, "Cache-Control", "no-cache");
	return have && (strstr(have, etag) || strcmp(have, "*") == 0);
}

static void product_params(struct httpd_req *req, struct catalogue_params *p)
{
	p->q = httpd_query(req, "q");
	p->category = httpd_query(req, "category");
	p->merchant_id = httpd_query(req, "merchant_id");
	p->min_price = httpd_query(req, "min_price");
	p->max_price = httpd_query(req, "max_price");
	p->sort = httpd_query(req, "sort");
	p->cursor = httpd_query(req, "cursor");
	p->limit = httpd_query(req, "limit");
}

/*
 * Renders a page from txn: {"products": [...], "next_cursor": ...}.
 * `listed` says every product is (a catalogue query); otherwise each one's
 * store is read. Returns 0 or a STORE_* status (t may hold a part then).
 */
static int product_page_render(struct products *pr, MDB_txn *txn, const uint64_t *ids, size_t n, bool listed,
			       const char *next_cursor, struct product_text *t)
{
	/* One product record at a time, reused: a page never holds more than one. */
	struct product *p = malloc(sizeof(*p));
	int rc = p ? STORE_OK : STORE_ENOMEM;
	text_lit(t, "{\"products\":[");
	for (size_t i = 0; rc == STORE_OK && i < n; i++) {
		if ((rc = products_get(pr, txn, ids[i], p)) != STORE_OK)
			break;
		if (i)
			text_put(t, ",", 1);
		product_render(t, p, false, listed || products_is_listed(pr, txn, p));
	}
	free(p);
	text_lit(t, "],\"next_cursor\":");
	if (next_cursor[0])
		text_str(t, next_cursor);
	else
		text_lit(t, "null");
	text_lit(t, "}");
	return rc;
}

/*
 * Answers a catalogue query (public view) from one read transaction: 304
 * when the client has the tag, else the cached page of this counter, else
 * a page rendered now and kept.
 */
static void product_reply_query(struct products *pr, struct httpd_req *req, const struct catalogue_query *q)
{
	struct catalogue_page *page = NULL;
	struct product_text t = { 0 };
	const char *cached;
	size_t cached_len;
	uint64_t version;
	MDB_txn *txn;
	int rc = store_read_begin(pr->store, &txn);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return;
	}
	if ((rc = catalogue_version(pr->cat, txn, &version)) == STORE_OK &&
	    product_etag(req, version, catalogue_query_hash(q, true))) {
		store_read_end(pr->store, txn);
		httpd_reply_raw(req, 304, NULL, NULL, 0);
		return;
	}
	if (rc == STORE_OK && catalogue_cache_get(pr->pages, version, q, &cached, &cached_len) == STORE_OK) {
		store_read_end(pr->store, txn);
		httpd_reply_raw(req, 200, PRODUCT_JSON_TYPE, cached, cached_len);
		return;
	}
	if (rc == STORE_OK && !(page = malloc(sizeof(*page))))
		rc = STORE_ENOMEM;
	if (rc == STORE_OK)
		rc = catalogue_find(pr->cat, txn, q, page);
	if (rc == STORE_OK)
		rc = product_page_render(pr, txn, page->ids, page->n, true, page->next_cursor, &t);
	store_read_end(pr->store, txn);
	free(page);
	/* A page that cannot be kept is still answered: the cache only saves work. */
	if (rc == STORE_OK && !t.failed)
		(void)catalogue_cache_put(pr->pages, version, q, t.data, t.len);
	if (rc != STORE_OK) {
		free(t.data);
		httpd_reply_store_error(req, rc);
	} else {
		product_reply_text(req, 200, &t);
	}
}

/*
 * Reads a list of 1..PRODUCT_IDS_MAX product ids: positive decimal numbers
 * separated by commas; an id given twice is kept once. OUT: ids (room for
 * PRODUCT_IDS_MAX), *n. Returns 0, or -1 when text is not such a list.
 */
static int product_ids_parse(const char *text, uint64_t *ids, size_t *n)
{
	size_t given = 0;
	*n = 0;
	for (const char *s = text;; s++) {
		const char *start = s;
		uint64_t id = 0;
		bool seen = false;
		for (; *s >= '0' && *s <= '9'; s++) {
			/* Product ids are int64 in every answer. */
			if (id > (INT64_MAX - (uint64_t)(*s - '0')) / 10)
				return -1;
			id = id * 10 + (uint64_t)(*s - '0');
		}
		if (s == start || id == 0 || (*s != ',' && *s != '\0') || ++given > PRODUCT_IDS_MAX)
			return -1;
		for (size_t i = 0; i < *n && !seen; i++)
			seen = ids[i] == id;
		if (!seen)
			ids[(*n)++] = id;
		if (*s == '\0')
			return 0;
	}
}

/*
 * The products of `ids` the caller sees (as product_for_caller), in the
 * order asked, and the ids of the others under "missing": the cart's
 * lines in one read transaction.
 */
static void product_reply_ids(struct products *pr, struct httpd_req *req, const uint64_t *ids, size_t n)
{
	struct product *p = malloc(sizeof(*p));
	struct product_text t = { 0 };
	uint64_t missing[PRODUCT_IDS_MAX];
	size_t nmissing = 0, shown = 0;
	MDB_txn *txn;
	int rc = p ? store_read_begin(pr->store, &txn) : STORE_ENOMEM;
	if (rc != STORE_OK) {
		free(p);
		httpd_reply_store_error(req, rc);
		return;
	}
	text_lit(&t, "{\"products\":[");
	for (size_t i = 0; rc == STORE_OK && i < n; i++) {
		bool manager = false, listed = false;
		rc = products_get(pr, txn, ids[i], p);
		if (rc == STORE_OK)
			rc = product_visibility(pr, txn, p, httpd_principal(req), &manager, &listed);
		if (rc == STORE_ENOTFOUND || (rc == STORE_OK && !manager && !listed)) {
			missing[nmissing++] = ids[i];
			rc = STORE_OK;
		} else if (rc == STORE_OK) {
			if (shown++)
				text_put(&t, ",", 1);
			product_render(&t, p, false, listed);
		}
	}
	store_read_end(pr->store, txn);
	free(p);
	text_lit(&t, "],\"missing\":[");
	for (size_t i = 0; i < nmissing; i++) {
		if (i)
			text_put(&t, ",", 1);
		text_int(&t, (int64_t)missing[i]);
	}
	text_lit(&t, "]}");
	if (rc != STORE_OK) {
		free(t.data);
		httpd_reply_store_error(req, rc);
	} else {
		product_reply_text(req, 200, &t);
	}
}

/* ids=: the batch read, which takes no other parameter; else a catalogue query. */
static void product_handle_list(struct httpd_req *req, void *ctx)
{
	struct catalogue_params p;
	struct catalogue_query q;
	const char *bad, *ids_text = httpd_query(req, "ids");
	uint64_t ids[PRODUCT_IDS_MAX];
	size_t n;
	product_params(req, &p);
	if (ids_text &&
	    (p.q || p.category || p.merchant_id || p.min_price || p.max_price || p.sort || p.cursor || p.limit)) {
		httpd_reply_error(req, 400, "invalid_field", "ids takes no other parameter");
		return;
	}
	if (ids_text && product_ids_parse(ids_text, ids, &n) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "ids must be 1 to %d positive whole numbers, comma-separated",
				  PRODUCT_IDS_MAX);
		return;
	}
	if (ids_text) {
		product_reply_ids(ctx, req, ids, n);
		return;
	}
	if (catalogue_query_parse(&p, &q, &bad) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "%s is not valid", bad);
		return;
	}
	product_reply_query(ctx, req, &q);
}

/* Reads the owner's view's cursor and limit. Replies 400 and returns -1 when one is wrong. */
static int product_store_page_params(struct httpd_req *req, uint64_t *after, unsigned *limit)
{
	const char *cursor = httpd_query(req, "cursor");
	struct catalogue_params p = { .limit = httpd_query(req, "limit") };
	struct catalogue_query q;
	const char *bad;
	*after = UINT64_MAX;
	if (cursor && (strlen(cursor) != PRODUCT_ID_CURSOR || strspn(cursor, "0123456789abcdef") != PRODUCT_ID_CURSOR)) {
		httpd_reply_error(req, 400, "invalid_field", "cursor is not valid");
		return -1;
	}
	if (cursor)
		*after = strtoull(cursor, NULL, 16);
	if (catalogue_query_parse(&p, &q, &bad) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "%s is not valid", bad);
		return -1;
	}
	*limit = q.limit;
	return 0;
}

/* The ids of a store's products before `after`, newest first. OUT: ids, *n, next (the cursor or ""). */
static int product_store_ids(struct products *pr, MDB_txn *txn, uint64_t merchant_id, uint64_t after, unsigned limit,
			     uint64_t *ids, size_t *n, char *next)
{
	uint8_t key[16];
	MDB_cursor *cur;
	MDB_val k = { sizeof(key), key }, v;
	int rc = mdb_cursor_open(txn, pr->by_store, &cur);
	*n = 0;
	next[0] = '\0';
	if (rc != 0)
		return store_status_from_mdb(rc);
	catalogue_put_u64(key, merchant_id);
	catalogue_put_u64(key + 8, after);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = mdb_cursor_get(cur, &k, &v, rc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
	for (; rc == 0 && k.mv_size == 16 && memcmp(k.mv_data, key, 8) == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		if (*n == limit) {
			snprintf(next, PRODUCT_ID_CURSOR + 1, "%016" PRIx64, ids[*n - 1]);
			break;
		}
		ids[(*n)++] = catalogue_get_u64((const uint8_t *)k.mv_data + 8);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : store_status_from_mdb(rc);
}

/* The owner's view of a store: every product, active or not, newest first, paged by id. */
static void product_reply_store_all(struct products *pr, struct httpd_req *req, uint64_t merchant_id)
{
	uint64_t ids[CATALOGUE_LIMIT_MAX], after, version;
	unsigned limit;
	char next[PRODUCT_ID_CURSOR + 1];
	size_t n = 0;
	struct product_text t = { 0 };
	bool fresh = false;
	MDB_txn *txn;
	int rc;

	if (product_store_page_params(req, &after, &limit) != 0)
		return;
	if ((rc = store_read_begin(pr->store, &txn)) != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return;
	}
	if ((rc = catalogue_version(pr->cat, txn, &version)) == STORE_OK)
		fresh = product_etag(req, version, (merchant_id * 0x9e3779b97f4a7c15ull) ^ after ^ limit);
	if (rc == STORE_OK && !fresh)
		rc = product_store_ids(pr, txn, merchant_id, after, limit, ids, &n, next);
	if (rc == STORE_OK && !fresh)
		rc = product_page_render(pr, txn, ids, n, false, next, &t);
	store_read_end(pr->store, txn);
	if (rc != STORE_OK) {
		free(t.data);
		httpd_reply_store_error(req, rc);
	} else if (fresh) {
		httpd_reply_raw(req, 304, NULL, NULL, 0);
	} else {
		product_reply_text(req, 200, &t);
	}
}

static void product_handle_store_list(struct httpd_req *req, void *ctx)
{
	struct products *pr = ctx;
	struct catalogue_params p;
	struct catalogue_query q;
	struct merchant mc;
	char id_text[24];
	const char *bad;
	MDB_txn *txn;
	int rc = store_read_begin(pr->store, &txn);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return;
	}
	rc = product_load_store(pr, req, txn, &mc);
	store_read_end(pr->store, txn);
	if (rc != 0)
		return;
	if (merchants_may_manage(&mc, httpd_principal(req))) {
		product_reply_store_all(pr, req, mc.id);
		return;
	}
	if (!merchants_is_selling(&mc)) {
		httpd_reply_error(req, 404, "not_found", "no such store");
		return;
	}
	product_params(req, &p);
	snprintf(id_text, sizeof(id_text), "%" PRIu64, mc.id);
	p.merchant_id = id_text;
	if (catalogue_query_parse(&p, &q, &bad) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "%s is not valid", bad);
		return;
	}
	product_reply_query(pr, req, &q);
}

static void product_category_json(const char *name, uint64_t count, void *ctx)
{
	json_array_append_new(ctx, json_pack("{s:s, s:I}", "category", name, "count", (json_int_t)count));
}

static void product_handle_categories(struct httpd_req *req, void *ctx)
{
	struct products *pr = ctx;
	json_t *list = json_array();
	uint64_t version;
	bool fresh = false;
	MDB_txn *txn;
	int rc = list ? store_read_begin(pr->store, &txn) : STORE_ENOMEM;
	if (rc != STORE_OK) {
		json_decref(list);
		httpd_reply_store_error(req, rc);
		return;
	}
	if ((rc = catalogue_version(pr->cat, txn, &version)) == STORE_OK)
		fresh = product_etag(req, version, 0);
	if (rc == STORE_OK && !fresh)
		rc = catalogue_categories(pr->cat, txn, product_category_json, list);
	store_read_end(pr->store, txn);
	if (rc != STORE_OK || fresh) {
		json_decref(list);
		if (fresh)
			httpd_reply_json(req, 304, NULL);
		else
			httpd_reply_store_error(req, rc);
		return;
	}
	httpd_reply_json(req, 200, json_pack("{s:o}", "categories", list));
}

/* --- set-up --- */

int products_open(struct store *store, struct merchants *merchants, struct idem *idem, struct products **out)
{
	struct products *pr = calloc(1, sizeof(*pr));
	int rc;
	if (!pr)
		return STORE_ENOMEM;
	pr->store = store;
	pr->merchants = merchants;
	pr->idem = idem;
	if ((rc = store_dbi_open(store, "products", 0, &pr->products)) != STORE_OK ||
	    (rc = store_dbi_open(store, "product_store", 0, &pr->by_store)) != STORE_OK ||
	    (rc = catalogue_open(store, &pr->cat)) != STORE_OK ||
	    (rc = catalogue_cache_new(CATALOGUE_CACHE_ENTRIES, CATALOGUE_CACHE_BYTES, &pr->pages)) != STORE_OK) {
		catalogue_free(pr->cat);
		free(pr);
		return rc;
	}
	merchants_on_status(merchants, product_on_status, pr);
	*out = pr;
	return STORE_OK;
}

void products_free(struct products *pr)
{
	if (!pr)
		return;
	catalogue_cache_free(pr->pages);
	catalogue_free(pr->cat);
	free(pr);
}

int products_attach(struct products *pr, struct httpd *h)
{
	int rc;
	if ((rc = httpd_route(h, ROUTER_POST, "/api/v1/merchants/{id}/products", ROLE_MERCHANT | ROLE_ADMIN,
			      product_handle_create, pr)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/merchants/{id}/products", ROLE_PUBLIC,
			      product_handle_store_list, pr)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/products", ROLE_PUBLIC, product_handle_list, pr)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/products/{id}", ROLE_PUBLIC, product_handle_get, pr)) ||
	    (rc = httpd_route(h, ROUTER_PUT, "/api/v1/products/{id}", ROLE_MERCHANT | ROLE_ADMIN,
			      product_handle_update, pr)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/categories", ROLE_PUBLIC, product_handle_categories, pr)))
		return rc;
	return 0;
}
