/* The MQTT broker: what each row of MQTT's default table (protocols/mqtt.fsm)
 * does, for one broker per listener (the listener's data).
 *
 * State.  A `client` is an MQTT session, keyed by client identifier: its
 * subscriptions, its outgoing QoS 1/2 messages in flight and queued, and
 * the identifiers of incoming QoS 2 messages awaiting PUBREL.  It outlives
 * its connection when CleanSession is 0.  A connection's own data (`mconn`)
 * names the client it is attached to and the generation of that
 * attachment, so a connection that was taken over cannot detach its
 * successor.  Messages are immutable and reference-counted, shared by
 * every subscriber and the retained store.  broker_impl.h says which lock
 * guards what; topics.c holds the trees, sessions.c the clients and
 * delivery.
 *
 * Threads.  Handlers of different connections run on different workers
 * (and CLOSE on the loop thread).  The broker's lock is held only for the
 * trees and the client table; a PUBLISH collects its subscribers under it
 * and delivers to each under that client's own lock, so one client's
 * large burst does not hold up the others. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_impl.h"
#include "mqtt.h"
#include "mqtt_fsm.h"

MQTT_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(MQTT_HANDLERS);
const pf_service pf_broker_service = { &pf_mqtt_protocol, &mqtt_fsm, handlers };

static int reply4(pf_session *s, uint8_t type, uint8_t a, uint8_t b)
{
    char p[4] = { (char)type, 2, (char)a, (char)b };
    return pf_reply(s, p, 4);
}

static const pf_mqtt_fields *F(const pf_packet *pkt) { return pkt->fields; }
/* The broker this session's listener serves (pf_listen_conf.data). */
static pf_broker *broker_of(pf_session *s) { return pf_session_listener_data(s); }
static mconn *M(pf_session *s) { return pf_session_data(s); }

/* This connection's client, locked; NULL (nothing locked) once another
 * connection took it over (this one is being closed, MQTT-3.1.4-2, and its
 * packets no longer act on the session). */
static client *lock_mine(pf_session *s, const mconn *mc)
{
    client *c = mc->cl;
    pthread_mutex_lock(&c->lock);
    if (c->attach == mc->attach && !c->retired)
        return c;
    pthread_mutex_unlock(&c->lock);
    pf_close(s);
    return NULL;
}

/* Every packet restarts the keep-alive clock (MQTT-3.1.2-24). */
static void touch(pf_session *s, const mconn *mc)
{
    if (mc && mc->ka_ms)
        pf_session_timer(s, mc->ka_ms);
}

/* Send the client's own connection what waits for it. */
static void pump_mine(pf_session *s, const mconn *mc)
{
    client *c = lock_mine(s, mc);
    if (c) {
        pf__bk_pump(c);
        pthread_mutex_unlock(&c->lock);
    }
}

/* Hand `m` to every matching subscription, once per client at the highest
 * QoS of its matching subscriptions (MQTT-3.3.5-1). */
static void route(pf_broker *B, msg *m)
{
    target *t = NULL;
    pthread_mutex_lock(&B->lock);
    pf__bk_expire(B, pf__bk_now_ms());
    long n = pf__bk_route(B, m, &t);
    pthread_mutex_unlock(&B->lock);
    if (n < 0) {
        PF__BK_COUNT(B->dropped);
        return;
    }
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&t[i].c->lock);
        if (!t[i].c->retired)
            pf__bk_deliver(t[i].c, m, t[i].qos, 0); /* MQTT-3.3.1-9 */
        pthread_mutex_unlock(&t[i].c->lock);
        pf__bk_client_unref(t[i].c);
    }
    free(t);
}

/* Store a retained message (MQTT-3.3.1-5) charged to `o`: 0 or -ENOSPC. */
static int retain(pf_broker *B, msg *m, owner *o)
{
    pthread_mutex_lock(&B->lock);
    int rc = pf__bk_retain(B, m, o);
    pthread_mutex_unlock(&B->lock);
    if (rc < 0)
        PF__BK_COUNT(B->retain_refused);
    return rc;
}

