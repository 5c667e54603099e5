/* Connections: the bytes side of a hosted session.
 *
 * Reading, parsing, handling and writing for one connection, written once
 * and used by every mode.  In hsha the owner reads and parses ahead
 * (pf__conn_read_parse), a worker runs the handlers over the parsed batch
 * (pf__conn_handle) and the owner writes.  In reactor, lf and inline one
 * thread does it all (pf__conn_io).  See server_impl.h for who may touch
 * which field when.
 *
 * Packets point into c->s.in, so while any parsed packet is unhandled the
 * buffer is neither read into (a reserve may move it) nor compacted. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sendfile_impl.h"
#include "post_impl.h"
#include "server_impl.h"

#define READ_CHUNK 16384u
#define IO_READS_PER_JOB 16 /* fairness: re-arm (inline: run again next turn) after this many reads */

#define align_up pf__align_max /* server_impl.h */

/* ---- parser state --------------------------------------------------------
 *
 * The parser's state, the fields scratch and hsha's first packet: after
 * the connection, or, for a protocol whose parser can say it is at rest
 * (pf_protocol.at_rest), in a block of their own that a connection holds
 * only while a packet is under way, so an idle connection holds none of
 * them (HTTP/1.1: 3.3 KB of an idle connection's 3.7).  Each thread keeps
 * a few given-back blocks for the next packet: a keep-alive client goes
 * idle between every two requests, and a malloc and a free per request
 * would show. */

#define PARSER_CACHE 16

struct parser_cache {
    size_t size; /* of every block in it */
    unsigned n;
    void *blk[PARSER_CACHE];
};

static _Thread_local struct parser_cache pcache;
static pthread_key_t pcache_key;
static pthread_once_t pcache_once = PTHREAD_ONCE_INIT;

/* A thread's end (a retired worker): its cached blocks go. */
static void pcache_drop(void *arg)
{
    struct parser_cache *pc = arg;

    while (pc->n)
        free(pc->blk[--pc->n]);
}

static void pcache_key_init(void) { (void)pthread_key_create(&pcache_key, pcache_drop); }

static size_t parser_block(const pf_protocol *p)
{
    return align_up(p->parser_size) + align_up(p->fields_size ? p->fields_size : 1) +
           sizeof(pf_packet);
}

static int lazy_parser(const pf_protocol *p) { return p->at_rest != NULL; }

/* The connection's parser, ready for a packet.  0 or -ENOMEM. */
static int conn_parser(pf__conn *c)
{
    const pf_protocol *p = c->ls->proto;
    size_t sz = parser_block(p);
    char *b;

    if (c->s.parser)
        return 0;
    if (pcache.n && pcache.size == sz)
        b = pcache.blk[--pcache.n];
    else if (!(b = malloc(sz)))
        return -ENOMEM;
    p->parser_init(b, c->ls->proto_conf);
    c->s.parser = b;
    c->s.fields = b + align_up(p->parser_size);
    return 0;
}

void pf__conn_rest(pf__conn *c)
{
    const pf_protocol *p = c->ls->proto;
    size_t sz = parser_block(p);

    assert(pf__io_here(c));
    if (!lazy_parser(p) || !c->s.parser || c->s.in.len || c->perr || pf__conn_has_packets(c) ||
        !p->at_rest(c->s.parser))
        return;
    if (pcache.n == 0) {
        (void)pthread_once(&pcache_once, pcache_key_init);
        (void)pthread_setspecific(pcache_key, &pcache);
        pcache.size = sz;
    }
    if (pcache.size == sz && pcache.n < PARSER_CACHE)
        pcache.blk[pcache.n++] = c->s.parser;
    else
        free(c->s.parser);
    c->s.parser = c->s.fields = NULL;
}

