/* nftw is an XSI interface. */
#define _XOPEN_SOURCE 700

#include "testsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TESTSRV_READY_PREFIX "bangsoleh listening on http://127.0.0.1:"
#define TESTSRV_READY_LINE_MAX 256
#define TESTSRV_LOG_DUMP_MAX 16384 /* tail of the server's stderr shown on failure */
#define TESTSRV_POLL_STEP_MS 10

static int64_t testsrv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void testsrv_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static size_t testsrv_count(const char *const *list)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	return n;
}

/* Prints the last TESTSRV_LOG_DUMP_MAX bytes of a file, for diagnosis. */
static void testsrv_dump_file(const char *title, const char *path)
{
	char buf[TESTSRV_LOG_DUMP_MAX + 1];
	size_t n;
	long size;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > TESTSRV_LOG_DUMP_MAX)
		fseek(f, size - TESTSRV_LOG_DUMP_MAX, SEEK_SET);
	else
		fseek(f, 0, SEEK_SET);
	n = fread(buf, 1, TESTSRV_LOG_DUMP_MAX, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "testsrv: --- %s (%s) ---\n%s\ntestsrv: --- end ---\n", title, path, buf);
}

static int testsrv_code_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

/*
 * Reaps pid, waiting until deadline (monotonic ms); past it sends SIGKILL and
 * reaps. OUT: *exit_code. Returns 0, or TESTSRV_ETIMEOUT if it was killed.
 */
static int testsrv_reap(pid_t pid, int64_t deadline, int *exit_code)
{
	int wstatus = 0;
	pid_t r;
	for (;;) {
		r = waitpid(pid, &wstatus, WNOHANG);
		if (r == pid) {
			*exit_code = testsrv_code_of(wstatus);
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "testsrv: waitpid %d: %s\n", (int)pid, strerror(errno));
			*exit_code = -1;
			return TESTSRV_ESYS;
		}
		if (testsrv_now_ms() >= deadline)
			break;
		testsrv_sleep_ms(TESTSRV_POLL_STEP_MS);
	}
	fprintf(stderr, "testsrv: pid %d did not exit in time, killing it\n", (int)pid);
	kill(pid, SIGKILL);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	*exit_code = testsrv_code_of(wstatus);
	return TESTSRV_ETIMEOUT;
}

/*
 * In the child after fork: die with the test process, take the extra
 * environment, exec the binary. Never returns.
 */
static void testsrv_child_exec(const char *bin, char *const *argv, const char *const *env)
{
	char name[256];
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(127);
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		size_t len = eq ? (size_t)(eq - env[i]) : 0;
		if (!eq || len == 0 || len >= sizeof(name))
			_exit(127);
		memcpy(name, env[i], len);
		name[len] = '\0';
		if (setenv(name, eq + 1, 1) != 0)
			_exit(127);
	}
	execv(bin, argv);
	_exit(127);
}

