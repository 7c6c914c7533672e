/* SSM OpsCenter OpsItems adapter (see aws_ssm.h). */
#include "compat/aws_ssm.h"
#include "audit/audit.h"
#include "compat/aws.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/server.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INVALID "OpsItemInvalidParameterException"
#define NOT_FOUND "OpsItemNotFoundException"
#define DENIED "OpsItemAccessDeniedException"

static const char *const time_fields[] = { "ActualStartTime", "ActualEndTime", "PlannedStartTime", "PlannedEndTime",
					   NULL };

/* ---- pure parts ---- */

static bool resolved_class(const char *s)
{
	return !strcmp(s, "resolved") || !strcmp(s, "closed") || !strcmp(s, "reclassified");
}

const char *aws_opsitem_status(const char *kind, const char *ts, const char *stored)
{
	if (!ts)
		return "Open";
	if (resolved_class(ts))
		return "Resolved";
	if (!strcmp(ts, "acknowledged") || !strcmp(ts, "investigating") || !strcmp(ts, "root_cause_identified") ||
	    !strcmp(ts, "known_error"))
		return "InProgress";
	return stored && !strcmp(stored, "InProgress") ? "InProgress" : "Open";
}

static const json_t *od_value(const json_t *od, const char *key)
{
	return json_object_get(json_object_get(od, key), "Value");
}

bool aws_opsitem_is_incident(const json_t *od)
{
	static const char *const keys[] = { "/aws/resources", "/flywheel/alarms", NULL };
	for (int i = 0; keys[i]; i++) {
		const json_t *v = od_value(od, keys[i]);
		const char *s = json_string_value(v);
		/* An empty list ("[]") names nothing. */
		if (s && *s && strcmp(s, "[]") != 0)
			return true;
	}
	return false;
}

int aws_opsdata_check(const json_t *od, struct fw_error *e)
{
	static const char *const reserved[] = { "aws", "amazon", "amzn", "ssm", NULL };
	static const char *const allowed[] = { "/aws/resources", "/aws/automations", "/aws/dedup", NULL };
	const char *key;
	json_t *v;
	if (!json_is_object(od))
		return fw_fail(e, 400, INVALID, "OperationalData must be a map of {\"Value\",\"Type\"}");
	json_object_foreach((json_t *)od, key, v) {
		size_t kl = strlen(key);
		if (kl < 1 || kl > 128)
			return fw_fail(e, 400, INVALID, "OperationalData key '%.40s' must be 1 to 128 characters", key);
		const char *k = key[0] == '/' ? key + 1 : key;
		for (int i = 0; reserved[i]; i++)
			if (!strncasecmp(k, reserved[i], strlen(reserved[i])) && !jv_in(key, allowed))
				return fw_fail(e, 400, INVALID,
					       "OperationalData key '%.60s' is reserved: keys may not start with aws, amazon, "
					       "amzn or ssm (except /aws/resources, /aws/automations, /aws/dedup)",
					       key);
		json_t *val = json_object_get(v, "Value"), *type = json_object_get(v, "Type");
		if (!json_is_object(v) || (val && !json_is_string(val)) || (type && !json_is_string(type)))
			return fw_fail(e, 400, INVALID,
				       "OperationalData '%.60s' must be {\"Value\": string, \"Type\": string}", key);
		if (val && json_string_length(val) > 20 * 1024)
			return fw_fail(e, 400, INVALID, "OperationalData '%.60s' Value is over 20 KB", key);
		if (type && strcmp(json_string_value(type), "SearchableString") && strcmp(json_string_value(type), "String"))
			return fw_fail(e, 400, INVALID, "OperationalData '%.60s' Type must be SearchableString or String",
				       key);
		const char *other;
		json_t *ov;
		json_object_foreach(v, other, ov) {
			if (strcmp(other, "Value") && strcmp(other, "Type"))
				return fw_fail(e, 400, INVALID, "OperationalData '%.60s' has an unknown member '%.40s'", key,
					       other);
		}
	}
	return 0;
}

/* Filter key → the operators it takes (E = Equal, C = Contains, G/L = GreaterThan/LessThan). */
static const char *const filter_keys[][2] = {
	{ "OpsItemId", "E" },         { "Status", "E" },           { "Priority", "EGL" },
	{ "Source", "EC" },           { "Title", "EC" },           { "CreatedTime", "GL" },
	{ "LastModifiedTime", "GL" }, { "LastModifiedBy", "EC" },  { "CreatedBy", "EC" },
	{ "OperationalData", "E" },   { "OperationalDataKey", "E" }, { "OperationalDataValue", "EC" },
	{ "ResourceId", "EC" },       { "AutomationId", "EC" },    { "AccountId", "E" },
	{ "Category", "EC" },         { "Severity", "EC" },        { "OpsItemType", "EC" },
	{ "ActualStartTime", "GL" },  { "ActualEndTime", "GL" },   { "PlannedStartTime", "GL" },
	{ "PlannedEndTime", "GL" },
};

