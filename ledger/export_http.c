/*
 * GET /api/v1/audit/export?from=&to= (docs/api.md, "Audit"): the auditors'
 * export as an uncompressed POSIX ustar archive of one directory, for any
 * range, as `bangsoleh audit export` writes it.
 *
 * On the ledger's work pool, ledger_export_build_dir writes the files into a
 * fresh spool folder DATA/LEDGER_EXPORT_SPOOL_DIR/<random> (0700) from one
 * read transaction; the snapshot and the thread are free again when it is
 * written. Everything that can fail has failed by then, before the 200. The
 * archive is then made on the fly from those files on the loop thread,
 * LEDGER_EXPORT_HTTP_CHUNK bytes at a time, each next chunk only once the
 * previous one is written to the socket, so a slow client holds one chunk
 * of memory (and is dropped after the server's idle timeout). The spool
 * folder goes when the reply ends or the client leaves, and those a crash
 * left behind go at start. At most LEDGER_EXPORT_HTTP_AT_ONCE exports at a
 * time; one more answers 503 export_busy.
 */
#include "audit_export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "clock.h"
#include "httpd.h"
#include "internal.h"
#include "log.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define TAR_BLOCK 512
#define TAR_DIR_MAX 64                    /* "bangsoleh-export-<from ms>-<to ms>" */
#define TAR_NAME_MAX 100                  /* ustar's name field */
#define EXPORT_SPOOL_TEMPLATE "XXXXXX"    /* mkdtemp's random part */
#define EXPORT_RETRY_AFTER "10"           /* seconds, for a second export while one runs */
#define TAR_SIZE_MAX 077777777777ull      /* ustar's size field: 11 octal digits (8 GiB - 1) */

/* An octal field of `width` bytes: width - 1 digits with leading zeros, then NUL. */
static void tar_octal(uint8_t *field, size_t width, uint64_t v)
{
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (uint8_t)('0' + (v & 7));
}

