/*
 * Unit tests of core/store: group commit, per-job rollback inside a batch,
 * map growth and its limit, back-pressure, draining on stop, store_run,
 * read transaction reuse, stale reader slots and the status mapping.
 * Each test works in its own folder made by mkdtemp under /tmp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <lmdb.h>

#include "metrics.h"
#include "store.h"
#include "testsrv.h"

#define MIB ((size_t)1 << 20)
#define KEY_MAX 32
/* A status no code path produces: "done has not run". */
#define NOT_DONE 12345
/* A module's own error code, passed through the store untouched. */
#define MODULE_ERROR (-1000)

struct fixture {
	char dir[64];
	char path[96];
	struct event_base *base;
	struct store *s;
	MDB_dbi dbi;
	unsigned done;
};

/* One put of `len` bytes of `fill` under `key`, then returns `result`. */
struct put_job {
	struct fixture *f;
	char key[KEY_MAX];
	size_t len;
	unsigned char fill;
	unsigned flags;
	int result;
	int status;
	int applies;
};

/* Holds the writer inside apply until released. */
struct blocker {
	struct fixture *f;
	sem_t entered;
	sem_t release;
	int status;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	/* A folder that does not exist yet: store_open creates it. */
	snprintf(f->path, sizeof(f->path), "%s/data", f->dir);
	f->base = event_base_new();
	if (!f->base)
		return -1;
	metrics_reset();
	metrics_init();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	event_base_free(f->base);
	testsrv_rmtree(f->dir);
	free(f);
	return 0;
}

static struct store_config config(const struct fixture *f, size_t map_size, size_t map_max)
{
	struct store_config cfg = {
		.path = f->path,
		.map_size = map_size,
		.map_max = map_max,
		.group_commit = true,
	};
	return cfg;
}

/* Opens f->s with cfg and its DBI "t". */
static void open_store(struct fixture *f, const struct store_config *cfg)
{
	assert_int_equal(store_open(cfg, &f->s), 0);
	assert_int_equal(store_dbi_open(f->s, "t", 0, &f->dbi), 0);
}

static int put_apply(MDB_txn *txn, void *arg)
{
	struct put_job *j = arg;
	MDB_val k = { strlen(j->key), j->key };
	MDB_val v = { j->len, NULL };
	int rc;

	j->applies++;
	rc = mdb_put(txn, j->f->dbi, &k, &v, j->flags | MDB_RESERVE);
	if (rc != 0)
		return rc;
	memset(v.mv_data, j->fill, j->len);
	return j->result;
}

static void put_done(int status, void *arg)
{
	struct put_job *j = arg;
	j->status = status;
	j->f->done++;
}

static void put_init(struct put_job *j, struct fixture *f, const char *prefix, unsigned i,
		     size_t len)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	snprintf(j->key, sizeof(j->key), "%s%08u", prefix, i);
	j->len = len;
	j->fill = (unsigned char)(i * 7 + 1);
	j->status = NOT_DONE;
}

static int blocker_apply(MDB_txn *txn, void *arg)
{
	struct blocker *b = arg;
	(void)txn;
	sem_post(&b->entered);
	sem_wait(&b->release);
	return 0;
}

static void blocker_done(int status, void *arg)
{
	struct blocker *b = arg;
	b->status = status;
	b->f->done++;
}

/* Submits a blocker and returns once the writer is inside its apply. */
static void hold_writer(struct fixture *f, struct blocker *b)
{
	b->f = f;
	b->status = NOT_DONE;
	assert_int_equal(sem_init(&b->entered, 0, 0), 0);
	assert_int_equal(sem_init(&b->release, 0, 0), 0);
	assert_int_equal(store_submit(f->s, blocker_apply, blocker_done, b), 0);
	assert_int_equal(sem_wait(&b->entered), 0);
}

static void blocker_destroy(struct blocker *b)
{
	sem_destroy(&b->entered);
	sem_destroy(&b->release);
}

/* Runs the loop until `n` done callbacks have run in total. */
static void wait_done(struct fixture *f, unsigned n)
{
	while (f->done < n)
		assert_true(event_base_loop(f->base, EVLOOP_ONCE) >= 0);
}

