/* File segments through a running server (protofsm/sendfile.h): the bytes
 * arrive exact and in stream order in every mode, and in hsha the I/O
 * thread never waits for the disk.
 *
 * How the last point is checked: this program defines sendfile() itself, so
 * the runtime's calls land here; each call asks mincore(2) whether the
 * range it is about to send is in the page cache, counts the calls that
 * are not, and then does the real system call.  In hsha every sendfile
 * runs on the I/O thread, so a single call over pages that are not cached
 * is a wait for the disk on that thread.  The file is pushed out of the page
 * cache (fsync + POSIX_FADV_DONTNEED) before each request; where the file
 * system keeps it anyway (tmpfs) the cold-file tests are skipped, saying so. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "../integ/harness.h"
#include "test_lines.h"
#include "protofsm/sendfile.h"
#include "protofsm/server.h"
#include "protofsm/stats.h"
#include "../../runtime/sendfile_impl.h"

static atomic_long sf_calls, sf_cold_calls, sf_bytes;

/* Whether every page of [off, off + len) of fd is in the page cache. */
static int cached(int fd, off_t off, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), skew = (size_t)off % pg, ml = skew + len;
    unsigned char *vec = malloc(ml / pg + 2);
    void *m = mmap(NULL, ml, PROT_READ, MAP_SHARED, fd, off - (off_t)skew);
    int all = 1;
    assert_non_null(vec);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mincore(m, ml, vec), 0);
    for (size_t i = 0; i < (ml + pg - 1) / pg; i++)
        if (!(vec[i] & 1))
            all = 0;
    munmap(m, ml);
    free(vec);
    return all;
}

static ssize_t checked_sendfile(int out, int in, off_t *off, size_t count)
{
    struct stat st;
    atomic_fetch_add(&sf_calls, 1);
    if (count && fstat(in, &st) == 0 && off && *off < st.st_size) {
        size_t n = (uint64_t)(st.st_size - *off) < count ? (size_t)(st.st_size - *off) : count;
        if (!cached(in, *off, n))
            atomic_fetch_add(&sf_cold_calls, 1);
    }
    ssize_t n = syscall(SYS_sendfile, out, in, off, count);
    if (n > 0)
        atomic_fetch_add(&sf_bytes, n);
    return n;
}

ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
    return checked_sendfile(out, in, off, count);
}

ssize_t sendfile64(int out, int in, off_t *off, size_t count);
ssize_t sendfile64(int out, int in, off_t *off, size_t count)
{
    return checked_sendfile(out, in, off, count);
}

/* ---- the "file" protocol: a line "f" answers "<\n", the file, ">\n" ---- */

#define FILE_SIZE ((size_t)13 << 20) /* several read-in windows, not a multiple */

static char path[PATH_MAX];
static char *content;

enum { EV_LINE = PF_EV__BUILTIN, NEV };

static ssize_t lp_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    ssize_t n = pf_test_line_frame(pp, buf, len, out);
    if (n > 0)
        out->event = EV_LINE;
    return n;
}

static int on_line(pf_session *s, const pf_packet *pkt)
{
    if (pkt->raw.ptr[0] != 'f') {
        pf_reply(s, "p\n", 2);
        return PF_NEXT;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    pf_reply(s, "<\n", 2);
    if (pf_reply_file(s, fd, 0, FILE_SIZE) < 0)
        return PF_CLOSE;
    pf_reply(s, ">\n", 2);
    return PF_NEXT;
}

static const pf_handler handlers[] = { NULL, on_line };
static const pf_fsm_cell cells[NEV] = {
    [PF_EV_OPEN] = { PF_FSM_NOROW, 0, 0 },  [PF_EV_CLOSE] = { PF_FSM_NOROW, 0, 0 },
    [PF_EV_TIMEOUT] = { PF_FSM_NOROW, 0, 0 }, [PF_EV_DRAIN] = { PF_FSM_NOROW, 0, 0 },
    [EV_LINE] = { 0, 1, 0 },
};
static const char *const snames[] = { "S" };
static const char *const enames[] = { "OPEN", "CLOSE", "TIMEOUT", "DRAIN", "LINE" };
static const pf_events file_events = { "file", "test_sendfile.c", NEV, enames };
static const uint8_t finals[] = { 0 };
static const pf_fsm file_fsm = {
    .name = "file", .source = "test_sendfile.c", .kind = PF_FSM_DISPATCH, .nstates = 1,
    .nevents = NEV, .start = 0, .state_names = snames, .events = &file_events,
    .final = finals, .table = cells, .nhandlers = 2,
};
static const pf_protocol file_proto = {
    .name = "file", .events = &file_events, .parser_size = sizeof(pf_test_line_parser), .fields_size = 0,
    .parser_init = pf_test_line_init, .parse = lp_parse,
};
static const pf_service file_svc = { &file_proto, &file_fsm, handlers };

/* Push the file out of the page cache; 0 when it went. */
static int evict(void)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fsync(fd), 0);
    assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    int first = cached(fd, 0, 4096), last = cached(fd, FILE_SIZE - 4096, 4096);
    close(fd);
    return first || last ? -1 : 0;
}

