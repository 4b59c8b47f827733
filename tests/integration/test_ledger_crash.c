/*
 * Crash test of the ledger: a child process streams transfers (plain,
 * pending, posts and voids, in batches of 1..500) through store_run and,
 * after each durable commit, appends the committed ids to a side file. The
 * parent kills it with SIGKILL at a random moment after its first commit
 * (the child says so through a pipe, so a slow start on a busy machine
 * cannot move the kill into the start-up), again and again on the same
 * data folder. After every kill the ledger must verify clean and hold
 * every id the child saw committed, each exactly once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "internal.h"
#include "log.h"
#include "store.h"
#include "testsrv.h"

#define ROUNDS 24
#define ACCOUNTS 8
#define EVENTS_MAX 500
#define OPEN_PENDING_MAX 1024     /* pending transfers a child keeps to resolve later */
#define SLEEP_MAX_MS 300         /* after the child's first commit */
#define LINE_LEN 33               /* 32 hex digits and a newline */
#define OUTPUT_MAX 8192
#define MIB ((size_t)1 << 20)

/* Child exit codes: how it failed before the kill came. */
enum child_exit {
	CHILD_OPEN = 3,
	CHILD_ACCOUNTS = 4,
	CHILD_SIDE_FILE = 5,
	CHILD_RUN = 6,
	CHILD_RESULT = 7,
};

struct paths {
	char dir[TESTSRV_PATH_MAX];
	char data[TESTSRV_PATH_MAX + 8];
	char side[TESTSRV_PATH_MAX + 8];
};

struct job {
	struct ledger *l;
	struct ledger_account *accounts;
	struct ledger_transfer *transfers;
	size_t n;
	uint32_t *results;
};

static int apply_job(MDB_txn *txn, void *arg)
{
	struct job *j = arg;
	/* A re-run after the map grew: what an undone run filled in is no input (timestamp_must_be_zero). */
	if (j->accounts) {
		ledger_accounts_clear(j->accounts, j->n);
		return ledger_create_accounts(j->l, txn, j->accounts, j->n, j->results);
	}
	ledger_transfers_clear(j->transfers, j->n);
	return ledger_create_transfers(j->l, txn, j->transfers, j->n, j->results);
}

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static struct ledger_id account_id(uint64_t i)
{
	return ledger_id_from_u64(0x100 + i);
}

/* --- the child --- */

/* Creates the accounts; on a restart they are `exists`. */
static void child_accounts(struct store *s, struct ledger *l)
{
	struct ledger_account a[ACCOUNTS];
	uint32_t results[ACCOUNTS];
	struct job j = { .l = l, .accounts = a, .n = ACCOUNTS, .results = results };
	memset(a, 0, sizeof(a));
	for (int i = 0; i < ACCOUNTS; i++) {
		a[i].id = account_id((uint64_t)i);
		snprintf(a[i].name, sizeof(a[i].name), "crash:%d", i);
		a[i].ledger = LEDGER_IDR;
		a[i].code = 1;
	}
	if (store_run(s, apply_job, &j) != 0)
		_exit(CHILD_ACCOUNTS);
	for (int i = 0; i < ACCOUNTS; i++)
		if (results[i] != LEDGER_R_OK && results[i] != LEDGER_R_EXISTS)
			_exit(CHILD_ACCOUNTS);
}

/*
 * Fills t[0..n): mostly plain transfers, some pending ones, and posts or
 * voids of pending transfers committed earlier in this run (taken off
 * `open`).
 */
static void child_fill(struct ledger_transfer *t, size_t n, uint64_t *rng, struct ledger_id *open, size_t *nopen)
{
	memset(t, 0, n * sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		uint64_t r = next_random(rng);
		uint64_t d = r % ACCOUNTS, c = (d + 1 + (r >> 8) % (ACCOUNTS - 1)) % ACCOUNTS;
		if (ledger_id_new(&t[i].id) != 0)
			_exit(CHILD_RUN);
		if ((r >> 16) % 8 == 0 && *nopen > 0) {
			t[i].pending_id = open[--*nopen];
			t[i].flags = (r >> 20) % 2 ? LEDGER_POST_PENDING : LEDGER_VOID_PENDING;
			/* "All of it" is a post's amount; a void names none. */
			t[i].amount = t[i].flags == LEDGER_POST_PENDING ? LEDGER_AMOUNT_MAX : 0;
			continue;
		}
		t[i].debit_account_id = account_id(d);
		t[i].credit_account_id = account_id(c);
		t[i].amount = 1 + (int64_t)((r >> 24) % 1000);
		t[i].ledger = LEDGER_IDR;
		t[i].code = LEDGER_CODE_PAYMENT;
		if ((r >> 16) % 8 == 1)
			t[i].flags = LEDGER_PENDING;
	}
}

