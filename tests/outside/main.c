/* An outside project's program: drive the ctr protocol through the
 * installed protofsm (session.h's by-hand driver) and check every reply
 * byte.  Exit 0 when all is as expected. */
#include <stdio.h>
#include <string.h>

#include "ctr.h"
#include "ctr_fsm.h"
#include "protofsm/session.h"

/* Handlers named in ctr.rl's table; ctr_fsm.h declares them. */
int ctr_on_inc(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    ++*(unsigned *)pf_session_data(s);
    return pf_reply_str(s, "+OK\r\n");
}

int ctr_on_get(pf_session *s, const pf_packet *pkt)
{
    char line[32];
    (void)pkt;
    snprintf(line, sizeof line, "%u\r\n", *(unsigned *)pf_session_data(s));
    return pf_reply_str(s, line);
}

int ctr_on_bye(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "+BYE\r\n");
}

int ctr_on_bad(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "-ERR unknown command\r\n");
}

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "outside: FAIL: %s\n", what);
        failures++;
    }
}

int main(void)
{
    static const char in[] = "INC\nINC\nGET\nNOPE\nINC\nGET\nBYE\nINC\n";
    static const char want[] = "+OK\r\n+OK\r\n2\r\n-ERR unknown command\r\n+OK\r\n3\r\n+BYE\r\n";
    unsigned count = 0;
    pf_session_conf conf = { .data = &count };

    check(ctr_fsm.nstates == CTR_NSTATES && ctr_fsm.nevents == CTR_NEVENTS,
          "generated table sizes");
    check(strcmp(pf_fsm_event_name(&ctr_fsm, CTR_EV_BYE), "BYE") == 0, "event names");

    pf_session *s = pf_session_new(&ctr_protocol, &conf);
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
    pf_buf *out = pf_session_output(s);
    check(out->len == sizeof want - 1 && memcmp(pf_buf_head(out), want, out->len) == 0,
          "reply bytes");
    if (out->len != sizeof want - 1 || memcmp(pf_buf_head(out), want, out->len) != 0)
        fprintf(stderr, "outside: got %zu bytes: %.*s\n", out->len, (int)out->len,
                pf_buf_head(out));
    check(handled == 7, "seven packets handled, none after BYE");
    check(count == 3, "counter is 3");
    check(pf_session_state(s) == CTR_ST_DONE, "final state DONE");
    check(pf_session_closing(s), "session closing after BYE");
    pf_session_free(s);
    if (failures == 0)
        printf("outside: ok\n");
    return failures != 0;
}
