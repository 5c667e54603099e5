/* Helpers shared by the test programs (header-only: each test is one
 * program). */
#ifndef PF_TESTUTIL_H
#define PF_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
 * every position (0 and len included). */
enum { PF_TEST_WHOLE, PF_TEST_BYTEWISE, PF_TEST_EVERY_SPLIT };

/* One vector whose input is `len` bytes, cut the `kind` way. */
static inline void pf_test_cuts(const void *v, size_t len, int kind, pf_test_run_cut run)
{
    if (kind == PF_TEST_WHOLE) {
        run(v, NULL, 0, "whole");
    } else if (kind == PF_TEST_BYTEWISE) {
        size_t *cuts = malloc(len * sizeof(size_t) + 1);
        for (size_t k = 1; k < len; k++)
            cuts[k - 1] = k;
        run(v, cuts, len ? len - 1 : 0, "byte by byte");
        free(cuts);
    } else {
        for (size_t k = 0; k <= len; k++) {
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

#endif
