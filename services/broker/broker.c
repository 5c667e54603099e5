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
 * every subscriber and the retained store.
 *
 * Threads.  Handlers of different connections run on different workers
 * (and CLOSE on the loop thread), so every broker structure is under one
 * mutex.  Sending to another connection is pf_postv (never blocks; refused
 * when that connection's mailbox is full, see mqtt.h for the policy);
 * sending to the connection whose handler runs is pf_replyv, so it stays
 * in order with that handler's other replies.  Lock order: broker, then
 * post.c's lock (inside pf_postv); post.c never calls back. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "mqtt.h"
#include "mqtt_fsm.h"

typedef struct msg {
    atomic_int refs;
    uint8_t qos, retain;
    size_t tlen, plen;
    char data[];  /* topic, then payload */
} msg;

typedef struct sub {
    char *filter;
    size_t len;
    uint8_t qos;
} sub;

typedef struct flight {
    msg *m;
    uint16_t id;
    uint8_t qos;     /* granted */
    uint8_t rel;     /* QoS 2: PUBREC seen, PUBREL sent, awaiting PUBCOMP */
    uint8_t unsent;  /* the mailbox refused it: send again */
} flight;

typedef struct queued {
    msg *m;
    uint8_t qos;
} queued;

typedef struct client {
    char *id;
    size_t idlen;
    int clean;
    pf_handle h;          /* the attached connection, or none */
    unsigned attach;      /* generation of the attachment */
    sub *subs;
    unsigned nsubs, capsubs;
    flight win[PF_MQTT_WINDOW];
    unsigned nwin;
    queued *q;            /* ring of PF_MQTT_QUEUE, allocated when needed */
    unsigned qhead, qlen;
    uint16_t next_id;
    uint8_t *qos2_in;     /* 65536-bit set of incoming QoS 2 ids, lazily */
    unsigned refs;        /* connections pointing here (current or taken over) */
    struct pf_broker *b;  /* the broker it belongs to */
    int retired;          /* out of the table; freed when refs drops to 0 */
    struct client *hnext, *prev, *next;
} client;

typedef struct mconn {
    client *cl;
    unsigned attach;
    pf_handle h;
    unsigned ka_ms;       /* 1.5 x keep-alive, 0: none */
    msg *will;
} mconn;

#define NBUCKETS 4096u

struct pf_broker {
    pthread_mutex_t lock;
    client *buckets[NBUCKETS];
    client *all;
    unsigned nclients;
    msg **retained;
    unsigned nretained, capretained;
    size_t retained_bytes;
    unsigned long auto_id;
    atomic_uint_fast64_t published, delivered, dropped, wills;
};

#define COUNT(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)

MQTT_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(MQTT_HANDLERS);
const pf_service pf_broker_service = { &pf_mqtt_protocol, &mqtt_fsm, handlers };

/* ---- messages ------------------------------------------------------------ */

static msg *msg_new(pf_slice topic, pf_slice payload, uint8_t qos, uint8_t retain)
{
    msg *m = malloc(sizeof(*m) + topic.len + payload.len);
    if (!m)
        return NULL;
    atomic_init(&m->refs, 1);
    m->qos = qos;
    m->retain = retain;
    m->tlen = topic.len;
    m->plen = payload.len;
    memcpy(m->data, topic.ptr, topic.len);
    if (payload.len)
        memcpy(m->data + topic.len, payload.ptr, payload.len);
    return m;
}

static msg *msg_ref(msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

static void msg_unref(msg *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        free(m);
}

/* ---- encoding ------------------------------------------------------------ */

static size_t put_len(char *b, size_t n)
{
    size_t i = 0;
    do {
        uint8_t d = n & 0x7f;
        n >>= 7;
        b[i++] = (char)(d | (n ? 0x80 : 0));
    } while (n);
    return i;
}

/* Send a PUBLISH of `m` to `cl`: through `self` when the handler running is
 * that client's connection's, else by post.  0, or <0 when refused. */
static int send_publish(client *cl, pf_session *self, const msg *m, uint8_t qos,
                        uint16_t id, int dup, int retain)
{
    char hdr[8 + 2], idb[2] = { (char)(id >> 8), (char)id };
    size_t rem = 2 + m->tlen + (qos ? 2 : 0) + m->plen, h = 1;
    hdr[0] = (char)(0x30 | (dup ? 8 : 0) | qos << 1 | (retain ? 1 : 0));
    h += put_len(hdr + 1, rem);
    hdr[h++] = (char)(m->tlen >> 8);
    hdr[h++] = (char)m->tlen;
    pf_slice parts[] = {
        { hdr, h }, { m->data, m->tlen }, { idb, qos ? 2u : 0u }, { m->data + m->tlen, m->plen },
    };
    if (self)
        return pf_replyv(self, parts, 4);
    return pf_postv(cl->h, parts, 4);
}

static int reply4(pf_session *s, uint8_t type, uint8_t a, uint8_t b)
{
    char p[4] = { (char)type, 2, (char)a, (char)b };
    return pf_reply(s, p, 4);
}

/* ---- clients ------------------------------------------------------------- */

static unsigned hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h % NBUCKETS;
}

static client *client_find(pf_broker *B, const char *id, size_t n)
{
    for (client *c = B->buckets[hash(id, n)]; c; c = c->hnext)
        if (c->idlen == n && memcmp(c->id, id, n) == 0)
            return c;
    return NULL;
}

static client *client_new(pf_broker *B, const char *id, size_t n)
{
    client *c = calloc(1, sizeof(*c));
    if (!c || !(c->id = malloc(n ? n : 1))) {
        free(c);
        return NULL;
    }
    memcpy(c->id, id, n);
    c->idlen = n;
    c->b = B;
    c->next_id = 1;
    unsigned b = hash(id, n);
    c->hnext = B->buckets[b];
    B->buckets[b] = c;
    c->next = B->all;
    if (B->all)
        B->all->prev = c;
    B->all = c;
    B->nclients++;
    return c;
}

static void client_destroy(client *c)
{
    for (unsigned i = 0; i < c->nsubs; i++)
        free(c->subs[i].filter);
    for (unsigned i = 0; i < c->nwin; i++)
        msg_unref(c->win[i].m);
    for (unsigned i = 0; i < c->qlen; i++)
        msg_unref(c->q[(c->qhead + i) % PF_MQTT_QUEUE].m);
    free(c->subs);
    free(c->q);
    free(c->qos2_in);
    free(c->id);
    free(c);
}

/* Take `c` out of the table; its memory goes when no connection points
 * at it any more (a taken-over connection may still be closing). */
static void client_retire(client *c)
{
    pf_broker *B = c->b;
    client **pp = &B->buckets[hash(c->id, c->idlen)];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (c->prev)
        c->prev->next = c->next;
    else
        B->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    B->nclients--;
    c->retired = 1;
    if (c->refs == 0)
        client_destroy(c);
}

static uint16_t new_id(client *c)
{
    for (;;) {
        uint16_t id = c->next_id++;
        if (c->next_id == 0)
            c->next_id = 1;
        unsigned i = 0;
        while (i < c->nwin && c->win[i].id != id)
            i++;
        if (i == c->nwin)
            return id;
    }
}

/* Put a QoS 1/2 message in flight to `c` and send it. */
static void fly(client *c, pf_session *self, msg *m, uint8_t qos, int retain)
{
    pf_broker *B = c->b;
    flight *f = &c->win[c->nwin++];
    f->m = msg_ref(m);
    f->qos = qos;
    f->id = new_id(c);
    f->rel = 0;
    f->unsent = send_publish(c, self, m, qos, f->id, 0, retain) < 0;
    if (f->unsent)
        COUNT(B->dropped);
    else
        COUNT(B->delivered);
}

static void enqueue(client *c, msg *m, uint8_t qos)
{
    pf_broker *B = c->b;
    if (!c->q && !(c->q = malloc(PF_MQTT_QUEUE * sizeof(*c->q)))) {
        COUNT(B->dropped);
        return;
    }
    if (c->qlen == PF_MQTT_QUEUE) {
        COUNT(B->dropped); /* the newest is dropped: documented in mqtt.h */
        return;
    }
    c->q[(c->qhead + c->qlen++) % PF_MQTT_QUEUE] = (queued){ msg_ref(m), qos };
}

/* The client's own connection is running a handler (`self`): resend what
 * the mailbox refused, then move queued messages into the window. */
static void pump(client *c, pf_session *self)
{
    for (unsigned i = 0; i < c->nwin; i++) {
        flight *f = &c->win[i];
        if (f->unsent && !f->rel && send_publish(c, self, f->m, f->qos, f->id, 0, 0) == 0)
            f->unsent = 0;
    }
    while (c->qlen && c->nwin < PF_MQTT_WINDOW) {
        queued q = c->q[c->qhead];
        c->qhead = (c->qhead + 1) % PF_MQTT_QUEUE;
        c->qlen--;
        fly(c, self, q.m, q.qos, 0);
        msg_unref(q.m);
    }
}

/* Deliver `m` at `qos` to `c`; `self` is c's running connection or NULL. */
static void deliver(client *c, pf_session *self, msg *m, uint8_t qos, int retain)
{
    pf_broker *B = c->b;
    int online = !pf_handle_is_none(c->h);
    if (qos == 0) {
        if (!online)
            return; /* QoS 0 is not kept for offline sessions */
        if (send_publish(c, self, m, 0, 0, 0, retain) < 0)
            COUNT(B->dropped);
        else
            COUNT(B->delivered);
        return;
    }
    if (online && c->nwin < PF_MQTT_WINDOW && c->qlen == 0)
        fly(c, self, m, qos, retain);
    else {
        enqueue(c, m, qos);
    }
}

static pf_session *self_of(client *c, pf_session *s, const mconn *mc)
{
    return mc && mc->cl == c && mc->attach == c->attach ? s : NULL;
}

/* ---- routing and the retained store ---------------------------------------- */

static void retain_store(pf_broker *B, msg *m)
{
    unsigned i = 0;
    while (i < B->nretained &&
           !(B->retained[i]->tlen == m->tlen && memcmp(B->retained[i]->data, m->data, m->tlen) == 0))
        i++;
    if (i < B->nretained) {
        B->retained_bytes -= B->retained[i]->tlen + B->retained[i]->plen;
        msg_unref(B->retained[i]);
        if (m->plen == 0) { /* MQTT-3.3.1-10,11: an empty payload deletes */
            B->retained[i] = B->retained[--B->nretained];
            return;
        }
    } else {
        if (m->plen == 0)
            return; /* MQTT-3.3.1-10: not stored */
        if (B->nretained == PF_MQTT_RETAINED ||
            B->retained_bytes + m->tlen + m->plen > PF_MQTT_RETAINED_BYTES)
            return; /* limit: delivered, not kept */
        if (B->nretained == B->capretained) {
            unsigned cap = B->capretained ? B->capretained * 2 : 16;
            msg **r = realloc(B->retained, cap * sizeof(*r));
            if (!r)
                return;
            B->retained = r;
            B->capretained = cap;
        }
        B->nretained++;
    }
    B->retained[i] = msg_ref(m);
    B->retained_bytes += m->tlen + m->plen;
}

/* Under the lock: hand `m` to every matching subscription, once per
 * client at the highest QoS of its matching subscriptions (MQTT-3.3.5-1). */
static void route(pf_broker *B, msg *m, pf_session *s, const mconn *mc)
{
    for (client *c = B->all; c; c = c->next) {
        int best = -1;
        for (unsigned i = 0; i < c->nsubs; i++)
            if (c->subs[i].qos > best &&
                pf_mqtt_match(c->subs[i].filter, c->subs[i].len, m->data, m->tlen))
                best = c->subs[i].qos;
        if (best < 0)
            continue;
        uint8_t qos = m->qos < best ? m->qos : (uint8_t)best; /* MQTT-3.8.4-6 */
        deliver(c, self_of(c, s, mc), m, qos, 0);          /* MQTT-3.3.1-9 */
    }
}

static void publish_will(pf_broker *B, mconn *mc)
{
    msg *w = mc->will;
    if (!w)
        return;
    mc->will = NULL;
    COUNT(B->wills);
    if (w->retain)
        retain_store(B, w);
    route(B, w, NULL, NULL);
    msg_unref(w);
}

/* ---- handlers ------------------------------------------------------------ */

static const pf_mqtt_fields *F(const pf_packet *pkt) { return pkt->fields; }
/* The broker this session's listener serves (pf_listen_conf.data). */
static pf_broker *broker_of(pf_session *s) { return pf_session_listener_data(s); }
static mconn *M(pf_session *s) { return pf_session_data(s); }

/* Under the lock: this connection's client, or NULL once another
 * connection took it over (this one is being closed, MQTT-3.1.4-2, and its
 * packets no longer act on the session). */
static client *mine(pf_session *s, const mconn *mc)
{
    client *c = mc->cl;
    if (c->attach == mc->attach && !c->retired)
        return c;
    pf_close(s);
    return NULL;
}

/* Every packet restarts the keep-alive clock (MQTT-3.1.2-24). */
static void touch(pf_session *s, const mconn *mc)
{
    if (mc && mc->ka_ms)
        pf_session_timer(s, mc->ka_ms);
}

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
    if (!mc || pf_session_handle(s, &mc->h) < 0) {
        free(mc);
        return refuse(s, 3);
    }
    if (f->connect_flags & PF_MQTT_CF_WILL) {
        mc->will = msg_new(f->will_topic, f->will_message, PF_MQTT_CF_WILL_QOS(f->connect_flags),
                           (f->connect_flags & PF_MQTT_CF_WILL_RETAIN) != 0);
        if (!mc->will) {
            free(mc);
            return refuse(s, 3);
        }
    }
    pthread_mutex_lock(&B->lock);
    if (id.len == 0) { /* MQTT-3.1.3-6: assign one */
        id.len = (size_t)snprintf(autoid, sizeof(autoid), "protofsm-%lu", ++B->auto_id);
        id.ptr = autoid;
    }
    client *c = client_find(B, id.ptr, id.len);
    int present = 0;
    if (c && !pf_handle_is_none(c->h)) {
        pf_post_close(c->h); /* MQTT-3.1.4-2: take over */
        c->h = (pf_handle){ 0, 0 };
        c->attach++;
    }
    if (c && clean) {
        client_retire(c); /* MQTT-3.1.2-6: a new session */
        c = NULL;
    }
    present = c != NULL;
    if (!c && (B->nclients >= PF_MQTT_CLIENTS || !(c = client_new(B, id.ptr, id.len)))) {
        pthread_mutex_unlock(&B->lock);
        msg_unref(mc->will);
        free(mc);
        return refuse(s, 3);
    }
    c->clean = clean;
    c->h = mc->h;
    c->attach++;
    c->refs++;
    mc->cl = c;
    mc->attach = c->attach;
    pf_session_set_data(s, mc);
    /* MQTT-3.1.2-24: 1.5 x keep-alive; 0 turns it (and the CONNECT timer) off. */
    mc->ka_ms = f->keep_alive * 1500u;
    pf_session_timer(s, mc->ka_ms);
    reply4(s, 0x20, present, 0); /* MQTT-3.2.2-2,3 */
    if (present) {
        /* MQTT-4.4.0-1: resend unacknowledged PUBLISH (DUP) and PUBREL. */
        for (unsigned i = 0; i < c->nwin; i++) {
            flight *fl = &c->win[i];
            if (fl->rel)
                reply4(s, 0x62, (uint8_t)(fl->id >> 8), (uint8_t)fl->id);
            else
                send_publish(c, s, fl->m, fl->qos, fl->id, !fl->unsent, 0);
            fl->unsent = 0;
        }
        pump(c, s);
    }
    pthread_mutex_unlock(&B->lock);
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
    COUNT(B->published);
    pthread_mutex_lock(&B->lock);
    client *c = mine(s, mc);
    if (!c) {
        pthread_mutex_unlock(&B->lock);
        return PF_NEXT;
    }
    if (f->qos == 2) {
        /* Deliver on PUBLISH, and not again for a resent one until PUBREL
         * frees the identifier (MQTT-4.3.3-2, method B of figure 4.3). */
        if (!c->qos2_in)
            c->qos2_in = calloc(8192, 1);
        if (c->qos2_in) {
            fresh = !(c->qos2_in[f->packet_id >> 3] & (1u << (f->packet_id & 7)));
            c->qos2_in[f->packet_id >> 3] |= (uint8_t)(1u << (f->packet_id & 7));
        }
    }
    if (fresh) {
        msg *m = msg_new(f->topic, f->payload, f->qos, f->retain);
        if (m) {
            if (f->retain)
                retain_store(B, m); /* MQTT-3.3.1-5 */
            route(B, m, s, mc);
            msg_unref(m);
        }
    }
    pump(c, s);
    pthread_mutex_unlock(&B->lock);
    if (f->qos == 1)
        reply4(s, 0x40, (uint8_t)(f->packet_id >> 8), (uint8_t)f->packet_id);
    else if (f->qos == 2)
        reply4(s, 0x50, (uint8_t)(f->packet_id >> 8), (uint8_t)f->packet_id);
    return PF_NEXT;
}

