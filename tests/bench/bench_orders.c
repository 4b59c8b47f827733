/*
 * bench_orders: the client of bench_orders.sh. Runs marketplace orders end
 * to end through the HTTP API of a running server and sandbox provider:
 *
 *   bench_orders SERVER_PORT SANDBOX_PORT ADMIN PASSWORD ORDERS CONCURRENCY
 *
 * As ADMIN it makes BO_MERCHANTS merchant users with a verified store each,
 * BO_SHOPPERS shopper users, and each store's BO_PRODUCTS products; then
 * CONCURRENCY threads, each with one order in flight on its own keep-alive
 * connections, run ORDERS orders: checkout (one product, quantity 1) -> pay
 * at the sandbox and poll the order until it reads `paid` -> confirm and
 * ship (the store's owner) -> deliver (admin) -> receive (the buyer), which
 * completes it and releases the escrow. Prints the orders per second, each
 * step's latency percentiles and the server's own view from /metrics, then
 * checks that every order reads `completed` and that escrow took in every
 * payment and nets to zero.
 *
 * Talks HTTP/1.1 through tests/support/testsrv (blocking sockets, bounded
 * responses and timeouts). Every wait is bounded (BO_PAID_WAIT_MS). Exits
 * 0, 1 (a request or a check failed) or 2 (bad usage).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testsrv.h"

#define BO_MERCHANTS 4
#define BO_PRODUCTS 5                 /* per store */
#define BO_SHOPPERS 8                 /* with the admin and merchants, under auth.login_max_address */
#define BO_PRICE 25000                /* rupiah: a one-item order's total (no shipping fee yet) */
#define BO_STOCK 1000000              /* per product: enough for BO_ORDERS_MAX */
#define BO_ORDERS_MAX 1000000
#define BO_CONCURRENCY_MAX 256
#define BO_POLL_US 1000               /* between reads of an order waiting for its payment */
#define BO_PAID_WAIT_MS 30000
#define BO_TOKEN_MAX 128
#define BO_ID_MAX 65                  /* payment ids: 32 hex, with room to spare */
#define BO_NAME_MAX 64
#define BO_BODY_MAX 512
#define BO_REQUEST_MAX 2048

enum bo_step { STEP_CHECKOUT, STEP_PAID, STEP_CONFIRM, STEP_SHIP, STEP_DELIVER, STEP_RECEIVE, STEP_COUNT };

static const char *const bo_step_names[STEP_COUNT] = {
	"checkout", "pay->paid", "confirm", "ship", "deliver", "receive",
};

/* The server's request duration series of each step (the pay step: the order reads). */
static const char *const bo_step_routes[STEP_COUNT] = {
	"/api/v1/checkout", "/api/v1/orders/{id}", "/api/v1/orders/{id}/confirm",
	"/api/v1/orders/{id}/ship", "/api/v1/orders/{id}/deliver", "/api/v1/orders/{id}/receive",
};

/* One keep-alive connection; peer has only its port set. */
struct bo_conn {
	struct testsrv peer;
	int fd;
};

struct bo_product {
	uint64_t id;
	size_t store;                     /* index into the stores' tokens */
};

/* What every worker shares: set up before the threads start, then only the atomics change. */
struct bo_run {
	int server_port, sandbox_port;
	char admin[BO_TOKEN_MAX];
	char merchants[BO_MERCHANTS][BO_TOKEN_MAX];
	char shoppers[BO_SHOPPERS][BO_TOKEN_MAX];
	struct bo_product products[BO_MERCHANTS * BO_PRODUCTS];
	size_t norders;
	uint64_t *order_ids;              /* [norders], for the final check */
	double *ms[STEP_COUNT];           /* [norders] each: the step's latency of each order */
	atomic_size_t next;               /* the next order to run */
	atomic_size_t polls;              /* order reads while waiting for payments */
	atomic_bool failed;               /* a worker failed: the others stop taking orders */
};

static double bo_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bo_open(struct bo_conn *c, int port)
{
	memset(&c->peer, 0, sizeof(c->peer));
	c->peer.port = port;
	return testsrv_connect(&c->peer, &c->fd);
}

/*
 * One request on the connection; token and idem_key may be NULL, body may
 * be NULL (no body). OUT: *resp (testsrv_response_free it, also on failure).
 */
