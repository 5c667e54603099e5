/* Running kvd's commands: the handlers of its session machine (kvd.fsm,
 * over the RESP events of protocols/resp.rl) and the listener's
 * before_send.
 *
 * Each command is a row of `kv__cmds` (cmd_keyspace.c), indexed by event: redis's arity
 * convention (n exact, -n at least n) and a function.  A command runs with
 * a kv_ctx: it locks the shards of its keys through lock_keys (ascending
 * shard order, so two commands never deadlock), writes its reply into
 * ctx->out and its log operations into ctx->ops; commit then appends the
 * operations to the log while the locks are still held and unlocks.  The
 * replies of a run of pipelined commands wait in the session's output
 * until before_send (after the run) has their records written (aof.c);
 * a write command is refused with -MISCONF before it runs while the log
 * cannot take it.
 * EXEC locks every shard first, which makes the transaction atomic for
 * every other client, and logs it as one MULTI/EXEC unit.
 *
 * Replies and error texts are redis-server 7.0's. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd_impl.h"

kv_server kvd;

KVD_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(KVD_HANDLERS);
const pf_service pf_kvd_service = { &pf_resp_protocol, &kvd_fsm, handlers };

/* The error for an unknown command or a wrong arity, or NULL: 0 when ok. */
static int check(kv_buf *out, uint16_t ev, size_t argc, const pf_slice *av)
{
    if (ev >= RESP_NEVENTS || !kv__cmds[ev].name) {
        /* redis: the name up to 128 bytes, then arguments while their text
         * is under 128 bytes, each cut to what is left of those 128 */
        size_t from = out->len;
        kv_buf_fmt(out, "-ERR unknown command '%.*s', with args beginning with: ",
                   (int)(av[0].len > 128 ? 128 : av[0].len), av[0].ptr);
        size_t args = 0;
        for (size_t i = 1; i < argc && args < 128; i++) {
            size_t before = out->len, k = av[i].len < 128 - args ? av[i].len : 128 - args;
            kv_buf_fmt(out, "'%.*s' ", (int)k, av[i].ptr);
            args += out->len - before;
        }
        kv__sanitize(out, from);
        kv_buf_put(out, "\r\n", 2);
        return -1;
    }
    int a = kv__cmds[ev].arity;
    if ((a > 0 && argc != (size_t)a) || (a < 0 && argc < (size_t)-a)) {
        kv__arity_err(out, av[0], NULL);
        return -1;
    }
    return 0;
}

/* Each thread keeps its reply and log buffers and its argument vector
 * from one command to the next (no malloc per command); one that grew past
 * 64 KiB is given back, and a thread's are freed when it exits (a pthread
 * key destructor; the _Thread_local pointer is the fast way in). */
#define TL_KEEP (64u << 10)
typedef struct tl_bufs {
    kv_buf out;
    kv_ops ops;
    pf_slice *av;        /* argument vector, nav entries */
    size_t nav;
    char *unesc;         /* inline arguments that needed unescaping */
    size_t nunesc;
} tl_bufs;
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static _Thread_local tl_bufs *tl_mine;

static void tl_free(void *p)
{
    tl_bufs *t = p;
    kv_buf_free(&t->out);
    kv_ops_free(&t->ops);
    free(t->av);
    free(t->unesc);
    free(t);
    tl_mine = NULL;
}

static void tl_init(void) { pthread_key_create(&tl_key, tl_free); }

static tl_bufs *tl_get(void)
{
    tl_bufs *t = tl_mine;
    if (t)
        return t;
    pthread_once(&tl_once, tl_init);
    if ((t = calloc(1, sizeof *t)) != NULL && pthread_setspecific(tl_key, t) != 0) {
        free(t);
        t = NULL;
    }
    return tl_mine = t;
}

/* The arguments of a packet, in the thread's vector and unescape buffer
 * (taken out of tl_bufs while in use, like the reply buffers, so a nested
 * use would simply allocate its own), grown as needed. */
typedef struct argv_t {
    pf_slice *av;
    size_t nav;
    char *unesc;
    size_t nunesc;
    size_t argc;
} argv_t;

