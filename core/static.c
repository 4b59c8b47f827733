#include "static.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <zlib.h>

#include "build_config.h"
#include "crypto.h"
#include "httpd.h"
#include "log.h"
#include "role.h"
#include "router.h"

/* Quoted: 32 hex digits of the SHA-256, and "-gz" for the gzip copy. */
#define STATIC_ETAG_MAX 40
#define STATIC_ETAG_HEX 32

struct static_file {
	char url[STATIC_URL_MAX];   /* the route: "/js/api.js"; the root index.html also gets "/" */
	const char *type;           /* Content-Type, static storage */
	uint8_t *data;
	size_t len;
	uint8_t *gz;                /* NULL when not worth it */
	size_t gz_len;
	char etag[STATIC_ETAG_MAX];
	char etag_gz[STATIC_ETAG_MAX];
};

struct static_files {
	char root[PATH_MAX];        /* resolved, without a trailing '/' */
	struct static_file *files[STATIC_FILES_MAX];
	size_t n;
	size_t total;
};

struct static_type {
	const char *ext;
	const char *type;
	bool text;                  /* worth compressing */
};

static const struct static_type static_types[] = {
	{ "html", "text/html; charset=utf-8", true },
	{ "css", "text/css; charset=utf-8", true },
	{ "js", "text/javascript; charset=utf-8", true },
	{ "mjs", "text/javascript; charset=utf-8", true },
	{ "json", "application/json; charset=utf-8", true },
	{ "webmanifest", "application/manifest+json; charset=utf-8", true },
	{ "svg", "image/svg+xml; charset=utf-8", true },
	{ "txt", "text/plain; charset=utf-8", true },
	{ "png", "image/png", false },
	{ "jpg", "image/jpeg", false },
	{ "jpeg", "image/jpeg", false },
	{ "webp", "image/webp", false },
	{ "ico", "image/x-icon", false },
	{ "woff2", "font/woff2", false },
};

static const struct static_type static_unknown = { "", "application/octet-stream", false };

/* Top-level names the API owns: a web file there would shadow or clash with it. */
static const char *const static_reserved[] = { "api", "metrics", "healthz" };

static const struct static_type *static_type_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++)
			if (strcasecmp(dot + 1, static_types[i].ext) == 0)
				return &static_types[i];
	return &static_unknown;
}

static bool static_name_ok(const char *name)
{
	size_t n = 0;
	if (name[0] == '.')
		return false;
	for (; name[n]; n++) {
		char c = name[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		if (!ok || n == STATIC_NAME_MAX)
			return false;
	}
	return n > 0;
}

static bool static_reserved_name(const char *name)
{
	for (size_t i = 0; i < sizeof(static_reserved) / sizeof(static_reserved[0]); i++)
		if (strcmp(name, static_reserved[i]) == 0)
			return true;
	return false;
}

static void static_file_free(struct static_file *f)
{
	if (!f)
		return;
	free(f->data);
	free(f->gz);
	free(f);
}

void static_free(struct static_files *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		static_file_free(s->files[i]);
	free(s);
}


/* Reads a whole regular file of at most STATIC_FILE_MAX bytes. OUT: *data (malloc'd), *len. */
static int static_read(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int rc = STATIC_EIO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_msg(LOG_ERROR, "static", "cannot read %s: %s", path, fd < 0 ? strerror(errno) : "not a file");
		goto close_fd;
	}
	if (st.st_size > STATIC_FILE_MAX) {
		log_msg(LOG_ERROR, "static", "%s is %lld bytes, over the %d-byte bound of a web file", path,
			(long long)st.st_size, STATIC_FILE_MAX);
		rc = STATIC_EINVAL;
		goto close_fd;
	}
	/* One byte more than the size, to notice a file that grew while read. */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = STATIC_ENOMEM;
		goto close_fd;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (size_t)r + got > (size_t)st.st_size) {
			log_msg(LOG_ERROR, "static", "cannot read %s: %s", path,
				r < 0 ? strerror(errno) : "it changed while read");
			goto free_buf;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*data = buf;
	*len = got;
	rc = STATIC_OK;
	goto close_fd;
free_buf:
	free(buf);
close_fd:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Gzips f->data into f->gz when the file is text, large enough and the copy is smaller. */
static int static_gzip(struct static_file *f, bool text)
{
	z_stream z = { 0 };
	uLong cap;
	int rc = STATIC_OK;
	if (!text || f->len < STATIC_GZIP_MIN)
		return STATIC_OK;
	/* windowBits 15 + 16: the gzip wrapper rather than zlib's. */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return STATIC_ENOMEM;
	cap = deflateBound(&z, (uLong)f->len);
	f->gz = malloc(cap);
	if (!f->gz) {
		rc = STATIC_ENOMEM;
		goto end_stream;
	}
	z.next_in = f->data;
	z.avail_in = (uInt)f->len;
	z.next_out = f->gz;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out >= f->len) {
		free(f->gz);
		f->gz = NULL;
		goto end_stream;
	}
	f->gz_len = z.total_out;
end_stream:
	deflateEnd(&z);
	return rc;
}

