/* Scheduling: who runs a connection's job, and how it comes back.
 *
 * The modes differ only here.  Each has a row in pf__scheds (server_impl.h
 * says what every field means); the loop and the connections read the row
 * instead of testing the mode:
 *   hsha     the owner posts "handle these parsed packets" to the queue;
 *            workers take batches of jobs and hand back completions.
 *   reactor  the owner posts "do this connection's I/O" to the queue.
 *   lf       the leader puts the job on a ready list and hands the leader
 *            lock on before running it itself (loop.c lf_main), so the wait
 *            on epoll is never left empty and no queue hop happens.
 *   inline   the owner runs the job on the spot (progress.c pf__step_start).
 * Completions come back through one atomic list, swapped out whole by the
 * owner (libuv's uv__work_done), and an eventfd written only when the
 * owner sleeps (pf__pool_sleep).
 *
 * Slow handlers (a disk, a database, SLEEP) must not stall the others, so
 * the worker pool is elastic: a worker blocked in one job for WATCH_MS
 * while jobs wait is compensated for by a new worker (conf.threads stay
 * free to run, up to conf.max_threads in all), and the jobs of its batch
 * not yet started go back to the queue (pf__pool_watch).  The extras end
 * after RETIRE_MS idle.  lf and inline run handlers on the loop's own
 * threads: they are for handlers that never block.
 *
 * Nothing here calls into the loop: what the loop must do about a job (a
 * refused one completes at once) is handed back to it as a list.  So the
 * layers are server.c -> the owner (loop.c, progress.c) -> pool.c ->
 * conn.c, with no way back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log_impl.h"
#include "protofsm/log.h"
#include "server_impl.h"

/* How often the owner looks for blocked workers while jobs are out: a
 * job that runs longer than this (at most twice this) with others waiting
 * gets a worker started beside it. */
#define WATCH_MS 10
/* A worker beyond conf.threads ends after this long without a job. */
#define RETIRE_MS 5000

#ifndef NDEBUG
_Thread_local char pf__self;
#endif

/* Append to a list linked through wnext (the wait queue, the ready list). */
static void wlist_push(pf__conn **head, pf__conn **tail, pf__conn *c)
{
    c->wnext = NULL;
    if (*tail)
        (*tail)->wnext = c;
    else
        *head = c;
    *tail = c;
}

/* hsha, reactor: collected this turn, posted in one call (pf__pool_flush). */
static void submit_queue(pf_server *srv, pf__conn *c)
{
    assert(pf__owner_here(srv) && c->in_flight);
    srv->posts[srv->nposts++] = c;
}

/* lf: a leader takes it; inline: the end of the owner's turn runs it. */
static void submit_ready(pf_server *srv, pf__conn *c)
{
    assert(pf__owner_here(srv) && c->in_flight);
    wlist_push(&srv->ready, &srv->ready_tail, c);
}

const pf__sched pf__scheds[4] = {
    [PF_MODE_HSHA] = { .owner_io = 1, .max_events = 256, .workers = 1,
                       .job = pf__conn_handle, .submit = submit_queue },
    [PF_MODE_REACTOR] = { .oneshot = 1, .max_events = 256, .workers = 1,
                          .job = pf__conn_io, .submit = submit_queue },
    /* A leader hands the lock on after a few events: the jobs it found
     * start on the next leaders instead of waiting behind a long batch. */
    [PF_MODE_LF] = { .oneshot = 1, .leaders = 1, .max_events = 8,
                     .job = pf__conn_io, .submit = submit_ready },
    [PF_MODE_INLINE] = { .on_owner = 1, .max_events = 256,
                         .job = pf__conn_io, .submit = submit_ready },
};

int pf__pool_init(pf_server *srv)
{
    int rc = pf__queue_init(&srv->queue, srv->conf.queue_size);

    if (rc < 0)
        return rc;
    atomic_init(&srv->nworkers, 0);
    /* A connection has at most one job out, so this never overflows. */
    srv->posts = calloc(srv->conf.max_conns + 64u, sizeof(*srv->posts));
    if (!srv->posts)
        return -ENOMEM;
    if (!srv->sched->workers)
        return 0;
    srv->workers = calloc(srv->conf.max_threads, sizeof(*srv->workers));
    if (!srv->workers)
        return -ENOMEM;
    for (unsigned i = 0; i < srv->conf.max_threads; i++) {
        srv->workers[i].srv = srv;
        atomic_init(&srv->workers[i].state, PF__W_FREE);
        atomic_init(&srv->workers[i].jobs, 0);
        pthread_mutex_init(&srv->workers[i].lock, NULL);
    }
    return 0;
}

