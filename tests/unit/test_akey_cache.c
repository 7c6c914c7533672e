/* Unit tests for the credential caches behind SigV4 calls, on a real SQLite store in a temporary
 * directory: akey_signer() (api/access_keys.c) and auth_principal() (http/auth.c) answer from memory,
 * and stop doing so when auth_invalidate() runs (a change committed on this daemon), when
 * akey_forget() drops a revoked key, or 5 s after caching (a change made by another daemon). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/access_keys.h"
#include "compat/sigv4.h"
#include "http/auth.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"

#define KEY1 "AKFW00000000000000A1"
#define KEY2 "AKFW00000000000000A2"
#define SECRET1 "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SECRET2 "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"

struct fixture {
	char dir[64];
	struct store *st;
};

static int sql_tx(struct store_conn *c, void *arg)
{
	return store_exec(c, arg, SNOARGS, NULL);
}

/* Writes behind the caches' back, as another daemon sharing the store would. */
static void sql(struct fixture *f, const char *stmt)
{
	assert_int_equal(store_write(f->st, sql_tx, (void *)stmt), 0);
}

static void add_key(struct fixture *f, const char *id, const char *secret, bool pinned)
{
	char *sealed = NULL, stmt[512];
	assert_int_equal(akey_seal(f->dir, id, secret, &sealed), 0);
	snprintf(stmt, sizeof(stmt),
		 "INSERT INTO access_keys (id, principal, name, account, secret_enc, created_at) "
		 "VALUES ('%s', 'prn-1', NULL, %s, '%s', 1)",
		 id, pinned ? "'111111111111'" : "NULL", sealed);
	sql(f, stmt);
	free(sealed);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char url[128], err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/fw-test-akey.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite://%s/a.db", f->dir);
	if (store_open(url, &f->st, err, sizeof(err)))
		fail_msg("store_open: %s", err);
	sql(f, "INSERT INTO principals (id, name, email, created_at, disabled) VALUES ('prn-1', 'alice', NULL, 1, 0)");
	sql(f, "INSERT INTO role_bindings (principal, account, role) VALUES ('prn-1', '111111111111', 'requester')");
	add_key(f, KEY1, SECRET1, true);
	add_key(f, KEY2, SECRET2, false);
	akey_cache_clear();
	auth_invalidate(NULL);
	time_set_offset_ms(0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	time_set_offset_ms(0);
	akey_cache_clear();
	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct store_conn *db(struct fixture *f)
{
	return store_reader(f->st);
}

static void assert_signs(struct fixture *f, const char *id, const char *secret, const char *region)
{
	struct akey k;
	unsigned char want[SIGV4_KEY_LEN];
	static const unsigned char zero[AKEY_SECRET_MAX];
	assert_int_equal(akey_signer(db(f), f->dir, id, "20240229", region, "support", &k), 0);
	assert_int_equal(sigv4_signing_key(secret, "20240229", region, "support", want), 0);
	assert_memory_equal(k.signing_key, want, SIGV4_KEY_LEN);
	/* The secret itself never leaves the cache. */
	assert_memory_equal(k.secret, zero, sizeof(k.secret));
	assert_string_equal(k.id, id);
	assert_string_equal(k.principal, "prn-1");
	akey_wipe(&k);
	assert_memory_equal(k.signing_key, zero, SIGV4_KEY_LEN);
}

static int signer_rc(struct fixture *f, const char *id)
{
	struct akey k;
	int rc = akey_signer(db(f), f->dir, id, "20240229", "us-east-1", "support", &k);
	akey_wipe(&k);
	return rc;
}

static void test_signer_matches_secret(void **state)
{
	struct fixture *f = *state;
	struct akey k;
	for (int round = 0; round < 3; round++) { /* a miss, then hits */
		assert_signs(f, KEY1, SECRET1, "us-east-1");
		assert_signs(f, KEY2, SECRET2, "us-east-1");
	}
	/* Another scope of a cached key: derived again, and right. */
	assert_signs(f, KEY1, SECRET1, "eu-west-1");
	assert_signs(f, KEY1, SECRET1, "us-east-1");
	assert_int_equal(akey_signer(db(f), f->dir, KEY1, "20240229", "us-east-1", "support", &k), 0);
	assert_string_equal(k.account, "111111111111");
	assert_int_equal(akey_signer(db(f), f->dir, KEY2, "20240229", "us-east-1", "support", &k), 0);
	assert_string_equal(k.account, "");
	assert_int_equal(signer_rc(f, "AKFW0000000000000000"), FW_ENOTFOUND);
	assert_int_equal(signer_rc(f, ""), FW_ENOTFOUND);
	assert_int_equal(signer_rc(f, "AKFW000000000000000000000000000000000000"), FW_ENOTFOUND);
}

/* A revocation committed through the API runs auth_invalidate() and akey_forget() after the commit. */
static void test_invalidate_and_forget(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(signer_rc(f, KEY1), 0);
	assert_int_equal(signer_rc(f, KEY2), 0);
	sql(f, "UPDATE access_keys SET revoked_at = 2, secret_enc = '' WHERE id IN ('" KEY1 "', '" KEY2 "')");
	/* Without either, the cache still answers: this is what the 5 s bound is for. */
	assert_int_equal(signer_rc(f, KEY1), 0);
	akey_forget((void *)KEY1);
	assert_int_equal(signer_rc(f, KEY1), FW_ENOTFOUND);
	assert_int_equal(signer_rc(f, KEY2), 0);
	auth_invalidate(NULL);
	assert_int_equal(signer_rc(f, KEY2), FW_ENOTFOUND);
}

/* A principal disabled, or a change made by another daemon: seen once the entry is 5 s old. */
static void test_ttl(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(signer_rc(f, KEY1), 0);
	sql(f, "UPDATE principals SET disabled = 1 WHERE id = 'prn-1'");
	time_set_offset_ms(4900);
	assert_int_equal(signer_rc(f, KEY1), 0);
	time_set_offset_ms(5001);
	assert_int_equal(signer_rc(f, KEY1), FW_ENOTFOUND);
	/* A clock that goes back does not make an entry young again. */
	sql(f, "UPDATE principals SET disabled = 0 WHERE id = 'prn-1'");
	auth_invalidate(NULL);
	assert_int_equal(signer_rc(f, KEY2), 0);
	sql(f, "UPDATE access_keys SET revoked_at = 2 WHERE id = '" KEY2 "'");
	time_set_offset_ms(-60000);
	assert_int_equal(signer_rc(f, KEY2), FW_ENOTFOUND);
}

/* Stale entries of keys nobody asks for again are wiped by the sweep, one slot per call. */
static void test_sweep_wipes_stale_secrets(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(signer_rc(f, KEY1), 0);
	assert_int_equal(signer_rc(f, KEY2), 0);
	assert_int_equal(akey_cache_size(), 2);
	for (int i = 0; i < 1024; i++) /* fresh entries survive the sweep */
		assert_int_equal(signer_rc(f, "AKFW0000000000000000"), FW_ENOTFOUND);
	assert_int_equal(akey_cache_size(), 2);
	time_set_offset_ms(5001);
	for (int i = 0; i < 1024; i++) /* unknown ids are not cached, but each call sweeps a slot */
		assert_int_equal(signer_rc(f, "AKFW0000000000000000"), FW_ENOTFOUND);
	assert_int_equal(akey_cache_size(), 0);
	assert_int_equal(signer_rc(f, KEY1), 0);
	auth_invalidate(NULL);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(signer_rc(f, "AKFW0000000000000000"), FW_ENOTFOUND);
	assert_int_equal(akey_cache_size(), 0);
}

static size_t bindings_on(struct fixture *f, const char *account)
{
	struct auth *a = NULL;
	size_t n = 0;
	assert_int_equal(auth_principal(db(f), "prn-1", &a), 0);
	for (size_t i = 0; i < a->nbindings; i++)
		n += strcmp(a->bindings[i].account, account) == 0;
	auth_free(a);
	return n;
}

static void test_principal_cache(void **state)
{
	struct fixture *f = *state;
	struct auth *a = NULL;
	assert_int_equal(bindings_on(f, "111111111111"), 1);
	/* A role removed and one added: seen at once after auth_invalidate() (bind_tx runs it). */
	sql(f, "DELETE FROM role_bindings WHERE principal = 'prn-1'");
	sql(f, "INSERT INTO role_bindings (principal, account, role) VALUES ('prn-1', '222222222222', 'viewer')");
	assert_int_equal(bindings_on(f, "111111111111"), 1);
	auth_invalidate(NULL);
	assert_int_equal(bindings_on(f, "111111111111"), 0);
	assert_int_equal(bindings_on(f, "222222222222"), 1);
	/* Changed elsewhere: seen after 5 s. */
	sql(f, "DELETE FROM role_bindings WHERE principal = 'prn-1'");
	assert_int_equal(bindings_on(f, "222222222222"), 1);
	time_set_offset_ms(5001);
	assert_int_equal(bindings_on(f, "222222222222"), 0);
	/* Copies are the caller's: freeing one leaves the cache intact. */
	assert_int_equal(auth_principal(db(f), "prn-1", &a), 0);
	auth_free(a);
	assert_int_equal(auth_principal(db(f), "prn-1", &a), 0);
	assert_string_equal(a->name, "alice");
	auth_free(a);
	assert_int_equal(auth_principal(db(f), "prn-unknown", &a), FW_EAUTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signer_matches_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalidate_and_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_wipes_stale_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_principal_cache, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
