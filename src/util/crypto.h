#ifndef FW_CRYPTO_H
#define FW_CRYPTO_H
/* Thin wrappers over OpenSSL libcrypto for the few primitives the daemon needs. */

#include <stdbool.h>
#include <stddef.h>

/* Lowercase hex SHA-256 of data into out (cap ≥ 65). */
void crypto_sha256_hex(const void *data, size_t len, char out[65]);
/* out gets n random bytes as 2n lowercase hex chars + NUL (cap ≥ 2n+1). Returns 0 or FW_EIO. */
int crypto_random_hex(size_t n, char *out, size_t cap);
/* Constant-time equality of two NUL-terminated strings of equal length. */
bool crypto_streq(const char *a, const char *b);
/* Lowercase hex HMAC-SHA256 into out (cap ≥ 65). */
void crypto_hmac_sha256_hex(const void *key, size_t klen, const void *data, size_t len, char out[65]);

#endif
