/*
 * The ledger's HTTP endpoints (docs/api.md, "Ledger" and "Audit"): reads,
 * statements with opening and closing balances, the trial balance and
 * Merkle proofs for auditors and admins, creation of accounts and
 * transfers for admins.
 *
 * A read copies what it needs out of one read transaction and ends it
 * before building the reply. A POST is validated whole (every field of
 * every event, every list bounded) before anything is queued, then runs as
 * one store job whose done callback replies with one result per event.
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit_export.h"
#include "body.h"
#include "clock.h"
#include "crypto.h"
#include "httpd.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define LHTTP_ACCOUNTS_MAX 1000              /* accounts per POST */
#define LHTTP_STATEMENT_LIMIT_MAX 200
#define LHTTP_STATEMENT_LIMIT_DEFAULT 50
#define LHTTP_JOURNAL_LIMIT_MAX 1000
#define LHTTP_JOURNAL_LIMIT_DEFAULT 100
#define LHTTP_FLAGS_MAX 8                    /* names in one "flags" array */
#define LHTTP_ID_TEXT 33                     /* 32 hex characters and NUL */
#define LHTTP_U64_TEXT 21                    /* 2^64-1 in decimal and NUL */
#define LHTTP_TIME_TEXT 40                   /* "2026-11-28T20:21:24.052123456Z" */

/* --- names of flags and codes --- */

struct lhttp_flag {
	uint16_t bit;
	const char *name;
};

struct lhttp_flag_set {
	const struct lhttp_flag *flags;
	size_t n;
	uint16_t settable;                   /* bits a request may set */
	const char *settable_text;           /* for the 400 message */
};

static const struct lhttp_flag lhttp_account_flag_list[] = {
	{ LEDGER_ACCOUNT_LINKED, "linked" },
	{ LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS, "debits_must_not_exceed_credits" },
	{ LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS, "credits_must_not_exceed_debits" },
	{ LEDGER_ACCOUNT_CLOSED, "closed" },
};

static const struct lhttp_flag_set lhttp_account_flags = {
	lhttp_account_flag_list,
	sizeof(lhttp_account_flag_list) / sizeof(lhttp_account_flag_list[0]),
	LEDGER_ACCOUNT_LINKED | LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS | LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS |
		LEDGER_ACCOUNT_CLOSED,
	"linked, debits_must_not_exceed_credits, credits_must_not_exceed_debits, closed",
};

static const struct lhttp_flag lhttp_transfer_flag_list[] = {
	{ LEDGER_LINKED, "linked" },
	{ LEDGER_PENDING, "pending" },
	{ LEDGER_POST_PENDING, "post_pending_transfer" },
	{ LEDGER_VOID_PENDING, "void_pending_transfer" },
	{ LEDGER_EXPIRY, "expiry" },
};

/* `expiry` is shown but never accepted: only the ledger records expiries. */
static const struct lhttp_flag_set lhttp_transfer_flags = {
	lhttp_transfer_flag_list,
	sizeof(lhttp_transfer_flag_list) / sizeof(lhttp_transfer_flag_list[0]),
	LEDGER_LINKED | LEDGER_PENDING | LEDGER_POST_PENDING | LEDGER_VOID_PENDING,
	"linked, pending, post_pending_transfer, void_pending_transfer",
};

/* --- JSON of stored things --- */

/*
 * A uint64 as a JSON integer; jansson's integers are int64, so a value
 * above INT64_MAX (only user_data_64 can be one) is given as decimal text.
 */
static json_t *lhttp_u64_json(uint64_t v)
{
	char text[LHTTP_U64_TEXT];
	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	return json_string(text);
}

/* RFC 3339 UTC with nanoseconds, from a ledger timestamp (2^64 ns is in the year 2554). */
static void lhttp_time_text(uint64_t ns, char out[LHTTP_TIME_TEXT])
{
	time_t secs = (time_t)(ns / 1000000000u);
	struct tm tm;
	size_t len;
	gmtime_r(&secs, &tm);
	len = strftime(out, LHTTP_TIME_TEXT, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + len, LHTTP_TIME_TEXT - len, ".%09luZ", (unsigned long)(ns % 1000000000u));
}

/* The names of the bits of `flags` that the set knows, as a JSON array. */
static json_t *lhttp_flags_json(uint16_t flags, const struct lhttp_flag_set *set)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < set->n; i++) {
		if ((flags & set->flags[i].bit) && json_array_append_new(arr, json_string(set->flags[i].name)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static json_t *lhttp_account_json(const struct ledger_account *a)
{
	char id[LHTTP_ID_TEXT], ud128[LHTTP_ID_TEXT], created[LHTTP_TIME_TEXT];
	ledger_id_hex(&a->id, id, sizeof(id));
	ledger_id_hex(&a->user_data_128, ud128, sizeof(ud128));
	lhttp_time_text(a->timestamp, created);
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:s, s:o, s:I, s:o, s:s, s:o}",
			 "id", id, "name", a->name, "ledger", (json_int_t)a->ledger, "code", (json_int_t)a->code,
			 "flags", lhttp_flags_json(a->flags, &lhttp_account_flags),
			 "debits_pending", (json_int_t)a->debits_pending,
			 "debits_posted", (json_int_t)a->debits_posted,
			 "credits_pending", (json_int_t)a->credits_pending,
			 "credits_posted", (json_int_t)a->credits_posted,
			 "user_data_128", ud128, "user_data_64", lhttp_u64_json(a->user_data_64),
			 "user_data_32", (json_int_t)a->user_data_32, "timestamp", lhttp_u64_json(a->timestamp),
			 "created_at", created, "last_seq", lhttp_u64_json(a->last_seq));
}

static json_t *lhttp_entry_json(const struct ledger_entry *e)
{
	const struct ledger_transfer *t = &e->t;
	char id[LHTTP_ID_TEXT], debit[LHTTP_ID_TEXT], credit[LHTTP_ID_TEXT], pending[LHTTP_ID_TEXT];
	char ud128[LHTTP_ID_TEXT], created[LHTTP_TIME_TEXT], hash[2 * LEDGER_HASH_LEN + 1];
	ledger_id_hex(&t->id, id, sizeof(id));
	ledger_id_hex(&t->debit_account_id, debit, sizeof(debit));
	ledger_id_hex(&t->credit_account_id, credit, sizeof(credit));
	ledger_id_hex(&t->pending_id, pending, sizeof(pending));
	ledger_id_hex(&t->user_data_128, ud128, sizeof(ud128));
	lhttp_time_text(t->timestamp, created);
	if (crypto_hex_encode(e->hash, LEDGER_HASH_LEN, hash, sizeof(hash)) != CRYPTO_OK)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:s?, s:s, s:o, s:I, s:I, s:I, s:I, s:s?, s:o, s:o, s:s,"
			 " s:o, s:o, s:o, s:s}",
			 "id", id, "debit_account_id", debit, "credit_account_id", credit,
			 "amount", (json_int_t)t->amount,
			 "pending_id", ledger_id_is_zero(&t->pending_id) ? NULL : pending,
			 "user_data_128", ud128, "user_data_64", lhttp_u64_json(t->user_data_64),
			 "user_data_32", (json_int_t)t->user_data_32, "timeout", (json_int_t)t->timeout,
			 "ledger", (json_int_t)t->ledger, "code", (json_int_t)t->code,
			 "reason", ledger_code_name(t->code),
			 "flags", lhttp_flags_json(t->flags, &lhttp_transfer_flags),
			 "timestamp", lhttp_u64_json(t->timestamp), "created_at", created,
			 "seq", lhttp_u64_json(t->seq), "debit_prev_seq", lhttp_u64_json(e->debit_prev_seq),
			 "credit_prev_seq", lhttp_u64_json(e->credit_prev_seq), "hash", hash);
}

json_t *ledger_entry_json(const struct ledger_entry *e)
{
	return lhttp_entry_json(e);
}

