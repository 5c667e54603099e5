/* mcd's handlers: what each row of mcd.fsm does, with memcached 1.6.18's
 * replies byte for byte (tests/integ/test_mcd.c compares them with a live
 * memcached).  Replies that carry an item's value are queued while its
 * shard is locked, since pf_reply copies them: no reference outlives the
 * lock. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcd_fsm.h"
#include "mcd_impl.h"
#include "memcache.h"
#include "protofsm/frame.h"

MCD_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(MCD_HANDLERS);
const pf_service pf_mcd_service = { &pf_memcache_protocol, &mcd_fsm, handlers };

#define COUNT(m, f) atomic_fetch_add_explicit(&(m)->f, 1, memory_order_relaxed)

static pf_mcd *store_of(pf_session *s) { return pf_session_listener_data(s); }
static const pf_mc_fields *F(const pf_packet *pkt) { return pkt->fields; }

/* A fixed reply, or none with noreply. */
static int say(pf_session *s, const pf_mc_fields *f, const char *text)
{
    if (f && f->noreply)
        return PF_NEXT;
    int rc = pf_reply_str(s, text);
    return rc < 0 ? rc : PF_NEXT;
}

static uint64_t next_cas(pf_mcd *m)
{
    return atomic_fetch_add_explicit(&m->cas, 1, memory_order_relaxed) + 1;
}

static int mcd_on_open(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    pf_mcd *m = store_of(s);
    if (!m)
        return -EINVAL; /* a listener without a store: a setup mistake */
    COUNT(m, curr_conns);
    COUNT(m, total_conns);
    return PF_NEXT;
}

static int mcd_on_close(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    pf_mcd *m = store_of(s);
    if (m)
        atomic_fetch_sub_explicit(&m->curr_conns, 1, memory_order_relaxed);
    return PF_NEXT;
}