static int bo_send(struct bo_conn *c, const char *method, const char *path, const char *token,
		   const char *idem_key, const char *body, struct testsrv_response *resp)
{
	char req[BO_REQUEST_MAX];
	size_t len = strlen(body ? body : "");
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path);
	if (n > 0 && token && (size_t)n < sizeof(req))
		n += snprintf(req + n, sizeof(req) - (size_t)n, "Authorization: Bearer %s\r\n", token);
	if (n > 0 && idem_key && (size_t)n < sizeof(req))
		n += snprintf(req + n, sizeof(req) - (size_t)n, "Idempotency-Key: %s\r\n", idem_key);
	if (n > 0 && (size_t)n < sizeof(req))
		n += snprintf(req + n, sizeof(req) - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", len, body ? body : "");
	memset(resp, 0, sizeof(*resp));
	if (n < 0 || (size_t)n >= sizeof(req) || testsrv_send(c->fd, req, (size_t)n) != 0)
		return -1;
	return testsrv_read_response(c->fd, resp);
}

/* A request whose answer must have `status`; its body as JSON (caller decrefs), else NULL (said why). */
static json_t *bo_call(struct bo_conn *c, const char *method, const char *path, const char *token,
		       const char *idem_key, const char *body, int status)
{
	struct testsrv_response resp;
	json_t *doc = NULL;
	if (bo_send(c, method, path, token, idem_key, body, &resp) != 0)
		fprintf(stderr, "bench_orders: %s %s: no answer\n", method, path);
	else if (resp.status != status)
		fprintf(stderr, "bench_orders: %s %s: status %d, want %d: %.300s\n", method, path, resp.status,
			status, resp.body);
	else if (!(doc = json_loadb(resp.body, resp.body_len, 0, NULL)))
		fprintf(stderr, "bench_orders: %s %s: the answer is not JSON\n", method, path);
	testsrv_response_free(&resp);
	return doc;
}

/* The id of what a POST made (201), or -1. */
static int64_t bo_create(struct bo_conn *c, const char *path, const char *token, const char *body)
{
	json_t *doc = bo_call(c, "POST", path, token, NULL, body, 201);
	json_t *v = json_object_get(doc, "id");
	int64_t out = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
	json_decref(doc);
	return out;
}

static int bo_login(struct bo_conn *c, const char *user, const char *password, char token[BO_TOKEN_MAX])
{
	char body[BO_BODY_MAX];
	json_t *doc;
	const char *t;
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
	doc = bo_call(c, "POST", "/api/v1/auth/login", NULL, NULL, body, 200);
	t = json_string_value(json_object_get(doc, "token"));
	if (t)
		snprintf(token, BO_TOKEN_MAX, "%s", t);
	json_decref(doc);
	return t ? 0 : -1;
}

/* A user of `role` made by the admin and signed in. Returns its id, or -1. */
static int64_t bo_user(struct bo_run *r, struct bo_conn *c, const char *role, size_t k, const char *password,
		       char token[BO_TOKEN_MAX])
{
	char name[BO_NAME_MAX], body[BO_BODY_MAX];
	int64_t id;
	snprintf(name, sizeof(name), "bench-%s-%zu", role, k);
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\",\"role\":\"%s\"}", name, password, role);
	id = bo_create(c, "/api/v1/users", r->admin, body);
	return id > 0 && bo_login(c, name, password, token) == 0 ? id : -1;
}