/* entries[0..n) as a JSON array. */
static json_t *lhttp_entries_json(const struct ledger_entry *entries, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		if (json_array_append_new(arr, lhttp_entry_json(&entries[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* --- replies --- */

/* 200 with body, or 500 when building it ran out of memory (body NULL). */
static void lhttp_reply_ok(struct httpd_req *req, json_t *body)
{
	if (body)
		httpd_reply_json(req, 200, body);
	else
		httpd_reply_error(req, 500, "internal", "out of memory");
}

/*
 * Replies for a status that is not the request's own outcome: 503 when the
 * store cannot serve now, 500 otherwise. `status` may be a LEDGER_*, a
 * STORE_* or a raw LMDB/errno code (a job's apply returns those as they
 * are, so that the store can grow the map on MDB_MAP_FULL).
 */
static void lhttp_reply_failure(struct httpd_req *req, int status)
{
	if (status == LEDGER_ENOMEM) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (status == LEDGER_ECORRUPT || status == LEDGER_EINVAL) {
		httpd_reply_error(req, 500, "internal", "the ledger failed (%d)", status);
		return;
	}
	httpd_reply_store_error(req, store_status_from_mdb(status));
}

/* --- query parameters --- */

/* The limit parameter in 1..max (default def); replies 400 and returns false when bad. */
static bool lhttp_query_limit(struct httpd_req *req, size_t max, size_t def, size_t *out)
{
	uint64_t v;
	if (httpd_query_u64_or_400(req, "limit", 1, max, def, &v) != 0)
		return false;
	*out = (size_t)v;
	return true;
}

/* --- reads --- */

static void lhttp_handle_account(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	struct ledger_account a;
	MDB_txn *txn;
	int rc = store_read_begin(l->store, &txn);
	if (rc == STORE_OK) {
		rc = ledger_account_lookup(l, txn, httpd_param(req, "account"), &a);
		store_read_end(l->store, txn);
	}
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such ledger account");
	else if (rc != STORE_OK)
		lhttp_reply_failure(req, rc);
	else
		lhttp_reply_ok(req, lhttp_account_json(&a));
}

static const char lhttp_bad_cursor[] = "cursor is not one this account's statement gave out";

static void lhttp_handle_statement(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	struct ledger_account a;
	struct ledger_entry *entries;
	uint64_t cursor, next = 0;
	size_t limit, n = 0;
	char id[LHTTP_ID_TEXT], next_text[LHTTP_U64_TEXT];
	MDB_txn *txn;
	int rc;

	/* The cursor is the sequence of the entry the next page starts with; 0 is never one. */
	if (httpd_query_u64(req, "cursor", 1, UINT64_MAX, 0, &cursor) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "%s", lhttp_bad_cursor);
		return;
	}
	if (!lhttp_query_limit(req, LHTTP_STATEMENT_LIMIT_MAX, LHTTP_STATEMENT_LIMIT_DEFAULT, &limit))
		return;
	entries = calloc(limit, sizeof(*entries));
	if (!entries) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	rc = store_read_begin(l->store, &txn);
	if (rc == STORE_OK) {
		rc = ledger_account_lookup(l, txn, httpd_param(req, "account"), &a);
		if (rc == STORE_OK)
			rc = ledger_statement(l, txn, &a.id, cursor, limit, entries, &n, &next);
		store_read_end(l->store, txn);
	}
	if (rc == STORE_ENOTFOUND) {
		httpd_reply_error(req, 404, "not_found", "no such ledger account");
		goto free_entries;
	}
	/* ledger_statement refuses a cursor that is not an entry of this account. */
	if (rc == LEDGER_EINVAL) {
		httpd_reply_error(req, 400, "invalid_field", "%s", lhttp_bad_cursor);
		goto free_entries;
	}
	if (rc != STORE_OK) {
		lhttp_reply_failure(req, rc);
		goto free_entries;
	}
	ledger_id_hex(&a.id, id, sizeof(id));
	snprintf(next_text, sizeof(next_text), "%llu", (unsigned long long)next);
	lhttp_reply_ok(req, json_pack("{s:s, s:s, s:o, s:s?}", "account_id", id, "name", a.name, "transfers",
				      lhttp_entries_json(entries, n), "next_cursor", next ? next_text : NULL));
free_entries:
	free(entries);
}

static void lhttp_handle_transfer(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	struct ledger_id id;
	struct ledger_entry e;
	MDB_txn *txn;
	int rc;
	if (ledger_id_parse(httpd_param(req, "id"), &id) != LEDGER_OK) {
		httpd_reply_error(req, 400, "invalid_field", "id must be 32 hex characters");
		return;
	}
	rc = store_read_begin(l->store, &txn);
	if (rc == STORE_OK) {
		rc = ledger_transfer_get(l, txn, &id, &e);
		store_read_end(l->store, txn);
	}
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such transfer");
	else if (rc != STORE_OK)
		lhttp_reply_failure(req, rc);
	else
		lhttp_reply_ok(req, lhttp_entry_json(&e));
}

static void lhttp_handle_journal(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	struct ledger_entry *entries;
	uint8_t head_hash[LEDGER_HASH_LEN];
	uint64_t from, head = 0;
	size_t limit, n = 0;
	MDB_txn *txn;
	json_t *next;
	int rc;

	if (httpd_query_u64(req, "from_seq", 1, UINT64_MAX, 1, &from) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "from_seq must be a whole number from 1");
		return;
	}
	if (!lhttp_query_limit(req, LHTTP_JOURNAL_LIMIT_MAX, LHTTP_JOURNAL_LIMIT_DEFAULT, &limit))
		return;
	entries = calloc(limit, sizeof(*entries));
	if (!entries) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	/* The page and the head come from one snapshot, so next_from_seq agrees with head_seq. */
	rc = store_read_begin(l->store, &txn);
	if (rc == STORE_OK) {
		rc = ledger_journal(l, txn, from, limit, entries, &n);
		if (rc == STORE_OK)
			rc = ledger_head(l, txn, &head, head_hash);
		store_read_end(l->store, txn);
	}
	if (rc != STORE_OK) {
		lhttp_reply_failure(req, rc);
		goto free_entries;
	}
	next = n > 0 && entries[n - 1].t.seq < head ? lhttp_u64_json(entries[n - 1].t.seq + 1) : json_null();
	lhttp_reply_ok(req, json_pack("{s:o, s:o, s:o}", "entries", lhttp_entries_json(entries, n),
				      "next_from_seq", next, "head_seq", lhttp_u64_json(head)));
free_entries:
	free(entries);
}

/* --- auditor views: statements with opening and closing balances, the trial balance --- */

#define LHTTP_TRIAL_LIMIT_MAX 1000
#define LHTTP_TRIAL_LIMIT_DEFAULT 100
#define LHTTP_TRIAL_CSV_MAX 10000            /* rows of accounts in one CSV answer */
#define LHTTP_NS_PER_MS 1000000u
/*
 * A read step's status: the request is refused for what the snapshot shows
 * (never a LEDGER_* or STORE_* code). The read runs on a pool thread, so it
 * writes the answer down and the loop sends it.
 */
#define LHTTP_REFUSED 1
#define LHTTP_REFUSAL_MAX 160

struct lhttp_refusal {
	int status;                          /* 400 or 404 */
	const char *code;                    /* a static string */
	char message[LHTTP_REFUSAL_MAX];
};

/* Writes the refusal down; returns LHTTP_REFUSED. */
static int lhttp_refuse(struct lhttp_refusal *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	r->status = status;
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return LHTTP_REFUSED;
}

/* Answers a long read's outcome other than success: its refusal, 503 for a full pool, or the failure. */
static void lhttp_reply_read(struct httpd_req *req, int status, const struct lhttp_refusal *r)
{
	if (status == LHTTP_REFUSED)
		httpd_reply_error(req, r->status, r->code, "%s", r->message);
	else
		lhttp_reply_failure(req, status);
}

static json_t *lhttp_balances_json(const struct ledger_balances *b)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "debits_pending", (json_int_t)b->debits_pending, "debits_posted",
			 (json_int_t)b->debits_posted, "credits_pending", (json_int_t)b->credits_pending,
			 "credits_posted", (json_int_t)b->credits_posted);
}

/* A total: a JSON integer up to INT64_MAX, decimal text beyond. */
static json_t *lhttp_sum_json(const struct ledger_sum *s)
{
	char text[LEDGER_SUM_TEXT];
	if (s->hi == 0 && s->lo <= INT64_MAX)
		return json_integer((json_int_t)s->lo);
	return ledger_sum_text(s, text, sizeof(text)) == LEDGER_OK ? json_string(text) : NULL;
}

/*
 * A time query parameter (httpd_query_time) as a ledger timestamp. *given
 * false when absent. Replies 400 and returns false when it is not a time.
 */
static bool lhttp_query_time(struct httpd_req *req, const char *name, bool *given, uint64_t *ns)
{
	int64_t ms;
	if (httpd_query_time(req, name, false, &ms, given) != 0)
		return false;
	if (*given)
		*ns = ledger_time_from_ms(ms);
	return true;
}

/* A sequence query parameter from `min`; *given false when absent. Replies 400 when bad. */
static bool lhttp_query_seq(struct httpd_req *req, const char *name, uint64_t min, bool *given, uint64_t *seq)
{
	const char *text = httpd_query(req, name);
	*given = text && *text;
	if (httpd_query_u64(req, name, min, UINT64_MAX, 0, seq) == 0)
		return true;
	httpd_reply_error(req, 400, "invalid_field", "%s must be a whole number from %llu", name,
			  (unsigned long long)min);
	return false;
}

/*
 * One end of a period or a point: either the time `time_name` or the
 * sequence `seq_name` (from seq_min), not both. Replies 400 and returns
 * false when bad.
 */
struct lhttp_point {
	bool by_time, by_seq;
	uint64_t ns, seq;
};

static bool lhttp_query_point(struct httpd_req *req, const char *time_name, const char *seq_name, uint64_t seq_min,
			      struct lhttp_point *p)
{
	if (!lhttp_query_time(req, time_name, &p->by_time, &p->ns) ||
	    !lhttp_query_seq(req, seq_name, seq_min, &p->by_seq, &p->seq))
		return false;
	if (p->by_time && p->by_seq) {
		httpd_reply_error(req, 400, "invalid_field", "give %s or %s, not both", time_name, seq_name);
		return false;
	}
	return true;
}

static int lhttp_refuse_beyond_head(struct lhttp_refusal *r, const char *name, uint64_t head)
{
	return lhttp_refuse(r, 404, "not_found", "%s is beyond the ledger's head (%llu)", name,
			    (unsigned long long)head);
}

/* What a statement request asks, checked before the read. */
struct lhttp_statement_req {
	struct lhttp_point from, to;
	uint64_t cursor;
	size_t limit;
};

static bool lhttp_statement_params(struct httpd_req *req, struct lhttp_statement_req *q)
{
	if (!lhttp_query_point(req, "from", "from_seq", 1, &q->from) || !lhttp_query_point(req, "to", "to_seq", 0, &q->to))
		return false;
	if (q->from.by_time && q->to.by_time && q->to.ns < q->from.ns) {
		httpd_reply_error(req, 400, "invalid_field", "to is before from");
		return false;
	}
	if (httpd_query_u64(req, "cursor", 1, UINT64_MAX, 0, &q->cursor) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "cursor must be a next_cursor this statement gave out");
		return false;
	}
	return lhttp_query_limit(req, LHTTP_STATEMENT_LIMIT_MAX, LHTTP_STATEMENT_LIMIT_DEFAULT, &q->limit);
}

