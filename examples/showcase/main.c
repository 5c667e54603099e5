/* showcase: one process, a listener per service the project ships, each
 * printed with a client command to try it.  Ctrl-C drains and exits 0.
 *
 * Services are bound per listener, so one process runs the same service
 * twice with different state: two sites (one only /hello, one serving
 * examples/showcase/www when run from the repository) and two MQTT
 * brokers whose topics never mix.
 *
 * The admin page (--admin, 127.0.0.1:9100 here unless "--admin off") is
 * printed first: it draws every machine above, moving as clients try the
 * commands printed after it. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/broker.h"
#include "echo/echo.h"
#include "http1.h"
#include "maildir/maildir.h"
#include "mcd/mcd.h"
#include "memcache.h"
#include "ping/ping.h"
#include "protofsm/cli.h"
#include "site/site.h"

static pf_site hello_site = { .root_fd = -1, .log_fd = -1,
                              .hello = "Hello, World!\n", .hello_len = 14 };
static pf_site file_site = { .root_fd = -1, .log_fd = -1 };
static const pf_maildir sink; /* accept and discard */

static struct listener {
    const char *name;
    const pf_service *service;
    void *data;
    const char *listen;
    const char *client[3]; /* the command: client[0] HOST client[1] PORT client[2] */
    const char *hint;
} listeners[] = {
    { "echo", &pf_echo_service, NULL, "127.0.0.1:7000", { "nc ", " ", "" },
      "then type: HELLO you / ECHO hi / SLEEP 100 / QUIT" },
    { "ping", &pf_ping_service, NULL, "127.0.0.1:6380", { "nc ", " ", "" },
      "then type: PING / ECHO hi / QUIT; or: redis-cli -p 6380 PING (the store: build/bin/kvd)" },
    { "smtp", &pf_maildir_service, (void *)&sink, "127.0.0.1:2525", { "nc -C ", " ", "" },
      "or: swaks --server 127.0.0.1:2525 --to you@example.com; messages are discarded here, "
      "smtpd --maildir DIR keeps them" },
    { "site", &pf_site_service, &hello_site, "127.0.0.1:8080",
      { "curl -i http://", ":", "/hello" }, "a fixed /hello; no files" },
    { "files", &pf_site_service, &file_site, "127.0.0.1:8081", { "curl -i http://", ":", "/" },
      "a second site in the same process, its own root" },
    { "mcd", &pf_mcd_service, NULL, "127.0.0.1:11311", { "nc ", " ", "" },
      "then: set k 0 0 2 / hi / get k; or: memccat --servers=127.0.0.1:11311 k" },
    { "mqtt", &pf_broker_service, NULL, "127.0.0.1:1883",
      { "mosquitto_sub -v -t '#' -h ", " -p ", "" },
      "then elsewhere: mosquitto_pub -p 1883 -t a/b -m hi" },
    { "mqtt2", &pf_broker_service, NULL, "127.0.0.1:1884",
      { "mosquitto_sub -v -t '#' -h ", " -p ", "" },
      "a second broker: what is published on 1883 never shows here" },
};
#define NLISTENERS (sizeof(listeners) / sizeof(listeners[0]))

/* The service instance a listener serves, by the listener's name. */
static void set_data(const char *name, void *data)
{
    for (size_t i = 0; i < NLISTENERS; i++)
        if (strcmp(listeners[i].name, name) == 0)
            listeners[i].data = data;
}

int main(int argc, char **argv)
{
    pf_cli cli, d;
    pf_server *srv;
    pf_admin *admin;
    pf_broker *brokers[2] = { pf_broker_new(NULL), pf_broker_new(NULL) };
    pf_cli_defaults(&d);
    d.admin = 1;
    strcpy(d.admin_host, "127.0.0.1");
    d.admin_port = 9100;
    int rc = pf_cli_parse_over(&cli, argc, argv,
                               "showcase: every protofsm service on its own port (--listen is "
                               "ignored)", &d);

    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (pf_cli_logs(&cli) < 0)
        return 1;
    pf_mcd *cache = pf_mcd_new(NULL);
    if (!brokers[0] || !brokers[1] || !cache) {
        fprintf(stderr, "showcase: out of memory\n");
        return 1;
    }
    set_data("mcd", cache);
    set_data("mqtt", brokers[0]);
    set_data("mqtt2", brokers[1]);
    struct stat st;
    if (stat("examples/showcase/www", &st) == 0 && S_ISDIR(st.st_mode))
        pf_site_open(&file_site, "examples/showcase/www");
    rc = pf_server_new(&srv, &cli.conf);
    if (rc < 0) {
        fprintf(stderr, "showcase: %s\n", strerror(-rc));
        return 1;
    }
    static char addrs[NLISTENERS][300];
    for (size_t i = 0; i < NLISTENERS; i++) {
        const struct listener *l = &listeners[i];
        pf_listen_conf lc = { .service = l->service, .data = l->data,
                              .reuseport = cli.reuseport };
        char host[256];
        unsigned port;

        pf_cli_split(l->listen, host, sizeof(host), &port);
        rc = pf_server_listen(srv, host, port, &lc);
        if (rc < 0) {
            fprintf(stderr, "showcase: cannot listen on %s for %s: %s\n", l->listen, l->name,
                    strerror(-rc));
            pf_server_free(srv);
            return 1;
        }
        pf_server_address(srv, (unsigned)rc, addrs[i], sizeof(addrs[i]));
    }
    /* After the listeners (it reads them), before their lines: first thing seen. */
    if (pf_cli_admin(&cli, srv, &admin) < 0) {
        pf_server_free(srv);
        return 1;
    }
    char a[300];
    if (admin && pf_admin_address(admin, a, sizeof(a)) == 0)
        fprintf(stderr, "admin    listening on %s   open: http://%s/   (machines, live; "
                        "/metrics for Prometheus)\n", a, a);
    for (size_t i = 0; i < NLISTENERS; i++) {
        const struct listener *l = &listeners[i];
        char host[256];
        unsigned port;
        pf_cli_split(l->listen, host, sizeof(host), &port);
        fprintf(stderr, "%-8s listening on %s   try: %s%s%s%u%s   (%s)\n", l->name, addrs[i],
                l->client[0], host, l->client[1], port, l->client[2], l->hint);
    }
    fprintf(stderr, "mode %s; Ctrl-C drains and exits\n", pf_mode_name(cli.conf.mode));
    rc = pf_cli_finish(srv, pf_server_run(srv));
    pf_broker_free(brokers[0]);
    pf_broker_free(brokers[1]);
    pf_mcd_free(cache);
    pf_site_close(&file_site);
    return rc;
}
