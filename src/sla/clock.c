#include "sla/clock.h"

#include "sla/calendar.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

const char *sla_kind_name(enum sla_kind kind)
{
	return kind == SLA_RESPONSE ? "response" : "resolution";
}

int sla_clock_init(struct sla_clock *c, const struct sla_calendar *cal, enum sla_kind kind, long target,
		   time_t start, struct fw_error *e)
{
	memset(c, 0, sizeof(*c));
	c->cal = cal;
	c->kind = kind;
	c->target = target;
	c->start = start;
	c->stop = SLA_NONE;
	if (target <= 0)
		return fw_fail(e, 422, "invalid_target", "%s target must be a positive number of business seconds, "
				       "not %ld", sla_kind_name(kind), target);
	return 0;
}

void sla_clock_release(struct sla_clock *c)
{
	free(c->pauses);
	c->pauses = NULL;
	c->n_pauses = c->cap_pauses = 0;
}

int sla_clock_set_warnings(struct sla_clock *c, const double *fractions, size_t n, struct fw_error *e)
{
	double w[SLA_MAX_WARNINGS];

	if (n > SLA_MAX_WARNINGS)
		return fw_fail(e, 422, "invalid_warnings", "warnings has %zu fractions; at most %d are allowed", n,
			       SLA_MAX_WARNINGS);
	for (size_t i = 0; i < n; i++) {
		if (!(fractions[i] > 0 && fractions[i] < 1)) /* also rejects NaN */
			return fw_fail(e, 422, "invalid_warnings", "warnings[%zu] is %g; a warning is a fraction of "
				       "the target between 0 and 1, e.g. 0.75", i, fractions[i]);
		w[i] = fractions[i];
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && w[j] < w[j - 1]; j--) {
			double t = w[j];
			w[j] = w[j - 1];
			w[j - 1] = t;
		}
	for (size_t i = 1; i < n; i++)
		if (w[i] == w[i - 1])
			return fw_fail(e, 422, "invalid_warnings", "warnings lists %g twice; give each fraction once",
				       w[i]);
	memcpy(c->warnings, w, n * sizeof(w[0]));
	c->n_warnings = n;
	return 0;
}

static struct sla_pause *last_pause(const struct sla_clock *c)
{
	return c->n_pauses ? &c->pauses[c->n_pauses - 1] : NULL;
}

int sla_clock_pause(struct sla_clock *c, time_t at, struct fw_error *e)
{
	struct sla_pause *p = last_pause(c);

	if (c->stop != SLA_NONE)
		return fw_fail(e, 409, "clock_stopped", "the %s clock has stopped and cannot be paused",
			       sla_kind_name(c->kind));
	if (p && p->end == SLA_NONE)
		return fw_fail(e, 409, "clock_paused", "the %s clock is already paused; resume it first",
			       sla_kind_name(c->kind));
	if (at < c->start || (p && at < p->end))
		return fw_fail(e, 422, "invalid_pause", "a pause of the %s clock must start at or after %s",
			       sla_kind_name(c->kind), p ? "the end of the previous pause" : "the clock's start");
	if (c->n_pauses == SLA_MAX_PAUSES)
		return fw_fail(e, 422, "too_many_pauses", "the %s clock has been paused %d times, the limit",
			       sla_kind_name(c->kind), SLA_MAX_PAUSES);
	if (c->n_pauses == c->cap_pauses) {
		size_t cap = c->cap_pauses ? c->cap_pauses * 2 : 4;
		struct sla_pause *np = realloc(c->pauses, cap * sizeof(*np));
		if (!np)
			return FW_ENOMEM;
		c->pauses = np;
		c->cap_pauses = cap;
	}
	c->pauses[c->n_pauses++] = (struct sla_pause){ at, SLA_NONE };
	return 0;
}

int sla_clock_resume(struct sla_clock *c, time_t at, struct fw_error *e)
{
	struct sla_pause *p = last_pause(c);

	if (!p || p->end != SLA_NONE || c->stop != SLA_NONE)
		return fw_fail(e, 409, "clock_not_paused", "the %s clock is not paused", sla_kind_name(c->kind));
	if (at < p->start)
		return fw_fail(e, 422, "invalid_pause", "the %s clock cannot resume before its pause started",
			       sla_kind_name(c->kind));
	p->end = at;
	return 0;
}

int sla_clock_stop(struct sla_clock *c, time_t at, struct fw_error *e)
{
	struct sla_pause *p = last_pause(c);

	if (c->stop != SLA_NONE)
		return fw_fail(e, 409, "clock_stopped", "the %s clock has already stopped", sla_kind_name(c->kind));
	if (at < c->start || (p && at < (p->end == SLA_NONE ? p->start : p->end)))
		return fw_fail(e, 422, "invalid_stop", "the %s clock cannot stop before %s", sla_kind_name(c->kind),
			       at < c->start ? "it started" : "its last pause");
	c->stop = at;
	return 0;
}

