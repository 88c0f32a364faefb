/* sqlite_vfs: "lp-gather", a VFS over the default one that gathers the
 * writer's write-ahead-log writes into few large ones.
 *
 * SQLite writes each WAL frame as two pwrite calls (its 24-byte header,
 * then the page), so a commit of ~120 pages made ~240 system calls, which
 * were a fifth of the writer's CPU on a VM where a system call is dear
 * (docs/PERFORMANCE.md, "What limits", creation). Here consecutive writes
 * to a WAL file collect in a buffer of 64 KiB, written out with
 * one call when the next write is not contiguous, when the buffer is full,
 * and before every sync, read, size, truncate, file control and close of
 * that file. Every other file, and every other method, goes straight to the
 * default VFS.
 *
 * Correct only for a connection that syncs at every commit
 * (synchronous=FULL, as the writer runs): SQLite publishes a commit in the
 * WAL index after its sync, so no other connection can read a frame still
 * in the buffer. A failed write-out is reported by the call that made it
 * (the sync, at the latest), so the commit fails and nothing is lost that
 * was acknowledged.
 *
 * Threading: a file belongs to the connection that opened it, and a
 * connection to one thread (SQLITE_OPEN_NOMUTEX); the VFS is registered
 * once (sqlite_vfs_gather). */
#include "store/sqlite_internal.h"

#include "obs/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Bytes held before a write-out. The default VFS writes at most 128 KiB - 1
 * bytes in a call and reports a longer write as a full disk. */
#define GATHER_MAX (64u << 10)

struct gather_file {
    sqlite3_file base;
    sqlite3_file *sub;  /* the default VFS's file, in the bytes after this struct */
    unsigned char *buf; /* WAL files only: pending bytes for offset off (NULL: pass through) */
    size_t len;
    sqlite3_int64 off;
};

static sqlite3_vfs gather_vfs;
static const sqlite3_vfs *root_vfs;

static int flush(struct gather_file *f)
{
    if (f->len == 0)
        return SQLITE_OK;
    size_t n = f->len;
    f->len = 0;
    return f->sub->pMethods->xWrite(f->sub, f->buf, (int)n, f->off);
}

#define SUB(file) (((struct gather_file *)(file))->sub)
#define FLUSHED(file, call)                                                                                            \
    do {                                                                                                               \
        int rc_ = flush((struct gather_file *)(file));                                                                 \
        return rc_ != SQLITE_OK ? rc_ : (call);                                                                        \
    } while (0)

static int g_close(sqlite3_file *file)
{
    struct gather_file *f = (struct gather_file *)file;
    int rc = flush(f);
    int rc2 = f->sub->pMethods->xClose(f->sub);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int g_read(sqlite3_file *file, void *out, int n, sqlite3_int64 off)
{
    FLUSHED(file, SUB(file)->pMethods->xRead(SUB(file), out, n, off));
}

static int g_write(sqlite3_file *file, const void *data, int n, sqlite3_int64 off)
{
    struct gather_file *f = (struct gather_file *)file;
    if (f->buf == NULL || n <= 0)
        return f->sub->pMethods->xWrite(f->sub, data, n, off);
    if (f->len > 0 && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)n > GATHER_MAX)) {
        int rc = flush(f);
        if (rc != SQLITE_OK)
            return rc;
    }
    if ((size_t)n > GATHER_MAX)
        return f->sub->pMethods->xWrite(f->sub, data, n, off);
    if (f->len == 0)
        f->off = off;
    memcpy(f->buf + f->len, data, (size_t)n);
    f->len += (size_t)n;
    return SQLITE_OK;
}

static int g_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    FLUSHED(file, SUB(file)->pMethods->xTruncate(SUB(file), size));
}

static int g_sync(sqlite3_file *file, int flags)
{
    FLUSHED(file, SUB(file)->pMethods->xSync(SUB(file), flags));
}

static int g_size(sqlite3_file *file, sqlite3_int64 *size)
{
    FLUSHED(file, SUB(file)->pMethods->xFileSize(SUB(file), size));
}

