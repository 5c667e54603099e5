/* Semantic checks over a parsed machine, then the dense cell table.
 *
 * The checks are the ones a reviewer would otherwise do by eye: conflicting
 * rows, states nobody can enter, states nobody can leave for a final state,
 * declared events nothing handles, names that would clash in the generated C.
 * All of them run, so one pfgen run lists every problem.  Only a machine
 * with no problem gets a cell table, which is then complete by construction. */
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
 * against the first. */
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

static int check_unused_events(pfg_machine *m)
{
    uint8_t *used = calloc(m->events.n, 1);
    if (used == NULL)
        return -1;
    int all = 0;
    for (size_t i = 0; i < m->nrows; i++) {
        const pfg_row *r = &m->rows[i];
        if (r->event >= 0)
            used[r->event] = 1;
        else if (r->event == PFG_ANY && !r->is_default && r->state != PFG_UNKNOWN)
            all = 1;  /* `STATE *`: that state handles every packet event */
    }
    for (size_t e = PFG_NBUILTIN; e < m->events.n && !all; e++)
        if (!used[e])
            pfg_error(m, m->events.line[e], "event '%s' is declared but no row handles it%s",
                      m->events.name[e],
                      m->kind == PFG_DISPATCH ? "" : " (no row names it, no 'STATE *' row)");
    free(used);
    return 0;
}

/* Graph over states: explicit edges from rows with a named state, plus
 * "global" targets from `*`-state rows (every state has that edge). */
typedef struct graph {
    size_t n;
    size_t *off;     /* CSR: edges of s are to[off[s] .. off[s+1]) */
    size_t *to;
    uint8_t *global; /* [n]: target of a `*` row */
} graph;

static void graph_free(graph *g)
{
    free(g->off);
    free(g->to);
    free(g->global);
}

/* reverse = 0: s -> next;  reverse = 1: next -> s. */
static int graph_build(const pfg_machine *m, graph *g, int reverse)
{
    g->n = m->states.n;
    g->off = calloc(g->n + 1, sizeof *g->off);
    g->to = malloc((m->nrows ? m->nrows : 1) * sizeof *g->to);
    g->global = calloc(g->n, 1);
    if (g->off == NULL || g->to == NULL || g->global == NULL)
        return -1;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m->nrows; i++) {
            const pfg_row *r = &m->rows[i];
            if (r->state == PFG_UNKNOWN || r->next == PFG_UNKNOWN)
                continue;
            if (r->state == PFG_ANY) {
                if (r->next >= 0)
                    g->global[r->next] = 1;
                continue;
            }
            size_t from = (size_t)r->state;
            size_t to = r->next == PFG_STAY ? from : (size_t)r->next;
            if (reverse) {
                size_t t = from;
                from = to;
                to = t;
            }
            if (pass == 0)
                g->off[from + 1]++;
            else
                g->to[g->off[from]++] = to;
        }
        if (pass == 0) {
            for (size_t s = 0; s < g->n; s++)
                g->off[s + 1] += g->off[s];
        } else {
            for (size_t s = g->n; s > 0; s--)
                g->off[s] = g->off[s - 1];
            g->off[0] = 0;
        }
    }
    return 0;
}

/* Breadth-first from the states already marked in `seen`.  `all_when` says
 * when marking a global target (forward) or any state that is a global
 * target (reverse) makes every state seen. */
static int bfs(const graph *g, uint8_t *seen, int reverse)
{
    size_t *q = malloc((g->n ? g->n : 1) * sizeof *q), qh = 0, qt = 0;
    if (q == NULL)
        return -1;
    int all = 0;
    for (size_t s = 0; s < g->n; s++)
        if (seen[s])
            q[qt++] = s;
    if (!reverse && qt > 0) {
        /* Any reached state takes the `*` rows: their targets are reached. */
        for (size_t s = 0; s < g->n; s++)
            if (g->global[s] && !seen[s]) {
                seen[s] = 1;
                q[qt++] = s;
            }
    }
    while (qh < qt) {
        size_t s = q[qh++];
        if (reverse && g->global[s] && !all) {
            all = 1;  /* every state has a `*` row into s */
            for (size_t t = 0; t < g->n; t++)
                if (!seen[t]) {
                    seen[t] = 1;
                    q[qt++] = t;
                }
        }
        for (size_t i = g->off[s]; i < g->off[s + 1]; i++)
            if (!seen[g->to[i]]) {
                seen[g->to[i]] = 1;
                q[qt++] = g->to[i];
            }
    }
    free(q);
    return 0;
}

