/* The RESP parser, end to end through the session driver and alone.
 *
 * Vectors: tests/vectors/resp/NAME.in is fed whole, byte by byte and split
 * in two at every position; the output must be exactly NAME.out, where each
 * handled command renders itself as one line
 *     EVENT argc "arg" "arg" ... [inline]
 * (bytes outside printable ASCII, '"' and '\' escaped as \xHH, \", \\),
 * followed by the parser's error reply verbatim if there is one, in which
 * case the session must be closing.  NAME.conf, when present, sets limits:
 * "max_bulk=N max_args=N max_inline=N".
 *
 * Then the parser alone: input ending at a PROT_NONE page, every error code
 * with its exact text, a bulk crossing read boundaries into a moved buffer,
 * limits at their edges, empty commands, unescaping into caller buffers,
 * fields intact under parse-ahead, names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resp.h"
#include "resp_events.h"
#include "protofsm/session.h"
#include "testutil.h"

#define VEC_DIR "tests/vectors/resp"

/* Every argument of a packet, through the cursor (resp.h); unescaped
 * inline words land in a static buffer, valid until the next call. */
#define MAX_TEST_ARGS 4096
static char unesc[1 << 17];
static pf_slice *args_of(const pf_resp_fields *f)
{
    static pf_slice av[MAX_TEST_ARGS];
    assert_true(!f->is_inline || f->args.len <= sizeof unesc);
    assert_int_equal(pf_resp_args(f, av, MAX_TEST_ARGS, f->is_inline ? unesc : NULL, sizeof unesc),
                     (ssize_t)f->argc);
    return av;
}

/* ---- rendering: every command shows its event and arguments ---------- */

static void render(pf_session *s, const pf_packet *pkt)
{
    const pf_resp_fields *f = pkt->fields;
    const pf_slice *argv = args_of(f);
    char head[64];
    snprintf(head, sizeof head, "%s %zu", pf_event_name(&resp_events, pkt->event), f->argc);
    pf_reply_str(s, head);
    for (size_t i = 0; i < f->argc; i++) {
        pf_reply_str(s, " \"");
        for (size_t k = 0; k < argv[i].len; k++) {
            unsigned char c = (unsigned char)argv[i].ptr[k];
            char e[8];
            if (c == '"' || c == '\\')
                snprintf(e, sizeof e, "\\%c", c);
            else if (c >= 0x20 && c < 0x7f)
                snprintf(e, sizeof e, "%c", c);
            else
                snprintf(e, sizeof e, "\\x%02x", c);
            pf_reply_str(s, e);
        }
        pf_reply_str(s, "\"");
    }
    pf_reply_str(s, f->is_inline ? " inline\n" : "\n");
}

/* Every command renders itself; EMPTY (skipped blank commands) has
 * nothing to answer. */
static int on_packet(pf_session *s, const pf_packet *pkt)
{
    if (pkt->event != RESP_EV_EMPTY)
        render(s, pkt);
    return PF_NEXT;
}

static pf_test_watch watch;
static const pf_service *svc;

/* ---- vectors ---------------------------------------------------------- */

struct vec {
    char name[128];
    char *in, *out;
    size_t in_len, out_len;
    pf_resp_conf conf;
    int closes;
};
static struct vec vecs[128];
static size_t nvecs;

static int read_conf(const char *path, pf_resp_conf *c)
{
    size_t n;
    char *t = pf_test_slurp(path, &n);
    if (!t)
        return 0;
    for (char *tok = strtok(t, " \n"); tok; tok = strtok(NULL, " \n")) {
        size_t v = 0;
        if (sscanf(tok, "max_bulk=%zu", &v) == 1)
            c->max_bulk = v;
        else if (sscanf(tok, "max_args=%zu", &v) == 1)
            c->max_args = v;
        else if (sscanf(tok, "max_inline=%zu", &v) == 1)
            c->max_inline = v;
        else {
            free(t);
            return -1;
        }
    }
    free(t);
    return 0;
}

static int add_vector(const char *name, void *ctx)
{
    (void)ctx;
    if (nvecs == sizeof(vecs) / sizeof(vecs[0]) || strlen(name) >= sizeof(vecs[0].name))
        return -1;
    struct vec *v = &vecs[nvecs++];
    strcpy(v->name, name);
    v->in = pf_test_vec_file(VEC_DIR, name, "in", &v->in_len);
    v->out = pf_test_vec_file(VEC_DIR, name, "out", &v->out_len);
    char path[512];
    snprintf(path, sizeof path, "%s/%s.conf", VEC_DIR, name);
    if (read_conf(path, &v->conf) < 0 || !v->in || !v->out)
        return -1;
    v->closes = memmem(v->out, v->out_len, "-ERR Protocol error", 19) != NULL;
    return 0;
}

