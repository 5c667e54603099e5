/* The table block parser: .rl or .fsm text in, pfg_machine out.
 *
 * In a .rl file it finds the one `/ * @fsm ... @end * /` block (the rest of
 * the file is the Ragel grammar and is ignored); a .fsm file is all block.
 * It splits the block into lines of tokens, and reads them in three passes
 * so that directives may come in any order: `kind` first (it decides what a
 * row looks like), then the other directives (so rows may name states
 * declared further down), then the rows.  A block is either a protocol
 * (`protocol NAME` and its `events`) or a machine; a machine `over` a
 * protocol takes that protocol's events (import.c) before its rows are
 * read.  Name resolution problems are reported here; graph-level checks
 * are check.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pfgen.h"

typedef pfg_tok tok;

typedef struct bline {
    int line;
    size_t ntok;
    tok *t;
} bline;

typedef struct block {
    bline *l;
    size_t n, cap;
} block;

static const char *const builtin[PFG_NBUILTIN] = { "OPEN", "CLOSE", "TIMEOUT", "DRAIN" };

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int tok_is(const tok *t, const char *s)
{
    return t->len == strlen(s) && memcmp(t->s, s, t->len) == 0;
}

/* `p`..`e` starts, after blanks, with "/ *" blanks "@fsm" and a word end. */
static int is_block_start(const char *p, const char *e, const char **rest)
{
    while (p < e && is_blank(*p))
        p++;
    if (e - p < 2 || p[0] != '/' || p[1] != '*')
        return 0;
    p += 2;
    while (p < e && is_blank(*p))
        p++;
    if (e - p < 4 || memcmp(p, "@fsm", 4) != 0)
        return 0;
    p += 4;
    if (p < e && !is_blank(*p))
        return 0;
    *rest = p;
    return 1;
}

/* Where "@end" blanks "* /" starts on the line, or NULL. */
static const char *find_block_end(const char *p, const char *e)
{
    for (; e - p >= 4; p++) {
        if (memcmp(p, "@end", 4) != 0)
            continue;
        const char *q = p + 4;
        while (q < e && is_blank(*q))
            q++;
        if (e - q >= 2 && q[0] == '*' && q[1] == '/')
            return p;
    }
    return NULL;
}

/* The block is a C comment in the .rl, and ragel copies it into C as is:
 * a `* /` in it (comments included) would end the comment early, and a `/ *`
 * is a -Wcomment warning. */
static void check_comment_marks(pfg_machine *m, int line, const char *p, const char *e)
{
    for (; e - p >= 2; p++) {
        if (p[0] == '*' && p[1] == '/') {
            pfg_error(m, line, "'*/' inside the table block ends its C comment early "
                               "(only '@end */' may close it)");
            return;
        }
        if (p[0] == '/' && p[1] == '*') {
            pfg_error(m, line, "'/*' inside the table block (a nested comment opener: "
                               "compilers warn about it)");
            return;
        }
    }
}

static int add_line(pfg_machine *m, block *b, int line, const char *p, const char *e)
{
    if (!m->whole_file)
        check_comment_marks(m, line, p, e);
    if (memchr(p, '\0', (size_t)(e - p)) != NULL) {
        pfg_error(m, line, "line contains a NUL byte");
        return 0;
    }
    size_t ntok = 0, cap = 0;
    tok *t = NULL;
    while (p < e) {
        while (p < e && is_blank(*p))
            p++;
        if (p == e || *p == '#')
            break; /* a comment runs to the end of the line */
        const char *s = p;
        if (*p == '"') {
            /* A quoted string is one token, blanks and '#' included; a
             * backslash keeps the next byte in it. */
            for (p++; p < e && *p != '"'; p++)
                if (*p == '\\' && p + 1 < e)
                    p++;
            if (p == e) {
                pfg_error(m, line, "unterminated string: no closing '\"'");
                free(t);
                return 0;
            }
            p++;
        } else {
            while (p < e && !is_blank(*p) && *p != '#')
                p++;
        }
        if (ntok == cap) {
            cap = cap ? cap * 2 : 8;
            tok *nt = realloc(t, cap * sizeof *nt);
            if (nt == NULL) {
                free(t);
                return -1;
            }
            t = nt;
        }
        t[ntok].s = s;
        t[ntok].len = (size_t)(p - s);
        ntok++;
    }
    if (ntok == 0)
        return 0;
    if (b->n == b->cap) {
        size_t bcap = b->cap ? b->cap * 2 : 64;
        bline *nl = realloc(b->l, bcap * sizeof *nl);
        if (nl == NULL) {
            free(t);
            return -1;
        }
        b->l = nl;
        b->cap = bcap;
    }
    b->l[b->n].line = line;
    b->l[b->n].ntok = ntok;
    b->l[b->n].t = t;
    b->n++;
    return 0;
}

