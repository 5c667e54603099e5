/* mqttd against the faults of issue 12 that need a real server: raw MQTT
 * clients on loopback, each case built to fail on the broker as it was
 * before the fix.
 *
 * - item 6: a QoS 1 message refused by a full mailbox is sent once the
 *   mailbox drains, to a subscriber that sends nothing (keep-alive 0);
 * - item 5: a SUBSCRIBE whose retained messages add up to more than twice
 *   --max-output gets all of them and stays connected; a persistent session
 *   with a window of QoS 1 messages over that size comes back and gets them;
 * - item 8: one SUBSCRIBE of 250 KB repeating a filter against 10,000
 *   retained messages does not stall another client's PINGREQ;
 * - item 9: per-address session limits and offline session expiry
 *   (--max-sessions-per-addr, --session-expiry). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

static const char *const modes[] = { "hsha", "reactor", "lf", "inline" };

static void start(srv_proc *sp, const char *mode, const char *const *extra)
{
    const char *args[24] = { "--listen", "127.0.0.1:0", "--mode", mode, "--threads", "3" };
    size_t n = 6;
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    assert_int_equal(h_spawn(sp, "mqttd", 1, 0, args), 0);
}

static void stop_ok(srv_proc *sp)
{
    kill(sp->pid, SIGTERM);
    int st = h_wait(sp, 10000);
    h_kill(sp);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- packets ----------------------------------------------------------- */

static size_t put_rem(unsigned char *b, size_t n)
{
    size_t i = 0;
    do {
        unsigned char d = n & 0x7f;
        n >>= 7;
        b[i++] = (unsigned char)(d | (n ? 0x80 : 0));
    } while (n);
    return i;
}

/* A whole packet: type byte, remaining length, body.  Bytes written. */
static size_t pkt(unsigned char *b, unsigned char type, const unsigned char *body, size_t n)
{
    size_t h = 1;
    b[0] = type;
    h += put_rem(b + 1, n);
    memcpy(b + h, body, n);
    return h + n;
}

static size_t mk_connect(unsigned char *b, const char *id, int clean, unsigned ka)
{
    unsigned char body[256];
    size_t n = 0, idl = strlen(id);
    memcpy(body, "\0\4MQTT\4", 7);
    n = 7;
    body[n++] = (unsigned char)(clean ? 2 : 0);
    body[n++] = (unsigned char)(ka >> 8);
    body[n++] = (unsigned char)ka;
    body[n++] = (unsigned char)(idl >> 8);
    body[n++] = (unsigned char)idl;
    memcpy(body + n, id, idl);
    return pkt(b, 0x10, body, n + idl);
}

/* PUBLISH into b (room for the payload + 300). */
static size_t mk_publish(unsigned char *b, const char *topic, const void *pl, size_t pn, int qos,
                         unsigned id, int retain)
{
    static unsigned char body[1 << 20];
    size_t n = 0, tl = strlen(topic);
    body[n++] = (unsigned char)(tl >> 8);
    body[n++] = (unsigned char)tl;
    memcpy(body + n, topic, tl);
    n += tl;
    if (qos) {
        body[n++] = (unsigned char)(id >> 8);
        body[n++] = (unsigned char)id;
    }
    memcpy(body + n, pl, pn);
    n += pn;
    return pkt(b, (unsigned char)(0x30 | qos << 1 | (retain ? 1 : 0)), body, n);
}

static size_t mk_subscribe(unsigned char *b, unsigned id, const char *filter, int qos)
{
    unsigned char body[256];
    size_t n = 0, fl = strlen(filter);
    body[n++] = (unsigned char)(id >> 8);
    body[n++] = (unsigned char)id;
    body[n++] = (unsigned char)(fl >> 8);
    body[n++] = (unsigned char)fl;
    memcpy(body + n, filter, fl);
    n += fl;
    body[n++] = (unsigned char)qos;
    return pkt(b, 0x82, body, n);
}

