/* A protocol's boilerplate, written by pfgen from its block:
 *
 *   keywords nocase HELLO ECHO QUIT     events named by a word of the protocol:
 *   keywords lower SET FLUSH_ALL        each declares its event (if new) and
 *   keywords exact GET M_SEARCH=M-SEARCH   NAME_keyword(p, n) finds it
 *   fields  pf_line_fields              NAME_FIELDS(pkt): the typed fields
 *   parser  line_parser                 with init and parse (error, interim,
 *   init    line_init                   full, busy, max_packet, at_rest
 *                                       optional):
 *   parse   line_parse                  NAME_PROTOCOL(var) defines the
 *   error   line_error                  pf_protocol literal
 *   full    "-ERR too many connections\r\n"
 *   max_packet line_max_packet          size_t f(const void *conf)
 *   at_rest line_at_rest                int f(const void *parser)
 *
 * A keyword's text is the event's name as written (exact, nocase: ASCII
 * case does not matter) or lowercased (lower), or WORD=text.  The
 * classifier compares lengths first, then bytes: a handful of compares for
 * a command word, no table to keep in step with the events by hand. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pfgen.h"

static const char *const pdir_name[PFG_P_N] = { "fields", "parser", "init", "parse",
                                                "error", "interim", "full", "busy",
                                                "max_packet", "at_rest" };

static int is_word(const pfg_tok *t, const char *s)
{
    return t->len == strlen(s) && memcmp(t->s, s, t->len) == 0;
}

int pfg_is_protocol_directive(const pfg_tok *t0)
{
    if (is_word(t0, "keywords"))
        return 1;
    for (int i = 0; i < PFG_P_N; i++)
        if (is_word(t0, pdir_name[i]))
            return 1;
    return 0;
}

/* A string literal pfgen can copy into C as it is: quoted, printable ASCII,
 * only simple escapes.  Why not ("" when it can). */
static const char *literal_problem(const pfg_tok *t)
{
    if (t->len < 2 || t->s[0] != '"' || t->s[t->len - 1] != '"')
        return "expected a \"quoted\" string";
    for (size_t i = 1; i + 1 < t->len; i++) {
        unsigned char c = (unsigned char)t->s[i];
        if (c < 0x20 || c > 0x7e)
            return "only printable ASCII (write \\r, \\n, \\t for the others)";
        if (c == '?')
            return "no '?' (it could make a trigraph)";
        if (c == '\\') {
            char n = t->s[++i];
            if (!strchr("rnt\\\"", n))
                return "only the escapes \\r \\n \\t \\\\ \\\"";
        }
    }
    return "";
}

static int add_keyword(pfg_machine *m, const pfg_tok *it, int mode, int line)
{
    const char *eq = memchr(it->s, '=', it->len);
    size_t nl = eq ? (size_t)(eq - it->s) : it->len;
    const char *why = pfg_ident_problem(it->s, nl, 0);
    if (*why) {
        pfg_error(m, line, "invalid event name '%.*s': %s", (int)nl, it->s, why);
        return 0;
    }
    long ev = pfg_names_find(&m->events, it->s, nl);
    if (ev >= 0 && ev < PFG_NBUILTIN) {
        pfg_error(m, line, "event '%.*s' is built in: it has no keyword", (int)nl, it->s);
        return 0;
    }
    if (ev < 0 && (ev = pfg_names_add(&m->events, it->s, nl, line)) < 0)
        return -1;
    const char *text = eq ? eq + 1 : it->s;
    size_t tl = eq ? it->len - nl - 1 : nl;
    if (tl == 0) {
        pfg_error(m, line, "keyword for '%.*s' is empty", (int)nl, it->s);
        return 0;
    }
    for (size_t i = 0; i < tl; i++)
        if (text[i] == '"' || text[i] == '\\' || text[i] == '?' || text[i] == '*' ||
            text[i] == '/' || (unsigned char)text[i] < 0x21 || (unsigned char)text[i] > 0x7e) {
            pfg_error(m, line, "keyword '%.*s': only printable ASCII without \" \\ ? * /",
                      (int)tl, text);
            return 0;
        }
    char *copy = strndup(text, tl);
    if (copy == NULL)
        return -1;
    if (mode == 'l')
        for (size_t i = 0; i < tl; i++)
            copy[i] = (char)tolower((unsigned char)copy[i]);
    for (size_t k = 0; k < m->nkw; k++) {
        const pfg_keyword *o = &m->kw[k];
        int same = o->len == tl && ((o->nocase || mode == 'n') ? strncasecmp(o->text, copy, tl) == 0
                                                                : memcmp(o->text, copy, tl) == 0);
        if (same) {
            pfg_error(m, line, "keyword '%s' already names event '%s' (line %d)", copy,
                      m->events.name[o->event], o->line);
            free(copy);
            return 0;
        }
    }
    if (m->nkw == m->capkw) {
        size_t cap = m->capkw ? m->capkw * 2 : 16;
        pfg_keyword *k = realloc(m->kw, cap * sizeof *k);
        if (k == NULL) {
            free(copy);
            return -1;
        }
        m->kw = k;
        m->capkw = cap;
    }
    m->kw[m->nkw++] = (pfg_keyword){ (size_t)ev, copy, tl, mode == 'n', line };
    return 0;
}

