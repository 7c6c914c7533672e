/* /api/v1/accounts, /api/v1/principals, /api/v1/tokens. */
#include "api/api.h"
#include "audit/audit.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/jsonv.h"
#include "util/timeutil.h"
#include "util/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tiers[] = { "developer", "business", "enterprise", "enterprise_onramp", NULL };
static const char *const plans[] = { "accelerate", "advanced", NULL };

static json_t *account_row(struct store_rows *rows)
{
	char c[32], u[32];
	time_fmt_ms(store_int(rows, 6), c, sizeof(c));
	time_fmt_ms(store_int(rows, 7), u, sizeof(u));
	return json_pack("{s:s,s:s,s:s?,s:s,s:s,s:s?,s:s,s:s}", "id", store_text(rows, 0), "name", store_text(rows, 1),
			 "parent", store_text(rows, 2), "tier", store_text(rows, 3), "timezone", store_text(rows, 4),
			 "plan", store_text(rows, 5), "created_at", c, "updated_at", u);
}

#define ACCOUNT_COLS "id, name, parent, tier, timezone, plan, created_at, updated_at"

static const struct jv_field account_fields[] = {
	{ "id", JV_STRING, JV_REQUIRED, 12, NULL },
	{ "name", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 200, NULL },
	{ "parent", JV_STRING, JV_NULLABLE, 12, NULL },
	{ "tier", JV_STRING, 0, 0, tiers },
	{ "timezone", JV_STRING, 0, 64, NULL },
	{ "plan", JV_STRING, JV_NULLABLE, 0, plans },
	{ NULL },
};

struct account_ctx {
	json_t *a;
	const char *actor;
	bool update;
	struct fw_error err;
};

static int account_tx(struct store_conn *c, void *arg)
{
	store_after_commit(c, auth_invalidate, NULL);
	struct account_ctx *x = arg;
	const char *id = jv_str(x->a, "id"), *parent = jv_str(x->a, "parent");
	int64_t now = time_now_ms(), n = 0;
	if (parent) {
		char *pp = NULL;
		if (store_query_str(c, "SELECT parent FROM accounts WHERE id = $1", SARGS(ST(parent)), &pp))
			return fw_fail(&x->err, 422, "invalid_field", "parent account %s does not exist", parent);
		bool nested = pp && *pp;
		free(pp);
		if (nested)
			return fw_fail(&x->err, 422, "invalid_field",
				       "parent account %s is itself a member account; organizations are one level deep",
				       parent);
		if (!strcmp(parent, id))
			return fw_fail(&x->err, 422, "invalid_field", "an account cannot be its own parent");
		int64_t members = 0;
		if (x->update &&
		    !store_query_int(c, "SELECT COUNT(*) FROM accounts WHERE parent = $1", SARGS(ST(id)), &members) &&
		    members > 0)
			return fw_fail(&x->err, 422, "invalid_field",
				       "account %s has %lld member account%s; a management account cannot become a member "
				       "(organizations are one level deep)",
				       id, (long long)members, members == 1 ? "" : "s");
	}
	int rc;
	if (x->update) {
		rc = store_exec(c, "UPDATE accounts SET name=$2, parent=$3, tier=$4, timezone=$5, plan=$6, updated_at=$7 "
				   "WHERE id=$1",
				SARGS(ST(id), ST(jv_str(x->a, "name")), ST(parent), ST(jv_str(x->a, "tier")),
				      ST(jv_str(x->a, "timezone")), ST(jv_str(x->a, "plan")), SI(now)),
				&n);
		if (!rc && n == 0)
			return fw_fail(&x->err, 404, "not_found", "account %s not found", id);
	} else {
		rc = store_exec(c, "INSERT INTO accounts (" ACCOUNT_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$7)",
				SARGS(ST(id), ST(jv_str(x->a, "name")), ST(parent), ST(jv_str(x->a, "tier")),
				      ST(jv_str(x->a, "timezone")), ST(jv_str(x->a, "plan")), SI(now)),
				NULL);
		if (rc == FW_ECONFLICT)
			return fw_fail(&x->err, 409, "already_exists", "account %s exists already", id);
	}
	if (!rc)
		rc = audit_append(c, x->actor, id, x->update ? "account.update" : "account.create", id, NULL, x->a);
	return rc;
}

