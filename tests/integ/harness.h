/* Integration test harness: start a service from $PF_BUILD/bin, learn its
 * port from the "listening on" line, drive many non-blocking clients with
 * one epoll, check every reply byte against what was expected, and always
 * kill what was started, by PID.
 *
 * Waiting is done with poll/epoll on the thing awaited (the stderr pipe, the
 * sockets, a pidfd), never with sleeps. */
#ifndef PF_TEST_HARNESS_H
#define PF_TEST_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protofsm/server.h"

/* PF_TEST_BACKEND=poll|sigio runs a suite on another loop backend
 * (tests/integ/backends.sh): services get --backend, servers a test makes
 * itself take h_backend(mode).  lf keeps epoll under sigio, which refuses
 * it (test_backends checks that refusal). */
static inline pf_backend h_backend(pf_mode mode)
{
    const char *name = getenv("PF_TEST_BACKEND");
    pf_backend b = PF_BACKEND_EPOLL;

    if (name && *name && pf_backend_parse(name, &b) < 0) {
        fprintf(stderr, "PF_TEST_BACKEND=%s: unknown backend\n", name);
        abort();
    }
    return b == PF_BACKEND_SIGIO && mode == PF_MODE_LF ? PF_BACKEND_EPOLL : b;
}

typedef struct srv_proc {
    pid_t pid;
    int pidfd;
    int errfd;         /* the server's stderr */
    unsigned port;     /* of the first listener */
    unsigned ports[8];
    unsigned nports;
    char lines[4096];  /* what it printed before it was ready */
} srv_proc;

/* Every child started and not yet reaped, so a failed assertion (which
 * leaves the test function early) still kills it in h_teardown.  A child
 * not reaped keeps its PID, so killing it by PID here cannot hit another
 * process. */
static pid_t h_children[64];

static inline void h_child_add(pid_t pid)
{
    for (int i = 0; i < 64; i++)
        if (h_children[i] == 0) {
            h_children[i] = pid;
            return;
        }
}

static inline void h_child_reaped(pid_t pid)
{
    for (int i = 0; i < 64; i++)
        if (h_children[i] == pid)
            h_children[i] = 0;
}

/* cmocka teardown: SIGKILL and reap whatever this test left running. */
static inline int h_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 64; i++)
        if (h_children[i] > 0) {
            kill(h_children[i], SIGKILL);
            waitpid(h_children[i], NULL, 0);
            h_children[i] = 0;
        }
    return 0;
}

static inline uint64_t h_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t h_now_ms(void) { return h_now_us() / 1000u; }

static inline void h_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Start $PF_BUILD/bin/<prog> with args (NULL-terminated); nofile > 0 sets
 * RLIMIT_NOFILE in the child before exec.  Waits (up to 10 s) until it has
 * printed one "listening on" line per expected listener.  0 or -1. */
