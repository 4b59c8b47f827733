#include "sandboxtest.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apitest.h"

#define SANDBOXTEST_LOG_TAIL 16384     /* bytes of its stderr printed on failure */
#define SANDBOXTEST_LINE_MAX 1200      /* a fault request's body */

int64_t sandboxtest_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sandboxtest_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int sandboxtest_free_port(void)
{
	for (int tries = 0; tries < SANDBOXTEST_PORT_TRIES; tries++) {
		struct sockaddr_in addr = { .sin_family = AF_INET };
		int port = SANDBOXTEST_PORT_LOW + (int)arc4random_uniform(SANDBOXTEST_PORT_HIGH - SANDBOXTEST_PORT_LOW + 1);
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;
		assert_true(s >= 0);
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addr.sin_port = htons((uint16_t)port);
		rc = bind(s, (struct sockaddr *)&addr, sizeof(addr));
		close(s);
		if (rc == 0)
			return port;
	}
	fail_msg("no free loopback port in %d tries", SANDBOXTEST_PORT_TRIES);
	return -1;
}

void sandboxtest_init(struct sandboxtest *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->pid = -1;
	sb->stdout_fd = -1;
}

/* Prints the end of the sandbox's stderr, for diagnosis. */
static void sandboxtest_dump_log(const struct sandboxtest *sb)
{
	char buf[SANDBOXTEST_LOG_TAIL];
	size_t n;
	FILE *f = fopen(sb->log_path, "r");
	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > (long)sizeof(buf) - 1)
		fseek(f, -(long)(sizeof(buf) - 1), SEEK_END);
	else
		fseek(f, 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "--- sandbox stderr (%s) ---\n%s\n--- end ---\n", sb->log_path, buf);
}

