/* Unit tests for asynchronous writes (store_write_async, src/store/store.c and store_redo.c) on a real
 * SQLite file: reads and later synchronous writes see every acknowledged one, counters handed out
 * from memory stay in step with the table, a process killed with writes acknowledged but not applied
 * gets them back from the redo log at the next start (also past a torn last record), a log holding a
 * type the program does not know stops the start, and full log segments are removed once applied. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
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
	int rc = store_exec(c, "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)",
	                    SNOARGS, NULL);
	if (!rc)
		rc = store_exec(
		    c, "INSERT INTO counters (name, value) VALUES ('test_seq', 0) ON CONFLICT DO NOTHING",
		    SNOARGS, NULL);
	return rc;
}

/* Payload "k:v": inserts row k. */
static int apply_put(struct store_conn *c, const char *payload)
{
	char *end;
	long long k = strtoll(payload, &end, 10);
	if (*end != ':')
		return FW_EINVAL;
	int rc = store_exec(c, "INSERT INTO t (k, v) VALUES ($1, $2)", SARGS(SI(k), ST(end + 1)), NULL);
	/* "fail" inserts and then fails: its row must not stay. */
	return rc ? rc : strcmp(end + 1, "fail") ? 0 : FW_EINVAL;
}

/* Stands for an applier that never gets to the queue: the process is killed first. */
static int apply_stuck(struct store_conn *c, const char *payload)
{
	(void)c;
	(void)payload;
	for (;;)
		pause();
	return 0;
}

static int open_store(struct fixture *f, char *err, size_t errcap)
{
	return store_open(f->path, &f->st, err, errcap);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/fw-test-async.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
	store_async_register("t.put", apply_put);
	char err[256];
	/* Opened twice so that the counter the schema adds is one the store keeps in memory. */
	if (open_store(f, err, sizeof(err)) || store_write(f->st, schema_tx, NULL))
		return -1;
	store_close(f->st);
	if (open_store(f, err, sizeof(err)))
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

static int put(struct store *st, int64_t k, const char *v)
{
	char p[64];
	snprintf(p, sizeof(p), "%lld:%s", (long long)k, v);
	return store_write_async(st, "t.put", p);
}

static int64_t count_rows(struct store *st)
{
	int64_t n = -1;
	assert_int_equal(store_query_int(store_reader(st), "SELECT COUNT(*) FROM t", SNOARGS, &n), 0);
	return n;
}

/* Files of the redo log in the fixture's directory; last gets the path of the newest. */
static int redo_files(const struct fixture *f, char *last, size_t cap)
{
	DIR *d = opendir(f->dir);
	int n = 0;
	char best[300] = "";
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, "-redo.")) {
			n++;
			if (strcmp(e->d_name, best) > 0)
				snprintf(best, sizeof(best), "%s", e->d_name);
		}
	if (d)
		closedir(d);
	if (last)
		snprintf(last, cap, "%s/%s", f->dir, best);
	return n;
}

static int seen_tx(struct store_conn *c, void *arg)
{
	int64_t *k = arg, n = 0;
	int rc = store_query_int(c, "SELECT COUNT(*) FROM t WHERE k = $1", SARGS(SI(*k)), &n);
	return rc ? rc : n == 1 ? 0 : FW_ENOTFOUND;
}

static void test_reads_see_acknowledged(void **state)
{
	struct fixture *f = *state;
	assert_true(store_async_enabled(f->st));
	for (int64_t k = 1; k <= 2000; k++) {
		assert_int_equal(put(f->st, k, "x"), 0);
		if (k % 250 == 0)
			assert_int_equal(count_rows(f->st), k);
		/* A synchronous write queued after an asynchronous one runs after it. */
		if (k % 333 == 0)
			assert_int_equal(store_write(f->st, seen_tx, &k), 0);
	}
	assert_int_equal(store_write_async(f->st, "t.nobody", "1:x"), FW_EINVAL);
	store_close(f->st);
	/* A clean close applies everything and leaves no log behind. */
	assert_int_equal(redo_files(f, NULL, 0), 0);
	char err[256];
	assert_int_equal(open_store(f, err, sizeof(err)), 0);
	assert_int_equal(count_rows(f->st), 2000);
	int64_t mark = 0;
	assert_int_equal(store_query_int(store_reader(f->st), "SELECT lsn FROM store_redo", SNOARGS, &mark),
	                 0);
	assert_int_equal(mark, 2000);
}

