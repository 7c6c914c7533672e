#ifndef FW_LOG_H
#define FW_LOG_H
/* One JSON object per line on stderr: {"ts":…,"level":…,"msg":…, …}. */

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level l);
int log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a preformatted JSON object line (the caller built it; it must not contain newlines). */
void log_json_line(const char *line);
/* Prints "flywheel: <message>" to stderr and exits 1. For start-up problems only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
