/* Unit tests for the audit hash chain (src/audit/audit.c) on a real SQLite store in a temporary
 * directory: append, verify, and every way of editing the table by hand (alter a field, alter a
 * hash, delete a row, insert a row in the middle or at the end, truncate the tail). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/log.h"

struct fixture {
	char dir[64];
	struct store *st;
};

#define ENTRIES 6

struct append_ctx {
	int i;
};

static int append_tx(struct store_conn *c, void *arg)
{
	struct append_ctx *x = arg;
	char obj[32];
	snprintf(obj, sizeof(obj), "INC-%d", x->i);
	json_t *before = x->i % 2 ? json_pack("{s:s}", "status", "new") : NULL;
	json_t *after = json_pack("{s:s,s:i}", "status", "acknowledged", "n", x->i);
	int rc = audit_append(c, x->i == 1 ? "system" : "prn-test", x->i % 3 ? "123456789012" : NULL,
			      "ticket.transition", obj, before, after);
	json_decref(before);
	json_decref(after);
	return rc;
}

static int sql_tx(struct store_conn *c, void *arg)
{
	return store_exec(c, arg, SNOARGS, NULL);
}

/* Runs raw SQL through the writer, the way someone with the sqlite3 CLI would edit the file. */
static void tamper(struct store *st, const char *sql)
{
	assert_int_equal(store_write(st, sql_tx, (void *)sql), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/fw-test-audit.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char url[128], err[256];
	snprintf(url, sizeof(url), "sqlite://%s/a.db", f->dir);
	if (store_open(url, &f->st, err, sizeof(err)))
		fail_msg("store_open: %s", err);
	for (int i = 1; i <= ENTRIES; i++) {
		struct append_ctx x = { i };
		assert_int_equal(store_write(f->st, append_tx, &x), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Verifies and checks the outcome: ok, or the problem and the seq it names. */
static void expect_verify(struct store *st, const char *problem, int64_t seq)
{
	json_t *rep = NULL;
	int rc = audit_verify(store_reader(st), &rep);
	assert_non_null(rep);
	char *s = json_dumps(rep, JSON_COMPACT);
	print_message("# verify: %s\n", s);
	free(s);
	if (!problem) {
		assert_int_equal(rc, 0);
		assert_true(json_is_true(json_object_get(rep, "ok")));
	} else {
		assert_int_equal(rc, FW_ECONFLICT);
		assert_true(json_is_false(json_object_get(rep, "ok")));
		assert_string_equal(json_string_value(json_object_get(rep, "problem")), problem);
		assert_int_equal(json_integer_value(json_object_get(rep, "seq")), seq);
		assert_non_null(json_string_value(json_object_get(rep, "message")));
	}
	json_decref(rep);
}

static void test_intact(void **state)
{
	struct fixture *f = *state;
	json_t *rep = NULL;
	assert_int_equal(audit_verify(store_reader(f->st), &rep), 0);
	assert_int_equal(json_integer_value(json_object_get(rep, "entries")), ENTRIES);
	/* The head reported is the hash of the last entry. */
	char *h = NULL;
	assert_int_equal(store_query_str(store_reader(f->st), "SELECT hash FROM audit WHERE seq = 6", SNOARGS, &h), 0);
	assert_string_equal(json_string_value(json_object_get(rep, "head")), h);
	free(h);
	json_decref(rep);
}

static void test_chain_links(void **state)
{
	struct fixture *f = *state;
	struct store_rows *rows;
	assert_int_equal(store_query(store_reader(f->st), "SELECT seq, prev_hash, hash, before_digest FROM audit ORDER BY seq",
				     SNOARGS, &rows),
			 0);
	char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
	int64_t n = 0;
	while (store_next(rows) == 1) {
		assert_int_equal(store_int(rows, 0), ++n);
		assert_string_equal(store_text(rows, 1), prev);
		assert_int_equal(strlen(store_text(rows, 2)), 64);
		assert_string_not_equal(store_text(rows, 2), prev);
		/* A NULL before state is stored as an empty digest, not the digest of "null". */
		assert_int_equal(strlen(store_text(rows, 3)), n % 2 ? 64 : 0);
		snprintf(prev, sizeof(prev), "%s", store_text(rows, 2));
	}
	store_rows_free(rows);
	assert_int_equal(n, ENTRIES);
	int64_t head = 0;
	assert_int_equal(store_query_int(store_reader(f->st), "SELECT seq FROM audit_head", SNOARGS, &head), 0);
	assert_int_equal(head, ENTRIES);
}

static void test_altered_field(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "UPDATE audit SET actor = 'mallory' WHERE seq = 3");
	expect_verify(f->st, "altered", 3);
}

static void test_altered_time(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "UPDATE audit SET at = at + 1 WHERE seq = 2");
	expect_verify(f->st, "altered", 2);
}

static void test_altered_digest(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "UPDATE audit SET after_digest = before_digest WHERE seq = 5");
	expect_verify(f->st, "altered", 5);
}

static void test_altered_hash(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "UPDATE audit SET hash = prev_hash WHERE seq = 4");
	expect_verify(f->st, "altered", 4);
}

