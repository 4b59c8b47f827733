/*
 * Reports and findings: figures per WIB day or month, per store and per
 * store category, computed from the ledger's entries of the period and the
 * records they point to; and the findings of a range (docs/audit.md,
 * "Reports and findings", says how, so that an auditor can redo them).
 */
#include "audit_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "httpd.h"
#include "merchants.h"
#include "payouts.h"
#include "shipments.h"
#include "store.h"

#define AUDIT_NS_PER_MS 1000000ULL

/* The figures of a period (of all stores, one store, or one category), in the order of the CSV columns. */
enum audit_fig {
	FIG_PAYMENTS,
	FIG_PAYMENTS_VALUE,
	FIG_IN_STORE,
	FIG_IN_STORE_VALUE,
	FIG_ONLINE,
	FIG_ONLINE_VALUE,
	FIG_REFUNDS,
	FIG_REFUNDS_VALUE,
	FIG_MDR,
	FIG_COMMISSION,
	FIG_FEES,
	FIG_PAYOUTS,
	FIG_PAYOUTS_VALUE,
	FIG_N
};

static const char *const audit_fig_names[FIG_N] = {
	"payments", "payments_value", "in_store", "in_store_value", "online", "online_value", "refunds",
	"refunds_value", "mdr", "commission", "fees", "payouts", "payouts_value",
};

struct audit_figs {
	int64_t v[FIG_N];
};

/* One store's figures in a period. */
struct audit_row {
	uint64_t store;
	struct audit_figs f;
};

struct audit_period {
	int64_t start, end;                   /* UTC ms: [start, end) */
	struct audit_figs total;
	struct audit_row *rows;               /* sorted by store */
	size_t nrows, cap;
};

/* A store's name and category, read once per request. */
struct audit_store_info {
	uint64_t id;
	char name[MERCHANT_NAME_MAX + 1];
	char category[MERCHANT_CATEGORY_MAX + 1];
};

_Static_assert(offsetof(struct audit_row, store) == 0 && offsetof(struct audit_store_info, id) == 0,
	       "audit_lower_bound finds rows and stores by the id they start with");

/* One report's (or findings') work. */
struct audit_report {
	struct audit *a;
	MDB_txn *txn;
	struct audit_period *periods;
	size_t nperiods;
	size_t rows;                          /* rows of every period, at most AUDIT_ROWS_MAX */
	struct audit_store_info *stores;      /* sorted by id */
	size_t nstores, stores_cap;
	struct merchant *mc;                  /* scratch for reading a store */
	bool collect_orders;                  /* findings: keep the orders of order entries */
	uint64_t *orders;
	size_t norders, orders_cap;
	size_t scanned;                       /* entries looked at */
};

/* --- sums --- */

static int audit_figs_add(struct audit_figs *sum, const struct audit_figs *d)
{
	for (int i = 0; i < FIG_N; i++)
		if (__builtin_add_overflow(sum->v[i], d->v[i], &sum->v[i]))
			return AUDIT_EOVERFLOW;
	return 0;
}

/* Makes room for one more of n elements of size `size` in *items (capacity *cap). Returns 0 or LEDGER_ENOMEM. */
static int audit_grow(void **items, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? *cap * 2 : 16;
	void *p;
	if (n < *cap)
		return 0;
	if (!(p = realloc(*items, want * size)))
		return LEDGER_ENOMEM;
	*items = p;
	*cap = want;
	return 0;
}

/*
 * Where id is, or goes, in items[0..n) of `size` bytes each, sorted by the
 * uint64_t that starts each item (a store id).
 */
