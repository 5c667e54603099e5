/* HTTP/1.1 byte classes and scanners, included by http1.rl (a .c.h file is
 * never compiled alone).  The scanners look at 16 bytes at a time with SSE2
 * where the compiler targets it (a portable loop otherwise) and never read
 * outside [lo, pe): they are what lets the per-byte machine skip the long
 * runs of a request (target, field values, chunk data), and the line
 * scanners at the end (a common request line, a field line) are what the
 * one-pass parse of a whole common request is made of.  They need HOT from
 * http1.rl and the event ids from http1_fsm.h. */
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* SP, VCHAR and obs-text: what a field value may hold besides HTAB (HTAB
 * is left to the machine: it is rare). */
static inline int value_ok(unsigned char c)
{
    return c >= 0x20 && c != 0x7f;
}

/* The scanners below look at 16 bytes at a time and never read outside
 * [lo, pe): near the end of the input they load the last 16 bytes before pe
 * instead (when the input has 16 bytes) and ignore those before p. */
#if defined(__SSE2__)
/* Bit i set: byte i of v is not SP, VCHAR or obs-text. */
HOT unsigned value_bad(__m128i v)
{
    const __m128i ctl = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v), _mm_cmpeq_epi8(v, del)));
}

/* Bit i set: byte i of v is outside 0x21..0x7e. */
HOT unsigned target_bad(__m128i v)
{
    const __m128i sp = _mm_set1_epi8(0x20), tilde = _mm_set1_epi8(0x7e);
    __m128i le = _mm_cmpeq_epi8(_mm_min_epu8(v, sp), v);
    __m128i ok_hi = _mm_cmpeq_epi8(_mm_max_epu8(v, tilde), tilde);
    return (unsigned)_mm_movemask_epi8(_mm_andnot_si128(ok_hi, _mm_set1_epi8(-1))) |
           (unsigned)_mm_movemask_epi8(le);
}

/* Bit i set: byte i of v is outside 0x21..0x7e, or '?' or '#'. */
HOT unsigned path_bad(__m128i v)
{
    return target_bad(v) |
           (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')),
                                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('#'))));
}

/* Bit i set: byte i of v is not a letter, a digit, '.' or '-' (the bytes
 * of a common Host).  Signed compares: obs-text is negative and falls
 * outside both ranges; only A-Z land in a-z when 0x20 is set. */
HOT unsigned host_bad(__m128i v)
{
    __m128i lc = _mm_or_si128(v, _mm_set1_epi8(0x20));
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lc, _mm_set1_epi8('a' - 1)),
                                  _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), lc));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), v));
    __m128i dd = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')),
                              _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
    return ~(unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(alpha, digit), dd)) & 0xffffu;
}

#define SCAN(bad)                                                             \
    while (pe - p >= 16) {                                                    \
        unsigned mk = bad(_mm_loadu_si128((const __m128i *)(const void *)p)); \
        if (mk)                                                               \
            return p + __builtin_ctz(mk);                                     \
        p += 16;                                                              \
    }                                                                         \
    if (p < pe && pe - lo >= 16) {                                            \
        unsigned k = (unsigned)(16 - (pe - p));                               \
        unsigned mk = bad(_mm_loadu_si128((const __m128i *)(const void *)(pe - 16))) >> k; \
        return mk ? p + __builtin_ctz(mk) : pe;                               \
    }
#else
#define SCAN(bad)
#endif

/* First byte at or after p that is not SP, VCHAR or obs-text (or pe). */
HOT const char *skip_value(const char *p, const char *pe, const char *lo)
{
    SCAN(value_bad)
    while (p < pe && value_ok((unsigned char)*p))
        p++;
    return p;
}

/* First byte at or after p outside 0x21..0x7e, or '?' or '#' (or pe). */
HOT const char *skip_path(const char *p, const char *pe, const char *lo)
{
    SCAN(path_bad)
    while (p < pe && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '?' &&
           *p != '#')
        p++;
    return p;
}

/* First byte at or after p outside 0x21..0x7e (or pe). */
HOT const char *skip_target(const char *p, const char *pe, const char *lo)
{
    SCAN(target_bad)
    while (p < pe && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    return p;
}

static inline int host_plain(unsigned char c)
{
    return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
}

/* First byte at or after p that is not a letter, a digit, '.' or '-' (or
 * pe). */
HOT const char *skip_host(const char *p, const char *pe, const char *lo)
{
    SCAN(host_bad)
    while (p < pe && host_plain((unsigned char)*p))
        p++;
    return p;
}

/* RFC 9110 §5.6.2 tchar. */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
    ['~'] = 1,
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

/* First byte at or after p that is not a tchar (or pe).  Field names are
 * short: a table loop beats a vector setup here. */
HOT const char *skip_token(const char *p, const char *pe)
{
    while (pe - p >= 4) {
        if (!tchar[(unsigned char)p[0]])
            return p;
        if (!tchar[(unsigned char)p[1]])
            return p + 1;
        if (!tchar[(unsigned char)p[2]])
            return p + 2;
        if (!tchar[(unsigned char)p[3]])
            return p + 3;
        p += 4;
    }
    while (p < pe && tchar[(unsigned char)*p])
        p++;
    return p;
}

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

/* Index of the first c1 or c2 in t[0..n), n when neither is there. */
static inline size_t find2(const char *t, size_t n, char c1, char c2)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i a = _mm_set1_epi8(c1), b = _mm_set1_epi8(c2);
    for (; n - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + i));
        unsigned mk = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(v, b)));
        if (mk)
            return i + (size_t)__builtin_ctz(mk);
    }
#endif
    for (; i < n; i++)
        if (t[i] == c1 || t[i] == c2)
            return i;
    return n;
}

/* Case-insensitive compare of s[0..n) with a lowercase literal.  Folding
 * with |0x20 is exact here: the literals hold letters, digits and '-', and
 * the only other bytes that fold onto a digit or '-' are control
 * characters, which the grammar has already refused in names and values. */
HOT int ieq(const char *s, size_t n, const char *lit, size_t litn)
{
    if (n != litn)
        return 0;
    uint64_t x = 0;
    for (; n >= 8; n -= 8, s += 8, lit += 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, lit, 8);
        x |= (a | 0x2020202020202020ull) ^ b;
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, lit, 4);
        x |= (a | 0x20202020u) ^ b;
        n -= 4, s += 4, lit += 4;
    }
    for (; n; n--, s++, lit++)
        x |= (unsigned)(((unsigned char)*s | 0x20) ^ (unsigned char)*lit);
    return x == 0;
}
#define IEQ(s, n, lit) ieq(s, n, lit, sizeof(lit) - 1)
