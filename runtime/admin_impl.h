/* Private: the pieces of the admin listener (protofsm/admin.h).
 *
 * admin.c      the thread, its poll loop, HTTP in and out, routing
 * admin_text.c a bounded text builder and the escapes each format needs
 * admin_snap.c the connection snapshot the loop's owner takes on request
 * admin_metrics.c  /metrics
 * admin_page.c /, /api/state and /connections */
#ifndef PF__ADMIN_IMPL_H
#define PF__ADMIN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/admin.h"

/* A growing string with a hard cap; errors are sticky (err < 0) and every
 * later call is a no-op, so renderers check once at the end. */
typedef struct pf__sb {
    char *p;
    size_t len, cap, max;
    int err;
} pf__sb;

void pf__sb_init(pf__sb *b, size_t max);
void pf__sb_free(pf__sb *b);
void pf__sb_put(pf__sb *b, const char *s, size_t n);
void pf__sb_str(pf__sb *b, const char *s);
void pf__sb_printf(pf__sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A Prometheus label value, without the quotes: \ " and newline escaped. */
void pf__sb_label(pf__sb *b, const char *v);
/* A JSON string, quotes included. */
void pf__sb_json(pf__sb *b, const char *v);
/* Text for HTML element content or a quoted attribute. */
void pf__sb_html(pf__sb *b, const char *v);

/* ---- admin_snap.c -------------------------------------------------------- */

#define PF__ADMIN_NO_STATE 0xffffu /* in a job: its state is the job's to read */

typedef struct pf__admin_row {
    uint16_t listener;
    uint16_t state;        /* PF__ADMIN_NO_STATE while in flight */
    uint64_t idle_ms;      /* since the last input; UINT64_MAX: not known */
    uint64_t age_ms;       /* since accepted; UINT64_MAX: draining (not kept) */
    uint64_t out_bytes;    /* waiting to be written (not in flight) */
    /* From the kernel's TCP_INFO (nothing kept per connection): bytes
     * received, and bytes sent and acknowledged; UINT64_MAX: not known. */
    uint64_t bytes_in, bytes_out;
    char peer[64];
} pf__admin_row;

typedef struct pf__admin_snap {
    size_t total;          /* open connections */
    size_t nrows;          /* the first PF_ADMIN_MAX_ROWS of them */
    pf__admin_row *rows;
    /* Sessions per state of each listener: occ[off[i] + state]; busy[i]
     * counts those in flight, whose state is not read. */
    uint32_t *occ;
    size_t off[17];
    uint32_t busy[16];
} pf__admin_snap;

/* Admin side, without blocking: file a request for srv's owner, which
 * writes to the eventfd `notify` once it has answered.  NULL: no memory. */
typedef struct pf__admin_req pf__admin_req;
pf__admin_req *pf__admin_ask(pf_server *srv, int notify);
/* Whether the owner has answered r (a notification may be a stale one,
 * for a request already withdrawn). */
int pf__admin_done(pf__admin_req *r);
/* Withdraw the request (notified or not) and free it: 0 and *out (free
 * with pf__admin_snap_free) when the owner answered, -ETIMEDOUT when it
 * has not yet, or its error (-ENOMEM). */
int pf__admin_finish(pf__admin_req *r, pf__admin_snap **out);
void pf__admin_snap_free(pf__admin_snap *s);
/* Owner side, from its wake-up (post.c): answer a pending request.  One
 * relaxed load when none is pending. */
void pf__admin_owner(pf_server *srv);

/* ---- renderers ----------------------------------------------------------- */

int pf__admin_render_metrics(pf_server *srv, pf__sb *b);
void pf__admin_render_state(pf_server *srv, const pf__admin_snap *snap, pf__sb *b);
void pf__admin_render_connections(pf_server *srv, const pf__admin_snap *snap, pf__sb *b);
void pf__admin_render_page(pf_server *srv, pf__sb *b);
/* The diagram registered for machine `name`, or NULL. */
const char *pf__admin_diagram(const char *name);

#endif
