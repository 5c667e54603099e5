/* RESP parser throughput against hiredis's reader, same bytes, same run.
 *
 * The stream is a pipeline of multibulk commands, which is also valid reply
 * syntax, so hiredis's reader (a reply parser) can read it.  Both sides see
 * the stream in 16 KiB reads, as from a socket:
 *   - ours: pf_resp_protocol.parse over the growing buffer, packet by packet,
 *     in place, and again with each read first copied into a landing buffer
 *     ("ours+copy": the recv into the runtime's buffer; payloads are never
 *     touched otherwise, they are skipped);
 *   - hiredis: redisReaderFeed each read (it copies into its own buffer),
 *     then redisReaderGetReply until no reply is left, freeing each reply.
 *     Measured twice: with its default reply objects (what a client pays),
 *     and with fn = NULL (framing only, no allocation), the closer match to
 *     what our parser does.
 * Each figure is the best of 3 runs of about 0.3 s of thread CPU time.  Prints MB/s and the
 * ratio ours/hiredis for small commands and for 16 KiB values.
 *
 * Build: BENCH_LIBS_bench_resp_parser := -lhiredis */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "resp.h"

#define READ_SIZE 16384
#define RUN_SECONDS 0.3

/* CPU time of this thread: the figures then hold on a busy or shared host
 * (both sides are timed the same way). */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct stream {
    char *p;
    size_t len, ncmd;
};

static void add(struct stream *s, size_t *cap, const char *p, size_t n)
{
    while (s->len + n > *cap)
        s->p = realloc(s->p, *cap *= 2);
    memcpy(s->p + s->len, p, n);
    s->len += n;
}

/* SET key:NNNNNN <value> as multibulk, until about `total` bytes. */
static struct stream make_stream(size_t value_len, size_t total)
{
    struct stream s = { malloc(1 << 20), 0, 0 };
    size_t cap = 1 << 20;
    char *val = malloc(value_len);
    for (size_t i = 0; i < value_len; i++)
        val[i] = (char)('a' + i % 26);
    while (s.len < total) {
        char head[128];
        char key[32];
        int kl = snprintf(key, sizeof key, "key:%06zu", s.ncmd % 1000000);
        int h = snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%zu\r\n",
                         kl, key, value_len);
        add(&s, &cap, head, (size_t)h);
        add(&s, &cap, val, value_len);
        add(&s, &cap, "\r\n", 2);
        s.ncmd++;
    }
    free(val);
    return s;
}

static _Alignas(max_align_t) char parser[1 << 16];

static char *landing; /* where "ours + copy" receives the reads */

/* One pass of ours; returns commands parsed.  With `copy`, each read is
 * first copied into a landing buffer (what recv into the runtime's buffer
 * costs), to compare with hiredis's Feed, which copies. */
static size_t pass_ours(const struct stream *s, int copy)
{
    const char *in = copy ? landing : s->p;
    pf_resp_protocol.parser_init(parser, NULL);
    size_t start = 0, avail = 0, n = 0;
    pf_resp_fields f;
    pf_packet pkt = { .fields = &f };
    size_t check = 0;
    while (start < s->len) {
        ssize_t r = pf_resp_protocol.parse(parser, in + start, avail - start, &pkt);
        if (r == -EAGAIN) {
            size_t next = avail + READ_SIZE < s->len ? avail + READ_SIZE : s->len;
            if (copy)
                memcpy(landing + avail, s->p + avail, next - avail);
            avail = next;
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "bench: parse error %zd\n", r);
            exit(1);
        }
        check += f.argc + pkt.event;
        start += (size_t)r;
        n++;
    }
    if (check == 0)
        abort();
    return n;
}

static size_t pass_hiredis(const struct stream *s, int objects)
{
    redisReader *r = redisReaderCreate();
    if (!objects)
        r->fn = NULL;
    size_t n = 0;
    for (size_t off = 0; off < s->len; off += READ_SIZE) {
        size_t k = s->len - off < READ_SIZE ? s->len - off : READ_SIZE;
        if (redisReaderFeed(r, s->p + off, k) != REDIS_OK)
            abort();
        void *reply;
        for (;;) {
            if (redisReaderGetReply(r, &reply) != REDIS_OK) {
                fprintf(stderr, "bench: hiredis error %s\n", r->errstr);
                exit(1);
            }
            if (!reply)
                break;
            if (objects)
                freeReplyObject(reply);
            n++;
        }
    }
    redisReaderFree(r);
    return n;
}

/* Best MB/s of 3 runs of RUN_SECONDS each. */
static double measure(const struct stream *s, int which)
{
    double best = 0;
    for (int run = 0; run < 3; run++) {
        double t0 = now(), t;
        size_t bytes = 0;
        do {
            size_t n = which <= 1 ? pass_ours(s, which) : pass_hiredis(s, which == 2);
            if (n != s->ncmd) {
                fprintf(stderr, "bench: %zu commands, want %zu\n", n, s->ncmd);
                exit(1);
            }
            bytes += s->len;
            t = now() - t0;
        } while (t < RUN_SECONDS);
        double mbs = (double)bytes / t / 1e6;
        if (mbs > best)
            best = mbs;
    }
    return best;
}

static void report(const char *what, size_t value_len, size_t total)
{
    struct stream s = make_stream(value_len, total);
    landing = malloc(s.len);
    double ours = measure(&s, 0);
    double ours_copy = measure(&s, 1);
    double hi = measure(&s, 2);
    double hi_raw = measure(&s, 3);
    printf("resp parser, %s: %zu cmds, %.1f B/cmd\n"
           "  ours %.0f MB/s, ours+copy %.0f MB/s | hiredis %.0f MB/s, hiredis fn=NULL %.0f MB/s\n"
           "  ratio ours/hiredis %.2fx, ours+copy/hiredis %.2fx, ours+copy/hiredis fn=NULL %.2fx\n",
           what, s.ncmd, (double)s.len / (double)s.ncmd, ours, ours_copy, hi, hi_raw,
           ours / hi, ours_copy / hi, ours_copy / hi_raw);
    free(landing);
    free(s.p);
}

int main(void)
{
    report("small: SET key:NNNNNN value", 5, 8u << 20);
    report("large: SET key:NNNNNN <16 KiB>", 16384, 32u << 20);
    return 0;
}
