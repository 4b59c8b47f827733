/*
 * Integration tests of the auditors' export (docs/audit.md, "Export"): the
 * real `bangsoleh serve` with plain, pending, posted and voided transfers
 * and four signed checkpoints; `bangsoleh audit export` on its data folder
 * while it runs and on a stopped copy, and GET /api/v1/audit/export (a tar
 * archive, unpacked here by a minimal ustar reader, also of 10,018
 * entries, one at a time, its spool folder gone after a client that
 * leaves mid-download and after a crash); `bangsoleh audit verify` passes
 * on each (whole log, a range after sequence 1 with open pending transfers
 * and a compact range, an empty range between two checkpoints). Then each tampering, on a fresh copy of an export, makes
 * verify exit 1 naming what failed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>

#include "apitest.h"
#include "audit_export.h"
#include "crypto.h"
#include "internal.h"
#include "ledger.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define ID_TEXT 33
#define PATH_LEN 512
#define TIME_TEXT 40
#define OUT_MAX 8192
#define FILE_MAX (4 * 1024 * 1024)
#define ARCHIVE_MAX (64 * 1024 * 1024)   /* an archive read over a raw connection */
#define HEAD_MAX 4096                    /* a response's status line and headers */
#define SPOOL_POLLS 200                  /* waits for a spool folder to go ... */
#define SPOOL_POLL_US 25000              /* ... this long each: 5 s in all */
#define CALLS 6
#define CALL_GAP_US 5000                 /* keeps each call in milliseconds of its own */
#define CANONICAL 169
#define TAR_BLOCK 512
#define ACCOUNT_A 0x100
#define ACCOUNT_B 0x200
#define ACCOUNT_C 0x300
/* snprintf that must not cut its output short. */
#define FORMAT(out, cap, ...) assert_true(snprintf(out, cap, __VA_ARGS__) < (int)(cap))

struct world {
	struct testsrv *srv;
	char admin[APITEST_TOKEN_MAX];
	char auditor[APITEST_TOKEN_MAX];
	char tmp[TESTSRV_PATH_MAX];
	/* The first and last timestamp (ns) of each call of transfers. */
	uint64_t first_ts[CALLS], last_ts[CALLS];
	uint64_t first_seq[CALLS];
	char full[PATH_LEN], mid[PATH_LEN], empty[PATH_LEN];  /* exports made while it runs */
};

static struct world *world;

static void id_text(uint64_t v, char out[ID_TEXT])
{
	struct ledger_id id = ledger_id_from_u64(v);
	ledger_id_hex(&id, out, ID_TEXT);
}

/* ms as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void time_text(uint64_t ms, char out[TIME_TEXT])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	FORMAT(out, TIME_TEXT, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

static json_t *transfer(uint64_t id, uint64_t debit, uint64_t credit, int64_t amount, const char *flag,
			uint64_t pending)
{
	char t[ID_TEXT], d[ID_TEXT], c[ID_TEXT], p[ID_TEXT];
	json_t *o;
	id_text(id, t);
	id_text(debit, d);
	id_text(credit, c);
	o = json_pack("{s:s, s:s, s:s, s:I, s:i}", "id", t, "debit_account_id", d, "credit_account_id", c, "amount",
		      (json_int_t)amount, "code", 9);
	if (flag)
		json_object_set_new(o, "flags", json_pack("[s]", flag));
	if (pending) {
		id_text(pending, p);
		json_object_set_new(o, "pending_id", json_string(p));
	}
	if (flag && strcmp(flag, "pending") == 0)
		json_object_set_new(o, "timeout", json_integer(3600));
	return o;
}

/* One call of transfers; every one must be `ok`. Records its timestamps. */
static void post_call(struct world *w, int call, json_t *events)
{
	json_t *doc = apitest_call_json(w->srv, w->admin, "POST", "/api/v1/ledger/transfers",
					json_pack("{s:o}", "transfers", events), 200);
	json_t *results = json_object_get(doc, "results");
	size_t n = json_array_size(results);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(apitest_str(json_array_get(results, i), "result"), "ok");
	w->first_ts[call] = (uint64_t)apitest_int(json_array_get(results, 0), "timestamp");
	w->last_ts[call] = (uint64_t)apitest_int(json_array_get(results, n - 1), "timestamp");
	w->first_seq[call] = (uint64_t)apitest_int(json_array_get(results, 0), "seq");
	json_decref(doc);
	usleep(CALL_GAP_US);
}

static void checkpoint(struct world *w)
{
	json_decref(apitest_call(w->srv, w->admin, "POST", "/api/v1/audit/checkpoints", NULL, 201));
}

/* `bangsoleh ARGS...`; OUT: the exit code, the output in out. */
static int run(const char *const *args, char *out)
{
	int code = -1;
	assert_int_equal(testsrv_exec(args, NULL, &code, out, OUT_MAX), 0);
	return code;
}

static int export_cli(const char *data, uint64_t from_ms, uint64_t to_ms, const char *dir, char *out)
{
	char from[TIME_TEXT], to[TIME_TEXT];
	time_text(from_ms, from);
	time_text(to_ms, to);
	const char *const args[] = { "audit", "export", "--data", data, "--from", from, "--to", to, "--out", dir, NULL };
	return run(args, out);
}

/* audit verify DIR [--key KEY] (key NULL: none): its exit code, and the output must hold `part`. */
static void expect_verify_key(const char *dir, const char *key, int code, const char *part)
{
	char out[OUT_MAX];
	const char *const args[] = { "audit", "verify", dir, key ? "--key" : NULL, key, NULL };
	int got = run(args, out);
	if (got != code || !strstr(out, part))
		print_error("audit verify %s: exit %d, output:\n%s\n(wanted exit %d and \"%s\")\n", dir, got, out, code,
			    part);
	assert_int_equal(got, code);
	assert_non_null(strstr(out, part));
}