static size_t audit_lower_bound(const void *items, size_t n, size_t size, uint64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t at;
		memcpy(&at, (const char *)items + mid * size, sizeof(at));
		if (at < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The store's name and category (read on first use; a store that is gone has none). */
static int audit_store_info(struct audit_report *r, uint64_t id, const struct audit_store_info **out)
{
	size_t lo = audit_lower_bound(r->stores, r->nstores, sizeof(*r->stores), id);
	struct audit_store_info *s;
	int rc;
	if (lo < r->nstores && r->stores[lo].id == id) {
		*out = &r->stores[lo];
		return 0;
	}
	if ((rc = audit_grow((void **)&r->stores, &r->stores_cap, r->nstores, sizeof(*r->stores))) != 0)
		return rc;
	rc = merchants_get(r->a->src.merchants, r->txn, id, r->mc);
	if (rc != 0 && rc != STORE_ENOTFOUND)
		return rc;
	s = &r->stores[lo];
	memmove(s + 1, s, (r->nstores - lo) * sizeof(*s));
	r->nstores++;
	s->id = id;
	snprintf(s->name, sizeof(s->name), "%s", rc == 0 ? r->mc->name : "");
	snprintf(s->category, sizeof(s->category), "%s", rc == 0 ? r->mc->category : "");
	*out = s;
	return 0;
}

/* Adds d to the store's row of the period (made on first use). */
static int audit_row_add(struct audit_report *r, struct audit_period *p, uint64_t store, const struct audit_figs *d)
{
	const struct audit_store_info *info;
	size_t lo = audit_lower_bound(p->rows, p->nrows, sizeof(*p->rows), store);
	int rc;
	if (lo == p->nrows || p->rows[lo].store != store) {
		if (r->rows == AUDIT_ROWS_MAX)
			return AUDIT_ETOOMANY;
		if ((rc = audit_grow((void **)&p->rows, &p->cap, p->nrows, sizeof(*p->rows))) != 0 ||
		    (rc = audit_store_info(r, store, &info)) != 0)
			return rc;
		memmove(&p->rows[lo + 1], &p->rows[lo], (p->nrows - lo) * sizeof(*p->rows));
		memset(&p->rows[lo], 0, sizeof(p->rows[lo]));
		p->rows[lo].store = store;
		p->nrows++;
		r->rows++;
	}
	return audit_figs_add(&p->rows[lo].f, d);
}

/*
 * The store an online payment's refund is for: the group's one store, or
 * the one order of the group that had money back; 0 when that is not one
 * store (the refund then counts in the totals only).
 */
static uint64_t audit_refund_store(const struct audit_attr *at)
{
	uint64_t store = 0;
	size_t with = 0;
	if (at->norders == 1)
		return at->orders[0].merchant_id;
	for (size_t i = 0; i < at->norders; i++) {
		if (at->orders[i].refunded > 0) {
			store = at->orders[i].merchant_id;
			with++;
		}
	}
	return with == 1 ? store : 0;
}

/* A payment's capture, MDR or refund entry. OUT: *d, *store (0: per order of the group, or none). */
static void audit_payment_figs(const struct audit *a, const struct ledger_transfer *t, const struct audit_attr *at,
			       struct audit_figs *d, uint64_t *store)
{
	bool instore = at->pay.instore;
	int value = instore ? FIG_IN_STORE_VALUE : FIG_ONLINE_VALUE;
	*store = instore ? at->pay.merchant_id : 0;
	switch (t->code) {
	case LEDGER_CODE_PAYMENT:
		d->v[FIG_PAYMENTS] = 1;
		d->v[instore ? FIG_IN_STORE : FIG_ONLINE] = 1;
		d->v[FIG_PAYMENTS_VALUE] = d->v[value] = t->amount;
		break;
	case LEDGER_CODE_COMMISSION:
		/* The MDR: part of what was paid, kept as a fee. */
		d->v[FIG_PAYMENTS_VALUE] = d->v[value] = t->amount;
		d->v[FIG_MDR] = d->v[FIG_FEES] = t->amount;
		break;
	case LEDGER_CODE_REFUND:
		d->v[FIG_REFUNDS_VALUE] = t->amount;
		if (memcmp(t->debit_account_id.b, a->fees.b, 16) == 0)
			d->v[FIG_MDR] = d->v[FIG_FEES] = -t->amount;   /* the MDR's share goes back */
		else
			d->v[FIG_REFUNDS] = 1;
		if (!instore)
			*store = audit_refund_store(at);
		break;
	default:
		break;
	}
}

/* Adds one entry's figures to the period: its totals and the stores it is for. */
static int audit_entry_add(struct audit_report *r, struct audit_period *p, const struct ledger_entry *e,
			   const struct audit_attr *at)
{
	const struct ledger_transfer *t = &e->t;
	struct audit_figs d = { { 0 } };
	uint64_t store = 0;
	bool per_order = false;
	int rc;
	if (at->kind == AUDIT_KIND_PAYMENT) {
		audit_payment_figs(r->a, t, at, &d, &store);
		per_order = !at->pay.instore && t->code == LEDGER_CODE_PAYMENT;
	} else if (at->kind == AUDIT_KIND_ORDER && t->code == LEDGER_CODE_COMMISSION) {
		d.v[FIG_COMMISSION] = d.v[FIG_FEES] = t->amount;
		store = t->user_data_32;
	} else if (at->kind == AUDIT_KIND_PAYOUT && (t->flags & LEDGER_POST_PENDING)) {
		d.v[FIG_PAYOUTS] = 1;
		d.v[FIG_PAYOUTS_VALUE] = t->amount;
		store = t->user_data_32 == PAYOUTS_PAYEE_MERCHANT ? t->user_data_64 : 0;
	}
	if ((rc = audit_figs_add(&p->total, &d)) != 0)
		return rc;
	/* An online payment counts once for each store of its group, with that store's order's total. */
	for (size_t i = 0; per_order && i < at->norders; i++) {
		struct audit_figs s = { { 0 } };
		s.v[FIG_PAYMENTS] = s.v[FIG_ONLINE] = 1;
		s.v[FIG_PAYMENTS_VALUE] = s.v[FIG_ONLINE_VALUE] = at->orders[i].total;
		if ((rc = audit_row_add(r, p, at->orders[i].merchant_id, &s)) != 0)
			return rc;
	}
	return store && !per_order ? audit_row_add(r, p, store, &d) : 0;
}

/* Keeps an order entry's order (findings). */
static int audit_keep_order(struct audit_report *r, uint64_t order)
{
	int rc = audit_grow((void **)&r->orders, &r->orders_cap, r->norders, sizeof(*r->orders));
	if (rc == 0)
		r->orders[r->norders++] = order;
	return rc;
}

/* Looks at every entry of the periods' range: at most AUDIT_SCAN_MAX (else AUDIT_ETOOMANY, nothing read). */
static int audit_scan(struct audit_report *r)
{
	uint64_t seq, end;
	size_t p = 0;
	struct ledger_entry *buf;
	int rc = audit_seq_range(r->a, r->txn, r->periods[0].start, r->periods[r->nperiods - 1].end, &seq, &end);
	if (rc != 0)
		return rc;
	if (end > seq && end - seq > AUDIT_SCAN_MAX)
		return AUDIT_ETOOMANY;
	if (!(buf = calloc(AUDIT_READ_BATCH, sizeof(*buf))))
		return LEDGER_ENOMEM;
	while (rc == 0 && seq < end) {
		size_t n = 0;
		rc = ledger_journal(r->a->src.ledger, r->txn, seq,
				    end - seq < AUDIT_READ_BATCH ? (size_t)(end - seq) : AUDIT_READ_BATCH, buf, &n);
		if (rc != 0 || n == 0)
			break;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			int64_t ms = (int64_t)(buf[i].t.timestamp / AUDIT_NS_PER_MS);
			struct audit_attr at;
			seq = buf[i].t.seq + 1;
			r->scanned++;
			/* Entries come in time order, so the periods are walked once. */
			while (p < r->nperiods && ms >= r->periods[p].end)
				p++;
			if (p == r->nperiods || ms < r->periods[p].start)
				continue;
			rc = audit_attribute(r->a, r->txn, &buf[i], &at);
			if (rc == 0)
				rc = audit_entry_add(r, &r->periods[p], &buf[i], &at);
			if (rc == 0 && r->collect_orders && at.kind == AUDIT_KIND_ORDER)
				rc = audit_keep_order(r, at.order_id);
		}
	}
	free(buf);
	return rc;
}

/* Frees what r holds (not r). */
static void audit_report_free(struct audit_report *r)
{
	for (size_t i = 0; r->periods && i < r->nperiods; i++)
		free(r->periods[i].rows);
	free(r->periods);
	free(r->stores);
	free(r->orders);
	free(r->mc);
}

/* --- JSON and CSV --- */

/* Sets the figures as members of obj. Returns 0 or -1. */
static int audit_figs_set(json_t *obj, const struct audit_figs *f)
{
	for (int i = 0; obj && i < FIG_N; i++)
		if (json_object_set_new(obj, audit_fig_names[i], json_integer((json_int_t)f->v[i])) != 0)
			return -1;
	return obj ? 0 : -1;
}

/* A category's figures in a period. */
struct audit_cat {
	const char *category;                 /* lent by the report's store infos */
	struct audit_figs f;
};

static int audit_cat_cmp(const void *x, const void *y)
{
	return strcmp(((const struct audit_cat *)x)->category, ((const struct audit_cat *)y)->category);
}

/* The period's figures per category, sorted by name. OUT: *out (free it), *n. */
static int audit_categories(struct audit_report *r, const struct audit_period *p, struct audit_cat **out, size_t *n)
{
	struct audit_cat *cats = calloc(p->nrows ? p->nrows : 1, sizeof(*cats));
	size_t k = 0;
	int rc = cats ? 0 : LEDGER_ENOMEM;
	for (size_t i = 0; rc == 0 && i < p->nrows; i++) {
		const struct audit_store_info *info;
		size_t j = 0;
		if ((rc = audit_store_info(r, p->rows[i].store, &info)) != 0)
			break;
		while (j < k && strcmp(cats[j].category, info->category) != 0)
			j++;
		if (j == k)
			cats[k++].category = info->category;
		rc = audit_figs_add(&cats[j].f, &p->rows[i].f);
	}
	if (rc != 0) {
		free(cats);
		return rc;
	}
	qsort(cats, k, sizeof(*cats), audit_cat_cmp);
	*out = cats;
	*n = k;
	return 0;
}

/* The period's label: its WIB date or month. */
static void audit_period_label(bool monthly, int64_t start, char *out, size_t cap)
{
	if ((monthly ? clock_wib_month(start, out, cap) : clock_wib_date(start, out, cap)) != 0)
		snprintf(out, cap, "?");
}

static json_t *audit_time_json(int64_t ms)
{
	char text[CLOCK_TIME_MAX];
	return clock_format_wib(ms, text, sizeof(text)) == 0 ? json_string(text) : NULL;
}

static json_t *audit_period_json(struct audit_report *r, const struct audit_period *p, bool monthly)
{
	char label[16];
	struct audit_cat *cats = NULL;
	size_t ncats = 0;
	json_t *stores = json_array(), *categories = json_array(), *totals = json_object(), *j;
	int rc = stores && categories && audit_figs_set(totals, &p->total) == 0 ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < p->nrows; i++) {
		const struct audit_store_info *info;
		json_t *row;
		rc = audit_store_info(r, p->rows[i].store, &info);
		row = rc == 0 ? json_pack("{s:I, s:s, s:s}", "store_id", (json_int_t)info->id, "name", info->name,
					  "category", info->category) : NULL;
		if (!row || audit_figs_set(row, &p->rows[i].f) != 0) {
			json_decref(row);
			rc = -1;
		} else if (json_array_append_new(stores, row) != 0) {
			rc = -1;
		}
	}
	if (rc == 0)
		rc = audit_categories(r, p, &cats, &ncats);
	for (size_t i = 0; rc == 0 && i < ncats; i++) {
		json_t *row = json_pack("{s:s}", "category", cats[i].category);
		if (!row || audit_figs_set(row, &cats[i].f) != 0) {
			json_decref(row);
			rc = -1;
		} else if (json_array_append_new(categories, row) != 0) {
			rc = -1;
		}
	}
	free(cats);
	audit_period_label(monthly, p->start, label, sizeof(label));
	if (rc != 0) {
		json_decref(stores);
		json_decref(categories);
		json_decref(totals);
		return NULL;
	}
	j = json_pack("{s:s, s:o?, s:o?, s:o, s:o, s:o}", "period", label, "start", audit_time_json(p->start), "end",
		      audit_time_json(p->end), "totals", totals, "stores", stores, "categories", categories);
	return j;
}

