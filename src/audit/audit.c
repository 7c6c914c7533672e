#include "audit/audit.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

static void digest(const json_t *j, char out[65])
{
	if (!j) {
		out[0] = '\0';
		return;
	}
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	crypto_sha256_hex(s ? s : "", s ? strlen(s) : 0, out);
	free(s);
}

/* The bytes an entry's hash covers. Field separators are 0x1f so no field can imitate another. */
static void entry_hash(const char *prev, int64_t seq, int64_t at, const char *actor, const char *account,
		       const char *action, const char *object, const char *before, const char *after, char out[65])
{
	char nums[2][24];
	snprintf(nums[0], sizeof(nums[0]), "%lld", (long long)seq);
	snprintf(nums[1], sizeof(nums[1]), "%lld", (long long)at);
	const char *parts[] = { prev, nums[0], nums[1], actor, account, action, object, before, after };
	/* The fields joined by hand rather than with printf: an entry is hashed on every write. */
	char small[1024];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		n += (parts[i] ? strlen(parts[i]) : 0) + 1;
	char *p = n <= sizeof(small) ? small : malloc(n), *w = p;
	if (!p) { /* out of memory: no entry's hash is all zeros, so verify reports this one */
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t k = parts[i] ? strlen(parts[i]) : 0;
		if (i)
			*w++ = '\x1f';
		memcpy(w, parts[i] ? parts[i] : "", k);
		w += k;
	}
	crypto_sha256_hex(p, (size_t)(w - p), out);
	if (p != small)
		free(p);
}

int audit_append(struct store_conn *c, const char *actor, const char *account, const char *action,
		 const char *object, const json_t *before, const json_t *after)
{
	char bd[65], ad[65];
	digest(before, bd);
	digest(after, ad);
	return audit_append_digests(c, actor, account, action, object, bd, ad);
}

int audit_append_digests(struct store_conn *c, const char *actor, const char *account, const char *action,
			 const char *object, const char *bd, const char *ad)
{
	struct store_rows *rows;
	/* The UPDATE takes the head row's lock (PostgreSQL) so concurrent daemons chain in order; no
	 * RETURNING, which SQLite runs through a temporary table. */
	int64_t changed = 0;
	int rc = store_exec(c, "UPDATE audit_head SET seq = seq + 1 WHERE id = 1", SNOARGS, &changed);
	if (!rc && changed != 1)
		rc = FW_ESTORE;
	if (!rc)
		rc = store_query(c, "SELECT seq, hash FROM audit_head WHERE id = 1", SNOARGS, &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1) {
		store_rows_free(rows);
		return FW_ESTORE;
	}
	int64_t seq = store_int(rows, 0);
	char prev[65];
	snprintf(prev, sizeof(prev), "%s", store_text(rows, 1));
	store_rows_free(rows);

	char hash[65];
	int64_t at = time_now_ms();
	entry_hash(prev, seq, at, actor, account, action, object, bd, ad, hash);
	rc = store_exec(c,
			"INSERT INTO audit (seq, at, actor, account, action, object, before_digest, after_digest, "
			"prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
			SARGS(SI(seq), SI(at), ST(actor ? actor : ""), ST(account), ST(action), ST(object), ST(bd),
			      ST(ad), ST(prev), ST(hash)),
			NULL);
	if (!rc)
		rc = store_exec(c, "UPDATE audit_head SET hash = $1 WHERE id = 1", SARGS(ST(hash)), NULL);
	return rc;
}

