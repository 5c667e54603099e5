/* What a protocol's .rl file compiles into, as the runtime sees it.
 *
 * A protocol is a parser (bytes -> packets) and the list of events its
 * packets carry; it names no handler and holds no session table.  Services
 * put their own tables over those events (service.h).  The runtime owns
 * the bytes; the parser only keeps offsets, so the input buffer may move
 * between calls. */
#ifndef PROTOFSM_PROTOCOL_H
#define PROTOFSM_PROTOCOL_H

#include <stddef.h>
#include <sys/types.h>

#include "protofsm/fsm.h"
#include "protofsm/packet.h"

typedef struct pf_protocol {
    const char *name;
    const pf_events *events;  /* generated from the .rl: what out->event may be */

    size_t parser_size;  /* bytes of per-connection parser state */
    size_t fields_size;  /* bytes of the fields struct one packet fills */

    /* Prepare parser state.  `conf` is the protocol's own limits struct
     * (documented in its header) or NULL for its defaults; it must outlive
     * the parser. */
    void (*parser_init)(void *parser, const void *conf);

    /* Parse one packet from the start of the unconsumed input.
     *
     * `buf`/`len` is every unconsumed byte, beginning with the first byte of
     * the packet in progress.  Across calls for one packet the bytes already
     * passed are unchanged (though `buf` may have moved) and `len` only
     * grows; the parser resumes where it stopped instead of rescanning.
     *
     * Returns n > 0 when a packet of n bytes is complete: out->event,
     * out->raw and the struct at out->fields (caller storage of fields_size
     * bytes) are filled, slices pointing into `buf`, and the parser is ready
     * for the next packet, which starts at buf + n.
     * Returns -EAGAIN when it needs more input (all `len` bytes were used).
     * Returns -EBADMSG for malformed input, -EMSGSIZE when a limit is
     * exceeded, or another negative protocol-specific code.  Errors are
     * sticky: the runtime sends error_reply() and closes. */
    ssize_t (*parse)(void *parser, const char *buf, size_t len,
                     pf_packet *out);

    /* The bytes to send before closing after parse() failed with `err`
     * (empty slice: close silently).  Static storage. */
    pf_slice (*error_reply)(const void *parser, int err);

    /* Optional canned replies (ptr NULL: none).  busy: the request queue is
     * full and the protocol prefers refusing to waiting.  full: the
     * connection limit is reached; sent to the newcomer before closing it. */
    pf_slice busy_reply;
    pf_slice full_reply;

    /* Optional (NULL: none).  An interim reply to send while a packet is
     * still incomplete: HTTP's "100 Continue" once a header section that
     * asks for it is in and the body is not.  Called after parse()
     * returned -EAGAIN, and only when every earlier packet of the
     * connection has been handled, so the reply lands in stream order.
     * Returns each interim reply once (the parser records that it did);
     * an empty slice means none.  Static storage.  The runtime queues it
     * like any reply (the output limit is a mark, not a cap: server.h). */
    pf_slice (*interim)(void *parser);

    /* Optional (NULL: none stated).  The largest packet the parser takes
     * with `conf` (its limits struct, NULL: its defaults), in bytes: the
     * input a connection buffers, in the server and by hand alike, unless
     * the listener, the server or the session conf gives max_input. */
    size_t (*max_packet)(const void *conf);

    /* Optional (NULL: the parser's state lives as long as the connection).
     * Whether the parser, with no byte of a next packet passed to it,
     * holds nothing that a fresh parser_init would not: then a hosted
     * connection with no unconsumed input gives its parser state and
     * fields scratch back, and gets them fresh (parser_init) when bytes
     * come, so an idle connection costs none of it.  A parser that keeps
     * state from one packet to the next (SMTP's DATA mode, a value being
     * skipped) says no while it does.  Never called after an error. */
    int (*at_rest)(const void *parser);
} pf_protocol;

#endif
