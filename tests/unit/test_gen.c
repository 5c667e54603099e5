/* pfgen, tested from the outside: it runs $PF_BUILD/bin/pfgen (from the repo
 * root) on the cases under tests/gen and checks exit codes, exact stderr,
 * exact outputs, and that the outputs compile, render and mean the right
 * table.
 *
 *   tests/gen/good/NAME.rl|fsm  + NAME_fsm.h.expected NAME_fsm.c.expected
 *                             NAME.dot.expected (a machine) or
 *                             NAME_events.h.expected NAME_events.c.expected
 *                             (a protocol): byte-exact, deterministic
 *   tests/gen/bad/NAME.rl|fsm   + NAME.err: exit 1, that exact stderr, no
 *                             output (machines may be over good protocols)
 *
 * One cmocka test per case, so a failure names the case. */
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

static char *slurp(const char *path, size_t *len)
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

static char *xprintf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static char *xprintf(const char *fmt, ...)
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

static char *make_tmpdir(void)
{
    char *d = strdup("/tmp/pf_test_gen.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

/* Number of entries in a directory (. and .. excluded). */
static int count_entries(const char *dir)
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
static void rm_tree(const char *dir)
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

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
}

/* Run argv (argv[0] is looked up on PATH) with stdout and stderr captured. */
static result run(const char *const argv[])
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

static int have_program(const char *name)
{
    char *cmd = xprintf("command -v %s >/dev/null 2>&1", name);
    int rc = system(cmd);
    free(cmd);
    return rc == 0;
}

static void assert_same_file(const char *got_path, const char *want_path)
{
    size_t gl, wl;
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

static const char *const machine_suffix[] = { "_fsm.h", "_fsm.c", ".dot" };
static const char *const protocol_suffix[] = { "_events.h", "_events.c" };

/* A case is FILE under its folder: BASE.rl or BASE.fsm.  A good protocol
 * (events only) has BASE_events.h.expected; a good machine BASE_fsm.*. */
static char *base_of(const char *file)
{
    const char *dot = strrchr(file, '.');
    return strndup(file, (size_t)(dot - file));
}

static int is_protocol(const char *file)
{
    char *b = base_of(file), *p = xprintf(GOOD_DIR "/%s_events.h.expected", b);
    int yes = access(p, F_OK) == 0;
    free(b);
    free(p);
    return yes;
}

/* pfgen -o DIR GOOD_DIR/FILE must succeed silently. */
static void generate(const char *file, const char *dir)
{
    char *in = xprintf(GOOD_DIR "/%s", file);
    const char *argv[] = { pfgen, "-o", dir, in, NULL };
    result r = run(argv);
    if (r.status != 0 || r.err[0] != '\0')
        fail_msg("pfgen %s: exit %d, stderr:\n%s", in, r.status, r.err);
    assert_string_equal(r.out, "");
    result_free(&r);
    free(in);
}

/* ---- golden cases ------------------------------------------------------- */

static void test_good(void **state)
{
    const char *file = *state;
    char *name = base_of(file);
    int proto = is_protocol(file), nout = proto ? 2 : 3;
    const char *const *suffix = proto ? protocol_suffix : machine_suffix;
    char *d1 = make_tmpdir(), *d2 = make_tmpdir();
    generate(file, d1);
    generate(file, d2);
    assert_int_equal(count_entries(d1), nout);  /* no temp file left behind */
    for (int i = 0; i < nout; i++) {
        char *got = xprintf("%s/%s%s", d1, name, suffix[i]);
        char *again = xprintf("%s/%s%s", d2, name, suffix[i]);
        char *want = xprintf(GOOD_DIR "/%s%s.expected", name, suffix[i]);
        assert_same_file(got, want);
        assert_same_file(again, got);  /* deterministic */
        free(got);
        free(again);
        free(want);
    }
    /* Regenerating over existing outputs replaces them cleanly. */
    generate(file, d1);
    assert_int_equal(count_entries(d1), nout);
    rm_tree(d1);
    rm_tree(d2);
    free(d1);
    free(d2);
    free(name);
}

static const char *cc(void)
{
    const char *c = getenv("CC");
    return c && *c ? c : "cc";
}

static char **good_files;
static size_t ngood;

/* The generated C compiles warning-free on its own (with the event lists
 * of the good protocols beside it, for a machine over one). */
static void test_good_compiles(void **state)
{
    const char *file = *state;
    char *name = base_of(file);
    char *d = make_tmpdir();
    for (size_t i = 0; i < ngood; i++)
        if (is_protocol(good_files[i]) && strcmp(good_files[i], file) != 0)
            generate(good_files[i], d);
    generate(file, d);
    char *inc = xprintf("-I%s", d);
    char *src = xprintf("%s/%s%s", d, name, is_protocol(file) ? "_events.c" : "_fsm.c");
    const char *argv[] = { cc(), "-std=c11", "-fsyntax-only", "-Iruntime/include", inc,
                           "-Werror", "-Wall", "-Wextra", "-Wshadow", "-Wstrict-prototypes",
                           "-Wmissing-prototypes", "-Wformat=2", "-pedantic", src, NULL };
    result r = run(argv);
    if (r.status != 0)
        fail_msg("%s does not compile:\n%s", src, r.err);
    assert_string_equal(r.err, "");
    result_free(&r);
    free(inc);
    free(src);
    rm_tree(d);
    free(d);
    free(name);
}

static void test_good_renders(void **state)
{
    const char *file = *state;
    char *name = base_of(file);
    /* graphviz is a declared test dependency (gen/deps.sh installs it): a
     * missing dot is a broken setup, not a reason to pass. */
    if (!have_program("dot"))
        fail_msg("dot (graphviz) is not installed: cannot check that %s.dot renders "
                 "(install graphviz, or run make test as root)", name);
    char *d = make_tmpdir();
    generate(file, d);
    char *in = xprintf("%s/%s.dot", d, name), *out = xprintf("%s/%s.svg", d, name);
    const char *argv[] = { "dot", "-Tsvg", "-o", out, in, NULL };
    result r = run(argv);
    if (r.status != 0 || r.err[0] != '\0')
        fail_msg("dot -Tsvg %s: exit %d\n%s", in, r.status, r.err);
    size_t len;
    char *svg = slurp(out, &len);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg"));
    free(svg);
    result_free(&r);
    free(in);
    free(out);
    rm_tree(d);
    free(d);
    free(name);
}

/* ---- error cases -------------------------------------------------------- */

/* Machines in bad/ may be over the good protocols (-I tests/gen/good). */
static void test_bad(void **state)
{
    const char *file = *state;
    char *name = base_of(file);
    char *in = xprintf(BAD_DIR "/%s", file), *errf = xprintf(BAD_DIR "/%s.err", name);
    char *want = slurp(errf, NULL);
    if (want == NULL)
        fail_msg("missing %s", errf);
    assert_true(want[0] != '\0');
    char *d = make_tmpdir();
    const char *argv[] = { pfgen, "-o", d, "-I", GOOD_DIR, in, NULL };
    result r = run(argv);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    assert_int_equal(count_entries(d), 0);  /* nothing written */
    result_free(&r);
    free(name);
    const char *cargv[] = { pfgen, "--check", "-I" GOOD_DIR, in, NULL };
    r = run(cargv);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    result_free(&r);
    rm_tree(d);
    free(d);
    free(want);
    free(in);
    free(errf);
}

/* Write `text` to DIR/NAME and run pfgen --check on it. */
static result check_text(const char *dir, const char *name, const char *text)
{
    char *p = xprintf("%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    const char *argv[] = { pfgen, "--check", p, NULL };
    result r = run(argv);
    free(p);
    return r;
}

typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    while (b->n + (size_t)n + 1 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1 << 16;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

/* A chain S0 -> S1 -> ... of `n` states: fine up to 65534. */
static char *chain(unsigned n)
{
    sbuf b = { 0 };
    sb_printf(&b, "/* @fsm\nmachine big\nkind transition\nstart S0\nfinal S%u\nevents E\n",
              n - 1);
    sb_printf(&b, "states");
    for (unsigned i = 0; i < n; i++)
        sb_printf(&b, " S%u", i);
    sb_printf(&b, "\n");
    for (unsigned i = 0; i + 1 < n; i++)
        sb_printf(&b, "S%u E -> S%u -\n", i, i + 1);
    sb_printf(&b, "@end */\n");
    return b.s;
}

/* A dispatch machine with `n` packet events, each with its own row. */
static char *wide(unsigned n)
{
    sbuf b = { 0 };
    sb_printf(&b, "/* @fsm\nmachine wide\nkind dispatch\nevents");
    for (unsigned i = 0; i < n; i++)
        sb_printf(&b, " E%u", i);
    sb_printf(&b, "\n");
    for (unsigned i = 0; i < n; i++)
        sb_printf(&b, "E%u -> h\n", i);
    sb_printf(&b, "@end */\n");
    return b.s;
}

static void test_limits(void **state)
{
    (void)state;
    char *d = make_tmpdir(), *t, *want;
    result r;

    t = chain(65534);
    r = check_text(d, "ok_states.rl", t);
    assert_string_equal(r.err, "");
    assert_int_equal(r.status, 0);
    result_free(&r);
    free(t);

    t = chain(65535);
    r = check_text(d, "states.rl", t);
    want = xprintf("%s/states.rl:5: final state 'S65534' is not a declared state\n"
                   "%s/states.rl:7: too many states: more than 65534 (at 'S65534')\n"
                   "%s/states.rl:65541: unknown next state 'S65534'\n", d, d, d);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    result_free(&r);
    free(want);
    free(t);

    t = wide(65534 - 4);  /* with the 4 built-ins: exactly the limit */
    r = check_text(d, "ok_events.rl", t);
    assert_string_equal(r.err, "");
    assert_int_equal(r.status, 0);
    result_free(&r);
    free(t);

    t = wide(65535 - 4);
    r = check_text(d, "events.rl", t);
    want = xprintf("%s/events.rl:4: too many events: more than 65534 (at 'E65530')\n"
                   "%s/events.rl:65535: unknown event 'E65530'\n", d, d);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    result_free(&r);
    free(want);
    free(t);

    /* 256 x 256 rows, each with its own handler: 65536 handlers. */
    sbuf b = { 0 };
    sb_printf(&b, "/* @fsm\nmachine many\nkind transition\nstart S0\nstates");
    for (unsigned i = 0; i < 256; i++)
        sb_printf(&b, " S%u", i);
    sb_printf(&b, "\nfinal");
    for (unsigned i = 0; i < 256; i++)
        sb_printf(&b, " S%u", i);
    sb_printf(&b, "\nevents");
    for (unsigned i = 0; i < 256; i++)
        sb_printf(&b, " E%u", i);
    sb_printf(&b, "\n");
    for (unsigned i = 0; i < 256; i++)
        for (unsigned j = 0; j < 256; j++)
            sb_printf(&b, "S%u E%u -> S%u h_%u_%u\n", i, j, (i + 1) % 256, i, j);
    sb_printf(&b, "@end */\n");
    r = check_text(d, "handlers.rl", b.s);
    /* Handler 65535 is row 65535 (0-based 65534: S255 E254), at line 8 + 65534. */
    want = xprintf("%s/handlers.rl:65542: too many handlers: more than 65534 "
                   "(at 'h_255_254')\n", d);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    result_free(&r);
    free(want);
    free(b.s);

    /* 4097 x 4096 cells is over the 2^24 cell limit. */
    b = (sbuf){ 0 };
    sb_printf(&b, "/* @fsm\nmachine huge\nkind transition\nstart S0\nfinal S4096\nstates");
    for (unsigned i = 0; i < 4097; i++)
        sb_printf(&b, " S%u", i);
    sb_printf(&b, "\nevents");
    for (unsigned i = 0; i < 4092; i++)
        sb_printf(&b, " E%u", i);
    sb_printf(&b, "\nS0 * -> . -\n");
    for (unsigned i = 0; i < 4096; i++)
        sb_printf(&b, "S%u E0 -> S%u -\n", i, i + 1);
    sb_printf(&b, "@end */\n");
    r = check_text(d, "huge.rl", b.s);
    want = xprintf("%s/huge.rl:1: table too large: 4097 states x 4096 events is more "
                   "than 16777216 cells\n", d);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    result_free(&r);
    free(want);
    free(b.s);

    /* A very long line and long names are not truncated. */
    b = (sbuf){ 0 };
    sb_printf(&b, "/* @fsm\nmachine m\nkind dispatch\nevents");
    for (int i = 0; i < 2000; i++)
        sb_printf(&b, " %s%04d", "EVENT_WITH_A_RATHER_LONG_NAME_", i);
    sb_printf(&b, " X");
    for (int i = 0; i < 5000; i++)
        sb_printf(&b, "Y");
    sb_printf(&b, "\n");
    for (int i = 0; i < 2000; i++)
        sb_printf(&b, "EVENT_WITH_A_RATHER_LONG_NAME_%04d -> h\n", i);
    sb_printf(&b, "@end */\n");
    r = check_text(d, "long.rl", b.s);
    assert_int_equal(r.status, 1);  /* X...Y has no row: named in full */
    assert_non_null(strstr(r.err, "YYYY' is declared but no row handles it (no row names "
                                  "it, no default row)\n"));
    assert_int_equal((int)(strstr(r.err, "' is declared") - strstr(r.err, "'XY")), 5002);
    result_free(&r);
    free(b.s);

    rm_tree(d);
    free(d);
}

static void expect(const char *const argv[], int status, const char *err);

/* Binary junk is reported, never trusted: a NUL byte inside a name. */
static void test_nul_byte(void **state)
{
    (void)state;
    static const char text[] = "/* @fsm\nmachine t\nkind transition\nstates A\n"
                               "start A\nfinal A\0B\n@end */\n";
    char *d = make_tmpdir(), *p = xprintf("%s/nul.rl", d);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, sizeof text - 1, f), sizeof text - 1);
    assert_int_equal(fclose(f), 0);
    char *want = xprintf("%s:1: transition machine has no final state (declare one with "
                         "'final')\n%s:6: line contains a NUL byte\n", p, p);
    const char *argv[] = { pfgen, "--check", p, NULL };
    expect(argv, 1, want);
    free(want);
    free(p);
    rm_tree(d);
    free(d);
}

/* Every macro the generated code's headers define (cc -E -dM) and every
 * `..._t` type they declare is rejected as a handler name: gen/symbols.c's
 * list is complete for this compiler and C library. */
static int has_name(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static void test_header_names(void **state)
{
    (void)state;
    char *d = make_tmpdir(), *src = xprintf("%s/inc.c", d);
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fputs("#include \"protofsm/fsm.h\"\n", f);
    assert_int_equal(fclose(f), 0);
    const char *dm[] = { cc(), "-std=c11", "-D_GNU_SOURCE", "-Iruntime/include", "-E", "-dM",
                         src, NULL };
    const char *ep[] = { cc(), "-std=c11", "-D_GNU_SOURCE", "-Iruntime/include", "-E", "-P",
                         src, NULL };
    result macros = run(dm), code = run(ep);
    assert_int_equal(macros.status, 0);
    assert_int_equal(code.status, 0);
    size_t n = 0, cap = 4096;
    char **names = calloc(cap, sizeof *names);
    assert_non_null(names);
    for (char *p = macros.out; (p = strstr(p, "#define ")) != NULL;) {
        p += 8;
        size_t l = strcspn(p, " (\n");
        char *s = strndup(p, l);
        if (!has_name(names, n, s) && n < cap)
            names[n++] = s;
        else
            free(s);
    }
    for (char *p = code.out; *p;) {
        size_t l = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (l == 0) {
            p++;
            continue;
        }
        char *s = strndup(p, l);
        if (l > 2 && strcmp(s + l - 2, "_t") == 0 && !has_name(names, n, s) && n < cap)
            names[n++] = s;
        else
            free(s);
        p += l;
    }
    assert_true(n > 100 && n < cap);
    assert_true(has_name(names, n, "NULL") && has_name(names, n, "uint8_t") &&
                has_name(names, n, "size_t"));
    sbuf b = { 0 };
    sb_printf(&b, "/* @fsm\nmachine m\nkind dispatch\nevents");
    for (size_t i = 0; i < n; i++)
        sb_printf(&b, " E%zu", i);
    sb_printf(&b, "\n");
    for (size_t i = 0; i < n; i++)
        sb_printf(&b, "E%zu -> %s\n", i, names[i]);
    sb_printf(&b, "@end */\n");
    result r = check_text(d, "hdr.rl", b.s);
    assert_int_equal(r.status, 1);
    for (size_t i = 0; i < n; i++) {
        char *want = xprintf(":%zu: invalid handler name '%s': ", i + 5, names[i]);
        if (strstr(r.err, want) == NULL)
            fail_msg("handler '%s' (from the headers) is not rejected:\n%s", names[i], r.err);
        free(want);
        free(names[i]);
    }
    result_free(&r);
    result_free(&macros);
    result_free(&code);
    free(names);
    free(b.s);
    free(src);
    rm_tree(d);
    free(d);
}

/* ---- usage and I/O errors ----------------------------------------------- */

static void expect(const char *const argv[], int status, const char *err)
{
    result r = run(argv);
    assert_int_equal(r.status, status);
    assert_string_equal(r.err, err);
    result_free(&r);
}

static void test_usage(void **state)
{
    (void)state;
    const char *rl = GOOD_DIR "/min.rl";
    const char *a0[] = { pfgen, NULL };
    expect(a0, 2, "pfgen: no input file\ntry 'pfgen --help'\n");
    const char *a1[] = { pfgen, "-x", rl, NULL };
    expect(a1, 2, "pfgen: unknown option '-x'\ntry 'pfgen --help'\n");
    const char *a2[] = { pfgen, "--check", rl, rl, NULL };
    expect(a2, 2, "pfgen: too many input files (at '" GOOD_DIR "/min.rl'); give one "
                  "FILE\ntry 'pfgen --help'\n");
    const char *a3[] = { pfgen, rl, "-o", NULL };
    expect(a3, 2, "pfgen: option '-o' needs a directory\ntry 'pfgen --help'\n");
    const char *a4[] = { pfgen, "--check", "tests/gen/good/min.txt", NULL };
    expect(a4, 2, "pfgen: input 'tests/gen/good/min.txt' is not a NAME.rl or NAME.fsm file\n"
                  "try 'pfgen --help'\n");
    const char *a6[] = { pfgen, "--check", rl, "-I", NULL };
    expect(a6, 2, "pfgen: option '-I' needs a directory\ntry 'pfgen --help'\n");
    const char *a5[] = { pfgen, "--bogus", NULL };
    expect(a5, 2, "pfgen: unknown option '--bogus'\ntry 'pfgen --help'\n");

    const char *h[] = { pfgen, "--help", NULL };
    result r = run(h);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "usage: pfgen [-o DIR] [-I DIR]... [--check] FILE.rl|FILE.fsm\n"));
    assert_non_null(strstr(r.out, "machine NAME over PROTO"));
    assert_non_null(strstr(r.out, "STATE EVENT -> NEXT HANDLER"));
    assert_non_null(strstr(r.out, "Exit status: 0 ok, 1"));
    result_free(&r);
    const char *hs[] = { pfgen, "-h", NULL };
    r = run(hs);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: pfgen"));
    result_free(&r);
    const char *v[] = { pfgen, "--version", NULL };
    r = run(v);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "pfgen 0.1.0\n");
    result_free(&r);

    /* --check writes nothing, even on success. */
    char *d = make_tmpdir();
    const char *c[] = { pfgen, "--check", "-o", d, rl, NULL };
    expect(c, 0, "");
    assert_int_equal(count_entries(d), 0);
    rm_tree(d);
    free(d);
}

