/*
 * testsrv: helpers for integration tests. Starts the real `bangsoleh serve`
 * on 127.0.0.1 with an ephemeral port and a fresh data folder, stops it, and
 * speaks raw HTTP/1.1 to it over blocking sockets with timeouts, so tests
 * can send well-formed requests and arbitrary bytes alike.
 *
 * The binary is the one named by the environment variable BANGSOLEH_BIN
 * (tests/integration/meson.build sets it). Every wait is bounded by one of
 * the limits below; a helper that gives up says why on stderr and returns a
 * negative enum testsrv_error. Not thread-safe: tests are single-threaded.
 */
#ifndef BANGSOLEH_TESTSRV_H
#define BANGSOLEH_TESTSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define TESTSRV_READY_TIMEOUT_MS 20000 /* start until the ready line */
#define TESTSRV_EXIT_TIMEOUT_MS 15000  /* SIGTERM (or a run) until exit; then SIGKILL */
#define TESTSRV_IO_TIMEOUT_MS 10000    /* each socket send or receive */
#define TESTSRV_CLOSE_WAIT_MS 5000     /* testsrv_peer_closed */
#define TESTSRV_LOG_WAIT_MS 5000       /* testsrv_log_find */
#define TESTSRV_RESPONSE_MAX (1024 * 1024) /* one response, head and body */
#define TESTSRV_HEADERS_MAX 64         /* header lines in one response */
#define TESTSRV_ARGS_MAX 32            /* extra arguments or environment entries */
#define TESTSRV_LOG_MAX (8 * 1024 * 1024) /* server stderr file read back */
#define TESTSRV_PATH_MAX 256

enum testsrv_error {
	TESTSRV_ESYS = -1,     /* a system call failed */
	TESTSRV_ETIMEOUT = -2, /* a bound ran out */
	TESTSRV_ECLOSED = -3,  /* the peer closed or reset before a full response */
	TESTSRV_EPROTO = -4,   /* the response is not HTTP/1.x as expected */
	TESTSRV_ETOOBIG = -5,  /* over TESTSRV_RESPONSE_MAX, _HEADERS_MAX or _ARGS_MAX */
	TESTSRV_ESTART = -6,   /* the server exited or printed no ready line */
	TESTSRV_ENOTFOUND = -7 /* testsrv_log_find: no such line */
};

/* A running server. Fields are read-only for tests. */
struct testsrv {
	pid_t pid;
	int port;
	int stdout_fd;                         /* read end of the server's stdout */
	char dir[TESTSRV_PATH_MAX];            /* temp folder, removed on stop */
	char data_dir[TESTSRV_PATH_MAX + 8];   /* dir/data, given as --data */
	char log_path[TESTSRV_PATH_MAX + 16];  /* dir/stderr.log: the server's stderr */
};

struct testsrv_header {
	const char *name;
	const char *value; /* surrounding blanks removed */
};

/*
 * One parsed response. head and body are malloc'd and owned by the struct
 * (testsrv_response_free); headers[] point into head.
 */
struct testsrv_response {
	int status;
	char *head; /* status line and header lines, split in place */
	struct testsrv_header headers[TESTSRV_HEADERS_MAX];
	size_t nheaders;
	char *body;      /* body_len bytes plus a terminating NUL */
	size_t body_len;
	size_t trailing; /* bytes that arrived after this response */
};

/*
 * Starts `$BANGSOLEH_BIN serve --listen 127.0.0.1:0 --data DIR/data ARGS...`
 * with ENV ("NAME=VALUE" strings) added to its environment; args and env are
 * NULL-terminated lists or NULL, at most TESTSRV_ARGS_MAX entries each. Waits
 * for the line `bangsoleh listening on http://127.0.0.1:PORT` on its stdout.
 * The server's stderr goes to srv->log_path. The server is killed if the
 * test process dies. Returns 0; on failure prints the server's stderr and
 * leaves nothing running or on disk.
 */
int testsrv_start(struct testsrv *srv, const char *const *args, const char *const *env);

/*
 * Sends SIGTERM, waits up to TESTSRV_EXIT_TIMEOUT_MS (then SIGKILL), and
 * removes the temp folder. OUT: *exit_code is the exit status, or 128 plus
 * the signal number. The server's stderr is printed when the code is not 0.
 * Returns 0, or TESTSRV_ETIMEOUT when the server had to be killed.
 */
int testsrv_stop(struct testsrv *srv, int *exit_code);

/*
 * testsrv_start on a new allocation: returns the running server, or NULL
 * (reason printed). Release it with testsrv_free.
 */
