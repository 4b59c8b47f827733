/*
 * bench_store: write jobs per second through the store writer, with group
 * commit against one commit per job, in the same run on the real disk.
 *
 * 64 jobs are in flight from the loop: each done callback submits the next
 * job until the round's count is reached. Each job puts one 100-byte value
 * under a time-ordered 16-byte key. The two modes alternate for --rounds
 * rounds, each round in a fresh environment; the medians and their ratio
 * are printed at the end.
 *
 * usage: bench_store [--dir DIR] [--jobs N] [--single-jobs N] [--rounds N]
 *   --dir          where the temporary folder is made (default: .)
 *   --jobs         jobs per group-commit round (default 30000)
 *   --single-jobs  jobs per one-commit-per-job round (default jobs / 10)
 *   --rounds       rounds of each mode (default 3, at most 15)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <lmdb.h>

#include "log.h"
#include "store.h"

#define IN_FLIGHT 64
#define KEY_LEN 16
#define VALUE_LEN 100
#define ROUNDS_MAX 15
#define JOBS_MAX 10000000ul

struct bench;

struct bench_job {
	struct bench *b;
	unsigned char key[KEY_LEN];
};

struct bench {
	struct store *s;
	struct event_base *base;
	MDB_dbi dbi;
	unsigned long target;
	unsigned long submitted;
	unsigned long completed;
	unsigned long failed;
	unsigned char value[VALUE_LEN];
	struct bench_job jobs[IN_FLIGHT];
};

struct round_result {
	double jobs_per_s;
	uint64_t commits;
	unsigned long jobs;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	int i;
	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* Wall-clock nanoseconds then a sequence number: keys arrive in order. */
static void make_key(unsigned char *key, uint64_t seq)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	put_be64(key, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	put_be64(key + 8, seq);
}

static int bench_apply(MDB_txn *txn, void *arg)
{
	struct bench_job *j = arg;
	MDB_val k = { KEY_LEN, j->key };
	MDB_val v = { VALUE_LEN, j->b->value };
	return mdb_put(txn, j->b->dbi, &k, &v, 0);
}

static void bench_done(int status, void *arg);

static int bench_submit(struct bench_job *j)
{
	struct bench *b = j->b;
	make_key(j->key, b->submitted);
	b->submitted++;
	return store_submit(b->s, bench_apply, bench_done, j);
}

static void bench_done(int status, void *arg)
{
	struct bench_job *j = arg;
	struct bench *b = j->b;
	b->completed++;
	if (status != 0)
		b->failed++;
	/* A refused job counts as finished and failed, so the round still ends. */
	if (b->submitted < b->target && bench_submit(j) != 0) {
		b->completed++;
		b->failed++;
	}
	if (b->completed >= b->target)
		event_base_loopbreak(b->base);
}

static void remove_env(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	char path[PATH_MAX];
	size_t i;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, files[i]) < (int)sizeof(path))
			unlink(path);
	}
	rmdir(dir);
}

/* One round in a fresh environment under `top`. Returns 0 or -1. */
static int run_round(const char *top, int index, bool group, unsigned long jobs,
		     struct round_result *out)
{
	struct store_config cfg = {
		.map_size = (size_t)256 << 20,
		.map_max = (size_t)4 << 30,
		.group_commit = group,
	};
	struct bench *b = calloc(1, sizeof(*b));
	char dir[PATH_MAX];
	double t0, t1;
	unsigned i;
	int rc = -1;

