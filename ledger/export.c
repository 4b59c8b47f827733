/*
 * The auditors' export (docs/audit.md, "Export"): every file of the export
 * of a time range, built from one read transaction through a sink: files in
 * a directory here, for the CLI and for export_http.c, which sends them as a
 * tar archive.
 */
#include "audit_export.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "crypto.h"
#include "internal.h"
#include "store.h"
#include "tools.h"

#define EXPORT_PAGE 1024              /* entries read per ledger_journal call */
#define EXPORT_CHECKPOINT_PAGE 256    /* checkpoints read per ledger_checkpoint_list call */
#define EXPORT_HEX (2 * LEDGER_HASH_LEN + 1)
#define EXPORT_SIG_HEX (2 * LEDGER_SIGNATURE_LEN + 1)
#define EXPORT_ID_HEX 33
#define EXPORT_TEXT_MAX 1024          /* one line of the text files */
#define EXPORT_PATH_MAX 4096
#define EXPORT_NS_PER_MS 1000000u

struct export_file {
	const char *name;
	uint8_t sha256[LEDGER_HASH_LEN];
	uint64_t size;
};

/* One export being built. */
struct export_run {
	struct ledger *l;
	MDB_txn *txn;
	const struct ledger_export_sink *sink;
	ledger_export_progress_fn progress;
	void *arg;
	uint64_t done, total;            /* entries read, for the progress bar */
	struct export_file files[LEDGER_EXPORT_FILES];
	size_t nfiles;
	struct ledger_entry *page;       /* EXPORT_PAGE entries */
	struct ledger_checkpoint *cps;   /* the checkpoints exported, by number */
	size_t ncps;
};

/* --- writing files through the sink --- */

static int run_begin(struct export_run *r, const char *name)
{
	r->files[r->nfiles].name = name;
	return r->sink->begin(r->sink->ctx, name);
}

static int run_write(struct export_run *r, const void *data, size_t len)
{
	return r->sink->write(r->sink->ctx, data, len);
}

static int run_printf(struct export_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int run_printf(struct export_run *r, const char *fmt, ...)
{
	char line[EXPORT_TEXT_MAX];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return LEDGER_EINVAL;
	return run_write(r, line, (size_t)n);
}

static int run_end(struct export_run *r)
{
	struct export_file *f = &r->files[r->nfiles];
	int rc = r->sink->end(r->sink->ctx, f->sha256, &f->size);
	if (rc == 0)
		r->nfiles++;
	return rc;
}

static void run_progress(struct export_run *r, uint64_t n)
{
	r->done += n;
	if (r->progress)
		r->progress(r->done, r->total, r->arg);
}

static void hex_of(const uint8_t *b, size_t len, char *out, size_t cap)
{
	crypto_hex_encode(b, len, out, cap);
}

/* --- reading the ledger --- */

typedef int (*export_entry_fn)(struct export_run *r, const struct ledger_entry *e, void *arg);

/* Calls fn for entries first..last in order, a page at a time. */
static int run_entries(struct export_run *r, uint64_t first, uint64_t last, export_entry_fn fn, void *arg)
{
	uint64_t seq = first;
	while (seq <= last) {
		size_t want = last - seq + 1 < EXPORT_PAGE ? (size_t)(last - seq + 1) : EXPORT_PAGE;
		size_t n;
		int rc = ledger_journal(r->l, r->txn, seq, want, r->page, &n);
		if (rc != 0)
			return rc;
		if (n != want)
			return LEDGER_ECORRUPT;
		for (size_t i = 0; i < n; i++) {
			rc = fn(r, &r->page[i], arg);
			if (rc != 0)
				return rc;
		}
		seq += n;
		run_progress(r, n);
	}
	return LEDGER_OK;
}

static int replay_one(struct export_run *r, const struct ledger_entry *e, void *arg)
{
	char msg[LEDGER_EXPORT_MSG_MAX];
	(void)r;
	return ledger_replay_apply(arg, e, msg, sizeof(msg));
}

/* --- the opening state, taken back from the present (when the range is nearer the head) --- */

/* The pending transfers that entries after the range's start resolve, sorted. */
struct export_ids {
	struct ledger_id *id;
	size_t n, cap;
};

static int collect_resolved(struct export_run *r, const struct ledger_entry *e, void *arg)
{
	struct export_ids *ids = arg;
	(void)r;
	if (!(e->t.flags & (LEDGER_POST_PENDING | LEDGER_VOID_PENDING)))
		return LEDGER_OK;
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? 2 * ids->cap : EXPORT_PAGE;
		struct ledger_id *more = realloc(ids->id, cap * sizeof(*more));
		if (!more)
			return LEDGER_ENOMEM;
		ids->id = more;
		ids->cap = cap;
	}
	ids->id[ids->n++] = e->t.pending_id;
	return LEDGER_OK;
}

