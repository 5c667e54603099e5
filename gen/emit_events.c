/* A protocol's event list: BASE_events.h (the enum, built-ins first, and the
 * pf_events the runtime checks machines against) and BASE_events.c (its
 * names).  A machine over no protocol declares its own events and puts the
 * same two pieces into its BASE_fsm.h and BASE_fsm.c. */
#include <errno.h>
#include <stdlib.h>

#include "pfgen.h"

void pfg_put_events_decl(FILE *f, const pfg_machine *m)
{
    /* The built-in events come first, numbered as the runtime numbers them. */
    fprintf(f, "enum %s_event {\n", m->name);
    for (size_t i = 0; i < m->events.n; i++) {
        fputs("    ", f);
        pfg_put_id(f, m, "_EV_", m->events.name[i]);
        fputs(i == 0 ? " = PF_EV_OPEN,\n" : ",\n", f);
    }
    fputs("    ", f);
    pfg_put_id(f, m, "_NEVENTS", "");
    fputs("\n};\n\n", f);
    fprintf(f, "extern const pf_events %s_events;\n", m->name);
}

void pfg_put_events_def(FILE *f, const pfg_machine *m)
{
    fprintf(f, "static const char *const %s_event_names[", m->name);
    pfg_put_id(f, m, "_NEVENTS", "");
    fputs("] = {\n", f);
    for (size_t i = 0; i < m->events.n; i++)
        fprintf(f, "    \"%s\",\n", m->events.name[i]);
    fputs("};\n\n", f);
    fprintf(f, "const pf_events %s_events = {\n    .protocol = \"%s\",\n    .source = ",
            m->name, m->name);
    pfg_put_cstring(f, m->path);
    fputs(",\n    .n = ", f);
    pfg_put_id(f, m, "_NEVENTS", "");
    fprintf(f, ",\n    .names = %s_event_names,\n};\n", m->name);
}

int pfg_emit_events_h(const pfg_machine *m, const char *base, FILE *f)
{
    char *guard = pfg_guard(base, "_EVENTS_H");
    if (guard == NULL) {
        errno = ENOMEM;
        return -1;
    }
    pfg_put_banner(f, m->path);
    fprintf(f, "#ifndef %s\n#define %s\n\n#include \"protofsm/fsm.h\"\n"
               "#include \"protofsm/protocol.h\"\n\n", guard, guard);
    free(guard);
    pfg_put_events_decl(f, m);
    pfg_put_protocol_decl(f, m);
    fputs("\n#endif\n", f);
    return pfg_finish(f);
}

int pfg_emit_events_c(const pfg_machine *m, const char *base, FILE *f)
{
    pfg_put_banner(f, m->path);
    fprintf(f, "#include <string.h>\n\n#include \"%s_events.h\"\n\n", base);
    pfg_put_events_def(f, m);
    pfg_put_protocol_def(f, m);
    return pfg_finish(f);
}
