/* Every API module's route table, in match order. A new module adds one line here. */
#include "http/router.h"

#include <stddef.h>

extern const struct route api_system_routes[];
extern const struct route api_account_routes[];
extern const struct route api_ticket_routes[];
extern const struct route api_runbook_routes[];
extern const struct route api_access_key_routes[];
extern const struct route compat_aws_routes[];
extern const struct route api_catalog_routes[];
extern const struct route api_engagement_routes[];
extern const struct route api_notify_routes[];
extern const struct route api_event_routes[];
extern const struct route compat_event_routes[];
extern const struct route api_sla_routes[];

const struct route *const http_route_tables[] = {
	api_system_routes,
	api_account_routes,
	api_ticket_routes,
	api_runbook_routes,
	api_access_key_routes,
	compat_aws_routes,
	api_catalog_routes,
	api_engagement_routes,
	api_notify_routes,
	api_event_routes,
	compat_event_routes,
	api_sla_routes,
	NULL,
};
