/* Slow handlers must not stall the others (issue 12 item 11): the worker
 * pool of hsha and reactor grows while workers are blocked in handlers and
 * jobs wait, up to max_threads, and shrinks back when they are idle.
 *
 * A protocol of two lines: "z\n" blocks its worker for SLEEP_MS and answers
 * "Z\n"; "e\n" answers "E\n" at once.  The checks are on order, not on
 * time: every quick client is answered before any sleeper wakes (the
 * sleepers' wake count is read when the quick replies are all in). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "../integ/harness.h"
#include "test_lines.h"
#include "protofsm/server.h"
#include "protofsm/stats.h"

#define SLEEP_MS 2500

enum { EV_Z = PF_EV__BUILTIN, EV_E, EV_Y, EV_W, EV_B, NEV };

static atomic_int asleep, woke, y_running, w_ms, w_done, bs_ms, b_done;
static pf_handoff handoff; /* start()'s */

static ssize_t zz_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    ssize_t n = pf_test_line_frame(pp, buf, len, out);
    if (n > 0)
        out->event = buf[0] == 'z'   ? EV_Z
                     : buf[0] == 'y' ? EV_Y
                     : buf[0] == 'w' ? EV_W
                     : buf[0] == 'b' ? EV_B
                                     : EV_E;
    return n;
}

static int on_z(pf_session *s, const pf_packet *pkt)
{
    struct timespec ts = { SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L };
    (void)pkt;
    atomic_fetch_add(&asleep, 1);
    nanosleep(&ts, NULL);
    atomic_fetch_add(&woke, 1);
    return pf_reply(s, "Z\n", 2) < 0 ? PF_CLOSE : PF_NEXT;
}

static int on_e(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply(s, "E\n", 2) < 0 ? PF_CLOSE : PF_NEXT;
}

/* Busy for 50 ms: long enough for jobs to gather in the queue behind it. */
static int on_y(pf_session *s, const pf_packet *pkt)
{
    struct timespec ts = { 0, 50000000L };
    (void)pkt;
    atomic_store(&y_running, 1);
    nanosleep(&ts, NULL);
    return pf_reply(s, "Y\n", 2) < 0 ? PF_CLOSE : PF_NEXT;
}

/* Quick until the test sets w_ms: a handler cheap so far that blocks. */
static int on_w(pf_session *s, const pf_packet *pkt)
{
    int ms = atomic_load(&w_ms);
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    (void)pkt;
    if (ms)
        nanosleep(&ts, NULL);
    if (atomic_load(&bs_ms))
        pf_session_set_data(s, (void *)1); /* zz_before_send sleeps for it */
    else
        atomic_fetch_add(&w_done, 1);
    return pf_reply(s, "W\n", 2) < 0 ? PF_CLOSE : PF_NEXT;
}

/* The listener's before_send: quick, except after a w while bs_ms is set
 * (kvd's fsync before the replies of a write, say). */
static int zz_before_send(pf_session *s)
{
    int ms = atomic_load(&bs_ms);
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    if (pf_session_data(s)) {
        pf_session_set_data(s, NULL);
        nanosleep(&ts, NULL);
        atomic_fetch_add(&w_done, 1);
    }
    return 0;
}

/* Busy for 200 us without sleeping: cheap enough to run on the owner,
 * dear enough that a long pipeline of them must not all run there. */
static int on_b(pf_session *s, const pf_packet *pkt)
{
    uint64_t t0 = h_now_us();
    (void)pkt;
    while (h_now_us() - t0 < 200)
        ;
    atomic_fetch_add(&b_done, 1);
    return pf_reply(s, "B\n", 2) < 0 ? PF_CLOSE : PF_NEXT;
}

static const pf_handler handlers[] = { NULL, on_z, on_e, on_y, on_w, on_b };
static const pf_fsm_cell cells[NEV] = {
    [PF_EV_OPEN] = { PF_FSM_NOROW, 0, 0 },  [PF_EV_CLOSE] = { PF_FSM_NOROW, 0, 0 },
    [PF_EV_TIMEOUT] = { PF_FSM_NOROW, 0, 0 }, [PF_EV_DRAIN] = { PF_FSM_NOROW, 0, 0 },
    [EV_Z] = { 0, 1, 0 }, [EV_E] = { 0, 2, 0 }, [EV_Y] = { 0, 3, 0 }, [EV_W] = { 0, 4, 0 },
    [EV_B] = { 0, 5, 0 },
};
static const char *const snames[] = { "S" };
static const char *const enames[] = { "OPEN", "CLOSE", "TIMEOUT", "DRAIN", "Z",
                                      "E",    "Y",     "W",       "B" };