static int get_args(argv_t *a, const pf_packet *pkt)
{
    const pf_resp_fields *f = pkt->fields;
    tl_bufs *t = tl_get();
    size_t ucap = f->is_inline ? f->args.len + 1 : 0;
    memset(a, 0, sizeof *a);
    if (t) {
        a->av = t->av, a->nav = t->nav, a->unesc = t->unesc, a->nunesc = t->nunesc;
        t->av = NULL, t->nav = 0, t->unesc = NULL, t->nunesc = 0;
    }
    a->argc = f->argc;
    if (a->nav < f->argc) {
        size_t n = f->argc < 32 ? 32 : f->argc;
        pf_slice *v = realloc(a->av, n * sizeof *v);
        if (!v)
            goto oom;
        a->av = v;
        a->nav = n;
    }
    if (a->nunesc < ucap) {
        char *u = realloc(a->unesc, ucap);
        if (!u)
            goto oom;
        a->unesc = u;
        a->nunesc = ucap;
    }
    pf_resp_args(f, a->av, f->argc, ucap ? a->unesc : NULL, f->args.len);
    return 0;
oom:
    free(a->av);
    free(a->unesc);
    return -ENOMEM;
}

static void put_args(argv_t *a)
{
    tl_bufs *t = tl_get();
    if (t && !t->av && a->nav * sizeof *a->av <= TL_KEEP) {
        t->av = a->av;
        t->nav = a->nav;
    } else {
        free(a->av);
    }
    if (t && !t->unesc && a->nunesc <= TL_KEEP) {
        t->unesc = a->unesc;
        t->nunesc = a->nunesc;
    } else {
        free(a->unesc);
    }
}

static void ctx_done(kv_ctx *c)
{
    tl_bufs *t = tl_get();
    if (!t || c->out.cap > TL_KEEP || t->out.p)
        kv_buf_free(&c->out);
    if (!t || c->ops.rec.cap > TL_KEEP || c->ops.cap > 1024 || t->ops.rec.p || t->ops.end)
        kv_ops_free(&c->ops);
    if (!t)
        return;
    c->out.len = 0;
    c->out.oom = 0;
    kv_ops_reset(&c->ops);
    t->out = c->out;
    t->ops = c->ops;
}

static int send_reply(pf_session *s, kv_ctx *c)
{
    int rc = 0;
    if (c->out.oom)
        rc = pf_reply_str(s, "-ERR out of memory\r\n");
    else
        rc = pf_reply(s, c->out.p, c->out.len);
    ctx_done(c);
    if (rc < 0)
        return rc;
    return c->close ? PF_CLOSE : PF_NEXT;
}

static void ctx_init(kv_ctx *c, pf_session *s)
{
    memset(c, 0, sizeof *c);
    tl_bufs *t = tl_get();
    if (t) {
        c->out = t->out;
        c->ops = t->ops;
        memset(&t->out, 0, sizeof t->out);
        memset(&t->ops, 0, sizeof t->ops);
    }
    c->st = &kvd.store;
    c->cl = pf_session_data(s);
}

/* Log what the command did (locks still held), unlock, and note what must
 * be written before the session's replies go out (kvd_before_send): its
 * own records, or, for a read, every record made before it, since it may
 * have read their values. */
static void commit(kv_ctx *c)
{
    if (kvd.aof && c->ops.n) {
        uint64_t t = kv_aof_append(kvd.aof, &c->ops);
        unlock_all(c);
        c->cl->need = t;
        c->cl->own = 1;
        return;
    }
    unlock_all(c);
    if (kvd.aof) {
        uint64_t t = kv_aof_appended(kvd.aof);
        if (t > c->cl->need)
            c->cl->need = t;
    }
}

/* server.h: after a run of commands, before their replies can be sent. */
int pf_kvd_before_send(pf_session *s)
{
    kv_client *cl = pf_session_data(s);
    if (!kvd.aof || !cl || !cl->need)
        return 0;
    uint64_t need = cl->need;
    int own = cl->own;
    cl->need = 0;
    cl->own = 0;
    int rc = kv_aof_sync(kvd.aof, need, !own);
    /* A write whose record could not be logged is never acknowledged: the
     * session is closed without its replies (the client cannot tell it
     * from a crash).  Readers are answered while the log fails, as redis
     * does. */
    return own ? rc : 0;
}

/* Write commands (and PING, as redis 7.0) while the log fails: the error,
 * else 0.  `bytes`: at least what the records will take (a record is at
 * most about twice its command: MSET's keys become one SET each). */
static int misconf(kv_buf *out, size_t bytes)
{
    int e = 0;
    if (!kvd.aof || (bytes == 0 && !kv_aof_error(kvd.aof, &e)))
        return 0;
    if (bytes && (e = kv_aof_admit(kvd.aof, bytes)) == 0)
        return 0;
    kv_buf_fmt(out, "-MISCONF Errors writing to the AOF file: %s\r\n", strerror(-e));
    return -1;
}

