/* The event pipeline (see engine.h and docs/internals/events.md).
 *
 * Memory layout, chosen so a million active alarms fit in a few hundred MB and reload fast:
 * alarms live in a chunked pool of fixed-size records; their labels are one packed string
 * "name\0value\0…\0" (sorted, as the fingerprint hashes them); annotations stay the compact JSON
 * text they arrived as. The index is an open-addressing table of pool slots keyed by
 * (account, fingerprint), linear probing with backward-shift deletion. */
#include "events/engine.h"
#include "audit/audit.h"
#include "automation/automation.h"
#include "config.h"
#include "events/rules.h"
#include "http/auth.h"
#include "http/server.h"
#include "notify/outbox.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <sys/mman.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ST_NONE, ST_FIRING, ST_RESOLVED };

struct hist {
	struct evt_flap changes; /* state changes, for flap detection */
	struct evt_flap firings; /* transitions to firing, for problem detection */
};

struct alarm {
	uint64_t fp;
	uint32_t acct;
	uint8_t state;
	uint8_t flags;
	uint8_t sev;
	uint8_t src;
	uint32_t count;
	uint32_t incident;
	uint32_t problem;
	uint32_t next_free;
	uint64_t grp; /* group key hash, 0 = none */
	int64_t starts_at, ends_at, updated_at, first_seen;
	char *labels; /* packed */
	char *annot;  /* compact JSON or NULL */
	struct hist *hist;
};

#define CHUNK_BITS 16
#define CHUNK (1u << CHUNK_BITS)
#define MAX_CHUNKS 1024

struct group {
	uint64_t key;
	uint32_t acct;
	uint32_t incident;
	uint32_t firing;
	int64_t resolved_at;
	char rule[64];
	struct group *next;
};

struct silence {
	char id[40];
	uint32_t acct;
	struct evt_matchers m;
	int64_t starts_at, ends_at, updated_at;
	char *created_by, *comment;
};

struct mwindow {
	char id[24];
	uint32_t acct;
	struct evt_matchers m;
	struct evt_window w;
	json_t *doc;
};

struct kpi {
	uint32_t acct;
	int32_t day; /* days since epoch */
	int64_t events, alarms, suppressed, grouped, incidents;
	bool dirty;
};

static const char *const sev_names[] = { "", "critical", "high", "medium", "low", "info", NULL };
static const char *const src_names[] = { "", "native", "prometheus", "pagerduty", "cloudwatch", "eventbridge", NULL };

static struct engine {
	pthread_mutex_t lock;
	struct store *store;
	struct server *srv;
	/* accounts */
	char (*accts)[16];
	uint32_t naccts, aaccts;
	/* alarm pool and index */
	struct alarm *chunks[MAX_CHUNKS];
	uint32_t nslots;     /* slots handed out (pool high-water mark) */
	uint32_t free_head;  /* 1-based slot of the first free record, 0 = none */
	size_t nalarms;
	uint32_t *index;     /* 1-based slot numbers, 0 = empty */
	size_t icap;         /* power of two */
	/* dirty alarms waiting for the checkpoint */
	uint32_t *dirty;
	size_t ndirty, adirty;
	/* groups: chained hash, buckets doubled when there are more groups than buckets */
	struct group **groups;
	size_t ngroups, gcap; /* gcap is a power of two */
	/* rules */
	struct evt_rule *rules;
	size_t nrules;
	struct evt_rule dflt;
	struct evt_inhibit *inhibits;
	size_t ninhibits;
	/* silences and windows */
	struct silence *sils;
	size_t nsils, asils;
	struct mwindow *wins;
	size_t nwins, awins;
	/* kpis */
	struct kpi *kpis;
	size_t nkpis, akpis;
	/* background thread */
	int64_t next_expiry; /* no firing alarm's ends_at is earlier than this (sweep skips until then) */
	pthread_t thread;
	pthread_cond_t wake;
	bool stopping, started;
	/* the alarms are loaded in the background thread at start-up; see wait_loaded() */
	bool loaded;
	pthread_cond_t loaded_cv;
	char rules_dir[600];
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .loaded_cv = PTHREAD_COND_INITIALIZER };

/* The alarm index is complete only once the start-up load (load_alarms(), in the background thread
 * while HTTP already answers) has finished. Every path that reads or changes alarms calls this with
 * g.lock held and waits, so an event arriving during the load still deduplicates against the alarm
 * stored before the restart and joins its group's incident. */
static void wait_loaded(void)
{
	while (!g.loaded)
		pthread_cond_wait(&g.loaded_cv, &g.lock);
}

static uint8_t name_idx(const char *const *names, const char *s)
{
	if (!s)
		return 0;
	for (uint8_t i = 1; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return 0;
}

/* ---- accounts ---- */

static uint32_t acct_idx(const char *a)
{
	for (uint32_t i = 0; i < g.naccts; i++)
		if (!strcmp(g.accts[i], a))
			return i;
	if (g.naccts == g.aaccts) {
		g.aaccts = g.aaccts ? g.aaccts * 2 : 16;
		g.accts = realloc(g.accts, g.aaccts * sizeof(*g.accts));
	}
	snprintf(g.accts[g.naccts], 16, "%s", a);
	return g.naccts++;
}

static int acct_find(const char *a)
{
	for (uint32_t i = 0; i < g.naccts; i++)
		if (!strcmp(g.accts[i], a))
			return (int)i;
	return -1;
}

/* ---- packed labels ---- */

static char *pack_labels(const struct evt_labels *ls)
{
	size_t n = 1;
	for (size_t i = 0; i < ls->n; i++)
		n += strlen(ls->v[i].name) + strlen(ls->v[i].value) + 2;
	char *p = malloc(n), *w = p;
	if (!p)
		return NULL;
	for (size_t i = 0; i < ls->n; i++) {
		size_t a = strlen(ls->v[i].name) + 1, b = strlen(ls->v[i].value) + 1;
		memcpy(w, ls->v[i].name, a);
		w += a;
		memcpy(w, ls->v[i].value, b);
		w += b;
	}
	*w = '\0';
	return p;
}

static const char *packed_get(const char *p, const char *name)
{
	while (*p) {
		const char *v = p + strlen(p) + 1;
		if (!strcmp(p, name))
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

static int unpack_labels(const char *p, struct evt_labels *out)
{
	evt_labels_init(out);
	while (*p) {
		const char *v = p + strlen(p) + 1;
		if (evt_labels_set(out, p, v))
			return FW_ENOMEM;
		p = v + strlen(v) + 1;
	}
	return 0;
}

static json_t *packed_json(const char *p)
{
	json_t *o = json_object();
	while (*p) {
		const char *v = p + strlen(p) + 1;
		json_object_set_new(o, p, json_string(v));
		p = v + strlen(v) + 1;
	}
	return o;
}

static bool packed_match(const char *p, const struct evt_matchers *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		const char *v = packed_get(p, ms->v[i].name);
		if (!evt_matcher_matches(&ms->v[i], v ? v : ""))
			return false;
	}
	return true;
}

/* Writes the packed form of the compact JSON object of strings this module wrote ({"a":"b",…},
 * keys in packed order) to out, which has room for strlen(s) + 2 bytes (the packed form is never
 * longer than the JSON). Returns the packed length with its final NUL, or 0 when the text needs
 * the full parser (an escape, a value that is not a string). No jansson tree: restart speed
 * depends on it. */
static size_t packed_from_json_fast(const char *s, char *out)
{
	char *w = out;
	const char *p = s;
	if (*p++ != '{')
		return 0;
	while (*p != '}') {
		for (int part = 0; part < 2; part++) {
			if (*p++ != '"')
				return 0;
			const char *q = p;
			while (*q && *q != '"' && *q != '\\')
				q++;
			if (*q != '"')
				return 0;
			memcpy(w, p, (size_t)(q - p));
			w += q - p;
			*w++ = '\0';
			p = q + 1;
			if (part == 0 && *p++ != ':')
				return 0;
		}
		if (*p == ',')
			p++;
		else if (*p != '}')
			return 0;
	}
	*w++ = '\0';
	return (size_t)(w - out);
}

/* The same for any JSON object of strings (a new malloc'd packed string), through jansson. */
static char *packed_from_json_text(const char *s)
{
	json_error_t je;
	json_t *o = json_loads(s, 0, &je);
	struct evt_labels ls = EVT_LABELS_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
		if (json_is_string(v))
			evt_labels_set(&ls, k, json_string_value(v));
	json_decref(o);
	char *out = pack_labels(&ls);
	evt_labels_release(&ls);
	return out;
}

static void json_escape(struct buf *b, const char *s)
{
	buf_puts(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_append(b, s, 1);
	}
	buf_puts(b, "\"");
}

/* Compact JSON object of packed labels, keys in byte order (the packed order), as jansson would
 * write it with JSON_SORT_KEYS. */
static char *packed_json_text(const char *p)
{
	struct buf b = BUF_INIT(1 << 20);
	buf_puts(&b, "{");
	bool first = true;
	while (*p) {
		const char *v = p + strlen(p) + 1;
		if (!first)
			buf_puts(&b, ",");
		first = false;
		json_escape(&b, p);
		buf_puts(&b, ":");
		json_escape(&b, v);
		p = v + strlen(v) + 1;
	}
	buf_puts(&b, "}");
	return buf_detach(&b);
}

/* ---- big allocations and the load arena ----
 * A million alarms at start-up means ~2 million small strings and a few hundred MB touched for
 * the first time; page faults, not parsing, dominated the restart. Large tables come from mmap
 * with transparent huge pages, and strings loaded from the store are bump-allocated from 64 MB
 * arenas (str_free() knows not to free those; they are the minority that outlive a refresh). */

static void *big_zalloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, n, MADV_HUGEPAGE);
	return p;
}

