#include "auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "body.h"
#include "crypto.h"
#include "httpd.h"
#include "log.h"
#include "purge.h"
#include "ratelimit.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "store.h"
#include "workq.h"

#define AUTH_USER_VERSION 1
#define AUTH_TOKEN_VERSION 1
#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_TEXT_MAX 64       /* base64url of 32 bytes is 43 characters */
#define AUTH_RATELIMIT_SLOTS 65536

struct auth {
	struct store *store;
	struct workq *workq;
	struct auth_config cfg;
	MDB_dbi users, names, tokens;
	struct purge *purge;             /* of expired tokens, once started */
	struct ratelimit *limits;
	/* Verified against when the account does not exist, so timing does not tell. */
	char dummy_hash[CRYPTO_PASSWORD_HASH_MAX];
};

struct auth_user {
	uint64_t id;
	unsigned role;
	int64_t created_ms;
	char username[AUTH_USERNAME_MAX + 1];
	char password_hash[CRYPTO_PASSWORD_HASH_MAX];
};

/* One sign-in operation in flight: lives from the handler to the reply. */
struct auth_op {
	struct auth *a;
	struct httpd_req *req;
	struct auth_user user;
	bool user_found;
	char password[AUTH_PASSWORD_MAX + 1];
	int status;                   /* result of the work step */
	bool password_ok;
	uint8_t token_hash[CRYPTO_SHA256_LEN];
	char token[AUTH_TOKEN_TEXT_MAX];
	int64_t expires_ms;
	char peer_key[RATELIMIT_KEY_MAX + 1];
	char account_key[RATELIMIT_KEY_MAX + 1];
};