static int export_cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ledger_id));
}

/* Each account with a balance after entry m, as ledger_trial_balance gives it. */
static int opening_account(void *arg, const struct ledger_account *a, const struct ledger_balances *b)
{
	struct ledger_balance o = { a->id, a->ledger, b->debits_pending, b->debits_posted, b->credits_pending,
				    b->credits_posted };
	if (!o.debits_pending && !o.debits_posted && !o.credits_pending && !o.credits_posted)
		return LEDGER_OK;
	return ledger_replay_add_account(arg, &o) == LEDGER_OK ? LEDGER_OK : LEDGER_ECORRUPT;
}

/*
 * The state after entry m from the present: balances by ledger_trial_balance
 * (which takes back entries m+1..head), and as open pending transfers those
 * made by entry m or before that are open now or resolved after m.
 */
static int export_opening_back(struct export_run *r, uint64_t m, uint64_t head, struct ledger_replay *state)
{
	struct ledger_trial trial;
	struct export_ids resolved = { 0 };
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = ledger_trial_balance(r->l, r->txn, m, UINT64_MAX, opening_account, state, &trial);
	int mrc;

	if (rc == 0)
		rc = run_entries(r, m + 1, head, collect_resolved, &resolved);
	if (rc != 0)
		goto free_ids;
	/* No pointer to sort or search when nothing was resolved (NULL is not a valid array for either). */
	if (resolved.n > 1)
		qsort(resolved.id, resolved.n, sizeof(*resolved.id), export_cmp_id);
	rc = mdb_cursor_open(r->txn, r->l->pending, &cur);
	if (rc != 0) {
		rc = store_status_from_mdb(rc);
		goto free_ids;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
	     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ledger_pending p;
		if (ledger_pending_decode(v.mv_data, v.mv_size, &p) != LEDGER_OK) {
			rc = LEDGER_ECORRUPT;
			break;
		}
		if (p.seq > m || (p.status != LEDGER_PENDING_OPEN &&
				  (resolved.n == 0 ||
				   !bsearch(&p.id, resolved.id, resolved.n, sizeof(p.id), export_cmp_id))))
			continue;
		struct ledger_open_pending o = { p.id, p.debit_account_id, p.credit_account_id, p.amount, p.ledger,
						 p.code };
		rc = ledger_replay_add_pending(state, &o) == LEDGER_OK ? LEDGER_OK : LEDGER_ECORRUPT;
	}
	if (rc == 0 && mrc != MDB_NOTFOUND)
		rc = store_status_from_mdb(mrc);
	mdb_cursor_close(cur);
free_ids:
	free(resolved.id);
	return rc;
}

/*
 * The records read to make the opening state: the entries before the range
 * replayed forward, or, when fewer, the entries after its start, the
 * accounts and the pending records, taken back from the present.
 */
static int export_opening_cost(struct export_run *r, uint64_t m, uint64_t head, uint64_t *cost, bool *back)
{
	MDB_stat accounts, pending;
	int rc = mdb_stat(r->txn, r->l->accounts, &accounts);
	if (rc == 0)
		rc = mdb_stat(r->txn, r->l->pending, &pending);
	if (rc != 0)
		return store_status_from_mdb(rc);
	/* ledger_trial_balance walks the shorter side itself: at most head - m here. */
	*cost = (head - m) + accounts.ms_entries + pending.ms_entries;
	*back = *cost < m;
	if (!*back)
		*cost = m;
	return LEDGER_OK;
}

