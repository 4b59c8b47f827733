#include "payouts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <lmdb.h>

#include "auth.h"
#include "body.h"
#include "clock.h"
#include "httpd.h"
#include "idem.h"
#include "ledger.h"
#include "log.h"
#include "merchants.h"
#include "payment.h"
#include "payments.h"
#include "profiles.h"
#include "shipments.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define PAYOUT_VERSION 2              /* 2 added the payee's kind; 1 was a store's payout without it */
#define PAYOUT_FIELDS 14              /* before the history entries (version 1: 13) */
#define PAYOUT_HISTORY_FIELDS 4       /* per history entry */
#define PAYOUT_HISTORY_MAX 16         /* entries kept in the record: the newest */
#define PAYOUT_NOTE_MAX 96
#define PAYOUT_SOURCE_MAX 16
#define PAYOUT_REASON_MAX 128
#define PAYOUT_SWEEP_MAX 64           /* watched payouts handled per sweep */
#define PAYOUT_LIST_MAX 100
#define PAYOUT_LIST_DEFAULT 20
#define STATEMENT_LIMIT_MAX 200
#define STATEMENT_LIMIT_DEFAULT 50
#define STATEMENT_WALK 256            /* entries read per step while finding a page's balance */
#define PAYOUT_SCOPE "payouts.create" /* the Idempotency-Key scope */

enum payout_state { PAYOUT_PROCESSING = 1, PAYOUT_COMPLETED = 2, PAYOUT_FAILED = 3 };

/* Whom a payout pays. Stored in the record and in the hold's user_data_32 (0 for stores, as before couriers). */
enum payee_kind { PAYEE_MERCHANT = 0, PAYEE_COURIER = 1, PAYEE_KINDS };

/* What differs between the kinds of payee; everything else is one code path. */
static const struct po_kind {
	const char *name;        /* the payable account's prefix, and the payout's `payee` */
	const char *id_key;      /* the payee's id in JSON */
	const char *noun;        /* in refusals: "the store has ..." */
	const char *not_yours;   /* the 403's message */
	unsigned owner_role;     /* the role of whoever asks for the payouts */
	const char *list_dbi;    /* payee id 8 | payout id 16 -> empty */
	const char *open_dbi;    /* payee id 8 -> the processing payout's id 16 */
} po_kinds[PAYEE_KINDS] = {
	[PAYEE_MERCHANT] = { "merchant", "merchant_id", "store", "not your store", ROLE_MERCHANT, "payout_merchant",
			     "payout_open" },
	[PAYEE_COURIER] = { "courier", "courier_user_id", "courier", "not yours", ROLE_COURIER, "payout_courier",
			    "payout_courier_open" },
};

/* A courier's bank details are snapshot into a payout sized for a store's. */
_Static_assert(PROFILES_BANK_CODE_MAX <= MERCHANT_BANK_CODE_MAX &&
		       PROFILES_BANK_ACCOUNT_MAX <= MERCHANT_BANK_ACCOUNT_MAX &&
		       PROFILES_BANK_NAME_MAX <= MERCHANT_BANK_NAME_MAX,
	       "a courier's bank details must fit a payout");

/* One thing that happened to a payout: its history, and how repeats are known. */
struct payout_event {
	int64_t at_ms;
	char source[PAYOUT_SOURCE_MAX + 1];      /* "local", "provider", "webhook" */
	char event_id[PAY_EVENT_ID_MAX + 1];
	char note[PAYOUT_NOTE_MAX + 1];
};

struct payout {
	struct ledger_id id;
	uint8_t kind;                            /* enum payee_kind */
	uint64_t payee_id;                       /* the store's id, or the courier's user id */
	struct ledger_id payable;                /* the account the hold is on */
	int64_t amount;
	/* The bank details as they were when it was asked for. */
	char bank_code[MERCHANT_BANK_CODE_MAX + 1];
	char bank_account[MERCHANT_BANK_ACCOUNT_MAX + 1];
	char bank_name[MERCHANT_BANK_NAME_MAX + 1];
	uint8_t state;                           /* enum payout_state */
	char provider_ref[PAY_ID_MAX + 1];
	char failure[PAYOUT_REASON_MAX + 1];
	int64_t created_ms, updated_ms;
	uint64_t nevents;                        /* events ever recorded */
	uint8_t nhist;                           /* the newest kept below, oldest first */
	struct payout_event hist[PAYOUT_HISTORY_MAX];
};

/* Whom a payout pays, as read for a request or a job. */
struct po_payee {
	uint8_t kind;                            /* enum payee_kind */
	uint64_t id;                             /* the store's id, or the courier's user id */
	uint64_t owner_user_id;                  /* who may ask for its payouts */
	struct ledger_id payable;
	char account[LEDGER_NAME_MAX + 1];       /* the payable account's name */
	char bank_code[MERCHANT_BANK_CODE_MAX + 1];
	char bank_account[MERCHANT_BANK_ACCOUNT_MAX + 1];
	char bank_name[MERCHANT_BANK_NAME_MAX + 1];
};

/* The three families of endpoints: a store's, the calling courier's, any courier's by id. */
enum { ROUTE_STORE, ROUTE_COURIER_SELF, ROUTE_COURIER_BY_ID, ROUTES };

/* One family: the handlers' ctx. */
struct po_route {
	struct payouts *po;
	uint8_t kind;                            /* enum payee_kind */
	const char *prefix;                      /* of the paths: "/api/v1/merchants/{id}" */
	const char *param;                       /* the path parameter naming the payee; NULL: the caller */
	unsigned creators, readers;              /* roles; creators 0: no POST */
};

struct payouts {
	struct store *store;
	struct ledger *ledger;
	struct payouts_payees payees;
	struct payments *payments;
	struct idem *idem;
	struct pay_gateway *gw;
	struct payouts_config cfg;
	MDB_dbi payouts, watch;
	MDB_dbi list[PAYEE_KINDS], open[PAYEE_KINDS];   /* per kind: see struct po_kind */
	struct po_route routes[ROUTES];
	struct workq *reads;                 /* lent by payouts_attach: statements are read there */
	struct event *sweep_timer;
	bool sweeping;
};

/* Why a payout may not be made now. */
enum payout_refusal {
	REFUSE_NONE = 0,
	REFUSE_BELOW_MINIMUM,
	REFUSE_NO_BANK_ACCOUNT,
	REFUSE_OPEN,
	REFUSE_INSUFFICIENT,
	REFUSE_LEDGER,          /* the ledger refused the hold for another reason */
};

/* What an event's store job did. */
enum payout_outcome {
	OUTCOME_APPLIED = 1,    /* the payout finished */
	OUTCOME_RECORDED,       /* kept in the history, nothing changed */
	OUTCOME_DUPLICATE,      /* the same event again */
	OUTCOME_UNKNOWN,        /* no such payout */
	OUTCOME_REFUSED,        /* the ledger would not post or void: still processing */
};

/* --- small helpers --- */

