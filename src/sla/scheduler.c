#include "sla/scheduler.h"
#include "http/server.h"
#include "sla/engine.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct timer {
	int64_t at;
	char ticket[24];
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct timer *heap;
	size_t n, cap;
	bool running, started;
	struct store *st;
	pthread_t thr;
} g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

/* A binary min-heap on `at`. */
static void sift_up(size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (g.heap[p].at <= g.heap[i].at)
			break;
		struct timer t = g.heap[p];
		g.heap[p] = g.heap[i];
		g.heap[i] = t;
		i = p;
	}
}

static void sift_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < g.n && g.heap[l].at < g.heap[m].at)
			m = l;
		if (r < g.n && g.heap[r].at < g.heap[m].at)
			m = r;
		if (m == i)
			break;
		struct timer t = g.heap[m];
		g.heap[m] = g.heap[i];
		g.heap[i] = t;
		i = m;
	}
}

static void push_locked(const char *ticket, int64_t at)
{
	if (g.n == g.cap) {
		size_t nc = g.cap ? g.cap * 2 : 1024;
		struct timer *nh = realloc(g.heap, nc * sizeof(*nh));
		if (!nh)
			return; /* the rebuild on the next start still finds it in the store */
		g.heap = nh;
		g.cap = nc;
	}
	g.heap[g.n].at = at;
	snprintf(g.heap[g.n].ticket, sizeof(g.heap[g.n].ticket), "%s", ticket);
	sift_up(g.n++);
}

void sla_sched_arm(const char *ticket, int64_t at_ms)
{
	pthread_mutex_lock(&g.mu);
	if (g.started) {
		bool earliest = g.n == 0 || at_ms < g.heap[0].at;
		push_locked(ticket, at_ms);
		if (earliest)
			pthread_cond_signal(&g.cond);
	}
	pthread_mutex_unlock(&g.mu);
}

void sla_sched_wake(void)
{
	pthread_mutex_lock(&g.mu);
	pthread_cond_signal(&g.cond);
	pthread_mutex_unlock(&g.mu);
}

size_t sla_sched_size(void)
{
	pthread_mutex_lock(&g.mu);
	size_t n = g.n;
	pthread_mutex_unlock(&g.mu);
	return n;
}

static int tick_tx(struct store_conn *c, void *arg)
{
	return sla_ticket_tick(c, arg);
}

static void *sched_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.mu);
	while (g.running) {
		int64_t now = time_now_ms();
		if (g.n && g.heap[0].at <= now) {
			struct timer t = g.heap[0];
			g.heap[0] = g.heap[--g.n];
			sift_down(0);
			/* Drop duplicates of the same ticket due now: one evaluation covers them. */
			while (g.n && g.heap[0].at <= now && !strcmp(g.heap[0].ticket, t.ticket)) {
				g.heap[0] = g.heap[--g.n];
				sift_down(0);
			}
			pthread_mutex_unlock(&g.mu);
			if (store_write(g.st, tick_tx, t.ticket)) {
				log_msg(LOG_ERROR, "sla: evaluating %s failed; retrying in 5 s", t.ticket);
				sla_sched_arm(t.ticket, time_now_ms() + 5000);
			}
			pthread_mutex_lock(&g.mu);
			continue;
		}
		/* Sleep until the earliest timer, at most 1 s: a shifted test clock is noticed promptly. */
		int64_t wait = g.n ? g.heap[0].at - now : 1000;
		if (wait > 1000)
			wait = 1000;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g.cond, &g.mu, &ts);
	}
	pthread_mutex_unlock(&g.mu);
	return NULL;
}

int sla_sched_start(struct server *s)
{
	g.st = s->store;
	pthread_mutex_lock(&g.mu);
	g.started = true;
	g.running = true;
	pthread_mutex_unlock(&g.mu);
	/* Rebuild from the store: every ticket with a pending clock event or escalation step. */
	struct store_conn *c = store_reader(g.st);
	struct store_rows *rows;
	size_t n = 0;
	if (store_query(c,
			"SELECT ticket, MIN(next_at) FROM sla_clocks WHERE next_at IS NOT NULL GROUP BY ticket UNION ALL"
			" SELECT ticket, next_at FROM escalations WHERE next_at IS NOT NULL AND status = 'active'",
			SNOARGS, &rows) == 0) {
		pthread_mutex_lock(&g.mu);
		while (store_next(rows) == 1) {
			push_locked(store_text(rows, 0), store_int(rows, 1));
			n++;
		}
		pthread_mutex_unlock(&g.mu);
		store_rows_free(rows);
	}
	log_msg(LOG_INFO, "sla: scheduler armed %zu timers from the store", n);
	if (pthread_create(&g.thr, NULL, sched_main, NULL))
		return FW_EIO;
	return 0;
}

void sla_sched_stop(void)
{
	pthread_mutex_lock(&g.mu);
	bool was = g.started;
	g.running = false;
	g.started = false;
	pthread_cond_signal(&g.cond);
	pthread_mutex_unlock(&g.mu);
	if (was)
		pthread_join(g.thr, NULL);
	free(g.heap);
	g.heap = NULL;
	g.n = g.cap = 0;
}
