#include "util/timeutil.h"
#include "util/err.h"
#include "util/tz.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t clock_offset;
static atomic_int offset_loaded;

int64_t time_offset_ms(void)
{
	if (!atomic_load(&offset_loaded)) {
		const char *e = getenv("FLYWHEEL_CLOCK_OFFSET_MS");
		if (e)
			atomic_store(&clock_offset, strtoll(e, NULL, 10));
		atomic_store(&offset_loaded, 1);
	}
	return atomic_load(&clock_offset);
}

void time_set_offset_ms(int64_t offset)
{
	atomic_store(&offset_loaded, 1);
	atomic_store(&clock_offset, offset);
}

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + time_offset_ms();
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void time_fmt_ms(int64_t ms, char *out, size_t cap)
{
	if (cap == 0)
		return;
	if (ms < 0) {
		out[0] = '\0';
		return;
	}
	/* Without gmtime_r(), which takes the time zone lock on every call: every ticket write and every
	 * answer listing times formats here, from many threads. The civil date of a day count is
	 * H. Hinnant's inverse of days_from_civil; days >= 0 here. */
	int64_t secs = ms / 1000, days = secs / 86400;
	unsigned sod = (unsigned)(secs % 86400);
	int64_t z = days + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = (int64_t)yoe + era * 400 + (month <= 2);
	unsigned milli = (unsigned)(ms % 1000);
	if (year > 9999) {
		snprintf(out, cap, "%lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)year, month, day, sod / 3600,
			 sod / 60 % 60, sod % 60, milli);
		return;
	}
	char t[25] = "0000-00-00T00:00:00.000Z";
	put2(t, (unsigned)(year / 100));
	put2(t + 2, (unsigned)(year % 100));
	put2(t + 5, month);
	put2(t + 8, day);
	put2(t + 11, sod / 3600);
	put2(t + 14, sod / 60 % 60);
	put2(t + 17, sod % 60);
	t[20] = (char)('0' + milli / 100);
	put2(t + 21, milli % 100);
	size_t n = cap - 1 < 24 ? cap - 1 : 24;
	memcpy(out, t, n);
	out[n] = '\0';
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

int time_parse_rfc3339(const char *s, int64_t *ms_out)
{
	int y, mo, d, h, mi, sec, ms = 0;
	const char *p = s;
	if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return FW_EINVAL;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
		return FW_EINVAL;
	if (*p == '.') {
		int n = 0;
		p++;
		while (isdigit((unsigned char)*p)) {
			if (n < 3)
				ms = ms * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return FW_EINVAL;
		for (; n < 3; n++)
			ms *= 10;
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (digits(&p, 2, &oh))
			return FW_EINVAL;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om))
			return FW_EINVAL;
		off = sign * (oh * 60 + om);
	} else {
		return FW_EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return FW_EINVAL;
	/* Reject days the month does not have (2026-02-30, 2025-02-29). */
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return FW_EINVAL;
	int64_t days = tz_days_from_civil(y, mo, d);
	*ms_out = ((days * 86400 + h * 3600 + mi * 60 + sec) - (int64_t)off * 60) * 1000 + ms;
	return 0;
}

int time_parse_duration(const char *s, int64_t *ms_out)
{
	int64_t total = 0;
	const char *p = s;
	if (!s || !*s)
		return FW_EINVAL;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return FW_EINVAL;
		char *end;
		long long v = strtoll(p, &end, 10);
		p = end;
		int64_t unit;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else {
			switch (*p) {
			case 's': unit = 1000; break;
			case 'm': unit = 60000; break;
			case 'h': unit = 3600000; break;
			case 'd': unit = 86400000; break;
			case 'w': unit = 7 * 86400000LL; break;
			default: return FW_EINVAL;
			}
			p++;
		}
		if (v > INT64_MAX / unit / 2)
			return FW_EINVAL;
		total += v * unit;
	}
	*ms_out = total;
	return 0;
}
