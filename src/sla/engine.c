#include "sla/engine.h"
#include "notify/outbox.h"
#include "sla/calendar.h"
#include "sla/clock.h"
#include "sla/escalation.h"
#include "sla/oncall.h"
#include "sla/policy.h"
#include "sla/scheduler.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- policy cache: parsed policies by (id, updated_at); superseded entries are kept, never freed,
 * because a reader may still hold one; policies change rarely. ---- */

struct cached_policy {
	char id[40];
	int64_t updated;
	struct sla_policy p;
	struct cached_policy *next;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cached_policy *cache;

static const struct sla_policy *policy_get(struct store_conn *c, const char *id)
{
	struct store_rows *rows;
	if (store_query(c, "SELECT definition, updated_at FROM sla_policies WHERE id = $1", SARGS(ST(id)), &rows))
		return NULL;
	const struct sla_policy *out = NULL;
	if (store_next(rows) == 1) {
		int64_t upd = store_int(rows, 1);
		pthread_mutex_lock(&cache_mu);
		for (struct cached_policy *cp = cache; cp; cp = cp->next)
			if (cp->updated == upd && !strcmp(cp->id, id)) {
				out = &cp->p;
				break;
			}
		if (!out) {
			json_t *def = json_loads(store_text(rows, 0), 0, NULL);
			struct cached_policy *cp = calloc(1, sizeof(*cp));
			struct fw_error e;
			if (cp && def && sla_policy_parse(def, &cp->p, &e) == 0) {
				snprintf(cp->id, sizeof(cp->id), "%s", id);
				cp->updated = upd;
				cp->next = cache;
				cache = cp;
				out = &cp->p;
			} else {
				free(cp);
			}
			json_decref(def);
		}
		pthread_mutex_unlock(&cache_mu);
	}
	store_rows_free(rows);
	return out;
}

/* ---- finding the policies of a ticket ---- */

static const char *str(const json_t *t, const char *k)
{
	return jv_str(t, k);
}

/* The best SLA (or OLA for the ticket's group) policy covering ticket t, its id into id. */
static const struct sla_policy *find_policy(struct store_conn *c, const json_t *t, bool ola, char *id, size_t cap)
{
	const struct tkt_kind_info *k = tkt_kind_by_name(str(t, "kind") ? str(t, "kind") : "");
	if (!k)
		return NULL;
	char *tier = NULL;
	store_query_str(c, "SELECT tier FROM accounts WHERE id = $1", SARGS(ST(str(t, "account"))), &tier);
	struct store_rows *rows;
	int rc;
	if (ola)
		rc = store_query(c,
				 "SELECT id FROM sla_policies WHERE type = 'ola' AND group_name = $2 AND"
				 " (account = $1 OR account IS NULL) ORDER BY account IS NULL, id",
				 SARGS(ST(str(t, "account")), ST(str(t, "group"))), &rows);
	else
		rc = store_query(c,
				 "SELECT id FROM sla_policies WHERE type = 'sla' AND (account = $1 OR account IS NULL) AND"
				 " (tier = $2 OR tier IS NULL) ORDER BY account IS NULL, tier IS NULL, id",
				 SARGS(ST(str(t, "account")), ST(tier)), &rows);
	if (rc) {
		free(tier);
		return NULL;
	}
	/* Arguments are bound by reference until the rows are read: tier lives until then. */
	json_t *ids = json_array();
	while (store_next(rows) == 1)
		json_array_append_new(ids, json_string(store_text(rows, 0)));
	store_rows_free(rows);
	free(tier);
	const struct sla_policy *found = NULL;
	for (size_t i = 0; i < json_array_size(ids) && !found; i++) {
		const char *pid = json_string_value(json_array_get(ids, i));
		const struct sla_policy *p = policy_get(c, pid);
		if (p && (p->kinds & (1u << k->kind)) && sla_policy_target(p, str(t, "priority"), str(t, "severity"))) {
			found = p;
			snprintf(id, cap, "%s", pid);
		}
	}
	json_decref(ids);
	return found;
}

/* ---- clock rows ---- */

struct clock_row {
	char type[4];   /* sla | ola */
	char kind[12];  /* response | resolution */
	char policy[40];
	char group[128];
	long target;
	int64_t start, stop; /* ms; stop < 0 while running */
	json_t *pauses;      /* [[start_ms, end_ms|null], …] */
	unsigned warned;
	bool breached;
	bool dirty, fresh;
};

#define MAX_CLOCKS 4

static int load_rows(struct store_conn *c, const char *id, struct clock_row *rows_out, int *n)
{
	struct store_rows *r;
	*n = 0;
	int rc = store_query(c,
			     "SELECT type, kind, policy, group_name, target, start_at, stop_at, pauses, warned, breached"
			     " FROM sla_clocks WHERE ticket = $1 ORDER BY type DESC, kind DESC",
			     SARGS(ST(id)), &r);
	if (rc)
		return rc;
	while (*n < MAX_CLOCKS && store_next(r) == 1) {
		struct clock_row *x = &rows_out[(*n)++];
		memset(x, 0, sizeof(*x));
		snprintf(x->type, sizeof(x->type), "%s", store_text(r, 0));
		snprintf(x->kind, sizeof(x->kind), "%s", store_text(r, 1));
		snprintf(x->policy, sizeof(x->policy), "%s", store_text(r, 2));
		snprintf(x->group, sizeof(x->group), "%s", store_text(r, 3) ? store_text(r, 3) : "");
		x->target = (long)store_int(r, 4);
		x->start = store_int(r, 5);
		x->stop = store_isnull(r, 6) ? -1 : store_int(r, 6);
		x->pauses = json_loads(store_text(r, 7), 0, NULL);
		if (!json_is_array(x->pauses)) {
			json_decref(x->pauses);
			x->pauses = json_array();
		}
		x->warned = (unsigned)store_int(r, 8);
		x->breached = store_int(r, 9) != 0;
	}
	store_rows_free(r);
	return 0;
}

static bool row_paused(const struct clock_row *x)
{
	size_t n = json_array_size(x->pauses);
	return n && json_is_null(json_array_get(json_array_get(x->pauses, n - 1), 1));
}

/* Rebuilds the pure clock from a row. */
static int build_clock(const struct clock_row *x, const struct sla_policy *p, struct sla_clock *ck)
{
	struct fw_error e;
	int rc = sla_clock_init(ck, &p->cal, !strcmp(x->kind, "response") ? SLA_RESPONSE : SLA_RESOLUTION, x->target,
				(time_t)(x->start / 1000), &e);
	if (!rc)
		rc = sla_clock_set_warnings(ck, p->warnings, p->n_warnings, &e);
	size_t i;
	json_t *pz;
	json_array_foreach(x->pauses, i, pz) {
		if (rc)
			break;
		rc = sla_clock_pause(ck, (time_t)(json_integer_value(json_array_get(pz, 0)) / 1000), &e);
		if (!rc && !json_is_null(json_array_get(pz, 1)))
			rc = sla_clock_resume(ck, (time_t)(json_integer_value(json_array_get(pz, 1)) / 1000), &e);
	}
	if (!rc && x->stop >= 0)
		rc = sla_clock_stop(ck, (time_t)(x->stop / 1000), &e);
	return rc;
}

static void fmt_s(time_t t, char *out, size_t cap)
{
	if (t == SLA_NONE)
		out[0] = '\0';
	else
		time_fmt_ms((int64_t)t * 1000, out, cap);
}

static int emit(struct store_conn *c, const json_t *t, const struct clock_row *x, const char *what, double fraction,
		time_t due)
{
	char dues[32];
	fmt_s(due, dues, sizeof(dues));
	json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s}", "event", what, "type", x->type, "clock",
			      x->kind, "policy", x->policy, "ticket", str(t, "id"), "title", str(t, "title"), "severity",
			      str(t, "severity"), "priority", str(t, "priority"), "due", dues);
	if (fraction > 0)
		json_object_set_new(b, "fraction", json_real(fraction));
	if (x->group[0])
		json_object_set_new(b, "group", json_string(x->group));
	char topic[32];
	snprintf(topic, sizeof(topic), "sla.%s", what);
	int rc = tkt_timeline_add(c, str(t, "id"), "flywheel", topic, "internal", b);
	if (!rc)
		rc = outbox_add(c, topic, str(t, "account"), NULL, b);
	json_decref(b);
	return rc;
}

