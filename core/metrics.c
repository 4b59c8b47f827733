#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX_DEFS 64

struct metrics_def {
	const char *name;
	const char *help;
	enum metrics_type type;
	uint64_t bounds[METRICS_MAX_BUCKETS];
	size_t nbounds;
	uint64_t divisor;
};

struct metrics_series {
	const struct metrics_def *def;
	char labels[METRICS_LABELS_MAX];
	int64_t value;                          /* counter, gauge */
	uint64_t buckets[METRICS_MAX_BUCKETS + 1]; /* histogram; last is +Inf */
	uint64_t count;
	uint64_t sum;
};

/* Series are found through a hash index (twice the series, so probes stay short). */
#define METRICS_INDEX_SLOTS (2 * METRICS_MAX_SERIES)

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_def metrics_defs[METRICS_MAX_DEFS];
static size_t metrics_ndefs;
static struct metrics_series metrics_series[METRICS_MAX_SERIES];
static size_t metrics_nseries;
static uint64_t metrics_dropped;
/* Series index + 1 per slot; 0 is empty. */
static uint16_t metrics_index[METRICS_INDEX_SLOTS];

/* Latency buckets in microseconds: 50 us .. 10 s. */
static const uint64_t metrics_latency_us[] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 10000000,
};
static const uint64_t metrics_batch_jobs[] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 8192,
};

#define METRICS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static struct metrics_def *metrics_find_def(const char *name)
{
	for (size_t i = 0; i < metrics_ndefs; i++)
		if (strcmp(metrics_defs[i].name, name) == 0)
			return &metrics_defs[i];
	return NULL;
}

int metrics_define(const char *name, enum metrics_type type, const char *help,
		   const uint64_t *bounds, size_t nbounds, uint64_t divisor)
{
	struct metrics_def *d;
	int rc = 0;
	if (nbounds > METRICS_MAX_BUCKETS || (type == METRICS_HISTOGRAM && divisor == 0))
		return -1;
	pthread_mutex_lock(&metrics_lock);
	d = metrics_find_def(name);
	if (d) {
		rc = d->type == type ? 0 : -1;
		goto unlock;
	}
	if (metrics_ndefs == METRICS_MAX_DEFS) {
		rc = -1;
		goto unlock;
	}
	d = &metrics_defs[metrics_ndefs++];
	d->name = name;
	d->help = help;
	d->type = type;
	d->nbounds = type == METRICS_HISTOGRAM ? nbounds : 0;
	if (d->nbounds)
		memcpy(d->bounds, bounds, nbounds * sizeof(*bounds));
	d->divisor = divisor;
unlock:
	pthread_mutex_unlock(&metrics_lock);
	return rc;
}

int metrics_init(void)
{
	metrics_define(METRIC_HTTP_REQUESTS, METRICS_COUNTER,
		       "HTTP requests answered, by route pattern and status.", NULL, 0, 0);
	metrics_define(METRIC_HTTP_DURATION, METRICS_HISTOGRAM,
		       "Time from request received to reply sent.", metrics_latency_us,
		       METRICS_COUNT(metrics_latency_us), 1000000);
	metrics_define(METRIC_STORE_BATCHES, METRICS_COUNTER,
		       "Write batches committed (one fsync each).", NULL, 0, 0);
	metrics_define(METRIC_STORE_BATCH_SIZE, METRICS_HISTOGRAM, "Jobs per committed batch.",
		       metrics_batch_jobs, METRICS_COUNT(metrics_batch_jobs), 1);
	metrics_define(METRIC_STORE_JOBS, METRICS_COUNTER, "Write jobs run, by outcome.", NULL, 0, 0);
	metrics_define(METRIC_STORE_QUEUE_DEPTH, METRICS_GAUGE,
		       "Write jobs waiting for the writer.", NULL, 0, 0);
	metrics_define(METRIC_STORE_MAP_SIZE, METRICS_GAUGE, "LMDB map size.", NULL, 0, 0);
	metrics_define(METRIC_OUTBOUND, METRICS_COUNTER,
		       "Outbound HTTP calls, by target and outcome.", NULL, 0, 0);
	metrics_define(METRIC_OUTBOUND_DURATION, METRICS_HISTOGRAM,
		       "Outbound HTTP attempt duration.", metrics_latency_us,
		       METRICS_COUNT(metrics_latency_us), 1000000);
	return 0;
}

