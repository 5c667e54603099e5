/* The shared command line: address splitting, options, defaults, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protofsm/cli.h"

static void test_split(void **state)
{
    char h[64];
    unsigned port;
    (void)state;
    assert_int_equal(pf_cli_split("127.0.0.1:7000", h, sizeof(h), &port), 0);
    assert_string_equal(h, "127.0.0.1");
    assert_int_equal(port, 7000);
    assert_int_equal(pf_cli_split("[::1]:0", h, sizeof(h), &port), 0);
    assert_string_equal(h, "[::1]");
    assert_int_equal(port, 0);
    assert_int_equal(pf_cli_split(":8080", h, sizeof(h), &port), 0);
    assert_string_equal(h, "");
    assert_int_equal(pf_cli_split("localhost", h, sizeof(h), &port), -EINVAL);
    assert_int_equal(pf_cli_split("h:65536", h, sizeof(h), &port), -EINVAL);
    assert_int_equal(pf_cli_split("h:", h, sizeof(h), &port), -EINVAL);
    assert_int_equal(pf_cli_split("h:12x", h, sizeof(h), &port), -EINVAL);
    assert_int_equal(pf_cli_split("averyverylonghostname:1", h, 8, &port), -EINVAL);
}

static int parse(pf_cli *cli, int argc, const char **argv)
{
    return pf_cli_parse(cli, argc, (char **)argv, NULL);
}

static void test_options(void **state)
{
    pf_cli cli;
    const char *argv[] = { "prog", "--listen", "127.0.0.1:0", "--listen", "[::1]:9",
                           "--threads", "3", "--mode", "lf", "--idle-timeout", "1.5",
                           "--request-timeout", "0", "--drain-timeout", "2", "--max-conns", "7",
                           "--max-input", "1024", "--max-output", "2048", "--queue", "5",
                           "--reuseport" };
    (void)state;
    assert_int_equal(parse(&cli, (int)(sizeof(argv) / sizeof(argv[0])), argv), 0);
    assert_int_equal(cli.nlisten, 2);
    assert_string_equal(cli.listen[1].host, "[::1]");
    assert_int_equal(cli.listen[1].port, 9);
    assert_int_equal(cli.conf.threads, 3);
    assert_int_equal(cli.conf.mode, PF_MODE_LF);
    assert_int_equal(cli.conf.idle_timeout_ms, 1500);
    assert_int_equal(cli.conf.request_timeout_ms, 0);
    assert_int_equal(cli.conf.drain_timeout_ms, 2000);
    assert_int_equal(cli.conf.max_conns, 7);
    assert_int_equal(cli.conf.max_input, 1024);
    assert_int_equal(cli.conf.max_output, 2048);
    assert_int_equal(cli.conf.queue_size, 5);
    assert_int_equal(cli.reuseport, 1);

    const char *none[] = { "prog" };
    assert_int_equal(parse(&cli, 1, none), 0);
    assert_int_equal(cli.nlisten, 0);
    assert_int_equal(cli.conf.mode, PF_MODE_HSHA);
    assert_int_equal(cli.conf.idle_timeout_ms, 300000);
    assert_int_equal(cli.conf.request_timeout_ms, 30000);
}

/* A service's own defaults: options given replace them, the first
 * --listen replaces the default listeners, the rest stay. */
static void test_service_defaults(void **state)
{
    pf_cli d, cli;
    (void)state;
    pf_cli_defaults(&d);
    d.conf.idle_timeout_ms = 0;
    d.conf.max_input = 1 << 20;
    assert_int_equal(pf_cli_split("127.0.0.1:11311", d.listen[0].host, sizeof(d.listen[0].host),
                                  &d.listen[0].port), 0);
    d.nlisten = 1;

    const char *none[] = { "prog" };
    assert_int_equal(pf_cli_parse_over(&cli, 1, (char **)none, NULL, &d), 0);
    assert_int_equal(cli.nlisten, 1);
    assert_int_equal(cli.listen[0].port, 11311);
    assert_int_equal(cli.conf.idle_timeout_ms, 0);
    assert_int_equal(cli.conf.max_input, 1 << 20);
    assert_int_equal(cli.conf.request_timeout_ms, 30000);

    const char *some[] = { "prog", "--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2",
                           "--idle-timeout", "5" };
    assert_int_equal(pf_cli_parse_over(&cli, 7, (char **)some, NULL, &d), 0);
    assert_int_equal(cli.nlisten, 2);
    assert_int_equal(cli.listen[0].port, 1);
    assert_int_equal(cli.listen[1].port, 2);
    assert_int_equal(cli.conf.idle_timeout_ms, 5000);
    assert_int_equal(cli.conf.max_input, 1 << 20);
    assert_int_equal(d.nlisten, 1); /* the defaults are not changed */

    /* --help says the defaults in force */
    FILE *saved = stdout;
    char *text = NULL;
    size_t len = 0;
    stdout = open_memstream(&text, &len);
    const char *help[] = { "prog", "--help" };
    assert_int_equal(pf_cli_parse_over(&cli, 2, (char **)help, "about", &d), 1);
    fclose(stdout);
    stdout = saved;
    assert_non_null(strstr(text, "(default 127.0.0.1:11311)"));
    assert_non_null(strstr(text, "--idle-timeout S      close connections idle for S seconds "
                                 "(default 0; 0: never)"));
    assert_non_null(strstr(text, "largest request (default 1048576)"));
    free(text);
}