static void publish_will(pf_broker *B, mconn *mc)
{
    msg *w = mc->will;
    if (!w)
        return;
    mc->will = NULL;
    PF__BK_COUNT(B->wills);
    /* A will over the retained limits is still published (its client is
     * gone, nobody could be told), only not kept; counted. */
    if (w->retain)
        retain(B, w, mc->own);
    route(B, w);
    pf__bk_msg_unref(w);
}

/* ---- handlers ------------------------------------------------------------ */

static int mqtt_on_open(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    pf_session_timer(s, PF_MQTT_CONNECT_MS);
    return PF_NEXT;
}

static int refuse(pf_session *s, uint8_t rc)
{
    reply4(s, 0x20, 0, rc); /* MQTT-3.2.2-4,5: session present 0, then close */
    pf_close(s);
    return PF_STAY;
}

static void mconn_free(pf_broker *B, mconn *mc)
{
    pf__bk_msg_unref(mc->will);
    if (mc->own) {
        pthread_mutex_lock(&B->lock);
        pf__bk_owner_put(B, mc->own);
        pthread_mutex_unlock(&B->lock);
    }
    free(mc);
}

static int mqtt_on_connect(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    const pf_mqtt_fields *f = F(pkt);
    int clean = (f->connect_flags & PF_MQTT_CF_CLEAN) != 0;
    char autoid[32];
    pf_slice id = f->client_id;

    if (f->level != 4)
        return refuse(s, 1); /* MQTT-3.1.2-2 */
    if (id.len == 0 && !clean)
        return refuse(s, 2); /* MQTT-3.1.3-8 */
    mconn *mc = calloc(1, sizeof(*mc));
    /* Taken before the lock, so that nothing fails once a session is
     * taken over; freed at the end if the client has one. */
    persist *np = clean ? NULL : calloc(1, sizeof(*np));
    if (!mc || (!clean && !np) || pf_session_handle(s, &mc->h) < 0) {
        free(mc);
        free(np);
        return refuse(s, 3);
    }
    if (f->connect_flags & PF_MQTT_CF_WILL) {
        mc->will = pf__bk_msg_new(f->will_topic, f->will_message,
                                  PF_MQTT_CF_WILL_QOS(f->connect_flags),
                                  (f->connect_flags & PF_MQTT_CF_WILL_RETAIN) != 0);
        if (!mc->will) {
            free(mc);
            free(np);
            return refuse(s, 3);
        }
    }
    pthread_mutex_lock(&B->lock);
    pf__bk_expire(B, pf__bk_now_ms());
    if (id.len == 0) { /* MQTT-3.1.3-6: assign one */
        id.len = (size_t)snprintf(autoid, sizeof(autoid), "protofsm-%lu", ++B->auto_id);
        id.ptr = autoid;
    }
    owner *o = mc->own = pf__bk_owner_get(B, s, id);
    client *c = o ? pf__bk_client_find(B, id.ptr, id.len) : NULL;
    if (c && !pf_handle_is_none(c->h)) {
        pthread_mutex_lock(&c->lock);
        pf_post_close(c->h); /* MQTT-3.1.4-2: take over */
        c->h = (pf_handle){ 0, 0 };
        c->attach++;
        pthread_mutex_unlock(&c->lock);
    }
    if (c && clean) {
        pf__bk_client_retire(c); /* MQTT-3.1.2-6: a new session */
        c = NULL;
    }
    int present = c != NULL;
    if (c) {
        pf__bk_offline_del(c);
    } else if (!o || pf__bk_admit(B, o, !clean) < 0 || !(c = pf__bk_client_new(B, id.ptr, id.len))) {
        if (o)
            PF__BK_COUNT(B->refused);
        pthread_mutex_unlock(&B->lock);
        mconn_free(B, mc);
        free(np);
        return refuse(s, 3);
    }
    if (!clean && !c->p) {
        c->p = np;
        np = NULL;
    }
    free(np);
    /* A persistent session is charged to the address it was last used
     * from (per-address limit). */
    if (!clean && c->p->own != o) {
        if (c->p->own) {
            c->p->own->sessions--;
            pf__bk_owner_put(B, c->p->own);
        }
        c->p->own = o;
        o->refs++;
        o->sessions++;
    }
    pthread_mutex_lock(&c->lock);
    c->clean = clean;
    c->h = mc->h;
    c->attach++;
    pf__bk_client_ref(c); /* the connection's */
    mc->cl = c;
    mc->attach = c->attach;
    pf_session_set_data(s, mc);
    /* MQTT-3.1.2-24: 1.5 x keep-alive; 0 turns it (and the CONNECT timer) off. */
    mc->ka_ms = f->keep_alive * 1500u;
    pf_session_timer(s, mc->ka_ms);
    /* MQTT-3.2.2-2,3.  Before any PUBLISH: posts made from now on reach the
     * output after this handler's replies (post.h). */
    reply4(s, 0x20, (uint8_t)present, 0);
    if (present)
        pf__bk_resend_all(c); /* MQTT-4.4.0-1: unacknowledged PUBLISH (DUP) and PUBREL */
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&B->lock);
    if (present)
        pump_mine(s, mc); /* paced: what does not fit waits for "room" */
    return PF_NEXT;
}