/* A pipe whose ends are not inherited by exec'd programs. */
static int testsrv_pipe(int fds[2])
{
	if (pipe(fds) != 0) {
		fprintf(stderr, "testsrv: pipe: %s\n", strerror(errno));
		return TESTSRV_ESYS;
	}
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

static const char *testsrv_bin(void)
{
	const char *bin = getenv("BANGSOLEH_BIN");
	if (!bin || !*bin)
		fprintf(stderr, "testsrv: BANGSOLEH_BIN is not set\n");
	return bin && *bin ? bin : NULL;
}

/*
 * Fills argv with bin, first (n_first entries), then extra; NULL-terminated.
 * argv holds 1 + n_first + TESTSRV_ARGS_MAX + 1 entries.
 */
static int testsrv_argv(char **argv, const char *bin, const char *const *first, size_t n_first,
			const char *const *extra)
{
	size_t n = 0, n_extra = testsrv_count(extra);
	if (n_extra > TESTSRV_ARGS_MAX) {
		fprintf(stderr, "testsrv: more than %d arguments\n", TESTSRV_ARGS_MAX);
		return TESTSRV_ETOOBIG;
	}
	/* exec takes char *const[]; the strings themselves are never written. */
	argv[n++] = (char *)(uintptr_t)bin;
	for (size_t i = 0; i < n_first; i++)
		argv[n++] = (char *)(uintptr_t)first[i];
	for (size_t i = 0; i < n_extra; i++)
		argv[n++] = (char *)(uintptr_t)extra[i];
	argv[n] = NULL;
	return 0;
}

/*
 * Reads the ready line from fd until the deadline. OUT: *port.
 * Returns 0 or TESTSRV_ESTART.
 */
static int testsrv_await_ready(int fd, int64_t deadline, int *port)
{
	char line[TESTSRV_READY_LINE_MAX + 1];
	size_t len = 0;
	char *nl = NULL, *end;
	long value;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (!nl) {
		int64_t left = deadline - testsrv_now_ms();
		ssize_t n;
		if (left <= 0) {
			fprintf(stderr, "testsrv: no ready line within %d ms\n", TESTSRV_READY_TIMEOUT_MS);
			return TESTSRV_ESTART;
		}
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "testsrv: poll: %s\n", strerror(errno));
			return TESTSRV_ESTART;
		}
		if (pfd.revents == 0)
			continue;
		if (len == TESTSRV_READY_LINE_MAX) {
			fprintf(stderr, "testsrv: stdout line longer than %d bytes\n", TESTSRV_READY_LINE_MAX);
			return TESTSRV_ESTART;
		}
		n = read(fd, line + len, TESTSRV_READY_LINE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "testsrv: server closed stdout before the ready line\n");
			return TESTSRV_ESTART;
		}
		len += (size_t)n;
		line[len] = '\0';
		nl = memchr(line, '\n', len);
	}
	*nl = '\0';
	if (nl + 1 != line + len)
		fprintf(stderr, "testsrv: unexpected stdout after the ready line: %s\n", nl + 1);
	if (strncmp(line, TESTSRV_READY_PREFIX, strlen(TESTSRV_READY_PREFIX)) != 0)
		goto bad_line;
	errno = 0;
	value = strtol(line + strlen(TESTSRV_READY_PREFIX), &end, 10);
	if (errno != 0 || *end != '\0' || value <= 0 || value > 65535)
		goto bad_line;
	*port = (int)value;
	return 0;
bad_line:
	fprintf(stderr, "testsrv: unexpected ready line: \"%s\"\n", line);
	return TESTSRV_ESTART;
}

/*
 * Starts bin with argv and the extra env; its stdout (and its stderr too
 * when stderr_path is NULL, else that file) goes to a pipe. OUT: *pid, and
 * *out_fd, the pipe's read end, which the caller closes.
 */
static int testsrv_spawn(const char *bin, char *const *argv, const char *const *env,
			 const char *stderr_path, pid_t *pid, int *out_fd)
{
	int pipefd[2], errfd = -1, rc = TESTSRV_ESYS;

	if (testsrv_pipe(pipefd) != 0)
		return TESTSRV_ESYS;
	if (stderr_path) {
		errfd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
		if (errfd < 0) {
			fprintf(stderr, "testsrv: open %s: %s\n", stderr_path, strerror(errno));
			goto close_pipe;
		}
	}
	*pid = fork();
	if (*pid < 0) {
		fprintf(stderr, "testsrv: fork: %s\n", strerror(errno));
		goto close_err;
	}
	if (*pid == 0) {
		if (dup2(pipefd[1], STDOUT_FILENO) < 0 ||
		    dup2(errfd >= 0 ? errfd : pipefd[1], STDERR_FILENO) < 0)
			_exit(127);
		testsrv_child_exec(bin, argv, env);
	}
	*out_fd = pipefd[0];
	pipefd[0] = -1;
	rc = 0;
close_err:
	if (errfd >= 0)
		close(errfd);
close_pipe:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	close(pipefd[1]);
	return rc;
}

