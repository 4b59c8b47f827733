#include "merchants.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "body.h"
#include "clock.h"
#include "httpd.h"
#include "idem.h"
#include "qr.h"
#include "qris.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define MERCHANT_VERSION 4           /* 4 added the place in the featured list; 3 is a store never featured */
#define MERCHANT_FIELDS 23
#define MERCHANT_FIELDS_V3 22
#define MERCHANT_LAT_MAX 90000000      /* millionths of a degree */
#define MERCHANT_LNG_MAX 180000000
/* The platform's acquirer template (tag 26) in every merchant's static QRIS. */
#define MERCHANT_QRIS_GUID "ID.CO.BANGSOLEH.WWW"
#define MERCHANT_QRIS_PAN_PREFIX "93600999"
#define MERCHANT_LIST_MAX 100       /* stores per page */
#define MERCHANT_SCAN_MAX 2000      /* records one listing request reads at most */

struct merchants {
	struct store *store;
	struct ledger *ledger;
	struct idem *idem;
	struct auth *auth;
	MDB_dbi dbi, by_owner, featured;
	merchants_status_fn on_status;
	void *on_status_ctx;
};

/* One registration, edit, status or feature change in flight. */
struct merchant_op {
	struct merchants *m;
	struct httpd_req *req;
	struct merchant mc;
	json_t *changes;                 /* an edit's fields (reference held) */
	uint8_t to;                      /* a status change's target */
	uint8_t was;                     /* the status before it */
	bool featured;                   /* a feature change's target */
	uint32_t result;
	int status;                      /* HTTP status of a success */
	bool replay;                     /* an Idempotency-Key seen before: nothing done */
	bool refused;                    /* the change is not allowed from `was` (or too many stores) */
	bool bad_owner;                  /* an admin named an owner who is not a merchant user */
	struct idem_req idem;
};

int merchants_open(struct store *store, struct ledger *ledger, struct idem *idem, struct auth *auth,
		   struct merchants **out)
{
	struct merchants *m = calloc(1, sizeof(*m));
	int rc;
	if (!m)
		return MERCHANTS_ENOMEM;
	m->store = store;
	m->ledger = ledger;
	m->idem = idem;
	m->auth = auth;
	if ((rc = store_dbi_open(store, "merchants", 0, &m->dbi)) != STORE_OK ||
	    (rc = store_dbi_open(store, "merchant_owner", 0, &m->by_owner)) != STORE_OK ||
	    (rc = store_dbi_open(store, "merchant_featured", 0, &m->featured)) != STORE_OK) {
		free(m);
		return rc;
	}
	*out = m;
	return MERCHANTS_OK;
}

void merchants_free(struct merchants *m)
{
	free(m);
}

void merchants_on_status(struct merchants *m, merchants_status_fn fn, void *ctx)
{
	m->on_status = fn;
	m->on_status_ctx = ctx;
}

const char *merchants_status_name(uint8_t status)
{
	switch (status) {
	case MERCHANT_PENDING: return "pending";
	case MERCHANT_VERIFIED: return "verified";
	case MERCHANT_SUSPENDED: return "suspended";
	default: return "unknown";
	}
}

bool merchants_is_selling(const struct merchant *mc)
{
	return mc->status == MERCHANT_VERIFIED;
}

/* The record's strings in their stored order (after owner): one table for reading and writing. */
#define MERCHANT_STR(field) { offsetof(struct merchant, field), sizeof(((struct merchant *)0)->field) }
static const struct {
	size_t offset, size;
} merchant_strs[] = {
	MERCHANT_STR(name), MERCHANT_STR(city), MERCHANT_STR(postal_code), MERCHANT_STR(criteria),
	MERCHANT_STR(nmid), MERCHANT_STR(mcc),
};
static const struct {
	size_t offset, size;
} merchant_profile_strs[] = {
	MERCHANT_STR(category), MERCHANT_STR(description), MERCHANT_STR(address), MERCHANT_STR(phone),
	MERCHANT_STR(hours), MERCHANT_STR(bank_code), MERCHANT_STR(bank_account), MERCHANT_STR(bank_name),
};
#define MERCHANT_NSTRS (sizeof(merchant_strs) / sizeof(merchant_strs[0]))
#define MERCHANT_NPROFILE (sizeof(merchant_profile_strs) / sizeof(merchant_profile_strs[0]))

int merchants_get(struct merchants *m, MDB_txn *txn, uint64_t id, struct merchant *out)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	struct record_reader r;
	uint64_t status;
	int64_t lat = 0, lng = 0;
	int rc;
	record_be64_put(key, id);
	rc = mdb_get(txn, m->dbi, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, MERCHANT_VERSION, MERCHANT_FIELDS_V3) != RECORD_OK)
		return STORE_ECORRUPT;
	/* Version 1 records (before stores had a state) are not read: see docs/api.md, "Stores". */
	if (r.version < 3 || (r.version >= 4 && r.count < MERCHANT_FIELDS)) {
		record_reader_free(&r);
		return STORE_ECORRUPT;
	}
	memset(out, 0, sizeof(*out));
	out->id = id;
	rc = record_get_u64(&r, &out->owner_user_id);
	for (size_t i = 0; rc == 0 && i < MERCHANT_NSTRS; i++)
		rc = record_get_str(&r, (char *)out + merchant_strs[i].offset, merchant_strs[i].size, NULL);
	if (rc == 0)
		rc = record_get_i64(&r, &out->created_ms);
	if (rc == 0)
		rc = record_get_bin_exact(&r, out->payable.b, 16);
	for (size_t i = 0; rc == 0 && i < MERCHANT_NPROFILE; i++)
		rc = record_get_str(&r, (char *)out + merchant_profile_strs[i].offset, merchant_profile_strs[i].size,
				    NULL);
	if (rc == 0 && (rc = record_get_u64(&r, &status)) == 0)
		rc = record_get_i64(&r, &out->status_ms);
	out->status = (uint8_t)status;
	if (rc == 0 && (rc = record_get_bool(&r, &out->has_coords)) == 0 && (rc = record_get_i64(&r, &lat)) == 0)
		rc = record_get_i64(&r, &lng);
	if (rc == 0 && r.version >= 4)
		rc = record_get_u64(&r, &out->featured);
	if (rc == 0 && (lat < -MERCHANT_LAT_MAX || lat > MERCHANT_LAT_MAX || lng < -MERCHANT_LNG_MAX ||
			lng > MERCHANT_LNG_MAX))
		rc = STORE_ECORRUPT;
	out->lat_e6 = (int32_t)lat;
	out->lng_e6 = (int32_t)lng;
	record_reader_free(&r);
	return rc == 0 ? STORE_OK : STORE_ECORRUPT;
}

