/*
 * Integration tests of `bangsoleh ledger verify`: a small ledger built
 * through the C API (plain, pending, posted, voided, linked and failed
 * transfers) verifies clean; each kind of damage, made with raw LMDB writes,
 * is caught and the first bad sequence or the bad account is named, both by
 * the binary and by ledger_verify_dir in-process; and verify runs clean,
 * again and again, while a real server writes to the same store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>

#include "internal.h"
#include "log.h"
#include "store.h"
#include "testsrv.h"
#include "tools.h"

#define OUTPUT_MAX 8192
#define MIB ((size_t)1 << 20)
#define MAP_SIZE (16 * MIB)
#define ACCOUNTS 3
#define ENTRIES 9                 /* what fixture_build commits */
#define BATCHES 4
#define EVENTS_MAX 8
#define TOKEN_MAX 128
#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define VERIFY_RUNS 5
#define WRITER_EVENTS 20          /* transfers per request of the writer process */

struct fixture {
	char dir[TESTSRV_PATH_MAX];
	struct ledger_id accounts[ACCOUNTS];
	struct ledger_id by_seq[ENTRIES + 1];   /* transfer ids by sequence */
};

/* One store job: a batch of accounts or transfers. */
struct job {
	struct ledger *l;
	struct ledger_account *accounts;
	struct ledger_transfer *transfers;
	size_t n;
	uint32_t results[EVENTS_MAX];
};

static const char *const account_names[ACCOUNTS] = { "test:a", "test:b", "test:c" };

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

/* A transfer of amount from account index d to c with id v and flags. */
static struct ledger_transfer xfer(const struct fixture *f, uint64_t v, int d, int c, int64_t amount,
				   uint16_t flags)
{
	struct ledger_transfer t;
	memset(&t, 0, sizeof(t));
	t.id = ledger_id_from_u64(v);
	t.debit_account_id = f->accounts[d];
	t.credit_account_id = f->accounts[c];
	t.amount = amount;
	t.ledger = LEDGER_IDR;
	t.code = LEDGER_CODE_PAYMENT;
	t.flags = flags;
	return t;
}

/* A post or void of pending transfer p; accounts, ledger and code inherited. */
static struct ledger_transfer resolve(uint64_t v, uint64_t p, int64_t amount, uint16_t flags)
{
	struct ledger_transfer t;
	memset(&t, 0, sizeof(t));
	t.id = ledger_id_from_u64(v);
	t.pending_id = ledger_id_from_u64(p);
	t.amount = amount;
	t.flags = flags;
	return t;
}

/* Runs one batch of transfers; results[i] must be want[i]; records the ids of those committed. */
static void run_transfers(struct fixture *f, struct store *s, struct ledger *l, struct ledger_transfer *t,
			  size_t n, const uint32_t *want)
{
	struct job j = { .l = l, .transfers = t, .n = n };
	assert_int_equal(store_run(s, apply_job, &j), 0);
	for (size_t i = 0; i < n; i++) {
		if (j.results[i] != want[i])
			fail_msg("event %zu: %s, want %s", i, ledger_result_name(j.results[i]),
				 ledger_result_name(want[i]));
		if (want[i] == LEDGER_R_OK) {
			assert_true(t[i].seq >= 1 && t[i].seq <= ENTRIES);
			f->by_seq[t[i].seq] = t[i].id;
		}
	}
}

/*
 * Builds the ledger: three accounts, then four batches with entries
 * (9 entries: plain, pending with and without a deadline, a partial post, a
 * void, a linked pair) and one batch whose events all fail.
 */