static int load_vectors(void **st)
{
    (void)st;
    svc = pf_test_watch_init(&watch, &pf_resp_protocol, on_packet);
    return pf_test_each_vector(VEC_DIR, add_vector, NULL) >= 30 ? 0 : -1;
}

static int free_vectors(void **st)
{
    (void)st;
    for (size_t i = 0; i < nvecs; i++) {
        free(vecs[i].in);
        free(vecs[i].out);
    }
    return 0;
}

static void show(const char *what, const char *p, size_t n)
{
    fprintf(stderr, "%s (%zu bytes):\n", what, n);
    fwrite(p, 1, n, stderr);
    fputc('\n', stderr);
}

/* Feed `v` in pieces cut at cuts[0..ncuts) and check output and closing. */
static void run_cut(const void *vp, const size_t *cuts, size_t ncuts, const char *how)
{
    const struct vec *v = vp;
    pf_session_conf sc = { .proto_conf = &v->conf };
    pf_session *s = pf_session_new(svc, &sc);
    assert_non_null(s);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : v->in_len;
        pf_session_feed(s, v->in + at, end - at);
        at = end;
    }
    pf_buf *out = pf_session_output(s);
    if (out->len != v->out_len || memcmp(pf_buf_head(out), v->out, v->out_len)) {
        fprintf(stderr, "vector %s fed %s: output differs\n", v->name, how);
        show("got", pf_buf_head(out), out->len);
        show("want", v->out, v->out_len);
        fail();
    }
    if (pf_session_closing(s) != v->closes) {
        fprintf(stderr, "vector %s fed %s: closing=%d, want %d\n", v->name, how,
                pf_session_closing(s), v->closes);
        fail();
    }
    pf_session_free(s);
}

static void feed_vectors(int kind)
{
    for (size_t i = 0; i < nvecs; i++)
        pf_test_cuts(&vecs[i], vecs[i].in_len, kind, run_cut);
}

static void test_vectors_whole(void **st)
{
    (void)st;
    feed_vectors(PF_TEST_WHOLE);
}

static void test_vectors_byte_by_byte(void **st)
{
    (void)st;
    feed_vectors(PF_TEST_BYTEWISE);
}

static void test_vectors_every_split(void **st)
{
    (void)st;
    feed_vectors(PF_TEST_EVERY_SPLIT);
}

/* ---- the parser alone ------------------------------------------------- */

typedef struct {
    _Alignas(max_align_t) char mem[sizeof(char) * 32768];
} parser_mem;

static void *new_parser(const pf_resp_conf *conf)
{
    assert_true(pf_resp_protocol.parser_size <= sizeof(parser_mem));
    parser_mem *m = malloc(sizeof *m);
    pf_resp_protocol.parser_init(m, conf);
    return m;
}

static ssize_t parse(void *rp, const char *buf, size_t len, pf_packet *pkt, pf_resp_fields *f)
{
    memset(f, 0xa5, sizeof *f);
    *pkt = (pf_packet){ .fields = f };
    return pf_resp_protocol.parse(rp, buf, len, pkt);
}

/* Parse `in` whole from a fresh parser: the first result.  The fields
 * point into `in` only. */
static ssize_t parse_once(const char *in, size_t n, const pf_resp_conf *conf,
                          pf_packet *pkt, pf_resp_fields *f)
{
    static parser_mem once;
    pf_resp_protocol.parser_init(&once, conf);
    return parse(&once, in, n, pkt, f);
}

static int within(const char *p, size_t n, const char *lo, size_t len)
{
    return p >= lo && p + n <= lo + len;
}

/* The parser must never read past `len`: put the input's last byte just
 * before an inaccessible page and parse every packet straight from there. */