/* A ustar header block (docs/audit.md, "Over HTTP"); name shorter than TAR_NAME_MAX. */
static void tar_header(uint8_t h[TAR_BLOCK], const char *name, char type, uint64_t size, uint64_t mtime)
{
	unsigned sum = 0;
	memset(h, 0, TAR_BLOCK);
	memcpy(h, name, strlen(name));
	tar_octal(h + 100, 8, type == '5' ? 0755 : 0644);
	tar_octal(h + 108, 8, 0);
	tar_octal(h + 116, 8, 0);
	tar_octal(h + 124, 12, size);
	tar_octal(h + 136, 12, mtime);
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

/* Zeros that pad a file of `size` bytes to a whole block. */
static uint64_t tar_pad(uint64_t size)
{
	return (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
}

/*
 * An export request, from its handler to the end of its reply. The archive
 * is a row of parts: the directory's header (part 0), then for file i its
 * header, data and padding (parts 1 + 3i, 2 + 3i, 3 + 3i), then two zero
 * blocks (part 1 + 3n).
 */
struct export_job {
	struct ledger *l;
	struct httpd_req *req;
	int64_t from_ms, to_ms;
	uint64_t mtime;                   /* seconds, of the request */
	char name[TAR_DIR_MAX];           /* the archive's directory */
	char spool[PATH_MAX];             /* the spool folder, "" once removed */
	uint64_t room;                    /* entries the spool's disk has room for */
	bool oversize;                    /* a file over TAR_SIZE_MAX: no ustar archive can hold it */
	uint8_t pub[LEDGER_KEY_LEN];
	bool has_pub;
	struct ledger_export_summary s;
	size_t part;                      /* the part being sent */
	uint64_t at;                      /* bytes of it sent */
	int fd;                           /* the file of a data part, open while it is sent; else -1 */
	uint8_t chunk[LEDGER_EXPORT_HTTP_CHUNK];
};

/* Removes a spool folder and the files in it (it holds no folders). Best effort: a crash leaves it to the next start. */
static void export_spool_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (d) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	if (rmdir(dir) != 0 && errno != ENOENT)
		log_msg(LOG_WARN, "ledger", "cannot remove the export spool %s: %s", dir, strerror(errno));
}

/* The end of a job, whatever way it ends: its spool folder goes and another export may start. */
static void export_job_free(struct export_job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	if (j->spool[0])
		export_spool_remove(j->spool);
	j->l->exports_http--;
	free(j);
}

/* The spool's free bytes, as entries of LEDGER_EXPORT_SPOOL_ENTRY_MAX bytes beyond LEDGER_EXPORT_SPOOL_SPARE. */
static uint64_t export_room(const char *dir)
{
	struct statvfs v;
	uint64_t free_bytes;
	if (statvfs(dir, &v) != 0)
		return 0;
	free_bytes = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
	if (free_bytes <= LEDGER_EXPORT_SPOOL_SPARE)
		return 0;
	return (free_bytes - LEDGER_EXPORT_SPOOL_SPARE) / LEDGER_EXPORT_SPOOL_ENTRY_MAX;
}

/* A pool thread: the files into the spool from the read transaction lent for the call. */
static int export_read(MDB_txn *txn, void *arg)
{
	struct export_job *j = arg;
	struct ledger_export_limits limits = { 0, 0 };
	int rc;
	/* A range too large for the disk is refused (507) before a byte is written (a limit of 0 is none). */
	j->room = export_room(j->spool);
	if (j->room == 0)
		return LEDGER_EXPORT_ETOOBIG;
	limits.entries_max = j->room;
	rc = ledger_export_build_dir(j->l, txn, j->from_ms, j->to_ms, j->has_pub ? j->pub : NULL, &limits, j->spool,
				     NULL, NULL, &j->s);
	for (size_t i = 0; rc == 0 && i < j->s.files; i++)
		j->oversize |= j->s.file_size[i] > TAR_SIZE_MAX;
	return rc;
}

/* Bytes in part p of the archive. */
static uint64_t export_part_size(const struct export_job *j, size_t p)
{
	if (p == 0)
		return TAR_BLOCK;
	if (p == 1 + 3 * j->s.files)
		return 2 * TAR_BLOCK;
	switch ((p - 1) % 3) {
	case 0:
		return TAR_BLOCK;
	case 1:
		return j->s.file_size[(p - 1) / 3];
	default:
		return tar_pad(j->s.file_size[(p - 1) / 3]);
	}
}

/* len bytes of the current data part's file at j->at into out. Returns 0 or STORE_EIO (the spool changed). */
static int export_read_file(struct export_job *j, uint8_t *out, size_t len)
{
	char path[PATH_MAX];
	size_t got = 0;
	if (j->fd < 0) {
		int n = snprintf(path, sizeof(path), "%s/%s", j->spool, j->s.file_name[(j->part - 1) / 3]);
		if (n < 0 || (size_t)n >= sizeof(path) || (j->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return STORE_EIO;
	}
	while (got < len) {
		ssize_t n = pread(j->fd, out + got, len - got, (off_t)(j->at + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return STORE_EIO;
		got += (size_t)n;
	}
	return 0;
}

/* len bytes of the current part from j->at into out. Returns 0 or STORE_EIO. */
static int export_part_bytes(struct export_job *j, uint8_t *out, size_t len)
{
	uint8_t block[TAR_BLOCK];
	char path[TAR_NAME_MAX];
	size_t p = j->part;
	if (p != 0 && p != 1 + 3 * j->s.files && (p - 1) % 3 == 1)
		return export_read_file(j, out, len);
	if (p == 0 || (p != 1 + 3 * j->s.files && (p - 1) % 3 == 0)) {
		if (p == 0) {
			snprintf(path, sizeof(path), "%s/", j->name);
			tar_header(block, path, '5', 0, j->mtime);
		} else {
			snprintf(path, sizeof(path), "%s/%s", j->name, j->s.file_name[(p - 1) / 3]);
			tar_header(block, path, '0', j->s.file_size[(p - 1) / 3], j->mtime);
		}
		memcpy(out, block + j->at, len);
		return 0;
	}
	memset(out, 0, len);
	return 0;
}

/* The archive's next bytes into j->chunk. OUT: *len, 0 at its end. Returns 0 or STORE_EIO. */
static int export_fill(struct export_job *j, size_t *len)
{
	const size_t last = 1 + 3 * j->s.files;
	*len = 0;
	while (*len < sizeof(j->chunk) && j->part <= last) {
		uint64_t size = export_part_size(j, j->part);
		uint64_t left = size - j->at;
		size_t take = left < sizeof(j->chunk) - *len ? (size_t)left : sizeof(j->chunk) - *len;
		if (take && export_part_bytes(j, j->chunk + *len, take) != 0)
			return STORE_EIO;
		*len += take;
		j->at += take;
		if (j->at == size) {
			if (j->fd >= 0)
				close(j->fd);
			j->fd = -1;
			j->part++;
			j->at = 0;
		}
	}
	return 0;
}

/* The archive's length: Content-Length, so a client can tell a download cut short. */
static uint64_t export_tar_len(const struct export_job *j)
{
	uint64_t len = 0;
	for (size_t p = 0; p <= 1 + 3 * j->s.files; p++)
		len += export_part_size(j, p);
	return len;
}

static void export_closed(void *arg)
{
	export_job_free(arg);
}

/* Sends the next chunk once the last one is written; ends the reply after the last. */
static void export_send_next(void *arg)
{
	struct export_job *j = arg;
	size_t len;
	int rc = export_fill(j, &len);
	if (rc == 0 && len > 0 && httpd_stream_send_then(j->req, j->chunk, len, export_send_next, j) == HTTPD_OK)
		return;
	/* An end short of Content-Length closes the connection (Connection: close): the client sees the cut. */
	if (rc != 0)
		log_msg(LOG_ERROR, "ledger", "cannot read the export spool %s: the download was cut short", j->spool);
	httpd_stream_end(j->req);
	export_job_free(j);
}

static void export_done(int status, void *arg)
{
	struct export_job *j = arg;
	char value[TAR_DIR_MAX + 48];
	if (status == LEDGER_EXPORT_ETOOBIG) {
		if (j->room == 0)
			httpd_reply_error(j->req, 507, "export_no_space",
					  "the disk of the data folder has no more than the %llu bytes kept free for the "
					  "store: free some space or use `bangsoleh audit export --out` on another disk",
					  LEDGER_EXPORT_SPOOL_SPARE);
		else
			httpd_reply_error(j->req, 507, "export_no_space",
					  "the range holds %" PRIu64 " entries; the disk of the data folder has room for %" PRIu64
					  " (%d bytes each, %llu bytes kept free): free some space or use `bangsoleh audit "
					  "export --out` on another disk",
					  j->s.entries, j->room, LEDGER_EXPORT_SPOOL_ENTRY_MAX, LEDGER_EXPORT_SPOOL_SPARE);
		export_job_free(j);
		return;
	}
	if (status == 0 && j->oversize) {
		httpd_reply_error(j->req, 413, "export_too_large",
				  "a file of this export is 8 GiB or more, more than a tar archive can say: use "
				  "`bangsoleh audit export --out` or a shorter range");
		export_job_free(j);
		return;
	}
	if (status != 0) {
		httpd_reply_store_error(j->req, status == LEDGER_ENOMEM ? STORE_ENOMEM : status);
		export_job_free(j);
		return;
	}
	snprintf(value, sizeof(value), "attachment; filename=\"%s.tar\"", j->name);
	httpd_set_header(j->req, "Content-Disposition", value);
	snprintf(value, sizeof(value), "%" PRIu64, export_tar_len(j));
	httpd_set_header(j->req, "Content-Length", value);
	httpd_set_header(j->req, "Connection", "close");
	if (httpd_stream_start(j->req, "application/x-tar", export_closed, j) != HTTPD_OK) {
		/* The client left while the files were written. */
		httpd_reply_store_error(j->req, STORE_EIO);
		export_job_free(j);
		return;
	}
	export_send_next(j);
}

/* Makes DATA/LEDGER_EXPORT_SPOOL_DIR/<random> (0700). OUT: dir (PATH_MAX bytes). */
static int export_spool_new(const struct ledger *l, char *dir)
{
	int n = snprintf(dir, PATH_MAX, "%s/" LEDGER_EXPORT_SPOOL_DIR, l->data_dir);
	if (n < 0 || (size_t)n + sizeof("/" EXPORT_SPOOL_TEMPLATE) > PATH_MAX ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST))
		return STORE_EIO;
	strcat(dir, "/" EXPORT_SPOOL_TEMPLATE);
	return mkdtemp(dir) ? 0 : STORE_EIO;
}

static void export_handle(struct httpd_req *req, void *ctx)
{
	struct ledger *l = ctx;
	struct export_job *j;
	int64_t from_ms, to_ms;
	bool given;
	int rc;

	if (strcmp(httpd_method(req), "HEAD") == 0) {
		/* Its length is known only once the files are written. */
		httpd_set_header(req, "Allow", "GET");
		httpd_reply_error(req, 405, "method_not_allowed", "allowed: GET");
		return;
	}
	if (httpd_query_time(req, "from", true, &from_ms, &given) != 0 ||
	    httpd_query_time(req, "to", true, &to_ms, &given) != 0)
		return;
	if (to_ms <= from_ms) {
		httpd_reply_error(req, 400, "invalid_field", "to must be after from");
		return;
	}
	if (l->exports_http >= LEDGER_EXPORT_HTTP_AT_ONCE) {
		httpd_set_header(req, "Retry-After", EXPORT_RETRY_AFTER);
		httpd_reply_error(req, 503, "export_busy",
				  "another export is being written or sent (at most %d at a time); try again later",
				  LEDGER_EXPORT_HTTP_AT_ONCE);
		return;
	}
	if (!l->data_dir[0]) {
		httpd_reply_unavailable(req, "no data folder to spool the export in");
		return;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		httpd_reply_store_error(req, STORE_ENOMEM);
		return;
	}
	l->exports_http++;
	j->l = l;
	j->req = req;
	j->fd = -1;
	j->from_ms = from_ms;
	j->to_ms = to_ms;
	j->mtime = (uint64_t)clock_now_ms() / 1000u;
	snprintf(j->name, sizeof(j->name), "bangsoleh-export-%" PRId64 "-%" PRId64, from_ms, to_ms);
	if (l->signer) {
		ledger_checkpoint_public_key(l, j->pub);
		j->has_pub = true;
	}
	if ((rc = export_spool_new(l, j->spool)) != 0) {
		log_msg(LOG_ERROR, "ledger", "cannot make an export spool under %s: %s", l->data_dir, strerror(errno));
		j->spool[0] = '\0';
	} else if ((rc = store_read_async(l->store, l->workq, export_read, export_done, j)) == STORE_OK) {
		return;
	}
	httpd_reply_store_error(req, rc);
	export_job_free(j);
}

/* Removes the spool folders a crash left behind: no export runs yet. */
static void export_spool_sweep(const struct ledger *l)
{
	char dir[PATH_MAX], path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int n = snprintf(dir, sizeof(dir), "%s/" LEDGER_EXPORT_SPOOL_DIR, l->data_dir);
	if (n < 0 || (size_t)n >= sizeof(dir) || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n >= 0 && (size_t)n < sizeof(path))
			export_spool_remove(path);
	}
	closedir(d);
}

int ledger_export_attach(struct ledger *l, struct httpd *h)
{
	if (l->data_dir[0])
		export_spool_sweep(l);
	return httpd_route(h, ROUTER_GET, "/api/v1/audit/export", ROLE_ADMIN | ROLE_AUDITOR, export_handle, l);
}
