/* Posting to another session (protofsm/post.h): handles, mailboxes and the
 * hand-over to the loop owner.
 *
 * Every session that asked for a handle owns one slot in a process-wide
 * table.  Slots live in fixed chunks that are never moved or freed, so a
 * slot's address is stable and its `pending` flag can be read without the
 * lock; everything else in a slot is guarded by one mutex.  One lock for
 * all slots keeps the generation check, the mailbox and the dirty list
 * consistent with each other at the cost of some contention; a post holds
 * it for one memcpy of the message.
 *
 * Why the loop owner moves the bytes, and not the poster: a connection's
 * output buffer belongs to the thread running its job (or to the owner
 * between jobs, see server_impl.h).  A poster on another worker may touch
 * neither, so it only fills the mailbox and wakes the owner through the
 * server's eventfd, the path job completions already use.  The owner moves
 * the mail when the connection is between jobs: at its wake-up for the
 * ones idle, in pf__step (progress.c) after a job completes for the others.
 *
 * A released slot that is still on a server's dirty list must not be
 * reused before the owner has popped it (it would then sit on the wrong
 * server's list): it becomes a zombie and goes to the free list when
 * popped. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "admin_impl.h"
#include "post_impl.h"
#include "protofsm/post.h"
#include "server_impl.h"

#define CHUNK 1024u
#define MAX_CHUNKS 4096u /* 4M live handles */

struct slot {
    uint32_t idx, gen;
    uint32_t next_free, next_dirty;
    uint8_t live, dirty, zombie, close_req;
    uint8_t wake_req;     /* pf_post_wake: "room" once the mailbox moved */
    atomic_int pending;   /* mailbox not empty, close or wake requested */
    pf_session *s;
    pf_server *srv;       /* NULL: a session driven by hand */
    pf_buf q;             /* the mailbox: whole posts, in order */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *chunks[MAX_CHUNKS];
static uint32_t nslots = 1; /* slot 0 means "no session" */
static uint32_t free_head;
static atomic_uint_fast64_t refused;

static struct slot *at(uint32_t i) { return &chunks[i / CHUNK][i % CHUNK]; }

/* Under the lock. */
static struct slot *slot_new(void)
{
    struct slot *sl;

