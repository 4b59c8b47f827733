/*
 * `bangsoleh ledger bench`: durable ledger throughput, in the manner of
 * TigerBeetle's benchmark. One closed-loop client: N accounts, then M
 * transfers between uniformly random accounts in batches of B, each batch
 * one store job whose store_run returns after its durable commit; then
 * single-transfer batches for commit latency; then the latency of Merkle
 * inclusion proofs for random entries. Optionally verifies the result.
 * --no-tree leaves the Merkle tree out, to measure what it costs.
 */
#include "tools.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"
#include "store.h"

#define BENCH_EXIT_FAILED 1
#define BENCH_EXIT_USAGE 2
#define BENCH_GIB ((size_t)1 << 30)
#define BENCH_MAP_SIZE (8 * BENCH_GIB)
#define BENCH_MAP_MAX (64 * BENCH_GIB)
#define BENCH_ACCOUNTS_MAX 10000000u
#define BENCH_TRANSFERS_MAX 100000000u
#define BENCH_AMOUNT_MAX 1000
#define BENCH_SINGLES 1000            /* single-transfer batches after the run */
#define BENCH_PROOFS BENCH_SINGLES    /* inclusion proofs timed (in the same latency slots) */
#define BENCH_MILLION 1000000u
#define BENCH_CPU_MODEL_MAX 128
#define BENCH_DIR_TEMPLATE "bangsoleh-bench-XXXXXX"

struct bench_opts {
	uint64_t accounts;
	uint64_t transfers;
	uint64_t batch;
	uint64_t seed;
	const char *data;               /* NULL: a temporary folder */
	bool verify;
	bool no_tree;                   /* appends leave the Merkle tree alone */
};

/* One store job: a batch of accounts or transfers and its results. */
struct bench_job {
	struct ledger *l;
	struct ledger_account *accounts;
	struct ledger_transfer *transfers;
	size_t n;
	uint32_t *results;
	uint64_t apply_ns;              /* time inside ledger_create_transfers, summed */
};

/* Everything a run holds; freed by bench_free. */
struct bench {
	struct bench_opts o;
	char dir[PATH_MAX];
	bool temporary;                 /* dir was made here and is removed at the end */
	struct store *store;
	struct ledger *l;
	struct ledger_id *ids;          /* the accounts */
	struct ledger_transfer *transfers;  /* one batch */
	uint32_t *results;
	uint64_t *latency;              /* ns per batch */
	uint64_t *done_at;              /* ns since the run started, after each batch */
	uint64_t not_ok[LEDGER_R_COUNT];
	uint64_t rng;
};

/* xorshift64*: fast and good enough to pick accounts; not for secrets. */
static uint64_t bench_random(struct bench *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545f4914f6cdd1du;
}

/* Uniform in [0, n) for n < 2^32 (multiply-shift, no division). */
static uint64_t bench_below(struct bench *b, uint64_t n)
{
	return ((bench_random(b) >> 32) * n) >> 32;
}

static int bench_apply_accounts(MDB_txn *txn, void *arg)
{
	struct bench_job *job = arg;
	/* A re-run after map growth starts from the inputs again. */
	ledger_accounts_clear(job->accounts, job->n);
	return ledger_create_accounts(job->l, txn, job->accounts, job->n, job->results);
}

static int bench_apply_transfers(MDB_txn *txn, void *arg)
{
	struct bench_job *job = arg;
	uint64_t start = ledger_tools_now_ns();
	int rc;
	ledger_transfers_clear(job->transfers, job->n);
	rc = ledger_create_transfers(job->l, txn, job->transfers, job->n, job->results);
	job->apply_ns += ledger_tools_now_ns() - start;
	return rc;
}

/* Counts every result but ok. */
static void bench_tally(struct bench *b, const uint32_t *results, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (results[i] != LEDGER_R_OK)
			b->not_ok[results[i] < LEDGER_R_COUNT ? results[i] : 0]++;
}

/* Parses an unsigned decimal in [min, max]. */
static int bench_number(const char *flag, const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max) {
		fprintf(stderr, "bangsoleh ledger bench: %s wants a number in %" PRIu64 "..%" PRIu64 ", not \"%s\"\n",
			flag, min, max, text);
		return -1;
	}
	*out = v;
	return 0;
}