static void test_altered_prev_hash(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "UPDATE audit SET prev_hash = hash WHERE seq = 4");
	expect_verify(f->st, "altered", 4);
}

static void test_altered_last(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "UPDATE audit SET object = 'INC-999' WHERE seq = 6");
	expect_verify(f->st, "altered", 6);
}

static void test_deleted_middle(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "DELETE FROM audit WHERE seq = 3");
	expect_verify(f->st, "removed", 3);
}

static void test_deleted_first(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "DELETE FROM audit WHERE seq = 1");
	expect_verify(f->st, "removed", 1);
}

static void test_truncated_tail(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "DELETE FROM audit WHERE seq > 4");
	expect_verify(f->st, "truncated", 5);
}

static void test_truncated_all(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "DELETE FROM audit");
	expect_verify(f->st, "truncated", 1);
}

static void test_head_removed(void **state)
{
	struct fixture *f = *state;
	tamper(f->st, "DELETE FROM audit_head");
	expect_verify(f->st, "removed", 0);
}

/* Builds the hash of an entry the way audit.c documents it, to forge a self-consistent row. */
static void forge_hash(const char *prev, int64_t seq, int64_t at, const char *actor, const char *action, char out[65])
{
	char b[512];
	int n = snprintf(b, sizeof(b), "%s\x1f%lld\x1f%lld\x1f%s\x1f\x1f%s\x1f\x1f\x1f", prev, (long long)seq,
			 (long long)at, actor, action);
	crypto_sha256_hex(b, (size_t)n, out);
}

static void test_inserted_at_end(void **state)
{
	struct fixture *f = *state;
	char *prev = NULL, h[65], sql[512];
	assert_int_equal(store_query_str(store_reader(f->st), "SELECT hash FROM audit WHERE seq = 6", SNOARGS, &prev), 0);
	forge_hash(prev, 7, 1, "mallory", "ticket.delete", h);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO audit (seq, at, actor, account, action, object, before_digest, after_digest, prev_hash, "
		 "hash) VALUES (7, 1, 'mallory', NULL, 'ticket.delete', NULL, '', '', '%s', '%s')",
		 prev, h);
	free(prev);
	tamper(f->st, sql);
	expect_verify(f->st, "inserted", 7);
}

static void test_inserted_in_middle(void **state)
{
	struct fixture *f = *state;
	/* Make room after entry 2, then put a well-formed entry there. */
	tamper(f->st, "UPDATE audit SET seq = seq + 1000 WHERE seq > 2");
	tamper(f->st, "UPDATE audit SET seq = seq - 999 WHERE seq > 1000");
	char *prev = NULL, h[65], sql[512];
	assert_int_equal(store_query_str(store_reader(f->st), "SELECT hash FROM audit WHERE seq = 2", SNOARGS, &prev), 0);
	forge_hash(prev, 3, 1, "mallory", "ticket.delete", h);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO audit (seq, at, actor, account, action, object, before_digest, after_digest, prev_hash, "
		 "hash) VALUES (3, 1, 'mallory', NULL, 'ticket.delete', NULL, '', '', '%s', '%s')",
		 prev, h);
	free(prev);
	tamper(f->st, sql);
	expect_verify(f->st, "inserted", 3);
}

