/* Ingest (engine.h: evt_ingest): fingerprints, dedup of repeats in memory, and the state-change
 * pipeline that runs in the writer (apply: suppression, classification, grouping, resolution);
 * automation's resolver; the alarm listings. */
#include "events/engine_int.h"
#include "automation/automation.h"
#include "store/store.h"
#include "tickets/tkt_store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	struct evt_event *ev;
	struct evt_result *res;
	uint64_t fp;
	char *packed;
	char *annot;
};

static void set_result(struct evt_result *res, const struct alarm *a, const char *state, const char *supp)
{
	if (!res)
		return;
	snprintf(res->state, sizeof(res->state), "%s", state);
	if (a && a->incident)
		evt__inc_id(a->incident, res->incident);
	else
		res->incident[0] = '\0';
	snprintf(res->suppressed, sizeof(res->suppressed), "%s", supp ? supp : "");
}

/* Refreshes a firing alarm with a repeat, following Alertmanager's merge rules. annot (may be NULL)
 * is copied only when it differs from the alarm's annotations. */
static void refresh(struct alarm *a, const struct evt_event *ev, const char *annot, int64_t now)
{
	int64_t starts = ev->starts_at ? ev->starts_at : now;
	if (starts < a->starts_at)
		a->starts_at = starts;
	if (!((a->flags & EVT_AF_TIMEOUT) == 0 && a->ends_at > ev->ends_at && ev->timeout))
		a->ends_at = ev->ends_at;
	if (ev->timeout && a->ends_at == ev->ends_at)
		a->flags |= EVT_AF_TIMEOUT;
	else if (!ev->timeout)
		a->flags &= (uint8_t)~EVT_AF_TIMEOUT;
	a->updated_at = now;
	a->count++;
	char *copy;
	if (annot && a->annot_h != evt__annot_hash(annot) && (copy = strdup(annot)))
		evt__alarm_set_annot(a, copy);
}

static bool ev_firing(const struct evt_event *ev, int64_t now)
{
	return !(ev->ends_at && ev->ends_at <= now);
}

/* Suppression flags, one of which a firing alarm carries while it is held back. */
#define SUPP_FLAGS (EVT_AF_NONIMPACT | EVT_AF_FLAPPING | EVT_AF_SILENCED | EVT_AF_MAINT | EVT_AF_INHIBITED)

/* Why firing alarm a is held back now, in the order of docs/internals/events.md, with its flag set
 * in a->flags; NULL when nothing holds it back. The caller cleared SUPP_FLAGS. */
static const char *suppress_reason(struct alarm *a, const struct evt_rule *r, int64_t now)
{
	if (r->action == EVT_ACT_NON_IMPACTING) {
		a->flags |= EVT_AF_NONIMPACT;
		return "non_impacting";
	}
	if (a->hist && evt_flap_is_flapping(&a->hist->changes, (time_t)(now / 1000),
					    (time_t)(r->flap_window_ms / 1000), r->flap_threshold)) {
		a->flags |= EVT_AF_FLAPPING;
		return "flapping";
	}
	if (evt__silenced_by(a->acct, a->labels, now, NULL)) {
		a->flags |= EVT_AF_SILENCED;
		return "silenced";
	}
	if (evt__in_maintenance(a->acct, a->labels, now)) {
		a->flags |= EVT_AF_MAINT;
		return "maintenance";
	}
	if (evt__inhibited_by(a->acct, a->fp, a->labels, NULL)) {
		a->flags |= EVT_AF_INHIBITED;
		return "inhibited";
	}
	return NULL;
}

/* What a firing alarm that nothing holds back goes through: automation, then its group's incident
 * (joined, reopened or opened). In the writer, evt__g.lock held.
 *
 * Automation sees every alarm that starts firing and is not suppressed (a silenced, flapping or
 * maintained alarm is not acted on). A remediation that asked to hold the incident back keeps
 * this alarm out of incidents; automation opens one if the remediation fails, and resolves the
 * alarm through evt__resolve_for_automation() if it succeeds. */
