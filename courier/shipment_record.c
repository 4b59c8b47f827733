/* The shipments' records and their JSON. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"
#include "shipment_internal.h"
#include "store.h"

/*
 * 2 added, after version 1's numbers and strings, the state a held shipment
 * was held from and the PIN hash's scheme (numbers) and the courier's
 * tracking id (a string). Version 1 records are read: held from the newest
 * event before the hold, a plain SHA-256 PIN hash, no tracking id.
 */
#define SHIPMENT_VERSION 2
#define SHIPMENT_EVENT_FIELDS 5

/* Strings of the record in their stored order, after the numbers: one table for reading and writing. */
#define SH_STR(field) { offsetof(struct shipment, field), sizeof(((struct shipment *)0)->field) }
static const struct {
	size_t offset, size;
} shipment_strs[] = {
	SH_STR(choice.module),        SH_STR(choice.courier_code), SH_STR(choice.service_code),
	SH_STR(choice.courier_name),  SH_STR(choice.service_name), SH_STR(provider_id),
	SH_STR(waybill),              SH_STR(link),                SH_STR(driver_name),
	SH_STR(driver_phone),         SH_STR(plate),               SH_STR(origin.name),
	SH_STR(origin.phone),         SH_STR(origin.address),      SH_STR(origin.postal_code),
	SH_STR(destination.name),     SH_STR(destination.phone),   SH_STR(destination.address),
	SH_STR(destination.postal_code),
	SH_STR(tracking_id),
};
#define SHIPMENT_NSTRS (sizeof(shipment_strs) / sizeof(shipment_strs[0]))
#define SHIPMENT_NSTRS_V1 (SHIPMENT_NSTRS - 1)

/* Whole numbers of the record in their stored order (each stored as an i64). */
enum sh_num_kind { NUM_U8, NUM_U32, NUM_I32, NUM_U64, NUM_I64, NUM_BOOL };
#define SH_NUM(field, kind) { offsetof(struct shipment, field), kind }
static const struct {
	size_t offset;
	enum sh_num_kind kind;
} shipment_nums[] = {
	SH_NUM(order_id, NUM_U64),          SH_NUM(merchant_id, NUM_U64),       SH_NUM(buyer_id, NUM_U64),
	SH_NUM(courier_user_id, NUM_U64),   SH_NUM(choice.price, NUM_I64),      SH_NUM(state, NUM_U8),
	SH_NUM(progress, NUM_U8),           SH_NUM(pin_tries, NUM_U8),          SH_NUM(attempts, NUM_U32),
	SH_NUM(origin.has_coords, NUM_BOOL), SH_NUM(origin.lat_e6, NUM_I32),    SH_NUM(origin.lng_e6, NUM_I32),
	SH_NUM(destination.has_coords, NUM_BOOL), SH_NUM(destination.lat_e6, NUM_I32),
	SH_NUM(destination.lng_e6, NUM_I32), SH_NUM(weight_g, NUM_I64),         SH_NUM(value, NUM_I64),
	SH_NUM(created_ms, NUM_I64),        SH_NUM(updated_ms, NUM_I64),        SH_NUM(nevents, NUM_U64),
	SH_NUM(ntimeline, NUM_U8),          SH_NUM(cancel_due, NUM_BOOL),
	SH_NUM(held_from, NUM_U8),          SH_NUM(pin_scheme, NUM_U8),
};
#define SHIPMENT_NNUMS (sizeof(shipment_nums) / sizeof(shipment_nums[0]))
#define SHIPMENT_NNUMS_V1 (SHIPMENT_NNUMS - 2)
/* Fields before the timeline: the numbers, the strings and the PIN's hash. */
#define SHIPMENT_FIELDS (SHIPMENT_NNUMS + SHIPMENT_NSTRS + 1)
#define SHIPMENT_FIELDS_V1 (SHIPMENT_NNUMS_V1 + SHIPMENT_NSTRS_V1 + 1)

static int64_t shipment_num_get(const struct shipment *sh, size_t i)
{
	const char *p = (const char *)sh + shipment_nums[i].offset;
	switch (shipment_nums[i].kind) {
	case NUM_U8: return *(const uint8_t *)p;
	case NUM_U32: return *(const uint32_t *)p;
	case NUM_I32: return *(const int32_t *)p;
	case NUM_U64: return (int64_t)*(const uint64_t *)p;
	case NUM_I64: return *(const int64_t *)p;
	case NUM_BOOL: return *(const bool *)p;
	}
	return 0;
}

/* Sets a number; false when it does not fit its field. */
static bool shipment_num_set(struct shipment *sh, size_t i, int64_t v)
{
	char *p = (char *)sh + shipment_nums[i].offset;
	switch (shipment_nums[i].kind) {
	case NUM_U8:
		if (v < 0 || v > UINT8_MAX)
			return false;
		*(uint8_t *)p = (uint8_t)v;
		return true;
	case NUM_U32:
		if (v < 0 || v > UINT32_MAX)
			return false;
		*(uint32_t *)p = (uint32_t)v;
		return true;
	case NUM_I32:
		if (v < INT32_MIN || v > INT32_MAX)
			return false;
		*(int32_t *)p = (int32_t)v;
		return true;
	case NUM_U64: *(uint64_t *)p = (uint64_t)v; return true;
	case NUM_I64: *(int64_t *)p = v; return true;
	case NUM_BOOL:
		if (v != 0 && v != 1)
			return false;
		*(bool *)p = v == 1;
		return true;
	}
	return false;
}

