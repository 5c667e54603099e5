/* mcd: a memcached-compatible cache over protocols/memcache (the table is
 * mcd.fsm).  Each listener serves one store: pass a pf_mcd as
 * pf_listen_conf.data (or pf_session_conf.listener_data).
 *
 * Items expire as memcached's do: exptime 0 never, negative at once, up to
 * 30 days (2592000 s) relative, beyond that a Unix time.  The store holds
 * at most `max_bytes` (items' keys, values and headers); a store that would
 * grow past it evicts the least recently used items first, and an item
 * that cannot fit even then gets SERVER_ERROR out of memory storing
 * object.  Thread-safe: the keyspace is split into shards, each behind its
 * own lock, with its own LRU list and a share of max_bytes. */
#ifndef PROTOFSM_SVC_MCD_H
#define PROTOFSM_SVC_MCD_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/service.h"

#define PF_MCD_MAX_BYTES_DEFAULT (64u << 20) /* memcached -m 64 */
#define PF_MCD_VERSION "1.6.18 (protofsm mcd)"

typedef struct pf_mcd pf_mcd;

typedef struct pf_mcd_conf {
    size_t max_bytes;   /* memory for items; 0: 64 MiB */
    size_t max_item;    /* largest item (key + value + header); 0: 1 MiB.
                           The listener's pf_mc_conf.max_item must match. */
} pf_mcd_conf;

typedef struct pf_mcd_stats {
    uint64_t curr_items, bytes, limit_maxbytes, evictions;
    uint64_t cmd_get, get_hits, get_misses, cmd_set, cmd_touch, curr_connections,
        total_connections;
} pf_mcd_stats;

extern const pf_service pf_mcd_service;

/* NULL when out of memory. */
pf_mcd *pf_mcd_new(const pf_mcd_conf *conf);
/* No connection may be open. */
void pf_mcd_free(pf_mcd *m);
/* Any thread. */
void pf_mcd_stats_get(pf_mcd *m, pf_mcd_stats *out);
/* Any thread: the counters back to 0, as memcached's "stats reset" (not
 * the items, their bytes or the open connections). */
void pf_mcd_stats_reset(pf_mcd *m);

#endif
