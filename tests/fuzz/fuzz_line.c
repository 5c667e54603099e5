/* libFuzzer target for the line parser.
 *
 * Besides "no crash, no overread" (ASan/UBSan), the oracle is the split
 * rule: parsing the input whole and parsing it as it arrives in pieces (cut
 * where the first byte says) must yield the same packets and the same error.
 * Handlers are not run: SLEEP would make the fuzzer wait. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
    uint16_t ev;
    size_t off, len, cmd_off, cmd_len, arg_len;
    int has_arg;
};

/* Parse `in` delivering `step` more bytes each time (0: all at once). */
static size_t run(const char *in, size_t n, size_t step, struct rec *out,
                  size_t max, int *err)
{
    _Alignas(max_align_t) char parser[256];
    pf_line_conf conf = { .max_line = 64 };
    pf_line_protocol.parser_init(parser, &conf);
    size_t start = 0, avail = step ? (step < n ? step : n) : n, k = 0;
    *err = 0;
    while (k < max) {
        pf_line_fields f;
        pf_packet pkt = { .fields = &f };
        ssize_t r = pf_line_protocol.parse(parser, in + start, avail - start, &pkt);
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
        if (f.cmd.ptr < in + start || f.cmd.ptr + f.cmd.len > in + start + (size_t)r)
            abort();
        out[k++] = (struct rec){ pkt.event, start, (size_t)r,
                                 (size_t)(f.cmd.ptr - in), f.cmd.len, f.arg.len,
                                 f.arg.ptr != NULL };
        start += (size_t)r;
        if (avail < start)
            avail = start;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    static struct rec a[4096], b[4096];
    int ea, eb;
    size_t na = run(in, n, 0, a, 4096, &ea);
    size_t nb = run(in, n, step, b, 4096, &eb);
    if (na != nb || ea != eb || memcmp(a, b, na * sizeof a[0]))
        abort();
    return 0;
}