/* Connect from 127.0.0.<host> (loopback answers to all of them). */
static int connect_from(unsigned port, unsigned host)
{
    struct sockaddr_in me = { .sin_family = AF_INET };
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    me.sin_addr.s_addr = htonl(0x7f000000u | host);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Connect and CONNECT; the CONNACK's return code (0..5), or -1. */
static int mqtt_open(unsigned port, unsigned host, const char *id, int clean, int *present,
                     int *fdout)
{
    unsigned char b[300], r[4];
    int fd = connect_from(port, host), eof;
    *fdout = -1;
    if (fd < 0)
        return -1;
    size_t n = mk_connect(b, id, clean, 0);
    if (h_send_all(fd, (char *)b, n) < 0 || h_recv_n(fd, (char *)r, 4, 5000, &eof) != 4 ||
        r[0] != 0x20 || r[1] != 2) {
        close(fd);
        return -1;
    }
    if (present)
        *present = r[2];
    if (r[3] != 0) {
        close(fd);
        return r[3];
    }
    *fdout = fd;
    return 0;
}

static int mqtt_client(unsigned port, const char *id, int clean)
{
    int fd;
    return mqtt_open(port, 1, id, clean, NULL, &fd) == 0 ? fd : -1;
}

/* Incoming packets, whole, from a blocking socket with a time limit. */
typedef struct rd {
    unsigned char *buf;
    size_t len, cap;
    int eof;
} rd;

typedef struct mpkt {
    unsigned char type;
    const unsigned char *body;
    size_t n;
} mpkt;

/* The next whole packet within ms: 1, or 0 on timeout or EOF (r->eof). */
static int rd_next(int fd, rd *r, int ms, mpkt *p, size_t *consumed)
{
    uint64_t end = h_now_ms() + (uint64_t)ms;
    for (;;) {
        if (r->len >= 2) {
            size_t rem = 0, h = 1;
            int sh = 0, whole = 0;
            while (h < r->len && h <= 4) {
                rem |= (size_t)(r->buf[h] & 0x7f) << sh;
                sh += 7;
                if (!(r->buf[h++] & 0x80)) {
                    whole = 1;
                    break;
                }
            }
            if (whole && r->len >= h + rem) {
                p->type = r->buf[0];
                p->body = r->buf + h;
                p->n = rem;
                *consumed = h + rem;
                return 1;
            }
        }
        if (r->cap - r->len < 65536) {
            r->cap = r->cap ? r->cap * 2 : 1 << 20;
            r->buf = realloc(r->buf, r->cap);
            assert_non_null(r->buf);
        }
        uint64_t now = h_now_ms();
        struct pollfd pf = { fd, POLLIN, 0 };
        if (now >= end || poll(&pf, 1, (int)(end - now)) <= 0)
            return 0;
        ssize_t k = recv(fd, r->buf + r->len, r->cap - r->len, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0) {
            r->eof = 1;
            return 0;
        }
        r->len += (size_t)k;
    }
}

static void rd_consume(rd *r, size_t n)
{
    memmove(r->buf, r->buf + n, r->len - n);
    r->len -= n;
}

/* A PUBLISH's payload (after topic and id). */
static const unsigned char *pub_payload(const mpkt *p, size_t *n, unsigned *id)
{
    size_t tl = (size_t)p->body[0] << 8 | p->body[1], at = 2 + tl;
    *id = 0;
    if (p->type & 6) {
        *id = (unsigned)p->body[at] << 8 | p->body[at + 1];
        at += 2;
    }
    *n = p->n - at;
    return p->body + at;
}

static void send_ack(int fd, unsigned char type, unsigned id)
{
    unsigned char a[4] = { type, 2, (unsigned char)(id >> 8), (unsigned char)id };
    assert_int_equal(h_send_all(fd, (char *)a, 4), 0);
}

/* ---- item 6: deliver when room returns ------------------------------------ */

/* The subscriber reads nothing while the publisher floods its mailbox with
 * QoS 0 and then sends one QoS 1 message as large as them (so it cannot
 * squeeze into what the QoS 0 ones left free); then the subscriber reads,
 * and sends nothing at all (keep-alive 0): the QoS 1 message must come. */
static void qos1_after_full_mailbox(const char *mode)
{
    srv_proc sp;
    const char *extra[] = { "--max-output", "65536", NULL };
    start(&sp, mode, extra);
    int s = mqtt_client(sp.port, "sub", 1), p = mqtt_client(sp.port, "pub", 1);
    assert_true(s >= 0 && p >= 0);
    int eof;
    unsigned char b[8192], r[8];
    size_t n = mk_subscribe(b, 1, "s", 1);
    assert_int_equal(h_send_all(s, (char *)b, n), 0);
    assert_int_equal(h_recv_n(s, (char *)r, 5, 3000, &eof), 5);
    static char fill[4000];
    memset(fill, 'f', sizeof fill);
    /* 12 MB: more than the kernel's socket buffers (4 MB at most here),
     * the output and the mailbox together. */
    n = mk_publish(b, "s", fill, sizeof fill, 0, 0, 0);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(h_send_all(p, (char *)b, n), 0);
    memcpy(fill, "LAST-QOS1", 9);
    n = mk_publish(b, "s", fill, sizeof fill, 1, 7, 0);
    assert_int_equal(h_send_all(p, (char *)b, n), 0);
    assert_int_equal(h_recv_n(p, (char *)r, 4, 5000, &eof), 4); /* PUBACK */
    assert_memory_equal(r, "\x40\x02\x00\x07", 4);
    rd in = { 0 };
    mpkt m;
    size_t used;
    int found = 0, q0 = 0;
    while (!found && rd_next(s, &in, 3000, &m, &used)) {
        if ((m.type & 0xf0) == 0x30) {
            size_t pn;
            unsigned id;
            const unsigned char *pl = pub_payload(&m, &pn, &id);
            if (pn >= 9 && memcmp(pl, "LAST-QOS1", 9) == 0)
                found = (m.type & 6) == 2;
            else
                q0++;
        }
        rd_consume(&in, used);
    }
    free(in.buf);
    close(s);
    close(p);
    stop_ok(&sp);
    print_message("%s: %d QoS 0 messages reached the subscriber, then the QoS 1 one: %s\n", mode,
                  q0, found ? "yes" : "NO");
    assert_true(found);
}

static void test_qos1_sent_when_mailbox_drains(void **state)
{
    (void)state;
    for (int m = 0; m < 4; m++)
        qos1_after_full_mailbox(modes[m]);
}

/* ---- item 5: paced, never killed for the broker's own burst ---------------- */

#define NRET 40
#define RETSZ 20000

/* 40 retained messages of 20 KB (800 KB, over 2 x 256 KiB) to one
 * SUBSCRIBE: all of them arrive and the connection stays open, at QoS 0
 * (no acknowledgement paces it) and at QoS 1. */
static void test_retained_burst(void **state)
{
    (void)state;
    srv_proc sp;
    start(&sp, "hsha", NULL);
    int p = mqtt_client(sp.port, "pub", 1);
    assert_true(p >= 0);
    static unsigned char b[RETSZ + 300];
    static char pl[RETSZ];
    unsigned char r[8];
    int eof;
    for (int i = 0; i < NRET; i++) {
        char topic[16];
        snprintf(topic, sizeof topic, "r/%d", i);
        memset(pl, 'a' + i % 26, sizeof pl);
        size_t n = mk_publish(b, topic, pl, sizeof pl, 1, (unsigned)i + 1, 1);
        assert_int_equal(h_send_all(p, (char *)b, n), 0);
        assert_int_equal(h_recv_n(p, (char *)r, 4, 5000, &eof), 4);
    }
    for (int qos = 0; qos <= 1; qos++) {
        int s = mqtt_client(sp.port, qos ? "s1" : "s0", 1);
        assert_true(s >= 0);
        size_t n = mk_subscribe(b, 1, "r/#", qos);
        assert_int_equal(h_send_all(s, (char *)b, n), 0);
        rd in = { 0 };
        mpkt m;
        size_t used;
        int got = 0;
        while (got < NRET && rd_next(s, &in, 3000, &m, &used)) {
            if ((m.type & 0xf0) == 0x30) {
                size_t pn;
                unsigned id;
                pub_payload(&m, &pn, &id);
                got += pn == RETSZ && (m.type & 1);
                if (id)
                    send_ack(s, 0x40, id);
            }
            rd_consume(&in, used);
        }
        /* Still connected: a PINGREQ is answered. */
        assert_int_equal(h_send_all(s, "\xc0\x00", 2), 0);
        int pong = 0;
        while (!pong && rd_next(s, &in, 3000, &m, &used)) {
            pong = m.type == 0xd0;
            rd_consume(&in, used);
        }
        free(in.buf);
        close(s);
        print_message("QoS %d: %d of %d retained messages, connection %s\n", qos, got, NRET,
                      pong ? "open" : "CLOSED");
        assert_int_equal(got, NRET);
        assert_true(pong);
    }
    close(p);
    stop_ok(&sp);
}

/* A persistent session holds 32 unacknowledged QoS 1 messages of 100 KB
 * (3.2 MB in flight); it goes away and comes back: every one of them is
 * resent and the session stays up (it used to be closed on every return,
 * a livelock). */
static void window_comes_back(const char *mode)
{
    srv_proc sp;
    start(&sp, mode, NULL);
    int s = mqtt_client(sp.port, "win", 0), p = mqtt_client(sp.port, "pub", 1);
    assert_true(s >= 0 && p >= 0);
    static unsigned char b[100000 + 300];
    static char pl[100000];
    unsigned char r[8];
    int eof;
    size_t n = mk_subscribe(b, 1, "w", 1);
    assert_int_equal(h_send_all(s, (char *)b, n), 0);
    assert_int_equal(h_recv_n(s, (char *)r, 5, 3000, &eof), 5);
    for (int i = 0; i < 32; i++) {
        memset(pl, 'A' + i % 26, sizeof pl);
        pl[0] = (char)i;
        n = mk_publish(b, "w", pl, sizeof pl, 1, (unsigned)i + 1, 0);
        assert_int_equal(h_send_all(p, (char *)b, n), 0);
        assert_int_equal(h_recv_n(p, (char *)r, 4, 5000, &eof), 4);
    }
    close(s); /* nothing read, nothing acknowledged */
    int present = 0, seen[32] = { 0 }, distinct = 0;
    assert_int_equal(mqtt_open(sp.port, 1, "win", 0, &present, &s), 0);
    assert_int_equal(present, 1);
    rd in = { 0 };
    mpkt m;
    size_t used;
    while (distinct < 32 && rd_next(s, &in, 3000, &m, &used)) {
        if ((m.type & 0xf0) == 0x30) {
            size_t pn;
            unsigned id;
            const unsigned char *q = pub_payload(&m, &pn, &id);
            if (pn == sizeof pl && q[0] < 32 && !seen[q[0]]++)
                distinct++;
            send_ack(s, 0x40, id);
        }
        rd_consume(&in, used);
    }
    assert_int_equal(h_send_all(s, "\xc0\x00", 2), 0);
    int pong = 0;
    while (!pong && rd_next(s, &in, 3000, &m, &used)) {
        pong = m.type == 0xd0;
        rd_consume(&in, used);
    }
    free(in.buf);
    close(s);
    close(p);
    stop_ok(&sp);
    print_message("%s: %d of 32 in-flight messages back, connection %s\n", mode, distinct,
                  pong ? "open" : "CLOSED");
    assert_int_equal(distinct, 32);
    assert_true(pong);
}

static void test_window_comes_back(void **state)
{
    (void)state;
    window_comes_back("hsha");
    window_comes_back("reactor");
}

/* ---- item 8: one SUBSCRIBE does not stall everyone ------------------------ */

/* 10,000 retained messages (1,000 from each of ten addresses), then one
 * SUBSCRIBE of 250 KB repeating a filter that matches none of them, while
 * another client sends a PINGREQ every 20 ms: its slowest answer. */
static void test_subscribe_no_stall(void **state)
{
    (void)state;
    srv_proc sp;
    start(&sp, "hsha", NULL);
    static unsigned char b[1 << 18];
    unsigned char r[8];
    int eof;
    for (unsigned h = 2; h < 12; h++) {
        char id[16];
        int fd;
        snprintf(id, sizeof id, "ret%u", h);
        assert_int_equal(mqtt_open(sp.port, h, id, 1, NULL, &fd), 0);
        size_t n = 0;
        for (int i = 0; i < 1000; i++) {
            char topic[32];
            snprintf(topic, sizeof topic, "t/%u/%d", h, i);
            n += mk_publish(b + n, topic, "x", 1, 0, 0, 1);
        }
        assert_int_equal(h_send_all(fd, (char *)b, n), 0);
        assert_int_equal(h_send_all(fd, "\xc0\x00", 2), 0);
        assert_int_equal(h_recv_n(fd, (char *)r, 2, 5000, &eof), 2);
        close(fd);
    }
    int x = mqtt_client(sp.port, "x", 1), y = mqtt_client(sp.port, "y", 1);
    assert_true(x >= 0 && y >= 0);
    /* 35,000 copies of "zz/+" (7 bytes each) in one packet. */
    static unsigned char body[250000];
    size_t bn = 2;
    body[0] = 0;
    body[1] = 1;
    while (bn + 7 <= sizeof body) {
        memcpy(body + bn, "\0\4zz/+\1", 7);
        bn += 7;
    }
    size_t n = pkt(b, 0x82, body, bn);
    uint64_t t0 = h_now_ms(), worst = 0;
    assert_int_equal(h_send_all(x, (char *)b, n), 0);
    int suback = 0;
    rd in = { 0 };
    while (!suback && h_now_ms() - t0 < 20000) {
        uint64_t s0 = h_now_ms();
        assert_int_equal(h_send_all(y, "\xc0\x00", 2), 0);
        assert_int_equal(h_recv_n(y, (char *)r, 2, 20000, &eof), 2);
        uint64_t lat = h_now_ms() - s0;
        worst = lat > worst ? lat : worst;
        mpkt m;
        size_t used;
        if (rd_next(x, &in, 20, &m, &used)) {
            suback = m.type == 0x90;
            rd_consume(&in, used);
        }
    }
    uint64_t took = h_now_ms() - t0;
    free(in.buf);
    close(x);
    close(y);
    stop_ok(&sp);
    print_message("SUBSCRIBE of %zu bytes: SUBACK after %llu ms, slowest PINGREQ meanwhile %llu ms\n",
                  n, (unsigned long long)took, (unsigned long long)worst);
    assert_true(suback);
    assert_true(worst < 500);
}

/* ---- item 9: sessions nobody comes back to ------------------------------------ */

/* DISCONNECT, then wait until the broker has closed (its CLOSE handler has
 * run by then). */
static void leave(int fd)
{
    assert_int_equal(h_send_all(fd, "\xe0\x00", 2), 0);
    assert_int_equal(h_wait_eof(fd, 5000), 1);
    close(fd);
}

static void test_session_limits(void **state)
{
    (void)state;
    srv_proc sp;
    const char *extra[] = { "--max-sessions-per-addr", "5", "--session-expiry", "1", NULL };
    start(&sp, "hsha", extra);
    int fd, present, held[5];
    char id[16];
    /* 127.0.0.2 leaves five persistent sessions, then makes a sixth: its
     * own oldest one ("a0") makes room. */
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "a%d", i);
        assert_int_equal(mqtt_open(sp.port, 2, id, 0, NULL, &fd), 0);
        leave(fd);
    }
    assert_int_equal(mqtt_open(sp.port, 2, "a5", 0, &present, &fd), 0);
    assert_int_equal(present, 1);
    leave(fd);
    assert_int_equal(mqtt_open(sp.port, 2, "a0", 0, &present, &fd), 0);
    assert_int_equal(present, 0);
    leave(fd);
    /* 127.0.0.3 holds five online: a sixth is refused (code 3), nobody
     * online is dropped, and another address is not affected. */
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "b%d", i);
        assert_int_equal(mqtt_open(sp.port, 3, id, 0, NULL, &held[i]), 0);
    }
    assert_int_equal(mqtt_open(sp.port, 3, "b5", 0, NULL, &fd), 3);
    assert_int_equal(mqtt_open(sp.port, 4, "c0", 0, NULL, &fd), 0);
    leave(fd);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(h_send_all(held[i], "\xc0\x00", 2), 0);
        unsigned char r[2];
        int eof;
        assert_int_equal(h_recv_n(held[i], (char *)r, 2, 3000, &eof), 2);
        leave(held[i]);
    }
    /* Offline sessions expire after --session-expiry (1 s), not before. */
    assert_int_equal(mqtt_open(sp.port, 5, "e", 0, NULL, &fd), 0);
    leave(fd);
    assert_int_equal(mqtt_open(sp.port, 5, "e", 0, &present, &fd), 0);
    assert_int_equal(present, 1);
    leave(fd);
    poll(NULL, 0, 1300);
    assert_int_equal(mqtt_open(sp.port, 5, "e", 0, &present, &fd), 0);
    assert_int_equal(present, 0);
    leave(fd);
    stop_ok(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_qos1_sent_when_mailbox_drains, h_teardown),
        cmocka_unit_test_teardown(test_retained_burst, h_teardown),
        cmocka_unit_test_teardown(test_window_comes_back, h_teardown),
        cmocka_unit_test_teardown(test_subscribe_no_stall, h_teardown),
        cmocka_unit_test_teardown(test_session_limits, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
