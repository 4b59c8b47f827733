/*
 * The offline verifier of an auditors' export (docs/audit.md, "Export",
 * "Verifying"): no server, no data folder, only the export's files. It
 * stops at the first failure and names the file and the entry, line or
 * checkpoint.
 */
#include "audit_export.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "crypto.h"
#include "internal.h"
#include "store.h"
#include "tools.h"

#define VERIFY_MANIFEST_MAX (64 * 1024)   /* the manifest is a few hundred bytes */
#define VERIFY_PATH_MAX 4096
#define VERIFY_NUMBER_MAX 20              /* digits of a uint64 */
#define VERIFY_NS_PER_MS 1000000u

enum verify_file {
	VF_BIN,
	VF_JSONL,
	VF_CSV,
	VF_OPENING,
	VF_CHECKPOINTS,
	VF_PROOFS,
	VF_PUB,
	VF_COUNT
};

static const char *const verify_names[VF_COUNT] = {
	LEDGER_EXPORT_ENTRIES_BIN, LEDGER_EXPORT_ENTRIES_JSONL, LEDGER_EXPORT_ENTRIES_CSV, LEDGER_EXPORT_OPENING,
	LEDGER_EXPORT_CHECKPOINTS, LEDGER_EXPORT_PROOFS,        LEDGER_EXPORT_PUB,
};

/*
 * Failures met while walking the entries are ordered by a key, so that the
 * checks run on two threads still report the first one in file order:
 * (entry index + 1) * 8 + the check's rank (0 before any entry).
 */
#define VERIFY_KEY(i, rank) (((uint64_t)(i) + 1) * 8 + (rank))
enum verify_rank { VR_ENTRY = 0, VR_JSONL = 1, VR_CSV = 2, VR_REPLAY = 3, VR_ROOT = 4 };

/* The first failure of a check of a readable copy. */
struct verify_finding {
	bool bad;
	uint64_t key;
	char message[LEDGER_EXPORT_MSG_MAX];
	uint64_t lines;
};

