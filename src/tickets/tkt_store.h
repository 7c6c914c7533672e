#ifndef FW_TKT_STORE_H
#define FW_TKT_STORE_H
/* Tickets in the store. A ticket is handled as its JSON form (the API representation): indexed
 * fields are mirrored into columns, the whole object is kept in `data`. All writers here must run
 * inside a store_write function and leave the audit entry to their caller. */

#include "tickets/ticket.h"

#include <jansson.h>
#include <stdint.h>

struct store;
struct store_conn;
struct fw_error;

/* Loads ticket id; *out is a new reference. FW_ENOTFOUND when there is none. */
int tkt_load(struct store_conn *c, const char *id, json_t **out);
/* Assigns id, seq, initial status (unless t has a valid "status" already set by the caller) and
 * timestamps to t, inserts it and its "created" timeline entry. t is modified in place. */
int tkt_insert(struct store_conn *c, const struct tkt_kind_info *k, json_t *t, const char *actor);
/* Creates ticket t of kind k as actor (may be NULL) with its audit entry, as a write of its own:
 * fills in t as tkt_insert does and returns 0 once the ticket is durable, with *pub the ticket's
 * public JSON (free() it; t loses the fields the API does not show). On the embedded store the
 * write is applied asynchronously (store_write_async), so t's numbers come from memory. */
int tkt_create(struct store *st, const struct tkt_kind_info *k, json_t *t, const char *actor, char **pub);
/* Registers tkt_create's asynchronous write with the store; call before store_open(). */
int tkt_store_register(void);
/* Writes t back (updated_at is set). */
int tkt_save(struct store_conn *c, json_t *t);
/* Moves t to status `to` (no permission check: callers use tkt_check_transition first), records
 * the time of the state, the timeline entry, and a notification to the requester. note may be NULL. */
int tkt_set_status(struct store_conn *c, json_t *t, const char *to, const char *actor, const char *note);
/* Appends a timeline entry; body is borrowed. visibility is "public" or "internal". */
int tkt_timeline_add(struct store_conn *c, const char *ticket, const char *actor, const char *type,
		     const char *visibility, const json_t *body);
/* Links src → dst with a type ("problem", "incident", "article", "caused_by", "reclassified_to" …). */
int tkt_link(struct store_conn *c, const char *src, const char *dst, const char *type);
/* Links of a ticket in both directions, as [{"id":…,"type":…,"direction":"out|in"}]. */
json_t *tkt_links(struct store_conn *c, const char *id);
/* Tells the requester (if any) about an event on their ticket through the outbox. */
int tkt_notify_requester(struct store_conn *c, const json_t *t, const char *event, const json_t *detail);

#endif
