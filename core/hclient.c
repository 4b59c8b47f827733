#include "hclient.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "metrics.h"

/*
 * Bounds on what hclient_send accepts and keeps. Requests beyond them are
 * refused with HCLIENT_EINVAL.
 */
#define HC_URL_MAX 8192           /* bytes of the URL */
#define HC_METHOD_MAX 16          /* bytes of the method token */
#define HC_HEADER_LINE_MAX 8192   /* bytes of one request header line */
#define HC_BODY_MAX (8u << 20)    /* request body bytes */
#define HC_ATTEMPTS_MAX 10        /* cfg.max_attempts */
#define HC_BREAKERS_MAX 64        /* distinct targets per client */
#define HC_RESP_HEADERS_BYTES 8192 /* stored response header names + values */
#define HC_RETRY_AFTER_DIGITS 6   /* Retry-After seconds longer than this are ignored */
#define HC_RESPONSE_MAX (256u << 20) /* largest max_response accepted */

enum hc_breaker_state { BRK_CLOSED, BRK_OPEN, BRK_HALF_OPEN };

/* One circuit breaker per target; HALF_OPEN means a probe is in flight. */
struct hc_breaker {
	char target[HCLIENT_TARGET_MAX + 1];
	enum hc_breaker_state state;
	unsigned failures;        /* consecutive failed attempts while closed */
	uint64_t opened_ms;       /* monotonic time the breaker last opened */
};

/* curl's per-socket context, attached with curl_multi_assign. */
struct hc_sock {
	struct hclient *c;
	struct event *ev;
	struct hc_sock *prev, *next;
};

/*
 * One accepted request, alive from hclient_send until its done callback has
 * returned. Owns copies of everything in the caller's request.
 */
struct hc_req {
	struct hclient *c;
	struct hc_req *prev, *next;
	struct hc_breaker *brk;
	hclient_done_fn done;
	void *arg;

	char *method;
	char *url;
	struct curl_slist *headers;
	char *body;
	size_t body_len;
	long connect_ms;
	long total_ms;
	size_t max_response;
	bool retryable;
	bool probe;               /* holds the breaker's half-open slot */

	unsigned attempts;
	CURL *easy;               /* non-NULL while an attempt is in flight */
	struct event *wait;       /* retry delay, or deferred completion */
	bool finish_on_wait;      /* wait fires the done callback, not a retry */
	int last_error;
	long last_status;

	char *resp;               /* body received, NUL-terminated, cap max_response + 1 */
	size_t resp_len;
	size_t resp_cap;
	int write_error;          /* why hc_on_body stopped the transfer, or 0 */

	/* Response headers as "name\0value\0" pairs; extra ones are dropped. */
	char hbuf[HC_RESP_HEADERS_BYTES];
	size_t hbuf_len;
	unsigned short hname[HCLIENT_MAX_HEADERS];
	unsigned short hvalue[HCLIENT_MAX_HEADERS];
	unsigned nheaders;

	char errbuf[CURL_ERROR_SIZE];
};

struct hclient {
	struct event_base *base;
	struct hclient_config cfg;  /* defaults filled in */
	CURLM *multi;
	struct event *timer;        /* curl's single deadline */
	struct hc_req *reqs;        /* every accepted request not yet done */
	unsigned nreqs;
	struct hc_sock *socks;
	bool closing;
	struct hc_breaker brk[HC_BREAKERS_MAX];
	unsigned nbrk;
};

static pthread_once_t hc_global_once = PTHREAD_ONCE_INIT;
static CURLcode hc_global_rc;

