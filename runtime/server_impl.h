/* Private: the server and connection structs, shared by server.c (config,
 * lifecycle), loop.c (the loop owner: epoll, accept, timers, signals,
 * completions), progress.c (a connection's next step, its deadlines,
 * closing), pool.c (who runs jobs) and conn.c (reading, parsing, handling,
 * writing).
 *
 * Who may touch a connection.  Its fields are in three groups.  The
 * "owner" group (epoll registration, timers, list links, flags) belongs to
 * the thread that owns the loop: the I/O thread, or in lf mode whichever
 * thread holds the leader lock.  The "job" group (session, buffers, parsed
 * packets) belongs to the owner too, except while the connection is in
 * flight (c->in_flight): then exactly one thread, the one running its job,
 * has it, and the owner only sets pending flags.  The "I/O" group (what
 * the socket said: readable, writable, eof, rdhup) belongs to whoever does
 * the socket I/O: in hsha that is always the owner, which reads and writes
 * while workers run handlers (it records an edge for a connection whose job
 * is out, and a drain marks it readable); in the other modes it goes with
 * the job group.  In debug builds (no NDEBUG: the sanitizer builds and
 * DEBUG=1) the PF__*_HERE checks below assert these rules where the fields
 * are touched.  Hand-overs go through the
 * request queue (under its mutex) and the completion list (an atomic
 * stack: release on push, acquire on the owner's swap), the happens-before
 * edges that make this safe (and TSan agree).  A completion wakes the
 * owner (eventfd) only if the owner sleeps in epoll_wait, or is about to:
 * awake, it swaps the list before it sleeps (srv->sleeping, see
 * pf__pool_sleep and pf__pool_done). */
#ifndef PF__SERVER_IMPL_H
#define PF__SERVER_IMPL_H

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "protofsm/buf.h"
#include "protofsm/server.h"
#include "protofsm/stats.h"
#include "cheap_impl.h"
#include "queue.h"
#include "session_impl.h"
#include "timer.h"

#define PF__MAX_LISTENERS 16

/* Pending built-in events (c->pending). */
#define PF__EV_OPEN 0x1u
#define PF__EV_IDLE 0x2u
#define PF__EV_DEADLINE 0x4u
#define PF__EV_TIMER 0x8u
#define PF__EV_DRAIN 0x10u
#define PF__EV_ROOM 0x20u   /* post.c: pf_post_wake's "room" */

#define PF__LAT_STRIDE (2 + PF_LATENCY_BUCKETS)

typedef struct pf__listener {
    int fd;
    const pf_service *svc;
    const pf_protocol *proto;        /* svc->proto */
    const void *proto_conf;
    pf_fsm_stats *fstats;
    void *data;                      /* pf_listen_conf.data */
    size_t max_input;                /* resolved: never 0 */
    int (*before_send)(pf_session *s); /* pf_listen_conf's */
    struct pf__cost *cost;           /* per event: cheap.c */
    /* Handler latency, per handler slot: count, sum_ns, then one count
     * per bucket (not cumulative), PF__LAT_STRIDE words a slot. */
    atomic_uint_fast64_t *lat;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} pf__listener;

