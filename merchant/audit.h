/*
 * audit: the auditors' read-only views of the marketplace's books
 * (docs/api.md, "Audit views"; how the figures are computed: docs/audit.md,
 * "Reports and findings").
 *
 *   GET /api/v1/audit/journal    the ledger's entries in sequence order,
 *                                filtered by time (WIB), account, store,
 *                                courier, provider and reason, each with the
 *                                stores, courier and provider it concerns
 *   GET /api/v1/audit/reports    per WIB day or month: payments (in-store
 *                                and online), refunds, fees, payouts; per
 *                                store and per store category; JSON or CSV
 *   GET /api/v1/audit/findings   what deserves a look: flagged payments,
 *                                late payments refunded, refund ratios over
 *                                `audit.refund_ratio_bps`, orders completed
 *                                without a delivery, payouts over sales
 *
 * The books are the source of truth: every figure comes from the ledger's
 * entries of the period and the records they point to (payments, orders,
 * shipments, stores), read through those modules' headers. Every request is
 * answered from one read transaction and its work is bounded (AUDIT_* limits
 * in audit_internal.h, stated in docs/api.md); reports and findings, which
 * read up to AUDIT_SCAN_MAX entries, run on the auditors' read pool, the journal's
 * pages on the loop.
 * Roles: auditor and admin. The module owns no DBI and writes nothing.
 */
#ifndef BANGSOLEH_AUDIT_H
#define BANGSOLEH_AUDIT_H

#include <stdint.h>

struct httpd;
struct ledger;
struct merchants;
struct orders;
struct payments;
struct shipments;
struct store;
struct audit;

/* The modules the views read; every one is lent for the audit's life. */
struct audit_sources {
	struct store *store;
	struct ledger *ledger;
	struct merchants *merchants;
	struct payments *payments;
	struct orders *orders;
	struct shipments *shipments;
};

struct audit_config {
	int64_t refund_ratio_bps;    /* 0..10000: refunds over payments above this are a finding; default 1000 */
};

/* OUT: *out, freed with audit_free. src and cfg are copied. Returns 0 or -1 (out of memory, bad setting). */
int audit_open(const struct audit_sources *src, const struct audit_config *cfg, struct audit **out);

/* Registers the endpoints above on h (lent); q (lent) is the work pool of reports and findings. Returns 0 or an HTTPD_* status. */
struct workq;
int audit_attach(struct audit *a, struct httpd *h, struct workq *q);

/* NULL is allowed. */
void audit_free(struct audit *a);

#endif