/* Writes the record (flags: MDB_APPEND for a new store, 0 for an update). */
static int merchant_put(struct merchants *m, MDB_txn *txn, const struct merchant *mc, unsigned flags)
{
	struct record_writer w;
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	size_t len;
	int rc;
	record_writer_init(&w, MERCHANT_VERSION, MERCHANT_FIELDS);
	record_put_u64(&w, mc->owner_user_id);
	for (size_t i = 0; i < MERCHANT_NSTRS; i++) {
		const char *str = (const char *)mc + merchant_strs[i].offset;
		record_put_str(&w, str, strlen(str));
	}
	record_put_i64(&w, mc->created_ms);
	record_put_bin(&w, mc->payable.b, 16);
	for (size_t i = 0; i < MERCHANT_NPROFILE; i++) {
		const char *str = (const char *)mc + merchant_profile_strs[i].offset;
		record_put_str(&w, str, strlen(str));
	}
	record_put_u64(&w, mc->status);
	record_put_i64(&w, mc->status_ms);
	record_put_bool(&w, mc->has_coords);
	record_put_i64(&w, mc->lat_e6);
	record_put_i64(&w, mc->lng_e6);
	record_put_u64(&w, mc->featured);
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	record_be64_put(key, mc->id);
	rc = v.mv_data ? mdb_put(txn, m->dbi, &k, &v, flags) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

bool merchants_may_manage(const struct merchant *mc, const struct httpd_principal *p)
{
	return p && (p->role == ROLE_ADMIN || (p->role == ROLE_MERCHANT && p->user_id == mc->owner_user_id));
}

/* Adds one object to a TLV level (values are checked by qris_encode). */
static void merchant_tlv_add(struct qris_tlv *t, uint8_t id, const char *value)
{
	struct qris_object *o = &t->objects[t->n++];
	o->id = id;
	o->len = (uint8_t)snprintf(o->value, sizeof(o->value), "%s", value);
}

int merchants_static_qris(const struct merchant *mc, char *out, size_t cap)
{
	struct qris_tlv root = { 0 }, acq = { 0 }, central = { 0 }, extra = { 0 };
	char acq_text[QRIS_VALUE_MAX + 1], central_text[QRIS_VALUE_MAX + 1], extra_text[QRIS_VALUE_MAX + 1];
	char pan[20], mid[16], name[26];
	size_t len;
	int rc;
	snprintf(pan, sizeof(pan), "%s%011llu", MERCHANT_QRIS_PAN_PREFIX, (unsigned long long)(mc->id % 100000000000ull));
	snprintf(mid, sizeof(mid), "BS%llu", (unsigned long long)(mc->id % 1000000000000ull));
	snprintf(name, sizeof(name), "%.25s", mc->name);
	merchant_tlv_add(&acq, 0, MERCHANT_QRIS_GUID);
	merchant_tlv_add(&acq, 1, pan);
	merchant_tlv_add(&acq, 2, mid);
	merchant_tlv_add(&acq, 3, mc->criteria);
	merchant_tlv_add(&central, 0, "ID.CO.QRIS.WWW");
	merchant_tlv_add(&central, 2, mc->nmid);
	merchant_tlv_add(&central, 3, mc->criteria);
	merchant_tlv_add(&extra, 7, "A01");
	if ((rc = qris_tlv_text(&acq, QRIS_VALUE_MAX, acq_text, sizeof(acq_text), &len)) != QRIS_OK ||
	    (rc = qris_tlv_text(&central, QRIS_VALUE_MAX, central_text, sizeof(central_text), &len)) != QRIS_OK ||
	    (rc = qris_tlv_text(&extra, QRIS_VALUE_MAX, extra_text, sizeof(extra_text), &len)) != QRIS_OK)
		return rc;
	merchant_tlv_add(&root, 0, "01");
	merchant_tlv_add(&root, 1, "11");
	merchant_tlv_add(&root, 26, acq_text);
	merchant_tlv_add(&root, 51, central_text);
	merchant_tlv_add(&root, 52, mc->mcc);
	merchant_tlv_add(&root, 53, "360");
	merchant_tlv_add(&root, 58, "ID");
	merchant_tlv_add(&root, 59, name);
	merchant_tlv_add(&root, 60, mc->city);
	merchant_tlv_add(&root, 61, mc->postal_code);
	merchant_tlv_add(&root, 62, extra_text);
	return qris_encode(&root, out, cap, &len);
}

/* --- fields --- */

enum merchant_check { CHECK_TEXT, CHECK_QRIS, CHECK_DIGITS, CHECK_CRITERIA, CHECK_PHONE };

/* Every field a client may send: where it goes, its bounds, its check, and whether a new store needs it. */
static const struct merchant_field {
	const char *key;
	size_t offset, max;
	size_t min;
	enum merchant_check check;
	bool required;
} merchant_fields[] = {
	{ "name", offsetof(struct merchant, name), MERCHANT_NAME_MAX, 1, CHECK_QRIS, true },
	{ "city", offsetof(struct merchant, city), MERCHANT_CITY_MAX, 1, CHECK_QRIS, true },
	{ "postal_code", offsetof(struct merchant, postal_code), MERCHANT_POSTAL_MAX, 1, CHECK_DIGITS, true },
	{ "criteria", offsetof(struct merchant, criteria), 3, 3, CHECK_CRITERIA, true },
	{ "nmid", offsetof(struct merchant, nmid), MERCHANT_NMID_MAX, 1, CHECK_QRIS, true },
	{ "mcc", offsetof(struct merchant, mcc), 4, 4, CHECK_DIGITS, false },
	{ "category", offsetof(struct merchant, category), MERCHANT_CATEGORY_MAX, 1, CHECK_TEXT, false },
	{ "description", offsetof(struct merchant, description), MERCHANT_DESCRIPTION_MAX, 0, CHECK_TEXT, false },
	{ "address", offsetof(struct merchant, address), MERCHANT_ADDRESS_MAX, 0, CHECK_TEXT, false },
	{ "phone", offsetof(struct merchant, phone), MERCHANT_PHONE_MAX, 0, CHECK_PHONE, false },
	{ "hours", offsetof(struct merchant, hours), MERCHANT_HOURS_MAX, 0, CHECK_TEXT, false },
	{ "bank_code", offsetof(struct merchant, bank_code), MERCHANT_BANK_CODE_MAX, 0, CHECK_QRIS, false },
	{ "bank_account", offsetof(struct merchant, bank_account), MERCHANT_BANK_ACCOUNT_MAX, 0, CHECK_DIGITS, false },
	{ "bank_name", offsetof(struct merchant, bank_name), MERCHANT_BANK_NAME_MAX, 0, CHECK_TEXT, false },
};
#define MERCHANT_NFIELDS (sizeof(merchant_fields) / sizeof(merchant_fields[0]))

/* True when every character is a digit. */
static bool merchant_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* QRIS text: printable ASCII without '|'. */
static bool merchant_qris_text(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '|')
			return false;
	return true;
}