static void test_errors(void **state)
{
    pf_cli cli;
    (void)state;
    /* Usage goes to stderr; keep the test output readable. */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    const char *bad_mode[] = { "prog", "--mode", "threads" };
    const char *bad_num[] = { "prog", "--threads", "0" };
    const char *bad_listen[] = { "prog", "--listen", "nowhere" };
    const char *unknown[] = { "prog", "--frobnicate" };
    const char *missing[] = { "prog", "--threads" };
    const char *extra[] = { "prog", "stray" };
    int r[6] = {
        parse(&cli, 3, bad_mode), parse(&cli, 3, bad_num), parse(&cli, 3, bad_listen),
        parse(&cli, 2, unknown),  parse(&cli, 2, missing), parse(&cli, 2, extra),
    };
    fclose(stderr);
    stderr = saved;
    for (int i = 0; i < 6; i++)
        assert_int_equal(r[i], -EINVAL);

    FILE *so = stdout;
    stdout = fopen("/dev/null", "w");
    const char *help[] = { "prog", "--help" };
    int h = parse(&cli, 2, help);
    fclose(stdout);
    stdout = so;
    assert_int_equal(h, 1);
}

/* Counts must be whole; a positive sub-millisecond timeout is 1 ms, not
 * 0 (never). */
static void test_fractions(void **state)
{
    pf_cli cli;
    (void)state;
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    const char *threads[] = { "prog", "--threads", "2.5" };
    const char *conns[] = { "prog", "--max-conns", "10.1" };
    const char *out[] = { "prog", "--max-output", "100.5" };
    int r[3] = { parse(&cli, 3, threads), parse(&cli, 3, conns), parse(&cli, 3, out) };
    fclose(stderr);
    stderr = saved;
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i], -EINVAL);
    const char *tiny[] = { "prog", "--idle-timeout", "0.0001", "--request-timeout", "0.0004",
                           "--drain-timeout", "0.0015", "--threads", "2.0" };
    assert_int_equal(parse(&cli, 9, tiny), 0);
    assert_int_equal(cli.conf.idle_timeout_ms, 1);
    assert_int_equal(cli.conf.request_timeout_ms, 1);
    assert_int_equal(cli.conf.drain_timeout_ms, 1);
    assert_int_equal(cli.conf.threads, 2);
    const char *zero[] = { "prog", "--idle-timeout", "0" };
    assert_int_equal(parse(&cli, 3, zero), 0);
    assert_int_equal(cli.conf.idle_timeout_ms, 0);
}

/* --admin, --access-log, --log-level: parsed, "off" overrides a service's
 * default admin, bad values refused. */
static void test_admin_logs(void **state)
{
    pf_cli cli, d;
    (void)state;
    const char *off[] = { "prog" };
    assert_int_equal(parse(&cli, 1, off), 0);
    assert_int_equal(cli.admin, 0);
    assert_string_equal(cli.access_log, "");
    assert_int_equal(cli.log_level, PF_LOG_WARN);
    const char *on[] = { "prog", "--admin", "[::1]:0", "--access-log", "/tmp/a.log",
                         "--log-level", "debug" };
    assert_int_equal(parse(&cli, 7, on), 0);
    assert_int_equal(cli.admin, 1);
    assert_string_equal(cli.admin_host, "[::1]");
    assert_int_equal(cli.admin_port, 0);
    assert_string_equal(cli.access_log, "/tmp/a.log");
    assert_int_equal(cli.log_level, PF_LOG_DEBUG);
    pf_cli_defaults(&d);
    d.admin = 1;
    strcpy(d.admin_host, "127.0.0.1");
    d.admin_port = 9100;
    const char *no[] = { "prog", "--admin", "off" };
    assert_int_equal(pf_cli_parse_over(&cli, 3, (char **)no, NULL, &d), 0);
    assert_int_equal(cli.admin, 0);
    assert_int_equal(pf_cli_parse_over(&cli, 1, (char **)off, NULL, &d), 0);
    assert_int_equal(cli.admin, 1);
    assert_int_equal(cli.admin_port, 9100);
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    const char *bad1[] = { "prog", "--admin", "nohostport" };
    const char *bad2[] = { "prog", "--log-level", "loud" };
    const char *bad3[] = { "prog", "--access-log", "" };
    int r1 = parse(&cli, 3, bad1), r2 = parse(&cli, 3, bad2), r3 = parse(&cli, 3, bad3);
    fclose(stderr);
    stderr = saved;
    assert_int_equal(r1, -EINVAL);
    assert_int_equal(r2, -EINVAL);
    assert_int_equal(r3, -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_service_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fractions),
        cmocka_unit_test(test_admin_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
