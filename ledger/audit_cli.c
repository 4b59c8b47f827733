/*
 * `bangsoleh audit export|verify`: the auditors' export of a time range and
 * its offline verifier (docs/audit.md, "Export"; docs/operations.md). The
 * export's store settings come from the core configuration, so --data,
 * --config, --set and BANGSOLEH_DATA work as for `ledger verify`.
 */
#include "audit_export.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "store.h"
#include "tools.h"

extern char **environ;

#define AUDIT_EXIT_FAILED 1
#define AUDIT_EXIT_USAGE 2
#define AUDIT_ARGS_MAX 64                /* arguments passed on to the configuration */

static void audit_usage(FILE *out)
{
	fprintf(out,
		"usage: bangsoleh audit export --from TIME --to TIME --out DIR [--data DIR] [--config FILE]\n"
		"                              [--set KEY=VALUE]...\n"
		"        write the ledger entries with timestamps in [from, to), the checkpoints, proofs,\n"
		"        public key, opening balances and a manifest into DIR (new or empty). TIME is\n"
		"        RFC 3339 (2026-11-28T08:00:00+07:00) or a date (2026-11-28: midnight WIB).\n"
		"        Works on a stopped store and on one a server is writing to\n"
		"       bangsoleh audit verify DIR [--key HEX|FILE]\n"
		"        check an export offline: file hashes, entries, hash chain, Merkle tree,\n"
		"        checkpoint signatures and roots, consistency proofs, balances. Prints the\n"
		"        key the checkpoints are signed with: compare it with the key the city\n"
		"        publishes, or give that key (64 hex characters, or a file holding them\n"
		"        such as the data folder's audit.pub) with --key to fail on any other.\n"
		"        Exit status 0: all passed, 1: a check failed (the first failure is named)\n");
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past it. */
static bool audit_flag(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return false;
	if (argv[*i][n] == '=') {
		*value = argv[*i] + n + 1;
		return true;
	}
	if (argv[*i][n] != '\0' || *i + 1 >= argc)
		return false;
	*value = argv[++*i];
	return true;
}

static int audit_export(int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *out_dir = NULL;
	char *rest[AUDIT_ARGS_MAX];
	char err[CONFIG_ERR_MAX], msg[LEDGER_EXPORT_MSG_MAX];
	struct ledger_tools_progress progress = { 0, false };
	struct ledger_export_summary s;
	struct config cfg;
	enum log_level level;
	int64_t from_ms, to_ms;
	int nrest = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (audit_flag(argc, argv, &i, "--from", &from) || audit_flag(argc, argv, &i, "--to", &to) ||
		    audit_flag(argc, argv, &i, "--out", &out_dir))
			continue;
		if (nrest == AUDIT_ARGS_MAX) {
			fprintf(stderr, "bangsoleh audit export: too many arguments\n");
			return AUDIT_EXIT_USAGE;
		}
		rest[nrest++] = argv[i];
	}
	if (!from || !to || !out_dir || clock_parse_time(from, &from_ms) != 0 || clock_parse_time(to, &to_ms) != 0 ||
	    to_ms <= from_ms) {
		fprintf(stderr, "bangsoleh audit export: needs --from and --to (times, from before to) and --out\n");
		audit_usage(stderr);
		return AUDIT_EXIT_USAGE;
	}
	if (config_load(&cfg, nrest, rest, environ, err, sizeof(err)) != CONFIG_OK) {
		fprintf(stderr, "bangsoleh audit export: %s\n", err);
		audit_usage(stderr);
		return AUDIT_EXIT_USAGE;
	}
	/* The report is the output; the store's routine log lines would bury it. */
	if (log_level_parse(cfg.log_level, &level) != 0 || level < LOG_WARN)
		level = LOG_WARN;
	log_set_level(level);
	rc = ledger_export_dir(cfg.data_dir, (size_t)cfg.store_map_size, from_ms, to_ms, out_dir,
			       isatty(STDERR_FILENO) ? ledger_tools_progress_draw : NULL, &progress, &s, msg,
			       sizeof(msg));
	if (progress.shown)
		fputc('\n', stderr);
	if (rc != 0) {
		fprintf(stderr, "bangsoleh audit export: %s\n", msg);
		return AUDIT_EXIT_FAILED;
	}
	printf("exported sequences %" PRIu64 "..%" PRIu64 " (%" PRIu64 " entries), %" PRIu64 " checkpoints, %" PRIu64
	       " proofs, %" PRIu64 " opening accounts, %" PRIu64 " open pending transfers to %s\n",
	       s.first_seq, s.last_seq, s.entries, s.checkpoints, s.proofs, s.accounts, s.pendings, out_dir);
	printf("opening state: %" PRIu64 " records read, %s\n", s.opening_cost,
	       s.opening_back ? "taken back from the head" : "replayed from sequence 1");
	if (!s.end_covered)
		printf("warning: no checkpoint covers sequence %" PRIu64 " yet: audit verify will report the export "
		       "as unverifiable; export again after the next checkpoint\n",
		       s.last_seq);
	return 0;
}