/* The compact range of leaves [0, m): the left siblings of leaf m-1 in the tree of m, then that leaf. */
static int export_compact(struct export_run *r, uint64_t m, struct ledger_compact *c)
{
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t below[LEDGER_COMPACT_MAX][LEDGER_HASH_LEN];
	uint8_t leaf[LEDGER_HASH_LEN];
	size_t n;
	int rc;

	ledger_compact_init(c);
	if (m == 0)
		return LEDGER_OK;
	rc = ledger_inclusion_proof(r->l, r->txn, m - 1, m, proof, &n);
	if (rc == 0)
		rc = ledger_tree_leaf(r->l, r->txn, m - 1, leaf);
	if (rc != 0)
		return rc;
	if (n > LEDGER_COMPACT_MAX)
		return LEDGER_ECORRUPT;
	for (size_t i = 0; i < n; i++)
		memcpy(below[i], proof[n - 1 - i], LEDGER_HASH_LEN);
	if (ledger_compact_set(c, m - 1, (const uint8_t(*)[LEDGER_HASH_LEN])below, (unsigned)n) != LEDGER_OK)
		return LEDGER_ECORRUPT;
	return ledger_compact_append(c, leaf);
}

/*
 * The checkpoints an export of span [m, last] needs: the latest of size <= m,
 * every one of size in [m, last], and the first beyond last when none has
 * size last. OUT: r->cps, r->ncps; *covered.
 */
static int export_checkpoints(struct export_run *r, uint64_t m, uint64_t last, bool *covered)
{
	struct ledger_checkpoint page[EXPORT_CHECKPOINT_PAGE];
	size_t cap = 0;
	uint64_t from = 1;

	*covered = false;
	if (!r->l->has_checkpoints)
		return LEDGER_OK;
	for (;;) {
		size_t n;
		int rc = ledger_checkpoint_list(r->l, r->txn, from, EXPORT_CHECKPOINT_PAGE, page, &n);
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < n && !*covered; i++) {
			const struct ledger_checkpoint *c = &page[i];
			/* Only the latest one at or before the start is kept. */
			if (c->tree_size <= m && r->ncps > 0 && r->cps[r->ncps - 1].tree_size <= m)
				r->ncps--;
			if (r->ncps == cap) {
				struct ledger_checkpoint *more;
				cap = cap ? cap * 2 : EXPORT_CHECKPOINT_PAGE;
				more = realloc(r->cps, cap * sizeof(*more));
				if (!more)
					return LEDGER_ENOMEM;
				r->cps = more;
			}
			r->cps[r->ncps++] = *c;
			*covered = c->tree_size >= last;
		}
		if (n < EXPORT_CHECKPOINT_PAGE || *covered)
			return LEDGER_OK;
		from = page[n - 1].number + 1;
	}
}

/* --- the files --- */

static int write_bin(struct export_run *r, const struct ledger_entry *e, void *arg)
{
	uint8_t canonical[LEDGER_CANONICAL_LEN];
	(void)arg;
	ledger_entry_encode(e, canonical);
	return run_write(r, canonical, sizeof(canonical));
}

/* A readable copy: its header line (or none) and how an entry is written. */
struct export_copy {
	const char *header;
	int (*line)(const struct ledger_entry *e, char *out, size_t cap, size_t *len);
};

static const struct export_copy export_jsonl = { "", ledger_export_jsonl_line };
static const struct export_copy export_csv = { ledger_export_csv_header, ledger_export_csv_line };

static int write_line(struct export_run *r, const struct ledger_entry *e, void *arg)
{
	const struct export_copy *copy = arg;
	char line[LEDGER_EXPORT_LINE_MAX];
	size_t len;
	if (copy->line(e, line, sizeof(line), &len) != LEDGER_OK)
		return LEDGER_ECORRUPT;
	return run_write(r, line, len);
}

