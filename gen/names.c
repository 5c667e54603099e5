/* Name lists: states, events and handlers in declaration order, with the line
 * that declared each and a hash index so lookups stay O(1) on large tables.
 * Names are copied; the list owns them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pfgen.h"

static size_t hash(const char *s, size_t len)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return h;
}

static int rehash(pfg_names *ns, size_t nslot)
{
    size_t *slot = calloc(nslot, sizeof *slot);
    if (slot == NULL)
        return -1;
    for (size_t i = 0; i < ns->n; i++) {
        size_t h = hash(ns->name[i], strlen(ns->name[i])) & (nslot - 1);
        while (slot[h] != 0)
            h = (h + 1) & (nslot - 1);
        slot[h] = i + 1;
    }
    free(ns->slot);
    ns->slot = slot;
    ns->nslot = nslot;
    return 0;
}

long pfg_names_find(const pfg_names *ns, const char *name, size_t len)
{
    if (ns->nslot == 0)
        return -1;
    size_t h = hash(name, len) & (ns->nslot - 1);
    while (ns->slot[h] != 0) {
        const char *c = ns->name[ns->slot[h] - 1];
        /* Names may hold NUL bytes (bad input): never read past c's end. */
        if (strnlen(c, len + 1) == len && memcmp(c, name, len) == 0)
            return (long)(ns->slot[h] - 1);
        h = (h + 1) & (ns->nslot - 1);
    }
    return -1;
}

long pfg_names_add(pfg_names *ns, const char *name, size_t len, int line)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 16;
        char **nn = realloc(ns->name, cap * sizeof *nn);
        if (nn == NULL)
            return -1;
        ns->name = nn;
        int *nl = realloc(ns->line, cap * sizeof *nl);
        if (nl == NULL)
            return -1;
        ns->line = nl;
        ns->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, name, len);
    copy[len] = '\0';
    ns->name[ns->n] = copy;
    ns->line[ns->n] = line;
    ns->n++;
    /* Keep the load factor under one half. */
    if (ns->n * 2 > ns->nslot) {
        if (rehash(ns, ns->nslot ? ns->nslot * 2 : 32) != 0) {
            ns->n--;
            free(copy);
            errno = ENOMEM;
            return -1;
        }
    } else {
        size_t h = hash(copy, len) & (ns->nslot - 1);
        while (ns->slot[h] != 0)
            h = (h + 1) & (ns->nslot - 1);
        ns->slot[h] = ns->n;
    }
    return (long)(ns->n - 1);
}

void pfg_names_free(pfg_names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->name[i]);
    free(ns->name);
    free(ns->line);
    free(ns->slot);
    memset(ns, 0, sizeof *ns);
}
