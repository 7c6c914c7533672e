#ifndef EVT_ENGINE_INT_H
#define EVT_ENGINE_INT_H
/* Internal to src/events: the engine's state and the functions its files share (engine.h is the
 * interface for everyone else). Names shared between the engine's files carry the evt__ prefix.
 *
 *   engine.c       state, start-up (background load of the alarm index), checkpoint, sweeper, end of
 *                  suppression, stop
 *   alarm_index.c  accounts, packed labels, the load arena, the alarm pool and its index
 *   ingest.c       evt_ingest: dedup of repeats, the state-change pipeline in the writer, listings
 *   correlate.c    groups: an alarm joins its group's incident or opens one
 *   incident.c     classification (rule lookup), incidents and problems, the alarm's row
 *   suppress.c     silences, maintenance windows, inhibition
 *   ruleset.c      rules in the store and in memory, rules.d reload
 *   kpi.c          noise KPI counters and their flush
 *
 * Locking: one mutex, evt__g.lock, guards everything in struct evt__engine and every alarm, group,
 * silence and window. Functions below that touch them expect it held unless they say otherwise.
 * Writes to the store happen in store_write() functions, which take the lock themselves. */

#include "events/engine.h"
#include "events/rules.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fw_error;
struct server;
struct store;
struct store_conn;

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
	uint64_t annot_h; /* evt__annot_hash(annot): repeats compare this, not the string */
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

struct evt__engine {
	pthread_mutex_t lock;
	atomic_int waiting; /* event threads waiting for lock (evt__lock): long scans let them in first */
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
	/* No silence or maintenance window ends before this (the scan for the alarms they held back
	 * skips until then); 0 after a silence or window changed and after the start-up load. */
	int64_t next_unsuppress;
	pthread_t thread;
	pthread_cond_t wake;
	bool stopping, started;
	/* the alarms are loaded in the background thread at start-up; see evt__wait_loaded() */
	bool loaded;
	pthread_cond_t loaded_cv;
	char rules_dir[600];
};

extern struct evt__engine evt__g;

/* ---- alarm_index.c ---- */

/* Names of severities and sources by their small index in struct alarm (index 0 is ""). */
extern const char *const evt__sev_names[];
extern const char *const evt__src_names[];
/* Index of s in names (NULL-terminated, entry 0 unused), 0 when absent. */
uint8_t evt__name_idx(const char *const *names, const char *s);

/* Account index of a, added when new; evt__acct_find answers -1 instead of adding. */
uint32_t evt__acct_idx(const char *a);
int evt__acct_find(const char *a);

/* Packed labels: one string "name\0value\0…\0", sorted as the fingerprint hashes them.
 * evt__pack_labels and the evt__packed_*_text functions return malloc'd strings the caller frees. */
char *evt__pack_labels(const struct evt_labels *ls);
/* The value of label name inside p (points into p), or NULL. */
const char *evt__packed_get(const char *p, const char *name);
int evt__unpack_labels(const char *p, struct evt_labels *out);
/* A new JSON object of the labels; the caller owns it. */
json_t *evt__packed_json(const char *p);
bool evt__packed_match(const char *p, const struct evt_matchers *ms);
/* Writes the packed form of the compact JSON this module stores ({"a":"b",…}) to out (room for
 * strlen(s) + 2); returns its length with the final NUL, or 0 when the full parser is needed. */
size_t evt__packed_from_json_fast(const char *s, char *out);
char *evt__packed_from_json_text(const char *s);
char *evt__packed_json_text(const char *p);
size_t evt__packed_len(const char *p);

/* The load arena (start-up strings): evt__arena_alloc gives n bytes or NULL (then malloc),
 * evt__arena_trim gives back the tail of the last allocation beyond used bytes, evt__arena_copy
 * copies len bytes and a NUL. evt__str_free frees a string from either place. */
char *evt__arena_alloc(size_t n);
void evt__arena_trim(const char *p, size_t used);
char *evt__arena_copy(const char *s, size_t len);
void evt__str_free(char *p);

/* A 64-bit hash of annotation text (0 for NULL). A repeat whose annotations hash the same as the
 * alarm's is taken as unchanged without reading the stored string, which at 100,000 alarms is a cache
 * miss per alert; two different texts with one hash (odds 2^-64 per change) would keep the old
 * annotations until they change again. */
uint64_t evt__annot_hash(const char *s);

/* Takes evt__g.lock for the event path (ingest and its write), counted in evt__g.waiting. */
void evt__lock(void);

/* Between two slices of a long scan, with evt__g.lock held: releases it until the event threads
 * waiting for it have had it (at most about 2 ms), then takes it again. A bare unlock and lock let
 * the scanner take the lock straight back before a waiter woke up, so events still waited for the
 * whole scan (250 ms for a listing of 10,000 of a million alarms). */
void evt__lock_yield(void);

/* Starts loading the index entries and alarms of n lookups to come, so that a batch's cache misses
 * overlap instead of following one another. evt__g.lock held. */
void evt__alarm_prefetch(const uint32_t *acct, const uint64_t *fp, size_t n);

/* Replaces a's annotations with annot (owned by a from now on, may be NULL), freeing the old. */
void evt__alarm_set_annot(struct alarm *a, char *annot);

/* The record of 1-based pool slot s; valid while the alarm exists (chunks never move). */
static inline struct alarm *evt__slot_ptr(uint32_t s)
{
	s--;
	return &evt__g.chunks[s >> CHUNK_BITS][s & (CHUNK - 1)];
}

