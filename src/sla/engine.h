#ifndef FW_SLA_ENGINE_H
#define FW_SLA_ENGINE_H
/* SLA/OLA clocks and escalations of tickets, kept in the store (sla_clocks, escalations). The ticket
 * store calls sla_ticket_changed() after every write of a ticket, inside the same transaction, so a
 * clock starts, pauses, resumes and stops with the change that causes it; the scheduler calls
 * sla_ticket_tick() when a clock's next warning/breach or an escalation step is due. Both emit timeline
 * entries and outbox notifications (sla.warning, sla.breached, escalation.page …) in that transaction,
 * and arm the scheduler after commit. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct store_conn;

/* Inside a store_write function, after ticket t (borrowed) was inserted or saved. created: t was just
 * inserted, so it has no clocks or escalation yet and none are read. Returns 0 or FW_E*. */
int sla_ticket_changed(struct store_conn *c, const json_t *t, bool created);

/* Inside a store_write function: re-evaluates the clocks and escalation of ticket id at now. */
int sla_ticket_tick(struct store_conn *c, const char *id);

/* The clocks and escalation of ticket id evaluated now, as a new JSON object the caller owns
 * ({"ticket":…, "clocks":[…], "escalation":…|null}). Read-only. */
int sla_ticket_status(struct store_conn *c, const char *id, json_t **out);

/* The policy cache keeps parsed policies by (id, updated_at); a changed policy is simply parsed again. */

#endif
