/* The append-only log: DIR/appendonly.aof, a sequence of RESP multibulk
 * records that kvd's own parser (protocols/resp) reads back.
 *
 * Records are canonical, idempotent where it matters: SET k v [PXAT ms |
 * KEEPTTL], APPEND k s, DEL k, PEXPIREAT k ms, PERSIST k, FLUSHALL.  A
 * command that makes several is wrapped in MULTI ... EXEC so it replays
 * whole or not at all.  Expired keys need no record: a key expired when it
 * was last touched is expired at any later replay too.
 *
 * Appending (kv_aof_append) copies into a pending buffer under `mu` while
 * the caller still holds its shard locks, so the log's order per key is
 * the order the keyspace saw.  One writer thread swaps the buffer out and
 * write()s it.  With appendfsync always it fdatasync()s before advancing
 * `synced`, and handlers wait for their ticket (group commit: one fsync
 * covers every waiter); an appender wakes an idle writer at once.  With
 * everysec and no nobody waits, so the writer gathers: woken by the first
 * record after a quiet spell, it naps GATHER_MS (or until BATCH_BYTES are
 * pending) and writes everything in one write(), again and again while
 * records keep coming, without a wake-up per command (a futex call per
 * command and a writer thread spinning on tiny writes cost more than the
 * commands themselves).  So a kill -9 loses at most the last GATHER_MS of
 * acknowledged writes; everysec fsyncs from the cron once a second (a
 * power loss loses about a second, as with redis); no never fsyncs.
 * The pending buffer is bounded (PENDING_MAX): appenders wait when the
 * disk falls behind.
 *
 * Rewrite (compaction) without stopping clients: a thread snapshots the
 * shards one at a time, each under its own lock only, into a temp file.
 * Once shard i is snapshotted, records touching it also go to a side
 * buffer (per operation, by its shard), so each key's history is its
 * snapshot plus what followed it.  The writer thread does the switch: in
 * one step under `mu` it takes the pending bytes (written to the old file)
 * and the side buffer (written to the new one), then fsyncs, renames and
 * continues on the new file.  A FLUSHALL during a rewrite cancels it.
 *
 * Replay parses the file with pf_resp_protocol.  A torn tail (a record,
 * or a MULTI block, cut by a crash mid-write) is truncated away with a
 * warning; anything else malformed stops the start. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvd.h"
#include "resp.h"

#define PENDING_MAX (64u << 20)
#define GATHER_MS 2            /* everysec, no: how long records gather */
#define BATCH_BYTES (1u << 20) /* ... unless this many are pending */

struct kv_aof {
    kv_store *st;
    kv_fsync pol;
    char path[4096], tmp[4096];
    int fd;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    kv_buf pending;
    uint64_t appended;       /* bytes ever appended (tickets) */
    uint64_t written, synced;
    uint64_t size, base_size, rewrite_min;
    int err, stop;
    int idle;                /* the writer waits on `wake`, nothing pending */
    int napping;             /* the writer gathers records (everysec, no) */
    int64_t last_fsync;
    /* rewrite */
    int rewriting, cancel, switch_ready, tmpfd;
    uint8_t snapped[KV_SHARDS];  /* under the shard's lock */
    kv_buf side;
    uint64_t rewrites, cancelled, torn;
    pthread_t writer, rw;
    int rw_joinable;
};

/* ---- ops ----------------------------------------------------------------- */

void kv_ops_add(kv_ops *o, unsigned shard, size_t argc, const pf_slice *argv)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        size_t *e = realloc(o->end, cap * sizeof *e);
        if (e)
            o->end = e;
        uint8_t *s = realloc(o->shard, cap);
        if (s)
            o->shard = s;
        if (!e || !s) {
            o->rec.oom = 1;
            return;
        }
        o->cap = cap;
    }
    kv_buf_cmd(&o->rec, argc, argv);
    o->end[o->n] = o->rec.len;
    o->shard[o->n++] = (uint8_t)shard;
}

