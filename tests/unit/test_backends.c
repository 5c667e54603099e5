/* The loop's readiness backends (runtime/backend.h): poll's interest set,
 * the names and the one refused combination, what only the level
 * backends can get wrong (a descriptor the loop holds back must not
 * report in a loop; output held back must resume), and sigio's answer to
 * a full real-time signal queue.  The conformance suites run on each
 * backend through tests/integ/backends.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include "../integ/harness.h"
#include "test_lines.h"
#include "protofsm/server.h"
#include "protofsm/stats.h"
#include "../../runtime/pollset.h"

/* ---- an echo protocol: every line back ---- */

enum { EV_LINE = PF_EV__BUILTIN, NEV };

static ssize_t ln_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    ssize_t n = pf_test_line_frame(pp, buf, len, out);
    if (n > 0)
        out->event = EV_LINE;
    return n;
}

/* "arm\n" also sets a 100 ms handler timer, answered "T\n". */
static int on_line(pf_session *s, const pf_packet *pkt)
{
    if (pkt->raw.len == 4 && memcmp(pkt->raw.ptr, "arm\n", 4) == 0)
        pf_session_timer(s, 100);
    return pf_reply(s, pkt->raw.ptr, pkt->raw.len) < 0 ? PF_CLOSE : PF_NEXT;
}

static int on_timer(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply(s, "T\n", 2) < 0 ? PF_CLOSE : PF_NEXT;
}

static const pf_handler handlers[] = { NULL, on_line, on_timer };
static const pf_fsm_cell cells[NEV] = {
    [PF_EV_OPEN] = { PF_FSM_NOROW, 0, 0 }, [PF_EV_CLOSE] = { PF_FSM_NOROW, 0, 0 },
    [PF_EV_TIMEOUT] = { 0, 2, 0 },         [PF_EV_DRAIN] = { PF_FSM_NOROW, 0, 0 },
    [EV_LINE] = { 0, 1, 0 },
};
static const char *const snames[] = { "S" };
static const char *const enames[] = { "OPEN", "CLOSE", "TIMEOUT", "DRAIN", "LINE" };
static const pf_events ln_events = { "ln", "test_backends.c", NEV, enames };
static const uint8_t finals[] = { 0 };
static const pf_fsm ln_fsm = {
    .name = "ln", .source = "test_backends.c", .kind = PF_FSM_DISPATCH, .nstates = 1,
    .nevents = NEV, .start = 0, .state_names = snames, .events = &ln_events,
    .final = finals, .table = cells, .nhandlers = 3,
};
static const pf_protocol ln_proto = {
    .name = "ln", .events = &ln_events, .parser_size = sizeof(pf_test_line_parser),
    .parser_init = pf_test_line_init, .parse = ln_parse,
};
static const pf_service ln_svc = { &ln_proto, &ln_fsm, handlers };

typedef struct {
    pf_server *srv;
    pthread_t t;
    unsigned port;
} running;

static void *run_server(void *arg) { return (void *)(intptr_t)pf_server_run(arg); }

static void start(running *r, pf_mode mode, pf_backend b, size_t max_output)
{
    pf_server_conf conf = { .mode = mode, .backend = b, .threads = 2, .no_signals = 1,
                            .max_output = max_output };
    pf_listen_conf lc = { .service = &ln_svc };
    char addr[64];

    assert_int_equal(pf_server_new(&r->srv, &conf), 0);
    assert_int_equal(pf_server_listen(r->srv, "127.0.0.1", 0, &lc), 0);
    assert_int_equal(pf_server_address(r->srv, 0, addr, sizeof(addr)), 0);
    r->port = (unsigned)atoi(strrchr(addr, ':') + 1);
    pthread_create(&r->t, NULL, run_server, r->srv);
}

