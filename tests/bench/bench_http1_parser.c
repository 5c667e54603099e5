/* Parser benchmark: pf_http1_protocol against http-parser (Debian
 * libhttp-parser-dev) on the shared inputs, in the same run, and against
 * picohttpparser when the build is given its source (make PICO_DIR=dir,
 * a folder holding picohttpparser.c and .h; never part of this repository:
 * it is a yardstick, built in its own translation unit with PICO_CFLAGS).
 *
 * Each input (a whole request) is parsed from memory in a loop for a fixed
 * time by each parser in turn, alternating rounds so that frequency drift
 * hits both; the best round of each is kept.  Many short rounds rather
 * than a few long ones: on a shared machine a round is often slowed by
 * someone else's work; with more of them each parser is likelier to get
 * clean ones, and the ratio varies less from run to run.
 *
 * Both produce the same result: method, target, every header as (name,
 * value) slices, the body.  For http-parser that means callbacks that
 * store the slices, which is what a server using it does.
 *
 *   bench_http1_parser [FILE...]     default: $PF_BENCH_DIR/http-{long,short}.txt
 *   PF_BENCH_DIR (default /work/shared/bench), PF_BENCH_SECONDS per round
 *   (default 0.2), PF_BENCH_ROUNDS (default 15). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <http_parser.h>

#include "http1.h"

#ifdef HAVE_PICO
#include <picohttpparser.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- http-parser, storing slices like ours -------------------------------- */

struct hp_out {
    pf_slice url, body;
    pf_http1_header h[PF_HTTP1_MAX_HEADERS];
    unsigned n;
    int in_value, done;
};

static int hp_url(http_parser *p, const char *at, size_t n)
{
    struct hp_out *o = p->data;
    if (!o->url.ptr)
        o->url.ptr = at;
    o->url.len += n;
    return 0;
}

static int hp_field(http_parser *p, const char *at, size_t n)
{
    struct hp_out *o = p->data;
    if (o->in_value || o->n == 0) {
        if (o->n == PF_HTTP1_MAX_HEADERS)
            return 1;
        o->h[o->n].name = (pf_slice){ at, 0 };
        o->h[o->n++].value = (pf_slice){ NULL, 0 };
        o->in_value = 0;
    }
    o->h[o->n - 1].name.len += n;
    return 0;
}

static int hp_value(http_parser *p, const char *at, size_t n)
{
    struct hp_out *o = p->data;
    o->in_value = 1;
    if (!o->h[o->n - 1].value.ptr)
        o->h[o->n - 1].value.ptr = at;
    o->h[o->n - 1].value.len += n;
    return 0;
}

static int hp_body(http_parser *p, const char *at, size_t n)
{
    struct hp_out *o = p->data;
    if (!o->body.ptr)
        o->body.ptr = at;
    o->body.len += n;
    return 0;
}

static int hp_done(http_parser *p)
{
    ((struct hp_out *)p->data)->done = 1;
    return 0;
}

static http_parser_settings hp_settings = {
    .on_url = hp_url,
    .on_header_field = hp_field,
    .on_header_value = hp_value,
    .on_body = hp_body,
    .on_message_complete = hp_done,
};

static unsigned long run_http_parser(const char *in, size_t n, double secs, double *elapsed)
{
    http_parser p;
    struct hp_out o;
    unsigned long iters = 0;
    /* Initialised once, like ours: after a message it is ready for the
     * next one on the same connection. */
    http_parser_init(&p, HTTP_REQUEST);
    double t0 = now(), t;
    do {
        for (int k = 0; k < 1024; k++) {
            o.url = o.body = (pf_slice){ NULL, 0 };
            o.n = 0;
            o.in_value = o.done = 0;
            p.data = &o;
            size_t r = http_parser_execute(&p, &hp_settings, in, n);
            if (r != n || !o.done) {
                fprintf(stderr, "http-parser failed: %s\n", http_errno_name(HTTP_PARSER_ERRNO(&p)));
                exit(1);
            }
            __asm__ volatile("" : : "r"(&o) : "memory");
        }
        iters += 1024;
        t = now();
    } while (t - t0 < secs);
    *elapsed = t - t0;
    return iters;
}

#ifdef HAVE_PICO
/* ---- picohttpparser: headers into its own array, the body by length -------- */

