/* The common command line's logs (--access-log, --log-level; log.h) on
 * echod: one key=value line per packet with the documented keys, the
 * error log's levels, and log rotation under load: the file renamed and
 * SIGHUP sent ten times while clients run, and not one line lost or
 * split. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/pf_logsXXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    h_teardown(state);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The lines of a file, each checked to be whole and in the documented
 * form; -1 when one is not. */
static long count_lines(const char *path, long *bad)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    long n = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        static const char *const keys[] = { "time=", " listener=127.0.0.1:", " peer=127.0.0.1:",
                                            " machine=echo", " state=", " event=", " next=",
                                            " handler=", " result=", " bytes=", " us=" };
        const char *p = line;
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            const char *q = strstr(p, keys[k]);
            if (!q) {
                (*bad)++;
                break;
            }
            p = q + 1;
        }
        if (line[strlen(line) - 1] != '\n')
            (*bad)++;
        n++;
    }
    fclose(f);
    return n;
}

/* SIGTERM, a clean exit, and what the server wrote to stderr since it
 * was ready (its error log). */
static void stop_reading_stderr(srv_proc *sp, char *err, size_t cap)
{
    kill(sp->pid, SIGTERM);
    assert_int_equal(h_wait(sp, 10000), 0);
    ssize_t n = read(sp->errfd, err, cap - 1);
    err[n > 0 ? n : 0] = 0;
    h_kill(sp);
}

/* What the runtime meets itself goes to the error log at warn, once a
 * second at most with a count: connections refused at --max-conns here.
 * At --log-level error the same says nothing. */
static void refused_lines(const char *level, int want)
{
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", "--max-conns", "1", "--log-level", level,
                           NULL };
    assert_int_equal(h_spawn(&sp, "echod", 1, 0, args), 0);
    int keep = h_connect(sp.port, 0);
    assert_int_equal(h_roundtrip(keep, "HELLO a\r\n", "+OK hello a\r\n", 10000), 0);
    for (int i = 0; i < 5; i++) {
        int fd = h_connect(sp.port, 0);
        h_wait_eof(fd, 5000); /* the full reply, then the close */
        close(fd);
    }
    close(keep);
    char err[4096];
    stop_reading_stderr(&sp, err, sizeof(err));
    const char *l = strstr(err, "level=warn event=connection_refused count=");
    assert_int_equal(l != NULL, want);
    if (want) {
        assert_non_null(strstr(l, "reason=max_conns max_conns=1\n"));
        /* Five refusals within a second: one line. */
        assert_null(strstr(strchr(l, '\n'), "event=connection_refused"));
    }
}

static void test_runtime_warnings(void **state)
{
    (void)state;
    refused_lines("warn", 1);
    refused_lines("error", 0);
}

static void test_access_lines(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/access.log", dir);
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", "--access-log", path, "--log-level", "info",
                           "--idle-timeout", "0.3", NULL };
    assert_int_equal(h_spawn(&sp, "echod", 1, 0, args), 0);
    int fd = h_connect(sp.port, 0);
    assert_true(fd >= 0);
    assert_int_equal(h_roundtrip(fd, "ECHO a\r\n", "-ERR say HELLO first\r\n", 10000), 0);
    assert_int_equal(h_roundtrip(fd, "HELLO a\r\nECHO b\r\n", "+OK hello a\r\nb\r\n", 10000), 0);
    /* The idle timeout closes it: an info line on stderr. */
    assert_int_equal(h_wait_eof(fd, 5000), 1);
    close(fd);
    char err[4096];
    stop_reading_stderr(&sp, err, sizeof(err));
    assert_non_null(strstr(err, "level=info"));
    assert_non_null(strstr(err, "event=TIMEOUT"));
    assert_non_null(strstr(err, "reason=idle"));
    long bad = 0;
    assert_int_equal(count_lines(path, &bad), 3);
    assert_int_equal(bad, 0);
    FILE *f = fopen(path, "r");
    char line[1024];
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(strstr(line, " state=START event=ECHO next=START handler=echo_on_need_hello "
                                 "result=next bytes=8 us="));
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(strstr(line, " state=START event=HELLO next=READY handler=echo_on_hello "));
    fclose(f);
}

static atomic_int rotating;
static struct {
    pid_t pid;
    char path[128];
    atomic_int n;   /* read by the test while the rotator counts */
} rot;

static void *rotator(void *arg)
{
    (void)arg;
    while (atomic_load(&rotating) && atomic_load(&rot.n) < 10) {
        usleep(20000);
        char to[160];
        snprintf(to, sizeof(to), "%s.%d", rot.path, atomic_load(&rot.n) + 1);
        if (rename(rot.path, to) == 0) {
            kill(rot.pid, SIGHUP);
            atomic_fetch_add(&rot.n, 1);
        }
    }
    return NULL;
}

static void test_rotation_under_load(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/rot.log", dir);
    srv_proc sp;
    /* Workers write lines while the loop thread reopens (handoff always:
     * cheap handlers would otherwise run on the loop thread itself). */
    const char *args[] = { "--listen", "127.0.0.1:0", "--access-log", path, "--threads", "2",
                           "--handoff", "always", NULL };
    assert_int_equal(h_spawn(&sp, "echod", 1, 0, args), 0);
    enum { CLIENTS = 4, BATCH = 50 };
    int fds[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = h_connect(sp.port, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(h_roundtrip(fds[i], "HELLO r\r\n", "+OK hello r\r\n", 10000), 0);
    }
    static char req[BATCH * 16], exp[BATCH * 16];
    req[0] = exp[0] = 0;
    for (int k = 0; k < BATCH; k++) {
        strcat(req, "ECHO line\r\n");
        strcat(exp, "line\r\n");
    }
    rot.pid = sp.pid;
    strcpy(rot.path, path);
    atomic_store(&rot.n, 0);
    atomic_store(&rotating, 1);
    pthread_t t;
    pthread_create(&t, NULL, rotator, NULL);
    long sent = CLIENTS;
    uint64_t until = h_now_ms() + 20000;
    /* Until every rotation happened, with packets before, during and after. */
    while (h_now_ms() < until) {
        for (int i = 0; i < CLIENTS; i++) {
            assert_int_equal(h_roundtrip(fds[i], req, exp, 10000), 0);
            sent += BATCH;
        }
        if (atomic_load(&rot.n) >= 10)
            break;
    }
    atomic_store(&rotating, 0);
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&rot.n), 10);
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(h_roundtrip(fds[i], req, exp, 10000), 0);
    sent += CLIENTS * BATCH;
    /* Every reply came, so every line was written (before its reply). */
    long total = 0, bad = 0, last = 0;
    for (int k = 1; k <= 10; k++) {
        char p[160];
        snprintf(p, sizeof(p), "%s.%d", path, k);
        total += count_lines(p, &bad);
    }
    total += last = count_lines(path, &bad);
    printf("%ld packets, %ld lines in 11 files, %ld after the last reopen\n", sent, total, last);
    assert_int_equal(bad, 0);
    assert_int_equal(total, sent);
    assert_true(last >= CLIENTS * BATCH); /* the new file is in use */
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    h_kill(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_access_lines, h_teardown),
        cmocka_unit_test_teardown(test_runtime_warnings, h_teardown),
        cmocka_unit_test_teardown(test_rotation_under_load, h_teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
