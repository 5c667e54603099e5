/* The append-only log: DIR/appendonly.aof, a sequence of RESP multibulk
 * records that kvd's own parser (protocols/resp) reads back.
 *
 * Records say what a command did, so replaying them at any later time
 * gives the state clients saw: SET k v [PXAT ms] (INCR and friends too:
 * the resulting value and absolute expiry), APPEND k s (only onto a key
 * that existed then), DEL k, PEXPIREAT k ms, PERSIST k, FLUSHALL.  Replay
 * does not expire keys while it applies (a key expired now was alive when
 * a record after it was made), then drops the expired ones.  A command
 * that makes several records is wrapped in MULTI ... EXEC so it replays
 * whole or not at all.
 *
 * Durability (issue 12): a reply goes out only after the records of
 * everything it could have seen are in the kernel (everysec, no) or on
 * disk (always), as redis, which writes its AOF buffer before any reply of
 * that turn reaches a socket.  Appending (kv_aof_append) copies into
 * `pending` under `mu` while the caller still holds its shard locks, so
 * the log's order per key is the keyspace's.  The session's before_send
 * hook (service.h: after a run of pipelined commands, before their replies
 * can be written) calls kv_aof_sync, and whoever finds its bytes unwritten
 * and nobody writing becomes the leader: it takes *all* pending bytes
 * (every client's) into one write() (plus one fdatasync with always)
 * while the others wait for it or find their bytes already written (group
 * commit, no thread hop, no write per command).  everysec fsyncs from the
 * cron once a second, outside the leader role, so replies never wait for
 * it; no never fsyncs.  `pending` is bounded (PENDING_MAX): an appender
 * past it writes first.
 *
 * Full disk and write errors.  A write command is admitted
 * (kv_aof_admit) only if its records can be logged: the file is
 * preallocated ahead of its end (fallocate KEEP_SIZE, RESERVE_CHUNK at a
 * time), and when that fails the command is refused with -MISCONF before
 * it touches the keyspace.  A write or fdatasync that still fails (EIO, a
 * file system without fallocate) cuts the file back to its last whole
 * record, keeps the bytes pending and sets `err`: from then on write
 * commands are refused with -MISCONF (as redis), the sessions whose
 * records are stuck are closed without their replies, and the cron
 * retries once every RETRY_MS; when the bytes are written and the reserve
 * can be made again, writes are accepted again.  A torn record is never
 * followed by good ones.
 *
 * Rewrite (compaction) without stopping clients: a thread snapshots the
 * shards one at a time, each under its own lock only, into a temp file.
 * Once shard i is snapshotted, records touching it also go to a side
 * buffer (per operation, by its shard), so each key's history is its
 * snapshot plus what followed it.  The thread copies the side buffer over
 * while it grows, then takes the leader role for the switch: in one step
 * under `mu` it takes the pending bytes (written to the old file) and the
 * rest of the side buffer (written to the new one) and stops the side
 * copies; then it fsyncs the new file, renames it over the old one and
 * fsyncs the directory (else a power cut can bring the old name back).
 * A FLUSHALL during a rewrite cancels it.
 *
 * Replay parses the file with pf_resp_protocol.  A torn tail (a record,
 * or a MULTI block, cut by a crash mid-write) is truncated away with a
 * warning; anything else malformed stops the start (kvd --check-aof FILE
 * --fix cuts the file there, like redis-check-aof). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvd.h"
#include "resp.h"

#define PENDING_MAX (64u << 20)
#define RESERVE_CHUNK (8u << 20) /* preallocated ahead of the log's end */
#define SIDE_CATCHUP (64u << 10) /* rewrite: switch once the side buffer is this small */
#define RETRY_MS 100             /* a failed log is retried this often */
#define RW_BACKOFF_MS 10000      /* ... a failed rewrite this long after */
#define SPARE_KEEP (1u << 20)    /* a write buffer kept for the next batch */