static inline int h_spawn(srv_proc *sp, const char *prog, unsigned nlisten, long nofile,
                          const char *const *args)
{
    const char *build = getenv("PF_BUILD");
    char path[512];
    const char *argv[32];
    int pipefd[2];
    size_t n = 0, used = 0;

    memset(sp, 0, sizeof(*sp));
    sp->pidfd = sp->errfd = -1;
    snprintf(path, sizeof(path), "%s/bin/%s", build ? build : "build", prog);
    argv[n++] = path;
    pf_mode mode = PF_MODE_HSHA;
    for (size_t i = 0; args && args[i] && n < 29; i++) {
        if (strcmp(args[i], "--mode") == 0 && args[i + 1])
            pf_mode_parse(args[i + 1], &mode);
        argv[n++] = args[i];
    }
    if (h_backend(mode) != PF_BACKEND_EPOLL) {
        argv[n++] = "--backend";
        argv[n++] = pf_backend_name(h_backend(mode));
    }
    argv[n] = NULL;
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    sp->pid = fork();
    if (sp->pid < 0)
        return -1;
    if (sp->pid == 0) {
        dup2(pipefd[1], 2);
        /* TSan sleeps a second at exit by default; exits are timed here. */
        setenv("TSAN_OPTIONS", "atexit_sleep_ms=0", 0);
        if (nofile > 0) {
            struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        execv(path, (char *const *)argv);
        _exit(127);
    }
    h_child_add(sp->pid);
    close(pipefd[1]);
    sp->errfd = pipefd[0];
    sp->pidfd = (int)syscall(SYS_pidfd_open, sp->pid, 0);
    uint64_t end = h_now_ms() + 10000;
    while (sp->nports < nlisten) {
        struct pollfd p = { sp->errfd, POLLIN, 0 };
        uint64_t now = h_now_ms();
        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
            return -1;
        ssize_t r = read(sp->errfd, sp->lines + used, sizeof(sp->lines) - 1 - used);
        if (r <= 0)
            return -1;
        used += (size_t)r;
        sp->lines[used] = 0;
        sp->nports = 0;
        for (char *l = strstr(sp->lines, "listening on "); l; l = strstr(l + 1, "listening on ")) {
            char *nl = strchr(l, '\n'), *colon;
            if (!nl)
                break;
            *nl = 0;
            colon = strrchr(l, ':');
            if (colon && sp->nports < 8)
                sp->ports[sp->nports++] = (unsigned)atoi(colon + 1);
            *nl = '\n';
        }
    }
    sp->port = sp->ports[0];
    return 0;
}

/* Wait up to ms for the process to exit; its status, or -1 on timeout. */
static inline int h_wait(srv_proc *sp, int ms)
{
    int st;
    if (sp->pid <= 0)
        return -1;
    if (sp->pidfd >= 0) {
        struct pollfd p = { sp->pidfd, POLLIN, 0 };
        if (poll(&p, 1, ms) <= 0)
            return -1;
    }
    if (waitpid(sp->pid, &st, 0) != sp->pid)
        return -1;
    h_child_reaped(sp->pid);
    sp->pid = 0;
    return st;
}

/* Kill (SIGKILL) and reap whatever is still running; close our ends. */
static inline void h_kill(srv_proc *sp)
{
    if (sp->pid > 0) {
        kill(sp->pid, SIGKILL);
        waitpid(sp->pid, NULL, 0);
        h_child_reaped(sp->pid);
        sp->pid = 0;
    }
    if (sp->pidfd >= 0)
        close(sp->pidfd);
    if (sp->errfd >= 0)
        close(sp->errfd);
    sp->pidfd = sp->errfd = -1;
}

static inline long h_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static inline int h_connect(unsigned port, int nonblock)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    int one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Until the server's kernel has acknowledged every byte sent on fd (the
 * send queue holds no unacknowledged byte): then the bytes are in its
 * socket.  A returned send() does not mean that: on loopback under load
 * the softirq that delivers them can run later (ksoftirqd), so a SIGTERM
 * sent right after could reach a server whose socket does not yet hold
 * them, and the drain answers only what it had received.  0, or -1 after
 * ms. */
static inline int h_wait_acked(int fd, int ms)
{
    uint64_t end = h_now_ms() + (uint64_t)ms;
    int unacked = 0;

    while (ioctl(fd, SIOCOUTQ, &unacked) == 0 && unacked > 0) {
        if (h_now_ms() >= end)
            return -1;
        usleep(1000);
    }
    return unacked == 0 ? 0 : -1;
}

/* Blocking helpers for one-off exchanges, with a time limit. */
static inline int h_send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = { fd, POLLOUT, 0 };
            if (poll(&p, 1, 5000) <= 0)
                return -1;
            continue;
        }
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read until `want` bytes, EOF or ms passed.  Bytes read; *eof set when
 * the peer closed (or reset). */
