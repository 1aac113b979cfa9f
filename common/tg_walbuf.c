/* tg_walbuf.c - the WAL write-collecting VFS (see tg_walbuf.h).
 *
 * Only files SQLite opens as write-ahead logs are wrapped; every other file is the default VFS's
 * own. Writes to a WAL that continue where the previous one ended are collected; they are written
 * out before anything else reaches the file (a read, a sync, its size, a truncation, a file
 * control, a close), when the buffer is full, and right after the frame that commits a
 * transaction (its header carries the database size: WAL format, offset 4). That last rule
 * matters with synchronous = NORMAL: no sync follows the commit there, and other connections
 * read every frame the commit announces as soon as it returns. So whenever no commit is being
 * written, nothing is held back, and a crash loses no more than without this VFS. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "tg_walbuf.h"

#define WAL_HEADER   32 /* the WAL file's header; frames follow it */
#define FRAME_HEADER 24 /* a frame's header, written before its page */
/* The default VFS writes at most 128 KB - 1 bytes per call (os_unix.c, seekAndWrite): 31 frames
 * of 4 KB pages; a commit of 50 pages goes out in two writes instead of 100. */
#define BUFFER 0x1ffff

typedef struct walbuf_file {
    sqlite3_file base;
    sqlite3_file *real;     /* the default VFS's file, in the memory right after this struct */
    unsigned char *buf;     /* collected writes; BUFFER bytes, allocated at the first write */
    size_t len;             /* bytes in buf */
    sqlite3_int64 start;    /* the file offset of buf[0] */
    int after_commit_frame; /* the last write was the header of a commit frame */
} walbuf_file;

/* the real file follows our struct, aligned for any type */
#define REAL_OFFSET ((sizeof(walbuf_file) + 15) & ~(size_t)15)

static sqlite3_vfs walbuf_vfs;
static atomic_size_t pending;

size_t tg_walbuf_pending(void)
{
    return atomic_load(&pending);
}

static int write_out(walbuf_file *f)
{
    if (!f->len)
        return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->start);
    atomic_fetch_sub(&pending, f->len);
    f->len = 0;
    return rc;
}

static int is_commit_frame_header(const void *data, int amount, sqlite3_int64 offset)
{
    const unsigned char *h = data;
    return amount == FRAME_HEADER && offset >= WAL_HEADER && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int wal_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    walbuf_file *f = (walbuf_file *)file;
    int commit_header = is_commit_frame_header(data, amount, offset);
    int completes_commit = f->after_commit_frame; /* this is the commit frame's page */
    f->after_commit_frame = commit_header;
    int rc = SQLITE_OK;
    if (f->len && (offset != f->start + (sqlite3_int64)f->len || f->len + (size_t)amount > BUFFER))
        rc = write_out(f); /* not a continuation, or no room: writes keep their order */
    if (rc != SQLITE_OK)
        return rc;
    if (!f->buf)
        f->buf = sqlite3_malloc(BUFFER);
    /* A commit frame's header with nothing collected before it is either a commit of one frame
     * or SQLite rewriting the header of a frame it wrote before, with no page to follow: it goes
     * out at once. Nothing is collected when this write goes out directly. */
    if ((commit_header && !f->len) || (size_t)amount > BUFFER || !f->buf)
        return f->real->pMethods->xWrite(f->real, data, amount, offset);
    if (!f->len)
        f->start = offset;
    memcpy(f->buf + f->len, data, (size_t)amount);
    f->len += (size_t)amount;
    atomic_fetch_add(&pending, (size_t)amount);
    return completes_commit ? write_out(f) : SQLITE_OK;
}

static int wal_close(sqlite3_file *file)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc = write_out(f);
    int close_rc = f->real->pMethods->xClose(f->real);
    sqlite3_free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : close_rc;
}

/* The other methods write out what was collected first, where the file's content or size
 * matters, and then do what the default VFS does. */
#define REAL(file) (((walbuf_file *)(file))->real)
#define WRITE_OUT_OR_RETURN(file)                                                                  \
    do {                                                                                           \
        int rc_ = write_out((walbuf_file *)(file));                                                \
        if (rc_ != SQLITE_OK)                                                                      \
            return rc_;                                                                            \
    } while (0)

static int wal_read(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    WRITE_OUT_OR_RETURN(file);
    return REAL(file)->pMethods->xRead(REAL(file), data, amount, offset);
}

static int wal_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    WRITE_OUT_OR_RETURN(file);
    return REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int wal_sync(sqlite3_file *file, int flags)
{
    WRITE_OUT_OR_RETURN(file);
    return REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int wal_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    WRITE_OUT_OR_RETURN(file);
    return REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int wal_file_control(sqlite3_file *file, int op, void *arg)
{
    WRITE_OUT_OR_RETURN(file);
    return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int wal_lock(sqlite3_file *file, int level)
{
    return REAL(file)->pMethods->xLock(REAL(file), level);
}

static int wal_unlock(sqlite3_file *file, int level)
{
    return REAL(file)->pMethods->xUnlock(REAL(file), level);
}

static int wal_check_reserved_lock(sqlite3_file *file, int *out)
{
    return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int wal_sector_size(sqlite3_file *file)
{
    return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int wal_device_characteristics(sqlite3_file *file)
{
    return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

/* Version 1: SQLite maps memory (xFetch) and shares memory (xShm*) through the database file
 * only, never through its WAL. */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved_lock,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device_characteristics,
};

static int walbuf_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                       int *out_flags)
{
    sqlite3_vfs *real_vfs = vfs->pAppData;
    if (!(flags & SQLITE_OPEN_WAL)) /* the default VFS's file, in the memory SQLite gave us */
        return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
    walbuf_file *f = (walbuf_file *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)((char *)file + REAL_OFFSET);
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (f->real->pMethods)
            f->real->pMethods->xClose(f->real);
        return rc;
    }
    f->base.pMethods = &wal_methods;
    return SQLITE_OK;
}

static gpointer register_once(gpointer unused)
{
    (void)unused;
    sqlite3_vfs *real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs)
        return GINT_TO_POINTER(SQLITE_ERROR);
    /* The default VFS's other methods do not depend on which VFS struct they are called with
     * (the unix VFS reads only mxPathname, which the copy keeps). */
    walbuf_vfs = *real_vfs;
    walbuf_vfs.pNext = NULL;
    walbuf_vfs.zName = TG_WALBUF_VFS;
    walbuf_vfs.pAppData = real_vfs;
    walbuf_vfs.szOsFile = (int)(REAL_OFFSET + (size_t)real_vfs->szOsFile);
    walbuf_vfs.xOpen = walbuf_open;
    return GINT_TO_POINTER(sqlite3_vfs_register(&walbuf_vfs, 0));
}

int tg_walbuf_register(void)
{
    static GOnce once = G_ONCE_INIT;
    return GPOINTER_TO_INT(g_once(&once, register_once, NULL));
}
