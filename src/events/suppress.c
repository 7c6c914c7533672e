/* Suppression: silences (Alertmanager semantics), recurring maintenance windows, inhibition. */
#include "events/engine_int.h"
#include "audit/audit.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *evt__silenced_by(uint32_t acct, const char *packed, int64_t now, json_t *ids)
{
	const char *first = NULL;
	for (size_t i = 0; i < evt__g.nsils; i++) {
		struct silence *s = &evt__g.sils[i];
		if (s->acct != acct || now < s->starts_at || now >= s->ends_at)
			continue;
		if (evt__packed_match(packed, &s->m)) {
			if (!first)
				first = s->id;
			if (!ids)
				return first;
			json_array_append_new(ids, json_string(s->id));
		}
	}
	return first;
}

bool evt__in_maintenance(uint32_t acct, const char *packed, int64_t now)
{
	for (size_t i = 0; i < evt__g.nwins; i++) {
		struct mwindow *w = &evt__g.wins[i];
		if (w->acct == acct && evt__packed_match(packed, &w->m) &&
		    evt_window_active(&w->w, (time_t)(now / 1000), NULL))
			return true;
	}
	return false;
}

int64_t evt__suppression_ends(int64_t now)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < evt__g.nsils; i++)
		if (evt__g.sils[i].ends_at > now && evt__g.sils[i].ends_at < next)
			next = evt__g.sils[i].ends_at;
	for (size_t i = 0; i < evt__g.nwins; i++) {
		time_t st = 0, en = 0;
		/* An overlapping later occurrence may keep the window active past en: the scan at en
		 * then finds nothing to do and asks again. */
		if (!evt_window_active(&evt__g.wins[i].w, (time_t)(now / 1000), &en) &&
		    evt_window_next(&evt__g.wins[i].w, (time_t)(now / 1000), &st, &en))
			continue;
		if ((int64_t)en * 1000 > now && (int64_t)en * 1000 < next)
			next = (int64_t)en * 1000;
	}
	return next;
}

/* Inhibition: a firing alarm matching a rule's source mutes an alarm matching its target when
 * the `equal` labels agree. Sources are found by scanning firing alarms of the account; the scan
 * only happens for alarms that match some target, which keeps the hot path free of it. */
bool evt__inhibited_by(uint32_t acct, uint64_t fp, const char *packed, json_t *fps)
{
	bool any = false;
	for (size_t r = 0; r < evt__g.ninhibits; r++) {
		struct evt_inhibit *ih = &evt__g.inhibits[r];
		if (ih->account[0] && strcmp(ih->account, evt__g.accts[acct]))
			continue;
		if (!evt__packed_match(packed, &ih->target))
			continue;
		for (size_t i = 0; i < evt__g.icap; i++) {
			if (!evt__g.index[i])
				continue;
			struct alarm *s = evt__slot_ptr(evt__g.index[i]);
			if (s->acct != acct || s->fp == fp || s->state != ST_FIRING ||
			    !evt__packed_match(s->labels, &ih->source))
				continue;
			bool eq = true;
			for (size_t k = 0; k < ih->nequal && eq; k++) {
				const char *a = evt__packed_get(packed, ih->equal[k]),
				           *b = evt__packed_get(s->labels, ih->equal[k]);
				eq = !strcmp(a ? a : "", b ? b : "");
			}
			if (!eq)
				continue;
			any = true;
			if (!fps)
				return true;
			char f[EVT_FINGERPRINT_LEN + 1];
			evt_fingerprint_format(s->fp, f);
			json_array_append_new(fps, json_string(f));
		}
	}
	return any;
}

/* ---- silences ---- */

static const char *sil_state(const struct silence *s, int64_t now)
{
	if (now < s->starts_at)
		return "pending";
	if (now < s->ends_at)
		return "active";
	return "expired";
}

static void sil_release(struct silence *s)
{
	evt_matchers_release(&s->m);
	free(s->created_by);
	free(s->comment);
}

