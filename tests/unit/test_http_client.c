/*
 * hclient against a real HTTP server: libevent's evhttp on 127.0.0.1 with
 * an ephemeral port, in this process and on the same event_base as the
 * client. Routes let each test choose the server's behaviour; assertions
 * count calls, hits and attempts, never elapsed time (timers only bound
 * how long the loop runs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "hclient.h"
#include "metrics.h"

#define HANG_MAX 16         /* requests the /hang route may hold */
#define RESULTS_MAX 72      /* done records per test */
#define BIG_BODY 4096       /* /big and /bigchunked body size */
#define SMALL_CAP 1024      /* max_response used against /big */
#define SLOW_DELAY_MS 300   /* /slow answers after this */
#define LOOP_GUARD_S 20     /* a wait longer than this is a hang: fail */

/* What one done callback saw. */
struct result {
	unsigned calls;
	int error;
	long status;
	unsigned attempts;
	char body[BIG_BODY + 1];
	size_t body_len;
	bool body_terminated;
	bool text_set;
	char echo_test[64];
	char echo_method[16];
	bool missing_is_null;
	unsigned pending_inside;
};

struct fixture {
	struct event_base *base;
	struct evhttp *http;
	int port;
	int closed_port;        /* nothing listens here */
	struct hclient *client;
	unsigned done;          /* done callbacks over all results */

	unsigned hits;          /* requests the server saw, any route */
	unsigned hang_hits;
	unsigned flaky_hits;
	unsigned flaky_fail;    /* /flaky answers flaky_code this many times, then 200 */
	int flaky_code;
	struct evhttp_request *hung[HANG_MAX];
	unsigned nhung;

	struct result res[RESULTS_MAX];
};

static struct fixture F;

/* --- test server -------------------------------------------------------- */

static void srv_reply(struct evhttp_request *req, int code, const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	assert_non_null(b);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Status", b);
	evbuffer_free(b);
}

/* Echoes the request body, its method and its X-Test header. */
static void route_echo(struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *test = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test");
	const char *method;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: method = "GET"; break;
	case EVHTTP_REQ_POST: method = "POST"; break;
	case EVHTTP_REQ_PUT: method = "PUT"; break;
	case EVHTTP_REQ_DELETE: method = "DELETE"; break;
	default: method = "other"; break;
	}
	evhttp_add_header(out, "X-Echo-Method", method);
	evhttp_add_header(out, "X-Echo-Test", test ? test : "");
	struct evbuffer *b = evbuffer_new();
	assert_non_null(b);
	evbuffer_add_buffer(b, evhttp_request_get_input_buffer(req));
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void route_flaky(struct evhttp_request *req)
{
	if (++F.flaky_hits > F.flaky_fail) {
		srv_reply(req, 200, "ok", 2);
		return;
	}
	if (F.flaky_code == 429)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "0");
	srv_reply(req, F.flaky_code, "fail", 4);
}

static void route_big(struct evhttp_request *req, bool chunked)
{
	static char chunk[BIG_BODY / 4];
	memset(chunk, 'x', sizeof(chunk));
	if (!chunked) {
		static char body[BIG_BODY];
		memset(body, 'x', sizeof(body));
		srv_reply(req, 200, body, sizeof(body));
		return;
	}
	/* No Content-Length: only the client's write callback can notice. */
	evhttp_send_reply_start(req, 200, "OK");
	for (int i = 0; i < 4; i++) {
		struct evbuffer *b = evbuffer_new();
		assert_non_null(b);
		evbuffer_add(b, chunk, sizeof(chunk));
		evhttp_send_reply_chunk(req, b);
		evbuffer_free(b);
	}
	evhttp_send_reply_end(req);
}

struct slow_reply {
	struct evhttp_request *req;
	struct event *ev;
};

static void slow_fire(evutil_socket_t fd, short what, void *arg)
{
	struct slow_reply *s = arg;
	(void)fd;
	(void)what;
	srv_reply(s->req, 200, "slow", 4);
	event_free(s->ev);
	free(s);
}

/* Answers later from a timer: the server never blocks the shared loop. */
static void route_slow(struct evhttp_request *req)
{
	struct slow_reply *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->req = req;
	s->ev = evtimer_new(F.base, slow_fire, s);
	assert_non_null(s->ev);
	struct timeval tv = { 0, SLOW_DELAY_MS * 1000 };
	evtimer_add(s->ev, &tv);
}

