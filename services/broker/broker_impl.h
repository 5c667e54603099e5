/* Private: what the broker's three files share.
 *
 *   topics.c    the topic tree: subscriptions by filter, retained messages
 *               by topic, matching a topic against filters and a filter
 *               against topics without looking at anything that cannot match;
 *   sessions.c  messages, owners (per-address accounting), client sessions
 *               (table, expiry, eviction) and delivery to one client
 *               (queue, in-flight window, pacing through the mailbox);
 *   broker.c    the handlers of MQTT's default table, and the public calls.
 *
 * Locks.  B->lock guards the broker-wide structures: the client table, the
 * offline list, owners, both trees and every client's subscription list.
 * It is held for tree walks and table changes only, never while a message
 * is copied to a connection.  Each client's `lock` guards its delivery
 * state: the attached connection, the window, the queue, the QoS 2 set.
 * Order: B->lock, then a client's lock, then post.c's lock (inside
 * pf_postv / pf_post_wake).  A client is reference-counted (the table, each
 * connection attached to it now or before a takeover, each delivery in
 * progress), so a delivery can run after B->lock is released. */
#ifndef PF__BROKER_IMPL_H
#define PF__BROKER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "protofsm/service.h"

typedef struct msg {
    atomic_int refs;
    uint8_t qos, retain;
    size_t tlen, plen;
    char data[]; /* topic, then payload */
} msg;

/* Who a persistent session or a retained message is charged to: a peer
 * address (IPv4, or an IPv6 /64), or for a session driven by hand (no
 * address) the client identifier.  Freed when nothing is charged to it. */
typedef struct owner {
    unsigned refs;           /* clients, connections and retained messages charged */
    unsigned sessions;       /* persistent sessions */
    unsigned retained;       /* retained topics */
    size_t rbytes;           /* their bytes */
    struct client *off_head, *off_tail; /* its offline sessions, oldest first */
    struct owner *hnext;
    size_t klen;
    char key[];
} owner;

typedef struct tnode tnode;

typedef struct subref {
    tnode *node;             /* the filter's node in the subscription tree */
    unsigned idx;            /* this client's entry in node->subs */
    uint8_t qos;
    uint8_t mark;            /* SUBSCRIBE in progress: 1 new or renewed, retained to send */
} subref;

typedef struct flight {
    msg *m;                  /* NULL once PUBREC came (only the id remains) */
    uint16_t id;
    uint8_t qos;             /* granted */
    uint8_t rel;             /* QoS 2: PUBREC seen, PUBREL to send or sent */
    uint8_t unsent;          /* to send (again) when the mailbox has room */
    uint8_t sent;            /* sent once: a resend carries DUP */
    uint8_t retain;
} flight;

typedef struct queued {
    msg *m;
    uint8_t qos, retain;     /* retain: a retained message for a new subscription */
} queued;

/* What only a persistent session needs (under B->lock): a clean one, the
 * usual kind, holds none of it. */
typedef struct persist {
    struct client *lru_prev, *lru_next; /* offline list (global), oldest first */
    struct client *own_prev, *own_next; /* offline list of its owner */
    owner *own;                    /* charged here */
    uint64_t offline_at;           /* ms, monotonic; 0 while online */
} persist;

/* Fields ordered by size, the identifier last and in the same block: a
 * connected client costs one allocation of the bytes it needs. */
typedef struct client {
    /* ---- under B->lock ---- */
    size_t idlen;
    struct client *hnext;          /* table chain */
    persist *p;                    /* persistent (once it has been); else NULL */
    subref *subs;
    /* ---- under c->lock (written under both where marked) ---- */
    pthread_mutex_t lock;
    pf_handle h;                   /* both: the attached connection, or none */
    flight *win;                   /* [PF_MQTT_WINDOW], from the first QoS 1/2 message */
    queued *q;                     /* ring, grown on demand */
    uint8_t *qos2_in;              /* 65536-bit set of incoming QoS 2 ids, lazily */
    struct pf_broker *b;
    unsigned nsubs, capsubs;       /* B->lock */
    unsigned route_gen;            /* B->lock; routing: the walk that saw it last */
    atomic_uint refs;
    unsigned attach;               /* both: generation of the attachment */
    unsigned nwin;
    unsigned qcap, qhead, qlen, qret; /* qret: retained entries among qlen */
    uint16_t next_id;
    uint8_t route_qos;             /* B->lock */
    uint8_t clean;
    uint8_t retired;               /* both: out of the table */
    char id[];                     /* B->lock; [idlen] */
} client;

/* The connection's data (pf_session_data). */
typedef struct mconn {
    client *cl;
    unsigned attach;
    pf_handle h;
    unsigned ka_ms;                /* 1.5 x keep-alive, 0: none */
    msg *will;
    owner *own;                    /* the peer's address: charged for its retains */
} mconn;

