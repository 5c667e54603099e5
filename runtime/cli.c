/* The shared command line (see protofsm/cli.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "protofsm/cli.h"

/* Seconds for the usage text: "300", "0.5". */
static void put_secs(FILE *f, unsigned ms)
{
    if (ms % 1000)
        fprintf(f, "%.3g", ms / 1000.0);
    else
        fprintf(f, "%u", ms / 1000);
}

static void usage(FILE *f, const char *prog, const char *about, const pf_cli *d)
{
    if (about)
        fprintf(f, "%s\n\n", about);
    fprintf(f, "usage: %s [options]\n", prog);
    fprintf(f, "  --listen HOST:PORT    listen here (repeatable; port 0: a free port)");
    for (unsigned i = 0; i < d->nlisten; i++)
        fprintf(f, "%s%s:%u", i ? ", " : "\n                        (default ", d->listen[i].host,
                d->listen[i].port);
    fprintf(f, "%s\n", d->nlisten ? ")" : "");
    fprintf(f, "  --threads N           worker threads (default: %s)\n",
            d->conf.threads ? "as set by the service" : "online CPUs");
    fprintf(f, "  --max-threads N       hsha, reactor: most workers, started while others are\n"
               "                        blocked in handlers (default max(64, threads); = threads:\n"
               "                        a fixed pool)\n");
    fprintf(f, "  --mode M              hsha | reactor | lf | inline (default %s)\n",
            pf_mode_name(d->conf.mode));
    fprintf(f, "  --backend B           epoll | poll | sigio: how the loop learns of readiness\n"
               "                        (default %s)\n",
            pf_backend_name(d->conf.backend));
    fprintf(f, "  --handoff H           hsha, reactor, lf: adaptive (jobs whose handlers proved\n"
               "                        cheap run on the I/O thread) | always (every job to a\n"
               "                        worker) (default %s)\n",
            d->conf.handoff == PF_HANDOFF_ALWAYS ? "always" : "adaptive");
    fprintf(f, "  --idle-timeout S      close connections idle for S seconds (default ");
    put_secs(f, d->conf.idle_timeout_ms);
    fprintf(f, "; 0: never)\n  --request-timeout S   close a connection whose request is not "
               "whole in S seconds\n                        (default ");
    put_secs(f, d->conf.request_timeout_ms);
    fprintf(f, "; 0: never)\n  --drain-timeout S     SIGTERM drain deadline (default ");
    put_secs(f, d->conf.drain_timeout_ms ? d->conf.drain_timeout_ms : 10000);
    fprintf(f, ")\n  --max-conns N         connection limit (default %u)\n",
            d->conf.max_conns ? d->conf.max_conns : 10000);
    if (d->conf.max_input)
        fprintf(f, "  --max-input BYTES     largest request (default %zu)\n", d->conf.max_input);
    else
        fprintf(f, "  --max-input BYTES     largest request (default: the protocol's largest\n"
                   "                        packet, else %zu)\n", PF_DEFAULT_MAX_INPUT);
    fprintf(f, "  --max-output BYTES    output high-water mark per connection (default %zu)\n",
            d->conf.max_output ? d->conf.max_output : PF_DEFAULT_MAX_OUTPUT);
    fprintf(f, "  --queue N             request queue capacity (default %zu)\n",
            d->conf.queue_size ? d->conf.queue_size : (size_t)4096);
    fprintf(f, "  --admin HOST:PORT     admin listener: /metrics (Prometheus), / (live machine\n"
               "                        diagrams), /connections; port 0: a free port\n");
    if (d->admin)
        fprintf(f, "                        (default %s:%u; 'off': none)\n", d->admin_host,
                d->admin_port);
    else
        fprintf(f, "                        (default: off)\n");
    fprintf(f, "  --access-log FILE     one key=value line per packet to FILE ('-': stderr);\n"
               "                        SIGHUP or SIGUSR1 reopens it\n"
               "  --log-level L         error | warn | info | debug (default %s)\n",
            pf_log_level_name(d->log_level));
    fprintf(f, "  --reuseport           share the port with other processes (SO_REUSEPORT)\n"
               "  --help                this text\n");
}

