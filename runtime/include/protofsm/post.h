/* Posting to another session: bytes sent to a session from any thread.
 *
 * A handler normally answers only its own session (pf_reply).  A broker,
 * a chat or a pub/sub service must also send to *other* sessions, whose
 * connections belong to the I/O thread and may be in the middle of their
 * own job on another worker.  pf_post does that without touching the other
 * session: the bytes go into a small per-session mailbox under a lock, the
 * I/O thread is woken through the same eventfd that carries job
 * completions, and it moves the bytes into the connection's output when
 * that connection is not running a job.  Handlers of the receiving session
 * never run because of a post; the bytes are sent as they are.
 *
 * Handles.  pf_session_handle gives a small value (copy it freely, keep it
 * in any data structure) naming the session.  It stays safe to use after
 * the session is gone: every session release bumps a generation number, so
 * a stale handle is refused with PF_ECLOSED, never delivered to whatever
 * session reuses the slot.
 *
 * Ordering and atomicity.  The bytes of one pf_post/pf_postv call are
 * queued whole or not at all, and are sent after the bytes of earlier posts
 * to the same handle.  Relative to the receiving session's own replies
 * (pf_reply) they are interleaved at call granularity, never inside one
 * call: a protocol whose messages are self-delimiting (MQTT packets, RESP
 * pushes, lines) stays well formed.
 *
 * Bounds and the overflow policy.  Each session's mailbox holds at most
 * `max_output` bytes of the server's configuration (the session's output
 * limit for a session driven by hand); the I/O thread moves the mailbox
 * into the connection's output only while that output is below its
 * high-water mark (`max_output`), so a subscriber that does not read costs
 * at most about three times max_output.  A post that does not fit is
 * REFUSED with -ENOBUFS: nothing is queued, nothing blocks, nothing already
 * queued is dropped.  The poster decides (drop the message, keep it for
 * later, or pf_post_close the slow receiver).  A slow receiver therefore
 * never stalls the poster.
 *
 * Room again (pf_post_wake).  A poster that keeps what was refused (a
 * broker's QoS 1 message) must learn when to try again, and the receiver
 * may be silent for hours.  pf_post_wake(h) asks the runtime to deliver
 * PF_EV_TIMEOUT with raw "room" to the session h names, once, as soon as
 * its mailbox has been taken into its output (at once if the mailbox is
 * empty now).  The mailbox moves only while the output is below its
 * high-water mark, so the event means "a post of up to max_output bytes
 * fits now and the peer is reading".  The receiving session's own handler
 * then runs, in order with its packets, and may post to itself or reply.
 * Only sessions whose service calls pf_post_wake ever see "room": a table
 * whose TIMEOUT row closes must let its handler tell "room" from "timer"
 * (and veto the move with PF_STAY).  Several requests before the event
 * make one event.
 *
 * Sessions driven by hand (pf_session_new): a post appends to the session's
 * output at once.  Those sessions are single-threaded, so this is valid
 * only from the thread that drives them (the tests do this).
 *
 * Thread-safety: pf_post, pf_postv and pf_post_close may be called from any
 * thread, including handlers of any session and the loop thread.
 * pf_session_handle is a handler-side call like pf_reply (the thread running
 * the session). */
#ifndef PROTOFSM_POST_H
#define PROTOFSM_POST_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/packet.h"

typedef struct pf_session pf_session;

typedef struct pf_handle {
    uint32_t _slot; /* 0: no session */
    uint32_t _gen;
} pf_handle;

static inline int pf_handle_is_none(pf_handle h) { return h._slot == 0; }
static inline int pf_handle_equal(pf_handle a, pf_handle b)
{
    return a._slot == b._slot && a._gen == b._gen;
}

/* The handle of session `s` (the same one every time for one session).
 * 0, or -ENOMEM. */
int pf_session_handle(pf_session *s, pf_handle *out);

/* Queue `len` bytes for the session named by `h`.
 * 0 when queued; PF_ECLOSED when the session is gone (or was never there);
 * -ENOBUFS when its mailbox is full (nothing queued); -EMSGSIZE when `len`
 * is larger than a mailbox could ever hold. */
int pf_post(pf_handle h, const void *data, size_t len);
/* Several pieces as one post: all of them or none. */
int pf_postv(pf_handle h, const pf_slice *parts, size_t n);

/* Close the session once what was queued for it (replies and posts made
 * before this call) is flushed.  0 or PF_ECLOSED.  Its CLOSE event runs as
 * for any close. */
int pf_post_close(pf_handle h);

/* Deliver PF_EV_TIMEOUT, raw "room", to the session named by `h` once its
 * mailbox has been moved into its output (see "Room again" above).  Any
 * thread.  0; PF_ECLOSED when the session is gone; -ENOTSUP for a session
 * driven by hand (its posts go straight to its output: there is no mailbox
 * to wait for). */
int pf_post_wake(pf_handle h);

/* Posts refused with -ENOBUFS since the start (all sessions). */
uint64_t pf_post_refused(void);

#endif