struct verify_proof {
	uint64_t from, to;
	size_t n;
	uint8_t hash[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
};

struct verify {
	const char *dir;
	const uint8_t *trusted;             /* the key the auditor holds, or NULL */
	struct ledger_export_check *out;
	struct ledger_export_map files[VF_COUNT];
	bool present[VF_COUNT];
	/* The manifest's hashes, checked on a thread of their own beside the other checks. */
	uint8_t want[VF_COUNT][LEDGER_HASH_LEN];
	enum verify_file order[VF_COUNT];   /* the files in manifest order */
	size_t listed;
	bool hash_bad[VF_COUNT];
	pthread_t hasher;
	bool hashing;
	/* The chain hash of each entry checked, for the readable copies' checks (32 bytes an entry). */
	uint8_t (*chain)[LEDGER_HASH_LEN];
	uint64_t chained;
	struct verify_finding csv;
	/* The key of the failure found so far (see VERIFY_KEY); UINT64_MAX after the entries. */
	uint64_t fail_key;
	/* The manifest. */
	uint64_t first_seq, last_seq, entries, checkpoints_listed, from_ms, to_ms;
	uint64_t accounts_listed, pendings_listed, proofs_listed;
	bool end_covered;
	/* opening.txt */
	uint8_t prev_hash[LEDGER_HASH_LEN];
	struct ledger_compact compact;
	struct ledger_replay *state;
	uint8_t pub[LEDGER_KEY_LEN];
	struct ledger_checkpoint *cps;
	size_t ncps;
	struct verify_proof *proofs;
	size_t nproofs;
	uint8_t root_start[LEDGER_HASH_LEN], root_end[LEDGER_HASH_LEN];
};

static int verify_fail(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the first failure; returns 1 so that callers can `return verify_fail(...)`. */
static int verify_fail(struct verify *v, const char *fmt, ...)
{
	va_list ap;
	if (!v->out->ok)
		return 1;
	va_start(ap, fmt);
	vsnprintf(v->out->message, sizeof(v->out->message), fmt, ap);
	va_end(ap);
	v->out->ok = false;
	return 1;
}

/* --- reading the text files: single spaces between words, "\n" after each line --- */

struct text {
	const char *p, *end;
	uint64_t line;                   /* 1-based, for messages */
};

/* An empty file maps to no memory (data NULL): t is then empty, with no pointer arithmetic on NULL. */
static void text_open(struct text *t, const struct ledger_export_map *m)
{
	t->p = (const char *)m->data;
	t->end = m->len > 0 ? t->p + m->len : t->p;
	t->line = 1;
}

/* An array with room for one element per line of t (at least one), freed by the caller; NULL when out of memory. */
static void *text_array(const struct text *t, size_t size)
{
	size_t lines = 1;
	for (const char *p = t->p; p != t->end && (p = memchr(p, '\n', (size_t)(t->end - p))) != NULL; p++)
		lines++;
	return calloc(lines, size);
}

/* The next word, and the separator after it consumed (' ' or '\n'; 0 at the end). */
static bool text_word(struct text *t, const char **w, size_t *len, char *sep)
{
	const char *s = t->p;
	while (t->p < t->end && *t->p != ' ' && *t->p != '\n')
		t->p++;
	*w = s;
	*len = (size_t)(t->p - s);
	*sep = 0;
	if (t->p < t->end)
		*sep = *t->p++;
	if (*sep == '\n')
		t->line++;
	return *len > 0;
}

/* A decimal number without sign or leading zeros. OUT: *sep, the separator after it. */
static bool text_number(struct text *t, uint64_t *out, char *sep)
{
	const char *w;
	size_t len;
	uint64_t v = 0;
	if (!text_word(t, &w, &len, sep) || len > VERIFY_NUMBER_MAX || (len > 1 && w[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (w[i] < '0' || w[i] > '9' || v > (UINT64_MAX - (uint64_t)(w[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(w[i] - '0');
	}
	*out = v;
	return true;
}

/* A number followed by `want` (' ' or '\n'). */
static bool text_u64(struct text *t, char want, uint64_t *out)
{
	char sep;
	return text_number(t, out, &sep) && sep == want;
}

static bool text_i64(struct text *t, char want, int64_t *out)
{
	uint64_t v;
	if (!text_u64(t, want, &v) || v > INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

/* Exactly n bytes as 2n lowercase hex characters. */
static bool text_hex(struct text *t, char want, uint8_t *out, size_t n)
{
	const char *w;
	size_t len, got;
	char sep;
	if (!text_word(t, &w, &len, &sep) || sep != want || len != 2 * n)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((w[i] >= '0' && w[i] <= '9') || (w[i] >= 'a' && w[i] <= 'f')))
			return false;
	return crypto_hex_decode(w, len, out, n, &got) == CRYPTO_OK && got == n;
}

static bool text_id(struct text *t, char want, struct ledger_id *id)
{
	return text_hex(t, want, id->b, sizeof(id->b));
}

static bool text_key(struct text *t, const char *key)
{
	const char *w;
	size_t len;
	char sep;
	return text_word(t, &w, &len, &sep) && sep == ' ' && len == strlen(key) && memcmp(w, key, len) == 0;
}

/* "<count>[ <hex>]...\n" after a lead already read; at most max hashes. */
static bool text_hashes(struct text *t, uint8_t (*out)[LEDGER_HASH_LEN], size_t max, size_t *n)
{
	uint64_t count;
	char sep;
	if (!text_number(t, &count, &sep) || count > max || sep != (count ? ' ' : '\n'))
		return false;
	for (uint64_t i = 0; i < count; i++)
		if (!text_hex(t, i + 1 < count ? ' ' : '\n', out[i], LEDGER_HASH_LEN))
			return false;
	*n = (size_t)count;
	return true;
}

/* --- the manifest and the file hashes --- */

static bool manifest_u64(const json_t *doc, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(doc, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static int verify_path(struct verify *v, const char *name, char *path)
{
	int n = snprintf(path, VERIFY_PATH_MAX, "%s/%s", v->dir, name);
	return n < 0 || n >= VERIFY_PATH_MAX ? verify_fail(v, "%s: the path is too long", name) : 0;
}

/* One entry of "files": the file is there, its size and SHA-256 match. */
static int verify_file(struct verify *v, const json_t *f)
{
	char path[VERIFY_PATH_MAX];
	const char *name = json_string_value(json_object_get(f, "name"));
	const char *hex = json_string_value(json_object_get(f, "sha256"));
	uint8_t *want;
	uint64_t size;
	size_t k, len;
	int rc;

	for (k = 0; k < VF_COUNT && name && strcmp(name, verify_names[k]) != 0; k++)
		;
	if (!name || k == VF_COUNT || v->present[k])
		return verify_fail(v, "%s: names an unknown or repeated file", LEDGER_EXPORT_MANIFEST);
	want = v->want[k];
	if (!manifest_u64(f, "size", &size) || !hex || strlen(hex) != 2 * LEDGER_HASH_LEN ||
	    crypto_hex_decode(hex, strlen(hex), want, LEDGER_HASH_LEN, &len) != CRYPTO_OK || len != LEDGER_HASH_LEN)
		return verify_fail(v, "%s: the entry of %s is malformed", LEDGER_EXPORT_MANIFEST, name);
	if (verify_path(v, name, path))
		return 1;
	rc = ledger_export_map(path, &v->files[k]);
	if (rc != 0)
		return verify_fail(v, "%s: missing or unreadable", name);
	v->present[k] = true;
	v->order[v->listed++] = (enum verify_file)k;
	if (v->files[k].len != size)
		return verify_fail(v, "%s: %zu bytes, the manifest says %" PRIu64, name, v->files[k].len, size);
	return 0;
}

static void *verify_hash_files(void *arg)
{
	struct verify *v = arg;
	for (size_t i = 0; i < v->listed; i++) {
		enum verify_file k = v->order[i];
		uint8_t got[LEDGER_HASH_LEN];
		v->hash_bad[k] = crypto_sha256(v->files[k].data, v->files[k].len, got) != CRYPTO_OK ||
				 !crypto_equal(got, v->want[k], sizeof(got));
	}
	return NULL;
}

/* Starts hashing the files; without a thread, hashes them here. */
static void verify_hash_start(struct verify *v)
{
	v->hashing = pthread_create(&v->hasher, NULL, verify_hash_files, v) == 0;
	if (!v->hashing)
		verify_hash_files(v);
}

/* A file whose hash differs is the failure reported, whatever the other checks found. */
static void verify_hash_end(struct verify *v)
{
	if (v->hashing)
		pthread_join(v->hasher, NULL);
	v->hashing = false;
	for (size_t i = 0; i < v->listed; i++) {
		enum verify_file k = v->order[i];
		if (v->hash_bad[k]) {
			v->out->ok = true;
			v->fail_key = 0;
			verify_fail(v, "%s: SHA-256 differs from the manifest", verify_names[k]);
			return;
		}
		v->out->files++;
	}
}

static int verify_manifest(struct verify *v)
{
	char path[VERIFY_PATH_MAX];
	struct ledger_export_map m;
	const json_t *files;
	json_t *doc;
	const char *format;
	uint64_t version, head;
	char from[CLOCK_TIME_MAX], to[CLOCK_TIME_MAX];
	const char *origin, *from_text, *to_text;
	int rc = 0;

	if (verify_path(v, LEDGER_EXPORT_MANIFEST, path))
		return 1;
	if (ledger_export_map(path, &m) != 0)
		return verify_fail(v, "%s: missing or unreadable", LEDGER_EXPORT_MANIFEST);
	doc = m.len <= VERIFY_MANIFEST_MAX ? json_loadb((const char *)m.data, m.len, JSON_REJECT_DUPLICATES, NULL)
					   : NULL;
	ledger_export_unmap(&m);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return verify_fail(v, "%s: not a JSON object", LEDGER_EXPORT_MANIFEST);
	}
	format = json_string_value(json_object_get(doc, "format"));
	files = json_object_get(doc, "files");
	if (!format || strcmp(format, LEDGER_EXPORT_FORMAT) != 0 || !manifest_u64(doc, "version", &version) ||
	    version != LEDGER_EXPORT_VERSION) {
		rc = verify_fail(v, "%s: not a version %d %s", LEDGER_EXPORT_MANIFEST, LEDGER_EXPORT_VERSION,
				 LEDGER_EXPORT_FORMAT);
		goto free_doc;
	}
	if (!manifest_u64(doc, "first_seq", &v->first_seq) || !manifest_u64(doc, "last_seq", &v->last_seq) ||
	    !manifest_u64(doc, "entries", &v->entries) || !manifest_u64(doc, "from_ms", &v->from_ms) ||
	    !manifest_u64(doc, "to_ms", &v->to_ms) || !manifest_u64(doc, "checkpoints", &v->checkpoints_listed) ||
	    !manifest_u64(doc, "opening_accounts", &v->accounts_listed) ||
	    !manifest_u64(doc, "opening_pendings", &v->pendings_listed) ||
	    !manifest_u64(doc, "proofs", &v->proofs_listed) || !manifest_u64(doc, "head_seq", &head) ||
	    head < v->last_seq || v->entries > SIZE_MAX / LEDGER_CANONICAL_LEN ||
	    !json_is_boolean(json_object_get(doc, "end_covered")) || !json_is_array(files) || v->first_seq == 0 ||
	    v->last_seq + 1 < v->first_seq || v->entries != v->last_seq + 1 - v->first_seq ||
	    v->to_ms <= v->from_ms || v->to_ms > UINT64_MAX / VERIFY_NS_PER_MS) {
		rc = verify_fail(v, "%s: a field is missing or inconsistent", LEDGER_EXPORT_MANIFEST);
		goto free_doc;
	}
	/* The readable members must say what the numbers say. */
	origin = json_string_value(json_object_get(doc, "origin"));
	from_text = json_string_value(json_object_get(doc, "from"));
	to_text = json_string_value(json_object_get(doc, "to"));
	if (!origin || strcmp(origin, LEDGER_CHECKPOINT_ORIGIN) != 0 ||
	    clock_format_wib((int64_t)v->from_ms, from, sizeof(from)) != 0 ||
	    clock_format_wib((int64_t)v->to_ms, to, sizeof(to)) != 0 || !from_text || strcmp(from_text, from) != 0 ||
	    !to_text || strcmp(to_text, to) != 0) {
		rc = verify_fail(v, "%s: origin, from or to does not match", LEDGER_EXPORT_MANIFEST);
		goto free_doc;
	}
	v->end_covered = json_is_true(json_object_get(doc, "end_covered"));
	v->out->first_seq = v->first_seq;
	v->out->last_seq = v->last_seq;
	for (size_t i = 0; i < json_array_size(files) && rc == 0; i++)
		rc = verify_file(v, json_array_get(files, i));
	for (size_t k = 0; k < VF_COUNT && rc == 0; k++)
		if (!v->present[k] && k != VF_PUB)
			rc = verify_fail(v, "%s: not listed in %s", verify_names[k], LEDGER_EXPORT_MANIFEST);
free_doc:
	json_decref(doc);
	return rc;
}

/* --- the opening state, the key, the checkpoints and proofs --- */

/* A trial balance whose debits and credits differ on some ledger names it. */
static int verify_trial(struct verify *v, const char *file, const char *when)
{
	struct ledger_export_check *o = v->out;
	if (ledger_replay_trial(v->state, o->trial, &o->ledgers) != LEDGER_OK)
		return verify_fail(v, "%s: the %s trial balance has over %d ledgers", file, when,
				   LEDGER_TRIAL_LEDGERS_MAX);
	for (size_t i = 0; i < o->ledgers; i++) {
		const struct ledger_trial_total *t = &o->trial[i];
		char dpo[LEDGER_SUM_TEXT], dp[LEDGER_SUM_TEXT], cpo[LEDGER_SUM_TEXT], cp[LEDGER_SUM_TEXT];
		if (t->balanced)
			continue;
		ledger_sum_text(&t->debits_posted, dpo, sizeof(dpo));
		ledger_sum_text(&t->debits_pending, dp, sizeof(dp));
		ledger_sum_text(&t->credits_posted, cpo, sizeof(cpo));
		ledger_sum_text(&t->credits_pending, cp, sizeof(cp));
		return verify_fail(v,
				   "%s: the %s trial balance of ledger %" PRIu32 " does not balance: debits posted %s / "
				   "pending %s, credits posted %s / pending %s",
				   file, when, t->ledger, dpo, dp, cpo, cp);
	}
	return 0;
}

static int verify_opening(struct verify *v)
{
	uint8_t hash[LEDGER_COMPACT_MAX][LEDGER_HASH_LEN];
	struct text t;
	uint64_t first, pendings = 0;
	size_t n;

	text_open(&t, &v->files[VF_OPENING]);
	if (!text_key(&t, "first_seq") || !text_u64(&t, '\n', &first) || first != v->first_seq)
		return verify_fail(v, "%s: line 1 is not \"first_seq %" PRIu64 "\"", LEDGER_EXPORT_OPENING,
				   v->first_seq);
	if (!text_key(&t, "prev_hash") || !text_hex(&t, '\n', v->prev_hash, LEDGER_HASH_LEN))
		return verify_fail(v, "%s: line 2 is not \"prev_hash HEX\"", LEDGER_EXPORT_OPENING);
	if (!text_key(&t, "compact") || !text_hashes(&t, hash, LEDGER_COMPACT_MAX, &n) ||
	    ledger_compact_set(&v->compact, first - 1, (const uint8_t(*)[LEDGER_HASH_LEN])hash, (unsigned)n) != 0)
		return verify_fail(v, "%s: line 3 is not the compact range of %" PRIu64 " leaves",
				   LEDGER_EXPORT_OPENING, first - 1);
	v->out->compact = n;
	while (t.p < t.end) {
		uint64_t line = t.line;
		const char *w;
		size_t len;
		char sep;
		bool ok = text_word(&t, &w, &len, &sep) && sep == ' ';
		if (ok && len == 7 && memcmp(w, "account", 7) == 0) {
			struct ledger_balance b;
			uint64_t ledger;
			ok = text_id(&t, ' ', &b.id) && text_u64(&t, ' ', &ledger) && ledger <= UINT32_MAX &&
			     text_i64(&t, ' ', &b.debits_pending) && text_i64(&t, ' ', &b.debits_posted) &&
			     text_i64(&t, ' ', &b.credits_pending) && text_i64(&t, '\n', &b.credits_posted);
			b.ledger = (uint32_t)ledger;
			ok = ok && ledger_replay_add_account(v->state, &b) == LEDGER_OK;
		} else if (ok && len == 7 && memcmp(w, "pending", 7) == 0) {
			struct ledger_open_pending p;
			uint64_t ledger, code;
			ok = text_id(&t, ' ', &p.id) && text_id(&t, ' ', &p.debit_account_id) &&
			     text_id(&t, ' ', &p.credit_account_id) && text_i64(&t, ' ', &p.amount) &&
			     text_u64(&t, ' ', &ledger) && ledger <= UINT32_MAX && text_u64(&t, '\n', &code) &&
			     code <= UINT16_MAX;
			p.ledger = (uint32_t)ledger;
			p.code = (uint16_t)code;
			ok = ok && ledger_replay_add_pending(v->state, &p) == LEDGER_OK;
			pendings++;
		} else {
			ok = false;
		}
		if (!ok)
			return verify_fail(v, "%s: line %" PRIu64 " is malformed or repeats an id", LEDGER_EXPORT_OPENING,
					   line);
	}
	if (ledger_replay_account_count(v->state) != v->accounts_listed || pendings != v->pendings_listed)
		return verify_fail(v, "%s: %zu accounts and %" PRIu64 " pending transfers, the manifest says %" PRIu64
				   " and %" PRIu64, LEDGER_EXPORT_OPENING, ledger_replay_account_count(v->state), pendings,
				   v->accounts_listed, v->pendings_listed);
	return verify_trial(v, LEDGER_EXPORT_OPENING, "opening");
}

/*
 * audit.pub, read whenever it is there, a key is trusted or a checkpoint
 * needs it. Its key is reported; the export's own key proves nothing about
 * who signed, so a trusted key given must be that one.
 */
static int verify_pub(struct verify *v)
{
	char have[2 * LEDGER_KEY_LEN + 1], want[2 * LEDGER_KEY_LEN + 1];
	struct text t;
	if (!v->present[VF_PUB]) {
		if (!v->trusted && v->files[VF_CHECKPOINTS].len == 0)
			return 0;
		return verify_fail(v, "%s: missing, so no checkpoint can be checked", LEDGER_EXPORT_PUB);
	}
	text_open(&t, &v->files[VF_PUB]);
	if (!text_hex(&t, '\n', v->pub, LEDGER_KEY_LEN) || t.p != t.end)
		return verify_fail(v, "%s: not 64 hex characters and a newline", LEDGER_EXPORT_PUB);
	v->out->has_key = true;
	memcpy(v->out->key, v->pub, LEDGER_KEY_LEN);
	if (!v->trusted || crypto_equal(v->pub, v->trusted, LEDGER_KEY_LEN))
		return 0;
	crypto_hex_encode(v->pub, LEDGER_KEY_LEN, have, sizeof(have));
	crypto_hex_encode(v->trusted, LEDGER_KEY_LEN, want, sizeof(want));
	return verify_fail(v, "%s: the key %s is not the trusted key %s", LEDGER_EXPORT_PUB, have, want);
}

/* Parses checkpoints.txt and checks each signature and the order. */
static int verify_checkpoints(struct verify *v)
{
	struct text t;

	text_open(&t, &v->files[VF_CHECKPOINTS]);
	v->cps = text_array(&t, sizeof(*v->cps));
	if (!v->cps)
		return verify_fail(v, "out of memory");
	while (t.p < t.end) {
		uint64_t line = t.line;
		struct ledger_checkpoint c, *prev = v->ncps ? &v->cps[v->ncps - 1] : NULL;
		if (!text_u64(&t, ' ', &c.number) || !text_u64(&t, ' ', &c.tree_size) ||
		    !text_hex(&t, ' ', c.root, sizeof(c.root)) || !text_u64(&t, ' ', &c.time_ms) ||
		    !text_hex(&t, '\n', c.signature, sizeof(c.signature)))
			return verify_fail(v, "%s: line %" PRIu64 " is malformed", LEDGER_EXPORT_CHECKPOINTS, line);
		v->cps[v->ncps++] = c;
		if (!ledger_checkpoint_verify(v->pub, &c))
			return verify_fail(v, "%s: checkpoint %" PRIu64 " (line %" PRIu64 "): the signature does not verify "
					   "under %s", LEDGER_EXPORT_CHECKPOINTS, c.number, line, LEDGER_EXPORT_PUB);
		if (prev && c.tree_size < prev->tree_size)
			return verify_fail(v, "%s: checkpoint %" PRIu64 " (line %" PRIu64 ") rewinds: tree size %" PRIu64
					   " after %" PRIu64, LEDGER_EXPORT_CHECKPOINTS, c.number, line, c.tree_size,
					   prev->tree_size);
		if (prev && (c.number <= prev->number || c.tree_size == prev->tree_size || c.time_ms < prev->time_ms))
			return verify_fail(v, "%s: checkpoint %" PRIu64 " (line %" PRIu64 ") does not follow checkpoint %"
					   PRIu64 " (number, size or time)", LEDGER_EXPORT_CHECKPOINTS, c.number, line,
					   prev->number);
		v->out->checkpoints++;
	}
	if (v->ncps != v->checkpoints_listed)
		return verify_fail(v, "%s: %zu checkpoints, the manifest says %" PRIu64, LEDGER_EXPORT_CHECKPOINTS,
				   v->ncps, v->checkpoints_listed);
	return 0;
}

static int verify_parse_proofs(struct verify *v)
{
	struct text t;
	text_open(&t, &v->files[VF_PROOFS]);
	v->proofs = text_array(&t, sizeof(*v->proofs));
	if (!v->proofs)
		return verify_fail(v, "out of memory");
	while (t.p < t.end) {
		uint64_t line = t.line;
		struct verify_proof *p = &v->proofs[v->nproofs++];
		if (!text_u64(&t, ' ', &p->from) || !text_u64(&t, ' ', &p->to) ||
		    !text_hashes(&t, p->hash, LEDGER_PROOF_MAX, &p->n))
			return verify_fail(v, "%s: line %" PRIu64 " is malformed", LEDGER_EXPORT_PROOFS, line);
	}
	if (v->nproofs != v->proofs_listed)
		return verify_fail(v, "%s: %zu proofs, the manifest says %" PRIu64, LEDGER_EXPORT_PROOFS, v->nproofs,
				   v->proofs_listed);
	return 0;
}

/* The consistency proof old -> new from proofs.txt, checked against the two roots. */
static int verify_consistency(struct verify *v, uint64_t old_size, const uint8_t *old_root, uint64_t new_size,
			      const uint8_t *new_root, const char *what)
{
	for (size_t i = 0; i < v->nproofs; i++) {
		const struct verify_proof *p = &v->proofs[i];
		if (p->from != old_size || p->to != new_size)
			continue;
		if (!ledger_merkle_verify_consistency(old_size, new_size, old_root, new_root, &p->hash[0][0], p->n))
			return verify_fail(v, "%s: line %zu: the consistency proof from tree size %" PRIu64 " to %" PRIu64
					   " (%s) does not verify", LEDGER_EXPORT_PROOFS, i + 1, old_size, new_size, what);
		v->out->proofs++;
		return 0;
	}
	return verify_fail(v, "%s: no consistency proof from tree size %" PRIu64 " to %" PRIu64 " (%s)",
			   LEDGER_EXPORT_PROOFS, old_size, new_size, what);
}

/* The checkpoints before and after the span, and each consecutive pair, linked by proofs. */
static int verify_proofs(struct verify *v)
{
	uint64_t m = v->first_seq - 1;
	for (size_t i = 0; i + 1 < v->ncps; i++) {
		const struct ledger_checkpoint *a = &v->cps[i], *b = &v->cps[i + 1];
		if (verify_consistency(v, a->tree_size, a->root, b->tree_size, b->root, "consecutive checkpoints"))
			return 1;
	}
	if (v->ncps > 0 && v->cps[0].tree_size < m &&
	    verify_consistency(v, v->cps[0].tree_size, v->cps[0].root, m, v->root_start,
			       "the checkpoint before the range to its start"))
		return 1;
	if (v->ncps > 0 && v->cps[v->ncps - 1].tree_size > v->last_seq &&
	    verify_consistency(v, v->last_seq, v->root_end, v->cps[v->ncps - 1].tree_size, v->cps[v->ncps - 1].root,
			       "the range's end to the checkpoint after it"))
		return 1;
	if (v->ncps == 0 || v->cps[v->ncps - 1].tree_size < v->last_seq)
		return verify_fail(v, "UNVERIFIABLE: no checkpoint covers sequence %" PRIu64 " (the range's end); "
				   "export again after the next checkpoint", v->last_seq);
	if (!v->end_covered)
		return verify_fail(v, "%s: end_covered is false but a checkpoint covers the end", LEDGER_EXPORT_MANIFEST);
	return 0;
}

/* --- the entries --- */

/* Compares the tree rebuilt so far with every checkpoint of exactly this size. */
static int verify_roots(struct verify *v, size_t *next_cp)
{
	uint8_t root[LEDGER_HASH_LEN];
	while (*next_cp < v->ncps && v->cps[*next_cp].tree_size < v->compact.size)
		(*next_cp)++;
	if (*next_cp == v->ncps || v->cps[*next_cp].tree_size != v->compact.size)
		return 0;
	if (ledger_compact_root(&v->compact, root) != LEDGER_OK)
		return verify_fail(v, "out of memory");
	if (!crypto_equal(root, v->cps[*next_cp].root, sizeof(root)))
		return verify_fail(v, "%s: checkpoint %" PRIu64 " (tree size %" PRIu64 "): the root differs from the tree "
				   "rebuilt from %s and %s", LEDGER_EXPORT_CHECKPOINTS, v->cps[*next_cp].number,
				   v->compact.size, LEDGER_EXPORT_OPENING, LEDGER_EXPORT_ENTRIES_BIN);
	return 0;
}

/*
 * Rebuilds the lines of the readable copy k from the entries checked (with
 * the chain hashes verify_entries kept) and compares. Reads v only.
 */
static void verify_copy(const struct verify *v, enum verify_file k, struct verify_finding *f)
{
	const struct ledger_export_map *bin = &v->files[VF_BIN];
	const bool csv = k == VF_CSV;
	const size_t hlen = csv ? strlen(ledger_export_csv_header) : 0;
	uint8_t stored[LEDGER_STORED_LEN];
	char line[LEDGER_EXPORT_LINE_MAX];
	struct ledger_entry e;
	struct text t;
	size_t len;
	uint64_t i;

	text_open(&t, &v->files[k]);
	/* An empty JSON Lines file maps to no memory at all: only CSV has a header to compare. */
	if (csv && ((size_t)(t.end - t.p) < hlen || memcmp(t.p, ledger_export_csv_header, hlen) != 0)) {
		f->bad = true;
		f->key = 0;
		snprintf(f->message, sizeof(f->message), "%s: line 1 is not the header", verify_names[k]);
		return;
	}
	t.p += hlen;
	t.line += csv;
	for (i = 0; i < v->chained; i++) {
		memcpy(stored, bin->data + i * LEDGER_CANONICAL_LEN, LEDGER_CANONICAL_LEN);
		memcpy(stored + LEDGER_CANONICAL_LEN, v->chain[i], LEDGER_HASH_LEN);
		if (ledger_entry_decode(stored, sizeof(stored), &e) != LEDGER_OK)
			return;
		if ((csv ? ledger_export_csv_line : ledger_export_jsonl_line)(&e, line, sizeof(line), &len) != LEDGER_OK ||
		    (size_t)(t.end - t.p) < len || memcmp(t.p, line, len) != 0) {
			f->bad = true;
			f->key = VERIFY_KEY(i, csv ? VR_CSV : VR_JSONL);
			snprintf(f->message, sizeof(f->message), "%s: line %" PRIu64 " differs from entry %" PRIu64 " of %s",
				 verify_names[k], t.line, e.t.seq, LEDGER_EXPORT_ENTRIES_BIN);
			return;
		}
		t.p += len;
		t.line++;
		f->lines++;
	}
	if (v->chained == v->entries && t.p != t.end) {
		f->bad = true;
		f->key = VERIFY_KEY(i, 0);
		snprintf(f->message, sizeof(f->message), "%s: line %" PRIu64 " follows the last entry", verify_names[k],
			 t.line);
	}
}

static int verify_entries(struct verify *v)
{
	const struct ledger_export_map *bin = &v->files[VF_BIN];
	uint8_t stored[LEDGER_STORED_LEN], leaf[LEDGER_HASH_LEN], prev[LEDGER_HASH_LEN];
	char msg[LEDGER_EXPORT_MSG_MAX];
	uint64_t last_ts = 0, from_ns = v->from_ms * VERIFY_NS_PER_MS, to_ns = v->to_ms * VERIFY_NS_PER_MS;
	size_t next_cp = 0;
	struct ledger_entry e;

	memcpy(prev, v->prev_hash, sizeof(prev));
	memset(stored + LEDGER_CANONICAL_LEN, 0, LEDGER_HASH_LEN);
	v->fail_key = 0;
	v->chain = malloc((size_t)(v->entries ? v->entries : 1) * LEDGER_HASH_LEN);
	if (!v->chain)
		return verify_fail(v, "out of memory (%" PRIu64 " entries)", v->entries);
	if (ledger_compact_root(&v->compact, v->root_start) != LEDGER_OK)
		return verify_fail(v, "out of memory");
	if (verify_roots(v, &next_cp))
		return 1;
	for (uint64_t i = 0; i < v->entries; i++) {
		const uint8_t *canonical = bin->data + i * LEDGER_CANONICAL_LEN;
		uint64_t seq = v->first_seq + i, offset = i * LEDGER_CANONICAL_LEN;
		v->fail_key = VERIFY_KEY(i, VR_ENTRY);
		memcpy(stored, canonical, LEDGER_CANONICAL_LEN);
		if (ledger_entry_decode(stored, sizeof(stored), &e) != LEDGER_OK)
			return verify_fail(v, "%s: entry %" PRIu64 " (offset %" PRIu64 ", sequence %" PRIu64 ") does not "
					   "decode", LEDGER_EXPORT_ENTRIES_BIN, i + 1, offset, seq);
		if (e.t.seq != seq)
			return verify_fail(v, "%s: entry %" PRIu64 " (offset %" PRIu64 ") has sequence %" PRIu64
					   ", expected %" PRIu64 " (an entry dropped, added or moved)",
					   LEDGER_EXPORT_ENTRIES_BIN, i + 1, offset, e.t.seq, seq);
		if (e.t.timestamp <= last_ts || e.t.timestamp < from_ns || e.t.timestamp >= to_ns)
			return verify_fail(v, "%s: sequence %" PRIu64 ": the timestamp is out of order or outside the range",
					   LEDGER_EXPORT_ENTRIES_BIN, seq);
		last_ts = e.t.timestamp;
		ledger_chain(prev, canonical, e.hash);
		memcpy(prev, e.hash, sizeof(prev));
		memcpy(v->chain[i], e.hash, LEDGER_HASH_LEN);
		v->chained = i + 1;
		if (ledger_merkle_leaf_hash(canonical, LEDGER_CANONICAL_LEN, leaf) != LEDGER_OK ||
		    ledger_compact_append(&v->compact, leaf) != LEDGER_OK)
			return verify_fail(v, "out of memory");
		v->fail_key = VERIFY_KEY(i, VR_REPLAY);
		if (ledger_replay_apply(v->state, &e, msg, sizeof(msg)) != LEDGER_OK)
			return verify_fail(v, "%s: sequence %" PRIu64 " %s", LEDGER_EXPORT_ENTRIES_BIN, seq, msg);
		v->out->entries++;
		v->fail_key = VERIFY_KEY(i, VR_ROOT);
		if (verify_roots(v, &next_cp))
			return 1;
	}
	v->fail_key = UINT64_MAX;
	if (ledger_compact_root(&v->compact, v->root_end) != LEDGER_OK)
		return verify_fail(v, "out of memory");
	return verify_trial(v, LEDGER_EXPORT_ENTRIES_BIN, "closing");
}

/* Takes a copy's failure when it comes before the one found so far. */
static void verify_merge(struct verify *v, const struct verify_finding *f)
{
	v->out->lines += f->lines;
	if (!f->bad || (!v->out->ok && v->fail_key <= f->key))
		return;
	v->out->ok = true;
	v->fail_key = f->key;
	verify_fail(v, "%s", f->message);
}

static void *verify_csv_thread(void *arg)
{
	struct verify *v = arg;
	verify_copy(v, VF_CSV, &v->csv);
	return NULL;
}

/* The two readable copies, side by side (CSV on a thread when one starts); CSV's finding is left in v->csv. */
static void verify_copies(struct verify *v)
{
	struct verify_finding jsonl = { 0 };
	pthread_t csv;
	bool threaded = pthread_create(&csv, NULL, verify_csv_thread, v) == 0;
	if (!threaded)
		verify_copy(v, VF_CSV, &v->csv);
	verify_copy(v, VF_JSONL, &jsonl);
	if (threaded)
		pthread_join(csv, NULL);
	verify_merge(v, &jsonl);
}


int ledger_export_verify(const char *dir, const uint8_t *trusted, struct ledger_export_check *out)
{
	struct verify v = { .dir = dir, .trusted = trusted, .out = out };
	uint64_t start = ledger_tools_now_ns();
	memset(out, 0, sizeof(*out));
	out->ok = true;
	ledger_compact_init(&v.compact);
	if (ledger_replay_new(&v.state) != LEDGER_OK)
		return LEDGER_ENOMEM;
	if (verify_manifest(&v) == 0) {
		int rc = verify_pub(&v);
		if (rc == 0)
			rc = verify_opening(&v);
		if (rc == 0 && v.files[VF_BIN].len != v.entries * LEDGER_CANONICAL_LEN)
			rc = verify_fail(&v, "%s: %zu bytes is not %" PRIu64 " entries of %d bytes",
					 LEDGER_EXPORT_ENTRIES_BIN, v.files[VF_BIN].len, v.entries, LEDGER_CANONICAL_LEN);
		v.fail_key = 0;
		verify_hash_start(&v);
		if (rc == 0 && verify_checkpoints(&v) == 0 && verify_parse_proofs(&v) == 0)
			verify_entries(&v);
		verify_copies(&v);
		verify_hash_end(&v);
		verify_merge(&v, &v.csv);
		if (v.out->ok)
			verify_proofs(&v);
	}
	out->accounts = ledger_replay_account_count(v.state);
	out->elapsed_ns = ledger_tools_now_ns() - start;
	for (size_t k = 0; k < VF_COUNT; k++)
		ledger_export_unmap(&v.files[k]);
	ledger_replay_free(v.state);
	free(v.cps);
	free(v.proofs);
	free(v.chain);
	return LEDGER_OK;
}
