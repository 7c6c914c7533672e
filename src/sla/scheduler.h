#ifndef FW_SLA_SCHEDULER_H
#define FW_SLA_SCHEDULER_H
/* The timer heap: one entry per (ticket, instant) at which a clock warns or breaches or an escalation
 * steps. Entries may be stale (the ticket changed since); firing one just re-evaluates the ticket in a
 * write transaction, which is idempotent. On start the heap is rebuilt from the store (next_at of
 * sla_clocks and escalations). Time is time_now_ms(), so a shifted test clock fires timers at once
 * after sla_sched_wake(). */

#include <stddef.h>
#include <stdint.h>

struct server;

int sla_sched_start(struct server *s);
void sla_sched_stop(void);

/* Arms a timer for ticket at at_ms (copied). Safe from any thread, before start too (ignored then). */
void sla_sched_arm(const char *ticket, int64_t at_ms);
/* Wakes the scheduler to look at the clock again (after a test shifted it). */
void sla_sched_wake(void);
/* Entries in the heap (for metrics and the bench). */
size_t sla_sched_size(void);

#endif
