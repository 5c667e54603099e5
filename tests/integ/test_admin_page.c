/* The admin page in a real browser: headless Chromium loads echod's page
 * (its machine's SVG embedded in the binary) while a client drives the
 * line protocol through HELLO, ECHO and QUIT.  The counts the page's
 * script wrote into the DOM (each edge of the diagram, each row of the
 * transition table) must equal the server's counters in /metrics, and
 * the READY state's fill must change once a session sits in it.  The
 * screenshot is kept in $PF_BUILD/artifacts/admin_page.png.
 *
 * Chromium runs with a time limit and is killed by PID; without chromium
 * on the PATH (gen/deps.sh installs it for `make test`) the test fails. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "harness.h"

static char profile[64];

static int setup(void **state)
{
    (void)state;
    strcpy(profile, "/tmp/pf_chromiumXXXXXX");
    return mkdtemp(profile) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    h_teardown(state);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", profile);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run chromium headless on url with `what` (--dump-dom, or --screenshot=..);
 * its stdout in a malloc'd string.  Killed after 60 s. */
static char *chromium(const char *url, const char *what)
{
    char out[128], dirflag[128];
    snprintf(out, sizeof(out), "%s/out.txt", profile);
    snprintf(dirflag, sizeof(dirflag), "--user-data-dir=%s", profile);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), dn = open("/dev/null", O_WRONLY);
        dup2(o, 1);
        dup2(dn, 2);
        /* Virtual time: the page's polls run at once, not in wall seconds. */
        execlp("chromium", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", dirflag,
               "--virtual-time-budget=3000", "--window-size=1200,900", what, url, (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    h_child_add(pid);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), st = -1;
    struct pollfd p = { pidfd, POLLIN, 0 };
    if (pidfd >= 0 && poll(&p, 1, 60000) == 1) {
        waitpid(pid, &st, 0);
        h_child_reaped(pid);
    } else {
        printf("chromium did not finish in 60 s\n");
        h_stop_pid(pid); /* not reaped yet: the PID is still its own */
    }
    if (pidfd >= 0)
        close(pidfd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return NULL;
    FILE *f = fopen(out, "r");
    if (!f)
        return NULL;
    size_t cap = 4 << 20;
    char *buf = malloc(cap);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* data-count of the diagram's edge titled `title` ("FROM-&gt;TO") whose
 * label is `label`; -1 when absent. */
static long edge_count(const char *dom, const char *title, const char *label)
{
    char t[128], l[128];
    snprintf(t, sizeof(t), "<title>%s</title>", title);
    snprintf(l, sizeof(l), ">%s</text>", label);
    for (const char *at = strstr(dom, t); at; at = strstr(at + 1, t)) {
        const char *end = strstr(at, "</g>"), *lab = strstr(at, l);
        if (!end || !lab || lab > end)
            continue;
        /* The <g> that holds this title: the last one opened before it. */
        const char *g = NULL;
        for (const char *q = dom; (q = strstr(q, "<g id=\"edge")) && q < at; q++)
            g = q;
        const char *c = g ? strstr(g, "data-count=\"") : NULL;
        return c && c < at ? atol(c + 12) : -1;
    }
    return -1;
}

/* data-count of the table row for (from, event); -1 when absent. */
static long row_count(const char *dom, const char *from, const char *event)
{
    char r[160];
    snprintf(r, sizeof(r), "<tr data-from=\"%s\" data-event=\"%s\" data-count=\"", from, event);
    const char *at = strstr(dom, r);
    return at ? atol(at + strlen(r)) : -1;
}

/* The READY node's <g ...> and ellipse, as text, for comparing colours. */
static void ready_node(const char *dom, char *out, size_t len)
{
    const char *t = strstr(dom, "<title>READY</title>");
    out[0] = 0;
    if (!t)
        return;
    const char *g = t;
    while (g > dom && strncmp(g, "<g id=\"node", 11) != 0)
        g--;
    const char *e = strstr(t, "</ellipse>");
    if (!e)
        e = strstr(t, "/>");
    size_t n = e && (size_t)(e - g) < len ? (size_t)(e - g) : len - 1;
    memcpy(out, g, n);
    out[n] = 0;
}

static long metric(unsigned ap, unsigned port, const char *state, const char *event)
{
    char req[] = "GET /metrics HTTP/1.0\r\n\r\n", series[256];
    char *m = h_http(ap, req, 5000);
    assert_non_null(m);
    snprintf(series, sizeof(series),
             "protofsm_fsm_steps_total{listener=\"127.0.0.1:%u\",machine=\"echo\",state=\"%s\","
             "event=\"%s\"} ", port, state, event);
    const char *at = strstr(m, series);
    long v = at ? atol(at + strlen(series)) : -1;
    free(m);
    return v;
}

static void test_page(void **state)
{
    (void)state;
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", NULL };
    assert_int_equal(h_spawn(&sp, "echod", 2, 0, args), 0);
    unsigned port = sp.ports[0], ap = sp.ports[1];
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ap);

    char *before = chromium(url, "--dump-dom");
    assert_non_null(before);
    assert_non_null(strstr(before, "data-polls=")); /* the script ran */
    assert_int_equal(edge_count(before, "START-&gt;READY", "HELLO / echo_on_hello"), 0);
    char node_before[512];
    ready_node(before, node_before, sizeof(node_before));
    assert_non_null(strstr(node_before, "data-sessions=\"0\""));

    /* One session through HELLO, ECHO, QUIT; one left sitting in READY. */
    int a = h_connect(port, 0), b = h_connect(port, 0);
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(h_roundtrip(a, "HELLO a\r\nECHO x\r\nQUIT\r\n",
                                 "+OK hello a\r\nx\r\n+OK bye\r\n", 5000),
                     0);
    assert_int_equal(h_wait_eof(a, 5000), 1);
    assert_int_equal(h_roundtrip(b, "HELLO b\r\nECHO y\r\nECHO z\r\n",
                                 "+OK hello b\r\ny\r\nz\r\n", 5000),
                     0);
    /* a's CLOSE is counted once its connection is gone on our side too. */
    close(a);
    for (int i = 0; i < 200 && metric(ap, port, "DONE", "CLOSE") != 1; i++)
        usleep(10000);

    char *after = chromium(url, "--dump-dom");
    assert_non_null(after);
    long hello = metric(ap, port, "START", "HELLO"), echo = metric(ap, port, "READY", "ECHO"),
         quit = metric(ap, port, "READY", "QUIT");
    assert_int_equal(hello, 2);
    assert_int_equal(echo, 3);
    assert_int_equal(quit, 1);
    /* The DOM says what the server counted: the diagram's edges ... */
    assert_int_equal(edge_count(after, "START-&gt;READY", "HELLO / echo_on_hello"), hello);
    assert_int_equal(edge_count(after, "READY-&gt;READY", "ECHO / echo_on_echo"), echo);
    assert_int_equal(edge_count(after, "READY-&gt;DONE", "QUIT / echo_on_quit"), quit);
    /* ... and the table. */
    assert_int_equal(row_count(after, "START", "HELLO"), hello);
    assert_int_equal(row_count(after, "READY", "ECHO"), echo);
    assert_int_equal(row_count(after, "READY", "QUIT"), quit);
    /* READY holds b now: its colour changed. */
    char node_after[512];
    ready_node(after, node_after, sizeof(node_after));
    assert_non_null(strstr(node_after, "data-sessions=\"1\""));
    assert_non_null(strstr(node_after, "fill=\"rgba("));
    assert_string_not_equal(node_before, node_after);

    char png[512], shot[600];
    const char *build = getenv("PF_BUILD");
    snprintf(png, sizeof(png), "%s/artifacts", build ? build : "build");
    mkdir(png, 0755);
    strcat(png, "/admin_page.png");
    unlink(png);
    snprintf(shot, sizeof(shot), "--screenshot=%s", png);
    char *r = chromium(url, shot);
    free(r);
    struct stat st;
    assert_int_equal(stat(png, &st), 0);
    assert_true(st.st_size > 10000);
    printf("screenshot: %s (%lld bytes)\n", png, (long long)st.st_size);

    free(before);
    free(after);
    close(b);
    h_kill(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_page, h_teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