static inline ssize_t h_recv_n(int fd, char *buf, size_t want, int ms, int *eof)
{
    size_t got = 0;
    uint64_t end = h_now_ms() + (uint64_t)ms;
    if (eof)
        *eof = 0;
    while (got < want) {
        struct pollfd p = { fd, POLLIN, 0 };
        uint64_t now = h_now_ms();
        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
            break;
        ssize_t r = recv(fd, buf + got, want - got, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0) {
            if (eof)
                *eof = 1;
            break;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Memory per idle connection: open n connections to the server (pid,
 * port), send `req` on each and let `reply` (0: read) take its answer,
 * leaving them open in fds[].  Returns the server's RSS growth per
 * connection, in bytes, over the last n - warm (the first ones warm it
 * up), or -1 if a connection or an answer failed. */
static inline double h_idle_bytes(pid_t pid, unsigned port, int *fds, int n, int warm,
                                  const char *req, size_t reqlen, int (*reply)(int fd))
{
    long before = 0;

    for (int i = 0; i < n; i++) {
        if (i == warm)
            before = h_rss_kb(pid);
        fds[i] = h_connect(port, 0);
        if (fds[i] < 0 || h_send_all(fds[i], req, reqlen) < 0 || reply(fds[i]) < 0) {
            for (int k = 0; k <= i; k++)
                if (fds[k] >= 0)
                    close(fds[k]);
            return -1;
        }
    }
    long after = h_rss_kb(pid);
    return before > 0 && after > 0 ? (double)(after - before) * 1024.0 / (n - warm) : -1;
}

/* How many connections an idle-memory test opens: n, or a few hundred in
 * a sanitizer build, where the figure is not checked (h_idle_within) and
 * each connection costs many times more. */
static inline int h_idle_n(int n)
{
    const char *san = getenv("PF_SAN");
    return san && *san && n > 400 ? 400 : n;
}

/* Whether a figure from h_idle_bytes is under `bound` bytes.  In a
 * sanitizer build it measures the sanitizer's allocator (redzones,
 * quarantine, shadow memory: 2-4x), not ours: there only that the
 * connections were made and answered (per >= 0) is checked. */
static inline int h_idle_within(double per, double bound)
{
    const char *san = getenv("PF_SAN");

    if (per < 0)
        return 0;
    if (san && *san) {
        printf("(sanitizer build %s: the %.0f-byte bound is not checked)\n", san, bound);
        return 1;
    }
    return per < bound;
}

/* One HTTP exchange (`req` whole, the server closes after it); the whole response (head and body) in a malloc'd
 * string, NULL on failure or after ms. */
static inline char *h_http(unsigned port, const char *req, int ms)
{
    int fd = h_connect(port, 0), eof = 0;
    size_t cap = 1 << 20, got = 0;
    char *buf = malloc(cap + 1);

    if (fd < 0 || !buf || h_send_all(fd, req, strlen(req)) < 0) {
        if (fd >= 0)
            close(fd);
        free(buf);
        return NULL;
    }
    uint64_t end = h_now_ms() + (uint64_t)ms;
    while (!eof && got < cap && h_now_ms() < end) {
        ssize_t r = h_recv_n(fd, buf + got, cap - got, (int)(end - h_now_ms()), &eof);
        if (r <= 0 && !eof)
            break;
        got += (size_t)(r > 0 ? r : 0);
    }
    close(fd);
    buf[got] = 0;
    if (!eof) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- peer servers (redis-server, memcached ...) ------------------------ */

/* A free TCP port of 127.0.0.1 (bound, then released for a peer to take). */
static inline unsigned h_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

/* Run argv (found on PATH; NULL-terminated) with its output to /dev/null
 * and wait up to 5 s until `port` accepts.  Its PID, or -1 (the child is
 * known to h_teardown either way). */
static inline pid_t h_start_peer(unsigned port, const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        dup2(dn, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    h_child_add(pid);
    for (int i = 0; i < 500; i++) {
        int fd = h_connect(port, 0);
        if (fd >= 0) {
            close(fd);
            return pid;
        }
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Kill a child by PID and reap it. */
static inline void h_stop_pid(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    h_child_reaped(pid);
}

/* Wait up to ms for EOF (or reset) without expecting more bytes; 1 when the
 * peer closed, 0 on timeout, -1 when bytes came instead. */
static inline int h_wait_eof(int fd, int ms)
{
    char b[256];
    int eof;
    ssize_t n = h_recv_n(fd, b, sizeof(b), ms, &eof);
    if (n > 0)
        return -1;
    return eof;
}

/* One blocking exchange on fd: send `req`, expect exactly `exp` back
 * within ms.  0, or -1 on a send error, a short reply or other bytes. */
static inline int h_roundtrip(int fd, const char *req, const char *exp, int ms)
{
    size_t n = strlen(exp);
    char *buf = malloc(n + 1);
    int eof, rc = -1;

    if (buf && h_send_all(fd, req, strlen(req)) == 0 &&
        h_recv_n(fd, buf, n, ms, &eof) == (ssize_t)n)
        rc = memcmp(buf, exp, n) == 0 ? 0 : -1;
    free(buf);
    return rc;
}

/* ---- many clients ------------------------------------------------------- */

typedef struct h_client {
    int fd;
    char *req;
    size_t reqlen, sent;
    char *exp;
    size_t explen, got;
    size_t want;       /* done once this much arrived (0: explen) */
    int want_lines;    /* > 0: no exp; collect into rx until this many LFs */
    char *rx;
    size_t rxcap;
    int done, failed, eof;
} h_client;

/* Drive every client until each got all of `exp` (in order, byte for
 * byte), or one got a wrong byte or an early EOF, or ms passed.  Returns
 * how many are complete; failures are marked. */
static inline int h_run_clients(h_client *cs, int n, int ms)
{
    int ep = epoll_create1(EPOLL_CLOEXEC), complete = 0, open_ = 0;
    struct epoll_event evs[256];
    static char buf[65536];
    uint64_t end = h_now_ms() + (uint64_t)ms;

    for (int i = 0; i < n; i++) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = (uint32_t)i };
        if (cs[i].fd < 0 || cs[i].done || cs[i].failed) {
            complete += cs[i].done;
            continue;
        }
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        open_++;
    }
    while (open_ > 0) {
        uint64_t now = h_now_ms();
        if (now >= end)
            break;
        int k = epoll_wait(ep, evs, 256, (int)(end - now));
        for (int e = 0; e < k; e++) {
            h_client *c = &cs[evs[e].data.u32];
            if (c->done || c->failed)
                continue;
            if ((evs[e].events & EPOLLOUT) && c->sent < c->reqlen) {
                ssize_t w = send(c->fd, c->req + c->sent, c->reqlen - c->sent, MSG_NOSIGNAL);
                if (w > 0)
                    c->sent += (size_t)w;
                if (c->sent == c->reqlen) {
                    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = evs[e].data.u32 };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (evs[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
                    if (r > 0 && c->want_lines) {
                        if (c->got + (size_t)r > c->rxcap) {
                            c->failed = 1;
                            break;
                        }
                        memcpy(c->rx + c->got, buf, (size_t)r);
                        c->got += (size_t)r;
                        int lf = 0;
                        for (size_t q = 0; q < c->got; q++)
                            lf += c->rx[q] == '\n';
                        if (lf >= c->want_lines)
                            c->done = 1;
                        continue;
                    }
                    if (r > 0) {
                        if (c->got + (size_t)r > c->explen ||
                            memcmp(buf, c->exp + c->got, (size_t)r) != 0) {
                            c->failed = 1;
                            break;
                        }
                        c->got += (size_t)r;
                        continue;
                    }
                    if (r < 0 && errno == EINTR)
                        continue;
                    if (r < 0 && errno == EAGAIN)
                        break;
                    c->eof = 1;
                    if (c->got < (c->want ? c->want : c->explen))
                        c->failed = 1;
                    break;
                }
                if (!c->failed && !c->want_lines && c->got >= (c->want ? c->want : c->explen))
                    c->done = 1;
            }
            if (c->done || c->failed) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                open_--;
                complete += c->done;
            }
        }
    }
    close(ep);
    return complete;
}

static inline void h_client_free(h_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->req);
    free(c->exp);
    free(c->rx);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* A line-protocol client: HELLO, then `nreq` ECHOs (a SLEEP 1 after every
 * `sleep_every`-th when non-zero), then QUIT when asked. */
static inline void h_line_client(h_client *c, unsigned port, int id, int nreq, int sleep_every,
                                 int quit)
{
    size_t rcap = 64 + (size_t)nreq * 48, ecap = rcap + 64;
    size_t rl = 0, el = 0;
    memset(c, 0, sizeof(*c));
    c->req = malloc(rcap);
    c->exp = malloc(ecap);
    rl += (size_t)sprintf(c->req + rl, "HELLO c%d\r\n", id);
    el += (size_t)sprintf(c->exp + el, "+OK hello c%d\r\n", id);
    for (int j = 0; j < nreq; j++) {
        rl += (size_t)sprintf(c->req + rl, "ECHO %d-%d\n", id, j);
        el += (size_t)sprintf(c->exp + el, "%d-%d\r\n", id, j);
        if (sleep_every && (j + 1) % sleep_every == 0) {
            rl += (size_t)sprintf(c->req + rl, "SLEEP 1\r\n");
            el += (size_t)sprintf(c->exp + el, "+OK\r\n");
        }
    }
    if (quit) {
        rl += (size_t)sprintf(c->req + rl, "QUIT\r\n");
        el += (size_t)sprintf(c->exp + el, "+OK bye\r\n");
    }
    c->reqlen = rl;
    c->explen = el;
    c->fd = h_connect(port, 1);
}

#endif
