/*
 * notify: delivery of notifications through core/hclient. Each outbox
 * sends one note at a time, in order; a note is delivered `1 + duplicates`
 * times (copies), each copy after `delay_ms` and retried with doubling
 * backoff until the receiver answers 2xx or SB_NOTE_ATTEMPTS ran out.
 * Every copy and retry carries the same body and headers.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hclient.h"
#include "log.h"

#define SB_NOTE_HEADERS 5 /* content type, user agent, token, webhook id, NULL */
#define SB_NOTE_WHAT_MAX 48

struct sb_note {
	struct sb_note *next;
	struct sandbox *sb;
	struct sb_outbox *box;       /* NULL once its record was dropped while it was being sent */
	char *url;
	char *body;
	size_t body_len;
	char *hdr[SB_NOTE_HEADERS];  /* NULL-terminated, malloc'd lines */
	unsigned copies;             /* copies still to deliver, the current one included */
	unsigned attempt;            /* attempts made for the current copy */
	long delay_ms;
	bool sending;                /* an hclient request is out */
	bool waiting;                /* the timer is armed */
	struct event *timer;
	char what[SB_NOTE_WHAT_MAX];
	char ref[SB_ID_MAX + 1];
};

static void note_send(struct sb_note *n);

static void note_free(struct sb_note *n)
{
	if (n->timer)
		event_free(n->timer);
	for (size_t i = 0; i < SB_NOTE_HEADERS; i++)
		free(n->hdr[i]);
	free(n->url);
	free(n->body);
	free(n);
}

/* One log line about a note. */
static void note_log(enum log_level level, const struct sb_note *n, const char *msg, long status)
{
	json_t *j;
	if (!log_enabled(level))
		return;
	j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "msg", msg, "what", n->what, "ref", n->ref, "url",
		      n->url, "attempt", (int)n->attempt, "status", (int)status);
	log_fields(level, "sandbox", j);
	json_decref(j);
}

/* A "Name: value" line (malloc'd), or NULL when out of memory. */
static char *note_header(const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 3;
	char *line = malloc(len);
	if (line)
		snprintf(line, len, "%s: %s", name, value);
	return line;
}

static void note_arm(struct sb_note *n, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	n->waiting = true;
	evtimer_add(n->timer, &tv);
}

/* Starts the current copy: after its delay, or now. */
static void note_begin(struct sb_note *n)
{
	if (n->delay_ms > 0)
		note_arm(n, n->delay_ms);
	else
		note_send(n);
}

/* Starts the head of the box unless it is already under way. */
static void outbox_kick(struct sb_outbox *box)
{
	struct sb_note *n = box->head;
	if (n && !n->sending && !n->waiting)
		note_begin(n);
}

/* Takes the head off its box. */
static void outbox_pop(struct sb_outbox *box)
{
	struct sb_note *n = box->head;
	box->head = n->next;
	if (!box->head)
		box->tail = NULL;
	box->queued--;
	n->next = NULL;
}

/* After an attempt: retry, start the next copy, or finish and move to the next note. */
static void note_after(struct sb_note *n, bool ok, long status)
{
	struct sandbox *sb = n->sb;
	struct sb_outbox *box = n->box;
	n->attempt++;
	if (ok) {
		sb->delivered++;
		box->delivered++;
		note_log(LOG_INFO, n, "notification delivered", status);
	} else {
		sb->failed_attempts++;
		if (n->attempt < SB_NOTE_ATTEMPTS) {
			long ms = SB_NOTE_BACKOFF_MS;
			for (unsigned i = 1; i < n->attempt && ms < SB_NOTE_BACKOFF_MAX_MS; i++)
				ms *= 2;
			note_log(LOG_INFO, n, "notification attempt failed; will retry", status);
			note_arm(n, ms < SB_NOTE_BACKOFF_MAX_MS ? ms : SB_NOTE_BACKOFF_MAX_MS);
			return;
		}
		sb->given_up++;
		box->given_up++;
		note_log(LOG_WARN, n, "notification given up", status);
	}
	n->attempt = 0;
	if (--n->copies > 0) {
		note_begin(n);
		return;
	}
	outbox_pop(box);
	note_free(n);
	outbox_kick(box);
}

