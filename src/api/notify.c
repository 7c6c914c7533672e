/* /api/v1/channels, /api/v1/topics (+ subscriptions, publish), /api/v1/notifications (delivery log). */
#include "api/api.h"
#include "audit/audit.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "notify/notify.h"
#include "notify/outbox.h"
#include "notify/route.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const channel_types[] = { "webhook", "email", NULL };

/* Objects without an account are global: only a global admin manages them. */
static int require_admin(struct req *r, const char *account)
{
	if (account) {
		if (!api_account_id_ok(account))
			return req_fail(r, 422, "invalid_field", "field 'account' must be a 12-digit account id");
		return auth_require(r, account, PERM_ADMIN, "account");
	}
	if (!auth_global(r, PERM_ADMIN))
		return req_fail(r, 403, "forbidden", "global channels and topics are managed by a global admin; "
						   "give an 'account' you administer");
	return 0;
}

static bool can_see(struct req *r, const char *account, unsigned perm)
{
	return account ? (auth_perms(r, account) & perm) != 0 : true;
}

static int next_id(struct store_conn *c, const char *counter, char *out, size_t cap)
{
	int64_t n = 0;
	int rc = store_counter_next(c, counter, &n);
	if (!rc)
		snprintf(out, cap, "%s-%lld", counter, (long long)n);
	return rc;
}

/* ---- channels ---- */

static const struct jv_field channel_fields[] = {
	{ "name", JV_STRING, JV_NONEMPTY, 200, NULL },
	{ "type", JV_STRING, 0, 0, channel_types },
	{ "account", JV_STRING, JV_NULLABLE, 12, NULL },
	{ "customer_updates", JV_BOOL, 0, 0, NULL },
	{ "url", JV_STRING, 0, 2000, NULL },
	{ "secret", JV_STRING, JV_NONEMPTY, 256, NULL },
	{ "smtp_url", JV_STRING, 0, 2000, NULL },
	{ "from", JV_STRING, 0, 254, NULL },
	{ "to", JV_STRING, 0, 254, NULL },
	{ "username", JV_STRING, 0, 254, NULL },
	{ "password", JV_STRING, 0, 256, NULL },
	{ "starttls", JV_BOOL, 0, 0, NULL },
	{ "insecure_tls", JV_BOOL, 0, 0, NULL },
	{ "timeout_ms", JV_INT, 0, 0, NULL },
	{ "max_attempts", JV_INT, 0, 0, NULL },
	{ "backoff_ms", JV_INT, 0, 0, NULL },
	{ "backoff_max_ms", JV_INT, 0, 0, NULL },
	{ NULL },
};

static const char *const config_keys[] = { "url", "smtp_url", "from", "to", "username", "starttls", "insecure_tls",
					   "timeout_ms", "max_attempts", "backoff_ms", "backoff_max_ms", NULL };

static int int_range(struct req *r, const json_t *cfg, const char *k, long lo, long hi)
{
	const json_t *v = json_object_get(cfg, k);
	if (v && (json_integer_value(v) < lo || json_integer_value(v) > hi))
		return req_fail(r, 422, "invalid_field", "field '%s' must be from %ld to %ld", k, lo, hi);
	return 0;
}

/* Checks a channel's merged config (type-specific required fields and limits). */
static int check_channel(struct req *r, const char *type, const json_t *cfg)
{
	int rc;
	if (!strcmp(type, "webhook")) {
		const char *u = jv_str(cfg, "url");
		if (!u || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)))
			return req_fail(r, 422, "invalid_field", "a webhook channel needs 'url' starting with http:// or https://");
	} else {
		const char *u = jv_str(cfg, "smtp_url");
		if (!u || (strncmp(u, "smtp://", 7) && strncmp(u, "smtps://", 8)))
			return req_fail(r, 422, "invalid_field",
					"an email channel needs 'smtp_url' like smtp://mail.example.com:587 or smtps://…");
		const char *f = jv_str(cfg, "from");
		if (!f || !strchr(f, '@'))
			return req_fail(r, 422, "invalid_field", "an email channel needs 'from', an e-mail address");
	}
	if ((rc = int_range(r, cfg, "timeout_ms", 100, 60000)) || (rc = int_range(r, cfg, "max_attempts", 1, 50)) ||
	    (rc = int_range(r, cfg, "backoff_ms", 10, 3600000)) ||
	    (rc = int_range(r, cfg, "backoff_max_ms", 10, 86400000)))
		return rc;
	return 0;
}

