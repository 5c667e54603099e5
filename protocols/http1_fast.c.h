/* HTTP/1.1: the one-pass parse of a whole common request, included by
 * http1.rl after the machine's data (a .c.h file is never compiled alone).
 *
 * Most requests arrive whole in one read and look alike: GET, POST, HEAD
 * or PUT with an origin-form target, HTTP/1.0 or 1.1, plain field lines, a
 * Content-Length body or none.  fast_request takes such a request with
 * the line scanners below and the checks of http1_check.c.h, straight into
 * the packet, with no step of the machine; anything else it hands to the
 * machine unchanged (the tests feed every input whole and byte by byte and
 * hold the two paths to the same slices).  Needs http1.rl's parser state,
 * msg_reset and http1_en_headers, and the scanners of http1_scan.c.h. */

/* One whole field line at p, "name:" OWS value OWS CRLF (RFC 9112 §5), all
 * of it before pe: sets the name's end and the value's bounds (leading and
 * trailing OWS left out; an empty value starts and ends at the CR) and
 * returns the byte after the LF.  NULL for anything else, a line that is
 * not all here included: the machine decides those.  This accepts exactly
 * the lines the grammar's field_line accepts. */
HOT const char *scan_field_line(const char *p, const char *pe, const char *lo,
                                const char **name_end, const char **v, const char **ve)
{
    const char *e = skip_token(p, pe), *s;
    if (e == p || e == pe || *e != ':')
        return NULL;
    *name_end = e;
    for (s = e + 1; s < pe && (*s == ' ' || *s == '\t');)
        s++;
    e = skip_value(s, pe, lo);
    while (e < pe && *e == '\t')          /* HTAB inside a value is rare */
        e = skip_value(e + 1, pe, lo);
    if (pe - e < 2 || e[0] != '\r' || e[1] != '\n')
        return NULL;
    *v = s;
    *ve = e;
    while (*ve > s && ((*ve)[-1] == ' ' || (*ve)[-1] == '\t'))
        (*ve)--;
    return e + 2;
}

/* The words that bytes a, b, ... make in memory, for compares with
 * memcpy'd input. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define W4(a, b, c, d) ((uint32_t)(uint8_t)(d) | (uint32_t)(uint8_t)(c) << 8 | \
                        (uint32_t)(uint8_t)(b) << 16 | (uint32_t)(uint8_t)(a) << 24)
#define W8(a, b, c, d, e, f, g, h) ((uint64_t)W4(e, f, g, h) | (uint64_t)W4(a, b, c, d) << 32)
#else
#define W4(a, b, c, d) ((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 | \
                        (uint32_t)(uint8_t)(c) << 16 | (uint32_t)(uint8_t)(d) << 24)
#define W8(a, b, c, d, e, f, g, h) ((uint64_t)W4(a, b, c, d) | (uint64_t)W4(e, f, g, h) << 32)
#endif

#if WIDE
/* scan_field_line with one 32-byte load for the name's end and, when the
 * line is that short (most are), for the value's end too: the name costs
 * no loop a byte at a time, and a short value no second load.  Only the
 * usual shape is taken here: a name of at most 28 bytes, at most one SP
 * before the value, no HTAB in it; any other line goes to scan_field_line,
 * so this accepts exactly what scan_field_line accepts (the narrow path is
 * tested against the same cases, PF_HTTP1_NARROW). */
