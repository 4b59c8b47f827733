/*
 * The payment-gateway modules over real HTTP: the real bangsoleh-sandbox
 * program ($BANGSOLEH_SANDBOX_BIN) on 127.0.0.1 with an ephemeral port,
 * and in this process one libevent loop with an hclient (the modules' and
 * the tests' outbound calls) and a small evhttp receiver on 127.0.0.1:0
 * for the sandbox's notifications. Every module charges, gets paid through
 * /simulate/pay, verifies the notification, reads the status, and (where
 * the protocol has them) cancels, refunds and pays out; faults from
 * /simulate/faults check retries, timeouts, forged and duplicate
 * notifications. Fixed-input cases check signature and token rules
 * without the network.
 *
 * Assertions count things (callbacks, notifications); timers only bound
 * how long a wait may last.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "crypto.h"
#include "hclient.h"
#include "payment.h"
#include "qris.h"

#define LOOP_GUARD_S 30            /* a wait longer than this is a hang: fail */
#define READY_TIMEOUT_MS 20000     /* sandbox start until its ready line */
#define EXIT_TIMEOUT_MS 10000      /* SIGTERM until exit, then SIGKILL */
#define READY_PREFIX "bangsoleh-sandbox listening on http://127.0.0.1:"
#define NOTES_MAX 256              /* notifications kept */
#define NOTE_HEADERS_MAX 32        /* header lines kept per notification */
#define NOTE_BODY_MAX (64 * 1024)  /* receiver's body cap */
#define CTL_BODY_MAX 4096          /* control answers kept */
#define SHORT_TIMEOUT_MS 300       /* the timeout case's per-attempt limit */
#define URL_MAX 128

#define SANDBOX_KEY "SB-Mid-server-bangsoleh-sandbox"
#define XENDIT_TOKEN "bangsoleh-sandbox-callback-token"
#define VECTOR_KEY "askvnoibnosifnboseofinbofinfgbiufglnbfg"
#define VECTOR_SIG \
	"edc076b21793ebe3e17926350f5b8ae67d902fe657b3d0aa31b932d5c127e237" \
	"5d308a2bc94f3265ac2d80a1f181a79b997ac178a236fcff35af263fc4d4c231"
#define VECTOR_SIG_NO_DECIMALS \
	"5f363520e86c10c2ea14074cd09dc1d67299633558abe291ded95a16908f9ec5" \
	"071e982c289c3333bcbcfe62dd8e78ae4c3d3bd92191707ba2e91f7169d8411a"

/* One notification the receiver got; body and headers are malloc'd. */
struct note {
	char path[64];
	char *body;
	size_t body_len;
	size_t nh;
	char *names[NOTE_HEADERS_MAX];
	char *values[NOTE_HEADERS_MAX];
};

struct fixture {
	struct event_base *base;
	struct evhttp *recv;
	int recv_port;
	struct hclient *http;       /* retries on: what the modules use */
	struct hclient *http_once;  /* one attempt per call: shows that a fault is real */
	pid_t pid;
	int out_fd;                 /* the sandbox's stdout, drained on the loop */
	struct event *out_ev;
	char base_url[URL_MAX];
	struct pay_gateway *sandbox;
	struct pay_gateway *midtrans;
	struct pay_gateway *xendit;
	struct note notes[NOTES_MAX];
	size_t nnotes;
	bool guard_fired;
	/* The receiver's /canned/... routes play a provider: this answer, counted. */
	int canned_status;
	char *canned_body;          /* malloc'd */
	unsigned canned_hits;
};

static struct fixture F;

/* --- the loop ------------------------------------------------------------ */

static void guard_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	F.guard_fired = true;
	event_base_loopbreak(F.base);
}

/* Runs the loop until *flag or the guard; fails the test on the guard. */
static void run_until(const bool *flag)
{
	struct timeval tv = { LOOP_GUARD_S, 0 };
	struct event *guard = evtimer_new(F.base, guard_fired, NULL);
	assert_non_null(guard);
	assert_int_equal(evtimer_add(guard, &tv), 0);
	F.guard_fired = false;
	while (!*flag && !F.guard_fired)
		event_base_loop(F.base, EVLOOP_ONCE);
	event_free(guard);
	assert_false(F.guard_fired);
}

/* --- notification receiver ----------------------------------------------- */

static void note_free(struct note *n)
{
	free(n->body);
	for (size_t i = 0; i < n->nh; i++) {
		free(n->names[i]);
		free(n->values[i]);
	}
	memset(n, 0, sizeof(*n));
}

static void on_notification(struct evhttp_request *req, void *arg)
{
	(void)arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *reply = evbuffer_new();
	assert_non_null(reply);
	if (F.nnotes < NOTES_MAX) {
		struct note *n = &F.notes[F.nnotes++];
		struct evkeyval *h;
		size_t len = evbuffer_get_length(in);
		snprintf(n->path, sizeof(n->path), "%s", uri ? uri : "");
		n->body = malloc(len + 1);
		assert_non_null(n->body);
		evbuffer_remove(in, n->body, len);
		n->body[len] = '\0';
		n->body_len = len;
		TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next) {
			if (n->nh == NOTE_HEADERS_MAX)
				break;
			n->names[n->nh] = strdup(h->key);
			n->values[n->nh] = strdup(h->value);
			assert_non_null(n->names[n->nh]);
			assert_non_null(n->values[n->nh]);
			n->nh++;
		}
	}
	if (uri && strncmp(uri, "/canned/", 8) == 0) {
		F.canned_hits++;
		evbuffer_add(reply, F.canned_body, strlen(F.canned_body));
		evhttp_send_reply(req, F.canned_status, "Canned", reply);
	} else {
		evbuffer_add(reply, "{}", 2);
		evhttp_send_reply(req, 200, "OK", reply);
	}
	evbuffer_free(reply);
}

static const char *note_header(const char *name, void *ctx)
{
	const struct note *n = ctx;
	for (size_t i = 0; i < n->nh; i++)
		if (strcasecmp(n->names[i], name) == 0)
			return n->values[i];
	return NULL;
}

static struct pay_webhook note_webhook(struct note *n)
{
	struct pay_webhook w = { n->body, n->body_len, note_header, n };
	return w;
}

/* Does note n go to `path` and name "id" (and contain `marker`, when set)? */
static bool note_matches(const struct note *n, const char *path, const char *id, const char *marker)
{
	char quoted[PAY_ID_MAX + 3];
	snprintf(quoted, sizeof(quoted), "\"%s\"", id);
	return strcmp(n->path, path) == 0 && strstr(n->body, quoted) && (!marker || strstr(n->body, marker));
}

static size_t notes_count(size_t from, const char *path, const char *id, const char *marker)
{
	size_t count = 0;
	for (size_t i = from; i < F.nnotes; i++)
		count += note_matches(&F.notes[i], path, id, marker);
	return count;
}

struct note_wait {
	size_t from;
	const char *path;
	const char *id;
	const char *marker;
	size_t want;
	bool done;
};

static void note_poll(evutil_socket_t fd, short what, void *arg)
{
	struct note_wait *w = arg;
	(void)fd;
	(void)what;
	w->done = notes_count(w->from, w->path, w->id, w->marker) >= w->want;
}

/*
 * Waits for `want` matching notifications from index `from` on; returns
 * the last of them.
 */
static struct note *wait_notes(size_t from, const char *path, const char *id, const char *marker, size_t want)
{
	struct note_wait w = { from, path, id, marker, want, false };
	struct timeval step = { 0, 20000 };
	struct event *poll_ev = event_new(F.base, -1, EV_PERSIST, note_poll, &w);
	assert_non_null(poll_ev);
	assert_int_equal(event_add(poll_ev, &step), 0);
	note_poll(-1, 0, &w);
	run_until(&w.done);
	event_free(poll_ev);
	struct note *last = NULL;
	for (size_t i = from; i < F.nnotes; i++)
		if (note_matches(&F.notes[i], path, id, marker))
			last = &F.notes[i];
	return last;
}

/* --- control calls to the sandbox ---------------------------------------- */

struct ctl {
	bool done;
	int error;
	long status;
	char body[CTL_BODY_MAX + 1];
};

static void ctl_done(const struct hclient_response *res, void *arg)
{
	struct ctl *c = arg;
	c->done = true;
	c->error = res->error;
	c->status = res->status;
	snprintf(c->body, sizeof(c->body), "%s", res->body);
}

/*
 * METHOD base_url+path with an optional JSON body and up to two extra
 * header lines (NULL when none); returns the HTTP status.
 */