static int page(struct store_conn *c, struct alarm *a, const struct evt_rule *r, bool was_state,
		struct kpi *k, int64_t now, const char *actor)
{
	struct rb_alarm_result ar = { 0 };
	json_t *hook = evt__alarm_hook_json(a);
	int rc = rb_on_alarm(c, hook, &ar);
	if (!rc && ar.outcome == RB_ALARM_REMEDIATING && ar.prevent_incident) {
		/* Left over from an earlier episode: resolving must not count this alarm out of a
		 * group it never joined this time. */
		a->incident = 0;
	} else if (!rc && r->action == EVT_ACT_INCIDENT) {
		rc = evt__group_alarm(c, a, r, hook, was_state, k, now, actor);
	}
	json_decref(hook);
	return rc;
}

/* Applies one state-changing event. Called with evt__g.lock held, inside the writer transaction. */
static int apply(struct store_conn *c, struct pending *p, int64_t now, const char *actor)
{
	struct evt_event *ev = p->ev;
	uint32_t acct = evt__acct_idx(ev->account), slot = 0;
	struct alarm *a = evt__alarm_find(acct, p->fp, &slot);
	bool firing = ev_firing(ev, now);
	int rc = 0;
	struct kpi *k = evt__kpi_get(acct, now);

	if (ev->acknowledge) {
		if (a && a->state == ST_FIRING) {
			a->flags |= EVT_AF_ACKED;
			if (a->incident)
				rc = evt__incident_set_status(c, a->incident, "acknowledged", actor,
				                              "acknowledged by the event source");
			if (!rc)
				rc = evt__alarm_row_write(c, a, NULL);
			set_result(p->res, a, "firing", NULL);
		} else {
			set_result(p->res, NULL, "dropped", NULL);
		}
		return rc;
	}
	if (!a && !firing) {
		set_result(p->res, NULL, ev->drop_unknown_resolve ? "dropped" : "resolved", NULL);
		return 0;
	}
	if (a && a->state == ST_FIRING && firing) {
		refresh(a, ev, p->annot, now);
		evt__mark_dirty(slot, a);
		set_result(p->res, a, "firing", NULL);
		return 0;
	}
	if (a && a->state == ST_RESOLVED && !firing) {
		a->updated_at = now;
		a->count++;
		evt__mark_dirty(slot, a);
		set_result(p->res, a, "resolved", NULL);
		return 0;
	}

	if (!a) {
		a = evt__alarm_add(acct, p->fp, &slot);
		if (!a)
			return FW_ENOMEM;
		a->labels = p->packed;
		p->packed = NULL;
		a->first_seen = now;
		a->starts_at = ev->starts_at ? ev->starts_at : now;
		k->alarms++;
	} else if (ev->starts_at && ev->starts_at > a->ends_at) {
		a->starts_at = ev->starts_at; /* a new episode of a resolved alarm */
	} else if (!ev->starts_at) {
		a->starts_at = now;
	}
	a->sev = evt__name_idx(evt__sev_names, ev->severity);
	a->src = evt__name_idx(evt__src_names, ev->source);
	const struct evt_rule *r = evt__rule_for_sev(acct, a->labels, a->sev);
	if (p->annot && a->annot_h != evt__annot_hash(p->annot)) {
		evt__alarm_set_annot(a, p->annot);
		p->annot = NULL;
	}
	a->ends_at = ev->ends_at;
	a->updated_at = now;
	a->count++;
	a->flags = (uint8_t)((a->flags & EVT_AF_DIRTY) | (ev->timeout ? EVT_AF_TIMEOUT : 0));
	bool was_state = a->state != ST_NONE;

	if (!firing) {
		/* firing -> resolved */
		a->state = ST_RESOLVED;
		if (!a->ends_at || a->ends_at > now)
			a->ends_at = now;
		if (!a->hist)
			a->hist = calloc(1, sizeof(*a->hist));
		if (a->hist)
			evt_flap_record(&a->hist->changes, (time_t)(now / 1000));
		struct group *gr = a->grp ? evt__group_get(acct, a->grp, false) : NULL;
		if (a->incident) {
			char id[24];
			evt__inc_id(a->incident, id);
			json_t *body = evt__alarm_entry(a, "resolved");
			rc = tkt_timeline_add(c, id, actor, "alarm", "internal", body);
			json_decref(body);
			if (!rc && gr && gr->incident == a->incident && gr->firing > 0 && --gr->firing == 0) {
				gr->resolved_at = now;
				if (evt__rule_by_name(gr->rule)->auto_resolve)
					rc = evt__incident_set_status(c, a->incident, "resolved", actor,
								 "every alarm of the group resolved");
			}
		}
		if (!rc)
			rc = evt__alarm_row_write(c, a, gr ? gr->rule : r->name);
		set_result(p->res, a, "resolved", NULL);
		return rc;
	}

	/* new alarm, or resolved -> firing */
	a->state = ST_FIRING;
	const char *supp = NULL;
	if (was_state) {
		if (!a->hist)
			a->hist = calloc(1, sizeof(*a->hist));
		if (a->hist)
			evt_flap_record(&a->hist->changes, (time_t)(now / 1000));
	}
	if (!a->hist && r->problem_threshold)
		a->hist = calloc(1, sizeof(*a->hist));
	if (a->hist)
		evt_flap_record(&a->hist->firings, (time_t)(now / 1000));

	supp = suppress_reason(a, r, now);
	if (supp) {
		k->suppressed++;
		/* A held-back episode belongs to no incident: the previous episode's link would make its
		 * resolution count against that incident's group. page() links it if it pages later. */
		a->incident = 0;
	}

	if (r->problem_threshold && a->hist && !(a->flags & EVT_AF_NONIMPACT) &&
	    evt_flap_count(&a->hist->firings, (time_t)(now / 1000), (time_t)(r->problem_window_ms / 1000)) >=
		    r->problem_threshold)
		rc = evt__problem_open(c, a, r, actor);

	if (!rc && !supp)
		rc = page(c, a, r, was_state, k, now, actor);
	if (!rc)
		rc = evt__alarm_row_write(c, a, r->name);
	evt__note_expiry(a);
	set_result(p->res, a, "firing", supp);
	return rc;
}

