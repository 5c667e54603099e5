/* What the kvd integration tests share: a scratch folder per program
 * (setup/teardown), redis-server as a peer, a shell, and reply lines. */
#ifndef PF_TEST_KVD_UTIL_H
#define PF_TEST_KVD_UTIL_H

#include "harness.h"

static char tmpdir[256];

/* redis-server on a free port; waits until it accepts. */
static inline pid_t start_redis(unsigned *port, const char *pass)
{
    char ps[16];
    *port = h_free_port();
    snprintf(ps, sizeof ps, "%u", *port);
    const char *argv[] = { "redis-server", "--port", ps, "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", tmpdir,
                           pass ? "--requirepass" : NULL, pass, NULL };
    return h_start_peer(*port, argv);
}

static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One reply line (up to CRLF) into buf; its length or -1. */
static inline int read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        int eof = 0;
        if (h_recv_n(fd, buf + n, 1, 5000, &eof) != 1)
            return -1;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = 0;
    return (int)n;
}

/* One command and its one-line reply (a bulk's header line). */
static inline int cmd_line(int fd, const char *cmd, char *rep, size_t cap)
{
    if (h_send_all(fd, cmd, strlen(cmd)) < 0)
        return -1;
    return read_line(fd, rep, cap);
}

static inline int setup(void **st)
{
    (void)st;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kvd-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int teardown(void **st)
{
    (void)st;
    h_teardown(NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
