#ifndef FW_CATALOG_ALLOCATOR_H
#define FW_CATALOG_ALLOCATOR_H
/* The catalog's background module: loads catalog.d at start and on SIGHUP, runs the monthly block
 * allocation at start (before the API listens) and then every minute. A run is one store_write and
 * is cheap when nothing is due (a few indexed reads per started engagement line). Idempotent:
 * allocations are keyed by engagement-offering-account-month (catalog/engagement.h). */

struct server;

/* The daemon_module entry points (src/modules.c). start returns 0 or a negative code. */
int cat_allocator_start(struct server *s);
void cat_allocator_reload(struct server *s);
void cat_allocator_stop(void);

#endif