typedef struct pf__conn {
    /* ---- owner group ---- */
    int fd;
    uint32_t armed;              /* epoll events registered */
    pf__listener *ls;
    struct pf_server *srv;
    struct pf__conn *prev, *next;    /* srv->conns */
    struct pf__conn *wnext;          /* srv->waitq / graveyard / ready list */
    struct pf__conn *dnext;          /* completion list */
    pf__timer_entry timer;            /* at min(idle_at, req_at, user_at, flush_at) */
    uint64_t idle_at, req_at, user_at;
    uint64_t flush_at;               /* closing with output pending: closed
                                        hard then, unless writes progress */
    uint8_t in_flight;
    uint8_t dead;                    /* closed; freed at the end of the batch */
    uint8_t lingering;               /* our FIN sent, waiting for the peer's */
    uint8_t drain;                   /* server draining: close once idle */
    uint8_t timed_out;               /* idle or deadline: close after TIMEOUT */
    uint8_t hard;                    /* reset or fatal error: close without flush */
    uint8_t pending;                 /* PF__EV_* to deliver */
    /* ---- I/O group: the owner's in hsha, else as the job group ---- */
    uint8_t readable;                /* edge seen, EAGAIN not yet */
    uint8_t writable;                /* no EAGAIN on write since last EPOLLOUT */
    uint8_t eof;                     /* peer sent FIN */
    uint8_t rdhup;                   /* epoll reported the peer's FIN queued */
    /* ---- job group ---- */
    uint8_t job_events;              /* events this job delivers */
    uint8_t user_set;                /* pf_session_timer called during the job */
    uint8_t partial;                 /* a packet is started, not complete */
    uint8_t activity;                /* bytes were read or written */
    uint8_t completed;               /* a whole packet arrived during the job */
    uint8_t jerr;                    /* the job hit a socket error (-> hard) */
    uint8_t drain_cut;               /* draining: input ends after drain_left */
    /* The 4-byte fields sit here, in what would be padding after the
     * flags: every idle connection pays for each 16 bytes (malloc's
     * granule) of this struct. */
    int perr;                        /* sticky parse error to answer */
    unsigned user_ms;
    unsigned first, npk, pkcap;      /* hsha: packets [first..npk) not yet
                                        handled (pf__conn_packet) */
    /* One word for two lives, since every idle connection pays for each
     * 16 bytes of this struct: until the drain reaches the connection
     * (drain_cut), when it was accepted (pf__now_ms; the admin's
     * /connections shows its age); then the bytes the socket held when
     * the drain began. */
    union {
        uint64_t born_ms;
        size_t drain_left;
    };
    pf_session s;                    /* its `in` is our input buffer and its
                                        `out` our output (out_impl.h) */
    size_t parsed;                   /* hsha: bytes of parsed, unconsumed packets */
    pf_packet *pk;                   /* hsha: packets 1.., [pkcap]; packet 0
                                        is in the parser block, its fields
                                        the session's scratch */
    char *pkf;                       /* hsha: their fields, [pkcap] */
#ifndef NDEBUG
    _Atomic(void *) _holder;         /* PF__SELF of the thread running its job */
#endif
    /* The parser block follows, max-aligned: parser state, fields scratch
     * and hsha's packet 0; unless the protocol can say its parser is at
     * rest: then it is a block of its own, held while a packet is under
     * way (conn.c) */
} pf__conn;

struct pf_server {
    pf_server_conf conf;
    const struct pf__sched *sched;   /* pf__scheds[conf.mode] */
    const struct pf__backend *bk;    /* backend.h: pf_server_conf.backend's */
    void *bks;                       /* its state */
    int timerfd, sigfd, wakefd, reservefd;
    unsigned nlisteners;
    pf__listener ls[PF__MAX_LISTENERS];
    pf__timers timers;
    uint64_t timer_armed;            /* deadline the timerfd is set to */
    pf__timer_entry drain_timer;
    pf__timer_entry accept_timer;     /* listeners paused: no descriptor at all */
    pf__conn *conns;                 /* every open connection */
    pf__conn *waitq, *waitq_tail;    /* waiting for request queue room */
    pf__conn *graveyard;             /* closed, free at end of batch */
    pf__conn *ready, *ready_tail;    /* lf: connections with a job to run */
    unsigned nconns;
    int draining, done, result, accepting, abandoned;
    int inline_busy;                 /* a job runs on the owner (inline mode, or
                                        a cheap one in hsha or reactor); new
                                        ones go to srv->ready, or to the workers */
    uint64_t turn_ns;                /* time in handlers of jobs run here this
                                        turn (cheap.c) */
    long turn_slept;                 /* the owner's voluntary context switches */
    int turn_slept_set;              /* at its first job here this turn */
    int masked;                      /* oldmask holds the caller's signal mask */
    unsigned unignore;               /* bit 0 SIGTERM, 1 SIGINT: were SIG_IGN */
    sigset_t oldmask;
    pf__conn **posts;                /* jobs collected this turn */
    size_t nposts;
    atomic_int stop_req;             /* signals seen / pf_server_stop */
    atomic_int sigcount;

