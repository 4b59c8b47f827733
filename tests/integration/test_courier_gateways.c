/*
 * The courier-gateway modules over real HTTP: the real bangsoleh-sandbox
 * program ($BANGSOLEH_SANDBOX_BIN) on 127.0.0.1 with an ephemeral port and
 * shipments that step every SANDBOX_STEP_MS, and in this process one
 * libevent loop with the hclients the modules use and a small evhttp
 * receiver on 127.0.0.1:0 for the sandbox's courier webhooks (and, under
 * /canned/, a fixed answer that shows what the biteship module sends).
 * Rates, orders (twice: one order), tracking, the walk of statuses with
 * every webhook parsed, tracking by order and by the courier's tracking
 * id, cancel before and after pick-up, duplicates, price changes, forged
 * and malformed webhooks, dropped webhooks, refusals told from other
 * errors, and a provider that is down.
 *
 * Assertions count things (callbacks, webhooks); timers only bound how
 * long a wait may last. Control calls to the sandbox (sandboxtest) block
 * while the loop is idle; the sandbox retries the webhooks they delay.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "courier.h"
#include "hclient.h"
#include "sandboxtest.h"

#define LOOP_GUARD_S 30             /* a wait longer than this is a hang: fail */
#define SANDBOX_STEP_MS "100"       /* --ship-step-ms: a whole walk takes half a second */
#define HOOKS_MAX 512               /* webhooks kept */
#define HOOK_HEADERS_MAX 24
#define URL_MAX 256
#define SHORT_TIMEOUT_MS 300
#define KEY "biteship_test.bangsoleh-sandbox"
#define TOKEN "sandbox-courier-token"
#define READY "listening on http://127.0.0.1:"

#define PYK_LAT (-224500)
#define PYK_LNG 100633100
#define BKT_LAT (-305600)
#define BKT_LNG 100369200

/* One request the receiver got; strings malloc'd. */
struct hook {
	char *path;        /* without the query */
	char *token;       /* the `token` query parameter, or NULL */
	char *body;
	size_t body_len;
	size_t nh;
	char *names[HOOK_HEADERS_MAX];
	char *values[HOOK_HEADERS_MAX];
};

static struct {
	struct event_base *base;
	struct evhttp *recv;
	int recv_port;
	struct hclient *http;        /* retries on */
	struct hclient *http_once;   /* one attempt */
	struct sandboxtest sb;
	char sb_url[URL_MAX];
	struct courier_gateway *sandbox;
	struct hook hooks[HOOKS_MAX];
	size_t nhooks;
	char *canned;                /* the /canned/ answer, malloc'd */
	int canned_status;           /* its HTTP status (0: 200) */
	bool guard;
} F;

/* --- the loop and the receiver --------------------------------------------- */

static void guard_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	F.guard = true;
}

/* Runs the loop until done(arg) or the guard; fails the test on the guard. */
static void run_until(bool (*done)(void *), void *arg)
{
	struct timeval guard = { LOOP_GUARD_S, 0 }, tick = { 0, 20000 };
	struct event *g = evtimer_new(F.base, guard_fired, NULL);
	assert_non_null(g);
	assert_int_equal(evtimer_add(g, &guard), 0);
	F.guard = false;
	while (!done(arg) && !F.guard) {
		/* A tick bounds each turn, so done() is asked again even when nothing happens. */
		event_base_loopexit(F.base, &tick);
		event_base_dispatch(F.base);
	}
	event_free(g);
	assert_false(F.guard);
}

static char *dup_or_fail(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req), *out = evbuffer_new();
	struct hook *h = F.nhooks < HOOKS_MAX ? &F.hooks[F.nhooks++] : NULL;
	const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
	struct evkeyvalq q;
	struct evkeyval *kv;
	(void)arg;
	assert_non_null(out);
	if (h) {
		h->path = dup_or_fail(path ? path : "");
		TAILQ_INIT(&q);
		if (query && evhttp_parse_query_str(query, &q) == 0 && evhttp_find_header(&q, "token"))
			h->token = dup_or_fail(evhttp_find_header(&q, "token"));
		evhttp_clear_headers(&q);
		h->body_len = evbuffer_get_length(in);
		h->body = malloc(h->body_len + 1);
		assert_non_null(h->body);
		evbuffer_remove(in, h->body, h->body_len);
		h->body[h->body_len] = '\0';
		TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next) {
			if (h->nh == HOOK_HEADERS_MAX)
				break;
			h->names[h->nh] = dup_or_fail(kv->key);
			h->values[h->nh++] = dup_or_fail(kv->value);
		}
	}
	if (path && strncmp(path, "/canned/", 8) == 0 && F.canned)
		evbuffer_add(out, F.canned, strlen(F.canned));
	else
		evbuffer_add(out, "{}", 2);
	evhttp_send_reply(req, path && strncmp(path, "/canned/", 8) == 0 && F.canned_status ? F.canned_status : 200,
			  "OK", out);
	evbuffer_free(out);
}

