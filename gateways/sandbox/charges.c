/*
 * charges: the in-memory charges of both protocols: ids, dynamic QRIS,
 * expiry timers, state changes and their notifications, eviction.
 */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"

#define SB_QR_LABEL_LEN 25     /* 62.05 reference label: 1-25 characters */
#define SB_QR_TERMINAL "A01"   /* 62.07 terminal label of the sandbox's merchant */
#define SB_RECEIPT_DIGITS 12

static const char *const mid_status_words[] = {
	[SB_PENDING] = "pending", [SB_SETTLEMENT] = "settlement", [SB_EXPIRE] = "expire",
	[SB_CANCEL] = "cancel", [SB_REFUND] = "refund", [SB_PARTIAL_REFUND] = "partial_refund",
};

static const char *const state_names[] = {
	[SB_PENDING] = "pending", [SB_SETTLEMENT] = "paid", [SB_EXPIRE] = "expired",
	[SB_CANCEL] = "cancelled", [SB_REFUND] = "refunded", [SB_PARTIAL_REFUND] = "partially_refunded",
};

struct sb_charge *sb_charge_find(struct sandbox *sb, const char *id)
{
	struct sb_charge *c = sbmap_get(sb->charge_ids, id);
	if (!c)
		c = sbmap_get(sb->mid_orders, id);
	if (!c)
		c = sbmap_get(sb->x_refs, id);
	return c;
}

struct sb_charge *sb_charge_find_proto(struct sandbox *sb, enum sb_proto proto, const char *id)
{
	struct sb_charge *c = sbmap_get(sb->charge_ids, id);
	if (c && c->proto == proto)
		return c;
	return sbmap_get(proto == SB_MIDTRANS ? sb->mid_orders : sb->x_refs, id);
}

void sb_charge_ids(const struct sb_charge *c, const char *ids[2])
{
	ids[0] = c->id;
	ids[1] = c->ref;
}

const char *sb_charge_state_name(const struct sb_charge *c)
{
	return state_names[c->state];
}

const char *sb_charge_status_word(const struct sb_charge *c)
{
	if (c->proto == SB_XENDIT)
		return c->state == SB_PENDING ? "ACTIVE" : "INACTIVE";
	return mid_status_words[c->state];
}

static void charge_drop(struct sandbox *sb, struct sb_charge *c)
{
	if (c->older)
		c->older->newer = c->newer;
	else
		sb->charges_oldest = c->newer;
	if (c->newer)
		c->newer->older = c->older;
	else
		sb->charges_newest = c->older;
	sb->n_charges--;
	sbmap_del_if(sb->charge_ids, c->id, c);
	sbmap_del_if(c->proto == SB_MIDTRANS ? sb->mid_orders : sb->x_refs, c->ref, c);
	if (c->expiry)
		event_free(c->expiry);
	sb_outbox_clear(&c->box);
	for (unsigned i = 0; i < c->n_urls; i++)
		free(c->notify_urls[i]);
	for (unsigned i = 0; i < c->n_refunds; i++)
		free(c->refunds[i].reason);
	free(c->refunds);
	free(c->qr_string);
	free(c);
}

/* Makes room: the oldest charge that is neither pending nor notifying, else the oldest. */
static void charges_evict(struct sandbox *sb)
{
	struct sb_charge *c = sb->charges_oldest;
	while (c && (c->state == SB_PENDING || sb_outbox_busy(&c->box)))
		c = c->newer;
	if (!c)
		c = sb->charges_oldest;
	log_msg(LOG_INFO, "sandbox", "charge %s dropped to stay within %d charges", c->id, SB_CHARGES_MAX);
	charge_drop(sb, c);
}

/*
 * The dynamic QRIS of a charge: the static payload with 62.05 (reference
 * label) set from the charge id, so that every charge's QR differs, then
 * converted for the amount. OUT: c->qr_string.
 */
static int charge_qr(struct sandbox *sb, struct sb_charge *c)
{
	struct qris_tlv root;
	struct qris_object *extra = NULL;
	struct qris_error err;
	char label[SB_QR_LABEL_LEN + 1];
	char tagged[QRIS_PAYLOAD_MAX + 1], dyn[QRIS_PAYLOAD_MAX + 1];
	size_t n = 0, len;
	for (const char *p = c->id; *p && n < SB_QR_LABEL_LEN; p++)
		if (isalnum((unsigned char)*p))
			label[n++] = *p;
	label[n] = '\0';
	if (qris_tlv_parse(sb->static_qris, sb->static_qris_len, &root, &err) != QRIS_OK)
		goto fail;
	for (size_t i = 0; i < root.n; i++)
		if (root.objects[i].id == 62)
			extra = &root.objects[i];
	if (!extra)
		goto fail;
	extra->len = (uint8_t)snprintf(extra->value, sizeof(extra->value), "05%02zu%s07%02zu%s", n, label,
				       strlen(SB_QR_TERMINAL), SB_QR_TERMINAL);
	if (qris_encode(&root, tagged, sizeof(tagged), &len) != QRIS_OK ||
	    qris_to_dynamic(tagged, len, c->amount, QRIS_FEE_NONE, 0, NULL, dyn, sizeof(dyn), &len, &err) != QRIS_OK)
		goto fail;
	c->qr_string = strdup(dyn);
	return c->qr_string ? 0 : -1;
fail:
	log_msg(LOG_ERROR, "sandbox", "dynamic QRIS for %s failed: %s %s", c->id, err.tag, err.rule);
	return -1;
}

