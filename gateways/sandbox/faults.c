/*
 * faults: the fault table and its test endpoints. An entry has a scope
 * ("global" or an id that names a charge, payout or shipment: order_id,
 * transaction_id, qr id, reference_id, payout_id, tracking_id) and the fields it set.
 * A record's scoped value wins over the global one. The API counters
 * (http_500, timeout) count down by one per call they hit.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define SB_COUNTER_MAX 1000

static const struct {
	const char *name;
	bool boolean;
	int64_t min, max;
} fault_fields[SB_F_COUNT] = {
	[SB_F_DUPLICATES] = { "duplicates", false, 0, SB_DUPLICATES_MAX },
	[SB_F_OUT_OF_ORDER] = { "out_of_order", true, 0, 1 },
	[SB_F_DELAY_MS] = { "delay_ms", false, 0, SB_DELAY_MAX_MS },
	[SB_F_HTTP_500] = { "http_500", false, 0, SB_COUNTER_MAX },
	[SB_F_TIMEOUT] = { "timeout", false, 0, SB_COUNTER_MAX },
	[SB_F_WRONG_SIGNATURE] = { "wrong_signature", true, 0, 1 },
	[SB_F_AMOUNT_DELTA] = { "amount_delta", false, -SB_AMOUNT_MAX, SB_AMOUNT_MAX },
	[SB_F_PAYOUT_MANUAL] = { "payout_manual", true, 0, 1 },
	[SB_F_SHIPMENT_MANUAL] = { "shipment_manual", true, 0, 1 },
	[SB_F_DROP] = { "drop", true, 0, 1 },
};

void sb_faults_reset(struct sandbox *sb)
{
	memset(sb->faults, 0, sizeof(sb->faults));
	snprintf(sb->faults[0].scope, sizeof(sb->faults[0].scope), "global");
	sb->n_faults = 1;
}

/* The scoped entry for a record known by these ids, or NULL. */
static struct sb_fault *faults_scoped(struct sandbox *sb, const char *const *ids, size_t n)
{
	for (size_t f = 1; f < sb->n_faults; f++)
		for (size_t i = 0; i < n; i++)
			if (ids[i] && strcmp(sb->faults[f].scope, ids[i]) == 0)
				return &sb->faults[f];
	return NULL;
}

/* A field's value for a record: its scope's, else global's, else 0. */
static int64_t faults_value(const struct sandbox *sb, const struct sb_fault *scoped, enum sb_fault_field f)
{
	if (scoped && scoped->has[f])
		return scoped->val[f];
	return sb->faults[0].has[f] ? sb->faults[0].val[f] : 0;
}

void sb_faults_effect(struct sandbox *sb, const char *const *ids, size_t n, struct sb_effect *out)
{
	const struct sb_fault *s = faults_scoped(sb, ids, n);
	out->duplicates = (unsigned)faults_value(sb, s, SB_F_DUPLICATES);
	out->delay_ms = (long)faults_value(sb, s, SB_F_DELAY_MS);
	out->out_of_order = faults_value(sb, s, SB_F_OUT_OF_ORDER) != 0;
	out->wrong_signature = faults_value(sb, s, SB_F_WRONG_SIGNATURE) != 0;
	out->payout_manual = faults_value(sb, s, SB_F_PAYOUT_MANUAL) != 0;
	out->shipment_manual = faults_value(sb, s, SB_F_SHIPMENT_MANUAL) != 0;
	out->drop = faults_value(sb, s, SB_F_DROP) != 0;
	out->amount_delta = faults_value(sb, s, SB_F_AMOUNT_DELTA);
}

/* Takes one from a counter that is above zero. */
static bool faults_take(struct sb_fault *e, enum sb_fault_field f)
{
	if (!e || !e->has[f] || e->val[f] <= 0)
		return false;
	e->val[f]--;
	return true;
}

enum sb_gate sb_faults_gate(struct sandbox *sb, const char *const *ids, size_t n)
{
	struct sb_fault *s = faults_scoped(sb, ids, n);
	if (faults_take(s, SB_F_HTTP_500))
		return SB_GATE_500;
	if (faults_take(s, SB_F_TIMEOUT))
		return SB_GATE_TIMEOUT;
	if (faults_take(&sb->faults[0], SB_F_HTTP_500))
		return SB_GATE_500;
	if (faults_take(&sb->faults[0], SB_F_TIMEOUT))
		return SB_GATE_TIMEOUT;
	return SB_GATE_PASS;
}