static int validate_account(struct req *r, json_t *a)
{
	if (!api_account_id_ok(jv_str(a, "id")))
		return req_fail(r, 422, "invalid_field", "field 'id' must be a 12-digit account id");
	const char *p = jv_str(a, "parent");
	if (p && !api_account_id_ok(p))
		return req_fail(r, 422, "invalid_field", "field 'parent' must be a 12-digit account id or null");
	if (!tz_valid(jv_str(a, "timezone")))
		return req_fail(r, 422, "invalid_field", "field 'timezone' '%.64s' is not a known IANA time zone",
				jv_str(a, "timezone"));
	return 0;
}

static int write_account(struct req *r, json_t *a, bool update)
{
	struct account_ctx x = { .a = a, .actor = api_actor(r), .update = update };
	int rc = store_write(r->srv->store, account_tx, &x);
	if (rc)
		return x.err.status ? req_fail_from(r, &x.err) : rc;
	struct store_rows *rows;
	rc = store_query(req_db(r), "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = $1", SARGS(ST(jv_str(a, "id"))),
			 &rows);
	if (rc)
		return rc;
	if (store_next(rows) == 1)
		req_json(r, update ? 200 : 201, account_row(rows));
	store_rows_free(rows);
	return 0;
}

static int h_account_create(struct req *r)
{
	json_t *body;
	int rc = req_body_fields(r, account_fields, false, &body);
	if (rc)
		return rc;
	if (!json_object_get(body, "tier"))
		json_object_set_new(body, "tier", json_string("business"));
	if (!json_object_get(body, "timezone"))
		json_object_set_new(body, "timezone", json_string("UTC"));
	if (!rc)
		rc = validate_account(r, body);
	/* Creating accounts is for global admins, or an organization's admins creating members. */
	if (!rc && !auth_global(r, PERM_ADMIN)) {
		const char *p = jv_str(body, "parent");
		if (!p || !(auth_perms(r, p) & PERM_ADMIN))
			rc = req_fail(r, 403, "forbidden",
				      "creating accounts needs the admin role on every account, or on the parent "
				      "(management) account");
	}
	if (!rc)
		rc = write_account(r, body, false);
	json_decref(body);
	return rc;
}

static int h_account_update(struct req *r)
{
	json_t *body, *cur = NULL;
	static const struct jv_field fields[] = {
		{ "name", JV_STRING, JV_NONEMPTY, 200, NULL }, { "tier", JV_STRING, 0, 0, tiers },
		{ "timezone", JV_STRING, 0, 64, NULL },         { "plan", JV_STRING, JV_NULLABLE, 0, plans },
		{ "parent", JV_STRING, JV_NULLABLE, 12, NULL }, { NULL },
	};
	const char *id = req_param(r, 0);
	int rc = req_body_fields(r, fields, false, &body);
	if (rc)
		return rc;
	if ((rc = auth_require(r, id, PERM_ADMIN, "account")))
		goto out;
	struct store_rows *rows;
	if ((rc = store_query(req_db(r), "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = $1", SARGS(ST(id)), &rows)))
		goto out;
	if (store_next(rows) == 1)
		cur = account_row(rows);
	store_rows_free(rows);
	if (!cur) {
		rc = req_fail(r, 404, "not_found", "account %.20s not found", id);
		goto out;
	}
	if (json_object_get(body, "parent") && !auth_global(r, PERM_ADMIN)) {
		rc = req_fail(r, 403, "forbidden", "moving an account between organizations needs a global admin");
		goto out;
	}
	json_object_update(cur, body);
	if (json_is_null(json_object_get(cur, "parent")))
		json_object_del(cur, "parent");
	if (!(rc = validate_account(r, cur)))
		rc = write_account(r, cur, true);
out:
	json_decref(cur);
	json_decref(body);
	return rc;
}

