/* The table-driven session machine.
 *
 * A protocol names its events (pfgen turns its .rl's event block into one
 * constant pf_events); a service's table over those events (a .fsm file)
 * becomes one constant pf_fsm: a dense nstates x nevents array of cells,
 * each naming a handler slot and the state to enter.  Wildcards, "stay" and
 * the default row are all resolved by the generator, so a step is one array
 * index and one indirect call, whatever the table looked like.
 *
 * The table holds handler slots, not functions: the service binds a
 * function to every slot at run time (a pf_handler array, see service.h),
 * so a table links without its handlers and one process may run the same
 * table with different handlers and state on different listeners.
 *
 * A dispatch (state-independent) machine is the same thing with one state.
 *
 * Events 0..3 are built in and have the same number in every protocol, so
 * the runtime can deliver them without knowing the protocol. */
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

/* A handler: what one table cell runs.  `pkt` and the slices in it are
 * valid until the handler returns. */
typedef int (*pf_handler)(pf_session *s, const pf_packet *pkt);

/* A protocol's events, generated from its .rl: names[0..3] are the
 * built-ins, then the packet events the parser emits. */
typedef struct pf_events {
    const char *protocol;          /* its name, e.g. "resp" */
    const char *source;            /* the .rl file it came from */
    uint16_t n;                    /* built-ins included */
    const char *const *names;      /* [n] */
} pf_events;

#define PF_FSM_NOROW 0xffffu /* cell.next: no row and no default row */

/* Cell flags. */
#define PF_FSM_CELL_DEFAULT 0x1u /* filled by the default row */
#define PF_FSM_CELL_WILD 0x2u    /* filled by a wildcard row */

typedef struct pf_fsm_cell {
    uint16_t next;    /* state index, already resolved for "stay" rows */
    uint16_t handler; /* handler slot (the service binds a function to it); 0: none */
    uint16_t flags;   /* PF_FSM_CELL_* */
} pf_fsm_cell;

typedef struct pf_fsm {
    const char *name;
    const char *source;            /* the .fsm (or .rl) file it came from */
    uint8_t kind;                  /* enum pf_fsm_kind */
    uint16_t nstates;              /* 1 for dispatch machines */
    uint16_t nevents;              /* events->n */
    uint16_t start;
    const char *const *state_names;
    const pf_events *events;       /* the protocol's events the table is over */
    const uint8_t *final;          /* [nstates]: 1 when the state is final */
    const pf_fsm_cell *table;      /* [nstates * nevents], row-major by state */
    uint16_t nhandlers;            /* handler slots, slot 0 ("none") included */
    const char *const *handler_names; /* [nhandlers]; [0] is NULL */
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
 * handler (handlers[slot], if the cell names one) with (s, pkt), and move
 * *state to the cell's next state unless the handler vetoed (PF_STAY) or
 * failed (< 0).  `handlers` has m->nhandlers entries, every slot but 0 set
 * (pf_service_check verifies a binding once, up front).
 *
 * Returns the handler's result (PF_NEXT, PF_STAY, PF_CLOSE, or its negative
 * error), PF_ENOROW when the table has neither a row nor a default for the
 * pair (state unchanged, nothing called), or -EINVAL for an out-of-range
 * state or event.  `out` and `stats` may be NULL.  Thread-safe as long as no
 * two threads step the same *state at once. */
int pf_fsm_run(const pf_fsm *m, const pf_handler *handlers, uint16_t *state,
               uint16_t event, pf_session *s, const pf_packet *pkt,
               pf_fsm_stats *stats, pf_fsm_step *out);

/* Names for logs; "?" when out of range ("-" for handler slot 0). */
const char *pf_event_name(const pf_events *ev, uint16_t event);
const char *pf_fsm_state_name(const pf_fsm *m, uint16_t state);
const char *pf_fsm_event_name(const pf_fsm *m, uint16_t event);
const char *pf_fsm_handler_name(const pf_fsm *m, uint16_t slot);

/* Look an event up by name (case-sensitive); -ENOENT when absent. */
int pf_fsm_event_by_name(const pf_fsm *m, const char *name);

#endif