static pf_server_stats stop(running *r)
{
    pf_server_stats st;
    void *rv;

    pf_server_stats_get(r->srv, &st);
    pf_server_stop(r->srv);
    pthread_join(r->t, &rv);
    pf_server_free(r->srv);
    assert_int_equal((int)(intptr_t)rv, 0);
    return st;
}

/* `lines` numbered lines of `width` bytes (LF included), and the same back. */
static void echo_client(h_client *c, unsigned port, int id, int lines, int width)
{
    memset(c, 0, sizeof(*c));
    c->req = malloc((size_t)lines * (size_t)width);
    c->exp = malloc((size_t)lines * (size_t)width);
    for (int i = 0; i < lines; i++) {
        char *l = c->req + (size_t)i * (size_t)width;
        int n = snprintf(l, (size_t)width, "%d-%d ", id, i);
        memset(l + n, 'a' + (id + i) % 26, (size_t)(width - n - 1));
        l[width - 1] = '\n';
    }
    c->reqlen = c->explen = (size_t)lines * (size_t)width;
    memcpy(c->exp, c->req, c->reqlen);
    c->fd = h_connect(port, 1);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- poll's interest set ------------------------------------------------- */

static void test_pollset(void **state)
{
    pf__pollset ps;
    pf__bev ev[8];
    (void)state;

    pf__pollset_init(&ps);
    int a[2], b[2], c[2];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    assert_int_equal(pipe(c), 0);
    assert_int_equal(pf__pollset_add(&ps, a[0], PF__BK_IN, 0xa0), 0);
    assert_int_equal(pf__pollset_add(&ps, b[0], PF__BK_IN | PF__BK_ONESHOT, 0xb0), 0);
    assert_int_equal(pf__pollset_add(&ps, c[0], PF__BK_IN, 0xc0), 0);
    assert_int_equal(pf__pollset_add(&ps, c[0], PF__BK_IN, 0xc0), -EEXIST);
    assert_int_equal(pf__pollset_mod(&ps, 1000, PF__BK_IN, 0), -ENOENT);
    assert_int_equal(ps.n, 3);

    /* Level: reported at every wait while ready.  One-shot: once, until
     * modified. */
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(poll(ps.pfd, ps.n, 0), round ? 1 : 2);
        int k = pf__pollset_collect(&ps, ev, 8), sa = 0, sb = 0;
        for (int i = 0; i < k; i++) {
            sa += ev[i].data == 0xa0 && (ev[i].events & PF__BK_IN);
            sb += ev[i].data == 0xb0 && (ev[i].events & PF__BK_IN);
        }
        assert_int_equal(sa, 1);
        assert_int_equal(sb, round ? 0 : 1);
    }
    assert_int_equal(pf__pollset_mod(&ps, b[0], PF__BK_IN | PF__BK_ONESHOT, 0xb1), 0);
    assert_int_equal(poll(ps.pfd, ps.n, 0), 2);
    assert_int_equal(pf__pollset_collect(&ps, ev, 8), 2);

    /* No interest: skipped by poll even when the peer hangs up (POLLHUP
     * is reported whatever the events). */
    assert_int_equal(pf__pollset_mod(&ps, b[0], PF__BK_ONESHOT, 0xb1), 0);
    close(b[1]);
    char x;
    assert_int_equal(read(a[0], &x, 1), 1);
    assert_int_equal(poll(ps.pfd, ps.n, 0), 0);
    assert_int_equal(pf__pollset_mod(&ps, b[0], PF__BK_IN | PF__BK_ONESHOT, 0xb1), 0);
    assert_int_equal(poll(ps.pfd, ps.n, 0), 1);
    assert_int_equal(pf__pollset_collect(&ps, ev, 8), 1);
    assert_true(ev[0].data == 0xb1 && (ev[0].events & (PF__BK_IN | PF__BK_HUP)));

    /* Removing the first keeps the array compact: the last takes its
     * place, and still reports under its own word. */
    pf__pollset_del(&ps, a[0]);
    pf__pollset_del(&ps, a[0]);
    assert_int_equal(ps.n, 2);
    assert_int_equal(ps.pfd[0].fd, c[0]);
    assert_int_equal(write(c[1], "x", 1), 1);
    assert_int_equal(poll(ps.pfd, ps.n, 0), 1);
    assert_int_equal(pf__pollset_collect(&ps, ev, 8), 1);
    assert_int_equal(ev[0].data, 0xc0);
    /* The descriptor number comes back as a new registration. */
    assert_int_equal(pf__pollset_add(&ps, a[0], PF__BK_IN, 0xa1), 0);
    assert_int_equal(ps.n, 3);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(poll(ps.pfd, ps.n, 0), 2); /* a and c; b is disarmed */

    /* More ready than one wait takes: the rest come first next time. */
    int k1 = pf__pollset_collect(&ps, ev, 1);
    assert_int_equal(k1, 1);
    uintptr_t got1 = ev[0].data;
    assert_int_equal(poll(ps.pfd, ps.n, 0), 2);
    assert_int_equal(pf__pollset_collect(&ps, ev, 1), 1);
    assert_true(ev[0].data != got1 && (ev[0].data == 0xa1 || ev[0].data == 0xc0));

    pf__pollset_free(&ps);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(c[i]);
    }
    close(b[0]);
}