/* entries.bin (copy NULL) or a readable copy. */
static int write_entries(struct export_run *r, const char *name, uint64_t first, uint64_t last,
			 const struct export_copy *copy)
{
	int rc = run_begin(r, name);
	if (rc == 0 && copy)
		rc = run_write(r, copy->header, strlen(copy->header));
	if (rc == 0)
		rc = run_entries(r, first, last, copy ? write_line : write_bin, (void *)(uintptr_t)copy);
	return rc ? rc : run_end(r);
}

/* A line "<kind> <count>[ <hex>]..." of 32-byte hashes. */
static int write_hashes(struct export_run *r, const char *lead, const uint8_t (*hash)[LEDGER_HASH_LEN], size_t n)
{
	char hex[EXPORT_HEX];
	int rc = run_printf(r, "%s %zu", lead, n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		hex_of(hash[i], LEDGER_HASH_LEN, hex, sizeof(hex));
		rc = run_printf(r, " %s", hex);
	}
	return rc ? rc : run_write(r, "\n", 1);
}

static int write_opening(struct export_run *r, uint64_t m, const struct ledger_compact *c,
			 const struct ledger_replay *state, struct ledger_export_summary *out)
{
	char hex[EXPORT_HEX], id[EXPORT_ID_HEX], debit[EXPORT_ID_HEX], credit[EXPORT_ID_HEX];
	uint8_t prev[LEDGER_HASH_LEN] = { 0 };
	struct ledger_balance *accounts = NULL;
	struct ledger_open_pending *pendings = NULL;
	size_t n = 0;
	int rc = 0;

	if (m > 0) {
		struct ledger_entry e;
		if ((rc = ledger_entry_get(r->l, r->txn, m, &e)) == 0)
			memcpy(prev, e.hash, sizeof(prev));
	}
	if (rc == 0)
		rc = ledger_replay_accounts(state, &accounts, &n);
	if (rc == 0)
		rc = ledger_replay_pendings(state, &pendings, &out->pendings);
	if (rc == 0)
		rc = run_begin(r, LEDGER_EXPORT_OPENING);
	hex_of(prev, sizeof(prev), hex, sizeof(hex));
	if (rc == 0)
		rc = run_printf(r, "first_seq %" PRIu64 "\nprev_hash %s\n", m + 1, hex);
	if (rc == 0)
		rc = write_hashes(r, "compact", (const uint8_t(*)[LEDGER_HASH_LEN])c->hash, c->n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct ledger_balance *b = &accounts[i];
		/* Accounts at zero are left out, whichever way the state was made. */
		if (!b->debits_pending && !b->debits_posted && !b->credits_pending && !b->credits_posted)
			continue;
		out->accounts++;
		ledger_id_hex(&b->id, id, sizeof(id));
		rc = run_printf(r, "account %s %" PRIu32 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", id,
				b->ledger, b->debits_pending, b->debits_posted, b->credits_pending, b->credits_posted);
	}
	for (size_t i = 0; i < out->pendings && rc == 0; i++) {
		const struct ledger_open_pending *p = &pendings[i];
		ledger_id_hex(&p->id, id, sizeof(id));
		ledger_id_hex(&p->debit_account_id, debit, sizeof(debit));
		ledger_id_hex(&p->credit_account_id, credit, sizeof(credit));
		rc = run_printf(r, "pending %s %s %s %" PRId64 " %" PRIu32 " %u\n", id, debit, credit, p->amount,
				p->ledger, (unsigned)p->code);
	}
	free(accounts);
	free(pendings);
	return rc ? rc : run_end(r);
}

static int write_checkpoints(struct export_run *r)
{
	char root[EXPORT_HEX], sig[EXPORT_SIG_HEX];
	int rc = run_begin(r, LEDGER_EXPORT_CHECKPOINTS);
	for (size_t i = 0; i < r->ncps && rc == 0; i++) {
		const struct ledger_checkpoint *c = &r->cps[i];
		hex_of(c->root, sizeof(c->root), root, sizeof(root));
		hex_of(c->signature, sizeof(c->signature), sig, sizeof(sig));
		rc = run_printf(r, "%" PRIu64 " %" PRIu64 " %s %" PRIu64 " %s\n", c->number, c->tree_size, root,
				c->time_ms, sig);
	}
	return rc ? rc : run_end(r);
}