/*
 * Reads `key`: returns its status; on success checks every byte equals
 * `fill` and that it is `len` long.
 */
static int check_value(struct fixture *f, const char *key, size_t len, unsigned char fill)
{
	MDB_txn *txn;
	MDB_val k = { strlen(key), (void *)key };
	MDB_val v;
	size_t i;
	int rc;

	rc = store_read_begin(f->s, &txn);
	if (rc != 0)
		return rc;
	rc = store_status_from_mdb(mdb_get(txn, f->dbi, &k, &v));
	if (rc == 0) {
		assert_int_equal(v.mv_size, len);
		for (i = 0; i < len; i++)
			assert_int_equal(((const unsigned char *)v.mv_data)[i], fill);
	}
	store_read_end(f->s, txn);
	return rc;
}

static void test_group_commit(void **state)
{
	enum { JOBS = 2000 };
	struct fixture *f = *state;
	struct store_config cfg = config(f, 64 * MIB, 64 * MIB);
	struct put_job *jobs = calloc(JOBS, sizeof(*jobs));
	char label[METRICS_LABELS_MAX];
	uint64_t commits;
	unsigned i;

	assert_non_null(jobs);
	open_store(f, &cfg);
	assert_int_equal(store_start(f->s, f->base), 0);
	assert_true(store_writer_alive(f->s));
	for (i = 0; i < JOBS; i++) {
		put_init(&jobs[i], f, "k", i, 100);
		assert_int_equal(store_submit(f->s, put_apply, put_done, &jobs[i]), 0);
	}
	/* done runs on the loop, never inside store_submit. */
	assert_int_equal(f->done, 0);
	wait_done(f, JOBS);
	for (i = 0; i < JOBS; i++) {
		assert_int_equal(jobs[i].status, 0);
		assert_int_equal(check_value(f, jobs[i].key, 100, jobs[i].fill), 0);
	}
	commits = store_commit_count(f->s);
	assert_true(commits >= 1);
	assert_true(commits < JOBS / 10);
	assert_int_equal(metrics_value(METRIC_STORE_BATCHES, ""), (int64_t)commits);
	metrics_label(label, sizeof(label), "outcome", "ok", (const char *)NULL);
	assert_int_equal(metrics_value(METRIC_STORE_JOBS, label), JOBS);
	assert_int_equal(store_queue_depth(f->s), 0);
	free(jobs);
}

static void test_failing_job_rolls_back_alone(void **state)
{
	struct fixture *f = *state;
	struct store_config cfg = config(f, 4 * MIB, 4 * MIB);
	struct blocker b;
	struct put_job ok1, bad, again, ok2;
	uint64_t commits;

	open_store(f, &cfg);
	assert_int_equal(store_start(f->s, f->base), 0);
	hold_writer(f, &b);
	commits = store_commit_count(f->s);
	/* These queue up behind the blocker and form the next batch. */
	put_init(&ok1, f, "ok", 1, 50);
	put_init(&bad, f, "bad", 2, 50);
	bad.result = MODULE_ERROR;
	/* A batch-mate sees ok1's committed child: NOOVERWRITE fails. */
	put_init(&again, f, "ok", 1, 10);
	again.flags = MDB_NOOVERWRITE;
	put_init(&ok2, f, "ok", 3, 50);
	assert_int_equal(store_submit(f->s, put_apply, put_done, &ok1), 0);
	assert_int_equal(store_submit(f->s, put_apply, put_done, &bad), 0);
	assert_int_equal(store_submit(f->s, put_apply, put_done, &again), 0);
	assert_int_equal(store_submit(f->s, put_apply, put_done, &ok2), 0);
	assert_int_equal(store_queue_depth(f->s), 4);
	sem_post(&b.release);
	wait_done(f, 5);
	assert_int_equal(b.status, 0);
	/* One commit for the blocker, one for the four: they were one batch. */
	assert_int_equal(store_commit_count(f->s), commits + 2);
	assert_int_equal(ok1.status, 0);
	assert_int_equal(bad.status, MODULE_ERROR);
	assert_int_equal(again.status, MDB_KEYEXIST);
	assert_int_equal(ok2.status, 0);
	assert_int_equal(check_value(f, ok1.key, 50, ok1.fill), 0);
	assert_int_equal(check_value(f, bad.key, 50, bad.fill), STORE_ENOTFOUND);
	assert_int_equal(check_value(f, ok2.key, 50, ok2.fill), 0);
	blocker_destroy(&b);
}