static json_t *channel_row(struct store_rows *rows)
{
	char ts[32];
	time_fmt_ms(store_int(rows, 7), ts, sizeof(ts));
	json_t *cfg = json_loads(store_text(rows, 4), 0, NULL);
	return json_pack("{s:s,s:s?,s:s,s:s,s:o,s:b,s:b,s:s}", "id", store_text(rows, 0), "account", store_text(rows, 1),
			 "name", store_text(rows, 2), "type", store_text(rows, 3), "config", cfg ? cfg : json_object(),
			 "secret_set", !store_isnull(rows, 5), "customer_updates", store_int(rows, 6) != 0, "created_at",
			 ts);
}

#define CHANNEL_COLS "id, account, name, type, config, secret, customer_updates, created_at"

struct chan_ctx {
	char id[40];
	const char *account, *name, *type, *secret, *actor;
	bool customer_updates, update, secret_given;
	json_t *cfg;
};

static int channel_tx(struct store_conn *c, void *arg)
{
	struct chan_ctx *x = arg;
	char *cfg = json_dumps(x->cfg, JSON_COMPACT | JSON_SORT_KEYS);
	int64_t now = time_now_ms();
	int rc;
	if (x->update) {
		rc = store_exec(c, "UPDATE channels SET name=$2, config=$3, customer_updates=$4, updated_at=$5 WHERE id=$1",
				SARGS(ST(x->id), ST(x->name), ST(cfg), SI(x->customer_updates), SI(now)), NULL);
		if (!rc && x->secret_given)
			rc = store_exec(c, "UPDATE channels SET secret=$2 WHERE id=$1", SARGS(ST(x->id), ST(x->secret)), NULL);
	} else {
		rc = next_id(c, "chn", x->id, sizeof(x->id));
		if (!rc)
			rc = store_exec(c,
					"INSERT INTO channels (" CHANNEL_COLS ", updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8)",
					SARGS(ST(x->id), ST(x->account), ST(x->name), ST(x->type), ST(cfg), ST(x->secret),
					      SI(x->customer_updates), SI(now)),
					NULL);
	}
	if (!rc)
		rc = audit_append(c, x->actor, x->account, x->update ? "channel.update" : "channel.create", x->id, NULL,
				  x->cfg);
	free(cfg);
	return rc;
}

static int load_channel(struct req *r, const char *id, json_t **out)
{
	struct store_rows *rows;
	int rc = store_query(req_db(r), "SELECT " CHANNEL_COLS " FROM channels WHERE id = $1", SARGS(ST(id)), &rows);
	if (rc)
		return rc;
	*out = store_next(rows) == 1 ? channel_row(rows) : NULL;
	store_rows_free(rows);
	if (!*out || !can_see(r, jv_str(*out, "account"), PERM_READ)) {
		json_decref(*out);
		*out = NULL;
		return req_fail(r, 404, "not_found", "channel %.40s not found", id);
	}
	return 0;
}