static int static_etag(struct static_file *f)
{
	uint8_t digest[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	if (crypto_sha256(f->data, f->len, digest) != CRYPTO_OK ||
	    crypto_hex_encode(digest, sizeof(digest), hex, sizeof(hex)) != CRYPTO_OK)
		return STATIC_ENOMEM;
	snprintf(f->etag, sizeof(f->etag), "\"%.*s\"", STATIC_ETAG_HEX, hex);
	snprintf(f->etag_gz, sizeof(f->etag_gz), "\"%.*s-gz\"", STATIC_ETAG_HEX, hex);
	return STATIC_OK;
}

/* Loads the file at path as route url. */
static int static_add(struct static_files *s, const char *path, const char *url, const char *name)
{
	const struct static_type *t = static_type_of(name);
	struct static_file *f;
	int rc;
	if (s->n == STATIC_FILES_MAX) {
		log_msg(LOG_ERROR, "static", "%s has more than %d files", s->root, STATIC_FILES_MAX);
		return STATIC_EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return STATIC_ENOMEM;
	snprintf(f->url, sizeof(f->url), "%s", url);
	f->type = t->type;
	rc = static_read(path, &f->data, &f->len);
	if (rc == STATIC_OK && f->len > STATIC_TOTAL_MAX - s->total) {
		log_msg(LOG_ERROR, "static", "the files of %s exceed %d bytes together", s->root, STATIC_TOTAL_MAX);
		rc = STATIC_EINVAL;
	}
	if (rc == STATIC_OK)
		rc = static_etag(f);
	if (rc == STATIC_OK)
		rc = static_gzip(f, t->text);
	if (rc != STATIC_OK) {
		static_file_free(f);
		return rc;
	}
	s->total += f->len;
	s->files[s->n++] = f;
	return STATIC_OK;
}

/*
 * A symbolic link is taken only when it resolves to a regular file inside
 * the root. OUT: real, the target's path (read from there, not through the
 * link again). Returns true to take it.
 */
static bool static_link_ok(const struct static_files *s, const char *path, char real[PATH_MAX])
{
	struct stat st;
	size_t n = strlen(s->root);
	if (!realpath(path, real) || strncmp(real, s->root, n) != 0 || real[n] != '/' ||
	    stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_msg(LOG_WARN, "static", "skipping %s: a link to outside the web root or to a folder", path);
		return false;
	}
	return true;
}

/* Walks the folder dir (url prefix `url`, "" at the root) at the given depth. */
static int static_walk(struct static_files *s, const char *dir, const char *url, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = STATIC_OK;
	if (!d) {
		log_msg(LOG_ERROR, "static", "cannot open %s: %s", dir, strerror(errno));
		return STATIC_EIO;
	}
	while (rc == STATIC_OK && (e = readdir(d)) != NULL) {
		char path[PATH_MAX], real[PATH_MAX];
		char sub[STATIC_URL_MAX];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!static_name_ok(e->d_name) || (depth == 0 && static_reserved_name(e->d_name))) {
			log_msg(LOG_WARN, "static", "skipping %s/%s: not a name the web root serves", dir, e->d_name);
			continue;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) ||
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", url, e->d_name) >= sizeof(sub)) {
			log_msg(LOG_WARN, "static", "skipping %s/%s: the path is too long", dir, e->d_name);
			continue;
		}
		if (lstat(path, &st) != 0) {
			log_msg(LOG_ERROR, "static", "cannot stat %s: %s", path, strerror(errno));
			rc = STATIC_EIO;
		} else if (S_ISLNK(st.st_mode)) {
			if (static_link_ok(s, path, real))
				rc = static_add(s, real, sub, e->d_name);
		} else if (S_ISDIR(st.st_mode)) {
			if (depth + 1 < STATIC_DEPTH_MAX)
				rc = static_walk(s, path, sub, depth + 1);
			else
				log_msg(LOG_WARN, "static", "skipping %s: deeper than %d folders", path, STATIC_DEPTH_MAX);
		} else if (S_ISREG(st.st_mode)) {
			rc = static_add(s, path, sub, e->d_name);
		}
	}
	closedir(d);
	return rc;
}