static int h_account_get(struct req *r)
{
	const char *id = req_param(r, 0);
	if (!(auth_perms(r, id) & PERM_READ))
		return req_fail(r, 404, "not_found", "account %.20s not found", id);
	struct store_rows *rows;
	int rc = store_query(req_db(r), "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = $1", SARGS(ST(id)), &rows);
	if (rc)
		return rc;
	if (store_next(rows) == 1) {
		json_t *a = account_row(rows);
		json_t *members = json_array();
		store_rows_free(rows);
		if (!store_query(req_db(r), "SELECT id FROM accounts WHERE parent = $1 ORDER BY id", SARGS(ST(id)), &rows)) {
			while (store_next(rows) == 1)
				json_array_append_new(members, json_string(store_text(rows, 0)));
			store_rows_free(rows);
		}
		json_object_set_new(a, "members", members);
		return req_json(r, 200, a);
	}
	store_rows_free(rows);
	return req_fail(r, 404, "not_found", "account %.20s not found", id);
}

static int h_account_list(struct req *r)
{
	int limit;
	int64_t cursor;
	int rc = api_page(r, 100, 1000, &limit, &cursor);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 16);
	char after[24];
	snprintf(after, sizeof(after), "%012lld", (long long)cursor);
	buf_puts(&sql, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id > $1");
	if (!auth_global(r, PERM_READ)) {
		/* Visible: accounts bound directly, and members of bound management accounts. */
		struct buf f = BUF_INIT(1 << 15);
		auth_account_filter(r, PERM_READ, "id", &f);
		buf_puts(&sql, buf_str(&f));
		buf_release(&f);
	}
	const char *parent = req_arg(r, "parent");
	if (parent && api_account_id_ok(parent))
		buf_printf(&sql, " AND parent = '%s'", parent);
	buf_printf(&sql, " ORDER BY id LIMIT %d", limit + 1);
	struct store_rows *rows;
	rc = store_query(req_db(r), buf_str(&sql), SARGS(ST(after)), &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	json_t *items = json_array();
	int n = 0;
	int64_t next = 0;
	while (store_next(rows) == 1) {
		if (n++ == limit) {
			next = strtoll(json_string_value(json_object_get(json_array_get(items, (size_t)limit - 1), "id")),
				       NULL, 10);
			break;
		}
		json_array_append_new(items, account_row(rows));
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, next));
}

/* ---- principals ---- */

static const struct jv_field principal_fields[] = {
	{ "name", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 80, NULL },
	{ "email", JV_STRING, JV_NULLABLE, 254, NULL },
	{ "roles", JV_ARRAY, 0, 100, NULL },
	{ NULL },
};

struct principal_ctx {
	json_t *p;
	const char *actor;
	struct fw_error err;
};

static int principal_tx(struct store_conn *c, void *arg)
{
	store_after_commit(c, auth_invalidate, NULL);
	struct principal_ctx *x = arg;
	const char *id = jv_str(x->p, "id");
	int rc = store_exec(c, "INSERT INTO principals (id, name, email, created_at, disabled) VALUES ($1,$2,$3,$4,0)",
			    SARGS(ST(id), ST(jv_str(x->p, "name")), ST(jv_str(x->p, "email")), SI(time_now_ms())),
			    NULL);
	if (rc == FW_ECONFLICT)
		return fw_fail(&x->err, 409, "already_exists", "a principal named '%s' exists already",
			       jv_str(x->p, "name"));
	json_t *roles = json_object_get(x->p, "roles");
	for (size_t i = 0; !rc && i < json_array_size(roles); i++) {
		json_t *b = json_array_get(roles, i);
		const char *acc = jv_str(b, "account");
		int64_t exists = 0;
		if (strcmp(acc, "*") && store_query_int(c, "SELECT 1 FROM accounts WHERE id = $1", SARGS(ST(acc)), &exists))
			return fw_fail(&x->err, 422, "invalid_field", "roles[%zu]: account %s does not exist", i, acc);
		rc = store_exec(c, "INSERT INTO role_bindings (principal, account, role) VALUES ($1,$2,$3) "
				   "ON CONFLICT DO NOTHING",
				SARGS(ST(id), ST(acc), ST(jv_str(b, "role"))), NULL);
	}
	if (!rc)
		rc = audit_append(c, x->actor, NULL, "principal.create", id, NULL, x->p);
	return rc;
}

