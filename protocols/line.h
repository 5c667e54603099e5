/* The line protocol: the smallest complete protofsm protocol.
 *
 * A request is one line ending in LF (a CR before the LF is accepted and is
 * not part of the text); its command word (case-insensitive) is the event:
 * HELLO, ECHO, SLEEP, QUIT, or UNKNOWN.  A line longer than the limit gets
 * -ERR line too long and a close.
 *
 * What the commands do is the echo service's (services/echo); every reply
 * is one line ending in CRLF:
 *
 *   HELLO <name>   +OK hello <name>        (the session is ready)
 *   ECHO [<text>]  <text>                  (verbatim, may be empty)
 *   SLEEP <ms>     +OK                     (after blocking ms, 0..10000)
 *   QUIT           +OK bye                 (then the server closes)
 *   anything else  -ERR unknown command
 *
 * Before HELLO every command but HELLO and QUIT gets -ERR say HELLO first. */
#ifndef PROTOFSM_LINE_H
#define PROTOFSM_LINE_H

#include <stddef.h>

#include "protofsm/protocol.h"

#define PF_LINE_MAX_DEFAULT 4096
#define PF_LINE_SLEEP_MAX 10000

/* Limits; pass to parser_init as `conf` (NULL: defaults). */
typedef struct pf_line_conf {
    size_t max_line;    /* bytes of text, CR and LF not counted; 0: default */
} pf_line_conf;

/* What one packet carries. */
typedef struct pf_line_fields {
    pf_slice cmd;       /* the command word as sent (any case) */
    pf_slice arg;       /* text after the first space; ptr NULL if no space */
} pf_line_fields;

extern const pf_protocol pf_line_protocol;

#endif
