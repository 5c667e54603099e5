/* The dense cell table of a parsed machine, and the semantic checks.
 *
 * The checks are the ones a reviewer would otherwise do by eye: conflicting
 * rows, states nobody can enter, states nobody can leave for a final state,
 * declared events nothing handles, rows that fill no cell (symbols.c checks
 * the names).  All of them run, so one pfgen run lists every problem.  The
 * cell table is filled first, from the rows that resolved, and the checks
 * after it read the cells: what they judge is the table the runtime gets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pfgen.h"

static int row_key_cmp(const pfg_row *a, const pfg_row *b)
{
    if (a->state != b->state)
        return a->state < b->state ? -1 : 1;
    if (a->event != b->event)
        return a->event < b->event ? -1 : 1;
    return (a->line > b->line) - (a->line < b->line);
}

static const pfg_row *sort_rows;
static int by_key(const void *x, const void *y)
{
    return row_key_cmp(&sort_rows[*(const size_t *)x], &sort_rows[*(const size_t *)y]);
}

static const char *state_tok(const pfg_machine *m, long s)
{
    return s == PFG_ANY ? "*" : m->states.name[s];
}

static const char *event_tok(const pfg_machine *m, long e)
{
    return e == PFG_ANY ? "*" : m->events.name[e];
}

/* Two rows with the same (STATE, EVENT) pattern: each later one is reported
 * against the first, and marked so that it fills nothing. */
static int check_conflicts(pfg_machine *m)
{
    size_t n = 0, *ix = malloc((m->nrows ? m->nrows : 1) * sizeof *ix);
    if (ix == NULL)
        return -1;
    for (size_t i = 0; i < m->nrows; i++)
        if (m->rows[i].state != PFG_UNKNOWN && m->rows[i].event != PFG_UNKNOWN)
            ix[n++] = i;
    sort_rows = m->rows;
    qsort(ix, n, sizeof *ix, by_key);
    for (size_t i = 0, first = 0; i < n; i++) {
        const pfg_row *r = &m->rows[ix[i]], *f = &m->rows[ix[first]];
        if (i == 0 || r->state != f->state || r->event != f->event) {
            first = i;
            continue;
        }
        if (f->from_base && !r->from_base) {
            /* The extension's row replaces the base's. */
            m->rows[ix[first]].conflict = 1;
            first = i;
            continue;
        }
        m->rows[ix[i]].conflict = 1;
        if (r->is_default)
            pfg_error(m, r->line, "row conflicts with line %d for (default)", f->line);
        else if (m->kind == PFG_DISPATCH)
            pfg_error(m, r->line, "row conflicts with line %d for (%s)", f->line,
                      event_tok(m, r->event));
        else
            pfg_error(m, r->line, "row conflicts with line %d for (%s, %s)", f->line,
                      state_tok(m, r->state), event_tok(m, r->event));
    }
    free(ix);
    return 0;
}

/* The cells row r covers: states [sp[0], sp[1]) x events [sp[2], sp[3]).
 * Wildcards and the default cover the packet events only. */
static void row_span(const pfg_machine *m, const pfg_row *r, size_t sp[4])
{
    sp[0] = r->state >= 0 ? (size_t)r->state : 0;
    sp[1] = r->state >= 0 ? (size_t)r->state + 1 : m->states.n;
    sp[2] = r->event >= 0 ? (size_t)r->event : PFG_NBUILTIN;
    sp[3] = r->event >= 0 ? (size_t)r->event + 1 : m->events.n;
}

/* Rows that take part in the table: fully resolved and not a conflicting
 * repeat (those are reported already). */
static int usable(const pfg_row *r)
{
    return !r->conflict && r->state != PFG_UNKNOWN && r->event != PFG_UNKNOWN &&
           r->next != PFG_UNKNOWN;
}

/* Precedence: 3 `S E` > 2 `* E` > 1 `S *` > 0 default. */
static int level(const pfg_row *r)
{
    return r->is_default ? 0 : r->event == PFG_ANY ? 1 : r->state == PFG_ANY ? 2 : 3;
}

/* Fill the dense table from the strongest rows to the weakest, each cell by
 * the first row that reaches it; winner[cell] is that row's index + 1.  Rows
 * of one level never overlap (that would be a conflict). */
static void fill_cells(pfg_machine *m, uint32_t *winner)
{
    size_t ne = m->events.n, sp[4];
    for (size_t i = 0; i < m->states.n * ne; i++)
        m->cells[i] = (pfg_cell){ PFG_NOROW, 0, 0 };
    for (int lv = 3; lv >= 0; lv--) {
        for (size_t i = 0; i < m->nrows; i++) {
            const pfg_row *r = &m->rows[i];
            if (!usable(r) || level(r) != lv)
                continue;
            uint16_t flags = lv == 0 ? PFG_CELL_DEFAULT : lv == 3 ? 0 : PFG_CELL_WILD;
            row_span(m, r, sp);
            for (size_t s = sp[0]; s < sp[1]; s++)
                for (size_t e = sp[2]; e < sp[3]; e++) {
                    size_t c = s * ne + e;
                    if (winner[c] != 0)
                        continue;
                    winner[c] = (uint32_t)i + 1;
                    m->cells[c].next = (uint16_t)(r->next == PFG_STAY ? (long)s : r->next);
                    m->cells[c].handler = (uint16_t)r->handler;
                    m->cells[c].flags = flags;
                }
        }
    }
}

