/*
 * GET /api/v1/audit/export?from=&to= (docs/api.md, "Audit"): the auditors'
 * export as an uncompressed POSIX ustar archive of one directory. Built in
 * memory from one read transaction on the work pool, and bounded: at most
 * LEDGER_EXPORT_HTTP_ENTRIES_MAX entries in the range and
 * LEDGER_EXPORT_HTTP_OPENING_MAX records read for the opening balances;
 * beyond, 413 and the CLI.
 */
#include "audit_export.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "httpd.h"
#include "internal.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define TAR_BLOCK 512
#define TAR_DIR_MAX 64                    /* "bangsoleh-export-<from ms>-<to ms>" */
#define TAR_NAME_MAX 100                  /* ustar's name field */
#define TAR_INITIAL (64 * 1024)

/* The archive being built: one directory, then a header and the data of each file. */
struct tar_sink {
	uint8_t *buf;
	size_t len, cap;
	size_t header;                    /* offset of the open file's header */
	char dir[TAR_DIR_MAX];
	uint64_t mtime;                   /* seconds */
};

static int tar_reserve(struct tar_sink *t, size_t more)
{
	size_t cap = t->cap ? t->cap : TAR_INITIAL;
	uint8_t *bigger;
	if (more > SIZE_MAX / 2 - t->len)
		return LEDGER_ENOMEM;
	while (cap < t->len + more)
		cap *= 2;
	if (cap == t->cap)
		return LEDGER_OK;
	bigger = realloc(t->buf, cap);
	if (!bigger)
		return LEDGER_ENOMEM;
	t->buf = bigger;
	t->cap = cap;
	return LEDGER_OK;
}

/* An octal field of `width` bytes: width - 1 digits with leading zeros, then NUL. */
static void tar_octal(uint8_t *field, size_t width, uint64_t v)
{
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (uint8_t)('0' + (v & 7));
}

/* A ustar header block at t->buf + at. */
static void tar_header(struct tar_sink *t, size_t at, const char *name, char type, uint64_t size)
{
	uint8_t *h = t->buf + at;
	unsigned sum = 0;
	memset(h, 0, TAR_BLOCK);
	memcpy(h, name, strlen(name));
	tar_octal(h + 100, 8, type == '5' ? 0755 : 0644);
	tar_octal(h + 108, 8, 0);
	tar_octal(h + 116, 8, 0);
	tar_octal(h + 124, 12, size);
	tar_octal(h + 136, 12, t->mtime);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	/* The checksum counts its own field as eight spaces. */
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	tar_octal(h + 148, 7, sum);
	h[155] = ' ';
}

static int tar_begin(void *ctx, const char *name)
{
	struct tar_sink *t = ctx;
	if (tar_reserve(t, TAR_BLOCK) != LEDGER_OK)
		return LEDGER_ENOMEM;
	t->header = t->len;
	memset(t->buf + t->len, 0, TAR_BLOCK);
	t->len += TAR_BLOCK;
	(void)name;
	return 0;
}

static int tar_write(void *ctx, const void *data, size_t len)
{
	struct tar_sink *t = ctx;
	if (tar_reserve(t, len) != LEDGER_OK)
		return LEDGER_ENOMEM;
	memcpy(t->buf + t->len, data, len);
	t->len += len;
	return 0;
}

static int tar_end_file(struct tar_sink *t, const char *name, uint8_t sha256[LEDGER_HASH_LEN], uint64_t *size)
{
	char path[TAR_NAME_MAX];
	size_t start = t->header + TAR_BLOCK;
	size_t pad = (TAR_BLOCK - (t->len - start) % TAR_BLOCK) % TAR_BLOCK;
	*size = t->len - start;
	if (crypto_sha256(t->buf + start, *size, sha256) != CRYPTO_OK || tar_reserve(t, pad) != LEDGER_OK)
		return LEDGER_ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	tar_header(t, t->header, path, '0', *size);
	memset(t->buf + t->len, 0, pad);
	t->len += pad;
	return 0;
}

/* The sink's end needs the file's name: kept by the wrapper below. */
struct tar_named {
	struct tar_sink tar;
	const char *name;
};

static int tar_named_begin(void *ctx, const char *name)
{
	struct tar_named *n = ctx;
	n->name = name;
	return tar_begin(&n->tar, name);
}

