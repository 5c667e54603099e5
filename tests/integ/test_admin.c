/* The admin listener (--admin) of a real service: /metrics is valid
 * Prometheus text (promtool) with the counts the traffic made, it answers
 * in under 100 ms while every worker is blocked and the queue is full,
 * /connections and /api/state show the sessions by state, bad and hostile
 * admin clients cost the service nothing, and a real Prometheus server
 * scrapes it and answers a PromQL query with the request count. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

/* echod with an admin listener: sp->ports[0] is the service's, [1] the
 * admin's ("admin listening on" comes after the service's lines). */
static void spawn(srv_proc *sp, const char *const *extra)
{
    const char *args[24] = { "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0" };
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    assert_int_equal(h_spawn(sp, "echod", 2, 0, args), 0);
    assert_non_null(strstr(sp->lines, "admin listening on 127.0.0.1:"));
    assert_int_equal(sp->nports, 2);
}

static char *get(unsigned port, const char *path)
{
    char req[512];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    return h_http(port, req, 5000);
}

/* The value of the first sample line that starts with `series` ("name{...}"). */
static long long sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            return atoll(l + n + 1);
    return -1;
}

/* Pipe `text` through `promtool check metrics`; its exit status. */
static int promtool(const char *text)
{
    int in[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        execlp("promtool", "promtool", "check", "metrics", (char *)NULL);
        _exit(127);
    }
    h_child_add(pid);
    close(in[0]);
    for (size_t off = 0, n = strlen(text); off < n;) {
        ssize_t w = write(in[1], text + off, n - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    close(in[1]);
    int st;
    waitpid(pid, &st, 0);
    h_child_reaped(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_metrics(void **state)
{
    (void)state;
    srv_proc sp;
    const char *extra[] = { "--max-input", "100", NULL };
    spawn(&sp, extra);
    for (int i = 0; i < 3; i++) {
        int fd = h_connect(sp.ports[0], 0);
        assert_true(fd >= 0);
        assert_int_equal(h_roundtrip(fd, "HELLO a\r\n", "+OK hello a\r\n", 5000), 0);
        assert_int_equal(h_roundtrip(fd, "ECHO x\r\nECHO y\r\n", "x\r\ny\r\n", 5000), 0);
        assert_int_equal(h_roundtrip(fd, "QUIT\r\n", "+OK bye\r\n", 5000), 0);
        assert_int_equal(h_wait_eof(fd, 5000), 1);
        close(fd);
    }
    /* A line over --max-input: the protocol's error, counted as too large. */
    int big = h_connect(sp.ports[0], 0);
    char line[200];
    memset(line, 'x', sizeof(line));
    assert_int_equal(h_send_all(big, line, sizeof(line)), 0);
    h_wait_eof(big, 5000);
    close(big);
    char *m = get(sp.ports[1], "/metrics");
    assert_non_null(m);
    assert_non_null(strstr(m, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(m, "Content-Type: text/plain; version=0.0.4"));
    char *body = strstr(m, "\r\n\r\n") + 4;
    char ls[128], series[256];
    snprintf(ls, sizeof(ls), "listener=\"127.0.0.1:%u\",machine=\"echo\"", sp.ports[0]);
    snprintf(series, sizeof(series), "protofsm_fsm_steps_total{%s,state=\"START\",event=\"HELLO\"}",
             ls);
    assert_int_equal(sample(body, series), 3);
    snprintf(series, sizeof(series), "protofsm_fsm_steps_total{%s,state=\"READY\",event=\"ECHO\"}",
             ls);
    assert_int_equal(sample(body, series), 6);
    snprintf(series, sizeof(series), "protofsm_listener_packets_total{%s}", ls);
    assert_int_equal(sample(body, series), 12);
    snprintf(series, sizeof(series), "protofsm_sessions_opened_total{%s}", ls);
    assert_int_equal(sample(body, series), 4);
    snprintf(series, sizeof(series), "protofsm_connections_open{%s}", ls);
    assert_int_equal(sample(body, series), 0);
    assert_int_equal(sample(body, "protofsm_connections_accepted_total"), 4);
    assert_int_equal(sample(body, "protofsm_packets_total"), 12);
    /* Every ECHO handler run timed, in the histogram's +Inf bucket and
     * its count; none took over a second. */
    snprintf(series, sizeof(series),
             "protofsm_handler_duration_seconds_bucket{%s,handler=\"echo_on_echo\",le=\"+Inf\"}",
             ls);
    assert_int_equal(sample(body, series), 6);
    snprintf(series, sizeof(series),
             "protofsm_handler_duration_seconds_bucket{%s,handler=\"echo_on_echo\",le=\"1\"}", ls);
    assert_int_equal(sample(body, series), 6);
    snprintf(series, sizeof(series),
             "protofsm_handler_duration_seconds_count{%s,handler=\"echo_on_echo\"}", ls);
    assert_int_equal(sample(body, series), 6);
    assert_int_equal(sample(body, "protofsm_protocol_errors_total{kind=\"too_large\"}"), 1);
    assert_int_equal(sample(body, "protofsm_protocol_errors_total{kind=\"malformed\"}"), 0);
    assert_int_equal(sample(body, "protofsm_timeouts_total{kind=\"idle\"}"), 0);
    assert_int_equal(sample(body, "protofsm_draining"), 0);
    /* Jobs handed to the workers waited in the queue, and were timed:
     * handlers are not known cheap before their eighth run. */
    long long waited = sample(body, "protofsm_queue_wait_seconds_count{}");
    assert_true(waited > 0);
    assert_int_equal(sample(body, "protofsm_queue_wait_seconds_bucket{le=\"+Inf\"}"), waited);
    assert_int_equal(promtool(body), 0);
    free(m);
    kill(sp.pid, SIGTERM);
    assert_int_equal(h_wait(&sp, 10000), 0);
    h_kill(&sp);
}

/* Timeouts by kind: one connection says nothing (idle), one starts a line
 * and stops (request). */
static void test_timeouts_by_kind(void **state)
{
    (void)state;
    srv_proc sp;
    const char *extra[] = { "--idle-timeout", "0.3", "--request-timeout", "0.3", NULL };
    spawn(&sp, extra);
    int idle = h_connect(sp.ports[0], 0), part = h_connect(sp.ports[0], 0);
    assert_int_equal(h_send_all(part, "HEL", 3), 0);
    assert_int_equal(h_wait_eof(idle, 5000), 1);
    assert_int_equal(h_wait_eof(part, 5000), 1);
    close(idle);
    close(part);
    char *m = get(sp.ports[1], "/metrics");
    assert_non_null(m);
    assert_int_equal(sample(m, "protofsm_timeouts_total{kind=\"idle\"}"), 1);
    assert_int_equal(sample(m, "protofsm_timeouts_total{kind=\"request\"}"), 1);
    assert_int_equal(sample(m, "protofsm_timeouts_total{kind=\"write\"}"), 0);
    free(m);
    kill(sp.pid, SIGTERM);
    assert_int_equal(h_wait(&sp, 10000), 0);
    h_kill(&sp);
}

/* Every worker blocked in SLEEP and the request queue full: the admin is
 * on a thread of its own and answers anyway, in under 100 ms. */
static void test_saturated(void **state)
{
    (void)state;
    srv_proc sp;
    const char *extra[] = { "--threads", "1", "--max-threads", "1", "--queue", "1", NULL };
    spawn(&sp, extra);
    int fds[6];
    char *m = NULL, series[256];
    long long depth = -1, sleeping = 0;
    snprintf(series, sizeof(series),
             "protofsm_fsm_steps_total{listener=\"127.0.0.1:%u\",machine=\"echo\",state=\"READY\","
             "event=\"SLEEP\"}", sp.ports[0]);
    for (int i = 0; i < 6; i++) {
        fds[i] = h_connect(sp.ports[0], 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(h_send_all(fds[i], "HELLO a\r\nSLEEP 10000\r\n", 22), 0);
        /* The worker inside the first SLEEP before the rest arrive: a
         * worker takes several queued jobs at once, and those it took stay
         * with it (--max-threads 1), off the queue. */
        for (int k = 0; i == 0 && k < 500 && sleeping < 1; k++) {
            free(m);
            m = get(sp.ports[1], "/metrics");
            assert_non_null(m);
            sleeping = sample(m, series);
            if (sleeping < 1)
                usleep(10000);
        }
        assert_int_equal(sleeping, 1);
    }
    /* Until the queue is seen full. */
    /* Within 8 s: the SLEEPs hold the worker for 10. */
    uint64_t until = h_now_ms() + 8000;
    while (depth != 1 && h_now_ms() < until) {
        free(m);
        m = get(sp.ports[1], "/metrics");
        assert_non_null(m);
        depth = sample(m, "protofsm_queue_depth");
        if (depth != 1)
            usleep(10000);
    }
    if (depth != 1)
        printf("never full; last /metrics:\n%s\n", m);
    assert_int_equal(depth, 1);
    assert_int_equal(sample(m, "protofsm_queue_capacity"), 1);
    free(m);
    /* The worst of several, so one lucky answer does not pass. */
    uint64_t worst = 0;
    for (int i = 0; i < 10; i++) {
        uint64_t t0 = h_now_us();
        m = get(sp.ports[1], "/metrics");
        uint64_t dt = h_now_us() - t0;
        assert_non_null(m);
        assert_non_null(strstr(m, "200 OK"));
        assert_int_equal(sample(strstr(m, "\r\n\r\n") + 4, "protofsm_queue_depth"), 1);
        free(m);
        if (dt > worst)
            worst = dt;
    }
    printf("admin /metrics with the queue full: worst of 10 answers %.1f ms\n", worst / 1000.0);
    assert_true(worst < 100000);
    for (int i = 0; i < 6; i++)
        close(fds[i]);
    h_kill(&sp);
}

/* inline mode: a blocking handler holds the loop's only thread.  /metrics
 * still answers at once; /connections, which needs the loop's owner, says
 * 503 after its bounded wait instead of hanging. */
static void test_loop_blocked(void **state)
{
    (void)state;
    srv_proc sp;
    const char *extra[] = { "--mode", "inline", NULL };
    spawn(&sp, extra);
    int fd = h_connect(sp.ports[0], 0);
    assert_true(fd >= 0);
    assert_int_equal(h_roundtrip(fd, "HELLO a\r\n", "+OK hello a\r\n", 5000), 0);
    assert_int_equal(h_send_all(fd, "SLEEP 10000\r\n", 13), 0);
    char *m = NULL;
    long long n = -1;
    char series[256];
    snprintf(series, sizeof(series),
             "protofsm_fsm_steps_total{listener=\"127.0.0.1:%u\",machine=\"echo\",state=\"READY\","
             "event=\"SLEEP\"}", sp.ports[0]);
    for (int i = 0; i < 300 && n != 1; i++) {
        free(m);
        uint64_t t0 = h_now_us();
        m = get(sp.ports[1], "/metrics");
        assert_non_null(m);
        assert_true(h_now_us() - t0 < 100000);
        n = sample(strstr(m, "\r\n\r\n") + 4, series);
        if (n != 1)
            usleep(10000);
    }
    assert_int_equal(n, 1); /* counted as it starts: the handler is in its sleep */
    free(m);
    uint64_t t0 = h_now_ms();
    /* While /connections waits for the owner, /metrics is not held up. */
    int pending = h_connect(sp.ports[1], 0);
    assert_true(pending >= 0);
    assert_int_equal(h_send_all(pending, "GET /connections HTTP/1.0\r\n\r\n", 30), 0);
    usleep(20000);
    uint64_t u0 = h_now_us();
    m = get(sp.ports[1], "/metrics");
    assert_non_null(m);
    assert_true(h_now_us() - u0 < 100000);
    free(m);
    char c[4096];
    int eof = 0;
    ssize_t got = h_recv_n(pending, c, sizeof(c) - 1, 5000, &eof);
    assert_true(got > 0);
    c[got] = 0;
    assert_non_null(strstr(c, "503"));
    assert_true(h_now_ms() - t0 < 2000);
    close(pending);
    close(fd);
    h_kill(&sp);
}

static void test_connections(void **state)
{
    (void)state;
    srv_proc sp;
    spawn(&sp, NULL);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = h_connect(sp.ports[0], 0);
        assert_true(fds[i] >= 0);
    }
    assert_int_equal(h_roundtrip(fds[0], "HELLO a\r\n", "+OK hello a\r\n", 5000), 0);
    assert_int_equal(h_roundtrip(fds[1], "HELLO b\r\n", "+OK hello b\r\n", 5000), 0);
    /* fds[2] said nothing: wait until its OPEN ran (it is counted then). */
    char *c = NULL;
    for (int i = 0; i < 200; i++) {
        free(c);
        c = get(sp.ports[1], "/connections");
        assert_non_null(c);
        if (strstr(c, "3 open connections"))
            break;
        usleep(10000);
    }
    assert_non_null(strstr(c, "200 OK"));
    assert_non_null(strstr(c, "3 open connections"));
    int ready = 0, start = 0;
    for (const char *p = c; (p = strstr(p, " READY ")); p++)
        ready++;
    for (const char *p = c; (p = strstr(p, " START ")); p++)
        start++;
    assert_int_equal(ready, 2);
    assert_int_equal(start, 1);
    assert_non_null(strstr(c, "127.0.0.1:"));
    /* The kernel's byte counts per connection: each READY one received
     * "HELLO x\r\n" (9) and had "+OK hello x\r\n" (13) acknowledged; the
     * acknowledgement may trail the read by a moment. */
    int counted = 0;
    for (int i = 0; i < 200 && counted < 2; i++) {
        counted = 0;
        for (const char *l = c; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
            const char *nl = strchr(l, '\n');
            char line[256];
            size_t n = nl ? (size_t)(nl - l) : strlen(l);
            if (n >= sizeof(line) || !memmem(l, n, " READY ", 7))
                continue;
            memcpy(line, l, n);
            line[n] = 0;
            unsigned long long bin = 0, bout = 0;
            double age = -1;
            /* peer listener machine state age_s idle_s out_bytes bytes_in bytes_acked */
            if (sscanf(line, "%*s %*s %*s %*s %lf %*s %*s %llu %llu", &age, &bin, &bout) == 3)
                counted += bin == 9 && bout == 13 && age >= 0 && age < 60;
        }
        if (counted < 2) {
            usleep(10000);
            free(c);
            c = get(sp.ports[1], "/connections");
            assert_non_null(c);
        }
    }
    assert_int_equal(counted, 2);
    free(c);
    char *s = get(sp.ports[1], "/api/state");
    assert_non_null(s);
    assert_non_null(strstr(s, "application/json"));
    assert_non_null(strstr(s, "\"states\":[\"START\",\"READY\",\"DONE\"],\"occupancy\":[1,2,0]"));
    assert_non_null(strstr(s, "\"open\":3"));
    free(s);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    h_kill(&sp);
}

static void test_bad_clients(void **state)
{
    (void)state;
    srv_proc sp;
    const char *extra[] = { NULL };
    spawn(&sp, extra);
    unsigned ap = sp.ports[1];
    char *r = h_http(ap, "BREW /pot HTTP/1.1\r\n\r\n", 5000);
    assert_non_null(r);
    assert_non_null(strstr(r, "405"));
    free(r);
    r = h_http(ap, "garbage\r\n\r\n", 5000);
    assert_non_null(r);
    assert_non_null(strstr(r, "400"));
    free(r);
    r = get(ap, "/nothing-here");
    assert_non_null(r);
    assert_non_null(strstr(r, "404"));
    free(r);
    /* A request head that never ends is cut at the limit. */
    char big[8192];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    memcpy(big, "GET /", 5);
    r = h_http(ap, big, 5000);
    assert_non_null(r);
    assert_non_null(strstr(r, "431"));
    free(r);
    /* Clients that take every admin slot and say nothing: the service is
     * untouched, and the admin is answerable again once their deadline
     * (5 s) passed. */
    int idle[8];
    for (int i = 0; i < 8; i++) {
        idle[i] = h_connect(ap, 0);
        assert_true(idle[i] >= 0);
    }
    int fd = h_connect(sp.ports[0], 0);
    uint64_t t0 = h_now_ms();
    assert_int_equal(h_roundtrip(fd, "HELLO a\r\n", "+OK hello a\r\n", 5000), 0);
    assert_true(h_now_ms() - t0 < 1000);
    r = h_http(ap, "GET /metrics HTTP/1.0\r\n\r\n", 15000);
    assert_non_null(r);
    assert_true(h_now_ms() - t0 >= 4000);
    assert_non_null(strstr(r, "200 OK"));
    free(r);
    for (int i = 0; i < 8; i++)
        close(idle[i]);
    close(fd);
    h_kill(&sp);
}

/* A real Prometheus scrapes the admin while a client makes requests; a
 * PromQL query through its HTTP API then returns the request count. */
static void test_prometheus(void **state)
{
    (void)state;
    srv_proc sp;
    spawn(&sp, NULL);
    char dir[] = "/tmp/pf_admin_promXXXXXX", conf[300], data[300], flag[3][400];
    assert_non_null(mkdtemp(dir));
    snprintf(conf, sizeof(conf), "%s/prometheus.yml", dir);
    snprintf(data, sizeof(data), "%s/data", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
               "scrape_configs:\n  - job_name: echod\n    static_configs:\n"
               "      - targets: ['127.0.0.1:%u']\n", sp.ports[1]);
    fclose(f);
    unsigned pport = h_free_port();
    snprintf(flag[0], sizeof(flag[0]), "--config.file=%s", conf);
    snprintf(flag[1], sizeof(flag[1]), "--storage.tsdb.path=%s", data);
    snprintf(flag[2], sizeof(flag[2]), "--web.listen-address=127.0.0.1:%u", pport);
    const char *argv[] = { "prometheus", flag[0], flag[1], flag[2], NULL };
    pid_t prom = h_start_peer(pport, argv);
    assert_true(prom > 0);

    /* A bit of load: 4 clients, 50 ECHO each, while it scrapes. */
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = h_connect(sp.ports[0], 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(h_roundtrip(fds[i], "HELLO p\r\n", "+OK hello p\r\n", 5000), 0);
    }
    for (int k = 0; k < 50; k++)
        for (int i = 0; i < 4; i++)
            assert_int_equal(h_roundtrip(fds[i], "ECHO hi\r\n", "hi\r\n", 5000), 0);

    /* Until a scrape after the load is in: at most 30 s. */
    const char *q = "GET /api/v1/query?query=sum(protofsm_fsm_steps_total%7Bjob%3D%22echod%22%2C"
                    "event%3D%22ECHO%22%7D) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *r = NULL;
    int ok = 0;
    for (int i = 0; i < 300 && !ok; i++) {
        free(r);
        r = h_http(pport, q, 5000);
        ok = r && strstr(r, "\"status\":\"success\"") && strstr(r, ",\"200\"]");
        if (!ok)
            usleep(100000);
    }
    if (!ok)
        printf("last answer: %s\n", r ? r : "(none)");
    assert_true(ok);
    free(r);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    h_stop_pid(prom);
    h_kill(&sp);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_metrics, h_teardown),
        cmocka_unit_test_teardown(test_timeouts_by_kind, h_teardown),
        cmocka_unit_test_teardown(test_saturated, h_teardown),
        cmocka_unit_test_teardown(test_loop_blocked, h_teardown),
        cmocka_unit_test_teardown(test_connections, h_teardown),
        cmocka_unit_test_teardown(test_bad_clients, h_teardown),
        cmocka_unit_test_teardown(test_prometheus, h_teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
