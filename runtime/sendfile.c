/* File segments in a session's output (see protofsm/sendfile.h).
 *
 * Why segments and not a read loop on the worker: a worker that reads a
 * 1 GB file into the output would either hold a GB of memory or have to
 * come back for more later, interleaving with the pipelined requests that
 * follow.  A segment is a placeholder in the byte stream that the writer
 * fills from the page cache with sendfile when the stream reaches it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "protofsm/sendfile.h"
#include "sendfile_impl.h"

/* Bytes queued in the session's buffers and not yet written: a hosted
 * session's pending output is own_out, then (while a worker handles it in
 * hsha) the worker's buffer s->out. */
static size_t buffered(const pf_session *s)
{
    size_t n = s->own_out.len;
    if (s->out != &s->own_out)
        n += s->out->len;
    return n;
}

static int by_hand(pf_session *s, int fd, off_t off, size_t len)
{
    int rc = pf_buf_reserve(s->out, len); /* -EMSGSIZE over the limit */
    if (rc < 0)
        goto out;
    while (len) {
        ssize_t n = pread(fd, pf_buf_tail(s->out), len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            goto out;
        }
        pf_buf_commit(s->out, (size_t)n);
        off += n;
        len -= (size_t)n;
    }
out:
    close(fd);
    if (rc < 0) {
        s->closing = 1;
        if (!s->err)
            s->err = rc;
    }
    return rc;
}

int pf_reply_file(pf_session *s, int fd, off_t off, size_t len)
{
    if (!s->host)
        return by_hand(s, fd, off, len);
    if (len == 0) {
        close(fd);
        return 0;
    }
    pf__fseg *g = malloc(sizeof(*g)), **tail = &s->files;
    if (!g) {
        close(fd);
        s->closing = 1;
        if (!s->err)
            s->err = -ENOMEM;
        return -ENOMEM;
    }
    size_t before = 0;
    for (; *tail; tail = &(*tail)->next)
        before += (*tail)->gap;
    *g = (pf__fseg){ .fd = fd, .off = off, .len = len, .gap = buffered(s) - before };
    *tail = g;
    return 0;
}

size_t pf__files_gap(const pf_session *s)
{
    return s->files ? s->files->gap : SIZE_MAX;
}

void pf__files_wrote(pf_session *s, size_t n)
{
    if (s->files)
        s->files->gap -= n;
}

static void pop(pf_session *s)
{
    pf__fseg *g = s->files;
    s->files = g->next;
    close(g->fd);
    free(g);
}

ssize_t pf__files_send(pf_session *s, int sock)
{
    pf__fseg *g = s->files;
    size_t want = g->len < (1u << 30) ? g->len : (1u << 30);
    ssize_t n;
    do
        n = sendfile(sock, g->fd, &g->off, want);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (n == 0)
        return -EIO; /* the file shrank: the promised length cannot be sent */
    g->len -= (size_t)n;
    if (g->len == 0)
        pop(s);
    return n;
}

void pf__files_free(pf_session *s)
{
    while (s->files)
        pop(s);
}
