/* libFuzzer target for the RESP parser.
 *
 * Besides "no crash, no overread" (ASan/UBSan), the oracle is the split
 * rule: parsing the input whole and parsing it as it arrives in pieces (cut
 * where the first byte says, each piece in a fresh copy of the buffer so
 * that stale pointers would show) must yield the same packets, the same
 * arguments and the same error.  The second byte picks small or default
 * limits so that every limit is reachable.  Handlers are not run; the stubs
 * below only satisfy the linker. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "resp_fsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STUB(name)                                              \
    int resp_on_##name(pf_session *s, const pf_packet *pkt);    \
    int resp_on_##name(pf_session *s, const pf_packet *pkt)     \
    {                                                           \
        (void)s;                                                \
        (void)pkt;                                              \
        return 0;                                               \
    }
STUB(ping) STUB(echo) STUB(get) STUB(set) STUB(setnx) STUB(getset) STUB(mget)
STUB(mset) STUB(del) STUB(exists) STUB(incr) STUB(decr) STUB(incrby)
STUB(decrby) STUB(append) STUB(strlen) STUB(expire) STUB(pexpire) STUB(ttl)
STUB(pttl) STUB(persist) STUB(type) STUB(keys) STUB(scan) STUB(dbsize)
STUB(flushdb) STUB(flushall) STUB(select) STUB(quit) STUB(info)
STUB(command) STUB(client) STUB(hello) STUB(auth) STUB(multi) STUB(exec)
STUB(discard) STUB(unknown)

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

static _Alignas(max_align_t) char parser[1 << 16];

/* Parse `in` delivering `step` more bytes each time (0: all at once). */
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
        for (size_t i = 0; i < f.argc; i++) {
            const pf_slice *a = &f.argv[i];
            int in_pkt = a->ptr >= pkt.raw.ptr && a->ptr + a->len <= copy + r;
            int in_parser = a->ptr >= parser && a->ptr + a->len <= parser + sizeof parser;
            if (!in_pkt && !(f.is_inline && in_parser))
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
    size_t nb = run(in, n, step, conf, b, 4096, &eb);
    if (na != nb || ea != eb || memcmp(a, b, na * sizeof a[0]))
        abort();
    return 0;
}
