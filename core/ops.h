/*
 * ops: the endpoints for operators and load balancers.
 *   GET /healthz      200 when the store is open and its writer alive, else 503
 *   GET /metrics      Prometheus text format
 *   GET /api/v1/ping  200 {"ok":true}, the cheapest JSON route
 */
#ifndef BANGSOLEH_OPS_H
#define BANGSOLEH_OPS_H

struct httpd;
struct store;

/* Registers the routes; `store` is lent for the server's life. Returns 0 or an HTTPD_E* status. */
int ops_attach(struct httpd *h, struct store *store);

#endif