/* A statement request on its way through the pool, and what its read transaction found. */
struct lhttp_statement {
	struct ledger *l;
	struct httpd_req *req;
	struct lhttp_statement_req q;
	char account[LEDGER_NAME_MAX + 1];   /* the path's id (32 hex) or name */
	struct lhttp_refusal refusal;
	struct ledger_account a;
	uint64_t head, from_seq, to_seq;
	struct ledger_period res;
	struct ledger_entry *entries;
	struct ledger_balances *after;
};

/*
 * Turns the request's ends into sequences (a time `from` starts at the
 * first entry at or after it; a time `to` ends before it) and reads the
 * page (a pool thread). Returns 0, LHTTP_REFUSED or a status.
 */
static int lhttp_statement_read(MDB_txn *txn, void *arg)
{
	struct lhttp_statement *s = arg;
	struct ledger *l = s->l;
	const struct lhttp_statement_req *q = &s->q;
	uint8_t hash[LEDGER_HASH_LEN];
	int rc = ledger_head(l, txn, &s->head, hash);
	s->from_seq = q->from.by_seq ? q->from.seq : 1;
	s->to_seq = q->to.by_seq ? q->to.seq : s->head;
	if (rc == LEDGER_OK && q->from.by_time)
		rc = ledger_seq_at(l, txn, q->from.ns, &s->from_seq);
	if (rc == LEDGER_OK && q->to.by_time && (rc = ledger_seq_at(l, txn, q->to.ns, &s->to_seq)) == LEDGER_OK)
		s->to_seq--;
	if (rc != LEDGER_OK)
		return rc;
	if (s->from_seq > s->head + 1 || s->to_seq > s->head)
		return lhttp_refuse_beyond_head(&s->refusal, s->to_seq > s->head ? "to_seq" : "from_seq", s->head);
	if (s->to_seq + 1 < s->from_seq)
		return lhttp_refuse(&s->refusal, 400, "invalid_field",
				    "the period ends (seq %llu) before it starts (seq %llu)",
				    (unsigned long long)s->to_seq, (unsigned long long)s->from_seq);
	if (q->cursor && (q->cursor < s->from_seq || q->cursor > s->to_seq))
		return lhttp_refuse(&s->refusal, 400, "invalid_field", "cursor is not within the period");
	if ((rc = ledger_account_lookup(l, txn, s->account, &s->a)) == STORE_ENOTFOUND)
		return lhttp_refuse(&s->refusal, 404, "not_found", "no such ledger account");
	if (rc != LEDGER_OK)
		return rc;
	return ledger_account_period(l, txn, &s->a.id, s->from_seq, s->to_seq, q->cursor, q->limit, s->entries,
				     s->after, &s->res);
}

static json_t *lhttp_statement_json(const struct lhttp_statement *s)
{
	char next[LHTTP_U64_TEXT];
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < s->res.n; i++) {
		json_t *e = lhttp_entry_json(&s->entries[i]);
		if (!e || json_object_set_new(e, "balances", lhttp_balances_json(&s->after[i])) != 0 ||
		    json_array_append_new(arr, e) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	snprintf(next, sizeof(next), "%llu", (unsigned long long)s->res.next);
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s?}", "account", lhttp_account_json(&s->a),
			 "from_seq", lhttp_u64_json(s->from_seq), "to_seq", lhttp_u64_json(s->to_seq), "head_seq",
			 lhttp_u64_json(s->head), "opening", lhttp_balances_json(&s->res.opening), "closing",
			 lhttp_balances_json(&s->res.closing), "entries", arr, "next_cursor",
			 s->res.next ? next : NULL);
}

static void lhttp_statement_free(struct lhttp_statement *s)
{
	free(s->entries);
	free(s->after);
	free(s);
}

static void lhttp_statement_done(int status, void *arg)
{
	struct lhttp_statement *s = arg;
	if (status == LEDGER_OK)
		lhttp_reply_ok(s->req, lhttp_statement_json(s));
	else
		lhttp_reply_read(s->req, status, &s->refusal);
	lhttp_statement_free(s);
}

static void lhttp_handle_period(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	const char *ref = httpd_param(req, "account");
	struct lhttp_statement *s = calloc(1, sizeof(*s));
	int rc;
	if (!s) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	s->l = l;
	s->req = req;
	if (!lhttp_statement_params(req, &s->q))
		goto free_statement;
	if (strlen(ref) > LEDGER_NAME_MAX) {
		httpd_reply_error(req, 404, "not_found", "no such ledger account");
		goto free_statement;
	}
	strcpy(s->account, ref);
	s->entries = calloc(s->q.limit, sizeof(*s->entries));
	s->after = calloc(s->q.limit, sizeof(*s->after));
	if (!s->entries || !s->after) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_statement;
	}
	if ((rc = store_read_async(l->store, l->workq, lhttp_statement_read, lhttp_statement_done, s)) == STORE_OK)
		return;
	lhttp_reply_failure(req, rc);
free_statement:
	lhttp_statement_free(s);
}

/* One account row of a trial balance. */
struct lhttp_trial_row {
	struct ledger_account a;
	struct ledger_balances b;
};

/* A trial balance request on its way through the pool, and what its read found. */
struct lhttp_trial {
	struct ledger *l;
	struct httpd_req *req;
	struct lhttp_refusal refusal;
	struct lhttp_point at;
	bool csv;
	struct ledger_id after;              /* the cursor: rows start after this id */
	bool has_cursor;
	size_t limit;
	struct lhttp_trial_row *rows;        /* limit of them */
	size_t n;
	bool more;                           /* rows after the page */
	uint64_t head;
	struct ledger_trial t;
};