/* Free text: no control characters (UTF-8 beyond ASCII is welcome). */
static bool merchant_plain_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static const char *merchant_check_text(enum merchant_check check, const char *v)
{
	switch (check) {
	case CHECK_QRIS: return merchant_qris_text(v) ? NULL : "must be printable ASCII without '|'";
	case CHECK_DIGITS: return merchant_digits(v) ? NULL : "must be digits";
	case CHECK_CRITERIA:
		return strcmp(v, "UMI") && strcmp(v, "UKE") && strcmp(v, "UME") && strcmp(v, "UBE") ?
			       "must be UMI, UKE, UME or UBE" : NULL;
	case CHECK_PHONE:
		return v[0] && (v[0] == '+' ? merchant_digits(v + 1) && v[1] : merchant_digits(v)) ? NULL :
		       v[0] ? "must be digits, optionally after a leading +" : NULL;
	case CHECK_TEXT: return merchant_plain_text(v) ? NULL : "must not hold control characters";
	}
	return NULL;
}

/*
 * Copies the body's fields into mc, checking each; `creating` requires the
 * required ones. `extra` names one more key the caller reads itself (or
 * NULL); any other key is refused. Returns 0, or -1 with c filled.
 */
static int merchant_take_fields(struct body_check *c, json_t *body, bool creating, const char *extra,
				struct merchant *mc)
{
	const char *keys[MERCHANT_NFIELDS + 4];
	for (size_t i = 0; i < MERCHANT_NFIELDS; i++)
		keys[i] = merchant_fields[i].key;
	keys[MERCHANT_NFIELDS] = "lat_e6";
	keys[MERCHANT_NFIELDS + 1] = "lng_e6";
	keys[MERCHANT_NFIELDS + 2] = extra;
	keys[MERCHANT_NFIELDS + 3] = NULL;
	if (!body_only(c, body, keys))
		return -1;
	/* Where couriers pick up: both or neither. */
	if (json_object_get(body, "lat_e6") || json_object_get(body, "lng_e6")) {
		mc->lat_e6 = (int32_t)body_int(c, body, "lat_e6", true, -MERCHANT_LAT_MAX, MERCHANT_LAT_MAX, 0);
		mc->lng_e6 = (int32_t)body_int(c, body, "lng_e6", true, -MERCHANT_LNG_MAX, MERCHANT_LNG_MAX, 0);
		if (c->failed)
			return -1;
		mc->has_coords = true;
	}
	for (size_t i = 0; i < MERCHANT_NFIELDS; i++) {
		const struct merchant_field *f = &merchant_fields[i];
		const char *v = body_str(c, body, f->key, creating && f->required, f->min, f->max), *why;
		if (c->failed)
			return -1;
		if (!v)
			continue;
		if ((why = merchant_check_text(f->check, v)) != NULL) {
			body_fail(c, f->key, why);
			return -1;
		}
		snprintf((char *)mc + f->offset, f->max + 1, "%s", v);
	}
	return 0;
}

static void merchant_reply_invalid(struct httpd_req *req, const struct body_check *c)
{
	httpd_reply_error(req, 400, body_error_code(c), "%s %s", c->field, c->reason);
}

/* --- JSON --- */

static void merchant_time_text(int64_t ms, char *out, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
}