static int save_channel(struct req *r, json_t *body, json_t *existing)
{
	struct fw_error e;
	int rc = jv_check(body, channel_fields, &e);
	if (rc)
		return req_fail_from(r, &e);
	struct chan_ctx x = { .actor = api_actor(r), .update = existing != NULL };
	json_t *cfg = existing ? json_deep_copy(json_object_get(existing, "config")) : json_object();
	if (existing) {
		snprintf(x.id, sizeof(x.id), "%s", jv_str(existing, "id"));
		x.account = jv_str(existing, "account");
		x.type = jv_str(existing, "type");
		x.name = jv_str_or(body, "name", jv_str(existing, "name"));
		x.customer_updates = json_object_get(body, "customer_updates")
					     ? json_is_true(json_object_get(body, "customer_updates"))
					     : json_is_true(json_object_get(existing, "customer_updates"));
	} else {
		x.account = jv_str(body, "account");
		x.type = jv_str(body, "type");
		x.name = jv_str(body, "name");
		x.customer_updates = json_is_true(json_object_get(body, "customer_updates"));
		if (!x.type || !x.name) {
			json_decref(cfg);
			return req_fail(r, 422, "missing_field", "fields 'name' and 'type' (webhook or email) are required");
		}
	}
	if ((rc = require_admin(r, x.account))) {
		json_decref(cfg);
		return rc;
	}
	for (const char *const *k = config_keys; *k; k++) {
		json_t *v = json_object_get(body, *k);
		if (v)
			json_object_set(cfg, *k, v);
	}
	if ((rc = check_channel(r, x.type, cfg))) {
		json_decref(cfg);
		return rc;
	}
	x.cfg = cfg;
	char gen[65] = "";
	const char *secret = jv_str(body, !strcmp(x.type, "webhook") ? "secret" : "password");
	x.secret_given = secret != NULL;
	if (!secret && !existing && !strcmp(x.type, "webhook")) {
		/* A webhook always signs: generate a secret, shown once in this response. */
		crypto_random_hex(32, gen, sizeof(gen));
		secret = gen;
		x.secret_given = true;
	}
	x.secret = secret;
	rc = store_write(r->srv->store, channel_tx, &x);
	json_decref(cfg);
	if (rc) {
		OPENSSL_cleanse(gen, sizeof(gen));
		return rc;
	}
	json_t *out = NULL;
	if ((rc = load_channel(r, x.id, &out)))
		return rc;
	if (gen[0])
		json_object_set_new(out, "secret", json_string(gen));
	OPENSSL_cleanse(gen, sizeof(gen));
	return req_json(r, existing ? 200 : 201, out);
}

static int h_channel_create(struct req *r)
{
	json_t *body;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	rc = save_channel(r, body, NULL);
	json_decref(body);
	return rc;
}

static int h_channel_patch(struct req *r)
{
	json_t *body, *ch;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	if (!(rc = load_channel(r, req_param(r, 0), &ch))) {
		if (json_object_get(body, "type") || json_object_get(body, "account"))
			rc = req_fail(r, 422, "invalid_field", "a channel's type and account cannot change; create a new one");
		else
			rc = save_channel(r, body, ch);
		json_decref(ch);
	}
	json_decref(body);
	return rc;
}

static int h_channel_get(struct req *r)
{
	json_t *ch;
	int rc = load_channel(r, req_param(r, 0), &ch);
	return rc ? rc : req_json(r, 200, ch);
}

static int h_channel_list(struct req *r)
{
	struct buf sql = BUF_INIT(1 << 14);
	buf_puts(&sql, "SELECT " CHANNEL_COLS " FROM channels WHERE (account IS NULL");
	if (auth_global(r, PERM_READ))
		buf_puts(&sql, " OR 1=1");
	else {
		buf_puts(&sql, " OR (1=1");
		auth_account_filter(r, PERM_READ, "account", &sql);
		buf_puts(&sql, ")");
	}
	buf_puts(&sql, ") ORDER BY created_at, id");
	struct store_rows *rows;
	int rc = store_query(req_db(r), buf_str(&sql), SNOARGS, &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	json_t *items = json_array();
	while (store_next(rows) == 1)
		json_array_append_new(items, channel_row(rows));
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, 0));
}

struct del_ctx {
	const char *table, *id, *account, *actor, *action;
};

static int del_tx(struct store_conn *c, void *arg)
{
	struct del_ctx *x = arg;
	char sql[128];
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", x->table);
	int rc = store_exec(c, sql, SARGS(ST(x->id)), NULL);
	if (!rc && !strcmp(x->table, "topics"))
		rc = store_exec(c, "DELETE FROM subscriptions WHERE topic = $1", SARGS(ST(x->id)), NULL);
	if (!rc && !strcmp(x->table, "channels"))
		rc = store_exec(c, "DELETE FROM subscriptions WHERE channel = $1", SARGS(ST(x->id)), NULL);
	if (!rc)
		rc = audit_append(c, x->actor, x->account, x->action, x->id, NULL, NULL);
	return rc;
}

static int h_channel_delete(struct req *r)
{
	json_t *ch;
	int rc = load_channel(r, req_param(r, 0), &ch);
	if (rc)
		return rc;
	if (!(rc = require_admin(r, jv_str(ch, "account")))) {
		struct del_ctx x = { "channels", req_param(r, 0), jv_str(ch, "account"), api_actor(r), "channel.delete" };
		if (!(rc = store_write(r->srv->store, del_tx, &x)))
			rc = req_raw(r, 204, NULL, "", 0);
	}
	json_decref(ch);
	return rc;
}