	if (!b)
		return -1;
	if (snprintf(dir, sizeof(dir), "%s/round-%d", top, index) >= (int)sizeof(dir))
		goto free_b;
	cfg.path = dir;
	memset(b->value, 'v', sizeof(b->value));
	b->target = jobs;
	b->base = event_base_new();
	if (!b->base)
		goto free_b;
	if (store_open(&cfg, &b->s) != 0)
		goto free_base;
	if (store_dbi_open(b->s, "bench", 0, &b->dbi) != 0 || store_start(b->s, b->base) != 0)
		goto close_store;
	t0 = now_s();
	for (i = 0; i < IN_FLIGHT && b->submitted < b->target; i++) {
		b->jobs[i].b = b;
		if (bench_submit(&b->jobs[i]) != 0)
			goto close_store;
	}
	event_base_dispatch(b->base);
	t1 = now_s();
	out->jobs = b->completed;
	out->commits = store_commit_count(b->s);
	out->jobs_per_s = (double)b->completed / (t1 - t0);
	if (b->failed == 0 && b->completed == b->target)
		rc = 0;
	else
		fprintf(stderr, "round %d: %lu of %lu jobs failed\n", index, b->failed,
			b->target);
close_store:
	store_close(b->s);
	remove_env(dir);
free_base:
	event_base_free(b->base);
free_b:
	free(b);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const struct round_result *r, int n)
{
	double v[ROUNDS_MAX];
	int i;
	for (i = 0; i < n; i++)
		v[i] = r[i].jobs_per_s;
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void totals(const struct round_result *r, int n, unsigned long *jobs, uint64_t *commits)
{
	int i;
	*jobs = 0;
	*commits = 0;
	for (i = 0; i < n; i++) {
		*jobs += r[i].jobs;
		*commits += r[i].commits;
	}
}

static int parse_count(const char *text, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_store [--dir DIR] [--jobs N] [--single-jobs N] "
			"[--rounds N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct round_result group[ROUNDS_MAX];
	struct round_result single[ROUNDS_MAX];
	const char *parent = ".";
	char top[PATH_MAX];
	unsigned long jobs = 30000;
	unsigned long single_jobs = 0;
	unsigned long rounds = 3;
	unsigned long gjobs, sjobs;
	uint64_t gcommits, scommits;
	double gmed, smed;
	int i;
	int rc = 1;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--dir") == 0)
			parent = argv[++i];
		else if (strcmp(argv[i], "--jobs") == 0) {
			if (parse_count(argv[++i], JOBS_MAX, &jobs) != 0)
				return usage();
		} else if (strcmp(argv[i], "--single-jobs") == 0) {
			if (parse_count(argv[++i], JOBS_MAX, &single_jobs) != 0)
				return usage();
		} else if (strcmp(argv[i], "--rounds") == 0) {
			if (parse_count(argv[++i], ROUNDS_MAX, &rounds) != 0)
				return usage();
		} else {
			return usage();
		}
	}
	if (single_jobs == 0)
		single_jobs = jobs / 10 ? jobs / 10 : 1;
	if (snprintf(top, sizeof(top), "%s/bench-store-XXXXXX", parent) >= (int)sizeof(top) ||
	    !mkdtemp(top)) {
		fprintf(stderr, "bench_store: cannot make a folder in %s: %s\n", parent,
			strerror(errno));
		return 1;
	}
	log_set_level(LOG_WARN);
	printf("store bench: %d jobs in flight, %d-byte values, %d-byte time-ordered keys, in %s\n",
	       IN_FLIGHT, VALUE_LEN, KEY_LEN, top);
	for (i = 0; i < (int)rounds; i++) {
		if (run_round(top, 2 * i, true, jobs, &group[i]) != 0 ||
		    run_round(top, 2 * i + 1, false, single_jobs, &single[i]) != 0)
			goto remove_top;
		printf("round %d  group:  %7lu jobs %10.0f jobs/s %6llu commits %6.1f jobs/commit\n",
		       i + 1, group[i].jobs, group[i].jobs_per_s,
		       (unsigned long long)group[i].commits,
		       (double)group[i].jobs / (double)group[i].commits);
		printf("round %d  single: %7lu jobs %10.0f jobs/s %6llu commits %6.1f jobs/commit\n",
		       i + 1, single[i].jobs, single[i].jobs_per_s,
		       (unsigned long long)single[i].commits,
		       (double)single[i].jobs / (double)single[i].commits);
		fflush(stdout);
	}
	gmed = median(group, (int)rounds);
	smed = median(single, (int)rounds);
	totals(group, (int)rounds, &gjobs, &gcommits);
	totals(single, (int)rounds, &sjobs, &scommits);
	printf("median group commit:   %10.0f jobs/s (%llu commits, %.1f jobs/commit)\n", gmed,
	       (unsigned long long)gcommits, (double)gjobs / (double)gcommits);
	printf("median commit per job: %10.0f jobs/s (%llu commits, %.1f jobs/commit)\n", smed,
	       (unsigned long long)scommits, (double)sjobs / (double)scommits);
	printf("ratio group/single: %.1fx\n", gmed / smed);
	rc = 0;
remove_top:
	rmdir(top);
	return rc;
}