static int esc_update(struct store_conn *c, const json_t *t, int64_t now, bool breach, bool created, int64_t *next);

static const char *const resolved_statuses[] = { "resolved", "fulfilled", "completed", "closed", NULL };

struct arm {
	char ticket[40];
	int64_t at;
};

static void arm_cb(void *arg)
{
	struct arm *a = arg;
	sla_sched_arm(a->ticket, a->at);
	free(a);
}

/* Applies the ticket's state to its clocks at now, emits newly due warnings and breaches, advances the
 * escalation, writes everything back and arms the next timer. */
static int evaluate(struct store_conn *c, const json_t *t, int64_t now_ms, bool inserted)
{
	const char *id = str(t, "id"), *status = str(t, "status"), *kind = str(t, "kind");
	const struct tkt_kind_info *k = tkt_kind_by_name(kind ? kind : "");
	if (!id || !status || !k)
		return 0;
	struct clock_row rows[MAX_CLOCKS];
	int n = 0, rc = inserted ? 0 : load_rows(c, id, rows, &n);
	if (rc)
		return rc;
	bool final = tkt_status_final(k->kind, status) || jv_in(status, resolved_statuses);
	bool responded = strcmp(status, k->initial) != 0 || json_object_get(t, "acknowledged_at");
	bool resolved = final || json_object_get(t, "resolved_at");

	/* A new ticket gets its SLA clocks; a ticket in a group gets that group's OLA clocks (again after a
	 * reassignment: the OLA binds the group that holds the ticket). */
	bool have_sla = false, have_ola = false;
	for (int i = 0; i < n; i++) {
		if (!strcmp(rows[i].type, "sla"))
			have_sla = true;
		else if (str(t, "group") && !strcmp(rows[i].group, str(t, "group")))
			have_ola = true;
	}
	int64_t created = now_ms;
	time_parse_rfc3339(str(t, "created_at"), &created);
	for (int ola = 0; ola < 2 && !final; ola++) {
		if (ola ? (have_ola || !str(t, "group")) : have_sla)
			continue;
		char pid[40];
		const struct sla_policy *p = find_policy(c, t, ola, pid, sizeof(pid));
		if (!p)
			continue;
		if (ola) { /* the previous group's OLA clocks end here */
			for (int i = 0; i < n; i++)
				if (!strcmp(rows[i].type, "ola"))
					store_exec(c, "DELETE FROM sla_clocks WHERE ticket = $1 AND type = 'ola' AND kind = $2",
						   SARGS(ST(id), ST(rows[i].kind)), NULL);
			int m = 0;
			for (int i = 0; i < n; i++)
				if (strcmp(rows[i].type, "ola"))
					rows[m++] = rows[i];
				else
					json_decref(rows[i].pauses);
			n = m;
		}
		const struct sla_target *tg = sla_policy_target(p, str(t, "priority"), str(t, "severity"));
		for (int kk = 0; kk < 2 && n < MAX_CLOCKS; kk++) {
			long target = kk ? tg->resolution : tg->response;
			if (!target || (!kk && responded && !ola))
				continue;
			struct clock_row *x = &rows[n++];
			memset(x, 0, sizeof(*x));
			snprintf(x->type, sizeof(x->type), "%s", ola ? "ola" : "sla");
			snprintf(x->kind, sizeof(x->kind), "%s", kk ? "resolution" : "response");
			snprintf(x->policy, sizeof(x->policy), "%s", pid);
			snprintf(x->group, sizeof(x->group), "%s", ola ? str(t, "group") : "");
			x->target = target;
			x->start = ola ? now_ms : created;
			x->stop = -1;
			x->pauses = json_array();
			x->fresh = x->dirty = true;
		}
	}

	int64_t next = -1;
	for (int i = 0; i < n; i++) {
		struct clock_row *x = &rows[i];
		const struct sla_policy *p = policy_get(c, x->policy);
		if (!p)
			continue; /* policy deleted: the clock keeps its last state */
		if (x->stop < 0) {
			/* Priority changes retarget a running clock. */
			const struct sla_target *tg = sla_policy_target(p, str(t, "priority"), str(t, "severity"));
			long want = tg ? (!strcmp(x->kind, "response") ? tg->response : tg->resolution) : 0;
			if (want && want != x->target) {
				x->target = want;
				x->dirty = true;
			}
			bool should_pause = sla_policy_pauses(p, status);
			if (should_pause && !row_paused(x)) {
				json_array_append_new(x->pauses, json_pack("[I,n]", (json_int_t)now_ms));
				x->dirty = true;
			} else if (!should_pause && row_paused(x)) {
				json_t *last = json_array_get(x->pauses, json_array_size(x->pauses) - 1);
				json_array_set_new(last, 1, json_integer(now_ms));
				x->dirty = true;
			}
			bool stop = !strcmp(x->kind, "response") ? responded : resolved;
			if (!strcmp(x->type, "ola") && (!str(t, "group") || strcmp(str(t, "group"), x->group)))
				stop = true;
			if (stop || final) {
				x->stop = now_ms < x->start ? x->start : now_ms;
				x->dirty = true;
			}
		}
		struct sla_clock ck;
		struct sla_status st;
		struct fw_error e;
		if (build_clock(x, p, &ck) || sla_clock_eval(&ck, (time_t)(now_ms / 1000), &st, &e)) {
			sla_clock_release(&ck);
			continue;
		}
		unsigned fresh = st.warned & ~x->warned;
		for (size_t w = 0; w < st.n_warnings && !rc; w++)
			if ((fresh & (1u << w)) && !st.breached)
				rc = emit(c, t, x, "warning", ck.warnings[w], st.due);
		if (!rc && st.breached && !x->breached) {
			rc = emit(c, t, x, "breached", 0, st.due);
			if (!rc && !resolved)
				rc = esc_update(c, t, now_ms, true, inserted, &next);
			inserted = false; /* the escalation may exist now */
		}
		if (st.warned != x->warned || st.breached != x->breached)
			x->dirty = true;
		x->warned = st.warned;
		x->breached = st.breached;
		int64_t nx = st.next_event == SLA_NONE ? -1 : (int64_t)st.next_event * 1000;
		int64_t due = st.due == SLA_NONE ? -1 : (int64_t)st.due * 1000;
		if (nx >= 0 && (next < 0 || nx < next))
			next = nx;
		if (!rc && x->dirty) {
			char *pz = json_dumps(x->pauses, JSON_COMPACT);
			if (x->fresh)
				rc = store_exec(c,
						"INSERT INTO sla_clocks (ticket, type, kind, policy, account, severity, priority,"
						" group_name, target, start_at, stop_at, pauses, warned, breached, due_at, next_at)"
						" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
						SARGS(ST(id), ST(x->type), ST(x->kind), ST(x->policy), ST(str(t, "account")),
						      ST(str(t, "severity")), ST(str(t, "priority")),
						      ST(x->group[0] ? x->group : str(t, "group")), SI(x->target), SI(x->start),
						      x->stop >= 0 ? SI(x->stop) : SN, ST(pz), SI(x->warned), SI(x->breached),
						      due >= 0 ? SI(due) : SN, nx >= 0 ? SI(nx) : SN),
						NULL);
			else
				rc = store_exec(c,
						"UPDATE sla_clocks SET target=$4, stop_at=$5, pauses=$6, warned=$7, breached=$8,"
						" due_at=$9, next_at=$10, severity=$11, priority=$12"
						" WHERE ticket=$1 AND type=$2 AND kind=$3",
						SARGS(ST(id), ST(x->type), ST(x->kind), SI(x->target),
						      x->stop >= 0 ? SI(x->stop) : SN, ST(pz), SI(x->warned), SI(x->breached),
						      due >= 0 ? SI(due) : SN, nx >= 0 ? SI(nx) : SN, ST(str(t, "severity")),
						      ST(str(t, "priority"))),
						NULL);
			free(pz);
		}
		sla_clock_release(&ck);
	}
	for (int i = 0; i < n; i++)
		json_decref(rows[i].pauses);
	if (!rc)
		rc = esc_update(c, t, now_ms, false, inserted, &next);
	if (!rc && next >= 0) {
		struct arm *a = malloc(sizeof(*a));
		if (a) {
			snprintf(a->ticket, sizeof(a->ticket), "%s", id);
			a->at = next;
			store_after_commit(c, arm_cb, a);
		}
	}
	return rc;
}

