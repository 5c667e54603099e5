/* File segments in a session's output (see protofsm/sendfile.h).
 *
 * Why segments and not a read loop on the worker: a worker that reads a
 * 1 GB file into the output would either hold a GB of memory or have to
 * come back for more later, interleaving with the pipelined requests that
 * follow.  A segment is a placeholder in the byte stream that the writer
 * fills from the page cache with sendfile when the stream reaches it.
 *
 * Why a residency check before sendfile: sendfile on a file that is not in
 * the page cache waits for the disk, and in hsha the writer is the I/O
 * thread, which every other connection waits on.  So that writer sends only
 * what it has just found cached, a span at a time; when the next bytes are
 * not there a worker reads a window in (pf__files_page_in) and the I/O
 * thread goes on with other connections meanwhile.
 *
 * How it asks: cachestat(2) (Linux 6.5), one system call on the descriptor
 * itself.  Before it, the check was mmap + mincore + munmap per window,
 * plus an fstat and a geteuid per file to learn whether mincore would tell
 * the truth: four to six calls per small file, which made up much of what
 * a 1 MiB download cost beyond nginx's.  Kernels without cachestat still
 * get that path.
 *
 * Not every answer is honest or given: since Linux 5.0 mincore reports a
 * file's pages as cached unless the caller owns the file (or is root) or
 * could open it for writing, and cachestat, for the same files, fails with
 * EPERM (it never lies).  A server serving other people's read-only files
 * gets no answer, so for those the I/O thread reads a piece with
 * preadv2(RWF_NOWAIT), which fails rather than wait, and writes what it
 * got: a copy more than sendfile, but never a wait. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "protofsm/sendfile.h"
#include "sendfile_impl.h"
#include "session_impl.h"

/* Give the descriptor back: to its owner's release, or closed. */
static void let_go(int fd, void (*release)(void *), void *arg)
{
    if (release)
        release(arg);
    else
        close(fd);
}

static int by_hand(pf_session *s, int fd, off_t off, size_t len, void (*release)(void *),
                   void *arg)
{
    pf_buf *b = s->out.cur;
    int rc = pf_buf_reserve(b, len); /* -EMSGSIZE over the limit */
    if (rc < 0)
        goto out;
    while (len) {
        ssize_t n = pread(fd, pf_buf_tail(b), len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            goto out;
        }
        pf_buf_commit(b, (size_t)n);
        off += n;
        len -= (size_t)n;
    }
out:
    let_go(fd, release, arg);
    if (rc < 0) {
        s->closing = 1;
        if (!s->err)
            s->err = rc;
    }
    return rc;
}

int pf__files_distrust, pf__files_no_cachestat;

/* Whether mincore tells the truth about fd (the kernel's can_do_mincore:
 * the file's owner, CAP_FOWNER, or write permission). */
