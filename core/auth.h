/*
 * auth: users with roles, passwords hashed with scrypt, bearer tokens, and
 * the sign-in endpoints.
 *
 * Tokens are 256 random bits, given to the client once as base64url (43
 * characters) and stored only as their SHA-256, with an expiry. Login
 * attempts are limited per address (attempts) and per account (failures)
 * over a window; beyond either the answer is 429 with Retry-After.
 * Password hashing runs on the work pool, never on the loop thread.
 *
 * DBIs owned: auth_users (id -> user), auth_names (username -> id),
 * auth_tokens (SHA-256 of token -> session).
 */
#ifndef BANGSOLEH_AUTH_H
#define BANGSOLEH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

struct event_base;
struct httpd;
struct store;
struct workq;
struct auth;

#define AUTH_OK 0
#define AUTH_EINVAL (-20)    /* bad username, password or role */
#define AUTH_EEXISTS (-21)   /* username taken */
#define AUTH_ENOMEM (-22)

#define AUTH_USERNAME_MIN 3
#define AUTH_USERNAME_MAX 32
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256
#define AUTH_PURGE_S 3600            /* how often expired login tokens are dropped */

struct auth_config {
	int64_t token_ttl_s;
	unsigned password_cost;      /* scrypt log2(N) */
	int64_t login_window_s;
	unsigned login_max_account;  /* failures per account per window */
	unsigned login_max_address;  /* attempts per address per window */
};

/*
 * Opens the auth DBIs (before store_start). `store` is lent for the life of
 * the auth object. OUT: *out, freed with auth_free. Returns 0 or a STORE_* /
 * AUTH_* status.
 */
int auth_open(struct store *store, const struct auth_config *cfg, struct auth **out);
/* Frees; auth_stop first when started. */
void auth_free(struct auth *a);
/*
 * Drops expired login tokens (refused already) every AUTH_PURGE_S
 * (core/purge.h), after store_start; auth_stop before store_stop. Returns 0
 * or STORE_ENOMEM.
 */
int auth_start(struct auth *a, struct event_base *base);
void auth_stop(struct auth *a);
/* One purge pass now, through store_run (tests, tools). OUT: *dropped. Returns 0 or a STORE_* status. */
int auth_purge(struct auth *a, uint64_t *dropped);

/*
 * Registers the endpoints and the token resolver on `h`, hashing on `w`.
 * Both are lent for the life of the auth object.
 *   POST /api/v1/auth/register  public     {username, password, role?: shopper|merchant}
 *   POST /api/v1/auth/login     public     {username, password} -> {token, expires_at, user}
 *   POST /api/v1/auth/logout    signed in
 *   GET  /api/v1/me             signed in
 *   POST /api/v1/users          admin      {username, password, role}
 */
int auth_attach(struct auth *a, struct httpd *h, struct workq *w);

/*
 * Creates a user synchronously (the `bangsoleh user add` command; not on the
 * loop thread: it hashes and waits for the commit). OUT: *id.
 */
int auth_user_add(struct auth *a, const char *username, const char *password, unsigned role,
		  uint64_t *id);

/*
 * The role (one ROLE_* bit) of user `id`, read within txn. OUT: *role.
 * Returns 0, STORE_ENOTFOUND or another STORE_* status.
 */
int auth_user_role(struct auth *a, MDB_txn *txn, uint64_t id, unsigned *role);

/* True when username has 3..32 characters of [a-z0-9._-] and starts with a letter or digit. */
bool auth_username_valid(const char *username);

#endif