int sla_ticket_changed(struct store_conn *c, const json_t *t, bool created)
{
	return evaluate(c, t, time_now_ms(), created);
}

int sla_ticket_tick(struct store_conn *c, const char *id)
{
	json_t *t;
	if (tkt_load(c, id, &t))
		return 0; /* gone: nothing to do */
	int rc = evaluate(c, t, time_now_ms(), false);
	json_decref(t);
	return rc;
}

/* ---- escalation ---- */

/* The most specific policy for the ticket: its group and account before its group anywhere, before any
 * group of its account, before the catch-all; then the lowest id. Ranked here rather than with ORDER
 * BY, which makes SQLite build a sorter on every ticket write. */
static int esc_find(struct store_conn *c, const json_t *t, char *id, size_t cap, struct esc_policy *p)
{
	struct store_rows *rows;
	int rc = store_query(c,
			     "SELECT id, definition, CASE WHEN group_name IS NULL THEN 2 ELSE 0 END +"
			     " CASE WHEN account IS NULL THEN 1 ELSE 0 END FROM escalation_policies"
			     " WHERE (account = $1 OR account IS NULL) AND (group_name = $2 OR group_name IS NULL)",
			     SARGS(ST(str(t, "account")), ST(str(t, "group"))), &rows);
	if (rc)
		return rc;
	char best[40] = "";
	char *def = NULL;
	int64_t best_rank = 4;
	while (store_next(rows) == 1) {
		const char *pid = store_text(rows, 0);
		int64_t rank = store_int(rows, 2);
		if (!pid || rank > best_rank || (rank == best_rank && strcmp(pid, best) >= 0))
			continue;
		snprintf(best, sizeof(best), "%s", pid);
		best_rank = rank;
		free(def);
		def = strdup(store_text(rows, 1) ? store_text(rows, 1) : "");
	}
	store_rows_free(rows);
	rc = FW_ENOTFOUND;
	if (def) {
		json_t *j = json_loads(def, 0, NULL);
		struct fw_error e;
		if (j && !sla_esc_parse(j, p, &e)) {
			snprintf(id, cap, "%s", best);
			rc = 0;
		}
		json_decref(j);
	}
	free(def);
	return rc;
}

