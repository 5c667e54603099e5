/* The admin listener (protofsm/admin.h): one thread, one poll loop, a few
 * short HTTP/1.x exchanges.
 *
 * Why a thread of its own with poll, and not a listener of the server: the
 * admin must answer while the service is saturated (every worker blocked,
 * the queue full, the I/O thread busy), and anything that shares the
 * server's loop or queue waits behind that work.  Its traffic is a scrape
 * every few seconds and a page polling once a second, so a plain poll over
 * a handful of descriptors is all it needs.
 *
 * Every exchange is one request and one response, then close: no
 * keep-alive, no pipelining, no request body.  /connections and /api/state
 * need the loop's owner (admin_snap.c): their clients wait, up to
 * SNAP_WAIT_MS, while this thread goes on answering the others, so a
 * blocked loop never slows /metrics.  Each connection has one
 * deadline for its whole life (conf.timeout_ms), so a client that sends
 * nothing, trickles, or never reads holds its slot that long at most. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin_impl.h"
#include "server_impl.h"

#define MAX_CLIENTS 64
#define SNAP_WAIT_MS 250
#define MAX_PAGE ((size_t)64 << 20)

typedef struct client {
    int fd;
    uint64_t deadline;
    char *in;
    size_t inlen;
    pf__sb out;
    size_t sent;
    int writing;
    char waiting;          /* 'a' /api/state, 'c' /connections: for the owner */
    int head;
} client;

struct pf_admin {
    pf_server *srv;
    pf_admin_conf conf;
    int lfd, stopfd, snapfd;
    pf__admin_req *req;          /* the owner's snapshot, asked for */
    uint64_t req_deadline;
    pthread_t tid;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    client cl[MAX_CLIENTS];
};

static const pf_admin_diagram *diagrams;
static size_t ndiagrams;

void pf_admin_diagrams(const pf_admin_diagram *d, size_t n)
{
    diagrams = d;
    ndiagrams = d ? n : 0;
}

const char *pf__admin_diagram(const char *name)
{
    for (size_t i = 0; i < ndiagrams; i++)
        if (strcmp(diagrams[i].machine, name) == 0)
            return diagrams[i].svg;
    return NULL;
}

static void client_close(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->in);
    c->in = NULL;
    c->inlen = 0;
    pf__sb_free(&c->out);
    c->sent = 0;
    c->writing = 0;
    c->waiting = 0;
}

static void respond(client *c, int head_only, const char *status, const char *type,
                    const pf__sb *body)
{
    pf__sb_init(&c->out, MAX_PAGE + 1024);
    pf__sb_printf(&c->out,
                  "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                  status, type, body ? body->len : 0);
    if (body && body->len && !head_only)
        pf__sb_put(&c->out, body->p, body->len);
    c->writing = 1;
    c->sent = 0;
}

static void respond_text(client *c, int head_only, const char *status, const char *text)
{
    pf__sb b;
    pf__sb_init(&b, 4096);
    pf__sb_str(&b, text);
    respond(c, head_only, status, "text/plain; charset=utf-8", &b);
    pf__sb_free(&b);
}

static void route(pf_admin *a, client *c, const char *method, const char *path)
{
    int head = strcmp(method, "HEAD") == 0;
    pf__sb b;

    if (!head && strcmp(method, "GET") != 0) {
        respond_text(c, 0, "405 Method Not Allowed", "only GET and HEAD\n");
        return;
    }
    pf__sb_init(&b, MAX_PAGE);
    if (strcmp(path, "/metrics") == 0) {
        pf__admin_render_metrics(a->srv, &b);
        if (!b.err)
            respond(c, head, "200 OK", "text/plain; version=0.0.4; charset=utf-8", &b);
    } else if (strcmp(path, "/") == 0) {
        pf__admin_render_page(a->srv, &b);
        if (!b.err)
            respond(c, head, "200 OK", "text/html; charset=utf-8", &b);
    } else if (strcmp(path, "/api/state") == 0 || strcmp(path, "/connections") == 0) {
        /* One request to the owner serves every client waiting for it. */
        if (!a->req) {
            a->req = pf__admin_ask(a->srv, a->snapfd);
            a->req_deadline = pf__now_ms() + SNAP_WAIT_MS;
        }
        if (a->req) {
            c->waiting = path[1];
            c->head = head;
        } else {
            b.err = -ENOMEM;
        }
    } else {
        respond_text(c, head, "404 Not Found", "try /, /metrics, /connections, /api/state\n");
    }
    if (b.err && !c->writing && !c->waiting)
        respond_text(c, head, "500 Internal Server Error", "page too large or out of memory\n");
    pf__sb_free(&b);
}

/* A whole request head is in c->in: answer it. */
static void request(pf_admin *a, client *c, size_t headlen)
{
    char method[8], path[256];
    const char *p = c->in, *end = c->in + headlen, *sp1, *sp2;

    sp1 = memchr(p, ' ', (size_t)(end - p));
    sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - p) >= sizeof(method) || sp2 - sp1 - 1 < 1 ||
        strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        respond_text(c, 0, "400 Bad Request", "bad request line\n");
        return;
    }
    memcpy(method, p, (size_t)(sp1 - p));
    method[sp1 - p] = 0;
    size_t plen = (size_t)(sp2 - sp1 - 1);
    const char *q = memchr(sp1 + 1, '?', plen);
    if (q)
        plen = (size_t)(q - sp1 - 1);
    if (plen >= sizeof(path)) {
        respond_text(c, 0, "414 URI Too Long", "path too long\n");
        return;
    }
    memcpy(path, sp1 + 1, plen);
    path[plen] = 0;
    route(a, c, method, path);
}