/* True when this process's executable lies in the build folder it was built in. */
static bool static_in_build_folder(void)
{
	char exe[PATH_MAX], build[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	if (n <= 0 || !realpath(BANGSOLEH_BUILD_ROOT, build))
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return strcmp(exe, build) == 0;
}

int static_open(const char *root, struct static_files **out)
{
	const char *dir = root;
	bool named = root && root[0];
	struct static_files *s;
	int rc;
	if (!named)
		dir = static_in_build_folder() ? BANGSOLEH_SOURCE_WEB : BANGSOLEH_INSTALLED_WEB;
	s = calloc(1, sizeof(*s));
	if (!s)
		return STATIC_ENOMEM;
	if (!realpath(dir, s->root)) {
		if (named) {
			log_msg(LOG_ERROR, "static", "web.root %s: %s", dir, strerror(errno));
			free(s);
			return STATIC_EIO;
		}
		log_msg(LOG_WARN, "static", "no web front end at %s (set web.root): serving the API only", dir);
		*out = s;
		return STATIC_OK;
	}
	rc = static_walk(s, s->root, "", 0);
	if (rc != STATIC_OK) {
		static_free(s);
		return rc;
	}
	log_msg(LOG_INFO, "static", "serving %zu web files (%zu bytes) from %s", s->n, s->total, s->root);
	*out = s;
	return STATIC_OK;
}

/* True when an Accept-Encoding element's parameters (after its coding) hold q=0, q=0.0 and the like. */
static bool static_q_zero(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		size_t j;
		if ((p[i] != 'q' && p[i] != 'Q') || p[i + 1] != '=')
			continue;
		j = i + 2;
		if (j >= len || p[j] != '0')
			return false;
		for (j++; j < len && (p[j] == '.' || p[j] == '0'); j++)
			;
		return j == len || p[j] == ' ' || p[j] == '\t' || p[j] == ';';
	}
	return false;
}

/* True when "gzip" (or "*") is among the accepted codings and not refused with q=0. */
static bool static_accepts_gzip(const char *accept)
{
	const char *p = accept;
	while (p && *p) {
		size_t len = strcspn(p, ",");
		size_t tok;
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		tok = strcspn(p, " \t;,");
		if ((tok == 4 && strncasecmp(p, "gzip", 4) == 0) || (tok == 1 && p[0] == '*'))
			return !static_q_zero(p + tok, len - tok);
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* True when If-None-Match names this file's content ("*", or either ETag, weak or strong). */
static bool static_not_modified(const char *inm, const struct static_file *f)
{
	while (inm && *inm) {
		size_t len;
		while (*inm == ' ' || *inm == '\t' || *inm == ',')
			inm++;
		if (strncmp(inm, "W/", 2) == 0)
			inm += 2;
		len = strcspn(inm, ", \t");
		if ((len == 1 && inm[0] == '*') || (len == strlen(f->etag) && strncmp(inm, f->etag, len) == 0) ||
		    (f->gz && len == strlen(f->etag_gz) && strncmp(inm, f->etag_gz, len) == 0))
			return true;
		inm += len;
	}
	return false;
}

static void static_on_get(struct httpd_req *r, void *ctx)
{
	const struct static_file *f = ctx;
	bool gz = f->gz && static_accepts_gzip(httpd_header(r, "Accept-Encoding"));
	if (f->gz)
		httpd_set_header(r, "Vary", "Accept-Encoding");
	httpd_set_header(r, "ETag", gz ? f->etag_gz : f->etag);
	/* No hashed file names (no build step): always revalidate, which the ETag makes cheap. */
	httpd_set_header(r, "Cache-Control", "no-cache");
	httpd_set_header(r, "X-Content-Type-Options", "nosniff");
	httpd_set_header(r, "Referrer-Policy", "no-referrer");
	httpd_set_header(r, "Content-Security-Policy",
			 "default-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; "
			 "frame-ancestors 'none'; form-action 'self'");
	if (static_not_modified(httpd_header(r, "If-None-Match"), f)) {
		httpd_reply_raw(r, 304, NULL, NULL, 0);
		return;
	}
	if (gz)
		httpd_set_header(r, "Content-Encoding", "gzip");
	httpd_reply_raw(r, 200, f->type, gz ? f->gz : f->data, gz ? f->gz_len : f->len);
}

int static_attach(struct static_files *s, struct httpd *h)
{
	for (size_t i = 0; i < s->n; i++) {
		struct static_file *f = s->files[i];
		if (httpd_route(h, ROUTER_GET, f->url, ROLE_PUBLIC, static_on_get, f) != HTTPD_OK) {
			log_msg(LOG_ERROR, "static", "cannot route %s (too many routes?)", f->url);
			return STATIC_EINVAL;
		}
		if (strcmp(f->url, "/index.html") == 0 &&
		    httpd_route(h, ROUTER_GET, "/", ROLE_PUBLIC, static_on_get, f) != HTTPD_OK) {
			log_msg(LOG_ERROR, "static", "cannot route /");
			return STATIC_EINVAL;
		}
	}
	return STATIC_OK;
}