static void srv_route(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	(void)arg;
	F.hits++;
	if (strcmp(uri, "/echo") == 0) {
		route_echo(req);
	} else if (strcmp(uri, "/flaky") == 0) {
		route_flaky(req);
	} else if (strcmp(uri, "/big") == 0) {
		route_big(req, false);
	} else if (strcmp(uri, "/bigchunked") == 0) {
		route_big(req, true);
	} else if (strcmp(uri, "/slow") == 0) {
		route_slow(req);
	} else if (strcmp(uri, "/hang") == 0 && F.nhung < HANG_MAX) {
		/* Held until teardown, which answers it so evhttp frees it. */
		F.hang_hits++;
		F.hung[F.nhung++] = req;
	} else {
		srv_reply(req, 404, "", 0);
	}
}

static int port_of(evutil_socket_t fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

/* A loopback port nobody listens on: bound once, then closed. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int port = port_of(fd);
	close(fd);
	return port;
}

static int fx_setup(void **state)
{
	memset(&F, 0, sizeof(F));
	F.base = event_base_new();
	assert_non_null(F.base);
	F.http = evhttp_new(F.base);
	assert_non_null(F.http);
	evhttp_set_gencb(F.http, srv_route, NULL);
	struct evhttp_bound_socket *h = evhttp_bind_socket_with_handle(F.http, "127.0.0.1", 0);
	assert_non_null(h);
	F.port = port_of(evhttp_bound_socket_get_fd(h));
	F.closed_port = closed_port();
	F.flaky_code = 500;
	*state = &F;
	return 0;
}

static int fx_teardown(void **state)
{
	(void)state;
	hclient_free(F.client);
	for (unsigned i = 0; i < F.nhung; i++)
		evhttp_send_reply(F.hung[i], 200, "OK", NULL);
	for (int i = 0; i < 8; i++)
		event_base_loop(F.base, EVLOOP_NONBLOCK);
	evhttp_free(F.http);
	event_base_free(F.base);
	return 0;
}

/* --- helpers ------------------------------------------------------------- */

static void on_done(const struct hclient_response *res, void *arg)
{
	struct result *r = arg;
	const char *v;
	r->calls++;
	F.done++;
	r->error = res->error;
	r->status = res->status;
	r->attempts = res->attempts;
	r->text_set = res->error_text != NULL;
	r->body_len = res->body_len;
	r->body_terminated = res->body[res->body_len] == '\0';
	if (res->body_len < sizeof(r->body))
		memcpy(r->body, res->body, res->body_len + 1);
	v = hclient_response_header(res, "x-echo-test");
	if (v)
		snprintf(r->echo_test, sizeof(r->echo_test), "%s", v);
	v = hclient_response_header(res, "X-ECHO-METHOD");
	if (v)
		snprintf(r->echo_method, sizeof(r->echo_method), "%s", v);
	r->missing_is_null = hclient_response_header(res, "X-Not-There") == NULL;
	r->pending_inside = hclient_pending(F.client);
}

static void on_flag(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Runs the loop until *count reaches want; a guard timer turns a hang into a failure. */
static void run_until(const unsigned *count, unsigned want)
{
	bool expired = false;
	struct event *t = evtimer_new(F.base, on_flag, &expired);
	struct timeval tv = { LOOP_GUARD_S, 0 };
	assert_non_null(t);
	evtimer_add(t, &tv);
	while (*count < want && !expired)
		event_base_loop(F.base, EVLOOP_ONCE);
	event_free(t);
	assert_true(*count >= want);
}

/* Lets the loop run for ms (e.g. past a breaker cooldown). */
static void run_for(long ms)
{
	bool fired = false;
	struct event *t = evtimer_new(F.base, on_flag, &fired);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	assert_non_null(t);
	evtimer_add(t, &tv);
	while (!fired)
		event_base_loop(F.base, EVLOOP_ONCE);
	event_free(t);
}

static void new_client(const struct hclient_config *cfg)
{
	assert_int_equal(hclient_new(F.base, cfg, &F.client), HCLIENT_OK);
}

/* URLs in these tests; `port` 0 means the live server. */
static const char *url(char buf[128], int port, const char *path)
{
	snprintf(buf, 128, "http://127.0.0.1:%d%s", port ? port : F.port, path);
	return buf;
}

static struct hclient_request get(const char *target, const char *u)
{
	struct hclient_request req = { .target = target, .method = "GET", .url = u };
	return req;
}

/* Sends req, runs the loop until it is done, returns its result. */
static struct result *roundtrip(const struct hclient_request *req, unsigned slot)
{
	unsigned want = F.done + 1;
	assert_int_equal(hclient_send(F.client, req, on_done, &F.res[slot]), HCLIENT_OK);
	assert_int_equal(F.res[slot].calls, 0);
	run_until(&F.done, want);
	assert_int_equal(F.res[slot].calls, 1);
	return &F.res[slot];
}

/* --- tests --------------------------------------------------------------- */

static void test_round_trip(void **state)
{
	char u[128];
	const char *hdrs[] = { "X-Test: hello", "Content-Type: text/plain", NULL };
	(void)state;
	new_client(NULL);
	struct hclient_request req = get("echo", url(u, 0, "/echo"));
	req.method = "POST";
	req.headers = hdrs;
	req.body = "ping-body";
	req.body_len = 9;

	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_OK);
	assert_int_equal(F.res[0].calls, 0);  /* never from inside hclient_send */
	assert_int_equal(hclient_pending(F.client), 1);
	run_until(&F.done, 1);
	struct result *r = &F.res[0];
	assert_int_equal(r->error, HCLIENT_OK);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->attempts, 1);
	assert_int_equal(r->body_len, 9);
	assert_string_equal(r->body, "ping-body");
	assert_true(r->body_terminated);
	assert_string_equal(r->echo_test, "hello");
	assert_string_equal(r->echo_method, "POST");
	assert_true(r->missing_is_null);
	assert_true(r->text_set);
	assert_int_equal(r->pending_inside, 0);
	assert_int_equal(F.hits, 1);

	/* Other methods go out as themselves (CURLOPT_CUSTOMREQUEST). */
	req.method = "PUT";
	r = roundtrip(&req, 1);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->echo_method, "PUT");
	assert_string_equal(r->body, "ping-body");

	req = get("echo", u);
	r = roundtrip(&req, 2);
	assert_string_equal(r->echo_method, "GET");
	assert_int_equal(r->body_len, 0);

	req.method = "DELETE";
	r = roundtrip(&req, 3);
	assert_string_equal(r->echo_method, "DELETE");
	assert_int_equal(F.hits, 4);
}