static void test_map_grows(void **state)
{
	enum { JOBS = 1024, LEN = 8192 };
	struct fixture *f = *state;
	struct store_config cfg = config(f, MIB, 64 * MIB);
	struct put_job *jobs = calloc(JOBS, sizeof(*jobs));
	unsigned applies = 0;
	unsigned i;

	assert_non_null(jobs);
	open_store(f, &cfg);
	assert_int_equal(store_map_size(f->s), MIB);
	assert_int_equal(store_start(f->s, f->base), 0);
	for (i = 0; i < JOBS; i++) {
		put_init(&jobs[i], f, "big", i, LEN);
		assert_int_equal(store_submit(f->s, put_apply, put_done, &jobs[i]), 0);
	}
	wait_done(f, JOBS);
	for (i = 0; i < JOBS; i++) {
		assert_int_equal(jobs[i].status, 0);
		applies += (unsigned)jobs[i].applies;
	}
	/* 8 MiB of values: the map grew, and batches were re-run to get there. */
	assert_true(store_map_size(f->s) >= 8 * MIB);
	assert_true(store_map_size(f->s) <= 64 * MIB);
	assert_true(applies > JOBS);
	assert_int_equal(metrics_value(METRIC_STORE_MAP_SIZE, ""), (int64_t)store_map_size(f->s));
	for (i = 0; i < JOBS; i++)
		assert_int_equal(check_value(f, jobs[i].key, LEN, jobs[i].fill), 0);
	free(jobs);
}

static int noop_apply(MDB_txn *txn, void *arg)
{
	(void)txn;
	(void)arg;
	return 0;
}