static void note_done(const struct hclient_response *res, void *arg)
{
	struct sb_note *n = arg;
	n->sending = false;
	if (res->error == HCLIENT_ECANCELLED || !n->box) {
		/* Shutting down, or the record is gone: nobody waits for this note. */
		if (n->box)
			outbox_pop(n->box);
		note_free(n);
		return;
	}
	note_after(n, res->error == HCLIENT_OK && res->status >= 200 && res->status < 300, res->status);
}

static void note_send(struct sb_note *n)
{
	struct hclient_request req = {
		.target = "notify",
		.method = "POST",
		.url = n->url,
		.headers = (const char *const *)n->hdr,
		.body = n->body,
		.body_len = n->body_len,
		.total_timeout_ms = SB_NOTE_TIMEOUT_MS,
		.retryable = false, /* retries are ours: every non-2xx answer counts */
	};
	n->sending = true;
	if (hclient_send(n->sb->hc, &req, note_done, n) != HCLIENT_OK) {
		n->sending = false;
		note_after(n, false, 0);
	}
}

static void note_timer(evutil_socket_t fd, short events, void *arg)
{
	struct sb_note *n = arg;
	(void)fd;
	(void)events;
	n->waiting = false;
	note_send(n);
}

int sb_note_post(struct sandbox *sb, struct sb_outbox *box, const struct sb_note_spec *spec)
{
	struct sb_note *n = NULL;
	size_t h = 0;
	int rc = -1;
	if (spec->fx->drop) {
		/* The drop fault: the provider "forgets" this notification; only the counters know. */
		sb->dropped++;
		box->dropped++;
		log_msg(LOG_INFO, "sandbox", "notification %s for %s dropped (fault)", spec->what, spec->ref);
		rc = 0;
		goto drop_body;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto drop_body;
	n->sb = sb;
	n->box = box;
	n->copies = 1 + spec->fx->duplicates;
	n->delay_ms = spec->fx->delay_ms;
	snprintf(n->what, sizeof(n->what), "%s", spec->what);
	snprintf(n->ref, sizeof(n->ref), "%s", spec->ref);
	n->timer = evtimer_new(sb->base, note_timer, n);
	n->url = strdup(spec->url);
	n->body = spec->body ? json_dumps(spec->body, JSON_COMPACT) : NULL;
	n->hdr[h++] = note_header("Content-Type", "application/json");
	n->hdr[h++] = note_header("User-Agent", "bangsoleh-sandbox");
	if (spec->callback_token)
		n->hdr[h++] = note_header("x-callback-token", spec->callback_token);
	if (spec->webhook_id)
		n->hdr[h++] = note_header("webhook-id", spec->webhook_id);
	for (size_t i = 0; i < h; i++)
		if (!n->hdr[i])
			goto free_note;
	if (!n->timer || !n->url || !n->body)
		goto free_note;
	n->body_len = strlen(n->body);
	if (spec->fx->out_of_order) {
		n->next = box->held;
		box->held = n;
		box->held_n++;
	} else {
		if (box->tail)
			box->tail->next = n;
		else
			box->head = n;
		box->tail = n;
		box->queued++;
		outbox_kick(box);
	}
	rc = 0;
	goto drop_body;
free_note:
	note_free(n);
drop_body:
	json_decref(spec->body);
	if (rc != 0)
		log_msg(LOG_ERROR, "sandbox", "notification %s for %s dropped: out of memory", spec->what, spec->ref);
	return rc;
}

void sb_outbox_release(struct sb_outbox *box)
{
	while (box->held) {
		struct sb_note *n = box->held;
		box->held = n->next;
		box->held_n--;
		n->next = NULL;
		if (box->tail)
			box->tail->next = n;
		else
			box->head = n;
		box->tail = n;
		box->queued++;
	}
	outbox_kick(box);
}

/* Frees a list of notes, leaving one in flight to its callback. */
static void notes_drop(struct sb_note *n)
{
	while (n) {
		struct sb_note *next = n->next;
		if (n->sending) {
			n->box = NULL;
			n->next = NULL;
		} else {
			note_free(n);
		}
		n = next;
	}
}

void sb_outbox_clear(struct sb_outbox *box)
{
	notes_drop(box->head);
	notes_drop(box->held);
	box->head = box->tail = box->held = NULL;
	box->queued = box->held_n = 0;
}

bool sb_outbox_busy(const struct sb_outbox *box)
{
	return box->head || box->held;
}
