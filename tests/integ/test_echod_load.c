/* echod under load, in every mode: 1,000 concurrent clients with pipelined
 * requests, every reply checked byte for byte and in order; and SIGTERM in
 * the middle of a load with blocking handlers: every request the server had
 * received is answered, every connection is closed cleanly, exit status 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#define NCLIENTS 1000
#define NREQ 20

static h_client clients[NCLIENTS];

static void many_clients(const char *mode)
{
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", "--mode", mode, NULL };

    h_raise_nofile();
    assert_int_equal(h_spawn(&sp, "echod", 1, 0, args), 0);
    for (int i = 0; i < NCLIENTS; i++) {
        h_line_client(&clients[i], sp.port, i, NREQ, 0, 1);
        assert_true(clients[i].fd >= 0);
    }
    int done = h_run_clients(clients, NCLIENTS, 30000);
    int failed = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        failed += clients[i].failed;
        /* After QUIT the server closes: EOF, nothing more. */
        if (clients[i].done)
            failed += h_wait_eof(clients[i].fd, 5000) != 1;
        h_client_free(&clients[i]);
    }
    kill(sp.pid, SIGTERM);
    int st = h_wait(&sp, 10000);
    h_kill(&sp);
    assert_int_equal(failed, 0);
    assert_int_equal(done, NCLIENTS);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_many_hsha(void **state) { (void)state; many_clients("hsha"); }
static void test_many_reactor(void **state) { (void)state; many_clients("reactor"); }
static void test_many_lf(void **state) { (void)state; many_clients("lf"); }
static void test_many_inline(void **state) { (void)state; many_clients("inline"); }

#define DCLIENTS 200
#define DREQ 20

/* Every client is accepted and greeted (HELLO answered); then each sends
 * its 20 ECHOs and 10 SLEEP 1s in one write, and SIGTERM follows at once:
 * about a second of blocking work is queued or in the sockets when the drain
 * starts, and all of it must be answered. */
static void drain_under_load(const char *mode)
{
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", "--mode", mode, "--drain-timeout", "20", NULL };
    size_t full[DCLIENTS];

    h_raise_nofile();
    assert_int_equal(h_spawn(&sp, "echod", 1, 0, args), 0);
    for (int i = 0; i < DCLIENTS; i++) {
        h_line_client(&clients[i], sp.port, i, DREQ, 2, 0);
        assert_true(clients[i].fd >= 0);
        full[i] = clients[i].reqlen;
        clients[i].reqlen = (size_t)snprintf(NULL, 0, "HELLO c%d\r\n", i);
        clients[i].want = (size_t)snprintf(NULL, 0, "+OK hello c%d\r\n", i);
    }
    assert_int_equal(h_run_clients(clients, DCLIENTS, 20000), DCLIENTS);
    int sent = 0;
    for (int i = 0; i < DCLIENTS; i++) {
        h_client *c = &clients[i];
        c->reqlen = full[i];
        sent += h_send_all(c->fd, c->req + c->sent, c->reqlen - c->sent) == 0;
        c->sent = c->reqlen;
    }
    /* "Received" means in the server's socket, not only sent by us. */
    for (int i = 0; i < DCLIENTS; i++)
        assert_int_equal(h_wait_acked(clients[i].fd, 5000), 0);
    kill(sp.pid, SIGTERM);
    assert_int_equal(sent, DCLIENTS);
    for (int i = 0; i < DCLIENTS; i++) {
        clients[i].want = 0;
        clients[i].done = 0;
    }
    int done = h_run_clients(clients, DCLIENTS, 30000);
    int eofs = 0, failed = 0;
    for (int i = 0; i < DCLIENTS; i++) {
        failed += clients[i].failed;
        if (clients[i].done)
            eofs += h_wait_eof(clients[i].fd, 10000) == 1;
        h_client_free(&clients[i]);
    }
    int st = h_wait(&sp, 10000);
    h_kill(&sp);
    assert_int_equal(failed, 0);
    assert_int_equal(done, DCLIENTS);
    assert_int_equal(eofs, DCLIENTS);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_drain_hsha(void **state) { (void)state; drain_under_load("hsha"); }
static void test_drain_reactor(void **state) { (void)state; drain_under_load("reactor"); }
static void test_drain_lf(void **state) { (void)state; drain_under_load("lf"); }
static void test_drain_inline(void **state) { (void)state; drain_under_load("inline"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_many_hsha, h_teardown),   cmocka_unit_test_teardown(test_many_reactor, h_teardown),
        cmocka_unit_test_teardown(test_many_lf, h_teardown),     cmocka_unit_test_teardown(test_many_inline, h_teardown),
        cmocka_unit_test_teardown(test_drain_hsha, h_teardown),  cmocka_unit_test_teardown(test_drain_reactor, h_teardown),
        cmocka_unit_test_teardown(test_drain_lf, h_teardown),    cmocka_unit_test_teardown(test_drain_inline, h_teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
