/* BASE_fsm.h: the enum of states, the machine, and the list of the handlers
 * its table names.  The events are the protocol's (its BASE_events.h is
 * included) or, for a machine over no protocol, declared here.
 *
 * Handlers are not declared: the service binds them at run time, through
 * the NAME_HANDLERS(X) list, so the table links without them and one
 * process may bind the same table to different functions. */
#include <errno.h>
#include <stdlib.h>

#include "pfgen.h"

int pfg_emit_h(const pfg_machine *m, const char *base, FILE *f)
{
    char *guard = pfg_guard(base, "_FSM_H");
    if (guard == NULL) {
        errno = ENOMEM;
        return -1;
    }
    pfg_put_banner(f, m->path);
    fprintf(f, "#ifndef %s\n#define %s\n\n#include \"protofsm/fsm.h\"\n", guard, guard);
    free(guard);
    if (m->over)
        fprintf(f, "#include \"%s_events.h\"\n\n", m->over);
    else {
        fputc('\n', f);
        pfg_put_events_decl(f, m);
        fputc('\n', f);
    }

    fprintf(f, "enum %s_state {\n", m->name);
    for (size_t i = 0; i < m->states.n; i++) {
        fputs("    ", f);
        pfg_put_id(f, m, "_ST_", m->states.name[i]);
        fputs(",\n", f);
    }
    fputs("    ", f);
    pfg_put_id(f, m, "_NSTATES", "");
    fputs("\n};\n\n", f);
    fprintf(f, "extern const pf_fsm %s_fsm;\n\n", m->name);

    fputs("/* The handlers the table names, in slot order from 1 (slot 0: none).\n"
          " * A service binds them: PF_HANDLERS(", f);
    pfg_put_id(f, m, "_HANDLERS", "");
    fputs(") in protofsm/service.h. */\n#define ", f);
    pfg_put_id(f, m, "_HANDLERS", "(X)");
    for (size_t h = 0; h < m->handlers.n; h++)
        fprintf(f, " \\\n    X(%s)", m->handlers.name[h]);
    fputs("\n#define ", f);
    pfg_put_id(f, m, "_NHANDLERS", "");
    fprintf(f, " %zu\n\n#endif\n", m->handlers.n + 1);
    return pfg_finish(f);
}
