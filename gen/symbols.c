/* Names in the generated C.  Every identifier pfgen writes at file scope (or
 * as a macro) is made from a name in the table: the machine's (NAME_fsm,
 * NAME_fsm_table, ..., and NAME uppercased in NAME_ST_*, NAME_EV_*,
 * NAME_NSTATES, NAME_NEVENTS), each state's and event's (an enumerator), each
 * handler's (a prototype), and the file's (the include guard).  Two of them
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
        return pfg_strdupf("the include guard of %s_fsm.h", m->base);
    case FROM_MACHINE:
        return pfg_strdupf("a symbol pfgen generates for machine '%s' (line %d)", m->name,
                           line);
    case FROM_STATE:
        return pfg_strdupf("the enumerator of state '%s' (line %d)",
                           m->states.name[s->index], line);
    case FROM_EVENT:
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
        pfg_error(m, line, "invalid machine name '%s': it would generate '%s', but %s",
                  m->name, id, why);
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

int pfg_check_symbols(pfg_machine *m)
{
    static const char *const suffix[] = { "_fsm", "_fsm_state_names", "_fsm_event_names",
                                          "_fsm_final", "_fsm_handlers", "_fsm_table" };
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
        pfg_error(m, nl, "invalid machine name '%s': the generated enumerators would "
                  "start with '%s' (%sEV_OPEN, ...), and the PF_ and PROTOFSM_ prefixes "
                  "belong to protofsm", m->name, up, up);
    free(up);
    int check = !mine;
    if (m->base != NULL && add_owned(m, &t, pfg_guard(m->base), FROM_GUARD, 0, 0, 0) != 0)
        goto out;
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++)
        if (add_owned(m, &t, pfg_strdupf("%s%s", m->name, suffix[i]), FROM_MACHINE, 0, nl,
                      check) != 0)
            goto out;
    if (add_owned(m, &t, upper_id(m->name, "_NSTATES", ""), FROM_MACHINE, 0, nl, check) ||
        add_owned(m, &t, upper_id(m->name, "_NEVENTS", ""), FROM_MACHINE, 0, nl, check))
        goto out;
    for (size_t e = 0; e < m->events.n; e++)
        if (add_owned(m, &t, upper_id(m->name, "_EV_", m->events.name[e]), FROM_EVENT, e,
                      e < PFG_NBUILTIN ? nl : m->events.line[e], check) != 0)
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