/* Reads the flags; both `--flag v` and `--flag=v`. Returns 0 or -1 (said why). */
static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	o->accounts = 10000;
	o->transfers = 5000000;
	o->batch = LEDGER_BATCH_MAX;
	o->seed = ledger_tools_now_ns();
	o->data = NULL;
	o->verify = false;
	for (int i = 0; i < argc; i++) {
		char flag[32];
		const char *eq = strchr(argv[i], '=');
		const char *value;
		size_t len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		int rc = 0;
		if (len >= sizeof(flag))
			len = sizeof(flag) - 1;
		memcpy(flag, argv[i], len);
		flag[len] = '\0';
		if (strcmp(flag, "--verify") == 0 && !eq) {
			o->verify = true;
			continue;
		}
		if (strcmp(flag, "--no-tree") == 0 && !eq) {
			o->no_tree = true;
			continue;
		}
		value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!value) {
			fprintf(stderr, "bangsoleh ledger bench: %s needs a value\n", flag);
			return -1;
		}
		if (strcmp(flag, "--accounts") == 0)
			rc = bench_number(flag, value, 2, BENCH_ACCOUNTS_MAX, &o->accounts);
		else if (strcmp(flag, "--transfers") == 0)
			rc = bench_number(flag, value, 1, BENCH_TRANSFERS_MAX, &o->transfers);
		else if (strcmp(flag, "--batch") == 0)
			rc = bench_number(flag, value, 1, LEDGER_BATCH_MAX, &o->batch);
		else if (strcmp(flag, "--seed") == 0)
			rc = bench_number(flag, value, 1, UINT64_MAX, &o->seed);
		else if (strcmp(flag, "--data") == 0)
			o->data = value;
		else {
			fprintf(stderr, "bangsoleh ledger bench: unknown flag %s\n", flag);
			rc = -1;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void bench_machine(void)
{
	char line[256];
	char model[BENCH_CPU_MODEL_MAX] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	printf("machine: %ld CPUs, %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
}

static int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The value at percentile pct of sorted v[0..n), n > 0, as milliseconds. */
static double bench_pct_ms(const uint64_t *v, size_t n, unsigned pct)
{
	return (double)v[(n - 1) * pct / 100] / 1e6;
}

/* Opens (creating) the data folder, the store and the ledger. */
static int bench_open(struct bench *b)
{
	struct store_config sc = { 0 };
	struct ledger_account probe;
	MDB_txn *txn;
	int rc;

	if (b->o.data) {
		snprintf(b->dir, sizeof(b->dir), "%s", b->o.data);
	} else {
		snprintf(b->dir, sizeof(b->dir), "%s", BENCH_DIR_TEMPLATE);
		if (!mkdtemp(b->dir)) {
			fprintf(stderr, "bangsoleh ledger bench: cannot make a folder here: %s\n", strerror(errno));
			return -1;
		}
		b->temporary = true;
	}
	sc.path = b->dir;
	sc.map_size = BENCH_MAP_SIZE;
	sc.map_max = BENCH_MAP_MAX;
	sc.group_commit = true;
	sc.exclusive = true;
	rc = store_open(&sc, &b->store);
	if (rc == 0)
		rc = ledger_open(b->store, &b->l);
	if (rc != 0) {
		fprintf(stderr, "bangsoleh ledger bench: cannot open the store in %s: %s\n", b->dir,
			store_strerror(rc));
		return -1;
	}
	b->l->tree_off = b->o.no_tree;
	/* Account names would clash with an earlier run's. */
	rc = store_read_begin(b->store, &txn);
	if (rc == 0) {
		rc = ledger_account_by_name(b->l, txn, "bench:0", &probe);
		store_read_end(b->store, txn);
	}
	if (rc != STORE_ENOTFOUND) {
		fprintf(stderr, "bangsoleh ledger bench: %s already holds a bench ledger; give a fresh folder\n",
			b->dir);
		return -1;
	}
	return 0;
}

/* Closes the ledger and the store (before verifying: one env per process). */
static void bench_close(struct bench *b)
{
	if (b->l)
		ledger_close(b->l);
	b->l = NULL;
	store_close(b->store);
	b->store = NULL;
}

static int bench_allocate(struct bench *b)
{
	size_t batches = (size_t)((b->o.transfers + b->o.batch - 1) / b->o.batch);
	size_t slots = batches > BENCH_SINGLES ? batches : BENCH_SINGLES;
	b->ids = calloc((size_t)b->o.accounts, sizeof(*b->ids));
	b->transfers = calloc((size_t)b->o.batch, sizeof(*b->transfers));
	b->results = calloc(LEDGER_BATCH_MAX, sizeof(*b->results));
	b->latency = calloc(slots, sizeof(*b->latency));
	b->done_at = calloc(slots, sizeof(*b->done_at));
	if (!b->ids || !b->transfers || !b->results || !b->latency || !b->done_at) {
		fprintf(stderr, "bangsoleh ledger bench: out of memory\n");
		return -1;
	}
	return 0;
}

static void bench_free(struct bench *b)
{
	if (b->store)
		bench_close(b);
	if (b->temporary) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/data.mdb", b->dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/lock.mdb", b->dir);
		unlink(path);
		if (rmdir(b->dir) != 0)
			fprintf(stderr, "bangsoleh ledger bench: cannot remove %s: %s\n", b->dir, strerror(errno));
	}
	free(b->ids);
	free(b->transfers);
	free(b->results);
	free(b->latency);
	free(b->done_at);
}

