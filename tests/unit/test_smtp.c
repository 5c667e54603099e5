/* SMTP end to end through the session driver, with a real Maildir.
 *
 * Every vector in tests/vectors/smtp (NAME.in -> exactly NAME.out; NAME.closed
 * when the session must end up closing; NAME.mail the bodies of the messages
 * that must be in new/ afterwards, in order, none when absent) is fed whole,
 * byte by byte and split in two at every position, so every terminator and
 * near-terminator is seen split everywhere.  Then: the parser alone on input
 * ending at a PROT_NONE guard page, the limits (recipients, message size,
 * text and command lines, SIZE), the domain list, a large message through a
 * 64 KiB input bound, a dot-stuffing round trip, timeouts, drain, storage
 * errors and the machine's states. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "protofsm/session.h"
#include "smtp.h"
#include "maildir/maildir.h"
#include "smtp_fsm.h"
#include "testutil.h"

#define VEC_DIR "tests/vectors/smtp"
#define GREETING "220 mx.test ESMTP protofsm\r\n"

struct vec {
    char name[128];
    char *in, *out, *mail;
    size_t in_len, out_len, mail_len;
    int closes;
};
static struct vec vecs[64];
static size_t nvecs;
static char maildir[64];

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *b = malloc(cap);
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

static void rm_files(const char *sub)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", maildir, sub);
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s/%s", maildir, sub, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

static int count_files(const char *sub)
{
    char p[256];
    int n = 0;
    snprintf(p, sizeof p, "%s/%s", maildir, sub);
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static int setup(void **st)
{
    (void)st;
    strcpy(maildir, "/tmp/pf-test-smtp-XXXXXX");
    if (!mkdtemp(maildir) || pf_maildir_prepare(maildir) < 0)
        return -1;
    DIR *d = opendir(VEC_DIR);
    if (!d) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", VEC_DIR);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".in") || l - 3 >= sizeof(vecs[0].name))
            continue;
        if (nvecs == sizeof(vecs) / sizeof(vecs[0]))
            return -1;
        struct vec *v = &vecs[nvecs++];
        char path[512];
        memcpy(v->name, e->d_name, l - 3);
        v->name[l - 3] = 0;
        snprintf(path, sizeof path, "%s/%s.in", VEC_DIR, v->name);
        v->in = slurp(path, &v->in_len);
        snprintf(path, sizeof path, "%s/%s.out", VEC_DIR, v->name);
        v->out = slurp(path, &v->out_len);
        snprintf(path, sizeof path, "%s/%s.mail", VEC_DIR, v->name);
        v->mail = slurp(path, &v->mail_len);
        snprintf(path, sizeof path, "%s/%s.closed", VEC_DIR, v->name);
        v->closes = access(path, F_OK) == 0;
        if (!v->in || !v->out)
            return -1;
    }
    closedir(d);
    return nvecs >= 20 ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    for (size_t i = 0; i < nvecs; i++) {
        free(vecs[i].in);
        free(vecs[i].out);
        free(vecs[i].mail);
    }
    static const char *const subs[] = { "tmp", "new", "cur" };
    char p[256];
    for (int i = 0; i < 3; i++) {
        rm_files(subs[i]);
        snprintf(p, sizeof p, "%s/%s", maildir, subs[i]);
        rmdir(p);
    }
    rmdir(maildir);
    return 0;
}

/* The Q number of a Maildir name (the per-process counter): storage order. */
static unsigned long qnum(const char *name)
{
    const char *q = strchr(name, 'Q');
    return q ? strtoul(q + 1, NULL, 10) : 0;
}

/* Bodies of the messages in new/ (trace headers removed), oldest first,
 * concatenated; the files are removed. */
static char *take_mail(size_t *len, int *count)
{
    char names[16][256], p[4400];
    int n = 0;
    snprintf(p, sizeof p, "%s/new", maildir);
    DIR *d = opendir(p);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && n < 16)
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (qnum(names[j]) < qnum(names[i])) {
                char t[256];
                memcpy(t, names[i], sizeof t);
                memcpy(names[i], names[j], sizeof t);
                memcpy(names[j], t, sizeof t);
            }
    char *all = malloc(1);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t fl;
        snprintf(p, sizeof p, "%s/new/%s", maildir, names[i]);
        char *f = slurp(p, &fl);
        assert_non_null(f);
        unlink(p);
        /* Return-Path, Received (three lines), then the message. */
        char *body = strstr(f, "\r\n\tfor <");
        assert_non_null(body);
        body = strstr(body + 2, "\r\n");
        assert_non_null(body);
        body += 2;
        size_t bl = fl - (size_t)(body - f);
        all = realloc(all, total + bl + 1);
        memcpy(all + total, body, bl);
        total += bl;
        free(f);
    }
    *len = total;
    *count = n;
    return all;
}