/* The stores, their owners, their products and the shoppers. Returns 0 or -1. */
static int bo_setup(struct bo_run *r, const char *admin, const char *password)
{
	struct bo_conn c;
	char path[BO_NAME_MAX * 2], body[BO_BODY_MAX];
	int rc = -1;
	if (bo_open(&c, r->server_port) != 0 || bo_login(&c, admin, password, r->admin) != 0)
		return -1;
	for (size_t m = 0; m < BO_MERCHANTS; m++) {
		int64_t owner = bo_user(r, &c, "merchant", m, password, r->merchants[m]), store;
		snprintf(body, sizeof(body),
			 "{\"name\":\"Toko Bench %zu\",\"owner_user_id\":%lld,\"city\":\"PAYAKUMBUH\","
			 "\"postal_code\":\"26211\",\"criteria\":\"UMI\",\"nmid\":\"ID102002118174%zu\"}",
			 m, (long long)owner, m);
		store = owner > 0 ? bo_create(&c, "/api/v1/admin/merchants", r->admin, body) : -1;
		if (store <= 0)
			goto close_conn;
		snprintf(path, sizeof(path), "/api/v1/merchants/%lld/products", (long long)store);
		for (size_t p = 0; p < BO_PRODUCTS; p++) {
			struct bo_product *pr = &r->products[m * BO_PRODUCTS + p];
			int64_t id;
			snprintf(body, sizeof(body),
				 "{\"title\":\"Rendang %zu-%zu\",\"price\":%d,\"stock\":%d,\"category\":\"makanan\"}", m,
				 p, BO_PRICE, BO_STOCK);
			if ((id = bo_create(&c, path, r->merchants[m], body)) <= 0)
				goto close_conn;
			pr->id = (uint64_t)id;
			pr->store = m;
		}
	}
	for (size_t s = 0; s < BO_SHOPPERS; s++)
		if (bo_user(r, &c, "shopper", s, password, r->shoppers[s]) <= 0)
			goto close_conn;
	rc = 0;
close_conn:
	close(c.fd);
	return rc;
}

/* An action on an order whose answer must read `state`; OUT: *ms, its latency. Returns 0 or -1. */
static int bo_act(struct bo_conn *c, uint64_t order, const char *action, const char *token, const char *state,
		  double *ms)
{
	char path[BO_NAME_MAX];
	double t0 = bo_now_ms();
	json_t *doc;
	const char *now;
	int rc;
	snprintf(path, sizeof(path), "/api/v1/orders/%llu/%s", (unsigned long long)order, action);
	doc = bo_call(c, "POST", path, token, NULL, NULL, 200);
	*ms = bo_now_ms() - t0;
	now = json_string_value(json_object_get(doc, "state"));
	rc = now && strcmp(now, state) == 0 ? 0 : -1;
	if (doc && rc != 0)
		fprintf(stderr, "bench_orders: %s of order %llu left it %s, want %s\n", action,
			(unsigned long long)order, now ? now : "(none)", state);
	json_decref(doc);
	return rc;
}

/* The order's state as the token sees it, into state. Returns 0 or -1. */
static int bo_state(struct bo_conn *c, uint64_t order, const char *token, char state[BO_NAME_MAX])
{
	char path[BO_NAME_MAX];
	json_t *doc;
	const char *s;
	snprintf(path, sizeof(path), "/api/v1/orders/%llu", (unsigned long long)order);
	doc = bo_call(c, "GET", path, token, NULL, NULL, 200);
	s = json_string_value(json_object_get(doc, "state"));
	if (s)
		snprintf(state, BO_NAME_MAX, "%s", s);
	json_decref(doc);
	return s ? 0 : -1;
}

/* Checkout of one unit of the product; OUT: the order and its payment. Returns 0 or -1. */
static int bo_checkout(struct bo_conn *c, size_t i, const char *token, uint64_t product, uint64_t *order,
		       char payment[BO_ID_MAX])
{
	char body[BO_BODY_MAX], key[BO_NAME_MAX];
	json_t *doc, *ids;
	const char *pay;
	int rc = -1;
	snprintf(key, sizeof(key), "bench-order-%zu", i);
	snprintf(body, sizeof(body),
		 "{\"items\":[{\"product_id\":%llu,\"quantity\":1}],\"ship_to\":{\"name\":\"Budi\","
		 "\"phone\":\"08123456789\",\"address\":\"Jl. Sudirman 1\",\"city\":\"Payakumbuh\","
		 "\"postal_code\":\"26211\"}}",
		 (unsigned long long)product);
	doc = bo_call(c, "POST", "/api/v1/checkout", token, key, body, 201);
	ids = json_object_get(doc, "order_ids");
	pay = json_string_value(json_object_get(doc, "payment_id"));
	if (json_array_size(ids) == 1 && json_is_integer(json_array_get(ids, 0)) && pay && strlen(pay) < BO_ID_MAX) {
		*order = (uint64_t)json_integer_value(json_array_get(ids, 0));
		snprintf(payment, BO_ID_MAX, "%s", pay);
		rc = 0;
	} else if (doc) {
		fprintf(stderr, "bench_orders: checkout %zu: not one order with a payment\n", i);
	}
	json_decref(doc);
	return rc;
}

