/* flywheel account|principal|token|whoami: /api/v1/accounts, /principals, /tokens, /whoami. */
#include "cli/cli_args.h"
#include "cli/cli_cmds.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

/* GET path and print it as fields (or its JSON). */
static int show(struct cli *c, const char *path, const char *const *order, const char *const *hide)
{
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, "GET", path, NULL, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			cli_fields(r.json, order, hide);
	}
	cli_resp_release(&r);
	return rc;
}

/* ---- accounts ---- */

static const struct cli_flag account_flags[] = {
	{ "name", "name", CLI_STR, 0, "TEXT", "display name" },
	{ "parent", "parent", CLI_STR, CLI_F_NULLABLE, "ID", "management (organization) account; '' for none" },
	{ "tier", "tier", CLI_STR, 0, "developer|business|enterprise|enterprise_onramp", "support tier" },
	{ "timezone", "timezone", CLI_STR, 0, "ZONE", "IANA time zone, e.g. Europe/Paris" },
	{ "plan", "plan", CLI_STR, CLI_F_NULLABLE, "accelerate|advanced", "operations plan; '' for none" },
	{ NULL },
};

static const struct cli_flag account_list_flags[] = {
	{ "parent", NULL, CLI_STR, 0, "ID", "only members of this organization" },
	{ NULL },
};

static const struct cli_col account_cols[] = {
	{ "ID", "id", 0, NULL },
	{ "NAME", "name", CLI_COL_TRUNC, NULL },
	{ "PARENT", "parent", 0, NULL },
	{ "TIER", "tier", 0, NULL },
	{ "TIMEZONE", "timezone", 0, NULL },
	{ "PLAN", "plan", 0, NULL },
	{ "CREATED", "created_at", CLI_COL_TIME, NULL },
	{ NULL },
};

static const char *const account_order[] = { "id", "name", "parent", "tier", "timezone", "plan", "members",
					     "created_at", "updated_at", NULL };

static void account_path(struct buf *p, const char *id)
{
	buf_puts(p, "/api/v1/accounts");
	if (id) {
		buf_puts(p, "/");
		cli_esc(p, id);
	}
}

static int send_account(struct cli *c, const struct cli_args *a, const char *method, const char *path,
			json_t *body, const char *what)
{
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_body(a, body);
	if (!rc)
		rc = cli_call(c, method, path, body, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			printf("account %s %s\n", cli_str(r.json, "id"), what);
	}
	cli_resp_release(&r);
	json_decref(body);
	return rc;
}

static int acc_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	return send_account(c, a, "POST", "/api/v1/accounts", json_pack("{s:s}", "id", a->pos[0]), "created");
}

static int acc_update(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	if (!a->nvals)
		return cli_usage(a, "nothing to update: give at least one field option");
	struct buf p = BUF_INIT(1024);
	account_path(&p, a->pos[0]);
	int rc = send_account(c, a, "PATCH", buf_str(&p), json_object(), "updated");
	buf_release(&p);
	return rc;
}

static int acc_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	account_path(&p, NULL);
	cli_query(&p, "parent", cli_arg(a, "parent"));
	int rc = cli_list(c, a, buf_str(&p), account_cols);
	buf_release(&p);
	return rc;
}

static int acc_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	account_path(&p, a->pos[0]);
	int rc = show(c, buf_str(&p), account_order, NULL);
	buf_release(&p);
	return rc;
}

static const struct cli_flag account_create_flags[] = {
	{ "name", "name", CLI_STR, CLI_F_REQUIRED, "TEXT", "display name" },
	{ NULL },
};

static const struct cli_cmd account_cmds[] = {
	{ "create", "ID", "Create an account (ID: 12 digits)", 1, 1, acc_create,
	  { account_create_flags, account_flags + 1 }, NULL, NULL },
	{ "list", NULL, "List the accounts you can see", 0, 0, acc_list, { account_list_flags, cli_page_flags }, NULL,
	  NULL },
	{ "show", "ID", "Show an account and its member accounts", 1, 1, acc_show, { NULL }, NULL, NULL },
	{ "update", "ID", "Change an account", 1, 1, acc_update, { account_flags }, NULL, NULL },
	{ NULL },
};

