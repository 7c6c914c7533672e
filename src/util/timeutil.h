#ifndef FW_TIMEUTIL_H
#define FW_TIMEUTIL_H
/* Wall-clock time in milliseconds since the epoch, RFC 3339 formatting and parsing, durations.
 * The clock can be offset for tests (FLYWHEEL_CLOCK_OFFSET_MS in the environment, or
 * time_set_offset) so SLA and scheduling tests do not have to sleep. */

#include <stddef.h>
#include <stdint.h>

int64_t time_now_ms(void);
void time_set_offset_ms(int64_t offset);
int64_t time_offset_ms(void);

/* Writes "2024-05-01T12:00:00.000Z" (24 chars + NUL) into out (cap ≥ 25). ms < 0 writes "". */
void time_fmt_ms(int64_t ms, char *out, size_t cap);
/* Parses RFC 3339 (any fraction digits, Z or ±hh:mm / ±hhmm offset). Returns 0 or FW_EINVAL. */
int time_parse_rfc3339(const char *s, int64_t *ms_out);
/* Parses a duration like "30d", "12h", "90m", "45s", "1h30m", "500ms". Returns 0 or FW_EINVAL. */
int time_parse_duration(const char *s, int64_t *ms_out);

#endif