static void test_inserted_copy(void **state)
{
	struct fixture *f = *state;
	const char *copy = "INSERT INTO audit SELECT 2.5, at, actor, account, action, object, before_digest, "
			   "after_digest, prev_hash, hash FROM audit WHERE seq = 2";
	/* Today's SQLite schema keys the entries by the rowid itself: a non-integer key is refused. */
	assert_int_not_equal(store_write(f->st, sql_tx, (void *)copy), 0);
	expect_verify(f->st, NULL, 0);
	/* Stores created before that kept the key in a separate unique index, where a copy of a real row
	 * squeezed in with a non-integer key sorts between 2 and 3: verify names it. */
	tamper(f->st, "CREATE TABLE audit_old (seq BIGINT NOT NULL UNIQUE, at BIGINT NOT NULL, actor TEXT NOT NULL, "
		      "account TEXT, action TEXT NOT NULL, object TEXT, before_digest TEXT, after_digest TEXT, "
		      "prev_hash TEXT NOT NULL, hash TEXT NOT NULL)");
	tamper(f->st, "INSERT INTO audit_old SELECT * FROM audit");
	tamper(f->st, "DROP TABLE audit");
	tamper(f->st, "ALTER TABLE audit_old RENAME TO audit");
	expect_verify(f->st, NULL, 0);
	tamper(f->st, copy);
	expect_verify(f->st, "inserted", 2);
}

static void test_append_after_verify(void **state)
{
	struct fixture *f = *state;
	/* The chain keeps growing from the head, and stays verifiable. */
	for (int i = ENTRIES + 1; i <= ENTRIES + 3; i++) {
		struct append_ctx x = { i };
		assert_int_equal(store_write(f->st, append_tx, &x), 0);
	}
	expect_verify(f->st, NULL, 0);
	/* An append rolled back by its writer leaves no trace in the chain. */
	tamper(f->st, "SELECT 1");
	expect_verify(f->st, NULL, 0);
}

static int rollback_tx(struct store_conn *c, void *arg)
{
	int rc = audit_append(c, "prn-x", NULL, "ticket.create", "INC-1", NULL, NULL);
	return rc ? rc : FW_ECONFLICT;
}

static void test_rolled_back_append(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_write(f->st, rollback_tx, NULL), FW_ECONFLICT);
	int64_t head = 0;
	assert_int_equal(store_query_int(store_reader(f->st), "SELECT seq FROM audit_head", SNOARGS, &head), 0);
	assert_int_equal(head, ENTRIES);
	expect_verify(f->st, NULL, 0);
	struct append_ctx x = { 7 };
	assert_int_equal(store_write(f->st, append_tx, &x), 0);
	expect_verify(f->st, NULL, 0);
}

struct appender {
	struct store *st;
	int n;
};

static void *append_many(void *arg)
{
	struct appender *a = arg;
	for (int i = 0; i < a->n; i++) {
		struct append_ctx x = { 100 + i };
		if (store_write(a->st, append_tx, &x))
			return (void *)1;
	}
	return NULL;
}

/* Verifying while other requests append must never report a broken chain. */
static void test_verify_while_appending(void **state)
{
	struct fixture *f = *state;
	struct appender a[3] = { { f->st, 150 }, { f->st, 150 }, { f->st, 150 } };
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, append_many, &a[i]), 0);
	int bad = 0;
	for (int i = 0; i < 60; i++) {
		json_t *rep = NULL;
		if (audit_verify(store_reader(f->st), &rep) != 0) {
			char *s = json_dumps(rep, JSON_COMPACT);
			print_error("verify during appends: %s\n", s ? s : "(no report)");
			free(s);
			bad++;
		}
		json_decref(rep);
	}
	for (int i = 0; i < 3; i++) {
		void *res;
		pthread_join(th[i], &res);
		assert_null(res);
	}
	assert_int_equal(bad, 0);
	expect_verify(f->st, NULL, 0);
}

int main(void)
{
	log_set_level(LOG_WARN); /* migrations log at info */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_intact),          T(test_chain_links),       T(test_altered_field),
		T(test_altered_time),    T(test_altered_digest),    T(test_altered_hash),
		T(test_altered_prev_hash), T(test_altered_last),    T(test_deleted_middle),
		T(test_deleted_first),   T(test_truncated_tail),    T(test_truncated_all),
		T(test_head_removed),    T(test_inserted_at_end),   T(test_inserted_in_middle),
		T(test_inserted_copy),   T(test_append_after_verify), T(test_rolled_back_append), T(test_verify_while_appending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