static int write_proof(struct export_run *r, uint64_t from, uint64_t to, uint64_t *count)
{
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	char lead[48];
	size_t n;
	int rc;
	if (from >= to)
		return LEDGER_OK;
	rc = ledger_consistency_proof(r->l, r->txn, from, to, proof, &n);
	if (rc != 0)
		return rc;
	snprintf(lead, sizeof(lead), "%" PRIu64 " %" PRIu64, from, to);
	(*count)++;
	return write_hashes(r, lead, (const uint8_t(*)[LEDGER_HASH_LEN])proof, n);
}

/*
 * Between consecutive checkpoints; from the one before the range to m (the
 * verifier's rebuilt root); from last to the one after the range.
 */
static int write_proofs(struct export_run *r, uint64_t m, uint64_t last, uint64_t *count)
{
	int rc = run_begin(r, LEDGER_EXPORT_PROOFS);
	*count = 0;
	for (size_t i = 0; i + 1 < r->ncps && rc == 0; i++)
		rc = write_proof(r, r->cps[i].tree_size, r->cps[i + 1].tree_size, count);
	if (rc == 0 && r->ncps > 0 && r->cps[0].tree_size < m)
		rc = write_proof(r, r->cps[0].tree_size, m, count);
	if (rc == 0 && r->ncps > 0 && r->cps[r->ncps - 1].tree_size > last)
		rc = write_proof(r, last, r->cps[r->ncps - 1].tree_size, count);
	return rc ? rc : run_end(r);
}

static int write_pub(struct export_run *r, const uint8_t *pub)
{
	char hex[2 * LEDGER_KEY_LEN + 1];
	int rc;
	hex_of(pub, LEDGER_KEY_LEN, hex, sizeof(hex));
	rc = run_begin(r, LEDGER_EXPORT_PUB);
	if (rc == 0)
		rc = run_printf(r, "%s\n", hex);
	return rc ? rc : run_end(r);
}

static int write_manifest(struct export_run *r, int64_t from_ms, int64_t to_ms, uint64_t head,
			  const struct ledger_export_summary *s)
{
	char from[CLOCK_TIME_MAX], to[CLOCK_TIME_MAX], hex[EXPORT_HEX];
	int rc;
	if (clock_format_wib(from_ms, from, sizeof(from)) != 0 || clock_format_wib(to_ms, to, sizeof(to)) != 0)
		return LEDGER_EINVAL;
	rc = run_begin(r, LEDGER_EXPORT_MANIFEST);
	if (rc == 0)
		rc = run_printf(r,
				"{\"format\":\"%s\",\"version\":%d,\"origin\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
				"\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64 ",\"head_seq\":%" PRIu64
				",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 ",\"entries\":%" PRIu64
				",\"opening_accounts\":%" PRIu64 ",\"opening_pendings\":%" PRIu64
				",\"checkpoints\":%" PRIu64 ",\"proofs\":%" PRIu64 ",\"end_covered\":%s,\"files\":[",
				LEDGER_EXPORT_FORMAT, LEDGER_EXPORT_VERSION, LEDGER_CHECKPOINT_ORIGIN, from, to, from_ms,
				to_ms, head, s->first_seq, s->last_seq, s->entries, s->accounts, s->pendings,
				s->checkpoints, s->proofs, s->end_covered ? "true" : "false");
	for (size_t i = 0; i < r->nfiles && rc == 0; i++) {
		hex_of(r->files[i].sha256, LEDGER_HASH_LEN, hex, sizeof(hex));
		rc = run_printf(r, "%s{\"name\":\"%s\",\"size\":%" PRIu64 ",\"sha256\":\"%s\"}", i ? "," : "",
				r->files[i].name, r->files[i].size, hex);
	}
	if (rc == 0)
		rc = run_write(r, "]}\n", 3);
	return rc ? rc : run_end(r);
}