/* The store as JSON; `full` adds what only its owner and admins see (bank, ledger account). */
static json_t *merchant_json(const struct merchant *mc, bool full)
{
	char payable[33], created[64], changed[64], url[64];
	json_t *j;
	merchant_time_text(mc->created_ms, created, sizeof(created));
	merchant_time_text(mc->status_ms, changed, sizeof(changed));
	j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:n, s:i}, s:s, s:s, s:s}", "id",
		      (json_int_t)mc->id, "name", mc->name, "category", mc->category, "description", mc->description,
		      "address", mc->address, "city", mc->city, "postal_code", mc->postal_code, "phone", mc->phone,
		      "whatsapp", mc->phone, "hours", mc->hours, "rating", "average", "count", 0, "status",
		      merchants_status_name(mc->status), "created_at", created, "status_changed_at", changed);
	if (!j)
		return NULL;
	snprintf(url, sizeof(url), "/api/v1/merchants/%llu/products", (unsigned long long)mc->id);
	json_object_set_new(j, "products_url", json_string(url));
	json_object_set_new(j, "featured", json_boolean(mc->featured != 0));
	json_object_set_new(j, "location", mc->has_coords ? json_pack("{s:i, s:i}", "lat_e6", (int)mc->lat_e6, "lng_e6",
									(int)mc->lng_e6) : json_null());
	if (full) {
		ledger_id_hex(&mc->payable, payable, sizeof(payable));
		json_object_set_new(j, "owner_user_id", json_integer((json_int_t)mc->owner_user_id));
		json_object_set_new(j, "criteria", json_string(mc->criteria));
		json_object_set_new(j, "nmid", json_string(mc->nmid));
		json_object_set_new(j, "mcc", json_string(mc->mcc));
		json_object_set_new(j, "bank_code", json_string(mc->bank_code));
		json_object_set_new(j, "bank_account", json_string(mc->bank_account));
		json_object_set_new(j, "bank_name", json_string(mc->bank_name));
		json_object_set_new(j, "payable_account", json_string(payable));
	}
	return j;
}

/* --- registration --- */

static void merchant_owner_key(uint8_t key[16], uint64_t owner, uint64_t id)
{
	record_be64_put(key, owner);
	record_be64_put(key + 8, id);
}

