/* Sessions: the calls handlers make, and a driver that runs a protocol over
 * bytes handed in by the caller (no sockets, no threads).
 *
 * The driver is the reference for what the server does per connection:
 * buffer input under a limit, parse every complete packet, dispatch it, keep
 * the packet's bytes in place until its handler returns, stop at the first
 * error with the protocol's own error reply. */
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log_impl.h"
#include "post_impl.h"
#include "session_impl.h"


static void fail(pf_session *s, int err)
{
    s->closing = 1;
    if (!s->err)
        s->err = err;
}

int pf_replyv(pf_session *s, const pf_slice *parts, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len > SIZE_MAX / 2 - total)
            total = SIZE_MAX / 2; /* reserve refuses it below */
        else
            total += parts[i].len;
    }
    /* The output limit is a high-water mark (above it nothing more is read
     * or handled: server.h), never a cap on a reply: a large reply is
     * delivered, and one is refused only for want of memory.  By hand the
     * limit still bounds what other sessions post (post.h). */
    pf_buf *b = s->out.cur;
    size_t max = b->max;
    b->max = SIZE_MAX / 2;
    int rc = pf_buf_reserve(b, total);
    if (rc == 0)
        for (size_t i = 0; i < n; i++)
            pf_buf_append(b, parts[i].ptr, parts[i].len);
    b->max = max;
    if (rc < 0) {
        /* A reply that cannot be queued whole must not be queued in part,
         * and the session cannot go on as if it had been answered. */
        fail(s, rc);
        return rc;
    }
    return 0;
}

int pf_reply(pf_session *s, const void *data, size_t len)
{
    pf_slice one = { data, len };
    return pf_replyv(s, &one, 1);
}

int pf_reply_str(pf_session *s, const char *str)
{
    return pf_reply(s, str, strlen(str));
}

void pf_close(pf_session *s) { s->closing = 1; }
int pf_session_closing(const pf_session *s) { return s->closing; }
void *pf_session_data(const pf_session *s) { return s->data; }
void pf_session_set_data(pf_session *s, void *data) { s->data = data; }
uint16_t pf_session_state(const pf_session *s) { return s->state; }
const pf_protocol *pf_session_protocol(const pf_session *s) { return s->svc->proto; }
const pf_service *pf_session_service(const pf_session *s) { return s->svc; }

/* Copy at most errlen - 1 bytes of the formatted reason; -EINVAL. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int bad_service(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

int pf_service_check(const pf_service *svc, char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    if (!svc || !svc->proto || !svc->fsm || !svc->handlers)
        return bad_service(err, errlen, "service without %s",
                           !svc ? "a definition" : !svc->proto ? "a protocol"
                           : !svc->fsm ? "a table" : "handlers");
    const pf_protocol *p = svc->proto;
    const pf_fsm *m = svc->fsm;
    if (!p->parse || !p->parser_init || !p->events)
        return bad_service(err, errlen, "protocol %s has no parser or no events",
                           p->name ? p->name : "?");
    /* The same generated event list, not one that happens to be as long:
     * a table over another protocol would run the wrong handlers. */
    if (m->events != p->events)
        return bad_service(err, errlen, "table %s is over protocol %s, not %s", m->name,
                           m->events ? m->events->protocol : "?", p->name);
    if (m->nevents != p->events->n || m->start >= m->nstates)
        return bad_service(err, errlen, "table %s does not match its events", m->name);
    for (uint16_t i = 1; i < m->nhandlers; i++)
        if (!svc->handlers[i])
            return bad_service(err, errlen, "table %s: handler slot %u (%s) is not bound",
                               m->name, i, pf_fsm_handler_name(m, i));
    return 0;
}

void pf__session_init(pf_session *s, const pf_service *svc,
                      const void *proto_conf, void *parser, void *fields,
                      pf_fsm_stats *stats)
{
    memset(s, 0, sizeof(*s));
    s->svc = svc;
    s->stats = stats;
    s->parser = parser;
    s->fields = fields;
    pf__out_init(&s->out, 0, 0);
    s->state = svc->fsm->start;
    if (parser) /* NULL: a connection's, made when bytes come (conn.c) */
        svc->proto->parser_init(parser, proto_conf);
}

int pf__session_dispatch(pf_session *s, const pf_packet *pkt)
{
    if (s->closed)
        return PF_ECLOSED;
    pf_fsm_step step;
    /* Logs off (the rule): one relaxed load, no clock read. */
    int logs = pf__log_wanted();
    struct timespec t0, t1;
    if (logs)
        clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = pf_fsm_run(s->svc->fsm, s->svc->handlers, &s->state, pkt->event, s, pkt,
                        s->stats, &step);
    if (logs) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        pf__log_step(s, pkt, &step, rc,
                     (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec)));
    }
    if (pkt->event == PF_EV_CLOSE)
        s->closed = 1;
    if (rc == PF_ENOROW && pkt->event < PF_EV__BUILTIN)
        return 0;
    if (rc < 0) {
        fail(s, rc);
        return rc;
    }
    if (step.closing)
        s->closing = 1;
    return 0;
}

