/* tg_walbuf.h - a SQLite VFS that writes the WAL frames of a commit in a few system calls.
 * SQLite writes each WAL frame as two writes (its 24-byte header, then the page), so a commit of
 * 50 pages makes 100 system calls; on a virtual machine they cost as much as a third of the flush
 * to the disk (measured: 0.2-0.3 ms of a 0.7-1.2 ms commit). This VFS sits on the default one and
 * collects the frames of a commit while they are written one after another, and writes them in
 * pieces of up to 128 KB. Everything else passes through. */
#ifndef TG_WALBUF_H
#define TG_WALBUF_H

#include <stddef.h>

#define TG_WALBUF_VFS "tg-walbuf"

/* tg_walbuf_register - register the VFS (once per process; later calls do nothing). Returns a
 * SQLite result code. */
int tg_walbuf_register(void);

/* tg_walbuf_pending - bytes collected and not yet written, over all open WAL files: 0 whenever
 * no commit is being written (for the tests). */
size_t tg_walbuf_pending(void);

#endif
