/* sigio backend (backend.h): the seed's signal-driven I/O.
 *
 * A connection is put in O_ASYNC mode with F_SETSIG, so the kernel queues
 * a real-time signal, carrying the descriptor and what happened, each
 * time its readiness changes; the signal is blocked and read through a
 * signalfd.  The signals go to the loop's thread (F_SETOWN_EX with
 * F_OWNER_TID): a signalfd reads its own thread's signals, which is why
 * lf, whose loop moves between threads, cannot run on it, and why two
 * servers in one process (two loop threads) never take each other's.
 *
 * Signals are edges and carry no interest: the kernel signals every
 * change, and this file keeps the interest.  What a connection is not
 * waiting for is remembered (pending) and reported when the loop asks
 * for it, so nothing is lost between a report and the next arm; a stale
 * memory costs one read that says EAGAIN.
 *
 * When the real-time queue is full (RLIMIT_SIGPENDING), the kernel sends
 * plain SIGIO instead and the signal for that change is lost: the classic
 * answer, done here, is one poll(2) sweep over every connection.
 *
 * Descriptors that cannot signal (timerfd, eventfd, signalfd have no
 * fasync) and the listeners (which must stay level-triggered: accept may
 * stop short of EAGAIN when descriptors run out) are polled with the
 * signalfd, in a set of a few descriptors (pollset.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log_impl.h"
#include "pollset.h"
#include "protofsm/log.h"

/* The real-time signal of readiness, blocked in the loop's thread. */
#define SG_SIGNAL (SIGRTMIN + 5)
/* The signalfd's own word in the poll set (the loop's are pointers). */
#define SG_SELF UINTPTR_MAX
#define SG_READ 64

/* POLL_IN comes for data and for the FIN alike, so every input report
 * also says "the FIN may be queued" (RDHUP): the loop then reads on to
 * EAGAIN or EOF instead of taking a short read for a drained socket, which
 * would wait for a signal that the FIN behind the data has already sent. */
#define SG_INPUT (PF__BK_IN | PF__BK_RDHUP)

typedef struct sg_conn {
    uintptr_t data;
    uint32_t want;     /* PF__BK_*: 0 bits besides ONESHOT = disabled */
    uint32_t pending;  /* seen and not yet reported */
    int next;          /* the ready list: in it when queued, -1 ends it */
    uint32_t gone;     /* closed while the read count (sg_state.reads)
                          was this, plus one: 0 when not closed */
    uint8_t used, queued;
} sg_conn;

typedef struct sg_state {
    pf__pollset ps;
    int sfd;
    pid_t tid;
    sigset_t set;
    sigset_t unblock;  /* of set, those not blocked before: unblocked at fini */
    sg_conn *conns;    /* [nconns] by descriptor */
    unsigned nconns;
    /* Descriptors with something to report, first in first out: linked
     * through the table, so queueing never allocates (nothing is lost
     * for want of memory). */
    int head, tail;
    uint32_t reads;    /* signalfd drains begun */
    atomic_uint_fast64_t *overflows;
    struct signalfd_siginfo si[SG_READ];
} sg_state;

static int sg_enabled(const sg_conn *c) { return (c->want & (PF__BK_IN | PF__BK_OUT)) != 0; }

static uint32_t sg_reportable(const sg_conn *c)
{
    if (!sg_enabled(c))
        return 0;
    return c->pending & (c->want | PF__BK_HUP | PF__BK_ERR);
}

static void sg_queue(sg_state *st, int fd)
{
    sg_conn *c = &st->conns[fd];

    if (c->queued || !sg_reportable(c))
        return;
    c->next = -1;
    if (st->tail >= 0)
        st->conns[st->tail].next = fd;
    else
        st->head = fd;
    st->tail = fd;
    c->queued = 1;
}

static void sg_seen(sg_state *st, int fd, uint32_t bits)
{
    if (fd < 0 || (unsigned)fd >= st->nconns || !st->conns[fd].used)
        return; /* closed since (its number may come back: then spurious) */
    st->conns[fd].pending |= bits;
    sg_queue(st, fd);
}

/* The queue overflowed: some changes were never signalled.  Ask every
 * connection once; what is ready becomes pending. */
