/* Private: a session's output, one owner for it (out.c).
 *
 * Everything a session sends goes through here: handler replies (pf_reply
 * appends at `cur`), interim and error replies, mail moved in from other
 * sessions (post.c), the busy replies of refused jobs, and file segments
 * (sendfile.c).  The writer flushes it to a socket.
 *
 * Who may touch it.  A session driven by hand: its one thread.  A hosted
 * one: the thread that holds the connection's job group (server_impl.h):
 * the job while one is in flight, the loop owner otherwise.  A job that
 * runs handlers while the owner keeps the socket (hsha) is a "split" job:
 * its replies go to their own buffer with its own limit and are put
 * behind the pending bytes when the job ends, so no byte moves twice in
 * the common case (nothing pending: the buffers are swapped). */
#ifndef PF__OUT_IMPL_H
#define PF__OUT_IMPL_H

#include <stddef.h>

#include "protofsm/buf.h"

struct pf__fseg;

typedef struct pf__out {
    pf_buf *cur;              /* where replies go: &buf, or &job in a split job */
    pf_buf buf;               /* pending output, in stream order */
    pf_buf job;               /* a split job's replies, behind buf */
    struct pf__fseg *files;   /* file segments in the stream (sendfile.c) */
} pf__out;

/* Empty output: `limit` bounds the replies pending in `buf` (0: none),
 * `job_limit` those of one split job. */
void pf__out_init(pf__out *o, size_t limit, size_t job_limit);
/* Free both buffers and every file segment. */
void pf__out_free(pf__out *o);

/* A job starts: replies go behind the pending output, or (split) to the
 * job's own buffer. */
void pf__out_begin_job(pf__out *o, int split);
/* The job ends (on its thread, before it hands the connection back): its
 * replies go behind the pending output.  0, or -ENOMEM (nothing lost:
 * the output is in order, the caller fails the connection). */
int pf__out_end_job(pf__out *o);

/* Bytes that come from outside the session's handlers (posts, busy
 * replies), appended by the thread that holds the output between jobs.
 * Not held to the reply limit: the caller bounds them.  0, or -ENOMEM. */
int pf__out_mail(pf__out *o, const void *p, size_t n);

/* Buffered bytes not yet written (both buffers). */
static inline size_t pf__out_len(const pf__out *o) { return o->buf.len + o->job.len; }
/* Anything left to write: bytes or file segments. */
static inline int pf__out_pending(const pf__out *o)
{
    return o->buf.len || o->job.len || o->files;
}

/* Write what is pending to `fd`, bytes and file segments in stream order.
 * `nowait`: the writer must not wait for the disk (sendfile_impl.h).
 * Returns 0 when everything went, -EAGAIN when the socket is full,
 * -EINPROGRESS when a file segment waits to be read in, or -errno.
 * *sent counts the bytes written, from the buffers and from files. */
int pf__out_flush(pf__out *o, int fd, int nowait, size_t *sent);

#endif
