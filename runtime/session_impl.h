/* Private: the session struct, shared by session.c (the by-hand driver and
 * the handler-facing calls) and the server, which embeds sessions in its
 * connections. */
#ifndef PF__SESSION_IMPL_H
#define PF__SESSION_IMPL_H

#include "out_impl.h"
#include "protofsm/service.h"
#include "protofsm/session.h"

struct pf_session {
    const pf_service *svc;      /* protocol, table, handlers */
    pf_fsm_stats *stats;
    void *data;          /* pf_session_data */
    void *parser;        /* proto->parser_size bytes (a connection's: NULL
                            while at rest, conn.c) */
    void *fields;        /* proto->fields_size bytes, one packet's fields */
    uint16_t state;
    uint8_t closing;     /* pf_close, PF_CLOSE, a final state or an error */
    uint8_t closed;      /* PF_EV_CLOSE delivered: nothing more is handled */
    int err;             /* first error that closed the session, sticky */
    void *host;          /* the server's connection; NULL when driven by hand */
    /* Input and output: the by-hand driver's, and a hosted connection's
     * (the server reads into `in` and writes `out`, out_impl.h). */
    pf_buf in;
    pf__out out;
    void *post;          /* post.c: this session's handle slot, or NULL */
};

/* Initialise `s` over caller memory for parser and fields (NULL: set
 * later, by a caller that runs parser_init itself), with empty input and
 * output (the caller sets their limits).  `svc` passed pf_service_check.
 * Does not deliver PF_EV_OPEN. */
void pf__session_init(pf_session *s, const pf_service *svc,
                      const void *proto_conf, void *parser, void *fields,
                      pf_fsm_stats *stats);

/* The input limit, the same rule by hand and in the server: the first of
 * `own` (the session's or listener's max_input), `given` (the server's,
 * when set), the protocol's max_packet with `proto_conf`, and
 * PF_DEFAULT_MAX_INPUT that is not 0. */
static inline size_t pf__max_input(size_t own, size_t given, const pf_protocol *proto,
                                   const void *proto_conf)
{
    size_t n = own ? own : given ? given : proto->max_packet ? proto->max_packet(proto_conf) : 0;
    return n ? n : PF_DEFAULT_MAX_INPUT;
}

/* The listener data of a hosted session's connection (server.c). */
void *pf__host_listener_data(void *host);

/* Run one event through the machine and fold the outcome into the session:
 * closing on PF_CLOSE, a final state, a handler error, or a packet event the
 * table does not answer.  Built-in events without a row are ignored.
 * Returns 0 or the negative error that closed the session. */
int pf__session_dispatch(pf_session *s, const pf_packet *pkt);

/* One parse step, the same for the by-hand driver and the server (both of
 * its parsers): the protocol's parser over s->in from offset `at` (the
 * bytes before it are parsed packets not yet consumed), and what every
 * driver does with the outcome.
 *   > 0  a packet of that many bytes at `at`, in *pkt (fields at
 *        pkt->fields, set by the caller).
 *   0    more input is needed.  When no parsed packet waits before it
 *        (at == 0) the protocol's interim reply, if it has one now, is
 *        queued as a reply: under the output limit, and failing the
 *        session when it does not fit, like any reply.
 *   < 0  a parse error: the parser's, -EBADMSG for a parser that returned
 *        0, or -EMSGSIZE when the packet fills the input limit from
 *        `at` == 0.  Not answered: call pf__session_parse_error once
 *        every packet before it is handled. */
ssize_t pf__session_parse(pf_session *s, size_t at, pf_packet *pkt);

/* Mark closing with `err` and queue the protocol's reply for it. */
void pf__session_parse_error(pf_session *s, int err);

#endif