static int lhttp_trial_collect(void *arg, const struct ledger_account *a, const struct ledger_balances *b)
{
	struct lhttp_trial *tb = arg;
	if (tb->has_cursor && memcmp(a->id.b, tb->after.b, sizeof(a->id.b)) <= 0)
		return 0;
	if (tb->n == tb->limit) {
		tb->more = true;
		return 0;
	}
	tb->rows[tb->n].a = *a;
	tb->rows[tb->n].b = *b;
	tb->n++;
	return 0;
}

static bool lhttp_trial_params(struct httpd_req *req, bool csv, struct lhttp_trial *tb)
{
	const char *format = httpd_query(req, "format");
	const char *cursor = httpd_query(req, "cursor");
	if (format && *format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
		httpd_reply_error(req, 400, "invalid_field", "format must be json or csv");
		return false;
	}
	tb->csv = csv || (format && strcmp(format, "csv") == 0);
	if (!lhttp_query_point(req, "as_of", "as_of_seq", 0, &tb->at))
		return false;
	tb->has_cursor = cursor && *cursor;
	if (tb->has_cursor &&
	    (strlen(cursor) != 2 * sizeof(tb->after.b) || ledger_id_parse(cursor, &tb->after) != LEDGER_OK)) {
		httpd_reply_error(req, 400, "invalid_field", "cursor must be a next_cursor this trial balance gave out");
		return false;
	}
	return tb->csv ? lhttp_query_limit(req, LHTTP_TRIAL_CSV_MAX, LHTTP_TRIAL_CSV_MAX, &tb->limit)
		       : lhttp_query_limit(req, LHTTP_TRIAL_LIMIT_MAX, LHTTP_TRIAL_LIMIT_DEFAULT, &tb->limit);
}

/*
 * The state as of a time T: after the last entry before T, with the
 * accounts made before T. As of sequence S: after entry S, with the
 * accounts made before entry S + 1 (all of them at the head). A pool
 * thread. Returns 0, LHTTP_REFUSED or a status.
 */
static int lhttp_trial_read(MDB_txn *txn, void *arg)
{
	struct lhttp_trial *tb = arg;
	struct ledger *l = tb->l;
	uint8_t hash[LEDGER_HASH_LEN];
	uint64_t seq, created_before = UINT64_MAX;
	struct ledger_entry next;
	int rc = ledger_head(l, txn, &tb->head, hash);
	if (rc != LEDGER_OK)
		return rc;
	seq = tb->at.by_seq ? tb->at.seq : tb->head;
	if (tb->at.by_time) {
		if ((rc = ledger_seq_at(l, txn, tb->at.ns, &seq)) != LEDGER_OK)
			return rc;
		seq--;
		created_before = tb->at.ns;
	} else if (seq > tb->head) {
		return lhttp_refuse_beyond_head(&tb->refusal, "as_of_seq", tb->head);
	} else if (seq < tb->head) {
		if ((rc = ledger_entry_get(l, txn, seq + 1, &next)) != LEDGER_OK)
			return rc;
		created_before = next.t.timestamp;
	}
	return ledger_trial_balance(l, txn, seq, created_before, lhttp_trial_collect, tb, &tb->t);
}

static bool lhttp_trial_balanced(const struct ledger_trial *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (!t->ledgers[i].balanced)
			return false;
	return true;
}

static json_t *lhttp_trial_json(const struct lhttp_trial *tb)
{
	char next[LHTTP_ID_TEXT], as_of[CLOCK_TIME_MAX];
	json_t *ledgers = json_array(), *accounts = json_array();
	bool as_of_text = tb->at.by_time && clock_format_wib((int64_t)(tb->at.ns / LHTTP_NS_PER_MS), as_of,
							     sizeof(as_of)) == 0;
	for (size_t i = 0; ledgers && i < tb->t.n; i++) {
		const struct ledger_trial_total *g = &tb->t.ledgers[i];
		if (json_array_append_new(ledgers, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:b}", "ledger",
							     (json_int_t)g->ledger, "accounts",
							     lhttp_u64_json(g->accounts), "debits_pending",
							     lhttp_sum_json(&g->debits_pending), "debits_posted",
							     lhttp_sum_json(&g->debits_posted), "credits_pending",
							     lhttp_sum_json(&g->credits_pending), "credits_posted",
							     lhttp_sum_json(&g->credits_posted), "balanced",
							     g->balanced)) != 0) {
			json_decref(ledgers);
			ledgers = NULL;
		}
	}
	for (size_t i = 0; accounts && i < tb->n; i++) {
		const struct lhttp_trial_row *r = &tb->rows[i];
		char id[LHTTP_ID_TEXT];
		json_t *row;
		ledger_id_hex(&r->a.id, id, sizeof(id));
		row = lhttp_balances_json(&r->b);
		if (!row || json_object_set_new(row, "id", json_string(id)) != 0 ||
		    json_object_set_new(row, "name", json_string(r->a.name)) != 0 ||
		    json_object_set_new(row, "ledger", json_integer(r->a.ledger)) != 0 ||
		    json_object_set_new(row, "code", json_integer(r->a.code)) != 0) {
			json_decref(row);
			row = NULL;
		}
		if (!row || json_array_append_new(accounts, row) != 0) {
			json_decref(accounts);
			accounts = NULL;
		}
	}
	if (tb->n > 0)
		ledger_id_hex(&tb->rows[tb->n - 1].a.id, next, sizeof(next));
	return json_pack("{s:o, s:s?, s:o, s:b, s:o, s:o, s:s?, s:o}", "as_of_seq", lhttp_u64_json(tb->t.seq),
			 "as_of", as_of_text ? as_of : NULL, "head_seq", lhttp_u64_json(tb->head), "balanced",
			 lhttp_trial_balanced(&tb->t), "ledgers", ledgers, "accounts", accounts, "next_cursor",
			 tb->more && tb->n > 0 ? next : NULL, "entries_read", lhttp_u64_json(tb->t.entries_read));
}

/* Appends printf-formatted text to a growing buffer; false when out of memory. */
struct lhttp_text {
	char *data;
	size_t len, cap;
};

static bool lhttp_text_add(struct lhttp_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if (!t->data || (size_t)n >= t->cap - t->len) {
		size_t cap = t->cap ? t->cap : 4096;
		char *data;
		while (cap - t->len <= (size_t)n)
			cap *= 2;
		if (!(data = realloc(t->data, cap)))
			return false;
		t->data = data;
		t->cap = cap;
		va_start(ap, fmt);
		vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)n;
	return true;
}

/*
 * The CSV form: a header line, one line per account of the page, then one
 * `total` line per ledger (every page). Names are [a-z0-9:._-], so nothing
 * needs quoting.
 */
static bool lhttp_trial_csv(const struct lhttp_trial *tb, struct lhttp_text *out)
{
	unsigned long long seq = (unsigned long long)tb->t.seq;
	bool ok = lhttp_text_add(out, "as_of_seq,kind,ledger,account_id,name,code,debits_pending,debits_posted,"
				      "credits_pending,credits_posted,balanced\r\n");
	for (size_t i = 0; ok && i < tb->n; i++) {
		const struct lhttp_trial_row *r = &tb->rows[i];
		char id[LHTTP_ID_TEXT];
		ledger_id_hex(&r->a.id, id, sizeof(id));
		ok = lhttp_text_add(out, "%llu,account,%lu,%s,%s,%u,%lld,%lld,%lld,%lld,\r\n", seq,
				    (unsigned long)r->a.ledger, id, r->a.name, (unsigned)r->a.code,
				    (long long)r->b.debits_pending, (long long)r->b.debits_posted,
				    (long long)r->b.credits_pending, (long long)r->b.credits_posted);
	}
	for (size_t i = 0; ok && i < tb->t.n; i++) {
		const struct ledger_trial_total *g = &tb->t.ledgers[i];
		char dp[LEDGER_SUM_TEXT], dpo[LEDGER_SUM_TEXT], cp[LEDGER_SUM_TEXT], cpo[LEDGER_SUM_TEXT];
		ok = ledger_sum_text(&g->debits_pending, dp, sizeof(dp)) == LEDGER_OK &&
		     ledger_sum_text(&g->debits_posted, dpo, sizeof(dpo)) == LEDGER_OK &&
		     ledger_sum_text(&g->credits_pending, cp, sizeof(cp)) == LEDGER_OK &&
		     ledger_sum_text(&g->credits_posted, cpo, sizeof(cpo)) == LEDGER_OK &&
		     lhttp_text_add(out, "%llu,total,%lu,,,,%s,%s,%s,%s,%s\r\n", seq, (unsigned long)g->ledger, dp, dpo,
				    cp, cpo, g->balanced ? "true" : "false");
	}
	return ok;
}

