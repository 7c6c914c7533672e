/* Unit tests for the store's write path (src/store/store.c, store_sqlite.c, sqlite_walbuf.c) on a
 * real SQLite file: group commit from many threads (every caller answered, a failing job leaves
 * nothing and does not harm its batch), transactions larger than the WAL write buffer, readers
 * seeing each commit at once, counters, the statement cache under more statements than it has ways,
 * and acknowledged writes surviving SIGKILL of the process right after store_write() returned. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

struct fixture {
	char dir[64];
	char path[96];
	struct store *st;
};

static int schema_tx(struct store_conn *c, void *arg)
{
	(void)arg;
	int rc = store_exec(c, "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)", SNOARGS, NULL);
	if (!rc)
		rc = store_exec(c, "INSERT INTO counters (name, value) VALUES ('test_seq', 0) ON CONFLICT DO NOTHING",
				SNOARGS, NULL);
	return rc;
}

static int open_store(struct fixture *f)
{
	char err[256];
	int rc = store_open(f->path, &f->st, err, sizeof(err));
	if (rc)
		fprintf(stderr, "store_open: %s\n", err);
	return rc;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/fw-test-store.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
	if (open_store(f) || store_write(f->st, schema_tx, NULL))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

struct put {
	int64_t k;
	size_t len; /* bytes of v */
	bool fail;  /* insert, then fail: the row must not stay */
};

static int put_tx(struct store_conn *c, void *arg)
{
	struct put *p = arg;
	char *v = malloc(p->len + 1);
	if (!v)
		return FW_ENOMEM;
	memset(v, 'a' + (int)(p->k % 26), p->len);
	v[p->len] = '\0';
	int rc = store_exec(c, "INSERT INTO t (k, v) VALUES ($1, $2)", SARGS(SI(p->k), ST(v)), NULL);
	free(v);
	return rc ? rc : p->fail ? FW_EINVAL : 0;
}

static int64_t count_rows(struct store *st, const char *sql)
{
	int64_t n = -1;
	assert_int_equal(store_query_int(store_reader(st), sql, SNOARGS, &n), 0);
	return n;
}

#define THREADS 8
#define PER_THREAD 200

struct worker {
	struct store *st;
	int id;
	int errors, failed_ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		struct put p = { .k = (int64_t)w->id * 100000 + i, .len = 100, .fail = i % 10 == 9 };
		int rc = store_write(w->st, put_tx, &p);
		if (p.fail ? rc != FW_EINVAL : rc != 0)
			w->errors++;
		/* What this thread just wrote is visible to its own reader at once. */
		int64_t seen = -1;
		store_query_int(store_reader(w->st), "SELECT COUNT(*) FROM t WHERE k = $1", SARGS(SI(p.k)), &seen);
		if (seen != (p.fail ? 0 : 1))
			w->errors++;
	}
	return NULL;
}

/* Many threads writing at once: every call answers with its own result, failures roll back only
 * themselves, and every acknowledged row is there. */
static void test_group_commit_threads(void **state)
{
	struct fixture *f = *state;
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .st = f->st, .id = i + 1 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	assert_int_equal(count_rows(f->st, "SELECT COUNT(*) FROM t"), THREADS * PER_THREAD * 9 / 10);
}

/* A transaction of ~2 MB spills past the WAL write buffer many times; a reader sees all of it after
 * the commit, and a failed big transaction leaves none of it. */
static void test_large_transactions(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 3; i++) {
		struct put p = { .k = 900000 + i, .len = 700 * 1024 };
		assert_int_equal(store_write(f->st, put_tx, &p), 0);
		assert_int_equal(count_rows(f->st, "SELECT COUNT(*) FROM t WHERE k >= 900000"), i + 1);
	}
	struct put bad = { .k = 900100, .len = 2 * 1024 * 1024, .fail = true };
	assert_int_equal(store_write(f->st, put_tx, &bad), FW_EINVAL);
	assert_int_equal(count_rows(f->st, "SELECT COUNT(*) FROM t WHERE k = 900100"), 0);
	assert_int_equal(count_rows(f->st, "SELECT SUM(length(v)) FROM t WHERE k >= 900000"), 3 * 700 * 1024);
}

