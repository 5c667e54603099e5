/* BASE_fsm.h: the enums of states and events, the machine, and one prototype
 * per handler, so a handler the service forgot to define is a link error. */
#include <errno.h>
#include <stdlib.h>

#include "pfgen.h"

/* enum NAME_TAG { NAME_ST_A = INIT0, NAME_ST_B, ..., NAME_NSTATES }; */
static void put_enum(FILE *f, const pfg_machine *m, const char *tag, const char *infix,
                     const pfg_names *ns, const char *init0, const char *count)
{
    fprintf(f, "enum %s_%s {\n", m->name, tag);
    for (size_t i = 0; i < ns->n; i++) {
        fputs("    ", f);
        pfg_put_id(f, m, infix, ns->name[i]);
        fprintf(f, "%s,\n", i == 0 ? init0 : "");
    }
    fputs("    ", f);
    pfg_put_id(f, m, count, "");
    fputs("\n};\n\n", f);
}

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

    put_enum(f, m, "state", "_ST_", &m->states, "", "_NSTATES");
    /* The built-in events come first, numbered as the runtime numbers them. */
    put_enum(f, m, "event", "_EV_", &m->events, " = PF_EV_OPEN", "_NEVENTS");
    fprintf(f, "extern const pf_fsm %s_fsm;\n", n);
    if (m->handlers.n > 0)
        fputs("\n/* Handlers, defined by the service. */\n", f);
    for (size_t h = 0; h < m->handlers.n; h++)
        fprintf(f, "int %s(pf_session *s, const pf_packet *pkt);\n", m->handlers.name[h]);
    fputs("\n#endif\n", f);
    return pfg_finish(f);
}
