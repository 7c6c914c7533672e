#ifndef FW_AWS_SSM_H
#define FW_AWS_SSM_H
/* AWS Systems Manager OpsCenter OpsItems (AmazonSSM.*) over tickets. Each OpsItem is a row of ops_items (its
 * own fields, kept exactly as sent: OperationalData, Notifications, RelatedOpsItems, Tags, times) bound to one
 * ticket, which carries the work and the state:
 *   - an OpsItem with related resources or alarms (OperationalData "/aws/resources" or "/flywheel/alarms")
 *     is an incident; any other OpsItem is a problem (an issue to investigate);
 *   - Status follows the ticket (aws_opsitem_status); setting Status moves the ticket through its state
 *     machine with the caller's role;
 *   - Version starts at "1" and increments on every successful UpdateOpsItem. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct aws_call;
struct fw_error;

/* Runs c->op; sets c->out or an AWS error. Returns 0 or a negative code. */
int aws_ssm_call(struct aws_call *c);

/* OpsItem Status of a ticket of kind ("incident"|"problem") in ticket_status; stored is the Status last set
 * through UpdateOpsItem (a problem that is still "open" can be InProgress). Never NULL. */
const char *aws_opsitem_status(const char *kind, const char *ticket_status, const char *stored);
/* True when OperationalData names related resources or alarms, so the OpsItem is an incident. */
bool aws_opsitem_is_incident(const json_t *operational_data);
/* Checks an OperationalData map: keys 1-128 characters and not reserved (aws, amazon, amzn, ssm, with or
 * without a leading '/', except /aws/resources, /aws/automations, /aws/dedup), values {"Value": string
 * <= 20 KB, "Type": "SearchableString"|"String"}. Returns 0 or FW_EINVAL with e's message naming the key. */
int aws_opsdata_check(const json_t *od, struct fw_error *e);
/* Checks OpsItemFilters ([{Key, Values, Operator}]): known keys and operators. 0 or FW_EINVAL with e. */
int aws_opsitem_filters_check(const json_t *filters, struct fw_error *e);
/* True when item (an OpsItem summary as returned, plus "AccountId") matches every filter; within one filter,
 * any of its Values. Filters must have passed aws_opsitem_filters_check(). */
bool aws_opsitem_match(const json_t *item, const json_t *filters);

#endif
