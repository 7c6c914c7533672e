/* /healthz, /readyz, /metrics, /api/v1/audit, /api/v1/audit/verify, /api/v1/version. */
#include "api/api.h"
#include "audit/audit.h"
#include "http/auth.h"
#include "http/metrics.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static int h_healthz(struct req *r)
{
	return req_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static int h_readyz(struct req *r)
{
	if (!store_ping(r->srv->store))
		return req_fail(r, 503, "store_unavailable", "the store does not answer");
	return req_json(r, 200, json_pack("{s:s,s:s,s:I}", "status", "ready", "store", store_kind(r->srv->store),
					  "schema_version", (json_int_t)store_schema_version(r->srv->store)));
}

static int h_metrics(struct req *r)
{
	struct buf b = BUF_INIT(8 << 20);
	metrics_render(&b);
	struct store_rows *rows;
	/* Without waiting for answered creates to be applied: the counts may lag them by a moment, and
	 * /metrics must answer while the applier is held up, when the pending gauge below matters. */
	if (!store_query(store_reader_nowait(r->srv->store),
			 "SELECT kind, status, COUNT(*) FROM tickets GROUP BY kind, status", SNOARGS, &rows)) {
		buf_puts(&b, "# HELP flywheel_tickets Tickets by kind and status.\n# TYPE flywheel_tickets gauge\n");
		while (store_next(rows) == 1)
			buf_printf(&b, "flywheel_tickets{kind=\"%s\",status=\"%s\"} %lld\n", store_text(rows, 0),
				   store_text(rows, 1), (long long)store_int(rows, 2));
		store_rows_free(rows);
	}
	uint64_t acked, pending;
	store_async_counts(r->srv->store, &acked, &pending);
	buf_printf(&b,
		   "# HELP flywheel_store_async_writes_total Writes answered once in the redo log (ticket creates"
		   " on SQLite), since start.\n# TYPE flywheel_store_async_writes_total counter\n"
		   "flywheel_store_async_writes_total %llu\n"
		   "# HELP flywheel_store_async_pending Writes answered from the redo log and not yet applied to the"
		   " database.\n# TYPE flywheel_store_async_pending gauge\nflywheel_store_async_pending %llu\n",
		   (unsigned long long)acked, (unsigned long long)pending);
	buf_printf(&b, "# HELP flywheel_build_info Build information.\n# TYPE flywheel_build_info gauge\n"
		       "flywheel_build_info{version=\"%s\",store=\"%s\"} 1\n",
		   FLYWHEEL_VERSION, store_kind(r->srv->store));
	int rc = req_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	buf_release(&b);
	return rc;
}

static int h_version(struct req *r)
{
	return req_json(r, 200, json_pack("{s:s,s:s}", "version", FLYWHEEL_VERSION, "store", store_kind(r->srv->store)));
}

static int h_audit_list(struct req *r)
{
	int limit;
	int64_t cursor;
	int rc = api_page(r, 100, 1000, &limit, &cursor);
	if (rc)
		return rc;
	const char *account = req_arg(r, "account");
	if (!auth_global(r, PERM_AUDIT)) {
		/* Account-scoped auditors and admins see their account's entries only; an account the
		 * caller cannot see at all is not found, like any object of another account. */
		if (!account)
			return req_fail(r, 403, "forbidden",
					"reading the audit log needs the admin or auditor role; give ?account= for an "
					"account you audit");
		if ((rc = auth_require(r, account, PERM_AUDIT, "account")))
			return rc;
	}
	struct store_rows *rows;
	rc = store_query(req_db(r),
			 "SELECT seq, at, actor, account, action, object, before_digest, after_digest, hash FROM audit "
			 "WHERE seq < $1 AND (CAST($2 AS TEXT) IS NULL OR account = $2) AND (CAST($3 AS TEXT) IS NULL OR action = $3) "
			 "AND (CAST($4 AS TEXT) IS NULL OR object = $4) ORDER BY seq DESC LIMIT $5",
			 SARGS(SI(cursor ? cursor : INT64_MAX), ST(account), ST(req_arg(r, "action")),
			       ST(req_arg(r, "object")), SI(limit + 1)),
			 &rows);
	if (rc)
		return rc;
	json_t *items = json_array();
	int n = 0;
	int64_t last = 0, next = 0;
	while (store_next(rows) == 1) {
		if (n++ == limit) {
			next = last;
			break;
		}
		last = store_int(rows, 0);
		char ts[32];
		time_fmt_ms(store_int(rows, 1), ts, sizeof(ts));
		json_array_append_new(items, json_pack("{s:I,s:s,s:s,s:s?,s:s,s:s?,s:s?,s:s?,s:s}", "seq",
						       (json_int_t)last, "at", ts, "actor", store_text(rows, 2),
						       "account", store_text(rows, 3), "action", store_text(rows, 4),
						       "object", store_text(rows, 5), "before_digest", store_text(rows, 6),
						       "after_digest", store_text(rows, 7), "hash", store_text(rows, 8)));
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, next));
}

static int h_audit_verify(struct req *r)
{
	if (!auth_global(r, PERM_AUDIT))
		return req_fail(r, 403, "forbidden", "verifying the audit chain needs the admin or auditor role on *");
	json_t *report = NULL;
	int rc = audit_verify(req_db(r), &report);
	if (rc && !report)
		return rc;
	return req_json(r, 200, report);
}

const struct route api_system_routes[] = {
	{ "GET", "/healthz", h_healthz, ROUTE_PUBLIC },
	{ "GET", "/readyz", h_readyz, ROUTE_PUBLIC },
	{ "GET", "/metrics", h_metrics, ROUTE_PUBLIC },
	{ "GET", "/api/v1/version", h_version, ROUTE_PUBLIC },
	{ "GET", "/api/v1/audit", h_audit_list, 0 },
	{ "GET", "/api/v1/audit/verify", h_audit_verify, 0 },
	{ NULL, NULL, NULL, 0 },
};