/* Streams batches until killed; never returns. */
/* Streams until killed; writes one byte to `ready` after its first commit. */
static void child_run(const struct paths *p, uint64_t seed, int ready)
{
	static struct ledger_transfer t[EVENTS_MAX];
	static uint32_t results[EVENTS_MAX];
	static struct ledger_id open_pending[OPEN_PENDING_MAX];
	struct store_config sc = { .path = p->data, .map_size = 16 * MIB, .map_max = 1024 * MIB,
				   .group_commit = true };
	struct job j = { .transfers = t, .results = results };
	struct store *s;
	size_t nopen = 0;
	uint64_t rng = seed | 1;
	int fd;

	log_set_level(LOG_ERROR);
	if (store_open(&sc, &s) != 0 || ledger_open(s, &j.l) != 0)
		_exit(CHILD_OPEN);
	child_accounts(s, j.l);
	fd = open(p->side, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd < 0)
		_exit(CHILD_SIDE_FILE);
	for (;;) {
		int rc;
		j.n = 1 + (size_t)(next_random(&rng) % EVENTS_MAX);
		child_fill(t, j.n, &rng, open_pending, &nopen);
		rc = store_run(s, apply_job, &j);
		if (rc != 0) {
			fprintf(stderr, "child: store_run: %d %s\n", rc, store_strerror(rc));
			_exit(CHILD_RUN);
		}
		for (size_t i = 0; i < j.n; i++) {
			char line[LINE_LEN + 1];
			if (results[i] != LEDGER_R_OK) {
				fprintf(stderr, "child: event %zu of %zu: %s\n", i, j.n,
					ledger_result_name(results[i]));
				_exit(CHILD_RESULT);
			}
			ledger_id_hex(&t[i].id, line, sizeof(line));
			line[LINE_LEN - 1] = '\n';
			/* One write per line: a kill leaves whole lines only. */
			if (write(fd, line, LINE_LEN) != LINE_LEN)
				_exit(CHILD_SIDE_FILE);
			if ((t[i].flags & LEDGER_PENDING) && nopen < OPEN_PENDING_MAX)
				open_pending[nopen++] = t[i].id;
		}
		if (ready >= 0) {
			if (write(ready, "r", 1) != 1)
				_exit(CHILD_SIDE_FILE);
			close(ready);
			ready = -1;
		}
	}
}

/* --- the parent's checks --- */

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ledger_id));
}

/* Reads the side file's whole lines (a cut last line is dropped). OUT: *ids (caller frees), *n. */
static void read_side_file(const struct paths *p, struct ledger_id **ids, size_t *n)
{
	struct stat st;
	char *text;
	int fd = open(p->side, O_RDWR);
	*ids = NULL;
	*n = 0;
	if (fd < 0)
		return;
	assert_int_equal(fstat(fd, &st), 0);
	/*
	 * A kill can cut a write() to a file short: the id of a cut line was
	 * not recorded. Drop it, so the next child appends whole lines.
	 */
	if (st.st_size % LINE_LEN != 0) {
		st.st_size -= st.st_size % LINE_LEN;
		assert_int_equal(ftruncate(fd, st.st_size), 0);
	}
	text = malloc((size_t)st.st_size + 1);
	*ids = malloc(((size_t)st.st_size / LINE_LEN + 1) * sizeof(**ids));
	assert_non_null(text);
	assert_non_null(*ids);
	assert_int_equal(read(fd, text, (size_t)st.st_size), st.st_size);
	close(fd);
	for (size_t off = 0; off < (size_t)st.st_size; off += LINE_LEN) {
		assert_int_equal(text[off + LINE_LEN - 1], '\n');
		text[off + LINE_LEN - 1] = '\0';
		assert_int_equal(ledger_id_parse(text + off, &(*ids)[(*n)++]), 0);
	}
	free(text);
}