static void on_readable(pf_admin *a, client *c)
{
    size_t max = a->conf.max_request;

    if (!c->in && !(c->in = malloc(max + 1))) {
        client_close(c);
        return;
    }
    for (;;) {
        ssize_t r = recv(c->fd, c->in + c->inlen, max - c->inlen, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            client_close(c);
            return;
        }
        c->inlen += (size_t)r;
        c->in[c->inlen] = 0;
        char *e = strstr(c->in, "\r\n\r\n");
        char *e2 = strstr(c->in, "\n\n");
        if (e || e2) {
            request(a, c, (size_t)((e ? e : e2) - c->in));
            return;
        }
        if (c->inlen == max) {
            respond_text(c, 0, "431 Request Header Fields Too Large", "request too large\n");
            return;
        }
    }
}

/* The owner answered, or did not in time: every waiting client gets its
 * page (/api/state without the occupancy, /connections 503 without it). */
static void answer_waiting(pf_admin *a)
{
    pf__admin_snap *snap = NULL;
    int rc = pf__admin_finish(a->req, &snap);

    a->req = NULL;
    for (unsigned i = 0; i < a->conf.max_clients; i++) {
        client *c = &a->cl[i];
        if (c->fd < 0 || !c->waiting)
            continue;
        pf__sb b;
        pf__sb_init(&b, MAX_PAGE);
        if (c->waiting == 'a') {
            pf__admin_render_state(a->srv, rc == 0 ? snap : NULL, &b);
            if (!b.err)
                respond(c, c->head, "200 OK", "application/json", &b);
        } else if (rc == 0) {
            pf__admin_render_connections(a->srv, snap, &b);
            if (!b.err)
                respond(c, c->head, "200 OK", "text/plain; charset=utf-8", &b);
        } else {
            respond_text(c, c->head, "503 Service Unavailable",
                         "the I/O thread did not answer in 250 ms (a handler holds the loop)\n");
        }
        if (b.err && !c->writing)
            respond_text(c, c->head, "500 Internal Server Error",
                         "page too large or out of memory\n");
        pf__sb_free(&b);
        c->waiting = 0;
    }
    pf__admin_snap_free(snap);
}

static void on_writable(client *c)
{
    while (c->sent < c->out.len) {
        ssize_t w = send(c->fd, c->out.p + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0) {
            client_close(c);
            return;
        }
        c->sent += (size_t)w;
    }
    /* Our FIN first, so a client that reads to EOF sees the whole answer. */
    shutdown(c->fd, SHUT_WR);
    client_close(c);
}

static void take(pf_admin *a)
{
    for (unsigned i = 0; i < a->conf.max_clients; i++) {
        if (a->cl[i].fd >= 0)
            continue;
        int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        a->cl[i].fd = fd;
        a->cl[i].deadline = pf__now_ms() + a->conf.timeout_ms;
    }
}

