/* Private: the hooks post.c offers the session driver and the loop owner
 * (see protofsm/post.h for the public contract). */
#ifndef PF__POST_IMPL_H
#define PF__POST_IMPL_H

#include <stdint.h>

struct pf_session;
struct pf_server;
struct pf__conn;

/* The session is going away: its handle goes stale, its mailbox is freed.
 * Called by whoever frees the session (pf_session_free, pf__conn_free). */
void pf__post_release(struct pf_session *s);

/* Loop owner, after its wake-up: the next connection of `srv` that was
 * posted to and may take its mail now (not in flight, not dead), or NULL
 * when none is left.  The caller runs pf__step on it. */
struct pf__conn *pf__post_next(struct pf_server *srv);

/* Loop owner, for a connection not in flight: move its mailbox into its
 * output while the output is below the high-water mark, and apply a
 * pf_post_close once the mailbox is empty.  Returns 1 when mail still
 * waits (the output was at the mark).  Cheap (one atomic load) when
 * nothing was posted. */
int pf__post_apply(struct pf__conn *c);

#endif
