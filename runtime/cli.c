/* The shared command line (see protofsm/cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "protofsm/cli.h"

static void usage(FILE *f, const char *prog, const char *about)
{
    if (about)
        fprintf(f, "%s\n\n", about);
    fprintf(f,
            "usage: %s [options]\n"
            "  --listen HOST:PORT    listen here (repeatable; port 0: a free port)\n"
            "  --threads N           worker threads (default: online CPUs)\n"
            "  --mode M              hsha (default) | reactor | lf | inline\n"
            "  --idle-timeout S      close connections idle for S seconds (default 300; 0: never)\n"
            "  --request-timeout S   close a connection whose request is not whole in S seconds\n"
            "                        (default 30; 0: never)\n"
            "  --drain-timeout S     SIGTERM drain deadline (default 10)\n"
            "  --max-conns N         connection limit (default 10000)\n"
            "  --max-input BYTES     largest request (default 65536)\n"
            "  --max-output BYTES    output high-water mark per connection (default 262144)\n"
            "  --queue N             request queue capacity (default 4096)\n"
            "  --reuseport           share the port with other processes (SO_REUSEPORT)\n"
            "  --help                this text\n",
            prog);
}

int pf_cli_split(const char *spec, char *host, size_t hostlen, unsigned *port)
{
    const char *colon = strrchr(spec, ':');
    char *end;
    unsigned long p;
    size_t hl;

    if (!colon)
        return -EINVAL;
    hl = (size_t)(colon - spec);
    if (hl >= hostlen)
        return -EINVAL;
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (colon[1] == 0 || *end || errno || p > 65535)
        return -EINVAL;
    memcpy(host, spec, hl);
    host[hl] = 0;
    *port = (unsigned)p;
    return 0;
}

static int num(const char *s, double max, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (!*s || *end || errno || v < 0 || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* A count: a whole number, not silently truncated (2.5 threads is a typo). */
static int count(const char *s, double max, double *out)
{
    if (num(s, max, out) < 0 || *out != (double)(unsigned long)*out)
        return -EINVAL;
    return 0;
}

/* Seconds to milliseconds; a positive time under 1 ms is 1 ms, not 0
 * (which means never). */
static unsigned secs_ms(double v)
{
    double ms = v * 1000;

    return v > 0 && ms < 1 ? 1u : (unsigned)ms;
}