static const char *hook_header(const struct hook *h, const char *name)
{
	for (size_t i = 0; i < h->nh; i++)
		if (strcasecmp(h->names[i], name) == 0)
			return h->values[i];
	return NULL;
}

static const char *hook_query(const char *name, void *ctx)
{
	const struct hook *h = ctx;
	return strcmp(name, "token") == 0 ? h->token : NULL;
}

static int hook_parse(const struct hook *h, struct courier_event *ev)
{
	struct courier_webhook w = { h->body, h->body_len, hook_query, (void *)h };
	return courier_parse_webhook(F.sandbox, &w, ev);
}

/* Is hook i a webhook about order `id` (and holding `marker` when set)? */
static bool hook_is(size_t i, const char *id, const char *marker)
{
	char quoted[COURIER_ID_MAX + 3];
	snprintf(quoted, sizeof(quoted), "\"%s\"", id);
	return strcmp(F.hooks[i].path, "/hook") == 0 && strstr(F.hooks[i].body, quoted) &&
	       (!marker || strstr(F.hooks[i].body, marker));
}

struct hook_wait {
	size_t from;
	const char *id, *marker;
	size_t want;
};

static size_t hooks_count(const struct hook_wait *w)
{
	size_t n = 0;
	for (size_t i = w->from; i < F.nhooks; i++)
		n += hook_is(i, w->id, w->marker);
	return n;
}

static bool hooks_enough(void *arg)
{
	const struct hook_wait *w = arg;
	return hooks_count(w) >= w->want;
}

/* Waits until `want` webhooks about order id (with marker) arrived since `from`. */
static void wait_hooks(size_t from, const char *id, const char *marker, size_t want)
{
	struct hook_wait w = { from, id, marker, want };
	run_until(hooks_enough, &w);
}

/* The status event of the last webhook since `from` about order id with marker; fails when there is none. */
static void last_status(size_t from, const char *id, const char *marker, struct courier_event *ev)
{
	for (size_t i = F.nhooks; i-- > from;) {
		if (hook_is(i, id, marker) && strstr(F.hooks[i].body, "\"order.status\"")) {
			assert_int_equal(hook_parse(&F.hooks[i], ev), COURIER_OK);
			assert_int_equal(ev->kind, COURIER_EVENT_STATUS);
			return;
		}
	}
	fail_msg("no order.status webhook about %s with %s", id, marker);
}

/* --- gateway calls, run to their callback ------------------------------------ */

struct call_out {
	unsigned calls;
	struct courier_rates_res rates;
	struct courier_ship_res ship;
	char text[COURIER_TEXT_MAX + 1];
};

static bool called(void *arg)
{
	return ((struct call_out *)arg)->calls > 0;
}

static void rates_done(const struct courier_rates_res *res, void *arg)
{
	struct call_out *o = arg;
	o->calls++;
	o->rates = *res;
	snprintf(o->text, sizeof(o->text), "%s", res->error_text);
}

static void ship_done(const struct courier_ship_res *res, void *arg)
{
	struct call_out *o = arg;
	o->calls++;
	o->ship = *res;
	snprintf(o->text, sizeof(o->text), "%s", res->error_text);
}

/* Runs a started call to its one callback. */
static void finish(int rc, struct call_out *o)
{
	assert_int_equal(rc, COURIER_OK);
	assert_int_equal(o->calls, 0);   /* never from inside the call */
	run_until(called, o);
	assert_int_equal(o->calls, 1);
}

static struct courier_item goods[] = { { "Rendang Uni Emi", 50000, 1500, 2 } };

static void rates(struct courier_gateway *g, bool coords, struct call_out *o)
{
	struct courier_rates_req req = {
		.origin = { .postal_code = "26211", .has_coords = coords, .lat_e6 = PYK_LAT, .lng_e6 = PYK_LNG },
		.destination = { .postal_code = "26111", .has_coords = coords, .lat_e6 = BKT_LAT, .lng_e6 = BKT_LNG },
		.items = goods,
		.nitems = 1,
	};
	memset(o, 0, sizeof(*o));
	finish(courier_rates(g, &req, rates_done, o), o);
}

static void ship(struct courier_gateway *g, const char *id, const char *courier, const char *service,
		 struct call_out *o)
{
	struct courier_ship_req req = {
		.shipment_id = id,
		.origin = { "Warung Bu Siti", "081211112222", "Jl. Sudirman 1, Payakumbuh", "26211", true, PYK_LAT,
			    PYK_LNG },
		.destination = { "Ani", "081233334444", "Jl. Soekarno-Hatta 5, Bukittinggi", "26111", true, BKT_LAT,
				 BKT_LNG },
		.items = goods,
		.nitems = 1,
		.courier_code = courier,
		.service_code = service,
		.note = "Hati-hati, kuah",
	};
	memset(o, 0, sizeof(*o));
	finish(courier_ship(g, &req, ship_done, o), o);
}

