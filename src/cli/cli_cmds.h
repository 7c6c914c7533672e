#ifndef FW_CLI_CMDS_H
#define FW_CLI_CMDS_H
/* The CLI's command families, one source file each; cli.c dispatches on the first word. */

struct cli_family;
struct cli_cmd;

/* cli_tickets.c: incident, problem, request, change, article */
extern const struct cli_family cli_incident_family;
extern const struct cli_family cli_problem_family;
extern const struct cli_family cli_request_family;
extern const struct cli_family cli_change_family;
extern const struct cli_family cli_article_family;

/* cli_accounts.c: account, principal, token, whoami */
extern const struct cli_family cli_account_family;
extern const struct cli_family cli_principal_family;
extern const struct cli_family cli_token_family;
extern const struct cli_cmd cli_whoami_cmd;

/* cli_audit.c: audit (list, verify online and offline), status */
extern const struct cli_family cli_audit_family;
extern const struct cli_cmd cli_status_cmd;

/* cli_runbooks.c: runbook (list, show, run [--wait], approve), execution (list, show, watch, cancel) */
extern const struct cli_family cli_runbook_family;
extern const struct cli_family cli_execution_family;

/* cli_events.c: event (send), alarm (list, show), silence (list, show, add, expire) */
extern const struct cli_family cli_event_family;
extern const struct cli_family cli_alarm_family;
extern const struct cli_family cli_silence_family;

#endif
