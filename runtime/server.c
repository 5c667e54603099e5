/* The server: configuration, listeners, the calls handlers make about
 * their connection, and the lifecycle (run, stop, free).
 *
 * The modes differ only in who runs a connection's job and what the job
 * contains: pool.c holds that, one row per mode; loop.c runs the loop
 * owner's side; conn.c the bytes. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "server_impl.h"

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

static const char *const backend_names[] = { "epoll", "poll", "sigio" };

const char *pf_backend_name(pf_backend b)
{
    return (unsigned)b < 3 ? backend_names[b] : NULL;
}

int pf_backend_parse(const char *name, pf_backend *out)
{
    for (unsigned i = 0; i < 3; i++)
        if (strcmp(name, backend_names[i]) == 0) {
            *out = (pf_backend)i;
            return 0;
        }
    return -EINVAL;
}

const char *pf_backend_refuses(const pf_server_conf *conf)
{
    if (conf->backend == PF_BACKEND_SIGIO && conf->mode == PF_MODE_LF)
        return "--backend sigio cannot run --mode lf: its signals go to one thread, and "
               "lf's loop moves from thread to thread (use hsha, reactor or inline)";
    return NULL;
}

static void defaults(pf_server_conf *c)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (!c->threads)
        c->threads = n > 0 ? (unsigned)n : 1;
    if (!c->max_threads)
        c->max_threads = c->threads > 64 ? c->threads : 64;
    if (c->max_threads < c->threads)
        c->max_threads = c->threads;
    if (!c->max_conns)
        c->max_conns = 10000;
    if (!c->drain_timeout_ms)
        c->drain_timeout_ms = 10000;
    if (!c->linger_ms)
        c->linger_ms = 2000;
    if (!c->max_input)
        c->max_input = PF_DEFAULT_MAX_INPUT;
    if (!c->max_output)
        c->max_output = PF_DEFAULT_MAX_OUTPUT;
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
    if ((unsigned)conf->mode > PF_MODE_INLINE || (unsigned)conf->backend > PF_BACKEND_SIGIO)
        return -EINVAL;
    if (pf_backend_refuses(conf))
        return -ENOTSUP;
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->conf = *conf;
    srv->input_given = conf->max_input != 0;
    defaults(&srv->conf);
    srv->timerfd = srv->sigfd = srv->wakefd = srv->reservefd = -1;
    pf__timers_init(&srv->timers);
    pf__timer_entry_init(&srv->drain_timer);
    pf__timer_entry_init(&srv->pool_timer);
    pf__timer_entry_init(&srv->accept_timer);
    srv->timer_armed = PF__TIMER_NEVER;
    atomic_init(&srv->done_list, NULL);
    atomic_init(&srv->sleeping, 0);
    atomic_init(&srv->wake_sent, 0);
    pthread_mutex_init(&srv->leader, NULL);
    srv->sched = &pf__scheds[srv->conf.mode];
    /* Here, not when the loop starts: pf_server_stop may be called from
     * any thread at any time, and must find it made (and never changing
     * under it) until pf_server_free. */
    srv->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    rc = srv->wakefd < 0 ? -errno : pf__pool_init(srv);
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
    ls->max_input = pf__max_input(lc->max_input, srv->input_given ? srv->conf.max_input : 0,
                                  ls->proto, lc->proto_conf);
    ls->fstats = malloc(pf_fsm_stats_size(ls->svc->fsm));
    if (!ls->fstats) {
        close(fd);
        return -ENOMEM;
    }
    ls->fstats = pf_fsm_stats_init(ls->svc->fsm, ls->fstats);
    ls->lat = calloc((size_t)ls->svc->fsm->nhandlers * PF__LAT_STRIDE, sizeof(*ls->lat));
    if (!ls->lat) {
        free(ls->fstats);
        close(fd);
        return -ENOMEM;
    }
    if (pf__cheap_init(ls) < 0) {
        free(ls->lat);
        free(ls->fstats);
        close(fd);
        return -ENOMEM;
    }
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