static void ship_ok(const char *id, struct call_out *o)
{
	ship(F.sandbox, id, "jne", "reg", o);
	if (o->ship.error != COURIER_OK)
		fail_msg("ship %s: %d %s", id, o->ship.error, o->text);
	assert_true(o->ship.provider_id[0] != '\0');
}

/* Tracks the order, by the courier's tracking id when not NULL. */
static void track(struct courier_gateway *g, const char *provider_id, const char *tracking_id, struct call_out *o)
{
	memset(o, 0, sizeof(*o));
	finish(courier_track(g, provider_id, tracking_id, ship_done, o), o);
}

static void cancel_with(struct courier_gateway *g, const char *provider_id, struct call_out *o)
{
	memset(o, 0, sizeof(*o));
	finish(courier_cancel(g, provider_id, "pembeli batal", ship_done, o), o);
}

static void cancel(const char *provider_id, struct call_out *o)
{
	cancel_with(F.sandbox, provider_id, o);
}

/* POST /simulate/shipment/{id} with body. */
static void simulate(const char *id, const char *body)
{
	char path[COURIER_ID_MAX + 32];
	snprintf(path, sizeof(path), "/simulate/shipment/%s", id);
	json_decref(sandboxtest_call(&F.sb, "POST", path, body, 200));
}

/* The sandbox's view of a shipment (GET /simulate/shipments/{id}); the caller json_decref's. */
static json_t *sandbox_shipment(const char *id)
{
	char path[COURIER_ID_MAX + 32];
	snprintf(path, sizeof(path), "/simulate/shipments/%s", id);
	return sandboxtest_call(&F.sb, "GET", path, NULL, 200);
}

/* --- set-up ---------------------------------------------------------------------- */

/* Starts the sandbox with courier webhooks to the receiver. Returns 0 or -1. */
static int sandbox_start(void)
{
	const char *bin = getenv("BANGSOLEH_SANDBOX_BIN");
	char hook[URL_MAX], line[SANDBOXTEST_READY_MAX + 1];
	size_t len = 0;
	int fds[2];
	int64_t deadline = sandboxtest_now_ms() + TESTSRV_READY_TIMEOUT_MS;
	sandboxtest_init(&F.sb);
	if (!bin || pipe(fds) != 0)
		return -1;
	snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hook?token=%s", F.recv_port, TOKEN);
	F.sb.pid = fork();
	if (F.sb.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		execl(bin, bin, "--listen", "127.0.0.1:0", "--notify-biteship", hook, "--ship-step-ms",
		      SANDBOX_STEP_MS, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	F.sb.stdout_fd = fds[0];
	while (F.sb.pid > 0 && !memchr(line, '\n', len) && len < SANDBOXTEST_READY_MAX) {
		struct pollfd p = { fds[0], POLLIN, 0 };
		ssize_t n;
		if (sandboxtest_now_ms() > deadline || poll(&p, 1, 100) < 0)
			return -1;
		n = p.revents ? read(fds[0], line + len, SANDBOXTEST_READY_MAX - len) : 0;
		if (p.revents && n <= 0)
			return -1;
		len += n > 0 ? (size_t)n : 0;
	}
	line[len] = '\0';
	const char *at = strstr(line, READY);
	if (!at)
		return -1;
	F.sb.port = atoi(at + strlen(READY));
	F.sb.peer.port = F.sb.port;
	snprintf(F.sb_url, sizeof(F.sb_url), "http://127.0.0.1:%d", F.sb.port);
	return 0;
}

static struct courier_gateway *gateway(const char *module, const char *base_url, const char *key, long timeout_ms,
				       struct hclient *http)
{
	struct courier_gateway *g = NULL;
	struct courier_gateway_config cfg = { .module = module, .base_url = base_url, .api_key = key,
					      .webhook_token = TOKEN, .couriers = "jne,sicepat,gojek",
					      .timeout_ms = timeout_ms };
	assert_int_equal(courier_gateway_new(&cfg, http, &g), COURIER_OK);
	return g;
}

static int group_setup(void **state)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct hclient_config hc = { .backoff_base_ms = 20, .backoff_max_ms = 200, .breaker_threshold = 1000,
				     .max_attempts = 3 };
	struct hclient_config once = hc;
	struct evhttp_bound_socket *bs;
	(void)state;
	once.max_attempts = 1;
	memset(&F, 0, sizeof(F));
	sandboxtest_init(&F.sb);
	signal(SIGPIPE, SIG_IGN);
	F.base = event_base_new();
	F.recv = F.base ? evhttp_new(F.base) : NULL;
	if (!F.recv)
		return -1;
	evhttp_set_gencb(F.recv, on_request, NULL);
	bs = evhttp_bind_socket_with_handle(F.recv, "127.0.0.1", 0);
	if (!bs || getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &salen) != 0)
		return -1;
	F.recv_port = ntohs(sa.sin_port);
	if (hclient_new(F.base, &hc, &F.http) != 0 || hclient_new(F.base, &once, &F.http_once) != 0)
		return -1;
	if (sandbox_start() != 0) {
		fprintf(stderr, "bangsoleh-sandbox did not start\n");
		return -1;
	}
	struct courier_gateway_config cfg = { .module = "sandbox", .base_url = F.sb_url,
					      .couriers = "jne,sicepat,gojek" };
	return courier_gateway_new(&cfg, F.http, &F.sandbox) == COURIER_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	sandboxtest_stop(&F.sb);
	/* The clients first: they may still call back into gateways' calls. */
	hclient_free(F.http);
	hclient_free(F.http_once);
	courier_gateway_free(F.sandbox);
	if (F.recv)
		evhttp_free(F.recv);
	if (F.base)
		event_base_free(F.base);
	/* What the receiver kept outlives the loop. */
	for (size_t i = 0; i < F.nhooks; i++) {
		struct hook *h = &F.hooks[i];
		for (size_t j = 0; j < h->nh; j++) {
			free(h->names[j]);
			free(h->values[j]);
		}
		free(h->path);
		free(h->token);
		free(h->body);
	}
	free(F.canned);
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	json_decref(sandboxtest_call(&F.sb, "DELETE", "/simulate/faults", NULL, 200));
	return 0;
}

