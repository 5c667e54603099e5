/* The ctr protocol (ctr.rl): INC, GET, BYE, one per line. */
#ifndef CTR_H
#define CTR_H

#include <sys/types.h>

#include "protofsm/protocol.h"

extern const pf_protocol ctr_protocol;

#endif
