#ifndef FW_TZ_H
#define FW_TZ_H
/* Time zone conversions by IANA name ("Europe/Berlin", "UTC"), using the system tz database
 * (Debian package tzdata). glibc converts through the process-wide TZ variable, so calls are
 * serialized by an internal mutex; they are cheap enough for scheduling and billing. */

#include <stdbool.h>
#include <time.h>

/* True when name is a known zone: "UTC" or a file under /usr/share/zoneinfo (no "..", no leading '/'). */
bool tz_valid(const char *name);

/* Breaks t down into local time of zone into *out (tm_gmtoff set). Returns 0 or FW_EINVAL. */
int tz_local(const char *zone, time_t t, struct tm *out);

/* Converts the local wall-clock time in *tm (tm_isdst ignored; fields normalized like mktime)
 * of zone to a UTC instant. In a DST gap the later valid instant is chosen; in an overlap the
 * earlier. Returns 0 or FW_EINVAL. */
int tz_mktime(const char *zone, const struct tm *tm, time_t *out);

/* UTC helpers: days since 1970-01-01 for a civil date, and the inverse (proleptic Gregorian). */
long tz_days_from_civil(int year, int month, int day);
void tz_civil_from_days(long days, int *year, int *month, int *day);

#endif
