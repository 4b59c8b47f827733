/*
 * merchants: the city's small businesses (UMKM) that sell through Bang
 * Soleh, with the QRIS data their payments need and their ledger account.
 *
 * DBI owned: merchants (id, 8 bytes big-endian -> record).
 *   POST /api/v1/admin/merchants          admin: registers a merchant
 *   GET  /api/v1/merchants/{id}/qris      the owner or an admin: the static QRIS payload
 *   GET  /api/v1/merchants/{id}/qris.svg  the same as an image for printing
 */
#ifndef BANGSOLEH_MERCHANTS_H
#define BANGSOLEH_MERCHANTS_H

#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "ledger.h"

struct httpd;
struct httpd_principal;
struct store;
struct merchants;

#define MERCHANT_NAME_MAX 64
#define MERCHANT_CITY_MAX 15        /* QRIS tag 60 */
#define MERCHANT_POSTAL_MAX 10      /* QRIS tag 61 */
#define MERCHANT_NMID_MAX 15        /* QRIS tag 51.02 */

#define MERCHANTS_OK 0
#define MERCHANTS_ENOTFOUND (-60)
#define MERCHANTS_ENOMEM (-61)

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
};

/* Opens the DBI (before store_start). Both are lent. OUT: *out. Returns 0 or a STORE_* status. */
int merchants_open(struct store *store, struct ledger *ledger, struct merchants **out);
void merchants_free(struct merchants *m);
/* Registers the endpoints above on h (lent). */
int merchants_attach(struct merchants *m, struct httpd *h);

/* Reads a merchant within txn. Returns 0, STORE_ENOTFOUND or another STORE_* status. */
int merchants_get(struct merchants *m, MDB_txn *txn, uint64_t id, struct merchant *out);
/* True for the merchant's owner and for admins. */
bool merchants_may_manage(const struct merchant *mc, const struct httpd_principal *p);
/*
 * The merchant's static QRIS payload (tag 26 of the platform's acquirer
 * template, 51 with the NMID, name cut to 25 characters). OUT: out (cap >=
 * QRIS_PAYLOAD_MAX + 1). Returns 0 or QRIS_E*.
 */
int merchants_static_qris(const struct merchant *mc, char *out, size_t cap);

#endif