struct pf_broker {
    pthread_mutex_t lock;
    pf_broker_conf conf;           /* resolved: no zero left */
    /* clients */
    client **ctab;
    size_t ctab_n, nclients;
    client *lru_head, *lru_tail;
    unsigned long auto_id;
    /* owners */
    owner **otab;
    size_t otab_n, nowners;
    /* trees */
    tnode *subs_root, *ret_root;
    tnode **ntab;
    size_t ntab_n, nnodes;
    size_t nretained, retained_bytes;
    unsigned route_gen;
    atomic_uint_fast64_t published, delivered, dropped, wills, expired, evicted, refused,
        retain_refused;
};

#define PF__BK_COUNT(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)

/* ---- sessions.c ---- */
/* MQTT's variable-length remaining length into b (up to 4 bytes). */
size_t pf__bk_put_len(char *b, size_t n);
uint64_t pf__bk_now_ms(void);
msg *pf__bk_msg_new(pf_slice topic, pf_slice payload, uint8_t qos, uint8_t retain);
msg *pf__bk_msg_ref(msg *m);
void pf__bk_msg_unref(msg *m);

/* Under B->lock.  The owner for this connection (a new reference), or NULL
 * when out of memory. */
owner *pf__bk_owner_get(pf_broker *B, pf_session *s, pf_slice client_id);
void pf__bk_owner_put(pf_broker *B, owner *o);

/* Under B->lock. */
client *pf__bk_client_find(pf_broker *B, const char *id, size_t n);
/* A new session in the table (one reference: the table's), or NULL. */
client *pf__bk_client_new(pf_broker *B, const char *id, size_t n);
/* Out of the table, subscriptions gone, the table's reference dropped. */
void pf__bk_client_retire(client *c);
/* Offline list: the session was left (persistent) / taken up again. */
void pf__bk_offline_add(client *c);
void pf__bk_offline_del(client *c);
/* Retire offline sessions older than the expiry. */
void pf__bk_expire(pf_broker *B, uint64_t now);
/* Make room for one more session (charged to `o` when persistent): 0, or
 * -EBUSY when only online sessions are in the way. */
int pf__bk_admit(pf_broker *B, owner *o, int persistent);
void pf__bk_client_ref(client *c);
void pf__bk_client_unref(client *c);

/* Under c->lock.  Deliver `m` at `qos` (retain: a retained message for a
 * new subscription); send what can be sent now. */
void pf__bk_deliver(client *c, msg *m, uint8_t qos, int retain);
/* Send what the window and the queue hold while the mailbox takes it;
 * when it refuses, ask for the "room" event and stop. */
void pf__bk_pump(client *c);
/* A reconnect: everything in the window is to be sent again (DUP). */
void pf__bk_resend_all(client *c);
/* An acknowledgement: the flight it ends, or NULL. */
flight *pf__bk_find_flight(client *c, uint16_t id, uint8_t qos, uint8_t rel);
void pf__bk_land(client *c, flight *f);

/* ---- topics.c ---- */
int pf__bk_tree_init(pf_broker *B);
void pf__bk_tree_free(pf_broker *B);
/* Under B->lock.  The node of `filter` in the subscription tree, made when
 * `make`; NULL when absent or out of memory. */
tnode *pf__bk_sub_node(pf_broker *B, const char *filter, size_t n, int make);
/* c subscribes at `node` with `qos`: its subref (new or updated), or NULL
 * when c is at its limit or out of memory. */
subref *pf__bk_sub_add(client *c, tnode *node, uint8_t qos);
/* A node pf__bk_sub_node made that nobody subscribed at goes again. */
void pf__bk_sub_prune(pf_broker *B, tnode *node);
void pf__bk_sub_del(client *c, unsigned i);
/* The clients whose subscriptions match `topic`, each once with its best
 * QoS (MQTT-3.3.5-1), a reference taken on each.  *out is malloc'd; the
 * count, or -ENOMEM. */
typedef struct target {
    client *c;
    uint8_t qos;
} target;
long pf__bk_route(pf_broker *B, const msg *m, target **out);
/* Store a retained message (MQTT-3.3.1-5,10,11), charged to `o`.  0 (kept
 * or deleted), or -ENOSPC when a limit refuses it (nothing changed). */
int pf__bk_retain(pf_broker *B, msg *m, owner *o);
/* Retained messages matching `filter`, at most `max`, referenced, appended
 * to (*out)[*n...] (grown with realloc).  0 or -ENOMEM. */
int pf__bk_retained_matching(pf_broker *B, const char *filter, size_t fn, size_t max, msg ***out,
                             size_t *n, size_t *cap);

#endif