void pf__pool_fini(pf_server *srv)
{
    pf__queue_destroy(&srv->queue);
    if (srv->workers)
        for (unsigned i = 0; i < srv->conf.max_threads; i++)
            pthread_mutex_destroy(&srv->workers[i].lock);
    free(srv->workers);
    free(srv->posts);
    free(srv->threads);
    srv->workers = NULL;
    srv->posts = NULL;
    srv->threads = NULL;
}

/* ---- completions ---------------------------------------------------------- */

/* Push n completions; none of cs[] may be touched after the push.  The
 * owner is woken only if it sleeps: awake, it swaps the list before it
 * sleeps (pf__pool_sleep).  Both sides use seq_cst, so either this thread
 * sees the `sleeping` the owner set before its last look at the list, or
 * that look sees the push: no wake-up is lost. */
void pf__pool_done(pf_server *srv, pf__conn **cs, size_t n)
{
    uint64_t one = 1;
    pf__conn *head = cs[0], *old;

    for (size_t i = 0; i < n; i++)
        assert(cs[i]->in_flight && !PF__LOAD(cs[i]->_holder)); /* the job let go */
    for (size_t i = 0; i + 1 < n; i++)
        cs[i]->dnext = cs[i + 1];
    old = atomic_load_explicit(&srv->done_list, memory_order_relaxed);
    do
        cs[n - 1]->dnext = old;
    while (!atomic_compare_exchange_weak(&srv->done_list, &old, head));
    if (!atomic_load(&srv->sleeping))
        return;
    /* Only the first completion after the owner went to sleep writes. */
    if (!atomic_exchange(&srv->wake_sent, 1))
        (void)!write(srv->wakefd, &one, sizeof(one));
}

pf__conn *pf__pool_completed(pf_server *srv)
{
    assert(pf__owner_here(srv));
    if (!atomic_load_explicit(&srv->done_list, memory_order_relaxed))
        return NULL;
    return atomic_exchange(&srv->done_list, NULL);
}

int pf__pool_sleep(pf_server *srv)
{
    /* From here on a completion wakes us; what came before must be taken
     * now (pf__pool_done). */
    atomic_store(&srv->wake_sent, 0);
    atomic_store(&srv->sleeping, 1);
    if (!atomic_load(&srv->done_list))
        return 0;
    atomic_store(&srv->sleeping, 0);
    return 1;
}

void pf__pool_awake(pf_server *srv) { atomic_store(&srv->sleeping, 0); }

/* ---- handing jobs over ---------------------------------------------------- */

int pf__pool_pending(const pf_server *srv) { return srv->nposts || srv->ready; }

pf__conn *pf__pool_next_ready(pf_server *srv)
{
    pf__conn *c = srv->ready;

    assert(pf__owner_here(srv));
    if (c) {
        srv->ready = c->wnext;
        if (!srv->ready)
            srv->ready_tail = NULL;
        c->wnext = NULL;
    }
    return c;
}

/* The queue is full and the protocol prefers refusing to waiting: answer
 * each parsed packet with its busy reply instead of handling it.  Only jobs
 * over packets the owner parsed qualify (hsha: reactor jobs have none), and
 * only jobs without built-in events, which must not be skipped. */
static int refusable(const pf__conn *c)
{
    return c->ls->proto->busy_reply.ptr && !c->job_events && pf__conn_has_packets(c);
}

static void refuse(pf__conn *c)
{
    const pf_slice *r = &c->ls->proto->busy_reply;

    while (c->first < c->npk) {
        c->first++;
        if (pf__out_mail(&c->s.out, r->ptr, r->len) < 0) {
            c->hard = 1;
            break;
        }
    }
    c->first = c->npk;
}

static int elastic(const pf_server *srv)
{
    return srv->sched->workers && srv->conf.max_threads > srv->conf.threads;
}

/* Jobs went out: look at the workers WATCH_MS from now, if not already
 * due.  The timer costs nothing while no job is out. */
static void watch_soon(pf_server *srv)
{
    if (elastic(srv) && !pf__timer_linked(&srv->pool_timer))
        pf__timers_link(&srv->timers, &srv->pool_timer, pf__timer_deadline(WATCH_MS));
}

/* A clock reading for the queue's stamps while handlers are timed (the
 * admin listener runs), else 0: one relaxed load on the hot path. */