static char op_letter(const char *op)
{
	if (!op)
		return 0;
	if (!strcmp(op, "Equal") || !strcmp(op, "Equals"))
		return 'E';
	if (!strcmp(op, "Contains"))
		return 'C';
	if (!strcmp(op, "GreaterThan"))
		return 'G';
	if (!strcmp(op, "LessThan"))
		return 'L';
	return 0;
}

int aws_opsitem_filters_check(const json_t *filters, struct fw_error *e)
{
	size_t i;
	json_t *f;
	if (!filters || json_is_null(filters))
		return 0;
	if (!json_is_array(filters))
		return fw_fail(e, 400, INVALID, "OpsItemFilters must be a list of {Key, Values, Operator}");
	json_array_foreach(filters, i, f) {
		const char *key = jv_str(f, "Key"), *ops = NULL;
		json_t *vals = json_object_get(f, "Values");
		for (size_t k = 0; key && k < sizeof(filter_keys) / sizeof(filter_keys[0]); k++)
			if (!strcmp(key, filter_keys[k][0]))
				ops = filter_keys[k][1];
		if (!ops)
			return fw_fail(e, 400, INVALID, "OpsItemFilters[%zu]: Key '%.40s' is not supported", i,
				       key ? key : "");
		char op = op_letter(jv_str(f, "Operator"));
		if (!op || !strchr(ops, op))
			return fw_fail(e, 400, INVALID, "OpsItemFilters[%zu]: Operator '%.20s' does not apply to %s", i,
				       jv_str_or(f, "Operator", ""), key);
		if (!json_is_array(vals) || !json_array_size(vals))
			return fw_fail(e, 400, INVALID, "OpsItemFilters[%zu]: Values must be a non-empty list of strings", i);
		for (size_t j = 0; j < json_array_size(vals); j++)
			if (!json_is_string(json_array_get(vals, j)))
				return fw_fail(e, 400, INVALID, "OpsItemFilters[%zu]: Values must be strings", i);
		if (!strcmp(key, "OperationalData"))
			for (size_t j = 0; j < json_array_size(vals); j++) {
				json_t *kv = json_loads(json_string_value(json_array_get(vals, j)), 0, NULL);
				bool good = jv_str(kv, "key") != NULL;
				json_decref(kv);
				if (!good)
					return fw_fail(e, 400, INVALID,
						       "OpsItemFilters[%zu]: an OperationalData value is a JSON string like "
						       "{\"key\":\"k\",\"value\":\"v\"}",
						       i);
			}
	}
	return 0;
}

/* A time filter value: an ISO-8601 string or epoch seconds. */
static bool filter_time(const char *v, double *secs)
{
	int64_t ms;
	char *end;
	double d = strtod(v, &end);
	if (*v && !*end) {
		*secs = d;
		return true;
	}
	if (time_parse_rfc3339(v, &ms))
		return false;
	*secs = (double)ms / 1000.0;
	return true;
}

/* Contains ignores case; Equal is exact. */
static bool str_test(char op, const char *have, const char *want)
{
	if (!have)
		return false;
	return op == 'C' ? strcasestr(have, want) != NULL : !strcmp(have, want);
}

static bool match_one(const json_t *item, const char *key, char op, const char *want)
{
	const json_t *od = json_object_get(item, "OperationalData");
	if (!strcmp(key, "OperationalData")) {
		json_t *kv = json_loads(want, 0, NULL);
		const char *v = json_string_value(od_value(od, jv_str_or(kv, "key", "")));
		bool m = v && jv_str(kv, "value") && !strcmp(v, jv_str(kv, "value"));
		json_decref(kv);
		return m;
	}
	if (!strcmp(key, "OperationalDataKey"))
		return json_object_get(od, want) != NULL;
	if (!strcmp(key, "OperationalDataValue")) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)od, k, v) {
			if (str_test(op, json_string_value(json_object_get(v, "Value")), want))
				return true;
		}
		return false;
	}
	if (!strcmp(key, "ResourceId"))
		return str_test('C', json_string_value(od_value(od, "/aws/resources")), want);
	if (!strcmp(key, "AutomationId"))
		return str_test('C', json_string_value(od_value(od, "/aws/automations")), want);
	const json_t *v = json_object_get(item, key);
	if (op == 'G' || op == 'L') {
		double w, have;
		if (!filter_time(want, &w) || !json_is_number(v))
			return false;
		have = json_number_value(v);
		return op == 'G' ? have > w : have < w;
	}
	if (json_is_integer(v)) { /* Priority */
		char s[24];
		snprintf(s, sizeof(s), "%lld", (long long)json_integer_value(v));
		return !strcmp(s, want);
	}
	/* Title Equal compares the first 100 characters (PROTOCOLS.md §4.2). */
	if (!strcmp(key, "Title") && op == 'E') {
		const char *t = json_string_value(v);
		return t && !strncmp(t, want, 100) && (strlen(want) >= 100 || !strcmp(t, want));
	}
	return str_test(op, json_string_value(v), want);
}

