/* The event engine's state and lifecycle (see engine.h, engine_int.h and docs/internals/events.md):
 * start-up (silences, windows and rules at once, the alarm index in the background thread), the
 * background thread (lazy checkpoint of refreshed alarms, sweeper of expired ones, paging of alarms
 * whose silence or maintenance window ended, KPI flush, eviction), reload and stop. */
#include "events/engine_int.h"
#include "automation/automation.h"
#include "config.h"
#include "http/metrics.h"
#include "http/server.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The engine state; see engine_int.h for what evt__g.lock guards. */
struct evt__engine evt__g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.loaded_cv = PTHREAD_COND_INITIALIZER,
};

/* The alarm index is complete only once the start-up load (load_alarms(), in the background thread
 * while HTTP already answers) has finished. Every path that reads or changes alarms calls this with
 * evt__g.lock held and waits, so an event arriving during the load still deduplicates against the alarm
 * stored before the restart and joins its group's incident. */
void evt__wait_loaded(void)
{
	while (!evt__g.loaded)
		pthread_cond_wait(&evt__g.loaded_cv, &evt__g.lock);
}

/* ---- checkpoint and sweeper ---- */

struct ckpt_item {
	char account[16];
	uint64_t fp;
	int64_t starts_at, ends_at, updated_at;
	uint32_t count;
	uint8_t flags;
	char *annot;
};

struct ckpt_ctx {
	struct ckpt_item *v;
	size_t n;
};

static int ckpt_tx(struct store_conn *c, void *arg)
{
	struct ckpt_ctx *x = arg;
	int rc = 0;
	for (size_t i = 0; i < x->n && !rc; i++) {
		struct ckpt_item *it = &x->v[i];
		rc = store_exec(
		    c,
		    "UPDATE evt_alarms SET starts_at=$3, ends_at=$4, updated_at=$5, count=$6, flags=$7, "
		    "annotations=$8 WHERE account=$1 AND fp=$2",
		    SARGS(ST(it->account), SI((int64_t)it->fp), SI(it->starts_at), SI(it->ends_at),
		          SI(it->updated_at), SI(it->count), SI(it->flags), ST(it->annot)),
		    NULL);
	}
	return rc;
}

/* Dirty alarms per write. The writer runs one job at a time, so a state change (a new alarm that
 * opens an incident) queued behind a checkpoint waits for all of it: 20,000 rows per job made that
 * wait 20-60 ms under steady repeats; 512 rows keep it near a millisecond. */
#define CKPT_SLICE 512

/* Refreshes are written back every REFRESH_TICKS seconds. Prometheus resends every firing alert each
 * evaluation, so with 100,000 firing alarms a write-back every second rewrote 100,000 rows a second
 * and took a core's worth of the daemon's CPU; every ten seconds it is a tenth of that. A crash loses
 * at most these seconds of last-seen times and counts, never a state change (those are written before
 * the 2xx), and endsAt moves minutes ahead of a resend, so a refresh lost this way resolves nothing. */
#define REFRESH_TICKS 10

/* Writes back the alarms dirty when it starts. It takes the dirty list whole: alarms refreshed
 * again after their slice went out join a new list, for the next checkpoint. Taking slices off the
 * live list instead never finished under load (10,000 alarms resent every few milliseconds kept
 * refilling it), so the write-back ran without pause and took a fifth of the daemon's CPU. */
