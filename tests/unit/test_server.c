/* The server in-process, with a protocol made for checking it:
 *
 * - per-connection ordering: each packet carries its sequence number, the
 *   handler checks it is the next one and that no other thread is inside a
 *   handler of the same session at the same time;
 * - buffers in use: each packet carries a pad of one byte value derived from
 *   its number; the handler (which sometimes blocks a little, while the I/O
 *   thread keeps reading) checks every byte of it through the packet's
 *   slices, so a buffer moved or reused under a queued packet shows up
 *   (and ASan sees a use after free);
 * - handler timers: a packet "t" arms pf_timer; the TIMEOUT arrives through
 *   the machine, in order, after the replies before it;
 * - stats and the fsm counters.
 * In every mode. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "../integ/harness.h"
#include "test_lines.h"
#include "protofsm/server.h"
#include "protofsm/stats.h"

/* ---- the "seq" protocol: lines "<n> <pad>\n" or "t\n" ---- */

enum { EV_SEQ = PF_EV__BUILTIN, EV_TIMER, EV_SLOW, NEV };

static ssize_t seq_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    ssize_t n = pf_test_line_frame(pp, buf, len, out);
    if (n > 0)
        out->event = buf[0] == 't' ? EV_TIMER : buf[0] == 's' ? EV_SLOW : EV_SEQ;
    return n;
}

typedef struct {
    atomic_int busy;
    long next;
    int timer_pending;
} seq_state;

static atomic_int violations, opens, closes, timeouts_seen;
static int strict_seq = 1; /* 0: packets may be refused (busy), so only increasing */

/* What the OPEN handlers saw of pf_session_peer and the listener data. */
static atomic_int peer_ok, ldata_ok;
static int listener_tag;