static void test_map_at_max(void **state)
{
	enum { TRIES = 1000, LEN = 8192 };
	struct fixture *f = *state;
	struct store_config cfg = config(f, MIB, MIB);
	struct put_job *jobs = calloc(TRIES, sizeof(*jobs));
	struct put_job tiny, huge;
	struct blocker b;
	unsigned n = 0;
	unsigned i;
	int rc = 0;

	assert_non_null(jobs);
	open_store(f, &cfg);
	assert_int_equal(store_start(f->s, f->base), 0);
	/* store_run from this thread: the loop is not needed for it. */
	for (n = 0; n < TRIES; n++) {
		put_init(&jobs[n], f, "fill", n, LEN);
		rc = store_run(f->s, put_apply, &jobs[n]);
		if (rc != 0)
			break;
	}
	assert_int_equal(rc, STORE_EFULL);
	assert_true(n > 0);
	assert_int_equal(store_map_size(f->s), MIB);
	/* Nothing of the failed job, everything before it intact. */
	assert_int_equal(check_value(f, jobs[n].key, LEN, jobs[n].fill), STORE_ENOTFOUND);
	for (i = 0; i < n; i++)
		assert_int_equal(check_value(f, jobs[i].key, LEN, jobs[i].fill), 0);
	assert_true(store_writer_alive(f->s));

	/* A small job sharing a batch with one that cannot fit fails with it. */
	hold_writer(f, &b);
	put_init(&tiny, f, "tiny", 0, 1);
	put_init(&huge, f, "huge", 0, 2 * MIB);
	assert_int_equal(store_submit(f->s, put_apply, put_done, &tiny), 0);
	assert_int_equal(store_submit(f->s, put_apply, put_done, &huge), 0);
	sem_post(&b.release);
	wait_done(f, 3);
	assert_int_equal(tiny.status, STORE_EFULL);
	assert_int_equal(huge.status, STORE_EFULL);
	assert_int_equal(check_value(f, tiny.key, 1, tiny.fill), STORE_ENOTFOUND);

	/* The writer still serves batches, and the data still reads. */
	assert_true(store_writer_alive(f->s));
	assert_int_equal(store_run(f->s, noop_apply, NULL), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(check_value(f, jobs[i].key, LEN, jobs[i].fill), 0);
	blocker_destroy(&b);
	free(jobs);
}

static void test_back_pressure(void **state)
{
	enum { QMAX = 8 };
	struct fixture *f = *state;
	struct store_config cfg = config(f, 4 * MIB, 4 * MIB);
	struct put_job jobs[QMAX + 1];
	struct blocker b;
	unsigned i;

	cfg.queue_max = QMAX;
	open_store(f, &cfg);
	assert_int_equal(store_start(f->s, f->base), 0);
	hold_writer(f, &b);
	for (i = 0; i < QMAX; i++) {
		put_init(&jobs[i], f, "bp", i, 20);
		assert_int_equal(store_submit(f->s, put_apply, put_done, &jobs[i]), 0);
	}
	assert_int_equal(store_queue_depth(f->s), QMAX);
	put_init(&jobs[QMAX], f, "bp", QMAX, 20);
	assert_int_equal(store_submit(f->s, put_apply, put_done, &jobs[QMAX]), STORE_EBUSY);
	sem_post(&b.release);
	wait_done(f, QMAX + 1);
	assert_int_equal(b.status, 0);
	for (i = 0; i < QMAX; i++) {
		assert_int_equal(jobs[i].status, 0);
		assert_int_equal(check_value(f, jobs[i].key, 20, jobs[i].fill), 0);
	}
	/* The refused job never ran and never got a done callback. */
	assert_int_equal(f->done, QMAX + 1);
	assert_int_equal(jobs[QMAX].status, NOT_DONE);
	assert_int_equal(jobs[QMAX].applies, 0);
	assert_int_equal(check_value(f, jobs[QMAX].key, 20, jobs[QMAX].fill), STORE_ENOTFOUND);
	blocker_destroy(&b);
}

static void test_stop_drains(void **state)
{
	enum { JOBS = 500 };
	struct fixture *f = *state;
	struct store_config cfg = config(f, 16 * MIB, 16 * MIB);
	struct put_job *jobs = calloc(JOBS, sizeof(*jobs));
	struct put_job late;
	unsigned i;

	assert_non_null(jobs);
	open_store(f, &cfg);
	assert_int_equal(store_start(f->s, f->base), 0);
	for (i = 0; i < JOBS; i++) {
		put_init(&jobs[i], f, "st", i, 64);
		assert_int_equal(store_submit(f->s, put_apply, put_done, &jobs[i]), 0);
	}
	/* The loop never ran: store_stop itself delivers every callback. */
	store_stop(f->s);
	assert_int_equal(f->done, JOBS);
	for (i = 0; i < JOBS; i++)
		assert_int_equal(jobs[i].status, 0);
	assert_false(store_writer_alive(f->s));
	put_init(&late, f, "late", 0, 1);
	assert_int_equal(store_submit(f->s, put_apply, put_done, &late), STORE_ESTOPPED);
	store_stop(f->s);
	assert_int_equal(f->done, JOBS);

	store_close(f->s);
	f->s = NULL;
	open_store(f, &cfg);
	for (i = 0; i < JOBS; i++)
		assert_int_equal(check_value(f, jobs[i].key, 64, jobs[i].fill), 0);
	free(jobs);
}

static int count_reader(const char *msg, void *ctx)
{
	unsigned *n = ctx;
	/* Reader lines start with a pid; the header and "(no ...)" do not. */
	if (strtol(msg, NULL, 10) > 0)
		(*n)++;
	return 0;
}

static unsigned reader_slots(MDB_env *env)
{
	unsigned n = 0;
	assert_true(mdb_reader_list(env, count_reader, &n) >= 0);
	return n;
}

static void test_run_dbi_and_read_reuse(void **state)
{
	enum { MANY = 20, POOL = 16 };
	struct fixture *f = *state;
	struct store_config cfg = config(f, 4 * MIB, 4 * MIB);
	struct put_job direct, second, failing, via_writer;
	MDB_txn *txns[MANY];
	MDB_txn *first;
	MDB_txn *txn;
	MDB_dbi other;
	MDB_dbi main_dbi;
	uint64_t commits;
	unsigned i;

	open_store(f, &cfg);
	assert_int_equal(store_dbi_open(f->s, "other", MDB_INTEGERKEY, &other), 0);
	/* Opening the same name again gives the same handle. */
	assert_int_equal(store_dbi_open(f->s, "t", 0, &main_dbi), 0);
	assert_int_equal(main_dbi, f->dbi);
	assert_int_equal(store_dbi_open(NULL, "t", 0, &main_dbi), STORE_EINVAL);

	/* Without a writer, store_run commits in the calling thread. */
	put_init(&direct, f, "run", 1, 30);
	assert_int_equal(store_run(f->s, put_apply, &direct), 0);
	assert_int_equal(store_commit_count(f->s), 1);
	assert_int_equal(check_value(f, direct.key, 30, direct.fill), 0);
	put_init(&failing, f, "run", 2, 30);
	failing.result = MODULE_ERROR;
	assert_int_equal(store_run(f->s, put_apply, &failing), MODULE_ERROR);
	assert_int_equal(check_value(f, failing.key, 30, failing.fill), STORE_ENOTFOUND);

	assert_int_equal(store_start(f->s, f->base), 0);
	assert_int_equal(store_start(f->s, f->base), STORE_EINVAL);
	assert_int_equal(store_dbi_open(f->s, "late", 0, &other), STORE_EINVAL);
	commits = store_commit_count(f->s);
	put_init(&via_writer, f, "run", 3, 30);
	assert_int_equal(store_run(f->s, put_apply, &via_writer), 0);
	assert_int_equal(store_commit_count(f->s), commits + 1);
	assert_int_equal(check_value(f, via_writer.key, 30, via_writer.fill), 0);

	/* After stop, store_run commits directly again. */
	store_stop(f->s);
	put_init(&second, f, "run", 4, 30);
	assert_int_equal(store_run(f->s, put_apply, &second), 0);
	assert_int_equal(check_value(f, second.key, 30, second.fill), 0);

	/* Read transactions: ended ones are renewed, not begun again. */
	assert_int_equal(store_read_begin(f->s, &first), 0);
	store_read_end(f->s, first);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		assert_ptr_equal(txn, first);
		store_read_end(f->s, txn);
	}
	/* Many at once are fine; at most POOL stay kept with their slots. */
	for (i = 0; i < MANY; i++)
		assert_int_equal(store_read_begin(f->s, &txns[i]), 0);
	assert_int_equal(reader_slots(mdb_txn_env(txns[0])), MANY);
	for (i = 0; i < MANY; i++)
		store_read_end(f->s, txns[i]);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(reader_slots(mdb_txn_env(txn)), POOL);
	store_read_end(f->s, txn);
	assert_int_equal(store_read_begin(NULL, &txn), STORE_EINVAL);
}

