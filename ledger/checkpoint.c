/*
 * Signed checkpoints of the Merkle tree (docs/audit.md, "Checkpoints"): the
 * server's Ed25519 key signs the tree head (size, root, time) in the C2SP
 * checkpoint text form, and each checkpoint is kept, numbered from 1, in
 * ledger_checkpoints. Auditors who keep two checkpoints can ask for the
 * consistency proof between them and so hold the server to its history.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "crypto.h"
#include "log.h"
#include "store.h"

/* version(1) | tree_size(8) | root(32) | time_ms(8) | signature(64) */
#define LEDGER_CHECKPOINT_VERSION 1
#define LEDGER_CHECKPOINT_RECORD_LEN (1 + 8 + LEDGER_HASH_LEN + 8 + LEDGER_SIGNATURE_LEN)
#define LEDGER_PUB_TEXT_LEN (2 * CRYPTO_ED25519_KEY_LEN + 1)   /* hex and the newline */

struct ledger_signer {
	struct ledger *l;
	uint8_t key[LEDGER_KEY_LEN];
	uint8_t pub[LEDGER_KEY_LEN];
	uint64_t interval_ms;
	uint64_t next_ms;        /* the timer's next look at the tree */
	bool job_running;
	bool stopped;            /* closed while a job was out: its done frees */
	struct ledger_checkpoint made;
};

/* --- the signed text --- */

int ledger_checkpoint_text(const struct ledger_checkpoint *c, char *out, size_t cap, size_t *len)
{
	char root[2 * LEDGER_HASH_LEN];
	int n;
	if (crypto_base64_encode(c->root, LEDGER_HASH_LEN, false, root, sizeof(root)) != CRYPTO_OK)
		return LEDGER_EINVAL;
	n = snprintf(out, cap, "%s\n%" PRIu64 "\n%s\ntime %" PRIu64 "\n", LEDGER_CHECKPOINT_ORIGIN, c->tree_size,
		     root, c->time_ms);
	if (n < 0 || (size_t)n >= cap)
		return LEDGER_EINVAL;
	*len = (size_t)n;
	return LEDGER_OK;
}

int ledger_checkpoint_sign(const uint8_t key[LEDGER_KEY_LEN], struct ledger_checkpoint *c)
{
	char text[LEDGER_CHECKPOINT_TEXT_MAX];
	size_t len;
	int rc = ledger_checkpoint_text(c, text, sizeof(text), &len);
	if (rc != LEDGER_OK)
		return rc;
	return crypto_ed25519_sign(key, text, len, c->signature) == CRYPTO_OK ? LEDGER_OK : LEDGER_ENOMEM;
}

bool ledger_checkpoint_verify(const uint8_t pub[LEDGER_KEY_LEN], const struct ledger_checkpoint *c)
{
	char text[LEDGER_CHECKPOINT_TEXT_MAX];
	size_t len;
	return ledger_checkpoint_text(c, text, sizeof(text), &len) == LEDGER_OK &&
	       crypto_ed25519_verify(pub, text, len, c->signature);
}

/* --- records --- */

static void ledger_checkpoint_encode(const struct ledger_checkpoint *c, uint8_t out[LEDGER_CHECKPOINT_RECORD_LEN])
{
	out[0] = LEDGER_CHECKPOINT_VERSION;
	ledger_put_u64(out + 1, c->tree_size);
	memcpy(out + 9, c->root, LEDGER_HASH_LEN);
	ledger_put_u64(out + 9 + LEDGER_HASH_LEN, c->time_ms);
	memcpy(out + 17 + LEDGER_HASH_LEN, c->signature, LEDGER_SIGNATURE_LEN);
}

int ledger_checkpoint_decode(const MDB_val *k, const MDB_val *v, struct ledger_checkpoint *out)
{
	const uint8_t *p = v->mv_data;
	if (k->mv_size != 8 || v->mv_size != LEDGER_CHECKPOINT_RECORD_LEN || p[0] != LEDGER_CHECKPOINT_VERSION)
		return LEDGER_ECORRUPT;
	out->number = ledger_get_u64(k->mv_data);
	out->tree_size = ledger_get_u64(p + 1);
	memcpy(out->root, p + 9, LEDGER_HASH_LEN);
	out->time_ms = ledger_get_u64(p + 9 + LEDGER_HASH_LEN);
	memcpy(out->signature, p + 17 + LEDGER_HASH_LEN, LEDGER_SIGNATURE_LEN);
	return LEDGER_OK;
}

int ledger_checkpoint_latest(struct ledger *l, MDB_txn *txn, struct ledger_checkpoint *out)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, l->signer_dbi, &cur);
	if (rc != 0)
		return store_status_from_mdb(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	rc = rc == 0 ? ledger_checkpoint_decode(&k, &v, out) : store_status_from_mdb(rc);
	mdb_cursor_close(cur);
	return rc;
}

