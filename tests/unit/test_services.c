/* Services are bound per listener: one process, one server, two sites with
 * different roots and two MQTT brokers, side by side, in every mode.  A
 * file with the same name answers from its own site; a message published
 * on one broker reaches that broker's subscriber and never the other's,
 * and a retained message stays with its broker.  Also: a service whose
 * table is over another protocol's events, or with an unbound handler slot,
 * is refused before a listener opens. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../integ/harness.h"
#include "broker/broker.h"
#include "echo/echo.h"
#include "http1.h"
#include "protofsm/server.h"
#include "site/site.h"

static char roots[2][64];

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int setup(void **st)
{
    (void)st;
    for (int i = 0; i < 2; i++) {
        snprintf(roots[i], sizeof roots[i], "/tmp/pf-test-services-XXXXXX");
        if (!mkdtemp(roots[i]))
            return -1;
    }
    write_file(roots[0], "who.txt", "site one\n");
    write_file(roots[1], "who.txt", "site two\n");
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/who.txt", roots[i]);
        unlink(path);
        rmdir(roots[i]);
    }
    return 0;
}

static void *run_server(void *arg)
{
    return (void *)(intptr_t)pf_server_run(arg);
}

static unsigned port_of(pf_server *srv, unsigned i)
{
    char addr[64];
    assert_int_equal(pf_server_address(srv, i, addr, sizeof addr), 0);
    return (unsigned)atoi(strrchr(addr, ':') + 1);
}

/* GET `path` with Connection: close; the whole response, NUL-terminated. */
static char *http_get(unsigned port, const char *path)
{
    static char resp[4096];
    char req[256];
    int fd = h_connect(port, 0), eof;
    assert_true(fd >= 0);
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     path);
    assert_int_equal(h_send_all(fd, req, (size_t)n), 0);
    ssize_t got = h_recv_n(fd, resp, sizeof resp - 1, 5000, &eof);
    close(fd);
    assert_true(got > 0);
    resp[got] = 0;
    return resp;
}

/* ---- MQTT by hand ----------------------------------------------------------- */

static int mqtt_connect(unsigned port, char id)
{
    /* CONNECT, clean session, keep-alive 60 s, one-byte client id. */
    const char conn[] = { 0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, id };
    char ack[4];
    int fd = h_connect(port, 0);
    assert_true(fd >= 0);
    assert_int_equal(h_send_all(fd, conn, sizeof conn), 0);
    assert_int_equal(h_recv_n(fd, ack, 4, 5000, NULL), 4);
    assert_memory_equal(ack, "\x20\x02\x00\x00", 4);
    return fd;
}

static void mqtt_subscribe_all(int fd)
{
    static const char sub[] = "\x82\x06\x00\x01\x00\x01#\x00";
    char ack[5];
    assert_int_equal(h_send_all(fd, sub, sizeof sub - 1), 0);
    assert_int_equal(h_recv_n(fd, ack, 5, 5000, NULL), 5);
    assert_memory_equal(ack, "\x90\x03\x00\x01\x00", 5);
}

static const char publish_ab[] = "\x30\x06\x00\x03" "a/bx";      /* QoS 0 */
static const char retain_rt[] = "\x31\x07\x00\x04" "r/t" "1" "y"; /* topic r/t1 */

static void expect_nothing(int fd)
{
    char b[64];
    assert_int_equal(h_recv_n(fd, b, sizeof b, 300, NULL), 0);
}

static void expect_bytes(int fd, const char *want, size_t n)
{
    char b[64];
    assert_true(n <= sizeof b);
    assert_int_equal(h_recv_n(fd, b, n, 5000, NULL), (ssize_t)n);
    assert_memory_equal(b, want, n);
}

