/*
 * api_xendit: Xendit-like QR Codes v2 (create, get, payments, simulate)
 * and the qr.payment webhook in the V2 shape, or the flat V1 shape for
 * charges created with `x-sandbox-webhook-shape: v1`.
 */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_BUSINESS_ID "5f27a14a9bf05c73dd040bc8"
#define SB_DEFAULT_CHANNEL "ID_DANA"
#define SB_WRONG_TOKEN_PREFIX "not-" /* wrong_signature: the token with this in front */

/* The QR code object. */
static json_t *x_qr_body(const struct sb_charge *c)
{
	char created[SB_ISO_LEN + 1], updated[SB_ISO_LEN + 1], expires[SB_ISO_LEN + 1];
	sb_time_iso(c->created_ms, created);
	sb_time_iso(c->updated_ms, updated);
	sb_time_iso(c->expires_ms, expires);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", c->id,
			 "reference_id", c->ref, "business_id", SB_BUSINESS_ID, "type", "DYNAMIC", "currency", "IDR",
			 "amount", (json_int_t)c->amount, "channel_code", c->channel_code, "status",
			 sb_charge_status_word(c), "qr_string", c->qr_string, "expires_at", expires, "created",
			 created, "updated", updated);
}

/* "DANA" from "ID_DANA": the paying source shown in payment details. */
static const char *x_source(const struct sb_charge *c)
{
	return strncmp(c->channel_code, "ID_", 3) == 0 ? c->channel_code + 3 : c->channel_code;
}

/* The payment of a paid QR (the V2 webhook's data), amount plus `delta`. */
static json_t *x_payment_body(const struct sb_charge *c, int64_t delta)
{
	char settled[SB_ISO_LEN + 1], expires[SB_ISO_LEN + 1];
	sb_time_iso(c->settled_ms, settled);
	sb_time_iso(c->expires_ms, expires);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id",
			 c->payment_id, "business_id", SB_BUSINESS_ID, "currency", "IDR", "amount",
			 (json_int_t)(c->paid + delta), "status", "SUCCEEDED", "created", settled, "qr_id", c->id,
			 "qr_string", c->qr_string, "reference_id", c->ref, "type", "DYNAMIC", "channel_code",
			 c->channel_code, "expires_at", expires, "payment_detail", "receipt_id", c->receipt_id,
			 "source", x_source(c));
}

/* Checks the create body and headers. OUT: *ref, *amount, *expires_ms, channel, *v1. */
static void x_create_check(const struct sb_call *call, struct body_check *chk, const char **ref, int64_t *amount,
			   int64_t *expires_ms, char channel[SB_CHANNEL_MAX + 1], bool *v1)
{
	const char *type, *currency, *expires, *ch, *shape = sb_header(call, "x-sandbox-webhook-shape");
	int64_t now = sb_now_ms();
	if (!call->json)
		body_fail(chk, "body", "must be a JSON object");
	*ref = body_str(chk, call->json, "reference_id", true, 1, SB_ID_MAX);
	if (*ref && !sb_id_valid(*ref))
		body_fail(chk, "reference_id", "may hold only letters, digits and -_.~:@#");
	type = body_str(chk, call->json, "type", true, 1, 16);
	if (type && strcmp(type, "DYNAMIC") != 0)
		body_fail(chk, "type", "must be DYNAMIC (the sandbox has no static QR codes)");
	currency = body_str(chk, call->json, "currency", true, 1, 8);
	if (currency && strcmp(currency, "IDR") != 0)
		body_fail(chk, "currency", "must be IDR");
	*amount = body_int(chk, call->json, "amount", true, 1, SB_AMOUNT_MAX, 0);
	expires = body_str(chk, call->json, "expires_at", false, 1, 40);
	*expires_ms = now + (int64_t)SB_XENDIT_EXPIRY_S * 1000;
	if (expires && (sb_time_iso_parse(expires, expires_ms) != 0 || *expires_ms <= now ||
			*expires_ms > now + (int64_t)SB_EXPIRY_MAX_S * 1000))
		body_fail(chk, "expires_at", "must be an ISO 8601 time within the next 30 days");
	ch = body_str(chk, call->json, "channel_code", false, 1, SB_CHANNEL_MAX);
	for (const char *p = ch; p && *p; p++)
		if (!isupper((unsigned char)*p) && *p != '_')
			body_fail(chk, "channel_code", "may hold only A-Z and _");
	snprintf(channel, SB_CHANNEL_MAX + 1, "%s", ch ? ch : SB_DEFAULT_CHANNEL);
	if (shape && strcmp(shape, "v1") != 0 && strcmp(shape, "v2") != 0)
		body_fail(chk, "x-sandbox-webhook-shape", "must be v1 or v2");
	*v1 = shape && strcmp(shape, "v1") == 0;
}