/* Every role binding must be one the caller could hold themselves: admin on that account. */
static int check_roles(struct req *r, json_t *roles)
{
	for (size_t i = 0; i < json_array_size(roles); i++) {
		json_t *b = json_array_get(roles, i);
		const char *acc = jv_str(b, "account"), *role = jv_str(b, "role");
		if (!json_is_object(b) || !acc || !role || json_object_size(b) != 2)
			return req_fail(r, 422, "invalid_field",
					"roles[%zu] must be {\"account\":\"<12 digits or *>\",\"role\":\"<role>\"}", i);
		if (!jv_in(role, auth_roles)) {
			char list[200];
			jv_join(auth_roles, list, sizeof(list));
			return req_fail(r, 422, "invalid_field", "roles[%zu].role '%.40s' is not a role; roles: %s", i,
					role, list);
		}
		if (strcmp(acc, "*") && !api_account_id_ok(acc))
			return req_fail(r, 422, "invalid_field", "roles[%zu].account must be 12 digits or \"*\"", i);
		/* A global admin may grant anything; whether the account exists is checked in the write. */
		if (!auth_global(r, PERM_ADMIN) && (!strcmp(acc, "*") || !(auth_perms(r, acc) & PERM_ADMIN)))
			return req_fail(r, 403, "forbidden", "granting roles on account %s needs the admin role there",
					acc);
	}
	return 0;
}

static json_t *principal_json(struct store_conn *c, const char *id)
{
	struct store_rows *rows;
	json_t *p = NULL;
	if (store_query(c, "SELECT id, name, email, created_at, disabled FROM principals WHERE id = $1", SARGS(ST(id)),
			&rows))
		return NULL;
	if (store_next(rows) == 1) {
		char ts[32];
		time_fmt_ms(store_int(rows, 3), ts, sizeof(ts));
		p = json_pack("{s:s,s:s,s:s?,s:s,s:b}", "id", store_text(rows, 0), "name", store_text(rows, 1), "email",
			      store_text(rows, 2), "created_at", ts, "disabled", (int)store_int(rows, 4));
	}
	store_rows_free(rows);
	if (!p)
		return NULL;
	json_t *roles = json_array();
	if (!store_query(c, "SELECT account, role FROM role_bindings WHERE principal = $1 ORDER BY account, role",
			 SARGS(ST(id)), &rows)) {
		while (store_next(rows) == 1)
			json_array_append_new(roles, json_pack("{s:s,s:s}", "account", store_text(rows, 0), "role",
							       store_text(rows, 1)));
		store_rows_free(rows);
	}
	json_object_set_new(p, "roles", roles);
	return p;
}

static int h_principal_create(struct req *r)
{
	json_t *body;
	int rc = req_body_fields(r, principal_fields, false, &body);
	if (rc)
		return rc;
	json_t *roles = json_object_get(body, "roles");
	rc = check_roles(r, roles);
	if (!rc && !json_array_size(roles) && !auth_global(r, PERM_ADMIN))
		rc = req_fail(r, 403, "forbidden", "only a global admin may create a principal without roles");
	if (!rc) {
		char hex[17], id[24];
		crypto_random_hex(8, hex, sizeof(hex));
		snprintf(id, sizeof(id), "prn-%s", hex);
		json_object_set_new(body, "id", json_string(id));
		struct principal_ctx x = { .p = body, .actor = api_actor(r) };
		rc = store_write(r->srv->store, principal_tx, &x);
		if (rc)
			rc = x.err.status ? req_fail_from(r, &x.err) : rc;
		else
			req_json(r, 201, principal_json(req_db(r), id));
	}
	json_decref(body);
	return rc;
}