static int setup(void **state)
{
    (void)state;
    /* Next to this program (a real disk in the build folder), not /tmp,
     * which may be tmpfs. */
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
    assert_true(n > 0);
    path[n] = 0;
    snprintf(strrchr(path, '/'), 32, "/sendfile-%d.bin", (int)getpid());
    content = malloc(FILE_SIZE);
    assert_non_null(content);
    uint32_t x = 12345;
    for (size_t i = 0; i < FILE_SIZE; i++) {
        x = x * 1103515245u + 12345u;
        content[i] = (char)(x >> 16);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    for (size_t done = 0; done < FILE_SIZE;) {
        ssize_t w = write(fd, content + done, FILE_SIZE - done);
        assert_true(w > 0);
        done += (size_t)w;
    }
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    free(content);
    return 0;
}

static void *run_server(void *arg)
{
    return (void *)(intptr_t)pf_server_run(arg);
}

/* Two file requests pipelined around a ping on one connection, and pings
 * on a second connection meanwhile; every byte checked. */
static void exchange(unsigned port)
{
    int a = h_connect(port, 0), b = h_connect(port, 0);
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(h_send_all(a, "f\np\nf\n", 6), 0);
    size_t one = 2 + FILE_SIZE + 2, want = 2 * one + 2;
    char *got = malloc(want), pong[2];
    assert_non_null(got);
    assert_int_equal(h_send_all(b, "p\n", 2), 0);
    assert_int_equal(h_recv_n(b, pong, 2, 10000, NULL), 2);
    assert_int_equal(h_recv_n(a, got, want, 20000, NULL), (ssize_t)want);
    for (int k = 0; k < 2; k++) {
        const char *r = got + (size_t)k * (one + 2);
        assert_memory_equal(r, "<\n", 2);
        assert_memory_equal(r + 2, content, FILE_SIZE);
        assert_memory_equal(r + 2 + FILE_SIZE, ">\n", 2);
        if (k == 0)
            assert_memory_equal(r + one, "p\n", 2);
    }
    free(got);
    close(a);
    close(b);
}

static void counters_reset(void)
{
    atomic_store(&sf_calls, 0);
    atomic_store(&sf_cold_calls, 0);
    atomic_store(&sf_bytes, 0);
}

/* One server; `warm_first`: an exchange while the file is cached before
 * the checked one, so what the server learned about the file then cannot
 * stand in for a check later.  `cold`: the file is evicted before the
 * checked exchange. */
static void serve_on(pf_mode mode, int warm_first, int cold, pf_server_stats *st)
{
    pf_server *srv;
    pf_server_conf conf = { .mode = mode, .backend = h_backend(mode),
                            .threads = 2, .no_signals = 1 };
    pf_listen_conf lc = { .service = &file_svc };
    pthread_t t;
    char addr[64];
    void *rv;

    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    assert_int_equal(pf_server_address(srv, 0, addr, sizeof(addr)), 0);
    unsigned port = (unsigned)atoi(strrchr(addr, ':') + 1);
    pthread_create(&t, NULL, run_server, srv);

    if (warm_first)
        exchange(port);
    /* Pages the warm transfer just sent may be held a moment longer
     * (socket buffers being freed): ask again before calling it failed. */
    for (int i = 0; cold && evict() < 0; i++) {
        assert_true(i < 50);
        usleep(10000);
    }
    counters_reset();
    exchange(port);

    pf_server_stats_get(srv, st);
    pf_server_stop(srv);
    pthread_join(t, &rv);
    assert_int_equal((int)(intptr_t)rv, 0);
    pf_server_free(srv);
}

static void serve(pf_mode mode, int cold, pf_server_stats *st)
{
    serve_on(mode, 0, cold, st);
}

static void test_warm_every_mode(void **state)
{
    (void)state;
    pf_mode modes[] = { PF_MODE_HSHA, PF_MODE_REACTOR, PF_MODE_LF, PF_MODE_INLINE };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        pf_server_stats st;
        serve(modes[i], 0, &st);
        assert_int_equal(st.file_waits, 0); /* it was cached: no detour */
        /* The checks elsewhere would pass vacuously if sendfile were not
         * ours: a cached file trusted to mincore goes out by sendfile. */
        assert_int_equal(atomic_load(&sf_bytes), 2 * (long)FILE_SIZE);
    }
}

