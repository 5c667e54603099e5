/* Jobs the loop's owner runs itself (hsha, reactor, lf): see cheap_impl.h.
 *
 * Why: a job handed to a worker costs a futex wake, a context switch to the
 * worker and one back to the owner (its eventfd), several microseconds of
 * CPU, while a GET or a PING is handled in well under one.  At one request
 * at a time per client that hand-off was most of hsha's CPU per request
 * (kvd at redis-benchmark -P 1: 1.2-1.5x redis-server's, the inline mode
 * 0.8-0.9x).  hsha exists for handlers that block; a handler that has been
 * seen to be cheap gains nothing from the hop.
 *
 * What is learnt, per listener and per event: the time one packet of that
 * event takes to handle (a moving average over the jobs that delivered it,
 * on workers or here) and how many runs that average has seen.  An event
 * is cheap after CHEAP_RUNS runs averaging under CHEAP_NS.  An hsha job
 * here is started only when each of its events is cheap and the owner's
 * turn has budget left (TURN_BUDGET_NS of jobs run here per turn: beyond
 * it the turn's other connections would wait, and the workers are free).
 * A reactor or lf job reads its packets itself, so before it runs nobody
 * knows their events: it is judged by the listener's average over every
 * packet (one more entry after the events), and on the owner it handles
 * no more packets than the turn's budget covers at that average
 * (pf__cheap_quota): one client's long pipeline must not hold the loop.
 * In lf "here" means the leader keeps the loop while it runs the job,
 * instead of handing the leadership on (a wake-up) and queueing for it
 * again (another).
 *
 * What it costs when it is wrong: a handler cheap so far that blocks (a
 * cold file, a lock a slow job holds) stalls the loop once.  A job here
 * that overran STALL_NS and slept (the thread's voluntary context switches
 * moved: an overrun without one is a preemption on a shared machine, or a
 * long computation, which the average takes care of) bans its events from
 * running here for BAN_MS, twice as long at each repeat up to BAN_MAX_MS,
 * so a handler that is sometimes slow stalls the loop ever more rarely. */
#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "cheap_impl.h"
#include "sendfile_impl.h"
#include "server_impl.h"

/* CHEAP_NS is pf_server_conf.cheap_us (default 20 us); the others scale
 * with it, so that a server told its handlers take up to 1 ms (or a test
 * under a sanitizer, where everything is ten times slower) keeps the same
 * proportions: 0.5 ms of such jobs per turn, 1 ms for a stall, by
 * default. */
#define CHEAP_RUNS 8
#define CHEAP_US_MAX 1000000u /* the stored averages are 32-bit ns */
#define CHEAP_NS(srv)                                                                       \
    ((uint64_t)(!(srv)->conf.cheap_us                 ? 20u                               \
                : (srv)->conf.cheap_us > CHEAP_US_MAX ? CHEAP_US_MAX                      \
                                                      : (srv)->conf.cheap_us) *             \
     1000u)
#define TURN_BUDGET_NS(srv) (25 * CHEAP_NS(srv))
#define STALL_NS(srv) (50 * CHEAP_NS(srv))
/* One sample moves the average by at most two CHEAP_NS: a job preempted
 * for a few ms on a shared machine (or a reactor job that met a long read)
 * is not taken for a slow handler for long.  The first sample is taken
 * whole, so a handler slow from the start is never cheap. */
#define SAMPLE_CAP_NS(srv) (16 * CHEAP_NS(srv))
#define BAN_MS 100u
#define BAN_MAX_MS 10000u

uint64_t pf__cheap_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

_Thread_local unsigned char pf__owner_job;
/* What the last job on this thread spent in handlers (its note). */
static _Thread_local uint64_t job_ns;

int pf__cheap_learns(const pf_server *srv)
{
    return (srv->sched->workers || srv->sched->leaders) &&
           srv->conf.handoff == PF_HANDOFF_ADAPTIVE;
}