int ledger_export_build(struct ledger *l, MDB_txn *txn, int64_t from_ms, int64_t to_ms, const uint8_t *pub,
			const struct ledger_export_limits *limits, const struct ledger_export_sink *sink,
			ledger_export_progress_fn progress, void *arg, struct ledger_export_summary *out)
{
	struct export_run r = { .l = l, .txn = txn, .sink = sink, .progress = progress, .arg = arg };
	struct ledger_replay *state = NULL;
	struct ledger_compact compact;
	uint8_t head_hash[LEDGER_HASH_LEN];
	uint64_t head, first, end, m, cost = 0;
	bool back = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (from_ms < 0 || to_ms <= from_ms || (uint64_t)to_ms > UINT64_MAX / EXPORT_NS_PER_MS)
		return LEDGER_EINVAL;
	rc = ledger_head(l, txn, &head, head_hash);
	if (rc == 0)
		rc = ledger_seq_at(l, txn, (uint64_t)from_ms * EXPORT_NS_PER_MS, &first);
	if (rc == 0)
		rc = ledger_seq_at(l, txn, (uint64_t)to_ms * EXPORT_NS_PER_MS, &end);
	if (rc != 0)
		return rc;
	m = first - 1;
	out->first_seq = first;
	out->last_seq = end - 1 > head ? head : end - 1;
	if (out->last_seq < m)
		out->last_seq = m;
	out->entries = out->last_seq - m;
	rc = export_opening_cost(&r, m, head, &cost, &back);
	if (rc != 0)
		return rc;
	out->opening_cost = cost;
	out->opening_back = back;
	if ((limits->entries_max && out->entries > limits->entries_max) ||
	    (limits->opening_max && cost > limits->opening_max))
		return LEDGER_EXPORT_ETOOBIG;
	r.page = malloc(EXPORT_PAGE * sizeof(*r.page));
	if (!r.page || ledger_replay_new(&state) != LEDGER_OK) {
		rc = LEDGER_ENOMEM;
		goto free_run;
	}
	r.total = (back ? head - m : m) + 3 * out->entries;
	/* The opening balances and open pending transfers. */
	rc = back ? export_opening_back(&r, m, head, state) : run_entries(&r, 1, m, replay_one, state);
	if (rc == 0)
		rc = export_compact(&r, m, &compact);
	if (rc == 0)
		rc = export_checkpoints(&r, m, out->last_seq, &out->end_covered);
	out->checkpoints = r.ncps;
	if (rc == 0)
		rc = write_entries(&r, LEDGER_EXPORT_ENTRIES_BIN, first, out->last_seq, NULL);
	if (rc == 0)
		rc = write_entries(&r, LEDGER_EXPORT_ENTRIES_JSONL, first, out->last_seq, &export_jsonl);
	if (rc == 0)
		rc = write_entries(&r, LEDGER_EXPORT_ENTRIES_CSV, first, out->last_seq, &export_csv);
	if (rc == 0)
		rc = write_opening(&r, m, &compact, state, out);
	if (rc == 0)
		rc = write_checkpoints(&r);
	if (rc == 0)
		rc = write_proofs(&r, m, out->last_seq, &out->proofs);
	if (rc == 0 && pub)
		rc = write_pub(&r, pub);
	if (rc == 0)
		rc = write_manifest(&r, from_ms, to_ms, head, out);
	for (size_t i = 0; i < r.nfiles; i++) {
		out->file_name[i] = r.files[i].name;
		out->file_size[i] = r.files[i].size;
	}
	out->files = r.nfiles;
free_run:
	ledger_replay_free(state);
	free(r.cps);
	free(r.page);
	return rc;
}

/* --- into a directory --- */

struct dir_sink {
	const char *dir;
	char path[EXPORT_PATH_MAX];
	FILE *f;
};

static int dir_begin(void *ctx, const char *name)
{
	struct dir_sink *d = ctx;
	int n = snprintf(d->path, sizeof(d->path), "%s/%s", d->dir, name);
	if (n < 0 || (size_t)n >= sizeof(d->path))
		return LEDGER_EINVAL;
	d->f = fopen(d->path, "wbx");
	return d->f ? 0 : STORE_EIO;
}

