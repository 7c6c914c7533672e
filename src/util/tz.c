#include "util/tz.h"
#include "util/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

bool tz_valid(const char *name)
{
	char path[512];
	if (!name || !*name || strlen(name) > 200 || name[0] == '/' || strstr(name, ".."))
		return false;
	if (strcmp(name, "UTC") == 0)
		return true;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return access(path, R_OK) == 0;
}

/* Caller holds tz_lock. Sets the process zone when it differs from the last one set: tzset()
 * re-reads the zone file, so repeated conversions in one zone skip it. */
static char current_zone[201];

static void set_zone(const char *zone)
{
	if (strcmp(current_zone, zone) == 0)
		return;
	setenv("TZ", strcmp(zone, "UTC") == 0 ? "UTC0" : zone, 1);
	tzset();
	snprintf(current_zone, sizeof(current_zone), "%s", zone);
}

int tz_local(const char *zone, time_t t, struct tm *out)
{
	if (!tz_valid(zone))
		return FW_EINVAL;
	pthread_mutex_lock(&tz_lock);
	set_zone(zone);
	struct tm *r = localtime_r(&t, out);
	pthread_mutex_unlock(&tz_lock);
	return r ? 0 : FW_EINVAL;
}

int tz_mktime(const char *zone, const struct tm *tm, time_t *out)
{
	if (!tz_valid(zone))
		return FW_EINVAL;
	struct tm a = *tm, b = *tm;
	pthread_mutex_lock(&tz_lock);
	set_zone(zone);
	a.tm_isdst = 0;
	b.tm_isdst = 1;
	time_t ta = mktime(&a), tb = mktime(&b);
	pthread_mutex_unlock(&tz_lock);
	if (ta == (time_t)-1 && tb == (time_t)-1)
		return FW_EINVAL;
	/* A guess is right when mktime kept the wall-clock time we asked for. Outside transitions one
	 * or both are right and agree; in an overlap both are right: take the earlier; in a gap
	 * neither is: take the later normalization. */
	bool a_ok = ta != (time_t)-1 && a.tm_hour == tm->tm_hour && a.tm_min == tm->tm_min;
	bool b_ok = tb != (time_t)-1 && b.tm_hour == tm->tm_hour && b.tm_min == tm->tm_min;
	if (a_ok && b_ok)
		*out = ta < tb ? ta : tb;
	else if (a_ok)
		*out = ta;
	else if (b_ok)
		*out = tb;
	else if (ta == (time_t)-1)
		*out = tb;
	else if (tb == (time_t)-1)
		*out = ta;
	else
		*out = ta > tb ? ta : tb;
	return 0;
}

long tz_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tz_civil_from_days(long z, int *year, int *month, int *day)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = yoe + era * 400;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	long d = doy - (153 * mp + 2) / 5 + 1;
	long m = mp < 10 ? mp + 3 : mp - 9;
	*year = (int)(y + (m <= 2));
	*month = (int)m;
	*day = (int)d;
}