static void test_io_errors(void **state)
{
    (void)state;
    const char *a[] = { pfgen, "tests/gen/no-such-file.rl", NULL };
    expect(a, 3, "pfgen: cannot read 'tests/gen/no-such-file.rl': No such file or "
                 "directory\n");

    char *d = make_tmpdir();
    char *dir_rl = xprintf("%s/dir.rl", d);
    assert_int_equal(mkdir(dir_rl, 0700), 0);
    char *want = xprintf("pfgen: cannot read '%s': Is a directory\n", dir_rl);
    const char *b[] = { pfgen, dir_rl, NULL };
    expect(b, 3, want);
    free(want);

    /* A missing output directory is created, parents too... */
    char *missing = xprintf("%s/new/sub", d);
    const char *c[] = { pfgen, "-o", missing, GOOD_DIR "/min.rl", NULL };
    expect(c, 0, "");
    assert_int_equal(count_entries(missing), 3);
    /* ...but not under a regular file. */
    const char *c2[] = { pfgen, "-o", GOOD_DIR "/min.rl/sub", GOOD_DIR "/min.rl", NULL };
    expect(c2, 3, "pfgen: cannot create directory '" GOOD_DIR "/min.rl/sub': Not a "
                  "directory\n");

    /* An output directory we may not write to (not testable as root). */
    if (geteuid() != 0) {
        char *ro = xprintf("%s/ro", d);
        assert_int_equal(mkdir(ro, 0500), 0);
        want = xprintf("pfgen: cannot write '%s/min_fsm.h': Permission denied\n", ro);
        const char *e[] = { pfgen, "-o", ro, GOOD_DIR "/min.rl", NULL };
        expect(e, 3, want);
        assert_int_equal(count_entries(ro), 0);
        free(want);
        free(ro);
    }
    free(missing);
    free(dir_rl);
    rm_tree(d);
    free(d);
}

