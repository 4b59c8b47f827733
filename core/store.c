#include "store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "loopq.h"
#include "metrics.h"
#include "record.h"

#define STORE_MIB ((size_t)1 << 20)
#define STORE_DEFAULT_MAX_DBS 64u
#define STORE_DEFAULT_QUEUE_MAX 4096u
#define STORE_DEFAULT_BATCH_MAX 1024u
/* Upper bounds of the config fields (the same as config.c accepts). */
#define STORE_MAX_DBS_LIMIT 4096u
#define STORE_QUEUE_LIMIT 1000000u
#define STORE_BATCH_LIMIT 65536u
/* Reset read transactions kept for reuse; each keeps one reader slot. */
#define STORE_READ_POOL 16
/* The lock file of exclusive opens, in the data folder. */
#define STORE_LOCK_NAME "/writer.lock"

/*
 * A queued write. Jobs from store_submit are malloc'd and freed after their
 * done callback; a store_run job lives on its caller's stack and has no done
 * callback: the writer sets `finished` (under s->lock) and wakes the caller.
 */
struct store_job {
	struct store_job *next;
	store_apply_fn apply;
	store_done_fn done;
	void *arg;
	int status;
	bool finished;
};

struct store {
	MDB_env *env;
	size_t map_max;
	unsigned queue_max;
	unsigned batch_max;
	bool read_only;
	int lock_fd;             /* writer.lock of an exclusive open, or -1 */
	struct store_hooks hooks[STORE_HOOKS_MAX];
	unsigned nhooks;
	char label_ok[METRICS_LABELS_MAX];
	char label_failed[METRICS_LABELS_MAX];

	/*
	 * Held in read mode by every transaction of this process (readers from
	 * store_read_begin to store_read_end, the writer for one attempt) and
	 * in write mode to change the map size, which LMDB requires to happen
	 * with no transaction active in the process.
	 */
	pthread_rwlock_t map_lock;
	atomic_size_t map_size;

	/* Guards the queue, the flags, the finished list and store_run jobs. */
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* writer: a job arrived or stop was asked */
	pthread_cond_t room;     /* store_run: the queue has room again */
	pthread_cond_t finished; /* store_run: a job of a batch finished */
	struct store_job *head;
	struct store_job *tail;
	atomic_uint depth;
	bool started;
	bool stopping;
	/* Jobs whose done callbacks wait for the loop thread. */
	struct store_job *done_head;
	struct store_job *done_tail;
	bool done_posted;

	struct loopq *q;
	pthread_t writer;
	atomic_bool alive;
	atomic_bool failing;
	atomic_uint_fast64_t commits;

	pthread_mutex_t pool_lock;
	MDB_txn *pool[STORE_READ_POOL];
	unsigned pool_len;
};

/*
 * Read transactions this thread holds. A thread holding one must not wait
 * for map_lock in write mode (it would wait for itself).
 */
static _Thread_local unsigned store_reads_held;

int store_status_from_mdb(int rc)
{
	switch (rc) {
	case 0:
		return STORE_OK;
	case MDB_NOTFOUND:
		return STORE_ENOTFOUND;
	case MDB_MAP_FULL:
	case ENOSPC:
	case EDQUOT:
		return STORE_EFULL;
	case ENOMEM:
		return STORE_ENOMEM;
	case MDB_READERS_FULL:
	case MDB_MAP_RESIZED:
		return STORE_EBUSY;
	case EINVAL:
	case MDB_KEYEXIST:
	case MDB_BAD_VALSIZE:
	case MDB_BAD_DBI:
		return STORE_EINVAL;
	default:
		break;
	}
	/* Already a store status: keep it, so mapping twice is harmless. */
	if (rc < 0 && rc >= STORE_ELOCKED)
		return rc;
	return STORE_EIO;
}

const char *store_strerror(int status)
{
	switch (status) {
	case STORE_OK:
		return "ok";
	case STORE_ENOTFOUND:
		return "not found";
	case STORE_EBUSY:
		return "write queue full";
	case STORE_EFULL:
		return "store full";
	case STORE_EIO:
		return "store I/O error";
	case STORE_ESTOPPED:
		return "store stopped";
	case STORE_EINVAL:
		return "invalid argument";
	case STORE_ENOMEM:
		return "out of memory";
	case STORE_ECORRUPT:
		return "stored record does not decode";
	case STORE_ELOCKED:
		return "another process holds this data folder";
	default:
		return "unknown store status";
	}
}