/*
 * Every id of the side file is in the ledger; no id appears twice in the
 * log. Returns the number of entries.
 */
static uint64_t check_ledger(const struct paths *p)
{
	struct store_config sc = { .path = p->data, .map_size = 16 * MIB, .map_max = 16 * MIB, .read_only = true };
	struct ledger_id *side, *logged;
	size_t nside, nlogged = 0;
	struct store *s;
	struct ledger *l;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_stat st;
	MDB_val k, v;
	int rc;

	read_side_file(p, &side, &nside);
	assert_int_equal(store_open(&sc, &s), 0);
	assert_int_equal(ledger_open(s, &l), 0);
	assert_int_equal(store_read_begin(s, &txn), 0);
	for (size_t i = 0; i < nside; i++) {
		struct ledger_entry e;
		char hex[33];
		if (ledger_transfer_get(l, txn, &side[i], &e) != 0) {
			ledger_id_hex(&side[i], hex, sizeof(hex));
			fail_msg("committed transfer %s is not in the ledger", hex);
		}
		assert_memory_equal(e.t.id.b, side[i].b, sizeof(side[i].b));
	}
	assert_int_equal(mdb_stat(txn, l->log, &st), 0);
	logged = malloc((st.ms_entries + 1) * sizeof(*logged));
	assert_non_null(logged);
	assert_int_equal(mdb_cursor_open(txn, l->log, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ledger_entry e;
		assert_int_equal(ledger_entry_decode(v.mv_data, v.mv_size, &e), 0);
		assert_true(nlogged < st.ms_entries);
		logged[nlogged++] = e.t.id;
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	store_read_end(s, txn);
	ledger_close(l);
	store_close(s);
	qsort(logged, nlogged, sizeof(*logged), id_cmp);
	for (size_t i = 1; i < nlogged; i++)
		if (id_cmp(&logged[i - 1], &logged[i]) == 0)
			fail_msg("transfer id at log position %zu appears twice", i);
	/* Each entry a distinct id, and at least every id the child saw committed. */
	assert_int_equal(nlogged, st.ms_entries);
	assert_true(nside <= nlogged);
	free(logged);
	free(side);
	return nlogged;
}

static void check_verify(const struct paths *p, int round)
{
	const char *args[] = { "ledger", "verify", "--data", p->data, NULL };
	char out[OUTPUT_MAX];
	int code = -1;
	assert_int_equal(testsrv_exec(args, NULL, &code, out, sizeof(out)), 0);
	if (code != 0)
		fail_msg("round %d: verify exit %d:\n%s", round, code, out);
}

static void test_kill_while_writing(void **state)
{
	struct paths p;
	uint64_t rng = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	uint64_t entries = 0;
	int killed_mid_stream = 0;

	(void)state;
	assert_int_equal(testsrv_tmpdir(p.dir, sizeof(p.dir)), 0);
	snprintf(p.data, sizeof(p.data), "%s/data", p.dir);
	snprintf(p.side, sizeof(p.side), "%s/ids", p.dir);
	printf("seed %" PRIu64 "\n", rng);
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t sleep_ms = next_random(&rng) % (SLEEP_MAX_MS + 1);
		uint64_t seed = next_random(&rng);
		uint64_t now;
		int status, ready[2];
		char byte;
		pid_t child;

		fflush(stdout);
		assert_int_equal(pipe(ready), 0);
		child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			close(ready[0]);
			child_run(&p, seed, ready[1]);
		}
		close(ready[1]);
		/* 0 bytes: the child ended before its first commit; waitpid below says how. */
		if (read(ready[0], &byte, 1) == 1)
			usleep((useconds_t)(sleep_ms * 1000));
		close(ready[0]);
		assert_int_equal(kill(child, SIGKILL), 0);
		assert_int_equal(waitpid(child, &status, 0), child);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("round %d: the child ended by itself (status %d) before the kill", round, status);
		check_verify(&p, round);
		now = check_ledger(&p);
		assert_true(now >= entries);
		killed_mid_stream += now > entries;
		entries = now;
	}
	printf("%d rounds, %" PRIu64 " entries, %d rounds added entries\n", ROUNDS, entries, killed_mid_stream);
	/* Every kill landed while transfers were flowing. */
	assert_int_equal(killed_mid_stream, ROUNDS);
	testsrv_rmtree(p.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_while_writing),
	};
	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
