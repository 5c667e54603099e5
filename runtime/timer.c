/* Timer heap (see protofsm/timer.h).
 *
 * A plain binary heap rather than a hashed wheel: connection timers are
 * re-armed on activity, and with a heap a re-arm is one sift of one entry,
 * exact to the millisecond, with no per-tick work while nothing expires (an
 * idle server with 10k connections does not wake up every tick). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "timer.h"

void pf__timers_init(pf__timers *t)
{
    t->_heap = NULL;
    t->_n = t->_cap = 0;
}

void pf__timers_free(pf__timers *t)
{
    free(t->_heap);
    pf__timers_init(t);
}

uint64_t pf__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t pf__timer_deadline(unsigned ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + ((uint64_t)ts.tv_nsec + 999999u) / 1000000u + ms;
}

static void place(pf__timers *t, size_t i, pf__timer_entry *e)
{
    t->_heap[i] = e;
    e->_idx = i + 1;
}

static void sift_up(pf__timers *t, size_t i)
{
    pf__timer_entry *e = t->_heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (t->_heap[parent]->deadline <= e->deadline)
            break;
        place(t, i, t->_heap[parent]);
        i = parent;
    }
    place(t, i, e);
}

static void sift_down(pf__timers *t, size_t i)
{
    pf__timer_entry *e = t->_heap[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->_n)
            break;
        if (c + 1 < t->_n && t->_heap[c + 1]->deadline < t->_heap[c]->deadline)
            c++;
        if (e->deadline <= t->_heap[c]->deadline)
            break;
        place(t, i, t->_heap[c]);
        i = c;
    }
    place(t, i, e);
}

int pf__timers_link(pf__timers *t, pf__timer_entry *e, uint64_t deadline)
{
    if (e->_idx) {
        uint64_t old = e->deadline;
        e->deadline = deadline;
        if (deadline < old)
            sift_up(t, e->_idx - 1);
        else if (deadline > old)
            sift_down(t, e->_idx - 1);
        return 0;
    }
    if (t->_n == t->_cap) {
        size_t cap = t->_cap ? t->_cap * 2 : 64;
        pf__timer_entry **h = realloc(t->_heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        t->_heap = h;
        t->_cap = cap;
    }
    e->deadline = deadline;
    place(t, t->_n++, e);
    sift_up(t, t->_n - 1);
    return 0;
}

void pf__timers_unlink(pf__timers *t, pf__timer_entry *e)
{
    size_t i;
    pf__timer_entry *last;

    if (!e->_idx)
        return;
    i = e->_idx - 1;
    e->_idx = 0;
    last = t->_heap[--t->_n];
    if (i == t->_n)
        return;
    place(t, i, last);
    if (i > 0 && t->_heap[(i - 1) / 2]->deadline > last->deadline)
        sift_up(t, i);
    else
        sift_down(t, i);
}

uint64_t pf__timers_next(const pf__timers *t)
{
    return t->_n ? t->_heap[0]->deadline : PF__TIMER_NEVER;
}

pf__timer_entry *pf__timers_expired(pf__timers *t, uint64_t now)
{
    pf__timer_entry *e;

    if (t->_n == 0 || t->_heap[0]->deadline > now)
        return NULL;
    e = t->_heap[0];
    pf__timers_unlink(t, e);
    return e;
}

size_t pf__timers_count(const pf__timers *t) { return t->_n; }