static int store_sync_init(struct store *s)
{
	if (pthread_rwlock_init(&s->map_lock, NULL) != 0)
		return -1;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		goto destroy_map_lock;
	if (pthread_cond_init(&s->wake, NULL) != 0)
		goto destroy_lock;
	if (pthread_cond_init(&s->room, NULL) != 0)
		goto destroy_wake;
	if (pthread_cond_init(&s->finished, NULL) != 0)
		goto destroy_room;
	if (pthread_mutex_init(&s->pool_lock, NULL) != 0)
		goto destroy_finished;
	return 0;
destroy_finished:
	pthread_cond_destroy(&s->finished);
destroy_room:
	pthread_cond_destroy(&s->room);
destroy_wake:
	pthread_cond_destroy(&s->wake);
destroy_lock:
	pthread_mutex_destroy(&s->lock);
destroy_map_lock:
	pthread_rwlock_destroy(&s->map_lock);
	return -1;
}

static void store_sync_destroy(struct store *s)
{
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->finished);
	pthread_cond_destroy(&s->room);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	pthread_rwlock_destroy(&s->map_lock);
}

static int store_config_check(const struct store_config *cfg)
{
	if (!cfg->path || cfg->path[0] == '\0' || strnlen(cfg->path, PATH_MAX) >= PATH_MAX)
		return STORE_EINVAL;
	if (cfg->map_size < STORE_MIB || cfg->map_max < cfg->map_size)
		return STORE_EINVAL;
	if (cfg->max_dbs > STORE_MAX_DBS_LIMIT || cfg->queue_max > STORE_QUEUE_LIMIT ||
	    cfg->batch_max > STORE_BATCH_LIMIT)
		return STORE_EINVAL;
	return 0;
}

/* Reads the map size LMDB uses now into s->map_size and the gauge. */
static void store_note_map_size(struct store *s)
{
	MDB_envinfo info;
	if (mdb_env_info(s->env, &info) != 0)
		return;
	atomic_store(&s->map_size, info.me_mapsize);
	metrics_set(METRIC_STORE_MAP_SIZE, "", (int64_t)info.me_mapsize);
}

/*
 * Takes <path>/writer.lock exclusively into s->lock_fd. flock: the kernel
 * drops it when the process dies, so a crash never leaves the folder held.
 */
static int store_lock_take(struct store *s, const char *path)
{
	char name[PATH_MAX];
	int n = snprintf(name, sizeof(name), "%s" STORE_LOCK_NAME, path);
	if (n < 0 || (size_t)n >= sizeof(name))
		return STORE_EINVAL;
	s->lock_fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		log_msg(LOG_ERROR, "store", "cannot open %s: %s", name, strerror(errno));
		return store_status_from_mdb(errno);
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;
		close(s->lock_fd);
		s->lock_fd = -1;
		if (err == EWOULDBLOCK) {
			log_msg(LOG_ERROR, "store", "%s is in use by another process", path);
			return STORE_ELOCKED;
		}
		log_msg(LOG_ERROR, "store", "cannot lock %s: %s", name, strerror(err));
		return store_status_from_mdb(err);
	}
	return 0;
}