/* Pays at the sandbox and reads the order until it is paid. OUT: *ms, pay call to paid. Returns 0 or -1. */
static int bo_pay(struct bo_run *r, struct bo_conn *srv, struct bo_conn *sb, uint64_t order,
		  const char *payment, const char *token, double *ms)
{
	char path[BO_NAME_MAX + BO_ID_MAX], state[BO_NAME_MAX] = "";
	double t0 = bo_now_ms();
	json_t *doc;
	snprintf(path, sizeof(path), "/simulate/pay/%s", payment);
	doc = bo_call(sb, "POST", path, NULL, NULL, NULL, 200);
	if (!doc)
		return -1;
	json_decref(doc);
	while (strcmp(state, "paid") != 0) {
		struct timespec pause = { 0, BO_POLL_US * 1000L };
		if (bo_now_ms() - t0 > BO_PAID_WAIT_MS || (state[0] && strcmp(state, "awaiting_payment") != 0)) {
			fprintf(stderr, "bench_orders: order %llu is %s, not paid\n", (unsigned long long)order, state);
			return -1;
		}
		nanosleep(&pause, NULL);
		atomic_fetch_add(&r->polls, 1);
		if (bo_state(srv, order, token, state) != 0)
			return -1;
	}
	*ms = bo_now_ms() - t0;
	return 0;
}

/* One order from checkout to completion; its latencies go to r->ms[*][i]. Returns 0 or -1. */
static int bo_order(struct bo_run *r, struct bo_conn *srv, struct bo_conn *sb, size_t i)
{
	const struct bo_product *p = &r->products[i % (BO_MERCHANTS * BO_PRODUCTS)];
	const char *shopper = r->shoppers[i % BO_SHOPPERS], *owner = r->merchants[p->store];
	char payment[BO_ID_MAX];
	double t0 = bo_now_ms();
	uint64_t order;
	if (bo_checkout(srv, i, shopper, p->id, &order, payment) != 0)
		return -1;
	r->ms[STEP_CHECKOUT][i] = bo_now_ms() - t0;
	r->order_ids[i] = order;
	if (bo_pay(r, srv, sb, order, payment, shopper, &r->ms[STEP_PAID][i]) != 0 ||
	    bo_act(srv, order, "confirm", owner, "confirmed", &r->ms[STEP_CONFIRM][i]) != 0 ||
	    bo_act(srv, order, "ship", owner, "shipped", &r->ms[STEP_SHIP][i]) != 0 ||
	    bo_act(srv, order, "deliver", r->admin, "delivered", &r->ms[STEP_DELIVER][i]) != 0)
		return -1;
	return bo_act(srv, order, "receive", shopper, "completed", &r->ms[STEP_RECEIVE][i]);
}

static void *bo_worker(void *arg)
{
	struct bo_run *r = arg;
	struct bo_conn srv, sb;
	if (bo_open(&srv, r->server_port) != 0) {
		atomic_store(&r->failed, true);
		return NULL;
	}
	if (bo_open(&sb, r->sandbox_port) != 0) {
		atomic_store(&r->failed, true);
		close(srv.fd);
		return NULL;
	}
	while (!atomic_load(&r->failed)) {
		size_t i = atomic_fetch_add(&r->next, 1);
		if (i >= r->norders)
			break;
		if (bo_order(r, &srv, &sb, i) != 0)
			atomic_store(&r->failed, true);
	}
	close(sb.fd);
	close(srv.fd);
	return NULL;
}

/* --- figures --- */

static int bo_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The p-th percentile (nearest rank) of n sorted values. */
static double bo_percentile(const double *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	return v[rank ? rank - 1 : 0];
}

/* The server's /metrics text (caller frees), or NULL. */
static char *bo_metrics(int port)
{
	struct bo_conn c;
	struct testsrv_response resp;
	char *text = NULL;
	if (bo_open(&c, port) != 0)
		return NULL;
	if (bo_send(&c, "GET", "/metrics", NULL, NULL, NULL, &resp) == 0 && resp.status == 200) {
		text = resp.body;
		resp.body = NULL;
	}
	testsrv_response_free(&resp);
	close(c.fd);
	return text;
}

