/* Couriers' profiles: who delivers (name, phone, plate) and where their payouts go. */
#include "profiles.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "body.h"
#include "clock.h"
#include "httpd.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define PROFILE_VERSION 1
#define PROFILE_FIELDS 8

struct profiles {
	struct store *store;
	MDB_dbi dbi;
};

/* --- fields --- */

/* What a field's bytes may be. */
enum profile_check {
	PROFILE_TEXT,       /* free text: no control characters (UTF-8 welcome) */
	PROFILE_ASCII,      /* printable ASCII without '|', as a store's bank code */
	PROFILE_DIGITS,
	PROFILE_PHONE,      /* digits, optionally after a leading + */
	PROFILE_PLATE,      /* capital letters, digits, spaces: "BA 1234 XY" */
};

/* Every field a courier may send, with its bounds (min 0: may be cleared with ""). */
static const struct profile_field {
	const char *key;
	size_t offset, min, max;
	enum profile_check check;
} profile_fields[] = {
	{ "name", offsetof(struct courier_profile, name), 1, PROFILES_NAME_MAX, PROFILE_TEXT },
	{ "phone", offsetof(struct courier_profile, phone), 0, PROFILES_PHONE_MAX, PROFILE_PHONE },
	{ "plate", offsetof(struct courier_profile, plate), 0, PROFILES_PLATE_MAX, PROFILE_PLATE },
	{ "bank_code", offsetof(struct courier_profile, bank_code), 0, PROFILES_BANK_CODE_MAX, PROFILE_ASCII },
	{ "bank_account", offsetof(struct courier_profile, bank_account), 0, PROFILES_BANK_ACCOUNT_MAX, PROFILE_DIGITS },
	{ "bank_name", offsetof(struct courier_profile, bank_name), 0, PROFILES_BANK_NAME_MAX, PROFILE_TEXT },
};
#define PROFILE_NFIELDS (sizeof(profile_fields) / sizeof(profile_fields[0]))

/* Whether byte c may stand at position i of a field checked as `check`. */
static bool profile_byte_ok(enum profile_check check, unsigned char c, size_t i)
{
	bool digit = c >= '0' && c <= '9';
	switch (check) {
	case PROFILE_TEXT: return c >= 0x20 && c != 0x7f;
	case PROFILE_ASCII: return c >= 0x20 && c < 0x7f && c != '|';
	case PROFILE_DIGITS: return digit;
	case PROFILE_PHONE: return digit || (c == '+' && i == 0);
	case PROFILE_PLATE: return digit || (c >= 'A' && c <= 'Z') || c == ' ';
	}
	return false;
}

/* Why a value fails its check, or NULL when it passes. */
static const char *profile_check_text(enum profile_check check, const char *v)
{
	static const char *const why[] = {
		[PROFILE_TEXT] = "must not hold control characters",
		[PROFILE_ASCII] = "must be printable ASCII without '|'",
		[PROFILE_DIGITS] = "must be digits",
		[PROFILE_PHONE] = "must be digits, optionally after a leading +",
		[PROFILE_PLATE] = "must be capital letters, digits and spaces",
	};
	for (size_t i = 0; v[i]; i++)
		if (!profile_byte_ok(check, (unsigned char)v[i], i))
			return why[check];
	return check == PROFILE_PHONE && strcmp(v, "+") == 0 ? why[check] : NULL;
}

/* --- records --- */

int profiles_get(struct profiles *p, MDB_txn *txn, uint64_t user_id, struct courier_profile *out)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	struct record_reader r;
	int rc;
	record_be64_put(key, user_id);
	if ((rc = mdb_get(txn, p->dbi, &k, &v)) != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, PROFILE_VERSION, PROFILE_FIELDS) != RECORD_OK)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->user_id = user_id;
	rc = 0;
	for (size_t i = 0; rc == 0 && i < PROFILE_NFIELDS; i++)
		rc = record_get_str(&r, (char *)out + profile_fields[i].offset, profile_fields[i].max + 1, NULL);
	if (rc != 0 || record_get_i64(&r, &out->created_ms) || record_get_i64(&r, &out->updated_ms))
		rc = STORE_ECORRUPT;
	record_reader_free(&r);
	return rc;
}

static int profile_put(struct profiles *p, MDB_txn *txn, const struct courier_profile *pr)
{
	struct record_writer w;
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	size_t len;
	int rc;
	record_writer_init(&w, PROFILE_VERSION, PROFILE_FIELDS);
	for (size_t i = 0; i < PROFILE_NFIELDS; i++) {
		const char *s = (const char *)pr + profile_fields[i].offset;
		record_put_str(&w, s, strlen(s));
	}
	record_put_i64(&w, pr->created_ms);
	record_put_i64(&w, pr->updated_ms);
	record_be64_put(key, pr->user_id);
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	rc = v.mv_data ? mdb_put(txn, p->dbi, &k, &v, 0) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

static json_t *profile_json(const struct courier_profile *pr)
{
	json_t *j = json_pack("{s:I}", "user_id", (json_int_t)pr->user_id);
	time_t secs = (time_t)(pr->updated_ms / 1000);
	struct tm tm;
	char at[32];
	for (size_t i = 0; j && i < PROFILE_NFIELDS; i++)
		json_object_set_new(j, profile_fields[i].key, json_string((const char *)pr + profile_fields[i].offset));
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&secs, &tm));
	if (j)
		json_object_set_new(j, "updated_at", json_string(at));
	return j;
}