static struct silence *sil_find(const char *id)
{
	for (size_t i = 0; i < evt__g.nsils; i++)
		if (!strcmp(evt__g.sils[i].id, id))
			return &evt__g.sils[i];
	return NULL;
}

static int sil_row(struct store_conn *c, const struct silence *s)
{
	json_t *m = evt_matchers_to_json(&s->m);
	char *ms = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	int rc = store_exec(
	    c,
	    "INSERT INTO evt_silences (id, account, matchers, starts_at, ends_at, updated_at, created_by, "
	    "comment) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (id) DO UPDATE SET matchers=$3, "
	    "starts_at=$4, ends_at=$5, updated_at=$6, created_by=$7, comment=$8",
	    SARGS(ST(s->id), ST(evt__g.accts[s->acct]), ST(ms), SI(s->starts_at), SI(s->ends_at),
	          SI(s->updated_at), ST(s->created_by), ST(s->comment)),
	    NULL);
	free(ms);
	return rc;
}

struct sil_ctx {
	struct silence *neu;   /* to insert (owned until inserted) */
	char expire_id[40];    /* to expire first ("" = none) */
	char update_id[40];    /* to update in place */
	const char *actor;
	int64_t now;
};

static int sil_tx(struct store_conn *c, void *arg)
{
	struct sil_ctx *x = arg;
	int rc = 0;
	pthread_mutex_lock(&evt__g.lock);
	if (x->expire_id[0]) {
		struct silence *s = sil_find(x->expire_id);
		if (s) {
			if (x->now < s->starts_at)
				s->starts_at = x->now;
			if (x->now < s->ends_at)
				s->ends_at = x->now;
			s->updated_at = x->now;
			rc = sil_row(c, s);
			if (!rc)
				rc = audit_append(c, x->actor, evt__g.accts[s->acct], "silence.expire", s->id,
				                  NULL, NULL);
		}
	}
	if (!rc && x->update_id[0]) {
		struct silence *s = sil_find(x->update_id);
		if (s) {
			s->starts_at = x->neu->starts_at;
			s->ends_at = x->neu->ends_at;
			s->updated_at = x->now;
			free(s->comment);
			free(s->created_by);
			s->comment = x->neu->comment;
			s->created_by = x->neu->created_by;
			x->neu->comment = x->neu->created_by = NULL;
			rc = sil_row(c, s);
			if (!rc)
				rc = audit_append(c, x->actor, evt__g.accts[s->acct], "silence.update", s->id,
				                  NULL, NULL);
		}
	} else if (!rc && x->neu) {
		if (evt__g.nsils == evt__g.asils) {
			evt__g.asils = evt__g.asils ? evt__g.asils * 2 : 16;
			evt__g.sils = realloc(evt__g.sils, evt__g.asils * sizeof(*evt__g.sils));
		}
		rc = sil_row(c, x->neu);
		if (!rc)
			rc = audit_append(c, x->actor, evt__g.accts[x->neu->acct], "silence.create",
			                  x->neu->id, NULL, NULL);
		if (!rc) {
			evt__g.sils[evt__g.nsils++] = *x->neu;
			free(x->neu);
			x->neu = NULL;
		}
	}
	/* An expired or shortened silence may have been all that held an alarm back. */
	evt__g.next_unsuppress = 0;
	pthread_mutex_unlock(&evt__g.lock);
	return rc;
}

