/* The broker's sessions: messages, owners, the client table with expiry and
 * eviction, and delivery to one client.
 *
 * Admission.  A persistent session (CleanSession 0) used to live forever,
 * so one client could fill the table with sessions it never meant to use
 * and lock every newcomer out.  Now an offline persistent session expires,
 * and when the table (or an address's share of it) is full, the session
 * that has been offline longest makes room: online clients are never
 * touched, and an address that hoards sessions only evicts its own.
 *
 * Delivery and pacing.  Every PUBLISH to a client goes through the mailbox
 * of its connection (pf_postv), also the ones its own handlers send: the
 * mailbox holds at most max_output bytes and the runtime moves it into the
 * output only while the output is below its high-water mark, so whatever
 * the broker does, a connection never holds more than that, and nothing the
 * broker sends can make the runtime close it.  What the mailbox refuses
 * stays here (QoS 1/2 in the window or the queue, retained messages for a
 * new subscription in the queue) and pf_post_wake asks for the "room" event,
 * which runs pf__bk_pump on the client's own connection. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "broker_impl.h"

uint64_t pf__bk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- messages -------------------------------------------------------------- */

msg *pf__bk_msg_new(pf_slice topic, pf_slice payload, uint8_t qos, uint8_t retain)
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

msg *pf__bk_msg_ref(msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void pf__bk_msg_unref(msg *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        free(m);
}

/* ---- hash tables ------------------------------------------------------------- */

static size_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 31));
}

/* Double a chained table when it holds twice as many as it has buckets;
 * `next` is the offset of the chain pointer in an entry, `key` computes
 * an entry's hash.  When memory is short the chains just get longer. */
#define GROW(tab, n, cnt, type, link, keyhash)                                        \
    do {                                                                          \
        if ((cnt) < (n) * 2)                                                      \
            break;                                                                \
        size_t nn_ = (n) * 2;                                                     \
        type **nt_ = calloc(nn_, sizeof(*nt_));                                   \
        if (!nt_)                                                                 \
            break;                                                                \
        for (size_t i_ = 0; i_ < (n); i_++)                                       \
            for (type *e_ = (tab)[i_], *x_; e_; e_ = x_) {                        \
                x_ = e_->link;                                                    \
                size_t b_ = keyhash(e_) & (nn_ - 1);                              \
                e_->link = nt_[b_];                                               \
                nt_[b_] = e_;                                                     \
            }                                                                     \
        free(tab);                                                                \
        (tab) = nt_;                                                              \
        (n) = nn_;                                                                \
    } while (0)

/* ---- owners ------------------------------------------------------------------ */

#define OWNER_HASH(o) hash((o)->key, (o)->klen)

owner *pf__bk_owner_get(pf_broker *B, pf_session *s, pf_slice client_id)
{
    char buf[1 + 16], *key = buf;
    size_t kl = 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int peer = pf_session_peer(s, &ss, &sl) == 0;

    if (peer && ss.ss_family == AF_INET) {
        key[kl++] = 4;
        memcpy(key + kl, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        kl += 4;
    } else if (peer && ss.ss_family == AF_INET6) {
        const uint8_t *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(a, mapped, 12) == 0) { /* an IPv4 client on a dual-stack socket */
            key[kl++] = 4;
            memcpy(key + kl, a + 12, 4);
            kl += 4;
        } else { /* one /64: what one host is given */
            key[kl++] = 6;
            memcpy(key + kl, a, 8);
            kl += 8;
        }
    } else { /* no address (driven by hand, a UNIX socket): the client id */
        if (!(key = malloc(1 + client_id.len)))
            return NULL;
        key[kl++] = 0;
        memcpy(key + kl, client_id.ptr, client_id.len);
        kl += client_id.len;
    }
    size_t h = hash(key, kl);
    owner *o;
    for (o = B->otab[h & (B->otab_n - 1)]; o; o = o->hnext)
        if (o->klen == kl && memcmp(o->key, key, kl) == 0)
            break;
    if (o) {
        o->refs++;
    } else if ((o = calloc(1, sizeof(*o) + kl))) {
        memcpy(o->key, key, kl);
        o->klen = kl;
        o->refs = 1;
        GROW(B->otab, B->otab_n, B->nowners, owner, hnext, OWNER_HASH);
        size_t b = h & (B->otab_n - 1);
        o->hnext = B->otab[b];
        B->otab[b] = o;
        B->nowners++;
    }
    if (key != buf)
        free(key);
    return o;
}

