/* Private to services/mcd: the store (mcd_store.c) as the handlers
 * (mcd.c) use it.  Every call on a shard's items is made with the shard's
 * lock held; items are freed only by the store. */
#ifndef PF__MCD_IMPL_H
#define PF__MCD_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mcd/mcd.h"

typedef struct mc_item {
    struct mc_item *hnext;       /* hash chain */
    struct mc_item *prev, *next; /* LRU: head most recent */
    uint64_t hash;
    uint64_t cas;
    int64_t exptime;             /* absolute Unix seconds; 0: never */
    int64_t time;                /* when stored (flush_all with a delay) */
    uint32_t flags, nkey, nval;
    char data[];                 /* the key, then the value */
} mc_item;

typedef struct mc_shard {
    pthread_mutex_t mu;
    mc_item **buckets;
    size_t nbuckets, count;
    mc_item *head, *tail;
    size_t bytes, limit;
} mc_shard;

struct pf_mcd {
    mc_shard *shards;
    unsigned nshards;
    size_t max_bytes, max_item;
    int64_t started;
    _Atomic uint64_t cas;        /* the last cas unique handed out */
    _Atomic uint64_t flush_cas;  /* items with a cas up to this are flushed */
    _Atomic int64_t oldest_live; /* flush_all with a delay: items stored up to
                                    then are dead once it has passed; 0: none */
    atomic_uint_fast64_t evictions, cmd_get, get_hits, get_misses, cmd_set, cmd_touch,
        curr_conns, total_conns;
};

/* What the handlers need of the store. */
static inline const char *mc_key(const mc_item *it) { return it->data; }
static inline char *mc_value(mc_item *it) { return it->data + it->nkey; }
/* Bytes an item is charged: its header, key and value. */
static inline size_t mc_size(size_t nkey, size_t nval) { return sizeof(mc_item) + nkey + nval; }

int64_t pf__mcd_now(void);
/* memcached's exptime: 0 never, < 0 already, <= 30 days from now, else a
 * Unix time. */
int64_t pf__mcd_realtime(int64_t exptime, int64_t now);
uint64_t pf__mcd_hash(const char *key, size_t n);
mc_shard *pf__mcd_shard(pf_mcd *m, uint64_t hash);
/* The live item with this key (an expired or flushed one is unlinked on
 * the way), or NULL. */
mc_item *pf__mcd_find(pf_mcd *m, mc_shard *s, uint64_t hash, const char *key, size_t n,
                      int64_t now);
/* A new unlinked item, key copied, value to fill; NULL when out of memory. */
mc_item *pf__mcd_alloc(uint64_t hash, const char *key, size_t nkey, size_t nval);
/* Link `it` (no item with its key may be linked), evicting the least
 * recently used items of the shard until it fits.  0, or -ENOMEM when it
 * cannot fit (`it` is then freed). */
int pf__mcd_link(pf_mcd *m, mc_shard *s, mc_item *it);
void pf__mcd_unlink(mc_shard *s, mc_item *it);
void pf__mcd_bump(mc_shard *s, mc_item *it);

#endif