int ledger_checkpoint_list(struct ledger *l, MDB_txn *txn, uint64_t from, size_t limit,
			   struct ledger_checkpoint *out, size_t *n)
{
	uint8_t key[8];
	MDB_cursor *cur;
	MDB_val k = { sizeof(key), key }, v;
	int rc = mdb_cursor_open(txn, l->signer_dbi, &cur);
	if (rc != 0)
		return store_status_from_mdb(rc);
	*n = 0;
	ledger_put_u64(key, from);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && *n < limit;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (ledger_checkpoint_decode(&k, &v, &out[*n]) != LEDGER_OK) {
			mdb_cursor_close(cur);
			return LEDGER_ECORRUPT;
		}
		(*n)++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : store_status_from_mdb(rc);
}

/*
 * The tree head as of txn, and the latest checkpoint (*have false when
 * none). A checkpoint is due when there is none yet or the tree grew.
 */
static int ledger_checkpoint_state(struct ledger *l, MDB_txn *txn, uint64_t *size, struct ledger_checkpoint *last,
				   bool *have)
{
	int rc = ledger_tree_size(l, txn, size);
	if (rc != LEDGER_OK)
		return rc;
	rc = ledger_checkpoint_latest(l, txn, last);
	*have = rc == LEDGER_OK;
	return rc == STORE_ENOTFOUND ? LEDGER_OK : rc;
}

int ledger_checkpoint_make(struct ledger *l, MDB_txn *txn, uint64_t now_ms, struct ledger_checkpoint *out,
			   bool *made)
{
	uint8_t key[8], rec[LEDGER_CHECKPOINT_RECORD_LEN];
	MDB_val k = { sizeof(key), key }, v = { sizeof(rec), rec };
	struct ledger_checkpoint last;
	bool have;
	int rc;
	if (!l->signer)
		return LEDGER_EINVAL;
	rc = ledger_checkpoint_state(l, txn, &out->tree_size, &last, &have);
	if (rc != LEDGER_OK)
		return rc;
	*made = false;
	if (have && out->tree_size == last.tree_size) {
		*out = last;
		return LEDGER_OK;
	}
	/* The log is append-only, so a smaller tree means the store was rolled back under us: never sign that. */
	if (have && out->tree_size < last.tree_size)
		return LEDGER_ECORRUPT;
	out->number = have ? last.number + 1 : 1;
	/* Times never go back either, even when the wall clock does. */
	out->time_ms = have && last.time_ms > now_ms ? last.time_ms : now_ms;
	if ((rc = ledger_tree_root(l, txn, out->tree_size, out->root)) != LEDGER_OK ||
	    (rc = ledger_checkpoint_sign(l->signer->key, out)) != LEDGER_OK)
		return rc;
	ledger_put_u64(key, out->number);
	ledger_checkpoint_encode(out, rec);
	if ((rc = mdb_put(txn, l->signer_dbi, &k, &v, MDB_APPEND)) != 0)
		return rc;
	*made = true;
	return LEDGER_OK;
}

void ledger_checkpoint_public_key(const struct ledger *l, uint8_t pub[LEDGER_KEY_LEN])
{
	memcpy(pub, l->signer->pub, CRYPTO_ED25519_KEY_LEN);
}

uint64_t ledger_checkpoint_wait_s(const struct ledger *l)
{
	uint64_t now_ms = ledger_now_ns() / 1000000u;
	if (!l->signer || l->signer->next_ms <= now_ms)
		return 1;
	return (l->signer->next_ms - now_ms + 999) / 1000 + 1;
}

/* --- the key --- */

int ledger_audit_pub_read(const char *data_dir, uint8_t pub[LEDGER_KEY_LEN])
{
	char path[PATH_MAX + 16], text[LEDGER_PUB_TEXT_LEN + 1];
	size_t len;
	ssize_t n;
	int fd, m = snprintf(path, sizeof(path), "%s/audit.pub", data_dir);
	if (m < 0 || (size_t)m >= sizeof(path))
		return STORE_EIO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? STORE_ENOTFOUND : STORE_EIO;
	/* One byte more than the text, so a longer file is told from an exact one. */
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0)
		return STORE_EIO;
	if (n != LEDGER_PUB_TEXT_LEN || text[LEDGER_PUB_TEXT_LEN - 1] != '\n' ||
	    crypto_hex_decode(text, LEDGER_PUB_TEXT_LEN - 1, pub, LEDGER_KEY_LEN, &len) != CRYPTO_OK ||
	    len != LEDGER_KEY_LEN)
		return LEDGER_ECORRUPT;
	return LEDGER_OK;
}

/*
 * Writes audit.pub once (hex and a newline); when it exists it must name
 * this key, so a swapped audit.key is not served under the old public key.
 */