bool aws_opsitem_match(const json_t *item, const json_t *filters)
{
	size_t i;
	json_t *f;
	json_array_foreach(filters, i, f) {
		json_t *vals = json_object_get(f, "Values");
		char op = op_letter(jv_str(f, "Operator"));
		bool any = false;
		for (size_t j = 0; !any && j < json_array_size(vals); j++)
			any = match_one(item, jv_str(f, "Key"), op, json_string_value(json_array_get(vals, j)));
		if (!any)
			return false;
	}
	return true;
}

/* ---- helpers ---- */

/* OpsItemInvalidParameterException naming the parameter; the message is name + tail. */
static int bad_param(struct aws_call *c, const char *name, const char *tail)
{
	return aws_fail(c, 400, INVALID, json_pack("{s:[s]}", "ParameterNames", name), "%s%s", name, tail);
}

static int check_string(struct aws_call *c, const char *name, size_t min, size_t max, bool required)
{
	json_t *v = json_object_get(c->in, name);
	char why[96];
	if (!v || json_is_null(v)) {
		if (required)
			return bad_param(c, name, " is required");
		return 0;
	}
	snprintf(why, sizeof(why), " must be a non-blank string %zu to %zu characters long", min, max);
	if (!json_is_string(v))
		return bad_param(c, name, " must be a string");
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n < min || n > max || (min && strspn(s, " \t\r\n") == n))
		return bad_param(c, name, why);
	return 0;
}

static int check_priority(struct aws_call *c)
{
	json_t *p = json_object_get(c->in, "Priority");
	if (p && !json_is_null(p) && (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 5))
		return bad_param(c, "Priority", " must be an integer from 1 to 5");
	return 0;
}

static int check_list(struct aws_call *c, const char *name, const char *member, size_t max)
{
	json_t *v = json_object_get(c->in, name);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max)
		return bad_param(c, name, " must be a list");
	for (size_t i = 0; i < json_array_size(v); i++)
		if (member && !jv_str(json_array_get(v, i), member))
			return aws_fail(c, 400, INVALID, json_pack("{s:[s]}", "ParameterNames", name),
					"%s items need a string %s", name, member);
	return 0;
}

/* Request times are epoch seconds (numbers) from the CLI; ISO strings are accepted too. Normalised to
 * numbers so they come back in the shape real AWS uses. */
static int check_times(struct aws_call *c, json_t *into)
{
	for (int i = 0; time_fields[i]; i++) {
		json_t *v = json_object_get(c->in, time_fields[i]);
		if (!v || json_is_null(v))
			continue;
		int64_t ms;
		if (json_is_number(v))
			json_object_set_new(into, time_fields[i], json_deep_copy(v));
		else if (json_is_string(v) && !time_parse_rfc3339(json_string_value(v), &ms))
			json_object_set_new(into, time_fields[i], json_real((double)ms / 1000.0));
		else
			return bad_param(c, time_fields[i], " must be a timestamp");
	}
	return 0;
}

static int check_source(struct aws_call *c)
{
	int rc = check_string(c, "Source", 1, 128, true);
	if (rc)
		return rc;
	const char *s = jv_str(c->in, "Source");
	if (strcasestr(s, "aws") || strcasestr(s, "amazon") || strcasestr(s, "amzn"))
		return bad_param(c, "Source", " must not contain aws, amazon or amzn");
	return 0;
}

static json_t *epoch(int64_t ms)
{
	return json_real((double)ms / 1000.0);
}

/* Impact and urgency of an OpsItem Priority (1 highest): P1, P2, P3, P4, P4. */
static void priority_levels(json_int_t p, const char **impact, const char **urgency)
{
	static const char *const m[5][2] = {
		{ "high", "high" }, { "high", "medium" }, { "medium", "medium" }, { "medium", "low" }, { "low", "low" },
	};
	int i = p >= 1 && p <= 5 ? (int)p - 1 : 2;
	*impact = m[i][0];
	*urgency = m[i][1];
}

