/* pf_listen_conf.max_input: each listener of one server has its own largest
 * packet (a mail line and an HTTP body differ by orders of magnitude), and 0
 * falls back to the server's pf_server_conf.max_input.
 *
 * The line protocol with its own line limit raised out of the way, so the
 * buffer limit is what answers: a line that fits is echoed, one that does
 * not gets the protocol's "-ERR line too long" and a close. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "../integ/harness.h"
#include "echo/echo.h"
#include "line.h"
#include "protofsm/server.h"

static void *run_server(void *arg)
{
    return (void *)(intptr_t)pf_server_run(arg);
}

/* HELLO, then ECHO of n bytes: 1 when echoed whole, 0 when refused. */
static int echoes(unsigned port, size_t n)
{
    int fd = h_connect(port, 0), eof;
    size_t cap = n + 64;
    char *req = malloc(cap), *rep = malloc(cap);
    assert_true(fd >= 0 && req && rep);
    int k = sprintf(req, "HELLO t\nECHO ");
    memset(req + k, 'x', n);
    req[k + (int)n] = '\n';
    assert_int_equal(h_send_all(fd, req, (size_t)k + n + 1), 0);
    ssize_t got = h_recv_n(fd, rep, 13, 5000, &eof);
    assert_int_equal(got, 13);
    assert_memory_equal(rep, "+OK hello t\r\n", 13);
    got = h_recv_n(fd, rep, n + 2, 5000, &eof);
    int ok = got == (ssize_t)(n + 2) && rep[0] == 'x' && rep[n - 1] == 'x' &&
             memcmp(rep + n, "\r\n", 2) == 0;
    if (!ok)
        assert_true(got >= 20 && memcmp(rep, "-ERR line too long\r\n", 20) == 0);
    close(fd);
    free(req);
    free(rep);
    return ok;
}

static void test_per_listener_max_input(void **state)
{
    (void)state;
    pf_server *srv;
    pf_server_conf conf = { .mode = PF_MODE_HSHA, .threads = 1, .no_signals = 1,
                            .max_input = 2048 };
    pf_line_conf big_lines = { .max_line = 1 << 20 };
    pf_listen_conf small = { .service = &pf_echo_service, .proto_conf = &big_lines };
    pf_listen_conf large = small;
    large.max_input = 64 * 1024;
    pthread_t t;
    char addr[64];
    unsigned port[2];
    void *rv;

    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &small), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &large), 1);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(pf_server_address(srv, i, addr, sizeof(addr)), 0);
        port[i] = (unsigned)atoi(strrchr(addr, ':') + 1);
    }
    pthread_create(&t, NULL, run_server, srv);

    assert_int_equal(echoes(port[0], 1000), 1);
    assert_int_equal(echoes(port[0], 5000), 0);  /* the server's 2048 */
    assert_int_equal(echoes(port[1], 5000), 1);  /* its own 64 KiB */
    assert_int_equal(echoes(port[1], 50000), 1);
    assert_int_equal(echoes(port[1], 70000), 0);

    pf_server_stop(srv);
    pthread_join(t, &rv);
    assert_int_equal((int)(intptr_t)rv, 0);
    pf_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_listener_max_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