/* The protocol's limits (defaults) and the store the sessions deliver to. */
static pf_smtp_conf test_conf(void)
{
    pf_smtp_conf c = { 0 };
    return c;
}
static pf_maildir md = { .dir = maildir, .hostname = "mx.test", .no_fsync = 1 };

static void run_cut(const void *vp, const size_t *cuts, size_t ncuts, const char *how)
{
    const struct vec *v = vp;
    pf_smtp_conf conf = test_conf();
    pf_session_conf sc = { .proto_conf = &conf, .listener_data = &md };
    pf_session *s = pf_session_new(&pf_maildir_service, &sc);
    assert_non_null(s);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : v->in_len;
        int rc = pf_session_feed(s, v->in + at, end - at);
        assert_true(rc >= 0);
        at = end;
    }
    pf_buf *out = pf_session_output(s);
    if (out->len != v->out_len || memcmp(pf_buf_head(out), v->out, v->out_len)) {
        fprintf(stderr, "vector %s fed %s: output differs (%zu bytes, want %zu):\n%.*s\n",
                v->name, how, out->len, v->out_len, (int)out->len, pf_buf_head(out));
        fail();
    }
    if (pf_session_closing(s) != v->closes) {
        fprintf(stderr, "vector %s fed %s: closing=%d, want %d\n", v->name, how,
                pf_session_closing(s), v->closes);
        fail();
    }
    pf_session_free(s);
    assert_int_equal(count_files("tmp"), 0); /* nothing half-written is left */
    size_t ml;
    int nm;
    char *m = take_mail(&ml, &nm);
    if (v->mail ? (ml != v->mail_len || memcmp(m, v->mail, ml)) : nm != 0) {
        fprintf(stderr, "vector %s fed %s: stored %d message(s), %zu bytes, want %zu\n",
                v->name, how, nm, ml, v->mail ? v->mail_len : 0);
        fail();
    }
    free(m);
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

/* The parser alone must never read past `len`.  A DATA is taken as
 * accepted, so what follows is read as message text. */
static void test_guard_page(void **st)
{
    (void)st;
    for (size_t i = 0; i < nvecs; i++) {
        const struct vec *v = &vecs[i];
        char *in = pf_test_guard_copy(v->in, v->in_len);
        assert_non_null(in);
        _Alignas(max_align_t) char parser[256];
        assert_true(pf_smtp_protocol.parser_size <= sizeof parser);
        pf_smtp_protocol.parser_init(parser, NULL);
        size_t at = 0;
        for (;;) {
            pf_smtp_fields f;
            pf_packet pkt = { .fields = &f };
            ssize_t n = pf_smtp_protocol.parse(parser, in + at, v->in_len - at, &pkt);
            if (n == -EAGAIN)
                break;
            assert_true(n > 0);
            assert_true(pkt.raw.ptr == in + at && pkt.raw.len == (size_t)n);
            if (pkt.event == SMTP_EV_DATA)
                pf_smtp_parser_data(f.parser, 1);
            at += (size_t)n;
        }
        pf_test_guard_free(in, v->in_len);
    }
}

/* ---- helpers for the rest ------------------------------------------------ */

static pf_session *open_s(const pf_smtp_conf *conf, const pf_maildir *m, size_t max_input)
{
    pf_session_conf sc = { .proto_conf = conf, .listener_data = (void *)m,
                           .max_input = max_input };
    pf_session *s = pf_session_new(&pf_maildir_service, &sc);
    assert_non_null(s);
    return s;
}

static void feed(pf_session *s, const char *str)
{
    assert_true(pf_session_feed(s, str, strlen(str)) >= 0);
}