static int esc_load(struct store_conn *c, const char *policy, struct esc_policy *p)
{
	char *def = NULL;
	if (store_query_str(c, "SELECT definition FROM escalation_policies WHERE id = $1", SARGS(ST(policy)), &def))
		return FW_ENOTFOUND;
	json_t *j = json_loads(def, 0, NULL);
	free(def);
	struct fw_error e;
	int rc = j ? sla_esc_parse(j, p, &e) : FW_EINVAL;
	json_decref(j);
	return rc;
}

/* Pages every target of a level: users directly (their e-mail), schedules through whoever is on call
 * now (a gap is reported on the timeline and to topic subscribers: nobody is silently skipped), groups
 * through topic subscriptions. */
static int esc_page(struct store_conn *c, const json_t *t, const struct esc_level *lv, int level, int round,
		    int64_t now)
{
	json_t *paged = json_array();
	int rc = 0;
	for (size_t i = 0; i < lv->n_targets && !rc; i++) {
		const struct esc_target *tg = &lv->targets[i];
		char user[128] = "";
		if (tg->type == ESC_USER) {
			snprintf(user, sizeof(user), "%s", tg->id);
		} else if (tg->type == ESC_SCHEDULE) {
			char *def = NULL;
			store_query_str(c, "SELECT definition FROM schedules WHERE id = $1", SARGS(ST(tg->id)), &def);
			json_t *j = def ? json_loads(def, 0, NULL) : NULL;
			free(def);
			struct sla_schedule s;
			struct fw_error e;
			struct sla_shift sh;
			if (j && !sla_oncall_parse(j, &s, &e)) {
				if (!sla_oncall_at(&s, (time_t)(now / 1000), &sh) && sh.user)
					snprintf(user, sizeof(user), "%s", sh.user);
				sla_oncall_release(&s);
			}
			json_decref(j);
			if (!user[0]) {
				json_t *g = json_pack("{s:s,s:s,s:s?,s:i}", "schedule", tg->id, "ticket", str(t, "id"),
						      "severity", str(t, "severity"), "level", level + 1);
				rc = tkt_timeline_add(c, str(t, "id"), "flywheel", "escalation.gap", "internal", g);
				if (!rc)
					rc = outbox_add(c, "escalation.gap", str(t, "account"), NULL, g);
				json_decref(g);
				continue;
			}
		}
		json_t *p = json_pack("{s:s,s:s?,s:s?,s:s?,s:i,s:i,s:s,s:s}", "ticket", str(t, "id"), "title",
				      str(t, "title"), "severity", str(t, "severity"), "priority", str(t, "priority"),
				      "level", level + 1, "round", round + 1, "via", sla_esc_target_type_name(tg->type),
				      "target", tg->id);
		if (user[0])
			json_object_set_new(p, "user", json_string(user));
		rc = outbox_add(c, "escalation.page", str(t, "account"), user[0] ? user : NULL, p);
		json_array_append_new(paged, json_string(user[0] ? user : tg->id));
		json_decref(p);
	}
	if (!rc) {
		json_t *b = json_pack("{s:i,s:i,s:O}", "level", level + 1, "round", round + 1, "paged", paged);
		rc = tkt_timeline_add(c, str(t, "id"), "flywheel", "escalation", "internal", b);
		json_decref(b);
	}
	json_decref(paged);
	return rc;
}