pf__conn *pf__conn_new(pf_server *srv, pf__listener *ls, int fd)
{
    const pf_protocol *p = ls->proto;
    size_t sz = align_up(sizeof(pf__conn)) + (lazy_parser(p) ? 0 : parser_block(p));
    pf__conn *c = calloc(1, sz);
    char *pmem;

    if (!c)
        return NULL;
    pmem = (char *)c + align_up(sizeof(*c));
    c->fd = fd;
    c->ls = ls;
    c->srv = srv;
    pf__timer_entry_init(&c->timer);
    if (lazy_parser(p))
        pf__session_init(&c->s, ls->svc, ls->proto_conf, NULL, NULL, ls->fstats);
    else
        pf__session_init(&c->s, ls->svc, ls->proto_conf, pmem, pmem + align_up(p->parser_size),
                         ls->fstats);
    /* After the session's init, which clears its buffers. */
    pf_buf_init(&c->s.in, ls->max_input);
    /* No cap: max_output is a high-water mark.  Above it the connection is
     * not read and no more of its packets are handled until the client
     * reads, so the output holds the mark plus at most one reply (or one
     * batch of mail, itself bounded by the mark: post.c). */
    pf__out_init(&c->s.out, 0, 0);
    c->s.host = c;
    c->readable = 1;
    c->writable = 1;
    return c;
}

void pf__conn_free(pf__conn *c)
{
    if (lazy_parser(c->ls->proto))
        free(c->s.parser);
    pf__post_release(&c->s); /* its handle goes stale (post.c) */
    pf_buf_free(&c->s.in);
    pf__out_free(&c->s.out); /* unsent bytes and file segments */
    pf__conn_release_packets(c);
    free(c);
}

int pf__conn_has_packets(const pf__conn *c) { return c->first < c->npk; }

static const pf_slice reasons[] = {
    { "idle", 4 }, { "deadline", 8 }, { "timer", 5 }, { "room", 4 },
};

void pf__conn_event(pf__conn *c, uint16_t ev, const char *why)
{
    pf_packet pkt = { .event = ev, .raw = { why, why ? strlen(why) : 0 } };

    assert(pf__job_here(c));
    pf__session_dispatch(&c->s, &pkt);
    PF__STAT_ADD(c->srv, events, 1);
}

/* Events other than OPEN, which the caller delivers first. */
static void deliver_late_events(pf__conn *c)
{
    uint8_t ev = c->job_events;

    if (ev & PF__EV_TIMER)
        pf__conn_event(c, PF_EV_TIMEOUT, reasons[2].ptr);
    if (ev & PF__EV_ROOM)
        pf__conn_event(c, PF_EV_TIMEOUT, reasons[3].ptr);
    if (ev & PF__EV_IDLE)
        pf__conn_event(c, PF_EV_TIMEOUT, reasons[0].ptr);
    else if (ev & PF__EV_DEADLINE)
        pf__conn_event(c, PF_EV_TIMEOUT, reasons[1].ptr);
    if (ev & PF__EV_DRAIN)
        pf__conn_event(c, PF_EV_DRAIN, NULL);
}

/* ---- reading ------------------------------------------------------------ */

/* Reads land in a per-thread scratch buffer and are copied into c->s.in at
 * their real size: a 10-byte request costs a small allocation, not a 16 KiB
 * one, so a thousand connections each holding one request do not churn
 * the heap (with 16 KiB reads, brk trimming and TLB shootdowns dominated
 * the I/O thread's profile). */
static _Thread_local char scratch[READ_CHUNK];

/* Read once into c->s.in.  >0 bytes, 0 on EOF (c->eof), -EAGAIN, -ENOBUFS
 * when the input limit is reached, or -errno. */