static int mincore_trusted(int fd)
{
    struct stat st;
    char path[40];

    if (fstat(fd, &st) < 0)
        return 0;
    if (st.st_uid == geteuid() || geteuid() == 0)
        return 1;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

int pf_reply_file_shared(pf_session *s, int fd, off_t off, size_t len, void (*release)(void *),
                         void *arg)
{
    if (!s->host)
        return by_hand(s, fd, off, len, release, arg);
    if (len == 0) {
        let_go(fd, release, arg);
        return 0;
    }
    pf__fseg *g = malloc(sizeof(*g)), **tail = &s->out.files;
    if (!g) {
        let_go(fd, release, arg);
        s->closing = 1;
        if (!s->err)
            s->err = -ENOMEM;
        return -ENOMEM;
    }
    size_t before = 0;
    for (; *tail; tail = &(*tail)->next)
        before += (*tail)->gap;
    /* Every byte buffered so far comes before it (out.c keeps them in
     * stream order, a split job's behind the pending ones). */
    *g = (pf__fseg){ .fd = fd, .off = off, .len = len, .gap = pf__out_len(&s->out) - before,
                     .warm = off, .trusted = pf__files_distrust ? 0 : -1,
                     .release = release, .arg = arg };
    *tail = g;
    return 0;
}

int pf_reply_file(pf_session *s, int fd, off_t off, size_t len)
{
    return pf_reply_file_shared(s, fd, off, len, NULL, NULL);
}

size_t pf__files_gap(const pf__out *o)
{
    return o->files ? o->files->gap : SIZE_MAX;
}

void pf__files_wrote(pf__out *o, size_t n)
{
    if (o->files)
        o->files->gap -= n;
}

static void pop(pf__out *o)
{
    pf__fseg *g = o->files;
    o->files = g->next;
    let_go(g->fd, g->release, g->arg);
    free(g->probe);
    free(g);
}

/* Bytes read in at a time by a worker, and the first span checked: one
 * check (and, cold, one disk request) per window costs little against the
 * bytes it clears. */
#define WINDOW ((size_t)4 << 20)
/* Each span found cached doubles the next one up to this: a hot 100 MiB
 * file is cleared in five checks, not twenty-five. */
#define SPAN_MAX ((size_t)64 << 20)

/* How long a residency answer is believed: a span takes a fast reader
 * milliseconds, but a slow one may take minutes over 64 MiB, time enough
 * for the pages to be evicted under the I/O thread's feet. */
#define WARM_MS 200

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* vDSO: no system call */
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The kernel's struct cachestat_range and struct cachestat (uapi/linux/mman.h,
 * missing from older headers). */
struct cs_range {
    uint64_t off, len;
};
struct cs_stat {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};
#ifndef SYS_cachestat
#define SYS_cachestat 451 /* the same number on every architecture */
#endif

static int no_cachestat; /* ENOSYS once: this kernel has none */

/* cachestat's answer for [off, off + want): 1 every page is cached, 0 not
 * all are, -EPERM it will not tell about this file, -ENOSYS (or another
 * error) it cannot ask: try mincore. */
static int cached_cs(const pf__fseg *g, size_t want)
{
    struct cs_range r = { (uint64_t)g->off, want };
    struct cs_stat st;
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t pages = ((uint64_t)g->off + want - 1) / pg - (uint64_t)g->off / pg + 1;

    if (pf__files_no_cachestat || __atomic_load_n(&no_cachestat, __ATOMIC_RELAXED))
        return -ENOSYS;
    if (syscall(SYS_cachestat, g->fd, &r, &st, 0) < 0) {
        if (errno == ENOSYS)
            __atomic_store_n(&no_cachestat, 1, __ATOMIC_RELAXED);
        return -errno;
    }
    return st.nr_cache >= pages;
}

/* How many of the `want` bytes from g->off mincore finds in the page cache,
 * counted from the start (a prefix).  When it cannot tell, it says all of
 * them and lets sendfile decide. */
static size_t resident_mincore(const pf__fseg *g, size_t want)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t skew = (size_t)((uint64_t)g->off % pg), maplen = skew + want, i, n;
    unsigned char vec[(WINDOW >> 12) + 2]; /* pages are 4 KiB or larger */
    void *m = mmap(NULL, maplen, PROT_READ, MAP_SHARED, g->fd, g->off - (off_t)skew);

    if (m == MAP_FAILED)
        return want;
    if (mincore(m, maplen, vec) < 0) {
        munmap(m, maplen);
        return want;
    }
    munmap(m, maplen);
    for (i = 0; i < (maplen + pg - 1) / pg && (vec[i] & 1); i++)
        ;
    n = i * pg;
    n = n > skew ? n - skew : 0;
    return n < want ? n : want;
}

/* How many bytes from g->off (at most `want`) may be sent without waiting
 * for the disk; sets g->trusted to 0 when nobody will say. */
