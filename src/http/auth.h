#ifndef FW_AUTH_H
#define FW_AUTH_H
/* Callers, roles and accounts.
 *
 * A principal has role bindings (account, role); the account "*" means every account. A binding on
 * an organization's management account also applies to its member accounts (accounts whose parent
 * is that account). Roles grant permissions:
 *   viewer: read; requester: read, submit; operator: read, submit, work; approver: read, submit,
 *   approve; admin: everything in the account; auditor: read, audit.
 * Objects of an account the caller cannot see are reported as not found (404), never 403. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct req;
struct store;
struct store_conn;

enum {
	PERM_READ = 1u,
	PERM_SUBMIT = 2u,  /* create tickets and requests, comment */
	PERM_WORK = 4u,    /* operate tickets: assign, transition, resolve */
	PERM_APPROVE = 8u, /* approve changes and requests */
	PERM_ADMIN = 16u,  /* accounts, principals, tokens, content */
	PERM_AUDIT = 32u,  /* read the audit log */
	PERM_ALL = 63u,
};

struct auth_binding {
	char account[16]; /* 12 digits or "*" */
	char role[16];
};

struct auth {
	char principal[40];
	char name[80];
	char token_id[40];
	struct auth_binding *bindings;
	size_t nbindings;
	bool global_admin; /* admin on "*" */
};

extern const char *const auth_roles[]; /* NULL-terminated list of role names */
unsigned auth_role_perms(const char *role);

/* Authenticates a bearer token (or the password of HTTP basic auth). On success *out is a new
 * struct auth the caller frees with auth_free(). Returns 0, FW_EAUTH (unknown, expired, revoked)
 * or FW_ESTORE. */
int auth_token(struct store_conn *c, const char *token, struct auth **out);
/* Same for a principal id (used by SigV4 access keys once the signature checked out). Cached like
 * tokens: until auth_invalidate() or for at most 5 s. */
int auth_principal(struct store_conn *c, const char *principal, struct auth **out);
void auth_free(struct auth *a);

/* Drops cached credentials and account parents. Call it after any commit that changes tokens,
 * access keys, principals, role bindings or accounts: store_after_commit(c, auth_invalidate, NULL). */
void auth_invalidate(void *unused);
/* The credential cache generation: auth_invalidate() increments it. Other credential caches (access
 * keys) read it before their store query and keep it with the entry; an entry whose generation is no
 * longer current is stale. */
uint64_t auth_generation(void);

/* Permission mask of the caller on account (0 when the account does not exist or is not visible). */
unsigned auth_perms(struct req *r, const char *account);
/* Checks the caller holds perm on account: 0, or sets a 404 (account not visible) or 403 (role too
 * weak) error on r and returns its code. what names the object for the 404 message. */
int auth_require(struct req *r, const char *account, unsigned perm, const char *what);
/* Appends to an SQL buffer "col IN ('…','…')" limiting to accounts where the caller has perm, or
 * nothing when the caller is a global admin. Returns true when the caller can see any account. */
struct buf;
bool auth_account_filter(struct req *r, unsigned perm, const char *col, struct buf *sql);
/* True when the caller holds perm on every account ("*" binding with that permission). */
bool auth_global(struct req *r, unsigned perm);

/* Creates the first admin principal and token when no principal exists. The token is written to
 * path (mode 0600). Returns 0 (also when an admin exists already) or an error. */
int auth_bootstrap(struct store *st, const char *path, bool *created);
/* Generates a token secret "fw_…" into out (cap ≥ 64) and its SHA-256 hex into hash. */
int auth_new_token(char *out, size_t cap, char hash[65]);

#endif