static ssize_t read_some(pf__conn *c)
{
    size_t want = c->s.in.max - c->s.in.len;
    ssize_t n;
    int rc;

    assert(pf__io_here(c));
    if (want > READ_CHUNK)
        want = READ_CHUNK;
    if (want == 0)
        return -ENOBUFS;
    if (c->drain_cut) { /* draining: what came before the drain, no more */
        if (want > c->drain_left)
            want = c->drain_left;
        if (want == 0) {
            c->eof = 1;
            c->readable = 0;
            return 0;
        }
    }
    do
        n = read(c->fd, scratch, want);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        rc = pf_buf_append(&c->s.in, scratch, (size_t)n);
        if (rc < 0)
            return rc;
        c->activity = 1;
        if (c->drain_cut)
            c->drain_left -= (size_t)n;
        PF__STAT_ADD(c->srv, bytes_in, (uint64_t)n);
        /* A short read drained the socket: the next byte to arrive raises
         * a new edge (or a one-shot re-arm sees it), so the read that would
         * only say EAGAIN is skipped, a third of the syscalls of a small
         * request.  Not when the FIN is already queued: its edge has been
         * consumed, so read on to see the EOF. */
        if ((size_t)n < want && !c->rdhup)
            c->readable = 0;
        return n;
    }
    if (n == 0) {
        c->eof = 1;
        c->readable = 0;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->readable = 0;
        return -EAGAIN;
    }
    return -errno;
}

/* Room for one more parsed packet.  The first one lives in the parser
 * block, its fields in the session's scratch (unused in hsha), so the
 * usual job of one request allocates nothing; a pipelined batch grows
 * arrays for the rest, doubling up to the batch size and re-pointing the
 * fields of packets already parsed (nothing else refers to them before
 * the job is posted). */
static int grow_packets(pf__conn *c, unsigned batch, size_t fsz)
{
    unsigned cap = c->pkcap ? c->pkcap * 2 : 4;
    pf_packet *pk;
    char *pkf;

    if (cap > batch - 1)
        cap = batch - 1;
    pk = realloc(c->pk, cap * sizeof(*pk));
    if (!pk)
        return -ENOMEM;
    c->pk = pk;
    pkf = realloc(c->pkf, cap * (fsz ? fsz : 1));
    if (!pkf)
        return -ENOMEM;
    c->pkf = pkf;
    c->pkcap = cap;
    for (unsigned i = 1; i < c->npk; i++)
        c->pk[i - 1].fields = c->pkf + (i - 1) * fsz;
    return 0;
}

/* Between jobs with nothing buffered: a connection that pipelines keeps
 * small arrays (RESP: 16 packets in about 1 KB) instead of growing them
 * anew, three reallocs each, for every batch; big ones (HTTP fields are
 * 2 KB a packet) go, as idle connections keep nothing. */
#define PACKETS_KEEP 2048u

void pf__conn_trim_packets(pf__conn *c)
{
    size_t fsz = align_up(c->ls->proto->fields_size);

    if (c->pkcap * (sizeof(pf_packet) + fsz) > PACKETS_KEEP)
        pf__conn_release_packets(c);
}

void pf__conn_release_packets(pf__conn *c)
{
    free(c->pk);
    free(c->pkf);
    c->pk = NULL;
    c->pkf = NULL;
    c->pkcap = 0;
}

static int parse_error(pf__conn *c, int err)
{
    c->perr = err;
    PF__STAT_ADD(c->srv, proto_errors, 1);
    if (err == -EMSGSIZE)
        PF__STAT_ADD(c->srv, proto_too_large, 1);
    return err;
}

int pf__conn_read_parse(pf__conn *c)
{
    pf_server *srv = c->srv;
    size_t fsz = align_up(c->ls->proto->fields_size);
    unsigned batch = srv->conf.batch;

    assert(srv->sched->owner_io && pf__owner_here(srv) && !c->in_flight);
    /* Only called with nothing parsed and unhandled, so the buffer may move. */
    c->first = c->npk = 0;
    while (c->readable && !c->eof && c->s.in.len < c->s.in.max) {
        ssize_t n = read_some(c);
        if (n == -EAGAIN || n == 0)
            break;
        if (n < 0) {
            c->hard = 1;
            return (int)n;
        }
    }
    if (c->perr || c->s.in.len == c->parsed)
        goto out;
    if (conn_parser(c) < 0) {
        c->hard = 1;
        return -ENOMEM;
    }
    while (c->npk < batch && c->s.in.len > c->parsed) {
        if (c->npk == c->pkcap + 1 && grow_packets(c, batch, fsz) < 0) {
            c->hard = 1;
            return -ENOMEM;
        }
        pf_packet *pkt = pf__conn_packet(c, c->npk);
        ssize_t n;

        pkt->fields = c->npk ? c->pkf + (c->npk - 1) * fsz : c->s.fields;
        /* Answered once the packets before it are handled (progress_hsha). */
        n = pf__session_parse(&c->s, c->parsed, pkt);
        if (n > 0) {
            c->parsed += (size_t)n;
            c->npk++;
            c->completed = 1;
            continue;
        }
        if (n < 0)
            parse_error(c, (int)n);
        break;
    }
out:
    c->partial = c->s.in.len > c->parsed;
    return (int)c->npk;
}