static int tar_named_write(void *ctx, const void *data, size_t len)
{
	return tar_write(&((struct tar_named *)ctx)->tar, data, len);
}

static int tar_named_end(void *ctx, uint8_t sha256[LEDGER_HASH_LEN], uint64_t *size)
{
	struct tar_named *n = ctx;
	return tar_end_file(&n->tar, n->name, sha256, size);
}

/* An export request on its way through the work pool, and the archive its read builds. */
struct export_job {
	struct ledger *l;
	struct httpd_req *req;
	int64_t from_ms, to_ms;
	struct tar_named n;
	struct ledger_export_summary s;
};

/* A pool thread: the whole archive from the read transaction lent for the call. */
static int export_read(MDB_txn *txn, void *arg)
{
	struct export_job *j = arg;
	const struct ledger_export_limits limits = { LEDGER_EXPORT_HTTP_ENTRIES_MAX, LEDGER_EXPORT_HTTP_OPENING_MAX };
	const struct ledger_export_sink sink = { tar_named_begin, tar_named_write, tar_named_end, &j->n };
	struct tar_sink *t = &j->n.tar;
	uint8_t pub[LEDGER_KEY_LEN];
	char dir[TAR_NAME_MAX];
	int rc;
	if (j->l->signer)
		ledger_checkpoint_public_key(j->l, pub);
	if ((rc = tar_begin(t, t->dir)) != 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/", t->dir);
	tar_header(t, t->header, dir, '5', 0);
	rc = ledger_export_build(j->l, txn, j->from_ms, j->to_ms, j->l->signer ? pub : NULL, &limits, &sink, NULL, NULL,
				 &j->s);
	if (rc == 0 && (rc = tar_reserve(t, 2 * TAR_BLOCK)) == LEDGER_OK) {
		memset(t->buf + t->len, 0, 2 * TAR_BLOCK);
		t->len += 2 * TAR_BLOCK;
	}
	return rc;
}

static void export_done(int status, void *arg)
{
	struct export_job *j = arg;
	char disposition[TAR_DIR_MAX + 48];
	if (status == LEDGER_EXPORT_ETOOBIG) {
		httpd_reply_error(j->req, 413, "export_too_large",
				  "the range holds %" PRIu64 " entries and its opening balances need %" PRIu64
				  " records read; an HTTP export takes at most %d and %d: use a shorter range or "
				  "`bangsoleh audit export`",
				  j->s.entries, j->s.opening_cost, LEDGER_EXPORT_HTTP_ENTRIES_MAX,
				  LEDGER_EXPORT_HTTP_OPENING_MAX);
	} else if (status != 0) {
		httpd_reply_store_error(j->req, status == LEDGER_ENOMEM ? STORE_ENOMEM : status);
	} else {
		snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.tar\"", j->n.tar.dir);
		httpd_set_header(j->req, "Content-Disposition", disposition);
		httpd_reply_raw(j->req, 200, "application/x-tar", j->n.tar.buf, j->n.tar.len);
	}
	free(j->n.tar.buf);
	free(j);
}

static void export_handle(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	struct export_job *j;
	int64_t from_ms, to_ms;
	bool given;
	int rc;

	if (httpd_query_time(req, "from", true, &from_ms, &given) != 0 ||
	    httpd_query_time(req, "to", true, &to_ms, &given) != 0)
		return;
	if (to_ms <= from_ms) {
		httpd_reply_error(req, 400, "invalid_field", "to must be after from");
		return;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		httpd_reply_store_error(req, STORE_ENOMEM);
		return;
	}
	j->l = l;
	j->req = req;
	j->from_ms = from_ms;
	j->to_ms = to_ms;
	j->n.tar.mtime = (uint64_t)clock_now_ms() / 1000u;
	snprintf(j->n.tar.dir, sizeof(j->n.tar.dir), "bangsoleh-export-%" PRId64 "-%" PRId64, from_ms, to_ms);
	if ((rc = store_read_async(l->store, l->workq, export_read, export_done, j)) == STORE_OK)
		return;
	httpd_reply_store_error(req, rc);
	free(j);
}

int ledger_export_attach(struct ledger *l, struct httpd *h)
{
	return httpd_route(h, ROUTER_GET, "/api/v1/audit/export", ROLE_ADMIN | ROLE_AUDITOR, export_handle, l);
}
