/*
 * payouts: money sent from a merchant's payable account to the bank account
 * of their store, and the merchant's balance and statement.
 *
 * A payout holds its amount with a pending ledger transfer
 * merchant:<id>:payable -> bank:settlement (code payout) while the payment
 * gateway's disbursement runs; the hold is posted when the provider reports
 * the money sent, and voided when it reports a failure, so the balance comes
 * back. A payout is `processing` until then, and `completed` or `failed`
 * for good: each outcome is applied once, forward only, in one store job
 * with its post or void. Transfer ids derive from the payout's id ("hold",
 * "post", "void") and the disbursement's idempotency key is the payout id,
 * so a retry never moves money twice.
 *
 * Outcomes come from the disbursement's own answer, from the provider's
 * payout notifications (through the payments module's webhook) and from a
 * once-a-second sweep that re-sends the disbursement of payouts still
 * processing after `retry_after_s`, with backoff up to `retry_max_s` (this
 * also finishes a payout whose disbursement was never sent because the
 * server stopped after the hold).
 *
 * Rules: at least `min_amount` rupiah, at most what is available
 * (credits_posted - debits_posted - debits_pending of the payable account),
 * one open payout per store, and only to a store with bank details.
 *
 * DBIs owned: payouts (id 16 -> record), payout_merchant (merchant 8 | id 16
 * -> empty: a store's payouts in time order), payout_open (merchant 8 ->
 * id 16: the store's processing payout), payout_watch (due ms 8 | id 16 ->
 * attempts 4: when to look at a processing payout again).
 */
#ifndef BANGSOLEH_PAYOUTS_H
#define BANGSOLEH_PAYOUTS_H

#include <stdint.h>

struct event_base;
struct httpd;
struct idem;
struct ledger;
struct merchants;
struct payments;
struct store;
struct payouts;

#define PAYOUTS_AMOUNT_MAX 1000000000   /* rupiah in one payout: the providers' limit */

struct payouts_config {
	int64_t min_amount;          /* smallest payout, rupiah; default 10000 */
	int64_t retry_after_s;       /* re-send a disbursement still processing after this; default 60 */
	int64_t retry_max_s;         /* longest wait between two re-sends; default 600 */
};

/*
 * Opens the DBIs (before store_start). Every argument is lent for the
 * payouts' life. OUT: *out, freed with payouts_free. Returns 0 or a
 * STORE_* status.
 */
int payouts_open(struct store *store, struct ledger *ledger, struct merchants *merchants, struct payments *payments,
		 struct idem *idem, struct payouts **out);

/*
 * Starts on the loop, after payments_start (it disburses through the
 * payments' gateway): registers the payout notification listener and the
 * sweep timer. cfg is copied; zero fields take their defaults. Returns 0 or -1.
 */
int payouts_start(struct payouts *po, struct event_base *base, const struct payouts_config *cfg);

/*
 * Registers the endpoints (see docs/api.md, "Payouts and statements") on h
 * (lent):
 *   POST /api/v1/merchants/{id}/payouts     the store's owner (Idempotency-Key)
 *   GET  /api/v1/merchants/{id}/payouts     owner, admin, auditor
 *   GET  /api/v1/payouts/{id}               owner, admin, auditor
 *   GET  /api/v1/merchants/{id}/balance     owner, admin, auditor
 *   GET  /api/v1/merchants/{id}/statement   owner, admin, auditor
 */
int payouts_attach(struct payouts *po, struct httpd *h);

/* Stops the sweep. Before store_stop; disbursements in flight come back harmlessly. */
void payouts_stop(struct payouts *po);
/* Stops if needed and frees. NULL is allowed. */
void payouts_free(struct payouts *po);

#endif