void pf_cli_defaults(pf_cli *cli)
{
    memset(cli, 0, sizeof(*cli));
    /* Services get limits by default; the library's own defaults are "none". */
    cli->conf.idle_timeout_ms = 300000;
    cli->conf.request_timeout_ms = 30000;
    cli->log_level = PF_LOG_WARN;
}

void pf_cli_raise_nofile(void)
{
    /* Use every descriptor the hard limit allows: max_conns is the real
     * bound, and EMFILE is survived, not wanted. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
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
    return pf_cli_parse_over(cli, argc, argv, about, NULL);
}

int pf_cli_parse_over(pf_cli *cli, int argc, char **argv, const char *about,
                      const pf_cli *defaults)
{
    enum { O_LISTEN = 256, O_THREADS, O_MAXTHREADS, O_MODE, O_IDLE, O_REQ, O_DRAIN, O_CONNS,
           O_IN, O_OUT, O_QUEUE, O_REUSE, O_HELP, O_HANDOFF, O_BACKEND, O_ADMIN, O_ACCESS,
           O_LEVEL };
    static const struct option opts[] = {
        { "listen", required_argument, NULL, O_LISTEN },
        { "threads", required_argument, NULL, O_THREADS },
        { "max-threads", required_argument, NULL, O_MAXTHREADS },
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
        { "handoff", required_argument, NULL, O_HANDOFF },
        { "backend", required_argument, NULL, O_BACKEND },
        { "admin", required_argument, NULL, O_ADMIN },
        { "access-log", required_argument, NULL, O_ACCESS },
        { "log-level", required_argument, NULL, O_LEVEL },
        { NULL, 0, NULL, 0 },
    };
    const char *prog = argc > 0 ? argv[0] : "server";
    int o, listen_given = 0;
    pf_cli d;

    if (defaults)
        d = *defaults;
    else
        pf_cli_defaults(&d);
    *cli = d;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        double v = 0;
        int bad = 0;
        switch (o) {
        case O_LISTEN:
            if (!listen_given++)
                cli->nlisten = 0; /* the command line's listeners replace the defaults */
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
        case O_MAXTHREADS:
            bad = count(optarg, 4096, &v) < 0 || v < 1;
            cli->conf.max_threads = (unsigned)v;
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
        case O_HANDOFF:
            if (strcmp(optarg, "adaptive") == 0)
                cli->conf.handoff = PF_HANDOFF_ADAPTIVE;
            else if (strcmp(optarg, "always") == 0)
                cli->conf.handoff = PF_HANDOFF_ALWAYS;
            else
                bad = 1;
            break;
        case O_BACKEND:
            bad = pf_backend_parse(optarg, &cli->conf.backend) < 0;
            break;
        case O_ADMIN:
            if (strcmp(optarg, "off") == 0)
                cli->admin = 0;
            else if (pf_cli_split(optarg, cli->admin_host, sizeof(cli->admin_host),
                                  &cli->admin_port) < 0)
                bad = 1;
            else
                cli->admin = 1;
            break;
        case O_ACCESS:
            bad = !*optarg || strlen(optarg) >= sizeof(cli->access_log);
            if (!bad)
                strcpy(cli->access_log, optarg);
            break;
        case O_LEVEL:
            bad = pf_log_level_parse(optarg, &cli->log_level) < 0;
            break;
        case O_HELP:
            usage(stdout, prog, about, &d);
            return 1;
        default:
            fprintf(stderr, "%s: unknown option or missing value: %s\n", prog,
                    argv[optind - 1]);
            usage(stderr, prog, about, &d);
            return -EINVAL;
        }
        if (bad) {
            fprintf(stderr, "%s: bad value for --%s: %s\n", prog, opts[o - O_LISTEN].name, optarg);
            usage(stderr, prog, about, &d);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument: %s\n", prog, argv[optind]);
        usage(stderr, prog, about, &d);
        return -EINVAL;
    }
    return 0;
}

void pf_cli_announce_ready(pf_server *srv, void *arg)
{
    (void)arg;
    pf_cli_announce(srv);
}

/* The admin pf_cli_admin started, and for which server: a program of
 * this command line runs one server, and its announce and finish take no
 * more arguments than before the admin existed. */
