/* Mail (protofsm/post.h) through a running server, in every mode: bytes
 * posted to a session while its job runs are sent after that job's
 * replies, even when those replies alone reach the high-water mark and the
 * flush then empties the output in one go: nothing else would come back
 * for mail left waiting, so it must not wait for the client's next
 * packet. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "../integ/harness.h"
#include "test_lines.h"
#include "protofsm/post.h"
#include "protofsm/server.h"

#define MAX_OUTPUT 64
#define REPLY 100 /* over the mark, under twice the mark */

enum { EV_LINE = PF_EV__BUILTIN, NEV };

static ssize_t lp_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    ssize_t n = pf_test_line_frame(pp, buf, len, out);
    if (n > 0)
        out->event = EV_LINE;
    return n;
}

/* Post to itself, then reply: the mail waits in the mailbox until the job
 * ends, and the replies are then at the mark. */
static int on_line(pf_session *s, const pf_packet *pkt)
{
    char r[REPLY];
    pf_handle h;

    (void)pkt;
    memset(r, 'r', sizeof(r) - 1);
    r[sizeof(r) - 1] = '\n';
    if (pf_session_handle(s, &h) < 0 || pf_post(h, "MAIL\n", 5) < 0)
        return PF_CLOSE;
    pf_reply(s, r, sizeof(r));
    return PF_NEXT;
}

static const pf_handler handlers[] = { NULL, on_line };
static const pf_fsm_cell cells[NEV] = {
    [PF_EV_OPEN] = { PF_FSM_NOROW, 0, 0 },  [PF_EV_CLOSE] = { PF_FSM_NOROW, 0, 0 },
    [PF_EV_TIMEOUT] = { PF_FSM_NOROW, 0, 0 }, [PF_EV_DRAIN] = { PF_FSM_NOROW, 0, 0 },
    [EV_LINE] = { 0, 1, 0 },
};
static const char *const snames[] = { "S" };
static const char *const enames[] = { "OPEN", "CLOSE", "TIMEOUT", "DRAIN", "LINE" };
static const pf_events mail_events = { "mail", "test_mail.c", NEV, enames };
static const uint8_t finals[] = { 0 };
static const pf_fsm mail_fsm = {
    .name = "mail", .source = "test_mail.c", .kind = PF_FSM_DISPATCH, .nstates = 1,
    .nevents = NEV, .start = 0, .state_names = snames, .events = &mail_events,
    .final = finals, .table = cells, .nhandlers = 2,
};
static const pf_protocol mail_proto = {
    .name = "mail", .events = &mail_events, .parser_size = sizeof(pf_test_line_parser),
    .parser_init = pf_test_line_init, .parse = lp_parse,
};
static const pf_service mail_svc = { &mail_proto, &mail_fsm, handlers };

static void *run_server(void *arg) { return (void *)(intptr_t)pf_server_run(arg); }

static void test_mail_after_replies_at_the_mark(void **state)
{
    (void)state;
    pf_mode modes[] = { PF_MODE_HSHA, PF_MODE_REACTOR, PF_MODE_LF, PF_MODE_INLINE };

    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        pf_server *srv;
        pf_server_conf conf = { .mode = modes[m], .threads = 2, .no_signals = 1,
                                .max_output = MAX_OUTPUT };
        pf_listen_conf lc = { .service = &mail_svc };
        char addr[64], got[REPLY + 5 + 1];
        pthread_t t;
        void *rv;

        assert_int_equal(pf_server_new(&srv, &conf), 0);
        assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
        assert_int_equal(pf_server_address(srv, 0, addr, sizeof(addr)), 0);
        pthread_create(&t, NULL, run_server, srv);
        int fd = h_connect((unsigned)atoi(strrchr(addr, ':') + 1), 0);
        assert_true(fd >= 0);
        for (int round = 0; round < 3; round++) {
            assert_int_equal(h_send_all(fd, "x\n", 2), 0);
            ssize_t n = h_recv_n(fd, got, REPLY + 5, 3000, NULL);
            if (n != REPLY + 5 || memcmp(got + REPLY, "MAIL\n", 5) != 0 || got[0] != 'r')
                fail_msg("%s, round %d: %zd bytes, mail %s", pf_mode_name(modes[m]), round, n,
                         n == REPLY ? "not sent" : "out of place");
        }
        close(fd);
        pf_server_stop(srv);
        pthread_join(t, &rv);
        assert_int_equal((int)(intptr_t)rv, 0);
        pf_server_free(srv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_after_replies_at_the_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
