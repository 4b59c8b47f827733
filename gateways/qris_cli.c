/*
 * qris_cli: `bangsoleh qris decode PAYLOAD` prints the decoded payload as
 * JSON; `bangsoleh qris dynamic PAYLOAD --amount N [--fee-fixed N |
 * --fee-percent P]` prints the dynamic payload. Exit status 0, 1 (invalid
 * payload: "invalid QRIS: tag T: rule" on stderr) or 2 (bad usage).
 */
#include "qris.h"

#include <stdio.h>
#include <string.h>

#define EXIT_INVALID 1
#define EXIT_USAGE 2
/* --amount and --fee-fixed: plain digits, few enough that int64_t cannot overflow. */
#define NUMBER_DIGITS_MAX 12

static int usage(const char *why, const char *arg)
{
	fprintf(stderr,
		"bangsoleh qris: %s%s\n"
		"usage: bangsoleh qris decode PAYLOAD\n"
		"       bangsoleh qris dynamic PAYLOAD --amount N [--fee-fixed N | --fee-percent P]\n",
		why, arg);
	return EXIT_USAGE;
}

static int invalid(const struct qris_error *err)
{
	fprintf(stderr, "invalid QRIS: tag %s: %s\n", err->tag, err->rule);
	return EXIT_INVALID;
}

/* The payload argument, measured only up to one character past the limit. */
static size_t payload_len(const char *s)
{
	return strnlen(s, QRIS_PAYLOAD_MAX + 1);
}

/* Whole rupiah as plain digits; the range is checked by qris_to_dynamic. */
static bool number_parse(const char *s, int64_t *out)
{
	size_t len = strnlen(s, NUMBER_DIGITS_MAX + 1);
	int64_t v = 0;

	if (len == 0 || len > NUMBER_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int cmd_decode(int argc, char **argv)
{
	struct qris q;
	struct qris_error err;
	json_t *j;
	int rc;

	if (argc != 2)
		return usage("decode takes exactly one PAYLOAD", "");
	if (qris_decode(argv[1], payload_len(argv[1]), &q, &err) != QRIS_OK)
		return invalid(&err);
	j = qris_json(&q);
	if (j == NULL) {
		fprintf(stderr, "bangsoleh qris: out of memory\n");
		return EXIT_INVALID;
	}
	rc = json_dumpf(j, stdout, JSON_INDENT(2)) == 0 && fputc('\n', stdout) != EOF ? 0 : EXIT_INVALID;
	json_decref(j);
	return rc;
}

/* The arguments of `dynamic`; NULL when not given. */
struct dynamic_args {
	const char *payload;
	const char *amount;
	const char *fee_fixed;
	const char *fee_percent;
};

static int dynamic_args_parse(int argc, char **argv, struct dynamic_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char **slot;

		if (argv[i][0] != '-') {
			if (a->payload != NULL)
				return usage("more than one PAYLOAD", "");
			a->payload = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--amount") == 0)
			slot = &a->amount;
		else if (strcmp(argv[i], "--fee-fixed") == 0)
			slot = &a->fee_fixed;
		else if (strcmp(argv[i], "--fee-percent") == 0)
			slot = &a->fee_percent;
		else
			return usage("unknown flag ", argv[i]);
		if (i + 1 >= argc)
			return usage("missing value after ", argv[i]);
		if (*slot != NULL)
			return usage("flag given twice: ", argv[i]);
		*slot = argv[++i];
	}
	if (a->payload == NULL)
		return usage("dynamic needs a PAYLOAD", "");
	if (a->amount == NULL)
		return usage("dynamic needs --amount", "");
	if (a->fee_fixed != NULL && a->fee_percent != NULL)
		return usage("--fee-fixed and --fee-percent exclude each other", "");
	return 0;
}

/* qris_to_dynamic names 54-57 when the amount or fee arguments break a rule. */
static bool argument_error(const struct qris_error *err)
{
	return strlen(err->tag) == 2 && strcmp(err->tag, "54") >= 0 && strcmp(err->tag, "57") <= 0;
}

static int cmd_dynamic(int argc, char **argv)
{
	struct dynamic_args a;
	struct qris q;
	struct qris_error err;
	enum qris_fee fee = QRIS_FEE_NONE;
	int64_t amount = 0, fee_fixed = 0;
	char out[QRIS_PAYLOAD_MAX + 1];
	size_t out_len;
	int rc = dynamic_args_parse(argc, argv, &a);

	if (rc != 0)
		return rc;
	if (!number_parse(a.amount, &amount))
		return usage("--amount must be whole rupiah in digits, not ", a.amount);
	if (a.fee_fixed != NULL) {
		if (!number_parse(a.fee_fixed, &fee_fixed))
			return usage("--fee-fixed must be whole rupiah in digits, not ", a.fee_fixed);
		fee = QRIS_FEE_FIXED;
	} else if (a.fee_percent != NULL) {
		fee = QRIS_FEE_PERCENT;
	}
	/* Decode first so that an invalid payload (1) is told apart from bad arguments (2). */
	if (qris_decode(a.payload, payload_len(a.payload), &q, &err) != QRIS_OK)
		return invalid(&err);
	rc = qris_to_dynamic(a.payload, payload_len(a.payload), amount, fee, fee_fixed, a.fee_percent, out,
			     sizeof(out), &out_len, &err);
	if (rc != QRIS_OK && argument_error(&err)) {
		fprintf(stderr, "bangsoleh qris: tag %s: %s\n", err.tag, err.rule);
		return EXIT_USAGE;
	}
	if (rc != QRIS_OK)
		return invalid(&err);
	return fprintf(stdout, "%s\n", out) > 0 ? 0 : EXIT_INVALID;
}

int qris_main(int argc, char **argv)
{
	int rc;

	if (argc < 1 || argv == NULL || argv[0] == NULL)
		rc = usage("missing subcommand", "");
	else if (strcmp(argv[0], "decode") == 0)
		rc = cmd_decode(argc, argv);
	else if (strcmp(argv[0], "dynamic") == 0)
		rc = cmd_dynamic(argc, argv);
	else
		rc = usage("unknown subcommand ", argv[0]);
	/* Callers (and tests) may redirect stdout right after this returns. */
	if (fflush(stdout) != 0 && rc == 0)
		rc = EXIT_INVALID;
	return rc;
}