/* Creates the accounts "bench:<i>" in batches of LEDGER_BATCH_MAX. */
static int bench_accounts(struct bench *b)
{
	struct ledger_account *batch = calloc(LEDGER_BATCH_MAX, sizeof(*batch));
	struct bench_job job = { .l = b->l, .accounts = batch, .results = b->results };
	uint64_t start = ledger_tools_now_ns();
	int rc = 0;

	if (!batch) {
		fprintf(stderr, "bangsoleh ledger bench: out of memory\n");
		return -1;
	}
	for (uint64_t i = 0; i < b->o.accounts && rc == 0; i += job.n) {
		job.n = (size_t)(b->o.accounts - i < LEDGER_BATCH_MAX ? b->o.accounts - i : LEDGER_BATCH_MAX);
		memset(batch, 0, job.n * sizeof(*batch));
		for (size_t k = 0; k < job.n && rc == 0; k++) {
			struct ledger_account *a = &batch[k];
			rc = ledger_id_new(&a->id);
			b->ids[i + k] = a->id;
			snprintf(a->name, sizeof(a->name), "bench:%" PRIu64, i + k);
			a->ledger = LEDGER_IDR;
			a->code = 1;
		}
		if (rc == 0)
			rc = store_run(b->store, bench_apply_accounts, &job);
		if (rc == 0)
			bench_tally(b, b->results, job.n);
	}
	free(batch);
	if (rc != 0) {
		fprintf(stderr, "bangsoleh ledger bench: creating accounts failed: %s\n", store_strerror(rc));
		return -1;
	}
	printf("accounts: %" PRIu64 " in %.3f s\n", b->o.accounts,
	       (double)(ledger_tools_now_ns() - start) / 1e9);
	return 0;
}

/* Fills transfers[0..n) with new ids between two different random accounts. */
static int bench_fill(struct bench *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ledger_transfer *t = &b->transfers[i];
		uint64_t debit = bench_below(b, b->o.accounts);
		uint64_t credit = bench_below(b, b->o.accounts - 1);
		int rc = ledger_id_new(&t->id);
		if (rc != 0)
			return rc;
		credit += credit >= debit;
		t->debit_account_id = b->ids[debit];
		t->credit_account_id = b->ids[credit];
		t->amount = 1 + (int64_t)bench_below(b, BENCH_AMOUNT_MAX);
		t->ledger = LEDGER_IDR;
		t->code = 1;
	}
	return 0;
}

/* Where a run's time went, in ns. */
struct bench_times {
	uint64_t elapsed;               /* the whole run */
	uint64_t in_store;              /* inside store_run: apply, commit, fsync */
	uint64_t in_apply;              /* inside ledger_create_transfers */
};