void pf__bk_owner_put(pf_broker *B, owner *o)
{
    if (!o || --o->refs)
        return;
    owner **pp = &B->otab[OWNER_HASH(o) & (B->otab_n - 1)];
    while (*pp != o)
        pp = &(*pp)->hnext;
    *pp = o->hnext;
    B->nowners--;
    free(o);
}

/* ---- the client table ---------------------------------------------------------- */

#define CLIENT_HASH(c) hash((c)->id, (c)->idlen)

client *pf__bk_client_find(pf_broker *B, const char *id, size_t n)
{
    for (client *c = B->ctab[hash(id, n) & (B->ctab_n - 1)]; c; c = c->hnext)
        if (c->idlen == n && memcmp(c->id, id, n) == 0)
            return c;
    return NULL;
}

client *pf__bk_client_new(pf_broker *B, const char *id, size_t n)
{
    client *c = calloc(1, offsetof(client, id) + n);
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    memcpy(c->id, id, n);
    c->idlen = n;
    c->b = B;
    c->next_id = 1;
    atomic_init(&c->refs, 1); /* the table's */
    GROW(B->ctab, B->ctab_n, B->nclients, client, hnext, CLIENT_HASH);
    size_t b = CLIENT_HASH(c) & (B->ctab_n - 1);
    c->hnext = B->ctab[b];
    B->ctab[b] = c;
    B->nclients++;
    return c;
}

static void client_destroy(client *c)
{
    for (unsigned i = 0; i < c->nwin; i++)
        pf__bk_msg_unref(c->win[i].m);
    for (unsigned i = 0; i < c->qlen; i++)
        pf__bk_msg_unref(c->q[(c->qhead + i) % c->qcap].m);
    pthread_mutex_destroy(&c->lock);
    free(c->subs);
    free(c->win);
    free(c->q);
    free(c->qos2_in);
    free(c->p);
    free(c);
}

void pf__bk_client_ref(client *c) { atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed); }

void pf__bk_client_unref(client *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        client_destroy(c);
}

void pf__bk_offline_add(client *c)
{
    pf_broker *B = c->b;
    persist *p = c->p;
    owner *o = p->own;
    p->offline_at = pf__bk_now_ms();
    p->lru_next = NULL;
    p->lru_prev = B->lru_tail;
    if (B->lru_tail)
        B->lru_tail->p->lru_next = c;
    else
        B->lru_head = c;
    B->lru_tail = c;
    p->own_next = NULL;
    p->own_prev = o->off_tail;
    if (o->off_tail)
        o->off_tail->p->own_next = c;
    else
        o->off_head = c;
    o->off_tail = c;
}

void pf__bk_offline_del(client *c)
{
    pf_broker *B = c->b;
    persist *p = c->p;
    if (!p || !p->offline_at)
        return;
    owner *o = p->own;
    p->offline_at = 0;
    if (p->lru_prev)
        p->lru_prev->p->lru_next = p->lru_next;
    else
        B->lru_head = p->lru_next;
    if (p->lru_next)
        p->lru_next->p->lru_prev = p->lru_prev;
    else
        B->lru_tail = p->lru_prev;
    if (p->own_prev)
        p->own_prev->p->own_next = p->own_next;
    else
        o->off_head = p->own_next;
    if (p->own_next)
        p->own_next->p->own_prev = p->own_prev;
    else
        o->off_tail = p->own_prev;
    p->lru_prev = p->lru_next = p->own_prev = p->own_next = NULL;
}

