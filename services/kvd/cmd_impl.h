/* Private to kvd's command files (cmd_string.c, cmd_keyspace.c,
 * cmd_run.c): the per-connection client, the per-command context, locking
 * the keys' shards, reply helpers and the command table's shape.  Not
 * installed, not for other services. */
#ifndef KVD_CMD_IMPL_H
#define KVD_CMD_IMPL_H

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "kvd.h"
#include "kvd_fsm.h" /* RESP_EV_*, RESP_NEVENTS */
#include "resp.h"

#define MULTI_MAX_BYTES (64u << 20) /* queued commands per transaction */
#define CLIENT_NAME_MAX 1024

/* Every connection holds one, idle or not: packed to the 64 bytes it
 * needs (MULTI_MAX_BYTES keeps nqueued far below 2^32). */
typedef struct kv_client {
    uint64_t id;
    char *name;
    kv_buf queue;        /* MULTI: queued commands, multibulk */
    uint64_t need;       /* log bytes to be written before our replies go */
    unsigned nqueued;
    uint8_t dirty;       /* an error while queueing: EXEC aborts */
    uint8_t queued_write; /* a write command is queued */
    uint8_t own;         /* need covers records of our own writes */
} kv_client;

typedef struct kv_ctx {
    kv_store *st;
    kv_client *cl;
    kv_buf out;
    kv_ops ops;
    int all_locked;
    uint64_t locked;     /* shard mask held */
    int close;
} kv_ctx;

/* ---- locking ---------------------------------------------------------------- */

static inline void lock_mask(kv_ctx *c, uint64_t mask)
{
    if (c->all_locked)
        return;
    mask &= ~c->locked;
    for (uint64_t m = mask; m; m &= m - 1) /* ascending, set bits only */
        pthread_mutex_lock(&c->st->shard[__builtin_ctzll(m)].mu);
    c->locked |= mask;
}

static inline void unlock_all(kv_ctx *c)
{
    for (uint64_t m = c->locked; m; m &= m - 1)
        pthread_mutex_unlock(&c->st->shard[__builtin_ctzll(m)].mu);
    c->locked = 0;
}

/* Lock the shards of argv[first], argv[first+step] ... argv[argc-1]. */
static inline void lock_keys(kv_ctx *c, size_t argc, const pf_slice *av, size_t first, size_t step)
{
    uint64_t m = 0;
    for (size_t i = first; i < argc; i += step)
        m |= 1ull << kv_shard_of(kv_hash(av[i].ptr, av[i].len));
    lock_mask(c, m);
}

static inline void lock_every(kv_ctx *c) { lock_mask(c, KV_SHARDS == 64 ? ~0ull : (1ull << KV_SHARDS) - 1); }

typedef struct { kv_shard *sh; uint64_t h; } kref;
static inline kref ref(kv_ctx *c, pf_slice k)
{
    uint64_t h = kv_hash(k.ptr, k.len);
    return (kref){ &c->st->shard[kv_shard_of(h)], h };
}
/* Hash once, lock the key's shard: the reference for findr and kv_set. */
static inline kref lock1(kv_ctx *c, pf_slice k)
{
    kref r = ref(c, k);
    lock_mask(c, 1ull << (r.sh - c->st->shard));
    return r;
}
static inline kv_entry *findr(kv_ctx *c, kref r, pf_slice k)
{
    kv_entry *e = kv_find(c->st, r.sh, k.ptr, k.len, r.h);
    if (e)
        r.sh->hits++;
    else
        r.sh->misses++;
    return e;
}
static inline kv_entry *find(kv_ctx *c, pf_slice k) { return findr(c, ref(c, k), k); }
static inline unsigned shard_idx(kv_ctx *c, kref r) { return (unsigned)(r.sh - c->st->shard); }

/* ---- replies ---------------------------------------------------------------- */

static inline void ok(kv_ctx *c) { kv_buf_put(&c->out, "+OK\r\n", 5); }
static inline void nil(kv_ctx *c) { kv_buf_put(&c->out, "$-1\r\n", 5); }
static inline void err(kv_ctx *c, const char *e) { kv_buf_fmt(&c->out, "-%s\r\n", e); }
static const char E_INT[] = "ERR value is not an integer or out of range";
static const char E_SYNTAX[] = "ERR syntax error";
static const char E_OOM[] = "OOM command not allowed when used memory > 'maxmemory'.";

static inline void lower(char *d, pf_slice s, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)(s.ptr[i] >= 'A' && s.ptr[i] <= 'Z' ? s.ptr[i] + 32 : s.ptr[i]);
    d[n] = 0;
}

static inline int eq(pf_slice s, const char *lit) { return s.len == strlen(lit) && !strncasecmp(s.ptr, lit, s.len); }

/* ---- shared between the command files ------------------------------------ */

/* redis's string2ll: no blanks, no '+', no leading zeros.  0 or -1. */
int kv__to_ll(pf_slice s, long long *v);
/* "-ERR wrong number of arguments for 'name[|sub]' command" */
void kv__arity_err(kv_buf *out, pf_slice name, const char *sub);
/* With --maxmemory passed: the OOM error, 1; else 0. */
int kv__oom(kv_ctx *c);
/* CR and LF from `from` on become spaces (error texts quoting clients). */
void kv__sanitize(kv_buf *b, size_t from);
/* redis's stringmatchlen (polynomial): 1 when s matches pattern p. */
int kv__glob(const char *p, size_t pl, const char *s, size_t sl);
/* AUTH and HELLO, also run inside EXEC: 1 when they authenticated. */
int kv__do_auth(kv_ctx *c, size_t argc, const pf_slice *av);
int kv__do_hello(kv_ctx *c, size_t argc, const pf_slice *av, int authed);

typedef void cmd_fn(kv_ctx *c, size_t argc, const pf_slice *av);
typedef struct cmd_def {
    const char *name;
    int arity;           /* redis's: n exact, -n at least n */
    cmd_fn *fn;          /* NULL: the session machine runs it (MULTI ...) */
    int write;           /* changes the keyspace: logged, refused while the log fails */
} cmd_def;
/* Indexed by RESP event (cmd_keyspace.c). */
extern const cmd_def kv__cmds[RESP_NEVENTS];

/* The commands (cmd_string.c, cmd_keyspace.c), for the table. */
#define KV__COMMANDS(X) X(ping) X(echo) X(get) X(set) X(setnx) X(getset) X(mget) X(mset) \
    X(del) X(exists) X(incr) X(decr) X(incrby) X(decrby) X(append) X(strlen) X(expire)  \
    X(pexpire) X(ttl) X(pttl) X(persist) X(type) X(keys) X(scan) X(dbsize) X(flush)     \
    X(select) X(quit) X(info) X(command) X(client) X(config) X(auth) X(hello)
#define KV__CMD_DECLARE(n) void kv__cmd_##n(kv_ctx *c, size_t argc, const pf_slice *av);
KV__COMMANDS(KV__CMD_DECLARE)

#endif