/* The sum of the series `name` whose label set starts with `labels` (NULL: every series). */
static double bo_metric(const char *text, const char *name, const char *labels)
{
	size_t len = strlen(name);
	double total = 0;
	for (const char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *eol = strchr(line, '\n'), *space = NULL;
		if (strncmp(line, name, len) != 0 || (line[len] != ' ' && line[len] != '{'))
			continue;
		if (labels && (line[len] != '{' || strncmp(line + len + 1, labels, strlen(labels)) != 0))
			continue;
		/* The value follows the line's last space: the label values read here (routes, targets) hold none. */
		for (const char *p = line + len; *p && p != eol; p++)
			if (*p == ' ')
				space = p;
		if (space)
			total += strtod(space + 1, NULL);
	}
	return total;
}

/* What a series grew by between two /metrics texts. */
static double bo_delta(const char *before, const char *after, const char *name, const char *labels)
{
	return bo_metric(after, name, labels) - bo_metric(before, name, labels);
}

/* The mean server time (ms) of a route between the two texts, or 0 without requests. */
static double bo_route_ms(const char *before, const char *after, const char *route)
{
	char labels[BO_NAME_MAX * 2];
	double n;
	snprintf(labels, sizeof(labels), "route=\"%s\"", route);
	n = bo_delta(before, after, "bangsoleh_http_request_duration_seconds_count", labels);
	return n > 0 ? bo_delta(before, after, "bangsoleh_http_request_duration_seconds_sum", labels) * 1e3 / n : 0;
}

static void bo_report(struct bo_run *r, double wall_s, size_t concurrency, const char *before, const char *after)
{
	double batches = bo_delta(before, after, "bangsoleh_store_batch_jobs_count", NULL);
	double jobs = bo_delta(before, after, "bangsoleh_store_batch_jobs_sum", NULL);
	double charge_n = bo_delta(before, after, "bangsoleh_outbound_request_duration_seconds_count", "target=\"sandbox\"");
	double charge_s = bo_delta(before, after, "bangsoleh_outbound_request_duration_seconds_sum", "target=\"sandbox\"");
	printf("orders: %zu end to end, %zu in flight (one per thread, not pinned), %d stores x %d products, "
	       "%d shoppers\n", r->norders, concurrency, BO_MERCHANTS, BO_PRODUCTS, BO_SHOPPERS);
	printf("wall: %.2f s, %.0f orders/s\n\n", wall_s, (double)r->norders / wall_s);
	printf("| step | count | p50 ms | p99 ms | max ms | server mean ms |\n|---|---|---|---|---|---|\n");
	for (int s = 0; s < STEP_COUNT; s++) {
		double *v = r->ms[s];
		qsort(v, r->norders, sizeof(*v), bo_cmp_double);
		printf("| %s | %zu | %.2f | %.2f | %.2f | %.2f |\n", bo_step_names[s], r->norders,
		       bo_percentile(v, r->norders, 50), bo_percentile(v, r->norders, 99), v[r->norders - 1],
		       bo_route_ms(before, after, bo_step_routes[s]));
	}
	printf("\npay->paid: %.2f order reads per order (one every %d us); server mean of a payment "
	       "notification %.2f ms\n", (double)atomic_load(&r->polls) / (double)r->norders, BO_POLL_US,
	       bo_route_ms(before, after, "/api/v1/webhooks/payments/{provider}"));
	printf("checkout: the provider's charge call %.2f ms mean (%.0f calls)\n",
	       charge_n > 0 ? charge_s * 1e3 / charge_n : 0, charge_n);
	printf("writer: %.0f jobs in %.0f commits: %.1f jobs per commit, %.2f jobs per order\n", jobs, batches,
	       batches > 0 ? jobs / batches : 0, jobs / (double)r->norders);
}

/* --- checks --- */