static void po_time_text(int64_t ms, char *out, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static const char *po_state_name(uint8_t s)
{
	return s == PAYOUT_PROCESSING ? "processing" : s == PAYOUT_COMPLETED ? "completed" :
	       s == PAYOUT_FAILED ? "failed" : NULL;
}

/* --- records --- */

/* Reads a payout; `id` may point into `out` (it is copied first). */
static int po_load(struct payouts *po, MDB_txn *txn, const struct ledger_id *id, struct payout *out)
{
	struct ledger_id key = *id;
	MDB_val k = { 16, key.b }, v;
	struct record_reader r;
	uint64_t kind = PAYEE_MERCHANT, state = 0, nhist = 0;
	uint32_t fields = PAYOUT_FIELDS - 1;
	int rc = mdb_get(txn, po->payouts, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, PAYOUT_VERSION, fields) != RECORD_OK)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->id = key;
	/* Version 1 is read as a store's payout, so payouts made before couriers still finish. */
	if (r.version >= 2)
		fields++;
	if (r.count < fields || (r.version >= 2 && record_get_u64(&r, &kind)) || kind >= PAYEE_KINDS ||
	    record_get_u64(&r, &out->payee_id) || record_get_bin_exact(&r, out->payable.b, 16) ||
	    record_get_i64(&r, &out->amount) ||
	    record_get_str(&r, out->bank_code, sizeof(out->bank_code), NULL) ||
	    record_get_str(&r, out->bank_account, sizeof(out->bank_account), NULL) ||
	    record_get_str(&r, out->bank_name, sizeof(out->bank_name), NULL) || record_get_u64(&r, &state) ||
	    record_get_str(&r, out->provider_ref, sizeof(out->provider_ref), NULL) ||
	    record_get_str(&r, out->failure, sizeof(out->failure), NULL) || record_get_i64(&r, &out->created_ms) ||
	    record_get_i64(&r, &out->updated_ms) || record_get_u64(&r, &out->nevents) ||
	    record_get_u64(&r, &nhist) || nhist > PAYOUT_HISTORY_MAX ||
	    nhist * PAYOUT_HISTORY_FIELDS > r.count - fields ||
	    !po_state_name((uint8_t)state) || state > PAYOUT_FAILED)
		rc = STORE_ECORRUPT;
	for (uint64_t i = 0; rc == 0 && i < nhist; i++) {
		struct payout_event *e = &out->hist[i];
		if (record_get_i64(&r, &e->at_ms) || record_get_str(&r, e->source, sizeof(e->source), NULL) ||
		    record_get_str(&r, e->event_id, sizeof(e->event_id), NULL) ||
		    record_get_str(&r, e->note, sizeof(e->note), NULL))
			rc = STORE_ECORRUPT;
	}
	out->kind = (uint8_t)kind;
	out->nhist = (uint8_t)nhist;
	out->state = (uint8_t)state;
	record_reader_free(&r);
	return rc;
}

static int po_store(struct payouts *po, MDB_txn *txn, struct payout *p)
{
	struct record_writer w;
	MDB_val k = { 16, p->id.b }, v;
	size_t len;
	int rc;
	p->updated_ms = clock_now_ms();
	record_writer_init(&w, PAYOUT_VERSION, PAYOUT_FIELDS + (uint32_t)p->nhist * PAYOUT_HISTORY_FIELDS);
	record_put_u64(&w, p->kind);
	record_put_u64(&w, p->payee_id);
	record_put_bin(&w, p->payable.b, 16);
	record_put_i64(&w, p->amount);
	record_put_str(&w, p->bank_code, strlen(p->bank_code));
	record_put_str(&w, p->bank_account, strlen(p->bank_account));
	record_put_str(&w, p->bank_name, strlen(p->bank_name));
	record_put_u64(&w, p->state);
	record_put_str(&w, p->provider_ref, strlen(p->provider_ref));
	record_put_str(&w, p->failure, strlen(p->failure));
	record_put_i64(&w, p->created_ms);
	record_put_i64(&w, p->updated_ms);
	record_put_u64(&w, p->nevents);
	record_put_u64(&w, p->nhist);
	for (uint8_t i = 0; i < p->nhist; i++) {
		const struct payout_event *e = &p->hist[i];
		record_put_i64(&w, e->at_ms);
		record_put_str(&w, e->source, strlen(e->source));
		record_put_str(&w, e->event_id, strlen(e->event_id));
		record_put_str(&w, e->note, strlen(e->note));
	}
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	rc = v.mv_data ? mdb_put(txn, po->payouts, &k, &v, 0) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

/* Appends an event to the payout's history (the oldest goes when full). */
static void po_history(struct payout *p, const char *source, const char *event_id, const char *note)
{
	struct payout_event *e;
	if (p->nhist == PAYOUT_HISTORY_MAX) {
		memmove(&p->hist[0], &p->hist[1], (PAYOUT_HISTORY_MAX - 1) * sizeof(p->hist[0]));
		p->nhist--;
	}
	e = &p->hist[p->nhist++];
	e->at_ms = clock_now_ms();
	snprintf(e->source, sizeof(e->source), "%s", source);
	snprintf(e->event_id, sizeof(e->event_id), "%s", event_id);
	snprintf(e->note, sizeof(e->note), "%s", note);
	p->nevents++;
}

static bool po_seen(const struct payout *p, const char *event_id)
{
	for (uint8_t i = 0; i < p->nhist; i++)
		if (strcmp(p->hist[i].event_id, event_id) == 0)
			return true;
	return false;
}

/* Schedules the next look at a processing payout: key = due time, then id. */
static int po_watch(struct payouts *po, MDB_txn *txn, const struct ledger_id *id, int64_t due_ms, uint32_t attempts)
{
	return store_watch_put(txn, po->watch, due_ms, id->b, attempts);
}

/* The payee's processing payout, if any. OUT: *id. Returns 0, STORE_ENOTFOUND or a storage status. */
static int po_open_get(struct payouts *po, MDB_txn *txn, const struct po_payee *pe, struct ledger_id *id)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	int rc;
	record_be64_put(key, pe->id);
	rc = mdb_get(txn, po->open[pe->kind], &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (v.mv_size != 16)
		return STORE_ECORRUPT;
	memcpy(id->b, v.mv_data, 16);
	return 0;
}

/* --- the ledger --- */

static void po_transfer_id(const struct payout *p, const char *what, struct ledger_id *out)
{
	char key[64], hex[33];
	ledger_id_hex(&p->id, hex, sizeof(hex));
	snprintf(key, sizeof(key), "payout:%s:%s", hex, what);
	ledger_id_derive((uint64_t)p->created_ms, key, strlen(key), out);
}

/*
 * A transfer of the payout, its id derived from the payout and `what`: the
 * hold (LEDGER_PENDING), or its post or void.
 */
static void po_transfer(const struct payout *p, const char *what, uint16_t flags, struct ledger_transfer *t)
{
	memset(t, 0, sizeof(*t));
	po_transfer_id(p, what, &t->id);
	t->debit_account_id = p->payable;
	t->credit_account_id = payments_platform_account("bank:settlement");
	t->ledger = LEDGER_IDR;
	t->code = LEDGER_CODE_PAYOUT;
	t->flags = flags;
	t->user_data_128 = p->id;
	t->user_data_64 = p->payee_id;
	t->user_data_32 = p->kind;
	if (flags & LEDGER_PENDING) {
		t->amount = p->amount;
	} else {
		po_transfer_id(p, "hold", &t->pending_id);
		t->amount = (flags & LEDGER_POST_PENDING) ? LEDGER_AMOUNT_MAX : 0;
	}
}

int payouts_figures(const struct ledger_balances *b, struct payouts_figures *out)
{
	if (__builtin_sub_overflow(b->credits_posted, b->debits_posted, &out->balance) ||
	    __builtin_sub_overflow(out->balance, b->debits_pending, &out->available))
		return -1;
	return 0;
}

/* The figures of an account as it is now. OUT: *out. Returns 0 or STORE_ECORRUPT. */
static int po_figures_now(const struct ledger_account *a, struct payouts_figures *out)
{
	struct ledger_balances b = { a->debits_pending, a->debits_posted, a->credits_pending, a->credits_posted };
	return payouts_figures(&b, out) == 0 ? 0 : STORE_ECORRUPT;
}

/*
 * The payee's payable account within txn. A courier who never earned
 * anything has none yet (the shipments module makes it with the first fee):
 * it reads as empty then, rather than being made by a read. OUT: *a,
 * *exists. Returns a storage status.
 */
static int po_account(struct payouts *po, MDB_txn *txn, const struct po_payee *pe, struct ledger_account *a,
		      bool *exists)
{
	int rc = ledger_account_get(po->ledger, txn, &pe->payable, a);
	*exists = rc == 0;
	if (rc != STORE_ENOTFOUND)
		return rc;
	memset(a, 0, sizeof(*a));
	a->id = pe->payable;
	snprintf(a->name, sizeof(a->name), "%s", pe->account);
	return 0;
}

/*
 * The rules of a new payout, read within txn (in the job, where they
 * count). OUT: *why, and *available.
 */
static int po_check(struct payouts *po, MDB_txn *txn, const struct po_payee *pe, int64_t amount,
		    enum payout_refusal *why, int64_t *available)
{
	struct ledger_account a;
	struct payouts_figures f;
	struct ledger_id open;
	bool exists;
	int rc;
	*why = REFUSE_NONE;
	*available = 0;
	if (amount < po->cfg.min_amount) {
		*why = REFUSE_BELOW_MINIMUM;
		return 0;
	}
	if (!pe->bank_code[0] || !pe->bank_account[0] || !pe->bank_name[0]) {
		*why = REFUSE_NO_BANK_ACCOUNT;
		return 0;
	}
	rc = po_open_get(po, txn, pe, &open);
	if (rc == 0) {
		*why = REFUSE_OPEN;
		return 0;
	}
	if (rc != STORE_ENOTFOUND)
		return rc;
	if ((rc = po_account(po, txn, pe, &a, &exists)) != 0 || (rc = po_figures_now(&a, &f)) != 0)
		return rc;
	*available = f.available;
	if (amount > *available)
		*why = REFUSE_INSUFFICIENT;
	return 0;
}

static void po_reply_refusal(struct payouts *po, struct httpd_req *req, uint8_t kind, enum payout_refusal why,
			     int64_t available)
{
	const char *noun = po_kinds[kind].noun;
	switch (why) {
	case REFUSE_BELOW_MINIMUM:
		httpd_reply_error(req, 422, "below_minimum", "a payout must be at least %lld rupiah",
				  (long long)po->cfg.min_amount);
		break;
	case REFUSE_NO_BANK_ACCOUNT:
		httpd_reply_error(req, 409, "no_bank_account", "the %s has no bank account to pay out to", noun);
		break;
	case REFUSE_OPEN:
		httpd_reply_error(req, 409, "payout_open", "the %s has a payout still processing", noun);
		break;
	case REFUSE_INSUFFICIENT:
		httpd_reply_error(req, 422, "insufficient_balance", "at most %lld rupiah is available",
				  (long long)available);
		break;
	case REFUSE_LEDGER:
	case REFUSE_NONE:
		httpd_reply_error(req, 500, "internal", "the ledger refused the payout");
		break;
	}
}

/* --- JSON --- */

static json_t *po_json(const struct payout *p)
{
	json_t *payee = json_integer((json_int_t)p->payee_id);   /* under the kind's key; the other is null */
	char id[33], created[64], updated[64];
	ledger_id_hex(&p->id, id, sizeof(id));
	po_time_text(p->created_ms, created, sizeof(created));
	po_time_text(p->updated_ms, updated, sizeof(updated));
	return json_pack("{s:s, s:s, s:o?, s:o?, s:I, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s}", "id", id, "payee",
			 po_kinds[p->kind].name, "merchant_id", p->kind == PAYEE_MERCHANT ? payee : NULL,
			 "courier_user_id", p->kind == PAYEE_COURIER ? payee : NULL, "amount", (json_int_t)p->amount,
			 "bank_code", p->bank_code,
			 "bank_account", p->bank_account, "bank_name", p->bank_name, "status", po_state_name(p->state),
			 "provider_ref", p->provider_ref, "failure_reason", p->failure[0] ? p->failure : NULL,
			 "created_at", created, "updated_at", updated);
}

/* The payout with its kept history, oldest first. */
static json_t *po_json_full(const struct payout *p)
{
	json_t *j = po_json(p), *list = json_array();
	char at[64];
	for (uint8_t i = 0; list && i < p->nhist; i++) {
		const struct payout_event *e = &p->hist[i];
		po_time_text(e->at_ms, at, sizeof(at));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "at", at, "source", e->source, "event_id",
						      e->event_id, "note", e->note));
	}
	if (!j || !list) {
		json_decref(j);
		json_decref(list);
		return NULL;
	}
	json_object_set_new(j, "events", list);
	json_object_set_new(j, "events_total", json_integer((json_int_t)p->nevents));
	return j;
}

