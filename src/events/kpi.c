/* Noise KPIs: per account and day counters kept as deltas in memory and added to evt_kpi in the
 * store every second (and before each read). */
#include "events/engine_int.h"
#include "store/store.h"
#include "util/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int32_t day_of(int64_t ms)
{
	return (int32_t)(ms / 86400000);
}

struct kpi *evt__kpi_get(uint32_t acct, int64_t now)
{
	int32_t d = day_of(now);
	for (size_t i = evt__g.nkpis; i-- > 0;)
		if (evt__g.kpis[i].acct == acct && evt__g.kpis[i].day == d)
			return &evt__g.kpis[i];
	if (evt__g.nkpis == evt__g.akpis) {
		evt__g.akpis = evt__g.akpis ? evt__g.akpis * 2 : 64;
		evt__g.kpis = realloc(evt__g.kpis, evt__g.akpis * sizeof(*evt__g.kpis));
	}
	struct kpi *k = &evt__g.kpis[evt__g.nkpis++];
	memset(k, 0, sizeof(*k));
	k->acct = acct;
	k->day = d;
	return k;
}

static void day_str(int32_t day, char out[11])
{
	time_t t = (time_t)day * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- KPIs ---- */

static int kpi_flush_tx(struct store_conn *c, void *arg)
{
	struct kpi *v = arg;
	int rc = 0;
	char day[11];
	for (struct kpi *k = v; k->dirty && !rc; k++) {
		day_str(k->day, day);
		pthread_mutex_lock(&evt__g.lock);
		const char *acct = evt__g.accts[k->acct];
		pthread_mutex_unlock(&evt__g.lock);
		rc = store_exec(
		    c,
		    "INSERT INTO evt_kpi (account, day, events, alarms, suppressed, grouped, incidents) "
		    "VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (account, day) DO UPDATE SET "
		    "events = evt_kpi.events + $3, alarms = evt_kpi.alarms + $4, "
		    "suppressed = evt_kpi.suppressed + $5, grouped = evt_kpi.grouped + $6, "
		    "incidents = evt_kpi.incidents + $7",
		    SARGS(ST(acct), ST(day), SI(k->events), SI(k->alarms), SI(k->suppressed), SI(k->grouped),
		          SI(k->incidents)),
		    NULL);
	}
	return rc;
}

void evt__kpi_flush(void)
{
	pthread_mutex_lock(&evt__g.lock);
	struct kpi *v = calloc(evt__g.nkpis + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < evt__g.nkpis; i++) {
		struct kpi *k = &evt__g.kpis[i];
		if (!k->events && !k->alarms && !k->suppressed && !k->grouped && !k->incidents)
			continue;
		v[n] = *k;
		v[n++].dirty = true;
		k->events = k->alarms = k->suppressed = k->grouped = k->incidents = 0;
	}
	evt__g.nkpis = 0; /* deltas are flushed; counters restart from zero */
	pthread_mutex_unlock(&evt__g.lock);
	if (n && store_write(evt__g.store, kpi_flush_tx, v))
		log_msg(LOG_ERROR, "events: could not record KPIs");
	free(v);
}

json_t *evt_kpi_noise(evt_visible_fn fn, void *arg, const char *from, const char *to)
{
	evt__kpi_flush();
	json_t *items = json_array();
	struct store_rows *rows;
	if (store_query(store_reader(evt__g.store),
			"SELECT account, day, events, alarms, suppressed, grouped, incidents FROM evt_kpi "
			"WHERE day >= $1 AND day <= $2 ORDER BY account, day",
			SARGS(ST(from), ST(to)), &rows))
		return items;
	json_t *acc = json_object();
	while (store_next(rows) == 1) {
		const char *a = store_text(rows, 0);
		if (!fn(a, arg))
			continue;
		int64_t ev = store_int(rows, 2), inc = store_int(rows, 6);
		json_t *d = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:f}", "day", store_text(rows, 1), "events",
		                      (json_int_t)ev, "alarms", (json_int_t)store_int(rows, 3), "suppressed",
		                      (json_int_t)store_int(rows, 4), "grouped",
		                      (json_int_t)store_int(rows, 5), "incidents", (json_int_t)inc,
		                      "noise_reduction", ev ? 1.0 - (double)inc / (double)ev : 0.0);
		json_t *o = json_object_get(acc, a);
		if (!o) {
			o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:[]}", "account", a, "events", (json_int_t)0,
			              "alarms", (json_int_t)0, "suppressed", (json_int_t)0, "grouped",
			              (json_int_t)0, "incidents", (json_int_t)0, "days");
			json_object_set_new(acc, a, o);
		}
		static const char *const f[] = { "events", "alarms", "suppressed", "grouped", "incidents" };
		for (int i = 0; i < 5; i++)
			json_object_set_new(o, f[i],
			                    json_integer(json_integer_value(json_object_get(o, f[i])) +
			                                 store_int(rows, 2 + i)));
		json_array_append_new(json_object_get(o, "days"), d);
	}
	store_rows_free(rows);
	const char *k;
	json_t *o;
	json_object_foreach(acc, k, o) {
		int64_t ev = json_integer_value(json_object_get(o, "events"));
		int64_t inc = json_integer_value(json_object_get(o, "incidents"));
		json_object_set_new(o, "noise_reduction",
		                    json_real(ev ? 1.0 - (double)inc / (double)ev : 0.0));
		json_array_append(items, o);
	}
	json_decref(acc);
	return items;
}