int evt__resume_alarm(struct store_conn *c, uint32_t acct, uint64_t fp, int64_t now, const char *actor)
{
	struct alarm *a = evt__alarm_find(acct, fp, NULL);
	if (!a || a->state != ST_FIRING || (a->ends_at && a->ends_at <= now) ||
	    !(a->flags & (EVT_AF_SILENCED | EVT_AF_MAINT)))
		return 0;
	const struct evt_rule *r = evt__rule_for_sev(acct, a->labels, a->sev);
	a->flags &= (uint8_t)~SUPP_FLAGS;
	int rc = 0;
	/* Still held back (by another silence, a window, a source alarm, or a rule changed meanwhile):
	 * only its flag changes. No problem check either way: the firing that counts for it was
	 * counted when the alarm started firing. */
	if (!suppress_reason(a, r, now))
		rc = page(c, a, r, false, evt__kpi_get(acct, now), now, actor);
	if (!rc)
		rc = evt__alarm_row_write(c, a, r->name);
	return rc;
}

struct ingest_ctx {
	struct pending *p;
	size_t n;
	const char *actor;
};

static int ingest_tx(struct store_conn *c, void *arg)
{
	struct ingest_ctx *x = arg;
	int rc = 0;
	int64_t now = time_now_ms();
	evt__lock();
	for (size_t i = 0; i < x->n && !rc; i++)
		rc = apply(c, &x->p[i], now, x->actor);
	pthread_mutex_unlock(&evt__g.lock);
	return rc;
}

/* Registered with automation (rb_set_alarm_resolver): resolves the alarm (account, fingerprint) in
 * automation's own write, exactly as a "resolved" event would (row, timeline, the group's
 * auto-resolve). Memory changes inside the write, as for events (docs/internals/events.md). An alarm
 * that is unknown or no longer firing is left alone and counts as done: automation must not roll
 * back its finished execution for an alarm that resolved meanwhile. */