static long ctl_h(const char *method, const char *path, const char *json, const char *h1, const char *h2,
		  struct ctl *out)
{
	char url[URL_MAX + PAY_ID_MAX + 64];
	char auth[256];
	char b64[128];
	static struct ctl scratch;
	struct ctl *c = out ? out : &scratch;
	const char *key = SANDBOX_KEY ":";
	assert_int_equal(crypto_base64_encode(key, strlen(key), false, b64, sizeof(b64)), 0);
	snprintf(auth, sizeof(auth), "Authorization: Basic %s", b64);
	const char *headers[] = { "Content-Type: application/json", auth, h1, h2, NULL };
	snprintf(url, sizeof(url), "%s%s", F.base_url, path);
	memset(c, 0, sizeof(*c));
	struct hclient_request req = {
		.target = "control",
		.method = method,
		.url = url,
		.headers = headers,
		.body = json,
		.body_len = json ? strlen(json) : 0,
	};
	assert_int_equal(hclient_send(F.http_once, &req, ctl_done, c), 0);
	run_until(&c->done);
	assert_int_equal(c->error, HCLIENT_OK);
	return c->status;
}

static long ctl(const char *method, const char *path, const char *json, struct ctl *out)
{
	return ctl_h(method, path, json, NULL, NULL, out);
}

static void faults_clear(void)
{
	long st = ctl("DELETE", "/simulate/faults", NULL, NULL);
	assert_true(st >= 200 && st < 300);
}

static void faults_set(const char *json)
{
	struct ctl c;
	long st = ctl("POST", "/simulate/faults", json, &c);
	if (st < 200 || st > 299)
		print_error("faults %s: HTTP %ld %s\n", json, st, c.body);
	assert_true(st >= 200 && st < 300);
}

static void simulate_pay(const char *id)
{
	char path[PAY_ID_MAX + 32];
	struct ctl c;
	snprintf(path, sizeof(path), "/simulate/pay/%s", id);
	long st = ctl("POST", path, NULL, &c);
	if (st < 200 || st > 299)
		print_error("pay %s: HTTP %ld %s\n", id, st, c.body);
	assert_true(st >= 200 && st < 300);
}

/* --- gateway calls, run to their callback -------------------------------- */

struct charge_out {
	unsigned calls;
	bool done;
	struct pay_charge_res res;
	char text[PAY_TEXT_MAX + 1];
};

static void charge_done(const struct pay_charge_res *res, void *arg)
{
	struct charge_out *o = arg;
	o->calls++;
	o->done = true;
	o->res = *res;
	snprintf(o->text, sizeof(o->text), "%s", res->error_text);
	o->res.error_text = o->text;
}

struct status_out {
	unsigned calls;
	bool done;
	struct pay_status_res res;
	char text[PAY_TEXT_MAX + 1];
};

static void status_done(const struct pay_status_res *res, void *arg)
{
	struct status_out *o = arg;
	o->calls++;
	o->done = true;
	o->res = *res;
	snprintf(o->text, sizeof(o->text), "%s", res->error_text);
	o->res.error_text = o->text;
}

struct disburse_out {
	unsigned calls;
	bool done;
	struct pay_disburse_res res;
	char text[PAY_TEXT_MAX + 1];
};

static void disburse_done(const struct pay_disburse_res *res, void *arg)
{
	struct disburse_out *o = arg;
	o->calls++;
	o->done = true;
	o->res = *res;
	snprintf(o->text, sizeof(o->text), "%s", res->error_text);
	o->res.error_text = o->text;
}

static void charge(struct pay_gateway *g, const char *id, int64_t amount, struct charge_out *o)
{
	char key[PAY_ID_MAX + 8];
	snprintf(key, sizeof(key), "ik-%s", id);
	struct pay_charge_req req = { id, amount, 900, key };
	memset(o, 0, sizeof(*o));
	assert_int_equal(pay_charge(g, &req, charge_done, o), PAY_OK);
	assert_int_equal(o->calls, 0);  /* never from inside the call */
	run_until(&o->done);
	assert_int_equal(o->calls, 1);
	if (o->res.error != PAY_OK)
		print_error("charge %s: %d %s\n", id, o->res.error, o->text);
}

/* A successful charge: a valid dynamic QRIS for the amount, pending. */
static void charge_ok(struct pay_gateway *g, const char *id, int64_t amount, struct charge_out *o)
{
	struct qris q;
	struct qris_error qe;
	charge(g, id, amount, o);
	assert_int_equal(o->res.error, PAY_OK);
	assert_int_equal(o->res.state, PAY_STATE_PENDING);
	assert_true(o->res.provider_ref[0] != '\0');
	assert_int_equal(qris_decode(o->res.qr_string, strlen(o->res.qr_string), &q, &qe), QRIS_OK);
	assert_true(q.dynamic);
	assert_int_equal(q.amount, amount);
}

static void status(struct pay_gateway *g, const char *id, const char *ref, struct status_out *o)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(pay_status(g, id, ref, status_done, o), PAY_OK);
	run_until(&o->done);
	assert_int_equal(o->calls, 1);
	if (o->res.error != PAY_OK)
		print_error("status %s: %d %s\n", id ? id : ref, o->res.error, o->text);
}

static void cancel(struct pay_gateway *g, const char *id, const char *ref, struct status_out *o)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(pay_cancel(g, id, ref, status_done, o), PAY_OK);
	run_until(&o->done);
	assert_int_equal(o->calls, 1);
	if (o->res.error != PAY_OK)
		print_error("cancel %s: %d %s\n", id ? id : ref, o->res.error, o->text);
}

static void refund(struct pay_gateway *g, const char *id, const char *ref, int64_t amount, const char *key,
		   struct status_out *o)
{
	struct pay_refund_req req = { id, ref, amount, key, "customer asked" };
	memset(o, 0, sizeof(*o));
	assert_int_equal(pay_refund(g, &req, status_done, o), PAY_OK);
	run_until(&o->done);
	assert_int_equal(o->calls, 1);
	if (o->res.error != PAY_OK)
		print_error("refund %s: %d %s\n", id, o->res.error, o->text);
}

static void disburse(struct pay_gateway *g, const char *id, int64_t amount, const char *account,
		     struct disburse_out *o)
{
	struct pay_disburse_req req = { id, amount, "BRI", account, "Warung Bu Sri" };
	memset(o, 0, sizeof(*o));
	assert_int_equal(pay_disburse(g, &req, disburse_done, o), PAY_OK);
	run_until(&o->done);
	assert_int_equal(o->calls, 1);
	if (o->res.error != PAY_OK)
		print_error("payout %s: %d %s\n", id, o->res.error, o->text);
}

/* --- the sandbox process ------------------------------------------------- */