/* Output since the last call, NUL-terminated in a static buffer. */
static const char *said(pf_session *s)
{
    static char b[8192];
    pf_buf *o = pf_session_output(s);
    size_t n = o->len < sizeof b - 1 ? o->len : sizeof b - 1;
    memcpy(b, pf_buf_head(o), n);
    b[n] = 0;
    pf_buf_consume(o, o->len);
    return b;
}

static void expect(pf_session *s, const char *in, const char *out)
{
    feed(s, in);
    const char *got = said(s);
    if (strcmp(got, out)) {
        fprintf(stderr, "after %s\ngot:  %s\nwant: %s\n", in, got, out);
        fail();
    }
}

static void test_recipient_limit(void **st)
{
    (void)st;
    pf_smtp_conf conf = test_conf();
    conf.max_rcpt = 3;
    pf_session *s = open_s(&conf, &md, 0);
    said(s);
    expect(s, "HELO h\r\nMAIL FROM:<a@b.example>\r\n", "250 mx.test\r\n250 2.1.0 Ok\r\n");
    for (int i = 0; i < 3; i++)
        expect(s, "RCPT TO:<c@d.example>\r\n", "250 2.1.5 Ok\r\n");
    expect(s, "RCPT TO:<c@d.example>\r\n", "452 4.5.3 Too many recipients\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_RCPT);
    expect(s, "DATA\r\nx\r\n.\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued\r\n");
    /* a new transaction counts from zero */
    expect(s, "MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Ok\r\n");
    for (int i = 0; i < 3; i++)
        expect(s, "RCPT TO:<c@d.example>\r\n", "250 2.1.5 Ok\r\n");
    expect(s, "RCPT TO:<c@d.example>\r\n", "452 4.5.3 Too many recipients\r\n");
    pf_session_free(s);
    rm_files("new");
}

static void test_message_size(void **st)
{
    (void)st;
    pf_smtp_conf conf = test_conf();
    conf.max_message = 100;
    pf_session *s = open_s(&conf, &md, 0);
    char msg[256];
    said(s);
    expect(s, "EHLO e\r\n",
           "250-mx.test greets e\r\n250-PIPELINING\r\n250-SIZE 100\r\n250-8BITMIME\r\n"
           "250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n");
    expect(s, "MAIL FROM:<a@b.example> SIZE=101\r\n",
           "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_GREETED);
    expect(s, "MAIL FROM:<a@b.example> SIZE=100\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
           "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
    /* exactly 100 octets after unstuffing: 49 a, CRLF, "." and 46 b, CRLF;
     * the stuffing dot of the second line does not count */
    memset(msg, 'a', 49);
    memcpy(msg + 49, "\r\n..", 4);
    memset(msg + 53, 'b', 46);
    strcpy(msg + 99, "\r\n.\r\n");
    expect(s, msg, "250 2.0.0 Ok: queued\r\n");
    assert_int_equal(count_files("new"), 1);
    expect(s, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
           "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
    msg[51] = 'b'; /* "b." no longer stuffed: 101 octets */
    expect(s, msg, "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    assert_int_equal(count_files("new"), 1);
    assert_int_equal(count_files("tmp"), 0);
    pf_session_free(s);
    rm_files("new");
}

static void test_domains(void **st)
{
    (void)st;
    static const char *const doms[] = { "example.com", "example.org", NULL };
    pf_smtp_conf conf = test_conf();
    pf_maildir dmd = md;
    dmd.domains = doms;
    pf_session *s = open_s(&conf, &dmd, 0);
    said(s);
    expect(s, "HELO h\r\nMAIL FROM:<a@elsewhere.example>\r\n", "250 mx.test\r\n250 2.1.0 Ok\r\n");
    expect(s, "RCPT TO:<x@other.example>\r\n", "550 5.1.2 Recipient domain not accepted here\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_MAIL);
    expect(s, "RCPT TO:<x@EXAMPLE.org>\r\nRCPT TO:<postmaster>\r\nRCPT TO:<x@sub.example.com>\r\n",
           "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n550 5.1.2 Recipient domain not accepted here\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_RCPT);
    pf_session_free(s);
}

/* A 4 MiB message with every kind of dot line, through a 64 KiB input
 * bound, fed in 1 MiB writes: stored byte for byte, unstuffed. */
static void test_large_message_round_trip(void **st)
{
    (void)st;
    size_t want = 4u << 20, ol = 0, wl = 0;
    char *orig = malloc(want + 2000), *wire = malloc(2 * want + 4000);
    unsigned r = 12345;
    while (ol < want) {
        size_t len = (r = r * 1103515245u + 12345u) >> 16 & 127;
        size_t start = ol;
        for (size_t k = 0; k < len; k++) {
            r = r * 1103515245u + 12345u;
            unsigned c = r >> 24;
            orig[ol++] = (char)(c % 5 == 0 ? '.' : c == '\r' || c == '\n' ? 'x' : (char)c);
        }
        memcpy(orig + ol, "\r\n", 2);
        ol += 2;
        if (orig[start] == '.')
            wire[wl++] = '.';
        memcpy(wire + wl, orig + start, ol - start);
        wl += ol - start;
    }
    memcpy(wire + wl, ".\r\n", 3);
    wl += 3;
    pf_smtp_conf conf = test_conf();
    conf.max_message = 8u << 20;
    pf_session *s = open_s(&conf, &md, 65536);
    said(s);
    expect(s, "HELO h\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
           "250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
    for (size_t at = 0; at < wl; at += 1u << 20) {
        size_t n = wl - at < (1u << 20) ? wl - at : 1u << 20;
        assert_true(pf_session_feed(s, wire + at, n) >= 0);
    }
    assert_string_equal(said(s), "250 2.0.0 Ok: queued\r\n");
    pf_session_free(s);
    size_t ml;
    int nm;
    char *m = take_mail(&ml, &nm);
    assert_int_equal(nm, 1);
    assert_int_equal(ml, ol);
    assert_memory_equal(m, orig, ol);
    free(m);
    free(orig);
    free(wire);
}

/* Lines with no end cost no memory: a 1 MiB text line and a 1 MiB command
 * line through a 64 KiB bound are refused, and the session goes on. */
static void test_endless_lines(void **st)
{
    (void)st;
    pf_smtp_conf conf = test_conf();
    pf_session *s = open_s(&conf, &md, 65536);
    char *x = malloc(1u << 20);
    memset(x, 'x', 1u << 20);
    said(s);
    assert_true(pf_session_feed(s, x, 1u << 20) >= 0);
    expect(s, "\r\nNOOP\r\n", "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
    expect(s, "HELO h\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
           "250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
    assert_true(pf_session_feed(s, x, 1u << 20) >= 0);
    assert_false(pf_session_closing(s));
    expect(s, "\r\n.\r\nNOOP\r\n", "500 5.5.2 Message line too long\r\n250 2.0.0 Ok\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_GREETED);
    pf_session_free(s);
    assert_int_equal(count_files("new"), 0);
    assert_int_equal(count_files("tmp"), 0);
    free(x);
}

static void test_timeout_and_drain(void **st)
{
    (void)st;
    pf_smtp_conf conf = test_conf();
    pf_session *s = open_s(&conf, &md, 0);
    said(s);
    expect(s, "HELO h\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\npart\r\n",
           "250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
    assert_int_equal(count_files("tmp"), 1);
    pf_session_event(s, PF_EV_TIMEOUT);
    assert_string_equal(said(s), "421 4.4.2 mx.test Timeout, closing connection\r\n");
    assert_true(pf_session_closing(s));
    assert_int_equal(pf_session_state(s), SMTP_ST_DONE);
    pf_session_free(s);
    assert_int_equal(count_files("tmp"), 0);
    assert_int_equal(count_files("new"), 0);

    s = open_s(&conf, &md, 0);
    said(s);
    pf_session_event(s, PF_EV_DRAIN);
    assert_string_equal(said(s), "421 4.3.2 mx.test Service shutting down\r\n");
    assert_true(pf_session_closing(s));
    pf_session_free(s);
}

static void test_storage_error(void **st)
{
    (void)st;
    pf_smtp_conf conf = test_conf();
    pf_maildir bad = { .dir = "/nonexistent/protofsm/maildir", .hostname = "mx.test" };
    pf_session *s = open_s(&conf, &bad, 0);
    said(s);
    expect(s, "HELO h\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nNOOP\r\n",
           "250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n451 4.3.0 Local error in processing\r\n"
           "250 2.0.0 Ok\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_RCPT);
    pf_session_free(s);
}

static void test_sink_and_states(void **st)
{
    (void)st;
    static const pf_maildir sink = { .hostname = "mx.test" };
    pf_session *s = open_s(NULL, &sink, 0); /* no Maildir: a sink */
    assert_string_equal(said(s), GREETING);
    assert_int_equal(pf_session_state(s), SMTP_ST_CONNECTED);
    expect(s, "EHLO e\r\n",
           "250-mx.test greets e\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n"
           "250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_GREETED);
    feed(s, "MAIL FROM:<>\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_MAIL);
    feed(s, "RCPT TO:<c@d.example>\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_RCPT);
    feed(s, "DATA\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_DATA);
    feed(s, "a\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_DATA);
    feed(s, ".\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_GREETED);
    said(s);
    expect(s, "QUIT\r\n", "221 2.0.0 Bye\r\n");
    assert_int_equal(pf_session_state(s), SMTP_ST_DONE);
    assert_true(pf_session_closing(s));
    pf_session_free(s);
    assert_int_equal(count_files("new"), 0);
}

/* The one message in new/, whole (headers included), removed; NULL when
 * there is not exactly one. */
static char *take_whole(size_t *len)
{
    char p[4400], *m = NULL;
    int n = 0;
    snprintf(p, sizeof p, "%s/new", maildir);
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && n++ == 0)
            snprintf(p, sizeof p, "%s/new/%s", maildir, e->d_name);
    if (d)
        closedir(d);
    if (n == 1) {
        m = slurp(p, len);
        unlink(p);
    }
    return m;
}

/* The header lines we write (up to the message), checked for any byte a
 * header line must not hold: a CTL other than the CR LF that end lines and
 * the HTAB that folds them, DEL, or non-ASCII. */
static void assert_clean_trace(const char *m, size_t len)
{
    const char *body = strstr(m, "\r\n\tfor <");
    assert_non_null(body);
    body = strstr(body + 2, "\r\n");
    assert_non_null(body);
    for (const char *c = m; c < body && c < m + len; c++) {
        unsigned char b = (unsigned char)*c;
        if ((b < 0x20 && b != '\r' && b != '\n' && b != '\t') || b >= 0x7f)
            fail_msg("byte 0x%02x at %zu in the trace headers:\n%.*s", b, (size_t)(c - m),
                     (int)(body - m), m);
    }
}

/* RFC 5321 4.1.1.1: the HELO/EHLO argument is a Domain or an address
 * literal.  Anything else (here an xterm title escape and a BEL) is 501 and
 * changes nothing, so what a client typed outside the grammar never reaches
 * the Received: header stored with its message. */
static void test_received_header(void **st)
{
    (void)st;
    pf_smtp_conf conf = test_conf();
    pf_session *s = open_s(&conf, &md, 0);
    said(s);
    expect(s, "EHLO mail.example\r\nEHLO evil\x1b]0;pwned\x07\r\nHELO [192.0.2.1]x\r\n",
           "250-mx.test greets mail.example\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n"
           "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n"
           "501 5.5.4 Syntax error in parameters or arguments\r\n"
           "501 5.5.4 Syntax error in parameters or arguments\r\n");
    expect(s, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nhi\r\n.\r\n",
           "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
           "250 2.0.0 Ok: queued\r\n");
    pf_session_free(s);
    size_t len;
    char *m = take_whole(&len);
    assert_non_null(m);
    assert_non_null(strstr(m, "\r\nReceived: from mail.example\r\n\tby mx.test (protofsm smtpd) "
                              "with ESMTP id "));
    assert_clean_trace(m, len);
    free(m);

    /* The service's own side: whatever it is configured with, its header
     * lines stay lines. */
    pf_maildir odd = md;
    odd.hostname = "mx\x1b[31m\r\nX-Forged: 1";
    s = open_s(&conf, &odd, 0);
    feed(s, "HELO [IPv6:2001:db8::1]\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
            "DATA\r\nhi\r\n.\r\n");
    pf_session_free(s);
    m = take_whole(&len);
    assert_non_null(m);
    assert_non_null(strstr(m, "\r\nReceived: from [IPv6:2001:db8::1]\r\n\tby mx?[31m??X-Forged: 1 "));
    assert_clean_trace(m, len);
    free(m);
}

/* A file under dir with its access and modification times `age` seconds
 * in the past (0: now). */
static void touch_aged(const char *dir, const char *name, time_t atime_age, time_t mtime_age)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("Subject: half a message\r\n", f);
    fclose(f);
    time_t now = time(NULL);
    struct timespec ts[2] = { { .tv_sec = now - atime_age }, { .tv_sec = now - mtime_age } };
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static int exists(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* What a crash leaves in tmp/ is removed at the next start once nobody has
 * touched it for 36 hours (Maildir readers' rule); a message in progress,
 * anything that is not a regular file, and new/ and cur/ stay as they are. */
static void test_tmp_cleanup(void **st)
{
    (void)st;
    char dir[64], tmp[96], cur[96], sub[128];
    strcpy(dir, "/tmp/pf-test-maildir-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(pf_maildir_prepare(dir), 0);
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    snprintf(cur, sizeof cur, "%s/cur", dir);
    const time_t h = 3600;
    touch_aged(tmp, "crashed", 37 * h, 37 * h);
    touch_aged(tmp, "old-but-read", 1 * h, 40 * h);    /* a reader has it open */
    touch_aged(tmp, "old-but-written", 40 * h, 1 * h); /* atime on a noatime mount */
    touch_aged(tmp, "young", 35 * h, 35 * h);
    touch_aged(cur, "ancient", 1000 * h, 1000 * h);
    snprintf(sub, sizeof sub, "%s/olddir", tmp);
    assert_int_equal(mkdir(sub, 0700), 0);
    struct timespec old[2] = { { .tv_sec = time(NULL) - 40 * h }, { .tv_sec = time(NULL) - 40 * h } };
    assert_int_equal(utimensat(AT_FDCWD, sub, old, 0), 0);

    assert_int_equal(pf_maildir_prepare(dir), 0);
    assert_false(exists(tmp, "crashed"));
    assert_true(exists(tmp, "old-but-read"));
    assert_true(exists(tmp, "old-but-written"));
    assert_true(exists(tmp, "young"));
    assert_true(exists(tmp, "olddir"));
    assert_true(exists(cur, "ancient"));

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The table says what the RFC says: every command out of sequence in every
 * state is answered by the default row (503), and nothing moves. */
static void test_table_defaults(void **st)
{
    (void)st;
    const pf_fsm *m = &smtp_fsm;
    static const uint16_t tx[] = { SMTP_EV_MAIL, SMTP_EV_RCPT, SMTP_EV_DATA };
    static const uint16_t ok[SMTP_NSTATES][3] = {
        [SMTP_ST_GREETED] = { 1, 0, 0 }, [SMTP_ST_MAIL] = { 0, 1, 0 }, [SMTP_ST_RCPT] = { 0, 1, 1 },
    };
    for (uint16_t st_ = 0; st_ < SMTP_NSTATES; st_++) {
        if (st_ == SMTP_ST_DONE)
            continue;
        for (int e = 0; e < 3; e++) {
            const pf_fsm_cell *c = &m->table[st_ * m->nevents + tx[e]];
            assert_int_equal(!(c->flags & PF_FSM_CELL_DEFAULT), ok[st_][e]);
            if (!ok[st_][e])
                assert_int_equal(c->next, st_);
        }
        /* RSET, EHLO, HELO lead to GREETED from everywhere after greeting */
        if (st_ != SMTP_ST_CONNECTED)
            assert_int_equal(m->table[st_ * m->nevents + SMTP_EV_RSET].next, SMTP_ST_GREETED);
        assert_int_equal(m->table[st_ * m->nevents + SMTP_EV_EHLO].next, SMTP_ST_GREETED);
        assert_int_equal(m->table[st_ * m->nevents + PF_EV_TIMEOUT].next, SMTP_ST_DONE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_whole),
        cmocka_unit_test(test_vectors_byte_by_byte),
        cmocka_unit_test(test_vectors_every_split),
        cmocka_unit_test(test_guard_page),
        cmocka_unit_test(test_recipient_limit),
        cmocka_unit_test(test_message_size),
        cmocka_unit_test(test_domains),
        cmocka_unit_test(test_large_message_round_trip),
        cmocka_unit_test(test_endless_lines),
        cmocka_unit_test(test_timeout_and_drain),
        cmocka_unit_test(test_storage_error),
        cmocka_unit_test(test_sink_and_states),
        cmocka_unit_test(test_table_defaults),
        cmocka_unit_test(test_received_header),
        cmocka_unit_test(test_tmp_cleanup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
