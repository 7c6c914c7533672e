#ifndef FW_AUDIT_H
#define FW_AUDIT_H
/* The audit log: an append-only hash chain. Entry n stores hash_n = SHA-256(hash_{n-1} | fields of
 * n), and the table audit_head keeps the last (seq, hash), so altering, removing or inserting a row
 * breaks the chain at that row, and truncating the tail disagrees with the head. */

#include <jansson.h>
#include <stdint.h>

struct store_conn;

/* Appends an entry; call it inside the store_write function that makes the change, so the entry
 * commits with it. before/after are digested (SHA-256 of their compact, key-sorted JSON) and may
 * be NULL. Strings are copied. */
int audit_append(struct store_conn *c, const char *actor, const char *account, const char *action,
		 const char *object, const json_t *before, const json_t *after);

/* audit_append() with both digests already taken: the SHA-256 (64 hex digits) of the value's compact,
 * key-sorted JSON, or "" for none. For a write that has that JSON text at hand. */
int audit_append_digests(struct store_conn *c, const char *actor, const char *account, const char *action,
			 const char *object, const char *before_digest, const char *after_digest);

/* Walks the whole chain. Returns 0 and *report = {"ok":true,"entries":N,"head":"…"} when intact;
 * FW_ECONFLICT and *report = {"ok":false,"seq":N,"problem":"altered|removed|inserted|truncated",
 * "message":"…"} at the first broken entry. *report is a new reference. */
int audit_verify(struct store_conn *c, json_t **report);

#endif