static void drain_stdout(evutil_socket_t fd, short what, void *arg)
{
	char buf[512];
	(void)what;
	(void)arg;
	if (read(fd, buf, sizeof(buf)) <= 0)
		event_del(F.out_ev);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads stdout up to the ready line. OUT: F.base_url. Returns 0 or -1. */
static int sandbox_await_ready(int fd)
{
	char line[256];
	size_t len = 0;
	int64_t deadline = now_ms() + READY_TIMEOUT_MS;
	while (len < sizeof(line) - 1) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		ssize_t n = read(fd, line + len, 1);
		if (n <= 0)
			return -1;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	size_t plen = strlen(READY_PREFIX);
	if (strncmp(line, READY_PREFIX, plen) != 0)
		return -1;
	int port = atoi(line + plen);
	if (port <= 0 || port > 65535)
		return -1;
	snprintf(F.base_url, sizeof(F.base_url), "http://127.0.0.1:%d", port);
	return 0;
}

static int sandbox_start(void)
{
	const char *bin = getenv("BANGSOLEH_SANDBOX_BIN");
	char notify_mt[URL_MAX];
	char notify_xd[URL_MAX];
	int fds[2];
	if (!bin)
		return -1;
	snprintf(notify_mt, sizeof(notify_mt), "http://127.0.0.1:%d/midtrans", F.recv_port);
	snprintf(notify_xd, sizeof(notify_xd), "http://127.0.0.1:%d/xendit", F.recv_port);
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Dies with the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, "--listen", "127.0.0.1:0", "--notify-midtrans", notify_mt, "--notify-xendit",
		      notify_xd, "--server-key", SANDBOX_KEY, "--callback-token", XENDIT_TOKEN, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	F.pid = pid;
	F.out_fd = fds[0];
	if (sandbox_await_ready(F.out_fd) != 0)
		return -1;
	/* Whatever it prints later is read and dropped so it never blocks. */
	F.out_ev = event_new(F.base, F.out_fd, EV_READ | EV_PERSIST, drain_stdout, NULL);
	if (!F.out_ev || event_add(F.out_ev, NULL) != 0)
		return -1;
	return 0;
}

static void sandbox_stop(void)
{
	int status;
	if (F.pid <= 0)
		return;
	kill(F.pid, SIGTERM);
	int64_t deadline = now_ms() + EXIT_TIMEOUT_MS;
	while (waitpid(F.pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(F.pid, SIGKILL);
			waitpid(F.pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	F.pid = 0;
}

static struct pay_gateway *gateway(const char *module, const char *key, const char *token, const char *notify,
				   long timeout_ms, struct hclient *http)
{
	struct pay_gateway *g = NULL;
	struct pay_gateway_config cfg = { module, F.base_url, key, token, notify, timeout_ms };
	assert_int_equal(pay_gateway_new(&cfg, http, &g), PAY_OK);
	return g;
}

/* The loop, the clients and the receiver; the sandbox only when `wire`. */
static int fixture_setup(bool wire)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	/* Short backoffs keep fault cases quick; a high breaker threshold keeps them independent. */
	struct hclient_config hc = { .backoff_base_ms = 20, .backoff_max_ms = 200, .breaker_threshold = 1000,
				     .max_attempts = 3 };
	struct hclient_config once = hc;
	once.max_attempts = 1;
	memset(&F, 0, sizeof(F));
	signal(SIGPIPE, SIG_IGN);
	F.base = event_base_new();
	F.recv = F.base ? evhttp_new(F.base) : NULL;
	if (!F.recv)
		return -1;
	evhttp_set_max_body_size(F.recv, NOTE_BODY_MAX);
	evhttp_set_gencb(F.recv, on_notification, NULL);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(F.recv, "127.0.0.1", 0);
	if (!bs || getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &salen) != 0)
		return -1;
	F.recv_port = ntohs(sa.sin_port);
	if (hclient_new(F.base, &hc, &F.http) != 0 || hclient_new(F.base, &once, &F.http_once) != 0)
		return -1;
	/* Fixed-input cases never send: their gateways point at the discard port. */
	snprintf(F.base_url, sizeof(F.base_url), "http://127.0.0.1:9");
	if (wire && sandbox_start() != 0) {
		fprintf(stderr, "bangsoleh-sandbox did not start\n");
		return -1;
	}
	struct pay_gateway_config sb = { "sandbox", F.base_url, NULL, NULL, NULL, 0 };
	struct pay_gateway_config mt = { "midtrans", F.base_url, SANDBOX_KEY, NULL, NULL, 0 };
	struct pay_gateway_config xd = { "xendit", F.base_url, SANDBOX_KEY, XENDIT_TOKEN, NULL, 0 };
	if (pay_gateway_new(&sb, F.http, &F.sandbox) != 0 || pay_gateway_new(&mt, F.http, &F.midtrans) != 0 ||
	    pay_gateway_new(&xd, F.http, &F.xendit) != 0)
		return -1;
	return 0;
}

static int fixed_setup(void **state)
{
	(void)state;
	return fixture_setup(false);
}

static int wire_setup(void **state)
{
	(void)state;
	return fixture_setup(true);
}

static int group_teardown(void **state)
{
	(void)state;
	sandbox_stop();
	/* The clients first: they may still call back into gateways' calls. */
	hclient_free(F.http);
	hclient_free(F.http_once);
	pay_gateway_free(F.sandbox);
	pay_gateway_free(F.midtrans);
	pay_gateway_free(F.xendit);
	if (F.out_ev)
		event_free(F.out_ev);
	if (F.out_fd > 0)
		close(F.out_fd);
	for (size_t i = 0; i < F.nnotes; i++)
		note_free(&F.notes[i]);
	free(F.canned_body);
	if (F.recv)
		evhttp_free(F.recv);
	if (F.base)
		event_base_free(F.base);
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	faults_clear();
	return 0;
}

/* --- fixed inputs -------------------------------------------------------- */

struct hdrs {
	const char *names[4];
	const char *values[4];
};

static const char *hdrs_get(const char *name, void *ctx)
{
	const struct hdrs *h = ctx;
	for (size_t i = 0; i < 4 && h->names[i]; i++)
		if (strcasecmp(h->names[i], name) == 0)
			return h->values[i];
	return NULL;
}

static int parse(struct pay_gateway *g, const char *body, struct hdrs *h, struct pay_event *ev)
{
	struct pay_webhook w = { body, strlen(body), h ? hdrs_get : NULL, h };
	return pay_parse_webhook(g, &w, ev);
}

/* Lower-case hex SHA-512 of a + b + c + key, as the test's own reference. */
static void sign(const char *a, const char *b, const char *c, const char *key, char hex[129])
{
	char buf[512];
	uint8_t md[CRYPTO_SHA512_LEN];
	int n = snprintf(buf, sizeof(buf), "%s%s%s%s", a, b, c, key);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(crypto_sha512(buf, (size_t)n, md), 0);
	assert_int_equal(crypto_hex_encode(md, sizeof(md), hex, 129), 0);
}

/* A Midtrans-shaped notification body, signed with sig. */
static void mt_body(char *out, size_t cap, const char *order, const char *code, const char *gross,
		    const char *status, const char *sig)
{
	int n = snprintf(out, cap,
			 "{\"transaction_time\":\"2024-01-01 10:00:00\",\"transaction_status\":\"%s\","
			 "\"transaction_id\":\"tx-%s\",\"status_message\":\"midtrans payment notification\","
			 "\"status_code\":\"%s\",\"signature_key\":\"%s\",\"payment_type\":\"qris\","
			 "\"order_id\":\"%s\",\"gross_amount\":\"%s\",\"fraud_status\":\"accept\",\"currency\":\"IDR\"}",
			 status, order, code, sig, order, gross);
	assert_true(n > 0 && (size_t)n < cap);
}

/* The reference's signature vector verifies; the same values reformatted do not. */
static void test_midtrans_signature_vector(void **state)
{
	(void)state;
	struct pay_gateway *g = gateway("midtrans", VECTOR_KEY, NULL, NULL, 0, F.http);
	struct pay_event ev;
	char body[1024];

	mt_body(body, sizeof(body), "1111", "200", "100000.00", "settlement", VECTOR_SIG);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_OK);
	assert_int_equal(ev.kind, PAY_EVENT_PAYMENT);
	assert_int_equal(ev.state, PAY_STATE_PAID);
	assert_int_equal(ev.amount, 100000);
	assert_int_equal(ev.refunded, 0);
	assert_string_equal(ev.payment_id, "1111");
	assert_string_equal(ev.provider_ref, "tx-1111");
	assert_string_equal(ev.event_id, "tx-1111:settlement");

	/* "100000" is another string: the vector's signature does not cover it. */
	mt_body(body, sizeof(body), "1111", "200", "100000", "settlement", VECTOR_SIG);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_EFORGED);
	assert_string_equal(ev.event_id, "");
	/* Its own signature does, over the exact string. */
	mt_body(body, sizeof(body), "1111", "200", "100000", "settlement", VECTOR_SIG_NO_DECIMALS);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_OK);
	assert_int_equal(ev.amount, 100000);

	/* One flipped digit, upper case, truncation, absence, another key. */
	char bad[129];
	memcpy(bad, VECTOR_SIG, sizeof(bad));
	bad[127] = bad[127] == '1' ? '2' : '1';
	mt_body(body, sizeof(body), "1111", "200", "100000.00", "settlement", bad);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_EFORGED);
	for (size_t i = 0; i < 128; i++)
		bad[i] = (char)(VECTOR_SIG[i] >= 'a' ? VECTOR_SIG[i] - 32 : VECTOR_SIG[i]);
	mt_body(body, sizeof(body), "1111", "200", "100000.00", "settlement", bad);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_EFORGED);
	bad[127] = '\0';
	memcpy(bad, VECTOR_SIG, 127);
	mt_body(body, sizeof(body), "1111", "200", "100000.00", "settlement", bad);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_EFORGED);
	assert_int_equal(parse(g, "{\"order_id\":\"1111\",\"status_code\":\"200\",\"gross_amount\":\"100000.00\","
				  "\"transaction_status\":\"settlement\",\"transaction_id\":\"t\"}", NULL, &ev),
			 PAY_EFORGED);
	struct pay_gateway *other = gateway("midtrans", "another-server-key", NULL, NULL, 0, F.http);
	mt_body(body, sizeof(body), "1111", "200", "100000.00", "settlement", VECTOR_SIG);
	assert_int_equal(parse(other, body, NULL, &ev), PAY_EFORGED);
	pay_gateway_free(other);
	pay_gateway_free(g);
}

