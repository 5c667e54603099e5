/* HTTP/1.1 requests: the parser and the session table (policy in http1.h).
 *
 * The grammar (http1_grammar.rl) is walked by a ragel -G2 machine; the long
 * runs in a request (the target, field values, chunk data) are skipped
 * inside actions, a vector of bytes at a time, and `fexec` puts the machine
 * past them in the same state it would have reached byte by byte.  That is
 * where the speed is: the per-byte machine only sees method, field names and
 * delimiters.  A whole common request (the usual case: one read holds it)
 * does not enter the machine at all: fast_request() takes it in one pass
 * of the same scanners and the same semantic checks, and hands anything
 * it does not take to the machine (the tests hold the two to the same
 * result, slice for slice).
 *
 * By job, four files: this one (the parser state, the machine's actions and
 * its driver, the packet, the protocol's entry points), http1_scan.c.h
 * (byte classes and vector scanners, SSE2 and, chosen at run time, AVX2),
 * http1_check.c.h (what a request line and a header section mean: the RFC
 * checks both paths share) and http1_fast.c.h (the one-pass parse).  The .c.h files are parts of this
 * translation unit, not modules: one unit lets the compiler inline the
 * scanners and checks into the machine's loop and the one-pass parse,
 * which is where their speed comes from.
 *
 * Between calls the parser keeps offsets from the packet's first byte and
 * the machine state, never a pointer: the runtime may move the buffer.  A
 * call resumes at the byte after the last one scanned.  The machine is run
 * with its end clipped to the current limit (request line, header section,
 * chunk framing), so an oversized request is refused without scanning past
 * what the limit allows.
 *
 * The session machine is state-independent: one handler per method. */

/* @fsm
protocol http1
events  GET HEAD POST PUT DELETE OPTIONS CONNECT PATCH TRACE OTHER
@end */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http1.h"
#include "http1_events.h"

enum { PH_HEAD, PH_BODY, PH_CHUNKED, PH_TRAILERS, PH_DONE };
enum { K_OTHER, K_CL, K_TE, K_CONN, K_EXPECT, K_UPGRADE, K_HOST };
#define NONE UINT32_MAX
/* For helpers called from several machine actions: the calls cost more
 * than the code on a short request. */
#define HOT static inline __attribute__((always_inline))

/* Connection options seen. */
#define C_CLOSE 1u
#define C_KEEP_ALIVE 2u
#define C_UPGRADE 4u

typedef struct hdr_off {
    uint32_t name, name_len, value, value_len;
} hdr_off;

/* Per-request state, cleared between requests.  Offsets are from the first
 * byte of the packet (the `buf` of every parse call). */
struct msg {
    int cs;
    uint8_t phase, kind, ev, minor, major, rl_done;
    uint8_t form, conn, hosts, has_upgrade, continued;
    uint8_t te_chunked, te_last_chunked, te_other, te_seen;
    /* 32-bit, unlike their pf_http1_fields counterparts: the compiler must
     * not merge their loads into one wide load over separate recent stores
     * (a store-forwarding stall costs a short request 10% of its time). */
    uint32_t flags, nhdr, ntrl;
    uint32_t off;          /* bytes the machine has consumed */
    uint32_t method_off, method_len, target_off, target_len;
    uint32_t path_off, path_len, query_off, query_len, auth_off, auth_len;
    uint32_t vstart;       /* current field's value, NONE when empty */
    uint32_t head_end, body_start, body_end;
    uint64_t cl;           /* Content-Length, or decoded chunked length */
    uint64_t chunk;        /* size being read, then bytes of it left */
};

typedef struct http1_parser {
    int err;               /* sticky */
    uint32_t max_request_line, max_head_bytes, max_headers, max_body,
             max_chunk_framing;
    struct msg m;
    hdr_off hdr[PF_HTTP1_MAX_HEADERS];
} http1_parser;

/* ---- byte classes and scanners (http1_scan.c.h) ---------------------- */

#include "http1_scan.c.h"