/*
 * Runs `count` transfers in batches of `size`; latency[k] and done_at[k]
 * get each batch's store_run time and its end since the start. OUT: *times.
 * Returns 0 or a status (said why).
 */
static int bench_run(struct bench *b, uint64_t count, uint64_t size, struct bench_times *times)
{
	struct bench_job job = { .l = b->l, .transfers = b->transfers, .results = b->results };
	uint64_t start = ledger_tools_now_ns();
	size_t k = 0;
	int rc = 0;

	memset(b->transfers, 0, (size_t)size * sizeof(*b->transfers));
	memset(times, 0, sizeof(*times));
	for (uint64_t done = 0; done < count && rc == 0; done += job.n, k++) {
		uint64_t t0;
		job.n = (size_t)(count - done < size ? count - done : size);
		rc = bench_fill(b, job.n);
		if (rc != 0)
			break;
		t0 = ledger_tools_now_ns();
		rc = store_run(b->store, bench_apply_transfers, &job);
		b->done_at[k] = ledger_tools_now_ns() - start;
		b->latency[k] = b->done_at[k] - (t0 - start);
		times->in_store += b->latency[k];
		if (rc == 0)
			bench_tally(b, b->results, job.n);
	}
	times->elapsed = ledger_tools_now_ns() - start;
	times->in_apply = job.apply_ns;
	if (rc != 0)
		fprintf(stderr, "bangsoleh ledger bench: a batch failed: %s\n", store_strerror(rc));
	return rc;
}

/* Rates over the first and the last million transfers, from batch end times. */
static void bench_million(const struct bench *b, size_t batches, uint64_t elapsed)
{
	uint64_t count = b->o.transfers;
	uint64_t first = 0, last = 0;
	size_t k;

	if (count < BENCH_MILLION) {
		printf("  first/last million: fewer than a million transfers\n");
		return;
	}
	/* The first batch end at or past a million, and the last one at or before count - a million. */
	for (k = 0; k < batches && first == 0; k++)
		if ((uint64_t)(k + 1) * b->o.batch >= BENCH_MILLION)
			first = k + 1;
	for (k = batches; k > 0 && last == 0; k--)
		if ((uint64_t)k * b->o.batch <= count - BENCH_MILLION)
			last = k;
	printf("  first million: %.0f transfers/s; last million: %.0f transfers/s\n",
	       ledger_tools_rate(first * b->o.batch, b->done_at[first - 1]),
	       last == 0 ? ledger_tools_rate(count, elapsed)
			 : ledger_tools_rate(count - last * b->o.batch, elapsed - b->done_at[last - 1]));
}

static void bench_latency(const char *what, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_u64);
	printf("  %s latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", what, bench_pct_ms(v, n, 50),
	       bench_pct_ms(v, n, 99), bench_pct_ms(v, n, 100));
}

/* Inclusion proofs of random entries in the whole tree, each in a read transaction of its own. */
static int bench_proofs(struct bench *b)
{
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN], leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	uint64_t size = 0;
	size_t n;
	MDB_txn *txn;
	int rc = 0;
	for (size_t k = 0; k < BENCH_PROOFS && rc == 0; k++) {
		uint64_t start = ledger_tools_now_ns();
		rc = store_read_begin(b->store, &txn);
		if (rc != 0)
			break;
		rc = ledger_tree_size(b->l, txn, &size);
		if (rc == 0 && size > 0) {
			uint64_t index = bench_random(b) % size;
			rc = ledger_inclusion_proof(b->l, txn, index, size, proof, &n);
			if (rc == 0)
				rc = ledger_tree_leaf(b->l, txn, index, leaf);
			if (rc == 0)
				rc = ledger_tree_root(b->l, txn, size, root);
		}
		store_read_end(b->store, txn);
		b->latency[k] = ledger_tools_now_ns() - start;
	}
	if (rc != 0) {
		fprintf(stderr, "bangsoleh ledger bench: a proof failed: %d\n", rc);
		return -1;
	}
	printf("inclusion proofs: %d random entries of a tree of %" PRIu64 "\n", BENCH_PROOFS, size);
	bench_latency("proof", b->latency, BENCH_PROOFS);
	return 0;
}

