/* The rule set: routing/classification and inhibition rules in the store (origin "api" or "file")
 * and in memory, their API, and the reload of rules.d. */
#include "events/engine_int.h"
#include "audit/audit.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sets_free(struct evt_rule *rules, size_t nr, struct evt_inhibit *inh, size_t ni)
{
	for (size_t i = 0; i < nr; i++)
		evt_rule_release(&rules[i]);
	for (size_t i = 0; i < ni; i++)
		evt_inhibit_release(&inh[i]);
	free(rules);
	free(inh);
}

/* Loads all rules from the store into memory (replacing the current set) and re-evaluates nothing:
 * rules apply to state changes from now on. */
static int rules_load(struct store_conn *c)
{
	struct store_rows *rows;
	int rc = store_query(c, "SELECT kind, doc FROM evt_rules ORDER BY position, name", SNOARGS, &rows);
	if (rc)
		return rc;
	struct evt_rule *rules = NULL;
	struct evt_inhibit *inh = NULL;
	size_t nr = 0, ni = 0;
	while (store_next(rows) == 1) {
		json_error_t je;
		json_t *doc = json_loads(store_text(rows, 1), 0, &je);
		struct fw_error e;
		bool is_inh = !strcmp(store_text(rows, 0), "inhibit");
		void *grown = is_inh ? realloc(inh, (ni + 1) * sizeof(*inh)) : realloc(rules, (nr + 1) * sizeof(*rules));
		if (!grown) { /* out of memory: keep the rules in force */
			json_decref(doc);
			store_rows_free(rows);
			sets_free(rules, nr, inh, ni);
			return FW_ENOMEM;
		}
		if (is_inh) {
			inh = grown;
			if (evt_inhibit_from_json(&inh[ni], doc, &e))
				log_msg(LOG_WARN, "events: skipping stored inhibit rule: %s", e.message);
			else
				ni++;
		} else {
			rules = grown;
			if (evt_rule_from_json(&rules[nr], doc, &e))
				log_msg(LOG_WARN, "events: skipping stored rule: %s", e.message);
			else
				nr++;
		}
		json_decref(doc);
	}
	store_rows_free(rows);
	pthread_mutex_lock(&evt__g.lock);
	sets_free(evt__g.rules, evt__g.nrules, evt__g.inhibits, evt__g.ninhibits);
	evt__g.rules = rules;
	evt__g.nrules = nr;
	evt__g.inhibits = inh;
	evt__g.ninhibits = ni;
	pthread_mutex_unlock(&evt__g.lock);
	return 0;
}

json_t *evt_rules_json(void)
{
	json_t *r = json_array(), *i = json_array();
	struct store_rows *rows;
	if (!store_query(store_reader(evt__g.store),
	                 "SELECT kind, doc, origin, position FROM evt_rules ORDER BY position, name", SNOARGS,
	                 &rows)) {
		while (store_next(rows) == 1) {
			json_error_t je;
			json_t *doc = json_loads(store_text(rows, 1), 0, &je);
			if (!doc)
				continue;
			json_object_set_new(doc, "origin", json_string(store_text(rows, 2)));
			json_object_set_new(doc, "position", json_integer(store_int(rows, 3)));
			json_array_append_new(strcmp(store_text(rows, 0), "inhibit") ? r : i, doc);
		}
		store_rows_free(rows);
	}
	return json_pack("{s:o,s:o}", "rules", r, "inhibit_rules", i);
}

struct rule_ctx {
	const char *name, *kind, *origin, *actor;
	char *doc;
	int64_t position; /* -1: append */
	bool del;
	bool replace_file; /* file reload: drop other file rules first */
};

static int rule_tx(struct store_conn *c, void *arg)
{
	struct rule_ctx *x = arg;
	int rc;
	if (x->del) {
		int64_t ch = 0;
		rc = store_exec(c, "DELETE FROM evt_rules WHERE name = $1", SARGS(ST(x->name)), &ch);
		if (!rc && !ch)
			return FW_ENOTFOUND;
	} else {
		int64_t pos = x->position;
		if (pos < 0) {
			if (store_query_int(c, "SELECT position FROM evt_rules WHERE name = $1",
			                    SARGS(ST(x->name)), &pos))
				store_query_int(c, "SELECT COALESCE(MAX(position), 0) + 10 FROM evt_rules",
				                SNOARGS, &pos);
		}
		rc = store_exec(
		    c,
		    "INSERT INTO evt_rules (name, kind, position, origin, doc, updated_at) VALUES "
		    "($1,$2,$3,$4,$5,$6) "
		    "ON CONFLICT (name) DO UPDATE SET kind=$2, position=$3, origin=$4, doc=$5, updated_at=$6",
		    SARGS(ST(x->name), ST(x->kind), SI(pos), ST(x->origin), ST(x->doc), SI(time_now_ms())),
		    NULL);
	}
	if (!rc)
		rc =
		    audit_append(c, x->actor, NULL, x->del ? "rule.delete" : "rule.put", x->name, NULL, NULL);
	if (!rc)
		rc = rules_load(c);
	return rc;
}

