/* A user-space interest set for poll(2) (pollset.h).  POLLRDHUP is a GNU
 * name: the build defines _GNU_SOURCE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pollset.h"

void pf__pollset_init(pf__pollset *ps) { memset(ps, 0, sizeof(*ps)); }

void pf__pollset_free(pf__pollset *ps)
{
    free(ps->pfd);
    free(ps->data);
    free(ps->want);
    free(ps->place);
    memset(ps, 0, sizeof(*ps));
}

short pf__pollset_events(uint32_t want)
{
    return (short)(((want & PF__BK_IN) ? POLLIN : 0) | ((want & PF__BK_OUT) ? POLLOUT : 0) |
                   ((want & PF__BK_RDHUP) ? POLLRDHUP : 0));
}

uint32_t pf__pollset_bits(short r)
{
    return ((r & POLLIN) ? PF__BK_IN : 0) | ((r & POLLOUT) ? PF__BK_OUT : 0) |
           ((r & POLLRDHUP) ? PF__BK_RDHUP : 0) | ((r & POLLHUP) ? PF__BK_HUP : 0) |
           ((r & (POLLERR | POLLNVAL)) ? PF__BK_ERR : 0);
}

/* Negated descriptors are skipped by poll: ~fd keeps fd 0 negative too. */
static int live_fd(const struct pollfd *p) { return p->fd < 0 ? ~p->fd : p->fd; }

static void set_interest(struct pollfd *p, int fd, uint32_t want)
{
    p->events = pf__pollset_events(want);
    p->fd = p->events ? fd : ~fd;
    p->revents = 0;
}

static int grow(pf__pollset *ps, int fd)
{
    if (ps->n == ps->cap) {
        unsigned cap = ps->cap ? ps->cap * 2 : 64;
        struct pollfd *p = realloc(ps->pfd, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        ps->pfd = p;
        uintptr_t *d = realloc(ps->data, cap * sizeof(*d));
        if (!d)
            return -ENOMEM;
        ps->data = d;
        uint32_t *w = realloc(ps->want, cap * sizeof(*w));
        if (!w)
            return -ENOMEM;
        ps->want = w;
        ps->cap = cap;
    }
    if ((unsigned)fd >= ps->nplace) {
        unsigned n = ps->nplace ? ps->nplace : 64;
        while (n <= (unsigned)fd)
            n *= 2;
        unsigned *pl = realloc(ps->place, n * sizeof(*pl));
        if (!pl)
            return -ENOMEM;
        memset(pl + ps->nplace, 0, (n - ps->nplace) * sizeof(*pl));
        ps->place = pl;
        ps->nplace = n;
    }
    return 0;
}

int pf__pollset_add(pf__pollset *ps, int fd, uint32_t events, uintptr_t data)
{
    int rc;

    if (fd < 0)
        return -EBADF;
    if ((rc = grow(ps, fd)) < 0)
        return rc;
    if (ps->place[fd])
        return -EEXIST;
    unsigned i = ps->n++;
    set_interest(&ps->pfd[i], fd, events);
    ps->data[i] = data;
    ps->want[i] = events;
    ps->place[fd] = i + 1;
    return 0;
}

int pf__pollset_mod(pf__pollset *ps, int fd, uint32_t events, uintptr_t data)
{
    if (fd < 0 || (unsigned)fd >= ps->nplace || !ps->place[fd])
        return -ENOENT;
    unsigned i = ps->place[fd] - 1;
    set_interest(&ps->pfd[i], fd, events);
    ps->data[i] = data;
    ps->want[i] = events;
    return 0;
}

void pf__pollset_del(pf__pollset *ps, int fd)
{
    if (fd < 0 || (unsigned)fd >= ps->nplace || !ps->place[fd])
        return;
    unsigned i = ps->place[fd] - 1, last = --ps->n;
    ps->place[fd] = 0;
    if (i != last) {
        ps->pfd[i] = ps->pfd[last];
        ps->data[i] = ps->data[last];
        ps->want[i] = ps->want[last];
        ps->place[live_fd(&ps->pfd[i])] = i + 1;
    }
    if (ps->next >= ps->n)
        ps->next = 0;
}

int pf__pollset_collect(pf__pollset *ps, pf__bev *evs, int max)
{
    unsigned n = ps->n, start = ps->next < n ? ps->next : 0;
    int k = 0;

    for (unsigned j = 0; j < n; j++) {
        unsigned i = start + j < n ? start + j : start + j - n;
        struct pollfd *p = &ps->pfd[i];
        if (!p->revents || p->fd < 0)
            continue;
        if (k == max) {
            ps->next = i; /* still ready at the next wait: first then */
            return k;
        }
        evs[k].events = pf__pollset_bits(p->revents);
        evs[k].data = ps->data[i];
        k++;
        p->revents = 0;
        if (ps->want[i] & PF__BK_ONESHOT) {
            ps->want[i] = PF__BK_ONESHOT;
            p->fd = ~p->fd;
        }
    }
    ps->next = 0;
    return k;
}
