#include "store/store_redo.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* A segment is started anew past this size; full segments are deleted once applied. */
#define SEGMENT_MAX (16u << 20)
#define RECORD_MAX  (64u << 20)
#define MAGIC_V1    0x31525746u /* "FWR1": checksum record_sum_v1(), written until 2026-11 */
#define MAGIC       0x32525746u /* "FWR2": checksum store_redo_sum() */
#define MAX_FULL    64

struct record_head {
	uint32_t magic;
	uint32_t len; /* type, NUL, payload, NUL */
	uint64_t lsn;
	uint64_t sum; /* tells a torn record from a whole one */
};

struct segment {
	char *path;
	uint64_t last; /* highest lsn in it */
};

struct store_redo {
	char *dir;
	char *prefix; /* "<db file name>-redo." */
	int fd;       /* the segment being appended to, -1 when none */
	char *path;
	uint64_t first, last;
	size_t size; /* bytes used */
	struct segment full[MAX_FULL];
	int nfull;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h;
}

static uint64_t record_sum_v1(uint64_t lsn, const void *body, size_t len)
{
	return fnv(fnv(1469598103934665603ULL, &lsn, sizeof(lsn)), body, len);
}

uint64_t store_redo_sum(const char *type, const char *payload, size_t len)
{
	/* Eight bytes at a time: a byte-wise hash of each record took a microsecond, under the log's lock. */
	return hash_words(hash_words(0x6a09e667f3bcc909ULL, type, strlen(type) + 1), payload, len + 1);
}

/* The checksum of a record: its number mixed into the hash of its body. */
static uint64_t record_sum(uint64_t lsn, uint64_t body_sum)
{
	uint64_t h = (body_sum ^ lsn) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

int store_redo_open(const char *db_path, struct store_redo **out, char *err, size_t errcap)
{
	struct store_redo *r = calloc(1, sizeof(*r));
	if (!r)
		return FW_ENOMEM;
	r->fd = -1;
	const char *slash = strrchr(db_path, '/');
	const char *name = slash ? slash + 1 : db_path;
	r->dir = slash ? strndup(db_path, (size_t)(slash - db_path) + 1) : strdup("./");
	size_t n = strlen(name) + sizeof("-redo.");
	r->prefix = malloc(n);
	if (!r->dir || !r->prefix) {
		store_redo_close(r, 0);
		snprintf(err, errcap, "out of memory");
		return FW_ENOMEM;
	}
	snprintf(r->prefix, n, "%s-redo.", name);
	*out = r;
	return 0;
}

static char *segment_path(const struct store_redo *r, uint64_t first)
{
	size_t n = strlen(r->dir) + strlen(r->prefix) + 17;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%016llx", r->dir, r->prefix, (unsigned long long)first);
	return p;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The first lsns of the segments on disk, sorted. *out is malloc'd. */
static int list_segments(const struct store_redo *r, uint64_t **out, size_t *count, char *err, size_t errcap)
{
	*out = NULL;
	*count = 0;
	DIR *d = opendir(r->dir);
	if (!d) {
		snprintf(err, errcap, "cannot read directory %s: %s", r->dir, strerror(errno));
		return FW_ESTORE;
	}
	size_t plen = strlen(r->prefix), cap = 0;
	uint64_t *v = NULL;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, r->prefix, plen) || strlen(e->d_name + plen) != 16)
			continue;
		char *end;
		unsigned long long first = strtoull(e->d_name + plen, &end, 16);
		if (*end)
			continue;
		if (*count == cap) {
			cap = cap ? 2 * cap : 8;
			uint64_t *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = FW_ENOMEM;
				break;
			}
			v = nv;
		}
		v[(*count)++] = first;
	}
	closedir(d);
	if (rc) {
		free(v);
		*count = 0;
		return rc;
	}
	if (*count > 1)
		qsort(v, *count, sizeof(*v), cmp_u64);
	*out = v;
	return 0;
}

static int read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb)) {
		if (fd >= 0)
			close(fd);
		return FW_ESTORE;
	}
	*len = (size_t)sb.st_size;
	*buf = malloc(*len + 1);
	size_t got = 0;
	while (*buf && got < *len) {
		ssize_t k = read(fd, *buf + got, *len - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	if (!*buf)
		return FW_ENOMEM;
	*len = got;
	return 0;
}

int store_redo_scan(struct store_redo *r, store_redo_fn fn, void *ctx, uint64_t *last, char *err,
                    size_t errcap)
{
	*last = 0;
	uint64_t *firsts;
	size_t count;
	int rc = list_segments(r, &firsts, &count, err, errcap);
	bool torn = false;
	for (size_t i = 0; !rc && !torn && i < count; i++) {
		char *path = segment_path(r, firsts[i]), *buf = NULL;
		size_t len = 0;
		if (!path || read_file(path, &buf, &len)) {
			snprintf(err, errcap, "cannot read the redo log segment %s", path ? path : "?");
			free(path);
			rc = FW_ESTORE;
			break;
		}
		size_t off = 0;
		while (!rc && off < len) {
			struct record_head h;
			if (len - off < sizeof(h)) {
				torn = true;
				break;
			}
			memcpy(&h, buf + off, sizeof(h));
			/* Zeros where the next record would start: the end of what was written (segments of
			 * a version that made them full size up front end so). */
			if (h.magic == 0 && h.len == 0 && h.lsn == 0 && h.sum == 0)
				break;
			const char *body = buf + off + sizeof(h);
			if ((h.magic != MAGIC && h.magic != MAGIC_V1) || h.len < 2 || h.len > len - off - sizeof(h) ||
			    body[h.len - 1] || !memchr(body, 0, h.len - 1) || (*last && h.lsn != *last + 1)) {
				torn = true;
				break;
			}
			size_t tlen = strlen(body) + 1;
			uint64_t sum = h.magic == MAGIC_V1
					       ? record_sum_v1(h.lsn, body, h.len)
					       : record_sum(h.lsn, store_redo_sum(body, body + tlen, h.len - tlen - 1));
			if (h.sum != sum) {
				torn = true;
				break;
			}
			*last = h.lsn;
			rc = fn(h.lsn, body, body + tlen, ctx);
			off += sizeof(h) + h.len;
		}
		if (torn)
			log_msg(LOG_WARN,
			        "store: the redo log ends in a torn record at byte %zu of %s (a write cut "
			        "short by a "
			        "crash; it was never acknowledged)",
			        off, path);
		free(buf);
		free(path);
	}
	free(firsts);
	return rc;
}

static void close_current(struct store_redo *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->path);
	r->path = NULL;
}

