/* Memory per idle connection: open N connections to a server (PID given),
 * make one request on each (default "HELLO idle\r\n", the line protocol's
 * greeting, so its session is fully open) and read its first reply bytes,
 * then read the server's RSS.  Prints: conns=N rss_before_kb=A
 * rss_after_kb=B bytes_per_conn=C
 *
 *   bench_idle PID PORT N [REQUEST]     (REQUEST: \r, \n, \xHH as escapes) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static long rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* "\r", "\n" and "\xHH" written out in `s` become the bytes (MQTT's
 * CONNECT holds NULs). */
static size_t unescape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    unsigned x;
    for (; *s && n < cap; s++) {
        if (s[0] == '\\' && (s[1] == 'r' || s[1] == 'n')) {
            out[n++] = s[1] == 'r' ? '\r' : '\n';
            s++;
        } else if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &x) == 1) {
            out[n++] = (char)x;
            s += 3;
        } else {
            out[n++] = *s;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s PID PORT N [REQUEST]\n", argv[0]);
        return 2;
    }
    char req[1024];
    size_t reqlen = unescape(argc == 5 ? argv[4] : "HELLO idle\\r\\n", req, sizeof req);
    int pid = atoi(argv[1]), n = atoi(argv[3]);
    unsigned port = (unsigned)atoi(argv[2]);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    int *fds = calloc((size_t)n, sizeof(int));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[64];

    /* Warm the server with a first batch, so one-off allocations (thread
     * stacks touched, arrays grown) are not charged to the connections. */
    int warm = n / 10;
    long before = 0;
    for (int i = 0; i < n; i++) {
        if (i == warm)
            before = rss_kb(pid);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0) {
            perror("connect");
            return 1;
        }
        if (write(fds[i], req, reqlen) != (ssize_t)reqlen || read(fds[i], buf, sizeof(buf)) <= 0) {
            fprintf(stderr, "connection %d not greeted\n", i);
            return 1;
        }
    }
    long after = rss_kb(pid);
    printf("conns=%d rss_before_kb=%ld rss_after_kb=%ld bytes_per_conn=%.0f\n", n - warm, before,
           after, (double)(after - before) * 1024.0 / (n - warm));
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    return 0;
}