/* Every order reads completed, and escrow took every payment in and gave it all out. Returns 0 or 1. */
static int bo_check(struct bo_run *r)
{
	struct bo_conn c;
	char state[BO_NAME_MAX];
	size_t completed = 0;
	int64_t credits = -1, debits = -1, want = (int64_t)r->norders * BO_PRICE;
	json_t *doc;
	if (bo_open(&c, r->server_port) != 0)
		return 1;
	for (size_t i = 0; i < r->norders; i++)
		if (bo_state(&c, r->order_ids[i], r->admin, state) == 0 && strcmp(state, "completed") == 0)
			completed++;
	doc = bo_call(&c, "GET", "/api/v1/ledger/accounts/escrow", r->admin, NULL, NULL, 200);
	if (doc) {
		credits = (int64_t)json_integer_value(json_object_get(doc, "credits_posted"));
		debits = (int64_t)json_integer_value(json_object_get(doc, "debits_posted"));
	}
	json_decref(doc);
	close(c.fd);
	printf("\ncheck: every order completed: %s (%zu of %zu)\n", completed == r->norders ? "PASS" : "FAIL",
	       completed, r->norders);
	printf("check: escrow nets to zero: %s (credits %lld, debits %lld, want both %lld)\n",
	       credits == debits && credits == want ? "PASS" : "FAIL", (long long)credits, (long long)debits,
	       (long long)want);
	return completed == r->norders && credits == debits && credits == want ? 0 : 1;
}

static int bo_run(struct bo_run *r, size_t concurrency, const char *admin, const char *password)
{
	pthread_t threads[BO_CONCURRENCY_MAX];
	char *before, *after;
	double t0, wall_s;
	size_t started = 0;
	int rc;
	if (bo_setup(r, admin, password) != 0) {
		fprintf(stderr, "bench_orders: the stores, products and users could not be made\n");
		return 1;
	}
	before = bo_metrics(r->server_port);
	t0 = bo_now_ms();
	while (started < concurrency && pthread_create(&threads[started], NULL, bo_worker, r) == 0)
		started++;
	if (started < concurrency) {
		fprintf(stderr, "bench_orders: cannot start a thread\n");
		atomic_store(&r->failed, true);
	}
	for (size_t t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	wall_s = (bo_now_ms() - t0) / 1e3;
	after = bo_metrics(r->server_port);
	if (atomic_load(&r->failed) || !before || !after) {
		fprintf(stderr, "bench_orders: the run failed after %zu orders were started\n", atomic_load(&r->next));
		rc = 1;
	} else {
		bo_report(r, wall_s, concurrency, before, after);
		rc = bo_check(r);
	}
	free(before);
	free(after);
	return rc;
}

/* A decimal argument in lo..hi, or 0. */
static size_t bo_arg(const char *text, size_t lo, size_t hi)
{
	char *end;
	unsigned long long v = strtoull(text, &end, 10);
	return *text && !*end && v >= lo && v <= hi ? (size_t)v : 0;
}

int main(int argc, char **argv)
{
	static struct bo_run r;
	size_t concurrency;
	bool allocated;
	int rc = 1;
	if (argc != 7 || !(r.server_port = (int)bo_arg(argv[1], 1, 65535)) ||
	    !(r.sandbox_port = (int)bo_arg(argv[2], 1, 65535)) || !(r.norders = bo_arg(argv[5], 1, BO_ORDERS_MAX)) ||
	    !(concurrency = bo_arg(argv[6], 1, BO_CONCURRENCY_MAX))) {
		fprintf(stderr, "usage: bench_orders SERVER_PORT SANDBOX_PORT ADMIN PASSWORD ORDERS CONCURRENCY\n"
				"       (ORDERS 1..%d, CONCURRENCY 1..%d)\n", BO_ORDERS_MAX, BO_CONCURRENCY_MAX);
		return 2;
	}
	r.order_ids = calloc(r.norders, sizeof(*r.order_ids));
	allocated = r.order_ids != NULL;
	for (int s = 0; s < STEP_COUNT; s++)
		allocated &= (r.ms[s] = calloc(r.norders, sizeof(double))) != NULL;
	if (allocated)
		rc = bo_run(&r, concurrency, argv[3], argv[4]);
	else
		fprintf(stderr, "bench_orders: out of memory\n");
	for (int s = 0; s < STEP_COUNT; s++)
		free(r.ms[s]);
	free(r.order_ids);
	return rc;
}