static int mqtt_on_violation(pf_session *s, const pf_packet *pkt)
{
    (void)s;
    (void)pkt;
    return PF_NEXT; /* into CLOSED, a final state: closed without a reply */
}

static int mqtt_on_publish(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    const pf_mqtt_fields *f = F(pkt);
    mconn *mc = M(s);
    int fresh = 1;

    touch(s, mc);
    PF__BK_COUNT(B->published);
    client *c = lock_mine(s, mc);
    if (!c)
        return PF_NEXT;
    uint8_t *bit = NULL, mask = (uint8_t)(1u << (f->packet_id & 7));
    if (f->qos == 2) {
        /* Deliver on PUBLISH, and not again for a resent one until PUBREL
         * frees the identifier (MQTT-4.3.3-2, method B of figure 4.3). */
        if (!c->qos2_in)
            c->qos2_in = calloc(8192, 1);
        if (c->qos2_in) {
            bit = &c->qos2_in[f->packet_id >> 3];
            fresh = !(*bit & mask);
            *bit |= mask;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (fresh) {
        msg *m = pf__bk_msg_new(f->topic, f->payload, f->qos, f->retain);
        if (!m)
            return -ENOMEM;
        if (f->retain && retain(B, m, mc->own) < 0) {
            /* Refused by a limit: not delivered, not acknowledged, closed
             * (MQTT-3.3.5-2), so the publisher knows it was not kept.  A
             * QoS 2 id is freed, or a resend would be taken for a copy. */
            pf__bk_msg_unref(m);
            if (bit && (c = lock_mine(s, mc))) {
                *bit &= (uint8_t)~mask;
                pthread_mutex_unlock(&c->lock);
            }
            pf_close(s);
            return PF_NEXT;
        }
        route(B, m);
        pf__bk_msg_unref(m);
    }
    if (f->qos == 1)
        reply4(s, 0x40, (uint8_t)(f->packet_id >> 8), (uint8_t)f->packet_id);
    else if (f->qos == 2)
        reply4(s, 0x50, (uint8_t)(f->packet_id >> 8), (uint8_t)f->packet_id);
    return PF_NEXT;
}

/* PUBACK (QoS 1) and PUBCOMP (QoS 2 after PUBREL) end a flight. */
static int ack(pf_session *s, const pf_packet *pkt, uint8_t qos, uint8_t rel)
{
    mconn *mc = M(s);
    touch(s, mc);
    client *c = lock_mine(s, mc);
    if (!c)
        return PF_NEXT;
    flight *f = pf__bk_find_flight(c, F(pkt)->packet_id, qos, rel);
    if (f)
        pf__bk_land(c, f);
    pf__bk_pump(c);
    pthread_mutex_unlock(&c->lock);
    return PF_NEXT;
}

static int mqtt_on_puback(pf_session *s, const pf_packet *pkt) { return ack(s, pkt, 1, 0); }
static int mqtt_on_pubcomp(pf_session *s, const pf_packet *pkt) { return ack(s, pkt, 2, 1); }

static int mqtt_on_pubrec(pf_session *s, const pf_packet *pkt)
{
    mconn *mc = M(s);
    uint16_t id = F(pkt)->packet_id;
    touch(s, mc);
    client *c = lock_mine(s, mc);
    if (!c)
        return PF_NEXT;
    flight *f = pf__bk_find_flight(c, id, 2, 0);
    if (f) {
        f->rel = 1;
        f->unsent = 0;
        f->sent = 1;
        pf__bk_msg_unref(f->m); /* the message is delivered; only its id remains */
        f->m = NULL;
    }
    pf__bk_pump(c);
    pthread_mutex_unlock(&c->lock);
    reply4(s, 0x62, (uint8_t)(id >> 8), (uint8_t)id); /* MQTT-4.3.3-1 */
    return PF_NEXT;
}

static int mqtt_on_pubrel(pf_session *s, const pf_packet *pkt)
{
    mconn *mc = M(s);
    uint16_t id = F(pkt)->packet_id;
    touch(s, mc);
    client *c = lock_mine(s, mc);
    if (!c)
        return PF_NEXT;
    if (c->qos2_in)
        c->qos2_in[id >> 3] &= (uint8_t)~(1u << (id & 7));
    pf__bk_pump(c);
    pthread_mutex_unlock(&c->lock);
    reply4(s, 0x70, (uint8_t)(id >> 8), (uint8_t)id); /* MQTT-4.3.3-2 */
    return PF_NEXT;
}

/* Retained messages for one SUBSCRIBE: references, and the QoS each goes at. */
typedef struct rlist {
    msg **m;
    uint8_t *qos;
    size_t n, cap, qcap;
} rlist;

static int mqtt_on_subscribe(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    const pf_mqtt_fields *f = F(pkt);
    mconn *mc = M(s);
    pf_slice list = f->list, flt;
    uint8_t q;
    char hdr[8];
    uint8_t *codes = malloc(f->count);
    unsigned n = 0;
    rlist r = { 0 };

    touch(s, mc);
    if (!codes)
        return -ENOMEM;
    client *c = lock_mine(s, mc);
    if (!c) {
        free(codes);
        return PF_NEXT;
    }
    /* The client's share of retained messages still free (sessions.c
     * enqueue): the walk below stops there. */
    size_t budget = B->conf.max_retained - c->qret;
    pthread_mutex_unlock(&c->lock);

    pthread_mutex_lock(&B->lock);
    while (pf_mqtt_next_filter(&list, 1, &flt, &q)) {
        tnode *node = pf__bk_sub_node(B, flt.ptr, flt.len, 1);
        subref *sr = node ? pf__bk_sub_add(c, node, q) : NULL;
        if (!sr) {
            if (node)
                pf__bk_sub_prune(B, node); /* refused filters leave no nodes */
            codes[n++] = 0x80; /* over max_subs, or out of memory */
            continue;
        }
        sr->mark = 1; /* retained to send, once however often it is repeated */
        codes[n++] = q; /* MQTT-3.9.3: granted as requested */
    }
    /* MQTT-3.3.1-6: retained messages matching each new subscription, at
     * the granted QoS (MQTT-3.3.1-8 via 3.8.4-6). */
    list = f->list;
    while (pf_mqtt_next_filter(&list, 1, &flt, &q) && r.n < budget) {
        tnode *node = pf__bk_sub_node(B, flt.ptr, flt.len, 0);
        subref *sr = NULL;
        for (unsigned i = 0; node && i < c->nsubs && !sr; i++)
            if (c->subs[i].node == node && c->subs[i].mark)
                sr = &c->subs[i];
        if (!sr)
            continue;
        sr->mark = 0;
        size_t from = r.n;
        if (pf__bk_retained_matching(B, flt.ptr, flt.len, budget - r.n, &r.m, &r.n, &r.cap) < 0)
            break;
        if (r.n > r.qcap) {
            uint8_t *nq = realloc(r.qos, r.cap);
            if (!nq) {
                for (size_t i = from; i < r.n; i++)
                    pf__bk_msg_unref(r.m[i]);
                r.n = from;
                break;
            }
            r.qos = nq;
            r.qcap = r.cap;
        }
        for (size_t i = from; i < r.n; i++)
            r.qos[i] = r.m[i]->qos < sr->qos ? r.m[i]->qos : sr->qos;
        /* Let the others in between two walks: each may visit every
         * retained topic ('+/+/+/x'), and a SUBSCRIBE may hold hundreds. */
        pthread_mutex_unlock(&B->lock);
        pthread_mutex_lock(&B->lock);
    }
    for (unsigned i = 0; i < c->nsubs; i++)
        c->subs[i].mark = 0;
    pthread_mutex_unlock(&B->lock);

    size_t h = 1;
    hdr[0] = (char)0x90;
    h += pf__bk_put_len(hdr + 1, 2 + n);
    hdr[h++] = (char)(f->packet_id >> 8);
    hdr[h++] = (char)f->packet_id;
    pf_slice parts[] = { { hdr, h }, { (const char *)codes, n } };
    pf_replyv(s, parts, 2); /* MQTT-3.8.4-1,4,5 */
    free(codes);

    if ((c = lock_mine(s, mc))) {
        for (size_t i = 0; i < r.n; i++)
            pf__bk_deliver(c, r.m[i], r.qos[i], 1); /* queued, then paced */
        pf__bk_pump(c);
        pthread_mutex_unlock(&c->lock);
    }
    for (size_t i = 0; i < r.n; i++)
        pf__bk_msg_unref(r.m[i]);
    free(r.m);
    free(r.qos);
    return PF_NEXT;
}

static int mqtt_on_unsubscribe(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    const pf_mqtt_fields *f = F(pkt);
    mconn *mc = M(s);
    pf_slice list = f->list, flt;

    touch(s, mc);
    client *c = lock_mine(s, mc);
    if (!c)
        return PF_NEXT;
    pthread_mutex_unlock(&c->lock); /* its subscriptions are under B->lock */
    pthread_mutex_lock(&B->lock);
    while (pf_mqtt_next_filter(&list, 0, &flt, NULL)) {
        tnode *node = pf__bk_sub_node(B, flt.ptr, flt.len, 0);
        for (unsigned i = 0; node && i < c->nsubs; i++)
            if (c->subs[i].node == node) {
                pf__bk_sub_del(c, i);
                break;
            }
    }
    pthread_mutex_unlock(&B->lock);
    return reply4(s, 0xb0, (uint8_t)(f->packet_id >> 8), (uint8_t)f->packet_id) < 0 ? -ENOBUFS
                                                                                   : PF_NEXT;
}

static int mqtt_on_pingreq(pf_session *s, const pf_packet *pkt)
{
    static const char pingresp[2] = { (char)0xd0, 0 };
    mconn *mc = M(s);
    (void)pkt;
    touch(s, mc);
    pump_mine(s, mc);
    return pf_reply(s, pingresp, 2) < 0 ? -ENOBUFS : PF_NEXT;
}

static int mqtt_on_disconnect(pf_session *s, const pf_packet *pkt)
{
    mconn *mc = M(s);
    (void)pkt;
    pf__bk_msg_unref(mc->will); /* MQTT-3.14.4-3: discarded */
    mc->will = NULL;
    return PF_NEXT; /* CLOSED is final: MQTT-3.14.4-1 close */
}

/* TIMEOUT: "room" (pf_post_wake: the mailbox took what waited, send more)
 * or the keep-alive ("timer"; "idle" and "deadline" are the runtime's). */
static int mqtt_on_keepalive(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    mconn *mc = M(s);
    if (pkt->raw.len == 4 && memcmp(pkt->raw.ptr, "room", 4) == 0) {
        pump_mine(s, mc);
        return PF_STAY; /* not the keep-alive: the session goes on */
    }
    publish_will(B, mc); /* MQTT-3.1.2-8 */
    return PF_NEXT;      /* MQTT-3.1.2-24: closed */
}

static int mqtt_on_close(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    mconn *mc = M(s);
    (void)pkt;
    if (!mc)
        return PF_NEXT;
    publish_will(B, mc); /* closed without DISCONNECT (MQTT-3.1.2-8) */
    client *c = mc->cl;
    pthread_mutex_lock(&B->lock);
    pthread_mutex_lock(&c->lock);
    int detach = c->attach == mc->attach && !c->retired; /* not taken over */
    if (detach)
        c->h = (pf_handle){ 0, 0 };
    pthread_mutex_unlock(&c->lock);
    if (detach && c->clean)
        pf__bk_client_retire(c); /* MQTT-3.1.2-6: ends with the connection */
    else if (detach && c->p && c->p->own)
        pf__bk_offline_add(c); /* expires, or makes room, from now on */
    pthread_mutex_unlock(&B->lock);
    pf__bk_client_unref(c);
    pf_session_set_data(s, NULL);
    mconn_free(B, mc);
    return PF_NEXT;
}

/* ---- management ------------------------------------------------------------ */

static void resolve(pf_broker_conf *c, const pf_broker_conf *in)
{
    static const pf_broker_conf none;
    *c = in ? *in : none;
    if (!c->max_sessions)
        c->max_sessions = 100000;
    if (!c->max_sessions_per_addr)
        c->max_sessions_per_addr = 1000;
    if (!c->session_expiry_s)
        c->session_expiry_s = 7 * 86400;
    if (!c->max_queued)
        c->max_queued = 1000;
    if (!c->max_subs)
        c->max_subs = 256;
    if (!c->max_retained)
        c->max_retained = 10000;
    if (!c->max_retained_bytes)
        c->max_retained_bytes = 16u << 20;
    if (!c->max_retained_per_addr)
        c->max_retained_per_addr = 1000;
    if (!c->max_retained_bytes_per_addr)
        c->max_retained_bytes_per_addr = 1u << 20;
}

pf_broker *pf_broker_new(const pf_broker_conf *conf)
{
    pf_broker *B = calloc(1, sizeof(*B));
    if (!B)
        return NULL;
    resolve(&B->conf, conf);
    B->ctab_n = B->otab_n = 1024;
    B->ctab = calloc(B->ctab_n, sizeof(*B->ctab));
    B->otab = calloc(B->otab_n, sizeof(*B->otab));
    if (!B->ctab || !B->otab || pf__bk_tree_init(B) < 0 ||
        pthread_mutex_init(&B->lock, NULL) != 0) {
        pf__bk_tree_free(B);
        free(B->ctab);
        free(B->otab);
        free(B);
        return NULL;
    }
    return B;
}

void pf_broker_stats(pf_broker *B, pf_broker_counts *o)
{
    pthread_mutex_lock(&B->lock);
    o->clients = B->nclients;
    o->retained = B->nretained;
    pthread_mutex_unlock(&B->lock);
    o->published = atomic_load(&B->published);
    o->delivered = atomic_load(&B->delivered);
    o->dropped = atomic_load(&B->dropped);
    o->wills = atomic_load(&B->wills);
    o->expired = atomic_load(&B->expired);
    o->evicted = atomic_load(&B->evicted);
    o->refused = atomic_load(&B->refused);
    o->retain_refused = atomic_load(&B->retain_refused);
}

void pf_broker_free(pf_broker *B)
{
    if (!B)
        return;
    for (size_t i = 0; i < B->ctab_n; i++)
        while (B->ctab[i])
            pf__bk_client_retire(B->ctab[i]);
    pf__bk_tree_free(B); /* the retained messages */
    for (size_t i = 0; i < B->otab_n; i++)
        for (owner *o = B->otab[i], *nx; o; o = nx) {
            nx = o->hnext;
            free(o);
        }
    free(B->ctab);
    free(B->otab);
    pthread_mutex_destroy(&B->lock);
    free(B);
}
