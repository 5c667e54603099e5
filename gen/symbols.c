/* Names in the generated C.  Every identifier pfgen writes at file scope (or
 * as a macro) is made from a name in the table: the machine's (NAME_fsm,
 * NAME_fsm_table, ..., and NAME uppercased in NAME_ST_*, NAME_NSTATES,
 * NAME_HANDLERS), the events' owner's (the protocol's, or the machine's
 * own: OWNER_events, OWNER_EV_*, OWNER_NEVENTS), each state's and event's
 * (an enumerator), each handler's (a name the service defines and lists
 * with NAME_HANDLERS), and the file's (the include guard).  Two of them
 * may come out the same, or name something the included headers declare;
 * either way the output would not compile, so it is reported here, at the
 * line that chose the name (the handler's, when a handler is involved). */
#include <stdlib.h>
#include <string.h>

#include "pfgen.h"

/* What <stddef.h> and <stdint.h> (included by protofsm/fsm.h) declare or
 * define without a reserved spelling: `cc -E -dM` plus the typedefs.  Sorted
 * with strcmp, for bsearch.  test_gen checks the list against the compiler. */
static const char *const header_names[] = {
    "INT16_C", "INT16_MAX", "INT16_MIN", "INT16_WIDTH", "INT32_C", "INT32_MAX",
    "INT32_MIN", "INT32_WIDTH", "INT64_C", "INT64_MAX", "INT64_MIN", "INT64_WIDTH",
    "INT8_C", "INT8_MAX", "INT8_MIN", "INT8_WIDTH", "INTMAX_C", "INTMAX_MAX",
    "INTMAX_MIN", "INTMAX_WIDTH", "INTPTR_MAX", "INTPTR_MIN", "INTPTR_WIDTH",
    "INT_FAST16_MAX", "INT_FAST16_MIN", "INT_FAST16_WIDTH", "INT_FAST32_MAX",
    "INT_FAST32_MIN", "INT_FAST32_WIDTH", "INT_FAST64_MAX", "INT_FAST64_MIN",
    "INT_FAST64_WIDTH", "INT_FAST8_MAX", "INT_FAST8_MIN", "INT_FAST8_WIDTH",
    "INT_LEAST16_MAX", "INT_LEAST16_MIN", "INT_LEAST16_WIDTH", "INT_LEAST32_MAX",
    "INT_LEAST32_MIN", "INT_LEAST32_WIDTH", "INT_LEAST64_MAX", "INT_LEAST64_MIN",
    "INT_LEAST64_WIDTH", "INT_LEAST8_MAX", "INT_LEAST8_MIN", "INT_LEAST8_WIDTH",
    "NULL", "PTRDIFF_MAX", "PTRDIFF_MIN", "PTRDIFF_WIDTH", "SIG_ATOMIC_MAX",
    "SIG_ATOMIC_MIN", "SIG_ATOMIC_WIDTH", "SIZE_MAX", "SIZE_WIDTH", "UINT16_C",
    "UINT16_MAX", "UINT16_WIDTH", "UINT32_C", "UINT32_MAX", "UINT32_WIDTH", "UINT64_C",
    "UINT64_MAX", "UINT64_WIDTH", "UINT8_C", "UINT8_MAX", "UINT8_WIDTH", "UINTMAX_C",
    "UINTMAX_MAX", "UINTMAX_WIDTH", "UINTPTR_MAX", "UINTPTR_WIDTH", "UINT_FAST16_MAX",
    "UINT_FAST16_WIDTH", "UINT_FAST32_MAX", "UINT_FAST32_WIDTH", "UINT_FAST64_MAX",
    "UINT_FAST64_WIDTH", "UINT_FAST8_MAX", "UINT_FAST8_WIDTH", "UINT_LEAST16_MAX",
    "UINT_LEAST16_WIDTH", "UINT_LEAST32_MAX", "UINT_LEAST32_WIDTH", "UINT_LEAST64_MAX",
    "UINT_LEAST64_WIDTH", "UINT_LEAST8_MAX", "UINT_LEAST8_WIDTH", "WCHAR_MAX",
    "WCHAR_MIN", "WCHAR_WIDTH", "WINT_MAX", "WINT_MIN", "WINT_WIDTH", "int16_t",
    "int32_t", "int64_t", "int8_t", "int_fast16_t", "int_fast32_t", "int_fast64_t",
    "int_fast8_t", "int_least16_t", "int_least32_t", "int_least64_t", "int_least8_t",
    "intmax_t", "intptr_t", "max_align_t", "offsetof", "ptrdiff_t", "size_t",
    "uint16_t", "uint32_t", "uint64_t", "uint8_t", "uint_fast16_t", "uint_fast32_t",
    "uint_fast64_t", "uint_fast8_t", "uint_least16_t", "uint_least32_t",
    "uint_least64_t", "uint_least8_t", "uintmax_t", "uintptr_t", "wchar_t",
};

