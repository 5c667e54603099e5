/* kvd's string commands (GET, SET, INCR, APPEND, EXPIRE ...) and the log
 * records they make; kv_apply_op applies those records at replay.  Replies
 * and error texts are redis-server 7.0's.  See cmd_run.c for how a command
 * runs (locks, log, reply) and cmd_impl.h for the helpers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd_impl.h"

/* redis's string2ll: no blanks, no '+', no leading zeros. */
int kv__to_ll(pf_slice s, long long *v)
{
    const char *p = s.ptr;
    size_t n = s.len, i = 0;
    int neg = 0;
    unsigned long long acc = 0;
    if (n == 0 || n > 20)
        return -1;
    if (n == 1 && p[0] == '0') {
        *v = 0;
        return 0;
    }
    if (p[0] == '-') {
        neg = 1;
        if (++i == n)
            return -1;
    }
    if (p[i] < '1' || p[i] > '9')
        return -1;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (acc > (ULLONG_MAX - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (neg) {
        if (acc > (unsigned long long)LLONG_MAX + 1)
            return -1;
        *v = acc == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)acc;
    } else {
        if (acc > LLONG_MAX)
            return -1;
        *v = (long long)acc;
    }
    return 0;
}

void kv__arity_err(kv_buf *out, pf_slice name, const char *sub)
{
    char n[64];
    lower(n, name, sizeof n);
    if (sub)
        kv_buf_fmt(out, "-ERR wrong number of arguments for '%s|%s' command\r\n", n, sub);
    else
        kv_buf_fmt(out, "-ERR wrong number of arguments for '%s' command\r\n", n);
}

int kv__oom(kv_ctx *c)
{
    if (c->st->maxmemory && kv_used_memory(c->st) > c->st->maxmemory) {
        err(c, E_OOM);
        return 1;
    }
    return 0;
}

/* ---- log operations ----------------------------------------------------------- */

/* Log records are made only when there is a log. */
#define LOGGING (kvd.aof != NULL)

/* What a command left in e: its value and absolute expiry (never KEEPTTL,
 * which would depend on the state at replay time). */
static void op_set(kv_ctx *c, kref r, pf_slice k, const kv_entry *e)
{
    if (!LOGGING)
        return;
    char ms[24];
    size_t n = e->expire >= 0 ? kv_ll2str(ms, e->expire) : 0;
    pf_slice av[5] = { { "SET", 3 }, k, { e->val, e->vlen }, { "PXAT", 4 }, { ms, n } };
    kv_ops_add(&c->ops, shard_idx(c, r), e->expire >= 0 ? 5 : 3, av);
}
static void op_key(kv_ctx *c, kref r, const char *cmd, pf_slice k)
{
    if (!LOGGING)
        return;
    pf_slice av[2] = { { cmd, strlen(cmd) }, k };
    kv_ops_add(&c->ops, shard_idx(c, r), 2, av);
}
static void op_expire(kv_ctx *c, kref r, pf_slice k, int64_t at)
{
    if (!LOGGING)
        return;
    char ms[24];
    pf_slice av[3] = { { "PEXPIREAT", 9 }, k, { ms, kv_ll2str(ms, at) } };
    kv_ops_add(&c->ops, shard_idx(c, r), 3, av);
}

int kv_apply_op(kv_store *st, size_t argc, const pf_slice *av)
{
    long long ms = -1;
    int flush = argc == 1 && eq(av[0], "FLUSHALL");
    int set = eq(av[0], "SET") && (argc == 3 || (argc == 4 && eq(av[3], "KEEPTTL")) ||
                                   (argc == 5 && eq(av[3], "PXAT") && kv__to_ll(av[4], &ms) == 0));
    int append = eq(av[0], "APPEND") && argc == 3;
    int del = eq(av[0], "DEL") && argc == 2;
    int pexpireat = eq(av[0], "PEXPIREAT") && argc == 3 && kv__to_ll(av[2], &ms) == 0;
    int persist = eq(av[0], "PERSIST") && argc == 2;
    if (!(flush || set || append || del || pexpireat || persist))
        return -EINVAL;
    if (!st)
        return 0;
    if (flush) {
        for (int i = 0; i < KV_SHARDS; i++)
            kv_shard_clear(st, &st->shard[i]);
        return 0;
    }
    uint64_t h = kv_hash(av[1].ptr, av[1].len);
    kv_shard *sh = &st->shard[kv_shard_of(h)];
    /* kv_lookup, not kv_find: a key expired by now was alive when the
     * records after it were made (aof.c) */
    kv_entry *e = kv_lookup(sh, av[1].ptr, av[1].len, h);
    if (set) {
        int64_t exp = argc == 4 ? (e ? e->expire : -1) : ms; /* KEEPTTL: older logs */
        return kv_set(st, sh, av[1].ptr, av[1].len, h, av[2].ptr, av[2].len, exp) ? 0 : -ENOMEM;
    }
    if (append) {
        if (!e)
            return kv_set(st, sh, av[1].ptr, av[1].len, h, av[2].ptr, av[2].len, -1) ? 0 : -ENOMEM;
        return kv_append(st, sh, e, av[2].ptr, av[2].len);
    }
    if (del) {
        kv_del(st, sh, av[1].ptr, av[1].len, h);
        return 0;
    }
    if (e)
        kv_set_expire(sh, e, pexpireat ? ms : -1);
    return 0;
}

/* ---- string commands ---------------------------------------------------------- */

void kv__cmd_ping(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (argc > 2)
        return kv__arity_err(&c->out, av[0], NULL);
    if (argc == 2)
        kv_buf_bulk(&c->out, av[1].ptr, av[1].len);
    else
        kv_buf_put(&c->out, "+PONG\r\n", 7);
}

void kv__cmd_echo(kv_ctx *c, size_t argc, const pf_slice *av) { (void)argc; kv_buf_bulk(&c->out, av[1].ptr, av[1].len); }

void kv__cmd_get(kv_ctx *c, size_t argc, const pf_slice *av)
{
    (void)argc;
    kv_entry *e = findr(c, lock1(c, av[1]), av[1]);
    if (e)
        kv_buf_bulk(&c->out, e->val, e->vlen);
    else
        nil(c);
}

/* SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT ms | KEEPTTL] */
void kv__cmd_set(kv_ctx *c, size_t argc, const pf_slice *av)
{
    int nx = 0, xx = 0, get = 0, keepttl = 0, unit = 0;
    long long t = 0;
    pf_slice tv = { NULL, 0 };
    for (size_t i = 3; i < argc; i++) {
        pf_slice o = av[i];
        int has_next = i + 1 < argc;
        if (eq(o, "NX") && !xx)
            nx = 1;
        else if (eq(o, "XX") && !nx)
            xx = 1;
        else if (eq(o, "GET"))
            get = 1;
        else if (eq(o, "KEEPTTL") && !unit)
            keepttl = 1;
        else if ((eq(o, "EX") || eq(o, "PX") || eq(o, "EXAT") || eq(o, "PXAT")) && !keepttl &&
                 !unit && has_next) {
            unit = eq(o, "EX") ? 1 : eq(o, "PX") ? 2 : eq(o, "EXAT") ? 3 : 4;
            tv = av[++i];
        } else
            return err(c, E_SYNTAX);
    }
    /* As redis: every option is checked before the time is read, so
     * "EXAT 1.5 EX 10" is a syntax error, not a bad integer. */
    if (unit && kv__to_ll(tv, &t) < 0)
        return err(c, E_INT);
    int64_t exp = -1;
    if (unit) {
        if (t <= 0 || ((unit == 1 || unit == 3) && t > LLONG_MAX / 1000))
            return err(c, "ERR invalid expire time in 'set' command");
        long long ms = unit == 1 || unit == 3 ? t * 1000 : t;
        if (unit <= 2) {
            int64_t now = kv_now_ms();
            if (ms > LLONG_MAX - now)
                return err(c, "ERR invalid expire time in 'set' command");
            ms += now;
        }
        exp = ms;
    }
    if (kv__oom(c))
        return;
    kref r = lock1(c, av[1]);
    kv_entry *e = findr(c, r, av[1]);
    if (get) {
        if (e)
            kv_buf_bulk(&c->out, e->val, e->vlen);
        else
            nil(c);
    }
    if ((nx && e) || (xx && !e)) {
        if (!get)
            nil(c);
        return;
    }
    if (keepttl && e)
        exp = e->expire;
    e = kv_set(c->st, r.sh, av[1].ptr, av[1].len, r.h, av[2].ptr, av[2].len, exp);
    if (!e)
        return err(c, E_OOM);
    op_set(c, r, av[1], e);
    if (!get)
        ok(c);
}

void kv__cmd_setnx(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (kv__oom(c))
        return;
    (void)argc;
    kref r = lock1(c, av[1]);
    if (findr(c, r, av[1]))
        return kv_buf_int(&c->out, 0);
    kv_entry *e = kv_set(c->st, r.sh, av[1].ptr, av[1].len, r.h, av[2].ptr, av[2].len, -1);
    if (!e)
        return err(c, E_OOM);
    op_set(c, r, av[1], e);
    kv_buf_int(&c->out, 1);
}

void kv__cmd_getset(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (kv__oom(c))
        return;
    (void)argc;
    kref r = lock1(c, av[1]);
    kv_entry *e = findr(c, r, av[1]);
    if (e)
        kv_buf_bulk(&c->out, e->val, e->vlen);
    else
        nil(c);
    e = kv_set(c->st, r.sh, av[1].ptr, av[1].len, r.h, av[2].ptr, av[2].len, -1);
    if (e)
        op_set(c, r, av[1], e);
}

void kv__cmd_mget(kv_ctx *c, size_t argc, const pf_slice *av)
{
    lock_keys(c, argc, av, 1, 1);
    kv_buf_arrhdr(&c->out, argc - 1);
    for (size_t i = 1; i < argc; i++) {
        kv_entry *e = find(c, av[i]);
        if (e)
            kv_buf_bulk(&c->out, e->val, e->vlen);
        else
            nil(c);
    }
}

void kv__cmd_mset(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (argc % 2 == 0)
        return kv__arity_err(&c->out, av[0], NULL);
    if (kv__oom(c))
        return;
    kref small[16], *refs = argc / 2 <= 16 ? small : malloc(argc / 2 * sizeof *refs);
    if (!refs)
        return err(c, E_OOM);
    uint64_t mask = 0;
    for (size_t i = 1; i < argc; i += 2) {
        refs[i / 2] = ref(c, av[i]);
        mask |= 1ull << (refs[i / 2].sh - c->st->shard);
    }
    lock_mask(c, mask);
    for (size_t i = 1; i < argc; i += 2) {
        kref r = refs[i / 2];
        kv_entry *e = kv_set(c->st, r.sh, av[i].ptr, av[i].len, r.h, av[i + 1].ptr, av[i + 1].len, -1);
        if (!e) {
            if (refs != small)
                free(refs);
            return err(c, E_OOM);
        }
        op_set(c, r, av[i], e);
    }
    if (refs != small)
        free(refs);
    ok(c);
}

void kv__cmd_del(kv_ctx *c, size_t argc, const pf_slice *av)
{
    lock_keys(c, argc, av, 1, 1);
    long long n = 0;
    for (size_t i = 1; i < argc; i++) {
        kref r = ref(c, av[i]);
        if (kv_del(c->st, r.sh, av[i].ptr, av[i].len, r.h)) {
            n++;
            op_key(c, r, "DEL", av[i]);
        }
    }
    kv_buf_int(&c->out, n);
}

void kv__cmd_exists(kv_ctx *c, size_t argc, const pf_slice *av)
{
    lock_keys(c, argc, av, 1, 1);
    long long n = 0;
    for (size_t i = 1; i < argc; i++)
        n += find(c, av[i]) != NULL;
    kv_buf_int(&c->out, n);
}

static void incr_by(kv_ctx *c, const pf_slice *av, long long by)
{
    if (kv__oom(c))
        return;
    kref r = lock1(c, av[1]);
    kv_entry *e = findr(c, r, av[1]);
    long long v = 0;
    if (e && kv__to_ll((pf_slice){ e->val, e->vlen }, &v) < 0)
        return err(c, E_INT);
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v))
        return err(c, "ERR increment or decrement would overflow");
    v += by;
    char num[24];
    size_t n = kv_ll2str(num, v);
    e = kv_set(c->st, r.sh, av[1].ptr, av[1].len, r.h, num, n, e ? e->expire : -1);
    if (!e)
        return err(c, E_OOM);
    op_set(c, r, av[1], e);
    kv_buf_int(&c->out, v);
}

