/* /api/v1/principals/{id}/access-keys: AWS-style access keys for the SigV4 endpoint (compat/aws.c),
 * and the sealed storage of their secrets (see access_keys.h). */
#include "api/access_keys.h"
#include "api/api.h"
#include "audit/audit.h"
#include "compat/sigv4.h"
#include "config.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16

/* ---- the data-dir key ---- */

/* One daemon has one data dir; the key is read once and kept (tests may switch dirs: then reload). */
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;
static char key_dir[512];
static unsigned char key_bytes[KEY_LEN];
static int key_loaded;

static int read_key_file(const char *path, unsigned char *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? FW_ENOTFOUND : FW_EIO;
	ssize_t n = read(fd, out, KEY_LEN);
	close(fd);
	return n == KEY_LEN ? 0 : FW_EIO;
}

static int create_key_file(const char *path, unsigned char *out)
{
	if (RAND_bytes(out, KEY_LEN) != 1)
		return FW_EIO;
	/* O_EXCL: if another process created it first, use theirs. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? read_key_file(path, out) : FW_EIO;
	fchmod(fd, 0600);
	bool ok = write(fd, out, KEY_LEN) == KEY_LEN && fsync(fd) == 0;
	close(fd);
	if (!ok) {
		unlink(path);
		return FW_EIO;
	}
	return 0;
}

/* Copies the data dir's key into out, loading or creating keys.secret when needed. */
static int data_key(const char *data_dir, bool create, unsigned char *out)
{
	int rc = 0;
	pthread_mutex_lock(&key_mu);
	if (!key_loaded || strcmp(key_dir, data_dir) != 0) {
		char path[600];
		snprintf(path, sizeof(path), "%s/keys.secret", data_dir);
		rc = read_key_file(path, key_bytes);
		if (rc == FW_ENOTFOUND && create)
			rc = create_key_file(path, key_bytes);
		if (!rc) {
			snprintf(key_dir, sizeof(key_dir), "%s", data_dir);
			key_loaded = 1;
		} else {
			OPENSSL_cleanse(key_bytes, sizeof(key_bytes));
			key_loaded = 0;
			rc = FW_EIO;
		}
	}
	if (!rc)
		memcpy(out, key_bytes, KEY_LEN);
	pthread_mutex_unlock(&key_mu);
	return rc;
}

int akey_seal(const char *data_dir, const char *id, const char *secret, char **out)
{
	unsigned char key[KEY_LEN], blob[NONCE_LEN + AKEY_SECRET_MAX + TAG_LEN];
	size_t slen = strlen(secret);
	int len = 0, rc = FW_EIO;
	EVP_CIPHER_CTX *ctx = NULL;
	*out = NULL;
	if (slen >= AKEY_SECRET_MAX)
		return FW_ETOOBIG;
	if (data_key(data_dir, true, key))
		return FW_EIO;
	if (RAND_bytes(blob, NONCE_LEN) != 1 || !(ctx = EVP_CIPHER_CTX_new()))
		goto out;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, blob) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)id, (int)strlen(id)) != 1 ||
	    EVP_EncryptUpdate(ctx, blob + NONCE_LEN, &len, (const unsigned char *)secret, (int)slen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, blob + NONCE_LEN + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, blob + NONCE_LEN + slen) != 1)
		goto out;
	size_t blen = NONCE_LEN + slen + TAG_LEN;
	char *s = malloc(3 + 4 * ((blen + 2) / 3) + 1);
	if (!s) {
		rc = FW_ENOMEM;
		goto out;
	}
	memcpy(s, "v1:", 3);
	EVP_EncodeBlock((unsigned char *)s + 3, blob, (int)blen);
	*out = s;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(blob, sizeof(blob));
	return rc;
}