/* ---- topics and subscriptions ---- */

static const struct jv_field topic_fields[] = {
	{ "name", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 200, NULL },
	{ "account", JV_STRING, JV_NULLABLE, 12, NULL },
	{ NULL },
};

static const struct jv_field sub_fields[] = {
	{ "channel", JV_STRING, JV_REQUIRED, 40, NULL },
	{ "endpoint", JV_STRING, 0, 2000, NULL },
	{ "filter", JV_OBJECT, JV_NULLABLE, 0, NULL },
	{ NULL },
};

struct topic_ctx {
	char id[40];
	const char *account, *name, *actor, *topic, *channel, *endpoint;
	json_t *filter;
};

static int topic_tx(struct store_conn *c, void *arg)
{
	struct topic_ctx *x = arg;
	int rc = next_id(c, "top", x->id, sizeof(x->id));
	if (!rc)
		rc = store_exec(c, "INSERT INTO topics (id, account, name, created_at) VALUES ($1,$2,$3,$4)",
				SARGS(ST(x->id), ST(x->account), ST(x->name), SI(time_now_ms())), NULL);
	if (!rc)
		rc = audit_append(c, x->actor, x->account, "topic.create", x->id, NULL, NULL);
	return rc;
}

static int sub_tx(struct store_conn *c, void *arg)
{
	struct topic_ctx *x = arg;
	char *f = json_dumps(x->filter ? x->filter : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
	int rc = next_id(c, "sub", x->id, sizeof(x->id));
	if (!rc)
		rc = store_exec(c,
				"INSERT INTO subscriptions (id, topic, channel, endpoint, filter, created_at) VALUES ($1,$2,$3,$4,$5,$6)",
				SARGS(ST(x->id), ST(x->topic), ST(x->channel), ST(x->endpoint), ST(f), SI(time_now_ms())),
				NULL);
	if (!rc)
		rc = audit_append(c, x->actor, x->account, "subscription.create", x->id, NULL, x->filter);
	free(f);
	return rc;
}

static json_t *topic_json(struct store_conn *c, const char *id)
{
	struct store_rows *rows;
	if (store_query(c, "SELECT id, account, name, created_at FROM topics WHERE id = $1", SARGS(ST(id)), &rows))
		return NULL;
	json_t *t = NULL;
	if (store_next(rows) == 1) {
		char ts[32];
		time_fmt_ms(store_int(rows, 3), ts, sizeof(ts));
		t = json_pack("{s:s,s:s?,s:s,s:s}", "id", store_text(rows, 0), "account", store_text(rows, 1), "name",
			      store_text(rows, 2), "created_at", ts);
	}
	store_rows_free(rows);
	if (!t)
		return NULL;
	json_t *subs = json_array();
	if (!store_query(c, "SELECT id, channel, endpoint, filter FROM subscriptions WHERE topic = $1 ORDER BY id",
			 SARGS(ST(id)), &rows)) {
		while (store_next(rows) == 1) {
			json_t *f = json_loads(store_text(rows, 3), 0, NULL);
			json_array_append_new(subs, json_pack("{s:s,s:s,s:s?,s:o}", "id", store_text(rows, 0), "channel",
							      store_text(rows, 1), "endpoint", store_text(rows, 2),
							      "filter", f ? f : json_object()));
		}
		store_rows_free(rows);
	}
	json_object_set_new(t, "subscriptions", subs);
	return t;
}

static int load_topic(struct req *r, const char *id, json_t **out)
{
	*out = topic_json(req_db(r), id);
	if (!*out || !can_see(r, jv_str(*out, "account"), PERM_READ)) {
		json_decref(*out);
		*out = NULL;
		return req_fail(r, 404, "not_found", "topic %.40s not found", id);
	}
	return 0;
}

static int h_topic_create(struct req *r)
{
	json_t *body;
	struct fw_error e;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	struct topic_ctx x = { .account = jv_str(body, "account"), .name = jv_str(body, "name"), .actor = api_actor(r) };
	if ((rc = jv_check(body, topic_fields, &e)))
		rc = req_fail_from(r, &e);
	else if (!(rc = require_admin(r, x.account)) && !(rc = store_write(r->srv->store, topic_tx, &x)))
		rc = req_json(r, 201, topic_json(req_db(r), x.id));
	json_decref(body);
	return rc;
}

static int h_topic_get(struct req *r)
{
	json_t *t;
	int rc = load_topic(r, req_param(r, 0), &t);
	return rc ? rc : req_json(r, 200, t);
}

static int h_topic_list(struct req *r)
{
	struct store_rows *rows;
	int rc = store_query(req_db(r), "SELECT id, account FROM topics ORDER BY created_at, id", SNOARGS, &rows);
	if (rc)
		return rc;
	json_t *ids = json_array();
	while (store_next(rows) == 1)
		if (can_see(r, store_text(rows, 1), PERM_READ))
			json_array_append_new(ids, json_string(store_text(rows, 0)));
	store_rows_free(rows);
	json_t *items = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		json_t *t = topic_json(req_db(r), json_string_value(v));
		if (t)
			json_array_append_new(items, t);
	}
	json_decref(ids);
	return req_json(r, 200, api_list(items, 0));
}

