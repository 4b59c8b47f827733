/*
 * Integration tests of the web front end's files (core/static.h): the real
 * server serving a web root made here, with a file of each kind, links in
 * and out of the root and names it must not serve. Types, ETag and 304,
 * gzip, HEAD, traversal attempts in several encodings, missing files, the
 * default root of a binary in its build folder and the bounds at start.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <zlib.h>

#include "static.h"
#include "testsrv.h"

#define PATH_CAP (TESTSRV_PATH_MAX + 64)
#define SECRET_TEXT "outside the web root: must never be served"
#define OUTPUT_MAX 8192

struct world {
	char dir[TESTSRV_PATH_MAX];   /* holds web/ and outside.txt */
	char root[PATH_CAP];
	char *script;                 /* the text of web/js/app.js, over STATIC_GZIP_MIN */
	struct testsrv *srv;
};

static const unsigned char png_bytes[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0 };

static void path_in(char *buf, const char *dir, const char *name)
{
	assert_true((size_t)snprintf(buf, PATH_CAP, "%s/%s", dir, name) < PATH_CAP);
}

static void write_bytes(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_CAP];
	FILE *f;
	path_in(path, dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void make_dir(const char *dir, const char *name)
{
	char path[PATH_CAP];
	path_in(path, dir, name);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* A web root with a file of each kind, and what it must not serve. */
static void make_root(struct world *w)
{
	char path[PATH_CAP];
	size_t n = 4 * STATIC_GZIP_MIN;
	assert_int_equal(testsrv_tmpdir(w->dir, sizeof(w->dir)), 0);
	path_in(w->root, w->dir, "web");
	assert_int_equal(mkdir(w->root, 0700), 0);
	write_bytes(w->dir, "outside.txt", SECRET_TEXT, strlen(SECRET_TEXT));
	write_bytes(w->root, "index.html", "<!doctype html><p>hi</p>", 24);
	make_dir(w->root, "js");
	make_dir(w->root, "css");
	w->script = malloc(n + 1);
	assert_non_null(w->script);
	for (size_t i = 0; i < n; i++)
		w->script[i] = "export const x = 1;\n"[i % 20];
	w->script[n] = '\0';
	write_bytes(w->root, "js/app.js", w->script, n);
	write_bytes(w->root, "css/app.css", "body{margin:0}", 14);
	write_bytes(w->root, "logo.png", png_bytes, sizeof(png_bytes));
	write_bytes(w->root, "data.bin", "\x01\x02", 2);
	write_bytes(w->root, ".hidden", "hidden", 6);
	write_bytes(w->root, "bad name.txt", "bad", 3);
	make_dir(w->root, "api");
	write_bytes(w->root, "api/x.txt", "shadow", 6);
	path_in(path, w->root, "out.txt");
	assert_int_equal(symlink("../outside.txt", path), 0);
	path_in(path, w->root, "in.js");
	assert_int_equal(symlink("js/app.js", path), 0);
	path_in(path, w->root, "up");
	assert_int_equal(symlink("..", path), 0);
}

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char set[PATH_CAP + 16];
	const char *args[3] = { "--set", set, NULL };
	if (!w)
		return -1;
	*state = w;
	make_root(w);
	snprintf(set, sizeof(set), "web.root=%s", w->root);
	w->srv = testsrv_new(args, NULL);
	return w->srv ? 0 : -1;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	int rc = 0;
	if (!w)
		return 0;
	/* The server must also stop cleanly (under the sanitizers: no leak). */
	if (w->srv && !testsrv_stopped_cleanly(w->srv))
		rc = -1;
	testsrv_free(w->srv);
	if (w->dir[0])
		testsrv_rmtree(w->dir);
	free(w->script);
	free(w);
	return rc;
}

static void get(const struct world *w, const char *method, const char *path, const char *const *headers,
		struct testsrv_response *resp)
{
	assert_int_equal(testsrv_request(w->srv, method, path, headers, NULL, resp), 0);
}

static void assert_header(const struct testsrv_response *resp, const char *name, const char *want)
{
	const char *got = testsrv_header(resp, name);
	if (!want) {
		if (got)
			fail_msg("%s: %s, wanted none", name, got);
		return;
	}
	if (!got)
		fail_msg("no %s header", name);
	assert_string_equal(got, want);
}

/* GETs path and checks status 200, the type and the exact body. */
static void assert_file(const struct world *w, const char *path, const char *type, const void *body, size_t len)
{
	struct testsrv_response resp;
	get(w, "GET", path, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_header(&resp, "Content-Type", type);
	assert_header(&resp, "Cache-Control", "no-cache");
	assert_header(&resp, "X-Content-Type-Options", "nosniff");
	assert_non_null(testsrv_header(&resp, "ETag"));
	assert_int_equal(resp.body_len, len);
	assert_memory_equal(resp.body, body, len);
	testsrv_response_free(&resp);
}

static void test_types(void **state)
{
	struct world *w = *state;
	assert_file(w, "/", "text/html; charset=utf-8", "<!doctype html><p>hi</p>", 24);
	assert_file(w, "/index.html", "text/html; charset=utf-8", "<!doctype html><p>hi</p>", 24);
	assert_file(w, "/js/app.js", "text/javascript; charset=utf-8", w->script, strlen(w->script));
	assert_file(w, "/js/app.js?v=2", "text/javascript; charset=utf-8", w->script, strlen(w->script));
	assert_file(w, "/css/app.css", "text/css; charset=utf-8", "body{margin:0}", 14);
	assert_file(w, "/logo.png", "image/png", png_bytes, sizeof(png_bytes));
	assert_file(w, "/data.bin", "application/octet-stream", "\x01\x02", 2);
	/* A link to a file inside the root is served as that file. */
	assert_file(w, "/in.js", "text/javascript; charset=utf-8", w->script, strlen(w->script));
}

static void test_etag_304(void **state)
{
	struct world *w = *state;
	struct testsrv_response resp;
	char etag[64], inm[128], weak[128], list[160];
	const char *h_inm[] = { inm, NULL };
	const char *h_weak[] = { weak, NULL };
	const char *h_list[] = { list, NULL };
	const char *h_other[] = { "If-None-Match: \"0123\"", NULL };
	const char *h_star[] = { "If-None-Match: *", NULL };

	get(w, "GET", "/css/app.css", NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_non_null(testsrv_header(&resp, "ETag"));
	snprintf(etag, sizeof(etag), "%s", testsrv_header(&resp, "ETag"));
	testsrv_response_free(&resp);
	assert_int_equal(strlen(etag), 34); /* a quoted SHA-256 prefix, strong */
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	snprintf(weak, sizeof(weak), "If-None-Match: W/%s", etag);
	snprintf(list, sizeof(list), "If-None-Match: \"aaaa\", %s", etag);

	const char *const *matching[] = { h_inm, h_weak, h_list, h_star };
	for (size_t i = 0; i < sizeof(matching) / sizeof(matching[0]); i++) {
		get(w, "GET", "/css/app.css", matching[i], &resp);
		assert_int_equal(resp.status, 304);
		assert_int_equal(resp.body_len, 0);
		assert_header(&resp, "ETag", etag);
		testsrv_response_free(&resp);
	}
	get(w, "GET", "/css/app.css", h_other, &resp);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.body_len, 14);
	testsrv_response_free(&resp);
	/* Another file's tag is not this one's. */
	get(w, "GET", "/index.html", h_inm, &resp);
	assert_int_equal(resp.status, 200);
	testsrv_response_free(&resp);
}

/* Inflates a gzip body; it must equal want. */
static void assert_gunzip(const struct testsrv_response *resp, const char *want)
{
	size_t cap = strlen(want) + 16;
	unsigned char *out = malloc(cap);
	z_stream z = { 0 };
	assert_non_null(out);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)resp->body;
	z.avail_in = (uInt)resp->body_len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, strlen(want));
	assert_memory_equal(out, want, strlen(want));
	inflateEnd(&z);
	free(out);
}

