/* epoll backend (backend.h): the kernel keeps the interest set. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backend.h"

/* The loop's bits are epoll's own: nothing to translate either way. */
_Static_assert(PF__BK_IN == EPOLLIN && PF__BK_OUT == EPOLLOUT && PF__BK_ERR == EPOLLERR &&
                   PF__BK_HUP == EPOLLHUP && PF__BK_RDHUP == EPOLLRDHUP &&
                   PF__BK_ONESHOT == EPOLLONESHOT && PF__BK_ET == (uint32_t)EPOLLET,
               "backend.h event bits are epoll's");

#define EP_BATCH 256

typedef struct ep_state {
    int fd;
    struct epoll_event evs[EP_BATCH];
} ep_state;

static int ep_init(void **state, atomic_uint_fast64_t *overflows)
{
    (void)overflows; /* the kernel's interest set loses nothing */
    ep_state *st = malloc(sizeof(*st));

    if (!st)
        return -ENOMEM;
    st->fd = epoll_create1(EPOLL_CLOEXEC);
    if (st->fd < 0) {
        int rc = -errno;
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void ep_fini(void *state)
{
    ep_state *st = state;

    if (!st)
        return;
    close(st->fd);
    free(st);
}

static int ep_ctl(ep_state *st, int op, int fd, uint32_t events, uintptr_t data)
{
    struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)data };

    return epoll_ctl(st->fd, op, fd, &ev) < 0 ? -errno : 0;
}

static int ep_add(void *state, int fd, uint32_t events, uintptr_t data)
{
    return ep_ctl(state, EPOLL_CTL_ADD, fd, events, data);
}

static int ep_mod(void *state, int fd, uint32_t events, uintptr_t data)
{
    return ep_ctl(state, EPOLL_CTL_MOD, fd, events, data);
}

static void ep_del(void *state, int fd)
{
    epoll_ctl(((ep_state *)state)->fd, EPOLL_CTL_DEL, fd, NULL);
}

static int ep_wait(void *state, pf__bev *evs, int max, int ms)
{
    ep_state *st = state;
    int n = epoll_wait(st->fd, st->evs, max < EP_BATCH ? max : EP_BATCH, ms);

    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        evs[i].events = st->evs[i].events;
        evs[i].data = (uintptr_t)st->evs[i].data.u64;
    }
    return n;
}

const pf__backend pf__backend_epoll = {
    .name = "epoll", .level = 0, .init = ep_init, .fini = ep_fini,
    .add = ep_add, .mod = ep_mod, .del = ep_del, .wait = ep_wait,
};
