/* protofsm's test kit: what a protocol author needs to test a parser and a
 * service the way protofsm tests its own (header-only, no test framework:
 * each check returns 0 or prints why and returns -1, and the caller's
 * framework turns that into a failure).
 *
 *   - vectors as data: DIR/NAME.in, the exact NAME.out, NAME.closed when
 *     the session must end up closing (pf_test_vecs, pf_test_each_vector);
 *   - every input fed whole, byte by byte and split in two at every
 *     position (pf_test_feed / pf_test_cuts; bounded for large inputs);
 *   - a service's session fed a cut input and its output compared
 *     (pf_test_session_check);
 *   - input ending exactly at an inaccessible page, so a parser that reads
 *     past its input faults (pf_test_guard_copy, pf_test_parse_guarded);
 *   - a watching service over any protocol, for tests that only look at
 *     what a parser emits (pf_test_watch).
 *
 * Example (cmocka):
 *
 *     static pf_test_vec vecs[64];
 *     static pf_test_vecs all = { "tests/vectors/mine", vecs, 0, 64 };
 *     static void run_cut(const void *v, const size_t *cuts, size_t n, const char *how)
 *     {
 *         assert_int_equal(pf_test_session_check(&my_service, NULL, v, cuts, n, how), 0);
 *     }
 *     // setup: pf_test_each_vector(all.dir, pf_test_vecs_add, &all)
 *     // tests: pf_test_feed(&all, PF_TEST_EVERY_SPLIT, run_cut);
 */
#ifndef PROTOFSM_TESTKIT_H
#define PROTOFSM_TESTKIT_H

#include <assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "protofsm/service.h"

/* Read a whole file; NULL if it cannot be read.  The result is
 * NUL-terminated (not counted in *len) and must be freed. */
static inline char *pf_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *b = malloc(cap);
    while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n == cap - 1) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        free(b);
        return NULL;
    }
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

/* ---- protocol vectors: DIR/NAME.in with its expectations beside it ---- */

/* Read DIR/NAME.EXT (see pf_test_slurp). */
static inline char *pf_test_vec_file(const char *dir, const char *name, const char *ext,
                                     size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    return pf_test_slurp(path, len);
}

/* Does DIR/NAME.EXT exist (a marker file such as NAME.closed)? */
static inline int pf_test_vec_has(const char *dir, const char *name, const char *ext)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    return access(path, F_OK) == 0;
}

/* Call add(NAME, ctx) for every NAME.in in dir.  Returns how many, or -1
 * when the folder cannot be read or add fails. */
static inline int pf_test_each_vector(const char *dir, int (*add)(const char *name, void *ctx),
                                      void *ctx)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", dir);
        return -1;
    }
    int n = 0;
    struct dirent *e;
    char name[256];
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".in") || l - 3 >= sizeof(name))
            continue;
        memcpy(name, e->d_name, l - 3);
        name[l - 3] = 0;
        if (add(name, ctx) < 0) {
            fprintf(stderr, "vector %s/%s cannot be loaded\n", dir, name);
            closedir(d);
            return -1;
        }
        n++;
    }
    closedir(d);
    return n;
}

/* The common shape: NAME.in, the exact NAME.out, and NAME.closed present
 * when the session must end up closing. */
typedef struct pf_test_vec {
    char name[128];
    char *in, *out;
    size_t in_len, out_len;
    int closes;
} pf_test_vec;

typedef struct pf_test_vecs {
    const char *dir;
    pf_test_vec *v;
    size_t n, max;
} pf_test_vecs;

static inline int pf_test_vecs_add(const char *name, void *ctx)
{
    pf_test_vecs *vs = ctx;
    if (vs->n == vs->max || strlen(name) >= sizeof(vs->v[0].name))
        return -1;
    pf_test_vec *v = &vs->v[vs->n++];
    strcpy(v->name, name);
    v->in = pf_test_vec_file(vs->dir, name, "in", &v->in_len);
    v->out = pf_test_vec_file(vs->dir, name, "out", &v->out_len);
    v->closes = pf_test_vec_has(vs->dir, name, "closed");
    return v->in && v->out ? 0 : -1;
}