void pf__bk_client_retire(client *c)
{
    pf_broker *B = c->b;
    client **pp = &B->ctab[CLIENT_HASH(c) & (B->ctab_n - 1)];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    B->nclients--;
    while (c->nsubs)
        pf__bk_sub_del(c, c->nsubs - 1);
    if (c->p && c->p->own) {
        pf__bk_offline_del(c);
        c->p->own->sessions--;
        pf__bk_owner_put(B, c->p->own);
        c->p->own = NULL;
    }
    pthread_mutex_lock(&c->lock);
    c->retired = 1;
    pthread_mutex_unlock(&c->lock);
    pf__bk_client_unref(c); /* the table's reference */
}

void pf__bk_expire(pf_broker *B, uint64_t now)
{
    uint64_t ttl = (uint64_t)B->conf.session_expiry_s * 1000u;
    if (B->conf.session_expiry_s == PF_BROKER_UNLIMITED)
        return;
    while (B->lru_head && now - B->lru_head->p->offline_at >= ttl) {
        pf__bk_client_retire(B->lru_head);
        PF__BK_COUNT(B->expired);
    }
}

int pf__bk_admit(pf_broker *B, owner *o, int persistent)
{
    if (persistent && o && B->conf.max_sessions_per_addr != PF_BROKER_UNLIMITED &&
        o->sessions >= B->conf.max_sessions_per_addr) {
        if (!o->off_head)
            return -EBUSY;
        pf__bk_client_retire(o->off_head); /* the address pays, not the others */
        PF__BK_COUNT(B->evicted);
    }
    if (B->nclients >= B->conf.max_sessions) {
        if (!B->lru_head)
            return -EBUSY;
        pf__bk_client_retire(B->lru_head);
        PF__BK_COUNT(B->evicted);
    }
    return 0;
}

/* ---- delivery (under c->lock) ------------------------------------------------------ */

size_t pf__bk_put_len(char *b, size_t n)
{
    size_t i = 0;
    do {
        uint8_t d = n & 0x7f;
        n >>= 7;
        b[i++] = (char)(d | (n ? 0x80 : 0));
    } while (n);
    return i;
}

static int send_publish(client *c, const msg *m, uint8_t qos, uint16_t id, int dup, int retain)
{
    char hdr[8 + 2], idb[2] = { (char)(id >> 8), (char)id };
    size_t rem = 2 + m->tlen + (qos ? 2 : 0) + m->plen, h = 1;
    hdr[0] = (char)(0x30 | (dup ? 8 : 0) | qos << 1 | (retain ? 1 : 0));
    h += pf__bk_put_len(hdr + 1, rem);
    hdr[h++] = (char)(m->tlen >> 8);
    hdr[h++] = (char)m->tlen;
    pf_slice parts[] = {
        { hdr, h }, { m->data, m->tlen }, { idb, qos ? 2u : 0u }, { m->data + m->tlen, m->plen },
    };
    return pf_postv(c->h, parts, 4);
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

flight *pf__bk_find_flight(client *c, uint16_t id, uint8_t qos, uint8_t rel)
{
    for (unsigned i = 0; i < c->nwin; i++)
        if (c->win[i].id == id && c->win[i].qos == qos && c->win[i].rel == rel)
            return &c->win[i];
    return NULL;
}

void pf__bk_land(client *c, flight *f)
{
    pf__bk_msg_unref(f->m);
    /* Keep the window in sending order for redelivery. */
    memmove(f, f + 1, (size_t)(c->win + c->nwin - (f + 1)) * sizeof(*f));
    c->nwin--;
}

void pf__bk_resend_all(client *c)
{
    for (unsigned i = 0; i < c->nwin; i++)
        c->win[i].unsent = 1; /* MQTT-4.4.0-1, in order, DUP where sent before */
}

/* The mailbox refused: ask for "room" (nothing to do when the connection
 * is gone; the session waits for the next one). */
static void wait_room(client *c)
{
    (void)pf_post_wake(c->h);
}

static int enqueue(client *c, msg *m, uint8_t qos, int retain)
{
    pf_broker *B = c->b;
    unsigned live = c->qlen - c->qret;
    if (retain ? c->qret >= B->conf.max_retained : live >= B->conf.max_queued)
        return -ENOBUFS;
    if (c->qlen == c->qcap) {
        unsigned cap = c->qcap ? c->qcap * 2 : 16;
        queued *nq = malloc(cap * sizeof(*nq));
        if (!nq)
            return -ENOMEM;
        for (unsigned i = 0; i < c->qlen; i++)
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = nq;
        c->qcap = cap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qlen++) % c->qcap] = (queued){ pf__bk_msg_ref(m), qos, (uint8_t)retain };
    c->qret += retain != 0;
    return 0;
}

