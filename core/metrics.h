/*
 * metrics: process-wide counters, gauges and histograms, rendered in the
 * Prometheus text format. Thread-safe (one mutex; every update is a few
 * dozen nanoseconds).
 *
 * Series are identified by metric name plus a label string already in
 * Prometheus form, e.g. `route="/healthz",status="200"` (build it with
 * metrics_label). At most METRICS_MAX_SERIES series exist; updates to new
 * series beyond that are counted in bangsoleh_metrics_dropped_total.
 *
 * Histogram values are unsigned integers in a base unit (microseconds,
 * items); a histogram's `divisor` turns them into the exported unit
 * (1000000 for seconds), printed with integer arithmetic.
 */
#ifndef BANGSOLEH_METRICS_H
#define BANGSOLEH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_SERIES 1024
#define METRICS_MAX_BUCKETS 24
#define METRICS_LABELS_MAX 256

/* The metrics every part of core uses; defined by metrics_init. */
#define METRIC_HTTP_REQUESTS "bangsoleh_http_requests_total"
#define METRIC_HTTP_DURATION "bangsoleh_http_request_duration_seconds"
#define METRIC_STORE_BATCHES "bangsoleh_store_batches_total"
#define METRIC_STORE_BATCH_SIZE "bangsoleh_store_batch_jobs"
#define METRIC_STORE_JOBS "bangsoleh_store_jobs_total"
#define METRIC_STORE_QUEUE_DEPTH "bangsoleh_store_queue_depth"
#define METRIC_STORE_MAP_SIZE "bangsoleh_store_map_size_bytes"
#define METRIC_OUTBOUND "bangsoleh_outbound_requests_total"
#define METRIC_OUTBOUND_DURATION "bangsoleh_outbound_request_duration_seconds"

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* Defines the core metrics above. Idempotent. Returns 0. */
int metrics_init(void);
/* Forgets every definition and series (tests). */
void metrics_reset(void);

/*
 * Defines a metric. `bounds` (histograms only) are ascending upper bounds in
 * base units, at most METRICS_MAX_BUCKETS; name and help must be static
 * strings. Returns 0, or -1 when the name is taken with another type or the
 * table is full.
 */
int metrics_define(const char *name, enum metrics_type type, const char *help,
		   const uint64_t *bounds, size_t nbounds, uint64_t divisor);

/* Counter or gauge += delta. Unknown names are ignored. */
void metrics_add(const char *name, const char *labels, int64_t delta);
/* Gauge = value. */
void metrics_set(const char *name, const char *labels, int64_t value);
/* Histogram observation in base units. */
void metrics_observe(const char *name, const char *labels, uint64_t value);
/* Current value of a counter or gauge series, 0 if absent (tests, health). */
int64_t metrics_value(const char *name, const char *labels);

/*
 * Writes `k1="v1",k2="v2"` for the NULL-terminated key/value pairs into buf,
 * escaping backslash, quote and newline. Output is cut (still valid) when it
 * would not fit in cap. Returns buf.
 */
char *metrics_label(char *buf, size_t cap, ...);

/*
 * Renders every series. OUT: *out is malloc'd text (caller frees), *len its
 * length. Returns 0, or -1 when out of memory.
 */
int metrics_render(char **out, size_t *len);

#endif