static void *admin_main(void *arg)
{
    pf_admin *a = arg;
    struct pollfd pf[MAX_CLIENTS + 3];
    int idx[MAX_CLIENTS + 3];

    for (;;) {
        uint64_t now = pf__now_ms(), next = UINT64_MAX;
        unsigned n = 0, used = 0;

        pf[n++] = (struct pollfd){ a->stopfd, POLLIN, 0 };
        pf[n++] = (struct pollfd){ a->snapfd, POLLIN, 0 };
        if (a->req)
            next = a->req_deadline;
        for (unsigned i = 0; i < a->conf.max_clients; i++) {
            client *c = &a->cl[i];
            if (c->fd < 0)
                continue;
            if (now >= c->deadline) {
                client_close(c);
                continue;
            }
            used++;
            if (c->deadline < next)
                next = c->deadline;
            if (c->waiting)
                continue; /* for the owner, not for its socket */
            idx[n] = (int)i;
            pf[n++] = (struct pollfd){ c->fd, (short)(c->writing ? POLLOUT : POLLIN), 0 };
        }
        /* All slots taken: the rest wait in the backlog, not in memory. */
        if (used < a->conf.max_clients) {
            idx[n] = -1;
            pf[n++] = (struct pollfd){ a->lfd, POLLIN, 0 };
        }
        int ms = next == UINT64_MAX ? -1 : next > now ? (int)(next - now) : 0;
        if (poll(pf, n, ms) < 0 && errno != EINTR)
            break;
        if (pf[0].revents)
            break;
        if (pf[1].revents) {
            uint64_t v;
            (void)!read(a->snapfd, &v, sizeof(v));
        }
        if (a->req && (pf__now_ms() >= a->req_deadline ||
                       (pf[1].revents && pf__admin_done(a->req))))
            answer_waiting(a);
        for (unsigned k = 2; k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (idx[k] < 0) {
                take(a);
                continue;
            }
            client *c = &a->cl[idx[k]];
            if (c->writing)
                on_writable(c);
            else
                on_readable(a, c);
            /* Answered at once: try to send it in the same turn. */
            if (c->fd >= 0 && c->writing && (pf[k].events & POLLIN))
                on_writable(c);
        }
    }
    if (a->req) {
        pf__admin_snap *snap = NULL;
        if (pf__admin_finish(a->req, &snap) == 0)
            pf__admin_snap_free(snap);
        a->req = NULL;
    }
    return NULL;
}

int pf_admin_start(pf_admin **out, pf_server *srv, const char *host, unsigned port,
                   const pf_admin_conf *conf)
{
    pf_admin *a = calloc(1, sizeof(*a));
    sigset_t set, old;
    int rc;

    if (!a)
        return -ENOMEM;
    a->srv = srv;
    if (conf)
        a->conf = *conf;
    if (!a->conf.max_clients)
        a->conf.max_clients = 8;
    if (a->conf.max_clients > MAX_CLIENTS)
        a->conf.max_clients = MAX_CLIENTS;
    if (!a->conf.max_request)
        a->conf.max_request = 4096;
    if (!a->conf.timeout_ms)
        a->conf.timeout_ms = 5000;
    for (unsigned i = 0; i < MAX_CLIENTS; i++)
        a->cl[i].fd = -1;
    a->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    a->snapfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->stopfd < 0 || a->snapfd < 0) {
        rc = -errno;
        if (a->stopfd >= 0)
            close(a->stopfd);
        if (a->snapfd >= 0)
            close(a->snapfd);
        free(a);
        return rc;
    }
    a->lfd = pf__net_listen(host, port, 0, 64, &a->addr, &a->addrlen);
    if (a->lfd < 0) {
        rc = a->lfd;
        close(a->stopfd);
        close(a->snapfd);
        free(a);
        return rc;
    }
    /* The server takes its signals through a signalfd: this thread must
     * not be the one the kernel picks to run their default action. */
    pf_server_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    rc = -pthread_create(&a->tid, NULL, admin_main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        close(a->lfd);
        close(a->stopfd);
        close(a->snapfd);
        free(a);
        return rc;
    }
    /* Handler latency for /metrics and the page: two clock reads per
     * handler run while an admin listener runs, none otherwise. */
    pf_server_time_handlers(1);
    *out = a;
    return 0;
}

int pf_admin_address(const pf_admin *a, char *buf, size_t len)
{
    return pf__net_format(&a->addr, buf, len);
}

void pf_admin_stop(pf_admin *a)
{
    uint64_t one = 1;

    if (!a)
        return;
    (void)!write(a->stopfd, &one, sizeof(one));
    pthread_join(a->tid, NULL);
    for (unsigned i = 0; i < MAX_CLIENTS; i++)
        client_close(&a->cl[i]);
    close(a->lfd);
    close(a->stopfd);
    close(a->snapfd);
    free(a);
    pf_server_time_handlers(0);
}
