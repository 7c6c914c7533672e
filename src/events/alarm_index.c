/* The alarm index (engine_int.h): accounts, packed labels, the load arena, the alarm pool and its
 * index.
 *
 * Memory layout, chosen so a million active alarms fit in a few hundred MB and reload fast:
 * alarms live in a chunked pool of fixed-size records; their labels are one packed string
 * "name\0value\0…\0" (sorted, as the fingerprint hashes them); annotations stay the compact JSON
 * text they arrived as. The index is an open-addressing table of pool slots keyed by
 * (account, fingerprint), linear probing with backward-shift deletion. */
#include "events/engine_int.h"
#include "util/buf.h"
#include "util/err.h"

#include <sys/mman.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const evt__sev_names[] = { "", "critical", "high", "medium", "low", "info", NULL };
const char *const evt__src_names[] = {"",           "native",      "prometheus", "pagerduty",
                                      "cloudwatch", "eventbridge", NULL};

uint8_t evt__name_idx(const char *const *names, const char *s)
{
	if (!s)
		return 0;
	for (uint8_t i = 1; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return 0;
}

/* ---- accounts ---- */

uint32_t evt__acct_idx(const char *a)
{
	for (uint32_t i = 0; i < evt__g.naccts; i++)
		if (!strcmp(evt__g.accts[i], a))
			return i;
	if (evt__g.naccts == evt__g.aaccts) {
		evt__g.aaccts = evt__g.aaccts ? evt__g.aaccts * 2 : 16;
		evt__g.accts = realloc(evt__g.accts, evt__g.aaccts * sizeof(*evt__g.accts));
	}
	snprintf(evt__g.accts[evt__g.naccts], 16, "%s", a);
	return evt__g.naccts++;
}

int evt__acct_find(const char *a)
{
	for (uint32_t i = 0; i < evt__g.naccts; i++)
		if (!strcmp(evt__g.accts[i], a))
			return (int)i;
	return -1;
}

/* ---- packed labels ---- */

char *evt__pack_labels(const struct evt_labels *ls)
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

const char *evt__packed_get(const char *p, const char *name)
{
	while (*p) {
		const char *v = p + strlen(p) + 1;
		if (!strcmp(p, name))
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

int evt__unpack_labels(const char *p, struct evt_labels *out)
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

json_t *evt__packed_json(const char *p)
{
	json_t *o = json_object();
	while (*p) {
		const char *v = p + strlen(p) + 1;
		json_object_set_new(o, p, json_string(v));
		p = v + strlen(v) + 1;
	}
	return o;
}

bool evt__packed_match(const char *p, const struct evt_matchers *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		const char *v = evt__packed_get(p, ms->v[i].name);
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
size_t evt__packed_from_json_fast(const char *s, char *out)
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
char *evt__packed_from_json_text(const char *s)
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
	char *out = evt__pack_labels(&ls);
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
char *evt__packed_json_text(const char *p)
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
 * arenas (evt__str_free() knows not to free those; they are the minority that outlive a refresh). */

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
char *evt__arena_alloc(size_t n)
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

/* Gives back the tail of the last evt__arena_alloc() p beyond its first used bytes. */
void evt__arena_trim(const char *p, size_t used)
{
	arenas.used = (size_t)(p - arenas.base[arenas.n - 1]) + used;
}

char *evt__arena_copy(const char *s, size_t len)
{
	char *d = evt__arena_alloc(len + 1);
	if (!d)
		d = malloc(len + 1);
	if (d)
		memcpy(d, s, len + 1);
	return d;
}

void evt__str_free(char *p)
{
	for (size_t i = 0; p && i < arenas.n; i++)
		if (p >= arenas.base[i] && p < arenas.base[i] + ARENA_SIZE)
			return;
	free(p);
}

size_t evt__packed_len(const char *p)
{
	const char *q = p;
	while (*q) {
		q += strlen(q) + 1;
		q += strlen(q) + 1;
	}
	return (size_t)(q - p);
}

/* ---- alarm pool and index ---- */

static uint32_t slot_alloc(void)
{
	if (evt__g.free_head) {
		uint32_t s = evt__g.free_head;
		evt__g.free_head = evt__slot_ptr(s)->next_free;
		memset(evt__slot_ptr(s), 0, sizeof(struct alarm));
		return s;
	}
	uint32_t i = evt__g.nslots;
	if ((i >> CHUNK_BITS) >= MAX_CHUNKS)
		return 0;
	if (!evt__g.chunks[i >> CHUNK_BITS]) {
		evt__g.chunks[i >> CHUNK_BITS] = big_zalloc(CHUNK * sizeof(struct alarm));
		if (!evt__g.chunks[i >> CHUNK_BITS])
			return 0;
	}
	evt__g.nslots++;
	memset(evt__slot_ptr(i + 1), 0, sizeof(struct alarm));
	return i + 1;
}

static void index_resize(size_t ncap)
{
	uint32_t *ni = big_zalloc(ncap * sizeof(uint32_t));
	if (!ni)
		return;
	for (size_t i = 0; i < evt__g.icap; i++) {
		uint32_t s = evt__g.index[i];
		if (!s)
			continue;
		struct alarm *a = evt__slot_ptr(s);
		size_t j = evt__key_hash(a->acct, a->fp) & (ncap - 1);
		while (ni[j])
			j = (j + 1) & (ncap - 1);
		ni[j] = s;
	}
	big_free(evt__g.index, evt__g.icap * sizeof(uint32_t));
	evt__g.index = ni;
	evt__g.icap = ncap;
}

static void index_grow(void)
{
	index_resize(evt__g.icap ? evt__g.icap * 2 : 1024);
}

/* Sizes the index for n alarms up front (start-up), so loading never rehashes. */
void evt__index_reserve(size_t n)
{
	size_t cap = evt__g.icap ? evt__g.icap : 1024;
	while (n * 10 > cap * 7)
		cap *= 2;
	if (cap > evt__g.icap)
		index_resize(cap);
}

void evt__lock(void)
{
	atomic_fetch_add(&evt__g.waiting, 1);
	pthread_mutex_lock(&evt__g.lock);
	atomic_fetch_sub(&evt__g.waiting, 1);
}

void evt__lock_yield(void)
{
	pthread_mutex_unlock(&evt__g.lock);
	for (int i = 0; i < 100 && atomic_load(&evt__g.waiting) > 0; i++) {
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&evt__g.lock);
}

void evt__alarm_prefetch(const uint32_t *acct, const uint64_t *fp, size_t n)
{
	if (!evt__g.icap)
		return;
	size_t j[64];
	for (size_t base = 0; base < n; base += 64) {
		size_t m = n - base < 64 ? n - base : 64;
		for (size_t i = 0; i < m; i++) {
			j[i] = evt__key_hash(acct[base + i], fp[base + i]) & (evt__g.icap - 1);
			__builtin_prefetch(&evt__g.index[j[i]]);
		}
		for (size_t i = 0; i < m; i++)
			if (evt__g.index[j[i]])
				__builtin_prefetch(evt__slot_ptr(evt__g.index[j[i]]));
	}
}

uint64_t evt__annot_hash(const char *s)
{
	if (!s)
		return 0;
	/* Eight bytes at a time, each word mixed with a multiply and a shift (the finalizer of
	 * SplitMix64); the length goes in last so that trailing NULs of the final word count. */
	const uint64_t m = UINT64_C(0xbf58476d1ce4e5b9);
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15);
	size_t n = strlen(s), i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		h = (h ^ w) * m;
		h ^= h >> 31;
	}
	uint64_t w = 0;
	memcpy(&w, s + i, n - i);
	h = (h ^ w ^ ((uint64_t)n << 56)) * m;
	h ^= h >> 29;
	h *= UINT64_C(0x94d049bb133111eb);
	h ^= h >> 32;
	return h ? h : 1;
}

void evt__alarm_set_annot(struct alarm *a, char *annot)
{
	evt__str_free(a->annot);
	a->annot = annot;
	a->annot_h = evt__annot_hash(annot);
}

struct alarm *evt__alarm_find(uint32_t acct, uint64_t fp, uint32_t *slot)
{
	if (!evt__g.icap)
		return NULL;
	size_t j = evt__key_hash(acct, fp) & (evt__g.icap - 1);
	while (evt__g.index[j]) {
		struct alarm *a = evt__slot_ptr(evt__g.index[j]);
		if (a->fp == fp && a->acct == acct) {
			if (slot)
				*slot = evt__g.index[j];
			return a;
		}
		j = (j + 1) & (evt__g.icap - 1);
	}
	return NULL;
}

struct alarm *evt__alarm_add(uint32_t acct, uint64_t fp, uint32_t *slot_out)
{
	if ((evt__g.nalarms + 1) * 10 > evt__g.icap * 7)
		index_grow();
	uint32_t s = slot_alloc();
	if (!s)
		return NULL;
	struct alarm *a = evt__slot_ptr(s);
	a->acct = acct;
	a->fp = fp;
	size_t j = evt__key_hash(acct, fp) & (evt__g.icap - 1);
	while (evt__g.index[j])
		j = (j + 1) & (evt__g.icap - 1);
	evt__g.index[j] = s;
	evt__g.nalarms++;
	if (slot_out)
		*slot_out = s;
	return a;
}

void evt__alarm_remove(uint32_t acct, uint64_t fp)
{
	size_t j = evt__key_hash(acct, fp) & (evt__g.icap - 1);
	while (evt__g.index[j]) {
		struct alarm *a = evt__slot_ptr(evt__g.index[j]);
		if (a->fp == fp && a->acct == acct)
			break;
		j = (j + 1) & (evt__g.icap - 1);
	}
	uint32_t s = evt__g.index[j];
	if (!s)
		return;
	struct alarm *a = evt__slot_ptr(s);
	evt__str_free(a->labels);
	evt__str_free(a->annot);
	free(a->hist);
	memset(a, 0, sizeof(*a));
	a->next_free = evt__g.free_head;
	evt__g.free_head = s;
	evt__g.nalarms--;
	/* Backward-shift deletion keeps probe chains intact without tombstones. */
	size_t i = j;
	evt__g.index[i] = 0;
	for (size_t k = (i + 1) & (evt__g.icap - 1); evt__g.index[k]; k = (k + 1) & (evt__g.icap - 1)) {
		struct alarm *b = evt__slot_ptr(evt__g.index[k]);
		size_t home = evt__key_hash(b->acct, b->fp) & (evt__g.icap - 1);
		bool move = (i <= k) ? (home <= i || home > k) : (home <= i && home > k);
		if (move) {
			evt__g.index[i] = evt__g.index[k];
			evt__g.index[k] = 0;
			i = k;
		}
	}
}

void evt__note_expiry(const struct alarm *a)
{
	if (a->state == ST_FIRING && a->ends_at && a->ends_at < evt__g.next_expiry)
		evt__g.next_expiry = a->ends_at;
}

void evt__mark_dirty(uint32_t slot, struct alarm *a)
{
	evt__note_expiry(a);
	if (a->flags & EVT_AF_DIRTY)
		return;
	if (evt__g.ndirty == evt__g.adirty) {
		evt__g.adirty = evt__g.adirty ? evt__g.adirty * 2 : 1024;
		evt__g.dirty = realloc(evt__g.dirty, evt__g.adirty * sizeof(uint32_t));
	}
	evt__g.dirty[evt__g.ndirty++] = slot;
	a->flags |= EVT_AF_DIRTY;
}

size_t evt_alarm_count(void)
{
	pthread_mutex_lock(&evt__g.lock);
	size_t n = evt__g.nalarms;
	pthread_mutex_unlock(&evt__g.lock);
	return n;
}