struct kv_aof {
    kv_store *st;
    kv_fsync pol;
    char path[4096], tmp[4096], dir[4096];
    int fd;
    pthread_mutex_t mu;
    pthread_cond_t done;     /* a leader finished */
    kv_buf pending, spare;
    /* Byte counts since the start (tickets), read without mu by the fast
     * paths (atomics), written under mu. */
    uint64_t appended, written, synced;
    uint64_t size;           /* whole records in the current file */
    uint64_t base_size, rewrite_min;
    uint64_t alloc_end;      /* preallocated up to here */
    int prealloc;            /* fallocate works on this file system */
    int err;                 /* -errno: the log is failing, writes are refused */
    uint64_t fails;          /* failed leader turns */
    int leading;             /* a thread holds the file (writes, switches) */
    int fsyncing, close_fd;  /* cron fdatasync on fd; an fd it must close after */
    int stop;
    int64_t last_fsync, last_retry;
    int64_t rw_failed_at;    /* a failed rewrite is not retried for RW_BACKOFF_MS */
    /* rewrite */
    int rewriting, cancel, tmpfd;
    uint8_t snapped[KV_SHARDS];  /* under the shard's lock */
    kv_buf side;
    uint64_t rewrites, cancelled, torn;
    pthread_t rw;
    int rw_joinable;
};

static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

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

/* ---- the leader: one thread writes at a time ------------------------------ */

static void say_failed(kv_aof *a, int rc)
{
    if (!a->err)
        fprintf(stderr, "kvd: AOF write failed: %s; write commands are refused (MISCONF) "
                        "until the log can be written again\n", strerror(-rc));
    a->err = rc;
}

/* Leader, mu held (dropped during the I/O): write every pending byte, with
 * always also fdatasync.  On failure the file is cut back to its last
 * whole record and the bytes stay pending, ahead of what came meanwhile.
 * 0 or -errno. */
static int write_pending(kv_aof *a)
{
    if (!a->pending.len)
        return 0;
    kv_buf mine = a->pending;
    a->pending = a->spare;
    memset(&a->spare, 0, sizeof a->spare);
    uint64_t upto = a->appended, at = a->size;
    int fd = a->fd, was_err = a->err;
    pthread_mutex_unlock(&a->mu);
    int rc = 0;
    /* After a failure the file may end in a torn record: cut it first. */
    if (was_err && ftruncate(fd, (off_t)at) < 0)
        rc = -errno;
    if (rc == 0)
        rc = write_all(fd, mine.p, mine.len);
    if (rc == 0 && a->pol == KV_FSYNC_ALWAYS && fdatasync(fd) < 0)
        rc = -errno;
    if (rc < 0)
        (void)!ftruncate(fd, (off_t)at); /* retried before the next write */
    pthread_mutex_lock(&a->mu);
    if (rc == 0) {
        a->size += mine.len;
        st64(&a->written, upto);
        if (a->pol == KV_FSYNC_ALWAYS)
            st64(&a->synced, upto);
        mine.len = 0;
        if (mine.cap > SPARE_KEEP || a->spare.p)
            kv_buf_free(&mine);
        else
            a->spare = mine;
        return 0;
    }
    /* keep them, in order: mine, then what was appended meanwhile */
    kv_buf_put(&mine, a->pending.p, a->pending.len);
    if (mine.oom) {
        kv_buf_free(&mine);
        rc = -ENOMEM; /* the appended bytes stay; these are lost: refuse all */
    } else {
        kv_buf t = a->pending;
        a->pending = mine;
        t.len = 0;
        kv_buf_free(&a->spare);
        a->spare = t;
    }
    say_failed(a, rc);
    a->fails++;
    return rc;
}

static void lead_end(kv_aof *a)
{
    a->leading = 0;
    pthread_cond_broadcast(&a->done);
}