/* Ticket severity of an OpsItem Severity ("1" critical … "4" low, as the console uses); NULL otherwise. */
static const char *severity_of(const char *s)
{
	static const char *const m[] = { "critical", "high", "medium", "low" };
	if (s && s[0] >= '1' && s[0] <= '4' && !s[1])
		return m[s[0] - '1'];
	return NULL;
}

/* Tickets take titles of at most 200 bytes; cut at a UTF-8 character boundary. The OpsItem keeps its own. */
static json_t *ticket_title(const char *t)
{
	size_t n = strlen(t);
	if (n <= 200)
		return json_string(t);
	n = 200;
	while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
		n--;
	return json_stringn(t, n);
}

static void apply_ticket_fields(json_t *t, const json_t *item)
{
	const char *impact, *urgency;
	json_object_set_new(t, "title", ticket_title(jv_str_or(item, "Title", "")));
	json_object_set_new(t, "description", json_string(jv_str_or(item, "Description", "")));
	json_t *p = json_object_get(item, "Priority");
	priority_levels(json_is_integer(p) ? json_integer_value(p) : 3, &impact, &urgency);
	json_object_set_new(t, "impact", json_string(impact));
	json_object_set_new(t, "urgency", json_string(urgency));
	json_object_set_new(t, "priority", json_string(tkt_priority(impact, urgency)));
	const char *sev = severity_of(jv_str(item, "Severity"));
	json_object_set_new(t, "severity", json_string(sev ? sev : tkt_default_severity(tkt_priority(impact, urgency))));
	if (sev)
		json_object_set_new(t, "severity_set", json_true());
	if (jv_str(item, "Category"))
		json_object_set_new(t, "category", json_string(jv_str(item, "Category")));
}

static const char *dedup_of(const json_t *od)
{
	json_t *d = json_loads(jv_str_or(json_object_get(od, "/aws/dedup"), "Value", ""), 0, NULL);
	static __thread char buf[256];
	buf[0] = '\0';
	if (jv_str(d, "dedupString"))
		snprintf(buf, sizeof(buf), "%s", jv_str(d, "dedupString"));
	json_decref(d);
	return buf[0] ? buf : NULL;
}

/* The OpsItem as GetOpsItem returns it, from its row. */
static json_t *item_json(const char *id, const json_t *data, const char *kind, const char *tstatus,
			 const char *stored, int64_t version, int64_t created, int64_t updated, bool summary)
{
	json_t *o = json_deep_copy(data);
	json_object_del(o, "Tags");
	json_object_del(o, "AccountId");
	json_object_set_new(o, "OpsItemId", json_string(id));
	json_object_set_new(o, "Status", json_string(aws_opsitem_status(kind, tstatus, stored)));
	json_object_set_new(o, "CreatedTime", epoch(created));
	json_object_set_new(o, "LastModifiedTime", epoch(updated));
	if (summary) {
		json_object_del(o, "Description");
		json_object_del(o, "Notifications");
		json_object_del(o, "RelatedOpsItems");
		json_object_del(o, "OpsItemArn");
	} else {
		char v[24];
		snprintf(v, sizeof(v), "%" PRId64, version);
		json_object_set_new(o, "Version", json_string(v));
	}
	return o;
}

struct row {
	char id[32], ticket[40], account[16], status[24], kind[16], tstatus[40];
	int64_t seq, version, created, updated;
	json_t *data;
};

static void row_release(struct row *w)
{
	json_decref(w->data);
	w->data = NULL;
}

#define ROW_COLS                                                                                             \
	"o.id, o.seq, o.ticket, o.account, o.status, o.version, o.created_at, o.updated_at, o.data, t.kind, " \
	"t.status"

static void row_read(struct store_rows *rows, struct row *w)
{
	snprintf(w->id, sizeof(w->id), "%s", store_text(rows, 0));
	w->seq = store_int(rows, 1);
	snprintf(w->ticket, sizeof(w->ticket), "%s", store_text(rows, 2));
	snprintf(w->account, sizeof(w->account), "%s", store_text(rows, 3));
	snprintf(w->status, sizeof(w->status), "%s", store_text(rows, 4));
	w->version = store_int(rows, 5);
	w->created = store_int(rows, 6);
	w->updated = store_int(rows, 7);
	w->data = json_loads(store_text(rows, 8), 0, NULL);
	if (!w->data)
		w->data = json_object();
	snprintf(w->kind, sizeof(w->kind), "%s", store_text(rows, 9));
	snprintf(w->tstatus, sizeof(w->tstatus), "%s", store_text(rows, 10));
}

