#ifndef FW_HASH_H
#define FW_HASH_H
/* A fast 64-bit hash of bytes, eight at a time. Not cryptographic: for lookup tables and for telling a
 * torn record from a whole one. Its values are stored in the redo log (store_redo.c): never change it. */

#include <stddef.h>
#include <stdint.h>

/* The hash of p[0..n) continuing from h (a seed, or the hash of what came before). */
uint64_t hash_words(uint64_t h, const void *p, size_t n);

#endif