/* ---- handling ----------------------------------------------------------- */

void pf__conn_handle(pf__conn *c)
{
    size_t hwm = c->srv->conf.max_output;
    unsigned handled = 0, first = c->first;
    int learn = pf__cheap_learns(c->srv);
    uint64_t t0 = learn ? pf__cheap_now_ns() : 0;

    PF__JOB_ENTER(c);
    assert(c->in_flight && c->srv->sched->owner_io && c->first <= c->npk);
    pf__out_begin_job(&c->s.out, 1);
    if (pf__files_page_in(&c->s.out)) /* the owner found the next bytes cold */
        PF__STAT_ADD(c->srv, file_waits, 1);
    if (c->job_events & PF__EV_OPEN)
        pf__conn_event(c, PF_EV_OPEN, NULL);
    /* A pending file segment is back-pressure too (sendfile.h). */
    while (c->first < c->npk && !c->s.closing && c->s.out.job.len < hwm && !c->s.out.files) {
        pf__session_dispatch(&c->s, pf__conn_packet(c, c->first++));
        handled++;
    }
    if (c->s.closing)
        c->first = c->npk; /* not handled: the session ended before them */
    PF__STAT_ADD(c->srv, packets, handled);
    deliver_late_events(c);
    /* Before the owner may write this job's replies (server.h). */
    if (c->ls->before_send && c->ls->before_send(&c->s) < 0)
        c->jerr = 1;
    if (pf__out_end_job(&c->s.out) < 0)
        c->jerr = 1;
    if (learn)
        pf__cheap_note(c, first, handled, c->job_events, pf__cheap_now_ns() - t0);
    PF__JOB_LEAVE(c);
}

/* ---- writing ------------------------------------------------------------ */

int pf__conn_flush(pf__conn *c)
{
    size_t sent;

    assert(pf__io_here(c) && pf__job_here(c));
    int rc = pf__out_flush(&c->s.out, c->fd, c->srv->sched->owner_io || pf__owner_job, &sent);

    PF__STAT_ADD(c->srv, bytes_out, (uint64_t)sent);
    /* Write progress is not idleness either, from a file as from the
     * buffers: a slow client downloading a large file would otherwise be
     * cut at the idle timeout (then at the flush deadline) mid-transfer. */
    if (sent)
        c->activity = 1;
    if (rc == -EAGAIN)
        c->writable = 0;
    else if (rc < 0 && rc != -EINPROGRESS) /* cold: a job reads it in (progress_hsha) */
        return rc;
    return pf__out_pending(&c->s.out) ? 1 : 0;
}

/* ---- the whole job: reactor, lf, inline ----------------------------------- */

/* Parse and handle every whole packet in c->s.in while output has room,
 * at most `max`.  Returns how many were handled. */
static unsigned handle_buffered(pf__conn *c, size_t hwm, unsigned max)
{
    unsigned handled = 0;

    if (c->s.in.len && conn_parser(c) < 0) {
        c->jerr = 1;
        return 0;
    }
    while (c->s.in.len && !c->s.closing && c->s.out.buf.len < hwm && !c->s.out.files &&
           handled < max) {
        pf_packet pkt = { .fields = c->s.fields };
        ssize_t n = pf__session_parse(&c->s, 0, &pkt);

        if (n == 0)
            break;
        if (n < 0) {
            pf__session_parse_error(&c->s, parse_error(c, (int)n));
            break;
        }
        pf__session_dispatch(&c->s, &pkt);
        pf_buf_consume(&c->s.in, (size_t)n);
        c->completed = 1;
        handled++;
    }
    PF__STAT_ADD(c->srv, packets, handled);
    return handled;
}