static void expect_verify(const char *dir, int code, const char *part)
{
	expect_verify_key(dir, NULL, code, part);
}

static void path_in(const char *dir, const char *name, char *out)
{
	FORMAT(out, PATH_LEN, "%s/%s", dir, name);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(FILE_MAX);
	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, FILE_MAX, f);
	assert_true(*len < FILE_MAX);
	fclose(f);
	return buf;
}

static void write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A fresh copy of export `src` in a new folder under the world's tmp. OUT: dst. */
static void copy_export(const char *src, const char *tag, char *dst)
{
	DIR *d = opendir(src);
	struct dirent *de;
	assert_non_null(d);
	FORMAT(dst, PATH_LEN, "%s/%s", world->tmp, tag);
	assert_int_equal(mkdir(dst, 0755), 0);
	while ((de = readdir(d)) != NULL) {
		char from[PATH_LEN], to[PATH_LEN];
		uint8_t *data;
		size_t len;
		if (de->d_name[0] == '.')
			continue;
		path_in(src, de->d_name, from);
		path_in(dst, de->d_name, to);
		data = read_all(from, &len);
		write_all(to, data, len);
		free(data);
	}
	closedir(d);
}

/*
 * Rewrites manifest.json so that the size and SHA-256 of `name` match the
 * file as it is now; entries_delta shifts entries, last_seq and head_seq.
 */
static void fix_manifest(const char *dir, const char *name, int entries_delta)
{
	char path[PATH_LEN], hex[65];
	uint8_t sha[32], *data;
	size_t len;
	json_t *doc, *files;
	char *text;
	path_in(dir, name, path);
	data = read_all(path, &len);
	assert_int_equal(crypto_sha256(data, len, sha), 0);
	assert_int_equal(crypto_hex_encode(sha, sizeof(sha), hex, sizeof(hex)), 0);
	free(data);
	path_in(dir, "manifest.json", path);
	doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	files = json_object_get(doc, "files");
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		if (strcmp(apitest_str(f, "name"), name) != 0)
			continue;
		json_object_set_new(f, "size", json_integer((json_int_t)len));
		json_object_set_new(f, "sha256", json_string(hex));
	}
	json_object_set_new(doc, "entries", json_integer(apitest_int(doc, "entries") + entries_delta));
	json_object_set_new(doc, "last_seq", json_integer(apitest_int(doc, "last_seq") + entries_delta));
	json_object_set_new(doc, "head_seq", json_integer(apitest_int(doc, "head_seq") + entries_delta));
	text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
	assert_non_null(text);
	write_all(path, text, strlen(text));
	free(text);
	json_decref(doc);
}

/* --- a minimal ustar reader: regular files and directories, under `dir` --- */

