/* Sessions: one per connection, what a handler acts on (a service author
 * includes service.h, which brings this).
 *
 * The handler-facing calls (pf_reply, pf_close, pf_session_data ...) are the
 * same whether the session is hosted by the server (server.h) or driven by
 * hand with pf_session_feed, which runs a protocol over a byte string without
 * any socket: the tests, fuzzers and embedders use it.
 *
 * A session is handled by one thread at a time; none of these calls may be
 * made on a session from another thread. */
#ifndef PROTOFSM_SESSION_H
#define PROTOFSM_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/buf.h"
#include "protofsm/fsm.h"
#include "protofsm/protocol.h"

/* Queue bytes to send, after everything queued before; the bytes are
 * copied (the caller keeps its buffer).  0, or -ENOMEM / -EMSGSIZE when the
 * reply cannot be held (nothing is queued and the session is marked for
 * close: a reply cannot be half sent).  A reply larger than the output
 * limit is delivered: that limit is a high-water mark (server.h). */
int pf_reply(pf_session *s, const void *data, size_t len);
int pf_reply_str(pf_session *s, const char *str);
/* Several pieces queued as one reply: all of them or none. */
int pf_replyv(pf_session *s, const pf_slice *parts, size_t n);
/* Close once queued replies are flushed; later packets are not handled. */
void pf_close(pf_session *s);
int pf_session_closing(const pf_session *s);

void *pf_session_data(const pf_session *s);
void pf_session_set_data(pf_session *s, void *data);
uint16_t pf_session_state(const pf_session *s);
const pf_protocol *pf_session_protocol(const pf_session *s);
typedef struct pf_service pf_service;
const pf_service *pf_session_service(const pf_session *s);

/* ---- Driving a session by hand ------------------------------------------ */

/* The limits a server and a by-hand session take when nothing (conf,
 * listener, protocol) says otherwise: the same in both, so a test by hand
 * shows what the server will do. */
#define PF_DEFAULT_MAX_INPUT ((size_t)64 * 1024)
#define PF_DEFAULT_MAX_OUTPUT ((size_t)256 * 1024)

typedef struct pf_session_conf {
    const void *proto_conf;   /* passed to parser_init; NULL: defaults */
    size_t max_input;         /* bytes buffered awaiting a full packet; 0: the
                                 protocol's max_packet, else PF_DEFAULT_MAX_INPUT
                                 (as the server) */
    size_t max_output;        /* bound on what other sessions post (post.h);
                                 replies are not capped; 0: PF_DEFAULT_MAX_OUTPUT */
    void *data;               /* initial pf_session_data */
    void *listener_data;      /* pf_session_listener_data: the service
                                 instance a listener would pass */
    pf_fsm_stats *stats;      /* NULL: none */
    int (*before_send)(pf_session *s); /* as pf_listen_conf's (server.h), after
                                          each pf_session_feed's packets */
} pf_session_conf;

/* Allocate a session of service `svc` (service.h) and deliver PF_EV_OPEN.
 * NULL with errno set: ENOMEM, or EINVAL when pf_service_check refuses
 * `svc`. */
pf_session *pf_session_new(const pf_service *svc, const pf_session_conf *conf);
/* Deliver PF_EV_CLOSE (unless already delivered) and free. */
void pf_session_free(pf_session *s);

/* Append input and handle every complete packet in order.  Returns the
 * number of packets handled (>= 0), or a negative error once the session is
 * closing because of it: the protocol's parse error (its error reply is
 * queued), -EMSGSIZE for input over max_input, or a handler's error.  Once
 * the session is closing, further input is ignored: the call returns that
 * same error again, or 0 after a clean close (pf_close, a final state). */
int pf_session_feed(pf_session *s, const void *data, size_t len);
/* Deliver a built-in event (PF_EV_TIMEOUT, PF_EV_DRAIN ...) now.  0 or the
 * error that closed the session; -EINVAL for a packet event (those come
 * from the parser, with fields). */
int pf_session_event(pf_session *s, uint16_t event);
/* Queued output; the caller may consume from it. */
pf_buf *pf_session_output(pf_session *s);

#endif
