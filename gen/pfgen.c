/* pfgen: compile the table block of a .rl or .fsm file into C.
 *
 *   pfgen [-o DIR] [-I DIR]... [--check] FILE.rl|FILE.fsm
 *
 * A protocol's block (`protocol NAME`, its events) gives DIR/BASE_events.h
 * and DIR/BASE_events.c; a machine's (`machine NAME [over PROTO]`, states,
 * rows) gives DIR/BASE_fsm.h, DIR/BASE_fsm.c and DIR/BASE.dot (creating DIR
 * if needed).  Each output goes to a temporary file in DIR first and is
 * renamed only when all were written, so a failed run never leaves a
 * partial or stale-looking file.
 * Exit status: 0 ok, 1 the table has errors, 2 usage, 3 I/O. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfgen.h"

enum { EXIT_OK = 0, EXIT_TABLE = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

static const char usage_text[] =
    "usage: pfgen [-o DIR] [-I DIR]... [--check] FILE.rl|FILE.fsm\n"
    "\n"
    "Reads the block of FILE (BASE: its name without .rl or .fsm).  A protocol\n"
    "block writes DIR/BASE_events.h and DIR/BASE_events.c; a machine block\n"
    "writes DIR/BASE_fsm.h, DIR/BASE_fsm.c and DIR/BASE.dot.\n"
    "\n"
    "  -o DIR     output directory, created if missing (default: .)\n"
    "  -I DIR     where 'over PROTO' looks for PROTO.rl after FILE's own\n"
    "             directory; may repeat, searched in order\n"
    "  --check    validate only; write nothing\n"
    "  -h, --help this text\n"
    "  --version  print the version\n"
    "\n"
    "The block: in a .rl file inside a C comment (ragel passes it through),\n"
    "from a line '/* @fsm' to a line containing '@end */'; a .fsm file is all\n"
    "block.  A protocol:\n"
    "  protocol NAME                C identifier, named like the file\n"
    "  events  X Y ...              packet events; may repeat; OPEN CLOSE\n"
    "                               TIMEOUT DRAIN are built in (0..3)\n"
    "A machine (a service's session table):\n"
    "  machine NAME over PROTO      C identifier, prefix of generated symbols;\n"
    "                               its events are PROTO's (or, without\n"
    "                               'over PROTO', its own 'events' lines)\n"
    "  extends BASE                 start from the table in BASE.fsm (same\n"
    "                               protocol); rows with the same STATE EVENT\n"
    "                               replace the base's, the rest are added\n"
    "  kind    dispatch|transition\n"
    "  states  A B ...              transition only; may repeat\n"
    "  start   A                    transition only\n"
    "  final   A ...                transition only\n"
    "  STATE EVENT -> NEXT HANDLER  transition row; STATE may be *, EVENT *,\n"
    "                               NEXT . (stay), HANDLER - (none)\n"
    "  default -> NEXT HANDLER      transition default row (= * * -> ...)\n"
    "  EVENT -> HANDLER             dispatch row; * or default: the default\n"
    "  # comment\n"
    "Precedence: STATE EVENT > * EVENT > STATE * > default.  Wildcards and\n"
    "the default never cover the built-in events; in a dispatch machine the\n"
    "default answers every packet event without a row.  A row that fills no\n"
    "cell (shadowed, or covering none) is an error.  Handlers are bound at run\n"
    "time: BASE_fsm.h lists them as NAME_HANDLERS(X).\n"
    "\n"
    "Exit status: 0 ok, 1 the table has errors (listed as FILE:LINE: message),\n"
    "2 usage error, 3 I/O error.\n";

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pfgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\ntry 'pfgen --help'\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

enum { OUT_H, OUT_C, OUT_DOT, NOUT };
#define NOUT_PROTOCOL 2 /* BASE_events.h, BASE_events.c */

typedef struct output {
    char *path;
    char *tmp;
} output;

static char *join(const char *dir, const char *base, const char *suffix, const char *pre)
{
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] != '/';
    size_t n = dl + 1 + strlen(pre) + strlen(base) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s%s%s%s%s", dir, slash ? "/" : "", pre, base, suffix);
    return p;
}

/* mkdir -p, since build systems point -o at a fresh build/ tree.  0, or -1
 * after printing which directory could not be made. */
