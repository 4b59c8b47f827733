/*
 * The audit module: what a ledger entry is about (attribution), the query
 * parameters its views share, and the journal. Reports and findings are in
 * audit_reports.c.
 */
#include "audit_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "httpd.h"
#include "merchants.h"
#include "payouts.h"
#include "role.h"
#include "router.h"
#include "shipments.h"
#include "store.h"

#define AUDIT_U64_TEXT 21                 /* 2^64-1 in decimal and NUL */

/* --- attribution --- */

/* Adds a store to the attribution, once. */
static void audit_add_store(struct audit_attr *at, uint64_t store)
{
	for (size_t i = 0; i < at->nstores; i++)
		if (at->stores[i] == store)
			return;
	if (store != 0 && at->nstores < AUDIT_STORES_MAX)
		at->stores[at->nstores++] = store;
}

/*
 * The middle of an account name "<prefix>:<middle>:<suffix>" into out (cap
 * bytes with the NUL), or false when the name is not of that form.
 */
static bool audit_name_part(const char *name, const char *prefix, const char *suffix, char *out, size_t cap)
{
	size_t np = strlen(prefix), ns = strlen(suffix), n = strlen(name), mid;
	if (n < np + ns + 3 || strncmp(name, prefix, np) != 0 || name[np] != ':' ||
	    strcmp(name + n - ns, suffix) != 0 || name[n - ns - 1] != ':')
		return false;
	mid = n - np - ns - 2;
	if (mid == 0 || mid >= cap)
		return false;
	memcpy(out, name + np + 1, mid);
	out[mid] = '\0';
	return true;
}

/* What an account's name says: a store's payable, a courier's payable, a provider's clearing. */
static void audit_attr_account(struct audit_attr *at, const char *name)
{
	char part[AUDIT_NAME_MAX + 1];
	if (audit_name_part(name, "merchant", "payable", part, sizeof(part))) {
		char *end;
		unsigned long long id;
		errno = 0;
		id = strtoull(part, &end, 10);
		if (errno == 0 && *end == '\0' && part[0] >= '1' && part[0] <= '9')
			audit_add_store(at, id);
	} else if (audit_name_part(name, "courier", "payable", part, sizeof(part))) {
		snprintf(at->courier, sizeof(at->courier), "%s", part);
	} else if (audit_name_part(name, "gateway", "clearing", part, sizeof(part))) {
		snprintf(at->provider, sizeof(at->provider), "%s", part);
	}
}

/* A payment's entry: its store, or the stores of the orders of the group it pays. */
static int audit_attr_payment(const struct audit *a, MDB_txn *txn, struct audit_attr *at)
{
	int rc;
	at->kind = AUDIT_KIND_PAYMENT;
	if (at->pay.instore) {
		audit_add_store(at, at->pay.merchant_id);
		return 0;
	}
	rc = orders_audit_group(a->src.orders, txn, &at->pay.group_id, at->orders, &at->norders);
	for (size_t i = 0; rc == 0 && i < at->norders; i++)
		audit_add_store(at, at->orders[i].merchant_id);
	/* A group that is gone concerns no store: the entry still counts in the totals. */
	return rc == STORE_ENOTFOUND ? 0 : rc;
}