/* ---- what the request means: the RFC checks both paths share ------------ */

#include "http1_check.c.h"

/* ---- the machine ---------------------------------------------------------- */

%%{
    machine http1;

    action m_start   { m->method_off = (uint32_t)(p - buf); }
    action m_end     { m->method_len = (uint32_t)(p - buf) - m->method_off; }
    action m_get     { m->ev = HTTP1_EV_GET; }
    action m_head    { m->ev = HTTP1_EV_HEAD; }
    action m_post    { m->ev = HTTP1_EV_POST; }
    action m_put     { m->ev = HTTP1_EV_PUT; }
    action m_delete  { m->ev = HTTP1_EV_DELETE; }
    action m_options { m->ev = HTTP1_EV_OPTIONS; }
    action m_connect { m->ev = HTTP1_EV_CONNECT; }
    action m_patch   { m->ev = HTTP1_EV_PATCH; }
    action m_trace   { m->ev = HTTP1_EV_TRACE; }
    action m_other   { m->ev = HTTP1_EV_OTHER; }

    action t_start   { m->target_off = (uint32_t)(p - buf); }
    action t_scan    { fexec skip_target(p + 1, pe, buf); }
    action rl_method { fgoto request_rest; }
    action t_end {
        uint32_t t_off = m->target_off, t_len = (uint32_t)(p - buf) - t_off;
        m->target_len = t_len;
        /* Fast path for " HTTP/1.x\r\n" when it is all here: the same
         * checks rl_end makes, without a machine step per byte. */
        if (pe - p >= 11 && memcmp(p + 1, "HTTP/1.", 7) == 0
            && (p[8] == '0' || p[8] == '1') && p[9] == '\r' && p[10] == '\n') {
            m->major = 1;
            m->minor = (uint8_t)(p[8] - '0');
            if ((e = request_line_end(hp, buf, p + 11, t_off, t_len)) != 0) {
                hp->err = e;
                fbreak;
            }
            fexec p + 11;
            fgoto headers;
        }
    }
    action v_major   { m->major = (uint8_t)(*p - '0'); }
    action v_minor   { m->minor = (uint8_t)(*p - '0'); }
    action rl_end {
        if ((e = request_line_end(hp, buf, p + 1, m->target_off, m->target_len)) != 0) {
            hp->err = e;
            fbreak;
        }
        fgoto headers;
    }

    action n_start {
        if (m->nhdr + m->ntrl >= hp->max_headers) {
            hp->err = PF_HTTP1_E431;
            fbreak;
        }
        hp->hdr[m->nhdr + m->ntrl].name = (uint32_t)(p - buf);
        m->vstart = NONE;
    }
    action n_scan    { fexec skip_token(p + 1, pe); }
    action n_end {
        hdr_off *h = &hp->hdr[m->nhdr + m->ntrl];
        h->name_len = (uint32_t)(p - buf) - h->name;
        m->kind = name_kind(buf + h->name, h->name_len);
    }
    action v_start   { m->vstart = (uint32_t)(p - buf); }
    action v_scan    { fexec skip_value(p + 1, pe, buf); }
    action f_end {
        if ((e = field_end(hp, buf, p)) != 0) {
            hp->err = e;
            fbreak;
        }
    }

    action head_end {
        m->head_end = (uint32_t)(p + 1 - buf);
        if ((e = head_end(hp)) != 0) {
            hp->err = e;
            fbreak;
        }
        if (m->flags & PF_HTTP1_F_CHUNKED) {
            m->phase = PH_CHUNKED;
            m->body_start = m->head_end;
            m->cl = 0;
            fnext chunk;
        } else {
            m->phase = m->cl ? PH_BODY : PH_DONE;
        }
        fbreak;
    }

    action c_start { m->chunk = 0; }
    action c_digit {
        if (m->chunk >> 56) {
            hp->err = -EBADMSG;     /* over 60 bits */
            fbreak;
        }
        m->chunk = m->chunk << 4 | hexval(*p);
    }
    action c_line_end {
        if ((uint32_t)(p + 1 - buf) - m->body_start - m->cl > hp->max_chunk_framing) {
            hp->err = PF_HTTP1_E413;
            fbreak;
        }
        if (m->chunk == 0) {
            m->body_end = (uint32_t)(p + 1 - buf);
            m->phase = PH_TRAILERS;
            fnext trailers;
            fbreak;    /* the trailer section has its own limit */
        } else {
            if (m->chunk > hp->max_body - m->cl) {
                hp->err = PF_HTTP1_E413;
                fbreak;
            }
            m->cl += m->chunk;
            fnext chunk_data;
        }
    }
    action c_data {
        size_t n = (size_t)(pe - p);
        if (n > m->chunk)
            n = (size_t)m->chunk;
        m->chunk -= n;
        if (m->chunk == 0)
            fnext chunk_crlf;
        else
            fnext chunk_data;
        fexec p + n;
    }
    action c_data_end { fnext chunk; }
    action msg_end {
        m->phase = PH_DONE;
        fbreak;
    }

    include http1_grammar "http1_grammar.rl";
}%%

