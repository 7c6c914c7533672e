#ifndef FW_SLA_CLOCK_H
#define FW_SLA_CLOCK_H
/* SLA clocks: a budget of business seconds (a response or resolution target under a calendar) that
 * runs from a start instant, stands still while paused (ticket waiting for the customer) and stops
 * when the target is met. Evaluating a clock at "now" gives elapsed, paused and remaining business
 * time, the due instant, warnings fired and the next event instant that a scheduler arms.
 *
 * Instants are inclusive: a warning or breach "fires" at its instant, so at now == due the clock is
 * breached, and a clock stopped exactly at its due instant is breached too. Pure logic, no I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct fw_error;
struct sla_calendar;

/* "No such instant": an open pause's end, a running clock's stop, an unknown due date, no next event. */
#define SLA_NONE ((time_t)-1)
#define SLA_MAX_WARNINGS 8
#define SLA_MAX_PAUSES 4096

enum sla_kind {
	SLA_RESPONSE,
	SLA_RESOLUTION,
};

struct sla_pause {
	time_t start;
	time_t end; /* SLA_NONE while open */
};

/* One clock. Fields are readable; change them through the functions below, which keep the invariants:
 * pauses are in order, do not overlap, start at or after `start`, and only the last may be open;
 * `stop` (SLA_NONE while running) is at or after `start` and after every closed pause. */
struct sla_clock {
	const struct sla_calendar *cal; /* borrowed: must outlive the clock */
	enum sla_kind kind;
	long target; /* business seconds, > 0 */
	size_t n_warnings;
	double warnings[SLA_MAX_WARNINGS]; /* ascending fractions of target, each in (0, 1) */
	time_t start;
	time_t stop;
	struct sla_pause *pauses; /* owned; freed by sla_clock_release() */
	size_t n_pauses, cap_pauses;
};

/* The state of a clock at an instant. */
struct sla_status {
	long elapsed;   /* business seconds counted toward the target in [start, min(stop, now)) */
	long paused;    /* business seconds in the same range spent inside pauses */
	long remaining; /* target - elapsed; negative when overdue */
	bool running;   /* started, not stopped and not paused at now */
	bool paused_now;
	bool stopped;
	bool breached; /* the due instant was reached before the clock stopped (or by now) */
	bool met;      /* stopped without breach */
	/* The instant the target runs out if no further pause happens; SLA_NONE when it depends on when an
	 * open pause ends. For a stopped clock: when it would have run out had it kept running. */
	time_t due;
	size_t n_warnings;
	time_t warning_at[SLA_MAX_WARNINGS]; /* SLA_NONE when it depends on an open pause */
	unsigned warned;                     /* bit i: warnings[i] has fired */
	/* The first warning or breach instant strictly after now, for the scheduler's timer heap;
	 * SLA_NONE when nothing is left to arm (stopped, paused before it, or everything fired).
	 * next_warning is its index into warnings[], or -1 when it is the breach. */
	time_t next_event;
	int next_warning;
};

/* Sets up a running clock with no warnings and no pauses. Returns 0, or FW_EINVAL (422, e filled) when
 * target is not positive. Nothing is allocated until the first pause. */
int sla_clock_init(struct sla_clock *c, const struct sla_calendar *cal, enum sla_kind kind, long target,
		   time_t start, struct fw_error *e);

/* Frees the pauses; the clock must be initialized again before reuse. */
void sla_clock_release(struct sla_clock *c);

/* Replaces the warning fractions (copied; any order, each in (0, 1), no duplicates, at most
 * SLA_MAX_WARNINGS). Returns 0 or FW_EINVAL (422). */
int sla_clock_set_warnings(struct sla_clock *c, const double *fractions, size_t n, struct fw_error *e);

/* Opens a pause at `at`. 409 when already paused or stopped; 422 when at is before the start or
 * before the end of the previous pause. Returns 0 or a negative FW_E* code. */
int sla_clock_pause(struct sla_clock *c, time_t at, struct fw_error *e);

/* Closes the open pause at `at`. 409 when not paused; 422 when at is before the pause's start. */
int sla_clock_resume(struct sla_clock *c, time_t at, struct fw_error *e);

/* Stops the clock (target met or ticket closed) at `at`; an open pause ends there too.
 * 409 when already stopped; 422 when at is before the start or the last pause's start. */
int sla_clock_stop(struct sla_clock *c, time_t at, struct fw_error *e);

/* Evaluates the clock at now into *out. Returns 0, or FW_EINVAL when the calendar cannot be evaluated
 * (e.g. a due date more than 100 years away). */
int sla_clock_eval(const struct sla_clock *c, time_t now, struct sla_status *out, struct fw_error *e);

/* "response" / "resolution". */
const char *sla_kind_name(enum sla_kind kind);

#endif
