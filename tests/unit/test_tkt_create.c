/* Unit tests for ticket creates on the embedded store (tickets/tkt_store.c), which are asynchronous
 * writes: the record carries the ticket's view and its data, the applier writes the row, the "created"
 * entry and the audit entry without parsing the data, and the answer is the public JSON. Records of
 * the first format (left in a redo log by an earlier version) still apply; malformed records apply
 * nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/crypto.h"
#include "util/err.h"

struct fixture {
	char dir[64];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/fw-test-tktc.XXXXXX");
	if (!f || !mkdtemp(f->dir) || tkt_store_register())
		return -1;
	char url[128], err[256];
	snprintf(url, sizeof(url), "sqlite://%s/s.db", f->dir);
	if (store_open(url, &f->st, err, sizeof(err)) || !store_async_enabled(f->st))
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

static char *query_str(struct store *st, const char *sql, const char *arg)
{
	char *out = NULL;
	assert_int_equal(store_query_str(store_reader(st), sql, SARGS(ST(arg)), &out), 0);
	return out;
}

static int64_t count(struct store *st, const char *sql)
{
	int64_t n = -1;
	assert_int_equal(store_query_int(store_reader(st), sql, SNOARGS, &n), 0);
	return n;
}

/* The audit entry of a ticket's create digests the row's data as stored. */
static void assert_digest_of_data(struct store *st, const char *id)
{
	char *data = query_str(st, "SELECT data FROM tickets WHERE id = $1", id);
	char *ad = query_str(st, "SELECT after_digest FROM audit WHERE object = $1 AND action = 'ticket.create'", id);
	char want[65];
	crypto_sha256_hex(data, strlen(data), want);
	assert_string_equal(ad, want);
	free(data);
	free(ad);
}

static void test_create(void **state)
{
	struct fixture *f = *state;
	const struct tkt_kind_info *k = tkt_kind_by_name("incident");
	/* Text a view entry or a line could be confused with stays the title's own. */
	const char *title = "disk =s3:\n\"full\" é ;id=i7;";
	json_t *t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "account", "111111111111", "title", title,
			      "description", "", "impact", "high", "urgency", "high", "priority", "P1", "severity",
			      "critical", "severity_set", 1);
	char *pub = NULL;
	assert_int_equal(tkt_create(f->st, k, t, "alice", &pub), 0);
	json_t *p = json_loads(pub, 0, NULL);
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "id")), "INC-1");
	assert_string_equal(json_string_value(json_object_get(p, "title")), title);
	assert_string_equal(json_string_value(json_object_get(p, "status")), "new");
	assert_string_equal(json_string_value(json_object_get(p, "created_by")), "alice");
	assert_null(json_object_get(p, "seq"));
	assert_null(json_object_get(p, "severity_set"));
	assert_null(json_object_get(t, "seq"));

	/* The row: its columns from the view, its data the public JSON with the internal fields. */
	char *data = query_str(f->st, "SELECT data FROM tickets WHERE id = $1", "INC-1");
	json_t *d = json_loads(data, 0, NULL);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "seq")), 1);
	assert_true(json_is_true(json_object_get(d, "severity_set")));
	json_object_del(d, "seq");
	json_object_del(d, "severity_set");
	assert_true(json_equal(d, p));
	char *col = query_str(f->st, "SELECT title || '|' || account || '|' || status || '|' || priority || '|' || "
				     "severity || '|' || kind FROM tickets WHERE id = $1", "INC-1");
	char want[200];
	snprintf(want, sizeof(want), "%s|111111111111|new|P1|critical|incident", title);
	assert_string_equal(col, want);
	char *actor = query_str(f->st, "SELECT actor FROM timeline WHERE ticket = $1 AND type = 'created'", "INC-1");
	assert_string_equal(actor, "alice");
	assert_digest_of_data(f->st, "INC-1");

	/* Without an actor, and the numbers go on. */
	json_t *t2 = json_pack("{s:s,s:s}", "account", "111111111111", "title", "second");
	char *pub2 = NULL;
	assert_int_equal(tkt_create(f->st, k, t2, NULL, &pub2), 0);
	assert_non_null(strstr(pub2, "\"id\":\"INC-2\""));
	assert_null(strstr(pub2, "created_by"));
	char *actor2 = query_str(f->st, "SELECT COALESCE(actor, 'none') FROM audit WHERE object = $1", "INC-2");
	assert_string_equal(actor2, "");
	assert_digest_of_data(f->st, "INC-2");
	free(actor2);
	free(pub2);
	json_decref(t2);
	free(actor);
	free(col);
	free(data);
	json_decref(d);
	json_decref(p);
	free(pub);
	json_decref(t);
}

/* A record of the first format: the ticket's JSON with sorted keys, a newline, the actor. */
static void test_first_format_applies(void **state)
{
	struct fixture *f = *state;
	const char *rec = "{\"account\":\"111111111111\",\"created_at\":\"2026-11-20T10:00:00.000Z\","
			  "\"created_by\":\"bob\",\"id\":\"PRB-7\",\"kind\":\"problem\",\"priority\":\"P3\","
			  "\"seq\":7,\"status\":\"open\",\"title\":\"old\",\"updated_at\":\"2026-11-20T10:00:00.000Z\"}"
			  "\n\"bob\"";
	assert_int_equal(store_write_async(f->st, "ticket.create", rec), 0);
	char *st = query_str(f->st, "SELECT status || '|' || title FROM tickets WHERE id = $1", "PRB-7");
	assert_string_equal(st, "open|old");
	char *ad = query_str(f->st, "SELECT after_digest FROM audit WHERE object = $1", "PRB-7");
	char want[65];
	crypto_sha256_hex(rec, (size_t)(strchr(rec, '\n') - rec), want);
	assert_string_equal(ad, want);
	free(ad);
	free(st);
}

/* Malformed records are acknowledged (the log has them) but apply nothing; later ones still apply. */
static void test_malformed_apply_nothing(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"id=s99:INC-50\n{\"seq\":50}",                    /* a length past the end */
		"id=x6:INC-50seq=i50;kind=s8:incident\n{}",       /* an unknown tag */
		"id=s6:INC-50seq=i50;\n{\"seq\":50}",             /* no kind */
		"id=s6:INC-50kind=s8:incident\n{}",               /* no seq */
		"id=s6:INC-50seq=i5x;kind=s8:incident\n{}",       /* a bad number */
		"id=s6:INC-50seq=i50;kind=s8:incident",           /* no data */
		"=s1:x\n{}",                                      /* no name */
		"id=s6:INC-50seq=i50;kind=s7:problem\n{}",        /* an id not of the kind */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(store_write_async(f->st, "ticket.create.2", bad[i]), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM tickets"), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit"), 0);
	json_t *t = json_pack("{s:s,s:s}", "account", "111111111111", "title", "after");
	char *pub = NULL;
	assert_int_equal(tkt_create(f->st, tkt_kind_by_name("incident"), t, "carol", &pub), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM tickets"), 1);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM timeline"), 1);
	free(pub);
	json_decref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_format_applies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_apply_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