static void test_gzip(void **state)
{
	struct world *w = *state;
	struct testsrv_response resp;
	const char *h_gzip[] = { "Accept-Encoding: deflate, gzip;q=0.8, br", NULL };
	const char *h_refused[] = { "Accept-Encoding: gzip;q=0, identity", NULL };
	const char *h_star[] = { "Accept-Encoding: *", NULL };
	const char *h_gzip_plain[] = { "Accept-Encoding: gzip", NULL };
	char plain_etag[64];
	char inm[128];
	const char *h_inm[] = { "Accept-Encoding: gzip", inm, NULL };

	get(w, "GET", "/js/app.js", NULL, &resp);
	assert_header(&resp, "Content-Encoding", NULL);
	assert_header(&resp, "Vary", "Accept-Encoding");
	snprintf(plain_etag, sizeof(plain_etag), "%s", testsrv_header(&resp, "ETag"));
	testsrv_response_free(&resp);

	get(w, "GET", "/js/app.js", h_gzip, &resp);
	assert_int_equal(resp.status, 200);
	assert_header(&resp, "Content-Encoding", "gzip");
	assert_header(&resp, "Vary", "Accept-Encoding");
	assert_header(&resp, "Content-Type", "text/javascript; charset=utf-8");
	assert_true(resp.body_len < strlen(w->script) / 4);
	assert_gunzip(&resp, w->script);
	/* The gzip copy has its own tag. */
	assert_string_not_equal(testsrv_header(&resp, "ETag"), plain_etag);
	testsrv_response_free(&resp);

	get(w, "GET", "/js/app.js", h_star, &resp);
	assert_header(&resp, "Content-Encoding", "gzip");
	testsrv_response_free(&resp);

	get(w, "GET", "/js/app.js", h_refused, &resp);
	assert_header(&resp, "Content-Encoding", NULL);
	assert_int_equal(resp.body_len, strlen(w->script));
	testsrv_response_free(&resp);

	/* Small files and binary ones go as they are. */
	get(w, "GET", "/css/app.css", h_gzip_plain, &resp);
	assert_header(&resp, "Content-Encoding", NULL);
	assert_header(&resp, "Vary", NULL);
	testsrv_response_free(&resp);

	/* A cached plain copy still validates when the client now takes gzip. */
	snprintf(inm, sizeof(inm), "If-None-Match: %s", plain_etag);
	get(w, "GET", "/js/app.js", h_inm, &resp);
	assert_int_equal(resp.status, 304);
	testsrv_response_free(&resp);
}

