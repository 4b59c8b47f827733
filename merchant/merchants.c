#include "merchants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "body.h"
#include "httpd.h"
#include "qr.h"
#include "qris.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define MERCHANT_VERSION 1
#define MERCHANT_FIELDS 9
/* The platform's acquirer template (tag 26) in every merchant's static QRIS. */
#define MERCHANT_QRIS_GUID "ID.CO.BANGSOLEH.WWW"
#define MERCHANT_QRIS_PAN_PREFIX "93600999"

struct merchants {
	struct store *store;
	struct ledger *ledger;
	MDB_dbi dbi;
};

/* One registration in flight. */
struct merchant_op {
	struct merchants *m;
	struct httpd_req *req;
	struct merchant mc;
	uint32_t result;
};

static void merchant_key(uint8_t key[8], uint64_t id)
{
	for (int i = 7; i >= 0; i--, id >>= 8)
		key[i] = (uint8_t)id;
}

static uint64_t merchant_key_id(const uint8_t key[8])
{
	uint64_t id = 0;
	for (int i = 0; i < 8; i++)
		id = id << 8 | key[i];
	return id;
}

static int64_t merchant_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int merchants_open(struct store *store, struct ledger *ledger, struct merchants **out)
{
	struct merchants *m = calloc(1, sizeof(*m));
	int rc;
	if (!m)
		return MERCHANTS_ENOMEM;
	m->store = store;
	m->ledger = ledger;
	rc = store_dbi_open(store, "merchants", 0, &m->dbi);
	if (rc != STORE_OK) {
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

int merchants_get(struct merchants *m, MDB_txn *txn, uint64_t id, struct merchant *out)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	struct record_reader r;
	int rc;
	merchant_key(key, id);
	rc = mdb_get(txn, m->dbi, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, MERCHANT_VERSION, MERCHANT_FIELDS) != RECORD_OK)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->id = id;
	if (record_get_u64(&r, &out->owner_user_id) || record_get_str(&r, out->name, sizeof(out->name), NULL) ||
	    record_get_str(&r, out->city, sizeof(out->city), NULL) ||
	    record_get_str(&r, out->postal_code, sizeof(out->postal_code), NULL) ||
	    record_get_str(&r, out->criteria, sizeof(out->criteria), NULL) ||
	    record_get_str(&r, out->nmid, sizeof(out->nmid), NULL) ||
	    record_get_str(&r, out->mcc, sizeof(out->mcc), NULL) || record_get_i64(&r, &out->created_ms) ||
	    record_get_bin_exact(&r, out->payable.b, 16))
		rc = STORE_ECORRUPT;
	record_reader_free(&r);
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

/* --- registration --- */

static int merchant_apply_insert(MDB_txn *txn, void *arg)
{
	struct merchant_op *op = arg;
	struct merchant *mc = &op->mc;
	struct record_writer w;
	struct ledger_account acct = { 0 };
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t key[8];
	size_t len;
	int rc;

	op->result = LEDGER_R_OK;
	rc = mdb_cursor_open(txn, op->m->dbi, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		mc->id = 1;
	else if (rc == 0 && k.mv_size == 8)
		mc->id = merchant_key_id(k.mv_data) + 1;
	else
		return rc ? rc : STORE_ECORRUPT;

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

	record_writer_init(&w, MERCHANT_VERSION, MERCHANT_FIELDS);
	record_put_u64(&w, mc->owner_user_id);
	record_put_str(&w, mc->name, strlen(mc->name));
	record_put_str(&w, mc->city, strlen(mc->city));
	record_put_str(&w, mc->postal_code, strlen(mc->postal_code));
	record_put_str(&w, mc->criteria, strlen(mc->criteria));
	record_put_str(&w, mc->nmid, strlen(mc->nmid));
	record_put_str(&w, mc->mcc, strlen(mc->mcc));
	record_put_i64(&w, mc->created_ms);
	record_put_bin(&w, mc->payable.b, 16);
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	merchant_key(key, mc->id);
	k.mv_size = sizeof(key);
	k.mv_data = key;
	rc = v.mv_data ? mdb_put(txn, op->m->dbi, &k, &v, MDB_APPEND) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

static json_t *merchant_json(const struct merchant *mc)
{
	char payable[33];
	ledger_id_hex(&mc->payable, payable, sizeof(payable));
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)mc->id,
			 "owner_user_id", (json_int_t)mc->owner_user_id, "name", mc->name, "city", mc->city,
			 "postal_code", mc->postal_code, "criteria", mc->criteria, "nmid", mc->nmid, "mcc", mc->mcc,
			 "payable_account", payable);
}

static void merchant_insert_done(int status, void *arg)
{
	struct merchant_op *op = arg;
	if (status == STORE_OK)
		httpd_reply_json(op->req, 201, merchant_json(&op->mc));
	else if (op->result != LEDGER_R_OK)
		httpd_reply_error(op->req, 500, "internal", "the merchant's account could not be made (%s)",
				  ledger_result_name(op->result));
	else
		httpd_reply_store_error(op->req, status);
	free(op);
}

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

static void merchant_handle_create(struct httpd_req *req, void *ctx)
{
	struct merchants *m = ctx;
	struct body_check c = { 0 };
	struct merchant_op *op;
	json_t *body;
	const char *name, *city, *postal, *criteria, *nmid, *mcc;
	int64_t owner;
	int rc;

	if (httpd_json_body(req, &body) != 0)
		return;
	name = body_str(&c, body, "name", true, 1, MERCHANT_NAME_MAX);
	owner = body_int(&c, body, "owner_user_id", true, 1, INT64_MAX, 0);
	city = body_str(&c, body, "city", true, 1, MERCHANT_CITY_MAX);
	postal = body_str(&c, body, "postal_code", true, 1, MERCHANT_POSTAL_MAX);
	criteria = body_str(&c, body, "criteria", true, 3, 3);
	nmid = body_str(&c, body, "nmid", true, 1, MERCHANT_NMID_MAX);
	mcc = body_str(&c, body, "mcc", false, 4, 4);
	if (!c.failed && !merchant_qris_text(name))
		body_fail(&c, "name", "must be printable ASCII without '|'");
	if (!c.failed && !merchant_qris_text(city))
		body_fail(&c, "city", "must be printable ASCII without '|'");
	if (!c.failed && !merchant_digits(postal))
		body_fail(&c, "postal_code", "must be digits");
	if (!c.failed && strcmp(criteria, "UMI") && strcmp(criteria, "UKE") && strcmp(criteria, "UME") &&
	    strcmp(criteria, "UBE"))
		body_fail(&c, "criteria", "must be UMI, UKE, UME or UBE");
	if (!c.failed && !merchant_qris_text(nmid))
		body_fail(&c, "nmid", "must be printable ASCII");
	if (!c.failed && mcc && !merchant_digits(mcc))
		body_fail(&c, "mcc", "must be 4 digits");
	if (c.failed) {
		httpd_reply_error(req, 400, "invalid_field", "%s %s", c.field, c.reason);
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	op->m = m;
	op->req = req;
	op->mc.owner_user_id = (uint64_t)owner;
	strcpy(op->mc.name, name);
	strcpy(op->mc.city, city);
	strcpy(op->mc.postal_code, postal);
	strcpy(op->mc.criteria, criteria);
	strcpy(op->mc.nmid, nmid);
	/* 5411: grocery stores, supermarkets (the common case for UMKM food sellers). */
	strcpy(op->mc.mcc, mcc ? mcc : "5411");
	op->mc.created_ms = merchant_now_ms();
	rc = store_submit(m->store, merchant_apply_insert, merchant_insert_done, op);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		free(op);
	}
}

/* Loads the merchant named by {id} that the caller may manage; replies and returns -1 otherwise. */
static int merchant_for_caller(struct merchants *m, struct httpd_req *req, struct merchant *out)
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

int merchants_attach(struct merchants *m, struct httpd *h)
{
	int rc;
	if ((rc = httpd_route(h, ROUTER_POST, "/api/v1/admin/merchants", ROLE_ADMIN, merchant_handle_create, m)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/merchants/{id}/qris", ROLE_MERCHANT | ROLE_ADMIN,
			      merchant_handle_qris, m)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/merchants/{id}/qris.svg", ROLE_MERCHANT | ROLE_ADMIN,
			      merchant_handle_qris_svg, m)))
		return rc;
	return 0;
}