static void test_guard_page(void **st)
{
    (void)st;
    for (size_t i = 0; i < nvecs; i++) {
        const struct vec *v = &vecs[i];
        char *in = pf_test_guard_copy(v->in, v->in_len);
        assert_non_null(in);
        void *rp = new_parser(&v->conf);
        size_t at = 0;
        for (;;) {
            pf_resp_fields f;
            pf_packet pkt;
            ssize_t n = parse(rp, in + at, v->in_len - at, &pkt, &f);
            if (n < 0)
                break;
            assert_true(n > 0);
            assert_true(within(pkt.raw.ptr, pkt.raw.len, in + at, (size_t)n));
            assert_true(within(f.args.ptr, f.args.len, in + at, (size_t)n));
            const pf_slice *av = args_of(&f);
            for (size_t k = 0; k < f.argc; k++)
                assert_true(within(av[k].ptr, av[k].len, in + at, (size_t)n) ||
                            (f.is_inline && within(av[k].ptr, av[k].len, unesc, f.args.len)));
            at += (size_t)n;
        }
        free(rp);
        pf_test_guard_free(in, v->in_len);
    }
}

struct err_case {
    const char *in;
    size_t len;           /* 0: strlen */
    pf_resp_conf conf;
    int code;
    const char *reply;
};

#define PE "-ERR Protocol error: "

static void check_error(const struct err_case *c)
{
    size_t n = c->len ? c->len : strlen(c->in);
    void *rp = new_parser(&c->conf);
    size_t at = 0;
    ssize_t r;
    pf_packet pkt;
    pf_resp_fields f;
    while ((r = parse(rp, c->in + at, n - at, &pkt, &f)) > 0)
        at += (size_t)r;
    if (r != c->code) {
        fprintf(stderr, "input %.*s: got %zd, want %d\n", (int)n, c->in, r, c->code);
        fail();
    }
    pf_slice rep = pf_resp_protocol.error_reply(rp, (int)r);
    assert_int_equal(rep.len, strlen(c->reply));
    assert_memory_equal(rep.ptr, c->reply, rep.len);
    /* sticky */
    assert_int_equal(parse(rp, "PING\r\n", 6, &pkt, &f), c->code);
    free(rp);
}

static char *repeat(const char *head, char c, size_t n, const char *tail)
{
    size_t h = strlen(head), t = strlen(tail);
    char *b = malloc(h + n + t + 1);
    memcpy(b, head, h);
    memset(b + h, c, n);
    memcpy(b + h + n, tail, t + 1);
    return b;
}

