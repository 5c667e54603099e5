/* The server: configuration, listeners, threads and modes.
 *
 * The modes differ only in who runs a connection's job and what the job
 * contains (see server_impl.h and conn.c):
 *   hsha     the owner posts "handle these parsed packets" to the queue;
 *            workers take batches of jobs and hand back completions.
 *   reactor  the owner posts "do this connection's I/O" to the queue.
 *   lf       the leader puts the job on a ready list and hands the leader
 *            lock on before running it itself, so the wait on epoll is
 *            never left empty and no queue hop happens.
 *   inline   the owner runs the job on the spot.
 * Completions come back through one atomic list, swapped out whole by the
 * owner (libuv's uv__work_done), and an eventfd written only when the
 * owner sleeps (server_impl.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "server_impl.h"

#define WORKER_BATCH 16

static const char *const mode_names[] = { "hsha", "reactor", "lf", "inline" };

const char *pf_mode_name(pf_mode m)
{
    return (unsigned)m < 4 ? mode_names[m] : NULL;
}

int pf_mode_parse(const char *name, pf_mode *out)
{
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (pf_mode)i;
            return 0;
        }
    return -EINVAL;
}

static void defaults(pf_server_conf *c)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (!c->threads)
        c->threads = n > 0 ? (unsigned)n : 1;
    if (!c->max_conns)
        c->max_conns = 10000;
    if (!c->drain_timeout_ms)
        c->drain_timeout_ms = 10000;
    if (!c->linger_ms)
        c->linger_ms = 2000;
    if (!c->max_input)
        c->max_input = 64 * 1024;
    if (!c->max_output)
        c->max_output = 256 * 1024;
    if (!c->queue_size)
        c->queue_size = 4096;
    if (!c->batch)
        c->batch = 64;
}

int pf_server_new(pf_server **out, const pf_server_conf *conf)
{
    static const pf_server_conf none;
    pf_server *srv;
    int rc;

    if (!conf)
        conf = &none;
    if ((unsigned)conf->mode > PF_MODE_INLINE)
        return -EINVAL;
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->conf = *conf;
    defaults(&srv->conf);
    srv->epfd = srv->timerfd = srv->sigfd = srv->wakefd = srv->reservefd = -1;
    pf_timers_init(&srv->timers);
    pf_timer_entry_init(&srv->drain_timer);
    pf_timer_entry_init(&srv->accept_timer);
    srv->timer_armed = PF_TIMER_NEVER;
    atomic_init(&srv->done_list, NULL);
    atomic_init(&srv->sleeping, 0);
    atomic_init(&srv->wake_sent, 0);
    pthread_mutex_init(&srv->leader, NULL);
    rc = pf_queue_init(&srv->queue, srv->conf.queue_size);
    if (rc == 0) {
        /* A connection has at most one job out, so this never overflows. */
        srv->posts = calloc(srv->conf.max_conns + 64u, sizeof(*srv->posts));
        if (!srv->posts)
            rc = -ENOMEM;
    }
    if (rc < 0) {
        pf_server_free(srv);
        return rc;
    }
    /* A peer that resets while we write must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    *out = srv;
    return 0;
}

int pf_server_listen(pf_server *srv, const char *host, unsigned port,
                     const pf_listen_conf *lc)
{
    pf__listener *ls;
    int fd;

    if (!lc || pf_service_check(lc->service, NULL, 0) < 0)
        return -EINVAL;
    if (srv->nlisteners == PF__MAX_LISTENERS)
        return -ENOSPC;
    ls = &srv->ls[srv->nlisteners];
    memset(ls, 0, sizeof(*ls));
    fd = pf__net_listen(host, port, lc->reuseport, lc->backlog ? lc->backlog : 1024,
                        &ls->addr, &ls->addrlen);
    if (fd < 0)
        return fd;
    ls->fd = fd;
    ls->svc = lc->service;
    ls->proto = lc->service->proto;
    ls->proto_conf = lc->proto_conf;
    ls->data = lc->data;
    ls->before_send = lc->before_send;
    ls->max_input = lc->max_input ? lc->max_input : srv->conf.max_input;
    ls->fstats = malloc(pf_fsm_stats_size(ls->svc->fsm));
    if (!ls->fstats) {
        close(fd);
        return -ENOMEM;
    }
    ls->fstats = pf_fsm_stats_init(ls->svc->fsm, ls->fstats);
    return (int)srv->nlisteners++;
}

unsigned pf_server_listeners(const pf_server *srv) { return srv->nlisteners; }

int pf_server_address(const pf_server *srv, unsigned i, char *buf, size_t len)
{
    if (i >= srv->nlisteners)
        return -ENOENT;
    return pf__net_format(&srv->ls[i].addr, buf, len);
}

const pf_fsm_stats *pf_server_fsm_stats(const pf_server *srv, unsigned i)
{
    return i < srv->nlisteners ? srv->ls[i].fstats : NULL;
}

const pf_fsm *pf_server_fsm(const pf_server *srv, unsigned i)
{
    return i < srv->nlisteners ? srv->ls[i].svc->fsm : NULL;
}

void pf_server_stats_get(pf_server *srv, pf_server_stats *o)
{
#define LD(f) atomic_load_explicit(&srv->st.f, memory_order_relaxed)
    /* Closed first: a connection is counted accepted before it is counted
     * closed, so reading them in this order (with acquire, so the second
     * load is not older than the first) never sees more closed than
     * accepted; clamp all the same. */
    o->conns_closed = atomic_load_explicit(&srv->st.conns_closed, memory_order_acquire);
    o->conns_accepted = atomic_load_explicit(&srv->st.conns_accepted, memory_order_acquire);
    o->conns_refused = LD(conns_refused);
    o->conns_shed = LD(conns_shed);
    o->conns_current =
        o->conns_accepted > o->conns_closed ? o->conns_accepted - o->conns_closed : 0;
    o->packets = LD(packets);
    o->events = LD(events);
    o->bytes_in = LD(bytes_in);
    o->bytes_out = LD(bytes_out);
    o->timeouts = LD(timeouts);
    o->proto_errors = LD(proto_errors);
    o->queue_full = LD(queue_full);
    o->file_waits = LD(file_waits);