static int h_topic_delete(struct req *r)
{
	json_t *t;
	int rc = load_topic(r, req_param(r, 0), &t);
	if (rc)
		return rc;
	if (!(rc = require_admin(r, jv_str(t, "account")))) {
		struct del_ctx x = { "topics", req_param(r, 0), jv_str(t, "account"), api_actor(r), "topic.delete" };
		if (!(rc = store_write(r->srv->store, del_tx, &x)))
			rc = req_raw(r, 204, NULL, "", 0);
	}
	json_decref(t);
	return rc;
}

static int h_sub_create(struct req *r)
{
	json_t *body = NULL, *t = NULL, *ch = NULL;
	struct fw_error e;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	if ((rc = jv_check(body, sub_fields, &e))) {
		rc = req_fail_from(r, &e);
		goto out;
	}
	if ((rc = ntf_filter_check(json_object_get(body, "filter"), &e))) {
		rc = req_fail_from(r, &e);
		goto out;
	}
	if ((rc = load_topic(r, req_param(r, 0), &t)) || (rc = require_admin(r, jv_str(t, "account"))))
		goto out;
	if ((rc = load_channel(r, jv_str(body, "channel"), &ch))) {
		rc = req_fail(r, 422, "invalid_field", "channel %.40s does not exist", jv_str(body, "channel"));
		goto out;
	}
	const char *ep = jv_str(body, "endpoint");
	if (ep && !strcmp(jv_str(ch, "type"), "webhook") && strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) {
		rc = req_fail(r, 422, "invalid_field", "endpoint of a webhook subscription must be an http(s) URL");
		goto out;
	}
	if (ep && !strcmp(jv_str(ch, "type"), "email") && !strchr(ep, '@')) {
		rc = req_fail(r, 422, "invalid_field", "endpoint of an e-mail subscription must be an e-mail address");
		goto out;
	}
	struct topic_ctx x = { .account = jv_str(t, "account"), .actor = api_actor(r), .topic = req_param(r, 0),
			       .channel = jv_str(body, "channel"), .endpoint = ep, .filter = json_object_get(body, "filter") };
	if (!(rc = store_write(r->srv->store, sub_tx, &x)))
		rc = req_json(r, 201, json_pack("{s:s,s:s,s:s,s:s?,s:O}", "id", x.id, "topic", x.topic, "channel",
						x.channel, "endpoint", ep, "filter",
						x.filter && !json_is_null(x.filter) ? x.filter : json_object()));
out:
	json_decref(ch);
	json_decref(t);
	json_decref(body);
	return rc;
}

static int h_sub_delete(struct req *r)
{
	char *topic = NULL;
	json_t *t = NULL;
	if (store_query_str(req_db(r), "SELECT topic FROM subscriptions WHERE id = $1", SARGS(ST(req_param(r, 0))), &topic))
		return req_fail(r, 404, "not_found", "subscription %.40s not found", req_param(r, 0));
	int rc = load_topic(r, topic, &t);
	free(topic);
	if (rc)
		return rc;
	if (!(rc = require_admin(r, jv_str(t, "account")))) {
		struct del_ctx x = { "subscriptions", req_param(r, 0), jv_str(t, "account"), api_actor(r),
				     "subscription.delete" };
		if (!(rc = store_write(r->srv->store, del_tx, &x)))
			rc = req_raw(r, 204, NULL, "", 0);
	}
	json_decref(t);
	return rc;
}

