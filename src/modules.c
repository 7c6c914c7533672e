/* The daemon's background modules, in start order. A new module adds one line here. */
#include "daemon.h"
#include "sla/scheduler.h"
#include "events/engine.h"
#include "notify/notify.h"
#include "catalog/allocator.h"
#include "automation/automation.h"

#include <stddef.h>

/* events first: it registers the alarm resolver automation calls when a remediation succeeds.
 * automation forks its runner with fork+exec only, which is safe after other threads exist. */
const struct daemon_module daemon_modules[] = {
	{ "events", evt_engine_start, evt_engine_reload, evt_engine_stop },
	{ "automation", rb_supervisor_start, rb_supervisor_reload, rb_supervisor_stop },
	{ "catalog", cat_allocator_start, cat_allocator_reload, cat_allocator_stop },
	{ "notify", ntf_start, NULL, ntf_stop },
	{ "sla", sla_sched_start, NULL, sla_sched_stop },
	{ NULL, NULL, NULL, NULL },
};
