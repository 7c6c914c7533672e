/* flywheel audit list|verify (through the daemon, or offline on the store), flywheel status. */
#include "audit/audit.h"
#include "cli/cli_args.h"
#include "cli/cli_cmds.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "version.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void short_hash(const json_t *e, struct buf *out)
{
	buf_printf(out, "%.12s", cli_str(e, "hash"));
}

static const struct cli_col audit_cols[] = {
	{ "SEQ", "seq", 0, NULL },
	{ "AT", "at", CLI_COL_TIME, NULL },
	{ "ACTOR", "actor", 0, NULL },
	{ "ACCOUNT", "account", 0, NULL },
	{ "ACTION", "action", 0, NULL },
	{ "OBJECT", "object", 0, NULL },
	{ "HASH", NULL, 0, short_hash },
	{ NULL },
};

static const struct cli_flag audit_list_flags[] = {
	{ "account", NULL, CLI_STR, 0, "ID", "only this account (required unless you audit every account)" },
	{ "action", NULL, CLI_STR, 0, "ACTION", "only this action, e.g. ticket.transition" },
	{ "object", NULL, CLI_STR, 0, "ID", "only entries about this object, e.g. INC-7" },
	{ NULL },
};

static int audit_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1 << 12);
	buf_puts(&p, "/api/v1/audit");
	cli_query(&p, "account", cli_arg(a, "account"));
	cli_query(&p, "action", cli_arg(a, "action"));
	cli_query(&p, "object", cli_arg(a, "object"));
	int rc = cli_list(c, a, buf_str(&p), audit_cols);
	buf_release(&p);
	return rc;
}

/* Prints a verification report ({"ok":true,"entries","head"} or {"ok":false,"seq","problem",
 * "message"}) and returns 0 when intact, CLI_EAPI when broken. */
static int report_result(const struct cli *c, const json_t *rep, const struct cli_resp *raw)
{
	bool ok = json_is_true(json_object_get(rep, "ok"));
	if (c->json) {
		if (raw)
			cli_print_raw(raw);
		else
			cli_print_json(rep);
	} else if (ok) {
		printf("audit chain intact: %lld entries, head %s\n",
		       (long long)json_integer_value(json_object_get(rep, "entries")),
		       cli_str(rep, "head"));
	} else {
		printf("audit chain BROKEN at entry %lld (%s): %s\n",
		       (long long)json_integer_value(json_object_get(rep, "seq")),
		       cli_str(rep, "problem"),
		       cli_str(rep, "message"));
	}
	return ok ? CLI_OK : CLI_EAPI;
}

/* Opens the store itself (no daemon needed) and walks the chain. The store is only read: no
 * migrations run, so a copy kept as evidence stays as it was, and a copy on read-only media or
 * owned by someone else can be checked; a missing SQLite file is an error, not a new, empty store. */
static int verify_offline(struct cli *c, const struct cli_args *a)
{
	char url[2048], err[512] = "";
	const char *dir = cli_arg(a, "data-dir"), *su = cli_arg(a, "store");
	if (dir && su)
		return cli_usage(a, "give --data-dir or --store, not both");
	if (dir)
		snprintf(url, sizeof(url), "sqlite://%s/flywheel.db", dir);
	else
		snprintf(url, sizeof(url), "%s", su);
	bool pg = !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
	if (!pg) {
		const char *file = strncmp(url, "sqlite://", 9) ? url : url + 9;
		struct stat sb;
		if (stat(file, &sb) != 0) {
			cli_err("no store at %s: %s", file, strerror(errno));
			return CLI_ECONN;
		}
		cli_note(c, "opening %s", file);
	}
	log_set_level(LOG_WARN);
	struct store *st = NULL;
	if (store_open_readonly(url, &st, err, sizeof(err))) {
		cli_err("cannot open the store: %s", err);
		return CLI_ECONN;
	}
	json_t *rep = NULL;
	int vr = audit_verify(store_reader(st), &rep), rc;
	if (!rep) {
		cli_err("cannot read the audit log: %s", store_errmsg(store_reader(st)));
		rc = CLI_ECONN;
	} else {
		rc = report_result(c, rep, NULL);
	}
	(void)vr;
	json_decref(rep);
	store_close(st);
	return rc;
}

static int audit_verify_cmd(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	if (cli_has(a, "data-dir") || cli_has(a, "store"))
		return verify_offline(c, a);
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, "GET", "/api/v1/audit/verify", NULL, &r);
	if (!rc)
		rc = report_result(c, r.json, &r);
	cli_resp_release(&r);
	return rc;
}

static const struct cli_flag verify_flags[] = {
	{ "data-dir", NULL, CLI_STR, 0, "DIR", "verify offline: the SQLite store DIR/flywheel.db" },
	{ "store", NULL, CLI_STR, 0, "URL", "verify offline: a store URL (sqlite://PATH or postgres://…)" },
	{ NULL },
};

static const struct cli_cmd audit_cmds[] = {
	{ "list", NULL, "List audit entries, newest first", 0, 0, audit_list, { audit_list_flags, cli_page_flags },
	  NULL, NULL },
	{ "verify", NULL, "Check the hash chain: through the daemon, or offline with --data-dir/--store", 0, 0,
	  audit_verify_cmd, { verify_flags }, NULL,
	  "Prints \"audit chain intact: N entries, head <hash>\" and exits 0, or names the first broken\n"
	  "entry and exits 1. Offline verification reads the store directly, so it works when the daemon\n"
	  "is stopped, and does not trust the daemon's answer." },
	{ NULL },
};

const struct cli_family cli_audit_family = {
	"audit", "The audit log, a hash chain that shows tampering", audit_cmds, NULL,
	"Reading it needs the auditor or admin role (on every account, or give --account)."
};

/* ---- status ---- */

static int status(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct cli_resp h = CLI_RESP_INIT, rd = CLI_RESP_INIT, v = CLI_RESP_INIT;
	int rc = cli_http(c, "GET", "/healthz", NULL, &h);
	if (!rc)
		rc = cli_http(c, "GET", "/readyz", NULL, &rd);
	if (!rc)
		rc = cli_http(c, "GET", "/api/v1/version", NULL, &v);
	if (rc)
		goto out;
	bool healthy = h.status == 200, ready = rd.status == 200;
	if (c->json) {
		json_t *o = json_pack("{s:s,s:s,s:O?,s:O?,s:O?}", "url", c->url, "client", FLYWHEEL_VERSION, "health",
				      h.json, "ready", rd.json, "version", v.json);
		cli_print_json(o);
		json_decref(o);
	} else {
		const json_t *err = json_object_get(rd.json, "error");
		printf("url       %s\n", c->url);
		printf("health    %s\n", healthy ? "ok" : "failing");
		if (ready)
			printf("ready     yes (store %s, schema %lld)\n",
			       cli_str(rd.json, "store"),
			       (long long)json_integer_value(json_object_get(rd.json, "schema_version")));
		else
			printf("ready     no: %s (HTTP %ld)\n", cli_str(err, "message"), rd.status);
		printf("version   %s\n", cli_str(v.json, "version"));
		printf("client    %s\n", FLYWHEEL_VERSION);
	}
	rc = healthy && ready ? CLI_OK : CLI_EAPI;
out:
	cli_resp_release(&h);
	cli_resp_release(&rd);
	cli_resp_release(&v);
	return rc;
}

const struct cli_cmd cli_status_cmd = { "status", NULL, "Show whether the daemon is up and ready, and its version",
					0, 0, status, { NULL }, NULL,
					"Exits 0 when healthy and ready, 1 when it answers but is not ready, 3 when it "
					"cannot be reached." };