static void free_block(block *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->l[i].t);
    free(b->l);
}

/* Find the block and tokenize it.  Returns 1 when one well-formed block was
 * found, 0 when a structural error was reported, -1 when out of memory. */
static int read_block(pfg_machine *m, const char *text, size_t len, block *b)
{
    const char *p = text, *end = text + len;
    int line = 0, inside = 0, start = 0, found = 0, ok = 1;
    if (m->whole_file) {
        m->block_line = 1;
        while (p < end) {
            const char *e = memchr(p, '\n', (size_t)(end - p));
            if (e == NULL)
                e = end;
            if (add_line(m, b, ++line, p, e) != 0)
                return -1;
            p = e < end ? e + 1 : end;
        }
        return 1;
    }
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (e == NULL)
            e = end;
        line++;
        const char *rest;
        if (is_block_start(p, e, &rest)) {
            if (inside) {
                pfg_error(m, line, "'/* @fsm' inside the block that starts at line %d "
                                   "(missing '@end */'?)", start);
                ok = 0;
            } else if (found) {
                pfg_error(m, line, "second '@fsm' block (the first starts at line %d); "
                                   "a file has exactly one", start);
                ok = 0;
            } else {
                inside = found = 1;
                start = line;
                m->block_line = line;
                const char *stop = find_block_end(rest, e);
                if (stop != NULL) {
                    inside = 0;
                    if (add_line(m, b, line, rest, stop) != 0)
                        return -1;
                } else if (add_line(m, b, line, rest, e) != 0) {
                    return -1;
                }
            }
        } else if (inside) {
            const char *stop = find_block_end(p, e);
            if (add_line(m, b, line, p, stop ? stop : e) != 0)
                return -1;
            if (stop != NULL)
                inside = 0;
        }
        p = e < end ? e + 1 : end;
    }
    if (!found) {
        pfg_error(m, 1, "no '/* @fsm' table block found (it starts at a line "
                        "'/* @fsm' and ends at a line containing '@end */')");
        return 0;
    }
    if (inside) {
        pfg_error(m, start, "unterminated '@fsm' block: no line containing '@end */'");
        return 0;
    }
    return ok;
}

/* Declare one state or event name. */
static int declare(pfg_machine *m, pfg_names *ns, const char *what, const tok *t,
                   int line)
{
    const char *why = pfg_ident_problem(t->s, t->len, 0);
    if (*why) {
        pfg_error(m, line, "invalid %s name '%.*s': %s", what, (int)t->len, t->s, why);
        return 0;
    }
    if (tok_is(t, "default")) {
        pfg_error(m, line, "invalid %s name 'default': reserved for the default row",
                  what);
        return 0;
    }
    long i = pfg_names_find(ns, t->s, t->len);
    if (i >= 0) {
        if (ns == &m->events && i < PFG_NBUILTIN)
            pfg_error(m, line, "event '%.*s' is built in (OPEN CLOSE TIMEOUT DRAIN "
                               "always exist); do not declare it", (int)t->len, t->s);
        else
            pfg_error(m, line, "duplicate %s '%.*s' (first declared at line %d)", what,
                      (int)t->len, t->s, ns->line[i]);
        return 0;
    }
    return pfg_names_add(ns, t->s, t->len, line) < 0 ? -1 : 0;
}

typedef struct pending {
    pfg_names finals;  /* `final` names, resolved once every state is known */
    int start_seen;
    tok start_tok;
    int over_states, over_events;
} pending;

static int one_arg(pfg_machine *m, const bline *l, const char *what)
{
    if (l->ntok != 2) {
        pfg_error(m, l->line, "'%.*s' expects exactly one %s", (int)l->t[0].len,
                  l->t[0].s, what);
        return 0;
    }
    return 1;
}

