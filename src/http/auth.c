#include "http/auth.h"
#include "audit/audit.h"
#include "http/req.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Credential (token, principal) and account-parent and -member caches. Every request authenticates and checks
 * account parents; without a cache that is several read transactions per request. Entries are
 * dropped when the generation changes (any commit touching tokens, access keys, principals, role
 * bindings or accounts calls auth_invalidate()) and after CACHE_TTL_MS, which bounds staleness when
 * several daemons share one PostgreSQL. The access-key cache (api/access_keys.c) follows the same
 * generation and bound. */
#define CACHE_SLOTS 1024
#define CACHE_TTL_MS 5000

struct token_slot {
	char hash[65];
	struct auth *a; /* template, copied out */
	int64_t expires_at; /* token expiry, 0 = none */
	int64_t cached_at;
	uint64_t gen;
};

struct principal_slot {
	char principal[40];
	struct auth *a; /* template, copied out; NULL when empty */
	int64_t cached_at;
	uint64_t gen;
};

struct parent_slot {
	char account[16];
	char parent[16];
	bool exists;
	int64_t cached_at;
	uint64_t gen;
};

/* The member accounts of an account, as the SQL list auth_account_filter() appends. */
struct children_slot {
	char account[16];
	char *ids; /* ",'111111111112',…" or "" (owned); NULL when empty */
	int64_t cached_at;
	uint64_t gen;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct token_slot token_cache[CACHE_SLOTS];
static struct principal_slot principal_cache[CACHE_SLOTS];
static struct parent_slot parent_cache[CACHE_SLOTS];
static struct children_slot children_cache[CACHE_SLOTS];
static _Atomic uint64_t cache_gen = 1;

void auth_invalidate(void *unused)
{
	(void)unused;
	atomic_fetch_add(&cache_gen, 1);
}

uint64_t auth_generation(void)
{
	return atomic_load(&cache_gen);
}

static unsigned slot_of(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % CACHE_SLOTS;
}

static struct auth *auth_copy(const struct auth *a)
{
	struct auth *c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	*c = *a;
	c->bindings = NULL;
	if (a->nbindings) {
		c->bindings = malloc(a->nbindings * sizeof(*c->bindings));
		if (!c->bindings) {
			free(c);
			return NULL;
		}
		memcpy(c->bindings, a->bindings, a->nbindings * sizeof(*c->bindings));
	}
	return c;
}

const char *const auth_roles[] = { "viewer", "requester", "operator", "approver", "admin", "auditor", NULL };

unsigned auth_role_perms(const char *role)
{
	if (strcmp(role, "viewer") == 0)
		return PERM_READ;
	if (strcmp(role, "requester") == 0)
		return PERM_READ | PERM_SUBMIT;
	if (strcmp(role, "operator") == 0)
		return PERM_READ | PERM_SUBMIT | PERM_WORK;
	if (strcmp(role, "approver") == 0)
		return PERM_READ | PERM_SUBMIT | PERM_APPROVE;
	if (strcmp(role, "admin") == 0)
		return PERM_ALL;
	if (strcmp(role, "auditor") == 0)
		return PERM_READ | PERM_AUDIT;
	return 0;
}

void auth_free(struct auth *a)
{
	if (a) {
		free(a->bindings);
		free(a);
	}
}

static int load_bindings(struct store_conn *c, struct auth *a)
{
	struct store_rows *rows;
	int rc = store_query(c, "SELECT account, role FROM role_bindings WHERE principal = $1", SARGS(ST(a->principal)),
			     &rows);
	if (rc)
		return rc;
	size_t cap = 0;
	while ((rc = store_next(rows)) == 1) {
		if (a->nbindings == cap) {
			cap = cap ? cap * 2 : 8;
			struct auth_binding *nb = realloc(a->bindings, cap * sizeof(*nb));
			if (!nb) {
				rc = FW_ENOMEM;
				break;
			}
			a->bindings = nb;
		}
		struct auth_binding *b = &a->bindings[a->nbindings++];
		snprintf(b->account, sizeof(b->account), "%s", store_text(rows, 0));
		snprintf(b->role, sizeof(b->role), "%s", store_text(rows, 1));
		if (strcmp(b->account, "*") == 0 && strcmp(b->role, "admin") == 0)
			a->global_admin = true;
	}
	store_rows_free(rows);
	return rc < 0 ? rc : 0;
}

static int principal_load(struct store_conn *c, const char *principal, struct auth **out)
{
	struct store_rows *rows;
	int rc = store_query(c, "SELECT id, name FROM principals WHERE id = $1 AND disabled = 0", SARGS(ST(principal)),
			     &rows);
	if (rc)
		return rc;
	struct auth *a = calloc(1, sizeof(*a));
	if (!a) {
		store_rows_free(rows);
		return FW_ENOMEM;
	}
	if (store_next(rows) != 1) {
		store_rows_free(rows);
		free(a);
		return FW_EAUTH;
	}
	snprintf(a->principal, sizeof(a->principal), "%s", store_text(rows, 0));
	snprintf(a->name, sizeof(a->name), "%s", store_text(rows, 1));
	store_rows_free(rows);
	rc = load_bindings(c, a);
	if (rc) {
		auth_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

int auth_principal(struct store_conn *c, const char *principal, struct auth **out)
{
	if (!principal || strlen(principal) >= sizeof(principal_cache[0].principal))
		return principal_load(c, principal ? principal : "", out);
	int64_t now = time_now_ms();
	/* Read before the query: a commit that lands while we query leaves our entry already stale. */
	uint64_t gen = atomic_load(&cache_gen);
	struct principal_slot *sl = &principal_cache[slot_of(principal)];

	pthread_mutex_lock(&cache_lock);
	if (sl->a && sl->gen == gen && now - sl->cached_at < CACHE_TTL_MS && strcmp(sl->principal, principal) == 0) {
		*out = auth_copy(sl->a);
		pthread_mutex_unlock(&cache_lock);
		return *out ? 0 : FW_ENOMEM;
	}
	pthread_mutex_unlock(&cache_lock);

	int rc = principal_load(c, principal, out);
	if (rc)
		return rc;
	struct auth *tmpl = auth_copy(*out);
	pthread_mutex_lock(&cache_lock);
	auth_free(sl->a);
	sl->a = tmpl;
	snprintf(sl->principal, sizeof(sl->principal), "%s", principal);
	sl->cached_at = now;
	sl->gen = gen;
	pthread_mutex_unlock(&cache_lock);
	return 0;
}

static int token_lookup(struct store_conn *c, const char *hash, struct auth **out, int64_t *expires_at)
{
	struct store_rows *rows;
	int rc = store_query(c,
			     "SELECT t.id, t.principal, t.expires_at, t.revoked_at FROM tokens t "
			     "JOIN principals p ON p.id = t.principal WHERE t.hash = $1 AND p.disabled = 0",
			     SARGS(ST(hash)), &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1) {
		store_rows_free(rows);
		return FW_EAUTH;
	}
	*expires_at = store_isnull(rows, 2) ? 0 : store_int(rows, 2);
	bool revoked = !store_isnull(rows, 3);
	char tid[40], principal[40];
	snprintf(tid, sizeof(tid), "%s", store_text(rows, 0));
	snprintf(principal, sizeof(principal), "%s", store_text(rows, 1));
	store_rows_free(rows);
	if (revoked)
		return FW_EAUTH;
	rc = auth_principal(c, principal, out);
	if (!rc)
		snprintf((*out)->token_id, sizeof((*out)->token_id), "%s", tid);
	return rc;
}

int auth_token(struct store_conn *c, const char *token, struct auth **out)
{
	char hash[65];
	if (!token || strlen(token) < 8 || strlen(token) > 200)
		return FW_EAUTH;
	crypto_sha256_hex(token, strlen(token), hash);
	int64_t now = time_now_ms();
	uint64_t gen = atomic_load(&cache_gen);
	struct token_slot *sl = &token_cache[slot_of(hash)];

	pthread_mutex_lock(&cache_lock);
	if (sl->a && sl->gen == gen && now - sl->cached_at < CACHE_TTL_MS && strcmp(sl->hash, hash) == 0) {
		bool expired = sl->expires_at && sl->expires_at <= now;
		*out = expired ? NULL : auth_copy(sl->a);
		pthread_mutex_unlock(&cache_lock);
		return expired ? FW_EAUTH : *out ? 0 : FW_ENOMEM;
	}
	pthread_mutex_unlock(&cache_lock);

	int64_t expires_at = 0;
	int rc = token_lookup(c, hash, out, &expires_at);
	if (rc)
		return rc;
	if (expires_at && expires_at <= now) {
		auth_free(*out);
		*out = NULL;
		return FW_EAUTH;
	}
	struct auth *tmpl = auth_copy(*out);
	pthread_mutex_lock(&cache_lock);
	auth_free(sl->a);
	sl->a = tmpl;
	snprintf(sl->hash, sizeof(sl->hash), "%s", hash);
	sl->expires_at = expires_at;
	sl->cached_at = now;
	sl->gen = gen;
	pthread_mutex_unlock(&cache_lock);
	return 0;
}

/* The parent of account (empty when none). Returns false when the account does not exist. */
static bool account_parent(struct store_conn *c, const char *account, char parent[16])
{
	int64_t now = time_now_ms();
	uint64_t gen = atomic_load(&cache_gen);
	struct parent_slot *sl = &parent_cache[slot_of(account)];
	pthread_mutex_lock(&cache_lock);
	if (sl->gen == gen && now - sl->cached_at < CACHE_TTL_MS && strcmp(sl->account, account) == 0) {
		bool exists = sl->exists;
		snprintf(parent, 16, "%s", sl->parent);
		pthread_mutex_unlock(&cache_lock);
		return exists;
	}
	pthread_mutex_unlock(&cache_lock);
	char *p = NULL;
	int rc = store_query_str(c, "SELECT parent FROM accounts WHERE id = $1", SARGS(ST(account)), &p);
	if (rc && rc != FW_ENOTFOUND)
		return false; /* store trouble: do not cache */
	snprintf(parent, 16, "%s", p ? p : "");
	free(p);
	if (strlen(account) < sizeof(sl->account)) {
		pthread_mutex_lock(&cache_lock);
		snprintf(sl->account, sizeof(sl->account), "%s", account);
		snprintf(sl->parent, sizeof(sl->parent), "%s", parent);
		sl->exists = rc == 0;
		sl->cached_at = now;
		sl->gen = gen;
		pthread_mutex_unlock(&cache_lock);
	}
	return rc == 0;
}

static unsigned binding_perms(const struct auth *a, const char *account)
{
	unsigned p = 0;
	for (size_t i = 0; i < a->nbindings; i++)
		if (strcmp(a->bindings[i].account, "*") == 0 || strcmp(a->bindings[i].account, account) == 0)
			p |= auth_role_perms(a->bindings[i].role);
	return p;
}

unsigned auth_perms(struct req *r, const char *account)
{
	struct auth *a = r->auth;
	char parent[16];
	if (!a || !account || strlen(account) > 12)
		return 0;
	if (!account_parent(store_reader_nowait(r->srv->store), account, parent))
		return 0; /* no such account: invisible to everyone */
	unsigned p = binding_perms(a, account);
	if (parent[0])
		p |= binding_perms(a, parent); /* the management account acts for its members */
	return p;
}

bool auth_global(struct req *r, unsigned perm)
{
	return r->auth && (binding_perms(r->auth, "*") & perm) == perm;
}

int auth_require(struct req *r, const char *account, unsigned perm, const char *what)
{
	unsigned p = auth_perms(r, account);
	if (!(p & PERM_READ) && !(p & perm))
		return req_fail(r, 404, "not_found", "%s not found", what);
	if ((p & perm) != perm)
		return req_fail(r, 403, "forbidden", "your role on account %s does not allow this", account);
	return 0;
}

/* Appends ",'id'" to sql for every member account of account (accounts whose parent it is). */
static void append_children(struct req *r, const char *account, struct buf *sql)
{
	int64_t now = time_now_ms();
	uint64_t gen = atomic_load(&cache_gen);
	struct children_slot *sl = &children_cache[slot_of(account)];
	pthread_mutex_lock(&cache_lock);
	if (sl->ids && sl->gen == gen && now - sl->cached_at < CACHE_TTL_MS && strcmp(sl->account, account) == 0) {
		buf_puts(sql, sl->ids);
		pthread_mutex_unlock(&cache_lock);
		return;
	}
	pthread_mutex_unlock(&cache_lock);
	struct buf ids = BUF_INIT(sql->max);
	struct store_rows *rows;
	if (store_query(store_reader_nowait(r->srv->store), "SELECT id FROM accounts WHERE parent = $1",
			SARGS(ST(account)), &rows))
		return; /* store trouble: no members, and nothing cached */
	while (store_next(rows) == 1)
		buf_printf(&ids, ",'%s'", store_text(rows, 0));
	store_rows_free(rows);
	buf_puts(sql, buf_str(&ids));
	char *list = strlen(account) < sizeof(sl->account) ? buf_detach(&ids) : NULL;
	buf_release(&ids);
	if (!list)
		return;
	pthread_mutex_lock(&cache_lock);
	free(sl->ids);
	sl->ids = list;
	snprintf(sl->account, sizeof(sl->account), "%s", account);
	sl->cached_at = now;
	sl->gen = gen;
	pthread_mutex_unlock(&cache_lock);
}

bool auth_account_filter(struct req *r, unsigned perm, const char *col, struct buf *sql)
{
	struct auth *a = r->auth;
	if (auth_global(r, perm))
		return true;
	bool any = false;
	buf_printf(sql, " AND %s IN (", col);
	for (size_t i = 0; a && i < a->nbindings; i++) {
		if ((auth_role_perms(a->bindings[i].role) & perm) != perm || strcmp(a->bindings[i].account, "*") == 0)
			continue;
		/* Account ids were validated as 12 digits when the binding was made: safe to inline. */
		buf_printf(sql, "%s'%s'", any ? "," : "", a->bindings[i].account);
		any = true;
		append_children(r, a->bindings[i].account, sql);
	}
	if (!any)
		buf_puts(sql, "NULL");
	buf_puts(sql, ")");
	return any;
}

int auth_new_token(char *out, size_t cap, char hash[65])
{
	char hex[41];
	if (crypto_random_hex(20, hex, sizeof(hex)))
		return FW_EIO;
	snprintf(out, cap, "fw_%s", hex);
	crypto_sha256_hex(out, strlen(out), hash);
	return 0;
}

struct bootstrap {
	char token[64];
	bool created;
};

static int bootstrap_tx(struct store_conn *c, void *ctx)
{
	struct bootstrap *b = ctx;
	int64_t n = 0;
	int rc = store_query_int(c, "SELECT COUNT(*) FROM principals", SNOARGS, &n);
	if (rc || n > 0)
		return rc;
	char hash[65], pid[40], tid[40], hex[17];
	crypto_random_hex(8, hex, sizeof(hex));
	snprintf(pid, sizeof(pid), "prn-%s", hex);
	crypto_random_hex(8, hex, sizeof(hex));
	snprintf(tid, sizeof(tid), "tok-%s", hex);
	if (auth_new_token(b->token, sizeof(b->token), hash))
		return FW_EIO;
	int64_t now = time_now_ms();
	rc = store_exec(c, "INSERT INTO principals (id, name, email, created_at, disabled) VALUES ($1,'admin',NULL,$2,0)",
			SARGS(ST(pid), SI(now)), NULL);
	if (!rc)
		rc = store_exec(c, "INSERT INTO role_bindings (principal, account, role) VALUES ($1,'*','admin')",
				SARGS(ST(pid)), NULL);
	if (!rc)
		rc = store_exec(c, "INSERT INTO tokens (id, principal, hash, name, created_at) "
				   "VALUES ($1,$2,$3,'bootstrap',$4)",
				SARGS(ST(tid), ST(pid), ST(hash), SI(now)), NULL);
	if (!rc)
		rc = audit_append(c, "system", NULL, "principal.bootstrap", pid, NULL, NULL);
	b->created = rc == 0;
	return rc;
}

int auth_bootstrap(struct store *st, const char *path, bool *created)
{
	struct bootstrap b = { 0 };
	int rc = store_write(st, bootstrap_tx, &b);
	*created = b.created;
	if (rc || !b.created)
		return rc;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return FW_EIO;
	fchmod(fd, 0600);
	size_t len = strlen(b.token);
	bool ok = write(fd, b.token, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
	close(fd);
	explicit_bzero(b.token, sizeof(b.token));
	return ok ? 0 : FW_EIO;
}