void kv_ops_reset(kv_ops *o)
{
    o->rec.len = 0;
    o->rec.oom = 0;
    o->n = 0;
}

void kv_ops_free(kv_ops *o)
{
    kv_buf_free(&o->rec);
    free(o->end);
    free(o->shard);
    memset(o, 0, sizeof *o);
}

static const char MULTI_REC[] = "*1\r\n$5\r\nMULTI\r\n";
static const char EXEC_REC[] = "*1\r\n$4\r\nEXEC\r\n";

static void put_ops(kv_buf *b, const kv_ops *o, const uint8_t *only)
{
    size_t n = 0;
    for (size_t i = 0; i < o->n; i++)
        n += !only || o->shard[i] == 0xff || only[o->shard[i]];
    if (n == 0)
        return;
    if (n > 1)
        kv_buf_put(b, MULTI_REC, sizeof MULTI_REC - 1);
    for (size_t i = 0, from = 0; i < o->n; from = o->end[i++])
        if (!only || o->shard[i] == 0xff || only[o->shard[i]])
            kv_buf_put(b, o->rec.p + from, o->end[i] - from);
    if (n > 1)
        kv_buf_put(b, EXEC_REC, sizeof EXEC_REC - 1);
}

uint64_t kv_aof_append(kv_aof *a, const kv_ops *o)
{
    if (o->n == 0)
        return 0;
    pthread_mutex_lock(&a->mu);
    while (a->pending.len > PENDING_MAX && !a->err)
        pthread_cond_wait(&a->done, &a->mu);
    size_t before = a->pending.len;
    put_ops(&a->pending, o, NULL);
    if (a->pending.oom)
        a->err = -ENOMEM;
    if (a->rewriting) {
        for (size_t i = 0; i < o->n; i++)
            if (o->shard[i] == 0xff)
                a->cancel = 1;
        if (!a->cancel)
            put_ops(&a->side, o, a->snapped);
    }
    a->appended += a->pending.len - before;
    uint64_t t = a->appended;
    /* A busy or napping writer takes what accumulated when it is done: no
     * wake-up (and no futex call) per command, one write() per batch. */
    if (a->idle || (a->napping && before < BATCH_BYTES && a->pending.len >= BATCH_BYTES))
        pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    return t;
}