static void hc_global_init(void)
{
	hc_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t hc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct timeval hc_tv(long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

static const char *hc_strerror(int error)
{
	switch (error) {
	case HCLIENT_OK: return "";
	case HCLIENT_EINVAL: return "invalid request";
	case HCLIENT_ENOMEM: return "out of memory";
	case HCLIENT_ECONNECT: return "could not connect";
	case HCLIENT_ETIMEOUT: return "timed out";
	case HCLIENT_ETOOBIG: return "response too big";
	case HCLIENT_EOPEN: return "circuit breaker open";
	case HCLIENT_ECANCELLED: return "cancelled";
	default: return "transfer error";
	}
}

/* The one place libcurl result codes become HCLIENT_E* codes. */
static int hc_map_curl(CURLcode cc, int write_error)
{
	switch (cc) {
	case CURLE_OK:
		return HCLIENT_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return HCLIENT_ETIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HCLIENT_ECONNECT;
	case CURLE_FILESIZE_EXCEEDED:
		return HCLIENT_ETOOBIG;
	case CURLE_WRITE_ERROR:
		return write_error ? write_error : HCLIENT_EIO;
	case CURLE_OUT_OF_MEMORY:
		return HCLIENT_ENOMEM;
	default:
		return HCLIENT_EIO;
	}
}

/* Metrics outcome name: the HTTP status class, or the kind of failure. */
static const char *hc_outcome(int error, long status, char cls[4])
{
	switch (error) {
	case HCLIENT_OK:
		if (status < 100 || status > 599)
			return "error";
		cls[0] = (char)('0' + status / 100);
		cls[1] = 'x';
		cls[2] = 'x';
		cls[3] = '\0';
		return cls;
	case HCLIENT_ETIMEOUT: return "timeout";
	case HCLIENT_ECONNECT: return "connect";
	case HCLIENT_ETOOBIG: return "too_big";
	case HCLIENT_EOPEN: return "open";
	default: return "error";
	}
}

/* --- circuit breaker ---------------------------------------------------- */

/* Finds or creates the breaker for `target`; NULL when the table is full. */
static struct hc_breaker *breaker_get(struct hclient *c, const char *target)
{
	for (unsigned i = 0; i < c->nbrk; i++)
		if (strcmp(c->brk[i].target, target) == 0)
			return &c->brk[i];
	if (c->nbrk == HC_BREAKERS_MAX)
		return NULL;
	struct hc_breaker *b = &c->brk[c->nbrk++];
	memset(b, 0, sizeof(*b));
	memcpy(b->target, target, strlen(target) + 1);  /* length checked by the caller */
	b->state = BRK_CLOSED;
	return b;
}

/*
 * May a new call go out? An open breaker whose cooldown has passed lets
 * exactly one call through as the probe (*probe = true) and turns half-open.
 */
static bool breaker_admit(struct hclient *c, struct hc_breaker *b, bool *probe)
{
	*probe = false;
	switch (b->state) {
	case BRK_CLOSED:
		return true;
	case BRK_OPEN:
		if (hc_now_ms() - b->opened_ms < (uint64_t)c->cfg.breaker_cooldown_ms)
			return false;
		b->state = BRK_HALF_OPEN;
		*probe = true;
		return true;
	default:
		return false;
	}
}

static void breaker_open(struct hc_breaker *b)
{
	b->state = BRK_OPEN;
	b->opened_ms = hc_now_ms();
	b->failures = 0;
	log_msg(LOG_WARN, "hclient", "circuit breaker for %s opened", b->target);
}

/*
 * Records one attempt's result. Calls that started before the breaker
 * opened do not change an open breaker; only the probe decides half-open.
 */
static void breaker_record(struct hclient *c, struct hc_req *r, bool failed)
{
	struct hc_breaker *b = r->brk;
	if (r->probe) {
		r->probe = false;
		if (failed) {
			breaker_open(b);
		} else {
			b->state = BRK_CLOSED;
			b->failures = 0;
			log_msg(LOG_INFO, "hclient", "circuit breaker for %s closed", b->target);
		}
		return;
	}
	if (b->state != BRK_CLOSED)
		return;
	if (!failed)
		b->failures = 0;
	else if (++b->failures >= c->cfg.breaker_threshold)
		breaker_open(b);
}

/* --- libcurl <-> libevent glue ------------------------------------------ */

static void hc_drain(struct hclient *c);

static void hc_on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct hclient *c = arg;
	int flags = 0;
	int running;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	CURLMcode mc = curl_multi_socket_action(c->multi, fd, flags, &running);
	if (mc != CURLM_OK && mc != CURLM_BAD_SOCKET)
		log_msg(LOG_ERROR, "hclient", "socket_action: %s", curl_multi_strerror(mc));
	hc_drain(c);
}

static void hc_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hclient *c = arg;
	int running;
	(void)fd;
	(void)what;
	CURLMcode mc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	if (mc != CURLM_OK)
		log_msg(LOG_ERROR, "hclient", "socket_action: %s", curl_multi_strerror(mc));
	hc_drain(c);
}

