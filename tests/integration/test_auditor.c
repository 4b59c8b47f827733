/*
 * The auditor changes nothing: every writing endpoint that docs/api.md
 * lists (POST, PUT, PATCH, DELETE headings), other than the public ones and
 * signing out, answers 403 to an auditor's token — before anything runs, so
 * placeholder ids do. The list comes from the docs, so an endpoint added
 * without its page is not tested, and a page without its endpoint fails
 * (404 instead of 403).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apitest.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define LINE_MAX_LEN 1024
#define PATH_MAX_LEN 512
#define ENDPOINTS_MIN 25         /* the docs list at least this many writing endpoints */

/* A path of the docs with each {param} given a value the router takes (digits pass as ids of any kind). */
static void auditor_fill_params(const char *pattern, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = pattern; *p && n + 33 < cap; p++) {
		if (*p == '{') {
			const char *end = strchr(p, '}');
			if (!end)
				break;
			n += (size_t)snprintf(out + n, cap - n, "%s", "0123456789abcdef0123456789abcdef");
			p = end;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

/* Calls one writing endpoint as the auditor: 403 forbidden. */
static void auditor_expect_refused(const struct testsrv *srv, const char *token, const char *method,
				   const char *pattern)
{
	char path[PATH_MAX_LEN];
	auditor_fill_params(pattern, path, sizeof(path));
	apitest_expect_error(srv, token, method, path, "{}", 403, "forbidden", NULL);
}

/*
 * Reads one heading: "### `METHOD /path` · `/variant` — roles". Calls
 * each method + path (variants replace the last path segment) unless the
 * roles say public. Returns how many it called.
 */
static size_t auditor_heading(const struct testsrv *srv, const char *token, char *line)
{
	char method[8], base[PATH_MAX_LEN], path[PATH_MAX_LEN + 64];
	const char *tick = strchr(line, '`'), *dash = strstr(line, "\u2014");
	char *cur, *end;
	size_t called = 0;
	/* Public routes are the world's (providers' webhooks, sign-up); "any signed-in role" is one's own session. */
	if (!tick || !dash || strstr(dash, "public") || strstr(dash, "any signed-in role") ||
	    sscanf(tick + 1, "%7s %511[^`?]", method, base) != 2)
		return 0;
	if (strcmp(method, "POST") && strcmp(method, "PUT") && strcmp(method, "PATCH") && strcmp(method, "DELETE"))
		return 0;
	auditor_expect_refused(srv, token, method, base);
	called++;
	/* "· `/reject`": the same path with its last segment replaced. */
	for (cur = strstr(tick + 1, "\u00b7 `"); cur && cur < dash; cur = strstr(end, "\u00b7 `")) {
		char *slash = strrchr(base, '/');
		cur += strlen("\u00b7 `");
		end = strchr(cur, '`');
		if (!end || !slash)
			break;
		snprintf(path, sizeof(path), "%.*s%.*s", (int)(slash - base), base, (int)(end - cur), cur);
		auditor_expect_refused(srv, token, method, path);
		called++;
	}
	return called;
}

static void test_auditor_writes_nothing(void **state)
{
	const char *env[] = { COST_ENV, NULL };
	const char *docs = getenv("BANGSOLEH_DOCS");
	char file[PATH_MAX_LEN], line[LINE_MAX_LEN], token[APITEST_TOKEN_MAX];
	struct testsrv *srv;
	size_t called = 0;
	FILE *f;
	(void)state;
	assert_non_null(docs);
	snprintf(file, sizeof(file), "%s/api.md", docs);
	f = fopen(file, "r");
	assert_non_null(f);
	srv = testsrv_new(NULL, env);
	assert_non_null(srv);
	apitest_user_add_cli(srv, env, "auditor", "kota-auditor", PASSWORD);
	apitest_login(srv, "kota-auditor", PASSWORD, token);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "###", 3) == 0)
			called += auditor_heading(srv, token, line);
	fclose(f);
	if (called < ENDPOINTS_MIN)
		fail_msg("only %zu writing endpoints found in %s", called, file);
	/* ... and the reading ones are open to it. */
	json_decref(apitest_call(srv, token, "GET", "/api/v1/ledger/journal", NULL, 200));
	assert_true(testsrv_stopped_cleanly(srv));
	testsrv_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auditor_writes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