/* After a cold hsha transfer: the I/O thread never called sendfile on an
 * uncached range, a worker read a window in, and both copies went out by
 * sendfile (checked by its own bytes, not by a detour around it). */
static void cold_served_by_sendfile(const pf_server_stats *st)
{
    assert_int_equal(atomic_load(&sf_cold_calls), 0);
    assert_true(st->file_waits >= 1);
    assert_int_equal(atomic_load(&sf_bytes), 2 * (long)FILE_SIZE);
}

static void test_cold_hsha_io_thread_never_waits(void **state)
{
    (void)state;
    if (evict() < 0)
        skip(); /* the file system keeps it cached (tmpfs?): nothing to see */
    pf_server_stats st;
    serve(PF_MODE_HSHA, 1, &st);
    cold_served_by_sendfile(&st);
}

/* The same where the kernel has no cachestat (before 6.5): mmap + mincore. */
static void test_cold_hsha_mincore(void **state)
{
    (void)state;
    if (evict() < 0)
        skip();
    pf_server_stats st;
    pf__files_no_cachestat = 1;
    serve(PF_MODE_HSHA, 1, &st);
    pf__files_no_cachestat = 0;
    cold_served_by_sendfile(&st);
}

/* The file served hot, then evicted, then asked for again from the same
 * server: every check is made when the bytes are about to go, none is
 * remembered from an earlier transfer (or an earlier part of this one). */
static void test_cold_again_after_hot(void **state)
{
    (void)state;
    if (evict() < 0)
        skip();
    pf_server_stats st;
    serve_on(PF_MODE_HSHA, 1, 1, &st);
    cold_served_by_sendfile(&st);
}

/* A client connected to the server at `addr` ("HOST:PORT") with a small
 * receive window, so the server's writes wait for its reads. */
static int slow_reader(const char *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 16384;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1)),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* A reader that stalls mid-file while the file is evicted: what was found
 * cached before the stall is not believed after it (sendfile.c WARM_MS),
 * so the I/O thread still sends nothing that is not cached. */
static void test_cold_while_reader_stalls(void **state)
{
    (void)state;
    pf_server *srv;
    pf_server_conf conf = { .mode = PF_MODE_HSHA, .backend = h_backend(PF_MODE_HSHA),
                            .threads = 2, .no_signals = 1 };
    pf_listen_conf lc = { .service = &file_svc };
    pf_server_stats st;
    pthread_t t;
    char addr[64];
    void *rv;
    size_t want = 2 + FILE_SIZE + 2, n = 0;
    char *got = malloc(want);

    assert_non_null(got);
    assert_int_equal(pf_server_new(&srv, &conf), 0);
    assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
    assert_int_equal(pf_server_address(srv, 0, addr, sizeof(addr)), 0);
    pthread_create(&t, NULL, run_server, srv);
    int fd = slow_reader(addr);
    {
        int c = open(path, O_RDONLY | O_CLOEXEC); /* hot to begin with */
        assert_true(c >= 0);
        for (size_t at = 0; at < FILE_SIZE; at += 4096)
            assert_int_equal(pread(c, got, 1, (off_t)at), 1);
        close(c);
    }
    counters_reset();
    assert_int_equal(h_send_all(fd, "f\n", 2), 0);
    assert_int_equal(h_recv_n(fd, got, 65536, 5000, NULL), 65536);
    n = 65536;
    usleep(150 * 1000); /* the socket is full: the server waits for us */
    {
        int c = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(c >= 0);
        assert_int_equal(fsync(c), 0);
        assert_int_equal(posix_fadvise(c, 0, 0, POSIX_FADV_DONTNEED), 0);
        int gone = !cached(c, FILE_SIZE - 4096, 4096);
        close(c);
        if (!gone) {
            close(fd);
            pf_server_stop(srv);
            pthread_join(t, &rv);
            pf_server_free(srv);
            free(got);
            skip(); /* the file system keeps it cached (tmpfs?) */
        }
    }
    usleep(400 * 1000);
    assert_int_equal(h_recv_n(fd, got + n, want - n, 20000, NULL), (ssize_t)(want - n));
    assert_memory_equal(got, "<\n", 2);
    assert_memory_equal(got + 2, content, FILE_SIZE);
    assert_memory_equal(got + 2 + FILE_SIZE, ">\n", 2);
    close(fd);
    free(got);
    pf_server_stats_get(srv, &st);
    pf_server_stop(srv);
    pthread_join(t, &rv);
    assert_int_equal((int)(intptr_t)rv, 0);
    pf_server_free(srv);
    assert_int_equal(atomic_load(&sf_cold_calls), 0);
    assert_true(st.file_waits >= 1);
}

