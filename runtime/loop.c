/* The loop owner: accept, readiness, timers, signals, completions, closing.
 *
 * Everything here runs on the thread that owns the loop (the I/O thread, or
 * the lf leader holding srv->leader), so none of it locks.  Connection
 * state changes only at three points: a readiness report, a timer, or the
 * completion of a job; each ends in pf__step(), which decides the next
 * step from the flags alone: start a job, read more, wait for writability,
 * or close.
 *
 * Closed connections are not freed at once: a later event of the same
 * batch of reports may still name them.  They go to a graveyard freed at the end
 * of the batch (libuv's closing phase). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log_impl.h"
#include "post_impl.h"
#include "sendfile_impl.h"
#include "server_impl.h"
#include "protofsm/log.h"

#include "backend.h"

/* Each descriptor is registered with a pointer whose low three bits say
 * what it is: every object registered is at least 8-byte aligned. */
#define TAG_CONN 0u
#define TAG_LISTENER 1u
#define TAG_TIMER 2u
#define TAG_SIGNAL 3u
#define TAG_WAKE 4u
#define TAG_MASK 7u

#define EV_IN PF__BK_IN
#define EV_OUT PF__BK_OUT
#define EV_RDHUP PF__BK_RDHUP
#define EV_HUP PF__BK_HUP
#define EV_ERR PF__BK_ERR
#define EV_ET PF__BK_ET
#define EV_ONESHOT PF__BK_ONESHOT

static int backend_add(pf_server *srv, int fd, uint32_t events, void *ptr, unsigned tag)
{
    return srv->bk->add(srv->bks, fd, events, (uintptr_t)ptr | tag);
}

static int backend_mod(pf_server *srv, int fd, uint32_t events, void *ptr, unsigned tag)
{
    return srv->bk->mod(srv->bks, fd, events, (uintptr_t)ptr | tag);
}

static void backend_del(pf_server *srv, int fd) { srv->bk->del(srv->bks, fd); }

static void *event_ptr(const pf__bev *e) { return (void *)(e->data & ~(uintptr_t)TAG_MASK); }
static unsigned event_tag(const pf__bev *e) { return (unsigned)(e->data & TAG_MASK); }

/* The level backends (backend.h) report what is ready for as long as it
 * is: they watch a connection one-shot, and only for what its flags do
 * not already say. */
static int is_level(const pf_server *srv) { return srv->bk->level; }

#define MAX_EVENTS 256

static int is_oneshot(const pf_server *srv) { return srv->sched->oneshot; }

/* ---- setup -------------------------------------------------------------- */

int pf__loop_init(pf_server *srv)
{
    static const pf__backend *const backends[] = {
        [PF_BACKEND_EPOLL] = &pf__backend_epoll,
        [PF_BACKEND_POLL] = &pf__backend_poll,
        [PF_BACKEND_SIGIO] = &pf__backend_sigio,
    };
    int rc;

    srv->bk = backends[srv->conf.backend];
    if ((rc = srv->bk->init(&srv->bks, &srv->st.backend_sweeps)) < 0)
        return rc;
    srv->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (srv->timerfd < 0)
        return -errno;
    if ((rc = backend_add(srv, srv->timerfd, EV_IN, srv, TAG_TIMER)) < 0 ||
        /* Edge-triggered: every write() to an eventfd wakes its waiters,
         * so each one is reported again and the count need not be read
         * back (one syscall per wake-up saved; it would take 2^64 writes
         * to fill it). */
        (rc = backend_add(srv, srv->wakefd, EV_IN | (is_level(srv) ? 0 : EV_ET), srv,
                          TAG_WAKE)) < 0)
        return rc;
    if (!srv->conf.no_signals) {
        sigset_t set;
        pf_server_signals(&set);
        /* Blocked before any worker starts, so every thread inherits it and
         * the signals wait in the signalfd. */
        pthread_sigmask(SIG_BLOCK, &set, &srv->oldmask);
        srv->masked = 1;
        /* An ignored signal is discarded when sent, blocked or not, so it
         * would never reach the signalfd: a shell starts background jobs
         * with SIGINT ignored, and `kill -INT` would do nothing.  While
         * blocked, the default action is never taken; the caller's
         * disposition comes back when pf_server_run returns. */
        int sigs[2] = { SIGTERM, SIGINT };
        for (int i = 0; i < 2; i++) {
            struct sigaction old, dfl = { .sa_handler = SIG_DFL };
            if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN &&
                sigaction(sigs[i], &dfl, NULL) == 0)
                srv->unignore |= 1u << i;
        }
        srv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (srv->sigfd < 0)
            return -errno;
        if ((rc = backend_add(srv, srv->sigfd, EV_IN, srv, TAG_SIGNAL)) < 0)
            return rc;
    }
    /* A spare descriptor to give up when accept() hits EMFILE, so the
     * newest connection can be accepted and closed instead of left to spin
     * in the backlog. */
    srv->reservefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (unsigned i = 0; i < srv->nlisteners; i++)
        if ((rc = backend_add(srv, srv->ls[i].fd, EV_IN, &srv->ls[i], TAG_LISTENER)) < 0)
            return rc;
    srv->accepting = 1;
    return 0;
}