%% write data nofinal;

/* Run the machine over buf[m->off .. lim).  Returns 0, or the sticky error.
 * Inlined into its one caller: a short request spends a tenth of its time
 * on calls and on reloading what the caller already had in registers. */
static inline __attribute__((always_inline)) int run(http1_parser *hp, const char *buf, size_t lim)
{
    struct msg *m = &hp->m;
    const char *p = buf + m->off, *pe = buf + lim;
    int cs = m->cs, e;
    %% write exec;
    m->cs = cs;
    m->off = (uint32_t)(p - buf);
    if (hp->err)
        return hp->err;
    if (cs == http1_error)
        return hp->err = -EBADMSG;
    return 0;
}

static inline void msg_reset(http1_parser *hp)
{
    /* A copy of a constant compiles to a few vector stores; a memset of
     * this size may become `rep stos`, which costs more than a short
     * request's whole parse. */
    static const struct msg fresh = { .cs = http1_start };
    memcpy(&hp->m, &fresh, sizeof fresh);
}

/* `c` with defaults filled in and ceilings applied: what the parser runs
 * with. */
static pf_http1_conf resolve(const pf_http1_conf *c)
{
    pf_http1_conf r;
#define LIM(f, def, ceil) r.f = c && c->f ? (c->f < (ceil) ? c->f : (ceil)) : (def)
    LIM(max_request_line, PF_HTTP1_MAX_REQUEST_LINE_DEFAULT, PF_HTTP1_MAX_HEAD_CEILING);
    LIM(max_head_bytes, PF_HTTP1_MAX_HEAD_BYTES_DEFAULT, PF_HTTP1_MAX_HEAD_CEILING);
    LIM(max_headers, PF_HTTP1_MAX_HEADERS, PF_HTTP1_MAX_HEADERS);
    LIM(max_body, PF_HTTP1_MAX_BODY_DEFAULT, PF_HTTP1_MAX_BODY_CEILING);
    LIM(max_chunk_framing, PF_HTTP1_MAX_CHUNK_FRAMING_DEFAULT, PF_HTTP1_MAX_BODY_CEILING);
#undef LIM
    return r;
}

size_t pf_http1_max_request(const pf_http1_conf *conf)
{
    pf_http1_conf r = resolve(conf);
    /* Head, body, chunk framing, trailer section (limited like a head). */
    return (size_t)r.max_head_bytes + r.max_body + r.max_chunk_framing + r.max_head_bytes;
}

/* Between requests nothing carries over: every request starts from
 * msg_reset, and the limits come from the conf again at parser_init. */
static int http1_at_rest(const void *pp)
{
    const http1_parser *hp = pp;
    return !hp->err && hp->m.off == 0;
}