static int64_t auth_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool auth_username_valid(const char *username)
{
	size_t n = strnlen(username, AUTH_USERNAME_MAX + 1);
	if (n < AUTH_USERNAME_MIN || n > AUTH_USERNAME_MAX || !isalnum((unsigned char)username[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = username[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* RFC 3339 UTC with milliseconds, for JSON. */
static void auth_time_text(int64_t ms, char *out, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int auth_user_decode(const MDB_val *v, uint64_t id, struct auth_user *u)
{
	struct record_reader r;
	uint64_t role = 0;
	int rc = record_reader_open(&r, v->mv_data, v->mv_size, AUTH_USER_VERSION, 4);
	if (rc != RECORD_OK)
		return STORE_ECORRUPT;
	if (record_get_str(&r, u->username, sizeof(u->username), NULL) != RECORD_OK ||
	    record_get_u64(&r, &role) != RECORD_OK || role_name((unsigned)role) == NULL ||
	    record_get_str(&r, u->password_hash, sizeof(u->password_hash), NULL) != RECORD_OK ||
	    record_get_i64(&r, &u->created_ms) != RECORD_OK)
		rc = STORE_ECORRUPT;
	u->id = id;
	u->role = (unsigned)role;
	record_reader_free(&r);
	return rc;
}

/* Reads a user by id within txn. Returns 0, STORE_ENOTFOUND or another STORE_*. */
static int auth_user_get(struct auth *a, MDB_txn *txn, uint64_t id, struct auth_user *u)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	int rc;
	record_be64_put(key, id);
	rc = mdb_get(txn, a->users, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	return auth_user_decode(&v, id, u);
}

static int auth_user_by_name(struct auth *a, MDB_txn *txn, const char *username, struct auth_user *u)
{
	MDB_val k = { strlen(username), (void *)username }, v;
	int rc = mdb_get(txn, a->names, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (v.mv_size != 8)
		return STORE_ECORRUPT;
	return auth_user_get(a, txn, record_be64_get(v.mv_data), u);
}

/*
 * Store job: inserts op->user (id assigned after the highest existing one,
 * so keys arrive in order) unless the name is taken.
 */
static int auth_apply_user_insert(MDB_txn *txn, void *arg)
{
	struct auth_op *op = arg;
	struct auth *a = op->a;
	struct record_writer w;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t key[8];
	size_t len;
	int rc;

	k.mv_size = strlen(op->user.username);
	k.mv_data = op->user.username;
	rc = mdb_get(txn, a->names, &k, &v);
	if (rc == 0)
		return AUTH_EEXISTS;
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = mdb_cursor_open(txn, a->users, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == 0 && k.mv_size == 8)
		op->user.id = record_be64_get(k.mv_data) + 1;
	else if (rc == MDB_NOTFOUND)
		op->user.id = 1;
	else
		return rc == 0 ? STORE_ECORRUPT : rc;

	record_writer_init(&w, AUTH_USER_VERSION, 4);
	record_put_str(&w, op->user.username, strlen(op->user.username));
	record_put_u64(&w, op->user.role);
	record_put_str(&w, op->user.password_hash, strlen(op->user.password_hash));
	record_put_i64(&w, op->user.created_ms);
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	record_be64_put(key, op->user.id);
	k.mv_size = sizeof(key);
	k.mv_data = key;
	rc = v.mv_data ? mdb_put(txn, a->users, &k, &v, MDB_APPEND) : STORE_ENOMEM;
	record_writer_free(&w);
	if (rc != 0)
		return rc;
	k.mv_size = strlen(op->user.username);
	k.mv_data = op->user.username;
	v.mv_size = sizeof(key);
	v.mv_data = key;
	return mdb_put(txn, a->names, &k, &v, MDB_NOOVERWRITE);
}

static int auth_apply_token_put(MDB_txn *txn, void *arg)
{
	struct auth_op *op = arg;
	struct record_writer w;
	MDB_val k = { sizeof(op->token_hash), op->token_hash }, v;
	size_t len;
	int rc;
	record_writer_init(&w, AUTH_TOKEN_VERSION, 3);
	record_put_u64(&w, op->user.id);
	record_put_i64(&w, op->expires_ms);
	record_put_i64(&w, auth_now_ms());
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	rc = v.mv_data ? mdb_put(txn, op->a->tokens, &k, &v, 0) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

static int auth_apply_token_del(MDB_txn *txn, void *arg)
{
	struct auth_op *op = arg;
	MDB_val k = { sizeof(op->token_hash), op->token_hash };
	int rc = mdb_del(txn, op->a->tokens, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* A token record's user and expiry. Returns 0, or -1 when it does not read. */
static int auth_token_read(const MDB_val *v, uint64_t *user_id, int64_t *expires_ms)
{
	struct record_reader r;
	int rc;
	if (record_reader_open(&r, v->mv_data, v->mv_size, AUTH_TOKEN_VERSION, 3) != RECORD_OK)
		return -1;
	rc = record_get_u64(&r, user_id) == RECORD_OK && record_get_i64(&r, expires_ms) == RECORD_OK ? 0 : -1;
	record_reader_free(&r);
	return rc;
}

static bool auth_token_expired(const MDB_val *key, const MDB_val *val, int64_t now_ms, void *ctx)
{
	uint64_t user_id;
	int64_t expires_ms;
	(void)key;
	(void)ctx;
	/* A record that does not read is refused by auth_resolve; left for an operator to see. */
	return auth_token_read(val, &user_id, &expires_ms) == 0 && expires_ms <= now_ms;
}

static struct purge_config auth_purge_config(const struct auth *a)
{
	/* The wall clock, as auth_resolve's (not the tests' movable clock). */
	return (struct purge_config){ a->tokens, "expired login tokens", auth_token_expired, NULL, AUTH_PURGE_S,
				      auth_now_ms };
}

int auth_start(struct auth *a, struct event_base *base)
{
	struct purge_config cfg = auth_purge_config(a);
	return purge_start(a->store, base, &cfg, &a->purge);
}

int auth_purge(struct auth *a, uint64_t *dropped)
{
	struct purge_config cfg = auth_purge_config(a);
	return purge_pass(a->store, &cfg, dropped);
}

void auth_stop(struct auth *a)
{
	if (!a)
		return;
	purge_stop(a->purge);
	a->purge = NULL;
}

/* The token resolver for httpd: hash, look up the session, check expiry, load the user. */
static int auth_resolve(const char *token, size_t len, struct httpd_principal *out, void *ctx)
{
	struct auth *a = ctx;
	uint8_t hash[CRYPTO_SHA256_LEN];
	MDB_txn *txn;
	MDB_val k = { sizeof(hash), hash }, v;
	struct auth_user u;
	uint64_t user_id;
	int64_t expires_ms;
	int rc;

	if (len == 0 || len > AUTH_TOKEN_TEXT_MAX || crypto_sha256(token, len, hash) != CRYPTO_OK)
		return HTTPD_AUTH_INVALID;
	if (store_read_begin(a->store, &txn) != STORE_OK)
		return HTTPD_AUTH_UNAVAILABLE;
	rc = mdb_get(txn, a->tokens, &k, &v);
	if (rc != 0) {
		rc = rc == MDB_NOTFOUND ? HTTPD_AUTH_INVALID : HTTPD_AUTH_UNAVAILABLE;
		goto end_read;
	}
	rc = auth_token_read(&v, &user_id, &expires_ms) == 0 ? HTTPD_AUTH_OK : HTTPD_AUTH_INVALID;
	if (rc != HTTPD_AUTH_OK || expires_ms <= auth_now_ms()) {
		rc = HTTPD_AUTH_INVALID;
		goto end_read;
	}
	rc = auth_user_get(a, txn, user_id, &u) == STORE_OK ? HTTPD_AUTH_OK : HTTPD_AUTH_INVALID;
	if (rc == HTTPD_AUTH_OK) {
		out->user_id = u.id;
		out->role = u.role;
		snprintf(out->username, sizeof(out->username), "%s", u.username);
	}
	OPENSSL_cleanse(u.password_hash, sizeof(u.password_hash));
end_read:
	store_read_end(a->store, txn);
	return rc;
}

int auth_user_role(struct auth *a, MDB_txn *txn, uint64_t id, unsigned *role)
{
	struct auth_user u;
	int rc = auth_user_get(a, txn, id, &u);
	OPENSSL_cleanse(u.password_hash, sizeof(u.password_hash));
	if (rc == STORE_OK)
		*role = u.role;
	return rc;
}

static struct auth_op *auth_op_new(struct auth *a, struct httpd_req *req)
{
	struct auth_op *op = calloc(1, sizeof(*op));
	if (!op) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	op->a = a;
	op->req = req;
	return op;
}

static void auth_op_free(struct auth_op *op)
{
	OPENSSL_cleanse(op, sizeof(*op));
	free(op);
}

static json_t *auth_user_json(const struct auth_user *u)
{
	return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)u->id, "username", u->username, "role",
			 role_name(u->role));
}

/* --- register and admin user creation --- */

static void auth_insert_done(int status, void *arg)
{
	struct auth_op *op = arg;
	if (status == STORE_OK)
		httpd_reply_json(op->req, 201, auth_user_json(&op->user));
	else if (status == AUTH_EEXISTS)
		httpd_reply_error(op->req, 409, "username_taken", "that username is taken");
	else
		httpd_reply_store_error(op->req, status);
	auth_op_free(op);
}

static void auth_work_hash(void *arg)
{
	struct auth_op *op = arg;
	op->status = crypto_password_hash(op->password, strlen(op->password), op->a->cfg.password_cost,
					  op->user.password_hash, sizeof(op->user.password_hash));
}

static void auth_hash_done(void *arg)
{
	struct auth_op *op = arg;
	int rc;
	if (op->status != CRYPTO_OK) {
		httpd_reply_error(op->req, 500, "internal", "password hashing failed");
		auth_op_free(op);
		return;
	}
	rc = store_submit(op->a->store, auth_apply_user_insert, auth_insert_done, op);
	if (rc != STORE_OK) {
		httpd_reply_store_error(op->req, rc);
		auth_op_free(op);
	}
}

/* Validates {username, password, role} into op. Replies 400 and returns -1 on bad input. */
static int auth_read_credentials(struct auth_op *op, json_t *body, unsigned allowed_roles,
				 unsigned default_role)
{
	static const char *const keys[] = { "username", "password", "role", NULL };
	struct body_check c = { 0 };
	const char *username, *password, *role;
	body_only(&c, body, keys);
	username = body_str(&c, body, "username", true, AUTH_USERNAME_MIN, AUTH_USERNAME_MAX);
	password = body_str(&c, body, "password", true, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
	role = allowed_roles ? body_str(&c, body, "role", default_role == 0, 1, 16) : NULL;
	if (!c.failed && !auth_username_valid(username))
		body_fail(&c, "username", "must be 3 to 32 of a-z, 0-9, '.', '_', '-', starting with a letter or digit");
	op->user.role = role ? role_parse(role) : default_role;
	if (!c.failed && !(op->user.role & allowed_roles))
		body_fail(&c, "role", "is not a role that may be given here");
	if (c.failed) {
		httpd_reply_error(op->req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		return -1;
	}
	strcpy(op->user.username, username);
	strcpy(op->password, password);
	op->user.created_ms = auth_now_ms();
	return 0;
}

static void auth_start_insert(struct auth_op *op)
{
	int rc = workq_submit(op->a->workq, auth_work_hash, auth_hash_done, op);
	if (rc != WORKQ_OK) {
		httpd_reply_unavailable(op->req, "too many sign-ups at once");
		auth_op_free(op);
	}
}

static void auth_handle_register(struct httpd_req *req, void *ctx)
{
	struct auth_op *op;
	json_t *body;
	if (httpd_json_body(req, &body) != 0 || !(op = auth_op_new(ctx, req)))
		return;
	if (auth_read_credentials(op, body, ROLE_SHOPPER | ROLE_MERCHANT, ROLE_SHOPPER) != 0) {
		auth_op_free(op);
		return;
	}
	auth_start_insert(op);
}

static void auth_handle_user_create(struct httpd_req *req, void *ctx)
{
	struct auth_op *op;
	json_t *body;
	if (httpd_json_body(req, &body) != 0 || !(op = auth_op_new(ctx, req)))
		return;
	if (auth_read_credentials(op, body, ROLE_ANY, 0) != 0) {
		auth_op_free(op);
		return;
	}
	auth_start_insert(op);
}

/* --- login --- */

static void auth_token_done(int status, void *arg)
{
	struct auth_op *op = arg;
	char expires[64];
	json_t *user;
	if (status != STORE_OK) {
		httpd_reply_store_error(op->req, status);
		auth_op_free(op);
		return;
	}
	auth_time_text(op->expires_ms, expires, sizeof(expires));
	user = auth_user_json(&op->user);
	httpd_set_header(op->req, "Cache-Control", "no-store");
	httpd_reply_json(op->req, 200, json_pack("{s:s, s:s, s:s, s:o}", "token", op->token, "token_type",
						 "Bearer", "expires_at", expires, "user", user));
	auth_op_free(op);
}

static void auth_work_verify(void *arg)
{
	struct auth_op *op = arg;
	const char *hash = op->user_found ? op->user.password_hash : op->a->dummy_hash;
	op->status = crypto_password_verify(op->password, strlen(op->password), hash, &op->password_ok);
}

static void auth_verify_done(void *arg)
{
	struct auth_op *op = arg;
	struct auth *a = op->a;
	uint8_t raw[AUTH_TOKEN_BYTES];
	int rc;
	if (!op->user_found || op->status != CRYPTO_OK || !op->password_ok) {
		ratelimit_hit(a->limits, op->account_key, auth_now_ms());
		httpd_reply_error(op->req, 401, "invalid_credentials", "wrong username or password");
		auth_op_free(op);
		return;
	}
	ratelimit_clear(a->limits, op->account_key);
	if (crypto_random(raw, sizeof(raw)) != CRYPTO_OK ||
	    crypto_base64_encode(raw, sizeof(raw), true, op->token, sizeof(op->token)) != CRYPTO_OK ||
	    crypto_sha256(op->token, strlen(op->token), op->token_hash) != CRYPTO_OK) {
		httpd_reply_error(op->req, 500, "internal", "no token could be made");
		auth_op_free(op);
		return;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	op->expires_ms = auth_now_ms() + a->cfg.token_ttl_s * 1000;
	rc = store_submit(a->store, auth_apply_token_put, auth_token_done, op);
	if (rc != STORE_OK) {
		httpd_reply_store_error(op->req, rc);
		auth_op_free(op);
	}
}

/* 429 when the address or the account is over its limit; counts the address's attempt. */
static bool auth_login_limited(struct auth_op *op)
{
	struct auth *a = op->a;
	int64_t now = auth_now_ms();
	int64_t retry = 0;
	char retry_text[24];
	snprintf(op->peer_key, sizeof(op->peer_key), "addr:%.64s", httpd_peer(op->req));
	snprintf(op->account_key, sizeof(op->account_key), "user:%s", op->user.username);
	if (ratelimit_exceeded(a->limits, op->peer_key, a->cfg.login_max_address, now, &retry) ||
	    ratelimit_exceeded(a->limits, op->account_key, a->cfg.login_max_account, now, &retry)) {
		snprintf(retry_text, sizeof(retry_text), "%lld", (long long)retry);
		httpd_set_header(op->req, "Retry-After", retry_text);
		httpd_reply_error(op->req, 429, "too_many_attempts",
				  "too many sign-in attempts; try again in %lld seconds", (long long)retry);
		return true;
	}
	ratelimit_hit(a->limits, op->peer_key, now);
	return false;
}

static void auth_handle_login(struct httpd_req *req, void *ctx)
{
	static const char *const login_keys[] = { "username", "password", NULL };
	struct auth *a = ctx;
	struct body_check c = { 0 };
	struct auth_op *op;
	const char *username, *password;
	MDB_txn *txn;
	json_t *body;
	int rc;

	if (httpd_json_body(req, &body) != 0)
		return;
	body_only(&c, body, login_keys);
	username = body_str(&c, body, "username", true, 1, AUTH_USERNAME_MAX);
	password = body_str(&c, body, "password", true, 1, AUTH_PASSWORD_MAX);
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		return;
	}
	if (!(op = auth_op_new(a, req)))
		return;
	for (size_t i = 0; username[i]; i++)
		op->user.username[i] = (char)tolower((unsigned char)username[i]);
	strcpy(op->password, password);
	if (auth_login_limited(op)) {
		auth_op_free(op);
		return;
	}
	rc = store_read_begin(a->store, &txn);
	if (rc == STORE_OK) {
		rc = auth_user_by_name(a, txn, op->user.username, &op->user);
		store_read_end(a->store, txn);
	}
	if (rc != STORE_OK && rc != STORE_ENOTFOUND) {
		httpd_reply_store_error(req, rc);
		auth_op_free(op);
		return;
	}
	op->user_found = rc == STORE_OK;
	if (workq_submit(a->workq, auth_work_verify, auth_verify_done, op) != WORKQ_OK) {
		httpd_reply_unavailable(req, "too many sign-ins at once");
		auth_op_free(op);
	}
}

/* --- logout and me --- */

static void auth_logout_done(int status, void *arg)
{
	struct auth_op *op = arg;
	if (status == STORE_OK)
		httpd_reply_json(op->req, 204, NULL);
	else
		httpd_reply_store_error(op->req, status);
	auth_op_free(op);
}

static void auth_handle_logout(struct httpd_req *req, void *ctx)
{
	const char *header = httpd_header(req, "Authorization");
	struct auth_op *op = auth_op_new(ctx, req);
	int rc;
	if (!op)
		return;
	/* The router let the request in, so the header holds a valid bearer token. */
	header += 7;
	while (*header == ' ')
		header++;
	if (crypto_sha256(header, strlen(header), op->token_hash) != CRYPTO_OK) {
		httpd_reply_error(req, 500, "internal", "hashing failed");
		auth_op_free(op);
		return;
	}
	rc = store_submit(op->a->store, auth_apply_token_del, auth_logout_done, op);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		auth_op_free(op);
	}
}

static void auth_handle_me(struct httpd_req *req, void *ctx)
{
	const struct httpd_principal *p = httpd_principal(req);
	(void)ctx;
	httpd_reply_json(req, 200, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)p->user_id, "username",
					     p->username, "role", role_name(p->role)));
}

/* --- set-up --- */

int auth_open(struct store *store, const struct auth_config *cfg, struct auth **out)
{
	struct auth *a = calloc(1, sizeof(*a));
	uint8_t junk[16];
	char junk_text[40];
	int rc = AUTH_ENOMEM;
	if (!a)
		return AUTH_ENOMEM;
	a->store = store;
	a->cfg = *cfg;
	if (ratelimit_new(AUTH_RATELIMIT_SLOTS, cfg->login_window_s * 1000, &a->limits) != 0)
		goto free_a;
	if ((rc = store_dbi_open(store, "auth_users", 0, &a->users)) != STORE_OK ||
	    (rc = store_dbi_open(store, "auth_names", 0, &a->names)) != STORE_OK ||
	    (rc = store_dbi_open(store, "auth_tokens", 0, &a->tokens)) != STORE_OK)
		goto free_limits;
	if (crypto_random(junk, sizeof(junk)) != CRYPTO_OK ||
	    crypto_hex_encode(junk, sizeof(junk), junk_text, sizeof(junk_text)) != CRYPTO_OK ||
	    crypto_password_hash(junk_text, strlen(junk_text), cfg->password_cost, a->dummy_hash,
				 sizeof(a->dummy_hash)) != CRYPTO_OK) {
		rc = AUTH_ENOMEM;
		goto free_limits;
	}
	*out = a;
	return AUTH_OK;
free_limits:
	ratelimit_free(a->limits);
free_a:
	free(a);
	return rc;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	ratelimit_free(a->limits);
	free(a);
}

int auth_attach(struct auth *a, struct httpd *h, struct workq *w)
{
	a->workq = w;
	httpd_set_auth(h, auth_resolve, a);
	if (httpd_route(h, ROUTER_POST, "/api/v1/auth/register", ROLE_PUBLIC, auth_handle_register, a) ||
	    httpd_route(h, ROUTER_POST, "/api/v1/auth/login", ROLE_PUBLIC, auth_handle_login, a) ||
	    httpd_route(h, ROUTER_POST, "/api/v1/auth/logout", ROLE_ANY, auth_handle_logout, a) ||
	    httpd_route(h, ROUTER_GET, "/api/v1/me", ROLE_ANY, auth_handle_me, a) ||
	    httpd_route(h, ROUTER_POST, "/api/v1/users", ROLE_ADMIN, auth_handle_user_create, a))
		return AUTH_EINVAL;
	return AUTH_OK;
}

int auth_user_add(struct auth *a, const char *username, const char *password, unsigned role,
		  uint64_t *id)
{
	struct auth_op *op;
	size_t plen = strlen(password);
	int rc;
	if (!auth_username_valid(username) || plen < AUTH_PASSWORD_MIN || plen > AUTH_PASSWORD_MAX ||
	    !role_name(role))
		return AUTH_EINVAL;
	op = calloc(1, sizeof(*op));
	if (!op)
		return AUTH_ENOMEM;
	op->a = a;
	strcpy(op->user.username, username);
	strcpy(op->password, password);
	op->user.role = role;
	op->user.created_ms = auth_now_ms();
	auth_work_hash(op);
	rc = op->status == CRYPTO_OK ? store_run(a->store, auth_apply_user_insert, op) : AUTH_ENOMEM;
	if (rc == STORE_OK)
		*id = op->user.id;
	auth_op_free(op);
	return rc;
}
