/* The line protocol (see line.h for what it answers).
 *
 * Framing is memchr for the LF, not Ragel: a line has no structure worth a
 * state per byte, and memchr runs at memory speed.  Once a line is whole,
 * the Ragel machine below classifies its command word in one pass.  The
 * parser keeps only an offset between calls, so the runtime may move the
 * buffer, and bytes already scanned are never scanned again.
 *
 * The block below is the event list; tables over it are services' (the
 * echo service's is services/echo/echo.fsm). */

/* @fsm
protocol line
events  HELLO ECHO SLEEP QUIT UNKNOWN
@end */
#include <errno.h>
#include <string.h>

#include "line.h"
#include "line_events.h"

typedef struct line_parser {
    size_t scanned;     /* bytes of the current line searched for LF */
    size_t max_line;
    int err;            /* sticky parse error */
} line_parser;

%%{
    machine line_cmd;

    action hello { ev = LINE_EV_HELLO; }
    action echo  { ev = LINE_EV_ECHO; }
    action sleep { ev = LINE_EV_SLEEP; }
    action quit  { ev = LINE_EV_QUIT; }
    action arg   { arg = p + 1; fbreak; }

    keyword = 'hello'i | 'echo'i | 'sleep'i | 'quit'i;
    command = 'hello'i %hello
            | 'echo'i  %echo
            | 'sleep'i %sleep
            | 'quit'i  %quit
            | ( [^ ]* - keyword );

    main := command ( ' ' @arg any* )?;
}%%

%% write data noerror nofinal noentry;

/* Name the event of a whole line (terminators removed) and split off its
 * argument. */
static unsigned short classify(const char *line, size_t n, pf_line_fields *f)
{
    const char *p = line, *pe = line + n, *eof = pe;
    const char *arg = NULL;
    unsigned short ev = LINE_EV_UNKNOWN;
    int cs;
    %% write init;
    %% write exec;
    (void)eof;
    f->cmd.ptr = line;
    f->cmd.len = arg ? (size_t)(arg - 1 - line) : n;
    f->arg.ptr = arg;
    f->arg.len = arg ? (size_t)(pe - arg) : 0;
    return ev;
}

static void line_parser_init(void *pp, const void *conf)
{
    line_parser *lp = pp;
    const pf_line_conf *c = conf;
    lp->scanned = 0;
    lp->err = 0;
    lp->max_line = c && c->max_line ? c->max_line : PF_LINE_MAX_DEFAULT;
}

static ssize_t line_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    line_parser *lp = pp;
    if (lp->err)
        return lp->err;
    const char *nl = NULL;
    if (lp->scanned < len)
        nl = memchr(buf + lp->scanned, '\n', len - lp->scanned);
    if (!nl) {
        lp->scanned = len;
        /* max_line of text plus a CR may still be followed by its LF. */
        if (len > lp->max_line && len - lp->max_line > 1)
            return lp->err = -EMSGSIZE;
        return -EAGAIN;
    }
    size_t end = (size_t)(nl - buf);
    size_t text = end && buf[end - 1] == '\r' ? end - 1 : end;
    if (text > lp->max_line)
        return lp->err = -EMSGSIZE;
    lp->scanned = 0;
    out->event = classify(buf, text, out->fields);
    out->raw.ptr = buf;
    out->raw.len = end + 1;
    return (ssize_t)(end + 1);
}

static pf_slice line_error_reply(const void *pp, int err)
{
    static const pf_slice too_long = PF_SLICE_LIT("-ERR line too long\r\n");
    static const pf_slice bad = PF_SLICE_LIT("-ERR protocol error\r\n");
    (void)pp;
    return err == -EMSGSIZE ? too_long : bad;
}

const pf_protocol pf_line_protocol = {
    .name = "line",
    .events = &line_events,
    .parser_size = sizeof(line_parser),
    .fields_size = sizeof(pf_line_fields),
    .parser_init = line_parser_init,
    .parse = line_parse,
    .error_reply = line_error_reply,
    .busy_reply = { NULL, 0 },
    .full_reply = PF_SLICE_LIT("-ERR too many connections\r\n"),
};