/* Child: opens the env and sends `ready`; with `read`, inside a read txn. */
static MDB_env *child_open(const char *path, int fd, bool read)
{
	MDB_env *env;
	MDB_txn *txn;
	char ready = 'r';
	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 64) != 0 ||
	    mdb_env_open(env, path, MDB_NOTLS, 0600) != 0)
		_exit(1);
	if (read && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		_exit(1);
	if (write(fd, &ready, 1) != 1)
		_exit(1);
	return env;
}

/* Child that keeps the env open and counts reader slots when asked. */
static void lister_main(const char *path, int cmd_fd, int out_fd)
{
	MDB_env *env = child_open(path, out_fd, false);
	char cmd;
	while (read(cmd_fd, &cmd, 1) == 1 && cmd == 'c') {
		unsigned n = 0;
		unsigned char out;
		mdb_reader_list(env, count_reader, &n);
		out = (unsigned char)n;
		if (write(out_fd, &out, 1) != 1)
			break;
	}
	_exit(0);
}

static unsigned ask_slots(int cmd_fd, int out_fd)
{
	unsigned char n;
	assert_int_equal(write(cmd_fd, "c", 1), 1);
	assert_int_equal(read(out_fd, &n, 1), 1);
	return n;
}

static void test_stale_readers_cleared(void **state)
{
	struct fixture *f = *state;
	struct store_config cfg = config(f, 4 * MIB, 4 * MIB);
	int cmd[2], out[2];
	pid_t lister, reader;
	char ready;
	int status;

	open_store(f, &cfg);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(pipe(cmd), 0);
	assert_int_equal(pipe(out), 0);
	/*
	 * The lister keeps the env open all along, so later opens are not
	 * exclusive and LMDB does not reset the reader table by itself.
	 */
	lister = fork();
	assert_true(lister >= 0);
	if (lister == 0) {
		close(cmd[1]);
		close(out[0]);
		lister_main(f->path, cmd[0], out[1]);
	}
	assert_int_equal(read(out[0], &ready, 1), 1);
	reader = fork();
	assert_true(reader >= 0);
	if (reader == 0) {
		close(cmd[0]);
		close(cmd[1]);
		close(out[0]);
		child_open(f->path, out[1], true);
		pause();
		_exit(0);
	}
	assert_int_equal(read(out[0], &ready, 1), 1);
	assert_int_equal(ask_slots(cmd[1], out[0]), 1);
	assert_int_equal(kill(reader, SIGKILL), 0);
	assert_int_equal(waitpid(reader, &status, 0), reader);
	/* The dead reader's slot stays taken until someone checks. */
	assert_int_equal(ask_slots(cmd[1], out[0]), 1);

	open_store(f, &cfg);
	assert_int_equal(ask_slots(cmd[1], out[0]), 0);

	close(cmd[1]);
	assert_int_equal(waitpid(lister, &status, 0), lister);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(cmd[0]);
	close(out[0]);
	close(out[1]);
}