/* One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
static void audit_csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void audit_csv_row(FILE *f, const char *period, const char *scope, uint64_t store, const char *name,
			  const char *category, const struct audit_figs *figs)
{
	fprintf(f, "%s,%s,", period, scope);
	if (store)
		fprintf(f, "%llu", (unsigned long long)store);
	fputc(',', f);
	audit_csv_field(f, name);
	fputc(',', f);
	audit_csv_field(f, category);
	for (int i = 0; i < FIG_N; i++)
		fprintf(f, ",%lld", (long long)figs->v[i]);
	fputs("\r\n", f);
}

/* The report as CSV: a header line, then per period its totals, its stores, its categories. */
static int audit_report_csv(struct audit_report *r, bool monthly, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	int rc = 0;
	if (!f)
		return LEDGER_ENOMEM;
	fputs("period,scope,store_id,store_name,category", f);
	for (int i = 0; i < FIG_N; i++)
		fprintf(f, ",%s", audit_fig_names[i]);
	fputs("\r\n", f);
	for (size_t p = 0; rc == 0 && p < r->nperiods; p++) {
		const struct audit_period *per = &r->periods[p];
		struct audit_cat *cats = NULL;
		size_t ncats = 0;
		char label[16];
		audit_period_label(monthly, per->start, label, sizeof(label));
		audit_csv_row(f, label, "all", 0, "", "", &per->total);
		for (size_t i = 0; rc == 0 && i < per->nrows; i++) {
			const struct audit_store_info *info;
			if ((rc = audit_store_info(r, per->rows[i].store, &info)) == 0)
				audit_csv_row(f, label, "store", info->id, info->name, info->category, &per->rows[i].f);
		}
		if (rc == 0)
			rc = audit_categories(r, per, &cats, &ncats);
		for (size_t i = 0; rc == 0 && i < ncats; i++)
			audit_csv_row(f, label, "category", 0, "", cats[i].category, &cats[i].f);
		free(cats);
	}
	if (fclose(f) != 0 && rc == 0)
		rc = LEDGER_ENOMEM;
	if (rc != 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* --- GET /api/v1/audit/reports --- */

/*
 * The whole WIB days or months from the one holding `from` to the one
 * holding the last millisecond before `to`. OUT: *out (free it), *n.
 * Replies 400 and returns false when there are too many.
 */
static bool audit_periods(struct httpd_req *req, bool monthly, int64_t from, int64_t to, struct audit_period **out,
			  size_t *n)
{
	size_t max = monthly ? AUDIT_MONTHS_MAX : AUDIT_DAYS_MAX, k = 0;
	struct audit_period *p = calloc(max, sizeof(*p));
	int64_t start = monthly ? clock_wib_month_start(from) : clock_wib_day_start(from);
	if (!p) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return false;
	}
	while (start < to && k < max) {
		p[k].start = start;
		p[k].end = start = monthly ? clock_wib_next_month(start) : start + AUDIT_DAY_MS;
		k++;
	}
	if (start < to) {
		free(p);
		httpd_reply_error(req, 400, "invalid_range", "a %s report covers at most %zu %s", monthly ? "monthly" : "daily",
				  max, monthly ? "months" : "days");
		return false;
	}
	*out = p;
	*n = k;
	return true;
}

/*
 * A report or findings request on its way through the work pool: the
 * request's parameters, the report's work, and the answer built on the
 * pool thread (JSON, or CSV text with its file name) for the loop to send.
 */
struct audit_job {
	struct httpd_req *req;
	struct audit_report r;
	bool findings, monthly, csv;
	const char *period;                   /* "day" or "month" (static) */
	int64_t from, to;
	json_t *reply;
	char *text;
	size_t len;
	char disposition[80];
};

static int audit_report_build(struct audit_job *j);
static int audit_findings_build(struct audit_job *j);

/* A pool thread: scans and builds the answer in the read transaction lent for the call. */
static int audit_job_read(MDB_txn *txn, void *arg)
{
	struct audit_job *j = arg;
	int rc;
	j->r.txn = txn;
	if (!(j->r.mc = malloc(sizeof(*j->r.mc))))
		rc = LEDGER_ENOMEM;
	else if ((rc = audit_scan(&j->r)) == 0)
		rc = j->findings ? audit_findings_build(j) : audit_report_build(j);
	j->r.txn = NULL;
	return rc;
}

static void audit_job_free(struct audit_job *j)
{
	audit_report_free(&j->r);
	json_decref(j->reply);
	free(j->text);
	free(j);
}

static void audit_job_done(int status, void *arg)
{
	struct audit_job *j = arg;
	if (status == 0 && j->text) {
		httpd_set_header(j->req, "Content-Disposition", j->disposition);
		httpd_reply_raw(j->req, 200, "text/csv; charset=utf-8", j->text, j->len);
	} else if (status == 0 && j->reply) {
		httpd_reply_json(j->req, 200, j->reply);
		j->reply = NULL;
	} else {
		audit_reply_failure(j->req, status ? status : LEDGER_ENOMEM);
	}
	audit_job_free(j);
}

/* Sends the job (periods[0..n), taken over) to the pool, or answers and frees it. */
static void audit_job_start(struct audit *a, struct audit_job *j, struct audit_period *periods, size_t n)
{
	int rc;
	j->r.a = a;
	j->r.periods = periods;
	j->r.nperiods = n;
	rc = store_read_async(a->src.store, a->workq, audit_job_read, audit_job_done, j);
	if (rc == STORE_OK)
		return;
	audit_reply_failure(j->req, rc);
	audit_job_free(j);
}

/* The report as JSON (a new reference; NULL when out of memory). */
static json_t *audit_report_json(struct audit_report *r, const char *period, bool monthly)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < r->nperiods; i++) {
		if (json_array_append_new(list, audit_period_json(r, &r->periods[i], monthly)) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list ? json_pack("{s:s, s:o?, s:o?, s:I, s:o}", "period", period, "from",
				audit_time_json(r->periods[0].start), "to", audit_time_json(r->periods[r->nperiods - 1].end),
				"entries_scanned", (json_int_t)r->scanned, "periods", list) :
		      NULL;
}

static int audit_report_build(struct audit_job *j)
{
	char label[16];
	if (j->csv) {
		audit_period_label(j->monthly, j->r.periods[0].start, label, sizeof(label));
		snprintf(j->disposition, sizeof(j->disposition), "attachment; filename=\"audit-report-%s-%s.csv\"",
			 j->period, label);
		return audit_report_csv(&j->r, j->monthly, &j->text, &j->len);
	}
	j->reply = audit_report_json(&j->r, j->period, j->monthly);
	return j->reply ? 0 : LEDGER_ENOMEM;
}

void audit_handle_reports(struct httpd_req *req, void *ctx)
{
	struct audit *a = ctx;
	const char *period = httpd_query(req, "period"), *format = httpd_query(req, "format");
	struct audit_period *periods;
	struct audit_job *j;
	size_t n;
	int64_t from, to;
	bool has_from, has_to, monthly;
	if (!period || (strcmp(period, "day") != 0 && strcmp(period, "month") != 0)) {
		httpd_reply_error(req, 400, "invalid_field", "period must be day or month");
		return;
	}
	if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
		httpd_reply_error(req, 400, "invalid_field", "format must be json or csv");
		return;
	}
	monthly = strcmp(period, "month") == 0;
	if (audit_query_range(req, true, &from, &to, &has_from, &has_to) != 0 ||
	    !audit_periods(req, monthly, from, to, &periods, &n))
		return;
	if (!(j = calloc(1, sizeof(*j)))) {
		free(periods);
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	j->req = req;
	j->monthly = monthly;
	j->period = monthly ? "month" : "day";
	j->csv = format && strcmp(format, "csv") == 0;
	audit_job_start(a, j, periods, n);
}

/* --- GET /api/v1/audit/findings --- */

/* Appends a finding (reference stolen). Returns 0 or LEDGER_ENOMEM. */
static int audit_finding(json_t *list, json_t *finding)
{
	return finding && json_array_append_new(list, finding) == 0 ? 0 : LEDGER_ENOMEM;
}

/* The payments scan's state: findings of payments. */
struct audit_pay_scan {
	json_t *list;
	int rc;
	size_t seen;
};

static json_t *audit_payment_finding(const char *kind, const struct payments_audit *pa)
{
	char id[33], group[33];
	ledger_id_hex(&pa->id, id, sizeof(id));
	ledger_id_hex(&pa->group_id, group, sizeof(group));
	return json_pack("{s:s, s:s, s:s, s:o, s:s?, s:I, s:o, s:I, s:I, s:s, s:o?}", "kind", kind, "payment_id", id,
			 "payment_kind", pa->instore ? "in_store" : "online", "merchant_id",
			 pa->instore ? json_integer((json_int_t)pa->merchant_id) : json_null(), "group_id",
			 pa->instore ? NULL : group, "amount", (json_int_t)pa->amount, "reported",
			 pa->reported >= 0 ? json_integer((json_int_t)pa->reported) : json_null(), "paid_amount",
			 (json_int_t)pa->paid_amount, "refunded", (json_int_t)pa->refunded, "state",
			 pay_state_name(pa->state), "created_at", audit_time_json(pa->created_ms));
}

static bool audit_on_payment(const struct payments_audit *pa, void *arg)
{
	struct audit_pay_scan *s = arg;
	s->seen++;
	if (pa->flagged)
		s->rc = audit_finding(s->list, audit_payment_finding("amount_mismatch", pa));
	if (s->rc == 0 && pa->late && pa->refunded > 0)
		s->rc = audit_finding(s->list, audit_payment_finding("late_payment_refunded", pa));
	return s->rc == 0;
}

/* Per store of the range: refunds over the threshold share of payments; payouts over sales. */
static int audit_store_findings(struct audit_report *r, json_t *list)
{
	const struct audit_period *p = &r->periods[0];
	int64_t bps = r->a->cfg.refund_ratio_bps;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < p->nrows; i++) {
		const struct audit_figs *f = &p->rows[i].f;
		int64_t refunds = f->v[FIG_REFUNDS_VALUE], sales = f->v[FIG_PAYMENTS_VALUE], lhs, rhs;
		json_int_t store = (json_int_t)p->rows[i].store;
		if (__builtin_mul_overflow(refunds, (int64_t)10000, &lhs) || __builtin_mul_overflow(sales, bps, &rhs))
			return AUDIT_EOVERFLOW;
		if (refunds > 0 && lhs > rhs)
			rc = audit_finding(list, json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:I}", "kind", "refund_ratio",
							   "merchant_id", store, "payments_value", (json_int_t)sales,
							   "refunds", (json_int_t)f->v[FIG_REFUNDS], "refunds_value",
							   (json_int_t)refunds, "ratio_bps",
							   sales > 0 ? json_integer(lhs / sales) : json_null(),
							   "threshold_bps", (json_int_t)bps));
		if (rc == 0 && f->v[FIG_PAYOUTS_VALUE] > sales)
			rc = audit_finding(list, json_pack("{s:s, s:I, s:I, s:I, s:I}", "kind", "payouts_over_sales",
							   "merchant_id", store, "payouts", (json_int_t)f->v[FIG_PAYOUTS],
							   "payouts_value", (json_int_t)f->v[FIG_PAYOUTS_VALUE],
							   "sales_value", (json_int_t)sales));
	}
	return rc;
}

