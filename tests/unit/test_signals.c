/* SIGTERM/SIGINT through the server's signalfd, in-process.
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
#include <unistd.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ignored_sigint_still_drains),
        cmocka_unit_test(test_ignored_sigterm_still_drains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