int evt__resolve_for_automation(struct store_conn *c, const char *account, const char *fingerprint,
				  const char *actor)
{
	uint64_t fp = 0;
	if (!account || !fingerprint || evt_fingerprint_parse(fingerprint, &fp))
		return 0;
	int rc = 0;
	int64_t now = time_now_ms();
	pthread_mutex_lock(&evt__g.lock);
	evt__wait_loaded();
	int ai = evt__acct_find(account);
	struct alarm *a = ai < 0 ? NULL : evt__alarm_find((uint32_t)ai, fp, NULL);
	if (a && a->state == ST_FIRING) {
		struct evt_event ev = { 0 };
		snprintf(ev.account, sizeof(ev.account), "%s", account);
		ev.source = evt__src_names[a->src];
		ev.severity = a->sev ? evt__sev_names[a->sev] : NULL;
		ev.starts_at = a->starts_at;
		ev.ends_at = now;
		struct pending p = { .ev = &ev, .fp = fp };
		rc = apply(c, &p, now, actor);
		free(p.packed);
		free(p.annot);
	}
	pthread_mutex_unlock(&evt__g.lock);
	return rc;
}

static char *annot_text(const json_t *an)
{
	if (!an || !json_is_object(an) || !json_object_size(an))
		return NULL;
	return json_dumps(an, JSON_COMPACT | JSON_SORT_KEYS);
}

int evt_ingest(struct evt_event *ev, size_t n, const char *actor, struct evt_result *res)
{
	struct pending *work = calloc(n ? n : 1, sizeof(*work));
	uint64_t *fps = malloc((n ? n : 1) * sizeof(*fps));
	uint32_t *accts = malloc((n ? n : 1) * sizeof(*accts));
	if (!work || !fps || !accts) {
		free(work);
		free(fps);
		free(accts);
		return FW_ENOMEM;
	}
	size_t nt = 0;
	int rc = 0;
	int64_t now = time_now_ms();
	for (size_t i = 0; i < n; i++)
		fps[i] = evt_labels_fingerprint(&ev[i].labels);
	evt__lock();
	evt__wait_loaded();
	for (size_t i = 0; i < n; i++)
		accts[i] = evt__acct_idx(ev[i].account);
	evt__alarm_prefetch(accts, fps, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t fp = fps[i];
		if (res) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].fp = fp;
		}
		uint32_t acct = accts[i], slot = 0;
		evt__kpi_get(acct, now)->events++;
		struct alarm *a = evt__alarm_find(acct, fp, &slot);
		char *an_own = ev[i].annot_json ? NULL : annot_text(ev[i].annotations);
		const char *an = ev[i].annot_json ? ev[i].annot_json : an_own;
		/* The hot path: a repeat of a firing alarm (or of a resolved one) changes no state. Its
		 * annotations are copied only when they changed. */
		if (a && !ev[i].acknowledge &&
		    a->state == (ev_firing(&ev[i], now) ? ST_FIRING : ST_RESOLVED)) {
			if (a->state == ST_FIRING) {
				refresh(a, &ev[i], an, now);
			} else {
				a->updated_at = now;
				a->count++;
			}
			free(an_own);
			evt__mark_dirty(slot, a);
			set_result(res ? &res[i] : NULL, a, a->state == ST_FIRING ? "firing" : "resolved",
			           NULL);
			continue;
		}
		work[nt].ev = &ev[i];
		work[nt].res = res ? &res[i] : NULL;
		work[nt].fp = fp;
		work[nt].annot = an_own ? an_own : an ? strdup(an) : NULL;
		work[nt].packed = a ? NULL : evt__pack_labels(&ev[i].labels);
		nt++;
	}
	pthread_mutex_unlock(&evt__g.lock);
	for (size_t i = 0; i < nt; i++)
		if (!work[i].packed && !work[i].ev->acknowledge)
			work[i].packed = evt__pack_labels(&work[i].ev->labels);
	if (nt) {
		struct ingest_ctx x = { work, nt, actor };
		rc = store_write(evt__g.store, ingest_tx, &x);
		if (rc)
			log_msg(LOG_ERROR, "events: could not store %zu state changes (%s)", nt,
			        fw_strerror(rc));
	}
	for (size_t i = 0; i < nt; i++) {
		free(work[i].packed);
		free(work[i].annot);
	}
	free(work);
	free(fps);
	free(accts);
	return rc;
}

