/* The maildir service: SMTP (protocols/smtp.h) with the RFC 5321 table
 * the protocol ships (protocols/smtp.fsm), storing each accepted message
 * in a Maildir.  250 after DATA means the message is fsynced and renamed
 * into DIR/new (and DIR/new fsynced); a full or read-only Maildir gets 452
 * or 451, never 250.
 *
 * Each listener serves one store: pass a pf_maildir as pf_listen_conf.data
 * (NULL: a sink that accepts and discards, named by gethostname()).  Any
 * number of listeners, each with its own store and host name, may run in
 * one process.  The protocol's limits (line lengths, recipients, message
 * size) are the listener's pf_smtp_conf (proto_conf). */
#ifndef PROTOFSM_SVC_MAILDIR_H
#define PROTOFSM_SVC_MAILDIR_H

#include "protofsm/service.h"

typedef struct pf_maildir {
    const char *dir;              /* the Maildir; NULL: accept and discard */
    const char *const *domains;   /* NULL-terminated; NULL: accept any domain */
    const char *hostname;         /* greeting, EHLO, Received: and file names;
                                     NULL: gethostname() */
    int no_fsync;                 /* 1: skip fsync (tests only) */
} pf_maildir;

extern const pf_service pf_maildir_service;

/* Create DIR, DIR/tmp, DIR/new and DIR/cur as needed (mode 0700), then
 * remove the regular files in DIR/tmp that nobody has read or written for
 * 36 hours, as Maildir readers do: messages a crash left half-received.
 * Call it at start, before the service runs.  0 or -errno. */
int pf_maildir_prepare(const char *dir);

#endif
