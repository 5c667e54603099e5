/* The broker service: MQTT 3.1.1 (protocols/mqtt.h) with the protocol's
 * default table (protocols/mqtt.fsm) and a broker per listener: pass a
 * pf_broker as pf_listen_conf.data (or pf_session_conf.listener_data).
 * Brokers share nothing, so one process may run several whose topics,
 * sessions and retained messages never mix.
 *
 * Delivery.  Subscriptions and retained messages sit in topic trees, so a
 * PUBLISH looks only at filters that can match its topic and a SUBSCRIBE
 * only at retained topics its filter can match.  Every PUBLISH to a client
 * goes through its connection's mailbox (pf_post, protofsm/post.h), paced:
 * what the mailbox refuses stays with the broker and is sent when the
 * runtime reports room again (pf_post_wake), whether or not the client
 * sends anything.  The broker never queues more on a connection than its
 * mailbox takes, so a burst of its own making (many retained messages, a
 * window resent after a reconnect) never closes a session.
 *
 * Limits (pf_broker_conf; every one enforced, every refusal counted):
 *   - a packet: pf_mqtt_conf.max_packet (and the runtime's max_input).  A
 *     message larger than a subscriber's mailbox (the server's max_output)
 *     can never reach it: dropped for that subscriber and counted;
 *   - per client: PF_MQTT_WINDOW QoS 1/2 messages in flight, then up to
 *     max_queued more (a persistent session's offline messages too);
 *     beyond that new messages for it are dropped and counted.  QoS 0 goes
 *     straight to the mailbox when nothing is queued, and is dropped
 *     (counted) when the mailbox is full: QoS 0 may drop, QoS 1/2 stay
 *     queued until there is room;
 *   - retained messages for a new subscription are queued too, up to
 *     max_retained per client (the store's own size), and paced;
 *   - max_subs subscriptions per client (more get SUBACK 0x80); a filter
 *     repeated in one SUBSCRIBE is one subscription, its retained
 *     messages are sent once;
 *   - retained messages: max_retained topics and max_retained_bytes in
 *     all, and max_retained_per_addr topics and max_retained_bytes_per_addr
 *     bytes charged to one address (the publisher's; an IPv6 /64; a
 *     session driven by hand is charged by client identifier).  A retained
 *     PUBLISH over a limit is refused visibly: not delivered, not
 *     acknowledged, the connection closed (MQTT-3.3.5-2: 3.1.1 has no
 *     negative acknowledgement), counted in retain_refused.  An empty
 *     retained message (a delete) is always accepted;
 *   - sessions: max_sessions in all (online and persistent); when full, the
 *     persistent session offline longest is dropped to admit a new client
 *     (counted in evicted), and only when every session is online is the
 *     CONNECT answered with return code 3 (counted in refused).
 *     max_sessions_per_addr persistent (CleanSession 0) sessions last
 *     connected from one address: beyond it that address's own session
 *     offline longest is dropped, or code 3 when all of them are online;
 *   - an offline persistent session expires session_expiry_s seconds after
 *     its connection ended (counted in expired).
 * Keep-alive: no packet within 1.5 x the client's keep-alive is a TIMEOUT
 * event: the will is published and the connection closed.  Before CONNECT,
 * a connection has PF_MQTT_CONNECT_MS to send it. */
#ifndef PROTOFSM_SVC_BROKER_H
#define PROTOFSM_SVC_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/service.h"

typedef struct pf_broker pf_broker;

#define PF_MQTT_WINDOW 32u
#define PF_MQTT_CONNECT_MS 10000u

/* A limit set to this is no limit (session_expiry_s: never expire). */
#define PF_BROKER_UNLIMITED 0xffffffffu

/* Zero means the default for every field. */
typedef struct pf_broker_conf {
    unsigned max_sessions;            /* default 100,000 */
    unsigned max_sessions_per_addr;   /* persistent ones; default 1,000 */
    unsigned session_expiry_s;        /* offline persistent ones; default 7 days */
    unsigned max_queued;              /* per client, beyond the window; default 1,000 */
    unsigned max_subs;                /* per client; default 256 */
    unsigned max_retained;            /* topics; default 10,000 */
    size_t max_retained_bytes;        /* topic + payload; default 16 MiB */
    unsigned max_retained_per_addr;   /* default 1,000 */
    size_t max_retained_bytes_per_addr; /* default 1 MiB */
} pf_broker_conf;

typedef struct pf_broker_counts {
    uint64_t clients;          /* sessions now, online or persistent */
    uint64_t retained;         /* retained topics now */
    uint64_t published;        /* PUBLISH packets received */
    uint64_t delivered;        /* PUBLISH packets sent (first attempts) */
    uint64_t dropped;          /* deliveries dropped (mailbox or queue full, too large) */
    uint64_t wills;            /* wills published */
    uint64_t expired;          /* offline sessions expired */
    uint64_t evicted;          /* offline sessions dropped to admit a new one */
    uint64_t refused;          /* CONNECTs refused with code 3 (every session online) */
    uint64_t retain_refused;   /* retained PUBLISHes refused by a limit */
} pf_broker_counts;

extern const pf_service pf_broker_service;

/* A new, empty broker with limits `conf` (NULL: defaults); NULL when out
 * of memory. */
pf_broker *pf_broker_new(const pf_broker_conf *conf);
/* Forget every session and retained message and free the broker.  No
 * connection of it may be open. */
void pf_broker_free(pf_broker *b);
/* Any thread. */
void pf_broker_stats(pf_broker *b, pf_broker_counts *out);

#endif
