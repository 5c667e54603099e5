/* kvd: a durable key-value server speaking RESP (protocols/resp.rl) with
 * the session machine of services/kvd/kvd.fsm.
 *
 *   kvd [--port 6380] [--requirepass PASS] [--appendonly yes|no]
 *       [--appendfsync always|everysec|no] [--dir DIR]
 *       [--aof-rewrite-min-size BYTES] [--maxmemory BYTES]
 *       plus the common options (protofsm/cli.h): --listen, --mode, --threads ...
 *   redis-cli -p 6380
 *   kvd --check-aof FILE [--fix]   check a log (and cut it back to its last
 *                                  whole record), like redis-check-aof
 *
 * Limits: a request is at most --max-input bytes (default here 64 MiB; a
 * bulk at most 512 MiB by the parser, so raise --max-input for larger
 * values); --maxmemory (default 0: none) refuses commands that may grow
 * memory with redis's -OOM error; a MULTI queue holds at most 64 MiB; the
 * AOF's pending buffer at most 64 MiB (writers wait beyond).  Defaults:
 * appendonly no, appendfsync everysec, dir ".", rewrite when the log
 * passes max(64 MiB, twice its size after the last rewrite), and, as
 * redis, no idle timeout (--idle-timeout 0: a client pool's idle
 * connections stay). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvd/kvd.h"
#include "protofsm/cli.h"

static volatile int cron_stop;
static pthread_mutex_t cron_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cron_cv = PTHREAD_COND_INITIALIZER;

/* Ten times a second: active expiry, the everysec fsync, rewrites. */
static void *cron_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cron_mu);
    while (!cron_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cron_cv, &cron_mu, &ts);
        if (cron_stop)
            break;
        pthread_mutex_unlock(&cron_mu);
        /* sample 20 buckets per shard, again while a quarter were expired */
        while (kv_expire_cycle(&kvd.store, 20) > KV_SHARDS * 5)
            ;
        if (kvd.aof)
            kv_aof_cron(kvd.aof);
        pthread_mutex_lock(&cron_mu);
    }
    pthread_mutex_unlock(&cron_mu);
    return NULL;
}