static void checkpoint(void)
{
	pthread_mutex_lock(&evt__g.lock);
	uint32_t *list = evt__g.dirty;
	size_t total = evt__g.ndirty;
	evt__g.dirty = NULL;
	evt__g.ndirty = evt__g.adirty = 0;
	pthread_mutex_unlock(&evt__g.lock);
	for (size_t done = 0; done < total;) {
		size_t n = total - done < CKPT_SLICE ? total - done : CKPT_SLICE;
		struct ckpt_item *v = calloc(n, sizeof(*v));
		size_t k = 0;
		pthread_mutex_lock(&evt__g.lock);
		for (size_t i = done; v && i < done + n; i++) {
			struct alarm *a = evt__slot_ptr(list[i]);
			if (!(a->flags & EVT_AF_DIRTY) || !a->labels)
				continue;
			a->flags &= (uint8_t)~EVT_AF_DIRTY;
			struct ckpt_item *it = &v[k++];
			snprintf(it->account, sizeof(it->account), "%s", evt__g.accts[a->acct]);
			it->fp = a->fp;
			it->starts_at = a->starts_at;
			it->ends_at = a->ends_at;
			it->updated_at = a->updated_at;
			it->count = a->count;
			it->flags = a->flags;
			it->annot = a->annot ? strdup(a->annot) : NULL;
		}
		pthread_mutex_unlock(&evt__g.lock);
		if (!v) {
			log_msg(LOG_ERROR, "events: checkpoint out of memory");
			/* Put the rest back: they are still marked dirty, so nothing is lost. */
			pthread_mutex_lock(&evt__g.lock);
			for (size_t i = done; i < total; i++) {
				struct alarm *a = evt__slot_ptr(list[i]);
				a->flags &= (uint8_t)~EVT_AF_DIRTY;
				evt__mark_dirty(list[i], a);
			}
			pthread_mutex_unlock(&evt__g.lock);
			break;
		}
		struct ckpt_ctx x = { v, k };
		if (k && store_write(evt__g.store, ckpt_tx, &x))
			log_msg(LOG_ERROR, "events: checkpoint of %zu alarms failed", k);
		else if (k)
			metrics_count("flywheel_events_writeback_rows_total",
				      "Alarm rows the events checkpoint wrote back (refreshed last-seen times and counts)",
				      (double)k);
		for (size_t i = 0; i < k; i++)
			free(v[i].annot);
		free(v);
		done += n;
	}
	free(list);
	metrics_count("flywheel_events_writeback_passes_total",
		      "Write-backs of refreshed alarms: each writes an alarm at most once", 1);
}

/* Index entries the sweeper and the eviction scan per hold of the lock. A scan of a million alarms
 * holds it for about 260 ms, during which every event waits; in slices of 32 Ki entries an event
 * waits a few milliseconds at most. */
#define SCAN_SLICE 32768

/* Lets events in between two slices of a scan (evt__g.lock held on entry and on return). Entries of
 * the index only move when it is resized (events only insert; removals happen in this thread), so
 * the scan may go on unless that happened: returns false then. */
static bool scan_pause(size_t icap)
{
	evt__lock_yield();
	return evt__g.icap == icap;
}

/* Firing alarms whose ends_at passed resolve on their own (Alertmanager's resolve timeout and
 * Prometheus' endsAt). */
static void sweep(void)
{
	int64_t now = time_now_ms();
	pthread_mutex_lock(&evt__g.lock);
	if (now < evt__g.next_expiry) {
		pthread_mutex_unlock(&evt__g.lock);
		return;
	}
	size_t cap = 0, n = 0, icap = evt__g.icap;
	struct evt_event *ev = NULL;
	int64_t next = INT64_MAX;
	/* Alarms that events refresh while the lock is released below lower this again. */
	evt__g.next_expiry = INT64_MAX;
	for (size_t i = 0; i < evt__g.icap; i++) {
		if (i % SCAN_SLICE == SCAN_SLICE - 1 && !scan_pause(icap)) {
			next = now; /* the index was resized: scan again at the next tick */
			break;
		}
		if (!evt__g.index[i])
			continue;
		struct alarm *a = evt__slot_ptr(evt__g.index[i]);
		if (a->state != ST_FIRING || !a->ends_at)
			continue;
		if (a->ends_at > now || n >= 4096) {
			if (a->ends_at < next)
				next = a->ends_at > now ? a->ends_at : now;
			continue;
		}
		if (n == cap) {
			struct evt_event *grown = realloc(ev, (cap ? cap * 2 : 64) * sizeof(*ev));
			if (!grown) {
				next = now; /* out of memory: end what was collected, the rest at the next tick */
				break;
			}
			ev = grown;
			cap = cap ? cap * 2 : 64;
		}
		memset(&ev[n], 0, sizeof(ev[n]));
		snprintf(ev[n].account, sizeof(ev[n].account), "%s", evt__g.accts[a->acct]);
		evt__unpack_labels(a->labels, &ev[n].labels);
		ev[n].ends_at = a->ends_at;
		ev[n].starts_at = a->starts_at;
		ev[n].severity = a->sev ? evt__sev_names[a->sev] : NULL;
		ev[n].source = evt__src_names[a->src];
		n++;
	}
	if (next < evt__g.next_expiry)
		evt__g.next_expiry = next;
	pthread_mutex_unlock(&evt__g.lock);
	if (!n)
		return;
	/* Not counted as raw events: undo the count evt_ingest adds. */
	evt_ingest(ev, n, "system", NULL);
	pthread_mutex_lock(&evt__g.lock);
	for (size_t i = 0; i < n; i++)
		evt__kpi_get(evt__acct_idx(ev[i].account), now)->events--;
	pthread_mutex_unlock(&evt__g.lock);
	for (size_t i = 0; i < n; i++)
		evt_labels_release(&ev[i].labels);
	free(ev);
}