/* --- cases ------------------------------------------------------------------------ */

/* The sandbox's prices: base + per_km * km + per_kg * (kg - 1) (docs/sandbox.md). */
static int64_t price_of(int64_t base, int64_t per_km, int64_t per_kg, int64_t km, int64_t kg)
{
	return base + per_km * km + per_kg * (kg - 1);
}

static const struct courier_rate *rate_of(const struct courier_rates_res *res, const char *courier,
					  const char *service)
{
	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->rates[i].courier_code, courier) == 0 && strcmp(res->rates[i].service_code, service) == 0)
			return &res->rates[i];
	fail_msg("no rate for %s %s", courier, service);
	return NULL;
}

static void test_rates(void **state)
{
	struct call_out o;
	int64_t m, km;
	struct courier_gateway *bite = gateway("biteship", F.sb_url, KEY, 0, F.http);
	(void)state;
	assert_int_equal(courier_distance_m(PYK_LAT, PYK_LNG, BKT_LAT, BKT_LNG, &m), COURIER_OK);
	km = (m + 999) / 1000;
	rates(F.sandbox, true, &o);
	if (o.rates.error != COURIER_OK)
		fail_msg("rates: %s", o.text);
	assert_int_equal(o.rates.n, 4);
	/* 2 x 1500 g: 3 kg. */
	assert_int_equal(rate_of(&o.rates, "jne", "reg")->price, price_of(9000, 10, 9000, km, 3));
	assert_int_equal(rate_of(&o.rates, "jne", "yes")->price, price_of(18000, 15, 18000, km, 3));
	assert_int_equal(rate_of(&o.rates, "sicepat", "reg")->price, price_of(8000, 9, 8000, km, 3));
	assert_int_equal(rate_of(&o.rates, "gojek", "instant")->price, price_of(10000, 2500, 0, km, 1));
	assert_string_equal(rate_of(&o.rates, "jne", "reg")->courier_name, "JNE");
	assert_string_equal(rate_of(&o.rates, "jne", "yes")->service_name, "Yakin Esok Sampai");
	assert_string_equal(rate_of(&o.rates, "sicepat", "reg")->duration, "1 - 2 days");
	/* Postal codes only: 1 + 100 / 10 km, and no instant courier without coordinates. */
	rates(F.sandbox, false, &o);
	assert_int_equal(o.rates.error, COURIER_OK);
	assert_int_equal(o.rates.n, 3);
	assert_int_equal(rate_of(&o.rates, "jne", "reg")->price, price_of(9000, 10, 9000, 11, 3));
	/* The biteship module speaks the same protocol with its raw key. */
	rates(bite, true, &o);
	assert_int_equal(o.rates.error, COURIER_OK);
	assert_int_equal(o.rates.n, 4);
	courier_gateway_free(bite);
	/* A wrong key is the provider's refusal, not an outage. */
	bite = gateway("biteship", F.sb_url, "biteship_test.wrong", 0, F.http);
	rates(bite, true, &o);
	assert_int_equal(o.rates.error, COURIER_EPROVIDER);
	assert_non_null(strstr(o.text, "40101001"));
	assert_int_equal(o.rates.n, 0);
	courier_gateway_free(bite);
}