static int kvd_on_command(pf_session *s, const pf_packet *pkt)
{
    kv_ctx c;
    argv_t a;
    if (get_args(&a, pkt) < 0)
        return pf_reply_str(s, "-ERR out of memory\r\n") < 0 ? -ENOMEM : PF_NEXT;
    ctx_init(&c, s);
    if (check(&c.out, pkt->event, a.argc, a.av) == 0 &&
        (!kv__cmds[pkt->event].write || misconf(&c.out, 2 * pkt->raw.len + 64) == 0) &&
        (pkt->event != RESP_EV_PING || misconf(&c.out, 0) == 0)) {
        kv__cmds[pkt->event].fn(&c, a.argc, a.av);
        commit(&c);
    }
    put_args(&a);
    return send_reply(s, &c);
}

static int kvd_on_open(pf_session *s, const pf_packet *pkt)
{
    static uint64_t next_id;
    (void)pkt;
    kv_client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return -ENOMEM;
    cl->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
    pf_session_set_data(s, cl);
    __atomic_add_fetch(&kvd.conns, 1, __ATOMIC_RELAXED);
    return kvd.requirepass ? PF_STAY : PF_NEXT;
}

static int kvd_on_close(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    kv_client *cl = pf_session_data(s);
    if (cl) {
        kv_buf_free(&cl->queue);
        free(cl->name);
        free(cl);
        pf_session_set_data(s, NULL);
        __atomic_sub_fetch(&kvd.conns, 1, __ATOMIC_RELAXED);
    }
    return PF_NEXT;
}

static int kvd_on_noauth(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "-NOAUTH Authentication required.\r\n") < 0 ? -ENOMEM : PF_NEXT;
}

/* redis refuses EXEC through its transaction abort, whatever came before */
static int kvd_on_noauth_exec(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "-EXECABORT Transaction discarded because of: NOAUTH Authentication "
                           "required.\r\n") < 0 ? -ENOMEM : PF_NEXT;
}

static int auth_like(pf_session *s, const pf_packet *pkt, int hello)
{
    kv_ctx c;
    argv_t a;
    if (get_args(&a, pkt) < 0)
        return -ENOMEM;
    ctx_init(&c, s);
    int authed = pf_session_state(s) != KVD_ST_NOAUTH;
    int good = 0;
    if (hello)
        good = kv__do_hello(&c, a.argc, a.av, authed);
    else if (check(&c.out, pkt->event, a.argc, a.av) == 0)
        good = kv__do_auth(&c, a.argc, a.av);
    put_args(&a);
    int rc = send_reply(s, &c);
    return rc < 0 ? rc : good || authed ? PF_NEXT : PF_STAY;
}

static int kvd_on_auth(pf_session *s, const pf_packet *pkt) { return auth_like(s, pkt, 0); }
static int kvd_on_hello(pf_session *s, const pf_packet *pkt) { return auth_like(s, pkt, 1); }

static int kvd_on_quit(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "+OK\r\n") < 0 ? -ENOMEM : PF_CLOSE;
}

static int kvd_on_multi(pf_session *s, const pf_packet *pkt)
{
    kv_client *cl = pf_session_data(s);
    const pf_resp_fields *f = pkt->fields;
    if (f->argc != 1)
        return kvd_on_command(s, pkt) < 0 ? -ENOMEM : PF_STAY; /* arity error */
    cl->queue.len = 0;
    cl->nqueued = 0;
    cl->dirty = 0;
    cl->queued_write = 0;
    return pf_reply_str(s, "+OK\r\n") < 0 ? -ENOMEM : PF_NEXT;
}

static int kvd_on_multi_nested(pf_session *s, const pf_packet *pkt)
{
    kv_client *cl = pf_session_data(s);
    (void)pkt;
    (void)cl; /* redis 7.0 does not flag the transaction for this one */
    return pf_reply_str(s, "-ERR MULTI calls can not be nested\r\n") < 0 ? -ENOMEM : PF_NEXT;
}

static int kvd_on_exec_without_multi(pf_session *s, const pf_packet *pkt)
{
    const pf_resp_fields *f = pkt->fields;
    if (f->argc != 1)
        return kvd_on_command(s, pkt);
    return pf_reply_str(s, "-ERR EXEC without MULTI\r\n") < 0 ? -ENOMEM : PF_NEXT;
}

static int kvd_on_discard_without_multi(pf_session *s, const pf_packet *pkt)
{
    const pf_resp_fields *f = pkt->fields;
    if (f->argc != 1)
        return kvd_on_command(s, pkt);
    return pf_reply_str(s, "-ERR DISCARD without MULTI\r\n") < 0 ? -ENOMEM : PF_NEXT;
}

