/* Timers: a binary min-heap of deadlines, driven by one timerfd per loop.
 *
 * Entries are embedded in the caller's structs (a connection holds one) and
 * the heap stores pointers to them, so linking never allocates except to
 * grow the pointer array; 100k timers cost 800 KB of pointers and
 * O(log n) per link, unlink or expiry.  Deadlines are absolute milliseconds
 * of CLOCK_MONOTONIC.  pf_timer_deadline rounds the current time up, and
 * expiry compares with the time rounded down, so an entry never fires
 * early; the loop arms its timerfd at the earliest deadline, so it fires at
 * most one millisecond tick late.
 *
 * Not thread-safe: the thread that owns the loop owns its timers. */
#ifndef PROTOFSM_TIMER_H
#define PROTOFSM_TIMER_H

#include <stddef.h>
#include <stdint.h>

#define PF_TIMER_NEVER UINT64_MAX

typedef struct pf_timer_entry {
    uint64_t deadline;  /* absolute ms; valid while linked */
    size_t _idx;        /* heap position + 1; 0 when not linked */
} pf_timer_entry;

typedef struct pf_timers {
    pf_timer_entry **_heap;
    size_t _n, _cap;
} pf_timers;

void pf_timers_init(pf_timers *t);
void pf_timers_free(pf_timers *t);

/* Milliseconds of CLOCK_MONOTONIC, rounded down. */
uint64_t pf_now_ms(void);
/* The deadline `ms` milliseconds from now, rounded up (never early). */
uint64_t pf_timer_deadline(unsigned ms);

static inline int pf_timer_linked(const pf_timer_entry *e) { return e->_idx != 0; }
static inline void pf_timer_entry_init(pf_timer_entry *e) { e->_idx = 0; e->deadline = 0; }

/* Link `e` at `deadline`, or move it there if already linked.
 * 0 or -ENOMEM (then `e` is unchanged). */
int pf_timers_link(pf_timers *t, pf_timer_entry *e, uint64_t deadline);
/* Unlink `e` (no-op when not linked). */
void pf_timers_unlink(pf_timers *t, pf_timer_entry *e);
/* Earliest deadline, or PF_TIMER_NEVER. */
uint64_t pf_timers_next(const pf_timers *t);
/* Unlink and return one entry whose deadline is <= now, earliest first;
 * NULL when none has expired. */
pf_timer_entry *pf_timers_expired(pf_timers *t, uint64_t now);
size_t pf_timers_count(const pf_timers *t);

#endif