static void fixture_build(struct fixture *f)
{
	struct store_config sc = { .path = f->dir, .map_size = MAP_SIZE, .map_max = 64 * MAP_SIZE };
	struct ledger_account a[ACCOUNTS];
	struct job j = { .accounts = a, .n = ACCOUNTS };
	struct store *s;
	struct ledger *l;
	const uint32_t ok[EVENTS_MAX] = { 0 };
	const uint32_t failed[] = { LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND,
				    LEDGER_R_EXISTS };

	assert_int_equal(store_open(&sc, &s), 0);
	assert_int_equal(ledger_open(s, &l), 0);
	j.l = l;
	memset(a, 0, sizeof(a));
	for (int i = 0; i < ACCOUNTS; i++) {
		f->accounts[i] = ledger_id_from_u64(0x100 + (uint64_t)i);
		a[i].id = f->accounts[i];
		snprintf(a[i].name, sizeof(a[i].name), "%s", account_names[i]);
		a[i].ledger = LEDGER_IDR;
		a[i].code = 1;
	}
	assert_int_equal(store_run(s, apply_job, &j), 0);
	for (int i = 0; i < ACCOUNTS; i++)
		assert_int_equal(j.results[i], LEDGER_R_OK);
	{
		struct ledger_transfer b1[] = { xfer(f, 1, 0, 1, 1000, 0), xfer(f, 2, 1, 2, 200, 0) };
		struct ledger_transfer b2[] = { xfer(f, 3, 0, 2, 300, LEDGER_PENDING),
						xfer(f, 4, 1, 0, 50, LEDGER_PENDING),
						xfer(f, 5, 0, 1, 70, LEDGER_PENDING) };
		struct ledger_transfer b3[] = { resolve(6, 3, 120, LEDGER_POST_PENDING),
						resolve(7, 4, 0, LEDGER_VOID_PENDING) };
		struct ledger_transfer b4[] = { xfer(f, 8, 2, 0, 10, LEDGER_LINKED), xfer(f, 9, 0, 1, 5, 0) };
		struct ledger_transfer b5[] = { xfer(f, 10, 2, 0, 10, LEDGER_LINKED), xfer(f, 11, 0, 1, 5, 0),
						xfer(f, 1, 0, 1, 1000, 0) };
		b2[2].timeout = 3600;
		b5[1].credit_account_id = ledger_id_from_u64(0xdead);
		run_transfers(f, s, l, b1, 2, ok);
		run_transfers(f, s, l, b2, 3, ok);
		run_transfers(f, s, l, b3, 2, ok);
		run_transfers(f, s, l, b4, 2, ok);
		run_transfers(f, s, l, b5, 3, failed);
	}
	ledger_close(l);
	store_close(s);
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f || testsrv_tmpdir(f->dir, sizeof(f->dir)) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	fixture_build(f);
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	testsrv_rmtree(f->dir);
	free(f);
	return 0;
}

/* --- running the verifier --- */

/* Runs `bangsoleh ledger verify --data dir`. OUT: out. Returns the exit status. */
static int verify_bin(const char *dir, char *out, size_t cap)
{
	const char *args[] = { "ledger", "verify", "--data", dir, NULL };
	int code = -1;
	assert_int_equal(testsrv_exec(args, NULL, &code, out, cap), 0);
	return code;
}

