/* Logs: one access-log line per packet, and an error log with levels.
 *
 * Both belong to the process, not to one server: a program has one
 * --access-log and one --log-level (cli.h sets them up).
 *
 * The access log has one line per packet a hosted session handled, in
 * key=value form (values never hold spaces; `-` when not known):
 *
 *   time=2026-12-03T20:30:00.123456Z listener=127.0.0.1:7000
 *   peer=127.0.0.1:51234 machine=echo state=START event=HELLO next=READY
 *   handler=echo_on_hello result=next bytes=9 us=12
 *
 * (one line; wrapped here): `state` before the packet, `next` after it,
 * `result` next | stay | close | norow (the table had no row) | error,
 * `bytes` the packet's size, `us` the time the step took, handler
 * included.  A service with a log of its own (httpd's common log format)
 * simply does not open this one.
 *
 * The error log goes to stderr, one key=value line per event at or above
 * the level (none until pf_log_set_level: a library prints nothing unless
 * asked; the common command line sets warn):
 *   error  a drain deadline that cut work off (drain_deadline), a worker
 *          thread that could not start (worker_not_started)
 *   warn   connections shed for want of descriptors (connection_shed,
 *          listeners_paused), refused at max_conns (connection_refused),
 *          accept failures (accept_failed), sigio's queue overflow
 *          (sigio_overflow)
 *   info   protocol errors, timeouts, handler errors, packets the table
 *          refused, a closing client that never read its reply
 *          (write_timeout)
 *   debug  every built-in event too: open, close, drain.
 * The runtime's own events (the named ones) come at most once a second
 * per kind, with count=N for how many the line stands for.
 *
 * Rotation: pf_log_reopen opens the path again and puts the new file in
 * place of the old with one dup2, so a line being written goes whole to
 * one file or the other and none is lost (logrotate's create mode: rename
 * then SIGHUP; copytruncate needs nothing, the file is opened O_APPEND).
 *
 * Cost when off: one relaxed atomic load per step.  Thread-safe: lines
 * are written with one write(2) each, from whichever thread handled the
 * packet. */
#ifndef PROTOFSM_LOG_H
#define PROTOFSM_LOG_H

typedef enum pf_log_level {
    PF_LOG_ERROR = 0,
    PF_LOG_WARN = 1,
    PF_LOG_INFO = 2,
    PF_LOG_DEBUG = 3
} pf_log_level;

/* "error", "warn", "info", "debug": 0, or -EINVAL. */
int pf_log_level_parse(const char *name, pf_log_level *out);
const char *pf_log_level_name(pf_log_level l);
void pf_log_set_level(pf_log_level l);

/* Write the access log to `path` ("-": stderr), created if missing and
 * appended to.  0 or -errno. */
int pf_log_access_open(const char *path);
/* Reopen the access log at its path (SIGHUP).  0, or -errno (the old file
 * stays in use). */
int pf_log_reopen(void);
/* Stop the access log and close its file.  Only while no server runs: a
 * worker writing a line at that moment could write to whatever reuses the
 * descriptor. */
void pf_log_access_close(void);

#endif
