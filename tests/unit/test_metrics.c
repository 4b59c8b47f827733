#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static int setup(void **state)
{
	(void)state;
	metrics_reset();
	return metrics_init();
}

static char *render(void)
{
	char *text;
	size_t len;
	assert_int_equal(metrics_render(&text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_counter_and_labels(void **state)
{
	char labels[METRICS_LABELS_MAX];
	char *text;
	(void)state;
	metrics_label(labels, sizeof(labels), "route", "/healthz", "status", "200", (char *)NULL);
	assert_string_equal(labels, "route=\"/healthz\",status=\"200\"");
	metrics_add(METRIC_HTTP_REQUESTS, labels, 1);
	metrics_add(METRIC_HTTP_REQUESTS, labels, 2);
	assert_int_equal(metrics_value(METRIC_HTTP_REQUESTS, labels), 3);
	metrics_add("no_such_metric", labels, 1);
	assert_int_equal(metrics_value("no_such_metric", labels), 0);
	text = render();
	assert_non_null(strstr(text, "# TYPE bangsoleh_http_requests_total counter\n"));
	assert_non_null(strstr(text, "bangsoleh_http_requests_total{route=\"/healthz\",status=\"200\"} 3\n"));
	free(text);
}

static void test_label_escaping(void **state)
{
	char labels[METRICS_LABELS_MAX];
	char tiny[16];
	(void)state;
	metrics_label(labels, sizeof(labels), "path", "a\"b\\c\nd", (char *)NULL);
	assert_string_equal(labels, "path=\"a\\\"b\\\\c\\nd\"");
	/* A pair that does not fit is left out whole. */
	metrics_label(tiny, sizeof(tiny), "k", "v", "key", "too long to fit", (char *)NULL);
	assert_string_equal(tiny, "k=\"v\"");
}

static void test_gauge(void **state)
{
	char *text;
	(void)state;
	metrics_set(METRIC_STORE_QUEUE_DEPTH, "", 7);
	metrics_add(METRIC_STORE_QUEUE_DEPTH, "", -2);
	assert_int_equal(metrics_value(METRIC_STORE_QUEUE_DEPTH, ""), 5);
	text = render();
	assert_non_null(strstr(text, "\nbangsoleh_store_queue_depth 5\n"));
	free(text);
}

static void test_histogram(void **state)
{
	char *text;
	(void)state;
	metrics_observe(METRIC_HTTP_DURATION, "route=\"/x\"", 40);      /* 0.000040 s */
	metrics_observe(METRIC_HTTP_DURATION, "route=\"/x\"", 1500);    /* 0.0015 s */
	metrics_observe(METRIC_HTTP_DURATION, "route=\"/x\"", 99000000); /* beyond the last bound */
	assert_int_equal(metrics_value(METRIC_HTTP_DURATION, "route=\"/x\""), 3);
	text = render();
	assert_non_null(strstr(text, "bangsoleh_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.000050\"} 1\n"));
	assert_non_null(strstr(text, "bangsoleh_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.002500\"} 2\n"));
	assert_non_null(strstr(text, "bangsoleh_http_request_duration_seconds_bucket{route=\"/x\",le=\"10.000000\"} 2\n"));
	assert_non_null(strstr(text, "bangsoleh_http_request_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(text, "bangsoleh_http_request_duration_seconds_sum{route=\"/x\"} 99.001540\n"));
	assert_non_null(strstr(text, "bangsoleh_http_request_duration_seconds_count{route=\"/x\"} 3\n"));
	free(text);
	/* Unit divisor 1: plain integers. */
	metrics_observe(METRIC_STORE_BATCH_SIZE, "", 100);
	text = render();
	assert_non_null(strstr(text, "bangsoleh_store_batch_jobs_bucket{le=\"128\"} 1\n"));
	assert_non_null(strstr(text, "bangsoleh_store_batch_jobs_sum 100\n"));
	free(text);
}

static void test_definitions(void **state)
{
	static const uint64_t bounds[] = { 1, 2 };
	(void)state;
	assert_int_equal(metrics_define("t_counter", METRICS_COUNTER, "help", NULL, 0, 0), 0);
	assert_int_equal(metrics_define("t_counter", METRICS_COUNTER, "help", NULL, 0, 0), 0);
	assert_int_equal(metrics_define("t_counter", METRICS_GAUGE, "help", NULL, 0, 0), -1);
	assert_int_equal(metrics_define("t_hist", METRICS_HISTOGRAM, "help", bounds, 2, 0), -1);
	/* A counter update does not reach a histogram of that name. */
	assert_int_equal(metrics_define("t_hist", METRICS_HISTOGRAM, "help", bounds, 2, 1), 0);
	metrics_add("t_hist", "", 5);
	assert_int_equal(metrics_value("t_hist", ""), 0);
}

static void test_series_bound(void **state)
{
	char labels[32];
	char *text;
	(void)state;
	for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
		snprintf(labels, sizeof(labels), "n=\"%d\"", i);
		metrics_add(METRIC_OUTBOUND, labels, 1);
	}
	text = render();
	assert_non_null(strstr(text, "bangsoleh_metrics_dropped_total 10\n"));
	free(text);
}

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10000; i++)
		metrics_add(METRIC_STORE_JOBS, "outcome=\"ok\"", 1);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(metrics_value(METRIC_STORE_JOBS, "outcome=\"ok\""), 40000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_counter_and_labels, setup),
		cmocka_unit_test_setup(test_label_escaping, setup),
		cmocka_unit_test_setup(test_gauge, setup),
		cmocka_unit_test_setup(test_histogram, setup),
		cmocka_unit_test_setup(test_definitions, setup),
		cmocka_unit_test_setup(test_series_bound, setup),
		cmocka_unit_test_setup(test_threads, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
