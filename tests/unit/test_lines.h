/* A parser for test protocols made up inside a test program: one packet per
 * LF-terminated line, the whole line (LF included) in raw.  Each test maps
 * a line to its own event after pf_test_line_frame. */
#ifndef PF_TEST_LINES_H
#define PF_TEST_LINES_H

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "protofsm/packet.h"

typedef struct { size_t scanned; } pf_test_line_parser;

static inline void pf_test_line_init(void *p, const void *conf)
{
    (void)conf;
    ((pf_test_line_parser *)p)->scanned = 0;
}

/* The line's length, or -EAGAIN (bytes already looked at are not again). */
static inline ssize_t pf_test_line_frame(void *pp, const char *buf, size_t len, pf_packet *out)
{
    pf_test_line_parser *p = pp;
    const char *nl = memchr(buf + p->scanned, '\n', len - p->scanned);
    if (!nl) {
        p->scanned = len;
        return -EAGAIN;
    }
    p->scanned = 0;
    out->raw.ptr = buf;
    out->raw.len = (size_t)(nl - buf) + 1;
    return (ssize_t)out->raw.len;
}

#endif
