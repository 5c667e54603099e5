/* MQTT 3.1.1 (OASIS standard, 29 October 2014), the broker side.
 *
 * The parser (mqtt.rl) frames and checks every packet a broker receives:
 * CONNECT, PUBLISH (QoS 0, 1, 2), PUBACK, PUBREC, PUBREL, PUBCOMP,
 * SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT.  Any other packet type, a
 * fixed-header flag other than the one the standard fixes [MQTT-2.2.2-1,2],
 * a remaining length over 4 bytes [MQTT-2.2.3] or over `max_packet`, a
 * string that is not well-formed UTF-8, holds U+0000 or a surrogate
 * [MQTT-1.5.3-1,2], a wildcard in a PUBLISH topic [MQTT-3.3.2-2], an empty
 * topic or filter [MQTT-4.7.3-1], a misplaced '#' or '+' [MQTT-4.7.1-2,3],
 * packet identifier 0 [MQTT-2.3.1-1], QoS 3 [MQTT-3.3.1-4], DUP with QoS 0
 * [MQTT-3.3.1-2], bad CONNECT flags [MQTT-3.1.2-3,11,13,14,15,22], a
 * SUBSCRIBE/UNSUBSCRIBE without topics [MQTT-3.8.3-3, 3.10.3-2] or a bad
 * requested QoS byte [MQTT-3.8.3-4], and bytes left over after the fields
 * are malformed: parse() fails (-EBADMSG, or -EMSGSIZE for the size) and the
 * runtime closes the connection without a reply [MQTT-4.8.0-1].
 *
 * A CONNECT with an unknown protocol level is not malformed: it is parsed as
 * far as the level (`level` set, the rest empty) so the session machine
 * can answer CONNACK return code 1 and close [MQTT-3.1.2-2].
 *
 * The session table (mqtt.fsm) and the broker (services/broker) do the rest: CONNECT
 * first, a second CONNECT, client identifiers, keep-alive, delivery.
 * Every slice points into the input buffer. */
#ifndef PROTOFSM_MQTT_H
#define PROTOFSM_MQTT_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/protocol.h"

/* Control packet types (first byte >> 4). */
enum {
    PF_MQTT_CONNECT = 1, PF_MQTT_CONNACK, PF_MQTT_PUBLISH, PF_MQTT_PUBACK,
    PF_MQTT_PUBREC, PF_MQTT_PUBREL, PF_MQTT_PUBCOMP, PF_MQTT_SUBSCRIBE,
    PF_MQTT_SUBACK, PF_MQTT_UNSUBSCRIBE, PF_MQTT_UNSUBACK, PF_MQTT_PINGREQ,
    PF_MQTT_PINGRESP, PF_MQTT_DISCONNECT
};

/* CONNECT flags byte. */
#define PF_MQTT_CF_CLEAN 0x02u
#define PF_MQTT_CF_WILL 0x04u
#define PF_MQTT_CF_WILL_QOS(f) (((f) >> 3) & 3u)
#define PF_MQTT_CF_WILL_RETAIN 0x20u
#define PF_MQTT_CF_PASSWORD 0x40u
#define PF_MQTT_CF_USERNAME 0x80u

#define PF_MQTT_MAX_PACKET_DEFAULT (256u * 1024u)

/* Limits; pass to parser_init as `conf` (NULL: defaults). */
typedef struct pf_mqtt_conf {
    size_t max_packet;  /* whole packet, fixed header included; 0: default.
                           Also the input a connection buffers, unless
                           max_input says otherwise (protocol.h). */
} pf_mqtt_conf;

typedef struct pf_mqtt_fields {
    uint8_t type, flags;       /* fixed header */
    uint8_t qos, dup, retain;  /* PUBLISH */
    uint16_t packet_id;        /* PUBLISH QoS > 0, PUBACK..PUBCOMP, (UN)SUBSCRIBE */
    pf_slice topic, payload;   /* PUBLISH */
    /* CONNECT */
    pf_slice protocol_name;
    uint8_t level, connect_flags;
    uint16_t keep_alive;       /* seconds */
    pf_slice client_id, will_topic, will_message, username, password;
    /* SUBSCRIBE / UNSUBSCRIBE: the payload, already checked; walk it with
     * pf_mqtt_next_filter. */
    pf_slice list;
    unsigned count;
} pf_mqtt_fields;

/* Take the next topic filter (and, for SUBSCRIBE, its requested QoS) off
 * `list`, a pf_mqtt_fields.list.  1 when one was taken, 0 at the end. */
int pf_mqtt_next_filter(pf_slice *list, int with_qos, pf_slice *filter, uint8_t *qos);

/* Well-formed UTF-8 with no U+0000 and no surrogates [MQTT-1.5.3-1,2]. */
int pf_mqtt_utf8_ok(const char *s, size_t n);
/* A topic filter is well formed [MQTT-4.7.1-2,3, 4.7.3-1] (UTF-8 aside). */
int pf_mqtt_filter_ok(const char *s, size_t n);
/* Does topic name `t` match filter `f` [MQTT-4.7.1, 4.7.2-1]: '+' one
 * level, '#' the rest (and the parent), '$' topics not matched by a
 * wildcard in the first level. */
int pf_mqtt_match(const char *f, size_t fn, const char *t, size_t tn);

extern const pf_protocol pf_mqtt_protocol;

#endif