/* The binary and the in-process verifier both find the damage at sequence seq. */
static void expect_bad_seq(const struct fixture *f, uint64_t seq, const char *what)
{
	struct ledger_verify_result r;
	char out[OUTPUT_MAX];
	char want[128];
	int code = verify_bin(f->dir, out, sizeof(out));
	snprintf(want, sizeof(want), "FAILED: sequence %" PRIu64 ": %s", seq, what);
	if (code != 1 || !strstr(out, want))
		fail_msg("want exit 1 and \"%s\", got exit %d:\n%s", want, code, out);
	assert_int_equal(ledger_verify_dir(f->dir, MAP_SIZE, NULL, NULL, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_seq, seq);
}

static void expect_clean(const struct fixture *f)
{
	struct ledger_verify_result r;
	assert_int_equal(ledger_verify_dir(f->dir, MAP_SIZE, NULL, NULL, &r), 0);
	if (!r.ok)
		fail_msg("verify: %s", r.message);
	assert_int_equal(r.entries, ENTRIES);
}

/* --- damage, through LMDB directly --- */

struct raw {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
};

/* Opens the store's environment and one DBI for writing (no fsync: tests only). */
static void raw_open(const struct fixture *f, const char *dbi, struct raw *r)
{
	assert_int_equal(mdb_env_create(&r->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(r->env, 64), 0);
	assert_int_equal(mdb_env_open(r->env, f->dir, MDB_NOSYNC, 0600), 0);
	assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
	assert_int_equal(mdb_dbi_open(r->txn, dbi, 0, &r->dbi), 0);
}

static void raw_commit(struct raw *r)
{
	assert_int_equal(mdb_txn_commit(r->txn), 0);
	mdb_env_close(r->env);
}

static MDB_val seq_key(uint8_t buf[8], uint64_t seq)
{
	MDB_val k = { 8, buf };
	ledger_put_u64(buf, seq);
	return k;
}

/* XORs the byte at offset of stored entry seq (canonical bytes, then hash) with mask. */
static void flip_entry_byte(const struct fixture *f, uint64_t seq, size_t offset, uint8_t mask)
{
	uint8_t key[8], stored[LEDGER_STORED_LEN];
	struct raw r;
	MDB_val k = seq_key(key, seq), v;
	raw_open(f, "ledger_log", &r);
	assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, LEDGER_STORED_LEN);
	memcpy(stored, v.mv_data, sizeof(stored));
	stored[offset] ^= mask;
	v.mv_data = stored;
	assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
	raw_commit(&r);
}

/* --- tests --- */

/* The intact ledger verifies: exit 0, the summary names the counts. */
static void test_clean(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_result r;
	char out[OUTPUT_MAX];
	int code = verify_bin(f->dir, out, sizeof(out));
	if (code != 0 || !strstr(out, "9 entries (head 9), 3 accounts, 4 batches, 1 ledgers") || !strstr(out, "ok\n"))
		fail_msg("exit %d:\n%s", code, out);
	assert_int_equal(ledger_verify_dir(f->dir, MAP_SIZE, NULL, NULL, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.entries, ENTRIES);
	assert_int_equal(r.accounts, ACCOUNTS);
	assert_int_equal(r.batches, BATCHES);
	assert_int_equal(r.head_seq, ENTRIES);
	assert_int_equal(r.first_bad_seq, 0);
}

/* Settings come from the core configuration: BANGSOLEH_DATA names the folder. */
static void test_data_from_environment(void **state)
{
	struct fixture *f = *state;
	const char *args[] = { "ledger", "verify", NULL };
	char env_data[TESTSRV_PATH_MAX + 32];
	const char *env[] = { env_data, NULL };
	char out[OUTPUT_MAX];
	int code = -1;
	snprintf(env_data, sizeof(env_data), "BANGSOLEH_DATA=%s", f->dir);
	assert_int_equal(testsrv_exec(args, env, &code, out, sizeof(out)), 0);
	if (code != 0 || !strstr(out, "9 entries"))
		fail_msg("exit %d:\n%s", code, out);
}

/* One flipped bit in entry 5's canonical bytes, at the binary. */
static void test_flipped_entry_byte(void **state)
{
	struct fixture *f = *state;
	/* Inside the amount (after header, version, seq, timestamp and three ids). */
	flip_entry_byte(f, 5, 4 + 9 + 9 + 3 * 18 + 5, 0x01);
	expect_bad_seq(f, 5, "chain hash mismatch");
}

/* Every single byte of an entry's canonical form is covered: each flip is caught at that entry. */
static void test_every_canonical_byte(void **state)
{
	struct fixture *f = *state;
	for (size_t offset = 0; offset < LEDGER_CANONICAL_LEN; offset++) {
		struct ledger_verify_result r;
		flip_entry_byte(f, 6, offset, 0x01);
		assert_int_equal(ledger_verify_dir(f->dir, MAP_SIZE, NULL, NULL, &r), 0);
		if (r.ok || r.first_bad_seq != 6)
			fail_msg("byte %zu flipped: ok %d, first bad %" PRIu64 ": %s", offset, r.ok, r.first_bad_seq,
				 r.message);
		flip_entry_byte(f, 6, offset, 0x01);
	}
	expect_clean(f);
}

/* A flipped byte of a stored chain hash. */
static void test_flipped_hash_byte(void **state)
{
	struct fixture *f = *state;
	flip_entry_byte(f, 3, LEDGER_CANONICAL_LEN + 7, 0x80);
	expect_bad_seq(f, 3, "chain hash mismatch");
}

/* A stored balance one rupiah off: the account is named by id and name. */
static void test_changed_balance(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_result r;
	struct ledger_account a;
	uint8_t buf[LEDGER_BALANCES_RECORD_LEN];
	char out[OUTPUT_MAX], want[128], hex[33];
	struct raw raw;
	MDB_val k = { 16, f->accounts[1].b }, v;
	int code;

	raw_open(f, "ledger_balances", &raw);
	assert_int_equal(mdb_get(raw.txn, raw.dbi, &k, &v), 0);
	assert_int_equal(ledger_balances_decode(v.mv_data, v.mv_size, &a), 0);
	a.credits_posted += 1;
	ledger_balances_encode(&a, buf);
	v.mv_size = sizeof(buf);
	v.mv_data = buf;
	assert_int_equal(mdb_put(raw.txn, raw.dbi, &k, &v, 0), 0);
	raw_commit(&raw);

	ledger_id_hex(&f->accounts[1], hex, sizeof(hex));
	snprintf(want, sizeof(want), "FAILED: account %s (test:b): credits_posted", hex);
	code = verify_bin(f->dir, out, sizeof(out));
	if (code != 1 || !strstr(out, want))
		fail_msg("want exit 1 and \"%s\", got exit %d:\n%s", want, code, out);
	assert_int_equal(ledger_verify_dir(f->dir, MAP_SIZE, NULL, NULL, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_seq, 0);
	assert_memory_equal(r.bad_account.b, f->accounts[1].b, 16);
}

/*
 * Deletes account i's record from `dbi`; the verifier must fail naming the
 * account: "FAILED: account <hex> <rest>".
 */
static void expect_deleted_record_named(struct fixture *f, const char *dbi, size_t i, const char *rest)
{
	struct ledger_verify_result r;
	char out[OUTPUT_MAX], want[128], hex[33];
	struct raw raw;
	MDB_val k = { 16, f->accounts[i].b };
	int code;

	raw_open(f, dbi, &raw);
	assert_int_equal(mdb_del(raw.txn, raw.dbi, &k, NULL), 0);
	raw_commit(&raw);
	ledger_id_hex(&f->accounts[i], hex, sizeof(hex));
	snprintf(want, sizeof(want), "FAILED: account %s %s", hex, rest);
	code = verify_bin(f->dir, out, sizeof(out));
	if (code != 1 || !strstr(out, want))
		fail_msg("want exit 1 and \"%s\", got exit %d:\n%s", want, code, out);
	assert_int_equal(ledger_verify_dir(f->dir, MAP_SIZE, NULL, NULL, &r), 0);
	assert_false(r.ok);
	assert_memory_equal(r.bad_account.b, f->accounts[i].b, 16);
}

/* An account the entries move has no stored record. */
static void test_deleted_account(void **state)
{
	expect_deleted_record_named(*state, "ledger_accounts", 2, "(no stored record): entries move it");
}

/* An account whose balances record is gone. */
static void test_deleted_balances(void **state)
{
	expect_deleted_record_named(*state, "ledger_balances", 0, "(test:a): has no balances record");
}

/* A transfer id missing from the id index. */
static void test_deleted_id(void **state)
{
	struct fixture *f = *state;
	struct raw r;
	MDB_val k = { 16, f->by_seq[4].b };
	raw_open(f, "ledger_ids", &r);
	assert_int_equal(mdb_del(r.txn, r.dbi, &k, NULL), 0);
	raw_commit(&r);
	expect_bad_seq(f, 4, "transfer id");
}

/*
 * ledger_failed: the fixture's refused chain left one id there and the
 * ledger verifies; an entry's id recorded as failed, or a record that is
 * not an id with a transient result, does not.
 */
static void test_failed_ids(void **state)
{
	struct fixture *f = *state;
	uint8_t exceeds = LEDGER_R_EXCEEDS_CREDITS, zero_amount = LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO;
	struct ledger_id other = ledger_id_from_u64(0xfeed);
	MDB_val k = { 16, f->by_seq[4].b }, v = { 1, &exceeds };
	char out[OUTPUT_MAX];
	struct raw r;
	MDB_stat st;
	int code;
	raw_open(f, "ledger_failed", &r);
	assert_int_equal(mdb_stat(r.txn, r.dbi, &st), 0);
	assert_int_equal(st.ms_entries, 1);
	assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
	raw_commit(&r);
	expect_bad_seq(f, 4, "ledger_failed holds its id");

	raw_open(f, "ledger_failed", &r);
	assert_int_equal(mdb_del(r.txn, r.dbi, &k, NULL), 0);
	k.mv_data = other.b;
	v.mv_data = &zero_amount;
	assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
	raw_commit(&r);
	code = verify_bin(f->dir, out, sizeof(out));
	if (code != 1 || !strstr(out, "ledger_failed holds a record of 16 and 1 bytes that is not an id and a transient result"))
		fail_msg("exit %d:\n%s", code, out);
}

/* The last entry gone while the meta and the batches still count it. */
static void test_dropped_last_entry(void **state)
{
	struct fixture *f = *state;
	uint8_t key[8];
	struct raw r;
	MDB_val k = seq_key(key, ENTRIES);
	raw_open(f, "ledger_log", &r);
	assert_int_equal(mdb_del(r.txn, r.dbi, &k, NULL), 0);
	raw_commit(&r);
	expect_bad_seq(f, ENTRIES, "missing from ledger_log");
}

/* A folder without a store, and a store without a ledger: exit 1, "no ledger"; a bad flag: exit 2. */
static void test_no_ledger(void **state)
{
	struct fixture *f = *state;
	char empty[TESTSRV_PATH_MAX];
	struct store_config sc = { .map_size = MAP_SIZE, .map_max = MAP_SIZE };
	const char *bad_flag[] = { "ledger", "verify", "--nonsense", "1", NULL };
	struct store *s;
	char out[OUTPUT_MAX];
	int code = -1;

	(void)f;
	assert_int_equal(testsrv_tmpdir(empty, sizeof(empty)), 0);
	code = verify_bin(empty, out, sizeof(out));
	if (code != 1 || !strstr(out, "no ledger in"))
		fail_msg("empty folder: exit %d:\n%s", code, out);
	sc.path = empty;
	assert_int_equal(store_open(&sc, &s), 0);
	store_close(s);
	code = verify_bin(empty, out, sizeof(out));
	if (code != 1 || !strstr(out, "no ledger in"))
		fail_msg("store without a ledger: exit %d:\n%s", code, out);
	testsrv_rmtree(empty);
	assert_int_equal(testsrv_exec(bad_flag, NULL, &code, out, sizeof(out)), 0);
	assert_int_equal(code, 2);
}

/* --- verify while a server writes --- */

struct world {
	struct testsrv *srv;
	char token[TOKEN_MAX];
	char accounts[2][33];
};

/* Sends a request as the admin; OUT: *resp. Returns its status, or -1 when none came. */
static int world_request(const struct world *w, const char *method, const char *path, const char *body,
			 struct testsrv_response *resp)
{
	char auth[TOKEN_MAX + 32];
	const char *headers[] = { auth, "Content-Type: application/json", NULL };
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->token);
	if (testsrv_request(w->srv, method, path, headers, body, resp) != 0)
		return -1;
	return resp->status;
}

/* `bangsoleh user add --role admin` on the server's folder (password on stdin), then sign in. */
static void world_admin(struct world *w)
{
	const char *args[] = { "user", "add", "--role", "admin", "--username", "admin", "--data",
			       w->srv->data_dir, NULL };
	const char *env[] = { COST_ENV, NULL };
	char out[OUTPUT_MAX];
	int pipefd[2], saved, code = -1;
	struct testsrv_response resp;
	json_t *doc;

	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], PASSWORD "\n", sizeof(PASSWORD)), (ssize_t)sizeof(PASSWORD));
	close(pipefd[1]);
	saved = dup(STDIN_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(pipefd[0], STDIN_FILENO), STDIN_FILENO);
	close(pipefd[0]);
	assert_int_equal(testsrv_exec(args, env, &code, out, sizeof(out)), 0);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	if (code != 0)
		fail_msg("user add: exit %d: %s", code, out);
	assert_int_equal(testsrv_request(w->srv, "POST", "/api/v1/auth/login",
					 (const char *[]){ "Content-Type: application/json", NULL },
					 "{\"username\":\"admin\",\"password\":\"" PASSWORD "\"}", &resp), 0);
	assert_int_equal(resp.status, 200);
	doc = json_loadb(resp.body, resp.body_len, 0, NULL);
	assert_non_null(doc);
	assert_non_null(json_string_value(json_object_get(doc, "token")));
	snprintf(w->token, sizeof(w->token), "%s", json_string_value(json_object_get(doc, "token")));
	json_decref(doc);
	testsrv_response_free(&resp);
}