int evt_rule_put(const json_t *doc, bool inhibit, const char *origin, const char *actor, struct fw_error *e)
{
	int rc;
	char name[64];
	json_t *norm;
	if (inhibit) {
		struct evt_inhibit ih;
		if ((rc = evt_inhibit_from_json(&ih, doc, e)))
			return rc;
		snprintf(name, sizeof(name), "%s", ih.name);
		norm = json_incref(ih.doc);
		evt_inhibit_release(&ih);
	} else {
		struct evt_rule r;
		if ((rc = evt_rule_from_json(&r, doc, e)))
			return rc;
		snprintf(name, sizeof(name), "%s", r.name);
		norm = json_incref(r.doc);
		evt_rule_release(&r);
	}
	struct rule_ctx x = {.name = name,
	                     .kind = inhibit ? "inhibit" : "rule",
	                     .origin = origin,
	                     .actor = actor,
	                     .position = -1};
	const json_t *pos = json_object_get(doc, "position");
	if (json_is_integer(pos))
		x.position = json_integer_value(pos);
	x.doc = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(norm);
	rc = store_write(evt__g.store, rule_tx, &x);
	free(x.doc);
	return rc;
}

int evt_rule_delete(const char *name, const char *actor)
{
	struct rule_ctx x = { .name = name, .actor = actor, .del = true };
	return store_write(evt__g.store, rule_tx, &x);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct file_rules_ctx {
	json_t *rules, *inhibits; /* validated docs in file order */
};

static int file_rules_tx(struct store_conn *c, void *arg)
{
	struct file_rules_ctx *x = arg;
	int rc = store_exec(c, "DELETE FROM evt_rules WHERE origin = 'file'", SNOARGS, NULL);
	for (int pass = 0; pass < 2 && !rc; pass++) {
		json_t *arr = pass ? x->inhibits : x->rules;
		size_t i;
		json_t *d;
		json_array_foreach(arr, i, d) {
			char *doc = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
			/* API-managed rules of the same name win over files. */
			rc = store_exec(
			    c,
			    "INSERT INTO evt_rules (name, kind, position, origin, doc, updated_at) "
			    "VALUES ($1,$2,$3,'file',$4,$5) ON CONFLICT (name) DO NOTHING",
			    SARGS(ST(json_string_value(json_object_get(d, "name"))),
			          ST(pass ? "inhibit" : "rule"), SI((int64_t)i), ST(doc), SI(time_now_ms())),
			    NULL);
			free(doc);
			if (rc)
				break;
		}
	}
	if (!rc)
		rc = rules_load(c);
	return rc;
}

int evt_rules_reload_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct file_rules_ctx x = { json_array(), json_array() };
	int rc = 0;
	if (d) {
		char *names[512];
		size_t n = 0;
		struct dirent *de;
		while ((de = readdir(d)) && n < 512) {
			size_t l = strlen(de->d_name);
			if (de->d_name[0] != '.' && ((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
						     (l > 4 && !strcmp(de->d_name + l - 4, ".yml"))))
				if ((names[n] = strdup(de->d_name)) != NULL)
					n++;
		}
		closedir(d);
		if (n > 1)
			qsort(names, n, sizeof(char *), name_cmp);
		for (size_t i = 0; i < n; i++) {
			char path[1200];
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			json_t *doc = NULL;
			struct fw_error e;
			if (evt_yaml_load(path, &doc, &e)) {
				log_msg(LOG_ERROR, "events: %s", e.message);
				rc = FW_EINVAL;
			} else {
				for (int pass = 0; pass < 2; pass++) {
					json_t *arr = json_object_get(doc, pass ? "inhibit_rules" : "rules");
					size_t k;
					json_t *it;
					json_array_foreach(arr, k, it) {
						struct evt_rule r;
						struct evt_inhibit ih;
						int bad = pass ? evt_inhibit_from_json(&ih, it, &e)
						               : evt_rule_from_json(&r, it, &e);
						if (bad) {
							log_msg(LOG_ERROR, "events: %s: %s rule %zu: %s",
							        path, pass ? "inhibit" : "routing", k,
							        e.message);
							rc = FW_EINVAL;
							continue;
						}
						json_array_append(pass ? x.inhibits : x.rules,
						                  pass ? ih.doc : r.doc);
						if (pass)
							evt_inhibit_release(&ih);
						else
							evt_rule_release(&r);
					}
				}
			}
			json_decref(doc);
			free(names[i]);
		}
	}
	int wrc = store_write(evt__g.store, file_rules_tx, &x);
	json_decref(x.rules);
	json_decref(x.inhibits);
	if (d)
		log_msg(LOG_INFO, "events: loaded rules from %s", dir);
	return wrc ? wrc : rc;
}