static void lhttp_reply_trial_csv(struct httpd_req *req, const struct lhttp_trial *tb)
{
	char disposition[80], next[LHTTP_ID_TEXT];
	struct lhttp_text text = { 0 };
	if (!lhttp_trial_csv(tb, &text)) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		free(text.data);
		return;
	}
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"trial-balance-%llu.csv\"",
		 (unsigned long long)tb->t.seq);
	httpd_set_header(req, "Content-Disposition", disposition);
	if (tb->more && tb->n > 0) {
		ledger_id_hex(&tb->rows[tb->n - 1].a.id, next, sizeof(next));
		httpd_set_header(req, "X-Next-Cursor", next);
	}
	httpd_reply_raw(req, 200, "text/csv; charset=utf-8", text.data, text.len);
	free(text.data);
}

static void lhttp_trial_free(struct lhttp_trial *tb)
{
	free(tb->rows);
	free(tb);
}

static void lhttp_trial_done(int status, void *arg)
{
	struct lhttp_trial *tb = arg;
	if (status == LEDGER_OK && tb->csv)
		lhttp_reply_trial_csv(tb->req, tb);
	else if (status == LEDGER_OK)
		lhttp_reply_ok(tb->req, lhttp_trial_json(tb));
	else
		lhttp_reply_read(tb->req, status, &tb->refusal);
	lhttp_trial_free(tb);
}

static void lhttp_trial_balance(struct httpd_req *req, struct ledger *l, bool csv)
{
	struct lhttp_trial *tb = calloc(1, sizeof(*tb));
	int rc;
	if (!tb) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	tb->l = l;
	tb->req = req;
	if (!lhttp_trial_params(req, csv, tb))
		goto free_trial;
	if (!(tb->rows = calloc(tb->limit, sizeof(*tb->rows)))) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_trial;
	}
	if ((rc = store_read_async(l->store, l->workq, lhttp_trial_read, lhttp_trial_done, tb)) == STORE_OK)
		return;
	lhttp_reply_failure(req, rc);
free_trial:
	lhttp_trial_free(tb);
}

static void lhttp_handle_trial_balance(struct httpd_req *req, void *ctx)
{
	lhttp_trial_balance(req, ctx, false);
}

static void lhttp_handle_trial_balance_csv(struct httpd_req *req, void *ctx)
{
	lhttp_trial_balance(req, ctx, true);
}

/* --- audit: the Merkle tree (docs/audit.md) --- */

static json_t *lhttp_hash_json(const uint8_t hash[LEDGER_HASH_LEN])
{
	char hex[2 * LEDGER_HASH_LEN + 1];
	crypto_hex_encode(hash, LEDGER_HASH_LEN, hex, sizeof(hex));
	return json_string(hex);
}

static json_t *lhttp_proof_json(uint8_t (*proof)[LEDGER_HASH_LEN], size_t n)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < n; i++)
		if (json_array_append_new(list, lhttp_hash_json(proof[i])) != 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

/* Answers a proof read's status: 404 beyond the tree, the failure otherwise. */
static void lhttp_reply_tree_failure(struct httpd_req *req, int rc, uint64_t size)
{
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "the tree has %llu leaves", (unsigned long long)size);
	else
		lhttp_reply_failure(req, rc);
}

static void lhttp_handle_tree(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t size = 0;
	MDB_txn *txn;
	int rc = store_read_begin(l->store, &txn);
	if (rc == STORE_OK) {
		rc = ledger_tree_size(l, txn, &size);
		if (rc == LEDGER_OK)
			rc = ledger_tree_root(l, txn, size, root);
		store_read_end(l->store, txn);
	}
	if (rc != LEDGER_OK)
		lhttp_reply_failure(req, rc);
	else
		lhttp_reply_ok(req, json_pack("{s:o, s:o}", "size", lhttp_u64_json(size), "root", lhttp_hash_json(root)));
}

/* A tree size not given: lhttp_proof_sizes makes it the current one. */
#define LHTTP_SIZE_CURRENT UINT64_MAX

/*
 * The two numbers of a proof request: `first` (required, >= first_min) and
 * the tree size `second` (optional, >= second_min; LHTTP_SIZE_CURRENT when
 * absent), first <= second when both are given. Replies 400 and returns
 * false when they are not such numbers.
 */
static bool lhttp_proof_params(struct httpd_req *req, const char *first_name, uint64_t first_min,
			       const char *second_name, uint64_t second_min, uint64_t *first, uint64_t *second)
{
	if (!httpd_query(req, first_name) || httpd_query_u64(req, first_name, first_min, UINT64_MAX, 0, first) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "%s must be a whole number from %llu", first_name,
				  (unsigned long long)first_min);
		return false;
	}
	if (httpd_query_u64(req, second_name, second_min, LHTTP_SIZE_CURRENT - 1, LHTTP_SIZE_CURRENT, second) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "%s must be a whole number from %llu", second_name,
				  (unsigned long long)second_min);
		return false;
	}
	if (*second != LHTTP_SIZE_CURRENT && *first > *second) {
		httpd_reply_error(req, 400, "invalid_field", "%s must be at most %s", first_name, second_name);
		return false;
	}
	return true;
}

/*
 * In the proof's snapshot: the tree's size, and `second` made the current
 * size when it was not given; then a `first` beyond it is beyond the tree.
 */
static int lhttp_proof_sizes(struct ledger *l, MDB_txn *txn, uint64_t first, uint64_t *second, uint64_t *size)
{
	int rc = ledger_tree_size(l, txn, size);
	if (rc == LEDGER_OK && *second == LHTTP_SIZE_CURRENT)
		*second = *size;
	return rc == LEDGER_OK && first > *second ? STORE_ENOTFOUND : rc;
}

/*
 * A proof endpoint: its two numbers (the first, then the tree size), the
 * read that fills the proof and two hashes, and the names of the hashes.
 */
struct lhttp_proof_kind {
	const char *first, *second;
	uint64_t first_min, second_min;
	int (*read)(struct ledger *l, MDB_txn *txn, uint64_t first, uint64_t second, uint8_t (*proof)[LEDGER_HASH_LEN],
		    size_t *n, uint8_t a[LEDGER_HASH_LEN], uint8_t b[LEDGER_HASH_LEN]);
	const char *a_name, *b_name;
};

/* Inclusion of entry `seq` (leaf seq - 1): the proof, the leaf hash, the root. */
static int lhttp_read_inclusion(struct ledger *l, MDB_txn *txn, uint64_t seq, uint64_t tree_size,
				uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n, uint8_t leaf[LEDGER_HASH_LEN],
				uint8_t root[LEDGER_HASH_LEN])
{
	int rc = ledger_inclusion_proof(l, txn, seq - 1, tree_size, proof, n);
	if (rc == LEDGER_OK)
		rc = ledger_tree_leaf(l, txn, seq - 1, leaf);
	return rc == LEDGER_OK ? ledger_tree_root(l, txn, tree_size, root) : rc;
}

static int lhttp_read_consistency(struct ledger *l, MDB_txn *txn, uint64_t from, uint64_t to,
				  uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n, uint8_t from_root[LEDGER_HASH_LEN],
				  uint8_t to_root[LEDGER_HASH_LEN])
{
	int rc = ledger_consistency_proof(l, txn, from, to, proof, n);
	if (rc == LEDGER_OK)
		rc = ledger_tree_root(l, txn, from, from_root);
	return rc == LEDGER_OK ? ledger_tree_root(l, txn, to, to_root) : rc;
}

static const struct lhttp_proof_kind lhttp_inclusion_kind = {
	"seq", "tree_size", 1, 1, lhttp_read_inclusion, "leaf_hash", "root",
};

static const struct lhttp_proof_kind lhttp_consistency_kind = {
	"from", "to", 0, 0, lhttp_read_consistency, "from_root", "to_root",
};

