/* Signals to a whole service process (issue 12 item 12):
 *   - SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM no longer kill it (their default
 *     action), every mode; it still answers, and SIGTERM then drains (0);
 *   - a SIGTERM sent the moment "listening on" appears drains too: the line
 *     is printed once the server has taken its signals (before, the
 *     default action could kill the process first);
 *   - httpd reopens its access log on SIGUSR1 (logrotate moved the file),
 *     and on SIGHUP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static void hello(unsigned port)
{
    char rep[32];
    int fd = h_connect(port, 0);
    assert_true(fd >= 0);
    assert_int_equal(h_send_all(fd, "HELLO x\n", 8), 0);
    assert_int_equal(h_recv_n(fd, rep, 13, 5000, NULL), 13);
    assert_memory_equal(rep, "+OK hello x\r\n", 13);
    close(fd);
}

static void test_other_signals_do_not_kill(void **st)
{
    (void)st;
    static const char *const modes[] = { "hsha", "reactor", "lf", "inline" };
    for (size_t m = 0; m < 4; m++) {
        srv_proc sp;
        const char *args[] = { "--listen", "127.0.0.1:0", "--mode", modes[m], NULL };
        assert_int_equal(h_spawn(&sp, "echod", 1, 0, args), 0);
        static const int sigs[] = { SIGHUP, SIGUSR1, SIGUSR2, SIGALRM };
        for (size_t i = 0; i < 4; i++)
            assert_int_equal(kill(sp.pid, sigs[i]), 0);
        hello(sp.port);
        assert_int_equal(h_wait(&sp, 200), -1); /* still running */
        kill(sp.pid, SIGTERM);
        int status = h_wait(&sp, 10000);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        h_kill(&sp);
    }
}

static void test_sigterm_at_listening_drains(void **st)
{
    (void)st;
    for (int i = 0; i < 20; i++) {
        srv_proc sp;
        const char *args[] = { "--listen", "127.0.0.1:0", NULL };
        assert_int_equal(h_spawn(&sp, "echod", 1, 0, args), 0);
        kill(sp.pid, SIGTERM); /* at once, as a script that waited for the line */
        int status = h_wait(&sp, 10000);
        if (!WIFEXITED(status))
            fprintf(stderr, "run %d: killed by signal %d\n", i, WTERMSIG(status));
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        h_kill(&sp);
    }
}

static size_t lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;
    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void get_hello(unsigned port)
{
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char rep[512];
    int fd = h_connect(port, 0), eof;
    assert_int_equal(h_send_all(fd, req, sizeof req - 1), 0);
    assert_true(h_recv_n(fd, rep, sizeof rep, 5000, &eof) > 0);
    close(fd);
}

/* Wait until `path` has `n` lines (the log is written by a worker). */
static void wait_lines(const char *path, size_t n)
{
    for (int i = 0; i < 200 && lines_in(path) < n; i++)
        usleep(10 * 1000);
    assert_int_equal(lines_in(path), n);
}

static void test_httpd_reopens_log(void **st)
{
    (void)st;
    char dir[] = "/tmp/pf-test-logrotate-XXXXXX", log[64], moved[64], cmd[128];
    assert_non_null(mkdtemp(dir));
    snprintf(log, sizeof log, "%s/access.log", dir);
    snprintf(moved, sizeof moved, "%s/access.log.1", dir);
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", "--access-log", log, NULL };
    assert_int_equal(h_spawn(&sp, "httpd", 1, 0, args), 0);
    get_hello(sp.port);
    wait_lines(log, 1);
    assert_int_equal(rename(log, moved), 0); /* what logrotate does */
    assert_int_equal(kill(sp.pid, SIGUSR1), 0);
    for (int i = 0; i < 200 && access(log, F_OK) != 0; i++)
        usleep(10 * 1000);
    get_hello(sp.port);
    wait_lines(log, 1);   /* the new line in the new file */
    wait_lines(moved, 1); /* the old file kept its own */
    assert_int_equal(unlink(log), 0);
    assert_int_equal(kill(sp.pid, SIGHUP), 0);
    for (int i = 0; i < 200 && access(log, F_OK) != 0; i++)
        usleep(10 * 1000);
    get_hello(sp.port);
    wait_lines(log, 1);
    kill(sp.pid, SIGTERM);
    int status = h_wait(&sp, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    h_kill(&sp);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_other_signals_do_not_kill, h_teardown),
        cmocka_unit_test_teardown(test_sigterm_at_listening_drains, h_teardown),
        cmocka_unit_test_teardown(test_httpd_reopens_log, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
