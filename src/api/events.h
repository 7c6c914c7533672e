#ifndef FW_API_EVENTS_H
#define FW_API_EVENTS_H
/* Helpers shared by the event endpoints: the native API (api/events.c) and the compatible ones
 * (compat/alertmanager.c, pagerduty.c, sns.c, eventbridge.c). */

#include <stdbool.h>
#include <stddef.h>

struct req;
struct fw_error;

/* Authenticates an own-auth route: "Authorization: Bearer <token>" or HTTP basic auth whose password
 * is a token. Successful look-ups are cached for a few seconds (the ingest hot path). Sets r->auth
 * and returns 0, or sets a 401 error on r (flywheel shape) and returns FW_EAUTH. */
int evt_api_auth(struct req *r);
/* The caller's permissions on account, with account parents cached (0 when the account does not
 * exist). */
unsigned evt_api_perms(struct req *r, const char *account);
/* evt_visible_fn for PERM_READ; arg is the struct req. */
bool evt_api_readable(const char *account, void *arg);
/* The account an event belongs to: `named` (an "account" field or label) when given, which must be a
 * 12-digit account the caller may submit to, otherwise the token's own account (its first binding to
 * one account). out has 16 bytes. 403/404/422 errors in e. */
int evt_api_event_account(struct req *r, const char *named, char out[16], struct fw_error *e);

/* An integration key (PagerDuty routing key, SNS key) -> its account, service and type; cert (may be
 * NULL) gets the configured signing certificate PEM or NULL (free()). Returns 0 or FW_ENOTFOUND. */
int evt_integration_lookup(struct req *r, const char *key, char account[16], char service[128], char type[16],
			   char **cert);

#endif