/*
 * Child: opens the env with a larger map, writes `count` 8 KiB values past
 * the parent's map and exits, as another process of the same data would.
 */
static void grow_in_child(const char *path, size_t map_size, const char *prefix,
			  unsigned count)
{
	pid_t pid = fork();
	int status;
	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		char key[KEY_MAX];
		unsigned i;
		if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 64) != 0 ||
		    mdb_env_set_mapsize(env, map_size) != 0 ||
		    mdb_env_open(env, path, MDB_NOTLS, 0600) != 0 ||
		    mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, "t", 0, &dbi) != 0)
			_exit(1);
		for (i = 0; i < count; i++) {
			MDB_val k = { 0, key };
			MDB_val v = { 8192, NULL };
			k.mv_size = (size_t)snprintf(key, sizeof(key), "%s%08u", prefix, i);
			if (mdb_put(txn, dbi, &k, &v, MDB_RESERVE) != 0)
				_exit(1);
			memset(v.mv_data, 'c', v.mv_size);
		}
		if (mdb_txn_commit(txn) != 0)
			_exit(1);
		mdb_env_close(env);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_map_resized_by_other_process(void **state)
{
	struct fixture *f = *state;
	struct store_config cfg = config(f, MIB, 64 * MIB);
	struct put_job job;
	MDB_txn *txn;
	char key[KEY_MAX];

	open_store(f, &cfg);
	/* Leave a reset read transaction in the pool: renewing it fails first. */
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	store_read_end(f->s, txn);

	grow_in_child(f->path, 8 * MIB, "child-a", 512);
	put_init(&job, f, "after", 1, 10);
	assert_int_equal(store_run(f->s, put_apply, &job), 0);
	assert_int_equal(store_map_size(f->s), 8 * MIB);

	grow_in_child(f->path, 32 * MIB, "child-b", 1024);
	snprintf(key, sizeof(key), "child-b%08u", 1023u);
	assert_int_equal(check_value(f, key, 8192, 'c'), 0);
	assert_int_equal(store_map_size(f->s), 32 * MIB);
	assert_int_equal(check_value(f, job.key, 10, job.fill), 0);
}