static int audit_u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* Orders with a release, commission or shipping entry in the range that completed without a delivery. */
static int audit_order_findings(struct audit_report *r, json_t *list)
{
	int rc = 0;
	if (r->norders > 1)
		qsort(r->orders, r->norders, sizeof(*r->orders), audit_u64_cmp);
	for (size_t i = 0; rc == 0 && i < r->norders; i++) {
		struct orders_audit o;
		const char *state = NULL;
		bool delivered = false, has_shipment;
		char sid[33];
		if (i > 0 && r->orders[i] == r->orders[i - 1])
			continue;
		rc = orders_audit_get(r->a->src.orders, r->txn, r->orders[i], &o);
		if (rc == STORE_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc != 0 || !o.completed)
			continue;
		has_shipment = !ledger_id_is_zero(&o.shipment_id);
		if (has_shipment &&
		    (rc = shipments_audit_delivered(r->a->src.shipments, r->txn, &o.shipment_id, &delivered, &state)) != 0)
			break;
		if (delivered)
			continue;
		ledger_id_hex(&o.shipment_id, sid, sizeof(sid));
		rc = audit_finding(list, json_pack("{s:s, s:I, s:I, s:s, s:s?, s:s?}", "kind",
						   "completed_without_delivery", "order_id", (json_int_t)o.id,
						   "merchant_id", (json_int_t)o.merchant_id, "order_state", o.state,
						   "shipment_id", has_shipment ? sid : NULL, "shipment_state", state));
	}
	return rc;
}

