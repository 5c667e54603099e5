/* Diagnostics: every check records its problems here instead of stopping,
 * so one run reports all of them; they are printed sorted by line (stable)
 * as `PATH:LINE: message`, the form editors and compilers use. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pfgen.h"

void pfg_error(pfg_machine *m, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        m->oom = 1;
        return;
    }
    char *msg = malloc((size_t)n + 1);
    if (msg == NULL) {
        m->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (m->ndiags == m->capdiags) {
        size_t cap = m->capdiags ? m->capdiags * 2 : 16;
        pfg_diag *d = realloc(m->diags, cap * sizeof *d);
        if (d == NULL) {
            free(msg);
            m->oom = 1;
            return;
        }
        m->diags = d;
        m->capdiags = cap;
    }
    m->diags[m->ndiags].line = line;
    m->diags[m->ndiags].seq = m->ndiags;
    m->diags[m->ndiags].msg = msg;
    m->ndiags++;
}

static int by_line(const void *a, const void *b)
{
    const pfg_diag *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void pfg_print_diags(pfg_machine *m, FILE *f)
{
    if (m->ndiags > 1)
        qsort(m->diags, m->ndiags, sizeof *m->diags, by_line);
    for (size_t i = 0; i < m->ndiags; i++)
        fprintf(f, "%s:%d: %s\n", m->path, m->diags[i].line, m->diags[i].msg);
}

void pfg_machine_free(pfg_machine *m)
{
    free(m->name);
    free(m->over);
    free(m->over_path);
    free(m->extends);
    for (int i = 0; i < PFG_P_N; i++)
        free(m->pdir[i]);
    for (size_t i = 0; i < m->nkw; i++)
        free(m->kw[i].text);
    free(m->kw);
    pfg_names_free(&m->states);
    pfg_names_free(&m->events);
    pfg_names_free(&m->handlers);
    free(m->final);
    free(m->rows);
    free(m->cells);
    for (size_t i = 0; i < m->ndiags; i++)
        free(m->diags[i].msg);
    free(m->diags);
}
