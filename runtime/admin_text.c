/* A bounded text builder for the admin pages (admin_impl.h): each format
 * has its own escape, and a page larger than its cap fails instead of
 * growing without bound. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_impl.h"

void pf__sb_init(pf__sb *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void pf__sb_free(pf__sb *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static int grow(pf__sb *b, size_t n)
{
    if (b->err)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    if (b->len + n + 1 > b->max) {
        b->err = -EMSGSIZE;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
        cap *= 2;
    if (cap > b->max)
        cap = b->max;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->err = -ENOMEM;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void pf__sb_put(pf__sb *b, const char *s, size_t n)
{
    if (grow(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void pf__sb_str(pf__sb *b, const char *s) { pf__sb_put(b, s, strlen(s)); }

void pf__sb_printf(pf__sb *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->err)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n) < 0) {
        if (n < 0)
            b->err = -EINVAL;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pf__sb_label(pf__sb *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            pf__sb_put(b, "\\\\", 2);
        else if (*v == '"')
            pf__sb_put(b, "\\\"", 2);
        else if (*v == '\n')
            pf__sb_put(b, "\\n", 2);
        else
            pf__sb_put(b, v, 1);
    }
}

void pf__sb_json(pf__sb *b, const char *v)
{
    pf__sb_put(b, "\"", 1);
    for (; *v; v++) {
        unsigned char ch = (unsigned char)*v;
        if (ch == '"' || ch == '\\') {
            pf__sb_put(b, "\\", 1);
            pf__sb_put(b, v, 1);
        } else if (ch < 0x20) {
            pf__sb_printf(b, "\\u%04x", ch);
        } else {
            pf__sb_put(b, v, 1);
        }
    }
    pf__sb_put(b, "\"", 1);
}

void pf__sb_html(pf__sb *b, const char *v)
{
    for (; *v; v++) {
        switch (*v) {
        case '<': pf__sb_str(b, "&lt;"); break;
        case '>': pf__sb_str(b, "&gt;"); break;
        case '&': pf__sb_str(b, "&amp;"); break;
        case '"': pf__sb_str(b, "&quot;"); break;
        default: pf__sb_put(b, v, 1);
        }
    }
}
