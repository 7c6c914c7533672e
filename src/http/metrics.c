#include "http/metrics.h"
#include "util/buf.h"

#include <pthread.h>
#include <string.h>

#define MAX_SERIES 512
#define MAX_ROUTES 256
#define MAX_COUNTERS 128
#define NBUCKETS 11

static const double bounds[NBUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5 };

struct series {
	const char *route;
	char method[8];
	int status;
	unsigned long long count;
};

struct hist {
	const char *route;
	unsigned long long buckets[NBUCKETS];
	unsigned long long count;
	double sum;
};

struct counter {
	const char *name, *help;
	double value;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series series[MAX_SERIES];
static int nseries;
static struct hist hists[MAX_ROUTES];
static int nhists;
static struct counter counters[MAX_COUNTERS];
static int ncounters;

void metrics_observe(const char *route, const char *method, int status, double seconds)
{
	pthread_mutex_lock(&lock);
	int i;
	for (i = 0; i < nseries; i++)
		if (series[i].route == route && series[i].status == status && strcmp(series[i].method, method) == 0)
			break;
	if (i == nseries && nseries < MAX_SERIES) {
		series[i].route = route;
		strncpy(series[i].method, method, sizeof(series[i].method) - 1);
		series[i].status = status;
		nseries++;
	}
	if (i < nseries)
		series[i].count++;
	for (i = 0; i < nhists; i++)
		if (hists[i].route == route)
			break;
	if (i == nhists && nhists < MAX_ROUTES)
		hists[nhists++].route = route;
	if (i < nhists) {
		for (int b = 0; b < NBUCKETS; b++)
			if (seconds <= bounds[b])
				hists[i].buckets[b]++;
		hists[i].count++;
		hists[i].sum += seconds;
	}
	pthread_mutex_unlock(&lock);
}

void metrics_count(const char *name, const char *help, double delta)
{
	pthread_mutex_lock(&lock);
	int i;
	for (i = 0; i < ncounters; i++)
		if (counters[i].name == name)
			break;
	if (i == ncounters && ncounters < MAX_COUNTERS) {
		counters[i].name = name;
		counters[i].help = help;
		ncounters++;
	}
	if (i < ncounters)
		counters[i].value += delta;
	pthread_mutex_unlock(&lock);
}

void metrics_render(struct buf *out)
{
	pthread_mutex_lock(&lock);
	buf_puts(out, "# HELP flywheel_http_requests_total HTTP requests by route, method and status.\n"
		      "# TYPE flywheel_http_requests_total counter\n");
	for (int i = 0; i < nseries; i++)
		buf_printf(out, "flywheel_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
			   series[i].route, series[i].method, series[i].status, series[i].count);
	buf_puts(out, "# HELP flywheel_http_request_duration_seconds Time to answer a request.\n"
		      "# TYPE flywheel_http_request_duration_seconds histogram\n");
	for (int i = 0; i < nhists; i++) {
		for (int b = 0; b < NBUCKETS; b++)
			buf_printf(out, "flywheel_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
				   hists[i].route, bounds[b], hists[i].buckets[b]);
		buf_printf(out, "flywheel_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
			   hists[i].route, hists[i].count);
		buf_printf(out, "flywheel_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", hists[i].route,
			   hists[i].sum);
		buf_printf(out, "flywheel_http_request_duration_seconds_count{route=\"%s\"} %llu\n", hists[i].route,
			   hists[i].count);
	}
	for (int i = 0; i < ncounters; i++)
		buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %.17g\n", counters[i].name, counters[i].help,
			   counters[i].name, counters[i].name, counters[i].value);
	pthread_mutex_unlock(&lock);
}
