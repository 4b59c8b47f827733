/*
 * `bangsoleh ledger verify|bench`: dispatch, and the verify command (the
 * settings come from the core configuration, so --data, --config, --set
 * and BANGSOLEH_DATA all work as for `serve`).
 */
#include "tools.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "store.h"

extern char **environ;

#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2
#define CLI_PROGRESS_NS 100000000u  /* redraw the bar at most every 100 ms */
#define CLI_BAR_WIDTH 40

static void cli_usage(FILE *out)
{
	fprintf(out,
		"usage: bangsoleh ledger verify [--data DIR] [--config FILE] [--set KEY=VALUE]...\n"
		"        check the ledger in the data folder: chain, balances, indexes, batches.\n"
		"        Works on a stopped store and on one a server is writing to.\n"
		"        Exit status 0: intact, 1: a check failed (the first bad sequence is named)\n"
		"       bangsoleh ledger bench [--accounts N] [--transfers M] [--batch B] [--data DIR]\n"
		"                              [--seed S] [--verify]\n"
		"        measure durable transfers per second (defaults: 10000, 5000000, 8189);\n"
		"        without --data a temporary folder in the current directory is used and removed\n");
}

void ledger_tools_progress_draw(uint64_t done, uint64_t total, void *arg)
{
	struct ledger_tools_progress *p = arg;
	char bar[CLI_BAR_WIDTH + 1];
	uint64_t now = ledger_tools_now_ns();
	size_t filled;

	if (total == 0 || (p->shown && now - p->last_ns < CLI_PROGRESS_NS && done < total))
		return;
	if (done > total)
		done = total;
	filled = (size_t)(done * CLI_BAR_WIDTH / total);
	memset(bar, '#', filled);
	memset(bar + filled, '.', CLI_BAR_WIDTH - filled);
	bar[CLI_BAR_WIDTH] = '\0';
	fprintf(stderr, "\r[%s] %3u%% %" PRIu64 "/%" PRIu64, bar, (unsigned)(done * 100 / total), done, total);
	fflush(stderr);
	p->last_ns = now;
	p->shown = true;
}

static int cli_verify(int argc, char **argv)
{
	struct config cfg;
	struct ledger_verify_result r;
	struct ledger_tools_progress progress = { 0, false };
	char err[CONFIG_ERR_MAX];
	enum log_level level;
	int rc;

	if (config_load(&cfg, argc, argv, environ, err, sizeof(err)) != CONFIG_OK) {
		fprintf(stderr, "bangsoleh ledger verify: %s\n", err);
		cli_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	/* The report is the output; the store's routine log lines would bury it. */
	if (log_level_parse(cfg.log_level, &level) != 0 || level < LOG_WARN)
		level = LOG_WARN;
	log_set_level(level);
	rc = ledger_verify_dir(cfg.data_dir, (size_t)cfg.store_map_size,
			       isatty(STDERR_FILENO) ? ledger_tools_progress_draw : NULL, &progress, &r);
	if (progress.shown)
		fputc('\n', stderr);
	if (rc == STORE_ENOTFOUND) {
		fprintf(stderr, "bangsoleh ledger verify: no ledger in %s\n", cfg.data_dir);
		return CLI_EXIT_FAILED;
	}
	if (rc != 0) {
		fprintf(stderr, "bangsoleh ledger verify: cannot read the ledger in %s: %s\n", cfg.data_dir,
			rc == LEDGER_ENOMEM ? "out of memory" : store_strerror(rc));
		return CLI_EXIT_FAILED;
	}
	printf("ledger in %s: %" PRIu64 " entries (head %" PRIu64 "), %" PRIu64 " accounts, %" PRIu64
	       " batches, %" PRIu64 " ledgers\n",
	       cfg.data_dir, r.entries, r.head_seq, r.accounts, r.batches, r.ledgers);
	printf("checked in %.3f s: %.0f entries/s\n", (double)r.elapsed_ns / 1e9,
	       ledger_tools_rate(r.entries, r.elapsed_ns));
	if (r.ok)
		printf("ok\n");
	else
		printf("FAILED: %s\n", r.message);
	return r.ok ? 0 : CLI_EXIT_FAILED;
}

int ledger_main(int argc, char **argv)
{
	if (argc < 1) {
		cli_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[0], "verify") == 0)
		return cli_verify(argc - 1, argv + 1);
	if (strcmp(argv[0], "bench") == 0)
		return ledger_bench_main(argc - 1, argv + 1);
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0) {
		cli_usage(stdout);
		return 0;
	}
	fprintf(stderr, "bangsoleh ledger: unknown command %s\n", argv[0]);
	cli_usage(stderr);
	return CLI_EXIT_USAGE;
}