int pfg_protocol_directive(pfg_machine *m, const pfg_tok *t, size_t ntok, int line)
{
    if (is_word(&t[0], "keywords")) {
        size_t i = 1;
        int mode = 'e';
        if (ntok > 1 && (is_word(&t[1], "nocase") || is_word(&t[1], "lower") ||
                         is_word(&t[1], "exact"))) {
            mode = t[1].s[0];
            i = 2;
        }
        if (i == ntok) {
            pfg_error(m, line, "'keywords' expects at least one EVENT or EVENT=text");
            return 1;
        }
        for (; i < ntok; i++)
            if (add_keyword(m, &t[i], mode, line) < 0)
                return -1;
        return 1;
    }
    int d = 0;
    while (!is_word(&t[0], pdir_name[d]))
        d++;
    if (m->pdir_line[d]) {
        pfg_error(m, line, "duplicate '%s' directive (first at line %d)", pdir_name[d],
                  m->pdir_line[d]);
        return 1;
    }
    m->pdir_line[d] = line;
    int lit = d == PFG_P_FULL || d == PFG_P_BUSY;
    if (ntok != 2) {
        pfg_error(m, line, "'%s' expects exactly one %s", pdir_name[d],
                  lit ? "\"quoted\" reply" : d <= PFG_P_PARSER ? "type name" : "function name");
        return 1;
    }
    const char *why = lit ? literal_problem(&t[1]) : pfg_ident_problem(t[1].s, t[1].len, 1);
    if (*why) {
        pfg_error(m, line, "invalid %s '%.*s': %s", pdir_name[d], (int)t[1].len, t[1].s, why);
        return 1;
    }
    m->pdir[d] = strndup(t[1].s, t[1].len);
    return m->pdir[d] == NULL ? -1 : 1;
}

void pfg_check_protocol_block(pfg_machine *m)
{
    if (!m->is_protocol) {
        for (int d = 0; d < PFG_P_N; d++)
            if (m->pdir_line[d])
                pfg_error(m, m->pdir_line[d], "'%s' belongs to a protocol, not to a machine",
                          pdir_name[d]);
        if (m->nkw)
            pfg_error(m, m->kw[0].line, "'keywords' belongs to a protocol, not to a machine");
        return;
    }
    /* The literal needs what every protocol has: state, a start, a parse. */
    int any = 0;
    for (int d = PFG_P_PARSER; d < PFG_P_N; d++)
        any |= m->pdir_line[d] != 0;
    static const int need[] = { PFG_P_PARSER, PFG_P_INIT, PFG_P_PARSE };
    for (size_t i = 0; any && i < sizeof need / sizeof need[0]; i++)
        if (!m->pdir_line[need[i]])
            pfg_error(m, m->name_line, "protocol '%s' names some of its functions but not "
                      "'%s' (parser, init and parse make the pf_protocol literal)", m->name,
                      pdir_name[need[i]]);
}

static void put_caps(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(toupper((unsigned char)*s), f);
}

