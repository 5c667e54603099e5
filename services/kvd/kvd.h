/* kvd: a durable key-value server that redis clients use unchanged.
 *
 * Modules (services/kvd): store.c (the sharded keyspace and expiry),
 * aof.c (the append-only log: group commit, fsync policies, full disk,
 * rewrite, replay, --check-aof), cmd_string.c (the string commands and
 * their log records), cmd_keyspace.c (keyspace and server commands, the
 * command table), cmd_run.c (running commands: the handlers of kvd.fsm's
 * session table, before_send), cmd_impl.h (their private header);
 * examples/kvd/main.c (options, start-up, the cron thread).  See main.c
 * for the command line and the limits. */
#ifndef KVD_H
#define KVD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "protofsm/service.h"

/* ---- a growable byte buffer for replies and log records ------------------ */

typedef struct kv_buf {
    char *p;
    size_t len, cap;
    int oom;            /* an allocation failed: the content is truncated */
} kv_buf;

void kv_buf_put(kv_buf *b, const void *p, size_t n);
void kv_buf_free(kv_buf *b);
void kv_buf_fmt(kv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* RESP pieces. */
void kv_buf_bulk(kv_buf *b, const void *p, size_t n);
void kv_buf_int(kv_buf *b, long long v);
void kv_buf_arrhdr(kv_buf *b, size_t n);
/* The decimal text of v into out (at least 20 bytes); its length. */
size_t kv_ll2str(char *out, long long v);
/* A multibulk command from argv (the AOF record format). */
void kv_buf_cmd(kv_buf *b, size_t argc, const pf_slice *argv);

/* ---- the keyspace ----------------------------------------------------------- */

#define KV_SHARDS 64     /* power of two, <= 64 (a lock mask is one word) */

typedef struct kv_entry {
    struct kv_entry *next;
    uint64_t hash;
    int64_t expire;      /* absolute ms since the epoch; -1: none */
    char *val;
    size_t vlen, vcap;
    uint32_t klen;
    char key[];
} kv_entry;

typedef struct kv_shard {
    pthread_mutex_t mu;
    kv_entry **tab;
    size_t cap, n, nexpires;
    size_t bytes;        /* accounted memory of this shard */
    size_t sample_at;    /* active expiry's next bucket */
    uint64_t hits, misses; /* keyspace lookups, under mu */
    char pad[64];
} kv_shard;

typedef struct kv_store {
    kv_shard shard[KV_SHARDS];
    size_t maxmemory;    /* 0: no limit */
    uint64_t expired_keys; /* atomic */
} kv_store;

int kv_store_init(kv_store *st);
void kv_store_free(kv_store *st);
uint64_t kv_hash(const char *p, size_t n);
static inline unsigned kv_shard_of(uint64_t h) { return (unsigned)(h >> 58) & (KV_SHARDS - 1); }
int64_t kv_now_ms(void);

/* Lookups and edits on a shard the caller has locked.  kv_find treats an
 * expired entry as absent and removes it (lazy expiry). */
kv_entry *kv_find(kv_store *st, kv_shard *sh, const char *k, size_t kl, uint64_t h);
/* The entry even if expired (replay). */
kv_entry *kv_lookup(kv_shard *sh, const char *k, size_t kl, uint64_t h);
/* Create or overwrite: the value is copied; expire as given.  NULL on ENOMEM. */
kv_entry *kv_set(kv_store *st, kv_shard *sh, const char *k, size_t kl, uint64_t h,
                 const char *v, size_t vl, int64_t expire);
int kv_append(kv_store *st, kv_shard *sh, kv_entry *e, const char *v, size_t vl);
int kv_del(kv_store *st, kv_shard *sh, const char *k, size_t kl, uint64_t h);
void kv_set_expire(kv_shard *sh, kv_entry *e, int64_t expire);
void kv_shard_clear(kv_store *st, kv_shard *sh);
size_t kv_used_memory(kv_store *st); /* racy sum, for INFO and maxmemory */
/* Active expiry: sample up to `n` buckets of each shard (locking each),
 * deleting expired keys; returns the number deleted. */
size_t kv_expire_cycle(kv_store *st, size_t n);

/* ---- the append-only log ---------------------------------------------------- */

typedef enum { KV_FSYNC_ALWAYS, KV_FSYNC_EVERYSEC, KV_FSYNC_NO } kv_fsync;

typedef struct kv_aof kv_aof;

/* Open DIR/appendonly.aof and replay it into st (a torn tail is cut, with
 * a warning on stderr).  0 or -errno; err gets a message. */
int kv_aof_open(kv_aof **out, kv_store *st, const char *dir, kv_fsync pol,
                size_t rewrite_min, char *err, size_t errlen);
/* Write what is pending, fsync and close (after the server stopped). */
void kv_aof_close(kv_aof *a);
/* kvd --check-aof: check the file at path (and with fix, cut it back to
 * its last whole record), reporting to out.  The exit status: 0 valid or
 * fixed, 1 not. */
int kv_aof_check(const char *path, int fix, FILE *out);

/* One command's log operations, collected while its shards are locked. */
typedef struct kv_ops {
    kv_buf rec;             /* the records, multibulk */
    size_t n;               /* operations */
    size_t *end;            /* [n]: end offset of op i in rec */
    uint8_t *shard;         /* [n]: its shard, 0xff: every shard (FLUSHALL) */
    size_t cap;
} kv_ops;
void kv_ops_add(kv_ops *o, unsigned shard, size_t argc, const pf_slice *argv);
void kv_ops_reset(kv_ops *o);
void kv_ops_free(kv_ops *o);

/* Before a write command touches the keyspace: 0 when records of about
 * `bytes` can be logged (the file's space is reserved ahead), else the
 * log's error (-ENOSPC ...), and the command must be refused (MISCONF).
 * Any thread. */
int kv_aof_admit(kv_aof *a, size_t bytes);
/* The log's error (-errno, 0 when healthy) and its text (NULL when
 * healthy). */
const char *kv_aof_error(kv_aof *a, int *err);
/* Append a command's operations as one unit (wrapped in MULTI/EXEC when
 * more than one), while the caller still holds the shards' locks, so the
 * log's order is the keyspace's.  Returns a ticket for kv_aof_sync. */
uint64_t kv_aof_append(kv_aof *a, const kv_ops *o);
/* Tickets issued so far: what a reader may have seen. */
uint64_t kv_aof_appended(kv_aof *a);
/* Block until every byte up to ticket `need` is in the kernel (everysec,
 * no) or on disk (always), writing it (and everyone else's pending bytes)
 * if nobody is (group commit).  0, or -errno when the log failed; a
 * `reader` (need is what it may have seen, not its own) gets 0 at once
 * while the log fails. */
int kv_aof_sync(kv_aof *a, uint64_t need, int reader);
/* Cron: fsync once a second (everysec), start a rewrite when the log grew
 * past max(rewrite_min, 2 x its size after the last rewrite). */
void kv_aof_cron(kv_aof *a);
/* Start a rewrite now (if none runs); 0 or -EBUSY. */
int kv_aof_rewrite(kv_aof *a);
typedef struct kv_aof_info {
    uint64_t size, base_size, rewrites, rewrites_cancelled, torn_cut;
    int rewriting, last_error;
} kv_aof_info;
void kv_aof_info_get(kv_aof *a, kv_aof_info *out);

/* Apply one logged operation (replay; no locking, single thread; no lazy
 * expiry: see aof.c).  st NULL only checks it.  0, or -EINVAL for an
 * operation kvd never writes. */
int kv_apply_op(kv_store *st, size_t argc, const pf_slice *argv);

/* a == b (the secret) in a time independent of where they differ. */
int kv_secret_eq(const char *a, size_t al, const char *b, size_t bl);

/* ---- the service ----------------------------------------------------------- */

typedef struct kv_server {
    kv_store store;
    kv_aof *aof;             /* NULL: --appendonly no */
    const char *requirepass; /* NULL: none */
    const char *dir;         /* --dir, --appendfsync: for CONFIG GET */
    const char *appendfsync;
    const char *timeout;     /* seconds, for CONFIG GET timeout */
    uint64_t start_ms;
    uint64_t conns;          /* atomic */
    void *srv;               /* the pf_server, for INFO's counters */
} kv_server;

extern kv_server kvd;

/* The kvd service: RESP (protocols/resp.rl) with kvd.fsm's table over the
 * one process-wide store above (pf_listen_conf.data is unused). */
extern const pf_service pf_kvd_service;
/* Its listeners' before_send (pf_listen_conf): a run's replies wait until
 * the log has what they acknowledge or saw (aof.c). */
int pf_kvd_before_send(pf_session *s);

#endif
