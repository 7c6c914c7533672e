/* SQLite backend: WAL mode, one connection per thread, prepared statements cached per connection.
 * Placeholders $N of the common dialect are rewritten to SQLite's ?N at prepare time. */
#include "store/sqlite_walbuf.h"
#include "store/store_backend.h"
#include "util/err.h"
#include "util/hash.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statement cache is set-associative: CACHE_SETS sets of CACHE_WAYS statements each, the least
 * recently used of a set replaced on a miss. The writer connection runs every module's statements,
 * so a direct-mapped cache re-prepared colliding ones on every request. */
#define CACHE_SETS 256
#define CACHE_WAYS 4
#define CACHE_SLOTS (CACHE_SETS * CACHE_WAYS)

struct cached {
	char *sql; /* the original text, the cache key */
	uint64_t hash;
	uint64_t used; /* the connection's use clock when last used */
	sqlite3_stmt *stmt;
	bool busy; /* a store_rows is iterating it */
};

/* Checkpoints: the copying of WAL pages into the database file (and its fsync) runs on its own
 * thread and connection, so requests do not wait for it. That pass cannot reset the WAL while the
 * writer keeps appending, so the writer's next commit after a pass runs a short checkpoint of its own
 * for the frames added meanwhile; the WAL then starts over and stays small for readers (a long WAL
 * makes every page lookup search more of its index). */
#define CKPT_PAGES 4000	  /* WAL pages that start a checkpoint (one block of the WAL index) */
#define CKPT_INLINE 64000 /* the checkpointer fell this far behind: the writer checkpoints itself */

struct ckpt {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool want, running, pass_done, stop;
	sqlite3 *db;
};

struct sq_conn {
	sqlite3 *db;
	struct ckpt *ckpt; /* the writer's checkpointer */
	uint64_t clock;
	struct cached cache[CACHE_SLOTS];
};

struct sq_rows {
	struct store_rows base;
	struct sq_conn *c;
	sqlite3_stmt *stmt;
	struct cached *slot; /* NULL when the statement is not cached: finalize on free */
};

/* Eight bytes at a time (util/hash.h): every statement of a write is looked up here, and a byte-wise
 * hash of the longer ones cost more than the rest of the lookup. */
static uint64_t hash_sql(const char *s)
{
	return hash_words(1469598103934665603ULL, s, strlen(s));
}

/* Once per process, before the first connection: SQLite's allocation statistics take a global mutex
 * on every malloc and free; nothing reads them. */
static void sq_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_db(const char *path, sqlite3 **db, bool full_sync, char *err, size_t errcap)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, db, flags, sqlite_walbuf_vfs()) != SQLITE_OK) {
		snprintf(err, errcap, "cannot open SQLite database %s: %s", path,
			 *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return FW_ESTORE;
	}
	sqlite3_busy_timeout(*db, 10000);
	/* WAL + synchronous=NORMAL: a committed transaction survives a crash of the process (kill -9);
	 * sync=full in the URL also makes it survive power loss, at the cost of an fsync per batch. */
	char pragmas[256];
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; "
		 "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=67108864;",
		 full_sync ? "FULL" : "NORMAL");
	char *msg = NULL;
	if (sqlite3_exec(*db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errcap, "cannot configure SQLite: %s", msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(*db);
		*db = NULL;
		return FW_ESTORE;
	}
	return 0;
}

/* "file:" URI of path with immutable=1: every byte outside the unreserved set is %-escaped. */
static char *immutable_uri(const char *path)
{
	size_t n = strlen(path);
	char *u = malloc(3 * n + 32), *o = u;
	if (!u)
		return NULL;
	o += sprintf(o, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("/._-~", *p))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	strcpy(o, "?immutable=1");
	return u;
}

/* A connection that only reads and never changes the files (store_open_readonly). Reading a WAL
 * database needs its shared-memory index: when that cannot be created (a directory the caller may
 * not write, read-only media), the file is read as immutable: without locks, so only a store no
 * daemon is writing may be read that way. */
