#include "notify/notify.h"
#include "http/server.h"
#include "notify/channel.h"
#include "notify/route.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTF_QCAP 1024
#define NTF_MAX_WORKERS 32
#define NTF_BATCH 200

/* Defaults of a channel's delivery settings (the channel's config overrides them). */
#define DEF_TIMEOUT_MS 5000
#define DEF_MAX_ATTEMPTS 5
#define DEF_BACKOFF_MS 1000
#define DEF_BACKOFF_MAX_MS 3600000

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;  /* dispatcher */
	pthread_cond_t work;  /* workers */
	bool running, woken, started;
	struct store *st;
	pthread_t disp;
	pthread_t workers[NTF_MAX_WORKERS];
	int nworkers;
	char *q[NTF_QCAP];
	size_t qhead, qlen, inflight;
} g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER };

void ntf_wake(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&g.mu);
	g.woken = true;
	pthread_cond_signal(&g.wake);
	pthread_mutex_unlock(&g.mu);
}

static int64_t cfg_int(const json_t *cfg, const char *k, int64_t dflt)
{
	const json_t *v = json_object_get(cfg, k);
	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : dflt;
}

/* ---- fan-out: outbox rows into notifications ---- */

struct target {
	const char *channel, *subscription, *address, *status, *error;
	int64_t max_attempts;
};

static int add_notification(struct store_conn *c, const char *outbox_id, int k, const char *event, const char *account,
			    const char *recipient, const struct target *t, int64_t now)
{
	int64_t seq = 0;
	int rc = store_counter_next(c, "ntf_seq", &seq);
	if (rc)
		return rc;
	char id[64];
	snprintf(id, sizeof(id), "%s.%d", outbox_id, k);
	return store_exec(c,
			  "INSERT INTO notifications (id, seq, outbox_id, channel, subscription, account, event, recipient,"
			  " address, status, attempts, max_attempts, next_at, last_error, created_at)"
			  " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,0,$11,$12,$13,$12)",
			  SARGS(ST(id), SI(seq), ST(outbox_id), ST(t->channel), ST(t->subscription), ST(account),
				ST(event), ST(recipient), ST(t->address), ST(t->status), SI(t->max_attempts), SI(now),
				ST(t->error)),
			  NULL);
}

/* The requester's (or paged user's) e-mail through the account's e-mail channel. When there is no
 * channel or no address the notification is still recorded, as dead with the reason, so it is visible
 * in the delivery log and can be retried once the gap is fixed. */
static int route_recipient(struct store_conn *c, const char *outbox_id, int *k, const char *event,
			   const char *account, const char *recipient, int64_t now)
{
	char *email = NULL, errmsg[200];
	store_query_str(c, "SELECT email FROM principals WHERE id = $1 OR name = $1", SARGS(ST(recipient)), &email);
	struct store_rows *rows;
	int rc = store_query(c,
			     "SELECT id, config FROM channels WHERE type = 'email' AND (account = $1 OR account IS NULL)"
			     " ORDER BY customer_updates DESC, account IS NULL, id LIMIT 1",
			     SARGS(ST(account)), &rows);
	if (rc) {
		free(email);
		return rc;
	}
	struct target t = { .status = "pending", .max_attempts = DEF_MAX_ATTEMPTS };
	char chan[64] = "";
	if (store_next(rows) == 1) {
		snprintf(chan, sizeof(chan), "%s", store_text(rows, 0));
		json_t *cfg = json_loads(store_text(rows, 1), 0, NULL);
		t.max_attempts = cfg_int(cfg, "max_attempts", DEF_MAX_ATTEMPTS);
		json_decref(cfg);
		t.channel = chan;
	}
	store_rows_free(rows);
	t.address = email && *email ? email : NULL;
	if (!t.channel) {
		snprintf(errmsg, sizeof(errmsg),
			 "no e-mail channel for account %s: create one with POST /api/v1/channels, then retry",
			 account ? account : "(none)");
		t.status = "dead";
		t.error = errmsg;
	} else if (!t.address) {
		snprintf(errmsg, sizeof(errmsg), "principal %.64s has no e-mail address: set one, then retry", recipient);
		t.status = "dead";
		t.error = errmsg;
	}
	rc = add_notification(c, outbox_id, (*k)++, event, account, recipient, &t, now);
	free(email);
	return rc;
}