int pf_cli_parse(pf_cli *cli, int argc, char **argv, const char *about)
{
    enum { O_LISTEN = 256, O_THREADS, O_MODE, O_IDLE, O_REQ, O_DRAIN, O_CONNS,
           O_IN, O_OUT, O_QUEUE, O_REUSE, O_HELP };
    static const struct option opts[] = {
        { "listen", required_argument, NULL, O_LISTEN },
        { "threads", required_argument, NULL, O_THREADS },
        { "mode", required_argument, NULL, O_MODE },
        { "idle-timeout", required_argument, NULL, O_IDLE },
        { "request-timeout", required_argument, NULL, O_REQ },
        { "drain-timeout", required_argument, NULL, O_DRAIN },
        { "max-conns", required_argument, NULL, O_CONNS },
        { "max-input", required_argument, NULL, O_IN },
        { "max-output", required_argument, NULL, O_OUT },
        { "queue", required_argument, NULL, O_QUEUE },
        { "reuseport", no_argument, NULL, O_REUSE },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *prog = argc > 0 ? argv[0] : "server";
    int o;

    memset(cli, 0, sizeof(*cli));
    /* Services get limits by default; the library's own defaults are "none". */
    cli->conf.idle_timeout_ms = 300000;
    cli->conf.request_timeout_ms = 30000;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        double v = 0;
        int bad = 0;
        switch (o) {
        case O_LISTEN:
            if (cli->nlisten == PF_CLI_MAX_LISTEN ||
                pf_cli_split(optarg, cli->listen[cli->nlisten].host,
                             sizeof(cli->listen[0].host), &cli->listen[cli->nlisten].port) < 0)
                bad = 1;
            else
                cli->nlisten++;
            break;
        case O_THREADS:
            bad = count(optarg, 1024, &v) < 0 || v < 1;
            cli->conf.threads = (unsigned)v;
            break;
        case O_MODE:
            bad = pf_mode_parse(optarg, &cli->conf.mode) < 0;
            break;
        case O_IDLE:
            bad = num(optarg, 4e6, &v) < 0;
            cli->conf.idle_timeout_ms = secs_ms(v);
            break;
        case O_REQ:
            bad = num(optarg, 4e6, &v) < 0;
            cli->conf.request_timeout_ms = secs_ms(v);
            break;
        case O_DRAIN:
            bad = num(optarg, 4e6, &v) < 0;
            cli->conf.drain_timeout_ms = secs_ms(v);
            break;
        case O_CONNS:
            bad = count(optarg, 1e7, &v) < 0 || v < 1;
            cli->conf.max_conns = (unsigned)v;
            break;
        case O_IN:
            bad = count(optarg, 1e9, &v) < 0 || v < 16;
            cli->conf.max_input = (size_t)v;
            break;
        case O_OUT:
            bad = count(optarg, 1e9, &v) < 0 || v < 16;
            cli->conf.max_output = (size_t)v;
            break;
        case O_QUEUE:
            bad = count(optarg, 1e7, &v) < 0 || v < 1;
            cli->conf.queue_size = (size_t)v;
            break;
        case O_REUSE:
            cli->reuseport = 1;
            break;
        case O_HELP:
            usage(stdout, prog, about);
            return 1;
        default:
            fprintf(stderr, "%s: unknown option or missing value: %s\n", prog,
                    argv[optind - 1]);
            usage(stderr, prog, about);
            return -EINVAL;
        }
        if (bad) {
            fprintf(stderr, "%s: bad value for --%s: %s\n", prog, opts[o - O_LISTEN].name, optarg);
            usage(stderr, prog, about);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument: %s\n", prog, argv[optind]);
        usage(stderr, prog, about);
        return -EINVAL;
    }
    return 0;
}

void pf_cli_announce(const pf_server *srv)
{
    char a[300];

    for (unsigned i = 0; i < pf_server_listeners(srv); i++)
        if (pf_server_address(srv, i, a, sizeof(a)) == 0)
            fprintf(stderr, "listening on %s\n", a);
    fflush(stderr);
}

int pf_cli_finish(pf_server *srv, int rc)
{
    if (rc == -EINTR) {
        fprintf(stderr, "second signal: exiting now\n");
        _exit(130);
    }
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "drain deadline passed: exiting\n");
        _exit(1);
    }
    pf_server_free(srv);
    if (rc < 0) {
        fprintf(stderr, "server: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}

/* Use every descriptor the hard limit allows: max_conns is the real
 * bound, and EMFILE is survived, not wanted. */
void pf_cli_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int pf_cli_main(int argc, char **argv, const char *about, const char *default_listen,
                const pf_listen_conf *lc)
{
    pf_cli cli;
    pf_server *srv;
    int rc = pf_cli_parse(&cli, argc, argv, about);

    if (rc != 0)
        return rc > 0 ? 0 : 2;
    char why[200];
    if (pf_service_check(lc->service, why, sizeof(why)) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], why);
        return 1;
    }
    if (cli.nlisten == 0) {
        if (pf_cli_split(default_listen, cli.listen[0].host, sizeof(cli.listen[0].host),
                         &cli.listen[0].port) < 0)
            return 2;
        cli.nlisten = 1;
    }
    pf_cli_raise_nofile();
    rc = pf_server_new(&srv, &cli.conf);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], strerror(-rc));
        return 1;
    }
    pf_listen_conf l = *lc;
    l.reuseport = l.reuseport || cli.reuseport;
    for (unsigned i = 0; i < cli.nlisten; i++) {
        rc = pf_server_listen(srv, cli.listen[i].host, cli.listen[i].port, &l);
        if (rc < 0) {
            fprintf(stderr, "%s: cannot listen on %s:%u: %s\n", argv[0], cli.listen[i].host,
                    cli.listen[i].port, strerror(-rc));
            pf_server_free(srv);
            return 1;
        }
    }
    pf_cli_announce(srv);
    return pf_cli_finish(srv, pf_server_run(srv));
}