/* 64 hex characters, with one LF after them or not. */
static bool audit_key_hex(const char *text, size_t len, uint8_t key[LEDGER_KEY_LEN])
{
	size_t got;
	if (len == 2 * LEDGER_KEY_LEN + 1 && text[len - 1] == '\n')
		len--;
	return len == 2 * LEDGER_KEY_LEN && crypto_hex_decode(text, len, key, LEDGER_KEY_LEN, &got) == CRYPTO_OK &&
	       got == LEDGER_KEY_LEN;
}

/* --key's value: the key in hex, else a file (audit.pub's form) holding it. */
static bool audit_key(const char *value, uint8_t key[LEDGER_KEY_LEN])
{
	struct ledger_export_map m = { NULL, 0 };
	bool ok;
	if (audit_key_hex(value, strlen(value), key))
		return true;
	ok = ledger_export_map(value, &m) == 0 && m.data && audit_key_hex((const char *)m.data, m.len, key);
	ledger_export_unmap(&m);
	return ok;
}

static int audit_verify(int argc, char **argv)
{
	struct ledger_export_check c;
	const char *dir = NULL, *key_arg = NULL;
	uint8_t key[LEDGER_KEY_LEN];
	char hex[2 * LEDGER_KEY_LEN + 1];

	for (int i = 0; i < argc; i++) {
		if (audit_flag(argc, argv, &i, "--key", &key_arg))
			continue;
		if (dir || argv[i][0] == '-') {
			audit_usage(stderr);
			return AUDIT_EXIT_USAGE;
		}
		dir = argv[i];
	}
	if (!dir) {
		audit_usage(stderr);
		return AUDIT_EXIT_USAGE;
	}
	if (key_arg && !audit_key(key_arg, key)) {
		fprintf(stderr, "bangsoleh audit verify: --key needs 64 hex characters or a file holding them\n");
		return AUDIT_EXIT_USAGE;
	}
	if (ledger_export_verify(dir, key_arg ? key : NULL, &c) != LEDGER_OK) {
		fprintf(stderr, "bangsoleh audit verify: out of memory\n");
		return AUDIT_EXIT_FAILED;
	}
	printf("export in %s: sequences %" PRIu64 "..%" PRIu64 "\n", dir, c.first_seq, c.last_seq);
	if (c.has_key) {
		crypto_hex_encode(c.key, sizeof(c.key), hex, sizeof(hex));
		printf("public key (audit.pub): %s (%s)\n", hex,
		       !key_arg ? "taken from the export: compare it with the key the city publishes, or pass that with --key"
		       : crypto_equal(c.key, key, sizeof(key)) ? "the key given with --key"
							       : "NOT the key given with --key");
	}
	printf("checked: %" PRIu64 " file hashes, %" PRIu64 " entries (decoded, chained, in the tree), %" PRIu64
	       " readable lines, %" PRIu64 " compact-range hashes, %" PRIu64 " checkpoints (signature, order, root), %"
	       PRIu64 " consistency proofs, %" PRIu64 " accounts\n",
	       c.files, c.entries, c.lines, c.compact, c.checkpoints, c.proofs, c.accounts);
	for (size_t i = 0; c.ok && i < c.ledgers; i++) {
		char posted[LEDGER_SUM_TEXT], pending[LEDGER_SUM_TEXT];
		ledger_sum_text(&c.trial[i].debits_posted, posted, sizeof(posted));
		ledger_sum_text(&c.trial[i].debits_pending, pending, sizeof(pending));
		printf("trial balance, ledger %" PRIu32 ": debits = credits: posted %s, pending %s\n", c.trial[i].ledger,
		       posted, pending);
	}
	printf("verified in %.3f s: %.0f entries/s\n", (double)c.elapsed_ns / 1e9,
	       ledger_tools_rate(c.entries, c.elapsed_ns));
	if (c.ok)
		printf("ok\n");
	else
		printf("FAILED: %s\n", c.message);
	return c.ok ? 0 : AUDIT_EXIT_FAILED;
}

int ledger_audit_main(int argc, char **argv)
{
	if (argc < 1) {
		audit_usage(stderr);
		return AUDIT_EXIT_USAGE;
	}
	if (strcmp(argv[0], "export") == 0)
		return audit_export(argc - 1, argv + 1);
	if (strcmp(argv[0], "verify") == 0)
		return audit_verify(argc - 1, argv + 1);
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0) {
		audit_usage(stdout);
		return 0;
	}
	fprintf(stderr, "bangsoleh audit: unknown command %s\n", argv[0]);
	audit_usage(stderr);
	return AUDIT_EXIT_USAGE;
}