/* The C11 library's functions (glibc's headers in -std=c11 mode, through
 * gcc -aux-info).  Handlers have external linkage, where these names are
 * reserved (C11 7.1.3), and compilers warn about a prototype that does not
 * match a library function they know (`int log(pf_session *, ...)`).
 * Sorted with strcmp. */
static const char *const libc_functions[] = {
    "abort", "abs", "acos", "acosf", "acosh", "acoshf", "acoshl", "acosl", "aligned_alloc",
    "asctime", "asin", "asinf", "asinh", "asinhf", "asinhl", "asinl", "at_quick_exit",
    "atan", "atan2", "atan2f", "atan2l", "atanf", "atanh", "atanhf", "atanhl", "atanl",
    "atexit", "atof", "atoi", "atol", "atoll", "atomic_flag_clear",
    "atomic_flag_clear_explicit", "atomic_flag_test_and_set",
    "atomic_flag_test_and_set_explicit", "atomic_signal_fence", "atomic_thread_fence",
    "bsearch", "btowc", "c16rtomb", "c32rtomb", "cabs", "cabsf", "cabsl", "cacos", "cacosf",
    "cacosh", "cacoshf", "cacoshl", "cacosl", "call_once", "calloc", "carg", "cargf",
    "cargl", "casin", "casinf", "casinh", "casinhf", "casinhl", "casinl", "catan", "catanf",
    "catanh", "catanhf", "catanhl", "catanl", "cbrt", "cbrtf", "cbrtl", "ccos", "ccosf",
    "ccosh", "ccoshf", "ccoshl", "ccosl", "ceil", "ceilf", "ceill", "cexp", "cexpf",
    "cexpl", "cimag", "cimagf", "cimagl", "clearerr", "clock", "clog", "clogf", "clogl",
    "cnd_broadcast", "cnd_destroy", "cnd_init", "cnd_signal", "cnd_timedwait", "cnd_wait",
    "conj", "conjf", "conjl", "copysign", "copysignf", "copysignl", "cos", "cosf", "cosh",
    "coshf", "coshl", "cosl", "cpow", "cpowf", "cpowl", "cproj", "cprojf", "cprojl",
    "creal", "crealf", "creall", "csin", "csinf", "csinh", "csinhf", "csinhl", "csinl",
    "csqrt", "csqrtf", "csqrtl", "ctan", "ctanf", "ctanh", "ctanhf", "ctanhl", "ctanl",
    "ctime", "difftime", "div", "erf", "erfc", "erfcf", "erfcl", "erff", "erfl", "exit",
    "exp", "exp2", "exp2f", "exp2l", "expf", "expl", "expm1", "expm1f", "expm1l", "fabs",
    "fabsf", "fabsl", "fclose", "fdim", "fdimf", "fdiml", "feclearexcept", "fegetenv",
    "fegetexceptflag", "fegetround", "feholdexcept", "feof", "feraiseexcept", "ferror",
    "fesetenv", "fesetexceptflag", "fesetround", "fetestexcept", "feupdateenv", "fflush",
    "fgetc", "fgetpos", "fgets", "fgetwc", "fgetws", "floor", "floorf", "floorl", "fma",
    "fmaf", "fmal", "fmax", "fmaxf", "fmaxl", "fmin", "fminf", "fminl", "fmod", "fmodf",
    "fmodl", "fopen", "fprintf", "fputc", "fputs", "fputwc", "fputws", "fread", "free",
    "freopen", "frexp", "frexpf", "frexpl", "fscanf", "fseek", "fsetpos", "ftell", "fwide",
    "fwprintf", "fwrite", "fwscanf", "getc", "getchar", "getenv", "getwc", "getwchar",
    "gmtime", "hypot", "hypotf", "hypotl", "ilogb", "ilogbf", "ilogbl", "imaxabs",
    "imaxdiv", "isalnum", "isalpha", "isblank", "iscntrl", "isdigit", "isgraph", "islower",
    "isprint", "ispunct", "isspace", "isupper", "iswalnum", "iswalpha", "iswblank",
    "iswcntrl", "iswctype", "iswdigit", "iswgraph", "iswlower", "iswprint", "iswpunct",
    "iswspace", "iswupper", "iswxdigit", "isxdigit", "labs", "ldexp", "ldexpf", "ldexpl",
    "ldiv", "lgamma", "lgammaf", "lgammal", "llabs", "lldiv", "llrint", "llrintf",
    "llrintl", "llround", "llroundf", "llroundl", "localeconv", "localtime", "log", "log10",
    "log10f", "log10l", "log1p", "log1pf", "log1pl", "log2", "log2f", "log2l", "logb",
    "logbf", "logbl", "logf", "logl", "longjmp", "lrint", "lrintf", "lrintl", "lround",
    "lroundf", "lroundl", "malloc", "mblen", "mbrlen", "mbrtoc16", "mbrtoc32", "mbrtowc",
    "mbsinit", "mbsrtowcs", "mbstowcs", "mbtowc", "memchr", "memcmp", "memcpy", "memmove",
    "memset", "mktime", "modf", "modff", "modfl", "mtx_destroy", "mtx_init", "mtx_lock",
    "mtx_timedlock", "mtx_trylock", "mtx_unlock", "nan", "nanf", "nanl", "nearbyint",
    "nearbyintf", "nearbyintl", "nextafter", "nextafterf", "nextafterl", "nexttoward",
    "nexttowardf", "nexttowardl", "perror", "pow", "powf", "powl", "printf", "putc",
    "putchar", "puts", "putwc", "putwchar", "qsort", "quick_exit", "raise", "rand",
    "realloc", "remainder", "remainderf", "remainderl", "remove", "remquo", "remquof",
    "remquol", "rename", "rewind", "rint", "rintf", "rintl", "round", "roundf", "roundl",
    "scalbln", "scalblnf", "scalblnl", "scalbn", "scalbnf", "scalbnl", "scanf", "setbuf",
    "setjmp", "setlocale", "setvbuf", "signal", "sin", "sinf", "sinh", "sinhf", "sinhl",
    "sinl", "snprintf", "sprintf", "sqrt", "sqrtf", "sqrtl", "srand", "sscanf", "strcat",
    "strchr", "strcmp", "strcoll", "strcpy", "strcspn", "strerror", "strftime", "strlen",
    "strncat", "strncmp", "strncpy", "strpbrk", "strrchr", "strspn", "strstr", "strtod",
    "strtof", "strtoimax", "strtok", "strtol", "strtold", "strtoll", "strtoul", "strtoull",
    "strtoumax", "strxfrm", "swprintf", "swscanf", "system", "tan", "tanf", "tanh", "tanhf",
    "tanhl", "tanl", "tgamma", "tgammaf", "tgammal", "thrd_create", "thrd_current",
    "thrd_detach", "thrd_equal", "thrd_exit", "thrd_join", "thrd_sleep", "thrd_yield",
    "time", "timespec_get", "tmpfile", "tmpnam", "tolower", "toupper", "towctrans",
    "towlower", "towupper", "trunc", "truncf", "truncl", "tss_create", "tss_delete",
    "tss_get", "tss_set", "ungetc", "ungetwc", "vfprintf", "vfscanf", "vfwprintf",
    "vfwscanf", "vprintf", "vscanf", "vsnprintf", "vsprintf", "vsscanf", "vswprintf",
    "vswscanf", "vwprintf", "vwscanf", "wcrtomb", "wcscat", "wcschr", "wcscmp", "wcscoll",
    "wcscpy", "wcscspn", "wcsftime", "wcslen", "wcsncat", "wcsncmp", "wcsncpy", "wcspbrk",
    "wcsrchr", "wcsrtombs", "wcsspn", "wcsstr", "wcstod", "wcstof", "wcstoimax", "wcstok",
    "wcstol", "wcstold", "wcstoll", "wcstombs", "wcstoul", "wcstoull", "wcstoumax",
    "wcsxfrm", "wctob", "wctomb", "wctrans", "wctype", "wmemchr", "wmemcmp", "wmemcpy",
    "wmemmove", "wmemset", "wprintf", "wscanf",
};