static void hc_sock_free(struct hclient *c, struct hc_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->ev)
		event_free(s->ev);
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch `fd` the way curl asks. */
static int hc_on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct hclient *c = userp;
	struct hc_sock *s = socketp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			hc_sock_free(c, s);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->c = c;
		s->next = c->socks;
		if (c->socks)
			c->socks->prev = s;
		c->socks = s;
		curl_multi_assign(c->multi, fd, s);
	}
	short kind = EV_PERSIST;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		kind |= EV_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		kind |= EV_WRITE;
	if (s->ev)
		event_free(s->ev);
	s->ev = event_new(c->base, fd, kind, hc_on_socket_event, c);
	if (!s->ev || event_add(s->ev, NULL) != 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the one timer; never calls libcurl. */
static int hc_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct hclient *c = userp;
	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	struct timeval tv = hc_tv(timeout_ms);
	return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

/* --- per-request transfer callbacks ------------------------------------- */

/* CURLOPT_WRITEFUNCTION: keeps the body; stops the transfer past the cap. */
static size_t hc_on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct hc_req *r = userp;
	size_t len = size * nmemb;
	if (len > r->max_response - r->resp_len) {
		r->write_error = HCLIENT_ETOOBIG;
		return 0;
	}
	if (r->resp_len + len + 1 > r->resp_cap) {
		size_t cap = r->resp_cap ? r->resp_cap : 1024;
		while (cap < r->resp_len + len + 1)
			cap *= 2;
		if (cap > r->max_response + 1)
			cap = r->max_response + 1;
		char *p = realloc(r->resp, cap);
		if (!p) {
			r->write_error = HCLIENT_ENOMEM;
			return 0;
		}
		r->resp = p;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

static void hc_headers_reset(struct hc_req *r)
{
	r->hbuf_len = 0;
	r->nheaders = 0;
}

/* Appends `len` bytes and a NUL to hbuf; the caller checked the room. */
static unsigned short hc_headers_put(struct hc_req *r, const char *s, size_t len)
{
	unsigned short at = (unsigned short)r->hbuf_len;
	memcpy(r->hbuf + r->hbuf_len, s, len);
	r->hbuf[r->hbuf_len + len] = '\0';
	r->hbuf_len += len + 1;
	return at;
}

/*
 * CURLOPT_HEADERFUNCTION: stores "Name: value" lines of the last response
 * (a status line starts over, so 1xx headers are forgotten). Lines that do
 * not fit in the bounds are dropped.
 */
static size_t hc_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	struct hc_req *r = userp;
	size_t len = size * nmemb;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		hc_headers_reset(r);
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (!colon || colon == data || data[0] == ' ' || data[0] == '\t')
		return len;
	size_t nlen = (size_t)(colon - data);
	const char *v = colon + 1;
	const char *end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	size_t vlen = (size_t)(end - v);
	if (r->nheaders == HCLIENT_MAX_HEADERS ||
	    nlen + vlen + 2 > sizeof(r->hbuf) - r->hbuf_len)
		return len;
	r->hname[r->nheaders] = hc_headers_put(r, data, nlen);
	r->hvalue[r->nheaders] = hc_headers_put(r, v, vlen);
	r->nheaders++;
	return len;
}

/* --- request lifecycle --------------------------------------------------- */

static void hc_req_link(struct hclient *c, struct hc_req *r)
{
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	c->nreqs++;
}

static void hc_req_unlink(struct hclient *c, struct hc_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	c->nreqs--;
}

/* Frees a request that is unlinked and has no attempt in flight. */
static void hc_req_free(struct hc_req *r)
{
	if (r->wait)
		event_free(r->wait);
	curl_slist_free_all(r->headers);
	free(r->method);
	free(r->url);
	free(r->body);
	free(r->resp);
	free(r);
}

/*
 * Delivers the final outcome: counts it, calls done once, frees the
 * request. The request is unlinked first so hclient_pending inside the
 * callback no longer counts it.
 */
static void hc_req_finish(struct hc_req *r, int error, long status)
{
	struct hclient *c = r->c;
	char labels[METRICS_LABELS_MAX];
	char cls[4];
	const char *outcome = hc_outcome(error, status, cls);
	metrics_add(METRIC_OUTBOUND,
		    metrics_label(labels, sizeof(labels), "target", r->brk->target,
				  "outcome", outcome, NULL), 1);
	bool have_body = error == HCLIENT_OK && r->resp;
	struct hclient_response res = {
		.error = error,
		.status = error == HCLIENT_OK ? status : 0,
		.body = have_body ? r->resp : "",
		.body_len = have_body ? r->resp_len : 0,
		.attempts = r->attempts,
		.error_text = error != HCLIENT_OK && r->errbuf[0] ? r->errbuf : hc_strerror(error),
		.priv = error == HCLIENT_OK ? r : NULL,
	};
	/* An open breaker was logged when it opened; its fast failures are not news. */
	if (error != HCLIENT_OK && error != HCLIENT_ECANCELLED)
		log_msg(error == HCLIENT_EOPEN ? LOG_DEBUG : LOG_WARN, "hclient", "%s %s: %s after %u attempt(s): %s",
			r->brk->target, r->method, outcome, r->attempts, res.error_text);
	hc_req_unlink(c, r);
	r->done(&res, r->arg);
	hc_req_free(r);
}

/* Sets one easy option; counts failures so setup checks once at the end. */
#define HC_SETOPT(fails, easy, opt, val) \
	((fails) += curl_easy_setopt((easy), (opt), (val)) != CURLE_OK)

/* Builds the easy handle for the next attempt and hands it to the multi. */
static int hc_attempt_start(struct hc_req *r)
{
	struct hclient *c = r->c;
	int fails = 0;
	CURL *e = curl_easy_init();
	if (!e)
		return HCLIENT_ENOMEM;
	r->resp_len = 0;
	if (r->resp)
		r->resp[0] = '\0';
	r->write_error = 0;
	r->errbuf[0] = '\0';
	hc_headers_reset(r);

	HC_SETOPT(fails, e, CURLOPT_URL, r->url);
	HC_SETOPT(fails, e, CURLOPT_PROTOCOLS_STR, "http,https");
	HC_SETOPT(fails, e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	HC_SETOPT(fails, e, CURLOPT_FOLLOWLOCATION, 0L);
	HC_SETOPT(fails, e, CURLOPT_NOSIGNAL, 1L);
	HC_SETOPT(fails, e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms);
	HC_SETOPT(fails, e, CURLOPT_TIMEOUT_MS, r->total_ms);
	HC_SETOPT(fails, e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_response);
	HC_SETOPT(fails, e, CURLOPT_PRIVATE, (void *)r);
	HC_SETOPT(fails, e, CURLOPT_ERRORBUFFER, r->errbuf);
	HC_SETOPT(fails, e, CURLOPT_WRITEFUNCTION, hc_on_body);
	HC_SETOPT(fails, e, CURLOPT_WRITEDATA, (void *)r);
	HC_SETOPT(fails, e, CURLOPT_HEADERFUNCTION, hc_on_header);
	HC_SETOPT(fails, e, CURLOPT_HEADERDATA, (void *)r);
	HC_SETOPT(fails, e, CURLOPT_HTTPHEADER, r->headers);
	bool post = strcmp(r->method, "POST") == 0;
	bool head = strcmp(r->method, "HEAD") == 0;
	bool plain_get = strcmp(r->method, "GET") == 0 && !r->body;
	if (head) {
		HC_SETOPT(fails, e, CURLOPT_NOBODY, 1L);
	} else if (r->body || post) {
		/* The copy in r outlives every attempt, so curl need not copy it. */
		HC_SETOPT(fails, e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		HC_SETOPT(fails, e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	}
	/* A body makes curl say POST; any other method is named explicitly. */
	if (!post && !head && !plain_get)
		HC_SETOPT(fails, e, CURLOPT_CUSTOMREQUEST, r->method);
	if (fails)
		goto cleanup_easy;
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		goto cleanup_easy;
	r->easy = e;
	r->attempts++;
	return HCLIENT_OK;
cleanup_easy:
	curl_easy_cleanup(e);
	return HCLIENT_ENOMEM;
}

/* The value of the stored response header `name`, or NULL. */
static const char *hc_req_header(const struct hc_req *r, const char *name)
{
	for (unsigned i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->hbuf + r->hname[i], name) == 0)
			return r->hbuf + r->hvalue[i];
	return NULL;
}

/* Retry-After in whole seconds (the HTTP-date form is ignored), as ms. */
static long hc_retry_after_ms(const struct hc_req *r)
{
	const char *v = hc_req_header(r, "Retry-After");
	long secs = 0;
	size_t n = 0;
	if (!v)
		return 0;
	for (; v[n] >= '0' && v[n] <= '9'; n++) {
		if (n == HC_RETRY_AFTER_DIGITS)
			return 0;
		secs = secs * 10 + (v[n] - '0');
	}
	return n > 0 && v[n] == '\0' ? secs * 1000 : 0;
}

/*
 * Delay before attempt k (k >= 2): uniform in [0, min(max, base * 2^(k-1))]
 * (full jitter), raised to the server's Retry-After on 429/503; the result
 * never exceeds backoff_max_ms.
 */
static long hc_backoff_ms(const struct hc_req *r, unsigned k)
{
	const struct hclient_config *cfg = &r->c->cfg;
	uint64_t cap = (uint64_t)cfg->backoff_base_ms;
	for (unsigned i = 1; i < k && cap < (uint64_t)cfg->backoff_max_ms; i++)
		cap *= 2;
	if (cap > (uint64_t)cfg->backoff_max_ms)
		cap = (uint64_t)cfg->backoff_max_ms;
	if (cap >= UINT32_MAX)
		cap = UINT32_MAX - 1;
	long delay = (long)arc4random_uniform((uint32_t)cap + 1);
	if (r->last_status == 429 || r->last_status == 503) {
		long floor = hc_retry_after_ms(r);
		if (floor > cfg->backoff_max_ms)
			floor = cfg->backoff_max_ms;
		if (delay < floor)
			delay = floor;
	}
	return delay;
}

static bool hc_is_transport_failure(int error)
{
	return error == HCLIENT_ECONNECT || error == HCLIENT_ETIMEOUT || error == HCLIENT_EIO;
}

/*
 * One attempt ended (its handle is already out of the multi): records it in
 * the breaker and metrics, then retries after a backoff or finishes.
 */
static void hc_attempt_done(struct hc_req *r, CURLcode cc)
{
	struct hclient *c = r->c;
	long status = 0;
	curl_off_t us = 0;
	char labels[METRICS_LABELS_MAX];
	int error = hc_map_curl(cc, r->write_error);
	if (error == HCLIENT_OK)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK && us >= 0)
		metrics_observe(METRIC_OUTBOUND_DURATION,
				metrics_label(labels, sizeof(labels), "target", r->brk->target, NULL),
				(uint64_t)us);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	/* curl only saw a failed write; say why it was stopped. */
	if (r->write_error)
		snprintf(r->errbuf, sizeof(r->errbuf), "%s", hc_strerror(r->write_error));
	r->last_error = error;
	r->last_status = status;

	/* Any answer below 500 (too_big included) shows the target is up. */
	bool failed = hc_is_transport_failure(error) || status >= 500;
	breaker_record(c, r, failed);
	bool again = r->retryable && r->attempts < c->cfg.max_attempts &&
		     (failed || status == 429) && r->brk->state == BRK_CLOSED;
	if (!again) {
		hc_req_finish(r, error, status);
		return;
	}
	struct timeval tv = hc_tv(hc_backoff_ms(r, r->attempts + 1));
	if (evtimer_add(r->wait, &tv) != 0)
		hc_req_finish(r, error, status);
}

/* Completes every transfer curl reports as done. */
static void hc_drain(struct hclient *c)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *e = msg->easy_handle;
		CURLcode cc = msg->data.result;
		void *r = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &r);
		curl_multi_remove_handle(c->multi, e);
		hc_attempt_done(r, cc);
	}
}