static int on_open(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (pf_session_peer(s, &ss, &sl) == 0 && ss.ss_family == AF_INET &&
        ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
        atomic_fetch_add(&peer_ok, 1);
    if (pf_session_listener_data(s) == &listener_tag)
        atomic_fetch_add(&ldata_ok, 1);
    seq_state *st = calloc(1, sizeof(*st));
    pf_session_set_data(s, st);
    atomic_fetch_add(&opens, 1);
    return PF_NEXT;
}

static int on_close(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    free(pf_session_data(s));
    atomic_fetch_add(&closes, 1);
    return PF_NEXT;
}

static int on_seq(pf_session *s, const pf_packet *pkt)
{
    seq_state *st = pf_session_data(s);
    char rep[32];
    if (atomic_exchange(&st->busy, 1) != 0)
        atomic_fetch_add(&violations, 1);
    char *end;
    long n = strtol(pkt->raw.ptr, &end, 10);
    if ((strict_seq ? n != st->next : n < st->next) || *end != ' ')
        atomic_fetch_add(&violations, 1);
    st->next = n + 1;
    char want = (char)('a' + n % 26);
    for (const char *c = end + 1; c < pkt->raw.ptr + pkt->raw.len - 1; c++)
        if (*c != want) {
            atomic_fetch_add(&violations, 1);
            break;
        }
    if (n % 16 == 0) {
        struct timespec ts = { 0, 200000 }; /* the I/O thread reads on meanwhile */
        nanosleep(&ts, NULL);
    }
    int k = snprintf(rep, sizeof(rep), "%ld\n", n);
    pf_reply(s, rep, (size_t)k);
    atomic_store(&st->busy, 0);
    return PF_NEXT;
}

/* For test_timer_accuracy: when the last timer was asked for, and how long
 * each took to fire (ns). */
static _Atomic uint64_t timer_asked_ns, timer_took_ns[16];
static atomic_int timer_fired;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_timer_req(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    seq_state *st = pf_session_data(s);
    atomic_store(&timer_asked_ns, mono_ns());
    st->timer_pending = 1;
    assert_int_equal(pf_session_timer(s, 20), 0);
    return PF_NEXT;
}

static int on_timeout(pf_session *s, const pf_packet *pkt)
{
    seq_state *st = pf_session_data(s);
    if (pkt->raw.len == 5 && memcmp(pkt->raw.ptr, "timer", 5) == 0 && st->timer_pending) {
        st->timer_pending = 0;
        int k = atomic_fetch_add(&timer_fired, 1);
        if (k >= 0 && k < 16)
            atomic_store(&timer_took_ns[k], mono_ns() - atomic_load(&timer_asked_ns));
        atomic_fetch_add(&timeouts_seen, 1);
        pf_reply(s, "T\n", 2);
    }
    return PF_NEXT;
}

/* Holds the only worker for 100 ms. */
static int on_slow(pf_session *s, const pf_packet *pkt)
{
    struct timespec ts = { 0, 100000000 };
    (void)pkt;
    nanosleep(&ts, NULL);
    pf_reply(s, "S\n", 2);
    return PF_NEXT;
}

static const pf_handler handlers[] = { NULL, on_open, on_close, on_seq, on_timer_req, on_timeout,
                                       on_slow };
static const pf_fsm_cell cells[NEV] = {
    [PF_EV_OPEN] = { 0, 1, 0 },    [PF_EV_CLOSE] = { 0, 2, 0 },
    [PF_EV_TIMEOUT] = { 0, 5, 0 }, [PF_EV_DRAIN] = { PF_FSM_NOROW, 0, 0 },
    [EV_SEQ] = { 0, 3, 0 },        [EV_TIMER] = { 0, 4, 0 },
    [EV_SLOW] = { 0, 6, 0 },
};
static const char *const snames[] = { "S" };
static const char *const enames[] = { "OPEN", "CLOSE", "TIMEOUT", "DRAIN", "SEQ", "TIMER", "SLOW" };
static const pf_events seq_events = { "seq", "test_server.c", NEV, enames };
static const uint8_t finals[] = { 0 };
static const pf_fsm seq_fsm = {
    .name = "seq", .source = "test_server.c", .kind = PF_FSM_DISPATCH, .nstates = 1,
    .nevents = NEV, .start = 0, .state_names = snames, .events = &seq_events,
    .final = finals, .table = cells, .nhandlers = 7,
};
static const pf_protocol seq_proto = {
    .name = "seq", .events = &seq_events, .parser_size = sizeof(pf_test_line_parser), .fields_size = 0,
    .parser_init = pf_test_line_init, .parse = seq_parse,
};
static const pf_service seq_svc = { &seq_proto, &seq_fsm, handlers };

static const pf_protocol busy_proto = {
    .name = "seq-busy", .events = &seq_events, .parser_size = sizeof(pf_test_line_parser), .fields_size = 0,
    .parser_init = pf_test_line_init, .parse = seq_parse, .busy_reply = { "BUSY\n", 5 },
};
static const pf_service busy_svc = { &busy_proto, &seq_fsm, handlers };

/* ---- running it ---- */

static void *run_server(void *arg)
{
    return (void *)(intptr_t)pf_server_run(arg);
}

#define NCONN 40
#define NPKT 400

static h_client cs[NCONN];

static void build_client(h_client *c, unsigned port, int with_timer)
{
    size_t cap = NPKT * 80 + 64;
    memset(c, 0, sizeof(*c));
    c->req = malloc(cap);
    c->exp = malloc(cap);
    for (int n = 0; n < NPKT; n++) {
        int pad = 1 + (n * 7) % 60;
        c->reqlen += (size_t)sprintf(c->req + c->reqlen, "%d ", n);
        memset(c->req + c->reqlen, 'a' + n % 26, (size_t)pad);
        c->reqlen += (size_t)pad;
        c->req[c->reqlen++] = '\n';
        c->explen += (size_t)sprintf(c->exp + c->explen, "%d\n", n);
    }
    if (with_timer) {
        c->reqlen += (size_t)sprintf(c->req + c->reqlen, "t\n");
        c->explen += (size_t)sprintf(c->exp + c->explen, "T\n");
    }
    c->fd = h_connect(port, 1);
}

static void run_mode(pf_mode mode)
{
    pf_server *srv;
    pf_server_conf conf = { .mode = mode, .backend = h_backend(mode),
                            .threads = 4, .no_signals = 1, .batch = 8,
                            .max_input = 4096 };
    pf_listen_conf lc = { .service = &seq_svc, .data = &listener_tag };
    pthread_t t;
    char addr[64];
    void *rv;

    atomic_store(&peer_ok, 0);
    atomic_store(&ldata_ok, 0);
    atomic_store(&violations, 0);
    atomic_store(&opens, 0);
    atomic_store(&closes, 0);
    atomic_store(&timeouts_seen, 0);
    assert_int_equal(pf_server_new(&srv, &conf), 0);
    int li = pf_server_listen(srv, "127.0.0.1", 0, &lc);
    assert_int_equal(li, 0);
    assert_int_equal(pf_server_address(srv, 0, addr, sizeof(addr)), 0);
    unsigned port = (unsigned)atoi(strrchr(addr, ':') + 1);
    pthread_create(&t, NULL, run_server, srv);
    for (int i = 0; i < NCONN; i++)
        build_client(&cs[i], port, i % 2);
    int done = h_run_clients(cs, NCONN, 20000);
    for (int i = 0; i < NCONN; i++)
        h_client_free(&cs[i]);

    pf_server_stats st;
    pf_server_stats_get(srv, &st);
    pf_server_stop(srv);
    pthread_join(t, &rv);
    assert_int_equal((int)(intptr_t)rv, 0);
    uint64_t seq_hits = pf_fsm_stats_get(pf_server_fsm_stats(srv, 0), pf_server_fsm(srv, 0), 0, EV_SEQ);
    pf_server_free(srv);

    assert_int_equal(done, NCONN);
    assert_int_equal(atomic_load(&violations), 0);
    assert_int_equal(atomic_load(&opens), NCONN);
    assert_int_equal(atomic_load(&peer_ok), NCONN);
    assert_int_equal(atomic_load(&ldata_ok), NCONN);
    assert_int_equal(atomic_load(&closes), NCONN);
    assert_int_equal(atomic_load(&timeouts_seen), NCONN / 2);
    assert_int_equal(st.conns_accepted, NCONN);
    assert_true(st.packets >= (uint64_t)NCONN * NPKT);
    assert_true(st.bytes_in > 0 && st.bytes_out > 0);
    assert_int_equal(seq_hits, (uint64_t)NCONN * NPKT);
}

static void test_order_hsha(void **state) { (void)state; run_mode(PF_MODE_HSHA); }
static void test_order_reactor(void **state) { (void)state; run_mode(PF_MODE_REACTOR); }
static void test_order_lf(void **state) { (void)state; run_mode(PF_MODE_LF); }
static void test_order_inline(void **state) { (void)state; run_mode(PF_MODE_INLINE); }

/* One worker, a queue of one item, a protocol with a busy reply.  Every
 * client is open and answered once; then client 0 sends a packet that holds
 * the worker for 100 ms while the others pipeline the rest of theirs: the
 * queue is full, so those get BUSY.  Every packet gets exactly one answer,
 * its own or BUSY, in order. */
static void test_busy_reply(void **state)
{
    pf_server *srv;
    pf_server_conf conf = { .mode = PF_MODE_HSHA, .backend = h_backend(PF_MODE_HSHA),
                            .threads = 1, .no_signals = 1, .queue_size = 1, .max_threads = 1,
                            .batch = 4 };
    pf_listen_conf lc = { .service = &busy_svc };
    pthread_t t;
    char addr[64];
    void *rv;
    enum { C = 20 };
    (void)state;
    strict_seq = 0;
    atomic_store(&violations, 0);
    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    pf_server_address(srv, 0, addr, sizeof(addr));
    unsigned port = (unsigned)atoi(strrchr(addr, ':') + 1);
    pthread_create(&t, NULL, run_server, srv);
    size_t full[C];
    for (int i = 0; i < C; i++) {
        build_client(&cs[i], port, 0);
        full[i] = cs[i].reqlen;
        cs[i].reqlen = 4;     /* "0 a\n" */
        cs[i].want_lines = 1; /* "0\n", or BUSY already */
        cs[i].rxcap = NPKT * 16;
        cs[i].rx = malloc(cs[i].rxcap);
    }
    assert_int_equal(h_run_clients(cs, C, 10000), C);
    for (int i = 0; i < C; i++) {
        h_client *c = &cs[i];
        if (i == 0)
            h_send_all(c->fd, "s\n", 2);
        h_send_all(c->fd, c->req + 4, full[i] - 4);
        c->sent = c->reqlen = full[i];
    }
    for (int i = 0; i < C; i++) {
        h_client *c = &cs[i];
        c->done = 0;
        c->got = 0;
        c->want_lines = NPKT - 1 + (i == 0);
    }
    int done = h_run_clients(cs, C, 20000);
    int busy = 0, bad = 0;
    for (int i = 0; i < C; i++) {
        long last = 0;
        int lines = 0;
        char *endp = cs[i].rx + cs[i].got;
        for (char *l = cs[i].rx, *nl; l < endp && (nl = memchr(l, '\n', (size_t)(endp - l))); l = nl + 1) {
            lines++;
            if (strncmp(l, "BUSY\n", 5) == 0) {
                busy++;
                continue;
            }
            if (i == 0 && lines == 1) {
                bad += strncmp(l, "S\n", 2) != 0;
                continue;
            }
            long n = strtol(l, NULL, 10);
            bad += n <= last;
            last = n;
        }
        bad += lines != cs[i].want_lines;
        h_client_free(&cs[i]);
    }
    pf_server_stats st;
    pf_server_stats_get(srv, &st);
    pf_server_stop(srv);
    pthread_join(t, &rv);
    pf_server_free(srv);
    strict_seq = 1;
    print_message("busy: %d of %d packets refused, queue_full %llu\n", busy, C * (NPKT - 1),
                  (unsigned long long)st.queue_full);
    assert_int_equal(done, C);
    assert_int_equal(bad, 0);
    assert_int_equal(atomic_load(&violations), 0);
    assert_true(busy > 0);
    assert_true(st.queue_full > 0);
}

/* conns_current = accepted - closed must never wrap while connections come
 * and go: a thread churns short connections while this one reads stats. */
static atomic_int churn_stop;
static void *churn(void *arg)
{
    unsigned port = (unsigned)(intptr_t)arg;
    while (!atomic_load(&churn_stop)) {
        int fd = h_connect(port, 0);
        if (fd >= 0)
            close(fd);
    }
    return NULL;
}

static void test_conns_current_never_wraps(void **state)
{
    pf_server *srv;
    pf_server_conf conf = { .mode = PF_MODE_INLINE, .backend = h_backend(PF_MODE_INLINE),
                            .no_signals = 1 };
    pf_listen_conf lc = { .service = &seq_svc };
    pthread_t t, ch[2];
    char addr[64];
    void *rv;
    int bad = 0;
    (void)state;
    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    pf_server_address(srv, 0, addr, sizeof(addr));
    unsigned port = (unsigned)atoi(strrchr(addr, ':') + 1);
    pthread_create(&t, NULL, run_server, srv);
    atomic_store(&churn_stop, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&ch[i], NULL, churn, (void *)(intptr_t)port);
    uint64_t t0 = h_now_ms();
    while (h_now_ms() - t0 < 1500) {
        pf_server_stats st;
        pf_server_stats_get(srv, &st);
        bad += st.conns_current > st.conns_accepted || st.conns_current > 1000;
    }
    atomic_store(&churn_stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(ch[i], NULL);
    pf_server_stop(srv);
    pthread_join(t, &rv);
    pf_server_free(srv);
    assert_int_equal(bad, 0);
}

/* pf_session_timer(s, 20) through the server fires no earlier than 20 ms after it
 * was asked for and (typically) at most one 1 ms tick late: the deadline
 * rounds up to the next millisecond, and the tick adds at most one more.
 * Inline and hsha, 16 timers one after the other on one connection; the
 * median must be within 20..23 ms (slack for scheduling), none early. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void timer_accuracy(pf_mode mode)
{
    pf_server *srv;
    pf_server_conf conf = { .mode = mode, .backend = h_backend(mode),
                            .threads = 2, .no_signals = 1 };
    pf_listen_conf lc = { .service = &seq_svc };
    pthread_t t;
    char addr[64], b[8];
    void *rv;
    int eof;
    uint64_t took[16];
    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    pf_server_address(srv, 0, addr, sizeof(addr));
    unsigned port = (unsigned)atoi(strrchr(addr, ':') + 1);
    pthread_create(&t, NULL, run_server, srv);
    atomic_store(&timer_fired, 0);
    int fd = h_connect(port, 0);
    for (int i = 0; i < 16; i++) {
        h_send_all(fd, "t\n", 2);
        assert_int_equal(h_recv_n(fd, b, 2, 5000, &eof), 2);
        assert_memory_equal(b, "T\n", 2);
    }
    close(fd);
    pf_server_stop(srv);
    pthread_join(t, &rv);
    pf_server_free(srv);
    assert_int_equal(atomic_load(&timer_fired), 16);
    for (int i = 0; i < 16; i++) {
        took[i] = atomic_load(&timer_took_ns[i]);
        assert_true(took[i] >= 20000000u); /* never early */
    }
    qsort(took, 16, sizeof(took[0]), cmp_u64);
    print_message("timer 20 ms (%s): min %.2f median %.2f max %.2f ms\n", pf_mode_name(mode),
                  took[0] / 1e6, took[8] / 1e6, took[15] / 1e6);
    assert_true(took[8] <= 23000000u);
}