int akey_open(const char *data_dir, const char *id, const char *sealed, char *secret, size_t cap)
{
	unsigned char key[KEY_LEN], blob[3 * 64], plain[AKEY_SECRET_MAX];
	EVP_CIPHER_CTX *ctx = NULL;
	int len = 0, rc = FW_EIO;
	if (!sealed || strncmp(sealed, "v1:", 3) != 0)
		return FW_EIO;
	size_t b64 = strlen(sealed + 3);
	if (b64 == 0 || b64 % 4 || b64 / 4 * 3 > sizeof(blob))
		return FW_EIO;
	int n = EVP_DecodeBlock(blob, (const unsigned char *)sealed + 3, (int)b64);
	if (n < 0)
		return FW_EIO;
	/* EVP_DecodeBlock counts base64 padding as zero bytes. */
	if (sealed[3 + b64 - 1] == '=')
		n--;
	if (sealed[3 + b64 - 2] == '=')
		n--;
	if (n < NONCE_LEN + TAG_LEN + 1)
		return FW_EIO;
	size_t clen = (size_t)n - NONCE_LEN - TAG_LEN;
	if (clen >= sizeof(plain) || clen >= cap)
		return clen >= cap ? FW_ETOOBIG : FW_EIO;
	if (data_key(data_dir, false, key))
		return FW_EIO;
	if (!(ctx = EVP_CIPHER_CTX_new()))
		goto out;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, blob) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)id, (int)strlen(id)) != 1 ||
	    EVP_DecryptUpdate(ctx, plain, &len, blob + NONCE_LEN, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, blob + NONCE_LEN + clen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, plain + len, &len) != 1)
		goto out;
	memcpy(secret, plain, clen);
	secret[clen] = '\0';
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(blob, sizeof(blob));
	OPENSSL_cleanse(plain, sizeof(plain));
	return rc;
}

void akey_wipe(struct akey *k)
{
	OPENSSL_cleanse(k->secret, sizeof(k->secret));
	OPENSSL_cleanse(k->signing_key, sizeof(k->signing_key));
}

int akey_lookup(struct store_conn *c, const char *data_dir, const char *id, struct akey *out)
{
	struct store_rows *rows;
	memset(out, 0, sizeof(*out));
	if (!id || !*id || strlen(id) >= AKEY_ID_MAX)
		return FW_ENOTFOUND;
	int rc = store_query(c,
			     "SELECT k.principal, k.account, k.secret_enc FROM access_keys k "
			     "JOIN principals p ON p.id = k.principal "
			     "WHERE k.id = $1 AND k.revoked_at IS NULL AND p.disabled = 0",
			     SARGS(ST(id)), &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1) {
		store_rows_free(rows);
		return FW_ENOTFOUND;
	}
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->principal, sizeof(out->principal), "%s", store_text(rows, 0));
	snprintf(out->account, sizeof(out->account), "%s", store_text(rows, 1) ? store_text(rows, 1) : "");
	rc = akey_open(data_dir, id, store_text(rows, 2), out->secret, sizeof(out->secret));
	store_rows_free(rows);
	if (rc)
		akey_wipe(out);
	return rc ? FW_EIO : 0;
}

/* ---- the key cache ---- */

/* Every signed request needs its key's secret: a read transaction and an AES-GCM decryption, then four
 * HMACs to derive the signing key. Keys are cached here with their secret and the signing key of the
 * last scope (day, region, service) they signed for. An entry is good while the credential generation
 * of http/auth.c is the one read before its query (auth_invalidate() runs after any commit that touches
 * keys, principals or roles) and for AKEY_CACHE_TTL_MS at most, which bounds how long a key revoked
 * through another daemon sharing the PostgreSQL store still verifies here, as for tokens. Secrets and
 * signing keys leave memory through slot_wipe() when an entry is replaced, when its key is revoked here
 * (akey_forget() after the commit), and when it is stale: found so by a lookup, or by the sweep that
 * looks at one more slot on every call, so a stale secret of a key nobody uses any more is gone after
 * AKEY_CACHE_SLOTS calls. Unknown ids are not cached: each one costs a query, as before. */
#define AKEY_CACHE_SLOTS 512
#define AKEY_CACHE_TTL_MS 5000

