/* Services: a protocol, a session table over its events, and the handlers
 * bound to that table's slots.  The one header a service author includes:
 * it brings every call a handler makes (session.h: replies, close, data;
 * post.h: other sessions; frame.h: numbers and framing) and the
 * hosted-session calls below.
 *
 * A table (NAME.fsm, compiled by pfgen) names handlers but does not link
 * them: its generated NAME_fsm.h lists them as NAME_HANDLERS(X), and the
 * service binds functions to them here, at run time:
 *
 *     #include "kvd_fsm.h"
 *     KVD_HANDLERS(PF_HANDLER_DECLARE_STATIC)       // or declare them yourself
 *     static const pf_handler kvd_handlers[] = PF_HANDLERS(KVD_HANDLERS);
 *     const pf_service kvd_service = { &pf_resp_protocol, &kvd_fsm, kvd_handlers };
 *
 * A function the list names and the service does not define is a build
 * error.  The same pf_service may serve any number of listeners; what
 * differs between them (a site's root, a broker's topics) is the
 * listener's data (pf_listen_conf.data, pf_session_listener_data), so one
 * process runs two sites or two brokers without sharing a global. */
#ifndef PROTOFSM_SERVICE_H
#define PROTOFSM_SERVICE_H

#include <stddef.h>
#include <sys/socket.h>

#include "protofsm/frame.h"
#include "protofsm/fsm.h"
#include "protofsm/post.h"
#include "protofsm/protocol.h"
#include "protofsm/session.h"

typedef struct pf_service {
    const pf_protocol *proto;
    const pf_fsm *fsm;             /* a table over proto->events */
    const pf_handler *handlers;    /* [fsm->nhandlers]: slot 0 NULL, the rest set */
} pf_service;

/* Declare or list every handler of a table: M_HANDLERS(PF_HANDLER_DECLARE). */
#define PF_HANDLER_DECLARE(name) int name(pf_session *s, const pf_packet *pkt);
#define PF_HANDLER_DECLARE_STATIC(name) static int name(pf_session *s, const pf_packet *pkt);
#define PF__HANDLER_ITEM(name) name,
/* The handler array of a table, in slot order: PF_HANDLERS(M_HANDLERS). */
#define PF_HANDLERS(list) { NULL, list(PF__HANDLER_ITEM) }
/* Define a handler that only sends `lit` (a string literal) and takes its
 * row; its result is the reply's (pf_reply).  Every protocol has a few:
 * "-ERR unknown command", "ERROR", "502 5.5.2 ...". */
#define PF_HANDLER_REPLY(name, lit)                          \
    static int name(pf_session *s, const pf_packet *pkt)     \
    {                                                        \
        (void)pkt;                                           \
        return pf_reply(s, "" lit, sizeof(lit) - 1);         \
    }

/* Whether `svc` can run: a protocol with a parser, a table over that
 * protocol's events (the same pf_events, not merely as many), and a
 * function in every handler slot.  0, or -EINVAL with the reason in `err`
 * (`errlen` bytes, may be 0).  pf_server_listen and pf_session_new check
 * this; call it yourself to report the reason. */
int pf_service_check(const pf_service *svc, char *err, size_t errlen);

/* ---- Calls for a session hosted by a server ----------------------------- */

/* Deliver PF_EV_TIMEOUT to this session in `ms` milliseconds, in order
 * with its packets (raw = "timer").  0 cancels.  A later call replaces the
 * earlier one.  -ENOTSUP for a session not hosted by a server
 * (pf_session_new). */
int pf_session_timer(pf_session *s, unsigned ms);

/* Any handler (OPEN included): the peer's address (e.g. for an SMTP
 * Received: header).  *len is the room in *addr on entry, the address
 * length on return.  0, -errno from getpeername, or -ENOTSUP for a session
 * not hosted by a server. */
struct sockaddr_storage;
int pf_session_peer(pf_session *s, struct sockaddr_storage *addr, socklen_t *len);

/* Any handler (OPEN included): pf_listen_conf.data of the listener that
 * accepted this session, or pf_session_conf.data's for a session driven by
 * hand (then also pf_session_data's initial value). */
void *pf_session_listener_data(pf_session *s);

/* PF_EV_TIMEOUT packets carry the reason in raw: "idle", "deadline" (both
 * followed by a close) or "timer" (pf_session_timer; the session goes on). */

#endif