void pfg_put_protocol_decl(FILE *f, const pfg_machine *m)
{
    fputs("\n_Static_assert(", f);
    put_caps(f, m->name);
    fputs("_EV_DRAIN + 1 == PF_EV__BUILTIN, \"built-in events moved: regenerate\");\n", f);
    if (m->nkw)
        fprintf(f, "\n/* The event a protocol word names (keywords), or -1. */\n"
                   "int %s_keyword(const char *word, size_t len);\n", m->name);
    if (m->pdir[PFG_P_FIELDS]) {
        fputs("\n/* A packet's fields, typed. */\n#define ", f);
        put_caps(f, m->name);
        fprintf(f, "_FIELDS(pkt) ((const %s *)(pkt)->fields)\n", m->pdir[PFG_P_FIELDS]);
    }
    if (!m->pdir[PFG_P_PARSER] || !m->pdir[PFG_P_INIT] || !m->pdir[PFG_P_PARSE])
        return;
    fputs("\n/* The pf_protocol literal, once the functions it names are declared:\n"
          " * ", f);
    put_caps(f, m->name);
    fprintf(f, "_PROTOCOL(pf_%s_protocol); */\n#define ", m->name);
    put_caps(f, m->name);
    fprintf(f, "_PROTOCOL(var) \\\n    const pf_protocol var = { \\\n"
               "        .name = \"%s\", \\\n        .events = &%s_events, \\\n"
               "        .parser_size = sizeof(%s), \\\n",
            m->name, m->name, m->pdir[PFG_P_PARSER]);
    if (m->pdir[PFG_P_FIELDS])
        fprintf(f, "        .fields_size = sizeof(%s), \\\n", m->pdir[PFG_P_FIELDS]);
    fprintf(f, "        .parser_init = %s, \\\n        .parse = %s, \\\n", m->pdir[PFG_P_INIT],
            m->pdir[PFG_P_PARSE]);
    if (m->pdir[PFG_P_ERROR])
        fprintf(f, "        .error_reply = %s, \\\n", m->pdir[PFG_P_ERROR]);
    if (m->pdir[PFG_P_INTERIM])
        fprintf(f, "        .interim = %s, \\\n", m->pdir[PFG_P_INTERIM]);
    if (m->pdir[PFG_P_FULL])
        fprintf(f, "        .full_reply = PF_SLICE_LIT(%s), \\\n", m->pdir[PFG_P_FULL]);
    if (m->pdir[PFG_P_BUSY])
        fprintf(f, "        .busy_reply = PF_SLICE_LIT(%s), \\\n", m->pdir[PFG_P_BUSY]);
    if (m->pdir[PFG_P_MAXPACKET])
        fprintf(f, "        .max_packet = %s, \\\n", m->pdir[PFG_P_MAXPACKET]);
    if (m->pdir[PFG_P_ATREST])
        fprintf(f, "        .at_rest = %s, \\\n", m->pdir[PFG_P_ATREST]);
    fputs("    }\n", f);
}

static int by_len(const void *a, const void *b)
{
    const pfg_keyword *x = a, *y = b;
    return x->len != y->len ? (x->len < y->len ? -1 : 1) : x->line - y->line;
}

void pfg_put_protocol_def(FILE *f, const pfg_machine *m)
{
    if (!m->nkw)
        return;
    pfg_keyword *k = malloc(m->nkw * sizeof *k);
    if (k == NULL) {
        errno = ENOMEM;
        fputs("#error out of memory\n", f); /* pfg_finish reports the stream */
        return;
    }
    memcpy(k, m->kw, m->nkw * sizeof *k);
    qsort(k, m->nkw, sizeof *k, by_len);
    int nocase = 0;
    for (size_t i = 0; i < m->nkw; i++)
        nocase |= k[i].nocase;
    fputc('\n', f);
    if (nocase)
        fprintf(f, "/* ASCII, whatever the case of word; lower is lowercase. */\n"
                   "static int %s_same(const char *word, const char *lower, size_t n)\n{\n"
                   "    for (size_t i = 0; i < n; i++) {\n"
                   "        char c = word[i];\n"
                   "        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != lower[i])\n"
                   "            return 0;\n    }\n    return 1;\n}\n\n",
                m->name);
    fprintf(f, "int %s_keyword(const char *word, size_t len)\n{\n    switch (len) {\n",
            m->name);
    for (size_t i = 0; i < m->nkw; i++) {
        if (i == 0 || k[i].len != k[i - 1].len)
            fprintf(f, "    case %zu:\n", k[i].len);
        if (k[i].nocase) {
            fprintf(f, "        if (%s_same(word, \"", m->name);
            for (size_t j = 0; j < k[i].len; j++)
                fputc(tolower((unsigned char)k[i].text[j]), f);
            fprintf(f, "\", %zu))\n", k[i].len);
        } else {
            fprintf(f, "        if (memcmp(word, \"%s\", %zu) == 0)\n", k[i].text, k[i].len);
        }
        fputs("            return ", f);
        pfg_put_id(f, m, "_EV_", m->events.name[k[i].event]);
        fputs(";\n", f);
        if (i + 1 == m->nkw || k[i + 1].len != k[i].len)
            fputs("        break;\n", f);
    }
    fputs("    }\n    return -1;\n}\n", f);
    free(k);
}
