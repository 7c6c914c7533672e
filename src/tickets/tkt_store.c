#include "tickets/tkt_store.h"
#include "audit/audit.h"
#include "notify/outbox.h"
#include "sla/engine.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/json_out.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The redo log's names for a ticket create. Logs written by an earlier version carry them: never change
 * what a name means, add one. */
#define ASYNC_CREATE_V1 "ticket.create" /* data JSON "\n" actor JSON (until 2026-11) */
#define ASYNC_CREATE "ticket.create.2"  /* the ticket's view, then its data JSON (see apply_create) */

static const char *str(const json_t *t, const char *k)
{
	const json_t *v = json_object_get(t, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int tkt_load(struct store_conn *c, const char *id, json_t **out)
{
	char *data = NULL;
	int rc = store_query_str(c, "SELECT data FROM tickets WHERE id = $1", SARGS(ST(id)), &data);
	if (rc)
		return rc;
	json_error_t je;
	*out = json_loads(data, 0, &je);
	free(data);
	return *out ? 0 : FW_ESTORE;
}

static int timeline_insert(struct store_conn *c, const char *ticket, int64_t n, const char *actor, const char *type,
			   const char *visibility, const json_t *body);

/* Allocates the global sequence number and the kind's number. */
static int next_numbers(struct store_conn *c, const char *prefix, int64_t *seq, int64_t *num)
{
	*seq = *num = -1;
	int rc = store_counter_next(c, "ticket_seq", seq);
	if (!rc)
		rc = store_counter_next(c, prefix, num);
	return rc ? FW_ESTORE : 0;
}

static void set_time(json_t *t, const char *field, int64_t ms)
{
	char ts[32];
	time_fmt_ms(ms, ts, sizeof(ts));
	json_object_set_new(t, field, json_string(ts));
}

/* data, when not NULL, is t's compact JSON already made. */
static int write_row(struct store_conn *c, json_t *t, const char *data_made, bool insert)
{
	char *data = data_made ? (char *)data_made : json_dumps(t, JSON_COMPACT);
	if (!data)
		return FW_ENOMEM;
	int64_t created = 0, now = time_now_ms();
	time_parse_rfc3339(str(t, "created_at"), &created);
	int rc;
	if (insert)
		rc = store_exec(c,
				"INSERT INTO tickets (seq, id, kind, account, status, priority, severity, assignee, "
				"group_name, title, created_at, updated_at, data) "
				"VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
				SARGS(SI(json_integer_value(json_object_get(t, "seq"))), ST(str(t, "id")),
				      ST(str(t, "kind")), ST(str(t, "account")), ST(str(t, "status")),
				      ST(str(t, "priority")), ST(str(t, "severity")), ST(str(t, "assignee")),
				      ST(str(t, "group")), ST(str(t, "title")), SI(created), SI(now), ST(data)),
				NULL);
	else
		rc = store_exec(c,
				"UPDATE tickets SET status=$2, priority=$3, severity=$4, assignee=$5, group_name=$6, "
				"title=$7, updated_at=$8, data=$9 WHERE id=$1",
				SARGS(ST(str(t, "id")), ST(str(t, "status")), ST(str(t, "priority")),
				      ST(str(t, "severity")), ST(str(t, "assignee")), ST(str(t, "group")),
				      ST(str(t, "title")), SI(now), ST(data)),
				NULL);
	if (data != data_made)
		free(data);
	/* SLA clocks and escalation follow every ticket write, in the same transaction (sla/engine.h). */
	if (!rc)
		rc = sla_ticket_changed(c, t, insert);
	return rc;
}

/* Everything a new ticket gets before it is written: numbers, kind, initial status, times. */
static void fill_new(const struct tkt_kind_info *k, json_t *t, const char *actor, int64_t seq, int64_t num)
{
	char id[32];
	snprintf(id, sizeof(id), "%s-%lld", k->prefix, (long long)num);
	int64_t now = time_now_ms();
	json_object_set_new(t, "id", json_string(id));
	json_object_set_new(t, "seq", json_integer(seq));
	json_object_set_new(t, "kind", json_string(k->name));
	const char *st = str(t, "status");
	if (!st || !tkt_status_valid(k->kind, st))
		json_object_set_new(t, "status", json_string(k->initial));
	set_time(t, "created_at", now);
	set_time(t, "updated_at", now);
	json_t *times = json_object();
	set_time(times, str(t, "status"), now);
	json_object_set_new(t, "state_times", times);
	if (actor)
		json_object_set_new(t, "created_by", json_string(actor));
}

/* Writes a filled-in new ticket: its row (data, when not NULL, is t's compact JSON) and its "created"
 * timeline entry. */
static int insert_filled(struct store_conn *c, json_t *t, const char *data, const char *actor)
{
	int rc = write_row(c, t, data, true);
	if (rc)
		return rc;
	json_t *body = json_pack("{s:s,s:s}", "status", str(t, "status"), "title", str(t, "title"));
	/* Not n = 1: hooks run by write_row (SLA escalation) may already have added entries. */
	rc = tkt_timeline_add(c, str(t, "id"), actor, "created", "public", body);
	json_decref(body);
	return rc;
}

int tkt_insert(struct store_conn *c, const struct tkt_kind_info *k, json_t *t, const char *actor)
{
	int64_t seq, num;
	if (next_numbers(c, k->prefix, &seq, &num))
		return FW_ESTORE;
	fill_new(k, t, actor, seq, num);
	return insert_filled(c, t, NULL, actor);
}

/* Applies a create from its record: t holds at least the view fields (below) of the filled-in ticket,
 * data its JSON as the row keeps it, whose SHA-256 is the audit digest. The numbers the record carries
 * count as handed out (a replay at start, before counters come from memory). */
static int apply_filled(struct store_conn *c, json_t *t, const char *data, const char *actor)
{
	const struct tkt_kind_info *k = tkt_kind_by_name(str(t, "kind"));
	const char *id = str(t, "id");
	if (!data || !k || !id || strlen(id) <= strlen(k->prefix) || !json_is_integer(json_object_get(t, "seq")))
		return FW_EINVAL;
	char digest[65];
	crypto_sha256_hex(data, strlen(data), digest);
	int rc = store_counter_seen(c, "ticket_seq", json_integer_value(json_object_get(t, "seq")));
	if (!rc)
		rc = store_counter_seen(c, k->prefix, atoll(id + strlen(k->prefix) + 1));
	if (!rc)
		rc = insert_filled(c, t, data, actor);
	if (!rc)
		rc = audit_append_digests(c, actor, str(t, "account"), "ticket.create", id, "", digest);
	return rc;
}

/* The asynchronous create of the first record format: the filled-in ticket's compact JSON with sorted
 * keys, a newline, the actor as a JSON string or null. Only logs left by a crash of an earlier version
 * hold it. */
static int apply_create_v1(struct store_conn *c, const char *payload)
{
	const char *nl = strchr(payload, '\n');
	if (!nl)
		return FW_EINVAL;
	json_t *t = json_loadb(payload, (size_t)(nl - payload), 0, NULL);
	json_t *a = json_loads(nl + 1, JSON_DECODE_ANY, NULL);
	char *data = strndup(payload, (size_t)(nl - payload));
	int rc = apply_filled(c, t, data, json_string_value(a));
	free(data);
	json_decref(a);
	json_decref(t);
	return rc;
}

/* The fields of a new ticket that writing it reads besides its data: the row's columns (write_row),
 * the SLA clocks and escalation (sla/engine.c), the "created" entry and the audit entry. The
 * asynchronous create carries them beside the data so that applying it does not parse the ticket
 * (that parse was a quarter of the applier's work). A field read there must be listed here. */
static const char *const view_fields[] = { "id", "seq", "kind", "account", "status", "priority", "severity",
					    "assignee", "group", "title", "created_at", "acknowledged_at",
					    "resolved_at", "requester", "created_by", NULL };
/* The actor's entry in the view: no ticket field starts with '@'. */
#define VIEW_ACTOR "@actor"

/* Appends one view entry: name "=s" length ":" bytes for a string, name "=i" digits ";" for an
 * integer, without printf, which every field of every create would pay twice. Lengths make any byte
 * safe in a value. */
static int view_put_str(struct buf *b, const char *name, const char *s, size_t n)
{
	return buf_puts(b, name) || buf_append(b, "=s", 2) || buf_put_int(b, (long long)n) || buf_append(b, ":", 1) ||
	       buf_append(b, s, n);
}

/* view_put_str() or the integer form for v; other types are left out. */
static int view_put(struct buf *b, const char *name, const json_t *v)
{
	if (json_is_string(v))
		return view_put_str(b, name, json_string_value(v), json_string_length(v));
	if (json_is_integer(v))
		return buf_puts(b, name) || buf_append(b, "=i", 2) ||
		       buf_put_int(b, (long long)json_integer_value(v)) || buf_append(b, ";", 1);
	return 0;
}

/* The ticket as the API shows it, compact: without its sequence number and the internal mark that its
 * severity was set by hand. Takes them out of t. */
static char *public_json(json_t *t)
{
	json_object_del(t, "seq");
	json_object_del(t, "severity_set");
	return json_out_dumps(t);
}

/* The record of an asynchronous create: the view entries, a newline, then the ticket's data JSON to
 * the end, which becomes the row's data column as it is; its SHA-256 is the audit digest. The data is
 * the public JSON (*pub, which the caller answers with) with "seq" and "severity_set" put in front, so
 * one dump serves both. Takes those two out of t, as public_json() does. */
static char *create_record(json_t *t, const char *actor, char **pub)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	int rc = 0;
	for (const char *const *f = view_fields; *f && !rc; f++)
		rc = view_put(&b, *f, json_object_get(t, *f));
	if (!rc && actor)
		rc = view_put_str(&b, VIEW_ACTOR, actor, strlen(actor));
	int64_t seq = json_integer_value(json_object_get(t, "seq"));
	bool sev_set = json_is_true(json_object_get(t, "severity_set"));
	*pub = rc ? NULL : public_json(t);
	if (!*pub || (*pub)[0] != '{' || (*pub)[1] == '}')
		rc = FW_ENOMEM;
	if (!rc)
		rc = buf_puts(&b, "\n{\"seq\":") || buf_put_int(&b, (long long)seq) || buf_append(&b, ",", 1) ||
		     (sev_set && buf_puts(&b, "\"severity_set\":true,")) || buf_puts(&b, *pub + 1);
	if (rc) {
		free(*pub);
		*pub = NULL;
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Reads the view entries of a record into view; *data is where the ticket's JSON starts, *actor the
 * actor (NULL when none; it points into view). FW_EINVAL when the record is malformed. */
static int view_read(const char *p, json_t *view, const char **actor, const char **data)
{
	*actor = NULL;
	while (*p != '\n') {
		const char *eq = strchr(p, '=');
		if (!eq || eq == p || eq - p > 32)
			return FW_EINVAL;
		char name[40];
		memcpy(name, p, (size_t)(eq - p));
		name[eq - p] = '\0';
		char *end;
		errno = 0;
		if (eq[1] == 's') {
			unsigned long long n = strtoull(eq + 2, &end, 10);
			if (errno || end == eq + 2 || *end != ':' || strnlen(end + 1, n) < n)
				return FW_EINVAL;
			json_t *v = json_stringn(end + 1, (size_t)n);
			if (!v || json_object_set_new(view, name, v))
				return FW_EINVAL;
			p = end + 1 + n;
		} else if (eq[1] == 'i') {
			long long n = strtoll(eq + 2, &end, 10);
			if (errno || end == eq + 2 || *end != ';' || json_object_set_new(view, name, json_integer(n)))
				return FW_EINVAL;
			p = end + 1;
		} else {
			return FW_EINVAL;
		}
	}
	const json_t *a = json_object_get(view, VIEW_ACTOR);
	if (a && !json_is_string(a))
		return FW_EINVAL;
	*actor = a ? json_string_value(a) : NULL;
	*data = p + 1;
	return 0;
}

static int apply_create(struct store_conn *c, const char *payload)
{
	json_t *t = json_object();
	const char *actor, *data;
	int rc = t ? view_read(payload, t, &actor, &data) : FW_ENOMEM;
	if (!rc)
		rc = apply_filled(c, t, data, actor);
	json_decref(t);
	return rc;
}

int tkt_store_register(void)
{
	return store_async_register(ASYNC_CREATE_V1, apply_create_v1) || store_async_register(ASYNC_CREATE, apply_create)
		       ? FW_EINVAL
		       : 0;
}

struct create_sync {
	const struct tkt_kind_info *k;
	json_t *t;
	const char *actor;
};

static int create_sync_tx(struct store_conn *c, void *arg)
{
	struct create_sync *x = arg;
	int rc = tkt_insert(c, x->k, x->t, x->actor);
	if (!rc)
		rc = audit_append(c, x->actor, str(x->t, "account"), "ticket.create", str(x->t, "id"), NULL, x->t);
	return rc;
}

int tkt_create(struct store *st, const struct tkt_kind_info *k, json_t *t, const char *actor, char **pub)
{
	*pub = NULL;
	if (!store_async_enabled(st)) {
		int rc = store_write(st, create_sync_tx, &(struct create_sync){ k, t, actor });
		if (!rc && !(*pub = public_json(t)))
			rc = FW_ENOMEM;
		return rc;
	}
	int64_t seq, num;
	if (store_counter_reserve(st, "ticket_seq", &seq) || store_counter_reserve(st, k->prefix, &num))
		return FW_ESTORE;
	fill_new(k, t, actor, seq, num);
	char *rec = create_record(t, actor, pub);
	int rc = rec ? store_write_async(st, ASYNC_CREATE, rec) : FW_ENOMEM;
	free(rec);
	if (rc) {
		free(*pub);
		*pub = NULL;
	}
	return rc;
}

int tkt_save(struct store_conn *c, json_t *t)
{
	set_time(t, "updated_at", time_now_ms());
	return write_row(c, t, NULL, false);
}

int tkt_set_status(struct store_conn *c, json_t *t, const char *to, const char *actor, const char *note)
{
	char from[40];
	snprintf(from, sizeof(from), "%s", str(t, "status"));
	int64_t now = time_now_ms();
	json_object_set_new(t, "status", json_string(to));
	json_t *times = json_object_get(t, "state_times");
	if (!json_is_object(times)) {
		times = json_object();
		json_object_set_new(t, "state_times", times);
	}
	set_time(times, to, now);
	/* The first time a ticket is acknowledged/resolved/closed feeds MTTA and MTTR. */
	static const char *const firsts[][2] = { { "acknowledged", "acknowledged_at" },
						 { "resolved", "resolved_at" },
						 { "closed", "closed_at" } };
	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++)
		if (strcmp(to, firsts[i][0]) == 0 && !json_object_get(t, firsts[i][1]))
			set_time(t, firsts[i][1], now);
	if (!strcmp(to, "investigating") && !json_object_get(t, "acknowledged_at"))
		set_time(t, "acknowledged_at", now);
	int rc = tkt_save(c, t);
	if (rc)
		return rc;
	json_t *body = json_pack("{s:s,s:s}", "from", from, "to", to);
	if (note)
		json_object_set_new(body, "note", json_string(note));
	rc = tkt_timeline_add(c, str(t, "id"), actor, "status", "public", body);
	if (!rc)
		rc = tkt_notify_requester(c, t, "ticket.status_changed", body);
	json_decref(body);
	return rc;
}

static int timeline_insert(struct store_conn *c, const char *ticket, int64_t n, const char *actor, const char *type,
			   const char *visibility, const json_t *body)
{
	char *b = json_dumps(body, JSON_COMPACT);
	if (!b)
		return FW_ENOMEM;
	int rc = store_exec(c,
			    "INSERT INTO timeline (ticket, n, at, actor, type, visibility, body) VALUES ($1,$2,$3,$4,$5,$6,$7)",
			    SARGS(ST(ticket), SI(n), SI(time_now_ms()), ST(actor), ST(type), ST(visibility), ST(b)), NULL);
	free(b);
	return rc;
}

int tkt_timeline_add(struct store_conn *c, const char *ticket, const char *actor, const char *type,
		     const char *visibility, const json_t *body)
{
	int64_t n = 0;
	int rc = store_query_int(c, "SELECT COALESCE(MAX(n), 0) + 1 FROM timeline WHERE ticket = $1", SARGS(ST(ticket)),
				 &n);
	return rc ? rc : timeline_insert(c, ticket, n, actor, type, visibility, body);
}

int tkt_link(struct store_conn *c, const char *src, const char *dst, const char *type)
{
	return store_exec(c,
			  "INSERT INTO ticket_links (src, dst, type, at) VALUES ($1,$2,$3,$4) "
			  "ON CONFLICT (src, dst, type) DO NOTHING",
			  SARGS(ST(src), ST(dst), ST(type), SI(time_now_ms())), NULL);
}

json_t *tkt_links(struct store_conn *c, const char *id)
{
	json_t *out = json_array();
	struct store_rows *r;
	if (store_query(c,
			"SELECT dst, type, 'out' FROM ticket_links WHERE src = $1 UNION ALL "
			"SELECT src, type, 'in' FROM ticket_links WHERE dst = $1",
			SARGS(ST(id)), &r))
		return out;
	while (store_next(r) == 1)
		json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "id", store_text(r, 0), "type",
						     store_text(r, 1), "direction", store_text(r, 2)));
	store_rows_free(r);
	return out;
}

int tkt_notify_requester(struct store_conn *c, const json_t *t, const char *event, const json_t *detail)
{
	const char *requester = str(t, "requester");
	if (!requester)
		return 0;
	json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:O?}", "event", event, "ticket", str(t, "id"), "title",
			      str(t, "title"), "status", str(t, "status"), "detail", detail);
	int rc = outbox_add(c, event, str(t, "account"), requester, p);
	json_decref(p);
	return rc;
}