/*
 * The request's own timer: a deferred completion (breaker open at send
 * time) or the end of a retry backoff. A retry does not go out once the
 * breaker has left the closed state; the last attempt's outcome stands.
 */
static void hc_on_wait(evutil_socket_t fd, short what, void *arg)
{
	struct hc_req *r = arg;
	(void)fd;
	(void)what;
	if (r->finish_on_wait || r->brk->state != BRK_CLOSED) {
		hc_req_finish(r, r->last_error, r->last_status);
		return;
	}
	int rc = hc_attempt_start(r);
	if (rc != HCLIENT_OK)
		hc_req_finish(r, rc, 0);
}

/* --- validation and copying --------------------------------------------- */

static bool hc_method_ok(const char *m)
{
	size_t n = 0;
	for (; m[n]; n++)
		if (n == HC_METHOD_MAX || m[n] < 'A' || m[n] > 'Z')
			return false;
	return n > 0;
}

/* Only absolute http:// and https:// URLs with a host are accepted. */
static int hc_url_check(const char *url)
{
	int rc = HCLIENT_EINVAL;
	char *scheme = NULL;
	char *host = NULL;
	if (strnlen(url, HC_URL_MAX + 1) > HC_URL_MAX)
		return HCLIENT_EINVAL;
	CURLU *u = curl_url();
	if (!u)
		return HCLIENT_ENOMEM;
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc == CURLUE_OUT_OF_MEMORY)
		rc = HCLIENT_ENOMEM;
	if (uc != CURLUE_OK)
		goto free_url;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto free_parts;
	if ((strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && host[0])
		rc = HCLIENT_OK;
free_parts:
	curl_free(scheme);
	curl_free(host);
free_url:
	curl_url_cleanup(u);
	return rc;
}