/* ---- the meaning of the table ------------------------------------------- */

/* Compile prec's generated table with a driver that prints every cell by
 * name, run it, and compare with the table worked out by hand from the
 * precedence rules: exact > `* E` > `S *` > default, stay = the state's own
 * index, and no wildcard or default in the built-in columns. */
static const char driver[] =
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "#include \"prec_fsm.h\"\n"
    "#include \"protofsm/service.h\"\n"
    "#define H(n) static int n(pf_session *s, const pf_packet *pkt) { (void)s; (void)pkt; return 0; }\n"
    "PREC_HANDLERS(H)\n"
    "static const pf_handler hs[] = PF_HANDLERS(PREC_HANDLERS);\n"
    "int main(void) {\n"
    "    const pf_fsm *m = &prec_fsm;\n"
    "    printf(\"%s %u %u %u %u\\n\", m->state_names[m->start], m->nstates, m->nevents,\n"
    "           m->nhandlers, (unsigned)m->kind);\n"
    "    for (unsigned s = 0; s < m->nstates; s++)\n"
    "        for (unsigned e = 0; e < m->nevents; e++) {\n"
    "            const pf_fsm_cell *c = &m->table[s * m->nevents + e];\n"
    "            printf(\"%s %s -> %s %u%s%s\\n\", m->state_names[s], m->events->names[e],\n"
    "                   c->next == PF_FSM_NOROW ? \"NOROW\" : m->state_names[c->next],\n"
    "                   c->handler,\n"
    "                   c->flags & PF_FSM_CELL_WILD ? \" wild\" : \"\",\n"
    "                   c->flags & PF_FSM_CELL_DEFAULT ? \" default\" : \"\");\n"
    "            if (c->handler && (c->handler >= m->nhandlers || !hs[c->handler])) return 1;\n"
    "        }\n"
    "    /* The list binds each name to its slot: slot 1 is p_exact, 5 p_stay. */\n"
    "    return sizeof hs / sizeof hs[0] != m->nhandlers || m->nhandlers != PREC_NHANDLERS ||\n"
    "           m->events != &prec_events || m->nevents != PREC_NEVENTS ||\n"
    "           hs[0] != NULL || hs[1] != p_exact || hs[5] != p_stay ||\n"
    "           m->handler_names[0] != NULL || strcmp(m->handler_names[1], \"p_exact\") ||\n"
    "           strcmp(m->handler_names[5], \"p_stay\") || !m->final[2] || m->final[0];\n"
    "}\n";

