/* The broker service: MQTT 3.1.1 (protocols/mqtt.h) with the protocol's
 * default table (protocols/mqtt.fsm) and a broker per listener: pass a
 * pf_broker as pf_listen_conf.data (or pf_session_conf.listener_data).
 * Brokers share nothing, so one process may run several whose topics,
 * sessions and retained messages never mix.
 *
 * A broker's state sits behind one mutex; delivery to another connection goes
 * through pf_post (protofsm/post.h), delivery to the publisher's own
 * connection through pf_reply.  Limits (all fixed, all enforced):
 *   - a packet: pf_mqtt_conf.max_packet (and the runtime's max_input);
 *   - per client: PF_MQTT_WINDOW QoS 1/2 messages in flight, then up to
 *     PF_MQTT_QUEUE queued (a persistent session's offline messages too);
 *     beyond that new QoS 1/2 messages for it are dropped and counted;
 *     PF_MQTT_MAX_SUBS subscriptions (more get SUBACK 0x80);
 *   - a connection's mailbox (pf_post): max_output bytes.  A QoS 0 message
 *     that does not fit is dropped for that subscriber and counted; a QoS
 *     1/2 one stays in flight and is sent again when that client next sends
 *     a packet (a PINGREQ at the latest) or reconnects;
 *   - retained messages: PF_MQTT_RETAINED topics and PF_MQTT_RETAINED_BYTES
 *     bytes; a new retained topic beyond them is delivered but not kept;
 *   - client sessions (online or persistent): PF_MQTT_CLIENTS, then CONNACK
 *     return code 3.
 * Keep-alive: no packet within 1.5 x the client's keep-alive is a TIMEOUT
 * event: the will is published and the connection closed.  Before CONNECT,
 * a connection has PF_MQTT_CONNECT_MS to send it. */
#ifndef PROTOFSM_SVC_BROKER_H
#define PROTOFSM_SVC_BROKER_H

#include <stdint.h>

#include "protofsm/service.h"

typedef struct pf_broker pf_broker;

#define PF_MQTT_WINDOW 32u
#define PF_MQTT_QUEUE 1000u
#define PF_MQTT_MAX_SUBS 256u
#define PF_MQTT_RETAINED 10000u
#define PF_MQTT_RETAINED_BYTES (16u << 20)
#define PF_MQTT_CLIENTS 100000u
#define PF_MQTT_CONNECT_MS 10000u

typedef struct pf_broker_counts {
    uint64_t clients;          /* sessions now, online or persistent */
    uint64_t retained;         /* retained topics now */
    uint64_t published;        /* PUBLISH packets received */
    uint64_t delivered;        /* PUBLISH packets sent (first attempts) */
    uint64_t dropped;          /* deliveries dropped (mailbox or queue full) */
    uint64_t wills;            /* wills published */
} pf_broker_counts;

extern const pf_service pf_broker_service;

/* A new, empty broker; NULL when out of memory. */
pf_broker *pf_broker_new(void);
/* Forget every session and retained message and free the broker.  No
 * connection of it may be open. */
void pf_broker_free(pf_broker *b);
/* Any thread. */
void pf_broker_stats(pf_broker *b, pf_broker_counts *out);

#endif
