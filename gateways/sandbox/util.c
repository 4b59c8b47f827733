/* util: clocks, ids, text formats and response helpers of the sandbox. */
#include "internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SB_WIB_OFFSET_S (7 * 3600)
#define SB_CONCAT_MAX 1024 /* signature input: ids, amount, status and key */

int64_t sb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sb_uuid(char out[SB_UUID_LEN + 1])
{
	uint8_t b[16];
	char hex[33];
	if (crypto_random(b, sizeof(b)) != CRYPTO_OK)
		return -1;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	if (crypto_hex_encode(b, sizeof(b), hex, sizeof(hex)) != CRYPTO_OK)
		return -1;
	snprintf(out, SB_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

int sb_digits(char *out, size_t n)
{
	uint8_t b[32];
	if (n > sizeof(b) || crypto_random(b, n) != CRYPTO_OK)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)('0' + b[i] % 10);
	out[n] = '\0';
	return 0;
}

/* Breaks wall-clock ms shifted by offset_s into calendar fields. */
static void sb_calendar(int64_t ms, int64_t offset_s, struct tm *tm)
{
	time_t t = (time_t)(ms / 1000 + offset_s);
	gmtime_r(&t, tm);
}

void sb_time_wib(int64_t ms, char out[SB_WIB_LEN + 1])
{
	struct tm tm;
	sb_calendar(ms, SB_WIB_OFFSET_S, &tm);
	if (strftime(out, SB_WIB_LEN + 1, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		out[0] = '\0';
}

void sb_time_iso(int64_t ms, char out[SB_ISO_LEN + 1])
{
	struct tm tm;
	char day[SB_ISO_LEN + 1];
	sb_calendar(ms, 0, &tm);
	if (strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		day[0] = '\0';
	snprintf(out, SB_ISO_LEN + 1, "%.19s.%03uZ", day, (unsigned)(ms % 1000) % 1000u);
}

/* Reads exactly n digits at *p. Returns the value or -1. */
static int sb_num(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

/* Consumes the character c at *p. */
static bool sb_lit(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

int sb_time_iso_parse(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	const char *p = s;
	int y, mo, d, h, mi, sec, frac = 0, digits = 0, off = 0;
	if (strlen(s) > 40)
		return -1;
	y = sb_num(&p, 4);
	if (y < 0 || !sb_lit(&p, '-') || (mo = sb_num(&p, 2)) < 0 || !sb_lit(&p, '-') ||
	    (d = sb_num(&p, 2)) < 0 || !sb_lit(&p, 'T') || (h = sb_num(&p, 2)) < 0 || !sb_lit(&p, ':') ||
	    (mi = sb_num(&p, 2)) < 0 || !sb_lit(&p, ':') || (sec = sb_num(&p, 2)) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return -1;
	if (sb_lit(&p, '.')) {
		for (; isdigit((unsigned char)*p) && digits < 9; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (digits == 0 || isdigit((unsigned char)*p))
			return -1;
		for (int i = digits; i < 3; i++)
			frac *= 10;
	}
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if ((oh = sb_num(&p, 2)) < 0 || !sb_lit(&p, ':') || (om = sb_num(&p, 2)) < 0 || oh > 23 ||
		    om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	} else if (!sb_lit(&p, 'Z')) {
		return -1;
	}
	if (*p != '\0')
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
	return 0;
}

void sb_amount_text(int64_t rupiah, char out[SB_AMOUNT_TEXT_MAX])
{
	snprintf(out, SB_AMOUNT_TEXT_MAX, "%" PRId64 ".00", rupiah);
}

bool sb_id_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		if (n >= SB_ID_MAX)
			return false;
		if (!isalnum((unsigned char)s[n]) && !strchr("-_.~:@#", s[n]))
			return false;
	}
	return n > 0;
}

int sb_sha512_hex(const char *const *parts, size_t n, char out[SB_SHA512_HEX_LEN + 1])
{
	char buf[SB_CONCAT_MAX];
	uint8_t md[CRYPTO_SHA512_LEN];
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);
		if (l > sizeof(buf) - len)
			return -1;
		memcpy(buf + len, parts[i], l);
		len += l;
	}
	if (crypto_sha512(buf, len, md) != CRYPTO_OK ||
	    crypto_hex_encode(md, sizeof(md), out, SB_SHA512_HEX_LEN + 1) != CRYPTO_OK)
		return -1;
	return 0;
}

const char *sb_header(const struct sb_call *call, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(call->req), name);
}

int sb_set(json_t *obj, const char *key, json_t *val)
{
	if (!val)
		return -1;
	return json_object_set_new(obj, key, val) == 0 ? 0 : -1;
}

void sb_resp_json(struct sb_resp *resp, int status, json_t *json)
{
	json_decref(resp->json);
	resp->json = json;
	resp->status = json ? status : 500;
}

void sb_resp_error(struct sb_resp *resp, enum sb_kind kind, int status, const char *code, const char *msg)
{
	char num[8];
	json_t *j;
	switch (kind) {
	case SB_KIND_MIDTRANS:
		snprintf(num, sizeof(num), "%d", status);
		j = json_pack("{s:s, s:s}", "status_code", code ? code : num, "status_message", msg);
		break;
	case SB_KIND_XENDIT:
		j = json_pack("{s:s, s:s}", "error_code", code, "message", msg);
		break;
	case SB_KIND_BITESHIP:
		/* Biteship's codes are the HTTP status and five digits (40101001: authorization failed). */
		j = json_pack("{s:b, s:s, s:I}", "success", 0, "error", msg, "code", (json_int_t)status * 100000 + 1001);
		break;
	default:
		j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
		break;
	}
	sb_resp_json(resp, status, j);
}

void sb_resp_invalid(struct sb_resp *resp, enum sb_kind kind, const struct body_check *chk)
{
	char msg[BODY_FIELD_MAX + BODY_REASON_MAX + 2];
	snprintf(msg, sizeof(msg), "%s %s", chk->field, chk->reason);
	if (kind == SB_KIND_MIDTRANS) {
		sb_resp_json(resp, 400, json_pack("{s:s, s:s, s:[s]}", "status_code", "400", "status_message",
						  "One or more parameters in the payload is invalid.",
						  "validation_messages", msg));
		return;
	}
	sb_resp_error(resp, kind, 400, kind == SB_KIND_XENDIT ? "API_VALIDATION_ERROR" : "invalid_request", msg);
}
