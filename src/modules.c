/* The daemon's background modules, in start order. A new module adds one line here. */
#include "daemon.h"
#include "sla/scheduler.h"
#include "events/engine.h"
#include "notify/notify.h"
#include "catalog/allocator.h"
#include "automation/automation.h"

#include <stddef.h>

const struct daemon_module daemon_modules[] = {
	{ "automation", rb_supervisor_start, rb_supervisor_reload, rb_supervisor_stop },
	{ "catalog", cat_allocator_start, cat_allocator_reload, cat_allocator_stop },
	{ "notify", ntf_start, NULL, ntf_stop },
	{ "events", evt_engine_start, evt_engine_reload, evt_engine_stop },
	{ "sla", sla_sched_start, NULL, sla_sched_stop },
	{ NULL, NULL, NULL, NULL },
};
