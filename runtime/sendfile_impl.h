/* Private: the file segments of a session's output (sendfile.c), as the
 * connection's writer (conn.c) and the loop (loop.c) see them.
 *
 * Segments are a FIFO on pf__out.files (out_impl.h).  Each one records `gap`, the
 * number of buffered output bytes that must be written between the previous
 * segment (or, for the first, the current write position) and itself, so
 * the byte buffers stay plain pf_bufs: the writer clips a writev to the
 * first segment's gap, then sends the segment. */
#ifndef PF__SENDFILE_IMPL_H
#define PF__SENDFILE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "out_impl.h"

typedef struct pf__fseg {
    struct pf__fseg *next;
    int fd;
    off_t off;
    size_t len;   /* bytes of the file still to send */
    size_t gap;   /* buffered bytes to write before this segment */
    off_t warm;   /* [off, warm) was found in the page cache (or read in) */
    uint64_t warm_ms; /* when (CLOCK_MONOTONIC_COARSE, ms) */
    int cold;     /* the writer must not wait: a worker reads in first */
    int trusted;  /* the kernel tells about this file's pages: 1, 0, -1 not asked yet */
    size_t span;  /* bytes the next residency check covers (0: the first window) */
    char *probe;  /* not trusted: bytes read with RWF_NOWAIT, then sent */
    void (*release)(void *); /* NULL: fd is ours to close */
    void *arg;
} pf__fseg;

/* Buffered bytes that may be written before the first segment: SIZE_MAX
 * when there is none. */
size_t pf__files_gap(const pf__out *o);
/* n buffered bytes were written. */
void pf__files_wrote(pf__out *o, size_t n);
/* Send from the first segment (its gap must be 0); pops it when done.
 * Bytes sent (> 0), -EAGAIN, or -errno (-EIO when the file came up short).
 * With `nowait` (the writer is an I/O thread that must not wait for the
 * disk) only bytes found in the page cache are sent; when the next ones are
 * not there the segment is marked cold and -EINPROGRESS returned: a worker
 * calls pf__files_page_in, then the writer tries again. */
ssize_t pf__files_send(pf__out *o, int sock, int nowait);
/* Whether the first segment waits for pf__files_page_in. */
int pf__files_cold(const pf__out *o);
/* Worker side: read the first segment's next window into the page cache
 * (this waits for the disk).  Returns 1 when there was work. */
int pf__files_page_in(pf__out *o);
/* Tests: 1 makes every later segment take the path for files whose page
 * cache state the kernel hides (not ours, not writable), as root cannot;
 * pf__files_no_cachestat 1 checks with mincore, as kernels before 6.5. */
extern int pf__files_distrust, pf__files_no_cachestat;
/* Close and free every segment (the connection is going away). */
void pf__files_free(pf__out *o);

#endif