/* How many findings of each kind. */
static json_t *audit_finding_counts(const json_t *list)
{
	static const char *const kinds[] = { "amount_mismatch", "late_payment_refunded", "refund_ratio",
					     "completed_without_delivery", "payouts_over_sales" };
	json_t *counts = json_object();
	for (size_t k = 0; counts && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t i, n = 0;
		json_t *f;
		json_array_foreach(list, i, f)
			n += strcmp(json_string_value(json_object_get(f, "kind")), kinds[k]) == 0;
		if (json_object_set_new(counts, kinds[k], json_integer((json_int_t)n)) != 0) {
			json_decref(counts);
			counts = NULL;
		}
	}
	return counts;
}

static int audit_findings_build(struct audit_job *j)
{
	struct audit_report *r = &j->r;
	struct audit_pay_scan ps = { 0 };
	bool more = false;
	int rc;
	if (!(ps.list = json_array()))
		return LEDGER_ENOMEM;
	rc = payments_audit_scan(r->a->src.payments, r->txn, j->from, j->to, AUDIT_PAYMENTS_SCAN_MAX, audit_on_payment,
				 &ps, &more);
	if (rc == 0)
		rc = ps.rc ? ps.rc : more ? AUDIT_ETOOMANY : 0;
	if (rc == 0)
		rc = audit_store_findings(r, ps.list);
	if (rc == 0)
		rc = audit_order_findings(r, ps.list);
	if (rc == 0 &&
	    !(j->reply = json_pack("{s:o?, s:o?, s:I, s:I, s:I, s:o, s:O}", "from", audit_time_json(j->from), "to",
				   audit_time_json(j->to), "refund_ratio_bps", (json_int_t)r->a->cfg.refund_ratio_bps,
				   "entries_scanned", (json_int_t)r->scanned, "payments_scanned", (json_int_t)ps.seen,
				   "counts", audit_finding_counts(ps.list), "findings", ps.list)))
		rc = LEDGER_ENOMEM;
	json_decref(ps.list);
	return rc;
}

void audit_handle_findings(struct httpd_req *req, void *ctx)
{
	struct audit *a = ctx;
	struct audit_period *period;
	struct audit_job *j;
	int64_t from, to;
	bool has_from, has_to;
	if (audit_query_range(req, true, &from, &to, &has_from, &has_to) != 0)
		return;
	if (to - from > AUDIT_DAYS_MAX * AUDIT_DAY_MS) {
		httpd_reply_error(req, 400, "invalid_range", "findings cover at most %d days", AUDIT_DAYS_MAX);
		return;
	}
	period = calloc(1, sizeof(*period));
	j = calloc(1, sizeof(*j));
	if (!period || !j) {
		free(period);
		free(j);
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	period->start = from;
	period->end = to;
	j->req = req;
	j->findings = true;
	j->from = from;
	j->to = to;
	j->r.collect_orders = true;
	audit_job_start(a, j, period, 1);
}