static size_t resident(pf__fseg *g, size_t want)
{
    size_t span = g->span ? g->span : WINDOW;
    int rc;

    if (want > span)
        want = span;
    rc = cached_cs(g, want);
    if (rc == 1) {
        g->span = span < SPAN_MAX ? span * 2 : SPAN_MAX;
        return want;
    }
    g->span = WINDOW;
    if (rc == 0)
        return 0; /* a worker reads the window in, then the check again */
    if (rc == -EPERM) {
        g->trusted = 0;
        return 0;
    }
    if (g->trusted < 0)
        g->trusted = mincore_trusted(g->fd);
    if (!g->trusted)
        return 0;
    return resident_mincore(g, want < WINDOW ? want : WINDOW);
}

int pf__files_cold(const pf__out *o)
{
    return o->files && o->files->cold;
}

int pf__files_page_in(pf__out *o)
{
    pf__fseg *g = o->files;

    if (!g || !g->cold)
        return 0;
    size_t w = g->len < WINDOW ? g->len : WINDOW, left = w;
    off_t at = g->off;
    char buf[64 << 10]; /* a worker's stack: no allocation to fail */
    /* Ask for the whole window at once (the disk sees one large request),
     * then read through it: pread returns once each piece is cached. */
    (void)posix_fadvise(g->fd, at, (off_t)w, POSIX_FADV_WILLNEED);
    while (left) {
        ssize_t n = pread(g->fd, buf, left < sizeof(buf) ? left : sizeof(buf), at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a short file: sendfile will report it */
        at += n;
        left -= (size_t)n;
    }
    /* Trusted even if part of it went again before the writer gets there:
     * the writer then waits briefly, but the transfer always progresses. */
    g->warm = g->off + (off_t)w;
    g->warm_ms = now_ms();
    g->cold = 0;
    return 1;
}

#define PROBE ((size_t)64 << 10)

static void advance(pf__out *o, pf__fseg *g, size_t n)
{
    g->len -= n;
    if (g->len == 0)
        pop(o);
}

/* A file mincore says nothing about: read what the page cache has without
 * waiting, write that. */
static ssize_t send_probed(pf__out *o, pf__fseg *g, int sock, size_t want)
{
    struct iovec iov = { g->probe, want < PROBE ? want : PROBE };
    ssize_t r, n;

    if (!g->probe && !(iov.iov_base = g->probe = malloc(PROBE))) {
        g->cold = 1; /* a worker reads the window in; then sendfile */
        return -EINPROGRESS;
    }
    do
        r = preadv2(g->fd, &iov, 1, g->off, RWF_NOWAIT);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return -EIO; /* the file shrank */
    if (r < 0) {
        g->cold = 1; /* EAGAIN: not cached; EOPNOTSUPP: cannot tell */
        return -EINPROGRESS;
    }
    do
        n = send(sock, g->probe, (size_t)r, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    g->off += n; /* what the socket did not take is read again next time */
    advance(o, g, (size_t)n);
    return n;
}

ssize_t pf__files_send(pf__out *o, int sock, int nowait)
{
    pf__fseg *g = o->files;
    size_t want = g->len < (1u << 30) ? g->len : (1u << 30);
    ssize_t n;

    if (nowait) {
        if (g->cold)
            return -EINPROGRESS;
        if (g->off < g->warm && now_ms() - g->warm_ms > WARM_MS)
            g->warm = g->off; /* a slow reader: the pages may have gone since */
        if (g->off >= g->warm && g->trusted) {
            size_t r = resident(g, want);
            if (r) {
                g->warm = g->off + (off_t)r;
                g->warm_ms = now_ms();
            } else if (g->trusted) {
                g->cold = 1;
                return -EINPROGRESS;
            }
        }
        if (g->off >= g->warm)
            return send_probed(o, g, sock, want);
        if ((uint64_t)(g->warm - g->off) < want)
            want = (size_t)(g->warm - g->off);
    }
    do
        n = sendfile(sock, g->fd, &g->off, want);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (n == 0)
        return -EIO; /* the file shrank: the promised length cannot be sent */
    advance(o, g, (size_t)n);
    return n;
}

void pf__files_free(pf__out *o)
{
    while (o->files)
        pop(o);
}
