#ifndef FW_STORE_H
#define FW_STORE_H
/* The store: a backend-neutral SQL interface (SQLite by default, PostgreSQL for scale-out).
 *
 * SQL is written once, in the common dialect of both engines: placeholders $1..$n, BIGINT and TEXT
 * columns, times as BIGINT milliseconds, INSERT … ON CONFLICT, RETURNING.
 *
 * Writes: store_write() hands a function to the single writer thread, which runs many such
 * functions in one transaction (group commit), each inside its own SAVEPOINT so a failing one
 * leaves nothing behind, and returns only after COMMIT: a 0 from store_write() means durable.
 * Reads: store_reader() gives the calling thread its own connection (WAL readers never block the
 * writer). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_conn;
struct store_rows;

enum store_argtype { SA_NULL, SA_TEXT, SA_INT };
struct store_arg {
	enum store_argtype t;
	const char *s; /* SA_TEXT; NULL pointer binds SQL NULL */
	int64_t i;
};
#define ST(x) ((struct store_arg){ SA_TEXT, (x), 0 })
#define SI(x) ((struct store_arg){ SA_INT, NULL, (int64_t)(x) })
#define SN ((struct store_arg){ SA_NULL, NULL, 0 })
/* SARGS(ST(a), SI(b)) expands to the (array, count) pair the calls below take. */
#define SARGS(...)                                     \
	(const struct store_arg[]){ __VA_ARGS__ },     \
		(int)(sizeof((struct store_arg[]){ __VA_ARGS__ }) / sizeof(struct store_arg))
#define SNOARGS NULL, 0

/* Opens the store named by url: "sqlite:///abs/path.db", "sqlite://rel/path.db", a plain path,
 * or "postgres://…" / "postgresql://…". Runs pending migrations and starts the writer thread.
 * On failure returns a negative code with a sentence in err. */
int store_open(const char *url, struct store **out, char *err, size_t errcap);
/* Opens the store for reading only, as a check of a copy needs: no migrations, no writer
 * (store_write fails with FW_ESTORE), and the engine refuses writes. A SQLite file in a directory
 * the caller may not write is read as an immutable file. */
int store_open_readonly(const char *url, struct store **out, char *err, size_t errcap);
/* Stops the writer (after finishing queued work) and closes every connection. */
void store_close(struct store *st);
/* "sqlite" or "postgres". */
const char *store_kind(const struct store *st);

/* The calling thread's read connection (created on first use; owned by the store). It first waits
 * until every asynchronous write acknowledged so far is applied, so reads see what a 2xx promised. */
struct store_conn *store_reader(struct store *st);
/* The same connection without that wait: for reads of tables no asynchronous write changes
 * (accounts, principals, tokens), on paths that must not queue behind the applier. */
struct store_conn *store_reader_nowait(struct store *st);

/* Runs fn(conn, ctx) in the writer thread inside a transaction shared with other writes.
 * fn returns 0 to keep its changes or a negative code to roll them back (its own only).
 * Returns fn's result once the transaction is durable, or FW_ESTORE if the commit failed. */
typedef int (*store_txfn)(struct store_conn *c, void *ctx);
int store_write(struct store *st, store_txfn fn, void *ctx);

/* Asynchronous writes. On the embedded SQLite store a write of a registered type is appended to a
 * redo log beside the database and acknowledged as soon as the record is written (it then survives
 * kill -9, as a commit does); the store applies it later, in order with every other write, in large
 * transactions, and replays the log on the next start if the process died first. Reads through
 * store_reader() wait for it, so nobody reads around it. On PostgreSQL, or with sync=full or redo=off
 * in the SQLite URL, it is applied synchronously like store_write().
 *
 * fn applies one write from its payload on the write connection, inside a savepoint; it must do the
 * same thing whenever it runs (now or at a replay after a crash), so everything it decides
 * (numbers, times) belongs in the payload. Register every type before store_open(): a start that
 * finds a record of an unknown type in the log fails rather than skip it. */
typedef int (*store_applyfn)(struct store_conn *c, const char *payload);
int store_async_register(const char *type, store_applyfn fn);
/* The asynchronous writes acknowledged since the store opened and those of them not yet applied
 * (both 0 when writes are applied synchronously): for /metrics. */
void store_async_counts(struct store *st, uint64_t *acknowledged, uint64_t *pending);
/* True when store_write_async() acknowledges before applying (counters come from memory). */
bool store_async_enabled(const struct store *st);
/* Queues payload (copied) for the function registered as type. Returns 0 when durable; on a
 * synchronous store, fn's result. */
int store_write_async(struct store *st, const char *type, const char *payload);

/* Inside a store_write function: run cb(arg) after the transaction commits (not if this write
 * or the transaction is rolled back). For waking the outbox, arming timers. */
typedef void (*store_hook)(void *arg);
int store_after_commit(struct store_conn *c, store_hook cb, void *arg);

/* Executes one statement. *changes (may be NULL) gets the number of rows changed. */
int store_exec(struct store_conn *c, const char *sql, const struct store_arg *args, int n,
	       int64_t *changes);
/* Runs a query; iterate with store_next() (1 = row, 0 = done, <0 = error), free with
 * store_rows_free(). Column values stay valid until the next store_next() or the free. */
int store_query(struct store_conn *c, const char *sql, const struct store_arg *args, int n,
		struct store_rows **out);
int store_next(struct store_rows *r);
const char *store_text(struct store_rows *r, int col); /* NULL for SQL NULL */
int64_t store_int(struct store_rows *r, int col);
bool store_isnull(struct store_rows *r, int col);
int store_ncols(struct store_rows *r);
void store_rows_free(struct store_rows *r);

/* Convenience: first column of the first row as integer / owned string (free()). Returns
 * FW_ENOTFOUND when there is no row. */
int store_query_int(struct store_conn *c, const char *sql, const struct store_arg *args, int n,
		    int64_t *out);
int store_query_str(struct store_conn *c, const char *sql, const struct store_arg *args, int n,
		    char **out);

/* Increments the named row of the counters table and returns its new value (FW_ENOTFOUND when there
 * is no such counter). Two plain statements: SQLite runs UPDATE ... RETURNING through a temporary
 * table, which costs more than the update itself. Call inside store_write(). */
int store_counter_next(struct store_conn *c, const char *name, int64_t *out);
/* Outside any transaction, when store_async_enabled(): takes the next value of counter name from
 * memory; the asynchronous write that uses it records it with store_counter_seen(). FW_EINVAL on a
 * store without asynchronous writes, FW_ENOTFOUND for an unknown counter. */
int store_counter_reserve(struct store *st, const char *name, int64_t *out);
/* Raises counter name to value if it is lower (a write that carries a reserved number). With the
 * counters in memory (store_async_enabled) every batch stores them and this does nothing. */
int store_counter_seen(struct store_conn *c, const char *name, int64_t value);

/* The last error message of the connection (for logs, never for users). */
const char *store_errmsg(struct store_conn *c);
/* True when the store answers a trivial query (readiness). */
bool store_ping(struct store *st);
/* Reads the store's current schema version. */
int64_t store_schema_version(struct store *st);

#endif