/* A row that fills no cell is a mistake: it covers none (a wildcard or the
 * default with no packet event declared), or rows that take precedence fill
 * every cell it covers.  The latter names them (the first three). */
static void check_rows(pfg_machine *m, const uint32_t *winner)
{
    size_t ne = m->events.n, sp[4];
    for (size_t i = 0; i < m->nrows; i++) {
        const pfg_row *r = &m->rows[i];
        /* A base row the extension covers is its choice, not a mistake. */
        if (!usable(r) || r->from_base)
            continue;
        int by[3], nby = 0, more = 0, covered = 0, won = 0;
        row_span(m, r, sp);
        for (size_t s = sp[0]; s < sp[1] && !won; s++)
            for (size_t e = sp[2]; e < sp[3] && !won; e++) {
                uint32_t w = winner[s * ne + e];
                covered = 1;
                if (w == i + 1) {
                    won = 1;
                    break;
                }
                int line = m->rows[w - 1].line, seen = 0;
                for (int k = 0; k < nby; k++)
                    seen |= by[k] == line;
                if (!seen && nby < 3)
                    by[nby++] = line;
                else if (!seen)
                    more = 1;
            }
        if (!covered) {
            pfg_error(m, r->line, "row has no effect: it covers no cell (no packet event "
                                  "is declared, and wildcards and the default never cover "
                                  "OPEN CLOSE TIMEOUT DRAIN)");
        } else if (!won && nby == 1 && by[0] == 0) {
            pfg_error(m, r->line, "row is shadowed by a row of table '%s': that row fills "
                                  "every cell this one covers", m->extends);
        } else if (!won && nby == 1) {
            pfg_error(m, r->line, "row is shadowed by line %d: that row fills every cell "
                                  "this one covers", by[0]);
        } else if (!won) {
            char list[80];  /* at most three ints and a few words */
            if (nby == 2)
                snprintf(list, sizeof list, "%d and %d", by[0], by[1]);
            else if (!more)
                snprintf(list, sizeof list, "%d, %d and %d", by[0], by[1], by[2]);
            else
                snprintf(list, sizeof list, "%d, %d, %d and others", by[0], by[1], by[2]);
            /* Line 0 is the base table's: its rows come first, so it leads. */
            pfg_error(m, r->line, "row is shadowed by lines %s%s: they fill every cell this "
                                  "one covers", list, by[0] == 0 ? " (0: table's base)" : "");
        }
    }
}

/* A declared packet event nothing accepts: no filled cell in its column.
 * In a transition machine a cell from the default row does not count (the
 * default answers what a state does not accept); in a dispatch machine it
 * does: the default is then the row of every event that has none. */
static void check_unused_events(pfg_machine *m)
{
    size_t ne = m->events.n;
    for (size_t e = PFG_NBUILTIN; e < ne; e++) {
        int used = 0;
        for (size_t s = 0; s < m->states.n && !used; s++) {
            const pfg_cell *c = &m->cells[s * ne + e];
            used = c->next != PFG_NOROW &&
                   (m->kind == PFG_DISPATCH || !(c->flags & PFG_CELL_DEFAULT));
        }
        const char *why = m->kind == PFG_DISPATCH ? " (no row names it, no default row)"
                                                  : " (no row names it, no 'STATE *' row)";
        if (used)
            continue;
        if (m->over)
            pfg_error(m, m->over_line, "event '%s' of protocol '%s' is handled by no row%s",
                      m->events.name[e], m->over, why);
        else
            pfg_error(m, m->events.line[e], "event '%s' is declared but no row handles it%s",
                      m->events.name[e], why);
    }
}

/* Where to report a declaration: a base table's have line 0 and are
 * reported at `extends`. */
static int decl_line(const pfg_machine *m, int line)
{
    return line ? line : m->extends_line;
}

/* Reachability and "no way out", over the filled cells: an edge s -> t for
 * every cell of state s that leads to t.  A row that fills no cell adds no
 * edge. */