/* ---- publish ---- */

static const struct jv_field publish_fields[] = {
	{ "event", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 128, NULL },
	{ "account", JV_STRING, JV_NULLABLE, 12, NULL },
	{ "severity", JV_STRING, JV_NULLABLE, 32, NULL },
	{ "data", JV_ANY, 0, 0, NULL },
	{ NULL },
};

struct publish_ctx {
	char topic[64];
	const char *account, *actor;
	json_t *payload;
};

static int publish_tx(struct store_conn *c, void *arg)
{
	struct publish_ctx *x = arg;
	int rc = outbox_add(c, x->topic, x->account, NULL, x->payload);
	if (!rc)
		rc = audit_append(c, x->actor, x->account, "topic.publish", x->topic + 6, NULL, x->payload);
	return rc;
}

static int h_publish(struct req *r)
{
	json_t *body = NULL, *t = NULL;
	struct fw_error e;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	if ((rc = jv_check(body, publish_fields, &e))) {
		rc = req_fail_from(r, &e);
		goto out;
	}
	if ((rc = load_topic(r, req_param(r, 0), &t)))
		goto out;
	const char *account = jv_str(body, "account");
	if (jv_str(t, "account"))
		account = jv_str(t, "account");
	if (account && (rc = auth_require(r, account, PERM_WORK, "account")))
		goto out;
	if (!account && !auth_global(r, PERM_WORK)) {
		rc = req_fail(r, 403, "forbidden", "publishing without an account needs a global operator role");
		goto out;
	}
	struct publish_ctx x = { .account = account, .actor = api_actor(r) };
	snprintf(x.topic, sizeof(x.topic), "topic:%s", req_param(r, 0));
	x.payload = json_pack("{s:O,s:O?,s:O?}", "event", json_object_get(body, "event"), "severity",
			      json_object_get(body, "severity"), "data", json_object_get(body, "data"));
	rc = store_write(r->srv->store, publish_tx, &x);
	json_decref(x.payload);
	if (!rc)
		rc = req_json(r, 202, json_pack("{s:s,s:s}", "topic", req_param(r, 0), "status", "queued"));
out:
	json_decref(t);
	json_decref(body);
	return rc;
}

/* ---- delivery log ---- */

#define NTF_COLS                                                                                             \
	"n.id, n.seq, n.outbox_id, n.channel, n.subscription, n.account, n.event, n.recipient, n.address, n.status," \
	" n.attempts, n.max_attempts, n.next_at, n.last_error, n.created_at, n.delivered_at, o.payload"

static json_t *ntf_row(struct store_conn *c, struct store_rows *rows)
{
	char cr[32], na[32] = "", dl[32] = "";
	time_fmt_ms(store_int(rows, 14), cr, sizeof(cr));
	if (!store_isnull(rows, 12))
		time_fmt_ms(store_int(rows, 12), na, sizeof(na));
	if (!store_isnull(rows, 15))
		time_fmt_ms(store_int(rows, 15), dl, sizeof(dl));
	json_t *p = store_text(rows, 16) ? json_loads(store_text(rows, 16), 0, NULL) : NULL;
	json_t *n = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s,s:s?,s:s?,s:s,s:I,s:I,s:s?,s:s?,s:s,s:s?,s:s?}", "id",
			      store_text(rows, 0), "idempotency_key", store_text(rows, 2), "channel", store_text(rows, 3),
			      "subscription", store_text(rows, 4), "account", store_text(rows, 5), "event",
			      store_text(rows, 6), "recipient", store_text(rows, 7), "address", store_text(rows, 8),
			      "status", store_text(rows, 9), "attempts", (json_int_t)store_int(rows, 10), "max_attempts",
			      (json_int_t)store_int(rows, 11), "next_attempt_at", na[0] ? na : NULL, "last_error",
			      store_text(rows, 13), "created_at", cr, "delivered_at", dl[0] ? dl : NULL, "ticket",
			      jv_str(p, "ticket"));
	json_decref(p);
	json_t *att = json_array();
	struct store_rows *ar;
	if (!store_query(c,
			 "SELECT n, at, status, code, error, duration_ms FROM notification_attempts WHERE notification = $1"
			 " ORDER BY n",
			 SARGS(ST(json_string_value(json_object_get(n, "id")))), &ar)) {
		while (store_next(ar) == 1) {
			char at[32];
			time_fmt_ms(store_int(ar, 1), at, sizeof(at));
			json_t *a = json_pack("{s:I,s:s,s:s,s:s?,s:I}", "n", (json_int_t)store_int(ar, 0), "at", at, "status",
					      store_text(ar, 2), "error", store_text(ar, 4), "duration_ms",
					      (json_int_t)store_int(ar, 5));
			if (!store_isnull(ar, 3))
				json_object_set_new(a, "code", json_integer(store_int(ar, 3)));
			json_array_append_new(att, a);
		}
		store_rows_free(ar);
	}
	json_object_set_new(n, "attempts_log", att);
	return n;
}

