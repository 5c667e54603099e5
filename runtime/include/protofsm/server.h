/* The server: listeners, connections, the I/O thread and the workers.
 *
 * A server hosts any number of listeners, each with its own service (a
 * protocol, a table and its handlers: service.h) and the service
 * instance's data.  Every accepted connection gets a session (session.h);
 * its packets go through the service's table one at a time, in arrival
 * order, with PF_EV_OPEN first and PF_EV_CLOSE last.  Timers and the drain
 * signal are events in the same stream.
 *
 * Modes (same protocol and handler code in each):
 *   hsha     the I/O thread reads, parses and writes; `threads` workers run
 *            the handlers (half-sync/half-async).  The default.
 *   reactor  the I/O thread only waits for readiness; workers read, parse,
 *            handle and write a connection, which is then re-armed.
 *   lf       leader/followers: `threads` threads take turns waiting on
 *            epoll; the leader hands leadership on before it handles.
 *   inline   one thread does everything: for cheap handlers.
 *
 * Threads: pf_server_new, pf_server_listen, pf_server_run and
 * pf_server_free are called from one thread.  pf_server_stop and
 * pf_server_stats_get may be called from any thread; pf_server_stop is also
 * async-signal-safe.  Handlers run on a worker (or the I/O thread in inline
 * mode, or any lf thread); PF_EV_CLOSE runs on the thread that owns the
 * loop, so its handler must not block. */
#ifndef PROTOFSM_SERVER_H
#define PROTOFSM_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/socket.h>

#include "protofsm/service.h"

typedef struct pf_server pf_server;

typedef enum pf_mode {
    PF_MODE_HSHA = 0,
    PF_MODE_REACTOR = 1,
    PF_MODE_LF = 2,
    PF_MODE_INLINE = 3
} pf_mode;

/* "hsha", "reactor", "lf", "inline"; NULL when out of range. */
const char *pf_mode_name(pf_mode m);
/* 0, or -EINVAL for an unknown name. */
int pf_mode_parse(const char *name, pf_mode *out);

/* How the loop learns that a descriptor is ready (the seed's I/O models).
 * EPOLL (the default): the kernel keeps the interest set; a wait costs
 * what is ready.  POLL: poll(2), the whole set handed over at every wait,
 * a cost that grows with the connections, idle ones included; it needs
 * no Linux-only call for readiness.  SIGIO: every connection in O_ASYNC
 * mode, its readiness queued as a real-time signal (SIGRTMIN + 5) to the
 * loop's thread, read through a signalfd, and a poll(2) sweep when that
 * queue overflows (SIGIO); the loop's thread blocks both signals from
 * pf_server_run to pf_server_free.  Every mode runs on every backend, except lf on SIGIO (see
 * pf_backend_refuses).  The timerfd, signalfd and eventfd are watched by
 * every backend. */
typedef enum pf_backend {
    PF_BACKEND_EPOLL = 0,
    PF_BACKEND_POLL = 1,
    PF_BACKEND_SIGIO = 2
} pf_backend;

/* "epoll", "poll", "sigio"; NULL when out of range. */
const char *pf_backend_name(pf_backend b);
/* 0, or -EINVAL for an unknown name. */
int pf_backend_parse(const char *name, pf_backend *out);

typedef struct pf_server_conf pf_server_conf;
/* Why conf's mode cannot run on its backend (one line), or NULL when it
 * can; pf_server_new then fails with -ENOTSUP. */
const char *pf_backend_refuses(const pf_server_conf *conf);

/* Zero means "the default" for every field. */
/* hsha, reactor, lf: a job handed to a worker (lf: the leadership handed
 * on) costs two context switches, more than a cheap handler takes.
 * ADAPTIVE (the default) learns, per listener and event, what handling a
 * packet costs; a job whose every packet has proved cheap (eight runs
 * averaging under cheap_us, 20 us by default) runs on the I/O thread
 * itself, within 0.5 ms of such work per loop turn.  reactor and lf read a
 * job's packets in the job, so they judge by the listener's average over
 * all of them and stop at the turn's budget.  A job there that takes over
 * 1 ms (50 x cheap_us, before_send included) and sleeps sends its events
 * (reactor, lf: the listener's) back to the workers for 0.1 s, doubling at
 * each repeat up to 10 s.  ALWAYS: every job goes to a worker (handlers
 * that may block without warning, or a loop that must never wait on a
 * handler). */
typedef enum pf_handoff { PF_HANDOFF_ADAPTIVE = 0, PF_HANDOFF_ALWAYS } pf_handoff;