static uint64_t tar_octal(const char *field, size_t width)
{
	uint64_t v = 0;
	for (size_t i = 0; i < width && field[i] >= '0' && field[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(field[i] - '0');
	return v;
}

/* Unpacks the archive into dir. OUT: the archive's one top folder, as dir/NAME, in top. */
static void untar(const char *data, size_t len, const char *dir, char *top)
{
	size_t at = 0;
	top[0] = '\0';
	while (at + TAR_BLOCK <= len && data[at] != '\0') {
		const char *h = data + at;
		char name[101], path[PATH_LEN];
		uint64_t size = tar_octal(h + 124, 12);
		unsigned sum = 0;
		memcpy(name, h, 100);
		name[100] = '\0';
		assert_memory_equal(h + 257, "ustar", 6);
		for (size_t i = 0; i < TAR_BLOCK; i++)
			sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)h[i];
		assert_int_equal(sum, tar_octal(h + 148, 8));
		assert_null(strstr(name, ".."));
		FORMAT(path, sizeof(path), "%s/%s", dir, name);
		at += TAR_BLOCK;
		if (h[156] == '5') {
			assert_int_equal(mkdir(path, 0755), 0);
			if (!top[0])
				FORMAT(top, PATH_LEN, "%s", path);
		} else {
			assert_int_equal(h[156], '0');
			assert_true(at + size <= len);
			write_all(path, data + at, (size_t)size);
			at += (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
		}
	}
	/* Two zero blocks end it. */
	assert_true(at + 2 * TAR_BLOCK <= len);
	assert_non_null(top[0] ? top : NULL);
}

static void http_export(const struct world *w, const char *token, const char *query,
			struct testsrv_response *resp)
{
	char path[PATH_LEN], auth[APITEST_TOKEN_MAX + 32];
	FORMAT(path, sizeof(path), "/api/v1/audit/export?%s", query);
	FORMAT(auth, sizeof(auth), "Authorization: Bearer %s", token);
	const char *const headers[] = { auth, NULL };
	assert_int_equal(testsrv_request(w->srv, "GET", path, headers, NULL, resp), 0);
}

/* Sends GET /api/v1/audit/export?query as the auditor on a new connection. OUT: *fd, which the caller closes. */
static void export_request(const struct world *w, const char *query, int *fd)
{
	char req[PATH_LEN + APITEST_TOKEN_MAX + 128];
	FORMAT(req, sizeof(req),
	       "GET /api/v1/audit/export?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", query,
	       w->auditor);
	assert_int_equal(testsrv_connect(w->srv, fd), 0);
	assert_int_equal(testsrv_send(*fd, req, strlen(req)), 0);
}

/* Reads a response's head, to its blank line, from fd. OUT: head (HEAD_MAX bytes, NUL-terminated). Returns the status. */
static int read_head(int fd, char *head)
{
	size_t n = 0;
	int status = 0;
	while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
		assert_true(n + 1 < HEAD_MAX);
		assert_int_equal(recv(fd, head + n, 1, 0), 1);
		n++;
	}
	head[n] = '\0';
	assert_int_equal(sscanf(head, "HTTP/1.1 %d ", &status), 1);
	return status;
}

/* An export of any size over a raw connection: 200 and its archive, read to its Content-Length. OUT: *len. */
static char *http_export_big(const struct world *w, const char *query, size_t *len)
{
	char head[HEAD_MAX];
	const char *cl;
	char *data;
	size_t got = 0;
	int fd;
	export_request(w, query, &fd);
	assert_int_equal(read_head(fd, head), 200);
	assert_non_null(strstr(head, "\r\nContent-Type: application/x-tar\r\n"));
	cl = strstr(head, "\r\nContent-Length: ");
	assert_non_null(cl);
	*len = strtoull(cl + strlen("\r\nContent-Length: "), NULL, 10);
	assert_true(*len > 0 && *len <= ARCHIVE_MAX && *len % TAR_BLOCK == 0);
	data = malloc(*len);
	assert_non_null(data);
	while (got < *len) {
		ssize_t n = recv(fd, data + got, *len - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
	/* Connection: close: nothing follows the archive. */
	assert_int_equal(recv(fd, head, 1, 0), 0);
	close(fd);
	return data;
}

/* The spool folders of HTTP exports under the server's data folder. */
static size_t spool_count(const char *data_dir)
{
	char path[PATH_LEN];
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	FORMAT(path, sizeof(path), "%s/%s", data_dir, LEDGER_EXPORT_SPOOL_DIR);
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* The world: accounts, six calls of transfers with checkpoints between, three CLI exports while it runs. */
static int world_setup(void **state)
{
	const char *const env[] = { COST_ENV, NULL };
	struct world *w = calloc(1, sizeof(*w));
	char a[ID_TEXT], b[ID_TEXT], c[ID_TEXT], out[OUT_MAX];
	if (!w)
		return -1;
	*state = w;
	world = w;
	if (testsrv_tmpdir(w->tmp, sizeof(w->tmp)) != 0)
		return -1;
	w->srv = testsrv_new(NULL, env);
	if (!w->srv)
		return -1;
	apitest_user_add_cli(w->srv, env, "admin", "admin", PASSWORD);
	apitest_login(w->srv, "admin", PASSWORD, w->admin);
	apitest_user_add_cli(w->srv, env, "auditor", "auditor", PASSWORD);
	apitest_login(w->srv, "auditor", PASSWORD, w->auditor);
	id_text(ACCOUNT_A, a);
	id_text(ACCOUNT_B, b);
	id_text(ACCOUNT_C, c);
	json_decref(apitest_call_json(w->srv, w->admin, "POST", "/api/v1/ledger/accounts",
				      json_pack("{s:[{s:s,s:s,s:i},{s:s,s:s,s:i},{s:s,s:s,s:i}]}", "accounts", "id", a,
						"name", "test:a", "code", 2, "id", b, "name", "test:b", "code", 1,
						"id", c, "name", "test:c", "code", 3),
				      200));
	/* 1: three plain transfers; checkpoint 1 (size 3). */
	post_call(w, 0, json_pack("[o,o,o]", transfer(1001, ACCOUNT_B, ACCOUNT_A, 100, NULL, 0),
				  transfer(1002, ACCOUNT_B, ACCOUNT_A, 200, NULL, 0),
				  transfer(1003, ACCOUNT_B, ACCOUNT_C, 300, NULL, 0)));
	checkpoint(w);
	/* 2: two pending; 3: post one in part, void the other; checkpoint 2 (size 7). */
	post_call(w, 1, json_pack("[o,o]", transfer(2001, ACCOUNT_B, ACCOUNT_C, 500, "pending", 0),
				  transfer(2002, ACCOUNT_B, ACCOUNT_C, 300, "pending", 0)));
	post_call(w, 2, json_pack("[o,o]", transfer(3001, ACCOUNT_B, ACCOUNT_C, 200, "post_pending_transfer", 2001),
				  transfer(3002, ACCOUNT_B, ACCOUNT_C, 300, "void_pending_transfer", 2002)));
	checkpoint(w);
	/* 4: a pending one left open over checkpoint 3; 5: four plain; 6: its post; checkpoint 4. */
	post_call(w, 3, json_pack("[o]", transfer(4001, ACCOUNT_A, ACCOUNT_C, 50, "pending", 0)));
	post_call(w, 4, json_pack("[o,o,o,o]", transfer(5001, ACCOUNT_C, ACCOUNT_A, 10, NULL, 0),
				  transfer(5002, ACCOUNT_C, ACCOUNT_A, 20, NULL, 0),
				  transfer(5003, ACCOUNT_C, ACCOUNT_B, 30, NULL, 0),
				  transfer(5004, ACCOUNT_A, ACCOUNT_B, 40, NULL, 0)));
	checkpoint(w);
	post_call(w, 5, json_pack("[o]", transfer(6001, ACCOUNT_A, ACCOUNT_C, 50, "post_pending_transfer", 4001)));
	checkpoint(w);
	FORMAT(w->full, sizeof(w->full), "%s/full", w->tmp);
	FORMAT(w->mid, sizeof(w->mid), "%s/mid", w->tmp);
	FORMAT(w->empty, sizeof(w->empty), "%s/empty", w->tmp);
	/* While it runs: everything; from call 4 (after sequence 1, open pending transfers); between calls 2 and 3. */
	if (export_cli(w->srv->data_dir, w->first_ts[0] / 1000000u - 1000, w->last_ts[5] / 1000000u + 1000, w->full,
		       out) != 0 ||
	    export_cli(w->srv->data_dir, w->first_ts[2] / 1000000u, w->last_ts[5] / 1000000u + 1, w->mid, out) != 0 ||
	    export_cli(w->srv->data_dir, w->last_ts[1] / 1000000u + 1, w->first_ts[2] / 1000000u, w->empty, out) != 0) {
		print_error("%s\n", out);
		return -1;
	}
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	if (w) {
		if (w->srv)
			assert_true(testsrv_stopped_cleanly(w->srv));
		testsrv_free(w->srv);
		if (w->tmp[0])
			testsrv_rmtree(w->tmp);
	}
	free(w);
	return 0;
}

/* True when the file `name` of export dir holds `part`. */
static bool file_has(const char *dir, const char *name, const char *part)
{
	char path[PATH_LEN];
	size_t len;
	uint8_t *data;
	bool found;
	path_in(dir, name, path);
	data = read_all(path, &len);
	data[len] = '\0';
	found = strstr((char *)data, part) != NULL;
	free(data);
	return found;
}

static void test_verify_exports(void **state)
{
	struct world *w = *state;
	expect_verify(w->full, 0, "ok\n");
	expect_verify(w->full, 0, "13 entries");
	/* From call 3 (sequence 6): a compact range of 5 leaves (2 hashes), two open pending transfers. */
	expect_verify(w->mid, 0, "8 entries");
	expect_verify(w->mid, 0, "2 compact-range hashes");
	assert_true(file_has(w->mid, "manifest.json", "\"opening_accounts\":3,\"opening_pendings\":2,"));
	assert_true(file_has(w->mid, "opening.txt", "first_seq 6\n"));
	assert_true(file_has(w->mid, "opening.txt", "\npending 000000000000000000000000000007d1 "));
	assert_true(file_has(w->mid, "opening.txt", "\npending 000000000000000000000000000007d2 "));
	/* Empty: no entry; tied to checkpoint 1 (size 3) and 2 (size 7) by proofs through size 5. */
	expect_verify(w->empty, 0, "0 entries");
	expect_verify(w->empty, 0, "consistency proofs");
	assert_true(file_has(w->empty, "proofs.txt", "\n3 5 "));
	assert_true(file_has(w->empty, "proofs.txt", "5 7 "));
	assert_true(file_has(w->empty, "manifest.json", "\"first_seq\":6,\"last_seq\":5,\"entries\":0,"));
}

static void test_export_cli_refuses(void **state)
{
	struct world *w = *state;
	char out[OUT_MAX];
	const char *const no_to[] = { "audit", "export", "--data", w->srv->data_dir, "--from", "2026-01-01", "--out",
				      "x", NULL };
	const char *const bad_time[] = { "audit", "export", "--from", "yesterday", "--to", "2026-01-01", "--out", "x",
					 NULL };
	const char *const backwards[] = { "audit", "export", "--from", "2026-01-02", "--to", "2026-01-01", "--out",
					  "x", NULL };
	const char *const verify_none[] = { "audit", "verify", NULL };
	assert_int_equal(run(no_to, out), 2);
	assert_int_equal(run(bad_time, out), 2);
	assert_int_equal(run(backwards, out), 2);
	assert_int_equal(run(verify_none, out), 2);
	/* From a folder without a store, into a folder that holds files already. */
	assert_int_equal(export_cli(w->tmp, 0, 1000, w->empty, out), 1);
	assert_non_null(strstr(out, "no ledger in"));
	assert_int_equal(export_cli(w->srv->data_dir, 0, 1000, w->full, out), 1);
	assert_non_null(strstr(out, "not empty"));
}

static void test_export_http(void **state)
{
	struct world *w = *state;
	struct testsrv_response resp;
	char query[PATH_LEN], from[TIME_TEXT], to[TIME_TEXT], dir[PATH_LEN], top[PATH_LEN];
	time_text(w->first_ts[2] / 1000000u, from);
	time_text(w->last_ts[5] / 1000000u + 1, to);
	FORMAT(query, sizeof(query), "from=%s&to=%s", from, to);
	http_export(w, w->auditor, query, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(testsrv_header(&resp, "Content-Type"), "application/x-tar");
	FORMAT(dir, sizeof(dir), "attachment; filename=\"bangsoleh-export-%" PRIu64 "-%" PRIu64 ".tar\"",
	       w->first_ts[2] / 1000000u, w->last_ts[5] / 1000000u + 1);
	assert_string_equal(testsrv_header(&resp, "Content-Disposition"), dir);
	FORMAT(dir, sizeof(dir), "%zu", resp.body_len);
	assert_string_equal(testsrv_header(&resp, "Content-Length"), dir);
	FORMAT(dir, sizeof(dir), "%s/http", w->tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	untar(resp.body, resp.body_len, dir, top);
	testsrv_response_free(&resp);
	expect_verify(top, 0, "ok\n");
	expect_verify(top, 0, "8 entries");

	http_export(w, w->auditor, "from=2026-13-01&to=2026-01-01", &resp);
	assert_int_equal(resp.status, 400);
	assert_true(testsrv_error_is(&resp, "invalid_field"));
	testsrv_response_free(&resp);
	http_export(w, w->auditor, "from=2026-01-02&to=2026-01-01", &resp);
	assert_int_equal(resp.status, 400);
	testsrv_response_free(&resp);
	http_export(w, w->auditor, "to=2026-01-01", &resp);
	assert_int_equal(resp.status, 400);
	testsrv_response_free(&resp);
}

/* Sets one member of a copy's manifest.json. */
static void set_manifest(const char *dir, const char *key, json_t *value)
{
	char path[PATH_LEN];
	json_t *doc;
	path_in(dir, "manifest.json", path);
	doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	json_object_set_new(doc, key, value);
	assert_int_equal(json_dump_file(doc, path, JSON_PRESERVE_ORDER | JSON_COMPACT), 0);
	json_decref(doc);
}

static void test_tamper_manifest(void **state)
{
	struct world *w = *state;
	char dir[PATH_LEN];
	copy_export(w->mid, "manifest-count", dir);
	set_manifest(dir, "opening_pendings", json_integer(1));
	expect_verify(dir, 1, "FAILED: opening.txt: 3 accounts and 2 pending transfers, the manifest says 3 and 1");
	copy_export(w->mid, "manifest-from", dir);
	set_manifest(dir, "from", json_string("2000-01-01T00:00:00.000+07:00"));
	expect_verify(dir, 1, "FAILED: manifest.json: origin, from or to does not match");
	copy_export(w->mid, "manifest-format", dir);
	set_manifest(dir, "version", json_integer(2));
	expect_verify(dir, 1, "FAILED: manifest.json: not a version 1 bangsoleh-audit-export");
}

/*
 * 10,018 entries (over the 10,000 the in-memory export once took): 200 and
 * an archive that verifies. Then a client that leaves mid-download while
 * another export is refused as busy: no spool stays and the server serves
 * on. Then a range near the head of this longer log: its opening state is
 * taken back from the present (a pending transfer made before it and posted
 * in it included).
 */
static void test_export_large(void **state)
{
	struct world *w = *state;
	struct testsrv_response resp;
	char dir[PATH_LEN], top[PATH_LEN], out[OUT_MAX], head[HEAD_MAX], some[TAR_BLOCK];
	const char *all = "from=2020-01-01&to=2100-01-01";
	uint64_t last_call_ms = 0;
	size_t len, polls;
	char *tar;
	json_t *doc;
	int fd;
	for (uint64_t call = 0; call < 5; call++) {
		json_t *events = json_array();
		json_t *results;
		for (uint64_t i = 0; i < 2001; i++) {
			uint64_t id = 900000 + call * 2001 + i;
			if (call == 0 && i == 0)
				json_array_append_new(events, transfer(id, ACCOUNT_B, ACCOUNT_C, 70, "pending", 0));
			else if (call == 4 && i == 0)
				json_array_append_new(events,
						      transfer(id, ACCOUNT_B, ACCOUNT_C, 70, "post_pending_transfer", 900000));
			else
				json_array_append_new(events, transfer(id, ACCOUNT_B, ACCOUNT_A, 1, NULL, 0));
		}
		doc = apitest_call_json(w->srv, w->admin, "POST", "/api/v1/ledger/transfers",
					json_pack("{s:o}", "transfers", events), 200);
		results = json_object_get(doc, "results");
		assert_string_equal(apitest_str(json_array_get(results, 0), "result"), "ok");
		last_call_ms = (uint64_t)apitest_int(json_array_get(results, 0), "timestamp") / 1000000u;
		json_decref(doc);
		usleep(CALL_GAP_US);
	}
	checkpoint(w);
	tar = http_export_big(w, all, &len);
	FORMAT(dir, sizeof(dir), "%s/http-large", w->tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	untar(tar, len, dir, top);
	free(tar);
	expect_verify(top, 0, "ok\n");
	expect_verify(top, 0, "10018 entries");
	assert_int_equal(spool_count(w->srv->data_dir), 0);

	/* Read the head and one block, then stall: the export stays open, its spool on disk. */
	export_request(w, all, &fd);
	assert_int_equal(read_head(fd, head), 200);
	assert_int_equal(recv(fd, some, sizeof(some), MSG_WAITALL), (ssize_t)sizeof(some));
	assert_memory_equal(some, "bangsoleh-export-", strlen("bangsoleh-export-"));
	assert_int_equal(spool_count(w->srv->data_dir), 1);
	http_export(w, w->admin, all, &resp);
	assert_int_equal(resp.status, 503);
	assert_true(testsrv_error_is(&resp, "export_busy"));
	assert_string_equal(testsrv_header(&resp, "Retry-After"), "10");
	testsrv_response_free(&resp);
	/* Gone mid-download (unread bytes: a reset). */
	close(fd);
	for (polls = 0; polls < SPOOL_POLLS && spool_count(w->srv->data_dir) > 0; polls++)
		usleep(SPOOL_POLL_US);
	assert_int_equal(spool_count(w->srv->data_dir), 0);
	http_export(w, w->auditor, "from=2020-01-01&to=2020-01-02", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(testsrv_header(&resp, "Content-Type"), "application/x-tar");
	testsrv_response_free(&resp);

	FORMAT(dir, sizeof(dir), "%s/near-head", w->tmp);
	assert_int_equal(export_cli(w->srv->data_dir, last_call_ms, UINT64_C(4102444800000), dir, out), 0);
	assert_non_null(strstr(out, "exported sequences 8018..10018 (2001 entries)"));
	assert_non_null(strstr(out, "taken back from the head"));
	assert_true(file_has(dir, "opening.txt", "\npending 000000000000000000000000000dbba0 "));
	expect_verify(dir, 0, "ok\n");
}

/* A spool folder a crash left behind goes when the server starts. */
static void test_export_spool_swept(void **state)
{
	const char *const env[] = { COST_ENV, NULL };
	char moved[TESTSRV_PATH_MAX], data[TESTSRV_PATH_MAX + 8], path[PATH_LEN];
	const char *const args[] = { "--data", data, NULL };
	struct testsrv *srv = testsrv_new(NULL, env);
	(void)state;
	assert_non_null(srv);
	assert_int_equal(testsrv_crash_keep_data(srv, moved, sizeof(moved), data, sizeof(data)), 0);
	testsrv_free(srv);
	FORMAT(path, sizeof(path), "%s/%s", data, LEDGER_EXPORT_SPOOL_DIR);
	assert_int_equal(mkdir(path, 0700), 0);
	FORMAT(path, sizeof(path), "%s/%s/a1b2c3", data, LEDGER_EXPORT_SPOOL_DIR);
	assert_int_equal(mkdir(path, 0700), 0);
	FORMAT(path, sizeof(path), "%s/%s/a1b2c3/%s", data, LEDGER_EXPORT_SPOOL_DIR, LEDGER_EXPORT_ENTRIES_BIN);
	write_all(path, "half", 4);
	assert_int_equal(spool_count(data), 1);
	srv = testsrv_new(args, env);
	assert_non_null(srv);
	assert_int_equal(spool_count(data), 0);
	assert_true(testsrv_stopped_cleanly(srv));
	testsrv_free(srv);
	testsrv_rmtree(moved);
}

/* A stopped store: an LMDB copy of the data folder (with audit.pub), exported after the server is gone. */
static void test_export_stopped(void **state)
{
	struct world *w = *state;
	char data[PATH_LEN], path[PATH_LEN], dir[PATH_LEN], out[OUT_MAX];
	uint8_t *pub;
	size_t len;
	MDB_env *env;
	FORMAT(data, sizeof(data), "%s/data-copy", w->tmp);
	assert_int_equal(mkdir(data, 0700), 0);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
	assert_int_equal(mdb_env_open(env, w->srv->data_dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_env_copy(env, data), 0);
	mdb_env_close(env);
	path_in(w->srv->data_dir, "audit.pub", path);
	pub = read_all(path, &len);
	path_in(data, "audit.pub", path);
	write_all(path, pub, len);
	free(pub);
	assert_true(testsrv_stopped_cleanly(w->srv));
	testsrv_free(w->srv);
	w->srv = NULL;
	FORMAT(dir, sizeof(dir), "%s/stopped", w->tmp);
	/* Up to the six calls' end: not the later ones (test_export_large). */
	assert_int_equal(export_cli(data, w->first_ts[0] / 1000000u - 1000, w->last_ts[5] / 1000000u + 1, dir, out), 0);
	expect_verify(dir, 0, "ok\n");
	expect_verify(dir, 0, "13 entries");
}

/* --- tampering --- */

/* A copy of the mid export (in dir) with one bit of entries.bin flipped at offset. */
static void flip_entry_bit(const char *tag, size_t offset, char *dir)
{
	char path[PATH_LEN];
	uint8_t *data;
	size_t len;
	copy_export(world->mid, tag, dir);
	path_in(dir, "entries.bin", path);
	data = read_all(path, &len);
	data[offset] ^= 1;
	write_all(path, data, len);
	free(data);
}

static void test_tamper_entry_byte(void **state)
{
	char dir[PATH_LEN];
	(void)state;
	flip_entry_bit("byte", CANONICAL + 84, dir);   /* the low byte of entry 2's amount */
	expect_verify(dir, 1, "FAILED: entries.bin: SHA-256 differs from the manifest");
	fix_manifest(dir, "entries.bin", 0);
	expect_verify(dir, 1, "FAILED: entries.jsonl: line 2 differs from entry 7 of entries.bin");
}

/* Writes entries.jsonl and entries.csv anew from entries.bin (chained from opening.txt's prev_hash). */
static void regenerate_lines(const char *dir)
{
	char path[PATH_LEN], line[LEDGER_EXPORT_LINE_MAX], *prev_hex;
	uint8_t *bin, *opening, prev[LEDGER_HASH_LEN], stored[LEDGER_STORED_LEN];
	size_t len, olen, n;
	FILE *jsonl, *csv;
	path_in(dir, "opening.txt", path);
	opening = read_all(path, &olen);
	prev_hex = strstr((char *)opening, "prev_hash ") + strlen("prev_hash ");
	assert_int_equal(crypto_hex_decode(prev_hex, 64, prev, sizeof(prev), &n), 0);
	free(opening);
	path_in(dir, "entries.bin", path);
	bin = read_all(path, &len);
	path_in(dir, "entries.jsonl", path);
	jsonl = fopen(path, "wb");
	path_in(dir, "entries.csv", path);
	csv = fopen(path, "wb");
	assert_non_null(jsonl);
	assert_non_null(csv);
	fputs(ledger_export_csv_header, csv);
	for (size_t at = 0; at < len; at += CANONICAL) {
		struct ledger_entry e;
		memcpy(stored, bin + at, CANONICAL);
		assert_int_equal(ledger_entry_decode(stored, sizeof(stored), &e), 0);
		ledger_chain(prev, bin + at, e.hash);
		memcpy(prev, e.hash, sizeof(prev));
		assert_int_equal(ledger_export_jsonl_line(&e, line, sizeof(line), &n), 0);
		fputs(line, jsonl);
		assert_int_equal(ledger_export_csv_line(&e, line, sizeof(line), &n), 0);
		fputs(line, csv);
	}
	fclose(jsonl);
	fclose(csv);
	free(bin);
	fix_manifest(dir, "entries.jsonl", 0);
	fix_manifest(dir, "entries.csv", 0);
}

/* A field no other check reads, changed with the readable copies to match: the tree catches it. */
static void test_tamper_entry_deep(void **state)
{
	char dir[PATH_LEN];
	(void)state;
	flip_entry_bit("deep", 3 * CANONICAL + 129, dir);   /* the low byte of entry 4's user_data_64 */
	fix_manifest(dir, "entries.bin", 0);
	regenerate_lines(dir);
	expect_verify(dir, 1, "FAILED: checkpoints.txt: checkpoint 3 (tree size 12): the root differs from the tree "
			      "rebuilt from opening.txt and entries.bin");
}

/* Rewrites entries.bin of a copy through `edit`, fixing the manifest. */
static void tamper_entries(const char *tag, int delta, void (*edit)(uint8_t *data, size_t *len), const char *want)
{
	char dir[PATH_LEN], path[PATH_LEN];
	uint8_t *data;
	size_t len;
	copy_export(world->mid, tag, dir);
	path_in(dir, "entries.bin", path);
	data = read_all(path, &len);
	edit(data, &len);
	write_all(path, data, len);
	free(data);
	fix_manifest(dir, "entries.bin", delta);
	expect_verify(dir, 1, want);
}

static void drop_second(uint8_t *data, size_t *len)
{
	memmove(data + CANONICAL, data + 2 * CANONICAL, *len - 2 * CANONICAL);
	*len -= CANONICAL;
}

static void swap_first_two(uint8_t *data, size_t *len)
{
	uint8_t tmp[CANONICAL];
	(void)len;
	memcpy(tmp, data, CANONICAL);
	memcpy(data, data + CANONICAL, CANONICAL);
	memcpy(data + CANONICAL, tmp, CANONICAL);
}

static void insert_copy(uint8_t *data, size_t *len)
{
	memmove(data + 2 * CANONICAL, data + CANONICAL, *len - CANONICAL);
	*len += CANONICAL;
}

static void test_tamper_order(void **state)
{
	(void)state;
	tamper_entries("drop", -1, drop_second, "FAILED: entries.bin: entry 2 (offset 169) has sequence 8, expected 7");
	tamper_entries("swap", 0, swap_first_two, "FAILED: entries.bin: entry 1 (offset 0) has sequence 7, expected 6");
	tamper_entries("insert", 1, insert_copy, "FAILED: entries.bin: entry 3 (offset 338) has sequence 7, expected 8");
}

/* Replaces line `line` (1-based) of checkpoints.txt in a copy of the mid export. */
static void tamper_checkpoints(const char *tag, char *(*edit)(char *text), const char *want)
{
	char dir[PATH_LEN], path[PATH_LEN];
	uint8_t *data;
	char *text;
	size_t len;
	copy_export(world->mid, tag, dir);
	path_in(dir, "checkpoints.txt", path);
	data = read_all(path, &len);
	data[len] = '\0';
	text = edit((char *)data);
	write_all(path, text, strlen(text));
	free(text);
	free(data);
	fix_manifest(dir, "checkpoints.txt", 0);
	expect_verify(dir, 1, want);
}

/* One line of checkpoints.txt, parsed. */
static void checkpoint_parse(const char *line, struct ledger_checkpoint *c)
{
	char root[65], sig[129];
	size_t len;
	assert_int_equal(sscanf(line, "%" SCNu64 " %" SCNu64 " %64s %" SCNu64 " %128s", &c->number, &c->tree_size, root,
				&c->time_ms, sig),
			 5);
	assert_int_equal(crypto_hex_decode(root, 64, c->root, sizeof(c->root), &len), 0);
	assert_int_equal(crypto_hex_decode(sig, 128, c->signature, sizeof(c->signature), &len), 0);
}

/* The second checkpoint line, parsed; the text before and after it. */
static void second_line(char *text, struct ledger_checkpoint *c, char **rest)
{
	char *line = strchr(text, '\n') + 1;
	checkpoint_parse(line, c);
	*line = '\0';
	*rest = strchr(line + 1, '\n') + 1;
}

static char *checkpoint_text(const char *head, const struct ledger_checkpoint *c, const char *rest)
{
	char root[65], sig[129];
	char *out = malloc(strlen(head) + strlen(rest) + 300);
	assert_non_null(out);
	crypto_hex_encode(c->root, sizeof(c->root), root, sizeof(root));
	crypto_hex_encode(c->signature, sizeof(c->signature), sig, sizeof(sig));
	sprintf(out, "%s%" PRIu64 " %" PRIu64 " %s %" PRIu64 " %s\n%s", head, c->number, c->tree_size, root, c->time_ms,
		sig, rest);
	return out;
}

static char *sign_other_key(char *text)
{
	struct ledger_checkpoint c;
	uint8_t seed[32];
	char *rest;
	second_line(text, &c, &rest);
	assert_int_equal(crypto_random(seed, sizeof(seed)), 0);
	assert_int_equal(ledger_checkpoint_sign(seed, &c), 0);
	return checkpoint_text(text, &c, rest);
}

/* The file `name` of the server's data folder, which must be `want` bytes long, into out. */
static void server_file(const char *name, void *out, size_t want)
{
	char path[PATH_LEN];
	uint8_t *data;
	size_t len;
	path_in(world->srv->data_dir, name, path);
	data = read_all(path, &len);
	assert_int_equal(len, want);
	memcpy(out, data, want);
	free(data);
}

/* The server's own key (audit.key: the 32-byte seed). */
static void server_seed(uint8_t seed[32])
{
	server_file("audit.key", seed, 32);
}

static char *other_root(char *text)
{
	struct ledger_checkpoint c;
	uint8_t seed[32];
	char *rest;
	second_line(text, &c, &rest);
	/* The root of another tree of the same size, signed by the server's key. */
	assert_int_equal(ledger_merkle_leaf_hash("another tree", 12, c.root), 0);
	server_seed(seed);
	assert_int_equal(ledger_checkpoint_sign(seed, &c), 0);
	return checkpoint_text(text, &c, rest);
}

static char *swap_lines(char *text)
{
	char *second = strchr(text, '\n') + 1;
	char *third = strchr(second, '\n') + 1;
	char *out = malloc(strlen(text) + 1);
	assert_non_null(out);
	memcpy(out, second, (size_t)(third - second));
	memcpy(out + (third - second), text, (size_t)(second - text));
	strcpy(out + (third - text), third);
	return out;
}

static void test_tamper_checkpoints(void **state)
{
	(void)state;
	tamper_checkpoints("other-key", sign_other_key,
			   "FAILED: checkpoints.txt: checkpoint 2 (line 2): the signature does not verify under audit.pub");
	tamper_checkpoints("other-root", other_root,
			   "FAILED: checkpoints.txt: checkpoint 2 (tree size 7): the root differs from the tree rebuilt");
	tamper_checkpoints("rewind", swap_lines, "FAILED: checkpoints.txt: checkpoint 1 (line 2) rewinds: tree size 3 "
						 "after 7");
}

/* Every line of checkpoints.txt re-signed with `seed`. */
static char *resign_all(const char *text, const uint8_t seed[32])
{
	char *out = calloc(1, 1);
	assert_non_null(out);
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		struct ledger_checkpoint c;
		char *longer;
		checkpoint_parse(line, &c);
		assert_int_equal(ledger_checkpoint_sign(seed, &c), 0);
		longer = checkpoint_text(out, &c, "");
		free(out);
		out = longer;
	}
	return out;
}

/*
 * A whole export re-signed under another key, with its audit.pub and the
 * manifest to match, is consistent in itself: verify passes but prints the
 * other key; with --key of the server's (hex or its audit.pub file) it fails.
 */
static void test_other_key_export(void **state)
{
	struct world *w = *state;
	char dir[PATH_LEN], path[PATH_LEN], real_path[PATH_LEN], real[65], other[65], line[200], want[400];
	uint8_t seed[32], pub[32], *data;
	char *text;
	size_t len;

	/* audit.pub: 64 hex and LF; the LF becomes the NUL. */
	path_in(w->srv->data_dir, "audit.pub", real_path);
	server_file("audit.pub", real, sizeof(real));
	real[64] = '\0';
	/* The export as made: ok under the server's key, given as hex or as a file. */
	FORMAT(line, sizeof(line), "public key (audit.pub): %s (the key given with --key)\n", real);
	expect_verify_key(w->mid, real, 0, line);
	expect_verify_key(w->mid, real_path, 0, "ok\n");
	FORMAT(line, sizeof(line), "public key (audit.pub): %s (taken from the export", real);
	expect_verify(w->mid, 0, line);

	copy_export(w->mid, "resigned", dir);
	assert_int_equal(crypto_ed25519_generate(seed, pub), 0);
	assert_int_equal(crypto_hex_encode(pub, sizeof(pub), other, sizeof(other)), 0);
	path_in(dir, "checkpoints.txt", path);
	data = read_all(path, &len);
	data[len] = '\0';
	text = resign_all((char *)data, seed);
	assert_int_equal(strlen(text), len);
	write_all(path, text, len);
	free(text);
	free(data);
	path_in(dir, "audit.pub", path);
	FORMAT(line, sizeof(line), "%s\n", other);
	write_all(path, line, strlen(line));
	fix_manifest(dir, "checkpoints.txt", 0);
	fix_manifest(dir, "audit.pub", 0);

	FORMAT(line, sizeof(line), "public key (audit.pub): %s (taken from the export", other);
	expect_verify(dir, 0, line);
	expect_verify(dir, 0, "ok\n");
	FORMAT(want, sizeof(want), "FAILED: audit.pub: the key %s is not the trusted key %s\n", other, real);
	expect_verify_key(dir, real, 1, want);
	expect_verify_key(dir, real_path, 1, want);
	expect_verify_key(dir, real, 1, "(NOT the key given with --key)");
	/* A --key that is neither a key nor a file holding one is bad usage. */
	expect_verify_key(dir, "abcd", 2, "--key needs 64 hex characters");
	expect_verify_key(dir, dir, 2, "--key needs 64 hex characters");
}

static void test_tamper_opening(void **state)
{
	struct world *w = *state;
	char dir[PATH_LEN], path[PATH_LEN];
	uint8_t *data;
	char *account;
	size_t len;
	copy_export(w->mid, "opening", dir);
	path_in(dir, "opening.txt", path);
	data = read_all(path, &len);
	data[len] = '\0';
	/* The last digit of account A's credits_posted (the end of its line) changes. */
	account = strstr((char *)data, "account 00000000000000000000000000000100 ");
	assert_non_null(account);
	account = strchr(account, '\n') - 1;
	*account = *account == '9' ? '8' : (char)(*account + 1);
	write_all(path, data, len);
	free(data);
	expect_verify(dir, 1, "FAILED: opening.txt: SHA-256 differs from the manifest");
	fix_manifest(dir, "opening.txt", 0);
	expect_verify(dir, 1, "FAILED: opening.txt: the opening trial balance of ledger 360 does not balance");
}

/*
 * An entry no checkpoint covers yet: the export is made (with a warning),
 * and verify says it cannot vouch for it rather than passing or crashing
 * on the export's empty proof file.
 */
static void test_export_unverifiable(void **state)
{
	struct world *w = *state;
	char dir[PATH_LEN], out[OUT_MAX];
	uint64_t ms;
	json_t *doc = apitest_call_json(w->srv, w->admin, "POST", "/api/v1/ledger/transfers",
					json_pack("{s:[o]}", "transfers", transfer(7001, ACCOUNT_B, ACCOUNT_A, 5, NULL, 0)),
					200);
	ms = (uint64_t)apitest_int(json_array_get(json_object_get(doc, "results"), 0), "timestamp") / 1000000u;
	json_decref(doc);
	FORMAT(dir, sizeof(dir), "%s/unsigned", w->tmp);
	if (export_cli(w->srv->data_dir, ms, ms + 1, dir, out) != 0)
		fail_msg("export: %s", out);
	expect_verify(dir, 1, "UNVERIFIABLE: no checkpoint covers sequence");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_exports),
		cmocka_unit_test(test_export_cli_refuses),
		cmocka_unit_test(test_export_http),
		cmocka_unit_test(test_tamper_entry_byte),
		cmocka_unit_test(test_tamper_entry_deep),
		cmocka_unit_test(test_tamper_order),
		cmocka_unit_test(test_tamper_checkpoints),
		cmocka_unit_test(test_tamper_opening),
		cmocka_unit_test(test_other_key_export),
		cmocka_unit_test(test_tamper_manifest),
		cmocka_unit_test(test_export_large),
		cmocka_unit_test(test_export_spool_swept),
		/* Last: stops the server. */
		cmocka_unit_test(test_export_unverifiable),
		cmocka_unit_test(test_export_stopped),
	};
	return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
