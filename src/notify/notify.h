#ifndef FW_NOTIFY_H
#define FW_NOTIFY_H
/* Notification delivery: turns outbox rows into one notification per target (the requester's e-mail,
 * each matching topic subscription), then delivers them from worker threads with retries, exponential
 * backoff with jitter and a dead-letter status after the channel's max_attempts. Every attempt is
 * logged (notification_attempts). The outbox id is the idempotency key of everything sent for it.
 *
 * Rows are claimed by setting status 'sending' with a lease; a crash mid-delivery leaves the lease to
 * expire and the row is sent again with the same key (at least once). */

#include <jansson.h>

struct server;

/* Daemon module hooks (src/modules.c). */
int ntf_start(struct server *s);
void ntf_stop(void);

/* Wakes the dispatcher (a store_hook: outbox_add arms it after commit). Safe before start. */
void ntf_wake(void *unused);

/* The e-mail for an event: subject, plain text and HTML (each a new malloc()ed string the caller
 * frees). payload is borrowed. */
void ntf_render_mail(const char *event, const json_t *payload, char **subject, char **text, char **html);

#endif