int testsrv_start(struct testsrv *srv, const char *const *args, const char *const *env)
{
	const char *serve[5] = { "serve", "--listen", "127.0.0.1:0", "--data", NULL };
	char *argv[1 + 5 + TESTSRV_ARGS_MAX + 1];
	const char *bin = testsrv_bin();
	int rc, code;

	memset(srv, 0, sizeof(*srv));
	srv->pid = -1;
	srv->stdout_fd = -1;
	if (!bin)
		return TESTSRV_ESTART;
	if (testsrv_count(env) > TESTSRV_ARGS_MAX) {
		fprintf(stderr, "testsrv: more than %d environment entries\n", TESTSRV_ARGS_MAX);
		return TESTSRV_ETOOBIG;
	}
	rc = testsrv_tmpdir(srv->dir, sizeof(srv->dir));
	if (rc != 0)
		return rc;
	snprintf(srv->data_dir, sizeof(srv->data_dir), "%s/data", srv->dir);
	snprintf(srv->log_path, sizeof(srv->log_path), "%s/stderr.log", srv->dir);
	serve[4] = srv->data_dir;
	rc = testsrv_argv(argv, bin, serve, 5, args);
	if (rc != 0)
		goto remove_dir;
	if (mkdir(srv->data_dir, 0700) != 0) {
		fprintf(stderr, "testsrv: mkdir %s: %s\n", srv->data_dir, strerror(errno));
		rc = TESTSRV_ESYS;
		goto remove_dir;
	}
	rc = testsrv_spawn(bin, argv, env, srv->log_path, &srv->pid, &srv->stdout_fd);
	if (rc != 0)
		goto remove_dir;
	rc = testsrv_await_ready(srv->stdout_fd, testsrv_now_ms() + TESTSRV_READY_TIMEOUT_MS,
				 &srv->port);
	if (rc != 0)
		goto stop_server;
	return 0;

stop_server:
	kill(srv->pid, SIGTERM);
	testsrv_reap(srv->pid, testsrv_now_ms() + TESTSRV_EXIT_TIMEOUT_MS, &code);
	fprintf(stderr, "testsrv: %s did not start (exit code %d)\n", bin, code);
	testsrv_dump_file("server stderr", srv->log_path);
	close(srv->stdout_fd);
	srv->stdout_fd = -1;
	srv->pid = -1;
remove_dir:
	testsrv_rmtree(srv->dir);
	srv->dir[0] = '\0';
	return rc;
}

int testsrv_stop(struct testsrv *srv, int *exit_code)
{
	int rc = 0;
	*exit_code = -1;
	if (srv->pid > 0) {
		kill(srv->pid, SIGTERM);
		rc = testsrv_reap(srv->pid, testsrv_now_ms() + TESTSRV_EXIT_TIMEOUT_MS, exit_code);
		srv->pid = -1;
		if (*exit_code != 0) {
			fprintf(stderr, "testsrv: server exited with code %d\n", *exit_code);
			testsrv_dump_file("server stderr", srv->log_path);
		}
	}
	if (srv->stdout_fd >= 0) {
		close(srv->stdout_fd);
		srv->stdout_fd = -1;
	}
	if (srv->dir[0]) {
		testsrv_rmtree(srv->dir);
		srv->dir[0] = '\0';
	}
	return rc;
}

struct testsrv *testsrv_new(const char *const *args, const char *const *env)
{
	struct testsrv *srv = malloc(sizeof(*srv));
	if (!srv)
		return NULL;
	if (testsrv_start(srv, args, env) != 0) {
		free(srv);
		return NULL;
	}
	return srv;
}

void testsrv_free(struct testsrv *srv)
{
	int code;
	if (!srv)
		return;
	testsrv_stop(srv, &code);
	free(srv);
}

bool testsrv_stopped_cleanly(struct testsrv *srv)
{
	int code;
	return testsrv_stop(srv, &code) == 0 && code == 0;
}

/*
 * Drains fd into out (cut at cap - 1, the rest read and dropped) until EOF or
 * the deadline. Returns 0 or TESTSRV_ETIMEOUT.
 */
static int testsrv_capture(int fd, int64_t deadline, char *out, size_t cap)
{
	char chunk[4096];
	size_t len = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	for (;;) {
		int64_t left = deadline - testsrv_now_ms();
		ssize_t n;
		if (left <= 0)
			return TESTSRV_ETIMEOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (cap > 0 && len < cap - 1) {
			size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
			memcpy(out + len, chunk, take);
			len += take;
			out[len] = '\0';
		}
	}
}

