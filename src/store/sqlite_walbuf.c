/* A SQLite VFS that coalesces the writes of a transaction to its write-ahead log.
 *
 * SQLite appends each WAL frame with two write calls (24-byte header, then the page), so a commit
 * that touches 13 pages costs 26 pwrite(2) calls. This VFS wraps the default one: files other than
 * WAL files are opened by the default VFS unchanged; a WAL file's contiguous writes collect in a
 * buffer that goes to the kernel in one pwrite when
 *   - the page of a commit frame (header bytes 4..7 non-zero) has been written — before SQLite
 *     publishes the frames in the WAL index, so readers never see frames missing from the file;
 *   - a write is not contiguous with the buffer, or the buffer is full;
 *   - any other operation reaches the file (read, sync, truncate, size, lock, close, ...).
 * Durability is unchanged: a commit returns after its frames are in the file, as before. */
#include "store/sqlite_walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_NAME "fw-walbuf"
/* Bytes held before a flush: the unix VFS writes at most 128 KiB per call (it masks the length with
 * 0x1ffff), so stay below that. */
#define WALBUF_MAX (120 * 1024)
#define FRAME_HEADER 24

struct wb_file {
	sqlite3_file base;	 /* our methods */
	sqlite3_file *inner;	 /* the default VFS's file, allocated right after this struct */
	unsigned char *buf;	 /* WALBUF_MAX bytes once the file is first written (readers never are) */
	sqlite3_int64 off;	 /* where buf[0..len) goes */
	size_t len;
	int commit_next;	 /* the last write was a commit frame's header: flush after its page */
};

static sqlite3_vfs walbuf_vfs;
static sqlite3_vfs *parent;
static struct sqlite3_io_methods wb_methods;

static int wb_flush(struct wb_file *f)
{
	if (!f->len)
		return SQLITE_OK;
	int rc = f->inner->pMethods->xWrite(f->inner, f->buf, (int)f->len, f->off);
	f->len = 0;
	return rc;
}

static int wb_write(sqlite3_file *pf, const void *data, int n, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;
	if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)n > WALBUF_MAX)) {
		if ((rc = wb_flush(f)) != SQLITE_OK)
			return rc;
	}
	if ((size_t)n > WALBUF_MAX)
		return f->inner->pMethods->xWrite(f->inner, data, n, off);
	if (!f->buf && !(f->buf = malloc(WALBUF_MAX)))
		return f->inner->pMethods->xWrite(f->inner, data, n, off); /* nothing pending: unbuffered */
	if (!f->len)
		f->off = off;
	memcpy(f->buf + f->len, data, (size_t)n);
	f->len += (size_t)n;
	if (f->commit_next) {
		f->commit_next = 0;
		return wb_flush(f);
	}
	if (n == FRAME_HEADER) {
		const unsigned char *h = data;
		f->commit_next = (h[4] | h[5] | h[6] | h[7]) != 0;
	}
	return SQLITE_OK;
}

static int wb_close(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc = wb_flush(f);
	int rc2 = f->inner->pMethods->xClose(f->inner);
	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

/* Every other method: flush what is pending, then do what the default VFS does. */
#define INNER(pf) (((struct wb_file *)(pf))->inner)
#define FLUSHED(pf)                                                 \
	do {                                                        \
		int frc_ = wb_flush((struct wb_file *)(pf));        \
		if (frc_ != SQLITE_OK)                              \
			return frc_;                                \
	} while (0)

static int wb_read(sqlite3_file *pf, void *out, int n, sqlite3_int64 off)
{
	FLUSHED(pf);
	return INNER(pf)->pMethods->xRead(INNER(pf), out, n, off);
}

static int wb_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	FLUSHED(pf);
	return INNER(pf)->pMethods->xTruncate(INNER(pf), size);
}

static int wb_sync(sqlite3_file *pf, int flags)
{
	FLUSHED(pf);
	return INNER(pf)->pMethods->xSync(INNER(pf), flags);
}

