/* One parse step, one behaviour: the by-hand driver (pf_session_feed) and
 * the server in every mode answer the same input with the same bytes and
 * the same ending, for what the parse step decides rather than a handler:
 * interim replies (in stream order, and one larger than the output
 * mark), parse errors after good packets, and a packet over the input
 * limit, which both take from the protocol (max_packet) unless their conf
 * gives one.  The server runs each case twice: with the parser state kept
 * for the connection's life, and given back between packets (at_rest).
 *
 * The copies this replaced had drifted: an interim reply over the output
 * limit failed a by-hand session, was sent anyway in hsha and dropped
 * silently in the other modes (whose clients then waited for it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "../integ/harness.h"
#include "test_lines.h"
#include "protofsm/server.h"

/* ---- the "ask" protocol -------------------------------------------------
 * One packet per line, answered "ok\n".  A line still incomplete that
 * starts with '?' gets the interim reply once; a line with '!' is
 * malformed; lines are limited only by the input limit, which the
 * protocol states (max_packet: MAX_INPUT bytes). */

#define INTERIM "CONTINUE, SEND THE REST\n" /* 24 bytes */
#define MAX_INPUT 64

enum { EV_LINE = PF_EV__BUILTIN, NEV };

typedef struct {
    pf_test_line_parser lp;
    int ask, asked;
} ask_parser;

/* Counted for the at_rest runs below: parser_init calls, and at_rest
 * calls made while a line was under way (the runtime must not make any). */
static atomic_uint inits, midpacket;

static void ask_init(void *pp, const void *conf)
{
    ask_parser *p = pp;
    atomic_fetch_add(&inits, 1);
    pf_test_line_init(&p->lp, conf);
    p->ask = p->asked = 0;
}

static ssize_t ask_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    ask_parser *p = pp;
    ssize_t n = pf_test_line_frame(&p->lp, buf, len, out);
    if (n == -EAGAIN) {
        p->ask = len > 0 && buf[0] == '?';
        return n;
    }
    p->ask = p->asked = 0;
    if (memchr(buf, '!', (size_t)n))
        return -EBADMSG;
    out->event = EV_LINE;
    return n;
}

static pf_slice ask_interim(void *pp)
{
    ask_parser *p = pp;
    if (!p->ask || p->asked)
        return (pf_slice){ NULL, 0 };
    p->asked = 1;
    return (pf_slice){ INTERIM, sizeof(INTERIM) - 1 };
}

static pf_slice ask_error(const void *pp, int err)
{
    (void)pp;
    return err == -EMSGSIZE ? (pf_slice){ "ERR big\n", 8 } : (pf_slice){ "ERR bad\n", 8 };
}

static size_t ask_max_packet(const void *conf)
{
    (void)conf;
    return MAX_INPUT;
}

