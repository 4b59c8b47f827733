#include "idem.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "httpd.h"
#include "purge.h"
#include "record.h"
#include "store.h"

#define IDEM_VERSION 1
#define IDEM_FIELDS 4
#define IDEM_SCOPE_MAX 64

struct idem {
	struct store *store;
	MDB_dbi dbi;
	struct purge *purge;
};

int idem_open(struct store *store, struct idem **out)
{
	struct idem *idem = calloc(1, sizeof(*idem));
	int rc;
	if (!idem)
		return STORE_ENOMEM;
	idem->store = store;
	rc = store_dbi_open(store, "idempotency", 0, &idem->dbi);
	if (rc != STORE_OK) {
		free(idem);
		return rc;
	}
	*out = idem;
	return 0;
}

void idem_free(struct idem *idem)
{
	free(idem);
}

/* A stored key's record. OUT: hash (the request's), *out. Returns 0 or STORE_ECORRUPT. */
static int idem_decode(const MDB_val *v, uint8_t hash[32], struct idem_entry *out)
{
	struct record_reader rd;
	int64_t status = 0;
	size_t ref_len = 0;
	int rc = 0;
	if (record_reader_open(&rd, v->mv_data, v->mv_size, IDEM_VERSION, IDEM_FIELDS) != RECORD_OK)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	if (record_get_bin_exact(&rd, hash, 32) || record_get_i64(&rd, &status) ||
	    record_get_i64(&rd, &out->created_ms) || record_get_bin(&rd, out->ref, sizeof(out->ref), &ref_len))
		rc = STORE_ECORRUPT;
	record_reader_free(&rd);
	out->status = (int)status;
	out->ref_len = ref_len;
	return rc;
}

/* A key past its keeping time is free again: the next save overwrites it, or the purge drops it. */
static bool idem_past_keeping(const struct idem_entry *e, int64_t now_ms)
{
	return now_ms - e->created_ms > (int64_t)IDEM_KEEP_S * 1000;
}

static bool idem_expired(const MDB_val *key, const MDB_val *val, int64_t now_ms, void *ctx)
{
	struct idem_entry e;
	uint8_t hash[32];
	(void)key;
	(void)ctx;
	/* A record that does not read is left alone: not ours to judge here. */
	return idem_decode(val, hash, &e) == 0 && idem_past_keeping(&e, now_ms);
}

static struct purge_config idem_purge_config(const struct idem *idem)
{
	return (struct purge_config){ idem->dbi, "idempotency keys", idem_expired, NULL, IDEM_PURGE_S, NULL };
}

int idem_start(struct idem *idem, struct event_base *base)
{
	struct purge_config cfg = idem_purge_config(idem);
	return purge_start(idem->store, base, &cfg, &idem->purge);
}

int idem_purge(struct idem *idem, uint64_t *dropped)
{
	struct purge_config cfg = idem_purge_config(idem);
	return purge_pass(idem->store, &cfg, dropped);
}

void idem_stop(struct idem *idem)
{
	if (!idem)
		return;
	purge_stop(idem->purge);
	idem->purge = NULL;
}

/* Printable ASCII, as keys are echoed in logs and errors. */
static bool idem_key_ok(const char *key)
{
	size_t n = strlen(key);
	if (n < 1 || n > IDEM_KEY_MAX)
		return false;
	for (; *key; key++)
		if (*key < 0x21 || *key > 0x7e)
			return false;
	return true;
}

/* sha256 over length-prefixed parts, so no two different part lists hash alike. */
static int idem_hash_parts(const void *const *parts, const size_t *lens, size_t n, uint8_t out[32])
{
	size_t total = 0, off = 0;
	uint8_t *buf;
	int rc;
	for (size_t i = 0; i < n; i++)
		total += 8 + lens[i];
	buf = malloc(total ? total : 1);
	if (!buf)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint64_t len = lens[i];
		for (int b = 7; b >= 0; b--, len >>= 8)
			buf[off + (size_t)b] = (uint8_t)len;
		memcpy(buf + off + 8, parts[i], lens[i]);
		off += 8 + lens[i];
	}
	rc = crypto_sha256(buf, total, out);
	free(buf);
	return rc;
}

int idem_begin(struct httpd_req *req, const char *scope, struct idem_req *out)
{
	const struct httpd_principal *who = httpd_principal(req);
	const char *key = httpd_header(req, "Idempotency-Key");
	const char *method = httpd_method(req), *path = httpd_path(req), *caller;
	const void *body, *parts[3];
	size_t len, lens[3];
	uint64_t user;
	memset(out, 0, sizeof(*out));
	if (!key)
		return 0;
	if (!idem_key_ok(key) || strlen(scope) > IDEM_SCOPE_MAX) {
		httpd_reply_error(req, 400, "invalid_idempotency_key",
				  "Idempotency-Key must be 1 to %d printable characters without spaces", IDEM_KEY_MAX);
		return -1;
	}
	/* Anonymous callers share user 0; their keys are kept apart by address. */
	user = who ? who->user_id : 0;
	caller = who ? "" : httpd_peer(req);
	for (int b = 7; b >= 0; b--, user >>= 8)
		out->key[b] = (uint8_t)user;
	parts[0] = scope, lens[0] = strlen(scope);
	parts[1] = key, lens[1] = strlen(key);
	parts[2] = caller, lens[2] = strlen(caller);
	if (idem_hash_parts(parts, lens, 3, out->key + 8) != 0)
		goto fail;
	body = httpd_body(req, &len);
	parts[0] = method, lens[0] = strlen(method);
	parts[1] = path, lens[1] = strlen(path);
	parts[2] = body, lens[2] = len;
	if (idem_hash_parts(parts, lens, 3, out->request_hash) != 0)
		goto fail;
	out->present = true;
	return 0;
fail:
	httpd_reply_error(req, 500, "internal", "out of memory");
	return -1;
}

int idem_lookup(struct idem *idem, MDB_txn *txn, const struct idem_req *r, struct idem_entry *out)
{
	MDB_val k = { sizeof(r->key), (void *)r->key }, v;
	uint8_t hash[32];
	int rc;
	if (!r->present)
		return IDEM_NEW;
	rc = mdb_get(txn, idem->dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return IDEM_NEW;
	if (rc != 0)
		return store_status_from_mdb(rc);
	if ((rc = idem_decode(&v, hash, out)) != 0)
		return rc;
	if (idem_past_keeping(out, clock_now_ms()))
		return IDEM_NEW;
	return crypto_equal(hash, r->request_hash, sizeof(hash)) ? IDEM_REPLAY : IDEM_CONFLICT;
}

int idem_save(struct idem *idem, MDB_txn *txn, const struct idem_req *r, int status, const void *ref,
	      size_t ref_len, int64_t now_ms)
{
	MDB_val k = { sizeof(r->key), (void *)r->key }, v;
	struct record_writer w;
	size_t len;
	int rc;
	if (!r->present)
		return 0;
	if (ref_len > IDEM_REF_MAX)
		return STORE_EINVAL;
	record_writer_init(&w, IDEM_VERSION, IDEM_FIELDS);
	record_put_bin(&w, r->request_hash, sizeof(r->request_hash));
	record_put_i64(&w, status);
	record_put_i64(&w, now_ms);
	record_put_bin(&w, ref, ref_len);
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	rc = v.mv_data ? mdb_put(txn, idem->dbi, &k, &v, 0) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

void idem_reply_conflict(struct httpd_req *req)
{
	httpd_reply_error(req, 409, "idempotency_key_reused",
			  "this Idempotency-Key was used with a different request");
}