static void big_free(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

#define ARENA_SIZE ((size_t)64 << 20)
#define MAX_ARENAS 64

static struct {
	char *base[MAX_ARENAS];
	size_t n, used;
} arenas;

/* n bytes from the current arena, or NULL when n is large or no arena can be had (the caller
 * mallocs instead). */
static char *arena_alloc(size_t n)
{
	if (n > ARENA_SIZE / 4)
		return NULL;
	if (!arenas.n || arenas.used + n > ARENA_SIZE) {
		if (arenas.n == MAX_ARENAS || !(arenas.base[arenas.n] = big_zalloc(ARENA_SIZE)))
			return NULL;
		arenas.n++;
		arenas.used = 0;
	}
	char *d = arenas.base[arenas.n - 1] + arenas.used;
	arenas.used += n;
	return d;
}

/* Gives back the tail of the last arena_alloc() p beyond its first used bytes. */
static void arena_trim(const char *p, size_t used)
{
	arenas.used = (size_t)(p - arenas.base[arenas.n - 1]) + used;
}

static char *arena_copy(const char *s, size_t len)
{
	char *d = arena_alloc(len + 1);
	if (!d)
		d = malloc(len + 1);
	if (d)
		memcpy(d, s, len + 1);
	return d;
}

static void str_free(char *p)
{
	for (size_t i = 0; p && i < arenas.n; i++)
		if (p >= arenas.base[i] && p < arenas.base[i] + ARENA_SIZE)
			return;
	free(p);
}

static size_t packed_len(const char *p)
{
	const char *q = p;
	while (*q) {
		q += strlen(q) + 1;
		q += strlen(q) + 1;
	}
	return (size_t)(q - p);
}

/* ---- alarm pool and index ---- */

static struct alarm *slot_ptr(uint32_t s)
{
	s--;
	return &g.chunks[s >> CHUNK_BITS][s & (CHUNK - 1)];
}

static uint64_t key_hash(uint32_t acct, uint64_t fp)
{
	uint64_t h = fp ^ ((uint64_t)(acct + 1) * 0x9E3779B97F4A7C15ull);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static uint32_t slot_alloc(void)
{
	if (g.free_head) {
		uint32_t s = g.free_head;
		g.free_head = slot_ptr(s)->next_free;
		memset(slot_ptr(s), 0, sizeof(struct alarm));
		return s;
	}
	uint32_t i = g.nslots;
	if ((i >> CHUNK_BITS) >= MAX_CHUNKS)
		return 0;
	if (!g.chunks[i >> CHUNK_BITS]) {
		g.chunks[i >> CHUNK_BITS] = big_zalloc(CHUNK * sizeof(struct alarm));
		if (!g.chunks[i >> CHUNK_BITS])
			return 0;
	}
	g.nslots++;
	memset(slot_ptr(i + 1), 0, sizeof(struct alarm));
	return i + 1;
}

static void index_resize(size_t ncap)
{
	uint32_t *ni = big_zalloc(ncap * sizeof(uint32_t));
	if (!ni)
		return;
	for (size_t i = 0; i < g.icap; i++) {
		uint32_t s = g.index[i];
		if (!s)
			continue;
		struct alarm *a = slot_ptr(s);
		size_t j = key_hash(a->acct, a->fp) & (ncap - 1);
		while (ni[j])
			j = (j + 1) & (ncap - 1);
		ni[j] = s;
	}
	big_free(g.index, g.icap * sizeof(uint32_t));
	g.index = ni;
	g.icap = ncap;
}

static void index_grow(void)
{
	index_resize(g.icap ? g.icap * 2 : 1024);
}

/* Sizes the index for n alarms up front (start-up), so loading never rehashes. */
static void index_reserve(size_t n)
{
	size_t cap = g.icap ? g.icap : 1024;
	while (n * 10 > cap * 7)
		cap *= 2;
	if (cap > g.icap)
		index_resize(cap);
}

static struct alarm *alarm_find(uint32_t acct, uint64_t fp, uint32_t *slot)
{
	if (!g.icap)
		return NULL;
	size_t j = key_hash(acct, fp) & (g.icap - 1);
	while (g.index[j]) {
		struct alarm *a = slot_ptr(g.index[j]);
		if (a->fp == fp && a->acct == acct) {
			if (slot)
				*slot = g.index[j];
			return a;
		}
		j = (j + 1) & (g.icap - 1);
	}
	return NULL;
}

static struct alarm *alarm_add(uint32_t acct, uint64_t fp, uint32_t *slot_out)
{
	if ((g.nalarms + 1) * 10 > g.icap * 7)
		index_grow();
	uint32_t s = slot_alloc();
	if (!s)
		return NULL;
	struct alarm *a = slot_ptr(s);
	a->acct = acct;
	a->fp = fp;
	size_t j = key_hash(acct, fp) & (g.icap - 1);
	while (g.index[j])
		j = (j + 1) & (g.icap - 1);
	g.index[j] = s;
	g.nalarms++;
	if (slot_out)
		*slot_out = s;
	return a;
}

static void alarm_remove(uint32_t acct, uint64_t fp)
{
	size_t j = key_hash(acct, fp) & (g.icap - 1);
	while (g.index[j]) {
		struct alarm *a = slot_ptr(g.index[j]);
		if (a->fp == fp && a->acct == acct)
			break;
		j = (j + 1) & (g.icap - 1);
	}
	uint32_t s = g.index[j];
	if (!s)
		return;
	struct alarm *a = slot_ptr(s);
	str_free(a->labels);
	str_free(a->annot);
	free(a->hist);
	memset(a, 0, sizeof(*a));
	a->next_free = g.free_head;
	g.free_head = s;
	g.nalarms--;
	/* Backward-shift deletion keeps probe chains intact without tombstones. */
	size_t i = j;
	g.index[i] = 0;
	for (size_t k = (i + 1) & (g.icap - 1); g.index[k]; k = (k + 1) & (g.icap - 1)) {
		struct alarm *b = slot_ptr(g.index[k]);
		size_t home = key_hash(b->acct, b->fp) & (g.icap - 1);
		bool move = (i <= k) ? (home <= i || home > k) : (home <= i && home > k);
		if (move) {
			g.index[i] = g.index[k];
			g.index[k] = 0;
			i = k;
		}
	}
}

static void note_expiry(const struct alarm *a)
{
	if (a->state == ST_FIRING && a->ends_at && a->ends_at < g.next_expiry)
		g.next_expiry = a->ends_at;
}

static void mark_dirty(uint32_t slot, struct alarm *a)
{
	note_expiry(a);
	if (a->flags & EVT_AF_DIRTY)
		return;
	if (g.ndirty == g.adirty) {
		g.adirty = g.adirty ? g.adirty * 2 : 1024;
		g.dirty = realloc(g.dirty, g.adirty * sizeof(uint32_t));
	}
	g.dirty[g.ndirty++] = slot;
	a->flags |= EVT_AF_DIRTY;
}

size_t evt_alarm_count(void)
{
	pthread_mutex_lock(&g.lock);
	size_t n = g.nalarms;
	pthread_mutex_unlock(&g.lock);
	return n;
}

/* ---- groups ---- */

static size_t group_bucket(uint32_t acct, uint64_t key, size_t cap)
{
	return (size_t)key_hash(acct, key) & (cap - 1);
}

/* Doubles the bucket array; nodes keep their addresses, so group pointers stay valid. */
static void groups_grow(void)
{
	size_t ncap = g.gcap ? g.gcap * 2 : 4096;
	struct group **nb = calloc(ncap, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < g.gcap; i++) {
		for (struct group *x = g.groups[i], *next; x; x = next) {
			next = x->next;
			size_t b = group_bucket(x->acct, x->key, ncap);
			x->next = nb[b];
			nb[b] = x;
		}
	}
	free(g.groups);
	g.groups = nb;
	g.gcap = ncap;
}

static struct group *group_get(uint32_t acct, uint64_t key, bool create)
{
	if (g.gcap) {
		for (struct group *x = g.groups[group_bucket(acct, key, g.gcap)]; x; x = x->next)
			if (x->key == key && x->acct == acct)
				return x;
	}
	if (!create)
		return NULL;
	if (g.ngroups >= g.gcap)
		groups_grow();
	struct group *x = g.gcap ? calloc(1, sizeof(*x)) : NULL;
	if (!x)
		return NULL;
	x->key = key;
	x->acct = acct;
	size_t b = group_bucket(acct, key, g.gcap);
	x->next = g.groups[b];
	g.groups[b] = x;
	g.ngroups++;
	return x;
}

/* ---- KPIs ---- */

static int32_t day_of(int64_t ms)
{
	return (int32_t)(ms / 86400000);
}

static struct kpi *kpi_get(uint32_t acct, int64_t now)
{
	int32_t d = day_of(now);
	for (size_t i = g.nkpis; i-- > 0;)
		if (g.kpis[i].acct == acct && g.kpis[i].day == d)
			return &g.kpis[i];
	if (g.nkpis == g.akpis) {
		g.akpis = g.akpis ? g.akpis * 2 : 64;
		g.kpis = realloc(g.kpis, g.akpis * sizeof(*g.kpis));
	}
	struct kpi *k = &g.kpis[g.nkpis++];
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

/* ---- rules ---- */

/* Rules may match on "severity" also when the event carried it as a field rather than a label. */
static bool rule_match(const char *packed, uint8_t sev, const struct evt_matchers *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		const char *v = packed_get(packed, ms->v[i].name);
		if (!v && sev && !strcmp(ms->v[i].name, "severity"))
			v = sev_names[sev];
		if (!evt_matcher_matches(&ms->v[i], v ? v : ""))
			return false;
	}
	return true;
}

static const struct evt_rule *rule_for_sev(uint32_t acct, const char *packed, uint8_t sev)
{
	for (size_t i = 0; i < g.nrules; i++) {
		const struct evt_rule *r = &g.rules[i];
		if (r->account[0] && strcmp(r->account, g.accts[acct]))
			continue;
		if (rule_match(packed, sev, &r->match))
			return r;
	}
	return &g.dflt;
}

static const struct evt_rule *rule_for(uint32_t acct, const char *packed)
{
	return rule_for_sev(acct, packed, 0);
}

static const struct evt_rule *rule_by_name(const char *name)
{
	for (size_t i = 0; i < g.nrules; i++)
		if (!strcmp(g.rules[i].name, name))
			return &g.rules[i];
	return &g.dflt;
}

/* ---- suppression ---- */

static const char *silenced_by(uint32_t acct, const char *packed, int64_t now, json_t *ids)
{
	const char *first = NULL;
	for (size_t i = 0; i < g.nsils; i++) {
		struct silence *s = &g.sils[i];
		if (s->acct != acct || now < s->starts_at || now >= s->ends_at)
			continue;
		if (packed_match(packed, &s->m)) {
			if (!first)
				first = s->id;
			if (!ids)
				return first;
			json_array_append_new(ids, json_string(s->id));
		}
	}
	return first;
}

static bool in_maintenance(uint32_t acct, const char *packed, int64_t now)
{
	for (size_t i = 0; i < g.nwins; i++) {
		struct mwindow *w = &g.wins[i];
		if (w->acct == acct && packed_match(packed, &w->m) && evt_window_active(&w->w, (time_t)(now / 1000), NULL))
			return true;
	}
	return false;
}

/* Inhibition: a firing alarm matching a rule's source mutes an alarm matching its target when
 * the `equal` labels agree. Sources are found by scanning firing alarms of the account; the scan
 * only happens for alarms that match some target, which keeps the hot path free of it. */
static bool inhibited_by(uint32_t acct, uint64_t fp, const char *packed, json_t *fps)
{
	bool any = false;
	for (size_t r = 0; r < g.ninhibits; r++) {
		struct evt_inhibit *ih = &g.inhibits[r];
		if (ih->account[0] && strcmp(ih->account, g.accts[acct]))
			continue;
		if (!packed_match(packed, &ih->target))
			continue;
		for (size_t i = 0; i < g.icap; i++) {
			if (!g.index[i])
				continue;
			struct alarm *s = slot_ptr(g.index[i]);
			if (s->acct != acct || s->fp == fp || s->state != ST_FIRING || !packed_match(s->labels, &ih->source))
				continue;
			bool eq = true;
			for (size_t k = 0; k < ih->nequal && eq; k++) {
				const char *a = packed_get(packed, ih->equal[k]), *b = packed_get(s->labels, ih->equal[k]);
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

/* ---- store rows ---- */

static int alarm_row_write(struct store_conn *c, const struct alarm *a, const char *rule)
{
	char *labels = packed_json_text(a->labels);
	int rc = store_exec(
		c,
		"INSERT INTO evt_alarms (account, fp, state, flags, severity, source, labels, annotations, starts_at, "
		"ends_at, updated_at, first_seen, count, incident, grp, rule, problem) "
		"VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) "
		"ON CONFLICT (account, fp) DO UPDATE SET state=$3, flags=$4, severity=$5, source=$6, annotations=$8, "
		"starts_at=$9, ends_at=$10, updated_at=$11, count=$13, incident=$14, grp=$15, rule=$16, problem=$17",
		SARGS(ST(g.accts[a->acct]), SI((int64_t)a->fp), SI(a->state), SI(a->flags & ~EVT_AF_DIRTY),
		      ST(sev_names[a->sev]), ST(src_names[a->src]), ST(labels), ST(a->annot), SI(a->starts_at),
		      SI(a->ends_at), SI(a->updated_at), SI(a->first_seen), SI(a->count), SI(a->incident),
		      SI((int64_t)a->grp), ST(rule), SI(a->problem)),
		NULL);
	free(labels);
	return rc;
}

/* ---- incidents ---- */

static const char *sev_from_event(const struct alarm *a)
{
	if (a->sev)
		return sev_names[a->sev];
	const char *s = packed_get(a->labels, "severity");
	if (!s)
		return "medium";
	if (!strcmp(s, "critical") || !strcmp(s, "page") || !strcmp(s, "emergency") || !strcmp(s, "fatal"))
		return "critical";
	if (!strcmp(s, "error") || !strcmp(s, "high") || !strcmp(s, "major"))
		return "high";
	if (!strcmp(s, "info") || !strcmp(s, "low") || !strcmp(s, "none") || !strcmp(s, "minor"))
		return "low";
	return "medium";
}

static void sev_levels(const char *sev, const char **impact, const char **urgency)
{
	if (!strcmp(sev, "critical")) {
		*impact = "high";
		*urgency = "high";
	} else if (!strcmp(sev, "high")) {
		*impact = "high";
		*urgency = "medium";
	} else if (!strcmp(sev, "low") || !strcmp(sev, "info")) {
		*impact = "low";
		*urgency = "low";
	} else {
		*impact = "medium";
		*urgency = "medium";
	}
}

static void inc_id(uint32_t n, char out[24])
{
	snprintf(out, 24, "INC-%u", n);
}

static json_t *alarm_entry(const struct alarm *a, const char *event)
{
	char f[EVT_FINGERPRINT_LEN + 1], ts[32], te[32];
	evt_fingerprint_format(a->fp, f);
	time_fmt_ms(a->starts_at, ts, sizeof(ts));
	time_fmt_ms(a->ends_at, te, sizeof(te));
	json_t *o = json_pack("{s:s,s:s,s:o,s:s}", "event", event, "fingerprint", f, "labels", packed_json(a->labels),
			      "starts_at", ts);
	if (a->ends_at && !strcmp(event, "resolved"))
		json_object_set_new(o, "ends_at", json_string(te));
	if (a->annot) {
		json_error_t je;
		json_t *an = json_loads(a->annot, 0, &je);
		if (an)
			json_object_set_new(o, "annotations", an);
	}
	return o;
}

/* The alarm as automation's hooks take it (automation.h); a new reference. "incident" is left out:
 * automation resolves that ticket when a remediation succeeds, which is only right for an incident
 * of this alarm alone, so the caller adds it once it knows. */
static json_t *alarm_hook_json(const struct alarm *a)
{
	char f[EVT_FINGERPRINT_LEN + 1], ts[32];
	evt_fingerprint_format(a->fp, f);
	time_fmt_ms(a->starts_at, ts, sizeof(ts));
	json_t *an = a->annot ? json_loads(a->annot, 0, NULL) : NULL;
	if (!json_is_object(an)) {
		json_decref(an);
		an = json_object();
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:s,s:s}", "account", g.accts[a->acct], "fingerprint", f, "labels",
			 packed_json(a->labels), "annotations", an, "status", "firing", "starts_at", ts);
}

/* Opens an incident for alarm a and queues the diagnostics runbooks matching it (hook_alarm, which
 * gets "incident"; may be NULL) in the same write. */
static int incident_open(struct store_conn *c, const struct alarm *a, const struct evt_rule *r,
			 const struct evt_labels *glabels, const char *actor, json_t *hook_alarm, uint32_t *num)
{
	const char *sev = r->severity[0] ? r->severity : sev_from_event(a);
	const char *impact, *urgency;
	sev_levels(sev, &impact, &urgency);
	const char *summary = NULL;
	json_t *an = NULL;
	if (a->annot) {
		json_error_t je;
		an = json_loads(a->annot, 0, &je);
		summary = json_string_value(json_object_get(an, "summary"));
		if (!summary)
			summary = json_string_value(json_object_get(an, "description"));
	}
	const char *name = packed_get(a->labels, "alertname");
	char title[200];
	if (name) {
		char *gk = NULL;
		evt_labels_format(glabels, &gk);
		snprintf(title, sizeof(title), "%s %s", name, gk ? gk : "");
		free(gk);
	} else {
		name = summary ? summary : packed_get(a->labels, "resource");
		snprintf(title, sizeof(title), "%s", name ? name : "alarm");
	}
	json_t *t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "account", g.accts[a->acct], "title", title,
			      "description", summary ? summary : "", "source", "monitoring", "impact", impact,
			      "urgency", urgency, "severity", strcmp(sev, "info") ? sev : "low", "group_labels",
			      evt_labels_to_json(glabels), "rule", r->name);
	json_decref(an);
	json_object_set_new(t, "priority", json_string(r->priority[0] ? r->priority : tkt_priority(impact, urgency)));
	json_object_set_new(t, "severity_set", json_true());
	int rc = tkt_insert(c, tkt_kind(TKT_INCIDENT), t, actor);
	if (!rc)
		rc = audit_append(c, actor, g.accts[a->acct], "incident.open", json_string_value(json_object_get(t, "id")),
				  NULL, t);
	if (!rc)
		rc = outbox_add(c, "incident.opened", g.accts[a->acct], NULL, t);
	if (!rc && hook_alarm) {
		json_object_set(hook_alarm, "incident", json_object_get(t, "id"));
		rc = rb_on_incident(c, t, hook_alarm, NULL);
	}
	if (!rc) {
		const char *id = json_string_value(json_object_get(t, "id"));
		*num = (uint32_t)strtoul(id + 4, NULL, 10);
	}
	json_decref(t);
	return rc;
}

/* Current status of INC-num, "" when unknown. */
static void incident_status(struct store_conn *c, uint32_t num, char out[32])
{
	char id[24], *s = NULL;
	inc_id(num, id);
	out[0] = '\0';
	if (!store_query_str(c, "SELECT status FROM tickets WHERE id = $1", SARGS(ST(id)), &s) && s)
		snprintf(out, 32, "%s", s);
	free(s);
}

static int incident_set_status(struct store_conn *c, uint32_t num, const char *to, const char *actor,
			       const char *note)
{
	char id[24];
	inc_id(num, id);
	json_t *t = NULL;
	int rc = tkt_load(c, id, &t);
	if (rc)
		return rc == FW_ENOTFOUND ? 0 : rc;
	const char *from = json_string_value(json_object_get(t, "status"));
	if (!from || !strcmp(from, to) || tkt_check_transition(TKT_INCIDENT, from, to, PERM_ALL, NULL)) {
		json_decref(t);
		return 0;
	}
	rc = tkt_set_status(c, t, to, actor, note);
	if (!rc)
		rc = audit_append(c, actor, json_string_value(json_object_get(t, "account")), "incident.status", id, NULL, t);
	json_decref(t);
	return rc;
}

static int problem_open(struct store_conn *c, struct alarm *a, const struct evt_rule *r, const char *actor)
{
	char status[32] = "";
	if (a->problem) {
		char id[24], *s = NULL;
		snprintf(id, sizeof(id), "PRB-%u", a->problem);
		if (!store_query_str(c, "SELECT status FROM tickets WHERE id = $1", SARGS(ST(id)), &s) && s)
			snprintf(status, sizeof(status), "%s", s);
		free(s);
		if (status[0] && strcmp(status, "resolved") && strcmp(status, "closed"))
			return 0; /* still open */
	}
	const char *name = packed_get(a->labels, "alertname");
	char *ls = NULL;
	evt_labels_format(&(struct evt_labels){ 0 }, &ls);
	free(ls);
	char *lab = packed_json_text(a->labels);
	char title[200];
	snprintf(title, sizeof(title), "Recurring alarm %s", name ? name : lab);
	char desc[1024];
	snprintf(desc, sizeof(desc), "Alarm %s fired %u times within %lld minutes (rule %s).", lab,
		 r->problem_threshold, (long long)(r->problem_window_ms / 60000), r->name);
	free(lab);
	json_t *t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "account", g.accts[a->acct], "title", title,
			      "description", desc, "source", "monitoring", "impact", "medium", "urgency", "medium",
			      "rule", r->name);
	json_object_set_new(t, "priority", json_string(tkt_priority("medium", "medium")));
	json_object_set_new(t, "severity", json_string("medium"));
	int rc = tkt_insert(c, tkt_kind(TKT_PROBLEM), t, actor);
	if (!rc) {
		const char *id = json_string_value(json_object_get(t, "id"));
		a->problem = (uint32_t)strtoul(id + 4, NULL, 10);
		rc = audit_append(c, actor, g.accts[a->acct], "problem.open", id, NULL, t);
		if (!rc && a->incident) {
			char inc[24];
			inc_id(a->incident, inc);
			rc = tkt_link(c, inc, id, "problem");
		}
	}
	json_decref(t);
	return rc;
}

/* ---- the pipeline, in the writer ---- */

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
		inc_id(a->incident, res->incident);
	else
		res->incident[0] = '\0';
	snprintf(res->suppressed, sizeof(res->suppressed), "%s", supp ? supp : "");
}

/* Refreshes a firing alarm with a repeat, following Alertmanager's merge rules. */
static void refresh(struct alarm *a, const struct evt_event *ev, const char *annot, int64_t now, bool *annot_taken)
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
	if (annot && (!a->annot || strcmp(a->annot, annot))) {
		str_free(a->annot);
		a->annot = (char *)annot;
		*annot_taken = true;
	}
}

static bool ev_firing(const struct evt_event *ev, int64_t now)
{
	return !(ev->ends_at && ev->ends_at <= now);
}

/* Applies one state-changing event. Called with g.lock held, inside the writer transaction. */
static int apply(struct store_conn *c, struct pending *p, int64_t now, const char *actor)
{
	struct evt_event *ev = p->ev;
	uint32_t acct = acct_idx(ev->account), slot = 0;
	struct alarm *a = alarm_find(acct, p->fp, &slot);
	bool firing = ev_firing(ev, now);
	bool taken = false;
	int rc = 0;
	struct kpi *k = kpi_get(acct, now);

	if (ev->acknowledge) {
		if (a && a->state == ST_FIRING) {
			a->flags |= EVT_AF_ACKED;
			if (a->incident)
				rc = incident_set_status(c, a->incident, "acknowledged", actor, "acknowledged by the event source");
			if (!rc)
				rc = alarm_row_write(c, a, NULL);
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
		refresh(a, ev, p->annot, now, &taken);
		if (taken)
			p->annot = NULL;
		mark_dirty(slot, a);
		set_result(p->res, a, "firing", NULL);
		return 0;
	}
	if (a && a->state == ST_RESOLVED && !firing) {
		a->updated_at = now;
		a->count++;
		mark_dirty(slot, a);
		set_result(p->res, a, "resolved", NULL);
		return 0;
	}

	if (!a) {
		a = alarm_add(acct, p->fp, &slot);
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
	a->sev = name_idx(sev_names, ev->severity);
	a->src = name_idx(src_names, ev->source);
	const struct evt_rule *r = rule_for_sev(acct, a->labels, a->sev);
	if (p->annot && (!a->annot || strcmp(a->annot, p->annot))) {
		str_free(a->annot);
		a->annot = p->annot;
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
		struct group *gr = a->grp ? group_get(acct, a->grp, false) : NULL;
		if (a->incident) {
			char id[24];
			inc_id(a->incident, id);
			json_t *body = alarm_entry(a, "resolved");
			rc = tkt_timeline_add(c, id, actor, "alarm", "internal", body);
			json_decref(body);
			if (!rc && gr && gr->incident == a->incident && gr->firing > 0 && --gr->firing == 0) {
				gr->resolved_at = now;
				if (rule_by_name(gr->rule)->auto_resolve)
					rc = incident_set_status(c, a->incident, "resolved", actor,
								 "every alarm of the group resolved");
			}
		}
		if (!rc)
			rc = alarm_row_write(c, a, gr ? gr->rule : r->name);
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

	if (r->action == EVT_ACT_NON_IMPACTING) {
		a->flags |= EVT_AF_NONIMPACT;
		supp = "non_impacting";
	} else if (a->hist && evt_flap_is_flapping(&a->hist->changes, (time_t)(now / 1000),
						   (time_t)(r->flap_window_ms / 1000), r->flap_threshold)) {
		a->flags |= EVT_AF_FLAPPING;
		supp = "flapping";
	} else if (silenced_by(acct, a->labels, now, NULL)) {
		a->flags |= EVT_AF_SILENCED;
		supp = "silenced";
	} else if (in_maintenance(acct, a->labels, now)) {
		a->flags |= EVT_AF_MAINT;
		supp = "maintenance";
	} else if (inhibited_by(acct, a->fp, a->labels, NULL)) {
		a->flags |= EVT_AF_INHIBITED;
		supp = "inhibited";
	}
	if (supp)
		k->suppressed++;

	if (r->problem_threshold && a->hist && !(a->flags & EVT_AF_NONIMPACT) &&
	    evt_flap_count(&a->hist->firings, (time_t)(now / 1000), (time_t)(r->problem_window_ms / 1000)) >=
		    r->problem_threshold)
		rc = problem_open(c, a, r, actor);

	/* Automation sees every alarm that starts firing and is not suppressed (a silenced, flapping or
	 * maintained alarm is not acted on). A remediation that asked to hold the incident back keeps
	 * this alarm out of incidents; automation opens one if the remediation fails, and resolves the
	 * alarm through resolve_for_automation() if it succeeds. */
	json_t *hook = NULL;
	bool held = false;
	if (!rc && !supp) {
		struct rb_alarm_result ar = { 0 };
		hook = alarm_hook_json(a);
		rc = rb_on_alarm(c, hook, &ar);
		held = ar.outcome == RB_ALARM_REMEDIATING && ar.prevent_incident;
	}
	if (held) {
		/* Left over from an earlier episode: resolving must not count this alarm out of a
		 * group it never joined this time. */
		a->incident = 0;
	}
	if (!rc && !supp && !held && r->action == EVT_ACT_INCIDENT) {
		struct evt_labels ls = EVT_LABELS_INIT, gl = EVT_LABELS_INIT;
		unpack_labels(a->labels, &ls);
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
		struct group *gr = group_get(acct, gkey, true);
		if (!gr) {
			evt_labels_release(&ls);
			evt_labels_release(&gl);
			json_decref(hook);
			return FW_ENOMEM;
		}
		snprintf(gr->rule, sizeof(gr->rule), "%s", r->name);
		char status[32] = "";
		if (gr->incident)
			incident_status(c, gr->incident, status);
		bool open = status[0] && strcmp(status, "resolved") && strcmp(status, "closed") &&
			    strcmp(status, "reclassified");
		bool reopen = !open && !strcmp(status, "resolved") && gr->resolved_at &&
			      now - gr->resolved_at < r->group_window_ms;
		if (open || reopen) {
			if (reopen)
				rc = incident_set_status(c, gr->incident, "investigating", actor,
							 "an alarm of the group fired again within the group window");
			char id[24];
			inc_id(gr->incident, id);
			json_t *body = alarm_entry(a, "firing");
			if (!rc)
				rc = tkt_timeline_add(c, id, actor, "alarm", "internal", body);
			json_decref(body);
			if (a->incident != gr->incident || !was_state)
				k->grouped++;
			a->incident = gr->incident;
			gr->firing++;
		} else {
			uint32_t num = 0;
			rc = incident_open(c, a, r, &gl, actor, hook, &num);
			if (!rc) {
				char id[24];
				inc_id(num, id);
				json_t *body = alarm_entry(a, "firing");
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
	}
	json_decref(hook);
	if (!rc)
		rc = alarm_row_write(c, a, r->name);
	note_expiry(a);
	set_result(p->res, a, "firing", supp);
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
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < x->n && !rc; i++)
		rc = apply(c, &x->p[i], now, x->actor);
	pthread_mutex_unlock(&g.lock);
	return rc;
}

/* Registered with automation (rb_set_alarm_resolver): resolves the alarm (account, fingerprint) in
 * automation's own write, exactly as a "resolved" event would (row, timeline, the group's
 * auto-resolve). Memory changes inside the write, as for events (docs/internals/events.md). An alarm
 * that is unknown or no longer firing is left alone and counts as done: automation must not roll
 * back its finished execution for an alarm that resolved meanwhile. */
static int resolve_for_automation(struct store_conn *c, const char *account, const char *fingerprint,
				  const char *actor)
{
	uint64_t fp = 0;
	if (!account || !fingerprint || evt_fingerprint_parse(fingerprint, &fp))
		return 0;
	int rc = 0;
	int64_t now = time_now_ms();
	pthread_mutex_lock(&g.lock);
	wait_loaded();
	int ai = acct_find(account);
	struct alarm *a = ai < 0 ? NULL : alarm_find((uint32_t)ai, fp, NULL);
	if (a && a->state == ST_FIRING) {
		struct evt_event ev = { 0 };
		snprintf(ev.account, sizeof(ev.account), "%s", account);
		ev.source = src_names[a->src];
		ev.severity = a->sev ? sev_names[a->sev] : NULL;
		ev.starts_at = a->starts_at;
		ev.ends_at = now;
		struct pending p = { .ev = &ev, .fp = fp };
		rc = apply(c, &p, now, actor);
		free(p.packed);
		free(p.annot);
	}
	pthread_mutex_unlock(&g.lock);
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
	if (!work)
		return FW_ENOMEM;
	size_t nt = 0;
	int rc = 0;
	int64_t now = time_now_ms();
	pthread_mutex_lock(&g.lock);
	wait_loaded();
	for (size_t i = 0; i < n; i++) {
		uint64_t fp = evt_labels_fingerprint(&ev[i].labels);
		if (res) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].fp = fp;
		}
		uint32_t acct = acct_idx(ev[i].account), slot = 0;
		kpi_get(acct, now)->events++;
		struct alarm *a = alarm_find(acct, fp, &slot);
		char *an = ev[i].annot_json ? strdup(ev[i].annot_json) : annot_text(ev[i].annotations);
		/* The hot path: a repeat of a firing alarm (or of a resolved one) changes no state. */
		if (a && !ev[i].acknowledge && a->state == (ev_firing(&ev[i], now) ? ST_FIRING : ST_RESOLVED)) {
			bool taken = false;
			if (a->state == ST_FIRING) {
				refresh(a, &ev[i], an, now, &taken);
			} else {
				a->updated_at = now;
				a->count++;
			}
			if (!taken)
				free(an);
			mark_dirty(slot, a);
			set_result(res ? &res[i] : NULL, a, a->state == ST_FIRING ? "firing" : "resolved", NULL);
			continue;
		}
		work[nt].ev = &ev[i];
		work[nt].res = res ? &res[i] : NULL;
		work[nt].fp = fp;
		work[nt].annot = an;
		work[nt].packed = a ? NULL : pack_labels(&ev[i].labels);
		nt++;
	}
	pthread_mutex_unlock(&g.lock);
	for (size_t i = 0; i < nt; i++)
		if (!work[i].packed && !work[i].ev->acknowledge)
			work[i].packed = pack_labels(&work[i].ev->labels);
	if (nt) {
		struct ingest_ctx x = { work, nt, actor };
		rc = store_write(g.store, ingest_tx, &x);
		if (rc)
			log_msg(LOG_ERROR, "events: could not store %zu state changes (%s)", nt, fw_strerror(rc));
	}
	for (size_t i = 0; i < nt; i++) {
		free(work[i].packed);
		free(work[i].annot);
	}
	free(work);
	return rc;
}

/* ---- reading ---- */

static void view_fill(struct evt_alarm_view *v, const struct alarm *a, int64_t now)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->account, sizeof(v->account), "%s", g.accts[a->acct]);
	v->fp = a->fp;
	v->firing = a->state == ST_FIRING && !(a->ends_at && a->ends_at <= now);
	v->flags = a->flags & ~EVT_AF_DIRTY;
	snprintf(v->severity, sizeof(v->severity), "%s", sev_names[a->sev]);
	snprintf(v->source, sizeof(v->source), "%s", src_names[a->src]);
	unpack_labels(a->labels, &v->labels);
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
	struct group *gr = a->grp ? group_get(a->acct, a->grp, false) : NULL;
	snprintf(v->rule, sizeof(v->rule), "%s", gr ? gr->rule : rule_for_sev(a->acct, a->labels, a->sev)->name);
	v->silenced_by = json_array();
	v->inhibited_by = json_array();
	if (v->firing) {
		silenced_by(a->acct, a->labels, now, v->silenced_by);
		inhibited_by(a->acct, a->fp, a->labels, v->inhibited_by);
		v->in_maintenance = in_maintenance(a->acct, a->labels, now);
	}
}

static int view_cmp(const void *x, const void *y)
{
	const struct evt_alarm_view *a = x, *b = y;
	if (a->fp != b->fp)
		return a->fp < b->fp ? -1 : 1;
	return strcmp(a->account, b->account);
}

int evt_alarms_list(evt_visible_fn fn, void *arg, const struct evt_matchers *ms, bool only_active,
		    struct evt_alarm_view **out, size_t *n)
{
	int64_t now = time_now_ms();
	pthread_mutex_lock(&g.lock);
	wait_loaded();
	bool *vis = calloc(g.naccts + 1, sizeof(bool));
	for (uint32_t i = 0; i < g.naccts; i++)
		vis[i] = fn(g.accts[i], arg);
	size_t cap = 64, cnt = 0;
	struct evt_alarm_view *v = malloc(cap * sizeof(*v));
	for (size_t i = 0; i < g.icap; i++) {
		if (!g.index[i])
			continue;
		struct alarm *a = slot_ptr(g.index[i]);
		if (!vis[a->acct])
			continue;
		if (only_active && (a->state != ST_FIRING || (a->ends_at && a->ends_at <= now)))
			continue;
		if (ms && !packed_match(a->labels, ms))
			continue;
		if (cnt == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
		}
		view_fill(&v[cnt++], a, now);
	}
	pthread_mutex_unlock(&g.lock);
	free(vis);
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

int evt_alarm_get(const char *account, uint64_t fp, struct evt_alarm_view *out)
{
	int rc = FW_ENOTFOUND;
	pthread_mutex_lock(&g.lock);
	wait_loaded();
	int ai = acct_find(account);
	struct alarm *a = ai >= 0 ? alarm_find((uint32_t)ai, fp, NULL) : NULL;
	if (a) {
		view_fill(out, a, time_now_ms());
		rc = 0;
	}
	pthread_mutex_unlock(&g.lock);
	return rc;
}

json_t *evt_group_labels(const char *account, const struct evt_labels *ls, char rule[64])
{
	pthread_mutex_lock(&g.lock);
	char *p = pack_labels(ls);
	int ai = acct_find(account);
	const struct evt_rule *r = ai >= 0 ? rule_for((uint32_t)ai, p) : &g.dflt;
	struct evt_labels gl = EVT_LABELS_INIT;
	evt_labels_select(ls, &r->group_by, &gl);
	snprintf(rule, 64, "%s", r->name);
	pthread_mutex_unlock(&g.lock);
	free(p);
	json_t *o = evt_labels_to_json(&gl);
	evt_labels_release(&gl);
	return o;
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
	for (size_t i = 0; i < g.nsils; i++)
		if (!strcmp(g.sils[i].id, id))
			return &g.sils[i];
	return NULL;
}

static int sil_row(struct store_conn *c, const struct silence *s)
{
	json_t *m = evt_matchers_to_json(&s->m);
	char *ms = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	int rc = store_exec(c,
			    "INSERT INTO evt_silences (id, account, matchers, starts_at, ends_at, updated_at, created_by, "
			    "comment) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (id) DO UPDATE SET matchers=$3, "
			    "starts_at=$4, ends_at=$5, updated_at=$6, created_by=$7, comment=$8",
			    SARGS(ST(s->id), ST(g.accts[s->acct]), ST(ms), SI(s->starts_at), SI(s->ends_at),
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
	pthread_mutex_lock(&g.lock);
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
				rc = audit_append(c, x->actor, g.accts[s->acct], "silence.expire", s->id, NULL, NULL);
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
				rc = audit_append(c, x->actor, g.accts[s->acct], "silence.update", s->id, NULL, NULL);
		}
	} else if (!rc && x->neu) {
		if (g.nsils == g.asils) {
			g.asils = g.asils ? g.asils * 2 : 16;
			g.sils = realloc(g.sils, g.asils * sizeof(*g.sils));
		}
		rc = sil_row(c, x->neu);
		if (!rc)
			rc = audit_append(c, x->actor, g.accts[x->neu->acct], "silence.create", x->neu->id, NULL, NULL);
		if (!rc) {
			g.sils[g.nsils++] = *x->neu;
			free(x->neu);
			x->neu = NULL;
		}
	}
	pthread_mutex_unlock(&g.lock);
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

int evt_silence_put(const char *account, const char *id, const json_t *matchers, int64_t starts_at, int64_t ends_at,
		    const char *created_by, const char *comment, const char *actor, char id_out[40], struct fw_error *e)
{
	int64_t now = time_now_ms();
	if (starts_at >= ends_at)
		return fw_fail(e, 400, "invalid_silence", "Failed to create silence: start time must be before end time");
	if (ends_at < now)
		return fw_fail(e, 400, "invalid_silence", "Failed to create silence: end time can't be in the past");
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
	pthread_mutex_lock(&g.lock);
	s->acct = acct_idx(account);
	if (id && *id) {
		struct silence *old = sil_find(id);
		if (!old || old->acct != s->acct) {
			pthread_mutex_unlock(&g.lock);
			sil_release(s);
			free(s);
			return fw_fail(e, 404, "not_found", "silence not found");
		}
		const char *st = sil_state(old, now);
		bool same = evt_matchers_equal(&old->m, &s->m);
		bool ok = same && ((!strcmp(st, "active") && old->starts_at / 1000 == starts_at / 1000 && ends_at >= now) ||
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
	pthread_mutex_unlock(&g.lock);
	rc = store_write(g.store, sil_tx, &x);
	if (x.neu) {
		sil_release(x.neu);
		free(x.neu);
	}
	return rc;
}

int evt_silence_expire(const char *id, evt_visible_fn fn, void *arg, const char *actor)
{
	pthread_mutex_lock(&g.lock);
	struct silence *s = sil_find(id);
	bool ok = s && fn(g.accts[s->acct], arg);
	bool expired = s && !strcmp(sil_state(s, time_now_ms()), "expired");
	pthread_mutex_unlock(&g.lock);
	if (!ok)
		return FW_ENOTFOUND;
	if (expired)
		return 0;
	struct sil_ctx x = { .actor = actor, .now = time_now_ms() };
	snprintf(x.expire_id, sizeof(x.expire_id), "%s", id);
	return store_write(g.store, sil_tx, &x);
}

static void sil_view(struct evt_silence_view *v, const struct silence *s, int64_t now)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", s->id);
	snprintf(v->account, sizeof(v->account), "%s", g.accts[s->acct]);
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
	pthread_mutex_lock(&g.lock);
	struct evt_silence_view *v = calloc(g.nsils + 1, sizeof(*v));
	size_t cnt = 0;
	for (size_t i = 0; i < g.nsils; i++)
		if (fn(g.accts[g.sils[i].acct], arg))
			sil_view(&v[cnt++], &g.sils[i], now);
	pthread_mutex_unlock(&g.lock);
	qsort(v, cnt, sizeof(*v), sil_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

int evt_silence_get(const char *id, struct evt_silence_view *out)
{
	pthread_mutex_lock(&g.lock);
	struct silence *s = sil_find(id);
	if (s)
		sil_view(out, s, time_now_ms());
	pthread_mutex_unlock(&g.lock);
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
		rc = store_query_int(c, "UPDATE counters SET value = value + 1 WHERE name = 'MW' RETURNING value", SNOARGS,
				     &n);
		if (rc)
			return rc;
		snprintf(x->neu->id, sizeof(x->neu->id), "MW-%lld", (long long)n);
		json_object_set_new(x->neu->doc, "id", json_string(x->neu->id));
		char *doc = json_dumps(x->neu->doc, JSON_COMPACT);
		pthread_mutex_lock(&g.lock);
		const char *acct = g.accts[x->neu->acct];
		pthread_mutex_unlock(&g.lock);
		rc = store_exec(c, "INSERT INTO evt_windows (id, account, doc, created_at) VALUES ($1,$2,$3,$4)",
				SARGS(ST(x->neu->id), ST(acct), ST(doc), SI(time_now_ms())), NULL);
		free(doc);
		if (!rc)
			rc = audit_append(c, x->actor, acct, "maintenance_window.create", x->neu->id, NULL, x->neu->doc);
		if (!rc) {
			pthread_mutex_lock(&g.lock);
			if (g.nwins == g.awins) {
				g.awins = g.awins ? g.awins * 2 : 16;
				g.wins = realloc(g.wins, g.awins * sizeof(*g.wins));
			}
			g.wins[g.nwins++] = *x->neu;
			pthread_mutex_unlock(&g.lock);
			free(x->neu);
			x->neu = NULL;
		}
		return rc;
	}
	rc = store_exec(c, "DELETE FROM evt_windows WHERE id = $1", SARGS(ST(x->del_id)), NULL);
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < g.nwins; i++) {
		if (strcmp(g.wins[i].id, x->del_id))
			continue;
		if (!rc)
			rc = audit_append(c, x->actor, g.accts[g.wins[i].acct], "maintenance_window.delete", x->del_id, NULL,
					  NULL);
		if (!rc) {
			evt_matchers_release(&g.wins[i].m);
			json_decref(g.wins[i].doc);
			g.wins[i] = g.wins[--g.nwins];
		}
		break;
	}
	pthread_mutex_unlock(&g.lock);
	return rc;
}

static int win_parse(struct mwindow *w, const json_t *doc, struct fw_error *e)
{
	evt_matchers_init(&w->m);
	int rc = evt_window_from_json(&w->w, doc, e);
	if (!rc)
		rc = evt_matchers_from_any(&w->m, json_object_get(doc, "matchers"), e);
	return rc;
}

int evt_window_create(const char *account, const json_t *doc, const char *actor, json_t **out, struct fw_error *e)
{
	if (!json_is_object(doc))
		return fw_fail(e, 422, "invalid_type", "a maintenance window must be an object");
	const json_t *nm = json_object_get(doc, "name");
	if (nm && (!json_is_string(nm) || json_string_length(nm) > 200))
		return fw_fail(e, 422, "invalid_field", "field 'name' must be a string of at most 200 bytes");
	struct mwindow *w = calloc(1, sizeof(*w));
	int rc = win_parse(w, doc, e);
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
	pthread_mutex_lock(&g.lock);
	w->acct = acct_idx(account);
	pthread_mutex_unlock(&g.lock);
	struct win_ctx x = { .neu = w, .actor = actor };
	json_incref(w->doc);
	json_t *d = w->doc;
	rc = store_write(g.store, win_tx, &x);
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
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < g.nwins; i++)
		if (!strcmp(g.wins[i].id, id))
			ok = fn(g.accts[g.wins[i].acct], arg);
	pthread_mutex_unlock(&g.lock);
	if (!ok)
		return FW_ENOTFOUND;
	struct win_ctx x = { .actor = actor };
	snprintf(x.del_id, sizeof(x.del_id), "%s", id);
	return store_write(g.store, win_tx, &x);
}

json_t *evt_windows_list(evt_visible_fn fn, void *arg, int64_t from, int64_t to)
{
	json_t *items = json_array();
	time_t now = (time_t)(time_now_ms() / 1000);
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < g.nwins; i++) {
		struct mwindow *w = &g.wins[i];
		if (!fn(g.accts[w->acct], arg))
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
	pthread_mutex_unlock(&g.lock);
	return items;
}

/* ---- rules ---- */

/* Loads all rules from the store into memory (replacing the current set) and re-evaluates nothing:
 * rules apply to state changes from now on. */
static int rules_load(struct store_conn *c)
{
	struct store_rows *rows;
	int rc = store_query(c, "SELECT kind, doc FROM evt_rules ORDER BY position, name", SNOARGS, &rows);
	if (rc)
		return rc;
	struct evt_rule *rules = NULL;
	struct evt_inhibit *inh = NULL;
	size_t nr = 0, ni = 0;
	while (store_next(rows) == 1) {
		json_error_t je;
		json_t *doc = json_loads(store_text(rows, 1), 0, &je);
		struct fw_error e;
		if (!strcmp(store_text(rows, 0), "inhibit")) {
			inh = realloc(inh, (ni + 1) * sizeof(*inh));
			if (evt_inhibit_from_json(&inh[ni], doc, &e))
				log_msg(LOG_WARN, "events: skipping stored inhibit rule: %s", e.message);
			else
				ni++;
		} else {
			rules = realloc(rules, (nr + 1) * sizeof(*rules));
			if (evt_rule_from_json(&rules[nr], doc, &e))
				log_msg(LOG_WARN, "events: skipping stored rule: %s", e.message);
			else
				nr++;
		}
		json_decref(doc);
	}
	store_rows_free(rows);
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < g.nrules; i++)
		evt_rule_release(&g.rules[i]);
	for (size_t i = 0; i < g.ninhibits; i++)
		evt_inhibit_release(&g.inhibits[i]);
	free(g.rules);
	free(g.inhibits);
	g.rules = rules;
	g.nrules = nr;
	g.inhibits = inh;
	g.ninhibits = ni;
	pthread_mutex_unlock(&g.lock);
	return 0;
}

json_t *evt_rules_json(void)
{
	json_t *r = json_array(), *i = json_array();
	struct store_rows *rows;
	if (!store_query(store_reader(g.store),
			 "SELECT kind, doc, origin, position FROM evt_rules ORDER BY position, name", SNOARGS, &rows)) {
		while (store_next(rows) == 1) {
			json_error_t je;
			json_t *doc = json_loads(store_text(rows, 1), 0, &je);
			if (!doc)
				continue;
			json_object_set_new(doc, "origin", json_string(store_text(rows, 2)));
			json_object_set_new(doc, "position", json_integer(store_int(rows, 3)));
			json_array_append_new(strcmp(store_text(rows, 0), "inhibit") ? r : i, doc);
		}
		store_rows_free(rows);
	}
	return json_pack("{s:o,s:o}", "rules", r, "inhibit_rules", i);
}

struct rule_ctx {
	const char *name, *kind, *origin, *actor;
	char *doc;
	int64_t position; /* -1: append */
	bool del;
	bool replace_file; /* file reload: drop other file rules first */
};

static int rule_tx(struct store_conn *c, void *arg)
{
	struct rule_ctx *x = arg;
	int rc;
	if (x->del) {
		int64_t ch = 0;
		rc = store_exec(c, "DELETE FROM evt_rules WHERE name = $1", SARGS(ST(x->name)), &ch);
		if (!rc && !ch)
			return FW_ENOTFOUND;
	} else {
		int64_t pos = x->position;
		if (pos < 0) {
			if (store_query_int(c, "SELECT position FROM evt_rules WHERE name = $1", SARGS(ST(x->name)), &pos))
				store_query_int(c, "SELECT COALESCE(MAX(position), 0) + 10 FROM evt_rules", SNOARGS, &pos);
		}
		rc = store_exec(c,
				"INSERT INTO evt_rules (name, kind, position, origin, doc, updated_at) VALUES ($1,$2,$3,$4,$5,$6) "
				"ON CONFLICT (name) DO UPDATE SET kind=$2, position=$3, origin=$4, doc=$5, updated_at=$6",
				SARGS(ST(x->name), ST(x->kind), SI(pos), ST(x->origin), ST(x->doc), SI(time_now_ms())), NULL);
	}
	if (!rc)
		rc = audit_append(c, x->actor, NULL, x->del ? "rule.delete" : "rule.put", x->name, NULL, NULL);
	if (!rc)
		rc = rules_load(c);
	return rc;
}

int evt_rule_put(const json_t *doc, bool inhibit, const char *origin, const char *actor, struct fw_error *e)
{
	int rc;
	char name[64];
	json_t *norm;
	if (inhibit) {
		struct evt_inhibit ih;
		if ((rc = evt_inhibit_from_json(&ih, doc, e)))
			return rc;
		snprintf(name, sizeof(name), "%s", ih.name);
		norm = json_incref(ih.doc);
		evt_inhibit_release(&ih);
	} else {
		struct evt_rule r;
		if ((rc = evt_rule_from_json(&r, doc, e)))
			return rc;
		snprintf(name, sizeof(name), "%s", r.name);
		norm = json_incref(r.doc);
		evt_rule_release(&r);
	}
	struct rule_ctx x = { .name = name, .kind = inhibit ? "inhibit" : "rule", .origin = origin, .actor = actor,
			      .position = -1 };
	const json_t *pos = json_object_get(doc, "position");
	if (json_is_integer(pos))
		x.position = json_integer_value(pos);
	x.doc = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(norm);
	rc = store_write(g.store, rule_tx, &x);
	free(x.doc);
	return rc;
}

int evt_rule_delete(const char *name, const char *actor)
{
	struct rule_ctx x = { .name = name, .actor = actor, .del = true };
	return store_write(g.store, rule_tx, &x);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct file_rules_ctx {
	json_t *rules, *inhibits; /* validated docs in file order */
};

static int file_rules_tx(struct store_conn *c, void *arg)
{
	struct file_rules_ctx *x = arg;
	int rc = store_exec(c, "DELETE FROM evt_rules WHERE origin = 'file'", SNOARGS, NULL);
	for (int pass = 0; pass < 2 && !rc; pass++) {
		json_t *arr = pass ? x->inhibits : x->rules;
		size_t i;
		json_t *d;
		json_array_foreach(arr, i, d) {
			char *doc = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
			/* API-managed rules of the same name win over files. */
			rc = store_exec(c,
					"INSERT INTO evt_rules (name, kind, position, origin, doc, updated_at) "
					"VALUES ($1,$2,$3,'file',$4,$5) ON CONFLICT (name) DO NOTHING",
					SARGS(ST(json_string_value(json_object_get(d, "name"))), ST(pass ? "inhibit" : "rule"),
					      SI((int64_t)i), ST(doc), SI(time_now_ms())),
					NULL);
			free(doc);
			if (rc)
				break;
		}
	}
	if (!rc)
		rc = rules_load(c);
	return rc;
}

int evt_rules_reload_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct file_rules_ctx x = { json_array(), json_array() };
	int rc = 0;
	if (d) {
		char *names[512];
		size_t n = 0;
		struct dirent *de;
		while ((de = readdir(d)) && n < 512) {
			size_t l = strlen(de->d_name);
			if (de->d_name[0] != '.' && ((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
						     (l > 4 && !strcmp(de->d_name + l - 4, ".yml"))))
				names[n++] = strdup(de->d_name);
		}
		closedir(d);
		qsort(names, n, sizeof(char *), name_cmp);
		for (size_t i = 0; i < n; i++) {
			char path[1200];
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			json_t *doc = NULL;
			struct fw_error e;
			if (evt_yaml_load(path, &doc, &e)) {
				log_msg(LOG_ERROR, "events: %s", e.message);
				rc = FW_EINVAL;
			} else {
				for (int pass = 0; pass < 2; pass++) {
					json_t *arr = json_object_get(doc, pass ? "inhibit_rules" : "rules");
					size_t k;
					json_t *it;
					json_array_foreach(arr, k, it) {
						struct evt_rule r;
						struct evt_inhibit ih;
						int bad = pass ? evt_inhibit_from_json(&ih, it, &e) : evt_rule_from_json(&r, it, &e);
						if (bad) {
							log_msg(LOG_ERROR, "events: %s: %s rule %zu: %s", path,
								pass ? "inhibit" : "routing", k, e.message);
							rc = FW_EINVAL;
							continue;
						}
						json_array_append(pass ? x.inhibits : x.rules, pass ? ih.doc : r.doc);
						if (pass)
							evt_inhibit_release(&ih);
						else
							evt_rule_release(&r);
					}
				}
			}
			json_decref(doc);
			free(names[i]);
		}
	}
	int wrc = store_write(g.store, file_rules_tx, &x);
	json_decref(x.rules);
	json_decref(x.inhibits);
	if (d)
		log_msg(LOG_INFO, "events: loaded rules from %s", dir);
	return wrc ? wrc : rc;
}

/* ---- KPIs ---- */

static int kpi_flush_tx(struct store_conn *c, void *arg)
{
	struct kpi *v = arg;
	int rc = 0;
	char day[11];
	for (struct kpi *k = v; k->dirty && !rc; k++) {
		day_str(k->day, day);
		pthread_mutex_lock(&g.lock);
		const char *acct = g.accts[k->acct];
		pthread_mutex_unlock(&g.lock);
		rc = store_exec(c,
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

static void kpi_flush(void)
{
	pthread_mutex_lock(&g.lock);
	struct kpi *v = calloc(g.nkpis + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < g.nkpis; i++) {
		struct kpi *k = &g.kpis[i];
		if (!k->events && !k->alarms && !k->suppressed && !k->grouped && !k->incidents)
			continue;
		v[n] = *k;
		v[n++].dirty = true;
		k->events = k->alarms = k->suppressed = k->grouped = k->incidents = 0;
	}
	g.nkpis = 0; /* deltas are flushed; counters restart from zero */
	pthread_mutex_unlock(&g.lock);
	if (n && store_write(g.store, kpi_flush_tx, v))
		log_msg(LOG_ERROR, "events: could not record KPIs");
	free(v);
}

json_t *evt_kpi_noise(evt_visible_fn fn, void *arg, const char *from, const char *to)
{
	kpi_flush();
	json_t *items = json_array();
	struct store_rows *rows;
	if (store_query(store_reader(g.store),
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
		json_t *d = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:f}", "day", store_text(rows, 1), "events", (json_int_t)ev,
				      "alarms", (json_int_t)store_int(rows, 3), "suppressed",
				      (json_int_t)store_int(rows, 4), "grouped", (json_int_t)store_int(rows, 5), "incidents",
				      (json_int_t)inc, "noise_reduction", ev ? 1.0 - (double)inc / (double)ev : 0.0);
		json_t *o = json_object_get(acc, a);
		if (!o) {
			o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:[]}", "account", a, "events", (json_int_t)0, "alarms",
				      (json_int_t)0, "suppressed", (json_int_t)0, "grouped", (json_int_t)0, "incidents",
				      (json_int_t)0, "days");
			json_object_set_new(acc, a, o);
		}
		static const char *const f[] = { "events", "alarms", "suppressed", "grouped", "incidents" };
		for (int i = 0; i < 5; i++)
			json_object_set_new(o, f[i], json_integer(json_integer_value(json_object_get(o, f[i])) +
								 store_int(rows, 2 + i)));
		json_array_append_new(json_object_get(o, "days"), d);
	}
	store_rows_free(rows);
	const char *k;
	json_t *o;
	json_object_foreach(acc, k, o) {
		int64_t ev = json_integer_value(json_object_get(o, "events"));
		int64_t inc = json_integer_value(json_object_get(o, "incidents"));
		json_object_set_new(o, "noise_reduction", json_real(ev ? 1.0 - (double)inc / (double)ev : 0.0));
		json_array_append(items, o);
	}
	json_decref(acc);
	return items;
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
		rc = store_exec(c,
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

static void checkpoint(void)
{
	for (;;) {
		pthread_mutex_lock(&g.lock);
		size_t n = g.ndirty < CKPT_SLICE ? g.ndirty : CKPT_SLICE;
		if (!n) {
			pthread_mutex_unlock(&g.lock);
			return;
		}
		struct ckpt_item *v = calloc(n, sizeof(*v));
		size_t k = 0;
		for (size_t i = g.ndirty - n; i < g.ndirty; i++) {
			struct alarm *a = slot_ptr(g.dirty[i]);
			if (!(a->flags & EVT_AF_DIRTY) || !a->labels)
				continue;
			a->flags &= (uint8_t)~EVT_AF_DIRTY;
			struct ckpt_item *it = &v[k++];
			snprintf(it->account, sizeof(it->account), "%s", g.accts[a->acct]);
			it->fp = a->fp;
			it->starts_at = a->starts_at;
			it->ends_at = a->ends_at;
			it->updated_at = a->updated_at;
			it->count = a->count;
			it->flags = a->flags;
			it->annot = a->annot ? strdup(a->annot) : NULL;
		}
		g.ndirty -= n;
		pthread_mutex_unlock(&g.lock);
		struct ckpt_ctx x = { v, k };
		if (k && store_write(g.store, ckpt_tx, &x))
			log_msg(LOG_ERROR, "events: checkpoint of %zu alarms failed", k);
		for (size_t i = 0; i < k; i++)
			free(v[i].annot);
		free(v);
	}
}

/* Firing alarms whose ends_at passed resolve on their own (Alertmanager's resolve timeout and
 * Prometheus' endsAt). */
static void sweep(void)
{
	int64_t now = time_now_ms();
	pthread_mutex_lock(&g.lock);
	if (now < g.next_expiry) {
		pthread_mutex_unlock(&g.lock);
		return;
	}
	size_t cap = 0, n = 0;
	struct evt_event *ev = NULL;
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < g.icap; i++) {
		if (!g.index[i])
			continue;
		struct alarm *a = slot_ptr(g.index[i]);
		if (a->state != ST_FIRING || !a->ends_at)
			continue;
		if (a->ends_at > now || n >= 4096) {
			if (a->ends_at < next)
				next = a->ends_at > now ? a->ends_at : now;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ev = realloc(ev, cap * sizeof(*ev));
		}
		memset(&ev[n], 0, sizeof(ev[n]));
		snprintf(ev[n].account, sizeof(ev[n].account), "%s", g.accts[a->acct]);
		unpack_labels(a->labels, &ev[n].labels);
		ev[n].ends_at = a->ends_at;
		ev[n].starts_at = a->starts_at;
		ev[n].severity = a->sev ? sev_names[a->sev] : NULL;
		ev[n].source = src_names[a->src];
		n++;
	}
	g.next_expiry = next;
	pthread_mutex_unlock(&g.lock);
	if (!n)
		return;
	/* Not counted as raw events: undo the count evt_ingest adds. */
	evt_ingest(ev, n, "system", NULL);
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < n; i++)
		kpi_get(acct_idx(ev[i].account), now)->events--;
	pthread_mutex_unlock(&g.lock);
	for (size_t i = 0; i < n; i++)
		evt_labels_release(&ev[i].labels);
	free(ev);
}

/* Resolved alarms are kept in memory for a day (dedup, flap history), then dropped. */
static void evict(void)
{
	int64_t cutoff = time_now_ms() - 86400000;
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < g.icap; i++) {
		if (!g.index[i])
			continue;
		struct alarm *a = slot_ptr(g.index[i]);
		if (a->state == ST_RESOLVED && a->updated_at < cutoff && !(a->flags & EVT_AF_DIRTY)) {
			alarm_remove(a->acct, a->fp);
			i--; /* the backward shift may have moved another entry here */
		}
	}
	pthread_mutex_unlock(&g.lock);
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
	int rc = load_alarms(store_reader(g.store));
	if (rc)
		fatal("events: cannot load the alarms from the store (%s)", fw_strerror(rc));
	pthread_mutex_lock(&g.lock);
	g.loaded = true;
	pthread_cond_broadcast(&g.loaded_cv);
	log_msg(LOG_INFO, "events: %zu alarms, %zu silences, %zu maintenance windows loaded in %lld ms", g.nalarms,
		g.nsils, g.nwins, (long long)(time_now_ms() - t0));
	pthread_mutex_unlock(&g.lock);
}

static void *bg_main(void *arg)
{
	(void)arg;
	int ticks = 0;
	load_in_background();
	pthread_mutex_lock(&g.lock);
	while (!g.stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&g.wake, &g.lock, &ts);
		if (g.stopping)
			break;
		pthread_mutex_unlock(&g.lock);
		checkpoint();
		sweep();
		kpi_flush();
		if (++ticks % 600 == 0)
			evict();
		pthread_mutex_lock(&g.lock);
	}
	pthread_mutex_unlock(&g.lock);
	return NULL;
}

/* ---- start-up ---- */

/* Copies one row's labels into the load arena in packed form. */
static char *load_labels(const char *json)
{
	if (!json)
		return NULL;
	size_t len = strlen(json);
	char *d = arena_alloc(len + 2);
	if (d) {
		size_t used = packed_from_json_fast(json, d);
		if (used) {
			arena_trim(d, used);
			return d;
		}
		arena_trim(d, 0);
	}
	char *pk = packed_from_json_text(json);
	char *out = pk ? arena_copy(pk, packed_len(pk)) : NULL;
	free(pk);
	return out;
}

/* Loads firing alarms and those resolved within a day, and rebuilds the groups from them. Runs in
 * the background thread; takes g.lock for a slice of rows at a time, so silences, rules and windows
 * stay usable meanwhile (alarm paths wait in wait_loaded()). */
static int load_alarms(struct store_conn *c)
{
	struct store_rows *rows;
	int64_t cutoff = time_now_ms() - 86400000, total = 0;
	/* An upper bound (resolved rows older than the cutoff are counted too), cheap on SQLite's
	 * primary-key index: sizing the index once avoids rehashing a million records. */
	if (!store_query_int(c, "SELECT COUNT(*) FROM evt_alarms", SNOARGS, &total) && total > 0) {
		pthread_mutex_lock(&g.lock);
		index_reserve((size_t)total);
		pthread_mutex_unlock(&g.lock);
	}
	int rc = store_query(c,
			     "SELECT account, fp, state, flags, severity, source, labels, annotations, starts_at, ends_at, "
			     "updated_at, first_seen, count, incident, grp, rule, problem FROM evt_alarms "
			     "WHERE state = 1 OR updated_at > $1",
			     SARGS(SI(cutoff)), &rows);
	if (rc)
		return rc;
	char last_acct[16] = "";
	uint32_t acct = 0;
	size_t n = 0;
	pthread_mutex_lock(&g.lock);
	while ((rc = store_next(rows)) == 1) {
		if (++n % 8192 == 0) {
			pthread_mutex_unlock(&g.lock);
			pthread_mutex_lock(&g.lock);
		}
		const char *an = store_text(rows, 0);
		if (strcmp(an, last_acct)) {
			acct = acct_idx(an);
			snprintf(last_acct, sizeof(last_acct), "%s", an);
		}
		struct alarm *a = alarm_add(acct, (uint64_t)store_int(rows, 1), NULL);
		if (!a) {
			rc = FW_ENOMEM;
			break;
		}
		a->state = (uint8_t)store_int(rows, 2);
		a->flags = (uint8_t)store_int(rows, 3);
		a->sev = name_idx(sev_names, store_text(rows, 4));
		a->src = name_idx(src_names, store_text(rows, 5));
		a->labels = load_labels(store_text(rows, 6));
		const char *ann = store_text(rows, 7);
		a->annot = ann ? arena_copy(ann, strlen(ann)) : NULL;
		a->starts_at = store_int(rows, 8);
		a->ends_at = store_int(rows, 9);
		a->updated_at = store_int(rows, 10);
		a->first_seen = store_int(rows, 11);
		a->count = (uint32_t)store_int(rows, 12);
		a->incident = (uint32_t)store_int(rows, 13);
		a->grp = (uint64_t)store_int(rows, 14);
		a->problem = (uint32_t)store_int(rows, 16);
		if (!a->labels) {
			rc = FW_ENOMEM;
			break;
		}
		if (a->grp && a->incident) {
			struct group *gr = group_get(acct, a->grp, true);
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
	pthread_mutex_unlock(&g.lock);
	store_rows_free(rows);
	return rc < 0 ? rc : 0;
}

static int load_silences(struct store_conn *c)
{
	struct store_rows *rows;
	int rc = store_query(c,
			     "SELECT id, account, matchers, starts_at, ends_at, updated_at, created_by, comment FROM "
			     "evt_silences WHERE ends_at > $1",
			     SARGS(SI(time_now_ms() - 5 * 86400000LL)), &rows);
	if (rc)
		return rc;
	while (store_next(rows) == 1) {
		struct silence s = { 0 };
		snprintf(s.id, sizeof(s.id), "%s", store_text(rows, 0));
		s.acct = acct_idx(store_text(rows, 1));
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
		if (g.nsils == g.asils) {
			g.asils = g.asils ? g.asils * 2 : 16;
			g.sils = realloc(g.sils, g.asils * sizeof(*g.sils));
		}
		g.sils[g.nsils++] = s;
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
		if (!w.doc || win_parse(&w, w.doc, NULL)) {
			json_decref(w.doc);
			evt_matchers_release(&w.m);
			continue;
		}
		snprintf(w.id, sizeof(w.id), "%s", store_text(rows, 0));
		w.acct = acct_idx(store_text(rows, 1));
		if (g.nwins == g.awins) {
			g.awins = g.awins ? g.awins * 2 : 16;
			g.wins = realloc(g.wins, g.awins * sizeof(*g.wins));
		}
		g.wins[g.nwins++] = w;
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
	g.store = s->store;
	g.srv = s;
	g.next_expiry = 0; /* the first sweep scans everything loaded */
	evt_rule_default(&g.dflt);
	struct store_conn *c = store_reader(s->store);
	int rc = load_silences(c);
	if (!rc)
		rc = load_windows(c);
	if (rc)
		return rc;
	/* The alarms load in the background thread (load_in_background). */
	g.loaded = false;
	rules_dir_of(s->cfg, g.rules_dir, sizeof(g.rules_dir));
	if (evt_rules_reload_dir(g.rules_dir) == FW_ESTORE)
		return FW_ESTORE;
	rb_set_alarm_resolver(resolve_for_automation);
	g.stopping = false;
	if (pthread_create(&g.thread, NULL, bg_main, NULL))
		return FW_EIO;
	g.started = true;
	return 0;
}

void evt_engine_reload(struct server *s)
{
	(void)s;
	evt_rules_reload_dir(g.rules_dir);
}

void evt_engine_stop(void)
{
	if (!g.started)
		return;
	pthread_mutex_lock(&g.lock);
	g.stopping = true;
	pthread_cond_signal(&g.wake);
	pthread_mutex_unlock(&g.lock);
	pthread_join(g.thread, NULL);
	g.started = false;
	checkpoint();
	kpi_flush();
}