static void sg_sweep(sg_state *st)
{
    unsigned n = 0;

    for (unsigned fd = 0; fd < st->nconns; fd++)
        n += st->conns[fd].used;
    if (!n)
        return;
    struct pollfd *p = malloc(n * sizeof(*p));
    if (!p) {
        /* No memory to ask: report everything as maybe ready; the loop's
         * reads and writes find out. */
        for (unsigned fd = 0; fd < st->nconns; fd++)
            sg_seen(st, (int)fd, SG_INPUT | PF__BK_OUT);
        return;
    }
    n = 0;
    for (unsigned fd = 0; fd < st->nconns; fd++)
        if (st->conns[fd].used)
            p[n++] = (struct pollfd){ .fd = (int)fd, .events = POLLIN | POLLOUT | POLLRDHUP };
    if (poll(p, n, 0) > 0)
        for (unsigned i = 0; i < n; i++)
            if (p[i].revents)
                sg_seen(st, p[i].fd, pf__pollset_bits(p[i].revents) |
                                         ((p[i].revents & POLLIN) ? SG_INPUT : 0));
    free(p);
}

static uint32_t sg_bits(int code)
{
    switch (code) {
    case POLL_IN:
    case POLL_MSG:
    case POLL_PRI:
        return SG_INPUT;
    case POLL_OUT:
        return PF__BK_OUT;
    case POLL_ERR:
        return PF__BK_ERR;
    case POLL_HUP:
        /* Both directions are shut (or the peer reset): reading says which. */
        return PF__BK_HUP | SG_INPUT;
    default:
        return SG_INPUT | PF__BK_OUT;
    }
}

static void sg_drain(sg_state *st)
{
    int overflow = 0;

    st->reads++;
    for (;;) {
        ssize_t r = read(st->sfd, st->si, sizeof(st->si));
        if (r <= 0)
            break;
        for (size_t i = 0; i < (size_t)r / sizeof(st->si[0]); i++) {
            const struct signalfd_siginfo *s = &st->si[i];
            if ((int)s->ssi_signo == SIGIO)
                overflow = 1;
            else
                sg_seen(st, s->ssi_fd, sg_bits(s->ssi_code));
        }
    }
    if (overflow) {
        static pf__log_limit full;
        pf__log_event(&full, PF_LOG_WARN, "sigio_overflow",
                      "reason=signal_queue_full (RLIMIT_SIGPENDING) answer=poll_sweep");
        atomic_fetch_add_explicit(st->overflows, 1, memory_order_relaxed);
        sg_sweep(st);
    }
}

static int sg_emit(sg_state *st, pf__bev *evs, int max)
{
    int k = 0;

    while (st->head >= 0 && k < max) { /* the rest next time */
        int fd = st->head;
        sg_conn *c = &st->conns[fd];
        st->head = c->next;
        if (st->head < 0)
            st->tail = -1;
        c->queued = 0;
        uint32_t rep = c->used ? sg_reportable(c) : 0;
        if (!rep)
            continue;
        evs[k].events = rep;
        evs[k].data = c->data;
        k++;
        c->pending &= ~rep;
        c->want = PF__BK_ONESHOT; /* until the loop arms it again */
    }
    return k;
}

static int sg_init(void **state, atomic_uint_fast64_t *overflows)
{
    sg_state *st = calloc(1, sizeof(*st));
    int rc;

    if (!st)
        return -ENOMEM;
    pf__pollset_init(&st->ps);
    st->sfd = -1;
    st->head = st->tail = -1;
    st->tid = gettid();
    st->overflows = overflows;
    sigemptyset(&st->set);
    sigaddset(&st->set, SG_SIGNAL);
    sigaddset(&st->set, SIGIO);
    sigset_t old;
    if ((rc = -pthread_sigmask(SIG_BLOCK, &st->set, &old)) < 0)
        goto fail;
    sigemptyset(&st->unblock);
    if (!sigismember(&old, SG_SIGNAL))
        sigaddset(&st->unblock, SG_SIGNAL);
    if (!sigismember(&old, SIGIO))
        sigaddset(&st->unblock, SIGIO);
    st->sfd = signalfd(-1, &st->set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (st->sfd < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = pf__pollset_add(&st->ps, st->sfd, PF__BK_IN, SG_SELF)) < 0)
        goto fail;
    *state = st;
    return 0;
fail:
    *state = st;
    return rc;
}

