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
 * One cmocka test per case, so a failure names the case.  Limits, names,
 * usage and I/O errors are test_gen_cli.c's. */
#include "gen_util.h"

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
    if (find_pfgen("test_gen") < 0)
        return 1;
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