int kv_aof_wait(kv_aof *a, uint64_t ticket)
{
    if (a->pol != KV_FSYNC_ALWAYS || ticket == 0)
        return 0;
    pthread_mutex_lock(&a->mu);
    while (a->synced < ticket && !a->err)
        pthread_cond_wait(&a->done, &a->mu);
    int e = a->err;
    pthread_mutex_unlock(&a->mu);
    return e ? -EIO : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- the writer ----------------------------------------------------------- */

static void finish_switch(kv_aof *a, kv_buf *side)
{
    int rc = write_all(a->tmpfd, side->p, side->len);
    if (rc == 0 && fdatasync(a->tmpfd) < 0)
        rc = -errno;
    if (rc == 0 && rename(a->tmp, a->path) < 0)
        rc = -errno;
    if (rc < 0) {
        fprintf(stderr, "kvd: AOF rewrite failed: %s (keeping the old log)\n", strerror(-rc));
        close(a->tmpfd);
        unlink(a->tmp);
        return;
    }
    struct stat sb;
    uint64_t sz = fstat(a->tmpfd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    pthread_mutex_lock(&a->mu);
    close(a->fd);
    a->fd = a->tmpfd;
    a->size = a->base_size = sz;
    a->rewrites++;
    pthread_mutex_unlock(&a->mu);
}

/* everysec, no: let records accumulate for GATHER_MS (mu held). */
static void gather(kv_aof *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += GATHER_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    a->napping = 1;
    while (!a->stop && !a->switch_ready && a->pending.len < BATCH_BYTES)
        if (pthread_cond_timedwait(&a->wake, &a->mu, &ts) == ETIMEDOUT)
            break;
    a->napping = 0;
}

static void *writer_main(void *arg)
{
    kv_aof *a = arg;
    kv_buf mine = { 0 }, side = { 0 };
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->pending.len && !a->stop && !a->switch_ready) {
            a->idle = 1;
            pthread_cond_wait(&a->wake, &a->mu);
            a->idle = 0;
        }
        if (!a->pending.len && a->stop)
            break;
        if (a->pol != KV_FSYNC_ALWAYS)
            gather(a);
        kv_buf t = a->pending;
        a->pending = mine;
        mine = t;
        uint64_t upto = a->appended;
        int sw = a->switch_ready, cancel = a->cancel;
        if (sw) {
            t = a->side;
            a->side = side;
            side = t;
            a->switch_ready = 0;
        }
        pthread_mutex_unlock(&a->mu);
        int rc = write_all(a->fd, mine.p, mine.len);
        if (rc == 0 && a->pol == KV_FSYNC_ALWAYS && fdatasync(a->fd) < 0)
            rc = -errno;
        uint64_t wrote = mine.len;
        mine.len = 0;
        if (sw) {
            if (!cancel && rc == 0)
                finish_switch(a, &side);
            else {
                close(a->tmpfd);
                unlink(a->tmp);
            }
            side.len = 0;
        }
        pthread_mutex_lock(&a->mu);
        if (sw) {
            a->cancelled += cancel;
            a->rewriting = 0;
        }
        if (rc < 0 && !a->err) {
            fprintf(stderr, "kvd: AOF write failed: %s\n", strerror(-rc));
            a->err = rc;
        }
        a->written = upto;
        a->size += sw && !cancel ? 0 : wrote;
        if (a->pol == KV_FSYNC_ALWAYS)
            a->synced = upto;
        pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->mu);
    kv_buf_free(&mine);
    kv_buf_free(&side);
    return NULL;
}

/* ---- rewrite -------------------------------------------------------------- */

static void snapshot_entry(kv_buf *b, const kv_entry *e)
{
    char ms[24];
    size_t n = e->expire >= 0 ? kv_ll2str(ms, e->expire) : 0;
    pf_slice av[5] = { { "SET", 3 }, { e->key, e->klen }, { e->val, e->vlen },
                       { "PXAT", 4 }, { ms, n } };
    kv_buf_cmd(b, e->expire >= 0 ? 5 : 3, av);
}