const struct cli_family cli_account_family = { "account", "Customer accounts (12-digit ids), grouped in organizations",
					       account_cmds, NULL, NULL };

/* ---- principals ---- */

static void roles_cell(const json_t *p, struct buf *out)
{
	const json_t *roles = json_object_get(p, "roles");
	for (size_t i = 0; i < json_array_size(roles); i++) {
		const json_t *b = json_array_get(roles, i);
		buf_printf(out, "%s%s:%s", i ? ", " : "", cli_str(b, "account"),
			   cli_str(b, "role"));
	}
	if (!json_array_size(roles))
		buf_puts(out, "-");
}

static const struct cli_col principal_cols[] = {
	{ "ID", "id", 0, NULL },
	{ "NAME", "name", 0, NULL },
	{ "EMAIL", "email", 0, NULL },
	{ "DISABLED", "disabled", 0, NULL },
	{ "ROLES", NULL, 0, roles_cell },
	{ NULL },
};

static const struct cli_col role_cols[] = {
	{ "ACCOUNT", "account", 0, NULL },
	{ "ROLE", "role", 0, NULL },
	{ NULL },
};

static const char *const principal_order[] = { "id", "name", "email", "disabled", "created_at", NULL };
static const char *const principal_hide[] = { "roles", NULL };

/* Principal fields, then the role bindings as a small table. */
static void print_principal(const json_t *p)
{
	cli_fields(p, principal_order, principal_hide);
	printf("\nRoles:\n");
	cli_table(role_cols, json_object_get(p, "roles"));
}

/* Turns "ACCOUNT:ROLE" into {"account","role"}; NULL when malformed. */
static json_t *role_binding(const char *spec)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1])
		return NULL;
	return json_pack("{s:s%,s:s}", "account", spec, (size_t)(colon - spec), "role", colon + 1);
}

/* Collects --role flags and, from position `first` on, positional ACCOUNT:ROLE arguments. */
static int roles_of(const struct cli_args *a, int first, json_t **out)
{
	json_t *roles = json_array();
	for (int i = 0; i < a->nvals; i++) {
		if (strcmp(a->vals[i].f->name, "role"))
			continue;
		json_t *b = role_binding(a->vals[i].v);
		if (!b) {
			json_decref(roles);
			return cli_usage(a, "role '%s' is not ACCOUNT:ROLE (ACCOUNT is 12 digits or *)", a->vals[i].v);
		}
		json_array_append_new(roles, b);
	}
	for (int i = first; i < a->npos; i++) {
		json_t *b = role_binding(a->pos[i]);
		if (!b) {
			json_decref(roles);
			return cli_usage(a, "role '%s' is not ACCOUNT:ROLE (ACCOUNT is 12 digits or *)", a->pos[i]);
		}
		json_array_append_new(roles, b);
	}
	*out = roles;
	return CLI_OK;
}

/* A principal is named by id (prn-…) or by its unique name, looked up in the list. Writes the id. */
static int principal_id(struct cli *c, const char *who, char *out, size_t cap)
{
	if (!strncmp(who, "prn-", 4)) {
		snprintf(out, cap, "%s", who);
		return CLI_OK;
	}
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, "GET", "/api/v1/principals", NULL, &r);
	if (rc)
		return rc;
	rc = CLI_EAPI;
	const json_t *items = json_object_get(r.json, "items");
	for (size_t i = 0; i < json_array_size(items); i++) {
		const json_t *p = json_array_get(items, i);
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *pid = json_string_value(json_object_get(p, "id"));
		if (name && pid && !strcmp(who, name)) {
			snprintf(out, cap, "%s", pid);
			rc = CLI_OK;
			break;
		}
	}
	if (rc)
		cli_err("no principal named '%s' is visible to you", who);
	cli_resp_release(&r);
	return rc;
}

