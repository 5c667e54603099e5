/* The HTTP/1.1 response helpers (http1_response.h) and the static site
 * (services/site), driven through sessions by hand (no sockets): exact
 * bytes of every reply with the Date value masked; dates; chunked output
 * for 1.1 and 1.0; keep-alive and close rules; response splitting refused;
 * heads that do not fit; 100 Continue sent once, whatever the splits; the
 * site's conditionals, ranges, methods and path policy; file bodies through
 * pf_reply_file's by-hand path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http1.h"
#include "http1_response.h"
#include "site/site.h"

static pf_site site = { .root_fd = -1, .log_fd = -1, .hello = "Hello, World!\n",
                        .hello_len = 14 };

/* A session of the site service with `site` as its listener's data. */
static pf_session *site_session(void)
{
    pf_session_conf sc = { .listener_data = &site };
    return pf_session_new(&pf_site_service, &sc);
}

static char dir[64];

/* Replace every Date value with "D" so replies compare exactly. */
static char *masked(pf_session *s)
{
    pf_buf *o = pf_session_output(s);
    char *r = malloc(o->len + 1), *w = r;
    const char *p = pf_buf_head(o), *e = p + o->len;
    while (p < e) {
        if (e - p > 6 + PF_HTTP1_DATE_LEN && memcmp(p, "Date: ", 6) == 0) {
            memcpy(w, "Date: D", 7);
            w += 7;
            p += 6 + PF_HTTP1_DATE_LEN;
            continue;
        }
        *w++ = *p++;
    }
    *w = '\0';
    pf_buf_consume(o, o->len);
    return r;
}

/* Feed `req` whole and compare the masked output with `want`. */
static void exchange(const char *req, const char *want)
{
    pf_session *s = site_session();
    pf_session_feed(s, req, strlen(req));
    char *got = masked(s);
    if (strcmp(got, want) != 0)
        fail_msg("request:\n%s\ngot:\n%s\nwant:\n%s", req, got, want);
    free(got);
    pf_session_free(s);
}