#undef LD
    o->queue_depth = pf_queue_depth(&srv->queue);
    o->queue_capacity = pf_queue_capacity(&srv->queue);
}

void pf_server_stop(pf_server *srv)
{
    uint64_t one = 1;

    atomic_store(&srv->stop_req, 1);
    if (srv->wakefd >= 0)
        (void)!write(srv->wakefd, &one, sizeof(one));
}

int pf_session_timer(pf_session *s, unsigned ms)
{
    pf__conn *c = s->host;

    if (!c)
        return -ENOTSUP;
    /* Called by the thread running the job; the owner arms it when the job
     * completes (or right away, for OPEN handlers run inline). */
    c->user_ms = ms;
    c->user_set = 1;
    return 0;
}

int pf_session_peer(pf_session *s, struct sockaddr_storage *addr, socklen_t *len)
{
    pf__conn *c = s->host;

    if (!c)
        return -ENOTSUP;
    /* The job's thread holds the connection: its descriptor stays open. */
    return getpeername(c->fd, (struct sockaddr *)addr, len) < 0 ? -errno : 0;
}

void *pf__host_listener_data(void *host) { return ((pf__conn *)host)->ls->data; }

/* ---- jobs ----------------------------------------------------------------- */

void pf__server_run_job(pf_server *srv, pf__conn *c)
{
    if (srv->conf.mode == PF_MODE_HSHA)
        pf__conn_handle(c);
    else
        pf__conn_io(c);
}

/* Push n completions; none of cs[] may be touched after the push.  The
 * owner is woken only if it sleeps: awake, it swaps the list before it
 * sleeps (pf__loop_once).  Both sides use seq_cst, so either this thread
 * sees the `sleeping` the owner set before its last look at the list, or
 * that look sees the push: no wake-up is lost. */