/* PUBACK (qos 1), PUBREC (qos 2, first step), PUBCOMP (qos 2, rel). */
static flight *find_flight(client *c, uint16_t id, uint8_t qos, uint8_t rel)
{
    for (unsigned i = 0; i < c->nwin; i++)
        if (c->win[i].id == id && c->win[i].qos == qos && c->win[i].rel == rel)
            return &c->win[i];
    return NULL;
}

static void land(client *c, flight *f)
{
    msg_unref(f->m);
    /* Keep the window in sending order for redelivery. */
    memmove(f, f + 1, (size_t)(c->win + c->nwin - (f + 1)) * sizeof(*f));
    c->nwin--;
}

static int mqtt_on_puback(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    mconn *mc = M(s);
    touch(s, mc);
    pthread_mutex_lock(&B->lock);
    client *c = mine(s, mc);
    flight *f = c ? find_flight(c, F(pkt)->packet_id, 1, 0) : NULL;
    if (f)
        land(c, f);
    if (c)
        pump(c, s);
    pthread_mutex_unlock(&B->lock);
    return PF_NEXT;
}

static int mqtt_on_pubrec(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    mconn *mc = M(s);
    uint16_t id = F(pkt)->packet_id;
    touch(s, mc);
    pthread_mutex_lock(&B->lock);
    client *c = mine(s, mc);
    flight *f = c ? find_flight(c, id, 2, 0) : NULL;
    if (f) {
        f->rel = 1;
        f->unsent = 0;
        msg_unref(f->m); /* the message is delivered; only its id remains */
        f->m = NULL;
    }
    if (c)
        pump(c, s);
    pthread_mutex_unlock(&B->lock);
    reply4(s, 0x62, (uint8_t)(id >> 8), (uint8_t)id); /* MQTT-4.3.3-1 */
    return PF_NEXT;
}

