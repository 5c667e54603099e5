/* A session's output: pending bytes, a split job's replies, file segments,
 * and the writer that sends them in stream order (see out_impl.h).
 *
 * Why a split job has its own buffer: in hsha the worker's replies are
 * limited per job (2 x max_output), while what is pending before the job
 * (posts, a reply the client has not read yet) is bounded by the
 * high-water mark instead; one buffer would need its limit moved at every
 * job start.  Why the job's replies are folded in when the job ends, not
 * when they are written: then the writer has one buffer, mail and interim
 * replies the owner appends between jobs land behind every reply before
 * them, and the swap that does the fold costs nothing when nothing was
 * pending, the usual case. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "out_impl.h"
#include "sendfile_impl.h"

/* Past the reply limit: what the owner moves in is bounded by the
 * high-water mark instead (mail moves only below it; a job starts only
 * below it and adds at most its own limit). */
static int append_over(pf_buf *b, const void *p, size_t n)
{
    size_t max = b->max;
    int rc;

    b->max = SIZE_MAX / 2;
    rc = pf_buf_append(b, p, n);
    b->max = max;
    return rc;
}

void pf__out_init(pf__out *o, size_t limit, size_t job_limit)
{
    pf_buf_init(&o->buf, limit);
    pf_buf_init(&o->job, job_limit);
    o->cur = &o->buf;
    o->files = NULL;
}

void pf__out_free(pf__out *o)
{
    pf_buf_free(&o->buf);
    pf_buf_free(&o->job);
    pf__files_free(o);
}

void pf__out_begin_job(pf__out *o, int split)
{
    assert(o->cur == &o->buf && o->job.len == 0); /* the last job ended */
    o->cur = split ? &o->job : &o->buf;
}

int pf__out_end_job(pf__out *o)
{
    int rc = 0;

    o->cur = &o->buf;
    if (!o->job.len)
        return 0;
    if (o->buf.len == 0) {
        /* Swap the storage, each keeping its limit. */
        pf_buf t = o->buf;
        size_t max = o->buf.max, jmax = o->job.max;
        o->buf = o->job;
        o->job = t;
        o->buf.max = max;
        o->job.max = jmax;
    } else {
        rc = append_over(&o->buf, pf_buf_head(&o->job), o->job.len);
    }
    if (rc == 0) {
        pf_buf_consume(&o->job, o->job.len);
        pf_buf_shrink(&o->job);
    }
    return rc;
}

int pf__out_mail(pf__out *o, const void *p, size_t n)
{
    assert(o->cur == &o->buf); /* between jobs, or inside an unsplit one */
    return append_over(&o->buf, p, n);
}

int pf__out_flush(pf__out *o, int fd, int nowait, size_t *sent)
{
    int rc = 0;

    /* One buffer to write: a split job's replies were folded in when it
     * ended (and the writer never runs during one). */
    assert(o->cur == &o->buf && o->job.len == 0);
    *sent = 0;
    while (o->buf.len || o->files) {
        /* File segments sit between buffered bytes: write up to the first
         * one, send it, go on. */
        size_t lim = pf__files_gap(o);
        ssize_t n;

        if (lim == 0) {
            n = pf__files_send(o, fd, nowait);
            if (n < 0) {
                rc = (int)n; /* -EINPROGRESS: cold, a job reads it in */
                break;
            }
            *sent += (size_t)n;
            continue;
        }
        if (!o->buf.len) {
            pf__files_wrote(o, lim); /* defensive: no bytes owed before it */
            continue;
        }
        size_t k = o->buf.len < lim ? o->buf.len : lim;
        /* Bytes just before a file segment (an HTTP head before its body)
         * are held for the file's first bytes: one TCP segment instead of a
         * small one and then the rest, and no TCP_CORK calls around it.
         * sendfile's last page pushes them out. */
        if (k == lim && o->files) {
            n = send(fd, pf_buf_head(&o->buf), k, MSG_MORE | MSG_NOSIGNAL);
            if (n < 0 && errno == ENOTSOCK)
                n = write(fd, pf_buf_head(&o->buf), k);
        } else {
            n = write(fd, pf_buf_head(&o->buf), k);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = errno == EWOULDBLOCK ? -EAGAIN : -errno;
            break;
        }
        *sent += (size_t)n;
        pf__files_wrote(o, (size_t)n);
        pf_buf_consume(&o->buf, (size_t)n);
    }
    pf_buf_shrink(&o->buf);
    return rc;
}
