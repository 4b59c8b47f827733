/*
 * sandboxtest: the sandbox payment provider (`bangsoleh-sandbox`, see
 * docs/sandbox.md) for integration tests that move money: starts and stops
 * the program on an ephemeral loopback port, speaks to its test controls,
 * and the clock, port and ledger checks such tests share.
 *
 * The binary is the one named by the environment variable
 * BANGSOLEH_SANDBOX_BIN (tests/integration/meson.build sets it). Starting
 * and stopping return a status; the other helpers fail the running cmocka
 * test on an unexpected answer (like apitest). Every wait is bounded by a
 * testsrv limit (TESTSRV_READY_TIMEOUT_MS, TESTSRV_EXIT_TIMEOUT_MS). Not
 * thread-safe.
 */
#ifndef BANGSOLEH_SANDBOXTEST_H
#define BANGSOLEH_SANDBOXTEST_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "testsrv.h"

#define SANDBOXTEST_WEBHOOK_PATH "/api/v1/webhooks/payments/sandbox"
#define SANDBOXTEST_COURIER_TOKEN "sandbox-courier-token"   /* the server's default courier.webhook_token */
#define SANDBOXTEST_READY_MAX 512   /* bytes of the ready line read at most */

/*
 * A sandbox program. Fields are read-only for tests; `peer` has only its
 * port set, so testsrv_request and apitest_call speak to the sandbox with it.
 */
#define SANDBOXTEST_ARGS_MAX 16

struct sandboxtest {
	pid_t pid;                              /* -1: not running */
	int port;
	int stdout_fd;                          /* -1: none */
	char dir[TESTSRV_PATH_MAX];             /* temp folder of its log, removed on stop */
	char log_path[TESTSRV_PATH_MAX + 16];   /* dir/sandbox.log: its stderr */
	struct testsrv peer;
};

/* Marks sb as not running (so sandboxtest_stop on it does nothing). */
void sandboxtest_init(struct sandboxtest *sb);

/*
 * Starts $BANGSOLEH_SANDBOX_BIN on 127.0.0.1:0, sending its Midtrans and
 * payout notifications to the server's webhook on 127.0.0.1:server_port,
 * and waits for its ready line. The program is killed if the test process
 * dies. Returns 0; on failure prints its stderr and leaves nothing running
 * or on disk (sb as after sandboxtest_init).
 */
int sandboxtest_start(struct sandboxtest *sb, int server_port);
/* As sandboxtest_start, with more arguments for the program (NULL-terminated, at most SANDBOXTEST_ARGS_MAX; lent). */
int sandboxtest_start_with(struct sandboxtest *sb, int server_port, const char *const *extra);

/*
 * SIGTERM, then SIGKILL after TESTSRV_EXIT_TIMEOUT_MS; removes the temp
 * folder. Prints its stderr when the exit code is not 0. Returns the exit
 * code (128 + signal), or -1 when it was not running.
 */
int sandboxtest_stop(struct sandboxtest *sb);

/*
 * A call to the sandbox's test controls (/simulate/...): checks the status
 * and returns the JSON body (NULL when empty), which the caller json_decref's.
 */
json_t *sandboxtest_call(const struct sandboxtest *sb, const char *method, const char *path, const char *body,
			 int status);

/* Sets faults for a scope (an id, or "global"): `fields` are JSON object members, e.g. "\"timeout\":1". */
void sandboxtest_fault(const struct sandboxtest *sb, const char *scope, const char *fields);

/* Pays a pending charge named by id (our payment id): POST /simulate/pay/{id}; amount 0 pays what was asked. */
void sandboxtest_pay(const struct sandboxtest *sb, const char *id, int64_t amount);

/*
 * The sandbox's view of a charge found by its reference (our payment id),
 * from GET /simulate/charges: a new reference the caller json_decref's.
 */
json_t *sandboxtest_charge(const struct sandboxtest *sb, const char *reference);

/* A monotonic clock in milliseconds, for deadlines. */
int64_t sandboxtest_now_ms(void);
/* Sleeps ms milliseconds (resumed after signals): a poll's step, never a wait for an outcome. */
void sandboxtest_sleep_ms(int ms);
/*
 * A loopback port that was free a moment ago (for a server the sandbox must
 * know before it starts), picked at random below Linux's ephemeral range
 * (32768-60999 by default), where neither outgoing connections nor the
 * other tests' port-0 listeners land while the server is on its way.
 */
#define SANDBOXTEST_PORT_LOW 20000
#define SANDBOXTEST_PORT_HIGH 32767
#define SANDBOXTEST_PORT_TRIES 64
int sandboxtest_free_port(void);

/* `bangsoleh ledger verify --data data_dir` exits 0 and says ok; fails the test otherwise. */
void sandboxtest_ledger_verify(const char *data_dir);

/*
 * A test's pair of programs: the sandbox and a server using it, with the
 * server's data folder in a folder of the test's own, so the books can be
 * verified after the server stopped.
 */
struct sandboxtest_pair {
	struct sandboxtest sb;
	struct testsrv *srv;                    /* NULL when not running */
	char dir[TESTSRV_PATH_MAX];             /* the test's folder; "" until started */
	char data[TESTSRV_PATH_MAX + 8];        /* dir/data: the server's store */
};

/* Marks p as not started (before the test). */
void sandboxtest_pair_init(struct sandboxtest_pair *p);

/*
 * Starts the sandbox (its payment and courier notifications to the server's
 * port, the courier ones with the default token; `sandbox_extra` more
 * arguments, or NULL), then `bangsoleh serve --listen 127.0.0.1:PORT --data
 * DIR/data --set courier.base_url=<the sandbox> SERVER_ARGS...` with ENV
 * plus BANGSOLEH_PAYMENT_BASE_URL=<the sandbox>. Lists as for testsrv_start
 * (at most SANDBOXTEST_ARGS_MAX entries each). Fails the test on error.
 */
void sandboxtest_pair_start(struct sandboxtest_pair *p, const char *const *sandbox_extra,
			    const char *const *server_args, const char *const *env);

/*
 * Ends a test: the server stops with status 0, `bangsoleh ledger verify`
 * passes on its data, and the sandbox stops with status 0.
 */
void sandboxtest_pair_finish(struct sandboxtest_pair *p);

/* Stops whatever still runs and removes the test's folder (teardown). */
void sandboxtest_pair_free(struct sandboxtest_pair *p);

#endif
