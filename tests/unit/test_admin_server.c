/* The admin listener in-process, in every mode, while clients drive the
 * echo service: the connection snapshot the loop's owner takes on request
 * (under ThreadSanitizer this is where a racy read of a connection would
 * show), the page and its embedded diagram, /api/state, pf_admin_metrics,
 * and a clean stop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "../integ/harness.h"
#include "echo/echo.h"
#include "protofsm/admin.h"
#include "protofsm/server.h"
#include "protofsm/stats.h"

static void *run_server(void *arg) { return (void *)(intptr_t)pf_server_run(arg); }

static char *get(unsigned port, const char *path)
{
    char req[300];
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
    return h_http(port, req, 5000);
}

static unsigned port_of(const char *addr) { return (unsigned)atoi(strrchr(addr, ':') + 1); }

/* Clients that keep the machine moving while the admin is asked. */
static atomic_int stop_churn;
static void *churn(void *arg)
{
    unsigned port = (unsigned)(intptr_t)arg;
    while (!atomic_load(&stop_churn)) {
        int fd = h_connect(port, 0);
        if (fd < 0)
            continue;
        (void)h_roundtrip(fd, "HELLO c\r\nECHO a\r\n", "+OK hello c\r\na\r\n", 5000);
        (void)h_roundtrip(fd, "QUIT\r\n", "+OK bye\r\n", 5000);
        close(fd);
    }
    return NULL;
}

static const char fake_svg[] =
    "<?xml version=\"1.0\"?>\n<!DOCTYPE svg>\n<svg id=\"the-echo-svg\"><g class=\"edge\">"
    "<title>START&#45;&gt;READY</title></g></svg>\n";
static const pf_admin_diagram fake[] = { { "echo", fake_svg } };

static void in_mode(pf_mode mode)
{
    pf_server_conf conf = { .mode = mode, .threads = 2, .no_signals = 1 };
    pf_listen_conf lc = { .service = &pf_echo_service };
    pf_server *srv;
    pf_admin *adm;
    char addr[64];

    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    pf_admin_diagrams(fake, 1);
    assert_int_equal(pf_admin_start(&adm, srv, "127.0.0.1", 0, NULL), 0);
    assert_int_equal(pf_admin_address(adm, addr, sizeof(addr)), 0);
    unsigned ap = port_of(addr);
    assert_int_equal(pf_server_address(srv, 0, addr, sizeof(addr)), 0);
    unsigned sport = port_of(addr);

    /* Before the server runs: counters answer, the owner does not. */
    char *r = get(ap, "/metrics");
    assert_non_null(r);
    assert_non_null(strstr(r, "200 OK"));
    free(r);
    r = get(ap, "/connections");
    assert_non_null(r);
    assert_non_null(strstr(r, "503"));
    free(r);

    pthread_t t, ch[2];
    pthread_create(&t, NULL, run_server, srv);
    int held[2];
    for (int i = 0; i < 2; i++) {
        held[i] = h_connect(sport, 0);
        assert_true(held[i] >= 0);
    }
    assert_int_equal(h_roundtrip(held[0], "HELLO h\r\n", "+OK hello h\r\n", 5000), 0);
    assert_int_equal(h_roundtrip(held[1], "ECHO x\r\n", "-ERR say HELLO first\r\n", 5000), 0);
    atomic_store(&stop_churn, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&ch[i], NULL, churn, (void *)(intptr_t)sport);
    for (int k = 0; k < 20; k++) {
        r = get(ap, k % 2 ? "/connections" : "/api/state");
        assert_non_null(r);
        assert_non_null(strstr(r, "200 OK"));
        free(r);
    }
    atomic_store(&stop_churn, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(ch[i], NULL);

    /* The churn is over: only the two held connections are open. */
    r = NULL;
    for (int k = 0; k < 200; k++) {
        free(r);
        r = get(ap, "/connections");
        assert_non_null(r);
        if (strstr(r, "\n2 open connections"))
            break;
        usleep(10000);
    }
    assert_non_null(strstr(r, "\n2 open connections"));
    free(r);
    r = get(ap, "/api/state");
    assert_non_null(r);
    assert_non_null(strstr(r, "\"open\":2"));
    /* One said HELLO, one did not; neither is in a job now. */
    assert_non_null(strstr(r, "\"occupancy\":[1,1,0],\"busy\":0"));
    assert_non_null(strstr(r, "\"diagram\":true"));
    free(r);

    r = get(ap, "/");
    assert_non_null(r);
    assert_non_null(strstr(r, "text/html"));
    /* Inline from its root element: no XML prolog inside the HTML body. */
    assert_non_null(strstr(r, "<div class=\"diagram\" id=\"svg0\"><svg id=\"the-echo-svg\">"));
    assert_null(strstr(r, "<?xml"));
    assert_non_null(strstr(r, "/api/state"));
    free(r);

    char *m;
    size_t len;
    assert_int_equal(pf_admin_metrics(srv, &m, &len), 0);
    assert_int_equal(strlen(m), len);
    assert_non_null(strstr(m, "# TYPE protofsm_fsm_steps_total counter\n"));
    assert_non_null(strstr(m, "state=\"START\",event=\"HELLO\"}"));
    free(m);

    for (int i = 0; i < 2; i++)
        close(held[i]);
    pf_server_stop(srv);
    void *rc;
    pthread_join(t, &rc);
    assert_int_equal((intptr_t)rc, 0);
    pf_admin_stop(adm);
    pf_admin_diagrams(NULL, 0);
    pf_server_free(srv);
}

static void test_hsha(void **state) { (void)state; in_mode(PF_MODE_HSHA); }
static void test_reactor(void **state) { (void)state; in_mode(PF_MODE_REACTOR); }
static void test_lf(void **state) { (void)state; in_mode(PF_MODE_LF); }
static void test_inline(void **state) { (void)state; in_mode(PF_MODE_INLINE); }

/* A port in use: the error comes back, nothing is started. */
static void test_addr_in_use(void **state)
{
    (void)state;
    pf_server *srv;
    pf_admin *a, *b;
    char addr[64];
    assert_int_equal(pf_server_new(&srv, NULL), 0);
    assert_int_equal(pf_admin_start(&a, srv, "127.0.0.1", 0, NULL), 0);
    assert_int_equal(pf_admin_address(a, addr, sizeof(addr)), 0);
    assert_int_equal(pf_admin_start(&b, srv, "127.0.0.1", port_of(addr), NULL), -EADDRINUSE);
    pf_admin_stop(a);
    pf_admin_stop(NULL);
    pf_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hsha),   cmocka_unit_test(test_reactor),
        cmocka_unit_test(test_lf),     cmocka_unit_test(test_inline),
        cmocka_unit_test(test_addr_in_use),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