static void run_mode(pf_mode mode)
{
    pf_site sites[2];
    pf_broker *brokers[2] = { pf_broker_new(NULL), pf_broker_new(NULL) };
    assert_non_null(brokers[0]);
    assert_non_null(brokers[1]);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pf_site_open(&sites[i], roots[i]), 0);
    sites[0].hello = "hello\n";
    sites[0].hello_len = 6;

    pf_server *srv;
    pf_server_conf conf = { .mode = mode, .threads = 2, .no_signals = 1 };
    assert_int_equal(pf_server_new(&srv, &conf), 0);
    for (int i = 0; i < 2; i++) {
        pf_listen_conf site = { .service = &pf_site_service, .data = &sites[i] };
        pf_listen_conf broker = { .service = &pf_broker_service, .data = brokers[i] };
        assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &site), 2 * i);
        assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &broker), 2 * i + 1);
    }
    pthread_t t;
    pthread_create(&t, NULL, run_server, srv);

    /* Two sites: the same path, each from its own root; /hello only on one. */
    assert_non_null(strstr(http_get(port_of(srv, 0), "/who.txt"), "\r\n\r\nsite one\n"));
    assert_non_null(strstr(http_get(port_of(srv, 2), "/who.txt"), "\r\n\r\nsite two\n"));
    assert_non_null(strstr(http_get(port_of(srv, 0), "/hello"), "\r\n\r\nhello\n"));
    assert_true(strncmp(http_get(port_of(srv, 2), "/hello"), "HTTP/1.1 404 ", 13) == 0);

    /* Two brokers: a subscriber to everything on each; publish on the second. */
    unsigned b1 = port_of(srv, 1), b2 = port_of(srv, 3);
    int sub1 = mqtt_connect(b1, 'a'), sub2 = mqtt_connect(b2, 'b');
    mqtt_subscribe_all(sub1);
    mqtt_subscribe_all(sub2);
    int pub = mqtt_connect(b2, 'p');
    assert_int_equal(h_send_all(pub, publish_ab, sizeof publish_ab - 1), 0);
    expect_bytes(sub2, publish_ab, sizeof publish_ab - 1);
    expect_nothing(sub1);

    /* A retained message stays with its broker. */
    assert_int_equal(h_send_all(pub, retain_rt, sizeof retain_rt - 1), 0);
    expect_bytes(sub2, "\x30\x07\x00\x04r/t1y", 9); /* live delivery: retain flag off */
    int late1 = mqtt_connect(b1, 'c'), late2 = mqtt_connect(b2, 'd');
    mqtt_subscribe_all(late1);
    mqtt_subscribe_all(late2);
    expect_bytes(late2, retain_rt, sizeof retain_rt - 1);
    expect_nothing(late1);
    pf_broker_counts c1, c2;
    pf_broker_stats(brokers[0], &c1);
    pf_broker_stats(brokers[1], &c2);
    assert_int_equal(c1.published, 0);
    assert_int_equal(c2.published, 2);
    assert_int_equal(c1.retained, 0);
    assert_int_equal(c2.retained, 1);
    close(sub1);
    close(sub2);
    close(pub);
    close(late1);
    close(late2);

    void *rv;
    pf_server_stop(srv);
    pthread_join(t, &rv);
    assert_int_equal((int)(intptr_t)rv, 0);
    pf_server_free(srv);
    for (int i = 0; i < 2; i++) {
        pf_site_close(&sites[i]);
        pf_broker_free(brokers[i]);
    }
}

static void test_hsha(void **st) { (void)st; run_mode(PF_MODE_HSHA); }
static void test_reactor(void **st) { (void)st; run_mode(PF_MODE_REACTOR); }
static void test_lf(void **st) { (void)st; run_mode(PF_MODE_LF); }
static void test_inline(void **st) { (void)st; run_mode(PF_MODE_INLINE); }

/* A table over another protocol's events, or a slot with no function, is
 * refused with its reason, before any session or listener exists. */
static void test_bad_binding_refused(void **st)
{
    (void)st;
    char why[200];
    const pf_service *echo = &pf_echo_service;
    assert_int_equal(pf_service_check(echo, why, sizeof why), 0);
    assert_string_equal(why, "");

    pf_service wrong_proto = { &pf_http1_protocol, echo->fsm, echo->handlers };
    assert_int_equal(pf_service_check(&wrong_proto, why, sizeof why), -EINVAL);
    assert_string_equal(why, "table echo is over protocol line, not http1");

    pf_handler some[16];
    assert_true(echo->fsm->nhandlers <= 16);
    memcpy(some, echo->handlers, echo->fsm->nhandlers * sizeof some[0]);
    some[2] = NULL;
    pf_service unbound = { echo->proto, echo->fsm, some };
    assert_int_equal(pf_service_check(&unbound, why, sizeof why), -EINVAL);
    char want[128];
    snprintf(want, sizeof want, "table echo: handler slot 2 (%s) is not bound",
             echo->fsm->handler_names[2]);
    assert_string_equal(why, want);

    errno = 0;
    assert_null(pf_session_new(&wrong_proto, NULL));
    assert_int_equal(errno, EINVAL);
    assert_null(pf_session_new(&unbound, NULL));
    pf_server *srv;
    assert_int_equal(pf_server_new(&srv, NULL), 0);
    pf_listen_conf lc = { .service = &wrong_proto };
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), -EINVAL);
    lc.service = &unbound;
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), -EINVAL);
    assert_int_equal(pf_server_listeners(srv), 0);
    pf_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_binding_refused),
        cmocka_unit_test(test_hsha),
        cmocka_unit_test(test_reactor),
        cmocka_unit_test(test_lf),
        cmocka_unit_test(test_inline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