/* The clock's active time is [start, +inf) minus the pauses; after a stop it is projected as if it
 * had kept running, so a met clock still reports when it would have been due. An open pause on a
 * running clock ends the active time: nothing after it is known. */
struct segment {
	time_t a, b; /* b == SLA_NONE: unbounded */
};

static size_t active_segments(const struct sla_clock *c, struct segment *seg)
{
	time_t cur = c->start;
	size_t n = 0;

	for (size_t i = 0; i < c->n_pauses; i++) {
		const struct sla_pause *p = &c->pauses[i];
		time_t ps = p->start > c->start ? p->start : c->start;
		time_t pe = p->end != SLA_NONE ? p->end : c->stop;

		if (ps > cur)
			seg[n++] = (struct segment){ cur, ps };
		if (pe == SLA_NONE)
			return n;
		if (pe > cur)
			cur = pe;
	}
	seg[n++] = (struct segment){ cur, SLA_NONE };
	return n;
}

int sla_clock_eval(const struct sla_clock *c, time_t now, struct sla_status *out, struct fw_error *e)
{
	struct segment *seg = NULL;
	long th[SLA_MAX_WARNINGS + 1], cum = 0, total = 0;
	time_t at[SLA_MAX_WARNINGS + 1], end;
	size_t n_seg, n_th = c->n_warnings + 1, k = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	seg = malloc((c->n_pauses + 1) * sizeof(*seg));
	if (!seg)
		return FW_ENOMEM;
	n_seg = active_segments(c, seg);
	end = c->stop != SLA_NONE && c->stop < now ? c->stop : now;

	/* Thresholds in business seconds, ascending: the warnings, then the target itself. */
	for (size_t i = 0; i < c->n_warnings; i++) {
		long t = (long)(c->warnings[i] * (double)c->target + 0.5);
		th[i] = t < 1 ? 1 : t > c->target ? c->target : t;
	}
	th[c->n_warnings] = c->target;
	for (size_t i = 0; i < n_th; i++)
		at[i] = SLA_NONE;

	for (size_t s = 0; s < n_seg; s++) {
		long bs = 0;
		if (seg[s].b != SLA_NONE && (rc = sla_cal_business_seconds(c->cal, seg[s].a, seg[s].b, &bs)))
			goto out;
		while (k < n_th && (seg[s].b == SLA_NONE || th[k] <= cum + bs)) {
			if ((rc = sla_cal_add(c->cal, seg[s].a, th[k] - cum, &at[k])))
				goto out;
			k++;
		}
		cum += bs;
		/* Counted time up to `end`. */
		if (end > seg[s].a) {
			time_t b = seg[s].b == SLA_NONE || seg[s].b > end ? end : seg[s].b;
			long part;
			if ((rc = sla_cal_business_seconds(c->cal, seg[s].a, b, &part)))
				goto out;
			out->elapsed += part;
		}
	}
	if (end > c->start && (rc = sla_cal_business_seconds(c->cal, c->start, end, &total)))
		goto out;
	out->paused = total - out->elapsed;
	out->remaining = c->target - out->elapsed;

	out->stopped = c->stop != SLA_NONE && c->stop <= now;
	for (size_t i = 0; i < c->n_pauses && !out->stopped; i++)
		if (c->pauses[i].start <= now && (c->pauses[i].end == SLA_NONE || now < c->pauses[i].end))
			out->paused_now = true;
	out->running = now >= c->start && !out->stopped && !out->paused_now;
	out->due = at[c->n_warnings];
	out->breached = out->due != SLA_NONE && out->due <= end;
	out->met = out->stopped && !out->breached;
	out->n_warnings = c->n_warnings;
	out->next_event = SLA_NONE;
	out->next_warning = -1;
	for (size_t i = 0; i < n_th; i++) {
		if (at[i] == SLA_NONE)
			continue;
		if (i < c->n_warnings) {
			out->warning_at[i] = at[i];
			if (at[i] <= end)
				out->warned |= 1u << i;
		}
		/* An event counts once it is due, so the timer is armed for the first one after now; a stopped
		 * clock arms nothing past its stop. */
		if (at[i] > now && (c->stop == SLA_NONE || at[i] <= c->stop) &&
		    (out->next_event == SLA_NONE || at[i] < out->next_event)) {
			out->next_event = at[i];
			out->next_warning = i < c->n_warnings ? (int)i : -1;
		}
	}
	for (size_t i = 0; i < c->n_warnings; i++)
		if (at[i] == SLA_NONE)
			out->warning_at[i] = SLA_NONE;
out:
	free(seg);
	if (rc == FW_EINVAL)
		return fw_fail(e, 422, "due_out_of_range", "the %s target of %ld business seconds cannot be placed "
				       "on the calendar within 100 years", sla_kind_name(c->kind), c->target);
	return rc;
}