/* What the biteship module sends: the raw key, the idempotency key, the body. */
static void test_request_shape(void **state)
{
	char base[URL_MAX];
	struct call_out o;
	size_t from = F.nhooks;
	struct courier_gateway *bite;
	json_t *sent;
	const struct hook *h = NULL;
	(void)state;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/canned", F.recv_port);
	bite = gateway("biteship", base, KEY, 0, F.http);
	free(F.canned);
	F.canned = dup_or_fail("{\"success\":true,\"object\":\"order\",\"id\":\"ord-c1\",\"reference_id\":\"shp-c1\","
			       "\"status\":\"confirmed\",\"price\":18110,\"courier\":{\"tracking_id\":\"t1\","
			       "\"waybill_id\":null,\"company\":\"jne\",\"type\":\"reg\",\"link\":null}}");
	ship(bite, "shp-c1", "jne", "reg", &o);
	assert_int_equal(o.ship.error, COURIER_OK);
	assert_string_equal(o.ship.provider_id, "ord-c1");
	assert_int_equal(o.ship.state, SHIP_PENDING);
	assert_int_equal(o.ship.price, 18110);
	assert_string_equal(o.ship.waybill, "");
	for (size_t i = from; i < F.nhooks; i++)
		if (strcmp(F.hooks[i].path, "/canned/v1/orders") == 0)
			h = &F.hooks[i];
	assert_non_null(h);
	assert_string_equal(hook_header(h, "authorization"), KEY);
	assert_string_equal(hook_header(h, "Idempotency-Key"), "shp-c1");
	/* Coordinates are decimal text made from integers. */
	assert_non_null(strstr(h->body, "\"origin_coordinate\":{\"latitude\":-0.224500,\"longitude\":100.633100}"));
	sent = json_loads(h->body, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(sent);
	assert_string_equal(json_string_value(json_object_get(sent, "reference_id")), "shp-c1");
	assert_string_equal(json_string_value(json_object_get(sent, "courier_company")), "jne");
	assert_string_equal(json_string_value(json_object_get(sent, "courier_type")), "reg");
	assert_string_equal(json_string_value(json_object_get(sent, "origin_contact_name")), "Warung Bu Siti");
	assert_int_equal(json_integer_value(json_object_get(sent, "destination_postal_code")), 26111);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(sent, "items"), 0),
							    "weight")),
			 1500);
	json_decref(sent);
	/* An answer about another shipment is not ours. */
	free(F.canned);
	F.canned = dup_or_fail("{\"success\":true,\"id\":\"ord-c2\",\"reference_id\":\"shp-other\","
			       "\"status\":\"confirmed\"}");
	ship(bite, "shp-c2", "jne", "reg", &o);
	assert_int_equal(o.ship.error, COURIER_EMALFORMED);
	free(F.canned);
	F.canned = dup_or_fail("{\"success\":true,\"id\":\"ord-c2\",\"status\":\"teleported\"}");
	track(bite, "ord-c2", NULL, &o);
	assert_int_equal(o.ship.error, COURIER_EMALFORMED);
	/* Tracking by the courier's id: GET /v1/trackings/{id}, its fields where the tracking answer has them. */
	free(F.canned);
	F.canned = dup_or_fail("{\"success\":true,\"object\":\"tracking\",\"id\":\"t1\",\"waybill_id\":\"WYB-7\","
			       "\"courier\":{\"company\":\"jne\",\"driver_name\":\"Uda\",\"driver_phone\":\"0812\","
			       "\"driver_plate_number\":\"BA 1 XY\"},\"history\":[{\"note\":\"x\",\"status\":\"picked\","
			       "\"updated_at\":\"2026-11-27T23:33:45.241Z\"}],\"link\":\"http://t/1\","
			       "\"order_id\":\"ord-c1\",\"status\":\"picked\"}");
	from = F.nhooks;
	track(bite, "ord-c1", "t1", &o);
	assert_int_equal(o.ship.error, COURIER_OK);
	assert_int_equal(o.ship.state, SHIP_PICKED);
	assert_string_equal(o.ship.provider_id, "ord-c1");
	assert_string_equal(o.ship.tracking_id, "t1");
	assert_string_equal(o.ship.waybill, "WYB-7");
	assert_string_equal(o.ship.link, "http://t/1");
	assert_string_equal(o.ship.driver_name, "Uda");
	assert_string_equal(o.ship.plate, "BA 1 XY");
	assert_string_equal(F.hooks[F.nhooks - 1].path, "/canned/v1/trackings/t1");
	/* A tracking of another order, or another tracking, is not ours. */
	track(bite, "ord-c9", "t1", &o);
	assert_int_equal(o.ship.error, COURIER_EMALFORMED);
	track(bite, "ord-c1", "t2", &o);
	assert_int_equal(o.ship.error, COURIER_EMALFORMED);
	/* A cancel names its reason and a reason code. */
	F.canned[0] = '\0';
	cancel_with(bite, "ord-c1", &o);
	h = &F.hooks[F.nhooks - 1];
	assert_string_equal(h->path, "/canned/v1/orders/ord-c1/cancel");
	sent = json_loads(h->body, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(sent);
	assert_string_equal(json_string_value(json_object_get(sent, "cancellation_reason_code")), "others");
	assert_string_equal(json_string_value(json_object_get(sent, "cancellation_reason")), "pembeli batal");
	json_decref(sent);
	courier_gateway_free(bite);
}