static void test_slow_reply_blocks_nothing(void **state)
{
	char u1[128], u2[128];
	(void)state;
	new_client(NULL);
	struct hclient_request slow = get("slow", url(u1, 0, "/slow"));
	struct hclient_request fast = get("fast", url(u2, 0, "/echo"));
	assert_int_equal(hclient_send(F.client, &slow, on_done, &F.res[0]), HCLIENT_OK);
	assert_int_equal(hclient_send(F.client, &fast, on_done, &F.res[1]), HCLIENT_OK);
	run_until(&F.done, 1);
	/* The fast answer came while the slow one was still outstanding. */
	assert_int_equal(F.res[1].calls, 1);
	assert_int_equal(F.res[1].pending_inside, 1);
	assert_int_equal(F.res[0].calls, 0);
	run_until(&F.done, 2);
	assert_int_equal(F.res[0].status, 200);
	assert_string_equal(F.res[0].body, "slow");
}

static void test_timeout(void **state)
{
	char u[128];
	(void)state;
	new_client(NULL);
	struct hclient_request req = get("hang", url(u, 0, "/hang"));
	req.total_timeout_ms = 200;
	struct result *r = roundtrip(&req, 0);
	assert_int_equal(r->error, HCLIENT_ETIMEOUT);
	assert_int_equal(r->status, 0);
	assert_int_equal(F.hang_hits, 1);
}

static void test_connect_refused(void **state)
{
	char u[128];
	(void)state;
	new_client(NULL);
	struct hclient_request req = get("down", url(u, F.closed_port, "/"));
	struct result *r = roundtrip(&req, 0);
	assert_int_equal(r->error, HCLIENT_ECONNECT);
	assert_int_equal(r->attempts, 1);
}