static int by_str(const void *key, const void *elt)
{
    return strcmp(key, *(const char *const *)elt);
}

/* Why `id` cannot be a file-scope name in the generated C ("" if it can). */
static const char *taken_name(const char *id)
{
    if (strncmp(id, "pf_", 3) == 0 || strncmp(id, "PF_", 3) == 0)
        return "the pf_ and PF_ prefixes belong to protofsm";
    if (strncmp(id, "PROTOFSM_", 9) == 0)
        return "the PROTOFSM_ prefix belongs to protofsm's header guards";
    if (strcmp(id, "main") == 0)
        return "it is the program's entry point";
    if (bsearch(id, header_names, sizeof header_names / sizeof header_names[0],
                sizeof header_names[0], by_str) != NULL)
        return "<stddef.h> or <stdint.h> defines it, and the generated code includes "
               "both";
    if (bsearch(id, libc_functions, sizeof libc_functions / sizeof libc_functions[0],
                sizeof libc_functions[0], by_str) != NULL)
        return "a C standard library function has that name";
    return "";
}

/* Where a generated identifier came from. */
enum origin { FROM_GUARD, FROM_MACHINE, FROM_STATE, FROM_EVENT, FROM_HANDLER };

typedef struct sym {
    enum origin from;
    size_t index;   /* state, event or handler index */
} sym;