static void done_many(pf_server *srv, pf__conn **cs, size_t n)
{
    uint64_t one = 1;
    pf__conn *head = cs[0], *old;

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

void pf__server_done(pf_server *srv, pf__conn *c) { done_many(srv, &c, 1); }

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

static void waitq_push(pf_server *srv, pf__conn *c)
{
    wlist_push(&srv->waitq, &srv->waitq_tail, c);
}

/* The queue is full and the protocol prefers refusing to waiting: answer
 * each parsed packet with its busy reply instead of handling it.  Only
 * hsha jobs qualify (their packets are parsed; reactor jobs are not), and
 * only jobs without built-in events, which must not be skipped. */
static int refusable(const pf_server *srv, const pf__conn *c)
{
    return srv->conf.mode == PF_MODE_HSHA && c->ls->proto->busy_reply.ptr && !c->job_events &&
           pf__conn_has_packets(c);
}

static void refuse(pf_server *srv, pf__conn *c)
{
    const pf_slice *r = &c->ls->proto->busy_reply;

    while (c->first < c->npk) {
        c->first++;
        if (pf_buf_append(&c->s.own_out, r->ptr, r->len) < 0) {
            c->hard = 1;
            break;
        }
    }
    c->first = c->npk;
    pf__loop_complete(srv, c);
}

/* Post what this turn collected in one call; what does not fit waits, or
 * gets the busy reply. */
void pf__server_flush_posts(pf_server *srv)
{
    pf__conn *refused = NULL;
    size_t n;

    if (srv->nposts) {
        n = pf_queue_post(&srv->queue, (void *const *)srv->posts, srv->nposts);
        for (size_t i = n; i < srv->nposts; i++) {
            pf__conn *c = srv->posts[i];
            if (refusable(srv, c)) {
                c->wnext = refused;
                refused = c;
            } else {
                waitq_push(srv, c);
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
            n = pf_queue_post(&srv->queue, (void *const *)srv->posts, srv->nposts);
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
    /* Refusals complete the job at once; what they start next is posted
     * on the next turn (the loop flushes before it waits). */
    while (refused) {
        pf__conn *c = refused;
        refused = c->wnext;
        refuse(srv, c);
    }
}

void pf__server_dispatch(pf_server *srv, pf__conn *c)
{
    switch (srv->conf.mode) {
    case PF_MODE_HSHA:
    case PF_MODE_REACTOR:
        srv->posts[srv->nposts++] = c;
        break;
    case PF_MODE_LF:
        wlist_push(&srv->ready, &srv->ready_tail, c);
        break;
    case PF_MODE_INLINE:
        /* A job started by a completion (the read cap, or more work) waits
         * for the end of the turn: no recursion, and the loop gets to
         * timers and signals between jobs. */
        if (srv->inline_busy) {
            wlist_push(&srv->ready, &srv->ready_tail, c);
            break;
        }
        srv->inline_busy = 1;
        pf__server_run_job(srv, c);
        pf__loop_complete(srv, c);
        srv->inline_busy = 0;
        break;
    }
}

/* ---- threads -------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    pf_server *srv = arg;
    void *items[WORKER_BATCH];
    size_t n;

    while ((n = pf_queue_take(&srv->queue, items, WORKER_BATCH)) > 0) {
        for (size_t i = 0; i < n; i++)
            pf__server_run_job(srv, items[i]);
        done_many(srv, (pf__conn **)items, n);
    }
    return NULL;
}

/* Leader/followers: whoever holds srv->leader owns the loop.  A leader
 * with a ready job unlocks (promoting the next follower) and runs it; the
 * completion comes back through the done list like any other. */
static void *lf_main(void *arg)
{
    pf_server *srv = arg;

    pthread_mutex_lock(&srv->leader);
    for (;;) {
        pf__loop_completions(srv);
        pf__loop_reap(srv);
        if (srv->done)
            break;
        pf__conn *c = srv->ready;
        if (c) {
            srv->ready = c->wnext;
            if (!srv->ready)
                srv->ready_tail = NULL;
            pthread_mutex_unlock(&srv->leader);
            pf__server_run_job(srv, c);
            pf__server_done(srv, c);
            pthread_mutex_lock(&srv->leader);
            continue;
        }
        if (pf__loop_once(srv, -1) < 0) {
            srv->done = 1;
            if (!srv->result)
                srv->result = -EIO;
        }
    }
    pthread_mutex_unlock(&srv->leader);
    return NULL;
}

static int start_threads(pf_server *srv, void *(*fn)(void *), unsigned n)
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

static int any_in_flight(const pf_server *srv)
{
    for (const pf__conn *c = srv->conns; c; c = c->next)
        if (c->in_flight)
            return 1;
    return 0;
}

/* Give the caller its signal mask and dispositions back, first taking the
 * SIGTERMs and SIGINTs that came after the drain had started: they asked
 * for what has now happened, and must not kill the process once
 * unblocked. */
static void give_back_signals(pf_server *srv)
{
    if (!srv->masked)
        return;
    struct signalfd_siginfo si;
    while (srv->sigfd >= 0 && read(srv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        ;
    struct sigaction ign = { .sa_handler = SIG_IGN };
    if (srv->unignore & 1u)
        sigaction(SIGTERM, &ign, NULL);
    if (srv->unignore & 2u)
        sigaction(SIGINT, &ign, NULL);
    srv->unignore = 0;
    pthread_sigmask(SIG_SETMASK, &srv->oldmask, NULL);
    srv->masked = 0;
}

int pf_server_run(pf_server *srv)
{
    int rc = pf__loop_init(srv);

    if (rc < 0) {
        give_back_signals(srv); /* loop_init may have taken them already */
        return rc;
    }
    if (atomic_load(&srv->stop_req))
        pf_server_stop(srv);
    switch (srv->conf.mode) {
    case PF_MODE_HSHA:
    case PF_MODE_REACTOR:
        pf_queue_set_takers(&srv->queue, srv->conf.threads);
        rc = start_threads(srv, worker_main, srv->conf.threads);
        while (rc == 0 && !srv->done) {
            if ((rc = pf__loop_once(srv, -1)) < 0)
                break;
        }
        break;
    case PF_MODE_LF:
        rc = start_threads(srv, lf_main, srv->conf.threads - 1); /* and this thread */
        if (rc == 0)
            lf_main(srv);
        break;
    case PF_MODE_INLINE:
        while (!srv->done)
            if ((rc = pf__loop_once(srv, -1)) < 0)
                break;
        break;
    }
    if (rc == 0)
        rc = srv->result;
    int busy = 0;
    if (rc == -ETIMEDOUT) {
        /* In lf mode the other threads still finish jobs, take the leader
         * lock, run completions and free connections: walk the list under
         * that lock. */
        if (srv->conf.mode == PF_MODE_LF)
            pthread_mutex_lock(&srv->leader);
        busy = any_in_flight(srv);
        if (srv->conf.mode == PF_MODE_LF)
            pthread_mutex_unlock(&srv->leader);
    }
    if (rc == -EINTR || busy) {
        /* Workers may be inside handlers that will not return soon: leave
         * them; the caller exits. */
        srv->abandoned = 1;
        /* Not joined: detached, so their end is no leak. */
        for (unsigned i = 0; i < srv->nthreads; i++)
            pthread_detach(srv->threads[i]);
        return rc;
    }
    pf_queue_close(&srv->queue);
    for (unsigned i = 0; i < srv->nthreads; i++)
        pthread_join(srv->threads[i], NULL);
    srv->nthreads = 0;
    give_back_signals(srv);
    return rc;
}

void pf_server_free(pf_server *srv)
{
    if (!srv || srv->abandoned)
        return;
    pf__loop_completions(srv);
    while (srv->conns) {
        pf__conn *c = srv->conns;
        srv->conns = c->next;
        if (!c->s.closed) {
            c->s.out = &c->s.own_out;
            pf__conn_event(c, PF_EV_CLOSE, NULL);
        }
        if (c->fd >= 0)
            close(c->fd);
        pf__conn_free(c);
    }
    pf__loop_reap(srv);
    for (unsigned i = 0; i < srv->nlisteners; i++) {
        if (srv->ls[i].fd >= 0)
            close(srv->ls[i].fd);
        free(srv->ls[i].fstats);
    }
    pf__loop_fini(srv);
    pf_timers_free(&srv->timers);
    pf_queue_destroy(&srv->queue);
    pthread_mutex_destroy(&srv->leader);
    free(srv->posts);
    free(srv->threads);
    free(srv);
}