static void test_dates(void **state)
{
    (void)state;
    char d[PF_HTTP1_DATE_LEN + 1];
    time_t t;
    pf_http1_date_fmt(784111777, d);
    assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(pf_http1_date_parse(d, strlen(d), &t), 0);
    assert_int_equal(t, 784111777);
    pf_http1_date_fmt(0, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
    static const char *const bad[] = {
        "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 36 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 06 Nov 19a4 08:49:37 GMT", "",
        /* RFC 9110 §13.1.3: dates that do not exist are invalid, not
         * normalised into the next month (which made "31 Feb" a 304) */
        "Sat, 31 Feb 2024 00:00:00 GMT", "Wed, 30 Feb 2000 12:00:00 GMT",
        "Wed, 29 Feb 2023 00:00:00 GMT", "Mon, 29 Feb 2100 00:00:00 GMT",
        "Wed, 31 Apr 2024 00:00:00 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
        /* a day-name the date does not fall on, or none at all */
        "Mon, 06 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
        "sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 1969 00:00:00 GMT",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(pf_http1_date_parse(bad[i], strlen(bad[i]), &t), -EINVAL);
    static const struct { const char *d; time_t t; } good[] = {
        { "Thu, 29 Feb 2024 00:00:00 GMT", 1709164800 }, /* leap years */
        { "Tue, 29 Feb 2000 23:59:59 GMT", 951868799 },
        { "Wed, 31 Dec 2036 23:59:60 GMT", 2114380800 }, /* leap second */
        { "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(pf_http1_date_parse(good[i].d, strlen(good[i].d), &t), 0);
        assert_int_equal(t, good[i].t);
    }
    char now[PF_HTTP1_DATE_LEN + 1];
    pf_http1_date_now(now);
    assert_int_equal(pf_http1_date_parse(now, strlen(now), &t), 0);
    assert_true(labs((long)(t - time(NULL))) <= 1);
}

static void test_hello_and_connection_rules(void **state)
{
    (void)state;
    exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
             "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"
             "Hello, World!\n");
    exchange("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n",
             "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n");
    exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\n",
             "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
             "Connection: close\r\n\r\nHello, World!\n");
    exchange("GET /hello HTTP/1.0\r\n\r\n",
             "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
             "Connection: close\r\n\r\nHello, World!\n");
    exchange("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
             "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
             "Connection: keep-alive\r\n\r\nHello, World!\n");
    exchange("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
             "HTTP/1.1 204 No Content\r\nDate: D\r\nAllow: GET, HEAD, OPTIONS\r\n\r\n");
    exchange("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n",
             "HTTP/1.1 405 Method Not Allowed\r\nDate: D\r\nAllow: GET, HEAD, OPTIONS\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n\r\n"
             "405 Method Not Allowed\n");
    exchange("CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n",
             "HTTP/1.1 405 Method Not Allowed\r\nDate: D\r\nAllow: GET, HEAD, OPTIONS\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n"
             "Connection: close\r\n\r\n405 Method Not Allowed\n");
    exchange("MKCOL /x HTTP/1.1\r\nHost: x\r\n\r\n",
             "HTTP/1.1 501 Not Implemented\r\nDate: D\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Length: 20\r\n\r\n501 Not Implemented\n");
}

/* The builder on its own, against a request struct made by hand. */
static void test_builder(void **state)
{
    (void)state;
    pf_http1_fields f = { .method = PF_SLICE_LIT("GET"), .version_minor = 1,
                          .flags = PF_HTTP1_F_KEEP_ALIVE };
    pf_session *s = site_session();
    char head[PF_HTTP1_HEAD_MAX], *got;
    pf_http1_res r;

    pf_http1_res_init(&r, &f, 200, head, sizeof(head));
    assert_int_equal(pf_http1_send_chunked(s, &r), 0);
    assert_int_equal(pf_http1_chunk(s, &r, "hello", 5), 0);
    assert_int_equal(pf_http1_chunk(s, &r, "", 0), 0);
    assert_int_equal(pf_http1_chunk(s, &r, "0123456789abcdefg", 17), 0);
    assert_int_equal(pf_http1_chunk_end(s, &r), PF_NEXT);
    got = masked(s);
    assert_string_equal(got, "HTTP/1.1 200 OK\r\nDate: D\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhello\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n");
    free(got);

    f.version_minor = 0; /* 1.0 with keep-alive: no chunked, the close delimits */
    pf_http1_res_init(&r, &f, 200, head, sizeof(head));
    assert_int_equal(pf_http1_send_chunked(s, &r), 0);
    assert_int_equal(pf_http1_chunk(s, &r, "abc", 3), 0);
    assert_int_equal(pf_http1_chunk_end(s, &r), PF_CLOSE);
    got = masked(s);
    assert_string_equal(got, "HTTP/1.1 200 OK\r\nDate: D\r\nConnection: close\r\n\r\nabc");
    free(got);
    pf_session_free(s);

    /* 304: no length; response splitting refused; a head that does not fit */
    s = site_session();
    f.version_minor = 1;
    pf_http1_res_init(&r, &f, 304, head, sizeof(head));
    pf_http1_res_header(&r, "ETag", "\"x\"");
    assert_int_equal(pf_http1_send(s, &r, "ignored", 7), PF_NEXT);
    got = masked(s);
    assert_string_equal(got, "HTTP/1.1 304 Not Modified\r\nDate: D\r\nETag: \"x\"\r\n\r\n");
    free(got);
    pf_http1_res_init(&r, &f, 200, head, sizeof(head));
    pf_http1_res_header(&r, "Location", "/a\r\nSet-Cookie: evil=1");
    assert_int_equal(pf_http1_send(s, &r, "x", 1), -EINVAL);
    assert_int_equal(pf_session_output(s)->len, 0);
    pf_session_free(s);
    s = site_session();
    char tiny[40];
    pf_http1_res_init(&r, &f, 200, tiny, sizeof(tiny));
    pf_http1_res_header(&r, "X-Long", "0123456789012345678901234567890123456789");
    assert_int_equal(pf_http1_send(s, &r, "x", 1), -EMSGSIZE);
    assert_int_equal(pf_session_output(s)->len, 0);
    assert_true(pf_session_closing(s));
    pf_session_free(s);
    assert_string_equal(pf_http1_reason(416), "Range Not Satisfiable");
    assert_string_equal(pf_http1_reason(599), "Unknown");
}

static void test_continue_once(void **state)
{
    (void)state;
    static const char req[] = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                              "Expect: 100-continue\r\n\r\nabc";
    size_t hl = sizeof(req) - 1 - 3;
    for (size_t step = 1; step <= hl; step++) {
        pf_session *s = site_session();
        for (size_t i = 0; i < hl; i += step)
            pf_session_feed(s, req + i, i + step > hl ? hl - i : step);
        pf_buf *o = pf_session_output(s);
        assert_int_equal(o->len, 25);
        assert_memory_equal(pf_buf_head(o), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        pf_session_feed(s, "abc", 3);
        char *got = masked(s);
        assert_non_null(strstr(got, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 405 "));
        assert_null(strstr(got + 25, "100 Continue"));
        free(got);
        pf_session_free(s);
    }
    /* the body sent at once with the head: no 100 */
    exchange("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nz"
             "OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n",
             "HTTP/1.1 405 Method Not Allowed\r\nDate: D\r\nAllow: GET, HEAD, OPTIONS\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n\r\n"
             "405 Method Not Allowed\nHTTP/1.1 204 No Content\r\nDate: D\r\nAllow: GET, HEAD, OPTIONS\r\n\r\n");
}

/* ---- the site over a temporary root -------------------------------------- */

static int site_setup(void **state)
{
    (void)state;
    char p[128];
    strcpy(dir, "/tmp/pf_http1_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(p, sizeof(p), "%s/f.txt", dir);
    FILE *f = fopen(p, "w");
    fputs("0123456789", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/big.dat", dir);
    f = fopen(p, "w");
    for (int i = 0; i < 40000; i++)
        fputc('A' + i % 26, f);
    fclose(f);
    struct timespec ts[2] = { { 784111777, 0 }, { 784111777, 0 } };
    snprintf(p, sizeof(p), "%s/f.txt", dir);
    utimensat(AT_FDCWD, p, ts, 0);
    return pf_site_open(&site, dir);
}

static int site_teardown(void **state)
{
    (void)state;
    char cmd[128];
    pf_site_close(&site);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#define FILE_HEAD(status, extra)                                                            \
    "HTTP/1.1 " status "\r\nDate: D\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"    \
    "ETag: \"a-ae1b981bc490a00\"\r\nContent-Type: text/plain; charset=utf-8\r\n"           \
    "Accept-Ranges: bytes\r\n" extra

static void test_site_files(void **state)
{
    (void)state;
    exchange("GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n",
             FILE_HEAD("200 OK", "Content-Length: 10\r\n\r\n0123456789"));
    exchange("GET /f.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/\"a-ae1b981bc490a00\"\r\n\r\n",
             "HTTP/1.1 304 Not Modified\r\nDate: D\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
             "ETag: \"a-ae1b981bc490a00\"\r\n\r\n");
    exchange("GET /f.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
             "HTTP/1.1 304 Not Modified\r\nDate: D\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
             "ETag: \"a-ae1b981bc490a00\"\r\n\r\n");
    /* If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2) */
    exchange("HEAD /f.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\n"
             "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
             FILE_HEAD("200 OK", "Content-Length: 10\r\n\r\n"));
    exchange("GET /f.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0\r\n\r\n",
             FILE_HEAD("206 Partial Content", "Content-Range: bytes 0-0/10\r\nContent-Length: 1\r\n\r\n0"));
    exchange("GET /f.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-100\r\n\r\n",
             FILE_HEAD("206 Partial Content", "Content-Range: bytes 0-9/10\r\nContent-Length: 10\r\n\r\n0123456789"));
    exchange("GET /f.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=8-100\r\n\r\n",
             FILE_HEAD("206 Partial Content", "Content-Range: bytes 8-9/10\r\nContent-Length: 2\r\n\r\n89"));
    static const char *const ignored[] = { "bytes=5-2", "items=0-1", "bytes=a-b", "bytes=0-1,3-4",
                                           "bytes=", "bytes=1" };
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET /f.txt HTTP/1.1\r\nHost: x\r\nRange: %s\r\n\r\n", ignored[i]);
        exchange(req, FILE_HEAD("200 OK", "Content-Length: 10\r\n\r\n0123456789"));
    }
    exchange("GET /f.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-0\r\n\r\n",
             "HTTP/1.1 416 Range Not Satisfiable\r\nDate: D\r\nContent-Range: bytes */10\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 26\r\n\r\n"
             "416 Range Not Satisfiable\n");
    /* a body over 16 KiB goes through pf_reply_file (by hand: pread) */
    pf_session *s = site_session();
    static const char req[] = "GET /big.dat HTTP/1.1\r\nHost: x\r\nRange: bytes=100-39999\r\n\r\n";
    pf_session_feed(s, req, sizeof(req) - 1);
    char *got = masked(s), *body = strstr(got, "\r\n\r\n") + 4;
    assert_non_null(strstr(got, "Content-Length: 39900\r\n"));
    assert_int_equal(strlen(body), 39900);
    for (int i = 0; i < 39900; i++)
        assert_int_equal(body[i], 'A' + (i + 100) % 26);
    free(got);
    pf_session_free(s);
    /* the path policy */
    static const struct {
        const char *target;
        const char *status;
    } paths[] = {
        { "/..", "400" },          { "/%2e%2E/x", "400" },       { "/a/.%2e/f.txt", "400" },
        { "/%00", "400" },         { "/a%5cb", "400" },          { "//f.txt", "400" },
        { "/nope", "404" },        { "/f.txt/", "404" },         { "/f%2Etxt", "200" },
        { "/", "404" },            { "/%", "400" },              { "/%4", "400" },
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char rq[128];
        snprintf(rq, sizeof(rq), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i].target);
        s = site_session();
        pf_session_feed(s, rq, strlen(rq));
        got = masked(s);
        if (strncmp(got + 9, paths[i].status, 3) != 0)
            fail_msg("%s: %.12s, want %s", paths[i].target, got, paths[i].status);
        free(got);
        pf_session_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_hello_and_connection_rules),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_continue_once),
        cmocka_unit_test_setup_teardown(test_site_files, site_setup, site_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
