/*
 * api_payouts: the sandbox's own payout protocol. A payout is PROCESSING
 * until SB_PAYOUT_DELAY_MS pass (or /simulate/payout decides), then
 * COMPLETED or FAILED with a signed notification to the Midtrans
 * notification URL. Account numbers starting with "000" always fail.
 */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"

#define SB_FAILING_ACCOUNT "000"

static const char *const payout_states[] = {
	[SB_PO_PROCESSING] = "PROCESSING", [SB_PO_COMPLETED] = "COMPLETED", [SB_PO_FAILED] = "FAILED",
};

struct sb_payout *sb_payout_find(struct sandbox *sb, const char *id)
{
	struct sb_payout *po = sbmap_get(sb->payout_refs, id);
	return po ? po : sbmap_get(sb->payout_ids, id);
}

json_t *sb_payout_json(const struct sb_payout *po)
{
	char created[SB_ISO_LEN + 1], updated[SB_ISO_LEN + 1];
	json_t *j;
	sb_time_iso(po->created_ms, created);
	sb_time_iso(po->updated_ms, updated);
	j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", po->id, "payout_id", po->payout_id,
		      "amount", (json_int_t)po->amount, "bank_code", po->bank_code, "account_number",
		      po->account_number, "account_name", po->account_name, "status", payout_states[po->state],
		      "created", created, "updated", updated);
	if (j && po->failure_reason && sb_set(j, "failure_reason", json_string(po->failure_reason)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void payout_drop(struct sandbox *sb, struct sb_payout *po)
{
	if (po->older)
		po->older->newer = po->newer;
	else
		sb->payouts_oldest = po->newer;
	if (po->newer)
		po->newer->older = po->older;
	else
		sb->payouts_newest = po->older;
	sb->n_payouts--;
	sbmap_del_if(sb->payout_ids, po->id, po);
	sbmap_del_if(sb->payout_refs, po->payout_id, po);
	if (po->timer)
		event_free(po->timer);
	sb_outbox_clear(&po->box);
	free(po);
}

/* Makes room: the oldest finished payout with nothing to send, else the oldest. */
static void payouts_evict(struct sandbox *sb)
{
	struct sb_payout *po = sb->payouts_oldest;
	while (po && (po->state == SB_PO_PROCESSING || sb_outbox_busy(&po->box)))
		po = po->newer;
	payout_drop(sb, po ? po : sb->payouts_oldest);
}

/* The payout notification, signed over payout_id + status + amount text + server key. */
static void payout_notify(struct sandbox *sb, struct sb_payout *po)
{
	struct sb_effect fx;
	const char *ids[2] = { po->payout_id, po->id };
	const char *status = payout_states[po->state];
	char amount[SB_AMOUNT_TEXT_MAX], sig[SB_SHA512_HEX_LEN + 1], what[32];
	struct sb_note_spec spec = { .url = sb->notify_midtrans, .what = what, .ref = po->payout_id, .fx = &fx };
	sb_faults_effect(sb, ids, 2, &fx);
	sb_amount_text(po->amount + fx.amount_delta, amount);
	{
		const char *parts[] = { po->payout_id, status, amount, sb->server_key, SB_WRONG_KEY_SUFFIX };
		if (sb_sha512_hex(parts, fx.wrong_signature ? 5 : 4, sig) != 0)
			return;
	}
	snprintf(what, sizeof(what), "payout %s", status);
	spec.body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "event", "payout", "payout_id", po->payout_id, "id",
			      po->id, "amount", amount, "status", status, "signature_key", sig);
	if (spec.body && po->failure_reason &&
	    sb_set(spec.body, "failure_reason", json_string(po->failure_reason)) != 0) {
		json_decref(spec.body);
		spec.body = NULL;
	}
	(void)sb_note_post(sb, &po->box, &spec);
}

/* Finishes a processing payout: completed unless asked to fail or the account is a failing one. */
static void payout_finish(struct sandbox *sb, struct sb_payout *po, bool completed)
{
	if (strncmp(po->account_number, SB_FAILING_ACCOUNT, strlen(SB_FAILING_ACCOUNT)) == 0) {
		completed = false;
		po->failure_reason = "INVALID_DESTINATION";
	} else if (!completed) {
		po->failure_reason = "SIMULATED_FAILURE";
	}
	po->state = completed ? SB_PO_COMPLETED : SB_PO_FAILED;
	po->updated_ms = sb_now_ms();
	event_del(po->timer);
	log_msg(LOG_INFO, "sandbox", "payout %s is now %s", po->payout_id, payout_states[po->state]);
	payout_notify(sb, po);
}

static void payout_timer(evutil_socket_t fd, short events, void *arg)
{
	struct sb_payout *po = arg;
	(void)fd;
	(void)events;
	if (po->state == SB_PO_PROCESSING)
		payout_finish(po->sb, po, true);
}

/* Checks the create body. OUT: fields of *po. */
static void payout_check(const json_t *body, struct body_check *chk, struct sb_payout *po)
{
	const char *pid, *bank, *acct, *name;
	if (!body)
		body_fail(chk, "body", "must be a JSON object");
	pid = body_str(chk, body, "payout_id", true, 1, SB_ID_MAX);
	if (pid && !sb_id_valid(pid))
		body_fail(chk, "payout_id", "may hold only letters, digits and -_.~:@#");
	po->amount = body_int(chk, body, "amount", true, 1, SB_PAYOUT_AMOUNT_MAX, 0);
	bank = body_str(chk, body, "bank_code", true, 1, SB_BANK_CODE_MAX);
	for (const char *p = bank; p && *p; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			body_fail(chk, "bank_code", "may hold only A-Z, 0-9 and _");
	acct = body_str(chk, body, "account_number", true, 1, SB_ACCOUNT_NUMBER_MAX);
	for (const char *p = acct; p && *p; p++)
		if (!isdigit((unsigned char)*p))
			body_fail(chk, "account_number", "may hold only digits");
	name = body_str(chk, body, "account_name", true, 1, SB_ACCOUNT_NAME_MAX);
	for (const char *p = name; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			body_fail(chk, "account_name", "must not hold control characters");
	if (chk->failed)
		return;
	snprintf(po->payout_id, sizeof(po->payout_id), "%s", pid);
	snprintf(po->bank_code, sizeof(po->bank_code), "%s", bank);
	snprintf(po->account_number, sizeof(po->account_number), "%s", acct);
	snprintf(po->account_name, sizeof(po->account_name), "%s", name);
}

/* True when a repeated request names the same payout as the first one. */
static bool payout_same(const struct sb_payout *a, const struct sb_payout *b)
{
	return a->amount == b->amount && strcmp(a->bank_code, b->bank_code) == 0 &&
	       strcmp(a->account_number, b->account_number) == 0 && strcmp(a->account_name, b->account_name) == 0;
}

/* Stores a new payout and starts its clock. Returns 0 or -1 (out of memory or entropy). */
static int payout_start(struct sandbox *sb, struct sb_payout *po)
{
	char uuid[SB_UUID_LEN + 1];
	const char *ids[1] = { po->payout_id };
	struct sb_effect fx;
	struct timeval tv = { .tv_sec = 0, .tv_usec = SB_PAYOUT_DELAY_MS * 1000 };
	if (sb_uuid(uuid) != 0)
		return -1;
	snprintf(po->id, sizeof(po->id), "po_%s", uuid);
	po->timer = evtimer_new(sb->base, payout_timer, po);
	if (!po->timer)
		return -1;
	if (sbmap_put(sb->payout_ids, po->id, po) != SBMAP_OK)
		return -1;
	if (sbmap_put(sb->payout_refs, po->payout_id, po) != SBMAP_OK) {
		sbmap_del(sb->payout_ids, po->id);
		return -1;
	}
	po->older = sb->payouts_newest;
	if (sb->payouts_newest)
		sb->payouts_newest->newer = po;
	else
		sb->payouts_oldest = po;
	sb->payouts_newest = po;
	sb->n_payouts++;
	sb_faults_effect(sb, ids, 1, &fx);
	po->manual = fx.payout_manual;
	if (!po->manual)
		evtimer_add(po->timer, &tv);
	return 0;
}

void sb_po_create(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	struct sb_payout *po = calloc(1, sizeof(*po)), *old;
	if (!po) {
		sb_resp_error(resp, SB_KIND_PAYOUT, 500, "internal", "Out of memory");
		return;
	}
	payout_check(call->json, &chk, po);
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_PAYOUT, &chk);
		goto free_payout;
	}
	old = sbmap_get(sb->payout_refs, po->payout_id);
	if (old) {
		/* payout_id is the idempotency key: the same request shows the payout as it is now. */
		if (payout_same(old, po))
			sb_resp_json(resp, 200, sb_payout_json(old));
		else
			sb_resp_error(resp, SB_KIND_PAYOUT, 409, "conflict",
				      "payout_id was already used for another payout");
		goto free_payout;
	}
	if (sb->n_payouts >= SB_PAYOUTS_MAX)
		payouts_evict(sb);
	po->sb = sb;
	po->created_ms = po->updated_ms = sb_now_ms();
	if (payout_start(sb, po) != 0) {
		sb_resp_error(resp, SB_KIND_PAYOUT, 500, "internal", "Internal server error");
		goto free_payout;
	}
	log_msg(LOG_INFO, "sandbox", "payout %s accepted", po->payout_id);
	sb_resp_json(resp, 201, sb_payout_json(po));
	return;
free_payout:
	if (po->timer)
		event_free(po->timer);
	free(po);
}

void sb_po_get(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_payout *po = sb_payout_find(sb, call->arg);
	if (po)
		sb_resp_json(resp, 200, sb_payout_json(po));
	else
		sb_resp_error(resp, SB_KIND_PAYOUT, 404, "not_found", "No such payout");
}

void sb_po_simulate(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	struct sb_payout *po = sb_payout_find(sb, call->arg);
	const char *result = body_str(&chk, call->json, "result", false, 1, 16);
	if (result && strcmp(result, "completed") != 0 && strcmp(result, "failed") != 0)
		body_fail(&chk, "result", "must be completed or failed");
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_OPEN, &chk);
		return;
	}
	if (!po) {
		sb_resp_error(resp, SB_KIND_OPEN, 404, "not_found", "No such payout");
		return;
	}
	if (po->state != SB_PO_PROCESSING) {
		sb_resp_error(resp, SB_KIND_OPEN, 409, "conflict", "The payout has already finished");
		return;
	}
	payout_finish(sb, po, !result || strcmp(result, "completed") == 0);
	sb_resp_json(resp, 200, sb_payout_json(po));
}

void sb_payouts_free(struct sandbox *sb)
{
	while (sb->payouts_oldest)
		payout_drop(sb, sb->payouts_oldest);
}