/* How many stores `owner` has, up to MERCHANT_OWNED_MAX + 1. */
static int merchant_count_owned(struct merchants *m, MDB_txn *txn, uint64_t owner, size_t *n)
{
	uint8_t key[16];
	MDB_val k = { sizeof(key), key }, v;
	MDB_cursor *cur;
	int rc;
	*n = 0;
	merchant_owner_key(key, owner, 0);
	if ((rc = mdb_cursor_open(txn, m->by_owner, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && *n <= MERCHANT_OWNED_MAX;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || record_be64_get(k.mv_data) != owner)
			break;
		(*n)++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc;
}

/* One above the highest 8-byte key of dbi (1 when it is empty). OUT: *out. Returns 0 or an LMDB code. */
static int merchant_next_key(MDB_txn *txn, MDB_dbi dbi, uint64_t *out)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		*out = 1;
	else if (rc == 0 && k.mv_size == 8)
		*out = record_be64_get(k.mv_data) + 1;
	else
		return rc ? rc : STORE_ECORRUPT;
	return 0;
}

static int merchant_apply_insert(MDB_txn *txn, void *arg)
{
	struct merchant_op *op = arg;
	struct merchant *mc = &op->mc;
	struct ledger_account acct = { 0 };
	struct idem_entry seen;
	MDB_val k, v;
	uint8_t okey[16];
	size_t owned;
	unsigned role;
	int rc;

	op->result = LEDGER_R_OK;
	op->replay = false;
	op->refused = false;
	op->bad_owner = false;
	rc = idem_lookup(op->m->idem, txn, &op->idem, &seen);
	if (rc == IDEM_REPLAY || rc == IDEM_CONFLICT) {
		op->replay = true;
		op->refused = rc == IDEM_CONFLICT;
		mc->id = seen.ref_len == 8 ? record_be64_get(seen.ref) : 0;
		op->status = seen.status;
		return 0;
	}
	if (rc != IDEM_NEW)
		return rc;
	/* An admin names the owner: it must be a merchant's account (a merchant registering is one). */
	rc = auth_user_role(op->m->auth, txn, mc->owner_user_id, &role);
	op->bad_owner = rc == STORE_ENOTFOUND || (rc == STORE_OK && role != ROLE_MERCHANT);
	if (op->bad_owner)
		return 0;
	if (rc != STORE_OK || (rc = merchant_count_owned(op->m, txn, mc->owner_user_id, &owned)) != 0)
		return rc;
	if (owned >= MERCHANT_OWNED_MAX) {
		op->refused = true;
		return 0;
	}
	if ((rc = merchant_next_key(txn, op->m->dbi, &mc->id)) != 0)
		return rc;

	/* The merchant's payable account is made in the same transaction. */
	snprintf(acct.name, sizeof(acct.name), "merchant:%llu:payable", (unsigned long long)mc->id);
	ledger_id_derive((uint64_t)mc->created_ms, acct.name, strlen(acct.name), &acct.id);
	acct.ledger = LEDGER_IDR;
	acct.code = LEDGER_ACCOUNT_MERCHANT_PAYABLE;
	acct.flags = LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS;
	acct.user_data_64 = mc->id;
	rc = ledger_create_accounts(op->m->ledger, txn, &acct, 1, &op->result);
	if (rc != 0)
		return rc;
	if (op->result != LEDGER_R_OK)
		return STORE_EINVAL;
	mc->payable = acct.id;
	if ((rc = merchant_put(op->m, txn, mc, MDB_APPEND)) != 0)
		return rc;
	merchant_owner_key(okey, mc->owner_user_id, mc->id);
	k.mv_size = sizeof(okey);
	k.mv_data = okey;
	v.mv_size = 0;
	v.mv_data = okey;
	if ((rc = mdb_put(txn, op->m->by_owner, &k, &v, 0)) != 0)
		return rc;
	record_be64_put(okey, mc->id);
	return idem_save(op->m->idem, txn, &op->idem, 201, okey, 8, mc->created_ms);
}

/* Replies with the store as it is now (a replay of a registration). */
static void merchant_reply_current(struct merchants *m, struct httpd_req *req, uint64_t id, int status)
{
	struct merchant mc;
	MDB_txn *txn;
	int rc = store_read_begin(m->store, &txn);
	if (rc == STORE_OK) {
		rc = merchants_get(m, txn, id, &mc);
		store_read_end(m->store, txn);
	}
	if (rc != STORE_OK)
		httpd_reply_store_error(req, rc);
	else
		httpd_reply_json(req, status, merchant_json(&mc, true));
}

static void merchant_insert_done(int status, void *arg)
{
	struct merchant_op *op = arg;
	if (status == STORE_OK && op->replay && op->refused)
		idem_reply_conflict(op->req);
	else if (status == STORE_OK && op->replay)
		merchant_reply_current(op->m, op->req, op->mc.id, op->status);
	else if (status == STORE_OK && op->bad_owner)
		httpd_reply_error(op->req, 422, "owner_not_merchant", "user %llu is not a merchant's account",
				  (unsigned long long)op->mc.owner_user_id);
	else if (status == STORE_OK && op->refused)
		httpd_reply_error(op->req, 409, "too_many_stores", "one user may register at most %d stores",
				  MERCHANT_OWNED_MAX);
	else if (status == STORE_OK)
		httpd_reply_json(op->req, 201, merchant_json(&op->mc, true));
	else if (op->result != LEDGER_R_OK)
		httpd_reply_error(op->req, 500, "internal", "the merchant's account could not be made (%s)",
				  ledger_result_name(op->result));
	else
		httpd_reply_store_error(op->req, status);
	free(op);
}

/*
 * Registers a store: by an admin for owner_user_id (verified at once), or by
 * a merchant for themselves (pending until verified).
 */
static void merchant_register(struct merchants *m, struct httpd_req *req, bool by_admin)
{
	const struct httpd_principal *who = httpd_principal(req);
	struct body_check c = { 0 };
	struct merchant_op *op;
	json_t *body;
	int64_t owner;
	int rc;

	if (httpd_json_body(req, &body) != 0)
		return;
	op = calloc(1, sizeof(*op));
	if (!op) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (merchant_take_fields(&c, body, true, by_admin ? "owner_user_id" : NULL, &op->mc) != 0) {
		merchant_reply_invalid(req, &c);
		goto free_op;
	}
	owner = by_admin ? body_int(&c, body, "owner_user_id", true, 1, INT64_MAX, 0) : (int64_t)who->user_id;
	if (c.failed) {
		merchant_reply_invalid(req, &c);
		goto free_op;
	}
	if (idem_begin(req, by_admin ? "admin-merchants" : "merchants", &op->idem) != 0)
		goto free_op;
	op->m = m;
	op->req = req;
	op->mc.owner_user_id = (uint64_t)owner;
	/* 5411: grocery stores, supermarkets (the common case for UMKM food sellers). */
	if (!op->mc.mcc[0])
		strcpy(op->mc.mcc, "5411");
	op->mc.created_ms = op->mc.status_ms = clock_now_ms();
	op->mc.status = by_admin ? MERCHANT_VERIFIED : MERCHANT_PENDING;
	rc = store_submit(m->store, merchant_apply_insert, merchant_insert_done, op);
	if (rc == STORE_OK)
		return;
	httpd_reply_store_error(req, rc);
free_op:
	free(op);
}

static void merchant_handle_create(struct httpd_req *req, void *ctx)
{
	merchant_register(ctx, req, true);
}

static void merchant_handle_register(struct httpd_req *req, void *ctx)
{
	merchant_register(ctx, req, false);
}

/* --- reading --- */

/*
 * Loads the store named by {id}. OUT: *out. Replies (404 or a store error)
 * and returns -1 when there is none.
 */
static int merchant_load_param(struct merchants *m, struct httpd_req *req, struct merchant *out)
{
	uint64_t id;
	MDB_txn *txn;
	int rc;
	if (httpd_param_u64(req, "id", &id) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such merchant");
		return -1;
	}
	rc = store_read_begin(m->store, &txn);
	if (rc == STORE_OK) {
		rc = merchants_get(m, txn, id, out);
		store_read_end(m->store, txn);
	}
	if (rc == STORE_ENOTFOUND) {
		httpd_reply_error(req, 404, "not_found", "no such merchant");
		return -1;
	}
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	return 0;
}

/* Loads the merchant named by {id} that the caller may manage; replies and returns -1 otherwise. */
static int merchant_for_caller(struct merchants *m, struct httpd_req *req, struct merchant *out)
{
	if (merchant_load_param(m, req, out) != 0)
		return -1;
	if (!merchants_may_manage(out, httpd_principal(req))) {
		httpd_reply_error(req, 403, "forbidden", "not your store");
		return -1;
	}
	return 0;
}

static void merchant_handle_qris(struct httpd_req *req, void *ctx)
{
	struct merchant mc;
	char payload[QRIS_PAYLOAD_MAX + 1];
	if (merchant_for_caller(ctx, req, &mc) != 0)
		return;
	if (merchants_static_qris(&mc, payload, sizeof(payload)) != QRIS_OK) {
		httpd_reply_error(req, 500, "internal", "the static QRIS could not be made");
		return;
	}
	httpd_reply_json(req, 200, json_pack("{s:I, s:s, s:s}", "merchant_id", (json_int_t)mc.id, "payload",
					     payload, "merchant_name", mc.name));
}

static void merchant_handle_qris_svg(struct httpd_req *req, void *ctx)
{
	struct merchant mc;
	char payload[QRIS_PAYLOAD_MAX + 1];
	char *svg;
	size_t len;
	if (merchant_for_caller(ctx, req, &mc) != 0)
		return;
	if (merchants_static_qris(&mc, payload, sizeof(payload)) != QRIS_OK ||
	    qr_svg(payload, 8, 4, &svg, &len) != QR_OK) {
		httpd_reply_error(req, 500, "internal", "the QR image could not be made");
		return;
	}
	httpd_reply_raw(req, 200, "image/svg+xml", svg, len);
	free(svg);
}

/* The public store page: verified stores for everyone; any store for its owner and admins. */
static void merchant_handle_get(struct httpd_req *req, void *ctx)
{
	struct merchant mc;
	bool manager;
	if (merchant_load_param(ctx, req, &mc) != 0)
		return;
	manager = merchants_may_manage(&mc, httpd_principal(req));
	if (!manager && !merchants_is_selling(&mc)) {
		httpd_reply_error(req, 404, "not_found", "no such merchant");
		return;
	}
	httpd_reply_json(req, 200, merchant_json(&mc, manager));
}

/*
 * Which stores a list shows: an owner's own (owner set, every state, their
 * full record), the public list (verified, public fields; `featured`: the
 * featured ones, newest featured first), or the city officer's (every
 * state, or one, full records).
 */
struct merchant_filter {
	uint64_t owner;
	bool admin;
	bool featured;
	uint8_t status;      /* admin: 0 for every state */
};

static void merchant_list(struct merchants *m, struct httpd_req *req, const struct merchant_filter *f)
{
	const uint64_t owner = f->owner;
	const char *after_text = httpd_query(req, "cursor"), *limit_text = httpd_query(req, "limit");
	uint64_t after = 0, last = 0;
	long limit = 20;
	char *end;
	uint8_t key[16];
	MDB_val k = { 8, key }, v;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	json_t *items = json_array(), *reply;
	size_t scanned = 0;
	bool more = false;
	int rc;

	if (after_text) {
		errno = 0;
		after = strtoull(after_text, &end, 10);
		if (errno || end == after_text || *end || after_text[0] == '-') {
			httpd_reply_error(req, 400, "invalid_field", "cursor is not a cursor of this list");
			goto free_items;
		}
	}
	if (limit_text) {
		limit = strtol(limit_text, &end, 10);
		if (end == limit_text || *end || limit < 1 || limit > MERCHANT_LIST_MAX) {
			httpd_reply_error(req, 400, "invalid_field", "limit must be 1 to %d", MERCHANT_LIST_MAX);
			goto free_items;
		}
	}
	if ((rc = store_read_begin(m->store, &txn)) != STORE_OK) {
		httpd_reply_store_error(req, rc);
		goto free_items;
	}
	if (owner) {
		merchant_owner_key(key, owner, after + 1);
		k.mv_size = 16;
	} else {
		record_be64_put(key, after + 1);
	}
	rc = mdb_cursor_open(txn, owner ? m->by_owner : f->featured ? m->featured : m->dbi, &cur);
	if (rc == 0 && f->featured) {
		/* Down from the newest place, or from the one below the cursor's. */
		record_be64_put(key, after);
		rc = after_text ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : MDB_NOTFOUND;
		rc = mdb_cursor_get(cur, &k, &v, rc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
	} else if (rc == 0) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, f->featured ? MDB_PREV : MDB_NEXT)) {
		struct merchant mc;
		uint64_t id;
		if (owner && (k.mv_size != 16 || record_be64_get(k.mv_data) != owner))
			break;
		if (f->featured && (k.mv_size != 8 || v.mv_size != 8)) {
			rc = STORE_ECORRUPT;
			break;
		}
		id = f->featured ? record_be64_get(v.mv_data) : record_be64_get((const uint8_t *)k.mv_data + (owner ? 8 : 0));
		if ((int64_t)json_array_size(items) == limit || ++scanned > MERCHANT_SCAN_MAX) {
			more = true;
			break;
		}
		last = f->featured ? record_be64_get(k.mv_data) : id;
		if ((rc = merchants_get(m, txn, id, &mc)) != STORE_OK)
			break;
		if (owner || (f->admin && (!f->status || mc.status == f->status)) || (!f->admin && merchants_is_selling(&mc)))
			json_array_append_new(items, merchant_json(&mc, owner != 0 || f->admin));
	}
	if (cur)
		mdb_cursor_close(cur);
	store_read_end(m->store, txn);
	if (rc != 0 && rc != MDB_NOTFOUND && !more) {
		httpd_reply_store_error(req, store_status_from_mdb(rc));
		goto free_items;
	}
	reply = json_pack("{s:o}", "items", items);
	if (more) {
		char next[24];
		snprintf(next, sizeof(next), "%llu", (unsigned long long)last);
		json_object_set_new(reply, "next_cursor", json_string(next));
	} else {
		json_object_set_new(reply, "next_cursor", json_null());
	}
	httpd_reply_json(req, 200, reply);
	return;
free_items:
	json_decref(items);
}

