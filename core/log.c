#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define LOG_LINE_MAX 8192
#define LOG_MSG_MAX 1024

static atomic_int log_min = LOG_INFO;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level min)
{
	atomic_store(&log_min, (int)min);
}

bool log_enabled(enum log_level level)
{
	return (int)level >= atomic_load(&log_min);
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcasecmp(name, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Writes `ts` as RFC 3339 UTC with microseconds into buf (>= 32 bytes). */
static void log_timestamp(char *buf, size_t cap)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

/* Builds and writes one line; one write() per line keeps threads' lines whole. */
static void log_emit(enum log_level level, const char *component, json_t *obj)
{
	char ts[64];
	char *text;
	size_t len;
	log_timestamp(ts, sizeof(ts));
	/* The object's own fields follow the fixed ones. */
	json_t *line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", log_names[level],
				 "component", component ? component : "-");
	if (!line)
		return;
	if (obj)
		json_object_update(line, obj);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (!text)
		return;
	len = strlen(text);
	if (len < LOG_LINE_MAX) {
		text[len] = '\n';
		(void)!write(STDERR_FILENO, text, len + 1);
	}
	free(text);
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX];
	va_list ap;
	json_t *obj;
	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* json_string rejects invalid UTF-8; such text is logged as a placeholder. */
	obj = json_pack("{s:s}", "msg", msg);
	if (!obj)
		obj = json_pack("{s:s}", "msg", "(message not valid UTF-8)");
	log_emit(level, component, obj);
	json_decref(obj);
}

void log_fields(enum log_level level, const char *component, struct json_t *obj)
{
	if (!log_enabled(level))
		return;
	log_emit(level, component, obj);
}
