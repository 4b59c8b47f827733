/*
 * idem: Idempotency-Key for creating POSTs.
 *
 * A client sends `Idempotency-Key: <1..64 printable ASCII>` with a creating
 * request. The first request with a key does its work and, in the same write
 * transaction, records the key with a SHA-256 of the request (method, path
 * and body) and a reference to what it created. A repeat with the same key
 * and the same request is answered with the first answer's status and the
 * created thing as it is now (a replay: nothing is done twice); the same key
 * with a different request is 409 `idempotency_key_reused`. Keys are per
 * user (per client address for anonymous callers) and per route scope, and
 * are kept for IDEM_KEEP_S seconds.
 *
 * Use in a handler:
 *   1. idem_begin(req, scope, &r)  -> parses the header; replies 400 and
 *      returns -1 on a bad key. r.present says whether a key came.
 *   2. idem_lookup(idem, txn, &r, &e) in a read transaction: IDEM_REPLAY
 *      (render e.ref with e.status), IDEM_CONFLICT (reply with
 *      idem_reply_conflict), or IDEM_NEW.
 *   3. In the job's apply: idem_lookup again (a concurrent twin may have
 *      committed first: then skip the work and replay), do the work, then
 *      idem_save with the status and the reference.
 *
 * DBI owned: idempotency (scope-free key: user 8 | sha256(scope, key) 32 ->
 * record).
 */
#ifndef BANGSOLEH_IDEM_H
#define BANGSOLEH_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

struct event_base;
struct httpd_req;
struct store;
struct purge;
struct idem;

#define IDEM_KEY_MAX 64
#define IDEM_REF_MAX 32
#define IDEM_KEEP_S 86400
#define IDEM_PURGE_S 3600

#define IDEM_NEW 0
#define IDEM_REPLAY 1
#define IDEM_CONFLICT 2

/* A creating request as far as idempotency cares; filled by idem_begin. */
struct idem_req {
	bool present;                  /* an Idempotency-Key came */
	uint8_t key[40];               /* the stored key: caller 8 | sha256(scope, key) 32 */
	uint8_t request_hash[32];      /* sha256(method, path, body) */
};

/* What the first request recorded. */
struct idem_entry {
	int status;                    /* the HTTP status of the first answer */
	uint8_t ref[IDEM_REF_MAX];     /* what it created, in the scope's own terms */
	size_t ref_len;
	int64_t created_ms;
};

/* Opens the DBI (before store_start); store is lent. OUT: *out. Returns 0 or a STORE_* status. */
int idem_open(struct store *store, struct idem **out);
/* Frees; idem_stop first when started. */
void idem_free(struct idem *idem);
/*
 * Drops keys past IDEM_KEEP_S every IDEM_PURGE_S (core/purge.h), after
 * store_start; idem_stop before store_stop. Returns 0 or STORE_ENOMEM.
 */
int idem_start(struct idem *idem, struct event_base *base);
void idem_stop(struct idem *idem);
/* One purge pass now, through store_run (tests, tools). OUT: *dropped. Returns 0 or a STORE_* status. */
int idem_purge(struct idem *idem, uint64_t *dropped);

/*
 * Reads the Idempotency-Key of req for `scope` (a route's name, <= 64
 * bytes). OUT: *out. Returns 0; on a malformed key replies 400
 * `invalid_idempotency_key` and returns -1.
 */
int idem_begin(struct httpd_req *req, const char *scope, struct idem_req *out);

/*
 * Looks the key up within txn (read or write). Returns IDEM_NEW (also when
 * r->present is false or the key is older than IDEM_KEEP_S), IDEM_REPLAY
 * with *out, IDEM_CONFLICT, or a negative STORE_* status.
 */
int idem_lookup(struct idem *idem, MDB_txn *txn, const struct idem_req *r, struct idem_entry *out);

/*
 * Records the key within a write txn with the first answer's status and a
 * reference of ref_len <= IDEM_REF_MAX bytes. Nothing when r->present is
 * false. Returns 0 or a STORE_* / LMDB status.
 */
int idem_save(struct idem *idem, MDB_txn *txn, const struct idem_req *r, int status, const void *ref,
	      size_t ref_len, int64_t now_ms);

/* Replies 409 idempotency_key_reused. */
void idem_reply_conflict(struct httpd_req *req);

#endif