static json_t *fault_json(const struct sb_fault *e)
{
	json_t *j = json_pack("{s:s}", "scope", e->scope);
	for (size_t f = 0; j && f < SB_F_COUNT; f++) {
		if (!e->has[f])
			continue;
		if (sb_set(j, fault_fields[f].name,
			   fault_fields[f].boolean ? json_boolean(e->val[f]) : json_integer(e->val[f])) != 0) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

static json_t *faults_list(const struct sandbox *sb)
{
	json_t *list = json_array();
	for (size_t f = 0; list && f < sb->n_faults; f++) {
		if (json_array_append_new(list, fault_json(&sb->faults[f])) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list ? json_pack("{s:o}", "faults", list) : NULL;
}

/* Releases the held notifications of everything (scope NULL) or of one record. Returns how many. */
static unsigned faults_release_scope(struct sandbox *sb, const char *scope)
{
	unsigned n = 0;
	if (scope) {
		struct sb_charge *c = sb_charge_find(sb, scope);
		struct sb_payout *po = sb_payout_find(sb, scope);
		struct sb_shipment *sh = sb_shipment_find(sb, scope);
		if (sh) {
			n += sh->box.held_n;
			sb_outbox_release(&sh->box);
		}
		if (c) {
			n += c->box.held_n;
			sb_outbox_release(&c->box);
		}
		if (po) {
			n += po->box.held_n;
			sb_outbox_release(&po->box);
		}
		return n;
	}
	for (struct sb_charge *c = sb->charges_oldest; c; c = c->newer) {
		n += c->box.held_n;
		sb_outbox_release(&c->box);
	}
	for (struct sb_payout *po = sb->payouts_oldest; po; po = po->newer) {
		n += po->box.held_n;
		sb_outbox_release(&po->box);
	}
	for (struct sb_shipment *sh = sb->ships_oldest; sh; sh = sh->newer) {
		n += sh->box.held_n;
		sb_outbox_release(&sh->box);
	}
	return n;
}

/* The scope of a faults request: "global" (also when absent) or a valid id. */
static const char *faults_scope(const json_t *body, struct body_check *chk)
{
	const char *scope = body_str(chk, body, "scope", false, 1, SB_ID_MAX);
	if (scope && strcmp(scope, "global") != 0 && !sb_id_valid(scope))
		body_fail(chk, "scope", "must be global or an id");
	return scope ? scope : "global";
}

void sb_faults_post(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	struct sb_fault in = { 0 }, *e = NULL;
	const char *scope, *key;
	json_t *value;
	if (!call->json)
		body_fail(&chk, "body", "must be a JSON object");
	scope = faults_scope(call->json, &chk);
	json_object_foreach(call->json, key, value) {
		size_t f = 0;
		(void)value;
		while (f < SB_F_COUNT && strcmp(key, fault_fields[f].name) != 0)
			f++;
		if (f == SB_F_COUNT) {
			if (strcmp(key, "scope") != 0)
				body_fail(&chk, key, "is not a fault (see docs/sandbox.md)");
			continue;
		}
		in.has[f] = true;
		in.val[f] = fault_fields[f].boolean ? body_bool(&chk, call->json, key, true, false)
						    : body_int(&chk, call->json, key, true, fault_fields[f].min,
							       fault_fields[f].max, 0);
	}
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_OPEN, &chk);
		return;
	}
	for (size_t f = 0; f < sb->n_faults && !e; f++)
		if (strcmp(sb->faults[f].scope, scope) == 0)
			e = &sb->faults[f];
	if (!e) {
		if (sb->n_faults == SB_FAULT_SCOPES_MAX) {
			sb_resp_error(resp, SB_KIND_OPEN, 409, "too_many_scopes",
				      "The fault table is full; DELETE /simulate/faults first");
			return;
		}
		e = &sb->faults[sb->n_faults++];
		snprintf(e->scope, sizeof(e->scope), "%s", scope);
	}
	for (size_t f = 0; f < SB_F_COUNT; f++) {
		if (!in.has[f])
			continue;
		e->has[f] = true;
		e->val[f] = in.val[f];
	}
	/* Turning out_of_order off lets what it held go. */
	if (in.has[SB_F_OUT_OF_ORDER] && !in.val[SB_F_OUT_OF_ORDER])
		faults_release_scope(sb, strcmp(scope, "global") == 0 ? NULL : scope);
	sb_resp_json(resp, 200, fault_json(e));
}

void sb_faults_get(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	(void)call;
	sb_resp_json(resp, 200, faults_list(sb));
}

void sb_faults_delete(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	(void)call;
	sb_faults_reset(sb);
	faults_release_scope(sb, NULL);
	sb_resp_json(resp, 200, faults_list(sb));
}

void sb_faults_release(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	const char *scope = faults_scope(call->json, &chk);
	unsigned n;
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_OPEN, &chk);
		return;
	}
	n = faults_release_scope(sb, strcmp(scope, "global") == 0 ? NULL : scope);
	sb_resp_json(resp, 200, json_pack("{s:i}", "released", (int)n));
}
