#include "api/api.h"
#include "http/auth.h"
#include "http/req.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_page(struct req *r, int dflt, int max, int *limit, int64_t *cursor)
{
	const char *l = req_arg(r, "limit"), *c = req_arg(r, "cursor");
	*limit = dflt;
	*cursor = 0;
	if (l) {
		char *end;
		errno = 0;
		long v = strtol(l, &end, 10);
		if (*end || v < 1 || v > max)
			return req_fail(r, 422, "invalid_parameter", "limit must be an integer from 1 to %d", max);
		*limit = (int)v;
	}
	if (c && *c) {
		char *end;
		errno = 0;
		long long v = strtoll(c, &end, 10);
		if (*end || v < 1 || errno == ERANGE)
			return req_fail(r, 422, "invalid_parameter", "cursor '%.40s' is not one this API returned", c);
		*cursor = v;
	}
	return 0;
}

json_t *api_list(json_t *items, int64_t next)
{
	json_t *o = json_object();
	json_object_set_new(o, "items", items);
	if (next > 0) {
		char s[24];
		snprintf(s, sizeof(s), "%lld", (long long)next);
		json_object_set_new(o, "next_cursor", json_string(s));
	} else {
		json_object_set_new(o, "next_cursor", json_null());
	}
	return o;
}

bool api_account_id_ok(const char *s)
{
	if (!s || strlen(s) != 12)
		return false;
	for (int i = 0; i < 12; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

int api_time_arg(struct req *r, const char *name, int64_t *ms, bool *present)
{
	const char *v = req_arg(r, name);
	*present = false;
	if (!v)
		return 0;
	if (time_parse_rfc3339(v, ms))
		return req_fail(r, 422, "invalid_parameter", "%s must be an RFC 3339 time like 2026-01-31T12:00:00Z",
				name);
	*present = true;
	return 0;
}

const char *api_actor(struct req *r)
{
	return r->auth ? r->auth->principal : "system";
}
