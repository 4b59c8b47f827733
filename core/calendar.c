/*
 * Dates in the proleptic Gregorian calendar by day counting, so no libc
 * time zone state (TZ, localtime) is involved: WIB is a fixed offset.
 */
#include "clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CAL_DAY_MS (86400LL * 1000)
#define CAL_YEAR_MIN 1970
#define CAL_YEAR_MAX 9999

struct cal_date {
	int year, month, day;
};

static bool cal_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int cal_month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && cal_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to d, counting whole 400-year eras of 146097 days from year 0 (March-based years). */
static int64_t cal_days(struct cal_date d)
{
	int64_t y = d.month <= 2 ? d.year - 1 : d.year;
	int64_t era = y / 400, yoe = y - era * 400;
	int64_t doy = (153 * (d.month > 2 ? d.month - 3 : d.month + 9) + 2) / 5 + d.day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of cal_days for days >= 0. */
static struct cal_date cal_from_days(int64_t z)
{
	struct cal_date d;
	int64_t era, doe, yoe, doy, mp;
	z += 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d.day = (int)(doy - (153 * mp + 2) / 5 + 1);
	d.month = (int)(mp < 10 ? mp + 3 : mp - 9);
	d.year = (int)(yoe + era * 400 + (d.month <= 2));
	return d;
}

/* Reads exactly n digits at *p, advancing it. */
static bool cal_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool cal_expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static bool cal_date_parse(const char **p, struct cal_date *d)
{
	return cal_digits(p, 4, &d->year) && cal_expect(p, '-') && cal_digits(p, 2, &d->month) &&
	       cal_expect(p, '-') && cal_digits(p, 2, &d->day) && d->year >= CAL_YEAR_MIN &&
	       d->year <= CAL_YEAR_MAX && d->month >= 1 && d->month <= 12 && d->day >= 1 &&
	       d->day <= cal_month_days(d->year, d->month);
}

/* "THH:MM:SS[.fraction](Z|±HH:MM)" after the date. OUT: milliseconds into the day, offset east of UTC. */
static bool cal_clock_parse(const char **p, int64_t *day_ms, int64_t *offset_ms)
{
	int hh, mm, ss, oh, om, frac_ms = 0, digits = 0;
	if (!(cal_expect(p, 'T') || cal_expect(p, 't')) || !cal_digits(p, 2, &hh) || !cal_expect(p, ':') ||
	    !cal_digits(p, 2, &mm) || !cal_expect(p, ':') || !cal_digits(p, 2, &ss) || hh > 23 || mm > 59 || ss > 59)
		return false;
	if (cal_expect(p, '.')) {
		while (**p >= '0' && **p <= '9' && digits < 9) {
			if (digits < 3)
				frac_ms = frac_ms * 10 + (**p - '0');
			digits++;
			(*p)++;
		}
		if (digits == 0)
			return false;
		for (int i = digits; i < 3; i++)
			frac_ms *= 10;
	}
	*day_ms = ((int64_t)hh * 3600 + mm * 60 + ss) * 1000 + frac_ms;
	if (cal_expect(p, 'Z') || cal_expect(p, 'z')) {
		*offset_ms = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	bool east = **p == '+';
	(*p)++;
	if (!cal_digits(p, 2, &oh) || !cal_expect(p, ':') || !cal_digits(p, 2, &om) || oh > 23 || om > 59)
		return false;
	*offset_ms = ((int64_t)oh * 3600 + om * 60) * 1000 * (east ? 1 : -1);
	return true;
}

int clock_parse_time(const char *s, int64_t *ms)
{
	struct cal_date d;
	int64_t day_ms = 0, offset_ms = CLOCK_WIB_OFFSET_MS, t;
	const char *p = s;
	if (!s || strnlen(s, CLOCK_PARSE_MAX + 1) > CLOCK_PARSE_MAX || !cal_date_parse(&p, &d))
		return -1;
	if (*p != '\0' && !cal_clock_parse(&p, &day_ms, &offset_ms))
		return -1;
	if (*p != '\0')
		return -1;
	t = cal_days(d) * CAL_DAY_MS + day_ms - offset_ms;
	if (t < 0)
		return -1;
	*ms = t;
	return 0;
}

/* The WIB calendar date of ms, or false when ms is outside 1970..9999. */
static bool cal_wib(int64_t ms, struct cal_date *d, int64_t *day_ms)
{
	int64_t local = ms + CLOCK_WIB_OFFSET_MS;
	if (ms < 0 || local / CAL_DAY_MS > cal_days((struct cal_date){ CAL_YEAR_MAX, 12, 31 }))
		return false;
	*d = cal_from_days(local / CAL_DAY_MS);
	*day_ms = local % CAL_DAY_MS;
	return true;
}

int clock_format_wib(int64_t ms, char *out, size_t cap)
{
	struct cal_date d;
	int64_t day_ms;
	int n;
	if (!cal_wib(ms, &d, &day_ms))
		return -1;
	n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+07:00", d.year, d.month, d.day,
		     (int)(day_ms / 3600000), (int)(day_ms / 60000 % 60), (int)(day_ms / 1000 % 60),
		     (int)(day_ms % 1000));
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* "YYYY-MM-DD", or "YYYY-MM" without the day, of the WIB date holding ms. */
static int cal_print_date(int64_t ms, bool with_day, char *out, size_t cap)
{
	struct cal_date d;
	int64_t day_ms;
	int n;
	if (!cal_wib(ms, &d, &day_ms))
		return -1;
	n = with_day ? snprintf(out, cap, "%04d-%02d-%02d", d.year, d.month, d.day)
		     : snprintf(out, cap, "%04d-%02d", d.year, d.month);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int clock_wib_date(int64_t ms, char *out, size_t cap)
{
	return cal_print_date(ms, true, out, cap);
}

int clock_wib_month(int64_t ms, char *out, size_t cap)
{
	return cal_print_date(ms, false, out, cap);
}

int64_t clock_wib_day_start(int64_t ms)
{
	int64_t local = ms + CLOCK_WIB_OFFSET_MS;
	int64_t day = local >= 0 ? local / CAL_DAY_MS : (local - CAL_DAY_MS + 1) / CAL_DAY_MS;
	return day * CAL_DAY_MS - CLOCK_WIB_OFFSET_MS;
}

int64_t clock_wib_month_start(int64_t ms)
{
	int64_t start = clock_wib_day_start(ms);
	struct cal_date d = cal_from_days((start + CLOCK_WIB_OFFSET_MS) / CAL_DAY_MS);
	d.day = 1;
	return cal_days(d) * CAL_DAY_MS - CLOCK_WIB_OFFSET_MS;
}

int64_t clock_wib_next_month(int64_t month_start)
{
	struct cal_date d = cal_from_days((clock_wib_month_start(month_start) + CLOCK_WIB_OFFSET_MS) / CAL_DAY_MS);
	d.day = 1;
	if (++d.month > 12) {
		d.month = 1;
		d.year++;
	}
	return cal_days(d) * CAL_DAY_MS - CLOCK_WIB_OFFSET_MS;
}