/* A principal is visible to global admins, to itself, and to admins of an account it is bound to. */
static bool principal_visible(struct req *r, json_t *p, unsigned perm)
{
	if (auth_global(r, perm) || !strcmp(jv_str(p, "id"), r->auth->principal))
		return true;
	json_t *roles = json_object_get(p, "roles");
	for (size_t i = 0; i < json_array_size(roles); i++) {
		const char *acc = jv_str(json_array_get(roles, i), "account");
		if (strcmp(acc, "*") && (auth_perms(r, acc) & perm))
			return true;
	}
	return false;
}

static int h_principal_get(struct req *r)
{
	json_t *p = principal_json(req_db(r), req_param(r, 0));
	if (!p || !principal_visible(r, p, PERM_ADMIN)) {
		json_decref(p);
		return req_fail(r, 404, "not_found", "principal %.40s not found", req_param(r, 0));
	}
	return req_json(r, 200, p);
}

static int h_principal_list(struct req *r)
{
	struct store_rows *rows;
	int rc = store_query(req_db(r), "SELECT id FROM principals ORDER BY name LIMIT 10000", SNOARGS, &rows);
	if (rc)
		return rc;
	json_t *items = json_array();
	while (store_next(rows) == 1) {
		json_t *p = principal_json(req_db(r), store_text(rows, 0));
		if (p && principal_visible(r, p, PERM_ADMIN))
			json_array_append_new(items, p);
		else
			json_decref(p);
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, 0));
}

struct bind_ctx {
	const char *principal, *actor;
	json_t *roles;
	bool remove;
};

static int bind_tx(struct store_conn *c, void *arg)
{
	store_after_commit(c, auth_invalidate, NULL);
	struct bind_ctx *x = arg;
	int rc = 0;
	for (size_t i = 0; !rc && i < json_array_size(x->roles); i++) {
		json_t *b = json_array_get(x->roles, i);
		if (x->remove)
			rc = store_exec(c, "DELETE FROM role_bindings WHERE principal=$1 AND account=$2 AND role=$3",
					SARGS(ST(x->principal), ST(jv_str(b, "account")), ST(jv_str(b, "role"))), NULL);
		else
			rc = store_exec(c, "INSERT INTO role_bindings (principal, account, role) VALUES ($1,$2,$3) "
					   "ON CONFLICT DO NOTHING",
					SARGS(ST(x->principal), ST(jv_str(b, "account")), ST(jv_str(b, "role"))), NULL);
	}
	if (!rc)
		rc = audit_append(c, x->actor, NULL, x->remove ? "principal.unbind" : "principal.bind", x->principal,
				  NULL, x->roles);
	return rc;
}

static int h_principal_roles(struct req *r)
{
	json_t *body = NULL, *p = principal_json(req_db(r), req_param(r, 0));
	int rc;
	if (!p || !principal_visible(r, p, PERM_ADMIN)) {
		rc = req_fail(r, 404, "not_found", "principal %.40s not found", req_param(r, 0));
		goto out;
	}
	if ((rc = req_body_json(r, true, &body)))
		goto out;
	json_t *roles = json_is_array(body) ? body : json_object_get(body, "roles");
	if (!json_is_array(roles)) {
		rc = req_fail(r, 422, "invalid_field", "send {\"roles\":[{\"account\":…,\"role\":…}]}");
		goto out;
	}
	if ((rc = check_roles(r, roles)))
		goto out;
	for (size_t i = 0; i < json_array_size(roles); i++) {
		const char *acc = jv_str(json_array_get(roles, i), "account");
		int64_t one;
		if (strcmp(acc, "*") &&
		    store_query_int(req_db(r), "SELECT 1 FROM accounts WHERE id = $1", SARGS(ST(acc)), &one)) {
			rc = req_fail(r, 422, "invalid_field", "roles[%zu]: account %s does not exist", i, acc);
			goto out;
		}
	}
	struct bind_ctx x = { req_param(r, 0), api_actor(r), roles, !strcmp(r->method, "DELETE") };
	if (!(rc = store_write(r->srv->store, bind_tx, &x)))
		req_json(r, 200, principal_json(req_db(r), req_param(r, 0)));
out:
	json_decref(p);
	json_decref(body);
	return rc;
}