AVX2 static inline const char *scan_field_line_wide(const char *p, const char *pe,
                                                   const char *lo, const char **name_end,
                                                   const char **v, const char **ve)
{
    __m256i x;
    unsigned k = 0;                       /* loaded bytes before p */
    if (pe - p >= 32)
        x = _mm256_loadu_si256((const __m256i *)(const void *)p);
    else if (pe - lo >= 32)               /* the last line: the 32 bytes to pe */
        x = _mm256_loadu_si256((const __m256i *)(const void *)(pe - 32)),
        k = (unsigned)(32 - (pe - p));
    else
        return scan_field_line(p, pe, lo, name_end, v, ve);
    /* Bytes past pe (k > 0) count as neither name nor value bytes; the
     * last loaded byte ends the name in any case (a name that long is
     * left to scan_field_line below), so that nt is never 0. */
    uint32_t past = ~(UINT32_MAX >> k);
    uint32_t nt = nontoken32(x) >> k | past | 1u << 31;
    unsigned n = (unsigned)__builtin_ctz(nt), s;
    /* a name of 29 bytes or more, or one that p[n + 3] would be past */
    if (n + 4 > 32 - k)
        return scan_field_line(p, pe, lo, name_end, v, ve);
    uint32_t w;
    memcpy(&w, p + n, 4);
    if ((uint16_t)w == (uint16_t)W4(':', ' ', 0, 0))
        s = n + 2;
    else if ((uint8_t)w == ':' && (uint8_t)(w >> 8) != '\t')
        s = n + 1, w <<= 8;               /* no OWS: the value's byte is 2nd */
    else if ((uint8_t)w == ':')
        return scan_field_line(p, pe, lo, name_end, v, ve);
    else
        return NULL;
    if (n == 0)          /* here, not before the word: measured 10% faster */
        return NULL;
    if ((uint8_t)(w >> 16) == ' ' || (uint8_t)(w >> 16) == '\t')
        return scan_field_line(p, pe, lo, name_end, v, ve);   /* more OWS */
    /* the first loaded byte from s on that is not a value byte, if any */
    uint32_t c = (ctl32(x) >> k | past) >> s;
    const char *e = c ? p + s + __builtin_ctz(c) : skip_value_wide(p + 32, pe, lo);
    uint16_t crlf;
    if (pe - e < 2)
        return NULL;
    memcpy(&crlf, e, 2);
    if (crlf != (uint16_t)W4('\r', '\n', 0, 0))
        return *e == '\t' ? scan_field_line(p, pe, lo, name_end, v, ve) : NULL;
    *name_end = p + n;
    *v = p + s;
    *ve = e;
    /* no HTAB between p + s and e: only SP can trail */
    if (e[-1] == ' ')
        while (*ve > p + s && (*ve)[-1] == ' ')
            (*ve)--;
    return e + 2;
}
#define FIELD_LINE(wide, ...) \
    ((wide) ? scan_field_line_wide(__VA_ARGS__) : scan_field_line(__VA_ARGS__))
#define PLAIN_HOST plain_host_wide
#else
#define FIELD_LINE(wide, ...) scan_field_line(__VA_ARGS__)
#define PLAIN_HOST(v, ve, lo) (skip_host(v, ve, lo) == (ve))
#endif

/* A whole Host line at p, all of it before pe, whose value is a plain name
 * or IPv4 address (letters, digits, '.' and '-', all reg-name bytes, RFC
 * 3986 §3.2.2) after spaces and with nothing after it: sets the value's
 * bounds and returns the byte after the LF.  NULL for any other line, a
 * Host with a port or trailing space included: scan_field_line and the
 * whole Host grammar (host_ok) take those.  Every request has a Host:
 * checking the common one in the scan that finds its end is what makes the
 * check cost no more than skipping the value (a second pass over it costs
 * a short request a tenth of its time). */
HOT const char *scan_host_line(const char *p, const char *pe, const char *lo,
                               const char **v, const char **ve)
{
    uint32_t w;
    if (pe - p < 8)
        return NULL;
    memcpy(&w, p, 4);
    if ((w | 0x20202020u) != W4('h', 'o', 's', 't') || p[4] != ':')
        return NULL;
    const char *s = p + 5;
    while (s < pe && *s == ' ')
        s++;
    const char *e = skip_host(s, pe, lo);
    if (pe - e < 2 || e[0] != '\r' || e[1] != '\n')
        return NULL;
    *v = s;
    *ve = e;
    return e + 2;
}

/* The request line of a common request, whole in buf[0 .. pe): GET, POST,
 * HEAD or PUT by a word compare, an origin-form target by a vector scan
 * and " HTTP/1.0" or " HTTP/1.1" CRLF by a compare.  Returns 1 and fills
 * *rl, or 0 for anything else (leading CRLF, another method or form, a line
 * not all here), which the machine decides a byte at a time: the tests feed
 * every input whole and byte by byte to hold the two paths equal. */
