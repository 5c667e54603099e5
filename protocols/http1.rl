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
#include <arpa/inet.h>
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

/* ---- semantic checks run from the actions -------------------------------- */

/* The fields that frame a request or that the flags report. */
HOT int name_kind(const char *s, uint32_t n)
{
    switch (n) {
    case 4:  return IEQ(s, n, "host") ? K_HOST : K_OTHER;
    case 6:  return IEQ(s, n, "expect") ? K_EXPECT : K_OTHER;
    case 7:  return IEQ(s, n, "upgrade") ? K_UPGRADE : K_OTHER;
    case 10: return IEQ(s, n, "connection") ? K_CONN : K_OTHER;
    case 14: return IEQ(s, n, "content-length") ? K_CL : K_OTHER;
    case 17: return IEQ(s, n, "transfer-encoding") ? K_TE : K_OTHER;
    default: return K_OTHER;
    }
}

/* Content-Length = 1*DIGIT (RFC 9110 §8.6); values past 2^64 saturate and
 * are then refused as too large. */
static inline int field_cl(http1_parser *hp, const char *v, size_t n)
{
    uint64_t x = 0;
    if (n == 0)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)v[i] - '0';
        if (d > 9)
            return -EBADMSG;
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
    }
    if ((hp->m.flags & PF_HTTP1_F_CONTENT_LENGTH) && x != hp->m.cl)
        return -EBADMSG;
    hp->m.flags |= PF_HTTP1_F_CONTENT_LENGTH;
    hp->m.cl = x;
    return 0;
}

/* Call fn on every element of a comma list (RFC 9110 §5.6.1), trimmed;
 * empty elements are skipped. */
static void each_element(http1_parser *hp, const char *v, size_t n,
                         void (*fn)(http1_parser *, const char *, size_t))
{
    size_t i = 0;
    while (i < n) {
        const char *c = memchr(v + i, ',', n - i);
        size_t e = c ? (size_t)(c - v) : n, s = i, t = e;
        while (s < t && (v[s] == ' ' || v[s] == '\t'))
            s++;
        while (t > s && (v[t - 1] == ' ' || v[t - 1] == '\t'))
            t--;
        if (t > s)
            fn(hp, v + s, t - s);
        i = e + 1;
    }
}

/* Transfer-Encoding: any element other than exactly "chunked" (parameters
 * included) is a coding we do not implement. */
static void te_element(http1_parser *hp, const char *s, size_t n)
{
    hp->m.te_seen = 1;
    if (IEQ(s, n, "chunked")) {
        hp->m.te_chunked++;
        hp->m.te_last_chunked = 1;
    } else {
        hp->m.te_other = 1;
        hp->m.te_last_chunked = 0;
    }
}

static void conn_element(http1_parser *hp, const char *s, size_t n)
{
    if (IEQ(s, n, "close"))
        hp->m.conn |= C_CLOSE;
    else if (IEQ(s, n, "keep-alive"))
        hp->m.conn |= C_KEEP_ALIVE;
    else if (IEQ(s, n, "upgrade"))
        hp->m.conn |= C_UPGRADE;
}