void pf__conn_io(pf__conn *c)
{
    size_t hwm = c->srv->conf.max_output;
    int reads = 0, again = 0, blocked = 0;
    unsigned handled = 0;
    int learn = pf__cheap_learns(c->srv);
    uint64_t hns = 0; /* in handlers, parsing and before_send: what the I/O
                         thread would wait for if it ran this job; reads and
                         writes never block */
    /* On the owner: no more packets than its turn's budget covers (one
     * client's long pipeline must not hold everyone else); the rest in a
     * job of its own.  Not after EOF: nothing would come back for them. */
    unsigned quota = pf__owner_job ? pf__cheap_quota(c) : UINT_MAX;

    PF__JOB_ENTER(c);
    assert(c->in_flight && !c->srv->sched->owner_io);
    pf__out_begin_job(&c->s.out, 0);
    if (learn && c->job_events)
        hns = pf__cheap_now_ns();
    if (c->job_events & PF__EV_OPEN)
        pf__conn_event(c, PF_EV_OPEN, NULL);
    deliver_late_events(c);
    if (learn && c->job_events)
        hns = pf__cheap_now_ns() - hns;
    if (c->job_events & (PF__EV_IDLE | PF__EV_DEADLINE))
        c->s.closing = 1; /* it will be closed: read nothing more */
    for (;;) {
        if (pf__out_pending(&c->s.out)) {
            int rc = pf__conn_flush(c);
            if (rc < 0) {
                c->jerr = 1;
                break;
            }
            if (rc == 1 && (c->s.out.buf.len >= hwm || c->s.out.files)) {
                blocked = 1;
                break; /* back-pressure: wait for EPOLLOUT */
            }
        }
        if (c->s.closing || c->jerr || c->perr)
            break;
        uint64_t t0 = learn ? pf__cheap_now_ns() : 0;
        handled += handle_buffered(c, hwm, c->eof ? UINT_MAX : quota - handled);
        /* Before this run's replies are flushed (server.h). */
        int bs = c->ls->before_send ? c->ls->before_send(&c->s) : 0;
        if (learn)
            hns += pf__cheap_now_ns() - t0;
        if (bs < 0) {
            c->jerr = 1;
            break;
        }
        if (handled >= quota && !c->eof) {
            if (c->s.in.len)
                c->readable = 1; /* so that a job comes back for them */
            break;
        }
        if (c->s.closing || c->perr || c->s.out.buf.len >= hwm || c->s.out.files)
            continue; /* flush, then stop */
        /* !readable: a short read drained the socket (read_some), the
         * next bytes raise a new event. */
        if (c->eof || again || !c->readable || reads >= IO_READS_PER_JOB)
            break;
        ssize_t n = read_some(c);
        if (n > 0) {
            reads++;
            continue;
        }
        if (n == -EAGAIN) {
            again = 1;
            continue;
        }
        if (n == 0 || n == -ENOBUFS)
            continue; /* handle what is left, flush, then stop */
        c->jerr = 1;
        break;
    }
    /* Not after back-pressure: if this flush emptied the output, nothing
     * would come back for the input still buffered behind it (the socket
     * was read dry), and the connection would wait for bytes that came
     * long ago.  The EPOLLOUT job flushes, then handles that input. */
    if (!blocked && pf__out_pending(&c->s.out) && !c->jerr && pf__conn_flush(c) < 0)
        c->jerr = 1;
    c->partial = c->s.in.len > 0;
    pf_buf_shrink(&c->s.in);
    pf__conn_rest(c);
    pf__out_end_job(&c->s.out); /* not split: nothing to move */
    if (learn)
        pf__cheap_note_job(c, handled, c->job_events, hns);
    PF__JOB_LEAVE(c);
}