void metrics_reset(void)
{
	pthread_mutex_lock(&metrics_lock);
	metrics_ndefs = 0;
	metrics_nseries = 0;
	metrics_dropped = 0;
	memset(metrics_index, 0, sizeof(metrics_index));
	pthread_mutex_unlock(&metrics_lock);
}

/* FNV-1a over the definition's address and the labels. */
static size_t metrics_slot(const struct metrics_def *d, const char *labels)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)d;
	for (; *labels; labels++) {
		h ^= (unsigned char)*labels;
		h *= 1099511628211ull;
	}
	return (size_t)(h % METRICS_INDEX_SLOTS);
}

/* Finds or creates the series; NULL when the metric is unknown or the table is full. Lock held. */
static struct metrics_series *metrics_get(const char *name, const char *labels, enum metrics_type want)
{
	const struct metrics_def *d = metrics_find_def(name);
	struct metrics_series *s;
	size_t slot;
	if (!labels)
		labels = "";
	if (!d || d->type != want)
		return NULL;
	for (slot = metrics_slot(d, labels); metrics_index[slot]; slot = (slot + 1) % METRICS_INDEX_SLOTS) {
		s = &metrics_series[metrics_index[slot] - 1];
		if (s->def == d && strcmp(s->labels, labels) == 0)
			return s;
	}
	if (metrics_nseries == METRICS_MAX_SERIES || strlen(labels) >= METRICS_LABELS_MAX) {
		metrics_dropped++;
		return NULL;
	}
	s = &metrics_series[metrics_nseries++];
	memset(s, 0, sizeof(*s));
	s->def = d;
	strcpy(s->labels, labels);
	metrics_index[slot] = (uint16_t)metrics_nseries;
	return s;
}

static void metrics_update(const char *name, const char *labels, int64_t v, bool set)
{
	struct metrics_series *s;
	pthread_mutex_lock(&metrics_lock);
	s = metrics_get(name, labels, set ? METRICS_GAUGE : METRICS_COUNTER);
	if (!s && !set)
		s = metrics_get(name, labels, METRICS_GAUGE);
	if (s)
		s->value = set ? v : s->value + v;
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_add(const char *name, const char *labels, int64_t delta)
{
	metrics_update(name, labels, delta, false);
}

void metrics_set(const char *name, const char *labels, int64_t value)
{
	metrics_update(name, labels, value, true);
}

void metrics_observe(const char *name, const char *labels, uint64_t value)
{
	struct metrics_series *s;
	size_t i;
	pthread_mutex_lock(&metrics_lock);
	s = metrics_get(name, labels, METRICS_HISTOGRAM);
	if (s) {
		for (i = 0; i < s->def->nbounds && value > s->def->bounds[i]; i++)
			;
		s->buckets[i]++;
		s->count++;
		s->sum += value;
	}
	pthread_mutex_unlock(&metrics_lock);
}

int64_t metrics_value(const char *name, const char *labels)
{
	const struct metrics_def *d;
	int64_t v = 0;
	if (!labels)
		labels = "";
	pthread_mutex_lock(&metrics_lock);
	d = metrics_find_def(name);
	for (size_t slot = d ? metrics_slot(d, labels) : 0; d && metrics_index[slot];
	     slot = (slot + 1) % METRICS_INDEX_SLOTS) {
		const struct metrics_series *s = &metrics_series[metrics_index[slot] - 1];
		if (s->def == d && strcmp(s->labels, labels) == 0) {
			v = d->type == METRICS_HISTOGRAM ? (int64_t)s->count : s->value;
			break;
		}
	}
	pthread_mutex_unlock(&metrics_lock);
	return v;
}

char *metrics_label(char *buf, size_t cap, ...)
{
	va_list ap;
	size_t n = 0;
	const char *key;
	bool first = true;
	if (cap == 0)
		return buf;
	buf[0] = '\0';
	va_start(ap, cap);
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *val = va_arg(ap, const char *);
		/* Worst case per pair: separator, key, ="", each value byte escaped. */
		size_t need = 1 + strlen(key) + 3 + 2 * strlen(val);
		if (n + need + 1 > cap)
			break;
		n += (size_t)sprintf(buf + n, "%s%s=\"", first ? "" : ",", key);
		for (const char *p = val; *p; p++) {
			if (*p == '\\' || *p == '"')
				buf[n++] = '\\';
			if (*p == '\n') {
				buf[n++] = '\\';
				buf[n++] = 'n';
				continue;
			}
			buf[n++] = *p;
		}
		buf[n++] = '"';
		buf[n] = '\0';
		first = false;
	}
	va_end(ap);
	return buf;
}

