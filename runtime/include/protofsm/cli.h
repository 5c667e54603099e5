/* The command line every example shares.
 *
 *   --listen HOST:PORT    repeatable; port 0 picks a free port; IPv6 as [::1]:PORT
 *   --threads N           workers (hsha, reactor) or lf threads
 *   --max-threads N       hsha, reactor: most workers (more start while
 *                         others are blocked in handlers)
 *   --mode M              hsha | reactor | lf | inline
 *   --backend B           epoll | poll | sigio (pf_server_conf.backend)
 *   --idle-timeout S      close connections idle this long (seconds, may be
 *                         fractional; default 300, 0 never)
 *   --request-timeout S   close a connection whose packet is not complete in S
 *                         (default 30, 0 never)
 *   --drain-timeout S     deadline for the SIGTERM drain
 *   --max-conns N  --max-input BYTES  --max-output BYTES  --queue N  --reuseport
 *   --admin HOST:PORT     the admin listener (admin.h): /metrics, /, ...; off
 *                         by default ("off" turns a service's default off)
 *   --access-log FILE     one line per packet (log.h), '-': stderr; SIGHUP
 *                         or SIGUSR1 reopens FILE
 *   --log-level L         error | warn (default) | info | debug (log.h)
 *   --help
 *
 * When every listener is bound, one line "listening on HOST:PORT" per
 * listener goes to stderr, so scripts can wait for it and learn the port,
 * then "admin listening on HOST:PORT" when there is an admin listener.
 * These are the only functions of the library that print, besides the
 * logs a program asks for (log.h). */
#ifndef PROTOFSM_CLI_H
#define PROTOFSM_CLI_H

#include "protofsm/admin.h"
#include "protofsm/log.h"
#include "protofsm/server.h"

#define PF_CLI_MAX_LISTEN 16

typedef struct pf_cli {
    pf_server_conf conf;
    int reuseport;
    unsigned nlisten;
    struct {
        char host[256];
        unsigned port;
    } listen[PF_CLI_MAX_LISTEN];
    int admin;                   /* 1: start the admin listener below */
    char admin_host[256];
    unsigned admin_port;
    char access_log[256];        /* "": none */
    pf_log_level log_level;
} pf_cli;

/* The command line's own defaults (no listener, idle timeout 300 s,
 * request timeout 30 s, the server's defaults for the rest): what a
 * service starts from before it sets its own. */
void pf_cli_defaults(pf_cli *cli);

/* Parse argv into cli, starting from `defaults` (NULL: pf_cli_defaults):
 * every option given replaces its default, and the first --listen replaces
 * the default listeners.  --help prints the defaults in force.  Returns 0
 * to go on, 1 after --help was printed to stdout (exit 0), or -EINVAL after
 * a message and the usage went to stderr (exit 2).  `about` is one line
 * printed atop the usage. */
int pf_cli_parse_over(pf_cli *cli, int argc, char **argv, const char *about,
                      const pf_cli *defaults);
/* pf_cli_parse_over with the command line's own defaults. */
int pf_cli_parse(pf_cli *cli, int argc, char **argv, const char *about);

/* Raise the soft RLIMIT_NOFILE to the hard one: max_conns is the real
 * bound on connections, not the soft limit a shell happens to have
 * (pf_cli_run does; a service with its own main calls it before
 * pf_server_new). */
void pf_cli_raise_nofile(void);

/* Split "HOST:PORT" ("[v6]:PORT" too).  0 or -EINVAL. */
int pf_cli_split(const char *spec, char *host, size_t hostlen, unsigned *port);

/* Start the admin listener cli asks for (none: 0 and *out NULL), for srv
 * whose listeners are all bound: after this the admin reads them.  Its
 * "admin listening on" line comes with pf_cli_announce, and pf_cli_finish
 * stops it before it frees srv.  0, or -errno after a message to stderr. */
int pf_cli_admin(const pf_cli *cli, pf_server *srv, pf_admin **out);

/* Open the logs cli asks for and make SIGHUP and SIGUSR1 reopen the access
 * log (cli->conf.on_signal then calls the service's own after).  0, or
 * -errno after a message to stderr.  pf_cli_run does this. */
int pf_cli_logs(pf_cli *cli);

/* Print "listening on ADDR" for every listener of srv, to stderr, and
 * "admin listening on ADDR" when pf_cli_admin started one for srv.  From
 * pf_server_conf.on_ready, so the line means the server drains on SIGTERM
 * (pf_cli_run does this). */
void pf_cli_announce(const pf_server *srv);
/* An on_ready callback that calls pf_cli_announce. */
void pf_cli_announce_ready(pf_server *srv, void *arg);

/* The whole life of a one-service program: parse over the service's
 * `defaults` (its address, limits, timeouts: a pf_cli from
 * pf_cli_defaults, then changed), check the service, raise the soft
 * RLIMIT_NOFILE to the hard one, create the server, listen on every
 * listener, announce, run, free.  Returns the exit status for main: 0
 * after a clean drain. */
int pf_cli_run(int argc, char **argv, const char *about, const pf_cli *defaults,
               const pf_listen_conf *lc);
/* pf_cli_run with the command line's own defaults and one default
 * address, "HOST:PORT". */
int pf_cli_main(int argc, char **argv, const char *about, const char *default_listen,
                const pf_listen_conf *lc);

/* Exit status for pf_server_run's result; exits at once (without freeing,
 * workers may be blocked) after a second signal.  Stops srv's admin
 * listener (pf_cli_admin) first. */
int pf_cli_finish(pf_server *srv, int run_result);

#endif
