#ifndef EVT_MATCHER_H
#define EVT_MATCHER_H
/* Label matchers as Alertmanager 0.25 has them: name, operator (=, !=, =~, !~) and value. Used by
 * silences (JSON form), the ?filter= parameter and amtool (text form), inhibition and routing.
 *
 * Regex matchers are fully anchored, like Alertmanager's ^(?:re)$. Patterns are written in RE2 syntax
 * (what users copy from Alertmanager) and translated to POSIX extended regular expressions for
 * <regex.h>: (?:…), a leading (?i) or (?s), \d \w \s and their negations, escaped punctuation,
 * \n \t \xHH, lazy quantifiers and literal braces are handled; what POSIX cannot express is
 * rejected with a message (docs/internals/events-logic.md lists the differences). */

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

struct fw_error;
struct evt_labels;

enum evt_match_type {
	EVT_MATCH_EQUAL,     /* =  */
	EVT_MATCH_NOT_EQUAL, /* != */
	EVT_MATCH_REGEX,     /* =~ */
	EVT_MATCH_NOT_REGEX, /* !~ */
};

struct evt_matcher {
	enum evt_match_type type;
	char *name;  /* owned */
	char *value; /* owned; for regex types the pattern exactly as written (RE2 syntax) */
	regex_t *re; /* owned; the compiled anchored translation, NULL for = and != */
};

#define EVT_MATCHER_INIT                          \
	{                                         \
		EVT_MATCH_EQUAL, NULL, NULL, NULL \
	}

/* A conjunction of matchers (all must match), in the order they were given. */
struct evt_matchers {
	struct evt_matcher *v; /* owned */
	size_t n;
	size_t alloc;
};

#define EVT_MATCHERS_INIT  \
	{                  \
		NULL, 0, 0 \
	}

/* "=", "!=", "=~" or "!~". */
const char *evt_match_type_str(enum evt_match_type type);

/* Makes *m (released first) a matcher of type on name with value; name and value are copied.
 * Regex values are compiled: 400 invalid_regex with the reason when that fails. The name is not
 * checked here (filters allow ':'; silences check it in evt_matchers_validate_silence).
 * Returns 0, FW_EINVAL or FW_ENOMEM; on error *m is released. */
int evt_matcher_init(struct evt_matcher *m, enum evt_match_type type, const char *name, const char *value,
		     struct fw_error *e);

/* Frees what m owns and leaves it as EVT_MATCHER_INIT. */
void evt_matcher_release(struct evt_matcher *m);

/* Applies m to one label value; pass "" for a label the alert lacks (Prometheus semantics). */
bool evt_matcher_matches(const struct evt_matcher *m, const char *value);

/* Parses the text form of one matcher, s[0..len) (not necessarily NUL-terminated), with Alertmanager's
 * rules (pkg/labels.ParseMatcher): name [a-zA-Z_:][a-zA-Z0-9_:]*, optional blanks around the operator,
 * a value that is either bare or double-quoted with \" \\ \n escapes. 400 bad_matcher with
 * Alertmanager's wording ("bad matcher format: …", "matcher value contains unescaped double quote: …",
 * "matcher value not valid UTF-8: …"), or 400 invalid_regex. On error *m is released. */
int evt_matcher_parse(struct evt_matcher *m, const char *s, size_t len, struct fw_error *e);

/* Parses the JSON form {"name","value","isRegex","isEqual"} (isEqual defaults to true; null counts as
 * absent). 422 missing_field / invalid_type for shape errors, 400 invalid_regex. obj is not consumed. */
int evt_matcher_from_json(struct evt_matcher *m, const json_t *obj, struct fw_error *e);

/* Returns a new reference to the JSON form, always with both isRegex and isEqual (as Alertmanager's GET
 * responses do), or NULL on allocation failure. The caller owns it. */
json_t *evt_matcher_to_json(const struct evt_matcher *m);

/* *out is a new string (the caller frees it) with the text form: name, operator and the value in
 * double quotes with '"', '\\' and newline escaped, so evt_matcher_parse() reads it back unchanged.
 * Returns 0 or FW_ENOMEM. */
int evt_matcher_format(const struct evt_matcher *m, char **out);

/* Same name, type and value (Alertmanager's silence filter compares matchers this way). */
bool evt_matcher_equal(const struct evt_matcher *a, const struct evt_matcher *b);

void evt_matchers_init(struct evt_matchers *set);

/* Frees every matcher and the array; the set is left empty and can be reused. */
void evt_matchers_release(struct evt_matchers *set);

/* Appends a new matcher (see evt_matcher_init). Returns 0, FW_EINVAL or FW_ENOMEM; the set is unchanged
 * on error. */
int evt_matchers_add(struct evt_matchers *set, enum evt_match_type type, const char *name, const char *value,
		     struct fw_error *e);

/* Parses a text list like Alertmanager's ParseMatchers and appends its matchers to set: optional
 * surrounding braces, comma-separated matchers, commas inside double quotes kept: `{a="b",c!~"x,y"}`,
 * `alertname=Down`. "{}" and "" add nothing. On error nothing is appended (the array may have grown:
 * the caller releases the set as usual). */
int evt_matchers_parse(struct evt_matchers *set, const char *s, struct fw_error *e);

/* Parses a JSON array of matcher objects (a silence's "matchers") and appends them. Errors name the
 * element, e.g. "matchers[1].isRegex must be a boolean". On error nothing is appended (as above). An empty
 * array is accepted here; evt_matchers_validate_silence() rejects it for silences. */
int evt_matchers_from_json(struct evt_matchers *set, const json_t *arr, struct fw_error *e);

/* Returns a new reference to a JSON array of the matchers' JSON forms, or NULL on allocation failure. */
json_t *evt_matchers_to_json(const struct evt_matchers *set);

/* True when every matcher matches ls, a missing label reading as "". An empty set matches everything. */
bool evt_matchers_matches(const struct evt_matchers *set, const struct evt_labels *ls);

/* The store-level checks Alertmanager applies to a silence's matchers (silence.validateSilence), 400
 * invalid_matchers: at least one matcher; each name a valid label name; each =/!= value valid UTF-8;
 * not all of them matching the empty string (such a silence would mute every alert). */
int evt_matchers_validate_silence(const struct evt_matchers *set, struct fw_error *e);

/* True when set holds a matcher equal to m (same name, type and value). */
bool evt_matchers_contains(const struct evt_matchers *set, const struct evt_matcher *m);

/* True when both sets hold equal matchers in the same order (Alertmanager's test for updating a silence
 * in place). */
bool evt_matchers_equal(const struct evt_matchers *a, const struct evt_matchers *b);

#endif
