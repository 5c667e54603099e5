/* poll backend (backend.h): the seed's poll(2), level-triggered, every
 * registered descriptor handed to the kernel at every wait. */
#include <errno.h>
#include <stdlib.h>

#include "pollset.h"

static int pl_init(void **state, atomic_uint_fast64_t *overflows)
{
    (void)overflows; /* poll asks afresh at every wait */
    pf__pollset *ps = malloc(sizeof(*ps));

    if (!ps)
        return -ENOMEM;
    pf__pollset_init(ps);
    *state = ps;
    return 0;
}

static void pl_fini(void *state)
{
    if (!state)
        return;
    pf__pollset_free(state);
    free(state);
}

static int pl_add(void *state, int fd, uint32_t events, uintptr_t data)
{
    return pf__pollset_add(state, fd, events, data);
}

static int pl_mod(void *state, int fd, uint32_t events, uintptr_t data)
{
    return pf__pollset_mod(state, fd, events, data);
}

static void pl_del(void *state, int fd) { pf__pollset_del(state, fd); }

static int pl_wait(void *state, pf__bev *evs, int max, int ms)
{
    pf__pollset *ps = state;
    int n = poll(ps->pfd, ps->n, ms);

    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    return n ? pf__pollset_collect(ps, evs, max) : 0;
}

const pf__backend pf__backend_poll = {
    .name = "poll", .level = 1, .init = pl_init, .fini = pl_fini,
    .add = pl_add, .mod = pl_mod, .del = pl_del, .wait = pl_wait,
};