struct testsrv *testsrv_new(const char *const *args, const char *const *env);
/* Stops srv if it still runs (exit code ignored) and frees it. NULL is a no-op. */
void testsrv_free(struct testsrv *srv);
/* Stops srv; true when it exited with code 0 without needing SIGKILL. */
bool testsrv_stopped_cleanly(struct testsrv *srv);

/*
 * Runs `$BANGSOLEH_BIN ARGS...` (NULL-terminated) with ENV added, to its
 * end or TESTSRV_EXIT_TIMEOUT_MS (then SIGKILL, TESTSRV_ETIMEOUT). OUT:
 * *exit_code as in testsrv_stop; out receives stdout and stderr together,
 * NUL-terminated, cut at cap - 1 bytes. Returns 0.
 */
int testsrv_exec(const char *const *args, const char *const *env, int *exit_code,
		 char *out, size_t cap);

/*
 * Kills srv (SIGKILL: a crash), moves its data folder to `data` =
 * `moved`/data in a fresh temp folder `moved` (the caller removes it with
 * testsrv_rmtree), and stops srv (its own folder removed; free it after),
 * so another server can be started on the data with `--data`. OUT: moved
 * (cap bytes), data (data_cap bytes). Returns 0.
 */
int testsrv_crash_keep_data(struct testsrv *srv, char *moved, size_t cap, char *data, size_t data_cap);
/* Makes a fresh private temp folder; OUT: its path in buf. Returns 0. */
int testsrv_tmpdir(char *buf, size_t cap);
/* Removes a folder and everything in it (does not follow links). Returns 0. */
int testsrv_rmtree(const char *path);
/* Creates or replaces the file at path with text. Returns 0. */
int testsrv_write_file(const char *path, const char *text);

/*
 * Opens a blocking TCP connection to the server with send and receive
 * timeouts of TESTSRV_IO_TIMEOUT_MS. OUT: *fd, which the caller closes.
 */
int testsrv_connect(const struct testsrv *srv, int *fd);
/* Sends all len bytes. Returns 0, or TESTSRV_ECLOSED if the peer went away. */
int testsrv_send(int fd, const void *buf, size_t len);
/*
 * Reads one response: status line, headers, then a Content-Length body or,
 * without one, everything until the peer closes. OUT: *resp (free it with
 * testsrv_response_free, also after a failure). Returns 0, or
 * TESTSRV_ECLOSED when the peer closed before sending anything.
 */
int testsrv_read_response(int fd, struct testsrv_response *resp);
/*
 * True when the peer closes (or resets) the connection within
 * TESTSRV_CLOSE_WAIT_MS; false if bytes arrive or it stays open.
 */
bool testsrv_peer_closed(int fd);

/*
 * Connects, sends the bytes as they are, reads one response and closes. A
 * send the server cuts short is not an error: its response (or close)
 * decides. OUT: *resp as in testsrv_read_response.
 */
int testsrv_raw(const struct testsrv *srv, const void *bytes, size_t len,
		struct testsrv_response *resp);
/*
 * Sends `METHOD PATH HTTP/1.1` with Host, Connection: close, the given
 * header lines ("Name: value", NULL-terminated list or NULL) and, when body
 * is not NULL, the body with its Content-Length; reads the response.
 * OUT: *resp as in testsrv_read_response.
 */
int testsrv_request(const struct testsrv *srv, const char *method, const char *path,
		    const char *const *headers, const char *body, struct testsrv_response *resp);

/*
 * POSTs a JSON object of exactly len bytes (at least 10; {"pad":"xx..."})
 * with Content-Type application/json to path. OUT: *status.
 */
int testsrv_post_json_size(const struct testsrv *srv, const char *path, size_t len, int *status);

/* First value of the named header (case-insensitive), or NULL. Borrowed from resp. */
const char *testsrv_header(const struct testsrv_response *resp, const char *name);
/* Frees what resp holds and zeroes it. */
void testsrv_response_free(struct testsrv_response *resp);

/* True when GET /healthz answers 200. */
bool testsrv_healthy(const struct testsrv *srv);
/*
 * True when resp is a JSON error: Content-Type application/json and a body
 * {"error": {"code": CODE, "message": "..."}}. Prints what differs otherwise.
 */
bool testsrv_error_is(const struct testsrv_response *resp, const char *code);

/*
 * Waits up to TESTSRV_LOG_WAIT_MS for a JSON line in the server's stderr
 * whose string member `key` equals value. OUT: *line, the first such line,
 * a new reference the caller json_decref's; *matches, how many lines match
 * when it is found. Returns 0 or TESTSRV_ENOTFOUND.
 */
int testsrv_log_find(const struct testsrv *srv, const char *key, const char *value,
		     json_t **line, size_t *matches);

#endif
