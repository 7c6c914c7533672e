#ifndef FW_ACCESS_KEYS_H
#define FW_ACCESS_KEYS_H
/* AWS-style access keys of principals: an access key id (AKFW + 16 upper-case hex) and a 40-character
 * secret, shown once when created. SigV4 verification needs the secret itself (not a hash), so the
 * secret is stored encrypted at rest with AES-256-GCM under a key kept in <data dir>/keys.secret
 * (32 random bytes, mode 0600, created on first use). The access key id is the GCM additional data,
 * so a sealed secret cannot be moved to another key's row. */

#include "compat/sigv4.h"

#include <stddef.h>

struct req;
struct store_conn;

#define AKEY_ID_MAX 32
#define AKEY_SECRET_MAX 64

/* What the SigV4 endpoint needs to know about an access key. */
struct akey {
	char id[AKEY_ID_MAX];
	char principal[40];
	char account[16]; /* the account pinned at creation, or "" */
	char secret[AKEY_SECRET_MAX]; /* wipe with akey_wipe() */
	unsigned char signing_key[SIGV4_KEY_LEN]; /* filled by akey_signer() only */
};

/* Looks up an active (not revoked) access key in the store and decrypts its secret with the key in
 * data_dir; no cache. Returns 0, FW_ENOTFOUND (unknown or revoked: the caller answers
 * UnrecognizedClientException), FW_ESTORE, or FW_EIO (keys.secret unreadable, or the sealed secret does
 * not decrypt). */
int akey_lookup(struct store_conn *c, const char *data_dir, const char *id, struct akey *out);
/* What a SigV4 verifier needs: like akey_lookup(), but out gets the SigV4 signing key of the scope
 * (date YYYYMMDD, region, service) instead of the secret (out->secret is left zeroed). Served from a
 * cache of active keys that auth_invalidate() empties (the key, its principal or roles changed on this
 * daemon) and that forgets entries after 5 s (changes made by another daemon). Same results as
 * akey_lookup(); FW_EIO also when the signing key cannot be derived. Wipe out with akey_wipe(). */
int akey_signer(struct store_conn *c, const char *data_dir, const char *id, const char *date, const char *region,
		const char *service, struct akey *out);
/* Wipes the secret and the signing key in k. */
void akey_wipe(struct akey *k);
/* Drops access key id (a const char *; a store_hook) from the cache and wipes its secret. */
void akey_forget(void *id);
/* How many keys the cache holds (each with its secret in memory, stale or not). */
size_t akey_cache_size(void);
/* Empties the key cache, wiping every secret in it. */
void akey_cache_clear(void);

/* Seals secret for access key id with the data dir's key: *out is "v1:" + base64(nonce|ciphertext|tag),
 * a new string the caller frees. Creates keys.secret (0600) when missing. Returns 0, FW_EIO or FW_ENOMEM. */
int akey_seal(const char *data_dir, const char *id, const char *secret, char **out);
/* Opens what akey_seal() produced into secret (NUL-terminated, cap bytes). Returns 0, FW_EIO when the
 * key file is missing or the value was altered / belongs to another id, FW_ETOOBIG when cap is short. */
int akey_open(const char *data_dir, const char *id, const char *sealed, char *secret, size_t cap);

#endif
