/* The connection snapshot behind /connections and the page's occupancy.
 *
 * The connection list and every connection's fields belong to the loop's
 * owner (server_impl.h), so the admin thread never walks them: it files a
 * request, wakes the owner through the server's eventfd (the path
 * pf_server_stop uses) and waits, bounded.  The owner, at its wake-up
 * (post.c calls pf__admin_owner), copies what it may read into a fresh
 * block: for a connection whose job is out it reads only owner fields,
 * since the session's state and output are the job's.  The request lives
 * on the admin thread's stack and the owner fills it under one lock, so a
 * request that timed out is unlinked before its stack frame goes. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin_impl.h"
#include "server_impl.h"

struct req {
    pf_server *srv;
    pf__admin_snap *snap;
    int done, err;
    struct req *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct req *reqs;
static atomic_int npending;

void pf__admin_snap_free(pf__admin_snap *s)
{
    if (!s)
        return;
    free(s->rows);
    free(s->occ);
    free(s);
}

/* Owner: one pass over srv->conns. */
static int build(pf_server *srv, pf__admin_snap **out)
{
    pf__admin_snap *s = calloc(1, sizeof(*s));
    uint64_t now = pf__now_ms();

    if (!s)
        return -ENOMEM;
    for (unsigned i = 0; i < srv->nlisteners; i++)
        s->off[i + 1] = s->off[i] + srv->ls[i].svc->fsm->nstates;
    for (unsigned i = srv->nlisteners; i < 16; i++)
        s->off[i + 1] = s->off[i];
    s->occ = calloc(s->off[srv->nlisteners] + 1, sizeof(*s->occ));
    size_t cap = srv->nconns < PF_ADMIN_MAX_ROWS ? srv->nconns + 1 : PF_ADMIN_MAX_ROWS;
    s->rows = calloc(cap, sizeof(*s->rows));
    if (!s->occ || !s->rows) {
        pf__admin_snap_free(s);
        return -ENOMEM;
    }
    for (pf__conn *c = srv->conns; c; c = c->next) {
        if (c->dead)
            continue;
        unsigned li = (unsigned)(c->ls - srv->ls);
        uint16_t state = PF__ADMIN_NO_STATE;
        s->total++;
        if (c->in_flight)
            s->busy[li]++;
        else {
            state = c->s.state;
            s->occ[s->off[li] + state]++;
        }
        if (s->nrows == cap)
            continue;
        pf__admin_row *r = &s->rows[s->nrows++];
        r->listener = (uint16_t)li;
        r->state = state;
        r->out_bytes = c->in_flight ? 0 : pf__out_len(&c->s.out);
        /* idle_at is the last input plus the idle timeout, when there is one. */
        r->idle_ms = srv->conf.idle_timeout_ms && c->idle_at
                         ? now + srv->conf.idle_timeout_ms > c->idle_at
                               ? now + srv->conf.idle_timeout_ms - c->idle_at
                               : 0
                         : UINT64_MAX;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0 ||
            pf__net_format(&ss, r->peer, sizeof(r->peer)) < 0)
            strcpy(r->peer, "?");
    }
    *out = s;
    return 0;
}

void pf__admin_owner(pf_server *srv)
{
    if (!atomic_load_explicit(&npending, memory_order_relaxed))
        return;
    assert(pf__owner_here(srv));
    pthread_mutex_lock(&lock);
    int any = 0;
    for (struct req *r = reqs; r; r = r->next)
        if (r->srv == srv && !r->done) {
            r->err = build(srv, &r->snap);
            r->done = any = 1;
        }
    pthread_mutex_unlock(&lock);
    if (any)
        pthread_cond_broadcast(&cond);
}

static void unlink_req(struct req *r)
{
    for (struct req **p = &reqs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            atomic_fetch_sub_explicit(&npending, 1, memory_order_relaxed);
            return;
        }
}

int pf__admin_snapshot(pf_server *srv, unsigned timeout_ms, pf__admin_snap **out)
{
    struct req r = { srv, NULL, 0, 0, NULL };
    struct timespec end;
    uint64_t one = 1;
    int rc = 0;

    pthread_mutex_lock(&lock);
    r.next = reqs;
    reqs = &r;
    atomic_fetch_add_explicit(&npending, 1, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    (void)!write(srv->wakefd, &one, sizeof(one));

    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += timeout_ms / 1000;
    end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lock);
    while (!r.done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&cond, &lock, &end);
    unlink_req(&r);
    pthread_mutex_unlock(&lock);
    if (!r.done)
        return -ETIMEDOUT;
    if (r.err < 0)
        return r.err;
    *out = r.snap;
    return 0;
}
