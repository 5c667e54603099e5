/* Private: the bounded request queue between the I/O thread and the
 * workers (pool.c).  Not installed; tests include it by its path.
 *
 * A ring of pointers whose storage is taken once at init.  Posting never
 * blocks: it reports how many items fit and the caller decides what the rest
 * do (wait, or get the protocol's busy reply).  Both sides move items in
 * batches under one lock acquisition, so a burst of N packets costs one lock
 * and at most one wake-up per sleeping worker, not N.
 *
 * Thread-safe: any number of posters and takers.  Items are opaque; the
 * queue never dereferences them. */
#ifndef PF__QUEUE_H
#define PF__QUEUE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pf__queue {
    pthread_mutex_t _lock;
    atomic_uint _seq;   /* futex word: bumped by every post that wakes */
    void **_ring;
    uint64_t *_stamp;   /* [cap] when each item was posted (0: not timed) */
    size_t _cap, _head, _count;
    unsigned _waiting;  /* takers asleep in pf__queue_take */
    unsigned _takers;   /* takers that share the work (batch size hint) */
    int _closed;
} pf__queue;

/* Storage for `cap` items (cap >= 1).  0 or -ENOMEM / -EINVAL. */
int pf__queue_init(pf__queue *q, size_t cap);
/* The queue must be empty of takers (pf__queue_close, then join them). */
void pf__queue_destroy(pf__queue *q);

/* Append up to n items in order.  Returns how many were taken (0..n); the
 * rest did not fit.  Never blocks.  After pf__queue_close returns 0. */
size_t pf__queue_post(pf__queue *q, void *const *items, size_t n);

/* pf__queue_post with every item stamped `ns` (a clock reading; 0: none),
 * for pf__queue_take_stamped. */
size_t pf__queue_post_at(pf__queue *q, void *const *items, size_t n, uint64_t ns);
/* Take between 1 and max items, oldest first, sleeping while the queue is
 * empty.  To spread a burst over the workers a taker takes about
 * count / takers items, not all of them.  Returns 0 only once the queue is
 * closed and empty. */
size_t pf__queue_take(pf__queue *q, void **out, size_t max);
/* Like pf__queue_take, also giving each item's stamp (pf__queue_post_at),
 * and with ms > 0 sleeping at most that long: 0 also when that time passed
 * with the queue still empty (pf__queue_closed tells the two apart). */
size_t pf__queue_take_stamped(pf__queue *q, void **out, uint64_t *stamps, size_t max,
                              unsigned ms);
/* Like pf__queue_take without sleeping: 0 when empty. */
size_t pf__queue_trytake(pf__queue *q, void **out, size_t max);

/* Wake every taker; later posts fail; takers drain what is left. */
void pf__queue_close(pf__queue *q);
/* Hint for the batch size: how many threads take from this queue. */
void pf__queue_set_takers(pf__queue *q, unsigned n);

size_t pf__queue_depth(pf__queue *q);
size_t pf__queue_capacity(const pf__queue *q);
/* Takers asleep in pf__queue_take now: free to take a post at once. */
unsigned pf__queue_idle(pf__queue *q);
int pf__queue_closed(pf__queue *q);

#endif