static const char prec_table[] =
    "A 3 7 6 1\n"
    "A OPEN -> NOROW 0\n"
    "A CLOSE -> NOROW 0\n"
    "A TIMEOUT -> NOROW 0\n"
    "A DRAIN -> NOROW 0\n"
    "A E1 -> B 1\n"            /* exact beats * E1, A *, default */
    "A E2 -> A 3 wild\n"       /* A * (stay) beats default */
    "A E3 -> A 5 wild\n"       /* * E3 beats A *; stay resolves to A */
    "B OPEN -> NOROW 0\n"
    "B CLOSE -> NOROW 0\n"
    "B TIMEOUT -> NOROW 0\n"
    "B DRAIN -> NOROW 0\n"
    "B E1 -> Z 2 wild\n"       /* * E1 beats default */
    "B E2 -> Z 0\n"            /* exact, no handler */
    "B E3 -> B 5 wild\n"       /* stay resolves to B */
    "Z OPEN -> NOROW 0\n"
    "Z CLOSE -> NOROW 0\n"
    "Z TIMEOUT -> NOROW 0\n"
    "Z DRAIN -> NOROW 0\n"
    "Z E1 -> Z 2 wild\n"
    "Z E2 -> Z 4 default\n"    /* only the default covers it */
    "Z E3 -> Z 5 wild\n";