static int row_load(struct store_conn *sc, const char *id, struct row *w)
{
	struct store_rows *rows;
	int rc = store_query(sc, "SELECT " ROW_COLS " FROM ops_items o JOIN tickets t ON t.id = o.ticket WHERE o.id = $1",
			     SARGS(ST(id)), &rows);
	if (rc)
		return rc;
	rc = store_next(rows) == 1 ? 0 : FW_ENOTFOUND;
	if (!rc)
		row_read(rows, w);
	store_rows_free(rows);
	return rc;
}

/* Loads an OpsItem the caller can read; OpsItemNotFoundException otherwise. */
static int load_visible(struct aws_call *c, struct row *w, unsigned *perms)
{
	const char *id = jv_str(c->in, "OpsItemId");
	memset(w, 0, sizeof(*w));
	if (!id)
		return bad_param(c, "OpsItemId", " is required");
	int rc = row_load(req_db(c->r), id, w);
	if (rc == FW_ENOTFOUND || (!rc && !(auth_perms(c->r, w->account) & PERM_READ))) {
		row_release(w);
		return aws_fail(c, 400, NOT_FOUND, NULL, "OpsItem %.40s not found", id);
	}
	if (rc)
		return aws_fail(c, 500, "InternalServerError", NULL, "the store could not be read; try again");
	*perms = auth_perms(c->r, w->account);
	return 0;
}

static void principal_arn(struct aws_call *c, const char *account, char *out, size_t cap)
{
	snprintf(out, cap, "arn:aws:iam::%s:user/%s", account, aws_principal_label(c, c->r->auth->principal));
}

/* ---- CreateOpsItem ---- */

struct create_ctx {
	const char *actor, *account, *dedup;
	json_t *t, *item;
	char id[32];
	char existing[32];
	int64_t now;
};

static int create_tx(struct store_conn *sc, void *arg)
{
	struct create_ctx *x = arg;
	int rc;
	if (x->dedup) {
		/* An open OpsItem with the same dedup string is the same issue (the /aws/dedup contract). */
		struct store_rows *rows;
		if ((rc = store_query(sc,
				      "SELECT o.id FROM ops_items o JOIN tickets t ON t.id = o.ticket WHERE o.account = $1 "
				      "AND o.dedup = $2 AND t.status NOT IN ('resolved','closed','reclassified')",
				      SARGS(ST(x->account), ST(x->dedup)), &rows)))
			return rc;
		if (store_next(rows) == 1)
			snprintf(x->existing, sizeof(x->existing), "%s", store_text(rows, 0));
		store_rows_free(rows);
		if (x->existing[0])
			return FW_ECONFLICT;
	}
	const struct tkt_kind_info *k =
		tkt_kind(aws_opsitem_is_incident(json_object_get(x->item, "OperationalData")) ? TKT_INCIDENT : TKT_PROBLEM);
	json_object_set_new(x->t, "ops_item", json_string(x->id));
	if ((rc = tkt_insert(sc, k, x->t, x->actor)))
		return rc;
	char *data = json_dumps(x->item, JSON_COMPACT);
	rc = store_exec(sc,
			"INSERT INTO ops_items (id, seq, ticket, account, status, version, dedup, created_at, updated_at, data) "
			"VALUES ($1,$2,$3,$4,'Open',1,$5,$6,$6,$7)",
			SARGS(ST(x->id), SI(json_integer_value(json_object_get(x->t, "seq"))), ST(jv_str(x->t, "id")),
			      ST(x->account), ST(x->dedup), SI(x->now), ST(data)),
			NULL);
	free(data);
	if (!rc)
		rc = audit_append(sc, x->actor, x->account, "opsitem.create", x->id, NULL, x->item);
	return rc;
}