static void merchant_handle_list(struct httpd_req *req, void *ctx)
{
	const char *featured = httpd_query(req, "featured");
	if (featured && strcmp(featured, "true") != 0 && strcmp(featured, "false") != 0) {
		httpd_reply_error(req, 400, "invalid_field", "featured must be true or false");
		return;
	}
	merchant_list(ctx, req, &(struct merchant_filter){ .featured = featured && strcmp(featured, "true") == 0 });
}

static void merchant_handle_mine(struct httpd_req *req, void *ctx)
{
	merchant_list(ctx, req, &(struct merchant_filter){ .owner = httpd_principal(req)->user_id });
}

/* The city officer's list, in every state or one (`status`). */
static void merchant_handle_admin_list(struct httpd_req *req, void *ctx)
{
	const char *status = httpd_query(req, "status");
	struct merchant_filter f = { .admin = true };
	if (status && *status) {
		for (uint8_t s = MERCHANT_PENDING; s <= MERCHANT_SUSPENDED && !f.status; s++)
			if (strcmp(status, merchants_status_name(s)) == 0)
				f.status = s;
		if (!f.status) {
			httpd_reply_error(req, 400, "invalid_field", "status must be pending, verified or suspended");
			return;
		}
	}
	merchant_list(ctx, req, &f);
}

