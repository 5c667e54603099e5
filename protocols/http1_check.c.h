/* HTTP/1.1 request semantics, included by http1.rl (a .c.h file is never
 * compiled alone): the checks that make a request line and a header
 * section mean something (RFC 9112 §3, §6; RFC 9110 §5.6, §7.2, §8.6),
 * run by the machine's actions and by the one-pass parse alike, so the two
 * can never disagree on what is refused.  They work on the parser state
 * that http1.rl defines (struct msg, hdr_off, K_*, C_*, NONE) and need
 * HOT, the scanners of http1_scan.c.h and the event ids of http1_events.h. */
#include <arpa/inet.h>

/* The fields that frame a request or that the flags report.  Keyed by
 * length and first letter (& 0x1f folds case): the common names that share
 * a length with one of these (Accept, Cookie, Referer, User-Agent,
 * Sec-Fetch-*) are told apart without a compare. */
#define NK(n, c) ((n) << 5 | ((c) & 0x1f))
HOT int name_kind(const char *s, uint32_t n)
{
    switch (NK(n, (unsigned char)s[0])) {
    case NK(4, 'h'):  return IEQ(s, n, "host") ? K_HOST : K_OTHER;
    case NK(6, 'e'):  return IEQ(s, n, "expect") ? K_EXPECT : K_OTHER;
    case NK(7, 'u'):  return IEQ(s, n, "upgrade") ? K_UPGRADE : K_OTHER;
    case NK(10, 'c'): return IEQ(s, n, "connection") ? K_CONN : K_OTHER;
    case NK(14, 'c'): return IEQ(s, n, "content-length") ? K_CL : K_OTHER;
    case NK(17, 't'): return IEQ(s, n, "transfer-encoding") ? K_TE : K_OTHER;
    default:          return K_OTHER;
    }
}
#undef NK

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
        /* one option, the usual value: no list to walk */
        if (IEQ(v, n, "keep-alive"))
            m->conn |= C_KEEP_ALIVE;
        else
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