/* Alarms a silence or maintenance window held back page once nothing holds them back any more,
 * as Alertmanager notifies an alert whose silence expired. The scan runs when a silence or window
 * may have ended (evt__g.next_unsuppress: the earliest end, or 0 after a change through the API
 * and after the start-up load, which covers windows that ended while the daemon was down). */

struct resume_item {
	uint32_t acct;
	uint64_t fp;
};

struct resume_ctx {
	const struct resume_item *v;
	size_t n;
};

static int resume_tx(struct store_conn *c, void *arg)
{
	const struct resume_ctx *x = arg;
	int rc = 0;
	int64_t now = time_now_ms();
	pthread_mutex_lock(&evt__g.lock);
	for (size_t i = 0; i < x->n && !rc; i++)
		rc = evt__resume_alarm(c, x->v[i].acct, x->v[i].fp, now, "system");
	pthread_mutex_unlock(&evt__g.lock);
	return rc;
}

/* Alarms per pass, and per write: each may open an incident, and a state change queued behind the
 * write waits for all of it (see CKPT_SLICE). */
#define RESUME_MAX 4096
#define RESUME_WRITE 128

static void resume_suppressed(void)
{
	int64_t now = time_now_ms();
	pthread_mutex_lock(&evt__g.lock);
	if (now < evt__g.next_unsuppress) {
		pthread_mutex_unlock(&evt__g.lock);
		return;
	}
	/* Changes through the API while the lock is released below set it to 0 again. */
	evt__g.next_unsuppress = evt__suppression_ends(now);
	size_t n = 0, icap = evt__g.icap;
	struct resume_item *v = NULL;
	for (size_t i = 0; i < evt__g.icap; i++) {
		if (i % SCAN_SLICE == SCAN_SLICE - 1 && !scan_pause(icap)) {
			evt__g.next_unsuppress = 0; /* the index was resized: scan again at the next tick */
			break;
		}
		if (!evt__g.index[i])
			continue;
		struct alarm *a = evt__slot_ptr(evt__g.index[i]);
		if (a->state != ST_FIRING || !(a->flags & (EVT_AF_SILENCED | EVT_AF_MAINT)) ||
		    (a->ends_at && a->ends_at <= now))
			continue;
		/* Those still held back by either stay out: they would be found on every pass. */
		if (evt__silenced_by(a->acct, a->labels, now, NULL) ||
		    evt__in_maintenance(a->acct, a->labels, now))
			continue;
		if (n == RESUME_MAX) {
			evt__g.next_unsuppress = 0; /* the rest at the next tick */
			break;
		}
		if (!v && !(v = malloc(RESUME_MAX * sizeof(*v)))) {
			evt__g.next_unsuppress = 0;
			break;
		}
		v[n].acct = a->acct;
		v[n].fp = a->fp;
		n++;
	}
	pthread_mutex_unlock(&evt__g.lock);
	for (size_t i = 0; i < n; i += RESUME_WRITE) {
		struct resume_ctx x = { v + i, n - i < RESUME_WRITE ? n - i : RESUME_WRITE };
		int rc = store_write(evt__g.store, resume_tx, &x);
		if (rc)
			log_msg(LOG_ERROR, "events: could not page %zu alarms whose suppression ended (%s)",
			        x.n, fw_strerror(rc));
	}
	free(v);
}