void kv__cmd_incr(kv_ctx *c, size_t argc, const pf_slice *av) { (void)argc; incr_by(c, av, 1); }
void kv__cmd_decr(kv_ctx *c, size_t argc, const pf_slice *av) { (void)argc; incr_by(c, av, -1); }
void kv__cmd_incrby(kv_ctx *c, size_t argc, const pf_slice *av)
{
    long long by;
    (void)argc;
    if (kv__to_ll(av[2], &by) < 0)
        return err(c, E_INT);
    incr_by(c, av, by);
}
void kv__cmd_decrby(kv_ctx *c, size_t argc, const pf_slice *av)
{
    long long by;
    (void)argc;
    if (kv__to_ll(av[2], &by) < 0)
        return err(c, E_INT);
    if (by == LLONG_MIN)
        return err(c, "ERR decrement would overflow");
    incr_by(c, av, -by);
}

void kv__cmd_append(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (kv__oom(c))
        return;
    (void)argc;
    kref r = lock1(c, av[1]);
    kv_entry *e = findr(c, r, av[1]);
    int created = !e;
    if (!e) {
        e = kv_set(c->st, r.sh, av[1].ptr, av[1].len, r.h, av[2].ptr, av[2].len, -1);
        if (!e)
            return err(c, E_OOM);
    } else {
        if (e->vlen + av[2].len > 512u * 1024 * 1024)
            return err(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        if (kv_append(c->st, r.sh, e, av[2].ptr, av[2].len) < 0)
            return err(c, E_OOM);
    }
    /* A new key is logged as the SET it was: an APPEND replayed onto a
     * key that had expired by then would find it (aof.c). */
    pf_slice op[3] = { { created ? "SET" : "APPEND", created ? 3u : 6u }, av[1], av[2] };
    if (LOGGING)
        kv_ops_add(&c->ops, shard_idx(c, r), 3, op);
    kv_buf_int(&c->out, (long long)e->vlen);
}

void kv__cmd_strlen(kv_ctx *c, size_t argc, const pf_slice *av)
{
    (void)argc;
    kv_entry *e = findr(c, lock1(c, av[1]), av[1]);
    kv_buf_int(&c->out, e ? (long long)e->vlen : 0);
}

static void expire_generic(kv_ctx *c, size_t argc, const pf_slice *av, int ms_unit)
{
    long long t;
    int nx = 0, xx = 0, gt = 0, lt = 0;
    /* As redis: the options first (their errors win), then the time. */
    for (size_t i = 3; i < argc; i++) {
        if (eq(av[i], "NX")) nx = 1;
        else if (eq(av[i], "XX")) xx = 1;
        else if (eq(av[i], "GT")) gt = 1;
        else if (eq(av[i], "LT")) lt = 1;
        else {
            size_t from = c->out.len;
            kv_buf_fmt(&c->out, "-ERR Unsupported option %.*s",
                       (int)(av[i].len > 128 ? 128 : av[i].len), av[i].ptr);
            for (size_t k = from; k < c->out.len && !c->out.oom; k++)
                if (c->out.p[k] == '\r' || c->out.p[k] == '\n')
                    c->out.p[k] = ' ';
            return kv_buf_put(&c->out, "\r\n", 2);
        }
    }
    if (nx && (xx || gt || lt))
        return err(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
    if (gt && lt)
        return err(c, "ERR GT and LT options at the same time are not compatible");
    if (kv__to_ll(av[2], &t) < 0)
        return err(c, E_INT);
    int64_t now = kv_now_ms();
    if ((!ms_unit && (t > LLONG_MAX / 1000 || t < LLONG_MIN / 1000)) ||
        (t * (ms_unit ? 1 : 1000) > 0 && t * (ms_unit ? 1 : 1000) > LLONG_MAX - now)) {
        char n[16];
        lower(n, av[0], sizeof n);
        return kv_buf_fmt(&c->out, "-ERR invalid expire time in '%s' command\r\n", n);
    }
    long long at = t * (ms_unit ? 1 : 1000) + now;
    kref r = lock1(c, av[1]);
    kv_entry *e = findr(c, r, av[1]);
    if (!e)
        return kv_buf_int(&c->out, 0);
    if ((nx && e->expire >= 0) || (xx && e->expire < 0) ||
        (gt && (e->expire < 0 || at <= e->expire)) || (lt && e->expire >= 0 && at >= e->expire))
        return kv_buf_int(&c->out, 0);
    if (at <= now) {
        kv_del(c->st, r.sh, av[1].ptr, av[1].len, r.h);
        op_key(c, r, "DEL", av[1]);
    } else {
        kv_set_expire(r.sh, e, at);
        op_expire(c, r, av[1], at);
    }
    kv_buf_int(&c->out, 1);
}
void kv__cmd_expire(kv_ctx *c, size_t argc, const pf_slice *av) { expire_generic(c, argc, av, 0); }
void kv__cmd_pexpire(kv_ctx *c, size_t argc, const pf_slice *av) { expire_generic(c, argc, av, 1); }

static void ttl_generic(kv_ctx *c, const pf_slice *av, int ms_unit)
{
    kv_entry *e = findr(c, lock1(c, av[1]), av[1]);
    if (!e)
        return kv_buf_int(&c->out, -2);
    if (e->expire < 0)
        return kv_buf_int(&c->out, -1);
    long long left = e->expire - kv_now_ms();
    if (left < 0)
        left = 0;
    kv_buf_int(&c->out, ms_unit ? left : (left + 500) / 1000);
}
void kv__cmd_ttl(kv_ctx *c, size_t argc, const pf_slice *av) { (void)argc; ttl_generic(c, av, 0); }
void kv__cmd_pttl(kv_ctx *c, size_t argc, const pf_slice *av) { (void)argc; ttl_generic(c, av, 1); }

void kv__cmd_persist(kv_ctx *c, size_t argc, const pf_slice *av)
{
    (void)argc;
    kref r = lock1(c, av[1]);
    kv_entry *e = findr(c, r, av[1]);
    if (!e || e->expire < 0)
        return kv_buf_int(&c->out, 0);
    kv_set_expire(r.sh, e, -1);
    op_key(c, r, "PERSIST", av[1]);
    kv_buf_int(&c->out, 1);
}

void kv__cmd_type(kv_ctx *c, size_t argc, const pf_slice *av)
{
    (void)argc;
    if (findr(c, lock1(c, av[1]), av[1]))
        kv_buf_put(&c->out, "+string\r\n", 9);
    else
        kv_buf_put(&c->out, "+none\r\n", 7);
}

