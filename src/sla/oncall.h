#ifndef FW_SLA_ONCALL_H
#define FW_SLA_ONCALL_H
/* On-call schedules: layers of rotations, each in its own time zone and optionally restricted to
 * windows of the week (08:00-16:00 on weekdays in Asia/Tokyo), stacked so that a later layer
 * overrides earlier ones wherever it has someone, plus one-off overrides that win over every layer.
 * Five regional layers restricted to their office hours give a follow-the-sun schedule.
 *
 * A shift is a maximal interval in which the same user is on call for the same reason (the same layer,
 * or an override). Intervals with nobody on call are gaps: they are reported, never filled silently.
 * Pure logic: no I/O besides the tz database. */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

struct fw_error;

#define SLA_OVERRIDE (-1)                      /* sla_shift.layer of an override */
#define SLA_GAP (-2)                           /* sla_shift.layer of a gap */
#define SLA_ONCALL_HORIZON (400L * 86400)      /* longest range searched or reported */

enum sla_rotation {
	SLA_ROT_DAILY,  /* hand-off every day at `handoff` local time */
	SLA_ROT_WEEKLY, /* hand-off every week on `handoff_day` at `handoff` local time */
	SLA_ROT_CUSTOM, /* hand-off every `length` seconds from `start` (elapsed time, no DST) */
};

/* A weekly window in the layer's zone: on each day in `days` (bit 0 = Sunday) from `start` to `end`
 * seconds after local midnight; end <= start means the window runs past midnight into the next day. */
struct sla_restriction {
	unsigned days;
	int start, end;
};

struct sla_layer {
	char *name; /* may be NULL */
	char zone[64];
	char **users;
	size_t n_users;
	enum sla_rotation rotation;
	long length;     /* SLA_ROT_CUSTOM: seconds per shift */
	int handoff;     /* seconds after local midnight */
	int handoff_day; /* SLA_ROT_WEEKLY: 0 = Sunday .. 6 */
	time_t start;    /* the first shift (users[0]) begins here; nobody is on call before */
	struct sla_restriction *restrictions;
	size_t n_restrictions; /* 0: no restriction, on call around the clock */
};

struct sla_override {
	char *user;
	time_t start, end;
};

/* Layers in stacking order: layers[n_layers - 1] is on top. Later overrides win over earlier ones.
 * Everything here is owned by the schedule and freed by sla_oncall_release(). */
struct sla_schedule {
	struct sla_layer *layers;
	size_t n_layers;
	struct sla_override *overrides;
	size_t n_overrides;
};

/* A shift, or with user == NULL a gap. user points into the schedule: valid until it is released.
 * layer is the index of the layer, SLA_OVERRIDE, or SLA_GAP. */
struct sla_shift {
	const char *user;
	time_t start, end;
	int layer;
};

/* A range with nobody on call. */
struct sla_gap {
	time_t start, end;
};

/* Parses a schedule object into *out; the caller releases it with sla_oncall_release(). The JSON is only
 * read. On failure *out is empty (nothing to release) and e names the field (status 422). Instants are
 * RFC 3339 strings ("2024-03-04T08:00:00Z", "2024-03-04T09:00:00+01:00") or integer Unix seconds.
 *   {"layers": [{"name": "emea", "timezone": "Europe/Berlin", "users": ["alice", "bob"],
 *                "rotation": "daily" | "weekly" | "custom", "length": 43200 (custom only),
 *                "handoff": "09:00" (default: local time of start), "handoff_day": "mon" (weekly;
 *                default: local weekday of start), "start": "2024-03-04T08:00:00Z",
 *                "restrictions": [{"days": ["mon", "fri"] (default every day),
 *                                  "start": "08:00", "end": "16:00"}]}],
 *    "overrides": [{"user": "carol", "start": "...", "end": "..."}]} */
int sla_oncall_parse(const json_t *obj, struct sla_schedule *out, struct fw_error *e);

/* Frees everything the schedule owns and leaves it empty. */
void sla_oncall_release(struct sla_schedule *s);

/* Who is on call at t: the shift containing t, or (user == NULL) the gap containing t. Start and end
 * are exact unless the shift or gap extends more than SLA_ONCALL_HORIZON from t, in which case they are
 * clipped there. Returns 0, FW_ENOMEM, or FW_EINVAL when a zone conversion fails. */
int sla_oncall_at(const struct sla_schedule *s, time_t t, struct sla_shift *out);

/* Up to max shifts (gaps skipped), the first being the one on at `from` if anyone is, in time order,
 * into out[] (caller's array); *n gets the count, less than max when the schedule runs out within
 * SLA_ONCALL_HORIZON of from. Returns 0, FW_ENOMEM or FW_EINVAL. */
int sla_oncall_next(const struct sla_schedule *s, time_t from, size_t max, struct sla_shift *out, size_t *n);

/* The gaps in [from, to) into a new array *out (NULL when none) that the caller free()s; *n gets the count.
 * Returns 0, FW_ENOMEM, or FW_EINVAL (422, e filled) when the range is empty or longer than
 * SLA_ONCALL_HORIZON. */
int sla_oncall_gaps(const struct sla_schedule *s, time_t from, time_t to, struct sla_gap **out, size_t *n,
		    struct fw_error *e);

#endif