static void principal_path(struct buf *p, const char *id, const char *suffix)
{
	buf_puts(p, "/api/v1/principals/");
	cli_esc(p, id);
	if (suffix)
		buf_printf(p, "/%s", suffix);
}

static int prn_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct cli_resp r = CLI_RESP_INIT;
	json_t *roles = NULL, *body = json_pack("{s:s}", "name", a->pos[0]);
	int rc = roles_of(a, 1, &roles);
	if (!rc) {
		json_object_set_new(body, "roles", roles);
		rc = cli_body(a, body);
	}
	if (!rc)
		rc = cli_call(c, "POST", "/api/v1/principals", body, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			printf("principal %s created (%s)\n", cli_str(r.json, "id"),
			       cli_str(r.json, "name"));
	}
	cli_resp_release(&r);
	json_decref(body);
	return rc;
}

static int prn_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	return cli_list(c, a, "/api/v1/principals", principal_cols);
}

static int prn_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char id[128];
	int rc = principal_id(c, a->pos[0], id, sizeof(id));
	if (rc)
		return rc;
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	principal_path(&p, id, NULL);
	rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			print_principal(r.json);
	}
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static int prn_bind(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	json_t *roles = NULL;
	char id[128];
	int rc = roles_of(a, 1, &roles);
	if (rc)
		return rc;
	if (!json_array_size(roles)) {
		json_decref(roles);
		return cli_usage(a, "name at least one ACCOUNT:ROLE");
	}
	if ((rc = principal_id(c, a->pos[0], id, sizeof(id)))) {
		json_decref(roles);
		return rc;
	}
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	json_t *body = json_pack("{s:o}", "roles", roles);
	principal_path(&p, id, "roles");
	rc = cli_call(c, cmd->data, buf_str(&p), body, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			print_principal(r.json);
	}
	cli_resp_release(&r);
	json_decref(body);
	buf_release(&p);
	return rc;
}

static const struct cli_flag principal_flags[] = {
	{ "email", "email", CLI_STR, CLI_F_NULLABLE, "ADDRESS", "e-mail address for notifications" },
	{ "role", NULL, CLI_LIST, 0, "ACCOUNT:ROLE", "role binding; ACCOUNT is 12 digits or *; roles: viewer, "
						      "requester, operator, approver, admin, auditor" },
	{ NULL },
};

static const struct cli_flag role_flag[] = {
	{ "role", NULL, CLI_LIST, 0, "ACCOUNT:ROLE", "role binding (or give them as arguments)" },
	{ NULL },
};

static const struct cli_cmd principal_cmds[] = {
	{ "create", "NAME [ACCOUNT:ROLE…]", "Create a principal (a person or a system)", 1, -1, prn_create,
	  { principal_flags }, NULL, NULL },
	{ "list", NULL, "List the principals you administer", 0, 0, prn_list, { NULL }, NULL, NULL },
	{ "show", "ID|NAME", "Show a principal and its roles", 1, 1, prn_show, { NULL }, NULL, NULL },
	{ "grant", "ID|NAME ACCOUNT:ROLE…", "Add role bindings", 1, -1, prn_bind, { role_flag }, "POST", NULL },
	{ "revoke", "ID|NAME ACCOUNT:ROLE…", "Remove role bindings", 1, -1, prn_bind, { role_flag }, "DELETE",
	  NULL },
	{ NULL },
};

const struct cli_family cli_principal_family = { "principal", "Principals (people and systems) and their roles",
						 principal_cmds, NULL, NULL };

/* ---- tokens ---- */

static const struct cli_flag token_create_flags[] = {
	{ "principal", NULL, CLI_STR, 0, "ID|NAME", "whose token (default: yourself)" },
	{ "expires-in", "expires_in", CLI_STR, 0, "DURATION", "lifetime, e.g. 30d, 12h (default: no expiry)" },
	{ "name", "name", CLI_STR, 0, "TEXT", "a label to recognise it by" },
	{ NULL },
};