static int has_arrow(const bline *l)
{
    for (size_t i = 0; i < l->ntok; i++)
        if (tok_is(&l->t[i], "->"))
            return 1;
    return 0;
}

static void pass_kind(pfg_machine *m, const block *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const bline *l = &b->l[i];
        if (has_arrow(l) || !tok_is(&l->t[0], "kind"))
            continue;
        if (m->kind_line != 0) {
            pfg_error(m, l->line, "duplicate 'kind' directive (first at line %d)",
                      m->kind_line);
            continue;
        }
        m->kind_line = l->line;
        if (!one_arg(m, l, "of dispatch or transition"))
            continue;
        if (tok_is(&l->t[1], "dispatch"))
            m->kind = PFG_DISPATCH;
        else if (tok_is(&l->t[1], "transition"))
            m->kind = PFG_TRANSITION;
        else
            pfg_error(m, l->line, "unknown kind '%.*s' (expected dispatch or transition)",
                      (int)l->t[1].len, l->t[1].s);
    }
}

static int directive(pfg_machine *m, const bline *l, pending *pd)
{
    const tok *t0 = &l->t[0];
    if (pfg_is_protocol_directive(t0))
        return pfg_protocol_directive(m, l->t, l->ntok, l->line) < 0 ? -1 : 0;
    int list = tok_is(t0, "states") || tok_is(t0, "events") || tok_is(t0, "final");
    if (tok_is(t0, "kind"))
        return 0;  /* pass_kind */
    if (m->kind == PFG_DISPATCH &&
        (tok_is(t0, "states") || tok_is(t0, "start") || tok_is(t0, "final"))) {
        pfg_error(m, l->line, "'%.*s' is not allowed in a dispatch machine (it has one "
                              "implicit state, ANY)", (int)t0->len, t0->s);
        return 0;
    }
    if (list && l->ntok < 2) {
        pfg_error(m, l->line, "'%.*s' expects at least one name", (int)t0->len, t0->s);
        return 0;
    }
    if (tok_is(t0, "machine") || tok_is(t0, "protocol")) {
        int proto = t0->s[0] == 'p';
        const char *what = proto ? "protocol" : "machine";
        if (m->name_line != 0 && proto != m->is_protocol) {
            pfg_error(m, l->line, "'%s' in a block that is a %s (line %d): a block is a "
                      "protocol (its events) or a machine (a table), not both", what,
                      m->is_protocol ? "protocol" : "machine", m->name_line);
            return 0;
        }
        if (m->name_line != 0) {
            pfg_error(m, l->line, "duplicate '%s' directive (first at line %d)", what,
                      m->name_line);
            return 0;
        }
        m->name_line = l->line;
        m->is_protocol = proto;
        if (!proto && l->ntok == 4 && tok_is(&l->t[2], "over")) {
            const char *why = pfg_ident_problem(l->t[3].s, l->t[3].len, 1);
            if (*why) {
                pfg_error(m, l->line, "invalid protocol name '%.*s': %s", (int)l->t[3].len,
                          l->t[3].s, why);
                return 0;
            }
            m->over = strndup(l->t[3].s, l->t[3].len);
            m->over_line = l->line;
            if (m->over == NULL)
                return -1;
        } else if (l->ntok != 2) {
            pfg_error(m, l->line, proto ? "'protocol' expects exactly one name"
                                        : "'machine' expects a name, or 'NAME over PROTOCOL'");
            return 0;
        }
        const char *why = pfg_ident_problem(l->t[1].s, l->t[1].len, 1);
        if (*why) {
            pfg_error(m, l->line, "invalid %s name '%.*s': %s", what, (int)l->t[1].len,
                      l->t[1].s, why);
            return 0;
        }
        m->name = strndup(l->t[1].s, l->t[1].len);
        if (m->name == NULL)
            return -1;
        /* `over P` finds P.rl, so a protocol is named like its file. */
        if (proto && m->base != NULL && strcmp(m->name, m->base) != 0)
            pfg_error(m, l->line, "protocol '%s' is in a file named '%s': name them alike "
                      "(a machine 'over %s' looks for %s.rl)", m->name, m->base, m->name,
                      m->name);
        return 0;
    }
    if (tok_is(t0, "extends")) {
        if (m->extends_line != 0) {
            pfg_error(m, l->line, "duplicate 'extends' directive (first at line %d)",
                      m->extends_line);
            return 0;
        }
        m->extends_line = l->line;
        if (!one_arg(m, l, "table name"))
            return 0;
        const char *why = pfg_ident_problem(l->t[1].s, l->t[1].len, 0);
        if (*why) {
            pfg_error(m, l->line, "invalid table name '%.*s': %s", (int)l->t[1].len,
                      l->t[1].s, why);
            return 0;
        }
        m->extends = strndup(l->t[1].s, l->t[1].len);
        return m->extends == NULL ? -1 : 0;
    }
    if (tok_is(t0, "states") || tok_is(t0, "events")) {
        int st = t0->s[0] == 's';
        if (!st && m->events_line == 0)
            m->events_line = l->line;
        for (size_t i = 1; i < l->ntok; i++) {
            int *over = st ? &pd->over_states : &pd->over_events;
            pfg_names *ns = st ? &m->states : &m->events;
            if (ns->n >= PFG_MAX_NAMES && pfg_names_find(ns, l->t[i].s, l->t[i].len) < 0) {
                if (!*over)
                    pfg_error(m, l->line, "too many %s: more than %u (at '%.*s')",
                              st ? "states" : "events", PFG_MAX_NAMES,
                              (int)l->t[i].len, l->t[i].s);
                *over = 1;
                continue;
            }
            if (declare(m, ns, st ? "state" : "event", &l->t[i], l->line) != 0)
                return -1;
        }
        return 0;
    }
    if (tok_is(t0, "start")) {
        if (pd->start_seen) {
            pfg_error(m, l->line, "duplicate 'start' directive (first at line %d)",
                      m->start_line);
            return 0;
        }
        pd->start_seen = 1;
        m->start_line = l->line;
        if (one_arg(m, l, "state"))
            pd->start_tok = l->t[1];
        return 0;
    }
    if (tok_is(t0, "final")) {
        if (m->final_line == 0)
            m->final_line = l->line;
        for (size_t i = 1; i < l->ntok; i++) {
            long j = pfg_names_find(&pd->finals, l->t[i].s, l->t[i].len);
            if (j >= 0) {
                pfg_error(m, l->line, "duplicate final state '%.*s' (first at line %d)",
                          (int)l->t[i].len, l->t[i].s, pd->finals.line[j]);
                continue;
            }
            if (pfg_names_add(&pd->finals, l->t[i].s, l->t[i].len, l->line) < 0)
                return -1;
        }
        return 0;
    }
    return 0;  /* not a directive: not_directive() reports it later */
}