/* {"ok":true,"result":...}, the answer providers get for a notification. */
static void po_reply_result(struct httpd_req *req, const char *result)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "{\"ok\":true,\"result\":\"%s\"}", result);
	httpd_reply_raw(req, 200, "application/json; charset=utf-8", body, (size_t)n);
}

/* --- outcomes: one store job each --- */

/* An outcome or a piece of news about a payout, from the provider. */
struct event_job {
	struct payouts *po;
	struct httpd_req *req;                   /* a notification waiting for its answer, or NULL */
	char payout_id[PAY_ID_MAX + 1];
	char source[PAYOUT_SOURCE_MAX + 1];      /* "provider", "webhook" */
	char event_id[PAY_EVENT_ID_MAX + 1];
	uint8_t target;                          /* COMPLETED or FAILED; PROCESSING: news only */
	int64_t amount;                          /* what the provider reported, -1 when nothing */
	char provider_ref[PAY_ID_MAX + 1];
	char reason[PAYOUT_REASON_MAX + 1];
	struct payout p;                         /* the payout after the job */
	enum payout_outcome outcome;
};

/* Posts (completed) or voids (failed) the hold and finishes the payout. OUT: note. */
static int po_finish(struct payouts *po, MDB_txn *txn, struct event_job *job, char *note, size_t cap)
{
	struct payout *p = &job->p;
	bool completed = job->target == PAYOUT_COMPLETED;
	struct ledger_transfer t;
	uint32_t result = 0;
	uint8_t key[8];
	MDB_val k = { sizeof(key), key };
	int rc;
	po_transfer(p, completed ? "post" : "void", completed ? LEDGER_POST_PENDING : LEDGER_VOID_PENDING, &t);
	if ((rc = ledger_create_transfers(po->ledger, txn, &t, 1, &result)) != 0)
		return rc;
	if (result != LEDGER_R_OK && result != LEDGER_R_EXISTS) {
		job->outcome = OUTCOME_REFUSED;
		snprintf(note, cap, "the ledger refused the %s: %s", completed ? "post" : "void",
			 ledger_result_name(result));
		return 0;
	}
	record_be64_put(key, p->payee_id);
	rc = mdb_del(txn, po->open[p->kind], &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	p->state = job->target;
	if (!completed)
		snprintf(p->failure, sizeof(p->failure), "%s", job->reason[0] ? job->reason : "the provider refused it");
	job->outcome = OUTCOME_APPLIED;
	snprintf(note, cap, completed ? "sent to the bank" : "failed: the hold is voided");
	return 0;
}

static int po_apply_event(MDB_txn *txn, void *arg)
{
	struct event_job *job = arg;
	struct payouts *po = job->po;
	char note[PAYOUT_NOTE_MAX + 1];
	struct ledger_id id;
	int rc;

	job->outcome = OUTCOME_UNKNOWN;
	if (ledger_id_parse(job->payout_id, &id) != LEDGER_OK)
		return 0;
	rc = po_load(po, txn, &id, &job->p);
	if (rc == STORE_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (po_seen(&job->p, job->event_id)) {
		job->outcome = OUTCOME_DUPLICATE;
		return 0;
	}
	job->outcome = OUTCOME_RECORDED;
	if (!job->p.provider_ref[0])
		snprintf(job->p.provider_ref, sizeof(job->p.provider_ref), "%s", job->provider_ref);
	snprintf(note, sizeof(note), "no change: the payout is %s", po_state_name(job->p.state));
	if (job->p.state != PAYOUT_PROCESSING) {
		/* Forward only: a finished payout stays as it is. */
	} else if (job->amount >= 0 && job->amount != job->p.amount) {
		/* Not trusted; the sweep asks the provider again. */
		snprintf(note, sizeof(note), "amount %lld differs from %lld: not applied", (long long)job->amount,
			 (long long)job->p.amount);
	} else if (job->target == PAYOUT_PROCESSING) {
		snprintf(note, sizeof(note), "processing at the provider");
	} else if ((rc = po_finish(po, txn, job, note, sizeof(note))) != 0) {
		return rc;
	}
	po_history(&job->p, job->source, job->event_id, note);
	return po_store(po, txn, &job->p);
}

static void po_event_done(int status, void *arg)
{
	struct event_job *job = arg;
	if (status == 0 && job->outcome == OUTCOME_REFUSED)
		log_msg(LOG_ERROR, "payouts", "payout %s: %s", job->payout_id, job->p.hist[job->p.nhist - 1].note);
	if (!job->req) {
		if (status != 0)
			log_msg(LOG_WARN, "payouts", "an outcome of payout %s was not stored: %s", job->payout_id,
				store_strerror(status));
	} else if (status != 0) {
		httpd_reply_store_error(job->req, status);
	} else if (job->outcome == OUTCOME_UNKNOWN) {
		httpd_reply_error(job->req, 404, "not_found", "no such payout");
	} else {
		po_reply_result(job->req, job->outcome == OUTCOME_APPLIED ? "applied" :
					  job->outcome == OUTCOME_DUPLICATE ? "duplicate" : "recorded");
	}
	free(job);
}

/*
 * Queues an event of the payout named by payout_id (our hex id); replies to
 * req (if any) when it is stored. The strings are copied.
 */
static void po_submit_event(struct payouts *po, struct httpd_req *req, const char *payout_id, const char *source,
			    const char *event_id, uint8_t target, int64_t amount, const char *provider_ref,
			    const char *reason)
{
	struct event_job *job = calloc(1, sizeof(*job));
	int rc = STORE_ENOMEM;
	if (job) {
		job->po = po;
		job->req = req;
		snprintf(job->payout_id, sizeof(job->payout_id), "%s", payout_id);
		snprintf(job->source, sizeof(job->source), "%s", source);
		snprintf(job->event_id, sizeof(job->event_id), "%s", event_id);
		job->target = target;
		job->amount = amount;
		snprintf(job->provider_ref, sizeof(job->provider_ref), "%s", provider_ref);
		snprintf(job->reason, sizeof(job->reason), "%s", reason);
		rc = store_submit(po->store, po_apply_event, po_event_done, job);
	}
	if (rc == STORE_OK)
		return;
	free(job);
	if (req)
		httpd_reply_store_error(req, rc);
	else
		log_msg(LOG_WARN, "payouts", "an outcome of payout %s was not queued: %s", payout_id,
			store_strerror(rc));
}

/* A verified payout notification from the payments module's webhook. */
static void po_on_notification(struct httpd_req *req, const struct pay_event *ev, void *ctx)
{
	uint8_t target = ev->state == PAY_STATE_PAID ? PAYOUT_COMPLETED :
			 ev->payout_failed || ev->state == PAY_STATE_FAILED ? PAYOUT_FAILED : PAYOUT_PROCESSING;
	po_submit_event(ctx, req, ev->payment_id, "webhook", ev->event_id, target, ev->amount, ev->provider_ref,
			target == PAYOUT_FAILED ? "the provider reported the payout failed" : "");
}

/* --- the disbursement --- */

struct disburse_call {
	struct payouts *po;
	char id[33];
	int64_t amount;
};

static void po_disbursed(const struct pay_disburse_res *res, void *arg)
{
	struct disburse_call *call = arg;
	char event_id[PAY_EVENT_ID_MAX + 1];
	if (res->error == PAY_OK) {
		const char *word = res->completed ? "COMPLETED" : res->failed ? "FAILED" : "PROCESSING";
		/* Named as the provider's notification of the same state is, so the later one is a duplicate. */
		snprintf(event_id, sizeof(event_id), "%s:%s", res->provider_ref, word);
		po_submit_event(call->po, NULL, call->id, "provider", event_id,
				res->completed ? PAYOUT_COMPLETED : res->failed ? PAYOUT_FAILED : PAYOUT_PROCESSING,
				call->amount, res->provider_ref, "the provider refused the payout");
	} else if (res->error == PAY_EPROVIDER || res->error == PAY_EINVAL) {
		/* Refused for good (a 4xx): nothing was sent, the money goes back. */
		po_submit_event(call->po, NULL, call->id, "provider", "refused", PAYOUT_FAILED, -1, "", res->error_text);
	} else {
		log_msg(LOG_INFO, "payouts", "the disbursement of %s did not get through, trying later: %s", call->id,
			res->error_text);
	}
	free(call);
}

/* Asks the provider to send the payout (again: the payout id is its idempotency key). */
static void po_disburse(struct payouts *po, const struct payout *p)
{
	struct disburse_call *call = calloc(1, sizeof(*call));
	struct pay_disburse_req req = { .amount = p->amount, .bank_code = p->bank_code,
					.account_number = p->bank_account, .account_name = p->bank_name };
	int rc;
	if (!call)
		return;
	call->po = po;
	call->amount = p->amount;
	ledger_id_hex(&p->id, call->id, sizeof(call->id));
	req.payout_id = call->id;
	rc = pay_disburse(po->gw, &req, po_disbursed, call);
	if (rc == PAY_OK)
		return;
	if (rc == PAY_EINVAL || rc == PAY_EUNSUPPORTED)
		po_submit_event(po, NULL, call->id, "local", "refused", PAYOUT_FAILED, -1, "",
				rc == PAY_EINVAL ? "the bank details are not valid for the provider" :
						   "the payment provider has no payouts");
	else
		log_msg(LOG_WARN, "payouts", "the disbursement of %s could not be sent, trying later", call->id);
	free(call);
}

/* --- the sweep: re-sending what is still processing --- */

struct sweep_item {
	uint8_t key[24];
	uint32_t attempts;
	bool resend;
	struct payout p;
};

struct sweep_job {
	struct payouts *po;
	int64_t now;
	size_t n;
	struct sweep_item items[PAYOUT_SWEEP_MAX];
};

static int64_t po_backoff_ms(const struct payouts *po, uint32_t attempts)
{
	return store_watch_backoff_ms(po->cfg.retry_after_s * 1000, po->cfg.retry_max_s * 1000, attempts);
}

static int po_apply_sweep(MDB_txn *txn, void *arg)
{
	struct sweep_job *job = arg;
	struct payouts *po = job->po;
	for (size_t i = 0; i < job->n; i++) {
		struct sweep_item *it = &job->items[i];
		MDB_val k = { sizeof(it->key), it->key };
		struct ledger_id id;
		int rc;
		it->resend = false;
		rc = mdb_del(txn, po->watch, &k, NULL);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		memcpy(id.b, it->key + 8, 16);
		rc = po_load(po, txn, &id, &it->p);
		if (rc == STORE_ENOTFOUND || (rc == 0 && it->p.state != PAYOUT_PROCESSING))
			continue;
		if (rc != 0 ||
		    (rc = po_watch(po, txn, &id, job->now + po_backoff_ms(po, it->attempts + 1), it->attempts + 1)) != 0)
			return rc;
		it->resend = true;
	}
	return 0;
}

static void po_sweep_done(int status, void *arg)
{
	struct sweep_job *job = arg;
	job->po->sweeping = false;
	for (size_t i = 0; status == 0 && i < job->n; i++)
		if (job->items[i].resend)
			po_disburse(job->po, &job->items[i].p);
	if (status != 0)
		log_msg(LOG_WARN, "payouts", "sweep failed: %s", store_strerror(status));
	free(job);
}

/* Takes one due entry of the watch index into the sweep's job. */
static bool po_sweep_take(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct sweep_job *job = arg;
	struct sweep_item *it = &job->items[job->n];
	if (!store_watch_read(k, v, it->key, &it->attempts))
		return false;
	job->n++;
	return true;
}

static void po_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct payouts *po = arg;
	struct sweep_job *job;
	(void)fd;
	(void)what;
	if (po->sweeping || !(job = calloc(1, sizeof(*job))))
		return;
	job->po = po;
	job->now = clock_now_ms();
	if (store_sweep(po->store, po->watch, NULL, job->now, PAYOUT_SWEEP_MAX, po_sweep_take, po_apply_sweep,
			po_sweep_done, job) != STORE_OK) {
		free(job);
		return;
	}
	po->sweeping = true;
}

/* --- who may see what --- */

/* Copies bank details into the payee (each bounded by the payout's fields). */
static void po_bank_set(struct po_payee *pe, const char *code, const char *account, const char *name)
{
	snprintf(pe->bank_code, sizeof(pe->bank_code), "%s", code);
	snprintf(pe->bank_account, sizeof(pe->bank_account), "%s", account);
	snprintf(pe->bank_name, sizeof(pe->bank_name), "%s", name);
}

/*
 * Reads the payee (kind, id) within txn: a store, or a user whose role is
 * courier (with their profile's bank details, none without a profile).
 * OUT: *pe. Returns 0, STORE_ENOTFOUND or a storage status.
 */
static int po_payee_get(struct payouts *po, MDB_txn *txn, uint8_t kind, uint64_t id, struct po_payee *pe)
{
	struct courier_profile pr;
	struct merchant mc;
	unsigned role;
	int rc;
	memset(pe, 0, sizeof(*pe));
	pe->kind = kind;
	pe->id = id;
	snprintf(pe->account, sizeof(pe->account), "%s:%llu:payable", po_kinds[kind].name, (unsigned long long)id);
	if (kind == PAYEE_MERCHANT) {
		if ((rc = merchants_get(po->payees.merchants, txn, id, &mc)) != 0)
			return rc;
		pe->owner_user_id = mc.owner_user_id;
		pe->payable = mc.payable;
		po_bank_set(pe, mc.bank_code, mc.bank_account, mc.bank_name);
		return 0;
	}
	if ((rc = auth_user_role(po->payees.auth, txn, id, &role)) != 0)
		return rc;
	if (role != ROLE_COURIER)
		return STORE_ENOTFOUND;
	pe->owner_user_id = id;
	/* The account shipments_payee makes when the courier's first fee arrives. */
	shipments_courier_account(id, NULL, pe->account, sizeof(pe->account), &pe->payable);
	rc = profiles_get(po->payees.profiles, txn, id, &pr);
	if (rc == 0)
		po_bank_set(pe, pr.bank_code, pr.bank_account, pr.bank_name);
	return rc == STORE_ENOTFOUND ? 0 : rc;
}

/* The payee's owner always; admins and auditors too unless owner_only. */
static bool po_may_see(const struct po_payee *pe, const struct httpd_principal *who, bool owner_only)
{
	if (who->role == po_kinds[pe->kind].owner_role && who->user_id == pe->owner_user_id)
		return true;
	return !owner_only && (who->role == ROLE_ADMIN || who->role == ROLE_AUDITOR);
}

/* Reads payee (kind, id) within txn for the caller; replies and returns -1 when absent or not theirs. */
static int po_payee_check(struct payouts *po, struct httpd_req *req, MDB_txn *txn, uint8_t kind, uint64_t id,
			  bool owner_only, struct po_payee *pe)
{
	int rc = po_payee_get(po, txn, kind, id, pe);
	if (rc == STORE_ENOTFOUND) {
		httpd_reply_error(req, 404, "not_found", "no such %s", po_kinds[kind].name);
		return -1;
	}
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	if (!po_may_see(pe, httpd_principal(req), owner_only)) {
		httpd_reply_error(req, 403, "forbidden", "%s", po_kinds[kind].not_yours);
		return -1;
	}
	return 0;
}

/*
 * Begins a read transaction and reads the payee the route names (its path
 * parameter, or the caller) for the caller. OUT: *txn (end it with
 * store_read_end) and *pe. Replies and returns -1 on failure (no
 * transaction then).
 */
static int po_payee_read(const struct po_route *rt, struct httpd_req *req, bool owner_only, MDB_txn **txn,
			 struct po_payee *pe)
{
	uint64_t id = httpd_principal(req)->user_id;
	int rc;
	if (rt->param && httpd_param_u64(req, rt->param, &id) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such %s", po_kinds[rt->kind].name);
		return -1;
	}
	rc = store_read_begin(rt->po->store, txn);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	if (po_payee_check(rt->po, req, *txn, rt->kind, id, owner_only, pe) != 0) {
		store_read_end(rt->po->store, *txn);
		return -1;
	}
	return 0;
}

/* --- creating a payout --- */

struct create_op {
	struct payouts *po;
	struct httpd_req *req;
	struct idem_req ir;
	uint8_t kind;                        /* the payee */
	uint64_t payee_id;
	int64_t amount;
	struct ledger_id id;                 /* chosen once, so a re-run of the job makes the same payout */
	int64_t created_ms;
	/* Results of the job: */
	int idem;                            /* IDEM_NEW, IDEM_REPLAY or IDEM_CONFLICT */
	int replay_status;
	enum payout_refusal why;
	int64_t available;
	struct payout p;
};

static int po_apply_create(MDB_txn *txn, void *arg)
{
	struct create_op *op = arg;
	struct payouts *po = op->po;
	struct payout *p = &op->p;
	struct idem_entry e;
	struct po_payee pe;
	struct ledger_transfer t;
	uint32_t result = 0;
	uint8_t mkey[8], ikey[24];
	MDB_val k, v = { 0, NULL };
	int rc;

	op->why = REFUSE_NONE;
	rc = idem_lookup(po->idem, txn, &op->ir, &e);
	if (rc < 0)
		return rc;
	op->idem = rc;
	if (rc == IDEM_CONFLICT)
		return 0;
	if (rc == IDEM_REPLAY) {
		struct ledger_id first;
		if (e.ref_len != 16)
			return STORE_ECORRUPT;
		memcpy(first.b, e.ref, 16);
		op->replay_status = e.status;
		return po_load(po, txn, &first, p);
	}
	if ((rc = po_payee_get(po, txn, op->kind, op->payee_id, &pe)) != 0 ||
	    (rc = po_check(po, txn, &pe, op->amount, &op->why, &op->available)) != 0 || op->why != REFUSE_NONE)
		return rc;
	memset(p, 0, sizeof(*p));
	p->id = op->id;
	p->kind = pe.kind;
	p->payee_id = pe.id;
	p->payable = pe.payable;
	p->amount = op->amount;
	memcpy(p->bank_code, pe.bank_code, sizeof(p->bank_code));
	memcpy(p->bank_account, pe.bank_account, sizeof(p->bank_account));
	memcpy(p->bank_name, pe.bank_name, sizeof(p->bank_name));
	p->state = PAYOUT_PROCESSING;
	p->created_ms = op->created_ms;
	po_transfer(p, "hold", LEDGER_PENDING, &t);
	if ((rc = ledger_create_transfers(po->ledger, txn, &t, 1, &result)) != 0)
		return rc;
	if (result != LEDGER_R_OK) {
		op->why = result == LEDGER_R_EXCEEDS_CREDITS ? REFUSE_INSUFFICIENT : REFUSE_LEDGER;
		if (op->why == REFUSE_LEDGER)
			log_msg(LOG_ERROR, "payouts", "the ledger refused a hold: %s", ledger_result_name(result));
		return 0;
	}
	po_history(p, "local", "created", "the amount is held");
	if ((rc = po_store(po, txn, p)) != 0)
		return rc;
	record_be64_put(mkey, p->payee_id);
	memcpy(ikey, mkey, 8);
	memcpy(ikey + 8, p->id.b, 16);
	k = (MDB_val){ sizeof(ikey), ikey };
	if ((rc = mdb_put(txn, po->list[p->kind], &k, &v, 0)) != 0)
		return rc;
	k = (MDB_val){ sizeof(mkey), mkey };
	v = (MDB_val){ 16, p->id.b };
	if ((rc = mdb_put(txn, po->open[p->kind], &k, &v, 0)) != 0 ||
	    (rc = po_watch(po, txn, &p->id, p->created_ms + po_backoff_ms(po, 0), 0)) != 0)
		return rc;
	return idem_save(po->idem, txn, &op->ir, 201, p->id.b, 16, p->created_ms);
}

static void po_created_done(int status, void *arg)
{
	struct create_op *op = arg;
	if (status != 0)
		httpd_reply_store_error(op->req, status);
	else if (op->idem == IDEM_CONFLICT)
		idem_reply_conflict(op->req);
	else if (op->idem == IDEM_REPLAY)
		httpd_reply_json(op->req, op->replay_status, po_json(&op->p));
	else if (op->why != REFUSE_NONE)
		po_reply_refusal(op->po, op->req, op->kind, op->why, op->available);
	else {
		httpd_reply_json(op->req, 201, po_json(&op->p));
		po_disburse(op->po, &op->p);
	}
	free(op);
}

/* True when body has no member but those named (NULL-terminated); else replies 400 unknown_field. */
static bool po_known_fields(struct httpd_req *req, json_t *body, const char *const *names)
{
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value) {
		size_t i = 0;
		while (names[i] && strcmp(names[i], key) != 0)
			i++;
		if (!names[i]) {
			httpd_reply_error(req, 400, "unknown_field", "%.64s is not a field of this request", key);
			return false;
		}
	}
	return true;
}