/* --- endpoints --- */

static void profile_handle_get(struct httpd_req *req, void *ctx)
{
	struct profiles *p = ctx;
	struct courier_profile pr;
	MDB_txn *txn;
	int rc = store_read_begin(p->store, &txn);
	if (rc == STORE_OK) {
		rc = profiles_get(p, txn, httpd_principal(req)->user_id, &pr);
		store_read_end(p->store, txn);
	}
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no profile yet: PUT one");
	else if (rc != STORE_OK)
		httpd_reply_store_error(req, rc);
	else
		httpd_reply_json(req, 200, profile_json(&pr));
}

/* A PUT: the fields given, applied in one store job over the profile as it is then. */
struct profile_op {
	struct profiles *p;
	struct httpd_req *req;
	struct courier_profile given;          /* the values of the fields given */
	bool has[PROFILE_NFIELDS];             /* which were given */
	char username[HTTPD_USERNAME_MAX + 1]; /* a new profile's name until one is given */
	bool created;
	struct courier_profile out;            /* the profile after the job */
};

static int profile_apply_put(MDB_txn *txn, void *arg)
{
	struct profile_op *op = arg;
	struct courier_profile *pr = &op->out;
	int rc = profiles_get(op->p, txn, op->given.user_id, pr);
	op->created = rc == STORE_ENOTFOUND;
	if (op->created) {
		memset(pr, 0, sizeof(*pr));
		pr->user_id = op->given.user_id;
		pr->created_ms = clock_now_ms();
		snprintf(pr->name, sizeof(pr->name), "%s", op->username);
	} else if (rc != 0) {
		return rc;
	}
	for (size_t i = 0; i < PROFILE_NFIELDS; i++)
		if (op->has[i])
			memcpy((char *)pr + profile_fields[i].offset, (const char *)&op->given + profile_fields[i].offset,
			       profile_fields[i].max + 1);
	pr->updated_ms = clock_now_ms();
	return profile_put(op->p, txn, pr);
}

static void profile_put_done(int status, void *arg)
{
	struct profile_op *op = arg;
	if (status != 0)
		httpd_reply_store_error(op->req, status);
	else
		httpd_reply_json(op->req, op->created ? 201 : 200, profile_json(&op->out));
	free(op);
}

static void profile_handle_put(struct httpd_req *req, void *ctx)
{
	const char *keys[PROFILE_NFIELDS + 1] = { NULL };
	const struct httpd_principal *who = httpd_principal(req);
	struct body_check c = { 0 };
	struct profile_op *op;
	json_t *body;                              /* owned by the request */
	int rc;
	if (httpd_json_body(req, &body) != 0)
		return;
	if (!(op = calloc(1, sizeof(*op)))) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	for (size_t i = 0; i < PROFILE_NFIELDS; i++)
		keys[i] = profile_fields[i].key;
	body_only(&c, body, keys);
	for (size_t i = 0; !c.failed && i < PROFILE_NFIELDS; i++) {
		const struct profile_field *f = &profile_fields[i];
		const char *v = body_str(&c, body, f->key, false, f->min, f->max), *why;
		if (!v || c.failed)
			continue;
		if ((why = profile_check_text(f->check, v)) != NULL) {
			body_fail(&c, f->key, why);
			continue;
		}
		snprintf((char *)&op->given + f->offset, f->max + 1, "%s", v);
		op->has[i] = true;
	}
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		free(op);
		return;
	}
	op->p = ctx;
	op->req = req;
	op->given.user_id = who->user_id;
	snprintf(op->username, sizeof(op->username), "%s", who->username);
	rc = store_submit(op->p->store, profile_apply_put, profile_put_done, op);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		free(op);
	}
}

/* --- set-up --- */

int profiles_open(struct store *store, struct profiles **out)
{
	struct profiles *p = calloc(1, sizeof(*p));
	int rc;
	if (!p)
		return STORE_ENOMEM;
	p->store = store;
	if ((rc = store_dbi_open(store, "courier_profiles", 0, &p->dbi)) != 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void profiles_free(struct profiles *p)
{
	free(p);
}

int profiles_attach(struct profiles *p, struct httpd *h)
{
	int rc;
	if ((rc = httpd_route(h, ROUTER_GET, "/api/v1/courier/profile", ROLE_COURIER, profile_handle_get, p)) ||
	    (rc = httpd_route(h, ROUTER_PUT, "/api/v1/courier/profile", ROLE_COURIER, profile_handle_put, p)))
		return rc;
	return 0;
}