static int is_directive(const tok *t)
{
    if (pfg_is_protocol_directive(t))
        return 1;
    static const char *const kw[] = { "machine", "protocol", "extends", "kind", "states",
                                      "events", "start", "final" };
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (tok_is(t, kw[i]))
            return 1;
    return 0;
}

/* A line with no '->' that is no directive: a row missing its arrow when it
 * starts like one, otherwise an unknown directive. */
static void not_directive(pfg_machine *m, const bline *l)
{
    const tok *t0 = &l->t[0];
    if (tok_is(t0, "*") || tok_is(t0, "default") ||
        pfg_names_find(&m->states, t0->s, t0->len) >= 0 ||
        pfg_names_find(&m->events, t0->s, t0->len) >= 0)
        pfg_error(m, l->line, "malformed row: missing '->' (expected %s)",
                  m->kind == PFG_DISPATCH ? "'EVENT -> HANDLER'"
                                          : "'STATE EVENT -> NEXT HANDLER'");
    else
        pfg_error(m, l->line, "unknown directive '%.*s' (expected machine, protocol, extends, "
                              "kind, states, events, start, final, or in a protocol keywords, "
                              "fields, parser, init, parse, error, interim, full, busy)",
                  (int)t0->len, t0->s);
}

static long find_state(pfg_machine *m, const tok *t, int line, const char *what)
{
    long i = pfg_names_find(&m->states, t->s, t->len);
    if (i < 0) {
        pfg_error(m, line, "unknown %s '%.*s'", what, (int)t->len, t->s);
        return PFG_UNKNOWN;
    }
    return i;
}