static int usage(const char *msg)
{
    fprintf(stderr, "kvd: %s\n", msg);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--check-aof")) {
        if (argc > 4 || (argc == 4 && strcmp(argv[3], "--fix")))
            return usage("usage: kvd --check-aof FILE [--fix]");
        return kv_aof_check(argv[2], argc == 4, stdout);
    }
    const char *dir = ".", *pol = "everysec";
    int appendonly = 0;
    unsigned port = 6380;
    size_t rewrite_min = 64u << 20, maxmemory = 0;
    char *rest[128];
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--port") || !strcmp(a, "--requirepass") || !strcmp(a, "--appendonly") ||
            !strcmp(a, "--appendfsync") || !strcmp(a, "--dir") ||
            !strcmp(a, "--aof-rewrite-min-size") || !strcmp(a, "--maxmemory")) {
            if (!v)
                return usage("option needs a value");
            i++;
            if (!strcmp(a, "--port"))
                port = (unsigned)strtoul(v, NULL, 10);
            else if (!strcmp(a, "--requirepass"))
                kvd.requirepass = *v ? v : NULL;
            else if (!strcmp(a, "--appendonly")) {
                if (strcmp(v, "yes") && strcmp(v, "no"))
                    return usage("--appendonly takes yes or no");
                appendonly = !strcmp(v, "yes");
            } else if (!strcmp(a, "--appendfsync")) {
                if (strcmp(v, "always") && strcmp(v, "everysec") && strcmp(v, "no"))
                    return usage("--appendfsync takes always, everysec or no");
                pol = v;
            } else if (!strcmp(a, "--dir"))
                dir = v;
            else if (!strcmp(a, "--aof-rewrite-min-size"))
                rewrite_min = (size_t)strtoull(v, NULL, 10);
            else
                maxmemory = (size_t)strtoull(v, NULL, 10);
        } else if (nrest < 127) {
            rest[nrest++] = argv[i];
        }
    }
    rest[nrest] = NULL;
    /* glibc gives a heap's free top back to the kernel once it passes 128
     * KiB: with connection buffers and packet vectors freed and allocated
     * again all the time, that was a brk()/munmap() (and a TLB shootdown
     * across the threads) per few requests under pipelined load.  Keep up
     * to 64 MiB, as jemalloc-built redis-server effectively does. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    /* redis's defaults: port 6380 here, no idle timeout (timeout 0), and
     * room for a large request. */
    pf_cli d, cli;
    pf_cli_defaults(&d);
    d.conf.max_input = 64u << 20;
    d.conf.idle_timeout_ms = 0;
    snprintf(d.listen[0].host, sizeof d.listen[0].host, "127.0.0.1");
    d.listen[0].port = port;
    d.nlisten = 1;
    int rc = pf_cli_parse_over(&cli, nrest, rest,
                               "kvd: a durable redis-compatible key-value server "
                               "(also: --port --requirepass --appendonly --appendfsync --dir "
                               "--aof-rewrite-min-size --maxmemory)",
                               &d);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    static char timeout[16];
    snprintf(timeout, sizeof timeout, "%u", cli.conf.idle_timeout_ms / 1000);
    kvd.timeout = timeout;
    pf_cli_raise_nofile();
    /* A log past RLIMIT_FSIZE is a write error (EFBIG: MISCONF, aof.c),
     * not a killed process. */
    signal(SIGXFSZ, SIG_IGN);
    if (kv_store_init(&kvd.store) < 0)
        return usage("out of memory");
    kvd.store.maxmemory = maxmemory;
    /* kvd's own threads (the AOF writer, the cron and the rewrites it
     * starts) never take the server's signals: those belong to its
     * signalfd, which only blocks them in threads started after it. */
    sigset_t sigs, old;
    pf_server_signals(&sigs);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    kvd.start_ms = (uint64_t)kv_now_ms();
    kvd.dir = dir;
    kvd.appendfsync = pol;
    if (appendonly) {
        char err[512] = "";
        kv_fsync p = !strcmp(pol, "always") ? KV_FSYNC_ALWAYS
                     : !strcmp(pol, "no")   ? KV_FSYNC_NO
                                            : KV_FSYNC_EVERYSEC;
        rc = kv_aof_open(&kvd.aof, &kvd.store, dir, p, rewrite_min, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "kvd: AOF: %s\n", err[0] ? err : strerror(-rc));
            return 1;
        }
    }
    if (pf_cli_logs(&cli) < 0)
        return 1;
    pf_server *srv;
    cli.conf.on_ready = pf_cli_announce_ready;
    rc = pf_server_new(&srv, &cli.conf);
    if (rc < 0) {
        fprintf(stderr, "kvd: %s\n", strerror(-rc));
        return 1;
    }
    kvd.srv = srv;
    pf_listen_conf lc = { .service = &pf_kvd_service, .reuseport = cli.reuseport,
                          .before_send = pf_kvd_before_send };
    for (unsigned i = 0; i < cli.nlisten; i++) {
        rc = pf_server_listen(srv, cli.listen[i].host, cli.listen[i].port, &lc);
        if (rc < 0) {
            fprintf(stderr, "kvd: cannot listen on %s:%u: %s\n", cli.listen[i].host,
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
    pthread_t cron;
    pthread_create(&cron, NULL, cron_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    rc = pf_server_run(srv);
    pthread_mutex_lock(&cron_mu);
    cron_stop = 1;
    pthread_cond_signal(&cron_cv);
    pthread_mutex_unlock(&cron_mu);
    pthread_join(cron, NULL);
    if (kvd.aof)
        kv_aof_close(kvd.aof);
    int st = pf_cli_finish(srv, rc);
    kv_store_free(&kvd.store);
    return st;
}