static int op_create(struct aws_call *c)
{
	int rc;
	struct fw_error e;
	json_t *od = json_object_get(c->in, "OperationalData");
	if ((rc = check_string(c, "Title", 1, 1024, true)) || (rc = check_string(c, "Description", 1, 2048, true)) ||
	    (rc = check_source(c)) || (rc = check_priority(c)) || (rc = check_string(c, "Severity", 1, 64, false)) ||
	    (rc = check_string(c, "Category", 1, 64, false)) || (rc = check_string(c, "OpsItemType", 1, 256, false)) ||
	    (rc = check_list(c, "Notifications", "Arn", 100)) || (rc = check_list(c, "RelatedOpsItems", "OpsItemId", 100)) ||
	    (rc = check_list(c, "Tags", "Key", 1000)))
		return rc;
	if (od && !json_is_null(od) && aws_opsdata_check(od, &e))
		return aws_fail(c, 400, INVALID, json_pack("{s:[s]}", "ParameterNames", "OperationalData"), "%s", e.message);
	char account[16];
	if ((rc = aws_call_account(c, jv_str(c->in, "AccountId"), PERM_SUBMIT, account)))
		return rc;
	json_t *item = json_object();
	static const char *const copy[] = { "Title", "Description", "Source", "Priority", "Severity", "Category",
					    "OpsItemType", "Notifications", "RelatedOpsItems", "Tags", NULL };
	for (int i = 0; copy[i]; i++) {
		json_t *v = json_object_get(c->in, copy[i]);
		if (v && !json_is_null(v))
			json_object_set(item, copy[i], v);
	}
	json_object_set_new(item, "OperationalData", od && json_is_object(od) ? json_deep_copy(od) : json_object());
	if ((rc = check_times(c, item))) {
		json_decref(item);
		return rc;
	}
	char hex[13], arn[300], who[300];
	if (crypto_random_hex(6, hex, sizeof(hex))) {
		json_decref(item);
		return aws_fail(c, 500, "InternalServerError", NULL, "no randomness available");
	}
	struct create_ctx x = { .actor = c->r->auth->principal, .account = account, .item = item,
				.now = time_now_ms() };
	snprintf(x.id, sizeof(x.id), "oi-%s", hex);
	snprintf(arn, sizeof(arn), "arn:aws:ssm:%s:%s:opsitem/%s", c->region, account, x.id);
	principal_arn(c, account, who, sizeof(who));
	json_object_set_new(item, "OpsItemArn", json_string(arn));
	json_object_set_new(item, "CreatedBy", json_string(who));
	json_object_set_new(item, "LastModifiedBy", json_string(who));
	json_object_set_new(item, "AccountId", json_string(account));
	x.dedup = dedup_of(json_object_get(item, "OperationalData"));
	x.t = json_pack("{s:s,s:s}", "account", account, "source", "api");
	apply_ticket_fields(x.t, item);
	rc = store_write(c->r->srv->store, create_tx, &x);
	json_decref(x.t);
	json_decref(item);
	if (rc == FW_ECONFLICT && x.existing[0])
		return aws_fail(c, 400, "OpsItemAlreadyExistsException", json_pack("{s:s}", "OpsItemId", x.existing),
				"an open OpsItem with this dedup string exists: %s", x.existing);
	if (rc)
		return aws_fail(c, 500, "InternalServerError", NULL, "the OpsItem could not be stored; try again");
	c->out = json_pack("{s:s,s:s}", "OpsItemId", x.id, "OpsItemArn", arn);
	return 0;
}

/* ---- GetOpsItem ---- */

static int op_get(struct aws_call *c)
{
	struct row w;
	unsigned perms;
	int rc = load_visible(c, &w, &perms);
	if (rc)
		return rc;
	c->out = json_pack("{s:o}", "OpsItem",
			   item_json(w.id, w.data, w.kind, w.tstatus, w.status, w.version, w.created, w.updated, false));
	row_release(&w);
	return 0;
}

/* ---- UpdateOpsItem ---- */

struct update_ctx {
	const char *id, *actor, *who;
	json_t *in;
	unsigned perms;
	struct fw_error err;
};

/* The ticket status that realises an OpsItem Status, or NULL when the ticket stays where it is. Sets e
 * when the move is not possible. */
static const char *target_status(const char *kind, const char *from, const char *want, struct fw_error *e)
{
	bool inc = !strcmp(kind, "incident");
	if (!strcmp(want, "Resolved"))
		return resolved_class(from) ? NULL : "resolved";
	if (!strcmp(want, "InProgress")) {
		if (!strcmp(from, "resolved"))
			return inc ? "investigating" : "open";
		if (inc && (!strcmp(from, "new") || !strcmp(from, "acknowledged")))
			return "investigating";
		if (resolved_class(from)) {
			fw_fail(e, 409, INVALID, "the %s is %s and cannot be reopened", kind, from);
			return NULL;
		}
		return NULL;
	}
	if (!strcmp(want, "Open")) {
		if (!strcmp(from, "resolved"))
			return inc ? "investigating" : "open";
		if ((inc && !strcmp(from, "new")) || (!inc && !strcmp(from, "open")))
			return NULL;
		fw_fail(e, 409, INVALID, "the %s is %s; an OpsItem goes back to Open only from Resolved", kind, from);
		return NULL;
	}
	fw_fail(e, 400, INVALID, "Status '%.30s' is not supported here; use Open, InProgress or Resolved", want);
	return NULL;
}