/* A version 1 record on hold was held from the newest state of its timeline before the hold (0: not kept). */
static uint8_t shipment_held_from_timeline(const struct shipment *sh)
{
	for (uint8_t i = sh->ntimeline; i-- > 0;)
		if (sh->timeline[i].state != SHIP_ON_HOLD)
			return sh->timeline[i].state;
	return 0;
}

int shipment_load(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, struct shipment *out)
{
	MDB_val k = { 16, (void *)id->b }, v;
	struct record_reader r;
	size_t nnums = SHIPMENT_NNUMS, nstrs = SHIPMENT_NSTRS, fields = SHIPMENT_FIELDS;
	int rc;
	rc = mdb_get(txn, s->shipments, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, SHIPMENT_VERSION, SHIPMENT_FIELDS_V1) != RECORD_OK)
		return STORE_ECORRUPT;
	if (r.version == 1) {
		nnums = SHIPMENT_NNUMS_V1;
		nstrs = SHIPMENT_NSTRS_V1;
		fields = SHIPMENT_FIELDS_V1;
	}
	memset(out, 0, sizeof(*out));
	out->id = *id;
	rc = r.count < fields ? STORE_ECORRUPT : 0;
	for (size_t i = 0; rc == 0 && i < nnums; i++) {
		int64_t n;
		rc = record_get_i64(&r, &n);
		if (rc == 0 && !shipment_num_set(out, i, n))
			rc = STORE_ECORRUPT;
	}
	for (size_t i = 0; rc == 0 && i < nstrs; i++)
		rc = record_get_str(&r, (char *)out + shipment_strs[i].offset, shipment_strs[i].size, NULL);
	if (rc == 0)
		rc = record_get_bin_exact(&r, out->pin_hash, sizeof(out->pin_hash));
	if (rc == 0 && (out->ntimeline > SHIPMENT_TIMELINE_MAX ||
			r.count != fields + out->ntimeline * SHIPMENT_EVENT_FIELDS))
		rc = STORE_ECORRUPT;
	for (uint8_t i = 0; rc == 0 && i < out->ntimeline; i++) {
		struct shipment_event *e = &out->timeline[i];
		uint64_t st;
		rc = record_get_i64(&r, &e->at_ms);
		rc = rc ? rc : record_get_u64(&r, &st);
		rc = rc ? rc : record_get_str(&r, e->source, sizeof(e->source), NULL);
		rc = rc ? rc : record_get_str(&r, e->event_id, sizeof(e->event_id), NULL);
		rc = rc ? rc : record_get_str(&r, e->note, sizeof(e->note), NULL);
		e->state = (uint8_t)st;
	}
	if (rc == 0 && r.version == 1) {
		out->pin_scheme = SHIPMENT_PIN_SHA256;
		out->held_from = out->state == SHIP_ON_HOLD ? shipment_held_from_timeline(out) : 0;
	}
	record_reader_free(&r);
	return rc ? STORE_ECORRUPT : 0;
}

int shipment_store(struct shipments *s, MDB_txn *txn, const struct shipment *sh)
{
	struct record_writer w;
	MDB_val k = { 16, (void *)sh->id.b }, v;
	size_t len;
	int rc;
	record_writer_init(&w, SHIPMENT_VERSION,
			   (uint32_t)(SHIPMENT_FIELDS + sh->ntimeline * SHIPMENT_EVENT_FIELDS));
	for (size_t i = 0; i < SHIPMENT_NNUMS; i++)
		record_put_i64(&w, shipment_num_get(sh, i));
	for (size_t i = 0; i < SHIPMENT_NSTRS; i++) {
		const char *str = (const char *)sh + shipment_strs[i].offset;
		record_put_str(&w, str, strlen(str));
	}
	record_put_bin(&w, sh->pin_hash, sizeof(sh->pin_hash));
	for (uint8_t i = 0; i < sh->ntimeline; i++) {
		const struct shipment_event *e = &sh->timeline[i];
		record_put_i64(&w, e->at_ms);
		record_put_u64(&w, e->state);
		record_put_str(&w, e->source, strlen(e->source));
		record_put_str(&w, e->event_id, strlen(e->event_id));
		record_put_str(&w, e->note, strlen(e->note));
	}
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	rc = v.mv_data ? mdb_put(txn, s->shipments, &k, &v, 0) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc ? rc : shipment_index(s, txn, sh);
}