/* Correctly signed notifications whose fields break the rules do not parse. */
static void test_midtrans_webhook_rules(void **state)
{
	(void)state;
	struct pay_gateway *g = gateway("midtrans", VECTOR_KEY, NULL, NULL, 0, F.http);
	struct pay_event ev;
	char body[1024];
	char sig[129];
	static const char *const amounts[] = { "100000.50", "100000.01", "1e5", "-5.00", "0100.00", "10000001.00",
					       "100000.", "100000.000", " 100", "", "99999999999999999999.00" };
	for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
		sign("o-1", "200", amounts[i], VECTOR_KEY, sig);
		mt_body(body, sizeof(body), "o-1", "200", amounts[i], "settlement", sig);
		assert_int_equal(parse(g, body, NULL, &ev), PAY_EMALFORMED);
	}
	/* Each status maps; an unknown one does not. */
	static const struct {
		const char *status;
		const char *code;
		enum pay_state state;
	} states[] = {
		{ "pending", "201", PAY_STATE_PENDING },     { "expire", "202", PAY_STATE_EXPIRED },
		{ "cancel", "200", PAY_STATE_CANCELLED },    { "deny", "202", PAY_STATE_CANCELLED },
		{ "failure", "202", PAY_STATE_FAILED },      { "settlement", "200", PAY_STATE_PAID },
	};
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		sign("o-2", states[i].code, "5000.00", VECTOR_KEY, sig);
		mt_body(body, sizeof(body), "o-2", states[i].code, "5000.00", states[i].status, sig);
		assert_int_equal(parse(g, body, NULL, &ev), PAY_OK);
		assert_int_equal(ev.state, states[i].state);
	}
	sign("o-2", "200", "5000.00", VECTOR_KEY, sig);
	mt_body(body, sizeof(body), "o-2", "200", "5000.00", "expired", sig);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_EMALFORMED);
	/* Settlement is paid only with status_code 200. */
	sign("o-2", "201", "5000.00", VECTOR_KEY, sig);
	mt_body(body, sizeof(body), "o-2", "201", "5000.00", "settlement", sig);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_EMALFORMED);
	/* An order id that cannot be ours. */
	sign("o/2", "200", "5000.00", VECTOR_KEY, sig);
	mt_body(body, sizeof(body), "o/2", "200", "5000.00", "settlement", sig);
	assert_int_equal(parse(g, body, NULL, &ev), PAY_EMALFORMED);
	/* Not JSON, not an object, duplicate keys, too big. */
	assert_int_equal(parse(g, "{\"order_id\":", NULL, &ev), PAY_EMALFORMED);
	assert_int_equal(parse(g, "[1,2]", NULL, &ev), PAY_EMALFORMED);
	assert_int_equal(parse(g, "{\"a\":1,\"a\":2}", NULL, &ev), PAY_EMALFORMED);
	char *big = malloc(70000);
	assert_non_null(big);
	memset(big, ' ', 69999);
	big[0] = '{';
	big[69998] = '}';
	big[69999] = '\0';
	assert_int_equal(parse(g, big, NULL, &ev), PAY_EMALFORMED);
	free(big);
	pay_gateway_free(g);
}

static const char xd_v2[] =
	"{\"event\":\"qr.payment\",\"api_version\":\"v2\",\"business_id\":\"b1\",\"created\":\"2024-01-01T00:00:00Z\","
	"\"data\":{\"id\":\"qrpy_1\",\"business_id\":\"b1\",\"currency\":\"IDR\",\"amount\":25000,"
	"\"status\":\"SUCCEEDED\",\"qr_id\":\"qr_abc\",\"reference_id\":\"pay-77\",\"type\":\"DYNAMIC\"}}";
static const char xd_v1[] =
	"{\"id\":\"qrpy_2\",\"event\":\"qr.payment\",\"amount\":25000,\"status\":\"COMPLETED\","
	"\"created\":\"2024-01-01T00:00:00Z\",\"qr_code\":{\"id\":\"qr_abc\",\"type\":\"DYNAMIC\","
	"\"external_id\":\"pay-77\"},\"payment_details\":{\"source\":\"BNI\",\"receipt_id\":\"r1\"}}";

/* Both callback shapes parse; the token and webhook-id headers rule. */
static void test_xendit_webhook_rules(void **state)
{
	(void)state;
	struct pay_event ev;
	struct hdrs good = { { "X-Callback-Token", "Webhook-Id" }, { XENDIT_TOKEN, "wh-1" } };
	struct hdrs wrong = { { "x-callback-token", "webhook-id" }, { XENDIT_TOKEN "x", "wh-1" } };
	struct hdrs prefix = { { "x-callback-token", "webhook-id" }, { "bangsoleh", "wh-1" } };
	struct hdrs no_token = { { "webhook-id" }, { "wh-1" } };
	struct hdrs no_id = { { "x-callback-token" }, { XENDIT_TOKEN } };
	const char *const shapes[] = { xd_v2, xd_v1 };
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(parse(F.xendit, shapes[i], &good, &ev), PAY_OK);
		assert_int_equal(ev.kind, PAY_EVENT_PAYMENT);
		assert_int_equal(ev.state, PAY_STATE_PAID);
		assert_int_equal(ev.amount, 25000);
		assert_string_equal(ev.payment_id, "pay-77");
		assert_string_equal(ev.provider_ref, "qr_abc");
		assert_string_equal(ev.event_id, "wh-1");
		assert_int_equal(parse(F.xendit, shapes[i], &wrong, &ev), PAY_EFORGED);
		assert_int_equal(parse(F.xendit, shapes[i], &prefix, &ev), PAY_EFORGED);
		assert_int_equal(parse(F.xendit, shapes[i], &no_token, &ev), PAY_EFORGED);
		assert_int_equal(parse(F.xendit, shapes[i], NULL, &ev), PAY_EFORGED);
		assert_int_equal(parse(F.xendit, shapes[i], &no_id, &ev), PAY_EMALFORMED);
	}
	/* The token is checked before the body is read. */
	assert_int_equal(parse(F.xendit, "not json", &wrong, &ev), PAY_EFORGED);
	assert_int_equal(parse(F.xendit, "not json", &good, &ev), PAY_EMALFORMED);
	/* The paid word belongs to its shape; amounts are integers. */
	assert_int_equal(parse(F.xendit,
			       "{\"event\":\"qr.payment\",\"data\":{\"amount\":25000,\"status\":\"COMPLETED\","
			       "\"qr_id\":\"qr_abc\",\"reference_id\":\"pay-77\"}}", &good, &ev),
			 PAY_EMALFORMED);
	assert_int_equal(parse(F.xendit,
			       "{\"event\":\"qr.payment\",\"data\":{\"amount\":\"25000\",\"status\":\"SUCCEEDED\","
			       "\"qr_id\":\"qr_abc\",\"reference_id\":\"pay-77\"}}", &good, &ev),
			 PAY_EMALFORMED);
	assert_int_equal(parse(F.xendit,
			       "{\"event\":\"qr.payment\",\"data\":{\"amount\":25000.5,\"status\":\"SUCCEEDED\","
			       "\"qr_id\":\"qr_abc\",\"reference_id\":\"pay-77\"}}", &good, &ev),
			 PAY_EMALFORMED);
	assert_int_equal(parse(F.xendit,
			       "{\"event\":\"qr.expired\",\"data\":{\"amount\":25000,\"status\":\"SUCCEEDED\","
			       "\"qr_id\":\"qr_abc\",\"reference_id\":\"pay-77\"}}", &good, &ev),
			 PAY_EMALFORMED);
	assert_int_equal(parse(F.xendit, "{\"event\":\"qr.payment\",\"amount\":25000,\"status\":\"COMPLETED\"}",
			       &good, &ev),
			 PAY_EMALFORMED);
}