static void po_handle_create(struct httpd_req *req, void *ctx)
{
	static const char *const fields[] = { "amount", NULL };
	struct po_route *rt = ctx;
	struct payouts *po = rt->po;
	struct body_check c = { 0 };
	struct create_op *op;
	struct po_payee pe;
	MDB_txn *txn;
	json_t *body;             /* owned by the request */
	int64_t amount;
	int rc;

	if (po_payee_read(rt, req, true, &txn, &pe) != 0)
		return;
	store_read_end(po->store, txn);
	if (httpd_json_body(req, &body) != 0 || !po_known_fields(req, body, fields))
		return;
	amount = body_int(&c, body, "amount", true, 1, PAYOUTS_AMOUNT_MAX, 0);
	if (c.failed) {
		httpd_reply_error(req, 400, "invalid_field", "%s %s", c.field, c.reason);
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op || ledger_id_new(&op->id) != LEDGER_OK) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_op;
	}
	if (idem_begin(req, PAYOUT_SCOPE, &op->ir) != 0)
		goto free_op;
	op->po = po;
	op->req = req;
	op->kind = pe.kind;
	op->payee_id = pe.id;
	op->amount = amount;
	op->created_ms = clock_now_ms();
	rc = store_submit(po->store, po_apply_create, po_created_done, op);
	if (rc == STORE_OK)
		return;
	httpd_reply_store_error(req, rc);
