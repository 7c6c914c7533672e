/* Unit tests for src/events/rules.c (rule and inhibit parsing, YAML) and for grouping in
 * src/events/engine.c, run against a throw-away SQLite store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "events/engine.h"
#include "events/rules.h"
#include "http/server.h"
#include "store/store.h"
#include "util/err.h"

static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	if (!j)
		print_error("bad JSON in test: %s\n", jerr.text);
	assert_non_null(j);
	return j;
}

static void rule_defaults(void **state)
{
	struct evt_rule r;
	struct fw_error e;
	json_t *d = J("{\"name\":\"r1\"}");
	assert_int_equal(evt_rule_from_json(&r, d, &e), 0);
	assert_string_equal(r.name, "r1");
	assert_int_equal(r.action, EVT_ACT_INCIDENT);
	assert_int_equal(r.group_by.n, 1);
	assert_string_equal(r.group_by.names[0], "alertname");
	assert_true(r.group_window_ms == 300000);
	assert_true(r.auto_resolve);
	assert_int_equal(r.flap_threshold, 0);
	assert_int_equal(r.match.n, 0);
	evt_rule_release(&r);
	json_decref(d);
}

static void rule_full(void **state)
{
	struct evt_rule r;
	struct fw_error e;
	json_t *d = J("{\"name\":\"p\",\"account\":\"123456789012\",\"match\":[\"severity=~\\\"crit|page\\\"\",\"team!=\\\"x\\\"\"],"
		      "\"action\":\"problem\",\"group_by\":[\"cluster\",\"alertname\"],\"group_window\":\"10m\","
		      "\"severity\":\"high\",\"priority\":\"P2\",\"auto_resolve\":\"false\",\"flap\":{\"threshold\":\"4\","
		      "\"window\":\"30m\"},\"problem\":{\"threshold\":5,\"window\":\"2h\"}}");
	assert_int_equal(evt_rule_from_json(&r, d, &e), 0);
	assert_int_equal(r.action, EVT_ACT_PROBLEM);
	assert_int_equal(r.match.n, 2);
	assert_int_equal(r.group_by.n, 2);
	assert_string_equal(r.group_by.names[0], "alertname"); /* sorted */
	assert_true(r.group_window_ms == 600000);
	assert_false(r.auto_resolve);
	assert_int_equal(r.flap_threshold, 4);
	assert_true(r.flap_window_ms == 1800000);
	assert_int_equal(r.problem_threshold, 5);
	assert_true(r.problem_window_ms == 7200000);
	assert_string_equal(r.priority, "P2");
	evt_rule_release(&r);
	json_decref(d);
}

static void expect_error(const char *doc, int status, const char *needle)
{
	struct evt_rule r;
	struct fw_error e = { 0 };
	json_t *d = J(doc);
	assert_int_not_equal(evt_rule_from_json(&r, d, &e), 0);
	if (e.status != status || !strstr(e.message, needle))
		print_error("doc %s: got %d '%s', want %d containing '%s'\n", doc, e.status, e.message, status, needle);
	assert_int_equal(e.status, status);
	assert_non_null(strstr(e.message, needle));
	json_decref(d);
}

static void rule_errors(void **state)
{
	expect_error("{}", 422, "'name' is required");
	expect_error("{\"name\":\"x\",\"action\":\"explode\"}", 422, "action");
	expect_error("{\"name\":\"x\",\"bogus\":1}", 422, "unknown field 'bogus'");
	expect_error("{\"name\":\"x\",\"account\":\"12\"}", 422, "12-digit");
	expect_error("{\"name\":\"x\",\"group_window\":\"soon\"}", 422, "group_window");
	expect_error("{\"name\":\"x\",\"flap\":{\"threshold\":0}}", 422, "flap.threshold");
	expect_error("{\"name\":\"x\",\"severity\":\"huge\"}", 422, "severity");
	expect_error("{\"name\":\"x\",\"group_by\":[\"1bad\"]}", 400, "1bad");
	expect_error("{\"name\":\"x\",\"match\":[\"a=~\\\"(\\\"\"]}", 400, "");
}