const uint32_t pf_latency_bounds_us[PF_LATENCY_BUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000,
};

void pf__lat_record(atomic_uint_fast64_t *l, uint64_t ns)
{
    unsigned k = 0;
    while (k < PF_LATENCY_BUCKETS && ns > (uint64_t)pf_latency_bounds_us[k] * 1000u)
        k++;
    atomic_fetch_add_explicit(&l[0], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l[1], ns, memory_order_relaxed);
    if (k < PF_LATENCY_BUCKETS) /* past the last bound: in count only (+Inf) */
        atomic_fetch_add_explicit(&l[2 + k], 1, memory_order_relaxed);
}

void pf__latency_add(void *host, uint16_t h, uint64_t ns)
{
    pf__conn *c = host;

    if (h && h < c->ls->svc->fsm->nhandlers)
        pf__lat_record(c->ls->lat + (size_t)h * PF__LAT_STRIDE, ns);
}

static void lat_read(atomic_uint_fast64_t *l, pf_latency *out)
{
    uint64_t run = 0;
    /* Relaxed counters are not read at one instant: the count (+Inf) is
     * kept at least the buckets' sum. */
    for (unsigned k = 0; k < PF_LATENCY_BUCKETS; k++)
        out->le[k] = run += atomic_load_explicit(&l[2 + k], memory_order_relaxed);
    out->sum_ns = atomic_load_explicit(&l[1], memory_order_relaxed);
    out->count = atomic_load_explicit(&l[0], memory_order_relaxed);
    if (out->count < run)
        out->count = run;
}

int pf_server_latency(const pf_server *srv, unsigned i, uint16_t h, pf_latency *out)
{
    if (i >= srv->nlisteners || !h || h >= srv->ls[i].svc->fsm->nhandlers)
        return -ENOENT;
    lat_read(srv->ls[i].lat + (size_t)h * PF__LAT_STRIDE, out);
    return 0;
}

int pf_server_queue_wait(pf_server *srv, pf_latency *out)
{
    lat_read(srv->qwait, out);
    return 0;
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
    o->owner_jobs = LD(owner_jobs);
    o->owner_stalls = LD(owner_stalls);
    o->backend_sweeps = LD(backend_sweeps);
    o->timeouts_idle = LD(timeouts_idle);
    o->timeouts_request = LD(timeouts_request);
    o->timeouts_write = LD(timeouts_write);
    o->proto_too_large = LD(proto_too_large);
    o->draining = LD(draining);
    o->workers_added = LD(workers_added);
    o->workers = atomic_load_explicit(&srv->nworkers, memory_order_relaxed);
#undef LD
    o->queue_depth = pf__queue_depth(&srv->queue);
    o->queue_capacity = pf__queue_capacity(&srv->queue);
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
    assert(pf__job_here(c));
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

void pf_server_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    /* Their default action kills the process at once, with no drain: a
     * terminal hang-up or logrotate's `kill -USR1` must not lose the work
     * in flight.  Taken; the service may act on them (on_signal). */
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
    sigaddset(set, SIGALRM);
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
    rc = pf__pool_start(srv);
    if (rc == 0 && srv->conf.on_ready)
        srv->conf.on_ready(srv, srv->conf.ready_arg);
    if (rc == 0)
        rc = pf__loop_run(srv);
    if (rc == 0)
        rc = srv->result;
    if (rc == -EINTR || (rc == -ETIMEDOUT && pf__loop_busy(srv))) {
        /* Workers may be inside handlers that will not return soon: leave
         * them; the caller exits. */
        srv->abandoned = 1;
        pf__pool_stop(srv, 1);
        return rc;
    }
    pf__pool_stop(srv, 0);
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
        free(srv->ls[i].lat);
        pf__cheap_fini(&srv->ls[i]);
    }
    pf__loop_fini(srv);
    pf__timers_free(&srv->timers);
    pf__pool_fini(srv);
    pthread_mutex_destroy(&srv->leader);
    free(srv);
}
