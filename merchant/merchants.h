/*
 * merchants: the stores of the city's small businesses (UMKM) that sell
 * through Bang Soleh: their profile, the QRIS data their payments need, the
 * bank account their payouts go to, their ledger account, and their state.
 *
 * A store a merchant registers is `pending` until a city officer (admin)
 * verifies it; only a `verified` store sells and is listed. A `suspended`
 * store disappears from the catalogue and keeps its money and history; an
 * admin may reinstate it. Stores an admin registers are verified at once.
 * The city features verified stores on the home page; suspending a store
 * takes it off that list (reinstating does not put it back).
 *
 * DBIs owned: merchants (id, 8 bytes big-endian -> record), merchant_owner
 * (owner user id, 8 bytes | store id, 8 bytes -> empty), merchant_featured
 * (place, 8 bytes big-endian -> store id, 8 bytes big-endian: the newest
 * featured has the highest place).
 * Endpoints: see merchants_attach and docs/api.md, "Stores".
 */
#ifndef BANGSOLEH_MERCHANTS_H
#define BANGSOLEH_MERCHANTS_H

#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "ledger.h"

struct httpd;
struct httpd_principal;
struct auth;
struct idem;
struct store;
struct merchants;

#define MERCHANT_NAME_MAX 64
#define MERCHANT_CITY_MAX 15        /* QRIS tag 60 */
#define MERCHANT_POSTAL_MAX 10      /* QRIS tag 61 */
#define MERCHANT_NMID_MAX 15        /* QRIS tag 51.02 */
#define MERCHANT_CATEGORY_MAX 32
#define MERCHANT_DESCRIPTION_MAX 1000
#define MERCHANT_ADDRESS_MAX 200
#define MERCHANT_PHONE_MAX 20
#define MERCHANT_HOURS_MAX 100
#define MERCHANT_BANK_CODE_MAX 16
#define MERCHANT_BANK_ACCOUNT_MAX 34
#define MERCHANT_BANK_NAME_MAX 64   /* the account holder */
#define MERCHANT_OWNED_MAX 50       /* stores one user may register */

#define MERCHANTS_OK 0
#define MERCHANTS_ENOTFOUND (-60)
#define MERCHANTS_ENOMEM (-61)

enum merchant_status { MERCHANT_PENDING = 1, MERCHANT_VERIFIED = 2, MERCHANT_SUSPENDED = 3 };

struct merchant {
	uint64_t id;
	uint64_t owner_user_id;                 /* the user (role merchant) who runs it */
	char name[MERCHANT_NAME_MAX + 1];
	char city[MERCHANT_CITY_MAX + 1];
	char postal_code[MERCHANT_POSTAL_MAX + 1];
	char criteria[4];                       /* UMI, UKE, UME, UBE */
	char nmid[MERCHANT_NMID_MAX + 1];
	char mcc[5];
	int64_t created_ms;
	struct ledger_id payable;               /* merchant:<id>:payable */
	char category[MERCHANT_CATEGORY_MAX + 1];
	char description[MERCHANT_DESCRIPTION_MAX + 1];
	char address[MERCHANT_ADDRESS_MAX + 1];
	char phone[MERCHANT_PHONE_MAX + 1];     /* also WhatsApp */
	char hours[MERCHANT_HOURS_MAX + 1];     /* opening hours, free text */
	char bank_code[MERCHANT_BANK_CODE_MAX + 1];
	char bank_account[MERCHANT_BANK_ACCOUNT_MAX + 1];
	char bank_name[MERCHANT_BANK_NAME_MAX + 1];
	uint8_t status;                         /* enum merchant_status */
	int64_t status_ms;                      /* when the status last changed */
	bool has_coords;                        /* where couriers pick up: */
	int32_t lat_e6, lng_e6;                 /* millionths of a degree */
	uint64_t featured;                      /* its place in the featured list; 0: not featured */
};

/*
 * Called inside the write transaction that changes a store's status (from
 * `was` to mc->status), so what depends on it (the catalogue's listing)
 * changes in the same commit. A non-zero return aborts the change.
 */
typedef int (*merchants_status_fn)(MDB_txn *txn, const struct merchant *mc, uint8_t was, void *ctx);

/*
 * Opens the DBIs (before store_start). All four are lent for the module's
 * life (auth tells whether a store's owner is a merchant's account). OUT:
 * *out. Returns 0 or a STORE_* status.
 */
int merchants_open(struct store *store, struct ledger *ledger, struct idem *idem, struct auth *auth,
		   struct merchants **out);
void merchants_free(struct merchants *m);
/*
 * Registers the endpoints on h (lent):
 *   POST /api/v1/merchants                  merchant: registers a store (pending)
 *   GET  /api/v1/merchants                  public: verified stores (featured=true: the featured ones)
 *   GET  /api/v1/merchants/{id}             public for verified stores; else owner, admin
 *   PUT  /api/v1/merchants/{id}             owner, admin: edits the profile
 *   GET  /api/v1/me/merchants               merchant: the caller's stores in every state
 *   POST /api/v1/admin/merchants            admin: registers a store (verified)
 *   POST /api/v1/admin/merchants/{id}/verify|suspend|reinstate   admin
 *   POST /api/v1/admin/merchants/{id}/feature  admin: {"featured": bool}, verified stores only
 *   GET  /api/v1/merchants/{id}/qris(.svg)  owner, admin: the static QRIS
 */
int merchants_attach(struct merchants *m, struct httpd *h);

/* Sets the one status listener (NULL: none); fn and ctx are lent. Before store_start. */
void merchants_on_status(struct merchants *m, merchants_status_fn fn, void *ctx);

/* Reads a merchant within txn. Returns 0, STORE_ENOTFOUND or another STORE_* status. */
int merchants_get(struct merchants *m, MDB_txn *txn, uint64_t id, struct merchant *out);
/* True for the merchant's owner and for admins. */
bool merchants_may_manage(const struct merchant *mc, const struct httpd_principal *p);
/* True when the store sells and is listed: verified. */
bool merchants_is_selling(const struct merchant *mc);
const char *merchants_status_name(uint8_t status);
/*
 * The merchant's static QRIS payload (tag 26 of the platform's acquirer
 * template, 51 with the NMID, name cut to 25 characters). OUT: out (cap >=
 * QRIS_PAYLOAD_MAX + 1). Returns 0 or QRIS_E*.
 */
int merchants_static_qris(const struct merchant *mc, char *out, size_t cap);

#endif
