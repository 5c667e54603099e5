/* Packets: what a protocol's parser hands to the session machine.
 *
 * A packet never owns bytes.  Its slices point into the connection's input
 * buffer and stay valid until the packet has been handled; the runtime does
 * not move or reuse that memory before then. */
#ifndef PROTOFSM_PACKET_H
#define PROTOFSM_PACKET_H

#include <stddef.h>
#include <stdint.h>

typedef struct pf_slice {
    const char *ptr;
    size_t len;
} pf_slice;

typedef struct pf_packet {
    uint16_t event;     /* generated enum value: NAME_EV_... (or PF_EV_...) */
    pf_slice raw;       /* every byte of the packet, terminators included */
    void *fields;       /* protocol struct (method, path, args ...) as slices;
                           NULL for built-in events */
} pf_packet;

#endif