int pf__cheap_init(pf__listener *ls)
{
    unsigned n = ls->proto->events->n + 1; /* and the listener's (reactor, lf) */

    ls->cost = calloc(n, sizeof(*ls->cost));
    if (!ls->cost)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        atomic_init(&ls->cost[i].ns, 0);
        atomic_init(&ls->cost[i].runs, 0);
    }
    return 0;
}

void pf__cheap_fini(pf__listener *ls)
{
    free(ls->cost);
    ls->cost = NULL;
}

static pf__cost *cost_of(const pf__listener *ls, unsigned ev)
{
    return ev < ls->proto->events->n ? &ls->cost[ev] : NULL;
}

static pf__cost *any_packet(const pf__listener *ls) { return &ls->cost[ls->proto->events->n]; }

/* The built-in events a job delivers (pf__conn_handle's order is
 * irrelevant here: only which). */
static unsigned job_builtins(uint8_t ev, uint16_t out[4])
{
    unsigned n = 0;

    if (ev & PF__EV_OPEN)
        out[n++] = PF_EV_OPEN;
    if (ev & (PF__EV_TIMER | PF__EV_ROOM | PF__EV_IDLE | PF__EV_DEADLINE))
        out[n++] = PF_EV_TIMEOUT;
    if (ev & PF__EV_DRAIN)
        out[n++] = PF_EV_DRAIN;
    return n;
}

static void note_one(const pf_server *srv, pf__cost *k, uint64_t ns)
{
    uint64_t old = atomic_load_explicit(&k->ns, memory_order_relaxed), avg;
    unsigned runs = atomic_load_explicit(&k->runs, memory_order_relaxed);

    /* Racing workers may lose an update: an average, not an account. */
    if (runs == 0)
        avg = ns;
    else
        avg = old - old / 8 + (ns < SAMPLE_CAP_NS(srv) ? ns : SAMPLE_CAP_NS(srv)) / 8;
    atomic_store_explicit(&k->ns, avg > UINT32_MAX ? UINT32_MAX : (uint32_t)avg,
                          memory_order_relaxed);
    if (runs < CHEAP_RUNS)
        atomic_store_explicit(&k->runs, runs + 1, memory_order_relaxed);
}

void pf__cheap_note(pf__conn *c, unsigned first, unsigned handled, uint8_t events,
                    uint64_t ns)
{
    uint16_t b[4];
    unsigned nb = job_builtins(events, b), n = handled + nb;

    job_ns = ns;
    if (n == 0)
        return;
    for (unsigned i = 0; i < nb; i++)
        note_one(c->srv, cost_of(c->ls, b[i]), ns / n);
    for (unsigned i = first; i < first + handled; i++) {
        pf__cost *k = cost_of(c->ls, pf__conn_packet(c, i)->event);
        if (k)
            note_one(c->srv, k, ns / n);
    }
}

void pf__cheap_note_job(pf__conn *c, unsigned handled, uint8_t events, uint64_t ns)
{
    uint16_t b[4];
    unsigned n = handled + job_builtins(events, b);

    job_ns = ns;
    if (n)
        note_one(c->srv, any_packet(c->ls), ns / n);
}