static void uuid4(char out[40])
{
	char h[33];
	crypto_random_hex(16, h, sizeof(h));
	h[12] = '4';
	h[16] = "89ab"[h[16] % 4];
	snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

int evt_silence_put(const char *account, const char *id, const json_t *matchers, int64_t starts_at,
                    int64_t ends_at, const char *created_by, const char *comment, const char *actor,
                    char id_out[40], struct fw_error *e)
{
	int64_t now = time_now_ms();
	if (starts_at >= ends_at)
		return fw_fail(e, 400, "invalid_silence",
		               "Failed to create silence: start time must be before end time");
	if (ends_at < now)
		return fw_fail(e, 400, "invalid_silence",
		               "Failed to create silence: end time can't be in the past");
	struct silence *s = calloc(1, sizeof(*s));
	evt_matchers_init(&s->m);
	int rc = evt_matchers_from_json(&s->m, matchers, e);
	if (!rc)
		rc = evt_matchers_validate_silence(&s->m, e);
	if (rc) {
		sil_release(s);
		free(s);
		return rc;
	}
	s->starts_at = starts_at < now ? now : starts_at;
	s->ends_at = ends_at;
	s->updated_at = now;
	s->created_by = strdup(created_by ? created_by : "");
	s->comment = strdup(comment ? comment : "");
	struct sil_ctx x = { .neu = s, .actor = actor, .now = now };
	pthread_mutex_lock(&evt__g.lock);
	s->acct = evt__acct_idx(account);
	if (id && *id) {
		struct silence *old = sil_find(id);
		if (!old || old->acct != s->acct) {
			pthread_mutex_unlock(&evt__g.lock);
			sil_release(s);
			free(s);
			return fw_fail(e, 404, "not_found", "silence not found");
		}
		const char *st = sil_state(old, now);
		bool same = evt_matchers_equal(&old->m, &s->m);
		bool ok =
		    same &&
		    ((!strcmp(st, "active") && old->starts_at / 1000 == starts_at / 1000 && ends_at >= now) ||
		     (!strcmp(st, "pending") && starts_at >= now));
		if (ok) {
			snprintf(x.update_id, sizeof(x.update_id), "%s", id);
			s->starts_at = starts_at;
		} else {
			snprintf(x.expire_id, sizeof(x.expire_id), "%s", id);
		}
	}
	if (x.update_id[0])
		snprintf(id_out, 40, "%s", x.update_id);
	else {
		uuid4(s->id);
		snprintf(id_out, 40, "%s", s->id);
	}
	pthread_mutex_unlock(&evt__g.lock);
	rc = store_write(evt__g.store, sil_tx, &x);
	if (x.neu) {
		sil_release(x.neu);
		free(x.neu);
	}
	return rc;
}

int evt_silence_expire(const char *id, evt_visible_fn fn, void *arg, const char *actor)
{
	pthread_mutex_lock(&evt__g.lock);
	struct silence *s = sil_find(id);
	bool ok = s && fn(evt__g.accts[s->acct], arg);
	bool expired = s && !strcmp(sil_state(s, time_now_ms()), "expired");
	pthread_mutex_unlock(&evt__g.lock);
	if (!ok)
		return FW_ENOTFOUND;
	if (expired)
		return 0;
	struct sil_ctx x = { .actor = actor, .now = time_now_ms() };
	snprintf(x.expire_id, sizeof(x.expire_id), "%s", id);
	return store_write(evt__g.store, sil_tx, &x);
}

static void sil_view(struct evt_silence_view *v, const struct silence *s, int64_t now)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", s->id);
	snprintf(v->account, sizeof(v->account), "%s", evt__g.accts[s->acct]);
	v->matchers = evt_matchers_to_json(&s->m);
	v->starts_at = s->starts_at;
	v->ends_at = s->ends_at;
	v->updated_at = s->updated_at;
	v->created_by = strdup(s->created_by ? s->created_by : "");
	v->comment = strdup(s->comment ? s->comment : "");
	v->state = sil_state(s, now);
}

static int sil_rank(const char *st)
{
	return !strcmp(st, "active") ? 0 : !strcmp(st, "pending") ? 1 : 2;
}

static int sil_cmp(const void *x, const void *y)
{
	const struct evt_silence_view *a = x, *b = y;
	int ra = sil_rank(a->state), rb = sil_rank(b->state);
	if (ra != rb)
		return ra - rb;
	int64_t ka = ra == 1 ? a->starts_at : a->ends_at, kb = rb == 1 ? b->starts_at : b->ends_at;
	if (ra == 2) {
		int64_t t = ka;
		ka = kb;
		kb = t;
	}
	return ka < kb ? -1 : ka > kb ? 1 : strcmp(a->id, b->id);
}

