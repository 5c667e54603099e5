/* The ping service: RESP's PING, ECHO and QUIT (ping.fsm), nothing else.
 * No state; pf_listen_conf.data is unused. */
#ifndef PROTOFSM_SVC_PING_H
#define PROTOFSM_SVC_PING_H

#include "protofsm/service.h"

extern const pf_service pf_ping_service;

#endif