struct rline {
    const char *t, *e; /* the target: [t, e); e is the SP before HTTP */
    const char *q;     /* its '?', NULL when none */
    uint32_t ml;       /* method length */
    uint8_t ev;
};

HOT int scan_request_line(const char *buf, const char *pe, struct rline *rl)
{
    if (pe - buf < 16)
        return 0;
    uint32_t w;
    memcpy(&w, buf, 4);
    if (w == W4('G', 'E', 'T', ' '))
        rl->ev = HTTP1_EV_GET, rl->ml = 3;
    else if (w == W4('P', 'O', 'S', 'T') && buf[4] == ' ')
        rl->ev = HTTP1_EV_POST, rl->ml = 4;
    else if (w == W4('H', 'E', 'A', 'D') && buf[4] == ' ')
        rl->ev = HTTP1_EV_HEAD, rl->ml = 4;
    else if (w == W4('P', 'U', 'T', ' '))
        rl->ev = HTTP1_EV_PUT, rl->ml = 3;
    else
        return 0;
    /* origin-form only: path, then maybe '?' query; '#' or anything else
     * sends the line to the machine (which refuses a '#'). */
    const char *t = buf + rl->ml + 1, *q = NULL;
    if (*t != '/')
        return 0;
    const char *e = skip_path(t + 1, pe, buf);
    if (e < pe && *e == '?') {
        q = e;
        do
            e = skip_path(e + 1, pe, buf);
        while (e < pe && *e == '?');
    }
    /* " HTTP/1." then "1\r\n" or "0\r\n", as two word compares */
    uint64_t v8;
    uint32_t v4;
    if (pe - e < 11)
        return 0;
    memcpy(&v8, e, 8);
    memcpy(&v4, e + 7, 4);
    if (v8 != W8(' ', 'H', 'T', 'T', 'P', '/', '1', '.') ||
        (v4 != W4('.', '1', '\r', '\n') && v4 != W4('.', '0', '\r', '\n')))
        return 0;
    rl->t = t;
    rl->e = e;
    rl->q = q;
    return 1;
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
HOT ssize_t fast_request_with(http1_parser *hp, const char *buf, size_t len, pf_packet *out,
                              const int wide)
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
        if (!wide && (next = scan_host_line(p, pe, buf, &v, &ve))) {
            /* a valid Host by its bytes: only its count is left to check */
            ne = p + 4;
            if (++m->hosts > 1)
                goto bail;
            kind = K_OTHER;
        } else if ((next = FIELD_LINE(wide, p, pe, buf, &ne, &v, &ve))) {
            kind = name_kind(p, (uint32_t)(ne - p));
            /* The wide scan has the name's length already: the Host test
             * costs the other lines nothing, and a plain Host value
             * (what scan_host_line takes) skips host_ok the same way. */
            if (wide && kind == K_HOST && PLAIN_HOST(v, ve, buf)) {
                if (++m->hosts > 1)
                    goto bail;
                kind = K_OTHER;
            }
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

#if WIDE
/* fast_request_with compiled a second time, for AVX2, and kept out of line
 * even where the build targets AVX2: inlined into the parse, with the
 * narrow copy beside it, it ran slower (registers, code layout). */
AVX2 static __attribute__((noinline)) ssize_t fast_request_wide(http1_parser *hp,
                                                                const char *buf, size_t len,
                                                                pf_packet *out)
{
    return fast_request_with(hp, buf, len, out, 1);
}
#endif

HOT ssize_t fast_request(http1_parser *hp, const char *buf, size_t len, pf_packet *out)
{
#if WIDE
    /* Not for a short request: the call and the AVX2 state it enters and
     * leaves cost more than the wide scan saves on a few lines.  Marked
     * unlikely so that the short request's inlined parse is the straight
     * line (measured: 3% on the 35-byte request). */
#if defined(__AVX2__)
    if (__builtin_expect(len >= 128, 0))
#else
    if (__builtin_expect(len >= 128, 0) &&
        atomic_load_explicit(&wide_ok, memory_order_relaxed) > 0)
#endif
        return fast_request_wide(hp, buf, len, out);
#endif
    return fast_request_with(hp, buf, len, out, 0);
}
