/* mcd's store: shards of a hash table with an LRU list each.
 *
 * A shard's share of the memory limit is what its LRU evicts against, so a
 * store stays within max_bytes however keys fall.  The number of shards is
 * chosen so that a share still holds several of the largest items: with a
 * small -m there are fewer shards, never a share too small for one item.
 * Expiry is lazy (an expired item is dropped when it is next looked at, or
 * evicted) as memcached does without its crawler. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcd_impl.h"

#define MAX_SHARDS 16
#define MIN_BUCKETS 64

int64_t pf__mcd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t pf__mcd_realtime(int64_t exptime, int64_t now)
{
    if (exptime == 0)
        return 0;
    if (exptime < 0)
        return 1; /* long past */
    if (exptime > 2592000)
        return exptime <= now ? 1 : exptime;
    return now + exptime;
}

/* FNV-1a with a final mix: keys are short and hostile clients pick them;
 * a shard is chosen from the high bits, a bucket from the low ones. */
uint64_t pf__mcd_hash(const char *key, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

mc_shard *pf__mcd_shard(pf_mcd *m, uint64_t hash)
{
    return &m->shards[(hash >> 48) % m->nshards];
}

static int dead(pf_mcd *m, const mc_item *it, int64_t now)
{
    int64_t ol = atomic_load_explicit(&m->oldest_live, memory_order_relaxed);
    return (it->exptime && it->exptime <= now) ||
           it->cas <= atomic_load_explicit(&m->flush_cas, memory_order_relaxed) ||
           (ol && ol <= now && it->time <= ol);
}

static void lru_remove(mc_shard *s, mc_item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        s->head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        s->tail = it->prev;
    it->prev = it->next = NULL;
}

static void lru_push(mc_shard *s, mc_item *it)
{
    it->prev = NULL;
    it->next = s->head;
    if (s->head)
        s->head->prev = it;
    s->head = it;
    if (!s->tail)
        s->tail = it;
}

void pf__mcd_bump(mc_shard *s, mc_item *it)
{
    if (s->head != it) {
        lru_remove(s, it);
        lru_push(s, it);
    }
}

void pf__mcd_unlink(mc_shard *s, mc_item *it)
{
    mc_item **pp = &s->buckets[it->hash & (s->nbuckets - 1)];
    while (*pp != it)
        pp = &(*pp)->hnext;
    *pp = it->hnext;
    lru_remove(s, it);
    s->count--;
    s->bytes -= mc_size(it->nkey, it->nval);
    free(it);
}

mc_item *pf__mcd_find(pf_mcd *m, mc_shard *s, uint64_t hash, const char *key, size_t n,
                      int64_t now)
{
    for (mc_item *it = s->buckets[hash & (s->nbuckets - 1)]; it; it = it->hnext) {
        if (it->hash != hash || it->nkey != n || memcmp(it->data, key, n) != 0)
            continue;
        if (dead(m, it, now)) {
            pf__mcd_unlink(s, it);
            return NULL;
        }
        return it;
    }
    return NULL;
}

mc_item *pf__mcd_alloc(uint64_t hash, const char *key, size_t nkey, size_t nval)
{
    mc_item *it = malloc(mc_size(nkey, nval));
    if (!it)
        return NULL;
    memset(it, 0, sizeof(*it));
    it->hash = hash;
    it->nkey = (uint32_t)nkey;
    it->nval = (uint32_t)nval;
    memcpy(it->data, key, nkey);
    return it;
}

/* Double the buckets when chains grow past two on average. */
static void grow(mc_shard *s)
{
    size_t nb = s->nbuckets * 2;
    mc_item **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++)
        for (mc_item *it = s->buckets[i], *next; it; it = next) {
            next = it->hnext;
            it->hnext = b[it->hash & (nb - 1)];
            b[it->hash & (nb - 1)] = it;
        }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

int pf__mcd_link(pf_mcd *m, mc_shard *s, mc_item *it)
{
    size_t need = mc_size(it->nkey, it->nval);
    while (s->bytes + need > s->limit && s->tail) {
        pf__mcd_unlink(s, s->tail);
        atomic_fetch_add_explicit(&m->evictions, 1, memory_order_relaxed);
    }
    if (s->bytes + need > s->limit) {
        free(it);
        return -ENOMEM;
    }
    if (s->count >= 2 * s->nbuckets)
        grow(s);
    mc_item **b = &s->buckets[it->hash & (s->nbuckets - 1)];
    it->hnext = *b;
    *b = it;
    lru_push(s, it);
    s->count++;
    s->bytes += need;
    return 0;
}

pf_mcd *pf_mcd_new(const pf_mcd_conf *conf)
{
    pf_mcd *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->max_bytes = conf && conf->max_bytes ? conf->max_bytes : PF_MCD_MAX_BYTES_DEFAULT;
    m->max_item = conf && conf->max_item ? conf->max_item : (1u << 20);
    size_t n = m->max_bytes / (4 * m->max_item);
    m->nshards = n < 1 ? 1 : n > MAX_SHARDS ? MAX_SHARDS : (unsigned)n;
    m->started = pf__mcd_now();
    m->shards = calloc(m->nshards, sizeof(*m->shards));
    if (!m->shards) {
        free(m);
        return NULL;
    }
    for (unsigned i = 0; i < m->nshards; i++) {
        mc_shard *s = &m->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->nbuckets = MIN_BUCKETS;
        s->limit = m->max_bytes / m->nshards;
        s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
        if (!s->buckets) {
            m->nshards = i + 1;
            pf_mcd_free(m);
            return NULL;
        }
    }
    return m;
}

void pf_mcd_free(pf_mcd *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->nshards; i++) {
        mc_shard *s = &m->shards[i];
        while (s->head)
            pf__mcd_unlink(s, s->head);
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(m->shards);
    free(m);
}

void pf_mcd_stats_get(pf_mcd *m, pf_mcd_stats *o)
{
    memset(o, 0, sizeof(*o));
    for (unsigned i = 0; i < m->nshards; i++) {
        mc_shard *s = &m->shards[i];
        pthread_mutex_lock(&s->mu);
        o->curr_items += s->count;
        o->bytes += s->bytes;
        pthread_mutex_unlock(&s->mu);
    }
#define LD(f) atomic_load_explicit(&m->f, memory_order_relaxed)
    o->limit_maxbytes = m->max_bytes;
    o->evictions = LD(evictions);
    o->cmd_get = LD(cmd_get);
    o->get_hits = LD(get_hits);
    o->get_misses = LD(get_misses);
    o->cmd_set = LD(cmd_set);
    o->cmd_touch = LD(cmd_touch);
    o->curr_connections = LD(curr_conns);
    o->total_connections = LD(total_conns);
#undef LD
}

void pf_mcd_stats_reset(pf_mcd *m)
{
#define ZERO(f) atomic_store_explicit(&m->f, 0, memory_order_relaxed)
    ZERO(evictions);
    ZERO(cmd_get);
    ZERO(get_hits);
    ZERO(get_misses);
    ZERO(cmd_set);
    ZERO(cmd_touch);
    ZERO(total_conns);
#undef ZERO
}
