/* The admin listener: an operator's HTTP view of a running server.
 *
 * It runs on a thread of its own with its own poll loop and never touches
 * the server's request queue, workers or I/O thread for what it can read
 * from counters (every page but /connections and the occupancy in
 * /api/state), so it answers while the service is saturated.  It is meant
 * for a few operators and a scraper, not for traffic: at most
 * `max_clients` connections at once (more wait in the kernel's backlog),
 * requests of at most `max_request` bytes, and a deadline per connection
 * after which it is closed, so a slow or hostile admin client costs the
 * other admin clients at most that deadline and the service nothing.
 *
 *   GET /              a self-contained HTML page: each listener's machine
 *                      diagram (the SVG `make diagrams` renders, when the
 *                      program links one: pf_admin_diagrams), live
 *   GET /metrics       Prometheus text exposition format 0.0.4
 *   GET /api/state     the page's JSON: counters, transitions, occupancy
 *   GET /connections   open connections, at most PF_ADMIN_MAX_ROWS
 *
 * /connections and the occupancy are read by the loop's owner on the
 * admin's request (it owns the connection list); when the owner does not
 * answer within 250 ms (a handler blocking the loop in inline or lf mode)
 * /connections answers 503 and /api/state leaves the occupancy out.
 *
 * Threads: pf_admin_start and pf_admin_stop from the thread that owns the
 * server (the one that calls pf_server_new and pf_server_free), with the
 * admin stopped before pf_server_free.  Starting before pf_server_run is
 * fine: counters read zero until it runs. */
#ifndef PROTOFSM_ADMIN_H
#define PROTOFSM_ADMIN_H

#include <stddef.h>

#include "protofsm/server.h"

#define PF_ADMIN_MAX_ROWS 1000

typedef struct pf_admin pf_admin;

/* Zero means default for every field. */
typedef struct pf_admin_conf {
    unsigned max_clients;  /* admin connections at once; default 8 */
    size_t max_request;    /* request head bytes; default 4096, then 431 */
    unsigned timeout_ms;   /* a connection's whole life; default 5000 */
} pf_admin_conf;

/* One machine's picture, an SVG document (build/gen/.../NAME.svg). */
typedef struct pf_admin_diagram {
    const char *machine;   /* pf_fsm.name */
    const char *svg;
} pf_admin_diagram;

/* Bind host:port (port 0: a free one) and start the admin thread, which
 * blocks the server's signals (pf_server_signals).  conf may be NULL.
 * 0 and *out, or -errno (-EADDRINUSE, -ENOMEM, ...). */
int pf_admin_start(pf_admin **out, pf_server *srv, const char *host, unsigned port,
                   const pf_admin_conf *conf);
/* The bound address as "HOST:PORT".  0 or -ENOSPC. */
int pf_admin_address(const pf_admin *a, char *buf, size_t len);
/* Stop the thread, close every admin connection, free.  NULL is a no-op. */
void pf_admin_stop(pf_admin *a);

/* The diagrams the page shows, for every admin of the process; NULL or
 * n = 0: none (the page draws a table instead).  The array is the
 * caller's and must outlive every admin.  Call before pf_admin_start. */
void pf_admin_diagrams(const pf_admin_diagram *d, size_t n);

/* /metrics into a malloc'd, NUL-terminated string (*len bytes without the
 * NUL).  Any thread.  0 or -ENOMEM. */
int pf_admin_metrics(pf_server *srv, char **out, size_t *len);

#endif
