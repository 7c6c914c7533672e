#include "store/store.h"
#include "store/store_backend.h"
#include "store/store_redo.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Group commit. Writers queue their job; the first one to find no batch running becomes the leader:
 * it takes every queued job (up to BATCH_MAX), runs them in one transaction on the one write
 * connection, marks them done and wakes their submitters, then hands leadership to the submitter of
 * the oldest job still queued. Whoever commits is a thread that was waiting anyway, so no thread
 * switch sits between a request and its commit when the store is idle. */
#define BATCH_MAX 512
/* Redo log records applied per transaction when a start replays them. */
#define REPLAY_BATCH 1000
/* The applier gathers writes for up to GATHER_US before a batch of fewer than GATHER_MIN. */
#define GATHER_US 1000
#define GATHER_MIN 64
/* After a batch of asynchronous writes failed to commit, the applier tries again this much later. */
#define RETRY_US 100000
/* Acknowledged asynchronous writes not yet applied, at most: a writer past it waits. */
#define BACKLOG_MAX 1024
/* How long a reader waits for acknowledged asynchronous writes before it reads without them. */
#define BARRIER_WAIT_MS 10000

/* The kinds of asynchronous write a program can apply (store_async_register). */
struct async_type {
	char name[32];
	store_applyfn fn;
};
static struct async_type async_types[8];
static int nasync;

struct hook {
	store_hook cb;
	void *arg;
	struct hook *next;
};

struct store_job {
	store_txfn fn;
	void *ctx;
	/* An asynchronous write: its record in the redo log. Nobody waits for it; the leader frees it. */
	const struct async_type *at;
	uint64_t lsn;
	char *payload;
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

	/* Asynchronous writes (store_write_async), on SQLite unless the URL asks for sync=full or
	 * redo=off. Lock order: loglock, then lock. */
	struct store_redo *redo;
	pthread_mutex_t loglock; /* one lsn order for the log and the queue */
	uint64_t lsn;		 /* the last record appended (loglock) */
	_Atomic uint64_t queued; /* the last record queued */
	_Atomic uint64_t applied; /* the last record committed to the database */
	uint64_t lsn_open;        /* queued when the store opened: the records of earlier runs */
	pthread_cond_t applied_cond; /* broadcast when applied moves (lock) */
	pthread_cond_t work;	     /* wakes the applier: an asynchronous write is first in the queue */
	pthread_t applier;
	bool applier_running, quit;
	bool applier_idle; /* waiting for work: the next asynchronous write wakes it */
	bool urgent;	   /* a reader waits: apply now rather than gather a batch */
	bool failing; /* the last batch of asynchronous writes did not commit: the applier pauses */
	/* Counters handed out from memory (asynchronous mode), so a write can carry its numbers
	 * before it is applied. The table is updated by the writes that use them. */
	pthread_mutex_t ctr_lock;
	struct counter {
		char *name;
		int64_t value;
		int64_t stored; /* what the table holds (the writer's) */
	} *ctrs;
	int nctrs;
};

static __thread struct store *tl_store;
static __thread struct store_conn *tl_reader;
static __thread bool tl_leading; /* this thread runs a batch: its reads must not wait for it */

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

/* The absolute CLOCK_REALTIME time us microseconds from now, as pthread_cond_timedwait takes it. */
static struct timespec deadline_in(int64_t us)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	int64_t ns = t.tv_nsec + (us % 1000000) * 1000;
	t.tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
	t.tv_nsec = (long)(ns % 1000000000);
	return t;
}

/* Waits until every asynchronous write acknowledged before the call is committed, so that a read
 * sees what an earlier 2xx promised. */
static void await_applied(struct store *st)
{
	if (!st->redo || tl_leading)
		return;
	uint64_t want = atomic_load(&st->queued);
	if (atomic_load(&st->applied) >= want)
		return;
	struct timespec until = deadline_in(BARRIER_WAIT_MS * 1000L);
	pthread_mutex_lock(&st->lock);
	st->urgent = true;
	if (st->head && !st->leading)
		pthread_cond_signal(&st->work);
	int rc = 0;
	while (atomic_load(&st->applied) < want && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&st->applied_cond, &st->lock, &until);
	pthread_mutex_unlock(&st->lock);
	if (rc == ETIMEDOUT)
		log_msg(LOG_ERROR, "store: acknowledged writes are not applied after %d s; reading without them",
			BARRIER_WAIT_MS / 1000);
}