static const pf_events zz_events = { "zz", "test_pool.c", NEV, enames };
static const uint8_t finals[] = { 0 };
static const pf_fsm zz_fsm = {
    .name = "zz", .source = "test_pool.c", .kind = PF_FSM_DISPATCH, .nstates = 1,
    .nevents = NEV, .start = 0, .state_names = snames, .events = &zz_events,
    .final = finals, .table = cells, .nhandlers = 6,
};
static const pf_protocol zz_proto = {
    .name = "zz", .events = &zz_events, .parser_size = sizeof(pf_test_line_parser),
    .parser_init = pf_test_line_init, .parse = zz_parse,
};
static const pf_service zz_svc = { &zz_proto, &zz_fsm, handlers };

typedef struct {
    pf_server *srv;
    pthread_t t;
    unsigned port;
} running;

static void *run_server(void *arg) { return (void *)(intptr_t)pf_server_run(arg); }

static void start(running *r, pf_mode mode, unsigned threads, unsigned max_threads)
{
    pf_server_conf conf = { .mode = mode, .backend = h_backend(mode),
                            .threads = threads, .max_threads = max_threads,
                            .no_signals = 1, .handoff = handoff,
                            /* 2 ms: a quick handler stays cheap under
                             * the sanitizers and a preemption or two; a
                             * stall is then over 100 ms */
                            .cheap_us = 2000 };
    pf_listen_conf lc = { .service = &zz_svc, .before_send = zz_before_send };
    char addr[64];

    atomic_store(&asleep, 0);
    atomic_store(&woke, 0);
    assert_int_equal(pf_server_new(&r->srv, &conf), 0);
    assert_int_equal(pf_server_listen(r->srv, "127.0.0.1", 0, &lc), 0);
    assert_int_equal(pf_server_address(r->srv, 0, addr, sizeof(addr)), 0);
    r->port = (unsigned)atoi(strrchr(addr, ':') + 1);
    pthread_create(&r->t, NULL, run_server, r->srv);
}

static void stop(running *r)
{
    void *rv;
    pf_server_stop(r->srv);
    pthread_join(r->t, &rv);
    pf_server_free(r->srv);
    assert_int_equal((int)(intptr_t)rv, 0);
}

static pf_server_stats stats(running *r)
{
    pf_server_stats st;
    pf_server_stats_get(r->srv, &st);
    return st;
}

/* Wait (bounded) until `n` handlers are asleep. */
static int wait_asleep(int n)
{
    uint64_t t0 = h_now_ms();
    while (atomic_load(&asleep) < n && h_now_ms() - t0 < 2000) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    return atomic_load(&asleep);
}

static int roundtrip(int fd, const char *req, const char *want)
{
    char b[8];
    int eof;
    h_send_all(fd, req, strlen(req));
    if (h_recv_n(fd, b, strlen(want), SLEEP_MS * 3, &eof) != (ssize_t)strlen(want))
        return -1;
    return memcmp(b, want, strlen(want)) == 0 ? 0 : -1;
}

/* `slow` sleepers hold every worker (threads of them) and more; then
 * `quick` clients each ask once.  Returns how many sleepers had woken when
 * the last quick answer came (0: nobody waited behind them). */
static int quick_behind_slow(running *r, int slow, int quick)
{
    int zs[16], woke_then, woke0 = atomic_load(&woke), asleep0 = atomic_load(&asleep);

    assert_true(slow <= 16);
    for (int i = 0; i < slow; i++) {
        zs[i] = h_connect(r->port, 0);
        h_send_all(zs[i], "z\n", 2);
    }
    wait_asleep(asleep0 + 1);
    for (int i = 0; i < quick; i++) {
        int fd = h_connect(r->port, 0);
        assert_int_equal(roundtrip(fd, "e\n", "E\n"), 0);
        close(fd);
    }
    woke_then = atomic_load(&woke) - woke0;
    for (int i = 0; i < slow; i++) {
        char b[2];
        int eof;
        assert_int_equal(h_recv_n(zs[i], b, 2, SLEEP_MS * 3, &eof), 2);
        assert_memory_equal(b, "Z\n", 2);
        close(zs[i]);
    }
    return woke_then;
}