static int check_graph(pfg_machine *m)
{
    size_t ns = m->states.n, ne = m->events.n, n1 = ns ? ns : 1;
    uint8_t *reach = calloc(n1, 1), *out = calloc(n1, 1);
    size_t *q = malloc(n1 * sizeof *q), *off = calloc(ns + 1, sizeof *off), qh = 0, qt = 0;
    uint16_t *from = NULL;
    int rc = -1;
    if (reach == NULL || out == NULL || q == NULL || off == NULL)
        goto done;
    if (m->start >= 0) {
        reach[m->start] = 1;
        q[qt++] = (size_t)m->start;
        while (qh < qt) {
            size_t s = q[qh++];
            for (size_t e = 0; e < ne; e++) {
                uint16_t t = m->cells[s * ne + e].next;
                if (t != PFG_NOROW && !reach[t]) {
                    reach[t] = 1;
                    q[qt++] = t;
                }
            }
        }
        for (size_t s = 0; s < ns; s++)
            if (!reach[s])
                pfg_error(m, decl_line(m, m->states.line[s]), "state '%s' is unreachable from the start "
                          "state '%s'", m->states.name[s], m->states.name[m->start]);
    }
    if (m->nfinal > 0) {
        /* Reverse edges t <- s as CSR: from[off[t] .. off[t+1]). */
        size_t nedge = 0;
        for (size_t c = 0; c < ns * ne; c++)
            if (m->cells[c].next != PFG_NOROW && m->cells[c].next != c / ne) {
                off[m->cells[c].next + 1]++;
                nedge++;
            }
        for (size_t t = 0; t < ns; t++)
            off[t + 1] += off[t];
        from = malloc((nedge ? nedge : 1) * sizeof *from);
        if (from == NULL)
            goto done;
        for (size_t c = 0; c < ns * ne; c++)
            if (m->cells[c].next != PFG_NOROW && m->cells[c].next != c / ne)
                from[off[m->cells[c].next]++] = (uint16_t)(c / ne);
        for (size_t t = ns; t > 0; t--)
            off[t] = off[t - 1];
        off[0] = 0;
        qh = qt = 0;
        for (size_t s = 0; s < ns; s++)
            if (m->final[s]) {
                out[s] = 1;
                q[qt++] = s;
            }
        while (qh < qt) {
            size_t t = q[qh++];
            for (size_t i = off[t]; i < off[t + 1]; i++)
                if (!out[from[i]]) {
                    out[from[i]] = 1;
                    q[qt++] = from[i];
                }
        }
        for (size_t s = 0; s < ns; s++)
            if (!out[s] && (m->start < 0 || reach[s]))
                pfg_error(m, decl_line(m, m->states.line[s]), "state '%s' has no way out: no final "
                          "state can be reached from it", m->states.name[s]);
    }
    rc = 0;
done:
    free(reach);
    free(out);
    free(q);
    free(off);
    free(from);
    return rc;
}

/* An extension may replace every row that named one of the base's
 * handlers: that slot would ask the service to bind a function no cell
 * calls, so it goes and the later slots move down. */
static int compact_handlers(pfg_machine *m)
{
    size_t nh = m->handlers.n, *to = calloc(nh + 1, sizeof *to), kept = 0;
    pfg_names names = { 0 };
    if (to == NULL)
        return -1;
    for (size_t i = 0; i < m->nrows; i++)
        if (!m->rows[i].conflict && m->rows[i].handler)
            to[m->rows[i].handler] = 1;
    for (size_t h = 1; h <= nh; h++) {
        if (!to[h])
            continue;
        to[h] = ++kept;
        const char *n = m->handlers.name[h - 1];
        if (pfg_names_add(&names, n, strlen(n), m->handlers.line[h - 1]) < 0) {
            pfg_names_free(&names);
            free(to);
            return -1;
        }
    }
    for (size_t i = 0; i < m->nrows; i++)
        m->rows[i].handler = m->rows[i].conflict ? 0 : to[m->rows[i].handler];
    for (size_t c = 0; c < m->states.n * m->events.n; c++)
        m->cells[c].handler = (uint16_t)to[m->cells[c].handler];
    pfg_names_free(&m->handlers);
    m->handlers = names;
    free(to);
    return 0;
}

int pfg_check(pfg_machine *m)
{
    if (m->oom)
        return -1;
    if (m->is_protocol)
        return pfg_check_symbols(m) != 0 || m->oom ? -1 : (int)m->ndiags;
    if (m->block_line == 0 || m->kind == PFG_KIND_UNSET || (m->over && !m->over_path) ||
        (m->extends && !m->extended))
        return (int)m->ndiags;  /* nothing sensible to check further */
    if (m->kind == PFG_TRANSITION && m->final_line == 0)
        pfg_error(m, m->block_line, "transition machine has no final state "
                                    "(declare one with 'final')");
    size_t ncells = m->states.n * m->events.n;
    int too_big = (uint64_t)m->states.n * m->events.n > PFG_MAX_CELLS;
    if (too_big)
        pfg_error(m, m->block_line, "table too large: %zu states x %zu events is more "
                  "than %u cells", m->states.n, m->events.n, PFG_MAX_CELLS);
    if (check_conflicts(m) != 0 || pfg_check_symbols(m) != 0)
        return -1;
    if (!too_big) {
        /* Fill first: every later check is about the table as resolved. */
        uint32_t *winner = calloc(ncells ? ncells : 1, sizeof *winner);
        m->cells = malloc((ncells ? ncells : 1) * sizeof *m->cells);
        if (winner == NULL || m->cells == NULL) {
            free(winner);
            return -1;
        }
        fill_cells(m, winner);
        check_rows(m, winner);
        free(winner);
        if (m->extends != NULL && compact_handlers(m) != 0)
            return -1;
        check_unused_events(m);
        if (m->kind == PFG_TRANSITION && check_graph(m) != 0)
            return -1;
    }
    return m->oom ? -1 : (int)m->ndiags;
}