/* A write that fails in a batch of asynchronous ones loses its own changes only. */
static void test_failed_write_alone_lost(void **state)
{
	struct fixture *f = *state;
	for (int round = 0; round < 20; round++)
		for (int64_t k = 1; k <= 50; k++)
			assert_int_equal(put(f->st, round * 100 + k, k % 10 == 7 ? "fail" : "ok"), 0);
	int64_t n = -1;
	assert_int_equal(store_query_int(store_reader(f->st), "SELECT COUNT(*) FROM t WHERE v = 'fail'", SNOARGS, &n),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(count_rows(f->st), 20 * 45);
}

static int next_tx(struct store_conn *c, void *arg)
{
	return store_counter_next(c, "test_seq", arg);
}

static void test_counters_from_memory(void **state)
{
	struct fixture *f = *state;
	int64_t v = 0, prev = 0;
	for (int i = 0; i < 51; i++) {
		if (i % 2)
			assert_int_equal(store_write(f->st, next_tx, &v), 0);
		else
			assert_int_equal(store_counter_reserve(f->st, "test_seq", &v), 0);
		assert_int_equal(v, prev + 1);
		prev = v;
	}
	assert_int_equal(store_counter_reserve(f->st, "no_such_counter", &v), FW_ENOTFOUND);
	/* The last number was a reservation that no write recorded: the table holds the one before. */
	store_close(f->st);
	char err[256];
	assert_int_equal(open_store(f, err, sizeof(err)), 0);
	assert_int_equal(store_write(f->st, next_tx, &v), 0);
	assert_int_equal(v, 51);
}

/* A child acknowledges `count` writes of type (after one its applier never finishes) and is killed. */
static void crash_with_pending(struct fixture *f, const char *type, int count)
{
	store_close(f->st);
	f->st = NULL;
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		store_async_register("t.stuck", apply_stuck);
		store_async_register(type, apply_put);
		struct store *st;
		char err[256], p[32];
		if (store_open(f->path, &st, err, sizeof(err)) || store_write_async(st, "t.stuck", "0:x"))
			_exit(2);
		for (int i = 1; i <= count; i++) {
			snprintf(p, sizeof(p), "%d:v%d", 100000 + i, i);
			if (store_write_async(st, type, p))
				_exit(3);
		}
		if (write(pipefd[1], "k", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	char c;
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
}

/* The offset where a segment's records end: the file's end, or zeros where a record would start. */
static off_t records_end(int fd)
{
	off_t off = 0;
	unsigned char h[24];
	static const unsigned char zero[24];
	while (pread(fd, h, sizeof(h), off) == (ssize_t)sizeof(h) && memcmp(h, zero, sizeof(h))) {
		uint32_t len;
		memcpy(&len, h + 4, 4);
		off += (off_t)sizeof(h) + len;
	}
	return off;
}

/* FNV-1a, the checksum of the first record format. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h;
}

/* A log of the first format ("FWR1" records, written with write() and ending at the file's end), as
 * an earlier version left it at a crash, is replayed by this one. */
static void test_first_format_replayed(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	f->st = NULL;
	char path[200];
	snprintf(path, sizeof(path), "%s/s.db-redo.%016x", f->dir, 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (uint64_t lsn = 1; lsn <= 3; lsn++) {
		char body[64];
		int n = snprintf(body, sizeof(body), "t.put%c%llu:old", '\0', (unsigned long long)(500 + lsn));
		uint32_t len = (uint32_t)n + 1, magic = 0x31525746u;
		uint64_t sum = fnv1a(fnv1a(1469598103934665603ULL, &lsn, sizeof(lsn)), body, len);
		unsigned char h[24];
		memcpy(h, &magic, 4);
		memcpy(h + 4, &len, 4);
		memcpy(h + 8, &lsn, 8);
		memcpy(h + 16, &sum, 8);
		assert_int_equal(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
		assert_int_equal(write(fd, body, len), (ssize_t)len);
	}
	close(fd);
	/* The store's mark must be behind those records: a fresh store's is 0. */
	char err[256];
	assert_int_equal(open_store(f, err, sizeof(err)), 0);
	int64_t n = -1;
	assert_int_equal(store_query_int(store_reader(f->st), "SELECT COUNT(*) FROM t WHERE v = 'old'", SNOARGS, &n),
			 0);
	assert_int_equal(n, 3);
	/* New records follow them in the fresh log. */
	assert_int_equal(put(f->st, 9, "new"), 0);
	assert_int_equal(count_rows(f->st), 4);
}

static void test_replay_after_kill(void **state)
{
	struct fixture *f = *state;
	store_async_register("t.stuck", apply_put); /* at the replay the first write applies like the rest */
	crash_with_pending(f, "t.put", 300);
	char last[400] = "";
	assert_int_equal(redo_files(f, last, sizeof(last)), 1);
	/* A record cut short by the crash ends the log; everything before it is replayed. */
	int fd = open(last, O_RDWR);
	assert_true(fd >= 0);
	off_t end = records_end(fd);
	assert_true(end > 0);
	assert_int_equal(pwrite(fd, "FWR2\x40\0\0\0torn", 12, end), 12);
	close(fd);
	char err[256];
	assert_int_equal(open_store(f, err, sizeof(err)), 0);
	assert_int_equal(count_rows(f->st), 301);
	char *v = NULL;
	assert_int_equal(
	    store_query_str(store_reader(f->st), "SELECT v FROM t WHERE k = 100300", SNOARGS, &v), 0);
	assert_string_equal(v, "v300");
	free(v);
	/* Numbering goes on after the replayed writes, and a second start replays nothing twice. */
	assert_int_equal(put(f->st, 7, "after"), 0);
	store_close(f->st);
	assert_int_equal(open_store(f, err, sizeof(err)), 0);
	assert_int_equal(count_rows(f->st), 302);
}

static void test_unknown_type_stops_start(void **state)
{
	struct fixture *f = *state;
	crash_with_pending(f, "t.elsewhere", 5);
	char err[256] = "";
	store_async_register("t.stuck", apply_put);
	assert_int_equal(open_store(f, err, sizeof(err)), FW_ESTORE);
	assert_non_null(strstr(err, "'t.elsewhere'"));
	f->st = NULL;
	store_async_register("t.elsewhere", apply_put);
	assert_int_equal(open_store(f, err, sizeof(err)), 0);
	assert_int_equal(count_rows(f->st), 6);
}

static void test_full_segments_removed(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(16001);
	memset(big, 'b', 16000);
	big[16000] = '\0';
	char *p = malloc(16032);
	for (int k = 1; k <= 2200; k++) { /* 35 MB: two segments fill up */
		snprintf(p, 16032, "%d:%s", k, big);
		assert_int_equal(store_write_async(f->st, "t.put", p), 0);
	}
	free(p);
	free(big);
	assert_int_equal(count_rows(f->st), 2200);
	/* Trimming follows the commit that applied a full segment's last record. */
	assert_int_equal(put(f->st, 3000, "x"), 0);
	assert_int_equal(count_rows(f->st), 2201);
	assert_int_equal(redo_files(f, NULL, 0), 1);
}

int main(void)
{
	log_set_level(LOG_ERROR); /* migrations and the torn record log below that */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reads_see_acknowledged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_write_alone_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_first_format_replayed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counters_from_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_after_kill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_type_stops_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_segments_removed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