static void *rewrite_main(void *arg)
{
    kv_aof *a = arg;
    kv_buf b = { 0 };
    int rc = 0;
    int64_t now = kv_now_ms();
    for (int i = 0; i < KV_SHARDS && rc == 0; i++) {
        kv_shard *sh = &a->st->shard[i];
        pthread_mutex_lock(&sh->mu);
        for (size_t k = 0; k < sh->cap; k++)
            for (kv_entry *e = sh->tab[k]; e; e = e->next)
                if (e->expire < 0 || e->expire > now)
                    snapshot_entry(&b, e);
        pthread_mutex_lock(&a->mu);
        a->snapped[i] = 1;
        int cancel = a->cancel;
        pthread_mutex_unlock(&a->mu);
        pthread_mutex_unlock(&sh->mu);
        if (b.oom)
            rc = -ENOMEM;
        else
            rc = write_all(a->tmpfd, b.p, b.len);
        b.len = 0;
        if (cancel)
            break;
    }
    kv_buf_free(&b);
    pthread_mutex_lock(&a->mu);
    if (rc < 0)
        a->cancel = 1;
    a->switch_ready = 1;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int kv_aof_rewrite(kv_aof *a)
{
    pthread_mutex_lock(&a->mu);
    if (a->rewriting || a->err) {
        pthread_mutex_unlock(&a->mu);
        return -EBUSY;
    }
    if (a->rw_joinable) {
        pthread_join(a->rw, NULL);
        a->rw_joinable = 0;
    }
    a->tmpfd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (a->tmpfd < 0) {
        int e = -errno;
        pthread_mutex_unlock(&a->mu);
        return e;
    }
    memset(a->snapped, 0, sizeof a->snapped);
    a->side.len = 0;
    a->cancel = 0;
    a->rewriting = 1;
    /* snapped[] is read by appenders under mu, set by the thread under mu */
    if (pthread_create(&a->rw, NULL, rewrite_main, a) != 0) {
        a->rewriting = 0;
        close(a->tmpfd);
        unlink(a->tmp);
        pthread_mutex_unlock(&a->mu);
        return -EAGAIN;
    }
    a->rw_joinable = 1;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

void kv_aof_cron(kv_aof *a)
{
    int64_t now = kv_now_ms();
    if (a->pol == KV_FSYNC_EVERYSEC && now - a->last_fsync >= 1000) {
        a->last_fsync = now;
        pthread_mutex_lock(&a->mu);
        uint64_t upto = a->written;
        int fd = a->fd;
        pthread_mutex_unlock(&a->mu);
        /* The writer may switch files meanwhile; fsyncing the old one is
         * harmless (the switch fsyncs the new one itself). */
        if (fdatasync(fd) == 0) {
            pthread_mutex_lock(&a->mu);
            if (a->synced < upto)
                a->synced = upto;
            pthread_mutex_unlock(&a->mu);
        }
    }
    pthread_mutex_lock(&a->mu);
    int go = !a->rewriting && a->size > a->rewrite_min && a->size > 2 * a->base_size;
    pthread_mutex_unlock(&a->mu);
    if (go)
        kv_aof_rewrite(a);
}

void kv_aof_info_get(kv_aof *a, kv_aof_info *o)
{
    pthread_mutex_lock(&a->mu);
    o->size = a->size;
    o->base_size = a->base_size;
    o->rewrites = a->rewrites;
    o->rewrites_cancelled = a->cancelled;
    o->torn_cut = a->torn;
    o->rewriting = a->rewriting;
    o->last_error = a->err;
    pthread_mutex_unlock(&a->mu);
}

/* ---- replay --------------------------------------------------------------- */

/* Replay buf[0, n); returns the length of the good prefix (records and
 * whole MULTI blocks), or -1 on a malformed record (err filled). */
static long long replay(kv_store *st, const char *buf, size_t n, char *err, size_t errlen)
{
    static _Alignas(max_align_t) char parser[4096];
    if (pf_resp_protocol.parser_size > sizeof parser)
        abort();
    pf_resp_protocol.parser_init(parser, NULL);
    size_t at = 0, good = 0, nav = 0;
    pf_slice *av = NULL;
    /* ops of an open MULTI block are applied at its EXEC */
    size_t block = 0;
    int in_multi = 0;
    for (;;) {
        pf_resp_fields f;
        pf_packet pkt = { .fields = &f };
        ssize_t r = pf_resp_protocol.parse(parser, buf + at, n - at, &pkt);
        if (r == -EAGAIN)
            break;
        if (r < 0 || f.is_inline) {
            snprintf(err, errlen, "malformed record at offset %zu", at);
            free(av);
            return -1;
        }
        if (f.argc > nav) {
            pf_slice *t = realloc(av, f.argc * sizeof *t);
            if (!t) {
                snprintf(err, errlen, "out of memory");
                free(av);
                return -1;
            }
            av = t;
            nav = f.argc;
        }
        pf_resp_args(&f, av, nav, NULL, 0);
        if (f.argc == 1 && av[0].len == 5 && !strncasecmp(av[0].ptr, "MULTI", 5)) {
            in_multi = 1;
            block = at + (size_t)r;
        } else if (f.argc == 1 && av[0].len == 4 && !strncasecmp(av[0].ptr, "EXEC", 4)) {
            /* apply the block now that it is whole */
            pf_resp_protocol.parser_init(parser, NULL);
            size_t p = block, end = at;
            while (p < end) {
                ssize_t q = pf_resp_protocol.parse(parser, buf + p, end - p, &pkt);
                if (q <= 0)
                    break;
                if (f.argc > nav) {
                    pf_slice *t = realloc(av, f.argc * sizeof *t);
                    if (!t)
                        break;
                    av = t;
                    nav = f.argc;
                }
                pf_resp_args(&f, av, nav, NULL, 0);
                if (kv_apply_op(st, f.argc, av) < 0) {
                    snprintf(err, errlen, "unknown operation at offset %zu", p);
                    free(av);
                    return -1;
                }
                p += (size_t)q;
            }
            pf_resp_protocol.parser_init(parser, NULL);
            in_multi = 0;
        } else if (!in_multi) {
            if (kv_apply_op(st, f.argc, av) < 0) {
                snprintf(err, errlen, "unknown operation at offset %zu", at);
                free(av);
                return -1;
            }
        }
        at += (size_t)r;
        if (!in_multi)
            good = at;
    }
    free(av);
    return (long long)good;
}

int kv_aof_open(kv_aof **out, kv_store *st, const char *dir, kv_fsync pol,
                size_t rewrite_min, char *err, size_t errlen)
{
    kv_aof *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->st = st;
    a->pol = pol;
    a->rewrite_min = rewrite_min;
    a->last_fsync = kv_now_ms();
    snprintf(a->path, sizeof a->path, "%s/appendonly.aof", dir);
    snprintf(a->tmp, sizeof a->tmp, "%s/appendonly.aof.rewrite", dir);
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&a->done, NULL);
    unlink(a->tmp); /* a rewrite a crash interrupted */
    a->fd = open(a->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (a->fd < 0) {
        int e = -errno;
        snprintf(err, errlen, "cannot open %s: %s", a->path, strerror(errno));
        free(a);
        return e;
    }
    struct stat sb;
    if (fstat(a->fd, &sb) < 0) {
        int e = -errno;
        close(a->fd);
        free(a);
        return e;
    }
    size_t n = (size_t)sb.st_size;
    char *buf = n ? malloc(n) : NULL;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(a->fd, buf + got, n - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    long long good = got == n ? replay(st, buf, n, err, errlen) : -1;
    free(buf);
    if (good < 0) {
        if (got != n)
            snprintf(err, errlen, "cannot read %s", a->path);
        close(a->fd);
        free(a);
        return -EBADMSG;
    }
    if ((size_t)good < n) {
        fprintf(stderr, "kvd: warning: %s ends with a torn record: %zu bytes cut at offset %lld\n",
                a->path, n - (size_t)good, good);
        if (ftruncate(a->fd, (off_t)good) < 0 || fdatasync(a->fd) < 0) {
            int e = -errno;
            snprintf(err, errlen, "cannot truncate %s: %s", a->path, strerror(errno));
            close(a->fd);
            free(a);
            return e;
        }
        a->torn = 1;
    }
    lseek(a->fd, 0, SEEK_END);
    int fl = fcntl(a->fd, F_GETFL);
    fcntl(a->fd, F_SETFL, fl | O_APPEND);
    a->size = a->base_size = (uint64_t)good;
    if (pthread_create(&a->writer, NULL, writer_main, a) != 0) {
        close(a->fd);
        free(a);
        return -EAGAIN;
    }
    *out = a;
    return 0;
}

void kv_aof_close(kv_aof *a)
{
    pthread_mutex_lock(&a->mu);
    int joinable = a->rw_joinable;
    pthread_mutex_unlock(&a->mu);
    if (joinable)
        pthread_join(a->rw, NULL);
    pthread_mutex_lock(&a->mu);
    while (a->rewriting && !a->err) /* the switch (or its cancel) is pending */
        pthread_cond_wait(&a->done, &a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->writer, NULL);
    fdatasync(a->fd);
    close(a->fd);
    kv_buf_free(&a->pending);
    kv_buf_free(&a->side);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->done);
    free(a);
}
