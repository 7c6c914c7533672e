#include "util/crypto.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
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

void crypto_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
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
