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

#endif