/* Generate good case `file`, build `source` against its generated `gen`
 * (the .c to link), run it: exit 0 and `want` on stdout (NULL: any). */
static void run_driver(const char *file, const char *gen_c, const char *source,
                       const char *want)
{
    char *d = make_tmpdir();
    generate(file, d);
    char *drv = xprintf("%s/driver.c", d), *exe = xprintf("%s/driver", d);
    char *inc = xprintf("-I%s", d), *gen = xprintf("%s/%s", d, gen_c);
    FILE *f = fopen(drv, "w");
    assert_non_null(f);
    fputs(source, f);
    assert_int_equal(fclose(f), 0);
    const char *argv[] = { cc(), "-std=c11", "-Werror", "-Wall", "-Wextra",
                           "-Iruntime/include", inc, "-o", exe, drv, gen, NULL };
    result r = run(argv);
    if (r.status != 0)
        fail_msg("driver for %s does not build:\n%s", file, r.err);
    result_free(&r);
    const char *rv[] = { exe, NULL };
    r = run(rv);
    assert_int_equal(r.status, 0);
    if (want)
        assert_string_equal(r.out, want);
    result_free(&r);
    free(drv);
    free(exe);
    free(inc);
    free(gen);
    rm_tree(d);
    free(d);
}

static void test_semantics(void **state)
{
    (void)state;
    run_driver("prec.rl", "prec_fsm.c", driver, prec_table);
}