static void test_retries(void **state)
{
	char u[128];
	const struct hclient_config cfg = { .backoff_base_ms = 5, .backoff_max_ms = 20 };
	(void)state;
	new_client(&cfg);
	struct hclient_request req = get("flaky", url(u, 0, "/flaky"));

	req.retryable = true;
	F.flaky_fail = 2;
	struct result *r = roundtrip(&req, 0);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->attempts, 3);
	assert_int_equal(F.flaky_hits, 3);

	/* Not retryable: the first 500 is final. */
	req.retryable = false;
	F.flaky_hits = 0;
	r = roundtrip(&req, 1);
	assert_int_equal(r->error, HCLIENT_OK);
	assert_int_equal(r->status, 500);
	assert_int_equal(r->attempts, 1);
	assert_int_equal(F.flaky_hits, 1);

	/* max_attempts (3) bounds the tries; the last 500 is the outcome. */
	req.retryable = true;
	F.flaky_hits = 0;
	F.flaky_fail = 5;
	r = roundtrip(&req, 2);
	assert_int_equal(r->status, 500);
	assert_int_equal(r->attempts, 3);
	assert_int_equal(F.flaky_hits, 3);

	/* 429 is retried too (Retry-After: 0 sets no floor). */
	F.flaky_hits = 0;
	F.flaky_fail = 1;
	F.flaky_code = 429;
	r = roundtrip(&req, 3);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->attempts, 2);
	assert_int_equal(F.flaky_hits, 2);
}

static void test_response_cap(void **state)
{
	char u[128];
	static char body[SMALL_CAP];
	(void)state;
	new_client(NULL);
	memset(body, 'y', sizeof(body));

	/* Content-Length over the cap. */
	struct hclient_request req = get("cap", url(u, 0, "/big"));
	req.max_response = SMALL_CAP;
	struct result *r = roundtrip(&req, 0);
	assert_int_equal(r->error, HCLIENT_ETOOBIG);
	assert_int_equal(r->status, 0);
	assert_int_equal(r->body_len, 0);

	/* Chunked, length unknown until the data passes the cap. */
	req.url = url(u, 0, "/bigchunked");
	r = roundtrip(&req, 1);
	assert_int_equal(r->error, HCLIENT_ETOOBIG);

	/* Exactly the cap is allowed. */
	req.url = url(u, 0, "/echo");
	req.method = "POST";
	req.body = body;
	req.body_len = sizeof(body);
	r = roundtrip(&req, 2);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->body_len, SMALL_CAP);
	assert_true(r->body_terminated);
}

/* Three failed calls to the closed port open the breaker of `target`. */
static void open_breaker(const char *target, unsigned slot)
{
	char u[128];
	struct hclient_request req = get(target, url(u, F.closed_port, "/"));
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(roundtrip(&req, slot + i)->error, HCLIENT_ECONNECT);
}

static void test_breaker(void **state)
{
	char live[128], down[128];
	const struct hclient_config cfg = { .breaker_threshold = 3, .breaker_cooldown_ms = 100 };
	(void)state;
	new_client(&cfg);
	struct hclient_request ok = get("brk", url(live, 0, "/echo"));
	struct hclient_request bad = get("brk", url(down, F.closed_port, "/"));

	open_breaker("brk", 0);
	struct result *r = roundtrip(&ok, 3);
	assert_int_equal(r->error, HCLIENT_EOPEN);
	assert_int_equal(r->attempts, 0);
	assert_int_equal(F.hits, 0);  /* not sent */

	/* A different target has its own, closed breaker. */
	struct hclient_request other = get("other", live);
	assert_int_equal(roundtrip(&other, 4)->status, 200);
	assert_int_equal(F.hits, 1);

	/* After the cooldown exactly one probe goes out; the rest fail fast. */
	run_for(3 * cfg.breaker_cooldown_ms);
	assert_int_equal(hclient_send(F.client, &ok, on_done, &F.res[5]), HCLIENT_OK);
	assert_int_equal(hclient_send(F.client, &ok, on_done, &F.res[6]), HCLIENT_OK);
	run_until(&F.done, F.done + 2);
	assert_int_equal(F.res[5].status, 200);
	assert_int_equal(F.res[6].error, HCLIENT_EOPEN);
	assert_int_equal(F.hits, 2);

	/* The probe succeeded: closed again. */
	assert_int_equal(roundtrip(&ok, 7)->status, 200);
	assert_int_equal(F.hits, 3);

	/* A failed probe opens it for another cooldown. */
	open_breaker("brk", 8);
	run_for(3 * cfg.breaker_cooldown_ms);
	assert_int_equal(roundtrip(&bad, 11)->error, HCLIENT_ECONNECT);
	assert_int_equal(roundtrip(&ok, 12)->error, HCLIENT_EOPEN);
	assert_int_equal(F.hits, 3);
	run_for(3 * cfg.breaker_cooldown_ms);
	assert_int_equal(roundtrip(&ok, 13)->status, 200);
	assert_int_equal(F.hits, 4);
}