static int open_db_readonly(const char *path, sqlite3 **db, char *err, size_t errcap)
{
	int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
	for (int immutable = 0; immutable < 2; immutable++) {
		char *name = immutable ? immutable_uri(path) : strdup(path);
		if (!name)
			return FW_ENOMEM;
		int rc = sqlite3_open_v2(name, db, flags | (immutable ? SQLITE_OPEN_URI : 0), NULL);
		free(name);
		if (rc == SQLITE_OK) {
			sqlite3_busy_timeout(*db, 10000);
			rc = sqlite3_exec(*db, "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; "
					       "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
			if (rc == SQLITE_OK)
				return 0;
		}
		snprintf(err, errcap, "cannot read SQLite database %s: %s", path,
			 *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		/* Only a missing or unwritable index is worth the immutable reading. */
		if ((rc & 0xff) != SQLITE_READONLY && (rc & 0xff) != SQLITE_CANTOPEN)
			break;
	}
	return FW_ESTORE;
}

static void *ckpt_main(void *arg)
{
	struct ckpt *k = arg;
	pthread_mutex_lock(&k->lock);
	for (;;) {
		while (!k->want && !k->stop)
			pthread_cond_wait(&k->cond, &k->lock);
		if (k->stop)
			break;
		k->want = false;
		k->running = true;
		pthread_mutex_unlock(&k->lock);
		sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&k->lock);
		k->running = false;
		k->pass_done = true;
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* After each commit of the writer (replaces SQLite's automatic checkpoint). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct ckpt *k = arg;
	if (pages < CKPT_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&k->lock);
	bool catch_up = k->pass_done || pages >= CKPT_INLINE;
	k->pass_done = false;
	if (!catch_up && !k->want && !k->running) {
		k->want = true;
		pthread_cond_signal(&k->cond);
	}
	pthread_mutex_unlock(&k->lock);
	/* Only the frames since the last pass are left to copy; the next write transaction restarts
	 * the WAL from its beginning. */
	if (catch_up)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static struct ckpt *ckpt_start(const char *path, sqlite3 *writer, char *err, size_t errcap)
{
	struct ckpt *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	if (open_db(path, &k->db, false, err, errcap))
		goto fail;
	if (pthread_create(&k->thread, NULL, ckpt_main, k) != 0) {
		snprintf(err, errcap, "cannot start the checkpoint thread");
		sqlite3_close(k->db);
		goto fail;
	}
	sqlite3_wal_hook(writer, wal_hook, k);
	return k;
fail:
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
	return NULL;
}

static void ckpt_stop(struct ckpt *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	sqlite3_close(k->db);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
}

static int sq_connect(const char *path, enum store_role role, void **h, char *err, size_t errcap)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sq_setup);
	struct sq_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return FW_ENOMEM;
	char *p = strdup(path), *q = strchr(p, '?');
	bool full_sync = false;
	if (q) {
		*q++ = '\0';
		full_sync = strstr(q, "sync=full") != NULL;
	}
	int rc = role == STORE_READONLY ? open_db_readonly(p, &c->db, err, errcap)
					: open_db(p, &c->db, full_sync, err, errcap);
	if (!rc && role == STORE_WRITER && !(c->ckpt = ckpt_start(p, c->db, err, errcap))) {
		sqlite3_close(c->db);
		rc = FW_ESTORE;
	}
	free(p);
	if (rc) {
		free(c);
		return rc;
	}
	*h = c;
	return 0;
}

static void sq_disconnect(void *h)
{
	struct sq_conn *c = h;
	if (c->ckpt) {
		sqlite3_wal_hook(c->db, NULL, NULL);
		ckpt_stop(c->ckpt);
	}
	for (int i = 0; i < CACHE_SLOTS; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

/* $12 -> ?12 outside string literals. */
static char *translate(const char *sql)
{
	size_t n = strlen(sql);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	bool quoted = false;
	for (size_t i = 0; i <= n; i++) {
		char ch = sql[i];
		if (ch == '\'')
			quoted = !quoted;
		out[i] = (!quoted && ch == '$' && sql[i + 1] >= '0' && sql[i + 1] <= '9') ? '?' : ch;
	}
	return out;
}

static int prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **stmt, struct cached **slot)
{
	uint64_t h = hash_sql(sql);
	struct cached *set = &c->cache[(h % CACHE_SETS) * CACHE_WAYS], *s = NULL;
	*slot = NULL;
	c->clock++;
	for (int i = 0; i < CACHE_WAYS; i++) {
		struct cached *w = &set[i];
		if (w->stmt && w->hash == h && !w->busy && strcmp(w->sql, sql) == 0) {
			w->used = c->clock;
			*stmt = w->stmt;
			*slot = w;
			return 0;
		}
		/* The victim on a miss: an empty way, else the least recently used idle one. */
		if (!w->busy && (!s || (s->stmt && (!w->stmt || w->used < s->used))))
			s = w;
	}
	char *t = translate(sql);
	if (!t)
		return FW_ENOMEM;
	int rc = sqlite3_prepare_v3(c->db, t, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
	free(t);
	if (rc != SQLITE_OK)
		return FW_ESTORE;
	char *key = s ? strdup(sql) : NULL;
	if (key) {
		sqlite3_finalize(s->stmt);
		free(s->sql);
		s->sql = key;
		s->hash = h;
		s->used = c->clock;
		s->stmt = *stmt;
		*slot = s;
	}
	return 0;
}

static void release(sqlite3_stmt *stmt, struct cached *slot)
{
	if (slot) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
		slot->busy = false;
	} else {
		sqlite3_finalize(stmt);
	}
}

static int bind(sqlite3_stmt *stmt, const struct store_arg *a, int n)
{
	for (int i = 0; i < n; i++) {
		int rc;
		if (a[i].t == SA_INT)
			rc = sqlite3_bind_int64(stmt, i + 1, a[i].i);
		else if (a[i].t == SA_TEXT && a[i].s)
			rc = sqlite3_bind_text(stmt, i + 1, a[i].s, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(stmt, i + 1);
		if (rc != SQLITE_OK)
			return FW_ESTORE;
	}
	return 0;
}

static int sq_exec(void *h, const char *sql, const struct store_arg *a, int n, int64_t *changes)
{
	struct sq_conn *c = h;
	sqlite3_stmt *stmt;
	struct cached *slot;
	int rc = prepare(c, sql, &stmt, &slot);
	if (rc)
		return rc;
	if (slot)
		slot->busy = true;
	rc = bind(stmt, a, n);
	if (!rc) {
		int s;
		while ((s = sqlite3_step(stmt)) == SQLITE_ROW)
			;
		rc = s == SQLITE_DONE ? 0 : (s == SQLITE_CONSTRAINT ? FW_ECONFLICT : FW_ESTORE);
	}
	if (changes)
		*changes = sqlite3_changes64(c->db);
	release(stmt, slot);
	return rc;
}

static int sq_query(void *h, const char *sql, const struct store_arg *a, int n, struct store_rows **out)
{
	struct sq_conn *c = h;
	struct sq_rows *r = calloc(1, sizeof(*r));
	if (!r)
		return FW_ENOMEM;
	int rc = prepare(c, sql, &r->stmt, &r->slot);
	if (rc) {
		free(r);
		return rc;
	}
	if (r->slot)
		r->slot->busy = true;
	rc = bind(r->stmt, a, n);
	if (rc) {
		release(r->stmt, r->slot);
		free(r);
		return rc;
	}
	r->base.be = &store_sqlite_backend;
	r->c = c;
	*out = &r->base;
	return 0;
}

static int sq_next(struct store_rows *rows)
{
	struct sq_rows *r = (struct sq_rows *)rows;
	int s = sqlite3_step(r->stmt);
	return s == SQLITE_ROW ? 1 : s == SQLITE_DONE ? 0 : FW_ESTORE;
}

static const char *sq_text(struct store_rows *rows, int col)
{
	return (const char *)sqlite3_column_text(((struct sq_rows *)rows)->stmt, col);
}

static int64_t sq_int(struct store_rows *rows, int col)
{
	return sqlite3_column_int64(((struct sq_rows *)rows)->stmt, col);
}

static bool sq_isnull(struct store_rows *rows, int col)
{
	return sqlite3_column_type(((struct sq_rows *)rows)->stmt, col) == SQLITE_NULL;
}

static int sq_ncols(struct store_rows *rows)
{
	return sqlite3_column_count(((struct sq_rows *)rows)->stmt);
}

static void sq_rows_free(struct store_rows *rows)
{
	struct sq_rows *r = (struct sq_rows *)rows;
	release(r->stmt, r->slot);
	free(r);
}

/* Schema scripts are written once for both engines. "BIGINT PRIMARY KEY" becomes SQLite's
 * "INTEGER PRIMARY KEY", the rowid itself: otherwise SQLite keeps a hidden rowid plus a unique index
 * on the key, one more b-tree to write on every insert. Both hold 64-bit integers. */
static char *sqlite_dialect(const char *sql)
{
	static const char from[] = "BIGINT PRIMARY KEY", to[] = "INTEGER PRIMARY KEY";
	size_t n = strlen(sql), hits = 0;
	for (const char *p = sql; (p = strstr(p, from)); p += sizeof(from) - 1)
		hits++;
	char *out = malloc(n + hits * (sizeof(to) - sizeof(from)) + 1);
	if (!out)
		return NULL;
	char *o = out;
	for (const char *p = sql, *q; *p; p = q + sizeof(from) - 1) {
		if (!(q = strstr(p, from))) {
			strcpy(o, p);
			return out;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, sizeof(to) - 1);
		o += sizeof(to) - 1;
	}
	*o = '\0';
	return out;
}

static int sq_script(void *h, const char *sql)
{
	struct sq_conn *c = h;
	char *s = sqlite_dialect(sql);
	if (!s)
		return FW_ENOMEM;
	int rc = sqlite3_exec(c->db, s, NULL, NULL, NULL) == SQLITE_OK ? 0 : FW_ESTORE;
	free(s);
	return rc;
}

static const char *sq_errmsg(void *h)
{
	return sqlite3_errmsg(((struct sq_conn *)h)->db);
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.exec = sq_exec,
	.query = sq_query,
	.next = sq_next,
	.text = sq_text,
	.integer = sq_int,
	.isnull = sq_isnull,
	.ncols = sq_ncols,
	.rows_free = sq_rows_free,
	.script = sq_script,
	.errmsg = sq_errmsg,
	.begin_sql = "BEGIN IMMEDIATE",
};