static int h_ntf_list(struct req *r)
{
	int limit;
	int64_t cursor;
	int rc = api_page(r, 100, 1000, &limit, &cursor);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 16);
	struct store_arg args[8];
	int n = 0;
	buf_puts(&sql, "SELECT " NTF_COLS " FROM notifications n JOIN outbox o ON o.id = n.outbox_id WHERE 1=1");
	if (!auth_global(r, PERM_READ)) {
		buf_puts(&sql, " AND n.account IS NOT NULL");
		auth_account_filter(r, PERM_WORK, "n.account", &sql);
	}
	static const char *const cols[][2] = { { "status", "n.status" }, { "event", "n.event" }, { "channel", "n.channel" },
					       { "account", "n.account" }, { "idempotency_key", "n.outbox_id" },
					       { "recipient", "n.recipient" } };
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		const char *v = req_arg(r, cols[i][0]);
		if (!v)
			continue;
		args[n++] = ST(v);
		buf_printf(&sql, " AND %s = $%d", cols[i][1], n);
	}
	if (cursor) {
		args[n++] = SI(cursor);
		buf_printf(&sql, " AND n.seq < $%d", n);
	}
	buf_printf(&sql, " ORDER BY n.seq DESC LIMIT %d", limit + 1);
	struct store_rows *rows;
	rc = store_query(req_db(r), buf_str(&sql), args, n, &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	/* Rows first, attempts after: one cursor at a time on the connection. */
	json_t *items = json_array();
	int64_t next = 0, last = 0;
	int count = 0;
	json_t *pending = json_array();
	while (store_next(rows) == 1) {
		if (count == limit) {
			next = last;
			break;
		}
		last = store_int(rows, 1);
		json_array_append_new(pending, json_string(store_text(rows, 0)));
		count++;
	}
	store_rows_free(rows);
	const char *ticket = req_arg(r, "ticket");
	size_t i;
	json_t *v;
	json_array_foreach(pending, i, v) {
		if (store_query(req_db(r), "SELECT " NTF_COLS " FROM notifications n JOIN outbox o ON o.id = n.outbox_id"
					   " WHERE n.id = $1",
				SARGS(ST(json_string_value(v))), &rows))
			continue;
		json_t *row = NULL;
		if (store_next(rows) == 1) {
			row = ntf_row(req_db(r), rows);
		}
		store_rows_free(rows);
		if (row && (!ticket || (jv_str(row, "ticket") && !strcmp(jv_str(row, "ticket"), ticket))))
			json_array_append_new(items, row);
		else
			json_decref(row);
	}
	json_decref(pending);
	return req_json(r, 200, api_list(items, next));
}

static int load_ntf(struct req *r, const char *id, json_t **out)
{
	struct store_rows *rows;
	int rc = store_query(req_db(r), "SELECT " NTF_COLS " FROM notifications n JOIN outbox o ON o.id = n.outbox_id"
					" WHERE n.id = $1",
			     SARGS(ST(id)), &rows);
	if (rc)
		return rc;
	*out = store_next(rows) == 1 ? ntf_row(req_db(r), rows) : NULL;
	store_rows_free(rows);
	const char *acc = *out ? jv_str(*out, "account") : NULL;
	if (!*out || (acc ? !(auth_perms(r, acc) & PERM_WORK) : !auth_global(r, PERM_READ))) {
		json_decref(*out);
		*out = NULL;
		return req_fail(r, 404, "not_found", "notification %.60s not found", id);
	}
	return 0;
}

