/* epoll backend of loop.c: never compiled alone.
 *
 * The loop registers each descriptor with a pointer whose low three bits
 * say what it is (connection, listener, timerfd, signalfd, wake eventfd):
 * every object registered is at least 8-byte aligned. */
#include <sys/epoll.h>

#define TAG_CONN 0u
#define TAG_LISTENER 1u
#define TAG_TIMER 2u
#define TAG_SIGNAL 3u
#define TAG_WAKE 4u
#define TAG_MASK 7u

#define EV_IN EPOLLIN
#define EV_OUT EPOLLOUT
#define EV_RDHUP EPOLLRDHUP
#define EV_HUP EPOLLHUP
#define EV_ERR EPOLLERR
#define EV_ET EPOLLET
#define EV_ONESHOT EPOLLONESHOT

typedef struct epoll_event backend_event;

static int backend_init(pf_server *srv)
{
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    return srv->epfd < 0 ? -errno : 0;
}

static int backend_ctl(pf_server *srv, int op, int fd, uint32_t events, void *ptr, unsigned tag)
{
    struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(uintptr_t)ptr | tag };

    return epoll_ctl(srv->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int backend_add(pf_server *srv, int fd, uint32_t events, void *ptr, unsigned tag)
{
    return backend_ctl(srv, EPOLL_CTL_ADD, fd, events, ptr, tag);
}

static int backend_mod(pf_server *srv, int fd, uint32_t events, void *ptr, unsigned tag)
{
    return backend_ctl(srv, EPOLL_CTL_MOD, fd, events, ptr, tag);
}

static void backend_del(pf_server *srv, int fd)
{
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Events returned, 0 on timeout or EINTR, -errno on failure. */
static int backend_wait(pf_server *srv, backend_event *evs, int max, int ms)
{
    int n = epoll_wait(srv->epfd, evs, max, ms);

    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    return n;
}

static void *event_ptr(const backend_event *e) { return (void *)(uintptr_t)(e->data.u64 & ~(uint64_t)TAG_MASK); }
static unsigned event_tag(const backend_event *e) { return (unsigned)(e->data.u64 & TAG_MASK); }
static uint32_t event_mask(const backend_event *e) { return e->events; }