/* --- edits and status changes --- */

static int merchant_apply_edit(MDB_txn *txn, void *arg)
{
	struct merchant_op *op = arg;
	struct body_check c = { 0 };
	int rc = merchants_get(op->m, txn, op->mc.id, &op->mc);
	if (rc != 0)
		return rc;
	/* Checked on the loop already; applied to the stored record so concurrent edits both land. */
	if (merchant_take_fields(&c, op->changes, false, NULL, &op->mc) != 0)
		return STORE_EINVAL;
	return merchant_put(op->m, txn, &op->mc, 0);
}

/* Takes mc off the featured list (its record is written by the caller). Returns 0 or an LMDB code. */
static int merchant_unfeature(struct merchants *m, MDB_txn *txn, struct merchant *mc)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key };
	int rc;
	record_be64_put(key, mc->featured);
	rc = mdb_del(txn, m->featured, &k, NULL);
	mc->featured = 0;
	/* An index entry already gone is no reason to keep the store featured. */
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Puts mc at the top of the featured list (its record is written by the caller). Returns 0 or an LMDB code. */
static int merchant_feature(struct merchants *m, MDB_txn *txn, struct merchant *mc)
{
	uint8_t key[8], val[8];
	MDB_val k = { sizeof(key), key }, v = { sizeof(val), val };
	int rc = merchant_next_key(txn, m->featured, &mc->featured);
	if (rc != 0)
		return rc;
	record_be64_put(key, mc->featured);
	record_be64_put(val, mc->id);
	return mdb_put(txn, m->featured, &k, &v, MDB_APPEND);
}

/* Reads op's store within txn and keeps its status as `was`. Returns 0 or a STORE_* status. */
static int merchant_op_load(MDB_txn *txn, struct merchant_op *op)
{
	int rc = merchants_get(op->m, txn, op->mc.id, &op->mc);
	op->was = op->mc.status;
	return rc;
}

static int merchant_apply_status(MDB_txn *txn, void *arg)
{
	struct merchant_op *op = arg;
	struct merchant *mc = &op->mc;
	int rc = merchant_op_load(txn, op);
	if (rc != 0)
		return rc;
	op->refused = !((op->to == MERCHANT_VERIFIED && mc->status == MERCHANT_PENDING) ||
			(op->to == MERCHANT_SUSPENDED && mc->status != MERCHANT_SUSPENDED) ||
			(op->to == MERCHANT_PENDING && mc->status == MERCHANT_SUSPENDED));
	if (op->refused)
		return 0;
	/* Reinstating returns a store to where it was before: verified. */
	mc->status = op->to == MERCHANT_PENDING ? MERCHANT_VERIFIED : op->to;
	mc->status_ms = clock_now_ms();
	/* A suspended store leaves the featured list for good: the city features it again if it wants. */
	if (mc->status == MERCHANT_SUSPENDED && mc->featured && (rc = merchant_unfeature(op->m, txn, mc)) != 0)
		return rc;
	if (op->m->on_status && (rc = op->m->on_status(txn, mc, op->was, op->m->on_status_ctx)) != 0)
		return rc;
	return merchant_put(op->m, txn, mc, 0);
}

/*
 * Features or unfeatures a store: only a verified store is featured; asking
 * for what already is changes nothing (a featured store keeps its place).
 */
static int merchant_apply_feature(MDB_txn *txn, void *arg)
{
	struct merchant_op *op = arg;
	struct merchant *mc = &op->mc;
	int rc = merchant_op_load(txn, op);
	if (rc != 0)
		return rc;
	op->refused = op->featured && !merchants_is_selling(mc);
	if (op->refused || (mc->featured != 0) == op->featured)
		return 0;
	rc = op->featured ? merchant_feature(op->m, txn, mc) : merchant_unfeature(op->m, txn, mc);
	return rc ? rc : merchant_put(op->m, txn, mc, 0);
}

static void merchant_change_done(int status, void *arg)
{
	struct merchant_op *op = arg;
	if (status == STORE_OK && op->refused)
		httpd_reply_state_error(op->req, 409, "invalid_state", merchants_status_name(op->was), "the store is %s",
					merchants_status_name(op->was));
	else if (status == STORE_OK)
		httpd_reply_json(op->req, 200, merchant_json(&op->mc, true));
	else if (status == STORE_ENOTFOUND)
		httpd_reply_error(op->req, 404, "not_found", "no such merchant");
	else
		httpd_reply_store_error(op->req, status);
	json_decref(op->changes);
	free(op);
}

/* A change of store `id` for req. Replies 500 and returns NULL when out of memory. */
static struct merchant_op *merchant_change_new(struct merchants *m, struct httpd_req *req, uint64_t id)
{
	struct merchant_op *op = calloc(1, sizeof(*op));
	if (!op) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	op->m = m;
	op->req = req;
	op->mc.id = id;
	return op;
}