    int input_given;                 /* conf.max_input was set, not defaulted */
    pf__queue queue;
    pthread_t *threads;              /* lf */
    unsigned nthreads;
    struct pf__worker *workers;      /* hsha, reactor: max_threads slots */
    atomic_uint nworkers;            /* started and not retired */
    pf__timer_entry pool_timer;      /* the owner's look at blocked workers */
    _Atomic(pf__conn *) done_list;   /* completions, pushed by any thread */
    atomic_int sleeping;             /* the owner is (about to be) in epoll_wait */
    atomic_int wake_sent;            /* the eventfd was written since */
    pthread_mutex_t leader;          /* lf */
    uint32_t post_dirty;             /* post.c: slots posted to since the
                                        last wake-up, under post.c's lock */

#ifndef NDEBUG
    atomic_int _running;             /* pf_server_run is running the loop */
    _Atomic(void *) _owner;          /* PF__SELF of the loop's owner, or NULL */
#endif

    /* Time jobs waited in the request queue (timed with the handlers):
     * count, sum_ns, buckets, as pf__listener.lat's slots. */
    atomic_uint_fast64_t qwait[PF__LAT_STRIDE];
    struct {
        atomic_uint_fast64_t conns_accepted, conns_closed, conns_refused, conns_shed, packets,
            events, bytes_in, bytes_out, timeouts, proto_errors, queue_full, file_waits,
            owner_jobs, owner_stalls, backend_sweeps, timeouts_idle, timeouts_request,
            timeouts_write, proto_too_large, draining,
            workers_added;
    } st;
};


#define PF__STAT_ADD(srv, f, n) atomic_fetch_add_explicit(&(srv)->st.f, (n), memory_order_relaxed)


/* A handler run of `ns` by the session on `host` (log.c, while timing). */
void pf__latency_add(void *host, uint16_t handler, uint64_t ns);
/* One duration into a PF__LAT_STRIDE-word histogram. */
void pf__lat_record(atomic_uint_fast64_t *l, uint64_t ns);

/* conn.c */
pf__conn *pf__conn_new(pf_server *srv, pf__listener *ls, int fd);
void pf__conn_free(pf__conn *c);
/* hsha/inline owner side: read and parse into c->pk.  Returns packets
 * parsed (>= 0); sets c->perr / c->eof / c->hard. */
int pf__conn_read_parse(pf__conn *c);
/* hsha job: deliver c->job_events then pk[first..npk) until output passes
 * the high-water mark or the session closes. */
void pf__conn_handle(pf__conn *c);
/* io job (reactor, lf, inline): events, then flush, read, parse, handle,
 * flush, until EAGAIN or back-pressure. */
void pf__conn_io(pf__conn *c);
/* Write c->s.out.  0 when everything went, 1 when some is left (EAGAIN,
 * or a cold file segment), -errno on error. */
