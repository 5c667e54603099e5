/* mcd with real clients and against a live memcached 1.6.18:
 *   - the same command scripts go to mcd and to memcached (each started
 *     fresh on a free port for every script), and the replies must be
 *     identical byte for byte, VERSION's text aside;
 *   - the smuggling case memcached runs and mcd refuses: data not followed
 *     by CRLF closes the connection and the bytes after it never run;
 *   - libmemcached's tools (memccp, memccat, memcrm, memcstat) and
 *     python3's socket module as clients;
 *   - every mode, and values larger than twice the output limit.
 * Children are killed by PID (harness.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static pid_t start_memcached(unsigned *port)
{
    char ps[16];
    *port = h_free_port();
    snprintf(ps, sizeof ps, "%u", *port);
    const char *argv[] = { "memcached", "-p", ps, "-l", "127.0.0.1", "-U", "0", "-t", "1",
                           getuid() == 0 ? "-u" : NULL, "nobody", NULL };
    return h_start_peer(*port, argv);
}

/* Send `in` and read until `quiet_ms` pass without a byte (or EOF); the
 * reply, NUL-terminated, length in *len. */
static char *exchange(unsigned port, const char *in, size_t n, int quiet_ms, size_t *len)
{
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap + 1);
    int fd = h_connect(port, 0), eof = 0;
    assert_true(fd >= 0);
    assert_int_equal(h_send_all(fd, in, n), 0);
    while (!eof) {
        if (got == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t r = h_recv_n(fd, buf + got, cap - got, quiet_ms, &eof);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *len = got;
    return buf;
}

/* ---- the differential scripts ----------------------------------------------- */

static const struct script {
    const char *name, *in;
} scripts[] = {
    { "storage", "set a 0 0 1\r\nx\r\nadd a 0 0 1\r\ny\r\nadd b 3 0 2\r\nbb\r\nreplace c 0 0 1\r\nz\r\n"
                 "replace a 9 0 3\r\nabc\r\nappend b 0 0 1\r\n+\r\nprepend b 0 0 1\r\n-\r\n"
                 "get a b c\r\ngets a\r\n" },
    { "cas", "gets k\r\nset k 0 0 1\r\n1\r\ngets k\r\ncas k 0 0 1 2\r\n2\r\ncas k 0 0 1 100\r\n3\r\n"
             "cas k 0 0 1 1\r\n4\r\ngets k\r\ncas nokey 0 0 1 1\r\nx\r\n" },
    /* memcached writes a result in place only while nobody else holds the
     * item (refcount 2): a pipelined get's reply may still hold it, and
     * then the result is a new item without padding.  So no get is followed
     * by arithmetic on its key within one script: the answers do not hang
     * on memcached's timing. */
    { "arith", "set n 0 0 3\r\n100\r\ndecr n 1\r\ndecr n 98\r\nincr n 9\r\nincr n 1\r\n"
               "get n\r\n" },
    { "arith_floor", "set n 0 0 3\r\n100\r\ndecr n 1000\r\nget n\r\nincr x 1\r\n"
                     "set t 0 0 2\r\nab\r\nincr t 1\r\n" },
    { "arith_grow", "set g 0 0 1\r\n9\r\nincr g 1\r\nget g\r\n" },
    { "delete_touch", "set a 0 0 1\r\nx\r\ntouch a 100\r\ntouch b 100\r\ndelete a\r\ndelete a\r\n"
                      "delete a 0 noreply\r\ndelete a 1\r\nget a\r\n" },
    { "gat", "set a 5 0 2\r\nhi\r\ngat 0 a x\r\ngats 100 a\r\ngat -1 a\r\nget a\r\ngats 1\r\n" },
    { "errors", "nope\r\n\r\nget\r\nset\r\nset a b c d\r\nx\r\nincr a\r\nincr a b\r\n"
                "touch a b\r\nflush_all b\r\nverbosity a\r\ndelete\r\ncas a 0 0 1\r\n" },
    { "noreply", "set a 0 0 1 noreply\r\nx\r\nappend a 0 0 1 noreply\r\ny\r\nincr z 1 noreply\r\n"
                 "touch a 1 noreply\r\nflush_all 0 noreply\r\nverbosity 0 noreply\r\nget a\r\n" },
    { "flush", "set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\nset a 0 0 1\r\ny\r\nget a\r\n" },
    { "multiget", "set k1 1 0 1\r\n1\r\nset k3 3 0 3\r\n333\r\n"
                  "get k0 k1 k2 k3 k4 k5 k6 k7 k8 k9 k10 k11 k12 k13 k14 k15 k16 k17 k18 k19 "
                  "k20 k21 k22 k23 k24 k25 k26 k27 k28 k29 k1 k3\r\n" },
    { "pipelined", "set a 0 0 1\r\n1\r\nincr a 1\r\nincr a 1\r\nincr a 1\r\nget a\r\n"
                   "delete a\r\nget a\r\nversion\r\nverbosity 1\r\n" },
};

static void diff_script(const char *name, const char *in, size_t n)
{
    unsigned mport;
    pid_t mc = start_memcached(&mport);
    assert_true(mc > 0);
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", NULL };
    assert_int_equal(h_spawn(&sp, "mcd", 1, 0, args), 0);
    size_t ln, lm;
    char *ours = exchange(sp.port, in, n, 300, &ln);
    char *theirs = exchange(mport, in, n, 300, &lm);
    /* VERSION names the implementation: compare what comes before its text. */
    char *v1 = strstr(ours, "VERSION "), *v2 = strstr(theirs, "VERSION ");
    if (v1 && v2) {
        char *e1 = strstr(v1, "\r\n"), *e2 = strstr(v2, "\r\n");
        memmove(v1 + 8, e1, strlen(e1) + 1);
        memmove(v2 + 8, e2, strlen(e2) + 1);
        ln = strlen(ours);
        lm = strlen(theirs);
    }
    if (ln != lm || memcmp(ours, theirs, ln) != 0) {
        fprintf(stderr, "script %s: mcd (%zu bytes):\n%s\nmemcached (%zu bytes):\n%s\n", name,
                ln, ours, lm, theirs);
        fail();
    }
    free(ours);
    free(theirs);
    h_kill(&sp);
    h_stop_pid(mc);
}

static void test_same_as_memcached(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++)
        diff_script(scripts[i].name, scripts[i].in, strlen(scripts[i].in));
}