free_op:
	free(op);
}

/* --- reading payouts --- */

static void po_handle_get(struct httpd_req *req, void *ctx)
{
	struct payouts *po = ctx;
	struct ledger_id id;
	struct po_payee pe;
	struct payout p;
	MDB_txn *txn;
	int rc;
	if (ledger_id_parse(httpd_param(req, "id"), &id) != LEDGER_OK) {
		httpd_reply_error(req, 404, "not_found", "no such payout");
		return;
	}
	rc = store_read_begin(po->store, &txn);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return;
	}
	rc = po_load(po, txn, &id, &p);
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such payout");
	else if (rc != STORE_OK)
		httpd_reply_store_error(req, rc);
	else if (po_payee_check(po, req, txn, p.kind, p.payee_id, false, &pe) == 0)
		httpd_reply_json(req, 200, po_json_full(&p));
	store_read_end(po->store, txn);
}

/*
 * A payee's payouts, newest first, starting at `from` (all 0xff: the
 * newest). OUT: list gets at most limit; *next is the id to start the next
 * page at (*more false when there is none). Returns a storage status.
 */
static int po_list(struct payouts *po, MDB_txn *txn, const struct po_payee *pe, const uint8_t from[16], size_t limit,
		   json_t *list, struct ledger_id *next, bool *more)
{
	uint8_t key[24];
	MDB_val start = { sizeof(key), key }, k, v;
	MDB_cursor *cur;
	int rc;
	*more = false;
	record_be64_put(key, pe->id);
	memcpy(key + 8, from, 16);
	if ((rc = mdb_cursor_open(txn, po->list[pe->kind], &cur)) != 0)
		return store_status_from_mdb(rc);
	for (rc = store_cursor_last_upto(cur, &start, false, &k, &v); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		struct ledger_id id;
		struct payout p;
		if (k.mv_size != 24 || memcmp(k.mv_data, key, 8) != 0)
			break;
		memcpy(id.b, (const uint8_t *)k.mv_data + 8, 16);
		if (json_array_size(list) == limit) {
			*next = id;
			*more = true;
			break;
		}
		if ((rc = po_load(po, txn, &id, &p)) != 0)
			break;
		json_array_append_new(list, po_json(&p));
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc > 0 ? store_status_from_mdb(rc) : rc;
}

static void po_handle_list(struct httpd_req *req, void *ctx)
{
	struct po_route *rt = ctx;
	struct payouts *po = rt->po;
	const char *cursor = httpd_query(req, "cursor");
	struct ledger_id from, next;
	struct po_payee pe;
	uint64_t limit;
	json_t *list;
	MDB_txn *txn;
	bool more;
	char next_text[33];
	int rc;
	memset(from.b, 0xff, sizeof(from.b));
	if (cursor && *cursor && ledger_id_parse(cursor, &from) != LEDGER_OK) {
		httpd_reply_error(req, 400, "invalid_field", "cursor is not one this list gave out");
		return;
	}
	if (httpd_query_u64_or_400(req, "limit", 1, PAYOUT_LIST_MAX, PAYOUT_LIST_DEFAULT, &limit) != 0 ||
	    po_payee_read(rt, req, false, &txn, &pe) != 0)
		return;
	list = json_array();
	rc = list ? po_list(po, txn, &pe, from.b, (size_t)limit, list, &next, &more) : STORE_ENOMEM;
	store_read_end(po->store, txn);
	if (rc != STORE_OK) {
		json_decref(list);
		httpd_reply_store_error(req, rc);
		return;
	}
	if (more)
		ledger_id_hex(&next, next_text, sizeof(next_text));
	httpd_reply_json(req, 200, json_pack("{s:I, s:o, s:s?}", po_kinds[pe.kind].id_key, (json_int_t)pe.id, "payouts", list,
					     "next_cursor", more ? next_text : NULL));
}

/* --- balance and statement --- */

static void po_handle_balance(struct httpd_req *req, void *ctx)
{
	struct po_route *rt = ctx;
	struct ledger_account a;
	struct payouts_figures f;
	struct po_payee pe;
	MDB_txn *txn;
	bool exists;
	int rc;
	if (po_payee_read(rt, req, false, &txn, &pe) != 0)
		return;
	rc = po_account(rt->po, txn, &pe, &a, &exists);
	store_read_end(rt->po->store, txn);
	if (rc == STORE_OK)
		rc = po_figures_now(&a, &f);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return;
	}
	httpd_reply_json(req, 200,
			 json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", po_kinds[pe.kind].id_key, (json_int_t)pe.id,
				   "account", a.name, "credits_posted", (json_int_t)a.credits_posted, "debits_posted",
				   (json_int_t)a.debits_posted, "credits_pending", (json_int_t)a.credits_pending,
				   "debits_pending", (json_int_t)a.debits_pending, "balance", (json_int_t)f.balance,
				   "pending", (json_int_t)a.debits_pending, "available", (json_int_t)f.available));
}

