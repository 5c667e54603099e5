/* The line protocol (see line.h for what it carries).
 *
 * Framing is the kit's line block (memchr for the LF, a limit, CR
 * optional) and the command word is the keyword classifier pfgen writes
 * from the block below: a line has no structure worth a state per byte, so
 * this protocol needs no Ragel machine of its own.  The parser keeps only
 * an offset between calls, so the runtime may move the buffer, and bytes
 * already searched are never searched again.
 *
 * The block is the event list; tables over it are services' (the echo
 * service's is services/echo/echo.fsm). */

/* @fsm
protocol line
keywords nocase HELLO ECHO SLEEP QUIT
events  UNKNOWN
fields  pf_line_fields
parser  line_parser
init    line_init
parse   line_parse
error   line_error
full    "-ERR too many connections\r\n"
@end */
#include <errno.h>
#include <string.h>

#include "line.h"
#include "line_events.h"
#include "protofsm/frame.h"

typedef struct line_parser {
    pf_frame_line line;
    size_t max_line;
    int err; /* sticky parse error */
} line_parser;

static void line_init(void *pp, const void *conf)
{
    const pf_line_conf *c = conf;
    *(line_parser *)pp = (line_parser){ .max_line = c && c->max_line ? c->max_line
                                                                     : PF_LINE_MAX_DEFAULT };
}

static ssize_t line_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    line_parser *lp = pp;
    pf_line_fields *f = out->fields;
    size_t text;
    if (lp->err)
        return lp->err;
    ssize_t n = pf_frame_line_next(&lp->line, buf, len, lp->max_line, PF_EOL_LF, &text);
    if (n < 0)
        return n == -EAGAIN ? n : (lp->err = (int)n);
    /* The command word, then the argument after the first space. */
    const char *sp = memchr(buf, ' ', text);
    f->cmd = (pf_slice){ buf, sp ? (size_t)(sp - buf) : text };
    f->arg = sp ? (pf_slice){ sp + 1, text - f->cmd.len - 1 } : (pf_slice){ NULL, 0 };
    int ev = line_keyword(f->cmd.ptr, f->cmd.len);
    out->event = ev < 0 ? LINE_EV_UNKNOWN : (uint16_t)ev;
    out->raw = (pf_slice){ buf, (size_t)n };
    return n;
}

static pf_slice line_error(const void *pp, int err)
{
    (void)pp;
    return err == -EMSGSIZE ? (pf_slice)PF_SLICE_LIT("-ERR line too long\r\n")
                            : (pf_slice)PF_SLICE_LIT("-ERR protocol error\r\n");
}

LINE_PROTOCOL(pf_line_protocol);