struct akey_slot {
	struct akey k; /* k.id[0] == '\0': empty */
	char date[9], region[64], service[64]; /* the scope of k.signing_key; date[0] == '\0': none */
	int64_t cached_at;
	uint64_t gen;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct akey_slot cache[AKEY_CACHE_SLOTS];
static unsigned sweep_pos; /* under cache_mu */

static struct akey_slot *slot_of(const char *id)
{
	unsigned h = 2166136261u;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &cache[h % AKEY_CACHE_SLOTS];
}

static void slot_wipe(struct akey_slot *sl)
{
	OPENSSL_cleanse(sl, sizeof(*sl));
}

static bool slot_stale(const struct akey_slot *sl, uint64_t gen, int64_t now)
{
	return sl->gen != gen || now - sl->cached_at >= AKEY_CACHE_TTL_MS || now < sl->cached_at;
}

static bool scope_is(const struct akey_slot *sl, const char *date, const char *region, const char *service)
{
	return sl->date[0] && !strcmp(sl->date, date) && !strcmp(sl->region, region) && !strcmp(sl->service, service);
}

static void scope_set(struct akey_slot *sl, const char *date, const char *region, const char *service,
		      const unsigned char *key)
{
	snprintf(sl->date, sizeof(sl->date), "%s", date);
	snprintf(sl->region, sizeof(sl->region), "%s", region);
	snprintf(sl->service, sizeof(sl->service), "%s", service);
	memcpy(sl->k.signing_key, key, sizeof(sl->k.signing_key));
}

static bool scope_fits(const char *date, const char *region, const char *service)
{
	return strlen(date) < sizeof(cache[0].date) && strlen(region) < sizeof(cache[0].region) &&
	       strlen(service) < sizeof(cache[0].service);
}

int akey_signer(struct store_conn *c, const char *data_dir, const char *id, const char *date, const char *region,
		const char *service, struct akey *out)
{
	memset(out, 0, sizeof(*out));
	if (!id || !*id || strlen(id) >= AKEY_ID_MAX)
		return FW_ENOTFOUND;
	bool cacheable = scope_fits(date, region, service);
	int64_t now = time_now_ms();
	/* Read before the query: a commit that lands meanwhile leaves what we store already stale. */
	uint64_t gen = auth_generation();
	struct akey_slot *sl = slot_of(id);
	bool hit = false;
	int rc;

	pthread_mutex_lock(&cache_mu);
	struct akey_slot *sw = &cache[sweep_pos++ % AKEY_CACHE_SLOTS];
	if (sw->k.id[0] && slot_stale(sw, gen, now))
		slot_wipe(sw);
	if (sl->k.id[0] && slot_stale(sl, gen, now))
		slot_wipe(sl);
	if (sl->k.id[0] && !strcmp(sl->k.id, id)) {
		hit = true;
		*out = sl->k;
		if (cacheable && scope_is(sl, date, region, service)) {
			OPENSSL_cleanse(out->secret, sizeof(out->secret));
			pthread_mutex_unlock(&cache_mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&cache_mu);

	if (!hit && (rc = akey_lookup(c, data_dir, id, out)))
		return rc;
	if ((rc = sigv4_signing_key(out->secret, date, region, service, out->signing_key))) {
		akey_wipe(out);
		return FW_EIO;
	}
	pthread_mutex_lock(&cache_mu);
	if (auth_generation() == gen) {
		if (!hit && strcmp(sl->k.id, id) != 0) {
			slot_wipe(sl);
			sl->k = *out;
			sl->cached_at = now;
			sl->gen = gen;
		}
		if (cacheable && !strcmp(sl->k.id, id) && sl->gen == gen)
			scope_set(sl, date, region, service, out->signing_key);
	}
	pthread_mutex_unlock(&cache_mu);
	OPENSSL_cleanse(out->secret, sizeof(out->secret));
	return 0;
}

void akey_forget(void *id)
{
	pthread_mutex_lock(&cache_mu);
	struct akey_slot *sl = slot_of(id);
	if (!strcmp(sl->k.id, id))
		slot_wipe(sl);
	pthread_mutex_unlock(&cache_mu);
}

size_t akey_cache_size(void)
{
	size_t n = 0;
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < AKEY_CACHE_SLOTS; i++)
		n += cache[i].k.id[0] != '\0';
	pthread_mutex_unlock(&cache_mu);
	return n;
}

void akey_cache_clear(void)
{
	pthread_mutex_lock(&cache_mu);
	OPENSSL_cleanse(cache, sizeof(cache));
	pthread_mutex_unlock(&cache_mu);
}

/* ---- the API ---- */

/* The principal's bindings, or NULL when it does not exist. */
static json_t *principal_roles(struct store_conn *c, const char *id)
{
	int64_t one;
	if (store_query_int(c, "SELECT 1 FROM principals WHERE id = $1", SARGS(ST(id)), &one))
		return NULL;
	json_t *roles = json_array();
	struct store_rows *rows;
	if (!store_query(c, "SELECT account, role FROM role_bindings WHERE principal = $1 ORDER BY account", SARGS(ST(id)),
			 &rows)) {
		while (store_next(rows) == 1)
			json_array_append_new(roles, json_pack("{s:s,s:s}", "account", store_text(rows, 0), "role",
							       store_text(rows, 1)));
		store_rows_free(rows);
	}
	return roles;
}

/* As for tokens: keys of yourself, or of principals bound to an account you administer. */
static bool may_manage(struct req *r, const char *pid, json_t *roles)
{
	if (auth_global(r, PERM_ADMIN) || !strcmp(pid, r->auth->principal))
		return true;
	for (size_t i = 0; i < json_array_size(roles); i++) {
		const char *acc = jv_str(json_array_get(roles, i), "account");
		if (strcmp(acc, "*") && (auth_perms(r, acc) & PERM_ADMIN))
			return true;
	}
	return false;
}

/* Loads the principal of the path and checks the caller may manage its keys (404 otherwise). */
static int load_principal(struct req *r, json_t **roles)
{
	*roles = principal_roles(req_db(r), req_param(r, 0));
	if (!*roles || !may_manage(r, req_param(r, 0), *roles)) {
		json_decref(*roles);
		*roles = NULL;
		return req_fail(r, 404, "not_found", "principal %.40s not found", req_param(r, 0));
	}
	return 0;
}

static const struct jv_field key_fields[] = {
	{ "name", JV_STRING, JV_NULLABLE, 80, NULL },
	{ "account", JV_STRING, JV_NULLABLE, 12, NULL },
	{ NULL },
};

struct key_ctx {
	const char *id, *principal, *name, *account, *sealed, *actor;
	bool revoke;
	struct fw_error err;
};

static int key_tx(struct store_conn *c, void *arg)
{
	struct key_ctx *x = arg;
	int rc;
	/* Cached keys of this daemon stop verifying once the revocation commits, and the secret is wiped
	 * from memory (x->id outlives the hooks: they run before store_write() returns). */
	store_after_commit(c, auth_invalidate, NULL);
	if (x->revoke) {
		store_after_commit(c, akey_forget, (void *)x->id);
		int64_t n = 0;
		/* The sealed secret is dropped with the key: a revoked key can never verify again. */
		rc = store_exec(c,
				"UPDATE access_keys SET revoked_at = $3, secret_enc = '' "
				"WHERE id = $1 AND principal = $2 AND revoked_at IS NULL",
				SARGS(ST(x->id), ST(x->principal), SI(time_now_ms())), &n);
		if (!rc && n == 0)
			return fw_fail(&x->err, 404, "not_found", "access key %s not found or already revoked", x->id);
	} else {
		rc = store_exec(c,
				"INSERT INTO access_keys (id, principal, name, account, secret_enc, created_at) "
				"VALUES ($1,$2,$3,$4,$5,$6)",
				SARGS(ST(x->id), ST(x->principal), ST(x->name), ST(x->account), ST(x->sealed),
				      SI(time_now_ms())),
				NULL);
	}
	if (!rc) {
		json_t *after = json_pack("{s:s,s:s?}", "principal", x->principal, "account", x->account);
		rc = audit_append(c, x->actor, x->account, x->revoke ? "access_key.revoke" : "access_key.create", x->id,
				  NULL, after);
		json_decref(after);
	}
	return rc;
}

/* 30 random bytes are 40 base64 characters: the length and alphabet of AWS secrets. */
static int new_secret(char *out, size_t cap)
{
	unsigned char raw[30];
	if (cap < 41 || RAND_bytes(raw, sizeof(raw)) != 1)
		return FW_EIO;
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

static int new_key_id(char *out, size_t cap)
{
	unsigned char raw[8];
	static const char hx[] = "0123456789ABCDEF";
	if (cap < 21 || RAND_bytes(raw, sizeof(raw)) != 1)
		return FW_EIO;
	memcpy(out, "AKFW", 4);
	for (int i = 0; i < 8; i++) {
		out[4 + 2 * i] = hx[raw[i] >> 4];
		out[5 + 2 * i] = hx[raw[i] & 15];
	}
	out[20] = '\0';
	return 0;
}

static int h_key_create(struct req *r)
{
	json_t *body = NULL, *roles = NULL;
	struct fw_error e;
	char id[AKEY_ID_MAX], secret[AKEY_SECRET_MAX];
	char *sealed = NULL;
	int rc;
	if (r->body.len && (rc = req_body_json(r, false, &body)))
		return rc;
	if (body && (rc = jv_check(body, key_fields, &e))) {
		rc = req_fail_from(r, &e);
		goto out;
	}
	if ((rc = load_principal(r, &roles)))
		goto out;
	const char *account = jv_str(body, "account");
	if (account) {
		/* A pinned account must be one the principal itself may use. */
		bool bound = false;
		for (size_t i = 0; i < json_array_size(roles); i++) {
			const char *acc = jv_str(json_array_get(roles, i), "account");
			if (!strcmp(acc, "*") || !strcmp(acc, account))
				bound = true;
		}
		char *parent = NULL;
		if (!bound && api_account_id_ok(account) &&
		    !store_query_str(req_db(r), "SELECT parent FROM accounts WHERE id = $1", SARGS(ST(account)),
				     &parent) && parent) {
			for (size_t i = 0; i < json_array_size(roles); i++)
				if (!strcmp(jv_str(json_array_get(roles, i), "account"), parent))
					bound = true;
		}
		free(parent);
		if (!api_account_id_ok(account) || !bound) {
			rc = req_fail(r, 422, "invalid_field",
				      "field 'account' must be a 12-digit account the principal has a role on");
			goto out;
		}
	}
	if (new_key_id(id, sizeof(id)) || new_secret(secret, sizeof(secret))) {
		rc = req_fail(r, 500, "internal", "no randomness available to make a key");
		goto out;
	}
	if ((rc = akey_seal(r->srv->cfg->data_dir, id, secret, &sealed))) {
		rc = req_fail(r, 500, "internal", "the secret could not be sealed: is %s/keys.secret readable?",
			      r->srv->cfg->data_dir);
		goto out;
	}
	struct key_ctx x = { .id = id, .principal = req_param(r, 0), .name = jv_str(body, "name"), .account = account,
			     .sealed = sealed, .actor = api_actor(r) };
	if ((rc = store_write(r->srv->store, key_tx, &x))) {
		rc = x.err.status ? req_fail_from(r, &x.err) : rc;
		goto out;
	}
	char ts[32];
	time_fmt_ms(time_now_ms(), ts, sizeof(ts));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s}", "access_key_id", id, "secret_access_key", secret,
			      "principal", req_param(r, 0), "account", account, "name", jv_str(body, "name"),
			      "created_at", ts);
	char loc[128];
	snprintf(loc, sizeof(loc), "/api/v1/principals/%s/access-keys/%s", req_param(r, 0), id);
	req_header(r, "Location", loc);
	req_json(r, 201, o);
	/* The response keeps its own copy of the secret until it is sent; ours is wiped now. */
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	free(sealed);
	json_decref(roles);
	json_decref(body);
	return rc;
}

static int h_key_list(struct req *r)
{
	json_t *roles;
	int rc = load_principal(r, &roles);
	if (rc)
		return rc;
	json_decref(roles);
	struct store_rows *rows;
	rc = store_query(req_db(r),
			 "SELECT id, name, account, created_at, revoked_at FROM access_keys WHERE principal = $1 "
			 "ORDER BY created_at, id",
			 SARGS(ST(req_param(r, 0))), &rows);
	if (rc)
		return rc;
	json_t *items = json_array();
	while (store_next(rows) == 1) {
		char c[32], rv[32];
		time_fmt_ms(store_int(rows, 3), c, sizeof(c));
		time_fmt_ms(store_isnull(rows, 4) ? -1 : store_int(rows, 4), rv, sizeof(rv));
		json_array_append_new(items,
				      json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:s?,s:s}", "access_key_id", store_text(rows, 0),
						"principal", req_param(r, 0), "name", store_text(rows, 1), "account",
						store_text(rows, 2), "created_at", c, "revoked_at", rv[0] ? rv : NULL,
						"status", rv[0] ? "revoked" : "active"));
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, 0));
}

static int h_key_revoke(struct req *r)
{
	json_t *roles;
	int rc = load_principal(r, &roles);
	if (rc)
		return rc;
	json_decref(roles);
	struct key_ctx x = { .id = req_param(r, 1), .principal = req_param(r, 0), .actor = api_actor(r), .revoke = true };
	if ((rc = store_write(r->srv->store, key_tx, &x)))
		return x.err.status ? req_fail_from(r, &x.err) : rc;
	return req_json(r, 200, json_pack("{s:s,s:b}", "access_key_id", req_param(r, 1), "revoked", 1));
}

const struct route api_access_key_routes[] = {
	{ "POST", "/api/v1/principals/{id}/access-keys", h_key_create, 0 },
	{ "GET", "/api/v1/principals/{id}/access-keys", h_key_list, 0 },
	{ "DELETE", "/api/v1/principals/{id}/access-keys/{key}", h_key_revoke, 0 },
	{ NULL, NULL, NULL, 0 },
};