struct store_conn *store_reader(struct store *st)
{
	await_applied(st);
	return store_reader_nowait(st);
}

struct store_conn *store_reader_nowait(struct store *st)
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

int store_counter_reserve(struct store *st, const char *name, int64_t *out)
{
	if (!st->ctrs)
		return FW_EINVAL;
	int rc = FW_ENOTFOUND;
	pthread_mutex_lock(&st->ctr_lock);
	for (int i = 0; i < st->nctrs; i++)
		if (!strcmp(st->ctrs[i].name, name)) {
			*out = ++st->ctrs[i].value;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&st->ctr_lock);
	return rc;
}

int store_counter_seen(struct store_conn *c, const char *name, int64_t value)
{
	/* Counters in memory are never below a number handed out; each batch stores them. */
	if (c->st->ctrs)
		return 0;
	return store_exec(c, "UPDATE counters SET value = $2 WHERE name = $1 AND value < $2", SARGS(ST(name), SI(value)),
			  NULL);
}

int store_counter_next(struct store_conn *c, const char *name, int64_t *out)
{
	if (c && c->st->ctrs && !store_counter_reserve(c->st, name, out))
		return 0;
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

/* Writes the counters handed out from memory since the last batch into the batch's transaction. A
 * number handed out but never used leaves a gap after a crash, never a number used twice. */
static int store_counters(struct store *st)
{
	for (int i = 0; i < st->nctrs; i++) {
		struct counter *k = &st->ctrs[i];
		pthread_mutex_lock(&st->ctr_lock);
		int64_t v = k->value;
		pthread_mutex_unlock(&st->ctr_lock);
		if (v == k->stored)
			continue;
		if (st->be->exec(st->wconn->h, "UPDATE counters SET value = $2 WHERE name = $1 AND value < $2",
				 SARGS(ST(k->name), SI(v)), NULL))
			return FW_ESTORE;
		k->stored = v;
	}
	return 0;
}

/* Runs one job in its own savepoint on the write connection. */
static void run_job(struct store *st, struct store_job *j)
{
	struct store_conn *c = st->wconn;
	const struct store_backend *be = st->be;
	if (be->exec(c->h, "SAVEPOINT w", NULL, 0, NULL)) {
		j->rc = FW_ESTORE;
		return;
	}
	c->job = j;
	j->rc = j->at ? j->at->fn(c, j->payload) : j->fn(c, j->ctx);
	c->job = NULL;
	if (j->rc < 0) {
		be->exec(c->h, "ROLLBACK TO SAVEPOINT w", NULL, 0, NULL);
		free_hooks(j->hooks, false);
		j->hooks = NULL;
		if (j->at)
			log_msg(LOG_ERROR, "store: asynchronous write %llu (%s) failed and was rolled back: %s",
				(unsigned long long)j->lsn, j->at->name, fw_strerror(j->rc));
	}
	be->exec(c->h, "RELEASE SAVEPOINT w", NULL, 0, NULL);
}

/* Runs a batch of asynchronous writes without savepoints (two statements fewer each). Returns -1 at
 * the first that fails, leaving the transaction to be rolled back. */
static int run_bare(struct store *st, struct store_job *batch)
{
	struct store_conn *c = st->wconn;
	for (struct store_job *j = batch; j; j = j->next) {
		c->job = j;
		j->rc = j->at->fn(c, j->payload);
		c->job = NULL;
		if (j->rc < 0)
			return -1;
	}
	return 0;
}

/* Runs one batch: every job in its own savepoint, one COMMIT for all. The transaction also records the
 * last asynchronous write it applies, so a restart replays only what came after. Returns 0 when the
 * batch committed. */
static int run_batch(struct store *st, struct store_job *batch, uint64_t *top_out)
{
	struct store_conn *c = st->wconn;
	const struct store_backend *be = st->be;
	int txrc = be->exec(c->h, be->begin_sql, NULL, 0, NULL);
	bool bare = true; /* only asynchronous writes: no savepoints unless one fails */
	uint64_t top = 0;
	for (struct store_job *j = batch; j; j = j->next) {
		bare = bare && j->at;
		if (j->at)
			top = j->lsn;
	}
	if (!txrc && bare && run_bare(st, batch)) {
		/* One failed: start over with a savepoint each, so that only the failed one is lost. They
		 * apply from their payloads, so running them again does the same. */
		be->exec(c->h, "ROLLBACK", NULL, 0, NULL);
		for (struct store_job *j = batch; j; j = j->next) {
			free_hooks(j->hooks, false);
			j->hooks = NULL;
		}
		bare = false;
		txrc = be->exec(c->h, be->begin_sql, NULL, 0, NULL);
	}
	for (struct store_job *j = batch; !bare && j; j = j->next) {
		if (txrc)
			j->rc = FW_ESTORE;
		else
			run_job(st, j);
	}
	if (!txrc && top &&
	    be->exec(c->h, "UPDATE store_redo SET lsn = $1 WHERE id = 1", SARGS(SI(top)), NULL))
		txrc = FW_ESTORE;
	if (!txrc && st->ctrs)
		txrc = store_counters(st);
	if (!txrc && be->exec(c->h, "COMMIT", NULL, 0, NULL))
		txrc = FW_ESTORE;
	if (txrc) {
		log_msg(LOG_ERROR, "store: the transaction failed: %s", be->errmsg(c->h));
		be->exec(c->h, "ROLLBACK", NULL, 0, NULL);
		for (int i = 0; i < st->nctrs; i++)
			st->ctrs[i].stored = INT64_MIN; /* unknown now: the next batch stores every one */
	}
	for (struct store_job *j = batch; j; j = j->next) {
		if (txrc)
			j->rc = FW_ESTORE;
		free_hooks(j->hooks, txrc == 0 && j->rc >= 0);
		j->hooks = NULL;
	}
	*top_out = top;
	return txrc;
}

static void free_jobs(struct store_job *j)
{
	for (struct store_job *next; j; j = next) {
		next = j->next;
		free(j);
	}
}

/* Hands the queue on after a leader stops: the oldest waiter leads next, or the applier when the
 * oldest job is an asynchronous write. Called with st->lock held. */
static void pass_on(struct store *st)
{
	if (!st->head) {
		pthread_cond_broadcast(&st->idle);
		return;
	}
	/* A synchronous writer queued behind asynchronous writes leads them too, rather than wait for
	 * the applier to gather its batch. */
	for (struct store_job *j = st->head; j; j = j->next)
		if (!j->at) {
			pthread_cond_signal(&j->cond);
			return;
		}
	pthread_cond_signal(&st->work);
}

/* Called with st->lock held by the submitter of job, once it is the leader, or by the applier with job
 * NULL: then it runs batches until the queue is empty. Returns with the lock held. */
static void lead(struct store *st, struct store_job *job)
{
	st->leading = true;
	tl_leading = true;
	/* Applied asynchronous jobs, freed with the lock released: they were allocated by the request
	 * threads, and free() takes their arena's lock, which writers enqueueing were made to wait for. */
	struct store_job *garbage = NULL;
	while (job ? !job->done : st->head && !st->failing) {
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
		free_jobs(garbage);
		garbage = NULL;

		uint64_t top; /* the last asynchronous write in the batch, 0 for none */
		int txrc = run_batch(st, batch, &top);
		if (!txrc && top && st->redo) {
			pthread_mutex_lock(&st->loglock);
			store_redo_trim(st->redo, top);
			pthread_mutex_unlock(&st->loglock);
		}

		pthread_mutex_lock(&st->lock);
		/* A synchronous job lives on its submitter's stack: read next before marking it done. An
		 * asynchronous one that did not commit goes back to the front of the queue, in order. */
		struct store_job *retry = NULL, *rlast = NULL;
		for (struct store_job *j = batch, *next; j; j = next) {
			next = j->next;
			if (j->at && txrc) {
				if (rlast)
					rlast->next = j;
				else
					retry = j;
				rlast = j;
			} else if (j->at) {
				j->next = garbage;
				garbage = j;
			} else {
				j->done = true;
				if (j != job)
					pthread_cond_signal(&j->cond);
			}
		}
		if (retry) {
			rlast->next = st->head;
			if (!st->head)
				st->tail = rlast;
			st->head = retry;
			st->failing = true;
		} else if (top) {
			st->failing = false;
			atomic_store(&st->applied, top);
			pthread_cond_broadcast(&st->applied_cond);
		}
	}
	st->leading = false;
	tl_leading = false;
	pass_on(st);
	if (garbage) {
		pthread_mutex_unlock(&st->lock);
		free_jobs(garbage);
		pthread_mutex_lock(&st->lock);
	}
}

static void enqueue(struct store *st, struct store_job *j)
{
	if (st->tail)
		st->tail->next = j;
	else
		st->head = j;
	st->tail = j;
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
	/* The job lives on this stack until it is done; the leader unlinks it before marking it so.
	 * job.next is rewritten by the leader when it cuts the batch; job.done is the only signal. */
	enqueue(st, &job); // cppcheck-suppress autoVariables
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

/* ---- asynchronous writes ---- */

static const struct async_type *async_find(const char *name)
{
	for (int i = 0; i < nasync; i++)
		if (!strcmp(async_types[i].name, name))
			return &async_types[i];
	return NULL;
}

int store_async_register(const char *type, store_applyfn fn)
{
	struct async_type *at = (struct async_type *)async_find(type);
	if (!at) {
		if (nasync == (int)(sizeof(async_types) / sizeof(async_types[0])) || strlen(type) >= sizeof(at->name))
			return FW_ELIMIT;
		at = &async_types[nasync++];
		snprintf(at->name, sizeof(at->name), "%s", type);
	}
	at->fn = fn;
	return 0;
}

bool store_async_enabled(const struct store *st)
{
	return st->redo != NULL;
}

struct apply_now {
	const struct async_type *at;
	const char *payload;
};

static int apply_now(struct store_conn *c, void *ctx)
{
	const struct apply_now *x = ctx;
	return x->at->fn(c, x->payload);
}

void store_async_counts(struct store *st, uint64_t *acknowledged, uint64_t *pending)
{
	uint64_t q = atomic_load(&st->queued), a = atomic_load(&st->applied);
	*acknowledged = st->redo ? q - st->lsn_open : 0;
	*pending = st->redo && q > a ? q - a : 0;
}

int store_write_async(struct store *st, const char *type, const char *payload)
{
	const struct async_type *at = async_find(type);
	if (!at)
		return FW_EINVAL;
	if (!st->redo)
		return store_write(st, apply_now, &(struct apply_now){ at, payload });
	size_t len = strlen(payload);
	struct store_job *j = calloc(1, sizeof(*j) + len + 1);
	if (!j)
		return FW_ENOMEM;
	j->at = at;
	j->payload = (char *)(j + 1);
	memcpy(j->payload, payload, len + 1);
	uint64_t sum = store_redo_sum(type, payload, len);
	pthread_mutex_lock(&st->loglock);
	uint64_t lsn = st->lsn + 1;
	int rc = store_redo_append(st->redo, lsn, type, payload, len, sum);
	if (rc) {
		pthread_mutex_unlock(&st->loglock);
		free(j);
		return FW_ESTORE;
	}
	st->lsn = lsn;
	j->lsn = lsn;
	pthread_mutex_lock(&st->lock);
	enqueue(st, j);
	atomic_store(&st->queued, lsn);
	if (!st->leading && st->applier_idle) {
		st->applier_idle = false;
		pthread_cond_signal(&st->work);
	}
	pthread_mutex_unlock(&st->loglock);
	/* Durable already; the wait only keeps the applier's backlog (and a reader's wait) bounded. */
	while (lsn - atomic_load(&st->applied) > BACKLOG_MAX && !st->quit)
		pthread_cond_wait(&st->applied_cond, &st->lock);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* Drops the queued asynchronous writes (they stay in the redo log for the next start): a closing
 * store whose writes cannot commit. Called with st->lock held. */
static void drop_async(struct store *st)
{
	struct store_job **p = &st->head, *last = NULL;
	while (*p) {
		struct store_job *j = *p;
		if (j->at) {
			*p = j->next;
			log_msg(LOG_ERROR, "store: asynchronous write %llu is left in the redo log for the next start",
				(unsigned long long)j->lsn);
			free(j);
		} else {
			last = j;
			p = &j->next;
		}
	}
	st->tail = last;
}

/* Applies asynchronous writes that no waiting writer picks up: whenever one is first in the queue and
 * nobody leads. Batches grow by themselves while it works. */
static void *applier_main(void *arg)
{
	struct store *st = arg;
	bool gathered = false;
	pthread_mutex_lock(&st->lock);
	while (!st->quit) {
		if (st->failing) {
			if (st->stopping) {
				drop_async(st);
			} else {
				struct timespec until = deadline_in(RETRY_US);
				pthread_cond_timedwait(&st->work, &st->lock, &until);
			}
			st->failing = false;
			if (!st->leading)
				pass_on(st);
			continue;
		}
		if (st->head && st->head->at && !st->leading) {
			/* Nobody waits for these writes: gather a batch for a moment unless a reader waits,
			 * which spares a wake-up per write and makes the transactions larger. */
			if (!gathered && !st->urgent && !st->stopping &&
			    atomic_load(&st->queued) - atomic_load(&st->applied) < GATHER_MIN) {
				struct timespec until = deadline_in(GATHER_US);
				pthread_cond_timedwait(&st->work, &st->lock, &until);
				gathered = true;
				continue;
			}
			gathered = false;
			st->urgent = false;
			lead(st, NULL);
			continue;
		}
		gathered = false;
		st->applier_idle = true;
		pthread_cond_wait(&st->work, &st->lock);
		st->applier_idle = false;
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

struct replay {
	struct store *st;
	uint64_t applied, top;
	int64_t count;
	int pending; /* applied in the open transaction */
	char *err;
	size_t errcap;
};

static int replay_commit(struct replay *x)
{
	struct store_conn *c = x->st->wconn;
	const struct store_backend *be = x->st->be;
	if (!x->pending)
		return 0;
	x->pending = 0;
	if (be->exec(c->h, "UPDATE store_redo SET lsn = $1 WHERE id = 1", SARGS(SI(x->top)), NULL) ||
	    be->exec(c->h, "COMMIT", NULL, 0, NULL)) {
		snprintf(x->err, x->errcap, "cannot commit writes replayed from the redo log: %s", be->errmsg(c->h));
		be->exec(c->h, "ROLLBACK", NULL, 0, NULL);
		return FW_ESTORE;
	}
	return 0;
}

static int replay_one(uint64_t lsn, const char *type, const char *payload, void *ctx)
{
	struct replay *x = ctx;
	if (lsn <= x->applied)
		return 0;
	struct store_job j = { .at = async_find(type), .lsn = lsn, .payload = (char *)payload };
	if (!j.at) {
		snprintf(x->err, x->errcap,
			 "the redo log holds a write of type '%s' (number %llu) that this program cannot apply", type,
			 (unsigned long long)lsn);
		return FW_ESTORE;
	}
	struct store_conn *c = x->st->wconn;
	if (!x->pending && x->st->be->exec(c->h, x->st->be->begin_sql, NULL, 0, NULL)) {
		snprintf(x->err, x->errcap, "cannot begin replaying the redo log: %s", x->st->be->errmsg(c->h));
		return FW_ESTORE;
	}
	run_job(x->st, &j);
	/* Modules start after the store and look at their tables then: nothing to wake now. */
	free_hooks(j.hooks, false);
	x->top = lsn;
	x->count++;
	return ++x->pending >= REPLAY_BATCH ? replay_commit(x) : 0;
}

/* Applies what the redo log holds beyond the database's mark, starts the log afresh, loads the
 * counters and starts the applier. */
static int async_start(struct store *st, char *err, size_t errcap)
{
	char *path = strdup(st->url), *q = path ? strchr(path, '?') : NULL;
	if (!path)
		return FW_ENOMEM;
	if (q)
		*q = '\0';
	int rc = store_redo_open(path, &st->redo, err, errcap);
	free(path);
	if (rc)
		return rc;
	int64_t mark = 0;
	rc = store_query_int(st->wconn, "SELECT lsn FROM store_redo WHERE id = 1", SNOARGS, &mark);
	if (rc) {
		snprintf(err, errcap, "cannot read the redo log mark: %s", store_errmsg(st->wconn));
		return FW_ESTORE;
	}
	struct replay x = { .st = st, .applied = (uint64_t)mark, .top = (uint64_t)mark, .err = err, .errcap = errcap };
	uint64_t last = 0;
	rc = store_redo_scan(st->redo, replay_one, &x, &last, err, errcap);
	if (!rc)
		rc = replay_commit(&x);
	else if (x.pending)
		st->be->exec(st->wconn->h, "ROLLBACK", NULL, 0, NULL);
	if (rc)
		return rc;
	if (x.count)
		log_msg(LOG_INFO, "store: applied %lld acknowledged writes from the redo log", (long long)x.count);
	uint64_t top = x.top > last ? x.top : last;
	if ((rc = store_redo_reset(st->redo, top + 1, err, errcap)))
		return rc;
	st->lsn = st->lsn_open = top;
	atomic_store(&st->queued, top);
	atomic_store(&st->applied, top);

	struct store_rows *rows;
	if (store_query(st->wconn, "SELECT name, value FROM counters", SNOARGS, &rows)) {
		snprintf(err, errcap, "cannot load the counters: %s", store_errmsg(st->wconn));
		return FW_ESTORE;
	}
	int cap = 0;
	while ((rc = store_next(rows)) == 1) {
		if (st->nctrs == cap) {
			cap = cap ? 2 * cap : 32;
			struct counter *n = realloc(st->ctrs, (size_t)cap * sizeof(*n));
			if (!n) {
				rc = FW_ENOMEM;
				break;
			}
			st->ctrs = n;
		}
		struct counter *k = &st->ctrs[st->nctrs];
		if (!(k->name = strdup(store_text(rows, 0)))) {
			rc = FW_ENOMEM;
			break;
		}
		k->value = k->stored = store_int(rows, 1);
		st->nctrs++;
	}
	store_rows_free(rows);
	if (rc) {
		snprintf(err, errcap, "cannot load the counters");
		return FW_ESTORE;
	}
	if (pthread_create(&st->applier, NULL, applier_main, st)) {
		snprintf(err, errcap, "cannot start the applier thread");
		return FW_ESTORE;
	}
	pthread_setname_np(st->applier, "fw-applier");
	st->applier_running = true;
	return 0;
}

/* Asynchronous writes need one process owning the file and a log as durable as its commits. */
static bool async_wanted(const struct store *st)
{
	const char *q = strchr(st->url, '?');
	return st->be == &store_sqlite_backend && strncmp(st->url, ":memory:", 8) && strncmp(st->url, "file:", 5) &&
	       !(q && (strstr(q, "sync=full") || strstr(q, "redo=off")));
}

static void free_counters(struct store *st)
{
	for (int i = 0; i < st->nctrs; i++)
		free(st->ctrs[i].name);
	free(st->ctrs);
	st->ctrs = NULL;
	st->nctrs = 0;
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
	pthread_mutex_init(&st->loglock, NULL);
	pthread_cond_init(&st->applied_cond, NULL);
	pthread_cond_init(&st->work, NULL);
	pthread_mutex_init(&st->ctr_lock, NULL);
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
		if (!rc && async_wanted(st))
			rc = async_start(st, err, errcap);
	}
	if (rc) {
		st->stopping = true;
		store_redo_close(st->redo, 0);
		free_counters(st);
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
	/* No new jobs; the queued ones are run by their submitters, asynchronous ones by the applier. */
	st->stopping = true;
	if (!st->leading)
		pass_on(st);
	while (st->leading || st->head)
		pthread_cond_wait(&st->idle, &st->lock);
	st->quit = true;
	pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->lock);
	if (st->applier_running)
		pthread_join(st->applier, NULL);
	/* Everything appended was applied unless commits failed to the end: then the log stays. */
	store_redo_close(st->redo, atomic_load(&st->applied) == st->lsn);
	free_counters(st);
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
