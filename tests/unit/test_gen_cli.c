/* pfgen from the outside, beyond the cases (test_gen.c): its limits at
 * their edges, a NUL byte, the header names it refuses (checked against the
 * compiler's), usage errors and I/O errors. */
#include "gen_util.h"

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

int main(void)
{
    if (find_pfgen("test_gen_cli") < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_header_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
