/*
 * The audit module's own parts, shared by its files only: attribution of
 * ledger entries and query parameters (audit.c, which also serves the
 * journal), reports and findings (audit_reports.c).
 */
#ifndef BANGSOLEH_AUDIT_INTERNAL_H
#define BANGSOLEH_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>

#include "audit.h"
#include "ledger.h"
#include "orders.h"
#include "payments.h"

struct httpd_req;

/* Bounds of the work of one request (docs/api.md, "Audit views"). */
#define AUDIT_JOURNAL_LIMIT_MAX 500       /* entries in one journal page */
#define AUDIT_JOURNAL_LIMIT_DEFAULT 100
#define AUDIT_JOURNAL_SCAN_MAX 5000       /* entries one journal request looks at */
#define AUDIT_READ_BATCH 256              /* entries read from the ledger at a time */
#define AUDIT_SCAN_MAX 100000             /* entries one report or findings request covers (0.12 s measured) */
#define AUDIT_PAYMENTS_SCAN_MAX 100000    /* payments one findings request looks at */
#define AUDIT_DAYS_MAX 366                /* days of a daily report, and of a findings range */
#define AUDIT_MONTHS_MAX 24               /* months of a monthly report */
#define AUDIT_ROWS_MAX 100000             /* (period, store) rows of one report */
#define AUDIT_STORES_MAX (ORDERS_GROUP_MAX + 2) /* stores one entry concerns: a group's and both sides' */
#define AUDIT_NAME_MAX 32                 /* a courier's or provider's name in an account name */
#define AUDIT_DAY_MS (24LL * 3600 * 1000)

/* Status codes besides 0 and STORE_* / LEDGER_*. */
#define AUDIT_EOVERFLOW (-120)            /* a sum beyond int64 */
#define AUDIT_ETOOMANY (-121)             /* the range holds more than a request may cover */

struct audit {
	struct audit_sources src;
	struct audit_config cfg;
	struct ledger_id fees;                /* platform:fees */
	struct workq *workq;                  /* lent by audit_attach: reports and findings run there */
};

/* What an entry is about, from its reason, its user data and its accounts. */
enum audit_kind { AUDIT_KIND_OTHER, AUDIT_KIND_PAYMENT, AUDIT_KIND_ORDER, AUDIT_KIND_PAYOUT };

struct audit_attr {
	uint8_t kind;                         /* enum audit_kind */
	struct payments_audit pay;            /* AUDIT_KIND_PAYMENT: the payment */
	size_t norders;                       /* online payments: the group's orders */
	struct orders_audit orders[ORDERS_GROUP_MAX];
	uint64_t order_id;                    /* AUDIT_KIND_ORDER: the order */
	size_t nstores;                       /* the stores it concerns, each once */
	uint64_t stores[AUDIT_STORES_MAX];
	char courier[AUDIT_NAME_MAX + 1];     /* the X of a courier:X:payable side; "" none */
	char provider[AUDIT_NAME_MAX + 1];    /* the P of a gateway:P:clearing side; "" none */
	char debit_name[LEDGER_NAME_MAX + 1]; /* the two accounts' names, for the journal's readers */
	char credit_name[LEDGER_NAME_MAX + 1];
};

/* Attributes an entry, read within txn. Returns 0 or a STORE_* status. */
int audit_attribute(const struct audit *a, MDB_txn *txn, const struct ledger_entry *e, struct audit_attr *out);
/* The attribution as JSON (new reference; NULL when out of memory). */
json_t *audit_attr_json(const struct audit_attr *at);

/*
 * The query's from and to (httpd_query_time; both required when
 * `required`), to after from. Returns 0, or -1 after replying 400.
 */
int audit_query_range(struct httpd_req *req, bool required, int64_t *from, int64_t *to, bool *has_from,
		      bool *has_to);

/* The sequence range [*from_seq, *to_seq) of entries timed in [from_ms, to_ms). */
int audit_seq_range(const struct audit *a, MDB_txn *txn, int64_t from_ms, int64_t to_ms, uint64_t *from_seq,
		    uint64_t *to_seq);

/* Replies for a failed read (500 or 503), or 422 for AUDIT_ETOOMANY. */
void audit_reply_failure(struct httpd_req *req, int status);

/* --- audit_reports.c --- */

void audit_handle_reports(struct httpd_req *req, void *ctx);
void audit_handle_findings(struct httpd_req *req, void *ctx);

#endif
