/* MQTT load client: publish-to-deliver throughput and latency through a
 * broker, for any broker (mqttd or mosquitto, same run, same client).
 *
 *   bench_mqtt PORT PUBLISHERS SUBSCRIBERS QOS SECONDS [WINDOW [PAYLOAD]]
 * prints: pubs=P subs=S qos=Q deliveries=N rate=X p50_us=A p99_us=B outstanding=O
 *   bench_mqtt            (no arguments, as `make bench` runs it) runs
 *                         tests/bench/bench_mqtt.sh: mqttd against mosquitto
 *
 * Every subscriber subscribes to the one topic every publisher publishes
 * to.  Closed loop: a publisher keeps at most WINDOW messages (default 16)
 * not yet delivered to every subscriber, so the figure is what the broker
 * delivers, not what it can buffer.  The payload carries the send time;
 * latency is publish-to-deliver, measured at the subscriber.  QoS 1:
 * subscribers answer PUBACK, publishers read the broker's PUBACKs.
 * One epoll thread; loopback, so it shares the CPUs with the broker. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define TOPIC "bench/t"

typedef struct conn {
    int fd, sub, idx;
    char *in;
    size_t inlen, incap;
    char *out;
    size_t outlen, outcap;
    int connacked, subacked;
    uint64_t sent;        /* publisher: messages sent */
    uint64_t delivered;   /* publisher: deliveries of its messages seen */
    uint16_t next_id;
    uint32_t armed;
} conn;

static int ep, qos, nsubs, window;
static size_t payload = 64;
static uint32_t *lat;
static size_t nlat, latcap = 1u << 24;
static uint64_t deliveries, bad;
static conn *cs;

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