int testsrv_exec(const char *const *args, const char *const *env, int *exit_code,
		 char *out, size_t cap)
{
	char *argv[1 + TESTSRV_ARGS_MAX + 1];
	const char *bin = testsrv_bin();
	int64_t deadline = testsrv_now_ms() + TESTSRV_EXIT_TIMEOUT_MS;
	int fd, rc;
	pid_t pid;

	*exit_code = -1;
	if (cap > 0)
		out[0] = '\0';
	if (!bin)
		return TESTSRV_ESTART;
	if (testsrv_count(env) > TESTSRV_ARGS_MAX)
		return TESTSRV_ETOOBIG;
	rc = testsrv_argv(argv, bin, NULL, 0, args);
	if (rc == 0)
		rc = testsrv_spawn(bin, argv, env, NULL, &pid, &fd);
	if (rc != 0)
		return rc;
	rc = testsrv_capture(fd, deadline, out, cap);
	close(fd);
	if (rc != 0)
		fprintf(stderr, "testsrv: %s still running after %d ms\n", bin, TESTSRV_EXIT_TIMEOUT_MS);
	/* Past the deadline this kills at once. */
	if (testsrv_reap(pid, rc != 0 ? 0 : deadline, exit_code) != 0)
		rc = TESTSRV_ETIMEOUT;
	return rc;
}

int testsrv_crash_keep_data(struct testsrv *srv, char *moved, size_t cap, char *data, size_t data_cap)
{
	int n, code, rc;
	if (srv->pid <= 0 || kill(srv->pid, SIGKILL) != 0)
		return TESTSRV_ESYS;
	if ((rc = testsrv_tmpdir(moved, cap)) != 0)
		return rc;
	n = snprintf(data, data_cap, "%s/data", moved);
	if (n < 0 || (size_t)n >= data_cap)
		return TESTSRV_ETOOBIG;
	if (rename(srv->data_dir, data) != 0) {
		fprintf(stderr, "testsrv: rename %s: %s\n", srv->data_dir, strerror(errno));
		return TESTSRV_ESYS;
	}
	testsrv_stop(srv, &code);
	return 0;
}

int testsrv_tmpdir(char *buf, size_t cap)
{
	const char *base = getenv("TMPDIR");
	int n;
	if (!base || !*base)
		base = "/tmp";
	n = snprintf(buf, cap, "%s/bangsoleh-test-XXXXXX", base);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "testsrv: temp path too long\n");
		return TESTSRV_ETOOBIG;
	}
	if (!mkdtemp(buf)) {
		fprintf(stderr, "testsrv: mkdtemp %s: %s\n", buf, strerror(errno));
		buf[0] = '\0';
		return TESTSRV_ESYS;
	}
	return 0;
}

static int testsrv_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "testsrv: remove %s: %s\n", path, strerror(errno));
	return 0;
}

int testsrv_rmtree(const char *path)
{
	if (nftw(path, testsrv_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		fprintf(stderr, "testsrv: nftw %s: %s\n", path, strerror(errno));
		return TESTSRV_ESYS;
	}
	return 0;
}

int testsrv_write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	FILE *f = fopen(path, "w");
	int rc = 0;
	if (!f) {
		fprintf(stderr, "testsrv: open %s: %s\n", path, strerror(errno));
		return TESTSRV_ESYS;
	}
	if (fwrite(text, 1, len, f) != len)
		rc = TESTSRV_ESYS;
	if (fclose(f) != 0)
		rc = TESTSRV_ESYS;
	return rc;
}

int testsrv_connect(const struct testsrv *srv, int *fd)
{
	struct timeval tv = { .tv_sec = TESTSRV_IO_TIMEOUT_MS / 1000,
			      .tv_usec = (TESTSRV_IO_TIMEOUT_MS % 1000) * 1000 };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port) };
	int s;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fprintf(stderr, "testsrv: socket: %s\n", strerror(errno));
		return TESTSRV_ESYS;
	}
	/* SO_SNDTIMEO also bounds a blocking connect on Linux. */
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(s, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		fprintf(stderr, "testsrv: connect to port %d: %s\n", srv->port, strerror(errno));
		close(s);
		return TESTSRV_ESYS;
	}
	*fd = s;
	return 0;
}

