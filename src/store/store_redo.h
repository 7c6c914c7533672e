#ifndef FW_STORE_REDO_H
#define FW_STORE_REDO_H
/* Internal to the store: the redo log behind store_write_async(). Records are appended with one
 * write() each to segment files beside the database ("<db>-redo.<first lsn in hex>"); once write()
 * returns, the record survives a crash of the process (not a power loss: the same promise as SQLite's
 * synchronous=NORMAL). Each record carries its log sequence number (lsn, consecutive from 1) and a
 * checksum, so a record torn by a crash mid-write ends the log there. Nothing here locks: the store
 * serialises every call but store_redo_sum(). */

#include <stddef.h>
#include <stdint.h>

struct store_redo;

/* Opens the log of the database at db_path (nothing is created until store_redo_reset). */
int store_redo_open(const char *db_path, struct store_redo **out, char *err, size_t errcap);
/* Calls fn on every intact record in lsn order; type and payload are NUL-terminated and valid during
 * the call only. A non-zero return from fn stops the scan and is returned. *last gets the highest lsn
 * read (0 for an empty log). */
typedef int (*store_redo_fn)(uint64_t lsn, const char *type, const char *payload, void *ctx);
int store_redo_scan(struct store_redo *r, store_redo_fn fn, void *ctx, uint64_t *last, char *err,
                    size_t errcap);
/* Removes every segment and opens an empty one whose first record will be next_lsn. */
int store_redo_reset(struct store_redo *r, uint64_t next_lsn, char *err, size_t errcap);
/* The checksum of a record's body (type and payload as NUL-terminated strings): computed before the
 * log's lock is taken, since it is most of the work of an append. */
uint64_t store_redo_sum(const char *type, const char *payload, size_t len);
/* Appends record lsn, which must follow the previous one; body_sum is store_redo_sum() of it. Starts a
 * new segment when the current one is full. Returns 0 once the record is in the file. */
int store_redo_append(struct store_redo *r, uint64_t lsn, const char *type, const char *payload, size_t len,
		      uint64_t body_sum);
/* Deletes the full segments whose records all have an lsn <= applied. */
void store_redo_trim(struct store_redo *r, uint64_t applied);
/* Closes the log; remove, when everything in it has been applied, deletes its files too. */
void store_redo_close(struct store_redo *r, int remove);

#endif