static void inhibit_parse(void **state)
{
	struct evt_inhibit ih;
	struct fw_error e;
	json_t *d = J("{\"name\":\"i\",\"source_match\":\"{alertname=\\\"Down\\\"}\",\"target_match\":[\"severity=\\\"warning\\\"\"],"
		      "\"equal\":[\"cluster\",\"zone\"]}");
	assert_int_equal(evt_inhibit_from_json(&ih, d, &e), 0);
	assert_int_equal(ih.source.n, 1);
	assert_int_equal(ih.target.n, 1);
	assert_int_equal(ih.nequal, 2);
	evt_inhibit_release(&ih);
	json_decref(d);
	d = J("{\"name\":\"i\",\"source_match\":[\"a=\\\"b\\\"\"]}");
	assert_int_not_equal(evt_inhibit_from_json(&ih, d, &e), 0);
	json_decref(d);
}

static void yaml_load(void **state)
{
	char path[] = "/tmp/fw-test-rules-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *y = "rules:\n  - name: a\n    match: ['x=\"1\"']\n    auto_resolve: false\n    flap: {threshold: 3, window: 1h}\n"
			"    group_by: []\n";
	assert_int_equal(write(fd, y, strlen(y)), (ssize_t)strlen(y));
	close(fd);
	json_t *doc = NULL;
	struct fw_error e;
	assert_int_equal(evt_yaml_load(path, &doc, &e), 0);
	json_t *r0 = json_array_get(json_object_get(doc, "rules"), 0);
	assert_true(json_is_false(json_object_get(r0, "auto_resolve")));
	struct evt_rule r;
	assert_int_equal(evt_rule_from_json(&r, r0, &e), 0);
	assert_int_equal(r.flap_threshold, 3);
	assert_int_equal(r.group_by.n, 0);
	evt_rule_release(&r);
	json_decref(doc);
	FILE *f = fopen(path, "w");
	fputs("rules: [\n  - {", f);
	fclose(f);
	assert_int_not_equal(evt_yaml_load(path, &doc, &e), 0);
	assert_non_null(strstr(e.message, path));
	unlink(path);
}

/* ---- grouping through the engine ---- */

static struct config cfg;
static struct server srv;
static char dir[64];

static int engine_setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/fw-test-engine-XXXXXX");
	assert_non_null(mkdtemp(dir));
	config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/data", dir);
	char url[128], err[256];
	snprintf(url, sizeof(url), "sqlite://%s/t.db", dir);
	assert_int_equal(store_open(url, &srv.store, err, sizeof(err)), 0);
	srv.cfg = &cfg;
	assert_int_equal(evt_engine_start(&srv), 0);
	return 0;
}

static int engine_teardown(void **state)
{
	evt_engine_stop();
	store_close(srv.store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void event(struct evt_event *ev, const char *alertname, const char *instance, bool resolved)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->account, sizeof(ev->account), "123456789012");
	ev->source = "native";
	evt_labels_init(&ev->labels);
	evt_labels_set(&ev->labels, "alertname", alertname);
	evt_labels_set(&ev->labels, "instance", instance);
	if (resolved)
		ev->ends_at = 1; /* in the past */
}

static void grouping(void **state)
{
	struct evt_event ev[3];
	struct evt_result res[3];
	event(&ev[0], "Down", "a", false);
	event(&ev[1], "Down", "b", false);
	event(&ev[2], "Slow", "a", false);
	assert_int_equal(evt_ingest(ev, 3, "test", res), 0);
	assert_string_equal(res[0].state, "firing");
	assert_true(res[0].incident[0] != '\0');
	assert_string_equal(res[0].incident, res[1].incident); /* same alertname: one incident */
	assert_string_not_equal(res[0].incident, res[2].incident);
	assert_int_equal(evt_alarm_count(), 3);
	/* a repeat changes nothing */
	assert_int_equal(evt_ingest(ev, 1, "test", res), 0);
	assert_int_equal(evt_alarm_count(), 3);
	struct evt_alarm_view v;
	assert_int_equal(evt_alarm_get("123456789012", res[0].fp, &v), 0);
	assert_int_equal(v.count, 2);
	assert_true(v.firing);
	evt_labels_release(&v.labels);
	json_decref(v.annotations);
	json_decref(v.silenced_by);
	json_decref(v.inhibited_by);
	for (int i = 0; i < 3; i++)
		evt_labels_release(&ev[i].labels);
	/* resolving */
	event(&ev[0], "Down", "a", true);
	assert_int_equal(evt_ingest(ev, 1, "test", res), 0);
	assert_string_equal(res[0].state, "resolved");
	evt_labels_release(&ev[0].labels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rule_defaults),
		cmocka_unit_test(rule_full),
		cmocka_unit_test(rule_errors),
		cmocka_unit_test(inhibit_parse),
		cmocka_unit_test(yaml_load),
		cmocka_unit_test_setup_teardown(grouping, engine_setup, engine_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
