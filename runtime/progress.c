/* A connection's next step, decided by the loop owner after each thing
 * that happens to it: an epoll event, a timer, the completion of a job, a
 * drain, mail.  pf__step looks at the flags alone and starts a job, reads
 * more (hsha), waits for readability or writability, or closes; this file
 * also keeps the connection's deadlines (idle, request, handler timer,
 * flush) and closes it (at once, or after our FIN and a short linger).
 * loop.c delivers the happenings and owns the epoll registration (through
 * pf__loop_arm, pf__loop_disarm, pf__loop_forget).
 *
 * Everything here runs on the thread that owns the loop, so none of it
 * locks.  Closed connections are not freed at once: a later event of the
 * same epoll batch may still name them.  They go to a graveyard the loop
 * frees at the end of the batch (libuv's closing phase). */
#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log_impl.h"
#include "post_impl.h"
#include "sendfile_impl.h"
#include "server_impl.h"
#include "protofsm/log.h"

static int is_oneshot(const pf_server *srv) { return srv->sched->oneshot; }

static int out_pending(const pf__conn *c) { return pf__out_pending(&c->s.out); }

static void close_graceful(pf_server *srv, pf__conn *c);
static void linger_read(pf_server *srv, pf__conn *c);

/* ---- deadlines ---------------------------------------------------------- */

void pf__step_timers(pf_server *srv, pf__conn *c)
{
    uint64_t t = PF__TIMER_NEVER;

    if (c->idle_at && c->idle_at < t)
        t = c->idle_at;
    if (c->req_at && c->req_at < t)
        t = c->req_at;
    if (c->user_at && c->user_at < t)
        t = c->user_at;
    if (c->flush_at && c->flush_at < t)
        t = c->flush_at;
    if (t == PF__TIMER_NEVER)
        pf__timers_unlink(&srv->timers, &c->timer);
    else if (pf__timers_link(&srv->timers, &c->timer, t) < 0)
        c->hard = 1; /* out of memory for the heap: cannot keep its promises */
}

/* How long a closing connection may keep output pending without any of it
 * being written: the idle timeout, or the linger time without one. */
static unsigned flush_ms(const pf_server *srv)
{
    return srv->conf.idle_timeout_ms ? srv->conf.idle_timeout_ms : srv->conf.linger_ms;
}

/* The connection will close once its output is written: a client that
 * never reads must not hold it (and its buffers) forever.  Idle and request
 * deadlines are over; write progress pushes this one back. */
static void flush_deadline(pf_server *srv, pf__conn *c)
{
    if (c->flush_at)
        return;
    c->flush_at = pf__timer_deadline(flush_ms(srv));
    c->idle_at = c->req_at = 0;
    pf__step_timers(srv, c);
}

/* After input or a job: re-arm idle, request deadline and handler timer. */
static void conn_timers_after(pf_server *srv, pf__conn *c)
{
    const pf_server_conf *cf = &srv->conf;

    if (c->activity && c->flush_at)
        c->flush_at = pf__timer_deadline(flush_ms(srv));
    else if (c->activity && cf->idle_timeout_ms)
        c->idle_at = pf__timer_deadline(cf->idle_timeout_ms);
    c->activity = 0;
    /* The deadline starts with a packet's first byte and is not moved by
     * later bytes of the same packet: a trickle cannot keep it alive.  A
     * packet that completes ends its deadline; the next one gets its own. */
    if (!c->partial || c->completed)
        c->req_at = 0;
    c->completed = 0;
    if (c->partial && !c->req_at && cf->request_timeout_ms)
        c->req_at = pf__timer_deadline(cf->request_timeout_ms);
    if (c->user_set) {
        c->user_at = c->user_ms ? pf__timer_deadline(c->user_ms) : 0;
        c->user_set = 0;
    }
    pf__step_timers(srv, c);
}

/* A deadline passed: turn it into a pending event, or close. */
void pf__step_timeout(pf_server *srv, pf__conn *c, uint64_t now)
{
    if (c->lingering) {
        pf__step_close(srv, c);
        return;
    }
    if (c->flush_at && now >= c->flush_at) {
        static pf__log_limit unread;
        c->hard = 1; /* its output was not read in time: reset */
        PF__STAT_ADD(srv, timeouts_write, 1);
        pf__log_event(&unread, PF_LOG_INFO, "write_timeout",
                      "reason=client_not_reading unsent=%zu", pf__out_len(&c->s.out));
        pf__step_close(srv, c);
        return;
    }
    if (c->idle_at && now >= c->idle_at) {
        c->idle_at = 0;
        if (c->in_flight) /* busy is not idle */
            c->idle_at = pf__timer_deadline(srv->conf.idle_timeout_ms);
        else
            c->pending |= PF__EV_IDLE;
    }
    if (c->req_at && now >= c->req_at) {
        c->req_at = 0;
        /* Nothing is read while a job is out (hsha) or the job is reading
         * (the others): the client is waiting for us, not we for it. */
        if (c->in_flight)
            c->req_at = pf__timer_deadline(srv->conf.request_timeout_ms);
        else
            c->pending |= PF__EV_DEADLINE;
    }
    if (c->user_at && now >= c->user_at) {
        c->user_at = 0;
        c->pending |= PF__EV_TIMER;
    }
    pf__step_timers(srv, c);
    pf__step(srv, c);
}