static int dir_write(void *ctx, const void *data, size_t len)
{
	struct dir_sink *d = ctx;
	return fwrite(data, 1, len, d->f) == len ? 0 : STORE_EIO;
}

static int dir_end(void *ctx, uint8_t sha256[LEDGER_HASH_LEN], uint64_t *size)
{
	struct dir_sink *d = ctx;
	struct ledger_export_map m;
	int rc = fclose(d->f) == 0 ? 0 : STORE_EIO;
	d->f = NULL;
	/* Hashed as written to disk, the way the verifier will read it. */
	if (rc == 0)
		rc = ledger_export_map(d->path, &m);
	if (rc != 0)
		return rc;
	*size = m.len;
	if (crypto_sha256(m.data, m.len, sha256) != CRYPTO_OK)
		rc = LEDGER_ENOMEM;
	ledger_export_unmap(&m);
	return rc;
}

/* Makes dir, or accepts it when it is an empty directory. */
static int export_out_dir(const char *dir, char *msg, size_t cap)
{
	DIR *d;
	struct dirent *de;
	bool empty = true;
	if (mkdir(dir, 0755) == 0)
		return LEDGER_OK;
	if (errno != EEXIST || !(d = opendir(dir))) {
		snprintf(msg, cap, "cannot create %s: %s", dir, strerror(errno));
		return LEDGER_EINVAL;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (empty)
		return LEDGER_OK;
	snprintf(msg, cap, "%s exists and is not empty", dir);
	return LEDGER_EINVAL;
}

int ledger_export_build_dir(struct ledger *l, MDB_txn *txn, int64_t from_ms, int64_t to_ms, const uint8_t *pub,
			    const struct ledger_export_limits *limits, const char *dir, ledger_export_progress_fn progress,
			    void *arg, struct ledger_export_summary *out)
{
	struct dir_sink d = { .dir = dir };
	const struct ledger_export_sink sink = { dir_begin, dir_write, dir_end, &d };
	int rc = ledger_export_build(l, txn, from_ms, to_ms, pub, limits, &sink, progress, arg, out);
	if (d.f)
		fclose(d.f);
	return rc;
}

int ledger_export_dir(const char *data_dir, size_t map_size, int64_t from_ms, int64_t to_ms, const char *out_dir,
		      ledger_export_progress_fn progress, void *arg, struct ledger_export_summary *out, char *msg,
		      size_t cap)
{
	const struct ledger_export_limits none = { 0, 0 };
	uint8_t pub[LEDGER_KEY_LEN];
	struct store *s;
	struct ledger *l;
	MDB_txn *txn;
	bool has_pub;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(msg, cap, "cannot read the ledger in %s", data_dir);
	rc = ledger_audit_pub_read(data_dir, pub);
	if (rc != LEDGER_OK && rc != STORE_ENOTFOUND) {
		snprintf(msg, cap, "cannot read %s/audit.pub", data_dir);
		return rc;
	}
	has_pub = rc == LEDGER_OK;
	rc = ledger_tools_open_ro(data_dir, map_size, &s, &l);
	if (rc != 0) {
		snprintf(msg, cap, rc == STORE_ENOTFOUND ? "no ledger in %s" : "cannot read the ledger in %s", data_dir);
		return rc;
	}
	rc = export_out_dir(out_dir, msg, cap);
	if (rc == 0)
		rc = store_read_begin(s, &txn);
	if (rc == 0) {
		rc = ledger_export_build_dir(l, txn, from_ms, to_ms, has_pub ? pub : NULL, &none, out_dir, progress, arg,
					     out);
		store_read_end(s, txn);
		if (rc != 0)
			snprintf(msg, cap, "cannot write the export to %s: %s", out_dir,
				 rc == LEDGER_ENOMEM ? "out of memory" : store_strerror(rc));
	}
	ledger_close(l);
	store_close(s);
	return rc;
}