int audit_attribute(const struct audit *a, MDB_txn *txn, const struct ledger_entry *e, struct audit_attr *out)
{
	const struct ledger_transfer *t = &e->t;
	struct ledger_account acc;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = ledger_account_get(a->src.ledger, txn, &t->debit_account_id, &acc)) != 0)
		return rc;
	audit_attr_account(out, acc.name);
	memcpy(out->debit_name, acc.name, sizeof(out->debit_name));
	if ((rc = ledger_account_get(a->src.ledger, txn, &t->credit_account_id, &acc)) != 0)
		return rc;
	audit_attr_account(out, acc.name);
	memcpy(out->credit_name, acc.name, sizeof(out->credit_name));
	switch (t->code) {
	case LEDGER_CODE_PAYMENT:
	case LEDGER_CODE_REFUND:
	case LEDGER_CODE_COMMISSION:
		/* user_data_128 is the payment on the payments' entries (the MDR is a commission too). */
		rc = payments_audit_get(a->src.payments, txn, &t->user_data_128, &out->pay);
		if (rc == 0)
			return audit_attr_payment(a, txn, out);
		if (rc != STORE_ENOTFOUND)
			return rc;
		if (t->code != LEDGER_CODE_COMMISSION)
			return 0;
		/* An order's commission: as the release below. */
		/* fall through */
	case LEDGER_CODE_RELEASE:
	case LEDGER_CODE_SHIPPING:
		/* user_data_128 = group, _64 = order, _32 = store (merchant/order_flow.c). */
		out->kind = AUDIT_KIND_ORDER;
		out->order_id = t->user_data_64;
		audit_add_store(out, t->user_data_32);
		return 0;
	case LEDGER_CODE_PAYOUT:
		/* user_data_128 = payout, _64 = payee, _32 = payee kind (merchant/payouts.c). */
		out->kind = AUDIT_KIND_PAYOUT;
		if (t->user_data_32 == PAYOUTS_PAYEE_MERCHANT)
			audit_add_store(out, t->user_data_64);
		return 0;
	default:
		return 0;
	}
}

json_t *audit_attr_json(const struct audit_attr *at)
{
	static const char *const kinds[] = { "other", "payment", "order", "payout" };
	json_t *stores = json_array();
	for (size_t i = 0; stores && i < at->nstores; i++) {
		if (json_array_append_new(stores, json_integer((json_int_t)at->stores[i])) != 0) {
			json_decref(stores);
			stores = NULL;
		}
	}
	if (!stores)
		return NULL;
	return json_pack("{s:s, s:s?, s:o?, s:o, s:s?, s:s?}", "kind", kinds[at->kind], "payment_kind",
			 at->kind != AUDIT_KIND_PAYMENT ? NULL : at->pay.instore ? "in_store" : "online", "order_id",
			 at->kind == AUDIT_KIND_ORDER ? json_integer((json_int_t)at->order_id) : NULL, "stores", stores,
			 "courier", at->courier[0] ? at->courier : NULL, "provider",
			 at->provider[0] ? at->provider : NULL);
}

/* --- query parameters and replies --- */

int audit_query_range(struct httpd_req *req, bool required, int64_t *from, int64_t *to, bool *has_from,
		      bool *has_to)
{
	if (httpd_query_time(req, "from", required, from, has_from) != 0 ||
	    httpd_query_time(req, "to", required, to, has_to) != 0)
		return -1;
	if (*has_from && *has_to && *to <= *from) {
		httpd_reply_error(req, 400, "invalid_range", "to must be after from");
		return -1;
	}
	return 0;
}

int audit_seq_range(const struct audit *a, MDB_txn *txn, int64_t from_ms, int64_t to_ms, uint64_t *from_seq,
		    uint64_t *to_seq)
{
	int rc = ledger_seq_at(a->src.ledger, txn, ledger_time_from_ms(from_ms), from_seq);
	return rc ? rc : ledger_seq_at(a->src.ledger, txn, ledger_time_from_ms(to_ms), to_seq);
}

void audit_reply_failure(struct httpd_req *req, int status)
{
	if (status == AUDIT_ETOOMANY)
		httpd_reply_error(req, 422, "range_too_large",
				  "the range holds more than %d entries or %d payments: ask for a shorter one",
				  AUDIT_SCAN_MAX, AUDIT_PAYMENTS_SCAN_MAX);
	else if (status == AUDIT_EOVERFLOW)
		httpd_reply_error(req, 500, "overflow", "a sum does not fit in 64 bits");
	else if (status == LEDGER_ENOMEM)
		httpd_reply_error(req, 500, "internal", "out of memory");
	else if (status == LEDGER_ECORRUPT || status == LEDGER_EINVAL)
		httpd_reply_error(req, 500, "internal", "the ledger failed (%d)", status);
	else
		httpd_reply_store_error(req, store_status_from_mdb(status));
}

