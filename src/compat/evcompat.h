#ifndef FW_EVCOMPAT_H
#define FW_EVCOMPAT_H
/* Handlers of the compatible event APIs (compat/evroutes.c lists their routes). Each translates a
 * foreign wire format into evt_event values for events/engine.h and answers in that format. */

struct req;

/* Alertmanager API v2 (PROTOCOLS.md section 1): compat/alertmanager.c */
int am_healthy(struct req *r);
int am_ready(struct req *r);
int am_reload(struct req *r);
int am_alerts_post(struct req *r);
int am_alerts_get(struct req *r);
int am_groups_get(struct req *r);
int am_silences_get(struct req *r);
int am_silences_post(struct req *r);
int am_silence_get(struct req *r);
int am_silence_delete(struct req *r);
int am_status(struct req *r);
int am_receivers(struct req *r);

/* PagerDuty Events API v2 (section 2): compat/pagerduty.c */
int pd_enqueue(struct req *r);
int pd_change_enqueue(struct req *r);

/* CloudWatch alarms over SNS (section 6.1, 6.2): compat/sns.c */
int sns_post(struct req *r);

/* EventBridge envelopes (section 6.3): compat/eventbridge.c */
int eb_post(struct req *r);

#include <jansson.h>
struct evt_event;
struct fw_error;
/* Maps an EventBridge envelope (GuardDuty finding, AWS Health event, anything else) to an event:
 * labels, severity, status and times into *ev (account left empty), annotations into *annot (a new
 * object the caller releases). Also used by sns.c when EventBridge forwards through SNS.
 * 422 errors in e. */
int eb_event_from_envelope(const json_t *env, struct evt_event *ev, json_t **annot, struct fw_error *e);

#endif
