#ifndef FW_NTF_ROUTE_H
#define FW_NTF_ROUTE_H
/* Pure rules of notification delivery: which subscription filters an event matches, how long to wait
 * before the next attempt, and whether an outbox topic is a notification at all. No I/O. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct fw_error;

/* Checks a subscription filter: {"events": ["ticket.*", "sla.breached"], "accounts": ["123456789012"],
 * "severities": ["critical", "high"]}. An absent list matches anything; an event pattern ending in '*'
 * matches by prefix. Returns 0 or FW_EINVAL (422, e names the field). */
int ntf_filter_check(const json_t *filter, struct fw_error *e);

/* True when an event (type, account, severity; account and severity may be NULL) passes filter
 * (borrowed; NULL or {} passes everything). A list that names accounts or severities does not match an
 * event that has none. */
bool ntf_filter_match(const json_t *filter, const char *event, const char *account, const char *severity);

/* Delay before attempt number attempt + 1 after attempt (1-based) failed: exponential from base_ms,
 * capped at max_ms, with "equal jitter" — a uniform draw (r in [0, 1)) over the upper half, so retries
 * of many notifications spread out but never come sooner than half the nominal delay. */
int64_t ntf_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double r);

/* True for outbox topics that are notifications (ticket.*, sla.*, escalation.*, alarm.*, notify.*, and
 * "topic:<id>" publishes). Other outbox rows (runbook jobs …) are left to their own consumers. */
bool ntf_topic_is_notification(const char *topic);

#endif