static void http1_parser_init(void *pp, const void *conf)
{
    http1_parser *hp = pp;
    pf_http1_conf r = resolve(conf);
    hp->err = 0;
    hp->max_request_line = r.max_request_line;
    hp->max_head_bytes = r.max_head_bytes;
    hp->max_headers = r.max_headers;
    hp->max_body = r.max_body;
    hp->max_chunk_framing = r.max_chunk_framing;
    msg_reset(hp);
    wide_init();
}

/* The request is whole and `n` bytes long: fill the fields. */
static inline __attribute__((always_inline)) ssize_t complete(http1_parser *hp, const char *buf, size_t n, pf_packet *out)
{
    struct msg *m = &hp->m;
    pf_http1_fields *f = out->fields;
    out->event = m->ev;
    out->raw.ptr = buf;
    out->raw.len = n;
    f->method.ptr = buf + m->method_off;
    f->method.len = m->method_len;
    f->target.ptr = buf + m->target_off;
    f->target.len = m->target_len;
    f->path.ptr = buf + m->path_off;
    f->path.len = m->path_len;
    f->query.ptr = m->query_off == NONE ? NULL : buf + m->query_off;
    f->query.len = m->query_len;
    f->authority.ptr = buf + m->auth_off;
    f->authority.len = m->auth_len;
    f->form = m->form;
    f->version_minor = m->minor;
    f->flags = (uint16_t)m->flags;
    f->nheaders = (uint16_t)m->nhdr;
    f->ntrailers = (uint16_t)m->ntrl;
    f->content_length = m->cl;
    if (m->flags & PF_HTTP1_F_CHUNKED) {
        f->body.ptr = buf + m->body_start;
        f->body.len = m->body_end - m->body_start;
    } else {
        f->body.ptr = buf + m->head_end;
        f->body.len = (size_t)m->cl;
    }
    for (unsigned i = 0, k = m->nhdr + m->ntrl; i < k; i++) {
        const hdr_off *h = &hp->hdr[i];
        f->headers[i].name.ptr = buf + h->name;
        f->headers[i].name.len = h->name_len;
        f->headers[i].value.ptr = buf + h->value;
        f->headers[i].value.len = h->value_len;
    }
    msg_reset(hp);
    return (ssize_t)n;
}

/* ---- the one-pass parse of a whole common request ------------------------- */

#include "http1_fast.c.h"

static ssize_t http1_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    http1_parser *hp = pp;
    struct msg *m = &hp->m;
    if (hp->err)
        return hp->err;
    if (m->off == 0) {          /* a fresh request */
        ssize_t n = fast_request(hp, buf, len, out);
        if (n > 0)
            return n;
    }
    for (;;) {
        size_t lim;
        int limit_err;
        switch (m->phase) {
        case PH_DONE:
            return complete(hp, buf, m->off, out);
        case PH_BODY:
            if (len - m->head_end < m->cl)
                return -EAGAIN;
            m->off = m->head_end + (uint32_t)m->cl;
            m->phase = PH_DONE;
            continue;
        case PH_HEAD:
            lim = hp->max_head_bytes;
            limit_err = PF_HTTP1_E431;
            if (!m->rl_done && hp->max_request_line < lim) {
                lim = hp->max_request_line;
                limit_err = PF_HTTP1_E414;
            }
            break;
        case PH_TRAILERS:
            lim = (size_t)m->body_end + hp->max_head_bytes;
            limit_err = PF_HTTP1_E431;
            break;
        default: /* PH_CHUNKED: every byte is data or framing */
            lim = (size_t)m->body_start + m->cl + hp->max_chunk_framing;
            limit_err = PF_HTTP1_E413;
            break;
        }
        if (lim >= len)
            lim = len;
        else if (m->off >= lim)
            return hp->err = limit_err;
        if (m->off >= lim)
            return -EAGAIN;
        int rc = run(hp, buf, lim);
        if (rc < 0)
            return rc;
        if (m->phase == PH_DONE)  /* the common end: skip the loop */
            return complete(hp, buf, m->off, out);
    }
}