/* Sandbox payout notifications: signed over payout_id + status + amount. */
static void test_payout_webhook_rules(void **state)
{
	(void)state;
	struct pay_event ev;
	char body[1024];
	char sig[129];
	sign("po-ours-1", "COMPLETED", "150000.00", SANDBOX_KEY, sig);
	snprintf(body, sizeof(body),
		 "{\"event\":\"payout\",\"payout_id\":\"po-ours-1\",\"id\":\"po_1\",\"amount\":\"150000.00\","
		 "\"status\":\"COMPLETED\",\"signature_key\":\"%s\"}", sig);
	assert_int_equal(parse(F.sandbox, body, NULL, &ev), PAY_OK);
	assert_int_equal(ev.kind, PAY_EVENT_PAYOUT);
	assert_false(ev.payout_failed);
	assert_int_equal(ev.amount, 150000);
	assert_string_equal(ev.payment_id, "po-ours-1");
	assert_string_equal(ev.provider_ref, "po_1");
	assert_string_equal(ev.event_id, "po_1:COMPLETED");
	/* The same body claiming failure no longer matches its signature. */
	snprintf(body, sizeof(body),
		 "{\"event\":\"payout\",\"payout_id\":\"po-ours-1\",\"id\":\"po_1\",\"amount\":\"150000.00\","
		 "\"status\":\"FAILED\",\"signature_key\":\"%s\"}", sig);
	assert_int_equal(parse(F.sandbox, body, NULL, &ev), PAY_EFORGED);
	sign("po-ours-1", "FAILED", "150000.00", SANDBOX_KEY, sig);
	snprintf(body, sizeof(body),
		 "{\"event\":\"payout\",\"payout_id\":\"po-ours-1\",\"id\":\"po_1\",\"amount\":\"150000.00\","
		 "\"status\":\"FAILED\",\"signature_key\":\"%s\"}", sig);
	assert_int_equal(parse(F.sandbox, body, NULL, &ev), PAY_OK);
	assert_true(ev.payout_failed);
	assert_string_equal(ev.event_id, "po_1:FAILED");
	/* The midtrans module has no payouts: the same body is not a payment. */
	assert_int_equal(parse(F.midtrans, body, NULL, &ev), PAY_EMALFORMED);
}

/* Configuration and request checks, before anything is sent. */
static void test_config_and_requests(void **state)
{
	(void)state;
	struct pay_gateway *g = NULL;
	struct pay_gateway_config unknown = { "doku", F.base_url, "k", NULL, NULL, 0 };
	struct pay_gateway_config no_key = { "midtrans", F.base_url, NULL, NULL, NULL, 0 };
	struct pay_gateway_config no_token = { "xendit", F.base_url, "k", NULL, NULL, 0 };
	struct pay_gateway_config bad_url = { "midtrans", "ftp://127.0.0.1", "k", NULL, NULL, 0 };
	struct pay_gateway_config bad_key = { "midtrans", F.base_url, "key with blank", NULL, NULL, 0 };
	struct pay_gateway_config defaults = { "sandbox", NULL, NULL, NULL, NULL, 0 };
	assert_int_equal(pay_gateway_new(&unknown, F.http, &g), PAY_EINVAL);
	assert_int_equal(pay_gateway_new(&no_key, F.http, &g), PAY_EINVAL);
	assert_int_equal(pay_gateway_new(&no_token, F.http, &g), PAY_EINVAL);
	assert_int_equal(pay_gateway_new(&bad_url, F.http, &g), PAY_EINVAL);
	assert_int_equal(pay_gateway_new(&bad_key, F.http, &g), PAY_EINVAL);
	assert_int_equal(pay_gateway_new(&defaults, NULL, &g), PAY_EINVAL);
	assert_null(g);
	assert_int_equal(pay_gateway_new(&defaults, F.http, &g), PAY_OK);
	assert_string_equal(pay_gateway_name(g), "sandbox");
	pay_gateway_free(g);
	assert_string_equal(pay_gateway_name(F.midtrans), "midtrans");
	assert_string_equal(pay_gateway_name(F.xendit), "xendit");

	assert_string_equal(pay_state_name(PAY_STATE_PENDING), "pending");
	assert_string_equal(pay_state_name(PAY_STATE_PARTIALLY_REFUNDED), "partially_refunded");
	assert_null(pay_state_name((enum pay_state)0));

	struct charge_out co = { 0 };
	struct status_out so = { 0 };
	struct disburse_out dout = { 0 };
	struct pay_charge_req slash = { "a/b", 1000, 900, NULL };
	struct pay_charge_req zero = { "ok-1", 0, 900, NULL };
	struct pay_charge_req over = { "ok-1", QRIS_AMOUNT_MAX + 1, 900, NULL };
	struct pay_charge_req no_expiry = { "ok-1", 1000, 0, NULL };
	struct pay_charge_req bad_key_req = { "ok-1", 1000, 900, "has\nnewline" };
	assert_int_equal(pay_charge(F.sandbox, &slash, charge_done, &co), PAY_EINVAL);
	assert_int_equal(pay_charge(F.sandbox, &zero, charge_done, &co), PAY_EINVAL);
	assert_int_equal(pay_charge(F.sandbox, &over, charge_done, &co), PAY_EINVAL);
	assert_int_equal(pay_charge(F.sandbox, &no_expiry, charge_done, &co), PAY_EINVAL);
	assert_int_equal(pay_charge(F.sandbox, &bad_key_req, charge_done, &co), PAY_EINVAL);
	assert_int_equal(pay_status(F.sandbox, NULL, NULL, status_done, &so), PAY_EINVAL);
	assert_int_equal(pay_status(F.xendit, "only-ours", NULL, status_done, &so), PAY_EINVAL);

	struct pay_refund_req rf = { "ok-1", NULL, 1000, "rk-1", NULL };
	struct pay_disburse_req po = { "po-1", 1000, "BRI", "1234567890", "Bu Sri" };
	struct pay_disburse_req po_bad = { "po-1", 1000, "BRI", "12-34", "Bu Sri" };
	assert_int_equal(pay_cancel(F.xendit, NULL, "qr_1", status_done, &so), PAY_EUNSUPPORTED);
	assert_int_equal(pay_refund(F.xendit, &rf, status_done, &so), PAY_EUNSUPPORTED);
	assert_int_equal(pay_disburse(F.xendit, &po, disburse_done, &dout), PAY_EUNSUPPORTED);
	assert_int_equal(pay_disburse(F.midtrans, &po, disburse_done, &dout), PAY_EUNSUPPORTED);
	assert_int_equal(pay_disburse(F.sandbox, &po_bad, disburse_done, &dout), PAY_EINVAL);
	rf.refund_key = NULL;
	assert_int_equal(pay_refund(F.sandbox, &rf, status_done, &so), PAY_EINVAL);
	/* A refused call never calls back. */
	assert_int_equal(co.calls + so.calls + dout.calls, 0);
}

/* --- over the wire ------------------------------------------------------- */

/*
 * Charge, pay, the paid notification, status, then two partial refunds and
 * the rest, each with its notification: the Midtrans protocol end to end.
 */
static void midtrans_protocol_flow(struct pay_gateway *g, const char *id)
{
	struct charge_out co;
	struct status_out so;
	struct pay_event ev;
	char event_one[PAY_EVENT_ID_MAX + 1];

	charge_ok(g, id, 150000, &co);
	status(g, id, NULL, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_PENDING);
	assert_int_equal(so.res.amount, -1);
	assert_string_equal(so.res.provider_ref, co.res.provider_ref);

	size_t from = F.nnotes;
	simulate_pay(id);
	struct note *n = wait_notes(from, "/midtrans", id, "\"settlement\"", 1);
	struct pay_webhook w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(g, &w, &ev), PAY_OK);
	assert_int_equal(ev.kind, PAY_EVENT_PAYMENT);
	assert_int_equal(ev.state, PAY_STATE_PAID);
	assert_int_equal(ev.amount, 150000);
	assert_string_equal(ev.payment_id, id);
	assert_string_equal(ev.provider_ref, co.res.provider_ref);
	assert_true(strstr(ev.event_id, co.res.provider_ref) == ev.event_id);

	status(g, NULL, co.res.provider_ref, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_PAID);
	assert_int_equal(so.res.amount, 150000);

	/* A paid charge cannot be cancelled, only refunded. */
	cancel(g, id, co.res.provider_ref, &so);
	assert_int_equal(so.res.error, PAY_EPROVIDER);

	char key[PAY_ID_MAX + 1];
	snprintf(key, sizeof(key), "%s-r1", id);
	from = F.nnotes;
	refund(g, id, co.res.provider_ref, 50000, key, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_PARTIALLY_REFUNDED);
	assert_int_equal(so.res.refunded, 50000);
	n = wait_notes(from, "/midtrans", id, "\"partial_refund\"", 1);
	w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(g, &w, &ev), PAY_OK);
	assert_int_equal(ev.state, PAY_STATE_PARTIALLY_REFUNDED);
	assert_int_equal(ev.refunded, 50000);
	memcpy(event_one, ev.event_id, sizeof(event_one));

	/* The same key again is the same refund: nothing more is refunded. */
	refund(g, id, co.res.provider_ref, 50000, key, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.refunded, 50000);

	snprintf(key, sizeof(key), "%s-r2", id);
	from = F.nnotes;
	refund(g, id, co.res.provider_ref, 50000, key, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_PARTIALLY_REFUNDED);
	assert_int_equal(so.res.refunded, 100000);
	n = wait_notes(from, "/midtrans", id, "\"partial_refund\"", 1);
	w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(g, &w, &ev), PAY_OK);
	assert_int_equal(ev.refunded, 100000);
	/* Two partial refunds are two events. */
	assert_string_not_equal(ev.event_id, event_one);

	snprintf(key, sizeof(key), "%s-r3", id);
	refund(g, id, co.res.provider_ref, 50000, key, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_REFUNDED);
	assert_int_equal(so.res.refunded, 150000);

	/* More than was paid is the provider's refusal. */
	snprintf(key, sizeof(key), "%s-r4", id);
	refund(g, id, co.res.provider_ref, 1000, key, &so);
	assert_int_equal(so.res.error, PAY_EPROVIDER);
}