static long find_event(pfg_machine *m, const tok *t, int line)
{
    if (tok_is(t, "*"))
        return PFG_ANY;
    long i = pfg_names_find(&m->events, t->s, t->len);
    if (i < 0) {
        pfg_error(m, line, "unknown event '%.*s'", (int)t->len, t->s);
        return PFG_UNKNOWN;
    }
    return i;
}

/* Returns 0 and sets *h (0 = none, i+1 = handler i), or -1 when out of memory.
 * An invalid name is reported and leaves *h 0. */
static int find_handler(pfg_machine *m, const tok *t, int line, size_t *h)
{
    *h = 0;
    if (tok_is(t, "-"))
        return 0;
    const char *why = pfg_ident_problem(t->s, t->len, 1);
    if (*why) {
        pfg_error(m, line, "invalid handler name '%.*s': %s", (int)t->len, t->s, why);
        return 0;
    }
    long i = pfg_names_find(&m->handlers, t->s, t->len);
    if (i < 0) {
        if (m->handlers.n >= PFG_MAX_HANDLERS) {
            if (m->handlers.n == PFG_MAX_HANDLERS)
                pfg_error(m, line, "too many handlers: more than %u (at '%.*s')",
                          PFG_MAX_HANDLERS, (int)t->len, t->s);
            /* Remember it anyway so the limit is reported once. */
        }
        i = pfg_names_add(&m->handlers, t->s, t->len, line);
        if (i < 0)
            return -1;
    }
    *h = (size_t)i + 1;
    return 0;
}

static int row(pfg_machine *m, const bline *l)
{
    pfg_row r = { .line = l->line, .state = 0, .event = PFG_ANY, .next = PFG_STAY };
    const tok *t = l->t;
    const tok *h;
    if (m->kind == PFG_DISPATCH) {
        if (l->ntok != 3 || !tok_is(&t[1], "->")) {
            pfg_error(m, l->line, "malformed row: expected 'EVENT -> HANDLER' or "
                                  "'default -> HANDLER' in a dispatch machine");
            return 0;
        }
        if (tok_is(&t[0], "default") || tok_is(&t[0], "*"))
            r.is_default = 1;
        else
            r.event = find_event(m, &t[0], l->line);
        h = &t[2];
    } else {
        if (l->ntok == 4 && tok_is(&t[0], "default") && tok_is(&t[1], "->")) {
            r.is_default = 1;
            r.state = PFG_ANY;
            t += 2;  /* now NEXT HANDLER at t[0], t[1] */
        } else if (l->ntok == 5 && tok_is(&t[2], "->")) {
            r.state = tok_is(&t[0], "*") ? PFG_ANY : find_state(m, &t[0], l->line, "state");
            r.event = find_event(m, &t[1], l->line);
            r.is_default = r.state == PFG_ANY && r.event == PFG_ANY;
            t += 3;
        } else {
            pfg_error(m, l->line, "malformed row: expected 'STATE EVENT -> NEXT HANDLER' "
                                  "or 'default -> NEXT HANDLER'");
            return 0;
        }
        if (tok_is(&t[0], "*"))
            pfg_error(m, l->line, "next state cannot be '*' (use '.' to stay)");
        else if (!tok_is(&t[0], "."))
            r.next = find_state(m, &t[0], l->line, "next state");
        if (tok_is(&t[0], "*"))
            r.next = PFG_UNKNOWN;
        h = &t[1];
    }
    if (find_handler(m, h, l->line, &r.handler) != 0)
        return -1;
    if (m->nrows == m->caprows) {
        size_t cap = m->caprows ? m->caprows * 2 : 64;
        pfg_row *nr = realloc(m->rows, cap * sizeof *nr);
        if (nr == NULL)
            return -1;
        m->rows = nr;
        m->caprows = cap;
    }
    m->rows[m->nrows++] = r;
    return 0;
}

