/* BASE_fsm.c: the constant tables of one machine.  The cell table is written
 * one cell per line with a comment naming its state and event, so a diff of
 * generated output reads like a diff of the table's meaning. */
#include "pfgen.h"

/* static const char *const NAME_fsm_WHAT_names[NAME_COUNT] = { "A", ... }; */
static void put_names(FILE *f, const pfg_machine *m, const char *what, const pfg_names *ns,
                      const char *count)
{
    fprintf(f, "static const char *const %s_fsm_%s_names[", m->name, what);
    pfg_put_id(f, m, count, "");
    fputs("] = {\n", f);
    for (size_t i = 0; i < ns->n; i++)
        fprintf(f, "    \"%s\",\n", ns->name[i]);
    fputs("};\n\n", f);
}

static void put_cell(FILE *f, const pfg_machine *m, size_t s, size_t e)
{
    const pfg_cell *c = &m->cells[s * m->events.n + e];
    fprintf(f, "    /* %s x %s */ { ", m->states.name[s], m->events.name[e]);
    if (c->next == PFG_NOROW)
        fputs("PF_FSM_NOROW", f);
    else
        pfg_put_id(f, m, "_ST_", m->states.name[c->next]);
    fprintf(f, ", %u, %s },\n", (unsigned)c->handler,
            c->flags == PFG_CELL_DEFAULT ? "PF_FSM_CELL_DEFAULT"
            : c->flags == PFG_CELL_WILD ? "PF_FSM_CELL_WILD" : "0");
}

int pfg_emit_c(const pfg_machine *m, const char *base, FILE *f)
{
    const char *n = m->name;
    pfg_put_banner(f, m->path);
    fprintf(f, "#include \"%s_fsm.h\"\n\n", base);

    if (!m->over) {
        pfg_put_events_def(f, m);
        fputc('\n', f);
    }
    put_names(f, m, "state", &m->states, "_NSTATES");

    fprintf(f, "static const uint8_t %s_fsm_final[", n);
    pfg_put_id(f, m, "_NSTATES", "");
    fputs("] = {\n", f);
    for (size_t s = 0; s < m->states.n; s++)
        fprintf(f, "    %d, /* %s */\n", m->final[s] ? 1 : 0, m->states.name[s]);
    fputs("};\n\n", f);

    fprintf(f, "static const char *const %s_fsm_handler_names[", n);
    pfg_put_id(f, m, "_NHANDLERS", "");
    fputs("] = {\n    NULL,\n", f);
    for (size_t h = 0; h < m->handlers.n; h++)
        fprintf(f, "    \"%s\", /* %zu */\n", m->handlers.name[h], h + 1);
    fputs("};\n\n", f);

    fprintf(f, "static const pf_fsm_cell %s_fsm_table[", n);
    pfg_put_id(f, m, "_NSTATES", "");
    fputs(" * ", f);
    pfg_put_ev_id(f, m, "_NEVENTS", "");
    fputs("] = {\n", f);
    for (size_t s = 0; s < m->states.n; s++) {
        if (s > 0)
            fputc('\n', f);
        for (size_t e = 0; e < m->events.n; e++)
            put_cell(f, m, s, e);
    }
    fputs("};\n\n", f);

    fprintf(f, "const pf_fsm %s_fsm = {\n", n);
    fprintf(f, "    .name = \"%s\",\n", n);
    fputs("    .source = ", f);
    pfg_put_cstring(f, m->path);
    fprintf(f, ",\n    .kind = %s,\n",
            m->kind == PFG_DISPATCH ? "PF_FSM_DISPATCH" : "PF_FSM_TRANSITION");
    fputs("    .nstates = ", f);
    pfg_put_id(f, m, "_NSTATES", "");
    fputs(",\n    .nevents = ", f);
    pfg_put_ev_id(f, m, "_NEVENTS", "");
    fputs(",\n    .start = ", f);
    pfg_put_id(f, m, "_ST_", m->states.name[m->start]);
    fprintf(f, ",\n    .state_names = %s_fsm_state_names,\n", n);
    fprintf(f, "    .events = &%s_events,\n", pfg_events_owner(m));
    fprintf(f, "    .final = %s_fsm_final,\n", n);
    fprintf(f, "    .table = %s_fsm_table,\n", n);
    fputs("    .nhandlers = ", f);
    pfg_put_id(f, m, "_NHANDLERS", "");
    fprintf(f, ",\n    .handler_names = %s_fsm_handler_names,\n", n);
    fputs("};\n", f);
    return pfg_finish(f);
}
