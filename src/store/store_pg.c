/* PostgreSQL backend (libpq). Results are fetched whole (PQexecParams); the common dialect's $N
 * placeholders are native here. Text results are converted on demand by the cursor. */
#include "store/store_backend.h"
#include "util/err.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pg_conn {
	PGconn *pg;
	char err[512];
};

struct pg_rows {
	struct store_rows base;
	PGresult *res;
	int row; /* current row, -1 before the first store_next */
	int nrows;
};

static int pg_connect(const char *url, enum store_role role, void **h, char *err, size_t errcap)
{
	struct pg_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return FW_ENOMEM;
	c->pg = PQconnectdb(url);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		snprintf(err, errcap, "cannot connect to PostgreSQL: %s", PQerrorMessage(c->pg));
		PQfinish(c->pg);
		free(c);
		return FW_ESTORE;
	}
	PGresult *r = PQexec(c->pg, role == STORE_READONLY ? "SET client_min_messages = warning; SET TIME ZONE 'UTC'; "
							      "SET default_transaction_read_only = on"
							    : "SET client_min_messages = warning; SET TIME ZONE 'UTC'");
	PQclear(r);
	*h = c;
	return 0;
}

static void pg_disconnect(void *h)
{
	struct pg_conn *c = h;
	PQfinish(c->pg);
	free(c);
}

/* Parameters as text; integers formatted into a scratch area owned by the caller's frame. */
static PGresult *run(struct pg_conn *c, const char *sql, const struct store_arg *a, int n)
{
	const char *vals[64];
	char nums[64][24];
	if (n > 64)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (a[i].t == SA_INT) {
			snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)a[i].i);
			vals[i] = nums[i];
		} else {
			vals[i] = a[i].t == SA_TEXT ? a[i].s : NULL;
		}
	}
	return PQexecParams(c->pg, sql, n, NULL, vals, NULL, NULL, 0);
}

static int status_to_rc(struct pg_conn *c, PGresult *res)
{
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return 0;
	snprintf(c->err, sizeof(c->err), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return state && strncmp(state, "23", 2) == 0 ? FW_ECONFLICT : FW_ESTORE; /* 23xxx: constraint */
}

static int pg_exec(void *h, const char *sql, const struct store_arg *a, int n, int64_t *changes)
{
	struct pg_conn *c = h;
	PGresult *res = run(c, sql, a, n);
	int rc = status_to_rc(c, res);
	if (!rc && changes) {
		const char *t = PQcmdTuples(res);
		*changes = t && *t ? strtoll(t, NULL, 10) : 0;
	}
	PQclear(res);
	return rc;
}

static int pg_query(void *h, const char *sql, const struct store_arg *a, int n, struct store_rows **out)
{
	struct pg_conn *c = h;
	PGresult *res = run(c, sql, a, n);
	int rc = status_to_rc(c, res);
	if (rc) {
		PQclear(res);
		return rc;
	}
	struct pg_rows *r = calloc(1, sizeof(*r));
	if (!r) {
		PQclear(res);
		return FW_ENOMEM;
	}
	r->base.be = &store_pg_backend;
	r->res = res;
	r->row = -1;
	r->nrows = PQntuples(res);
	*out = &r->base;
	return 0;
}

static int pg_next(struct store_rows *rows)
{
	struct pg_rows *r = (struct pg_rows *)rows;
	if (r->row + 1 >= r->nrows)
		return 0;
	r->row++;
	return 1;
}

static const char *pg_text(struct store_rows *rows, int col)
{
	struct pg_rows *r = (struct pg_rows *)rows;
	return PQgetisnull(r->res, r->row, col) ? NULL : PQgetvalue(r->res, r->row, col);
}

static int64_t pg_int(struct store_rows *rows, int col)
{
	const char *t = pg_text(rows, col);
	if (!t)
		return 0;
	if (strcmp(t, "t") == 0)
		return 1;
	return strtoll(t, NULL, 10);
}

static bool pg_isnull(struct store_rows *rows, int col)
{
	struct pg_rows *r = (struct pg_rows *)rows;
	return PQgetisnull(r->res, r->row, col);
}

static int pg_ncols(struct store_rows *rows)
{
	return PQnfields(((struct pg_rows *)rows)->res);
}

static void pg_rows_free(struct store_rows *rows)
{
	struct pg_rows *r = (struct pg_rows *)rows;
	PQclear(r->res);
	free(r);
}

static int pg_script(void *h, const char *sql)
{
	struct pg_conn *c = h;
	PGresult *res = PQexec(c->pg, sql);
	int rc = status_to_rc(c, res);
	PQclear(res);
	return rc;
}

static const char *pg_errmsg(void *h)
{
	struct pg_conn *c = h;
	return c->err[0] ? c->err : PQerrorMessage(c->pg);
}

const struct store_backend store_pg_backend = {
	.name = "postgres",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.exec = pg_exec,
	.query = pg_query,
	.next = pg_next,
	.text = pg_text,
	.integer = pg_int,
	.isnull = pg_isnull,
	.ncols = pg_ncols,
	.rows_free = pg_rows_free,
	.script = pg_script,
	.errmsg = pg_errmsg,
	.begin_sql = "BEGIN",
};