/* Writer process: posts batches of new transfers until killed; exits 3 on a failed request. */
static void writer_run(const struct world *w)
{
	static char body[WRITER_EVENTS * 200 + 64];
	for (;;) {
		struct testsrv_response resp;
		size_t n = (size_t)snprintf(body, sizeof(body), "{\"transfers\":[");
		for (int i = 0; i < WRITER_EVENTS; i++) {
			struct ledger_id id;
			char hex[33];
			if (ledger_id_new(&id) != 0)
				_exit(3);
			ledger_id_hex(&id, hex, sizeof(hex));
			n += (size_t)snprintf(body + n, sizeof(body) - n,
					      "%s{\"id\":\"%s\",\"debit_account_id\":\"%s\",\"credit_account_id\":"
					      "\"%s\",\"amount\":%d,\"code\":1}",
					      i ? "," : "", hex, w->accounts[i % 2], w->accounts[1 - i % 2], 1 + i);
		}
		snprintf(body + n, sizeof(body) - n, "]}");
		if (world_request(w, "POST", "/api/v1/ledger/transfers", body, &resp) != 200)
			_exit(3);
		testsrv_response_free(&resp);
	}
}

/* N of "ledger in DIR: N entries" in verify's summary; 0 when absent. */
static uint64_t summary_entries(const char *out)
{
	const char *p = strstr(out, "ledger in ");
	p = p ? strstr(p, ": ") : NULL;
	return p ? strtoull(p + 2, NULL, 10) : 0;
}