static inline void pf_test_vecs_free(pf_test_vecs *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        free(vs->v[i].in);
        free(vs->v[i].out);
    }
    vs->n = 0;
}

/* Feed one vector `v` (any vector type) with its input cut at
 * cuts[0..ncuts); the test checks. */
typedef void (*pf_test_run_cut)(const void *v, const size_t *cuts, size_t ncuts, const char *how);

/* The split rule, three ways: whole, byte by byte, and split in two at
 * every position (0 and len included).  Inputs longer than
 * PF_TEST_SPLIT_BOUND are split at every position of their first and last
 * PF_TEST_SPLIT_BOUND / 2 bytes and at a stride between, so a large vector
 * stays a test, not a benchmark. */
enum { PF_TEST_WHOLE, PF_TEST_BYTEWISE, PF_TEST_EVERY_SPLIT };
#ifndef PF_TEST_SPLIT_BOUND
#define PF_TEST_SPLIT_BOUND 8192
#endif

/* One vector whose input is `len` bytes, cut the `kind` way. */
static inline void pf_test_cuts(const void *v, size_t len, int kind, pf_test_run_cut run)
{
    if (kind == PF_TEST_WHOLE) {
        run(v, NULL, 0, "whole");
    } else if (kind == PF_TEST_BYTEWISE) {
        size_t *cuts = malloc(len * sizeof(size_t) + 1);
        if (!cuts)
            abort();
        for (size_t k = 1; k < len; k++)
            cuts[k - 1] = k;
        run(v, cuts, len ? len - 1 : 0, "byte by byte");
        free(cuts);
    } else {
        size_t half = PF_TEST_SPLIT_BOUND / 2;
        size_t stride = len > PF_TEST_SPLIT_BOUND ? (len - 2 * half) / half + 1 : 1;
        for (size_t k = 0; k <= len; k += k < half || k + half >= len ? 1 : stride) {
            char how[64];
            snprintf(how, sizeof how, "split at %zu", k);
            run(v, &k, 1, how);
        }
    }
}

/* Every vector of vs (run gets a const pf_test_vec *). */
static inline void pf_test_feed(const pf_test_vecs *vs, int kind, pf_test_run_cut run)
{
    for (size_t i = 0; i < vs->n; i++)
        pf_test_cuts(&vs->v[i], vs->v[i].in_len, kind, run);
}

/* A copy of data[0..len) whose last byte sits just before a PROT_NONE page,
 * so a parser reading past `len` faults.  NULL on failure; release with
 * pf_test_guard_free(copy, len). */
static inline char *pf_test_guard_copy(const void *data, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (len + pg - 1) / pg + 1;
    char *m = mmap(NULL, pages * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    char *guard = m + (pages - 1) * pg;
    if (mprotect(guard, pg, PROT_NONE) < 0) {
        munmap(m, pages * pg);
        return NULL;
    }
    memcpy(guard - len, data, len);
    return guard - len;
}

static inline void pf_test_guard_free(char *copy, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (len + pg - 1) / pg + 1;
    munmap(copy + len - (pages - 1) * pg, pages * pg);
}

/* ---- sessions ---------------------------------------------------------- */

/* Feed v->in to a new session of `svc` (conf may be NULL) in pieces cut at
 * cuts[0..ncuts); 0 when the output is exactly v->out and the session's
 * closing is v->closes, else -1 after saying what differs (`how` names the
 * cut). */
static inline int pf_test_session_check(const pf_service *svc, const pf_session_conf *conf,
                                        const pf_test_vec *v, const size_t *cuts, size_t ncuts,
                                        const char *how)
{
    pf_session *s = pf_session_new(svc, conf);
    int rc = 0;
    if (!s) {
        fprintf(stderr, "vector %s: pf_session_new failed\n", v->name);
        return -1;
    }
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : v->in_len;
        pf_session_feed(s, v->in + at, end - at);
        at = end;
    }
    pf_buf *out = pf_session_output(s);
    if (out->len != v->out_len || (out->len && memcmp(pf_buf_head(out), v->out, v->out_len))) {
        fprintf(stderr, "vector %s fed %s: output differs (%zu bytes, want %zu):\n%.*s\n",
                v->name, how, out->len, v->out_len, (int)(out->len > 2000 ? 2000 : out->len),
                pf_buf_head(out));
        rc = -1;
    }
    if (pf_session_closing(s) != v->closes) {
        fprintf(stderr, "vector %s fed %s: closing=%d, want %d\n", v->name, how,
                pf_session_closing(s), v->closes);
        rc = -1;
    }
    pf_session_free(s);
    return rc;
}

