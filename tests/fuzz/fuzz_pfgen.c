/* libFuzzer target for pfgen's front end and emitters.
 *
 * The generator's sources are included whole (it is a program, not a
 * library).  Any input must either be reported (diagnostics, no table) or
 * give a complete cell table that every emitter can write; besides "no
 * crash, no leak, no UB", the oracle re-checks the cell rules that must hold
 * whatever the table said: next states in range or NOROW, handlers in range,
 * and built-in event cells never filled by the default row. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../gen/check.c"
#include "../../gen/diag.c"
#include "../../gen/emit_c.c"
#include "../../gen/emit_dot.c"
#include "../../gen/emit_events.c"
#include "../../gen/emit_h.c"
#include "../../gen/emit_util.c"
#include "../../gen/ident.c"
#include "../../gen/import.c"
#include "../../gen/names.c"
#include "../../gen/parse.c"
#include "../../gen/proto_block.c"
#include "../../gen/symbols.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the form: a .rl file's block, or a whole .fsm
     * file (whose `over` may find the good protocols of tests/gen). */
    static const char *const inc[] = { "tests/gen/good" };
    if (size < 1)
        return 0;
    int whole = data[0] & 1;
    pfg_machine m = { .path = whole ? "fuzz.fsm" : "fuzz.rl", .base = "fuzz",
                      .whole_file = whole, .incdirs = inc, .nincdirs = 1 };
    data++;
    size--;
    if (pfg_parse(&m, (const char *)data, size) == 0 && pfg_check(&m) == 0 && m.is_protocol) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f == NULL || pfg_emit_events_h(&m, "fuzz", f) != 0 ||
            pfg_emit_events_c(&m, "fuzz", f) != 0)
            abort();
        fclose(f);
        free(buf);
    } else if (m.ndiags == 0 && !m.oom && m.cells) {
        size_t ns = m.states.n, ne = m.events.n;
        for (size_t i = 0; i < ns * ne; i++) {
            const pfg_cell *c = &m.cells[i];
            if ((c->next != PFG_NOROW && c->next >= ns) || c->handler > m.handlers.n)
                abort();
            if (i % ne < PFG_NBUILTIN && (c->flags & PFG_CELL_DEFAULT))
                abort();
        }
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f == NULL || pfg_emit_h(&m, "fuzz", f) != 0 || pfg_emit_c(&m, "fuzz", f) != 0 ||
            pfg_emit_dot(&m, f) != 0)
            abort();
        fclose(f);
        free(buf);
    } else {
        FILE *f = fopen("/dev/null", "w");
        if (f != NULL) {
            pfg_print_diags(&m, f);
            fclose(f);
        }
    }
    pfg_machine_free(&m);
    return 0;
}