/* --- the journal --- */

/* The journal's filters; a zero id / 0 / false is no filter. */
struct audit_filter {
	struct ledger_id account, courier, provider;
	uint64_t store;
	uint16_t code;
};

/* The code of a reason's name; 0 when unknown. The codes run from 1 without a gap (ledger.h). */
static uint16_t audit_reason_code(const char *name)
{
	for (uint16_t c = 1; c < UINT16_MAX; c++) {
		const char *n = ledger_code_name(c);
		if (!n)
			return 0;
		if (strcmp(n, name) == 0)
			return c;
	}
	return 0;
}

/* True for 1..AUDIT_NAME_MAX characters of [a-z0-9_-]: a courier module's or provider's name. */
static bool audit_valid_name(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= AUDIT_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/*
 * Reads the filters that need no store (courier, provider, reason); replies
 * 400 and returns false when one is bad.
 */
static bool audit_filter_read(struct httpd_req *req, struct audit_filter *f)
{
	const char *courier = httpd_query(req, "courier"), *provider = httpd_query(req, "provider");
	const char *reason = httpd_query(req, "reason");
	char name[LEDGER_NAME_MAX + 1];
	memset(f, 0, sizeof(*f));
	if (httpd_query_u64_or_400(req, "store", 1, UINT64_MAX, 0, &f->store) != 0)
		return false;
	if (courier && *courier) {
		uint64_t user = 0;
		if (!audit_valid_name(courier)) {
			httpd_reply_error(req, 400, "invalid_field",
					  "courier must be a courier's user id or a courier company's module name");
			return false;
		}
		if (strspn(courier, "0123456789") == strlen(courier) &&
		    httpd_query_u64_or_400(req, "courier", 1, UINT64_MAX, 0, &user) != 0)
			return false;
		shipments_courier_account(user, courier, name, sizeof(name), &f->courier);
	}
	if (provider && *provider) {
		if (!audit_valid_name(provider)) {
			httpd_reply_error(req, 400, "invalid_field", "provider must be a payment provider's name");
			return false;
		}
		snprintf(name, sizeof(name), "gateway:%s:clearing", provider);
		f->provider = payments_platform_account(name);
	}
	if (reason && *reason && !(f->code = audit_reason_code(reason))) {
		httpd_reply_error(req, 400, "invalid_field",
				  "reason must be one of payment, release, commission, shipping, refund, payout, "
				  "settlement, voucher, adjustment");
		return false;
	}
	return true;
}

static bool audit_either_side(const struct ledger_transfer *t, const struct ledger_id *id)
{
	return ledger_id_is_zero(id) || memcmp(t->debit_account_id.b, id->b, 16) == 0 ||
	       memcmp(t->credit_account_id.b, id->b, 16) == 0;
}

/* True when the entry passes the filters that need no attribution. */
static bool audit_filter_plain(const struct audit_filter *f, const struct ledger_transfer *t)
{
	return (!f->code || t->code == f->code) && audit_either_side(t, &f->account) &&
	       audit_either_side(t, &f->courier) && audit_either_side(t, &f->provider);
}

static bool audit_filter_store(const struct audit_filter *f, const struct audit_attr *at)
{
	if (!f->store)
		return true;
	for (size_t i = 0; i < at->nstores; i++)
		if (at->stores[i] == f->store)
			return true;
	return false;
}

/* The entry with its accounts' names and its attribution appended to list. Returns 0 or LEDGER_ENOMEM. */
static int audit_append_entry(json_t *list, const struct ledger_entry *e, const struct audit_attr *at)
{
	json_t *j = ledger_entry_json(e), *attr = audit_attr_json(at);
	if (!j || !attr) {
		json_decref(j);
		json_decref(attr);
		return LEDGER_ENOMEM;
	}
	/* Each set takes its value over, even when it fails. */
	if (json_object_set_new(j, "attribution", attr) != 0 ||
	    json_object_set_new(j, "debit_account_name", json_string(at->debit_name)) != 0 ||
	    json_object_set_new(j, "credit_account_name", json_string(at->credit_name)) != 0) {
		json_decref(j);
		return LEDGER_ENOMEM;
	}
	return json_array_append_new(list, j) == 0 ? 0 : LEDGER_ENOMEM;
}

/* One journal request's scan: where it is, what it found. */
struct audit_page {
	uint64_t seq, end;                    /* the next sequence to look at; the range's end (exclusive) */
	size_t limit, found, scanned;
	json_t *entries;
};

/* Scans from page->seq, at most AUDIT_JOURNAL_SCAN_MAX entries, until `limit` match. Returns 0 or a status. */
static int audit_journal_scan(const struct audit *a, MDB_txn *txn, const struct audit_filter *f,
			      struct audit_page *page, struct ledger_entry *buf)
{
	while (page->seq < page->end && page->scanned < AUDIT_JOURNAL_SCAN_MAX && page->found < page->limit) {
		uint64_t want = page->end - page->seq;
		size_t n = 0, room = AUDIT_JOURNAL_SCAN_MAX - page->scanned;
		int rc;
		if (want > room)
			want = room;
		if (want > AUDIT_READ_BATCH)
			want = AUDIT_READ_BATCH;
		if ((rc = ledger_journal(a->src.ledger, txn, page->seq, (size_t)want, buf, &n)) != 0)
			return rc;
		if (n == 0)
			break;
		for (size_t i = 0; i < n && page->found < page->limit; i++) {
			struct audit_attr at;
			page->scanned++;
			page->seq = buf[i].t.seq + 1;
			if (!audit_filter_plain(f, &buf[i].t))
				continue;
			if ((rc = audit_attribute(a, txn, &buf[i], &at)) != 0)
				return rc;
			if (!audit_filter_store(f, &at))
				continue;
			if ((rc = audit_append_entry(page->entries, &buf[i], &at)) != 0)
				return rc;
			page->found++;
		}
	}
	return 0;
}

/*
 * Resolves the filters that read the store (account, store) and the range
 * with its cursor. Replies (400 / 404 / failure) and returns false when one
 * does not hold.
 */
static bool audit_journal_bounds(struct audit *a, struct httpd_req *req, MDB_txn *txn, struct audit_filter *f,
				 struct audit_page *page)
{
	const char *account = httpd_query(req, "account");
	int64_t from = 0, to = 0;
	bool has_from, has_to;
	uint64_t from_seq = 1, cursor, head;
	uint8_t hash[LEDGER_HASH_LEN];
	int rc;
	if (audit_query_range(req, false, &from, &to, &has_from, &has_to) != 0 ||
	    httpd_query_u64_or_400(req, "cursor", 1, UINT64_MAX, 0, &cursor) != 0)
		return false;
	if (account && *account) {
		struct ledger_account acc;
		rc = ledger_account_lookup(a->src.ledger, txn, account, &acc);
		if (rc == STORE_ENOTFOUND) {
			httpd_reply_error(req, 404, "not_found", "no such ledger account");
			return false;
		}
		if (rc != 0)
			goto failed;
		f->account = acc.id;
	}
	if (f->store) {
		struct merchant *mc = malloc(sizeof(*mc));
		rc = mc ? merchants_get(a->src.merchants, txn, f->store, mc) : STORE_ENOMEM;
		free(mc);
		if (rc == STORE_ENOTFOUND) {
			httpd_reply_error(req, 404, "not_found", "no such store");
			return false;
		}
		if (rc != 0)
			goto failed;
	}
	if ((rc = ledger_head(a->src.ledger, txn, &head, hash)) != 0 ||
	    (has_from && (rc = ledger_seq_at(a->src.ledger, txn, ledger_time_from_ms(from), &from_seq)) != 0))
		goto failed;
	page->end = head + 1;
	if (has_to && (rc = ledger_seq_at(a->src.ledger, txn, ledger_time_from_ms(to), &page->end)) != 0)
		goto failed;
	page->seq = cursor ? cursor : from_seq;
	if (cursor && (cursor < from_seq || cursor > page->end)) {
		httpd_reply_error(req, 400, "invalid_field", "cursor is not one this journal's range gave out");
		return false;
	}
	return true;
failed:
	audit_reply_failure(req, rc);
	return false;
}

static void audit_handle_journal(struct httpd_req *req, void *ctx)
{
	struct audit *a = ctx;
	struct audit_filter f;
	struct audit_page page = { 0 };
	struct ledger_entry *buf = NULL;
	uint64_t limit;
	char next[AUDIT_U64_TEXT];
	MDB_txn *txn;
	json_t *reply;
	int rc;
	if (!audit_filter_read(req, &f) ||
	    httpd_query_u64_or_400(req, "limit", 1, AUDIT_JOURNAL_LIMIT_MAX, AUDIT_JOURNAL_LIMIT_DEFAULT, &limit) != 0)
		return;
	page.limit = (size_t)limit;
	page.entries = json_array();
	buf = calloc(AUDIT_READ_BATCH, sizeof(*buf));
	if (!page.entries || !buf) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_buf;
	}
	if ((rc = store_read_begin(a->src.store, &txn)) != STORE_OK) {
		audit_reply_failure(req, rc);
		goto free_buf;
	}
	if (!audit_journal_bounds(a, req, txn, &f, &page)) {
		store_read_end(a->src.store, txn);
		goto free_buf;
	}
	rc = audit_journal_scan(a, txn, &f, &page, buf);
	store_read_end(a->src.store, txn);
	if (rc != 0) {
		audit_reply_failure(req, rc);
		goto free_buf;
	}
	snprintf(next, sizeof(next), "%llu", (unsigned long long)page.seq);
	reply = json_pack("{s:o, s:s?, s:I, s:I}", "entries", page.entries, "next_cursor",
			  page.seq < page.end ? next : NULL, "scanned", (json_int_t)page.scanned, "scan_max",
			  (json_int_t)AUDIT_JOURNAL_SCAN_MAX);
	page.entries = NULL;
	if (reply)
		httpd_reply_json(req, 200, reply);
	else
		audit_reply_failure(req, LEDGER_ENOMEM);
free_buf:
	json_decref(page.entries);
	free(buf);
}

/* --- the module --- */

int audit_open(const struct audit_sources *src, const struct audit_config *cfg, struct audit **out)
{
	struct audit *a;
	if (cfg->refund_ratio_bps < 0 || cfg->refund_ratio_bps > 10000 || !(a = calloc(1, sizeof(*a))))
		return -1;
	a->src = *src;
	a->cfg = *cfg;
	a->fees = payments_platform_account("platform:fees");
	*out = a;
	return 0;
}

int audit_attach(struct audit *a, struct httpd *h, struct workq *q)
{
	static const struct {
		const char *path;
		httpd_handler_fn fn;
	} routes[] = {
		{ "/api/v1/audit/journal", audit_handle_journal },
		{ "/api/v1/audit/reports", audit_handle_reports },
		{ "/api/v1/audit/findings", audit_handle_findings },
	};
	a->workq = q;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		int rc = httpd_route(h, ROUTER_GET, routes[i].path, ROLE_AUDITOR | ROLE_ADMIN, routes[i].fn, a);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void audit_free(struct audit *a)
{
	free(a);
}
