/* Bounded, batched request queue (see protofsm/queue.h).
 *
 * One mutex and one futex word (Linux, like the rest of the runtime).  Not
 * a condition variable: glibc's pthread_cond_wait takes the mutex back
 * marked contended, so every woken taker paid one more futex wake at its
 * unlock, on the hot path of every job.  A poster wakes only when takers
 * are asleep, and wakes as many as the batch can keep busy: waking every
 * worker for one item is the thundering herd, waking one for a burst of
 * blocking handlers serialises them.  A taker takes its share
 * (count / takers, rounded up) so a burst spreads over the pool while a
 * single busy connection still costs one lock per batch. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"

/* The mutex orders everything else; the futex only puts takers to sleep
 * and back, so a wake-up that races with a new sleeper is never lost: the
 * sleeper read _seq under the lock, and FUTEX_WAIT returns at once when a
 * post bumped it since. */
static void futex_wait(atomic_uint *w, unsigned val)
{
    syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *w, int n)
{
    syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

int pf__queue_init(pf__queue *q, size_t cap)
{
    if (cap == 0)
        return -EINVAL;
    q->_ring = calloc(cap, sizeof(void *));
    q->_stamp = calloc(cap, sizeof(uint64_t));
    if (!q->_ring || !q->_stamp) {
        free(q->_ring);
        free(q->_stamp);
        return -ENOMEM;
    }
    pthread_mutex_init(&q->_lock, NULL);
    atomic_init(&q->_seq, 0);
    q->_cap = cap;
    q->_head = q->_count = 0;
    q->_waiting = 0;
    q->_takers = 1;
    q->_closed = 0;
    return 0;
}

void pf__queue_destroy(pf__queue *q)
{
    pthread_mutex_destroy(&q->_lock);
    free(q->_ring);
    free(q->_stamp);
    q->_ring = NULL;
    q->_stamp = NULL;
}

void pf__queue_set_takers(pf__queue *q, unsigned n)
{
    pthread_mutex_lock(&q->_lock);
    q->_takers = n ? n : 1;
    pthread_mutex_unlock(&q->_lock);
}

size_t pf__queue_post(pf__queue *q, void *const *items, size_t n)
{
    return pf__queue_post_at(q, items, n, 0);
}

size_t pf__queue_post_at(pf__queue *q, void *const *items, size_t n, uint64_t ns)
{
    size_t i, wake;

    pthread_mutex_lock(&q->_lock);
    if (q->_closed) {
        pthread_mutex_unlock(&q->_lock);
        return 0;
    }
    if (n > q->_cap - q->_count)
        n = q->_cap - q->_count;
    for (i = 0; i < n; i++) {
        size_t at = (q->_head + q->_count + i) % q->_cap;
        q->_ring[at] = items[i];
        q->_stamp[at] = ns;
    }
    q->_count += n;
    wake = q->_waiting < n ? q->_waiting : n;
    if (wake)
        atomic_fetch_add_explicit(&q->_seq, 1, memory_order_relaxed);
    pthread_mutex_unlock(&q->_lock);
    /* After the unlock: a taker woken (and run at once, on a shared CPU)
     * while we still held the lock would only block on it again, two
     * more context switches and futex calls per post. */
    if (wake)
        futex_wake(&q->_seq, wake > INT_MAX ? INT_MAX : (int)wake);
    return n;
}

/* With the lock held and count > 0. */
static size_t take_locked(pf__queue *q, void **out, uint64_t *stamps, size_t max)
{
    size_t i, n, share;

    share = (q->_count + q->_takers - 1) / q->_takers;
    n = share < max ? share : max;
    if (n == 0)
        n = 1;
    for (i = 0; i < n; i++) {
        out[i] = q->_ring[q->_head];
        if (stamps)
            stamps[i] = q->_stamp[q->_head];
        q->_head = (q->_head + 1) % q->_cap;
    }
    q->_count -= n;
    return n;
}

/* Sleep until woken, or (ms > 0) until `deadline` (CLOCK_MONOTONIC);
 * 0 once it has passed. */
static int futex_wait_until(atomic_uint *w, unsigned val, const struct timespec *deadline)
{
    struct timespec now, rel;

    if (!deadline) {
        futex_wait(w, val);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    rel.tv_sec = deadline->tv_sec - now.tv_sec;
    rel.tv_nsec = deadline->tv_nsec - now.tv_nsec;
    if (rel.tv_nsec < 0) {
        rel.tv_sec--;
        rel.tv_nsec += 1000000000L;
    }
    if (rel.tv_sec < 0)
        return 0;
    syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT_PRIVATE, val, &rel, NULL, 0);
    return 1;
}

static size_t take(pf__queue *q, void **out, uint64_t *stamps, size_t max, unsigned ms)
{
    struct timespec deadline, *dl = NULL;
    size_t n = 0;

    if (max == 0)
        return 0;
    if (ms) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += ms / 1000;
        deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        dl = &deadline;
    }
    pthread_mutex_lock(&q->_lock);
    while (q->_count == 0 && !q->_closed) {
        unsigned seq = atomic_load_explicit(&q->_seq, memory_order_relaxed);
        int more;
        q->_waiting++;
        pthread_mutex_unlock(&q->_lock);
        more = futex_wait_until(&q->_seq, seq, dl);
        pthread_mutex_lock(&q->_lock);
        q->_waiting--;
        if (!more)
            break;
    }
    if (q->_count > 0)
        n = take_locked(q, out, stamps, max);
    pthread_mutex_unlock(&q->_lock);
    return n;
}

size_t pf__queue_take(pf__queue *q, void **out, size_t max)
{
    return take(q, out, NULL, max, 0);
}

size_t pf__queue_take_stamped(pf__queue *q, void **out, uint64_t *stamps, size_t max,
                              unsigned ms)
{
    return take(q, out, stamps, max, ms);
}

size_t pf__queue_trytake(pf__queue *q, void **out, size_t max)
{
    size_t n = 0;

    if (max == 0)
        return 0;
    pthread_mutex_lock(&q->_lock);
    if (q->_count > 0)
        n = take_locked(q, out, NULL, max);
    pthread_mutex_unlock(&q->_lock);
    return n;
}

void pf__queue_close(pf__queue *q)
{
    pthread_mutex_lock(&q->_lock);
    q->_closed = 1;
    atomic_fetch_add_explicit(&q->_seq, 1, memory_order_relaxed);
    pthread_mutex_unlock(&q->_lock);
    futex_wake(&q->_seq, INT_MAX);
}

size_t pf__queue_depth(pf__queue *q)
{
    size_t n;

    pthread_mutex_lock(&q->_lock);
    n = q->_count;
    pthread_mutex_unlock(&q->_lock);
    return n;
}

size_t pf__queue_capacity(const pf__queue *q) { return q->_cap; }

unsigned pf__queue_idle(pf__queue *q)
{
    unsigned n;

    pthread_mutex_lock(&q->_lock);
    n = q->_waiting;
    pthread_mutex_unlock(&q->_lock);
    return n;
}

int pf__queue_closed(pf__queue *q)
{
    int closed;

    pthread_mutex_lock(&q->_lock);
    closed = q->_closed;
    pthread_mutex_unlock(&q->_lock);
    return closed;
}