struct pf_server_conf {
    pf_mode mode;
    unsigned threads;            /* workers or lf threads; default online CPUs */
    unsigned max_threads;        /* hsha, reactor: while workers are blocked in
                                    handlers (10 ms or more) and jobs wait,
                                    more are started, so that `threads` are
                                    free to run, up to this many in all;
                                    those idle for 5 s end.  Default
                                    max(64, threads); = threads: a fixed pool */
    unsigned max_conns;          /* default 10000; then the full_reply + close */
    unsigned idle_timeout_ms;    /* no input for this long: TIMEOUT, close; default none */
    unsigned request_timeout_ms; /* a packet started but not complete for this
                                    long (trickled bytes do not extend it):
                                    TIMEOUT, close; default none */
    unsigned drain_timeout_ms;   /* drain deadline; default 10000 */
    unsigned linger_ms;          /* wait for the peer's FIN after our own; default 2000 */
    size_t max_input;            /* bytes buffered per connection = largest packet;
                                    default: each listener's protocol's max_packet,
                                    else 64 KiB */
    size_t max_output;           /* per-connection output high-water mark: above
                                    it the connection is not read and no more
                                    of its packets are handled until the client
                                    reads; a reply larger than it is delivered
                                    whole; posts are bounded by it; default
                                    256 KiB */
    size_t queue_size;           /* request queue capacity (work items); default 4096 */
    unsigned batch;              /* packets per work item; default 64 */
    /* Optional.  Called on the loop's thread (it must not block) for each
     * SIGHUP, SIGUSR1 and SIGUSR2 the server takes (no_signals 0): reopen
     * a log, reload what can be.  Without it they are ignored, as SIGALRM
     * always is: none of the four may end the process without a drain. */
    void (*on_signal)(int signo, void *arg);
    void *signal_arg;
    /* Optional.  Called once by pf_server_run when the server is ready:
     * listening, its signals taken, about to serve.  Scripts that wait for
     * an "I am ready" line should have it printed here: a SIGTERM sent when
     * it appears then drains, never kills by default action. */
    void (*on_ready)(pf_server *srv, void *arg);
    void *ready_arg;
    int no_signals;              /* 1: do not take SIGTERM/SIGINT (nor SIGHUP,
                                    SIGUSR1, SIGUSR2, SIGALRM) through signalfd.
                                    0: pf_server_run blocks them in its thread,
                                    which its workers inherit (threads of your
                                    own must block them too), and sets them to
                                    default if ignored, until it returns */
    pf_handoff handoff;          /* hsha, reactor, lf: which jobs go to the
                                    workers (lf: to the next leader) */
    unsigned cheap_us;           /* handoff adaptive: a handler averaging under
                                    this is cheap; default 20, at most 1e6.
                                    The budget per turn is 25 times it, a
                                    stall 50 times */
    pf_backend backend;          /* default epoll (last: added after the
                                    others, whose places do not move) */
};

/* One listener.  Zero means default. */
typedef struct pf_listen_conf {
    const pf_service *service;   /* required: protocol, table, handlers */
    const void *proto_conf;      /* passed to parser_init (the protocol's limits) */
    int reuseport;               /* SO_REUSEPORT: several processes share the port */
    int backlog;                 /* default 1024 */
    void *data;                  /* the service instance's, for pf_session_listener_data */
    size_t max_input;            /* this listener's largest packet; 0: the server's
                                    max_input if given, else the protocol's
                                    max_packet (with proto_conf), else 64 KiB
                                    (protocols differ: SMTP lines vs HTTP
                                    bodies in one server) */
    /* Optional (NULL: none): called on the thread that ran the handlers,
     * after a run of packets (every pipelined packet at hand) and before
     * any reply they queued can reach the socket.  A service that must not
     * answer before something is durable (kvd: its log records in the
     * kernel or on disk) makes it so here, once per run instead of once
     * per packet (group commit).  0, or a negative error: the session is
     * closed at once and its unsent replies are dropped (the peer sees a
     * reset, never an answer that was not kept).  Here rather than in
     * pf_service, whose initializers are positional everywhere. */
    int (*before_send)(pf_session *s);
} pf_listen_conf;

/* The signals a server takes through its signalfd (SIGTERM, SIGINT,
 * SIGHUP, SIGUSR1, SIGUSR2, SIGALRM): threads of your own block them, so
 * the server's signalfd gets them. */
void pf_server_signals(sigset_t *set);

/* 0 and *out set, or -ENOMEM / -EINVAL (bad conf).  SIGPIPE is ignored from
 * here on, process-wide. */
int pf_server_new(pf_server **out, const pf_server_conf *conf);

/* Bind and listen on host:port (IPv4 literal, IPv6 literal with or without
 * brackets, or a name; port 0 picks a free port).  Returns the listener's
 * index (>= 0) or -errno (-EADDRINUSE, -EINVAL when pf_service_check
 * refuses lc->service ...). */
int pf_server_listen(pf_server *srv, const char *host, unsigned port,
                     const pf_listen_conf *lc);
/* The bound address of listener `i` as "HOST:PORT" ("[::1]:7000" for IPv6).
 * 0 or -ENOENT / -ENOSPC. */
int pf_server_address(const pf_server *srv, unsigned i, char *buf, size_t len);
unsigned pf_server_listeners(const pf_server *srv);

/* Serve until drained.  SIGTERM/SIGINT (unless no_signals) or
 * pf_server_stop start the drain: listeners close, every packet already
 * received is handled, replies are flushed, connections close.
 * Returns 0 once drained, -ETIMEDOUT when the drain deadline passed (the
 * rest were closed hard), -EINTR on a second signal (returns at once;
 * workers may still be inside handlers, so the caller should exit without
 * pf_server_free), or -errno when the loop could not start. */
int pf_server_run(pf_server *srv);
/* Start the drain.  Any thread; async-signal-safe. */
void pf_server_stop(pf_server *srv);
void pf_server_free(pf_server *srv);

#endif