static void test_timer_accuracy(void **state)
{
    (void)state;
    timer_accuracy(PF_MODE_INLINE);
    timer_accuracy(PF_MODE_HSHA);
}

static void test_conf_and_errors(void **state)
{
    pf_server *srv;
    pf_server_conf bad = { .mode = (pf_mode)9 };
    pf_listen_conf lc = { .service = &seq_svc }, none = { 0 };
    pf_mode m;
    char a[8];
    (void)state;
    assert_int_equal(pf_server_new(&srv, &bad), -EINVAL);
    assert_int_equal(pf_server_new(&srv, NULL), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &none), -EINVAL);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 70000, &lc), -EINVAL);
    assert_true(pf_server_listen(srv, "no.such.host.invalid", 0, &lc) < 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    assert_int_equal(pf_server_address(srv, 0, a, sizeof(a)), -ENOSPC);
    assert_int_equal(pf_server_address(srv, 1, a, sizeof(a)), -ENOENT);
    pf_server_free(srv);
    assert_int_equal(pf_mode_parse("lf", &m), 0);
    assert_int_equal(m, PF_MODE_LF);
    assert_int_equal(pf_mode_parse("LF", &m), -EINVAL);
    assert_string_equal(pf_mode_name(PF_MODE_INLINE), "inline");
    pf_session *s = pf_session_new(&seq_svc, NULL);
    assert_int_equal(pf_session_timer(s, 10), -ENOTSUP); /* not hosted by a server */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    assert_int_equal(pf_session_peer(s, &ss, &sl), -ENOTSUP);
    assert_null(pf_session_listener_data(s));
    pf_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_hsha),   cmocka_unit_test(test_order_reactor),
        cmocka_unit_test(test_order_lf),     cmocka_unit_test(test_order_inline),
        cmocka_unit_test(test_busy_reply),         cmocka_unit_test(test_conf_and_errors),
        cmocka_unit_test(test_conns_current_never_wraps),
        cmocka_unit_test(test_timer_accuracy),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
