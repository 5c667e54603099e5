/* The echo service over the line protocol: what each row of echo.fsm does.
 *
 * A handler's result is the reply's: pf_reply and pf_replyv return 0
 * (PF_NEXT, take the row) or a negative error (close), and queue a reply
 * whole or not at all, so a reply over the output limit is never sent in
 * part. */
#include <errno.h>
#include <time.h>

#include "echo/echo.h"
#include "echo_fsm.h"
#include "line.h"

ECHO_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(ECHO_HANDLERS);
const pf_service pf_echo_service = { &pf_line_protocol, &echo_fsm, handlers };

static int echo_on_hello(pf_session *s, const pf_packet *pkt)
{
    pf_slice name = LINE_FIELDS(pkt)->arg;
    if (name.len == 0) { /* still not greeted */
        int rc = pf_reply_str(s, "-ERR usage: HELLO <name>\r\n");
        return rc < 0 ? rc : PF_STAY;
    }
    pf_slice parts[] = { PF_SLICE_LIT("+OK hello "), name, PF_SLICE_LIT("\r\n") };
    return pf_replyv(s, parts, 3);
}

static int echo_on_echo(pf_session *s, const pf_packet *pkt)
{
    pf_slice parts[] = { LINE_FIELDS(pkt)->arg, PF_SLICE_LIT("\r\n") };
    return pf_replyv(s, parts, 2);
}

/* This is the point of SLEEP: a handler that blocks its thread, as a disk
 * or database call would.  Digits only: "SLEEP 10 " is a usage error. */
static int echo_on_sleep(pf_session *s, const pf_packet *pkt)
{
    pf_slice a = LINE_FIELDS(pkt)->arg;
    uint64_t ms;
    if (pf_frame_u64(a.ptr, a.len, PF_LINE_SLEEP_MAX, &ms) < 0)
        return pf_reply_str(s, "-ERR usage: SLEEP <ms>, 0 to 10000\r\n");
    struct timespec left = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
    return pf_reply_str(s, "+OK\r\n");
}

PF_HANDLER_REPLY(echo_on_quit, "+OK bye\r\n") /* DONE is final: the server closes after it */
PF_HANDLER_REPLY(echo_on_need_hello, "-ERR say HELLO first\r\n")
PF_HANDLER_REPLY(echo_on_unknown, "-ERR unknown command\r\n")
