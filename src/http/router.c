#include "http/router.h"
#include "http/req.h"

#include <string.h>

/* The tables of every API module, in match order (http/routes.c). */
extern const struct route *const http_route_tables[];

/* Matches path against pattern segment by segment; captures {…} segments into r->params. */
static int match(const char *pat, const char *path, struct req *r)
{
	int n = 0;
	while (*pat && *path) {
		if (*pat != '/' || *path != '/')
			return 0;
		pat++;
		path++;
		const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
		size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
		size_t sl = se ? (size_t)(se - path) : strlen(path);
		if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
			if (sl == 0 || n >= REQ_MAX_PARAMS)
				return 0;
			n++;
		} else if (pl != sl || memcmp(pat, path, pl) != 0) {
			return 0;
		}
		pat += pl;
		path += sl;
	}
	return *pat == '\0' && *path == '\0' ? n + 1 : 0;
}

/* Copies the {…} segments of path into r->params (the request owns them). */
static void capture(struct req *r, const char *pat, const char *path)
{
	r->nparams = 0;
	while (*pat && *path) {
		pat++;
		path++;
		const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
		size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
		size_t sl = se ? (size_t)(se - path) : strlen(path);
		if (pat[0] == '{')
			r->params[r->nparams++] = req_own(r, strndup(path, sl));
		pat += pl;
		path += sl;
	}
}

const struct route *router_match(struct req *r, const char *method, const char *path, int *path_matched)
{
	*path_matched = 0;
	for (const struct route *const *t = http_route_tables; *t; t++) {
		for (const struct route *rt = *t; rt->method; rt++) {
			if (!match(rt->pattern, path, r))
				continue;
			bool same = strcmp(rt->method, method) == 0 ||
				    (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0);
			if (!same) {
				*path_matched = 1;
				continue;
			}
			capture(r, rt->pattern, path);
			r->route = rt->pattern;
			return rt;
		}
	}
	return NULL;
}