/* As many sleepers as workers, and twice as many: quick clients are all
 * answered while every sleeper still sleeps; the sleepers started at
 * once, each on a worker of its own. */
static void compensated(pf_mode mode)
{
    running r;
    start(&r, mode, 2, 0);
    assert_int_equal(quick_behind_slow(&r, 2, 5), 0);
    assert_int_equal(quick_behind_slow(&r, 4, 5), 0);
    pf_server_stats st = stats(&r);
    print_message("%s: %llu workers now, %llu added\n", pf_mode_name(mode),
                  (unsigned long long)st.workers, (unsigned long long)st.workers_added);
    assert_true(st.workers_added >= 2);
    stop(&r);
}

static void test_hsha_compensated(void **state) { (void)state; compensated(PF_MODE_HSHA); }
static void test_reactor_compensated(void **state) { (void)state; compensated(PF_MODE_REACTOR); }

/* A blocked worker holds neither the jobs of its batch it has not started
 * (others run them) nor the replies of those it finished before the slow
 * one (they are completed without it).  "y" holds the one worker for 50 ms
 * while quick clients and a sleeper queue up behind it, the sleeper a
 * third of the way in; a worker then takes them in one batch.  Every quick
 * one is answered before the sleeper wakes. */
static void test_batch_not_held(void **state)
{
    running r;
    enum { Q = 12 };
    int fds[Q], y, z;
    char b[2];
    int eof;
    (void)state;
    start(&r, PF_MODE_HSHA, 1, 8);
    atomic_store(&y_running, 0);
    y = h_connect(r.port, 0);
    z = h_connect(r.port, 0);
    for (int i = 0; i < Q; i++)
        fds[i] = h_connect(r.port, 0);
    h_send_all(y, "y\n", 2);
    while (!atomic_load(&y_running))
        sched_yield();
    for (int i = 0; i < Q; i++) {
        if (i == Q / 3)
            h_send_all(z, "z\n", 2);
        h_send_all(fds[i], "e\n", 2);
    }
    for (int i = 0; i < Q; i++) {
        assert_int_equal(h_recv_n(fds[i], b, 2, SLEEP_MS * 3, &eof), 2);
        assert_memory_equal(b, "E\n", 2);
        close(fds[i]);
    }
    assert_int_equal(atomic_load(&woke), 0);
    assert_int_equal(h_recv_n(z, b, 2, SLEEP_MS * 3, &eof), 2);
    assert_int_equal(h_recv_n(y, b, 2, SLEEP_MS * 3, &eof), 2);
    close(z);
    close(y);
    stop(&r);
}

/* max_threads bounds the growth: one worker, at most three, eight
 * sleepers: never more than three workers, three asleep at a time; all
 * eight are answered, in three rounds. */
static void test_bounded(void **state)
{
    running r;
    enum { Z = 8 };
    int zs[Z];
    unsigned most = 0;
    (void)state;
    start(&r, PF_MODE_HSHA, 1, 3);
    for (int i = 0; i < Z; i++) {
        zs[i] = h_connect(r.port, 0);
        h_send_all(zs[i], "z\n", 2);
    }
    assert_int_equal(wait_asleep(3), 3);
    uint64_t t0 = h_now_ms();
    while (h_now_ms() - t0 < 300) {
        pf_server_stats st = stats(&r);
        if (st.workers > most)
            most = (unsigned)st.workers;
    }
    assert_int_equal(atomic_load(&asleep) - atomic_load(&woke), 3);
    assert_int_equal(most, 3);
    for (int i = 0; i < Z; i++) {
        char b[2];
        int eof;
        assert_int_equal(h_recv_n(zs[i], b, 2, SLEEP_MS * 5, &eof), 2);
        close(zs[i]);
    }
    stop(&r);
}

/* max_threads = threads is a fixed pool: a quick client waits behind the
 * sleepers (the behaviour a service opts into, and the knob is honoured;
 * every job to the workers, so that a quick one cannot skip the wait). */
static void test_fixed_pool(void **state)
{
    running r;
    (void)state;
    handoff = PF_HANDOFF_ALWAYS;
    start(&r, PF_MODE_HSHA, 1, 1);
    handoff = PF_HANDOFF_ADAPTIVE;
    assert_true(quick_behind_slow(&r, 1, 1) == 1);
    assert_int_equal(stats(&r).workers_added, 0);
    stop(&r);
}

