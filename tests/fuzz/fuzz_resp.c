/* libFuzzer target for the RESP parser.
 *
 * Besides "no crash, no overread" (ASan/UBSan), two oracles:
 * - the split rule: parsing the input whole and parsing it as it arrives in
 *   pieces (cut where the first byte says, each piece in a fresh copy of the
 *   buffer so that stale pointers would show) must yield the same packets,
 *   the same arguments and the same error;
 * - a reference: a plain, copying C port of redis's processMultibulkBuffer,
 *   processInlineBuffer, string2ll and sdssplitargs (with our documented
 *   size rules), and a strcasecmp table for the names, must agree with the
 *   whole parse, packet by packet, byte by byte, error text included.
 * The second byte picks small or default limits so that every limit is
 * reachable.  No handler is run or linked: the parser stands alone. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"
#include "resp_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {        /* no padding: compared with memcmp */
    uint32_t ev;
    int is_inline;
    size_t off, len, raw_off, raw_len, argc;
    uint64_t hash;   /* of every argument's length and bytes */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return h;
}

/* ---- the reference ------------------------------------------------------ */

static int ref_string2ll(const char *s, size_t slen, long long *value)
{
    const char *p = s;
    size_t plen = 0;
    int negative = 0;
    unsigned long long v;
    if (slen == 0 || slen >= 21)
        return 0;
    if (slen == 1 && p[0] == '0') {
        *value = 0;
        return 1;
    }
    if (p[0] == '-') {
        negative = 1;
        p++;
        plen++;
        if (plen == slen)
            return 0;
    }
    if (p[0] >= '1' && p[0] <= '9') {
        v = (unsigned long long)(p[0] - '0');
        p++;
        plen++;
    } else {
        return 0;
    }
    while (plen < slen && p[0] >= '0' && p[0] <= '9') {
        if (v > ULLONG_MAX / 10)
            return 0;
        v *= 10;
        if (v > ULLONG_MAX - (unsigned long long)(p[0] - '0'))
            return 0;
        v += (unsigned long long)(p[0] - '0');
        p++;
        plen++;
    }
    if (plen < slen)
        return 0;
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *value = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > LLONG_MAX)
            return 0;
        *value = (long long)v;
    }
    return 1;
}

static const char *const names[] = {
    "PING", "ECHO", "GET", "SET", "SETNX", "GETSET", "MGET", "MSET", "DEL", "EXISTS",
    "INCR", "DECR", "INCRBY", "DECRBY", "APPEND", "STRLEN", "EXPIRE", "PEXPIRE",
    "TTL", "PTTL", "PERSIST", "TYPE", "KEYS", "SCAN", "DBSIZE", "FLUSHDB",
    "FLUSHALL", "SELECT", "QUIT", "INFO", "COMMAND", "CLIENT", "HELLO", "AUTH",
    "MULTI", "EXEC", "DISCARD", "CONFIG",
};

static uint32_t ref_event(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncasecmp(names[i], p, n) == 0)
            return RESP_EV_PING + (uint32_t)i;
    return RESP_EV_UNKNOWN;
}

static int ref_isspace(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int ref_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int ref_hexval(int c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* sdssplitargs, over a NUL-terminated copy of the line.  Arguments go to
 * out (lengths in lens); returns argc, or -1 for unbalanced quotes, -2 for
 * more than max arguments. */
static int ref_split(const char *line, char *out, size_t *lens, size_t max)
{
    const char *p = line;
    int argc = 0;
    while (1) {
        while (*p && ref_isspace((unsigned char)*p))
            p++;
        if (!*p)
            return argc;
        if ((size_t)argc == max)
            return -2;
        int inq = 0, insq = 0, done = 0;
        size_t len = 0;
        while (!done) {
            if (inq) {
                if (*p == '\\' && *(p + 1) == 'x' && ref_hex((unsigned char)p[2]) &&
                    ref_hex((unsigned char)p[3])) {
                    out[len++] = (char)(ref_hexval((unsigned char)p[2]) * 16 +
                                        ref_hexval((unsigned char)p[3]));
                    p += 3;
                } else if (*p == '\\' && *(p + 1)) {
                    char c;
                    p++;
                    switch (*p) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = *p; break;
                    }
                    out[len++] = c;
                } else if (*p == '"') {
                    if (*(p + 1) && !ref_isspace((unsigned char)*(p + 1)))
                        return -1;
                    done = 1;
                } else if (!*p) {
                    return -1;
                } else {
                    out[len++] = *p;
                }
            } else if (insq) {
                if (*p == '\\' && *(p + 1) == '\'') {
                    p++;
                    out[len++] = '\'';
                } else if (*p == '\'') {
                    if (*(p + 1) && !ref_isspace((unsigned char)*(p + 1)))
                        return -1;
                    done = 1;
                } else if (!*p) {
                    return -1;
                } else {
                    out[len++] = *p;
                }
            } else {
                switch (*p) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    done = 1;
                    break;
                case '"':
                    inq = 1;
                    break;
                case '\'':
                    insq = 1;
                    break;
                default:
                    out[len++] = *p;
                    break;
                }
            }
            if (*p)
                p++;
        }
        lens[argc++] = len;
        out += len;
    }
}

