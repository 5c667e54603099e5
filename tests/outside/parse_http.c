/* The HTTP/1.1 parser alone, from the installed libpfproto: no table, no
 * handler, no session.  Parses a pipelined input and checks the request
 * lines; exit 0 when they are right. */
#include <stdio.h>
#include <string.h>

#include "http1.h"
#include "http1_events.h"

int main(void)
{
    static const char in[] = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                             "POST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc";
    static const struct { unsigned event; const char *path; } want[] = {
        { HTTP1_EV_GET, "/one" }, { HTTP1_EV_POST, "/two" },
    };
    _Alignas(max_align_t) char parser[4096];
    pf_http1_fields fields;
    if (pf_http1_protocol.parser_size > sizeof parser) {
        fprintf(stderr, "parse_http: parser state larger than expected\n");
        return 1;
    }
    pf_http1_protocol.parser_init(parser, NULL);
    size_t at = 0;
    for (size_t i = 0; i < 2; i++) {
        pf_packet pkt = { .fields = &fields };
        ssize_t n = pf_http1_protocol.parse(parser, in + at, sizeof in - 1 - at, &pkt);
        if (n <= 0 || pkt.event != want[i].event || fields.path.len != strlen(want[i].path) ||
            memcmp(fields.path.ptr, want[i].path, fields.path.len) != 0) {
            fprintf(stderr, "parse_http: request %zu: n=%zd event=%s\n", i, n,
                    pf_event_name(&http1_events, pkt.event));
            return 1;
        }
        at += (size_t)n;
    }
    if (at != sizeof in - 1) {
        fprintf(stderr, "parse_http: %zu bytes left\n", sizeof in - 1 - at);
        return 1;
    }
    printf("parse_http: ok\n");
    return 0;
}