static int mqtt_on_pubrel(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    mconn *mc = M(s);
    uint16_t id = F(pkt)->packet_id;
    touch(s, mc);
    pthread_mutex_lock(&B->lock);
    client *c = mine(s, mc);
    if (c && c->qos2_in)
        c->qos2_in[id >> 3] &= (uint8_t)~(1u << (id & 7));
    if (c)
        pump(c, s);
    pthread_mutex_unlock(&B->lock);
    reply4(s, 0x70, (uint8_t)(id >> 8), (uint8_t)id); /* MQTT-4.3.3-2 */
    return PF_NEXT;
}

static int mqtt_on_pubcomp(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    mconn *mc = M(s);
    touch(s, mc);
    pthread_mutex_lock(&B->lock);
    client *c = mine(s, mc);
    flight *f = c ? find_flight(c, F(pkt)->packet_id, 2, 1) : NULL;
    if (f)
        land(c, f);
    if (c)
        pump(c, s);
    pthread_mutex_unlock(&B->lock);
    return PF_NEXT;
}

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

    touch(s, mc);
    if (!codes)
        return -ENOMEM;
    pthread_mutex_lock(&B->lock);
    client *c = mine(s, mc);
    if (!c) {
        pthread_mutex_unlock(&B->lock);
        free(codes);
        return PF_NEXT;
    }
    while (pf_mqtt_next_filter(&list, 1, &flt, &q)) {
        unsigned i = 0;
        while (i < c->nsubs && !(c->subs[i].len == flt.len && memcmp(c->subs[i].filter, flt.ptr, flt.len) == 0))
            i++;
        if (i == c->nsubs) { /* MQTT-3.8.4-3: an identical filter is replaced */
            if (c->nsubs == PF_MQTT_MAX_SUBS) {
                codes[n++] = 0x80;
                continue;
            }
            if (c->nsubs == c->capsubs) {
                unsigned cap = c->capsubs ? c->capsubs * 2 : 4;
                sub *ns = realloc(c->subs, cap * sizeof(*ns));
                char *fs = malloc(flt.len);
                if (!ns || !fs) {
                    if (ns)
                        c->subs = ns;
                    free(fs);
                    codes[n++] = 0x80;
                    continue;
                }
                c->subs = ns;
                c->capsubs = cap;
                c->subs[i].filter = fs;
            } else if (!(c->subs[i].filter = malloc(flt.len))) {
                codes[n++] = 0x80;
                continue;
            }
            memcpy(c->subs[i].filter, flt.ptr, flt.len);
            c->subs[i].len = flt.len;
            c->nsubs++;
        }
        c->subs[i].qos = q;
        codes[n++] = q; /* MQTT-3.9.3: granted as requested */
    }
    size_t h = 1;
    hdr[0] = (char)0x90;
    h += put_len(hdr + 1, 2 + n);
    hdr[h++] = (char)(f->packet_id >> 8);
    hdr[h++] = (char)f->packet_id;
    pf_slice parts[] = { { hdr, h }, { (const char *)codes, n } };
    pf_replyv(s, parts, 2); /* MQTT-3.8.4-1,4,5 */
    /* MQTT-3.3.1-6: retained messages matching each new subscription. */
    list = f->list;
    unsigned k = 0;
    while (pf_mqtt_next_filter(&list, 1, &flt, &q)) {
        if (codes[k++] & 0x80)
            continue;
        for (unsigned i = 0; i < B->nretained; i++) {
            msg *m = B->retained[i];
            if (pf_mqtt_match(flt.ptr, flt.len, m->data, m->tlen))
                deliver(c, s, m, m->qos < q ? m->qos : q, 1); /* MQTT-3.3.1-8 */
        }
    }
    pthread_mutex_unlock(&B->lock);
    free(codes);
    return PF_NEXT;
}