static int g_lock(sqlite3_file *file, int level)
{
    return SUB(file)->pMethods->xLock(SUB(file), level);
}

static int g_unlock(sqlite3_file *file, int level)
{
    return SUB(file)->pMethods->xUnlock(SUB(file), level);
}

static int g_reserved(sqlite3_file *file, int *out)
{
    return SUB(file)->pMethods->xCheckReservedLock(SUB(file), out);
}

static int g_control(sqlite3_file *file, int op, void *arg)
{
    FLUSHED(file, SUB(file)->pMethods->xFileControl(SUB(file), op, arg));
}

static int g_sector(sqlite3_file *file)
{
    return SUB(file)->pMethods->xSectorSize(SUB(file));
}

static int g_device(sqlite3_file *file)
{
    return SUB(file)->pMethods->xDeviceCharacteristics(SUB(file));
}

static int g_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    return SUB(file)->pMethods->xShmMap(SUB(file), region, size, extend, out);
}

static int g_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    return SUB(file)->pMethods->xShmLock(SUB(file), offset, n, flags);
}

static void g_shm_barrier(sqlite3_file *file)
{
    SUB(file)->pMethods->xShmBarrier(SUB(file));
}

static int g_shm_unmap(sqlite3_file *file, int del)
{
    return SUB(file)->pMethods->xShmUnmap(SUB(file), del);
}

static int g_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **out)
{
    FLUSHED(file, SUB(file)->pMethods->xFetch(SUB(file), off, n, out));
}

static int g_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    return SUB(file)->pMethods->xUnfetch(SUB(file), off, p);
}

static const sqlite3_io_methods gather_methods = {
    .iVersion = 3,
    .xClose = g_close,
    .xRead = g_read,
    .xWrite = g_write,
    .xTruncate = g_truncate,
    .xSync = g_sync,
    .xFileSize = g_size,
    .xLock = g_lock,
    .xUnlock = g_unlock,
    .xCheckReservedLock = g_reserved,
    .xFileControl = g_control,
    .xSectorSize = g_sector,
    .xDeviceCharacteristics = g_device,
    .xShmMap = g_shm_map,
    .xShmLock = g_shm_lock,
    .xShmBarrier = g_shm_barrier,
    .xShmUnmap = g_shm_unmap,
    .xFetch = g_fetch,
    .xUnfetch = g_unfetch,
};

static int g_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    (void)vfs;
    struct gather_file *f = (struct gather_file *)file;
    memset(f, 0, sizeof(*f));
    f->sub = (sqlite3_file *)(f + 1);
    if ((flags & SQLITE_OPEN_WAL) && (f->buf = malloc(GATHER_MAX)) == NULL)
        return SQLITE_NOMEM;
    int rc = root_vfs->xOpen((sqlite3_vfs *)root_vfs, name, f->sub, flags, out_flags);
    if (rc == SQLITE_OK && f->sub->pMethods != NULL && f->sub->pMethods->iVersion < gather_methods.iVersion) {
        f->sub->pMethods->xClose(f->sub); /* every method here forwards to one of version 3 */
        rc = SQLITE_CANTOPEN;
    }
    if (rc != SQLITE_OK || f->sub->pMethods == NULL) {
        free(f->buf);
        f->buf = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    f->base.pMethods = &gather_methods;
    return SQLITE_OK;
}

static void gather_register(void)
{
    root_vfs = sqlite3_vfs_find(NULL);
    int rc = SQLITE_ERROR;
    if (root_vfs != NULL) {
        gather_vfs = *root_vfs;
        gather_vfs.zName = SQLITE_VFS_GATHER;
        gather_vfs.szOsFile = (int)sizeof(struct gather_file) + root_vfs->szOsFile;
        gather_vfs.xOpen = g_open;
        rc = sqlite3_vfs_register(&gather_vfs, 0);
    }
    if (rc != SQLITE_OK)
        log_warn("sqlite: the writer's WAL writes go one by one: its VFS could not be registered");
}

const char *sqlite_vfs_gather(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, gather_register);
    return sqlite3_vfs_find(SQLITE_VFS_GATHER) != NULL ? SQLITE_VFS_GATHER : NULL;
}
