/* The connection snapshot behind /connections and the page's occupancy.
 *
 * The connection list and every connection's fields belong to the loop's
 * owner (server_impl.h), so the admin thread never walks them: it files a
 * request, wakes the owner through the server's eventfd (the path
 * pf_server_stop uses) and waits, bounded.  The owner, at its wake-up
 * (post.c calls pf__admin_owner), copies what it may read into a fresh
 * block: for a connection whose job is out it reads only owner fields,
 * since the session's state and output are the job's.  The admin does not
 * wait for the answer: it goes on serving /metrics, and the owner writes
 * the admin's eventfd when done.  The owner touches a request only while
 * it is on the list and under the lock, and the admin frees it only after
 * unlinking it under that lock. */
#include <errno.h>
#include <linux/tcp.h> /* tcp_info with the byte counts glibc's lacks */
#include <netinet/in.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_impl.h"
#include "server_impl.h"

struct pf__admin_req {
    pf_server *srv;
    int notify;
    pf__admin_snap *snap;
    int done, err;
    struct pf__admin_req *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pf__admin_req *reqs;
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
        /* Not while a job runs: in a drain it may be writing drain_left,
         * which shares the word. */
        r->age_ms = c->in_flight || c->drain_cut ? UINT64_MAX
                    : now > c->born_ms           ? now - c->born_ms
                                                 : 0;
        /* idle_at is the last input plus the idle timeout, when there is one. */
        r->idle_ms = srv->conf.idle_timeout_ms && c->idle_at
                         ? now + srv->conf.idle_timeout_ms > c->idle_at
                               ? now + srv->conf.idle_timeout_ms - c->idle_at
                               : 0
                         : UINT64_MAX;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct tcp_info ti;
        socklen_t tl = sizeof(ti);
        r->bytes_in = r->bytes_out = UINT64_MAX;
        if (c->fd >= 0 && getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
            tl >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received)) {
            r->bytes_in = ti.tcpi_bytes_received;
            r->bytes_out = ti.tcpi_bytes_acked;
        }
        if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0 ||
            pf__net_format(&ss, r->peer, sizeof(r->peer)) < 0)
            strcpy(r->peer, "?");
    }
    *out = s;
    return 0;
}

void pf__admin_owner(pf_server *srv)
{
    uint64_t one = 1;

    if (!atomic_load_explicit(&npending, memory_order_relaxed))
        return;
    assert(pf__owner_here(srv));
    pthread_mutex_lock(&lock);
    for (struct pf__admin_req *r = reqs; r; r = r->next)
        if (r->srv == srv && !r->done) {
            r->err = build(srv, &r->snap);
            r->done = 1;
            (void)!write(r->notify, &one, sizeof(one));
        }
    pthread_mutex_unlock(&lock);
}

pf__admin_req *pf__admin_ask(pf_server *srv, int notify)
{
    pf__admin_req *r = calloc(1, sizeof(*r));
    uint64_t one = 1;

    if (!r)
        return NULL;
    r->srv = srv;
    r->notify = notify;
    pthread_mutex_lock(&lock);
    r->next = reqs;
    reqs = r;
    atomic_fetch_add_explicit(&npending, 1, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    /* The path pf_server_stop takes: the owner's next turn sees it. */
    (void)!write(srv->wakefd, &one, sizeof(one));
    return r;
}

int pf__admin_done(pf__admin_req *r)
{
    pthread_mutex_lock(&lock);
    int done = r->done;
    pthread_mutex_unlock(&lock);
    return done;
}

int pf__admin_finish(pf__admin_req *r, pf__admin_snap **out)
{
    int rc;

    pthread_mutex_lock(&lock);
    for (struct pf__admin_req **p = &reqs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            atomic_fetch_sub_explicit(&npending, 1, memory_order_relaxed);
            break;
        }
    pthread_mutex_unlock(&lock);
    rc = !r->done ? -ETIMEDOUT : r->err;
    if (rc == 0)
        *out = r->snap;
    else
        pf__admin_snap_free(r->snap);
    free(r);
    return rc;
}
