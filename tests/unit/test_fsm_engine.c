/* The engine on hand-written tables of both kinds: cell lookup, handler
 * results (next, veto, close, error), the default row, missing rows, final
 * states, counters, names.  The tables here are written out by hand, as
 * pfgen would, so the engine is tested apart from the generator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "protofsm/fsm.h"

/* A session stand-in: handlers record their calls here. */
struct rec {
    int calls[8];
    int result; /* what h_ask returns */
    const pf_packet *last_pkt;
};

static int h_one(pf_session *s, const pf_packet *p)
{
    struct rec *r = (struct rec *)s;
    r->calls[1]++;
    r->last_pkt = p;
    return PF_NEXT;
}
static int h_ask(pf_session *s, const pf_packet *p)
{
    struct rec *r = (struct rec *)s;
    r->calls[2]++;
    r->last_pkt = p;
    return r->result;
}
static int h_dflt(pf_session *s, const pf_packet *p)
{
    (void)p;
    ((struct rec *)s)->calls[3]++;
    return PF_NEXT;
}

/* transition: states A B Z(final); events builtins + X Y */
enum { A, B, Z, NS };
enum { EX = PF_EV__BUILTIN, EY, NE };
#define NOROW { PF_FSM_NOROW, 0, 0 }
static const pf_fsm_cell t_table[NS * NE] = {
    /* A: OPEN CLOSE TIMEOUT DRAIN X Y */
    { A, 0, 0 }, { Z, 0, PF_FSM_CELL_WILD }, NOROW, NOROW,
    { B, 1, 0 }, { A, 3, PF_FSM_CELL_DEFAULT },
    /* B */
    NOROW, { Z, 0, PF_FSM_CELL_WILD }, { A, 2, 0 }, NOROW,
    { Z, 2, 0 }, { B, 3, PF_FSM_CELL_DEFAULT },
    /* Z */
    NOROW, NOROW, NOROW, NOROW, NOROW, NOROW,
};
static const pf_handler t_handlers[] = { NULL, h_one, h_ask, h_dflt };
static const char *const t_states[] = { "A", "B", "Z" };
static const char *const t_events[] = { "OPEN", "CLOSE", "TIMEOUT", "DRAIN", "X", "Y" };
static const pf_events t_ev = { "t", "test", NE, t_events };
static const char *const t_hnames[] = { NULL, "h_one", "h_ask", "h_dflt" };
static const uint8_t t_final[] = { 0, 0, 1 };
static const pf_fsm tm = {
    .name = "t", .source = "test", .kind = PF_FSM_TRANSITION,
    .nstates = NS, .nevents = NE, .start = A,
    .state_names = t_states, .events = &t_ev, .final = t_final,
    .table = t_table, .nhandlers = 4, .handler_names = t_hnames,
};

static void test_exact_row_moves_and_calls(void **st)
{
    (void)st;
    struct rec r = { 0 };
    uint16_t s = A;
    pf_packet pkt = { .event = EX };
    pf_fsm_step step;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, EX, (pf_session *)&r, &pkt, NULL, &step), PF_NEXT);
    assert_int_equal(s, B);
    assert_int_equal(r.calls[1], 1);
    assert_ptr_equal(r.last_pkt, &pkt);
    assert_int_equal(step.from, A);
    assert_int_equal(step.to, B);
    assert_false(step.closing);
    assert_false(step.defaulted);
}

static void test_veto_keeps_state(void **st)
{
    (void)st;
    struct rec r = { .result = PF_STAY };
    uint16_t s = B;
    pf_fsm_step step;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, EX, (pf_session *)&r, NULL, NULL, &step), PF_STAY);
    assert_int_equal(s, B); /* the row says Z, the handler said no */
    assert_int_equal(r.calls[2], 1);
    assert_false(step.closing);
    assert_int_equal(step.to, B);
}

static void test_close_result_moves_and_closes(void **st)
{
    (void)st;
    struct rec r = { .result = PF_CLOSE };
    uint16_t s = B;
    pf_fsm_step step;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, PF_EV_TIMEOUT, (pf_session *)&r, NULL, NULL, &step), PF_CLOSE);
    assert_int_equal(s, A); /* the move is taken: A is not final, yet closing */
    assert_int_equal(step.to, A);
    assert_true(step.closing);
}

static void test_handler_error_stays_and_closes(void **st)
{
    (void)st;
    struct rec r = { .result = -EIO };
    uint16_t s = B;
    pf_fsm_step step;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, EX, (pf_session *)&r, NULL, NULL, &step), -EIO);
    assert_int_equal(s, B);
    assert_true(step.closing);
}

static void test_final_state_closes(void **st)
{
    (void)st;
    struct rec r = { .result = PF_NEXT };
    uint16_t s = B;
    pf_fsm_step step;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, EX, (pf_session *)&r, NULL, NULL, &step), PF_NEXT);
    assert_int_equal(s, Z);
    assert_true(step.closing);
}

