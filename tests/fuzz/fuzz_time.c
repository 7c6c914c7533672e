/* Fuzzes RFC 3339 and duration parsing (util/timeutil.c): must never crash or overflow. */
#include "util/timeutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t ms;
	char out[32];
	if (time_parse_rfc3339(s, &ms) == 0 && ms >= 0 && ms < 253402300800000LL)
		time_fmt_ms(ms, out, sizeof(out));
	time_parse_duration(s, &ms);
	free(s);
	return 0;
}
