#ifndef FW_BUF_H
#define FW_BUF_H
/* A growable byte buffer with a hard cap: appending past the cap fails with FW_ETOOBIG instead of
 * growing without bound. The content is always NUL-terminated. */

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap; /* allocated bytes */
	size_t max; /* hard cap on len */
};

#define BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes) }

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b); /* frees data; b can be reused after buf_init */
void buf_reset(struct buf *b);   /* len = 0, keeps memory */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
/* Appends n in decimal, without printf (for hot paths). */
int buf_put_int(struct buf *b, long long n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Returns the content (or "" when empty); valid until the next append or release. */
const char *buf_str(const struct buf *b);
/* Hands the content to the caller (free() it) and resets b. Never NULL unless out of memory. */
char *buf_detach(struct buf *b);

#endif