int shipment_index(struct shipments *s, MDB_txn *txn, const struct shipment *sh)
{
	uint8_t key[SHIPMENT_COURIER_KEY];
	MDB_val k = { sizeof(key), key }, v = { 0, NULL };
	int rc;
	if (!sh->courier_user_id)
		return 0;
	record_be64_put(key, sh->courier_user_id);
	memcpy(key + 9, sh->id.b, 16);
	key[8] = SHIPMENT_LIST_ALL;
	if ((rc = mdb_put(txn, s->by_courier, &k, &v, 0)) != 0)
		return rc;
	key[8] = SHIPMENT_LIST_ACTIVE;
	if (!shipment_terminal(sh->state))
		return mdb_put(txn, s->by_courier, &k, &v, 0);
	rc = mdb_del(txn, s->by_courier, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

void shipment_event_add(struct shipment *sh, uint8_t state, const char *source, const char *event_id,
			const char *note, int64_t at_ms)
{
	struct shipment_event *e;
	if (sh->ntimeline == SHIPMENT_TIMELINE_MAX) {
		memmove(&sh->timeline[0], &sh->timeline[1], sizeof(sh->timeline[0]) * (SHIPMENT_TIMELINE_MAX - 1));
		sh->ntimeline--;
	}
	e = &sh->timeline[sh->ntimeline++];
	e->at_ms = at_ms;
	e->state = state;
	snprintf(e->source, sizeof(e->source), "%s", source);
	snprintf(e->event_id, sizeof(e->event_id), "%s", event_id);
	snprintf(e->note, sizeof(e->note), "%.*s", SHIPMENT_NOTE_MAX, note);
	sh->nevents++;
	sh->updated_ms = at_ms;
}

bool shipment_seen(const struct shipment *sh, const char *event_id)
{
	for (uint8_t i = 0; event_id[0] && i < sh->ntimeline; i++)
		if (strcmp(sh->timeline[i].event_id, event_id) == 0)
			return true;
	return false;
}

static void shipment_time_text(int64_t ms, char *out, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* A place as JSON: name, address, postal code, and the phone when asked. */
static json_t *shipment_place_json(const struct shipment_place *p, bool with_phone)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "name", p->name, "address", p->address, "postal_code", p->postal_code);
	if (j && with_phone)
		json_object_set_new(j, "phone", json_string(p->phone));
	return j;
}

json_t *shipment_json(const struct shipment *sh, bool with_phones)
{
	char id[33], at[64];
	json_t *timeline = json_array(), *j;
	for (uint8_t i = 0; i < sh->ntimeline; i++) {
		const struct shipment_event *e = &sh->timeline[i];
		shipment_time_text(e->at_ms, at, sizeof(at));
		json_array_append_new(timeline, json_pack("{s:s, s:s, s:s, s:s}", "at", at, "state",
							  ship_state_name((enum ship_state)e->state), "source", e->source,
							  "note", e->note));
	}
	ledger_id_hex(&sh->id, id, sizeof(id));
	j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id,
		      "order_id", (json_int_t)sh->order_id, "merchant_id", (json_int_t)sh->merchant_id, "state",
		      ship_state_name((enum ship_state)sh->state), "module", sh->choice.module, "courier_code",
		      sh->choice.courier_code, "service_code", sh->choice.service_code, "courier_name",
		      sh->choice.courier_name, "fee", (json_int_t)sh->choice.price, "waybill", sh->waybill, "link",
		      sh->link, "driver_name", sh->driver_name, "driver_phone", sh->driver_phone, "plate", sh->plate,
		      "service_name", sh->choice.service_name);
	if (!j) {
		json_decref(timeline);
		return NULL;
	}
	json_object_set_new(j, "courier_user_id", sh->courier_user_id ? json_integer((json_int_t)sh->courier_user_id)
								      : json_null());
	json_object_set_new(j, "pickup", shipment_place_json(&sh->origin, with_phones));
	json_object_set_new(j, "drop", shipment_place_json(&sh->destination, with_phones));
	json_object_set_new(j, "weight_g", json_integer((json_int_t)sh->weight_g));
	json_object_set_new(j, "timeline", timeline);
	json_object_set_new(j, "timeline_total", json_integer((json_int_t)sh->nevents));
	return j;
}

/* An empty field is an absent one for the gateway. */
static const char *shipment_or_null(const char *s)
{
	return s[0] ? s : NULL;
}

void shipment_place_out(const struct shipment_place *in, struct courier_place *out)
{
	out->name = shipment_or_null(in->name);
	out->phone = shipment_or_null(in->phone);
	out->address = shipment_or_null(in->address);
	out->postal_code = shipment_or_null(in->postal_code);
	out->has_coords = in->has_coords;
	out->lat_e6 = in->lat_e6;
	out->lng_e6 = in->lng_e6;
}

void shipment_place_in(const struct courier_place *in, struct shipment_place *out)
{
	snprintf(out->name, sizeof(out->name), "%s", in->name ? in->name : "");
	snprintf(out->phone, sizeof(out->phone), "%s", in->phone ? in->phone : "");
	snprintf(out->address, sizeof(out->address), "%s", in->address ? in->address : "");
	snprintf(out->postal_code, sizeof(out->postal_code), "%s", in->postal_code ? in->postal_code : "");
	out->has_coords = in->has_coords;
	out->lat_e6 = in->lat_e6;
	out->lng_e6 = in->lng_e6;
}