/* A file whose page-cache state mincore hides (another user's, read-only:
 * the kernel then says "all cached"), forced here since root sees through
 * it: the I/O thread reads with RWF_NOWAIT instead and still never waits.
 * The second transfer (the file cached by then) goes out without sendfile. */
static void test_cold_hsha_untrusted_file(void **state)
{
    (void)state;
    if (evict() < 0)
        skip();
    pf_server_stats st;
    pf__files_distrust = 1;
    serve(PF_MODE_HSHA, 1, &st);
    pf__files_distrust = 0;
    assert_int_equal(atomic_load(&sf_cold_calls), 0);
    assert_true(st.file_waits >= 1);
    assert_true(atomic_load(&sf_bytes) <= (long)FILE_SIZE);
}

/* The other modes send from the job's thread (a worker, or the only thread
 * in inline), which may wait: the bytes must still be right. */
static void test_cold_other_modes(void **state)
{
    (void)state;
    if (evict() < 0)
        skip();
    pf_mode modes[] = { PF_MODE_REACTOR, PF_MODE_LF, PF_MODE_INLINE };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        pf_server_stats st;
        serve(modes[i], 1, &st);
        assert_int_equal(st.file_waits, 0);
    }
}

/* A client that reads slowly keeps the transfer going for several idle
 * timeouts: bytes sent from the file are progress, as buffered bytes are,
 * so the idle deadline (and the flush deadline after a timeout) move with
 * them and the download is not cut. */
static void test_slow_reader_outlasts_idle_timeout(void **state)
{
    (void)state;
    pf_mode modes[] = { PF_MODE_HSHA, PF_MODE_REACTOR, PF_MODE_LF, PF_MODE_INLINE };
    size_t one = 2 + FILE_SIZE + 2, want = 2 * one;
    char *got = malloc(want);

    assert_non_null(got);
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        pf_server *srv;
        pf_server_conf conf = { .mode = modes[m], .backend = h_backend(modes[m]),
                                .threads = 2, .no_signals = 1,
                                .idle_timeout_ms = 600 };
        pf_listen_conf lc = { .service = &file_svc };
        pthread_t t;
        char addr[64];
        void *rv;

        assert_int_equal(pf_server_new(&srv, &conf), 0);
        assert_int_equal(pf_server_listen(srv, "127.0.0.1", 0, &lc), 0);
        assert_int_equal(pf_server_address(srv, 0, addr, sizeof(addr)), 0);
        pthread_create(&t, NULL, run_server, srv);
        int fd = slow_reader(addr);
        assert_int_equal(h_send_all(fd, "f\nf\n", 4), 0);
        /* About 2.5 s for both files: four idle timeouts, well past the
         * idle and flush deadlines together, where it was cut while
         * sendfile did not count as progress.  The server still writes in
         * bursts, whenever the kernel finds half its send buffer (up to
         * 4 MiB) free, about 0.2 s apart at this pace: the idle timeout
         * is three times that. */
        size_t n = 0, step = FILE_SIZE / 50;
        uint64_t start = h_now_ms();
        int eof = 0;
        while (n < want && !eof) {
            ssize_t r = h_recv_n(fd, got + n, want - n < step ? want - n : step, 5000, &eof);
            if (r <= 0)
                break;
            n += (size_t)r;
            struct timespec ts = { 0, 25 * 1000000L };
            nanosleep(&ts, NULL);
        }
        if (n != want) {
            pf_server_stats st;
            pf_server_stats_get(srv, &st);
            fail_msg("%s: %zu of %zu bytes after %llu ms (%llu timeouts)", pf_mode_name(modes[m]),
                     n, want, (unsigned long long)(h_now_ms() - start),
                     (unsigned long long)st.timeouts);
        }
        assert_memory_equal(got + 2, content, FILE_SIZE);
        assert_memory_equal(got + one + 2, content, FILE_SIZE);
        close(fd);
        pf_server_stop(srv);
        pthread_join(t, &rv);
        assert_int_equal((int)(intptr_t)rv, 0);
        pf_server_free(srv);
    }
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warm_every_mode),
        cmocka_unit_test(test_cold_hsha_io_thread_never_waits),
        cmocka_unit_test(test_cold_hsha_mincore),
        cmocka_unit_test(test_cold_again_after_hot),
        cmocka_unit_test(test_cold_while_reader_stalls),
        cmocka_unit_test(test_cold_hsha_untrusted_file),
        cmocka_unit_test(test_cold_other_modes),
        cmocka_unit_test(test_slow_reader_outlasts_idle_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