/* A request header line: "Name: value", no CR or LF, bounded. */
static bool hc_header_ok(const char *h)
{
	size_t n = strnlen(h, HC_HEADER_LINE_MAX + 1);
	const char *colon = memchr(h, ':', n);
	return n <= HC_HEADER_LINE_MAX && colon && colon != h && !strpbrk(h, "\r\n");
}

static int hc_validate(const struct hclient_request *req)
{
	if (!req->target || !req->method || !req->url)
		return HCLIENT_EINVAL;
	size_t tlen = strnlen(req->target, HCLIENT_TARGET_MAX + 1);
	if (tlen == 0 || tlen > HCLIENT_TARGET_MAX || !hc_method_ok(req->method))
		return HCLIENT_EINVAL;
	if ((req->body_len && !req->body) || req->body_len > HC_BODY_MAX)
		return HCLIENT_EINVAL;
	if (req->connect_timeout_ms < 0 || req->total_timeout_ms < 0 ||
	    req->max_response > HC_RESPONSE_MAX)
		return HCLIENT_EINVAL;
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		if (i == HCLIENT_MAX_HEADERS || !hc_header_ok(req->headers[i]))
			return HCLIENT_EINVAL;
	return hc_url_check(req->url);
}

/* Copies the caller's request into r. Returns 0 or HCLIENT_ENOMEM. */
static int hc_req_copy(struct hc_req *r, const struct hclient_request *req)
{
	const struct hclient_config *cfg = &r->c->cfg;
	r->method = strdup(req->method);
	r->url = strdup(req->url);
	if (!r->method || !r->url)
		return HCLIENT_ENOMEM;
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		struct curl_slist *l = curl_slist_append(r->headers, req->headers[i]);
		if (!l)
			return HCLIENT_ENOMEM;
		r->headers = l;
	}
	/* No "Expect: 100-continue" round trip before larger bodies. */
	struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
	if (!l)
		return HCLIENT_ENOMEM;
	r->headers = l;
	if (req->body) {
		r->body = malloc(req->body_len + 1);
		if (!r->body)
			return HCLIENT_ENOMEM;
		memcpy(r->body, req->body, req->body_len);
		r->body[req->body_len] = '\0';
		r->body_len = req->body_len;
	}
	r->connect_ms = req->connect_timeout_ms ? req->connect_timeout_ms : cfg->connect_timeout_ms;
	r->total_ms = req->total_timeout_ms ? req->total_timeout_ms : cfg->total_timeout_ms;
	r->max_response = req->max_response ? req->max_response : cfg->max_response;
	r->retryable = req->retryable;
	return HCLIENT_OK;
}