/* ---- tokens ---- */

static const struct jv_field token_fields[] = {
	{ "principal", JV_STRING, JV_REQUIRED, 40, NULL },
	{ "expires_in", JV_STRING, JV_NULLABLE, 20, NULL },
	{ "name", JV_STRING, JV_NULLABLE, 80, NULL },
	{ NULL },
};

struct token_ctx {
	const char *id, *principal, *hash, *name, *actor;
	int64_t expires;
	bool revoke;
	struct fw_error err;
};

static int token_tx(struct store_conn *c, void *arg)
{
	store_after_commit(c, auth_invalidate, NULL);
	struct token_ctx *x = arg;
	int rc;
	if (x->revoke) {
		int64_t n = 0;
		rc = store_exec(c, "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
				SARGS(ST(x->id), SI(time_now_ms())), &n);
		if (!rc && n == 0)
			return fw_fail(&x->err, 404, "not_found", "token %s not found or already revoked", x->id);
	} else {
		rc = store_exec(c, "INSERT INTO tokens (id, principal, hash, name, created_at, expires_at) "
				   "VALUES ($1,$2,$3,$4,$5,$6)",
				SARGS(ST(x->id), ST(x->principal), ST(x->hash), ST(x->name), SI(time_now_ms()),
				      x->expires ? SI(x->expires) : SN),
				NULL);
	}
	if (!rc)
		rc = audit_append(c, x->actor, NULL, x->revoke ? "token.revoke" : "token.create", x->id, NULL, NULL);
	return rc;
}

/* A token carries every role of its principal, so minting one is acting as that principal: allowed
 * for the principal itself, a global admin, or an admin of every account the principal is bound to. */
static bool may_mint_for(struct req *r, json_t *p)
{
	if (auth_global(r, PERM_ADMIN) || !strcmp(jv_str(p, "id"), r->auth->principal))
		return true;
	json_t *roles = json_object_get(p, "roles");
	for (size_t i = 0; i < json_array_size(roles); i++) {
		const char *acc = jv_str(json_array_get(roles, i), "account");
		if (!acc || !strcmp(acc, "*") || !(auth_perms(r, acc) & PERM_ADMIN))
			return false;
	}
	return true;
}

static int h_token_create(struct req *r)
{
	json_t *body, *p = NULL;
	int rc = req_body_fields(r, token_fields, false, &body);
	if (rc)
		return rc;
	const char *pid = jv_str(body, "principal");
	p = principal_json(req_db(r), pid);
	/* Tokens for yourself, or for principals of accounts you administer. */
	if (!p || !principal_visible(r, p, PERM_ADMIN)) {
		rc = req_fail(r, 404, "not_found", "principal %.40s not found", pid);
		goto out;
	}
	if (!may_mint_for(r, p)) {
		rc = req_fail(r, 403, "forbidden",
			      "principal %.40s also holds roles on accounts you do not administer; a token would "
			      "carry them: ask an admin of all its accounts",
			      pid);
		goto out;
	}
	int64_t expires = 0, dur;
	const char *ein = jv_str(body, "expires_in");
	if (ein) {
		if (time_parse_duration(ein, &dur) || dur <= 0) {
			rc = req_fail(r, 422, "invalid_field", "field 'expires_in' must be a duration like 30d, 12h or 90m");
			goto out;
		}
		expires = time_now_ms() + dur;
	}
	char token[64], hash[65], hex[17], id[24];
	auth_new_token(token, sizeof(token), hash);
	crypto_random_hex(8, hex, sizeof(hex));
	snprintf(id, sizeof(id), "tok-%s", hex);
	struct token_ctx x = { .id = id, .principal = pid, .hash = hash, .name = jv_str(body, "name"),
			       .actor = api_actor(r), .expires = expires };
	if (!(rc = store_write(r->srv->store, token_tx, &x))) {
		char ts[32];
		time_fmt_ms(expires ? expires : -1, ts, sizeof(ts));
		json_t *o = json_pack("{s:s,s:s,s:s}", "id", id, "token", token, "principal", pid);
		json_object_set_new(o, "expires_at", expires ? json_string(ts) : json_null());
		req_json(r, 201, o);
	}
	explicit_bzero(token, sizeof(token));
out:
	json_decref(p);
	json_decref(body);
	return rc;
}