/* The keyword classifier of good/kw.rl, compiled and asked: each mode
 * matches what it says and nothing else. */
static const char kw_driver[] =
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "#include \"kw_events.h\"\n"
    "static int k(const char *w) { return kw_keyword(w, strlen(w)); }\n"
    "int main(void) {\n"
    "    return !(k(\"hello\") == KW_EV_HELLO && k(\"HeLLo\") == KW_EV_HELLO &&\n"
    "             k(\"QUIT\") == KW_EV_QUIT && k(\"hell\") == -1 && k(\"hello!\") == -1 &&\n"
    "             k(\"flush_all\") == KW_EV_FLUSH_ALL && k(\"FLUSH_ALL\") == -1 &&\n"
    "             k(\"get\") == KW_EV_GET && k(\"GET\") == -1 && k(\"gets\") == -1 &&\n"
    "             k(\"M-SEARCH\") == KW_EV_SEARCH && k(\"m-search\") == -1 &&\n"
    "             k(\"SEARCH\") == -1 && k(\"UNKNOWN\") == -1 && k(\"\") == -1 &&\n"
    "             kw_events.n == KW_NEVENTS);\n"
    "}\n";

static void test_keywords(void **state)
{
    (void)state;
    run_driver("kw.rl", "kw_events.c", kw_driver, NULL);
}

