/* What a machine takes from other files.
 *
 * `machine NAME over PROTO`: the machine's events are PROTO's, read from the
 * event block of PROTO.rl, so a service's table and the parser that emits
 * the events can never disagree about their names or numbers.
 *
 * `extends BASE`: the machine starts from the table in BASE.fsm (a default
 * a protocol ships, e.g. protocols/smtp.fsm), over the same protocol.
 *
 * Files are looked for in the input's own directory, then in each -I
 * directory in order; the first readable one is parsed (its own problems
 * are printed first and reported against the line that named it, since the
 * fix is there or in that file). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pfgen.h"

char *pfg_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) {
            int e = errno ? errno : EIO;
            free(buf);
            fclose(f);
            errno = e;
            return NULL;
        }
        if (n < cap)
            break;
        char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            errno = ENOMEM;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* DIR/NAME.EXT, or NULL when out of memory. */
static char *candidate(const char *dir, size_t dirlen, const char *name, const char *ext)
{
    return dirlen == 0 ? pfg_strdupf("%s.%s", name, ext)
                       : pfg_strdupf("%.*s/%s.%s", (int)dirlen, dir, name, ext);
}

/* The first NAME.EXT that can be read: its text, path in *path. */
static char *find_file(const pfg_machine *m, const char *name, const char *ext, char **path,
                       size_t *len)
{
    const char *slash = strrchr(m->path, '/');
    size_t ndirs = 1 + m->nincdirs;
    for (size_t i = 0; i < ndirs; i++) {
        const char *dir = i == 0 ? m->path : m->incdirs[i - 1];
        size_t dl = i == 0 ? (slash ? (size_t)(slash - m->path) : 0) : strlen(dir);
        char *p = candidate(dir, dl, name, ext);
        if (p == NULL)
            return NULL;
        char *text = pfg_read_file(p, len);
        if (text != NULL) {
            *path = p;
            return text;
        }
        int e = errno;
        free(p);
        if (e == ENOMEM) {
            errno = ENOMEM;
            return NULL;
        }
    }
    errno = ENOENT;
    return NULL;
}

int pfg_import_events(pfg_machine *m)
{
    char *path = NULL;
    size_t len = 0;
    char *text = find_file(m, m->over, "rl", &path, &len);
    if (text == NULL) {
        if (errno == ENOMEM)
            return -1;
        pfg_error(m, m->over_line, "protocol '%s' not found: no readable %s.rl next to "
                  "this file or in a -I directory", m->over, m->over);
        return 0;
    }
    pfg_machine p = { .path = path, .base = m->over };
    int rc = -1;
    if (pfg_parse(&p, text, len) != 0 || pfg_check(&p) < 0)
        goto out;
    rc = 0;
    if (!p.is_protocol) {
        pfg_error(m, m->over_line, "%s holds %s, not a protocol's event list "
                  "('protocol %s' and its 'events')", path,
                  p.name_line ? "a machine" : "no 'protocol' directive", m->over);
        goto out;
    }
    if (p.ndiags > 0) {
        pfg_print_diags(&p, stderr);
        pfg_error(m, m->over_line, "protocol '%s' (%s) has errors, listed above", m->over,
                  path);
        goto out;
    }
    /* Imported events keep line 0: they are declared in another file, and
     * checks that name one report it at the `over` line. */
    for (size_t e = PFG_NBUILTIN; e < p.events.n; e++)
        if (pfg_names_add(&m->events, p.events.name[e], strlen(p.events.name[e]), 0) < 0)
            goto out;
    m->over_path = path;
    path = NULL;
out:
    pfg_machine_free(&p);
    free(path);
    free(text);
    return rc;
}

pfg_machine *pfg_load_base(pfg_machine *m)
{
    char *path = NULL;
    size_t len = 0;
    char *text = find_file(m, m->extends, "fsm", &path, &len);
    if (text == NULL) {
        if (errno != ENOMEM)
            pfg_error(m, m->extends_line, "table '%s' not found: no readable %s.fsm next to "
                      "this file or in a -I directory", m->extends, m->extends);
        else
            m->oom = 1;
        return NULL;
    }
    pfg_machine *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        m->oom = 1;
        goto out;
    }
    *b = (pfg_machine){ .path = path, .base = m->extends, .whole_file = 1,
                        .incdirs = m->incdirs, .nincdirs = m->nincdirs };
    if (pfg_parse(b, text, len) != 0 || pfg_check(b) < 0) {
        m->oom = 1;
    } else if (b->ndiags > 0) {
        pfg_print_diags(b, stderr);
        pfg_error(m, m->extends_line, "table '%s' (%s) has errors, listed above", m->extends,
                  path);
    } else if (b->extends != NULL) {
        pfg_error(m, m->extends_line, "table '%s' extends '%s' itself: extend a table "
                  "that extends none", m->extends, b->extends);
    } else if (!b->over || strcmp(b->over, m->over) != 0) {
        pfg_error(m, m->extends_line, "table '%s' is over %s%s, not over '%s'", m->extends,
                  b->over ? "protocol " : "its own events", b->over ? b->over : "", m->over);
    } else {
        free(text);
        b->path = path;
        /* The path is the base's to free from here on (pfg_free_base). */
        return b;
    }
out:
    if (b != NULL) {
        pfg_machine_free(b);
        free(b);
    }
    free(path);
    free(text);
    return NULL;
}

void pfg_free_base(pfg_machine *b)
{
    if (b == NULL)
        return;
    char *path = (char *)b->path;
    pfg_machine_free(b);
    free(b);
    free(path);
}