unsigned pf__cheap_quota(const pf__conn *c)
{
    const pf_server *srv = c->srv;
    uint64_t left = TURN_BUDGET_NS(srv) > srv->turn_ns ? TURN_BUDGET_NS(srv) - srv->turn_ns : 0;
    uint32_t avg = atomic_load_explicit(&any_packet(c->ls)->ns, memory_order_relaxed);
    uint64_t n = left / (avg ? avg : 1);

    return n < 1 ? 1 : n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

/* Cheap now: learnt, under CHEAP_NS on average, not banned.  Adds the
 * average to *est. */
static int cheap_event(const pf_server *srv, pf__cost *k, uint64_t *est)
{
    if (!k || atomic_load_explicit(&k->runs, memory_order_relaxed) < CHEAP_RUNS)
        return 0;
    uint32_t ns = atomic_load_explicit(&k->ns, memory_order_relaxed);
    if (ns > CHEAP_NS(srv) || (k->banned_until && pf__now_ms() < k->banned_until))
        return 0;
    *est += ns;
    return 1;
}

int pf__cheap_job(pf_server *srv, pf__conn *c)
{
    uint16_t b[4];
    unsigned nb;
    uint64_t est = 0;

    if (!pf__cheap_learns(srv) || srv->inline_busy || srv->turn_ns >= TURN_BUDGET_NS(srv))
        return 0;
    /* A page-in job (hsha) reads the disk, a reactor job sends file
     * segments waiting for the disk: never here. */
    if (pf__files_cold(&c->s.out) || (!srv->sched->owner_io && c->s.out.files))
        return 0;
    if (!srv->sched->owner_io) /* reactor, lf */
        return cheap_event(srv, any_packet(c->ls), &est) &&
               srv->turn_ns + est <= TURN_BUDGET_NS(srv);
    nb = job_builtins(c->job_events, b);
    for (unsigned i = 0; i < nb; i++)
        if (!cheap_event(srv, cost_of(c->ls, b[i]), &est))
            return 0;
    for (unsigned i = c->first; i < c->npk; i++)
        if (!cheap_event(srv, cost_of(c->ls, pf__conn_packet(c, i)->event), &est))
            return 0;
    return srv->turn_ns + est <= TURN_BUDGET_NS(srv);
}

/* A clean stretch as long as the last ban keeps the next one as long;
 * otherwise it doubles. */
static void ban_one(pf__cost *k, uint64_t now_ms)
{
    if (!k)
        return;
    if (k->ban_ms && k->banned_until + k->ban_ms < now_ms)
        k->ban_ms /= 2;
    k->ban_ms = k->ban_ms ? k->ban_ms * 2 : BAN_MS;
    if (k->ban_ms > BAN_MAX_MS)
        k->ban_ms = BAN_MAX_MS;
    k->banned_until = now_ms + k->ban_ms;
}

/* The job just run here overran: ban its events (hsha: its packets are
 * still in the connection, the owner consumes them after this) or, in
 * reactor and lf, the listener's. */
static void ban(pf_server *srv, pf__conn *c, unsigned first, unsigned last, uint8_t events)
{
    uint64_t now_ms = pf__now_ms();
    uint16_t b[4];
    unsigned nb = job_builtins(events, b);

    if (!srv->sched->owner_io) {
        ban_one(any_packet(c->ls), now_ms);
    } else {
        for (unsigned i = 0; i < nb; i++)
            ban_one(cost_of(c->ls, b[i]), now_ms);
        for (unsigned i = first; i < last; i++)
            ban_one(cost_of(c->ls, pf__conn_packet(c, i)->event), now_ms);
    }
    PF__STAT_ADD(srv, owner_stalls, 1);
}

/* The owner's voluntary context switches so far: it slept. */
static long slept(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}

void pf__cheap_run(pf_server *srv, pf__conn *c)
{
    unsigned first = c->first, last = c->npk;
    uint8_t events = c->job_events;

    /* Once per turn that runs jobs here, not per job: a system call. */
    if (!srv->turn_slept_set) {
        srv->turn_slept = slept();
        srv->turn_slept_set = 1;
    }
    /* Counted first: a reactor job writes its replies itself, and whoever
     * reads the stats after a reply must find its job counted. */
    PF__STAT_ADD(srv, owner_jobs, 1);
    job_ns = 0;
    pf__owner_job = 1;
    srv->sched->job(c);
    pf__owner_job = 0;
    /* Handler time, as the job measured it: a reactor job's reads and
     * writes would be the owner's in hsha anyway, and never wait. */
    srv->turn_ns += job_ns;
    if (job_ns > STALL_NS(srv) && slept() != srv->turn_slept)
        ban(srv, c, first, last, events);
}
