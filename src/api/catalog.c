/* /api/v1/catalog/offerings (everyone reads; global admins write) and /api/v1/invoices. */
#include "api/api.h"
#include "audit/audit.h"
#include "catalog/engagement.h"
#include "catalog/invoice.h"
#include "catalog/offering.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int h_list(struct req *r)
{
	const char *plan = req_arg(r, "plan"), *status = req_arg(r, "status");
	if (plan && !jv_in(plan, cat_plans))
		return req_fail(r, 422, "invalid_parameter",
		                "plan must be accelerate or advanced, got '%.40s'", plan);
	if (status && !jv_in(status, cat_statuses))
		return req_fail(r, 422, "invalid_parameter",
		                "status must be available or retired, got '%.40s'", status);
	return req_json(r, 200, api_list(cat_offering_list(req_db(r), plan, status), 0));
}

static int h_get(struct req *r)
{
	json_t *o;
	if (cat_offering_get(req_db(r), req_param(r, 0), &o))
		return req_fail(r, 404, "not_found", "offering %.64s not found", req_param(r, 0));
	return req_json(r, 200, o);
}

struct put_ctx {
	json_t *o;
	const char *actor;
	bool create;
	struct fw_error err;
};

static int put_tx(struct store_conn *c, void *arg)
{
	struct put_ctx *x = arg;
	json_t *cur = NULL;
	const char *id = jv_str(x->o, "id");
	bool exists = cat_offering_get(c, id, &cur) == 0, changed;
	if (x->create && exists) {
		json_decref(cur);
		return fw_fail(&x->err, 409, "already_exists", "offering %s exists already; PATCH it instead",
		               id);
	}
	int rc = cat_offering_put(c, x->o, "api", time_now_ms(), &changed);
	if (!rc)
		rc = audit_append(c, x->actor, NULL, x->create ? "offering.create" : "offering.update", id,
		                  cur, x->o);
	json_decref(cur);
	return rc;
}

static int write_offering(struct req *r, json_t *o, bool create)
{
	struct fw_error e;
	int rc = cat_offering_check(o, &e);
	if (rc)
		return req_fail_from(r, &e);
	struct put_ctx x = {.o = o, .actor = api_actor(r), .create = create};
	if ((rc = store_write(r->srv->store, put_tx, &x)))
		return x.err.status ? req_fail_from(r, &x.err) : rc;
	json_t *out;
	if (cat_offering_get(req_db(r), jv_str(o, "id"), &out))
		return req_fail(r, 503, "store_unavailable",
		                "the offering was stored but cannot be read back; retry the GET");
	if (create) {
		char loc[128];
		snprintf(loc, sizeof(loc), "/api/v1/catalog/offerings/%s", jv_str(o, "id"));
		req_header(r, "Location", loc);
	}
	return req_json(r, create ? 201 : 200, out);
}

static int need_admin(struct req *r)
{
	if (!auth_global(r, PERM_ADMIN))
		return req_fail(r, 403, "forbidden",
		                "managing the catalog needs the admin role on every account");
	return 0;
}

static int h_create(struct req *r)
{
	json_t *body;
	int rc = need_admin(r);
	if (rc || (rc = req_body_json(r, false, &body)))
		return rc;
	rc = write_offering(r, body, true);
	json_decref(body);
	return rc;
}

static int h_patch(struct req *r)
{
	json_t *body = NULL, *cur = NULL;
	int rc = need_admin(r);
	if (rc || (rc = req_body_json(r, false, &body)))
		return rc;
	if (cat_offering_get(req_db(r), req_param(r, 0), &cur)) {
		rc = req_fail(r, 404, "not_found", "offering %.64s not found", req_param(r, 0));
		goto out;
	}
	if (json_object_get(body, "id") &&
	    !json_equal(json_object_get(body, "id"), json_object_get(cur, "id"))) {
		rc = req_fail(r, 422, "invalid_field",
		              "field 'id' cannot change; create a new offering instead");
		goto out;
	}
	/* rate_minor is derived from rate_per_block; drop the stored one so a new rate is re-derived. */
	json_object_del(cur, "rate_minor");
	json_object_update(cur, body);
	rc = write_offering(r, cur, false);
out:
	json_decref(cur);
	json_decref(body);
	return rc;
}

static bool wants(struct req *r, const char *fmt, const char *mime)
{
	const char *f = req_arg(r, "format"), *accept = req_hdr(r, "Accept");
	if (f)
		return !strcmp(f, fmt);
	return accept && strstr(accept, mime);
}

static int h_invoice(struct req *r)
{
	const char *account = req_arg(r, "account"), *month = req_arg(r, "month"),
	           *format = req_arg(r, "format");
	struct cat_period p;
	if (!account || !api_account_id_ok(account))
		return req_fail(r, 422, "invalid_parameter",
		                "parameter 'account' must be a 12-digit account id");
	if (!month || cat_period_parse(month, &p))
		return req_fail(r, 422, "invalid_parameter",
		                "parameter 'month' must be a month as YYYY-MM, got '%.20s'",
		                month ? month : "");
	if (format && strcmp(format, "json") && strcmp(format, "csv") && strcmp(format, "html"))
		return req_fail(r, 422, "invalid_parameter", "parameter 'format' must be json, csv or html");
	int rc = auth_require(r, account, PERM_READ, "account");
	if (rc)
		return rc;
	json_t *inv = NULL;
	struct fw_error e = {0};
	if ((rc = cat_invoice_build(req_db(r), account, p, &inv, &e)))
		return e.status ? req_fail_from(r, &e) : rc;
	struct buf b = BUF_INIT(8 << 20);
	if (wants(r, "csv", "text/csv")) {
		if (!(rc = cat_invoice_csv(inv, &b))) {
			char cd[96];
			snprintf(cd, sizeof(cd), "attachment; filename=\"statement-%s-%s.csv\"", account,
			         month);
			req_header(r, "Content-Disposition", cd);
			req_raw(r, 200, "text/csv; charset=utf-8", b.data ? b.data : "", b.len);
		}
	} else if (wants(r, "html", "text/html")) {
		if (!(rc = cat_invoice_html(inv, &b)))
			req_raw(r, 200, "text/html; charset=utf-8", b.data ? b.data : "", b.len);
	} else {
		req_json(r, 200, json_incref(inv));
	}
	if (rc)
		req_fail(r, 413, "too_big", "the statement is too large to render; ask for JSON");
	buf_release(&b);
	json_decref(inv);
	return rc;
}

const struct route api_catalog_routes[] = {
    {"GET", "/api/v1/catalog/offerings", h_list, 0},
    {"POST", "/api/v1/catalog/offerings", h_create, 0},
    {"GET", "/api/v1/catalog/offerings/{id}", h_get, 0},
    {"PATCH", "/api/v1/catalog/offerings/{id}", h_patch, 0},
    {"GET", "/api/v1/invoices", h_invoice, 0},
    {NULL, NULL, NULL, 0},
};