static int esc_start(struct store_conn *c, const json_t *t, int64_t now, bool exists, int64_t *next)
{
	char pid[40];
	struct esc_policy p;
	if (esc_find(c, t, pid, sizeof(pid), &p))
		return 0;
	int64_t at = now + (int64_t)p.levels[0].delay * 1000;
	int rc = exists ? store_exec(c,
				     "UPDATE escalations SET policy=$2, group_name=$3, level=0, round=0, status='active',"
				     " next_at=$4, started_at=$5, updated_at=$5 WHERE ticket=$1",
				     SARGS(ST(str(t, "id")), ST(pid), ST(str(t, "group")), SI(at), SI(now)), NULL)
			: store_exec(c,
				     "INSERT INTO escalations (ticket, policy, account, group_name, level, round, status,"
				     " next_at, started_at, updated_at) VALUES ($1,$2,$3,$4,0,0,'active',$5,$6,$6)",
				     SARGS(ST(str(t, "id")), ST(pid), ST(str(t, "account")), ST(str(t, "group")), SI(at),
					   SI(now)),
				     NULL);
	if (!rc)
		rc = esc_page(c, t, &p.levels[0], 0, 0, now);
	if (!rc && (*next < 0 || at < *next))
		*next = at;
	return rc;
}

static int esc_update(struct store_conn *c, const json_t *t, int64_t now, bool breach, bool created, int64_t *next)
{
	const char *id = str(t, "id"), *status = str(t, "status");
	const struct tkt_kind_info *k = tkt_kind_by_name(str(t, "kind") ? str(t, "kind") : "");
	struct store_rows *rows = NULL;
	int rc = created ? 0
			 : store_query(c,
				       "SELECT policy, group_name, level, round, status, next_at FROM escalations"
				       " WHERE ticket = $1",
				       SARGS(ST(id)), &rows);
	if (rc)
		return rc;
	bool exists = false;
	char policy[40] = "", group[128] = "", est[16] = "";
	int level = 0, round = 0;
	int64_t at = -1;
	if (rows && store_next(rows) == 1) {
		exists = true;
		snprintf(policy, sizeof(policy), "%s", store_text(rows, 0));
		snprintf(group, sizeof(group), "%s", store_text(rows, 1) ? store_text(rows, 1) : "");
		level = (int)store_int(rows, 2);
		round = (int)store_int(rows, 3);
		snprintf(est, sizeof(est), "%s", store_text(rows, 4));
		at = store_isnull(rows, 5) ? -1 : store_int(rows, 5);
	}
	store_rows_free(rows);
	bool acked = json_object_get(t, "acknowledged_at") || (k && strcmp(status, k->initial) != 0);
	bool done = k && (tkt_status_final(k->kind, status) || jv_in(status, resolved_statuses));
	const char *tg = str(t, "group") ? str(t, "group") : "";

	if (exists && strcmp(group, tg) != 0 && !done) {
		/* Reassigned: start over at level one of the new group's policy. */
		json_t *b = json_pack("{s:s,s:s}", "from_group", group, "to_group", tg);
		rc = tkt_timeline_add(c, id, "flywheel", "escalation.restarted", "internal", b);
		json_decref(b);
		return rc ? rc : esc_start(c, t, now, true, next);
	}
	if (!exists) {
		/* New incidents escalate until acknowledged; any ticket whose SLA breaches does too. */
		if (done || (acked && !breach) || (!breach && (!k || k->kind != TKT_INCIDENT)))
			return 0;
		return esc_start(c, t, now, false, next);
	}
	if (strcmp(est, "active"))
		return 0;
	if (acked || done) {
		rc = store_exec(c, "UPDATE escalations SET status = $2, next_at = NULL, updated_at = $3 WHERE ticket = $1",
				SARGS(ST(id), ST(done ? "stopped" : "acknowledged"), SI(now)), NULL);
		json_t *b = json_pack("{s:s,s:i}", "reason", done ? "resolved" : "acknowledged", "level", level + 1);
		if (!rc)
			rc = tkt_timeline_add(c, id, "flywheel", "escalation.stopped", "internal", b);
		json_decref(b);
		return rc;
	}
	if (at < 0 || at > now) {
		if (at >= 0 && (*next < 0 || at < *next))
			*next = at;
		return 0;
	}
	struct esc_policy p;
	if (esc_load(c, policy, &p))
		return store_exec(c, "UPDATE escalations SET status = 'stopped', next_at = NULL WHERE ticket = $1",
				  SARGS(ST(id)), NULL);
	level++;
	if ((size_t)level >= p.n_levels) {
		level = 0;
		round++;
	}
	if (round > p.repeat) {
		rc = store_exec(c, "UPDATE escalations SET status = 'exhausted', next_at = NULL, updated_at = $2 WHERE ticket = $1",
				SARGS(ST(id), SI(now)), NULL);
		json_t *b = json_pack("{s:s,s:s?,s:s?}", "ticket", id, "title", str(t, "title"), "severity",
				      str(t, "severity"));
		if (!rc)
			rc = tkt_timeline_add(c, id, "flywheel", "escalation.exhausted", "internal", b);
		if (!rc)
			rc = outbox_add(c, "escalation.exhausted", str(t, "account"), NULL, b);
		json_decref(b);
		return rc;
	}
	int64_t nat = now + (int64_t)p.levels[level].delay * 1000;
	rc = store_exec(c, "UPDATE escalations SET level = $2, round = $3, next_at = $4, updated_at = $5 WHERE ticket = $1",
			SARGS(ST(id), SI(level), SI(round), SI(nat), SI(now)), NULL);
	if (!rc)
		rc = esc_page(c, t, &p.levels[level], level, round, now);
	if (!rc && (*next < 0 || nat < *next))
		*next = nat;
	return rc;
}

