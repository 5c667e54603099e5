/* The loop's readiness backends: how the owner learns that a descriptor
 * can be read or written.  loop.c is written against this seam only;
 * pf_server_conf.backend picks one at run time.
 *
 *   epoll  edge-triggered connections, one-shot in reactor and lf: the
 *          kernel keeps the interest set, a wait costs O(ready).
 *   poll   the interest set is ours (pollset.c) and handed to the kernel
 *          at every wait: O(registered) per wait, the seed's poll().
 *   sigio  O_ASYNC: the kernel queues a real-time signal per readiness
 *          change of a connection, read through a signalfd; the loop's
 *          own descriptors (timer, wake-up, signals, listeners) are polled
 *          beside it.
 *
 * Events use epoll's bit values (so the epoll backend translates nothing),
 * but no backend other than epoll depends on epoll. */
#ifndef PF_BACKEND_H
#define PF_BACKEND_H

#include <stdatomic.h>
#include <stdint.h>

#define PF__BK_IN 0x001u
#define PF__BK_OUT 0x004u
#define PF__BK_ERR 0x008u
#define PF__BK_HUP 0x010u
#define PF__BK_RDHUP 0x2000u
#define PF__BK_ONESHOT (1u << 30)
#define PF__BK_ET (1u << 31)

/* What a wait reports: the events and the word registered with the
 * descriptor (the loop's tagged pointer). */
typedef struct pf__bev {
    uint32_t events;
    uintptr_t data;
} pf__bev;

typedef struct pf__backend {
    const char *name;
    /* Level-triggered, from the loop's point of view.  epoll (0) keeps
     * edge-triggered interest armed and reports each change once.  The
     * others (1) take one-shot interest for connections: a report
     * disables the descriptor until the loop arms it again, and the loop
     * asks only for what its flags do not already know (a connection
     * known readable is not watched for input), so a descriptor the loop
     * is not ready to serve never reports in a loop.  Descriptors
     * registered without PF__BK_ONESHOT report for as long as they are
     * ready: the wake-up eventfd must then be read to quiet it. */
    int level;
    /* 0 or -errno.  *state is the backend's own (fini frees it even after
     * a failure); *overflows counts the times readiness may have been
     * lost and was asked for again (sigio's sweeps). */
    int (*init)(void **state, atomic_uint_fast64_t *overflows);
    void (*fini)(void *state);
    int (*add)(void *state, int fd, uint32_t events, uintptr_t data);
    int (*mod)(void *state, int fd, uint32_t events, uintptr_t data);
    /* Before the descriptor is closed. */
    void (*del)(void *state, int fd);
    /* Up to max events, waiting up to ms (-1: forever).  Count, 0 on
     * timeout or EINTR, -errno on failure. */
    int (*wait)(void *state, pf__bev *evs, int max, int ms);
    /* A report the loop could not take (a job elsewhere owns the
     * connection's flags): keep it for the next arm.  NULL where arming
     * asks the kernel afresh (epoll, poll); sigio's report was the edge
     * itself, and would be lost. */
    void (*unreport)(void *state, int fd, uint32_t events);
} pf__backend;

extern const pf__backend pf__backend_epoll;
extern const pf__backend pf__backend_poll;
extern const pf__backend pf__backend_sigio;

#endif