void pf__loop_fini(pf_server *srv)
{
    int *fds[] = { &srv->timerfd, &srv->wakefd, &srv->sigfd, &srv->reservefd };

    if (srv->bk)
        srv->bk->fini(srv->bks);
    srv->bk = NULL;
    srv->bks = NULL;

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

/* ---- timers ------------------------------------------------------------- */

static void listeners_pause(pf_server *srv, int pause);

static void drain_deadline(pf_server *srv)
{
    /* inline: jobs deferred to the end of the turn have not started. */
    for (pf__conn *c; srv->sched->on_owner && (c = pf__pool_next_ready(srv));)
        c->in_flight = 0;
    /* Close what can be closed; what a worker holds is left to the exit. */
    for (pf__conn *c = srv->conns, *n; c; c = n) {
        n = c->next;
        if (!c->in_flight)
            pf__step_close(srv, c);
    }
    static pf__log_limit cut;
    unsigned held = 0;
    for (pf__conn *c = srv->conns; c; c = c->next)
        held += c->in_flight;
    pf__log_event(&cut, PF_LOG_ERROR, "drain_deadline",
                  "ms=%u in_handlers=%u (their replies are lost)", srv->conf.drain_timeout_ms, held);
    srv->result = -ETIMEDOUT;
    srv->done = 1;
}

static void run_timers(pf_server *srv)
{
    uint64_t now = pf__now_ms(), junk;
    pf__timer_entry *e;

    (void)!read(srv->timerfd, &junk, sizeof(junk)); /* one read resets it */
    srv->timer_armed = PF__TIMER_NEVER; /* it fired: arm_timerfd sets it anew */
    while ((e = pf__timers_expired(&srv->timers, now))) {
        if (e == &srv->drain_timer) {
            drain_deadline(srv);
            return;
        }
        if (e == &srv->pool_timer) {
            pf__pool_watch(srv);
            continue;
        }
        if (e == &srv->accept_timer) {
            if (srv->accepting)
                listeners_pause(srv, 0);
            continue;
        }
        pf__step_timeout(srv, (pf__conn *)((char *)e - offsetof(pf__conn, timer)), now);
    }
}

static void arm_timerfd(pf_server *srv)
{
    uint64_t next = pf__timers_next(&srv->timers);
    struct itimerspec its = { { 0, 0 }, { 0, 0 } };

    /* Re-arm only to fire earlier.  Deadlines that moved later (an idle
     * timer pushed back by every read) let it fire early once, find
     * nothing due, and re-arm then: one syscall per expiry instead of one
     * per request. */
    if (next >= srv->timer_armed)
        return;
    srv->timer_armed = next;
    if (next != PF__TIMER_NEVER) {
        its.it_value.tv_sec = (time_t)(next / 1000);
        its.it_value.tv_nsec = (long)(next % 1000) * 1000000L;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
    }
    timerfd_settime(srv->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- interest ------------------------------------------------------------ */

/* Register what the connection waits for now.  ET modes keep EPOLLIN armed
 * and add EPOLLOUT only while output is pending; one-shot modes re-arm.
 * Level backends watch for input only when the flags do not say it is
 * there: a connection known readable is read, or held back, by the loop,
 * and watching it would only report it again and again.  Output is
 * watched whenever some is pending: the report is what starts the write
 * (as epoll's does on arming). */
void pf__loop_arm(pf_server *srv, pf__conn *c, int want_in, int want_out)
{
    uint32_t ev;

    if (is_level(srv)) {
        ev = EV_ONESHOT;
        if (c->lingering || (want_in && !c->readable))
            ev |= EV_IN | EV_RDHUP;
        if (want_out && !c->lingering)
            ev |= EV_OUT;
        if (ev == c->armed)
            return;
    } else if (is_oneshot(srv) && !c->lingering) {
        ev = EV_ONESHOT | EV_RDHUP | (want_in ? EV_IN : 0) | (want_out ? EV_OUT : 0);
    } else {
        ev = EV_IN | EV_RDHUP | (c->lingering ? 0 : EV_ET) | (want_out ? EV_OUT : 0);
        if (ev == c->armed)
            return;
    }
    if (backend_mod(srv, c->fd, ev, c, TAG_CONN) < 0)
        c->hard = 1;
    c->armed = ev;
}

void pf__loop_disarm(pf_server *srv, pf__conn *c)
{
    if (backend_mod(srv, c->fd, EV_ONESHOT, c, TAG_CONN) < 0)
        c->hard = 1;
    c->armed = 0;
}

void pf__loop_forget(pf_server *srv, pf__conn *c) { backend_del(srv, c->fd); }

/* ---- accept ------------------------------------------------------------- */

#define ACCEPT_PAUSE_MS 100

static void listeners_pause(pf_server *srv, int pause)
{
    int again = 0;

    for (unsigned i = 0; i < srv->nlisteners; i++) {
        if (srv->ls[i].fd < 0)
            continue;
        if (pause)
            backend_del(srv, srv->ls[i].fd);
        else if (backend_add(srv, srv->ls[i].fd, EV_IN, &srv->ls[i], TAG_LISTENER) == -ENOMEM)
            again = 1; /* not listening until it can: try again shortly */
    }
    if (pause || again)
        pf__timers_link(&srv->timers, &srv->accept_timer, pf__timer_deadline(ACCEPT_PAUSE_MS));
}

static void shed_one(pf_server *srv, pf__listener *ls)
{
    if (srv->reservefd < 0)
        srv->reservefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    static pf__log_limit shed, paused;

    if (srv->reservefd < 0) {
        /* No spare descriptor either: stop listening for a moment instead
         * of spinning on a listener that stays readable. */
        listeners_pause(srv, 1);
        pf__log_event(&paused, PF_LOG_WARN, "listeners_paused",
                      "reason=no_descriptors ms=%d", ACCEPT_PAUSE_MS);
        return;
    }
    close(srv->reservefd);
    int fd = accept4(ls->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        PF__STAT_ADD(srv, conns_shed, 1);
        pf__log_event(&shed, PF_LOG_WARN, "connection_shed",
                      "reason=no_descriptors (accepted and closed: raise the open-files limit)");
    }
    srv->reservefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void do_accept(pf_server *srv, pf__listener *ls)
{
    while (srv->accepting) {
        int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                shed_one(srv, ls);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                static pf__log_limit failed;
                pf__log_event(&failed, PF_LOG_WARN, "accept_failed", "errno=%s",
                              strerror(errno));
            }
            return; /* EAGAIN, or try again on the next readiness */
        }
        if (srv->nconns >= srv->conf.max_conns) {
            static pf__log_limit full;
            pf__log_event(&full, PF_LOG_WARN, "connection_refused", "reason=max_conns max_conns=%u",
                          srv->conf.max_conns);
            const pf_slice *r = &ls->proto->full_reply;
            if (r->ptr && r->len)
                (void)!send(fd, r->ptr, r->len, MSG_DONTWAIT | MSG_NOSIGNAL);
            close(fd);
            PF__STAT_ADD(srv, conns_refused, 1);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pf__conn *c = pf__conn_new(srv, ls, fd);
        if (!c) {
            close(fd);
            continue;
        }
        c->armed = is_oneshot(srv) || is_level(srv) ? 0 : (EV_IN | EV_RDHUP | EV_ET);
        /* One-shot modes register disarmed: the OPEN job arms the socket
         * when it completes (level backends: the first step). */
        if (backend_add(srv, fd, c->armed ? c->armed : EV_ONESHOT, c, TAG_CONN) < 0) {
            pf__conn_free(c);
            close(fd);
            continue;
        }
        c->born_ms = pf__now_ms();
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        srv->nconns++;
        atomic_fetch_add_explicit(&srv->st.conns_accepted, 1, memory_order_release);
        if (srv->conf.idle_timeout_ms) {
            c->idle_at = pf__timer_deadline(srv->conf.idle_timeout_ms);
            pf__step_timers(srv, c);
        }
        c->pending |= PF__EV_OPEN;
        c->readable = is_oneshot(srv) ? 0 : 1;
        pf__step_start(srv, c);
    }
}

/* ---- drain and signals ---------------------------------------------------- */

static void begin_drain(pf_server *srv)
{
    if (srv->draining)
        return;
    srv->draining = 1;
    atomic_store_explicit(&srv->st.draining, 1, memory_order_relaxed);
    srv->accepting = 0;
    pf__timers_unlink(&srv->timers, &srv->accept_timer);
    for (unsigned i = 0; i < srv->nlisteners; i++) {
        if (srv->ls[i].fd < 0)
            continue;
        backend_del(srv, srv->ls[i].fd);
        close(srv->ls[i].fd);
        srv->ls[i].fd = -1;
    }
    pf__timers_link(&srv->timers, &srv->drain_timer, pf__timer_deadline(srv->conf.drain_timeout_ms));
    for (pf__conn *c = srv->conns, *n; c; c = n) {
        n = c->next;
        if (c->lingering)
            continue;
        c->pending |= PF__EV_DRAIN;
        /* One more read for what the client sent before the signal (an io
         * job in flight reads anyway, and owns the flag now). */
        if (!c->in_flight || srv->sched->owner_io)
            if (!c->eof) {
                assert(pf__io_here(c));
                c->readable = 1;
            }
        pf__step(srv, c);
    }
    if (srv->nconns == 0)
        srv->done = 1;
}

static void on_signal(pf_server *srv)
{
    struct signalfd_siginfo si;

    while (read(srv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT) {
            if (si.ssi_signo != SIGALRM && srv->conf.on_signal)
                srv->conf.on_signal((int)si.ssi_signo, srv->conf.signal_arg);
            continue;
        }
        if (atomic_fetch_add(&srv->sigcount, 1) > 0) {
            srv->result = -EINTR;
            srv->done = 1;
            return;
        }
        begin_drain(srv);
    }
}

static void on_wake(pf_server *srv)
{
    uint64_t junk;

    /* Watched level-triggered: quiet it (epoll's edge needs no read). */
    if (is_level(srv))
        (void)!read(srv->wakefd, &junk, sizeof(junk));
    if (atomic_load(&srv->stop_req))
        begin_drain(srv);
    pf__loop_completions(srv);
    /* Connections other threads posted to (post.c): pf__step() takes the
     * mail in and flushes it. */
    for (pf__conn *c; (c = pf__post_next(srv));)
        pf__step(srv, c);
}

/* ---- completions and the batch ------------------------------------------ */

void pf__loop_completions(pf_server *srv)
{
    pf__conn *list = pf__pool_completed(srv);

    while (list) {
        pf__conn *c = list;
        list = c->dnext;
        c->dnext = NULL;
        pf__step_done(srv, c);
    }
}

void pf__loop_reap(pf_server *srv)
{
    while (srv->graveyard) {
        pf__conn *c = srv->graveyard;
        srv->graveyard = c->dnext;
        pf__conn_free(c);
    }
}

static void on_conn(pf_server *srv, pf__conn *c, uint32_t ev)
{
    /* One-shot modes: the job elsewhere owns the flags (and will re-arm).
     * hsha: the flags are the owner's even while a job is out.  inline: a
     * connection waiting on srv->ready is only "in flight" on paper; keep
     * the edge, its job runs on this thread. */
    if (c->dead)
        return;
    if (c->in_flight && srv->sched->oneshot) {
        if (srv->bk->unreport)
            srv->bk->unreport(srv->bks, c->fd, ev);
        return;
    }
    assert(pf__io_here(c));
    if (ev & (EV_IN | EV_RDHUP | EV_HUP))
        c->readable = 1;
    if (ev & (EV_RDHUP | EV_HUP))
        c->rdhup = 1; /* conn.c read_some: the FIN is queued, read to EOF */
    if (ev & EV_OUT)
        c->writable = 1;
    if ((ev & EV_ERR) && !c->lingering)
        c->hard = 1;
    if ((is_oneshot(srv) && !c->lingering) || is_level(srv))
        c->armed = 0; /* the report disarmed it */
    pf__step(srv, c);
}

/* inline: jobs run on the loop's thread, so a long batch would starve
 * timers (the drain deadline too) and signals; look every few jobs. */
#define INLINE_CHECK_EVERY 16

static void inline_checks(pf_server *srv)
{
    if (pf__timers_next(&srv->timers) <= pf__now_ms())
        run_timers(srv);
    if (srv->sigfd >= 0 && !srv->done)
        on_signal(srv);
}

/* inline: run the jobs deferred during this turn (those they start run on
 * the next one). */
static void inline_ready(pf_server *srv)
{
    pf__conn *r = srv->ready;
    unsigned k = 0;

    srv->ready = srv->ready_tail = NULL;
    while (r) {
        pf__conn *c = r;
        r = c->wnext;
        c->wnext = NULL;
        srv->inline_busy = 1;
        srv->sched->job(c);
        pf__step_done(srv, c);
        srv->inline_busy = 0;
        if (++k % INLINE_CHECK_EVERY == 0)
            inline_checks(srv);
    }
}

/* Post what this turn submitted; complete what the queue refused (their
 * next jobs are posted on the next turn: the loop flushes before it
 * waits). */
static void flush_jobs(pf_server *srv)
{
    pf__conn *c = pf__pool_flush(srv), *next;

    for (; c; c = next) {
        next = c->wnext;
        c->wnext = NULL;
        pf__step_done(srv, c);
    }
}

int pf__loop_once(pf_server *srv, int ms)
{
    pf__bev evs[MAX_EVENTS];
    int max = srv->sched->max_events < MAX_EVENTS ? srv->sched->max_events : MAX_EVENTS;
    int n;

    for (;;) {
        /* Nothing may be left collected (or a timer unarmed) while we
         * sleep: lf_main, for one, runs completions between turns. */
        if (srv->nposts || srv->waitq)
            flush_jobs(srv);
        pf__loop_reap(srv);
        arm_timerfd(srv);
        if (pf__pool_pending(srv) || ms == 0 || srv->sched->on_owner)
            break;
        if (!pf__pool_sleep(srv))
            break;
        pf__loop_completions(srv);
        if (srv->done) { /* the drain may have ended with that */
            flush_jobs(srv);
            pf__loop_reap(srv);
            return 0;
        }
    }
    n = srv->bk->wait(srv->bks, evs, max, pf__pool_pending(srv) ? 0 : ms);
    pf__pool_awake(srv);
    srv->turn_ns = 0; /* a new turn: its budget for cheap jobs (cheap.c) */
    srv->turn_slept_set = 0;

    if (n < 0)
        return n;
    /* Completions first: their connections' new events find them idle,
     * and timers do not take them for busy. */
    pf__loop_completions(srv);
    for (int i = 0; i < n && !srv->done; i++) {
        void *p = event_ptr(&evs[i]);
        if (srv->sched->on_owner && i % INLINE_CHECK_EVERY == INLINE_CHECK_EVERY - 1)
            inline_checks(srv);
        if (srv->done)
            break;
        switch (event_tag(&evs[i])) {
        case TAG_CONN:
            on_conn(srv, p, evs[i].events);
            break;
        case TAG_LISTENER:
            do_accept(srv, p);
            break;
        case TAG_TIMER:
            run_timers(srv);
            break;
        case TAG_SIGNAL:
            on_signal(srv);
            break;
        case TAG_WAKE:
            on_wake(srv);
            break;
        }
    }
    if (srv->sched->on_owner && srv->ready)
        inline_ready(srv);
    flush_jobs(srv);
    pf__loop_reap(srv);
    arm_timerfd(srv);
    return 0;
}

/* ---- running -------------------------------------------------------------- */

/* Leader/followers: whoever holds srv->leader owns the loop.  A leader
 * with a ready job unlocks (promoting the next follower) and runs it; the
 * completion comes back through the done list like any other. */
static void *lf_main(void *arg)
{
    pf_server *srv = arg;

    pthread_mutex_lock(&srv->leader);
    PF__OWNER_ENTER(srv);
    srv->turn_slept_set = 0; /* cheap.c's sleep count is per thread: a new
                                leader takes its own */
    for (;;) {
        pf__loop_completions(srv);
        pf__loop_reap(srv);
        if (srv->done)
            break;
        pf__conn *c = pf__pool_next_ready(srv);
        if (c && pf__cheap_job(srv, c)) { /* lead on through it (cheap.c) */
            pf__cheap_run(srv, c);
            pf__step_done(srv, c);
            continue;
        }
        if (c) {
            PF__OWNER_LEAVE(srv);
            pthread_mutex_unlock(&srv->leader);
            srv->sched->job(c);
            pf__pool_done(srv, &c, 1);
            pthread_mutex_lock(&srv->leader);
            PF__OWNER_ENTER(srv);
            srv->turn_slept_set = 0;
            continue;
        }
        if (pf__loop_once(srv, -1) < 0) {
            srv->done = 1;
            if (!srv->result)
                srv->result = -EIO;
        }
    }
    PF__OWNER_LEAVE(srv);
    pthread_mutex_unlock(&srv->leader);
    return NULL;
}

int pf__loop_run(pf_server *srv)
{
    int rc = 0;

    PF__RUNNING(srv, 1);
    if (srv->sched->leaders) {
        rc = pf__pool_spawn(srv, lf_main, srv->conf.threads - 1); /* and this thread */
        if (rc == 0)
            lf_main(srv);
    } else {
        PF__OWNER_ENTER(srv);
        while (!srv->done)
            if ((rc = pf__loop_once(srv, -1)) < 0)
                break;
        PF__OWNER_LEAVE(srv);
    }
    /* What is left (lf followers on their way out, pf__loop_busy, the
     * caller's pf_server_free) runs with the threads stopped or taking
     * the leader lock. */
    PF__RUNNING(srv, 0);
    return rc;
}

int pf__loop_busy(pf_server *srv)
{
    int busy = 0;

    /* In lf mode the other threads still finish jobs, take the leader
     * lock, run completions and free connections: walk the list under that
     * lock. */
    if (srv->sched->leaders)
        pthread_mutex_lock(&srv->leader);
    for (const pf__conn *c = srv->conns; c && !busy; c = c->next)
        busy = c->in_flight;
    if (srv->sched->leaders)
        pthread_mutex_unlock(&srv->leader);
    return busy;
}