static void test_sandbox_flow(void **state)
{
	(void)state;
	midtrans_protocol_flow(F.sandbox, "sb-flow-1");
}

static void test_midtrans_flow(void **state)
{
	(void)state;
	midtrans_protocol_flow(F.midtrans, "mt-flow-1");
}

/*
 * A pending charge cancels; its status says so; its QR can no longer be
 * paid. An expired one reads as expired and cannot be cancelled.
 */
static void test_cancel(void **state)
{
	(void)state;
	struct charge_out co;
	struct status_out so;
	struct ctl c;
	charge_ok(F.midtrans, "mt-cancel-1", 20000, &co);
	cancel(F.midtrans, "mt-cancel-1", NULL, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_CANCELLED);
	status(F.midtrans, "mt-cancel-1", co.res.provider_ref, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_CANCELLED);
	assert_int_equal(so.res.amount, -1);
	long st = ctl("POST", "/simulate/pay/mt-cancel-1", NULL, &c);
	assert_true(st >= 400 && st < 500);
	/* An expired charge: the status answer's body status_code 407 is its state, not an error. */
	charge_ok(F.midtrans, "mt-expire-1", 20000, &co);
	st = ctl("POST", "/v2/mt-expire-1/expire", NULL, &c);
	assert_int_equal(st, 200);
	assert_non_null(strstr(c.body, "\"407\""));
	status(F.midtrans, "mt-expire-1", NULL, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_EXPIRED);
	cancel(F.midtrans, "mt-expire-1", NULL, &so);
	assert_int_equal(so.res.error, PAY_EPROVIDER);
	/* An unknown transaction is the provider's answer, not an outage. */
	status(F.midtrans, "mt-never-charged", NULL, &so);
	assert_int_equal(so.res.error, PAY_EPROVIDER);
}

/* The notification URL given per request replaces the sandbox's default. */
static void test_notify_override(void **state)
{
	(void)state;
	char url[URL_MAX];
	struct charge_out co;
	struct pay_event ev;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/override", F.recv_port);
	struct pay_gateway *g = gateway("midtrans", SANDBOX_KEY, NULL, url, 0, F.http);
	charge_ok(g, "mt-override-1", 30000, &co);
	size_t from = F.nnotes;
	simulate_pay("mt-override-1");
	struct note *n = wait_notes(from, "/override", "mt-override-1", "\"settlement\"", 1);
	struct pay_webhook w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(g, &w, &ev), PAY_OK);
	assert_int_equal(ev.state, PAY_STATE_PAID);
	assert_int_equal(notes_count(0, "/midtrans", "mt-override-1", NULL), 0);
	pay_gateway_free(g);
}

/* Xendit: charge a QR, pay it, the V2 callback verifies; status reads the QR. */
static void test_xendit_flow(void **state)
{
	(void)state;
	struct charge_out co;
	struct status_out so;
	struct pay_event ev;
	charge_ok(F.xendit, "xd-flow-1", 45000, &co);
	assert_true(strncmp(co.res.provider_ref, "qr_", 3) == 0);
	status(F.xendit, "xd-flow-1", co.res.provider_ref, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_PENDING);
	assert_int_equal(so.res.amount, -1);
	assert_string_equal(so.res.provider_ref, co.res.provider_ref);

	size_t from = F.nnotes;
	simulate_pay(co.res.provider_ref);
	struct note *n = wait_notes(from, "/xendit", "xd-flow-1", "\"SUCCEEDED\"", 1);
	struct pay_webhook w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(F.xendit, &w, &ev), PAY_OK);
	assert_int_equal(ev.state, PAY_STATE_PAID);
	assert_int_equal(ev.amount, 45000);
	assert_string_equal(ev.payment_id, "xd-flow-1");
	assert_string_equal(ev.provider_ref, co.res.provider_ref);
	assert_string_equal(ev.event_id, note_header("webhook-id", n));

	/* The same notification checked against another token is forged. */
	struct pay_gateway *wrong = gateway("xendit", SANDBOX_KEY, "not-the-token", NULL, 0, F.http);
	assert_int_equal(pay_parse_webhook(wrong, &w, &ev), PAY_EFORGED);
	pay_gateway_free(wrong);

	/* Unknown QR codes are the provider's answer. */
	status(F.xendit, NULL, "qr_00000000-0000-4000-8000-000000000000", &so);
	assert_int_equal(so.res.error, PAY_EPROVIDER);
}

/*
 * The V1 flat callback over the wire (the sandbox sends it for QR codes
 * created with x-sandbox-webhook-shape: v1), delivered twice: both copies
 * carry the same event_id. Then a QR whose callback carries the wrong
 * token.
 */
static void test_xendit_v1_duplicates_forged(void **state)
{
	(void)state;
	struct ctl c;
	struct pay_event first;
	struct pay_event ev;
	const char *create = "{\"reference_id\":\"xd-v1-1\",\"type\":\"DYNAMIC\",\"currency\":\"IDR\",\"amount\":33000}";
	long st = ctl_h("POST", "/qr_codes", create, "api-version: 2022-07-31", "x-sandbox-webhook-shape: v1", &c);
	assert_int_equal(st, 201);
	faults_set("{\"scope\":\"xd-v1-1\",\"duplicates\":1}");
	size_t from = F.nnotes;
	simulate_pay("xd-v1-1");
	wait_notes(from, "/xendit", "xd-v1-1", "\"COMPLETED\"", 2);
	size_t seen = 0;
	for (size_t i = from; i < F.nnotes; i++) {
		if (!note_matches(&F.notes[i], "/xendit", "xd-v1-1", "\"COMPLETED\""))
			continue;
		struct pay_webhook w = note_webhook(&F.notes[i]);
		assert_int_equal(pay_parse_webhook(F.xendit, &w, seen ? &ev : &first), PAY_OK);
		if (seen)
			assert_string_equal(ev.event_id, first.event_id);
		seen++;
	}
	assert_int_equal(seen, 2);
	assert_int_equal(first.state, PAY_STATE_PAID);
	assert_int_equal(first.amount, 33000);
	assert_string_equal(first.payment_id, "xd-v1-1");
	assert_true(strncmp(first.provider_ref, "qr_", 3) == 0);

	struct charge_out co;
	charge_ok(F.xendit, "xd-forged-1", 21000, &co);
	faults_set("{\"scope\":\"xd-forged-1\",\"wrong_signature\":true}");
	from = F.nnotes;
	simulate_pay("xd-forged-1");
	struct note *n = wait_notes(from, "/xendit", "xd-forged-1", NULL, 1);
	struct pay_webhook w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(F.xendit, &w, &ev), PAY_EFORGED);
}

/* Waits for the payout's notification with `status` and parses it. */
static void payout_event(size_t from, const char *payout_id, const char *status, struct pay_event *ev)
{
	char marker[32];
	snprintf(marker, sizeof(marker), "\"%s\"", status);
	struct note *n = wait_notes(from, "/midtrans", payout_id, marker, 1);
	struct pay_webhook w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(F.sandbox, &w, ev), PAY_OK);
	assert_int_equal(ev->kind, PAY_EVENT_PAYOUT);
	assert_string_equal(ev->payment_id, payout_id);
}

