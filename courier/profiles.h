/*
 * profiles: a city courier's profile — the name, phone and vehicle plate
 * the buyer's tracking shows once they take a job, and the bank account
 * their payouts go to. One profile per user (role courier), made by their
 * first PUT and changed field by field after that.
 *
 * DBI owned: courier_profiles (user id, 8 bytes big-endian -> record).
 * Endpoints: see profiles_attach and docs/api.md, "The city's couriers".
 */
#ifndef BANGSOLEH_PROFILES_H
#define BANGSOLEH_PROFILES_H

#include <stdint.h>

#include <lmdb.h>

#include "courier.h"

struct httpd;
struct store;
struct profiles;

#define PROFILES_NAME_MAX COURIER_NAME_MAX     /* as the shipment's driver_name */
#define PROFILES_PHONE_MAX COURIER_PHONE_MAX
#define PROFILES_PLATE_MAX COURIER_PLATE_MAX
#define PROFILES_BANK_CODE_MAX 16              /* as a store's (merchants.h) */
#define PROFILES_BANK_ACCOUNT_MAX 34
#define PROFILES_BANK_NAME_MAX 64              /* the account holder */

struct courier_profile {
	uint64_t user_id;
	char name[PROFILES_NAME_MAX + 1];          /* never empty: the username until changed */
	char phone[PROFILES_PHONE_MAX + 1];        /* digits, optionally after a leading + */
	char plate[PROFILES_PLATE_MAX + 1];        /* capital letters, digits, spaces */
	char bank_code[PROFILES_BANK_CODE_MAX + 1];
	char bank_account[PROFILES_BANK_ACCOUNT_MAX + 1];
	char bank_name[PROFILES_BANK_NAME_MAX + 1];
	int64_t created_ms, updated_ms;
};

/* Opens the DBI (before store_start); store is lent for the module's life. OUT: *out. Returns 0 or a STORE_* status. */
int profiles_open(struct store *store, struct profiles **out);
/* NULL is allowed. */
void profiles_free(struct profiles *p);

/*
 * Registers the endpoints on h (lent):
 *   GET /api/v1/courier/profile   courier: their own
 *   PUT /api/v1/courier/profile   courier: makes it, or changes the fields given
 */
int profiles_attach(struct profiles *p, struct httpd *h);

/* Reads user_id's profile within txn. OUT: *out. Returns 0, STORE_ENOTFOUND or another STORE_* status. */
int profiles_get(struct profiles *p, MDB_txn *txn, uint64_t user_id, struct courier_profile *out);

#endif
