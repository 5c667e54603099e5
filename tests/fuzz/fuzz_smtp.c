/* libFuzzer target for the SMTP parser and machine.
 *
 * Oracles, besides "no crash, no overread, no leak" (ASan/UBSan):
 *  - the split rule: a whole session (parser, table and handlers, Maildir
 *    off so nothing touches the disk) fed the input at once and fed it in
 *    pieces (cut every `step` bytes, step from the first byte) must send the
 *    same replies and end the same way.  DATA_CHUNK boundaries follow the
 *    reads, so packets are not compared, what the client sees is;
 *  - the parser alone (every DATA taken as accepted): slices stay inside
 *    their packet, a DATA_END is a "." CRLF line at a line start, and a
 *    chunk never ends inside a possible terminator.
 * Small limits make the limit paths reachable. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir/maildir.h"
#include "smtp.h"
#include "smtp_fsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const pf_smtp_conf conf = {
    .max_cmd_line = 64, .max_text_line = 80, .max_rcpt = 4, .max_message = 2000,
};

static pf_session *session(void)
{
    static const pf_maildir sink = { .hostname = "fuzz.test" };
    pf_session_conf sc = { .proto_conf = &conf, .listener_data = (void *)&sink,
                           .max_input = 512, .max_output = 1 << 16 };
    pf_session *s = pf_session_new(&pf_maildir_service, &sc);
    if (!s)
        abort();
    return s;
}

static void inside(pf_slice v, const char *lo, const char *hi)
{
    if (v.len && (v.ptr < lo || v.ptr + v.len > hi))
        abort();
}

/* Whether offset `at` of the input begins a line of message text. */
static int line_start(const char *in, size_t at, size_t data_start)
{
    return at == data_start || (at >= 2 && in[at - 2] == '\r' && in[at - 1] == '\n');
}

static void parser_alone(const char *in, size_t n)
{
    _Alignas(max_align_t) char parser[256];
    size_t at = 0, data_start = (size_t)-1;
    pf_smtp_protocol.parser_init(parser, &conf);
    while (at < n) {
        pf_smtp_fields f;
        pf_packet pkt = { .fields = &f };
        ssize_t r = pf_smtp_protocol.parse(parser, in + at, n - at, &pkt);
        if (r == -EAGAIN)
            break;
        if (r <= 0 || (size_t)r > n - at || pkt.raw.ptr != in + at)
            abort();
        const char *lo = in + at, *hi = lo + r;
        inside(f.verb, lo, hi);
        inside(f.arg, lo, hi);
        inside(f.path, lo, hi);
        inside(f.text, lo, hi);
        switch (pkt.event) {
        case SMTP_EV_DATA:
            pf_smtp_parser_data(f.parser, 1);
            data_start = at + (size_t)r;
            break;
        case SMTP_EV_DATA_END:
            /* ". CR LF" at the end, at the start of the data or after CRLF */
            if (r < 3 || memcmp(hi - 3, ".\r\n", 3) || f.text.len != (size_t)r - 3)
                abort();
            if (at + f.text.len != data_start &&
                (at + f.text.len < 2 || memcmp(in + at + f.text.len - 2, "\r\n", 2)))
                abort();
            break;
        case SMTP_EV_DATA_CHUNK:
            /* never ends inside a "." CRLF line begun at a line start */
            if (f.text.len != (size_t)r ||
                (hi[-1] == '.' && line_start(in, (size_t)(hi - 1 - in), data_start)) ||
                ((size_t)r >= 2 && !memcmp(hi - 2, ".\r", 2) &&
                 line_start(in, (size_t)(hi - 2 - in), data_start)))
                abort();
            break;
        default:
            break;
        }
        at += (size_t)r;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 23 + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    parser_alone(in, n);

    pf_session *a = session(), *b = session();
    int ra = pf_session_feed(a, in, n), rb = 0;
    for (size_t at = 0; at < n; at += step) {
        int r = pf_session_feed(b, in + at, n - at < step ? n - at : step);
        if (r < 0)
            rb = r;
    }
    pf_buf *oa = pf_session_output(a), *ob = pf_session_output(b);
    if (oa->len != ob->len || memcmp(pf_buf_head(oa), pf_buf_head(ob), oa->len))
        abort();
    if (pf_session_closing(a) != pf_session_closing(b) || (ra < 0) != (rb < 0))
        abort();
    if (pf_session_state(a) != pf_session_state(b))
        abort();
    pf_session_free(a);
    pf_session_free(b);
    return 0;
}
