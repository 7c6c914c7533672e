#ifndef FW_OUTBOX_H
#define FW_OUTBOX_H
/* The outbox: messages (notifications, runbook jobs) written in the same transaction as the change
 * that causes them, delivered after commit, at least once, each with a unique id that receivers
 * use as an idempotency key. */

#include <jansson.h>

struct store_conn;

/* Inside a store_write function: queues payload (borrowed; serialized now) under topic, e.g.
 * "ticket.status_changed", for recipient (a principal id, or NULL for topic subscribers). */
int outbox_add(struct store_conn *c, const char *topic, const char *account, const char *recipient,
	       const json_t *payload);

#endif
