/* HTTP/1.1 byte classes and scanners, included by http1.rl (a .c.h file is
 * never compiled alone).  The scanners look at 16 bytes at a time with SSE2
 * where the compiler targets it (a portable loop otherwise) and never read
 * outside [lo, pe): they are what lets the per-byte machine skip the long
 * runs of a request (target, field values, chunk data), and what the line
 * scanners of the one-pass parse (http1_fast.c.h) are made of.  At the end,
 * 32-byte AVX2 versions for the one-pass parse of a long request, chosen
 * at run time (WIDE, wide_init).  They need HOT from http1.rl. */
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
 * characters, which the grammar has already refused in names and values.
 * The last word is loaded to end at n, overlapping the one before: no
 * byte loop for the tail. */
static inline uint64_t fold8(const char *s, const char *lit)
{
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, lit, 8);
    return (a | 0x2020202020202020ull) ^ b;
}

static inline uint32_t fold4(const char *s, const char *lit)
{
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, lit, 4);
    return (a | 0x20202020u) ^ b;
}

HOT int ieq(const char *s, size_t n, const char *lit, size_t litn)
{
    if (n != litn)
        return 0;
    if (n >= 8) {
        uint64_t x = fold8(s + n - 8, lit + n - 8);
        for (size_t i = 0; i + 8 < n; i += 8)
            x |= fold8(s + i, lit + i);
        return x == 0;
    }
    if (n >= 4)
        return (fold4(s, lit) | fold4(s + n - 4, lit + n - 4)) == 0;
    unsigned x = 0;
    for (; n; n--, s++, lit++)
        x |= (unsigned)(((unsigned char)*s | 0x20) ^ (unsigned char)*lit);
    return x == 0;
}
#define IEQ(s, n, lit) ieq(s, n, lit, sizeof(lit) - 1)

/* ---- 32 bytes at a time, where the CPU has AVX2 ---------------------------
 *
 * Compiled for AVX2 by function attribute whatever the build's flags, and
 * run only when wide_init found AVX2 on the CPU: a binary built for any
 * x86-64 takes the wide path on a machine that has it.  On other targets
 * WIDE is 0 and none of this exists.  The same rule as above for the end
 * of the input: no load outside [lo, pe). */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define WIDE 1
#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>
#define AVX2 __attribute__((target("avx2")))

/* Bit i set: byte i of v is a control byte (HTAB, CR and LF included) or
 * DEL: what ends a field value's run of SP, VCHAR and obs-text. */
AVX2 static inline uint32_t ctl32(__m256i v)
{
    __m256i le = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v);
    return (uint32_t)_mm256_movemask_epi8(
        _mm256_or_si256(le, _mm256_cmpeq_epi8(v, _mm256_set1_epi8(0x7f))));
}

/* Bit i set: byte i of v is not a tchar.  A byte is a tchar when the bit
 * its high nibble picks (0x2_ .. 0x7_, one bit each; none for the rest) is
 * set in the entry its low nibble picks: one shuffle per nibble classifies
 * the whole vector exactly, where a compare per character range would take
 * a dozen (the tables are tchar[] folded by nibble). */
AVX2 static inline uint32_t nontoken32(__m256i v)
{
    const __m256i lo_tab = _mm256_setr_epi8(
        0x3a, 0x3f, 0x3e, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3e, 0x3e, 0x3d, 0x15, 0x34, 0x15, 0x3d, 0x1c,
        0x3a, 0x3f, 0x3e, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3e, 0x3e, 0x3d, 0x15, 0x34, 0x15, 0x3d, 0x1c);
    const __m256i hi_tab = _mm256_setr_epi8(
        0, 0, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256i l = _mm256_shuffle_epi8(lo_tab, _mm256_and_si256(v, nib));
    __m256i h = _mm256_shuffle_epi8(hi_tab, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
    return (uint32_t)_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_and_si256(l, h), _mm256_setzero_si256()));
}

/* skip_value 32 bytes at a time, with the same rule for the end: the last
 * 32 bytes before pe when fewer are left and the input has 32, the narrow
 * scanner when it has not. */
AVX2 static inline const char *skip_value_wide(const char *p, const char *pe, const char *lo)
{
    /* 64 bytes a turn: half the branches on a long value (a Cookie) */
    while (pe - p >= 64) {
        uint64_t mk = ctl32(_mm256_loadu_si256((const __m256i *)(const void *)p)) |
                      (uint64_t)ctl32(_mm256_loadu_si256((const __m256i *)(const void *)(p + 32)))
                          << 32;
        if (mk)
            return p + __builtin_ctzll(mk);
        p += 64;
    }
    if (pe - p >= 32) {
        uint32_t mk = ctl32(_mm256_loadu_si256((const __m256i *)(const void *)p));
        if (mk)
            return p + __builtin_ctz(mk);
        p += 32;
    }
    if (p < pe && pe - lo >= 32) {
        unsigned k = (unsigned)(32 - (pe - p));
        uint32_t mk = ctl32(_mm256_loadu_si256((const __m256i *)(const void *)(pe - 32))) >> k;
        return mk ? p + __builtin_ctz(mk) : pe;
    }
    return skip_value(p, pe, lo);
}

/* host_bad, 32 bytes at a time. */
AVX2 static inline uint32_t host_bad32(__m256i v)
{
    __m256i lc = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
    __m256i alpha = _mm256_and_si256(_mm256_cmpgt_epi8(lc, _mm256_set1_epi8('a' - 1)),
                                     _mm256_cmpgt_epi8(_mm256_set1_epi8('z' + 1), lc));
    __m256i digit = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8('0' - 1)),
                                     _mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), v));
    __m256i dd = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('.')),
                                 _mm256_cmpeq_epi8(v, _mm256_set1_epi8('-')));
    return ~(uint32_t)_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(alpha, digit), dd));
}

/* 1 when [p, pe) is all letters, digits, '.' and '-' (a plain Host, what
 * scan_host_line takes): one load for any Host value up to 32 bytes. */
AVX2 static inline int plain_host_wide(const char *p, const char *pe, const char *lo)
{
    while (pe - p >= 32) {
        if (host_bad32(_mm256_loadu_si256((const __m256i *)(const void *)p)))
            return 0;
        p += 32;
    }
    if (p < pe && pe - lo >= 32) {
        unsigned k = (unsigned)(32 - (pe - p));
        return (host_bad32(_mm256_loadu_si256((const __m256i *)(const void *)(pe - 32))) >> k) == 0;
    }
    return skip_host(p, pe, lo) == pe;
}

/* The CPU is asked once, at the first parser_init, so that a request costs
 * one load and no system query: 1 when fast_request_wide may run.
 * PF_HTTP1_NARROW in the environment keeps the SSE2 path: how the tests
 * (tests/unit/http1_narrow.sh) hold it to the same results on a machine
 * that has AVX2. */
static _Atomic int wide_ok = -1;

static void wide_init(void)
{
    if (atomic_load_explicit(&wide_ok, memory_order_relaxed) < 0)
        atomic_store_explicit(&wide_ok,
                              __builtin_cpu_supports("avx2") && !getenv("PF_HTTP1_NARROW"),
                              memory_order_relaxed);
}
#else
#define WIDE 0
static void wide_init(void)
{
}
#endif
