/* The echo service over the line protocol: what each row of echo.fsm does.
 *
 * Replies are queued whole with pf_replyv so that a reply over the output
 * limit is refused as one piece, never sent in part. */
#include <errno.h>
#include <time.h>

#include "echo/echo.h"
#include "echo_fsm.h"
#include "line.h"

ECHO_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(ECHO_HANDLERS);
const pf_service pf_echo_service = { &pf_line_protocol, &echo_fsm, handlers };

static const pf_line_fields *fields(const pf_packet *pkt)
{
    return pkt->fields;
}

static int reply_lit(pf_session *s, const pf_slice *lit)
{
    int rc = pf_replyv(s, lit, 1);
    return rc < 0 ? rc : PF_NEXT;
}

static int echo_on_hello(pf_session *s, const pf_packet *pkt)
{
    static const pf_slice usage = PF_SLICE_LIT("-ERR usage: HELLO <name>\r\n");
    const pf_line_fields *f = fields(pkt);
    if (f->arg.len == 0) {
        int rc = reply_lit(s, &usage);
        return rc < 0 ? rc : PF_STAY; /* still not greeted */
    }
    pf_slice parts[] = { PF_SLICE_LIT("+OK hello "), f->arg, PF_SLICE_LIT("\r\n") };
    int rc = pf_replyv(s, parts, 3);
    return rc < 0 ? rc : PF_NEXT;
}

static int echo_on_echo(pf_session *s, const pf_packet *pkt)
{
    const pf_line_fields *f = fields(pkt);
    pf_slice parts[] = { f->arg, PF_SLICE_LIT("\r\n") };
    int rc = pf_replyv(s, parts, 2);
    return rc < 0 ? rc : PF_NEXT;
}

/* Digits only, no sign, no spaces: "SLEEP 10 " is a usage error, not 10. */
static int parse_ms(pf_slice a, unsigned *ms)
{
    unsigned v = 0;
    if (a.len == 0 || a.len > 5)
        return -EINVAL;
    for (size_t i = 0; i < a.len; i++) {
        if (a.ptr[i] < '0' || a.ptr[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(a.ptr[i] - '0');
    }
    if (v > PF_LINE_SLEEP_MAX)
        return -ERANGE;
    *ms = v;
    return 0;
}

static int echo_on_sleep(pf_session *s, const pf_packet *pkt)
{
    static const pf_slice usage = PF_SLICE_LIT("-ERR usage: SLEEP <ms>, 0 to 10000\r\n");
    static const pf_slice ok = PF_SLICE_LIT("+OK\r\n");
    unsigned ms;
    if (parse_ms(fields(pkt)->arg, &ms) < 0)
        return reply_lit(s, &usage);
    /* This is the point of SLEEP: a handler that blocks its thread, as a
     * disk or database call would. */
    struct timespec left = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
    return reply_lit(s, &ok);
}

static int echo_on_quit(pf_session *s, const pf_packet *pkt)
{
    static const pf_slice bye = PF_SLICE_LIT("+OK bye\r\n");
    (void)pkt;
    return reply_lit(s, &bye); /* DONE is final: the server closes after it */
}

static int echo_on_need_hello(pf_session *s, const pf_packet *pkt)
{
    static const pf_slice need = PF_SLICE_LIT("-ERR say HELLO first\r\n");
    (void)pkt;
    return reply_lit(s, &need);
}

static int echo_on_unknown(pf_session *s, const pf_packet *pkt)
{
    static const pf_slice unknown = PF_SLICE_LIT("-ERR unknown command\r\n");
    (void)pkt;
    return reply_lit(s, &unknown);
}