/* ---- reading ---- */

static void view_fill(struct evt_alarm_view *v, const struct alarm *a, int64_t now)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->account, sizeof(v->account), "%s", evt__g.accts[a->acct]);
	v->fp = a->fp;
	v->firing = a->state == ST_FIRING && !(a->ends_at && a->ends_at <= now);
	v->flags = a->flags & ~EVT_AF_DIRTY;
	snprintf(v->severity, sizeof(v->severity), "%s", evt__sev_names[a->sev]);
	snprintf(v->source, sizeof(v->source), "%s", evt__src_names[a->src]);
	evt__unpack_labels(a->labels, &v->labels);
	json_error_t je;
	v->annotations = a->annot ? json_loads(a->annot, 0, &je) : NULL;
	if (!v->annotations)
		v->annotations = json_object();
	v->starts_at = a->starts_at;
	v->ends_at = a->ends_at;
	v->updated_at = a->updated_at;
	v->first_seen = a->first_seen;
	v->count = a->count;
	v->incident = a->incident;
	struct group *gr = a->grp ? evt__group_get(a->acct, a->grp, false) : NULL;
	snprintf(v->rule, sizeof(v->rule), "%s",
	         gr ? gr->rule : evt__rule_for_sev(a->acct, a->labels, a->sev)->name);
	v->silenced_by = json_array();
	v->inhibited_by = json_array();
	if (v->firing) {
		evt__silenced_by(a->acct, a->labels, now, v->silenced_by);
		evt__inhibited_by(a->acct, a->fp, a->labels, v->inhibited_by);
		v->in_maintenance = evt__in_maintenance(a->acct, a->labels, now);
	}
}

static int view_cmp(const void *x, const void *y)
{
	const struct evt_alarm_view *a = x, *b = y;
	if (a->fp != b->fp)
		return a->fp < b->fp ? -1 : 1;
	return strcmp(a->account, b->account);
}

/* Alarms per hold of the lock while listing. With a million alarms, copying every view in one hold
 * took seconds, and every event arriving meanwhile waited for it. The listing now picks the matching
 * alarms in slices of the index and copies their views in slices too, letting events in between. */
#define LIST_SLICE 16384

/* Views copied per hold: a view costs about 20 us (its annotations are parsed, its silences and
 * inhibitions looked up), so 256 keep a hold near 5 ms. */
#define VIEW_SLICE 256

struct pick {
	uint32_t slot, acct;
	uint64_t fp;
};

/* The matching alarms' slots, scanning the index in slices. A resize of the index between two
 * slices moves every entry, so the scan starts over then. An alarm inserted meanwhile may or may not
 * be listed; one that eviction moves across the scan position is missed (it is resolved and old). */
static struct pick *pick_alarms(const bool *vis, size_t nvis, const struct evt_matchers *ms,
				bool only_active, size_t *n)
{
	size_t cap = 64, cnt = 0, icap = evt__g.icap;
	struct pick *p = malloc(cap * sizeof(*p));
	*n = 0;
	if (!p)
		return NULL;
	int64_t now = time_now_ms();
	for (size_t i = 0; i < evt__g.icap; i++) {
		if (i && i % LIST_SLICE == 0) {
			evt__lock_yield();
			now = time_now_ms();
			if (evt__g.icap != icap) {
				icap = evt__g.icap;
				cnt = 0;
				i = (size_t)-1; /* the loop's i++ makes it 0 */
				continue;
			}
		}
		if (!evt__g.index[i])
			continue;
		struct alarm *a = evt__slot_ptr(evt__g.index[i]);
		if (a->acct >= nvis || !vis[a->acct])
			continue;
		if (only_active && (a->state != ST_FIRING || (a->ends_at && a->ends_at <= now)))
			continue;
		if (ms && !evt__packed_match(a->labels, ms))
			continue;
		if (cnt == cap) {
			struct pick *q = realloc(p, 2 * cap * sizeof(*p));
			if (!q) {
				free(p);
				return NULL;
			}
			p = q;
			cap *= 2;
		}
		p[cnt++] = (struct pick){ evt__g.index[i], a->acct, a->fp };
	}
	*n = cnt;
	return p;
}

