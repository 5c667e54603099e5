/* kvd through hiredis (libhiredis-dev), the C client redis programs use:
 * binary-safe values, 1,000 pipelined commands, MULTI/EXEC reply shapes,
 * error replies, expiry (lazy and active).
 *
 * hiredis is loaded with dlopen (libhiredis.so.0.14 or libhiredis.so) as
 * tests/unit/test_http1_diff.c loads http-parser, since test programs link
 * only the project's libraries and cmocka; the header gives the types.
 * Without the library the test is skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <hiredis/hiredis.h>

#include "harness.h"

static struct {
    redisContext *(*connect)(const char *ip, int port);
    void *(*command)(redisContext *c, const char *format, ...);
    void *(*command_argv)(redisContext *c, int argc, const char **argv, const size_t *argvlen);
    int (*append)(redisContext *c, const char *format, ...);
    int (*get_reply)(redisContext *c, void **reply);
    void (*free_reply)(void *reply);
    void (*free_ctx)(redisContext *c);
} hr;

static int load(void)
{
    void *so = dlopen("libhiredis.so.0.14", RTLD_NOW | RTLD_LOCAL);
    if (!so)
        so = dlopen("libhiredis.so", RTLD_NOW | RTLD_LOCAL);
    if (!so)
        return -1;
    *(void **)&hr.connect = dlsym(so, "redisConnect");
    *(void **)&hr.command = dlsym(so, "redisCommand");
    *(void **)&hr.command_argv = dlsym(so, "redisCommandArgv");
    *(void **)&hr.append = dlsym(so, "redisAppendCommand");
    *(void **)&hr.get_reply = dlsym(so, "redisGetReply");
    *(void **)&hr.free_reply = dlsym(so, "freeReplyObject");
    *(void **)&hr.free_ctx = dlsym(so, "redisFree");
    return hr.connect && hr.command && hr.command_argv && hr.append && hr.get_reply &&
                   hr.free_reply && hr.free_ctx ? 0 : -1;
}

static redisReply *cmd(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *r = arg ? hr.command(c, fmt, arg) : hr.command(c, fmt);
    assert_non_null(r);
    return r;
}

static void test_hiredis(void **st)
{
    (void)st;
    if (load() < 0) {
        fprintf(stderr, "libhiredis not found: skipped\n");
        skip();
    }
    srv_proc sp;
    const char *args[] = { "--listen", "127.0.0.1:0", NULL };
    assert_int_equal(h_spawn(&sp, "kvd", 1, 0, args), 0);
    redisContext *c = hr.connect("127.0.0.1", (int)sp.port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);

    /* binary-safe: NUL, CR, LF in key and value */
    const char *av[3] = { "SET", "k\0\r\n", "v\0a\r\nl" };
    size_t al[3] = { 3, 4, 7 };
    redisReply *r = hr.command_argv(c, 3, av, al);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    assert_string_equal(r->str, "OK");
    hr.free_reply(r);
    const char *gv[2] = { "GET", "k\0\r\n" };
    size_t gl[2] = { 3, 4 };
    r = hr.command_argv(c, 2, gv, gl);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, 7);
    assert_memory_equal(r->str, "v\0a\r\nl", 7);
    hr.free_reply(r);

    /* 1,000 pipelined INCRs */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(hr.append(c, "INCR counter"), REDIS_OK);
    for (int i = 0; i < 1000; i++) {
        void *p;
        assert_int_equal(hr.get_reply(c, &p), REDIS_OK);
        r = p;
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_int_equal(r->integer, i + 1);
        hr.free_reply(r);
    }

    /* MULTI/EXEC: QUEUED, then an array of each command's reply */
    r = cmd(c, "MULTI", NULL);
    assert_string_equal(r->str, "OK");
    hr.free_reply(r);
    r = cmd(c, "INCRBY counter %s", "10");
    assert_string_equal(r->str, "QUEUED");
    hr.free_reply(r);
    r = cmd(c, "GET %s", "missing");
    hr.free_reply(r);
    r = cmd(c, "EXEC", NULL);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_int_equal(r->element[0]->integer, 1010);
    assert_int_equal(r->element[1]->type, REDIS_REPLY_NIL);
    hr.free_reply(r);

    /* errors */
    r = cmd(c, "INCR %s", "fresh");
    assert_int_equal(r->integer, 1);
    hr.free_reply(r);
    r = cmd(c, "SET s %s", "abc");
    hr.free_reply(r);
    r = cmd(c, "INCR %s", "s");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->str, "ERR value is not an integer or out of range");
    hr.free_reply(r);

    /* expiry: lazy (GET after the deadline) and active (DBSIZE falls) */
    for (int i = 0; i < 500; i++) {
        r = hr.command(c, "SET t%d v PX 50", i);
        hr.free_reply(r);
    }
    r = cmd(c, "SET e v PX %s", "50");
    hr.free_reply(r);
    r = cmd(c, "PTTL %s", "e");
    assert_true(r->integer > 0 && r->integer <= 50);
    hr.free_reply(r);
    struct timespec ts = { 0, 120 * 1000000L };
    nanosleep(&ts, NULL);
    r = cmd(c, "GET %s", "e");
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    hr.free_reply(r);
    long long left = -1;
    for (int i = 0; i < 40 && left != 4; i++) {
        r = cmd(c, "DBSIZE", NULL);
        left = r->integer;
        hr.free_reply(r);
        nanosleep(&ts, NULL);
    }
    /* "k\0\r\n", counter, s and fresh remain: the 500 t* keys expired
     * without being touched (active expiry) */
    assert_int_equal(left, 4);
    hr.free_ctx(c);
    h_kill(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_hiredis, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