/* set add replace append prepend cas */
static int mcd_on_store(pf_session *s, const pf_packet *pkt)
{
    pf_mcd *m = store_of(s);
    const pf_mc_fields *f = F(pkt);
    int64_t now = pf__mcd_now();
    uint64_t h = pf__mcd_hash(f->key.ptr, f->key.len);
    mc_shard *sh = pf__mcd_shard(m, h);
    const char *verdict = "STORED\r\n";
    int ev = pkt->event;
    COUNT(m, cmd_set);
    pthread_mutex_lock(&sh->mu);
    mc_item *old = pf__mcd_find(m, sh, h, f->key.ptr, f->key.len, now);
    if (ev == MEMCACHE_EV_ADD && old) {
        pf__mcd_bump(sh, old); /* memcached: an add that fails still counts as a use */
        verdict = "NOT_STORED\r\n";
    } else if (!old && (ev == MEMCACHE_EV_REPLACE || ev == MEMCACHE_EV_APPEND ||
                        ev == MEMCACHE_EV_PREPEND)) {
        verdict = "NOT_STORED\r\n";
    } else if (ev == MEMCACHE_EV_CAS && !old) {
        verdict = "NOT_FOUND\r\n";
    } else if (ev == MEMCACHE_EV_CAS && old->cas != f->num) {
        verdict = "EXISTS\r\n";
    } else {
        int join = ev == MEMCACHE_EV_APPEND || ev == MEMCACHE_EV_PREPEND;
        size_t nval = f->data.len + (join ? old->nval : 0);
        /* an append may grow an item past the limit the parser checked */
        mc_item *it = f->key.len + nval + PF_MC_ITEM_OVERHEAD > m->max_item
                          ? NULL
                          : pf__mcd_alloc(h, f->key.ptr, f->key.len, nval);
        if (!it) {
            verdict = "SERVER_ERROR out of memory storing object\r\n";
        } else {
            char *v = mc_value(it);
            if (ev == MEMCACHE_EV_APPEND) {
                memcpy(v, mc_value(old), old->nval);
                memcpy(v + old->nval, f->data.ptr, f->data.len);
            } else if (ev == MEMCACHE_EV_PREPEND) {
                memcpy(v, f->data.ptr, f->data.len);
                memcpy(v + f->data.len, mc_value(old), old->nval);
            } else {
                memcpy(v, f->data.ptr, f->data.len);
            }
            /* append and prepend keep the item's flags and expiry */
            it->flags = join ? old->flags : f->flags;
            it->exptime = join ? old->exptime : pf__mcd_realtime(f->exptime, now);
            it->time = now;
            it->cas = next_cas(m);
            if (old)
                pf__mcd_unlink(sh, old);
            if (it->exptime == 1 && !join) {
                free(it); /* stored and gone at once, as memcached does */
            } else if (pf__mcd_link(m, sh, it) < 0) {
                verdict = "SERVER_ERROR out of memory storing object\r\n";
            }
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return say(s, f, verdict);
}

/* get gets gat gats: VALUE lines, then END. */
static int mcd_on_get(pf_session *s, const pf_packet *pkt)
{
    pf_mcd *m = store_of(s);
    const pf_mc_fields *f = F(pkt);
    int ev = pkt->event;
    int with_cas = ev == MEMCACHE_EV_GETS || ev == MEMCACHE_EV_GATS;
    int touch = ev == MEMCACHE_EV_GAT || ev == MEMCACHE_EV_GATS;
    int64_t now = pf__mcd_now();
    pf_slice rest = f->keys, key;
    while (pf_mc_next_key(&rest, &key)) {
        uint64_t h = pf__mcd_hash(key.ptr, key.len);
        mc_shard *sh = pf__mcd_shard(m, h);
        COUNT(m, cmd_get);
        if (touch)
            COUNT(m, cmd_touch);
        pthread_mutex_lock(&sh->mu);
        mc_item *it = pf__mcd_find(m, sh, h, key.ptr, key.len, now);
        int rc = 0;
        if (it) {
            char head[64];
            int n = with_cas ? snprintf(head, sizeof head, " %" PRIu32 " %" PRIu32 " %" PRIu64 "\r\n",
                                        it->flags, it->nval, it->cas)
                             : snprintf(head, sizeof head, " %" PRIu32 " %" PRIu32 "\r\n",
                                        it->flags, it->nval);
            if (touch) /* a past time still returns the item, once */
                it->exptime = pf__mcd_realtime(f->exptime, now);
            pf__mcd_bump(sh, it);
            pf_slice parts[] = { PF_SLICE_LIT("VALUE "), { mc_key(it), it->nkey },
                                 { head, (size_t)n }, { mc_value(it), it->nval },
                                 PF_SLICE_LIT("\r\n") };
            rc = pf_replyv(s, parts, 5);
        }
        int hit = it != NULL;
        pthread_mutex_unlock(&sh->mu);
        if (hit)
            COUNT(m, get_hits);
        else
            COUNT(m, get_misses);
        if (rc < 0)
            return rc;
    }
    return say(s, NULL, "END\r\n");
}

static int mcd_on_delete(pf_session *s, const pf_packet *pkt)
{
    pf_mcd *m = store_of(s);
    const pf_mc_fields *f = F(pkt);
    uint64_t h = pf__mcd_hash(f->key.ptr, f->key.len);
    mc_shard *sh = pf__mcd_shard(m, h);
    pthread_mutex_lock(&sh->mu);
    mc_item *it = pf__mcd_find(m, sh, h, f->key.ptr, f->key.len, pf__mcd_now());
    if (it)
        pf__mcd_unlink(sh, it);
    pthread_mutex_unlock(&sh->mu);
    return say(s, f, it ? "DELETED\r\n" : "NOT_FOUND\r\n");
}

/* The item's value as memcached reads it for incr/decr: blanks, digits,
 * then the end or a blank; at most 2^64 - 1. */
static int value_number(const char *v, size_t n, uint64_t *out)
{
    size_t i = 0, d;
    while (i < n && (v[i] == ' ' || (v[i] >= '\t' && v[i] <= '\r')))
        i++;
    for (d = i; d < n && v[d] >= '0' && v[d] <= '9'; d++)
        ;
    if (d == i || (d < n && !(v[d] == ' ' || (v[d] >= '\t' && v[d] <= '\r'))))
        return -EINVAL;
    return pf_frame_u64(v + i, d - i, UINT64_MAX, out);
}

/* incr wraps at 2^64, decr stops at 0.  A result no longer than the old
 * value is written in place, padded with spaces, as memcached does (a
 * later get shows the padding). */
static int mcd_on_arith(pf_session *s, const pf_packet *pkt)
{
    pf_mcd *m = store_of(s);
    const pf_mc_fields *f = F(pkt);
    uint64_t h = pf__mcd_hash(f->key.ptr, f->key.len), v;
    mc_shard *sh = pf__mcd_shard(m, h);
    int64_t now = pf__mcd_now();
    char num[32];
    const char *verdict = NULL;
    int n = 0;
    pthread_mutex_lock(&sh->mu);
    mc_item *it = pf__mcd_find(m, sh, h, f->key.ptr, f->key.len, now);
    if (!it) {
        verdict = "NOT_FOUND\r\n";
    } else if (value_number(mc_value(it), it->nval, &v) < 0) {
        verdict = "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    } else {
        v = pkt->event == MEMCACHE_EV_INCR ? v + f->num : v < f->num ? 0 : v - f->num;
        n = snprintf(num, sizeof num, "%" PRIu64, v);
        if ((size_t)n <= it->nval) {
            memcpy(mc_value(it), num, (size_t)n);
            memset(mc_value(it) + n, ' ', it->nval - (size_t)n);
            it->cas = next_cas(m);
            pf__mcd_bump(sh, it);
        } else {
            mc_item *nit = pf__mcd_alloc(h, f->key.ptr, f->key.len, (size_t)n);
            if (!nit) {
                verdict = "SERVER_ERROR out of memory\r\n";
            } else {
                memcpy(mc_value(nit), num, (size_t)n);
                nit->flags = it->flags;
                nit->exptime = it->exptime;
                nit->time = now;
                nit->cas = next_cas(m);
                pf__mcd_unlink(sh, it);
                if (pf__mcd_link(m, sh, nit) < 0)
                    verdict = "SERVER_ERROR out of memory\r\n";
            }
        }
    }
    pthread_mutex_unlock(&sh->mu);
    if (verdict)
        return say(s, f, verdict);
    if (f->noreply)
        return PF_NEXT;
    pf_slice parts[] = { { num, (size_t)n }, PF_SLICE_LIT("\r\n") };
    int rc = pf_replyv(s, parts, 2);
    return rc < 0 ? rc : PF_NEXT;
}

static int mcd_on_touch(pf_session *s, const pf_packet *pkt)
{
    pf_mcd *m = store_of(s);
    const pf_mc_fields *f = F(pkt);
    uint64_t h = pf__mcd_hash(f->key.ptr, f->key.len);
    mc_shard *sh = pf__mcd_shard(m, h);
    int64_t now = pf__mcd_now();
    COUNT(m, cmd_touch);
    pthread_mutex_lock(&sh->mu);
    mc_item *it = pf__mcd_find(m, sh, h, f->key.ptr, f->key.len, now);
    if (it) {
        it->exptime = pf__mcd_realtime(f->exptime, now);
        pf__mcd_bump(sh, it);
    }
    pthread_mutex_unlock(&sh->mu);
    return say(s, f, it ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
}

/* Without a delay every item stored so far is gone (by cas, so an item
 * stored in the same second after the flush lives); with one, the items
 * stored until then are gone once it has passed. */
static int mcd_on_flush(pf_session *s, const pf_packet *pkt)
{
    pf_mcd *m = store_of(s);
    const pf_mc_fields *f = F(pkt);
    int64_t now = pf__mcd_now();
    if (f->exptime > 0) {
        atomic_store(&m->oldest_live, pf__mcd_realtime(f->exptime, now) - 1);
    } else {
        atomic_store(&m->oldest_live, 0);
        atomic_store(&m->flush_cas, atomic_load(&m->cas));
    }
    return say(s, f, "OK\r\n");
}

static int mcd_on_version(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return say(s, NULL, "VERSION " PF_MCD_VERSION "\r\n");
}

static int mcd_on_verbosity(pf_session *s, const pf_packet *pkt)
{
    return say(s, F(pkt), "OK\r\n");
}

static int stats_general(pf_session *s, pf_mcd *m)
{
    pf_mcd_stats st;
    char b[1024];
    pf_mcd_stats_get(m, &st);
    int64_t now = pf__mcd_now();
    int n = snprintf(b, sizeof b,
                     "STAT pid %ld\r\nSTAT uptime %" PRId64 "\r\nSTAT time %" PRId64 "\r\n"
                     "STAT version " PF_MCD_VERSION "\r\nSTAT pointer_size %zu\r\n"
                     "STAT curr_connections %" PRIu64 "\r\nSTAT total_connections %" PRIu64 "\r\n"
                     "STAT cmd_get %" PRIu64 "\r\nSTAT cmd_set %" PRIu64 "\r\n"
                     "STAT cmd_touch %" PRIu64 "\r\nSTAT get_hits %" PRIu64 "\r\n"
                     "STAT get_misses %" PRIu64 "\r\nSTAT evictions %" PRIu64 "\r\n"
                     "STAT curr_items %" PRIu64 "\r\nSTAT bytes %" PRIu64 "\r\n"
                     "STAT limit_maxbytes %" PRIu64 "\r\nEND\r\n",
                     (long)getpid(), now - m->started, now, sizeof(void *) * 8,
                     st.curr_connections, st.total_connections, st.cmd_get, st.cmd_set,
                     st.cmd_touch, st.get_hits, st.get_misses, st.evictions, st.curr_items,
                     st.bytes, st.limit_maxbytes);
    int rc = pf_reply(s, b, (size_t)n < sizeof b ? (size_t)n : sizeof b - 1);
    return rc < 0 ? rc : PF_NEXT;
}

static int stats_settings(pf_session *s, pf_mcd *m)
{
    char b[256];
    int n = snprintf(b, sizeof b,
                     "STAT maxbytes %zu\r\nSTAT item_size_max %zu\r\nSTAT evictions on\r\n"
                     "STAT cas_enabled yes\r\nEND\r\n",
                     m->max_bytes, m->max_item);
    int rc = pf_reply(s, b, (size_t)n < sizeof b ? (size_t)n : sizeof b - 1);
    return rc < 0 ? rc : PF_NEXT;
}

/* "stats", "stats reset" and "stats settings"; memcached's other groups
 * (items, slabs, sizes, conns, detail) describe its slab allocator and
 * connection table, which mcd does not have: ERROR, as memcached answers a
 * group it does not know. */
static int mcd_on_stats(pf_session *s, const pf_packet *pkt)
{
    pf_mcd *m = store_of(s);
    pf_slice rest = F(pkt)->keys, group;
    if (!pf_mc_next_key(&rest, &group))
        return stats_general(s, m);
    /* Words after the group are ignored, as memcached does. */
    if (group.len == 5 && memcmp(group.ptr, "reset", 5) == 0) {
        pf_mcd_stats_reset(m);
        return say(s, NULL, "RESET\r\n");
    }
    if (group.len == 8 && memcmp(group.ptr, "settings", 8) == 0)
        return stats_settings(s, m);
    return say(s, NULL, "ERROR\r\n");
}

static int mcd_on_quit(pf_session *s, const pf_packet *pkt)
{
    (void)s;
    (void)pkt;
    return PF_CLOSE;
}

static int mcd_on_error(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return say(s, NULL, "ERROR\r\n");
}

static int mcd_on_bad(pf_session *s, const pf_packet *pkt)
{
    const pf_mc_fields *f = F(pkt);
    if (f->noreply)
        return PF_NEXT;
    pf_slice t = pf_mc_client_error(f->error);
    int rc = pf_replyv(s, &t, 1);
    return rc < 0 ? rc : PF_NEXT;
}

/* As memcached: a set that cannot store its value must not leave the old
 * one there to be read as if the set had not happened. */
static int mcd_on_too_large(pf_session *s, const pf_packet *pkt)
{
    const pf_mc_fields *f = F(pkt);
    if (f->command == MEMCACHE_EV_SET) {
        pf_mcd *m = store_of(s);
        uint64_t h = pf__mcd_hash(f->key.ptr, f->key.len);
        mc_shard *sh = pf__mcd_shard(m, h);
        pthread_mutex_lock(&sh->mu);
        mc_item *it = pf__mcd_find(m, sh, h, f->key.ptr, f->key.len, pf__mcd_now());
        if (it)
            pf__mcd_unlink(sh, it);
        pthread_mutex_unlock(&sh->mu);
    }
    return say(s, f, "SERVER_ERROR object too large for cache\r\n");
}
