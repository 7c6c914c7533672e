#ifndef FW_SLA_POLICY_H
#define FW_SLA_POLICY_H
/* SLA and OLA policies: response and resolution targets per priority (or severity), a business-hours
 * calendar (or 24x7), warning fractions and the statuses during which the clocks pause. Pure: parsing
 * and lookups, no I/O.
 *
 *   {"name": "Business tier", "type": "sla" | "ola", "account": "123456789012" | null,
 *    "tier": "business" | null, "group": "dba" (OLA: the assignment group it binds),
 *    "kinds": ["incident"]  (ticket kinds it covers; default incident),
 *    "calendar": {...} (see calendar.h; default 24x7 UTC),
 *    "targets": {"P1": {"response": "15m", "resolution": "4h"}, "low": {"resolution": "5d"}},
 *    "warnings": [0.5, 0.75, 0.9],
 *    "pause_statuses": ["approved"]} */

#include "sla/calendar.h"
#include "sla/clock.h"

#include <jansson.h>
#include <stdbool.h>

struct fw_error;

#define SLA_POLICY_MAX_TARGETS 8
#define SLA_POLICY_MAX_PAUSES 8

struct sla_target {
	char key[16];     /* "P1".."P4" or "critical".."low" */
	long response;    /* business seconds; 0 = no response target */
	long resolution;  /* business seconds; 0 = no resolution target */
};

struct sla_policy {
	bool ola;
	unsigned kinds; /* bit per enum tkt_kind */
	struct sla_calendar cal;
	size_t n_targets;
	struct sla_target targets[SLA_POLICY_MAX_TARGETS];
	size_t n_warnings;
	double warnings[SLA_MAX_WARNINGS];
	size_t n_pauses;
	char pause_statuses[SLA_POLICY_MAX_PAUSES][40];
};

/* Parses a policy's definition into *out (release with sla_policy_release). Returns 0 or FW_EINVAL with
 * e naming the field (422): unknown priority keys, bad durations, a bad calendar (its own codes), bad
 * warnings, pause statuses that no covered kind has. obj is only read. */
int sla_policy_parse(const json_t *obj, struct sla_policy *out, struct fw_error *e);
void sla_policy_release(struct sla_policy *p);

/* The target for a ticket: by priority first, then severity; NULL when the policy has neither. */
const struct sla_target *sla_policy_target(const struct sla_policy *p, const char *priority, const char *severity);

/* True when status pauses the clocks. */
bool sla_policy_pauses(const struct sla_policy *p, const char *status);

#endif
