#ifndef FW_AWS_SUPPORT_H
#define FW_AWS_SUPPORT_H
/* The AWS Support API (AWSSupport_20130415.*) over tickets. Every incident and service request is a case:
 *   caseId    case-<account>-<year created>-<ticket seq as 16 hex digits>   (parseable back to the ticket)
 *   displayId the ticket's seq as a decimal string
 *   status    follows the ticket's state (aws_case_status)
 * CreateCase with service code service-ams-operations-report-incident opens an incident, any other service
 * code a service request. Communications are the ticket's public comments, newest first. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aws_call;

#define AWS_INCIDENT_SERVICE "service-ams-operations-report-incident"
#define AWS_REQUEST_SERVICE "service-ams-operations-service-request"

/* Runs c->op; sets c->out or an AWS error. Returns 0 or a negative code. */
int aws_support_call(struct aws_call *c);

/* Case status of a ticket: kind "incident"|"request", its status, and whether it was resolved before
 * (then a working incident is "reopened"). Never NULL. */
const char *aws_case_status(const char *kind, const char *status, bool was_resolved);
/* True when the ticket status counts as a resolved case. */
bool aws_case_resolved(const char *status);
/* Ticket fields for a severity code (low|normal|high|urgent|critical): severity, impact, urgency.
 * Returns 0, or FW_EINVAL for an unknown code. */
int aws_severity_to_ticket(const char *code, const char **severity, const char **impact, const char **urgency);
/* Severity code of a ticket from its severity and priority (inverse of the above). Never NULL. */
const char *aws_severity_of_ticket(const char *severity, const char *priority);
/* Formats a case id; returns 0 or FW_ETOOBIG. */
int aws_case_id(const char *account, int64_t created_ms, int64_t seq, char *out, size_t cap);
/* Parses a case id into its account and ticket seq (and year). Returns 0 or FW_EINVAL. */
int aws_case_parse(const char *id, char account[16], int *year, int64_t *seq);

#endif