static int route_topics(struct store_conn *c, const char *outbox_id, int *k, const char *topic, const char *event,
			const char *account, const char *severity, int64_t now)
{
	struct store_rows *rows;
	int rc;
	const char *cols = "SELECT s.id, s.channel, s.endpoint, s.filter, ch.config FROM subscriptions s"
			   " JOIN topics t ON t.id = s.topic JOIN channels ch ON ch.id = s.channel";
	char sql[512];
	if (!strncmp(topic, "topic:", 6)) {
		snprintf(sql, sizeof(sql), "%s WHERE t.id = $1 ORDER BY s.id", cols);
		rc = store_query(c, sql, SARGS(ST(topic + 6)), &rows);
	} else {
		snprintf(sql, sizeof(sql), "%s WHERE t.account IS NULL OR t.account = $1 ORDER BY s.id", cols);
		rc = store_query(c, sql, SARGS(ST(account)), &rows);
	}
	if (rc)
		return rc;
	/* Collect first: the inserts below must not interleave with an open cursor. */
	json_t *hits = json_array();
	while (store_next(rows) == 1) {
		json_t *filter = json_loads(store_text(rows, 3), 0, NULL);
		if (ntf_filter_match(filter, event, account, severity)) {
			json_t *cfg = json_loads(store_text(rows, 4), 0, NULL);
			json_array_append_new(hits, json_pack("{s:s,s:s,s:s?,s:I}", "sub", store_text(rows, 0), "chan",
							      store_text(rows, 1), "endpoint", store_text(rows, 2),
							      "max", (json_int_t)cfg_int(cfg, "max_attempts", DEF_MAX_ATTEMPTS)));
			json_decref(cfg);
		}
		json_decref(filter);
	}
	store_rows_free(rows);
	size_t i;
	json_t *h;
	rc = 0;
	json_array_foreach(hits, i, h) {
		struct target t = { .channel = jv_str(h, "chan"), .subscription = jv_str(h, "sub"),
				    .address = jv_str(h, "endpoint"), .status = "pending",
				    .max_attempts = json_integer_value(json_object_get(h, "max")) };
		if ((rc = add_notification(c, outbox_id, (*k)++, event, account, NULL, &t, now)))
			break;
	}
	json_decref(hits);
	return rc;
}

static int dispatch_tx(struct store_conn *c, void *arg)
{
	int *count = arg;
	struct store_rows *rows;
	int rc = store_query(c,
			     "SELECT id, topic, account, recipient, payload FROM outbox WHERE status = 'pending' AND"
			     " (topic LIKE 'ticket.%' OR topic LIKE 'sla.%' OR topic LIKE 'escalation.%' OR"
			     " topic LIKE 'alarm.%' OR topic LIKE 'notify.%' OR topic LIKE 'topic:%')"
			     " ORDER BY created_at, id LIMIT 200",
			     SNOARGS, &rows);
	if (rc)
		return rc;
	json_t *batch = json_array();
	while (store_next(rows) == 1)
		json_array_append_new(batch, json_pack("{s:s,s:s,s:s?,s:s?,s:s}", "id", store_text(rows, 0), "topic",
						       store_text(rows, 1), "account", store_text(rows, 2), "recipient",
						       store_text(rows, 3), "payload", store_text(rows, 4)));
	store_rows_free(rows);
	int64_t now = time_now_ms();
	size_t i;
	json_t *o;
	json_array_foreach(batch, i, o) {
		const char *id = jv_str(o, "id"), *topic = jv_str(o, "topic"), *account = jv_str(o, "account");
		const char *recipient = jv_str(o, "recipient");
		json_t *p = json_loads(jv_str(o, "payload"), 0, NULL);
		const char *event = !strncmp(topic, "topic:", 6) ? jv_str_or(p, "event", "notify.published") : topic;
		char *sev = NULL;
		if (jv_str(p, "severity"))
			sev = strdup(jv_str(p, "severity"));
		else if (jv_str(p, "ticket"))
			store_query_str(c, "SELECT severity FROM tickets WHERE id = $1", SARGS(ST(jv_str(p, "ticket"))),
					&sev);
		int k = 0;
		rc = 0;
		if (recipient)
			rc = route_recipient(c, id, &k, event, account, recipient, now);
		if (!rc)
			rc = route_topics(c, id, &k, topic, event, account, sev, now);
		if (!rc)
			rc = store_exec(c, "UPDATE outbox SET status = $2, attempts = $3 WHERE id = $1",
					SARGS(ST(id), ST(k ? "dispatched" : "no_subscribers"), SI(k)), NULL);
		free(sev);
		json_decref(p);
		if (rc)
			break;
	}
	*count = rc ? 0 : (int)json_array_size(batch);
	json_decref(batch);
	return rc;
}

