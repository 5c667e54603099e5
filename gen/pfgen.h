/* pfgen's private IR: one machine as read from the table block of a .rl file.
 *
 * parse.c fills it from the text (names, directives, rows, with the line of
 * each), check.c resolves the dense cell table and validates it, and the
 * emitters (emit_h.c, emit_c.c, emit_dot.c) only read it.  Every problem is
 * recorded through pfg_error() and printed, sorted by line, at the end. */
#ifndef PFGEN_H
#define PFGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PFG_VERSION "0.1.0"

#define PFG_NBUILTIN 4    /* OPEN CLOSE TIMEOUT DRAIN: event indices 0..3 */
#define PFG_MAX_NAMES 65534u   /* states or events: 0xffff is PF_FSM_NOROW */
#define PFG_MAX_HANDLERS 65534u /* + handlers[0] must fit pf_fsm.nhandlers */
#define PFG_MAX_CELLS (1u << 24) /* states x events: ~1 GB of generated C */

/* Row fields that are not an index. */
#define PFG_ANY (-1)      /* `*` as STATE or EVENT */
#define PFG_STAY (-2)     /* `.` as NEXT */
#define PFG_UNKNOWN (-3)  /* a name that did not resolve (already reported) */

enum pfg_kind { PFG_KIND_UNSET = -1, PFG_DISPATCH = 0, PFG_TRANSITION = 1 };

/* A growable array of names with the line that declared each, plus an
 * open-addressing hash index for lookups (tables may be large). */
typedef struct pfg_names {
    char **name;
    int *line;
    size_t n, cap;
    size_t *slot;     /* hash slots holding index + 1; 0 = empty */
    size_t nslot;
} pfg_names;

/* A token of the block: a word, or a "quoted C string" kept as written. */
typedef struct pfg_tok {
    const char *s;
    size_t len;
} pfg_tok;

/* What a protocol block may say besides its events, to have pfgen write
 * the protocol's boilerplate (see proto_block.c). */
enum pfg_pdir {
    PFG_P_FIELDS,   /* fields TYPE: the fields struct (NAME_FIELDS(pkt)) */
    PFG_P_PARSER,   /* parser TYPE: the parser state */
    PFG_P_INIT,     /* init FUNCTION */
    PFG_P_PARSE,    /* parse FUNCTION */
    PFG_P_ERROR,    /* error FUNCTION: the error reply */
    PFG_P_INTERIM,  /* interim FUNCTION */
    PFG_P_FULL,     /* full "reply": connection limit */
    PFG_P_BUSY,     /* busy "reply": request queue full */
    PFG_P_MAXPACKET, /* max_packet FUNCTION: the largest packet with a conf */
    PFG_P_ATREST,   /* at_rest FUNCTION: the parser holds nothing between packets */
    PFG_P_N
};

/* keywords: a word of the protocol that names an event. */
typedef struct pfg_keyword {
    size_t event;
    char *text;
    size_t len;
    int nocase;
    int line;
} pfg_keyword;

typedef struct pfg_row {
    int line;
    int is_default;   /* `default -> ...`, `* * -> ...` or dispatch `* -> ...` */
    long state;       /* index, PFG_ANY or PFG_UNKNOWN (dispatch: 0) */
    long event;       /* index, PFG_ANY or PFG_UNKNOWN */
    long next;        /* index, PFG_STAY or PFG_UNKNOWN (dispatch: PFG_STAY) */
    size_t handler;   /* 0 = none, else index into machine.handlers + 1 */
    int conflict;     /* same pattern as an earlier row (reported), or a base
                         row the extension replaced: fills nothing */
    int from_base;    /* copied from the table named by `extends` */
} pfg_row;

typedef struct pfg_cell {
    uint16_t next;    /* 0xffff = PF_FSM_NOROW */
    uint16_t handler;
    uint16_t flags;   /* PFG_CELL_* as in fsm.h */
} pfg_cell;

#define PFG_NOROW 0xffffu
#define PFG_CELL_DEFAULT 0x1u
#define PFG_CELL_WILD 0x2u

typedef struct pfg_diag {
    int line;
    size_t seq;       /* report order, to keep the sort stable */
    char *msg;
} pfg_diag;

typedef struct pfg_machine {
    const char *path;     /* the input, as given on the command line */
    const char *base;     /* BASE of BASE_fsm.h, for its include guard (or NULL) */
    int whole_file;       /* a .fsm file: every line is block content */
    const char *const *incdirs; /* where `over P` looks for P.rl (after the */
    size_t nincdirs;            /* input's own directory) */
    int block_line;       /* line of `/ * @fsm` (0: none found) */

    int is_protocol;      /* `protocol NAME`: an event list, no table */
    char *name;           /* `machine` or `protocol` */
    int name_line;
    char *over;           /* `machine NAME over PROTO`: PROTO, whose events */
    int over_line;        /* the machine takes from PROTO.rl */
    char *over_path;      /* the PROTO.rl that was read */
    int events_line;      /* first `events` directive (0: none) */
    char *pdir[PFG_P_N];  /* protocol boilerplate directives (NULL: absent) */
    int pdir_line[PFG_P_N];
    pfg_keyword *kw;      /* `keywords`, in order */
    size_t nkw, capkw;
    char *extends;        /* `extends BASE`: start from BASE.fsm's table */
    int extends_line;
    int extended;         /* the base table was read and merged */
    int kind;             /* enum pfg_kind */
    int kind_line;

    pfg_names states;     /* dispatch: the implicit ANY */
    pfg_names events;     /* built-ins first (line 0) */
    pfg_names handlers;   /* order of first appearance; index i is handler i+1 */

    long start;           /* state index, or -1 */
    int start_line;
    uint8_t *final;       /* [states.n] after check */
    int nfinal;
    int final_line;       /* first `final` directive (0: none) */

    pfg_row *rows;
    size_t nrows, caprows;

    pfg_cell *cells;      /* [states.n * events.n], filled by pfg_check (unless the
                             table is too large); complete when it returns 0 */

    pfg_diag *diags;
    size_t ndiags, capdiags;
    int oom;              /* an allocation failed: give up with exit 3 */
} pfg_machine;