/* Expiry, relative and absolute: both forget on time. */
static void test_expiry_same(void **st)
{
    (void)st;
    char in[512];
    long now = (long)time(NULL);
    int n = snprintf(in, sizeof in,
                     "set r 0 1 1\r\nr\r\nset abs 0 %ld 1\r\na\r\nset past 0 %ld 1\r\np\r\n"
                     "set long 0 100 1\r\nl\r\nget r abs past long\r\n", now + 1, now - 10);
    unsigned mport;
    pid_t mc = start_memcached(&mport);
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", NULL };
    assert_int_equal(h_spawn(&sp, "mcd", 1, 0, args), 0);
    int a = h_connect(sp.port, 0), b = h_connect(mport, 0);
    assert_int_equal(h_send_all(a, in, (size_t)n), 0);
    assert_int_equal(h_send_all(b, in, (size_t)n), 0);
    char ra[512], rb[512];
    ssize_t la = h_recv_n(a, ra, sizeof ra, 300, NULL), lb = h_recv_n(b, rb, sizeof rb, 300, NULL);
    assert_int_equal(la, lb);
    assert_memory_equal(ra, rb, (size_t)la);
    struct timespec ts = { 2, 200 * 1000000L };
    nanosleep(&ts, NULL);
    static const char again[] = "get r abs past long\r\n";
    h_send_all(a, again, sizeof again - 1);
    h_send_all(b, again, sizeof again - 1);
    la = h_recv_n(a, ra, sizeof ra, 300, NULL);
    lb = h_recv_n(b, rb, sizeof rb, 300, NULL);
    assert_int_equal(la, lb);
    assert_memory_equal(ra, rb, (size_t)la);
    assert_int_equal(la, (ssize_t)strlen("VALUE long 0 1\r\nl\r\nEND\r\n"));
    close(a);
    close(b);
    h_kill(&sp);
    h_stop_pid(mc);
}

/* memcached runs the bytes after a wrongly declared value as commands; mcd
 * answers the bad chunk, closes, and runs nothing after it. */