/* A payout completes; one to account "000..." fails; a manual one fails on request. */
static void test_payouts(void **state)
{
	(void)state;
	struct disburse_out d;
	struct pay_event ev;
	struct ctl c;
	size_t from = F.nnotes;
	disburse(F.sandbox, "po-ok-1", 250000, "1234567890", &d);
	assert_int_equal(d.res.error, PAY_OK);
	assert_false(d.res.failed);
	assert_true(strncmp(d.res.provider_ref, "po_", 3) == 0);
	payout_event(from, "po-ok-1", "COMPLETED", &ev);
	assert_false(ev.payout_failed);
	assert_int_equal(ev.state, PAY_STATE_PAID);
	assert_int_equal(ev.amount, 250000);
	assert_string_equal(ev.provider_ref, d.res.provider_ref);

	/* The same payout id again is the same payout. */
	char first_ref[PAY_ID_MAX + 1];
	memcpy(first_ref, d.res.provider_ref, sizeof(first_ref));
	disburse(F.sandbox, "po-ok-1", 250000, "1234567890", &d);
	assert_int_equal(d.res.error, PAY_OK);
	assert_string_equal(d.res.provider_ref, first_ref);

	from = F.nnotes;
	disburse(F.sandbox, "po-fail-1", 99000, "0000000000", &d);
	assert_int_equal(d.res.error, PAY_OK);
	assert_false(d.res.completed);
	payout_event(from, "po-fail-1", "FAILED", &ev);
	assert_true(ev.payout_failed);
	assert_int_equal(ev.state, PAY_STATE_FAILED);
	assert_int_equal(ev.amount, 99000);

	faults_set("{\"scope\":\"po-manual-1\",\"payout_manual\":true}");
	from = F.nnotes;
	disburse(F.sandbox, "po-manual-1", 5000, "1234567890", &d);
	assert_int_equal(d.res.error, PAY_OK);
	assert_false(d.res.completed);
	assert_false(d.res.failed);
	long st = ctl("POST", "/simulate/payout/po-manual-1", "{\"result\":\"failed\"}", &c);
	assert_true(st >= 200 && st < 300);
	payout_event(from, "po-manual-1", "FAILED", &ev);
	assert_true(ev.payout_failed);
}

/* A notification signed with the wrong key is forged; a good one then is not. */
static void test_forged_notification(void **state)
{
	(void)state;
	struct charge_out co;
	struct pay_event ev;
	charge_ok(F.sandbox, "sb-forged-1", 12000, &co);
	faults_set("{\"scope\":\"sb-forged-1\",\"wrong_signature\":true}");
	size_t from = F.nnotes;
	simulate_pay("sb-forged-1");
	struct note *n = wait_notes(from, "/midtrans", "sb-forged-1", "\"settlement\"", 1);
	struct pay_webhook w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(F.sandbox, &w, &ev), PAY_EFORGED);
	assert_string_equal(ev.event_id, "");
}

/* A notification whose amount differs is still authentic and says so. */
static void test_amount_delta(void **state)
{
	(void)state;
	struct charge_out co;
	struct pay_event ev;
	charge_ok(F.sandbox, "sb-delta-1", 40000, &co);
	faults_set("{\"scope\":\"sb-delta-1\",\"amount_delta\":-1000}");
	size_t from = F.nnotes;
	simulate_pay("sb-delta-1");
	struct note *n = wait_notes(from, "/midtrans", "sb-delta-1", "\"settlement\"", 1);
	struct pay_webhook w = note_webhook(n);
	assert_int_equal(pay_parse_webhook(F.sandbox, &w, &ev), PAY_OK);
	assert_int_equal(ev.state, PAY_STATE_PAID);
	assert_int_equal(ev.amount, 39000);
}

/* The first request the receiver got at `path` from index `from` on. */
static struct note *note_at(size_t from, const char *path)
{
	for (size_t i = from; i < F.nnotes; i++)
		if (strcmp(F.notes[i].path, path) == 0)
			return &F.notes[i];
	fail_msg("no request to %s", path);
	return NULL;
}

/* The canned provider answers `status` with obj (stolen) serialised, or with text. */
static void canned(int status, json_t *obj, const char *text)
{
	free(F.canned_body);
	F.canned_body = obj ? json_dumps(obj, JSON_COMPACT) : strdup(text);
	assert_non_null(F.canned_body);
	json_decref(obj);
	F.canned_status = status;
	F.canned_hits = 0;
}

/* A Midtrans charge answer for order c-1 of `amount` with qr. */
static json_t *mt_charge_answer(const char *qr, int64_t amount)
{
	char gross[32];
	snprintf(gross, sizeof(gross), "%lld.00", (long long)amount);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "status_code", "201",
			      "status_message", "QRIS transaction is created", "transaction_id", "tx-c1", "order_id",
			      "c-1", "gross_amount", gross, "currency", "IDR", "payment_type", "qris",
			      "transaction_status", "pending", "fraud_status", "accept", "qr_string", qr);
	assert_non_null(j);
	return j;
}

static void set_str(json_t *j, const char *key, const char *value)
{
	assert_int_equal(json_object_set_new(j, key, json_string(value)), 0);
}

/*
 * What the modules send and how strictly they read answers, against the
 * canned provider in this process: every field of a charge answer is
 * checked, body status codes count beside HTTP ones, 407 passes only on
 * status, 429 is retried and then unavailable.
 */