static int mqtt_on_unsubscribe(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    const pf_mqtt_fields *f = F(pkt);
    mconn *mc = M(s);
    pf_slice list = f->list, flt;

    touch(s, mc);
    pthread_mutex_lock(&B->lock);
    client *c = mine(s, mc);
    while (c && pf_mqtt_next_filter(&list, 0, &flt, NULL)) {
        for (unsigned i = 0; i < c->nsubs; i++)
            if (c->subs[i].len == flt.len && memcmp(c->subs[i].filter, flt.ptr, flt.len) == 0) {
                free(c->subs[i].filter);
                c->subs[i] = c->subs[--c->nsubs];
                break;
            }
    }
    pthread_mutex_unlock(&B->lock);
    return reply4(s, 0xb0, (uint8_t)(f->packet_id >> 8), (uint8_t)f->packet_id) < 0 ? -ENOBUFS
                                                                                   : PF_NEXT;
}

static int mqtt_on_pingreq(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    static const char pingresp[2] = { (char)0xd0, 0 };
    mconn *mc = M(s);
    (void)pkt;
    touch(s, mc);
    pthread_mutex_lock(&B->lock);
    client *c = mine(s, mc);
    if (c)
        pump(c, s);
    pthread_mutex_unlock(&B->lock);
    return pf_reply(s, pingresp, 2) < 0 ? -ENOBUFS : PF_NEXT;
}