int pf_http1_chunk_next(const pf_http1_fields *f, size_t *pos, pf_slice *data)
{
    const char *b = f->body.ptr;
    size_t i = *pos, n = f->body.len;
    if (!(f->flags & PF_HTTP1_F_CHUNKED)) {
        if (i || !n)
            return 0;
        *pos = n;
        *data = f->body;
        return 1;
    }
    /* Validated framing: size [ext] CRLF data CRLF ... "0" [ext] CRLF. */
    uint64_t size = 0;
    while (i < n && ((b[i] >= '0' && b[i] <= '9') || ((b[i] | 0x20) >= 'a' && (b[i] | 0x20) <= 'f')))
        size = size << 4 | hexval(b[i++]);
    if (size == 0)
        return *pos = n, 0;
    const char *lf = memchr(b + i, '\n', n - i);
    i = (size_t)(lf - b) + 1;
    data->ptr = b + i;
    data->len = (size_t)size;
    *pos = i + (size_t)size + 2;
    return 1;
}

int pf_http1_wants_continue(const void *parser)
{
    const http1_parser *hp = parser;
    return !hp->err && (hp->m.flags & PF_HTTP1_F_EXPECT_CONTINUE) &&
           (hp->m.phase == PH_BODY || hp->m.phase == PH_CHUNKED);
}

/* pf_protocol.interim: "100 Continue" once per request that asks for it,
 * when its header section is in and its body is not. */
static pf_slice http1_interim(void *parser)
{
    static const pf_slice cont = { "HTTP/1.1 100 Continue\r\n\r\n", 25 };
    http1_parser *hp = parser;
    if (hp->m.continued || !pf_http1_wants_continue(hp))
        return (pf_slice){ NULL, 0 };
    hp->m.continued = 1;
    return cont;
}

int pf_http1_status(int err)
{
    switch (err) {
    case PF_HTTP1_E413:
    case -EMSGSIZE:     return 413; /* the runtime's input limit: a big body */
    case PF_HTTP1_E414: return 414;
    case PF_HTTP1_E431: return 431;
    case PF_HTTP1_E501: return 501;
    case PF_HTTP1_E505: return 505;
    default: return 400;
    }
}

#define LIT(s) { s, sizeof(s) - 1 }
#define ERR_REPLY(status, reason, bodylen)                                   \
    LIT("HTTP/1.1 " status " " reason "\r\nContent-Type: text/plain\r\n"     \
        "Content-Length: " bodylen "\r\nConnection: close\r\n\r\n"            \
        status " " reason "\n")

static pf_slice http1_error_reply(const void *pp, int err)
{
    static const pf_slice r400 = ERR_REPLY("400", "Bad Request", "16");
    static const pf_slice r413 = ERR_REPLY("413", "Content Too Large", "22");
    static const pf_slice r414 = ERR_REPLY("414", "URI Too Long", "17");
    static const pf_slice r431 = ERR_REPLY("431", "Request Header Fields Too Large", "36");
    static const pf_slice r501 = ERR_REPLY("501", "Not Implemented", "20");
    static const pf_slice r505 = ERR_REPLY("505", "HTTP Version Not Supported", "31");
    const http1_parser *hp = pp;
    if (hp && hp->err)
        err = hp->err;
    switch (pf_http1_status(err)) {
    case 413: return r413;
    case 414: return r414;
    case 431: return r431;
    case 501: return r501;
    case 505: return r505;
    default: return r400;
    }
}

static size_t http1_max_packet(const void *conf) { return pf_http1_max_request(conf); }

const pf_protocol pf_http1_protocol = {
    .name = "http1",
    .events = &http1_events,
    .parser_size = sizeof(http1_parser),
    .fields_size = sizeof(pf_http1_fields),
    .parser_init = http1_parser_init,
    .parse = http1_parse,
    .error_reply = http1_error_reply,
    .busy_reply = ERR_REPLY("503", "Service Unavailable", "24"),
    .full_reply = ERR_REPLY("503", "Service Unavailable", "24"),
    .interim = http1_interim,
    .max_packet = http1_max_packet,
    .at_rest = http1_at_rest,
};