static int kvd_on_queue(pf_session *s, const pf_packet *pkt)
{
    kv_client *cl = pf_session_data(s);
    kv_ctx c;
    argv_t a;
    if (get_args(&a, pkt) < 0)
        return -ENOMEM;
    ctx_init(&c, s);
    if (check(&c.out, pkt->event, a.argc, a.av) < 0 ||
        ((kv__cmds[pkt->event].write || pkt->event == RESP_EV_PING) && misconf(&c.out, 0) < 0)) {
        cl->dirty = 1;
    } else if (cl->queue.len + pkt->raw.len > MULTI_MAX_BYTES) {
        cl->dirty = 1;
        err(&c, "ERR MULTI queue is too large");
    } else {
        kv_buf_cmd(&cl->queue, a.argc, a.av);
        cl->nqueued++;
        cl->queued_write |= kv__cmds[pkt->event].write;
        kv_buf_put(&c.out, "+QUEUED\r\n", 9);
    }
    put_args(&a);
    return send_reply(s, &c);
}

static int kvd_on_discard(pf_session *s, const pf_packet *pkt)
{
    kv_client *cl = pf_session_data(s);
    const pf_resp_fields *f = pkt->fields;
    if (f->argc != 1) {
        cl->dirty = 1;
        kv_ctx c;
        ctx_init(&c, s);
        kv__arity_err(&c.out, (pf_slice){ "discard", 7 }, NULL);
        int rc = send_reply(s, &c);
        return rc < 0 ? rc : PF_STAY;
    }
    kv_buf_free(&cl->queue);
    cl->nqueued = 0;
    cl->dirty = 0;
    cl->queued_write = 0;
    return pf_reply_str(s, "+OK\r\n") < 0 ? -ENOMEM : PF_NEXT;
}

static int kvd_on_exec(pf_session *s, const pf_packet *pkt)
{
    kv_client *cl = pf_session_data(s);
    const pf_resp_fields *f = pkt->fields;
    kv_ctx c;
    ctx_init(&c, s);
    if (f->argc != 1) {
        cl->dirty = 1;
        kv__arity_err(&c.out, (pf_slice){ "exec", 4 }, NULL);
        int rc = send_reply(s, &c);
        return rc < 0 ? rc : PF_STAY;
    }
    kv_buf why = { 0 };
    if (cl->dirty) {
        err(&c, "EXECABORT Transaction discarded because of previous errors.");
    } else if (cl->queued_write && misconf(&why, 2 * cl->queue.len + 64 * cl->nqueued) < 0) {
        /* as redis: "EXECABORT ... because of: MISCONF ..." */
        kv_buf_fmt(&c.out, "-EXECABORT Transaction discarded because of: %.*s", (int)why.len - 1,
                   why.oom ? "" : why.p + 1);
    } else {
        /* Every shard locked: atomic for every other client. */
        lock_every(&c);
        c.all_locked = 1;
        kv_buf_arrhdr(&c.out, cl->nqueued);
        _Alignas(max_align_t) char parser[1024];
        if (pf_resp_protocol.parser_size > sizeof parser)
            abort();
        pf_resp_protocol.parser_init(parser, NULL);
        size_t at = 0;
        pf_slice *av = NULL;
        size_t nav = 0;
        while (at < cl->queue.len) {
            pf_resp_fields qf;
            pf_packet qp = { .fields = &qf };
            ssize_t n = pf_resp_protocol.parse(parser, cl->queue.p + at, cl->queue.len - at, &qp);
            if (n <= 0)
                break;
            if (qf.argc > nav) {
                pf_slice *t = realloc(av, qf.argc * sizeof *t);
                if (!t)
                    break;
                av = t;
                nav = qf.argc;
            }
            pf_resp_args(&qf, av, nav, NULL, 0);
            if (qp.event == RESP_EV_AUTH)
                kv__do_auth(&c, qf.argc, av);
            else if (qp.event == RESP_EV_HELLO)
                kv__do_hello(&c, qf.argc, av, 1);
            else if (kv__cmds[qp.event].fn)
                kv__cmds[qp.event].fn(&c, qf.argc, av);
            else
                err(&c, "ERR Command not allowed inside a transaction");
            at += (size_t)n;
        }
        free(av);
        c.all_locked = 0;
        commit(&c);
    }
    kv_buf_free(&why);
    kv_buf_free(&cl->queue);
    cl->nqueued = 0;
    cl->dirty = 0;
    cl->queued_write = 0;
    return send_reply(s, &c);
}
