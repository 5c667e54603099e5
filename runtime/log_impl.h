/* Private: the hooks the session driver calls for the logs (log.c). */
#ifndef PF__LOG_IMPL_H
#define PF__LOG_IMPL_H

#include <stdatomic.h>
#include <stdint.h>

#include "protofsm/fsm.h"

#define PF__LOG_ACCESS 0x1
#define PF__LOG_INFO 0x2
#define PF__LOG_DEBUG 0x4
#define PF__LOG_TIMING 0x8 /* pf_server_time_handlers: handler latency */

/* Which logs want lines; 0 almost always, read once per step. */
extern atomic_int pf__log_on;

static inline int pf__log_wanted(void)
{
    return atomic_load_explicit(&pf__log_on, memory_order_relaxed);
}

/* One step of session s: the access line and the error log's. */
void pf__log_step(const pf_session *s, const pf_packet *pkt, const pf_fsm_step *st, int rc,
                  uint64_t ns);
/* A parse error about to be answered (info). */
void pf__log_parse_error(const pf_session *s, int err);

/* What the runtime itself meets (no descriptors left, a thread that cannot
 * start, a client that never reads ...): one error-log line at `lvl`
 * (PF_LOG_ERROR or PF_LOG_WARN), "event=NAME" then `fmt`'s key=value
 * pairs.  At most one line a second per call site (its pf__log_limit),
 * saying how many it stood for (count=N): an attack must not turn the log
 * into the bottleneck. */
typedef struct pf__log_limit {
    atomic_uint_fast64_t next_ms, count;
} pf__log_limit;
void pf__log_event(pf__log_limit *lim, int lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
