/* Private: timers, a binary min-heap of deadlines, driven by one timerfd
 * per loop (loop.c).  Not installed; tests include it by its path.
 *
 * Entries are embedded in the caller's structs (a connection holds one) and
 * the heap stores pointers to them, so linking never allocates except to
 * grow the pointer array; 100k timers cost 800 KB of pointers and
 * O(log n) per link, unlink or expiry.  Deadlines are absolute milliseconds
 * of CLOCK_MONOTONIC.  pf__timer_deadline rounds the current time up, and
 * expiry compares with the time rounded down, so an entry never fires
 * early; the loop arms its timerfd at the earliest deadline, so it fires at
 * most one millisecond tick late.
 *
 * Not thread-safe: the thread that owns the loop owns its timers. */
#ifndef PF__TIMER_H
#define PF__TIMER_H

#include <stddef.h>
#include <stdint.h>

#define PF__TIMER_NEVER UINT64_MAX

typedef struct pf__timer_entry {
    uint64_t deadline;  /* absolute ms; valid while linked */
    size_t _idx;        /* heap position + 1; 0 when not linked */
} pf__timer_entry;

typedef struct pf__timers {
    pf__timer_entry **_heap;
    size_t _n, _cap;
} pf__timers;

void pf__timers_init(pf__timers *t);
void pf__timers_free(pf__timers *t);

/* Milliseconds of CLOCK_MONOTONIC, rounded down. */
uint64_t pf__now_ms(void);
/* The deadline `ms` milliseconds from now, rounded up (never early). */
uint64_t pf__timer_deadline(unsigned ms);

static inline int pf__timer_linked(const pf__timer_entry *e) { return e->_idx != 0; }
static inline void pf__timer_entry_init(pf__timer_entry *e) { e->_idx = 0; e->deadline = 0; }

/* Link `e` at `deadline`, or move it there if already linked.
 * 0 or -ENOMEM (then `e` is unchanged). */
int pf__timers_link(pf__timers *t, pf__timer_entry *e, uint64_t deadline);
/* Unlink `e` (no-op when not linked). */
void pf__timers_unlink(pf__timers *t, pf__timer_entry *e);
/* Earliest deadline, or PF__TIMER_NEVER. */
uint64_t pf__timers_next(const pf__timers *t);
/* Unlink and return one entry whose deadline is <= now, earliest first;
 * NULL when none has expired. */
pf__timer_entry *pf__timers_expired(pf__timers *t, uint64_t now);
size_t pf__timers_count(const pf__timers *t);

#endif