/* Parse in[0..len) packet by packet with `proto` from a guard-page copy,
 * so a read past `len` faults; every packet's raw slice must be the bytes
 * it claims.  Stops at -EAGAIN or an error (both fine: the point is the
 * reads).  0, or -1 after saying what is wrong. */
static inline int pf_test_parse_guarded(const pf_protocol *proto, const void *conf,
                                        const char *in, size_t len)
{
    char *copy = pf_test_guard_copy(in, len);
    void *parser = calloc(1, proto->parser_size + 1);
    void *fields = calloc(1, proto->fields_size + 1);
    int rc = 0;
    if (!copy || !parser || !fields) {
        rc = -1;
        goto out;
    }
    proto->parser_init(parser, conf);
    for (size_t at = 0; at < len;) {
        pf_packet pkt = { .fields = fields };
        ssize_t n = proto->parse(parser, copy + at, len - at, &pkt);
        if (n <= 0)
            break;
        if (pkt.raw.ptr != copy + at || pkt.raw.len != (size_t)n || (size_t)n > len - at) {
            fprintf(stderr, "%s: packet at %zu: raw slice is not the %zd bytes parsed\n",
                    proto->name, at, n);
            rc = -1;
            break;
        }
        at += (size_t)n;
    }
out:
    if (copy)
        pf_test_guard_free(copy, len);
    free(parser);
    free(fields);
    return rc;
}

/* ---- a watching service ------------------------------------------------- */

/* A one-state dispatch table over a protocol's events, built at run time,
 * that runs one function for every packet event and nothing for the
 * built-ins: a protocol driven through pf_session_feed with no table of a
 * service. */
#define PF_TEST_WATCH_MAX_EVENTS 256

typedef struct pf_test_watch {
    pf_fsm fsm;
    pf_fsm_cell cells[PF_TEST_WATCH_MAX_EVENTS];
    pf_handler handlers[2];
    pf_service svc;
} pf_test_watch;

static inline const pf_service *pf_test_watch_init(pf_test_watch *w, const pf_protocol *proto,
                                                   pf_handler on_packet)
{
    static const char *const states[] = { "ANY" };
    static const char *const names[] = { NULL, "watch" };
    static const uint8_t final[] = { 0 };
    const pf_events *ev = proto->events;
    assert(ev->n <= PF_TEST_WATCH_MAX_EVENTS);
    for (uint16_t e = 0; e < ev->n; e++)
        w->cells[e] = e < PF_EV__BUILTIN ? (pf_fsm_cell){ PF_FSM_NOROW, 0, 0 }
                                         : (pf_fsm_cell){ 0, 1, PF_FSM_CELL_DEFAULT };
    w->fsm = (pf_fsm){ .name = "watch", .source = __FILE__, .kind = PF_FSM_DISPATCH,
                       .nstates = 1, .nevents = ev->n, .start = 0, .state_names = states,
                       .events = ev, .final = final, .table = w->cells, .nhandlers = 2,
                       .handler_names = names };
    w->handlers[0] = NULL;
    w->handlers[1] = on_packet;
    w->svc = (pf_service){ proto, &w->fsm, w->handlers };
    return &w->svc;
}

#endif