static int broken(json_t **report, int64_t seq, const char *problem, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int broken(json_t **report, int64_t seq, const char *problem, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*report = json_pack("{s:b,s:I,s:s,s:s}", "ok", 0, "seq", (json_int_t)seq, "problem", problem, "message", msg);
	return FW_ECONFLICT;
}

/* Reads one int64 with one statement (one snapshot). */
static int query_int(struct store_conn *c, const char *sql, int64_t *out)
{
	return store_query_int(c, sql, SNOARGS, out);
}

int audit_verify(struct store_conn *c, json_t **report)
{
	int64_t head_seq = 0;
	char *head_hash = NULL;
	struct store_rows *rows;
	/* Entries up to the head are immutable once committed (an entry and the head move in the same
	 * transaction), so reading the head first and then only the entries up to it is consistent
	 * while other requests keep appending. Rows past the head are checked at the end in one
	 * statement against the head of that moment. */
	int rc = store_query(c, "SELECT seq, hash FROM audit_head WHERE id = 1", SNOARGS, &rows);
	if (rc)
		return rc;
	if (store_next(rows) == 1) {
		head_seq = store_int(rows, 0);
		head_hash = strdup(store_text(rows, 1));
	}
	store_rows_free(rows);
	if (!head_hash)
		return broken(report, 0, "removed", "the audit head row is missing");

	rc = store_query(c,
			 "SELECT seq, at, actor, account, action, object, before_digest, after_digest, prev_hash, hash "
			 "FROM audit WHERE seq <= $1 ORDER BY seq",
			 SARGS(SI(head_seq)), &rows);
	if (rc) {
		free(head_hash);
		return rc;
	}
	char prev[65] = GENESIS, prev2[65] = "";
	int64_t expect = 1, n = 0;
	int step;
	rc = 0;
	while ((step = store_next(rows)) == 1) {
		int64_t seq = store_int(rows, 0);
		const char *stored_prev = store_text(rows, 8), *stored = store_text(rows, 9);
		if (seq > expect) {
			rc = broken(report, expect, "removed", "entry %lld is missing (next present is %lld)",
				    (long long)expect, (long long)seq);
			break;
		}
		if (seq < expect) {
			rc = broken(report, seq, "inserted", "an entry was inserted after entry %lld (its key repeats %lld)",
				    (long long)expect - 1, (long long)seq);
			break;
		}
		if (!stored_prev)
			stored_prev = "";
		char h[65];
		entry_hash(stored_prev, seq, store_int(rows, 1), store_text(rows, 2), store_text(rows, 3),
			   store_text(rows, 4), store_text(rows, 5), store_text(rows, 6), store_text(rows, 7), h);
		if (!stored || strcmp(h, stored) != 0) {
			/* An entry that was written as seq-1 and chained to the entry before the previous one was
			 * moved up to make room: the previous entry is the one inserted. */
			entry_hash(stored_prev, seq - 1, store_int(rows, 1), store_text(rows, 2), store_text(rows, 3),
				   store_text(rows, 4), store_text(rows, 5), store_text(rows, 6), store_text(rows, 7), h);
			if (seq > 1 && stored && !strcmp(h, stored) && !strcmp(stored_prev, prev2))
				rc = broken(report, seq - 1, "inserted",
					    "entry %lld was inserted: the entries after it were renumbered to make room",
					    (long long)seq - 1);
			else
				rc = broken(report, seq, "altered",
					    "entry %lld was altered: its content does not match its hash", (long long)seq);
			break;
		}
		if (strcmp(stored_prev, prev) != 0) {
			/* This entry is intact but was chained to something else than the entry before it: that
			 * one is a consistent forgery (inserted, or rewritten with a recomputed hash). */
			if (seq > 1)
				rc = broken(report, seq - 1, "inserted",
					    "entry %lld does not link to entry %lld: entry %lld was inserted or rewritten",
					    (long long)seq, (long long)seq - 1, (long long)seq - 1);
			else
				rc = broken(report, seq, "altered", "entry 1 does not start the chain: it was altered");
			break;
		}
		snprintf(prev2, sizeof(prev2), "%s", prev);
		snprintf(prev, sizeof(prev), "%s", stored);
		expect = seq + 1;
		n++;
	}
	store_rows_free(rows);
	if (step < 0 && !rc)
		rc = FW_ESTORE;
	if (!rc && expect - 1 < head_seq)
		rc = broken(report, expect, "truncated",
			    "the chain ends at entry %lld but the head records entry %lld: entries were removed at the end",
			    (long long)(expect - 1), (long long)head_seq);
	if (!rc && strcmp(prev, head_seq ? head_hash : GENESIS) != 0)
		rc = broken(report, head_seq, "altered",
			    "entry %lld does not match the hash the head records: it was rewritten", (long long)head_seq);
	int64_t beyond = 0;
	if (!rc && (rc = query_int(c,
				   "SELECT COALESCE(MIN(seq), 0) FROM audit WHERE seq > (SELECT seq FROM audit_head WHERE id = 1)",
				   &beyond)) == 0 &&
	    beyond > 0)
		rc = broken(report, beyond, "inserted",
			    "entry %lld lies beyond the head of the chain: it was inserted", (long long)beyond);
	if (!rc)
		*report = json_pack("{s:b,s:I,s:s}", "ok", 1, "entries", (json_int_t)n, "head", prev);
	free(head_hash);
	return rc;
}