static int is_alpha(int c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_hex(int c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Host = uri-host [ ":" port ] (RFC 9110 §7.2), uri-host = IP-literal /
 * IPv4address / reg-name, reg-name = *( unreserved / pct-encoded /
 * sub-delims ) and port = *DIGIT (RFC 3986 §3.2.2, §3.2.3).  reg_char: the
 * unreserved and sub-delims bytes (an IPv4address is a reg-name by
 * syntax).  What is left out: SP, HTAB, CTL, obs-text, the gen-delims
 * "/?#@[]:" (':' and '[' ']' only where the grammar puts them) and what RFC
 * 3986 has no place for ('"', '<', '>', '\\', '^', '`', '{', '|', '}'). */
static const uint8_t reg_char[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
    ['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
    ['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* IP-literal without its brackets: IPv6address, or IPvFuture = "v"
 * 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) (RFC 3986 §3.2.2).
 * inet_pton takes exactly the IPv6address forms of RFC 3986 (the IPv4
 * tail included, no zone). */
static int ip_literal_ok(const char *s, size_t n)
{
    if (n && (s[0] | 0x20) == 'v') {
        size_t i = 1;
        while (i < n && is_hex((unsigned char)s[i]))
            i++;
        if (i == 1 || i + 1 >= n || s[i] != '.')
            return 0;
        for (i++; i < n; i++)
            if (!reg_char[(unsigned char)s[i]] && s[i] != ':')
                return 0;
        return 1;
    }
    char a[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    if (n == 0 || n >= sizeof a)
        return 0;
    memcpy(a, s, n);
    a[n] = '\0';
    return inet_pton(AF_INET6, a, bin) == 1;
}

/* 1 when v[0..n) is a valid Host value.  A byte at a time: the one-pass
 * parse takes the common Host (a plain name, scan_host_line) without
 * calling this, so what comes here is a Host with a port, a
 * percent-encoding or an IP-literal, or one the machine parsed.  Not
 * inlined: it would only crowd the one-pass parse's registers. */
static __attribute__((noinline)) int host_ok(const char *v, size_t n)
{
    size_t i = 0;
    if (n && v[0] == '[') {
        const char *c = memchr(v, ']', n);
        if (!c || !ip_literal_ok(v + 1, (size_t)(c - v) - 1))
            return 0;
        i = (size_t)(c - v) + 1;
    } else {
        for (; i < n && v[i] != ':'; i++) {
            if (v[i] == '%') {
                if (n - i < 3 || !is_hex((unsigned char)v[i + 1]) ||
                    !is_hex((unsigned char)v[i + 2]))
                    return 0;
                i += 2;
            } else if (!reg_char[(unsigned char)v[i]]) {
                return 0;
            }
        }
    }
    if (i < n && v[i++] != ':')
        return 0;
    for (; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return 1;
}

/* What a header field (not a trailer) of kind `kind` with the trimmed
 * value v[0..n) means for the framing and the flags.  Returns 0 or a parse
 * error. */
HOT int field_kind(http1_parser *hp, int kind, const char *v, size_t n)
{
    struct msg *m = &hp->m;
    switch (kind) {
    case K_CL:
        return field_cl(hp, v, n);
    case K_TE:
        each_element(hp, v, n, te_element);
        if (n == 0)
            m->te_seen = 1, m->te_other = 1;
        return 0;
    case K_CONN:
        each_element(hp, v, n, conn_element);
        return 0;
    case K_EXPECT:
        m->flags |= IEQ(v, n, "100-continue") ? PF_HTTP1_F_EXPECT_CONTINUE
                                               : PF_HTTP1_F_OTHER_EXPECT;
        return 0;
    case K_UPGRADE:
        m->has_upgrade = 1;
        return 0;
    case K_HOST:
        /* RFC 9112 §3.2: more than one Host, or an invalid one */
        return ++m->hosts > 1 || !host_ok(v, n) ? -EBADMSG : 0;
    default:
        return 0;
    }
}

/* A field line ends at p (its CR): record it, and act on the fields that
 * frame the message.  Returns 0 or a parse error. */
HOT int field_end(http1_parser *hp, const char *buf, const char *p)
{
    struct msg *m = &hp->m;
    hdr_off *h = &hp->hdr[m->nhdr + m->ntrl];
    uint32_t end = (uint32_t)(p - buf), vs = m->vstart == NONE ? end : m->vstart;
    while (end > vs && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
        end--;
    h->value = vs;
    h->value_len = end - vs;
    if (m->phase == PH_TRAILERS) {
        m->ntrl++;         /* trailers never frame the message */
        return 0;
    }
    m->nhdr++;
    return field_kind(hp, m->kind, buf + vs, end - vs);
}


/* The request line is whole: check the version and the target's form
 * against the method (RFC 9112 §3.2), and split the target. */
HOT int request_line_end(http1_parser *hp, const char *buf, const char *end,
                                   uint32_t o, uint32_t n)
{
    struct msg *m = &hp->m;
    m->rl_done = 1;
    if ((uint32_t)(end - buf) > hp->max_request_line)
        return PF_HTTP1_E414;
    if (m->major != 1)
        return PF_HTTP1_E505;
    const char *t = buf + o;
    size_t qh = find2(t, n, '?', '#');
    if (qh < n && (t[qh] == '#' || find2(t + qh, n - qh, '#', '#') < n - qh))
        return -EBADMSG;   /* a fragment is not part of any request-target */
    int connect = m->ev == HTTP1_EV_CONNECT;
    m->query_off = NONE;
    if (t[0] == '/') {
        if (connect)
            return -EBADMSG;
        m->form = PF_HTTP1_FORM_ORIGIN;
        m->path_off = o;
        m->path_len = (uint32_t)qh;
        if (qh < n) {
            m->query_off = o + (uint32_t)qh + 1;
            m->query_len = n - (uint32_t)qh - 1;
        }
        return 0;
    } else if (n == 1 && t[0] == '*') {
        if (m->ev != HTTP1_EV_OPTIONS)
            return -EBADMSG;
        m->form = PF_HTTP1_FORM_ASTERISK;
        m->path_off = o;
        m->path_len = 1;
        return 0;
    } else if (connect) {
        /* authority-form = uri-host ":" port */
        const char *c = memrchr(t, ':', n);
        if (!c || c == t || c + 1 == t + n)
            return -EBADMSG;
        for (const char *d = c + 1; d < t + n; d++)
            if (*d < '0' || *d > '9')
                return -EBADMSG;
        for (const char *d = t; d < c; d++)
            if (*d == '/' || *d == '?' || *d == '@')
                return -EBADMSG;
        m->form = PF_HTTP1_FORM_AUTHORITY;
        m->auth_off = o;
        m->auth_len = n;
        m->path_off = o;
        return 0;
    } else {
        /* absolute-form: scheme "://" authority [path] ["?" query] */
        uint32_t i = 0;
        if (!is_alpha((unsigned char)t[0]))
            return -EBADMSG;
        while (i < n && (is_alpha((unsigned char)t[i]) || (t[i] >= '0' && t[i] <= '9')
                         || t[i] == '+' || t[i] == '-' || t[i] == '.'))
            i++;
        if (n - i < 3 || memcmp(t + i, "://", 3))
            return -EBADMSG;
        i += 3;
        uint32_t a = i;
        while (i < n && t[i] != '/' && t[i] != '?')
            i++;
        if (i == a)
            return -EBADMSG;   /* RFC 9110 §4.2.1: empty host */
        if (memchr(t + a, '@', i - a))
            return -EBADMSG;   /* RFC 9110 §4.2.4: userinfo is an error */
        m->form = PF_HTTP1_FORM_ABSOLUTE;
        m->auth_off = o + a;
        m->auth_len = i - a;
        m->path_off = o + i;
        t += i;
        n -= i;
        o += i;
    }
    const char *q = memchr(t, '?', n);  /* rare in absolute-form */
    m->path_len = q ? (uint32_t)(q - t) : n;
    if (q) {
        m->query_off = o + m->path_len + 1;
        m->query_len = n - m->path_len - 1;
    }
    return 0;
}

/* The header section is whole: decide the framing (RFC 9112 §6.3). */
HOT int head_end(http1_parser *hp)
{
    struct msg *m = &hp->m;
    if (m->minor >= 1 && m->hosts == 0)
        return -EBADMSG;                       /* RFC 9112 §3.2 */
    if (m->te_seen) {
        if (m->minor == 0)
            return -EBADMSG;                   /* §6.1: TE in HTTP/1.0 */
        if (m->flags & PF_HTTP1_F_CONTENT_LENGTH)
            return -EBADMSG;                   /* §6.1, §11.2 */
        if (!m->te_last_chunked || m->te_chunked > 1)
            return -EBADMSG;                   /* §6.3, §7 */
        if (m->te_other)
            return PF_HTTP1_E501;              /* §6.1 */
        m->flags |= PF_HTTP1_F_CHUNKED;
    } else if (m->cl > hp->max_body) {
        return PF_HTTP1_E413;
    }
    if (m->minor >= 1 ? !(m->conn & C_CLOSE)
                      : (m->conn & (C_CLOSE | C_KEEP_ALIVE)) == C_KEEP_ALIVE)
        m->flags |= PF_HTTP1_F_KEEP_ALIVE;
    if (m->minor >= 1) {
        if (m->has_upgrade && (m->conn & C_UPGRADE))
            m->flags |= PF_HTTP1_F_UPGRADE;
    } else {
        /* RFC 9110 §7.8 and §10.1.1: ignore Upgrade and 100-continue
         * from an HTTP/1.0 client. */
        m->flags &= ~(uint32_t)PF_HTTP1_F_EXPECT_CONTINUE;
    }
    return 0;
}

static inline unsigned hexval(int c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

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

/* Leave the machine at the first field line of a request line that
 * scan_request_line took, as if it had walked the line. */
static __attribute__((noinline, cold)) void take_request_line(http1_parser *hp, const char *buf,
                                                              const struct rline *rl)
{
    struct msg *m = &hp->m;
    const char *t = rl->t, *e = rl->e;
    m->rl_done = 1;
    m->ev = rl->ev;
    m->method_len = rl->ml;
    m->target_off = m->path_off = rl->ml + 1;
    m->target_len = (uint32_t)(e - t);
    m->major = 1;
    m->minor = (uint8_t)(e[8] - '0');
    m->form = PF_HTTP1_FORM_ORIGIN;
    if (rl->q) {
        m->path_len = (uint32_t)(rl->q - t);
        m->query_off = (uint32_t)(rl->q + 1 - buf);
        m->query_len = (uint32_t)(e - rl->q - 1);
    } else {
        m->path_len = m->target_len;
        m->query_off = NONE;
    }
    m->off = (uint32_t)(e + 11 - buf);
    m->cs = http1_en_headers;
}

/* A whole common request at the start of buf, in one pass: a request line
 * that scan_request_line takes, field lines that scan_field_line takes and
 * a Content-Length body (or none), all here.  Fills the packet straight
 * from the scan, with no stop in the machine and no offsets kept in the
 * parser, and returns the request's length.  This is where a short
 * request's time goes: per-request state in memory, a machine step per
 * delimiter and the copy into the packet cost it more than the scan.
 *
 * Anything else (a line it does not take, an error, a chunked body, a
 * request not all here) returns 0 and leaves the parser as the machine
 * would be at the first field line (when the request line was taken) or
 * fresh: the machine then decides, so errors never come from here, and a
 * request costs at most one extra pass over its header section. */
HOT ssize_t fast_request(http1_parser *hp, const char *buf, size_t len, pf_packet *out)
{
    struct msg *m = &hp->m;
    pf_http1_fields *f = out->fields;
    const char *pe = buf + (len < hp->max_head_bytes ? len : hp->max_head_bytes);
    struct rline rl;
    if (!scan_request_line(buf, pe, &rl) || (size_t)(rl.e + 11 - buf) > hp->max_request_line)
        return 0;
    /* The request line's fields now, so that the field loop has the
     * registers to itself (the machine rewrites them all if we bail). */
    const char *t = rl.t, *e = rl.e, *q = rl.q, *p = e + 11;
    out->event = rl.ev;
    out->raw.ptr = buf;
    f->method.ptr = buf;
    f->method.len = rl.ml;
    f->target.ptr = f->path.ptr = t;
    f->target.len = (size_t)(e - t);
    if (q) {
        f->path.len = (size_t)(q - t);
        f->query.ptr = q + 1;
        f->query.len = (size_t)(e - q - 1);
    } else {
        f->path.len = f->target.len;
        f->query.ptr = NULL;
        f->query.len = 0;
    }
    f->authority.ptr = buf;
    f->authority.len = 0;
    f->form = PF_HTTP1_FORM_ORIGIN;
    f->version_minor = m->minor = (uint8_t)(e[8] - '0');
    f->ntrailers = 0;
    unsigned nh = 0;
    while (p < pe && *p != '\r') {
        const char *ne, *v, *ve, *next;
        int kind;
        if (nh >= hp->max_headers)
            goto bail;
        if ((next = scan_host_line(p, pe, buf, &v, &ve))) {
            /* a valid Host by its bytes: only its count is left to check */
            ne = p + 4;
            if (++m->hosts > 1)
                goto bail;
            kind = K_OTHER;
        } else if ((next = scan_field_line(p, pe, buf, &ne, &v, &ve))) {
            kind = name_kind(p, (uint32_t)(ne - p));
        } else {
            goto bail;
        }
        f->headers[nh].name.ptr = p;
        f->headers[nh].name.len = (size_t)(ne - p);
        f->headers[nh].value.ptr = v;
        f->headers[nh].value.len = (size_t)(ve - v);
        nh++;
        if (kind != K_OTHER && field_kind(hp, kind, v, (size_t)(ve - v)) != 0)
            goto bail;
        p = next;
    }
    if (pe - p < 2 || p[1] != '\n')
        goto bail;
    p += 2;
    if (head_end(hp) != 0 || (m->flags & PF_HTTP1_F_CHUNKED) || m->cl > len - (size_t)(p - buf))
        goto bail;
    out->raw.len = (size_t)(p - buf) + (size_t)m->cl;
    f->flags = (uint16_t)m->flags;
    f->nheaders = (uint16_t)nh;
    f->content_length = m->cl;
    f->body.ptr = p;
    f->body.len = (size_t)m->cl;
    msg_reset(hp);
    return (ssize_t)out->raw.len;
bail:
    msg_reset(hp);
    take_request_line(hp, buf, &rl);
    return 0;
}

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
};