/* The same create twice is one order; tracking sees it. */
static void test_create_twice(void **state)
{
	struct call_out first, second, t;
	json_t *list, *sh;
	size_t i, n = 0;
	(void)state;
	sandboxtest_fault(&F.sb, "shp-twice", "\"shipment_manual\":true");
	ship_ok("shp-twice", &first);
	assert_int_equal(first.ship.state, SHIP_PENDING);
	assert_true(first.ship.price > 0);
	ship_ok("shp-twice", &second);
	assert_string_equal(second.ship.provider_id, first.ship.provider_id);
	list = sandboxtest_call(&F.sb, "GET", "/simulate/shipments", NULL, 200);
	json_array_foreach(json_object_get(list, "shipments"), i, sh)
		n += strcmp(json_string_value(json_object_get(sh, "reference_id")), "shp-twice") == 0;
	json_decref(list);
	assert_int_equal(n, 1);
	track(F.sandbox, first.ship.provider_id, NULL, &t);
	assert_int_equal(t.ship.error, COURIER_OK);
	assert_string_equal(t.ship.provider_id, first.ship.provider_id);
	assert_int_equal(t.ship.state, SHIP_PENDING);
	assert_int_equal(t.ship.price, first.ship.price);
	/* The create answer and the order carry the courier's tracking id; tracking by it names the order. */
	assert_int_equal(strlen(first.ship.tracking_id), 24);
	assert_string_equal(t.ship.tracking_id, first.ship.tracking_id);
	track(F.sandbox, first.ship.provider_id, first.ship.tracking_id, &t);
	assert_int_equal(t.ship.error, COURIER_OK);
	assert_string_equal(t.ship.provider_id, first.ship.provider_id);
	assert_string_equal(t.ship.tracking_id, first.ship.tracking_id);
	assert_int_equal(t.ship.state, SHIP_PENDING);
	/* Unknown orders and trackings are the provider's errors, not refusals of a request. */
	track(F.sandbox, "no-such-order", NULL, &t);
	assert_int_equal(t.ship.error, COURIER_EPROVIDER);
	track(F.sandbox, first.ship.provider_id, "no-such-tracking", &t);
	assert_int_equal(t.ship.error, COURIER_EPROVIDER);
}

/* The walk: a webhook per status, in order, the waybill once; tracking ends delivered. */
static void test_walk(void **state)
{
	static const enum ship_state walk[] = { SHIP_PENDING, SHIP_ALLOCATED, SHIP_PICKING_UP, SHIP_PICKED,
						SHIP_IN_TRANSIT, SHIP_DELIVERED };
	struct call_out o, t;
	struct courier_event ev;
	size_t from = F.nhooks, next = 0, waybills = 0;
	(void)state;
	ship_ok("shp-walk", &o);
	wait_hooks(from, o.ship.provider_id, "\"delivered\"", 1);
	for (size_t i = from; i < F.nhooks; i++) {
		if (!hook_is(i, o.ship.provider_id, NULL))
			continue;
		assert_string_equal(hook_header(&F.hooks[i], "Content-Type"), "application/json");
		assert_int_equal(hook_parse(&F.hooks[i], &ev), COURIER_OK);
		assert_string_equal(ev.provider_id, o.ship.provider_id);
		if (ev.kind == COURIER_EVENT_WAYBILL) {
			waybills++;
			assert_true(ev.waybill[0] != '\0');
			continue;
		}
		assert_int_equal(ev.kind, COURIER_EVENT_STATUS);
		assert_true(next < sizeof(walk) / sizeof(walk[0]));
		assert_int_equal(ev.state, walk[next++]);
		if (ev.state >= SHIP_ALLOCATED) {
			assert_string_equal(ev.driver_name, "Budi Santoso");
			assert_string_equal(ev.plate, "BA 1234 XY");
		}
	}
	assert_int_equal(next, sizeof(walk) / sizeof(walk[0]));
	assert_int_equal(waybills, 1);
	track(F.sandbox, o.ship.provider_id, o.ship.tracking_id, &t);
	assert_int_equal(t.ship.error, COURIER_OK);
	assert_int_equal(t.ship.state, SHIP_DELIVERED);
	assert_true(t.ship.waybill[0] != '\0');
	assert_string_equal(t.ship.driver_phone, "081234567890");
	assert_non_null(strstr(t.ship.link, o.ship.provider_id));
	/* The API wants the key (the test controls do not); the controls show the history. */
	char path[COURIER_ID_MAX + 32];
	snprintf(path, sizeof(path), "/v1/trackings/%s", o.ship.provider_id);
	json_decref(sandboxtest_call(&F.sb, "GET", path, NULL, 401));
	json_t *sh = sandbox_shipment(o.ship.provider_id);
	assert_int_equal(json_array_size(json_object_get(sh, "history")), 6);
	json_decref(sh);
}

