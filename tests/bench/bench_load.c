/* Closed-loop load generator for the line protocol: N connections, each
 * with one request outstanding at a time; reports requests per second and
 * latency percentiles.  One epoll thread (loopback, so it shares the CPUs
 * with the server: figures are for comparing modes, not absolute).
 *
 *   bench_load PORT CONNS SECONDS "REQUEST LINE"
 * prints: conns=N reqs=R rps=X p50_us=A p99_us=B errors=E */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
    int fd;
    int greeted;
    uint64_t sent_at;
} conn;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT CONNS SECONDS 'REQUEST'\n", argv[0]);
        return 2;
    }
    unsigned port = (unsigned)atoi(argv[1]);
    int n = atoi(argv[2]);
    double secs = atof(argv[3]);
    char req[256];
    int reqlen = snprintf(req, sizeof(req), "%s\r\n", argv[4]);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    conn *cs = calloc((size_t)n, sizeof(*cs));
    size_t cap = 1 << 22, nlat = 0;
    uint32_t *lat = malloc(cap * sizeof(*lat));
    int ep = epoll_create1(0);
    long errors = 0;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        int one = 1;
        cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
            perror("connect");
            return 1;
        }
        setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)!write(cs[i].fd, "HELLO bench\r\n", 13);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    uint64_t start = now_us(), warm = start + 300000, end = warm + (uint64_t)(secs * 1e6);
    uint64_t counted_from = 0;
    long reqs = 0;
    struct epoll_event evs[512];
    char buf[4096];
    for (;;) {
        uint64_t t = now_us();
        if (t >= end)
            break;
        if (!counted_from && t >= warm) {
            counted_from = t;
            reqs = 0;
            nlat = 0;
        }
        int k = epoll_wait(ep, evs, 512, 100);
        for (int e = 0; e < k; e++) {
            conn *c = &cs[evs[e].data.u32];
            ssize_t r = read(c->fd, buf, sizeof(buf));
            if (r <= 0) {
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            /* Replies are one line each and only one is outstanding. */
            if (buf[r - 1] != '\n')
                continue;
            uint64_t now = now_us();
            if (c->greeted) {
                uint64_t l = now - c->sent_at;
                if (nlat < cap)
                    lat[nlat++] = (uint32_t)(l > UINT32_MAX ? UINT32_MAX : l);
                reqs++;
                if (buf[0] == '-')
                    errors++;
            }
            c->greeted = 1;
            c->sent_at = now;
            if (write(c->fd, req, (size_t)reqlen) != reqlen)
                errors++;
        }
    }
    double took = (double)(now_us() - counted_from) / 1e6;
    qsort(lat, nlat, sizeof(*lat), cmp_u32);
    uint32_t p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[nlat * 99 / 100] : 0;
    printf("conns=%d reqs=%ld rps=%.0f p50_us=%u p99_us=%u errors=%ld\n", n, reqs,
           (double)reqs / took, p50, p99, errors);
    for (int i = 0; i < n; i++)
        close(cs[i].fd);
    free(cs);
    free(lat);
    return 0;
}