static int h_ntf_get(struct req *r)
{
	json_t *n;
	int rc = load_ntf(r, req_param(r, 0), &n);
	return rc ? rc : req_json(r, 200, n);
}

struct retry_ctx {
	const char *id, *actor, *account;
};

static int retry_tx(struct store_conn *c, void *arg)
{
	struct retry_ctx *x = arg;
	int64_t changed = 0;
	/* A recipient notification that died for want of a channel or an address is routed again. */
	char *chan = NULL, *email = NULL, *recipient = NULL;
	store_query_str(c, "SELECT channel FROM notifications WHERE id = $1", SARGS(ST(x->id)), &chan);
	store_query_str(c, "SELECT recipient FROM notifications WHERE id = $1", SARGS(ST(x->id)), &recipient);
	if (!chan && recipient) {
		store_query_str(c,
				"SELECT id FROM channels WHERE type = 'email' AND (account = $1 OR account IS NULL)"
				" ORDER BY customer_updates DESC, account IS NULL, id LIMIT 1",
				SARGS(ST(x->account)), &chan);
		store_query_str(c, "SELECT email FROM principals WHERE id = $1 OR name = $1", SARGS(ST(recipient)),
				&email);
		if (chan)
			store_exec(c, "UPDATE notifications SET channel = $2, address = $3 WHERE id = $1",
				   SARGS(ST(x->id), ST(chan), ST(email)), NULL);
	}
	free(chan);
	free(email);
	free(recipient);
	/* A dead notification gets a fresh allowance of attempts; its attempt log is kept. */
	int rc = store_exec(c,
			    "UPDATE notifications SET status = 'pending', next_at = $2, max_attempts = attempts +"
			    " (CASE WHEN max_attempts > 0 THEN max_attempts ELSE 5 END) WHERE id = $1 AND status = 'dead'",
			    SARGS(ST(x->id), SI(time_now_ms())), &changed);
	if (!rc && changed == 0)
		return FW_ECONFLICT;
	if (!rc)
		rc = audit_append(c, x->actor, x->account, "notification.retry", x->id, NULL, NULL);
	if (!rc)
		store_after_commit(c, ntf_wake, NULL);
	return rc;
}

static int h_ntf_retry(struct req *r)
{
	json_t *n;
	int rc = load_ntf(r, req_param(r, 0), &n);
	if (rc)
		return rc;
	/* A recipient notification whose channel or address was missing is routed again. */
	struct retry_ctx x = { req_param(r, 0), api_actor(r), jv_str(n, "account") };
	rc = store_write(r->srv->store, retry_tx, &x);
	if (rc == FW_ECONFLICT)
		rc = req_fail(r, 409, "not_dead", "notification %s is %s; only dead notifications are retried",
			      x.id, jv_str(n, "status"));
	else if (!rc) {
		json_decref(n);
		if ((rc = load_ntf(r, x.id, &n)))
			return rc;
		rc = req_json(r, 202, json_incref(n));
	}
	json_decref(n);
	return rc;
}

const struct route api_notify_routes[] = {
	{ "GET", "/api/v1/channels", h_channel_list, 0 },
	{ "POST", "/api/v1/channels", h_channel_create, 0 },
	{ "GET", "/api/v1/channels/{id}", h_channel_get, 0 },
	{ "PATCH", "/api/v1/channels/{id}", h_channel_patch, 0 },
	{ "DELETE", "/api/v1/channels/{id}", h_channel_delete, 0 },
	{ "GET", "/api/v1/topics", h_topic_list, 0 },
	{ "POST", "/api/v1/topics", h_topic_create, 0 },
	{ "GET", "/api/v1/topics/{id}", h_topic_get, 0 },
	{ "DELETE", "/api/v1/topics/{id}", h_topic_delete, 0 },
	{ "POST", "/api/v1/topics/{id}/subscriptions", h_sub_create, 0 },
	{ "POST", "/api/v1/topics/{id}/publish", h_publish, 0 },
	{ "DELETE", "/api/v1/subscriptions/{id}", h_sub_delete, 0 },
	{ "GET", "/api/v1/notifications", h_ntf_list, 0 },
	{ "GET", "/api/v1/notifications/{id}", h_ntf_get, 0 },
	{ "POST", "/api/v1/notifications/{id}/retry", h_ntf_retry, 0 },
	{ NULL, NULL, NULL, 0 },
};