/* Releases what store_lock_take took (nothing when it took nothing). */
static void store_lock_drop(struct store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

/*
 * Creates and opens the environment, then clears the reader slots of dead
 * processes. Returns an LMDB/errno code; on failure s->env is closed.
 */
static int store_env_open(struct store *s, const struct store_config *cfg, int *dead)
{
	int rc = mdb_env_create(&s->env);
	if (rc != 0)
		return rc;
	rc = mdb_env_set_maxdbs(s->env, cfg->max_dbs ? cfg->max_dbs : STORE_DEFAULT_MAX_DBS);
	if (rc == 0)
		rc = mdb_env_set_mapsize(s->env, cfg->map_size);
	/*
	 * Default sync stays on (durable commits). No MDB_WRITEMAP: nested
	 * transactions need it off. MDB_NOTLS: read transactions belong to
	 * their handles, not to threads, so they can be pooled.
	 */
	if (rc == 0)
		rc = mdb_env_open(s->env, cfg->path, MDB_NOTLS | (cfg->read_only ? MDB_RDONLY : 0), 0600);
	if (rc == 0)
		rc = mdb_reader_check(s->env, dead);
	if (rc != 0)
		mdb_env_close(s->env);
	return rc;
}

int store_open(const struct store_config *cfg, struct store **out)
{
	struct store *s;
	int rc;
	int dead = 0;

	if (!cfg || !out)
		return STORE_EINVAL;
	rc = store_config_check(cfg);
	if (rc != 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return STORE_ENOMEM;
	s->map_max = cfg->map_max;
	s->queue_max = cfg->queue_max ? cfg->queue_max : STORE_DEFAULT_QUEUE_MAX;
	s->batch_max = cfg->batch_max ? cfg->batch_max : STORE_DEFAULT_BATCH_MAX;
	if (!cfg->group_commit)
		s->batch_max = 1;
	metrics_label(s->label_ok, sizeof(s->label_ok), "outcome", "ok", (const char *)NULL);
	metrics_label(s->label_failed, sizeof(s->label_failed), "outcome", "failed",
		      (const char *)NULL);
	if (store_sync_init(s) != 0) {
		rc = STORE_ENOMEM;
		goto free_s;
	}
	s->read_only = cfg->read_only;
	s->lock_fd = -1;
	if (!cfg->read_only && mkdir(cfg->path, 0700) != 0 && errno != EEXIST) {
		log_msg(LOG_ERROR, "store", "cannot create %s: %s", cfg->path, strerror(errno));
		rc = store_status_from_mdb(errno);
		goto destroy_sync;
	}
	if (cfg->exclusive) {
		rc = store_lock_take(s, cfg->path);
		if (rc != 0)
			goto destroy_sync;
	}
	rc = store_env_open(s, cfg, &dead);
	if (rc != 0) {
		log_msg(LOG_ERROR, "store", "cannot open %s: %s", cfg->path, mdb_strerror(rc));
		rc = store_status_from_mdb(rc);
		goto drop_lock;
	}
	log_msg(LOG_INFO, "store", "opened %s, cleared %d stale reader slots", cfg->path, dead);
	store_note_map_size(s);
	*out = s;
	return 0;
drop_lock:
	store_lock_drop(s);
destroy_sync:
	store_sync_destroy(s);
free_s:
	free(s);
	return rc;
}

int store_dbi_open(struct store *s, const char *name, unsigned flags, MDB_dbi *dbi)
{
	MDB_txn *txn;
	bool started;
	int rc;

	if (!s || !dbi)
		return STORE_EINVAL;
	pthread_mutex_lock(&s->lock);
	started = s->started;
	pthread_mutex_unlock(&s->lock);
	/* mdb_dbi_open must not race other transactions that open DBIs. */
	if (started)
		return STORE_EINVAL;
	pthread_rwlock_rdlock(&s->map_lock);
	rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);
	if (rc == 0) {
		rc = mdb_dbi_open(txn, name, s->read_only ? flags : flags | MDB_CREATE, dbi);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&s->map_lock);
	return store_status_from_mdb(rc);
}

/*
 * Sets the map size to `want` (0: adopt the size another process set).
 * `seen` is the size the caller saw fail; when the map already grew past it
 * meanwhile, nothing is done. Waits until no transaction of this process is
 * active. Returns 0 or a STORE_* status.
 */
static int store_resize(struct store *s, size_t seen, size_t want)
{
	size_t before;
	int rc = 0;

	if (store_reads_held > 0)
		return STORE_EBUSY;
	pthread_rwlock_wrlock(&s->map_lock);
	before = atomic_load(&s->map_size);
	if (want == 0 || before <= seen) {
		rc = mdb_env_set_mapsize(s->env, want);
		if (rc == 0)
			store_note_map_size(s);
	}
	pthread_rwlock_unlock(&s->map_lock);
	if (rc != 0) {
		log_msg(LOG_ERROR, "store", "cannot resize the map to %zu bytes: %s", want,
			mdb_strerror(rc));
		return store_status_from_mdb(rc);
	}
	if (atomic_load(&s->map_size) != before)
		log_msg(LOG_INFO, "store", "map size %zu -> %zu bytes", before,
			atomic_load(&s->map_size));
	return 0;
}

/* Doubles the map from `seen`, capped at map_max. STORE_EFULL at the cap. */
static int store_grow(struct store *s, size_t seen)
{
	size_t next;
	if (seen >= s->map_max)
		return STORE_EFULL;
	next = seen > s->map_max / 2 ? s->map_max : seen * 2;
	return store_resize(s, seen, next);
}

int store_add_hooks(struct store *s, const struct store_hooks *hooks)
{
	int rc = 0;
	if (!s || !hooks)
		return STORE_EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->nhooks == STORE_HOOKS_MAX || s->started)
		rc = STORE_EINVAL;
	else
		s->hooks[s->nhooks++] = *hooks;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void store_job_end(struct store *s, bool kept)
{
	for (unsigned i = 0; i < s->nhooks; i++)
		if (s->hooks[i].job_end)
			s->hooks[i].job_end(kept, s->hooks[i].ctx);
}

static void store_batch_end(struct store *s, bool committed)
{
	for (unsigned i = 0; i < s->nhooks; i++)
		if (s->hooks[i].batch_end)
			s->hooks[i].batch_end(committed, s->hooks[i].ctx);
}

/*
 * One attempt at a batch: one write transaction, each job in a nested one
 * that is kept or dropped by its apply's return. Returns 0 once committed,
 * MDB_MAP_FULL when the map must grow, or another LMDB/errno code when the
 * batch failed as a whole.
 */
static int store_attempt(struct store *s, struct store_job *jobs)
{
	struct store_job *job;
	MDB_txn *txn;
	MDB_txn *child;
	bool alone = jobs->next == NULL;
	int rc;

	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return rc;
	for (job = jobs; job; job = job->next) {
		/*
		 * A job alone in its batch needs no nested transaction: if it
		 * fails, dropping the whole batch drops exactly it.
		 */
		child = txn;
		if (!alone && (rc = mdb_txn_begin(s->env, txn, 0, &child)) != 0)
			goto abort_txn;
		job->status = job->apply(child, job->arg);
		if (job->status == 0) {
			rc = alone ? 0 : mdb_txn_commit(child);
			store_job_end(s, rc == 0);
			if (rc == MDB_MAP_FULL)
				goto abort_txn;
			job->status = store_status_from_mdb(rc);
		} else {
			if (!alone)
				mdb_txn_abort(child);
			store_job_end(s, false);
		}
		/* A module that mapped MDB_MAP_FULL itself still gets the growth. */
		if (job->status == MDB_MAP_FULL || job->status == STORE_EFULL) {
			rc = MDB_MAP_FULL;
			goto abort_txn;
		}
		if (alone && job->status != 0) {
			/* Nothing of the batch is kept: no commit needed. */
			mdb_txn_abort(txn);
			store_batch_end(s, false);
			return 0;
		}
	}
	rc = mdb_txn_commit(txn);
	if (rc == 0)
		atomic_fetch_add(&s->commits, 1);
	store_batch_end(s, rc == 0);
	return rc;
abort_txn:
	mdb_txn_abort(txn);
	store_batch_end(s, false);
	return rc;
}

/*
 * Runs a batch to its end: re-runs it after growing the map on
 * MDB_MAP_FULL and once after adopting another process's map size. When it
 * cannot commit, every job gets the batch's status. Updates the metrics.
 * Shared by the writer thread and store_run without a writer.
 */
static void store_run_batch(struct store *s, struct store_job *jobs)
{
	struct store_job *job;
	bool adopted = false;
	int status = 0;
	int rc;
	unsigned n = 0;
	unsigned failed = 0;

	for (;;) {
		size_t seen = atomic_load(&s->map_size);
		pthread_rwlock_rdlock(&s->map_lock);
		rc = store_attempt(s, jobs);
		pthread_rwlock_unlock(&s->map_lock);
		if (rc == MDB_MAP_FULL) {
			status = store_grow(s, seen);
		} else if (rc == MDB_MAP_RESIZED && !adopted) {
			adopted = true;
			status = store_resize(s, seen, 0);
		} else {
			status = store_status_from_mdb(rc);
			break;
		}
		if (status != 0)
			break;
	}
	if (status != 0)
		log_msg(LOG_ERROR, "store", "batch failed, nothing of it written: %s (%s)",
			store_strerror(status), mdb_strerror(rc));
	atomic_store(&s->failing, status == STORE_EIO);
	for (job = jobs; job; job = job->next) {
		if (status != 0)
			job->status = status;
		failed += job->status != 0;
		n++;
	}
	metrics_add(METRIC_STORE_BATCHES, "", 1);
	metrics_observe(METRIC_STORE_BATCH_SIZE, "", n);
	metrics_add(METRIC_STORE_JOBS, s->label_ok, (int64_t)(n - failed));
	metrics_add(METRIC_STORE_JOBS, s->label_failed, (int64_t)failed);
}

/* Appends a job to the queue. Caller holds s->lock. */
static void store_enqueue(struct store *s, struct store_job *job)
{
	job->next = NULL;
	if (s->tail)
		s->tail->next = job;
	else
		s->head = job;
	s->tail = job;
	atomic_fetch_add(&s->depth, 1);
	pthread_cond_signal(&s->wake);
}

/* Loop thread: runs the done callbacks of every finished job, in order. */
static void store_deliver(void *arg)
{
	struct store *s = arg;
	struct store_job *job;

	pthread_mutex_lock(&s->lock);
	job = s->done_head;
	s->done_head = s->done_tail = NULL;
	s->done_posted = false;
	pthread_mutex_unlock(&s->lock);
	while (job) {
		struct store_job *next = job->next;
		job->done(job->status, job->arg);
		free(job);
		job = next;
	}
}

/*
 * Writer: waits for jobs and takes up to batch_max of them. Returns NULL
 * once stopping and the queue is empty.
 */
static struct store_job *store_take(struct store *s)
{
	struct store_job *first;
	struct store_job *last;
	unsigned n = 1;
	unsigned depth;

	pthread_mutex_lock(&s->lock);
	while (!s->head && !s->stopping)
		pthread_cond_wait(&s->wake, &s->lock);
	first = s->head;
	if (!first) {
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	last = first;
	while (n < s->batch_max && last->next) {
		last = last->next;
		n++;
	}
	s->head = last->next;
	if (!s->head)
		s->tail = NULL;
	last->next = NULL;
	depth = atomic_fetch_sub(&s->depth, n) - n;
	pthread_cond_broadcast(&s->room);
	pthread_mutex_unlock(&s->lock);
	metrics_set(METRIC_STORE_QUEUE_DEPTH, "", depth);
	return first;
}

/*
 * Writer: hands a run batch back. store_run jobs are marked finished and
 * their callers woken; the others go to the finished list, and the loop is
 * woken once for all of them. If the wake cannot be posted (no memory) the
 * list waits for the next batch's wake or for store_stop.
 */
static void store_finish(struct store *s, struct store_job *jobs)
{
	struct store_job *job = jobs;
	bool wake_runs = false;
	bool post;

	pthread_mutex_lock(&s->lock);
	while (job) {
		struct store_job *next = job->next;
		if (job->done) {
			job->next = NULL;
			if (s->done_tail)
				s->done_tail->next = job;
			else
				s->done_head = job;
			s->done_tail = job;
		} else {
			job->finished = true;
			wake_runs = true;
		}
		job = next;
	}
	post = s->done_head && !s->done_posted;
	if (post)
		s->done_posted = true;
	pthread_mutex_unlock(&s->lock);
	if (wake_runs)
		pthread_cond_broadcast(&s->finished);
	if (post && loopq_post(s->q, store_deliver, s) != 0) {
		pthread_mutex_lock(&s->lock);
		s->done_posted = false;
		pthread_mutex_unlock(&s->lock);
		log_msg(LOG_ERROR, "store", "cannot wake the loop: out of memory");
	}
}

static void *store_writer(void *arg)
{
	struct store *s = arg;
	struct store_job *batch;

	while ((batch = store_take(s)) != NULL) {
		store_run_batch(s, batch);
		store_finish(s, batch);
	}
	atomic_store(&s->alive, false);
	return NULL;
}

int store_start(struct store *s, struct event_base *base)
{
	sigset_t async_signals;
	sigset_t old;
	int rc;

	if (!s || !base || s->read_only)
		return STORE_EINVAL;
	pthread_mutex_lock(&s->lock);
	rc = s->stopping ? STORE_ESTOPPED : s->started ? STORE_EINVAL : 0;
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		return rc;
	errno = 0;
	if (loopq_new(base, &s->q) != 0)
		return errno == ENOMEM ? STORE_ENOMEM : STORE_EIO;
	/* Process signals belong to the loop thread, not to the writer. */
	sigemptyset(&async_signals);
	sigaddset(&async_signals, SIGINT);
	sigaddset(&async_signals, SIGTERM);
	sigaddset(&async_signals, SIGHUP);
	sigaddset(&async_signals, SIGQUIT);
	sigaddset(&async_signals, SIGUSR1);
	sigaddset(&async_signals, SIGUSR2);
	sigaddset(&async_signals, SIGCHLD);
	sigaddset(&async_signals, SIGALRM);
	sigaddset(&async_signals, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &async_signals, &old);
	atomic_store(&s->alive, true);
	pthread_mutex_lock(&s->lock);
	s->started = true;
	rc = pthread_create(&s->writer, NULL, store_writer, s);
	if (rc != 0)
		s->started = false;
	pthread_mutex_unlock(&s->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		atomic_store(&s->alive, false);
		loopq_free(s->q);
		s->q = NULL;
		return STORE_ENOMEM;
	}
	return 0;
}

int store_submit(struct store *s, store_apply_fn apply, store_done_fn done, void *arg)
{
	struct store_job *job;
	int rc = 0;

	if (!s || !apply || !done)
		return STORE_EINVAL;
	job = malloc(sizeof(*job));
	if (!job)
		return STORE_ENOMEM;
	job->apply = apply;
	job->done = done;
	job->arg = arg;
	job->status = 0;
	job->finished = false;
	pthread_mutex_lock(&s->lock);
	if (!s->started || s->stopping)
		rc = STORE_ESTOPPED;
	else if (atomic_load(&s->depth) >= s->queue_max)
		rc = STORE_EBUSY;
	else
		store_enqueue(s, job);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		free(job);
	return rc;
}

int store_run(struct store *s, store_apply_fn apply, void *arg)
{
	struct store_job job = { .apply = apply, .arg = arg };

	if (!s || !apply || s->read_only)
		return STORE_EINVAL;
	pthread_mutex_lock(&s->lock);
	if (!s->started) {
		pthread_mutex_unlock(&s->lock);
		store_run_batch(s, &job);
		return job.status;
	}
	/* A waiting tool is better served by waiting than by STORE_EBUSY. */
	while (!s->stopping && atomic_load(&s->depth) >= s->queue_max)
		pthread_cond_wait(&s->room, &s->lock);
	if (s->stopping) {
		job.status = STORE_ESTOPPED;
	} else {
		store_enqueue(s, &job);
		while (!job.finished)
			pthread_cond_wait(&s->finished, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return job.status;
}

void store_stop(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->started) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->stopping = true;
	pthread_cond_broadcast(&s->wake);
	pthread_cond_broadcast(&s->room);
	pthread_mutex_unlock(&s->lock);
	/* The writer commits everything queued before it returns. */
	pthread_join(s->writer, NULL);
	loopq_free(s->q);
	s->q = NULL;
	/* Callbacks whose wake could not be posted. */
	store_deliver(s);
	pthread_mutex_lock(&s->lock);
	s->started = false;
	pthread_mutex_unlock(&s->lock);
}

void store_close(struct store *s)
{
	unsigned i;

	if (!s)
		return;
	store_stop(s);
	for (i = 0; i < s->pool_len; i++)
		mdb_txn_abort(s->pool[i]);
	mdb_env_close(s->env);
	store_lock_drop(s);
	store_sync_destroy(s);
	free(s);
}

/* Takes a pooled read transaction and renews it, or begins a new one. */
static int store_read_open(struct store *s, MDB_txn **txn)
{
	MDB_txn *pooled = NULL;
	int rc;

	pthread_mutex_lock(&s->pool_lock);
	if (s->pool_len > 0)
		pooled = s->pool[--s->pool_len];
	pthread_mutex_unlock(&s->pool_lock);
	if (!pooled)
		return mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	rc = mdb_txn_renew(pooled);
	if (rc != 0) {
		mdb_txn_abort(pooled);
		return rc;
	}
	*txn = pooled;
	return 0;
}

int store_read_begin(struct store *s, MDB_txn **txn)
{
	int dead;
	int rc;

	if (!s || !txn)
		return STORE_EINVAL;
	pthread_rwlock_rdlock(&s->map_lock);
	rc = store_read_open(s, txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map: adopt its size, then retry once. */
		size_t seen = atomic_load(&s->map_size);
		pthread_rwlock_unlock(&s->map_lock);
		rc = store_resize(s, seen, 0);
		pthread_rwlock_rdlock(&s->map_lock);
		if (rc == 0)
			rc = store_read_open(s, txn);
	} else if (rc == MDB_READERS_FULL) {
		/* Dead processes may hold the slots. */
		if (mdb_reader_check(s->env, &dead) == 0 && dead > 0)
			rc = store_read_open(s, txn);
	}
	if (rc != 0) {
		pthread_rwlock_unlock(&s->map_lock);
		return store_status_from_mdb(rc);
	}
	store_reads_held++;
	return 0;
}

void store_read_end(struct store *s, MDB_txn *txn)
{
	if (!s || !txn)
		return;
	mdb_txn_reset(txn);
	pthread_mutex_lock(&s->pool_lock);
	if (s->pool_len < STORE_READ_POOL) {
		s->pool[s->pool_len++] = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (txn)
		mdb_txn_abort(txn);
	store_reads_held--;
	pthread_rwlock_unlock(&s->map_lock);
}

bool store_writer_alive(const struct store *s)
{
	return s && atomic_load(&s->alive) && !atomic_load(&s->failing);
}

unsigned store_queue_depth(const struct store *s)
{
	return s ? atomic_load(&s->depth) : 0;
}

uint64_t store_commit_count(const struct store *s)
{
	return s ? (uint64_t)atomic_load(&s->commits) : 0;
}

size_t store_map_size(const struct store *s)
{
	return s ? atomic_load(&s->map_size) : 0;
}

/* store_scan_due, telling how many entries fn took. */
static int store_scan(struct store *s, MDB_dbi dbi, const MDB_val *from, int64_t now, size_t max, store_due_fn fn,
		      void *arg, size_t *taken)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	size_t n = 0;
	int rc = store_read_begin(s, &txn);
	if (rc != STORE_OK)
		return rc;
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0)
		goto end_txn;
	if (from)
		k = *from;
	for (rc = mdb_cursor_get(cur, &k, &v, from ? MDB_SET_RANGE : MDB_FIRST); rc == 0 && n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
		if (k.mv_size < 8 || (int64_t)record_be64_get(k.mv_data) > now || !fn(&k, &v, arg))
			break;
	}
	mdb_cursor_close(cur);
end_txn:
	store_read_end(s, txn);
	*taken = n;
	return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : store_status_from_mdb(rc);
}

int store_scan_due(struct store *s, MDB_dbi dbi, const MDB_val *from, int64_t now, size_t max, store_due_fn fn,
		   void *arg)
{
	size_t taken;
	return store_scan(s, dbi, from, now, max, fn, arg, &taken);
}

int store_sweep(struct store *s, MDB_dbi dbi, const MDB_val *from, int64_t now, size_t max, store_due_fn take,
		store_apply_fn apply, store_done_fn done, void *arg)
{
	size_t taken;
	int rc = store_scan(s, dbi, from, now, max, take, arg, &taken);
	if (rc == STORE_OK && taken == 0)
		return STORE_ENOTFOUND;
	return rc == STORE_OK ? store_submit(s, apply, done, arg) : rc;
}

int store_cursor_last_upto(MDB_cursor *cur, const MDB_val *key, bool before, MDB_val *k, MDB_val *v)
{
	int rc, c;
	*k = *key;
	rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
	if (rc != 0)
		return rc;
	c = mdb_cmp(mdb_cursor_txn(cur), mdb_cursor_dbi(cur), k, key);
	return c > 0 || (c == 0 && before) ? mdb_cursor_get(cur, k, v, MDB_PREV) : 0;
}

bool store_watch_read(const MDB_val *k, const MDB_val *v, uint8_t key[24], uint32_t *attempts)
{
	const uint8_t *a = v->mv_data;
	if (k->mv_size != 24)
		return false;
	memcpy(key, k->mv_data, 24);
	*attempts = v->mv_size == 4 ? (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3] : 0;
	return true;
}

int64_t store_watch_backoff_ms(int64_t first_ms, int64_t max_ms, uint32_t attempts)
{
	int64_t wait = first_ms;
	for (uint32_t i = 0; i < attempts && wait < max_ms; i++)
		wait *= 2;
	return wait < max_ms ? wait : max_ms;
}

int store_watch_put(MDB_txn *txn, MDB_dbi dbi, int64_t due_ms, const uint8_t id[16], uint32_t attempts)
{
	uint8_t key[24], val[4] = { (uint8_t)(attempts >> 24), (uint8_t)(attempts >> 16), (uint8_t)(attempts >> 8),
				     (uint8_t)attempts };
	MDB_val k = { sizeof(key), key }, v = { sizeof(val), val };
	record_be64_put(key, (uint64_t)due_ms);
	memcpy(key + 8, id, 16);
	return mdb_put(txn, dbi, &k, &v, 0);
}