int kv_aof_sync(kv_aof *a, uint64_t need, int reader)
{
    const uint64_t *mark = a->pol == KV_FSYNC_ALWAYS ? &a->synced : &a->written;
    if (need == 0 || ld(mark) >= need)
        return 0;
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        if (ld(mark) >= need)
            break;
        if (a->err && reader)
            break; /* a reader does not retry a failing log (the cron does) */
        if (need > a->appended) {
            rc = a->err ? a->err : -EIO; /* a record that could not be kept */
            break;
        }
        if (!a->leading) {
            a->leading = 1;
            rc = write_pending(a);
            lead_end(a);
            if (rc < 0)
                break;
            continue;
        }
        uint64_t fails = a->fails;
        pthread_cond_wait(&a->done, &a->mu);
        if (a->fails != fails && ld(mark) < need) {
            rc = a->err ? a->err : -EIO; /* the leader failed our bytes: no retry storm */
            break;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

uint64_t kv_aof_appended(kv_aof *a) { return ld(&a->appended); }

/* mu held: make sure `bytes` more can be written (preallocate). */
static int reserve(kv_aof *a, uint64_t bytes)
{
    if (!a->prealloc)
        return 0;
    uint64_t want = a->size + (a->appended - a->written) + bytes;
    if (want <= a->alloc_end)
        return 0;
    uint64_t from = a->alloc_end > a->size ? a->alloc_end : a->size;
    /* A chunk ahead, so this is rare; near a full disk, less, then exactly
     * what is needed. */
    static const uint64_t ahead[] = { RESERVE_CHUNK, 64u << 10, 0 };
    for (size_t i = 0; i < sizeof ahead / sizeof ahead[0]; i++) {
        uint64_t to = want + ahead[i];
        if (fallocate(a->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(to - from)) == 0) {
            a->alloc_end = to;
            return 0;
        }
        if (errno == EOPNOTSUPP || errno == ENOSYS) {
            a->prealloc = 0; /* writes find out; the failure path covers it */
            return 0;
        }
        if (errno != ENOSPC && errno != EDQUOT)
            break;
    }
    return -errno;
}

int kv_aof_admit(kv_aof *a, size_t bytes)
{
    pthread_mutex_lock(&a->mu);
    int rc = a->err;
    if (!rc && (rc = reserve(a, bytes)) < 0)
        say_failed(a, rc);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

uint64_t kv_aof_append(kv_aof *a, const kv_ops *o)
{
    if (o->n == 0)
        return 0;
    pthread_mutex_lock(&a->mu);
    size_t before = a->pending.len;
    put_ops(&a->pending, o, NULL);
    if (a->pending.oom) {
        /* cannot keep the record: fail the log (the command's reply is
         * withheld by the sync that follows) */
        a->pending.oom = 0;
        a->pending.len = before;
        say_failed(a, -ENOMEM);
        pthread_mutex_unlock(&a->mu);
        return UINT64_MAX;
    }
    if (a->rewriting) {
        for (size_t i = 0; i < o->n; i++)
            if (o->shard[i] == 0xff)
                a->cancel = 1;
        if (!a->cancel)
            put_ops(&a->side, o, a->snapped);
        if (a->side.oom)
            a->cancel = 1;
    }
    st64(&a->appended, a->appended + (a->pending.len - before));
    uint64_t t = a->appended;
    int big = a->pending.len > PENDING_MAX;
    pthread_mutex_unlock(&a->mu);
    if (big)
        kv_aof_sync(a, t, 0); /* bound the buffer: write now (its error is sticky) */
    return t;
}

const char *kv_aof_error(kv_aof *a, int *err)
{
    pthread_mutex_lock(&a->mu);
    int e = a->err;
    pthread_mutex_unlock(&a->mu);
    if (err)
        *err = e;
    return e ? strerror(-e) : NULL;
}

/* fsync the directory holding the log, so a rename in it survives a power
 * cut (the rename is only in the directory's blocks). */
static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
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

/* Rewrite thread, the switch (see the top): mu not held on entry. */
static void rewrite_switch(kv_aof *a, int rc)
{
    kv_buf mine = { 0 }, side = { 0 };
    pthread_mutex_lock(&a->mu);
    while (a->leading)
        pthread_cond_wait(&a->done, &a->mu);
    a->leading = 1;
    int cancel = a->cancel || rc < 0 || a->err;
    /* One cut: before it, records go to the old file (and, for snapshotted
     * shards, the side buffer); after it, to the current file only. */
    mine = a->pending;
    memset(&a->pending, 0, sizeof a->pending);
    side = a->side;
    memset(&a->side, 0, sizeof a->side);
    a->rewriting = 0;
    uint64_t upto = a->appended, at = a->size;
    int oldfd = a->fd, was_err = a->err;
    pthread_mutex_unlock(&a->mu);

    /* as write_pending: after a failure, cut the torn tail first */
    int orc = was_err && ftruncate(oldfd, (off_t)at) < 0 ? -errno : 0;
    if (orc == 0)
        orc = write_all(oldfd, mine.p, mine.len);
    if (orc == 0 && a->pol == KV_FSYNC_ALWAYS && fdatasync(oldfd) < 0)
        orc = -errno;
    if (orc < 0)
        (void)!ftruncate(oldfd, (off_t)at);
    if (!cancel)
        rc = write_all(a->tmpfd, side.p, side.len);
    if (!cancel && rc == 0 && fdatasync(a->tmpfd) < 0)
        rc = -errno;
    if (!cancel && rc == 0 && rename(a->tmp, a->path) < 0)
        rc = -errno;
    if (!cancel && rc == 0 && (rc = fsync_dir(a->dir)) < 0)
        fprintf(stderr, "kvd: AOF rewrite: cannot fsync %s: %s\n", a->dir, strerror(-rc));
    int switched = !cancel && rc == 0; /* renamed: the new file is the log */
    if (!cancel && rc < 0)
        fprintf(stderr, "kvd: AOF rewrite failed: %s (keeping the old log)\n", strerror(-rc));
    struct stat sb;
    uint64_t nsz = switched && fstat(a->tmpfd, &sb) == 0 ? (uint64_t)sb.st_size : 0;

    pthread_mutex_lock(&a->mu);
    if (switched) {
        /* mine's records are in the new file too (every shard was
         * snapshotted before the cut), whatever the old file did */
        if (a->fsyncing)
            a->close_fd = oldfd; /* the cron closes it after its fdatasync */
        else
            close(oldfd);
        a->fd = a->tmpfd;
        a->size = a->base_size = nsz;
        a->alloc_end = nsz;
        a->rewrites++;
        st64(&a->written, upto);
        if (a->pol == KV_FSYNC_ALWAYS)
            st64(&a->synced, upto);
    } else {
        close(a->tmpfd);
        unlink(a->tmp);
        a->cancelled += a->cancel;
        a->rw_failed_at = kv_now_ms(); /* not again at once: a full disk would spin */
        if (orc == 0) {
            a->size += mine.len;
            st64(&a->written, upto);
            if (a->pol == KV_FSYNC_ALWAYS)
                st64(&a->synced, upto);
        } else {
            kv_buf_put(&mine, a->pending.p, a->pending.len);
            kv_buf t = a->pending;
            a->pending = mine;
            mine = t;
            say_failed(a, mine.oom ? -ENOMEM : orc);
            a->fails++;
        }
    }
    a->tmpfd = -1;
    lead_end(a);
    pthread_mutex_unlock(&a->mu);
    kv_buf_free(&mine);
    kv_buf_free(&side);
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
    /* Copy the side buffer over while it is large, so the switch (which
     * holds the leader role, replies wait) has little left to write. */
    kv_buf side = { 0 };
    while (rc == 0) {
        pthread_mutex_lock(&a->mu);
        int go = !a->cancel && a->side.len > SIDE_CATCHUP;
        if (go) {
            kv_buf t = a->side;
            a->side = side;
            side = t;
        }
        pthread_mutex_unlock(&a->mu);
        if (!go)
            break;
        rc = write_all(a->tmpfd, side.p, side.len);
        side.len = 0;
    }
    kv_buf_free(&side);
    if (rc == 0 && fdatasync(a->tmpfd) < 0)
        rc = -errno;
    kv_buf_free(&b);
    rewrite_switch(a, rc);
    return NULL;
}

int kv_aof_rewrite(kv_aof *a)
{
    pthread_mutex_lock(&a->mu);
    if (a->rewriting || a->err || a->stop) {
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
    a->side.oom = 0;
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

/* A failing log: write what is stuck and make the reserve again; healthy
 * once both worked. */
static void retry(kv_aof *a)
{
    pthread_mutex_lock(&a->mu);
    if (a->err && !a->leading) {
        a->leading = 1;
        int rc = write_pending(a);
        if (rc == 0 && !a->pending.len) {
            uint64_t keep = a->alloc_end;
            a->alloc_end = 0; /* reserve again from the end */
            rc = reserve(a, 64u << 10); /* room again */
            if (rc < 0)
                a->alloc_end = keep;
        }
        if (rc == 0 && !a->pending.len) {
            fprintf(stderr, "kvd: AOF writes work again; write commands are accepted\n");
            a->err = 0;
        }
        lead_end(a);
    }
    pthread_mutex_unlock(&a->mu);
}

void kv_aof_cron(kv_aof *a)
{
    int64_t now = kv_now_ms();
    if (now - a->last_retry >= RETRY_MS) {
        a->last_retry = now;
        retry(a);
    }
    if (a->pol == KV_FSYNC_EVERYSEC && now - a->last_fsync >= 1000) {
        a->last_fsync = now;
        pthread_mutex_lock(&a->mu);
        uint64_t upto = a->written;
        int fd = a->fd;
        a->fsyncing = 1;
        pthread_mutex_unlock(&a->mu);
        /* Outside the leader role: replies never wait for this fsync.  A
         * switch meanwhile leaves the old fd for us to close. */
        int ok = fdatasync(fd) == 0;
        pthread_mutex_lock(&a->mu);
        a->fsyncing = 0;
        if (a->close_fd > 0) {
            close(a->close_fd);
            a->close_fd = 0;
        } else if (ok && ld(&a->synced) < upto) {
            st64(&a->synced, upto);
        }
        pthread_mutex_unlock(&a->mu);
    }
    pthread_mutex_lock(&a->mu);
    int go = !a->rewriting && !a->err && a->size > a->rewrite_min && a->size > 2 * a->base_size &&
             now - a->rw_failed_at >= RW_BACKOFF_MS;
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

/* Replay buf[0, n) into st (NULL: only check it); returns the length of
 * the good prefix (records and whole MULTI blocks), or -1 on a malformed
 * record (err filled, *bad_at: where the good prefix ends). */
static long long replay(kv_store *st, const char *buf, size_t n, size_t *bad_at, char *err,
                        size_t errlen)
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
            *bad_at = good;
            return -1;
        }
        if (f.argc > nav) {
            pf_slice *t = realloc(av, f.argc * sizeof *t);
            if (!t) {
                snprintf(err, errlen, "out of memory");
                free(av);
                *bad_at = good;
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
                    *bad_at = good;
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
                *bad_at = good;
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

/* The file at path into memory: 0 and *buf, *n, or -errno. */
static int slurp(int fd, char **buf, size_t *n)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -errno;
    *n = (size_t)sb.st_size;
    *buf = *n ? malloc(*n) : NULL;
    if (*n && !*buf)
        return -ENOMEM;
    size_t got = 0;
    while (got < *n) {
        ssize_t r = pread(fd, *buf + got, *n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(*buf);
            *buf = NULL;
            return r < 0 ? -errno : -EIO;
        }
        got += (size_t)r;
    }
    return 0;
}

int kv_aof_check(const char *path, int fix, FILE *out)
{
    int fd = open(path, fix ? O_RDWR | O_CLOEXEC : O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(out, "Cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *buf, err[256] = "";
    size_t n;
    int rc = slurp(fd, &buf, &n);
    if (rc < 0) {
        fprintf(out, "Cannot read %s: %s\n", path, strerror(-rc));
        close(fd);
        return 1;
    }
    size_t bad_at = 0;
    long long good = replay(NULL, buf, n, &bad_at, err, sizeof err);
    free(buf);
    size_t ok = good < 0 ? bad_at : (size_t)good;
    fprintf(out, "AOF analyzed: filename=%s, size=%zu, ok_up_to=%zu, diff=%zu\n", path, n, ok, n - ok);
    if (ok == n) {
        fprintf(out, "AOF %s is valid\n", path);
        close(fd);
        return 0;
    }
    if (good < 0)
        fprintf(out, "%s\n", err);
    else
        fprintf(out, "The file ends with a torn record (a crash mid-write)\n");
    if (!fix) {
        fprintf(out, "AOF %s is not valid. Use the --fix option to try fixing it.\n", path);
        close(fd);
        return 1;
    }
    if (ftruncate(fd, (off_t)ok) < 0 || fsync(fd) < 0) {
        fprintf(out, "Failed to truncate AOF: %s\n", strerror(errno));
        close(fd);
        return 1;
    }
    fprintf(out, "Successfully truncated AOF %s to %zu bytes (%zu cut)\n", path, ok, n - ok);
    close(fd);
    return 0;
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
    a->last_fsync = a->last_retry = kv_now_ms();
    a->tmpfd = -1;
    a->prealloc = 1;
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    snprintf(a->path, sizeof a->path, "%s/appendonly.aof", dir);
    snprintf(a->tmp, sizeof a->tmp, "%s/appendonly.aof.rewrite", dir);
    unlink(a->tmp); /* a rewrite a crash interrupted */
    a->fd = open(a->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (a->fd < 0) {
        int e = -errno;
        snprintf(err, errlen, "cannot open %s: %s", a->path, strerror(errno));
        free(a);
        return e;
    }
    char *buf;
    size_t n, bad_at = 0;
    int rc = slurp(a->fd, &buf, &n);
    long long good = rc < 0 ? -1 : replay(st, buf, n, &bad_at, err, errlen);
    free(buf);
    if (good < 0) {
        if (rc < 0)
            snprintf(err, errlen, "cannot read %s: %s", a->path, strerror(-rc));
        else
            snprintf(err + strlen(err), errlen - strlen(err),
                     " (kvd --check-aof %s --fix cuts the file there)", a->path);
        close(a->fd);
        free(a);
        return rc < 0 ? rc : -EBADMSG;
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
    /* Replay kept keys whose expiry passed (see the top): drop them now. */
    for (int i = 0; i < KV_SHARDS; i++)
        while (kv_expire_cycle(st, st->shard[i].cap) > 0)
            ;
    int fl = fcntl(a->fd, F_GETFL);
    fcntl(a->fd, F_SETFL, fl | O_APPEND);
    a->size = a->base_size = a->alloc_end = (uint64_t)good;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->done, NULL);
    pthread_mutex_lock(&a->mu);
    if ((rc = reserve(a, 0)) < 0) /* a full disk shows now, not at the first write */
        say_failed(a, rc);
    pthread_mutex_unlock(&a->mu);
    *out = a;
    return 0;
}

void kv_aof_close(kv_aof *a)
{
    pthread_mutex_lock(&a->mu);
    int joinable = a->rw_joinable;
    a->stop = 1; /* no new rewrite */
    a->rw_joinable = 0;
    pthread_mutex_unlock(&a->mu);
    if (joinable)
        pthread_join(a->rw, NULL); /* it switched or cancelled */
    pthread_mutex_lock(&a->mu);
    while (a->leading)
        pthread_cond_wait(&a->done, &a->mu);
    a->leading = 1;
    if (write_pending(a) < 0)
        fprintf(stderr, "kvd: AOF: %zu bytes could not be written at exit\n", a->pending.len);
    lead_end(a);
    pthread_mutex_unlock(&a->mu);
    fdatasync(a->fd);
    /* the preallocated blocks past the end go back to the file system */
    (void)!ftruncate(a->fd, (off_t)a->size);
    close(a->fd);
    if (a->close_fd > 0)
        close(a->close_fd);
    kv_buf_free(&a->pending);
    kv_buf_free(&a->spare);
    kv_buf_free(&a->side);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->done);
    free(a);
}