/* Submits op's change (apply: an edit, a status or a feature change); merchant_change_done replies. */
static void merchant_submit_change(struct merchant_op *op, store_apply_fn apply)
{
	int rc = store_submit(op->m->store, apply, merchant_change_done, op);
	if (rc != STORE_OK) {
		httpd_reply_store_error(op->req, rc);
		json_decref(op->changes);
		free(op);
	}
}

static void merchant_handle_edit(struct httpd_req *req, void *ctx)
{
	struct body_check c = { 0 };
	struct merchant mc, scratch;
	struct merchant_op *op;
	json_t *body;
	if (httpd_json_body(req, &body) != 0 || merchant_for_caller(ctx, req, &mc) != 0)
		return;
	if (merchant_take_fields(&c, body, false, NULL, &scratch) != 0) {
		merchant_reply_invalid(req, &c);
		return;
	}
	if (!(op = merchant_change_new(ctx, req, mc.id)))
		return;
	op->changes = json_incref(body);
	merchant_submit_change(op, merchant_apply_edit);
}

/* A change of the store named by {id}; replies (404, 500) and returns NULL when there is none. */
static struct merchant_op *merchant_change_param(struct merchants *m, struct httpd_req *req)
{
	uint64_t id;
	if (httpd_param_u64(req, "id", &id) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such merchant");
		return NULL;
	}
	return merchant_change_new(m, req, id);
}

/*
 * A status change takes no fields, and its body is optional: when one is
 * sent it must be a JSON object without members, as every action's body is
 * checked (malformed JSON and unknown fields refused).
 */
static void merchant_status_change(struct httpd_req *req, struct merchants *m, uint8_t to)
{
	static const char *const none[] = { NULL };
	struct body_check c = { 0 };
	struct merchant_op *op;
	json_t *body;
	size_t len;
	httpd_body(req, &len);
	if (len > 0) {
		if (httpd_json_body(req, &body) != 0)
			return;
		if (!body_only(&c, body, none)) {
			merchant_reply_invalid(req, &c);
			return;
		}
	}
	if (!(op = merchant_change_param(m, req)))
		return;
	op->to = to;
	merchant_submit_change(op, merchant_apply_status);
}

static void merchant_handle_verify(struct httpd_req *req, void *ctx)
{
	merchant_status_change(req, ctx, MERCHANT_VERIFIED);
}

static void merchant_handle_suspend(struct httpd_req *req, void *ctx)
{
	merchant_status_change(req, ctx, MERCHANT_SUSPENDED);
}

/* Asks for the way back from suspended (MERCHANT_PENDING as the target means "reinstate"). */
static void merchant_handle_reinstate(struct httpd_req *req, void *ctx)
{
	merchant_status_change(req, ctx, MERCHANT_PENDING);
}

/* The city features a store on the home page, or stops: {"featured": true|false}. */
static void merchant_handle_feature(struct httpd_req *req, void *ctx)
{
	static const char *const keys[] = { "featured", NULL };
	struct body_check c = { 0 };
	struct merchant_op *op;
	json_t *body;
	bool featured = false;
	if (httpd_json_body(req, &body) != 0)
		return;
	if (body_only(&c, body, keys))
		featured = body_bool(&c, body, "featured", true, false);
	if (c.failed) {
		merchant_reply_invalid(req, &c);
		return;
	}
	if (!(op = merchant_change_param(ctx, req)))
		return;
	op->featured = featured;
	merchant_submit_change(op, merchant_apply_feature);
}

int merchants_attach(struct merchants *m, struct httpd *h)
{
	static const struct {
		unsigned method;
		const char *path;
		unsigned roles;
		httpd_handler_fn fn;
	} routes[] = {
		{ ROUTER_POST, "/api/v1/merchants", ROLE_MERCHANT, merchant_handle_register },
		{ ROUTER_GET, "/api/v1/merchants", ROLE_PUBLIC, merchant_handle_list },
		{ ROUTER_GET, "/api/v1/merchants/{id}", ROLE_PUBLIC, merchant_handle_get },
		{ ROUTER_PUT, "/api/v1/merchants/{id}", ROLE_MERCHANT | ROLE_ADMIN, merchant_handle_edit },
		{ ROUTER_GET, "/api/v1/me/merchants", ROLE_MERCHANT, merchant_handle_mine },
		{ ROUTER_POST, "/api/v1/admin/merchants", ROLE_ADMIN, merchant_handle_create },
		{ ROUTER_GET, "/api/v1/admin/merchants", ROLE_ADMIN | ROLE_AUDITOR, merchant_handle_admin_list },
		{ ROUTER_POST, "/api/v1/admin/merchants/{id}/verify", ROLE_ADMIN, merchant_handle_verify },
		{ ROUTER_POST, "/api/v1/admin/merchants/{id}/suspend", ROLE_ADMIN, merchant_handle_suspend },
		{ ROUTER_POST, "/api/v1/admin/merchants/{id}/reinstate", ROLE_ADMIN, merchant_handle_reinstate },
		{ ROUTER_POST, "/api/v1/admin/merchants/{id}/feature", ROLE_ADMIN, merchant_handle_feature },
		{ ROUTER_GET, "/api/v1/merchants/{id}/qris", ROLE_MERCHANT | ROLE_ADMIN, merchant_handle_qris },
		{ ROUTER_GET, "/api/v1/merchants/{id}/qris.svg", ROLE_MERCHANT | ROLE_ADMIN, merchant_handle_qris_svg },
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		int rc = httpd_route(h, routes[i].method, routes[i].path, routes[i].roles, routes[i].fn, m);
		if (rc)
			return rc;
	}
	return 0;
}
