/* Signals through the server's signalfd, in-process: SIGTERM/SIGINT drain,
 * SIGHUP/SIGUSR1/SIGUSR2 go to the service, SIGALRM is ignored.
 *
 * A shell starts background jobs with SIGINT ignored, and an ignored signal
 * is dropped when sent: the server must still drain on `kill -INT`, and
 * give the caller its disposition back afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../integ/harness.h"
#include "echo/echo.h"
#include "line.h"
#include "protofsm/server.h"

static void *run_server(void *arg)
{
    return (void *)(intptr_t)pf_server_run(arg);
}

/* Runs a server, sends `sig` to the process, expects a clean drain. */
static void drains_on(int sig)
{
    pf_server *srv;
    pf_server_conf conf = { .mode = PF_MODE_HSHA, .threads = 1 };
    pf_listen_conf lc = { .service = &pf_echo_service };
    pthread_t t;
    void *rv;
    struct timespec limit;

    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_true(pf_server_listen(srv, "127.0.0.1", 0, &lc) >= 0);
    /* This thread is one of "your own": it blocks them, as server.h asks. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_create(&t, NULL, run_server, srv);
    /* The server has taken the signals once their disposition is no longer
     * SIG_IGN (an ignored signal sent before that is simply dropped). */
    struct sigaction now;
    for (int i = 0; i < 10000; i++) {
        sigaction(sig, NULL, &now);
        if (now.sa_handler != SIG_IGN)
            break;
        usleep(1000);
    }
    assert_true(now.sa_handler != SIG_IGN);
    assert_int_equal(kill(getpid(), sig), 0);
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 10;
    /* Not drained within 10 s: the signal was lost (pthread_timedjoin_np
     * keeps a broken build from hanging the suite). */
    assert_int_equal(pthread_timedjoin_np(t, &rv, &limit), 0);
    assert_int_equal((int)(intptr_t)rv, 0);
    pf_server_free(srv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* `sig` ignored by the caller: the server still drains on it, and the
 * caller's SIG_IGN is back once the server is done. */
static void ignored_still_drains(int sig)
{
    struct sigaction ign = { .sa_handler = SIG_IGN }, now;

    assert_int_equal(sigaction(sig, &ign, NULL), 0);
    drains_on(sig);
    assert_int_equal(sigaction(sig, NULL, &now), 0);
    assert_true(now.sa_handler == SIG_IGN);
}

static void test_ignored_sigint_still_drains(void **state)
{
    (void)state;
    ignored_still_drains(SIGINT);
}

static void test_ignored_sigterm_still_drains(void **state)
{
    (void)state;
    ignored_still_drains(SIGTERM);
}

static atomic_int seen[65];

static void count_signal(int signo, void *arg)
{
    (void)arg;
    if (signo > 0 && signo < 65)
        atomic_fetch_add(&seen[signo], 1);
}

/* SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM kill a process by default, with no
 * drain (issue 12 item 12): the server takes them, hands the first three
 * to on_signal on its thread, ignores SIGALRM, and goes on serving. */
static void test_other_signals_do_not_kill(void **state)
{
    (void)state;
    pf_server *srv;
    pf_server_conf conf = { .mode = PF_MODE_HSHA, .threads = 1, .on_signal = count_signal };
    pf_listen_conf lc = { .service = &pf_echo_service };
    pthread_t t;
    void *rv;
    struct timespec limit;
    sigset_t set, old;

    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_true(pf_server_listen(srv, "127.0.0.1", 0, &lc) >= 0);
    pf_server_signals(&set); /* this thread is one of "your own" */
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_create(&t, NULL, run_server, srv);
    usleep(100 * 1000); /* the server's loop has its signalfd */
    static const int sigs[] = { SIGHUP, SIGUSR1, SIGUSR2, SIGALRM };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(kill(getpid(), sigs[i]), 0);
    for (int i = 0; i < 500 && (!atomic_load(&seen[SIGHUP]) || !atomic_load(&seen[SIGUSR1]) ||
                                !atomic_load(&seen[SIGUSR2])); i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&seen[SIGHUP]), 1);
    assert_int_equal(atomic_load(&seen[SIGUSR1]), 1);
    assert_int_equal(atomic_load(&seen[SIGUSR2]), 1);
    assert_int_equal(atomic_load(&seen[SIGALRM]), 0);
    /* still serving: a request gets its answer */
    char addr[64], rep[32];
    assert_int_equal(pf_server_address(srv, 0, addr, sizeof addr), 0);
    int fd = h_connect((unsigned)atoi(strrchr(addr, ':') + 1), 0);
    assert_int_equal(h_send_all(fd, "HELLO x\n", 8), 0);
    assert_int_equal(h_recv_n(fd, rep, 13, 5000, NULL), 13);
    assert_memory_equal(rep, "+OK hello x\r\n", 13);
    close(fd);
    assert_int_equal(kill(getpid(), SIGTERM), 0);
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 10;
    assert_int_equal(pthread_timedjoin_np(t, &rv, &limit), 0);
    assert_int_equal((int)(intptr_t)rv, 0);
    pf_server_free(srv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ignored_sigint_still_drains),
        cmocka_unit_test(test_ignored_sigterm_still_drains),
        cmocka_unit_test(test_other_signals_do_not_kill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