/* ---- claiming and delivering ---- */

struct claim_ctx {
	size_t room;
	json_t *ids;
};

static int claim_tx(struct store_conn *c, void *arg)
{
	struct claim_ctx *x = arg;
	int64_t now = time_now_ms();
	struct store_rows *rows;
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT id FROM notifications WHERE status IN ('pending','retrying','sending') AND next_at <= $1"
		 " ORDER BY next_at LIMIT %zu",
		 x->room);
	int rc = store_query(c, sql, SARGS(SI(now)), &rows);
	if (rc)
		return rc;
	while (store_next(rows) == 1)
		json_array_append_new(x->ids, json_string(store_text(rows, 0)));
	store_rows_free(rows);
	size_t i;
	json_t *v;
	/* The lease outlives any attempt (timeouts are capped at 60 s); an expired lease means the daemon
	 * died mid-delivery and the row is sent again, with the same idempotency key. */
	json_array_foreach(x->ids, i, v) {
		if ((rc = store_exec(c, "UPDATE notifications SET status = 'sending', next_at = $2 WHERE id = $1",
				     SARGS(ST(json_string_value(v)), SI(now + 120000)), NULL)))
			return rc;
	}
	return 0;
}

struct result_ctx {
	const char *id;
	int attempt;
	int64_t max_attempts, backoff_ms, backoff_max_ms, started, duration;
	struct ntf_result res;
};

static int result_tx(struct store_conn *c, void *arg)
{
	struct result_ctx *x = arg;
	int64_t now = time_now_ms();
	int rc = store_exec(c,
			    "INSERT INTO notification_attempts (notification, n, at, status, code, error, duration_ms)"
			    " VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (notification, n) DO NOTHING",
			    SARGS(ST(x->id), SI(x->attempt), SI(x->started), ST(x->res.ok ? "delivered" : "failed"),
				  x->res.code ? SI(x->res.code) : SN, ST(x->res.ok ? NULL : x->res.error), SI(x->duration)),
			    NULL);
	if (rc)
		return rc;
	if (x->res.ok)
		return store_exec(c,
				  "UPDATE notifications SET status = 'delivered', attempts = $2, delivered_at = $3,"
				  " next_at = NULL, last_error = NULL WHERE id = $1",
				  SARGS(ST(x->id), SI(x->attempt), SI(now)), NULL);
	bool dead = x->res.permanent || x->attempt >= x->max_attempts;
	char hex[9] = "0";
	crypto_random_hex(4, hex, sizeof(hex));
	double r = (double)strtoul(hex, NULL, 16) / 4294967296.0;
	int64_t next = now + ntf_backoff_ms(x->attempt, x->backoff_ms, x->backoff_max_ms, r);
	return store_exec(c,
			  "UPDATE notifications SET status = $2, attempts = $3, next_at = $4, last_error = $5 WHERE id = $1",
			  SARGS(ST(x->id), ST(dead ? "dead" : "retrying"), SI(x->attempt), dead ? SN : SI(next),
				ST(x->res.error)),
			  NULL);
}