static void charge_expiry(evutil_socket_t fd, short events, void *arg)
{
	struct sb_charge *c = arg;
	(void)fd;
	(void)events;
	if (c->state == SB_PENDING)
		sb_charge_transition(c->sb, c, SB_EXPIRE);
}

int sb_charge_create(struct sandbox *sb, enum sb_proto proto, const char *ref, int64_t amount,
		     int64_t expires_ms, struct sb_charge **out)
{
	struct sb_charge *c;
	char uuid[SB_UUID_LEN + 1];
	int64_t now = sb_now_ms(), wait = expires_ms - now;
	struct timeval tv;
	if (sb->n_charges >= SB_CHARGES_MAX)
		charges_evict(sb);
	c = calloc(1, sizeof(*c));
	if (!c || sb_uuid(uuid) != 0)
		goto free_charge;
	c->sb = sb;
	c->proto = proto;
	c->state = SB_PENDING;
	snprintf(c->id, sizeof(c->id), "%s%s", proto == SB_XENDIT ? "qr_" : "", uuid);
	snprintf(c->ref, sizeof(c->ref), "%s", ref);
	c->amount = amount;
	c->created_ms = c->updated_ms = now;
	c->expires_ms = expires_ms;
	if (charge_qr(sb, c) != 0)
		goto free_charge;
	c->expiry = evtimer_new(sb->base, charge_expiry, c);
	if (!c->expiry)
		goto free_charge;
	if (sbmap_put(sb->charge_ids, c->id, c) != SBMAP_OK)
		goto free_charge;
	if (sbmap_put(proto == SB_MIDTRANS ? sb->mid_orders : sb->x_refs, c->ref, c) != SBMAP_OK) {
		sbmap_del(sb->charge_ids, c->id);
		goto free_charge;
	}
	c->older = sb->charges_newest;
	if (sb->charges_newest)
		sb->charges_newest->newer = c;
	else
		sb->charges_oldest = c;
	sb->charges_newest = c;
	sb->n_charges++;
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(c->expiry, &tv);
	*out = c;
	return 0;
free_charge:
	if (c) {
		if (c->expiry)
			event_free(c->expiry);
		free(c->qr_string);
	}
	free(c);
	return -1;
}

void sb_charge_notify(struct sandbox *sb, struct sb_charge *c)
{
	if (c->proto == SB_MIDTRANS)
		sb_mid_notify(sb, c);
	else if (c->state == SB_SETTLEMENT)
		sb_x_notify(sb, c);
}

void sb_charge_transition(struct sandbox *sb, struct sb_charge *c, enum sb_state state)
{
	c->state = state;
	c->updated_ms = sb_now_ms();
	if (state != SB_PENDING)
		event_del(c->expiry);
	log_msg(LOG_INFO, "sandbox", "charge %s (%s) is now %s", c->id, c->ref, sb_charge_state_name(c));
	sb_charge_notify(sb, c);
}

int sb_charge_pay(struct sandbox *sb, struct sb_charge *c, int64_t amount)
{
	char uuid[SB_UUID_LEN + 1];
	if (c->proto == SB_XENDIT) {
		if (sb_uuid(uuid) != 0 || sb_digits(c->receipt_id, SB_RECEIPT_DIGITS) != 0)
			return -1;
		snprintf(c->payment_id, sizeof(c->payment_id), "qrpy_%s", uuid);
	}
	c->paid = amount;
	c->settled_ms = sb_now_ms();
	sb_charge_transition(sb, c, SB_SETTLEMENT);
	return 0;
}

json_t *sb_charge_json(const struct sb_charge *c)
{
	char created[SB_ISO_LEN + 1], expires[SB_ISO_LEN + 1];
	sb_time_iso(c->created_ms, created);
	sb_time_iso(c->expires_ms, expires);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i}}",
			 "protocol", c->proto == SB_MIDTRANS ? "midtrans" : "xendit", "id", c->id, "reference",
			 c->ref, "amount", (json_int_t)c->amount, "paid_amount", (json_int_t)c->paid,
			 "refunded_amount", (json_int_t)c->refunded, "state", sb_charge_state_name(c), "status",
			 sb_charge_status_word(c), "created", created, "expires_at", expires, "qr_string",
			 c->qr_string, "notifications", "queued", (int)c->box.queued, "held", (int)c->box.held_n,
			 "delivered", (int)c->box.delivered, "given_up", (int)c->box.given_up);
}

void sb_charges_free(struct sandbox *sb)
{
	while (sb->charges_oldest)
		charge_drop(sb, sb->charges_oldest);
}
