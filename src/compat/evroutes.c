/* Routes of the compatible event APIs: Alertmanager v2, PagerDuty Events v2, SNS, EventBridge.
 * Each handler authenticates itself (tokens, basic auth, routing keys). */
#include "compat/evcompat.h"
#include "http/router.h"

#include <stddef.h>

const struct route compat_event_routes[] = {
	{ "GET", "/-/healthy", am_healthy, ROUTE_PUBLIC },
	{ "HEAD", "/-/healthy", am_healthy, ROUTE_PUBLIC },
	{ "GET", "/-/ready", am_ready, ROUTE_PUBLIC },
	{ "HEAD", "/-/ready", am_ready, ROUTE_PUBLIC },
	{ "POST", "/-/reload", am_reload, ROUTE_OWN_AUTH },
	{ "POST", "/api/v2/alerts", am_alerts_post, ROUTE_OWN_AUTH },
	{ "GET", "/api/v2/alerts", am_alerts_get, ROUTE_OWN_AUTH },
	{ "GET", "/api/v2/alerts/groups", am_groups_get, ROUTE_OWN_AUTH },
	{ "GET", "/api/v2/silences", am_silences_get, ROUTE_OWN_AUTH },
	{ "POST", "/api/v2/silences", am_silences_post, ROUTE_OWN_AUTH },
	{ "GET", "/api/v2/silence/{id}", am_silence_get, ROUTE_OWN_AUTH },
	{ "DELETE", "/api/v2/silence/{id}", am_silence_delete, ROUTE_OWN_AUTH },
	{ "GET", "/api/v2/status", am_status, ROUTE_OWN_AUTH },
	{ "GET", "/api/v2/receivers", am_receivers, ROUTE_OWN_AUTH },
	{ "POST", "/v2/enqueue", pd_enqueue, ROUTE_OWN_AUTH },
	{ "POST", "/v2/change/enqueue", pd_change_enqueue, ROUTE_OWN_AUTH },
	{ "POST", "/sns", sns_post, ROUTE_OWN_AUTH },
	{ "POST", "/eventbridge", eb_post, ROUTE_OWN_AUTH },
	{ NULL, NULL, NULL, 0 },
};