/* --- public API --------------------------------------------------------- */

/*
 * Fills defaults; refuses negative values, more than HC_ATTEMPTS_MAX
 * attempts and a max_response over HC_RESPONSE_MAX.
 */
static int hc_config(const struct hclient_config *in, struct hclient_config *out)
{
	if (in)
		*out = *in;
	else
		memset(out, 0, sizeof(*out));
	if (out->connect_timeout_ms < 0 || out->total_timeout_ms < 0 ||
	    out->backoff_base_ms < 0 || out->backoff_max_ms < 0 ||
	    out->breaker_cooldown_ms < 0 || out->max_attempts > HC_ATTEMPTS_MAX ||
	    out->max_response > HC_RESPONSE_MAX)
		return HCLIENT_EINVAL;
	if (!out->connect_timeout_ms)
		out->connect_timeout_ms = 3000;
	if (!out->total_timeout_ms)
		out->total_timeout_ms = 10000;
	if (!out->max_response)
		out->max_response = 1u << 20;
	if (!out->max_attempts)
		out->max_attempts = 3;
	if (!out->backoff_base_ms)
		out->backoff_base_ms = 100;
	if (!out->backoff_max_ms)
		out->backoff_max_ms = 5000;
	if (!out->breaker_threshold)
		out->breaker_threshold = 5;
	if (!out->breaker_cooldown_ms)
		out->breaker_cooldown_ms = 30000;
	return HCLIENT_OK;
}

