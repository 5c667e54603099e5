/* HTTP/1.1 byte classes and scanners, included by http1.rl (a .c.h file is
 * never compiled alone).  The scanners look at 16 bytes at a time with SSE2
 * where the compiler targets it (a portable loop otherwise) and never read
 * outside [lo, pe): they are what lets the per-byte machine skip the long
 * runs of a request (target, field values, chunk data), and what the line
 * scanners of the one-pass parse (http1_fast.c.h) are made of.  They need
 * HOT from http1.rl. */
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