int pf__conn_flush(pf__conn *c);
/* Deliver one built-in event with raw = `why`. */
void pf__conn_event(pf__conn *c, uint16_t ev, const char *why);
/* Whether more work could be done now without the socket. */
int pf__conn_has_packets(const pf__conn *c);
static inline size_t pf__align_max(size_t n)
{
    return (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
}
/* hsha's packet 0: in the parser block, after the fields scratch that
 * holds its fields (conn.c lays the block out). */
static inline pf_packet *pf__conn_packet0(pf__conn *c)
{
    size_t fsz = c->ls->proto->fields_size;
    return (pf_packet *)((char *)c->s.fields + pf__align_max(fsz ? fsz : 1));
}
/* hsha: parsed packet i (0 <= i < npk). */
static inline pf_packet *pf__conn_packet(pf__conn *c, unsigned i)
{
    assert(i <= c->pkcap && c->s.fields);
    return i ? &c->pk[i - 1] : pf__conn_packet0(c);
}
void pf__conn_release_packets(pf__conn *c);
/* hsha, between jobs: release the packet arrays unless they are small. */
void pf__conn_trim_packets(pf__conn *c);
/* With no unconsumed input: give the parser state back if the protocol
 * says it is at rest (pf_protocol.at_rest); the next packet gets a fresh
 * one.  By whoever may parse: the owner in hsha, else the job. */
void pf__conn_rest(pf__conn *c);

/* loop.c */
int pf__loop_init(pf_server *srv);
void pf__loop_fini(pf_server *srv);
/* One owner turn: wait up to `ms` (-1 forever), dispatch.  In lf mode the
 * caller holds srv->leader.  Returns 0, or < 0 to stop. */
int pf__loop_once(pf_server *srv, int ms);
/* Run the loop until the server is done (this thread, and for lf the
 * followers it starts).  0 or < 0. */
int pf__loop_run(pf_server *srv);
/* After a drain deadline: whether a job is still out. */
int pf__loop_busy(pf_server *srv);
/* Owner: pull the completion list. */
void pf__loop_completions(pf_server *srv);
void pf__loop_reap(pf_server *srv);
/* Register what c waits for now (want_in / want_out); one-shot modes
 * re-arm.  Sets c->hard when it fails. */
void pf__loop_arm(pf_server *srv, pf__conn *c, int want_in, int want_out);
/* One-shot modes: nothing may report on c while its job runs elsewhere. */
void pf__loop_disarm(pf_server *srv, pf__conn *c);
/* c's descriptor leaves epoll (before it is closed). */
void pf__loop_forget(pf_server *srv, pf__conn *c);

/* progress.c: a connection's next step (loop owner only). */
/* Decide and take the next step from the flags: start a job, read and
 * parse (hsha), wait for readiness, or close.  No-op while in flight. */
void pf__step(pf_server *srv, pf__conn *c);
/* Hand c's job (c->pending events, I/O or parsed packets) to the mode. */
void pf__step_start(pf_server *srv, pf__conn *c);
/* c's job finished: fold its outcome in, then pf__step. */
void pf__step_done(pf_server *srv, pf__conn *c);
/* Close now (CLOSE event, descriptor, lists); in flight: when it ends. */
void pf__step_close(pf_server *srv, pf__conn *c);
/* c's timer entry expired at `now`: whichever deadlines passed. */
void pf__step_timeout(pf_server *srv, pf__conn *c, uint64_t now);
/* Link c's timer entry at its earliest deadline (or unlink it). */
void pf__step_timers(pf_server *srv, pf__conn *c);

/* pool.c: scheduling, one row per mode.  The loop and the connections
 * read these properties instead of testing the mode. */
typedef struct pf__sched {
    /* The owner does every read, parse and write; a job only runs the
     * handlers over packets the owner parsed (hsha). */
    uint8_t owner_io;
    /* Jobs run on other threads and do the socket I/O themselves; the
     * socket is armed one-shot, so no event reports on it while a job
     * holds it (reactor, lf). */
    uint8_t oneshot;
    /* Jobs run on the owner's thread (inline). */
    uint8_t on_owner;
    /* Threads take turns as the owner under srv->leader (lf). */
    uint8_t leaders;
    /* Worker threads take jobs from the request queue (hsha, reactor). */
    uint8_t workers;
    int max_events;                               /* epoll events per turn */
    void (*job)(pf__conn *c);                     /* what a job does */
    void (*submit)(pf_server *srv, pf__conn *c);  /* hand a started job on */
} pf__sched;

extern const pf__sched pf__scheds[4];

/* One worker thread (hsha, reactor).  Its batch is taken from the queue
 * at once but run one job at a time, and completed at once at its end;
 * when the worker is blocked, the owner (pf__pool_watch) puts the jobs not
 * yet started back in the queue and completes those already finished. */
#define PF__WORKER_BATCH 16
enum { PF__W_FREE, PF__W_RUNNING, PF__W_EXITED };
typedef struct pf__worker {
    pf_server *srv;
    pthread_t tid;
    atomic_int state;                  /* PF__W_*; the owner joins EXITED ones */
    pthread_mutex_t lock;              /* batch, n, next: the worker and the owner */
    pf__conn *batch[PF__WORKER_BATCH];
    unsigned n, next;                  /* batch[next..n) not started yet */
    pf__conn *done[PF__WORKER_BATCH];  /* finished, completed with the batch */
    unsigned ndone;
    atomic_uint jobs;                  /* +1 at a job's start and at its end */
    unsigned seen;                     /* owner: `jobs` at its last look */
} pf__worker;

int pf__pool_init(pf_server *srv);
void pf__pool_fini(pf_server *srv);
/* Start the mode's worker threads (none for lf and inline). */
int pf__pool_start(pf_server *srv);
/* Start n threads running fn(srv), joined by pf__pool_stop. */
int pf__pool_spawn(pf_server *srv, void *(*fn)(void *), unsigned n);
/* Close the queue and join every thread, or (abandon) detach them. */
void pf__pool_stop(pf_server *srv, int abandon);
/* Owner: post what this turn submitted; what does not fit waits.  Returns
 * the jobs refused with the protocol's busy reply instead (linked through
 * wnext): the caller completes them. */
pf__conn *pf__pool_flush(pf_server *srv);
/* Owner, from its timer (srv->pool_timer): start workers for those
 * blocked in handlers, hand their unstarted jobs to others, join those
 * that retired. */
void pf__pool_watch(pf_server *srv);
/* Owner: whether submitted jobs wait for a flush or a leader. */
int pf__pool_pending(const pf_server *srv);
/* Owner: the oldest job on the ready list (lf, inline), or NULL. */
pf__conn *pf__pool_next_ready(pf_server *srv);
/* Any thread: n jobs are done; the owner will pick them up. */
void pf__pool_done(pf_server *srv, pf__conn **cs, size_t n);
/* Owner: every completion so far (linked through dnext), or NULL. */
pf__conn *pf__pool_completed(pf_server *srv);
/* Owner, about to wait in epoll: 0 when completions will wake it, 1 when
 * some came first (take them, do not sleep). */
int pf__pool_sleep(pf_server *srv);
/* Owner: back from the wait. */
void pf__pool_awake(pf_server *srv);

/* ---- the rules above, checked (assert) in debug builds ----------------- */
#ifndef NDEBUG
extern _Thread_local char pf__self;  /* pool.c: its address names a thread */
#define PF__SELF ((void *)&pf__self)
#define PF__LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define PF__STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)
/* This thread owns the loop (or none runs: one thread has it all). */
static inline int pf__owner_here(const pf_server *srv)
{
    return !PF__LOAD(srv->_running) || PF__LOAD(srv->_owner) == PF__SELF;
}
/* This thread holds c's job group: the owner between jobs, the job's thread
 * while in flight (inline: both are the owner's, which also sees to jobs
 * waiting on srv->ready, "in flight" on paper only). */
static inline int pf__job_here(const pf__conn *c)
{
    if (!c->in_flight)
        return pf__owner_here(c->srv);
    return PF__LOAD(c->_holder) == PF__SELF ||
           (c->srv->sched->on_owner && pf__owner_here(c->srv));
}
/* This thread may touch c's I/O group. */
static inline int pf__io_here(const pf__conn *c)
{
    return c->srv->sched->owner_io ? pf__owner_here(c->srv) : pf__job_here(c);
}
/* The job's thread takes (and gives back) c's job group. */
#define PF__JOB_ENTER(c) PF__STORE((c)->_holder, PF__SELF)
#define PF__JOB_LEAVE(c) PF__STORE((c)->_holder, (void *)NULL)
#define PF__OWNER_ENTER(srv) PF__STORE((srv)->_owner, PF__SELF)
#define PF__OWNER_LEAVE(srv) PF__STORE((srv)->_owner, (void *)NULL)
#define PF__RUNNING(srv, on) PF__STORE((srv)->_running, (on))
#else
#define PF__JOB_ENTER(c) ((void)0)
#define PF__JOB_LEAVE(c) ((void)0)
#define PF__OWNER_ENTER(srv) ((void)0)
#define PF__OWNER_LEAVE(srv) ((void)0)
#define PF__RUNNING(srv, on) ((void)0)
#endif

/* net.c */
int pf__net_listen(const char *host, unsigned port, int reuseport, int backlog,
                   struct sockaddr_storage *addr, socklen_t *addrlen);
int pf__net_format(const struct sockaddr_storage *addr, char *buf, size_t len);

#endif