/*
 * Takes entry e's move back out of `b`, the balances of `account` just
 * after e, so *b becomes the balances just before it. A post releases the
 * whole amount of its pending transfer, read from that transfer. Returns 0,
 * LEDGER_ECORRUPT when a balance would leave 0..INT64_MAX, or a storage
 * status.
 */
static int po_take_back(struct payouts *po, MDB_txn *txn, const struct ledger_id *account,
			const struct ledger_entry *e, struct ledger_balances *b)
{
	bool debit = memcmp(e->t.debit_account_id.b, account->b, 16) == 0;
	int64_t *pending = debit ? &b->debits_pending : &b->credits_pending;
	int64_t *posted = debit ? &b->debits_posted : &b->credits_posted;
	int64_t reserved = 0, dp, dq;
	int rc;
	if (e->t.flags & LEDGER_POST_PENDING) {
		struct ledger_entry held;
		if ((rc = ledger_transfer_get(po->ledger, txn, &e->t.pending_id, &held)) != 0)
			return rc;
		reserved = held.t.amount;
	}
	if ((rc = ledger_entry_move(&e->t, reserved, &dp, &dq)) != 0)
		return rc;
	if (__builtin_sub_overflow(*pending, dp, pending) || __builtin_sub_overflow(*posted, dq, posted) ||
	    *pending < 0 || *posted < 0)
		return LEDGER_ECORRUPT;
	return 0;
}

