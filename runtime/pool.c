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
 * Nothing here calls into the loop: what the loop must do about a job (a
 * refused one completes at once) is handed back to it as a list.  So the
 * layers are server.c -> the owner (loop.c, progress.c) -> pool.c ->
 * conn.c, with no way back. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "server_impl.h"

#define WORKER_BATCH 16

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
    /* A connection has at most one job out, so this never overflows. */
    srv->posts = calloc(srv->conf.max_conns + 64u, sizeof(*srv->posts));
    return srv->posts ? 0 : -ENOMEM;
}

void pf__pool_fini(pf_server *srv)
{
    pf__queue_destroy(&srv->queue);
    free(srv->posts);
    free(srv->threads);
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

pf__conn *pf__pool_flush(pf_server *srv)
{
    pf__conn *refused = NULL, **rtail = &refused;
    size_t n;

    assert(pf__owner_here(srv));
    if (srv->nposts) {
        n = pf__queue_post(&srv->queue, (void *const *)srv->posts, srv->nposts);
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
    }
    /* Queue room freed by the workers: move waiters in, oldest first. */
    while (srv->waitq) {
        pf__conn *c = srv->waitq;
        srv->waitq = c->wnext;
        if (!srv->waitq)
            srv->waitq_tail = NULL;
        srv->posts[srv->nposts++] = c;
        if (!srv->waitq || srv->nposts == 64) {
            n = pf__queue_post(&srv->queue, (void *const *)srv->posts, srv->nposts);
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

static void *worker_main(void *arg)
{
    pf_server *srv = arg;
    void *items[WORKER_BATCH];
    size_t n;

    while ((n = pf__queue_take(&srv->queue, items, WORKER_BATCH)) > 0) {
        for (size_t i = 0; i < n; i++)
            srv->sched->job(items[i]);
        pf__pool_done(srv, (pf__conn **)items, n);
    }
    return NULL;
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
    pf__queue_set_takers(&srv->queue, srv->conf.threads);
    return pf__pool_spawn(srv, worker_main, srv->conf.threads);
}

void pf__pool_stop(pf_server *srv, int abandon)
{
    if (abandon) {
        /* Not joined: detached, so their end is no leak. */
        for (unsigned i = 0; i < srv->nthreads; i++)
            pthread_detach(srv->threads[i]);
        return;
    }
    pf__queue_close(&srv->queue);
    for (unsigned i = 0; i < srv->nthreads; i++)
        pthread_join(srv->threads[i], NULL);
    srv->nthreads = 0;
}
