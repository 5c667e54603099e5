/* A service for programs that watch what a parser emits (tests, fuzzers,
 * benchmarks): a one-state dispatch table over a protocol's events, built
 * at run time, that runs one function for every packet event and nothing
 * for the built-ins.  It names exactly the one handler it binds, so a
 * protocol is driven through pf_session_feed without any table of its own
 * services. */
#ifndef PF_TEST_WATCH_H
#define PF_TEST_WATCH_H

#include <assert.h>

#include "protofsm/service.h"

#define PF_TEST_WATCH_MAX_EVENTS 256

typedef struct pf_test_watch {
    pf_fsm fsm;
    pf_fsm_cell cells[PF_TEST_WATCH_MAX_EVENTS];
    pf_handler handlers[2];
    pf_service svc;
} pf_test_watch;

static inline const pf_service *pf_test_watch_init(pf_test_watch *w, const pf_protocol *proto,
                                                   pf_handler on_packet)
{
    static const char *const states[] = { "ANY" };
    static const char *const names[] = { NULL, "watch" };
    static const uint8_t final[] = { 0 };
    const pf_events *ev = proto->events;
    assert(ev->n <= PF_TEST_WATCH_MAX_EVENTS);
    for (uint16_t e = 0; e < ev->n; e++)
        w->cells[e] = e < PF_EV__BUILTIN ? (pf_fsm_cell){ PF_FSM_NOROW, 0, 0 }
                                         : (pf_fsm_cell){ 0, 1, PF_FSM_CELL_DEFAULT };
    w->fsm = (pf_fsm){ .name = "watch", .source = __FILE__, .kind = PF_FSM_DISPATCH,
                       .nstates = 1, .nevents = ev->n, .start = 0, .state_names = states,
                       .events = ev, .final = final, .table = w->cells, .nhandlers = 2,
                       .handler_names = names };
    w->handlers[0] = NULL;
    w->handlers[1] = on_packet;
    w->svc = (pf_service){ proto, &w->fsm, w->handlers };
    return &w->svc;
}

#endif