/* ---- jobs --------------------------------------------------------------- */

/* The drain reaches this connection (its first job since): it will read
 * what the socket holds now and then treat its input as ended, so a client
 * that keeps sending cannot keep it open.  Everything received is handled
 * and answered, then it closes like one that sent FIN. */
static void drain_cut(pf__conn *c)
{
    int n = 0;

    c->drain_cut = 1;
    if (c->eof || ioctl(c->fd, FIONREAD, &n) < 0 || n < 0)
        n = 0;
    c->drain_left = (size_t)n;
    if (n == 0) {
        c->eof = 1;
        c->readable = 0;
    }
}

void pf__step_start(pf_server *srv, pf__conn *c)
{
    assert(pf__owner_here(srv) && !c->in_flight && !c->dead);
    /* One-shot modes: nothing may report on this socket while its job runs
     * elsewhere (the job owns the flags an event would set). */
    if (is_oneshot(srv) && c->armed)
        pf__loop_disarm(srv, c);
    if ((c->pending & PF__EV_DRAIN) && !c->drain_cut)
        drain_cut(c);
    c->job_events = c->pending;
    c->pending = 0;
    c->in_flight = 1;
    /* inline: run it here, unless this is a completion starting the next
     * job (the read cap, or more work): that one waits for the end of the
     * turn, so there is no recursion and the loop gets to timers and
     * signals between jobs. */
    if (srv->sched->on_owner && !srv->inline_busy) {
        srv->inline_busy = 1;
        srv->sched->job(c);
        pf__step_done(srv, c);
        srv->inline_busy = 0;
        return;
    }
    if (pf__cheap_job(srv, c)) { /* hsha: not worth a hand-off (cheap.c) */
        srv->inline_busy = 1; /* what its completion starts goes to a worker */
        pf__cheap_run(srv, c);
        pf__step_done(srv, c);
        srv->inline_busy = 0;
        return;
    }
    srv->sched->submit(srv, c);
}

/* ---- closing ------------------------------------------------------------ */

void pf__step_close(pf_server *srv, pf__conn *c)
{
    assert(pf__owner_here(srv));
    if (c->dead)
        return;
    if (c->in_flight) {
        c->hard = 1; /* the completion closes it */
        return;
    }
    if (!c->s.closed)
        pf__conn_event(c, PF_EV_CLOSE, NULL);
    pf__loop_forget(srv, c);
    close(c->fd);
    c->fd = -1;
    pf__timers_unlink(&srv->timers, &c->timer);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    /* Release: pf_server_stats_get reads closed, then accepted. */
    atomic_fetch_add_explicit(&srv->st.conns_closed, 1, memory_order_release);
    c->dead = 1;
    c->dnext = srv->graveyard;
    srv->graveyard = c;
    if (srv->draining && srv->nconns == 0)
        srv->done = 1;
}

/* Our reply is flushed: send FIN and wait briefly for the peer's, so that
 * bytes it sent after our last read do not turn our close into a reset
 * that could destroy the reply in flight. */
static void close_graceful(pf_server *srv, pf__conn *c)
{
    if (c->hard || shutdown(c->fd, SHUT_WR) < 0) {
        pf__step_close(srv, c);
        return;
    }
    c->lingering = 1;
    c->idle_at = pf__timer_deadline(srv->conf.linger_ms);
    c->req_at = c->user_at = c->flush_at = 0;
    pf__step_timers(srv, c);
    pf__loop_arm(srv, c, 1, 0);
    if (!c->hard)
        pf__step(srv, c);
    else
        pf__step_close(srv, c);
}

static void linger_read(pf_server *srv, pf__conn *c)
{
    char junk[4096];

    for (;;) {
        ssize_t n = read(c->fd, junk, sizeof(junk));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pf__loop_arm(srv, c, 1, 0); /* level backends: the report disarmed it */
            return;
        }
        pf__step_close(srv, c);
        return;
    }
}

/* ---- deciding the next step ---------------------------------------------- */

static int stopping(const pf__conn *c)
{
    return c->s.closing || c->perr || c->timed_out || c->hard;
}

static int wants_close(pf_server *srv, pf__conn *c)
{
    /* A parse error still lets the whole packets before it be handled
     * (hsha parses ahead; a batch split by the output limit leaves some). */
    if (c->s.closing || c->timed_out || c->hard)
        return 1;
    if (pf__conn_has_packets(c))
        return 0;
    if (c->eof || c->perr)
        return 1;
    /* Draining: close once what was received is handled and the socket
     * has nothing more (a read saw EAGAIN). */
    return srv->draining && !c->readable;
}