/*
 * The sequence of the account's newest entry at or before upto (0 when
 * none). Costs a read of each newer entry of the account.
 */
static int po_newest_upto(struct payouts *po, MDB_txn *txn, const struct ledger_account *a, uint64_t upto,
			  struct ledger_entry *buf, uint64_t *start)
{
	uint64_t cursor = 0, next;
	size_t n;
	*start = 0;
	if (a->last_seq <= upto) {
		*start = a->last_seq;
		return 0;
	}
	do {
		int rc = ledger_statement(po->ledger, txn, &a->id, cursor, STATEMENT_WALK, buf, &n, &next);
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (buf[i].t.seq <= upto) {
				*start = buf[i].t.seq;
				return 0;
			}
		cursor = next;
	} while (cursor != 0);
	return 0;
}

/* The reason of a code, "other" for a code without one. */
static const char *po_code_name(uint16_t code)
{
	const char *name = ledger_code_name(code);
	return name ? name : "other";
}

static const char *po_entry_kind(uint16_t flags)
{
	if (flags & LEDGER_EXPIRY)
		return "expired";
	if (flags & LEDGER_PENDING)
		return "held";
	if (flags & LEDGER_POST_PENDING)
		return "posted";
	if (flags & LEDGER_VOID_PENDING)
		return "voided";
	return "transfer";
}

/* One statement line, with the figures just after it. */
static json_t *po_entry_json(struct payouts *po, MDB_txn *txn, const struct ledger_id *account,
			     const struct ledger_entry *e, const struct payouts_figures *after)
{
	bool debit = memcmp(e->t.debit_account_id.b, account->b, 16) == 0;
	struct ledger_account other;
	char id[33], at[64];
	if (ledger_account_get(po->ledger, txn, debit ? &e->t.credit_account_id : &e->t.debit_account_id, &other) != 0)
		snprintf(other.name, sizeof(other.name), "unknown");
	ledger_id_hex(&e->t.id, id, sizeof(id));
	po_time_text((int64_t)(e->t.timestamp / 1000000), at, sizeof(at));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "seq", (json_int_t)e->t.seq, "transfer_id",
			 id, "at", at, "reason", po_code_name(e->t.code), "kind", po_entry_kind(e->t.flags), "direction",
			 debit ? "debit" : "credit", "amount", (json_int_t)e->t.amount, "counterparty", other.name,
			 "balance", (json_int_t)after->balance, "available", (json_int_t)after->available);
}

static json_t *po_figures_json(const struct payouts_figures *f)
{
	return json_pack("{s:I, s:I}", "balance", (json_int_t)f->balance, "available", (json_int_t)f->available);
}

/* A statement request (checked before the read) and what its read found. */
struct po_statement {
	bool from_given, to_given;
	int64_t from_ms, to_ms;               /* the period: from inclusive, to exclusive */
	uint64_t cursor;                      /* 0: the period's newest entry */
	size_t limit;
	struct ledger_account a;              /* as it is now; zeros when not made yet */
	bool exists;
	struct payouts_figures now, opening, closing;
	json_t *entries;                      /* newest first */
	uint64_t next;                        /* the next page's cursor, 0 on the last */
};

/*
 * The figures after entry seq: zeros before the first entry, the current
 * ones at the head, else the ledger's balances as of seq. OUT: *f.
 */
static int po_figures_at(struct payouts *po, MDB_txn *txn, const struct ledger_account *a, uint64_t seq,
			 uint64_t head, struct ledger_balances *b, struct payouts_figures *f)
{
	int rc = 0;
	if (seq == 0)
		*b = (struct ledger_balances){ 0, 0, 0, 0 };
	else if (seq >= head)
		*b = (struct ledger_balances){ a->debits_pending, a->debits_posted, a->credits_pending, a->credits_posted };
	else
		rc = ledger_balances_at(po->ledger, txn, &a->id, seq, b);
	if (rc == 0 && payouts_figures(b, f) != 0)
		rc = LEDGER_ECORRUPT;
	return rc;
}

/*
 * Reads the statement of the payee's account within txn: the period's
 * sequences from its times (from: the first entry at or after it; to: the
 * last before it), the figures before and after it, and one page of its
 * entries, newest first from the cursor, each with the figures after it
 * (walking back from those after the page's first entry). buf holds
 * STATEMENT_WALK entries. Returns 0, LEDGER_EINVAL (a cursor outside the
 * period or not this account's), LEDGER_ECORRUPT or a storage status.
 */
static int po_statement_read(struct payouts *po, MDB_txn *txn, const struct po_payee *pe, struct po_statement *s,
			     struct ledger_entry *buf)
{
	uint8_t hash[LEDGER_HASH_LEN];
	uint64_t head, from_seq = 1, to_seq, start = s->cursor;
	struct ledger_balances run;
	struct payouts_figures f;
	size_t n = 0;
	int rc;
	if ((rc = po_account(po, txn, pe, &s->a, &s->exists)) != 0 || (rc = po_figures_now(&s->a, &s->now)) != 0 ||
	    (rc = ledger_head(po->ledger, txn, &head, hash)) != 0)
		return rc;
	to_seq = head;
	if (s->from_given && (rc = ledger_seq_at(po->ledger, txn, ledger_time_from_ms(s->from_ms), &from_seq)) != 0)
		return rc;
	if (s->to_given && (rc = ledger_seq_at(po->ledger, txn, ledger_time_from_ms(s->to_ms), &to_seq)) != 0)
		return rc;
	if (s->to_given)
		to_seq--;
	/* An account not made yet has no entries, and gave out no cursor. */
	if (s->cursor && (!s->exists || s->cursor < from_seq || s->cursor > to_seq))
		return LEDGER_EINVAL;
	if (!s->exists) {
		s->opening = s->closing = s->now;
		return 0;
	}
	if ((rc = po_figures_at(po, txn, &s->a, from_seq - 1, head, &run, &s->opening)) != 0 ||
	    (rc = po_figures_at(po, txn, &s->a, to_seq, head, &run, &s->closing)) != 0)
		return rc;
	if (!start && (rc = po_newest_upto(po, txn, &s->a, to_seq, buf, &start)) != 0)
		return rc;
	if (start < from_seq)
		return 0;
	if ((s->cursor && (rc = po_figures_at(po, txn, &s->a, start, head, &run, &f)) != 0) ||
	    (rc = ledger_statement(po->ledger, txn, &s->a.id, start, s->limit, buf, &n, &s->next)) != 0)
		return rc;
	for (size_t i = 0; i < n && buf[i].t.seq >= from_seq; i++) {
		if (payouts_figures(&run, &f) != 0)
			return LEDGER_ECORRUPT;
		json_array_append_new(s->entries, po_entry_json(po, txn, &s->a.id, &buf[i], &f));
		if ((rc = po_take_back(po, txn, &s->a.id, &buf[i], &run)) != 0)
			return rc;
	}
	if (s->next < from_seq)
		s->next = 0;
	return 0;
}