/* First CR (or LF for inline) at or after `from`, or the NUL that hides it
 * from strchr, or n: redis's strchr on a NUL-terminated buffer. */
static size_t ref_find(const char *in, size_t n, size_t from, char c)
{
    while (from < n && in[from] != c && in[from] != '\0')
        from++;
    return from;
}

/* The whole input through the reference; records as run() makes them. */
static size_t ref_run(const char *in, size_t n, const pf_resp_conf *c, struct rec *out,
                      size_t max, int *err, unsigned char *got)
{
    size_t max_inline = c ? c->max_inline : PF_RESP_MAX_INLINE_DEFAULT;
    size_t max_args = c ? c->max_args : PF_RESP_MAX_ARGS_DEFAULT;
    long long max_bulk = c ? (long long)c->max_bulk : PF_RESP_MAX_BULK_DEFAULT;
    size_t pos = 0, pkt = 0, k = 0;
    static char line[1 << 17], args[1 << 17];
    static size_t lens[1 << 16];
    *err = 0;
    while (k < max && pos < n) {
        size_t start = pos, argc = 0;
        int is_inline = in[pos] != '*';
        uint64_t h = 14695981039346656037u;
        if (!is_inline) {
            size_t q = ref_find(in, n, pos, '\r');
            if (q == n || in[q] == '\0') {
                if (n - pos > max_inline)
                    *err = PF_RESP_EMBULK_BIG;
                return k;
            }
            if (q - pos > max_inline) {
                *err = PF_RESP_EMBULK_BIG;
                return k;
            }
            if (q + 1 >= n)
                return k;
            long long ll;
            if (!ref_string2ll(in + pos + 1, q - pos - 1, &ll) || ll > INT_MAX) {
                *err = PF_RESP_EMBULK_LEN;
                return k;
            }
            pos = q + 2;
            if (ll > 0 && (size_t)ll > max_args) {
                *err = PF_RESP_EMBULK_LEN;
                return k;
            }
            for (long long i = 0; i < ll; i++) {
                q = ref_find(in, n, pos, '\r');
                if (q == n || in[q] == '\0') {
                    if (n - pos > max_inline)
                        *err = PF_RESP_EBULK_BIG;
                    return k;
                }
                if (q - pos > max_inline) {
                    *err = PF_RESP_EBULK_BIG;
                    return k;
                }
                if (q + 1 >= n)
                    return k;
                if (in[pos] != '$') {
                    /* redis maps CR and LF in the text to spaces */
                    *got = in[pos] == '\r' || in[pos] == '\n' ? ' ' : (unsigned char)in[pos];
                    *err = PF_RESP_EDOLLAR;
                    return k;
                }
                long long bl;
                if (!ref_string2ll(in + pos + 1, q - pos - 1, &bl) || bl < 0 || bl > max_bulk) {
                    *err = PF_RESP_EBULK_LEN;
                    return k;
                }
                pos = q + 2;
                if (n - pos < (size_t)bl + 2)
                    return k;
                if (argc == 0)
                    out[k].ev = ref_event(in + pos, (size_t)bl);
                size_t bls = (size_t)bl;
                h = fnv(h, &bls, sizeof bls);
                h = fnv(h, in + pos, bls);
                argc++;
                pos += bls + 2;
            }
        } else {
            size_t nl = ref_find(in, n, pos, '\n');
            if (nl == n || in[nl] == '\0') {
                size_t m = n - pos;
                if (m > max_inline + 1 || (m == max_inline + 1 && in[n - 1] != '\r'))
                    *err = PF_RESP_EINLINE_BIG;
                return k;
            }
            size_t end = nl > pos && in[nl - 1] == '\r' ? nl - 1 : nl;
            if (end - pos > max_inline) {
                *err = PF_RESP_EINLINE_BIG;
                return k;
            }
            memcpy(line, in + pos, end - pos);
            line[end - pos] = 0;
            int r = ref_split(line, args, lens, max_args);
            if (r < 0) {
                *err = r == -1 ? PF_RESP_EQUOTES : PF_RESP_EINLINE_BIG;
                return k;
            }
            size_t used = 0;
            for (int i = 0; i < r; i++) {
                if (i == 0)
                    out[k].ev = ref_event(args, lens[0]);
                h = fnv(h, &lens[i], sizeof lens[i]);
                h = fnv(h, args + used, lens[i]);
                used += lens[i];
            }
            argc = (size_t)r;
            pos = nl + 1;
        }
        if (argc == 0) {
            if (pos - pkt < max_inline)
                continue;
            out[k] = (struct rec){ RESP_EV_EMPTY, 0, pkt, pos - pkt, pkt, pos - pkt, 0,
                                   14695981039346656037u };
            k++;
            pkt = pos;
            continue;
        }
        out[k].is_inline = is_inline;
        out[k].off = pkt;
        out[k].len = pos - pkt;
        out[k].raw_off = start;
        out[k].raw_len = pos - start;
        out[k].argc = argc;
        out[k].hash = h;
        k++;
        pkt = pos;
    }
    return k;
}

