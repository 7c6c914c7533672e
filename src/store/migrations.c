/* Schema migrations, in order. Each runs once, in a transaction, on SQLite and PostgreSQL alike:
 * keep to the common dialect (BIGINT, TEXT, no AUTOINCREMENT/SERIAL, times in milliseconds).
 * Never edit a migration that has shipped: add a new one. Ranges: 1-9 foundation, 10-19 events,
 * 20-29 automation, 30-39 SLA/notify, 40-49 catalog, 50-59 AWS compat, 60-69 ops. Keep the array
 * sorted by version. */
#include "store/store_backend.h"

const struct store_migration store_migrations[] = {
	{ 1, "foundation",
	  "CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT, tier TEXT NOT NULL,"
	  "  timezone TEXT NOT NULL, plan TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
	  "CREATE INDEX accounts_parent ON accounts (parent);"
	  "CREATE TABLE principals (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT,"
	  "  created_at BIGINT NOT NULL, disabled BIGINT NOT NULL DEFAULT 0);"
	  "CREATE TABLE role_bindings (principal TEXT NOT NULL, account TEXT NOT NULL, role TEXT NOT NULL,"
	  "  PRIMARY KEY (principal, account, role));"
	  "CREATE INDEX role_bindings_account ON role_bindings (account);"
	  "CREATE TABLE tokens (id TEXT PRIMARY KEY, principal TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, name TEXT,"
	  "  created_at BIGINT NOT NULL, expires_at BIGINT, revoked_at BIGINT);"
	  "CREATE INDEX tokens_principal ON tokens (principal);"
	  "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);"
	  "INSERT INTO counters (name, value) VALUES ('ticket_seq', 0), ('INC', 0), ('PRB', 0), ('SR', 0),"
	  "  ('CHG', 0), ('KB', 0);"
	  "CREATE TABLE tickets (seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
	  "  account TEXT NOT NULL, status TEXT NOT NULL, priority TEXT, severity TEXT, assignee TEXT,"
	  "  group_name TEXT, title TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
	  "  data TEXT NOT NULL);"
	  "CREATE INDEX tickets_kind ON tickets (kind, seq);"
	  "CREATE INDEX tickets_account ON tickets (account, kind, seq);"
	  "CREATE INDEX tickets_status ON tickets (kind, status, seq);"
	  "CREATE INDEX tickets_priority ON tickets (kind, priority, seq);"
	  "CREATE INDEX tickets_assignee ON tickets (assignee, seq);"
	  "CREATE TABLE timeline (ticket TEXT NOT NULL, n BIGINT NOT NULL, at BIGINT NOT NULL, actor TEXT,"
	  "  type TEXT NOT NULL, visibility TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (ticket, n));"
	  "CREATE TABLE ticket_links (src TEXT NOT NULL, dst TEXT NOT NULL, type TEXT NOT NULL, at BIGINT NOT NULL,"
	  "  PRIMARY KEY (src, dst, type));"
	  "CREATE INDEX ticket_links_dst ON ticket_links (dst);"
	  "CREATE TABLE articles (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, account TEXT NOT NULL,"
	  "  title TEXT NOT NULL, body TEXT NOT NULL, source_ticket TEXT, created_by TEXT,"
	  "  created_at BIGINT NOT NULL);"
	  "CREATE TABLE audit (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, account TEXT,"
	  "  action TEXT NOT NULL, object TEXT, before_digest TEXT, after_digest TEXT, prev_hash TEXT NOT NULL,"
	  "  hash TEXT NOT NULL);"
	  "CREATE INDEX audit_account ON audit (account, seq);"
	  "CREATE TABLE audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);"
	  "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0,"
	  "  '0000000000000000000000000000000000000000000000000000000000000000');"
	  "CREATE TABLE outbox (id TEXT PRIMARY KEY, created_at BIGINT NOT NULL, topic TEXT NOT NULL,"
	  "  account TEXT, recipient TEXT, payload TEXT NOT NULL, status TEXT NOT NULL,"
	  "  attempts BIGINT NOT NULL DEFAULT 0, next_at BIGINT, last_error TEXT);"
	  "CREATE INDEX outbox_pending ON outbox (status, next_at);" },
	{ 50, "aws compat",
	  "CREATE TABLE access_keys (id TEXT PRIMARY KEY, principal TEXT NOT NULL, name TEXT, account TEXT,"
	  "  secret_enc TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT);"
	  "CREATE INDEX access_keys_principal ON access_keys (principal);"
	  "CREATE TABLE ops_items (id TEXT PRIMARY KEY, seq BIGINT NOT NULL UNIQUE, ticket TEXT NOT NULL,"
	  "  account TEXT NOT NULL, status TEXT NOT NULL, version BIGINT NOT NULL, dedup TEXT,"
	  "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, data TEXT NOT NULL);"
	  "CREATE INDEX ops_items_account ON ops_items (account, seq);"
	  "CREATE INDEX ops_items_dedup ON ops_items (account, dedup);" },
	{ 0, NULL, NULL },
};