/* ---- names, and the combination refused -------------------------------- */

static void test_names_and_refusal(void **state)
{
    pf_backend b;
    pf_server *srv;
    (void)state;

    for (int i = 0; i < 3; i++) {
        assert_int_equal(pf_backend_parse(pf_backend_name((pf_backend)i), &b), 0);
        assert_int_equal(b, i);
    }
    assert_null(pf_backend_name((pf_backend)3));
    assert_int_equal(pf_backend_parse("select", &b), -EINVAL);
    for (int m = 0; m < 4; m++)
        for (int k = 0; k < 3; k++) {
            pf_server_conf conf = { .mode = (pf_mode)m, .backend = (pf_backend)k, .no_signals = 1 };
            int refused = k == PF_BACKEND_SIGIO && m == PF_MODE_LF;
            assert_int_equal(pf_backend_refuses(&conf) != NULL, refused);
            assert_int_equal(pf_server_new(&srv, &conf), refused ? -ENOTSUP : 0);
            if (!refused)
                pf_server_free(srv);
        }
    pf_server_conf bad = { .backend = (pf_backend)3 };
    assert_int_equal(pf_server_new(&srv, &bad), -EINVAL);

    /* The command line says why, in one line, and exits 2. */
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", "--mode", "lf", "--backend", "sigio", NULL };
    assert_int_equal(h_spawn(&sp, "echod", 1, 0, args), -1);
    int status = h_wait(&sp, 5000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    assert_non_null(strstr(sp.lines, "--backend sigio cannot run --mode lf"));
    h_kill(&sp);
}

/* ---- held back, then resumed ----------------------------------------------- */

/* A client pipelines far more than its output limit allows and does not
 * read: the server stops reading it, with input known to be waiting and
 * output known to be blocked, and the level backends must not report that
 * descriptor again and again.  An idle client and a half-closed one sit
 * beside it.  Then the client reads, and every reply comes, in order. */
static void held_back(pf_mode mode, pf_backend b)
{
    running r;
    h_client c, idle;
    enum { LINES = 32000, WIDTH = 1000 }; /* 32 MB: more than the socket buffers */

    start(&r, mode, b, 16384);
    echo_client(&c, r.port, 1, LINES, WIDTH);
    echo_client(&idle, r.port, 2, 1, WIDTH);
    int half = h_connect(r.port, 0);
    assert_int_equal(h_send_all(half, "half\n", 5), 0);
    shutdown(half, SHUT_WR);
    while (c.sent < c.reqlen) {
        struct pollfd p = { c.fd, POLLOUT, 0 };
        if (poll(&p, 1, 500) <= 0)
            break; /* both directions are full */
        ssize_t w = send(c.fd, c.req + c.sent, c.reqlen - c.sent, MSG_NOSIGNAL);
        if (w > 0)
            c.sent += (size_t)w;
    }
    assert_true(c.sent < c.reqlen);
    double t0 = cpu_seconds();
    struct timespec hold = { 1, 0 };
    nanosleep(&hold, NULL);
    double used = cpu_seconds() - t0;
    print_message("%s/%s: %.3f s of CPU while held back for 1 s\n", pf_mode_name(mode),
                  pf_backend_name(b), used);
    assert_true(used < 0.5);

    h_client both[2] = { c, idle };
    assert_int_equal(h_run_clients(both, 2, 30000), 2);
    char out[8];
    int eof;
    assert_int_equal(h_recv_n(half, out, 5, 5000, &eof), 5);
    assert_memory_equal(out, "half\n", 5);
    assert_int_equal(h_wait_eof(half, 5000), 1);
    close(half);
    h_client_free(&both[0]);
    h_client_free(&both[1]);
    stop(&r);
}

static void test_held_back(void **state)
{
    static const pf_mode modes[] = { PF_MODE_HSHA, PF_MODE_REACTOR, PF_MODE_LF, PF_MODE_INLINE };
    (void)state;
    for (int k = 0; k < 3; k++)
        for (int m = 0; m < 4; m++)
            if (!(k == PF_BACKEND_SIGIO && modes[m] == PF_MODE_LF))
                held_back(modes[m], (pf_backend)k);
}

/* ---- sigio: the signal queue overflows ------------------------------------ */

/* With RLIMIT_SIGPENDING at 1, nearly every readiness change finds the
 * real-time queue full: the kernel sends SIGIO instead, and only the poll
 * sweep finds what changed.  Every client is answered in full all the
 * same, in each mode sigio runs. */
static void test_sigio_overflow(void **state)
{
    static const pf_mode modes[] = { PF_MODE_HSHA, PF_MODE_REACTOR, PF_MODE_INLINE };
    enum { C = 32 };
    struct rlimit old, one;
    (void)state;

    int done[3];
    uint64_t sweeps[3];

    assert_int_equal(getrlimit(RLIMIT_SIGPENDING, &old), 0);
    one = old;
    one.rlim_cur = 1;
    assert_int_equal(setrlimit(RLIMIT_SIGPENDING, &one), 0);
    for (int m = 0; m < 3; m++) {
        running r;
        h_client cs[C];
        start(&r, modes[m], PF_BACKEND_SIGIO, 0);
        for (int i = 0; i < C; i++)
            echo_client(&cs[i], r.port, i, 2000, 40);
        done[m] = h_run_clients(cs, C, 30000);
        for (int i = 0; i < C; i++)
            h_client_free(&cs[i]);
        sweeps[m] = stop(&r).backend_sweeps;
        print_message("sigio %s: %d of %d clients whole, %llu sweeps\n", pf_mode_name(modes[m]),
                      done[m], C, (unsigned long long)sweeps[m]);
    }
    /* Given back before any check can end the test: the later tests must
     * not run with one pending signal. */
    setrlimit(RLIMIT_SIGPENDING, &old);
    for (int m = 0; m < 3; m++) {
        assert_int_equal(done[m], C);
        assert_true(sweeps[m] > 0);
    }
}

/* ---- a report that finds the connection's job running --------------------- */

static void stall(int signo, void *arg)
{
    (void)arg;
    if (signo == SIGUSR1)
        usleep(400 * 1000);
}

/* reactor: the loop is held 400 ms (a SIGUSR1 handler); a handler timer
 * falls due, and the client sends a line, meanwhile.  When the loop
 * wakes, the timer starts a job before the line's report is dispatched,
 * which the loop cannot take then: the report must come back at the
 * re-arm, or the line is never read.  (sigio lost it, found in review.) */
static int report_during_job(pf_backend b)
{
    pf_server *srv;
    pthread_t t;
    pf_server_conf conf = { .mode = PF_MODE_REACTOR, .backend = b, .threads = 2,
                            .handoff = PF_HANDOFF_ALWAYS, .on_signal = stall };
    pf_listen_conf lc = { .service = &ln_svc };
    char addr[64], buf[8];
    int eof = 0;
    void *rv;

    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    assert_int_equal(pf_server_address(srv, 0, addr, sizeof(addr)), 0);
    pthread_create(&t, NULL, run_server, srv);
    int fd = h_connect((unsigned)atoi(strrchr(addr, ':') + 1), 0);
    assert_int_equal(h_send_all(fd, "arm\n", 4), 0);
    assert_int_equal(h_recv_n(fd, buf, 4, 5000, &eof), 4);
    pthread_kill(t, SIGUSR1);
    usleep(200 * 1000);
    assert_int_equal(h_send_all(fd, "x\n", 2), 0);
    ssize_t n = h_recv_n(fd, buf, 4, 5000, &eof);
    close(fd);
    pf_server_stop(srv);
    pthread_join(t, &rv);
    pf_server_free(srv);
    print_message("%s: %zd of 4 bytes after the stall\n", pf_backend_name(b), n);
    return n == 4 && (memcmp(buf, "T\nx\n", 4) == 0 || memcmp(buf, "x\nT\n", 4) == 0);
}

static void test_report_during_job(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++)
        assert_true(report_during_job((pf_backend)k));
}