static unsigned long run_pico(const char *in, size_t n, double secs, double *elapsed)
{
    static struct phr_header h[PF_HTTP1_MAX_HEADERS];
    unsigned long iters = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 1024; k++) {
            const char *method, *path;
            size_t ml, pl, nh = PF_HTTP1_MAX_HEADERS;
            int minor;
            int r = phr_parse_request(in, n, &method, &ml, &path, &pl, &minor, h, &nh, 0);
            /* the shared inputs have no body: the head is the request */
            if (r != (int)n) {
                fprintf(stderr, "picohttpparser failed: %d\n", r);
                exit(1);
            }
            __asm__ volatile("" : : "r"(h), "r"(method), "r"(path) : "memory");
        }
        iters += 1024;
        t = now();
    } while (t - t0 < secs);
    *elapsed = t - t0;
    return iters;
}
#endif

static unsigned long run_ours(const char *in, size_t n, double secs, double *elapsed)
{
    static _Alignas(64) char parser[8192];
    static pf_http1_fields f;
    unsigned long iters = 0;
    if (pf_http1_protocol.parser_size > sizeof parser)
        abort();
    pf_http1_protocol.parser_init(parser, NULL);
    double t0 = now(), t;
    do {
        for (int k = 0; k < 1024; k++) {
            pf_packet pkt = { .fields = &f };
            ssize_t r = pf_http1_protocol.parse(parser, in, n, &pkt);
            if (r != (ssize_t)n) {
                fprintf(stderr, "http1 parser failed: %zd (status %d)\n", r,
                        pf_http1_status((int)r));
                exit(1);
            }
            __asm__ volatile("" : : "r"(&f) : "memory");
        }
        iters += 1024;
        t = now();
    } while (t - t0 < secs);
    *elapsed = t - t0;
    return iters;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc(1 << 20);
    *len = b ? fread(b, 1, 1 << 20, f) : 0;
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("PF_BENCH_DIR") ? getenv("PF_BENCH_DIR") : "/work/shared/bench";
    double secs = getenv("PF_BENCH_SECONDS") ? atof(getenv("PF_BENCH_SECONDS")) : 0.2;
    int rounds = getenv("PF_BENCH_ROUNDS") ? atoi(getenv("PF_BENCH_ROUNDS")) : 15;
    char def[2][512];
    const char *files[16];
    int nfiles = 0;
    if (argc > 1) {
        for (int i = 1; i < argc && nfiles < 16; i++)
            files[nfiles++] = argv[i];
    } else {
        snprintf(def[0], sizeof def[0], "%s/http-long.txt", dir);
        snprintf(def[1], sizeof def[1], "%s/http-short.txt", dir);
        files[0] = def[0];
        files[1] = def[1];
        nfiles = 2;
    }
    int rc = 0;
    for (int i = 0; i < nfiles; i++) {
        size_t n;
        char *in = slurp(files[i], &n);
        if (!in || !n) {
            fprintf(stderr, "bench_http1_parser: cannot read %s\n", files[i]);
            rc = 1;
            continue;
        }
        double best_ours = 0, best_hp = 0, best_pico = 0;
        for (int r = 0; r < rounds; r++) {
            double e;
            unsigned long it = run_http_parser(in, n, secs, &e);
            if (it / e > best_hp)
                best_hp = (double)it / e;
            it = run_ours(in, n, secs, &e);
            if (it / e > best_ours)
                best_ours = (double)it / e;
#ifdef HAVE_PICO
            it = run_pico(in, n, secs, &e);
            if (it / e > best_pico)
                best_pico = (double)it / e;
#endif
        }
        const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
        printf("%-16s %5zu B  http1   %8.0f MB/s %11.0f req/s\n", base, n,
               best_ours * (double)n / 1e6, best_ours);
        printf("%-16s %5zu B  http-parser %4.0f MB/s %11.0f req/s\n", base, n,
               best_hp * (double)n / 1e6, best_hp);
        printf("%-16s ratio http1/http-parser %.2fx\n", base, best_ours / best_hp);
        if (best_pico > 0) {
            printf("%-16s %5zu B  picohttpparser %4.0f MB/s %11.0f req/s\n", base, n,
                   best_pico * (double)n / 1e6, best_pico);
            printf("%-16s ratio http1/picohttpparser %.2fx\n", base, best_ours / best_pico);
        }
        free(in);
    }
    return rc;
}
