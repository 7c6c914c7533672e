#include "store/store.h"
#include "store/store_backend.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Group commit. Writers queue their job; the first one to find no batch running becomes the leader:
 * it takes every queued job (up to BATCH_MAX), runs them in one transaction on the one write
 * connection, marks them done and wakes their submitters, then hands leadership to the submitter of
 * the oldest job still queued. Whoever commits is a thread that was waiting anyway, so no thread
 * switch sits between a request and its commit when the store is idle. */
#define BATCH_MAX 512

struct hook {
	store_hook cb;
	void *arg;
	struct hook *next;
};

struct store_job {
	store_txfn fn;
	void *ctx;
	int rc;
	bool done;
	struct hook *hooks; /* after-commit callbacks registered by fn */
	struct store_job *next;
	pthread_cond_t cond; /* signalled when done: wakes this submitter only */
};

struct store_conn {
	struct store *st;
	void *h;
	struct store_job *job; /* the writer's current job, for store_after_commit */
	struct store_conn *next_all;
};

struct store {
	const struct store_backend *be;
	char *url; /* what the backend's connect() takes */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when a leader finishes and nothing is queued (store_close) */
	struct store_job *head, *tail;
	bool stopping;
	bool readonly; /* store_open_readonly: no writer connection */
	bool leading; /* a batch is running */
	struct store_conn *wconn;
	struct store_conn *all; /* every connection, freed at close */
};

static __thread struct store *tl_store;
static __thread struct store_conn *tl_reader;

const char *store_kind(const struct store *st)
{
	return st->be->name;
}

static int conn_new(struct store *st, enum store_role role, struct store_conn **out, char *err, size_t errcap)
{
	struct store_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return FW_ENOMEM;
	int rc = st->be->connect(st->url, role, &c->h, err, errcap);
	if (rc) {
		free(c);
		return rc;
	}
	c->st = st;
	pthread_mutex_lock(&st->lock);
	c->next_all = st->all;
	st->all = c;
	pthread_mutex_unlock(&st->lock);
	*out = c;
	return 0;
}

struct store_conn *store_reader(struct store *st)
{
	if (tl_store == st && tl_reader)
		return tl_reader;
	struct store_conn *c = NULL;
	char err[256];
	if (conn_new(st, st->readonly ? STORE_READONLY : STORE_READER, &c, err, sizeof(err))) {
		log_msg(LOG_ERROR, "store: cannot open a read connection: %s", err);
		return NULL;
	}
	tl_store = st;
	tl_reader = c;
	return c;
}

int store_exec(struct store_conn *c, const char *sql, const struct store_arg *args, int n, int64_t *changes)
{
	if (!c)
		return FW_ESTORE;
	int rc = c->st->be->exec(c->h, sql, args, n, changes);
	if (rc)
		log_msg(LOG_ERROR, "store: %s: %s", store_errmsg(c), sql);
	return rc;
}

int store_query(struct store_conn *c, const char *sql, const struct store_arg *args, int n,
		struct store_rows **out)
{
	if (!c)
		return FW_ESTORE;
	int rc = c->st->be->query(c->h, sql, args, n, out);
	if (rc)
		log_msg(LOG_ERROR, "store: %s: %s", store_errmsg(c), sql);
	return rc;
}

int store_next(struct store_rows *r)
{
	return r->be->next(r);
}

const char *store_text(struct store_rows *r, int col)
{
	return r->be->text(r, col);
}

int64_t store_int(struct store_rows *r, int col)
{
	return r->be->integer(r, col);
}

bool store_isnull(struct store_rows *r, int col)
{
	return r->be->isnull(r, col);
}

int store_ncols(struct store_rows *r)
{
	return r->be->ncols(r);
}

void store_rows_free(struct store_rows *r)
{
	if (r)
		r->be->rows_free(r);
}