typedef struct symtab {
    pfg_names ids;  /* the identifiers, with the line that chose each */
    sym *sym;       /* [ids.n] */
    size_t cap;
} symtab;

/* "the enumerator of state 'A' (line 4)" and the like, into a new string. */
static char *describe(const pfg_machine *m, const sym *s, int line)
{
    switch (s->from) {
    case FROM_GUARD:
        return s->index ? pfg_strdupf("the include guard of %s_events.h", m->over)
               : pfg_strdupf("the include guard of %s_%s.h", m->base,
                             m->is_protocol ? "events" : "fsm");
    case FROM_MACHINE:
        return pfg_strdupf("a symbol pfgen generates for %s '%s' (line %d)",
                           m->is_protocol ? "protocol" : "machine", m->name, line);
    case FROM_STATE:
        return pfg_strdupf("the enumerator of state '%s' (line %d)",
                           m->states.name[s->index], line);
    case FROM_EVENT:
        if (m->over && s->index >= PFG_NBUILTIN)
            return pfg_strdupf("the enumerator of event '%s' of protocol '%s'",
                               m->events.name[s->index], m->over);
        if (s->index < PFG_NBUILTIN)
            return pfg_strdupf("the enumerator of built-in event '%s'",
                               m->events.name[s->index]);
        return pfg_strdupf("the enumerator of event '%s' (line %d)",
                           m->events.name[s->index], line);
    default:
        return pfg_strdupf("handler '%s' (line %d)", m->handlers.name[s->index], line);
    }
}

/* Report `id` (made for `s` at `line`) as taken: `why` is the reason. */
static void report(pfg_machine *m, const sym *s, int line, const char *id, const char *why)
{
    switch (s->from) {
    case FROM_HANDLER:
        pfg_error(m, line, "invalid handler name '%s': %s", id, why);
        break;
    case FROM_STATE:
        pfg_error(m, line, "state '%s' would be the enumerator '%s', but %s",
                  m->states.name[s->index], id, why);
        break;
    case FROM_EVENT:
        pfg_error(m, line, "event '%s' would be the enumerator '%s', but %s",
                  m->events.name[s->index], id, why);
        break;
    default:
        pfg_error(m, line, "invalid %s name '%s': it would generate '%s', but %s",
                  m->is_protocol ? "protocol" : "machine", m->name, id, why);
        break;
    }
}

/* Add one generated identifier (owned by the caller), reporting a clash
 * with the headers or with an identifier added before. */
static int add(pfg_machine *m, symtab *t, const char *id, enum origin from, size_t index,
               int line, int check_taken)
{
    if (id == NULL)
        return -1;
    sym s = { from, index };
    const char *why = check_taken ? taken_name(id) : "";
    if (*why) {
        report(m, &s, line, id, why);
        return 0;
    }
    long old = pfg_names_find(&t->ids, id, strlen(id));
    if (old >= 0) {
        char *d = describe(m, &t->sym[old], t->ids.line[old]);
        if (d == NULL)
            return -1;
        char *why2 = pfg_strdupf("it is also %s", d);
        free(d);
        if (why2 == NULL)
            return -1;
        report(m, &s, line, id, why2);
        free(why2);
        return 0;
    }
    if (t->ids.n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        sym *ns = realloc(t->sym, cap * sizeof *ns);
        if (ns == NULL)
            return -1;
        t->sym = ns;
        t->cap = cap;
    }
    if (pfg_names_add(&t->ids, id, strlen(id), line) < 0)
        return -1;
    t->sym[t->ids.n - 1] = s;
    return 0;
}

/* NAME uppercased, then `mid`, then `tail`: NAME_ST_A and the like. */
static char *upper_id(const char *name, const char *mid, const char *tail)
{
    char *id = pfg_strdupf("%s%s%s", name, mid, tail);
    if (id != NULL)
        for (size_t i = 0; name[i]; i++)
            id[i] = (char)(id[i] >= 'a' && id[i] <= 'z' ? id[i] - 'a' + 'A' : id[i]);
    return id;
}