static int ledger_pub_file(const char *data_dir, const uint8_t pub[LEDGER_KEY_LEN])
{
	char path[PATH_MAX + 16], text[LEDGER_PUB_TEXT_LEN + 1];
	uint8_t got[LEDGER_KEY_LEN];
	ssize_t n;
	int fd;
	snprintf(path, sizeof(path), "%s/audit.pub", data_dir);
	crypto_hex_encode(pub, CRYPTO_ED25519_KEY_LEN, text, sizeof(text));
	text[LEDGER_PUB_TEXT_LEN - 1] = '\n';
	text[LEDGER_PUB_TEXT_LEN] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		n = write(fd, text, LEDGER_PUB_TEXT_LEN);
		if (fsync(fd) != 0)
			n = -1;
		close(fd);
		return n == LEDGER_PUB_TEXT_LEN ? LEDGER_OK : STORE_EIO;
	}
	if (errno != EEXIST || ledger_audit_pub_read(data_dir, got) != LEDGER_OK)
		return STORE_EIO;
	return memcmp(got, pub, LEDGER_KEY_LEN) == 0 ? LEDGER_OK : STORE_EIO;
}

/* Notes where audit.pub is, for verify; refused when the path would not fit. */
static int ledger_checkpoints_dir(struct ledger *l, const char *data_dir)
{
	int n = snprintf(l->data_dir, sizeof(l->data_dir), "%s", data_dir);
	return n >= 0 && (size_t)n < sizeof(l->data_dir) ? LEDGER_OK : LEDGER_EINVAL;
}

int ledger_checkpoints_find(struct ledger *l, const char *data_dir)
{
	int rc = ledger_checkpoints_dir(l, data_dir);
	if (rc == LEDGER_OK && l->signer)
		return LEDGER_OK;
	if (rc == LEDGER_OK)
		rc = store_dbi_open(l->store, "ledger_checkpoints", 0, &l->signer_dbi);
	/* A store where no checkpoint was ever made has no such DBI: nothing to check. */
	if (rc == STORE_ENOTFOUND)
		return LEDGER_OK;
	l->has_checkpoints = rc == LEDGER_OK;
	return rc;
}

int ledger_checkpoints_open(struct ledger *l, const char *data_dir, uint64_t interval_s)
{
	char path[PATH_MAX + 16];
	struct ledger_signer *sg;
	int rc;
	if (l->signer)
		return LEDGER_EINVAL;
	sg = calloc(1, sizeof(*sg));
	if (!sg)
		return LEDGER_ENOMEM;
	sg->l = l;
	sg->interval_ms = interval_s * 1000;
	/* The first look is one interval after start: a restart does not sign at once. */
	sg->next_ms = ledger_now_ns() / 1000000u + sg->interval_ms;
	snprintf(path, sizeof(path), "%s/audit.key", data_dir);
	if (crypto_key_file(path, sg->key, sizeof(sg->key)) != CRYPTO_OK ||
	    crypto_ed25519_public(sg->key, sg->pub) != CRYPTO_OK) {
		log_msg(LOG_ERROR, "ledger", "the key %s cannot be read or made", path);
		free(sg);
		return STORE_EIO;
	}
	if ((rc = ledger_pub_file(data_dir, sg->pub)) != LEDGER_OK) {
		log_msg(LOG_ERROR, "ledger", "%s/audit.pub cannot be written or does not match audit.key", data_dir);
		free(sg);
		return rc;
	}
	if ((rc = ledger_checkpoints_dir(l, data_dir)) != LEDGER_OK ||
	    (rc = store_dbi_open(l->store, "ledger_checkpoints", 0, &l->signer_dbi)) != 0) {
		free(sg);
		return rc;
	}
	l->has_checkpoints = true;
	l->signer = sg;
	return LEDGER_OK;
}

void ledger_checkpoints_close(struct ledger *l)
{
	struct ledger_signer *sg = l->signer;
	if (!sg)
		return;
	l->signer = NULL;
	if (sg->job_running)
		sg->stopped = true;
	else
		free(sg);
}

/* --- the schedule --- */

static int ledger_checkpoint_apply(MDB_txn *txn, void *arg)
{
	struct ledger_signer *sg = arg;
	bool made;
	return ledger_checkpoint_make(sg->l, txn, ledger_now_ns() / 1000000u, &sg->made, &made);
}

static void ledger_checkpoint_done(int status, void *arg)
{
	struct ledger_signer *sg = arg;
	sg->job_running = false;
	if (status != 0)
		log_msg(LOG_WARN, "ledger", "checkpoint failed: %s", store_strerror(status));
	if (sg->stopped)
		free(sg);
}

/* True when the tree grew since the latest checkpoint (a cheap read first). */
static bool ledger_checkpoint_due(struct ledger *l)
{
	struct ledger_checkpoint last;
	uint64_t size = 0;
	bool have = false;
	MDB_txn *txn;
	int rc;
	if (store_read_begin(l->store, &txn) != 0)
		return false;
	rc = ledger_checkpoint_state(l, txn, &size, &last, &have);
	store_read_end(l->store, txn);
	return rc == LEDGER_OK && size > (have ? last.tree_size : 0);
}

void ledger_checkpoint_tick(struct ledger *l, uint64_t now_ms)
{
	struct ledger_signer *sg = l->signer;
	if (!sg || sg->job_running || now_ms < sg->next_ms)
		return;
	sg->next_ms = now_ms + sg->interval_ms;
	if (ledger_checkpoint_due(l) &&
	    store_submit(l->store, ledger_checkpoint_apply, ledger_checkpoint_done, sg) == 0)
		sg->job_running = true;
}