static void test_default_row_answers(void **st)
{
    (void)st;
    struct rec r = { 0 };
    uint16_t s = A;
    pf_fsm_step step;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, EY, (pf_session *)&r, NULL, NULL, &step), PF_NEXT);
    assert_int_equal(s, A);
    assert_int_equal(r.calls[3], 1);
    assert_true(step.defaulted);
}

static void test_no_row(void **st)
{
    (void)st;
    struct rec r = { 0 };
    uint16_t s = A;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, PF_EV_DRAIN, (pf_session *)&r, NULL, NULL, NULL), PF_ENOROW);
    assert_int_equal(s, A);
    s = Z;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, EX, (pf_session *)&r, NULL, NULL, NULL), PF_ENOROW);
    assert_int_equal(r.calls[1] + r.calls[2] + r.calls[3], 0);
}

static void test_row_without_handler(void **st)
{
    (void)st;
    uint16_t s = A;
    pf_fsm_step step;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, PF_EV_CLOSE, NULL, NULL, NULL, &step), PF_NEXT);
    assert_int_equal(s, Z);
    assert_true(step.closing);
}

static void test_out_of_range(void **st)
{
    (void)st;
    uint16_t s = NS;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, EX, NULL, NULL, NULL, NULL), -EINVAL);
    s = A;
    assert_int_equal(pf_fsm_run(&tm, t_handlers, &s, NE, NULL, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(s, A);
}

static void test_counters(void **st)
{
    (void)st;
    void *mem = malloc(pf_fsm_stats_size(&tm));
    assert_non_null(mem);
    pf_fsm_stats *stats = pf_fsm_stats_init(&tm, mem);
    struct rec r = { .result = PF_STAY };
    for (int i = 0; i < 3; i++) {
        uint16_t s = A;
        pf_fsm_run(&tm, t_handlers, &s, EX, (pf_session *)&r, NULL, stats, NULL);
        pf_fsm_run(&tm, t_handlers, &s, EX, (pf_session *)&r, NULL, stats, NULL); /* B x X, vetoed */
    }
    uint16_t s = Z;
    pf_fsm_run(&tm, t_handlers, &s, EY, (pf_session *)&r, NULL, stats, NULL); /* no row: counted */
    assert_int_equal(pf_fsm_stats_get(stats, &tm, A, EX), 3);
    assert_int_equal(pf_fsm_stats_get(stats, &tm, B, EX), 3);
    assert_int_equal(pf_fsm_stats_get(stats, &tm, Z, EY), 1);
    assert_int_equal(pf_fsm_stats_get(stats, &tm, A, EY), 0);
    assert_int_equal(pf_fsm_stats_get(stats, &tm, NS, EY), 0);
    free(mem);
}

static void test_names(void **st)
{
    (void)st;
    assert_string_equal(pf_fsm_state_name(&tm, B), "B");
    assert_string_equal(pf_fsm_state_name(&tm, 99), "?");
    assert_string_equal(pf_fsm_event_name(&tm, PF_EV_TIMEOUT), "TIMEOUT");
    assert_string_equal(pf_fsm_event_name(&tm, NE), "?");
    assert_int_equal(pf_fsm_event_by_name(&tm, "Y"), EY);
    assert_int_equal(pf_fsm_event_by_name(&tm, "y"), -ENOENT);
}

/* dispatch: one state, handler per event */
static const pf_fsm_cell d_table[NE] = {
    NOROW, NOROW, NOROW, NOROW, { 0, 1, 0 }, { 0, 2, 0 },
};
static const char *const d_states[] = { "ANY" };
static const uint8_t d_final[] = { 0 };
static const pf_fsm dm = {
    .name = "d", .source = "test", .kind = PF_FSM_DISPATCH,
    .nstates = 1, .nevents = NE, .start = 0,
    .state_names = d_states, .events = &t_ev, .final = d_final,
    .table = d_table, .nhandlers = 3, .handler_names = t_hnames,
};

static void test_dispatch(void **st)
{
    (void)st;
    struct rec r = { .result = PF_CLOSE };
    uint16_t s = 0;
    pf_fsm_step step;
    assert_int_equal(pf_fsm_run(&dm, t_handlers, &s, EX, (pf_session *)&r, NULL, NULL, &step), PF_NEXT);
    assert_int_equal(r.calls[1], 1);
    assert_false(step.closing);
    assert_int_equal(pf_fsm_run(&dm, t_handlers, &s, EY, (pf_session *)&r, NULL, NULL, &step), PF_CLOSE);
    assert_int_equal(r.calls[2], 1);
    assert_true(step.closing);
    assert_int_equal(s, 0);
    assert_int_equal(pf_fsm_run(&dm, t_handlers, &s, PF_EV_OPEN, (pf_session *)&r, NULL, NULL, NULL), PF_ENOROW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_row_moves_and_calls),
        cmocka_unit_test(test_veto_keeps_state),
        cmocka_unit_test(test_close_result_moves_and_closes),
        cmocka_unit_test(test_handler_error_stays_and_closes),
        cmocka_unit_test(test_final_state_closes),
        cmocka_unit_test(test_default_row_answers),
        cmocka_unit_test(test_no_row),
        cmocka_unit_test(test_row_without_handler),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
