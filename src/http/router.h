#ifndef FW_ROUTER_H
#define FW_ROUTER_H
/* Routes: each API module exports a table of these, terminated by {NULL}; http/routes.c lists the
 * tables. A pattern is a path whose "{name}" segments match any one segment. */

struct req;

#define ROUTE_PUBLIC 1u   /* no Authorization needed (health, metrics) */
#define ROUTE_OWN_AUTH 2u /* the handler authenticates itself (SigV4, routing keys, basic auth) */

struct route {
	const char *method;
	const char *pattern;
	int (*fn)(struct req *r);
	unsigned flags;
};

/* Finds the route for method + path, filling r->params/route. Returns the route, or NULL with
 * *path_matched set when the path exists for another method (405). */
const struct route *router_match(struct req *r, const char *method, const char *path, int *path_matched);

#endif