static _Alignas(max_align_t) char parser[1 << 16];

/* Parse `in` delivering `step` more bytes each time (0: all at once). */
static unsigned char got; /* the byte named by the last EDOLLAR reply */

static size_t run(const char *in, size_t n, size_t step, const pf_resp_conf *conf,
                  struct rec *out, size_t max, int *err)
{
    if (pf_resp_protocol.parser_size > sizeof parser)
        abort();
    pf_resp_protocol.parser_init(parser, conf);
    size_t start = 0, avail = step ? (step < n ? step : n) : n, k = 0;
    char *copy = NULL;
    *err = 0;
    while (k < max) {
        /* A fresh buffer per call: the parser must keep offsets only. */
        free(copy);
        copy = malloc(avail - start + 1);
        memcpy(copy, in + start, avail - start);
        pf_resp_fields f;
        pf_packet pkt = { .fields = &f };
        ssize_t r = pf_resp_protocol.parse(parser, copy, avail - start, &pkt);
        if (r == -EAGAIN) {
            if (avail == n)
                break;
            avail = avail + step < n ? avail + step : n;
            continue;
        }
        if (r < 0) {
            *err = (int)r;
            pf_slice rep = pf_resp_protocol.error_reply(parser, (int)r);
            if (r == PF_RESP_EDOLLAR)
                got = (unsigned char)rep.ptr[40];
            if (r != -EMSGSIZE && (rep.len < 20 || memcmp(rep.ptr, "-ERR Protocol error: ", 21)))
                abort();
            break;
        }
        if ((size_t)r > avail - start)
            abort();
        if (pkt.raw.ptr < copy || pkt.raw.ptr + pkt.raw.len != copy + r)
            abort();
        uint64_t h = 14695981039346656037u;
        if ((f.argc == 0) != (pkt.event == RESP_EV_EMPTY))
            abort();
        /* The fields point into the packet only; escaped inline words are
         * unescaped into our buffer, which args.len bytes always suffice for. */
        static pf_slice av[4096];
        static char unesc[1 << 16];
        if (f.args.len > sizeof unesc || f.argc > 4096)
            abort();
        if (f.args.ptr < copy || f.args.ptr + f.args.len > copy + r)
            abort();
        if (pf_resp_args(&f, av, 4096, unesc, f.args.len) != (ssize_t)f.argc)
            abort();
        for (size_t i = 0; i < f.argc; i++) {
            const pf_slice *a = &av[i];
            int in_pkt = a->ptr >= pkt.raw.ptr && a->ptr + a->len <= copy + r;
            int in_buf = a->ptr >= unesc && a->ptr + a->len <= unesc + f.args.len;
            if (!in_pkt && !(f.is_inline && in_buf))
                abort();
            h = fnv(h, &a->len, sizeof a->len);
            h = fnv(h, a->ptr, a->len);
        }
        out[k++] = (struct rec){ pkt.event, f.is_inline, start, (size_t)r,
                                 start + (size_t)(pkt.raw.ptr - copy), pkt.raw.len,
                                 f.argc, h };
        start += (size_t)r;
        if (avail < start)
            avail = start;
    }
    free(copy);
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    pf_resp_conf small = { .max_bulk = 64, .max_args = 8, .max_inline = 32 };
    const pf_resp_conf *conf = data[1] & 1 ? &small : NULL;
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    static struct rec a[4096], b[4096];
    int ea, eb;
    size_t na = run(in, n, 0, conf, a, 4096, &ea);
    unsigned char got_a = ea == PF_RESP_EDOLLAR ? got : 0;
    size_t nb = run(in, n, step, conf, b, 4096, &eb);
    if (na != nb || ea != eb || memcmp(a, b, na * sizeof a[0]))
        abort();
    /* The reference. */
    static struct rec r[4096];
    int er;
    unsigned char got_r = 0;
    memset(r, 0, sizeof r);
    size_t nr = ref_run(in, n, conf, r, 4096, &er, &got_r);
    if (nr != na || er != ea || got_r != got_a || memcmp(a, r, na * sizeof a[0]))
        abort();
    return 0;
}