static void test_cancel(void **state)
{
	struct call_out o, c, t;
	struct courier_event ev;
	size_t from;
	(void)state;
	sandboxtest_fault(&F.sb, "shp-cancel-1", "\"shipment_manual\":true");
	sandboxtest_fault(&F.sb, "shp-cancel-2", "\"shipment_manual\":true");
	ship_ok("shp-cancel-1", &o);
	simulate(o.ship.provider_id, "{\"status\":\"picking_up\"}");
	from = F.nhooks;
	cancel(o.ship.provider_id, &c);
	assert_int_equal(c.ship.error, COURIER_OK);
	assert_int_equal(c.ship.state, SHIP_CANCELLED);
	wait_hooks(from, o.ship.provider_id, "\"cancelled\"", 1);
	last_status(from, o.ship.provider_id, "\"cancelled\"", &ev);
	assert_int_equal(ev.state, SHIP_CANCELLED);
	/* Picked up: too late. */
	ship_ok("shp-cancel-2", &o);
	simulate(o.ship.provider_id, "{\"status\":\"picked\"}");
	cancel(o.ship.provider_id, &c);
	assert_int_equal(c.ship.error, COURIER_EREFUSED);
	assert_non_null(strstr(c.text, "picked"));
	track(F.sandbox, o.ship.provider_id, NULL, &t);
	assert_int_equal(t.ship.state, SHIP_PICKED);
}

/* Every other status by hand, price changes, and duplicates with one event id. */
static void test_simulated_statuses(void **state)
{
	static const struct {
		const char *word;
		enum ship_state state;
	} moves[] = {
		{ "on_hold", SHIP_ON_HOLD },          { "return_in_transit", SHIP_RETURNING },
		{ "returned", SHIP_RETURNED },        { "rejected", SHIP_FAILED },
		{ "disposed", SHIP_FAILED },          { "courier_not_found", SHIP_FAILED },
		{ "scheduled", SHIP_PENDING },
	};
	struct call_out o;
	struct courier_event ev, first;
	char body[64], marker[48];
	size_t from, seen = 0;
	(void)state;
	sandboxtest_fault(&F.sb, "shp-sim", "\"shipment_manual\":true");
	ship_ok("shp-sim", &o);
	for (size_t m = 0; m < sizeof(moves) / sizeof(moves[0]); m++) {
		from = F.nhooks;
		snprintf(body, sizeof(body), "{\"status\":\"%s\"}", moves[m].word);
		snprintf(marker, sizeof(marker), "\"status\":\"%s\"", moves[m].word);
		simulate(o.ship.provider_id, body);
		wait_hooks(from, o.ship.provider_id, marker, 1);
		last_status(from, o.ship.provider_id, marker, &ev);
		assert_int_equal(ev.state, moves[m].state);
	}
	/* A new price: order.price; two duplicates carry the same event id. */
	sandboxtest_fault(&F.sb, "shp-sim", "\"duplicates\":2");
	from = F.nhooks;
	simulate(o.ship.provider_id, "{\"price\":21000}");
	wait_hooks(from, o.ship.provider_id, "order.price", 3);
	for (size_t i = from; i < F.nhooks; i++) {
		if (!hook_is(i, o.ship.provider_id, "order.price"))
			continue;
		assert_int_equal(hook_parse(&F.hooks[i], seen ? &ev : &first), COURIER_OK);
		assert_int_equal(first.kind, COURIER_EVENT_PRICE);
		assert_int_equal(first.price, 21000);
		if (seen)
			assert_string_equal(ev.event_id, first.event_id);
		seen++;
	}
	assert_int_equal(seen, 3);
}

/* Forged (the wrong_signature fault spoils the token), malformed, and dropped webhooks. */
static void test_forged_malformed_dropped(void **state)
{
	struct call_out o;
	struct courier_event ev;
	struct hook bad;
	json_t *sh;
	size_t from;
	(void)state;
	sandboxtest_fault(&F.sb, "shp-forged", "\"shipment_manual\":true,\"wrong_signature\":true");
	from = F.nhooks;
	ship_ok("shp-forged", &o);
	wait_hooks(from, o.ship.provider_id, "\"confirmed\"", 1);
	while (!hook_is(from, o.ship.provider_id, "\"confirmed\""))
		from++;
	assert_string_equal(F.hooks[from].token, "not-" TOKEN);
	assert_int_equal(hook_parse(&F.hooks[from], &ev), COURIER_EFORGED);
	/* The right token on a broken body. */
	bad = F.hooks[from];
	bad.token = (char *)TOKEN;
	bad.body_len /= 2;
	assert_int_equal(hook_parse(&bad, &ev), COURIER_EMALFORMED);
	/* Dropped: counted by the sandbox, never sent. */
	sandboxtest_fault(&F.sb, "shp-forged", "\"wrong_signature\":false,\"drop\":true");
	simulate(o.ship.provider_id, "{\"status\":\"allocated\"}");
	sh = sandbox_shipment(o.ship.provider_id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sh, "notifications"), "dropped")), 2);
	assert_string_equal(json_string_value(json_object_get(sh, "status")), "allocated");
	json_decref(sh);
}

/*
 * Only an explicit refusal of the request (400 with success false) is
 * COURIER_EREFUSED; a wrong key (401) is the provider's error, not the
 * shipment's fault.
 */