int testsrv_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return TESTSRV_ECLOSED;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return TESTSRV_ETIMEOUT;
			fprintf(stderr, "testsrv: send: %s\n", strerror(errno));
			return TESTSRV_ESYS;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Appends what one recv() gives to buf (holding *len of cap bytes). */
static int testsrv_recv_more(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n;
	if (*len >= cap)
		return TESTSRV_ETOOBIG;
	do {
		n = recv(fd, buf + *len, cap - *len, 0);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		*len += (size_t)n;
		return 0;
	}
	if (n == 0 || errno == ECONNRESET)
		return TESTSRV_ECLOSED;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return TESTSRV_ETIMEOUT;
	fprintf(stderr, "testsrv: recv: %s\n", strerror(errno));
	return TESTSRV_ESYS;
}

static char *testsrv_trim(char *s)
{
	char *end;
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/*
 * Splits the head (NUL-terminated, CRLF lines, no final blank line) into the
 * status and headers of resp; resp->head must own it already.
 */
static int testsrv_parse_head(struct testsrv_response *resp)
{
	char *line = resp->head, *next, *colon, *end;
	long status;

	next = strstr(line, "\r\n");
	if (next) {
		*next = '\0';
		next += 2;
	}
	if (strncmp(line, "HTTP/1.", 7) != 0 || !line[7] || line[8] != ' ')
		goto bad_status;
	errno = 0;
	status = strtol(line + 9, &end, 10);
	if (errno != 0 || end != line + 12 || (*end != ' ' && *end != '\0') || status < 100 ||
	    status > 999)
		goto bad_status;
	resp->status = (int)status;

	for (line = next; line && *line; line = next) {
		next = strstr(line, "\r\n");
		if (next) {
			*next = '\0';
			next += 2;
		}
		colon = strchr(line, ':');
		if (!colon || colon == line) {
			fprintf(stderr, "testsrv: bad header line \"%s\"\n", line);
			return TESTSRV_EPROTO;
		}
		if (resp->nheaders == TESTSRV_HEADERS_MAX) {
			fprintf(stderr, "testsrv: more than %d headers\n", TESTSRV_HEADERS_MAX);
			return TESTSRV_ETOOBIG;
		}
		*colon = '\0';
		resp->headers[resp->nheaders].name = line;
		resp->headers[resp->nheaders].value = testsrv_trim(colon + 1);
		resp->nheaders++;
	}
	return 0;
bad_status:
	fprintf(stderr, "testsrv: bad status line \"%.80s\"\n", line);
	return TESTSRV_EPROTO;
}

/* Body length from Content-Length, or -1 when the body runs to the close. */
static int testsrv_body_length(const struct testsrv_response *resp, long long *out)
{
	const char *cl = testsrv_header(resp, "Content-Length");
	char *end;
	long long v;
	*out = -1;
	if (resp->status < 200 || resp->status == 204 || resp->status == 304) {
		*out = 0;
		return 0;
	}
	if (testsrv_header(resp, "Transfer-Encoding")) {
		fprintf(stderr, "testsrv: Transfer-Encoding responses are not read by this client\n");
		return TESTSRV_EPROTO;
	}
	if (!cl)
		return 0;
	errno = 0;
	v = strtoll(cl, &end, 10);
	if (errno != 0 || end == cl || *end != '\0' || v < 0 || v > TESTSRV_RESPONSE_MAX) {
		fprintf(stderr, "testsrv: bad Content-Length \"%s\"\n", cl);
		return TESTSRV_EPROTO;
	}
	*out = v;
	return 0;
}

int testsrv_read_response(int fd, struct testsrv_response *resp)
{
	char *buf, *head_end = NULL;
	size_t len = 0, head_len, body_len;
	long long want;
	int rc;

	memset(resp, 0, sizeof(*resp));
	buf = malloc(TESTSRV_RESPONSE_MAX + 1);
	if (!buf)
		return TESTSRV_ESYS;
	while (!head_end) {
		rc = testsrv_recv_more(fd, buf, TESTSRV_RESPONSE_MAX, &len);
		if (rc == TESTSRV_ECLOSED && len > 0) {
			fprintf(stderr, "testsrv: connection closed inside the response head\n");
			rc = TESTSRV_EPROTO;
		}
		if (rc != 0)
			goto free_buf;
		buf[len] = '\0';
		head_end = strstr(buf, "\r\n\r\n");
	}
	head_len = (size_t)(head_end - buf);
	resp->head = malloc(head_len + 1);
	if (!resp->head) {
		rc = TESTSRV_ESYS;
		goto free_buf;
	}
	memcpy(resp->head, buf, head_len);
	resp->head[head_len] = '\0';
	rc = testsrv_parse_head(resp);
	if (rc == 0)
		rc = testsrv_body_length(resp, &want);
	if (rc != 0)
		goto free_buf;

	head_len += 4;
	while (want < 0 || len - head_len < (size_t)want) {
		rc = testsrv_recv_more(fd, buf, TESTSRV_RESPONSE_MAX, &len);
		if (rc == TESTSRV_ECLOSED && want < 0)
			break;
		if (rc != 0) {
			fprintf(stderr, "testsrv: body cut short (%d)\n", rc);
			rc = rc == TESTSRV_ECLOSED ? TESTSRV_EPROTO : rc;
			goto free_buf;
		}
	}
	rc = 0;
	body_len = want < 0 ? len - head_len : (size_t)want;
	resp->trailing = len - head_len - body_len;
	resp->body = malloc(body_len + 1);
	if (!resp->body) {
		rc = TESTSRV_ESYS;
		goto free_buf;
	}
	memcpy(resp->body, buf + head_len, body_len);
	resp->body[body_len] = '\0';
	resp->body_len = body_len;
free_buf:
	free(buf);
	return rc;
}

bool testsrv_peer_closed(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t deadline = testsrv_now_ms() + TESTSRV_CLOSE_WAIT_MS;
	char byte;
	ssize_t n;
	for (;;) {
		int64_t left = deadline - testsrv_now_ms();
		if (left <= 0)
			return false;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, &byte, 1, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n > 0) {
			fprintf(stderr, "testsrv: bytes arrived where a close was expected\n");
			return false;
		}
	}
}