static char *html_escape(const char *s)
{
	struct buf b = BUF_INIT(1 << 20);
	for (; s && *s; s++) {
		switch (*s) {
		case '<': buf_puts(&b, "&lt;"); break;
		case '>': buf_puts(&b, "&gt;"); break;
		case '&': buf_puts(&b, "&amp;"); break;
		case '"': buf_puts(&b, "&quot;"); break;
		default: buf_append(&b, s, 1);
		}
	}
	return buf_detach(&b);
}

void ntf_render_mail(const char *event, const json_t *p, char **subject, char **text, char **html)
{
	struct buf s = BUF_INIT(1024), t = BUF_INIT(1 << 20);
	const char *ticket = jv_str(p, "ticket"), *title = jv_str_or(p, "title", "");
	const json_t *d = json_object_get(p, "detail");
	if (!strcmp(event, "ticket.status_changed")) {
		buf_printf(&s, "[Flywheel] %s is now %s: %s", ticket, jv_str_or(p, "status", "?"), title);
		buf_printf(&t, "Your ticket %s (%s) moved from %s to %s.\n", ticket, title, jv_str_or(d, "from", "?"),
			   jv_str_or(d, "to", jv_str_or(p, "status", "?")));
		if (jv_str(d, "note"))
			buf_printf(&t, "\nNote: %s\n", jv_str(d, "note"));
	} else if (!strcmp(event, "ticket.commented")) {
		buf_printf(&s, "[Flywheel] New comment on %s: %s", ticket, title);
		buf_printf(&t, "A new comment was added to your ticket %s (%s):\n\n%s\n", ticket, title,
			   jv_str_or(d, "body", ""));
	} else if (!strncmp(event, "sla.", 4)) {
		buf_printf(&s, "[Flywheel] SLA %s on %s: %s %s", event + 4, ticket ? ticket : "?",
			   jv_str_or(p, "clock", ""), jv_str_or(p, "type", ""));
		buf_printf(&t, "The %s %s clock of %s (%s) %s. Due: %s.\n", jv_str_or(p, "type", "sla"),
			   jv_str_or(p, "clock", ""), ticket ? ticket : "?", title,
			   !strcmp(event, "sla.breached") ? "is breached" : "passed a warning threshold",
			   jv_str_or(p, "due", "?"));
	} else if (!strcmp(event, "escalation.page")) {
		buf_printf(&s, "[Flywheel] Paged: %s %s", ticket ? ticket : "", title);
		buf_printf(&t, "You are paged for %s (%s), escalation level %lld. Acknowledge it to stop escalation.\n",
			   ticket ? ticket : "?", title, (long long)json_integer_value(json_object_get(p, "level")));
	} else {
		buf_printf(&s, "[Flywheel] %s%s%s", event, ticket ? " " : "", ticket ? ticket : "");
		char *j = json_dumps(p, JSON_INDENT(2) | JSON_SORT_KEYS);
		buf_printf(&t, "Event %s:\n\n%s\n", event, j ? j : "{}");
		free(j);
	}
	char *esc = html_escape(buf_str(&t));
	struct buf h = BUF_INIT(1 << 21);
	buf_printf(&h, "<html><body><p style=\"white-space:pre-wrap\">%s</p></body></html>", esc);
	free(esc);
	*subject = buf_detach(&s);
	*text = buf_detach(&t);
	*html = buf_detach(&h);
}

