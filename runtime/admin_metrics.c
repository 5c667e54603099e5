/* /metrics: the server's counters in the Prometheus text exposition format
 * 0.0.4 (names and units per the Prometheus conventions: _total counters,
 * base units, one HELP and TYPE per family).
 *
 * Everything here is read from counters other threads update with relaxed
 * atomics (stats.h, fsm.h), never from a connection: no lock the service
 * takes is held, so a saturated service is still scraped.  Per listener,
 * the sessions opened, closed and the packets handled are sums over the
 * machine's (state, event) counters, which the engine keeps anyway, so
 * they cost the hot path nothing more. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "admin_impl.h"
#include "protofsm/post.h"
#include "protofsm/stats.h"

static void family(pf__sb *b, const char *name, const char *type, const char *help)
{
    pf__sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(pf__sb *b, const char *name, const char *type, const char *help, uint64_t v)
{
    family(b, name, type, help);
    pf__sb_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* listener="ADDR",machine="NAME" */
static void ls_labels(pf__sb *b, pf_server *srv, unsigned i)
{
    char addr[300];

    if (pf_server_address(srv, i, addr, sizeof(addr)) < 0)
        addr[0] = 0;
    pf__sb_str(b, "listener=\"");
    pf__sb_label(b, addr);
    pf__sb_str(b, "\",machine=\"");
    pf__sb_label(b, pf_server_fsm(srv, i)->name);
    pf__sb_str(b, "\"");
}

typedef struct ls_sums {
    uint64_t opened, closed, packets, timeouts;
} ls_sums;

static ls_sums sums(pf_server *srv, unsigned i)
{
    const pf_fsm *m = pf_server_fsm(srv, i);
    const pf_fsm_stats *st = pf_server_fsm_stats(srv, i);
    ls_sums s = { 0, 0, 0, 0 };

    /* CLOSE before OPEN: a session counts OPEN before CLOSE, so summing in
     * this order never shows more closed than opened but for the clamp
     * below (the counters are relaxed). */
    for (uint16_t q = 0; q < m->nstates; q++)
        s.closed += pf_fsm_stats_get(st, m, q, PF_EV_CLOSE);
    for (uint16_t q = 0; q < m->nstates; q++) {
        s.opened += pf_fsm_stats_get(st, m, q, PF_EV_OPEN);
        s.timeouts += pf_fsm_stats_get(st, m, q, PF_EV_TIMEOUT);
        for (uint16_t e = PF_EV__BUILTIN; e < m->nevents; e++)
            s.packets += pf_fsm_stats_get(st, m, q, e);
    }
    if (s.closed > s.opened)
        s.closed = s.opened;
    return s;
}

static void per_listener(pf__sb *b, pf_server *srv, const char *name, const char *type,
                         const char *help, size_t field)
{
    family(b, name, type, help);
    for (unsigned i = 0; i < pf_server_listeners(srv); i++) {
        ls_sums s = sums(srv, i);
        uint64_t v = field == 0 ? s.opened - s.closed
                   : field == 1 ? s.opened
                   : field == 2 ? s.packets
                                : s.timeouts;
        pf__sb_printf(b, "%s{", name);
        ls_labels(b, srv, i);
        pf__sb_printf(b, "} %" PRIu64 "\n", v);
    }
}

static void transitions(pf__sb *b, pf_server *srv)
{
    family(b, "protofsm_fsm_steps_total", "counter",
           "Events delivered to a session in a state, per machine cell (state, event).");
    for (unsigned i = 0; i < pf_server_listeners(srv); i++) {
        const pf_fsm *m = pf_server_fsm(srv, i);
        const pf_fsm_stats *st = pf_server_fsm_stats(srv, i);
        for (uint16_t q = 0; q < m->nstates; q++)
            for (uint16_t e = 0; e < m->nevents; e++) {
                uint64_t n = pf_fsm_stats_get(st, m, q, e);
                /* Cells without a row appear once they were hit (errors
                 * worth seeing); the rest always, so rates start at 0. */
                if (!n && m->table[(size_t)q * m->nevents + e].next == PF_FSM_NOROW)
                    continue;
                pf__sb_str(b, "protofsm_fsm_steps_total{");
                ls_labels(b, srv, i);
                pf__sb_str(b, ",state=\"");
                pf__sb_label(b, pf_fsm_state_name(m, q));
                pf__sb_str(b, "\",event=\"");
                pf__sb_label(b, pf_fsm_event_name(m, e));
                pf__sb_printf(b, "\"} %" PRIu64 "\n", n);
            }
    }
}

/* One histogram's series: `labels` ("" or "a=\"x\",...") inside the braces. */
static void hist(pf__sb *b, const char *name, const char *labels, const pf_latency *l)
{
    const char *sep = *labels ? "," : "";

    for (unsigned k = 0; k < PF_LATENCY_BUCKETS; k++)
        pf__sb_printf(b, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, labels, sep,
                      pf_latency_bounds_us[k] / 1e6, l->le[k]);
    pf__sb_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, l->count);
    pf__sb_printf(b, "%s_sum{%s} %.9f\n%s_count{%s} %" PRIu64 "\n", name, labels,
                  (double)l->sum_ns / 1e9, name, labels, l->count);
}