int evt_silences_list(evt_visible_fn fn, void *arg, struct evt_silence_view **out, size_t *n)
{
	int64_t now = time_now_ms();
	pthread_mutex_lock(&evt__g.lock);
	struct evt_silence_view *v = calloc(evt__g.nsils + 1, sizeof(*v));
	size_t cnt = 0;
	for (size_t i = 0; i < evt__g.nsils; i++)
		if (fn(evt__g.accts[evt__g.sils[i].acct], arg))
			sil_view(&v[cnt++], &evt__g.sils[i], now);
	pthread_mutex_unlock(&evt__g.lock);
	qsort(v, cnt, sizeof(*v), sil_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

int evt_silence_get(const char *id, struct evt_silence_view *out)
{
	pthread_mutex_lock(&evt__g.lock);
	struct silence *s = sil_find(id);
	if (s)
		sil_view(out, s, time_now_ms());
	pthread_mutex_unlock(&evt__g.lock);
	return s ? 0 : FW_ENOTFOUND;
}

void evt_silence_views_free(struct evt_silence_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(v[i].matchers);
		free(v[i].created_by);
		free(v[i].comment);
	}
	free(v);
}

/* ---- maintenance windows ---- */

struct win_ctx {
	struct mwindow *neu;
	char del_id[24];
	const char *actor;
};

static int win_tx(struct store_conn *c, void *arg)
{
	struct win_ctx *x = arg;
	int rc = 0;
	if (x->neu) {
		int64_t n = 0;
		rc = store_counter_next(c, "MW", &n);
		if (rc)
			return rc;
		snprintf(x->neu->id, sizeof(x->neu->id), "MW-%lld", (long long)n);
		json_object_set_new(x->neu->doc, "id", json_string(x->neu->id));
		char *doc = json_dumps(x->neu->doc, JSON_COMPACT);
		pthread_mutex_lock(&evt__g.lock);
		const char *acct = evt__g.accts[x->neu->acct];
		pthread_mutex_unlock(&evt__g.lock);
		rc = store_exec(c,
		                "INSERT INTO evt_windows (id, account, doc, created_at) VALUES ($1,$2,$3,$4)",
		                SARGS(ST(x->neu->id), ST(acct), ST(doc), SI(time_now_ms())), NULL);
		free(doc);
		if (!rc)
			rc = audit_append(c, x->actor, acct, "maintenance_window.create", x->neu->id, NULL,
			                  x->neu->doc);
		if (!rc) {
			pthread_mutex_lock(&evt__g.lock);
			if (evt__g.nwins == evt__g.awins) {
				evt__g.awins = evt__g.awins ? evt__g.awins * 2 : 16;
				evt__g.wins = realloc(evt__g.wins, evt__g.awins * sizeof(*evt__g.wins));
			}
			evt__g.wins[evt__g.nwins++] = *x->neu;
			evt__g.next_unsuppress = 0; /* its first occurrence's end is due for a scan */
			pthread_mutex_unlock(&evt__g.lock);
			free(x->neu);
			x->neu = NULL;
		}
		return rc;
	}
	rc = store_exec(c, "DELETE FROM evt_windows WHERE id = $1", SARGS(ST(x->del_id)), NULL);
	pthread_mutex_lock(&evt__g.lock);
	for (size_t i = 0; i < evt__g.nwins; i++) {
		if (strcmp(evt__g.wins[i].id, x->del_id))
			continue;
		if (!rc)
			rc = audit_append(c, x->actor, evt__g.accts[evt__g.wins[i].acct],
			                  "maintenance_window.delete", x->del_id, NULL, NULL);
		if (!rc) {
			evt_matchers_release(&evt__g.wins[i].m);
			json_decref(evt__g.wins[i].doc);
			evt__g.wins[i] = evt__g.wins[--evt__g.nwins];
			/* A deleted window holds nothing back any more. */
			evt__g.next_unsuppress = 0;
		}
		break;
	}
	pthread_mutex_unlock(&evt__g.lock);
	return rc;
}

int evt__win_parse(struct mwindow *w, const json_t *doc, struct fw_error *e)
{
	evt_matchers_init(&w->m);
	int rc = evt_window_from_json(&w->w, doc, e);
	if (!rc)
		rc = evt_matchers_from_any(&w->m, json_object_get(doc, "matchers"), e);
	return rc;
}

int evt_window_create(const char *account, const json_t *doc, const char *actor, json_t **out,
                      struct fw_error *e)
{
	if (!json_is_object(doc))
		return fw_fail(e, 422, "invalid_type", "a maintenance window must be an object");
	const json_t *nm = json_object_get(doc, "name");
	if (nm && (!json_is_string(nm) || json_string_length(nm) > 200))
		return fw_fail(e, 422, "invalid_field", "field 'name' must be a string of at most 200 bytes");
	struct mwindow *w = calloc(1, sizeof(*w));
	int rc = evt__win_parse(w, doc, e);
	if (rc) {
		evt_matchers_release(&w->m);
		free(w);
		return rc;
	}
	w->doc = evt_window_to_json(&w->w);
	json_object_set_new(w->doc, "account", json_string(account));
	json_object_set_new(w->doc, "name", json_string(nm ? json_string_value(nm) : ""));
	json_object_set_new(w->doc, "matchers", evt_matchers_to_json(&w->m));
	json_object_set_new(w->doc, "created_by", json_string(actor));
	pthread_mutex_lock(&evt__g.lock);
	w->acct = evt__acct_idx(account);
	pthread_mutex_unlock(&evt__g.lock);
	struct win_ctx x = { .neu = w, .actor = actor };
	json_incref(w->doc);
	json_t *d = w->doc;
	rc = store_write(evt__g.store, win_tx, &x);
	if (x.neu) {
		evt_matchers_release(&x.neu->m);
		json_decref(x.neu->doc);
		free(x.neu);
	}
	if (rc) {
		json_decref(d);
		return rc;
	}
	*out = json_deep_copy(d);
	json_decref(d);
	return 0;
}

int evt_window_delete(const char *id, evt_visible_fn fn, void *arg, const char *actor)
{
	bool ok = false;
	pthread_mutex_lock(&evt__g.lock);
	for (size_t i = 0; i < evt__g.nwins; i++)
		if (!strcmp(evt__g.wins[i].id, id))
			ok = fn(evt__g.accts[evt__g.wins[i].acct], arg);
	pthread_mutex_unlock(&evt__g.lock);
	if (!ok)
		return FW_ENOTFOUND;
	struct win_ctx x = { .actor = actor };
	snprintf(x.del_id, sizeof(x.del_id), "%s", id);
	return store_write(evt__g.store, win_tx, &x);
}

json_t *evt_windows_list(evt_visible_fn fn, void *arg, int64_t from, int64_t to)
{
	json_t *items = json_array();
	time_t now = (time_t)(time_now_ms() / 1000);
	pthread_mutex_lock(&evt__g.lock);
	for (size_t i = 0; i < evt__g.nwins; i++) {
		struct mwindow *w = &evt__g.wins[i];
		if (!fn(evt__g.accts[w->acct], arg))
			continue;
		json_t *o = json_deep_copy(w->doc);
		time_t ends = 0;
		json_object_set_new(o, "active", json_boolean(evt_window_active(&w->w, now, &ends)));
		json_t *occ = json_array();
		time_t st, en, after = (time_t)from - w->w.duration;
		for (int k = 0; k < 500 && !evt_window_next(&w->w, after, &st, &en) && st < to; k++) {
			char a[32], b[32];
			time_fmt_ms((int64_t)st * 1000, a, sizeof(a));
			time_fmt_ms((int64_t)en * 1000, b, sizeof(b));
			json_array_append_new(occ, json_pack("{s:s,s:s}", "start", a, "end", b));
			after = st;
		}
		json_object_set_new(o, "occurrences", occ);
		json_array_append_new(items, o);
	}
	pthread_mutex_unlock(&evt__g.lock);
	return items;
}