static void deliver(const char *id)
{
	struct store_conn *c = store_reader(g.st);
	struct store_rows *rows;
	if (store_query(c,
			"SELECT n.outbox_id, n.event, n.account, n.address, n.attempts, n.max_attempts, o.payload,"
			" o.created_at, ch.type, ch.config, ch.secret, n.channel FROM notifications n"
			" JOIN outbox o ON o.id = n.outbox_id LEFT JOIN channels ch ON ch.id = n.channel WHERE n.id = $1",
			SARGS(ST(id)), &rows))
		return;
	if (store_next(rows) != 1) {
		store_rows_free(rows);
		return;
	}
	char key[64], event[128], account[16] = "", type[16] = "", chan[64] = "";
	snprintf(key, sizeof(key), "%s", store_text(rows, 0));
	snprintf(event, sizeof(event), "%s", store_text(rows, 1));
	if (store_text(rows, 2))
		snprintf(account, sizeof(account), "%s", store_text(rows, 2));
	char *address = store_text(rows, 3) ? strdup(store_text(rows, 3)) : NULL;
	struct result_ctx x = { .id = id, .attempt = (int)store_int(rows, 4) + 1,
				.max_attempts = store_int(rows, 5) };
	json_t *payload = json_loads(store_text(rows, 6), 0, NULL);
	int64_t created = store_int(rows, 7);
	if (store_text(rows, 8))
		snprintf(type, sizeof(type), "%s", store_text(rows, 8));
	json_t *cfg = store_text(rows, 9) ? json_loads(store_text(rows, 9), 0, NULL) : NULL;
	char *secret = store_text(rows, 10) ? strdup(store_text(rows, 10)) : NULL;
	if (store_text(rows, 11))
		snprintf(chan, sizeof(chan), "%s", store_text(rows, 11));
	store_rows_free(rows);

	x.backoff_ms = cfg_int(cfg, "backoff_ms", DEF_BACKOFF_MS);
	x.backoff_max_ms = cfg_int(cfg, "backoff_max_ms", DEF_BACKOFF_MAX_MS);
	long timeout = (long)cfg_int(cfg, "timeout_ms", DEF_TIMEOUT_MS);
	if (timeout > 60000)
		timeout = 60000;
	x.started = time_now_ms();
	int64_t t0 = time_now_ms();
	if (!type[0]) {
		snprintf(x.res.error, sizeof(x.res.error), "channel %s no longer exists", chan[0] ? chan : "(none)");
		x.res.permanent = true;
	} else if (!strcmp(type, "webhook")) {
		char ts[32];
		time_fmt_ms(created, ts, sizeof(ts));
		json_t *body = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:O}", "id", id, "idempotency_key", key, "event", event,
					 "account", account[0] ? account : NULL, "created_at", ts, "data",
					 payload ? payload : json_null());
		char *b = json_dumps(body, JSON_COMPACT);
		const char *url = address ? address : jv_str(cfg, "url");
		if (!url) {
			snprintf(x.res.error, sizeof(x.res.error), "channel %s has no url", chan);
			x.res.permanent = true;
		} else {
			ntf_webhook_send(url, secret, key, event, b, timeout, &x.res);
		}
		free(b);
		json_decref(body);
	} else if (!strcmp(type, "email")) {
		struct ntf_smtp s = { .url = jv_str(cfg, "smtp_url"), .from = jv_str_or(cfg, "from", "flywheel@localhost"),
				      .username = jv_str(cfg, "username"), .password = secret,
				      .starttls = json_is_true(json_object_get(cfg, "starttls")),
				      .insecure = json_is_true(json_object_get(cfg, "insecure_tls")), .timeout_ms = timeout };
		const char *to = address ? address : jv_str(cfg, "to");
		if (!to || !s.url) {
			snprintf(x.res.error, sizeof(x.res.error), "no recipient address or smtp_url for channel %s", chan);
			x.res.permanent = true;
		} else {
			char *subj, *text, *html;
			ntf_render_mail(event, payload, &subj, &text, &html);
			ntf_smtp_send(&s, to, subj, text, html, id, key, &x.res);
			free(subj);
			free(text);
			free(html);
		}
	} else {
		snprintf(x.res.error, sizeof(x.res.error), "unknown channel type %s", type);
		x.res.permanent = true;
	}
	x.duration = time_now_ms() - t0;
	if (!x.res.ok)
		log_msg(LOG_WARN, "notification %s attempt %d failed: %s", id, x.attempt, x.res.error);
	if (store_write(g.st, result_tx, &x))
		log_msg(LOG_ERROR, "notification %s: cannot record attempt %d", id, x.attempt);
	if (secret) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
	free(address);
	json_decref(cfg);
	json_decref(payload);
}