/* Reads the sandbox's first stdout line, which names its address. OUT: sb->port. */
static int sandboxtest_await_ready(struct sandboxtest *sb)
{
	char line[SANDBOXTEST_READY_MAX + 1];
	size_t len = 0;
	int64_t deadline = sandboxtest_now_ms() + TESTSRV_READY_TIMEOUT_MS;
	const char *at;
	while (!memchr(line, '\n', len)) {
		struct pollfd p = { .fd = sb->stdout_fd, .events = POLLIN };
		ssize_t n;
		if (sandboxtest_now_ms() >= deadline || len == SANDBOXTEST_READY_MAX)
			return -1;
		if (poll(&p, 1, (int)(deadline - sandboxtest_now_ms())) <= 0)
			continue;
		n = read(sb->stdout_fd, line + len, SANDBOXTEST_READY_MAX - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	line[len] = '\0';
	at = strstr(line, "http://127.0.0.1:");
	if (!at)
		return -1;
	sb->port = atoi(at + strlen("http://127.0.0.1:"));
	return sb->port > 0 && sb->port < 65536 ? 0 : -1;
}

int sandboxtest_start(struct sandboxtest *sb, int server_port)
{
	return sandboxtest_start_with(sb, server_port, NULL);
}

int sandboxtest_start_with(struct sandboxtest *sb, int server_port, const char *const *extra)
{
	const char *bin = getenv("BANGSOLEH_SANDBOX_BIN");
	const char *argv[SANDBOXTEST_ARGS_MAX + 6];
	char notify[128];
	size_t argc = 0;
	int out[2], err_fd, code;
	sandboxtest_init(sb);
	if (!bin || !*bin) {
		fprintf(stderr, "BANGSOLEH_SANDBOX_BIN is not set\n");
		return -1;
	}
	if (testsrv_tmpdir(sb->dir, sizeof(sb->dir)) != 0)
		return -1;
	snprintf(sb->log_path, sizeof(sb->log_path), "%s/sandbox.log", sb->dir);
	snprintf(notify, sizeof(notify), "http://127.0.0.1:%d%s", server_port, SANDBOXTEST_WEBHOOK_PATH);
	argv[argc++] = "bangsoleh-sandbox";
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--notify-midtrans";
	argv[argc++] = notify;
	for (size_t i = 0; extra && extra[i] && i < SANDBOXTEST_ARGS_MAX; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	err_fd = open(sb->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (err_fd < 0 || pipe(out) != 0) {
		if (err_fd >= 0)
			close(err_fd);
		testsrv_rmtree(sb->dir);
		sandboxtest_init(sb);
		return -1;
	}
	fcntl(out[0], F_SETFD, FD_CLOEXEC);
	sb->pid = fork();
	if (sb->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
			_exit(127);
		close(out[1]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err_fd);
	sb->stdout_fd = out[0];
	if (sb->pid > 0 && sandboxtest_await_ready(sb) == 0) {
		sb->peer.port = sb->port;
		return 0;
	}
	fprintf(stderr, "the sandbox did not start\n");
	if (sb->pid > 0) {
		kill(sb->pid, SIGKILL);
		waitpid(sb->pid, &code, 0);
	}
	sandboxtest_dump_log(sb);
	close(sb->stdout_fd);
	testsrv_rmtree(sb->dir);
	sandboxtest_init(sb);
	return -1;
}

int sandboxtest_stop(struct sandboxtest *sb)
{
	int64_t deadline = sandboxtest_now_ms() + TESTSRV_EXIT_TIMEOUT_MS;
	int status = 0, code = -1;
	if (sb->pid > 0) {
		kill(sb->pid, SIGTERM);
		while (waitpid(sb->pid, &status, WNOHANG) == 0) {
			if (sandboxtest_now_ms() >= deadline) {
				kill(sb->pid, SIGKILL);
				waitpid(sb->pid, &status, 0);
				break;
			}
			sandboxtest_sleep_ms(10);
		}
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (code != 0) {
			fprintf(stderr, "the sandbox exited with code %d\n", code);
			sandboxtest_dump_log(sb);
		}
	}
	if (sb->stdout_fd >= 0)
		close(sb->stdout_fd);
	if (sb->dir[0])
		testsrv_rmtree(sb->dir);
	sandboxtest_init(sb);
	return code;
}

json_t *sandboxtest_call(const struct sandboxtest *sb, const char *method, const char *path, const char *body,
			 int status)
{
	return apitest_call(&sb->peer, NULL, method, path, body, status);
}

void sandboxtest_fault(const struct sandboxtest *sb, const char *scope, const char *fields)
{
	char body[SANDBOXTEST_LINE_MAX];
	snprintf(body, sizeof(body), "{\"scope\":\"%s\",%s}", scope, fields);
	json_decref(sandboxtest_call(sb, "POST", "/simulate/faults", body, 200));
}

void sandboxtest_pay(const struct sandboxtest *sb, const char *id, int64_t amount)
{
	char path[TESTSRV_PATH_MAX], body[64];
	snprintf(path, sizeof(path), "/simulate/pay/%s", id);
	if (amount > 0)
		snprintf(body, sizeof(body), "{\"amount\":%lld}", (long long)amount);
	json_decref(sandboxtest_call(sb, "POST", path, amount > 0 ? body : "{}", 200));
}

json_t *sandboxtest_charge(const struct sandboxtest *sb, const char *reference)
{
	json_t *doc = sandboxtest_call(sb, "GET", "/simulate/charges", NULL, 200), *c, *found = NULL;
	size_t i;
	json_array_foreach(json_object_get(doc, "charges"), i, c) {
		if (strcmp(apitest_str(c, "reference"), reference) == 0)
			found = json_incref(c);
	}
	json_decref(doc);
	if (!found)
		fail_msg("the sandbox has no charge %s", reference);
	return found;
}

void sandboxtest_ledger_verify(const char *data_dir)
{
	const char *args[] = { "ledger", "verify", "--data", data_dir, NULL };
	char out[APITEST_OUTPUT_MAX];
	int code = -1;
	assert_int_equal(testsrv_exec(args, NULL, &code, out, sizeof(out)), 0);
	if (code != 0 || !strstr(out, "\nok\n"))
		fail_msg("ledger verify: exit %d: %s", code, out);
}

void sandboxtest_pair_init(struct sandboxtest_pair *p)
{
	memset(p, 0, sizeof(*p));
	sandboxtest_init(&p->sb);
}

/* Copies a NULL-terminated list after `at` entries of out (bounded). Returns the new count. */
static size_t sandboxtest_append(const char **out, size_t at, const char *const *list)
{
	for (size_t i = 0; list && list[i] && at < SANDBOXTEST_ARGS_MAX + 8; i++)
		out[at++] = list[i];
	return at;
}

void sandboxtest_pair_start(struct sandboxtest_pair *p, const char *const *sandbox_extra,
			    const char *const *server_args, const char *const *env)
{
	char listen[32], couriers[160], base_url[64], courier_url[64];
	const char *sb_args[SANDBOXTEST_ARGS_MAX + 9] = { "--notify-biteship", couriers };
	const char *args[SANDBOXTEST_ARGS_MAX + 9] = { "--listen", listen, "--data", p->data, "--set", courier_url };
	const char *envs[SANDBOXTEST_ARGS_MAX + 9] = { base_url };
	int port = sandboxtest_free_port();
	assert_int_equal(testsrv_tmpdir(p->dir, sizeof(p->dir)), 0);
	snprintf(p->data, sizeof(p->data), "%s/data", p->dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(couriers, sizeof(couriers), "http://127.0.0.1:%d/api/v1/webhooks/couriers/sandbox?token=%s", port,
		 SANDBOXTEST_COURIER_TOKEN);
	sandboxtest_append(sb_args, 2, sandbox_extra);
	if (sandboxtest_start_with(&p->sb, port, sb_args) != 0)
		fail_msg("the sandbox did not start");
	snprintf(base_url, sizeof(base_url), "BANGSOLEH_PAYMENT_BASE_URL=http://127.0.0.1:%d", p->sb.port);
	snprintf(courier_url, sizeof(courier_url), "courier.base_url=http://127.0.0.1:%d", p->sb.port);
	sandboxtest_append(args, 6, server_args);
	sandboxtest_append(envs, 1, env);
	p->srv = testsrv_new(args, envs);
	if (!p->srv)
		fail_msg("the server did not start");
	assert_int_equal(p->srv->port, port);
}

void sandboxtest_pair_finish(struct sandboxtest_pair *p)
{
	assert_true(testsrv_stopped_cleanly(p->srv));
	testsrv_free(p->srv);
	p->srv = NULL;
	sandboxtest_ledger_verify(p->data);
	assert_int_equal(sandboxtest_stop(&p->sb), 0);
}

void sandboxtest_pair_free(struct sandboxtest_pair *p)
{
	testsrv_free(p->srv);
	p->srv = NULL;
	sandboxtest_stop(&p->sb);
	if (p->dir[0])
		testsrv_rmtree(p->dir);
	p->dir[0] = '\0';
}