static int mqtt_on_disconnect(pf_session *s, const pf_packet *pkt)
{
    mconn *mc = M(s);
    (void)pkt;
    msg_unref(mc->will); /* MQTT-3.14.4-3: discarded */
    mc->will = NULL;
    return PF_NEXT; /* CLOSED is final: MQTT-3.14.4-1 close */
}

static int mqtt_on_keepalive(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    mconn *mc = M(s);
    (void)pkt; /* "timer": keep-alive; "idle", "deadline": the runtime's */
    pthread_mutex_lock(&B->lock);
    publish_will(B, mc); /* MQTT-3.1.2-8 */
    pthread_mutex_unlock(&B->lock);
    return PF_NEXT; /* MQTT-3.1.2-24: closed */
}

static int mqtt_on_close(pf_session *s, const pf_packet *pkt)
{
    pf_broker *B = broker_of(s);
    mconn *mc = M(s);
    (void)pkt;
    if (!mc)
        return PF_NEXT;
    pthread_mutex_lock(&B->lock);
    publish_will(B, mc); /* closed without DISCONNECT (MQTT-3.1.2-8) */
    client *c = mc->cl;
    if (c->attach == mc->attach && !c->retired) { /* not taken over */
        c->h = (pf_handle){ 0, 0 };
        if (c->clean)
            client_retire(c); /* MQTT-3.1.2-6: ends with the connection */
    }
    if (--c->refs == 0 && c->retired)
        client_destroy(c);
    pthread_mutex_unlock(&B->lock);
    pf_session_set_data(s, NULL);
    free(mc);
    return PF_NEXT;
}

/* ---- management ------------------------------------------------------------ */

pf_broker *pf_broker_new(void)
{
    pf_broker *B = calloc(1, sizeof(*B));
    if (!B)
        return NULL;
    if (pthread_mutex_init(&B->lock, NULL) != 0) {
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
}

void pf_broker_free(pf_broker *B)
{
    if (!B)
        return;
    while (B->all)
        client_retire(B->all);
    for (unsigned i = 0; i < B->nretained; i++)
        msg_unref(B->retained[i]);
    free(B->retained);
    pthread_mutex_destroy(&B->lock);
    free(B);
}