ssize_t pf__session_parse(pf_session *s, size_t at, pf_packet *pkt)
{
    const pf_protocol *p = s->svc->proto;
    ssize_t n = p->parse(s->parser, pf_buf_head(&s->in) + at, s->in.len - at, pkt);

    if (n > 0)
        return n;
    if (n != -EAGAIN)
        return n < 0 ? n : -EBADMSG; /* a parser that returns 0 made no packet */
    /* A full buffer holding no whole packet from its start: the packet is
     * over the limit (a parser without a limit of its own still gets
     * one).  Not when packets before it hold part of the buffer: once
     * they are handled and consumed, it may fit. */
    if (at == 0 && s->in.len >= s->in.max)
        return -EMSGSIZE;
    /* protocol.h: only when every earlier packet has been handled, so the
     * reply lands in stream order (their replies are already queued). */
    if (at == 0 && p->interim) {
        pf_slice r = p->interim(s->parser);
        if (r.len)
            pf_reply(s, r.ptr, r.len);
    }
    return 0;
}

void pf__session_parse_error(pf_session *s, int err)
{
    pf_slice r = { NULL, 0 };
    if (s->svc->proto->error_reply)
        r = s->svc->proto->error_reply(s->parser, err);
    /* The parse error is the session's error even if its reply does not
     * fit. */
    if (pf__log_wanted())
        pf__log_parse_error(s, err);
    fail(s, err);
    if (r.len)
        pf_reply(s, r.ptr, r.len);
}

/* ---- the by-hand driver ------------------------------------------------- */

struct pf_session_block {
    pf_session s;
    void *listener_data;
    int (*before_send)(pf_session *s);
    alignas(max_align_t) unsigned char mem[];
};

static size_t round_up(size_t n)
{
    return (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
}

pf_session *pf_session_new(const pf_service *svc, const pf_session_conf *conf)
{
    static const pf_session_conf none;
    if (!conf)
        conf = &none;
    if (pf_service_check(svc, NULL, 0) < 0) {
        errno = EINVAL;
        return NULL;
    }
    const pf_protocol *proto = svc->proto;
    size_t psz = round_up(proto->parser_size), fsz = round_up(proto->fields_size);
    struct pf_session_block *b = calloc(1, sizeof(*b) + psz + fsz);
    if (!b)
        return NULL;
    pf_session *s = &b->s;
    pf__session_init(s, svc, conf->proto_conf, b->mem, b->mem + psz, conf->stats);
    b->listener_data = conf->listener_data;
    b->before_send = conf->before_send;
    /* pf__session_init cleared the struct, buffers included. */
    pf__out_init(&s->out, conf->max_output ? conf->max_output : PF_DEFAULT_MAX_OUTPUT, 0);
    pf_buf_init(&s->in, pf__max_input(conf->max_input, 0, proto, conf->proto_conf));
    s->data = conf->data;
    pf_session_event(s, PF_EV_OPEN);
    return s;
}

void pf_session_free(pf_session *s)
{
    if (!s)
        return;
    if (!s->closed)
        pf_session_event(s, PF_EV_CLOSE);
    pf__post_release(s); /* its handle goes stale (post.c) */
    pf_buf_free(&s->in);
    pf__out_free(&s->out);
    free((struct pf_session_block *)s);
}

int pf_session_event(pf_session *s, uint16_t event)
{
    /* Packet events carry fields their handlers read; only the parser can
     * make them. */
    if (event >= PF_EV__BUILTIN)
        return -EINVAL;
    pf_packet pkt = { .event = event };
    return pf__session_dispatch(s, &pkt);
}

pf_buf *pf_session_output(pf_session *s) { return &s->out.buf; }

void *pf_session_listener_data(pf_session *s)
{
    return s->host ? pf__host_listener_data(s->host)
                   : ((struct pf_session_block *)s)->listener_data;
}

/* Parse and handle every complete packet in s->in. */
static int drain_input(pf_session *s, int *handled)
{
    while (s->in.len && !s->closing) {
        pf_packet pkt = { .fields = s->fields };
        ssize_t n = pf__session_parse(s, 0, &pkt);
        if (n == 0)
            return 0;
        if (n < 0) {
            pf__session_parse_error(s, (int)n);
            return s->err;
        }
        int rc = pf__session_dispatch(s, &pkt);
        pf_buf_consume(&s->in, (size_t)n);
        if (rc < 0)
            return rc;
        (*handled)++;
    }
    return 0;
}

int pf_session_feed(pf_session *s, const void *data, size_t len)
{
    struct pf_session_block *b = (struct pf_session_block *)s;
    const char *p = data;
    int handled = 0;
    if (s->closing)
        return s->err; /* sticky: 0 after a clean close */
    while (len) {
        /* Take no more than the input limit leaves room for, so one large
         * write is handled packet by packet instead of refused whole. */
        size_t room = s->in.max - s->in.len;
        if (room == 0) { /* not reached: a full buffer is an error (pf__session_parse) */
            pf__session_parse_error(s, -EMSGSIZE);
            return s->err;
        }
        size_t take = len < room ? len : room;
        int rc = pf_buf_append(&s->in, p, take);
        if (rc < 0) {
            fail(s, rc);
            return rc;
        }
        p += take;
        len -= take;
        rc = drain_input(s, &handled);
        if (rc == 0 && b->before_send && (rc = b->before_send(s)) < 0) {
            pf_buf_consume(&s->out.buf, s->out.buf.len); /* never sent (session.h) */
            fail(s, rc);
        }
        if (rc < 0)
            return rc;
        if (s->closing)
            return handled;
    }
    return handled;
}
