/* Helpers shared by the test programs (header-only: each test is one
 * program). */
#ifndef PF_TESTUTIL_H
#define PF_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

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

#endif