/* hsha: the owner reads, parses and writes; workers handle. */
static void progress_hsha(pf_server *srv, pf__conn *c)
{
    size_t hwm = srv->conf.max_output;

    if (out_pending(c) && c->writable && pf__conn_flush(c) < 0) {
        pf__step_close(srv, c);
        return;
    }
    if (c->activity && !c->in_flight)
        conn_timers_after(srv, c); /* writes push the idle deadline too */
    if (pf__files_cold(&c->s.out) && !c->hard) {
        pf__step_start(srv, c); /* a worker waits for the disk, not us */
        return;
    }
    /* Packets parsed before a parse error are handled: not stopping(). */
    /* Both output buffers count: a job with the worker's buffer full
     * handles nothing, and would only be started again and again. */
    int can_handle = !(c->s.closing || c->timed_out || c->hard) &&
                     pf__out_len(&c->s.out) < hwm && !c->s.out.files;
    if (c->pending || (can_handle && pf__conn_has_packets(c))) {
        pf__step_start(srv, c);
        return;
    }
    /* Parse what is buffered even after EOF or during a drain: a batch
     * limit may have left whole packets behind. */
    if (can_handle && !c->perr && ((c->readable && !c->eof) || c->s.in.len > c->parsed)) {
        int n = pf__conn_read_parse(c);
        conn_timers_after(srv, c);
        if (c->hard) {
            pf__step_close(srv, c);
            return;
        }
        if (n > 0) {
            pf__step_start(srv, c);
            return;
        }
    }
    /* Answered like the io modes do (conn.c handle_buffered): once every
     * packet before it is handled and the output is below the mark, so
     * the reply fits under the reply limit. */
    if (c->perr && !c->s.closing && !pf__conn_has_packets(c) &&
        pf__out_len(&c->s.out) < hwm && !c->s.out.files) {
        pf__session_parse_error(&c->s, c->perr);
        if (out_pending(c) && c->writable && pf__conn_flush(c) < 0) {
            pf__step_close(srv, c);
            return;
        }
        if (pf__files_cold(&c->s.out)) {
            pf__step_start(srv, c);
            return;
        }
    }
    if (wants_close(srv, c)) {
        if (!out_pending(c)) {
            close_graceful(srv, c);
        } else {
            flush_deadline(srv, c);
            pf__loop_arm(srv, c, 0, 1);
        }
        return;
    }
    pf__loop_arm(srv, c, 1, out_pending(c));
}

/* reactor, lf, inline: a job does the I/O. */
static void progress_io(pf_server *srv, pf__conn *c)
{
    size_t hwm = srv->conf.max_output;
    int can_read = !stopping(c) && !c->eof && c->s.out.buf.len < hwm && !c->s.out.files;

    if (c->pending) {
        pf__step_start(srv, c);
        return;
    }
    if (wants_close(srv, c)) {
        if (!out_pending(c)) {
            close_graceful(srv, c);
            return;
        }
        flush_deadline(srv, c);
        if (c->writable)
            pf__step_start(srv, c);
        else
            pf__loop_arm(srv, c, 0, 1);
        return;
    }
    if ((can_read && c->readable) || (out_pending(c) && c->writable)) {
        pf__step_start(srv, c);
        return;
    }
    pf__loop_arm(srv, c, can_read, out_pending(c));
}

void pf__step(pf_server *srv, pf__conn *c)
{
    assert(pf__owner_here(srv));
    /* A second round only for mail that waited for room: the first one's
     * flush may have written the output out whole (hsha), and nothing
     * else would come back for the mail until the client sends again. */
    for (int round = 0; round < 2; round++) {
        if (c->dead || c->in_flight)
            return;
        if (c->lingering) {
            linger_read(srv, c);
            return;
        }
        if (c->hard) {
            pf__step_close(srv, c);
            return;
        }
        /* Between jobs: take in what other sessions posted (post.c). */
        int waiting = pf__post_apply(c);
        if (srv->sched->owner_io)
            progress_hsha(srv, c);
        else
            progress_io(srv, c);
        if (!c->dead && !c->in_flight && c->hard)
            pf__step_close(srv, c);
        if (!waiting || pf__out_len(&c->s.out) >= srv->conf.max_output)
            return;
    }
}

void pf__step_done(pf_server *srv, pf__conn *c)
{
    assert(pf__owner_here(srv) && c->in_flight);
    c->in_flight = 0;
    if (c->jerr) {
        c->hard = 1;
        c->jerr = 0;
    }
    if (c->dead)
        return;
    if (c->job_events & (PF__EV_IDLE | PF__EV_DEADLINE)) {
        c->timed_out = 1;
        PF__STAT_ADD(srv, timeouts, 1);
        if (c->job_events & PF__EV_DEADLINE)
            PF__STAT_ADD(srv, timeouts_request, 1);
        else
            PF__STAT_ADD(srv, timeouts_idle, 1);
    }
    c->job_events = 0;
    if (c->first == c->npk && c->npk) { /* owner_io: the packets it parsed */
        pf_buf_consume(&c->s.in, c->parsed);
        c->parsed = 0;
        c->first = c->npk = 0;
        if (c->s.in.len == 0) {
            pf_buf_shrink(&c->s.in);
            pf__conn_trim_packets(c);
            pf__conn_rest(c);
        }
    }
    conn_timers_after(srv, c);
    if (is_oneshot(srv))
        c->armed = 0;
    pf__step(srv, c);
}
