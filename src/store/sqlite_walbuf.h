#ifndef FW_SQLITE_WALBUF_H
#define FW_SQLITE_WALBUF_H
/* The SQLite VFS that writes each transaction's WAL frames with one system call
 * (store/sqlite_walbuf.c). Returns its name for sqlite3_open_v2(), registering it on first use, or
 * NULL when SQLite has no default VFS to wrap. */
const char *sqlite_walbuf_vfs(void);
#endif
