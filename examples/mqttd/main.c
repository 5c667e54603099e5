/* mqttd: an MQTT 3.1.1 broker (protocols/mqtt.h) served by the runtime.
 *
 *   build/bin/mqttd [--port 1883] [--listen HOST:PORT] [--mode hsha] ...
 *   mosquitto_sub -h 127.0.0.1 -t 'a/#' -v &  mosquitto_pub -h 127.0.0.1 -t a/b -m hi
 *
 * The common command line (protofsm/cli.h), plus `--port N` for
 * `--listen 127.0.0.1:N` (default 1883).  Two defaults differ from the
 * other examples: there is no idle timeout unless --idle-timeout is given
 * (each client's keep-alive governs, at 1.5 x what it asked for), and the
 * input holds the largest packet (256 KiB) unless --max-input says otherwise.
 *
 * The broker's limits (services/broker/broker.h says what each does), each
 * a count, or `unlimited`:
 *   --max-sessions N            sessions in all (100000)
 *   --max-sessions-per-addr N   persistent sessions per address (1000)
 *   --session-expiry S          offline persistent sessions expire (604800 s)
 *   --max-queued N              messages queued per client (1000)
 *   --max-subs N                subscriptions per client (256)
 *   --max-retained N  --max-retained-bytes B                 (10000, 16 MiB)
 *   --max-retained-per-addr N  --max-retained-bytes-per-addr B  (1000, 1 MiB) */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "mqtt.h"
#include "protofsm/cli.h"

#define MAX_ARGS 128

#define ABOUT                                                                                   \
    "mqttd: an MQTT 3.1.1 broker (--port N: --listen 127.0.0.1:N, default 1883)\n"               \
    "broker limits (a number or 'unlimited'): --max-sessions N, --max-sessions-per-addr N,\n"    \
    "  --session-expiry SECONDS, --max-queued N, --max-subs N, --max-retained N,\n"             \
    "  --max-retained-bytes B, --max-retained-per-addr N, --max-retained-bytes-per-addr B"

/* The broker's options, by name: where each goes in the conf. */
static const struct bopt {
    const char *name;
    size_t off;
    int is_size;
} bopts[] = {
    { "--max-sessions", offsetof(pf_broker_conf, max_sessions), 0 },
    { "--max-sessions-per-addr", offsetof(pf_broker_conf, max_sessions_per_addr), 0 },
    { "--session-expiry", offsetof(pf_broker_conf, session_expiry_s), 0 },
    { "--max-queued", offsetof(pf_broker_conf, max_queued), 0 },
    { "--max-subs", offsetof(pf_broker_conf, max_subs), 0 },
    { "--max-retained", offsetof(pf_broker_conf, max_retained), 0 },
    { "--max-retained-bytes", offsetof(pf_broker_conf, max_retained_bytes), 1 },
    { "--max-retained-per-addr", offsetof(pf_broker_conf, max_retained_per_addr), 0 },
    { "--max-retained-bytes-per-addr", offsetof(pf_broker_conf, max_retained_bytes_per_addr), 1 },
};

/* One broker option's value into bc: 0, or -1 when it is not a number
 * from 1 up (or `unlimited`). */
static int set_bopt(pf_broker_conf *bc, const struct bopt *o, const char *v)
{
    unsigned long long n;
    char *end;
    if (strcmp(v, "unlimited") == 0) {
        n = o->is_size ? SIZE_MAX : PF_BROKER_UNLIMITED;
    } else {
        errno = 0;
        n = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-' || n == 0 ||
            n > (o->is_size ? SIZE_MAX : PF_BROKER_UNLIMITED))
            return -1;
    }
    if (o->is_size)
        *(size_t *)(void *)((char *)bc + o->off) = (size_t)n;
    else
        *(unsigned *)(void *)((char *)bc + o->off) = (unsigned)n;
    return 0;
}

int main(int argc, char **argv)
{
    static const pf_mqtt_conf mconf = { .max_packet = PF_MQTT_MAX_PACKET_DEFAULT };
    char *args[MAX_ARGS + 2], listen[64];
    int n = 0;
    pf_broker_conf bconf = { 0 };

    if (argc > MAX_ARGS) {
        fprintf(stderr, "%s: too many arguments\n", argv[0]);
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            snprintf(listen, sizeof(listen), "127.0.0.1:%s", argv[++i]);
            args[n++] = "--listen";
            args[n++] = listen;
            continue;
        }
        const struct bopt *bo = NULL;
        for (size_t k = 0; k < sizeof(bopts) / sizeof(bopts[0]); k++)
            if (strcmp(argv[i], bopts[k].name) == 0)
                bo = &bopts[k];
        if (bo) {
            if (i + 1 >= argc || set_bopt(&bconf, bo, argv[i + 1]) < 0) {
                fprintf(stderr, "%s: %s takes a number from 1 up, or 'unlimited'\n", argv[0],
                        bo->name);
                return 2;
            }
            i++;
            continue;
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;
    /* MQTT's keep-alive is the client's to set: no idle timeout of ours.
     * The input holds the largest packet (the protocol's max_packet). */
    pf_cli d;
    pf_cli_defaults(&d);
    d.conf.idle_timeout_ms = 0;
    pf_cli_split("127.0.0.1:1883", d.listen[0].host, sizeof(d.listen[0].host), &d.listen[0].port);
    d.nlisten = 1;
    pf_broker *broker = pf_broker_new(&bconf);
    if (!broker) {
        fprintf(stderr, "%s: %s\n", argv[0], strerror(ENOMEM));
        return 1;
    }
    pf_listen_conf lc = { .service = &pf_broker_service, .proto_conf = &mconf, .data = broker };
    int rc = pf_cli_run(n, args, ABOUT, &d, &lc);
    pf_broker_free(broker);
    return rc;
}
