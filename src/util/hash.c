#include "util/hash.h"

#include <string.h>

uint64_t hash_words(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t w;
	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 31;
	}
	/* The last 1–7 bytes in the low bytes, their count in the top one: "a" and "a\0" differ. */
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w ^ ((uint64_t)n << 56)) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}
