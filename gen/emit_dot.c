/* BASE.dot: a Graphviz picture of the machine, one edge per table row (not
 * per cell), so the drawing stays as short as the table.  Rows for any state
 * start from one box node; stays on it are self-loops marked "(stay)". */
#include "pfgen.h"

#define ANY_NODE "\"*any\""    /* not an identifier: cannot clash with a state */
#define START_NODE "\"*start\""

static void quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_label(FILE *f, const pfg_machine *m, const pfg_row *r, int stay_any)
{
    const char *ev = r->is_default ? "default"
                     : r->event == PFG_ANY ? "any event" : m->events.name[r->event];
    fputs("\"", f);
    fputs(ev, f);  /* identifiers and fixed words: nothing to escape */
    if (r->handler)
        fprintf(f, " / %s", m->handlers.name[r->handler - 1]);
    if (stay_any)
        fputs(" (stay)", f);
    fputs("\"", f);
}

int pfg_emit_dot(const pfg_machine *m, FILE *f)
{
    pfg_put_banner(f, m->path);
    fputs("digraph ", f);
    quote(f, m->name);
    fputs(" {\n    rankdir=LR;\n    node [shape=circle];\n", f);
    if (m->kind == PFG_TRANSITION) {
        fputs("    " START_NODE " [shape=point, style=invis];\n", f);
        fputs("    " START_NODE " -> ", f);
        quote(f, m->states.name[m->start]);
        fputs(";\n", f);
    }
    for (size_t s = 0; s < m->states.n; s++) {
        fputs("    ", f);
        quote(f, m->states.name[s]);
        fputs(m->final[s] ? " [shape=doublecircle];\n" : ";\n", f);
    }
    int any = 0;
    for (size_t i = 0; i < m->nrows && m->kind == PFG_TRANSITION; i++)
        any |= m->rows[i].state == PFG_ANY;
    if (any)
        fputs("    " ANY_NODE " [shape=box, label=\"any state\"];\n", f);
    for (size_t i = 0; i < m->nrows; i++) {
        const pfg_row *r = &m->rows[i];
        int from_any = m->kind == PFG_TRANSITION && r->state == PFG_ANY;
        if (r->conflict) /* a base row the extension replaced */
            continue;
        fputs("    ", f);
        if (from_any)
            fputs(ANY_NODE, f);
        else
            quote(f, m->states.name[r->state]);
        fputs(" -> ", f);
        if (r->next >= 0)
            quote(f, m->states.name[r->next]);
        else if (from_any)
            fputs(ANY_NODE, f);
        else
            quote(f, m->states.name[r->state]);
        fputs(" [label=", f);
        put_label(f, m, r, from_any && r->next == PFG_STAY);
        fputs("];\n", f);
    }
    fputs("}\n", f);
    return pfg_finish(f);
}