/* A growing text buffer for rendering; `failed` sticks after the first allocation failure. */
struct metrics_text {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

static void metrics_printf(struct metrics_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void metrics_printf(struct metrics_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t ncap = t->cap * 2 + (size_t)n;
		char *np = realloc(t->p, ncap);
		if (!np) {
			t->failed = true;
			return;
		}
		t->p = np;
		t->cap = ncap;
	}
}

/* Prints value/divisor as a decimal without floating point. */
static void metrics_print_scaled(struct metrics_text *t, uint64_t v, uint64_t divisor)
{
	uint64_t frac = v % divisor;
	int digits = 0;
	metrics_printf(t, "%llu", (unsigned long long)(v / divisor));
	if (divisor == 1)
		return;
	for (uint64_t d = divisor; d > 1; d /= 10)
		digits++;
	metrics_printf(t, ".%0*llu", digits, (unsigned long long)frac);
}

static void metrics_render_histogram(struct metrics_text *t, const struct metrics_series *s)
{
	const struct metrics_def *d = s->def;
	const char *sep = s->labels[0] ? "," : "";
	uint64_t cum = 0;
	for (size_t i = 0; i <= d->nbounds; i++) {
		cum += s->buckets[i];
		metrics_printf(t, "%s_bucket{%s%sle=\"", d->name, s->labels, sep);
		if (i < d->nbounds)
			metrics_print_scaled(t, d->bounds[i], d->divisor);
		else
			metrics_printf(t, "+Inf");
		metrics_printf(t, "\"} %llu\n", (unsigned long long)cum);
	}
	metrics_printf(t, "%s_sum%s%s%s ", d->name, s->labels[0] ? "{" : "", s->labels,
		       s->labels[0] ? "}" : "");
	metrics_print_scaled(t, s->sum, d->divisor);
	metrics_printf(t, "\n%s_count%s%s%s %llu\n", d->name, s->labels[0] ? "{" : "", s->labels,
		       s->labels[0] ? "}" : "", (unsigned long long)s->count);
}

int metrics_render(char **out, size_t *len)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };
	struct metrics_text t = { .cap = 4096 };
	t.p = malloc(t.cap);
	if (!t.p)
		return -1;
	pthread_mutex_lock(&metrics_lock);
	for (size_t i = 0; i < metrics_ndefs; i++) {
		const struct metrics_def *d = &metrics_defs[i];
		metrics_printf(&t, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name,
			       type_names[d->type]);
		for (size_t j = 0; j < metrics_nseries; j++) {
			const struct metrics_series *s = &metrics_series[j];
			if (s->def != d)
				continue;
			if (d->type == METRICS_HISTOGRAM)
				metrics_render_histogram(&t, s);
			else if (s->labels[0])
				metrics_printf(&t, "%s{%s} %lld\n", d->name, s->labels, (long long)s->value);
			else
				metrics_printf(&t, "%s %lld\n", d->name, (long long)s->value);
		}
	}
	metrics_printf(&t, "# HELP bangsoleh_metrics_dropped_total Updates to series beyond the table.\n"
			   "# TYPE bangsoleh_metrics_dropped_total counter\n"
			   "bangsoleh_metrics_dropped_total %llu\n", (unsigned long long)metrics_dropped);
	pthread_mutex_unlock(&metrics_lock);
	if (t.failed) {
		free(t.p);
		return -1;
	}
	*out = t.p;
	*len = t.len;
	return 0;
}