static int update_tx(struct store_conn *sc, void *arg)
{
	struct update_ctx *x = arg;
	struct row w = { .data = NULL };
	json_t *t = NULL, *before = NULL;
	int rc = row_load(sc, x->id, &w);
	if (rc)
		return rc == FW_ENOTFOUND ? fw_fail(&x->err, 400, NOT_FOUND, "OpsItem %s not found", x->id) : rc;
	if ((rc = tkt_load(sc, w.ticket, &t)))
		goto out;
	before = json_deep_copy(w.data);
	json_t *item = w.data;
	static const char *const fields[] = { "Title", "Description", "Priority", "Severity", "Category",
					      "Notifications", "RelatedOpsItems", NULL };
	for (int i = 0; fields[i]; i++) {
		json_t *v = json_object_get(x->in, fields[i]);
		if (v && !json_is_null(v))
			json_object_set(item, fields[i], v);
	}
	for (int i = 0; time_fields[i]; i++) {
		json_t *v = json_object_get(x->in, time_fields[i]);
		int64_t ms;
		if (json_is_number(v))
			json_object_set(item, time_fields[i], v);
		else if (json_is_string(v) && !time_parse_rfc3339(json_string_value(v), &ms))
			json_object_set_new(item, time_fields[i], json_real((double)ms / 1000.0));
	}
	json_t *od = json_object_get(item, "OperationalData");
	if (!json_is_object(od)) {
		od = json_object();
		json_object_set_new(item, "OperationalData", od);
	}
	json_t *add = json_object_get(x->in, "OperationalData");
	if (json_is_object(add))
		json_object_update(od, add);
	json_t *del = json_object_get(x->in, "OperationalDataToDelete");
	for (size_t i = 0; i < json_array_size(del); i++)
		if (json_is_string(json_array_get(del, i)))
			json_object_del(od, json_string_value(json_array_get(del, i)));
	json_object_set_new(item, "LastModifiedBy", json_string(x->who));

	apply_ticket_fields(t, item);
	const char *want = jv_str(x->in, "Status");
	char stored[24];
	snprintf(stored, sizeof(stored), "%s", want ? want : w.status);
	const char *to = want ? target_status(w.kind, w.tstatus, want, &x->err) : NULL;
	if (x->err.status) {
		rc = FW_EINVAL;
		goto out;
	}
	if (to) {
		const struct tkt_kind_info *k = tkt_kind_by_name(w.kind);
		if ((rc = tkt_check_transition(k->kind, w.tstatus, to, x->perms, &x->err)))
			goto out;
		rc = tkt_set_status(sc, t, to, x->actor, "status set through the SSM OpsItems API");
	} else {
		rc = tkt_save(sc, t);
	}
	if (rc)
		goto out;
	char *data = json_dumps(item, JSON_COMPACT);
	rc = store_exec(sc,
			"UPDATE ops_items SET status = $2, version = version + 1, dedup = $3, updated_at = $4, data = $5 "
			"WHERE id = $1",
			SARGS(ST(x->id), ST(stored), ST(dedup_of(od)), SI(time_now_ms()), ST(data)), NULL);
	free(data);
	if (!rc)
		rc = audit_append(sc, x->actor, w.account, "opsitem.update", x->id, before, item);
out:
	json_decref(before);
	json_decref(t);
	row_release(&w);
	return rc;
}

static int op_update(struct aws_call *c)
{
	struct row w;
	unsigned perms;
	struct fw_error e;
	int rc;
	json_t *od = json_object_get(c->in, "OperationalData");
	if ((rc = check_string(c, "Title", 1, 1024, false)) || (rc = check_string(c, "Description", 1, 2048, false)) ||
	    (rc = check_priority(c)) || (rc = check_string(c, "Severity", 1, 64, false)) ||
	    (rc = check_string(c, "Category", 1, 64, false)) || (rc = check_string(c, "Status", 1, 64, false)) ||
	    (rc = check_list(c, "Notifications", "Arn", 100)) || (rc = check_list(c, "RelatedOpsItems", "OpsItemId", 100)) ||
	    (rc = check_list(c, "OperationalDataToDelete", NULL, 1000)))
		return rc;
	json_t *scratch = json_object();
	rc = check_times(c, scratch);
	json_decref(scratch);
	if (rc)
		return rc;
	if (od && !json_is_null(od) && aws_opsdata_check(od, &e))
		return aws_fail(c, 400, INVALID, json_pack("{s:[s]}", "ParameterNames", "OperationalData"), "%s", e.message);
	if ((rc = load_visible(c, &w, &perms)))
		return rc;
	if (!(perms & PERM_WORK)) {
		rc = aws_fail(c, 400, DENIED, NULL, "updating an OpsItem of account %s needs the operator role", w.account);
		row_release(&w);
		return rc;
	}
	char who[300];
	principal_arn(c, w.account, who, sizeof(who));
	struct update_ctx x = { .id = w.id, .actor = c->r->auth->principal, .who = who, .in = c->in, .perms = perms };
	rc = store_write(c->r->srv->store, update_tx, &x);
	row_release(&w);
	if (rc && x.err.status == 403)
		return aws_fail(c, 400, DENIED, NULL, "%s", x.err.message);
	if (rc && x.err.status)
		return aws_fail(c, 400, !strcmp(x.err.code, NOT_FOUND) ? NOT_FOUND : INVALID,
				!strcmp(x.err.code, NOT_FOUND) ? NULL : json_pack("{s:[s]}", "ParameterNames", "Status"), "%s",
				x.err.message);
	if (rc)
		return aws_fail(c, 500, "InternalServerError", NULL, "the OpsItem could not be stored; try again");
	c->out = json_object();
	return 0;
}