/* Resolved alarms are kept in memory for a day (dedup, flap history), then dropped. */
static void evict(void)
{
	int64_t cutoff = time_now_ms() - 86400000;
	pthread_mutex_lock(&evt__g.lock);
	size_t icap = evt__g.icap;
	for (size_t i = 0; i < evt__g.icap; i++) {
		if (i % SCAN_SLICE == SCAN_SLICE - 1 && !scan_pause(icap))
			break; /* resized: the rest waits for the next round */
		if (!evt__g.index[i])
			continue;
		struct alarm *a = evt__slot_ptr(evt__g.index[i]);
		if (a->state == ST_RESOLVED && a->updated_at < cutoff && !(a->flags & EVT_AF_DIRTY)) {
			evt__alarm_remove(a->acct, a->fp);
			i--; /* the backward shift may have moved another entry here */
		}
	}
	pthread_mutex_unlock(&evt__g.lock);
}

static int load_alarms(struct store_conn *c);

/* The start-up load, first thing in the background thread. A store that cannot be read at start
 * is a start-up failure like any other. */
static void load_in_background(void)
{
	int64_t t0 = time_now_ms();
	/* Tests widen the window in which requests arrive during the load (t2009). */
	const char *delay = getenv("FLYWHEEL_EVENTS_LOAD_DELAY_MS");
	if (delay && *delay) {
		long ms = strtol(delay, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		if (ms > 0)
			nanosleep(&ts, NULL);
	}
	int rc = load_alarms(store_reader(evt__g.store));
	if (rc)
		fatal("events: cannot load the alarms from the store (%s)", fw_strerror(rc));
	pthread_mutex_lock(&evt__g.lock);
	evt__g.loaded = true;
	pthread_cond_broadcast(&evt__g.loaded_cv);
	log_msg(LOG_INFO, "events: %zu alarms, %zu silences, %zu maintenance windows loaded in %lld ms",
	        evt__g.nalarms, evt__g.nsils, evt__g.nwins, (long long)(time_now_ms() - t0));
	pthread_mutex_unlock(&evt__g.lock);
}

static void *bg_main(void *arg)
{
	(void)arg;
	int ticks = 0;
	load_in_background();
	pthread_mutex_lock(&evt__g.lock);
	while (!evt__g.stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&evt__g.wake, &evt__g.lock, &ts);
		if (evt__g.stopping)
			break;
		pthread_mutex_unlock(&evt__g.lock);
		if (++ticks % REFRESH_TICKS == 0)
			checkpoint();
		sweep();
		resume_suppressed();
		evt__kpi_flush();
		if (ticks % 600 == 0)
			evict();
		pthread_mutex_lock(&evt__g.lock);
	}
	pthread_mutex_unlock(&evt__g.lock);
	return NULL;
}

/* ---- start-up ---- */

/* Copies one row's labels into the load arena in packed form. */
static char *load_labels(const char *json)
{
	if (!json)
		return NULL;
	size_t len = strlen(json);
	char *d = evt__arena_alloc(len + 2);
	if (d) {
		size_t used = evt__packed_from_json_fast(json, d);
		if (used) {
			evt__arena_trim(d, used);
			return d;
		}
		evt__arena_trim(d, 0);
	}
	char *pk = evt__packed_from_json_text(json);
	char *out = pk ? evt__arena_copy(pk, evt__packed_len(pk)) : NULL;
	free(pk);
	return out;
}

/* Loads firing alarms and those resolved within a day, and rebuilds the groups from them. Runs in
 * the background thread; takes evt__g.lock for a slice of rows at a time, so silences, rules and windows
 * stay usable meanwhile (alarm paths wait in evt__wait_loaded()). */
