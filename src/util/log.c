#include "util/log.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum log_level min_level = LOG_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level l)
{
	min_level = l;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void log_json_line(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	if (l < min_level)
		return;
	char msg[1024], ts[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	time_fmt_ms(time_now_ms(), ts, sizeof(ts));
	json_t *o = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", names[l], "msg", msg);
	char *line = json_dumps(o, JSON_COMPACT);
	if (line)
		fprintf(stderr, "%s\n", line);
	free(line);
	json_decref(o);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	fputs("flywheel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