static int check_graph(pfg_machine *m)
{
    graph fw = { 0 }, bw = { 0 };
    uint8_t *reach = calloc(m->states.n ? m->states.n : 1, 1);
    uint8_t *out = calloc(m->states.n ? m->states.n : 1, 1);
    int rc = -1;
    if (reach == NULL || out == NULL || graph_build(m, &fw, 0) != 0 ||
        graph_build(m, &bw, 1) != 0)
        goto done;
    if (m->start >= 0) {
        reach[m->start] = 1;
        if (bfs(&fw, reach, 0) != 0)
            goto done;
        for (size_t s = 0; s < m->states.n; s++)
            if (!reach[s])
                pfg_error(m, m->states.line[s], "state '%s' is unreachable from the start "
                          "state '%s'", m->states.name[s], m->states.name[m->start]);
    }
    if (m->nfinal > 0) {
        memcpy(out, m->final, m->states.n);
        if (bfs(&bw, out, 1) != 0)
            goto done;
        for (size_t s = 0; s < m->states.n; s++)
            if (!out[s] && (m->start < 0 || reach[s]))
                pfg_error(m, m->states.line[s], "state '%s' has no way out: no final "
                          "state can be reached from it", m->states.name[s]);
    }
    rc = 0;
done:
    graph_free(&fw);
    graph_free(&bw);
    free(reach);
    free(out);
    return rc;
}

static void put(pfg_machine *m, size_t s, size_t e, const pfg_row *r, uint16_t flags)
{
    pfg_cell *c = &m->cells[s * m->events.n + e];
    c->next = (uint16_t)(r->next == PFG_STAY ? (long)s : r->next);
    c->handler = (uint16_t)r->handler;
    c->flags = flags;
}

/* Fill from the weakest rows to the strongest, so later passes overwrite:
 * default < `S *` < `* E` < `S E`.  Rows of one level never overlap (that
 * would be a conflict), and wildcards never reach the built-in events. */
static int fill_cells(pfg_machine *m)
{
    size_t ns = m->states.n, ne = m->events.n;
    m->cells = malloc(ns * ne * sizeof *m->cells);
    if (m->cells == NULL)
        return -1;
    for (size_t i = 0; i < ns * ne; i++)
        m->cells[i] = (pfg_cell){ PFG_NOROW, 0, 0 };
    for (int level = 0; level < 4; level++) {
        for (size_t i = 0; i < m->nrows; i++) {
            const pfg_row *r = &m->rows[i];
            int lv = r->is_default ? 0 : r->event == PFG_ANY ? 1 : r->state == PFG_ANY ? 2 : 3;
            if (lv != level)
                continue;
            uint16_t flags = lv == 0 ? PFG_CELL_DEFAULT : lv == 3 ? 0 : PFG_CELL_WILD;
            for (size_t s = 0; s < ns; s++) {
                if (r->state >= 0 && (size_t)r->state != s)
                    continue;
                for (size_t e = PFG_NBUILTIN; e < ne; e++) {
                    if (r->event >= 0 && (size_t)r->event != e)
                        continue;
                    put(m, s, e, r, flags);
                }
                if (r->event >= 0 && r->event < PFG_NBUILTIN)
                    put(m, s, (size_t)r->event, r, flags);
            }
        }
    }
    return 0;
}

int pfg_check(pfg_machine *m)
{
    if (m->oom)
        return -1;
    if (m->block_line == 0 || m->kind == PFG_KIND_UNSET)
        return (int)m->ndiags;  /* nothing sensible to check further */
    if (m->kind == PFG_TRANSITION && m->final_line == 0)
        pfg_error(m, m->block_line, "transition machine has no final state "
                                    "(declare one with 'final')");
    if ((uint64_t)m->states.n * m->events.n > PFG_MAX_CELLS)
        pfg_error(m, m->block_line, "table too large: %zu states x %zu events is more "
                  "than %u cells", m->states.n, m->events.n, PFG_MAX_CELLS);
    if (check_conflicts(m) != 0 || check_unused_events(m) != 0)
        return -1;
    if (pfg_check_symbols(m) != 0)
        return -1;
    if (m->kind == PFG_TRANSITION && check_graph(m) != 0)
        return -1;
    if (m->oom)
        return -1;
    if (m->ndiags == 0 && fill_cells(m) != 0)
        return -1;
    return (int)m->ndiags;
}