/* ---- status for the API ---- */

int sla_ticket_status(struct store_conn *c, const char *id, json_t **out)
{
	struct clock_row rows[MAX_CLOCKS];
	int n = 0, rc = load_rows(c, id, rows, &n);
	if (rc)
		return rc;
	int64_t now = time_now_ms();
	json_t *clocks = json_array();
	for (int i = 0; i < n; i++) {
		struct clock_row *x = &rows[i];
		const struct sla_policy *p = policy_get(c, x->policy);
		struct sla_clock ck;
		struct sla_status st;
		struct fw_error e;
		if (!p || build_clock(x, p, &ck) || sla_clock_eval(&ck, (time_t)(now / 1000), &st, &e)) {
			if (p)
				sla_clock_release(&ck);
			continue;
		}
		char s[32], due[32], stop[32];
		time_fmt_ms(x->start, s, sizeof(s));
		fmt_s(st.due, due, sizeof(due));
		if (x->stop >= 0)
			time_fmt_ms(x->stop, stop, sizeof(stop));
		json_t *w = json_array();
		for (size_t k = 0; k < st.n_warnings; k++) {
			char wa[32];
			fmt_s(st.warning_at[k], wa, sizeof(wa));
			json_array_append_new(w, json_pack("{s:f,s:s?,s:b}", "fraction", ck.warnings[k], "at", wa[0] ? wa : NULL,
							   "fired", (st.warned >> k) & 1));
		}
		const char *state = st.breached ? "breached" : st.met ? "met" : st.paused_now ? "paused" : "running";
		json_array_append_new(
			clocks, json_pack("{s:s,s:s,s:s,s:s?,s:s,s:I,s:I,s:I,s:I,s:s,s:s?,s:s?,s:b,s:b,s:b,s:o}", "type",
					  x->type, "kind", x->kind, "policy", x->policy, "group", x->group[0] ? x->group : NULL,
					  "state", state, "target_seconds", (json_int_t)x->target, "elapsed_seconds",
					  (json_int_t)st.elapsed, "paused_seconds", (json_int_t)st.paused, "remaining_seconds",
					  (json_int_t)st.remaining, "started_at", s, "stopped_at", x->stop >= 0 ? stop : NULL,
					  "due", due[0] ? due : NULL, "breached", st.breached, "met", st.met, "paused",
					  st.paused_now, "warnings", w));
		sla_clock_release(&ck);
	}
	for (int i = 0; i < n; i++)
		json_decref(rows[i].pauses);
	json_t *esc = json_null();
	struct store_rows *r;
	if (!store_query(c, "SELECT policy, group_name, level, round, status, next_at FROM escalations WHERE ticket = $1",
			 SARGS(ST(id)), &r)) {
		if (store_next(r) == 1) {
			char na[32] = "";
			if (!store_isnull(r, 5))
				time_fmt_ms(store_int(r, 5), na, sizeof(na));
			json_decref(esc);
			esc = json_pack("{s:s,s:s?,s:I,s:I,s:s,s:s?}", "policy", store_text(r, 0), "group", store_text(r, 1),
					"level", (json_int_t)store_int(r, 2) + 1, "round", (json_int_t)store_int(r, 3) + 1,
					"status", store_text(r, 4), "next_step_at", na[0] ? na : NULL);
		}
		store_rows_free(r);
	}
	*out = json_pack("{s:s,s:o,s:o}", "ticket", id, "clocks", clocks, "escalation", esc);
	return 0;
}