/* ---- main: one test per case file --------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted file names of DIR/NAME.rl and DIR/NAME.fsm. */
static size_t list_cases(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "test_gen: cannot open %s (run from the repo root): %s\n", dir,
                strerror(errno));
        exit(1);
    }
    size_t n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (!(l > 3 && strcmp(e->d_name + l - 3, ".rl") == 0) &&
            !(l > 4 && strcmp(e->d_name + l - 4, ".fsm") == 0))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            v = realloc(v, cap * sizeof *v);
        }
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, n, sizeof *v, by_name);
    *out = v;
    return n;
}

static void add(struct CMUnitTest *t, char **names, size_t *n, char *name,
                CMUnitTestFunction f, void *state)
{
    names[*n] = name;
    t[*n] = (struct CMUnitTest){ name, f, NULL, NULL, state };
    (*n)++;
}

int main(void)
{
    const char *build = getenv("PF_BUILD");
    if (build == NULL || *build == '\0') {
        fprintf(stderr, "test_gen: set PF_BUILD (e.g. build) so that "
                        "$PF_BUILD/bin/pfgen is the generator under test\n");
        return 1;
    }
    snprintf(pfgen, sizeof pfgen, "%s/bin/pfgen", build);
    if (access(pfgen, X_OK) != 0) {
        fprintf(stderr, "test_gen: %s is missing or not executable: %s (run make first)\n",
                pfgen, strerror(errno));
        return 1;
    }
    char **good, **bad;
    size_t ng = list_cases(GOOD_DIR, &good), nb = list_cases(BAD_DIR, &bad);
    good_files = good;
    ngood = ng;
    if (ng < 3 || nb < 20) {
        fprintf(stderr, "test_gen: too few cases under tests/gen (%zu good, %zu bad)\n",
                ng, nb);
        return 1;
    }
    size_t n = 0, max = 3 * ng + nb + 7;
    struct CMUnitTest *t = calloc(max, sizeof *t);
    char **names = calloc(max, sizeof *names);
    for (size_t i = 0; i < ng; i++) {
        add(t, names, &n, xprintf("good %s", good[i]), test_good, good[i]);
        add(t, names, &n, xprintf("compiles %s", good[i]), test_good_compiles, good[i]);
        if (!is_protocol(good[i]))
            add(t, names, &n, xprintf("renders %s", good[i]), test_good_renders, good[i]);
    }
    for (size_t i = 0; i < nb; i++)
        add(t, names, &n, xprintf("bad %s", bad[i]), test_bad, bad[i]);
    t[n++] = (struct CMUnitTest){ "semantics", test_semantics, NULL, NULL, NULL };
    t[n++] = (struct CMUnitTest){ "keywords", test_keywords, NULL, NULL, NULL };
    t[n++] = (struct CMUnitTest){ "usage", test_usage, NULL, NULL, NULL };
    t[n++] = (struct CMUnitTest){ "io_errors", test_io_errors, NULL, NULL, NULL };
    t[n++] = (struct CMUnitTest){ "limits", test_limits, NULL, NULL, NULL };
    t[n++] = (struct CMUnitTest){ "nul_byte", test_nul_byte, NULL, NULL, NULL };
    t[n++] = (struct CMUnitTest){ "header_names", test_header_names, NULL, NULL, NULL };
    int rc = _cmocka_run_group_tests("gen", t, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(t);
    for (size_t i = 0; i < ng; i++)
        free(good[i]);
    for (size_t i = 0; i < nb; i++)
        free(bad[i]);
    free(good);
    free(bad);
    return rc;
}
