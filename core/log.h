/*
 * log: one JSON object per line on stderr, safe from any thread.
 *
 * Every line carries "ts" (UTC, RFC 3339 with microseconds), "level" and
 * "component". Secrets never go through here: callers pass values that are
 * safe to print (config_describe masks secret settings).
 */
#ifndef BANGSOLEH_LOG_H
#define BANGSOLEH_LOG_H

#include <stdarg.h>
#include <stdbool.h>

struct json_t;

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below `min` are dropped. Default LOG_INFO. */
void log_set_level(enum log_level min);
/* True when lines of `level` are written: callers skip building costly lines otherwise. */
bool log_enabled(enum log_level level);
/* Parses "debug", "info", "warn", "error". Returns 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);

/*
 * Logs {"ts","level","component","msg"}; msg is printf-formatted, cut at
 * 1024 bytes and JSON-escaped.
 */
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Logs the fields of `obj` (a jansson object, borrowed) after ts, level and
 * component. Used for the per-request access line.
 */
void log_fields(enum log_level level, const char *component, struct json_t *obj);

#endif
