/* showcase: one process, one listener per protocol the project ships, each
 * printed with a client command to try it.  Ctrl-C drains and exits 0.
 * Every protocol issue adds its row to `services`. */
#include <stdio.h>
#include <string.h>

#include "line.h"
#include "mqtt.h"
#include "resp.h"
#include "protofsm/cli.h"
#include "smtp.h"

/* http1: the static site of examples/httpd with only /hello (no --root). */
#include "http1.h"
#include "http1_fsm.h"
#include "http1_static.h"
static pf_http1_static http_site = { .root_fd = -1, .log_fd = -1,
                                     .hello = "Hello, World!\n", .hello_len = 14 };
PF_HTTP1_STATIC_HANDLERS(&http_site)

static const struct service {
    const char *name;
    const pf_protocol *proto;
    const char *listen;
    const char *client;  /* the command, followed by " HOST PORT" */
    const char *hint;
} services[] = {
    { "line", &pf_line_protocol, "127.0.0.1:7000", "nc",
      "then type: HELLO you / ECHO hi / SLEEP 100 / QUIT" },
    { "resp", &pf_resp_protocol, "127.0.0.1:6380", "nc",
      "then type: PING / ECHO hi / QUIT; or: redis-cli -p 6380 PING (the store: build/bin/kvd)" },
    { "smtp", &pf_smtp_protocol, "127.0.0.1:2525", "nc -C",
      "or: swaks --server 127.0.0.1:2525 --to you@example.com; messages are discarded here, "
      "smtpd --maildir DIR keeps them" },
    { "http1", &pf_http1_protocol, "127.0.0.1:8080",
      "printf 'GET /hello HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | nc -q1", "or: curl -i http://127.0.0.1:8080/hello" },
    { "mqtt", &pf_mqtt_protocol, "127.0.0.1:1883",
      "sh -c 'mosquitto_sub -v -t \"#\" -h $0 -p $1'",
      "then elsewhere: mosquitto_pub -p 1883 -t a/b -m hi" },
};

int main(int argc, char **argv)
{
    pf_cli cli;
    pf_server *srv;
    int rc = pf_cli_parse(&cli, argc, argv,
                          "showcase: every protofsm protocol on its own port (--listen is ignored)");

    if (rc != 0)
        return rc > 0 ? 0 : 2;
    rc = pf_server_new(&srv, &cli.conf);
    if (rc < 0) {
        fprintf(stderr, "showcase: %s\n", strerror(-rc));
        return 1;
    }
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        const struct service *sv = &services[i];
        pf_listen_conf lc = { .proto = sv->proto, .reuseport = cli.reuseport };
        /* A request is one packet: HTTP needs room for a whole body. */
        if (sv->proto == &pf_http1_protocol)
            lc.max_input = pf_http1_max_request(NULL);
        char host[256], addr[300];
        unsigned port;

        pf_cli_split(sv->listen, host, sizeof(host), &port);
        rc = pf_server_listen(srv, host, port, &lc);
        if (rc < 0) {
            fprintf(stderr, "showcase: cannot listen on %s for %s: %s\n", sv->listen, sv->name,
                    strerror(-rc));
            pf_server_free(srv);
            return 1;
        }
        pf_server_address(srv, (unsigned)rc, addr, sizeof(addr));
        fprintf(stderr, "%-8s listening on %s   try: %s %s %u   (%s)\n", sv->name, addr,
                sv->client, host, port, sv->hint);
    }
    fprintf(stderr, "mode %s; Ctrl-C drains and exits\n", pf_mode_name(cli.conf.mode));
    return pf_cli_finish(srv, pf_server_run(srv));
}