/* The extras end once idle (5 s): back to `threads` workers. */
static void test_extras_retire(void **state)
{
    running r;
    (void)state;
    start(&r, PF_MODE_HSHA, 1, 0);
    assert_int_equal(quick_behind_slow(&r, 3, 1), 0);
    assert_true(stats(&r).workers >= 3);
    uint64_t t0 = h_now_ms();
    while (stats(&r).workers > 1 && h_now_ms() - t0 < 9000) {
        struct timespec ts = { 0, 50000000 };
        nanosleep(&ts, NULL);
    }
    assert_int_equal(stats(&r).workers, 1);
    /* And it grows again when needed. */
    assert_int_equal(quick_behind_slow(&r, 1, 2), 0);
    stop(&r);
}

/* owner_stalls once it reaches `want` (bounded wait): a reactor job
 * writes its reply before the owner counts its stall. */
static uint64_t stalls_reach(running *r, uint64_t want)
{
    uint64_t t0 = h_now_ms();
    while (stats(r).owner_stalls < want && h_now_ms() - t0 < 2000) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    return stats(r).owner_stalls;
}

/* Quick round trips until one runs on the owner (bounded): a preempted
 * sample may have left the average over the line for a few runs. */
static void settle(running *r, int fd, const char *req, const char *want)
{
    for (int i = 0; i < 200; i++) {
        uint64_t before = stats(r).owner_jobs;
        assert_int_equal(roundtrip(fd, req, want), 0);
        if (stats(r).owner_jobs > before)
            return;
    }
    fail_msg("quick requests never ran on the owner");
}

/* n round trips of `req` on one connection. */
static void rounds(running *r, int fd, const char *req, const char *want, int n)
{
    (void)r;
    for (int i = 0; i < n; i++)
        assert_int_equal(roundtrip(fd, req, want), 0);
}

/* The adaptive hand-off (cheap.c): a handler seen to be cheap runs on the
 * I/O thread (lf: on the leader, which keeps the loop) (owner_jobs); one
 * that sleeps does not (hsha knows a job's events before it starts: never;
 * reactor and lf judge the listener: once, a stall, then not); with
 * PF_HANDOFF_ALWAYS nothing does. */
static void cheap_on_owner(pf_mode mode)
{
    running r;
    start(&r, mode, 2, 0);
    int fd = h_connect(r.port, 0);
    rounds(&r, fd, "e\n", "E\n", 40);
    pf_server_stats st = stats(&r);
    print_message("%s: owner ran %llu of 40 jobs\n", pf_mode_name(mode),
                  (unsigned long long)st.owner_jobs);
    assert_true(st.owner_jobs >= 20);
    settle(&r, fd, "e\n", "E\n");
    st = stats(&r);
    atomic_store(&w_ms, 300);
    rounds(&r, fd, "w\n", "W\n", 3); /* 300 ms each, never seen before */
    atomic_store(&w_ms, 0);
    if (mode == PF_MODE_HSHA) {
        pf_server_stats st2 = stats(&r);
        assert_int_equal(st2.owner_jobs, st.owner_jobs);
        assert_int_equal(st2.owner_stalls, 0);
    } else {
        assert_int_equal(stalls_reach(&r, 1), 1);
        assert_int_equal(stats(&r).owner_jobs, st.owner_jobs + 1);
    }
    close(fd);
    stop(&r);

    handoff = PF_HANDOFF_ALWAYS;
    start(&r, mode, 2, 0);
    handoff = PF_HANDOFF_ADAPTIVE;
    fd = h_connect(r.port, 0);
    rounds(&r, fd, "e\n", "E\n", 40);
    assert_int_equal(stats(&r).owner_jobs, 0);
    close(fd);
    stop(&r);
}

static void test_hsha_cheap_on_owner(void **state) { (void)state; cheap_on_owner(PF_MODE_HSHA); }
static void test_reactor_cheap_on_owner(void **state)
{
    (void)state;
    cheap_on_owner(PF_MODE_REACTOR);
}
static void test_lf_cheap_on_owner(void **state) { (void)state; cheap_on_owner(PF_MODE_LF); }

/* A handler cheap so far that blocks stalls the loop once (owner_stalls),
 * then goes back to the workers: the next time it blocks, another client's
 * quick request is answered while it sleeps.  The same when what blocks
 * is the listener's before_send after that handler (in_before_send). */
