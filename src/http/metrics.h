#ifndef FW_METRICS_H
#define FW_METRICS_H
/* In-process counters for /metrics (Prometheus text exposition format 0.0.4). */

struct buf;

/* Records one request. route is a static pattern string (or "unmatched"). */
void metrics_observe(const char *route, const char *method, int status, double seconds);
/* A named counter that modules bump (e.g. "flywheel_events_received_total"); name must be static. */
void metrics_count(const char *name, const char *help, double delta);
/* Appends the request metrics and module counters. */
void metrics_render(struct buf *out);

#endif