static void *worker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.mu);
	for (;;) {
		while (g.running && g.qlen == 0)
			pthread_cond_wait(&g.work, &g.mu);
		if (!g.running && g.qlen == 0)
			break;
		char *id = g.q[g.qhead];
		g.qhead = (g.qhead + 1) % NTF_QCAP;
		g.qlen--;
		g.inflight++;
		pthread_mutex_unlock(&g.mu);
		deliver(id);
		free(id);
		pthread_mutex_lock(&g.mu);
		g.inflight--;
		g.woken = true; /* a finished attempt may free room for more claims */
		pthread_cond_signal(&g.wake);
	}
	pthread_mutex_unlock(&g.mu);
	return NULL;
}

static void *dispatcher_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&g.mu);
		bool run = g.running;
		size_t room = NTF_QCAP - g.qlen - g.inflight;
		pthread_mutex_unlock(&g.mu);
		if (!run)
			break;
		int n = 0;
		if (store_write(g.st, dispatch_tx, &n))
			log_msg(LOG_ERROR, "notify: cannot fan out the outbox; will retry");
		size_t claimed = 0;
		if (room > NTF_BATCH)
			room = NTF_BATCH;
		if (room > 0) {
			struct claim_ctx x = { room, json_array() };
			if (store_write(g.st, claim_tx, &x) == 0) {
				pthread_mutex_lock(&g.mu);
				size_t i;
				json_t *v;
				json_array_foreach(x.ids, i, v) {
					g.q[(g.qhead + g.qlen) % NTF_QCAP] = strdup(json_string_value(v));
					g.qlen++;
				}
				claimed = json_array_size(x.ids);
				pthread_cond_broadcast(&g.work);
				pthread_mutex_unlock(&g.mu);
			} else {
				/* A failed claim transaction rolled back: rows stay claimable. */
				log_msg(LOG_ERROR, "notify: cannot claim due notifications; will retry");
			}
			json_decref(x.ids);
		}
		pthread_mutex_lock(&g.mu);
		if (g.running && !g.woken && n < NTF_BATCH && claimed < room) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&g.wake, &g.mu, &ts);
		}
		g.woken = false;
		pthread_mutex_unlock(&g.mu);
	}
	return NULL;
}

/* Rows claimed but never started go back to the queue at once instead of waiting for their lease. */
static int release_tx(struct store_conn *c, void *arg)
{
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)arg, i, v) {
		int rc = store_exec(c,
				    "UPDATE notifications SET status = 'retrying', next_at = $2 WHERE id = $1 AND"
				    " status = 'sending'",
				    SARGS(ST(json_string_value(v)), SI(time_now_ms())), NULL);
		if (rc)
			return rc;
	}
	return 0;
}

int ntf_start(struct server *s)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	g.st = s->store;
	g.running = true;
	const char *w = getenv("FLYWHEEL_NOTIFY_WORKERS");
	g.nworkers = w ? atoi(w) : 8;
	if (g.nworkers < 1)
		g.nworkers = 1;
	if (g.nworkers > NTF_MAX_WORKERS)
		g.nworkers = NTF_MAX_WORKERS;
	for (int i = 0; i < g.nworkers; i++)
		if (pthread_create(&g.workers[i], NULL, worker_main, NULL))
			return FW_EIO;
	if (pthread_create(&g.disp, NULL, dispatcher_main, NULL))
		return FW_EIO;
	g.started = true;
	return 0;
}

void ntf_stop(void)
{
	if (!g.started)
		return;
	pthread_mutex_lock(&g.mu);
	g.running = false;
	pthread_cond_broadcast(&g.wake);
	pthread_cond_broadcast(&g.work);
	pthread_mutex_unlock(&g.mu);
	pthread_join(g.disp, NULL);
	/* Queued but unstarted rows stay 'sending' in the store; their lease expires and the next start
	 * sends them. */
	pthread_mutex_lock(&g.mu);
	json_t *ids = json_array();
	while (g.qlen) {
		json_array_append_new(ids, json_string(g.q[g.qhead]));
		free(g.q[g.qhead]);
		g.qhead = (g.qhead + 1) % NTF_QCAP;
		g.qlen--;
	}
	pthread_mutex_unlock(&g.mu);
	if (json_array_size(ids))
		store_write(g.st, release_tx, ids);
	json_decref(ids);
	for (int i = 0; i < g.nworkers; i++)
		pthread_join(g.workers[i], NULL);
	g.started = false;
}