static void test_no_smuggling(void **st)
{
    (void)st;
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", NULL };
    assert_int_equal(h_spawn(&sp, "mcd", 1, 0, args), 0);
    size_t n;
    char *r = exchange(sp.port, "set keep 0 0 1\r\nk\r\n", 19, 200, &n);
    assert_string_equal(r, "STORED\r\n");
    free(r);
    static const char evil[] = "set a 0 0 2\r\nxxflush_all\r\nset b 0 0 1\r\nb\r\n";
    r = exchange(sp.port, evil, sizeof evil - 1, 300, &n);
    assert_string_equal(r, "CLIENT_ERROR bad data chunk\r\n");
    free(r);
    r = exchange(sp.port, "get keep b\r\n", 12, 200, &n);
    assert_string_equal(r, "VALUE keep 0 1\r\nk\r\nEND\r\n");
    free(r);
    h_kill(&sp);
}

/* A value of 900 KB, over twice the output limit (256 KiB), comes back
 * whole in every mode, pipelined twice. */
static void test_large_values_every_mode(void **st)
{
    (void)st;
    static const char *const modes[] = { "hsha", "reactor", "lf", "inline" };
    size_t vlen = 900 * 1000;
    char *in = malloc(vlen + 128);
    int h = snprintf(in, 128, "set big 0 0 %zu\r\n", vlen);
    memset(in + h, 'v', vlen);
    memcpy(in + h + vlen, "\r\nget big\r\nget big\r\n", 20);
    for (size_t m = 0; m < 4; m++) {
        srv_proc sp;
        const char *args[] = { "--listen", "127.0.0.1:0", "--mode", modes[m], NULL };
        assert_int_equal(h_spawn(&sp, "mcd", 1, 0, args), 0);
        size_t n;
        char *r = exchange(sp.port, in, (size_t)h + vlen + 20, 500, &n);
        size_t one = strlen("VALUE big 0 900000\r\n") + vlen + 7;
        if (n != 8 + 2 * one)
            fprintf(stderr, "mode %s: %zu bytes back, want %zu\n", modes[m], n, 8 + 2 * one);
        assert_int_equal(n, 8 + 2 * one);
        assert_memory_equal(r, "STORED\r\nVALUE big 0 900000\r\nvvv", 31);
        free(r);
        h_kill(&sp);
    }
    free(in);
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* libmemcached's tools and python3's socket module against mcd. */
static void test_real_clients(void **st)
{
    (void)st;
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", NULL };
    assert_int_equal(h_spawn(&sp, "mcd", 1, 0, args), 0);
    char dir[] = "/tmp/pf-test-mcd-XXXXXX", cmd[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "cd %s && head -c 300000 /dev/urandom > blob && "
             "memccp --servers=127.0.0.1:%u blob && "
             "memccat --servers=127.0.0.1:%u --file=back blob && cmp blob back && "
             "memcstat --servers=127.0.0.1:%u | grep -q 'curr_items: 1' && "
             "memcrm --servers=127.0.0.1:%u blob && "
             "! memccat --servers=127.0.0.1:%u blob 2>/dev/null",
             dir, sp.port, sp.port, sp.port, sp.port, sp.port);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "python3 -c '\n"
             "import socket\n"
             "s = socket.create_connection((\"127.0.0.1\", %u))\n"
             "s.sendall(b\"set py 5 0 6\\r\\npython\\r\\nincr nope 1\\r\\nget py\\r\\n\")\n"
             "want = b\"STORED\\r\\nNOT_FOUND\\r\\nVALUE py 5 6\\r\\npython\\r\\nEND\\r\\n\"\n"
             "got = b\"\"\n"
             "while len(got) < len(want):\n"
             "    d = s.recv(4096)\n"
             "    if not d: break\n"
             "    got += d\n"
             "assert got == want, got\n"
             "s.sendall(b\"stats reset\\r\\nstats\\r\\n\")\n"
             "got = b\"\"\n"
             "while not got.endswith(b\"END\\r\\n\"):\n"
             "    d = s.recv(4096)\n"
             "    if not d: break\n"
             "    got += d\n"
             "assert got.startswith(b\"RESET\\r\\nSTAT \"), got\n"
             "assert b\"STAT cmd_get 0\\r\\n\" in got and b\"STAT curr_items 1\\r\\n\" in got, got\n'",
             sp.port);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    run(cmd);
    h_kill(&sp);
}

int main(void)
{
    h_raise_nofile();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_memcached),
        cmocka_unit_test(test_expiry_same),
        cmocka_unit_test(test_no_smuggling),
        cmocka_unit_test(test_large_values_every_mode),
        cmocka_unit_test(test_real_clients),
    };
    return cmocka_run_group_tests(tests, NULL, h_teardown);
}
