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

/* A slice of a string literal, for static replies: PF_SLICE_LIT("+OK\r\n"). */
#define PF_SLICE_LIT(s) { "" s, sizeof(s) - 1 }

typedef struct pf_packet {
    uint16_t event;     /* generated enum value: NAME_EV_... (or PF_EV_...) */
    pf_slice raw;       /* every byte of the packet, terminators included */
    void *fields;       /* protocol struct (method, path, args ...) as slices;
                           NULL for built-in events */
} pf_packet;

#endif