static void lhttp_handle_proof(struct httpd_req *req, struct ledger *l, const struct lhttp_proof_kind *kind)
{
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN], a[LEDGER_HASH_LEN], b[LEDGER_HASH_LEN];
	uint64_t first, second, size = 0;
	size_t n = 0;
	MDB_txn *txn;
	int rc;
	if (!lhttp_proof_params(req, kind->first, kind->first_min, kind->second, kind->second_min, &first, &second))
		return;
	rc = store_read_begin(l->store, &txn);
	if (rc == STORE_OK) {
		rc = lhttp_proof_sizes(l, txn, first, &second, &size);
		if (rc == LEDGER_OK)
			rc = kind->read(l, txn, first, second, proof, &n, a, b);
		store_read_end(l->store, txn);
	}
	if (rc != LEDGER_OK)
		lhttp_reply_tree_failure(req, rc, size);
	else
		lhttp_reply_ok(req, json_pack("{s:o, s:o, s:o, s:o, s:o}", kind->first, lhttp_u64_json(first),
					      kind->second, lhttp_u64_json(second), kind->a_name, lhttp_hash_json(a),
					      kind->b_name, lhttp_hash_json(b), "proof", lhttp_proof_json(proof, n)));
}

static void lhttp_handle_inclusion(struct httpd_req *req, void *ctx)
{
	lhttp_handle_proof(req, ctx, &lhttp_inclusion_kind);
}

static void lhttp_handle_consistency(struct httpd_req *req, void *ctx)
{
	lhttp_handle_proof(req, ctx, &lhttp_consistency_kind);
}

/* --- reading events from a request body --- */

/* Reads body[key] as an event id (32 hex characters). Returns true when present and valid. */
/* --- audit: signed checkpoints (docs/audit.md, "Checkpoints") --- */

#define LHTTP_CHECKPOINTS_MAX 100

static json_t *lhttp_checkpoint_json(const struct ledger *l, const struct ledger_checkpoint *c)
{
	char text[LEDGER_CHECKPOINT_TEXT_MAX], text64[2 * LEDGER_CHECKPOINT_TEXT_MAX];
	char sig64[2 * LEDGER_SIGNATURE_LEN], pub[2 * LEDGER_KEY_LEN + 1];
	uint8_t key[LEDGER_KEY_LEN];
	size_t len;
	ledger_checkpoint_public_key(l, key);
	if (ledger_checkpoint_text(c, text, sizeof(text), &len) != LEDGER_OK ||
	    crypto_base64_encode(text, len, false, text64, sizeof(text64)) != CRYPTO_OK ||
	    crypto_base64_encode(c->signature, LEDGER_SIGNATURE_LEN, false, sig64, sizeof(sig64)) != CRYPTO_OK ||
	    crypto_hex_encode(key, LEDGER_KEY_LEN, pub, sizeof(pub)) != CRYPTO_OK)
		return NULL;
	return json_pack("{s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "number", lhttp_u64_json(c->number),
			 "tree_size", lhttp_u64_json(c->tree_size), "root", lhttp_hash_json(c->root),
			 "time", lhttp_u64_json(c->time_ms), "signed", text64, "signature", sig64, "public_key", pub);
}

static void lhttp_handle_public_key(struct httpd_req *req, void *ctx)
{
	uint8_t key[LEDGER_KEY_LEN];
	char hex[2 * LEDGER_KEY_LEN + 1];
	ledger_checkpoint_public_key(ctx, key);
	crypto_hex_encode(key, sizeof(key), hex, sizeof(hex));
	lhttp_reply_ok(req, json_pack("{s:s, s:s, s:s}", "algorithm", "ed25519", "origin", LEDGER_CHECKPOINT_ORIGIN,
				      "public_key", hex));
}

static void lhttp_handle_checkpoint_latest(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	struct ledger_checkpoint c;
	MDB_txn *txn;
	int rc = store_read_begin(l->store, &txn);
	if (rc == STORE_OK) {
		rc = ledger_checkpoint_latest(l, txn, &c);
		store_read_end(l->store, txn);
	}
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no checkpoint has been made yet");
	else if (rc != LEDGER_OK)
		lhttp_reply_failure(req, rc);
	else
		lhttp_reply_ok(req, lhttp_checkpoint_json(l, &c));
}

