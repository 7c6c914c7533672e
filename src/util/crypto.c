#include "util/crypto.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Fetched once: EVP_sha256() makes every digest look the implementation up again in the provider's
 * table, under its lock, which cost as much as hashing a ticket. Kept for the process's life. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void crypto_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(data, len, md, &mdlen, sha256_md ? sha256_md : EVP_sha256(), NULL);
	to_hex(md, 32, out);
}

int crypto_random_hex(size_t n, char *out, size_t cap)
{
	unsigned char raw[64];
	if (n > sizeof(raw) || cap < 2 * n + 1 || RAND_bytes(raw, (int)n) != 1)
		return FW_EIO;
	to_hex(raw, n, out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

bool crypto_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

void crypto_hmac_sha256_hex(const void *key, size_t klen, const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	HMAC(EVP_sha256(), key, (int)klen, data, len, md, &mdlen);
	to_hex(md, 32, out);
}