static int resolve_start_final(pfg_machine *m, pending *pd, const pfg_machine *bm)
{
    if (m->kind == PFG_DISPATCH) {
        m->start = 0;
        if (pfg_names_add(&m->states, "ANY", 3, m->block_line) < 0)
            return -1;
    } else if (pd->start_seen && pd->start_tok.s != NULL) {
        m->start = pfg_names_find(&m->states, pd->start_tok.s, pd->start_tok.len);
        if (m->start < 0)
            pfg_error(m, m->start_line, "start state '%.*s' is not a declared state",
                      (int)pd->start_tok.len, pd->start_tok.s);
    } else if (!pd->start_seen && bm != NULL) {
        m->start = bm->start; /* the base's states keep their numbers */
    } else if (!pd->start_seen && m->kind == PFG_TRANSITION) {
        pfg_error(m, m->block_line, "missing 'start' directive (the initial state)");
    }
    m->final = calloc(m->states.n ? m->states.n : 1, 1);
    if (m->final == NULL)
        return -1;
    if (bm != NULL && m->kind == PFG_TRANSITION && bm->kind == PFG_TRANSITION) {
        for (size_t s = 0; s < bm->states.n; s++)
            if (bm->final[s]) {
                m->final[s] = 1;
                m->nfinal++;
            }
        if (m->final_line == 0)
            m->final_line = m->extends_line;
    }
    for (size_t i = 0; i < pd->finals.n; i++) {
        const char *f = pd->finals.name[i];
        long s = pfg_names_find(&m->states, f, strlen(f));
        if (s < 0) {
            pfg_error(m, pd->finals.line[i], "final state '%s' is not a declared state", f);
            continue;
        }
        if (!m->final[s])
            m->nfinal++;
        m->final[s] = 1;
    }
    return 0;
}

/* `extends BASE`: the base table's states come first, with their numbers
 * (the extension's own follow), its handlers keep their slots (the
 * extension's new ones follow), and its rows come first: a row of the
 * extension with the same pattern replaces one (check.c), every other row
 * of the base stays.  Its kind, start and final states hold unless the
 * extension says otherwise (start) or adds to them (final). */
/* 0, 1 when the base cannot be merged (reported), -1 when out of memory. */
static int merge_base(pfg_machine *m, const pfg_machine *bm)
{
    if (m->kind == PFG_KIND_UNSET)
        m->kind = bm->kind;
    else if (m->kind != bm->kind) {
        pfg_error(m, m->kind_line, "kind differs from table '%s', which is %s", m->extends,
                  bm->kind == PFG_DISPATCH ? "dispatch" : "transition");
        return 1; /* its rows cannot be this table's */
    }
    if (bm->kind == PFG_DISPATCH && m->states.n > 0) {
        pfg_error(m, m->states.line[0], "table '%s' is a dispatch machine: it has no states",
                  m->extends);
        pfg_names_free(&m->states); /* its rows say state 0: ANY */
    }
    if (m->kind == PFG_TRANSITION && bm->kind == PFG_TRANSITION) {
        pfg_names all = { 0 };
        for (size_t i = 0; i < bm->states.n; i++)
            if (pfg_names_add(&all, bm->states.name[i], strlen(bm->states.name[i]), 0) < 0)
                goto oom;
        for (size_t i = 0; i < m->states.n; i++) {
            const char *n = m->states.name[i];
            if (pfg_names_find(&all, n, strlen(n)) >= 0)
                pfg_error(m, m->states.line[i], "state '%s' is already a state of table "
                          "'%s'", n, m->extends);
            else if (pfg_names_add(&all, n, strlen(n), m->states.line[i]) < 0)
                goto oom;
        }
        pfg_names_free(&m->states);
        m->states = all;
        if (0) {
oom:
            pfg_names_free(&all);
            return -1;
        }
    }
    for (size_t h = 0; h < bm->handlers.n; h++)
        if (pfg_names_add(&m->handlers, bm->handlers.name[h], strlen(bm->handlers.name[h]),
                          0) < 0)
            return -1;
    if (bm->nrows > 0) {
        m->rows = malloc(bm->nrows * sizeof *m->rows);
        if (m->rows == NULL)
            return -1;
        m->caprows = m->nrows = bm->nrows;
        for (size_t i = 0; i < bm->nrows; i++) {
            m->rows[i] = bm->rows[i];
            m->rows[i].line = 0; /* another file's: never reported */
            m->rows[i].from_base = 1;
        }
    }
    return 0;
}

