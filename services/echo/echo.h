/* The echo service: the line protocol's commands (protocols/line.h) with
 * the session table of echo.fsm (HELLO first).  No state beyond the
 * session's; pf_listen_conf.data is unused. */
#ifndef PROTOFSM_SVC_ECHO_H
#define PROTOFSM_SVC_ECHO_H

#include "protofsm/service.h"

extern const pf_service pf_echo_service;

#endif
