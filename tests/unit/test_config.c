#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char tmpl[] = "/tmp/bangsoleh-config-XXXXXX";

/* Writes text to a temporary file. OUT: path (cap 64). */
static void write_file(char *path, const char *text)
{
	int fd;
	strcpy(path, tmpl);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_defaults(void **state)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	char *const env[] = { NULL };
	(void)state;
	assert_int_equal(config_load(&cfg, 0, NULL, env, err, sizeof(err)), CONFIG_OK);
	assert_string_equal(cfg.listen_host, "127.0.0.1");
	assert_int_equal(cfg.listen_port, 8080);
	assert_string_equal(cfg.data_dir, "./var");
	assert_int_equal(cfg.http_max_body, 1024 * 1024);
	assert_int_equal(cfg.http_max_headers, 8192);
	assert_int_equal(cfg.store_map_size, 1024LL * 1024 * 1024);
	assert_string_equal(cfg.log_level, "info");
}

static void test_precedence(void **state)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	char path[64];
	char flag_config[128];
	(void)state;
	write_file(path, "# a comment\n\nhttp.max_body = 2K\nhttp.timeout=7\nstore.batch_max = 10\n");
	snprintf(flag_config, sizeof(flag_config), "--config=%s", path);
	{
		/* file < env < flag, key by key */
		char *const env[] = { "BANGSOLEH_HTTP_TIMEOUT=8", "BANGSOLEH_STORE_BATCH_MAX=11",
				      "BANGSOLEH_BIN=/ignored", NULL };
		char *argv[] = { flag_config, "--set", "store.batch_max=12", "--listen", "0.0.0.0:0",
				 "--data=/srv/bs" };
		assert_int_equal(config_load(&cfg, 6, argv, env, err, sizeof(err)), CONFIG_OK);
	}
	assert_int_equal(cfg.http_max_body, 2048);
	assert_int_equal(cfg.http_timeout, 8);
	assert_int_equal(cfg.store_batch_max, 12);
	assert_string_equal(cfg.listen_host, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 0);
	assert_string_equal(cfg.data_dir, "/srv/bs");
	assert_string_equal(cfg.config_file, path);
	{
		/* The config file may also come from the environment. */
		char env_config[128];
		char *env[] = { env_config, NULL };
		snprintf(env_config, sizeof(env_config), "BANGSOLEH_CONFIG=%s", path);
		assert_int_equal(config_load(&cfg, 0, NULL, env, err, sizeof(err)), CONFIG_OK);
		assert_int_equal(cfg.http_timeout, 7);
	}
	unlink(path);
}

/* Loads with one environment entry and expects an error naming `needle`. */
static void expect_env_rc(const char *entry, int want, const char *needle)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	char *const env[] = { (char *)entry, NULL };
	assert_int_equal(config_load(&cfg, 0, NULL, env, err, sizeof(err)), want);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not name '%s'", err, needle);
}

static void expect_env_error(const char *entry, const char *needle)
{
	expect_env_rc(entry, CONFIG_EINVAL, needle);
}

static void test_invalid_values(void **state)
{
	(void)state;
	expect_env_error("BANGSOLEH_HTTP_MAX_BODY=abc", "http.max_body");
	expect_env_error("BANGSOLEH_HTTP_MAX_BODY=12Q", "http.max_body");
	expect_env_error("BANGSOLEH_HTTP_MAX_BODY=-5", "http.max_body");
	expect_env_error("BANGSOLEH_HTTP_MAX_BODY=999G", "outside");
	expect_env_error("BANGSOLEH_HTTP_TIMEOUT=0", "http.timeout");
	expect_env_error("BANGSOLEH_HTTP_TIMEOUT=99999999999999999999", "http.timeout");
	expect_env_error("BANGSOLEH_LISTEN=nonsense", "listen");
	expect_env_error("BANGSOLEH_LISTEN=host:70000", "listen");
	expect_env_error("BANGSOLEH_LISTEN=:80", "listen");
	expect_env_error("BANGSOLEH_LOG_LEVEL=loud", "log.level");
	expect_env_error("BANGSOLEH_DATA=", "data");
	expect_env_error("BANGSOLEH_STORE_MAP_MAX=1M", "store.map_max");
	expect_env_error("BANGSOLEH_PAYMENT_BASE_URL=ftp://example", "payment.base_url");
	expect_env_error("BANGSOLEH_PAYMENT_NOTIFY_URL=http://a b", "payment.notify_url");
	expect_env_error("BANGSOLEH_PAYMENT_EXPIRY=4", "payment.expiry");
	expect_env_rc("BANGSOLEH_CONFIG=/nonexistent/bangsoleh.conf", CONFIG_EIO, "/nonexistent/bangsoleh.conf");
}