/* Hash of (account index, fingerprint) for the alarm index and the group table. */
static inline uint64_t evt__key_hash(uint32_t acct, uint64_t fp)
{
	uint64_t h = fp ^ ((uint64_t)(acct + 1) * 0x9E3779B97F4A7C15ull);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* Sizes the index for n alarms at once (start-up). */
void evt__index_reserve(size_t n);
/* The alarm of (acct, fp) or NULL; *slot (may be NULL) gets its pool slot. */
struct alarm *evt__alarm_find(uint32_t acct, uint64_t fp, uint32_t *slot);
/* Adds a zeroed alarm for (acct, fp), which must not exist; NULL when out of memory. */
struct alarm *evt__alarm_add(uint32_t acct, uint64_t fp, uint32_t *slot_out);
/* Removes the alarm and frees its strings; the slot goes back to the pool. */
void evt__alarm_remove(uint32_t acct, uint64_t fp);
/* Lowers evt__g.next_expiry to a firing alarm's ends_at, so the sweeper looks at it in time. */
void evt__note_expiry(const struct alarm *a);
/* Queues the alarm for the lazy checkpoint (once until written). */
void evt__mark_dirty(uint32_t slot, struct alarm *a);

/* ---- engine.c ---- */

/* Waits (evt__g.lock held) until the start-up load of the alarm index has finished. */
void evt__wait_loaded(void);

/* ---- ingest.c ---- */

/* Registered with automation: resolves a firing alarm as a resolved event would, inside
 * automation's write. */
int evt__resolve_for_automation(struct store_conn *c, const char *account, const char *fingerprint,
				const char *actor);

/* A firing alarm that a silence or maintenance window held back (EVT_AF_SILENCED or EVT_AF_MAINT)
 * and that nothing holds back at now any more pages as a new firing alarm would: automation, then
 * its group's incident (joined, reopened or opened). One still held back gets the flag of what
 * holds it now. Anything else (gone, resolved, past its ends_at, not held by either) is left
 * alone. In the writer, evt__g.lock held. */
int evt__resume_alarm(struct store_conn *c, uint32_t acct, uint64_t fp, int64_t now, const char *actor);

/* ---- correlate.c ---- */

/* The group (acct, key); created when create is set (NULL only when out of memory). Groups live
 * as long as the engine. */
struct group *evt__group_get(uint32_t acct, uint64_t key, bool create);
/* Puts firing alarm a into its group per rule r (joins or reopens the group's incident, or opens
 * one with hook, which may be NULL); counts in k. In the writer. */
int evt__group_alarm(struct store_conn *c, struct alarm *a, const struct evt_rule *r, json_t *hook,
                     bool was_state, struct kpi *k, int64_t now, const char *actor);

/* ---- incident.c ---- */

/* The first rule matching the alarm's labels (and severity index sev), else the default rule. */
const struct evt_rule *evt__rule_for_sev(uint32_t acct, const char *packed, uint8_t sev);
const struct evt_rule *evt__rule_for(uint32_t acct, const char *packed);
const struct evt_rule *evt__rule_by_name(const char *name);
/* Upserts the alarm's row (in the writer). */
int evt__alarm_row_write(struct store_conn *c, const struct alarm *a, const char *rule);
/* "INC-n" into out. */
void evt__inc_id(uint32_t n, char out[24]);
/* New JSON references: a timeline entry for the alarm, and the alarm as automation's hooks take it. */
json_t *evt__alarm_entry(const struct alarm *a, const char *event);
json_t *evt__alarm_hook_json(const struct alarm *a);
/* Opens an incident for alarm a (ticket, audit, outbox, diagnostics); *num gets its number. */
int evt__incident_open(struct store_conn *c, const struct alarm *a, const struct evt_rule *r,
                       const struct evt_labels *glabels, const char *actor, json_t *hook_alarm,
                       uint32_t *num);
/* Status of INC-num into out ("" when unknown), and a status change when the ticket allows it. */
void evt__incident_status(struct store_conn *c, uint32_t num, char out[32]);
int evt__incident_set_status(struct store_conn *c, uint32_t num, const char *to, const char *actor,
			     const char *note);
/* Opens a problem for a recurring alarm unless its last one is still open. */
int evt__problem_open(struct store_conn *c, struct alarm *a, const struct evt_rule *r, const char *actor);

/* ---- suppress.c ---- */

/* The first active silence matching the labels (all of them appended to ids, may be NULL). */
const char *evt__silenced_by(uint32_t acct, const char *packed, int64_t now, json_t *ids);
bool evt__in_maintenance(uint32_t acct, const char *packed, int64_t now);
/* The earliest time after now at which an active or pending silence or an occurrence of a
 * maintenance window ends (INT64_MAX when none will): when alarms they hold back may page. */
int64_t evt__suppression_ends(int64_t now);
/* Whether a firing source alarm inhibits this one (their fingerprints appended to fps, may be NULL). */
bool evt__inhibited_by(uint32_t acct, uint64_t fp, const char *packed, json_t *fps);
/* Fills a window's matchers and schedule from its stored document. */
int evt__win_parse(struct mwindow *w, const json_t *doc, struct fw_error *e);

/* ---- kpi.c ---- */

/* The KPI deltas of acct for the day of now (created when missing). */
struct kpi *evt__kpi_get(uint32_t acct, int64_t now);
/* Adds the deltas to evt_kpi in the store (takes evt__g.lock itself). */
void evt__kpi_flush(void);

#endif
