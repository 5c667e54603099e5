/* Default handlers of resp.rl's stateless dispatch machine: enough for a
 * listener that only answers PING, ECHO and QUIT (the showcase's RESP
 * port; kvd serves the real commands with its own machine,
 * protocols/resp_kvd.rl).  Programs that define their own resp_on_*
 * (the tests) never pull this object out of the archive. */
#include <stdio.h>
#include <string.h>

#include "resp.h"
#include "resp_fsm.h"
#include "protofsm/session.h"

static int reply_bulk(pf_session *s, pf_slice v)
{
    char head[32];
    int n = snprintf(head, sizeof head, "$%zu\r\n", v.len);
    pf_slice parts[3] = { { head, (size_t)n }, v, { "\r\n", 2 } };
    return pf_replyv(s, parts, 3) < 0 ? -1 : PF_NEXT;
}

static int err(pf_session *s, const char *e) { return pf_reply_str(s, e) < 0 ? -1 : PF_NEXT; }

int resp_on_ping(pf_session *s, const pf_packet *pkt)
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

int resp_on_echo(pf_session *s, const pf_packet *pkt)
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

int resp_on_quit(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return pf_reply_str(s, "+OK\r\n") < 0 ? -1 : PF_CLOSE;
}

int resp_on_command(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return err(s, "*0\r\n");
}

#define NOT_HERE(name)                                                                 \
    int resp_on_##name(pf_session *s, const pf_packet *pkt)                            \
    {                                                                                  \
        (void)pkt;                                                                     \
        return err(s, "-ERR this listener answers PING, ECHO and QUIT only (run kvd)\r\n"); \
    }
NOT_HERE(get) NOT_HERE(set) NOT_HERE(setnx) NOT_HERE(getset) NOT_HERE(mget) NOT_HERE(mset)
NOT_HERE(del) NOT_HERE(exists) NOT_HERE(incr) NOT_HERE(decr) NOT_HERE(incrby) NOT_HERE(decrby)
NOT_HERE(append) NOT_HERE(strlen) NOT_HERE(expire) NOT_HERE(pexpire) NOT_HERE(ttl) NOT_HERE(pttl)
NOT_HERE(persist) NOT_HERE(type) NOT_HERE(keys) NOT_HERE(scan) NOT_HERE(dbsize)
NOT_HERE(flushdb) NOT_HERE(flushall) NOT_HERE(select) NOT_HERE(info) NOT_HERE(client)
NOT_HERE(hello) NOT_HERE(auth) NOT_HERE(multi) NOT_HERE(exec) NOT_HERE(discard)
NOT_HERE(config)

int resp_on_unknown(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return err(s, "-ERR unknown command\r\n");
}