static void test_verify_while_server_writes(void **state)
{
	const char *env[] = { COST_ENV, NULL };
	struct world w;
	struct testsrv_response resp;
	char body[512];
	uint64_t first = 0, last = 0;
	pid_t writer;
	int status;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.srv = testsrv_new(NULL, env);
	assert_non_null(w.srv);
	world_admin(&w);
	for (int i = 0; i < 2; i++) {
		struct ledger_id id = ledger_id_from_u64(0x500 + (uint64_t)i);
		ledger_id_hex(&id, w.accounts[i], sizeof(w.accounts[i]));
	}
	snprintf(body, sizeof(body),
		 "{\"accounts\":[{\"id\":\"%s\",\"name\":\"busy:a\",\"code\":1},"
		 "{\"id\":\"%s\",\"name\":\"busy:b\",\"code\":1}]}",
		 w.accounts[0], w.accounts[1]);
	assert_int_equal(world_request(&w, "POST", "/api/v1/ledger/accounts", body, &resp), 200);
	testsrv_response_free(&resp);

	writer = fork();
	assert_true(writer >= 0);
	if (writer == 0)
		writer_run(&w);
	for (int run = 0; run < VERIFY_RUNS; run++) {
		char out[OUTPUT_MAX];
		int code;
		usleep(100 * 1000);
		code = verify_bin(w.srv->data_dir, out, sizeof(out));
		if (code != 0)
			fail_msg("run %d: exit %d:\n%s", run, code, out);
		last = summary_entries(out);
		if (run == 0)
			first = last;
	}
	/* The writer was alive throughout: it neither failed nor stopped. */
	assert_int_equal(waitpid(writer, &status, WNOHANG), 0);
	kill(writer, SIGKILL);
	assert_int_equal(waitpid(writer, &status, 0), writer);
	/* Each run saw a later snapshot: the store was being written while verified. */
	assert_true(last > first);
	assert_true(testsrv_stopped_cleanly(w.srv));
	testsrv_free(w.srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_data_from_environment, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flipped_entry_byte, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_every_canonical_byte, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flipped_hash_byte, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_changed_balance, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_account, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_balances, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_id, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_ids, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_dropped_last_entry, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_no_ledger, fixture_setup, fixture_teardown),
		cmocka_unit_test(test_verify_while_server_writes),
	};
	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
