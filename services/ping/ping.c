/* The ping service over RESP (ping.fsm): PING, ECHO and QUIT with
 * redis's replies, for a listener that shows the protocol without a store
 * (the showcase's port 6380; kvd serves the keyspace with its own table,
 * services/kvd/kvd.fsm). */
#include <stdio.h>
#include <string.h>

#include "ping/ping.h"
#include "ping_fsm.h"
#include "resp.h"

PING_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(PING_HANDLERS);
const pf_service pf_ping_service = { &pf_resp_protocol, &ping_fsm, handlers };

static int reply_bulk(pf_session *s, pf_slice v)
{
    char head[32];
    int n = snprintf(head, sizeof head, "$%zu\r\n", v.len);
    pf_slice parts[3] = { { head, (size_t)n }, v, { "\r\n", 2 } };
    return pf_replyv(s, parts, 3) < 0 ? -1 : PF_NEXT;
}

static int err(pf_session *s, const char *e) { return pf_reply_str(s, e) < 0 ? -1 : PF_NEXT; }

static int ping_on_ping(pf_session *s, const pf_packet *pkt)
{
    const pf_resp_fields *f = pkt->fields;
    pf_slice av[2];
    if (f->argc > 2)
        return err(s, "-ERR wrong number of arguments for 'ping' command\r\n");
    if (f->argc == 2 && pf_resp_args(f, av, 2, NULL, 0) < 0) {
        char buf[4096];
        if (f->args.len > sizeof buf || pf_resp_args(f, av, 2, buf, sizeof buf) < 0)
            return err(s, "-ERR argument too long for this listener\r\n");
        return reply_bulk(s, av[1]);
    }
    if (f->argc == 2)
        return reply_bulk(s, av[1]);
    return err(s, "+PONG\r\n");
}

static int ping_on_echo(pf_session *s, const pf_packet *pkt)
{
    const pf_resp_fields *f = pkt->fields;
    pf_slice av[2];
    char buf[4096];
    if (f->argc != 2)
        return err(s, "-ERR wrong number of arguments for 'echo' command\r\n");
    if (pf_resp_args(f, av, 2, buf, sizeof buf) < 0)
        return err(s, "-ERR argument too long for this listener\r\n");
    return reply_bulk(s, av[1]);
}

static int ping_on_quit(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "+OK\r\n") < 0 ? -1 : PF_CLOSE;
}

static int ping_on_command(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return err(s, "*0\r\n");
}

static int ping_on_not_here(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return err(s, "-ERR this listener answers PING, ECHO and QUIT only (run kvd)\r\n");
}

static int ping_on_unknown(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return err(s, "-ERR unknown command\r\n");
}