static void out_add(conn *c, const void *p, size_t n)
{
    if (c->outlen + n > c->outcap) {
        c->outcap = (c->outlen + n) * 2;
        c->out = realloc(c->out, c->outcap);
        if (!c->out)
            abort();
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
}

static void flush(conn *c)
{
    size_t off = 0;
    while (off < c->outlen) {
        ssize_t w = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    memmove(c->out, c->out + off, c->outlen - off);
    c->outlen -= off;
    uint32_t want = EPOLLIN | (c->outlen ? EPOLLOUT : 0);
    if (want != c->armed) {
        struct epoll_event ev = { .events = want, .data.u32 = (uint32_t)c->idx };
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->armed = want;
    }
}

static size_t put_len(unsigned char *b, size_t n)
{
    size_t i = 0;
    do {
        unsigned char d = n & 0x7f;
        n >>= 7;
        b[i++] = (unsigned char)(d | (n ? 0x80 : 0));
    } while (n);
    return i;
}

static void send_connect(conn *c, const char *id)
{
    unsigned char b[128];
    size_t idl = strlen(id), n = 2;
    memcpy(b + n, "\0\4MQTT\4\2\0\0", 10);
    n += 10;
    b[n++] = (unsigned char)(idl >> 8);
    b[n++] = (unsigned char)idl;
    memcpy(b + n, id, idl);
    n += idl;
    b[0] = 0x10;
    b[1] = (unsigned char)(n - 2);
    out_add(c, b, n);
}

static void send_publish(conn *c)
{
    unsigned char b[16 + 64 * 1024];
    size_t tl = sizeof(TOPIC) - 1, rem = 2 + tl + (qos ? 2 : 0) + payload, n = 1;
    b[0] = (unsigned char)(0x30 | qos << 1);
    n += put_len(b + 1, rem);
    b[n++] = 0;
    b[n++] = (unsigned char)tl;
    memcpy(b + n, TOPIC, tl);
    n += tl;
    if (qos) {
        if (++c->next_id == 0)
            c->next_id = 1;
        b[n++] = (unsigned char)(c->next_id >> 8);
        b[n++] = (unsigned char)c->next_id;
    }
    uint64_t t = now_us();
    uint32_t pub = (uint32_t)c->idx;
    memset(b + n, 'x', payload);
    memcpy(b + n, &t, 8);
    memcpy(b + n + 8, &pub, 4);
    n += payload;
    out_add(c, b, n);
    c->sent++;
}

/* Handle one whole packet at p (n bytes, header included). */
static void on_packet(conn *c, const unsigned char *p, size_t h, size_t rem)
{
    unsigned type = p[0] >> 4;
    if (type == 2) {
        c->connacked = 1;
    } else if (type == 9) {
        c->subacked = 1;
    } else if (type == 3) {
        unsigned q = (p[0] >> 1) & 3;
        const unsigned char *v = p + h;
        size_t tl = (size_t)v[0] << 8 | v[1], off = 2 + tl;
        if (q) {
            unsigned char ack[4] = { 0x40, 2, v[off], v[off + 1] };
            out_add(c, ack, 4);
            off += 2;
        }
        if (rem < off + 12) {
            bad++;
            return;
        }
        uint64_t t;
        uint32_t pub;
        memcpy(&t, v + off, 8);
        memcpy(&pub, v + off + 8, 4);
        uint64_t d = now_us() - t;
        if (nlat < latcap)
            lat[nlat++] = (uint32_t)(d > UINT32_MAX ? UINT32_MAX : d);
        deliveries++;
        cs[pub].delivered++;
    }
}

static void on_read(conn *c)
{
    for (;;) {
        if (c->incap - c->inlen < 65536) {
            c->incap = c->incap * 2 + 65536;
            c->in = realloc(c->in, c->incap);
            if (!c->in)
                abort();
        }
        ssize_t r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
        if (r <= 0) {
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                fprintf(stderr, "bench_mqtt: connection %d closed by the broker\n", c->idx);
                exit(1);
            }
            break;
        }
        c->inlen += (size_t)r;
    }
    size_t at = 0;
    while (c->inlen - at >= 2) {
        const unsigned char *p = (const unsigned char *)c->in + at;
        size_t rem = 0, h = 1, sh = 0;
        while (h < c->inlen - at && (p[h] & 0x80) && h < 5)
            rem |= (size_t)(p[h++] & 0x7f) << sh, sh += 7;
        if (h >= c->inlen - at)
            break;
        rem |= (size_t)p[h++] << sh;
        if (c->inlen - at < h + rem)
            break;
        on_packet(c, p, h, rem);
        at += h + rem;
    }
    memmove(c->in, c->in + at, c->inlen - at);
    c->inlen -= at;
}

static void pump_publishers(int npubs)
{
    for (int i = 0; i < npubs; i++) {
        conn *c = &cs[i];
        while ((c->sent * (uint64_t)nsubs - c->delivered) < (uint64_t)window * (uint64_t)nsubs &&
               c->outlen < 65536)
            send_publish(c);
        flush(c);
    }
}

static void loop_until(int (*done)(int), int arg, uint64_t deadline_us, int npubs, int publish)
{
    struct epoll_event evs[256];
    while (!done(arg) && now_us() < deadline_us) {
        int k = epoll_wait(ep, evs, 256, 50);
        for (int e = 0; e < k; e++) {
            conn *c = &cs[evs[e].data.u32];
            if (evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_read(c);
            flush(c);
        }
        if (publish)
            pump_publishers(npubs);
    }
}

static int total;
static int all_ready(int n)
{
    for (int i = 0; i < n; i++)
        if (!cs[i].connacked || (cs[i].sub && !cs[i].subacked))
            return 0;
    return 1;
}
static int never(int n)
{
    (void)n;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 1) {
        execlp("sh", "sh", "tests/bench/bench_mqtt.sh", argv[0], (char *)NULL);
        perror("bench_mqtt: sh tests/bench/bench_mqtt.sh");
        return 1;
    }
    if (argc < 6) {
        fprintf(stderr, "usage: %s PORT PUBLISHERS SUBSCRIBERS QOS SECONDS [WINDOW [PAYLOAD]]\n",
                argv[0]);
        return 2;
    }
    unsigned port = (unsigned)atoi(argv[1]);
    int npubs = atoi(argv[2]);
    nsubs = atoi(argv[3]);
    qos = atoi(argv[4]);
    double secs = atof(argv[5]);
    window = argc > 6 ? atoi(argv[6]) : 16;
    if (argc > 7)
        payload = (size_t)atoi(argv[7]);
    if (payload < 12 || payload > 60000 || qos < 0 || qos > 1 || npubs < 1 || nsubs < 1)
        return 2;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    total = npubs + nsubs;
    cs = calloc((size_t)total, sizeof(*cs));
    lat = malloc(latcap * sizeof(*lat));
    ep = epoll_create1(0);
    /* Publishers first in the array: cs[pub] is found by index. */
    for (int i = 0; i < total; i++) {
        conn *c = &cs[i];
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->idx = i;
        c->sub = i >= npubs;
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
            perror("connect");
            return 1;
        }
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        c->armed = EPOLLIN;
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        char id[32];
        snprintf(id, sizeof id, "%s-%d", c->sub ? "sub" : "pub", i);
        send_connect(c, id);
        if (c->sub) {
            unsigned char s[] = { 0x82, (unsigned char)(2 + 2 + sizeof(TOPIC) - 1 + 1), 0, 1, 0,
                                  (unsigned char)(sizeof(TOPIC) - 1) };
            out_add(c, s, sizeof s);
            out_add(c, TOPIC, sizeof(TOPIC) - 1);
            unsigned char q = (unsigned char)qos;
            out_add(c, &q, 1);
        }
        flush(c);
    }
    loop_until(all_ready, total, now_us() + 10000000u, npubs, 0);
    if (!all_ready(total)) {
        fprintf(stderr, "bench_mqtt: not every client was connected and subscribed\n");
        return 1;
    }
    /* Warm-up, then the measured run. */
    loop_until(never, 0, now_us() + 300000u, npubs, 1);
    deliveries = 0;
    nlat = 0;
    uint64_t t0 = now_us();
    loop_until(never, 0, t0 + (uint64_t)(secs * 1e6), npubs, 1);
    double el = (double)(now_us() - t0) / 1e6;
    uint64_t sent = 0, got = 0;
    for (int i = 0; i < npubs; i++) {
        sent += cs[i].sent;
        got += cs[i].delivered;
    }
    qsort(lat, nlat, sizeof(*lat), cmp_u32);
    printf("pubs=%d subs=%d qos=%d deliveries=%llu rate=%.0f p50_us=%u p99_us=%u outstanding=%llu\n",
           npubs, nsubs, qos, (unsigned long long)deliveries, (double)deliveries / el,
           nlat ? lat[nlat / 2] : 0, nlat ? lat[nlat * 99 / 100] : 0,
           (unsigned long long)(sent * (uint64_t)nsubs - got));
    return bad ? 1 : 0;
}