static void stall_goes_back(pf_mode mode, int in_before_send)
{
    running r;
    char b[2];
    int eof;
    atomic_store(&w_ms, 0);
    atomic_store(&bs_ms, 0);
    atomic_store(&w_done, 0);
    start(&r, mode, 2, 0);
    int a = h_connect(r.port, 0), q = h_connect(r.port, 0);
    rounds(&r, a, "w\n", "W\n", 20);
    rounds(&r, q, "e\n", "E\n", 20);
    assert_true(stats(&r).owner_jobs > 0);
    assert_int_equal(stats(&r).owner_stalls, 0);
    settle(&r, a, "w\n", "W\n");
    atomic_store(in_before_send ? &bs_ms : &w_ms, 300);
    rounds(&r, a, "w\n", "W\n", 1); /* on the owner: a stall */
    assert_int_equal(stalls_reach(&r, 1), 1);
    int done = atomic_load(&w_done);
    h_send_all(a, "w\n", 2);
    assert_int_equal(roundtrip(q, "e\n", "E\n"), 0);
    assert_int_equal(atomic_load(&w_done), done); /* answered while w sleeps */
    assert_int_equal(h_recv_n(a, b, 2, SLEEP_MS * 3, &eof), 2);
    assert_int_equal(stats(&r).owner_stalls, 1);
    atomic_store(&w_ms, 0);
    atomic_store(&bs_ms, 0);
    close(a);
    close(q);
    stop(&r);
}

static void test_stall_goes_back(void **state)
{
    (void)state;
    for (int bs = 0; bs < 2; bs++) {
        stall_goes_back(PF_MODE_HSHA, bs);
        stall_goes_back(PF_MODE_REACTOR, bs);
        stall_goes_back(PF_MODE_LF, bs);
    }
}

/* One client's long pipeline of cheap packets is not run on the owner
 * whole: past the turn's budget the rest goes to a worker (reactor, lf:
 * the job's quota; hsha: a job's batch, and what its completion starts),
 * so another client's request is answered while the pipeline is still
 * being handled. */
static void pipeline_shares(pf_mode mode)
{
    enum { N = 1000 }; /* 200 ms of handler time; the budget is 50 ms */
    running r;
    char *burst = malloc(2 * N), *got = malloc(2 * N);
    int eof;
    assert_true(burst && got);
    for (int i = 0; i < N; i++)
        memcpy(burst + 2 * i, "b\n", 2);
    atomic_store(&b_done, 0);
    start(&r, mode, 2, 0);
    int a = h_connect(r.port, 0), q = h_connect(r.port, 0);
    rounds(&r, a, "b\n", "B\n", 30); /* learnt: cheap, about 200 us */
    settle(&r, a, "b\n", "B\n");
    int base = atomic_load(&b_done);
    h_send_all(a, burst, 2 * N);
    while (atomic_load(&b_done) == base)
        sched_yield();
    assert_int_equal(roundtrip(q, "e\n", "E\n"), 0);
    int then = atomic_load(&b_done) - base;
    print_message("%s: e answered after %d of %d b\n", pf_mode_name(mode), then, N);
    assert_true(then < N);
    assert_int_equal(h_recv_n(a, got, 2 * N, SLEEP_MS * 3, &eof), 2 * N);
    close(a);
    close(q);
    stop(&r);
    free(burst);
    free(got);
}

static void test_pipeline_shares(void **state)
{
    (void)state;
    pipeline_shares(PF_MODE_HSHA);
    pipeline_shares(PF_MODE_REACTOR);
    pipeline_shares(PF_MODE_LF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_hsha_compensated, h_teardown),
        cmocka_unit_test_teardown(test_reactor_compensated, h_teardown),
        cmocka_unit_test_teardown(test_batch_not_held, h_teardown),
        cmocka_unit_test_teardown(test_bounded, h_teardown),
        cmocka_unit_test_teardown(test_fixed_pool, h_teardown),
        cmocka_unit_test_teardown(test_extras_retire, h_teardown),
        cmocka_unit_test_teardown(test_hsha_cheap_on_owner, h_teardown),
        cmocka_unit_test_teardown(test_reactor_cheap_on_owner, h_teardown),
        cmocka_unit_test_teardown(test_lf_cheap_on_owner, h_teardown),
        cmocka_unit_test_teardown(test_stall_goes_back, h_teardown),
        cmocka_unit_test_teardown(test_pipeline_shares, h_teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