int store_query_int(struct store_conn *c, const char *sql, const struct store_arg *args, int n, int64_t *out)
{
	struct store_rows *r;
	int rc = store_query(c, sql, args, n, &r);
	if (rc)
		return rc;
	rc = store_next(r);
	if (rc == 1) {
		*out = store_int(r, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = FW_ENOTFOUND;
	}
	store_rows_free(r);
	return rc;
}

int store_counter_next(struct store_conn *c, const char *name, int64_t *out)
{
	int64_t changed = 0;
	int rc = store_exec(c, "UPDATE counters SET value = value + 1 WHERE name = $1", SARGS(ST(name)), &changed);
	if (rc)
		return rc;
	if (changed != 1)
		return FW_ENOTFOUND;
	return store_query_int(c, "SELECT value FROM counters WHERE name = $1", SARGS(ST(name)), out);
}

int store_query_str(struct store_conn *c, const char *sql, const struct store_arg *args, int n, char **out)
{
	struct store_rows *r;
	int rc = store_query(c, sql, args, n, &r);
	if (rc)
		return rc;
	rc = store_next(r);
	if (rc == 1) {
		const char *s = store_text(r, 0);
		*out = s ? strdup(s) : NULL;
		rc = 0;
	} else if (rc == 0) {
		rc = FW_ENOTFOUND;
	}
	store_rows_free(r);
	return rc;
}

const char *store_errmsg(struct store_conn *c)
{
	return c ? c->st->be->errmsg(c->h) : "no connection";
}

int store_after_commit(struct store_conn *c, store_hook cb, void *arg)
{
	if (!c->job) {
		cb(arg); /* not inside store_write: nothing to wait for */
		return 0;
	}
	struct hook *h = malloc(sizeof(*h));
	if (!h)
		return FW_ENOMEM;
	h->cb = cb;
	h->arg = arg;
	h->next = c->job->hooks;
	c->job->hooks = h;
	return 0;
}

static void free_hooks(struct hook *h, bool run)
{
	while (h) {
		struct hook *next = h->next;
		if (run)
			h->cb(h->arg);
		free(h);
		h = next;
	}
}

/* Runs one batch: every job in its own savepoint, one COMMIT for all. */
static void run_batch(struct store *st, struct store_job *batch)
{
	struct store_conn *c = st->wconn;
	const struct store_backend *be = st->be;
	int txrc = be->exec(c->h, be->begin_sql, NULL, 0, NULL);
	for (struct store_job *j = batch; j; j = j->next) {
		if (txrc) {
			j->rc = FW_ESTORE;
			continue;
		}
		if (be->exec(c->h, "SAVEPOINT w", NULL, 0, NULL)) {
			j->rc = FW_ESTORE;
			continue;
		}
		c->job = j;
		j->rc = j->fn(c, j->ctx);
		c->job = NULL;
		if (j->rc < 0) {
			be->exec(c->h, "ROLLBACK TO SAVEPOINT w", NULL, 0, NULL);
			free_hooks(j->hooks, false);
			j->hooks = NULL;
		}
		be->exec(c->h, "RELEASE SAVEPOINT w", NULL, 0, NULL);
	}
	if (!txrc && be->exec(c->h, "COMMIT", NULL, 0, NULL)) {
		log_msg(LOG_ERROR, "store: commit failed: %s", be->errmsg(c->h));
		be->exec(c->h, "ROLLBACK", NULL, 0, NULL);
		txrc = FW_ESTORE;
	} else if (txrc) {
		log_msg(LOG_ERROR, "store: begin failed: %s", be->errmsg(c->h));
	}
	for (struct store_job *j = batch; j; j = j->next) {
		if (txrc)
			j->rc = FW_ESTORE;
		free_hooks(j->hooks, txrc == 0 && j->rc >= 0);
		j->hooks = NULL;
	}
}

/* Called with st->lock held by the submitter of job, once it is the leader. Returns with the lock held
 * and job done. */
static void lead(struct store *st, struct store_job *job)
{
	st->leading = true;
	while (!job->done) {
		struct store_job *batch = st->head, *last = batch;
		int n = 1;
		while (last->next && n < BATCH_MAX) {
			last = last->next;
			n++;
		}
		st->head = last->next;
		if (!st->head)
			st->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&st->lock);

		run_batch(st, batch);

		pthread_mutex_lock(&st->lock);
		/* A job lives on its submitter's stack: read next before marking it done. */
		for (struct store_job *j = batch, *next; j; j = next) {
			next = j->next;
			j->done = true;
			if (j != job)
				pthread_cond_signal(&j->cond);
		}
	}
	st->leading = false;
	if (st->head)
		pthread_cond_signal(&st->head->cond); /* the oldest waiter leads next */
	else
		pthread_cond_broadcast(&st->idle);
}

int store_write(struct store *st, store_txfn fn, void *ctx)
{
	if (st->readonly) {
		log_msg(LOG_ERROR, "store: a write to a store opened read-only");
		return FW_ESTORE;
	}
	struct store_job job = { .fn = fn, .ctx = ctx };
	pthread_cond_init(&job.cond, NULL);
	pthread_mutex_lock(&st->lock);
	if (st->stopping) {
		pthread_mutex_unlock(&st->lock);
		pthread_cond_destroy(&job.cond);
		return FW_ESTORE;
	}
	/* The job lives on this stack until it is done; the leader unlinks it before marking it so. */
	if (st->tail)
		st->tail->next = &job;
	else
		st->head = &job; // cppcheck-suppress autoVariables
	st->tail = &job; // cppcheck-suppress autoVariables
	/* job.next is rewritten by the leader when it cuts the batch; job.done is the only signal. */
	while (!job.done) {
		if (!st->leading)
			lead(st, &job);
		else
			pthread_cond_wait(&job.cond, &st->lock);
	}
	pthread_mutex_unlock(&st->lock);
	pthread_cond_destroy(&job.cond);
	return job.rc;
}

