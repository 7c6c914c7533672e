#include "catalog/allocator.h"

#include "catalog/catalog_yaml.h"
#include "catalog/engagement.h"
#include "config.h"
#include "http/server.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define PERIOD_S 60

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool stopping, running;
static struct store *store;

struct run_ctx {
	int n;
};

static int run_tx(struct store_conn *c, void *arg)
{
	struct run_ctx *x = arg;
	return cat_allocate(c, NULL, time_now_ms(), &x->n);
}

static void run_once(void)
{
	struct run_ctx x = {0};
	int rc = store_write(store, run_tx, &x);
	if (rc)
		log_msg(LOG_ERROR, "catalog: allocation run failed (%d); retrying in %d s", rc, PERIOD_S);
	else if (x.n)
		log_msg(LOG_INFO, "catalog: allocated %d engagement month%s", x.n, x.n == 1 ? "" : "s");
}

static void *loop(void *arg)
{
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += PERIOD_S;
		while (!stopping && pthread_cond_timedwait(&cond, &lock, &ts) != ETIMEDOUT)
			;
		if (stopping)
			break;
		pthread_mutex_unlock(&lock);
		run_once();
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void load_catalog(struct server *s)
{
	char dir[1024], err[1200];
	int n = 0;
	if (s->cfg->catalog_dir[0])
		snprintf(dir, sizeof(dir), "%s", s->cfg->catalog_dir);
	else
		cat_catalog_dir(s->cfg->file, dir, sizeof(dir));
	if (cat_catalog_load_dir(s->store, dir, &n, err, sizeof(err)))
		log_msg(LOG_ERROR, "catalog: %s; keeping the stored catalog", err);
	else
		log_msg(LOG_INFO, "catalog: %d offering%s from %s", n, n == 1 ? "" : "s", dir);
}

int cat_allocator_start(struct server *s)
{
	store = s->store;
	load_catalog(s);
	run_once();
	stopping = false;
	if (pthread_create(&thread, NULL, loop, NULL))
		return -1;
	running = true;
	return 0;
}

void cat_allocator_reload(struct server *s)
{
	load_catalog(s);
}

void cat_allocator_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
}
