#ifndef FW_STORE_BACKEND_H
#define FW_STORE_BACKEND_H
/* Internal: the operations a storage engine implements (store_sqlite.c, store_pg.c). Only store.c
 * calls these; everyone else uses store.h. */

#include "store/store.h"

#include <stddef.h>

/* Every backend's row cursor starts with this header. */
struct store_rows {
	const struct store_backend *be;
};

/* What a connection is for: the one writer, a reader beside it, or a reader of a store opened with
 * store_open_readonly() (the engine refuses writes; SQLite also reads files it may not change). */
enum store_role { STORE_WRITER, STORE_READER, STORE_READONLY };

struct store_backend {
	const char *name;
	/* url is the part after the scheme for sqlite (a path), the whole URL for postgres. */
	int (*connect)(const char *url, enum store_role role, void **h, char *err, size_t errcap);
	void (*disconnect)(void *h);
	int (*exec)(void *h, const char *sql, const struct store_arg *a, int n, int64_t *changes);
	int (*query)(void *h, const char *sql, const struct store_arg *a, int n, struct store_rows **out);
	int (*next)(struct store_rows *r);
	const char *(*text)(struct store_rows *r, int col);
	int64_t (*integer)(struct store_rows *r, int col);
	bool (*isnull)(struct store_rows *r, int col);
	int (*ncols)(struct store_rows *r);
	void (*rows_free)(struct store_rows *r);
	int (*script)(void *h, const char *sql); /* several statements, no parameters */
	const char *(*errmsg)(void *h);
	const char *begin_sql; /* "BEGIN IMMEDIATE" for SQLite, "BEGIN" for PostgreSQL */
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

/* A migration: version numbers increase; sql runs once, in a transaction, on both engines. */
struct store_migration {
	int64_t version;
	const char *name;
	const char *sql;
};
/* The ordered list, terminated by version 0 (store/migrations.c). */
extern const struct store_migration store_migrations[];

#endif