static void test_answer_rules(void **state)
{
	(void)state;
	char base[URL_MAX];
	char notify[URL_MAX];
	char qr[QRIS_PAYLOAD_MAX + 1];
	char b64[128];
	char auth[160];
	struct charge_out co;
	struct status_out so;
	/* A real dynamic QRIS for 64000, from the sandbox. */
	charge_ok(F.sandbox, "sb-canned-qr", 64000, &co);
	memcpy(qr, co.res.qr_string, sizeof(qr));
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/canned", F.recv_port);
	snprintf(notify, sizeof(notify), "http://127.0.0.1:%d/override", F.recv_port);
	struct pay_gateway_config mc = { "midtrans", base, "canned-key", NULL, notify, 0 };
	struct pay_gateway *g = NULL;
	assert_int_equal(pay_gateway_new(&mc, F.http, &g), PAY_OK);

	/* The request: headers and body as the Core API wants them. */
	canned(200, mt_charge_answer(qr, 64000), NULL);
	size_t from = F.nnotes;
	charge(g, "c-1", 64000, &co);
	assert_int_equal(co.res.error, PAY_OK);
	assert_string_equal(co.res.provider_ref, "tx-c1");
	assert_string_equal(co.res.qr_string, qr);
	assert_int_equal(F.canned_hits, 1);
	struct note *n = note_at(from, "/canned/v2/charge");
	assert_int_equal(crypto_base64_encode("canned-key:", 11, false, b64, sizeof(b64)), 0);
	snprintf(auth, sizeof(auth), "Basic %s", b64);
	assert_string_equal(note_header("Authorization", n), auth);
	assert_string_equal(note_header("Idempotency-Key", n), "ik-c-1");
	assert_string_equal(note_header("X-Override-Notification", n), notify);
	json_error_t jerr;
	json_t *sent = json_loads(n->body, 0, &jerr);
	json_int_t gross = 0, duration = 0;
	const char *ptype = NULL, *order = NULL, *unit = NULL;
	assert_int_equal(json_unpack(sent, "{s:s, s:{s:s, s:I}, s:{s:I, s:s}}", "payment_type", &ptype,
				     "transaction_details", "order_id", &order, "gross_amount", &gross, "custom_expiry",
				     "expiry_duration", &duration, "unit", &unit), 0);
	assert_string_equal(ptype, "qris");
	assert_string_equal(order, "c-1");
	assert_int_equal(gross, 64000);
	assert_int_equal(duration, 900);
	assert_string_equal(unit, "second");
	json_decref(sent);

	/* Each broken field alone makes the answer unusable. */
	static const struct {
		const char *key;
		const char *value;
		int error;
	} broken[] = {
		{ "status_code", "406", PAY_EPROVIDER },    { "status_code", "503", PAY_EUNAVAILABLE },
		{ "status_code", "20x", PAY_EMALFORMED },   { "gross_amount", "64000.50", PAY_EMALFORMED },
		{ "gross_amount", "64001.00", PAY_EMALFORMED }, { "order_id", "c-2", PAY_EMALFORMED },
		{ "transaction_id", "tx/1", PAY_EMALFORMED }, { "transaction_status", "settlement", PAY_EMALFORMED },
		{ "currency", "USD", PAY_EMALFORMED },       { "payment_type", "gopay", PAY_EMALFORMED },
		{ "qr_string", "000201", PAY_EMALFORMED },
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		json_t *j = mt_charge_answer(qr, 64000);
		set_str(j, broken[i].key, broken[i].value);
		canned(200, j, NULL);
		charge(g, "c-1", 64000, &co);
		assert_int_equal(co.res.error, broken[i].error);
		assert_true(co.text[0] != '\0');
	}
	/* The QR itself must be for the amount charged. */
	canned(200, mt_charge_answer(qr, 65000), NULL);
	charge(g, "c-1", 65000, &co);
	assert_int_equal(co.res.error, PAY_EMALFORMED);
	json_t *no_code = mt_charge_answer(qr, 64000);
	json_object_del(no_code, "status_code");
	canned(200, no_code, NULL);
	charge(g, "c-1", 64000, &co);
	assert_int_equal(co.res.error, PAY_EMALFORMED);
	canned(200, NULL, "<html>not json</html>");
	charge(g, "c-1", 64000, &co);
	assert_int_equal(co.res.error, PAY_EMALFORMED);
	/* Too big to be an answer. */
	char *big = malloc(70001);
	assert_non_null(big);
	memset(big, 'x', 70000);
	big[70000] = '\0';
	canned(200, NULL, big);
	free(big);
	charge(g, "c-1", 64000, &co);
	assert_int_equal(co.res.error, PAY_EMALFORMED);
	/* 429 is retried (three attempts) and then unavailable. */
	canned(429, NULL, "{\"status_code\":\"429\"}");
	charge(g, "c-1", 64000, &co);
	assert_int_equal(co.res.error, PAY_EUNAVAILABLE);
	assert_int_equal(F.canned_hits, 3);

	/* 407 is an expired transaction on status, an error anywhere else. */
	json_t *expired = mt_charge_answer(qr, 64000);
	set_str(expired, "status_code", "407");
	set_str(expired, "transaction_status", "expire");
	json_t *expired_copy = json_deep_copy(expired);
	canned(200, expired, NULL);
	status(g, "c-1", NULL, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_EXPIRED);
	assert_int_equal(so.res.amount, -1);
	canned(200, expired_copy, NULL);
	cancel(g, "c-1", NULL, &so);
	assert_int_equal(so.res.error, PAY_EPROVIDER);

	/*
	 * A refund's answer: refund_amount alone is that one refund, no total
	 * (0, not told); refunds[] lists them all; a status answer's
	 * refund_amount is the total.
	 */
	json_t *refunded = mt_charge_answer(qr, 64000);
	set_str(refunded, "status_code", "200");
	set_str(refunded, "transaction_status", "partial_refund");
	set_str(refunded, "refund_amount", "1000.00");
	json_t *listed = json_deep_copy(refunded), *told = json_deep_copy(refunded);
	assert_int_equal(json_object_set_new(listed, "refunds",
					     json_pack("[{s:s}, {s:s}]", "refund_amount", "2000.00", "refund_amount",
						       "1000.00")),
			 0);
	canned(200, refunded, NULL);
	refund(g, "c-1", NULL, 1000, "rk-2", &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.state, PAY_STATE_PARTIALLY_REFUNDED);
	assert_int_equal(so.res.refunded, 0);
	canned(200, listed, NULL);
	refund(g, "c-1", NULL, 1000, "rk-2", &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.refunded, 3000);
	set_str(told, "refund_amount", "3000.00");
	canned(200, told, NULL);
	status(g, "c-1", NULL, &so);
	assert_int_equal(so.res.error, PAY_OK);
	assert_int_equal(so.res.refunded, 3000);
	pay_gateway_free(g);

	/* Xendit: the api-version and idempotency-key headers and the body. */
	struct pay_gateway_config xc = { "xendit", base, "canned-key", "tok", NULL, 0 };
	assert_int_equal(pay_gateway_new(&xc, F.http, &g), PAY_OK);
	canned(201, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "id", "qr_c1", "reference_id", "c-1", "type",
			      "DYNAMIC", "currency", "IDR", "amount", (json_int_t)64000, "status", "ACTIVE",
			      "qr_string", qr), NULL);
	from = F.nnotes;
	charge(g, "c-1", 64000, &co);
	assert_int_equal(co.res.error, PAY_OK);
	n = note_at(from, "/canned/qr_codes");
	assert_string_equal(note_header("api-version", n), "2022-07-31");
	assert_string_equal(note_header("idempotency-key", n), "ik-c-1");
	assert_string_equal(note_header("Authorization", n), auth);
	sent = json_loads(n->body, 0, &jerr);
	const char *type = NULL, *currency = NULL, *expires = NULL;
	json_int_t amount = 0;
	assert_int_equal(json_unpack(sent, "{s:s, s:s, s:s, s:I, s:s}", "reference_id", &order, "type", &type,
				     "currency", &currency, "amount", &amount, "expires_at", &expires), 0);
	assert_string_equal(order, "c-1");
	assert_string_equal(type, "DYNAMIC");
	assert_string_equal(currency, "IDR");
	assert_int_equal(amount, 64000);
	assert_int_equal(strlen(expires), 20);
	assert_true(expires[4] == '-' && expires[10] == 'T' && expires[19] == 'Z');
	json_decref(sent);
	/* An amount as a string is not Xendit's shape. */
	canned(201, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", "qr_c1", "reference_id", "c-1", "amount",
			      "64000", "currency", "IDR", "status", "ACTIVE", "qr_string", qr), NULL);
	charge(g, "c-1", 64000, &co);
	assert_int_equal(co.res.error, PAY_EMALFORMED);
	pay_gateway_free(g);
}

/* http_500 twice, then success: the module's retries absorb it. */
static void test_retry_after_500(void **state)
{
	(void)state;
	struct charge_out co;
	struct pay_gateway *once = gateway("sandbox", NULL, NULL, NULL, 0, F.http_once);
	/* Without retries the fault is what the caller sees. */
	faults_set("{\"scope\":\"global\",\"http_500\":1}");
	charge(once, "sb-500-0", 10000, &co);
	assert_int_equal(co.res.error, PAY_EUNAVAILABLE);
	faults_clear();
	faults_set("{\"scope\":\"global\",\"http_500\":2}");
	charge_ok(F.sandbox, "sb-500-1", 10000, &co);
	pay_gateway_free(once);
}

/* A provider that does not answer within timeout_ms is unavailable. */
static void test_timeout(void **state)
{
	(void)state;
	struct charge_out co;
	struct status_out so;
	struct pay_gateway *g = gateway("sandbox", NULL, NULL, NULL, SHORT_TIMEOUT_MS, F.http);
	faults_set("{\"scope\":\"global\",\"timeout\":3}");
	charge(g, "sb-timeout-1", 10000, &co);
	assert_int_equal(co.res.error, PAY_EUNAVAILABLE);
	faults_clear();
	/* The same charge, once the provider answers, goes through. */
	charge_ok(g, "sb-timeout-1", 10000, &co);
	status(g, "sb-timeout-1", NULL, &so);
	assert_int_equal(so.res.state, PAY_STATE_PENDING);
	pay_gateway_free(g);
}

/* Duplicated deliveries carry the same event_id. */
static void test_duplicates(void **state)
{
	(void)state;
	struct charge_out co;
	struct pay_event first;
	struct pay_event ev;
	charge_ok(F.sandbox, "sb-dup-1", 18000, &co);
	faults_set("{\"scope\":\"sb-dup-1\",\"duplicates\":2}");
	size_t from = F.nnotes;
	simulate_pay("sb-dup-1");
	wait_notes(from, "/midtrans", "sb-dup-1", "\"settlement\"", 3);
	size_t seen = 0;
	for (size_t i = from; i < F.nnotes; i++) {
		if (!note_matches(&F.notes[i], "/midtrans", "sb-dup-1", "\"settlement\""))
			continue;
		struct pay_webhook w = note_webhook(&F.notes[i]);
		assert_int_equal(pay_parse_webhook(F.sandbox, &w, seen ? &ev : &first), PAY_OK);
		if (seen)
			assert_string_equal(ev.event_id, first.event_id);
		seen++;
	}
	assert_true(seen >= 3);
	assert_int_equal(first.state, PAY_STATE_PAID);
}

int main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_midtrans_signature_vector),
		cmocka_unit_test(test_midtrans_webhook_rules),
		cmocka_unit_test(test_xendit_webhook_rules),
		cmocka_unit_test(test_payout_webhook_rules),
		cmocka_unit_test(test_config_and_requests),
	};
	const struct CMUnitTest wire[] = {
		cmocka_unit_test_setup(test_sandbox_flow, test_setup),
		cmocka_unit_test_setup(test_midtrans_flow, test_setup),
		cmocka_unit_test_setup(test_cancel, test_setup),
		cmocka_unit_test_setup(test_notify_override, test_setup),
		cmocka_unit_test_setup(test_xendit_flow, test_setup),
		cmocka_unit_test_setup(test_xendit_v1_duplicates_forged, test_setup),
		cmocka_unit_test_setup(test_payouts, test_setup),
		cmocka_unit_test_setup(test_forged_notification, test_setup),
		cmocka_unit_test_setup(test_amount_delta, test_setup),
		cmocka_unit_test_setup(test_answer_rules, test_setup),
		cmocka_unit_test_setup(test_retry_after_500, test_setup),
		cmocka_unit_test_setup(test_timeout, test_setup),
		cmocka_unit_test_setup(test_duplicates, test_setup),
	};
	int failed = cmocka_run_group_tests_name("gateways_fixed", fixed, fixed_setup, group_teardown);
	failed += cmocka_run_group_tests_name("gateways_wire", wire, wire_setup, group_teardown);
	return failed;
}