static const struct cli_flag token_list_flags[] = {
	{ "principal", NULL, CLI_STR, 0, "ID|NAME", "only this principal's tokens" },
	{ NULL },
};

static const struct cli_col token_cols[] = {
	{ "ID", "id", 0, NULL },
	{ "PRINCIPAL", "principal", 0, NULL },
	{ "NAME", "name", 0, NULL },
	{ "CREATED", "created_at", CLI_COL_TIME, NULL },
	{ "EXPIRES", "expires_at", CLI_COL_TIME, NULL },
	{ "REVOKED", "revoked_at", CLI_COL_TIME, NULL },
	{ NULL },
};

static int self_id(struct cli *c, char *out, size_t cap)
{
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, "GET", "/api/v1/whoami", NULL, &r);
	const char *id = json_string_value(json_object_get(r.json, "id"));
	if (!rc && !id) {
		cli_err("/api/v1/whoami did not name a principal");
		rc = CLI_EAPI;
	}
	if (!rc)
		snprintf(out, cap, "%s", id);
	cli_resp_release(&r);
	return rc;
}

static int tok_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char id[128];
	const char *who = cli_arg(a, "principal");
	int rc = who ? principal_id(c, who, id, sizeof(id)) : self_id(c, id, sizeof(id));
	if (rc)
		return rc;
	struct cli_resp r = CLI_RESP_INIT;
	json_t *body = json_pack("{s:s}", "principal", id);
	rc = cli_body(a, body);
	if (!rc)
		rc = cli_call(c, "POST", "/api/v1/tokens", body, &r);
	if (!rc) {
		if (c->json) {
			cli_print_raw(&r);
		} else {
			static const char *const order[] = { "id", "principal", "expires_at", "token", NULL };
			cli_fields(r.json, order, NULL);
			fprintf(stderr, "(the token is shown once: store it now)\n");
		}
		explicit_bzero(r.body, r.len);
	}
	cli_resp_release(&r);
	json_decref(body);
	return rc;
}

static int tok_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char id[128];
	struct buf p = BUF_INIT(1024);
	int rc = CLI_OK;
	buf_puts(&p, "/api/v1/tokens");
	if (cli_arg(a, "principal")) {
		if ((rc = principal_id(c, cli_arg(a, "principal"), id, sizeof(id))))
			goto out;
		cli_query(&p, "principal", id);
	}
	rc = cli_list(c, a, buf_str(&p), token_cols);
out:
	buf_release(&p);
	return rc;
}

static int tok_revoke(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	buf_puts(&p, "/api/v1/tokens/");
	cli_esc(&p, a->pos[0]);
	int rc = cli_call(c, "DELETE", buf_str(&p), NULL, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			printf("token %s revoked\n", a->pos[0]);
	}
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static const struct cli_cmd token_cmds[] = {
	{ "create", NULL, "Create an API token (shown once)", 0, 0, tok_create, { token_create_flags }, NULL, NULL },
	{ "list", NULL, "List tokens (never their secrets)", 0, 0, tok_list, { token_list_flags }, NULL, NULL },
	{ "revoke", "ID", "Revoke a token (tok-…)", 1, 1, tok_revoke, { NULL }, NULL, NULL },
	{ NULL },
};

const struct cli_family cli_token_family = { "token", "API tokens of principals", token_cmds,
					     NULL, NULL };

/* ---- whoami ---- */

static int whoami(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, "GET", "/api/v1/whoami", NULL, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			print_principal(r.json);
	}
	cli_resp_release(&r);
	return rc;
}

const struct cli_cmd cli_whoami_cmd = { "whoami", NULL, "Show who the token belongs to, and its roles", 0, 0, whoami,
					{ NULL }, NULL, NULL };
