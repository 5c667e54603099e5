/* The table-driven session machine.
 *
 * pfgen compiles the table block of a protocol's .rl file into one constant
 * pf_fsm: a dense nstates x nevents array of cells, each naming the handler to
 * run and the state to enter.  Wildcards, "stay" and the default row are all
 * resolved by the generator, so a step is one array index and one indirect
 * call, whatever the table looked like.
 *
 * A dispatch (state-independent) machine is the same thing with one state.
 *
 * Events 0..3 are built in and have the same number in every machine, so the
 * runtime can deliver them without knowing the protocol. */
#ifndef PROTOFSM_FSM_H
#define PROTOFSM_FSM_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/error.h"
#include "protofsm/packet.h"

typedef struct pf_session pf_session;

enum {
    PF_EV_OPEN = 0,     /* connection accepted, before any packet */
    PF_EV_CLOSE = 1,    /* connection is going away; last event delivered */
    PF_EV_TIMEOUT = 2,  /* idle, deadline or handler-set timer expired */
    PF_EV_DRAIN = 3,    /* server is shutting down */
    PF_EV__BUILTIN = 4  /* first protocol event */
};

enum pf_fsm_kind { PF_FSM_DISPATCH = 0, PF_FSM_TRANSITION = 1 };

/* Handler results.  Negative values are errors (-errno or PF_E*): the engine
 * stays in the current state and the runtime closes the session. */
enum {
    PF_NEXT = 0,  /* take the row's transition */
    PF_STAY = 1,  /* veto: remain in the current state */
    PF_CLOSE = 2  /* take the transition, then close after replies flush */
};

/* Handlers are named in the table; the generator declares them and the
 * service defines them, so a missing handler is a link error. */
typedef int (*pf_handler)(pf_session *s, const pf_packet *pkt);

#define PF_FSM_NOROW 0xffffu /* cell.next: no row and no default row */

/* Cell flags. */
#define PF_FSM_CELL_DEFAULT 0x1u /* filled by the default row */
#define PF_FSM_CELL_WILD 0x2u    /* filled by a wildcard row */

typedef struct pf_fsm_cell {
    uint16_t next;    /* state index, already resolved for "stay" rows */
    uint16_t handler; /* index into pf_fsm.handlers; 0 means none */
    uint16_t flags;   /* PF_FSM_CELL_* */
} pf_fsm_cell;

typedef struct pf_fsm {
    const char *name;
    const char *source;            /* the .rl file it came from */
    uint8_t kind;                  /* enum pf_fsm_kind */
    uint16_t nstates;              /* 1 for dispatch machines */
    uint16_t nevents;              /* built-ins included */
    uint16_t start;
    const char *const *state_names;
    const char *const *event_names;
    const uint8_t *final;          /* [nstates]: 1 when the state is final */
    const pf_fsm_cell *table;      /* [nstates * nevents], row-major by state */
    const pf_handler *handlers;    /* [nhandlers]; handlers[0] is NULL */
    uint16_t nhandlers;
} pf_fsm;

/* Per-(state, event) counters.  The caller owns the memory: allocate
 * pf_fsm_stats_size(m) bytes (suitably aligned, e.g. with malloc) and pass it
 * to pf_fsm_stats_init.  Updated with relaxed atomics, so one block may be
 * shared by every worker thread. */
typedef struct pf_fsm_stats pf_fsm_stats;
size_t pf_fsm_stats_size(const pf_fsm *m);
pf_fsm_stats *pf_fsm_stats_init(const pf_fsm *m, void *mem);
/* Times (state, event) was stepped; also counts events that found no row. */
uint64_t pf_fsm_stats_get(const pf_fsm_stats *st, const pf_fsm *m,
                          uint16_t state, uint16_t event);

/* Outcome of one step, in addition to the return code. */
typedef struct pf_fsm_step {
    uint16_t from, to;   /* state before and after */
    uint8_t closing;     /* PF_CLOSE, a final `to`, or a handler error */
    uint8_t defaulted;   /* the default row answered */
} pf_fsm_step;

/* Deliver `event` to a session in `*state`: look the cell up in O(1), run its
 * handler (if any) with (s, pkt), and move *state to the cell's next state
 * unless the handler vetoed (PF_STAY) or failed (< 0).
 *
 * Returns the handler's result (PF_NEXT, PF_STAY, PF_CLOSE, or its negative
 * error), PF_ENOROW when the table has neither a row nor a default for the
 * pair (state unchanged, nothing called), or -EINVAL for an out-of-range
 * state or event.  `out` and `stats` may be NULL.  Thread-safe as long as no
 * two threads step the same *state at once. */
int pf_fsm_run(const pf_fsm *m, uint16_t *state, uint16_t event,
               pf_session *s, const pf_packet *pkt, pf_fsm_stats *stats,
               pf_fsm_step *out);

/* Names for logs; "?" when out of range. */
const char *pf_fsm_state_name(const pf_fsm *m, uint16_t state);
const char *pf_fsm_event_name(const pf_fsm *m, uint16_t event);

/* Look an event up by name (case-sensitive); -ENOENT when absent. */
int pf_fsm_event_by_name(const pf_fsm *m, const char *name);

#endif
