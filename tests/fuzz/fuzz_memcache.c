/* libFuzzer target for memcached's text protocol and the mcd service.
 *
 * Oracles besides "no crash, no overread, no leak" (ASan/UBSan): the split
 * rule (the input parsed whole and as it arrives in pieces, cut where the
 * first byte says, gives the same packets and the same error; a skipped
 * value's SKIP packets are counted together, since they follow arrival);
 * every slice inside its packet; and the mcd service run over the same
 * input, whole and in pieces, answers the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcd/mcd.h"
#include "memcache.h"
#include "memcache_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const pf_mc_conf conf = { .max_line = 128, .max_get_line = 512, .max_item = 300 };

struct rec {
    uint16_t ev;
    size_t off, len;
    uint8_t error, noreply;
    uint32_t flags;
    uint64_t num;
    int64_t exptime;
    size_t key_len, data_len, keys_len;
};

static void inside(pf_slice s, const char *p, size_t n)
{
    if (s.ptr && (s.ptr < p || s.ptr + s.len > p + n))
        abort();
}

static size_t run(const char *in, size_t n, size_t step, struct rec *out, size_t max, int *err)
{
    _Alignas(max_align_t) char parser[256];
    pf_memcache_protocol.parser_init(parser, &conf);
    size_t start = 0, avail = step ? (step < n ? step : n) : n, k = 0;
    *err = 0;
    while (k < max) {
        pf_mc_fields f;
        pf_packet pkt = { .fields = &f };
        ssize_t r = pf_memcache_protocol.parse(parser, in + start, avail - start, &pkt);
        if (r == -EAGAIN) {
            if (avail == n)
                break;
            avail = avail + step < n ? avail + step : n;
            continue;
        }
        if (r < 0) {
            *err = (int)r;
            break;
        }
        if (pkt.raw.ptr != in + start || pkt.raw.len != (size_t)r)
            abort();
        inside(f.key, in + start, (size_t)r);
        inside(f.keys, in + start, (size_t)r);
        inside(f.data, in + start, (size_t)r);
        if (pkt.event == MEMCACHE_EV_SKIP && k && out[k - 1].ev == MEMCACHE_EV_SKIP) {
            out[k - 1].len += (size_t)r;
        } else {
            out[k++] = (struct rec){ pkt.event, start, (size_t)r, f.error, f.noreply, f.flags,
                                     f.num, f.exptime, f.key.len, f.data.len, f.keys.len };
        }
        start += (size_t)r;
        if (avail < start)
            avail = start;
    }
    return k;
}

/* The service's answer to the input fed `step` bytes at a time. */
static pf_buf *serve(pf_mcd *m, const char *in, size_t n, size_t step, pf_session **sp)
{
    pf_session_conf sc = { .proto_conf = &conf, .listener_data = m, .max_input = 4096,
                           .max_output = 1 << 20 };
    pf_session *s = pf_session_new(&pf_mcd_service, &sc);
    if (!s)
        abort();
    for (size_t at = 0; at < n; at += step)
        pf_session_feed(s, in + at, n - at < step ? n - at : step);
    *sp = s;
    return pf_session_output(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 29 + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    static struct rec a[2048], b[2048];
    int ea, eb;
    size_t na = run(in, n, 0, a, 2048, &ea), nb = run(in, n, step, b, 2048, &eb);
    if (na != nb || ea != eb || memcmp(a, b, na * sizeof a[0]))
        abort();

    pf_mcd_conf mc = { .max_bytes = 64 << 10, .max_item = conf.max_item };
    pf_mcd *m1 = pf_mcd_new(&mc), *m2 = pf_mcd_new(&mc);
    if (!m1 || !m2)
        abort();
    pf_session *s1, *s2;
    pf_buf *o1 = serve(m1, in, n, n ? n : 1, &s1), *o2 = serve(m2, in, n, step, &s2);
    /* gets shows cas uniques and stats shows time: the same in both runs,
     * since both stores count from one and the run takes under a second;
     * a stats line crossing a second is the one allowed difference. */
    if (o1->len != o2->len ||
        (o1->len && memcmp(pf_buf_head(o1), pf_buf_head(o2), o1->len) != 0)) {
        if (!o1->len || !memmem(pf_buf_head(o1), o1->len, "STAT time", 9))
            abort();
    }
    pf_session_free(s1);
    pf_session_free(s2);
    pf_mcd_free(m1);
    pf_mcd_free(m2);
    return 0;
}