static int add_owned(pfg_machine *m, symtab *t, char *id, enum origin from, size_t index,
                     int line, int check_taken)
{
    int rc = add(m, t, id, from, index, line, check_taken);
    free(id);
    return rc;
}

/* The event enumerators and the pf_events of `owner` (a protocol, or a
 * machine over none). */
static int add_events(pfg_machine *m, symtab *t, const char *owner, int nl, int check)
{
    if (add_owned(m, t, pfg_strdupf("%s_events", owner), FROM_MACHINE, 0, nl, check) ||
        add_owned(m, t, upper_id(owner, "_NEVENTS", ""), FROM_MACHINE, 0, nl, check))
        return -1;
    if (!m->over &&
        add_owned(m, t, pfg_strdupf("%s_event_names", owner), FROM_MACHINE, 0, nl, check))
        return -1;
    if (m->is_protocol &&
        (add_owned(m, t, pfg_strdupf("%s_keyword", owner), FROM_MACHINE, 0, nl, check) ||
         add_owned(m, t, pfg_strdupf("%s_same", owner), FROM_MACHINE, 0, nl, check) ||
         add_owned(m, t, upper_id(owner, "_FIELDS", ""), FROM_MACHINE, 0, nl, check) ||
         add_owned(m, t, upper_id(owner, "_PROTOCOL", ""), FROM_MACHINE, 0, nl, check)))
        return -1;
    for (size_t e = 0; e < m->events.n; e++) {
        int line = e < PFG_NBUILTIN || m->over ? nl : m->events.line[e];
        if (add_owned(m, t, upper_id(owner, "_EV_", m->events.name[e]), FROM_EVENT, e, line,
                      check) != 0)
            return -1;
    }
    return 0;
}

int pfg_check_symbols(pfg_machine *m)
{
    static const char *const suffix[] = { "_fsm", "_fsm_state_names", "_fsm_final",
                                          "_fsm_handler_names", "_fsm_table" };
    static const char *const upper[] = { "_NSTATES", "_HANDLERS", "_NHANDLERS" };
    if (m->name == NULL)
        return 0;  /* no machine name: nothing is generated */
    symtab t = { 0 };
    int rc = -1, nl = m->name_line;
    /* A machine called pf (or PF_x) would redefine PF_EV_OPEN, pf_fsm...:
     * one report for the machine instead of one per generated name. */
    char *up = upper_id(m->name, "_", "");
    if (up == NULL)
        goto out;
    int mine = strncmp(up, "PF_", 3) == 0 || strncmp(up, "PROTOFSM_", 9) == 0;
    if (mine)
        pfg_error(m, nl, "invalid %s name '%s': the generated enumerators would "
                  "start with '%s' (%sEV_OPEN, ...), and the PF_ and PROTOFSM_ prefixes "
                  "belong to protofsm", m->is_protocol ? "protocol" : "machine", m->name, up,
                  up);
    free(up);
    int check = !mine;
    if (m->base != NULL &&
        add_owned(m, &t, pfg_guard(m->base, m->is_protocol ? "_EVENTS_H" : "_FSM_H"),
                  FROM_GUARD, 0, 0, 0) != 0)
        goto out;
    if (m->is_protocol) {
        rc = add_events(m, &t, m->name, nl, check);
        goto out;
    }
    if (m->over != NULL &&
        add_owned(m, &t, pfg_guard(m->over, "_EVENTS_H"), FROM_GUARD, 1, 0, 0) != 0)
        goto out;
    if (add_events(m, &t, pfg_events_owner(m), m->over ? m->over_line : nl, check) != 0)
        goto out;
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++)
        if (add_owned(m, &t, pfg_strdupf("%s%s", m->name, suffix[i]), FROM_MACHINE, 0, nl,
                      check) != 0)
            goto out;
    for (size_t i = 0; i < sizeof upper / sizeof upper[0]; i++)
        if (add_owned(m, &t, upper_id(m->name, upper[i], ""), FROM_MACHINE, 0, nl, check))
            goto out;
    for (size_t s = 0; s < m->states.n; s++)
        if (add_owned(m, &t, upper_id(m->name, "_ST_", m->states.name[s]), FROM_STATE, s,
                      m->states.line[s], check) != 0)
            goto out;
    for (size_t h = 0; h < m->handlers.n; h++)
        if (add(m, &t, m->handlers.name[h], FROM_HANDLER, h, m->handlers.line[h], 1) != 0)
            goto out;
    rc = 0;
out:
    pfg_names_free(&t.ids);
    free(t.sym);
    return rc;
}
