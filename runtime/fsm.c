/* The session-machine engine: one array index and one indirect call a step.
 *
 * Everything a table says (wildcards, stay rows, the default) was resolved by
 * pfgen into a dense state x event array, so nothing here searches.  The only
 * mutable data are the optional counters, shared by every worker thread and
 * therefore updated with relaxed atomics: they are statistics, not
 * synchronisation. */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "protofsm/fsm.h"

/* pf_fsm_stats is opaque: the caller's block is an array of
 * nstates * nevents counters. */
static _Atomic uint64_t *hits(const pf_fsm_stats *st)
{
    return (_Atomic uint64_t *)(void *)st;
}

size_t pf_fsm_stats_size(const pf_fsm *m)
{
    size_t cells = (size_t)m->nstates * m->nevents;
    return (cells ? cells : 1) * sizeof(_Atomic uint64_t);
}

pf_fsm_stats *pf_fsm_stats_init(const pf_fsm *m, void *mem)
{
    _Atomic uint64_t *h = mem;
    size_t cells = (size_t)m->nstates * m->nevents;
    for (size_t i = 0; i < cells; i++)
        atomic_init(&h[i], 0);
    return mem;
}

uint64_t pf_fsm_stats_get(const pf_fsm_stats *st, const pf_fsm *m,
                          uint16_t state, uint16_t event)
{
    if (!st || state >= m->nstates || event >= m->nevents)
        return 0;
    return atomic_load_explicit(&hits(st)[(size_t)state * m->nevents + event],
                                memory_order_relaxed);
}

int pf_fsm_run(const pf_fsm *m, const pf_handler *handlers, uint16_t *state,
               uint16_t event, pf_session *s, const pf_packet *pkt,
               pf_fsm_stats *stats, pf_fsm_step *out)
{
    uint16_t from = *state;
    if (from >= m->nstates || event >= m->nevents)
        return -EINVAL;

    size_t idx = (size_t)from * m->nevents + event;
    const pf_fsm_cell *c = &m->table[idx];
    if (stats)
        atomic_fetch_add_explicit(&hits(stats)[idx], 1, memory_order_relaxed);
    if (out) {
        out->from = out->to = from;
        out->closing = 0;
        out->defaulted = (c->flags & PF_FSM_CELL_DEFAULT) != 0;
    }
    if (c->next == PF_FSM_NOROW)
        return PF_ENOROW;

    int rc = PF_NEXT;
    if (c->handler) {
        assert(c->handler < m->nhandlers && handlers[c->handler]);
        rc = handlers[c->handler](s, pkt);
        if (rc < 0 || rc == PF_STAY) {
            if (out)
                out->closing = rc < 0;
            return rc;
        }
        if (rc != PF_CLOSE)
            rc = PF_NEXT; /* unknown positive results count as "go on" */
    }
    *state = c->next;
    if (out) {
        out->to = c->next;
        out->closing = rc == PF_CLOSE || m->final[c->next];
    }
    return rc;
}

const char *pf_fsm_state_name(const pf_fsm *m, uint16_t state)
{
    return state < m->nstates ? m->state_names[state] : "?";
}

const char *pf_event_name(const pf_events *ev, uint16_t event)
{
    return event < ev->n ? ev->names[event] : "?";
}

const char *pf_fsm_event_name(const pf_fsm *m, uint16_t event)
{
    return pf_event_name(m->events, event);
}

const char *pf_fsm_handler_name(const pf_fsm *m, uint16_t slot)
{
    return slot == 0 ? "-" : slot < m->nhandlers ? m->handler_names[slot] : "?";
}

int pf_fsm_event_by_name(const pf_fsm *m, const char *name)
{
    for (uint16_t i = 0; i < m->nevents; i++)
        if (strcmp(m->events->names[i], name) == 0)
            return i;
    return -ENOENT;
}