/* A statement on its way: checked on the loop, read on the read pool, answered on the loop. */
struct po_statement_job {
	struct payouts *po;
	struct httpd_req *req;
	struct po_payee pe;
	struct po_statement s;
	struct ledger_entry buf[STATEMENT_WALK];
};

static void po_statement_job_free(struct po_statement_job *j)
{
	json_decref(j->s.entries);
	free(j);
}

static int po_statement_job_read(MDB_txn *txn, void *arg)
{
	struct po_statement_job *j = arg;
	return po_statement_read(j->po, txn, &j->pe, &j->s, j->buf);
}

static void po_statement_job_done(int rc, void *arg)
{
	struct po_statement_job *j = arg;
	struct po_statement *s = &j->s;
	char next_text[24];
	if (rc == LEDGER_EINVAL)
		httpd_reply_error(j->req, 400, "invalid_field", "cursor is not one this statement gave out for this period");
	else if (rc != 0)
		httpd_reply_store_error(j->req, rc == LEDGER_ECORRUPT ? STORE_ECORRUPT
						: rc == LEDGER_ENOMEM ? STORE_ENOMEM : rc);
	if (rc != 0)
		goto free_job;
	snprintf(next_text, sizeof(next_text), "%llu", (unsigned long long)s->next);
	httpd_reply_json(j->req, 200,
			 json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:O, s:s?}", po_kinds[j->pe.kind].id_key,
				   (json_int_t)j->pe.id, "account", s->a.name, "balance", (json_int_t)s->now.balance,
				   "available", (json_int_t)s->now.available, "opening", po_figures_json(&s->opening),
				   "closing", po_figures_json(&s->closing), "entries", s->entries, "next_cursor",
				   s->next ? next_text : NULL));
free_job:
	po_statement_job_free(j);
}

static void po_handle_statement(struct httpd_req *req, void *ctx)
{
	struct po_route *rt = ctx;
	struct po_statement_job *j = calloc(1, sizeof(*j));
	struct po_statement *s;
	uint64_t limit;
	MDB_txn *txn;
	int rc;
	if (!j || !(j->s.entries = json_array())) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_job;
	}
	j->po = rt->po;
	j->req = req;
	s = &j->s;
	if (httpd_query_u64_or_400(req, "cursor", 1, UINT64_MAX, 0, &s->cursor) != 0 ||
	    httpd_query_u64_or_400(req, "limit", 1, STATEMENT_LIMIT_MAX, STATEMENT_LIMIT_DEFAULT, &limit) != 0 ||
	    httpd_query_time(req, "from", false, &s->from_ms, &s->from_given) != 0 ||
	    httpd_query_time(req, "to", false, &s->to_ms, &s->to_given) != 0)
		goto free_job;
	if (s->from_given && s->to_given && s->to_ms < s->from_ms) {
		httpd_reply_error(req, 400, "invalid_field", "to is before from");
		goto free_job;
	}
	s->limit = (size_t)limit;
	/* Who may read it is settled here; the entries, whose cost grows with the books, off the loop. */
	if (po_payee_read(rt, req, false, &txn, &j->pe) != 0)
		goto free_job;
	store_read_end(rt->po->store, txn);
	if ((rc = store_read_async(rt->po->store, rt->po->reads, po_statement_job_read, po_statement_job_done, j)) ==
	    STORE_OK)
		return;
	httpd_reply_store_error(req, rc);
free_job:
	if (j)
		po_statement_job_free(j);
}

/* --- set-up --- */

int payouts_open(struct store *store, struct ledger *ledger, const struct payouts_payees *payees,
		 struct payments *payments, struct idem *idem, struct payouts **out)
{
	struct payouts *po = calloc(1, sizeof(*po));
	int rc;
	if (!po)
		return STORE_ENOMEM;
	po->store = store;
	po->ledger = ledger;
	po->payees = *payees;
	po->payments = payments;
	po->idem = idem;
	if ((rc = store_dbi_open(store, "payouts", 0, &po->payouts)) != 0 ||
	    (rc = store_dbi_open(store, "payout_watch", 0, &po->watch)) != 0)
		goto fail;
	for (int k = 0; k < PAYEE_KINDS; k++)
		if ((rc = store_dbi_open(store, po_kinds[k].list_dbi, 0, &po->list[k])) != 0 ||
		    (rc = store_dbi_open(store, po_kinds[k].open_dbi, 0, &po->open[k])) != 0)
			goto fail;
	po->routes[ROUTE_STORE] = (struct po_route){ po, PAYEE_MERCHANT, "/api/v1/merchants/{id}", "id", ROLE_MERCHANT,
						     ROLE_MERCHANT | ROLE_ADMIN | ROLE_AUDITOR };
	po->routes[ROUTE_COURIER_SELF] = (struct po_route){ po, PAYEE_COURIER, "/api/v1/courier", NULL, ROLE_COURIER,
							    ROLE_COURIER };
	po->routes[ROUTE_COURIER_BY_ID] = (struct po_route){ po, PAYEE_COURIER, "/api/v1/couriers/{user_id}", "user_id",
							     0, ROLE_ADMIN | ROLE_AUDITOR };
	*out = po;
	return 0;
fail:
	free(po);
	return rc;
}

int payouts_start(struct payouts *po, struct event_base *base, const struct payouts_config *cfg)
{
	struct timeval second = { 1, 0 };
	po->cfg = *cfg;
	if (po->cfg.min_amount <= 0)
		po->cfg.min_amount = 10000;
	if (po->cfg.retry_after_s <= 0)
		po->cfg.retry_after_s = 60;
	if (po->cfg.retry_max_s <= 0)
		po->cfg.retry_max_s = 600;
	if (po->cfg.retry_max_s < po->cfg.retry_after_s)
		po->cfg.retry_max_s = po->cfg.retry_after_s;
	po->gw = payments_gateway(po->payments);
	payments_on_payout(po->payments, po_on_notification, po);
	po->sweep_timer = event_new(base, -1, EV_PERSIST, po_on_sweep, po);
	if (!po->gw || !po->sweep_timer || event_add(po->sweep_timer, &second) != 0)
		return -1;
	return 0;
}

/* Registers prefix + suffix for one family of endpoints. */
static int po_route_add(struct httpd *h, unsigned method, struct po_route *rt, const char *suffix, unsigned roles,
			httpd_handler_fn fn)
{
	char path[96];
	snprintf(path, sizeof(path), "%s%s", rt->prefix, suffix);
	return httpd_route(h, method, path, roles, fn, rt);
}

int payouts_attach(struct payouts *po, struct httpd *h, struct workq *reads)
{
	int rc;
	po->reads = reads;
	/* Each family's owner reads a payout by id; the handler checks it is theirs. */
	if ((rc = httpd_route(h, ROUTER_GET, "/api/v1/payouts/{id}",
			      ROLE_MERCHANT | ROLE_COURIER | ROLE_ADMIN | ROLE_AUDITOR, po_handle_get, po)) != 0)
		return rc;
	for (int i = 0; i < ROUTES; i++) {
		struct po_route *rt = &po->routes[i];
		if ((rt->creators && (rc = po_route_add(h, ROUTER_POST, rt, "/payouts", rt->creators, po_handle_create))) ||
		    (rc = po_route_add(h, ROUTER_GET, rt, "/payouts", rt->readers, po_handle_list)) ||
		    (rc = po_route_add(h, ROUTER_GET, rt, "/balance", rt->readers, po_handle_balance)) ||
		    (rc = po_route_add(h, ROUTER_GET, rt, "/statement", rt->readers, po_handle_statement)))
			return rc;
	}
	return 0;
}

void payouts_stop(struct payouts *po)
{
	if (!po || !po->sweep_timer)
		return;
	event_free(po->sweep_timer);
	po->sweep_timer = NULL;
}

void payouts_free(struct payouts *po)
{
	payouts_stop(po);
	free(po);
}

_Static_assert(PAYEE_MERCHANT == PAYOUTS_PAYEE_MERCHANT && PAYEE_COURIER == PAYOUTS_PAYEE_COURIER,
	       "payouts.h states the payee kinds of the transfers");
