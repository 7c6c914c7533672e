/* Correlation: groups of alarms (account, group key per rule's group_by) and their incident. A firing
 * alarm joins its group's open incident, reopens one resolved within the group window, or opens a
 * new one. */
#include "events/engine_int.h"
#include "tickets/tkt_store.h"
#include "util/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t group_bucket(uint32_t acct, uint64_t key, size_t cap)
{
	return (size_t)evt__key_hash(acct, key) & (cap - 1);
}

/* Doubles the bucket array; nodes keep their addresses, so group pointers stay valid. */
static void groups_grow(void)
{
	size_t ncap = evt__g.gcap ? evt__g.gcap * 2 : 4096;
	struct group **nb = calloc(ncap, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < evt__g.gcap; i++) {
		for (struct group *x = evt__g.groups[i], *next; x; x = next) {
			next = x->next;
			size_t b = group_bucket(x->acct, x->key, ncap);
			x->next = nb[b];
			nb[b] = x;
		}
	}
	free(evt__g.groups);
	evt__g.groups = nb;
	evt__g.gcap = ncap;
}

struct group *evt__group_get(uint32_t acct, uint64_t key, bool create)
{
	if (evt__g.gcap) {
		for (struct group *x = evt__g.groups[group_bucket(acct, key, evt__g.gcap)]; x; x = x->next)
			if (x->key == key && x->acct == acct)
				return x;
	}
	if (!create)
		return NULL;
	if (evt__g.ngroups >= evt__g.gcap)
		groups_grow();
	struct group *x = evt__g.gcap ? calloc(1, sizeof(*x)) : NULL;
	if (!x)
		return NULL;
	x->key = key;
	x->acct = acct;
	size_t b = group_bucket(acct, key, evt__g.gcap);
	x->next = evt__g.groups[b];
	evt__g.groups[b] = x;
	evt__g.ngroups++;
	return x;
}

/* Puts a firing alarm into its group per rule r: joins the group's open incident (reopening one
 * resolved less than the group window ago), or opens a new incident with the alarm hook_alarm
 * (may be NULL) for automation's diagnostics. Counts grouped/incidents in k. In the writer, evt__g.lock held.
 */
int evt__group_alarm(struct store_conn *c, struct alarm *a, const struct evt_rule *r, json_t *hook,
                     bool was_state, struct kpi *k, int64_t now, const char *actor)
{
	int rc = 0;
	struct evt_labels ls = EVT_LABELS_INIT, gl = EVT_LABELS_INIT;
	evt__unpack_labels(a->labels, &ls);
	uint64_t gkey = 0;
	evt_labels_group_key(&ls, &r->group_by, NULL, &gkey);
	evt_labels_select(&ls, &r->group_by, &gl);
	if (!gl.n && !r->group_by.all && r->group_by.n) {
		/* An alarm without any of the group_by labels forms its own group, instead of
		 * merging with every other such alarm. */
		evt_labels_copy(&gl, &ls);
		gkey = a->fp;
	}
	gkey ^= 0x5bd1e995ull * (uint64_t)(strlen(r->name) + (unsigned char)r->name[0]);
	if (!gkey)
		gkey = 1;
	struct group *gr = evt__group_get(a->acct, gkey, true);
	if (!gr) {
		evt_labels_release(&ls);
		evt_labels_release(&gl);
		return FW_ENOMEM;
	}
	snprintf(gr->rule, sizeof(gr->rule), "%s", r->name);
	char status[32] = "";
	if (gr->incident)
		evt__incident_status(c, gr->incident, status);
	bool open = status[0] && strcmp(status, "resolved") && strcmp(status, "closed") &&
		    strcmp(status, "reclassified");
	bool reopen = !open && !strcmp(status, "resolved") && gr->resolved_at &&
		      now - gr->resolved_at < r->group_window_ms;
	if (open || reopen) {
		if (reopen)
			rc = evt__incident_set_status(c, gr->incident, "investigating", actor,
						 "an alarm of the group fired again within the group window");
		char id[24];
		evt__inc_id(gr->incident, id);
		json_t *body = evt__alarm_entry(a, "firing");
		if (!rc)
			rc = tkt_timeline_add(c, id, actor, "alarm", "internal", body);
		json_decref(body);
		if (a->incident != gr->incident || !was_state)
			k->grouped++;
		a->incident = gr->incident;
		gr->firing++;
	} else {
		uint32_t num = 0;
		rc = evt__incident_open(c, a, r, &gl, actor, hook, &num);
		if (!rc) {
			char id[24];
			evt__inc_id(num, id);
			json_t *body = evt__alarm_entry(a, "firing");
			rc = tkt_timeline_add(c, id, actor, "alarm", "internal", body);
			json_decref(body);
			gr->incident = num;
			gr->firing = 1;
			gr->resolved_at = 0;
			a->incident = num;
			k->incidents++;
		}
	}
	a->grp = gkey;
	evt_labels_release(&ls);
	evt_labels_release(&gl);
	return rc;
}

json_t *evt_group_labels(const char *account, const struct evt_labels *ls, char rule[64])
{
	pthread_mutex_lock(&evt__g.lock);
	char *p = evt__pack_labels(ls);
	int ai = evt__acct_find(account);
	const struct evt_rule *r = ai >= 0 ? evt__rule_for((uint32_t)ai, p) : &evt__g.dflt;
	struct evt_labels gl = EVT_LABELS_INIT;
	evt_labels_select(ls, &r->group_by, &gl);
	snprintf(rule, 64, "%s", r->name);
	pthread_mutex_unlock(&evt__g.lock);
	free(p);
	json_t *o = evt_labels_to_json(&gl);
	evt_labels_release(&gl);
	return o;
}