int testsrv_raw(const struct testsrv *srv, const void *bytes, size_t len,
		struct testsrv_response *resp)
{
	int fd, rc;
	memset(resp, 0, sizeof(*resp));
	rc = testsrv_connect(srv, &fd);
	if (rc != 0)
		return rc;
	rc = testsrv_send(fd, bytes, len);
	/* A server that rejects early may close while we send; read what it said. */
	if (rc == 0 || rc == TESTSRV_ECLOSED)
		rc = testsrv_read_response(fd, resp);
	close(fd);
	return rc;
}

int testsrv_request(const struct testsrv *srv, const char *method, const char *path,
		    const char *const *headers, const char *body, struct testsrv_response *resp)
{
	char *req = NULL;
	size_t req_len = 0;
	int rc = TESTSRV_ESYS;
	FILE *f;

	memset(resp, 0, sizeof(*resp));
	f = open_memstream(&req, &req_len);
	if (!f)
		return TESTSRV_ESYS;
	fprintf(f, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n", method, path,
		srv->port);
	for (size_t i = 0; headers && headers[i]; i++)
		fprintf(f, "%s\r\n", headers[i]);
	if (body)
		fprintf(f, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	else
		fputs("\r\n", f);
	if (fclose(f) != 0)
		goto free_req;
	rc = testsrv_raw(srv, req, req_len, resp);
free_req:
	free(req);
	return rc;
}

int testsrv_post_json_size(const struct testsrv *srv, const char *path, size_t len, int *status)
{
	static const char *const headers[] = { "Content-Type: application/json", NULL };
	struct testsrv_response resp;
	char *body;
	int rc;

	if (len < 10 || len > TESTSRV_RESPONSE_MAX)
		return TESTSRV_ETOOBIG;
	body = malloc(len + 1);
	if (!body)
		return TESTSRV_ESYS;
	memcpy(body, "{\"pad\":\"", 8);
	memset(body + 8, 'x', len - 10);
	memcpy(body + len - 2, "\"}", 3);
	rc = testsrv_request(srv, "POST", path, headers, body, &resp);
	*status = resp.status;
	testsrv_response_free(&resp);
	free(body);
	return rc;
}

const char *testsrv_header(const struct testsrv_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	}
	return NULL;
}