static int migrate(struct store *st, char *err, size_t errcap)
{
	struct store_conn *c = st->wconn;
	const struct store_backend *be = st->be;
	if (be->script(c->h, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
			     "name TEXT NOT NULL, applied_at BIGINT NOT NULL)")) {
		snprintf(err, errcap, "cannot create schema_migrations: %s", be->errmsg(c->h));
		return FW_ESTORE;
	}
	/* Each version is applied once, checked individually, so modules may number theirs in
	 * separate ranges and a later-added lower number still runs. */
	for (const struct store_migration *m = store_migrations; m->version; m++) {
		int64_t have = 0;
		if (!store_query_int(c, "SELECT 1 FROM schema_migrations WHERE version = $1", SARGS(SI(m->version)), &have))
			continue;
		int rc = be->exec(c->h, be->begin_sql, NULL, 0, NULL);
		if (!rc)
			rc = be->script(c->h, m->sql);
		if (!rc)
			rc = be->exec(c->h, "INSERT INTO schema_migrations (version, name, applied_at) "
					    "VALUES ($1, $2, $3)",
				      SARGS(SI(m->version), ST(m->name), SI(time_now_ms())), NULL);
		if (rc) {
			snprintf(err, errcap, "migration %lld (%s) failed: %s", (long long)m->version, m->name,
				 be->errmsg(c->h));
			be->exec(c->h, "ROLLBACK", NULL, 0, NULL);
			return FW_ESTORE;
		}
		if (be->exec(c->h, "COMMIT", NULL, 0, NULL)) {
			snprintf(err, errcap, "migration %lld commit failed: %s", (long long)m->version,
				 be->errmsg(c->h));
			return FW_ESTORE;
		}
		log_msg(LOG_INFO, "store: applied migration %lld (%s)", (long long)m->version, m->name);
	}
	return 0;
}

static int open_store(const char *url, bool readonly, struct store **out, char *err, size_t errcap)
{
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		return FW_ENOMEM;
	if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
		st->be = &store_pg_backend;
		st->url = strdup(url);
	} else {
		st->be = &store_sqlite_backend;
		st->url = strdup(strncmp(url, "sqlite://", 9) == 0 ? url + 9 : url);
	}
	st->readonly = readonly;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->idle, NULL);
	int rc;
	if (readonly) {
		/* The caller's read connection, opened now so that a store that cannot be read fails here. */
		struct store_conn *c = NULL;
		rc = conn_new(st, STORE_READONLY, &c, err, errcap);
		if (!rc)
			tl_store = st, tl_reader = c;
	} else {
		rc = conn_new(st, STORE_WRITER, &st->wconn, err, errcap);
		if (!rc)
			rc = migrate(st, err, errcap);
	}
	if (rc) {
		st->stopping = true;
		for (struct store_conn *c = st->all, *n; c; c = n) {
			n = c->next_all;
			st->be->disconnect(c->h);
			free(c);
		}
		free(st->url);
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

int store_open(const char *url, struct store **out, char *err, size_t errcap)
{
	return open_store(url, false, out, err, errcap);
}

int store_open_readonly(const char *url, struct store **out, char *err, size_t errcap)
{
	return open_store(url, true, out, err, errcap);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->stopping = true; /* no new jobs; the queued ones are run by their submitters */
	while (st->leading || st->head)
		pthread_cond_wait(&st->idle, &st->lock);
	pthread_mutex_unlock(&st->lock);
	for (struct store_conn *c = st->all, *n; c; c = n) {
		n = c->next_all;
		st->be->disconnect(c->h);
		free(c);
	}
	if (tl_store == st)
		tl_reader = NULL, tl_store = NULL;
	free(st->url);
	free(st);
}

bool store_ping(struct store *st)
{
	int64_t v = 0;
	return store_query_int(store_reader(st), "SELECT 1", SNOARGS, &v) == 0 && v == 1;
}

int64_t store_schema_version(struct store *st)
{
	int64_t v = 0;
	store_query_int(store_reader(st), "SELECT COALESCE(MAX(version),0) FROM schema_migrations", SNOARGS, &v);
	return v;
}
