/* An interest set kept in user space and handed to poll(2) whole: the
 * poll backend's, and the sigio backend's for the descriptors that cannot
 * signal (timerfd, eventfd, signalfd) and the listeners.
 *
 * The pollfd array stays compact: a descriptor leaving takes the last
 * one's place, and fd -> place is an array indexed by descriptor, so add,
 * modify and remove are O(1) and a wait costs what poll itself costs.  A
 * descriptor with nothing to wait for stays in place, negated, which
 * poll(2) skips (and which hides POLLHUP and POLLERR, reported whatever
 * the interest). */
#ifndef PF_POLLSET_H
#define PF_POLLSET_H

#include <poll.h>
#include <stdint.h>

#include "backend.h"

typedef struct pf__pollset {
    struct pollfd *pfd;
    uintptr_t *data;          /* [n] the loop's word for pfd[i] */
    uint32_t *want;           /* [n] PF__BK_* as registered */
    unsigned n, cap;
    unsigned *place;          /* [nplace] fd -> index + 1, 0: absent */
    unsigned nplace;
    unsigned next;            /* where the next scan starts: ready
                                 descriptors beyond one wait's room are
                                 reported first next time */
} pf__pollset;

void pf__pollset_init(pf__pollset *ps);
void pf__pollset_free(pf__pollset *ps);
/* 0, -EEXIST, -ENOMEM, -EBADF. */
int pf__pollset_add(pf__pollset *ps, int fd, uint32_t events, uintptr_t data);
/* 0, -ENOENT. */
int pf__pollset_mod(pf__pollset *ps, int fd, uint32_t events, uintptr_t data);
void pf__pollset_del(pf__pollset *ps, int fd);
/* After poll(ps->pfd, ps->n, ...): up to max reports from revents.  A
 * PF__BK_ONESHOT descriptor that reports is disabled until modified.
 * Returns the count. */
int pf__pollset_collect(pf__pollset *ps, pf__bev *evs, int max);
/* The PF__BK_* bits of poll revents. */
uint32_t pf__pollset_bits(short revents);
/* The poll events for PF__BK_* interest. */
short pf__pollset_events(uint32_t want);

#endif