static int make_dirs(const char *dir)
{
    char *p = strdup(dir);
    if (p == NULL)
        return -1;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            fprintf(stderr, "pfgen: cannot create directory '%s': %s\n", p, strerror(e));
            free(p);
            errno = e;
            return -1;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    struct stat st;
    int e = stat(dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
    if (e != 0) {
        fprintf(stderr, "pfgen: cannot create directory '%s': %s\n", dir, strerror(e));
        return -1;
    }
    return 0;
}

static int write_one(const pfg_machine *m, const char *base, int which, output *o)
{
    int fd = mkstemp(o->tmp);
    if (fd < 0)
        return -1;
    mode_t mask = umask(0);
    umask(mask);
    FILE *f = fdopen(fd, "w");
    if (f == NULL || fchmod(fd, 0666 & ~mask) != 0) {
        int e = errno;
        if (f != NULL)
            fclose(f);
        else
            close(fd);
        errno = e;
        return -1;
    }
    int rc = m->is_protocol ? (which == OUT_H ? pfg_emit_events_h(m, base, f)
                                              : pfg_emit_events_c(m, base, f))
             : which == OUT_H ? pfg_emit_h(m, base, f)
             : which == OUT_C ? pfg_emit_c(m, base, f) : pfg_emit_dot(m, f);
    int e = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    errno = e;
    return rc;
}

static int write_outputs(const pfg_machine *m, const char *dir, const char *base)
{
    static const char *const machine_suffix[NOUT] = { "_fsm.h", "_fsm.c", ".dot" };
    static const char *const protocol_suffix[NOUT] = { "_events.h", "_events.c", "" };
    const char *const *suffix = m->is_protocol ? protocol_suffix : machine_suffix;
    int nout = m->is_protocol ? NOUT_PROTOCOL : NOUT;
    output out[NOUT] = { { 0 } };
    int rc = EXIT_IO, made = 0;
    const char *failed = NULL;
    for (int i = 0; i < nout; i++) {
        char tsuf[32];
        snprintf(tsuf, sizeof tsuf, "%s.XXXXXX", suffix[i]);
        out[i].path = join(dir, base, suffix[i], "");
        out[i].tmp = join(dir, base, tsuf, ".");
        if (out[i].path == NULL || out[i].tmp == NULL) {
            fprintf(stderr, "pfgen: out of memory\n");
            goto done;
        }
    }
    for (made = 0; made < nout; made++) {
        if (write_one(m, base, made, &out[made]) != 0) {
            failed = out[made].path;
            made++;  /* its temp may exist */
            goto fail;
        }
    }
    for (int i = 0; i < nout; i++) {
        if (rename(out[i].tmp, out[i].path) != 0) {
            failed = out[i].path;
            goto fail;
        }
        out[i].tmp[0] = '\0';
    }
    rc = EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "pfgen: cannot write '%s': %s\n", failed, strerror(errno));
done:
    for (int i = 0; i < nout; i++) {
        if (i < made && out[i].tmp != NULL && out[i].tmp[0] != '\0')
            unlink(out[i].tmp);
        free(out[i].path);
        free(out[i].tmp);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = ".", *input = NULL;
    int check_only = 0, nopts = 1;
    /* -I directories are collected at the front of argv: each is written
     * to a slot the loop has already read. */
    const char **incdirs = (const char **)argv;
    size_t nincdirs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (nopts && strcmp(a, "--") == 0) {
            nopts = 0;
        } else if (nopts && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(usage_text, stdout);
            return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_IO;
        } else if (nopts && strcmp(a, "--version") == 0) {
            puts("pfgen " PFG_VERSION);
            return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_IO;
        } else if (nopts && strcmp(a, "--check") == 0) {
            check_only = 1;
        } else if (nopts && strcmp(a, "-o") == 0) {
            if (i + 1 >= argc)
                return usage_error("option '-o' needs a directory");
            dir = argv[++i];
        } else if (nopts && strncmp(a, "-o", 2) == 0) {
            dir = a + 2;
        } else if (nopts && strcmp(a, "-I") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return usage_error("option '-I' needs a directory");
            incdirs[nincdirs++] = argv[++i];
        } else if (nopts && strncmp(a, "-I", 2) == 0) {
            incdirs[nincdirs++] = a + 2;
        } else if (nopts && a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (input != NULL) {
            return usage_error("too many input files (at '%s'); give one FILE", a);
        } else {
            input = a;
        }
    }
    if (input == NULL)
        return usage_error("no input file");
    const char *slash = strrchr(input, '/');
    const char *bname = slash ? slash + 1 : input;
    size_t bl = strlen(bname), ext = 0;
    if (bl > 3 && strcmp(bname + bl - 3, ".rl") == 0)
        ext = 3;
    else if (bl > 4 && strcmp(bname + bl - 4, ".fsm") == 0)
        ext = 4;
    if (ext == 0)
        return usage_error("input '%s' is not a NAME.rl or NAME.fsm file", input);
    if (*dir == '\0')
        return usage_error("option '-o' needs a directory");

    size_t len;
    char *text = pfg_read_file(input, &len);
    if (text == NULL) {
        fprintf(stderr, "pfgen: cannot read '%s': %s\n", input, strerror(errno));
        return EXIT_IO;
    }
    char *base = strndup(bname, bl - ext);
    pfg_machine m = { .path = input, .base = base, .whole_file = ext == 4,
                      .incdirs = incdirs, .nincdirs = nincdirs };
    int rc = 0;
    if (base == NULL || pfg_parse(&m, text, len) != 0 || (rc = pfg_check(&m)) < 0) {
        fprintf(stderr, "pfgen: out of memory\n");
        rc = EXIT_IO;
    } else if (rc > 0) {
        pfg_print_diags(&m, stderr);
        rc = EXIT_TABLE;
    } else {
        rc = check_only ? EXIT_OK
             : make_dirs(dir) != 0 ? EXIT_IO : write_outputs(&m, dir, base);
    }
    pfg_machine_free(&m);
    free(base);
    free(text);
    return rc;
}