    if (free_head) {
        sl = at(free_head);
        free_head = sl->next_free;
        return sl;
    }
    if (nslots / CHUNK >= MAX_CHUNKS)
        return NULL;
    if (!chunks[nslots / CHUNK]) {
        chunks[nslots / CHUNK] = calloc(CHUNK, sizeof(struct slot));
        if (!chunks[nslots / CHUNK])
            return NULL;
    }
    sl = at(nslots);
    sl->idx = nslots++;
    return sl;
}

/* Under the lock: the live slot `h` names, or NULL. */
static struct slot *lookup(pf_handle h)
{
    if (h._slot == 0 || h._slot >= nslots)
        return NULL;
    struct slot *sl = at(h._slot);
    return sl->live && sl->gen == h._gen ? sl : NULL;
}

int pf_session_handle(pf_session *s, pf_handle *out)
{
    struct slot *sl = s->post;

    if (!sl) {
        pf__conn *c = s->host;
        pthread_mutex_lock(&lock);
        sl = slot_new();
        if (!sl) {
            pthread_mutex_unlock(&lock);
            return -ENOMEM;
        }
        sl->live = 1;
        sl->s = s;
        sl->srv = c ? c->srv : NULL;
        pf_buf_init(&sl->q, c ? c->srv->conf.max_output : s->out.buf.max);
        s->post = sl;
        pthread_mutex_unlock(&lock);
    }
    /* idx and gen change only under the lock, and only when the session
     * releases the slot, which cannot happen while its handler runs. */
    out->_slot = sl->idx;
    out->_gen = sl->gen;
    return 0;
}

/* Under the lock: put `sl` on its server's dirty list and wake the owner
 * if the list was empty (later posts ride on the same wake-up). */
static void mark(struct slot *sl)
{
    atomic_store_explicit(&sl->pending, 1, memory_order_relaxed);
    if (sl->dirty)
        return;
    sl->dirty = 1;
    sl->next_dirty = sl->srv->post_dirty;
    sl->srv->post_dirty = sl->idx;
    if (sl->next_dirty == 0) {
        uint64_t one = 1;
        /* Inside the lock: the server cannot be freed under us, since
         * freeing its connections releases their slots under this lock. */
        (void)!write(sl->srv->wakefd, &one, sizeof(one));
    }
}

int pf_postv(pf_handle h, const pf_slice *parts, size_t n)
{
    size_t total = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (parts[i].len > SIZE_MAX / 4 - total)
            return -EMSGSIZE;
        total += parts[i].len;
    }
    pthread_mutex_lock(&lock);
    struct slot *sl = lookup(h);
    if (!sl) {
        rc = PF_ECLOSED;
        goto out;
    }
    /* By hand: straight into the session's output (single-threaded). */
    pf_buf *b = sl->srv ? &sl->q : sl->s->out.cur;
    if (total > (b->max ? b->max : SIZE_MAX / 2)) {
        rc = -EMSGSIZE;
        goto out;
    }
    if (pf_buf_reserve(b, total) < 0) {
        atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed);
        rc = -ENOBUFS;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        pf_buf_append(b, parts[i].ptr, parts[i].len);
    if (sl->srv)
        mark(sl);
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

int pf_post(pf_handle h, const void *data, size_t len)
{
    pf_slice one = { data, len };
    return pf_postv(h, &one, 1);
}

int pf_post_close(pf_handle h)
{
    int rc = 0;

    pthread_mutex_lock(&lock);
    struct slot *sl = lookup(h);
    if (!sl) {
        rc = PF_ECLOSED;
    } else if (!sl->srv) {
        sl->s->closing = 1;
    } else {
        sl->close_req = 1;
        mark(sl);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int pf_post_wake(pf_handle h)
{
    int rc = 0;

    pthread_mutex_lock(&lock);
    struct slot *sl = lookup(h);
    if (!sl) {
        rc = PF_ECLOSED;
    } else if (!sl->srv) {
        rc = -ENOTSUP;
    } else {
        /* Checked by the owner in pf__post_apply, under this lock, so a
         * mailbox emptied between the poster's refusal and this call
         * still wakes (the owner finds it empty at once). */
        sl->wake_req = 1;
        mark(sl);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

uint64_t pf_post_refused(void)
{
    return atomic_load_explicit(&refused, memory_order_relaxed);
}

void pf__post_release(pf_session *s)
{
    struct slot *sl = s->post;

    if (!sl)
        return;
    pthread_mutex_lock(&lock);
    sl->gen++;
    sl->live = 0;
    sl->s = NULL;
    sl->close_req = 0;
    sl->wake_req = 0;
    pf_buf_free(&sl->q);
    atomic_store_explicit(&sl->pending, 0, memory_order_relaxed);
    if (sl->dirty) {
        sl->zombie = 1;
    } else {
        sl->srv = NULL;
        sl->next_free = free_head;
        free_head = sl->idx;
    }
    s->post = NULL;
    pthread_mutex_unlock(&lock);
}

pf__conn *pf__post_next(pf_server *srv)
{
    pf__conn *c = NULL;

    assert(pf__owner_here(srv));
    /* The admin's snapshot requests ride the same wake-up (admin_snap.c). */
    pf__admin_owner(srv);
    pthread_mutex_lock(&lock);
    while (!c && srv->post_dirty) {
        struct slot *sl = at(srv->post_dirty);
        srv->post_dirty = sl->next_dirty;
        sl->dirty = 0;
        if (sl->zombie) {
            sl->zombie = 0;
            sl->srv = NULL;
            sl->next_free = free_head;
            free_head = sl->idx;
            continue;
        }
        if (!sl->live)
            continue;
        /* A connection in flight takes its mail when the job completes
         * (pf__step runs then); a dead one never will. */
        pf__conn *cand = sl->s->host;
        if (!cand->dead && !cand->in_flight)
            c = cand;
    }
    pthread_mutex_unlock(&lock);
    return c;
}

int pf__post_apply(pf__conn *c)
{
    struct slot *sl = c->s.post;
    int waiting;

    assert(pf__owner_here(c->srv) && !c->in_flight);
    if (!sl || !atomic_load_explicit(&sl->pending, memory_order_relaxed))
        return 0;
    pthread_mutex_lock(&lock);
    /* Below the high-water mark the whole mailbox moves (it is at most
     * max_output), so the output stays under 2 x max_output: the bound
     * the io modes size their output buffer for. */
    if (sl->q.len && pf__out_len(&c->s.out) < c->srv->conf.max_output) {
        /* Behind every reply of the jobs before (a CONNACK before any
         * PUBLISH): pf__out_end_job put them in stream order already. */
        if (pf__out_mail(&c->s.out, pf_buf_head(&sl->q), sl->q.len) < 0)
            c->hard = 1;
        pf_buf_consume(&sl->q, sl->q.len);
        pf_buf_shrink(&sl->q);
    }
    if (sl->close_req && sl->q.len == 0) {
        sl->close_req = 0;
        c->s.closing = 1;
    }
    /* Room: the mailbox is empty, so a post of up to max_output fits; the
     * event rides the next job like a timer (conn.c). */
    if (sl->wake_req && sl->q.len == 0) {
        sl->wake_req = 0;
        c->pending |= PF__EV_ROOM;
    }
    waiting = sl->q.len || sl->close_req;
    atomic_store_explicit(&sl->pending, waiting || sl->wake_req, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    return waiting;
}
