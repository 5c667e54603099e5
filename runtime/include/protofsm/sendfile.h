/* File segments in a session's output: large bodies without copies.
 *
 * pf_reply_file queues a range of an open file as part of the reply stream:
 * bytes queued before it go first, bytes queued after it follow it.  A
 * hosted session's connection sends the range with sendfile(2) from
 * whichever thread writes the connection (the I/O thread in hsha, the job's
 * thread otherwise), a socket buffer at a time, so neither the handler nor
 * the I/O thread waits for the peer.  While a segment is pending the
 * connection handles no further packet (output back-pressure, like a full
 * output buffer), so pipelined requests cannot pile up open files.
 *
 * The page cache does the reading.  In hsha the writer is the I/O thread,
 * which must never wait for the disk: it sends only the bytes it has just
 * found cached (cachestat(2), or mincore(2) on kernels before 6.5), and
 * when the next ones are not, a worker reads the next window (4 MiB) in
 * while the I/O thread serves other connections
 * (pf_server_stats.file_waits counts these).  For a file the kernel will
 * not tell about (not the process's, not writable by it) the I/O thread
 * reads pieces with preadv2(RWF_NOWAIT) and writes them, one copy more
 * than sendfile, still without waiting.  In reactor and lf the writer
 * is the job's worker, which may wait; inline mode has one thread for
 * everything, so a cold file stalls it while the disk reads.
 *
 * A session driven by hand (pf_session_new) has no socket: the range is
 * read with pread into the output buffer instead, so the session's output
 * limit applies. */
#ifndef PROTOFSM_SENDFILE_H
#define PROTOFSM_SENDFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "protofsm/session.h"

/* Queue `len` bytes of `fd` from `off`.  The session owns fd from the call
 * on, whatever the result: it is closed once sent, or when the connection
 * closes.  The file must not shrink meanwhile (a short file closes the
 * connection: the reply promised its length).
 * 0; -ENOMEM; by hand: -EMSGSIZE over the output limit, -EIO for a short
 * file, -errno from pread.  On error the session is marked closing, as
 * with pf_replyv (a reply cannot be half queued).  Handler threads only. */
int pf_reply_file(pf_session *s, int fd, off_t off, size_t len);

/* The same for a descriptor the caller keeps open for other replies too (a
 * cache of open files): instead of closing fd, the session calls
 * release(arg) once, from whichever thread finishes with it (the
 * connection's writer, or this one on error), whatever the result.  fd must
 * stay open until then; sendfile and pread use their own offsets, so any
 * number of replies may share it. */
int pf_reply_file_shared(pf_session *s, int fd, off_t off, size_t len, void (*release)(void *),
                         void *arg);

#endif