static void test_create_errors(void **state)
{
	/* Canned answers: HTTP status, body, what the create gets. */
	static const struct {
		int status;
		const char *body;
		int error;
	} answers[] = {
		{ 400, "{\"success\":false,\"error\":\"Please make sure origin address is filled\",\"code\":40002016}",
		  COURIER_EREFUSED },
		{ 422, "{\"success\":false,\"error\":\"invalid\",\"code\":42200001}", COURIER_EREFUSED },
		/* Our key, though HTTP 400: tried again. */
		{ 400, "{\"success\":false,\"error\":\"Key has not been activated\",\"code\":40002002}", COURIER_EPROVIDER },
		{ 400, "{\"success\":false,\"error\":\"Authorization failed\",\"code\":40000001}", COURIER_EPROVIDER },
		/* Not an explicit refusal: no success false, or not a 400 / 422. */
		{ 400, "<html>Bad Request</html>", COURIER_EPROVIDER },
		{ 402, "{\"success\":false,\"error\":\"Request is failed\"}", COURIER_EPROVIDER },
		{ 403, "{\"success\":false,\"error\":\"no access\",\"code\":40301001}", COURIER_EPROVIDER },
		{ 409, "{\"success\":false,\"error\":\"conflict\"}", COURIER_EPROVIDER },
		{ 200, "{\"success\":false,\"error\":\"odd\"}", COURIER_EPROVIDER },
	};
	char base[URL_MAX];
	struct call_out o;
	struct courier_gateway *wrong = gateway("biteship", F.sb_url, "biteship_test.wrong", 0, F.http), *bite;
	(void)state;
	ship(F.sandbox, "shp-refused", "jne", "teleport", &o);
	assert_int_equal(o.ship.error, COURIER_EREFUSED);
	assert_non_null(strstr(o.text, "HTTP 400"));
	ship(wrong, "shp-wrong-key", "jne", "reg", &o);
	assert_int_equal(o.ship.error, COURIER_EPROVIDER);
	assert_non_null(strstr(o.text, "40101001"));
	courier_gateway_free(wrong);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/canned", F.recv_port);
	bite = gateway("biteship", base, KEY, 0, F.http);
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		free(F.canned);
		F.canned = dup_or_fail(answers[i].body);
		F.canned_status = answers[i].status;
		ship(bite, "shp-canned", "jne", "reg", &o);
		if (o.ship.error != answers[i].error)
			fail_msg("HTTP %d %s: error %d, want %d", answers[i].status, answers[i].body, o.ship.error,
				 answers[i].error);
	}
	F.canned_status = 0;
	courier_gateway_free(bite);
}

/* 500s and silence are COURIER_EUNAVAILABLE; retries absorb a short outage. */
static void test_unavailable(void **state)
{
	struct call_out o;
	struct courier_gateway *once = gateway("sandbox", F.sb_url, NULL, SHORT_TIMEOUT_MS, F.http_once);
	struct courier_gateway *down = gateway("sandbox", "http://127.0.0.1:9", NULL, 0, F.http_once);
	(void)state;
	sandboxtest_fault(&F.sb, "global", "\"http_500\":1");
	rates(once, true, &o);
	assert_int_equal(o.rates.error, COURIER_EUNAVAILABLE);
	sandboxtest_fault(&F.sb, "global", "\"http_500\":2");
	rates(F.sandbox, true, &o);   /* three attempts: the third answers */
	assert_int_equal(o.rates.error, COURIER_OK);
	sandboxtest_fault(&F.sb, "global", "\"timeout\":1");
	rates(once, true, &o);
	assert_int_equal(o.rates.error, COURIER_EUNAVAILABLE);
	/* A create that timed out goes through when sent again: the same order. */
	sandboxtest_fault(&F.sb, "shp-timeout", "\"shipment_manual\":true,\"timeout\":1");
	ship(once, "shp-timeout", "jne", "reg", &o);
	assert_int_equal(o.ship.error, COURIER_EUNAVAILABLE);
	ship(once, "shp-timeout", "jne", "reg", &o);
	assert_int_equal(o.ship.error, COURIER_OK);
	rates(down, true, &o);
	assert_int_equal(o.rates.error, COURIER_EUNAVAILABLE);
	track(down, "any-order", NULL, &o);
	assert_int_equal(o.ship.error, COURIER_EUNAVAILABLE);
	courier_gateway_free(once);
	courier_gateway_free(down);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rates, test_setup),
		cmocka_unit_test_setup(test_request_shape, test_setup),
		cmocka_unit_test_setup(test_create_twice, test_setup),
		cmocka_unit_test_setup(test_walk, test_setup),
		cmocka_unit_test_setup(test_cancel, test_setup),
		cmocka_unit_test_setup(test_simulated_statuses, test_setup),
		cmocka_unit_test_setup(test_forged_malformed_dropped, test_setup),
		cmocka_unit_test_setup(test_create_errors, test_setup),
		cmocka_unit_test_setup(test_unavailable, test_setup),
	};
	return cmocka_run_group_tests_name("courier_gateways", tests, group_setup, group_teardown);
}
