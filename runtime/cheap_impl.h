/* Private: which jobs (hsha, reactor, lf) the loop's owner runs itself
 * instead of handing them to a worker or to the next leader (cheap.c says
 * why and how it learns). */
#ifndef PF__CHEAP_IMPL_H
#define PF__CHEAP_IMPL_H

#include <stdatomic.h>
#include <stdint.h>

struct pf__listener;
struct pf__conn;
struct pf_server;

/* Per listener, per event (pf_events index). */
typedef struct pf__cost {
    atomic_uint ns;          /* moving average per packet, written by any job */
    atomic_uint runs;        /* runs seen, up to the number that makes it learnt */
    uint64_t banned_until;   /* owner: ms; not run here before */
    unsigned ban_ms;         /* owner: the last ban's length */
} pf__cost;

/* 1 on the owner while it runs a job here: a reactor job then writes file
 * segments as hsha's owner does, never waiting for the disk. */
extern _Thread_local unsigned char pf__owner_job;

uint64_t pf__cheap_now_ns(void);
/* Whether jobs measure themselves: a mode with workers, handoff adaptive. */
int pf__cheap_learns(const struct pf_server *srv);
/* The listener's table, one entry per event.  0 or -1 (no memory). */
int pf__cheap_init(struct pf__listener *ls);
void pf__cheap_fini(struct pf__listener *ls);

/* Any thread, at the end of a job: packets [first, first + handled) and
 * the built-ins in `events` took `ns` in all. */
void pf__cheap_note(struct pf__conn *c, unsigned first, unsigned handled, uint8_t events,
                    uint64_t ns);
/* Any thread, at the end of a reactor or lf job: `handled` packets and the
 * built-ins in `events` took `ns`, reading and writing included. */
void pf__cheap_note_job(struct pf__conn *c, unsigned handled, uint8_t events, uint64_t ns);
/* Owner, in a reactor or lf job it runs: how many packets its turn's
 * budget leaves room for (at least one). */
unsigned pf__cheap_quota(const struct pf__conn *c);
/* Owner, for a job about to start (job_events set): may it run here? */
int pf__cheap_job(struct pf_server *srv, struct pf__conn *c);
/* Owner: run it here (the caller completes it, pf__step_done). */
void pf__cheap_run(struct pf_server *srv, struct pf__conn *c);

#endif