static void test_breaker_stops_retries(void **state)
{
	char u[128];
	const struct hclient_config cfg = {
		.breaker_threshold = 3, .breaker_cooldown_ms = 60000,
		.max_attempts = 6, .backoff_base_ms = 1, .backoff_max_ms = 5,
	};
	(void)state;
	new_client(&cfg);
	struct hclient_request req = get("stop", url(u, F.closed_port, "/"));
	req.retryable = true;
	struct result *r = roundtrip(&req, 0);
	assert_int_equal(r->error, HCLIENT_ECONNECT);
	assert_int_equal(r->attempts, 3);
	assert_int_equal(roundtrip(&req, 1)->error, HCLIENT_EOPEN);
}

static int64_t outcome_count(const char *target, const char *outcome)
{
	char labels[METRICS_LABELS_MAX];
	return metrics_value(METRIC_OUTBOUND,
			     metrics_label(labels, sizeof(labels), "target", target,
					   "outcome", outcome, NULL));
}

static void test_metrics(void **state)
{
	char live[128], flaky[128], down[128], hang[128], big[128];
	const struct hclient_config cfg = { .breaker_threshold = 2, .breaker_cooldown_ms = 60000 };
	(void)state;
	new_client(&cfg);
	struct hclient_request req = get("mtr", url(live, 0, "/echo"));
	roundtrip(&req, 0);
	roundtrip(&req, 1);
	F.flaky_fail = 1;
	req.url = url(flaky, 0, "/flaky");
	roundtrip(&req, 2);
	req.url = url(big, 0, "/big");
	req.max_response = SMALL_CAP;
	roundtrip(&req, 3);
	req.url = url(hang, 0, "/hang");
	req.total_timeout_ms = 100;
	roundtrip(&req, 4);
	req.url = url(down, F.closed_port, "/");
	roundtrip(&req, 5);  /* second failure in a row: opens */
	roundtrip(&req, 6);

	assert_int_equal(outcome_count("mtr", "2xx"), 2);
	assert_int_equal(outcome_count("mtr", "5xx"), 1);
	assert_int_equal(outcome_count("mtr", "too_big"), 1);
	assert_int_equal(outcome_count("mtr", "timeout"), 1);
	assert_int_equal(outcome_count("mtr", "connect"), 1);
	assert_int_equal(outcome_count("mtr", "open"), 1);
	assert_int_equal(outcome_count("mtr", "4xx"), 0);
	assert_int_equal(outcome_count("nobody", "2xx"), 0);
}

static void test_cancel(void **state)
{
	char hang[128], down[128];
	const struct hclient_config cfg = {
		.breaker_threshold = 2, .breaker_cooldown_ms = 60000, .max_attempts = 10,
		.backoff_base_ms = 60000, .backoff_max_ms = 60000,
	};
	(void)state;
	new_client(&cfg);
	struct hclient_request req = get("hang", url(hang, 0, "/hang"));
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[i]), HCLIENT_OK);
	/* Fails at once, then waits a long backoff for its retry. */
	struct hclient_request retry = get("retry", url(down, F.closed_port, "/"));
	retry.retryable = true;
	assert_int_equal(hclient_send(F.client, &retry, on_done, &F.res[3]), HCLIENT_OK);
	/* Opens the breaker of "shut", so the next call there waits to fail fast. */
	struct hclient_request shut = get("shut", down);
	assert_int_equal(roundtrip(&shut, 10)->error, HCLIENT_ECONNECT);
	assert_int_equal(roundtrip(&shut, 11)->error, HCLIENT_ECONNECT);
	run_until(&F.hang_hits, 3);
	run_for(100);
	assert_int_equal(hclient_send(F.client, &shut, on_done, &F.res[4]), HCLIENT_OK);
	/* Just added, not yet connected. */
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[5]), HCLIENT_OK);
	assert_int_equal(hclient_pending(F.client), 6);
	assert_int_equal(F.done, 2);

	hclient_free(F.client);
	F.client = NULL;
	assert_int_equal(F.done, 8);
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(F.res[i].calls, 1);
		assert_int_equal(F.res[i].error, HCLIENT_ECANCELLED);
		assert_true(F.res[i].text_set);
	}
	run_for(50);
	assert_int_equal(F.done, 8);
}