static int load_alarms(struct store_conn *c)
{
	struct store_rows *rows;
	int64_t cutoff = time_now_ms() - 86400000, total = 0;
	/* An upper bound (resolved rows older than the cutoff are counted too), cheap on SQLite's
	 * primary-key index: sizing the index once avoids rehashing a million records. */
	if (!store_query_int(c, "SELECT COUNT(*) FROM evt_alarms", SNOARGS, &total) && total > 0) {
		pthread_mutex_lock(&evt__g.lock);
		evt__index_reserve((size_t)total);
		pthread_mutex_unlock(&evt__g.lock);
	}
	int rc = store_query(
	    c,
	    "SELECT account, fp, state, flags, severity, source, labels, annotations, starts_at, ends_at, "
	    "updated_at, first_seen, count, incident, grp, rule, problem FROM evt_alarms "
	    "WHERE state = 1 OR updated_at > $1",
	    SARGS(SI(cutoff)), &rows);
	if (rc)
		return rc;
	char last_acct[16] = "";
	uint32_t acct = 0;
	size_t n = 0;
	pthread_mutex_lock(&evt__g.lock);
	while ((rc = store_next(rows)) == 1) {
		if (++n % 8192 == 0) {
			pthread_mutex_unlock(&evt__g.lock);
			pthread_mutex_lock(&evt__g.lock);
		}
		const char *an = store_text(rows, 0);
		if (strcmp(an, last_acct)) {
			acct = evt__acct_idx(an);
			snprintf(last_acct, sizeof(last_acct), "%s", an);
		}
		struct alarm *a = evt__alarm_add(acct, (uint64_t)store_int(rows, 1), NULL);
		if (!a) {
			rc = FW_ENOMEM;
			break;
		}
		a->state = (uint8_t)store_int(rows, 2);
		a->flags = (uint8_t)store_int(rows, 3);
		a->sev = evt__name_idx(evt__sev_names, store_text(rows, 4));
		a->src = evt__name_idx(evt__src_names, store_text(rows, 5));
		a->labels = load_labels(store_text(rows, 6));
		const char *ann = store_text(rows, 7);
		a->annot = ann ? evt__arena_copy(ann, strlen(ann)) : NULL;
		a->annot_h = evt__annot_hash(a->annot);
		a->starts_at = store_int(rows, 8);
		a->ends_at = store_int(rows, 9);
		a->updated_at = store_int(rows, 10);
		a->first_seen = store_int(rows, 11);
		a->count = (uint32_t)store_int(rows, 12);
		a->incident = (uint32_t)store_int(rows, 13);
		a->grp = (uint64_t)store_int(rows, 14);
		a->problem = (uint32_t)store_int(rows, 16);
		evt__note_expiry(a);
		if (!a->labels) {
			rc = FW_ENOMEM;
			break;
		}
		if (a->grp && a->incident) {
			struct group *gr = evt__group_get(acct, a->grp, true);
			if (!gr) {
				rc = FW_ENOMEM;
				break;
			}
			if (a->incident >= gr->incident) {
				if (a->incident > gr->incident)
					gr->firing = 0;
				gr->incident = a->incident;
				const char *rn = store_text(rows, 15);
				snprintf(gr->rule, sizeof(gr->rule), "%s", rn ? rn : "default");
				if (a->state == ST_FIRING)
					gr->firing++;
				else if (a->ends_at > gr->resolved_at)
					gr->resolved_at = a->ends_at;
			}
		}
	}
	pthread_mutex_unlock(&evt__g.lock);
	store_rows_free(rows);
	return rc < 0 ? rc : 0;
}