int evt_alarms_list(evt_visible_fn fn, void *arg, const struct evt_matchers *ms, bool only_active,
		    struct evt_alarm_view **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&evt__g.lock);
	evt__wait_loaded();
	size_t nvis = evt__g.naccts;
	bool *vis = calloc(nvis + 1, sizeof(bool));
	for (uint32_t i = 0; vis && i < nvis; i++)
		vis[i] = fn(evt__g.accts[i], arg);
	size_t np = 0, cnt = 0;
	struct pick *p = vis ? pick_alarms(vis, nvis, ms, only_active, &np) : NULL;
	pthread_mutex_unlock(&evt__g.lock);
	free(vis);
	struct evt_alarm_view *v = p ? malloc((np ? np : 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(p);
		return FW_ENOMEM;
	}
	/* The views, a slice per hold. An alarm evicted since it was picked (its slot emptied or
	 * reused for another) is left out; one that stopped firing meanwhile too, with only_active. */
	pthread_mutex_lock(&evt__g.lock);
	for (size_t i = 0; i < np; i += VIEW_SLICE) {
		size_t end = np - i < VIEW_SLICE ? np : i + VIEW_SLICE;
		int64_t now = time_now_ms();
		if (i)
			evt__lock_yield();
		for (size_t j = i; j < end; j++) {
			struct alarm *a = evt__slot_ptr(p[j].slot);
			if (!a->labels || a->fp != p[j].fp || a->acct != p[j].acct)
				continue;
			if (only_active && (a->state != ST_FIRING || (a->ends_at && a->ends_at <= now)))
				continue;
			view_fill(&v[cnt++], a, now);
		}
	}
	pthread_mutex_unlock(&evt__g.lock);
	free(p);
	qsort(v, cnt, sizeof(*v), view_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

void evt_alarm_views_free(struct evt_alarm_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		evt_labels_release(&v[i].labels);
		json_decref(v[i].annotations);
		json_decref(v[i].silenced_by);
		json_decref(v[i].inhibited_by);
	}
	free(v);
}

int evt_alarm_find_visible(uint64_t fp, evt_visible_fn fn, void *arg, struct evt_alarm_view *out)
{
	int64_t now = time_now_ms();
	pthread_mutex_lock(&evt__g.lock);
	evt__wait_loaded();
	struct alarm *best = NULL;
	for (uint32_t i = 0; i < evt__g.naccts; i++) {
		struct alarm *a = evt__alarm_find(i, fp, NULL);
		if (a && (!best || strcmp(evt__g.accts[i], evt__g.accts[best->acct]) < 0) && fn(evt__g.accts[i], arg))
			best = a;
	}
	if (best)
		view_fill(out, best, now);
	pthread_mutex_unlock(&evt__g.lock);
	return best ? 0 : FW_ENOTFOUND;
}

int evt_alarm_get(const char *account, uint64_t fp, struct evt_alarm_view *out)
{
	int rc = FW_ENOTFOUND;
	pthread_mutex_lock(&evt__g.lock);
	evt__wait_loaded();
	int ai = evt__acct_find(account);
	struct alarm *a = ai >= 0 ? evt__alarm_find((uint32_t)ai, fp, NULL) : NULL;
	if (a) {
		view_fill(out, a, time_now_ms());
		rc = 0;
	}
	pthread_mutex_unlock(&evt__g.lock);
	return rc;
}
