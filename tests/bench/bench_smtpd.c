/* smtpd benchmark: messages per second and latency for 1 KB and 100 KB
 * messages with 1 and 100 concurrent senders, smtpd in hsha and inline
 * modes, fsync on, Maildir on the disk that holds $TMPDIR (or /tmp).  The
 * peer is Python's stdlib smtpd (asyncore, one thread) storing the same way
 * (tmp/, fsync, rename into new/, fsync new/); ratio = ours / peer.
 *
 *   bench_smtpd [SECONDS]      (default $BENCH_SECONDS or 2 per run)
 *   PF_BUILD names the build folder holding bin/smtpd.
 *
 * Each sender runs closed-loop transactions the RFC 2920 way: MAIL, RCPT
 * and DATA in one write, wait for 354, send the text, wait for 250.  The
 * latency is from the MAIL write to the 250 (which means "on disk"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- the server process -------------------------------------------------- */

static pid_t srv_pid;

static void kill_server(void)
{
    if (srv_pid > 0) {
        kill(srv_pid, SIGKILL);
        waitpid(srv_pid, NULL, 0);
        srv_pid = 0;
    }
}

/* Start argv; wait for "listening on HOST:PORT" on its stderr.  Port or -1. */
static int spawn(const char *const *argv)
{
    int pfd[2];
    char buf[4096];
    size_t used = 0;
    if (pipe(pfd) < 0)
        return -1;
    srv_pid = fork();
    if (srv_pid < 0)
        return -1;
    if (srv_pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    uint64_t end = now_us() + 10000000u;
    for (;;) {
        struct pollfd p = { pfd[0], POLLIN, 0 };
        if (now_us() >= end || poll(&p, 1, 1000) < 0)
            break;
        ssize_t r = read(pfd[0], buf + used, sizeof buf - 1 - used);
        if (r <= 0)
            break;
        used += (size_t)r;
        buf[used] = 0;
        char *l = strstr(buf, "listening on ");
        char *nl = l ? strchr(l, '\n') : NULL;
        if (nl) {
            *nl = 0;
            int port = atoi(strrchr(l, ':') + 1);
            /* keep the pipe's read end open and unread: its writes are
             * rare (errors only), and a closed pipe would SIGPIPE them */
            return port;
        }
    }
    close(pfd[0]);
    return -1;
}

static void stop_server(void)
{
    if (srv_pid > 0) {
        kill(srv_pid, SIGTERM);
        for (int i = 0; i < 500; i++) {
            if (waitpid(srv_pid, NULL, WNOHANG) == srv_pid) {
                srv_pid = 0;
                return;
            }
            poll(NULL, 0, 10);
        }
        kill_server();
    }
}

/* ---- senders ------------------------------------------------------------- */

typedef struct sender {
    pthread_t th;
    int port;
    const char *body;
    size_t body_len;
    uint64_t until;
    uint32_t *lat;
    size_t n, cap;
    int errors;
    char rx[4096];
    size_t rl;
} sender;

static int connect_to(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = { 30, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read `lines` reply lines (single-line replies); the code of the last, or
 * -1. */
static int replies(sender *s, int fd, int lines)
{
    int code = -1;
    while (lines > 0) {
        char *nl = memchr(s->rx, '\n', s->rl);
        if (nl) {
            size_t l = (size_t)(nl - s->rx) + 1;
            if (l < 4 || s->rx[3] == '-') {
                /* continuation line: not counted */
            } else {
                code = atoi(s->rx);
                lines--;
            }
            memmove(s->rx, s->rx + l, s->rl - l);
            s->rl -= l;
            continue;
        }
        if (s->rl == sizeof s->rx)
            return -1;
        ssize_t r = recv(fd, s->rx + s->rl, sizeof s->rx - s->rl, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        s->rl += (size_t)r;
    }
    return code;
}

static const char envelope[] = "MAIL FROM:<bench@example.org>\r\nRCPT TO:<to@example.com>\r\nDATA\r\n";

static void *run_sender(void *arg)
{
    sender *s = arg;
    int fd = connect_to(s->port);
    if (fd < 0 || replies(s, fd, 1) != 220 || send_all(fd, "HELO bench\r\n", 12) < 0 ||
        replies(s, fd, 1) != 250) {
        s->errors++;
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    while (now_us() < s->until) {
        uint64_t t0 = now_us();
        if (send_all(fd, envelope, sizeof envelope - 1) < 0 || replies(s, fd, 3) != 354 ||
            send_all(fd, s->body, s->body_len) < 0 || replies(s, fd, 1) != 250) {
            s->errors++;
            break;
        }
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 1024;
            s->lat = realloc(s->lat, s->cap * sizeof(uint32_t));
        }
        s->lat[s->n++] = (uint32_t)(now_us() - t0);
    }
    send_all(fd, "QUIT\r\n", 6);
    close(fd);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static char *make_body(size_t size, size_t *len)
{
    char *b = malloc(size + 200);
    size_t n = (size_t)sprintf(b, "Subject: bench\r\n\r\n");
    while (n + 78 <= size) {
        memset(b + n, 'x', 76);
        memcpy(b + n + 76, "\r\n", 2);
        n += 78;
    }
    memcpy(b + n, ".\r\n", 3);
    *len = n + 3;
    return b;
}

static void empty_dir(const char *dir)
{
    char p[4200];
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

typedef struct result {
    double mps;
    uint32_t p50, p99;
    int errors;
} result;

static result measure(int port, int senders, size_t size, double secs)
{
    uint64_t started = now_us();
    size_t bl;
    char *body = make_body(size, &bl);
    sender *ss = calloc((size_t)senders, sizeof *ss);
    uint64_t t0 = now_us(), until = t0 + (uint64_t)(secs * 1e6);
    for (int i = 0; i < senders; i++) {
        ss[i] = (sender){ .port = port, .body = body, .body_len = bl, .until = until };
        pthread_create(&ss[i].th, NULL, run_sender, &ss[i]);
    }
    size_t total = 0;
    result r = { 0 };
    for (int i = 0; i < senders; i++) {
        pthread_join(ss[i].th, NULL);
        total += ss[i].n;
        r.errors += ss[i].errors;
    }
    double took = (double)(now_us() - t0) / 1e6;
    uint32_t *all = malloc((total + 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < senders; i++) {
        memcpy(all + k, ss[i].lat, ss[i].n * sizeof *all);
        k += ss[i].n;
        free(ss[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_u32);
    r.mps = (double)total / took;
    r.p50 = total ? all[total / 2] : 0;
    r.p99 = total ? all[total * 99 / 100] : 0;
    free(all);
    free(ss);
    free(body);
    if (getenv("BENCH_VERBOSE"))
        fprintf(stderr, "run %d x %zu: %.1f s\n", senders, size, (double)(now_us() - started) / 1e6);
    return r;
}

static const char peer_py[] =
    "import warnings; warnings.simplefilter('ignore')\n"
    "import smtpd, asyncore, os, sys, socket\n"
    "md = sys.argv[1]\n"
    "class S(smtpd.SMTPServer):\n"
    "    n = 0\n"
    "    def handle_accepted(self, conn, addr):\n"
    "        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
    "        super().handle_accepted(conn, addr)\n"
    "    def process_message(self, peer, mailfrom, rcpttos, data, **kw):\n"
    "        S.n += 1\n"
    "        name = '%d.P%dQ%d.peer' % (os.getpid(), os.getpid(), S.n)\n"
    "        tmp = os.path.join(md, 'tmp', name)\n"
    "        with open(tmp, 'wb') as f:\n"
    "            f.write(data)\n"
    "            f.flush(); os.fsync(f.fileno())\n"
    "        os.rename(tmp, os.path.join(md, 'new', name))\n"
    "        fd = os.open(os.path.join(md, 'new'), os.O_RDONLY); os.fsync(fd); os.close(fd)\n"
    "s = S(('127.0.0.1', 0), None, decode_data=False, data_size_limit=0)\n"
    "s.listen(1024)\n"
    "print('listening on 127.0.0.1:%d' % s.socket.getsockname()[1], file=sys.stderr, flush=True)\n"
    "asyncore.loop()\n";

int main(int argc, char **argv)
{
    const char *build = getenv("PF_BUILD"), *bs = getenv("BENCH_SECONDS");
    const char *tmpd = getenv("TMPDIR");
    double secs = argc > 1 ? atof(argv[1]) : bs ? atof(bs) : 2;
    char smtpd[512], dir[512], md[600], sub[700], script[700], threads[16];
    static const size_t sizes[] = { 1024, 100 * 1024 };
    static const int senders[] = { 1, 100 };
    static const char *const modes[] = { "hsha", "inline" };
    result peer[2][2], ours[2][2][2];

    signal(SIGPIPE, SIG_IGN);
    if (secs <= 0)
        secs = 2;
    snprintf(smtpd, sizeof smtpd, "%s/bin/smtpd", build ? build : "build");
    snprintf(dir, sizeof dir, "%s/pf-bench-smtpd-XXXXXX", tmpd ? tmpd : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(md, sizeof md, "%s/Maildir", dir);
    snprintf(script, sizeof script, "%s/peer.py", dir);
    FILE *f = fopen(script, "w");
    fputs(peer_py, f);
    fclose(f);
    snprintf(threads, sizeof threads, "%ld", sysconf(_SC_NPROCESSORS_ONLN) * 4);

    /* Ours. */
    for (int m = 0; m < 2; m++) {
        const char *args[] = { smtpd, "--listen", "127.0.0.1:0", "--maildir", md, "--mode",
                               modes[m], "--threads", threads, "--hostname", "bench.test",
                               "--max-conns", "1000", NULL };
        int port = spawn(args);
        if (port < 0) {
            fprintf(stderr, "bench_smtpd: %s did not start\n", smtpd);
            kill_server();
            return 1;
        }
        for (int z = 0; z < 2; z++)
            for (int c = 0; c < 2; c++) {
                ours[m][z][c] = measure(port, senders[c], sizes[z], secs);
                snprintf(sub, sizeof sub, "%s/new", md);
                empty_dir(sub);
            }
        stop_server();
    }
    /* The peer. */
    int have_peer = 1;
    {
        const char *args[] = { "python3", script, md, NULL };
        int port = spawn(args);
        if (port < 0) {
            have_peer = 0;
            kill_server();
        } else {
            for (int z = 0; z < 2; z++)
                for (int c = 0; c < 2; c++) {
                    peer[z][c] = measure(port, senders[c], sizes[z], secs);
                    snprintf(sub, sizeof sub, "%s/new", md);
                    empty_dir(sub);
                }
            stop_server();
        }
    }

    printf("smtpd, loopback, %ld CPUs, %.0fs per run, fsync on (Maildir in %s), "
           "workers %s; peer: python3 stdlib smtpd (TCP_NODELAY) + the same Maildir writes\n",
           sysconf(_SC_NPROCESSORS_ONLN), secs, dir, threads);
    printf("%-7s %7s %7s %10s %9s %9s %6s %10s %9s %8s %7s\n", "mode", "size", "senders", "msg/s",
           "p50_us", "p99_us", "errors", "peer_msg/s", "peer_p99", "peer_err", "ratio");
    for (int m = 0; m < 2; m++)
        for (int z = 0; z < 2; z++)
            for (int c = 0; c < 2; c++) {
                const result *r = &ours[m][z][c], *p = &peer[z][c];
                printf("%-7s %6zuK %7d %10.0f %9u %9u %6d", modes[m], sizes[z] / 1024, senders[c],
                       r->mps, r->p50, r->p99, r->errors);
                if (have_peer)
                    printf(" %10.0f %9u %8d %7.2f\n", p->mps, p->p99, p->errors,
                           p->mps > 0 ? r->mps / p->mps : 0);
                else
                    printf(" %10s %9s %8s %7s\n", "-", "-", "-", "-");
            }
    static const char *const subs[] = { "tmp", "new", "cur" };
    for (int i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", md, subs[i]);
        empty_dir(sub);
        rmdir(sub);
    }
    rmdir(md);
    unlink(script);
    rmdir(dir);
    return 0;
}