/* Sends a request on a new connection and reads every byte until the server closes. */
static size_t exchange(const struct world *w, const char *request, char *buf, size_t cap)
{
	size_t got = 0;
	int fd;
	assert_int_equal(testsrv_connect(w->srv, &fd), 0);
	assert_int_equal(testsrv_send(fd, request, strlen(request)), 0);
	for (;;) {
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
		assert_true(n >= 0);
		if (n == 0)
			break;
		got += (size_t)n;
		assert_true(got < cap - 1);
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

static void test_head(void **state)
{
	struct world *w = *state;
	char buf[4096];
	char length[48];
	const char *end;
	size_t got = exchange(w, "HEAD /js/app.js HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	snprintf(length, sizeof(length), "\r\nContent-Length: %zu\r\n", strlen(w->script));
	assert_non_null(strstr(buf, length));
	assert_non_null(strstr(buf, "\r\nContent-Type: text/javascript; charset=utf-8\r\n"));
	assert_non_null(strstr(buf, "\r\nETag: \""));
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	/* The head only: no body follows. */
	assert_int_equal(got, (size_t)(end + 4 - buf));

	/* Every answer to HEAD is a head only, also the API's and its errors. */
	got = exchange(w, "HEAD /missing.js HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.1 404", 12) == 0);
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	assert_int_equal(got, (size_t)(end + 4 - buf));
	got = exchange(w, "HEAD /api/v1/ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	assert_non_null(strstr(buf, "\r\nContent-Length: "));
	assert_null(strstr(buf, "\r\nContent-Length: 0\r\n"));
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	assert_int_equal(got, (size_t)(end + 4 - buf));
}

/* Every way out of the root, plain or encoded, ends in 404 or 400 without the secret. */
static void test_traversal(void **state)
{
	static const char *const paths[] = {
		"/../outside.txt",
		"/js/../../outside.txt",
		"/js/../index.html",
		"/./index.html",
		"/%2e%2e/outside.txt",
		"/%2E%2E/outside.txt",
		"/js/%2e%2e/%2e%2e/outside.txt",
		"/%2e%2e%2foutside.txt",
		"/..%2foutside.txt",
		"/..%5coutside.txt",
		"/js/..%5c..%5coutside.txt",
		"/%252e%252e/outside.txt",
		"/%c0%ae%c0%ae/outside.txt",
		"//outside.txt",
		"/js//app.js",
		"/out.txt",
		"/up/outside.txt",
		"/up/web/index.html",
		"/index.html%00.js",
		"/.hidden",
		"/bad%20name.txt",
		"/api/x.txt",
		"/%2fetc/passwd",
	};
	struct world *w = *state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct testsrv_response resp;
		get(w, "GET", paths[i], NULL, &resp);
		if (resp.status != 404 && resp.status != 400)
			fail_msg("%s: status %d", paths[i], resp.status);
		if (strstr(resp.body, "outside the web root") || strstr(resp.body, "shadow") || strstr(resp.body, "hidden"))
			fail_msg("%s: served a file it must not", paths[i]);
		testsrv_response_free(&resp);
	}
}

static void test_missing_file(void **state)
{
	struct world *w = *state;
	struct testsrv_response resp;
	get(w, "GET", "/nope.js", NULL, &resp);
	assert_int_equal(resp.status, 404);
	assert_true(testsrv_error_is(&resp, "not_found"));
	testsrv_response_free(&resp);
	/* The API's own paths are untouched. */
	get(w, "GET", "/api/v1/nope", NULL, &resp);
	assert_int_equal(resp.status, 404);
	assert_true(testsrv_error_is(&resp, "not_found"));
	testsrv_response_free(&resp);
	get(w, "GET", "/healthz", NULL, &resp);
	assert_int_equal(resp.status, 200);
	testsrv_response_free(&resp);
	/* Only GET and HEAD: the files are not writable. */
	assert_int_equal(testsrv_request(w->srv, "POST", "/index.html", NULL, "x", &resp), 0);
	assert_int_equal(resp.status, 405);
	assert_header(&resp, "Allow", "GET");
	testsrv_response_free(&resp);
}

/* A binary in its build folder serves the source tree's web/ by default. */
static void test_default_root(void **state)
{
	struct testsrv_response resp;
	struct testsrv *srv = testsrv_new(NULL, NULL);
	(void)state;
	assert_non_null(srv);
	assert_int_equal(testsrv_request(srv, "GET", "/", NULL, NULL, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_header(&resp, "Content-Type", "text/html; charset=utf-8");
	assert_non_null(strstr(resp.body, "/js/app.js"));
	testsrv_response_free(&resp);
	assert_int_equal(testsrv_request(srv, "GET", "/js/format.js", NULL, NULL, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.body, "formatRupiah"));
	testsrv_response_free(&resp);
	assert_true(testsrv_stopped_cleanly(srv));
	testsrv_free(srv);
}

/* `serve` with these settings must refuse to start, naming the reason. */
static void assert_refused(const char *root, const char *reason)
{
	char dir[TESTSRV_PATH_MAX], data[PATH_CAP], set[PATH_CAP + 16];
	char out[OUTPUT_MAX];
	const char *args[] = { "serve", "--listen", "127.0.0.1:0", "--data", data, "--set", set, NULL };
	int code = -1;
	assert_int_equal(testsrv_tmpdir(dir, sizeof(dir)), 0);
	path_in(data, dir, "data");
	snprintf(set, sizeof(set), "web.root=%s", root);
	assert_int_equal(testsrv_exec(args, NULL, &code, out, sizeof(out)), 0);
	testsrv_rmtree(dir);
	assert_int_equal(code, 1);
	if (!strstr(out, reason))
		fail_msg("no \"%s\" in: %s", reason, out);
}

static void test_bounds_at_start(void **state)
{
	char dir[TESTSRV_PATH_MAX], root[PATH_CAP];
	char *big = calloc(1, STATIC_FILE_MAX + 1);
	(void)state;
	assert_non_null(big);
	assert_refused("/nonexistent/bangsoleh-web", "web.root /nonexistent/bangsoleh-web");
	assert_int_equal(testsrv_tmpdir(dir, sizeof(dir)), 0);
	path_in(root, dir, "web");
	assert_int_equal(mkdir(root, 0700), 0);
	write_bytes(root, "big.js", big, STATIC_FILE_MAX + 1);
	free(big);
	assert_refused(root, "over the 1048576-byte bound");
	testsrv_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest world_tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_etag_304),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_traversal),
		cmocka_unit_test(test_missing_file),
	};
	const struct CMUnitTest start_tests[] = {
		cmocka_unit_test(test_default_root),
		cmocka_unit_test(test_bounds_at_start),
	};
	int failed = cmocka_run_group_tests_name("static files", world_tests, world_setup, world_teardown);
	return failed + cmocka_run_group_tests_name("static roots", start_tests, NULL, NULL);
}