/* ---- sigio: a descriptor number used again -------------------------------- */

static int listener(unsigned *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 8), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return l;
}

/* A connection is reset by its peer (a POLL_ERR signal queued) and closed
 * by the loop before it reads that signal; the next connection gets the
 * same number.  The stale signal must not be taken for the new one's: an
 * ERR would reset a healthy connection.  (Found in review.) */
static void test_sigio_fd_reuse(void **state)
{
    const pf__backend *bk = &pf__backend_sigio;
    const uint32_t in = PF__BK_IN | PF__BK_RDHUP | PF__BK_ONESHOT;
    atomic_uint_fast64_t overflows = 0;
    pf__bev ev[8];
    unsigned port;
    void *st;
    (void)state;

    int l = listener(&port);
    assert_int_equal(bk->init(&st, &overflows), 0);
    int ca = h_connect(port, 0), a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_int_equal(bk->add(st, a, PF__BK_ONESHOT, 0xa0), 0);
    assert_int_equal(bk->mod(st, a, in, 0xa0), 0);
    bk->wait(st, ev, 8, 0); /* the report assumed at add */
    assert_int_equal(bk->mod(st, a, in, 0xa0), 0);
    struct linger lg = { 1, 0 };
    setsockopt(ca, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(ca); /* a reset: its signal is queued for a */
    usleep(50 * 1000);
    bk->del(st, a);
    close(a);
    int cb = h_connect(port, 0), b = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_int_equal(b, a);
    assert_int_equal(bk->add(st, b, PF__BK_ONESHOT, 0xb0), 0);
    assert_int_equal(bk->mod(st, b, in, 0xb0), 0);
    int n = bk->wait(st, ev, 8, 0);
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += ev[i].data != 0xb0 || (ev[i].events & (PF__BK_ERR | PF__BK_HUP));
    bk->del(st, b);
    close(b);
    close(cb);
    close(l);
    bk->fini(st);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pollset),
        cmocka_unit_test_teardown(test_names_and_refusal, h_teardown),
        cmocka_unit_test(test_held_back),
        cmocka_unit_test(test_sigio_overflow),
        cmocka_unit_test(test_report_during_job),
        cmocka_unit_test(test_sigio_fd_reuse),
    };
    signal(SIGPIPE, SIG_IGN);
    h_raise_nofile();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
