/* libFuzzer target for the HTTP/1.1 parser.
 *
 * Besides "no crash, no overread" (ASan/UBSan; every call gets a heap copy
 * of exactly the bytes available, so reading one past the end is caught),
 * the oracles are:
 *   - the split rule: parsing the input whole and as it arrives in pieces
 *     (step chosen by the first byte) yields the same packets, with the same
 *     fields at the same offsets, and the same final error;
 *   - every slice lies inside its packet, and the chunk walk adds up to
 *     content_length.
 * The second byte picks small limits or the defaults, so the limit paths
 * (414/431/413) are reached with short inputs.
 *
 * The input then goes through a whole session whose handlers are the
 * static site's (services/site, no root, /hello on), which runs the
 * response helpers on whatever the parser accepted: every reply must be a
 * well-formed status line. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "site/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pf_site site = { .root_fd = -1, .log_fd = -1, .hello = "hi\n", .hello_len = 3 };

static void session(const char *in, size_t n, const pf_http1_conf *conf)
{
    pf_session_conf sc = { .proto_conf = conf, .listener_data = &site };
    pf_session *s = pf_session_new(&pf_site_service, &sc);
    if (!s)
        return;
    pf_session_feed(s, in, n);
    pf_buf *out = pf_session_output(s);
    if (out->len && (out->len < 12 || memcmp(pf_buf_head(out), "HTTP/1.1 ", 9) != 0))
        abort();
    pf_session_free(s);
}

#define MAXREC 512

struct rec {
    uint16_t ev, flags, nh, nt;
    uint8_t form, minor;
    size_t off, len;
    uint64_t cl;
    size_t s[16];   /* offsets/lengths of the slices, relative to the packet */
    uint64_t hh;    /* hash of the header slices */
};

static _Alignas(max_align_t) char parser[16384];
static pf_http1_fields f;

static size_t rel(const char *base, pf_slice s)
{
    return s.ptr ? (size_t)(s.ptr - base) : (size_t)-1;
}

static void check_inside(const char *lo, size_t n, pf_slice s)
{
    if (s.len && (s.ptr < lo || s.ptr + s.len > lo + n))
        abort();
}

static void record(struct rec *r, const pf_packet *pkt, size_t start)
{
    const char *b = pkt->raw.ptr;
    size_t n = pkt->raw.len;
    memset(r, 0, sizeof *r);
    r->ev = pkt->event;
    r->flags = f.flags;
    r->nh = f.nheaders;
    r->nt = f.ntrailers;
    r->form = f.form;
    r->minor = f.version_minor;
    r->off = start;
    r->len = n;
    r->cl = f.content_length;
    const pf_slice sl[] = { f.method, f.target, f.path, f.query, f.authority, f.body };
    for (unsigned i = 0; i < 6; i++) {
        check_inside(b, n, sl[i]);
        r->s[2 * i] = rel(b, sl[i]);
        r->s[2 * i + 1] = sl[i].len;
    }
    if ((unsigned)f.nheaders + f.ntrailers > PF_HTTP1_MAX_HEADERS)
        abort();
    uint64_t h = 1469598103934665603ull;
    for (unsigned i = 0; i < (unsigned)f.nheaders + f.ntrailers; i++) {
        check_inside(b, n, f.headers[i].name);
        check_inside(b, n, f.headers[i].value);
        if (f.headers[i].name.len == 0)
            abort();
        size_t v[4] = { rel(b, f.headers[i].name), f.headers[i].name.len,
                        rel(b, f.headers[i].value), f.headers[i].value.len };
        for (unsigned k = 0; k < 4; k++)
            h = (h ^ v[k]) * 1099511628211ull;
    }
    r->hh = h;
    size_t pos = 0;
    uint64_t total = 0;
    pf_slice d;
    while (pf_http1_chunk_next(&f, &pos, &d)) {
        check_inside(b, n, d);
        total += d.len;
    }
    if (total != f.content_length)
        abort();
}

/* Parse `in` delivering `step` more bytes each time (0: all at once). */
static size_t run(const char *in, size_t n, size_t step, const pf_http1_conf *conf,
                  struct rec *out, int *err)
{
    pf_http1_protocol.parser_init(parser, conf);
    size_t start = 0, avail = step ? (step < n ? step : n) : n, k = 0;
    *err = 0;
    while (k < MAXREC) {
        size_t have = avail - start;
        char *copy = malloc(have ? have : 1);
        memcpy(copy, in + start, have);
        pf_packet pkt = { .fields = &f };
        ssize_t r = pf_http1_protocol.parse(parser, copy, have, &pkt);
        if (r > 0) {
            if ((size_t)r > have || pkt.raw.ptr != copy || pkt.raw.len != (size_t)r)
                abort();
            record(&out[k++], &pkt, start);
            start += (size_t)r;
            if (avail < start)
                avail = start;
            free(copy);
            continue;
        }
        free(copy);
        if (r == -EAGAIN) {
            if (avail == n)
                break;
            avail = avail + step < n ? avail + step : n;
            continue;
        }
        *err = (int)r;
        pf_packet again = { .fields = &f };
        if (pf_http1_protocol.parse(parser, in + start, n - start, &again) != r)
            abort(); /* sticky */
        break;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = (size_t)data[0] % 23 + 1;
    static const pf_http1_conf small = { .max_request_line = 64, .max_head_bytes = 256,
                                         .max_headers = 8, .max_body = 64,
                                         .max_chunk_framing = 64 };
    const pf_http1_conf *conf = data[1] & 1 ? &small : NULL;
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    static struct rec a[MAXREC], b[MAXREC];
    int ea, eb;
    size_t na = run(in, n, 0, conf, a, &ea);
    size_t nb = run(in, n, step, conf, b, &eb);
    if (na != nb || ea != eb || memcmp(a, b, na * sizeof a[0]))
        abort();
    session(in, n, conf);
    return 0;
}