/* A read-only store reads what a writer left, creates nothing and refuses writes. */
static void test_read_only(void **state)
{
	struct fixture *f = *state;
	struct store_config cfg = config(f, 1 << 20, 1 << 20);
	struct put_job j;
	struct store *ro;
	MDB_dbi dbi, missing;
	MDB_txn *txn;
	MDB_val k, v;

	open_store(f, &cfg);
	put_init(&j, f, "ro", 1, 10);
	assert_int_equal(store_run(f->s, put_apply, &j), 0);
	store_close(f->s);
	f->s = NULL;

	cfg.read_only = true;
	assert_int_equal(store_open(&cfg, &ro), 0);
	assert_int_equal(store_dbi_open(ro, "t", 0, &dbi), 0);
	assert_int_equal(store_dbi_open(ro, "never-made", 0, &missing), STORE_ENOTFOUND);
	assert_int_equal(store_read_begin(ro, &txn), 0);
	k.mv_size = strlen(j.key);
	k.mv_data = j.key;
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, 10);
	store_read_end(ro, txn);
	put_init(&j, f, "ro", 2, 10);
	assert_int_equal(store_run(ro, put_apply, &j), STORE_EINVAL);
	assert_int_equal(store_start(ro, f->base), STORE_EINVAL);
	store_close(ro);

	/* A folder that does not exist is not made. */
	snprintf(f->path, sizeof(f->path), "%s/absent", f->dir);
	cfg.path = f->path;
	assert_int_not_equal(store_open(&cfg, &ro), 0);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void test_status_mapping(void **state)
{
	static const int store_codes[] = {
		STORE_OK, STORE_ENOTFOUND, STORE_EBUSY, STORE_EFULL, STORE_EIO,
		STORE_ESTOPPED, STORE_EINVAL, STORE_ENOMEM, STORE_ECORRUPT,
	};
	struct store_config cfg;
	struct store *s = NULL;
	size_t i, j;
	(void)state;

	assert_int_equal(store_status_from_mdb(0), STORE_OK);
	assert_int_equal(store_status_from_mdb(MDB_NOTFOUND), STORE_ENOTFOUND);
	assert_int_equal(store_status_from_mdb(MDB_MAP_FULL), STORE_EFULL);
	assert_int_equal(store_status_from_mdb(ENOSPC), STORE_EFULL);
	assert_int_equal(store_status_from_mdb(EDQUOT), STORE_EFULL);
	assert_int_equal(store_status_from_mdb(EIO), STORE_EIO);
	assert_int_equal(store_status_from_mdb(MDB_CORRUPTED), STORE_EIO);
	assert_int_equal(store_status_from_mdb(MDB_PANIC), STORE_EIO);
	assert_int_equal(store_status_from_mdb(ENOMEM), STORE_ENOMEM);
	assert_int_equal(store_status_from_mdb(MDB_READERS_FULL), STORE_EBUSY);
	assert_int_equal(store_status_from_mdb(EINVAL), STORE_EINVAL);
	assert_int_equal(store_status_from_mdb(MDB_BAD_VALSIZE), STORE_EINVAL);
	for (i = 0; i < sizeof(store_codes) / sizeof(store_codes[0]); i++) {
		/* Mapping a store status again keeps it. */
		assert_int_equal(store_status_from_mdb(store_codes[i]), store_codes[i]);
		for (j = 0; j < i; j++)
			assert_string_not_equal(store_strerror(store_codes[i]),
						store_strerror(store_codes[j]));
	}
	assert_non_null(store_strerror(-999));

	/* Bad configurations are refused before anything is created. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = "/tmp/test-store-never-created";
	cfg.map_size = MIB - 1;
	cfg.map_max = 4 * MIB;
	assert_int_equal(store_open(&cfg, &s), STORE_EINVAL);
	cfg.map_size = 2 * MIB;
	cfg.map_max = MIB;
	assert_int_equal(store_open(&cfg, &s), STORE_EINVAL);
	assert_int_equal(store_open(NULL, &s), STORE_EINVAL);
	assert_null(s);
	assert_int_equal(access(cfg.path, F_OK), -1);
	store_close(NULL);
}

/* Waits double from the first, stop at the most, and never overflow however many attempts. */
static void test_watch_backoff(void **state)
{
	(void)state;
	assert_int_equal(store_watch_backoff_ms(5000, 600000, 0), 5000);
	assert_int_equal(store_watch_backoff_ms(5000, 600000, 1), 10000);
	assert_int_equal(store_watch_backoff_ms(5000, 600000, 6), 320000);
	assert_int_equal(store_watch_backoff_ms(5000, 600000, 7), 600000);
	assert_int_equal(store_watch_backoff_ms(5000, 600000, UINT32_MAX), 600000);
	assert_int_equal(store_watch_backoff_ms(60000, 60000, 3), 60000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch_backoff),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failing_job_rolls_back_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_map_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_at_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_pressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_dbi_and_read_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_readers_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_resized_by_other_process, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test(test_status_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