static void sg_fini(void *state)
{
    sg_state *st = state;

    if (!st)
        return;
    /* The signals are the loop thread's: another thread reading the
     * signalfd would take its own (another sigio server's, if it runs
     * one), and cannot unblock them there.  Then they stay blocked. */
    if (st->sfd >= 0 && gettid() == st->tid) {
        /* Signals of connections closed since would kill the process
         * (their default action) once unblocked: take them first. */
        while (read(st->sfd, st->si, sizeof(st->si)) > 0)
            ;
        pthread_sigmask(SIG_UNBLOCK, &st->unblock, NULL);
    }
    if (st->sfd >= 0)
        close(st->sfd);
    pf__pollset_free(&st->ps);
    free(st->conns);
    free(st);
}

static int sg_grow(sg_state *st, int fd)
{
    if ((unsigned)fd < st->nconns)
        return 0;
    unsigned n = st->nconns ? st->nconns : 64;
    while (n <= (unsigned)fd)
        n *= 2;
    sg_conn *c = realloc(st->conns, n * sizeof(*c));
    if (!c)
        return -ENOMEM;
    memset(c + st->nconns, 0, (n - st->nconns) * sizeof(*c));
    for (unsigned i = st->nconns; i < n; i++)
        c[i].next = -1;
    st->conns = c;
    st->nconns = n;
    return 0;
}

static int sg_add(void *state, int fd, uint32_t events, uintptr_t data)
{
    sg_state *st = state;
    int rc;

    if (!(events & PF__BK_ONESHOT)) /* not a connection (see the top) */
        return pf__pollset_add(&st->ps, fd, events, data);
    if (fd < 0)
        return -EBADF;
    if ((rc = sg_grow(st, fd)) < 0)
        return rc;
    struct f_owner_ex own = { .type = F_OWNER_TID, .pid = st->tid };
    if (fcntl(fd, F_SETOWN_EX, &own) < 0 || fcntl(fd, F_SETSIG, SG_SIGNAL) < 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK | O_ASYNC) < 0)
        return -errno;
    /* Signals queued for the connection this number named before (its
     * last ones, between our last read and its close) must not be taken
     * for this one's: read them while the number is unused. */
    sg_conn *c = &st->conns[fd];
    if (c->gone == st->reads + 1)
        sg_drain(st);
    /* What arrived before O_ASYNC raised no signal: assume anything.  A
     * place in the ready list from the old connection is kept: it only
     * reports what this one has. */
    c->data = data;
    c->want = events;
    c->pending = SG_INPUT | PF__BK_OUT;
    c->gone = 0;
    c->used = 1;
    sg_queue(st, fd);
    return 0;
}

static int sg_mod(void *state, int fd, uint32_t events, uintptr_t data)
{
    sg_state *st = state;

    if (fd < 0 || (unsigned)fd >= st->nconns || !st->conns[fd].used)
        return pf__pollset_mod(&st->ps, fd, events, data);
    sg_conn *c = &st->conns[fd];
    c->want = events;
    c->data = data;
    sg_queue(st, fd);
    return 0;
}

static void sg_del(void *state, int fd)
{
    sg_state *st = state;

    if (fd >= 0 && (unsigned)fd < st->nconns && st->conns[fd].used) {
        /* The signals stop at close; a queued entry is skipped. */
        st->conns[fd].used = 0;
        st->conns[fd].gone = st->reads + 1;
        return;
    }
    pf__pollset_del(&st->ps, fd);
}

static int sg_wait(void *state, pf__bev *evs, int max, int ms)
{
    sg_state *st = state;
    int n = poll(st->ps.pfd, st->ps.n, st->head >= 0 ? 0 : ms), k = 0;

    if (n < 0 && errno != EINTR)
        return -errno;
    if (n > 0) {
        struct pollfd *self = &st->ps.pfd[st->ps.place[st->sfd] - 1];
        if (self->revents) {
            self->revents = 0;
            sg_drain(st);
        }
        k = pf__pollset_collect(&st->ps, evs, max);
    }
    return k + sg_emit(st, evs + k, max - k);
}

/* A report the loop could not take (the connection's job owns its flags):
 * it was the edge itself, so it is kept for the next arm. */
static void sg_unreport(void *state, int fd, uint32_t events)
{
    sg_state *st = state;

    if (fd >= 0 && (unsigned)fd < st->nconns && st->conns[fd].used)
        st->conns[fd].pending |= events;
}

const pf__backend pf__backend_sigio = {
    .name = "sigio", .level = 1, .init = sg_init, .fini = sg_fini,
    .add = sg_add, .mod = sg_mod, .del = sg_del, .wait = sg_wait, .unreport = sg_unreport,
};