static int h_token_list(struct req *r)
{
	struct store_rows *rows;
	const char *pid = req_arg(r, "principal");
	int rc = store_query(req_db(r),
			     "SELECT id, principal, name, created_at, expires_at, revoked_at FROM tokens "
			     "WHERE (CAST($1 AS TEXT) IS NULL OR principal = $1) ORDER BY created_at LIMIT 10000",
			     SARGS(ST(pid)), &rows);
	if (rc)
		return rc;
	json_t *items = json_array();
	while (store_next(rows) == 1) {
		json_t *p = principal_json(req_db(r), store_text(rows, 1));
		bool vis = p && principal_visible(r, p, PERM_ADMIN);
		json_decref(p);
		if (!vis)
			continue;
		char c[32], ex[32], rv[32];
		time_fmt_ms(store_int(rows, 3), c, sizeof(c));
		time_fmt_ms(store_isnull(rows, 4) ? -1 : store_int(rows, 4), ex, sizeof(ex));
		time_fmt_ms(store_isnull(rows, 5) ? -1 : store_int(rows, 5), rv, sizeof(rv));
		json_array_append_new(items, json_pack("{s:s,s:s,s:s?,s:s,s:s?,s:s?}", "id", store_text(rows, 0),
						       "principal", store_text(rows, 1), "name", store_text(rows, 2),
						       "created_at", c, "expires_at", ex[0] ? ex : NULL, "revoked_at",
						       rv[0] ? rv : NULL));
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, 0));
}

static int h_token_revoke(struct req *r)
{
	char *pid = NULL;
	json_t *p = NULL;
	int rc = store_query_str(req_db(r), "SELECT principal FROM tokens WHERE id = $1", SARGS(ST(req_param(r, 0))),
				 &pid);
	if (!rc)
		p = principal_json(req_db(r), pid);
	if (rc || !p || !principal_visible(r, p, PERM_ADMIN)) {
		rc = req_fail(r, 404, "not_found", "token %.40s not found", req_param(r, 0));
		goto out;
	}
	struct token_ctx x = { .id = req_param(r, 0), .actor = api_actor(r), .revoke = true };
	if ((rc = store_write(r->srv->store, token_tx, &x)))
		rc = x.err.status ? req_fail_from(r, &x.err) : rc;
	else
		req_json(r, 200, json_pack("{s:s,s:b}", "id", req_param(r, 0), "revoked", 1));
out:
	free(pid);
	json_decref(p);
	return rc;
}

static int h_whoami(struct req *r)
{
	json_t *p = principal_json(req_db(r), r->auth->principal);
	return p ? req_json(r, 200, p) : req_fail(r, 404, "not_found", "principal not found");
}

const struct route api_account_routes[] = {
	{ "POST", "/api/v1/accounts", h_account_create, 0 },
	{ "GET", "/api/v1/accounts", h_account_list, 0 },
	{ "GET", "/api/v1/accounts/{id}", h_account_get, 0 },
	{ "PATCH", "/api/v1/accounts/{id}", h_account_update, 0 },
	{ "POST", "/api/v1/principals", h_principal_create, 0 },
	{ "GET", "/api/v1/principals", h_principal_list, 0 },
	{ "GET", "/api/v1/principals/{id}", h_principal_get, 0 },
	{ "POST", "/api/v1/principals/{id}/roles", h_principal_roles, 0 },
	{ "DELETE", "/api/v1/principals/{id}/roles", h_principal_roles, 0 },
	{ "POST", "/api/v1/tokens", h_token_create, 0 },
	{ "GET", "/api/v1/tokens", h_token_list, 0 },
	{ "DELETE", "/api/v1/tokens/{id}", h_token_revoke, 0 },
	{ "GET", "/api/v1/whoami", h_whoami, 0 },
	{ NULL, NULL, NULL, 0 },
};