static void test_every_error(void **st)
{
    (void)st;
    const pf_resp_conf small = { .max_inline = 16, .max_args = 4, .max_bulk = 10 };
    char *big_inline = repeat("", 'x', PF_RESP_MAX_INLINE_DEFAULT + 1, "\r\n");
    char *big_count = repeat("*", '1', PF_RESP_MAX_INLINE_DEFAULT, "");
    char *big_bulk = repeat("*1\r\n$", '1', PF_RESP_MAX_INLINE_DEFAULT, "");
    const struct err_case cases[] = {
        { "*x\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*01\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*+1\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*-0\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*1 \r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*2147483648\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*99999999999999999999\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*-9223372036854775809\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*1048577\r\n", 0, { 0 }, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*5\r\n", 0, small, PF_RESP_EMBULK_LEN, PE "invalid multibulk length\r\n" },
        { "*1\r\n$-1\r\n", 0, { 0 }, PF_RESP_EBULK_LEN, PE "invalid bulk length\r\n" },
        { "*1\r\n$\r\n", 0, { 0 }, PF_RESP_EBULK_LEN, PE "invalid bulk length\r\n" },
        { "*1\r\n$03\r\n", 0, { 0 }, PF_RESP_EBULK_LEN, PE "invalid bulk length\r\n" },
        { "*1\r\n$3x\r\n", 0, { 0 }, PF_RESP_EBULK_LEN, PE "invalid bulk length\r\n" },
        { "*1\r\n$536870913\r\n", 0, { 0 }, PF_RESP_EBULK_LEN, PE "invalid bulk length\r\n" },
        { "*1\r\n$11\r\n", 0, small, PF_RESP_EBULK_LEN, PE "invalid bulk length\r\n" },
        { "*1\r\n:1\r\n", 0, { 0 }, PF_RESP_EDOLLAR, PE "expected '$', got ':'\r\n" },
        { "*2\r\n$1\r\na\r\nx\r\n", 0, { 0 }, PF_RESP_EDOLLAR, PE "expected '$', got 'x'\r\n" },
        { "*1\r\n\r\n", 0, { 0 }, PF_RESP_EDOLLAR, PE "expected '$', got ' '\r\n" },
        { "*1\r\n\n\r\n", 0, { 0 }, PF_RESP_EDOLLAR, PE "expected '$', got ' '\r\n" },
        { "*1\r\n\xff\r\n", 0, { 0 }, PF_RESP_EDOLLAR, PE "expected '$', got '\xff'\r\n" },
        { "SET \"a\r\n", 0, { 0 }, PF_RESP_EQUOTES, PE "unbalanced quotes in request\r\n" },
        { "SET 'a\r\n", 0, { 0 }, PF_RESP_EQUOTES, PE "unbalanced quotes in request\r\n" },
        { "SET \"a\"b\r\n", 0, { 0 }, PF_RESP_EQUOTES, PE "unbalanced quotes in request\r\n" },
        { "SET 'a'\"b\"\r\n", 0, { 0 }, PF_RESP_EQUOTES, PE "unbalanced quotes in request\r\n" },
        { "SET \"a\\\"\r\n", 0, { 0 }, PF_RESP_EQUOTES, PE "unbalanced quotes in request\r\n" },
        { "SET \"a\\\r\n", 0, { 0 }, PF_RESP_EQUOTES, PE "unbalanced quotes in request\r\n" },
        { big_inline, 0, { 0 }, PF_RESP_EINLINE_BIG, PE "too big inline request\r\n" },
        { "a b c d e\r\n", 0, small, PF_RESP_EINLINE_BIG, PE "too big inline request\r\n" },
        { "12345678901234567\r\n", 0, small, PF_RESP_EINLINE_BIG, PE "too big inline request\r\n" },
        { "PING\0\r\nPING\r\nPING\r\n", 20, small, PF_RESP_EINLINE_BIG, PE "too big inline request\r\n" },
        { big_count, 0, { 0 }, PF_RESP_EMBULK_BIG, PE "too big mbulk count string\r\n" },
        { "*0000000000000000\r\n", 0, small, PF_RESP_EMBULK_BIG, PE "too big mbulk count string\r\n" },
        { "*1\0\r\n$4\r\nPING\r\nPING\r\n", 21, small, PF_RESP_EMBULK_BIG, PE "too big mbulk count string\r\n" },
        { big_bulk, 0, { 0 }, PF_RESP_EBULK_BIG, PE "too big bulk count string\r\n" },
        { "*1\r\n$0000000000000000\r\n", 0, small, PF_RESP_EBULK_BIG, PE "too big bulk count string\r\n" },
        { "*1\r\n\0$4\r\nPING\r\nPING\r\n", 21, small, PF_RESP_EBULK_BIG, PE "too big bulk count string\r\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_error(&cases[i]);
    free(big_inline);
    free(big_count);
    free(big_bulk);
}

/* Every byte in place of '$' is named in the reply, CR and LF as spaces;
 * NUL never ends the line (redis's strchr), so it waits. */
static void test_dollar_every_byte(void **st)
{
    (void)st;
    for (int b = 0; b < 256; b++) {
        if (b == '$')
            continue;
        char in[16] = "*1\r\n";
        in[4] = (char)b;
        memcpy(in + 5, "1\r\n", 3);
        void *rp = new_parser(NULL);
        pf_packet pkt;
        pf_resp_fields f;
        ssize_t r = parse(rp, in, 8, &pkt, &f);
        if (b == 0) {
            assert_int_equal(r, -EAGAIN);
        } else {
            assert_int_equal(r, PF_RESP_EDOLLAR);
            char want[64];
            int n = snprintf(want, sizeof want, PE "expected '$', got '%c'\r\n",
                             b == '\r' || b == '\n' ? ' ' : b);
            pf_slice rep = pf_resp_protocol.error_reply(rp, (int)r);
            assert_int_equal(rep.len, (size_t)n);
            assert_memory_equal(rep.ptr, want, rep.len);
        }
        free(rp);
    }
}

/* Redis judges a header line only once the byte after its CR is there. */
static void test_header_waits_for_byte_after_cr(void **st)
{
    (void)st;
    pf_packet pkt;
    pf_resp_fields f;
    assert_int_equal(parse_once("*x\r", 3, NULL, &pkt, &f), -EAGAIN);
    assert_int_equal(parse_once("*x\rq", 4, NULL, &pkt, &f), PF_RESP_EMBULK_LEN);
    assert_int_equal(parse_once("*1\r\n:\r", 6, NULL, &pkt, &f), -EAGAIN);
    /* ... and never looks at that byte, nor at the two after a payload */
    const char lax[] = "*2\rX$4\rYPING??$1\r\nx!!";
    assert_int_equal(parse_once(lax, sizeof lax - 1, NULL, &pkt, &f), (ssize_t)sizeof lax - 1);
    assert_int_equal(pkt.event, RESP_EV_PING);
    assert_int_equal(f.argc, 2);
    assert_memory_equal(args_of(&f)[1].ptr, "x", 1);
}

/* A bulk arriving in pieces, the buffer moving between calls: the slices
 * point into the buffer of the final call. */
static void test_bulk_crossing_reads(void **st)
{
    (void)st;
    const char cmd[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123\r\n6789\r\n";
    size_t n = sizeof cmd - 1;
    for (size_t cut = 1; cut < n; cut++) {
        void *rp = new_parser(NULL);
        pf_packet pkt;
        pf_resp_fields f;
        char *a = malloc(n), *b = malloc(n);
        memcpy(a, cmd, cut);
        assert_int_equal(parse(rp, a, cut, &pkt, &f), -EAGAIN);
        memset(a, 'Z', cut); /* the old buffer is gone */
        memcpy(b, cmd, n);
        assert_int_equal(parse(rp, b, n, &pkt, &f), (ssize_t)n);
        assert_int_equal(pkt.event, RESP_EV_SET);
        assert_int_equal(f.argc, 3);
        assert_ptr_equal(pkt.raw.ptr, b);
        assert_ptr_equal(args_of(&f)[0].ptr, b + 8);
        assert_ptr_equal(args_of(&f)[1].ptr, b + 17);
        assert_ptr_equal(args_of(&f)[2].ptr, b + 25);
        assert_int_equal(args_of(&f)[2].len, 10);
        assert_memory_equal(args_of(&f)[2].ptr, "0123\r\n6789", 10);
        free(a);
        free(b);
        free(rp);
    }
}

/* Large bulks: the payload is skipped, not scanned, and is a slice. */
static void test_large_bulk(void **st)
{
    (void)st;
    size_t len = 1u << 20;
    char head[64];
    int h = snprintf(head, sizeof head, "*2\r\n$3\r\nSET\r\n$%zu\r\n", len);
    size_t n = (size_t)h + len + 2;
    char *in = malloc(n);
    memcpy(in, head, (size_t)h);
    for (size_t i = 0; i < len; i++)
        in[h + i] = (char)(i * 7);
    memcpy(in + h + len, "\r\n", 2);
    void *rp = new_parser(NULL);
    pf_packet pkt;
    pf_resp_fields f;
    /* in 4 KiB reads */
    ssize_t r = -EAGAIN;
    for (size_t avail = 4096; r == -EAGAIN; avail = avail + 4096 < n ? avail + 4096 : n)
        r = parse(rp, in, avail, &pkt, &f);
    assert_int_equal(r, (ssize_t)n);
    assert_ptr_equal(args_of(&f)[1].ptr, in + h);
    assert_int_equal(args_of(&f)[1].len, len);
    free(rp);
    free(in);
}

static void test_limits_at_edges(void **st)
{
    (void)st;
    const pf_resp_conf small = { .max_inline = 16, .max_args = 4, .max_bulk = 10 };
    pf_packet pkt;
    pf_resp_fields f;
    /* bulk length: max ok, max + 1 not (default and configured) */
    assert_int_equal(parse_once("*1\r\n$536870912\r\n", 17, NULL, &pkt, &f), -EAGAIN);
    assert_int_equal(parse_once("*1\r\n$536870913\r\n", 17, NULL, &pkt, &f), PF_RESP_EBULK_LEN);
    const char b10[] = "*1\r\n$10\r\n0123456789\r\n";
    assert_int_equal(parse_once(b10, sizeof b10 - 1, &small, &pkt, &f), (ssize_t)sizeof b10 - 1);
    assert_int_equal(parse_once("*1\r\n$11\r\n", 9, &small, &pkt, &f), PF_RESP_EBULK_LEN);
    /* arguments */
    assert_int_equal(parse_once("*1048576\r\n", 10, NULL, &pkt, &f), -EAGAIN);
    assert_int_equal(parse_once("*1048577\r\n", 10, NULL, &pkt, &f), PF_RESP_EMBULK_LEN);
    const char a4[] = "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n";
    assert_int_equal(parse_once(a4, sizeof a4 - 1, &small, &pkt, &f), (ssize_t)sizeof a4 - 1);
    assert_int_equal(f.argc, 4);
    assert_int_equal(parse_once("a b c d\n", 8, &small, &pkt, &f), 8);
    assert_int_equal(f.argc, 4);
    assert_int_equal(parse_once("a b c d e\n", 10, &small, &pkt, &f), PF_RESP_EINLINE_BIG);
    /* max_args above INT_MAX is clamped to it, as redis 7 counts */
    const pf_resp_conf huge = { .max_args = (size_t)-1 };
    assert_int_equal(parse_once("*2147483647\r\n", 13, &huge, &pkt, &f), -EAGAIN);
    assert_int_equal(parse_once("*2147483648\r\n", 13, &huge, &pkt, &f), PF_RESP_EMBULK_LEN);
    /* inline text: 16 bytes with LF or CRLF ok, 17 not; waiting at 17 with
     * a CR last is still fine */
    assert_int_equal(parse_once("0123456789abcdef\n", 17, &small, &pkt, &f), 17);
    assert_int_equal(parse_once("0123456789abcdef\r\n", 18, &small, &pkt, &f), 18);
    assert_int_equal(parse_once("0123456789abcdef\r", 17, &small, &pkt, &f), -EAGAIN);
    assert_int_equal(parse_once("0123456789abcdefg", 17, &small, &pkt, &f), PF_RESP_EINLINE_BIG);
    assert_int_equal(parse_once("0123456789abcdefg\n", 18, &small, &pkt, &f), PF_RESP_EINLINE_BIG);
    /* header line: 16 bytes before the CR are judged, 17 are too big */
    assert_int_equal(parse_once("*000000000000001\r\n", 18, &small, &pkt, &f), PF_RESP_EMBULK_LEN);
    assert_int_equal(parse_once("*0000000000000001", 17, &small, &pkt, &f), PF_RESP_EMBULK_BIG);
    assert_int_equal(parse_once("*000000000000001", 16, &small, &pkt, &f), -EAGAIN);
    /* default header limit: 65536 bytes wait, 65537 do not */
    char *c = repeat("*", '1', PF_RESP_MAX_INLINE_DEFAULT - 1, "");
    assert_int_equal(parse_once(c, PF_RESP_MAX_INLINE_DEFAULT, NULL, &pkt, &f), -EAGAIN);
    free(c);
    c = repeat("*", '1', PF_RESP_MAX_INLINE_DEFAULT, "");
    assert_int_equal(parse_once(c, PF_RESP_MAX_INLINE_DEFAULT + 1, NULL, &pkt, &f), PF_RESP_EMBULK_BIG);
    free(c);
    /* the negative counts string2ll accepts are empty commands */
    assert_int_equal(parse_once("*-9223372036854775808\r\nPING\n", 28, NULL, &pkt, &f), 28);
    assert_int_equal(pkt.event, RESP_EV_PING);
}

static void test_empty_commands(void **st)
{
    (void)st;
    pf_packet pkt;
    pf_resp_fields f;
    /* skipped, counted in the next packet's length, not in its raw bytes */
    const char in[] = "*0\r\n*-1\r\n\r\n \t \n*1\r\n$4\r\nPING\r\n";
    assert_int_equal(parse_once(in, sizeof in - 1, NULL, &pkt, &f), (ssize_t)sizeof in - 1);
    assert_int_equal(pkt.event, RESP_EV_PING);
    assert_int_equal(pkt.raw.len, 14);
    assert_memory_equal(pkt.raw.ptr, "*1\r\n$4\r\nPING\r\n", 14);
    assert_int_equal(parse_once("\r\n\r\n", 4, NULL, &pkt, &f), -EAGAIN);
    /* reported once they reach max_inline, at a command boundary */
    const pf_resp_conf c = { .max_inline = 8 };
    void *rp = new_parser(&c);
    assert_int_equal(parse(rp, "\n\n\n\n\n\n\n\n\n\nPING\n", 15, &pkt, &f), 8);
    assert_int_equal(pkt.event, RESP_EV_EMPTY);
    assert_int_equal(f.argc, 0);
    assert_int_equal(parse(rp, "\n\nPING\n", 7, &pkt, &f), 7);
    assert_int_equal(pkt.event, RESP_EV_PING);
    free(rp);
}

/* Zero copy on the multibulk path and for plain inline words; escaped or
 * joined inline words are unescaped into the caller's buffer, which
 * args.len bytes always suffice for. */
static void test_slices_and_unescape(void **st)
{
    (void)st;
    pf_packet pkt;
    pf_resp_fields f;
    void *rp = new_parser(NULL);
    const char in[] = "set k \"v\\x41\\n\" 'it\\'s' \"plain\" a\"b c\" \"\" \n";
    assert_int_equal(parse(rp, in, sizeof in - 1, &pkt, &f), (ssize_t)sizeof in - 1);
    assert_int_equal(pkt.event, RESP_EV_SET);
    assert_int_equal(f.is_inline, 1);
    assert_int_equal(f.argc, 7);
    assert_ptr_equal(f.args.ptr, in);
    assert_int_equal(f.args.len, sizeof in - 2);
    char buf[sizeof in];
    pf_slice av[7];
    assert_int_equal(pf_resp_args(&f, av, 7, buf, f.args.len), 7);
    assert_ptr_equal(av[1].ptr, in + 4);
    assert_memory_equal(av[2].ptr, "vA\n", 3);
    assert_true(within(av[2].ptr, 3, buf, sizeof buf));
    assert_memory_equal(av[3].ptr, "it's", 4);
    assert_ptr_equal(av[4].ptr, in + 25);
    assert_int_equal(av[4].len, 5);
    assert_int_equal(av[5].len, 4);
    assert_memory_equal(av[5].ptr, "ab c", 4);
    assert_int_equal(av[6].len, 0);
    /* too small a buffer, or too few slots: -ENOSPC, never an overrun */
    assert_int_equal(pf_resp_args(&f, av, 7, buf, 5), -ENOSPC);
    assert_int_equal(pf_resp_args(&f, av, 6, buf, sizeof buf), -ENOSPC);
    /* the cursor, one step at a time */
    pf_resp_iter it;
    pf_slice a;
    pf_resp_iter_init(&it, &f, buf, 2);
    assert_int_equal(pf_resp_arg_next(&it, &a), 1);
    assert_int_equal(pf_resp_arg_next(&it, &a), 1);
    assert_int_equal(pf_resp_arg_next(&it, &a), -ENOSPC);
    free(rp);

    /* an escaped name is classified by its unescaped bytes */
    assert_int_equal(parse_once("\"G\\x45T\" k\n", 11, NULL, &pkt, &f), 11);
    assert_int_equal(pkt.event, RESP_EV_GET);
    assert_int_equal(parse_once("g'et' k\n", 8, NULL, &pkt, &f), 8);
    assert_int_equal(pkt.event, RESP_EV_GET);
    /* a long escaped inline word: no parser-side limit but the line's */
    char *big = repeat("SET k \"", 'x', 8000, "\\n\"\n");
    assert_true(parse_once(big, strlen(big), NULL, &pkt, &f) > 0);
    assert_int_equal(args_of(&f)[2].len, 8001);
    free(big);
}

/* hsha parses ahead: the I/O thread fills the fields of packet 2 (and 3)
 * while a worker still reads packet 1's.  Each packet's fields must hold
 * only pointers into its own bytes, never into parser memory. */
static void test_parse_ahead_keeps_fields(void **st)
{
    (void)st;
    const char in[] = "SET \"a\\tb\" 'x y'\r\n"
                      "*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n"
                      "GET \"c\\nd\"\r\n";
    void *rp = new_parser(NULL);
    pf_packet pk[3];
    pf_resp_fields f[3];
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        ssize_t n = parse(rp, in + at, sizeof in - 1 - at, &pk[i], &f[i]);
        assert_true(n > 0);
        at += (size_t)n;
    }
    assert_int_equal(at, sizeof in - 1);
    /* the parser is scribbled over, as the next reads would */
    memset(rp, 0x5a, pf_resp_protocol.parser_size);
    const char *want[3][3] = { { "SET", "a\tb", "x y" }, { "SET", "k2", "v2" },
                               { "GET", "c\nd", NULL } };
    for (int i = 0; i < 3; i++) {
        const pf_slice *av = args_of(&f[i]);
        assert_int_equal(f[i].argc, i == 2 ? 2 : 3);
        for (size_t k = 0; k < f[i].argc; k++) {
            assert_int_equal(av[k].len, strlen(want[i][k]));
            assert_memory_equal(av[k].ptr, want[i][k], av[k].len);
        }
    }
    free(rp);
}

static void test_command_names(void **st)
{
    (void)st;
    static const struct { const char *name; uint16_t ev; } names[] = {
        { "ping", RESP_EV_PING }, { "ECHO", RESP_EV_ECHO }, { "GeT", RESP_EV_GET },
        { "set", RESP_EV_SET }, { "SETNX", RESP_EV_SETNX }, { "getSET", RESP_EV_GETSET },
        { "mget", RESP_EV_MGET }, { "mset", RESP_EV_MSET }, { "del", RESP_EV_DEL },
        { "exists", RESP_EV_EXISTS }, { "incr", RESP_EV_INCR }, { "decr", RESP_EV_DECR },
        { "incrby", RESP_EV_INCRBY }, { "decrBY", RESP_EV_DECRBY },
        { "append", RESP_EV_APPEND }, { "strlen", RESP_EV_STRLEN },
        { "expire", RESP_EV_EXPIRE }, { "pexpire", RESP_EV_PEXPIRE }, { "ttl", RESP_EV_TTL },
        { "PTTL", RESP_EV_PTTL }, { "persist", RESP_EV_PERSIST }, { "type", RESP_EV_TYPE },
        { "keys", RESP_EV_KEYS }, { "scan", RESP_EV_SCAN }, { "dbsize", RESP_EV_DBSIZE },
        { "flushdb", RESP_EV_FLUSHDB }, { "FLUSHALL", RESP_EV_FLUSHALL },
        { "select", RESP_EV_SELECT }, { "quit", RESP_EV_QUIT }, { "info", RESP_EV_INFO },
        { "command", RESP_EV_COMMAND }, { "client", RESP_EV_CLIENT },
        { "hello", RESP_EV_HELLO }, { "auth", RESP_EV_AUTH }, { "multi", RESP_EV_MULTI },
        { "exec", RESP_EV_EXEC }, { "discard", RESP_EV_DISCARD }, { "Config", RESP_EV_CONFIG },
        { "configs", RESP_EV_UNKNOWN },
        { "", RESP_EV_UNKNOWN }, { "g", RESP_EV_UNKNOWN }, { "ge", RESP_EV_UNKNOWN },
        { "gets", RESP_EV_UNKNOWN }, { "getsetx", RESP_EV_UNKNOWN },
        { "flush", RESP_EV_UNKNOWN },
        { "p\xc9ng", RESP_EV_UNKNOWN }, { "incrbyfloat", RESP_EV_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t nl = strlen(names[i].name);
        char in[64];
        int n = snprintf(in, sizeof in, "*1\r\n$%zu\r\n", nl);
        memcpy(in + n, names[i].name, nl);
        memcpy(in + n + nl, "\r\n", 2);
        pf_packet pkt;
        pf_resp_fields f;
        assert_int_equal(parse_once(in, (size_t)n + nl + 2, NULL, &pkt, &f), (ssize_t)((size_t)n + nl + 2));
        if (pkt.event != names[i].ev) {
            fprintf(stderr, "name '%s': event %s\n", names[i].name,
                    pf_event_name(&resp_events, pkt.event));
            fail();
        }
    }
    /* a NUL is part of the name, not its end */
    const char nul[] = "*1\r\n$4\r\nget\0\r\n";
    pf_packet pkt;
    pf_resp_fields f;
    assert_int_equal(parse_once(nul, sizeof nul - 1, NULL, &pkt, &f), (ssize_t)sizeof nul - 1);
    assert_int_equal(pkt.event, RESP_EV_UNKNOWN);
}

/* The runtime's own input limit closes silently, as redis does at
 * client-query-buffer-limit. */
static void test_input_limit_silent(void **st)
{
    (void)st;
    void *rp = new_parser(NULL);
    pf_slice r = pf_resp_protocol.error_reply(rp, -EMSGSIZE);
    assert_int_equal(r.len, 0);
    free(rp);
    pf_session_conf sc = { .max_input = 64 };
    pf_session *s = pf_session_new(svc, &sc);
    char big[200] = "*1\r\n$150\r\n";
    memset(big + 10, 'x', sizeof big - 10);
    assert_int_equal(pf_session_feed(s, big, sizeof big), -EMSGSIZE);
    assert_int_equal(pf_session_output(s)->len, 0);
    assert_true(pf_session_closing(s));
    pf_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_whole),
        cmocka_unit_test(test_vectors_byte_by_byte),
        cmocka_unit_test(test_vectors_every_split),
        cmocka_unit_test(test_guard_page),
        cmocka_unit_test(test_every_error),
        cmocka_unit_test(test_dollar_every_byte),
        cmocka_unit_test(test_header_waits_for_byte_after_cr),
        cmocka_unit_test(test_bulk_crossing_reads),
        cmocka_unit_test(test_large_bulk),
        cmocka_unit_test(test_limits_at_edges),
        cmocka_unit_test(test_empty_commands),
        cmocka_unit_test(test_slices_and_unescape),
        cmocka_unit_test(test_parse_ahead_keeps_fields),
        cmocka_unit_test(test_command_names),
        cmocka_unit_test(test_input_limit_silent),
    };
    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