static void latency(pf__sb *b, pf_server *srv)
{
    pf_latency l;

    family(b, "protofsm_handler_duration_seconds", "histogram",
           "Time handlers took, per listener and handler (timed while the admin listener runs).");
    for (unsigned i = 0; i < pf_server_listeners(srv); i++) {
        const pf_fsm *m = pf_server_fsm(srv, i);
        for (uint16_t h = 1; h < m->nhandlers; h++) {
            if (pf_server_latency(srv, i, h, &l) < 0)
                continue;
            pf__sb lb;
            pf__sb_init(&lb, 4096);
            ls_labels(&lb, srv, i);
            pf__sb_str(&lb, ",handler=\"");
            pf__sb_label(&lb, pf_fsm_handler_name(m, h));
            pf__sb_str(&lb, "\"");
            if (lb.err < 0)
                b->err = lb.err;
            else
                hist(b, "protofsm_handler_duration_seconds", lb.p, &l);
            pf__sb_free(&lb);
        }
    }
    family(b, "protofsm_queue_wait_seconds", "histogram",
           "Time jobs waited in the request queue for a worker (hsha, reactor; timed while "
           "the admin listener runs).");
    pf_server_queue_wait(srv, &l);
    hist(b, "protofsm_queue_wait_seconds", "", &l);
}

int pf__admin_render_metrics(pf_server *srv, pf__sb *b)
{
    pf_server_stats s;

    pf_server_stats_get(srv, &s);
    per_listener(b, srv, "protofsm_connections_open", "gauge",
                 "Sessions open now (opened minus closed), per listener.", 0);
    per_listener(b, srv, "protofsm_sessions_opened_total", "counter",
                 "Sessions that received their OPEN event, per listener.", 1);
    per_listener(b, srv, "protofsm_listener_packets_total", "counter",
                 "Packets handled, per listener.", 2);
    per_listener(b, srv, "protofsm_listener_timeouts_total", "counter",
                 "TIMEOUT events (idle, deadline, timers, room), per listener.", 3);
    one(b, "protofsm_connections_accepted_total", "counter", "Connections accepted.",
        s.conns_accepted);
    one(b, "protofsm_connections_closed_total", "counter", "Connections closed.",
        s.conns_closed);
    family(b, "protofsm_connections_refused_total", "counter",
           "Connections refused: max_conns (the protocol's full reply) or no_fds (shed).");
    pf__sb_printf(b, "protofsm_connections_refused_total{reason=\"max_conns\"} %" PRIu64 "\n"
                     "protofsm_connections_refused_total{reason=\"no_fds\"} %" PRIu64 "\n",
                  s.conns_refused, s.conns_shed);
    one(b, "protofsm_packets_total", "counter", "Packets handled.", s.packets);
    one(b, "protofsm_builtin_events_total", "counter",
        "Built-in events delivered (open, close, timeout, drain).", s.events);
    one(b, "protofsm_received_bytes_total", "counter", "Bytes read from clients.", s.bytes_in);
    one(b, "protofsm_sent_bytes_total", "counter", "Bytes written to clients.", s.bytes_out);
    family(b, "protofsm_protocol_errors_total", "counter",
           "Parse errors (malformed) and packet-size overruns (too_large).");
    pf__sb_printf(b, "protofsm_protocol_errors_total{kind=\"malformed\"} %" PRIu64 "\n"
                     "protofsm_protocol_errors_total{kind=\"too_large\"} %" PRIu64 "\n",
                  s.proto_errors - s.proto_too_large, s.proto_too_large);
    family(b, "protofsm_timeouts_total", "counter",
           "Connections closed for time: idle, a request not whole in time, or output a "
           "closing client did not read in time (write).");
    pf__sb_printf(b, "protofsm_timeouts_total{kind=\"idle\"} %" PRIu64 "\n"
                     "protofsm_timeouts_total{kind=\"request\"} %" PRIu64 "\n"
                     "protofsm_timeouts_total{kind=\"write\"} %" PRIu64 "\n",
                  s.timeouts_idle, s.timeouts_request, s.timeouts_write);
    one(b, "protofsm_draining", "gauge", "1 once the drain (SIGTERM) began.", s.draining);
    one(b, "protofsm_queue_depth", "gauge", "Work items in the request queue.", s.queue_depth);
    one(b, "protofsm_queue_capacity", "gauge", "Request queue capacity.", s.queue_capacity);
    one(b, "protofsm_queue_full_total", "counter", "Work items that waited for queue room.",
        s.queue_full);
    one(b, "protofsm_workers", "gauge", "Worker threads now (hsha, reactor).", s.workers);
    one(b, "protofsm_workers_added_total", "counter",
        "Workers started because others were blocked in handlers.", s.workers_added);
    one(b, "protofsm_file_waits_total", "counter",
        "File windows a worker read in because the page cache did not hold them.",
        s.file_waits);
    one(b, "protofsm_owner_jobs_total", "counter",
        "Jobs the I/O thread ran itself, their handlers having proved cheap.", s.owner_jobs);
    one(b, "protofsm_owner_stalls_total", "counter",
        "Jobs run on the I/O thread that slept past the stall time.", s.owner_stalls);
    one(b, "protofsm_backend_sweeps_total", "counter",
        "sigio backend: real-time signal queue overflows, each answered by a poll sweep.",
        s.backend_sweeps);
    one(b, "protofsm_post_refused_total", "counter",
        "Posts to another session refused because its mailbox was full (process-wide).",
        pf_post_refused());
    transitions(b, srv);
    latency(b, srv);
    return b->err;
}

int pf_admin_metrics(pf_server *srv, char **out, size_t *len)
{
    pf__sb b;

    pf__sb_init(&b, (size_t)64 << 20);
    int rc = pf__admin_render_metrics(srv, &b);
    if (rc == 0 && !b.p)
        pf__sb_put(&b, "", 0);
    rc = b.err;
    if (rc < 0) {
        pf__sb_free(&b);
        return rc;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
