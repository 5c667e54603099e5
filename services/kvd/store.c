/* The keyspace: KV_SHARDS hash tables, each behind its own mutex, so
 * workers touching different keys rarely meet.  A key's shard is the top
 * bits of its hash, its bucket the low bits.  Tables only grow (doubling),
 * which keeps SCAN's bucket cursor exact: a key present for the whole scan
 * is returned at least once.
 *
 * Expiry is an absolute wall-clock millisecond (CLOCK_REALTIME, so it
 * survives a restart through the log).  It is lazy (kv_find drops an
 * expired entry it meets) plus active (kv_expire_cycle samples buckets
 * from the cron thread, as redis's activeExpireCycle does).
 *
 * Memory is accounted per entry (struct, key, value capacity) so INFO and
 * --maxmemory can see it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvd.h"

/* ---- kv_buf ---------------------------------------------------------------- */

static int buf_room(kv_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void kv_buf_put(kv_buf *b, const void *p, size_t n)
{
    if (n == 0 || buf_room(b, n) < 0)
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void kv_buf_free(kv_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void kv_buf_fmt(kv_buf *b, const char *fmt, ...)
{
    va_list ap;
    char tmp[512];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        kv_buf_put(b, tmp, (size_t)n);
        return;
    }
    if (buf_room(b, (size_t)n + 1) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void put_num(kv_buf *b, char c, long long v);
static char *digits(char *end, long long v);

/* "$<n>\r\n" + n bytes + "\r\n" with one room check. */
void kv_buf_bulk(kv_buf *b, const void *p, size_t n)
{
    char t[32];
    char *e = t + sizeof t, *h = e;
    *--h = '\n';
    *--h = '\r';
    h = digits(h, (long long)n);
    *--h = '$';
    size_t hl = (size_t)(e - h);
    if (buf_room(b, hl + n + 2) < 0)
        return;
    char *o = b->p + b->len;
    memcpy(o, h, hl);
    if (n)
        memcpy(o + hl, p, n);
    memcpy(o + hl + n, "\r\n", 2);
    b->len += hl + n + 2;
}

/* The decimal digits of v, right-aligned so they end at `end`; returns
 * where they start (at most 20 bytes before end). */
static char *digits(char *end, long long v)
{
    char *p = end;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

size_t kv_ll2str(char *out, long long v)
{
    char t[24];
    char *p = digits(t + sizeof t, v);
    size_t n = (size_t)(t + sizeof t - p);
    memcpy(out, p, n);
    return n;
}

/* c, then the decimal digits of v, then CRLF: the hot reply headers, without
 * printf. */
static void put_num(kv_buf *b, char c, long long v)
{
    char t[32];
    char *e = t + sizeof t, *p = e;
    *--p = '\n';
    *--p = '\r';
    p = digits(p, v);
    *--p = c;
    kv_buf_put(b, p, (size_t)(e - p));
}

void kv_buf_int(kv_buf *b, long long v) { put_num(b, ':', v); }
void kv_buf_arrhdr(kv_buf *b, size_t n) { put_num(b, '*', (long long)n); }

void kv_buf_cmd(kv_buf *b, size_t argc, const pf_slice *argv)
{
    kv_buf_arrhdr(b, argc);
    for (size_t i = 0; i < argc; i++)
        kv_buf_bulk(b, argv[i].ptr, argv[i].len);
}

/* ---- the store ------------------------------------------------------------- */

int64_t kv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* MurmurHash64A's structure (8 bytes per multiply, unaligned loads by
 * memcpy), then murmur3's final mix so the top bits (the shard) are as
 * well spread as the low ones (the bucket).  Byte-at-a-time FNV-1a cost
 * more than the rest of a GET. */
uint64_t kv_hash(const char *p, size_t n)
{
    const uint64_t m = 0xc6a4a7935bd1e995u;
    uint64_t h = 0x8445d61a4e774912u ^ (n * m);
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        k *= m;
        k ^= k >> 47;
        k *= m;
        h ^= k;
        h *= m;
    }
    if (n) {
        uint64_t k = 0;
        memcpy(&k, p, n); /* the tail, little or big endian alike: any mix does */
        h ^= k;
        h *= m;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    return h;
}

int kv_store_init(kv_store *st)
{
    memset(st, 0, sizeof *st);
    for (int i = 0; i < KV_SHARDS; i++) {
        kv_shard *sh = &st->shard[i];
        pthread_mutex_init(&sh->mu, NULL);
        sh->cap = 16;
        sh->tab = calloc(sh->cap, sizeof *sh->tab);
        if (!sh->tab)
            return -ENOMEM;
        sh->bytes = sh->cap * sizeof *sh->tab;
    }
    return 0;
}

static size_t entry_bytes(const kv_entry *e) { return sizeof *e + e->klen + e->vcap; }

static void entry_free(kv_shard *sh, kv_entry *e)
{
    __atomic_sub_fetch(&sh->bytes, (size_t)(entry_bytes(e)), __ATOMIC_RELAXED);
    if (e->expire >= 0)
        sh->nexpires--;
    sh->n--;
    free(e->val);
    free(e);
}

void kv_shard_clear(kv_store *st, kv_shard *sh)
{
    (void)st;
    for (size_t i = 0; i < sh->cap; i++) {
        kv_entry *e = sh->tab[i];
        while (e) {
            kv_entry *nx = e->next;
            entry_free(sh, e);
            e = nx;
        }
        sh->tab[i] = NULL;
    }
}

void kv_store_free(kv_store *st)
{
    for (int i = 0; i < KV_SHARDS; i++) {
        kv_shard_clear(st, &st->shard[i]);
        free(st->shard[i].tab);
        pthread_mutex_destroy(&st->shard[i].mu);
    }
}

static void unlink_entry(kv_shard *sh, kv_entry *e)
{
    kv_entry **pp = &sh->tab[e->hash & (sh->cap - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
}

kv_entry *kv_lookup(kv_shard *sh, const char *k, size_t kl, uint64_t h)
{
    kv_entry *e = sh->tab[h & (sh->cap - 1)];
    for (; e; e = e->next)
        if (e->hash == h && e->klen == kl && memcmp(e->key, k, kl) == 0)
            break;
    return e;
}

kv_entry *kv_find(kv_store *st, kv_shard *sh, const char *k, size_t kl, uint64_t h)
{
    kv_entry *e = kv_lookup(sh, k, kl, h);
    if (e && e->expire >= 0 && e->expire <= kv_now_ms()) {
        unlink_entry(sh, e);
        entry_free(sh, e);
        __atomic_add_fetch(&st->expired_keys, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    return e;
}

static void grow(kv_shard *sh)
{
    size_t cap = sh->cap * 2;
    kv_entry **t = calloc(cap, sizeof *t);
    if (!t)
        return; /* keep the longer chains */
    for (size_t i = 0; i < sh->cap; i++) {
        kv_entry *e = sh->tab[i];
        while (e) {
            kv_entry *nx = e->next;
            e->next = t[e->hash & (cap - 1)];
            t[e->hash & (cap - 1)] = e;
            e = nx;
        }
    }
    __atomic_add_fetch(&sh->bytes, (size_t)((cap - sh->cap) * sizeof *t), __ATOMIC_RELAXED);
    free(sh->tab);
    sh->tab = t;
    sh->cap = cap;
}

static int set_val(kv_shard *sh, kv_entry *e, const char *v, size_t vl)
{
    if (vl > e->vcap || e->vcap > 2 * vl + 64) {
        size_t cap = vl ? vl : 1;
        char *p = malloc(cap);
        if (!p)
            return -ENOMEM;
        free(e->val);
        __atomic_add_fetch(&sh->bytes, (size_t)(cap), __ATOMIC_RELAXED);
        __atomic_sub_fetch(&sh->bytes, (size_t)(e->vcap), __ATOMIC_RELAXED);
        e->val = p;
        e->vcap = cap;
    }
    memcpy(e->val, v, vl);
    e->vlen = vl;
    return 0;
}

void kv_set_expire(kv_shard *sh, kv_entry *e, int64_t expire)
{
    if ((e->expire >= 0) != (expire >= 0))
        sh->nexpires += expire >= 0 ? 1 : (size_t)-1;
    e->expire = expire;
}

kv_entry *kv_set(kv_store *st, kv_shard *sh, const char *k, size_t kl, uint64_t h,
                 const char *v, size_t vl, int64_t expire)
{
    kv_entry *e = kv_find(st, sh, k, kl, h);
    if (!e) {
        e = malloc(sizeof *e + kl);
        if (!e)
            return NULL;
        memset(e, 0, sizeof *e);
        e->hash = h;
        e->klen = (uint32_t)kl;
        e->expire = -1;
        memcpy(e->key, k, kl);
        if (set_val(sh, e, v, vl) < 0) {
            free(e);
            return NULL;
        }
        __atomic_add_fetch(&sh->bytes, (size_t)(sizeof *e + kl), __ATOMIC_RELAXED);
        sh->n++;
        if (sh->n > sh->cap)
            grow(sh);
        size_t b = h & (sh->cap - 1);
        e->next = sh->tab[b];
        sh->tab[b] = e;
    } else if (set_val(sh, e, v, vl) < 0) {
        return NULL;
    }
    kv_set_expire(sh, e, expire);
    return e;
}

int kv_append(kv_store *st, kv_shard *sh, kv_entry *e, const char *v, size_t vl)
{
    (void)st;
    if (e->vlen + vl > e->vcap) {
        size_t cap = (e->vlen + vl) * 2;
        char *p = realloc(e->val, cap);
        if (!p)
            return -ENOMEM;
        __atomic_add_fetch(&sh->bytes, (size_t)(cap - e->vcap), __ATOMIC_RELAXED);
        e->val = p;
        e->vcap = cap;
    }
    memcpy(e->val + e->vlen, v, vl);
    e->vlen += vl;
    return 0;
}

int kv_del(kv_store *st, kv_shard *sh, const char *k, size_t kl, uint64_t h)
{
    kv_entry *e = kv_find(st, sh, k, kl, h);
    if (!e)
        return 0;
    unlink_entry(sh, e);
    entry_free(sh, e);
    return 1;
}

size_t kv_used_memory(kv_store *st)
{
    size_t n = sizeof *st;
    for (int i = 0; i < KV_SHARDS; i++)
        n += __atomic_load_n(&st->shard[i].bytes, __ATOMIC_RELAXED);
    return n;
}

size_t kv_expire_cycle(kv_store *st, size_t n)
{
    int64_t now = kv_now_ms();
    size_t gone = 0;
    for (int i = 0; i < KV_SHARDS; i++) {
        kv_shard *sh = &st->shard[i];
        pthread_mutex_lock(&sh->mu);
        for (size_t k = 0; k < n && sh->nexpires; k++) {
            size_t b = sh->sample_at++ & (sh->cap - 1);
            kv_entry **pp = &sh->tab[b];
            while (*pp) {
                kv_entry *e = *pp;
                if (e->expire >= 0 && e->expire <= now) {
                    *pp = e->next;
                    entry_free(sh, e);
                    gone++;
                } else {
                    pp = &e->next;
                }
            }
        }
        pthread_mutex_unlock(&sh->mu);
    }
    __atomic_add_fetch(&st->expired_keys, gone, __ATOMIC_RELAXED);
    return gone;
}