static struct {
    const pf_server *srv;
    pf_admin *admin;
} admin_of;

/* The service's own on_signal, called after the access log is reopened. */
static void (*svc_on_signal)(int signo, void *arg);

static void logs_on_signal(int signo, void *arg)
{
    if (signo == SIGHUP || signo == SIGUSR1) {
        int rc = pf_log_reopen();
        if (rc < 0)
            fprintf(stderr, "access log: cannot reopen: %s (still writing the old file)\n",
                    strerror(-rc));
    }
    if (svc_on_signal)
        svc_on_signal(signo, arg);
}

int pf_cli_logs(pf_cli *cli)
{
    pf_log_set_level(cli->log_level);
    if (!cli->access_log[0])
        return 0;
    int rc = pf_log_access_open(cli->access_log);
    if (rc < 0) {
        fprintf(stderr, "--access-log %s: %s\n", cli->access_log, strerror(-rc));
        return rc;
    }
    if (cli->conf.on_signal != logs_on_signal) {
        svc_on_signal = cli->conf.on_signal;
        cli->conf.on_signal = logs_on_signal;
    }
    return 0;
}

int pf_cli_admin(const pf_cli *cli, pf_server *srv, pf_admin **out)
{
    *out = NULL;
    if (!cli->admin)
        return 0;
    int rc = pf_admin_start(out, srv, cli->admin_host, cli->admin_port, NULL);
    if (rc < 0) {
        fprintf(stderr, "cannot start the admin listener on %s:%u: %s\n", cli->admin_host,
                cli->admin_port, strerror(-rc));
        return rc;
    }
    admin_of.srv = srv;
    admin_of.admin = *out;
    return 0;
}

void pf_cli_announce(const pf_server *srv)
{
    char a[300];

    for (unsigned i = 0; i < pf_server_listeners(srv); i++)
        if (pf_server_address(srv, i, a, sizeof(a)) == 0)
            fprintf(stderr, "listening on %s\n", a);
    if (admin_of.srv == srv && admin_of.admin &&
        pf_admin_address(admin_of.admin, a, sizeof(a)) == 0)
        fprintf(stderr, "admin listening on %s\n", a);
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
    if (admin_of.srv == srv) {
        pf_admin_stop(admin_of.admin);
        admin_of.srv = NULL;
        admin_of.admin = NULL;
    }
    pf_server_free(srv);
    if (rc < 0) {
        fprintf(stderr, "server: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}

int pf_cli_main(int argc, char **argv, const char *about, const char *default_listen,
                const pf_listen_conf *lc)
{
    pf_cli d;
    pf_cli_defaults(&d);
    if (pf_cli_split(default_listen, d.listen[0].host, sizeof(d.listen[0].host),
                     &d.listen[0].port) < 0)
        return 2;
    d.nlisten = 1;
    return pf_cli_run(argc, argv, about, &d, lc);
}

int pf_cli_run(int argc, char **argv, const char *about, const pf_cli *defaults,
               const pf_listen_conf *lc)
{
    pf_cli cli;
    pf_server *srv;
    int rc = pf_cli_parse_over(&cli, argc, argv, about, defaults);

    if (rc != 0)
        return rc > 0 ? 0 : 2;
    char why[200];
    if (pf_service_check(lc->service, why, sizeof(why)) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], why);
        return 1;
    }
    if (cli.nlisten == 0) {
        fprintf(stderr, "%s: no --listen, and the service has no default address\n", argv[0]);
        return 2;
    }
    if (pf_cli_logs(&cli) < 0)
        return 1;
    pf_cli_raise_nofile();
    /* "listening on" once the server has its signals: a script that sends
     * SIGTERM when it reads the line gets a drain, not a kill. */
    if (!cli.conf.on_ready)
        cli.conf.on_ready = pf_cli_announce_ready;
    const char *refused = pf_backend_refuses(&cli.conf);
    if (refused) {
        fprintf(stderr, "%s: %s\n", argv[0], refused);
        return 2;
    }
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
    pf_admin *admin;
    if (pf_cli_admin(&cli, srv, &admin) < 0) {
        pf_server_free(srv);
        return 1;
    }
    return pf_cli_finish(srv, pf_server_run(srv));
}