static int load_silences(struct store_conn *c)
{
	struct store_rows *rows;
	int rc = store_query(
	    c,
	    "SELECT id, account, matchers, starts_at, ends_at, updated_at, created_by, comment FROM "
	    "evt_silences WHERE ends_at > $1",
	    SARGS(SI(time_now_ms() - 5 * 86400000LL)), &rows);
	if (rc)
		return rc;
	while (store_next(rows) == 1) {
		struct silence s = { 0 };
		snprintf(s.id, sizeof(s.id), "%s", store_text(rows, 0));
		s.acct = evt__acct_idx(store_text(rows, 1));
		evt_matchers_init(&s.m);
		json_error_t je;
		json_t *m = json_loads(store_text(rows, 2), 0, &je);
		evt_matchers_from_json(&s.m, m, NULL);
		json_decref(m);
		s.starts_at = store_int(rows, 3);
		s.ends_at = store_int(rows, 4);
		s.updated_at = store_int(rows, 5);
		s.created_by = strdup(store_text(rows, 6) ? store_text(rows, 6) : "");
		s.comment = strdup(store_text(rows, 7) ? store_text(rows, 7) : "");
		if (evt__g.nsils == evt__g.asils) {
			evt__g.asils = evt__g.asils ? evt__g.asils * 2 : 16;
			evt__g.sils = realloc(evt__g.sils, evt__g.asils * sizeof(*evt__g.sils));
		}
		evt__g.sils[evt__g.nsils++] = s;
	}
	store_rows_free(rows);
	return 0;
}

static int load_windows(struct store_conn *c)
{
	struct store_rows *rows;
	int rc = store_query(c, "SELECT id, account, doc FROM evt_windows", SNOARGS, &rows);
	if (rc)
		return rc;
	while (store_next(rows) == 1) {
		struct mwindow w = { 0 };
		json_error_t je;
		w.doc = json_loads(store_text(rows, 2), 0, &je);
		if (!w.doc || evt__win_parse(&w, w.doc, NULL)) {
			json_decref(w.doc);
			evt_matchers_release(&w.m);
			continue;
		}
		snprintf(w.id, sizeof(w.id), "%s", store_text(rows, 0));
		w.acct = evt__acct_idx(store_text(rows, 1));
		if (evt__g.nwins == evt__g.awins) {
			evt__g.awins = evt__g.awins ? evt__g.awins * 2 : 16;
			evt__g.wins = realloc(evt__g.wins, evt__g.awins * sizeof(*evt__g.wins));
		}
		evt__g.wins[evt__g.nwins++] = w;
	}
	store_rows_free(rows);
	return 0;
}

static void rules_dir_of(const struct config *cfg, char *out, size_t cap)
{
	const char *env = getenv("FLYWHEEL_RULES_DIR");
	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return;
	}
	/* content.rules_dir, or rules.d beside the config file; without either, rules.d next to the
	 * data directory (<data dir>/../rules.d). */
	config_content_dir(cfg, "rules.d", out, cap);
	if (!out[0])
		snprintf(out, cap, "%s/../rules.d", cfg->data_dir);
}

int evt_engine_start(struct server *s)
{
	evt__g.store = s->store;
	evt__g.srv = s;
	evt__g.next_expiry = INT64_MAX; /* lowered by the load for every firing alarm with an end */
	/* The first pass after the load pages alarms whose silence or window ended while the daemon
	 * was down (the background thread runs it only once the load has finished). */
	evt__g.next_unsuppress = 0;
	evt_rule_default(&evt__g.dflt);
	struct store_conn *c = store_reader(s->store);
	int rc = load_silences(c);
	if (!rc)
		rc = load_windows(c);
	if (rc)
		return rc;
	/* The alarms load in the background thread (load_in_background). */
	evt__g.loaded = false;
	rules_dir_of(s->cfg, evt__g.rules_dir, sizeof(evt__g.rules_dir));
	if (evt_rules_reload_dir(evt__g.rules_dir) == FW_ESTORE)
		return FW_ESTORE;
	rb_set_alarm_resolver(evt__resolve_for_automation);
	evt__g.stopping = false;
	if (pthread_create(&evt__g.thread, NULL, bg_main, NULL))
		return FW_EIO;
	evt__g.started = true;
	return 0;
}

void evt_engine_reload(struct server *s)
{
	(void)s;
	evt_rules_reload_dir(evt__g.rules_dir);
}

void evt_engine_stop(void)
{
	if (!evt__g.started)
		return;
	pthread_mutex_lock(&evt__g.lock);
	evt__g.stopping = true;
	pthread_cond_signal(&evt__g.wake);
	pthread_mutex_unlock(&evt__g.lock);
	pthread_join(evt__g.thread, NULL);
	evt__g.started = false;
	checkpoint();
	evt__kpi_flush();
}
