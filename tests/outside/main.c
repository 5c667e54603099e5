/* An outside project's program: its own protocol (ctr.rl) with its own
 * service table (counter.fsm), and a table of its own over an installed
 * protocol (hello.fsm over http1), both driven through the installed
 * protofsm (session.h's by-hand driver); every reply byte is checked.
 * Exit 0 when all is as expected. */
#include <stdio.h>
#include <string.h>

#include "counter_fsm.h"
#include "ctr.h"
#include "hello_fsm.h"
#include "http1.h"
#include "protofsm/service.h"

/* ---- the counter service: handlers bound to counter.fsm's slots --------- */

COUNTER_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler counter_handlers[] = PF_HANDLERS(COUNTER_HANDLERS);
static const pf_service counter = { &ctr_protocol, &counter_fsm, counter_handlers };

static int counter_on_inc(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    ++*(unsigned *)pf_session_data(s);
    return pf_reply_str(s, "+OK\r\n");
}

static int counter_on_get(pf_session *s, const pf_packet *pkt)
{
    char line[32];
    (void)pkt;
    snprintf(line, sizeof line, "%u\r\n", *(unsigned *)pf_session_data(s));
    return pf_reply_str(s, line);
}

static int counter_on_bye(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "+BYE\r\n");
}

static int counter_on_bad(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "-ERR unknown command\r\n");
}

/* ---- the hello service over the installed HTTP/1.1 parser --------------- */

HELLO_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler hello_handlers[] = PF_HANDLERS(HELLO_HANDLERS);
static const pf_service hello = { &pf_http1_protocol, &hello_fsm, hello_handlers };

static int hello_get(pf_session *s, const pf_packet *pkt)
{
    const pf_http1_fields *f = pkt->fields;
    pf_slice parts[] = { PF_SLICE_LIT("got "), f->path, PF_SLICE_LIT("\n") };
    return pf_replyv(s, parts, 3);
}

static int hello_other(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "not GET\n");
}

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "outside: FAIL: %s\n", what);
        failures++;
    }
}

static void check_output(pf_session *s, const char *want, const char *what)
{
    pf_buf *out = pf_session_output(s);
    size_t n = strlen(want);
    int same = out->len == n && memcmp(pf_buf_head(out), want, n) == 0;
    check(same, what);
    if (!same)
        fprintf(stderr, "outside: got %zu bytes: %.*s\n", out->len, (int)out->len,
                pf_buf_head(out));
}

int main(void)
{
    static const char in[] = "INC\nINC\nGET\nNOPE\nINC\nGET\nBYE\nINC\n";
    unsigned count = 0;
    pf_session_conf conf = { .data = &count };

    check(counter_fsm.nstates == COUNTER_NSTATES && counter_fsm.nevents == CTR_NEVENTS,
          "generated table sizes");
    check(counter_fsm.events == &ctr_events, "the table is over ctr's events");
    check(strcmp(pf_fsm_event_name(&counter_fsm, CTR_EV_BYE), "BYE") == 0, "event names");
    check(pf_service_check(&counter, NULL, 0) == 0, "the counter service binds");

    pf_session *s = pf_session_new(&counter, &conf);
    check(s != NULL, "pf_session_new");
    if (s == NULL)
        return 1;
    /* Byte by byte: the parser must resume across calls. */
    int handled = 0;
    for (size_t i = 0; i < sizeof in - 1; i++) {
        int rc = pf_session_feed(s, in + i, 1);
        check(rc >= 0, "pf_session_feed");
        handled += rc > 0 ? rc : 0;
    }
    check_output(s, "+OK\r\n+OK\r\n2\r\n-ERR unknown command\r\n+OK\r\n3\r\n+BYE\r\n",
                 "counter reply bytes");
    check(handled == 7, "seven packets handled, none after BYE");
    check(count == 3, "counter is 3");
    check(pf_session_state(s) == COUNTER_ST_DONE, "final state DONE");
    check(pf_session_closing(s), "session closing after BYE");
    pf_session_free(s);

    /* A table over someone else's protocol: http1's events, our handlers. */
    check(hello_fsm.events == &http1_events, "hello's table is over http1's events");
    s = pf_session_new(&hello, NULL);
    check(s != NULL, "pf_session_new(hello)");
    if (s == NULL)
        return 1;
    static const char req[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                              "DELETE /b HTTP/1.1\r\nHost: x\r\n\r\n";
    check(pf_session_feed(s, req, sizeof req - 1) == 2, "two requests handled");
    check_output(s, "got /a\nnot GET\n", "hello reply bytes");
    pf_session_free(s);

    if (failures == 0)
        printf("outside: ok\n");
    return failures != 0;
}