static void dequeue(client *c)
{
    c->qret -= c->q[c->qhead].retain != 0;
    c->qhead = (c->qhead + 1) % c->qcap;
    if (--c->qlen == 0) { /* a burst is over: give its memory back */
        free(c->q);
        c->q = NULL;
        c->qcap = c->qhead = 0;
    }
}

void pf__bk_deliver(client *c, msg *m, uint8_t qos, int retain)
{
    pf_broker *B = c->b;
    int online = !pf_handle_is_none(c->h);
    if (qos == 0 && !retain) {
        if (!online)
            return; /* QoS 0 is not kept for offline sessions */
        if (c->qlen == 0) {
            if (send_publish(c, m, 0, 0, 0, 0) < 0)
                PF__BK_COUNT(B->dropped); /* QoS 0 may drop */
            else
                PF__BK_COUNT(B->delivered);
            return;
        }
    }
    /* Behind what is queued, to keep each topic's order. */
    if (enqueue(c, m, qos, retain) < 0) {
        PF__BK_COUNT(B->dropped); /* the newest is dropped */
        return;
    }
    if (online)
        pf__bk_pump(c);
}

void pf__bk_pump(client *c)
{
    pf_broker *B = c->b;
    if (pf_handle_is_none(c->h))
        return;
    for (unsigned i = 0; i < c->nwin; i++) {
        flight *f = &c->win[i];
        if (!f->unsent)
            continue;
        int rc;
        if (f->rel) {
            char rel[4] = { 0x62, 2, (char)(f->id >> 8), (char)f->id };
            rc = pf_post(c->h, rel, 4);
        } else {
            rc = send_publish(c, f->m, f->qos, f->id, f->sent, f->retain);
        }
        if (rc == -ENOBUFS) {
            wait_room(c);
            return;
        }
        if (rc == -EMSGSIZE) { /* larger than this connection can ever take */
            PF__BK_COUNT(B->dropped);
            pf__bk_land(c, f);
            i--;
            continue;
        }
        if (rc < 0)
            return; /* gone: the next connection sends it */
        if (!f->sent && !f->rel)
            PF__BK_COUNT(B->delivered);
        f->unsent = 0;
        f->sent = 1;
    }
    while (c->qlen) {
        queued *e = &c->q[c->qhead];
        if (e->qos == 0) {
            int rc = send_publish(c, e->m, 0, 0, 0, e->retain);
            if (rc == -ENOBUFS) {
                wait_room(c);
                return;
            }
            if (rc < 0 && rc != -EMSGSIZE)
                return;
            if (rc < 0)
                PF__BK_COUNT(B->dropped);
            else
                PF__BK_COUNT(B->delivered);
            pf__bk_msg_unref(e->m);
            dequeue(c);
            continue;
        }
        if (c->nwin == PF_MQTT_WINDOW)
            return; /* an acknowledgement pumps again */
        /* Made for the first QoS 1/2 message: a client that never gets
         * one (most idle ones) holds no window.  Out of memory: the
         * message stays queued for the next pump. */
        if (!c->win && !(c->win = calloc(PF_MQTT_WINDOW, sizeof(*c->win))))
            return;
        flight *f = &c->win[c->nwin++];
        *f = (flight){ .m = e->m, .qos = e->qos, .id = new_id(c), .unsent = 1,
                       .retain = e->retain };
        dequeue(c); /* its reference moved into the window */
        int rc = send_publish(c, f->m, f->qos, f->id, 0, f->retain);
        if (rc == -ENOBUFS) {
            wait_room(c);
            return;
        }
        if (rc == -EMSGSIZE) {
            PF__BK_COUNT(B->dropped);
            pf__bk_land(c, f);
            continue;
        }
        if (rc < 0)
            return;
        PF__BK_COUNT(B->delivered);
        f->unsent = 0;
        f->sent = 1;
    }
}