static int start_segment(struct store_redo *r, uint64_t first)
{
	char *path = segment_path(r, first);
	if (!path)
		return FW_ENOMEM;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_msg(LOG_ERROR, "store: cannot create the redo log segment %s: %s", path, strerror(errno));
		free(path);
		return FW_ESTORE;
	}
	r->fd = fd;
	r->path = path;
	r->first = first;
	r->last = first - 1;
	r->size = 0;
	return 0;
}

int store_redo_reset(struct store_redo *r, uint64_t next_lsn, char *err, size_t errcap)
{
	close_current(r);
	for (int i = 0; i < r->nfull; i++) {
		free(r->full[i].path);
		r->full[i].path = NULL;
	}
	r->nfull = 0;
	uint64_t *firsts;
	size_t count;
	int rc = list_segments(r, &firsts, &count, err, errcap);
	for (size_t i = 0; !rc && i < count; i++) {
		char *path = segment_path(r, firsts[i]);
		if (path && unlink(path) && errno != ENOENT) {
			snprintf(err, errcap, "cannot remove the applied redo log segment %s: %s", path,
			         strerror(errno));
			rc = FW_ESTORE;
		}
		free(path);
	}
	free(firsts);
	if (!rc && (rc = start_segment(r, next_lsn)))
		snprintf(err, errcap, "cannot create a redo log segment in %s", r->dir);
	return rc;
}

int store_redo_append(struct store_redo *r, uint64_t lsn, const char *type, const char *payload, size_t len,
		      uint64_t body_sum)
{
	if (lsn != r->last + 1)
		return FW_ESTORE;
	size_t tlen = strlen(type) + 1, blen = tlen + len + 1, want = sizeof(struct record_head) + blen;
	if (blen > RECORD_MAX)
		return FW_ETOOBIG;
	if (r->fd >= 0 && r->size >= SEGMENT_MAX && r->nfull < MAX_FULL) {
		r->full[r->nfull++] = (struct segment){ r->path, r->last };
		r->path = NULL;
		close_current(r);
	}
	/* No segment: the last one is full, or starting the next failed before (this append tries again). */
	if (r->fd < 0 && start_segment(r, lsn))
		return FW_ESTORE;
	struct record_head h = { MAGIC, (uint32_t)blen, lsn, record_sum(lsn, body_sum) };
	struct iovec iov[3] = { { &h, sizeof(h) }, { (void *)type, tlen }, { (void *)payload, len + 1 } };
	ssize_t k = writev(r->fd, iov, 3);
	if (k != (ssize_t)want) {
		/* A short write leaves a torn record that a later append would follow: cut it off. */
		if (k > 0 && ftruncate(r->fd, (off_t)r->size))
			log_msg(LOG_ERROR, "store: cannot cut a short redo write: %s", strerror(errno));
		log_msg(LOG_ERROR, "store: redo log write failed: %s", k < 0 ? strerror(errno) : "short write");
		return FW_ESTORE;
	}
	r->size += want;
	r->last = lsn;
	return 0;
}

void store_redo_trim(struct store_redo *r, uint64_t applied)
{
	int keep = 0;
	for (int i = 0; i < r->nfull; i++) {
		if (r->full[i].last <= applied) {
			if (unlink(r->full[i].path) && errno != ENOENT)
				log_msg(LOG_WARN, "store: cannot remove the applied redo log segment %s: %s",
				        r->full[i].path, strerror(errno));
			free(r->full[i].path);
		} else {
			r->full[keep++] = r->full[i];
		}
	}
	r->nfull = keep;
}

void store_redo_close(struct store_redo *r, int remove)
{
	if (!r)
		return;
	if (remove && r->path && unlink(r->path) && errno != ENOENT)
		log_msg(LOG_WARN, "store: cannot remove the redo log segment %s: %s", r->path,
		        strerror(errno));
	close_current(r);
	for (int i = 0; i < r->nfull; i++) {
		if (remove)
			unlink(r->full[i].path);
		free(r->full[i].path);
	}
	free(r->dir);
	free(r->prefix);
	free(r);
}