static int wb_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	FLUSHED(pf);
	return INNER(pf)->pMethods->xFileSize(INNER(pf), size);
}

static int wb_lock(sqlite3_file *pf, int level)
{
	FLUSHED(pf);
	return INNER(pf)->pMethods->xLock(INNER(pf), level);
}

static int wb_unlock(sqlite3_file *pf, int level)
{
	FLUSHED(pf);
	return INNER(pf)->pMethods->xUnlock(INNER(pf), level);
}

static int wb_check_reserved(sqlite3_file *pf, int *out)
{
	return INNER(pf)->pMethods->xCheckReservedLock(INNER(pf), out);
}

static int wb_file_control(sqlite3_file *pf, int op, void *arg)
{
	FLUSHED(pf);
	return INNER(pf)->pMethods->xFileControl(INNER(pf), op, arg);
}

static int wb_sector_size(sqlite3_file *pf)
{
	return INNER(pf)->pMethods->xSectorSize(INNER(pf));
}

static int wb_device(sqlite3_file *pf)
{
	return INNER(pf)->pMethods->xDeviceCharacteristics(INNER(pf));
}

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *pf, int flags, int *out_flags)
{
	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return parent->xOpen(parent, name, pf, flags, out_flags); /* the default file, unwrapped */
	struct wb_file *f = (struct wb_file *)pf;
	memset(f, 0, sizeof(*f));
	f->inner = (sqlite3_file *)(f + 1);
	int rc = parent->xOpen(parent, name, f->inner, flags, out_flags);
	if (rc != SQLITE_OK) {
		f->base.pMethods = NULL; /* SQLite does not close a file whose open failed */
		return rc;
	}
	f->base.pMethods = &wb_methods;
	return SQLITE_OK;
}

/* The VFS-level methods call the default VFS with its own handle (it may keep state there). */
static int wv_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return parent->xDelete(parent, name, sync_dir);
}

static int wv_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return parent->xAccess(parent, name, flags, out);
}

static int wv_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return parent->xFullPathname(parent, name, n, out);
}

static int wv_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return parent->xRandomness(parent, n, out);
}

static int wv_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return parent->xSleep(parent, us);
}

static int wv_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return parent->xCurrentTime(parent, out);
}

static int wv_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return parent->xGetLastError(parent, n, out);
}

static int wv_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return parent->xCurrentTimeInt64(parent, out);
}

static void walbuf_init(void)
{
	parent = sqlite3_vfs_find(NULL);
	if (!parent)
		return;
	/* A WAL file is never memory-mapped nor given shared memory (those belong to the database
	 * file), so version 1 methods are all it needs. */
	wb_methods = (struct sqlite3_io_methods){
		.iVersion = 1,
		.xClose = wb_close,
		.xRead = wb_read,
		.xWrite = wb_write,
		.xTruncate = wb_truncate,
		.xSync = wb_sync,
		.xFileSize = wb_file_size,
		.xLock = wb_lock,
		.xUnlock = wb_unlock,
		.xCheckReservedLock = wb_check_reserved,
		.xFileControl = wb_file_control,
		.xSectorSize = wb_sector_size,
		.xDeviceCharacteristics = wb_device,
	};
	if (parent->iVersion < 2 || !parent->xCurrentTimeInt64) {
		parent = NULL;
		return;
	}
	walbuf_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct wb_file) + parent->szOsFile,
		.mxPathname = parent->mxPathname,
		.zName = WALBUF_NAME,
		.xOpen = wb_open,
		.xDelete = wv_delete,
		.xAccess = wv_access,
		.xFullPathname = wv_full_pathname,
		.xRandomness = wv_randomness,
		.xSleep = wv_sleep,
		.xCurrentTime = wv_current_time,
		.xGetLastError = wv_last_error,
		.xCurrentTimeInt64 = wv_current_time64,
	};
	if (sqlite3_vfs_register(&walbuf_vfs, 0) != SQLITE_OK)
		parent = NULL;
}

const char *sqlite_walbuf_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, walbuf_init);
	return parent ? WALBUF_NAME : NULL;
}