static int bench_report_not_ok(const struct bench *b)
{
	uint64_t total = 0;
	for (uint32_t r = 0; r < LEDGER_R_COUNT; r++) {
		if (b->not_ok[r] == 0)
			continue;
		printf("  not ok: %" PRIu64 " %s\n", b->not_ok[r], ledger_result_name(r));
		total += b->not_ok[r];
	}
	printf("results not ok: %" PRIu64 "\n", total);
	return total == 0 ? 0 : -1;
}

static int bench_verify(const struct bench *b)
{
	struct ledger_verify_result r;
	int rc = ledger_verify_dir(b->dir, BENCH_GIB, NULL, NULL, &r);
	if (rc != 0) {
		fprintf(stderr, "bangsoleh ledger bench: verify could not run: %s\n", store_strerror(rc));
		return -1;
	}
	printf("verify: %" PRIu64 " entries, %" PRIu64 " accounts in %.3f s: %.0f entries/s, %s%s\n", r.entries,
	       r.accounts, (double)r.elapsed_ns / 1e9, ledger_tools_rate(r.entries, r.elapsed_ns),
	       r.ok ? "ok" : "FAILED: ", r.message);
	return r.ok ? 0 : -1;
}

/* Prints the data file's size, the cost in disk per transfer. */
static void bench_size(const struct bench *b)
{
	char path[PATH_MAX + 16];
	struct stat st;
	snprintf(path, sizeof(path), "%s/data.mdb", b->dir);
	if (stat(path, &st) == 0)
		printf("store: %.1f MiB on disk (%.0f bytes per entry)\n", (double)st.st_size / (1 << 20),
		       (double)st.st_size / (double)(b->o.transfers + BENCH_SINGLES));
}

int ledger_bench_main(int argc, char **argv)
{
	struct bench b;
	struct bench_times times;
	size_t batches;
	int status = BENCH_EXIT_FAILED;

	memset(&b, 0, sizeof(b));
	if (bench_parse(argc, argv, &b.o) != 0)
		return BENCH_EXIT_USAGE;
	log_set_level(LOG_WARN);
	b.rng = b.o.seed | 1;
	bench_machine();
	printf("accounts %" PRIu64 ", transfers %" PRIu64 ", batch %" PRIu64 ", seed %" PRIu64 "\n", b.o.accounts,
	       b.o.transfers, b.o.batch, b.o.seed);
	if (bench_allocate(&b) != 0 || bench_open(&b) != 0 || bench_accounts(&b) != 0)
		goto free_bench;
	printf("data folder: %s%s\n", b.dir, b.temporary ? " (temporary)" : "");
	if (bench_run(&b, b.o.transfers, b.o.batch, &times) != 0)
		goto free_bench;
	batches = (size_t)((b.o.transfers + b.o.batch - 1) / b.o.batch);
	printf("transfers: %" PRIu64 " in %.3f s: %.0f durable transfers/s\n", b.o.transfers,
	       (double)times.elapsed / 1e9, ledger_tools_rate(b.o.transfers, times.elapsed));
	printf("  time in store_run %.3f s, of which in ledger_create_transfers %.3f s (the rest: commit and "
	       "fsync); outside: making the transfers\n",
	       (double)times.in_store / 1e9, (double)times.in_apply / 1e9);
	bench_million(&b, batches, times.elapsed);
	bench_latency("batch", b.latency, batches);
	if (bench_run(&b, BENCH_SINGLES, 1, &times) != 0)
		goto free_bench;
	printf("single transfers: %d one-transfer batches in %.3f s\n", BENCH_SINGLES,
	       (double)times.elapsed / 1e9);
	bench_latency("commit", b.latency, BENCH_SINGLES);
	if (!b.o.no_tree && bench_proofs(&b) != 0)
		goto free_bench;
	bench_close(&b);
	bench_size(&b);
	status = bench_report_not_ok(&b) == 0 ? 0 : BENCH_EXIT_FAILED;
	/* Without the tree, verify would report every missing node. */
	if (b.o.verify && !b.o.no_tree && bench_verify(&b) != 0)
		status = BENCH_EXIT_FAILED;
free_bench:
	bench_free(&b);
	return status;
}