static void lhttp_handle_checkpoints(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	struct ledger_checkpoint list[LHTTP_CHECKPOINTS_MAX];
	json_t *arr;
	uint64_t from;
	size_t limit, n = 0;
	MDB_txn *txn;
	int rc;
	if (httpd_query_u64(req, "from", 1, UINT64_MAX, 1, &from) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "from must be a checkpoint number from 1");
		return;
	}
	if (!lhttp_query_limit(req, LHTTP_CHECKPOINTS_MAX, LHTTP_CHECKPOINTS_MAX, &limit))
		return;
	rc = store_read_begin(l->store, &txn);
	if (rc == STORE_OK) {
		rc = ledger_checkpoint_list(l, txn, from, limit, list, &n);
		store_read_end(l->store, txn);
	}
	if (rc != LEDGER_OK) {
		lhttp_reply_failure(req, rc);
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, lhttp_checkpoint_json(l, &list[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	lhttp_reply_ok(req, arr ? json_pack("{s:o}", "checkpoints", arr) : NULL);
}

/* A POST's job: the checkpoint it made, or the latest when the tree had not grown. */
struct lhttp_checkpoint_op {
	struct ledger *l;
	struct httpd_req *req;
	struct ledger_checkpoint c;
	bool made;
};

static int lhttp_checkpoint_apply(MDB_txn *txn, void *arg)
{
	struct lhttp_checkpoint_op *op = arg;
	return ledger_checkpoint_make(op->l, txn, ledger_now_ns() / 1000000u, &op->c, &op->made);
}

static void lhttp_checkpoint_done(int status, void *arg)
{
	struct lhttp_checkpoint_op *op = arg;
	json_t *body = status == 0 ? lhttp_checkpoint_json(op->l, &op->c) : NULL;
	if (status != 0)
		lhttp_reply_failure(op->req, status);
	else if (body)
		httpd_reply_json(op->req, op->made ? 201 : 200, body);
	else
		lhttp_reply_ok(op->req, NULL);
	free(op);
}

static void lhttp_handle_checkpoint_make(struct httpd_req *req, void *ctx)
{
	struct lhttp_checkpoint_op *op = calloc(1, sizeof(*op));
	int rc;
	if (!op) {
		lhttp_reply_ok(req, NULL);
		return;
	}
	op->l = ctx;
	op->req = req;
	rc = store_submit(op->l->store, lhttp_checkpoint_apply, lhttp_checkpoint_done, op);
	if (rc != STORE_OK) {
		lhttp_reply_failure(req, rc);
		free(op);
	}
}

/*
 * Signer routes: only on a server that opened the key (ledger_checkpoints_open).
 * The key and the checkpoints are public: they hold only sizes, roots, times
 * and signatures, and whoever checks a receipt needs them (docs/audit.md, "Who
 * may read what").
 */
static int lhttp_attach_checkpoints(struct ledger *l, struct httpd *h)
{
	if (!l->signer)
		return 0;
	return httpd_route(h, ROUTER_GET, "/api/v1/audit/public-key", ROLE_PUBLIC, lhttp_handle_public_key, l) ||
	       httpd_route(h, ROUTER_GET, "/api/v1/audit/checkpoints/latest", ROLE_PUBLIC,
			   lhttp_handle_checkpoint_latest, l) ||
	       httpd_route(h, ROUTER_GET, "/api/v1/audit/checkpoints", ROLE_PUBLIC, lhttp_handle_checkpoints, l) ||
	       httpd_route(h, ROUTER_POST, "/api/v1/audit/checkpoints", ROLE_ADMIN, lhttp_handle_checkpoint_make, l);
}

static bool lhttp_take_id(struct body_check *c, const json_t *obj, const char *key, bool required,
			  struct ledger_id *out)
{
	/* Any length passes here; ledger_id_parse then wants exactly 32 hex characters. */
	const char *text = body_str(c, obj, key, required, 0, SIZE_MAX);
	if (!text)
		return false;
	if (ledger_id_parse(text, out) != LEDGER_OK) {
		body_fail(c, key, "must be 32 hex characters");
		return false;
	}
	return true;
}

/* Reads body["flags"], an optional array of at most LHTTP_FLAGS_MAX names settable in `set`. */
static uint16_t lhttp_take_flags(struct body_check *c, const json_t *obj, const struct lhttp_flag_set *set)
{
	const json_t *v = json_object_get(obj, "flags");
	const json_t *item;
	char reason[BODY_REASON_MAX];
	uint16_t flags = 0;
	size_t i;
	if (c->failed || !v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > LHTTP_FLAGS_MAX) {
		snprintf(reason, sizeof(reason), "must be an array of at most %d flag names", LHTTP_FLAGS_MAX);
		body_fail(c, "flags", reason);
		return 0;
	}
	json_array_foreach(v, i, item) {
		uint16_t bit = 0;
		for (size_t f = 0; json_is_string(item) && f < set->n; f++)
			if (strcmp(json_string_value(item), set->flags[f].name) == 0)
				bit = set->flags[f].bit;
		if (!(bit & set->settable)) {
			snprintf(reason, sizeof(reason), "may hold only %s", set->settable_text);
			body_fail(c, "flags", reason);
			return 0;
		}
		flags |= bit;
	}
	return flags;
}

/* The fields accounts and transfers share, in their order of checking. */
static void lhttp_take_user_data(struct body_check *c, const json_t *obj, struct ledger_id *u128, uint64_t *u64,
				 uint32_t *u32)
{
	lhttp_take_id(c, obj, "user_data_128", false, u128);
	*u64 = (uint64_t)body_int(c, obj, "user_data_64", false, 0, INT64_MAX, 0);
	*u32 = (uint32_t)body_int(c, obj, "user_data_32", false, 0, UINT32_MAX, 0);
}

/* Outcomes of reading one event (besides a failure recorded in the body_check). */
#define LHTTP_READ_OK 0
#define LHTTP_READ_INVALID (-1)

static int lhttp_read_account(struct body_check *c, const json_t *obj, void *event)
{
	static const char *const keys[] = { "id", "name", "ledger", "code", "flags", "user_data_128", "user_data_64",
					    "user_data_32", NULL };
	struct ledger_account *a = event;
	bool has_id;
	body_only(c, obj, keys);
	has_id = lhttp_take_id(c, obj, "id", false, &a->id);
	const char *name = body_str(c, obj, "name", true, 1, LEDGER_NAME_MAX);
	a->ledger = (uint32_t)body_int(c, obj, "ledger", false, 0, UINT32_MAX, LEDGER_IDR);
	a->code = (uint16_t)body_int(c, obj, "code", true, 0, UINT16_MAX, 0);
	a->flags = lhttp_take_flags(c, obj, &lhttp_account_flags);
	lhttp_take_user_data(c, obj, &a->user_data_128, &a->user_data_64, &a->user_data_32);
	if (c->failed)
		return LHTTP_READ_INVALID;
	/* The name's characters are the ledger's to judge (result name_must_be_valid). */
	memcpy(a->name, name, strlen(name) + 1);
	return has_id ? LHTTP_READ_OK : ledger_id_new(&a->id);
}

static int lhttp_read_transfer(struct body_check *c, const json_t *obj, void *event)
{
	static const char *const keys[] = { "id", "debit_account_id", "credit_account_id", "amount", "pending_id",
					    "user_data_128", "user_data_64", "user_data_32", "timeout", "ledger",
					    "code", "flags", NULL };
	struct ledger_transfer *t = event;
	bool resolves;
	body_only(c, obj, keys);
	t->flags = lhttp_take_flags(c, obj, &lhttp_transfer_flags);
	/* A post or void may leave accounts, ledger and code out: they come from the pending transfer. */
	resolves = t->flags & (LEDGER_POST_PENDING | LEDGER_VOID_PENDING);
	lhttp_take_id(c, obj, "id", true, &t->id);
	lhttp_take_id(c, obj, "debit_account_id", !resolves, &t->debit_account_id);
	lhttp_take_id(c, obj, "credit_account_id", !resolves, &t->credit_account_id);
	/* Zero passes, for the ledger to answer amount_must_not_be_zero; INT64_MAX posts all of a pending. */
	t->amount = body_int(c, obj, "amount", !resolves, 0, INT64_MAX, 0);
	lhttp_take_id(c, obj, "pending_id", false, &t->pending_id);
	lhttp_take_user_data(c, obj, &t->user_data_128, &t->user_data_64, &t->user_data_32);
	t->timeout = (uint32_t)body_int(c, obj, "timeout", false, 0, UINT32_MAX, 0);
	t->ledger = (uint32_t)body_int(c, obj, "ledger", false, 0, UINT32_MAX, resolves ? 0 : LEDGER_IDR);
	t->code = (uint16_t)body_int(c, obj, "code", !resolves, 0, UINT16_MAX, 0);
	return c->failed ? LHTTP_READ_INVALID : LHTTP_READ_OK;
}

/* --- creating accounts and transfers --- */

static int lhttp_create_accounts(struct ledger *l, MDB_txn *txn, void *events, size_t n, uint32_t *results)
{
	return ledger_create_accounts(l, txn, events, n, results);
}

static int lhttp_create_transfers(struct ledger *l, MDB_txn *txn, void *events, size_t n, uint32_t *results)
{
	return ledger_create_transfers(l, txn, events, n, results);
}

static json_t *lhttp_result_json(const struct ledger_id *id, size_t index, uint32_t result)
{
	char text[LHTTP_ID_TEXT];
	ledger_id_hex(id, text, sizeof(text));
	return json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "id", text, "result",
			 ledger_result_name(result));
}

static json_t *lhttp_account_result(const void *event, size_t index, uint32_t result)
{
	const struct ledger_account *a = event;
	return lhttp_result_json(&a->id, index, result);
}

/* A transfer's result also says where it is in the journal when it is there. */
static json_t *lhttp_transfer_result(const void *event, size_t index, uint32_t result)
{
	const struct ledger_transfer *t = event;
	json_t *obj = lhttp_result_json(&t->id, index, result);
	if (obj && (result == LEDGER_R_OK || result == LEDGER_R_EXISTS) &&
	    (json_object_set_new(obj, "seq", lhttp_u64_json(t->seq)) != 0 ||
	     json_object_set_new(obj, "timestamp", lhttp_u64_json(t->timestamp)) != 0)) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

/* What differs between creating accounts and creating transfers. */
struct lhttp_kind {
	const char *list;                    /* the body's array: "accounts" or "transfers" */
	size_t max;                          /* events per request */
	size_t size;                         /* bytes of one event */
	/* Fills one event from obj; LHTTP_READ_INVALID (c says why) or a LEDGER_* status. */
	int (*read)(struct body_check *c, const json_t *obj, void *event);
	int (*create)(struct ledger *l, MDB_txn *txn, void *events, size_t n, uint32_t *results);
	json_t *(*result)(const void *event, size_t index, uint32_t result);
};

static const struct lhttp_kind lhttp_accounts_kind = {
	"accounts", LHTTP_ACCOUNTS_MAX, sizeof(struct ledger_account), lhttp_read_account,
	lhttp_create_accounts, lhttp_account_result,
};

static const struct lhttp_kind lhttp_transfers_kind = {
	"transfers", LEDGER_BATCH_MAX, sizeof(struct ledger_transfer), lhttp_read_transfer,
	lhttp_create_transfers, lhttp_transfer_result,
};

/* One POST in flight: lives from the handler to the reply. */
struct lhttp_op {
	struct ledger *l;
	struct httpd_req *req;
	const struct lhttp_kind *kind;
	size_t n;
	void *events;                        /* n events as read from the body */
	void *work;                          /* the copy each apply hands the ledger to fill in */
	uint32_t *results;
};

static void lhttp_op_free(struct lhttp_op *op)
{
	free(op->events);
	free(op->work);
	free(op->results);
	free(op);
}

static struct lhttp_op *lhttp_op_new(struct ledger *l, struct httpd_req *req, const struct lhttp_kind *kind,
				     size_t n)
{
	struct lhttp_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->l = l;
	op->req = req;
	op->kind = kind;
	op->n = n;
	op->events = calloc(n, kind->size);
	op->work = calloc(n, kind->size);
	op->results = calloc(n, sizeof(*op->results));
	if (!op->events || !op->work || !op->results) {
		lhttp_op_free(op);
		return NULL;
	}
	return op;
}

/* Store job. A re-run (after the map grew) starts again from the request's events. */
static int lhttp_apply(MDB_txn *txn, void *arg)
{
	struct lhttp_op *op = arg;
	memcpy(op->work, op->events, op->n * op->kind->size);
	memset(op->results, 0, op->n * sizeof(*op->results));
	return op->kind->create(op->l, txn, op->work, op->n, op->results);
}

static json_t *lhttp_results_json(const struct lhttp_op *op)
{
	json_t *arr = json_array();
	const char *work = op->work;
	for (size_t i = 0; arr && i < op->n; i++) {
		json_t *item = op->kind->result(work + i * op->kind->size, i, op->results[i]);
		if (json_array_append_new(arr, item) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr ? json_pack("{s:o}", "results", arr) : NULL;
}

static void lhttp_create_done(int status, void *arg)
{
	struct lhttp_op *op = arg;
	if (status != 0)
		lhttp_reply_failure(op->req, status);
	else
		lhttp_reply_ok(op->req, lhttp_results_json(op));
	lhttp_op_free(op);
}

/*
 * Reads body[kind->list], 1..kind->max events, into a new op. Replies (400
 * naming the event and field, or 500) and returns NULL on failure.
 */
static struct lhttp_op *lhttp_read_events(struct ledger *l, struct httpd_req *req, const json_t *body,
					  const struct lhttp_kind *kind)
{
	const char *const keys[] = { kind->list, NULL };
	const json_t *list = json_object_get(body, kind->list);
	const json_t *item;
	struct body_check top = { 0 };
	struct lhttp_op *op;
	size_t i;
	if (!body_only(&top, body, keys)) {
		httpd_reply_error(req, 400, body_error_code(&top), "%s %s", top.field, top.reason);
		return NULL;
	}
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > kind->max) {
		httpd_reply_error(req, 400, "invalid_field", "%s must be an array of 1 to %zu events", kind->list,
				  kind->max);
		return NULL;
	}
	op = lhttp_op_new(l, req, kind, json_array_size(list));
	if (!op) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	json_array_foreach(list, i, item) {
		struct body_check c = { 0 };
		int rc = json_is_object(item) ? kind->read(&c, item, (char *)op->events + i * kind->size)
					      : LHTTP_READ_INVALID;
		if (rc == LHTTP_READ_INVALID && !c.failed)
			httpd_reply_error(req, 400, "invalid_field", "%s[%zu] must be an object", kind->list, i);
		else if (rc == LHTTP_READ_INVALID)
			httpd_reply_error(req, 400, body_error_code(&c), "%s[%zu].%s %s", kind->list, i, c.field,
					  c.reason);
		else if (rc != LHTTP_READ_OK)
			lhttp_reply_failure(req, rc);
		if (rc != LHTTP_READ_OK) {
			lhttp_op_free(op);
			return NULL;
		}
	}
	return op;
}

static void lhttp_handle_create(struct httpd_req *req, struct ledger *l, const struct lhttp_kind *kind)
{
	struct lhttp_op *op;
	json_t *body;
	int rc;
	if (httpd_json_body(req, &body) != 0 || !(op = lhttp_read_events(l, req, body, kind)))
		return;
	rc = store_submit(l->store, lhttp_apply, lhttp_create_done, op);
	if (rc != STORE_OK) {
		lhttp_reply_failure(req, rc);
		lhttp_op_free(op);
	}
}

static void lhttp_handle_create_accounts(struct httpd_req *req, void *ctx)
{
	lhttp_handle_create(req, ctx, &lhttp_accounts_kind);
}

static void lhttp_handle_create_transfers(struct httpd_req *req, void *ctx)
{
	lhttp_handle_create(req, ctx, &lhttp_transfers_kind);
}

/* --- receipts: entries proven against the latest checkpoint --- */

/* One entry of a receipt: the journal's fields and what proves it. */
static int lhttp_receipt_entry(struct ledger *l, MDB_txn *txn, const struct ledger_entry *e, uint64_t tree_size,
			       json_t **out)
{
	uint8_t canonical[LEDGER_CANONICAL_LEN], leaf[LEDGER_HASH_LEN], proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	char bytes64[2 * LEDGER_CANONICAL_LEN];
	size_t n;
	int rc;
	ledger_entry_encode(e, canonical);
	if ((rc = ledger_merkle_leaf_hash(canonical, sizeof(canonical), leaf)) != LEDGER_OK ||
	    (rc = ledger_inclusion_proof(l, txn, e->t.seq - 1, tree_size, proof, &n)) != LEDGER_OK)
		return rc;
	if (crypto_base64_encode(canonical, sizeof(canonical), false, bytes64, sizeof(bytes64)) != CRYPTO_OK ||
	    !(*out = lhttp_entry_json(e)))
		return LEDGER_ENOMEM;
	if (json_object_set_new(*out, "leaf_index", lhttp_u64_json(e->t.seq - 1)) != 0 ||
	    json_object_set_new(*out, "canonical", json_string(bytes64)) != 0 ||
	    json_object_set_new(*out, "leaf_hash", lhttp_hash_json(leaf)) != 0 ||
	    json_object_set_new(*out, "inclusion_proof", lhttp_proof_json(proof, n)) != 0) {
		json_decref(*out);
		return LEDGER_ENOMEM;
	}
	return LEDGER_OK;
}

int ledger_receipt_json(struct ledger *l, MDB_txn *txn, const struct ledger_id *ids, size_t n, json_t **out)
{
	struct ledger_entry e[LEDGER_RECEIPT_MAX];
	struct ledger_checkpoint c;
	json_t *entries, *entry;
	int rc;
	if (n == 0 || n > LEDGER_RECEIPT_MAX)
		return LEDGER_EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((rc = ledger_transfer_get(l, txn, &ids[i], &e[i])) != LEDGER_OK)
			return rc;
	rc = ledger_checkpoint_latest(l, txn, &c);
	if (rc == STORE_ENOTFOUND)
		return LEDGER_EUNSIGNED;
	if (rc != LEDGER_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (e[i].t.seq > c.tree_size)
			return LEDGER_EUNSIGNED;
	if (!(entries = json_array()))
		return LEDGER_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((rc = lhttp_receipt_entry(l, txn, &e[i], c.tree_size, &entry)) != LEDGER_OK)
			goto free_entries;
		if (json_array_append_new(entries, entry) != 0) {
			rc = LEDGER_ENOMEM;
			goto free_entries;
		}
	}
	*out = json_pack("{s:o, s:o}", "entries", entries, "checkpoint", lhttp_checkpoint_json(l, &c));
	return *out ? LEDGER_OK : LEDGER_ENOMEM;
free_entries:
	json_decref(entries);
	return rc;
}

int ledger_attach(struct ledger *l, struct httpd *h, struct workq *q)
{
	const unsigned readers = ROLE_ADMIN | ROLE_AUDITOR;
	l->workq = q;
	if (httpd_route(h, ROUTER_GET, "/api/v1/ledger/accounts/{account}", readers, lhttp_handle_account, l) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/ledger/accounts/{account}/transfers", readers,
			lhttp_handle_statement, l) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/ledger/accounts/{account}/statement", readers, lhttp_handle_period,
			l) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/ledger/trial-balance", readers, lhttp_handle_trial_balance, l) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/ledger/trial-balance.csv", readers, lhttp_handle_trial_balance_csv,
			l) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/ledger/transfers/{id}", readers, lhttp_handle_transfer, l) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/ledger/journal", readers, lhttp_handle_journal, l) ||
	    /*
	     * The tree's head and proofs are hashes only, for whoever holds a receipt or an entry.
	     * Consistency proofs already give the current head (from 0) and any leaf's hash (from
	     * k - 1 to k), so the head and inclusion proofs reveal nothing more.
	     */
	    httpd_route(h, ROUTER_GET, "/api/v1/audit/tree", ROLE_PUBLIC, lhttp_handle_tree, l) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/audit/proofs/inclusion", ROLE_PUBLIC, lhttp_handle_inclusion, l) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/audit/proofs/consistency", ROLE_PUBLIC, lhttp_handle_consistency,
			l) ||
	    httpd_route(h, ROUTER_POST, "/api/v1/ledger/accounts", ROLE_ADMIN, lhttp_handle_create_accounts, l) ||
	    httpd_route(h, ROUTER_POST, "/api/v1/ledger/transfers", ROLE_ADMIN, lhttp_handle_create_transfers, l) ||
	    lhttp_attach_checkpoints(l, h) || ledger_export_attach(l, h))
		return HTTPD_EINVAL;
	return HTTPD_OK;
}
