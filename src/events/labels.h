#ifndef EVT_LABELS_H
#define EVT_LABELS_H
/* Label sets: the identity of an alert. A set is a small array of name/value pairs kept sorted by
 * name (byte-wise, as strcmp), without duplicate names. The set owns copies of every string.
 * Validation, the fingerprint and the group key follow Alertmanager 0.25 (PROTOCOLS.md 1.2, 1.9). */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fw_error;

struct evt_label {
	char *name;
	char *value;
};

struct evt_labels {
	struct evt_label *v; /* sorted by name; v[i].name and v[i].value are owned by the set */
	size_t n;
	size_t alloc;
	/* true: v and its strings belong to someone else (the Alertmanager fast path's request arena);
	 * the set is read-only, and release only forgets them. See evt_labels_borrow(). */
	bool borrowed;
};

#define EVT_LABELS_INIT           \
	{                         \
		NULL, 0, 0, false \
	}

/* Length of a rendered fingerprint without its terminating NUL: 16 lowercase hex digits. */
#define EVT_FINGERPRINT_LEN 16

void evt_labels_init(struct evt_labels *ls);

/* Frees every string and the array; the set is left empty and can be reused. */
void evt_labels_release(struct evt_labels *ls);

/* Makes ls a read-only view of v[0..n), which must already be sorted by name without duplicates and
 * outlive every use of ls. evt_labels_set() refuses to change it; release forgets it. */
void evt_labels_borrow(struct evt_labels *ls, struct evt_label *v, size_t n);

/* Sets name to value, replacing an existing value. Both strings are copied; the set stays sorted.
 * Does not validate (see evt_label_name_valid). Returns 0, FW_ENOMEM, or FW_EINVAL for a borrowed
 * set (the set is unchanged then). */
int evt_labels_set(struct evt_labels *ls, const char *name, const char *value);

/* Returns the value of name, or NULL when the set has no such label. The pointer is owned by the set
 * and stays valid until the label is replaced or the set is released. */
const char *evt_labels_get(const struct evt_labels *ls, const char *name);

/* Makes dst a deep copy of src. dst must be initialized (it is released first).
 * Returns 0 or FW_ENOMEM (dst is empty then). */
int evt_labels_copy(struct evt_labels *dst, const struct evt_labels *src);

/* True when both sets hold the same pairs. */
bool evt_labels_equal(const struct evt_labels *a, const struct evt_labels *b);

/* True when name matches ^[a-zA-Z_][a-zA-Z0-9_]*$ (Prometheus' label name rule). */
bool evt_label_name_valid(const char *name);

/* True when s[0..len) is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
bool evt_utf8_valid(const char *s, size_t len);

/* Writes s[0..len) to buf as a double-quoted string in the style of Go's %q (escapes for '"', '\\',
 * control characters and invalid UTF-8 bytes as \xNN), truncated to fit size (always NUL-terminated
 * when size > 0). Used to name offending values in error messages. Returns buf. */
char *evt_quote(char *buf, size_t size, const char *s, size_t len);

/* Flags for evt_labels_from_json.
 * DROP_EMPTY: drop pairs whose value is "" before validating (what Alertmanager does to alert labels).
 * REQUIRE_ONE: reject a set that is empty (after dropping).
 * ANNOTATIONS: word errors "invalid annotations: ..." with code invalid_annotations instead of
 * "invalid label set: ..." with invalid_labels. */
enum {
	EVT_LABELS_DROP_EMPTY = 1 << 0,
	EVT_LABELS_REQUIRE_ONE = 1 << 1,
	EVT_LABELS_ANNOTATIONS = 1 << 2,
};

/* The rules Alertmanager applies to the labels of a POSTed alert. */
#define EVT_LABELS_ALERT (EVT_LABELS_DROP_EMPTY | EVT_LABELS_REQUIRE_ONE)

/* Builds *out (initialized, released first) from a JSON object of string values, then validates it:
 * every name must be a valid label name and every value valid UTF-8 without NUL.
 * Errors (e may be NULL):
 *   422 invalid_type: obj is not an object, or a value is not a string;
 *   400 invalid_labels / invalid_annotations: Alertmanager's wording, e.g.
 *       'invalid label set: invalid name "1x"', 'at least one label pair required'.
 * Returns 0, FW_EINVAL or FW_ENOMEM; on error *out is empty. obj is not modified or consumed. */
int evt_labels_from_json(struct evt_labels *out, const json_t *obj, unsigned flags, struct fw_error *e);

/* Returns a new JSON object of the pairs (the caller owns the reference), or NULL on allocation failure. */
json_t *evt_labels_to_json(const struct evt_labels *ls);

/* The Alertmanager fingerprint (PROTOCOLS.md 1.9): FNV-1a 64 over name 0xFF value 0xFF for each pair
 * in name order; the offset basis for an empty set. */
uint64_t evt_labels_fingerprint(const struct evt_labels *ls);

/* Renders fp as %016x (lowercase, zero-padded) into out, which holds EVT_FINGERPRINT_LEN + 1 bytes. */
void evt_fingerprint_format(uint64_t fp, char out[EVT_FINGERPRINT_LEN + 1]);

/* Parses 16 hex digits (either case) into *fp. Returns 0 or FW_EINVAL. */
int evt_fingerprint_parse(const char *s, uint64_t *fp);

/* Renders the set like Prometheus' LabelSet.String(): {a="1", b="2"} (values quoted as evt_quote
 * does, without truncation); "{}" when empty. *out is a new string the caller frees.
 * Returns 0 or FW_ENOMEM. */
int evt_labels_format(const struct evt_labels *ls, char **out);

/* A route's group_by list. `all` is Alertmanager's "...": group by every label of the alert. */
struct evt_group_by {
	char **names; /* sorted, unique, owned */
	size_t n;
	bool all;
};

#define EVT_GROUP_BY_INIT      \
	{                      \
		NULL, 0, false \
	}

/* Builds *g (released first) from n label names; "..." alone means all labels. Alertmanager's
 * config rules apply: 400 invalid_group_by for an invalid name, a duplicate, or "..." mixed with
 * names. An empty list is valid: every alert of the route falls into one group.
 * Returns 0, FW_EINVAL or FW_ENOMEM; on error *g is empty. The names are copied. */
int evt_group_by_parse(struct evt_group_by *g, const char *const *names, size_t n, struct fw_error *e);

/* The same from a JSON array of strings (422 invalid_type when it is not one). */
int evt_group_by_from_json(struct evt_group_by *g, const json_t *arr, struct fw_error *e);

void evt_group_by_release(struct evt_group_by *g);

/* Puts into *out (initialized, released first) the labels of ls named by g; names the alert lacks
 * are left out, as Alertmanager does. Returns 0 or FW_ENOMEM. */
int evt_labels_select(const struct evt_labels *ls, const struct evt_group_by *g, struct evt_labels *out);

/* The group key of an alert under g: *key (when key is not NULL) is a new string the caller frees,
 * evt_labels_format() of the selected labels, e.g. {alertname="Down", cluster="eu1"}; *hash (when
 * not NULL) is their fingerprint. Equal keys <=> same group. Returns 0 or FW_ENOMEM. */
int evt_labels_group_key(const struct evt_labels *ls, const struct evt_group_by *g, char **key,
			 uint64_t *hash);

#endif
