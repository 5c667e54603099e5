/* BASE_fsm.h: the enums of states and events, the machine, and one prototype
 * per handler, so a handler the service forgot to define is a link error. */
#include <ctype.h>

#include "pfgen.h"

static void put_guard(FILE *f, const char *base)
{
    if (isdigit((unsigned char)base[0]))
        fputs("PFGEN_", f);
    for (const char *p = base; *p; p++)
        fputc(isalnum((unsigned char)*p) ? toupper((unsigned char)*p) : '_', f);
    fputs("_FSM_H", f);
}

int pfg_emit_h(const pfg_machine *m, const char *base, FILE *f)
{
    const char *n = m->name;
    pfg_put_banner(f, m->path);
    fputs("#ifndef ", f);
    put_guard(f, base);
    fputs("\n#define ", f);
    put_guard(f, base);
    fputs("\n\n#include \"protofsm/fsm.h\"\n\n", f);

    fprintf(f, "enum %s_state {\n", n);
    for (size_t s = 0; s < m->states.n; s++) {
        fputs("    ", f);
        pfg_put_upper(f, n);
        fprintf(f, "_ST_%s,\n", m->states.name[s]);
    }
    fputs("    ", f);
    pfg_put_upper(f, n);
    fputs("_NSTATES\n};\n\n", f);

    fprintf(f, "enum %s_event {\n", n);
    for (size_t e = 0; e < m->events.n; e++) {
        fputs("    ", f);
        pfg_put_upper(f, n);
        fprintf(f, "_EV_%s%s,\n", m->events.name[e], e == 0 ? " = PF_EV_OPEN" : "");
    }
    fputs("    ", f);
    pfg_put_upper(f, n);
    fputs("_NEVENTS\n};\n\n", f);

    fprintf(f, "extern const pf_fsm %s_fsm;\n", n);
    if (m->handlers.n > 0)
        fputs("\n/* Handlers, defined by the service. */\n", f);
    for (size_t h = 0; h < m->handlers.n; h++)
        fprintf(f, "int %s(pf_session *s, const pf_packet *pkt);\n", m->handlers.name[h]);
    fputs("\n#endif\n", f);
    return pfg_finish(f);
}