void testsrv_response_free(struct testsrv_response *resp)
{
	free(resp->head);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

bool testsrv_healthy(const struct testsrv *srv)
{
	struct testsrv_response resp;
	int rc = testsrv_request(srv, "GET", "/healthz", NULL, NULL, &resp);
	bool ok = rc == 0 && resp.status == 200;
	if (!ok)
		fprintf(stderr, "testsrv: GET /healthz: rc %d, status %d\n", rc, resp.status);
	testsrv_response_free(&resp);
	return ok;
}

bool testsrv_error_is(const struct testsrv_response *resp, const char *code)
{
	const char *ctype = testsrv_header(resp, "Content-Type");
	json_error_t jerr;
	json_t *doc, *err;
	bool ok;

	if (!ctype || strncasecmp(ctype, "application/json", 16) != 0) {
		fprintf(stderr, "testsrv: error response Content-Type \"%s\"\n", ctype ? ctype : "");
		return false;
	}
	doc = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, &jerr);
	err = json_object_get(doc, "error");
	ok = json_is_string(json_object_get(err, "code")) &&
	     strcmp(json_string_value(json_object_get(err, "code")), code) == 0 &&
	     json_is_string(json_object_get(err, "message"));
	if (!ok)
		fprintf(stderr, "testsrv: expected error code \"%s\", body: %.512s\n", code,
			resp->body ? resp->body : "");
	json_decref(doc);
	return ok;
}

/* Reads the whole file (at most TESTSRV_LOG_MAX bytes). OUT: *text, malloc'd. */
static int testsrv_read_file(const char *path, char **text)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	size_t cap, n;
	char *buf;
	int rc = TESTSRV_ESYS;
	if (!f)
		return TESTSRV_ESYS;
	if (fstat(fileno(f), &st) != 0)
		goto close_file;
	cap = st.st_size > TESTSRV_LOG_MAX ? TESTSRV_LOG_MAX : (size_t)st.st_size;
	buf = malloc(cap + 1);
	if (!buf)
		goto close_file;
	n = fread(buf, 1, cap, f);
	buf[n] = '\0';
	*text = buf;
	rc = 0;
close_file:
	fclose(f);
	return rc;
}

/*
 * Scans the complete JSON lines of text for those with a matching string
 * member. Returns the first (new reference) or NULL; OUT: *matches.
 */
static json_t *testsrv_find_line(const char *text, const char *key, const char *value,
				 size_t *matches)
{
	const char *line = text, *nl;
	json_t *first = NULL;
	*matches = 0;
	for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		json_t *obj = json_loadb(line, (size_t)(nl - line), 0, NULL);
		json_t *member = json_object_get(obj, key);
		if (json_is_string(member) && strcmp(json_string_value(member), value) == 0) {
			++*matches;
			if (!first) {
				first = obj;
				continue;
			}
		}
		json_decref(obj);
	}
	return first;
}

int testsrv_log_find(const struct testsrv *srv, const char *key, const char *value,
		     json_t **line, size_t *matches)
{
	int64_t deadline = testsrv_now_ms() + TESTSRV_LOG_WAIT_MS;
	*line = NULL;
	for (;;) {
		char *text;
		if (testsrv_read_file(srv->log_path, &text) == 0) {
			*line = testsrv_find_line(text, key, value, matches);
			free(text);
			if (*line)
				return 0;
		}
		if (testsrv_now_ms() >= deadline)
			break;
		testsrv_sleep_ms(TESTSRV_POLL_STEP_MS * 5);
	}
	fprintf(stderr, "testsrv: no log line with %s=\"%s\"\n", key, value);
	testsrv_dump_file("server stderr", srv->log_path);
	return TESTSRV_ENOTFOUND;
}