/* import.c: read a whole file (NULL with errno set on failure). */
char *pfg_read_file(const char *path, size_t *len);
/* Fill m->events from the protocol m->over names, found as OVER.rl in the
 * input's directory or m->incdirs.  Problems go to pfg_error; -1 only when
 * out of memory. */
int pfg_import_events(pfg_machine *m);
/* Parse and check m->extends's table (BASE.fsm, searched like OVER.rl): a
 * machine over the same protocol, extending none.  NULL after reporting why
 * (or with m->oom set); free with pfg_free_base. */
pfg_machine *pfg_load_base(pfg_machine *m);
void pfg_free_base(pfg_machine *b);

/* proto_block.c: a protocol block's `keywords`, `fields`, `parser`, `init`,
 * `parse`, `error`, `interim`, `full` and `busy` lines.  1 when `t0` is one
 * of them (handled, problems reported), 0 when not, -1 when out of memory. */
int pfg_protocol_directive(pfg_machine *m, const pfg_tok *t, size_t ntok, int line);
int pfg_is_protocol_directive(const pfg_tok *t0);
/* After every line: keywords and directives that need each other. */
void pfg_check_protocol_block(pfg_machine *m);
/* Into BASE_events.h / BASE_events.c: what those lines ask for. */
void pfg_put_protocol_decl(FILE *f, const pfg_machine *m);
void pfg_put_protocol_def(FILE *f, const pfg_machine *m);

/* names.c */
void pfg_names_free(pfg_names *ns);
/* Append; returns the new index or -1 on ENOMEM. */
long pfg_names_add(pfg_names *ns, const char *name, size_t len, int line);
/* Index of `name` (len bytes), or -1. */
long pfg_names_find(const pfg_names *ns, const char *name, size_t len);

/* diag.c */
void pfg_error(pfg_machine *m, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Print every diagnostic as `PATH:LINE: msg`, sorted by line. */
void pfg_print_diags(pfg_machine *m, FILE *f);
void pfg_machine_free(pfg_machine *m);

/* ident.c: why `s` (len bytes) is not an acceptable C identifier for a
 * handler ("" when it is).  `strict` adds keywords and reserved names. */
const char *pfg_ident_problem(const char *s, size_t len, int strict);

/* parse.c: fill `m` from the whole file text.  Problems go to pfg_error;
 * returns -1 only when out of memory. */
int pfg_parse(pfg_machine *m, const char *text, size_t len);

/* check.c: the cell table (from the rows that resolved), then every semantic
 * check, on the filled cells where it matters.  Returns the number of
 * diagnostics (0: the machine may be emitted), -1 when out of memory. */
int pfg_check(pfg_machine *m);

/* symbols.c: the identifiers the generated C would declare, checked for
 * clashes with each other and with the included headers.  -1: no memory. */
int pfg_check_symbols(pfg_machine *m);

/* Emitters: write one output to `f`.  0, or -1 with errno set.  A machine
 * gives BASE_fsm.h, BASE_fsm.c and BASE.dot; a protocol BASE_events.h and
 * BASE_events.c. */
int pfg_emit_h(const pfg_machine *m, const char *base, FILE *f);
int pfg_emit_c(const pfg_machine *m, const char *base, FILE *f);
int pfg_emit_dot(const pfg_machine *m, FILE *f);
int pfg_emit_events_h(const pfg_machine *m, const char *base, FILE *f);
int pfg_emit_events_c(const pfg_machine *m, const char *base, FILE *f);
/* emit_events.c: the event enum and `extern const pf_events` (into a
 * header), and the names with the pf_events (into a .c), for the machine's
 * own events (a protocol, or a machine over no protocol). */
void pfg_put_events_decl(FILE *f, const pfg_machine *m);
void pfg_put_events_def(FILE *f, const pfg_machine *m);

/* emit_util.c: shared text helpers for the emitters. */
void pfg_put_banner(FILE *f, const char *path);  /* one C/dot comment line */
void pfg_put_cstring(FILE *f, const char *s);    /* "..." with escapes */
void pfg_put_id(FILE *f, const pfg_machine *m, const char *mid, const char *tail);
/* The same for the owner of the events: the protocol a machine is over, or
 * the machine itself. */
void pfg_put_ev_id(FILE *f, const pfg_machine *m, const char *mid, const char *tail);
const char *pfg_events_owner(const pfg_machine *m);
int pfg_finish(FILE *f);                         /* ferror -> -1/errno */
char *pfg_strdupf(const char *fmt, ...)          /* malloc'd, or NULL */
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
char *pfg_guard(const char *base, const char *suffix); /* include guard, malloc'd */

#endif
