#ifndef FW_SLA_ESCALATION_H
#define FW_SLA_ESCALATION_H
/* Escalation policies: ordered levels, each naming users, groups or on-call schedules to page, with a
 * delay before the next level, and a repeat count for the whole ladder. Parsing is pure; the steps run
 * inside the writer (sla/engine.c). Acknowledging stops an escalation; reassigning to another group
 * restarts it at level one of that group's policy.
 *
 *   {"name": "DBA", "account": null, "group": "dba",
 *    "levels": [{"targets": [{"type": "schedule", "id": "sch-1"}, {"type": "user", "id": "alice"}],
 *                "delay": "15m"},
 *               {"targets": [{"type": "group", "id": "dba-leads"}], "delay": "30m"}],
 *    "repeat": 1} */

#include <jansson.h>
#include <stddef.h>

struct fw_error;

#define ESC_MAX_LEVELS 10
#define ESC_MAX_TARGETS 10

enum esc_target_type { ESC_USER, ESC_GROUP, ESC_SCHEDULE };

struct esc_target {
	enum esc_target_type type;
	char id[128];
};

struct esc_level {
	size_t n_targets;
	struct esc_target targets[ESC_MAX_TARGETS];
	long delay; /* seconds before the next level */
};

struct esc_policy {
	size_t n_levels;
	struct esc_level levels[ESC_MAX_LEVELS];
	int repeat; /* extra rounds through the levels after the first */
};

/* Parses a policy (obj only read). Returns 0 or FW_EINVAL (422, e names the field). */
int sla_esc_parse(const json_t *obj, struct esc_policy *out, struct fw_error *e);

const char *sla_esc_target_type_name(enum esc_target_type t);

#endif