static void test_invalid_flags_and_file(void **state)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	char path[64];
	char *const env[] = { NULL };
	char flag_config[128];
	(void)state;
	{
		char *argv[] = { "--listen" };
		assert_int_equal(config_load(&cfg, 1, argv, env, err, sizeof(err)), CONFIG_EINVAL);
		assert_non_null(strstr(err, "--listen"));
	}
	{
		char *argv[] = { "--bogus", "1" };
		assert_int_equal(config_load(&cfg, 2, argv, env, err, sizeof(err)), CONFIG_EINVAL);
		assert_non_null(strstr(err, "--bogus"));
	}
	{
		char *argv[] = { "--set", "nokey" };
		assert_int_equal(config_load(&cfg, 2, argv, env, err, sizeof(err)), CONFIG_EINVAL);
	}
	write_file(path, "http.max_body = 1M\nno equals sign here\n");
	snprintf(flag_config, sizeof(flag_config), "--config=%s", path);
	{
		char *argv[] = { flag_config };
		assert_int_equal(config_load(&cfg, 1, argv, env, err, sizeof(err)), CONFIG_EINVAL);
		assert_non_null(strstr(err, "line 2"));
	}
	unlink(path);
	write_file(path, "no.such.key = 1\n");
	snprintf(flag_config, sizeof(flag_config), "--config=%s", path);
	{
		char *argv[] = { flag_config };
		assert_int_equal(config_load(&cfg, 1, argv, env, err, sizeof(err)), CONFIG_EINVAL);
		assert_non_null(strstr(err, "no.such.key"));
	}
	unlink(path);
}

static void test_sizes(void **state)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, "http.max_body", "3MiB", "test", err, sizeof(err)), CONFIG_OK);
	assert_int_equal(cfg.http_max_body, 3 * 1024 * 1024);
	assert_int_equal(config_set(&cfg, "http.max_body", "64k", "test", err, sizeof(err)), CONFIG_OK);
	assert_int_equal(cfg.http_max_body, 64 * 1024);
	assert_int_equal(config_set(&cfg, "http.max_body", "1023", "test", err, sizeof(err)), CONFIG_EINVAL);
}

static void test_describe_and_help(void **state)
{
	struct config cfg;
	char buf[16384];
	(void)state;
	config_defaults(&cfg);
	assert_true(config_describe(&cfg, buf, sizeof(buf)) < sizeof(buf));
	assert_non_null(strstr(buf, "listen = 127.0.0.1:8080\n"));
	assert_non_null(strstr(buf, "http.max_body = 1048576\n"));
	/* Secrets are shown as set, never as their value. */
	assert_non_null(strstr(buf, "payment.server_key = (set)\n"));
	assert_null(strstr(buf, "SB-Mid-server"));
	assert_non_null(strstr(buf, "payment.notify_url = \n"));
	/* A short buffer is cut, still terminated, and the full length is reported. */
	assert_true(config_describe(&cfg, buf, 16) > 16);
	assert_int_equal(strlen(buf), 15);
	assert_true(config_help(buf, sizeof(buf)) < sizeof(buf));
	assert_non_null(strstr(buf, "BANGSOLEH_HTTP_MAX_BODY"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_invalid_flags_and_file),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_describe_and_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
