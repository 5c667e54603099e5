/* BASE_fsm.h: the enums of states and events, the machine, and one prototype
 * per handler, so a handler the service forgot to define is a link error. */
#include <errno.h>
#include <stdlib.h>

#include "pfgen.h"

int pfg_emit_h(const pfg_machine *m, const char *base, FILE *f)
{
    const char *n = m->name;
    char *guard = pfg_guard(base);
    if (guard == NULL) {
        errno = ENOMEM;
        return -1;
    }
    pfg_put_banner(f, m->path);
    fprintf(f, "#ifndef %s\n#define %s\n\n#include \"protofsm/fsm.h\"\n\n", guard, guard);
    free(guard);

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
