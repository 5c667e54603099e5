/* Server counters.
 *
 * Updated with relaxed atomics by the thread that does the counted thing,
 * read by any thread: each counter is exact, a snapshot of several is not
 * taken at one instant. */
#ifndef PROTOFSM_STATS_H
#define PROTOFSM_STATS_H

#include <stdint.h>

#include "protofsm/fsm.h"

typedef struct pf_server pf_server;

typedef struct pf_server_stats {
    uint64_t conns_accepted;   /* connections taken */
    uint64_t conns_current;    /* open now */
    uint64_t conns_closed;
    uint64_t conns_refused;    /* max_conns reached: full_reply and close */
    uint64_t conns_shed;       /* accepted and closed at once for lack of fds */
    uint64_t packets;          /* packets handled */
    uint64_t events;           /* built-in events delivered (open, close, timeout, drain) */
    uint64_t bytes_in, bytes_out;
    uint64_t timeouts;         /* idle and request-deadline closes */
    uint64_t timeouts_idle;    /* of those, idle (no input for idle_timeout_ms) */
    uint64_t timeouts_request; /* of those, a packet not whole in request_timeout_ms */
    uint64_t timeouts_write;   /* resets: a closing connection's output not
                                  read in time (a client that never reads) */
    uint64_t proto_errors;     /* parse errors and packet-size overruns */
    uint64_t proto_too_large;  /* of those, packet-size overruns */
    uint64_t draining;         /* 1 once the drain (SIGTERM, pf_server_stop) began */
    uint64_t queue_full;       /* work items that had to wait for queue room */
    uint64_t queue_depth;      /* items in the request queue now */
    uint64_t queue_capacity;
    uint64_t workers;          /* hsha, reactor: worker threads now */
    uint64_t workers_added;    /* started because others were blocked */
    uint64_t file_waits;       /* hsha: file windows a worker read in because
                                  the page cache did not hold them */
    uint64_t owner_jobs;       /* hsha, reactor, lf: jobs the I/O thread (lf:
                                  the leader) ran itself, their handlers
                                  having proved cheap (pf_server_conf.handoff) */
    uint64_t owner_stalls;     /* of those, the ones that slept and ran over
                                  the stall time (50 x cheap_us, 1 ms by
                                  default): their events go back to the
                                  workers for a while */
    uint64_t backend_sweeps;   /* sigio backend: real-time signal queue
                                  overflows (RLIMIT_SIGPENDING), each
                                  answered by a poll(2) sweep over every
                                  connection */
} pf_server_stats;

/* Any thread. */
void pf_server_stats_get(pf_server *srv, pf_server_stats *out);

/* How long handlers take, per listener and handler, timed only while
 * timing is on (two clock reads per handler run): while an admin listener
 * runs (admin.h), or after pf_server_time_handlers(1).  Bucket bounds in
 * microseconds; counts are cumulative, as Prometheus histograms are. */
#define PF_LATENCY_BUCKETS 17
extern const uint32_t pf_latency_bounds_us[PF_LATENCY_BUCKETS];
typedef struct pf_latency {
    uint64_t count;                  /* handler runs timed */
    uint64_t sum_ns;
    uint64_t le[PF_LATENCY_BUCKETS]; /* runs that took at most bound k */
} pf_latency;

/* Handler slot h (1 .. nhandlers - 1, fsm.h) of listener i; -ENOENT when
 * out of range.  Any thread. */
int pf_server_latency(const pf_server *srv, unsigned i, uint16_t h, pf_latency *out);
/* How long jobs waited in the request queue (hsha, reactor) between the
 * I/O thread's post and a worker's take, timed with the handlers. */
int pf_server_queue_wait(pf_server *srv, pf_latency *out);
/* Process-wide, counted (calls nest): 1 starts timing handlers, 0 ends
 * what a 1 started. */
void pf_server_time_handlers(int on);

/* Per-(state, event) counts of listener i's machine (see fsm.h), NULL when
 * out of range.  Read with pf_fsm_stats_get. */
const pf_fsm_stats *pf_server_fsm_stats(const pf_server *srv, unsigned i);
const pf_fsm *pf_server_fsm(const pf_server *srv, unsigned i);

#endif
