/* `machine NAME over PROTO`: the machine's events are PROTO's, read from the
 * event block of PROTO.rl, so a service's table and the parser that emits
 * the events can never disagree about their names or numbers.
 *
 * PROTO.rl is looked for in the input's own directory, then in each -I
 * directory in order; the first readable one is parsed as a protocol (its
 * own problems are reported against the `over` line, since the fix is
 * there or in that file). */
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

/* DIR/NAME.rl, or NULL when out of memory. */
static char *candidate(const char *dir, size_t dirlen, const char *name)
{
    return dirlen == 0 ? pfg_strdupf("%s.rl", name)
                       : pfg_strdupf("%.*s/%s.rl", (int)dirlen, dir, name);
}

/* The first PROTO.rl that can be read: its text, path in *path. */
static char *find_protocol(const pfg_machine *m, char **path, size_t *len)
{
    const char *slash = strrchr(m->path, '/');
    size_t ndirs = 1 + m->nincdirs;
    for (size_t i = 0; i < ndirs; i++) {
        const char *dir = i == 0 ? m->path : m->incdirs[i - 1];
        size_t dl = i == 0 ? (slash ? (size_t)(slash - m->path) : 0) : strlen(dir);
        char *p = candidate(dir, dl, m->over);
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
    char *text = find_protocol(m, &path, &len);
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
