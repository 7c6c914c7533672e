#ifndef EVT_RULES_H
#define EVT_RULES_H
/* Routing and classification rules, and inhibition rules: their model, validation of the JSON form
 * (the API's and, after conversion, the YAML files' in rules.d/), and YAML -> JSON conversion.
 * Pure apart from reading files. */

#include "events/labels.h"
#include "events/matcher.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct fw_error;

enum evt_action {
	EVT_ACT_INCIDENT,      /* open or update an incident */
	EVT_ACT_NON_IMPACTING, /* record the alarm only */
	EVT_ACT_PROBLEM,       /* no incident per alarm; a problem once it recurs past the threshold */
};

/* A routing/classification rule. The first rule (in order) whose account and matchers match an
 * alarm decides its fate. */
struct evt_rule {
	char name[64];
	char account[16]; /* "" = every account */
	struct evt_matchers match;
	enum evt_action action;
	struct evt_group_by group_by;
	int64_t group_window_ms; /* a group's resolved incident is reopened by an alarm within this */
	char severity[12];	 /* "" = from the event */
	char priority[4];	 /* "" = from severity */
	bool auto_resolve;	 /* resolve the incident when every alarm of the group resolved */
	unsigned flap_threshold; /* state changes in flap_window that make an alarm flapping; 0 = off */
	int64_t flap_window_ms;
	unsigned problem_threshold; /* firings in problem_window that open a problem; 0 = off */
	int64_t problem_window_ms;
	json_t *doc; /* the normalized JSON form (owned) */
};

struct evt_inhibit {
	char name[64];
	char account[16];
	struct evt_matchers source, target;
	char **equal; /* owned */
	size_t nequal;
	json_t *doc;
};

/* Parses a rule from its JSON form:
 *   {"name", "account"?, "match": ["alertname=~\"Disk.*\"", …] | "{a=\"b\"}", "action":
 *    "incident"|"non_impacting"|"problem", "group_by": [...], "group_window": "5m",
 *    "severity"?, "priority"?, "auto_resolve": true, "flap": {"threshold": 6, "window": "1h"},
 *    "problem": {"threshold": 3, "window": "24h"}}
 * Numbers may be given as strings (YAML). 400/422 errors in e. *r is released first. */
int evt_rule_from_json(struct evt_rule *r, const json_t *doc, struct fw_error *e);
void evt_rule_release(struct evt_rule *r);
/* The built-in rule used when none matches: incident, group by alertname, 5m, auto-resolve. */
void evt_rule_default(struct evt_rule *r);

/* {"name", "account"?, "source_match": [...], "target_match": [...], "equal": [...]} */
int evt_inhibit_from_json(struct evt_inhibit *r, const json_t *doc, struct fw_error *e);
void evt_inhibit_release(struct evt_inhibit *r);

/* Parses matchers given as a JSON array of text matchers, an array of matcher objects, or one text
 * list "{a=\"b\",c=~\"x\"}". Appends to set. */
int evt_matchers_from_any(struct evt_matchers *set, const json_t *v, struct fw_error *e);

/* Reads a YAML file into JSON (mappings -> objects, sequences -> arrays, scalars -> strings, except
 * plain true/false -> booleans). *out is a new reference. Errors name file:line in e (400). */
int evt_yaml_load(const char *path, json_t **out, struct fw_error *e);

/* Integer from a JSON integer or a decimal string; duration from "5m"-style string or integer
 * seconds. Return 0 or FW_EINVAL. */
int evt_json_uint(const json_t *v, unsigned *out);
int evt_json_duration(const json_t *v, int64_t *ms);

#endif