void sb_x_create(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	const char *ref;
	int64_t amount, expires_ms;
	char channel[SB_CHANNEL_MAX + 1];
	bool v1;
	struct sb_charge *c;
	x_create_check(call, &chk, &ref, &amount, &expires_ms, channel, &v1);
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_XENDIT, &chk);
		return;
	}
	c = sbmap_get(sb->x_refs, ref);
	if (c && c->state != SB_EXPIRE) {
		sb_resp_error(resp, SB_KIND_XENDIT, 409, "DUPLICATE_ERROR", "reference_id has already been used");
		return;
	}
	if (sb_charge_create(sb, SB_XENDIT, ref, amount, expires_ms, &c) != 0) {
		sb_resp_error(resp, SB_KIND_XENDIT, 500, "SERVER_ERROR", "Internal server error");
		return;
	}
	snprintf(c->channel_code, sizeof(c->channel_code), "%s", channel);
	c->webhook_v1 = v1;
	sb_resp_json(resp, 201, x_qr_body(c));
}

/* The QR code named by the path (qr id or reference_id), or NULL after answering 404. */
static struct sb_charge *x_target(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_charge *c = sb_charge_find_proto(sb, SB_XENDIT, call->arg);
	if (!c)
		sb_resp_error(resp, SB_KIND_XENDIT, 404, "DATA_NOT_FOUND", "QR code not found");
	return c;
}

void sb_x_get(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_charge *c = x_target(sb, call, resp);
	if (c)
		sb_resp_json(resp, 200, x_qr_body(c));
}

void sb_x_payments(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_charge *c = x_target(sb, call, resp);
	json_t *list;
	if (!c)
		return;
	list = json_array();
	if (list && c->payment_id[0] && json_array_append_new(list, x_payment_body(c, 0)) != 0) {
		json_decref(list);
		list = NULL;
	}
	sb_resp_json(resp, 200, list ? json_pack("{s:o, s:b}", "data", list, "has_more", 0) : NULL);
}

void sb_x_simulate(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	struct sb_charge *c = x_target(sb, call, resp);
	int64_t amount;
	if (!c)
		return;
	amount = body_int(&chk, call->json, "amount", false, 1, SB_AMOUNT_MAX, c->amount);
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_XENDIT, &chk);
		return;
	}
	if (c->state != SB_PENDING) {
		sb_resp_error(resp, SB_KIND_XENDIT, 409, "INACTIVE_QR_CODE", "QR code is no longer active");
		return;
	}
	if (sb_charge_pay(sb, c, amount) != 0) {
		sb_resp_error(resp, SB_KIND_XENDIT, 500, "SERVER_ERROR", "Internal server error");
		return;
	}
	sb_resp_json(resp, 200, x_payment_body(c, 0));
}

/* The flat V1 webhook body. */
static json_t *x_v1_body(const struct sb_charge *c, int64_t delta)
{
	char settled[SB_ISO_LEN + 1];
	sb_time_iso(c->settled_ms, settled);
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}}", "id", c->payment_id,
			 "event", "qr.payment", "amount", (json_int_t)(c->paid + delta), "status", "COMPLETED",
			 "created", settled, "qr_code", "id", c->id, "type", "DYNAMIC", "qr_string", c->qr_string,
			 "external_id", c->ref, "payment_details", "source", x_source(c), "receipt_id",
			 c->receipt_id);
}

void sb_x_notify(struct sandbox *sb, struct sb_charge *c)
{
	struct sb_effect fx;
	const char *ids[2];
	char uuid[SB_UUID_LEN + 1], webhook_id[SB_UUID_LEN + 8], now[SB_ISO_LEN + 1];
	char token[SANDBOX_SECRET_MAX + sizeof(SB_WRONG_TOKEN_PREFIX)];
	struct sb_note_spec spec = { .url = sb->notify_xendit, .what = "xendit qr.payment", .ref = c->ref };
	sb_charge_ids(c, ids);
	sb_faults_effect(sb, ids, 2, &fx);
	if (sb_uuid(uuid) != 0)
		return;
	snprintf(webhook_id, sizeof(webhook_id), "whk_%s", uuid);
	snprintf(token, sizeof(token), "%s%s", fx.wrong_signature ? SB_WRONG_TOKEN_PREFIX : "", sb->callback_token);
	sb_time_iso(sb_now_ms(), now);
	spec.fx = &fx;
	spec.webhook_id = webhook_id;
	spec.callback_token = token;
	spec.body = c->webhook_v1 ? x_v1_body(c, fx.amount_delta)
				  : json_pack("{s:s, s:s, s:s, s:s, s:o}", "event", "qr.payment", "api_version",
					      "2022-07-31", "business_id", SB_BUSINESS_ID, "created", now, "data",
					      x_payment_body(c, fx.amount_delta));
	(void)sb_note_post(sb, &c->box, &spec);
}
