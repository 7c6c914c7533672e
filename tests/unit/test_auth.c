/* Unit tests for API tokens and role permissions (src/http/auth.c): the token format, that only a
 * SHA-256 of it is stored, and what each role may do. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "util/crypto.h"

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return s[n] == '\0';
}

static void test_token_format_and_hash(void **s)
{
	char tok[64], hash[65], again[65];
	assert_int_equal(auth_new_token(tok, sizeof(tok), hash), 0);
	/* "fw_" + 40 hex digits (160 random bits). */
	assert_int_equal(strlen(tok), 43);
	assert_memory_equal(tok, "fw_", 3);
	assert_true(all_hex(tok + 3, 40));
	/* The stored form is the SHA-256 of the whole token, not the token. */
	assert_true(all_hex(hash, 64));
	crypto_sha256_hex(tok, strlen(tok), again);
	assert_string_equal(hash, again);
	assert_null(strstr(hash, tok + 3));
}

static void test_tokens_are_unique(void **s)
{
	char a[64], b[64], ha[65], hb[65];
	for (int i = 0; i < 100; i++) {
		assert_int_equal(auth_new_token(a, sizeof(a), ha), 0);
		assert_int_equal(auth_new_token(b, sizeof(b), hb), 0);
		assert_string_not_equal(a, b);
		assert_string_not_equal(ha, hb);
	}
}

static void test_sha256_known_answer(void **s)
{
	char h[65];
	crypto_sha256_hex("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypto_sha256_hex("", 0, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_constant_time_compare(void **s)
{
	assert_true(crypto_streq("fw_abc", "fw_abc"));
	assert_false(crypto_streq("fw_abc", "fw_abd"));
	assert_false(crypto_streq("fw_abc", "fw_ab"));
	assert_false(crypto_streq("", "x"));
}

static void test_role_perms(void **s)
{
	assert_int_equal(auth_role_perms("viewer"), PERM_READ);
	assert_int_equal(auth_role_perms("requester"), PERM_READ | PERM_SUBMIT);
	assert_int_equal(auth_role_perms("operator"), PERM_READ | PERM_SUBMIT | PERM_WORK);
	assert_int_equal(auth_role_perms("approver"), PERM_READ | PERM_SUBMIT | PERM_APPROVE);
	assert_int_equal(auth_role_perms("admin"), PERM_ALL);
	assert_int_equal(auth_role_perms("auditor"), PERM_READ | PERM_AUDIT);
	assert_int_equal(auth_role_perms("root"), 0);
	assert_int_equal(auth_role_perms("Admin"), 0);
	assert_int_equal(auth_role_perms(""), 0);
}

static void test_separation_of_duties(void **s)
{
	/* An operator works tickets but cannot approve; an approver approves but cannot work them. */
	assert_false(auth_role_perms("operator") & PERM_APPROVE);
	assert_false(auth_role_perms("approver") & PERM_WORK);
	/* Only admins administer; only admins and auditors read the audit log. */
	for (const char *const *r = auth_roles; *r; r++) {
		unsigned p = auth_role_perms(*r);
		assert_int_not_equal(p, 0);        /* every listed role means something */
		assert_true(p & PERM_READ);        /* every role can read its account */
		assert_int_equal(!!(p & PERM_ADMIN), !strcmp(*r, "admin"));
		assert_int_equal(!!(p & PERM_AUDIT), !strcmp(*r, "admin") || !strcmp(*r, "auditor"));
	}
	/* PERM_ALL is exactly the union of the permissions. */
	assert_int_equal(PERM_ALL, PERM_READ | PERM_SUBMIT | PERM_WORK | PERM_APPROVE | PERM_ADMIN | PERM_AUDIT);
}

static void test_role_list(void **s)
{
	static const char *const want[] = { "viewer", "requester", "operator", "approver", "admin", "auditor" };
	size_t n = 0;
	while (auth_roles[n])
		n++;
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(auth_roles[i], want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_format_and_hash), cmocka_unit_test(test_tokens_are_unique),
		cmocka_unit_test(test_sha256_known_answer),   cmocka_unit_test(test_constant_time_compare),
		cmocka_unit_test(test_role_perms),            cmocka_unit_test(test_separation_of_duties),
		cmocka_unit_test(test_role_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