static void test_bad_input(void **state)
{
	char u[128];
	const char *many[HCLIENT_MAX_HEADERS + 2];
	const char *crlf[] = { "X-A: 1\r\nX-Injected: 2", NULL };
	const char *nocolon[] = { "X-A 1", NULL };
	char long_target[HCLIENT_TARGET_MAX + 2];
	(void)state;
	new_client(NULL);
	const struct hclient_request good = get("bad", url(u, 0, "/echo"));
	struct hclient_request req;

	for (unsigned i = 0; i < HCLIENT_MAX_HEADERS + 1; i++)
		many[i] = "X-Many: 1";
	many[HCLIENT_MAX_HEADERS + 1] = NULL;
	memset(long_target, 't', sizeof(long_target) - 1);
	long_target[sizeof(long_target) - 1] = '\0';

	const char *bad_urls[] = {
		"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/",
		"not a url", "/echo", "http://", "",
	};
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		req = good;
		req.url = bad_urls[i];
		assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	}
	req = good;
	req.url = NULL;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req = good;
	req.headers = many;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req.headers = crlf;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req.headers = nocolon;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req = good;
	req.method = "G ET";
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req.method = NULL;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req = good;
	req.target = NULL;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req.target = "";
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req.target = long_target;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req = good;
	req.body_len = 3;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req = good;
	req.max_response = SIZE_MAX;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	req = good;
	req.total_timeout_ms = -1;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[0]), HCLIENT_EINVAL);
	assert_int_equal(hclient_send(F.client, &good, NULL, NULL), HCLIENT_EINVAL);
	assert_int_equal(hclient_send(F.client, NULL, on_done, &F.res[0]), HCLIENT_EINVAL);

	/* Exactly HCLIENT_MAX_HEADERS headers and the longest target are fine. */
	many[HCLIENT_MAX_HEADERS] = NULL;
	long_target[HCLIENT_TARGET_MAX] = '\0';
	req = good;
	req.headers = many;
	req.target = long_target;
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[1]), HCLIENT_OK);

	assert_int_equal(hclient_pending(F.client), 1);
	run_until(&F.done, 1);
	assert_int_equal(F.res[0].calls, 0);  /* refused requests never complete */
	assert_int_equal(F.res[1].status, 200);
	assert_int_equal(F.hits, 1);          /* nothing else reached the server */

	struct hclient *c = NULL;
	const struct hclient_config too_many = { .max_attempts = 11 };
	const struct hclient_config negative = { .total_timeout_ms = -5 };
	assert_int_equal(hclient_new(F.base, &too_many, &c), HCLIENT_EINVAL);
	assert_int_equal(hclient_new(F.base, &negative, &c), HCLIENT_EINVAL);
	assert_null(c);
}

static void test_target_table_bounded(void **state)
{
	char u[128];
	char names[65][8];
	(void)state;
	new_client(NULL);
	struct hclient_request req = get(NULL, url(u, 0, "/echo"));
	for (unsigned i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "t%u", i);
		req.target = names[i];
		assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[i]), HCLIENT_OK);
	}
	run_until(&F.done, 64);
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(F.res[i].status, 200);
	snprintf(names[64], sizeof(names[64]), "t64");
	req.target = names[64];
	assert_int_equal(hclient_send(F.client, &req, on_done, &F.res[64]), HCLIENT_EINVAL);
	req.target = names[0];
	assert_int_equal(roundtrip(&req, 65)->status, 200);
}

static int group_setup(void **state)
{
	(void)state;
	return metrics_init();
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_round_trip),
		FX_TEST(test_slow_reply_blocks_nothing),
		FX_TEST(test_timeout),
		FX_TEST(test_connect_refused),
		FX_TEST(test_retries),
		FX_TEST(test_response_cap),
		FX_TEST(test_breaker),
		FX_TEST(test_breaker_stops_retries),
		FX_TEST(test_metrics),
		FX_TEST(test_cancel),
		FX_TEST(test_bad_input),
		FX_TEST(test_target_table_bounded),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