static int on_line(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    pf_reply(s, "ok\n", 3);
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
static const pf_events ask_events = { "ask", "test_parse_step.c", NEV, enames };
static const uint8_t finals[] = { 0 };
static const pf_fsm ask_fsm = {
    .name = "ask", .source = "test_parse_step.c", .kind = PF_FSM_DISPATCH, .nstates = 1,
    .nevents = NEV, .start = 0, .state_names = snames, .events = &ask_events,
    .final = finals, .table = cells, .nhandlers = 2,
};
static const pf_protocol ask_proto = {
    .name = "ask", .events = &ask_events, .parser_size = sizeof(ask_parser), .fields_size = 0,
    .parser_init = ask_init, .parse = ask_parse, .error_reply = ask_error,
    .interim = ask_interim, .max_packet = ask_max_packet,
};
static const pf_service ask_svc = { &ask_proto, &ask_fsm, handlers };

/* The same protocol saying its parser is at rest between lines: a hosted
 * connection then gives its parser back whenever its input is empty and
 * gets a fresh one with the next bytes (pf_protocol.at_rest).  The cases
 * must come out the same: "interim once" would send its interim twice if
 * a parser in the middle of a line were given back. */
static int ask_at_rest(const void *pp)
{
    const ask_parser *p = pp;
    if (p->lp.scanned || p->ask)
        atomic_fetch_add(&midpacket, 1);
    return p->lp.scanned == 0 && !p->ask && !p->asked;
}

static const pf_protocol ask_rest_proto = {
    .name = "ask", .events = &ask_events, .parser_size = sizeof(ask_parser), .fields_size = 0,
    .parser_init = ask_init, .parse = ask_parse, .error_reply = ask_error,
    .interim = ask_interim, .max_packet = ask_max_packet, .at_rest = ask_at_rest,
};
static const pf_service ask_rest_svc = { &ask_rest_proto, &ask_fsm, handlers };

/* ---- cases ----------------------------------------------------------------- */

typedef struct {
    const char *name;
    size_t max_output;       /* the server's high-water mark (0: default) */
    size_t max_input;        /* the server's and the session's (0: the protocol's) */
    const char *in[3];       /* sent one after the other */
    const char *out[3];      /* what each of them is answered with */
    int ends;                /* the session closes after the last one */
} step_case;

static char big[MAX_INPUT + 7], big_line[MAX_INPUT + 8];

static const step_case cases[] = {
    { "interim", 0, 0, { "?abc", "\n" }, { INTERIM, "ok\n" }, 0 },
    /* Only once every packet before it is answered, and behind them. */
    { "interim after a packet", 0, 0, { "a\n?b", "c\n" }, { "ok\n" INTERIM, "ok\n" }, 0 },
    { "interim once", 0, 0, { "?a", "b", "\n" }, { INTERIM, "", "ok\n" }, 0 },
    /* The output limit is a high-water mark, not a cap (issue 12 item
     * 5): an interim reply larger than it is sent like any reply. */
    { "interim over the output limit", 8, 0, { "?abc" }, { INTERIM }, 0 },
    { "parse error after packets", 0, 0, { "a\nb\nc!\nd\n" }, { "ok\nok\nERR bad\n" }, 1 },
    { "packet over the input limit", 0, 0, { big }, { "ERR big\n" }, 1 },
    /* A limit given in the conf wins over the protocol's. */
    { "packet under a given input limit", 0, 2 * MAX_INPUT, { big_line }, { "ok\n" }, 0 },
    /* With at_rest, the parser is given back between the two. */
    { "two lines apart", 0, 0, { "a\n", "b\n" }, { "ok\n", "ok\n" }, 0 },
};

static void by_hand(const step_case *k)
{
    pf_session_conf conf = { .max_input = k->max_input, .max_output = k->max_output };
    pf_session *s = pf_session_new(&ask_svc, &conf);
    size_t seen = 0;

    assert_non_null(s);
    for (int i = 0; i < 3 && k->in[i]; i++) {
        int rc = pf_session_feed(s, k->in[i], strlen(k->in[i]));
        pf_buf *o = pf_session_output(s);
        size_t want = strlen(k->out[i]);
        if (o->len - seen != want || (want && memcmp(pf_buf_head(o) + seen, k->out[i], want) != 0))
            fail_msg("%s, by hand, input %d: got \"%.*s\"", k->name, i, (int)(o->len - seen),
                     pf_buf_head(o) + seen);
        seen = o->len;
        if (rc < 0 && !k->ends)
            fail_msg("%s, by hand: feed failed with %d", k->name, rc);
    }
    if (pf_session_closing(s) != k->ends)
        fail_msg("%s, by hand: closing is %d", k->name, pf_session_closing(s));
    pf_session_free(s);
}

static void *run_server(void *arg) { return (void *)(intptr_t)pf_server_run(arg); }

static void hosted(const step_case *k, pf_mode mode, const pf_service *svc)
{
    pf_server *srv;
    pf_server_conf conf = { .mode = mode, .threads = 2, .no_signals = 1,
                            .max_output = k->max_output, .max_input = k->max_input };
    pf_listen_conf lc = { .service = svc };
    pthread_t t;
    char addr[64], got[256];
    void *rv;

    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    assert_int_equal(pf_server_address(srv, 0, addr, sizeof(addr)), 0);
    pthread_create(&t, NULL, run_server, srv);
    int fd = h_connect((unsigned)atoi(strrchr(addr, ':') + 1), 0);
    assert_true(fd >= 0);
    for (int i = 0; i < 3 && k->in[i]; i++) {
        size_t want = strlen(k->out[i]);
        int eof = 0;
        assert_int_equal(h_send_all(fd, k->in[i], strlen(k->in[i])), 0);
        ssize_t n = h_recv_n(fd, got, want, 5000, &eof);
        if (n != (ssize_t)want || (want && memcmp(got, k->out[i], want) != 0))
            fail_msg("%s, %s%s, input %d: got \"%.*s\"%s", k->name, pf_mode_name(mode),
                     svc == &ask_rest_svc ? " (at_rest)" : "", i, (int)n, got, eof ? " and EOF" : "");
    }
    /* Closing: EOF soon, nothing more.  Open: nothing for a moment. */
    int e = h_wait_eof(fd, k->ends ? 5000 : 200);
    if (e != k->ends)
        fail_msg("%s, %s: %s", k->name, pf_mode_name(mode),
                 e < 0 ? "more bytes came" : k->ends ? "not closed" : "closed");
    close(fd);
    pf_server_stop(srv);
    pthread_join(t, &rv);
    assert_int_equal((int)(intptr_t)rv, 0);
    pf_server_free(srv);
}

static void test_same_answers_everywhere(void **state)
{
    (void)state;
    pf_mode modes[] = { PF_MODE_HSHA, PF_MODE_REACTOR, PF_MODE_LF, PF_MODE_INLINE };

    memset(big, 'x', sizeof(big) - 1);
    memset(big_line, 'x', sizeof(big_line) - 2);
    big_line[sizeof(big_line) - 2] = '\n';
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        by_hand(&cases[i]);
        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            hosted(&cases[i], modes[m], &ask_svc);
            unsigned before = atomic_load(&inits);
            hosted(&cases[i], modes[m], &ask_rest_svc);
            if (strcmp(cases[i].name, "two lines apart") == 0 &&
                atomic_load(&inits) - before < 2)
                fail_msg("%s, %s (at_rest): the parser was never given back", cases[i].name,
                         pf_mode_name(modes[m]));
        }
    }
    assert_int_equal(atomic_load(&midpacket), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_answers_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
