/*
 * payouts: money sent from a payee's payable account to their bank
 * account, and the payee's balance and statement. A payee is a store
 * (merchant:<id>:payable, the store's bank details) or one of the city's
 * couriers (courier:<user id>:payable, the bank details of their profile);
 * both go through the same code, which differs only in how the payee, its
 * owner and its indexes are found.
 *
 * A payout holds its amount with a pending ledger transfer
 * <payable> -> bank:settlement (code payout) while the payment
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
 * one open payout per payee, and only to a payee with bank details. A
 * courier who has never earned a fee has no payable account yet: it reads
 * as empty (nothing available) and is not made by a payout.
 *
 * DBIs owned: payouts (id 16 -> record), payout_merchant (merchant 8 | id 16
 * -> empty: a store's payouts in time order), payout_open (merchant 8 ->
 * id 16: the store's processing payout), payout_courier and
 * payout_courier_open (the same for couriers, by user id), payout_watch
 * (due ms 8 | id 16 -> attempts 4: when to look at a processing payout
 * again).
 */
#ifndef BANGSOLEH_PAYOUTS_H
#define BANGSOLEH_PAYOUTS_H

#include <stdint.h>

struct auth;
struct event_base;
struct httpd;
struct idem;
struct ledger;
struct ledger_balances;
struct merchants;
struct payments;
struct profiles;
struct workq;
struct store;
struct payouts;

#define PAYOUTS_AMOUNT_MAX 1000000000   /* rupiah in one payout: the providers' limit */
/* The payee kind a payout's transfers carry in user_data_32 (the payee's id is in user_data_64). */
#define PAYOUTS_PAYEE_MERCHANT 0
#define PAYOUTS_PAYEE_COURIER 1

struct payouts_config {
	int64_t min_amount;          /* smallest payout, rupiah; default 10000 */
	int64_t retry_after_s;       /* re-send a disbursement still processing after this; default 60 */
	int64_t retry_max_s;         /* longest wait between two re-sends; default 600 */
};

/* Where payees are read: stores, users' roles (a courier is a user with that role), couriers' profiles. */
struct payouts_payees {
	struct auth *auth;
	struct merchants *merchants;
	struct profiles *profiles;
};

/*
 * Opens the DBIs (before store_start). payees is copied; the modules it
 * names and every other argument are lent for the payouts' life. OUT:
 * *out, freed with payouts_free. Returns 0 or a STORE_* status.
 */
int payouts_open(struct store *store, struct ledger *ledger, const struct payouts_payees *payees,
		 struct payments *payments, struct idem *idem, struct payouts **out);

/*
 * Starts on the loop, after payments_start (it disburses through the
 * payments' gateway): registers the payout notification listener and the
 * sweep timer. cfg is copied; zero fields take their defaults. Returns 0 or -1.
 */
int payouts_start(struct payouts *po, struct event_base *base, const struct payouts_config *cfg);

/*
 * Registers the endpoints (see docs/api.md, "Payouts and statements") on h
 * (lent); statements are read on `reads` (lent; their cost grows with the
 * books, so they stay off the loop):
 *   POST /api/v1/merchants/{id}/payouts     the store's owner (Idempotency-Key)
 *   GET  /api/v1/merchants/{id}/payouts     owner, admin, auditor
 *   GET  /api/v1/merchants/{id}/balance     owner, admin, auditor
 *   GET  /api/v1/merchants/{id}/statement   owner, admin, auditor
 *   POST /api/v1/courier/payouts            courier: their own (Idempotency-Key)
 *   GET  /api/v1/courier/payouts|balance|statement         courier: their own
 *   GET  /api/v1/couriers/{user_id}/payouts|balance|statement   admin, auditor
 *   GET  /api/v1/payouts/{id}               its store's owner or courier, admin, auditor
 */
int payouts_attach(struct payouts *po, struct httpd *h, struct workq *reads);

/* A payable account's two figures at one point (its balance, its statement's lines, opening and closing). */
struct payouts_figures {
	int64_t balance;             /* credits_posted - debits_posted */
	int64_t available;           /* balance - debits_pending: what payouts do not hold, what a payout may take */
};

/*
 * The figures of an account's four balances (any, as of any point). Pure.
 * OUT: *out. Returns 0, or -1 when a figure would leave int64_t.
 */
int payouts_figures(const struct ledger_balances *b, struct payouts_figures *out);

/* Stops the sweep. Before store_stop; disbursements in flight come back harmlessly. */
void payouts_stop(struct payouts *po);
/* Stops if needed and frees. NULL is allowed. */
void payouts_free(struct payouts *po);

#endif