static uint64_t post_stamp(void)
{
    struct timespec ts;

    if (!(pf__log_wanted() & PF__LOG_TIMING))
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

pf__conn *pf__pool_flush(pf_server *srv)
{
    pf__conn *refused = NULL, **rtail = &refused;
    size_t n;

    assert(pf__owner_here(srv));
    if (srv->nposts) {
        n = pf__queue_post_at(&srv->queue, (void *const *)srv->posts, srv->nposts,
                              post_stamp());
        for (size_t i = n; i < srv->nposts; i++) {
            pf__conn *c = srv->posts[i];
            if (refusable(c)) {
                refuse(c);
                c->wnext = NULL;
                *rtail = c;
                rtail = &c->wnext;
            } else {
                wlist_push(&srv->waitq, &srv->waitq_tail, c);
            }
        }
        if (srv->nposts > n)
            PF__STAT_ADD(srv, queue_full, srv->nposts - n);
        srv->nposts = 0;
        watch_soon(srv);
    }
    /* Queue room freed by the workers: move waiters in, oldest first. */
    while (srv->waitq) {
        pf__conn *c = srv->waitq;
        srv->waitq = c->wnext;
        if (!srv->waitq)
            srv->waitq_tail = NULL;
        srv->posts[srv->nposts++] = c;
        if (!srv->waitq || srv->nposts == 64) {
            n = pf__queue_post_at(&srv->queue, (void *const *)srv->posts, srv->nposts,
                                  post_stamp());
            if (n < srv->nposts) {
                /* Still full: put the rest back at the head, in order. */
                for (size_t i = srv->nposts; i-- > n;) {
                    srv->posts[i]->wnext = srv->waitq;
                    srv->waitq = srv->posts[i];
                    if (!srv->waitq_tail)
                        srv->waitq_tail = srv->posts[i];
                }
                srv->nposts = 0;
                break;
            }
            srv->nposts = 0;
        }
    }
    return refused;
}

/* ---- threads -------------------------------------------------------------- */

/* Record `finished` (NULL: none) and claim the next job of w's batch, or
 * NULL.  Under w->lock so that the owner may take the unstarted rest and
 * the finished ones away (pf__pool_watch); `jobs` turns odd here, even
 * again in worker_main once the job returns. */
static pf__conn *claim(pf__worker *w, pf__conn *finished)
{
    pf__conn *c = NULL;

    pthread_mutex_lock(&w->lock);
    if (finished)
        w->done[w->ndone++] = finished;
    if (w->next < w->n) {
        c = w->batch[w->next++];
        atomic_fetch_add_explicit(&w->jobs, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&w->lock);
    return c;
}

/* The batch's finished jobs, to complete them in one push: one wake-up of
 * the owner per batch, not per job (with the owner on the same CPU, a
 * wake-up per job is a context switch per job). */
static unsigned take_done(pf__worker *w, pf__conn **out)
{
    unsigned n;

    pthread_mutex_lock(&w->lock);
    n = w->ndone;
    memcpy(out, w->done, n * sizeof(*out));
    w->ndone = 0;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* A worker beyond conf.threads that found no job for RETIRE_MS ends. */
static int retire(pf_server *srv)
{
    unsigned live = atomic_load(&srv->nworkers);

    while (live > srv->conf.threads)
        if (atomic_compare_exchange_weak(&srv->nworkers, &live, live - 1)) {
            pf__queue_set_takers(&srv->queue, live - 1);
            return 1;
        }
    return 0;
}

static void *worker_main(void *arg)
{
    pf__worker *w = arg;
    pf_server *srv = w->srv;
    void *items[PF__WORKER_BATCH];
    uint64_t stamps[PF__WORKER_BATCH];
    pf__conn *c;
    size_t n;

    for (;;) {
        unsigned ms = atomic_load(&srv->nworkers) > srv->conf.threads ? RETIRE_MS : 0;
        n = pf__queue_take_stamped(&srv->queue, items, stamps, PF__WORKER_BATCH, ms);
        if (n && stamps[0]) { /* posted while timed (post_stamp) */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            for (size_t i = 0; i < n; i++)
                if (stamps[i] && now > stamps[i])
                    pf__lat_record(srv->qwait, now - stamps[i]);
        }
        if (n == 0) {
            if (pf__queue_closed(&srv->queue) || retire(srv))
                break;
            continue;
        }
        pthread_mutex_lock(&w->lock);
        memcpy(w->batch, items, n * sizeof(*items));
        w->n = (unsigned)n;
        w->next = 0;
        pthread_mutex_unlock(&w->lock);
        for (c = claim(w, NULL); c; c = claim(w, c)) {
            srv->sched->job(c);
            atomic_fetch_add_explicit(&w->jobs, 1, memory_order_relaxed);
        }
        if ((n = take_done(w, (pf__conn **)items)) > 0)
            pf__pool_done(srv, (pf__conn **)items, n);
    }
    atomic_store(&w->state, PF__W_EXITED);
    return NULL;
}

/* Owner: start one worker in a free slot.  0 or -errno. */
static int worker_start(pf_server *srv)
{
    for (unsigned i = 0; i < srv->conf.max_threads; i++) {
        pf__worker *w = &srv->workers[i];
        int st = atomic_load(&w->state), rc;

        if (st == PF__W_RUNNING)
            continue;
        if (st == PF__W_EXITED)
            pthread_join(w->tid, NULL);
        w->n = w->next = w->ndone = 0;
        w->seen = atomic_load_explicit(&w->jobs, memory_order_relaxed);
        atomic_store(&w->state, PF__W_RUNNING);
        unsigned live = atomic_fetch_add(&srv->nworkers, 1) + 1;
        pf__queue_set_takers(&srv->queue, live);
        rc = pthread_create(&w->tid, NULL, worker_main, w);
        if (rc) {
            static pf__log_limit failed;
            pf__log_event(&failed, PF_LOG_ERROR, "worker_not_started", "errno=%s workers=%u",
                          strerror(rc), live - 1);
            atomic_store(&w->state, PF__W_FREE);
            atomic_fetch_sub(&srv->nworkers, 1);
            return -rc;
        }
        return 0;
    }
    return -EAGAIN;
}

void pf__pool_watch(pf_server *srv)
{
    unsigned stuck = 0, busy = 0, live, idle;
    size_t backlog;

    assert(pf__owner_here(srv));
    for (unsigned i = 0; i < srv->conf.max_threads; i++) {
        pf__worker *w = &srv->workers[i];
        int st = atomic_load(&w->state);

        if (st == PF__W_EXITED) {
            pthread_join(w->tid, NULL);
            atomic_store(&w->state, PF__W_FREE);
        }
        if (st != PF__W_RUNNING)
            continue;
        pthread_mutex_lock(&w->lock);
        unsigned jobs = atomic_load_explicit(&w->jobs, memory_order_relaxed);
        if (jobs & 1) {
            busy++;
            if (jobs == w->seen) {
                /* In the same job since the last look: blocked.  What it
                 * has not started goes to the others. */
                stuck++;
                while (w->next < w->n)
                    srv->posts[srv->nposts++] = w->batch[w->next++];
                /* And what it finished before: their replies must not
                 * wait for the slow one. */
                if (w->ndone)
                    pf__pool_done(srv, w->done, w->ndone);
                w->ndone = 0;
            }
        }
        w->seen = jobs;
        pthread_mutex_unlock(&w->lock);
    }
    backlog = pf__queue_depth(&srv->queue) + srv->nposts + (srv->waitq != NULL);
    live = atomic_load(&srv->nworkers);
    idle = pf__queue_idle(&srv->queue);
    /* Compensate: conf.threads workers not blocked, as long as jobs wait
     * that the idle ones cannot take at once. */
    if (stuck && backlog > idle) {
        size_t want = (size_t)srv->conf.threads + stuck;
        size_t add = want > live ? want - live : 0;
        if (add > backlog - idle)
            add = backlog - idle;
        if (add > srv->conf.max_threads - live)
            add = srv->conf.max_threads - live;
        for (size_t k = 0; k < add && worker_start(srv) == 0; k++)
            PF__STAT_ADD(srv, workers_added, 1);
    }
    if (busy || backlog)
        pf__timers_link(&srv->timers, &srv->pool_timer, pf__timer_deadline(WATCH_MS));
}

int pf__pool_spawn(pf_server *srv, void *(*fn)(void *), unsigned n)
{
    if (n == 0)
        return 0;
    srv->threads = calloc(n, sizeof(pthread_t));
    if (!srv->threads)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&srv->threads[i], NULL, fn, srv);
        if (rc)
            return -rc;
        srv->nthreads++;
    }
    return 0;
}

int pf__pool_start(pf_server *srv)
{
    if (!srv->sched->workers)
        return 0;
    for (unsigned i = 0; i < srv->conf.threads; i++) {
        int rc = worker_start(srv);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void pf__pool_stop(pf_server *srv, int abandon)
{
    unsigned nw = srv->workers ? srv->conf.max_threads : 0;

    if (abandon) {
        /* Not joined: detached, so their end is no leak. */
        for (unsigned i = 0; i < srv->nthreads; i++)
            pthread_detach(srv->threads[i]);
        for (unsigned i = 0; i < nw; i++)
            if (atomic_load(&srv->workers[i].state) != PF__W_FREE)
                pthread_detach(srv->workers[i].tid);
        return;
    }
    pf__queue_close(&srv->queue);
    for (unsigned i = 0; i < srv->nthreads; i++)
        pthread_join(srv->threads[i], NULL);
    srv->nthreads = 0;
    for (unsigned i = 0; i < nw; i++)
        if (atomic_load(&srv->workers[i].state) != PF__W_FREE) {
            pthread_join(srv->workers[i].tid, NULL);
            atomic_store(&srv->workers[i].state, PF__W_FREE);
        }
}