static int counter_tx(struct store_conn *c, void *arg)
{
	int64_t *v = arg;
	return store_counter_next(c, "test_seq", v);
}

static int missing_counter_tx(struct store_conn *c, void *arg)
{
	int64_t *v = arg;
	return store_counter_next(c, "no_such_counter", v);
}

static void test_counters(void **state)
{
	struct fixture *f = *state;
	for (int64_t i = 1; i <= 5; i++) {
		int64_t v = 0;
		assert_int_equal(store_write(f->st, counter_tx, &v), 0);
		assert_int_equal(v, i);
	}
	int64_t v = 0;
	assert_int_equal(store_write(f->st, missing_counter_tx, &v), FW_ENOTFOUND);
}

/* More distinct statements than one cache set holds, in a cycle: each still returns its own answer
 * (an eviction never hands back another statement). */
static void test_statement_cache(void **state)
{
	struct fixture *f = *state;
	struct store_conn *r = store_reader(f->st);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 3000; i++) {
			char sql[64];
			snprintf(sql, sizeof(sql), "SELECT %d + 0 * $1", i);
			int64_t v = -1;
			assert_int_equal(store_query_int(r, sql, SARGS(SI(1)), &v), 0);
			assert_int_equal(v, i);
		}
}

/* mxFrame of the WAL index header: the frames in the WAL now (read from the -shm file, which does
 * not disturb the store the way a checkpoint from here would). */
static uint32_t wal_frames(const struct fixture *f)
{
	char shm[128];
	snprintf(shm, sizeof(shm), "%s-shm", f->path);
	FILE *fp = fopen(shm, "rb");
	uint32_t v = 0;
	if (fp) {
		if (fseek(fp, 16, SEEK_SET) != 0 || fread(&v, sizeof(v), 1, fp) != 1)
			v = 0;
		fclose(fp);
	}
	return v;
}

/* Under a steady stream of commits the WAL starts over after each checkpoint instead of growing: the
 * checkpoint thread copies, the writer catches up the rest and the next transaction restarts it. */
static void test_wal_stays_small(void **state)
{
	struct fixture *f = *state;
	uint32_t most = 0, restarts = 0, prev = 0;
	for (int i = 0; i < 20000; i++) {
		struct put p = { .k = 700000 + i, .len = 6000 }; /* two pages per commit, plus the b-tree */
		assert_int_equal(store_write(f->st, put_tx, &p), 0);
		uint32_t n = wal_frames(f);
		if (n > most)
			most = n;
		if (n < prev)
			restarts++;
		prev = n;
	}
	print_message("# 20,000 commits: the WAL held at most %u frames and started over %u times\n", most, restarts);
	assert_true(restarts > 0);
	assert_true(most < 32000); /* without the catch-up it reaches CKPT_INLINE, 64,000 */
}

/* The process is killed with SIGKILL right after store_write() returned: the row is in the file. */
static void test_acknowledged_survives_kill(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	f->st = NULL;
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		struct store *st;
		char err[256];
		if (store_open(f->path, &st, err, sizeof(err)))
			_exit(2);
		for (int i = 0;; i++) {
			struct put p = { .k = 500000 + i, .len = 3000 };
			if (store_write(st, put_tx, &p))
				_exit(3);
			int64_t k = p.k;
			if (write(pipefd[1], &k, sizeof(k)) != sizeof(k))
				_exit(4);
		}
	}
	close(pipefd[1]);
	int64_t last = -1, k;
	for (int i = 0; i < 300 && read(pipefd[0], &k, sizeof(k)) == sizeof(k); i++)
		last = k;
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	close(pipefd[0]);
	assert_true(WIFSIGNALED(status));
	assert_true(last >= 500299);
	assert_int_equal(open_store(f), 0);
	int64_t n = -1;
	assert_int_equal(store_query_int(store_reader(f->st), "SELECT COUNT(*) FROM t WHERE k BETWEEN 500000 AND $1",
					 SARGS(SI(last)), &n),
			 0);
	assert_int_equal(n, last - 500000 + 1);
}

int main(void)
{
	log_set_level(LOG_WARN); /* migrations log at info */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_commit_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_stays_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acknowledged_survives_kill, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
