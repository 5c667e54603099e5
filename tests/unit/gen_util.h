/* What the pfgen tests share (test_gen.c: the cases and what the generated
 * C means; test_gen_cli.c: limits, names, usage, I/O): running
 * $PF_BUILD/bin/pfgen and looking at what it wrote. */
#ifndef PF_TEST_GEN_UTIL_H
#define PF_TEST_GEN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define GOOD_DIR "tests/gen/good"
#define BAD_DIR "tests/gen/bad"

static char pfgen[4096];

/* ---- helpers ------------------------------------------------------------ */

static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap + 1);
        assert_non_null(buf);
    }
    assert_false(ferror(f));
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static inline char *xprintf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static inline char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static inline char *make_tmpdir(void)
{
    char *d = strdup("/tmp/pf_test_gen.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

/* Number of entries in a directory (. and .. excluded). */
static inline int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Remove a temp dir and what the tests put in it. */
static inline void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = xprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

typedef struct result {
    int status;  /* exit code, or 128 + signal */
    char *out, *err;
} result;

static inline void result_free(result *r)
{
    free(r->out);
    free(r->err);
}

/* Run argv (argv[0] is looked up on PATH) with stdout and stderr captured. */
static inline result run(const char *const argv[])
{
    char *dir = make_tmpdir();
    char *outp = xprintf("%s/out", dir), *errp = xprintf("%s/err", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    result r = { WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                 slurp(outp, NULL), slurp(errp, NULL) };
    assert_non_null(r.out);
    assert_non_null(r.err);
    free(outp);
    free(errp);
    rm_tree(dir);
    free(dir);
    return r;
}

static inline int have_program(const char *name)
{
    char *cmd = xprintf("command -v %s >/dev/null 2>&1", name);
    int rc = system(cmd);
    free(cmd);
    return rc == 0;
}

static inline void assert_same_file(const char *got_path, const char *want_path)
{
    size_t gl = 0, wl = 0;
    char *got = slurp(got_path, &gl), *want = slurp(want_path, &wl);
    if (got == NULL || want == NULL)
        fail_msg("cannot read %s or %s", got_path, want_path);
    if (gl != wl || memcmp(got, want, gl) != 0) {
        print_error("%s differs from %s\n--- got:\n%s\n--- want:\n%s\n", got_path,
                    want_path, got, want);
        fail();
    }
    free(got);
    free(want);
}

static inline const char *cc(void)
{
    const char *c = getenv("CC");
    return c && *c ? c : "cc";
}

/* Point `pfgen` at $PF_BUILD/bin/pfgen; 0, or -1 after saying why. */
static inline int find_pfgen(const char *prog)
{
    const char *build = getenv("PF_BUILD");
    if (build == NULL || *build == '\0') {
        fprintf(stderr, "%s: set PF_BUILD (e.g. build) so that "
                        "$PF_BUILD/bin/pfgen is the generator under test\n", prog);
        return -1;
    }
    snprintf(pfgen, sizeof pfgen, "%s/bin/pfgen", build);
    if (access(pfgen, X_OK) != 0) {
        fprintf(stderr, "%s: %s is missing or not executable: %s (run make first)\n", prog,
                pfgen, strerror(errno));
        return -1;
    }
    return 0;
}

#endif
