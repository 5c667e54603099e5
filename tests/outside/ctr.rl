/* ctr: a tiny line protocol for the outside-project test.  Each request is
 * one line: INC adds one to the session's counter, GET reports it, BYE ends
 * the session; anything else is an error.  Framing is memchr for the LF; the
 * Ragel machine names the command. */

/* @fsm
protocol ctr
events  INC GET BYE BAD
@end */
#include <errno.h>
#include <string.h>

#include "ctr.h"
#include "ctr_events.h"

typedef struct ctr_parser {
    size_t scanned;  /* bytes of the current line already searched for LF */
} ctr_parser;

%%{
    machine ctr_cmd;

    action inc { ev = CTR_EV_INC; }
    action get { ev = CTR_EV_GET; }
    action bye { ev = CTR_EV_BYE; }

    main := 'INC' %inc | 'GET' %get | 'BYE' %bye;
}%%

%% write data noerror nofinal noentry;

static unsigned short classify(const char *line, size_t n)
{
    const char *p = line, *pe = line + n, *eof = pe;
    unsigned short ev = CTR_EV_BAD;
    int cs;
    %% write init;
    %% write exec;
    (void)eof;
    return ev;
}

static void ctr_parser_init(void *pp, const void *conf)
{
    (void)conf;
    ((ctr_parser *)pp)->scanned = 0;
}

static ssize_t ctr_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    ctr_parser *cp = pp;
    const char *nl = cp->scanned < len ? memchr(buf + cp->scanned, '\n', len - cp->scanned)
                                       : NULL;
    if (nl == NULL) {
        cp->scanned = len;
        return len > 64 ? -EMSGSIZE : -EAGAIN;
    }
    cp->scanned = 0;
    size_t end = (size_t)(nl - buf);
    out->event = classify(buf, end);
    out->raw.ptr = buf;
    out->raw.len = end + 1;
    return (ssize_t)(end + 1);
}

static pf_slice ctr_error_reply(const void *pp, int err)
{
    static const pf_slice too_long = { "-ERR too long\r\n", 15 };
    (void)pp;
    (void)err;
    return too_long;
}

const pf_protocol ctr_protocol = {
    .name = "ctr",
    .events = &ctr_events,
    .parser_size = sizeof(ctr_parser),
    .fields_size = 0,
    .parser_init = ctr_parser_init,
    .parse = ctr_parse,
    .error_reply = ctr_error_reply,
};
