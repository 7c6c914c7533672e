#ifndef FW_API_H
#define FW_API_H
/* Helpers shared by the API handler files. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct req;
struct buf;

/* Reads ?limit= (default dflt, 1..max) and ?cursor= (an opaque sequence number). On bad values
 * sets a 422 error on r and returns its code. *cursor is 0 when absent. */
int api_page(struct req *r, int dflt, int max, int *limit, int64_t *cursor);
/* Wraps items into {"items":[…],"next_cursor":"…"|null}; steals items. */
json_t *api_list(json_t *items, int64_t next_cursor);
/* True when s is exactly 12 ASCII digits. */
bool api_account_id_ok(const char *s);
/* ?name=RFC3339 into *ms; 0 when absent (ms untouched), a 422 error on r when malformed. */
int api_time_arg(struct req *r, const char *name, int64_t *ms, bool *present);
/* The caller's principal id, for actor fields. */
const char *api_actor(struct req *r);

#endif