/* ---- DescribeOpsItems ---- */

static int op_describe(struct aws_call *c)
{
	struct fw_error e;
	json_t *filters = json_object_get(c->in, "OpsItemFilters");
	json_t *m = json_object_get(c->in, "MaxResults");
	int max = 50;
	int64_t cursor = 0;
	if (aws_opsitem_filters_check(filters, &e))
		return aws_fail(c, 400, INVALID, json_pack("{s:[s]}", "ParameterNames", "OpsItemFilters"), "%s", e.message);
	if (m && !json_is_null(m)) {
		if (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 50)
			return bad_param(c, "MaxResults", " must be an integer from 1 to 50");
		max = (int)json_integer_value(m);
	}
	const char *tok = jv_str(c->in, "NextToken");
	if (tok && *tok) {
		char *end;
		cursor = strtoll(tok, &end, 10);
		if (*end || cursor < 1)
			return bad_param(c, "NextToken", " is not one this API returned");
	}
	struct buf sql = BUF_INIT(1 << 16);
	buf_puts(&sql, "SELECT " ROW_COLS " FROM ops_items o JOIN tickets t ON t.id = o.ticket WHERE o.seq < $1");
	auth_account_filter(c->r, PERM_READ, "o.account", &sql);
	buf_puts(&sql, " ORDER BY o.seq DESC");
	struct store_rows *rows;
	int rc = store_query(req_db(c->r), buf_str(&sql), SARGS(SI(cursor ? cursor : INT64_MAX)), &rows);
	buf_release(&sql);
	if (rc)
		return aws_fail(c, 500, "InternalServerError", NULL, "the store could not be read; try again");
	json_t *items = json_array();
	int64_t last = 0, next = 0;
	int n = 0;
	/* Filters run here rather than in SQL: they look inside OperationalData. */
	while (store_next(rows) == 1) {
		struct row w = { .data = NULL };
		row_read(rows, &w);
		json_t *s = item_json(w.id, w.data, w.kind, w.tstatus, w.status, w.version, w.created, w.updated, true);
		json_object_set_new(s, "AccountId", json_string(w.account));
		bool hit = !json_array_size(filters) || aws_opsitem_match(s, filters);
		row_release(&w);
		if (!hit) {
			json_decref(s);
			continue;
		}
		if (n++ == max) {
			json_decref(s);
			next = last;
			break;
		}
		last = w.seq;
		json_object_del(s, "AccountId");
		json_array_append_new(items, s);
	}
	store_rows_free(rows);
	c->out = json_pack("{s:o}", "OpsItemSummaries", items);
	if (next) {
		char t[24];
		snprintf(t, sizeof(t), "%" PRId64, next);
		json_object_set_new(c->out, "NextToken", json_string(t));
	}
	return 0;
}

int aws_ssm_call(struct aws_call *c)
{
	static const struct {
		const char *op;
		int (*fn)(struct aws_call *);
	} ops[] = {
		{ "CreateOpsItem", op_create },
		{ "GetOpsItem", op_get },
		{ "UpdateOpsItem", op_update },
		{ "DescribeOpsItems", op_describe },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(c->op, ops[i].op))
			return ops[i].fn(c);
	return aws_fail(c, 400, "UnknownOperationException", NULL,
			"AmazonSSM.%.60s is not supported here; supported: CreateOpsItem, GetOpsItem, UpdateOpsItem, "
			"DescribeOpsItems",
			c->op);
}