int hclient_new(struct event_base *base, const struct hclient_config *cfg, struct hclient **out)
{
	int rc = HCLIENT_EINVAL;
	if (!base || !out)
		return HCLIENT_EINVAL;
	pthread_once(&hc_global_once, hc_global_init);
	if (hc_global_rc != CURLE_OK)
		return HCLIENT_ENOMEM;
	struct hclient *c = calloc(1, sizeof(*c));
	if (!c)
		return HCLIENT_ENOMEM;
	rc = hc_config(cfg, &c->cfg);
	if (rc != HCLIENT_OK)
		goto free_client;
	rc = HCLIENT_ENOMEM;
	c->base = base;
	c->timer = evtimer_new(base, hc_on_timer, c);
	if (!c->timer)
		goto free_client;
	c->multi = curl_multi_init();
	if (!c->multi)
		goto free_timer;
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, hc_on_curl_socket) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, hc_on_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c) != CURLM_OK)
		goto cleanup_multi;
	*out = c;
	return HCLIENT_OK;
cleanup_multi:
	curl_multi_cleanup(c->multi);
free_timer:
	event_free(c->timer);
free_client:
	free(c);
	return rc;
}

/* Not from inside a done callback: the drain loop calling it still uses c. */
void hclient_free(struct hclient *c)
{
	if (!c)
		return;
	c->closing = true;
	while (c->reqs) {
		struct hc_req *r = c->reqs;
		if (r->easy) {
			curl_multi_remove_handle(c->multi, r->easy);
			curl_easy_cleanup(r->easy);
			r->easy = NULL;
		}
		hc_req_finish(r, HCLIENT_ECANCELLED, 0);
	}
	/* May still call the socket and timer callbacks, which need c. */
	curl_multi_cleanup(c->multi);
	while (c->socks)
		hc_sock_free(c, c->socks);
	event_free(c->timer);
	free(c);
}

int hclient_send(struct hclient *c, const struct hclient_request *req, hclient_done_fn done, void *arg)
{
	if (!c || !req || !done || c->closing)
		return HCLIENT_EINVAL;
	int rc = hc_validate(req);
	if (rc != HCLIENT_OK)
		return rc;
	struct hc_breaker *b = breaker_get(c, req->target);
	if (!b)
		return HCLIENT_EINVAL;
	struct hc_req *r = calloc(1, sizeof(*r));
	if (!r)
		return HCLIENT_ENOMEM;
	r->c = c;
	r->brk = b;
	r->done = done;
	r->arg = arg;
	rc = hc_req_copy(r, req);
	if (rc != HCLIENT_OK)
		goto free_req;
	rc = HCLIENT_ENOMEM;
	r->wait = evtimer_new(c->base, hc_on_wait, r);
	if (!r->wait)
		goto free_req;
	if (!breaker_admit(c, b, &r->probe)) {
		/* Fail fast, but still from the loop, never inside hclient_send. */
		struct timeval now = { 0, 0 };
		r->finish_on_wait = true;
		r->last_error = HCLIENT_EOPEN;
		if (evtimer_add(r->wait, &now) != 0)
			goto free_req;
	} else {
		rc = hc_attempt_start(r);
		if (rc != HCLIENT_OK)
			goto release_probe;
	}
	hc_req_link(c, r);
	return HCLIENT_OK;
release_probe:
	/* Not sent: the next call may probe instead, without a new cooldown. */
	if (r->probe)
		b->state = BRK_OPEN;
free_req:
	hc_req_free(r);
	return rc;
}

const char *hclient_response_header(const struct hclient_response *res, const char *name)
{
	if (!res || !res->priv || !name)
		return NULL;
	return hc_req_header(res->priv, name);
}

unsigned hclient_pending(const struct hclient *c)
{
	return c ? c->nreqs : 0;
}