/* A protocol block holds its name and events; anything about a table is
 * a machine's. */
static int protocol_only(pfg_machine *m, const block *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const bline *l = &b->l[i];
        const tok *t0 = &l->t[0];
        if (has_arrow(l))
            pfg_error(m, l->line, "a protocol has no table rows: they belong to a machine "
                      "over it ('machine NAME over %s', in a .fsm file)", m->name);
        else if (tok_is(t0, "kind") || tok_is(t0, "states") || tok_is(t0, "start") ||
                 tok_is(t0, "final") || tok_is(t0, "extends"))
            pfg_error(m, l->line, "'%.*s' belongs to a machine, not to protocol '%s'",
                      (int)t0->len, t0->s, m->name);
    }
    pfg_check_protocol_block(m);
    return 0;
}

int pfg_parse(pfg_machine *m, const char *text, size_t len)
{
    block b = { 0 };
    pending pd = { 0 };
    pfg_machine *bm = NULL;
    int rc = -1;
    m->kind = PFG_KIND_UNSET;
    m->start = -1;
    for (int i = 0; i < PFG_NBUILTIN; i++)
        if (pfg_names_add(&m->events, builtin[i], strlen(builtin[i]), 0) < 0)
            goto out;

    int found = read_block(m, text, len, &b);
    if (found <= 0) {
        rc = found;
        goto out;
    }
    pass_kind(m, &b);
    for (size_t i = 0; i < b.n; i++)
        if (!has_arrow(&b.l[i]) && is_directive(&b.l[i].t[0]) &&
            directive(m, &b.l[i], &pd) != 0)
            goto out;
    for (size_t i = 0; i < b.n; i++)
        if (!has_arrow(&b.l[i]) && !is_directive(&b.l[i].t[0]))
            not_directive(m, &b.l[i]);
    if (m->is_protocol) {
        rc = protocol_only(m, &b);
        goto out;
    }
    pfg_check_protocol_block(m); /* a machine's: what belongs to a protocol */
    if (m->name_line == 0)
        pfg_error(m, m->block_line, "missing 'machine' directive (the name that prefixes "
                                    "generated symbols)");
    if (m->kind_line == 0 && m->extends == NULL)
        pfg_error(m, m->block_line, "missing 'kind' directive (dispatch or transition)");
    if (m->extends != NULL && m->over == NULL) {
        pfg_error(m, m->extends_line, "'extends' needs a machine over a protocol "
                  "('machine NAME over PROTO'), like the table it extends");
        rc = 0; /* without the base, the rest would only add noise */
        goto out;
    }
    if (m->over != NULL) {
        if (m->events_line != 0)
            pfg_error(m, m->events_line, "machine '%s' is over protocol '%s', whose events "
                      "it takes: declare no 'events' here", m->name, m->over);
        if (m->events.n > PFG_NBUILTIN) {
            /* Drop them, so the protocol's events keep their numbers. */
            pfg_names_free(&m->events);
            for (int i = 0; i < PFG_NBUILTIN; i++)
                if (pfg_names_add(&m->events, builtin[i], strlen(builtin[i]), 0) < 0)
                    goto out;
        }
        if (pfg_import_events(m) != 0)
            goto out;
        if (m->over_path == NULL) {
            rc = 0; /* no events to read rows against: every row would err */
            goto out;
        }
    }
    if (m->extends != NULL && m->over != NULL) {
        bm = pfg_load_base(m);
        if (bm == NULL) {
            rc = m->oom ? -1 : 0; /* reported: rows would only add noise */
            goto out;
        }
        int merged = merge_base(m, bm);
        if (merged != 0) {
            rc = merged < 0 ? -1 : 0;
            goto out;
        }
        m->extended = 1;
    }
    if (resolve_start_final(m, &pd, bm) != 0)
        goto out;
    if (m->kind != PFG_KIND_UNSET) {
        for (size_t i = 0; i < b.n; i++)
            if (has_arrow(&b.l[i]) && row(m, &b.l[i]) != 0)
                goto out;
    }
    rc = 0;
out:
    if (rc < 0 && errno == 0)
        errno = ENOMEM;
    pfg_names_free(&pd.finals);
    pfg_free_base(bm);
    free_block(&b);
    return rc;
}
